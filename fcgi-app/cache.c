/* cache.c - Redis through hiredis: keys, generations, fallbacks. */
#include "cache.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hostport.h"
#include "log.h"
#include "resp.h"

#define BACKOFF_MIN_MS 100
/* One read of a reply: hiredis reads 16 KiB at a time, which makes a page
 * of 1000 contacts (~300 KB) about twenty reads, and copies it twice. */
#define READ_CHUNK (256 * 1024)
#define BACKOFF_MAX_MS 2000
#define HINT_SLOTS 256
/* How often a connected worker asks the master again whether it still is
 * the master, with the same replication id (docs/caching.md, "Redis
 * failover"). */
#define MASTER_CHECK_MS 1000
/* The part of the master's replication id that entry keys carry: 64 bits,
 * so that two masters' ids never share it in practice. */
#define RID_LEN CACHE_RID_LEN

struct cache {
	char *host; /* the master: the setting, or what a sentinel said */
	int port;
	struct hostport *sentinels;
	int nsentinels;
	int sentinel_at; /* the one that answered last */
	char *master_name;
	char rid[RID_LEN + 1]; /* the connected master's replication id */
	int64_t check_at_ms;
	int timeout_ms;
	int ttl_s;
	redisContext *ctx;
	int64_t retry_at_ms;
	int backoff_ms;
	struct cache_stats stats;
	struct buf scratch; /* commands, headers, small replies */
	/* The counters entries were last found to depend on, by key: a hint
	 * only (a wrong one costs a second round trip), so that a page's
	 * blocks are read in the first one. */
	struct hint {
		uint32_t key;
		struct deps names;
	} hints[HINT_SLOTS];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cache *cache_new(const struct cache_settings *s)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	struct hostport hp[HOSTPORT_LIST_MAX];
	int n;

	c->timeout_ms = s->timeout_ms;
	c->ttl_s = s->ttl_s;
	/* config.c checked both forms: a failure here means no cache */
	if (s->sentinels && *s->sentinels) {
		n = hostport_list(s->sentinels, hp, HOSTPORT_LIST_MAX);
		if (n > 0) {
			c->sentinels = xmalloc((size_t)n * sizeof(*hp));
			memcpy(c->sentinels, hp, (size_t)n * sizeof(*hp));
			c->nsentinels = n;
			c->master_name = xstrdup(s->master_name ? s->master_name : "contacts");
		}
	} else if (s->addr && *s->addr &&
		   hostport_parse(s->addr, strlen(s->addr), hp) == 0) {
		c->host = xstrdup(hp[0].host);
		c->port = hp[0].port;
	}
	if (!cache_configured(c) && ((s->addr && *s->addr) || (s->sentinels && *s->sentinels)))
		log_error("msg=\"redis address must be host:port, running without a cache\"");
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	if (c->ctx)
		redisFree(c->ctx);
	buf_cleanup(&c->scratch);
	free(c->host);
	free(c->sentinels);
	free(c->master_name);
	free(c);
}

bool cache_configured(const struct cache *c)
{
	return c->host != NULL || c->nsentinels > 0;
}

const struct cache_stats *cache_stats(const struct cache *c)
{
	return &c->stats;
}

static void backoff(struct cache *c);

static void fail(struct cache *c, const char *what)
{
	if (c->ctx) {
		log_warn("msg=\"redis command failed\" command=%s error=%s", LOGQ(what),
			 LOGQ(c->ctx->errstr[0] ? c->ctx->errstr : "unexpected reply"));
		redisFree(c->ctx);
		c->ctx = NULL;
	}
	backoff(c);
}

static void backoff(struct cache *c)
{
	c->stats.errors++;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	c->retry_at_ms = now_ms() + c->backoff_ms;
}

static redisContext *connect_to(const char *host, int port, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	redisContext *ctx = redisConnectWithTimeout(host, port, tv);

	if (ctx && !ctx->err && redisSetTimeout(ctx, tv) == REDIS_OK)
		return ctx;
	if (ctx)
		redisFree(ctx);
	return NULL;
}

