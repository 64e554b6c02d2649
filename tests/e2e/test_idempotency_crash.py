"""A worker killed with SIGKILL after its idempotent write committed and
before it answered (issue 13; docs/idempotency.md): the client gets nginx's
502, and its retry with the same Idempotency-Key gets the committed answer,
status and body, with Idempotent-Replayed: true; not a second write, not a
409, not an update of the contact the first one made.

The worker is held in that window by the fault hook of scripts/test's build
(fcgi-app/fault.h: configure --enable-fault-hooks; the pool started with
CONTACTS_FAULT_DIR naming the run directory), so the kill lands there every
time, not by luck of timing."""
import os
import signal
import threading
import uuid

import pytest

import stack
from conftest import assert_error, uniq_email
from test_feed import drain
from test_states import sql  # noqa: F401  (the psql fixture)

POINT = "after_commit"
PAUSE_MS = 30000  # the test kills the worker long before


# the points this module and test_faults.py arm (fcgi-app/fault.h)
POINTS = (POINT, "worker_start")


def _clear_points(d):
    for point in POINTS:
        armed = os.path.join(d, "fault." + point)
        for f in (armed, armed + ".pid"):
            if os.path.exists(f):
                os.unlink(f)


@pytest.fixture
def fault_dir():
    d = os.environ.get("CONTACTS_FAULT_DIR")
    if not d:
        pytest.skip("needs scripts/test's stack: a build with "
                    "--enable-fault-hooks and CONTACTS_FAULT_DIR set")
    _clear_points(d)
    yield d
    # a hook that never fired must not hold a later test's write
    _clear_points(d)


@pytest.fixture
def pool():
    stack.ensure_pool()
    master, n = stack.pool_pid(), stack.worker_count()
    assert stack.wait_until(lambda: len(stack.workers(master)) == n, 10), \
        stack.workers(master)
    yield master, n
    stack.ensure_pool()
    stack.wait_until(lambda: len(stack.workers(stack.pool_pid())) == n, 30)


def _arm(d, point=POINT, pause_ms=PAUSE_MS):
    armed = os.path.join(d, "fault." + point)
    with open(armed + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % pause_ms)
    os.replace(armed + ".tmp", armed)
    return armed + ".pid"


def _held_pid(pidfile):
    try:
        with open(pidfile, encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def test_kill_after_commit_replays_the_committed_answer(api, sql, pool, fault_dir):
    master, n = pool
    k, email = "crash-" + uuid.uuid4().hex, uniq_email()
    body = {"email": email, "name": "Committed Once"}
    hdrs = {"Idempotency-Key": k}
    pidfile = _arm(fault_dir)
    out = {}

    def write():
        try:
            out["r"] = api.post("/contacts", body, headers=hdrs)
        except Exception as e:  # pragma: no cover - reset, timeout
            out["r"] = e

    log0 = stack.log_size()
    t = threading.Thread(target=write, daemon=True)
    t.start()
    assert stack.wait_until(lambda: _held_pid(pidfile), 10), \
        "no worker reached the fault point %s" % POINT
    victim = _held_pid(pidfile)
    # held after the commit: the contact and the answer are in PostgreSQL
    org = api.org_id
    assert sql("SELECT count(*) FROM contacts WHERE org_id = '%s' AND email = '%s'"
               % (org, email)).strip() == "1"
    # (POST /contacts keeps its write's result, schema/021)
    stored = sql("SELECT result->>'action', result->'c'->>'id', result->'c'->>'name' "
                 "FROM idempotency_keys WHERE org_id = '%s' AND key = '%s'"
                 % (org, k)).strip().split("|")
    assert stored[0::2] == ["IMPORT_CREATE", "Committed Once"], stored
    assert t.is_alive(), out  # and not answered

    stack.signal_checked(victim, signal.SIGKILL, stack.POOL_NAME, parent=master)
    t.join(15)
    assert not t.is_alive()
    r = out["r"]
    assert not isinstance(r, Exception), r
    assert_error(r, 502, "unavailable")  # nginx: the upstream closed
    assert stack.wait_until(
        lambda: (len(stack.workers(master)) == n
                 and victim not in stack.workers(master)), 30), \
        stack.workers(master)
    assert any("worker_pid=%d" % victim in line and "signal=9" in line
               for line in stack.log_lines_since(log0))

    # the retry: the committed write's answer
    again = api.post("/contacts", body, headers=hdrs)
    assert again.status == 201, again
    assert again.header("Idempotent-Replayed") == "true", again
    c = again.json["contact"]
    assert c["id"] == stored[1], (c, stored)
    assert again.json["action"] == "IMPORT_CREATE", again
    assert c["email"] == email and c["name"] == "Committed Once", c
    assert again.header("Location").endswith("/contacts/" + c["id"]), again
    third = api.post("/contacts", body, headers=hdrs)
    assert third.status == 201 and third.raw == again.raw, third

    # one contact, as the answer shows it (the cache does not hide it), and
    # one change in the feed
    assert api.one(email) == c
    assert api.get("/contacts/" + c["id"]).json == {"contact": c}
    assert sql("SELECT count(*) FROM contacts WHERE org_id = '%s' AND email = '%s'"
               % (org, email)).strip() == "1"
    changes, _ = drain(api)
    mine = [ch for ch in changes if ch["id"] == c["id"]]
    assert [ch["op"] for ch in mine] == ["create"], changes
    # and the key still refuses another request
    assert_error(api.post("/contacts", {"email": email, "name": "other"},
                          headers=hdrs), 422, "idempotency_mismatch")
