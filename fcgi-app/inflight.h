/* inflight.h - writes whose outcome nobody knows yet, shared by the pool.
 *
 * A write commits in PostgreSQL and only then retires the organization's
 * cached answers (docs/caching.md).  When the worker dies in between, or
 * its connection drops while the statement runs, the write may commit with
 * nobody left to retire them.  So before running a write a worker notes,
 * in its slot of this shared table, the organization and the PostgreSQL
 * server process that will run it, and clears the note once the cache is
 * told.  A note left behind (by a worker that died, or that lost its
 * connection) is taken up by a worker: it ends that server process (after
 * which nothing of the write can commit any more), then retires the
 * organization's entries as a write would.  Taking a note up twice is
 * harmless.
 *
 * A note also names the worker process that made it (its owner), which
 * gives it up when the request that made it ends with the note still held
 * (the write's outcome was lost; it answered 503): from then on, or once
 * the owner is gone, the note is nobody's, and any worker takes it up.
 */
#ifndef CONTACTS_INFLIGHT_H
#define CONTACTS_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "id.h"
#include "store.h"

struct inflight;

struct inflight_note {
	char org_id[ID_LEN + 1];
	struct store_backend backend; /* pid 0: the write is known committed */
	uint64_t seq; /* which note of the slot this is */
	pid_t owner;  /* the worker that made it; 0: given up (inflight_leave) */
};

/* Maps nslots slots in shared memory; NULL on failure. */
struct inflight *inflight_new(int nslots);
void inflight_free(struct inflight *f);
int inflight_slots(const struct inflight *f);

/* Notes a write in slot (the caller's own, owner its pid).  Returns the
 * note's seq, or 0 when the slot still holds an older note (take it up
 * first). */
uint64_t inflight_note(struct inflight *f, int slot, const char *org_id,
		       const struct store_backend *backend, pid_t owner);
/* The write of note seq committed: no server process needs ending, only
 * the cache telling (backend.pid becomes 0). */
void inflight_committed(struct inflight *f, int slot, uint64_t seq);
/* The owner of slot's note gives it up: its request ended with the note
 * held.  Nothing when the slot holds none. */
void inflight_leave(struct inflight *f, int slot);
/* Clears slot's note if it is still note seq. */
void inflight_clear(struct inflight *f, int slot, uint64_t seq);
/* The note in slot, if any. */
bool inflight_get(struct inflight *f, int slot, struct inflight_note *out);
/* Notes set in the whole table: 0 is the common case, and cheap. */
uint64_t inflight_pending(const struct inflight *f);

#endif
