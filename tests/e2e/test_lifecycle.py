"""The whole contact lifecycle (API.md, Round 2): one contact by id, the
three DELETE forms, restore, PATCH, erase with suppression, lists by id
and their members, removeFromLists, and custom fields.

Every refusal is checked for its status, code and field, and for writing
nothing.
"""
import concurrent.futures
import random
import threading
import time

import pytest

import stack
from conftest import (assert_contact, assert_error, assert_list, next_link,
                      request, uniq_email)
from test_states import sql  # noqa: F401  (the psql fixture)


# --------------------------------------------------------------------------
# helpers


def contact(api, cid):
    r = api.get("/contacts/" + cid)
    assert r.status == 200, r
    assert set(r.json) == {"contact"}, r
    assert_contact(r.json["contact"])
    return r.json["contact"]


def delete(api, path, body=None, status=200):
    r = api.request("DELETE", path, body=body)
    assert r.status == status, r
    if status == 200:
        assert set(r.json) == {"contact"}, r
        assert_contact(r.json["contact"])
        return r.json["contact"]
    return r


def patch(api, cid, body):
    r = api.request("PATCH", "/contacts/" + cid, body=body)
    assert r.status == 200, r
    assert set(r.json) == {"contact", "listsUpdated", "listsRemoved"}, r
    assert_contact(r.json["contact"])
    return r.json


def members(api, lid, **params):
    """Every member of a list, following Link rel=next."""
    out = []
    path = "/lists/%s/contacts" % lid
    r = api.get(path, params=params or None)
    for _ in range(100):
        assert r.status == 200, r
        assert set(r.json) == {"contacts"}, r
        out.extend(r.json["contacts"])
        nxt = next_link(r)
        if nxt is None:
            return out
        r = api.get(nxt)
    pytest.fail("too many pages")


def ids(cs):
    return [c["id"] for c in cs]


def get_list(api, lid):
    r = api.get("/lists/" + lid)
    assert r.status == 200, r
    assert_list(r.json["list"])
    return r.json["list"]


# --------------------------------------------------------------------------
# one contact by id


def test_get_by_id_whatever_its_status(api, api_b):
    c = api.create(name="Ann")
    assert contact(api, c["id"]) == c
    assert api.request("DELETE", "/contacts/" + c["id"]).status == 200
    assert contact(api, c["id"])["status"] == "deleted"
    # another organization, no such id, a malformed id: 404
    assert_error(api_b.get("/contacts/" + c["id"]), 404, "not_found")
    assert_error(api.get("/contacts/ZZZZZZZZZ"), 404, "not_found")
    for bad in ("abc", "abcdefghij", "abcd-fghi", "%C3%A9bcdefgh"):
        assert_error(api.get("/contacts/" + bad), 404, "not_found")


def test_created_contact_has_location(api):
    r = api.post("/contacts", {"email": uniq_email()})
    assert r.status == 201, r
    assert r.header("Location") == "/contacts/" + r.json["contact"]["id"]
    assert r.json["listsRemoved"] == 0
    assert r.json["contact"]["fields"] == {}


# --------------------------------------------------------------------------
# soft delete and restore


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_delete_forms(api, form):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    if form == "id":
        d = delete(api, "/contacts/" + c["id"])
    elif form == "query":
        d = delete(api, "/contacts?email=" + c["email"].upper())
    else:
        d = delete(api, "/contacts", body={"email": c["email"]})
    assert d["id"] == c["id"]
    assert d["status"] == "deleted"
    assert d["last_action"] == "DELETE"
    assert d["deleted_at"] is not None and d["deleted_at"] == d["updated_at"]
    assert d["updated_at"] >= c["updated_at"]
    # hidden by default, shown with includeAll; left out of the count
    assert api.find(c["email"]) == []
    assert api.find(c["email"], includeAll="true")[0]["status"] == "deleted"
    assert c["id"] not in ids(api.page().json["contacts"])
    assert c["id"] in ids(api.page(includeAll="true").json["contacts"])
    assert get_list(api, lst["id"])["count"] == 0
    assert members(api, lst["id"]) == []
    assert ids(members(api, lst["id"], includeAll="true")) == [c["id"]]
    # deleting again changes nothing
    again = delete(api, "/contacts/" + c["id"])
    assert again == d


