"""POST /contacts: every kind of bad input, and that a refusal writes
nothing.  One organization per module; every case checks that the number
of contacts did not change and that its email was not created."""

import json
import uuid

import pytest

from conftest import (assert_error, host_header, raw_request, request,
                      uniq_email)


def make_domain(n):
    """A valid domain of exactly n bytes (n >= 6): labels of <= 63."""
    rem = n - 4  # for ".com"
    parts = []
    while rem > 63:
        parts.append("b" * 62)
        rem -= 63
    parts.append("c" * rem)
    d = ".".join(parts) + ".com"
    assert len(d) == n
    return d


def make_email(total, local_len=64):
    local = "a" * local_len
    return local + "@" + make_domain(total - local_len - 1)


def tag():
    return uuid.uuid4().hex[:10]


class Before:
    """The state to compare with after a refusal."""

    def __init__(self, api):
        self.api = api
        self.contacts = api.all_contacts()
        self.lists = api.lists()

    def unchanged(self, *emails):
        assert self.api.all_contacts() == self.contacts
        assert self.api.lists() == self.lists
        for e in emails:
            if not isinstance(e, str):
                continue
            r = self.api.get("/contacts", params={"email": e.strip()})
            if r.status == 400:  # not an address: it cannot be stored
                assert r.error["code"] == "invalid_parameter", r
                continue
            assert r.status == 200 and r.json == {"contacts": []}, (e, r)


# --------------------------------------------------------------------------
# emails


INVALID_EMAILS = [
    ("no-at", lambda t: "plainaddress%s.example.com" % t),
    ("two-at", lambda t: "a%s@b@example.com" % t),
    ("local-65", lambda t: "a" * 55 + t + "@example.com"),
    ("total-255", lambda t: make_email(255)),
    ("total-300", lambda t: make_email(300)),
    ("leading-dot", lambda t: ".a%s@example.com" % t),
    ("trailing-dot", lambda t: "a%s.@example.com" % t),
    ("double-dot", lambda t: "a..%s@example.com" % t),
    ("label-leading-hyphen", lambda t: "a%s@-example.com" % t),
    ("label-trailing-hyphen", lambda t: "a%s@example-.com" % t),
    ("single-label", lambda t: "a%s@localhost" % t),
    ("empty-local", lambda t: "@%s.example.com" % t),
    ("empty-domain", lambda t: "a%s@" % t),
    ("empty-label", lambda t: "a%s@example..com" % t),
    ("domain-leading-dot", lambda t: "a%s@.example.com" % t),
    ("domain-trailing-dot", lambda t: "a%s@example.com." % t),
    ("label-64", lambda t: "a%s@%s.com" % (t, "d" * 64)),
    ("space-inside", lambda t: "a %s@example.com" % t),
    ("underscore-domain", lambda t: "a%s@exa_mple.com" % t),
    ("parens", lambda t: "(c)a%s@example.com" % t),
    ("quoted-local", lambda t: '"a%s"@example.com' % t),
    ("comma", lambda t: "a,%s@example.com" % t),
    ("angle", lambda t: "<a%s@example.com>" % t),
    ("local-66-bytes-utf8", lambda t: "é" * 33 + "@ex%s.com" % t),
    ("empty", lambda t: ""),
    ("blank", lambda t: "   "),
    ("newline-inside", lambda t: "a%s\n@example.com" % t),
]


@pytest.mark.parametrize("case,make", INVALID_EMAILS,
                         ids=[c for c, _ in INVALID_EMAILS])
def test_invalid_email(mod_api, case, make):
    email = make(tag())
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": email, "name": "x"})
    assert_error(r, 422, "invalid_field", field="email")
    before.unchanged(email)


VALID_EMAILS = [
    ("local-64", lambda t: t + "a" * (64 - len(t)) + "@example.com"),
    ("total-254", lambda t: t + make_email(254)[len(t):]),
    ("label-63", lambda t: "a%s@%s.com" % (t, "d" * 63)),
    ("idn", lambda t: "josé%s@exämple.com" % t),
    ("local-64-bytes-utf8", lambda t: "é" * 32 + "@ex%s.com" % t),
    ("atext", lambda t: "!#$%&'*+-/=?^_`{|}~" + t + "@example.com"),
    ("dots", lambda t: "a.b.c.%s@example.com" % t),
    ("subdomains", lambda t: "u%s@a.b.c.example.co.uk" % t),
    ("digits-and-hyphens", lambda t: "u%s@1-2-3.4a-b" % t),
    ("plus", lambda t: "first+tag%s@example.com" % t),
    ("one-char-labels", lambda t: "u%s@a.b" % t),
]


