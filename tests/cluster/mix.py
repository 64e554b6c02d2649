"""A steady read/write mix through the cluster's nginx, and its audit.

Writer threads each own a set of emails and write them in turn: POST
/contacts {"email", "name": "v<n>"}, n counting up per email, every
other one with an Idempotency-Key (sent again with it while the answer is
409 idempotency_in_progress, as a client does); so the writes of one
email are sequential and their values ordered.  Reader threads GET /contacts?email=
of any writer's email.  Every request is recorded with the monotonic time
it was sent and answered, and its status.  The mix runs until stop(), or
for at most MAX_SECONDS.

The audit, afterwards (audit()):
  - durability: for every email, the name PostgreSQL holds is the value of
    its last write answered 2xx, or of a later write whose outcome the
    client never learnt (no answer, 5xx); an email with a 2xx write is
    there.
  - staleness: no read answered 200 shows an older value than the last
    write of that email answered 2xx before the read was sent.
"""

import collections
import random
import threading
import time
import uuid

MAX_SECONDS = 120
# A write with a key answered 409 idempotency_in_progress is sent again
# with the same key, as a client would after Retry-After (1 s), but sooner.
IN_PROGRESS_TRIES = 5
IN_PROGRESS_WAIT = 0.5


class Mix:
    def __init__(self, cluster, key, prefix, writers=3, readers=3, emails=12):
        self.cluster = cluster
        self.key = key
        self.prefix = prefix
        self.emails = [["%s-w%d-%d@example.com" % (prefix, w, i)
                        for i in range(emails)] for w in range(writers)]
        self.writes = []  # dicts: email seq value keyed t0 t1 status
        self.reads = []  # dicts: email t0 t1 status value
        self._stop = threading.Event()
        self._threads = (
            [threading.Thread(target=self._writer, args=(w,), daemon=True)
             for w in range(writers)]
            + [threading.Thread(target=self._reader, args=(r,), daemon=True)
               for r in range(readers)])
        self.started = None
        self.in_progress = 0  # 409 idempotency_in_progress answers, sent again

    # running ----------------------------------------------------------------

    def start(self):
        self.started = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in self._threads), "a mix thread hangs"

    def _done(self):
        return self._stop.is_set() or time.monotonic() - self.started > MAX_SECONDS

    def _request(self, method, path, body=None, headers=None):
        h = {"X-API-Key": self.key}
        h.update(headers or {})
        return self.cluster.request(method, path, body=body, headers=h,
                                    timeout=10.0)

    def _writer(self, w):
        seq = collections.Counter()
        i = 0
        while not self._done():
            email = self.emails[w][i % len(self.emails[w])]
            i += 1
            seq[email] += 1
            n = seq[email]
            value = "v%d" % n
            keyed = n % 2 == 0
            headers = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
            t0 = time.monotonic()
            for _ in range(IN_PROGRESS_TRIES):
                status, _, body = self._request(
                    "POST", "/contacts", {"email": email, "name": value}, headers)
                if not (keyed and status == 409 and isinstance(body, dict) and
                        body.get("error", {}).get("code") == "idempotency_in_progress"):
                    break
                # The same key still runs elsewhere (a try nginx passed to
                # a pool that died, whose session has not ended yet): a
                # client waits and sends it again.
                self.in_progress += 1
                time.sleep(IN_PROGRESS_WAIT)
            self.writes.append({"email": email, "seq": n, "value": value,
                                "keyed": keyed, "t0": t0,
                                "t1": time.monotonic(), "status": status})

    def _reader(self, r):
        rnd = random.Random(r)
        flat = [e for es in self.emails for e in es]
        while not self._done():
            email = rnd.choice(flat)
            t0 = time.monotonic()
            status, _, body = self._request(
                "GET", "/contacts?email=" + email.replace("@", "%40"))
            value = None
            if status == 200:
                found = body.get("contacts") if isinstance(body, dict) else None
                value = found[0]["name"] if found else None
            self.reads.append({"email": email, "t0": t0, "t1": time.monotonic(),
                               "status": status, "value": value})

    # what happened ------------------------------------------------------------

    def requests(self):
        return [dict(x, kind="write") for x in self.writes] + \
            [dict(x, kind="read") for x in self.reads]

    def statuses(self):
        return collections.Counter((x["kind"], x["status"]) for x in self.requests())

    def failures(self):
        """Requests not answered 2xx, in the order they were answered."""
        return sorted((x for x in self.requests() if not 200 <= x["status"] < 300),
                      key=lambda x: x["t1"])

    def longest_write_gap(self, since=None):
        """The longest time between two writes answered 2xx (seconds), and
        when it started, after SINCE."""
        ok = sorted(x["t1"] for x in self.writes
                    if 200 <= x["status"] < 300 and (since is None or x["t1"] >= since))
        if since is not None:
            ok = [since] + ok
        gaps = [(b - a, a) for a, b in zip(ok, ok[1:])]
        return max(gaps) if gaps else (0.0, since)

    def summary(self):
        s = self.statuses()
        return ", ".join("%s %s: %d" % (k[0], k[1], v) for k, v in sorted(s.items()))

    # the audit ------------------------------------------------------------------

    def audit(self, org_id):
        """Durability and staleness, as the module says; AssertionError
        with the first few violations."""
        assert any(200 <= w["status"] < 300 for w in self.writes), \
            "no write of the mix was answered 2xx: " + self.summary()
        assert any(r["status"] == 200 for r in self.reads), \
            "no read of the mix was answered 200: " + self.summary()
        rows = self.cluster.psql(
            "SELECT email, name FROM contacts WHERE org_id = '%s' "
            "AND email LIKE '%s-%%'" % (org_id, self.prefix))
        held = {r[0]: r[1] for r in rows}
        by_email = collections.defaultdict(list)
        for w in self.writes:
            by_email[w["email"]].append(w)
        lost = []
        for email, ws in by_email.items():
            ws.sort(key=lambda w: w["seq"])
            ok = [w for w in ws if 200 <= w["status"] < 300]
            if not ok:
                continue
            last = ok[-1]
            # a 4xx wrote nothing, but 409 idempotency_in_progress says
            # another try of the same key may have
            allowed = {last["value"]} | {
                w["value"] for w in ws
                if w["seq"] > last["seq"] and
                not (400 <= w["status"] < 500 and w["status"] != 409)}
            if held.get(email) not in allowed:
                lost.append("%s: PostgreSQL holds %r, the last 2xx write was %r "
                            "(allowed %s)" % (email, held.get(email), last["value"],
                                              sorted(allowed)))
        assert not lost, "answered writes lost (%d):\n  %s" % (
            len(lost), "\n  ".join(lost[:10]))
        stale = []
        for r in self.reads:
            if r["status"] != 200:
                continue
            before = [w["seq"] for w in by_email.get(r["email"], [])
                      if 200 <= w["status"] < 300 and w["t1"] < r["t0"]]
            if not before:
                continue
            seen = int(r["value"][1:]) if r["value"] else 0
            if seen < max(before):
                stale.append("%s read at %.3f: %r, but v%d was answered before" % (
                    r["email"], r["t0"] - self.started, r["value"], max(before)))
        assert not stale, "stale reads (%d):\n  %s" % (len(stale), "\n  ".join(stale[:10]))
        return len(by_email), len(self.reads)
