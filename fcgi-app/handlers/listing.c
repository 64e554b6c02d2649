/* listing.c - the cached contact listings: GET /contacts (pages and one
 * email) and GET /lists/{id}/contacts.  Both go through the same steps:
 * read the parameters, try Redis, else read PostgreSQL and fill Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"
#include "sha256.h"
#include "validate.h"
#include "writes.h"

/* A cached entry is the JSON body, its ETag (ETAG_LEN hex digits), then
 * one byte: 'F' for a full page (which carries a Link to the next one),
 * 'P' otherwise.  At the end, so that a hit is answered by dropping them,
 * without moving the body, and tagged without hashing it again. */
#define ENTRY_FULL 'F'
#define ENTRY_PARTIAL 'P'

static void listing_init(struct listing *ls, const char *list_id)
{
	memset(ls, 0, sizeof(*ls));
	ls->list_id = list_id;
}

/* sha256 of data[0..len) in hex into out (2 * SHA256_LEN + 1 bytes). */
static void hash_hex(const char *data, size_t len, char *out)
{
	uint8_t h[SHA256_LEN];

	sha256(data, len, h);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The one filter of GET /contacts, if any: email, eid or updated_since.
 * False: answered 400. */
static bool read_filter(const struct query *q, struct listing *ls,
			struct response *res)
{
	static const char *const names[] = {"email", "eid", "updated_since"};
	const char *v = NULL, *name = NULL;
	size_t len = 0;
	char hex[2 * SHA256_LEN + 1];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *val;
		size_t vlen;

		switch (query_get_str(q, names[i], &val, &vlen)) {
		case QUERY_ABSENT:
			continue;
		case QUERY_INVALID:
			response_fail(res, API_INVALID_PARAMETER, names[i],
				      "%s must be given once", names[i]);
			return false;
		case QUERY_OK:
			break;
		}
		if (name) {
			response_fail(res, API_INVALID_PARAMETER, names[i],
				      "give one of email, eid and updated_since");
			return false;
		}
		name = names[i];
		v = val;
		len = vlen;
	}
	if (!name)
		return true;
	if (name == names[0]) {
		if (!read_email(v, len, res, &ls->email_key))
			return false;
		ls->kind = LISTING_EMAIL;
		/* The key names the email by its hash: a look-up of an erased
		 * (suppressed) email must not put it back in Redis in clear. */
		hash_hex(ls->email_key, strlen(ls->email_key), hex);
		snprintf(ls->what, sizeof(ls->what), "e:%d:%s", ls->include_all, hex);
	} else if (name == names[1]) {
		if (len == 0 || memchr(v, '\0', len) || !utf8_valid(v, len) ||
		    utf8_length(v, len) > 255) {
			response_fail(res, API_INVALID_PARAMETER, "eid",
				      "eid must be 1 to 255 characters");
			return false;
		}
		ls->kind = LISTING_EID;
		ls->eid = xmalloc(len + 1);
		memcpy(ls->eid, v, len);
		ls->eid[len] = '\0';
		/* An eid may be longer than a key should be: its hash names it. */
		hash_hex(v, len, hex);
		snprintf(ls->what, sizeof(ls->what), "i:%d:%lld:%d:%s", ls->include_all,
			 (long long)ls->page.offset, ls->page.limit, hex);
	} else {
		if (len >= sizeof(ls->since_raw) ||
		    timefmt_parse_iso(v, len, ls->since) < 0) {
			response_fail(res, API_INVALID_PARAMETER, "updated_since",
				      "updated_since must be an ISO 8601 time, e.g. 2024-05-01T12:00:00Z");
			return false;
		}
		memcpy(ls->since_raw, v, len);
		ls->since_raw[len] = '\0';
		ls->kind = LISTING_SINCE;
		snprintf(ls->what, sizeof(ls->what), "u:%d:%lld:%d:%s", ls->include_all,
			 (long long)ls->page.offset, ls->page.limit, ls->since);
	}
	return true;
}

bool listing_params(const struct request *req, const char *list_id,
		    struct listing *ls, struct response *res)
{
	struct query q;
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
	if (list_id)
		snprintf(ls->what, sizeof(ls->what), "l:%s:%d:%lld:%d", list_id,
			 ls->include_all, (long long)ls->page.offset, ls->page.limit);
	else
		snprintf(ls->what, sizeof(ls->what), "p:%d:%lld:%d", ls->include_all,
			 (long long)ls->page.offset, ls->page.limit);
	if (!list_id && !read_filter(&q, ls, res))
		goto out;
	ok = true;
out:
	query_cleanup(&q);
	return ok;
}

void listing_cleanup(struct listing *ls)
{
	free(ls->email_key);
	free(ls->eid);
	ls->email_key = NULL;
	ls->eid = NULL;
}

/* A query value, percent-encoded (RFC 3986: all but the unreserved). */
static void put_query_value(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			buf_putc(b, (char)*p);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[*p >> 4]);
			buf_putc(b, hex[*p & 15]);
		}
	}
}

