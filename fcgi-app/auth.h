/* auth.h - API key to organization, with a short per-worker lease.
 *
 * A key's record (organization, hash, cache epoch, deleted count, rate
 * limit) is read from PostgreSQL and then trusted by this worker for
 * `auth_cache_ms` (the lease), counted from before the read was sent.
 * Whoever changes what a record says without going through the cache's
 * generation (revoking a key, bumping an organization's cache epoch) waits
 * out the lease after its commit before it reports success (lease.h):
 * from then on no worker on any host still trusts the old record.  The argument is in
 * docs/caching.md.  With auth_cache_ms = 0 every request reads PostgreSQL.
 */
#ifndef CONTACTS_AUTH_H
#define CONTACTS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "id.h"
#include "request.h"
#include "store.h"

#define KEY_PREFIX "ck_"
#define KEY_SECRET_LEN 43

/* Who is asking: the key's organization, as the store knows it. */
struct principal {
	char key_id[ID_LEN + 1];
	struct key_record key;
};

enum auth_result {
	AUTH_OK = 0,
	AUTH_DENIED = 1,       /* 401: missing, unknown, revoked or wrong */
	AUTH_UNAVAILABLE = -1, /* 503: the store cannot be reached */
	AUTH_ERROR = -2,       /* 500 */
};

struct auth;

/* A worker's key cache; lease_ms 0 caches nothing.  Never NULL. */
struct auth *auth_new(int lease_ms);
void auth_free(struct auth *a);

/* The key sent as X-API-Key or Authorization: Bearer; NULL when neither. */
const char *auth_key_from_request(const struct request *req);

/* Splits "ck_<id>_<secret>" and checks its shape; the id goes to key_id
 * (ID_LEN + 1 bytes).  Returns 0 or -1. */
int auth_parse_key(const char *key, char *key_id)
	__attribute__((warn_unused_result));

/* Finds the key's record (from the lease or from the store) and compares
 * its hash in constant time. */
enum auth_result auth_check(struct auth *a, struct store *s,
			    const struct request *req, struct principal *out)
	__attribute__((warn_unused_result));

/* Drops every record of org from this worker's cache. */
void auth_forget_org(struct auth *a, const char *org_id);

/* Microseconds on the monotonic clock. */
uint64_t auth_now_us(void);

#endif
