"""Custom fields, from the contract (API.md "Round 2", "Custom fields"; the
lead's decisions): POST/GET/DELETE /fields and their errors, values in
contact writes in both spellings (field_<name> and "fields": {...}), null
clears, every type's rules, the error's field spelled as the client wrote
it, atomic refusals, values in every contact object, DELETE /fields taking
the values everywhere, organizations kept apart.
"""

import json

import pytest

from conftest import TS_RE, assert_error, uniq_email


def ids(cs):
    return [c["id"] for c in cs]


TYPES = ("string", "number", "boolean", "date")


# --------------------------------------------------------------------------
# definitions


def test_define_fields(api):
    made = []
    for name, t in (("tier", "string"), ("score", "number"),
                    ("vip", "boolean"), ("since", "date"), ("a", "string"),
                    ("x" * 64, "number"), ("0_9_z", "boolean")):
        r = api.post("/fields", {"name": name, "type": t})
        assert r.status == 201, r
        assert set(r.json) == {"field"}, r
        f = r.json["field"]
        assert set(f) == {"name", "type", "created_at"}, f
        assert (f["name"], f["type"]) == (name, t)
        assert TS_RE.match(f["created_at"]), f
        assert r.header("Location") == "/fields/" + name, r
        made.append(f)
    # in creation order, the very objects
    r = api.get("/fields")
    assert r.status == 200 and r.json == {"fields": made}, r


def test_no_fields(api):
    r = api.get("/fields")
    assert r.status == 200 and r.json == {"fields": []}, r


FIELD_REFUSALS = [
    ({"type": "string"}, 422, "missing_field", "name"),
    ({"name": "x"}, 422, "missing_field", "type"),
    ({}, 422, "missing_field", None),
    ({"name": "", "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "Tier", "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "a-b", "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "a b", "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "a.b", "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "é", "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "x" * 65, "type": "string"}, 422, "invalid_field", "name"),
    ({"name": 5, "type": "string"}, 422, "invalid_field", "name"),
    ({"name": ["x"], "type": "string"}, 422, "invalid_field", "name"),
    ({"name": "x", "type": "text"}, 422, "invalid_field", "type"),
    ({"name": "x", "type": "String"}, 422, "invalid_field", "type"),
    ({"name": "x", "type": ""}, 422, "invalid_field", "type"),
    ({"name": "x", "type": None}, 422, "invalid_field", "type"),
    ({"name": "x", "type": 1}, 422, "invalid_field", "type"),
    ({"name": "x", "type": "date", "y": 1}, 422, "unknown_field", "y"),
    ({"name": "x", "type": "date", "created_at": "x"}, 422, "unknown_field",
     "created_at"),
]


@pytest.mark.parametrize("body,status,code,field", FIELD_REFUSALS,
                         ids=[json.dumps(b)[:40] for b, *_ in FIELD_REFUSALS])
def test_define_refusals_write_nothing(mod_api, body, status, code, field):
    before = mod_api.fields()
    r = mod_api.post("/fields", body)
    if field is None:
        err = assert_error(r, status, code)
        assert err.get("field") in ("name", "type"), err
    else:
        assert_error(r, status, code, field)
    assert mod_api.fields() == before


@pytest.mark.parametrize("raw,ctype,status,code", [
    (b"{", "application/json", 400, "invalid_json"),
    (b"[]", "application/json", 400, "invalid_json"),
    (b'"tier"', "application/json", 400, "invalid_json"),
    (b'{"name":"tier","type":"string"}', "text/plain", 415,
     "unsupported_media_type"),
])
def test_define_malformed_body(api, raw, ctype, status, code):
    r = api.post("/fields", raw, headers={"Content-Type": ctype})
    assert_error(r, status, code)
    assert api.fields() == []


def test_define_twice(api):
    f = api.new_field("tier", "string")
    for t in ("string", "number"):
        assert_error(api.post("/fields", {"name": "tier", "type": t}), 409,
                     "field_exists", "name")
    assert api.fields() == [f]


