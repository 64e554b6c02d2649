"""Faults under a steady mix of reads and writes (issue 7): PostgreSQL
killed with SIGKILL and started again, Redis stopped and started again,
workers killed with SIGKILL one after the other, and slow clients (a slow
request head, a slow body) and a 10 MB body.

The mix (class Mix): a few writer threads POST /contacts -- creates of new
emails and updates of their own, some with addToLists -- and a few reader
threads GET /contacts?email= and pages; every request on a fresh
connection, every thread bounded in requests and in time.  What a client
sees is checked as it happens: a 2xx write answers exactly the fields it
sent; a read after a write answered 2xx sees it (the writer reads its own
write back, the readers look up contacts whose create was answered before
the read began, by email and in the full page); every error is JSON of the
contract's shape.  Every answer is recorded, and each test then says which
answers it allows.

After the fault, the durability audit (audit()): every write answered 2xx
is there exactly as answered (GET by email); a write that got no 2xx (a
503, a 502, a reset) is either not there at all or there entirely, fields
and lists; each list's count (GET /lists) and its members in PostgreSQL
(list_members) are exactly the contacts whose applied writes asked for it;
and the organization holds no other contact.  A writer never writes an
email again after a write of it got no 2xx, so that each outcome can be
told apart.

Only processes of the stack under test are signalled: the postmaster from
$CONTACTS_RUN_DIR/pg/postmaster.pid, Redis and the pool from their pid
files (stack.py), each checked by name (and a worker by its parent).  Each
part runs again at the end of its test, pass or fail, so that the modules
after this one find the stack whole.
"""

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import conftest
import stack
from conftest import (_complete, _parse_raw, _base, assert_error, host_header,
                      request, uniq_email, uniq_name)
from test_idempotency_crash import _arm, _held_pid, fault_dir  # noqa: F401

FIELDS = ("eid", "name", "phone", "company", "type")

WRITERS = 3
READERS = 2
PAUSE = 0.03          # between two requests of one thread
MAX_REQUESTS = 8000   # of one mix, all threads together
MAX_SECONDS = 150     # of one mix
NEW_WORKER_HELD_MS = 4000  # under the master's 5 s wait for a new worker
SLOW = 8.0            # "answers within several seconds" (nginx's client
                      # timeouts are 10 s: a request queued behind a held
                      # worker would take longer)


def _now():
    return time.monotonic()


def _expected(prior, body):
    """The fields of a contact after BODY was applied to PRIOR (a contact
    or None for a create): present sets, null clears, absent keeps."""
    if prior is None:
        out = {"eid": None, "name": None, "phone": None, "company": None,
               "type": "customer"}
    else:
        out = {f: prior[f] for f in FIELDS}
    for f in FIELDS:
        if f in body:
            out[f] = body[f]
    return out


def _fields(contact):
    return {f: contact[f] for f in FIELDS}


def _error_shape(r):
    """None when R is an error of the contract's shape (JSON, code,
    message, no leak; a 502/503 with Retry-After), else what is wrong."""
    try:
        err = assert_error(r, r.status)
    except AssertionError as e:
        return "not the contract's error shape: %s" % e
    if r.status in (502, 503):
        if err["code"] != "unavailable":
            return "%d with code %r" % (r.status, err["code"])
        if not r.header("Retry-After"):
            return "%d without Retry-After" % r.status
    return None


class Writer:
    """One writer thread's own emails and what it sent for each."""

    def __init__(self, n, seed):
        self.n = n
        self.rng = random.Random(seed)
        self.seq = 0
        self.history = {}   # email -> [[body, answered contact or None]]
        self.active = []    # emails whose every write was answered 2xx
        self.current = {}   # email -> the last contact answered
        self.lists = {}     # email -> lists its answered writes asked for


