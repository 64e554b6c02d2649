"""statement_timeout: a statement that runs past it is cancelled by
PostgreSQL (57014) and answered 503 with Retry-After; the worker and its
connection stay.  A private pool (no cache, so that every read reaches
PostgreSQL) with a short timeout; the contacts table held by a lock from
a psql session makes its statements wait."""

import json
import os
import re
import subprocess
import time

import pytest

import stack
from conftest import uniq_email
from private_pool import BINARY, PrivatePool


class TableLock:
    """LOCK TABLE ... IN ACCESS EXCLUSIVE MODE in an open transaction of a
    psql session, until release()."""

    def __init__(self, table):
        assert table.isidentifier(), table
        self.row = stack.RowLock.__new__(stack.RowLock)
        self.row.proc = subprocess.Popen(
            [stack.psql_bin(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-d", stack.conninfo()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        self.row._send("BEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n"
                       "SELECT 'LOCKED';\n" % table)
        self.row._read_until("LOCKED", 15)

    def release(self):
        self.row.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


@pytest.fixture
def pool():
    with PrivatePool(settings={"statement_timeout": "300",
                               "workers": "1"}) as p:
        yield p


def test_a_statement_past_the_timeout_answers_503(api, pool):
    email = uniq_email("slow")
    api.create(email)
    status, _, _ = pool.request("GET", "/contacts", "email=" + email, key=api.key)
    assert status == 200
    worker = pool.workers()
    with TableLock("contacts"):
        t0 = time.monotonic()
        status, headers, body = pool.request("GET", "/contacts",
                                             "email=" + email, key=api.key)
        took = time.monotonic() - t0
    assert status == 503, body
    assert headers.get("retry-after") == "1", headers
    err = json.loads(body)["error"]
    assert err["code"] == "unavailable", err
    assert 0.25 < took < 5, took
    assert "statement cancelled" in pool.log_text()
    # the same worker, still connected: the next request is answered
    assert pool.workers() == worker
    status, _, body = pool.request("GET", "/contacts", "email=" + email, key=api.key)
    assert status == 200, body
    assert json.loads(body)["contacts"][0]["email"] == email


def found(pool, api, email):
    status, _, body = pool.request("GET", "/contacts", "email=" + email, key=api.key)
    assert status == 200, body
    return json.loads(body)["contacts"]


def test_a_write_past_the_timeout_answers_503_and_commits_nothing(api, pool):
    email = uniq_email("slowwrite")
    body = json.dumps({"email": email, "name": "Slow"}).encode()
    with TableLock("contacts"):
        status, headers, out = pool.request(
            "POST", "/contacts", key=api.key, body=body,
            content_type="application/json")
    assert status == 503, out
    assert headers.get("retry-after") == "1", headers
    # read through the pool (no cache: PostgreSQL itself); the main stack
    # would cache this answer, which a write of the cacheless pool does
    # not retire in time for the read below
    assert found(pool, api, email) == []
    # the write can be sent again, and lands once
    status, _, out = pool.request("POST", "/contacts", key=api.key, body=body,
                                  content_type="application/json")
    assert status == 201, out
    assert len(found(pool, api, email)) == 1


def test_the_default_is_under_nginx_fastcgi_read_timeout():
    with open(os.path.join(stack.REPO, "nginx", "contacts.conf"),
              encoding="utf-8") as f:
        m = re.search(r"fastcgi_read_timeout\s+(\d+)s;", f.read())
    assert m, "no fastcgi_read_timeout in nginx/contacts.conf"
    nginx_ms = int(m.group(1)) * 1000
    out = subprocess.run([BINARY, "-c", os.devnull, "--check-config"],
                         capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin"}).stdout
    line = [x for x in out.splitlines() if x.startswith("statement_timeout = ")]
    assert line, out
    ms = int(line[0].split("=")[1])
    assert 0.5 * nginx_ms <= ms < nginx_ms, (ms, nginx_ms)
