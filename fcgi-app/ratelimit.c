/* ratelimit.c - GCRA over a shared open-addressing table.
 *
 * Layout: a header (process-shared robust mutex, hash seed, overflow
 * counter) and RL_SLOTS slots of {tag, tat}.  A slot whose tat is in the
 * past holds no information (a name with tat <= now may do a full burst,
 * exactly like a name never seen), so such a slot may be taken over by any
 * name and nothing is ever deleted: probe sequences stay intact.  A worker
 * killed while holding the mutex leaves it to the next one (EOWNERDEAD),
 * which marks it consistent: the table is valid after any single store.
 */
#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#define RL_SLOTS 8192 /* a power of two */
#define RL_PROBE 16

struct rl_slot {
	uint64_t tag; /* 0: never used */
	uint64_t tat; /* theoretical arrival time, ns */
};

struct ratelimit {
	pthread_mutex_t lock;
	uint64_t seed;
	uint64_t overflows;
	struct rl_slot slots[RL_SLOTS];
};

enum rl_mode { RL_TAKE, RL_PEEK, RL_CHARGE };

uint64_t ratelimit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct ratelimit *ratelimit_new(void)
{
	pthread_mutexattr_t attr;
	struct ratelimit *rl = mmap(NULL, sizeof(*rl), PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (rl == MAP_FAILED)
		return NULL;
	/* The mapping is zeroed: every slot is unused. */
	if (getrandom(&rl->seed, sizeof(rl->seed), 0) != sizeof(rl->seed))
		rl->seed = ratelimit_now_ns() ^ 0x9e3779b97f4a7c15u;
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&rl->lock, &attr) != 0) {
		munmap(rl, sizeof(*rl));
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl)
		munmap(rl, sizeof(*rl));
}

uint64_t ratelimit_overflows(const struct ratelimit *rl)
{
	return __atomic_load_n(&rl->overflows, __ATOMIC_RELAXED);
}

/* FNV-1a over the seed and the name; never 0 (the unused tag). */
static uint64_t tag_of(const struct ratelimit *rl, const void *name, size_t len)
{
	const unsigned char *p = name;
	uint64_t h = 0xcbf29ce484222325u ^ rl->seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3u;
	}
	h ^= h >> 29; /* FNV's low bits are weak: mix before using them */
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 32;
	return h ? h : 1;
}

static void lock(struct ratelimit *rl)
{
	if (pthread_mutex_lock(&rl->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&rl->lock);
}

/* The slot of tag, or a slot it may take; NULL when the probe window is
 * full of other active names. */
static struct rl_slot *find(struct ratelimit *rl, uint64_t tag, uint64_t now)
{
	struct rl_slot *spare = NULL;
	size_t i = (size_t)tag & (RL_SLOTS - 1);

	for (int n = 0; n < RL_PROBE; n++, i = (i + 1) & (RL_SLOTS - 1)) {
		struct rl_slot *s = &rl->slots[i];

		if (s->tag == tag)
			return s;
		if (!spare && (s->tag == 0 || s->tat <= now))
			spare = s;
		if (s->tag == 0)
			break; /* the name was never placed further on */
	}
	if (spare) {
		spare->tag = tag;
		spare->tat = 0;
	}
	return spare;
}

/* What is left when the theoretical arrival time is tat: the burst is
 * whole once tat has passed, and each interval before it is one event
 * used. */
static void quota_at(struct rate_quota *q, uint64_t tat, uint64_t now,
		     uint64_t interval, uint32_t count)
{
	uint64_t ahead = tat > now ? tat - now : 0;
	uint64_t used = (ahead + interval - 1) / interval;

	q->remaining = used >= count ? 0 : count - (uint32_t)used;
	q->reset_ns = ahead;
}

uint64_t ratelimit_interval_ns(struct rate rate)
{
	uint64_t interval = (uint64_t)rate.period_s * 1000000000u / rate.count;

	return interval ? interval : 1;
}

struct rate_quota ratelimit_quota_of(struct rate rate, uint64_t ahead_ns)
{
	struct rate_quota q = {.remaining = rate.count, .reset_ns = 0};

	if (rate.count > 0)
		quota_at(&q, ahead_ns, 0, ratelimit_interval_ns(rate), rate.count);
	return q;
}

void ratelimit_raise(struct ratelimit *rl, const void *name, size_t len,
		     uint64_t now_ns, uint64_t ahead_ns)
{
	struct rl_slot *s;

	lock(rl);
	s = find(rl, tag_of(rl, name, len), now_ns);
	if (s && s->tat < now_ns + ahead_ns)
		s->tat = now_ns + ahead_ns;
	pthread_mutex_unlock(&rl->lock);
	if (!s)
		__atomic_add_fetch(&rl->overflows, 1, __ATOMIC_RELAXED);
}

static bool account(struct ratelimit *rl, const void *name, size_t len,
		    struct rate rate, uint64_t now, enum rl_mode mode,
		    uint64_t *retry_ns, struct rate_quota *quota)
{
	uint64_t interval, tolerance, tat, tag;
	struct rl_slot *s;
	bool ok;

	if (retry_ns)
		*retry_ns = 0;
	if (quota)
		*quota = (struct rate_quota){.remaining = rate.count, .reset_ns = 0};
	if (rate.count == 0)
		return true;
	interval = ratelimit_interval_ns(rate);
	tolerance = interval * (rate.count - 1);
	tag = tag_of(rl, name, len);

	lock(rl);
	s = find(rl, tag, now);
	if (!s) {
		pthread_mutex_unlock(&rl->lock);
		__atomic_add_fetch(&rl->overflows, 1, __ATOMIC_RELAXED);
		return true;
	}
	tat = s->tat > now ? s->tat : now;
	ok = tat - now <= tolerance;
	if (!ok && retry_ns)
		*retry_ns = tat - now - tolerance;
	if (mode == RL_CHARGE || (mode == RL_TAKE && ok))
		s->tat = tat + interval;
	if (quota)
		quota_at(quota, s->tat, now, interval, rate.count);
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

bool ratelimit_take(struct ratelimit *rl, const void *name, size_t len,
		    struct rate rate, uint64_t now_ns, uint64_t *retry_ns)
{
	return account(rl, name, len, rate, now_ns, RL_TAKE, retry_ns, NULL);
}

bool ratelimit_take_quota(struct ratelimit *rl, const void *name, size_t len,
			  struct rate rate, uint64_t now_ns, uint64_t *retry_ns,
			  struct rate_quota *quota)
{
	return account(rl, name, len, rate, now_ns, RL_TAKE, retry_ns, quota);
}

bool ratelimit_peek(struct ratelimit *rl, const void *name, size_t len,
		    struct rate rate, uint64_t now_ns, uint64_t *retry_ns)
{
	return account(rl, name, len, rate, now_ns, RL_PEEK, retry_ns, NULL);
}

void ratelimit_charge(struct ratelimit *rl, const void *name, size_t len,
		      struct rate rate, uint64_t now_ns)
{
	(void)account(rl, name, len, rate, now_ns, RL_CHARGE, NULL, NULL);
}
