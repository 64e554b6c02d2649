"""Randomized read-your-writes through the cache (issue 12; API.md
"Consistency": "once a write has been answered, every later read through
any worker reflects it, cached or not").

Several writer threads and several reader threads share one organization
of a small set of contacts (12 emails, 2 lists), with the cache on.  The
writers make random creates, updates (POST of an existing email), PATCHes
of the name and of the email, soft deletes (by id, by email, by body),
restores (POST of a deleted contact's email), list changes (addToLists /
removeFromLists), and now and then an erasure and a create of the email
again.  The readers read all the time: email look-ups (with and without
includeAll, in another case too), pages of GET /contacts (the whole
listing, and small pages at small offsets, includeAll both ways) and
member pages of the lists, sometimes with If-None-Match: a 304 stands for
the body that ETag was given with.

The oracle, checked after the threads are done:

- Each writer owns a quarter of the emails, and so every contact that ever
  has one of them (a PATCH of an email moves only among its own): the
  writes of a contact are made one at a time, and its states are totally
  ordered.  For each 2xx write the writer records the time the request
  left, the time the answer arrived, and the contact's state after it
  (taken from the answer: id, email, name, status; the lists from the
  request and listsUpdated / listsRemoved, which are checked).
- A write that gives a contact a place in an order (a create: the creation
  order; an add to a list: the list's order) is made under one lock shared
  by the writers, from request to answer, so those places are in the order
  of the answers.
- A read that started at t0 and ended at t1 may show, of each contact, the
  state of the last write answered before t0, or of any later write of it
  sent before t1 (in flight or answered meanwhile) -- nothing older.  The
  read passes if some choice of such a state for every contact gives
  exactly its answer: the same contacts, in the same order, each with the
  chosen state, and the page's offset counting the contacts shown before
  it.  A 304 is checked as the body of its ETag, read anew at [t0, t1].
- A 200 whose ETag was seen before for the same request with another body
  breaks the strong ETag.
- After the threads end, one more pass of every read must show the final
  states exactly.

Bounded: a fixed number of operations per thread and at most DURATION
seconds.  The seed is printed (and in every failure); set
CACHE_RANDOM_SEED to run one again.
"""

import hashlib
import http.client
import json
import os
import random
import threading
import time
import uuid
from itertools import product

import pytest

import stack
from conftest import TIMEOUT, _base

WRITERS = 3
READERS = 3
EMAILS_PER_WRITER = 4  # 12 emails
WRITES_PER_WRITER = 250
READS_PER_READER = 700
DURATION = 20.0  # seconds, for the threads; the checks come after
MAX_COMBOS = 20000  # choices of states tried for one read at most


@pytest.fixture(autouse=True)
def _redis_in_use():
    assert stack.redis_answers(), "this test needs the stack's Redis"
    yield


class Failed(Exception):
    pass


class Http:
    """One request per fresh connection (so on any worker), timed."""

    def __init__(self, key):
        self.key = key
        _, self.host, self.port = _base()

    def __call__(self, method, path, body=None, headers=None):
        hdrs = {"X-API-Key": self.key}
        hdrs.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in range(20):
            conn = http.client.HTTPConnection(self.host, self.port,
                                              timeout=TIMEOUT)
            try:
                t0 = time.monotonic()
                conn.request(method, path, body=data, headers=hdrs)
                r = conn.getresponse()
                raw = r.read()
                t1 = time.monotonic()
                headers_out = {k.lower(): v for k, v in r.getheaders()}
                status = r.status
            finally:
                conn.close()
            if status == 429:  # refused before anything ran: again
                time.sleep(0.05 * (attempt + 1))
                continue
            parsed = None
            if raw:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = None
            return status, headers_out, raw, parsed, t0, t1
        raise Failed("%s %s: 429 twenty times" % (method, path))


# --------------------------------------------------------------------------
# the writers' record


class Contact:
    """One contact (one id) and its acknowledged states, in order."""

    def __init__(self, cid):
        self.id = cid
        self.pos = None  # creation order
        # (sent, answered, state, what): state None = erased
        self.hist = []

    def last(self):
        return self.hist[-1][2] if self.hist else None


def state_of(c, lists):
    """The state a write's answer shows (plus the memberships)."""
    return {"email": c["email"], "name": c["name"], "status": c["status"],
            "lists": dict(lists)}


