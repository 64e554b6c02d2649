/* resp.h - reading Redis replies (RESP2) out of the bytes received so far.
 *
 * The cache reads its replies itself, straight into the buffer that
 * becomes the answer (cache.c): a page of 1000 contacts is ~300 KB, and
 * hiredis's reader would copy it twice.  This parses one reply, without
 * copying: it says where each value lies in the input, or that more bytes
 * are needed.  Pure; safe on any bytes.
 */
#ifndef CONTACTS_RESP_H
#define CONTACTS_RESP_H

#include <stddef.h>

enum resp_type {
	RESP_BULK,   /* $<n>: off and len locate the bytes */
	RESP_NIL,    /* $-1 or *-1 */
	RESP_INT,    /* :<n>: in integer */
	RESP_STATUS, /* +<text>: off and len locate the text */
	RESP_ERROR,  /* -<text>: the same */
	RESP_ARRAY,  /* *<n>: len elements follow, in v[1..len] */
};

struct resp_value {
	enum resp_type type;
	size_t off;
	size_t len;
	long long integer;
};

enum resp_status {
	RESP_OK = 0,
	RESP_MORE = 1, /* a prefix of a reply: read more and call again */
	RESP_BAD = -1, /* not a reply this reader takes */
};

/* Parses one reply at p[0..n): a bulk string, nil, integer, status or
 * error, or an array of at most max - 1 of those (not nested).  On RESP_OK
 * v[0] is the reply, an array's elements follow it, and *used is the
 * reply's length in bytes.  Bulk strings over 512 MB and arrays of more
 * than max - 1 elements are RESP_BAD. */
enum resp_status resp_parse(const char *p, size_t n, struct resp_value *v,
			    size_t max, size_t *used)
	__attribute__((warn_unused_result));

#endif
