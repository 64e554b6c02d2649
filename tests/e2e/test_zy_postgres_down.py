"""PostgreSQL unreachable: 503 with Retry-After, never a crash; and the
service recovers by itself when PostgreSQL is back (issue 3; contract:
"Storage unreachable: 503 unavailable with Retry-After").

Stops the stack's PostgreSQL (scripts/lib.sh pg_stop) and starts it again
(pg_start) the way scripts/up does.  Named to run near the end.
"""
import json

import pytest

import openapi_check as oc
import stack
from conftest import request, uniq_email, assert_error

ENDPOINTS = [
    ("GET", "/test", None),
    ("GET", "/contacts", None),
    ("GET", "/lists", None),
    ("POST", "/contacts", {"email": "outage@example.com"}),
    ("POST", "/lists", {"name": "outage"}),
]


@pytest.fixture
def postgres_stopped():
    workers = stack.workers()
    stack.lib_sh("pg_stop")
    try:
        yield workers
    finally:
        stack.lib_sh("pg_start")
        stack.wait_healthy(30)


def test_postgres_down_is_503_and_recovers(api, postgres_stopped):
    email = uniq_email()
    for method, path, body in ENDPOINTS:
        r = request(method, path, body=body, key=api.key)
        assert_error(r, 503, "unavailable")
        assert r.header("Retry-After") == "1", (method, path, r.headers)

    r = request("GET", "/healthz")
    assert r.status == 503, r.body
    assert r.json["postgres"] == "down"
    assert r.header("Retry-After")

    # No worker crashed: the same processes are still serving.
    assert stack.workers() == postgres_stopped

    # PostgreSQL back: the next requests reconnect without a restart.
    stack.lib_sh("pg_start")
    stack.wait_healthy(30)
    r = api.post("/contacts", {"email": email, "name": "after"})
    assert r.status == 201, r.body
    assert api.one(email)["name"] == "after"
    assert stack.workers() == postgres_stopped


class _Answer:
    """conftest's Resp as openapi_check reads an answer."""

    def __init__(self, r):
        self.r = r
        self.body = r.raw

    def header(self, name):
        return self.r.header(name)

    def media_type(self):
        return (self.r.header("Content-Type") or "").split(";")[0].strip().lower()

    def json(self):
        return json.loads(self.r.raw.decode("utf-8"))


def _concrete(path):
    return (path.replace("{id}", "AAAAAAAAA").replace("{name}", "tier"))


def test_every_documented_503_while_postgres_is_down(api, postgres_stopped):
    """The 503 of every operation that documents one, as the document
    says (test_openapi.py cannot stop PostgreSQL: this test does)."""
    doc = oc.load_doc()
    problems, seen = [], 0
    for path, method, op in oc.operations(doc):
        documented = oc.documented_response(doc, op, 503)
        if documented is None or "503" not in op.get("responses", {}):
            continue
        seen += 1
        body = {"email": "outage@example.com", "name": "outage"} \
            if method.upper() in ("POST", "PATCH") else None
        if path == "/contacts/bulk":
            body = {"contacts": [{"email": "outage@example.com"}]}
        if path == "/fields" and method.upper() == "POST":
            body = {"name": "outage", "type": "string"}
        key = None if path == "/healthz" else api.key
        r = request(method.upper(), _concrete(path), body=body, key=key)
        what = "%s %s" % (method.upper(), path)
        if r.status != 503:
            problems.append("%s: %d, not 503: %r" % (what, r.status, r))
            continue
        errs, _ = oc.check_against(doc, documented, _Answer(r), what)
        problems += errs
    assert seen >= 10, seen
    assert not problems, "\n".join(problems)
