-- 019_lean_list_writes.sql - a create that names lists without
-- contact_upsert's checks (issue 13: S6, the creates), and creates that
-- read the suppressions after waiting for the organization's row.
--
-- POST /contacts with addToLists went to contact_upsert whole: its
-- refusal checks (contact_write_refusal, unknown_lists twice), an UPDATE
-- that finds nothing, the organization's row, the INSERT, then
-- contact_lists_apply: six PL/pgSQL calls and about ten statements.  The
-- worker's statement for such a request (STMT_CONTACT_UPSERT_LISTS,
-- fcgi-app/store_sql.h) looks the email up and checks the lists itself,
-- and for a new email calls this function: the organization's row shared,
-- the suppressions read, the INSERT, and the new contact's memberships in
-- list id order.  It returns no row when it wrote nothing (the email is
-- suppressed, or a concurrent create of it won): the statement then calls
-- contact_upsert, which refuses or updates as before.  The caller has
-- checked that every list in p_add exists.  An existing contact's update
-- stays contact_upsert's.

CREATE FUNCTION contact_create(p_org text, p_id text, p_email text,
                               p_email_key text, p_eid text, p_name text,
                               p_phone text, p_company text, p_type text,
                               p_add text[])
RETURNS SETOF contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_key text := email_key(p_email_key);
    v_seq regclass;
    v_suppressed boolean;
    v_same boolean;
BEGIN
    -- Shared with the other creates; an erasure that suppresses holds it
    -- exclusively until its commit.  The suppressions are read in the
    -- snapshot of the statement that takes the share, older than the share
    -- when it waited for it: if the row changed meanwhile (an erasure that
    -- suppresses bumps its count) the statement runs again, in a snapshot
    -- taken with the share held.
    LOOP
        SELECT o.pos_seq, o.suppressions > 0 AND EXISTS (
               SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                  AND s.hash = suppress_hash(o.suppress_key, v_key)),
               o.xmin = (SELECT h.xmin FROM organizations h WHERE h.id = p_org)
          INTO v_seq, v_suppressed, v_same
          FROM organizations o WHERE o.id = p_org FOR SHARE;
        EXIT WHEN NOT FOUND OR v_same;
    END LOOP;
    IF NOT FOUND OR v_suppressed THEN
        RETURN;
    END IF;
    INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid, name,
                               phone, company, type, status, fields,
                               created_at, updated_at)
    VALUES (p_org, nextval(v_seq), p_id, p_email, v_key, p_eid, p_name,
            p_phone, p_company, coalesce(p_type, 'customer'), 'active', '{}',
            clock_timestamp(), clock_timestamp())
    ON CONFLICT (org_id, email_key) DO NOTHING
    RETURNING t.* INTO c;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO list_members (org_id, list_id, pos, contact_id, live)
    SELECT p_org, l.id, nextval(l.pos_seq), c.id, true
      FROM lists l
     WHERE l.org_id = p_org AND l.id = ANY (p_add)
     ORDER BY l.id;
    GET DIAGNOSTICS r.lists_updated = ROW_COUNT;
    r.c := c;
    r.action := 'IMPORT_CREATE';
    r.lists_removed := 0;
    RETURN NEXT r;
END $$;


-- contact_upsert as 015's, but for where it reads the suppressions, and
-- without the calls of contact_write_refusal and contact_lists_apply when
-- the request names no list and no custom field (a plain create: each call
-- of a function with a SET clause saves and restores the setting).  015
-- read them in the statement that shares the organization's row, in that
-- statement's snapshot, which is taken before the statement waits for
-- the row: a create whose UPDATE had found no contact (none committed yet),
-- and which then waited for an erasure that suppressed the email (of a
-- contact created and erased after that UPDATE), did not see the
-- suppression and created the contact.  Now the statement runs again when
-- the row changed while it waited (test_concurrent_creates.py,
-- test_a_create_that_waited_for_an_erasure_that_suppressed_its_email).
CREATE OR REPLACE FUNCTION contact_upsert(
    p_org text, p_id text, p_email text, p_email_key text, p_fields int,
    p_eid text, p_name text, p_phone text, p_company text, p_type text,
    p_add text[], p_remove text[], p_cf jsonb)
RETURNS contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_key text := email_key(p_email_key);
    v_seq regclass;
    v_suppressed boolean;
    v_same boolean;
    v_looked boolean := p_fields & 128 <> 0;
