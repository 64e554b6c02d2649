/* cache.h - Redis in front of the two hot reads, never stale.
 *
 * Keys: g:<org>, the organization's generation, bumped after every
 * committed write; c4:<org>:<epoch>:<what>, an entry, whose value is the
 * generation it was read under, ':', then the bytes.  The epoch lives in
 * PostgreSQL and is bumped instead when Redis cannot be reached.  A reader
 * reads the generation and the entry in one MGET; the entry is a hit only
 * when it is tagged with the generation read now, and a reader stores what
 * it read from PostgreSQL tagged with the generation it saw before, so an
 * entry filled before a write is never a hit after it.  docs/caching.md
 * has the argument.
 *
 * Redis is optional: every call has a short timeout, any failure drops the
 * connection, and reconnecting backs off.  redisReply never leaves cache.c.
 */
#ifndef CONTACTS_CACHE_H
#define CONTACTS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

struct cache;

/* The longest entry key: "c4:", an organization id, an epoch, and what. */
#define CACHE_KEY_MAX 512

enum cache_result {
	CACHE_HIT = 0,
	CACHE_MISS = 1,
	CACHE_OFF = 2,    /* not configured, or backing off after a failure */
	CACHE_ERROR = -1, /* the call failed (counted, connection dropped) */
};

struct cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t errors;
};

/* What a lookup saw, so that a fill goes under the same generation. */
struct cache_ticket {
	bool valid;
	char generation[24];
};

/* addr: "host:port", or "" for no cache.  Never NULL; connects lazily. */
struct cache *cache_new(const char *addr, int timeout_ms, int ttl_s);
void cache_free(struct cache *c);
bool cache_configured(const struct cache *c);
const struct cache_stats *cache_stats(const struct cache *c);

/* On CACHE_HIT the entry is appended to out. */
enum cache_result cache_get(struct cache *c, const char *org, int64_t epoch,
			    const char *what, struct buf *out,
			    struct cache_ticket *ticket);
/* Stores an entry under the ticket's generation; failures are counted and
 * otherwise ignored. */
void cache_put(struct cache *c, const char *org, int64_t epoch,
	       const char *what, const struct cache_ticket *ticket,
	       const char *data, size_t len);
/* Bumps the organization's generation.  Returns 0, or -1 when Redis could
 * not be told (the caller must then bump the epoch in PostgreSQL). */
int cache_invalidate(struct cache *c, const char *org)
	__attribute__((warn_unused_result));
/* Removes every entry of the organization, under any epoch (SCAN and
 * UNLINK): after an erasure nothing of the contact may stay in Redis.
 * 0, or -1 when Redis failed on the way. */
int cache_purge(struct cache *c, const char *org)
	__attribute__((warn_unused_result));
/* 0 when Redis answers PING now. */
int cache_ping(struct cache *c);

#endif
