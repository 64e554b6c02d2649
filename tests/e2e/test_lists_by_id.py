"""Lists by id and their members, from the contract (API.md "Round 2",
"Lists"; the lead's decisions): GET/PATCH/DELETE /lists/{id}, what a
deleted list refuses, GET /lists/{id}/contacts (the order members were
added, paging, Link, includeAll), removeFromLists and the counts.
"""

import time

import pytest

from conftest import assert_error, assert_list, next_link, uniq_name


def ids(cs):
    return [c["id"] for c in cs]


def member_ids(api, lid, **params):
    return ids(api.members(lid, **params))


def walk(api, path, max_pages=100):
    """(ids, links) following rel=next from PATH."""
    got, links = [], []
    for _ in range(max_pages):
        r = api.get(path)
        assert r.status == 200, r
        assert set(r.json) == {"contacts"}, r
        got += ids(r.json["contacts"])
        path = next_link(r)
        if path is None:
            return got, links
        links.append(path)
    pytest.fail("too many pages")


# --------------------------------------------------------------------------
# GET /lists/{id}


def test_create_has_location_and_get_by_id(api):
    name = uniq_name("L")
    r = api.post("/lists", {"name": name, "type": "employee"})
    assert r.status == 201, r
    lst = r.json["list"]
    assert_list(lst)
    assert r.header("Location") == "/lists/" + lst["id"], r
    assert (lst["name"], lst["type"], lst["count"], lst["deleted_at"]) == \
        (name, "employee", 0, None)
    got = api.get("/lists/" + lst["id"])
    assert got.status == 200 and got.json == {"list": lst}, got
    assert api.list_by_id(lst["id"]) == lst


@pytest.mark.parametrize("bad", ["ZZZZZZZZZ", "abc", "abcdefghij",
                                 "abcd-fghi", "%C3%A9bcdefgh"])
def test_unknown_list(api, bad):
    api.new_list()
    for m, body in (("GET", None), ("PATCH", {"name": "x"}),
                    ("DELETE", None)):
        assert_error(api.request(m, "/lists/" + bad, body=body), 404,
                     "not_found")
    assert_error(api.get("/lists/%s/contacts" % bad), 404, "not_found")


def test_another_organizations_list(api, api_b):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    assert_error(api_b.get("/lists/" + lst["id"]), 404, "not_found")
    assert_error(api_b.request("PATCH", "/lists/" + lst["id"],
                               body={"name": "stolen"}), 404, "not_found")
    assert_error(api_b.request("DELETE", "/lists/" + lst["id"]), 404,
                 "not_found")
    assert_error(api_b.get("/lists/%s/contacts" % lst["id"]), 404,
                 "not_found")
    # B cannot add to it or take from it either
    assert_error(api_b.post("/contacts", {"email": c["email"],
                                          "addToLists": [lst["id"]]}),
                 422, "unknown_list", "addToLists")
    assert_error(api_b.post("/contacts", {"email": c["email"],
                                          "removeFromLists": [lst["id"]]}),
                 422, "unknown_list", "removeFromLists")
    assert api_b.all_contacts_all() == []
    got = api.get_list(lst["id"])
    assert (got["name"], got["count"], got["deleted_at"]) == \
        (lst["name"], 1, None)


# --------------------------------------------------------------------------
# PATCH /lists/{id}