@pytest.mark.parametrize("case,make", VALID_EMAILS,
                         ids=[c for c, _ in VALID_EMAILS])
def test_valid_edge_email(mod_api, case, make):
    email = make(tag())
    r = mod_api.post("/contacts", {"email": email})
    assert r.status == 201, r
    assert r.json["contact"]["email"] == email
    got = mod_api.find(email)
    assert len(got) == 1 and got[0]["id"] == r.json["contact"]["id"], got


def test_total_254_counted_after_trimming(mod_api):
    email = make_email(254)
    email = tag() + email[10:]
    r = mod_api.post("/contacts", {"email": "   " + email + "   "})
    assert r.status == 201, r
    assert r.json["contact"]["email"] == email


def test_missing_email(mod_api):
    before = Before(mod_api)
    for body in ({}, {"name": "No Email"}, {"addToLists": []}):
        r = mod_api.post("/contacts", body)
        assert_error(r, 422, "missing_field", field="email")
    before.unchanged()


def test_null_email(mod_api):
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": None, "name": "x"})
    err = assert_error(r, 422, field="email")
    assert err["code"] in ("missing_field", "invalid_field"), err
    before.unchanged()


@pytest.mark.parametrize("value", [123, 1.5, True, False, [], ["a@b.com"],
                                   {"x": 1}])
def test_email_wrong_type(mod_api, value):
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": value})
    assert_error(r, 422, "invalid_field", field="email")
    before.unchanged()


# --------------------------------------------------------------------------
# string fields


@pytest.mark.parametrize("field", ["name", "eid", "company"])
@pytest.mark.parametrize("char", ["x", "é", "😀"], ids=["ascii", "2byte",
                                                         "4byte"])
def test_255_characters_ok(mod_api, field, char):
    email = uniq_email()
    r = mod_api.post("/contacts", {"email": email, field: char * 255})
    assert r.status == 201, r
    assert r.json["contact"][field] == char * 255
    assert mod_api.one(email)[field] == char * 255


@pytest.mark.parametrize("field", ["name", "eid", "company"])
@pytest.mark.parametrize("char", ["x", "é", "😀"], ids=["ascii", "2byte",
                                                         "4byte"])
def test_256_characters_refused(mod_api, field, char):
    email = uniq_email()
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": email, field: char * 256})
    assert_error(r, 422, "invalid_field", field=field)
    before.unchanged(email)


@pytest.mark.parametrize("char", ["1", "é"])
def test_phone_64_ok(mod_api, char):
    email = uniq_email()
    r = mod_api.post("/contacts", {"email": email, "phone": char * 64})
    assert r.status == 201, r
    assert r.json["contact"]["phone"] == char * 64


@pytest.mark.parametrize("char", ["1", "é"])
def test_phone_65_refused(mod_api, char):
    email = uniq_email()
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": email, "phone": char * 65})
    assert_error(r, 422, "invalid_field", field="phone")
    before.unchanged(email)


WRONG_TYPES = [
    ("name", 123), ("name", True), ("name", []), ("name", {"a": "b"}),
    ("eid", 42), ("eid", 4.2), ("phone", 5551234), ("phone", ["555"]),
    ("company", False), ("company", {}),
    ("type", 1), ("type", ["customer"]), ("type", True),
    ("type", "boss"), ("type", "Customer"), ("type", "CUSTOMER"),
    ("type", ""), ("type", "customer "),
    ("addToLists", "abc"), ("addToLists", {}), ("addToLists", 1),
    ("addToLists", [1]), ("addToLists", [None]), ("addToLists", [["x"]]),
    ("addToLists", [{"id": "x"}]), ("addToLists", True),
]


@pytest.mark.parametrize("field,value", WRONG_TYPES,
                         ids=["%s=%s" % (f, json.dumps(v))
                              for f, v in WRONG_TYPES])
def test_wrong_type_or_value(mod_api, field, value):
    email = uniq_email()
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": email, field: value})
    assert_error(r, 422, "invalid_field", field=field)
    before.unchanged(email)


@pytest.mark.parametrize("field", ["foo", "id", "status", "created_at",
                                   "updated_at", "last_action", "deleted_at",
                                   "listsUpdated", "add_to_lists", "lists"])
def test_unknown_field(mod_api, field):
    email = uniq_email()
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": email, field: "x"})
    assert_error(r, 422, "unknown_field", field=field)
    before.unchanged(email)


