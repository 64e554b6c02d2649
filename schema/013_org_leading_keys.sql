-- 013_org_leading_keys.sql - every primary key and unique index of tenant
-- data leads with org_id, so that the tables can be distributed by
-- organization (Citus, or routing in the application) without a schema
-- change (docs/scaling.md, "Sharding by organization").
--
-- The one left was lists' primary key, (id), which list_members'
-- foreign key referenced.  It becomes (org_id, id), and the members
-- reference (org_id, list_id).  A plain index on lists (id) stays for the
-- statements that name a list by id alone (the membership triggers and
-- contact_lists_apply): a distributed table may have any index that is
-- not unique.  api_keys keeps its primary key (id): a request names its
-- key before anything says its organization; under sharding it is the
-- directory from key to organization, a table every node has.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN
        SELECT conrelid::regclass AS tbl, conname
          FROM pg_constraint
         WHERE contype = 'f' AND confrelid = 'lists'::regclass
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END $$;
ALTER TABLE lists DROP CONSTRAINT lists_pkey;
ALTER TABLE lists ADD CONSTRAINT lists_pkey PRIMARY KEY (org_id, id);
CREATE INDEX lists_id ON lists (id);
ALTER TABLE list_members ADD CONSTRAINT list_members_list_fkey
    FOREIGN KEY (org_id, list_id) REFERENCES lists (org_id, id);
