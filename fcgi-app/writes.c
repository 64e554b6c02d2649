/* writes.c - noting, publishing and settling writes. */
#include "writes.h"

#include "lease.h"
#include "log.h"

/* Makes every cached answer of org unreachable (docs/caching.md, the
 * write path).  0, or -1 when neither Redis nor PostgreSQL took it. */
static int retire_entries(struct app *app, const char *org_id)
{
	if (cache_configured(app->cache) && cache_invalidate(app->cache, org_id) == 0)
		return 0;
	/* Redis did not take the new generation (or there is no cache now
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
		lease_wait(app->cfg->auth_cache_ms);
	return 0;
}

int writes_begin(struct app *app, const char *org_id, uint64_t *note)
{
	struct store_backend backend;

	*note = 0;
	writes_settle(app);
	if (store_backend(app->store, &backend) != STORE_OK)
		return -1;
	*note = inflight_note(app->inflight, app->slot_index, org_id, &backend);
	return *note ? 0 : -1;
}

int writes_publish(struct app *app, const char *org_id, uint64_t note)
{
	inflight_committed(app->inflight, app->slot_index, note);
	if (retire_entries(app, org_id) < 0)
		return -1;
	inflight_clear(app->inflight, app->slot_index, note);
	return 0;
}

void writes_abandon(struct app *app, uint64_t note)
{
	inflight_clear(app->inflight, app->slot_index, note);
}

/* One note: end its server process unless the write is known committed
 * (after that nothing of it can commit any more), then retire. */
static void settle(struct app *app, int slot)
{
	struct inflight_note n;

	if (!inflight_get(app->inflight, slot, &n))
		return;
	if (n.backend.pid && store_end_backend(app->store, &n.backend) != STORE_OK)
		return; /* PostgreSQL unreachable: next time */
	if (retire_entries(app, n.org_id) < 0)
		return;
	inflight_clear(app->inflight, slot, n.seq);
	log_info("msg=\"settled a write whose outcome was lost\" org=%s slot=%d",
		 n.org_id, slot);
}

void writes_settle(struct app *app)
{
	int n = inflight_slots(app->inflight);

	/* Not inside a request's transaction: what settling writes (an epoch
	 * bump) must not roll back with it. */
	if (!inflight_pending(app->inflight) || store_in_transaction(app->store))
		return;
	for (int i = 0; i < n; i++)
		if (i == app->slot_index ||
		    metrics_slot_pid(metrics_slot(app->metrics, i)) == 0)
			settle(app, i);
}
