/* hostlease.h - this pool's lease in PostgreSQL, so that any host can
 * settle the writes of a pool that is gone as a whole.
 *
 * The write notes of inflight.h live in the pool's memory: a host that
 * dies as a whole (power, kill -9 of its master and workers) takes them
 * along, and a write it had committed but not yet published would stay
 * hidden by the cache.  So each pool also keeps, in PostgreSQL
 * (schema/014_host_leases.sql), a row of its own under a random id taken
 * at start, which one of its workers renews every second, and one row per
 * organization it writes to, made before (or with) its first write there.
 * Its connections carry the id in application_name.  A pool that has
 * renewed its own lease without a break for at least another pool's
 * lease_ms, and sees that pool's row older than that, takes it up: it ends
 * the pool's server processes (after which nothing of its writes can
 * commit), then bumps the cache epoch of every organization the pool wrote
 * to and deletes its rows (docs/caching.md, "A host that dies as a
 * whole").
 *
 * The renewal also answers the longest auth_cache_ms of the live pools: a
 * write waits out that one, so the key leases' argument holds with hosts
 * whose settings differ.
 */
#ifndef CONTACTS_HOSTLEASE_H
#define CONTACTS_HOSTLEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "id.h"
#include "store.h"

#define HOSTLEASE_ID_LEN 16
/* Organizations a worker remembers having claimed. */
#define HOSTLEASE_CLAIMS 64

struct hostlease;

/* What one worker knows it claimed, under the pool's generation of
 * claims (a pool whose rows were taken up claims everything again). */
struct hostlease_claims {
	uint64_t gen;
	int n, next;
	char org[HOSTLEASE_CLAIMS][ID_LEN + 1];
	char pending[ID_LEN + 1]; /* claimed by the write in progress */
};

/* Maps the pool's lease in shared memory, with a new random id; NULL on
 * failure.  host_name is copied. */
struct hostlease *hostlease_new(const char *host_name, int lease_ms, int auth_cache_ms);
void hostlease_free(struct hostlease *h);
/* After a reload: the settings the lease's row says. */
void hostlease_configure(struct hostlease *h, int lease_ms, int auth_cache_ms);
/* The pool's id, and the application_name its connections use. */
const char *hostlease_id(const struct hostlease *h);
void hostlease_app_name(const struct hostlease *h, char *out, size_t n);

/* Renews the lease when it is due (one worker of the pool a second), then
 * takes up one gone pool if there is one.  Outside a transaction. */
void hostlease_tick(struct hostlease *h, struct store *s);

/* Before a write of org_id: the pool's claim on it, unless this worker
 * knows it made one under the current generation.  0, or -1 (PostgreSQL
 * failed: the write must not run). */
int hostlease_claim(struct hostlease *h, struct hostlease_claims *mine, struct store *s,
		    const char *org_id);
/* After the write committed: its claim, if it made one, is remembered. */
void hostlease_claimed(struct hostlease_claims *mine);
/* The write rolled back: its claim may have too. */
void hostlease_unclaimed(struct hostlease_claims *mine);

/* The longest auth_cache_ms of the live pools, this one's included. */
int hostlease_auth_cache_ms(const struct hostlease *h);

/* A pool that stops: deletes its rows (s must not be in a transaction). */
void hostlease_release(struct hostlease *h, struct store *s);

#endif
