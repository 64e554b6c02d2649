/* policy.h - may a request go on to its handler?  The API key and the
 * limits around it, decided between the router and the handler of a route
 * that needs a key (docs/architecture.md, "Order of checks"):
 *
 *   1. a client address with auth_fail_limit failed authentications in the
 *      last minute is refused (429) before its key is looked at, unless
 *      the address is listed in auth_fail_exempt;
 *   2. the key (auth.c): missing, unknown, revoked or wrong is 401 and
 *      counts against the address; the store unreachable is 503, a failed
 *      look-up 500;
 *   3. a key with a rate (its own, else key_rate_limit: requests a second,
 *      in bursts of as many) is refused over it (429).  Every answer to
 *      such a key, refused or not, carries RateLimit-Limit, -Remaining and
 *      -Reset (draft-ietf-httpapi-ratelimit-headers).
 *
 * A 429 carries Retry-After, the wait in whole seconds rounded up (at
 * least 1).  The limits are counted in the pool's shared table
 * (ratelimit.h), or, with pool_hosts > 1, in Redis for every host behind
 * the upstream (cache_gcra(), on Redis's clock): a key's requests are
 * counted there one by one; an address's failures are counted there and
 * copied into this host's table, which the check before the key reads.
 * While Redis cannot be asked, each host counts alone with its share of
 * the rate (1/pool_hosts).  Which status an error is stays response.c's.
 */
#ifndef CONTACTS_POLICY_H
#define CONTACTS_POLICY_H

#include <stdbool.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "ratelimit.h"
#include "request.h"
#include "response.h"

enum policy_result {
	POLICY_ADMIT = 0,    /* on to the handler */
	POLICY_ANSWERED = 1, /* refused: res holds the answer */
};

/* Authenticates req within the limits.  who (caller storage) is filled by
 * auth_check(); who->key_id is "" unless the key was accepted (even if its
 * rate then refused it), so that the request's log line names only a key
 * that was. */
enum policy_result policy_admit(struct app *app, const struct request *req,
				struct response *res, struct principal *who)
	__attribute__((warn_unused_result));

/* The pure parts, for the tests. */

/* The share of rate one of hosts hosts allows while it counts alone
 * (rounded up: never less than one event). */
struct rate policy_host_share(struct rate rate, int hosts);

/* Whether failed authentications from addr are counted, and at which
 * rate (*rate: auth_fail_limit a minute, set either way): not when the
 * limit is 0, addr is "" (no address), or addr is one of the addresses
 * of auth_fail_exempt (separated by spaces, tabs or commas). */
bool policy_address_counted(const struct config *cfg, const char *addr,
			    struct rate *rate);
/* A key's rate: its own rate_limit when it has one (>= 0), else
 * key_rate_limit; a second, with bursts of as many.  A count of 0 is no
 * limit. */
struct rate policy_key_rate(const struct config *cfg,
			    const struct key_record *key);

#endif
