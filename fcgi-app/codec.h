/* codec.h - JSON in and out for contacts, lists and errors.
 *
 * Encoding appends to a struct buf; one function per object, so that every
 * key is always present and written the same way everywhere.  Decoding uses
 * Jansson and checks size, depth, UTF-8, duplicate keys, types and every
 * field rule of the contract before anything reaches the store.
 */
#ifndef CONTACTS_CODEC_H
#define CONTACTS_CODEC_H

#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "model.h"

#define CODEC_MAX_BODY (64 * 1024)
#define CODEC_MAX_DEPTH 16

/* A JSON string literal, quotes included.  s must be valid UTF-8. */
void json_put_string(struct buf *out, const char *s, size_t len);
/* A string literal, or null when s is NULL. */
void json_put_nullable(struct buf *out, const char *s);

void codec_contact(struct buf *out, const struct contact *c);
void codec_list(struct buf *out, const struct list *l);
/* {"error":{"code":…,"message":…[,"field":…]}} */
void codec_error(struct buf *out, const struct apierr *e);

/* Decodes a POST /contacts body into in (caller storage).  Returns 0, or -1
 * with err set (400 invalid_json, 422 invalid_field / missing_field /
 * unknown_field / unknown_list).  After 0, release with
 * contact_input_cleanup(); after -1 nothing needs releasing. */
int codec_parse_contact(const char *body, size_t len, struct contact_input *in,
			struct apierr *err) __attribute__((warn_unused_result));
void contact_input_cleanup(struct contact_input *in);

int codec_parse_list(const char *body, size_t len, struct list_input *in,
		     struct apierr *err) __attribute__((warn_unused_result));
void list_input_cleanup(struct list_input *in);

/* Structural pre-check run before the parser: nesting depth at most
 * max_depth.  Returns 0 or -1.  Pure; safe on any bytes. */
int json_check_depth(const char *s, size_t len, int max_depth);

#endif
