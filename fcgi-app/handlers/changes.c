/* changes.c - GET /contacts/changes: the change feed (docs/feed.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "handlers.h"

#define FEED_DEFAULT_LIMIT 1000

/* A cursor: "<xid>.<seq>", both decimal (opaque to clients). */
struct cursor {
	char xid[24];
	char seq[24];
};

/* Parses one decimal part of at most max; false when it is not one. */
static bool decimal(const char *s, size_t len, unsigned long long max, char *out,
		    size_t outlen)
{
	unsigned long long v;
	char tmp[24];

	if (len == 0 || len >= sizeof(tmp) || len >= outlen)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtoull(tmp, NULL, 10);
	if (errno || v > max)
		return false;
	snprintf(out, outlen, "%llu", v);
	return true;
}

static bool parse_cursor(const char *s, size_t len, struct cursor *c)
{
	const char *dot = memchr(s, '.', len);

	return dot &&
	       decimal(s, (size_t)(dot - s), UINT64_MAX, c->xid, sizeof(c->xid)) &&
	       decimal(dot + 1, len - (size_t)(dot - s) - 1, INT64_MAX, c->seq,
		       sizeof(c->seq));
}

static void put_change(struct buf *out, const struct change *ch)
{
	buf_printf(out, "{\"cursor\":\"%s.%lld\",\"op\":\"%s\",\"id\":", ch->xid,
		   (long long)ch->seq, ch->op);
	json_put_nullable(out, ch->id);
	buf_puts(out, ",\"at\":");
	codec_time(out, ch->at);
	buf_puts(out, ",\"contact\":");
	if (ch->has_contact)
		codec_contact(out, &ch->contact);
	else
		buf_puts(out, "null");
	buf_putc(out, '}');
}

void handle_changes_get(struct app *app, const struct request *req,
			const struct principal *who, struct response *res)
{
	struct query q;
	struct cursor after = {"0", "0"};
	struct store_rows *rows = NULL;
	struct change ch = {0};
	const char *v;
	size_t len, n;
	int64_t limit;
	bool given = false, expired = false;
	enum store_status st;

	if (!parse_query(req, &q, res))
		return;
	switch (query_get_str(&q, "after", &v, &len)) {
	case QUERY_OK:
		if (!parse_cursor(v, len, &after)) {
			response_fail(res, API_INVALID_PARAMETER, "after",
				      "after must be a cursor this feed gave (\"cursor\" or \"next\")");
			goto out;
		}
		given = true;
		break;
	case QUERY_ABSENT:
		break;
	case QUERY_INVALID:
		response_fail(res, API_INVALID_PARAMETER, "after", "after must be given once");
		goto out;
	}
	if (query_get_int(&q, "limit", 1, 1000, FEED_DEFAULT_LIMIT, &limit) == QUERY_INVALID) {
		response_fail(res, API_INVALID_PARAMETER, "limit",
			      "limit must be an integer from 1 to 1000, given once");
		goto out;
	}
	st = store_changes_page(app->store, who->key.org_id, after.xid, after.seq,
				(int)limit, &rows);
	/* After the read: a sweep that removed entries past the cursor
	 * before it moved the horizon first (docs/feed.md). */
	if (st == STORE_OK && given)
		st = store_feed_expired(app->store, who->key.org_id, after.xid,
					after.seq, &expired);
	if (st != STORE_OK) {
		respond_store_failure(app, req, res, st);
		goto out;
	}
	if (expired) {
		response_fail(res, API_CURSOR_EXPIRED, "after",
			      "that cursor is older than what the feed keeps (30 days): resync with GET /contacts, then follow the feed from its start");
		goto out;
	}
	n = store_rows_count(rows);
	buf_puts(&res->body, "{\"changes\":[");
	for (size_t i = 0; i < n; i++) {
		store_rows_change(rows, i, &ch);
		if (i)
			buf_putc(&res->body, ',');
		put_change(&res->body, &ch);
	}
	if (n)
		buf_printf(&res->body, "],\"next\":\"%s.%lld\"}", ch.xid, (long long)ch.seq);
	else
		buf_printf(&res->body, "],\"next\":\"%s.%s\"}", after.xid, after.seq);
	response_json(res, 200);
out:
	store_rows_free(rows);
	query_cleanup(&q);
}
