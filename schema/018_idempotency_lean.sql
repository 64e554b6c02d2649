-- 018_idempotency_lean.sql - a keyed request's claim is the key's lock
-- alone; whether the key already has an answer is found by storing the
-- new one (issue 13: idempotency's cost).
--
-- 006's idempotency_claim() took the key's advisory lock and then read the
-- key's answer, in PL/pgSQL, before the handler's first statement.  Now
-- the worker sends the lock (a plain prepared SELECT of
-- pg_try_advisory_xact_lock) in one round trip with BEGIN and the
-- handler's first statement; when another request holds the lock it calls
-- idempotency_key_busy(), whose error skips the handler's statement (it
-- must not wait for the other request's rows: that one answers 409 at
-- once).  The worker looks for an answer only when the
-- request's own answer cannot be stored: the insert of the answer finds
-- the key's row (a live one: an expired one it replaces, as before), and
-- calls idempotency_key_taken(), whose error ends the transaction before
-- its COMMIT, which is sent in the same round trip.  The worker then rolls
-- back and reads the stored answer (a replay, or a mismatch).  A replay
-- costs one more round trip and a write that is rolled back; a new key,
-- the common case, a PL/pgSQL call and an index probe less
-- (docs/idempotency.md, docs/performance.md).
--
-- The answers' organization is always the authenticated key's, which
-- exists: the foreign key to organizations only cost each keyed write a
-- check with a row lock on the organization's row (FOR KEY SHARE, a
-- MultiXact when several run at once); dropped.

ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_org_id_fkey;

-- The error that says another request with the key is running (SQLSTATE
-- IK002): called only when the key's lock is taken.  (Neither function
-- plans anything; the setting is every PL/pgSQL function's, schema/010.)
CREATE FUNCTION idempotency_key_busy() RETURNS boolean
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RAISE EXCEPTION 'a request with this Idempotency-Key is running' USING ERRCODE = 'IK002';
END $$;

-- The error that says the key has an answer (SQLSTATE IK001): called only
-- when the answer's insert stored nothing.
CREATE FUNCTION idempotency_key_taken() RETURNS boolean
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RAISE EXCEPTION 'this Idempotency-Key has an answer' USING ERRCODE = 'IK001';
END $$;
