-- 022_backend_stripes.sql - a change of the block counts adds to a stripe
-- of its own backend's (issue 13: S6, the creates).
--
-- Since 015 a change of contact_blocks (and list_member_blocks) took the
-- first stripe of its block that no other transaction held (a subquery
-- FOR NO KEY UPDATE SKIP LOCKED), then updated it: a row lock and an
-- update, two WAL records, two descents of the primary key, and a nested
-- function call, for every create.  Now a stripe belongs to the
-- PostgreSQL backend that writes it (its name is minus the backend's pid):
-- one backend runs one transaction at a time, so no other writer ever
-- holds that row, and one INSERT ... ON CONFLICT DO UPDATE adds to it (or
-- makes it) without waiting, as before.  pgbench on a create's
-- statements: about 45 µs less PostgreSQL CPU a create (docs/performance.md,
-- "The block counts of a create").
--
-- A block now has at most one stripe per backend that wrote it since the
-- last fold.  `contactsctl prune` folds the stripes that no running backend
-- writes (a backend gone, or 015's stripes named after transactions) into
-- one, so that the fold never holds a row a writer is about to take; a
-- backend that started since with a reused pid waits for the fold's
-- commit at most.
--
-- The statement triggers of both tables count with one statement, from
-- a transition table named changed_rows for an insert and a delete alike
-- (TG_OP gives the sign).

CREATE OR REPLACE FUNCTION contact_blocks_add(p_org text, p_block bigint,
                                              p_live bigint, p_present bigint)
RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF p_live = 0 AND p_present = 0 THEN
        RETURN;
    END IF;
    INSERT INTO contact_blocks AS b (org_id, block, stripe, live, present)
    VALUES (p_org, p_block, -pg_backend_pid(), p_live, p_present)
    ON CONFLICT (org_id, block, stripe) DO UPDATE
       SET live = b.live + EXCLUDED.live, present = b.present + EXCLUDED.present;
END $$;

CREATE OR REPLACE FUNCTION list_member_blocks_add(p_org text, p_list text,
                                                  p_block bigint, p_live bigint,
                                                  p_present bigint)
RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF p_live = 0 AND p_present = 0 THEN
        RETURN;
    END IF;
    INSERT INTO list_member_blocks AS b (org_id, list_id, block, stripe, live, present)
    VALUES (p_org, p_list, p_block, -pg_backend_pid(), p_live, p_present)
    ON CONFLICT (org_id, list_id, block, stripe) DO UPDATE
       SET live = b.live + EXCLUDED.live, present = b.present + EXCLUDED.present;
END $$;

-- AFTER INSERT and AFTER DELETE ON contacts: the rows' counts, by block.
CREATE FUNCTION contact_blocks_count() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    s int := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO contact_blocks AS b (org_id, block, stripe, live, present)
    SELECT org_id, pos >> 10, -pg_backend_pid(),
           s * count(*) FILTER (WHERE status <> 'deleted'), s * count(*)
      FROM changed_rows GROUP BY 1, 2
    ON CONFLICT (org_id, block, stripe) DO UPDATE
       SET live = b.live + EXCLUDED.live, present = b.present + EXCLUDED.present;
    RETURN NULL;
END $$;

-- AFTER INSERT and AFTER DELETE ON list_members: the same, by list and block.
CREATE FUNCTION list_member_blocks_count() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    s int := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    INSERT INTO list_member_blocks AS b (org_id, list_id, block, stripe, live, present)
    SELECT org_id, list_id, pos >> 10, -pg_backend_pid(),
           s * count(*) FILTER (WHERE live), s * count(*)
      FROM changed_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, list_id, block, stripe) DO UPDATE
       SET live = b.live + EXCLUDED.live, present = b.present + EXCLUDED.present;
    RETURN NULL;
END $$;

DROP TRIGGER contacts_inserted ON contacts;
DROP TRIGGER contacts_removed ON contacts;
DROP TRIGGER list_members_inserted ON list_members;
DROP TRIGGER list_members_removed ON list_members;
DROP FUNCTION contacts_inserted();
DROP FUNCTION contacts_removed();
DROP FUNCTION list_members_inserted();
DROP FUNCTION list_members_removed();

CREATE TRIGGER contacts_inserted AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contact_blocks_count();
CREATE TRIGGER contacts_removed AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contact_blocks_count();
CREATE TRIGGER list_members_inserted AFTER INSERT ON list_members
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_member_blocks_count();
CREATE TRIGGER list_members_removed AFTER DELETE ON list_members
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_member_blocks_count();

-- As 015's, but for the stripes of running backends, which stay as they
-- are: each block's others are folded into the least of them.
CREATE OR REPLACE FUNCTION block_stripes_fold(p_batch int) RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    g record;
    n bigint := 0;
    d bigint;
    -- the stripes of the backends that run now
    v_live bigint[] := ARRAY(SELECT -a.pid::bigint FROM pg_stat_activity a);
BEGIN
    FOR g IN SELECT org_id, block FROM contact_blocks
              WHERE stripe <> ALL (v_live)
              GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2 LIMIT p_batch LOOP
        WITH l AS MATERIALIZED (
            SELECT b.stripe, b.live, b.present FROM contact_blocks b
             WHERE b.org_id = g.org_id AND b.block = g.block
               AND b.stripe <> ALL (v_live)
             ORDER BY b.stripe FOR UPDATE SKIP LOCKED),
        k AS (SELECT min(stripe) AS stripe, sum(live) AS live,
                     sum(present) AS present FROM l HAVING count(*) > 1),
        gone AS (
            DELETE FROM contact_blocks b USING l, k
             WHERE b.org_id = g.org_id AND b.block = g.block
               AND b.stripe = l.stripe AND l.stripe <> k.stripe
            RETURNING 1),
        kept AS (
            UPDATE contact_blocks b SET live = k.live, present = k.present
              FROM k WHERE b.org_id = g.org_id AND b.block = g.block
               AND b.stripe = k.stripe)
        SELECT count(*) INTO d FROM gone;
        n := n + d;
    END LOOP;
    FOR g IN SELECT org_id, list_id, block FROM list_member_blocks
              WHERE stripe <> ALL (v_live)
              GROUP BY 1, 2, 3 HAVING count(*) > 1 ORDER BY 1, 2, 3 LIMIT p_batch LOOP
        WITH l AS MATERIALIZED (
            SELECT b.stripe, b.live, b.present FROM list_member_blocks b
             WHERE b.org_id = g.org_id AND b.list_id = g.list_id
               AND b.block = g.block AND b.stripe <> ALL (v_live)
             ORDER BY b.stripe FOR UPDATE SKIP LOCKED),
        k AS (SELECT min(stripe) AS stripe, sum(live) AS live,
                     sum(present) AS present FROM l HAVING count(*) > 1),
        gone AS (
            DELETE FROM list_member_blocks b USING l, k
             WHERE b.org_id = g.org_id AND b.list_id = g.list_id
               AND b.block = g.block
               AND b.stripe = l.stripe AND l.stripe <> k.stripe
            RETURNING 1),
        kept AS (
            UPDATE list_member_blocks b SET live = k.live, present = k.present
              FROM k WHERE b.org_id = g.org_id AND b.list_id = g.list_id
               AND b.block = g.block AND b.stripe = k.stripe)
        SELECT count(*) INTO d FROM gone;
        n := n + d;
    END LOOP;
    RETURN n;
END $$;
