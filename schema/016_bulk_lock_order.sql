-- 016_bulk_lock_order.sql - bulk requests that name the same new emails no
-- longer deadlock each other.
--
-- Since 015 the creates of one organization share its row instead of
-- queueing on it, so two bulk requests insert at the same time.  015's
-- bulk locked the existing contacts in key order (step 1) and then
-- inserted the new ones in request order (step 4): two requests naming
-- the same new emails in different orders each waited for the other's
-- uncommitted insert (ON CONFLICT waits to learn whether it conflicts),
-- and one of them was rolled back after deadlock_timeout.  A request
-- that lost the race to an email then updated that contact (step 5)
-- while holding its own inserts: a second way round.
--
-- Now every wait of a bulk request is taken in the order of the emails'
-- keys, and in one direction only:
--
--   1. read which emails exist, without locking anything;
--   2. (new emails only) share the organization's row, refuse the
--      suppressed emails and draw the new contacts' positions from the
--      organization's sequence in request order, so the creation order is
--      still the request's;
--   3. insert the new contacts in key order (ON CONFLICT DO NOTHING: a
--      wait is only ever for a concurrent insert of a key after the ones
--      this request holds);
--   4. lock, in key order, every row that was not created by step 3 (the
--      existing contacts, and those a concurrent create won), and tell
--      IMPORT_NOOP from IMPORT_UPDATE on the locked row;
--   5. update the rows that change (all locked: no wait).
--
-- A wait in step 4 is for a row another request locked in its own step 4
-- (key order again) or updated on its own: never for an insert of a
-- request that is itself waiting, because step 3 only returns once each of
-- its conflicts has committed.  The rows that are not plain (lists, custom
-- fields, an email twice) keep 005's row-by-row pass in request order: it
-- first takes the organization's row exclusively when it may create (so no
-- other create runs beside it) and the existing rows in key order.
--
-- An erasure that suppresses takes the organization's row before the
-- contact's, like every create that may later update a contact: the one
-- lock order is the organization, then contacts in key order.

CREATE OR REPLACE FUNCTION contact_erase(p_org text, p_id text, p_email_key text,
                                         p_suppress boolean)
RETURNS contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_id text := p_id;
BEGIN
    IF p_suppress THEN
        PERFORM 1 FROM organizations o WHERE o.id = p_org FOR NO KEY UPDATE;
    END IF;
    IF v_id IS NULL THEN
        SELECT t.id INTO v_id FROM contacts t
         WHERE t.org_id = p_org AND t.email_key = email_key(p_email_key);
    END IF;
    SELECT * INTO c FROM contacts t WHERE t.org_id = p_org AND t.id = v_id
       FOR UPDATE;
    IF NOT FOUND THEN
        r.err := 'not_found';
        RETURN r;
    END IF;
    DELETE FROM list_members m WHERE m.org_id = p_org AND m.contact_id = v_id;
    DELETE FROM contacts t WHERE t.org_id = p_org AND t.id = v_id;
    -- A create of the same email waits for the organization's row (shared
    -- by creates) or for this contact's row lock, then finds no contact
    -- and checks the suppressions in a snapshot taken after this commit
    -- (contact_upsert): it cannot slip past.
    IF p_suppress THEN
        WITH s AS (
            INSERT INTO suppressions (org_id, hash)
            SELECT p_org, suppress_hash(o.suppress_key, c.email_key)
              FROM organizations o WHERE o.id = p_org
            ON CONFLICT DO NOTHING
            RETURNING 1)
        UPDATE organizations o SET suppressions = o.suppressions + 1
         WHERE o.id = p_org AND EXISTS (SELECT 1 FROM s);
    END IF;
    r.c := c;
    r.action := 'ERASE';
    RETURN r;
END $$;

