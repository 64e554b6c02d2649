"""The Redis master killed: Sentinel promotes the replica.

Under a steady mix, no request fails (the cache is optional: a miss goes
to PostgreSQL).  And deterministically: entries the pools filled under
the old master, which the promoted replica holds with counters from
before the last update (it was frozen and cut off when the update bumped
them), are never served: entry keys carry the master's replication id
(c7:<org>:<rid>:...), which the promotion changes.
"""
import signal
import time

from cluster import POOLS, REDISES, signal_checked, state, wait_until
from conftest import record
from mix import Mix


def hits(cluster, n):
    status, body = cluster.fcgi(n, "GET", "/metrics")
    assert status == 200, body
    for line in body.decode().splitlines():
        if line.startswith("contacts_cache_hits_total"):
            return int(float(line.split()[-1]))
    raise AssertionError("no contacts_cache_hits_total in pool%d's metrics" % n)


def test_kill_the_redis_master_under_the_mix(cluster):
    org, key = cluster.new_org("redis-failover")
    old = cluster.redis_master()
    new = [n for n in REDISES if n != old][0]
    pid = cluster.redis_pid(old)
    mix = Mix(cluster, key, "rf").start()
    try:
        time.sleep(3)
        t_kill = time.monotonic()
        signal_checked(pid, signal.SIGKILL, "redis-server")
        assert wait_until(lambda: cluster.redis_master() == new, 30, 0.1), \
            "the sentinels did not promote redis%d" % new
        t_promoted = time.monotonic()
        time.sleep(3)
    finally:
        mix.stop()
    record("redis failover (kill -9 of the master)",
           failover_seconds=t_promoted - t_kill,
           failed_requests=len(mix.failures()),
           requests=len(mix.writes) + len(mix.reads))
    assert not mix.failures(), "requests failed: " + mix.summary()
    mix.audit(org)


def test_a_promoted_replica_serves_nothing_the_old_master_cached(cluster):
    org, key = cluster.new_org("redis-stale")
    email = "stale-%d@example.com" % time.time_ns()
    q = "email=" + email.replace("@", "%40")
    status, _, body = cluster.request("POST", "/contacts",
                                      {"email": email, "name": "before"},
                                      headers={"X-API-Key": key})
    assert status == 201, body
    old = cluster.redis_master()
    rep = [n for n in REDISES if n != old][0]
    mport, rport = cluster.redis_port(old), cluster.redis_port(rep)
    # the replica has all of it so far
    assert wait_until(lambda: cluster.redis_info(rport).get("slave_repl_offset")
                      == cluster.redis_info(mport).get("master_repl_offset"), 10)
    rpid = cluster.redis_pid(rep)
    signal_checked(rpid, signal.SIGSTOP, "redis-server")
    try:
        assert wait_until(lambda: state(rpid) == "T", 5)
        # the cache filled through every pool: the second read is a hit
        for n in POOLS:
            before = hits(cluster, n)
            for _ in range(2):
                status, body = cluster.fcgi(n, "GET", "/contacts", q, key)
                assert status == 200 and b'"before"' in body, (n, status, body)
            assert hits(cluster, n) > before, "pool%d: no cache hit" % n
        # What the master sent so far sits in the frozen replica's socket;
        # nothing after this reaches it.
        cluster.redis_cmd(mport, "CLIENT", "KILL", "TYPE", "replica")
        status, _, body = cluster.request("POST", "/contacts",
                                          {"email": email, "name": "after"},
                                          headers={"X-API-Key": key})
        assert status == 200, body
        counters = cluster.redis_cmd(mport, "HGETALL", "g2:" + org)
        signal_checked(cluster.redis_pid(old), signal.SIGKILL, "redis-server")
    finally:
        signal_checked(rpid, signal.SIGCONT, "redis-server")
    assert wait_until(lambda: cluster.redis_master() == rep, 30, 0.1), \
        "the sentinels did not promote redis%d" % rep
    # the premise: the promoted replica missed the bump, and holds the
    # entries filled under the old master's replication id
    assert cluster.redis_cmd(rport, "HGETALL", "g2:" + org) != counters, \
        "the replica did not miss the counter bump"
    rid = cluster.redis_info(rport)["master_replid"][:16]
    entries = cluster.redis_cmd(rport, "KEYS", "c7:%s:*" % org)
    assert entries and all(e.split(b":")[2].decode() != rid for e in entries), entries
    # every pool, every worker (direct connections land on any of them)
    for n in POOLS:
        for _ in range(3 * cluster.workers):
            status, body = cluster.fcgi(n, "GET", "/contacts", q, key)
            assert status == 200, (n, status, body)
            assert b'"after"' in body, "pool%d served a stale answer: %r" % (n, body)
