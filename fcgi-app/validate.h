/* validate.h - pure checks on request text: emails, UTF-8, trimming.
 *
 * Nothing here allocates or keeps state; every function is safe to call on
 * arbitrary bytes (the fuzzers do).
 */
#ifndef CONTACTS_VALIDATE_H
#define CONTACTS_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define EMAIL_MAX_LEN 254
#define EMAIL_LOCAL_MAX_LEN 64
#define EMAIL_LABEL_MAX_LEN 63

/* Trims ASCII white space (space, \t, \n, \r, \f, \v) from both ends.
 * Returns a pointer into s (borrowed) and stores the trimmed length. */
const char *str_trim(const char *s, size_t len, size_t *out_len);

/* True when s[0..len) is a valid address by the contract's rule: at most 254
 * bytes, one '@', a local part of 1-64 bytes of RFC 5322 atext and single
 * inner dots, a domain of >= 2 dot-separated labels of 1-63 letters, digits
 * and inner hyphens; bytes >= 0x80 count as letters.  The input must already
 * be trimmed; it may contain NUL bytes (they make it invalid). */
bool email_valid(const char *s, size_t len);

/* Writes a case-folded form of an email (ASCII letters lower-cased, other
 * bytes kept) to out, which must hold len + 1 bytes; out is NUL-terminated.
 * PostgreSQL folds the rest of Unicode when it matches (lower() by ICU, see
 * schema/001_init.sql); this form names cache entries and spares it work. */
void email_fold(const char *s, size_t len, char *out);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t len);

/* Number of code points in well-formed UTF-8 text. */
size_t utf8_length(const char *s, size_t len);

#endif