def test_unknown_field_null_value(mod_api):
    email = uniq_email()
    before = Before(mod_api)
    r = mod_api.post("/contacts", {"email": email, "nickname": None})
    assert_error(r, 422, "unknown_field", field="nickname")
    before.unchanged(email)


# --------------------------------------------------------------------------
# refusals of an update leave the contact as it was


BAD_UPDATES = [
    ("name-256", {"name": "x" * 256}, 422, "invalid_field"),
    ("phone-65", {"phone": "1" * 65}, 422, "invalid_field"),
    ("type-boss", {"type": "boss"}, 422, "invalid_field"),
    ("eid-number", {"eid": 1}, 422, "invalid_field"),
    ("unknown-field", {"foo": 1}, 422, "unknown_field"),
    ("too-many-lists", {"addToLists": ["AAAAAAAAA"] * 101}, 422,
     "invalid_field"),
    ("unknown-list", {"addToLists": ["ZZZZZZZZ9"]}, 422, "unknown_list"),
]


@pytest.mark.parametrize("case,extra,status,code", BAD_UPDATES,
                         ids=[c[0] for c in BAD_UPDATES])
def test_refused_update_changes_nothing(mod_api, case, extra, status, code):
    c0 = mod_api.create(name="Keep", phone="1", company="C", eid="E",
                        type="employee")
    before = Before(mod_api)
    body = {"email": c0["email"], "name": "Changed", "company": None,
            "type": "customer"}
    body.update(extra)
    r = mod_api.post("/contacts", body)
    assert_error(r, status, code)
    assert mod_api.one(c0["email"]) == c0
    before.unchanged()


# --------------------------------------------------------------------------
# not JSON, not an object, not UTF-8


NOT_JSON = [
    ("empty", b""),
    ("blank", b"   \n"),
    ("open-brace", b"{"),
    ("no-value", b'{"email":}'),
    ("single-quotes", b"{'email':'a@example.com'}"),
    ("trailing-comma", b'{"email":"%s",}'),
    ("trailing-garbage", b'{"email":"%s"} x'),
    ("two-objects", b'{"email":"%s"}{"email":"%s"}'),
    ("nan", b'{"email":"%s","name":NaN}'),
    ("bare-word", b"email=a@example.com"),
    ("unterminated-string", b'{"email":"%s'),
    ("comment", b'{"email":"%s" /* c */}'),
]


@pytest.mark.parametrize("case,body", NOT_JSON, ids=[c for c, _ in NOT_JSON])
def test_not_json(mod_api, case, body):
    email = uniq_email()
    body = body.replace(b"%s", email.encode())
    before = Before(mod_api)
    r = mod_api.post("/contacts", body)
    assert_error(r, 400, "invalid_json", field=None)
    before.unchanged(email)


NOT_OBJECT = [
    ("array-empty", b"[]"),
    ("array-of-object", b'[{"email":"%s"}]'),
    ("string", b'"%s"'),
    ("number", b"123"),
    ("float", b"1.5"),
    ("true", b"true"),
    ("null", b"null"),
]


@pytest.mark.parametrize("case,body", NOT_OBJECT,
                         ids=[c for c, _ in NOT_OBJECT])
def test_not_an_object(mod_api, case, body):
    email = uniq_email()
    body = body.replace(b"%s", email.encode())
    before = Before(mod_api)
    r = mod_api.post("/contacts", body)
    assert_error(r, 400, "invalid_json", field=None)
    before.unchanged(email)


INVALID_UTF8 = [
    ("ff-in-email", b'{"email":"a%s\xff@example.com"}'),
    ("truncated", b'{"email":"%s","name":"\xc3"}'),
    ("overlong", b'{"email":"%s","name":"\xc0\xaf"}'),
    ("surrogate", b'{"email":"%s","name":"\xed\xa0\x80"}'),
    ("past-10ffff", b'{"email":"%s","name":"\xf4\x90\x80\x80"}'),
    ("lone-continuation", b'{"email":"%s","name":"a\x80b"}'),
    ("in-key", b'{"email":"%s","\xfe":"x"}'),
    ("latin1", b'{"email":"%s","name":"Jos\xe9"}'),
]


@pytest.mark.parametrize("case,body", INVALID_UTF8,
                         ids=[c for c, _ in INVALID_UTF8])
def test_invalid_utf8(mod_api, case, body):
    email = uniq_email()
    body = body.replace(b"%s", email.encode())
    before = Before(mod_api)
    r = mod_api.post("/contacts", body)
    assert_error(r, 400, "invalid_json", field=None)
    before.unchanged(email)


