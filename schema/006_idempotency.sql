-- 006_idempotency.sql - Idempotency-Key on POST, PATCH and DELETE
-- (API.md, "Idempotent requests"; docs/idempotency.md).
--
-- The answer of the first request with a key is stored in the same
-- transaction as its write, so it exists if and only if the write
-- committed: a retry after a lost answer (a timeout, a worker killed
-- between the commit and the answer) replays it, and a retry of a request
-- that rolled back runs again.

CREATE TABLE idempotency_keys (
    org_id       text NOT NULL REFERENCES organizations (id),
    key          text NOT NULL,
    request_hash bytea NOT NULL,    -- sha256 of method, path, query, body
    status       int NOT NULL,
    location     text,
    body         text NOT NULL,
    -- The contacts the answer shows: an erasure removes the answers that
    -- hold its contact (nothing of it may remain).
    contact_ids  text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL DEFAULT now() + interval '24 hours',
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_contacts ON idempotency_keys USING gin (contact_ids);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Called first in the request's transaction.  'busy': another request
-- with the key is running (it holds the key's advisory lock until its
-- transaction ends); 'replay' with the stored answer; 'mismatch': the key
-- was used for another request; 'new': go on (the lock is held until this
-- transaction ends).  An expired answer counts as none.
CREATE FUNCTION idempotency_claim(p_org text, p_key text, p_hash bytea,
                                  OUT state text, OUT status int,
                                  OUT location text, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
    k idempotency_keys%ROWTYPE;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended(p_org || ':' || p_key, 7)) THEN
        state := 'busy';
        RETURN;
    END IF;
    SELECT * INTO k FROM idempotency_keys i
     WHERE i.org_id = p_org AND i.key = p_key AND i.expires_at > now();
    IF NOT FOUND THEN
        state := 'new';
    ELSIF k.request_hash <> p_hash THEN
        state := 'mismatch';
    ELSE
        state := 'replay';
        status := k.status;
        location := k.location;
        body := k.body;
    END IF;
END $$;

-- The answer, before the transaction commits.
CREATE FUNCTION idempotency_save(p_org text, p_key text, p_hash bytea,
                                 p_status int, p_location text, p_body text)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO idempotency_keys AS i (org_id, key, request_hash, status,
                                       location, body, contact_ids)
    VALUES (p_org, p_key, p_hash, p_status, p_location, p_body,
            CASE WHEN p_body LIKE '{%' THEN ARRAY(
                SELECT DISTINCT v #>> '{}'
                  FROM jsonb_path_query(p_body::jsonb, 'lax $.**.contact.id') AS v)
            ELSE '{}' END)
    ON CONFLICT (org_id, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
           location = EXCLUDED.location, body = EXCLUDED.body,
           contact_ids = EXCLUDED.contact_ids, created_at = now(),
           expires_at = now() + interval '24 hours'
     WHERE i.expires_at <= now()
$$;

-- Expired answers, a batch at a time (contactsctl prune, a timer): no
-- request waits for this; an expired answer is ignored until it goes.
CREATE FUNCTION idempotency_prune(p_batch int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM idempotency_keys
     WHERE (org_id, key) IN (SELECT org_id, key FROM idempotency_keys
                              WHERE expires_at <= now() LIMIT p_batch);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- An erasure removes the stored answers that show the contact.
CREATE FUNCTION contacts_erased_answers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM idempotency_keys i
     USING old_rows o
     WHERE i.org_id = o.org_id AND i.contact_ids @> ARRAY[o.id];
    RETURN NULL;
END $$;
CREATE TRIGGER contacts_erased_answers AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_erased_answers();