BEGIN
    IF cardinality(p_add) > 0 OR cardinality(p_remove) > 0 OR p_cf IS NOT NULL THEN
        r := contact_write_refusal(p_org, p_add, p_remove, p_cf);
        IF r.err IS NOT NULL THEN
            RETURN r;
        END IF;
    END IF;

    LOOP
      IF NOT v_looked THEN
        UPDATE contacts AS t SET
            eid     = CASE WHEN p_fields & 1 <> 0 THEN p_eid ELSE t.eid END,
            name    = CASE WHEN p_fields & 2 <> 0 THEN p_name ELSE t.name END,
            phone   = CASE WHEN p_fields & 4 <> 0 THEN p_phone ELSE t.phone END,
            company = CASE WHEN p_fields & 8 <> 0 THEN p_company ELSE t.company END,
            type    = CASE WHEN p_fields & 16 <> 0 THEN p_type ELSE t.type END,
            -- A deleted contact comes back; an unsubscribed one stays so.
            status  = CASE WHEN t.status <> 'deleted' THEN t.status
                           WHEN t.prior_status = 'unsubscribed' THEN 'unsubscribed'
                           ELSE 'active' END,
            fields  = CASE WHEN p_cf IS NULL THEN t.fields
                           ELSE jsonb_strip_nulls(t.fields || p_cf) END,
            -- clock_timestamp(), not now(): a request that waited for a
            -- concurrent create must not date its update before it.
            updated_at  = clock_timestamp(),
            last_action = 'IMPORT_UPDATE'
         WHERE t.org_id = p_org AND t.email_key = v_key
        RETURNING t.* INTO c;
        IF FOUND THEN
            r.action := 'IMPORT_UPDATE';
            EXIT;
        END IF;
      END IF;
        v_looked := false;

        -- Shared with the other creates; an erasure that suppresses holds
        -- it exclusively until its commit.  As in contact_create: read again
        -- in a newer snapshot when the row changed while this waited.
        LOOP
            SELECT o.pos_seq, o.suppressions > 0 AND EXISTS (
                   SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                      AND s.hash = suppress_hash(o.suppress_key, v_key)),
                   o.xmin = (SELECT h.xmin FROM organizations h WHERE h.id = p_org)
              INTO v_seq, v_suppressed, v_same
              FROM organizations o WHERE o.id = p_org FOR SHARE;
            EXIT WHEN NOT FOUND OR v_same;
        END LOOP;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization % does not exist', p_org
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF v_suppressed THEN
            r.err := 'suppressed'; r.err_field := 'email';
            RETURN r;
        END IF;

        INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid, name,
                                   phone, company, type, status, fields,
                                   created_at, updated_at)
        VALUES (p_org, nextval(v_seq), p_id, p_email, v_key, p_eid, p_name,
                p_phone, p_company, coalesce(p_type, 'customer'), 'active',
                jsonb_strip_nulls(coalesce(p_cf, '{}')),
                clock_timestamp(), clock_timestamp())
        ON CONFLICT (org_id, email_key) DO NOTHING
        RETURNING t.* INTO c;
        IF FOUND THEN
            r.action := 'IMPORT_CREATE';
            EXIT;
        END IF;
        -- Lost the race to a create of the same email that committed
        -- meanwhile: its position is a hole; update that contact instead.
    END LOOP;

    IF cardinality(p_add) > 0 OR cardinality(p_remove) > 0 THEN
        SELECT a.added, a.removed INTO r.lists_updated, r.lists_removed
          FROM contact_lists_apply(p_org, c.id, c.status <> 'deleted',
                                   p_add, p_remove) a;
    ELSE
        r.lists_updated := 0;
        r.lists_removed := 0;
    END IF;
    r.c := c;
    RETURN r;
END $$;


-- contact_bulk as 016's, but for rows that are not plain: after taking the
-- organization's row (when the request may create) the emails that gained a
-- contact since step 1 are locked in key order with the others.  016 left
-- them to the row-by-row pass, in request order: a bulk that locked every
-- row in key order (one that creates nothing does not wait for the
-- organization's row) could hold one of them and wait for a row this one
-- held, a deadlock PostgreSQL broke and store.c retried
-- (test_bulk.py, test_concurrent_bulks_and_creates_make_one_contact_per_email).
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
            -- The contacts created since step 1 (committed before the row
            -- was ours; none can be created now) are locked with the others,
            -- in key order: the pass below must not be the first to lock
            -- one, out of order.
            UPDATE bulk_pass b SET seen = true
             WHERE NOT b.seen AND EXISTS (
                   SELECT 1 FROM contacts t
                    WHERE t.org_id = p_org AND t.email_key = b.k);
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
