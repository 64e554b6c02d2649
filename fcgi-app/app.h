/* app.h - a worker's context: everything a handler may use.
 *
 * One per worker process, created in worker.c and passed explicitly; there
 * is no other mutable state.
 */
#ifndef CONTACTS_APP_H
#define CONTACTS_APP_H

#include "auth.h"
#include "buf.h"
#include "cache.h"
#include "config.h"
#include "hostlease.h"
#include "inflight.h"
#include "metrics.h"
#include "ratelimit.h"
#include "store.h"

struct app {
	const struct config *cfg; /* borrowed */
	struct store *store;      /* owned */
	struct cache *cache;      /* owned */
	struct auth *auth;        /* owned: this worker's key leases */
	struct ratelimit *limits; /* borrowed: the pool's shared rate limits */
	struct metrics *metrics;  /* borrowed: the pool's shared counters */
	struct metrics_slot *slot;
	struct inflight *inflight; /* borrowed: the pool's writes in flight */
	int slot_index;           /* this worker's slot, in both tables */
	struct hostlease *lease;  /* borrowed: the pool's lease in PostgreSQL */
	struct hostlease_claims claims; /* the organizations it was claimed for */
	struct buf scratch;       /* reused: an answer's head, the ids an idempotent answer shows */
	/* The request's Idempotency-Key (idempotency.c), while its
	 * transaction is open, and the write whose publication waits for
	 * its commit (0: none). */
	const char *idem_key;
	char idem_hash[2 + 2 * 32 + 1];
	size_t idem_headers; /* the answer's headers before the handler's */
	uint64_t deferred_note;
	/* What the write being served retires from the cache, filled by
	 * its handler (deps.h, writes.h). */
	struct deps retire;
	struct cache_stats published; /* what was added to the slot so far */
	uint64_t published_pg_errors;
	uint64_t access_successes; /* successes answered: access_log's sample */
};

/* Adds this worker's counters since the last call to its metrics slot. */
static inline void app_publish_metrics(struct app *app)
{
	const struct cache_stats *cs = cache_stats(app->cache);
	uint64_t pg = store_error_count(app->store);

	metrics_add_cache(app->slot, cs->hits - app->published.hits,
			  cs->misses - app->published.misses,
			  cs->errors - app->published.errors);
	metrics_add_pg_errors(app->slot, pg - app->published_pg_errors);
	app->published = *cs;
	app->published_pg_errors = pg;
}

#endif
