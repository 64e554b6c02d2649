-- bench/peer_seed.sql - the contacts of bench/seed.sql in the Node.js
-- peer's schema (/work/shared/peers/node-fastify/schema.sql), for its rows
-- of the full bench/run:
--
--   psql -v org=PEER_ORG_ID -v n=1000000 -v base=B -f bench/peer_seed.sql
--
-- Contact p (1..n): the same email, eid, name, phone, company and type as
-- in bench/seed.sql, created in order of p (the peer's seq is its creation
-- order), id base62(base + p).
\set ON_ERROR_STOP on

BEGIN;
SET LOCAL synchronous_commit = off;

INSERT INTO contacts (id, org_id, email, eid, name, phone, company, type,
                      status, created_at, updated_at)
SELECT b62, :org, 'User' || p || '@Bench.Example.com', 'E' || p, 'Contact ' || p,
       '+1 555 ' || lpad((p % 10000000)::text, 7, '0'),
       'Company ' || (p % 1000),
       CASE WHEN p % 10 = 0 THEN 'employee' ELSE 'customer' END,
       'active', ts, ts
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
                  FROM generate_series(1, :n::bigint) AS p) s1) s2
 ORDER BY p;
COMMIT;

VACUUM ANALYZE contacts;
