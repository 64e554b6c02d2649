"""SIGTERM to the pool master: the requests in flight complete, the
master and every worker exit, and new connections then fail (502 from
nginx).

This stops the pool, so it lives in the file that pytest collects last
(test_zz_...), and starts the pool again afterwards exactly as
scripts/lib.sh does (app_start), so that whatever runs after it (the
health check of scripts/test, its teardown) finds the stack as it was.

A request is kept in flight deterministically: a psql session holds a row
lock on a contact, so a POST updating that contact waits in its worker
until the lock is released, well after SIGTERM.  Meanwhile other threads
keep reading pages: each of their requests either completes (200) or is
refused by nginx (502), never anything in between.

A second test holds open the window in which a worker has accepted a
connection but not yet read its request, and stops the pool then.
"""

import os
import signal
import threading
import time

import pytest

import stack
from conftest import TIMEOUT, assert_error, request


@pytest.fixture
def pool_restarted():
    """The pool runs before the test and, whatever happens, after it.  The
    test records in the dict it gets the master it sent SIGTERM to."""
    stack.ensure_pool()
    state = {}
    yield state
    old = state.get("terminated")
    if old:
        # let the stopping pool finish (shutdown_timeout is 10 s), so
        # that nothing of it remains when the new one starts
        stack.wait_gone([old] + state.get("workers", []), 20)
    if not stack.pool_pid():
        stack.pool_start()


def _post_in_thread(api, body, out):
    def run():
        t0 = time.monotonic()
        try:
            out["resp"] = api.post("/contacts", body)
        except Exception as e:  # noqa: BLE001 - recorded, asserted later
            out["exc"] = repr(e)
        out["took"] = time.monotonic() - t0
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_sigterm_finishes_requests_in_flight(api, pool_restarted):
    master = stack.pool_pid()
    workers = stack.workers(master)
    n = stack.worker_count()
    assert len(workers) == n, workers
    sock = stack.config()["listen"]
    contacts = [api.create(name="page-%d" % i) for i in range(50)]
    held = contacts[0]
    log0 = stack.log_size()

    # page readers: every answer is 200 (done before or while the pool
    # stops) or 502 (refused after); nothing else
    outcomes = []
    olock = threading.Lock()
    stop_readers = threading.Event()

    def reader():
        for _ in range(3000):
            if stop_readers.is_set():
                return
            try:
                r = api.get("/contacts", params={"limit": 50})
                res = (r.status, r) if r.status != 200 or len(
                    r.json["contacts"]) == 50 else ("short", r)
            except Exception as e:  # noqa: BLE001
                res = ("exception", repr(e))
            with olock:
                outcomes.append((time.monotonic(), res))

    readers = [threading.Thread(target=reader, daemon=True)
               for _ in range(3)]

    slow = {}
    with stack.RowLock(api.org_id, held["id"]) as lock:
        slow_t = _post_in_thread(api, {"email": held["email"],
                                       "name": "finished in flight"}, slow)
        for t in readers:
            t.start()
        # the POST is in a worker, waiting for the row lock
        time.sleep(1.0)
        assert "resp" not in slow and "exc" not in slow, slow
        t_term = time.monotonic()
        pool_restarted.update(terminated=master, workers=workers)
        stack.signal_checked(master, signal.SIGTERM, stack.POOL_NAME)

        # the idle workers leave at once; the busy one stays
        assert stack.wait_until(lambda: len(stack.workers(master)) <= 1, 5), \
            stack.workers(master)
        # (requests the readers send from now on wait in the listening
        # socket's backlog until the pool is gone)
        stop_readers.set()
        assert stack.running(master), "the master left before its worker"
        assert len(stack.workers(master)) == 1

        # a new request now: at best served whole, else refused
        late = {}
        late_t = threading.Thread(
            target=lambda: late.update(r=request("GET", "/healthz")),
            daemon=True)
        late_t.start()
        time.sleep(0.5)
        assert "resp" not in slow, "the held POST did not wait: %r" % slow
        lock.release()

        slow_t.join(timeout=TIMEOUT + 5)
        late_t.join(timeout=TIMEOUT + 5)
        for t in readers:
            t.join(timeout=TIMEOUT + 5)

    # the request in flight completed, with its write
    assert "exc" not in slow, slow
    r = slow["resp"]
    assert r.status == 200, r
    assert r.json["contact"]["name"] == "finished in flight", r
    # the one sent while the pool was stopping got an answer: refused by
    # nginx (502, as JSON) or, if a stopping worker still took it from
    # the socket's backlog, served whole; never anything else
    assert "r" in late, "GET /healthz during the stop got no answer"
    if late["r"].status != 200:
        assert_error(late["r"], 502)

    # the master and every worker are gone, and so are its socket and
    # pid file
    assert stack.wait_gone([master] + workers, 15), \
        [p for p in [master] + workers if stack.running(p)]
    assert not any(stack.running(p) for p in workers)
    assert stack.pool_pid() is None
    assert not os.path.exists(stack.path("contacts-fcgi.pid"))
    assert not os.path.exists(sock), sock
    took = time.monotonic() - t_term
    assert took < 12, "the pool took %.1fs to stop" % took

    # the readers: only whole answers or nginx's 502
    statuses = {}
    for _, (st, _) in outcomes:
        statuses[st] = statuses.get(st, 0) + 1
    assert set(statuses) <= {200, 502}, (
        statuses, [o for o in outcomes if o[1][0] not in (200, 502)][:5])
    assert statuses.get(200, 0) >= 10, statuses
    bad = [o for o in outcomes if o[1][0] == 502]
    for _, (_, resp) in bad:
        assert_error(resp, 502)
    # once refused, never served again by the stopping pool
    first_502 = min((t for t, (st, _) in outcomes if st == 502),
                    default=None)
    if first_502 is not None:
        assert all(st == 502 for t, (st, _) in outcomes if t > first_502 + 0.5
                   ), statuses

    # new connections fail while nothing listens
    r = request("GET", "/test", key=api.key)
    assert_error(r, 502)

    log = stack.log_lines_since(log0)
    assert any('msg="pool stopped"' in line for line in log), log[-20:]
    assert not any("did not stop in time" in line for line in log), log[-20:]

    # started again the way scripts/up starts it, the write is there
    new_master = stack.pool_start()
    assert new_master != master
    assert len(stack.workers(new_master)) == n
    assert api.one(held["email"])["name"] == "finished in flight"


