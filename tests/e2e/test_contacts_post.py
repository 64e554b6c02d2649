"""POST /contacts: create, update by email, the contact object, lists."""

import datetime
import secrets
import string
import time

import pytest

from conftest import (ID_RE, assert_contact, assert_error, assert_json,
                      uniq_email)

ALNUM = string.ascii_letters + string.digits


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def fake_id():
    return "".join(secrets.choice(ALNUM) for _ in range(9))


# --------------------------------------------------------------------------
# create


def test_create_minimal(api):
    email = uniq_email()
    r = api.post("/contacts", {"email": email})
    assert r.status == 201, r
    assert_json(r)
    assert set(r.json) == {"contact", "action", "listsUpdated", "listsRemoved"}, r
    assert r.json["action"] == "IMPORT_CREATE"
    assert r.json["listsUpdated"] == 0
    c = r.json["contact"]
    assert_contact(c)
    assert c["email"] == email
    assert c["eid"] is None
    assert c["name"] is None
    assert c["phone"] is None
    assert c["company"] is None
    assert c["type"] == "customer"
    assert c["status"] == "active"
    assert c["last_action"] is None
    assert c["deleted_at"] is None
    assert c["created_at"] == c["updated_at"], c


def test_created_at_is_utc_now(api):
    before = datetime.datetime.now(datetime.timezone.utc)
    c = api.create()
    after = datetime.datetime.now(datetime.timezone.utc)
    created = parse_ts(c["created_at"])
    # the stack runs on this machine: its UTC clock is ours
    slack = datetime.timedelta(seconds=60)
    assert before - slack <= created <= after + slack, (before, c, after)


def test_create_full(api):
    email = uniq_email()
    body = {"email": email, "eid": "crm-42", "name": "Ada Lovelace",
            "phone": "+44 20 7946 0000", "company": "Analytical Engines Ltd",
            "type": "employee"}
    r = api.post("/contacts", body)
    assert r.status == 201, r
    c = r.json["contact"]
    for k, v in body.items():
        assert c[k] == v, (k, c)
    assert c["status"] == "active"
    assert c["last_action"] is None


def test_create_with_explicit_nulls(api):
    body = {"email": uniq_email(), "eid": None, "name": None, "phone": None,
            "company": None}
    c = api.upsert(body, expect=201)["contact"]
    for k in ("eid", "name", "phone", "company"):
        assert c[k] is None
    assert c["type"] == "customer"


def test_create_type_customer_explicit(api):
    c = api.create(type="customer")
    assert c["type"] == "customer"


def test_empty_strings_are_values(api):
    # docs/architecture.md: an empty string is a value like any other
    c = api.create(name="", eid="", phone="", company="")
    for k in ("eid", "name", "phone", "company"):
        assert c[k] == "", c
    got = api.one(c["email"])
    for k in ("eid", "name", "phone", "company"):
        assert got[k] == "", got


def test_unicode_values_round_trip(api):
    body = {"name": "Zoë Ünïcødé 東京 🎉", "company": "Ça va — \"quoted\" \\ ",
            "eid": "tab\there", "phone": "+33 (0)1 23 45 67 89"}
    c = api.create(**body)
    for k, v in body.items():
        assert c[k] == v, (k, c)
    got = api.one(c["email"])
    assert got == c


def test_ids_are_unique_and_well_formed(api):
    ids = [api.create()["id"] for _ in range(20)]
    assert len(set(ids)) == 20
    for i in ids:
        assert ID_RE.match(i)


def test_answer_equals_what_get_returns(api):
    c = api.create(name="A", type="employee")
    assert api.one(c["email"]) == c


# --------------------------------------------------------------------------
# email: case, trimming


def test_email_matched_case_insensitively_and_spelling_kept(api):
    c1 = api.upsert({"email": "Foo-%s@Example.com" % id(api)}, expect=201)
    email = c1["contact"]["email"]
    other_spelling = email.lower().replace("example.com", "example.COM")
    r = api.post("/contacts", {"email": other_spelling, "name": "Foo"})
    assert r.status == 200, r
    assert r.json["action"] == "IMPORT_UPDATE"
    c = r.json["contact"]
    assert c["id"] == c1["contact"]["id"]
    assert c["email"] == email  # the first spelling stays
    assert c["name"] == "Foo"
    assert len(api.all_contacts()) == 1


