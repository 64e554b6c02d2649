-- pgbench_upsert.sql - limit (c): the service's own upsert statement
-- (fcgi-app/store_sql.h, STMT_CONTACT_UPSERT), updating the name of a random
-- seeded contact as S5 does (p_fields 2 = name; no lists).
--
--   pgbench -n -M prepared -f bench/pgbench_upsert.sql -D org=ORG -D n=N \
--           -c 32 -j 2 -T 10 DBNAME
--
-- p_id is only used when a contact is created, which never happens here
-- (every email is seeded); it is still a valid 9-character id.
\set p random(1, :n)
\set r random(1, 1000000000)
\set idr random(100000000, 999999999)
SELECT id, email, eid, name, phone, company, type, status, created_at, updated_at, deleted_at, last_action, action, lists_updated, unknown_lists FROM contact_upsert(:org, :idr, 'User' || :p || '@Bench.Example.com', 'user' || :p || '@bench.example.com', 2::int, NULL, 'Bench ' || :r, NULL, NULL, NULL, '{}'::text[]);