/* Asks the sentinels, from the one that answered last, where the master
 * is; c->host and c->port become it.  0, or -1 when none knows. */
static int locate_master(struct cache *c)
{
	for (int k = 0; k < c->nsentinels; k++) {
		int i = (c->sentinel_at + k) % c->nsentinels;
		redisContext *sc = connect_to(c->sentinels[i].host, c->sentinels[i].port,
					      c->timeout_ms);
		redisReply *r;
		struct hostport hp;
		char addr[HOSTPORT_HOST_MAX + 16];
		bool ok = false;

		if (!sc)
			continue;
		r = redisCommand(sc, "SENTINEL get-master-addr-by-name %s", c->master_name);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    r->element[0]->len + r->element[1]->len + 2 < sizeof(addr)) {
			int len = snprintf(addr, sizeof(addr), "%s:%s", r->element[0]->str,
					   r->element[1]->str);

			ok = hostport_parse(addr, (size_t)len, &hp) == 0;
		}
		if (r)
			freeReplyObject(r);
		redisFree(sc);
		if (!ok)
			continue;
		c->sentinel_at = i;
		if (!c->host || strcmp(c->host, hp.host) != 0 || c->port != hp.port) {
			free(c->host);
			c->host = xstrdup(hp.host);
			c->port = hp.port;
			log_info("msg=\"redis master from the sentinels\" master=%s:%d",
				 LOGQ(c->host), c->port);
		}
		return 0;
	}
	log_warn("msg=\"no redis sentinel names the master\" master_name=%s",
		 LOGQ(c->master_name));
	return -1;
}

/* Asks the connected server whether it is a master, and its replication
 * id, which entry keys carry: a promoted replica takes a new one, so that
 * nothing written under the old master is read under the new one
 * (docs/caching.md, "Redis failover").  0, or -1 (errstr says why). */
static int check_master(struct cache *c)
{
	redisReply *r = redisCommand(c->ctx, "INFO replication");
	const char *role, *id;
	int rc = -1;

	if (!r || r->type != REDIS_REPLY_STRING) {
		if (!c->ctx->errstr[0])
			snprintf(c->ctx->errstr, sizeof(c->ctx->errstr), "INFO replication");
		goto out;
	}
	role = strstr(r->str, "role:");
	id = strstr(r->str, "master_replid:");
	if (!role || strncmp(role + 5, "master\r", 7) != 0) {
		snprintf(c->ctx->errstr, sizeof(c->ctx->errstr), "the server is not a master");
		goto out;
	}
	if (!id || strspn(id + 14, "0123456789abcdef") < RID_LEN) {
		snprintf(c->ctx->errstr, sizeof(c->ctx->errstr), "no replication id");
		goto out;
	}
	if (c->rid[0] && memcmp(c->rid, id + 14, RID_LEN) != 0)
		log_info("msg=\"redis master changed: its entries are new\"");
	memcpy(c->rid, id + 14, RID_LEN);
	c->rid[RID_LEN] = '\0';
	c->check_at_ms = now_ms() + MASTER_CHECK_MS;
	rc = 0;
out:
	if (r)
		freeReplyObject(r);
	return rc;
}

/* Connected to the master and ready, or false (backing off or failed
 * now). */
static bool ready(struct cache *c)
{
	char was[RID_LEN + 1];

	if (!cache_configured(c))
		return false;
	if (c->ctx) {
		if (now_ms() < c->check_at_ms)
			return true;
		memcpy(was, c->rid, sizeof(was));
		if (check_master(c) == 0 && memcmp(was, c->rid, sizeof(was)) == 0)
			return true;
		/* demoted, or replaced: find the master again */
		fail(c, "master check");
		c->retry_at_ms = 0;
		c->backoff_ms = 0;
	}
	if (now_ms() < c->retry_at_ms)
		return false;
	if (c->nsentinels > 0 && locate_master(c) < 0) {
		backoff(c);
		return false;
	}
	c->ctx = connect_to(c->host, c->port, c->timeout_ms);
	if (!c->ctx) {
		backoff(c);
		return false;
	}
	if (check_master(c) < 0) {
		fail(c, "master check");
		return false;
	}
	c->backoff_ms = 0;
	log_info("msg=\"connected to redis\"");
	return true;
}

