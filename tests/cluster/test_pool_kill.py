"""A whole pool (its master and every worker) killed mid-write.

nginx moves on to the other pools: reads and writes with an
Idempotency-Key are retried there (nginx/contacts.conf,
$contacts_retry), a write without one gets 502.  Every write answered
2xx is in PostgreSQL; only unanswered writes may be missing.  Then the
pool is started again (scripts/cluster up) and serves again.
"""
import re
import time

from conftest import record
from mix import Mix


def retried(log):
    """Access log lines of requests nginx passed to more than one pool
    ($upstream_response_time has one time per pool tried)."""
    return [l for l in log.splitlines()
            if re.search(r" \S+ \d+ \d+ \S+ [0-9.]+, ", l)]


def test_kill_a_whole_pool_mid_write(cluster):
    org, key = cluster.new_org("pool-kill")
    victim = 2
    log_at = len(cluster.nginx_access_log())
    mix = Mix(cluster, key, "pk").start()
    try:
        time.sleep(3)
        cluster.kill_pool(victim)
        time.sleep(5)
    finally:
        mix.stop()
    fails = mix.failures()
    again = retried(cluster.nginx_access_log()[log_at:])
    record("a whole pool killed (kill -9 of its master and workers)",
           failed_requests=len(fails),
           failed_unkeyed_writes_502=sum(1 for f in fails if f["status"] == 502),
           retried_requests=len(again),
           keyed_writes_sent_again_after_409_in_progress=mix.in_progress,
           requests=len(mix.writes) + len(mix.reads))
    # only writes without a key may fail, and only as nginx's 502
    bad = [f for f in fails
           if not (f["kind"] == "write" and not f["keyed"] and f["status"] == 502)]
    assert not bad, "failed besides unkeyed writes' 502: %s; %s" % (
        bad[:5], mix.summary())
    mix.audit(org)
    # started again, and nginx sends it requests again (after fail_timeout)
    cluster.up()
    size = len(cluster.pool_log(victim))
    time.sleep(5.5)
    for _ in range(30):
        status, _, _ = cluster.request("GET", "/test", headers={"X-API-Key": key})
        assert status == 200
    assert 'route="GET /test"' in cluster.pool_log(victim)[size:], \
        "the restarted pool got no request"