def test_deep_nesting_is_refused_cleanly(mod_api):
    email = uniq_email()
    before = Before(mod_api)
    body = ('{"email":"%s","name":' % email + "[" * 5000 + "]" * 5000
            + "}").encode()
    r = mod_api.post("/contacts", body)
    assert r.status in (400, 422), r
    assert_error(r, r.status)
    before.unchanged(email)


# --------------------------------------------------------------------------
# Content-Type


@pytest.mark.parametrize("ctype", [
    None, "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/jsonx", "application/xml",
    "text/json", "application/json-patch+json", "",
])
def test_unsupported_content_type(mod_api, ctype):
    email = uniq_email()
    before = Before(mod_api)
    r = mod_api.post("/contacts", json.dumps({"email": email}),
                     headers={"Content-Type": ctype})
    assert_error(r, 415, "unsupported_media_type", field=None)
    before.unchanged(email)


def test_unsupported_content_type_beats_bad_json(mod_api):
    r = mod_api.post("/contacts", b"{nope", headers={"Content-Type":
                                                    "text/plain"})
    assert_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize("ctype", [
    "application/json",
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "application/json ; charset=\"utf-8\"",
    "Application/JSON",
])
def test_json_content_types_accepted(mod_api, ctype):
    email = uniq_email()
    r = mod_api.post("/contacts", json.dumps({"email": email}),
                     headers={"Content-Type": ctype})
    assert r.status == 201, r
    assert len(mod_api.find(email)) == 1


# --------------------------------------------------------------------------
# size: at most 64 KiB


def _padded_body(email, size):
    core = json.dumps({"email": email}).encode()
    assert len(core) < size
    # JSON white space before the closing brace keeps it one valid object
    return core[:-1] + b" " * (size - len(core)) + b"}"


def _raw_post(key, body):
    head = ("POST /contacts HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n" % (host_header(), key, len(body)))
    return raw_request(head.encode() + b"\r\n" + body)


def test_body_of_exactly_64_kib_is_accepted(mod_api):
    email = uniq_email()
    body = _padded_body(email, 65536)
    assert len(body) == 65536
    r = _raw_post(mod_api.key, body)
    assert r.status == 201, r
    assert len(mod_api.find(email)) == 1


def test_body_past_64_kib_is_413_json(mod_api):
    email = uniq_email()
    before = Before(mod_api)
    r = _raw_post(mod_api.key, _padded_body(email, 65537))
    assert_error(r, 413)
    before.unchanged(email)


def test_large_body_is_413_json(mod_api):
    email = uniq_email()
    before = Before(mod_api)
    body = json.dumps({"email": email, "name": "x" * 200000}).encode()
    r = _raw_post(mod_api.key, body)
    assert_error(r, 413)
    assert r.header("X-Request-Id"), r
    before.unchanged(email)


def test_chunked_body_past_64_kib_is_413(mod_api):
    email = uniq_email()
    before = Before(mod_api)
    body = _padded_body(email, 70000)
    chunks = b""
    for i in range(0, len(body), 8192):
        part = body[i:i + 8192]
        chunks += b"%x\r\n%s\r\n" % (len(part), part)
    chunks += b"0\r\n\r\n"
    head = ("POST /contacts HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n" % (host_header(), mod_api.key))
    r = raw_request(head.encode() + chunks)
    assert_error(r, 413)
    before.unchanged(email)


def test_chunked_small_body_is_accepted(mod_api):
    email = uniq_email()
    body = json.dumps({"email": email}).encode()
    head = ("POST /contacts HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n" % (host_header(), mod_api.key))
    data = head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    r = raw_request(data)
    assert r.status == 201, r
    assert len(mod_api.find(email)) == 1


def test_nul_in_email_is_refused(mod_api):
    # JSON "\u0000": a decoder may refuse it as JSON, or the address is
    # invalid; either way a JSON error and nothing written
    email = uniq_email()
    before = Before(mod_api)
    body = b'{"email":"a\\u0000' + email.encode() + b'"}'
    r = mod_api.post("/contacts", body)
    assert r.status in (400, 422), r
    err = assert_error(r, r.status)
    assert err["code"] in ("invalid_json", "invalid_field"), err
    before.unchanged(email)


def test_empty_body_without_key_is_401():
    # without a key a body problem is never reported (401 first)
    r = request("POST", "/contacts", body=b"",
                headers={"Content-Type": "application/json"})
    assert_error(r, 401, "unauthorized")
