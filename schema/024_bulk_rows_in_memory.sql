-- 024_bulk_rows_in_memory.sql - a bulk request's rows in an array, not in
-- a temporary table (issue 13: B1, B2).
--
-- 020's contact_bulk kept the request's rows in bulk_scan, a temporary
-- table of the session's, emptied at every commit (ON COMMIT DELETE
-- ROWS).  What that cost a request, in PostgreSQL's profile of a sync's
-- request of 1000 unchanged rows: the inserts into the table and its
-- primary key; the table's file extended again page by page (a write
-- system call each), having been truncated at the last commit; the
-- truncation itself, which builds the empty primary key again and so
-- changes the table's catalog row, which invalidates every cached plan
-- of the function's statements that read the table: all of them were
-- planned again at every request.  About a quarter of the request's time.
-- Now the rows are an array of bulk_row, a variable of the function,
-- read with unnest() by each statement (rewritten whole by the two that
-- changed some rows: the suppressed ones, and the ones created
-- meanwhile): 12.5 -> 10 ms a request of 1000 rows, one tenth of them
-- changed (docs/performance.md, "A bulk request's rows").  The function is
-- 020's otherwise, step for step.

CREATE TYPE bulk_row AS (
    n int, r jsonb, k text, f int, c contacts, seen boolean, action text,
    err text);

CREATE OR REPLACE FUNCTION contact_bulk(p_org text, p_rows jsonb,
                                        p_answer_kept boolean DEFAULT true)
RETURNS SETOF contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r jsonb;
    v_rows bulk_row[];
    v_plain boolean;
    v_new int;
    v_ins bigint := 0;
    v_seq regclass;
    v_key bytea;
    v_suppressions bigint;
    v_pos bigint[];
