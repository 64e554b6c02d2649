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

/* who is NULL on routes without authentication. */
typedef void handler_fn(struct app *app, const struct request *req,
			const struct principal *who, struct response *res);

handler_fn handle_healthz;
handler_fn handle_metrics;
handler_fn handle_test;
handler_fn handle_contacts_get;
handler_fn handle_contacts_post;
handler_fn handle_lists_get;
handler_fn handle_lists_post;

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


#endif
