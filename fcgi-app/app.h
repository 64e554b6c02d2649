/* app.h - a worker's context: everything a handler may use.
 *
 * One per worker process, created in worker.c and passed explicitly; there
 * is no other mutable state.
 */
#ifndef CONTACTS_APP_H
#define CONTACTS_APP_H

#include "buf.h"
#include "cache.h"
#include "config.h"
#include "metrics.h"
#include "store.h"

struct app {
	const struct config *cfg; /* borrowed */
	struct store *store;      /* owned */
	struct cache *cache;      /* owned */
	struct metrics *metrics;  /* borrowed: the pool's shared counters */
	struct metrics_slot *slot;
	struct buf scratch;       /* reused: cache entries, keys */
};

#endif
