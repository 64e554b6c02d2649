-- bench/seed_deleted.sql - the organization of the deep-page scenarios with
-- deletions (issue 11): N contacts of which every 10th is deleted, and one
-- list whose members are the first M of them, in one transaction.
--
--   psql -v org=ORG_ID -v n=1000000 -v base=B -v list=LIST_ID -v m=100000 \
--        -f bench/seed_deleted.sql
--
-- ORG_ID is a new, empty organization (not the one of bench/seed.sql, whose
-- scenarios stay as they were); LIST_ID a new, empty list of it (made with
-- POST /lists).
--
-- Contact number p (1..n) is built as in bench/seed.sql (pos p, email
-- User<p>@Bench.Example.com, id base62(base + p), created_at 1 ms apart),
-- and when p % 10 = 0 it is deleted as DELETE /contacts/{id} leaves it:
-- status 'deleted', prior_status 'active', deleted_at = updated_at,
-- last_action 'DELETE'.  So the live contacts are those with p % 10 <> 0,
-- and the k-th of them (k from 1) is p = k + (k - 1) / 9.
--
-- The list's members are contacts 1..m in that order (pos p, live unless
-- the contact is deleted), so its live members follow the same rule.
--
-- The statement-level triggers of schema/003 and 015 count the inserted
-- rows into contact_blocks (live: not deleted) and list_member_blocks
-- (whose sums are the list's count of live members), from which the pages
-- find their offsets.  What no trigger keeps is set here: the sequences of
-- positions of the organization and of the list (organizations.pos_seq,
-- lists.pos_seq), the positions the next create and the next member take.
\set ON_ERROR_STOP on
\timing on

BEGIN;
SET LOCAL synchronous_commit = off;

INSERT INTO contacts (org_id, pos, id, email, email_key, eid, name, phone,
                      company, type, status, prior_status, created_at,
                      updated_at, deleted_at, last_action)
SELECT :'org', p, b62, 'User' || p || '@Bench.Example.com',
       'user' || p || '@bench.example.com',
       'E' || p, 'Contact ' || p,
       '+1 555 ' || lpad((p % 10000000)::text, 7, '0'),
       'Company ' || (p % 1000),
       CASE WHEN p % 10 = 5 THEN 'employee' ELSE 'customer' END,
       CASE WHEN p % 10 = 0 THEN 'deleted' ELSE 'active' END,
       CASE WHEN p % 10 = 0 THEN 'active' END,
       ts, ts,
       CASE WHEN p % 10 = 0 THEN ts END,
       CASE WHEN p % 10 = 0 THEN 'DELETE' END
  FROM (SELECT p,
               now() - (:n - p) * interval '1 millisecond' AS ts,
               substr(a, ((v / 218340105584896) % 62)::int + 1, 1) ||
               substr(a, ((v / 3521614606208) % 62)::int + 1, 1) ||
               substr(a, ((v / 56800235584) % 62)::int + 1, 1) ||
               substr(a, ((v / 916132832) % 62)::int + 1, 1) ||
               substr(a, ((v / 14776336) % 62)::int + 1, 1) ||
               substr(a, ((v / 238328) % 62)::int + 1, 1) ||
               substr(a, ((v / 3844) % 62)::int + 1, 1) ||
               substr(a, ((v / 62) % 62)::int + 1, 1) ||
               substr(a, (v % 62)::int + 1, 1) AS b62
          FROM (SELECT p, :base::bigint + p AS v,
                       '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'::text AS a
                  FROM generate_series(1, :n::bigint) AS p) s1) s2;

SELECT setval(pos_seq, :n) AS last_pos FROM organizations WHERE id = :'org' \gset

INSERT INTO list_members (org_id, list_id, pos, contact_id, live)
SELECT :'org', :'list', c.pos, c.id, c.status <> 'deleted'
  FROM contacts c
 WHERE c.org_id = :'org' AND c.pos <= :m
 ORDER BY c.pos;

SELECT setval(pos_seq, :m) AS last_member FROM lists WHERE id = :'list' AND org_id = :'org' \gset
COMMIT;

VACUUM ANALYZE contacts;
VACUUM ANALYZE organizations;
VACUUM ANALYZE contact_blocks;
VACUUM ANALYZE lists;
VACUUM ANALYZE list_members;
VACUUM ANALYZE list_member_blocks;
