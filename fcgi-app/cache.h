/* cache.h - Redis in front of the hot reads, never stale.
 *
 * Keys: g2:<org>, a hash of the organization's counters (deps.h names the
 * fields); c7:<org>:<rid>:<epoch>:<what>, an entry (rid: the master's
 * replication id, which a failover changes): a header naming the
 * counters it depends on with the values they had before it was read
 * from PostgreSQL, then the bytes.  The epoch lives in PostgreSQL and is
 * bumped instead when Redis cannot be reached.  A reader reads the
 * counters its key names and the entry in one round trip (and the
 * counters the entry found it depends on, which the key cannot name, in
 * a second one); the entry is a hit only when every counter it names
 * still has its value.  A write bumps, after its commit, a counter of
 * every entry it changes.  docs/caching.md has the argument.
 *
 * Redis is optional: every call has a short timeout, any failure drops the
 * connection, and reconnecting backs off.  Replies are read by resp.c;
 * redisReply never leaves cache.c.
 */
#ifndef CONTACTS_CACHE_H
#define CONTACTS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "deps.h"

struct cache;

/* The longest entry key: "c7:", an organization id, a replication id, an
 * epoch, and what. */
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

/* What a lookup saw: the counters it read, so that a fill goes under
 * the values read before PostgreSQL. */
#define CACHE_TICKET_MAX (2 * DEPS_MAX)
#define CACHE_RID_LEN 16
struct cache_ticket {
	bool valid;
	int n;
	/* the master the counters were read on: a fill after a failover
	 * would store them under the new master's id */
	char rid[CACHE_RID_LEN + 1];
	char name[CACHE_TICKET_MAX][DEPS_NAME_MAX];
	char gen[CACHE_TICKET_MAX][24];
};

struct cache_settings {
	const char *addr;        /* "host:port", or "" for no cache */
	const char *sentinels;   /* "" or host:port list: addr is then unused */
	const char *master_name; /* the master's name in the sentinels */
	int timeout_ms;
	int ttl_s;
};

/* Never NULL; connects lazily, to addr or to the master the sentinels
 * name, and only to a master. */
struct cache *cache_new(const struct cache_settings *s);
void cache_free(struct cache *c);
bool cache_configured(const struct cache *c);
const struct cache_stats *cache_stats(const struct cache *c);

/* Looks up an entry whose key names the counters in fixed (at least one).
 * On CACHE_HIT the entry's bytes are appended to out. */
enum cache_result cache_get(struct cache *c, const char *org, int64_t epoch,
			    const char *what, const struct deps *fixed,
			    struct buf *out, struct cache_ticket *ticket)
	__attribute__((warn_unused_result));
/* Stores data as the entry, depending on deps (the fixed ones of the
 * look-up and those found from what was read), under the values of the
 * ticket.  A counter the ticket did not read is stored as unknown: the
 * entry is then never a hit, but tells the next look-up what to read.
 * Failures are counted and otherwise ignored. */
void cache_put(struct cache *c, const char *org, int64_t epoch,
	       const char *what, const struct cache_ticket *ticket,
	       const struct deps *deps, const char *data, size_t len);
/* Bumps the counters of d (all of the organization's when d overflowed)
 * in one round trip.  0, or -1 when Redis could not be told (the caller
 * must then bump the epoch in PostgreSQL). */
int cache_retire(struct cache *c, const char *org, const struct deps *d)
	__attribute__((warn_unused_result));
/* Removes every entry of the organization, under any epoch (SCAN and
 * UNLINK): after an erasure nothing of the contact may stay in Redis.
 * 0, or -1 when Redis failed on the way. */
int cache_purge(struct cache *c, const char *org)
	__attribute__((warn_unused_result));
/* Rate limits across hosts (policy.c): the GCRA of ratelimit.h on one
 * key in Redis, rl:<name>, on Redis's clock.  0 with *out filled, or -1
 * when Redis cannot be asked now (the caller falls back to its host's
 * own table). */
enum cache_gcra_mode {
	CACHE_GCRA_TAKE = 0,   /* count the event if it conforms */
	CACHE_GCRA_CHARGE = 1, /* count it whether or not it conforms */
};
struct cache_gcra {
	bool conforms;
	uint64_t retry_us; /* until one would conform, when it does not */
	uint64_t ahead_us; /* the name's arrival time past now, after */
};
int cache_gcra(struct cache *c, const char *name, size_t len, uint64_t interval_us,
	       uint64_t tolerance_us, enum cache_gcra_mode mode, struct cache_gcra *out)
	__attribute__((warn_unused_result));
/* 0 when Redis answers PING now. */
int cache_ping(struct cache *c) __attribute__((warn_unused_result));

#endif
