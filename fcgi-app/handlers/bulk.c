/* bulk.c - POST /contacts/bulk: up to 1000 upserts in one transaction,
 * each row reported on its own (API.md, "Bulk upsert"). */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "writes.h"
#include "id.h"

/* Counts of the answer. */
struct bulk_counts {
	int created;
	int updated;
	int unchanged;
	int failed;
};

static void put_refused(struct buf *out, size_t index, const struct apierr *e,
			struct bulk_counts *n)
{
	buf_printf(out, "{\"index\":%zu,", index);
	codec_error_member(out, e);
	buf_putc(out, '}');
	n->failed++;
}

static void put_written(struct buf *out, size_t index, const struct write_result *wr,
			struct bulk_counts *n)
{
	buf_printf(out, "{\"index\":%zu,\"action\":\"%s\",\"contact\":", index, wr->action);
	codec_contact(out, &wr->contact);
	buf_printf(out, ",\"listsUpdated\":%d,\"listsRemoved\":%d}", wr->lists_updated,
		   wr->lists_removed);
	if (strcmp(wr->action, "IMPORT_CREATE") == 0)
		n->created++;
	else if (strcmp(wr->action, "IMPORT_NOOP") == 0)
		n->unchanged++;
	else
		n->updated++;
}

/* The answer: every row's result in order; rows refused by the codec have
 * none in the store's results, which cover the valid rows in order. */
static void encode_results(struct buf *out, const struct bulk_input *b,
			   const struct store_rows *rows)
{
	struct bulk_counts n = {0};
	size_t k = 0;

	buf_puts(out, "{\"results\":[");
	for (size_t i = 0; i < b->n; i++) {
		const struct bulk_row *r = &b->rows[i];
		struct write_result wr;
		struct apierr e;

		if (i)
			buf_putc(out, ',');
		if (!r->ok) {
			put_refused(out, i, &r->err, &n);
			continue;
		}
		store_rows_write(rows, k++, &wr);
		if (wr.err) {
			refusal_error(&wr, &r->in, &e);
			put_refused(out, i, &e, &n);
		} else {
			put_written(out, i, &wr, &n);
		}
	}
	buf_printf(out, "],\"created\":%d,\"updated\":%d,\"unchanged\":%d,\"failed\":%d}",
		   n.created, n.updated, n.unchanged, n.failed);
}

/* What the rows changed, for the cache; results come in the order of the
 * valid rows. */
static void bulk_changed(struct app *app, const struct bulk_input *b,
			 const struct store_rows *rows)
{
	size_t k = 0, n = store_rows_count(rows);

	for (size_t i = 0; i < b->n && k < n; i++) {
		struct write_result wr;

		if (!b->rows[i].ok)
			continue;
		store_rows_write(rows, k++, &wr);
		writes_contact_changed(app, &wr, &b->rows[i].in);
	}
	if (k != n)
		writes_everything_changed(app);
}

void handle_contacts_bulk(struct app *app, const struct request *req,
			  const struct principal *who, struct response *res)
{
	struct bulk_input b;
	struct store_rows *rows = NULL;
	struct apierr err;
	struct buf sql;
	enum store_status st;
	size_t valid = 0;
	uint64_t note;

	if (!require_json_body(req, res))
		return;
	if (codec_parse_bulk(req->body.data, req->body.len, &b, &err) < 0) {
		response_error(res, &err);
		return;
	}
	buf_init(&sql);
	for (size_t i = 0; i < b.n; i++) {
		if (!b.rows[i].ok)
			continue;
		valid++;
		if (id_random(b.rows[i].id, ID_LEN) < 0) {
			response_fail(res, API_INTERNAL, NULL, "internal error");
			goto out;
		}
	}
	if (valid > 0) {
		codec_bulk_rows(&sql, &b);
		if (!write_begin(app, who, res, &note))
			goto out;
		st = store_contact_bulk(app->store, who->key.org_id, sql.data,
					app->idem_key != NULL, &rows);
		if (st == STORE_OK)
			bulk_changed(app, &b, rows);
		if (!write_finish(app, req, who, res, note, st, false))
			goto out;
		if (store_rows_count(rows) != valid) {
			/* Committed and published, but not as asked: say so. */
			response_fail(res, API_INTERNAL, NULL, "internal error");
			goto out;
		}
	}
	encode_results(&res->body, &b, rows);
	response_json(res, 200);
out:
	store_rows_free(rows);
	buf_cleanup(&sql);
	bulk_input_cleanup(&b);
}