class World:
    def __init__(self, seed):
        self.seed = seed
        self.order_lock = threading.Lock()
        self.next_pos = 0
        self.next_seq = {}
        self.contacts = {}  # id -> Contact (only its owner writes it)
        self.clock0 = time.monotonic()
        self.oplog = []  # (sent, answered, writer, text, id)

    def rel(self, t):
        return "%.4f" % (t - self.clock0)


class Actor:
    """A writer or reader thread: its number, its own seeded RNG."""

    def __init__(self, world, http_, idx, deadline, tag):
        self.w = world
        self.http = http_
        self.idx = idx
        self.deadline = deadline
        self.rnd = random.Random("%s-%s%d" % (world.seed, tag, idx))


class Writer(Actor):
    def __init__(self, world, http_, idx, emails, lists, deadline):
        super().__init__(world, http_, idx, deadline, "w")
        self.emails = emails
        self.lists = lists
        self.mine = []  # my Contacts that are not erased
        self.n = 0

    # helpers

    def holder(self, email):
        for c in self.mine:
            if c.last()["email"].lower() == email.lower():
                return c
        return None

    def free_emails(self):
        held = {c.last()["email"].lower() for c in self.mine}
        return [e for e in self.emails if e.lower() not in held]

    def name(self):
        self.n += 1
        return "w%d-%d-%s" % (self.idx, self.n, uuid.uuid4().hex[:6])

    def fail(self, what, status, raw):
        raise Failed("seed %s: writer %d: %s answered %s: %r" % (
            self.w.seed, self.idx, what, status, raw[:400]))

    def record(self, c, sent, answered, state, what):
        c.hist.append((sent, answered, state, what))
        self.w.oplog.append((sent, answered, self.idx, what, c.id))

    def lists_change(self, c):
        """A random addToLists / removeFromLists pair (disjoint)."""
        add, rem = [], []
        for lid in self.lists:
            x = self.rnd.random()
            if x < 0.3:
                add.append(lid)
            elif x < 0.5:
                rem.append(lid)
        return add, rem

    def apply_lists(self, before, add, rem, ans, what):
        """The memberships after a write with addToLists ADD and
        removeFromLists REM, given those before (list -> seq); checks the
        answer's counts.  Call with the order lock held if ADD adds."""
        after = dict(before)
        want_added = [lid for lid in add if lid not in before]
        want_removed = [lid for lid in rem if lid in before]
        if (ans.get("listsUpdated", 0), ans.get("listsRemoved", 0)) != \
                (len(want_added), len(want_removed)):
            raise Failed("seed %s: writer %d: %s: listsUpdated/listsRemoved "
                         "%r/%r, expected %d/%d (memberships before %r)" % (
                             self.w.seed, self.idx, what,
                             ans.get("listsUpdated"), ans.get("listsRemoved"),
                             len(want_added), len(want_removed), before))
        for lid in want_removed:
            del after[lid]
        for lid in want_added:
            self.w.next_seq[lid] = self.w.next_seq.get(lid, 0) + 1
            after[lid] = self.w.next_seq[lid]
        return after

    # operations

    def op_create(self):
        free = self.free_emails()
        if not free:
            return False
        email = self.rnd.choice(free)
        body = {"email": email, "name": self.name()}
        add = [lid for lid in self.lists if self.rnd.random() < 0.4]
        if add:
            body["addToLists"] = add
        self.w.order_lock.acquire()  # a create takes a place
        try:
            st, _, raw, ans, t0, t1 = self.http("POST", "/contacts", body)
            if st != 201 or ans.get("action") != "IMPORT_CREATE":
                self.fail("create %s" % email, st, raw)
            c = Contact(ans["contact"]["id"])
            self.w.next_pos += 1
            c.pos = self.w.next_pos
            lists = self.apply_lists({}, add, [], ans, "create")
        finally:
            self.w.order_lock.release()
        assert c.id not in self.w.contacts, "id %s reused" % c.id
        self.w.contacts[c.id] = c
        self.mine.append(c)
        self.record(c, t0, t1, state_of(ans["contact"], lists),
                    "POST create %s name=%s lists+%s" % (
                        email, body["name"], add))

    def _write_lists(self, c, method, path, body, add, rem, want, what):
        """A write of C that may add it to lists (so under the order lock
        when it would), expecting status WANT; records the new state."""
        before = c.last()["lists"]
        if add or rem:
            body = dict(body)
            if add:
                body["addToLists"] = add
            if rem:
                body["removeFromLists"] = rem
        locked = any(lid not in before for lid in add)
        if locked:
            self.w.order_lock.acquire()
        try:
            st, _, raw, ans, t0, t1 = self.http(method, path, body)
            if st != want:
                self.fail(what, st, raw)
            if ans["contact"]["id"] != c.id:
                self.fail(what + " (another contact)", st, raw)
            lists = self.apply_lists(before, add, rem, ans, what)
        finally:
            if locked:
                self.w.order_lock.release()
        self.record(c, t0, t1, state_of(ans["contact"], lists),
                    "%s lists+%s-%s" % (what, add, rem))
        return ans

    def pick(self, cs):
        return self.rnd.choice(cs) if cs else None

    def live(self):
        return [c for c in self.mine if c.last()["status"] != "deleted"]

    def deleted(self):
        return [c for c in self.mine if c.last()["status"] == "deleted"]

    def op_update(self):
        c = self.pick(self.live())
        if c is None:
            return False
        name = self.name()
        add, rem = self.lists_change(c) if self.rnd.random() < 0.3 else ([], [])
        ans = self._write_lists(c, "POST", "/contacts",
                                {"email": c.last()["email"], "name": name},
                                add, rem, 200,
                                "POST update %s name=%s" % (c.id, name))
        if ans["contact"]["name"] != name or ans["action"] != "IMPORT_UPDATE":
            self.fail("update", 200, json.dumps(ans).encode())

    def op_restore(self):
        c = self.pick(self.deleted())
        if c is None:
            return False
        body = {"email": c.last()["email"]}
        if self.rnd.random() < 0.5:
            body["name"] = self.name()
        ans = self._write_lists(c, "POST", "/contacts", body, [], [], 200,
                                "POST restore %s %s" % (c.id, body))
        if ans["contact"]["status"] != "active":
            self.fail("restore", 200, json.dumps(ans).encode())

    def op_patch_name(self):
        c = self.pick(self.live())
        if c is None:
            return False
        name = self.name()
        add, rem = self.lists_change(c) if self.rnd.random() < 0.2 else ([], [])
        self._write_lists(c, "PATCH", "/contacts/" + c.id, {"name": name},
                          add, rem, 200, "PATCH %s name=%s" % (c.id, name))

    def op_patch_email(self):
        c = self.pick(self.live())
        if c is None:
            return False
        free = self.free_emails()
        if free and self.rnd.random() < 0.85:
            new = self.rnd.choice(free)
            if self.rnd.random() < 0.3:
                new = new.upper()  # the case as given is kept
            ans = self._write_lists(c, "PATCH", "/contacts/" + c.id,
                                    {"email": new}, [], [], 200,
                                    "PATCH %s email %s -> %s" % (
                                        c.id, c.last()["email"], new))
            if ans["contact"]["email"] != new:
                self.fail("PATCH email", 200, json.dumps(ans).encode())
        else:
            # to an email another of mine holds (deleted ones too): 409
            others = [o for o in self.mine if o is not c]
            if not others:
                return
            taken = self.rnd.choice(others).last()["email"]
            st, _, raw, ans, _, _ = self.http(
                "PATCH", "/contacts/" + c.id, {"email": taken.lower()})
            if st != 409 or (ans or {}).get("error", {}).get("code") != \
                    "email_taken":
                self.fail("PATCH %s to taken %s" % (c.id, taken), st, raw)

    def op_delete(self):
        c = self.pick(self.live())
        if c is None:
            return False
        if self.rnd.random() < 0.1 and self.deleted():
            c = self.rnd.choice(self.deleted())  # again: changes nothing
        email = c.last()["email"]
        how = self.rnd.random()
        if how < 0.5:
            args, what = ("DELETE", "/contacts/" + c.id, None), "by id"
        elif how < 0.85:
            q = email.upper() if self.rnd.random() < 0.3 else email
            args = ("DELETE", "/contacts?email=" + _q(q), None)
            what = "by email"
        else:
            args, what = ("DELETE", "/contacts", {"email": email}), "by body"
        st, _, raw, ans, t0, t1 = self.http(*args)
        if st != 200 or ans["contact"]["id"] != c.id or \
                ans["contact"]["status"] != "deleted":
            self.fail("DELETE %s %s" % (what, c.id), st, raw)
        self.record(c, t0, t1, state_of(ans["contact"], c.last()["lists"]),
                    "DELETE %s %s" % (what, c.id))

    def op_erase(self):
        if not self.mine:
            return False
        c = self.rnd.choice(self.mine)
        st, _, raw, _, t0, t1 = self.http(
            "DELETE", "/contacts/%s?erase=true" % c.id)
        if st != 204:
            self.fail("erase %s" % c.id, st, raw)
        self.record(c, t0, t1, None, "ERASE %s (%s)" % (c.id,
                                                      c.last()["email"]))
        self.mine.remove(c)

    def run(self):
        ops = [(self.op_create, 12), (self.op_update, 20),
               (self.op_patch_name, 14), (self.op_patch_email, 12),
               (self.op_delete, 14), (self.op_restore, 10),
               (self.op_lists, 12), (self.op_erase, 3)]
        total = sum(wt for _, wt in ops)
        for i in range(WRITES_PER_WRITER):
            if time.monotonic() > self.deadline:
                return
            x = self.rnd.uniform(0, total)
            for op, wt in ops:
                x -= wt
                if x <= 0:
                    break
            # an op that cannot run now (nothing to restore, no free email)
            # answers False: then the first of these that can
            if op() is False:
                for op in (self.op_create, self.op_update, self.op_restore):
                    if op() is not False:
                        break
            # pauses, now and then a longer one: the readers get hits
            if self.rnd.random() < 0.05:
                time.sleep(self.rnd.uniform(0.05, 0.15))
            else:
                time.sleep(self.rnd.uniform(0, 0.01))

    def op_lists(self):
        c = self.pick(self.live())
        if c is None:
            return False
        add, rem = self.lists_change(c)
        if not add and not rem:
            add = [self.rnd.choice(self.lists)]
        if self.rnd.random() < 0.5:
            self._write_lists(c, "PATCH", "/contacts/" + c.id, {}, add, rem,
                              200, "PATCH %s" % c.id)
        else:
            self._write_lists(c, "POST", "/contacts",
                              {"email": c.last()["email"]}, add, rem, 200,
                              "POST lists %s" % c.id)


