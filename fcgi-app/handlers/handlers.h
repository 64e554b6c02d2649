/* handlers.h - one function per route; thin: read the request, call the
 * store or the cache, encode, answer.  No SQL, no JSON parsing here. */
#ifndef CONTACTS_HANDLERS_H
#define CONTACTS_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "auth.h"
#include "query.h"
#include "request.h"
#include "response.h"
#include "timefmt.h"

/* who is NULL on routes without authentication. */
typedef void handler_fn(struct app *app, const struct request *req,
			const struct principal *who, struct response *res);

handler_fn handle_healthz;
handler_fn handle_metrics;
handler_fn handle_test;
handler_fn handle_contacts_get;
handler_fn handle_contacts_post;
handler_fn handle_contacts_bulk;
handler_fn handle_contacts_delete;
handler_fn handle_changes_get;
handler_fn handle_contact_get;
handler_fn handle_contact_patch;
handler_fn handle_contact_delete;
handler_fn handle_lists_get;
handler_fn handle_lists_post;
handler_fn handle_list_get;
handler_fn handle_list_patch;
handler_fn handle_list_delete;
handler_fn handle_list_contacts_get;
handler_fn handle_fields_get;
handler_fn handle_fields_post;
handler_fn handle_field_delete;
handler_fn handle_suppressions_delete;

/* POST /contacts' answer again, from its write's result kept under an
 * Idempotency-Key (schema/021): idempotency.c's replay of such a key. */
void contacts_post_replay(const struct request *req, const struct write_result *wr,
			  struct response *res);

/* --- helpers shared by the handlers (common.c) --- */

/* Answers 503/500 for a failed store call. */
void respond_store_failure(struct app *app, const struct request *req,
			   struct response *res, enum store_status st);

/* Checks Content-Type (415) and the body size (413).  False: answered. */
bool require_json_body(const struct request *req, struct response *res);

/* offset and limit of a page; false: answered 400. */
struct page_params {
	int64_t offset;
	int limit;
};
bool read_page_params(const struct query *q, struct page_params *p,
		      struct response *res);

/* Parses the query string; false: answered 400. */
bool parse_query(const struct request *req, struct query *q,
		 struct response *res);

/* An email parameter: trimmed, checked and folded into *key (new, free
 * it); false: answered 400 invalid_parameter "email". */
bool read_email(const char *email, size_t len, struct response *res, char **key);

/* {"contacts":[...]} of every row. */
void encode_contacts(struct buf *out, const struct store_rows *rows);
/* {"contact":{...}[,"action":...][,"listsUpdated":N,"listsRemoved":N]}
 * of a write's contact. */
void encode_write(struct buf *out, const struct write_result *wr, bool action,
		  bool lists);

/* --- the write path (writes.h) around one store call ---
 *
 *   if (!write_begin(app, who, res, &note)) return;   (answered 503)
 *   st = store_...(...);
 *   if (!write_finish(app, req, who, res, note, st, refused)) ...
 *
 * write_finish returns true when the write committed and the cache was
 * told; false when it answered a failure (503/500), or when the store
 * refused the write (refused: nothing was written, nothing answered yet:
 * the caller answers with the refusal). */
bool write_begin(struct app *app, const struct principal *who,
		 struct response *res, uint64_t *note)
	__attribute__((warn_unused_result));
bool write_finish(struct app *app, const struct request *req,
		  const struct principal *who, struct response *res,
		  uint64_t note, enum store_status st, bool refused)
	__attribute__((warn_unused_result));
/* Answers a refusal of the store (write_result.err); in (may be NULL)
 * says how the body spelled custom fields. */
void respond_refusal(struct response *res, const struct write_result *wr,
		     const struct contact_input *in);
/* The same refusal as an error (for a bulk row's result). */
void refusal_error(const struct write_result *wr, const struct contact_input *in,
		   struct apierr *e);

/* A 9-character id of [A-Za-z0-9] from the path; false: answered 404. */
bool path_id(const struct request *req, const char *what, struct response *res);

/* --- the cached contact listings (listing.c) --- */
enum listing_kind {
	LISTING_PAGE,    /* GET /contacts, GET /lists/{id}/contacts */
	LISTING_EMAIL,   /* ?email= */
	LISTING_EID,     /* ?eid= */
	LISTING_SINCE,   /* ?updated_since= */
};

struct listing {
	const char *list_id; /* borrowed; NULL: the organization's contacts */
	enum listing_kind kind;
	bool include_all;
	char *email_key;     /* owned, for LISTING_EMAIL */
	char *eid;           /* owned, for LISTING_EID */
	char since[TIMEFMT_PG_LEN + 1]; /* for LISTING_SINCE */
	char since_raw[64];  /* as the client wrote it, for the Link */
	struct page_params page;
	char what[CACHE_KEY_MAX - 64]; /* the cache key's last part */
};
/* Reads offset, limit, includeAll (and email without a list); false:
 * answered 400.  Release with listing_cleanup() either way. */
bool listing_params(const struct request *req, const char *list_id,
		    struct listing *ls, struct response *res);
void listing_serve(struct app *app, const struct request *req,
		   const struct principal *who, const struct listing *ls,
		   struct response *res);
void listing_cleanup(struct listing *ls);


#endif
