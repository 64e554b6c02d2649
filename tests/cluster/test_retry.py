"""Which requests nginx retries on another pool (nginx/contacts.conf,
$contacts_retry): a POST without an Idempotency-Key whose pool dies
mid-request gets 502 and is never sent to a second pool (which would
write it twice); a GET, and a write with a key, are retried and
answered.

The POST is held mid-request by a row lock (psql holds SELECT ... FOR
UPDATE on the contact), so its pool is killed while its worker waits in
PostgreSQL; pg_stat_activity names the pool (application_name).
"""
import re
import threading
import time
import uuid

from cluster import RowLock, wait_until
from conftest import record

FAIL_TIMEOUT = 5.5  # the upstream's fail_timeout (scripts/cluster), and a little


def access_lines(cluster, since, pattern):
    return [l for l in cluster.nginx_access_log()[since:].splitlines()
            if re.search(pattern, l)]


def tries(line):
    """How many pools nginx tried for the request of an access log line:
    $upstream_response_time has one time per pool."""
    m = re.search(r'" \d+ \d+ \S+ (.*) rid=', line)
    return len(m.group(1).split(",")) if m else 0


def test_a_post_without_a_key_is_never_sent_to_a_second_pool(cluster):
    org, key = cluster.new_org("retry")
    email = "retry-%d@example.com" % time.time_ns()
    status, _, body = cluster.request("POST", "/contacts",
                                      {"email": email, "name": "v0"},
                                      headers={"X-API-Key": key})
    assert status == 201, body
    cid = body["contact"]["id"]
    rid = "retry-" + uuid.uuid4().hex
    log_at = len(cluster.nginx_access_log())
    out = {}
    with RowLock(cluster, org, cid):
        t = threading.Thread(target=lambda: out.update(r=cluster.request(
            "POST", "/contacts", {"email": email, "name": "locked"},
            headers={"X-API-Key": key, "X-Request-Id": rid}, timeout=30)))
        t.start()
        waiting = wait_until(lambda: cluster.psql(
            "SELECT application_name FROM pg_stat_activity WHERE "
            "wait_event_type = 'Lock' AND application_name LIKE 'pool%'"), 10, 0.05)
        assert waiting, "the POST does not wait for the row lock"
        victim = int(waiting[0][0][len("pool"):])
        cluster.kill_pool(victim)
        t.join(timeout=30)
    assert out["r"][0] == 502, out["r"]
    time.sleep(1)  # what the killed worker's session still does, done
    line = access_lines(cluster, log_at, "rid=" + rid)
    assert len(line) == 1 and tries(line[0]) == 1, line
    for n in (1, 2, 3):
        assert rid not in cluster.pool_log(n), "pool%d saw the POST" % n
    # at most the one write (the killed worker's session may have finished it)
    rows = cluster.psql("SELECT count(*) FROM changes WHERE org_id = '%s' AND "
                        "contact_id = '%s' AND op = 'update'" % (org, cid))
    assert int(rows[0][0]) <= 1, rows

    # The pool stays dead.  After fail_timeout nginx tries it again: GETs
    # that land on it are retried on another pool and answered.
    time.sleep(FAIL_TIMEOUT)
    log_at = len(cluster.nginx_access_log())
    for i in range(12):
        status, _, _ = cluster.request("GET", "/contacts?email=" + email.replace("@", "%40"),
                                       headers={"X-API-Key": key,
                                                "X-Request-Id": "retry-get-%d" % i})
        assert status == 200
    gets = access_lines(cluster, log_at, "rid=retry-get-")
    assert len(gets) == 12 and any(tries(l) > 1 for l in gets), gets
    retried_gets = sum(1 for l in gets if tries(l) > 1)
    # Writes with a key likewise; writes without one are not retried.
    time.sleep(FAIL_TIMEOUT)
    log_at = len(cluster.nginx_access_log())
    statuses = {"keyed": [], "unkeyed": []}
    for i in range(12):
        status, _, _ = cluster.request(
            "POST", "/contacts", {"email": email, "name": "k%d" % i},
            headers={"X-API-Key": key, "Idempotency-Key": uuid.uuid4().hex,
                     "X-Request-Id": "retry-keyed-%d" % i})
        statuses["keyed"].append(status)
    time.sleep(FAIL_TIMEOUT)
    for i in range(12):
        status, _, _ = cluster.request(
            "POST", "/contacts", {"email": email, "name": "u%d" % i},
            headers={"X-API-Key": key, "X-Request-Id": "retry-unkeyed-%d" % i})
        statuses["unkeyed"].append(status)
    keyed = access_lines(cluster, log_at, "rid=retry-keyed-")
    unkeyed = access_lines(cluster, log_at, "rid=retry-unkeyed-")
    assert set(statuses["keyed"]) == {200}, statuses
    assert any(tries(l) > 1 for l in keyed), keyed
    assert set(statuses["unkeyed"]) <= {200, 502} and 502 in statuses["unkeyed"], statuses
    assert all(tries(l) == 1 for l in unkeyed), unkeyed
    record("retries (one pool dead)",
           gets_retried_of_12=retried_gets,
           keyed_writes_retried_of_12=sum(1 for l in keyed if tries(l) > 1),
           unkeyed_writes_502_of_12=statuses["unkeyed"].count(502))
