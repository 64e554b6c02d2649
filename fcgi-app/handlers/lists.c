/* lists.c - GET /lists and POST /lists. */
#include <string.h>

#include "codec.h"
#include "handlers.h"

/* A value may hold NUL bytes: compare the whole length. */
static bool is_type(const char *s, size_t len)
{
	return (len == 8 && memcmp(s, "customer", 8) == 0) ||
	       (len == 8 && memcmp(s, "employee", 8) == 0);
}

void handle_lists_get(struct app *app, const struct request *req,
		      const struct principal *who, struct response *res)
{
	struct query q;
	struct page_params page;
	struct store_rows *rows;
	const char *type = NULL;
	size_t type_len, n;
	enum store_status st;

	if (!parse_query(req, &q, res))
		return;
	if (!read_page_params(&q, &page, res))
		goto out;
	if (query_get_str(&q, "type", &type, &type_len) == QUERY_INVALID ||
	    (type && !is_type(type, type_len))) {
		response_fail(res, API_INVALID_PARAMETER, "type",
			      "type must be customer or employee, given once");
		goto out;
	}
	st = store_lists_page(app->store, who->key.org_id, page.offset, page.limit,
			      type, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		goto out;
	}
	n = store_rows_count(rows);
	buf_puts(&res->body, "{\"lists\":[");
	for (size_t i = 0; i < n; i++) {
		struct list l;

		store_rows_list(rows, i, &l);
		if (i)
			buf_putc(&res->body, ',');
		codec_list(&res->body, &l);
	}
	buf_puts(&res->body, "]}");
	store_rows_free(rows);
	if (n == (size_t)page.limit)
		response_header(res, "Link", "</lists?offset=%lld&limit=%d%s%s>; rel=\"next\"",
				(long long)(page.offset + page.limit), page.limit,
				type ? "&type=" : "", type ? type : "");
	response_json(res, 200);
out:
	query_cleanup(&q);
}

void handle_lists_post(struct app *app, const struct request *req,
		       const struct principal *who, struct response *res)
{
	struct list_input in;
	struct store_rows *rows;
	struct apierr err;
	struct list l;
	enum store_status st;

	if (!require_json_body(req, res))
		return;
	if (codec_parse_list(req->body.data, req->body.len, &in, &err) < 0) {
		response_error(res, &err);
		return;
	}
	st = store_list_create(app->store, who->key.org_id, &in, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		goto out;
	}
	store_rows_list(rows, 0, &l);
	buf_puts(&res->body, "{\"list\":");
	codec_list(&res->body, &l);
	buf_putc(&res->body, '}');
	response_created(res, "/lists", l.id); /* before l's rows are freed */
	store_rows_free(rows);
out:
	list_input_cleanup(&in);
}
