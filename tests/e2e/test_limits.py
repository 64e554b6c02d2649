"""Rate limits: requests per API key, failed authentications per client
address.  Both are answered 429 with the contract's error shape and a
Retry-After that is the actual wait, in whole seconds; a refused request
writes nothing.

The test stack exempts 127.0.0.1 from the failed-authentication count
(scripts/lib.sh), so the suite's own 401 tests are not counted; the tests
here connect from other loopback addresses (127.x.y.z), which nginx passes
on as the client's address.
"""

import random
import re
import time

import pytest

from conftest import (assert_error, ctl, key_id_of, new_key, new_org,
                      request, uniq_email)

FAIL_LIMIT = 10      # auth_fail_limit's default: failures per minute
FAIL_PERIOD = 60.0


def wrong_key():
    return "ck_%s_%s" % ("".join(random.choice("ABCDEFGHJK") for _ in range(9)),
                         "x" * 43)


def fresh_address():
    """A loopback address no other test uses (and no earlier run, for
    a minute, on a stack that is kept)."""
    return "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254),
                             random.randint(2, 254))


def retry_after(r):
    value = r.header("Retry-After")
    assert value is not None and re.fullmatch(r"[1-9][0-9]*", value), r
    return int(value)


def limited_key(org_id, per_s):
    key = ctl("key", "create", org_id, "--name", "limited",
              "--rate-limit", str(per_s)).stdout.strip()
    assert key.startswith("ck_"), key
    return key


def burst(key, n, path="/test"):
    return [request("GET", path, key=key) for _ in range(n)]


# --------------------------------------------------------------------------
# per key


def test_key_over_its_rate_gets_429_with_retry_after(api):
    key = limited_key(api.org_id, 3)
    answers = burst(key, 8)
    statuses = [r.status for r in answers]
    # a burst of 3 is allowed (refill at 3/s may let one more through on
    # a slow machine); then 429s
    assert statuses[:3] == [200, 200, 200], statuses
    refused = [r for r in answers if r.status == 429]
    assert len(refused) >= 3, statuses
    for r in refused:
        assert_error(r, 429, "rate_limited")
        assert retry_after(r) <= 1, r
        assert "key" in r.error["message"], r
    # the wait it named is enough
    time.sleep(retry_after(refused[-1]) + 0.1)
    assert request("GET", "/test", key=key).status == 200


def test_limit_is_per_key(api):
    limited = limited_key(api.org_id, 2)
    other = new_key(api.org_id)
    burst(limited, 5)
    assert request("GET", "/test", key=limited).status == 429
    # the same organization's other key is not affected
    for r in burst(other, 20):
        assert r.status == 200, r


def test_refused_write_writes_nothing(api):
    key = limited_key(api.org_id, 1)
    email = uniq_email()
    assert request("GET", "/test", key=key).status == 200  # uses the burst
    r = request("POST", "/contacts", {"email": email}, key=key)
    assert_error(r, 429, "rate_limited")
    time.sleep(retry_after(r) + 0.1)
    r = api.get("/contacts", params={"email": email})
    assert r.status == 200 and r.json["contacts"] == [], r


def test_key_limit_can_be_changed_and_removed(api):
    key = limited_key(api.org_id, 1)
    burst(key, 3)
    assert request("GET", "/test", key=key).status == 429
    # 0: no limit; the change holds once contactsctl returns
    out = ctl("key", "limit", key_id_of(key), "0").stdout
    assert "rate limit 0" in out
    for r in burst(key, 30):
        assert r.status == 200, r
    listed = ctl("key", "list", api.org_id).stdout
    row = [line for line in listed.splitlines() if key_id_of(key) in line]
    assert row and re.search(r"\s0\s", row[0]), listed
    ctl("key", "limit", key_id_of(key), "default")
    listed = ctl("key", "list", api.org_id).stdout
    row = [line for line in listed.splitlines() if key_id_of(key) in line]
    assert "default" in row[0], listed


def test_ctl_refuses_a_bad_limit(api):
    for bad in ("-1", "x", "1.5", "1000001", ""):
        p = ctl("key", "create", api.org_id, "--rate-limit", bad, check=False)
        assert p.returncode != 0 and "rate limit" in p.stderr, (bad, p.stderr)
        assert p.stdout == "", "no key may be printed"


# --------------------------------------------------------------------------
# failed authentications per client address


def test_failed_auth_limited_per_address(api):
    addr = fresh_address()
    for i in range(FAIL_LIMIT):
        r = request("GET", "/test", key=wrong_key(), source=addr)
        assert_error(r, 401, "unauthorized")
    # past the limit the address is refused before any key is checked,
    # even a good one, until one failure's worth of time has passed
    for key in (wrong_key(), api.key, None):
        r = request("GET", "/contacts", key=key, source=addr)
        assert_error(r, 429, "rate_limited")
        wait = retry_after(r)
        assert 1 <= wait <= FAIL_PERIOD / FAIL_LIMIT + 1, r
        assert "failed authentications" in r.error["message"], r
    # a write from there writes nothing
    email = uniq_email()
    r = request("POST", "/contacts", {"email": email}, key=api.key,
                source=addr)
    assert_error(r, 429, "rate_limited")
    assert api.get("/contacts", params={"email": email}).json["contacts"] == []
    # other addresses are not affected
    other = fresh_address()
    assert_error(request("GET", "/test", key=wrong_key(), source=other),
                 401, "unauthorized")
    assert request("GET", "/test", key=api.key, source=other).status == 200
    # the exempt address (the test stack's 127.0.0.1) never is
    for _ in range(FAIL_LIMIT + 2):
        assert_error(request("GET", "/test", key=wrong_key()), 401,
                     "unauthorized")
    assert request("GET", "/test", key=api.key).status == 200


def test_successes_do_not_count_and_the_limit_recovers(api):
    addr = fresh_address()
    for _ in range(30):
        assert request("GET", "/test", key=api.key, source=addr).status == 200
    for _ in range(FAIL_LIMIT):
        assert request("GET", "/test", key=wrong_key(),
                       source=addr).status == 401
    r = request("GET", "/test", key=api.key, source=addr)
    assert_error(r, 429, "rate_limited")
    # after the named wait one more attempt is allowed (one failure's
    # worth of the rate has come back), not a whole new burst
    time.sleep(retry_after(r) + 0.2)
    assert request("GET", "/test", key=api.key, source=addr).status == 200
    assert request("GET", "/test", key=wrong_key(), source=addr).status == 401
    assert_error(request("GET", "/test", key=api.key, source=addr), 429,
                 "rate_limited")


def test_healthz_is_never_limited():
    addr = fresh_address()
    for _ in range(FAIL_LIMIT):
        request("GET", "/test", key=wrong_key(), source=addr)
    r = request("GET", "/healthz", source=addr)
    assert r.status == 200, r
