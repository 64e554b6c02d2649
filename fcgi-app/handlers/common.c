/* common.c - small steps every handler shares. */
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "log.h"

void respond_store_failure(struct app *app, const struct request *req,
			   struct response *res, enum store_status st)
{
	if (st == STORE_UNAVAILABLE) {
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the database is unavailable, try again shortly");
		return;
	}
	rlog_error(req->request_id, "msg=\"database error\" detail=%s",
		   LOGQ(store_error(app->store)));
	response_fail(res, API_INTERNAL, NULL, "internal error");
}

bool require_json_body(const struct request *req, struct response *res)
{
	const char *ct = req->content_type;
	size_t n = strlen("application/json");

	if (strncasecmp(ct, "application/json", n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')) {
		response_fail(res, API_UNSUPPORTED_MEDIA_TYPE, NULL,
			      "Content-Type must be application/json");
		return false;
	}
	if (req->body_too_large) {
		response_fail(res, API_PAYLOAD_TOO_LARGE, NULL,
			      "request body is larger than 64 KiB");
		return false;
	}
	return true;
}

bool parse_query(const struct request *req, struct query *q,
		 struct response *res)
{
	if (query_parse(q, req->query) < 0) {
		if (q->bad_name[0])
			response_fail(res, API_INVALID_PARAMETER, q->bad_name,
				      "%s must be percent-encoded UTF-8 text without NUL bytes",
				      q->bad_name);
		else
			response_fail(res, API_INVALID_PARAMETER, NULL,
				      "the query string is malformed");
		return false;
	}
	return true;
}

bool read_page_params(const struct query *q, struct page_params *p,
		      struct response *res)
{
	int64_t v;

	if (query_get_int(q, "offset", 0, INT32_MAX, 0, &v) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "offset",
			      "offset must be an integer from 0 to 2147483647, given once");
		return false;
	}
	p->offset = v;
	if (query_get_int(q, "limit", 1, 1000, 1000, &v) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "limit",
			      "limit must be an integer from 1 to 1000, given once");
		return false;
	}
	p->limit = (int)v;
	return true;
}
