"""POST /contacts/bulk (API.md, "Bulk upsert"): rows applied in order in one
transaction, refused rows reported and skipped, IMPORT_NOOP rows not
written at all."""
import json

import stack
from conftest import assert_contact, assert_error, request, uniq_email


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
