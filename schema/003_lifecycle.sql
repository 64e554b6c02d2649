-- 003_lifecycle.sql - the whole contact lifecycle: soft delete, restore,
-- PATCH, erase with suppression, lists by id with ordered members,
-- removeFromLists, and custom fields.
--
-- Offsets stay cheap with deletions (docs/schema.md, "Offsets with holes"):
-- contacts and list memberships are counted per block of 1024 positions,
-- live (shown by default) and present (shown with includeAll), by
-- triggers, so that "skip N" finds its block by summing about N/1024 small
-- rows and skips fewer than 1024 rows inside it (the page statements are
-- in fcgi-app/store_sql.h).

-- --------------------------------------------------------------------------
-- organizations

ALTER TABLE organizations
    -- The key of the organization's suppression hashes: 256 random bits
    -- (gen_random_uuid() draws from the server's strong random source).
    ADD COLUMN suppress_key bytea NOT NULL
        DEFAULT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
    ADD COLUMN suppressions bigint NOT NULL DEFAULT 0;

DROP TRIGGER contacts_deleted_change ON contacts;
DROP FUNCTION contacts_deleted_change();
ALTER TABLE organizations DROP COLUMN deleted_count;

-- --------------------------------------------------------------------------
-- contacts

ALTER TABLE contacts
    -- Custom field values: {"<name>": value}; never holds a JSON null.
    ADD COLUMN fields jsonb NOT NULL DEFAULT '{}',
    -- The status a deleted contact had before its deletion (restore).
    ADD COLUMN prior_status text;

-- A contact is found by its organization and id: the index leads with the
-- organization like every key of tenant data (ready for sharding by
-- organization), and a look-up by id cannot wander into another
-- organization's rows.  Ids are random and unique per organization.
CREATE UNIQUE INDEX contacts_org_id ON contacts (org_id, id);

CREATE TABLE contact_blocks (
    org_id  text NOT NULL,
    block   bigint NOT NULL,              -- pos >> 10
    live    bigint NOT NULL DEFAULT 0,    -- contacts not deleted
    present bigint NOT NULL DEFAULT 0,    -- contacts (erased ones are gone)
    PRIMARY KEY (org_id, block)
);
INSERT INTO contact_blocks (org_id, block, live, present)
SELECT org_id, pos >> 10, count(*) FILTER (WHERE status <> 'deleted'), count(*)
  FROM contacts GROUP BY 1, 2;

CREATE FUNCTION contacts_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_blocks AS b (org_id, block, live, present)
    SELECT org_id, pos >> 10, count(*) FILTER (WHERE status <> 'deleted'),
           count(*)
      FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (org_id, block) DO UPDATE
       SET live = b.live + EXCLUDED.live, present = b.present + EXCLUDED.present;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_inserted AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_inserted();

CREATE FUNCTION contacts_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contact_blocks b
       SET live = b.live - o.live, present = b.present - o.present
      FROM (SELECT org_id, pos >> 10 AS block,
                   count(*) FILTER (WHERE status <> 'deleted') AS live,
                   count(*) AS present
              FROM old_rows GROUP BY 1, 2) o
     WHERE b.org_id = o.org_id AND b.block = o.block;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_removed AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_removed();

-- --------------------------------------------------------------------------
-- lists and their members

ALTER TABLE lists
    ADD COLUMN member_seq bigint NOT NULL DEFAULT 0; -- position of the last member added

-- Members get dense positions per list in the order they were added.
CREATE TABLE list_members_new (
    org_id     text NOT NULL,
    list_id    text NOT NULL REFERENCES lists (id),
    pos        bigint NOT NULL,
    contact_id text NOT NULL,
    live       boolean NOT NULL,          -- the contact is not deleted
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, list_id, pos),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id)
);
INSERT INTO list_members_new (org_id, list_id, pos, contact_id, live, added_at)
SELECT l.org_id, m.list_id,
       row_number() OVER (PARTITION BY m.list_id ORDER BY m.added_at, m.contact_id),
       m.contact_id, c.status <> 'deleted', m.added_at
  FROM list_members m
  JOIN lists l ON l.id = m.list_id
  JOIN contacts c ON c.id = m.contact_id;
