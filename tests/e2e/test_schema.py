"""Every statement the service runs is served by an index (issue 3).

`contactsctl explain ORG` prints the plan of each prepared statement with
sequential scans priced out; a statement with no usable index would still
show a Seq Scan.  docs/schema.md shows the same plans on a large table.
"""
import os
import re
import shlex
import shutil
import subprocess

from test_states import _conninfo, sql  # noqa: F401  (the psql fixture)


def ctl(*args):
    cmd = shlex.split(os.environ["CONTACTS_CTL"]) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          timeout=30).stdout


# An organization the size of a small tenant, with a list, some deleted
# contacts and custom fields: on nearly empty tables the planner may take
# any index that leads with org_id, and the plans would say little.
SEED = """
BEGIN;
INSERT INTO contacts (org_id, pos, id, email, email_key, eid, type, status,
                      created_at, updated_at, fields)
SELECT '{org}', p, lpad(p::text, 9, 'x'), 'u' || p || '@seed.example.com',
       'u' || p || '@seed.example.com', 'E' || (p % 5000), 'customer',
       CASE WHEN p % 10 = 0 THEN 'deleted' ELSE 'active' END,
       now() - p * interval '1 minute', now() - p * interval '1 minute',
       CASE WHEN p % 7 = 0 THEN '{{"tier": "gold"}}'::jsonb ELSE '{{}}' END
  FROM generate_series(1, 20000) AS p;
SELECT setval(pos_seq, 20000) FROM organizations WHERE id = '{org}';
INSERT INTO lists (id, org_id, name) VALUES ('seedlist{tag}', '{org}', 'seed');
SELECT setval(pos_seq, 10000) FROM lists WHERE id = 'seedlist{tag}';
INSERT INTO lists (id, org_id, name, type)
SELECT 'seed{tag}' || lpad(l::text, 4, '0'), '{org}', 'other',
       CASE WHEN l % 2 = 0 THEN 'employee' ELSE 'customer' END
  FROM generate_series(1, 500) AS l;
INSERT INTO list_members (org_id, list_id, pos, contact_id, live)
SELECT '{org}', 'seedlist{tag}', p, lpad(p::text, 9, 'x'), p % 10 <> 0
  FROM generate_series(1, 10000) AS p;
INSERT INTO custom_fields (org_id, name, type) VALUES ('{org}', 'tier', 'string');
COMMIT;
ANALYZE contacts; ANALYZE list_members; ANALYZE contact_blocks;
ANALYZE list_member_blocks; ANALYZE lists; ANALYZE custom_fields;
ANALYZE changes; ANALYZE organizations;
"""


def seeded_org(name, tag):
    org = ctl("org", "create", name).strip()
    psql = shutil.which("psql")
    assert psql, "test_schema.py needs psql"
    p = subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", _conninfo()],
        input=SEED.format(org=org, tag=tag), capture_output=True, text=True,
        timeout=120)
    assert p.returncode == 0, p.stderr
    return org


def test_every_statement_uses_an_index():
    org = seeded_org("explain-check", "1")
    plans = ctl("explain", org)
    statements = [block for block in plans.split("\n-- ") if block.strip()]
    assert len(statements) >= 9, plans
    # pool_leases holds one row per running pool (a handful): the lease's
    # renewal reads all of them once a second, and a scan is its plan.
    scans = re.findall(r"Seq Scan on (\w+)", plans)
    assert set(scans) <= {"pool_leases"}, plans
    # The index each look-up must be served by, as an index condition (not
    # a filter over a wider scan).
    expected = {
        "key_lookup": "api_keys_pkey",
        "contact_by_email": "contacts_org_email",
        "contact_by_id": "contacts_org_id",
        "contacts_page": "contacts_org_live",
        "contacts_page_all": "contacts_pkey",
        # (org_id, id), or lists (id), which 013 keeps for the statements
        # that name a list by id alone: either is one probe
        "list_by_id": "(lists_pkey|lists_id)",
        "list_members_page": "list_members_live",
        "list_members_page_all": "list_members_pkey",
        "lists_page_type": "lists_org_type",
        "fields_list": "custom_fields_org",
        # the change feed's entries since the time (schema/017)
        "contacts_updated_since": "changes_org_at",
        "contacts_by_eid": "contacts_org_eid",
        "changes_page": "changes_pkey",
        "feed_expired": "organizations_pkey",
    }
    for name, index in expected.items():
        block = next(b for b in statements
                     if b.lstrip("- ").split("\n", 1)[0].strip() == name)
        # "Index Scan using X" or, on a small table, "Bitmap Index Scan on X"
        assert re.search(r"Index (Only )?Scan (using|on) %s\b" % index, block), block
        assert "Index Cond" in block, block
        if name == "contact_by_email":
            assert "email_key" in block.split("Index Cond", 1)[1], block


def test_deep_pages_find_their_block_through_the_block_counts():
    """A page at a deep offset reads the block counts through their primary
    key, and the rows from the block on: no scan of the skipped rows."""
    org = seeded_org("explain-blocks", "2")
    plans = ctl("explain", org)
    for name, blocks in (("contacts_page", "contact_blocks_pkey"),
                         ("list_members_page", "list_member_blocks_pkey")):
        block = next(b for b in plans.split("\n-- ")
                     if b.lstrip("- ").split("\n", 1)[0].strip() == name)
        assert re.search(r"Index (Only )?Scan (using|on) %s\b" % blocks, block), block
        assert "pos >= $" in block, block


