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
SELECT (w.c).id, (w.c).email, (w.c).eid, (w.c).name, (w.c).phone, (w.c).company, (w.c).type, (w.c).status, (w.c).created_at, (w.c).updated_at, (w.c).deleted_at, (w.c).last_action, (w.c).fields, w.action, w.lists_updated, w.lists_removed, w.err, w.err_field, w.err_detail FROM contact_upsert(:org, :idr, 'User' || :p || '@Bench.Example.com', 'user' || :p || '@bench.example.com', 2::int, NULL, 'Bench ' || :r, NULL, NULL, NULL, '{}'::text[], '{}'::text[], NULL) w;