def test_patch_list(api):
    lst = api.new_list(name="Before")
    c = api.create(addToLists=[lst["id"]])
    time.sleep(0.002)
    r = api.request("PATCH", "/lists/" + lst["id"], body={"name": "After"})
    assert r.status == 200 and set(r.json) == {"list"}, r
    p = r.json["list"]
    assert_list(p)
    assert (p["id"], p["name"], p["type"], p["count"], p["created_at"]) == \
        (lst["id"], "After", "customer", 1, lst["created_at"])
    assert p["updated_at"] > lst["updated_at"]
    assert api.get_list(lst["id"]) == p
    r = api.request("PATCH", "/lists/" + lst["id"], body={"type": "employee"})
    assert r.status == 200, r
    assert (r.json["list"]["name"], r.json["list"]["type"]) == \
        ("After", "employee")
    r = api.request("PATCH", "/lists/" + lst["id"],
                    body={"name": "Both", "type": "customer"})
    assert r.status == 200, r
    assert (r.json["list"]["name"], r.json["list"]["type"]) == \
        ("Both", "customer")
    assert api.list_by_id(lst["id"]) == r.json["list"]
    assert api.lists(type="customer") == [r.json["list"]]
    # its members are untouched
    assert member_ids(api, lst["id"]) == [c["id"]]
    assert api.get_contact(c["id"]) == c


@pytest.mark.parametrize("body,status,code,field", [
    ({"name": None}, 422, "invalid_field", "name"),
    ({"name": 5}, 422, "invalid_field", "name"),
    ({"name": "x" * 256}, 422, "invalid_field", "name"),
    ({"type": "boss"}, 422, "invalid_field", "type"),
    ({"type": "Customer"}, 422, "invalid_field", "type"),
    ({"type": 1}, 422, "invalid_field", "type"),
    ({"name": "ok", "type": "boss"}, 422, "invalid_field", "type"),
    ({"count": 5}, 422, "unknown_field", "count"),
    ({"name": "ok", "id": "ZZZZZZZZZ"}, 422, "unknown_field", "id"),
])
def test_patch_list_refusals_write_nothing(api, body, status, code, field):
    lst = api.new_list(name="Kept")
    before = api.lists()
    r = api.request("PATCH", "/lists/" + lst["id"], body=body)
    assert_error(r, status, code, field)
    assert api.lists() == before
    assert api.get_list(lst["id"]) == lst


@pytest.mark.parametrize("raw,ctype,status,code", [
    (b"{", "application/json", 400, "invalid_json"),
    (b"[]", "application/json", 400, "invalid_json"),
    (b'{"name":"x"}', "text/plain", 415, "unsupported_media_type"),
])
def test_patch_list_malformed_body(api, raw, ctype, status, code):
    lst = api.new_list()
    r = api.request("PATCH", "/lists/" + lst["id"], body=raw,
                    headers={"Content-Type": ctype})
    assert_error(r, status, code)
    assert api.get_list(lst["id"]) == lst


def test_patch_list_name_255(api):
    lst = api.new_list()
    r = api.request("PATCH", "/lists/" + lst["id"], body={"name": "é" * 255})
    assert r.status == 200 and r.json["list"]["name"] == "é" * 255, r


# --------------------------------------------------------------------------
# DELETE /lists/{id}


def test_delete_list(api):
    lst = api.new_list()
    other = api.new_list()
    c = api.create(addToLists=[lst["id"], other["id"]])
    time.sleep(0.002)
    r = api.request("DELETE", "/lists/" + lst["id"])
    assert r.status == 200 and set(r.json) == {"list"}, r
    d = r.json["list"]
    assert_list(d)
    assert d["id"] == lst["id"] and d["name"] == lst["name"]
    assert d["deleted_at"] is not None and d["deleted_at"] >= lst["created_at"]
    # GET /lists/{id} still shows it; GET /lists does not
    assert api.get_list(lst["id"]) == d
    assert [x["id"] for x in api.lists()] == [other["id"]]
    # deleting again: unchanged
    time.sleep(0.002)
    r = api.request("DELETE", "/lists/" + lst["id"])
    assert r.status == 200 and r.json == {"list": d}, r
    # PATCH and its members: 404
    assert_error(api.request("PATCH", "/lists/" + lst["id"],
                             body={"name": "z"}), 404, "not_found")
    assert_error(api.get("/lists/%s/contacts" % lst["id"]), 404, "not_found")
    assert_error(api.get("/lists/%s/contacts" % lst["id"],
                         params={"includeAll": "true"}), 404, "not_found")
    assert api.get_list(lst["id"]) == d
    # the contact and its other list are untouched
    assert api.get_contact(c["id"]) == c
    assert api.get_list(other["id"])["count"] == 1


