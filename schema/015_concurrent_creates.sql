-- 015_concurrent_creates.sql - creates of one organization no longer wait
-- for each other's commits (issue 13: S6 >= 70% of S5).
--
-- Until now a create took two rows' locks that it held until its commit
-- had been flushed: the organization's row (UPDATE … contact_seq + 1, the
-- next position) and the row of contact_blocks of the last block (its
-- counts, by the insert's trigger).  So one organization's creates followed
-- each other at one commit flush each, whatever the number of workers.
--
--   1. Positions come from a sequence of the organization's own
--      (organizations.pos_seq, made with the organization).  nextval() is
--      not transactional and holds no lock: positions still grow in the
--      order the creates take them, and a create that loses its race to a
--      concurrent one, or is refused, leaves a hole, which the pages
--      already step over (docs/schema.md, "Offsets with holes").
--   2. The organization's row is locked FOR SHARE by a create (and by a
--      bulk that creates), not updated: creates share it, and an erasure
--      with suppression, which updates the row (suppressions + 1), still
--      waits for the creates in flight and is waited for by the next ones,
--      so that a create cannot slip past an erasure (contact_erase).
--   3. contact_blocks may hold several rows (stripes) per block, summed by
--      the page statements.  A change of the counts takes whichever stripe
--      of its block no other transaction holds (SKIP LOCKED), or adds a
--      stripe named after its own transaction: it never waits.  A block has as many stripes as
--      writers once held its rows all at the same time, so the number stays
--      bounded by the number of connections writing at once.
--
-- The organization's former counter, contact_seq, is dropped: the sequence
-- is the only source of positions (a seed sets it with setval).

-- --------------------------------------------------------------------------
-- 1. positions

ALTER TABLE organizations ADD COLUMN pos_seq regclass;

-- The sequence of a new organization, made in the same transaction as its
-- row.  Its name is derived from the id by md5, so that it is a valid
-- identifier whatever the id holds.
CREATE FUNCTION organizations_pos_seq() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_name text := format('%I.%I', TG_TABLE_SCHEMA, 'contact_pos_' || md5(NEW.id));
BEGIN
    EXECUTE format('CREATE SEQUENCE %s AS bigint MINVALUE 1', v_name);
    NEW.pos_seq := v_name::regclass;
    RETURN NEW;
END $$;
CREATE TRIGGER organizations_pos_seq BEFORE INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION organizations_pos_seq();

DO $$
DECLARE
    o record;
    v_name text;
BEGIN
    FOR o IN SELECT id, contact_seq FROM organizations ORDER BY id LOOP
        v_name := format('%I.%I', current_schema(), 'contact_pos_' || md5(o.id));
        EXECUTE format('CREATE SEQUENCE %s AS bigint MINVALUE 1', v_name);
        IF o.contact_seq > 0 THEN
            PERFORM setval(v_name::regclass, o.contact_seq);
        END IF;
        UPDATE organizations SET pos_seq = v_name::regclass WHERE id = o.id;
    END LOOP;
END $$;
ALTER TABLE organizations ALTER COLUMN pos_seq SET NOT NULL;
ALTER TABLE organizations DROP COLUMN contact_seq;

-- --------------------------------------------------------------------------
-- 3. striped block counts

ALTER TABLE contact_blocks ADD COLUMN stripe bigint NOT NULL DEFAULT 0;
ALTER TABLE contact_blocks DROP CONSTRAINT contact_blocks_pkey;
ALTER TABLE contact_blocks ADD PRIMARY KEY (org_id, block, stripe);

-- Adds to the counts of one block without waiting for any other writer:
-- the first stripe no other transaction holds (SKIP LOCKED; one this
-- transaction holds is taken again), else a new stripe named after this
-- transaction's id.  No other transaction ever makes a stripe of that
-- name, so the INSERT cannot meet a row another one inserted or updated
-- and still holds (a unique check waits for such a row: a stripe named
-- after the backend did, when another transaction had taken it).
CREATE FUNCTION contact_blocks_add(p_org text, p_block bigint,
                                   p_live bigint, p_present bigint)
RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF p_live = 0 AND p_present = 0 THEN
        RETURN;
    END IF;
    UPDATE contact_blocks b
       SET live = b.live + p_live, present = b.present + p_present
     WHERE b.org_id = p_org AND b.block = p_block AND b.stripe = (
           SELECT s.stripe FROM contact_blocks s
            WHERE s.org_id = p_org AND s.block = p_block
            ORDER BY s.stripe LIMIT 1
              FOR NO KEY UPDATE SKIP LOCKED);
    IF NOT FOUND THEN
        INSERT INTO contact_blocks (org_id, block, stripe, live, present)
        VALUES (p_org, p_block, pg_current_xact_id()::text::bigint,
                p_live, p_present);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION contacts_inserted() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT org_id, pos >> 10 AS block,
                    count(*) FILTER (WHERE status <> 'deleted') AS live,
                    count(*) AS present
               FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2 LOOP
        PERFORM contact_blocks_add(g.org_id, g.block, g.live, g.present);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION contacts_removed() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT org_id, pos >> 10 AS block,
                    count(*) FILTER (WHERE status <> 'deleted') AS live,
                    count(*) AS present
               FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2 LOOP
        PERFORM contact_blocks_add(g.org_id, g.block, -g.live, -g.present);
    END LOOP;
    RETURN NULL;
END $$;


-- --------------------------------------------------------------------------
-- 2. the writes that create

-- As 003's, with the position from the organization's sequence, taken
-- just before the INSERT, and the organization's row shared.  p_fields bit
-- 128: the caller has just looked for the contact and found none (the
-- plain UPDATE of STMT_CONTACT_UPSERT), so the INSERT is tried first; if a
-- concurrent create of the email won, the loop updates its contact.
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
    v_looked boolean := p_fields & 128 <> 0;
BEGIN
    r := contact_write_refusal(p_org, p_add, p_remove, p_cf);
    IF r.err IS NOT NULL THEN
        RETURN r;
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
        -- it exclusively until its commit, and its suppression is then
        -- seen here (READ COMMITTED: this statement's snapshot is taken
        -- after the wait).
        SELECT o.pos_seq, o.suppressions > 0 AND EXISTS (
               SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                  AND s.hash = suppress_hash(o.suppress_key, v_key))
          INTO v_seq, v_suppressed
          FROM organizations o WHERE o.id = p_org FOR SHARE;
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

    SELECT a.added, a.removed INTO r.lists_updated, r.lists_removed
      FROM contact_lists_apply(p_org, c.id, c.status <> 'deleted',
                               p_add, p_remove) a;
    r.c := c;
    RETURN r;
END $$;

-- As 003's, without the locks of the contact's block and of its lists: a
-- change of the block counts waits for no one now (contact_blocks_add,
-- list_member_blocks_add, part 4), so the lock order is the contact, then
-- the organization.
CREATE OR REPLACE FUNCTION contact_erase(p_org text, p_id text, p_email_key text,
                                         p_suppress boolean)
RETURNS contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_id text := p_id;
BEGIN
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
    IF p_suppress THEN
        PERFORM 1 FROM organizations o WHERE o.id = p_org FOR NO KEY UPDATE;
    END IF;
    DELETE FROM list_members m WHERE m.org_id = p_org AND m.contact_id = v_id;
    DELETE FROM contacts t WHERE t.org_id = p_org AND t.id = v_id;
    -- A create of the same email waits for this contact's row lock (or for
    -- the organization's row, shared by creates), then finds no contact and
    -- checks the suppressions in a snapshot taken after this commit
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