def test_delete_refusals(api):
    assert_error(api.request("DELETE", "/contacts/ZZZZZZZZZ"), 404, "not_found")
    assert_error(api.request("DELETE", "/contacts?email=" + uniq_email()),
                 404, "not_found")
    assert_error(api.request("DELETE", "/contacts"), 400,
                 "invalid_parameter", "email")
    assert_error(api.request("DELETE", "/contacts?email=nope"), 400,
                 "invalid_parameter", "email")
    assert_error(api.request("DELETE", "/contacts", body={}), 422,
                 "missing_field", "email")
    assert_error(api.request("DELETE", "/contacts", body={"email": "x"}), 422,
                 "invalid_field", "email")
    assert_error(api.request("DELETE", "/contacts",
                             body={"email": uniq_email(), "name": "x"}),
                 422, "unknown_field", "name")
    c = api.create()
    assert_error(api.request("DELETE", "/contacts/%s?erase=maybe" % c["id"]),
                 400, "invalid_parameter", "erase")
    assert_error(api.request("DELETE", "/contacts/%s?suppress=true" % c["id"]),
                 400, "invalid_parameter", "suppress")
    assert contact(api, c["id"]) == c  # nothing written


def test_offsets_count_only_shown_contacts(api):
    cs = [api.create() for _ in range(12)]
    for i in (0, 3, 4, 9):
        delete(api, "/contacts/" + cs[i]["id"])
    live = [c["id"] for i, c in enumerate(cs) if i not in (0, 3, 4, 9)]
    assert ids(api.page().json["contacts"]) == live
    for off in range(len(live) + 1):
        r = api.page(offset=off, limit=3)
        assert ids(r.json["contacts"]) == live[off:off + 3], off
    # walking the Links collects each shown contact once
    walked, path = [], "/contacts?limit=3"
    while path:
        r = api.get(path)
        walked += ids(r.json["contacts"])
        path = next_link(r)
    assert walked == live
    assert ids(api.page(includeAll="true", offset=2, limit=4)
               .json["contacts"]) == ids(cs[2:6])


def test_restore_by_post(api, sql):
    lst = api.new_list()
    a = api.create(addToLists=[lst["id"]])
    b = api.create()
    u = api.create()
    e = api.create()
    patch(api, u["id"], {"status": "unsubscribed"})
    patch(api, e["id"], {"status": "error"})
    for c in (a, u, e):
        delete(api, "/contacts/" + c["id"])
    d_at = contact(api, a["id"])["deleted_at"]
    got = api.upsert({"email": a["email"].upper(), "name": "back"}, expect=200)
    assert got["action"] == "IMPORT_UPDATE"
    back = got["contact"]
    assert back["id"] == a["id"] and back["status"] == "active"
    assert back["deleted_at"] == d_at  # the time of the last deletion
    assert back["email"] == a["email"]
    assert api.upsert({"email": u["email"]})["contact"]["status"] == "unsubscribed"
    assert api.upsert({"email": e["email"]})["contact"]["status"] == "active"
    # same place in the creation order, and back on its list's count
    assert ids(api.page().json["contacts"])[:2] == [a["id"], b["id"]]
    assert get_list(api, lst["id"])["count"] == 1
    assert ids(members(api, lst["id"])) == [a["id"]]


# --------------------------------------------------------------------------
# PATCH


