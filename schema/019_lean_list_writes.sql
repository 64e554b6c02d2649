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
BEGIN
    -- Shared with the other creates; an erasure that suppresses holds it
    -- exclusively until its commit.  The suppressions are read by the next
    -- statement, whose snapshot is taken once the share is held: one such
    -- erasure that committed meanwhile is seen (the caller's look-up found
    -- no contact without waiting for any row, so unlike contact_upsert's
    -- UPDATE it has not waited for the erasure's contact).
    SELECT o.pos_seq INTO v_seq FROM organizations o WHERE o.id = p_org FOR SHARE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT o.suppressions > 0 AND EXISTS (
           SELECT 1 FROM suppressions s WHERE s.org_id = p_org
              AND s.hash = suppress_hash(o.suppress_key, v_key))
      INTO v_suppressed FROM organizations o WHERE o.id = p_org;
    IF v_suppressed THEN
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


-- contact_upsert as 015's, but for where it reads the suppressions.  015
-- read them in the statement that shares the organization's row, in that
-- statement's snapshot, which is taken before the statement waits for
-- the row: a create whose UPDATE had found no contact (none committed yet),
-- and which then waited for an erasure that suppressed the email (of a
-- contact created and erased after that UPDATE), did not see the
-- suppression and created the contact.  Now a statement of its own reads
-- them once the share is held (test_concurrent_creates.py,
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
        -- it exclusively until its commit.  The suppressions are read by
        -- the next statement, whose snapshot is taken once the share is
        -- held, so that such an erasure that committed meanwhile is seen.
        SELECT o.pos_seq INTO v_seq FROM organizations o WHERE o.id = p_org FOR SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization % does not exist', p_org
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        SELECT o.suppressions > 0 AND EXISTS (
               SELECT 1 FROM suppressions s WHERE s.org_id = p_org
                  AND s.hash = suppress_hash(o.suppress_key, v_key))
          INTO v_suppressed FROM organizations o WHERE o.id = p_org;
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
