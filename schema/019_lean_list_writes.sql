-- 019_lean_list_writes.sql - a create that names lists without
-- contact_upsert's checks (issue 13: S6, the creates).
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