@pytest.mark.parametrize("how", ["post-add", "post-remove", "patch-add",
                                 "patch-remove", "post-create-add"])
def test_deleted_list_refused_in_writes(api, how):
    gone = api.new_list()
    live = api.new_list()
    c = api.create(addToLists=[gone["id"]])
    assert api.request("DELETE", "/lists/" + gone["id"]).status == 200
    before = api.state()
    arr = "addToLists" if how.endswith("add") else "removeFromLists"
    body = {arr: [live["id"], gone["id"]], "name": "not written"}
    if arr == "removeFromLists":
        body["addToLists"] = []
    if how.startswith("post-create"):
        email = "new-" + c["email"]
        r = api.post("/contacts", dict(body, email=email))
    elif how.startswith("post"):
        r = api.post("/contacts", dict(body, email=c["email"]))
    else:
        r = api.request("PATCH", "/contacts/" + c["id"], body=body)
    err = assert_error(r, 422, "unknown_list", arr)
    assert gone["id"] in err["message"], err
    assert live["id"] not in err["message"], err
    assert api.state() == before


# --------------------------------------------------------------------------
# GET /lists/{id}/contacts


def test_members_in_the_order_added(api):
    lst = api.new_list()
    cs = [api.create() for _ in range(6)]
    order = [cs[4], cs[1], cs[5], cs[0], cs[2]]
    for c in order:
        got = api.upsert({"email": c["email"], "addToLists": [lst["id"]]},
                         expect=200)
        assert got["listsUpdated"] == 1
    assert member_ids(api, lst["id"]) == ids(order)
    # added again while on it: no change of place
    got = api.upsert({"email": cs[4]["email"],
                      "addToLists": [lst["id"], lst["id"]]}, expect=200)
    assert got["listsUpdated"] == 0
    got = api.patch(cs[1]["id"], {"addToLists": [lst["id"]]})
    assert got["listsUpdated"] == 0
    assert member_ids(api, lst["id"]) == ids(order)
    # removed and added again: goes last (POST and PATCH)
    got = api.patch(cs[4]["id"], {"removeFromLists": [lst["id"]]})
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 1)
    assert member_ids(api, lst["id"]) == ids([cs[1], cs[5], cs[0], cs[2]])
    api.patch(cs[4]["id"], {"addToLists": [lst["id"]]})
    got = api.upsert({"email": cs[5]["email"],
                      "removeFromLists": [lst["id"]]}, expect=200)
    assert got["listsRemoved"] == 1
    api.upsert({"email": cs[5]["email"], "addToLists": [lst["id"]]},
               expect=200)
    want = [cs[1], cs[0], cs[2], cs[4], cs[5]]
    assert member_ids(api, lst["id"]) == ids(want)
    # deleting and restoring keeps the place
    api.delete(cs[0]["id"])
    assert member_ids(api, lst["id"]) == ids([cs[1], cs[2], cs[4], cs[5]])
    assert member_ids(api, lst["id"], includeAll="true") == ids(want)
    api.upsert({"email": cs[0]["email"]}, expect=200)
    assert member_ids(api, lst["id"]) == ids(want)
    assert api.get_list(lst["id"])["count"] == 5
    # a member is the full contact object, like GET /contacts/{id}
    for m in api.members(lst["id"]):
        assert m == api.get_contact(m["id"])


