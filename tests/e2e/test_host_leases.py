"""A pool that is gone as a whole (issue 15; fcgi-app/hostlease.h).

A write that committed on a host whose pool then died entirely, master and
workers (power lost, kill -9 of the process group), was never published:
the cache of every other host kept serving the answer from before it, and
the note that would have settled it died with the pool's shared memory.
Each pool now holds a lease in PostgreSQL (pool_leases) and claims each
organization it writes to (pool_lease_orgs); another pool takes a lease up
once it has run out, ends the gone pool's server processes, and bumps the
epochs of the organizations it wrote to.

The worker is held between its write's commit and its publication by the
fault hook of scripts/test's build (fcgi-app/fault.h), then its whole pool
is killed there, every time."""
import json
import os
import signal
import threading
import time
import urllib.parse
import uuid

import pytest

import stack
from conftest import ctl, key_id_of, new_org, uniq_email
from private_pool import PrivatePool
from test_states import sql  # noqa: F401  (the psql fixture)

LEASE_MS = 3000
POINT = "after_commit"


def settings(**more):
    s = {"redis": "127.0.0.1:%d" % stack.redis_port(),
         "host_lease_ms": str(LEASE_MS)}
    s.update(more)
    return s


def fault_build():
    if not os.environ.get("CONTACTS_FAULT_DIR"):
        pytest.skip("needs scripts/test's stack: a build with "
                    "--enable-fault-hooks")


def by_email(pool, key, email):
    status, headers, body = pool.request(
        "GET", "/contacts", query=urllib.parse.urlencode({"email": email}), key=key)
    assert status == 200, (status, body)
    return json.loads(body), headers


def post(pool, key, doc, headers=None):
    return pool.request("POST", "/contacts", key=key,
                        body=json.dumps(doc).encode(),
                        content_type="application/json", headers=headers)


def names(doc):
    return [c.get("name") for c in doc["contacts"]]


class FaultDir:
    """A directory for one pool's fault hooks (CONTACTS_FAULT_DIR)."""

    def __init__(self):
        self.path = os.path.join("/tmp", "ct-fault-" + uuid.uuid4().hex[:12])
        os.mkdir(self.path)
        os.chmod(self.path, 0o777)

    def arm(self, point, pause_ms):
        armed = os.path.join(self.path, "fault." + point)
        with open(armed + ".tmp", "w", encoding="ascii") as f:
            f.write("%d\n" % pause_ms)
        os.replace(armed + ".tmp", armed)
        return armed + ".pid"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in os.listdir(self.path):
            os.unlink(os.path.join(self.path, f))
        os.rmdir(self.path)


def dies_after_commit(sql, pool, fdir, org, doc, headers):
    """POSTs doc through pool, holds the worker after its commit and
    kills the whole pool there (master and workers)."""
    held = fdir.arm(POINT, 30000)
    out = {}

    def write():
        try:
            out["r"] = post(pool, org.key, doc, headers=headers)
        except Exception as e:  # the pool dies under it
            out["e"] = e
    t = threading.Thread(target=write)
    t.start()
    assert stack.wait_until(lambda: os.path.exists(held), 10), \
        "the write never reached its commit:\n" + pool.log_text()
    # committed in PostgreSQL, not published: now the whole pool goes
    assert sql("SELECT name FROM contacts WHERE org_id = '%s' AND email = '%s'"
               % (org.org_id, doc["email"])).strip() == doc["name"]
    os.killpg(pool.pid, signal.SIGKILL)
    pool.proc.wait(timeout=10)
    t.join(timeout=10)
    assert "r" not in out or out["r"][0] >= 500, out


def test_a_write_committed_by_a_pool_that_died_is_shown_by_the_others(sql):
    fault_build()
    org = new_org("host-lease")
    email = uniq_email()
    with FaultDir() as fdir, PrivatePool(settings(host_name="reader.test")) as b:
        a = PrivatePool(settings(host_name="dies.test"),
                        env={"CONTACTS_FAULT_DIR": fdir.path})
        try:
            assert post(b, org.key, {"email": email, "name": "Before"})[0] in (200, 201)
            # cached on b: a second read is served from Redis
            for _ in range(3):
                assert names(by_email(b, org.key, email)[0]) == ["Before"]
            hosts = sql("SELECT host_id FROM pool_leases WHERE host_name = 'dies.test'").split()
            assert len(hosts) == 1, hosts
            dies_after_commit(sql, a, fdir, org, {"email": email, "name": "After"},
                              {"Idempotency-Key": uuid.uuid4().hex})
            # b still serves what it cached: nothing told it of the write
            assert names(by_email(b, org.key, email)[0]) == ["Before"]

            # within the lease and a renewal or two, b takes a's lease up
            deadline = time.monotonic() + LEASE_MS / 1000 * 3 + 5
            seen = None
            while time.monotonic() < deadline:
                seen = names(by_email(b, org.key, email)[0])
                if seen == ["After"]:
                    break
                time.sleep(0.2)
            assert seen == ["After"], (seen, b.log_text())
            # taken up by b or by the stack's own pool, whichever came first
            assert sql("SELECT count(*) FROM pool_leases WHERE host_id = '%s'"
                       % hosts[0]).strip() == "0"
            assert sql("SELECT count(*) FROM pool_lease_orgs WHERE host_id = '%s'"
                       % hosts[0]).strip() == "0"
        finally:
            a.stop()


