/* writes.h - a write's life around its statement: note it, then publish it
 * to the cache; and settle the writes whose outcome was lost.
 *
 *   writes_begin()    notes the organization and the server process that
 *                     will run the write (inflight.h)
 *   (the statement)
 *   writes_publish()  committed: retire the cached answers the write
 *                     changed (app->retire, which the handler filled:
 *                     their counters, else the organization's epoch
 *                     and wait out the key leases), then drop the note
 *   writes_abandon()  rolled back: drop the note
 *   (connection lost) keep the note: writes_settle() takes it up
 *   writes_leave()    at the end of every request: a note still held is
 *                     given up, for any worker of the pool to take up
 *
 * docs/caching.md has the argument.
 */
#ifndef CONTACTS_WRITES_H
#define CONTACTS_WRITES_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"

/* Before a write of org_id; empties app->retire.  The note's seq (> 0) in *note.  0, or -1 when
 * the write must not run now: the store is unreachable, or an earlier
 * write of this worker is not settled yet (the caller answers 503). */
int writes_begin(struct app *app, const char *org_id, uint64_t *note)
	__attribute__((warn_unused_result));
/* After the write committed.  0, or -1 when the cache could not be told
 * (the note stays; the caller answers 503: the write is saved but not
 * published yet). */
int writes_publish(struct app *app, const char *org_id, uint64_t note)
	__attribute__((warn_unused_result));
/* The statement did not commit (it failed, or refused the input). */
void writes_abandon(struct app *app, uint64_t note);

/* What a write changed, added to app->retire before writes_publish()
 * (docs/caching.md, "What each write retires"): a contact write, from its
 * result and, when given, its input (the lists it removed the contact
 * from); a list's members (a list deleted or changed); everything of the
 * organization. */
void writes_contact_changed(struct app *app, const struct write_result *wr,
			    const struct contact_input *in);
void writes_list_changed(struct app *app, const char *list_id);
void writes_everything_changed(struct app *app);

/* Before a replayed answer of a write (Idempotency-Key): the write
 * committed, but a retry is what replays, and the first try's
 * publication may have died with its pool on another host: everything of
 * the organization is retired first.  0, or -1 (answer 503). */
int writes_replayed(struct app *app, const char *org_id);

/* Takes up notes left behind: this worker's, those given up, and those of
 * workers that are gone.  Cheap when there are none. */
void writes_settle(struct app *app);
/* Whether a note of org_id is left behind and not taken up yet (the
 * store was unreachable): a write of the organization may have committed
 * unpublished, and its cached answers must not be read or stored until
 * it is settled.  Cheap when no write is in flight. */
bool writes_in_doubt(struct app *app, const char *org_id);
/* The request is over: a note of this worker still held (the write's
 * outcome was lost, or it could not be published) is given up. */
void writes_leave(struct app *app);

#endif
