-- 010_generic_plans.sql - the write functions plan their statements once,
-- for any organization, not for the one at hand.
--
-- A PL/pgSQL statement is planned with its parameters' values (a custom
-- plan) for its first executions in a session.  For an organization the
-- statistics do not know yet — one that has just imported its first
-- thousands of contacts, before autovacuum's next ANALYZE — the planner
-- estimates one row for "org_id = <that organization>" and then sees no
-- difference between the index on (org_id, email_key) and any other index
-- that leads with org_id: it may pick contacts_org_updated and filter the
-- organization's rows one by one.  Measured: a bulk request of 1000 rows
-- into an organization of 5,000 new contacts took 4.0 s that way (1.2 ms
-- per look-up), 84 ms with generic plans.  A generic plan estimates
-- "org_id = $1" from the number of organizations, never as one row, so
-- an equality on every column of a unique index always wins, as it should.
--
-- Every PL/pgSQL function of the schema runs with
-- plan_cache_mode = force_generic_plan, except the two prune functions
-- (their parameters are time ranges, which custom plans serve better, and
-- they run off the request path).  CREATE OR REPLACE FUNCTION resets a
-- function's settings: a later migration that replaces a function says
-- SET plan_cache_mode = force_generic_plan in it again
-- (tests/e2e/test_schema.py checks every function).
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE l.lanname = 'plpgsql'
           AND p.pronamespace = current_schema()::regnamespace
           AND p.proname NOT IN ('changes_prune', 'idempotency_prune')
         ORDER BY p.oid
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_generic_plan', f);
    END LOOP;
END $$;
