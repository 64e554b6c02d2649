"""The Redis read cache (docs/caching.md): hits, read-your-writes across
workers, and Redis failing in the middle.

- A repeated read is a hit (by the /metrics counters) and returns the
  same bytes as the miss that filled it.
- Hundreds of write-then-read rounds, every request on a fresh connection
  (so they land on different workers), with the old value cached just
  before each write: every read after the write sees it, for the email
  look-up and for the page that holds the contact.  Also with several
  writers at once, and with readers racing a writer.
- Redis stopped in the middle: every endpoint still answers correctly;
  started again (as scripts/lib.sh starts it) the cache is used again and
  nothing changed during the outage is hidden by an older entry.
- Redis paused (SIGSTOP: unreachable but keeping its data): a write made
  during the pause is not hidden afterwards by the entries cached before
  it, which are still in Redis.

Redis is always left running (finally blocks).
"""

import concurrent.futures
import threading
import time

import pytest

import stack
from conftest import request, uniq_email

# Every request of these tests must be answered well within this (the
# service calls Redis with 5 ms timeouts and backs off reconnects).
SLOW = 2.0


@pytest.fixture
def redis_restored():
    """Whatever the test does to Redis, it runs and answers afterwards."""
    yield
    stack.ensure_redis()


def _by_id(r, contact_id):
    for c in r.json["contacts"]:
        if c["id"] == contact_id:
            return c
    return None


def _timed(fn, *args, **kw):
    t0 = time.monotonic()
    r = fn(*args, **kw)
    return r, time.monotonic() - t0


# --------------------------------------------------------------------------
# 1. a repeated read is a hit


def test_repeated_email_read_is_a_hit(api):
    c = api.create(name="Hit Me", company="Acme")
    params = {"email": c["email"]}

    before = stack.cache_counters()
    r1 = api.get("/contacts", params=params)
    mid = stack.cache_counters()
    r2 = api.get("/contacts", params=params)
    after = stack.cache_counters()

    assert r1.status == 200 and r2.status == 200, (r1, r2)
    assert r1.json["contacts"] == [c], r1
    # the first read after the create is a miss, the second a hit
    assert mid["misses"] > before["misses"], (before, mid)
    assert after["hits"] >= mid["hits"] + 1, (mid, after)
    assert after["errors"] == before["errors"], (before, after)
    # a hit answers the very bytes the miss answered
    assert r2.raw == r1.raw, (r1, r2)
    assert r2.header("Content-Type") == r1.header("Content-Type")
    assert r2.header("Link") is None and r1.header("Link") is None

    # and a third read (maybe on yet another worker) is a hit too
    r3 = api.get("/contacts", params=params)
    assert r3.raw == r1.raw
    assert stack.cache_counters()["hits"] >= after["hits"] + 1


def _header(value):
    """The counters an entry names (docs/caching.md, layout c5)."""
    head, _, _ = value.partition(b"\n")
    assert head.startswith(b"#"), value[:60]
    return dict(p.split(b"=") for p in head[1:].split(b","))


def test_entry_is_served_only_under_its_counters(api):
    """White box, on the layout of docs/caching.md: an entry is served
    only while every counter it names still has the value it was read
    under; a counter it does not name leaves it a hit."""
    c = api.create(name="Tagged")
    params = {"email": c["email"]}
    api.get("/contacts", params=params)
    api.get("/contacts", params=params)
    keys = stack.redis_cmd("KEYS", "c7:%s:*:e:*" % api.org_id)
    assert len(keys) == 1, keys
    hkey = "g2:%s" % api.org_id
    value = stack.redis_cmd("GET", keys[0])
    names = _header(value)
    assert set(names) >= {b"o"} and any(n.startswith(b"m") for n in names), names
    for n, v in names.items():
        assert v == (stack.redis_cmd("HGET", hkey, n) or b"0"), (n, v)
    # an entry with the current counters is what a hit serves, byte for byte
    forged = value.replace(b'"Tagged"', b'"Forged"')
    assert stack.redis_cmd("SET", keys[0], forged) == "OK"
    r = api.get("/contacts", params=params)
    assert r.json["contacts"][0]["name"] == "Forged", r
    # another email's bucket, a block, a list: still a hit
    email_bucket = [n for n in names if n.startswith(b"m")][0]
    other = b"m%d" % ((int(email_bucket[1:]) + 1) % 65536)
    for n in (other, b"b0", b"l1", b"t"):
        stack.redis_cmd("HINCRBY", hkey, n, "1")
    r = api.get("/contacts", params=params)
    assert r.json["contacts"][0]["name"] == "Forged", r
    # once one of its counters moves on, the same entry is a miss
    stack.redis_cmd("HINCRBY", hkey, email_bucket, "1")
    r = api.get("/contacts", params=params)
    assert r.json["contacts"] == [c], r
    # and the refill is tagged with the new value
    assert _header(stack.redis_cmd("GET", keys[0]))[email_bucket] == \
        stack.redis_cmd("HGET", hkey, email_bucket)
    # the organization's own counter retires it too
    forged = stack.redis_cmd("GET", keys[0]).replace(b'"Tagged"', b'"Forged"')
    stack.redis_cmd("SET", keys[0], forged)
    stack.redis_cmd("HINCRBY", hkey, "o", "1")
    r = api.get("/contacts", params=params)
    assert r.json["contacts"] == [c], r


