/* cache.c - Redis through hiredis: keys, generations, fallbacks. */
#include "cache.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

/* Reads the generation and the entry in one round trip.
 * KEYS[1] generation key; ARGV[1] key prefix; ARGV[2] what. */
static const char get_script[] =
	"local g = redis.call('GET', KEYS[1]) or '0'\n"
	"return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}\n";

struct cache {
	char *host;
	int port;
	int timeout_ms;
	int ttl_s;
	redisContext *ctx;
	char script_sha[41];
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
	redisReply *r;

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
	r = redisCommand(c->ctx, "SCRIPT LOAD %s", get_script);
	if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
		if (r)
			freeReplyObject(r);
		fail(c, "script load");
		return false;
	}
	memcpy(c->script_sha, r->str, 40);
	c->script_sha[40] = '\0';
	freeReplyObject(r);
	c->backoff_ms = 0;
	log_info("msg=\"connected to redis\"");
	return true;
}

/* "c2": the second layout of the values; a new layout takes a new name so
 * that a deploy never reads entries written by the old code. */
static void key_prefix(char *out, size_t n, const char *org, int64_t epoch)
{
	snprintf(out, n, "c2:%s:%lld:", org, (long long)epoch);
}

enum cache_result cache_get(struct cache *c, const char *org, int64_t epoch,
			    const char *what, struct buf *out,
			    struct cache_ticket *ticket)
{
	char gkey[64], prefix[64];
	redisReply *r;
	enum cache_result res;

	ticket->valid = false;
	if (!ready(c))
		return CACHE_OFF;
	snprintf(gkey, sizeof(gkey), "g:%s", org);
	key_prefix(prefix, sizeof(prefix), org, epoch);
	r = redisCommand(c->ctx, "EVALSHA %s 1 %s %s %s", c->script_sha, gkey,
			 prefix, what);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= sizeof(ticket->generation)) {
		/* NOSCRIPT after a Redis restart lands here too: the next
		 * connection loads the script again. */
		if (r)
			freeReplyObject(r);
		fail(c, "get");
		return CACHE_ERROR;
	}
	memcpy(ticket->generation, r->element[0]->str, r->element[0]->len);
	ticket->generation[r->element[0]->len] = '\0';
	ticket->valid = true;
	if (r->element[1]->type == REDIS_REPLY_STRING) {
		buf_append(out, r->element[1]->str, r->element[1]->len);
		c->stats.hits++;
		res = CACHE_HIT;
	} else {
		c->stats.misses++;
		res = CACHE_MISS;
	}
	freeReplyObject(r);
	return res;
}

void cache_put(struct cache *c, const char *org, int64_t epoch,
	       const char *what, const struct cache_ticket *ticket,
	       const char *data, size_t len)
{
	char prefix[64];
	redisReply *r;

	if (!ticket->valid || !ready(c))
		return;
	key_prefix(prefix, sizeof(prefix), org, epoch);
	r = redisCommand(c->ctx, "SET %s%s:%s %b EX %d", prefix,
			 ticket->generation, what, data, len, c->ttl_s);
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
