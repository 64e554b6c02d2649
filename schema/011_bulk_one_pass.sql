-- 011_bulk_one_pass.sql - the set-based bulk pass of 009 in fewer
-- statements: the rows are read, their contacts locked and classified in
-- one statement, and the new contacts take their positions in the INSERT
-- itself.
--
-- 009 rewrote its table of rows three times (classify, positions, the
-- lost-race check): each a new version of 1000 rows and their index
-- entries, about a quarter of a request's time in PostgreSQL.  Here:
--   1. one INSERT … SELECT reads the rows, locks the contacts they name in
--      email key order (FOR NO KEY UPDATE returns a row's newest version
--      after waiting for a concurrent writer, so the classification is of
--      the contact as it is now) and records each row's position, status
--      and action (IMPORT_NOOP, IMPORT_UPDATE, or NULL: a create);
--   2. one statement counts the kinds and decides whether the request is
--      plain (else the row-by-row loop of 005 runs, as in 009);
--   3. one UPDATE of the existing contacts, as in 009;
--   4. the new emails: the organization's row is locked, the suppressed
--      ones refused, positions v_seq - v_new + 1 .. v_seq reserved and
--      given in request order by the INSERT;
--   5. the results, each row's contact found by its email key.  A create
--      whose contact is not in the reserved range lost its race to a
--      concurrent create (which took its position under the organization's
--      lock before this request did: after, it would still be waiting for
--      this request's commit) and is written as that single create would
--      be, by contact_bulk_row.
CREATE OR REPLACE FUNCTION contact_bulk(p_org text, p_rows jsonb)
RETURNS SETOF contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r jsonb;
    v_plain boolean;
    v_upd int;
    v_new int;
    v_seq bigint;
    v_key bytea;
    v_suppressions bigint;
BEGIN
    -- The rows, in a table of this session's own, made once (no catalog
    -- churn a request) and emptied at every commit.
    IF to_regclass('pg_temp.bulk_rows') IS NULL THEN
        CREATE TEMP TABLE bulk_rows (
            n int PRIMARY KEY, r jsonb, k text, f int, action text,
            pos bigint, prev_status text, err text)
            ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM bulk_rows;

    -- 1: read, lock in key order, classify.  Every look-up of a contact
    -- is a probe of (org_id, email_key) by row (LATERAL): the planner
    -- cannot pick a scan of the organization's contacts.
    INSERT INTO bulk_rows (n, r, k, f, pos, prev_status, action)
    SELECT x.n, x.value, x.k, x.f, c.pos, c.status,
           CASE WHEN c.pos IS NULL THEN NULL
                WHEN c.status <> 'deleted'
                 AND NOT (x.f & 1 <> 0 AND c.eid IS DISTINCT FROM x.value->>'eid')
                 AND NOT (x.f & 2 <> 0 AND c.name IS DISTINCT FROM x.value->>'name')
                 AND NOT (x.f & 4 <> 0 AND c.phone IS DISTINCT FROM x.value->>'phone')
                 AND NOT (x.f & 8 <> 0 AND c.company IS DISTINCT FROM x.value->>'company')
                 AND NOT (x.f & 16 <> 0 AND c.type IS DISTINCT FROM x.value->>'type')
                THEN 'IMPORT_NOOP' ELSE 'IMPORT_UPDATE' END
      FROM (SELECT t.n, t.value, email_key(t.value->>'key') AS k,
                   (t.value->>'f')::int AS f
              FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t (value, n)
             ORDER BY 3) x
      LEFT JOIN LATERAL (
            SELECT t.pos, t.status, t.eid, t.name, t.phone, t.company, t.type
              FROM contacts t
             WHERE t.org_id = p_org AND t.email_key = x.k
               FOR NO KEY UPDATE) c ON true;

    -- 2: plain rows only (no lists, no custom fields, each email once)?
    SELECT bool_and(jsonb_array_length(b.r->'add') = 0
                    AND jsonb_array_length(b.r->'remove') = 0
                    AND jsonb_typeof(b.r->'cf') IS DISTINCT FROM 'object')
           AND count(DISTINCT b.k) = count(*),
           count(*) FILTER (WHERE b.action = 'IMPORT_UPDATE'),
           count(*) FILTER (WHERE b.action IS NULL)
      INTO v_plain, v_upd, v_new FROM bulk_rows b;
    IF NOT coalesce(v_plain, false) THEN
        FOR r IN SELECT b.r FROM bulk_rows b ORDER BY b.n LOOP
            RETURN NEXT contact_bulk_row(p_org, r);
        END LOOP;
        RETURN;
    END IF;

    -- 3: the existing contacts that change, with contact_upsert's rules (a
    -- deleted one comes back as it was before its deletion).
    IF v_upd > 0 THEN
        UPDATE contacts AS t SET
            eid     = CASE WHEN b.f & 1 <> 0 THEN b.r->>'eid' ELSE t.eid END,
            name    = CASE WHEN b.f & 2 <> 0 THEN b.r->>'name' ELSE t.name END,
            phone   = CASE WHEN b.f & 4 <> 0 THEN b.r->>'phone' ELSE t.phone END,
            company = CASE WHEN b.f & 8 <> 0 THEN b.r->>'company' ELSE t.company END,
            type    = CASE WHEN b.f & 16 <> 0 THEN b.r->>'type' ELSE t.type END,
            status  = CASE WHEN t.status <> 'deleted' THEN t.status
                           WHEN t.prior_status = 'unsubscribed' THEN 'unsubscribed'
                           ELSE 'active' END,
            updated_at  = clock_timestamp(),
            last_action = 'IMPORT_UPDATE'
          FROM bulk_rows b
         WHERE t.org_id = p_org
           AND t.pos = ANY (ARRAY(SELECT x.pos FROM bulk_rows x
                                   WHERE x.action = 'IMPORT_UPDATE'))
           AND b.pos = t.pos AND b.action = 'IMPORT_UPDATE';
    END IF;

    -- 4: the new emails.  The suppressions are read after step 1, in a
    -- statement of their own: an erasure that held a row lock step 1
    -- waited for has committed by then (contact_erase explains why a
    -- create cannot slip past it).
    IF v_new > 0 THEN
        SELECT o.suppress_key, o.suppressions INTO v_key, v_suppressions
          FROM organizations o WHERE o.id = p_org FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization % does not exist', p_org
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF v_suppressions > 0 THEN
            UPDATE bulk_rows b SET action = 'refused', err = 'suppressed'
             WHERE b.action IS NULL AND EXISTS (
                   SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                      AND s.hash = suppress_hash(v_key, b.k));
            SELECT count(*) INTO v_new FROM bulk_rows b WHERE b.action IS NULL;
        END IF;
    END IF;
    v_seq := NULL;
    IF v_new > 0 THEN
        UPDATE organizations o SET contact_seq = o.contact_seq + v_new
         WHERE o.id = p_org RETURNING o.contact_seq INTO v_seq;
        INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid,
                                   name, phone, company, type, status,
                                   fields, created_at, updated_at)
        SELECT p_org, v_seq - v_new + row_number() OVER (ORDER BY b.n),
               b.r->>'id', b.r->>'email', b.k, b.r->>'eid',
               b.r->>'name', b.r->>'phone', b.r->>'company',
               coalesce(b.r->>'type', 'customer'), 'active', '{}',
               clock_timestamp(), clock_timestamp()
          FROM bulk_rows b WHERE b.action IS NULL ORDER BY b.n
        ON CONFLICT (org_id, email_key) DO NOTHING;
    END IF;

    -- 5: the results in request order.
    RETURN QUERY
    WITH q AS MATERIALIZED (
        SELECT b.n, CASE
            WHEN b.action = 'refused' THEN
                ROW(NULL, NULL, NULL, NULL, b.err, 'email', NULL, NULL,
                    NULL)::contact_write
            WHEN b.action IS NULL
             AND NOT coalesce((c).pos > v_seq - v_new, false) THEN
                contact_bulk_row(p_org, b.r)
            ELSE ROW(c, coalesce(b.action, 'IMPORT_CREATE'), 0, 0, NULL,
                     NULL, NULL, NULL, b.prev_status)::contact_write END AS w
          FROM bulk_rows b
          LEFT JOIN LATERAL (
                SELECT t FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = b.k) l (c) ON true)
    SELECT (q.w).* FROM q ORDER BY q.n;
END $$;
