"""Deleted and unsubscribed contacts; keys stored as hashes.

The API has no endpoint that deletes or unsubscribes a contact (other
parts of the product do), so these tests put a contact in that state in
the stack's PostgreSQL and then check what the API makes of it:
includeAll, the email look-up, list counts, revival by an import, and that
an import never re-subscribes anyone.

The change is made the way docs/caching.md says a write that could not
reach Redis is made: in the same transaction the organization's
cache_epoch is bumped, so that no cached answer from before it is served,
and the change is in effect once the workers' key leases (auth_cache_ms,
20 ms in the test stack) have ended after the commit.
"""

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ID_RE, assert_contact, next_link, uniq_email

DELETED_AT = "2021-01-02T03:04:05.678Z"


def _conninfo():
    v = os.environ.get("CONTACTS_DATABASE")
    if v:
        return v
    paths = []
    if os.environ.get("CONTACTS_CONFIG"):
        paths.append(os.environ["CONTACTS_CONFIG"])
    run = os.environ.get("CONTACTS_RUN_DIR")
    if run:
        paths += [os.path.join(run, "contacts.conf"),
                  os.path.join(run, "etc", "contacts.conf")]
    for p in paths:
        try:
            with open(p, encoding="utf-8") as f:
                for line in f:
                    m = re.match(r"\s*database\s*=\s*(.*?)\s*$", line)
                    if m:
                        val = m.group(1)
                        if len(val) >= 2 and val[0] == val[-1] == '"':
                            val = val[1:-1]
                        return val
        except OSError:
            continue
    port = os.environ.get("PG_PORT")
    if port:
        return "host=127.0.0.1 port=%s dbname=contacts" % port
    return None


@pytest.fixture(scope="module")
def sql():
    conninfo = _conninfo()
    psql = shutil.which("psql")
    if not conninfo or not psql:
        pytest.fail("test_states.py needs psql and the stack's database "
                    "(CONTACTS_DATABASE, CONTACTS_RUN_DIR/contacts.conf or "
                    "PG_PORT)", pytrace=False)

    def run(statement):
        p = subprocess.run(
            [psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
             "-c", statement],
            capture_output=True, text=True, timeout=30,
            stdin=subprocess.DEVNULL)
        assert p.returncode == 0, "psql: %s" % p.stderr
        return p.stdout

    run("SELECT 1")
    return run


# auth_cache_ms (20) and some room: what docs/caching.md tells anyone who
# changes the state outside the API to wait after the commit.
LEASE_S = 0.05


def set_state(sql, api, contact_id, status, deleted_at=None):
    assert ID_RE.match(contact_id) and ID_RE.match(api.org_id)
    sets = ["status = '%s'" % status, "updated_at = now()"]
    if status == "deleted":
        sets.append("deleted_at = '%s'" % (deleted_at or DELETED_AT))
        sets.append("last_action = 'DELETE'")
    sql("BEGIN; UPDATE contacts SET %s WHERE id = '%s' AND org_id = '%s'; "
        "UPDATE organizations SET cache_epoch = cache_epoch + 1 "
        "WHERE id = '%s'; COMMIT;"
        % (", ".join(sets), contact_id, api.org_id, api.org_id))
    time.sleep(LEASE_S)


def ids(r):
    return [c["id"] for c in r.json["contacts"]]


def test_deleted_contact_hidden_unless_include_all(api, sql):
    lst = api.new_list()
    cs = [api.create() for _ in range(5)]
    for i in (1, 2):
        api.upsert({"email": cs[i]["email"], "addToLists": [lst["id"]]},
                   expect=200)
    all_ids = [c["id"] for c in cs]
    # read first, so that a cache holds the state before the deletion
    assert ids(api.page()) == all_ids
    assert len(api.find(cs[2]["email"])) == 1
    assert api.list_by_id(lst["id"])["count"] == 2

    set_state(sql, api, cs[2]["id"], "deleted")

    live = [all_ids[i] for i in (0, 1, 3, 4)]
    assert ids(api.page()) == live
    assert ids(api.page(includeAll="false")) == live
    r = api.page(includeAll="true")
    assert ids(r) == all_ids
    dead = r.json["contacts"][2]
    assert_contact(dead)
    assert dead["status"] == "deleted"
    assert dead["deleted_at"] == DELETED_AT
    assert dead["last_action"] == "DELETE"

    # docs/architecture.md: includeAll applies to the email look-up too
    assert api.find(cs[2]["email"]) == []
    assert api.find(cs[2]["email"].upper()) == []
    assert api.find(cs[2]["email"], includeAll="true") == [dead]

    # offsets count the contacts listed
    assert ids(api.page(offset=1, limit=2)) == [all_ids[1], all_ids[3]]
    assert ids(api.page(offset=2, limit=2, includeAll="true")) == \
        all_ids[2:4]
    assert ids(api.page(offset=3)) == [all_ids[4]]
    assert ids(api.page(offset=4)) == []

    # pages and links over the live contacts
    r = api.page(limit=2)
    assert ids(r) == live[:2]
    r = api.get(next_link(r))
    assert ids(r) == live[2:]
    r = api.get(next_link(r))
    assert ids(r) == []
    assert r.header("Link") is None

    # list counts leave deleted contacts out
    assert api.list_by_id(lst["id"])["count"] == 1


