/* inflight.c - the shared table of writes in flight.
 *
 * A slot is written by its worker only; another process reads it to see
 * whose its note is, and to take up a note that is nobody's, which it then
 * clears by compare-and-swap on seq, so a newer note is never lost.  A note is
 * published by setting `set` last, with release order.
 */
#include "inflight.h"

#include <string.h>
#include <sys/mman.h>

struct slot {
	uint64_t set;  /* seq of the note held, 0: none */
	uint64_t last; /* last seq used in this slot */
	char org_id[ID_LEN + 1];
	struct store_backend backend;
	int64_t owner; /* pid of the note's worker, 0: given up */
};

struct inflight {
	int nslots;
	uint64_t pending;
	struct slot slots[];
};

static size_t region_size(int nslots)
{
	return sizeof(struct inflight) + (size_t)nslots * sizeof(struct slot);
}

struct inflight *inflight_new(int nslots)
{
	struct inflight *f = mmap(NULL, region_size(nslots), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (f == MAP_FAILED)
		return NULL;
	f->nslots = nslots;
	return f;
}

void inflight_free(struct inflight *f)
{
	if (f)
		munmap(f, region_size(f->nslots));
}

int inflight_slots(const struct inflight *f)
{
	return f->nslots;
}

uint64_t inflight_note(struct inflight *f, int slot, const char *org_id,
		       const struct store_backend *backend, pid_t owner)
{
	struct slot *s = &f->slots[slot];

	if (__atomic_load_n(&s->set, __ATOMIC_ACQUIRE))
		return 0; /* an older note is still held */
	s->last++;
	memcpy(s->org_id, org_id, sizeof(s->org_id));
	s->org_id[ID_LEN] = '\0';
	s->backend = *backend;
	__atomic_store_n(&s->owner, (int64_t)owner, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->pending, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->set, s->last, __ATOMIC_RELEASE);
	return s->last;
}

void inflight_committed(struct inflight *f, int slot, uint64_t seq)
{
	struct slot *s = &f->slots[slot];

	if (seq && __atomic_load_n(&s->set, __ATOMIC_ACQUIRE) == seq)
		__atomic_store_n(&s->backend.pid, 0, __ATOMIC_RELEASE);
}

void inflight_leave(struct inflight *f, int slot)
{
	struct slot *s = &f->slots[slot];

	if (__atomic_load_n(&s->set, __ATOMIC_ACQUIRE))
		__atomic_store_n(&s->owner, 0, __ATOMIC_RELEASE);
}

void inflight_clear(struct inflight *f, int slot, uint64_t seq)
{
	struct slot *s = &f->slots[slot];
	uint64_t expected = seq;

	if (seq && __atomic_compare_exchange_n(&s->set, &expected, 0, false,
					       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		__atomic_sub_fetch(&f->pending, 1, __ATOMIC_RELAXED);
}

bool inflight_get(struct inflight *f, int slot, struct inflight_note *out)
{
	struct slot *s = &f->slots[slot];
	uint64_t seq = __atomic_load_n(&s->set, __ATOMIC_ACQUIRE);

	if (!seq)
		return false;
	memcpy(out->org_id, s->org_id, sizeof(out->org_id));
	out->backend = s->backend;
	out->owner = (pid_t)__atomic_load_n(&s->owner, __ATOMIC_ACQUIRE);
	out->seq = seq;
	/* the slot's owner may have replaced the note meanwhile */
	return __atomic_load_n(&s->set, __ATOMIC_ACQUIRE) == seq;
}

uint64_t inflight_pending(const struct inflight *f)
{
	return __atomic_load_n(&f->pending, __ATOMIC_RELAXED);
}