def test_repeated_page_read_is_a_hit(api):
    made = [api.create(name="p%d" % i) for i in range(3)]
    # a full page (carries Link) and a partial one, and the default page
    for params, full in (({"offset": 0, "limit": 2}, True),
                         ({"offset": 2, "limit": 2}, False),
                         (None, False)):
        # the first read finds which blocks the page spans, and stores
        # only that; the second fills the entry under their counters
        api.page(**(params or {}))
        r1 = api.page(**(params or {}))
        before = stack.cache_counters()
        r2 = api.page(**(params or {}))
        after = stack.cache_counters()
        assert after["hits"] >= before["hits"] + 1, (params, before, after)
        assert r2.raw == r1.raw, (params, r1, r2)
        assert r2.header("Link") == r1.header("Link"), (params, r1, r2)
        assert (r1.header("Link") is not None) == full, (params, r1)
    assert api.page().json["contacts"] == made


def test_hit_is_scoped_to_the_organization(api, api_b):
    """The same email in two organizations: each reads its own contact,
    cached or not."""
    email = uniq_email("both")
    a = api.create(email, name="In A")
    b = api_b.create(email, name="In B")
    for _ in range(3):
        assert api.find(email) == [a]
        assert api_b.find(email) == [b]
    assert api.page().json["contacts"] == [a]
    assert api_b.page().json["contacts"] == [b]


# --------------------------------------------------------------------------
# 2. read-your-writes, across workers, with the old value cached


ROUNDS = 300


def _round(api, contact, tag, window):
    """Caches the contact's current value (email look-up and two pages),
    writes a new name, then reads it back twice each way.  Returns a list
    of stale reads (empty when all is well)."""
    email = contact["email"]
    offset, limit = window
    stale = []
    # fill the cache with the value before the write
    api.get("/contacts", params={"email": email})
    api.get("/contacts", params={"offset": offset, "limit": limit})
    api.get("/contacts")
    r = api.post("/contacts", {"email": email, "name": tag})
    assert r.status == 200, r
    assert r.json["contact"]["name"] == tag, r
    for _ in range(2):  # the second read of each may well be a hit
        r = api.get("/contacts", params={"email": email})
        assert r.status == 200, r
        got = r.json["contacts"][0]["name"] if r.json["contacts"] else None
        if got != tag:
            stale.append(("email", tag, got, r.header("X-Request-Id")))
        r = api.get("/contacts", params={"offset": offset, "limit": limit})
        assert r.status == 200, r
        c = _by_id(r, contact["id"])
        if c is None or c["name"] != tag:
            stale.append(("page %d/%d" % (offset, limit), tag,
                          c and c["name"], r.header("X-Request-Id")))
        r = api.get("/contacts")
        assert r.status == 200, r
        c = _by_id(r, contact["id"])
        if c is None or c["name"] != tag:
            stale.append(("page", tag, c and c["name"],
                          r.header("X-Request-Id")))
    return stale