static void link_next(struct response *res, const struct listing *ls)
{
	struct buf filter;

	buf_init(&filter);
	if (ls->kind == LISTING_EID) {
		buf_puts(&filter, "&eid=");
		put_query_value(&filter, ls->eid);
	} else if (ls->kind == LISTING_SINCE) {
		buf_puts(&filter, "&updated_since=");
		put_query_value(&filter, ls->since_raw);
	}
	response_header(res, "Link", "<%s%s/contacts?offset=%lld&limit=%d%s%s>; rel=\"next\"",
			ls->list_id ? "/lists/" : "", ls->list_id ? ls->list_id : "",
			(long long)(ls->page.offset + ls->page.limit), ls->page.limit,
			ls->include_all ? "&includeAll=true" : "",
			filter.data ? filter.data : "");
	buf_cleanup(&filter);
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
	switch (ls->kind) {
	case LISTING_EMAIL:
		return store_contact_by_email(app->store, org, ls->email_key,
					      ls->include_all, rows);
	case LISTING_EID:
		return store_contacts_by_eid(app->store, org, ls->eid, ls->page.offset,
					     ls->page.limit, ls->include_all, rows);
	case LISTING_SINCE:
		return store_contacts_updated_since(app->store, org, ls->since,
						    ls->page.offset, ls->page.limit,
						    ls->include_all, rows);
	case LISTING_PAGE:
		break;
	}
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

/* The counters an answer depends on that its key names (deps.h). */
static void fixed_deps(const struct listing *ls, struct deps *d)
{
	deps_init(d);
	deps_everything(d);
	if (ls->list_id)
		deps_list(d, ls->list_id);
	else if (ls->kind == LISTING_EMAIL)
		deps_email(d, ls->email_key, strlen(ls->email_key));
	else if (ls->kind != LISTING_PAGE)
		deps_any_contact(d); /* eid, updated_since: any contact write */
}

/* Parts of blocks (deps.h) a page may span and still name them one by
 * one: a page of 1000 with a third of its span deleted. */
#define PAGE_PARTS_MAX 24

/* The counters a page of contacts depends on, found from its rows: the
 * parts of blocks they lie in; for the live listing the liveness of every block up
 * to the last; a page that is not full reaches the end of the listing,
 * so the tail too (docs/caching.md). */
static void page_deps(const struct listing *ls, const struct store_rows *rows,
		      struct deps *d)
{
	size_t n = store_rows_count(rows);
	bool full = n == (size_t)ls->page.limit;
	int64_t first = n ? store_rows_pos(rows, 0) >> DEPS_PART_SHIFT : 0;
	int64_t last = n ? store_rows_pos(rows, n - 1) >> DEPS_PART_SHIFT : -1;

	if (last - first + 1 > PAGE_PARTS_MAX)
		deps_any_contact(d);
	else
		for (int64_t b = first; b <= last; b++)
			deps_block(d, b << DEPS_PART_SHIFT);
	if (!full)
		deps_tail(d);
	if (!ls->include_all)
		deps_live_prefix(d, full ? store_rows_pos(rows, n - 1) : -1);
}

/* Reads from PostgreSQL and encodes the entry (body + flag byte) into
 * out; adds the counters found from the rows to deps. */
static enum store_status load(struct app *app, const struct principal *who,
			      const struct listing *ls, bool *found, struct buf *out,
			      struct deps *deps)
{
	struct store_rows *rows;
	enum store_status st = load_rows(app, who, ls, found, &rows);
	size_t n;

	if (st != STORE_OK || !*found)
		return st;
	if (ls->kind == LISTING_PAGE && !ls->list_id)
		page_deps(ls, rows, deps);
	n = store_rows_count(rows);
	encode_contacts(out, rows);
	buf_reserve(out, ETAG_LEN + 1);
	etag_of(out->data, out->len, out->data + out->len);
	out->len += ETAG_LEN;
	buf_putc(out, ls->kind != LISTING_EMAIL && n == (size_t)ls->page.limit
			      ? ENTRY_FULL
			      : ENTRY_PARTIAL);
	store_rows_free(rows);
	return STORE_OK;
}

/* An entry we wrote ends with its tag and flag; anything else is treated
 * as a miss. */
static bool entry_valid(const struct buf *entry)
{
	if (entry->len <= ETAG_LEN + 1)
		return false;
	for (size_t i = entry->len - 1 - ETAG_LEN; i < entry->len - 1; i++)
		if (!((entry->data[i] >= '0' && entry->data[i] <= '9') ||
		      (entry->data[i] >= 'a' && entry->data[i] <= 'f')))
			return false;
	return entry->data[entry->len - 1] == ENTRY_FULL ||
	       entry->data[entry->len - 1] == ENTRY_PARTIAL;
}

void listing_serve(struct app *app, const struct request *req,
		   const struct principal *who, const struct listing *ls,
		   struct response *res)
{
	struct cache_ticket ticket;
	struct deps deps;
	struct buf *entry = &res->body;
	enum store_status st;
	bool found;
	/* A write of the organization whose outcome was lost, not settled
	 * yet: the cache may hide it (writes.h). */
	bool cached = !writes_in_doubt(app, who->key.org_id);

	/* The entry is built in the body buffer; its flag byte is cut off
	 * before sending. */
	buf_reset(entry);
	fixed_deps(ls, &deps);
	if (!cached ||
	    cache_get(app->cache, who->key.org_id, who->key.cache_epoch, ls->what,
		      &deps, entry, &ticket) != CACHE_HIT || !entry_valid(entry)) {
		buf_reset(entry);
		st = load(app, who, ls, &found, entry, &deps);
		if (st != STORE_OK) {
			respond_store_failure(app, req, res, st);
			return;
		}
		if (!found) {
			response_fail(res, API_NOT_FOUND, NULL, "no such list");
			return;
		}
		if (cached)
			cache_put(app->cache, who->key.org_id, who->key.cache_epoch,
				  ls->what, &ticket, &deps, entry->data, entry->len);
	}
	if (entry->data[entry->len - 1] == ENTRY_FULL)
		link_next(res, ls);
	entry->len -= ETAG_LEN + 1;
	memcpy(res->etag, entry->data + entry->len, ETAG_LEN);
	res->etag[ETAG_LEN] = '\0';
	entry->data[entry->len] = '\0';
	response_json(res, 200);
}
