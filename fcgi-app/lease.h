/* lease.h - the end of the key leases (see auth.h).
 *
 * A worker trusts a key's record for auth_cache_ms from before it read it.
 * A change that the record carries and the cache's generation does not
 * (a key revoked or its rate limit changed by contactsctl, an
 * organization's cache epoch bumped by a write) is made visible by waiting
 * that long after its commit, before reporting it done.
 */
#ifndef CONTACTS_LEASE_H
#define CONTACTS_LEASE_H

/* Sleeps lease_ms and a millisecond more (clocks of two hosts may run at
 * slightly different rates); nothing for 0. */
void lease_wait(int lease_ms);

#endif