def test_delete_field(api):
    a = api.new_field("tier", "string")
    b = api.new_field("score", "number")
    r = api.request("DELETE", "/fields/tier")
    assert r.status == 204 and r.raw == b"", r
    assert api.fields() == [b]
    assert_error(api.request("DELETE", "/fields/tier"), 404, "not_found")
    for bad in ("nope", "Tier", "x" * 65, "a-b"):
        assert_error(api.request("DELETE", "/fields/" + bad), 404,
                     "not_found")
    # defined again: a new definition, last in the order
    c = api.new_field("tier", "date")
    assert c["created_at"] >= a["created_at"]
    assert api.fields() == [b, c]


def test_fields_of_organizations_are_apart(api, api_b):
    f = api.new_field("tier", "string")
    assert api_b.fields() == []
    assert_error(api_b.request("DELETE", "/fields/tier"), 404, "not_found")
    assert api.fields() == [f]
    # B's writes do not know A's field
    assert_error(api_b.post("/contacts", {"email": uniq_email(),
                                          "field_tier": "x"}),
                 422, "unknown_field", "field_tier")
    # B may define the same name, of another type, independently
    g = api_b.new_field("tier", "number")
    ca = api.create(field_tier="gold")
    cb = api_b.create(field_tier=3)
    assert (ca["fields"], cb["fields"]) == ({"tier": "gold"}, {"tier": 3})
    assert_error(api.post("/contacts", {"email": ca["email"],
                                        "field_tier": 3}),
                 422, "invalid_field", "field_tier")
    assert api_b.request("DELETE", "/fields/tier").status == 204
    assert api.fields() == [f]
    assert api.get_contact(ca["id"])["fields"] == {"tier": "gold"}
    assert api_b.get_contact(cb["id"])["fields"] == {}
    assert api_b.fields() == [] and g


# --------------------------------------------------------------------------
# values


@pytest.fixture
def typed(api):
    for name, t in (("tier", "string"), ("score", "number"),
                    ("vip", "boolean"), ("since", "date")):
        api.new_field(name, t)
    return api


def test_values_in_both_spellings(typed):
    api = typed
    c = api.create(field_tier="gold", fields={"score": 4.5, "vip": True})
    assert c["fields"] == {"tier": "gold", "score": 4.5, "vip": True}
    # POST update: the other spelling, and null clears
    got = api.upsert({"email": c["email"], "fields": {"tier": "silver"},
                      "field_since": "2024-02-29", "field_vip": None},
                     expect=200)
    want = {"tier": "silver", "score": 4.5, "since": "2024-02-29"}
    assert got["contact"]["fields"] == want
    # absent keeps, {} keeps
    got = api.upsert({"email": c["email"], "name": "n", "fields": {}},
                     expect=200)
    assert got["contact"]["fields"] == want
    # PATCH in both spellings
    p = api.patch(c["id"], {"field_score": -10, "fields": {"vip": False}})
    want = {"tier": "silver", "score": -10, "since": "2024-02-29",
            "vip": False}
    assert p["contact"]["fields"] == want
    p = api.patch(c["id"], {"fields": {"tier": None, "since": None},
                            "field_score": None})
    assert p["contact"]["fields"] == {"vip": False}
    # clearing a value that is not set: fine
    p = api.patch(c["id"], {"field_tier": None})
    assert p["contact"]["fields"] == {"vip": False}
    assert api.get_contact(c["id"]) == p["contact"]


@pytest.mark.parametrize("name,value", [
    ("tier", ""), ("tier", "x" * 1000), ("tier", "é" * 1000),
    ("tier", "☃ snow"), ("tier", "null"),
    ("score", 0), ("score", -1), ("score", 1.25), ("score", 1e300),
    ("score", -2.5e-10), ("score", 12345678901234),
    ("vip", True), ("vip", False),
    ("since", "2024-02-29"), ("since", "2000-01-01"), ("since", "1999-12-31"),
    ("since", "2023-12-31"),
])
def test_accepted_values_round_trip(typed, name, value):
    api = typed
    c = api.create(fields={name: value})
    assert set(c["fields"]) == {name}
    for got in (c["fields"][name], api.get_contact(c["id"])["fields"][name]):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # the same JSON number (a double reads it back the same)
            assert isinstance(got, (int, float)), got
            assert not isinstance(got, bool), got
            assert float(got) == float(value), got
        else:
            assert type(got) is type(value) and got == value, got


