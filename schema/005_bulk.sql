-- 005_bulk.sql - POST /contacts/bulk: up to 1000 rows in one transaction,
-- rows that would change nothing left unwritten (IMPORT_NOOP).

-- One bulk row: as contact_upsert, except that a row that would change
-- nothing (same values, already on the lists, not deleted) writes nothing
-- at all and says IMPORT_NOOP.  r is the row as the service validated it:
-- {"id","email","key","f","eid","name","phone","company","type","add":[],
-- "remove":[],"cf":{}|null} (f: contact_upsert's p_fields).
CREATE FUNCTION contact_bulk_row(p_org text, r jsonb)
RETURNS contact_write
LANGUAGE plpgsql AS $$
DECLARE
    w contact_write;
    c contacts%ROWTYPE;
    f int := (r->>'f')::int;
    v_add text[] := ARRAY(SELECT jsonb_array_elements_text(r->'add'));
    v_remove text[] := ARRAY(SELECT jsonb_array_elements_text(r->'remove'));
    v_cf jsonb := CASE WHEN jsonb_typeof(r->'cf') = 'object' THEN r->'cf' END;
BEGIN
    w := contact_write_refusal(p_org, v_add, v_remove, v_cf);
    IF w.err IS NOT NULL THEN
        RETURN w;
    END IF;
    SELECT * INTO c FROM contacts t
     WHERE t.org_id = p_org AND t.email_key = email_key(r->>'key')
       FOR NO KEY UPDATE;
    IF FOUND AND c.status <> 'deleted'
       AND NOT (f & 1 <> 0 AND c.eid IS DISTINCT FROM r->>'eid')
       AND NOT (f & 2 <> 0 AND c.name IS DISTINCT FROM r->>'name')
       AND NOT (f & 4 <> 0 AND c.phone IS DISTINCT FROM r->>'phone')
       AND NOT (f & 8 <> 0 AND c.company IS DISTINCT FROM r->>'company')
       AND NOT (f & 16 <> 0 AND c.type IS DISTINCT FROM r->>'type')
       AND (v_cf IS NULL OR jsonb_strip_nulls(c.fields || v_cf) = c.fields)
       AND NOT EXISTS (SELECT 1 FROM unnest(v_add) AS x
                        WHERE NOT EXISTS (SELECT 1 FROM list_members m
                                           WHERE m.org_id = p_org
                                             AND m.contact_id = c.id
                                             AND m.list_id = x))
       AND NOT EXISTS (SELECT 1 FROM list_members m
                        WHERE m.org_id = p_org AND m.contact_id = c.id
                          AND m.list_id = ANY (v_remove)) THEN
        w.c := c;
        w.action := 'IMPORT_NOOP';
        w.lists_updated := 0;
        w.lists_removed := 0;
        RETURN w;
    END IF;
    RETURN contact_upsert(p_org, r->>'id', r->>'email', r->>'key', f,
                          r->>'eid', r->>'name', r->>'phone', r->>'company',
                          r->>'type', v_add, v_remove, v_cf);
END $$;

-- The rows of one POST /contacts/bulk, in order, in the caller's one
-- transaction: a later row sees the earlier ones (the same email twice:
-- the second updates what the first created).
CREATE FUNCTION contact_bulk(p_org text, p_rows jsonb)
RETURNS SETOF contact_write
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    FOR r IN SELECT value FROM jsonb_array_elements(p_rows) LOOP
        RETURN NEXT contact_bulk_row(p_org, r);
    END LOOP;
END $$;
