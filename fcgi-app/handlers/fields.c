/* fields.c - /fields: the organization's custom fields. */
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "writes.h"

static void encode_fields(struct buf *out, const struct store_rows *rows)
{
	size_t n = store_rows_count(rows);

	buf_puts(out, "{\"fields\":[");
	for (size_t i = 0; i < n; i++) {
		struct field_def f;

		store_rows_field(rows, i, &f);
		if (i)
			buf_putc(out, ',');
		codec_field(out, &f);
	}
	buf_puts(out, "]}");
}

void handle_fields_get(struct app *app, const struct request *req,
		       const struct principal *who, struct response *res)
{
	struct store_rows *rows;
	enum store_status st = store_fields_list(app->store, who->key.org_id, &rows);

	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		return;
	}
	encode_fields(&res->body, rows);
	store_rows_free(rows);
	response_json(res, 200);
}

void handle_fields_post(struct app *app, const struct request *req,
			const struct principal *who, struct response *res)
{
	struct field_input in;
	struct store_rows *rows;
	struct apierr err;
	struct field_def f;
	enum store_status st;

	if (!require_json_body(req, res))
		return;
	if (codec_parse_field(req->body.data, req->body.len, &in, &err) < 0) {
		response_error(res, &err);
		return;
	}
	/* A new field has no values: no cached answer changes. */
	st = store_field_create(app->store, who->key.org_id, in.name, in.type, &rows);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		goto out;
	}
	if (store_rows_count(rows) != 1) {
		response_fail(res, API_FIELD_EXISTS, "name",
			      "a custom field of that name exists");
	} else {
		store_rows_field(rows, 0, &f);
		buf_puts(&res->body, "{\"field\":");
		codec_field(&res->body, &f);
		buf_putc(&res->body, '}');
		response_created(res, "/fields", f.name);
	}
	store_rows_free(rows);
out:
	field_input_cleanup(&in);
}

void handle_field_delete(struct app *app, const struct request *req,
			 const struct principal *who, struct response *res)
{
	bool deleted = false;
	enum store_status st;
	uint64_t note;

	if (!codec_field_name_valid(req->param, strlen(req->param))) {
		response_fail(res, API_NOT_FOUND, NULL, "no such field");
		return;
	}
	/* Its values leave every contact: every cached answer may change. */
	if (!write_begin(app, who, res, &note))
		return;
	st = store_field_delete(app->store, who->key.org_id, req->param, &deleted);
	writes_everything_changed(app);
	if (!write_finish(app, req, who, res, note, st, st == STORE_OK && !deleted)) {
		if (st == STORE_OK && !deleted)
			response_fail(res, API_NOT_FOUND, NULL, "no such field");
		return;
	}
	response_empty(res, 204);
}
