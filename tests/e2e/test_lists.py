"""POST /lists and GET /lists."""

import json

import pytest

from conftest import (assert_error, assert_json, assert_list, next_link,
                      uniq_email, uniq_name)


def test_create_list_defaults(api):
    name = uniq_name("list")
    r = api.post("/lists", {"name": name})
    assert r.status == 201, r
    assert_json(r)
    assert set(r.json) == {"list"}, r
    lst = r.json["list"]
    assert_list(lst)
    assert lst["name"] == name
    assert lst["type"] == "customer"
    assert lst["count"] == 0
    assert lst["source"] == "list"
    assert lst["deleted_at"] is None
    assert lst["created_at"] <= lst["updated_at"]


@pytest.mark.parametrize("type_", ["customer", "employee"])
def test_create_list_with_type(api, type_):
    lst = api.new_list(type=type_)
    assert lst["type"] == type_
    assert api.lists() == [lst]


def test_list_name_edges(api):
    for name in ("x" * 255, "é" * 255, "😀" * 255, "", "Ünïcødé ✓ 東京",
                 "  spaced  "):
        lst = api.new_list(name=name)
        assert lst["name"] == name
    assert [lst["name"] for lst in api.lists()][-1] == "  spaced  "


def test_list_names_need_not_be_unique(api):
    a = api.new_list(name="Same")
    b = api.new_list(name="Same")
    assert a["id"] != b["id"]
    assert [lst["id"] for lst in api.lists()] == [a["id"], b["id"]]


def test_list_ids_unique(api):
    got = {api.new_list()["id"] for _ in range(10)}
    assert len(got) == 10


# --------------------------------------------------------------------------
# POST /lists refusals (nothing written)


BAD_LISTS = [
    ("missing-name", {}, 422, "missing_field", "name"),
    ("missing-name-with-type", {"type": "employee"}, 422, "missing_field",
     "name"),
    ("name-256", {"name": "x" * 256}, 422, "invalid_field", "name"),
    ("name-256-utf8", {"name": "é" * 256}, 422, "invalid_field", "name"),
    ("name-number", {"name": 5}, 422, "invalid_field", "name"),
    ("name-array", {"name": ["a"]}, 422, "invalid_field", "name"),
    ("name-object", {"name": {}}, 422, "invalid_field", "name"),
    ("name-bool", {"name": True}, 422, "invalid_field", "name"),
    ("type-boss", {"name": "a", "type": "boss"}, 422, "invalid_field",
     "type"),
    ("type-upper", {"name": "a", "type": "EMPLOYEE"}, 422, "invalid_field",
     "type"),
    ("type-number", {"name": "a", "type": 3}, 422, "invalid_field", "type"),
    ("unknown-field", {"name": "a", "color": "red"}, 422, "unknown_field",
     "color"),
    ("unknown-id", {"name": "a", "id": "AAAAAAAAA"}, 422, "unknown_field",
     "id"),
    ("unknown-count", {"name": "a", "count": 5}, 422, "unknown_field",
     "count"),
]


@pytest.mark.parametrize("case,body,status,code,field", BAD_LISTS,
                         ids=[c[0] for c in BAD_LISTS])
def test_bad_list(api, case, body, status, code, field):
    r = api.post("/lists", body)
    assert_error(r, status, code, field=field)
    assert api.lists() == []


def test_null_name(api):
    r = api.post("/lists", {"name": None})
    err = assert_error(r, 422, field="name")
    assert err["code"] in ("missing_field", "invalid_field")
    assert api.lists() == []


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"name"', b"42",
                                  b"null", b'{"name":"a"} x',
                                  b'{"name":"\xff"}', b'{"name":"\xc3"}'])
def test_list_not_json_object(api, body):
    r = api.post("/lists", body)
    assert_error(r, 400, "invalid_json", field=None)
    assert api.lists() == []


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/xml"])
def test_list_unsupported_media_type(api, ctype):
    r = api.post("/lists", json.dumps({"name": "x"}),
                 headers={"Content-Type": ctype})
    assert_error(r, 415, "unsupported_media_type", field=None)
    assert api.lists() == []


