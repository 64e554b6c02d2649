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

# The upstream's fail_timeout (scripts/cluster, 5 s), which nginx counts in
# whole seconds, and a little.
FAIL_TIMEOUT = 7


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

    # The pool stays dead.  After fail_timeout nginx tries it again: a GET,
    # or a write with a key, that lands on it is retried on another pool
    # and answered; a write without a key gets 502 and is not retried.
    gets = until_the_dead_pool_is_tried(cluster, key, "retry-get", lambda i: (
        "GET", "/contacts?email=" + email.replace("@", "%40"), None))
    keyed = until_the_dead_pool_is_tried(cluster, key, "retry-keyed", lambda i: (
        "POST", "/contacts", {"email": email, "name": "k%d" % i}), keyed=True)
    unkeyed = until_the_dead_pool_is_tried(cluster, key, "retry-unkeyed", lambda i: (
        "POST", "/contacts", {"email": email, "name": "u%d" % i}))
    assert {st for st, _ in gets} == {200}, gets
    assert any(tries(l) > 1 for _, l in gets), gets
    assert {st for st, _ in keyed} == {200}, keyed
    assert any(tries(l) > 1 for _, l in keyed), keyed
    assert {st for st, _ in unkeyed} <= {200, 502}, unkeyed
    assert unkeyed[-1][0] == 502, unkeyed
    assert all(tries(l) == 1 for _, l in unkeyed), unkeyed
    record("retries (one pool dead)",
           gets_retried=sum(1 for _, l in gets if tries(l) > 1),
           keyed_writes_retried=sum(1 for _, l in keyed if tries(l) > 1),
           unkeyed_writes_502=sum(1 for st, _ in unkeyed if st == 502))


def until_the_dead_pool_is_tried(cluster, key, prefix, make, keyed=False):
    """After the upstream's fail_timeout (nginx counts it in whole
    seconds), requests MAKE(i) -> (method, path, body), each with an
    Idempotency-Key of its own when KEYED, until nginx has tried the dead
    pool with one (it was retried, or failed), at most 30: [(status,
    access log line)]."""
    time.sleep(FAIL_TIMEOUT)
    out = []
    for i in range(30):
        method, path, body = make(i)
        rid = "%s-%s-%d" % (prefix, uuid.uuid4().hex[:8], i)
        headers = {"X-API-Key": key, "X-Request-Id": rid}
        if keyed:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        log_at = len(cluster.nginx_access_log())
        status, _, _ = cluster.request(method, path, body, headers=headers)
        # nginx logs a request once it has answered it
        line = wait_until(lambda: access_lines(cluster, log_at, "rid=" + rid), 5)
        assert len(line) == 1, line
        out.append((status, line[0]))
        if status != 200 or tries(line[0]) > 1:
            break
    return out