DROP TABLE list_members;
DROP INDEX contacts_id;
ALTER TABLE list_members_new RENAME TO list_members;
ALTER TABLE list_members RENAME CONSTRAINT list_members_new_pkey TO list_members_pkey;
CREATE UNIQUE INDEX list_members_contact ON list_members (org_id, contact_id, list_id);
CREATE INDEX list_members_live ON list_members (org_id, list_id, pos) WHERE live;

UPDATE lists l SET member_seq = coalesce(
    (SELECT max(pos) FROM list_members m WHERE m.list_id = l.id), 0);

CREATE TABLE list_member_blocks (
    org_id  text NOT NULL,
    list_id text NOT NULL,
    block   bigint NOT NULL,
    live    bigint NOT NULL DEFAULT 0,
    present bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, list_id, block)
);
INSERT INTO list_member_blocks (org_id, list_id, block, live, present)
SELECT org_id, list_id, pos >> 10, count(*) FILTER (WHERE live), count(*)
  FROM list_members GROUP BY 1, 2, 3;

-- The lists whose rows these triggers update are locked, in id order, by
-- whoever changes memberships (contact_lists_apply, contact_erase,
-- contacts_status_change), so that concurrent writers cannot deadlock.
CREATE FUNCTION list_members_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO list_member_blocks AS b (org_id, list_id, block, live, present)
    SELECT org_id, list_id, pos >> 10, count(*) FILTER (WHERE live), count(*)
      FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (org_id, list_id, block) DO UPDATE
       SET live = b.live + EXCLUDED.live, present = b.present + EXCLUDED.present;
    UPDATE lists l SET member_count = l.member_count + n.live
      FROM (SELECT list_id, count(*) FILTER (WHERE live) AS live
              FROM new_rows GROUP BY 1) n
     WHERE l.id = n.list_id AND n.live > 0;
    RETURN NULL;
END $$;
CREATE TRIGGER list_members_inserted AFTER INSERT ON list_members
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_members_inserted();

CREATE FUNCTION list_members_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE list_member_blocks b
       SET live = b.live - o.live, present = b.present - o.present
      FROM (SELECT org_id, list_id, pos >> 10 AS block,
                   count(*) FILTER (WHERE live) AS live, count(*) AS present
              FROM old_rows GROUP BY 1, 2, 3) o
     WHERE b.org_id = o.org_id AND b.list_id = o.list_id AND b.block = o.block;
    UPDATE lists l SET member_count = l.member_count - o.live
      FROM (SELECT list_id, count(*) FILTER (WHERE live) AS live
              FROM old_rows GROUP BY 1) o
     WHERE l.id = o.list_id;
    RETURN NULL;
END $$;
CREATE TRIGGER list_members_removed AFTER DELETE ON list_members
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION list_members_removed();

CREATE FUNCTION list_members_live_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d int := CASE WHEN NEW.live THEN 1 ELSE -1 END;
BEGIN
    UPDATE list_member_blocks SET live = live + d
     WHERE org_id = NEW.org_id AND list_id = NEW.list_id AND block = NEW.pos >> 10;
    UPDATE lists SET member_count = member_count + d WHERE id = NEW.list_id;
    RETURN NULL;
END $$;
CREATE TRIGGER list_members_live_change
    AFTER UPDATE OF live ON list_members
    FOR EACH ROW WHEN (OLD.live IS DISTINCT FROM NEW.live)
    EXECUTE FUNCTION list_members_live_change();