-- --------------------------------------------------------------------------
-- POST /contacts/bulk: 011's pass, with the organization's row shared and
-- the positions from its sequence.  A create that lost its race to a
-- concurrent create of the same email is told by the contact's id (the
-- service draws a fresh random id for every row): the contact found by the
-- email is not the one this request inserted, and the row is written as
-- that single create would be, by contact_bulk_row.
CREATE OR REPLACE FUNCTION contact_bulk(p_org text, p_rows jsonb)
RETURNS SETOF contact_write
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r jsonb;
    v_plain boolean;
    v_upd int;
    v_new int;
    v_seq regclass;
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
        SELECT o.suppress_key, o.suppressions, o.pos_seq
          INTO v_key, v_suppressions, v_seq
          FROM organizations o WHERE o.id = p_org FOR SHARE;
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
        -- nextval() in the select list runs after the ORDER BY: positions
        -- grow in request order.
        INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid,
                                   name, phone, company, type, status,
                                   fields, created_at, updated_at)
        SELECT p_org, nextval(v_seq),
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
             AND NOT coalesce((c).id = b.r->>'id', false) THEN
                contact_bulk_row(p_org, b.r)
            ELSE ROW(c, coalesce(b.action, 'IMPORT_CREATE'), 0, 0, NULL,
                     NULL, NULL, NULL, b.prev_status)::contact_write END AS w
          FROM bulk_rows b
          LEFT JOIN LATERAL (
                SELECT t FROM contacts t
                 WHERE t.org_id = p_org AND t.email_key = b.k) l (c) ON true)
    SELECT (q.w).* FROM q ORDER BY q.n;
END $$;

-- --------------------------------------------------------------------------
-- 4. lists: the same for the members
--
-- A write that added a contact to a list took the list's row lock (the
-- next member's position, lists.member_seq, and the live count,
-- lists.member_count) until its commit: the creates that join one list
-- queued as those of one organization did.  Now a member's position comes
-- from the list's sequence (lists.pos_seq), list_member_blocks is striped
-- as contact_blocks is, and a list's count of live members is the sum of
-- its blocks' (fcgi-app/store_sql.h, LIST_COLUMNS).  No write locks a
-- list's row any longer: the memberships of one contact are changed under
-- that contact's row lock (every writer takes it first), and no count
-- waits for anyone.

ALTER TABLE lists ADD COLUMN pos_seq regclass;

CREATE FUNCTION lists_pos_seq() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_name text := format('%I.%I', TG_TABLE_SCHEMA,
                          'list_pos_' || md5(NEW.org_id || ' ' || NEW.id));
BEGIN
    EXECUTE format('CREATE SEQUENCE %s AS bigint MINVALUE 1', v_name);
    NEW.pos_seq := v_name::regclass;
    RETURN NEW;
END $$;
CREATE TRIGGER lists_pos_seq BEFORE INSERT ON lists
    FOR EACH ROW EXECUTE FUNCTION lists_pos_seq();

DO $$
DECLARE
    l record;
    v_name text;
BEGIN
    FOR l IN SELECT org_id, id, member_seq FROM lists ORDER BY org_id, id LOOP
        v_name := format('%I.%I', current_schema(),
                         'list_pos_' || md5(l.org_id || ' ' || l.id));
        EXECUTE format('CREATE SEQUENCE %s AS bigint MINVALUE 1', v_name);
        IF l.member_seq > 0 THEN
            PERFORM setval(v_name::regclass, l.member_seq);
        END IF;
        UPDATE lists SET pos_seq = v_name::regclass
         WHERE org_id = l.org_id AND id = l.id;
    END LOOP;
END $$;
ALTER TABLE lists ALTER COLUMN pos_seq SET NOT NULL;

ALTER TABLE list_member_blocks ADD COLUMN stripe bigint NOT NULL DEFAULT 0;
ALTER TABLE list_member_blocks DROP CONSTRAINT list_member_blocks_pkey;
ALTER TABLE list_member_blocks ADD PRIMARY KEY (org_id, list_id, block, stripe);

-- contact_blocks_add for one list's block.
CREATE FUNCTION list_member_blocks_add(p_org text, p_list text, p_block bigint,
                                       p_live bigint, p_present bigint)
RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF p_live = 0 AND p_present = 0 THEN
        RETURN;
    END IF;
    UPDATE list_member_blocks b
       SET live = b.live + p_live, present = b.present + p_present
     WHERE b.org_id = p_org AND b.list_id = p_list AND b.block = p_block
       AND b.stripe = (
           SELECT s.stripe FROM list_member_blocks s
            WHERE s.org_id = p_org AND s.list_id = p_list AND s.block = p_block
            ORDER BY s.stripe LIMIT 1
              FOR NO KEY UPDATE SKIP LOCKED);
    IF NOT FOUND THEN
        INSERT INTO list_member_blocks (org_id, list_id, block, stripe, live, present)
        VALUES (p_org, p_list, p_block, pg_current_xact_id()::text::bigint,
                p_live, p_present);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION list_members_inserted() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT org_id, list_id, pos >> 10 AS block,
                    count(*) FILTER (WHERE live) AS live, count(*) AS present
               FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LOOP
        PERFORM list_member_blocks_add(g.org_id, g.list_id, g.block,
                                       g.live, g.present);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION list_members_removed() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT org_id, list_id, pos >> 10 AS block,
                    count(*) FILTER (WHERE live) AS live, count(*) AS present
               FROM old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LOOP
        PERFORM list_member_blocks_add(g.org_id, g.list_id, g.block,
                                       -g.live, -g.present);
    END LOOP;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION list_members_live_change() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    PERFORM list_member_blocks_add(NEW.org_id, NEW.list_id, NEW.pos >> 10,
                                   CASE WHEN NEW.live THEN 1 ELSE -1 END, 0);
    RETURN NULL;
END $$;

-- A contact entering or leaving the 'deleted' status moves the counts of
-- its block and of its memberships (list_members_live_change), under the
-- contact's row lock and without locking the lists (part 4).
CREATE OR REPLACE FUNCTION contacts_status_change() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    d int := CASE WHEN NEW.status = 'deleted' THEN -1 ELSE 1 END;
BEGIN
    PERFORM contact_blocks_add(NEW.org_id, NEW.pos >> 10, d, 0);
    UPDATE list_members SET live = (d > 0)
     WHERE org_id = NEW.org_id AND contact_id = NEW.id;
    RETURN NULL;
END $$;

-- As 003's: positions from the lists' sequences, no lock of the lists.
CREATE OR REPLACE FUNCTION contact_lists_apply(p_org text, p_contact text,
                                               p_live boolean, p_add text[],
                                               p_remove text[],
                                               OUT added int, OUT removed int)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    added := 0;
    removed := 0;
    IF cardinality(p_add) > 0 THEN
        INSERT INTO list_members (org_id, list_id, pos, contact_id, live)
        SELECT p_org, l.id, nextval(l.pos_seq), p_contact, p_live
          FROM lists l
         WHERE l.org_id = p_org AND l.id = ANY (p_add)
           AND NOT EXISTS (SELECT 1 FROM list_members m
                            WHERE m.org_id = p_org AND m.contact_id = p_contact
                              AND m.list_id = l.id)
         ORDER BY l.id;
        GET DIAGNOSTICS added = ROW_COUNT;
    END IF;
    IF cardinality(p_remove) > 0 THEN
        DELETE FROM list_members m
         WHERE m.org_id = p_org AND m.contact_id = p_contact
           AND m.list_id = ANY (p_remove);
        GET DIAGNOSTICS removed = ROW_COUNT;
    END IF;
END $$;

ALTER TABLE lists DROP COLUMN member_seq;
ALTER TABLE lists DROP COLUMN member_count;

-- --------------------------------------------------------------------------
-- 5. folding the stripes

-- Folds the stripes of up to p_batch blocks (of contact_blocks, then of
-- list_member_blocks) into one row each: of each block's stripes that no
-- transaction holds (SKIP LOCKED: the fold waits for no writer, and a
-- writer that finds every stripe held makes a new one), the first keeps
-- the sums and the others go.  Returns the rows removed; `contactsctl
-- prune` calls it until it returns 0, so that the pages of a busy
-- organization keep reading about one row a block.  Off the request path:
-- the blocks with stripes are found by a scan of the tables.
CREATE FUNCTION block_stripes_fold(p_batch int) RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    g record;
    n bigint := 0;
    d bigint;
BEGIN
    FOR g IN SELECT org_id, block FROM contact_blocks
              GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2 LIMIT p_batch LOOP
        WITH l AS MATERIALIZED (
            SELECT b.stripe, b.live, b.present FROM contact_blocks b
             WHERE b.org_id = g.org_id AND b.block = g.block
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
              GROUP BY 1, 2, 3 HAVING count(*) > 1 ORDER BY 1, 2, 3 LIMIT p_batch LOOP
        WITH l AS MATERIALIZED (
            SELECT b.stripe, b.live, b.present FROM list_member_blocks b
             WHERE b.org_id = g.org_id AND b.list_id = g.list_id
               AND b.block = g.block
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
