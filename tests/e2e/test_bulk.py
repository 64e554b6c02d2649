"""POST /contacts/bulk (API.md, "Bulk upsert"): rows applied in order in one
transaction, refused rows reported and skipped, IMPORT_NOOP rows not
written at all."""
import json
import threading
import time

import pytest

import stack
from conftest import assert_contact, assert_error, request, uniq_email
from test_states import sql  # noqa: F401  (the psql fixture)


def bulk(api, rows, status=200):
    r = api.post("/contacts/bulk", {"contacts": rows})
    assert r.status == status, r
    if status != 200:
        return r
    j = r.json
    assert set(j) == {"results", "created", "updated", "unchanged", "failed"}, r
    assert [x["index"] for x in j["results"]] == list(range(len(rows)))
    for x in j["results"]:
        if "error" in x:
            assert set(x) == {"index", "error"}, x
        else:
            assert set(x) == {"index", "action", "contact", "listsUpdated",
                              "listsRemoved"}, x
            assert_contact(x["contact"])
    return j


def test_rows_in_order_with_per_row_results(api):
    lst = api.new_list()
    old = api.create(name="old")
    e1, e2 = uniq_email(), uniq_email()
    j = bulk(api, [
        {"email": e1, "name": "one", "addToLists": [lst["id"]]},
        {"email": old["email"], "name": "renamed"},
        {"email": "not-an-email"},
        {"email": e2, "addToLists": ["ZZZZZZZZZ"]},
        {"email": e1.upper(), "phone": "123"},   # sees the first row
        {"email": uniq_email(), "bogus": 1},
        "not an object",
    ])
    res = j["results"]
    assert res[0]["action"] == "IMPORT_CREATE" and res[0]["listsUpdated"] == 1
    assert res[1]["action"] == "IMPORT_UPDATE"
    assert res[1]["contact"]["name"] == "renamed"
    assert res[2]["error"]["code"] == "invalid_field"
    assert res[2]["error"]["field"] == "email"
    assert res[3]["error"]["code"] == "unknown_list"
    assert res[3]["error"]["field"] == "addToLists"
    assert res[4]["action"] == "IMPORT_UPDATE"
    assert res[4]["contact"]["id"] == res[0]["contact"]["id"]
    assert res[4]["contact"]["phone"] == "123"
    assert res[5]["error"]["code"] == "unknown_field"
    assert res[6]["error"]["code"] == "invalid_field"
    assert (j["created"], j["updated"], j["unchanged"], j["failed"]) == (1, 2, 0, 4)
    # what was refused wrote nothing; what was accepted is there
    assert api.find(e2) == []
    assert api.one(e1)["phone"] == "123"
    assert api.one(old["email"])["name"] == "renamed"
    assert api.list_by_id(lst["id"])["count"] == 1


def test_noop_rows_are_not_written(api):
    lst = api.new_list()
    a = api.create(name="same", addToLists=[lst["id"]])
    j = bulk(api, [{"email": a["email"], "name": "same", "addToLists": [lst["id"]]},
                   {"email": a["email"].upper()}])
    assert [x["action"] for x in j["results"]] == ["IMPORT_NOOP", "IMPORT_NOOP"]
    assert j["unchanged"] == 2
    assert j["results"][0]["contact"] == a
    got = api.one(a["email"])
    assert got["updated_at"] == a["updated_at"] and got["last_action"] is None
    # no change recorded for them
    feed = api.get("/contacts/changes").json["changes"]
    assert [c["op"] for c in feed if c["id"] == a["id"]] == ["create"]
    # a real change is an update
    j = bulk(api, [{"email": a["email"], "name": "different"}])
    assert j["results"][0]["action"] == "IMPORT_UPDATE"
    # a deleted contact comes back: not a no-op
    assert api.request("DELETE", "/contacts/" + a["id"]).status == 200
    j = bulk(api, [{"email": a["email"], "name": "different"}])
    assert j["results"][0]["action"] == "IMPORT_UPDATE"
    assert j["results"][0]["contact"]["status"] == "active"


