/* contacts.c - GET /contacts (a page, or one email) and POST /contacts
 * (create or update by email). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "writes.h"
#include "log.h"
#include "validate.h"

/* A cached entry is the JSON body followed by one byte: 'F' for a full page
 * (which carries a Link to the next one), 'P' otherwise.  At the end, so
 * that a hit is answered by dropping it, without moving the body. */
#define ENTRY_FULL 'F'
#define ENTRY_PARTIAL 'P'

struct contacts_read {
	bool include_all;
	bool by_email;
	char *email_key; /* owned, when by_email */
	struct page_params page;
	char what[300];  /* the cache key's last part */
};

static void link_next(struct response *res, const struct contacts_read *rd)
{
	response_header(res, "Link", "</contacts?offset=%lld&limit=%d%s>; rel=\"next\"",
			(long long)(rd->page.offset + rd->page.limit), rd->page.limit,
			rd->include_all ? "&includeAll=true" : "");
}

static bool read_params(const struct request *req, struct contacts_read *rd,
			struct response *res)
{
	struct query q;
	const char *email;
	size_t email_len;
	bool ok = false;

	memset(rd, 0, sizeof(*rd));
	if (!parse_query(req, &q, res))
		return false;
	if (query_get_bool(&q, "includeAll", false, &rd->include_all) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "includeAll",
			      "includeAll must be true or false, given once");
		goto out;
	}
	if (!read_page_params(&q, &rd->page, res))
		goto out;
	switch (query_get_str(&q, "email", &email, &email_len)) {
	case QUERY_OK:
		email = str_trim(email, email_len, &email_len);
		if (!email_valid(email, email_len)) {
			response_fail(res, API_INVALID_PARAMETER, "email",
				      "email must be a valid address");
			goto out;
		}
		rd->by_email = true;
		rd->email_key = xmalloc(email_len + 1);
		email_fold(email, email_len, rd->email_key);
		snprintf(rd->what, sizeof(rd->what), "e:%d:%s", rd->include_all,
			 rd->email_key);
		break;
	case QUERY_ABSENT:
		snprintf(rd->what, sizeof(rd->what), "p:%d:%lld:%d", rd->include_all,
			 (long long)rd->page.offset, rd->page.limit);
		break;
	case QUERY_INVALID:
		response_fail(res, API_INVALID_PARAMETER, "email",
			      "email must be given once");
		goto out;
	}
	ok = true;
out:
	query_cleanup(&q);
	return ok;
}

/* Reads from PostgreSQL and encodes the entry (body + flag byte) into out. */
static enum store_status load(struct app *app, const struct principal *who,
			      const struct contacts_read *rd, struct buf *out)
{
	struct store_rows *rows;
	enum store_status st;
	size_t n;

	if (rd->by_email)
		st = store_contact_by_email(app->store, who->key.org_id, rd->email_key,
					    rd->include_all, &rows);
	else
		st = store_contacts_page(app->store, who->key.org_id, rd->page.offset,
					 rd->page.limit,
					 rd->include_all || who->key.deleted_count == 0,
					 &rows);
	if (st != STORE_OK)
		return st;
	n = store_rows_count(rows);
	buf_puts(out, "{\"contacts\":[");
	for (size_t i = 0; i < n; i++) {
		struct contact c;

		store_rows_contact(rows, i, &c);
		if (i)
			buf_putc(out, ',');
		codec_contact(out, &c);
	}
	buf_puts(out, "]}");
	buf_putc(out, !rd->by_email && n == (size_t)rd->page.limit ? ENTRY_FULL
								   : ENTRY_PARTIAL);
	store_rows_free(rows);
	return STORE_OK;
}

/* An entry we wrote ends with its flag; anything else is treated as a miss. */
static bool entry_valid(const struct buf *entry)
{
	return entry->len > 0 && (entry->data[entry->len - 1] == ENTRY_FULL ||
				  entry->data[entry->len - 1] == ENTRY_PARTIAL);
}

void handle_contacts_get(struct app *app, const struct request *req,
			 const struct principal *who, struct response *res)
{
	struct contacts_read rd;
	struct cache_ticket ticket;
	struct buf *entry = &res->body;
	enum store_status st;

	if (!read_params(req, &rd, res))
		return;
	/* The entry is built in the body buffer; its flag byte is cut off
	 * before sending. */
	buf_reset(entry);
	if (cache_get(app->cache, who->key.org_id, who->key.cache_epoch, rd.what,
		      entry, &ticket) != CACHE_HIT || !entry_valid(entry)) {
		buf_reset(entry);
		st = load(app, who, &rd, entry);
		if (st != STORE_OK) {
			respond_store_failure(app, req, res, st);
			goto out;
		}
		cache_put(app->cache, who->key.org_id, who->key.cache_epoch, rd.what,
			  &ticket, entry->data, entry->len);
	}
	if (entry->data[entry->len - 1] == ENTRY_FULL)
		link_next(res, &rd);
	entry->data[--entry->len] = '\0';
	response_json(res, 200);
out:
	free(rd.email_key);
}

void handle_contacts_post(struct app *app, const struct request *req,
			  const struct principal *who, struct response *res)
{
	struct contact_input in;
	struct upsert_result up = {0};
	struct apierr err;
	enum store_status st;
	uint64_t note;

	if (!require_json_body(req, res))
		return;
	if (codec_parse_contact(req->body.data, req->body.len, &in, &err) < 0) {
		response_error(res, &err);
		return;
	}
	note = writes_begin(app, who->key.org_id);
	if (!note) {
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the database is unavailable, try again shortly");
		goto out;
	}
	st = store_contact_upsert(app->store, who->key.org_id, &in, &up);
	if (st == STORE_UNAVAILABLE) {
		/* The outcome is unknown: the note stays, to be settled. */
		respond_store_failure(app, req, res, st);
		goto out;
	}
	if (st != STORE_OK || up.unknown_lists) {
		writes_abandon(app, note);
		if (st != STORE_OK)
			respond_store_failure(app, req, res, st);
		else
			response_fail(res, API_UNKNOWN_LIST, "addToLists",
				      "unknown list ids: %s", up.unknown_lists);
		goto out;
	}
	if (writes_publish(app, who->key.org_id, note) < 0) {
		rlog_error(req->request_id, "msg=\"cannot retire cached entries after a write\" detail=%s",
			   LOGQ(store_error(app->store)));
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the change was saved but could not be published yet, try again shortly");
		goto out;
	}
	buf_puts(&res->body, "{\"contact\":");
	codec_contact(&res->body, &up.contact);
	buf_printf(&res->body, ",\"action\":\"%s\",\"listsUpdated\":%d}",
		   up.created ? "IMPORT_CREATE" : "IMPORT_UPDATE", up.lists_updated);
	if (up.created)
		response_created(res, "/contacts", up.contact.id);
	else
		response_json(res, 200);
out:
	store_rows_free(up.rows);
	contact_input_cleanup(&in);
}