CREATE OR REPLACE FUNCTION contact_bulk(p_org text, p_rows jsonb)
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
    -- every commit (015's bulk_rows has another shape; a session that ran
    -- it before this migration still has it).
    IF to_regclass('pg_temp.bulk_pass') IS NULL THEN
        CREATE TEMP TABLE bulk_pass (
            n int PRIMARY KEY, r jsonb, k text, f int, seen boolean,
            action text, err text)
            ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM bulk_pass;

    -- 1: which emails exist, read without a lock.  Every look-up is a
    -- probe of (org_id, email_key) by row (LATERAL): the planner cannot
    -- pick a scan of the organization's contacts.
    INSERT INTO bulk_pass (n, r, k, f, seen)
    SELECT x.n, x.value, x.k, x.f, z.one IS NOT NULL
      FROM (SELECT t.n, t.value, email_key(t.value->>'key') AS k,
                   (t.value->>'f')::int AS f
              FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t (value, n)) x
      LEFT JOIN LATERAL (
            SELECT 1 AS one FROM contacts t
             WHERE t.org_id = p_org AND t.email_key = x.k) z ON true;

    SELECT bool_and(jsonb_array_length(b.r->'add') = 0
                    AND jsonb_array_length(b.r->'remove') = 0
                    AND jsonb_typeof(b.r->'cf') IS DISTINCT FROM 'object')
           AND count(DISTINCT b.k) = count(*),
           count(*) FILTER (WHERE NOT b.seen)
      INTO v_plain, v_new FROM bulk_pass b;

    IF NOT coalesce(v_plain, false) THEN
        -- Row by row, in request order (005): no create of the
        -- organization runs beside it, and the existing rows are taken in
        -- key order first.
        IF v_new > 0 THEN
            PERFORM 1 FROM organizations o WHERE o.id = p_org FOR NO KEY UPDATE;
        END IF;
        PERFORM 1
          FROM (SELECT DISTINCT b.k FROM bulk_pass b WHERE b.seen ORDER BY b.k) x
          JOIN LATERAL (
                SELECT 1 FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = x.k
                   FOR NO KEY UPDATE) c ON true;
        FOR r IN SELECT b.r FROM bulk_pass b ORDER BY b.n LOOP
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
            UPDATE bulk_pass b SET action = 'refused', err = 'suppressed'
             WHERE NOT b.seen AND EXISTS (
                   SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                      AND s.hash = suppress_hash(v_key, b.k));
            SELECT count(*) INTO v_new FROM bulk_pass b
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
                  FROM bulk_pass b WHERE NOT b.seen AND b.action IS NULL) o
         ORDER BY o.k
        ON CONFLICT (org_id, email_key) DO NOTHING;
        GET DIAGNOSTICS v_ins = ROW_COUNT;
    END IF;

    -- 4: the rows that existed, and (when a concurrent create of one of
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
                    WHEN (z.c).status <> 'deleted'
                     AND NOT (x.f & 1 <> 0 AND (z.c).eid IS DISTINCT FROM x.r->>'eid')
                     AND NOT (x.f & 2 <> 0 AND (z.c).name IS DISTINCT FROM x.r->>'name')
                     AND NOT (x.f & 4 <> 0 AND (z.c).phone IS DISTINCT FROM x.r->>'phone')
                     AND NOT (x.f & 8 <> 0 AND (z.c).company IS DISTINCT FROM x.r->>'company')
                     AND NOT (x.f & 16 <> 0 AND (z.c).type IS DISTINCT FROM x.r->>'type')
                    THEN 'IMPORT_NOOP' ELSE 'IMPORT_UPDATE' END AS action
          FROM (SELECT b.n, b.k, b.f, b.r FROM bulk_pass b
                 WHERE b.action IS NULL AND (b.seen OR v_ins < v_new)
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
            WHEN l.n IS NOT NULL AND l.action IS NULL THEN
                contact_bulk_row(p_org, b.r)
            ELSE (SELECT ROW(t, 'IMPORT_CREATE', 0, 0, NULL, NULL, NULL, NULL,
                             NULL)::contact_write
                    FROM contacts t
                   WHERE t.org_id = p_org AND t.email_key = b.k) END AS w
          FROM bulk_pass b
          LEFT JOIN l ON l.n = b.n
          LEFT JOIN u ON u.n = b.n)
    SELECT (q.w).* FROM q ORDER BY q.n;
END $$;