def test_suppressed_row_is_refused(api):
    c = api.create()
    assert api.request("DELETE", "/contacts/%s?erase=true&suppress=true"
                       % c["id"]).status == 204
    j = bulk(api, [{"email": c["email"]}, {"email": uniq_email()}])
    assert j["results"][0]["error"]["code"] == "suppressed"
    assert j["results"][1]["action"] == "IMPORT_CREATE"


def test_body_refusals(api):
    assert_error(api.post("/contacts/bulk", {"contacts": []}), 422,
                 "invalid_field", "contacts")
    assert_error(api.post("/contacts/bulk", {}), 422, "missing_field", "contacts")
    assert_error(api.post("/contacts/bulk", {"contacts": [], "x": 1}), 422,
                 "unknown_field", "x")
    rows = [{"email": "r%d@example.com" % i} for i in range(1001)]
    assert_error(api.post("/contacts/bulk", {"contacts": rows}), 422,
                 "invalid_field", "contacts")
    assert api.find("r0@example.com") == []
    assert_error(api.post("/contacts/bulk", b"[1]"), 400, "invalid_json")
    assert_error(api.post("/contacts/bulk", b"{}", headers={"Content-Type": "text/plain"}),
                 415)


def test_up_to_4_mib(api):
    # 1000 rows of about 4 KB: a body a little under 4 MiB is accepted
    rows = [{"email": uniq_email("big"), "company": "c" * 255, "name": "n" * 255,
             "eid": "e" * 255, "phone": "1" * 64,
             "addToLists": ["x%08d" % k for k in range(0)]}
            for _ in range(1000)]
    body = json.dumps({"contacts": rows}).encode()
    pad = 4 * 1024 * 1024 - len(body) - 16
    body = body[:-1] + b" " * pad + b"}"
    assert len(body) <= 4 * 1024 * 1024
    r = api.post("/contacts/bulk", body)
    assert r.status == 200, r
    assert r.json["created"] == 1000
    too_big = body[:-1] + b" " * 100 + b"}"
    r = api.post("/contacts/bulk", too_big)
    assert_error(r, 413)
    # the single endpoint keeps its 64 KiB
    r = api.post("/contacts", b'{"email":"a@example.com","name":"' + b"x" * 70000 + b'"}')
    assert_error(r, 413)


def test_read_your_writes_after_bulk(api):
    assert stack.redis_answers()
    a = api.create(name="before")
    for _ in range(2):
        api.find(a["email"])
        api.page()
    e = uniq_email()
    bulk(api, [{"email": a["email"], "name": "after"}, {"email": e}])
    assert api.one(a["email"])["name"] == "after"
    assert [c["email"] for c in api.page().json["contacts"]] == [a["email"], e]


# --------------------------------------------------------------------------
# The set-based pass (schema/009_bulk_set.sql): plain rows, each email once


def test_plain_rows_create_update_noop_in_order(api):
    """A request of plain rows takes the set-based pass: creates get the
    next positions in request order, updates and IMPORT_NOOP as the loop
    gives them."""
    old = api.create(name="same", phone="1")
    changed = api.create(name="before")
    news = [uniq_email() for _ in range(5)]
    rows = [{"email": news[0], "name": "n0"},
            {"email": old["email"], "name": "same", "phone": "1"},
            {"email": news[1], "name": "n1", "type": "employee"},
            {"email": changed["email"].upper(), "name": "after"},
            {"email": news[2]}, {"email": news[3]}, {"email": news[4]}]
    j = bulk(api, rows)
    acts = [x["action"] for x in j["results"]]
    assert acts == ["IMPORT_CREATE", "IMPORT_NOOP", "IMPORT_CREATE",
                    "IMPORT_UPDATE"] + ["IMPORT_CREATE"] * 3, acts
    assert (j["created"], j["updated"], j["unchanged"], j["failed"]) == (5, 1, 1, 0)
    assert j["results"][1]["contact"] == old  # not written: updated_at kept
    assert j["results"][3]["contact"]["id"] == changed["id"]
    assert j["results"][3]["contact"]["name"] == "after"
    assert j["results"][2]["contact"]["type"] == "employee"
    # the creation order is the request's, after what was there
    page = [c["email"] for c in api.page(limit=1000).json["contacts"]]
    made = [x["contact"]["email"] for x in j["results"]
            if x["action"] == "IMPORT_CREATE"]
    assert page[-5:] == made, (page, made)