BEGIN
    -- 1: which emails exist, and their contacts as this statement sees
    -- them, read without a lock.  Every look-up is a probe of (org_id,
    -- email_key) by row (LATERAL): the planner cannot pick a scan of the
    -- organization's contacts.
    v_rows := ARRAY(
        SELECT ROW(x.n, x.value, x.k, x.f, z.c, (z.c).pos IS NOT NULL,
                   NULL, NULL)::bulk_row
          FROM (SELECT t.n::int AS n, t.value, email_key(t.value->>'key') AS k,
                       (t.value->>'f')::int AS f
                  FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t (value, n)) x
          LEFT JOIN LATERAL (
                SELECT t AS c FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = x.k) z ON true
         ORDER BY x.n);

    SELECT bool_and(jsonb_array_length(b.r->'add') = 0
                    AND jsonb_array_length(b.r->'remove') = 0
                    AND jsonb_typeof(b.r->'cf') IS DISTINCT FROM 'object')
           AND count(DISTINCT b.k) = count(*),
           count(*) FILTER (WHERE NOT b.seen)
      INTO v_plain, v_new FROM unnest(v_rows) b;

    IF NOT coalesce(v_plain, false) THEN
        -- Row by row, in request order (005): no create of the
        -- organization runs beside it, and the existing rows are taken in
        -- key order first.
        IF v_new > 0 THEN
            PERFORM 1 FROM organizations o WHERE o.id = p_org FOR NO KEY UPDATE;
            -- The contacts created since step 1 (committed before the row
            -- was ours; none can be created now) are locked with the others,
            -- in key order: the pass below must not be the first to lock
            -- one, out of order.
            v_rows := ARRAY(
                SELECT ROW(b.n, b.r, b.k, b.f, b.c, b.seen OR EXISTS (
                           SELECT 1 FROM contacts t
                            WHERE t.org_id = p_org AND t.email_key = b.k),
                           b.action, b.err)::bulk_row
                  FROM unnest(v_rows) b ORDER BY b.n);
        END IF;
        PERFORM 1
          FROM (SELECT DISTINCT b.k FROM unnest(v_rows) b WHERE b.seen ORDER BY b.k) x
          JOIN LATERAL (
                SELECT 1 FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = x.k
                   FOR NO KEY UPDATE) c ON true;
        FOR r IN SELECT b.r FROM unnest(v_rows) b ORDER BY b.n LOOP
            RETURN NEXT contact_bulk_row(p_org, r);
        END LOOP;
        RETURN;
    END IF;

    -- 2: the new emails' suppressions and positions.  The suppressions are
    -- read after the organization's row is shared: an erasure that held
    -- it has committed by then (contact_erase).
    IF v_new > 0 THEN
        SELECT o.suppress_key, o.suppressions, o.pos_seq
          INTO v_key, v_suppressions, v_seq
          FROM organizations o WHERE o.id = p_org FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization % does not exist', p_org
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF v_suppressions > 0 THEN
            v_rows := ARRAY(
                SELECT CASE WHEN NOT b.seen AND EXISTS (
                            SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                               AND s.hash = suppress_hash(v_key, b.k))
                       THEN ROW(b.n, b.r, b.k, b.f, b.c, b.seen, 'refused',
                                'suppressed')::bulk_row
                       ELSE ROW(b.n, b.r, b.k, b.f, b.c, b.seen, b.action,
                                b.err)::bulk_row END
                  FROM unnest(v_rows) b ORDER BY b.n);
            SELECT count(*) INTO v_new FROM unnest(v_rows) b
             WHERE NOT b.seen AND b.action IS NULL;
        END IF;
    END IF;
    IF v_new > 0 THEN
        -- One session's nextval() values only grow: sorted, the i-th goes
        -- to the i-th new row in request order.
        SELECT array_agg(g.p ORDER BY g.p) INTO v_pos
          FROM (SELECT nextval(v_seq) AS p FROM generate_series(1, v_new)) g;

        -- 3: the new contacts, inserted in key order.
        INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid,
                                   name, phone, company, type, status,
                                   fields, created_at, updated_at)
        SELECT p_org, v_pos[o.i],
               o.r->>'id', o.r->>'email', o.k, o.r->>'eid',
               o.r->>'name', o.r->>'phone', o.r->>'company',
               coalesce(o.r->>'type', 'customer'), 'active', '{}',
               clock_timestamp(), clock_timestamp()
          FROM (SELECT b.r, b.k, row_number() OVER (ORDER BY b.n) AS i
                  FROM unnest(v_rows) b WHERE NOT b.seen AND b.action IS NULL) o
         ORDER BY o.k
        ON CONFLICT (org_id, email_key) DO NOTHING;
        GET DIAGNOSTICS v_ins = ROW_COUNT;
    END IF;

    -- 4: the rows that existed (but, when the answer is not kept, those
    -- unchanged in step 1's version: IMPORT_NOOP from that version, in
    -- step 6), and (when a concurrent create of one of
    -- them won) the new ones too, locked in key order and told apart on
    -- the locked version: IMPORT_CREATE for the contacts step 3 inserted,
    -- IMPORT_NOOP, or IMPORT_UPDATE (a deleted contact comes back).  A row
    -- whose contact is gone by now (an erasure between 1 and 4) gets no
    -- action and is written by contact_bulk_row.  5: the updates, with
    -- contact_upsert's rules, of rows all locked already.  6: the results
    -- in request order.
    RETURN QUERY
    WITH l AS MATERIALIZED (
        SELECT x.n, x.f, x.r, z.c,
               CASE WHEN (z.c).pos IS NULL THEN NULL
                    WHEN (z.c).id = x.r->>'id' THEN 'IMPORT_CREATE'
                    WHEN contact_bulk_same(z.c, x.r, x.f)
                    THEN 'IMPORT_NOOP' ELSE 'IMPORT_UPDATE' END AS action
          FROM (SELECT b.n, b.k, b.f, b.r FROM unnest(v_rows) b
                 WHERE b.action IS NULL AND (b.seen OR v_ins < v_new)
                   AND NOT (b.seen AND NOT p_answer_kept
                            AND contact_bulk_same(b.c, b.r, b.f))
                 ORDER BY b.k) x
          LEFT JOIN LATERAL (
                SELECT t AS c FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = x.k
                   FOR NO KEY UPDATE) z ON true),
    u AS (
        UPDATE contacts AS t SET
            eid     = CASE WHEN l.f & 1 <> 0 THEN l.r->>'eid' ELSE t.eid END,
            name    = CASE WHEN l.f & 2 <> 0 THEN l.r->>'name' ELSE t.name END,
            phone   = CASE WHEN l.f & 4 <> 0 THEN l.r->>'phone' ELSE t.phone END,
            company = CASE WHEN l.f & 8 <> 0 THEN l.r->>'company' ELSE t.company END,
            type    = CASE WHEN l.f & 16 <> 0 THEN l.r->>'type' ELSE t.type END,
            status  = CASE WHEN t.status <> 'deleted' THEN t.status
                           WHEN t.prior_status = 'unsubscribed' THEN 'unsubscribed'
                           ELSE 'active' END,
            updated_at  = clock_timestamp(),
            last_action = 'IMPORT_UPDATE'
          FROM l
         WHERE t.org_id = p_org
           AND t.pos = ANY (ARRAY(SELECT (y.c).pos FROM l y
                                   WHERE y.action = 'IMPORT_UPDATE'))
           AND (l.c).pos = t.pos AND l.action = 'IMPORT_UPDATE'
        RETURNING l.n, t AS c),
    q AS MATERIALIZED (
        SELECT b.n, CASE
            WHEN b.action = 'refused' THEN
                ROW(NULL, NULL, NULL, NULL, b.err, 'email', NULL, NULL,
                    NULL)::contact_write
            WHEN u.n IS NOT NULL THEN
                ROW(u.c, 'IMPORT_UPDATE', 0, 0, NULL, NULL, NULL, NULL,
                    (l.c).status)::contact_write
            WHEN l.action = 'IMPORT_NOOP' THEN
                ROW(l.c, 'IMPORT_NOOP', 0, 0, NULL, NULL, NULL, NULL,
                    (l.c).status)::contact_write
            WHEN l.n IS NULL AND b.seen THEN
                ROW(b.c, 'IMPORT_NOOP', 0, 0, NULL, NULL, NULL, NULL,
                    (b.c).status)::contact_write
            WHEN l.n IS NOT NULL AND l.action IS NULL THEN
                contact_bulk_row(p_org, b.r)
            ELSE (SELECT ROW(t, 'IMPORT_CREATE', 0, 0, NULL, NULL, NULL, NULL,
                             NULL)::contact_write
                    FROM contacts t
                   WHERE t.org_id = p_org AND t.email_key = b.k) END AS w
          FROM unnest(v_rows) b
          LEFT JOIN l ON l.n = b.n
          LEFT JOIN u ON u.n = b.n)
    SELECT (q.w).* FROM q ORDER BY q.n;
END $$;