-- A contact entering or leaving the 'deleted' status moves the counters of
-- its block and of every list it is on.
CREATE FUNCTION contacts_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    d int := CASE WHEN NEW.status = 'deleted' THEN -1 ELSE 1 END;
BEGIN
    UPDATE contact_blocks SET live = live + d
     WHERE org_id = NEW.org_id AND block = NEW.pos >> 10;
    PERFORM 1 FROM lists l
     WHERE l.id IN (SELECT m.list_id FROM list_members m
                     WHERE m.org_id = NEW.org_id AND m.contact_id = NEW.id)
     ORDER BY l.id FOR NO KEY UPDATE;
    UPDATE list_members SET live = (d > 0)
     WHERE org_id = NEW.org_id AND contact_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_status_change
    AFTER UPDATE OF status ON contacts
    FOR EACH ROW
    WHEN ((OLD.status = 'deleted') IS DISTINCT FROM (NEW.status = 'deleted'))
    EXECUTE FUNCTION contacts_status_change();

-- --------------------------------------------------------------------------
-- custom fields

CREATE TABLE custom_fields (
    org_id     text NOT NULL REFERENCES organizations (id),
    name       text NOT NULL CHECK (name ~ '^[a-z0-9_]{1,64}$'),
    type       text NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'date')),
    seq        bigserial,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, name)
);
CREATE INDEX custom_fields_org ON custom_fields (org_id, seq);

-- True when v is a calendar date written YYYY-MM-DD.
CREATE FUNCTION is_iso_date(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
       AND to_char(v::date, 'YYYY-MM-DD') = v;
EXCEPTION WHEN others THEN
    RETURN false;
END $$;

-- --------------------------------------------------------------------------
-- suppressions: a keyed one-way hash of an erased contact's folded email

CREATE TABLE suppressions (
    org_id     text NOT NULL REFERENCES organizations (id),
    hash       bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, hash)
);

