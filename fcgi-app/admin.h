/* admin.h - what contactsctl does: migrations, organizations, API keys.
 * Each function prints its result on stdout and its errors on stderr, and
 * returns 0 or -1. */
#ifndef CONTACTS_ADMIN_H
#define CONTACTS_ADMIN_H

#include <stdbool.h>

struct admin;

/* Connects to conninfo; NULL (with the reason on stderr) when it cannot. */
struct admin *admin_connect(const char *conninfo);
void admin_free(struct admin *a);

int admin_migrate(struct admin *a, const char *schema_dir, bool quiet)
	__attribute__((warn_unused_result));
int admin_org_create(struct admin *a, const char *name)
	__attribute__((warn_unused_result));
/* rate_limit: NULL or "default" (the service's key_rate_limit), else
 * requests per second, 0 for none. */
int admin_key_create(struct admin *a, const char *org_id, const char *name,
		     const char *rate_limit) __attribute__((warn_unused_result));
/* Listings and records: a table or lines for people, or with json one
 * JSON value (an array of objects, or an object) on one line. */
int admin_org_list(struct admin *a, bool json) __attribute__((warn_unused_result));
int admin_org_show(struct admin *a, const char *org_id, bool json)
	__attribute__((warn_unused_result));
int admin_key_list(struct admin *a, const char *org_id, bool json)
	__attribute__((warn_unused_result));
int admin_key_show(struct admin *a, const char *key_id, bool json)
	__attribute__((warn_unused_result));
/* Both wait lease_ms after the commit, like admin_key_revoke: the new name
 * is shown, the old key refused, by every worker once they return. */
int admin_org_rename(struct admin *a, const char *org_id, const char *name,
		     int lease_ms) __attribute__((warn_unused_result));
/* Replaces an active key by a new one (a new id and secret, the same
 * organization, name and rate limit), revoking the old one in the same
 * transaction; prints the new key, once. */
int admin_key_rotate(struct admin *a, const char *key_id, int lease_ms)
	__attribute__((warn_unused_result));
/* Prints the plan of every statement the service runs, for org_id. */
/* Removes the change feed's entries older than keep_days (>= 30), and
 * the idempotency answers past their 24 hours. */
int admin_prune(struct admin *a, const char *keep_days)
	__attribute__((warn_unused_result));
int admin_explain(struct admin *a, const char *org_id)
	__attribute__((warn_unused_result));
/* Both return once no worker trusts the old record any more: they wait
 * lease_ms (the service's auth_cache_ms) after the commit. */
int admin_key_revoke(struct admin *a, const char *key_id, int lease_ms)
	__attribute__((warn_unused_result));
int admin_key_limit(struct admin *a, const char *key_id, const char *rate_limit,
		    int lease_ms) __attribute__((warn_unused_result));

#endif