def test_patch_fields(api):
    c = api.create(name="Old", phone="1", company="C", eid="E")
    got = patch(api, c["id"], {"name": "New", "phone": None, "type": "employee",
                               "eid": "E2"})["contact"]
    assert (got["name"], got["phone"], got["type"], got["eid"], got["company"]) \
        == ("New", None, "employee", "E2", "C")
    assert got["last_action"] == "IMPORT_UPDATE"
    assert got["updated_at"] >= c["updated_at"]
    assert contact(api, c["id"]) == got
    # {} writes nothing
    r = api.request("PATCH", "/contacts/" + c["id"], body={})
    assert r.status == 200 and r.json == {"contact": got, "listsUpdated": 0,
                                          "listsRemoved": 0}, r


def test_patch_email(api):
    a = api.create()
    b = api.create()
    new = uniq_email("moved")
    got = patch(api, a["id"], {"email": new})["contact"]
    assert got["email"] == new
    assert api.find(a["email"]) == []
    assert api.one(new)["id"] == a["id"]
    # only the case of its own email: fine
    assert patch(api, a["id"], {"email": new.upper()})["contact"]["email"] == new.upper()
    # another contact's email, in any case: 409
    for taken in (b["email"], b["email"].upper()):
        r = api.request("PATCH", "/contacts/" + a["id"], body={"email": taken})
        assert_error(r, 409, "email_taken", "email")
    assert contact(api, a["id"])["email"] == new.upper()


@pytest.mark.parametrize("body,status,code,field", [
    ({"status": "deleted"}, 422, "invalid_field", "status"),
    ({"status": None}, 422, "invalid_field", "status"),
    ({"status": "gone"}, 422, "invalid_field", "status"),
    ({"email": None}, 422, "invalid_field", "email"),
    ({"email": "nope"}, 422, "invalid_field", "email"),
    ({"type": None}, 422, "invalid_field", "type"),
    ({"name": "x" * 256}, 422, "invalid_field", "name"),
    ({"bogus": 1}, 422, "unknown_field", "bogus"),
    ({"addToLists": ["ZZZZZZZZZ"]}, 422, "unknown_list", "addToLists"),
    ({"removeFromLists": ["ZZZZZZZZZ"]}, 422, "unknown_list", "removeFromLists"),
    ({"field_nope": 1}, 422, "unknown_field", "field_nope"),
    ({"fields": {"nope": 1}}, 422, "unknown_field", "fields.nope"),
])
def test_patch_refusals_write_nothing(api, body, status, code, field):
    c = api.create(name="Kept")
    r = api.request("PATCH", "/contacts/" + c["id"], body=body)
    assert_error(r, status, code, field)
    assert contact(api, c["id"]) == c


def test_patch_unknown_contact(api):
    assert_error(api.request("PATCH", "/contacts/ZZZZZZZZZ", body={"name": "x"}),
                 404, "not_found")


def test_status_and_unsubscribe(api):
    c = api.create()
    assert patch(api, c["id"], {"status": "unsubscribed"})["contact"]["status"] \
        == "unsubscribed"
    # an import never re-subscribes anyone; PATCH does
    assert api.upsert({"email": c["email"]})["contact"]["status"] == "unsubscribed"
    assert patch(api, c["id"], {"status": "active"})["contact"]["status"] == "active"
    # PATCH of a deleted contact: stays deleted unless given a status
    delete(api, "/contacts/" + c["id"])
    assert patch(api, c["id"], {"name": "n"})["contact"]["status"] == "deleted"
    got = patch(api, c["id"], {"status": "error"})["contact"]
    assert got["status"] == "error" and got["deleted_at"] is not None
    assert api.one(c["email"])["status"] == "error"


# --------------------------------------------------------------------------
# erase and suppression