class Mix:
    """WRITERS + READERS threads of requests until stop(), MAX_REQUESTS or
    MAX_SECONDS, whichever comes first."""

    def __init__(self, api, lists, seed, writers=WRITERS, readers=READERS):
        self.api = api
        self.list_ids = [lst["id"] for lst in lists]
        self.seed = seed
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.count = 0
        self.deadline = None
        self.answers = []    # (time, kind, outcome, seconds, detail)
        self.problems = []   # the contract broken in an answer
        self.acked = {}      # email -> id, for every create answered 2xx
        self.writers = [Writer(i, seed * 1000 + i) for i in range(writers)]
        self.threads = [threading.Thread(target=self._run,
                                         args=(self._write, w), daemon=True)
                        for w in self.writers]
        self.threads += [
            threading.Thread(target=self._run, daemon=True,
                             args=(self._read, random.Random(seed + 7 + i)))
            for i in range(readers)]

    # -- running

    def start(self):
        self.deadline = _now() + MAX_SECONDS
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in self.threads), \
            "mix threads did not stop"
        return self

    def _run(self, fn, arg):
        i = 0
        while not self.stop_ev.is_set() and _now() < self.deadline:
            with self.lock:
                if self.count >= MAX_REQUESTS:
                    return
            i += 1
            try:
                fn(arg, i)
            except Exception as e:  # a bug of the test itself: say so
                self._problem("mix thread", repr(e))
                return
            time.sleep(PAUSE)

    def _problem(self, *what):
        with self.lock:
            self.problems.append(what)

    def _call(self, kind, fn, *args, **kw):
        """One request; records its outcome.  Returns the Resp, or None
        when there was no answer (reset, timeout)."""
        with self.lock:
            self.count += 1
        t0 = _now()
        try:
            r = fn(*args, **kw)
        except Exception as e:  # reset, refused, timed out
            with self.lock:
                self.answers.append((t0, kind, "exception", _now() - t0,
                                     repr(e)))
            return None
        dt = _now() - t0
        if 200 <= r.status < 300:
            outcome = "ok"
        else:
            outcome = "status %d" % r.status
            bad = _error_shape(r)
            if bad:
                self._problem(kind, bad, r)
        with self.lock:
            self.answers.append((t0, kind, outcome, dt,
                                 None if outcome == "ok" else r))
        return r

    # -- writers

    def _write(self, w, _i):
        rng = w.rng
        new = not w.active or rng.random() < 0.35
        if new:
            email = uniq_email("w%d" % w.n)
            prior, prior_lists = None, set()
        else:
            email = rng.choice(w.active)
            prior, prior_lists = w.current[email], w.lists[email]
        w.seq += 1
        tag = "w%d-%d" % (w.n, w.seq)
        body = {"email": email, "name": "name " + tag}
        for f in ("eid", "phone", "company"):
            x = rng.random()
            if x < 0.4:
                body[f] = "%s %s" % (f, tag)
            elif x < 0.55:
                body[f] = None
        if rng.random() < 0.25:
            body["type"] = rng.choice(("customer", "employee"))
        if self.list_ids and rng.random() < 0.5:
            body["addToLists"] = rng.sample(
                self.list_ids, rng.randint(1, len(self.list_ids)))
        entry = [body, None]
        w.history.setdefault(email, []).append(entry)

        r = self._call("write", self.api.post, "/contacts", body)
        if r is None or not 200 <= r.status < 300:
            # the outcome is unknown: this email is never written again
            if not new:
                w.active.remove(email)
            return
        want = _expected(prior, body)
        lists = set(body.get("addToLists", ()))
        j = r.json if isinstance(r.json, dict) else {}
        c = j.get("contact") if isinstance(j.get("contact"), dict) else {}
        if (r.status != (201 if new else 200)
                or set(j) != {"contact", "action", "listsUpdated", "listsRemoved"}
                or j["action"] != ("IMPORT_CREATE" if new else "IMPORT_UPDATE")
                or j["listsUpdated"] != len(lists - prior_lists)
                or {f: c.get(f) for f in FIELDS} != want
                or c.get("email") != email
                or (prior is not None and c.get("id") != prior["id"])):
            self._problem("write answered wrong", body, prior, r)
            if not new:
                w.active.remove(email)
            return
        entry[1] = c
        w.current[email] = c
        w.lists[email] = prior_lists | lists
        if new:
            w.active.append(email)
            with self.lock:
                self.acked[email] = c["id"]
        # read-your-writes: the writer reads its own write back
        r = self._call("read own write", self.api.get, "/contacts",
                       params={"email": email})
        if r is not None and r.status == 200 and r.json != {"contacts": [c]}:
            self._problem("stale read of own write", c, r)

    # -- readers

    def _read(self, rng, i):
        with self.lock:
            known = dict(self.acked)
        if i % 5 == 4:
            # the whole organization (under 1000 contacts): every contact
            # whose create was answered before this read is on it
            r = self._call("page", self.api.get, "/contacts")
            if r is not None and r.status == 200:
                got = {c["id"] for c in r.json["contacts"]}
                missing = set(known.values()) - got
                if missing and len(got) < 1000:
                    self._problem("answered creates missing from the page",
                                  sorted(missing)[:5], len(missing))
        elif i % 5 == 3:
            params = {"offset": rng.randint(0, max(0, len(known) - 1)),
                      "limit": rng.randint(1, 20)}
            r = self._call("page", self.api.get, "/contacts", params=params)
            if r is not None and r.status == 200:
                n = len(r.json["contacts"])
                if n > params["limit"]:
                    self._problem("page longer than its limit", params, r)
        elif known:
            email = rng.choice(list(known))
            r = self._call("read", self.api.get, "/contacts",
                           params={"email": email})
            if r is not None and r.status == 200:
                cs = r.json["contacts"]
                if len(cs) != 1 or cs[0]["id"] != known[email]:
                    self._problem("answered create not found", email,
                                  known[email], r)
        else:
            self._call("page", self.api.get, "/contacts",
                       params={"limit": 10})

    # -- what happened

    def outcomes(self, since=None, until=None):
        """{outcome: count} of the answers to requests sent in
        [since, until)."""
        out = {}
        with self.lock:
            for t, _kind, outcome, _dt, _d in self.answers:
                if (since is None or t >= since) and \
                        (until is None or t < until):
                    out[outcome] = out.get(outcome, 0) + 1
        return out

    def failures(self):
        with self.lock:
            return [a for a in self.answers if a[2] != "ok"]

    def ok_writes_since(self, since):
        with self.lock:
            return sum(1 for t, kind, outcome, _dt, _d in self.answers
                       if kind == "write" and outcome == "ok" and t >= since)

    def slowest(self):
        with self.lock:
            return max((a[3] for a in self.answers), default=0.0)

    def summary(self):
        return "seed %d, %d requests: %r" % (self.seed, len(self.answers),
                                             self.outcomes())


