-- 004_changes.sql - the change feed (GET /contacts/changes), and the
-- indexes of updated_since and eid.
--
-- Every change of a contact is recorded, by triggers, in the transaction
-- that makes it: whatever path writes (POST, bulk rows, PATCH, DELETE,
-- erase, a custom field's removal, or SQL by hand), the feed cannot miss
-- it, and a change that rolls back leaves no entry.
--
-- Order and exactly-once (docs/feed.md): an entry is keyed by the id of
-- its transaction (xid8, never reused, kept across restarts and replicas)
-- and a sequence number.  A reader returns only entries whose transaction
-- is older than the oldest one still running (the xmin of its snapshot):
-- every transaction below that is finished, so no entry that sorts before
-- what the reader returns can still appear.  Entries are read in (xid, seq)
-- order, and a cursor is the (xid, seq) of the last one returned.

CREATE TABLE changes (
    org_id     text NOT NULL,
    xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    contact_id text NOT NULL,   -- an id only: nothing personal
    op         text NOT NULL CHECK (op IN ('create', 'update', 'delete', 'erase')),
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (org_id, xid, seq)
);
-- For the retention sweep.
CREATE INDEX changes_at ON changes (at);

-- What the retention sweep removed, per organization: a cursor before it
-- answers 410 cursor_expired (the client resyncs).
ALTER TABLE organizations
    ADD COLUMN feed_horizon_xid xid8 NOT NULL DEFAULT '0',
    ADD COLUMN feed_horizon_seq bigint NOT NULL DEFAULT 0;

CREATE FUNCTION contacts_changes_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (org_id, contact_id, op)
    SELECT org_id, id, 'create' FROM new_rows ORDER BY org_id, pos;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_changes_inserted AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_changes_inserted();

CREATE FUNCTION contacts_changes_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (org_id, contact_id, op)
    SELECT n.org_id, n.id,
           CASE WHEN n.status = 'deleted' AND o.status <> 'deleted'
                THEN 'delete' ELSE 'update' END
      FROM new_rows n JOIN old_rows o ON o.org_id = n.org_id AND o.pos = n.pos
     ORDER BY n.org_id, n.pos;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_changes_updated AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_changes_updated();

CREATE FUNCTION contacts_changes_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (org_id, contact_id, op)
    SELECT org_id, id, 'erase' FROM old_rows ORDER BY org_id, pos;
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_changes_deleted AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_changes_deleted();

-- Removes the entries older than p_keep (never less than 30 days), at
-- most p_batch of them, and moves each organization's horizon past what
-- went.  Returns how many went.  Run by `contactsctl prune` (a timer).
CREATE FUNCTION changes_prune(p_keep interval, p_batch int)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF p_keep < interval '30 days' THEN
        RAISE EXCEPTION 'the change feed keeps at least 30 days'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    WITH gone AS (
        DELETE FROM changes c
         WHERE (c.org_id, c.xid, c.seq) IN (
               SELECT org_id, xid, seq FROM changes
                WHERE at < now() - p_keep ORDER BY at LIMIT p_batch)
        RETURNING c.org_id, c.xid, c.seq),
    last AS (
        SELECT DISTINCT ON (org_id) org_id, xid, seq FROM gone
         ORDER BY org_id, xid DESC, seq DESC),
    moved AS (
        UPDATE organizations o
           SET feed_horizon_xid = l.xid, feed_horizon_seq = l.seq
          FROM last l
         WHERE o.id = l.org_id
           AND (l.xid, l.seq) > (o.feed_horizon_xid, o.feed_horizon_seq)
        RETURNING 1)
    SELECT count(*) INTO n FROM gone;
    RETURN n;
END $$;

-- GET /contacts?updated_since= and ?eid=
CREATE INDEX contacts_org_updated ON contacts (org_id, updated_at);
CREATE INDEX contacts_org_eid ON contacts (org_id, eid) WHERE eid IS NOT NULL;
