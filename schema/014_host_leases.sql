-- 014_host_leases.sql - each pool's lease, so that any host can settle the
-- writes of a pool that is gone as a whole (docs/caching.md, "A host that
-- dies as a whole").
--
-- A pool takes a random id when it starts, names its connections with it
-- (application_name 'contacts-fcgi <id>') and renews its row every second.
-- Before its first write to an organization it says so in pool_lease_orgs,
-- in the write's own statement sequence (committed no later than the
-- write).  A pool whose row was not renewed for its lease_ms is taken up
-- by another: its server processes are ended, then the cache epoch of
-- every organization it wrote to is bumped and its rows are deleted.

CREATE TABLE pool_leases (
    host_id       text PRIMARY KEY,
    host_name     text NOT NULL,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    lease_ms      integer NOT NULL CHECK (lease_ms > 0),
    -- the pool's key-lease length: a write waits out the longest of the
    -- live pools' (docs/caching.md, "Key leases")
    auth_cache_ms integer NOT NULL CHECK (auth_cache_ms >= 0)
);

-- No foreign key to pool_leases: a pool's first claims may precede its
-- first renewal, and a claim must not lock the pool's row (every write of
-- the pool would queue on it).
CREATE TABLE pool_lease_orgs (
    org_id  text NOT NULL REFERENCES organizations ON DELETE CASCADE,
    host_id text NOT NULL,
    PRIMARY KEY (org_id, host_id)
);
CREATE INDEX pool_lease_orgs_host ON pool_lease_orgs (host_id);