def _q(s):
    from urllib.parse import quote
    return quote(s, safe="")


# --------------------------------------------------------------------------
# the readers


class Read:
    __slots__ = ("kind", "path", "arg", "all", "offset", "limit", "t0", "t1",
                 "status", "body", "etag", "was304", "reader")


def read_kinds(emails, lists):
    """Every read: (kind, path, arg, includeAll, offset, limit)."""
    out = []
    for e in emails:
        for all_ in (False, True):
            for spell in (e, e.upper()):
                p = "/contacts?email=" + _q(spell)
                out.append(("email", p + ("&includeAll=true" if all_ else ""),
                            e, all_, 0, 1))
    for all_ in (False, True):
        a = "includeAll=true" if all_ else ""
        for off, lim in ((0, 1000), (0, 3), (2, 3), (5, 4), (9, 2)):
            qs = "offset=%d&limit=%d" % (off, lim)
            if (off, lim) == (0, 1000) and not all_:
                path = "/contacts"
            else:
                path = "/contacts?" + "&".join(x for x in (qs, a) if x)
            out.append(("page", path, None, all_, off, lim))
        for lid in lists:
            for off, lim in ((0, 1000), (1, 2)):
                qs = "offset=%d&limit=%d" % (off, lim)
                path = "/lists/%s/contacts?%s" % (
                    lid, "&".join(x for x in (qs, a) if x))
                out.append(("list", path, lid, all_, off, lim))
    return out


