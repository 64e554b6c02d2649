/* lists.c - /lists and /lists/{id}: create, read, rename, delete, and the
 * members of one list. */
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "writes.h"

/* A value may hold NUL bytes: compare the whole length. */
static bool is_type(const char *s, size_t len)
{
	return (len == 8 && memcmp(s, "customer", 8) == 0) ||
	       (len == 8 && memcmp(s, "employee", 8) == 0);
}

/* {"list":{...}} of the one row, or 404 when there is none. */
static void answer_list(struct response *res, struct store_rows *rows, int status)
{
	struct list l;

	if (store_rows_count(rows) != 1) {
		response_fail(res, API_NOT_FOUND, NULL, "no such list");
		return;
	}
	store_rows_list(rows, 0, &l);
	buf_puts(&res->body, "{\"list\":");
	codec_list(&res->body, &l);
	buf_putc(&res->body, '}');
	if (status == 201)
		response_created(res, "/lists", l.id);
	else
		response_json(res, status);
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
	enum store_status st;

	if (!require_json_body(req, res))
		return;
	if (codec_parse_list(req->body.data, req->body.len, false, &in, &err) < 0) {
		response_error(res, &err);
		return;
	}
	/* A new list is in no cached answer: no cache to tell. */
	st = store_list_create(app->store, who->key.org_id, &in, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		goto out;
	}
	answer_list(res, rows, 201);
	store_rows_free(rows);
out:
	list_input_cleanup(&in);
}

void handle_list_get(struct app *app, const struct request *req,
		     const struct principal *who, struct response *res)
{
	struct store_rows *rows;
	enum store_status st;

	if (!path_id(req, "list", res))
		return;
	st = store_list_by_id(app->store, who->key.org_id, req->param, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		return;
	}
	answer_list(res, rows, 200);
	store_rows_free(rows);
}

/* PATCH and DELETE change a list: member pages answer 404 for a deleted
 * one, so its cached pages are retired like a contact write's. */
static void change_list(struct app *app, const struct request *req,
			const struct principal *who, const struct list_input *in,
			struct response *res)
{
	struct store_rows *rows = NULL;
	enum store_status st;
	uint64_t note;

	if (!write_begin(app, who, res, &note))
		return;
	st = in ? store_list_patch(app->store, who->key.org_id, req->param, in, &rows)
		: store_list_delete(app->store, who->key.org_id, req->param, &rows);
	writes_list_changed(app, req->param);
	if (!write_finish(app, req, who, res, note, st,
			  st == STORE_OK && store_rows_count(rows) != 1)) {
		if (st == STORE_OK && store_rows_count(rows) != 1)
			response_fail(res, API_NOT_FOUND, NULL, "no such list");
		goto out;
	}
	answer_list(res, rows, 200);
out:
	store_rows_free(rows);
}

/* A PATCH that changes nothing: the list as it is, unless deleted. */
static void unchanged_list(struct app *app, const struct request *req,
			   const struct principal *who, struct response *res)
{
	struct store_rows *rows;
	enum store_status st;
	struct list l;

	st = store_list_by_id(app->store, who->key.org_id, req->param, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		return;
	}
	if (store_rows_count(rows) == 1) {
		store_rows_list(rows, 0, &l);
		if (l.has_deleted_at) {
			store_rows_free(rows);
			response_fail(res, API_NOT_FOUND, NULL, "no such list");
			return;
		}
	}
	answer_list(res, rows, 200);
	store_rows_free(rows);
}

void handle_list_patch(struct app *app, const struct request *req,
		       const struct principal *who, struct response *res)
{
	struct list_input in;
	struct apierr err;

	if (!path_id(req, "list", res))
		return;
	if (!require_json_body(req, res))
		return;
	if (codec_parse_list(req->body.data, req->body.len, true, &in, &err) < 0) {
		response_error(res, &err);
		return;
	}
	if (!in.name && !in.type)
		unchanged_list(app, req, who, res); /* {}: nothing to write */
	else
		change_list(app, req, who, &in, res);
	list_input_cleanup(&in);
}

void handle_list_delete(struct app *app, const struct request *req,
			const struct principal *who, struct response *res)
{
	if (path_id(req, "list", res))
		change_list(app, req, who, NULL, res);
}

void handle_list_contacts_get(struct app *app, const struct request *req,
			      const struct principal *who, struct response *res)
{
	struct listing ls;

	if (!path_id(req, "list", res))
		return;
	if (listing_params(req, req->param, &ls, res))
		listing_serve(app, req, who, &ls, res);
	listing_cleanup(&ls);
}
