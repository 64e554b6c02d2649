/* ratelimit.h - rate limits shared by the pool (GCRA).
 *
 * The master maps one table before forking; every worker of this host
 * counts in it, so a limit holds for the pool as a whole.  A limit is a
 * rate (events per period) with a burst of as many events: the generic
 * cell rate algorithm keeps one time per name, the theoretical arrival
 * time, and needs no timer.  Names are hashed with a per-pool random seed;
 * the table is fixed in size, and when it is full of active names a new
 * name is not limited (counted in ratelimit_overflows()).
 */
#ifndef CONTACTS_RATELIMIT_H
#define CONTACTS_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/* count events per period_s seconds, and as many at once. */
struct rate {
	uint32_t count;    /* 0: unlimited */
	uint32_t period_s;
};

/* Maps the shared table; NULL on failure. */
struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Takes one event of name (len bytes) now: true if it conforms to the rate
 * (and counts it); false if not (nothing counted), with the wait until one
 * would conform in *retry_ns. */
bool ratelimit_take(struct ratelimit *rl, const void *name, size_t len,
		    struct rate rate, uint64_t now_ns, uint64_t *retry_ns);

/* What is left of a name's burst, after an event taken or refused. */
struct rate_quota {
	uint32_t remaining; /* events that would conform now, 0..count */
	uint64_t reset_ns;  /* until the whole burst is available again */
};
/* ratelimit_take(), and what is left in *quota.  A name the table has no
 * room for is not limited: it is told the whole burst is left. */
bool ratelimit_take_quota(struct ratelimit *rl, const void *name, size_t len,
			  struct rate rate, uint64_t now_ns, uint64_t *retry_ns,
			  struct rate_quota *quota);
/* Would one more event conform now?  Counts nothing. */
bool ratelimit_peek(struct ratelimit *rl, const void *name, size_t len,
		    struct rate rate, uint64_t now_ns, uint64_t *retry_ns);
/* Counts one event whether or not it conforms (a failure that happened). */
void ratelimit_charge(struct ratelimit *rl, const void *name, size_t len,
		      struct rate rate, uint64_t now_ns);

/* Moves name's theoretical arrival time to at least now + ahead_ns: what
 * the count across hosts says (policy.c), so that this table refuses as
 * that count does until it has passed. */
void ratelimit_raise(struct ratelimit *rl, const void *name, size_t len,
		     uint64_t now_ns, uint64_t ahead_ns);

/* The time between two events of rate (count > 0), at least 1 ns; a burst
 * is count events, so the tolerance is count - 1 intervals. */
uint64_t ratelimit_interval_ns(struct rate rate);

/* What is left of rate's burst when a name's arrival time is ahead_ns past
 * now. */
struct rate_quota ratelimit_quota_of(struct rate rate, uint64_t ahead_ns);

uint64_t ratelimit_overflows(const struct ratelimit *rl);

/* Nanoseconds on the monotonic clock, which every process of the host
 * shares. */
uint64_t ratelimit_now_ns(void);

#endif