WRONG = [
    ("tier", 5), ("tier", True), ("tier", {}), ("tier", []),
    ("tier", "x" * 1001), ("tier", "é" * 1001),
    ("score", "5"), ("score", True), ("score", []), ("score", {"n": 1}),
    ("vip", 1), ("vip", 0), ("vip", "true"), ("vip", "yes"),
    ("since", "2021-02-30"), ("since", "2023-02-29"), ("since", "2021-13-01"),
    ("since", "2021-00-10"), ("since", "2021-04-31"), ("since", "2021-2-3"),
    ("since", "20210203"), ("since", "2021-02-03T00:00:00Z"),
    ("since", " 2021-02-03"), ("since", "2021/02/03"), ("since", 20210203),
    ("since", ""), ("since", True),
]


@pytest.mark.parametrize("name,value", WRONG,
                         ids=["%s=%s" % (n, json.dumps(v)[:20])
                              for n, v in WRONG])
@pytest.mark.parametrize("spelling", ["prefix", "object"])
def test_wrong_type_refused_and_nothing_written(typed, name, value, spelling):
    api = typed
    lst = api.new_list()
    c = api.create(name="Kept", fields={"tier": "gold"})
    before = api.state()
    if spelling == "prefix":
        extra, field = {"field_" + name: value}, "field_" + name
    else:
        extra, field = {"fields": {name: value}}, "fields." + name
    # a POST update, a POST create and a PATCH, each with a valid change and
    # a valid list next to the bad value
    for body in (dict(extra, email=c["email"], name="Changed",
                      addToLists=[lst["id"]]),
                 dict(extra, email=uniq_email(), addToLists=[lst["id"]])):
        assert_error(api.post("/contacts", body), 422, "invalid_field", field)
    r = api.request("PATCH", "/contacts/" + c["id"],
                    body=dict(extra, name="Changed", addToLists=[lst["id"]]))
    assert_error(r, 422, "invalid_field", field)
    assert api.state() == before
    assert api.get_list(lst["id"])["count"] == 0


@pytest.mark.parametrize("body,field", [
    ({"field_nope": 1}, "field_nope"),
    ({"fields": {"nope": 1}}, "fields.nope"),
    ({"field_nope": None}, "field_nope"),
    ({"fields": {"nope": None}}, "fields.nope"),
    ({"field_Tier": "x"}, "field_Tier"),
    ({"fields": {"Tier": "x"}}, "fields.Tier"),
    ({"field_": "x"}, "field_"),
    ({"fields": {"": "x"}}, "fields."),
    ({"field_tier": "ok", "fields": {"nope": 1}}, "fields.nope"),
])
def test_undefined_field_named_as_written(typed, body, field):
    api = typed
    c = api.create()
    before = api.state()
    assert_error(api.post("/contacts", dict(body, email=c["email"])), 422,
                 "unknown_field", field)
    assert_error(api.post("/contacts", dict(body, email=uniq_email())), 422,
                 "unknown_field", field)
    assert_error(api.request("PATCH", "/contacts/" + c["id"], body=body), 422,
                 "unknown_field", field)
    assert api.state() == before


@pytest.mark.parametrize("a,b", [("gold", "silver"), ("gold", "gold"),
                                 ("gold", None), (None, None)])
def test_both_spellings_at_once(typed, a, b):
    api = typed
    c = api.create(field_tier="kept")
    before = api.state()
    body = {"field_tier": a, "fields": {"tier": b}}
    for r in (api.post("/contacts", dict(body, email=c["email"])),
              api.post("/contacts", dict(body, email=uniq_email())),
              api.request("PATCH", "/contacts/" + c["id"], body=body)):
        err = assert_error(r, 422, "invalid_field")
        assert err.get("field") in ("field_tier", "fields.tier"), err
    assert api.state() == before