def test_erase(api, sql):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    r = api.request("DELETE", "/contacts/%s?erase=true" % c["id"])
    assert r.status == 204 and r.raw == b"", r
    assert_error(api.get("/contacts/" + c["id"]), 404, "not_found")
    assert_error(api.request("DELETE", "/contacts/%s?erase=true" % c["id"]),
                 404, "not_found")
    assert api.find(c["email"], includeAll="true") == []
    assert c["id"] not in ids(api.page(includeAll="true").json["contacts"])
    assert members(api, lst["id"], includeAll="true") == []
    assert get_list(api, lst["id"])["count"] == 0
    # not suppressed: the email may come back, as a new contact
    again = api.create(email=c["email"])
    assert again["id"] != c["id"]


def test_suppression(api, api_b, sql):
    c = api.create()
    email = c["email"]
    assert api.request("DELETE", "/contacts/%s?erase=true&suppress=true"
                       % c["id"]).status == 204
    for e in (email, email.upper()):
        assert_error(api.post("/contacts", {"email": e}), 409, "suppressed", "email")
    other = api.create()
    assert_error(api.request("PATCH", "/contacts/" + other["id"],
                             body={"email": email}), 409, "suppressed", "email")
    assert api.find(email, includeAll="true") == []
    # another organization is not affected; its hash of the email differs
    b = api_b.create(email=email)
    assert api_b.request("DELETE", "/contacts/%s?erase=true&suppress=true"
                         % b["id"]).status == 204
    hashes = sql("SELECT org_id || ' ' || encode(hash, 'hex') FROM suppressions "
                 "WHERE org_id IN ('%s', '%s')" % (api.org_id, api_b.org_id)).split()
    assert len(hashes) == 4, hashes
    assert hashes[1] != hashes[3]
    # lifting it
    r = api.request("DELETE", "/suppressions?email=" + email.upper())
    assert r.status == 204, r
    assert_error(api.request("DELETE", "/suppressions?email=" + email),
                 404, "not_found")
    assert_error(api.request("DELETE", "/suppressions"), 400,
                 "invalid_parameter", "email")
    assert api.create(email=email)["email"] == email
    assert_error(api_b.post("/contacts", {"email": email}), 409, "suppressed", "email")