class Reader(Actor):
    def __init__(self, world, http_, idx, kinds, deadline, log, bad_etags):
        super().__init__(world, http_, idx, deadline, "r")
        self.kinds = kinds
        self.log = log
        self.bad_etags = bad_etags
        self.last = {}  # path -> (etag, body)
        self.seen = {}  # (path, etag) -> sha of the bytes

    def one(self, kind):
        k, path, arg, all_, off, lim = kind
        hdrs = {}
        prev = self.last.get(path)
        if prev and self.rnd.random() < 0.4:
            hdrs["If-None-Match"] = prev[0]
        st, h, raw, ans, t0, t1 = self.http("GET", path, headers=hdrs)
        r = Read()
        r.kind, r.path, r.arg, r.all, r.offset, r.limit = k, path, arg, all_, off, lim
        r.t0, r.t1, r.status, r.reader = t0, t1, st, self.idx
        r.etag = h.get("etag")
        r.was304 = st == 304
        if st == 304:
            if not hdrs or r.etag not in (None, prev[0]):
                raise Failed("seed %s: %s: 304 to %r (sent %r)" % (
                    self.w.seed, path, r.etag, hdrs))
            r.body = prev[1]
        elif st == 200:
            if not isinstance(ans, dict) or not isinstance(
                    ans.get("contacts"), list):
                raise Failed("seed %s: GET %s: %r" % (self.w.seed, path, raw[:300]))
            r.body = ans
            if r.etag:
                sha = hashlib.sha256(raw).hexdigest()
                old = self.seen.setdefault((path, r.etag), sha)
                if old != sha:
                    self.bad_etags.append((path, r.etag, raw[:300]))
                self.last[path] = (r.etag, ans)
        else:
            raise Failed("seed %s: GET %s answered %s: %r" % (
                self.w.seed, path, st, raw[:300]))
        self.log.append(r)

    def run(self):
        for _ in range(READS_PER_READER):
            if time.monotonic() > self.deadline:
                return
            self.one(self.rnd.choice(self.kinds))


