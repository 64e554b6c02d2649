/* hostlease.c - the pool's lease in PostgreSQL (see hostlease.h).
 *
 * The shared part is written with atomics only: any worker may renew the
 * lease (the one that wins the compare-and-swap on next_beat_ms), and
 * every worker reads the generation of claims and the longest
 * auth_cache_ms.
 */
#include "hostlease.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "log.h"

/* How often the lease is renewed. */
#define BEAT_MS 1000
/* A renewal later than this after the one before breaks the pool's
 * steady run: it must then renew for a whole lease again before it takes
 * up another pool (after an outage of PostgreSQL every row is old). */
#define STEADY_GAP_MS (3 * BEAT_MS)

struct hostlease {
	char id[HOSTLEASE_ID_LEN + 1];
	char name[STORE_HOST_ID_MAX];
	int lease_ms;
	int auth_cache_ms;
	int64_t next_beat_ms;    /* the next renewal is due then */
	int64_t last_ok_ms;      /* the last renewal that worked; 0: none yet */
	int64_t steady_since_ms; /* renewing without a break since */
	uint64_t gen;            /* bumped when the pool's row was made anew */
	int peer_auth_ms;        /* the longest auth_cache_ms of live pools */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct hostlease *hostlease_new(const char *host_name, int lease_ms, int auth_cache_ms)
{
	struct hostlease *h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (h == MAP_FAILED)
		return NULL;
	if (id_random(h->id, HOSTLEASE_ID_LEN) < 0) {
		munmap(h, sizeof(*h));
		return NULL;
	}
	snprintf(h->name, sizeof(h->name), "%s", host_name ? host_name : "");
	h->lease_ms = lease_ms;
	h->auth_cache_ms = auth_cache_ms;
	h->peer_auth_ms = auth_cache_ms;
	return h;
}

void hostlease_free(struct hostlease *h)
{
	if (h)
		munmap(h, sizeof(*h));
}

void hostlease_configure(struct hostlease *h, int lease_ms, int auth_cache_ms)
{
	__atomic_store_n(&h->lease_ms, lease_ms, __ATOMIC_RELEASE);
	__atomic_store_n(&h->auth_cache_ms, auth_cache_ms, __ATOMIC_RELEASE);
}

const char *hostlease_id(const struct hostlease *h)
{
	return h->id;
}

void hostlease_app_name(const struct hostlease *h, char *out, size_t n)
{
	snprintf(out, n, "contacts-fcgi %s", h->id);
}

/* Renews the lease now.  0, or -1 (PostgreSQL failed). */
static int beat(struct hostlease *h, struct store *s, int64_t now)
{
	struct store_host sh = {h->id, h->name, __atomic_load_n(&h->lease_ms, __ATOMIC_ACQUIRE),
				__atomic_load_n(&h->auth_cache_ms, __ATOMIC_ACQUIRE)};
	int64_t last = __atomic_load_n(&h->last_ok_ms, __ATOMIC_ACQUIRE);
	bool made;
	int auth;

	if (store_host_beat(s, &sh, &made, &auth) != STORE_OK) {
		/* once an outage, not every second of it */
		if (last && now - last <= STEADY_GAP_MS)
			log_warn("msg=\"cannot renew the pool's lease\" detail=%s",
				 LOGQ(store_error(s)));
		return -1;
	}
	if (!last || now - last > STEADY_GAP_MS)
		__atomic_store_n(&h->steady_since_ms, now, __ATOMIC_RELEASE);
	__atomic_store_n(&h->last_ok_ms, now, __ATOMIC_RELEASE);
	__atomic_store_n(&h->peer_auth_ms, auth, __ATOMIC_RELEASE);
	if (made) {
		/* A row made anew (not the first): another pool took this one
		 * up, and its claims with it. */
		if (last)
			log_warn("msg=\"the pool's lease was taken up by another pool: claiming anew\"");
		__atomic_add_fetch(&h->gen, 1, __ATOMIC_ACQ_REL);
	}
	return 0;
}

void hostlease_tick(struct hostlease *h, struct store *s)
{
	int64_t now = now_ms();
	int64_t due = __atomic_load_n(&h->next_beat_ms, __ATOMIC_ACQUIRE);
	char gone_id[STORE_HOST_ID_MAX], gone_name[STORE_HOST_ID_MAX];

	if (now < due || store_in_transaction(s))
		return;
	if (!__atomic_compare_exchange_n(&h->next_beat_ms, &due, now + BEAT_MS, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return; /* another worker renews it */
	if (beat(h, s, now) < 0)
		return;
	if (store_host_take_up(s, h->id,
			       now - __atomic_load_n(&h->steady_since_ms, __ATOMIC_ACQUIRE),
			       gone_id, gone_name) != STORE_OK) {
		log_warn("msg=\"cannot take up a gone pool\" detail=%s", LOGQ(store_error(s)));
		return;
	}
	if (gone_id[0])
		log_info("msg=\"took up the writes of a pool that is gone\" pool=%s host=%s",
			 LOGQ(gone_id), LOGQ(gone_name));
}

int hostlease_claim(struct hostlease *h, struct hostlease_claims *mine, struct store *s,
		    const char *org_id)
{
	uint64_t gen;

	mine->pending[0] = '\0';
	if (!__atomic_load_n(&h->last_ok_ms, __ATOMIC_ACQUIRE)) {
		/* No row yet (PostgreSQL was down since the start): make it
		 * first, so that the claim has a pool to be taken up with.
		 * Not inside a transaction: its lock would stay to the end. */
		if (store_in_transaction(s) || beat(h, s, now_ms()) < 0)
			return -1;
	}
	gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	if (mine->gen != gen) {
		mine->gen = gen;
		mine->n = mine->next = 0;
	}
	for (int i = 0; i < mine->n; i++)
		if (strcmp(mine->org[i], org_id) == 0)
			return 0;
	if (store_host_claim(s, h->id, org_id) != STORE_OK)
		return -1;
	snprintf(mine->pending, sizeof(mine->pending), "%s", org_id);
	return 0;
}

void hostlease_claimed(struct hostlease_claims *mine)
{
	if (!mine->pending[0])
		return;
	memcpy(mine->org[mine->next], mine->pending, sizeof(mine->pending));
	mine->next = (mine->next + 1) % HOSTLEASE_CLAIMS;
	if (mine->n < HOSTLEASE_CLAIMS)
		mine->n++;
	mine->pending[0] = '\0';
}

void hostlease_unclaimed(struct hostlease_claims *mine)
{
	mine->pending[0] = '\0';
}

int hostlease_auth_cache_ms(const struct hostlease *h)
{
	int peers = __atomic_load_n(&h->peer_auth_ms, __ATOMIC_ACQUIRE);
	int own = __atomic_load_n(&h->auth_cache_ms, __ATOMIC_ACQUIRE);

	return peers > own ? peers : own;
}

void hostlease_release(struct hostlease *h, struct store *s)
{
	if (store_host_release(s, h->id) != STORE_OK)
		log_warn("msg=\"cannot release the pool's lease: another pool will take it up\" detail=%s",
			 LOGQ(store_error(s)));
}