def test_plain_rows_restore_deleted_contacts(api):
    """A deleted contact's email in a bulk brings it back, as it was before
    its deletion (unsubscribed stays unsubscribed)."""
    a = api.create(name="a")
    b = api.create(name="b")
    assert api.request("PATCH", "/contacts/%s" % b["id"],
                       {"status": "unsubscribed"}).status == 200
    for c in (a, b):
        assert api.request("DELETE", "/contacts/%s" % c["id"]).status == 200
    j = bulk(api, [{"email": a["email"]}, {"email": b["email"]}])
    assert [x["action"] for x in j["results"]] == ["IMPORT_UPDATE"] * 2
    assert [x["contact"]["status"] for x in j["results"]] == \
        ["active", "unsubscribed"]
    assert {c["id"] for c in api.page(limit=1000).json["contacts"]} >= \
        {a["id"], b["id"]}


def deadlocks(sql):
    """PostgreSQL's count of deadlocks detected in the service's database.
    A backend's counters reach the shared statistics within a second of
    its going idle (PostgreSQL 15), hence the pause."""
    time.sleep(1.5)
    return int(sql("SELECT deadlocks FROM pg_stat_database "
                   "WHERE datname = current_database()"))


@pytest.mark.parametrize("rows", ["plain", "joining a list"])
def test_concurrent_bulks_and_creates_make_one_contact_per_email(api, sql, rows):
    """Bulk requests naming the same new emails in different orders, and
    single creates of some of them, all at once: no deadlock (not even one
    that a retry hid), no error, one contact per email, exactly one
    IMPORT_CREATE per email over all the answers, one feed create per
    email.  Plain rows take the set-wise pass of contact_bulk, rows with
    addToLists the row-by-row one (schema/016)."""
    emails = [uniq_email() for _ in range(60)]
    extra = {"addToLists": [api.new_list()["id"]]} if rows != "plain" else {}
    answers, errors = [], []
    before = deadlocks(sql)

    def run(rows):
        try:
            r = api.post("/contacts/bulk", {"contacts": rows})
            if r.status != 200:
                errors.append(r)
                return
            answers.extend((x["contact"]["email"], x["action"])
                           for x in r.json["results"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def single(email):
        r = api.post("/contacts", {"email": email})
        if r.status not in (200, 201):
            errors.append(r)
        else:
            answers.append((email, r.json["action"]))

    threads = [threading.Thread(target=run,
                                args=([dict(extra, email=e) for e in order],))
               for order in (emails, emails[::-1], emails[20:] + emails[:20])]
    threads += [threading.Thread(target=single, args=(e,)) for e in emails[::7]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert deadlocks(sql) == before, "PostgreSQL detected a deadlock"
    creates = [e for e, a in answers if a == "IMPORT_CREATE"]
    assert sorted(creates) == sorted(emails), "one IMPORT_CREATE per email"
    for e in emails:
        assert len(api.find(e)) == 1, e
    ids = {api.one(e)["id"] for e in emails}
    feed = sql("SELECT contact_id FROM changes WHERE org_id = '%s' "
               "AND op = 'create'" % api.org_id).split()
    assert sorted(i for i in feed if i in ids) == sorted(ids)
