/* cache.c - Redis through hiredis: keys, generations, fallbacks. */
#include "cache.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define BACKOFF_MIN_MS 100
/* One read of a reply: hiredis reads 16 KiB at a time, which makes a page
 * of 1000 contacts (~300 KB) about twenty reads, and copies it twice. */
#define READ_CHUNK (256 * 1024)
#define BACKOFF_MAX_MS 2000

struct cache {
	char *host;
	int port;
	int timeout_ms;
	int ttl_s;
	redisContext *ctx;
	int64_t retry_at_ms;
	int backoff_ms;
	struct cache_stats stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct cache *cache_new(const char *addr, int timeout_ms, int ttl_s)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	const char *colon = addr ? strrchr(addr, ':') : NULL;

	c->timeout_ms = timeout_ms;
	c->ttl_s = ttl_s;
	if (addr && *addr && colon && colon != addr) {
		c->host = xmalloc((size_t)(colon - addr) + 1);
		memcpy(c->host, addr, (size_t)(colon - addr));
		c->host[colon - addr] = '\0';
		c->port = atoi(colon + 1);
	} else if (addr && *addr) {
		log_error("msg=\"redis address must be host:port, running without a cache\"");
	}
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	if (c->ctx)
		redisFree(c->ctx);
	free(c->host);
	free(c);
}

bool cache_configured(const struct cache *c)
{
	return c->host != NULL;
}

const struct cache_stats *cache_stats(const struct cache *c)
{
	return &c->stats;
}

static void fail(struct cache *c, const char *what)
{
	int64_t now = now_ms();

	c->stats.errors++;
	if (c->ctx) {
		log_warn("msg=\"redis command failed\" command=%s error=%s", LOGQ(what),
			 LOGQ(c->ctx->errstr[0] ? c->ctx->errstr : "unexpected reply"));
		redisFree(c->ctx);
		c->ctx = NULL;
	}
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	c->retry_at_ms = now + c->backoff_ms;
}

/* Connected and ready, or false (backing off or failed now). */
static bool ready(struct cache *c)
{
	struct timeval tv;

	if (!c->host)
		return false;
	if (c->ctx)
		return true;
	if (now_ms() < c->retry_at_ms)
		return false;
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	c->ctx = redisConnectWithTimeout(c->host, c->port, tv);
	if (!c->ctx || c->ctx->err) {
		if (!c->ctx) {
			c->stats.errors++;
			return false;
		}
		fail(c, "connect");
		return false;
	}
	if (redisSetTimeout(c->ctx, tv) != REDIS_OK) {
		fail(c, "set timeout");
		return false;
	}
	c->backoff_ms = 0;
	log_info("msg=\"connected to redis\"");
	return true;
}

/* "$<n>\r\n<n bytes>\r\n" or "$-1\r\n" at p[0..len): the bytes used, 0
 * when more are needed, -1 when it is something else.  *off and *n give
 * the bytes (*n = -1 for nil). */
static long parse_bulk(const char *p, size_t len, size_t *off, long long *n)
{
	size_t i = 1;
	long long v = 0;
	bool neg = false;

	if (len < 1)
		return 0;
	if (p[0] != '$')
		return -1;
	if (i < len && p[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > 1000000000LL)
			return -1; /* Redis strings are at most 512 MB */
		v = v * 10 + (p[i] - '0');
	}
	if (i + 2 > len)
		return 0;
	if (p[i] != '\r' || p[i + 1] != '\n' || (neg && v != 1))
		return -1;
	i += 2;
	if (neg) {
		*n = -1;
		return (long)i;
	}
	if (i + (size_t)v + 2 > len)
		return 0;
	if (p[i + v] != '\r' || p[i + v + 1] != '\n')
		return -1;
	*off = i;
	*n = v;
	return (long)(i + (size_t)v + 2);
}

/* MGET of two keys, its reply read straight into out (after what it
 * holds), which saves the copies hiredis's reader would make of a page.
 * On success el[] locate the two values in out (n = -1: nil) and out->len
 * is back where it was; the caller uses them before appending anything.
 * The context is used only for its socket: no reply is left pending in
 * hiredis's reader.  -1 on failure (the context's errstr says why). */
struct span {
	size_t off;
	long long n;
};

static int mget2(struct cache *c, const char *k1, const char *k2, struct buf *out,
		 struct span el[2])
{
	redisContext *ctx = c->ctx;
	char cmd[CACHE_KEY_MAX + 128];
	size_t base = out->len, sent = 0;
	int len = snprintf(cmd, sizeof(cmd), "*3\r\n$4\r\nMGET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
			   strlen(k1), k1, strlen(k2), k2);