# --------------------------------------------------------------------------
# the check


def options(c, t0, t1):
    """The states of contact C a read over [t0, t1] may show: that of the
    last write answered before t0 (None before its create), and those of
    the writes sent before t1 after it."""
    k = -1
    for j, (sent, answered, _, _) in enumerate(c.hist):
        if answered < t0:
            k = j
    out = [None] if k == -1 else [c.hist[k][2]]
    for j in range(k + 1, len(c.hist)):
        if c.hist[j][0] < t1:
            out.append(c.hist[j][2])
    return out


def proj(x):
    return (x["id"], x["email"], x["name"], x["status"])


def shown_for(read, c, s):
    """What state S of contact C contributes to READ: None (not shown) or
    (order key, projection)."""
    if s is None:
        return None
    if s["status"] == "deleted" and not read.all:
        return None
    p = (c.id, s["email"], s["name"], s["status"])
    if read.kind == "email":
        return (0, p) if s["email"].lower() == read.arg.lower() else None
    if read.kind == "page":
        return (c.pos, p)
    if read.arg not in s["lists"]:
        return None
    return (s["lists"][read.arg], p)


def expected(read, chosen):
    items = sorted(x for x in chosen if x is not None)
    ps = [p for _, p in items]
    if read.kind == "email":
        return ps
    return ps[read.offset:read.offset + read.limit]


def check_read(world, read):
    """None if READ's answer is one the oracle allows; else a message."""
    got = [proj(x) for x in read.body["contacts"]]
    fixed, flux = [], []
    for c in world.contacts.values():
        opts = []
        for s in options(c, read.t0, read.t1):
            o = shown_for(read, c, s)
            if o not in opts:
                opts.append(o)
        (fixed if len(opts) == 1 else flux).append((c, opts))
    base = [o[0] for _, o in fixed]
    n = 1
    for _, o in flux:
        n *= len(o)
    if n > MAX_COMBOS:
        return "unchecked"
    for combo in product(*[o for _, o in flux]):
        if expected(read, base + list(combo)) == got:
            return None
    # the answer the last answered writes give, for the message
    latest = []
    for c in world.contacts.values():
        latest.append(shown_for(read, c, options(c, read.t0, read.t1)[0]))
    return dict(got=got, want_oldest_allowed=expected(read, latest),
                flux=[c.id for c, _ in flux])


