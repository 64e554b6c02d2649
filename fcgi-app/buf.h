/* buf.h - a growable byte buffer, and the out-of-memory policy.
 *
 * Out of memory: every allocation in the service goes through xmalloc(),
 * xrealloc() or xstrdup(), which abort() when the allocator fails.  A worker
 * that cannot get a few KiB cannot answer sensibly; the master replaces it.
 * Decided once, here, so that no caller has to test for NULL.
 */
#ifndef CONTACTS_BUF_H
#define CONTACTS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/uio.h>

void *xmalloc(size_t n) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t n) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
/* For an allocation made elsewhere (a library) that failed: the same end. */
void xoom(void) __attribute__((noreturn));

struct buf {
	char *data; /* owned; NUL-terminated whenever cap > 0 */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_cleanup(struct buf *b);
/* Empties the buffer, keeping its storage for reuse. */
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* writev() to fd until all of iov[0..n) is written (iov is used up on
 * the way).  0, or -1 with errno set. */
int buf_writev_all(int fd, struct iovec *iov, int n)
	__attribute__((warn_unused_result));

#endif
