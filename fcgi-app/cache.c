/* cache.c - Redis through hiredis: keys, generations, fallbacks. */
#include "cache.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define BACKOFF_MIN_MS 100
/* One read of a reply: hiredis reads 16 KiB at a time, which makes a page
 * of 1000 contacts (~300 KB) about twenty reads. */
#define READ_CHUNK (256 * 1024)
#define BACKOFF_MAX_MS 2000

struct cache {
	char *host;
	int port;
	int timeout_ms;
	int ttl_s;
	redisContext *ctx;
	char *rbuf; /* READ_CHUNK bytes, for command_read() */
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
	free(c->rbuf);
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
		log_warn("msg=\"redis %s failed: %s\"", what,
			 c->ctx->errstr[0] ? c->ctx->errstr : "unexpected reply");
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

/* Sends one command and reads its reply in reads of up to READ_CHUNK
 * bytes, through hiredis's reader.  NULL on failure (the context's errstr
 * says why, or the caller's "unexpected reply"). */
static redisReply *command_read(struct cache *c, const char *fmt, ...)
{
	redisContext *ctx = c->ctx;
	void *reply = NULL;
	int done = 0;
	va_list ap;

	va_start(ap, fmt);
	if (redisvAppendCommand(ctx, fmt, ap) != REDIS_OK) {
		va_end(ap);
		return NULL;
	}
	va_end(ap);
	do {
		if (redisBufferWrite(ctx, &done) != REDIS_OK)
			return NULL;
	} while (!done);
	if (!c->rbuf)
		c->rbuf = xmalloc(READ_CHUNK);
	for (;;) {
		ssize_t n;

		if (redisReaderGetReply(ctx->reader, &reply) != REDIS_OK)
			return NULL;
		if (reply)
			return reply;
		/* SO_RCVTIMEO (redis_timeout_ms) bounds the wait */
		n = read(ctx->fd, c->rbuf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(ctx->errstr, sizeof(ctx->errstr), "%s",
				 n == 0 ? "connection closed" : strerror(errno));
			return NULL;
		}
		if (redisReaderFeed(ctx->reader, c->rbuf, (size_t)n) != REDIS_OK)
			return NULL;
	}
}

/* "c3": the third layout of the entries (see cache.h); a new layout takes
 * a new name so that a deploy never reads entries written by old code. */
static void entry_key(char *out, size_t n, const char *org, int64_t epoch,
		      const char *what)
{
	snprintf(out, n, "c3:%s:%lld:%s", org, (long long)epoch, what);
}

enum cache_result cache_get(struct cache *c, const char *org, int64_t epoch,
			    const char *what, struct buf *out,
			    struct cache_ticket *ticket)
{
	char gkey[64], ekey[CACHE_KEY_MAX];
	const redisReply *g, *v;
	redisReply *r;
	size_t glen;
	enum cache_result res = CACHE_MISS;

	ticket->valid = false;
	if (!ready(c))
		return CACHE_OFF;
	snprintf(gkey, sizeof(gkey), "g:%s", org);
	entry_key(ekey, sizeof(ekey), org, epoch, what);
	r = command_read(c, "MGET %s %s", gkey, ekey);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    (r->element[0]->type != REDIS_REPLY_STRING &&
	     r->element[0]->type != REDIS_REPLY_NIL) ||
	    r->element[0]->len >= sizeof(ticket->generation)) {
		if (r)
			freeReplyObject(r);
		fail(c, "get");
		return CACHE_ERROR;
	}
	g = r->element[0];
	v = r->element[1];
	if (g->type == REDIS_REPLY_STRING) {
		memcpy(ticket->generation, g->str, g->len);
		ticket->generation[g->len] = '\0';
	} else {
		strcpy(ticket->generation, "0"); /* never written to */
	}
	ticket->valid = true;
	glen = strlen(ticket->generation);
	/* A hit is an entry tagged with the generation read now. */
	if (v->type == REDIS_REPLY_STRING && v->len > glen &&
	    memcmp(v->str, ticket->generation, glen) == 0 && v->str[glen] == ':') {
		buf_append(out, v->str + glen + 1, v->len - glen - 1);
		res = CACHE_HIT;
	}
	if (res == CACHE_HIT)
		c->stats.hits++;
	else
		c->stats.misses++;
	freeReplyObject(r);
	return res;
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