def test_erasure_leaves_nothing_behind(api, sql):
    """After an erasure no table and no Redis key or value holds anything of
    the contact's personal data, even after the cache held it."""
    token = "zq" + uniq_email("e").split("@")[0].replace("-", "")
    email = token + "@erase.example.com"
    lst = api.new_list()
    api.new_field = None
    assert api.post("/fields", {"name": "note", "type": "string"}).status == 201
    c = api.create(email=email, name="Name " + token, phone="+1 " + token[:20],
                   company="Co " + token, eid="Eid" + token,
                   addToLists=[lst["id"]], field_note="Note " + token)
    patch(api, c["id"], {"name": "Renamed " + token})
    for _ in range(2):  # fill the cache, then hit it
        api.find(email)
        api.find(email, includeAll="true")
        api.page()
        api.page(includeAll="true")
        members(api, lst["id"])
    assert any(token.encode() in (stack.redis_cmd("GET", k) or b"")
               for k in stack.redis_cmd("KEYS", "c7:%s:*" % api.org_id)), \
        "the cache should hold the contact before the erasure"
    r = api.request("DELETE", "/contacts/%s?erase=true&suppress=true" % c["id"])
    assert r.status == 204, r
    tables = sql("SELECT table_name FROM information_schema.tables "
                 "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                 ).split()
    assert "contacts" in tables and "suppressions" in tables
    for t in tables:
        n = sql("SELECT count(*) FROM %s t WHERE t::text ILIKE '%%%s%%'" % (t, token))
        assert n.strip() == "0", "table %s still holds the erased contact" % t
    cursor = b"0"
    seen = 0
    while True:
        cursor, keys = stack.redis_cmd("SCAN", cursor, "COUNT", 1000)
        for k in keys:
            seen += 1
            assert token.encode() not in k, k
            if stack.redis_cmd("TYPE", k) == "string":
                assert token.encode() not in (stack.redis_cmd("GET", k) or b""), k
        if cursor == b"0":
            break
    assert seen >= 0


# --------------------------------------------------------------------------
# lists by id, members, removeFromLists


def test_list_by_id_patch_delete(api):
    r = api.post("/lists", {"name": "L"})
    assert r.status == 201 and r.header("Location") == "/lists/" + r.json["list"]["id"]
    lst = r.json["list"]
    assert get_list(api, lst["id"]) == lst
    r = api.request("PATCH", "/lists/" + lst["id"], body={})
    assert r.status == 200 and r.json["list"] == lst, r  # {} writes nothing
    r = api.request("PATCH", "/lists/" + lst["id"], body={"name": "M", "type": "employee"})
    assert r.status == 200, r
    assert (r.json["list"]["name"], r.json["list"]["type"]) == ("M", "employee")
    assert r.json["list"]["updated_at"] >= lst["updated_at"]
    for body, code, field in (({"name": None}, "invalid_field", "name"),
                              ({"type": "x"}, "invalid_field", "type"),
                              ({"x": 1}, "unknown_field", "x")):
        assert_error(api.request("PATCH", "/lists/" + lst["id"], body=body),
                     422, code, field)
    c = api.create(addToLists=[lst["id"]])
    r = api.request("DELETE", "/lists/" + lst["id"])
    assert r.status == 200 and r.json["list"]["deleted_at"] is not None, r
    again = api.request("DELETE", "/lists/" + lst["id"])
    assert again.status == 200 and again.json == r.json, again
    assert get_list(api, lst["id"])["deleted_at"] == r.json["list"]["deleted_at"]
    assert lst["id"] not in [x["id"] for x in api.lists()]
    assert_error(api.get("/lists/%s/contacts" % lst["id"]), 404, "not_found")
    assert_error(api.request("PATCH", "/lists/" + lst["id"], body={"name": "z"}),
                 404, "not_found")
    assert_error(api.post("/contacts", {"email": c["email"],
                                        "addToLists": [lst["id"]]}),
                 422, "unknown_list", "addToLists")
    assert_error(api.post("/contacts", {"email": c["email"],
                                        "removeFromLists": [lst["id"]]}),
                 422, "unknown_list", "removeFromLists")
    for m in ("GET", "PATCH", "DELETE"):
        assert_error(api.request(m, "/lists/ZZZZZZZZZ", body={} if m == "PATCH" else None),
                     404, "not_found")


def test_members_in_the_order_added(api):
    lst = api.new_list()
    cs = [api.create() for _ in range(5)]
    order = [cs[3], cs[0], cs[4], cs[1]]
    for c in order:
        api.upsert({"email": c["email"], "addToLists": [lst["id"]]})
    assert ids(members(api, lst["id"])) == ids(order)
    # taken off and added again: goes last
    got = api.upsert({"email": cs[0]["email"], "removeFromLists": [lst["id"]]})
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 1)
    got = api.upsert({"email": cs[0]["email"], "removeFromLists": [lst["id"]]})
    assert got["listsRemoved"] == 0
    api.upsert({"email": cs[0]["email"], "addToLists": [lst["id"]]})
    want = [cs[3], cs[4], cs[1], cs[0]]
    assert ids(members(api, lst["id"])) == ids(want)
    assert get_list(api, lst["id"])["count"] == 4
    # pages, offsets and Link
    r = api.get("/lists/%s/contacts?limit=2" % lst["id"])
    assert ids(r.json["contacts"]) == ids(want[:2])
    assert next_link(r) == "/lists/%s/contacts?offset=2&limit=2" % lst["id"]
    r = api.get("/lists/%s/contacts?offset=1&limit=2" % lst["id"])
    assert ids(r.json["contacts"]) == ids(want[1:3])
    delete(api, "/contacts/" + cs[4]["id"])
    r = api.get("/lists/%s/contacts?offset=1&limit=2" % lst["id"])
    assert ids(r.json["contacts"]) == ids([cs[1], cs[0]])
    r = api.get("/lists/%s/contacts?limit=1&includeAll=true" % lst["id"])
    assert next_link(r) == ("/lists/%s/contacts?offset=1&limit=1&includeAll=true"
                            % lst["id"])
    for q, field in (("offset=-1", "offset"), ("limit=0", "limit"),
                     ("includeAll=maybe", "includeAll")):
        assert_error(api.get("/lists/%s/contacts?%s" % (lst["id"], q)), 400,
                     "invalid_parameter", field)