def test_email_foo_example(api):
    r = api.post("/contacts", {"email": "Foo@Example.com"})
    assert r.status == 201, r
    cid = r.json["contact"]["id"]
    r = api.post("/contacts", {"email": "foo@example.COM"})
    assert r.status == 200, r
    assert r.json["action"] == "IMPORT_UPDATE"
    assert r.json["contact"]["id"] == cid
    assert r.json["contact"]["email"] == "Foo@Example.com"
    for spelling in ("foo@example.com", "FOO@EXAMPLE.COM", "Foo@Example.com"):
        got = api.find(spelling)
        assert len(got) == 1 and got[0]["id"] == cid, (spelling, got)
        assert got[0]["email"] == "Foo@Example.com"


def test_email_is_trimmed(api):
    email = uniq_email()
    r = api.post("/contacts", {"email": "  \t" + email + " \n"})
    assert r.status == 201, r
    assert r.json["contact"]["email"] == email
    assert api.one(email)["email"] == email
    # the same address with other white space is the same contact
    r = api.post("/contacts", {"email": " " + email})
    assert r.status == 200, r
    assert r.json["contact"]["email"] == email
    assert len(api.all_contacts()) == 1


def test_internationalized_email_case(api):
    r = api.post("/contacts", {"email": "josé@exämple.com"})
    assert r.status == 201, r
    assert r.json["contact"]["email"] == "josé@exämple.com"
    r = api.post("/contacts", {"email": "JOSé@EXäMPLE.COM"})
    assert r.status == 200, r
    assert r.json["contact"]["email"] == "josé@exämple.com"


# --------------------------------------------------------------------------
# update


def test_update_changes_what_is_given(api):
    c0 = api.create(name="Old", eid="e1", phone="123", company="Co",
                    type="employee")
    time.sleep(0.01)
    r = api.post("/contacts", {"email": c0["email"], "name": "New"})
    assert r.status == 200, r
    assert_json(r)
    assert set(r.json) == {"contact", "action", "listsUpdated", "listsRemoved"}
    assert r.json["action"] == "IMPORT_UPDATE"
    assert r.json["listsUpdated"] == 0
    c = r.json["contact"]
    assert_contact(c)
    assert c["id"] == c0["id"]
    assert c["email"] == c0["email"]
    assert c["created_at"] == c0["created_at"]
    assert c["updated_at"] > c0["updated_at"], (c0, c)
    assert c["last_action"] == "IMPORT_UPDATE"
    assert c["status"] == "active"
    assert c["deleted_at"] is None
    assert c["name"] == "New"
    # absent fields keep their values
    assert c["eid"] == "e1"
    assert c["phone"] == "123"
    assert c["company"] == "Co"
    assert c["type"] == "employee"
    assert api.one(c0["email"]) == c


def test_update_with_email_only_touches_the_contact(api):
    c0 = api.create(name="N", eid="E", phone="P", company="C")
    time.sleep(0.01)
    r = api.post("/contacts", {"email": c0["email"]})
    assert r.status == 200, r
    c = r.json["contact"]
    for k in ("id", "email", "eid", "name", "phone", "company", "type",
              "status", "created_at", "deleted_at"):
        assert c[k] == c0[k], k
    assert c["last_action"] == "IMPORT_UPDATE"
    assert c["updated_at"] > c0["updated_at"]


def test_present_null_clears(api):
    c0 = api.create(name="N", eid="E", phone="P", company="C")
    r = api.post("/contacts", {"email": c0["email"], "name": None,
                               "phone": None})
    assert r.status == 200, r
    c = r.json["contact"]
    assert c["name"] is None
    assert c["phone"] is None
    assert c["eid"] == "E"
    assert c["company"] == "C"
    got = api.one(c0["email"])
    assert got["name"] is None and got["phone"] is None
    assert got["eid"] == "E" and got["company"] == "C"


def test_clear_every_optional_field(api):
    c0 = api.create(name="N", eid="E", phone="P", company="C")
    c = api.upsert({"email": c0["email"], "name": None, "eid": None,
                    "phone": None, "company": None}, expect=200)["contact"]
    for k in ("eid", "name", "phone", "company"):
        assert c[k] is None, k