@pytest.mark.parametrize("value", ["x", [], 5, True, [{"tier": "x"}]])
def test_fields_not_an_object(typed, value):
    api = typed
    c = api.create(field_tier="kept")
    before = api.state()
    assert_error(api.post("/contacts", {"email": c["email"], "fields": value}),
                 422, "invalid_field", "fields")
    assert_error(api.request("PATCH", "/contacts/" + c["id"],
                             body={"fields": value}),
                 422, "invalid_field", "fields")
    assert api.state() == before


def test_refused_field_is_atomic_with_everything_else(typed):
    """A refused value with valid fields, values, a list to add and one to
    leave: nothing of it is written."""
    api = typed
    a, b = api.new_list(), api.new_list()
    c = api.create(name="Kept", field_tier="gold", addToLists=[a["id"]])
    before = api.state()
    body = {"name": "Changed", "field_score": 1, "fields": {"vip": True},
            "addToLists": [b["id"]], "removeFromLists": [a["id"]],
            "field_since": "2021-02-30"}
    assert_error(api.post("/contacts", dict(body, email=c["email"])), 422,
                 "invalid_field", "field_since")
    assert_error(api.request("PATCH", "/contacts/" + c["id"], body=body), 422,
                 "invalid_field", "field_since")
    new = uniq_email()
    assert_error(api.post("/contacts", dict(body, email=new)), 422,
                 "invalid_field", "field_since")
    assert api.state() == before
    assert api.find(new) == []
    assert (api.get_list(a["id"])["count"], api.get_list(b["id"])["count"]) \
        == (1, 0)


# --------------------------------------------------------------------------
# values in every contact object


def test_values_in_every_contact_object(typed):
    api = typed
    lst = api.new_list()
    want = {"tier": "gold", "score": 2, "vip": True, "since": "2020-05-17"}
    r = api.post("/contacts", {"email": uniq_email(), "field_tier": "gold",
                               "field_score": 2, "fields": {"vip": True},
                               "field_since": "2020-05-17",
                               "addToLists": [lst["id"]]})
    assert r.status == 201 and r.json["contact"]["fields"] == want, r
    c = r.json["contact"]
    plain = api.create()
    assert plain["fields"] == {}
    assert api.get_contact(c["id"])["fields"] == want
    assert api.one(c["email"])["fields"] == want
    assert api.page().json["contacts"] == [c, plain]
    assert api.members(lst["id"]) == [c]
    p = api.patch(c["id"], {"name": "P"})["contact"]
    assert p["fields"] == want
    d = api.delete(c["id"])
    assert d["fields"] == want
    assert api.page(includeAll="true").json["contacts"][0]["fields"] == want
    assert api.members(lst["id"], includeAll="true")[0]["fields"] == want
    assert api.find(c["email"], includeAll="true")[0]["fields"] == want
    # restored: the values are still there
    back = api.upsert({"email": c["email"]}, expect=200)["contact"]
    assert back["fields"] == want


def test_delete_field_takes_its_values_everywhere(typed):
    api = typed
    lst = api.new_list()
    a = api.create(field_tier="gold", field_score=1, addToLists=[lst["id"]])
    b = api.create(field_tier="silver", addToLists=[lst["id"]])
    d = api.create(field_tier="bronze", field_vip=False)
    api.delete(d["id"])
    # read them all first (the cache may hold them)
    for _ in range(2):
        api.page(includeAll="true")
        api.members(lst["id"])
        api.find(a["email"])
    assert api.request("DELETE", "/fields/tier").status == 204
    got = {c["id"]: c for c in api.all_contacts_all()}
    assert got[a["id"]]["fields"] == {"score": 1}
    assert got[b["id"]]["fields"] == {}
    assert got[d["id"]]["fields"] == {"vip": False}
    # updated_at is unchanged: the field went, the contacts did not change
    assert got[a["id"]]["updated_at"] == a["updated_at"]
    assert got[b["id"]]["updated_at"] == b["updated_at"]
    assert api.get_contact(a["id"])["fields"] == {"score": 1}
    assert api.one(b["email"])["fields"] == {}
    assert api.find(d["email"], includeAll="true")[0]["fields"] == \
        {"vip": False}
    assert [m["fields"] for m in api.members(lst["id"])] == [{"score": 1}, {}]
    # the name is unknown in writes now, and defined again it is empty
    assert_error(api.post("/contacts", {"email": a["email"],
                                        "fields": {"tier": "x"}}),
                 422, "unknown_field", "fields.tier")
    api.new_field("tier", "boolean")
    assert api.get_contact(a["id"])["fields"] == {"score": 1}
    p = api.patch(a["id"], {"field_tier": True})["contact"]
    assert p["fields"] == {"score": 1, "tier": True}


