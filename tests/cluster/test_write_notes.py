"""A keyed write committed on a pool that is then killed as a whole,
retried on another pool: the retry replays the stored answer (2xx), and
reads must then show the write.

The write's note (fcgi-app/inflight.c), which would retire the cached
answers the write changed, lived in the killed pool's shared memory, and
the pool's lease in PostgreSQL (fcgi-app/hostlease.h) is taken up only
after host_lease_ms.  So the replay itself retires the organization's
cached answers before it answers (docs/idempotency.md): without that, the
cached look-up kept the old value until cache_ttl (300 s).

The write is held right after its commit by the fault hook of
scripts/test's build (fcgi-app/fault.h), armed in every pool's directory
(CONTACTS_FAULT_DIR, scripts/cluster), so the kill lands in that window
every time.
"""
import os
import threading
import time
import uuid

import pytest

from cluster import POOLS, wait_until

POINT = "after_commit"


def need(cond, what):
    if not cond:
        pytest.fail(what, pytrace=False)


def test_a_replayed_write_of_a_killed_pool_is_not_hidden_by_the_cache(cluster):
    org, key = cluster.new_org("write-notes")
    email = "notes-%d@example.com" % time.time_ns()
    q = "email=" + email.replace("@", "%40")
    h = {"X-API-Key": key}
    status, _, body = cluster.request("POST", "/contacts",
                                      {"email": email, "name": "before"}, headers=h)
    need(status == 201, "create: %s %r" % (status, body))
    for n in POOLS:  # the look-up cached
        for _ in range(2):
            status, body = cluster.fcgi(n, "GET", "/contacts", q, key)
            need(status == 200 and b'"before"' in body, "fill: %s %s %r" % (n, status, body))
    armed = [cluster.path("pool%d" % n, "fault." + POINT) for n in POOLS]
    held = []
    try:
        for f in armed:
            with open(f + ".tmp", "w", encoding="ascii") as out:
                out.write("30000\n")
            os.replace(f + ".tmp", f)
        answer = {}
        t = threading.Thread(target=lambda: answer.update(r=cluster.request(
            "POST", "/contacts", {"email": email, "name": "after"},
            headers=dict(h, **{"Idempotency-Key": uuid.uuid4().hex}), timeout=30)))
        t.start()
        held = wait_until(lambda: [n for n in POOLS if os.path.exists(
            cluster.path("pool%d" % n, "fault.%s.pid" % POINT))], 10)
    finally:
        for f in armed:  # the retry must not be held too
            if os.path.exists(f):
                os.unlink(f)
    need(held, "the write was not held after its commit")
    cluster.kill_pool(held[0])
    os.unlink(cluster.path("pool%d" % held[0], "fault.%s.pid" % POINT))
    t.join(timeout=30)
    status, headers, body = answer["r"]
    need(status == 200 and headers.get("idempotent-replayed") == "true",
         "the retry: %r" % (answer["r"],))
    need(cluster.psql("SELECT name FROM contacts WHERE org_id = '%s' AND "
                      "email = '%s'" % (org, email)) == [["after"]],
         "the write is not in PostgreSQL")
    for n in POOLS:
        if n == held[0]:
            continue
        status, body = cluster.fcgi(n, "GET", "/contacts", q, key)
        need(status == 200, "read: %s %s %r" % (n, status, body))
        assert b'"after"' in body, "pool%d hides the answered write: %r" % (n, body)
