-- bench/seed.sql - N contacts in one (new, empty) organization, in one
-- INSERT ... SELECT over generate_series.
--
--   psql -v org=ORG_ID -v n=1000000 -v base=B -f bench/seed.sql
--
-- Contact number p (1..n) has:
--   pos        p (dense 1..n)
--   email      User<p>@Bench.Example.com, email_key its lower case
--   id         base62(base + p), 9 characters; bench/run passes a base that
--              no other organization has used, so ids stay unique across
--              runs in one database
--   created_at increasing with p, 1 ms apart, ending now
-- Every contact is active: no holes (bench/seed_deleted.sql seeds them).
-- bench/*.lua and bench/pgbench_upsert.sql rebuild emails from p the same
-- way: change all three together.
\set ON_ERROR_STOP on
\timing on

BEGIN;
-- One transaction: a crash leaves nothing behind.  Only this session's
-- commit is asynchronous; the database keeps its settings.
SET LOCAL synchronous_commit = off;

INSERT INTO contacts (org_id, pos, id, email, email_key, eid, name, phone,
                      company, type, status, created_at, updated_at,
                      deleted_at, last_action)
SELECT :'org', p, b62, 'User' || p || '@Bench.Example.com',
       'user' || p || '@bench.example.com',
       'E' || p, 'Contact ' || p,
       '+1 555 ' || lpad((p % 10000000)::text, 7, '0'),
       'Company ' || (p % 1000),
       CASE WHEN p % 10 = 0 THEN 'employee' ELSE 'customer' END,
       'active', ts, ts, NULL, NULL
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

-- the next create's position: the organization's sequence (schema/015)
SELECT setval(pos_seq, :n) AS last_pos FROM organizations WHERE id = :'org' \gset
COMMIT;

VACUUM ANALYZE contacts;
VACUUM ANALYZE organizations;