def describe(world, read, why):
    ids = set(why["flux"])
    for p in why["got"] + why["want_oldest_allowed"]:
        ids.add(p[0])
    lines = ["seed %s: a stale (or wrong) answer" % world.seed,
             "  read (reader %d): GET %s%s, started %s, ended %s%s" % (
                 read.reader, read.path,
                 " [304 for ETag %s]" % read.etag if read.was304 else "",
                 world.rel(read.t0), world.rel(read.t1),
                 " (a 304 stands for the body of that ETag)" if read.was304 else ""),
             "  got:  %r" % (why["got"],),
             "  want (as of the last writes answered before the read; later "
             "in-flight states also allowed): %r" % (why["want_oldest_allowed"],),
             "  contacts with writes in flight during the read: %r" % why["flux"]]
    for cid in sorted(ids):
        c = world.contacts.get(cid)
        if c is None:
            lines.append("  %s: never written by this test" % cid)
            continue
        lines.append("  contact %s (creation place %s), its writes (sent, answered, "
                     "what -> state):" % (cid, c.pos))
        before = [h for h in c.hist if h[1] < read.t0]
        rest = [h for h in c.hist if h[1] >= read.t0]
        for sent, answered, st, what in before[-6:] + rest[:4]:
            lines.append("    %s .. %s  %s -> %s" % (
                world.rel(sent), world.rel(answered), what,
                None if st is None else (st["email"], st["name"], st["status"],
                                         st["lists"])))
    return "\n".join(lines)


def test_random_reads_reflect_every_answered_write(api):
    seed = os.environ.get("CACHE_RANDOM_SEED") or "%d" % random.randrange(10**9)
    print("test_cache_random: seed %s (CACHE_RANDOM_SEED=%s to run it again)"
          % (seed, seed))
    world = World(seed)
    http_ = Http(api.key)
    lists = [api.new_list()["id"] for _ in range(2)]
    tag = uuid.uuid4().hex[:8]
    emails = ["rnd%s-%d@example.com" % (tag, i)
              for i in range(WRITERS * EMAILS_PER_WRITER)]
    before = stack.cache_counters()
    deadline = time.monotonic() + DURATION
    writers = [Writer(world, http_, i,
                      emails[i * EMAILS_PER_WRITER:(i + 1) * EMAILS_PER_WRITER],
                      lists, deadline) for i in range(WRITERS)]
    kinds = read_kinds(emails, lists)
    log, bad_etags, errors = [], [], []
    readers = [Reader(world, http_, i, kinds, deadline, log, bad_etags)
               for i in range(READERS)]

    def guard(f):
        try:
            f()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("%s: %r" % (type(e).__name__, e))

    threads = [threading.Thread(target=guard, args=(x.run,), daemon=True)
               for x in writers + readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DURATION + 60)
    assert not any(t.is_alive() for t in threads), \
        "seed %s: a thread did not end" % seed
    assert not errors, "seed %s: %s" % (seed, "\n".join(errors[:5]))
    racing = len(log)
    # one more pass of every read, with every write answered: the final
    # states exactly
    final = Reader(world, http_, READERS, kinds, time.monotonic() + 60, log,
                   bad_etags)
    for k in kinds:
        final.one(k)
    after = stack.cache_counters()

    failures, unchecked, n304 = [], 0, 0
    for read in log:
        n304 += read.was304
        why = check_read(world, read)
        if why == "unchecked":
            unchecked += 1
        elif why is not None:
            failures.append(describe(world, read, why))
    writes = sum(len(c.hist) for c in world.contacts.values())
    hits = after["hits"] - before["hits"]
    misses = after["misses"] - before["misses"]
    print("test_cache_random: seed %s: %d writes, %d reads while writing "
          "(%d 304s), %d after; %d contacts; cache hits %d, misses %d, "
          "errors %d; %d reads too tangled to check" % (
              seed, writes, racing, n304, len(kinds),
              len(world.contacts), hits, misses,
              after["errors"] - before["errors"], unchecked))
    assert not bad_etags, "seed %s: one ETag for two bodies: %r" % (
        seed, bad_etags[:3])
    assert not failures, "seed %s: %d of %d reads wrong:\n%s" % (
        seed, len(failures), len(log), "\n\n".join(failures[:3]))
    assert writes >= 50 and racing >= 100, \
        "seed %s: too little ran (%d writes, %d reads)" % (seed, writes, racing)
    assert unchecked <= len(log) // 20, \
        "seed %s: %d reads unchecked" % (seed, unchecked)
    # the point is reads answered from the cache while writes go on
    assert hits > 0, "seed %s: no read was a cache hit" % seed
