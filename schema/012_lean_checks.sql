-- 012_lean_checks.sql - the checks every write runs, without replanning.
--
-- A LANGUAGE sql function that cannot be inlined (these read tables) is
-- planned anew on every call from PL/pgSQL: contact_write_refusal's two
-- unknown_lists() calls cost a create about as much as its INSERT, even
-- with no lists named.  Here unknown_lists and email_suppressed are
-- PL/pgSQL (their plans are kept for the session), and
-- contact_write_refusal skips what the request did not name.  Same
-- answers as 003's.

CREATE OR REPLACE FUNCTION unknown_lists(p_org text, p_ids text[]) RETURNS text
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    IF coalesce(cardinality(p_ids), 0) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT string_agg(u.x, ', ' ORDER BY u.n)
              FROM (SELECT x, min(n) AS n
                      FROM unnest(p_ids) WITH ORDINALITY AS t (x, n) GROUP BY x) u
             WHERE NOT EXISTS (SELECT 1 FROM lists l WHERE l.id = u.x
                                  AND l.org_id = p_org AND l.deleted_at IS NULL));
END $$;

CREATE OR REPLACE FUNCTION email_suppressed(p_org text, p_email_key text) RETURNS boolean
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM organizations o JOIN suppressions s ON s.org_id = o.id
         WHERE o.id = p_org AND o.suppressions > 0
           AND s.hash = suppress_hash(o.suppress_key, p_email_key));
END $$;
