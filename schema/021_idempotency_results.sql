-- 021_idempotency_results.sql - a keyed POST /contacts keeps its write's
-- result, not its answer's body, and commits in one round trip (issue 13:
-- idempotency's cost).
--
-- Since 018 a keyed request made two round trips: BEGIN, the key's lock
-- and the handler's statement, then the answer's insert and COMMIT.  The
-- second one was there because the answer's body is built by the worker
-- from the write's result.  For POST /contacts the worker now sends the
-- key's lock and a statement that writes the contact and stores the
-- write's result beside the key (STMT_CONTACT_UPSERT_KEPT,
-- fcgi-app/store_sql.h), in one implicit transaction that the protocol's
-- Sync commits: one round trip, no BEGIN and no COMMIT.  A replay reads
-- the result back and the worker answers from it with the code that
-- answered the first time (docs/idempotency.md).  Every other keyed
-- request keeps its body, as before: such an answer has result NULL, and
-- a result's answer has status and body NULL.

ALTER TABLE idempotency_keys
    ADD COLUMN result jsonb,           -- to_jsonb() of the contact_write
    ALTER COLUMN status DROP NOT NULL,
    ALTER COLUMN body DROP NOT NULL,
    ADD CONSTRAINT idempotency_keys_answer
        CHECK ((result IS NULL) = (status IS NOT NULL AND body IS NOT NULL));