def test_sigterm_answers_a_connection_already_accepted(pool_restarted):
    """A worker has accepted nginx's connection, but the request bytes have
    not arrived yet (nginx writes them right after connecting), when
    SIGTERM stops the pool: that connection is the worker's request in
    hand and must be answered, not dropped (nginx would answer 502).

    Straight to the pool's socket, so that the window can be held open
    (within libfcgi's 2 s wait for a request after accept)."""
    master = stack.pool_pid()
    workers = stack.workers(master)
    s = stack.fcgi_connect()
    try:
        time.sleep(0.3)  # an idle worker accepts it and waits for bytes
        pool_restarted.update(terminated=master, workers=workers)
        stack.signal_checked(master, signal.SIGTERM, stack.POOL_NAME)
        # the other workers leave at once
        stack.wait_until(lambda: len(stack.workers(master)) <= 1, 1.0)
        try:
            status, out = stack.fcgi_exchange(
                s, stack.fcgi_get("/healthz", "e2e-accepted-before-term"))
        except (OSError, EOFError) as e:
            pytest.fail("the connection a worker had accepted was dropped "
                        "by SIGTERM (%r): nginx answers 502 for it" % (e,))
        assert status == 200, out
    finally:
        s.close()
    assert stack.wait_gone([master] + workers, 15), \
        [p for p in [master] + workers if stack.running(p)]
    new_master = stack.pool_start()
    assert new_master != master