-- The folded matching key of an email: ICU's Unicode lower case, the same
-- everywhere (contacts.email_key, suppressions).
CREATE FUNCTION email_key(p_email text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(p_email COLLATE "und-x-icu") COLLATE "default"
$$;

CREATE FUNCTION suppress_hash(p_key bytea, p_email_key text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(p_key || '\x00'::bytea || convert_to(p_email_key, 'UTF8'))
$$;

-- True when an email of p_org is suppressed.  Takes no lock.
CREATE FUNCTION email_suppressed(p_org text, p_email_key text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM organizations o JOIN suppressions s ON s.org_id = o.id
         WHERE o.id = p_org AND o.suppressions > 0
           AND s.hash = suppress_hash(o.suppress_key, p_email_key))
$$;

-- --------------------------------------------------------------------------
-- the writes
--
-- Every write function returns the contact's columns (contacts%ROWTYPE
-- order is not relied on: store_sql.h names them) and, when it refuses the
-- request, writes nothing and says why in err ('unknown_list',
-- 'unknown_field', 'invalid_field', 'email_taken', 'suppressed',
-- 'not_found'), err_field (the request's field at fault, or a custom
-- field's name) and err_detail (e.g. the unknown list ids).

CREATE TYPE contact_write AS (
    c contacts,
    action text,
    lists_updated int,
    lists_removed int,
    err text,
    err_field text,
    err_detail text
);

-- The ids of p_ids that are not lists of p_org (or are deleted ones), each
-- once, in the order first given, as "a, b"; NULL when there is none.
CREATE FUNCTION unknown_lists(p_org text, p_ids text[]) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT string_agg(u.x, ', ' ORDER BY u.n)
      FROM (SELECT x, min(n) AS n
              FROM unnest(p_ids) WITH ORDINALITY AS t (x, n) GROUP BY x) u
     WHERE NOT EXISTS (SELECT 1 FROM lists l WHERE l.id = u.x
                          AND l.org_id = p_org AND l.deleted_at IS NULL)
$$;

-- Why a write that names these lists and custom field values must be
-- refused, or NULL when it need not be.  Unknown (or deleted) lists, then
-- custom fields that are not defined or whose value has the wrong type.
--
-- The custom fields named are locked (KEY SHARE) until the write commits,
-- so that a concurrent DELETE /fields/{name} either comes first (the field
-- is then unknown here) or waits and strips the value written here.  A list
-- deleted while a write that adds to it runs may still get that member: it
-- is invisible (a deleted list has no member pages) and harmless.
CREATE FUNCTION contact_write_refusal(p_org text, p_add text[],
                                      p_remove text[], p_cf jsonb)
RETURNS contact_write
LANGUAGE plpgsql AS $$
DECLARE
    r contact_write;
    v_ids text;
    v_name text;
    v_defined boolean;
BEGIN
    v_ids := unknown_lists(p_org, p_add);
    IF v_ids IS NOT NULL THEN
        r.err := 'unknown_list'; r.err_field := 'addToLists'; r.err_detail := v_ids;
        RETURN r;
    END IF;
    v_ids := unknown_lists(p_org, p_remove);
    IF v_ids IS NOT NULL THEN
        r.err := 'unknown_list'; r.err_field := 'removeFromLists'; r.err_detail := v_ids;
        RETURN r;
    END IF;
    IF p_cf IS NOT NULL AND p_cf <> '{}' THEN
        PERFORM 1 FROM custom_fields f
         WHERE f.org_id = p_org AND f.name IN (SELECT jsonb_object_keys(p_cf))
         ORDER BY f.name FOR KEY SHARE;
        SELECT k.key, f.name IS NOT NULL INTO v_name, v_defined
          FROM jsonb_each(p_cf) WITH ORDINALITY AS k (key, value, n)
          LEFT JOIN custom_fields f ON f.org_id = p_org AND f.name = k.key
         WHERE f.name IS NULL
            OR NOT (jsonb_typeof(k.value) = 'null'
                 OR (f.type = 'string' AND jsonb_typeof(k.value) = 'string'
                     AND char_length(k.value #>> '{}') <= 1000)
                 OR (f.type = 'number' AND jsonb_typeof(k.value) = 'number')
                 OR (f.type = 'boolean' AND jsonb_typeof(k.value) = 'boolean')
                 OR (f.type = 'date' AND jsonb_typeof(k.value) = 'string'
                     AND is_iso_date(k.value #>> '{}')))
         ORDER BY k.n LIMIT 1;
        IF FOUND THEN
            r.err := CASE WHEN v_defined THEN 'invalid_field' ELSE 'unknown_field' END;
            r.err_field := v_name;
            SELECT f.type INTO r.err_detail FROM custom_fields f
             WHERE f.org_id = p_org AND f.name = v_name;
            RETURN r;
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- Adds a contact to lists and takes it off others; the lists are known to
-- exist (contact_write_refusal).  Returns how many memberships were added
-- and removed.
CREATE FUNCTION contact_lists_apply(p_org text, p_contact text, p_live boolean,
                                    p_add text[], p_remove text[],
                                    OUT added int, OUT removed int)
LANGUAGE plpgsql AS $$
BEGIN
    added := 0;
    removed := 0;
    IF cardinality(p_add) = 0 AND cardinality(p_remove) = 0 THEN
        RETURN;
    END IF;
    -- Lock in one order so that concurrent writers cannot deadlock.
    PERFORM 1 FROM lists l WHERE l.id = ANY (p_add || p_remove)
     ORDER BY l.id FOR NO KEY UPDATE;
    IF cardinality(p_add) > 0 THEN
        WITH wanted AS (
            SELECT DISTINCT x FROM unnest(p_add) AS x
             WHERE NOT EXISTS (SELECT 1 FROM list_members m
                                WHERE m.org_id = p_org AND m.contact_id = p_contact
                                  AND m.list_id = x)),
        placed AS (
            UPDATE lists l SET member_seq = l.member_seq + 1
              FROM wanted w WHERE l.id = w.x
            RETURNING l.id, l.member_seq)
        INSERT INTO list_members (org_id, list_id, pos, contact_id, live)
        SELECT p_org, p.id, p.member_seq, p_contact, p_live FROM placed p;
        GET DIAGNOSTICS added = ROW_COUNT;
    END IF;
    IF cardinality(p_remove) > 0 THEN
        DELETE FROM list_members m
         WHERE m.org_id = p_org AND m.contact_id = p_contact
           AND m.list_id = ANY (p_remove);
        GET DIAGNOSTICS removed = ROW_COUNT;
    END IF;
END $$;

-- Create or update a contact by email (POST /contacts, one bulk row).
--
-- p_fields says which optional fields the request carried (present with a
-- value or with null): 1 eid, 2 name, 4 phone, 8 company, 16 type.  p_cf
-- holds custom field values (null clears one), or is NULL.
--
-- Concurrency: an existing contact is updated under its row lock.  A new one
-- takes the organization's row lock to get the next position, so creates in
-- one organization are serialized; if another transaction created the same
-- email meanwhile, the insert finds it (ON CONFLICT), the position is given
-- back, and the loop updates the row instead.  Two requests for one new
-- email therefore make one contact: one IMPORT_CREATE, the rest updates.
-- The suppression check is a statement of its own, after the contact's
-- look-up: see contact_erase for why a create cannot slip past an erasure.
CREATE FUNCTION contact_upsert(
    p_org text, p_id text, p_email text, p_email_key text, p_fields int,
    p_eid text, p_name text, p_phone text, p_company text, p_type text,
    p_add text[], p_remove text[], p_cf jsonb)
RETURNS contact_write
LANGUAGE plpgsql AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_key text := email_key(p_email_key);
    v_pos bigint;
    v_suppressed boolean;
BEGIN
    r := contact_write_refusal(p_org, p_add, p_remove, p_cf);
    IF r.err IS NOT NULL THEN
        RETURN r;
    END IF;

    LOOP
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

        UPDATE organizations o SET contact_seq = o.contact_seq + 1
         WHERE o.id = p_org
        RETURNING o.contact_seq, o.suppressions > 0 AND EXISTS (
            SELECT 1 FROM suppressions s WHERE s.org_id = p_org
               AND s.hash = suppress_hash(o.suppress_key, v_key))
          INTO v_pos, v_suppressed;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization % does not exist', p_org
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF v_suppressed THEN
            UPDATE organizations o SET contact_seq = o.contact_seq - 1
             WHERE o.id = p_org;
            r.err := 'suppressed'; r.err_field := 'email';
            RETURN r;
        END IF;

        INSERT INTO contacts AS t (org_id, pos, id, email, email_key, eid, name,
                                   phone, company, type, status, fields,
                                   created_at, updated_at)
        VALUES (p_org, v_pos, p_id, p_email, v_key, p_eid, p_name,
                p_phone, p_company, coalesce(p_type, 'customer'), 'active',
                jsonb_strip_nulls(coalesce(p_cf, '{}')),
                clock_timestamp(), clock_timestamp())
        ON CONFLICT (org_id, email_key) DO NOTHING
        RETURNING t.* INTO c;
        IF FOUND THEN
            r.action := 'IMPORT_CREATE';
            EXIT;
        END IF;

        -- Lost the race to a create that committed while we waited for the
        -- organization's lock, which we still hold: give the position back.
        UPDATE organizations o SET contact_seq = o.contact_seq - 1
         WHERE o.id = p_org;
    END LOOP;

    SELECT a.added, a.removed INTO r.lists_updated, r.lists_removed
      FROM contact_lists_apply(p_org, c.id, c.status <> 'deleted',
                               p_add, p_remove) a;
    r.c := c;
    RETURN r;
END $$;

-- PATCH /contacts/{id}.  p_fields: the bits of contact_upsert, and 32
-- email, 64 status.  Refuses an email that another contact has
-- (email_taken) or that is suppressed.
CREATE FUNCTION contact_patch(
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

-- Soft delete, by id (p_id) or by email (p_email_key).  A contact already
-- deleted is returned as it is.
CREATE FUNCTION contact_delete(p_org text, p_id text, p_email_key text)
RETURNS contact_write
LANGUAGE plpgsql AS $$
DECLARE
    r contact_write;
    c contacts%ROWTYPE;
    v_id text := p_id;
BEGIN
    IF v_id IS NULL THEN
        SELECT t.id INTO v_id FROM contacts t
         WHERE t.org_id = p_org AND t.email_key = email_key(p_email_key);
    END IF;
    UPDATE contacts AS t SET
        prior_status = t.status,
        status = 'deleted',
        deleted_at = clock_timestamp(),
        updated_at = clock_timestamp(),
        last_action = 'DELETE'
     WHERE t.org_id = p_org AND t.id = v_id AND t.status <> 'deleted'
    RETURNING t.* INTO c;
    IF FOUND THEN
        r.action := 'DELETE';
    ELSE
        SELECT * INTO c FROM contacts t WHERE t.org_id = p_org AND t.id = v_id;
        IF NOT FOUND THEN
            r.err := 'not_found';
            RETURN r;
        END IF;
        r.action := 'NOOP';
    END IF;
    r.c := c;
    RETURN r;
END $$;

-- Erasure, by id or by email: the contact and its memberships are gone;
-- with p_suppress the organization keeps the keyed hash of its email.
-- Returns the erased contact's row (for the caller to purge its cache),
-- or err 'not_found'.
CREATE FUNCTION contact_erase(p_org text, p_id text, p_email_key text,
                              p_suppress boolean)
RETURNS contact_write
LANGUAGE plpgsql AS $$
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
    -- Locks in the order every writer takes them: the contact, the
    -- organization (a create takes it first), the contact's block (a
    -- create's insert and a deletion take it before any list), the lists
    -- in id order.  Then no two writers wait for each other in a circle.
    IF p_suppress THEN
        PERFORM 1 FROM organizations o WHERE o.id = p_org FOR NO KEY UPDATE;
    END IF;
    PERFORM 1 FROM contact_blocks b
     WHERE b.org_id = p_org AND b.block = c.pos >> 10 FOR NO KEY UPDATE;
    PERFORM 1 FROM lists l
     WHERE l.id IN (SELECT m.list_id FROM list_members m
                     WHERE m.org_id = p_org AND m.contact_id = v_id)
     ORDER BY l.id FOR NO KEY UPDATE;
    DELETE FROM list_members m WHERE m.org_id = p_org AND m.contact_id = v_id;
    DELETE FROM contacts t WHERE t.org_id = p_org AND t.id = v_id;
    -- A create of the same email waits for this contact's row lock, then
    -- finds no contact and checks the suppressions in a snapshot taken
    -- after this commit (contact_upsert): it cannot slip past.
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

-- Lifts a suppression: the organization's counter follows its rows.
CREATE FUNCTION suppression_lift(p_org text, p_email_key text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM suppressions s USING organizations o
     WHERE o.id = p_org AND s.org_id = p_org
       AND s.hash = suppress_hash(o.suppress_key, email_key(p_email_key));
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE organizations SET suppressions = suppressions - 1 WHERE id = p_org;
    RETURN true;
END $$;

-- DELETE /fields/{name}: the definition and every value of it.  Writes that
-- set a value of it hold its row (contact_write_refusal), so none commits a
-- value after this.  updated_at is left as it is: the field is gone, not
-- the contacts changed.
CREATE FUNCTION custom_field_delete(p_org text, p_name text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM custom_fields WHERE org_id = p_org AND name = p_name;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE contacts SET fields = fields - p_name
     WHERE org_id = p_org AND fields ? p_name;
    RETURN true;
END $$;