FILLER = """
INSERT INTO contacts (org_id, pos, id, email, email_key, type, status,
                      created_at, updated_at, fields)
SELECT '{org}', p, lpad(p::text, 9, 'f'), 'f' || p || '@filler.example.com',
       'f' || p || '@filler.example.com', 'customer', 'active',
       now(), now(), '{{}}'
  FROM generate_series(1, {n}) AS p;
SELECT setval(pos_seq, {n}) FROM organizations WHERE id = '{org}';
"""


def test_every_write_function_plans_generically(sql):
    """schema/010_generic_plans.sql: every PL/pgSQL function (but the two
    prune functions) runs with plan_cache_mode = force_generic_plan, so a
    migration that replaced one and forgot the setting is caught here."""
    rows = sql(
        "SELECT p.proname || ' ' || coalesce(array_to_string(p.proconfig, ','), '')"
        "  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " WHERE l.lanname = 'plpgsql'"
        "   AND p.pronamespace = current_schema()::regnamespace"
        " ORDER BY 1").splitlines()
    names = {r.split(" ", 1)[0] for r in rows}
    assert {"contact_bulk", "contact_upsert", "contact_patch",
            "contact_delete", "contact_erase"} <= names, rows
    for r in rows:
        name, conf = (r.split(" ", 1) + [""])[:2]
        if name in ("changes_prune", "idempotency_prune"):
            continue
        assert "plan_cache_mode=force_generic_plan" in conf, r


def test_email_key_is_icus_lower_case_for_ascii_and_beyond(sql):
    """schema/023: email_key() lower-cases an ASCII email without ICU; its
    key must be ICU's, which every stored key is, for every ASCII
    character and for emails beyond ASCII (the Kelvin sign, dotted I,
    sharp s, final sigma)."""
    emails = ["".join(chr(c) for c in range(1, 128)).replace("'", "''"),
              "Ann.Lee+Tag@Example.COM", "\u212aelvin@x.io", "\u0130stanbul@X.tr",
              "Stra\u00dfe@EXAMPLE.de", "\u03a3\u039f\u03a3@x.gr", "\u00c9lodie@x.fr"]
    values = ", ".join("('%s')" % e for e in emails)
    out = sql("SELECT count(*) FILTER (WHERE email_key(e) IS DISTINCT FROM "
              "lower(e COLLATE \"und-x-icu\") COLLATE \"default\"), count(*) "
              "FROM (VALUES %s) v(e)" % values).strip()
    assert out == "0|%d" % len(emails), out


def test_bulk_into_an_organization_the_statistics_do_not_know(sql):
    """A new tenant's first imports, before autovacuum analyzes them: the
    planner's statistics say the organization has no contacts.  The bulk
    pass still finds each row's contact by (org_id, email_key), one probe
    each, and never scans the organization through another index
    (measured before the fix: 1.2 ms per row at 5,000 contacts, 4 s per
    request)."""
    from conftest import new_org, request
    # A table the size of a few tenants (on a small one every index that
    # leads with org_id costs the same and the test would say nothing).
    filler = new_org("stats-filler")
    sql(FILLER.format(org=filler.org_id, n=200000))
    org = new_org("stats-unknown")
    sql("ANALYZE contacts")  # now the statistics know every organization but this one
    rows = [{"email": "s%d@stats.example.com" % i, "name": "n%d" % i}
            for i in range(1000)]
    r = request("POST", "/contacts/bulk", {"contacts": rows}, key=org.key)
    assert r.status == 200 and r.json["created"] == 1000, r

    def scans():
        out = sql("SELECT indexrelname || ' ' || idx_scan FROM pg_stat_user_indexes"
                   " WHERE indexrelname IN ('contacts_org_email', 'contacts_org_live',"
                   " 'contacts_org_id', 'contacts_org_eid')")
        return {k: int(v) for k, v in (line.split() for line in out.splitlines())}

    import time
    before = scans()
    for row in rows[::10]:
        row["name"] += " changed"
    r = request("POST", "/contacts/bulk", {"contacts": rows}, key=org.key)
    assert r.status == 200, r
    assert (r.json["updated"], r.json["unchanged"]) == (100, 900), r.json
    # The worker's backend reports its counters when it goes idle (at most
    # a second later); wait for the look-ups to show.
    deadline = time.monotonic() + 15
    while True:
        after = scans()
        if after["contacts_org_email"] - before["contacts_org_email"] >= 1000:
            break
        assert time.monotonic() < deadline, (before, after)
        time.sleep(0.2)
    # no other index that leads with org_id served the look-ups
    for other in ("contacts_org_live", "contacts_org_id", "contacts_org_eid"):
        assert after[other] - before[other] < 50, (other, before, after)


def test_every_unique_key_of_tenant_data_leads_with_org_id(sql):
    """Issue 15: distributing the tables by organization needs every
    primary key and unique index of a table that holds org_id to lead with
    it (schema/013_org_leading_keys.sql).  api_keys is the one exception:
    the directory from a key to its organization (docs/scaling.md)."""
    rows = sql(
        "SELECT c.relname, i.relname, a.attname"
        "  FROM pg_index x"
        "  JOIN pg_class c ON c.oid = x.indrelid"
        "  JOIN pg_class i ON i.oid = x.indexrelid"
        "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]"
        " WHERE x.indisunique"
        "   AND c.relnamespace = current_schema()::regnamespace"
        "   AND EXISTS (SELECT 1 FROM pg_attribute o WHERE o.attrelid = c.oid"
        "                  AND o.attname = 'org_id' AND NOT o.attisdropped)"
        " ORDER BY 1, 2").splitlines()
    tables = {r.split("|")[0] for r in rows}
    assert {"contacts", "lists", "list_members", "changes",
            "idempotency_keys"} <= tables, rows
    for r in rows:
        table, index, first = r.split("|")
        if table == "api_keys":
            continue
        assert first == "org_id", r