def test_add_and_remove_in_one_request(api):
    a, b = api.new_list(), api.new_list()
    c = api.create(addToLists=[a["id"]])
    got = patch(api, c["id"], {"addToLists": [b["id"], b["id"]],
                               "removeFromLists": [a["id"]]})
    assert (got["listsUpdated"], got["listsRemoved"]) == (1, 1)
    assert (get_list(api, a["id"])["count"], get_list(api, b["id"])["count"]) == (0, 1)
    r = api.post("/contacts", {"email": c["email"], "addToLists": [a["id"]],
                               "removeFromLists": [a["id"]]})
    assert_error(r, 422, "invalid_field", "removeFromLists")
    r = api.post("/contacts", {"email": c["email"], "addToLists": [a["id"]],
                               "removeFromLists": [b["id"], "ZZZZZZZZZ"]})
    assert_error(r, 422, "unknown_list", "removeFromLists")
    assert (get_list(api, a["id"])["count"], get_list(api, b["id"])["count"]) == (0, 1)


def test_counts_exact_under_concurrency(api, sql):
    """Concurrent creates, deletes, restores, erasures and list changes:
    afterwards every list's count is its number of members not deleted,
    counted directly and through its member pages."""
    lists = [api.new_list()["id"] for _ in range(3)]
    emails = [uniq_email("cc") for _ in range(12)]
    deadline = time.monotonic() + 60
    errors = []
    lock = threading.Lock()

    def one(seed):
        rnd = random.Random(seed)
        for _ in range(40):
            if time.monotonic() > deadline:
                return
            e = rnd.choice(emails)
            op = rnd.random()
            if op < 0.35:
                r = api.post("/contacts", {"email": e, "addToLists": rnd.sample(lists, 2)})
            elif op < 0.5:
                r = api.post("/contacts", {"email": e, "removeFromLists": [rnd.choice(lists)]})
            elif op < 0.75:
                r = api.request("DELETE", "/contacts?email=" + e)
            elif op < 0.85:
                found = api.find(e, includeAll="true")
                if not found:
                    continue
                r = api.request("DELETE", "/contacts/%s?erase=true" % found[0]["id"])
            else:
                found = api.find(e, includeAll="true")
                if not found:
                    continue
                r = api.request("PATCH", "/contacts/" + found[0]["id"],
                                body={"addToLists": [rnd.choice(lists)]})
            if r.status not in (200, 201, 204, 404):
                with lock:
                    errors.append(r)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(one, range(8)))
    assert not errors, errors[:3]
    for lid in lists:
        direct = int(sql(
            "SELECT count(*) FROM list_members m JOIN contacts c "
            "ON c.org_id = m.org_id AND c.id = m.contact_id "
            "WHERE m.list_id = '%s' AND c.status <> 'deleted'" % lid))
        assert get_list(api, lid)["count"] == direct, lid
        assert len(members(api, lid)) == direct, lid


# --------------------------------------------------------------------------
# custom fields


