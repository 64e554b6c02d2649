-- 001_init: organizations, API keys, contacts, lists and memberships.
--
-- Every query the service runs is an index look-up or an index range scan;
-- docs/schema.md shows the plan of each.

CREATE TABLE organizations (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    -- Creation position of the organization's last contact.  Contacts get
    -- dense positions 1, 2, 3, ... so that a page at any offset is an index
    -- range scan (pos > offset) rather than a scan of every skipped row.
    contact_seq   bigint NOT NULL DEFAULT 0,
    -- Contacts with status 'deleted'.  While it is 0, offsets over the
    -- non-deleted contacts are positions too.
    deleted_count bigint NOT NULL DEFAULT 0,
    -- Part of every cache key: bumped when a write could not invalidate the
    -- cache in Redis (docs/caching.md).
    cache_epoch   bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,            -- the public part of the key
    org_id      text NOT NULL REFERENCES organizations (id),
    name        text NOT NULL,
    key_hash    bytea NOT NULL,              -- SHA-256 of the whole key
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

CREATE TABLE contacts (
    org_id      text NOT NULL REFERENCES organizations (id),
    pos         bigint NOT NULL,
    id          text NOT NULL,
    email       text NOT NULL,               -- as first given, trimmed
    email_key   text NOT NULL,               -- the matching key: lower(email) by ICU
    eid         text,
    name        text,
    phone       text,
    company     text,
    type        text NOT NULL DEFAULT 'customer'
                CHECK (type IN ('customer', 'employee')),
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'error', 'deleted', 'unsubscribed')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    last_action text CHECK (last_action IN ('IMPORT_UPDATE', 'DELETE')),
    PRIMARY KEY (org_id, pos)
);
CREATE UNIQUE INDEX contacts_id ON contacts (id);
CREATE UNIQUE INDEX contacts_org_email ON contacts (org_id, email_key);
CREATE INDEX contacts_org_live ON contacts (org_id, pos) WHERE status <> 'deleted';

CREATE TABLE lists (
    seq          bigserial,
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id),
    name         text NOT NULL,
    type         text NOT NULL DEFAULT 'customer'
                 CHECK (type IN ('customer', 'employee')),
    member_count bigint NOT NULL DEFAULT 0,  -- members that are not deleted
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE INDEX lists_org ON lists (org_id, seq);
CREATE INDEX lists_org_type ON lists (org_id, type, seq);

CREATE TABLE list_members (
    list_id    text NOT NULL REFERENCES lists (id),
    contact_id text NOT NULL REFERENCES contacts (id),
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, contact_id)
);
CREATE INDEX list_members_contact ON list_members (contact_id);

-- A contact entering or leaving the 'deleted' status moves the counters.
CREATE FUNCTION contacts_deleted_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d bigint := CASE WHEN NEW.status = 'deleted' THEN 1 ELSE -1 END;
BEGIN
    UPDATE organizations SET deleted_count = deleted_count + d
     WHERE id = NEW.org_id;
    UPDATE lists l SET member_count = l.member_count - d
      FROM list_members m
     WHERE m.contact_id = NEW.id AND l.id = m.list_id;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_deleted_change
    AFTER UPDATE OF status ON contacts
    FOR EACH ROW
    WHEN ((OLD.status = 'deleted') IS DISTINCT FROM (NEW.status = 'deleted'))
    EXECUTE FUNCTION contacts_deleted_change();

-- Create or update a contact by email, and add it to lists, atomically.
--
-- p_fields says which optional fields the request carried (present with a
-- value or with null): 1 eid, 2 name, 4 phone, 8 company, 16 type.
-- Unknown list ids are refused before anything is written: the function
-- then returns one row whose unknown_lists names them and whose other
-- columns are null.
--
-- Concurrency: an existing contact is updated under its row lock.  A new one
-- takes the organization's row lock to get the next position, so creates in
-- one organization are serialized; if another transaction created the same
-- email meanwhile, the insert finds it (ON CONFLICT), the position is given
-- back, and the loop updates the row instead.  Two requests for one new
-- email therefore make one contact: one IMPORT_CREATE, the rest updates.
CREATE FUNCTION contact_upsert(
    p_org text, p_id text, p_email text, p_email_key text, p_fields int,
    p_eid text, p_name text, p_phone text, p_company text, p_type text,
    p_lists text[])
