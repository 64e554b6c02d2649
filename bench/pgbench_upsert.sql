-- pgbench_upsert.sql - limit (c): the service's own upsert statement
-- (fcgi-app/store_sql.h, STMT_CONTACT_UPSERT), updating the name of a random
-- seeded contact as S5 does (p_fields 2 = name; no lists).  This file holds
-- the variables; bench/run appends the statement itself as `contactsctl
-- explain` prints it, with $1..$13 replaced by the values below, so the
-- limit runs exactly what the service runs (pgbench_script in bench/run):
--   $1 :org, $2 an id, $3 the email, $4 its key, $5 2 (name), $7 the name,
--   $11/$12 no lists, the rest NULL.
--
-- p_id is only used when a contact is created, which never happens here
-- (every email is seeded); it is still a valid 9-character id.
\set p random(1, :n)
\set r random(1, 1000000000)
\set idr random(100000000, 999999999)