def test_fields_key_is_not_a_custom_field_named_fields(api):
    """"fields" is the object spelling; a field named "fields" is written
    field_fields."""
    api.new_field("fields", "string")
    c = api.create(field_fields="x")
    assert c["fields"] == {"fields": "x"}
    c = api.upsert({"email": c["email"], "fields": {"fields": "y"}},
                   expect=200)["contact"]
    assert c["fields"] == {"fields": "y"}


@pytest.mark.parametrize("name,value,ok", [
    ("tier", "😀" * 1000, True), ("tier", "😀" * 1001, False),
    ("tier", "a" * 999 + "😀", True),
    ("since", "2000-02-29", True), ("since", "1900-02-29", False),
    ("since", "2021-02-28", True), ("since", "2021-06-31", False),
    ("score", -0.0, True), ("score", 1e2, True),
])
def test_value_edges(typed, name, value, ok):
    api = typed
    body = {"email": uniq_email(), "fields": {name: value}}
    r = api.post("/contacts", body)
    if ok:
        assert r.status == 201, r
        got = r.json["contact"]["fields"][name]
        assert got == value, got
    else:
        assert_error(r, 422, "invalid_field", "fields." + name)
        assert api.find(body["email"]) == []


def test_longest_field_name_in_both_spellings(api):
    name = "z" * 64
    api.new_field(name, "number")
    c = api.create(**{"field_" + name: 1})
    assert c["fields"] == {name: 1}
    c = api.patch(c["id"], {"fields": {name: 2}})["contact"]
    assert c["fields"] == {name: 2}
    # a wrong value of it is named in full, in the spelling written
    before = api.state()
    assert_error(api.request("PATCH", "/contacts/" + c["id"],
                             body={"field_" + name: "x"}),
                 422, "invalid_field", "field_" + name)
    assert_error(api.request("PATCH", "/contacts/" + c["id"],
                             body={"fields": {name: "x"}}),
                 422, "invalid_field", "fields." + name)
    assert api.state() == before


@pytest.mark.parametrize("body,field", [
    ({"field_" + "q" * 64: 1}, "field_" + "q" * 64),
    ({"fields": {"q" * 64: 1}}, "fields." + "q" * 64),
    ({"field_" + "q" * 65: 1}, "field_" + "q" * 65),
    ({"fields": {"q" * 65: 1}}, "fields." + "q" * 65),
    ({"fields": {"q" * 200: 1}}, "fields." + "q" * 200),
])
def test_long_undefined_field_named_in_full(api, body, field):
    """The error's field is the key as the client wrote it, whole."""
    c = api.create()
    before = api.state()
    assert_error(api.request("PATCH", "/contacts/" + c["id"], body=body),
                 422, "unknown_field", field)
    assert_error(api.post("/contacts", dict(body, email=c["email"])),
                 422, "unknown_field", field)
    assert api.state() == before


def test_fields_empty_object_changes_nothing(typed):
    api = typed
    c = api.create(field_tier="gold")
    r = api.request("PATCH", "/contacts/" + c["id"], body={"fields": {}})
    assert r.status == 200, r
    assert r.json["contact"]["fields"] == {"tier": "gold"}
