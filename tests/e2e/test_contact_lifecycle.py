"""The contact lifecycle from the contract (API.md "Round 2": "One contact
by id" and "Deleting, unsubscribing, restoring, erasing"; the lead's
decisions in docs where API.md is silent): GET /contacts/{id}, the three
DELETE forms, hiding deleted contacts and the offsets that skip them,
restore by POST and by PATCH, and PATCH of every field.

Erasure is in test_erase.py, lists by id in test_lists_by_id.py, custom
fields in test_fields.py.  Every refusal checks its status, code and field
and that nothing was written (the whole organization's state, read through
the API, before and after).
"""

import json
import time
import uuid

import pytest

from conftest import (TS_RE, assert_contact, assert_error, next_link,
                      uniq_email)


def ids(cs):
    return [c["id"] for c in cs]


def page_ids(api, **params):
    return ids(api.page(**params).json["contacts"])


# --------------------------------------------------------------------------
# GET /contacts/{id}


def test_get_by_id_is_the_contact_object(api):
    lst = api.new_list()
    r = api.post("/contacts", {"email": uniq_email(), "name": "Ann Example",
                               "eid": "E-1", "phone": "+358 40 123",
                               "company": "Acme", "type": "employee",
                               "addToLists": [lst["id"]]})
    assert r.status == 201, r
    assert r.header("Location") == "/contacts/" + r.json["contact"]["id"], r
    c = r.json["contact"]
    assert c["fields"] == {} and c["last_action"] is None, c
    got = api.get("/contacts/" + c["id"])
    assert got.status == 200, got
    assert (got.header("Content-Type") or "").startswith("application/json")
    assert got.json == {"contact": c}, got
    assert api.one(c["email"]) == c


def test_get_by_id_whatever_the_status(api):
    cs = [api.create() for _ in range(4)]
    api.patch(cs[1]["id"], {"status": "unsubscribed"})
    api.patch(cs[2]["id"], {"status": "error"})
    api.delete(cs[3]["id"])
    assert [api.get_contact(c["id"])["status"] for c in cs] == \
        ["active", "unsubscribed", "error", "deleted"]


@pytest.mark.parametrize("bad", [
    "ZZZZZZZZZ",        # well formed, no such contact
    "abcdefgh",         # 8 characters
    "abcdefghij",       # 10
    "abcd-fghi", "abcd_fghi", "abcd.fghi", "abcd%20ghi",
    "%C3%A9bcdefgh",    # a non-ASCII letter
])
def test_get_by_id_not_found(api, bad):
    api.create()
    assert_error(api.get("/contacts/" + bad), 404, "not_found")


def test_get_by_id_of_another_organization(api, api_b):
    c = api.create()
    assert_error(api_b.get("/contacts/" + c["id"]), 404, "not_found")
    assert_error(api_b.request("DELETE", "/contacts/" + c["id"]), 404,
                 "not_found")
    assert_error(api_b.request("PATCH", "/contacts/" + c["id"],
                               body={"name": "x"}), 404, "not_found")
    assert api.get_contact(c["id"]) == c


# --------------------------------------------------------------------------
# DELETE: the three forms


def _delete_by(api, form, c):
    if form == "id":
        return api.delete(c["id"])
    if form == "query":
        return api.delete("/contacts", params={"email": c["email"].upper()})
    return api.delete("/contacts", body={"email": c["email"].upper()})


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_delete_forms(api, form):
    lst = api.new_list()
    c = api.create(name="Del Me", phone="123", company="Co", eid="X",
                   addToLists=[lst["id"]])
    other = api.create(addToLists=[lst["id"]])
    assert api.get_list(lst["id"])["count"] == 2
    time.sleep(0.002)
    d = _delete_by(api, form, c)
    assert d["id"] == c["id"]
    assert d["status"] == "deleted"
    assert d["last_action"] == "DELETE"
    assert TS_RE.match(d["deleted_at"]), d
    assert d["deleted_at"] == d["updated_at"], d
    assert d["updated_at"] > c["updated_at"], (c, d)
    # nothing else changes
    for k in ("email", "eid", "name", "phone", "company", "type",
              "created_at", "fields"):
        assert d[k] == c[k], k
    assert api.get_contact(c["id"]) == d
    # its list's count drops; the membership stays (includeAll shows it)
    assert api.get_list(lst["id"])["count"] == 1
    assert ids(api.members(lst["id"])) == [other["id"]]
    assert ids(api.members(lst["id"], includeAll="true")) == \
        [c["id"], other["id"]]
    # the other contact is untouched
    assert api.get_contact(other["id"]) == other


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_delete_again_changes_nothing(api, form):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    d = api.delete(c["id"])
    time.sleep(0.002)
    again = _delete_by(api, form, c)
    assert again == d
    assert api.get_contact(c["id"]) == d
    assert api.get_list(lst["id"])["count"] == 0


