/* etag.h - strong entity tags of answers, and If-None-Match.
 *
 * A tag is 16 hex digits of a 64-bit FNV-1a hash of the body: the same
 * bytes give the same tag on every worker and host, and a changed answer
 * a changed tag (two bodies share one with probability 2^-64).  Cached
 * entries carry theirs, so a hit is tagged without hashing the page.
 * Pure; safe on any bytes.
 */
#ifndef CONTACTS_ETAG_H
#define CONTACTS_ETAG_H

#include <stdbool.h>
#include <stddef.h>

#define ETAG_LEN 16 /* hex digits, without quotes or NUL */

/* The tag of data[0..len) into out (ETAG_LEN + 1 bytes). */
void etag_of(const char *data, size_t len, char out[ETAG_LEN + 1]);

/* True when the If-None-Match header value names the tag: "*", or a list
 * of tags, each "..." or W/"..." (weak comparison, RFC 9110 13.1.2: nginx
 * weakens a tag when it compresses the answer). */
bool etag_matches(const char *if_none_match, const char *tag);

#endif