def _mix(api, n_lists=3):
    seed = random.randrange(1 << 30)
    print("mix seed", seed)
    lists = [api.new_list(uniq_name("fault")) for _ in range(n_lists)]
    return Mix(api, lists, seed)


def _run_for(mix, seconds):
    """Lets the mix run SECONDS (or until it stops by its own bounds)."""
    end = _now() + seconds
    while _now() < end and any(t.is_alive() for t in mix.threads):
        time.sleep(0.05)


def _wait_ok_writes(mix, since, n, timeout):
    return stack.wait_until(lambda: mix.ok_writes_since(since) >= n,
                            timeout, step=0.1)


# --------------------------------------------------------------------------
# the durability audit


def _psql(statement):
    p = subprocess.run(
        [stack.psql_bin(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
         "-d", stack.conninfo(), "-c", statement],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, "psql: %s" % p.stderr
    return [line for line in p.stdout.splitlines() if line]


def audit(api, mix):
    """Every write of the mix, checked against what the service holds now
    (see the module's docstring).  Returns a list of problems, and counts
    of the writes: answered, unanswered and applied, unanswered and not."""
    problems = []
    stats = {"answered": 0, "unanswered applied": 0,
             "unanswered not applied": 0}
    members = {lid: set() for lid in mix.list_ids}
    present = {}   # contact id -> email
    for w in mix.writers:
        for email, hist in w.history.items():
            unknown = [b for b, c in hist if c is None]
            if len(unknown) > 1 or (unknown and hist[-1][1] is not None):
                problems.append(("the test wrote again after no 2xx", email))
                continue
            answered = [c for b, c in hist if c is not None]
            last = answered[-1] if answered else None
            stats["answered"] += len(answered)
            lists = set()
            for b, c in hist:
                if c is not None:
                    lists |= set(b.get("addToLists", ()))
            found = api.find(email)
            if not unknown:
                if found != [last]:
                    problems.append(("answered write not there as answered",
                                     email, last, found))
            elif not found:
                if last is not None:
                    problems.append(("contact gone", email, last))
                stats["unanswered not applied"] += 1
            elif last is not None and found[0] == last:
                # the unanswered update was not applied
                stats["unanswered not applied"] += 1
            else:
                stats["unanswered applied"] += 1
                # applied: entirely, fields and lists
                got = found[0]
                want = _expected(last, unknown[0])
                if _fields(got) != want or \
                        (last is not None and got["id"] != last["id"]):
                    problems.append(("unanswered write half-applied", email,
                                     unknown[0], last, got))
                lists |= set(unknown[0].get("addToLists", ()))
            if found:
                present[found[0]["id"]] = email
                for lid in lists:
                    members[lid].add(found[0]["id"])

    # the lists' counts, as a client sees them
    counts = {lst["id"]: lst["count"] for lst in api.lists()}
    for lid, ids in members.items():
        if counts.get(lid) != len(ids):
            problems.append(("list count", lid, counts.get(lid), len(ids)))
    # and each contact's membership, in PostgreSQL
    for lid in mix.list_ids:
        assert re.match(r"^[A-Za-z0-9]{9}$", lid), lid
    rows = _psql("SELECT list_id || ' ' || contact_id FROM list_members "
                 "WHERE list_id IN (%s)" % ", ".join(
                     "'%s'" % lid for lid in mix.list_ids))
    held = {lid: set() for lid in mix.list_ids}
    for row in rows:
        lid, cid = row.split()
        held[lid].add(cid)
    for lid in mix.list_ids:
        if held[lid] != members[lid]:
            problems.append((
                "list members", lid,
                "extra %r" % sorted(present.get(c, c)
                                    for c in held[lid] - members[lid]),
                "missing %r" % sorted(present.get(c, c)
                                      for c in members[lid] - held[lid])))
    # no contact that no write made
    everyone = {c["id"] for c in api.all_contacts()}
    if everyone != set(present):
        problems.append(("contacts of the organization",
                         "extra %r" % sorted(everyone - set(present))[:5],
                         "missing %r" % sorted(set(present) - everyone)[:5]))
    return problems, stats


def _assert_audit(api, mix):
    problems, stats = audit(api, mix)
    print("%s; writes %r" % (mix.summary(), stats))
    assert problems == [], "%d problems (%s), first: %r" % (
        len(problems), mix.summary(), problems[:5])


# --------------------------------------------------------------------------
# 1. PostgreSQL killed with SIGKILL, started again


def _postmaster():
    return stack.pid_of("pg/postmaster.pid", "postgres")


def _org_pool_settled():
    """conftest makes organizations ahead of need with contactsctl, in
    threads: let those finish before PostgreSQL goes down, or one made
    during the outage fails whichever later test it is handed to."""
    for f in list(conftest._org_pool.ready):
        f.exception(timeout=2 * conftest.CTL_TIMEOUT)


@pytest.fixture
def postgres_restored():
    """PostgreSQL runs afterwards, whatever the test did.  The test puts
    the pids it killed in the dict: they must be gone before PostgreSQL can
    start again (its shared memory must be free)."""
    state = {"killed": []}
    yield state
    if not _postmaster():
        stack.wait_gone(state["killed"], 60)
        stack.lib_sh("pg_start")
    stack.wait_healthy(60)


def test_postgres_killed_and_started_again(api, postgres_restored):
    master = stack.pool_pid()
    before = stack.workers(master)
    assert master and len(before) == stack.worker_count(), before
    mix = _mix(api).start()
    try:
        _run_for(mix, 2.0)
        assert mix.ok_writes_since(0) >= 3, mix.summary()
        _org_pool_settled()

        pm = _postmaster()
        assert pm, "PostgreSQL of the stack is not running"
        kids = stack.children(pm)
        assert all(stack.comm(k) == "postgres" for k in kids), kids
        postgres_restored["killed"] = [pm] + kids
        stack.signal_checked(pm, signal.SIGKILL, "postgres")
        t_kill = _now()
        # the postmaster's children notice and exit by themselves
        assert stack.wait_gone([pm] + kids, 60), \
            [p for p in [pm] + kids if stack.running(p)]
        r = request("GET", "/healthz")
        assert r.status == 503 and r.json["postgres"] == "down", r
        assert r.header("Retry-After"), r
        _run_for(mix, max(0.0, 3.0 - (_now() - t_kill)))

        t_start = _now()
        stack.lib_sh("pg_start")
        t_up = _now()
        # the service recovers by itself: writes are answered 2xx again
        assert _wait_ok_writes(mix, t_up, 5, 30), \
            "no write answered 2xx within 30 s of PostgreSQL's start: %s" \
            % mix.summary()
        _run_for(mix, 2.0)
    finally:
        mix.stop()

    during = mix.outcomes(t_kill + 0.5, t_start)
    assert during.get("status 503"), \
        "the outage was not seen: %r (%s)" % (during, mix.summary())
    # answers during the outage: 2xx or 503 unavailable with Retry-After,
    # never another status, never a dropped connection
    others = [a for a in mix.failures() if a[2] != "status 503"]
    assert others == [], (others[:5], mix.summary())
    assert mix.problems == [], (mix.problems[:5], mix.summary())
    assert mix.slowest() < 2 * SLOW, mix.slowest()
    # no worker crashed
    assert stack.pool_pid() == master
    assert stack.workers(master) == before, (before, stack.workers(master))

    r = request("GET", "/healthz")
    assert r.status == 200 and r.json["postgres"] == "up", r
    _assert_audit(api, mix)


# --------------------------------------------------------------------------
# 2. Redis stopped, started again


@pytest.fixture
def redis_restored():
    yield
    stack.ensure_redis()


def test_redis_stopped_and_started_again_fails_nothing(api, redis_restored):
    mix = _mix(api).start()
    try:
        _run_for(mix, 2.0)
        stack.redis_stop()
        t_stop = _now()
        r = request("GET", "/healthz")
        assert r.status == 200 and r.json["redis"] == "down", r
        _run_for(mix, 3.0)
        stack.redis_start()
        t_start = _now()
        _run_for(mix, 3.0)
    finally:
        mix.stop()

    assert mix.failures() == [], (mix.failures()[:5], mix.summary())
    assert mix.problems == [], (mix.problems[:5], mix.summary())
    assert mix.slowest() < SLOW, mix.slowest()
    # the mix ran through the outage and after it
    assert sum(mix.outcomes(t_stop, t_start).values()) >= 20, mix.summary()
    assert mix.ok_writes_since(t_start) >= 3, mix.summary()
    r = request("GET", "/healthz")
    assert r.status == 200 and r.json["redis"] == "up", r
    _assert_audit(api, mix)


def test_a_write_that_cannot_be_published_is_answered_503(api):
    """A write commits, and then neither Redis nor PostgreSQL takes what
    it must retire from the cache (no Redis answers the pool; the
    organization's epoch bump refused, here by a trigger of the test's):
    the answer is 503 "saved but not published yet", for every kind of
    write, and the worker lives on (the handlers once went on to answer as
    if the write had been refused: the worker crashed on a contact's
    write, and a list's or a field's deletion was answered 404).  The
    write stands; once the bump works again, the worker's next request
    settles it.  One worker, so that each write meets a settled one."""
    from private_pool import PrivatePool
    c = api.create(name="before")
    gone = api.create()
    lst = api.new_list()
    api.new_field("tier", "string")
    fn = "test_no_bump_" + api.org_id.lower()
    _psql("CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.cache_epoch <> OLD.cache_epoch THEN RAISE EXCEPTION 'no bump'; END IF; "
          "RETURN NEW; END $$" % fn)
    trigger = ("CREATE TRIGGER %s BEFORE UPDATE ON organizations FOR EACH ROW "
               "WHEN (NEW.id = '%s') EXECUTE FUNCTION %s()" % (fn, api.org_id, fn))
    writes = [("POST", "/contacts", {"email": c["email"], "name": "posted"}),
              ("PATCH", "/contacts/" + c["id"], {"name": "patched"}),
              ("DELETE", "/contacts/" + gone["id"], None),
              ("DELETE", "/lists/" + lst["id"], None),
              ("DELETE", "/fields/tier", None)]
    # port 9: nothing listens, every Redis command fails at once
    with PrivatePool({"workers": "1", "redis": "127.0.0.1:9"}) as pool:
        try:
            for method, path, body in writes:
                _psql(trigger)
                try:
                    status, _, raw = pool.request(
                        method, path, key=api.key,
                        body=json.dumps(body).encode() if body else b"",
                        content_type="application/json" if body else "")
                finally:
                    _psql("DROP TRIGGER %s ON organizations" % fn)
                assert status == 503, (method, path, status, raw)
                assert json.loads(raw)["error"] == {
                    "code": "unavailable",
                    "message": "the change was saved but could not be published yet, "
                               "try again shortly"}, (method, path, raw)
                # the worker's next request settles the write
                assert pool.request("GET", "/healthz")[0] == 200
        finally:
            _psql("DROP TRIGGER IF EXISTS %s ON organizations" % fn)
            _psql("DROP FUNCTION IF EXISTS %s()" % fn)
    assert _psql("SELECT name FROM contacts WHERE org_id = '%s' AND id = '%s'"
                 % (api.org_id, c["id"])) == ["patched"]
    assert _psql("SELECT status FROM contacts WHERE org_id = '%s' AND id = '%s'"
                 % (api.org_id, gone["id"])) == ["deleted"]
    r = api.get("/lists/" + lst["id"])
    assert r.status == 200 and r.json["list"]["deleted_at"], r
    assert api.fields() == []
    assert api.one(c["email"])["name"] == "patched"


# --------------------------------------------------------------------------
# 3. workers killed with SIGKILL, one after the other


KILLS = 10


@pytest.fixture
def pool():
    stack.ensure_pool()
    master = stack.pool_pid()
    n = stack.worker_count()
    assert stack.wait_until(lambda: len(stack.workers(master)) == n, 10), \
        "the pool has %r workers, not %d" % (stack.workers(master), n)
    yield master, n
    stack.ensure_pool()
    m = stack.pool_pid()
    stack.wait_until(lambda: len(stack.workers(m)) == n, 30)


def test_workers_killed_repeatedly(api, pool):
    master, n = pool
    rng = random.Random()
    log0 = stack.log_size()
    mix = _mix(api).start()
    killed = []
    try:
        _run_for(mix, 1.5)
        for _ in range(KILLS):
            victim = rng.choice(stack.workers(master))
            stack.signal_checked(victim, signal.SIGKILL, stack.POOL_NAME,
                                 parent=master)
            killed.append(victim)
            # replaced (a respawn may be delayed by the crash-loop backoff,
            # up to 10 s, when a young worker is killed)
            assert stack.wait_until(
                lambda: (not stack.running(victim)
                         and len(stack.workers(master)) == n
                         and victim not in stack.workers(master)), 30), \
                "worker %d not replaced: %r" % (victim, stack.workers(master))
            _run_for(mix, rng.uniform(0.3, 1.0))
        t_last = _now()
        _run_for(mix, 1.5)
    finally:
        mix.stop()

    assert stack.pool_pid() == master
    after = stack.workers(master)
    assert len(after) == n and not set(after) & set(killed), (killed, after)
    assert stack.metrics()["contacts_workers_alive"] == n
    # requests fail only while their own worker is killed: at most the one
    # request each killed worker held; nginx answers it 502
    fails = mix.failures()
    assert len(fails) <= KILLS, (len(fails), fails[:10], mix.summary())
    assert all(a[2] == "status 502" for a in fails), (fails, mix.summary())
    assert mix.problems == [], (mix.problems[:5], mix.summary())
    assert mix.outcomes().get("ok", 0) >= 200, mix.summary()
    assert mix.ok_writes_since(t_last) >= 1, mix.summary()
    log = stack.log_lines_since(log0)
    for victim in killed:
        assert any("worker_pid=%d" % victim in line and "signal=9" in line
                   for line in log), victim
    _assert_audit(api, mix)


def _pg_name(contact_id):
    assert re.match(r"^[A-Za-z0-9]{9}$", contact_id), contact_id
    rows = _psql("SELECT coalesce(name, '') FROM contacts WHERE id = '%s'"
                 % contact_id)
    return rows[0] if rows else None


def test_write_of_a_killed_worker_is_not_hidden_by_the_cache(api, pool):
    """A worker killed while its write is in PostgreSQL: the client gets no
    2xx, but PostgreSQL goes on and commits the write (nothing tells the
    backend to stop).  Afterwards every read must show what PostgreSQL
    holds: the email look-up cached before the write must not keep
    answering the old contact while the pages answer the new one.

    Deterministic: a row lock (psql) holds the write in PostgreSQL while
    every worker is killed (the one holding the write among them), then
    the lock is released and the write commits.  No other write of the
    organization follows (one would bump the cache generation and hide the
    problem, which is why the mix above cannot see it)."""
    master, n = pool
    c = api.create(name="before")
    for _ in range(3):   # cached: the email look-up and the pages
        assert api.one(c["email"])["name"] == "before"
        api.page()
        api.page(offset=0, limit=7)
    h0 = stack.cache_counters()["hits"]
    assert api.one(c["email"])["name"] == "before"
    assert stack.cache_counters()["hits"] > h0, "the look-up is not cached"

    out = {}

    def write():
        try:
            out["r"] = api.post("/contacts", {"email": c["email"],
                                              "name": "after"})
        except Exception as e:  # reset, timeout
            out["r"] = e

    with stack.RowLock(api.org_id, c["id"]) as lock:
        t = threading.Thread(target=write, daemon=True)
        t.start()
        waiting = stack.wait_until(lambda: _psql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type ="
            " 'Lock' AND query LIKE '%contact_upsert%'") != ["0"], 15)
        assert waiting, "the write never waited for the row lock"
        workers = stack.workers(master)
        for w in workers:
            stack.signal_checked(w, signal.SIGKILL, stack.POOL_NAME,
                                 parent=master)
        t.join(20)
        assert not t.is_alive()
        lock.release()
    r = out["r"]
    assert not isinstance(r, Exception), r
    assert_error(r, 502, "unavailable")
    assert stack.wait_until(
        lambda: (len(stack.workers(master)) == n
                 and not set(stack.workers(master)) & set(workers)), 30), \
        stack.workers(master)
    # the write commits once the lock is gone (or, were the backend told
    # that its client died, never): either way the reads must agree
    stack.wait_until(lambda: _pg_name(c["id"]) == "after", 10)
    held = _pg_name(c["id"])
    assert held in ("before", "after"), held
    for _ in range(2 * n):   # every worker, cached or not
        seen = {
            "email": api.one(c["email"])["name"],
            "page": api.page().json["contacts"][0]["name"],
            "page 0/7": api.page(offset=0, limit=7).json["contacts"][0]["name"],
            "page 0/3": api.page(offset=0, limit=3).json["contacts"][0]["name"],
        }
        assert set(seen.values()) == {held}, \
            "PostgreSQL holds name %r, the reads say %r" % (held, seen)



def test_a_write_whose_worker_died_is_taken_up_before_the_cache_is_read(
        api, pool, fault_dir):
    """The window the test above can fall into by timing, held open: a
    worker killed after its write committed and before it published it,
    and its replacement held before it settles the slot (the fault point
    worker_start).  The replacement is in the slot, so the note's slot
    names a live process; the note is still nobody's (its maker is gone),
    and the other workers take it up before they read the cache for the
    organization: every read shows the committed write while the new
    worker is still held.  (Before, they left the slot's note to its new
    worker and answered the cached contact meanwhile.)"""
    master, n = pool
    assert n >= 2, "needs a pool of two workers or more"
    c = api.create(name="before")
    for _ in range(3):
        assert api.one(c["email"])["name"] == "before"
        api.page()
    h0 = stack.cache_counters()["hits"]
    assert api.one(c["email"])["name"] == "before"
    assert stack.cache_counters()["hits"] > h0, "the look-up is not cached"

    held = _arm(fault_dir)  # after_commit: a keyed write, committed
    out = {}

    def write():
        try:
            out["r"] = api.post("/contacts", {"email": c["email"], "name": "after"},
                                headers={"Idempotency-Key": "died-" + uniq_name()})
        except Exception as e:  # reset, timeout
            out["r"] = e

    t = threading.Thread(target=write, daemon=True)
    t.start()
    assert stack.wait_until(lambda: _held_pid(held), 10), \
        "no worker reached the fault point after_commit"
    victim = _held_pid(held)
    assert _pg_name(c["id"]) == "after"  # committed, not published
    starting = _arm(fault_dir, "worker_start", NEW_WORKER_HELD_MS)
    log0 = stack.log_size()
    stack.signal_checked(victim, signal.SIGKILL, stack.POOL_NAME, parent=master)
    t.join(15)
    assert not t.is_alive()
    assert not isinstance(out["r"], Exception), out["r"]
    assert_error(out["r"], 502, "unavailable")
    assert stack.wait_until(lambda: _held_pid(starting), 10), \
        "no new worker reached the fault point worker_start"
    newbie, t0 = _held_pid(starting), time.monotonic()
    assert newbie != victim and newbie in stack.workers(master)

    for _ in range(2 * n):
        seen = {
            "email": api.one(c["email"])["name"],
            "page": api.page().json["contacts"][0]["name"],
            "page 0/7": api.page(offset=0, limit=7).json["contacts"][0]["name"],
        }
        assert set(seen.values()) == {"after"}, \
            "PostgreSQL holds 'after', the reads say %r" % seen
    # ... all of it while the new worker was still held, by the others
    assert time.monotonic() - t0 < NEW_WORKER_HELD_MS / 1000.0 - 0.5, \
        "the reads took longer than the new worker was held"
    settled = [line for line in stack.log_lines_since(log0)
               if "settled a write whose outcome was lost" in line
               and "org=%s" % api.org_id in line]
    assert settled and all("pid=%d " % newbie not in line for line in settled), \
        settled
    assert stack.wait_until(
        lambda: (len(stack.workers(master)) == n
                 and victim not in stack.workers(master)
                 and not os.path.exists(starting[:-len(".pid")])), 30), \
        stack.workers(master)
    assert api.one(c["email"])["name"] == "after"

# --------------------------------------------------------------------------
# 4. slow clients, a slow body, a 10 MB body


def _connect():
    _, host, port = _base()
    return socket.create_connection((host, port), timeout=10)


def _closed_by_server(s, timeout):
    """Waits until the server closes S (EOF or reset).  Returns
    (closed, answer bytes read meanwhile)."""
    s.settimeout(0.5)
    got = b""
    end = _now() + timeout
    while _now() < end:
        try:
            c = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, got
        if not c:
            return True, got
        got += c
    return False, got


class Probe:
    """Normal requests while slow clients are held: on one kept-alive
    connection, and on fresh ones.  Records (what, status, seconds).  Its
    own organization, so that the audit of the mix's is exact."""

    def __init__(self, api):
        self.api = api
        _, host, port = _base()
        self.conn = http.client.HTTPConnection(host, port, timeout=10)
        self.done = []

    def round(self):
        t0 = _now()
        self.conn.request("GET", "/test", headers={"X-API-Key": self.api.key})
        r = self.conn.getresponse()
        r.read()
        self.done.append(("GET /test kept-alive", r.status, _now() - t0))
        email = uniq_email("probe")
        t0 = _now()
        r = self.api.post("/contacts", {"email": email})
        self.done.append(("POST /contacts", r.status, _now() - t0))
        t0 = _now()
        r = self.api.get("/contacts", params={"email": email})
        ok = r.status == 200 and len(r.json["contacts"]) == 1
        self.done.append(("GET by email", r.status if ok else -1,
                          _now() - t0))

    def close(self):
        self.conn.close()

    def check(self):
        assert len(self.done) >= 6, self.done
        bad = [d for d in self.done if not 200 <= d[1] < 300 or d[2] >= SLOW]
        assert bad == [], bad


def test_slow_request_heads_hold_no_worker(api, api_b):
    """50 connections send a request head a byte at a time: nginx holds
    them (until client_header_timeout, 10 s, drops them); meanwhile the mix
    and the probe's requests are answered, promptly: no worker of the pool
    waits for a slow client."""
    n = 50
    head = ("POST /contacts HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: 30\r\n"
            % (host_header(), api.key)).encode()
    mix = _mix(api).start()
    probe = Probe(api_b)
    socks = []
    try:
        for _ in range(n):
            s = _connect()
            s.sendall(head[:20])
            socks.append(s)
        t_open = _now()
        early = set()
        # hold them 5 s, a byte more on each every half second
        k = 20
        while _now() - t_open < 5.0 and k < len(head):
            for i, s in enumerate(socks):
                try:
                    s.send(head[k:k + 1])
                except OSError:
                    early.add(i)
            k += 1
            probe.round()
            time.sleep(0.3)
        assert early == set(), "nginx dropped %d slow clients within 5 s" \
            % len(early)
        # nginx drops them at client_header_timeout (10 s), unanswered
        results = [_closed_by_server(s, max(1.0, 30 - (_now() - t_open)))
                   for s in socks]
        t_closed = _now()
        _run_for(mix, 1.0)
    finally:
        for s in socks:
            s.close()
        probe.close()
        mix.stop()
    assert all(closed for closed, _ in results), \
        "%d slow clients still open 30 s after they connected" % sum(
            1 for closed, _ in results if not closed)
    answered = [got for _, got in results if got]
    for got in answered:   # nginx may say 408; never anything else
        r = _parse_raw(got)
        assert_error(r, 408, "timeout")
    assert t_closed - t_open >= 9.0, t_closed - t_open
    probe.check()
    assert mix.failures() == [], (mix.failures()[:5], mix.summary())
    assert mix.problems == [], (mix.problems[:5], mix.summary())
    assert mix.slowest() < SLOW, mix.slowest()
    _assert_audit(api, mix)


def test_slow_body_times_out_and_holds_no_worker(api, api_b):
    """20 requests (more than the pool's workers) with a complete head and
    a body trickled a byte a second, then not at all: nginx times each out
    (client_body_timeout, 10 s) and drops it, nothing is written, and
    meanwhile every other request is answered promptly."""
    n = 20
    mix = _mix(api).start()
    probe = Probe(api_b)
    socks = []
    emails = [uniq_email("slowbody") for _ in range(n)]
    bodies = [json.dumps({"email": e, "name": "slow"}).encode()
              for e in emails]
    try:
        for body in bodies:
            s = _connect()
            s.sendall(("POST /contacts HTTP/1.1\r\nHost: %s\r\n"
                       "X-API-Key: %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %d\r\nConnection: close\r\n\r\n"
                       % (host_header(), api.key, len(body))).encode()
                      + body[:5])
            socks.append(s)
        t0 = _now()
        for k in range(5, 9):   # a byte a second for 4 s
            for s, body in zip(socks, bodies):
                s.send(body[k:k + 1])
            t_last = _now()  # nginx's timeout runs from the last byte
            probe.round()
            time.sleep(max(0.0, t0 + (k - 4) - _now()))
        results = [_closed_by_server(s, max(1.0, 30 - (_now() - t_last)))
                   for s in socks]
        t_closed = _now()
        probe.round()
    finally:
        for s in socks:
            s.close()
        probe.close()
        mix.stop()
    assert all(closed for closed, _ in results), \
        "%d slow bodies still open 30 s after their last byte" % sum(
            1 for closed, _ in results if not closed)
    for _, got in results:   # dropped; or nginx says 408
        if got:
            assert_error(_parse_raw(got), 408, "timeout")
    assert t_closed - t_last >= 9.0, t_closed - t_last
    probe.check()
    for e in emails:
        assert api.find(e) == [], e
    assert mix.failures() == [], (mix.failures()[:5], mix.summary())
    assert mix.problems == [], (mix.problems[:5], mix.summary())
    assert mix.slowest() < SLOW, mix.slowest()
    _assert_audit(api, mix)


def test_10_mb_body_is_refused_before_it_is_sent(api):
    """Content-Length 10485760: nginx answers 413 payload_too_large after
    the head and the first 64 KiB, without waiting for the rest; sending
    the rest then is harmless; the service answers as before."""
    total = 10 * 1024 * 1024
    email = uniq_email("big")
    prefix = ('{"email":"%s","name":"' % email).encode()
    mix = _mix(api).start()
    try:
        s = _connect()
        try:
            s.sendall(("POST /contacts HTTP/1.1\r\nHost: %s\r\n"
                       "X-API-Key: %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %d\r\nConnection: close\r\n\r\n"
                       % (host_header(), api.key, total)).encode()
                      + prefix + b"x" * (65536 - len(prefix)))
            sent = 65536
            # the answer, with 10 MB - 64 KiB still unsent
            s.settimeout(1.0)
            got = b""
            end = _now() + 15
            while not _complete(got) and _now() < end:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    continue
                if not c:
                    break
                got += c
            r = _parse_raw(got)
            assert_error(r, 413, "payload_too_large")
            assert r.header("X-Request-Id"), r
            # the rest of the 10 MB: nginx discards it or resets
            s.settimeout(5.0)
            chunk = b"x" * 262144
            end = _now() + 30
            try:
                while sent < total and _now() < end:
                    s.sendall(chunk[:total - sent])
                    sent += min(len(chunk), total - sent)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
        finally:
            s.close()
        _run_for(mix, 1.0)
        r = request("GET", "/test", headers={"X-API-Key": api.key})
        assert r.status == 200, r
    finally:
        mix.stop()
    assert api.find(email) == []
    assert mix.failures() == [], (mix.failures()[:5], mix.summary())
    assert mix.problems == [], (mix.problems[:5], mix.summary())
    _assert_audit(api, mix)