def test_a_replay_on_another_pool_shows_what_it_replays(sql):
    """The client of a write whose pool died retries it, with its
    Idempotency-Key, and another pool replays the stored answer: that 2xx
    promises read-your-writes, though the first pool never published the
    write.  So a replay retires the organization's cached answers first."""
    fault_build()
    org = new_org("host-lease-replay")
    email = uniq_email()
    idem = {"Idempotency-Key": uuid.uuid4().hex}
    doc = {"email": email, "name": "After"}
    with FaultDir() as fdir, PrivatePool(settings(host_name="replays.test",
                                                  host_lease_ms="60000")) as b:
        a = PrivatePool(settings(host_name="dies-again.test", host_lease_ms="60000"),
                        env={"CONTACTS_FAULT_DIR": fdir.path})
        try:
            assert post(b, org.key, {"email": email, "name": "Before"})[0] in (200, 201)
            for _ in range(3):
                assert names(by_email(b, org.key, email)[0]) == ["Before"]
            dies_after_commit(sql, a, fdir, org, doc, idem)
            status, headers, _ = post(b, org.key, doc, headers=idem)
            assert status == 200 and headers.get("idempotent-replayed") == "true", \
                (status, headers)
            # long before anyone takes a's lease up (60 s)
            assert names(by_email(b, org.key, email)[0]) == ["After"]
        finally:
            a.stop()


def test_a_pool_that_stops_gives_its_lease_back(sql):
    org = new_org("host-lease-stop")
    with PrivatePool(settings(host_name="stops.test")) as p:
        assert post(p, org.key, {"email": uniq_email(), "name": "X"})[0] in (200, 201)
        rows = sql("SELECT h.host_id, o.org_id FROM pool_leases h JOIN pool_lease_orgs o "
                   "USING (host_id) WHERE h.host_name = 'stops.test'").split()
        assert rows and rows[0].endswith("|" + org.org_id), rows
        epoch = sql("SELECT cache_epoch FROM organizations WHERE id = '%s'" % org.org_id)
    # a clean stop settles nothing: no epoch bump for anyone, no row left
    assert sql("SELECT count(*) FROM pool_leases WHERE host_name = 'stops.test'").strip() == "0"
    assert sql("SELECT count(*) FROM pool_lease_orgs WHERE org_id = '%s'"
               % org.org_id).strip() == "0"
    assert sql("SELECT cache_epoch FROM organizations WHERE id = '%s'" % org.org_id) == epoch


def test_the_pools_connections_carry_its_lease(sql):
    with PrivatePool(settings(host_name="names.test")) as p:
        assert p.request("GET", "/healthz")[0] == 200
        host = sql("SELECT host_id FROM pool_leases WHERE host_name = 'names.test'").strip()
        assert host
        n = sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                "'contacts-fcgi %s'" % host).strip()
        assert int(n) == int(p.settings["workers"]), n


def test_a_revocation_waits_out_the_longest_key_lease_of_any_host(sql):
    """contactsctl runs with its own host's auth_cache_ms (the stack's 20);
    a pool elsewhere trusts a key's record for 900 ms.  A revocation that
    waited only its own lease would return while that pool still accepts
    the key."""
    org = new_org("host-lease-revoke")
    # one worker: the second request finds the first one's lease
    with PrivatePool(settings(host_name="long-lease.test", workers="1",
                              auth_cache_ms="900")) as p:
        assert stack.wait_until(lambda: sql(
            "SELECT auth_cache_ms FROM pool_leases WHERE host_name = "
            "'long-lease.test'").strip() == "900", 5)
        assert p.request("GET", "/test", key=org.key)[0] == 200  # leased now
        ctl("key", "revoke", key_id_of(org.key))
        assert p.request("GET", "/test", key=org.key)[0] == 401