def test_members_paging_and_link(api):
    lst = api.new_list()
    cs = [api.create(addToLists=[lst["id"]]) for _ in range(7)]
    every = ids(cs)
    base = "/lists/%s/contacts" % lst["id"]
    for limit in (1, 2, 3, 7, 8):
        got, links = walk(api, "%s?limit=%d" % (base, limit))
        assert got == every, limit
        assert links == ["%s?offset=%d&limit=%d" % (base, limit * k, limit)
                         for k in range(1, 7 // limit + 1)], links
    for off in range(9):
        r = api.get(base, params={"offset": off, "limit": 3})
        assert r.status == 200, r
        assert ids(r.json["contacts"]) == every[off:off + 3], off
        full = len(every[off:off + 3]) == 3
        assert (r.header("Link") is not None) == full, (off, r)
        if full:
            assert next_link(r) == "%s?offset=%d&limit=3" % (base, off + 3)
    # the default page: all of them, no Link (a partial page)
    r = api.get(base)
    assert ids(r.json["contacts"]) == every and r.header("Link") is None, r
    # a full last page carries a Link to an empty page without one
    r = api.get(base, params={"offset": 4, "limit": 3})
    assert next_link(r) == "%s?offset=7&limit=3" % base
    r = api.get(next_link(r))
    assert r.json == {"contacts": []} and r.header("Link") is None, r


def test_members_offsets_with_deleted_members(api):
    lst = api.new_list()
    cs = [api.create(addToLists=[lst["id"]]) for _ in range(9)]
    for i in (0, 3, 4, 8):
        api.delete(cs[i]["id"])
    shown = [c["id"] for i, c in enumerate(cs) if i not in (0, 3, 4, 8)]
    every = ids(cs)
    base = "/lists/%s/contacts" % lst["id"]
    for limit in (1, 2, 4):
        got, links = walk(api, "%s?limit=%d" % (base, limit))
        assert got == shown
        assert links == ["%s?offset=%d&limit=%d" % (base, limit * k, limit)
                         for k in range(1, len(shown) // limit + 1)], links
        got, links = walk(api, "%s?limit=%d&includeAll=true" % (base, limit))
        assert got == every
        assert links == ["%s?offset=%d&limit=%d&includeAll=true"
                         % (base, limit * k, limit)
                         for k in range(1, len(every) // limit + 1)], links
    for off in range(len(shown) + 1):
        r = api.get(base, params={"offset": off, "limit": 2})
        assert ids(r.json["contacts"]) == shown[off:off + 2], off
        r = api.get(base, params={"offset": off, "limit": 2,
                                  "includeAll": "true"})
        assert ids(r.json["contacts"]) == every[off:off + 2], off
    assert api.get_list(lst["id"])["count"] == len(shown)


def test_members_include_all_shows_deleted_never_erased(api):
    lst = api.new_list()
    a, b, c = [api.create(addToLists=[lst["id"]]) for _ in range(3)]
    d = api.delete(a["id"])
    api.erase(b["id"])
    r = api.get("/lists/%s/contacts" % lst["id"],
                params={"includeAll": "true"})
    assert r.json["contacts"] == [d, c], r
    r = api.get("/lists/%s/contacts" % lst["id"],
                params={"includeAll": "false"})
    assert r.json["contacts"] == [c], r
    assert api.get_list(lst["id"])["count"] == 1


@pytest.mark.parametrize("param,value", [
    ("offset", "abc"), ("offset", "-1"), ("offset", "1.5"),
    ("offset", "2147483648"), ("offset", ""), ("limit", "0"),
    ("limit", "1001"), ("limit", "x"), ("limit", "-5"),
    ("includeAll", "maybe"), ("includeAll", "1"), ("includeAll", ""),
])
def test_members_parameters_refused(api, param, value):
    lst = api.new_list()
    api.create(addToLists=[lst["id"]])
    r = api.get("/lists/%s/contacts" % lst["id"], params={param: value})
    assert_error(r, 400, "invalid_parameter", param)


def test_members_unknown_parameters_ignored(api):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    r = api.get("/lists/%s/contacts" % lst["id"], params={"foo": "bar"})
    assert r.status == 200 and ids(r.json["contacts"]) == [c["id"]], r


def test_empty_list_members(api):
    lst = api.new_list()
    r = api.get("/lists/%s/contacts" % lst["id"])
    assert r.status == 200 and r.json == {"contacts": []}, r
    assert r.header("Link") is None


# --------------------------------------------------------------------------
# removeFromLists and the counts


def test_remove_from_lists_semantics(api):
    a, b, c = api.new_list(), api.new_list(), api.new_list()
    x = api.create(addToLists=[a["id"], b["id"]])
    y = api.create(addToLists=[a["id"]])
    counts = lambda: [api.get_list(l["id"])["count"] for l in (a, b, c)]  # noqa: E731
    assert counts() == [2, 1, 0]
    # from a list it is not on: 0
    got = api.upsert({"email": x["email"], "removeFromLists": [c["id"]]},
                     expect=200)
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 0)
    # repeated ids count once
    got = api.upsert({"email": x["email"],
                      "removeFromLists": [a["id"], a["id"], c["id"]]},
                     expect=200)
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 1)
    assert counts() == [1, 1, 0]
    assert member_ids(api, a["id"]) == [y["id"]]
    # add and remove in one PATCH
    got = api.patch(x["id"], {"addToLists": [a["id"], c["id"]],
                              "removeFromLists": [b["id"]]})
    assert (got["listsUpdated"], got["listsRemoved"]) == (2, 1)
    assert counts() == [2, 0, 1]
    # again: nothing more to do
    got = api.patch(x["id"], {"addToLists": [a["id"], c["id"]],
                              "removeFromLists": [b["id"]]})
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 0)
    # a new contact with removeFromLists: nothing to remove
    r = api.post("/contacts", {"email": "n-" + x["email"],
                               "removeFromLists": [a["id"]]})
    assert r.status == 201, r
    assert (r.json["listsUpdated"], r.json["listsRemoved"]) == (0, 0)
    assert counts() == [2, 0, 1]
    # an empty array is fine (a PATCH that changes nothing answers like
    # any PATCH)
    got = api.upsert({"email": x["email"], "removeFromLists": []},
                     expect=200)
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 0)
    got = api.patch(x["id"], {"removeFromLists": []})
    assert (got["listsUpdated"], got["listsRemoved"]) == (0, 0)
    assert counts() == [2, 0, 1]


def test_remove_a_deleted_member(api):
    lst = api.new_list()
    x = api.create(addToLists=[lst["id"]])
    y = api.create(addToLists=[lst["id"]])
    api.delete(x["id"])
    assert api.get_list(lst["id"])["count"] == 1
    got = api.patch(x["id"], {"removeFromLists": [lst["id"]]})
    assert got["listsRemoved"] == 1
    assert got["contact"]["status"] == "deleted"
    assert api.get_list(lst["id"])["count"] == 1
    assert member_ids(api, lst["id"], includeAll="true") == [y["id"]]
    # restored, it is not on the list any more
    api.upsert({"email": x["email"]}, expect=200)
    assert api.get_list(lst["id"])["count"] == 1
    assert member_ids(api, lst["id"]) == [y["id"]]


def test_add_a_deleted_contact_to_a_list(api):
    lst = api.new_list()
    x = api.create()
    api.delete(x["id"])
    got = api.patch(x["id"], {"addToLists": [lst["id"]]})
    assert got["listsUpdated"] == 1
    assert got["contact"]["status"] == "deleted"
    assert api.get_list(lst["id"])["count"] == 0
    assert member_ids(api, lst["id"]) == []
    assert member_ids(api, lst["id"], includeAll="true") == [x["id"]]
    api.patch(x["id"], {"status": "active"})
    assert api.get_list(lst["id"])["count"] == 1


@pytest.mark.parametrize("where", ["post", "post-new", "patch"])
def test_list_in_both_arrays(api, where):
    a, b = api.new_list(), api.new_list()
    x = api.create(addToLists=[b["id"]])
    before = api.state()
    body = {"addToLists": [a["id"], b["id"]], "removeFromLists": [b["id"]],
            "name": "not written"}
    if where == "post":
        r = api.post("/contacts", dict(body, email=x["email"]))
    elif where == "post-new":
        r = api.post("/contacts", dict(body, email="n-" + x["email"]))
    else:
        r = api.request("PATCH", "/contacts/" + x["id"], body=body)
    assert_error(r, 422, "invalid_field", "removeFromLists")
    assert api.state() == before


@pytest.mark.parametrize("value", ["abc", {}, 1, True, [1], [None], [["x"]],
                                   ["AAAAAAAAA"] * 101])
def test_remove_from_lists_malformed(api, value):
    lst = api.new_list()
    x = api.create(addToLists=[lst["id"]])
    before = api.state()
    r = api.post("/contacts", {"email": x["email"], "removeFromLists": value})
    assert_error(r, 422, "invalid_field", "removeFromLists")
    r = api.request("PATCH", "/contacts/" + x["id"],
                    body={"removeFromLists": value})
    assert_error(r, 422, "invalid_field", "removeFromLists")
    assert api.state() == before


def test_remove_from_lists_unknown_names_the_ids(api):
    lst = api.new_list()
    x = api.create(addToLists=[lst["id"]])
    before = api.state()
    r = api.post("/contacts", {"email": x["email"],
                               "removeFromLists": [lst["id"], "ZZZZZZZZ1",
                                                   "ZZZZZZZZ2"]})
    err = assert_error(r, 422, "unknown_list", "removeFromLists")
    assert "ZZZZZZZZ1" in err["message"] and "ZZZZZZZZ2" in err["message"]
    assert api.state() == before


def test_remove_from_lists_100_is_fine(api):
    lst = api.new_list()
    x = api.create(addToLists=[lst["id"]])
    got = api.upsert({"email": x["email"],
                      "removeFromLists": [lst["id"]] * 100}, expect=200)
    assert got["listsRemoved"] == 1
    assert api.get_list(lst["id"])["count"] == 0


def test_counts_follow_every_change(api):
    a, b = api.new_list(), api.new_list()
    cs = [api.create(addToLists=[a["id"]]) for _ in range(4)]

    def counts():
        return (api.get_list(a["id"])["count"], api.get_list(b["id"])["count"])

    assert counts() == (4, 0)
    api.delete(cs[0]["id"])
    assert counts() == (3, 0)
    api.delete(cs[0]["id"])                       # again: no change
    assert counts() == (3, 0)
    api.patch(cs[1]["id"], {"addToLists": [b["id"]]})
    assert counts() == (3, 1)
    api.patch(cs[1]["id"], {"status": "unsubscribed"})   # still counted
    assert counts() == (3, 1)
    api.delete(cs[1]["id"])
    assert counts() == (2, 0)
    api.upsert({"email": cs[1]["email"]}, expect=200)    # restored
    assert counts() == (3, 1)
    api.erase(cs[2]["id"])
    assert counts() == (2, 1)
    api.erase(cs[0]["id"])                        # a deleted one
    assert counts() == (2, 1)
    api.patch(cs[3]["id"], {"status": "error"})
    assert counts() == (2, 1)
    assert [x["count"] for x in api.lists()] == [2, 1]
    assert len(api.members(a["id"])) == 2 and len(api.members(b["id"])) == 1


def test_get_lists_offsets_skip_deleted_lists(api):
    ls = [api.new_list(type="employee" if i % 2 else "customer")
          for i in range(6)]
    for i in (1, 2, 4):
        assert api.request("DELETE", "/lists/" + ls[i]["id"]).status == 200
    shown = [ls[i]["id"] for i in (0, 3, 5)]
    assert [x["id"] for x in api.lists()] == shown
    for off in range(4):
        for limit in (1, 2):
            assert [x["id"] for x in api.lists(offset=off, limit=limit)] == \
                shown[off:off + limit], (off, limit)
    assert [x["id"] for x in api.lists(type="employee")] == \
        [ls[3]["id"], ls[5]["id"]]
    assert [x["id"] for x in api.lists(type="customer")] == [ls[0]["id"]]