def test_fields_definitions(api, api_b):
    r = api.post("/fields", {"name": "tier", "type": "string"})
    assert r.status == 201, r
    assert set(r.json["field"]) == {"name", "type", "created_at"}
    assert r.header("Location") == "/fields/tier"
    assert api.post("/fields", {"name": "score", "type": "number"}).status == 201
    assert_error(api.post("/fields", {"name": "tier", "type": "date"}), 409,
                 "field_exists", "name")
    for body, code, field in (({"type": "string"}, "missing_field", "name"),
                              ({"name": "x"}, "missing_field", "type"),
                              ({"name": "Tier", "type": "string"}, "invalid_field", "name"),
                              ({"name": "a" * 65, "type": "string"}, "invalid_field", "name"),
                              ({"name": "x", "type": "text"}, "invalid_field", "type"),
                              ({"name": "x", "type": "date", "y": 1}, "unknown_field", "y")):
        assert_error(api.post("/fields", body), 422, code, field)
    r = api.get("/fields")
    assert [f["name"] for f in r.json["fields"]] == ["tier", "score"]
    assert api_b.get("/fields").json == {"fields": []}
    assert_error(api.request("DELETE", "/fields/nope"), 404, "not_found")


def test_field_values(api):
    for name, t in (("tier", "string"), ("score", "number"), ("vip", "boolean"),
                    ("since", "date")):
        assert api.post("/fields", {"name": name, "type": t}).status == 201
    lst = api.new_list()
    c = api.create(field_tier="gold", fields={"score": 4.5, "vip": True,
                                              "since": "2024-02-29"},
                   addToLists=[lst["id"]])
    want = {"tier": "gold", "score": 4.5, "vip": True, "since": "2024-02-29"}
    assert c["fields"] == want
    assert contact(api, c["id"])["fields"] == want
    assert api.one(c["email"])["fields"] == want
    assert members(api, lst["id"])[0]["fields"] == want
    got = patch(api, c["id"], {"field_vip": None, "fields": {"score": 10}})
    assert got["contact"]["fields"] == {"tier": "gold", "score": 10,
                                        "since": "2024-02-29"}
    bad = [({"field_score": "x"}, "invalid_field", "field_score"),
           ({"fields": {"vip": 1}}, "invalid_field", "fields.vip"),
           ({"fields": {"since": "2023-02-29"}}, "invalid_field", "fields.since"),
           ({"field_since": "2023-2-1"}, "invalid_field", "field_since"),
           ({"field_tier": "x" * 1001}, "invalid_field", "field_tier"),
           ({"field_tier": "a", "fields": {"tier": "b"}}, "invalid_field", "fields.tier"),
           ({"fields": "x"}, "invalid_field", "fields"),
           ({"field_nope": 1}, "unknown_field", "field_nope"),
           ({"field_tier": "ok", "addToLists": ["ZZZZZZZZZ"]}, "unknown_list", "addToLists")]
    before = contact(api, c["id"])
    for body, code, field in bad:
        body = dict(body, email=c["email"])
        assert_error(api.post("/contacts", body), 422, code, field)
    assert contact(api, c["id"]) == before
    assert get_list(api, lst["id"])["count"] == 1
    # deleting a field takes its values from every contact
    r = api.request("DELETE", "/fields/tier")
    assert r.status == 204 and r.raw == b"", r
    assert contact(api, c["id"])["fields"] == {"score": 10, "since": "2024-02-29"}
    assert_error(api.post("/contacts", {"email": c["email"], "field_tier": "x"}),
                 422, "unknown_field", "field_tier")
    assert api.post("/fields", {"name": "tier", "type": "number"}).status == 201
    assert contact(api, c["id"])["fields"] == {"score": 10, "since": "2024-02-29"}


# --------------------------------------------------------------------------
# the cache never serves a stale answer after these writes


def warm(api, email, lid=None):
    for _ in range(2):
        api.find(email)
        api.page()
        if lid:
            members(api, lid)


