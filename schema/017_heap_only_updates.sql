-- 017_heap_only_updates.sql - an update of a contact no longer writes an
-- entry into every index of the table (issue 13: a leaner single write).
--
-- Every write of a contact sets its updated_at, and 004 indexed it,
-- (org_id, updated_at), for GET /contacts?updated_since=.  An UPDATE that
-- changes an indexed column cannot be a heap-only tuple (HOT): it adds an
-- entry to each of the table's six indexes, where a HOT update adds none.
-- After a run of S5 pg_stat_user_tables showed 0 HOT updates of contacts;
-- pgbench on the service's own upsert ran +32% without the index
-- (docs/performance.md, 2026-12-07).
--
-- updated_since now finds its contacts through the change feed, which
-- already records every write of a contact with its time
-- (changes.at = clock_timestamp() in the statement-level trigger, so at
-- or after the updated_at that write set): the contacts named by the
-- organization's entries at or after the time asked, kept when their
-- updated_at is (fcgi-app/store_sql.h, UPDATED_SINCE).  That needs every
-- entry at or after that time to be kept: changes_prune deletes the
-- oldest first (ORDER BY at), so when an entry older than the time asked
-- is still there, none after it went.  Otherwise (the time is older than
-- the feed's retention, or older than the organization's first entry:
-- contacts written before 004) the statement reads the organization's
-- contacts in creation order instead, as a page of all of them does, and
-- keeps those updated since.
--
-- The feed's entries are indexed by organization and time
-- (changes_org_at), which replaces 004's changes_at (at): changes_prune
-- now takes the oldest entries organization by organization, so a write
-- still maintains three indexes of changes, not four.

CREATE INDEX changes_org_at ON changes (org_id, at);
DROP INDEX changes_at;
DROP INDEX contacts_org_updated;

-- Room on each page for the new version of a row (HOT needs it on the
-- same page); pages written from now on keep 10% free.
ALTER TABLE contacts SET (fillfactor = 90);

-- As 004's, one organization at a time, each one's oldest entries first
-- (changes_org_at); at most p_batch entries in all.  The entries of one
-- organization still go oldest first, which UPDATED_SINCE relies on.
CREATE OR REPLACE FUNCTION changes_prune(p_keep interval, p_batch int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := 0;
    d bigint;
    o record;
    v_cut timestamptz := now() - p_keep;
BEGIN
    IF p_keep < interval '30 days' THEN
        RAISE EXCEPTION 'the change feed keeps at least 30 days'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR o IN SELECT id FROM organizations ORDER BY id LOOP
        EXIT WHEN n >= p_batch;
        WITH gone AS (
            DELETE FROM changes c
             WHERE c.org_id = o.id AND (c.xid, c.seq) IN (
                   SELECT x.xid, x.seq FROM changes x
                    WHERE x.org_id = o.id AND x.at < v_cut
                    ORDER BY x.at LIMIT p_batch - n)
            RETURNING c.xid, c.seq),
        last AS (
            SELECT g.xid, g.seq FROM gone g ORDER BY g.xid DESC, g.seq DESC LIMIT 1),
        moved AS (
            UPDATE organizations g
               SET feed_horizon_xid = l.xid, feed_horizon_seq = l.seq
              FROM last l
             WHERE g.id = o.id
               AND (l.xid, l.seq) > (g.feed_horizon_xid, g.feed_horizon_seq)
            RETURNING 1)
        SELECT count(*) INTO d FROM gone;
        n := n + d;
    END LOOP;
    RETURN n;
END $$;
