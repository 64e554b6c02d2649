/* listing.c - the cached contact listings: GET /contacts (pages and one
 * email) and GET /lists/{id}/contacts.  Both go through the same steps:
 * read the parameters, try Redis, else read PostgreSQL and fill Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "validate.h"

/* A cached entry is the JSON body followed by one byte: 'F' for a full page
 * (which carries a Link to the next one), 'P' otherwise.  At the end, so
 * that a hit is answered by dropping it, without moving the body. */
#define ENTRY_FULL 'F'
#define ENTRY_PARTIAL 'P'

static void listing_init(struct listing *ls, const char *list_id)
{
	memset(ls, 0, sizeof(*ls));
	ls->list_id = list_id;
}

bool listing_params(const struct request *req, const char *list_id,
		    struct listing *ls, struct response *res)
{
	struct query q;
	const char *email;
	size_t email_len;
	bool ok = false;

	listing_init(ls, list_id);
	if (!parse_query(req, &q, res))
		return false;
	if (query_get_bool(&q, "includeAll", false, &ls->include_all) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "includeAll",
			      "includeAll must be true or false, given once");
		goto out;
	}
	if (!read_page_params(&q, &ls->page, res))
		goto out;
	switch (list_id ? QUERY_ABSENT : query_get_str(&q, "email", &email, &email_len)) {
	case QUERY_OK:
		if (!read_email(email, email_len, res, &ls->email_key))
			goto out;
		ls->by_email = true;
		snprintf(ls->what, sizeof(ls->what), "e:%d:%s", ls->include_all,
			 ls->email_key);
		break;
	case QUERY_ABSENT:
		if (list_id)
			snprintf(ls->what, sizeof(ls->what), "l:%s:%d:%lld:%d", list_id,
				 ls->include_all, (long long)ls->page.offset,
				 ls->page.limit);
		else
			snprintf(ls->what, sizeof(ls->what), "p:%d:%lld:%d",
				 ls->include_all, (long long)ls->page.offset,
				 ls->page.limit);
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

void listing_cleanup(struct listing *ls)
{
	free(ls->email_key);
	ls->email_key = NULL;
}

static void link_next(struct response *res, const struct listing *ls)
{
	response_header(res, "Link", "<%s%s/contacts?offset=%lld&limit=%d%s>; rel=\"next\"",
			ls->list_id ? "/lists/" : "", ls->list_id ? ls->list_id : "",
			(long long)(ls->page.offset + ls->page.limit), ls->page.limit,
			ls->include_all ? "&includeAll=true" : "");
}

/* Reads the rows of a listing from PostgreSQL; *found false: the list
 * does not exist (or is deleted). */
static enum store_status load_rows(struct app *app, const struct principal *who,
				   const struct listing *ls, bool *found,
				   struct store_rows **rows)
{
	const char *org = who->key.org_id;
	enum store_status st;

	*found = true;
	*rows = NULL;
	if (ls->by_email)
		return store_contact_by_email(app->store, org, ls->email_key,
					      ls->include_all, rows);
	if (!ls->list_id)
		return store_contacts_page(app->store, org, ls->page.offset,
					   ls->page.limit, ls->include_all, rows);
	st = store_list_by_id(app->store, org, ls->list_id, rows);
	if (st != STORE_OK)
		return st;
	if (store_rows_count(*rows) == 1) {
		struct list l;

		store_rows_list(*rows, 0, &l);
		*found = !l.has_deleted_at;
	} else {
		*found = false;
	}
	store_rows_free(*rows);
	*rows = NULL;
	if (!*found)
		return STORE_OK;
	return store_list_members_page(app->store, org, ls->list_id, ls->page.offset,
				       ls->page.limit, ls->include_all, rows);
}

/* Reads from PostgreSQL and encodes the entry (body + flag byte) into out. */
static enum store_status load(struct app *app, const struct principal *who,
			      const struct listing *ls, bool *found, struct buf *out)
{
	struct store_rows *rows;
	enum store_status st = load_rows(app, who, ls, found, &rows);
	size_t n;

	if (st != STORE_OK || !*found)
		return st;
	n = store_rows_count(rows);
	encode_contacts(out, rows);
	buf_putc(out, !ls->by_email && n == (size_t)ls->page.limit ? ENTRY_FULL
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

void listing_serve(struct app *app, const struct request *req,
		   const struct principal *who, const struct listing *ls,
		   struct response *res)
{
	struct cache_ticket ticket;
	struct buf *entry = &res->body;
	enum store_status st;
	bool found;

	/* The entry is built in the body buffer; its flag byte is cut off
	 * before sending. */
	buf_reset(entry);
	if (cache_get(app->cache, who->key.org_id, who->key.cache_epoch, ls->what,
		      entry, &ticket) != CACHE_HIT || !entry_valid(entry)) {
		buf_reset(entry);
		st = load(app, who, ls, &found, entry);
		if (st != STORE_OK) {
			respond_store_failure(app, req, res, st);
			return;
		}
		if (!found) {
			response_fail(res, API_NOT_FOUND, NULL, "no such list");
			return;
		}
		cache_put(app->cache, who->key.org_id, who->key.cache_epoch, ls->what,
			  &ticket, entry->data, entry->len);
	}
	if (entry->data[entry->len - 1] == ENTRY_FULL)
		link_next(res, ls);
	entry->data[--entry->len] = '\0';
	response_json(res, 200);
}