/* Writes all of iov to the socket.  -1 on failure (errstr says why). */
static int send_all(struct cache *c, struct iovec *iov, int n)
{
	if (buf_writev_all(c->ctx->fd, iov, n) == 0)
		return 0;
	snprintf(c->ctx->errstr, sizeof(c->ctx->errstr), "%s", strerror(errno));
	return -1;
}

/* Reads nreplies replies into in (after in->len, which is put back), each
 * parsed into stride values at v + k * stride, offsets made relative to
 * in->data.  The context is used only for its socket: nothing is left
 * pending in hiredis's reader.  -1 on failure. */
static int read_replies(struct cache *c, struct buf *in, int nreplies,
			struct resp_value *v, size_t stride)
{
	redisContext *ctx = c->ctx;
	size_t base = in->len;

	for (;;) {
		size_t at = base;
		int k;
		enum resp_status st = RESP_OK;
		ssize_t n;

		for (k = 0; k < nreplies; k++) {
			size_t used;
			struct resp_value *r = v + (size_t)k * stride;

			st = resp_parse(in->data ? in->data + at : "", in->len - at, r,
					stride, &used);
			if (st != RESP_OK)
				break;
			for (size_t e = 0; e < (r->type == RESP_ARRAY ? r->len + 1 : 1); e++)
				r[e].off += at;
			at += used;
		}
		if (k == nreplies) {
			in->len = base;
			return 0;
		}
		if (st == RESP_BAD) {
			snprintf(ctx->errstr, sizeof(ctx->errstr), "unexpected reply");
			in->len = base;
			return -1;
		}
		buf_reserve(in, READ_CHUNK);
		/* SO_RCVTIMEO (redis_timeout_ms) bounds the wait */
		n = read(ctx->fd, in->data + in->len, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(ctx->errstr, sizeof(ctx->errstr), "%s",
				 n == 0 ? "connection closed" : strerror(errno));
			in->len = base;
			return -1;
		}
		in->len += (size_t)n;
	}
}