def test_list_json_charset_accepted(api):
    r = api.post("/lists", json.dumps({"name": "x"}),
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 201, r


# --------------------------------------------------------------------------
# GET /lists


def test_get_lists_empty(api):
    r = api.get("/lists")
    assert r.status == 200, r
    assert_json(r)
    assert r.json == {"lists": []}
    assert r.header("Link") is None, r


def test_get_lists_creation_order(api):
    made = [api.new_list(name="L%d" % i,
                         type=("employee" if i % 2 else None))
            for i in range(6)]
    assert api.lists() == made


def test_get_lists_offset_limit(api):
    made = [api.new_list()["id"] for _ in range(5)]
    got = lambda **p: [lst["id"] for lst in api.lists(**p)]  # noqa: E731
    assert got(offset=1, limit=2) == made[1:3]
    assert got(offset=4) == made[4:]
    assert got(offset=5) == []
    assert got(limit=1) == made[:1]
    assert got(limit=1000) == made


def test_get_lists_link(api):
    made = [api.new_list()["id"] for _ in range(5)]
    r = api.get("/lists?limit=2")
    assert r.status == 200, r
    assert r.header("Link") == '</lists?offset=2&limit=2>; rel="next"', r
    seen = [lst["id"] for lst in r.json["lists"]]
    path = next_link(r)
    for _ in range(5):
        if path is None:
            break
        r = api.get(path)
        assert r.status == 200, r
        seen.extend(lst["id"] for lst in r.json["lists"])
        path = next_link(r)
    assert seen == made
    assert api.get("/lists?offset=4&limit=2").header("Link") is None


def test_get_lists_type_filter(api):
    c1 = api.new_list(type="customer")
    e1 = api.new_list(type="employee")
    c2 = api.new_list()
    e2 = api.new_list(type="employee")
    assert api.lists(type="customer") == [c1, c2]
    assert api.lists(type="employee") == [e1, e2]
    assert api.lists() == [c1, e1, c2, e2]
    assert [x["id"] for x in api.lists(type="employee", offset=1)] == \
        [e2["id"]]


def test_get_lists_type_filter_link(api):
    api.new_list(type="customer")
    e = [api.new_list(type="employee")["id"] for _ in range(3)]
    r = api.get("/lists?type=employee&limit=2")
    assert r.status == 200, r
    assert [x["id"] for x in r.json["lists"]] == e[:2]
    link = next_link(r)
    assert link is not None and link.startswith("/lists?"), r
    assert "type=employee" in link, link
    r = api.get(link)
    assert [x["id"] for x in r.json["lists"]] == e[2:]


BAD_LIST_PARAMS = [
    ("type=boss", "type"),
    ("type=", "type"),
    ("type=Customer", "type"),
    ("type=customer&type=employee", "type"),
    ("offset=abc", "offset"),
    ("offset=-1", "offset"),
    ("offset=1.5", "offset"),
    ("offset=2147483648", "offset"),
    ("limit=0", "limit"),
    ("limit=1001", "limit"),
    ("limit=x", "limit"),
    ("limit=1&limit=2", "limit"),
]


@pytest.mark.parametrize("query,field", BAD_LIST_PARAMS,
                         ids=[q for q, _ in BAD_LIST_PARAMS])
def test_get_lists_bad_params(mod_api, query, field):
    r = mod_api.get("/lists?" + query)
    assert_error(r, 400, "invalid_parameter", field=field)


def test_get_lists_unknown_params_ignored(api):
    lst = api.new_list()
    r = api.get("/lists?foo=bar&includeAll=whatever")
    assert r.status == 200, r
    assert r.json == {"lists": [lst]}


def test_count_in_get_lists(api):
    lst = api.new_list()
    other = api.new_list()
    for _ in range(3):
        api.upsert({"email": uniq_email(), "addToLists": [lst["id"]]},
                   expect=201)
    got = {x["id"]: x["count"] for x in api.lists()}
    assert got == {lst["id"]: 3, other["id"]: 0}


def test_list_updated_at_not_before_created(api):
    lst = api.new_list()
    api.upsert({"email": uniq_email(), "addToLists": [lst["id"]]},
               expect=201)
    got = api.list_by_id(lst["id"])
    assert got["created_at"] == lst["created_at"]
    assert got["updated_at"] >= got["created_at"]
    assert got["id"] == lst["id"] and got["name"] == lst["name"]
