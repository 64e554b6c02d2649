/* codec.h - JSON in and out for contacts, lists and errors.
 *
 * Encoding appends to a struct buf; one function per object, so that every
 * key is always present and written the same way everywhere.  Decoding uses
 * Jansson and checks size, depth, UTF-8, duplicate keys, types and every
 * field rule of the contract before anything reaches the store.
 */
#ifndef CONTACTS_CODEC_H
#define CONTACTS_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "id.h"
#include "model.h"

#define CODEC_MAX_BODY (64 * 1024)
#define CODEC_MAX_DEPTH 16

/* A JSON string literal, quotes included.  s must be valid UTF-8. */
void json_put_string(struct buf *out, const char *s, size_t len);
/* A string literal, or null when s is NULL. */
void json_put_nullable(struct buf *out, const char *s);

void codec_contact(struct buf *out, const struct contact *c);
void codec_list(struct buf *out, const struct list *l);
void codec_field(struct buf *out, const struct field_def *f);
/* A time as the API writes it: "2020-10-22T14:55:52.638Z", or null. */
void codec_time(struct buf *out, int64_t unix_ms);
/* {"error":{"code":…,"message":…[,"field":…]}} */
void codec_error(struct buf *out, const struct apierr *e);

/* What a contact body may hold. */
enum contact_mode {
	CONTACT_UPSERT,     /* POST /contacts, a bulk row: email required */
	CONTACT_PATCH,      /* PATCH /contacts/{id}: all optional, status too */
	CONTACT_EMAIL_ONLY, /* DELETE /contacts {"email": ...} */
};

/* Decodes a contact body into in (caller storage).  Returns 0, or -1
 * with err set (400 invalid_json, 422 invalid_field / missing_field /
 * unknown_field).  After 0, release with contact_input_cleanup(); after
 * -1 nothing needs releasing. */
int codec_parse_contact(const char *body, size_t len, enum contact_mode mode,
			struct contact_input *in, struct apierr *err)
	__attribute__((warn_unused_result));
/* The same for a JSON object already parsed (a json_t *, borrowed: in
 * takes a reference of its own). */
int codec_contact_from_json(void *obj, enum contact_mode mode,
			    struct contact_input *in, struct apierr *err)
	__attribute__((warn_unused_result));
void contact_input_cleanup(struct contact_input *in);
/* How the body named custom field name ("field_tier" or "fields.tier"),
 * for errors; borrowed from in. */
const char *codec_custom_spelling(const struct contact_input *in,
				  const char *name);

/* POST /lists (patch false: name required, type defaults) or PATCH
 * /lists/{id} (both optional). */
int codec_parse_list(const char *body, size_t len, bool patch,
		     struct list_input *in, struct apierr *err)
	__attribute__((warn_unused_result));
void list_input_cleanup(struct list_input *in);

#define FIELD_NAME_MAX 64
/* A custom field's name: 1-64 of [a-z0-9_].  Pure. */
bool codec_field_name_valid(const char *s, size_t len);

/* A decoded POST /fields body. */
struct field_input {
	const char *name;
	const char *type;
	void *owner; /* owned */
};
int codec_parse_field(const char *body, size_t len, struct field_input *in,
		      struct apierr *err) __attribute__((warn_unused_result));
void field_input_cleanup(struct field_input *in);

/* POST /contacts/bulk: {"contacts":[row, ...]}, 1-BULK_MAX_ROWS rows,
 * each a POST /contacts body; up to CODEC_MAX_BULK_BODY bytes. */
#define BULK_MAX_ROWS 1000
#define CODEC_MAX_BULK_BODY (4 * 1024 * 1024)

struct bulk_row {
	struct contact_input in; /* when ok */
	bool ok;
	struct apierr err;       /* when !ok: why the row is refused */
	char id[ID_LEN + 1];     /* the id a create of it takes (the caller's) */
};

struct bulk_input {
	struct bulk_row *rows; /* owned */
	size_t n;
};

/* Decodes the body: -1 with err when the body itself is refused (not
 * JSON, no "contacts", 0 or more than 1000 rows); 0 otherwise, with each
 * row decoded or refused on its own.  Release with bulk_input_cleanup(). */
int codec_parse_bulk(const char *body, size_t len, struct bulk_input *b,
		     struct apierr *err) __attribute__((warn_unused_result));
void bulk_input_cleanup(struct bulk_input *b);
/* The valid rows as the JSON array contact_bulk() reads. */
void codec_bulk_rows(struct buf *out, const struct bulk_input *b);
/* "error":{...}: an error as a member of a larger object. */
void codec_error_member(struct buf *out, const struct apierr *e);

/* Structural pre-check run before the parser: nesting depth at most
 * max_depth.  Returns 0 or -1.  Pure; safe on any bytes. */
int json_check_depth(const char *s, size_t len, int max_depth);

#endif
