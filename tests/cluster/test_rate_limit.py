"""A key limited to 100 requests/s through the three pools gets no more
than 100/s and its burst (100) over a window: the pools count it
together in Redis (pool_hosts = 3; fcgi-app/ratelimit*, cache_gcra)."""
import threading
import time

from conftest import record

RATE = 100
WINDOW = 3.0


def test_a_key_gets_its_rate_through_three_pools(cluster):
    org = cluster.ctl("org", "create", "rate-limit")
    key = cluster.ctl("key", "create", org, "--name", "limited",
                      "--rate-limit", str(RATE))
    statuses = []
    start = time.monotonic()

    def client():
        while time.monotonic() - start < WINDOW:
            statuses.append(cluster.request("GET", "/test",
                                            headers={"X-API-Key": key})[0])

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - start
    ok, limited = statuses.count(200), statuses.count(429)
    record("rate limit 100/s through three pools",
           window_seconds=elapsed, answered_200=ok, answered_429=limited)
    assert set(statuses) <= {200, 429}, set(statuses)
    # the burst, and the rate over the window (the last request may end a
    # little after it)
    assert ok <= RATE + RATE * elapsed + 2, (ok, limited, elapsed)
    # and the limit is a limit, not a refusal: about the rate got through
    assert ok >= RATE * WINDOW * 0.8, (ok, limited, elapsed)
    assert limited > 0, (ok, limited)
