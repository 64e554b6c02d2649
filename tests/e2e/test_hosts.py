"""Several hosts behind one upstream (issue 15).

Rate limits across hosts (policy.h): pools that say
pool_hosts = 2 count a key's requests and an address's failed
authentications in Redis, for both at once; while Redis cannot be reached
each counts alone with its share of the rate.

Two private pools stand for two hosts behind one upstream (their own
masters, sockets and shared-memory tables; the stack's PostgreSQL and,
unless a test says otherwise, its Redis).  Requests go to their sockets
directly, alternating, as an upstream spreading them would.  Each test
also runs the same requests through pools that count alone
(pool_hosts = 1), to show what the shared count prevents.
"""

import random
import socket

from conftest import ctl, new_org
from private_pool import PrivatePool
import stack


def limited_key(org_id, per_s):
    key = ctl("key", "create", org_id, "--name", "limited-hosts",
              "--rate-limit", str(per_s)).stdout.strip()
    assert key.startswith("ck_"), key
    return key


def two_pools(hosts, redis=None, **settings):
    s = {"pool_hosts": str(hosts),
         "redis": redis if redis is not None else "127.0.0.1:%d" % stack.redis_port()}
    s.update(settings)
    return PrivatePool(dict(s)), PrivatePool(dict(s))


def alternate(pools, n, **kw):
    """n requests of GET /test, alternating between the pools: statuses."""
    return [pools[i % len(pools)].request("GET", "/test", **kw)[0]
            for i in range(n)]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


def test_a_key_gets_its_rate_through_two_hosts_not_twice_it():
    org = new_org("limits-hosts")
    rate = 10
    # 40 requests in well under a second: the burst (10) and what the rate
    # adds meanwhile, a request or two.
    a, b = two_pools(2)
    with a, b:
        key = limited_key(org.org_id, rate)
        statuses = alternate((a, b), 40, key=key)
    ok = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert rate <= ok <= rate + 2, statuses
    # The same through two hosts that count alone: each grants the burst.
    a, b = two_pools(1)
    with a, b:
        key = limited_key(org.org_id, rate)
        alone = alternate((a, b), 40, key=key).count(200)
    assert alone >= 2 * rate, alone


def test_while_redis_is_down_each_host_allows_its_share():
    org = new_org("limits-hosts-down")
    rate = 10
    a, b = two_pools(2, redis="127.0.0.1:%d" % closed_port())
    with a, b:
        key = limited_key(org.org_id, rate)
        statuses = alternate((a, b), 40, key=key)
        headers = a.request("GET", "/test", key=key)[1]
    ok = statuses.count(200)
    assert rate <= ok <= rate + 2, statuses
    # What a host says it allows is what it enforces while counting alone.
    assert headers.get("ratelimit-limit") == str(rate // 2), headers


def test_failed_authentications_are_counted_across_hosts():
    limit = 4  # a minute
    addr = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254),
                             random.randint(2, 254))
    bad = "ck_%s_%s" % ("".join(random.choice("ABCDEFGHJK") for _ in range(9)),
                        "x" * 43)
    settings = {"auth_fail_limit": str(limit), "auth_fail_exempt": ""}
    a, b = two_pools(2, **settings)
    with a, b:
        statuses = alternate((a, b), 12, key=bad, remote_addr=addr)
    assert set(statuses) <= {401, 429}, statuses
    # Each host refuses from the first failure it sees after the limit was
    # reached anywhere: at most one more a host.
    assert limit <= statuses.count(401) <= limit + 1, statuses
    assert statuses[-4:] == [429] * 4, statuses
    # Two hosts counting alone: each lets the address fail its limit.
    addr2 = addr.rsplit(".", 1)[0] + ".1"
    a, b = two_pools(1, **settings)
    with a, b:
        alone = alternate((a, b), 12, key=bad, remote_addr=addr2)
    assert alone.count(401) == 2 * limit, alone


def test_every_metric_names_its_host():
    with PrivatePool({"host_name": "api-7.test"}) as p:
        assert p.request("GET", "/test")[0] == 401  # something to count
        status, _, body = p.request("GET", "/metrics")
    assert status == 200
    samples = [l for l in body.decode().splitlines() if l and not l.startswith("#")]
    assert any(l.startswith("contacts_requests_total{") for l in samples), samples
    for line in samples:
        assert stack.METRIC_RE.match(line), line
        assert '{host="api-7.test"' in line, line