def test_type_changes_and_absent_keeps(api):
    c0 = api.create(type="employee")
    assert c0["type"] == "employee"
    c = api.upsert({"email": c0["email"], "name": "x"}, expect=200)["contact"]
    assert c["type"] == "employee"
    c = api.upsert({"email": c0["email"], "type": "customer"},
                   expect=200)["contact"]
    assert c["type"] == "customer"
    c = api.upsert({"email": c0["email"]}, expect=200)["contact"]
    assert c["type"] == "customer"
    c = api.upsert({"email": c0["email"], "type": "employee"},
                   expect=200)["contact"]
    assert c["type"] == "employee"
    assert api.one(c0["email"])["type"] == "employee"


def test_repeated_updates_keep_identity(api):
    c0 = api.create()
    prev = c0["updated_at"]
    for i in range(5):
        time.sleep(0.003)
        c = api.upsert({"email": c0["email"], "name": "v%d" % i},
                       expect=200)["contact"]
        assert c["id"] == c0["id"]
        assert c["created_at"] == c0["created_at"]
        assert c["updated_at"] >= prev
        prev = c["updated_at"]
    assert api.one(c0["email"])["name"] == "v4"
    assert len(api.all_contacts()) == 1


def test_update_keeps_place_in_order(api):
    cs = [api.create() for _ in range(4)]
    api.upsert({"email": cs[0]["email"], "name": "moved?"}, expect=200)
    api.upsert({"email": cs[2]["email"], "name": "moved?"}, expect=200)
    ids = [c["id"] for c in api.page().json["contacts"]]
    assert ids == [c["id"] for c in cs]


# --------------------------------------------------------------------------
# addToLists


def test_add_to_lists_on_create(api):
    l1 = api.new_list()
    l2 = api.new_list()
    r = api.post("/contacts", {"email": uniq_email(),
                               "addToLists": [l1["id"], l2["id"]]})
    assert r.status == 201, r
    assert r.json["action"] == "IMPORT_CREATE"
    assert r.json["listsUpdated"] == 2
    assert api.list_by_id(l1["id"])["count"] == 1
    assert api.list_by_id(l2["id"])["count"] == 1


def test_lists_updated_counts_only_new_memberships(api):
    l1, l2, l3 = api.new_list(), api.new_list(), api.new_list()
    email = uniq_email()
    r = api.post("/contacts", {"email": email, "addToLists": [l1["id"]]})
    assert r.status == 201 and r.json["listsUpdated"] == 1, r
    r = api.post("/contacts", {"email": email,
                               "addToLists": [l1["id"], l2["id"], l3["id"]]})
    assert r.status == 200, r
    assert r.json["listsUpdated"] == 2
    r = api.post("/contacts", {"email": email,
                               "addToLists": [l3["id"], l2["id"], l1["id"]]})
    assert r.status == 200, r
    assert r.json["listsUpdated"] == 0
    for lst in (l1, l2, l3):
        assert api.list_by_id(lst["id"])["count"] == 1


def test_repeated_id_counts_once(api):
    l1 = api.new_list()
    r = api.post("/contacts", {"email": uniq_email(),
                               "addToLists": [l1["id"], l1["id"], l1["id"]]})
    assert r.status == 201, r
    assert r.json["listsUpdated"] == 1
    assert api.list_by_id(l1["id"])["count"] == 1


def test_hundred_ids_accepted(api):
    l1, l2 = api.new_list(), api.new_list()
    ids = [l1["id"]] * 50 + [l2["id"]] * 50
    r = api.post("/contacts", {"email": uniq_email(), "addToLists": ids})
    assert r.status == 201, r
    assert r.json["listsUpdated"] == 2


def test_empty_add_to_lists(api):
    r = api.post("/contacts", {"email": uniq_email(), "addToLists": []})
    assert r.status == 201, r
    assert r.json["listsUpdated"] == 0


def test_already_on_list_with_update_of_fields(api):
    l1 = api.new_list()
    email = uniq_email()
    api.upsert({"email": email, "addToLists": [l1["id"]]}, expect=201)
    r = api.post("/contacts", {"email": email, "name": "Again",
                               "addToLists": [l1["id"]]})
    assert r.status == 200, r
    assert r.json["listsUpdated"] == 0
    assert r.json["contact"]["name"] == "Again"
    assert r.json["contact"]["last_action"] == "IMPORT_UPDATE"


