-- 009_bulk_set.sql - POST /contacts/bulk set-based: a request of plain
-- rows is three statements (lock and classify, one UPDATE, one INSERT),
-- not a function call per row.
--
-- The row-by-row loop of 005 paid for each row what a statement costs: the
-- statement-level triggers (block counts, feed) and contact_upsert's
-- statements, about 600 µs of PostgreSQL per row.  Here a request whose
-- rows are plain — no addToLists/removeFromLists, no custom fields, each
-- email once — is written in one pass; any other request keeps the loop,
-- whose semantics (a later row sees the earlier ones) are the contract's.
--
-- The pass, in the caller's one transaction:
--   1. lock the contacts the rows name, in email key order (two bulk
--      requests lock in one order, so they cannot deadlock on each other);
--   2. a row of a contact that exists, is not deleted and would not change
--      is IMPORT_NOOP (nothing written); the other existing ones are
--      updated by one UPDATE, with contact_upsert's rules (a deleted one
--      comes back as it was before its deletion);
--   3. the new emails: the organization's row is locked (as every create
--      does), the suppressed ones are refused, and the rest take the next
--      positions in request order and are inserted by one INSERT.  One
--      that a concurrent create made meanwhile (it committed after step 1)
--      conflicts, and is then updated by contact_upsert, as a single create
--      that lost that race is; its position stays unused (a hole, as an
--      erasure leaves).
-- The suppressions are read after step 1, in a statement of their own: an
-- erasure that held a row lock step 1 waited for has committed by then
-- (contact_erase explains why a create cannot slip past it).

CREATE OR REPLACE FUNCTION contact_bulk(p_org text, p_rows jsonb)
RETURNS SETOF contact_write
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    v_plain boolean;
    v_new int;
    v_made int;
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
    INSERT INTO bulk_rows (n, r, k, f)
    SELECT t.n, t.value, email_key(t.value->>'key'), (t.value->>'f')::int
      FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t (value, n);
    SELECT bool_and(jsonb_array_length(b.r->'add') = 0
                    AND jsonb_array_length(b.r->'remove') = 0
                    AND jsonb_typeof(b.r->'cf') IS DISTINCT FROM 'object')
           AND count(DISTINCT b.k) = count(*)
      INTO v_plain FROM bulk_rows b;
    IF NOT coalesce(v_plain, false) THEN
        FOR r IN SELECT b.r FROM bulk_rows b ORDER BY b.n LOOP
            RETURN NEXT contact_bulk_row(p_org, r);
        END LOOP;
        RETURN;
    END IF;

    -- Every look-up of a contact below is one probe of an index by row
    -- (a correlated subquery, LATERAL, = ANY): the planner cannot pick a
    -- scan of the organization's contacts, whose statistics may be stale
    -- (a new organization importing its first rows).
    -- 1: the existing contacts, locked in one order.
    PERFORM 1
       FROM (SELECT x.k FROM bulk_rows x ORDER BY x.k) x,
            LATERAL (SELECT 1 FROM contacts t
                      WHERE t.org_id = p_org AND t.email_key = x.k
                        FOR NO KEY UPDATE) l;
    -- 2: unchanged ones are IMPORT_NOOP (a new statement: it sees them as
    -- they are now that they are locked); no match leaves action NULL,
    -- a create.
    UPDATE bulk_rows b SET (pos, prev_status, action) = (
        SELECT c.pos, c.status, CASE WHEN c.status <> 'deleted'
            AND NOT (b.f & 1 <> 0 AND c.eid IS DISTINCT FROM b.r->>'eid')
            AND NOT (b.f & 2 <> 0 AND c.name IS DISTINCT FROM b.r->>'name')
            AND NOT (b.f & 4 <> 0 AND c.phone IS DISTINCT FROM b.r->>'phone')
            AND NOT (b.f & 8 <> 0 AND c.company IS DISTINCT FROM b.r->>'company')
            AND NOT (b.f & 16 <> 0 AND c.type IS DISTINCT FROM b.r->>'type')
            THEN 'IMPORT_NOOP' ELSE 'IMPORT_UPDATE' END
          FROM contacts c WHERE c.org_id = p_org AND c.email_key = b.k);

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

    -- 3: the new emails.
    SELECT count(*) INTO v_new FROM bulk_rows b WHERE b.action IS NULL;
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
    IF v_new > 0 THEN
        UPDATE organizations o SET contact_seq = o.contact_seq + v_new
         WHERE o.id = p_org RETURNING o.contact_seq INTO v_seq;
        UPDATE bulk_rows b SET pos = v_seq - v_new + p.i, action = 'IMPORT_CREATE'
          FROM (SELECT x.n, row_number() OVER (ORDER BY x.n) AS i
                  FROM bulk_rows x WHERE x.action IS NULL) p
         WHERE b.n = p.n;
        WITH made AS (
            INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid,
                                       name, phone, company, type, status,
                                       fields, created_at, updated_at)
            SELECT p_org, b.pos, b.r->>'id', b.r->>'email', b.k, b.r->>'eid',
                   b.r->>'name', b.r->>'phone', b.r->>'company',
                   coalesce(b.r->>'type', 'customer'), 'active', '{}',
                   clock_timestamp(), clock_timestamp()
              FROM bulk_rows b WHERE b.action = 'IMPORT_CREATE' ORDER BY b.pos
            ON CONFLICT (org_id, email_key) DO NOTHING
            RETURNING 1)
        SELECT count(*) INTO v_made FROM made;
        IF v_made < v_new THEN
            -- a lost race leaves its position without a contact
            UPDATE bulk_rows b SET action = 'lost_race'
             WHERE b.action = 'IMPORT_CREATE' AND NOT EXISTS (
                   SELECT 1 FROM contacts c
                    WHERE c.org_id = p_org AND c.pos = b.pos);
        END IF;
    END IF;

    -- The results in request order; a row that lost its create to a
    -- concurrent one is written as that single create would be.
    RETURN QUERY
    WITH q AS MATERIALIZED (
        SELECT b.n, CASE
            WHEN b.action = 'refused' THEN
                ROW(NULL, NULL, NULL, NULL, b.err, 'email', NULL, NULL,
                    NULL)::contact_write
            WHEN b.action = 'lost_race' THEN contact_bulk_row(p_org, b.r)
            ELSE ROW((SELECT c FROM contacts c
                       WHERE c.org_id = p_org AND c.pos = b.pos),
                     b.action, 0, 0, NULL, NULL, NULL, NULL,
                     b.prev_status)::contact_write END AS w
          FROM bulk_rows b)
    SELECT (q.w).* FROM q ORDER BY q.n;
END $$;