/* Appends one command in RESP to b: argc arguments. */
static void put_command(struct buf *b, int argc, const char *const *argv)
{
	buf_printf(b, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		buf_printf(b, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

/* "HMGET g2:<org> <names...>" appended to b. */
static void put_hmget(struct buf *b, const char *hkey, const struct deps *d,
		      const bool *skip)
{
	int n = 0;

	for (int i = 0; i < d->n; i++)
		n += !(skip && skip[i]);
	buf_printf(b, "*%d\r\n$5\r\nHMGET\r\n$%zu\r\n%s\r\n", n + 2, strlen(hkey), hkey);
	for (int i = 0; i < d->n; i++)
		if (!(skip && skip[i]))
			buf_printf(b, "$%zu\r\n%s\r\n", strlen(d->name[i]), d->name[i]);
}

static void hash_key(char *out, size_t n, const char *org)
{
	snprintf(out, n, "g2:%s", org);
}

/* "c7": the seventh layout of the entries: a header naming the counters
 * the entry depends on with the values it was read under, then what the
 * caller stored (see cache.h); c6 named email buckets m<n> of 65536 where
 * c5 named e<n> of 4096, and c7 adds the master's replication id (after
 * ready()).  A new layout takes a new name so that a deploy never reads
 * entries written by old code. */
static void entry_key(const struct cache *c, char *out, size_t n, const char *org,
		      int64_t epoch, const char *what)
{
	snprintf(out, n, "c7:%s:%s:%lld:%s", org, c->rid, (long long)epoch, what);
}

static struct hint *hint_slot(struct cache *c, const char *ekey, uint32_t *h)
{
	*h = deps_hash(ekey, strlen(ekey));
	return &c->hints[*h % HINT_SLOTS];
}

/* What the hint says the entry of ekey depends on, added to d. */
static void hint_get(struct cache *c, const char *ekey, struct deps *d)
{
	uint32_t h;
	const struct hint *slot = hint_slot(c, ekey, &h);

	if (slot->key == h && slot->names.n > 0)
		deps_merge(d, &slot->names);
}

static void hint_set(struct cache *c, const char *ekey, const struct deps *d)
{
	uint32_t h;
	struct hint *slot = hint_slot(c, ekey, &h);

	slot->key = h;
	slot->names = *d;
}

/* Adds a counter's value, as Redis answered it, to the ticket. */
static int ticket_add(struct cache_ticket *t, const char *name,
		      const struct buf *in, const struct resp_value *v)
{
	if (t->n == CACHE_TICKET_MAX)
		return -1;
	if (v->type == RESP_NIL) {
		strcpy(t->gen[t->n], "0"); /* never bumped */
	} else if (v->type == RESP_BULK && v->len > 0 && v->len < sizeof(t->gen[0])) {
		memcpy(t->gen[t->n], in->data + v->off, v->len);
		t->gen[t->n][v->len] = '\0';
	} else {
		return -1;
	}
	snprintf(t->name[t->n], sizeof(t->name[0]), "%s", name);
	t->n++;
	return 0;
}

static const char *ticket_gen(const struct cache_ticket *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->name[i], name) == 0)
			return t->gen[i];
	return NULL;
}

/* An entry's header: "#name=value,name=value\n", value a number or "?"
 * (not known when it was stored: never a hit).  Parsed into names and
 * values; the payload's offset in *payload.  -1: not a header we wrote. */
struct header {
	struct deps names;
	char gen[DEPS_MAX][24];
};

static int parse_header(const char *p, size_t len, struct header *h, size_t *payload)
{
	size_t i = 1;

	deps_init(&h->names);
	if (len < 2 || p[0] != '#')
		return -1;
	while (i < len && p[i] != '\n') {
		char name[DEPS_NAME_MAX];
		size_t a = i, k;

		while (i < len && p[i] != '=' && i - a < DEPS_NAME_MAX - 1)
			i++;
		if (i >= len || p[i] != '=' || i == a)
			return -1;
		memcpy(name, p + a, i - a);
		name[i - a] = '\0';
		a = ++i;
		while (i < len && p[i] != ',' && p[i] != '\n' && i - a < sizeof(h->gen[0]) - 1)
			i++;
		if (i >= len || i == a || (p[i] != ',' && p[i] != '\n'))
			return -1;
		k = (size_t)h->names.n;
		deps_add(&h->names, name);
		if (h->names.overflow || (size_t)h->names.n == k)
			return -1;
		memcpy(h->gen[k], p + a, i - a);
		h->gen[k][i - a] = '\0';
		if (p[i] == ',')
			i++;
	}
	if (i >= len)
		return -1;
	*payload = i + 1;
	return 0;
}

enum cache_result cache_get(struct cache *c, const char *org, int64_t epoch,
			    const char *what, const struct deps *fixed,
			    struct buf *out, struct cache_ticket *ticket)
{
	char hkey[64], ekey[CACHE_KEY_MAX];
	const char *argv[2] = {"GET", ekey};
	struct resp_value v[2][CACHE_TICKET_MAX + 1], *e = &v[1][0];
	struct header h;
	struct deps ask;
	struct iovec iov;
	size_t base = out->len, payload = 0;
	bool match = true, have_all = true, skip[DEPS_MAX];
	struct buf *cmd = &c->scratch;

	ticket->valid = false;
	ticket->n = 0;
	if (!ready(c))
		return CACHE_OFF;
	hash_key(hkey, sizeof(hkey), org);
	entry_key(c, ekey, sizeof(ekey), org, epoch, what);
	/* One round trip: the counters named by the key and those the entry
	 * was last found to depend on, and the entry. */
	ask = *fixed;
	hint_get(c, ekey, &ask);
	if (ask.overflow)
		ask = *fixed;
	buf_reset(cmd);
	put_hmget(cmd, hkey, &ask, NULL);
	put_command(cmd, 2, argv);
	iov.iov_base = cmd->data;
	iov.iov_len = cmd->len;
	if (send_all(c, &iov, 1) < 0 || read_replies(c, out, 2, &v[0][0], CACHE_TICKET_MAX + 1) < 0 ||
	    v[0][0].type != RESP_ARRAY || v[0][0].len != (size_t)ask.n ||
	    (e->type != RESP_BULK && e->type != RESP_NIL))
		goto fail;
	for (int i = 0; i < ask.n; i++)
		if (ticket_add(ticket, ask.name[i], out, &v[0][i + 1]) < 0)
			goto fail;
	memcpy(ticket->rid, c->rid, sizeof(ticket->rid));
	ticket->valid = true;
	if (e->type == RESP_NIL ||
	    parse_header(out->data + e->off, e->len, &h, &payload) < 0)
		goto miss;
	hint_set(c, ekey, &h.names);
	/* The counters the entry found it depends on once read: a second
	 * round trip, for those the key did not name. */
	for (int i = 0; i < h.names.n; i++) {
		skip[i] = ticket_gen(ticket, h.names.name[i]) != NULL;
		have_all = have_all && skip[i];
	}
	if (!have_all) {
		struct resp_value r[CACHE_TICKET_MAX + 1];
		int k = 0;

		buf_reset(cmd);
		put_hmget(cmd, hkey, &h.names, skip);
		iov.iov_base = cmd->data;
		iov.iov_len = cmd->len;
		/* Read after the entry, which stays where it is. */
		out->len = e->off + e->len;
		if (send_all(c, &iov, 1) < 0 ||
		    read_replies(c, out, 1, r, CACHE_TICKET_MAX + 1) < 0 ||
		    r[0].type != RESP_ARRAY) {
			out->len = base;
			goto fail;
		}
		for (int i = 0; i < h.names.n; i++)
			if (!skip[i] && ((size_t)k >= r[0].len ||
					 ticket_add(ticket, h.names.name[i], out, &r[++k]) < 0)) {
				out->len = base;
				goto fail;
			}
		out->len = base;
	}
	for (int i = 0; i < h.names.n && match; i++)
		match = strcmp(h.gen[i], ticket_gen(ticket, h.names.name[i])) == 0;
	if (!match || payload >= e->len)
		goto miss;
	/* A hit: the payload moves down to where out ended. */
	memmove(out->data + base, out->data + e->off + payload, e->len - payload);
	out->len = base + e->len - payload;
	out->data[out->len] = '\0';
	c->stats.hits++;
	return CACHE_HIT;
miss:
	out->len = base;
	if (out->data)
		out->data[base] = '\0';
	c->stats.misses++;
	return CACHE_MISS;
fail:
	ticket->valid = false;
	out->len = base;
	if (out->data)
		out->data[base] = '\0';
	fail(c, "get");
	return CACHE_ERROR;
}

void cache_put(struct cache *c, const char *org, int64_t epoch,
	       const char *what, const struct cache_ticket *ticket,
	       const struct deps *deps, const char *data, size_t len)
{
	char ekey[CACHE_KEY_MAX], pre[CACHE_KEY_MAX + 64], post[64];
	struct buf *hdr = &c->scratch;
	struct resp_value r;
	struct iovec iov[4];
	bool known = true;

	if (!ticket->valid || !ready(c) || strcmp(ticket->rid, c->rid) != 0)
		return;
	entry_key(c, ekey, sizeof(ekey), org, epoch, what);
	/* The header: the counters as read before the read of PostgreSQL.
	 * One that was not read then is "?", and the entry is stored
	 * without its bytes: it only tells the next reader which counters
	 * to read. */
	buf_reset(hdr);
	buf_putc(hdr, '#');
	for (int i = 0; i < deps->n; i++) {
		const char *g = ticket_gen(ticket, deps->name[i]);

		known = known && g;
		buf_printf(hdr, "%s%s=%s", i ? "," : "", deps->name[i], g ? g : "?");
	}
	buf_putc(hdr, '\n');
	if (!known || deps->overflow)
		len = 0;
	hint_set(c, ekey, deps);
	/* SET <key> <header + bytes> EX <ttl>, written without copying the
	 * bytes. */
	snprintf(pre, sizeof(pre), "*5\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n",
		 strlen(ekey), ekey, hdr->len + len);
	snprintf(post, sizeof(post), "\r\n$2\r\nEX\r\n$%d\r\n%d\r\n",
		 snprintf(NULL, 0, "%d", c->ttl_s), c->ttl_s);
	iov[0] = (struct iovec){pre, strlen(pre)};
	iov[1] = (struct iovec){hdr->data, hdr->len};
	iov[2] = (struct iovec){(char *)data, len};
	iov[3] = (struct iovec){post, strlen(post)};
	if (send_all(c, iov, 4) < 0)
		goto fail;
	buf_reset(hdr);
	if (read_replies(c, hdr, 1, &r, 1) < 0 || r.type != RESP_STATUS)
		goto fail;
	return;
fail:
	fail(c, "set");
}

int cache_retire(struct cache *c, const char *org, const struct deps *d)
{
	static const struct deps everything = {.n = 1, .name = {"o"}};
	struct resp_value r[DEPS_MAX];
	char hkey[64];
	struct buf *cmd = &c->scratch;
	struct iovec iov;

	if (d->overflow || d->n == 0)
		d = &everything;
	if (!ready(c))
		return -1;
	hash_key(hkey, sizeof(hkey), org);
	/* One round trip: an HINCRBY a counter, pipelined. */
	buf_reset(cmd);
	for (int i = 0; i < d->n; i++) {
		const char *argv[4] = {"HINCRBY", hkey, d->name[i], "1"};

		put_command(cmd, 4, argv);
	}
	iov.iov_base = cmd->data;
	iov.iov_len = cmd->len;
	if (send_all(c, &iov, 1) < 0)
		goto fail;
	buf_reset(cmd);
	if (read_replies(c, cmd, d->n, r, 1) < 0)
		goto fail;
	for (int i = 0; i < d->n; i++)
		if (r[i].type != RESP_INT)
			goto fail;
	return 0;
fail:
	fail(c, "retire");
	return -1;
}

/* Keys per SCAN step: small steps keep each call within the timeout. */
#define PURGE_STEP 1000

int cache_purge(struct cache *c, const char *org)
{
	char pattern[64], cursor[32] = "0";
	redisReply *r;

	if (!ready(c))
		return -1;
	/* every layout's entries, c7 and older: an erasure after an upgrade
	 * leaves nothing either */
	snprintf(pattern, sizeof(pattern), "c[0-9]:%s:*", org);
	do {
		redisReply *keys;

		r = redisCommand(c->ctx, "SCAN %s MATCH %s COUNT %d", cursor, pattern,
				 PURGE_STEP);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY ||
		    r->element[0]->len >= sizeof(cursor))
			goto fail;
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		keys = r->element[1];
		if (keys->elements > 0) {
			const char **argv = xmalloc((keys->elements + 1) * sizeof(*argv));
			size_t *lens = xmalloc((keys->elements + 1) * sizeof(*lens));
			redisReply *d;

			argv[0] = "UNLINK";
			lens[0] = 6;
			for (size_t i = 0; i < keys->elements; i++) {
				argv[i + 1] = keys->element[i]->str;
				lens[i + 1] = keys->element[i]->len;
			}
			d = redisCommandArgv(c->ctx, (int)keys->elements + 1, argv, lens);
			free(argv);
			free(lens);
			if (!d || d->type != REDIS_REPLY_INTEGER) {
				if (d)
					freeReplyObject(d);
				goto fail;
			}
			freeReplyObject(d);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
fail:
	if (r)
		freeReplyObject(r);
	fail(c, "purge");
	return -1;
}

int cache_ping(struct cache *c)
{
	redisReply *r;
	int ok;

	if (!ready(c))
		return -1;
	r = redisCommand(c->ctx, "PING");
	ok = r && r->type == REDIS_REPLY_STATUS;
	if (r)
		freeReplyObject(r);
	if (!ok) {
		fail(c, "ping");
		return -1;
	}
	return 0;
}

/* The generic cell rate algorithm of ratelimit.c, in Redis, on Redis's
 * clock (one clock for every host; microseconds since the epoch fit a
 * Lua number exactly).  KEYS[1] the name's key; ARGV: interval and
 * tolerance in microseconds, and the mode (0 take, 1 charge).
 * Returns {conforms, retry_us, ahead_us}: ahead is how far the name's
 * theoretical arrival time is past now, after the event.  The key expires
 * when its time has passed: an idle name costs nothing. */
static const char GCRA_LUA[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local interval = tonumber(ARGV[1])\n"
	"local tolerance = tonumber(ARGV[2])\n"
	"local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
	"if tat < now then tat = now end\n"
	"local ok = tat - now <= tolerance\n"
	"local retry = 0\n"
	"if not ok then retry = tat - now - tolerance end\n"
	"if ok or ARGV[3] == '1' then\n"
	"  tat = tat + interval\n"
	"  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX',\n"
	"             math.floor((tat - now) / 1000) + 1000)\n"
	"end\n"
	"return {ok and 1 or 0, retry, tat - now}\n";

int cache_gcra(struct cache *c, const char *name, size_t len, uint64_t interval_us,
	       uint64_t tolerance_us, enum cache_gcra_mode mode, struct cache_gcra *out)
{
	char key[CACHE_KEY_MAX], iv[24], tol[24], md[4];
	const char *argv[7];
	size_t lens[7];
	redisReply *r;
	bool ok;
	int klen;

	if (!ready(c))
		return -1;
	klen = snprintf(key, sizeof(key), "rl:%.*s", (int)len, name);
	if (klen < 0 || (size_t)klen >= sizeof(key))
		return -1;
	snprintf(iv, sizeof(iv), "%llu", (unsigned long long)interval_us);
	snprintf(tol, sizeof(tol), "%llu", (unsigned long long)tolerance_us);
	snprintf(md, sizeof(md), "%d", (int)mode);
	argv[0] = "EVAL";
	argv[1] = GCRA_LUA;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = iv;
	argv[5] = tol;
	argv[6] = md;
	for (int i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	/* EVAL, not EVALSHA: Redis keeps the compiled script by its digest,
	 * so only the text travels again (about 600 bytes), and nothing
	 * depends on a script cache a failover or a restart has emptied. */
	r = redisCommandArgv(c->ctx, 7, argv, lens);
	ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	     r->element[0]->type == REDIS_REPLY_INTEGER &&
	     r->element[1]->type == REDIS_REPLY_INTEGER &&
	     r->element[2]->type == REDIS_REPLY_INTEGER;
	if (ok) {
		out->conforms = r->element[0]->integer == 1;
		out->retry_us = r->element[1]->integer > 0 ? (uint64_t)r->element[1]->integer : 0;
		out->ahead_us = r->element[2]->integer > 0 ? (uint64_t)r->element[2]->integer : 0;
	}
	if (r)
		freeReplyObject(r);
	if (!ok) {
		fail(c, "rate");
		return -1;
	}
	return 0;
}