RETURNS TABLE (
    id text, email text, eid text, name text, phone text, company text,
    type text, status text, created_at timestamptz, updated_at timestamptz,
    deleted_at timestamptz, last_action text,
    action text, lists_updated int, unknown_lists text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    c contacts%ROWTYPE;
    -- Unicode case folding that does not depend on the database's locale.
    v_key text := lower(p_email_key COLLATE "und-x-icu");
    v_action text;
    v_pos bigint;
    v_added text[];
    v_unknown text;
BEGIN
    IF cardinality(p_lists) > 0 THEN
        SELECT string_agg(u.x, ', ' ORDER BY u.n) INTO v_unknown
          FROM (SELECT x, min(n) AS n
                  FROM unnest(p_lists) WITH ORDINALITY AS t (x, n)
                 GROUP BY x) u
         WHERE NOT EXISTS (SELECT 1 FROM lists l
                            WHERE l.id = u.x AND l.org_id = p_org);
        IF v_unknown IS NOT NULL THEN
            RETURN QUERY SELECT NULL::text, NULL::text, NULL::text, NULL::text,
                NULL::text, NULL::text, NULL::text, NULL::text,
                NULL::timestamptz, NULL::timestamptz, NULL::timestamptz,
                NULL::text, NULL::text, 0, v_unknown;
            RETURN;
        END IF;
    END IF;

    LOOP
        UPDATE contacts AS t SET
            eid     = CASE WHEN p_fields & 1 <> 0 THEN p_eid ELSE t.eid END,
            name    = CASE WHEN p_fields & 2 <> 0 THEN p_name ELSE t.name END,
            phone   = CASE WHEN p_fields & 4 <> 0 THEN p_phone ELSE t.phone END,
            company = CASE WHEN p_fields & 8 <> 0 THEN p_company ELSE t.company END,
            type    = CASE WHEN p_fields & 16 <> 0 THEN p_type ELSE t.type END,
            status  = CASE WHEN t.status = 'deleted' THEN 'active' ELSE t.status END,
            -- clock_timestamp(), not now(): a request that waited for a
            -- concurrent create must not date its update before it.
            updated_at  = clock_timestamp(),
            last_action = 'IMPORT_UPDATE'
         WHERE t.org_id = p_org AND t.email_key = v_key
        RETURNING t.* INTO c;
        IF FOUND THEN
            v_action := 'IMPORT_UPDATE';
            EXIT;
        END IF;

        UPDATE organizations o SET contact_seq = o.contact_seq + 1
         WHERE o.id = p_org
        RETURNING o.contact_seq INTO v_pos;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization % does not exist', p_org
                USING ERRCODE = 'foreign_key_violation';
        END IF;

        INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid, name,
                                   phone, company, type, status, created_at,
                                   updated_at)
        VALUES (p_org, v_pos, p_id, p_email, v_key, p_eid, p_name,
                p_phone, p_company, coalesce(p_type, 'customer'), 'active',
                clock_timestamp(), clock_timestamp())
        ON CONFLICT (org_id, email_key) DO NOTHING
        RETURNING t.* INTO c;
        IF FOUND THEN
            v_action := 'IMPORT_CREATE';
            EXIT;
        END IF;

        -- Lost the race to a create that committed while we waited for the
        -- organization's lock, which we still hold: give the position back.
        UPDATE organizations o SET contact_seq = o.contact_seq - 1
         WHERE o.id = p_org;
    END LOOP;

    IF cardinality(p_lists) > 0 THEN
        WITH added AS (
            INSERT INTO list_members (list_id, contact_id)
            SELECT DISTINCT x, c.id FROM unnest(p_lists) AS x
            ON CONFLICT DO NOTHING
            RETURNING list_id)
        SELECT array_agg(a.list_id ORDER BY a.list_id) INTO v_added FROM added a;
        IF v_added IS NOT NULL THEN
            -- Lock in one order so that concurrent requests cannot deadlock.
            PERFORM 1 FROM lists l WHERE l.id = ANY (v_added)
             ORDER BY l.id FOR NO KEY UPDATE;
            UPDATE lists l SET member_count = l.member_count + 1
             WHERE l.id = ANY (v_added);
        END IF;
    END IF;

    RETURN QUERY SELECT c.id, c.email, c.eid, c.name, c.phone, c.company,
        c.type, c.status, c.created_at, c.updated_at, c.deleted_at,
        c.last_action, v_action, coalesce(cardinality(v_added), 0), NULL::text;
END $$;
