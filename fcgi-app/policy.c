/* policy.c - authentication and the rate limits around it (see policy.h). */
#include "policy.h"

#include <stdint.h>
#include <string.h>

#include "log.h"

/* Nanoseconds as whole seconds, rounded up. */
static unsigned long long ceil_s(uint64_t ns)
{
	return (unsigned long long)((ns + 999999999u) / 1000000000u);
}

/* Refuses with 429 and a Retry-After of the wait, in whole seconds. */
static void refuse_rate(struct response *res, uint64_t retry_ns, const char *why)
{
	unsigned long long s = ceil_s(retry_ns);

	response_fail(res, API_RATE_LIMITED, NULL, "%s", why);
	response_header(res, "Retry-After", "%llu", s ? s : 1);
}

/* What is left of the key's rate: the burst, what remains of it, and the
 * seconds until it is whole. */
static void rate_headers(struct response *res, struct rate rate,
			 const struct rate_quota *q)
{
	response_header(res, "RateLimit-Limit", "%u", rate.count);
	response_header(res, "RateLimit-Remaining", "%u", q->remaining);
	response_header(res, "RateLimit-Reset", "%llu", ceil_s(q->reset_ns));
}

bool policy_address_counted(const struct config *cfg, const char *addr,
			    struct rate *rate)
{
	size_t n = strlen(addr);
	const char *p = cfg->auth_fail_exempt;

	*rate = (struct rate){.count = (uint32_t)cfg->auth_fail_limit, .period_s = 60};
	if (rate->count == 0 || n == 0)
		return false;
	while (*p) {
		size_t len = strcspn(p, " \t,");

		if (len == n && memcmp(p, addr, n) == 0)
			return false;
		p += len;
		p += strspn(p, " \t,");
	}
	return true;
}

struct rate policy_key_rate(const struct config *cfg,
			    const struct key_record *key)
{
	int64_t per_s = key->rate_limit >= 0 ? key->rate_limit : cfg->key_rate_limit;

	if (per_s <= 0)
		return (struct rate){.count = 0, .period_s = 1};
	return (struct rate){.count = per_s > UINT32_MAX ? UINT32_MAX : (uint32_t)per_s,
			     .period_s = 1};
}

struct rate policy_host_share(struct rate rate, int hosts)
{
	if (rate.count == 0 || hosts <= 1)
		return rate;
	rate.count = (rate.count + (uint32_t)hosts - 1) / (uint32_t)hosts;
	return rate;
}

/* Whether the limits are counted across hosts, in Redis. */
static bool shared(const struct app *app)
{
	return app->cfg->pool_hosts > 1 && cache_configured(app->cache);
}

/* One event of name (kind "k" a key, "a" an address) counted in Redis:
 * 0, or -1 when Redis cannot be asked now. */
static int shared_account(struct app *app, const char *kind, const char *name,
			  struct rate rate, enum cache_gcra_mode mode,
			  struct cache_gcra *g)
{
	char full[160];
	uint64_t interval = ratelimit_interval_ns(rate) / 1000u; /* µs */
	int n;

	if (interval == 0)
		interval = 1;
	n = snprintf(full, sizeof(full), "%s:%s", kind, name);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	return cache_gcra(app->cache, full, (size_t)n, interval,
			  interval * (rate.count - 1), mode, g);
}

/* Takes one request of the key: across hosts when they share the count,
 * else (or while Redis cannot be asked) in this host's table, with the
 * share of the rate that is this host's.  *used: the rate applied. */
static bool key_take(struct app *app, const char *key_id, struct rate rate,
		     uint64_t now, uint64_t *wait, struct rate_quota *quota,
		     struct rate *used)
{
	struct cache_gcra g;

	*used = rate;
	if (shared(app) && shared_account(app, "k", key_id, rate, CACHE_GCRA_TAKE, &g) == 0) {
		*wait = g.retry_us * 1000u;
		*quota = ratelimit_quota_of(rate, g.ahead_us * 1000u);
		return g.conforms;
	}
	*used = policy_host_share(rate, app->cfg->pool_hosts);
	return ratelimit_take_quota(app->limits, key_id, strlen(key_id), *used, now,
				    wait, quota);
}

/* Counts a failed authentication of addr.  Across hosts, the count in
 * Redis is copied into this host's table, which the next request's check
 * reads without asking Redis: a host refuses an address from the first
 * failure it sees once the address is over its limit anywhere. */
static void address_charge(struct app *app, const char *addr, struct rate rate,
			   uint64_t now)
{
	struct cache_gcra g;

	if (shared(app) && shared_account(app, "a", addr, rate, CACHE_GCRA_CHARGE, &g) == 0) {
		ratelimit_raise(app->limits, addr, strlen(addr), now, g.ahead_us * 1000u);
		return;
	}
	ratelimit_charge(app->limits, addr, strlen(addr),
			 policy_host_share(rate, app->cfg->pool_hosts), now);
}

enum policy_result policy_admit(struct app *app, const struct request *req,
				struct response *res, struct principal *who)
{
	const char *addr = req->remote_addr ? req->remote_addr : "";
	bool counted;
	struct rate rate;
	uint64_t now = ratelimit_now_ns(), wait;

	counted = policy_address_counted(app->cfg, addr, &rate);
	if (counted && !ratelimit_peek(app->limits, addr, strlen(addr), rate, now, &wait)) {
		who->key_id[0] = '\0';
		refuse_rate(res, wait, "too many failed authentications from this address; retry later");
		return POLICY_ANSWERED;
	}
	switch (auth_check(app->auth, app->store, req, who)) {
	case AUTH_OK:
		break;
	case AUTH_DENIED:
		who->key_id[0] = '\0';
		if (counted)
			address_charge(app, addr, rate, now);
		response_fail(res, API_UNAUTHORIZED, NULL,
			      "a valid API key is required (X-API-Key or Authorization: Bearer)");
		return POLICY_ANSWERED;
	case AUTH_UNAVAILABLE:
		who->key_id[0] = '\0';
		response_fail(res, API_UNAVAILABLE, NULL,
			      "the database is unavailable, try again shortly");
		return POLICY_ANSWERED;
	case AUTH_ERROR:
		who->key_id[0] = '\0';
		rlog_error(req->request_id, "msg=\"key lookup failed\" detail=%s",
			   LOGQ(store_error(app->store)));
		response_fail(res, API_INTERNAL, NULL, "internal error");
		return POLICY_ANSWERED;
	}
	rate = policy_key_rate(app->cfg, &who->key);
	if (rate.count > 0) {
		struct rate_quota quota;
		struct rate used;
		bool ok;

		ok = key_take(app, who->key_id, rate, now, &wait, &quota, &used);
		rate_headers(res, used, &quota);
		if (!ok) {
			refuse_rate(res, wait, "too many requests with this API key; retry later");
			return POLICY_ANSWERED;
		}
	}
	return POLICY_ADMIT;
}