def test_import_revives_a_deleted_contact(api, sql):
    lst = api.new_list()
    before = [api.create() for _ in range(3)]
    c = before[1]
    api.upsert({"email": c["email"], "addToLists": [lst["id"]]}, expect=200)
    set_state(sql, api, c["id"], "deleted")
    assert api.find(c["email"]) == []
    assert api.list_by_id(lst["id"])["count"] == 0

    r = api.post("/contacts", {"email": c["email"].upper(), "name": "Back",
                               "addToLists": [lst["id"]]})
    assert r.status == 200, r
    assert r.json["action"] == "IMPORT_UPDATE"
    assert r.json["listsUpdated"] == 0  # it still was on the list
    got = r.json["contact"]
    assert got["id"] == c["id"]
    assert got["email"] == c["email"]
    assert got["status"] == "active"
    assert got["deleted_at"] == DELETED_AT  # the time of the last deletion
    assert got["last_action"] == "IMPORT_UPDATE"
    assert got["name"] == "Back"
    assert got["created_at"] == c["created_at"]

    assert api.find(c["email"]) == [got]
    assert api.list_by_id(lst["id"])["count"] == 1
    # back in its place
    assert ids(api.page()) == [x["id"] for x in before]


def test_import_never_resubscribes(api, sql):
    lst = api.new_list()
    c = api.create(name="Before")
    set_state(sql, api, c["id"], "unsubscribed")
    assert api.one(c["email"])["status"] == "unsubscribed"

    r = api.post("/contacts", {"email": c["email"], "name": "After",
                               "type": "employee", "addToLists": [lst["id"]]})
    assert r.status == 200, r
    assert r.json["action"] == "IMPORT_UPDATE"
    got = r.json["contact"]
    assert got["status"] == "unsubscribed"
    assert got["name"] == "After"
    assert got["type"] == "employee"
    assert got["last_action"] == "IMPORT_UPDATE"
    assert got["deleted_at"] is None
    assert api.one(c["email"]) == got
    # unsubscribed is not deleted: it is listed and counted
    assert [x["id"] for x in api.page().json["contacts"]] == [c["id"]]
    assert api.list_by_id(lst["id"])["count"] == 1
    r = api.post("/contacts", {"email": c["email"]})
    assert r.json["contact"]["status"] == "unsubscribed"


def test_error_status_is_listed(api, sql):
    c = api.create()
    set_state(sql, api, c["id"], "error")
    got = api.one(c["email"])
    assert got["status"] == "error"
    assert [x["id"] for x in api.page().json["contacts"]] == [c["id"]]


def test_deleted_then_new_contact_goes_last(api, sql):
    a = api.create()
    b = api.create()
    set_state(sql, api, a["id"], "deleted")
    n = api.create(email=uniq_email())
    assert ids(api.page()) == [b["id"], n["id"]]
    assert ids(api.page(includeAll="true")) == [a["id"], b["id"], n["id"]]


def test_key_is_stored_only_as_a_hash(api, sql):
    """The contract: keys are stored only as a hash.  No row of the
    database holds the key or its secret."""
    secret = api.key.split("_", 2)[2]
    assert re.match(r"^[A-Za-z0-9_-]+$", secret)
    found = sql("SELECT count(*) FROM api_keys t "
                "WHERE position('%s' in t::text) > 0 "
                "OR position('%s' in t::text) > 0"
                % (secret, api.key)).strip()
    assert found == "0"
    # nor any other table
    for table in ("organizations", "contacts", "lists"):
        n = sql("SELECT count(*) FROM %s t WHERE position('%s' in t::text) > 0"
                % (table, secret)).strip()
        assert n == "0", table
    # the key's row is there, found by the key id
    assert sql("SELECT count(*) FROM api_keys WHERE id = '%s'"
               % api.key_id).strip() == "1"