def test_delete_body_form_needs_json(api):
    c = api.create()
    before = api.state()
    r = api.request("DELETE", "/contacts",
                    body=json.dumps({"email": c["email"]}),
                    headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    for raw in (b"{", b"[]", b'"x"', b"null"):
        r = api.request("DELETE", "/contacts", body=raw)
        assert_error(r, 400, "invalid_json")
    assert api.state() == before


@pytest.mark.parametrize("how,status,code,field", [
    ("nothing", 400, "invalid_parameter", "email"),
    ("query-invalid", 400, "invalid_parameter", "email"),
    ("query-empty", 400, "invalid_parameter", "email"),
    ("body-empty", 422, "missing_field", "email"),
    ("body-invalid", 422, "invalid_field", "email"),
    ("body-number", 422, "invalid_field", "email"),
    ("body-unknown-key", 422, "unknown_field", "name"),
    ("query-unknown", 404, "not_found", None),
    ("body-unknown", 404, "not_found", None),
    ("id-unknown", 404, "not_found", None),
    ("id-malformed", 404, "not_found", None),
])
def test_delete_refusals_write_nothing(api, how, status, code, field):
    c = api.create()
    before = api.state()
    req = {
        "nothing": ("/contacts", None, None),
        "query-invalid": ("/contacts", {"email": "not-an-address"}, None),
        "query-empty": ("/contacts", {"email": ""}, None),
        "body-empty": ("/contacts", None, {}),
        "body-invalid": ("/contacts", None, {"email": "a@b"}),
        "body-number": ("/contacts", None, {"email": 5}),
        "body-unknown-key": ("/contacts", None,
                             {"email": c["email"], "name": "x"}),
        "query-unknown": ("/contacts", {"email": uniq_email()}, None),
        "body-unknown": ("/contacts", None, {"email": uniq_email()}),
        "id-unknown": ("/contacts/ZZZZZZZZZ", None, None),
        "id-malformed": ("/contacts/abc", None, None),
    }[how]
    r = api.request("DELETE", req[0], params=req[1], body=req[2])
    if field is None:
        assert_error(r, status, code)
    else:
        assert_error(r, status, code, field)
    assert api.state() == before


# --------------------------------------------------------------------------
# deleted contacts are hidden unless includeAll


def test_deleted_hidden_unless_include_all(api):
    lst = api.new_list()
    cs = [api.create(addToLists=[lst["id"]]) for _ in range(3)]
    d = api.delete(cs[1]["id"])
    shown = [cs[0]["id"], cs[2]["id"]]
    every = ids(cs)
    # pages
    assert page_ids(api) == shown
    assert page_ids(api, includeAll="false") == shown
    r = api.page(includeAll="true")
    assert ids(r.json["contacts"]) == every
    assert r.json["contacts"][1] == d
    # email look-ups, in any case
    for e in (cs[1]["email"], cs[1]["email"].upper()):
        assert api.find(e) == []
        assert api.find(e, includeAll="false") == []
        assert api.find(e, includeAll="true") == [d]
    # list members
    assert ids(api.members(lst["id"])) == shown
    assert ids(api.members(lst["id"], includeAll="false")) == shown
    assert ids(api.members(lst["id"], includeAll="true")) == every
    assert api.get_list(lst["id"])["count"] == 2
    # by id: always
    assert api.get_contact(cs[1]["id"]) == d


def _walk(api, path):
    """(ids, links) following rel=next from PATH (bounded)."""
    got, links = [], []
    for _ in range(100):
        r = api.get(path)
        assert r.status == 200, r
        got += ids(r.json["contacts"])
        path = next_link(r)
        if path is None:
            return got, links
        links.append(path)
    pytest.fail("too many pages")


def test_offsets_count_only_shown_contacts(api):
    cs = [api.create() for _ in range(13)]
    gone = (0, 4, 5, 6, 11)
    for i in gone:
        api.delete(cs[i]["id"])
    shown = [c["id"] for i, c in enumerate(cs) if i not in gone]
    every = ids(cs)
    assert page_ids(api) == shown
    # every offset and limit: exactly the slice of the shown contacts
    for limit in (1, 2, 3, 5, 8):
        for off in range(len(shown) + 2):
            assert page_ids(api, offset=off, limit=limit) == \
                shown[off:off + limit], (off, limit)
        # walking the Links: each shown contact once, and each Link's
        # offset counts the contacts shown so far
        got, links = _walk(api, "/contacts?limit=%d" % limit)
        assert got == shown, limit
        full_pages = len(shown) // limit
        assert links == ["/contacts?offset=%d&limit=%d" % (limit * k, limit)
                         for k in range(1, full_pages + 1)], links
        # includeAll counts every contact
        got, links = _walk(api, "/contacts?limit=%d&includeAll=true" % limit)
        assert got == every, limit
        assert links == ["/contacts?offset=%d&limit=%d&includeAll=true"
                         % (limit * k, limit)
                         for k in range(1, len(every) // limit + 1)], links
    for off in range(len(every) + 1):
        assert page_ids(api, offset=off, limit=3, includeAll="true") == \
            every[off:off + 3], off


def test_offsets_after_deleting_everything(api):
    cs = [api.create() for _ in range(4)]
    for c in cs:
        api.delete(c["id"])
    r = api.page()
    assert r.json["contacts"] == [] and r.header("Link") is None, r
    assert page_ids(api, offset=2, limit=1) == []
    assert page_ids(api, includeAll="true") == ids(cs)
    n = api.create()
    assert page_ids(api) == [n["id"]]
    assert page_ids(api, includeAll="true") == ids(cs) + [n["id"]]


# --------------------------------------------------------------------------
# restore


@pytest.mark.parametrize("before,after", [
    ("active", "active"),
    ("unsubscribed", "unsubscribed"),
    ("error", "active"),
])
def test_restore_by_post(api, before, after):
    lst = api.new_list()
    first = api.create()
    c = api.create(name="Kept", company="Co", addToLists=[lst["id"]])
    last = api.create(addToLists=[lst["id"]])
    if before != "active":
        c = api.patch(c["id"], {"status": before})["contact"]
    d = api.delete(c["id"])
    assert api.get_list(lst["id"])["count"] == 1
    time.sleep(0.002)
    got = api.upsert({"email": "  " + c["email"].upper() + " ",
                      "phone": "777"}, expect=200)
    assert got["action"] == "IMPORT_UPDATE"
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 0)
    back = got["contact"]
    assert back["id"] == c["id"]
    assert back["status"] == after
    assert back["deleted_at"] == d["deleted_at"]   # the last deletion's time
    assert back["created_at"] == c["created_at"]
    assert back["email"] == c["email"]             # stored spelling kept
    assert (back["name"], back["company"], back["phone"]) == \
        ("Kept", "Co", "777")
    assert back["last_action"] == "IMPORT_UPDATE"
    assert back["updated_at"] > d["updated_at"]
    assert api.get_contact(c["id"]) == back
    assert api.one(c["email"]) == back
    # the same place in the creation order and on its list
    assert page_ids(api) == [first["id"], c["id"], last["id"]]
    assert api.get_list(lst["id"])["count"] == 2
    assert ids(api.members(lst["id"])) == [c["id"], last["id"]]


def test_restore_by_post_with_lists(api):
    a, b = api.new_list(), api.new_list()
    c = api.create(addToLists=[a["id"]])
    api.delete(c["id"])
    got = api.upsert({"email": c["email"], "addToLists": [b["id"]],
                      "removeFromLists": [a["id"]]}, expect=200)
    assert (got["listsUpdated"], got["listsRemoved"]) == (1, 1)
    assert got["contact"]["status"] == "active"
    assert (api.get_list(a["id"])["count"], api.get_list(b["id"])["count"]) \
        == (0, 1)


@pytest.mark.parametrize("status", ["active", "unsubscribed", "error"])
def test_restore_by_patch_status(api, status):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    d = api.delete(c["id"])
    got = api.patch(c["id"], {"status": status})["contact"]
    assert got["status"] == status
    assert got["deleted_at"] == d["deleted_at"]
    assert got["last_action"] == "IMPORT_UPDATE"
    assert api.one(c["email"]) == got
    assert page_ids(api) == [c["id"]]
    assert api.get_list(lst["id"])["count"] == 1


def test_deleted_again_after_restore_has_a_new_deleted_at(api):
    c = api.create()
    d1 = api.delete(c["id"])
    api.upsert({"email": c["email"]}, expect=200)
    time.sleep(0.002)
    d2 = api.delete(c["id"])
    assert d2["deleted_at"] > d1["deleted_at"]
    assert d2["deleted_at"] == d2["updated_at"]


# --------------------------------------------------------------------------
# PATCH


def test_patch_every_field(api):
    c = api.create(name="Old", eid="E1", phone="111", company="OldCo")
    assert c["last_action"] is None
    time.sleep(0.002)
    new_email = uniq_email("moved")
    got = api.patch(c["id"], {"email": new_email, "eid": "E2", "name": "New",
                              "phone": "222", "company": "NewCo",
                              "type": "employee", "status": "unsubscribed"})
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 0)
    p = got["contact"]
    assert p["id"] == c["id"]
    assert (p["email"], p["eid"], p["name"], p["phone"], p["company"],
            p["type"], p["status"]) == (new_email, "E2", "New", "222",
                                        "NewCo", "employee", "unsubscribed")
    assert p["last_action"] == "IMPORT_UPDATE"
    assert p["updated_at"] > c["updated_at"]
    assert p["created_at"] == c["created_at"]
    assert p["deleted_at"] is None
    assert api.get_contact(c["id"]) == p
    assert api.one(new_email) == p
    assert api.page().json["contacts"] == [p]


def test_patch_null_clears_absent_keeps(api):
    c = api.create(name="N", eid="E", phone="P", company="C", type="employee")
    p = api.patch(c["id"], {"eid": None, "phone": None})["contact"]
    assert (p["eid"], p["phone"]) == (None, None)
    assert (p["name"], p["company"], p["type"], p["email"]) == \
        ("N", "C", "employee", c["email"])
    p = api.patch(c["id"], {"name": None, "company": None})["contact"]
    assert (p["name"], p["company"]) == (None, None)
    assert api.get_contact(c["id"]) == p


def test_patch_one_field_at_a_time(api):
    c = api.create()
    for k, v in (("eid", "e" * 255), ("name", "n" * 255), ("phone", "1" * 64),
                 ("company", "c" * 255), ("type", "employee"),
                 ("type", "customer"), ("status", "error"),
                 ("status", "active"), ("name", "Zoë ☃")):
        p = api.patch(c["id"], {k: v})["contact"]
        assert p[k] == v, k
        assert api.get_contact(c["id"]) == p


def test_patch_empty_body_is_a_no_op(api):
    c = api.create(name="Same")
    time.sleep(0.002)
    r = api.request("PATCH", "/contacts/" + c["id"], body={})
    assert r.status == 200, r
    assert r.json == {"contact": c, "listsUpdated": 0, "listsRemoved": 0}, r
    assert api.get_contact(c["id"]) == c
    assert c["last_action"] is None


def test_patch_email_change(api):
    a = api.create()
    new = uniq_email("new")
    got = api.patch(a["id"], {"email": "  " + new + "\t"})["contact"]
    assert got["email"] == new  # trimmed, like POST
    assert api.find(a["email"]) == []
    assert api.find(a["email"], includeAll="true") == []
    assert api.one(new.upper()) == got
    # the old email is free: a POST creates a new contact
    again = api.create(email=a["email"])
    assert again["id"] != a["id"]
    assert page_ids(api) == [a["id"], again["id"]]


def test_patch_email_case_only_change(api):
    a = api.create(email=uniq_email("Case"))
    up = a["email"].upper()
    got = api.patch(a["id"], {"email": up})["contact"]
    assert got["email"] == up
    assert api.one(a["email"].lower()) == got
    # its own email, unchanged: fine too
    assert api.patch(a["id"], {"email": up})["contact"]["email"] == up


@pytest.mark.parametrize("variant", ["same", "upper", "padded"])
def test_patch_email_taken(api, variant):
    a = api.create()
    b = api.create()
    taken = {"same": b["email"], "upper": b["email"].upper(),
             "padded": " " + b["email"] + " "}[variant]
    before = api.state()
    r = api.request("PATCH", "/contacts/" + a["id"],
                    body={"email": taken, "name": "not written"})
    assert_error(r, 409, "email_taken", "email")
    assert api.state() == before


def test_patch_email_taken_by_a_deleted_contact(api):
    a = api.create()
    b = api.create()
    api.delete(b["id"])
    before = api.state()
    r = api.request("PATCH", "/contacts/" + a["id"], body={"email": b["email"]})
    assert_error(r, 409, "email_taken", "email")
    assert api.state() == before


def test_patch_status_rules(api):
    c = api.create()
    for s in ("unsubscribed", "error", "active", "unsubscribed"):
        assert api.patch(c["id"], {"status": s})["contact"]["status"] == s
    # an import never re-subscribes; PATCH is the way back
    assert api.upsert({"email": c["email"], "name": "imp"},
                      expect=200)["contact"]["status"] == "unsubscribed"
    assert api.patch(c["id"], {"status": "active"})["contact"]["status"] \
        == "active"


@pytest.mark.parametrize("status", ["deleted", None, "gone", "Active",
                                    "ACTIVE", "", 1, True, ["active"]])
def test_patch_status_refused(api, status):
    c = api.create()
    before = api.state()
    r = api.request("PATCH", "/contacts/" + c["id"],
                    body={"status": status, "name": "not written"})
    assert_error(r, 422, "invalid_field", "status")
    assert api.state() == before


def test_patch_deleted_contact(api):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    d = api.delete(c["id"])
    time.sleep(0.002)
    p = api.patch(c["id"], {"name": "Still deleted"})["contact"]
    assert p["status"] == "deleted"
    assert p["name"] == "Still deleted"
    assert p["deleted_at"] == d["deleted_at"]
    assert p["last_action"] == "IMPORT_UPDATE"
    assert p["updated_at"] > d["updated_at"]
    assert api.find(c["email"]) == []
    assert page_ids(api) == []
    assert api.get_list(lst["id"])["count"] == 0
    # the status restores it, deleted_at kept
    p = api.patch(c["id"], {"status": "unsubscribed"})["contact"]
    assert (p["status"], p["deleted_at"]) == ("unsubscribed", d["deleted_at"])
    assert api.one(c["email"]) == p
    assert api.get_list(lst["id"])["count"] == 1


def test_patch_deleted_contact_empty_body(api):
    c = api.create()
    d = api.delete(c["id"])
    r = api.request("PATCH", "/contacts/" + c["id"], body={})
    assert r.status == 200 and r.json["contact"] == d, r
    assert api.get_contact(c["id"]) == d


PATCH_REFUSALS = [
    ("email-null", {"email": None}, 422, "invalid_field", "email"),
    ("email-invalid", {"email": "nope"}, 422, "invalid_field", "email"),
    ("email-number", {"email": 5}, 422, "invalid_field", "email"),
    ("email-two-at", {"email": "a@b@example.com"}, 422, "invalid_field",
     "email"),
    ("type-null", {"type": None}, 422, "invalid_field", "type"),
    ("type-boss", {"type": "boss"}, 422, "invalid_field", "type"),
    ("type-case", {"type": "Customer"}, 422, "invalid_field", "type"),
    ("name-256", {"name": "x" * 256}, 422, "invalid_field", "name"),
    ("eid-256", {"eid": "x" * 256}, 422, "invalid_field", "eid"),
    ("company-256", {"company": "x" * 256}, 422, "invalid_field", "company"),
    ("phone-65", {"phone": "1" * 65}, 422, "invalid_field", "phone"),
    ("name-number", {"name": 5}, 422, "invalid_field", "name"),
    ("phone-array", {"phone": ["1"]}, 422, "invalid_field", "phone"),
    ("unknown", {"nickname": "x"}, 422, "unknown_field", "nickname"),
    ("unknown-null", {"nickname": None}, 422, "unknown_field", "nickname"),
    ("unknown-long", {"n" * 100: 1}, 422, "unknown_field", "n" * 100),
    ("id", {"id": "ZZZZZZZZZ"}, 422, "unknown_field", "id"),
    ("created_at", {"created_at": "2020-01-01T00:00:00.000Z"}, 422,
     "unknown_field", "created_at"),
    ("add-not-array", {"addToLists": "x"}, 422, "invalid_field",
     "addToLists"),
    ("add-number-item", {"addToLists": [1]}, 422, "invalid_field",
     "addToLists"),
    ("add-101", {"addToLists": ["AAAAAAAAA"] * 101}, 422, "invalid_field",
     "addToLists"),
    ("add-unknown", {"addToLists": ["ZZZZZZZZZ"]}, 422, "unknown_list",
     "addToLists"),
    ("remove-not-array", {"removeFromLists": {}}, 422, "invalid_field",
     "removeFromLists"),
    ("remove-101", {"removeFromLists": ["AAAAAAAAA"] * 101}, 422,
     "invalid_field", "removeFromLists"),
    ("remove-unknown", {"removeFromLists": ["ZZZZZZZZZ"]}, 422,
     "unknown_list", "removeFromLists"),
]


@pytest.mark.parametrize("case,body,status,code,field", PATCH_REFUSALS,
                         ids=[x[0] for x in PATCH_REFUSALS])
def test_patch_refusals_write_nothing(mod_api, case, body, status, code,
                                      field):
    api = mod_api
    lst = api.new_list()
    c = api.create(name="Kept", addToLists=[lst["id"]])
    # with a valid change and a valid list change next to the bad one
    other = api.new_list()
    before = api.state()
    full = {"name": "Changed", "company": "Changed"}
    if "addToLists" not in body:
        full["addToLists"] = [other["id"]]
    full.update(body)
    r = api.request("PATCH", "/contacts/" + c["id"], body=full)
    assert_error(r, status, code, field)
    assert api.state() == before
    assert api.get_contact(c["id"]) == c


@pytest.mark.parametrize("raw,ctype,status,code", [
    (b"{", "application/json", 400, "invalid_json"),
    (b"[]", "application/json", 400, "invalid_json"),
    (b"null", "application/json", 400, "invalid_json"),
    (b'"name"', "application/json", 400, "invalid_json"),
    (b'{"name":"x"}', "text/plain", 415, "unsupported_media_type"),
    (b'{"name":"\xff"}', "application/json", 400, "invalid_json"),
])
def test_patch_malformed_body_writes_nothing(api, raw, ctype, status, code):
    c = api.create(name="Kept")
    before = api.state()
    r = api.request("PATCH", "/contacts/" + c["id"], body=raw,
                    headers={"Content-Type": ctype})
    assert_error(r, status, code)
    assert api.state() == before


def test_patch_body_errors_come_before_not_found(api):
    assert_error(api.request("PATCH", "/contacts/ZZZZZZZZZ",
                             body={"name": "x" * 256}),
                 422, "invalid_field", "name")
    assert_error(api.request("PATCH", "/contacts/ZZZZZZZZZ",
                             body={"bogus": 1}), 422, "unknown_field", "bogus")
    assert_error(api.request("PATCH", "/contacts/ZZZZZZZZZ",
                             body={"name": "x"}), 404, "not_found")
    assert_error(api.request("PATCH", "/contacts/ZZZZZZZZZ", body={}),
                 404, "not_found")
    assert_error(api.request("PATCH", "/contacts/abc", body={"name": "x"}),
                 404, "not_found")
    assert api.state()["contacts"] == []


# --------------------------------------------------------------------------
# non-ASCII emails fold like every email match


def test_non_ascii_email_case_in_delete_and_patch(api):
    tok = uuid.uuid4().hex[:8]
    a = api.create(email="Äijä%s@Esimerkki.fi" % tok)
    b = api.create(email="öljy%s@esimerkki.fi" % tok)
    # email_taken folds the case of non-ASCII letters too
    before = api.state()
    r = api.request("PATCH", "/contacts/" + a["id"],
                    body={"email": b["email"].upper()})
    assert_error(r, 409, "email_taken", "email")
    assert api.state() == before
    # a case-only change of its own email is fine
    got = api.patch(a["id"], {"email": a["email"].upper()})["contact"]
    assert got["email"] == a["email"].upper()
    assert api.one(a["email"].lower())["id"] == a["id"]
    # DELETE ?email= and body forms find it in any case
    d = api.delete("/contacts", params={"email": b["email"].upper()})
    assert d["id"] == b["id"]
    assert api.find(b["email"]) == []
    d = api.delete("/contacts", body={"email": a["email"].lower()})
    assert d["id"] == a["id"]


def test_restore_remembers_the_status_before_the_last_deletion(api):
    c = api.create()
    api.patch(c["id"], {"status": "unsubscribed"})
    api.delete(c["id"])
    # a PATCH without status while deleted leaves it deleted, and the
    # status to come back to as it was
    assert api.patch(c["id"], {"name": "x"})["contact"]["status"] == "deleted"
    assert api.upsert({"email": c["email"]},
                      expect=200)["contact"]["status"] == "unsubscribed"
    # resubscribed, deleted again: it comes back active
    api.patch(c["id"], {"status": "active"})
    api.delete(c["id"])
    assert api.upsert({"email": c["email"]},
                      expect=200)["contact"]["status"] == "active"
    # error, deleted: active
    api.patch(c["id"], {"status": "error"})
    api.delete(c["id"])
    assert api.upsert({"email": c["email"]},
                      expect=200)["contact"]["status"] == "active"


def test_patch_body_past_64_kib(api):
    c = api.create(name="Kept")
    before = api.state()
    r = api.request("PATCH", "/contacts/" + c["id"],
                    body={"name": "x", "company": "y" * (65 * 1024)})
    assert_error(r, 413)
    assert api.state() == before


def test_delete_and_erase_by_email_stay_in_the_organization(api, api_b):
    email = uniq_email("iso")
    a = api.create(email=email, name="A")
    before = api.state()
    for params, body in (({"email": email}, None),
                         ({"email": email, "erase": "true"}, None),
                         ({"erase": "true", "suppress": "true"}, {"email": email}),
                         (None, {"email": email.upper()})):
        r = api_b.request("DELETE", "/contacts", params=params, body=body)
        assert_error(r, 404, "not_found")
    assert_error(api_b.request("DELETE", "/suppressions",
                               params={"email": email}), 404, "not_found")
    assert api.state() == before
    assert api.get_contact(a["id"]) == a
    # and B's contact of that email is B's own
    b = api_b.create(email=email)
    assert api_b.delete("/contacts", params={"email": email})["id"] == b["id"]
    assert api.get_contact(a["id"]) == a