def test_list_count_reflects_members(api):
    l1 = api.new_list()
    l2 = api.new_list()
    for i in range(3):
        api.upsert({"email": uniq_email(), "addToLists": [l1["id"]]},
                   expect=201)
    api.upsert({"email": uniq_email(), "addToLists": [l2["id"], l1["id"]]},
               expect=201)
    assert api.list_by_id(l1["id"])["count"] == 4
    assert api.list_by_id(l2["id"])["count"] == 1


def test_add_existing_contact_to_list(api):
    l1 = api.new_list()
    c = api.create()
    r = api.post("/contacts", {"email": c["email"], "addToLists": [l1["id"]]})
    assert r.status == 200, r
    assert r.json["listsUpdated"] == 1
    assert api.list_by_id(l1["id"])["count"] == 1


def _snapshot(api):
    return api.all_contacts(), api.lists()


def test_unknown_list_on_create_writes_nothing(api):
    good = api.new_list()
    before = _snapshot(api)
    missing = fake_id()
    email = uniq_email()
    r = api.post("/contacts", {"email": email, "name": "X",
                               "addToLists": [good["id"], missing]})
    err = assert_error(r, 422, "unknown_list")
    assert missing in err["message"], err
    assert good["id"] not in err["message"], err
    assert api.find(email) == []
    assert _snapshot(api) == before
    assert api.list_by_id(good["id"])["count"] == 0


def test_unknown_list_names_every_unknown_id(api):
    a, b = fake_id(), fake_id()
    r = api.post("/contacts", {"email": uniq_email(), "addToLists": [a, b]})
    err = assert_error(r, 422, "unknown_list")
    assert a in err["message"] and b in err["message"], err


def test_unknown_list_on_update_writes_nothing(api):
    good = api.new_list()
    c0 = api.create(name="Before", phone="1")
    missing = fake_id()
    time.sleep(0.005)
    r = api.post("/contacts", {"email": c0["email"], "name": "After",
                               "phone": None, "type": "employee",
                               "addToLists": [good["id"], missing]})
    err = assert_error(r, 422, "unknown_list")
    assert missing in err["message"], err
    got = api.one(c0["email"])
    assert got == c0  # name, phone, type, updated_at, last_action unchanged
    assert api.list_by_id(good["id"])["count"] == 0
    # and the memberships really are untouched: adding now counts it
    r = api.post("/contacts", {"email": c0["email"],
                               "addToLists": [good["id"]]})
    assert r.status == 200 and r.json["listsUpdated"] == 1, r


def test_unknown_list_keeps_existing_memberships(api):
    l1, l2 = api.new_list(), api.new_list()
    email = uniq_email()
    api.upsert({"email": email, "addToLists": [l1["id"]]}, expect=201)
    r = api.post("/contacts", {"email": email,
                               "addToLists": [l2["id"], fake_id()]})
    assert_error(r, 422, "unknown_list")
    assert api.list_by_id(l1["id"])["count"] == 1
    assert api.list_by_id(l2["id"])["count"] == 0
    r = api.post("/contacts", {"email": email,
                               "addToLists": [l1["id"], l2["id"]]})
    assert r.json["listsUpdated"] == 1, r


def test_list_of_another_org_is_unknown(api, api_b):
    theirs = api_b.new_list()
    email = uniq_email()
    r = api.post("/contacts", {"email": email, "addToLists": [theirs["id"]]})
    err = assert_error(r, 422, "unknown_list")
    assert theirs["id"] in err["message"]
    assert api.find(email) == []
    assert api_b.list_by_id(theirs["id"])["count"] == 0
    assert api_b.find(email) == []


@pytest.mark.parametrize("n", [101, 150])
def test_more_than_100_list_ids(api, n):
    lst = api.new_list()
    email = uniq_email()
    r = api.post("/contacts", {"email": email, "addToLists": [lst["id"]] * n})
    assert_error(r, 422, "invalid_field", field="addToLists")
    assert api.find(email) == []
    assert api.list_by_id(lst["id"])["count"] == 0