def test_read_your_writes_after_lifecycle_writes(api):
    assert stack.redis_answers()
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    assert api.post("/fields", {"name": "tier", "type": "string"}).status == 201

    warm(api, c["email"], lst["id"])
    patch(api, c["id"], {"name": "patched", "field_tier": "gold"})
    assert api.one(c["email"])["name"] == "patched"
    assert api.page().json["contacts"][0]["fields"] == {"tier": "gold"}
    assert members(api, lst["id"])[0]["name"] == "patched"

    warm(api, c["email"], lst["id"])
    new = uniq_email("moved")
    patch(api, c["id"], {"email": new})
    assert api.find(c["email"]) == []
    assert api.one(new)["id"] == c["id"]

    warm(api, new, lst["id"])
    patch(api, c["id"], {"removeFromLists": [lst["id"]]})
    assert members(api, lst["id"]) == []
    warm(api, new, lst["id"])
    patch(api, c["id"], {"addToLists": [lst["id"]]})
    assert ids(members(api, lst["id"])) == [c["id"]]

    warm(api, new, lst["id"])
    delete(api, "/contacts/" + c["id"])
    assert api.find(new) == []
    assert api.page().json["contacts"] == []
    assert members(api, lst["id"]) == []

    warm(api, new, lst["id"])
    assert api.upsert({"email": new})["contact"]["status"] == "active"
    assert api.one(new)["id"] == c["id"]
    assert ids(members(api, lst["id"])) == [c["id"]]

    warm(api, new, lst["id"])
    assert api.request("DELETE", "/fields/tier").status == 204
    assert api.one(new)["fields"] == {}

    warm(api, new, lst["id"])
    assert api.request("DELETE", "/lists/" + lst["id"]).status == 200
    assert_error(api.get("/lists/%s/contacts" % lst["id"]), 404, "not_found")

    warm(api, new)
    assert api.request("DELETE", "/contacts/%s?erase=true" % c["id"]).status == 204
    assert api.find(new, includeAll="true") == []
    assert api.page(includeAll="true").json["contacts"] == []


def test_no_stale_read_under_concurrent_lifecycle_writes(api):
    """One writer per contact deletes, restores, patches and moves it
    between lists; readers check, through the cache, that every read that
    starts after a write's answer shows that write or a later one (every
    write moves updated_at forward)."""
    assert stack.redis_answers()
    lst = api.new_list()
    cs = [api.create() for _ in range(3)]
    acked = {c["id"]: c["updated_at"] for c in cs}
    stop = time.monotonic() + 8
    failures = []

    def writer(c, seed):
        rnd = random.Random(seed)
        n = 0
        while time.monotonic() < stop and not failures:
            n += 1
            op = rnd.random()
            if op < 0.3:
                r = api.request("DELETE", "/contacts/" + c["id"])
            elif op < 0.5:
                r = api.post("/contacts", {"email": c["email"], "name": "r%d" % n})
            elif op < 0.75:
                r = api.request("PATCH", "/contacts/" + c["id"],
                                body={"name": "p%d" % n,
                                      "addToLists": [lst["id"]]})
            else:
                r = api.request("PATCH", "/contacts/" + c["id"],
                                body={"removeFromLists": [lst["id"]]})
            if r.status != 200:
                failures.append(r)
                return
            acked[c["id"]] = max(acked[c["id"]], r.json["contact"]["updated_at"])

    def reader(seed):
        rnd = random.Random(seed)
        while time.monotonic() < stop and not failures:
            c = rnd.choice(cs)
            floor = acked[c["id"]]
            if rnd.random() < 0.5:
                got = api.find(c["email"], includeAll="true")
            else:
                got = [x for x in api.page(includeAll="true").json["contacts"]
                       if x["id"] == c["id"]]
            if len(got) != 1 or got[0]["updated_at"] < floor:
                failures.append(("stale", c["id"], floor, got))

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        fs = [ex.submit(writer, c, i) for i, c in enumerate(cs)]
        fs += [ex.submit(reader, 10 + i) for i in range(3)]
        for f in fs:
            f.result()
    assert not failures, failures[:3]