	if (len < 0 || (size_t)len >= sizeof(cmd))
		return -1;
	while (sent < (size_t)len) {
		ssize_t w = write(ctx->fd, cmd + sent, (size_t)len - sent);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(ctx->errstr, sizeof(ctx->errstr), "%s", strerror(errno));
			return -1;
		}
		sent += (size_t)w;
	}
	for (;;) {
		const char *p = out->data ? out->data + base : "";
		size_t have = out->len - base;
		long u1 = 0, u2 = 0;
		ssize_t n;

		if (have >= 4 && memcmp(p, "*2\r\n", 4) == 0) {
			u1 = parse_bulk(p + 4, have - 4, &el[0].off, &el[0].n);
			if (u1 > 0)
				u2 = parse_bulk(p + 4 + u1, have - 4 - (size_t)u1, &el[1].off,
						&el[1].n);
			if (u1 > 0 && u2 > 0) {
				el[0].off += base + 4;
				el[1].off += base + 4 + (size_t)u1;
				out->len = base;
				return 0;
			}
		}
		if (u1 < 0 || u2 < 0 || (have >= 4 && memcmp(p, "*2\r\n", 4) != 0) ||
		    (have > 0 && p[0] != '*')) {
			snprintf(ctx->errstr, sizeof(ctx->errstr), "unexpected reply");
			out->len = base;
			return -1;
		}
		buf_reserve(out, READ_CHUNK);
		/* SO_RCVTIMEO (redis_timeout_ms) bounds the wait */
		n = read(ctx->fd, out->data + out->len, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(ctx->errstr, sizeof(ctx->errstr), "%s",
				 n == 0 ? "connection closed" : strerror(errno));
			out->len = base;
			return -1;
		}
		out->len += (size_t)n;
	}
}

/* "c4": the fourth layout of the entries (c3 plus the answer's ETag) (see cache.h); a new layout takes
 * a new name so that a deploy never reads entries written by old code. */
static void entry_key(char *out, size_t n, const char *org, int64_t epoch,
		      const char *what)
{
	snprintf(out, n, "c4:%s:%lld:%s", org, (long long)epoch, what);
}

enum cache_result cache_get(struct cache *c, const char *org, int64_t epoch,
			    const char *what, struct buf *out,
			    struct cache_ticket *ticket)
{
	char gkey[64], ekey[CACHE_KEY_MAX];
	struct span el[2];
	size_t base = out->len, glen;
	const char *v;

	ticket->valid = false;
	if (!ready(c))
		return CACHE_OFF;
	snprintf(gkey, sizeof(gkey), "g:%s", org);
	entry_key(ekey, sizeof(ekey), org, epoch, what);
	if (mget2(c, gkey, ekey, out, el) < 0 ||
	    el[0].n >= (long long)sizeof(ticket->generation)) {
		out->len = base;
		if (out->data)
			out->data[base] = '\0';
		fail(c, "get");
		return CACHE_ERROR;
	}
	if (el[0].n >= 0) {
		memcpy(ticket->generation, out->data + el[0].off, (size_t)el[0].n);
		ticket->generation[el[0].n] = '\0';
	} else {
		strcpy(ticket->generation, "0"); /* never written to */
	}
	ticket->valid = true;
	glen = strlen(ticket->generation);
	v = el[1].n >= 0 ? out->data + el[1].off : NULL;
	/* A hit is an entry tagged with the generation read now: its bytes
	 * after the tag move down to where out ended. */
	if (v && el[1].n > (long long)glen && memcmp(v, ticket->generation, glen) == 0 &&
	    v[glen] == ':') {
		size_t n = (size_t)el[1].n - glen - 1;

		memmove(out->data + base, v + glen + 1, n);
		out->len = base + n;
		out->data[out->len] = '\0';
		c->stats.hits++;
		return CACHE_HIT;
	}
	if (out->data)
		out->data[base] = '\0';
	c->stats.misses++;
	return CACHE_MISS;
}

void cache_put(struct cache *c, const char *org, int64_t epoch,
	       const char *what, const struct cache_ticket *ticket,
	       const char *data, size_t len)
{
	char ekey[CACHE_KEY_MAX];
	redisReply *r;

	if (!ticket->valid || !ready(c))
		return;
	entry_key(ekey, sizeof(ekey), org, epoch, what);
	/* One argument: "<generation>:" then the bytes. */
	r = redisCommand(c->ctx, "SET %s %s:%b EX %d", ekey, ticket->generation,
			 data, len, c->ttl_s);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		if (r)
			freeReplyObject(r);
		fail(c, "set");
		return;
	}
	freeReplyObject(r);
}

int cache_invalidate(struct cache *c, const char *org)
{
	redisReply *r;

	if (!ready(c))
		return -1;
	r = redisCommand(c->ctx, "INCR g:%s", org);
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		if (r)
			freeReplyObject(r);
		fail(c, "invalidate");
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/* Keys per SCAN step: small steps keep each call within the timeout. */
#define PURGE_STEP 1000

int cache_purge(struct cache *c, const char *org)
{
	char pattern[64], cursor[32] = "0";
	redisReply *r;

	if (!ready(c))
		return -1;
	snprintf(pattern, sizeof(pattern), "c4:%s:*", org);
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
