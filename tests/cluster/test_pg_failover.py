"""kill -9 of the primary's postmaster under a steady read/write mix.

Patroni (primary_start_timeout 0) does not restart the crashed primary in
place: it gives up the leader key and the synchronous replica takes over;
the pools find the new primary by themselves (libpq's multi-host
conninfo with target_session_attrs=read-write).  Then Patroni makes the
old primary a replica of the new one (pg_rewind), streaming
synchronously again.  No write answered 2xx is lost, no read is stale.
"""
import signal
import time

from cluster import MEMBERS, signal_checked, wait_until
from conftest import record
from mix import Mix


def test_kill_the_primary_postmaster(cluster):
    org, key = cluster.new_org("pg-failover")
    old = cluster.pg_primary()
    new = [n for n in MEMBERS if n != old][0]
    pid = cluster.postmaster_pid(old)
    assert pid, "no postmaster pid for pg%d" % old
    mix = Mix(cluster, key, "pgf").start()
    try:
        time.sleep(3)
        t_kill = time.monotonic()
        signal_checked(pid, signal.SIGKILL, "postgres")
        assert wait_until(lambda: cluster.pg_primary() == new, 60, 0.1), \
            "pg%d was not promoted: %s" % (new, cluster.patroni_members())
        t_promoted = time.monotonic()
        # the pools reconnect by themselves: writes are answered again
        assert wait_until(lambda: any(
            w["t0"] > t_promoted and 200 <= w["status"] < 300
            for w in list(mix.writes)), 30, 0.1), \
            "no write answered since the promotion: " + mix.summary()
        t_writes = min(w["t1"] for w in list(mix.writes)
                       if w["t0"] > t_promoted and 200 <= w["status"] < 300)
        time.sleep(3)
    finally:
        mix.stop()
    # the old primary rejoins, as a replica that streams synchronously
    assert wait_until(cluster.pg_replicated, 120, 0.5), \
        "pg%d did not rejoin as a streaming replica: %s" % (
            old, cluster.patroni_members())
    t_rejoined = time.monotonic()
    assert cluster.pg_primary() == new
    fails = [f for f in mix.failures() if f["t1"] >= t_kill]
    gap, _ = mix.longest_write_gap(since=t_kill)
    record("postgresql failover (kill -9 of the primary postmaster)",
           failover_seconds=t_promoted - t_kill,
           first_write_answered_after_kill_seconds=t_writes - t_kill,
           error_seconds=(fails[-1]["t1"] - fails[0]["t0"]) if fails else 0.0,
           longest_gap_between_answered_writes=gap,
           failed_requests=len(fails),
           failed_reads=sum(1 for f in fails if f["kind"] == "read"),
           failed_by_status=dict(sorted(
               {s: sum(1 for f in fails if f["status"] == s)
                for s in {f["status"] for f in fails}}.items())),
           requests=len(mix.writes) + len(mix.reads),
           rejoined_seconds=t_rejoined - t_kill)
    # only the outage's statuses: nothing else went wrong
    assert {f["status"] for f in mix.failures()} <= {503, 502, 500}, mix.summary()
    mix.audit(org)
