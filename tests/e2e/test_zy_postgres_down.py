"""PostgreSQL unreachable: 503 with Retry-After, never a crash; and the
service recovers by itself when PostgreSQL is back (issue 3; contract:
"Storage unreachable: 503 unavailable with Retry-After").

Stops the stack's PostgreSQL (scripts/lib.sh pg_stop) and starts it again
(pg_start) the way scripts/up does.  Named to run near the end.
"""
import pytest

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
