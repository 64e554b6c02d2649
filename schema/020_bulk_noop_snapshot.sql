-- 020_bulk_noop_snapshot.sql - a bulk row that changes nothing is not
-- locked when the answer is not kept (issue 13: B2, a sync that sends
-- again what it sent before).
--
-- 016's plain pass locked every existing row (FOR NO KEY UPDATE) and told
-- IMPORT_NOOP from IMPORT_UPDATE on the locked version.  A row lock is a
-- write: the tuple's xmax set, its page dirtied, a WAL record, and a wait
-- for any transaction that holds the row.  In a sync where 90% of the rows
-- are unchanged that was most of the request's work.  Now step 1 reads
-- each existing row whole (still without a lock, as before), and a row that
-- is unchanged in that version is answered IMPORT_NOOP from it; only the
-- rows that change are locked, in key order as before, and classified again
-- on the locked version.
--
-- That answer is the contact as the request found it.  A write that
-- commits after the request's read (a PATCH, a delete, an erasure of the
-- contact) is then ordered after the bulk for that row, as if it had come
-- a moment later, which it did: the bulk wrote nothing that it could
-- overwrite, and the answer is sent once.  It is not enough for an
-- answer that is kept, under an Idempotency-Key: an erasure that commits
-- between the read and the bulk's commit would not find the answer (not
-- committed yet) and the answer, replayed for 24 hours, would show the
-- erased contact.  So the worker passes p_answer_kept, and a kept answer
-- locks every row as 016 did: an erasure of one of them waits for the
-- bulk's commit, and its trigger retires the answer (006).  The default is
-- the safe one, for a worker of the previous release that calls the
-- function with two arguments.  The row-by-row pass (a request that names
-- lists or custom fields, or an email twice) is unchanged.
--
-- The temporary table has a new name (bulk_scan): a session that ran 016's
-- function has bulk_pass, without the column for the row.

-- The test of IMPORT_NOOP for a plain row: c, the contact, has every field
-- the row sets (bit f of r's fields) and is not deleted.  Inlined.
CREATE FUNCTION contact_bulk_same(c contacts, r jsonb, f int)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT c.status <> 'deleted'
       AND NOT (f & 1 <> 0 AND c.eid IS DISTINCT FROM r->>'eid')
       AND NOT (f & 2 <> 0 AND c.name IS DISTINCT FROM r->>'name')
       AND NOT (f & 4 <> 0 AND c.phone IS DISTINCT FROM r->>'phone')
       AND NOT (f & 8 <> 0 AND c.company IS DISTINCT FROM r->>'company')
       AND NOT (f & 16 <> 0 AND c.type IS DISTINCT FROM r->>'type')
$$;

DROP FUNCTION contact_bulk(text, jsonb);

CREATE FUNCTION contact_bulk(p_org text, p_rows jsonb,
                             p_answer_kept boolean DEFAULT true)
RETURNS SETOF contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r jsonb;
    v_plain boolean;
    v_new int;
    v_ins bigint := 0;
    v_seq regclass;
    v_key bytea;
    v_suppressions bigint;
    v_pos bigint[];
BEGIN
    -- The rows, in a table of this session's own, made once and emptied at
    -- every commit (015's bulk_rows and 016's bulk_pass have other shapes;
    -- a session that ran them before this migration still has them).
    IF to_regclass('pg_temp.bulk_scan') IS NULL THEN
        CREATE TEMP TABLE bulk_scan (
            n int PRIMARY KEY, r jsonb, k text, f int, c contacts, seen boolean,
            action text, err text)
            ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM bulk_scan;

    -- 1: which emails exist, and their contacts as this statement sees
    -- them, read without a lock.  Every look-up is a probe of (org_id,
    -- email_key) by row (LATERAL): the planner cannot pick a scan of the
    -- organization's contacts.
    INSERT INTO bulk_scan (n, r, k, f, c, seen)
    SELECT x.n, x.value, x.k, x.f, z.c, (z.c).pos IS NOT NULL
      FROM (SELECT t.n, t.value, email_key(t.value->>'key') AS k,
                   (t.value->>'f')::int AS f
              FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t (value, n)) x
      LEFT JOIN LATERAL (
            SELECT t AS c FROM contacts t
             WHERE t.org_id = p_org AND t.email_key = x.k) z ON true;

    SELECT bool_and(jsonb_array_length(b.r->'add') = 0
                    AND jsonb_array_length(b.r->'remove') = 0
                    AND jsonb_typeof(b.r->'cf') IS DISTINCT FROM 'object')
           AND count(DISTINCT b.k) = count(*),
           count(*) FILTER (WHERE NOT b.seen)
      INTO v_plain, v_new FROM bulk_scan b;

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
            UPDATE bulk_scan b SET seen = true
             WHERE NOT b.seen AND EXISTS (
                   SELECT 1 FROM contacts t
                    WHERE t.org_id = p_org AND t.email_key = b.k);
        END IF;
        PERFORM 1
          FROM (SELECT DISTINCT b.k FROM bulk_scan b WHERE b.seen ORDER BY b.k) x
          JOIN LATERAL (
                SELECT 1 FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = x.k
                   FOR NO KEY UPDATE) c ON true;
        FOR r IN SELECT b.r FROM bulk_scan b ORDER BY b.n LOOP
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
            UPDATE bulk_scan b SET action = 'refused', err = 'suppressed'
             WHERE NOT b.seen AND EXISTS (
                   SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                      AND s.hash = suppress_hash(v_key, b.k));
            SELECT count(*) INTO v_new FROM bulk_scan b
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
                  FROM bulk_scan b WHERE NOT b.seen AND b.action IS NULL) o
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
          FROM (SELECT b.n, b.k, b.f, b.r FROM bulk_scan b
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
          FROM bulk_scan b
          LEFT JOIN l ON l.n = b.n
          LEFT JOIN u ON u.n = b.n)
    SELECT (q.w).* FROM q ORDER BY q.n;
END $$;