def _windows(n, size=4):
    """For contact i of n: an (offset, limit) page that holds it."""
    return [((i // size) * size, size) for i in range(n)]


def test_write_then_read_rounds(api):
    contacts = [api.create(name="start-%d" % i) for i in range(10)]
    windows = _windows(len(contacts))
    before = stack.cache_counters()
    stale = []
    for i in range(ROUNDS):
        j = i % len(contacts)
        stale += _round(api, contacts[j], "round-%d-%d" % (i, j), windows[j])
    after = stack.cache_counters()
    assert stale == [], "%d stale reads, first: %r" % (len(stale), stale[:5])
    # the cache was in play: the repeated reads were hits
    assert after["hits"] - before["hits"] >= ROUNDS, (before, after)
    # and the final state is every contact's last name
    final = {c["id"]: c["name"] for c in api.page().json["contacts"]}
    for j, c in enumerate(contacts):
        last = max(i for i in range(ROUNDS) if i % len(contacts) == j)
        assert final[c["id"]] == "round-%d-%d" % (last, j)


@pytest.mark.parametrize("threads", [4])
def test_concurrent_write_then_read_rounds(api, threads):
    per_thread = 3
    contacts = [api.create(name="c-%d" % i) for i in range(threads * per_thread)]
    windows = _windows(len(contacts), size=5)
    rounds = ROUNDS // threads

    def worker(t):
        stale = []
        mine = list(range(t * per_thread, (t + 1) * per_thread))
        for i in range(rounds):
            j = mine[i % per_thread]
            stale += _round(api, contacts[j], "t%d-%d" % (t, i), windows[j])
        return stale

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        results = [f.result(timeout=120)
                   for f in [ex.submit(worker, t) for t in range(threads)]]
    stale = [s for r in results for s in r]
    assert stale == [], "%d stale reads, first: %r" % (len(stale), stale[:5])


def test_readers_racing_a_writer_never_go_back(api):
    """A read that starts after a write was answered reflects it, while
    other readers keep filling the cache as the writer commits (the race
    docs/caching.md argues about)."""
    c = api.create(name="v00000")
    email = c["email"]
    writes = 150
    committed = [0]          # the last version whose write was answered
    done = threading.Event()
    lock = threading.Lock()
    problems = []

    def writer():
        try:
            for v in range(1, writes + 1):
                r = api.post("/contacts", {"email": email,
                                           "name": "v%05d" % v})
                if r.status != 200:
                    problems.append(("write", v, r))
                    return
                with lock:
                    committed[0] = v
        finally:
            done.set()

    def reader(kind):
        n = 0
        while not done.is_set() and n < 2000:
            n += 1
            with lock:
                floor = committed[0]
            if kind == "email":
                r = api.get("/contacts", params={"email": email})
                cs = r.json["contacts"] if r.status == 200 else None
            else:
                r = api.get("/contacts", params={"offset": 0, "limit": 1})
                cs = r.json["contacts"] if r.status == 200 else None
            if not cs:
                problems.append((kind, "answer", r))
                return n
            got = int(cs[0]["name"][1:])
            if got < floor:
                problems.append((kind, "stale", got, floor,
                                 r.header("X-Request-Id")))
        return n

    with concurrent.futures.ThreadPoolExecutor(5) as ex:
        rs = [ex.submit(reader, k) for k in ("email", "page", "email", "page")]
        w = ex.submit(writer)
        w.result(timeout=120)
        reads = sum(f.result(timeout=120) for f in rs)
    assert problems == [], problems[:5]
    assert reads >= 20, reads
    assert api.one(email)["name"] == "v%05d" % writes


# --------------------------------------------------------------------------
# 3. Redis stopped in the middle, then started again


def _check_all_endpoints(api, cached, tag):
    """Every endpoint answers correctly; returns the slowest duration.
    CACHED is a contact read (and cached) before; it is updated here."""
    slowest = 0.0
    statuses = []

    def go(fn, *a, **kw):
        nonlocal slowest
        r, dt = _timed(fn, *a, **kw)
        slowest = max(slowest, dt)
        statuses.append(r.status)
        assert r.status < 500, r
        return r

    r = go(request, "GET", "/healthz")
    assert r.status == 200 and r.json["status"] == "ok" and \
        r.json["postgres"] == "up", r
    r = go(api.get, "/test")
    assert r.status == 200 and r.json["organization_id"] == api.org_id, r

    # create, update, read back by email and in the pages
    new = go(api.post, "/contacts", {"email": uniq_email("out"),
                                     "name": "made " + tag})
    assert new.status == 201, new
    new = new.json["contact"]
    r = go(api.post, "/contacts", {"email": cached["email"],
                                   "name": "changed " + tag,
                                   "company": "During"})
    assert r.status == 200 and r.json["action"] == "IMPORT_UPDATE", r
    for _ in range(3):
        r = go(api.get, "/contacts", params={"email": cached["email"]})
        assert r.status == 200, r
        assert r.json["contacts"][0]["name"] == "changed " + tag, r
        assert r.json["contacts"][0]["company"] == "During", r
        r = go(api.get, "/contacts", params={"email": new["email"]})
        assert r.status == 200 and r.json["contacts"] == [new], r
        r = go(api.get, "/contacts")
        assert r.status == 200, r
        assert _by_id(r, cached["id"])["name"] == "changed " + tag, r
        assert _by_id(r, new["id"]) == new, r
        r = go(api.get, "/contacts", params={"offset": 0, "limit": 1})
        assert r.status == 200 and r.header("Link"), r

    # lists: create, add a contact, read the count
    r = go(api.post, "/lists", {"name": "list " + tag})
    assert r.status == 201, r
    lst = r.json["list"]
    r = go(api.post, "/contacts", {"email": new["email"],
                                   "addToLists": [lst["id"]]})
    assert r.status == 200 and r.json["listsUpdated"] == 1, r
    r = go(api.get, "/lists")
    assert r.status == 200, r
    got = [x for x in r.json["lists"] if x["id"] == lst["id"]]
    assert len(got) == 1 and got[0]["count"] == 1, r

    # errors are still the right errors
    r = go(api.get, "/contacts", params={"limit": 0})
    assert r.status == 400, r
    r = go(request, "GET", "/test")
    assert r.status == 401, r

    assert all(s < 500 for s in statuses), statuses
    return slowest, new


def _wait_for_hits(api, email, timeout=15):
    """Repeats a read until the hit counter moves (the cache is in use
    again); returns the seconds it took."""
    t0 = time.monotonic()
    start = stack.cache_counters()["hits"]
    while time.monotonic() - t0 < timeout:
        r = api.get("/contacts", params={"email": email})
        assert r.status == 200, r
        if stack.cache_counters()["hits"] > start:
            return time.monotonic() - t0
        time.sleep(0.05)
    pytest.fail("no cache hit within %ss of Redis being back" % timeout)


def test_redis_stopped_and_started_again(api, redis_restored):
    a = api.create(name="Before", company="Then")
    b = api.create(name="Untouched")
    # cache a's and b's values (and the pages) before the outage
    for _ in range(2):
        assert api.one(a["email"]) == a
        assert api.one(b["email"]) == b
        api.page()
    before = stack.cache_counters()
    assert before["hits"] > 0

    stack.redis_stop()
    try:
        # healthz says redis is down, on every worker
        for _ in range(8):
            r = request("GET", "/healthz")
            assert r.status == 200, r
            assert r.json == {"status": "ok", "postgres": "up",
                              "redis": "down"}, r
        slowest = 0.0
        for i in range(3):
            dt, new = _check_all_endpoints(api, a, "outage-%d" % i)
            slowest = max(slowest, dt)
        assert slowest < SLOW, "a request took %.2fs with Redis down" % slowest
        errors = stack.cache_counters()["errors"]
        assert errors > before["errors"], "the service never saw Redis fail"
    finally:
        stack.redis_start()

    # the cache is used again, without a restart of the service
    took = _wait_for_hits(api, b["email"])
    assert took < 10, took
    # what changed during the outage reads back, from any worker, cached
    # or not; what did not change is as it was
    for _ in range(8):
        got = api.one(a["email"])
        assert got["name"] == "changed outage-2" and \
            got["company"] == "During", got
        assert api.one(b["email"]) == b
        page = api.page()
        assert _by_id(page, a["id"])["name"] == "changed outage-2"
        assert _by_id(page, new["id"]) is not None
    # and writes after the restart are read back too
    for i in range(20):
        api.upsert({"email": a["email"], "name": "after-%d" % i})
        assert api.one(a["email"])["name"] == "after-%d" % i
        assert _by_id(api.page(), a["id"])["name"] == "after-%d" % i
    r = request("GET", "/healthz")
    assert r.json["redis"] == "up", r


def _wait_all_workers_lost_redis(api, log0, params, timeout=8):
    """Reads (a few threads) until every worker has logged a failed Redis
    call since byte LOG0 of the pool's log: then no worker holds a live
    connection to the paused Redis, so no command of a later write can
    sit in a socket buffer and reach Redis after SIGCONT."""
    ws = stack.workers()
    deadline = time.monotonic() + timeout

    def lost():
        text = stack.log_lines_since(log0)
        return {w for w in ws
                if any("pid=%d " % w in line and "redis" in line
                       and "failed" in line for line in text)}

    while time.monotonic() < deadline:
        if lost() >= set(ws):
            return
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            for r in ex.map(lambda _: api.get("/contacts", params=params),
                            range(8)):
                assert r.status == 200, r
        time.sleep(0.05)
    pytest.fail("workers %r never failed a Redis call while it was paused"
                % sorted(set(ws) - lost()))


def _paused_write(api, quiet_workers):
    """A contact cached (email look-up, pages) before Redis is paused with
    SIGSTOP: Redis cannot answer (the 5 ms timeouts fail) but keeps every
    entry.  A write during the pause cannot bump the generation in Redis,
    so it must bump the epoch: after SIGCONT the old entries are still in
    Redis and must not be served.

    quiet_workers: before the write, make every worker fail a Redis call
    (so none still has a connection): the write's INCR then never reaches
    Redis, not even late, and the epoch alone must hide the old entries.
    Otherwise the write's INCR may sit in a socket buffer and run when
    Redis resumes."""
    a = api.create(name="Cached", company="Old Co")
    others = [api.create(name="other-%d" % i) for i in range(3)]
    windows = [{"email": a["email"]}, {"offset": 0, "limit": 2},
               {"offset": 0, "limit": 4}, None]
    cached = {}
    for _ in range(3):  # miss then hits: the entries are in Redis
        for p in windows:
            r = api.get("/contacts", params=p)
            assert r.status == 200, r
            cached[repr(p)] = r.raw
    h0 = stack.cache_counters()["hits"]
    assert h0 > 0
    gkey = "g2:%s" % api.org_id
    old_keys = stack.redis_cmd("KEYS", "c*:%s:*" % api.org_id)
    assert len(old_keys) >= len(windows), old_keys
    gen0 = stack.redis_cmd("HGETALL", gkey)

    log0 = stack.log_size()
    pid = stack.redis_pause()
    paused = True
    try:
        if quiet_workers:
            _wait_all_workers_lost_redis(api, log0, {"email": others[0]["email"]})
        r, dt = _timed(api.post, "/contacts",
                       {"email": a["email"], "name": "Paused Write",
                        "company": None})
        assert r.status == 200, r
        assert dt < SLOW, "the write took %.2fs with Redis paused" % dt
        # read during the pause: from PostgreSQL
        for _ in range(4):
            r, dt = _timed(api.get, "/contacts", params={"email": a["email"]})
            assert r.status == 200 and \
                r.json["contacts"][0]["name"] == "Paused Write", r
            assert dt < SLOW, dt
        r = request("GET", "/healthz")
        assert r.status == 200 and r.json["redis"] == "down", r
        stack.redis_resume(pid)
        paused = False
    finally:
        if paused:
            stack.redis_resume(pid)

    # the old entries are still there
    still = set(stack.redis_cmd("KEYS", "c*:%s:*" % api.org_id))
    assert set(old_keys) <= still, (old_keys, still)
    if quiet_workers:
        # and the generation did not move: only the epoch hides them
        assert stack.redis_cmd("HGETALL", gkey) == gen0, (gen0, "moved")

    deadline = time.monotonic() + 15
    hits_again = False
    rounds = 0
    while rounds < 10 or (not hits_again and time.monotonic() < deadline):
        rounds += 1
        for p in windows:
            r = api.get("/contacts", params=p)
            assert r.status == 200, r
            c = _by_id(r, a["id"])
            assert c is not None, (p, r)
            assert c["name"] == "Paused Write" and c["company"] is None, \
                ("stale read after SIGCONT", p, r)
            assert r.raw != cached[repr(p)], (p, r)
        if stack.cache_counters()["hits"] > h0:
            hits_again = True
        time.sleep(0.05)
    assert hits_again, "no cache hit within 15 s of SIGCONT"
    for o in others:
        assert api.one(o["email"]) == o
    # and later writes are read back as usual
    for i in range(10):
        api.upsert({"email": a["email"], "name": "later-%d" % i})
        assert api.one(a["email"])["name"] == "later-%d" % i


def test_redis_paused_write_during_pause(api, redis_restored):
    _paused_write(api, quiet_workers=False)


def test_redis_paused_write_never_reaches_redis(api, redis_restored):
    _paused_write(api, quiet_workers=True)
