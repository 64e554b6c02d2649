/* writes.c - noting, publishing and settling writes. */
#include "writes.h"

#include <string.h>
#include <unistd.h>

#include "id.h"
#include "lease.h"
#include "log.h"

/* Makes the cached answers of org that d names unreachable
 * (docs/caching.md, the write path).  0, or -1 when neither Redis nor
 * PostgreSQL took it. */
static int retire_entries(struct app *app, const char *org_id, const struct deps *d)
{
	if (cache_configured(app->cache) && cache_retire(app->cache, org_id, d) == 0)
		return 0;
	/* Redis did not take the new counters (or there is no cache now
	 * and there may be one later): retire every entry of the
	 * organization through the epoch in PostgreSQL instead. */
	if (store_cache_epoch_bump(app->store, org_id) != STORE_OK)
		return -1;
	/* Workers that read the old epoch before the bump trust it until
	 * their lease of the key ends; return after that, so that no read
	 * which starts later uses it.  Without a cache here nothing reads the
	 * epoch meanwhile. */
	auth_forget_org(app->auth, org_id);
	if (cache_configured(app->cache))
		lease_wait(hostlease_auth_cache_ms(app->lease));
	return 0;
}

static bool is_deleted(const char *status)
{
	return status && strcmp(status, "deleted") == 0;
}

/* Whether the write changed which contacts the live listings show at the
 * contact's position.  A create is at the end (the tail covers it).
 * Where the result does not say what the status was, a contact that was
 * ever deleted may just have been restored. */
static bool liveness_changed(const struct write_result *wr)
{
	const struct contact *c = &wr->contact;

	if (strcmp(wr->action, "DELETE") == 0)
		return true;
	if (strcmp(wr->action, "IMPORT_UPDATE") != 0)
		return false;
	if (wr->prev_status)
		return is_deleted(wr->prev_status) != is_deleted(c->status);
	return c->has_deleted_at && !is_deleted(c->status);
}

void writes_contact_changed(struct app *app, const struct write_result *wr,
			    const struct contact_input *in)
{
	struct deps *d = &app->retire;
	const char *lists = wr->member_of;

	if (!wr->has_contact || wr->err || strcmp(wr->action, "NOOP") == 0 ||
	    strcmp(wr->action, "IMPORT_NOOP") == 0)
		return;
	if (strcmp(wr->action, "ERASE") == 0 || !wr->email_key) {
		deps_everything(d);
		return;
	}
	deps_any_contact(d);
	deps_email(d, wr->email_key, strlen(wr->email_key));
	if (wr->prev_email_key && strcmp(wr->prev_email_key, wr->email_key) != 0)
		deps_email(d, wr->prev_email_key, strlen(wr->prev_email_key));
	deps_block(d, wr->pos);
	if (strcmp(wr->action, "IMPORT_CREATE") == 0)
		deps_tail(d);
	if (liveness_changed(wr))
		deps_liveness_changed(d, wr->pos);
	/* The member pages show the contact: every list it is on, and those
	 * it just left. */
	while (lists && *lists) {
		char id[ID_LEN + 1];
		size_t n = strcspn(lists, ",");

		if (n > ID_LEN) {
			deps_everything(d);
			return;
		}
		memcpy(id, lists, n);
		id[n] = '\0';
		deps_list(d, id);
		lists += n + (lists[n] == ',');
	}
	for (size_t i = 0; in && i < in->nremove; i++)
		deps_list(d, in->remove[i]);
	for (size_t i = 0; in && i < in->nlists; i++)
		deps_list(d, in->lists[i]);
}

void writes_list_changed(struct app *app, const char *list_id)
{
	deps_list(&app->retire, list_id);
}

void writes_everything_changed(struct app *app)
{
	deps_everything(&app->retire);
}

int writes_begin(struct app *app, const char *org_id, uint64_t *note)
{
	struct store_backend backend;

	*note = 0;
	writes_settle(app);
	deps_init(&app->retire);
	if (store_backend(app->store, &backend) != STORE_OK ||
	    hostlease_claim(app->lease, &app->claims, app->store, org_id) < 0)
		return -1;
	*note = inflight_note(app->inflight, app->slot_index, org_id, &backend,
			     getpid());
	return *note ? 0 : -1;
}

int writes_publish(struct app *app, const char *org_id, uint64_t note)
{
	inflight_committed(app->inflight, app->slot_index, note);
	hostlease_claimed(&app->claims);
	if (retire_entries(app, org_id, &app->retire) < 0)
		return -1;
	inflight_clear(app->inflight, app->slot_index, note);
	return 0;
}

void writes_abandon(struct app *app, uint64_t note)
{
	hostlease_unclaimed(&app->claims);
	inflight_clear(app->inflight, app->slot_index, note);
}

/* Retires every entry of org: what a write changed is not known. */
static int retire_everything(struct app *app, const char *org_id)
{
	struct deps everything;

	deps_init(&everything);
	deps_everything(&everything);
	return retire_entries(app, org_id, &everything);
}

int writes_replayed(struct app *app, const char *org_id)
{
	return retire_everything(app, org_id);
}

/* One note: end its server process unless the write is known committed
 * (after that nothing of it can commit any more), then retire. */
static void settle(struct app *app, int slot, const struct inflight_note *n)
{
	if (n->backend.pid && store_end_backend(app->store, &n->backend) != STORE_OK)
		return; /* PostgreSQL unreachable: next time */
	if (retire_everything(app, n->org_id) < 0)
		return;
	inflight_clear(app->inflight, slot, n->seq);
	log_info("msg=\"settled a write whose outcome was lost\" org=%s slot=%d",
		 n->org_id, slot);
}

/* Whether a worker other than the note's maker must take note n of slot
 * up: this worker's own slot (a note of the worker that had it before),
 * a note its maker gave up (its request ended without publishing), or
 * one whose maker is gone (the master reaped it: the slot names another
 * process, or none).  A worker killed and not reaped yet looks like one
 * still running its write, for the few milliseconds until the master's
 * SIGCHLD. */
static bool nobodys(const struct app *app, int slot, const struct inflight_note *n)
{
	return slot == app->slot_index || n->owner == 0 ||
	       metrics_slot_pid(metrics_slot(app->metrics, slot)) != n->owner;
}

void writes_settle(struct app *app)
{
	int slots = inflight_slots(app->inflight);
	struct inflight_note n;

	/* Not inside a request's transaction: what settling writes (an epoch
	 * bump) must not roll back with it. */
	if (!inflight_pending(app->inflight) || store_in_transaction(app->store))
		return;
	for (int i = 0; i < slots; i++)
		if (inflight_get(app->inflight, i, &n) && nobodys(app, i, &n))
			settle(app, i, &n);
}

bool writes_in_doubt(struct app *app, const char *org_id)
{
	int slots = inflight_slots(app->inflight);
	struct inflight_note n;

	if (!inflight_pending(app->inflight))
		return false;
	for (int i = 0; i < slots; i++)
		if (inflight_get(app->inflight, i, &n) && nobodys(app, i, &n) &&
		    strcmp(n.org_id, org_id) == 0)
			return true;
	return false;
}

void writes_leave(struct app *app)
{
	inflight_leave(app->inflight, app->slot_index);
}
