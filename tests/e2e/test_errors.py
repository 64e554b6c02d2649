"""Errors everywhere: 404, 405 with Allow, the error shape, no leaks,
X-Request-Id on every answer."""

import pytest

from conftest import (assert_error, assert_json, assert_no_leak, host_header,
                      raw_request, request)

UNKNOWN_PATHS = ["/", "/nope", "/contacts/extra", "/contacts/abc/def",
                 "/lists/extra", "/test/x", "/healthz/x", "/CONTACTS",
                 "/contacts.json", "/api/contacts"]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_is_404(api, path):
    for key in (api.key, None):
        r = request("GET", path, key=key)
        assert_error(r, 404, "not_found", field=None)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_unknown_path_any_method_is_404(api, method):
    r = api.request(method, "/nope", body={"a": 1})
    assert_error(r, 404, "not_found", field=None)


def test_unknown_path_with_query_is_404(api):
    r = api.get("/nope?offset=abc")
    assert_error(r, 404, "not_found")


def allow_set(r):
    v = r.header("Allow")
    assert v is not None, r
    return {m.strip().upper() for m in v.split(",") if m.strip()}


WRONG_METHODS = [
    ("PUT", "/contacts", {"GET", "POST", "DELETE"}),
    ("PATCH", "/contacts", {"GET", "POST", "DELETE"}),
    ("POST", "/contacts/AAAAAAAAA", {"GET", "PATCH", "DELETE"}),
    ("PUT", "/lists/AAAAAAAAA", {"GET", "PATCH", "DELETE"}),
    ("POST", "/lists/AAAAAAAAA/contacts", {"GET"}),
    ("PUT", "/fields", {"GET", "POST"}),
    ("GET", "/fields/tier", {"DELETE"}),
    ("GET", "/suppressions", {"DELETE"}),
    ("PUT", "/lists", {"GET", "POST"}),
    ("DELETE", "/lists", {"GET", "POST"}),
    ("POST", "/healthz", {"GET"}),
    ("DELETE", "/healthz", {"GET"}),
    ("POST", "/test", {"GET"}),
    ("PUT", "/test", {"GET"}),
]


@pytest.mark.parametrize("method,path,allowed", WRONG_METHODS,
                         ids=["%s %s" % (m, p) for m, p, _ in WRONG_METHODS])
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    for key in (api.key, None):
        r = request(method, path, body={"name": "x"}, key=key)
        assert_error(r, 405, "method_not_allowed", field=None)
        got = allow_set(r)
        # HEAD and OPTIONS may be listed too; GET/POST exactly as routed
        assert got - {"HEAD", "OPTIONS"} == allowed, r


def test_wrong_method_writes_nothing(api):
    r = api.request("PUT", "/contacts", body={"email": "put@example.com"})
    assert r.status == 405, r
    assert api.find("put@example.com") == []
    r = api.request("PUT", "/lists", body={"name": "x"})
    assert r.status == 405, r
    assert api.lists() == []


def _collect_errors(api):
    """A sample of every kind of error the service answers."""
    big = b'{"email":"a@example.com","name":"' + b"x" * 70000 + b'"}'
    head = ("POST /contacts HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (host_header(), api.key, len(big)))
    return [
        request("GET", "/nope"),
        request("PUT", "/contacts"),
        request("GET", "/contacts"),
        request("GET", "/contacts", key="ck_AAAAAAAAA_" + "x" * 43),
        api.get("/contacts?offset=abc"),
        api.get("/contacts?email=no"),
        api.get("/lists?type=boss"),
        api.post("/contacts", b"{"),
        api.post("/contacts", b'{"email":"\xff"}'),
        api.post("/contacts", {"email": "x"}),
        api.post("/contacts", {}),
        api.post("/contacts", {"email": "a@example.com", "zzz": 1}),
        api.post("/contacts", {"email": "a@example.com",
                               "addToLists": ["AAAAAAAAA"]}),
        api.post("/contacts", {"email": "a@example.com", "name": "x" * 300}),
        api.post("/contacts", b"{}", headers={"Content-Type": "text/plain"}),
        api.post("/lists", {}),
        api.post("/lists", {"name": "a", "type": "x"}),
        raw_request(head.encode() + big),
    ]


def test_every_error_has_the_shape(api):
    for r in _collect_errors(api):
        assert r.status >= 400, r
        assert_error(r, r.status)


def test_no_error_leaks_internals(api):
    for r in _collect_errors(api):
        assert_no_leak(r)
        msg = r.json["error"]["message"]
        assert "\n" not in msg, r
        assert len(msg) < 1000, r


def test_every_answer_carries_a_request_id(api):
    answers = [request("GET", "/healthz"), api.get("/test"),
               api.get("/contacts"), api.get("/lists"),
               api.post("/lists", {"name": "x"})] + _collect_errors(api)
    seen = set()
    for r in answers:
        rid = r.header("X-Request-Id")
        assert rid, r
        seen.add(rid)
    assert len(seen) == len(answers), "request ids repeat"


def test_success_answers_are_json(api):
    for r in (request("GET", "/healthz"), api.get("/test"),
              api.get("/contacts"), api.get("/lists"),
              api.post("/lists", {"name": "x"}),
              api.post("/contacts", {"email": "json@example.com"})):
        assert r.status in (200, 201), r
        assert_json(r)


def test_401_has_no_field(api):
    r = request("GET", "/lists")
    assert_error(r, 401, "unauthorized", field=None)
