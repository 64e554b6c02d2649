-- 008_cache_retire.sql - what a write tells the cache it changed
--
-- After its commit a write retires the cached answers it changed
-- (docs/caching.md, "What each write retires"): the email look-ups of
-- its contact's old and new email, the pages of its block, the live pages
-- after it when it changed whether the contact is live, and the member
-- pages of the lists the contact is on.  A write result says so.

-- The contact as it was before the write, where the result alone cannot
-- tell: its email key (PATCH may change it) and its status (PATCH may
-- bring a deleted contact back).  NULL: not known, and the caller assumes
-- the worst.
ALTER TYPE contact_write ADD ATTRIBUTE prev_email_key text;
ALTER TYPE contact_write ADD ATTRIBUTE prev_status text;

-- The lists a contact is a member of, in id order, as "a,b" (list ids
-- have no commas); NULL for none.  Called in the
-- statement of a write, after the write function: it takes a snapshot of
-- its own (PL/pgSQL, VOLATILE), so it sees every membership committed
-- before the write locked the contact, and none can change until the
-- write commits (every change of a membership locks its contact first).
CREATE FUNCTION contact_lists_of(p_org text, p_id text) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT string_agg(m.list_id, ',' ORDER BY m.list_id)
              FROM list_members m
             WHERE m.org_id = p_org AND m.contact_id = p_id);
END $$;

-- PATCH /contacts/{id}.  p_fields: the bits of contact_upsert, and 32
-- email, 64 status.  Refuses an email that another contact has
-- (email_taken) or that is suppressed.
CREATE OR REPLACE FUNCTION contact_patch(
    p_org text, p_id text, p_fields int, p_email text, p_email_key text,
    p_eid text, p_name text, p_phone text, p_company text, p_type text,
    p_status text, p_add text[], p_remove text[], p_cf jsonb)
RETURNS contact_write
LANGUAGE plpgsql AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_key text;
BEGIN
    r := contact_write_refusal(p_org, p_add, p_remove, p_cf);
    IF r.err IS NOT NULL THEN
        RETURN r;
    END IF;
    SELECT * INTO c FROM contacts t WHERE t.org_id = p_org AND t.id = p_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        r.err := 'not_found';
        RETURN r;
    END IF;
    r.prev_email_key := c.email_key;
    r.prev_status := c.status;
    IF p_fields & 32 <> 0 THEN
        v_key := email_key(p_email_key);
        IF v_key <> c.email_key THEN
            IF EXISTS (SELECT 1 FROM contacts t
                        WHERE t.org_id = p_org AND t.email_key = v_key) THEN
                r.err := 'email_taken'; r.err_field := 'email';
                RETURN r;
            END IF;
            IF email_suppressed(p_org, v_key) THEN
                r.err := 'suppressed'; r.err_field := 'email';
                RETURN r;
            END IF;
        END IF;
    END IF;
    UPDATE contacts AS t SET
        email     = CASE WHEN p_fields & 32 <> 0 THEN p_email ELSE t.email END,
        email_key = CASE WHEN p_fields & 32 <> 0 THEN v_key ELSE t.email_key END,
        eid     = CASE WHEN p_fields & 1 <> 0 THEN p_eid ELSE t.eid END,
        name    = CASE WHEN p_fields & 2 <> 0 THEN p_name ELSE t.name END,
        phone   = CASE WHEN p_fields & 4 <> 0 THEN p_phone ELSE t.phone END,
        company = CASE WHEN p_fields & 8 <> 0 THEN p_company ELSE t.company END,
        type    = CASE WHEN p_fields & 16 <> 0 THEN p_type ELSE t.type END,
        status  = CASE WHEN p_fields & 64 <> 0 THEN p_status ELSE t.status END,
        fields  = CASE WHEN p_cf IS NULL THEN t.fields
                       ELSE jsonb_strip_nulls(t.fields || p_cf) END,
        updated_at  = clock_timestamp(),
        last_action = 'IMPORT_UPDATE'
     WHERE t.org_id = p_org AND t.id = p_id
    RETURNING t.* INTO c;
    SELECT a.added, a.removed INTO r.lists_updated, r.lists_removed
      FROM contact_lists_apply(p_org, c.id, c.status <> 'deleted',
                               p_add, p_remove) a;
    r.c := c;
    r.action := 'IMPORT_UPDATE';
    RETURN r;
END $$;

