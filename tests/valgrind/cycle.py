"""A full request cycle of every endpoint, for scripts/valgrind.

Drives the stack at CONTACTS_URL through every route and every kind of
answer the service makes (successes, cache misses and hits, every error
status), so that memcheck sees each code path run at least once.  Checks
the statuses as it goes: a cycle that goes wrong fails here, not later.

usage: cycle.py PHASE   (PHASE: full, redis-down, after)
environment: CONTACTS_URL, CONTACTS_API_KEY, CONTACTS_CTL (a command)
"""

import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request

URL = os.environ["CONTACTS_URL"]
KEY = os.environ["CONTACTS_API_KEY"]
CTL = shlex.split(os.environ["CONTACTS_CTL"])
TIMEOUT = 60  # valgrind makes the pool 20-50 times slower


def call(method, path, body=None, key=KEY, ctype="application/json",
         headers=None):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    if key:
        req.add_header("X-API-Key", key)
    if data is not None and ctype:
        req.add_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def expect(status, method, path, *args, **kw):
    got, body = call(method, path, *args, **kw)
    if got != status:
        sys.exit("cycle: %s %s: expected %d, got %d: %r"
                 % (method, path, status, got, body[:300]))
    return json.loads(body) if body[:1] in (b"{", b"[") else body


def ctl(*args):
    return subprocess.run(CTL + list(args), check=True, capture_output=True,
                          text=True, timeout=120).stdout.strip()


def full():
    expect(200, "GET", "/healthz", key=None)
    expect(200, "GET", "/test")
    expect(200, "GET", "/metrics", key=None)
    lst = expect(201, "POST", "/lists", {"name": "vg list", "type": "customer"})
    lid = lst["list"]["id"]
    expect(200, "GET", "/lists")
    expect(200, "GET", "/lists?type=customer&offset=0&limit=10")
    for i in range(3):
        expect(201, "POST", "/contacts",
               {"email": "vg%d@example.com" % i, "name": "Vé %d" % i,
                "phone": "+41 79 000 00 0%d" % i, "company": "Acme",
                "eid": "E%d" % i, "addToLists": [lid] if i % 2 else []})
    expect(200, "POST", "/contacts", {"email": "VG0@Example.com", "name": None})
    for _ in range(2):  # miss, then hit
        expect(200, "GET", "/contacts?email=vg1@example.com")
        expect(200, "GET", "/contacts?offset=0&limit=2")  # full page: Link
        expect(200, "GET", "/contacts?includeAll=true")
    expect(200, "GET", "/contacts?email=nobody@example.com")
    # the lifecycle: by id, PATCH, fields, list members, delete, erase
    expect(201, "POST", "/fields", {"name": "tier", "type": "string"})
    expect(201, "POST", "/fields", {"name": "since", "type": "date"})
    expect(200, "GET", "/fields")
    c = expect(201, "POST", "/contacts",
               {"email": "vg9@example.com", "field_tier": "gold",
                "fields": {"since": "2024-02-29"}, "addToLists": [lid]})
    cid = c["contact"]["id"]
    expect(200, "GET", "/contacts/" + cid)
    expect(200, "PATCH", "/contacts/" + cid,
           {"name": "Nine", "status": "unsubscribed", "fields": {"tier": None},
            "removeFromLists": [lid]})
    expect(200, "PATCH", "/contacts/" + cid, {})
    expect(409, "PATCH", "/contacts/" + cid, {"email": "VG1@example.com"})
    expect(422, "PATCH", "/contacts/" + cid, {"status": "deleted"})
    expect(422, "PATCH", "/contacts/" + cid, {"field_nope": 1})
    expect(422, "PATCH", "/contacts/" + cid, {"field_since": "2023-02-29"})
    for _ in range(2):  # miss, then hit
        expect(200, "GET", "/lists/%s/contacts?limit=1" % lid)
    expect(200, "GET", "/lists/" + lid)
    expect(200, "PATCH", "/lists/" + lid, {"name": "vg renamed"})
    expect(200, "DELETE", "/contacts/" + cid)
    expect(200, "DELETE", "/contacts/" + cid)
    expect(200, "GET", "/contacts?includeAll=true&offset=1&limit=2")
    expect(200, "DELETE", "/contacts?email=vg0@example.com")
    expect(200, "DELETE", "/contacts", {"email": "vg0@example.com"})
    expect(204, "DELETE", "/contacts/%s?erase=true&suppress=true" % cid)
    expect(409, "POST", "/contacts", {"email": "vg9@example.com"})
    expect(204, "DELETE", "/suppressions?email=vg9@example.com")
    expect(404, "DELETE", "/suppressions?email=vg9@example.com")
    expect(404, "GET", "/contacts/" + cid)
    expect(204, "DELETE", "/fields/since")
    expect(404, "DELETE", "/fields/since")
    tmp = expect(201, "POST", "/lists", {"name": "vg gone"})["list"]["id"]
    expect(200, "DELETE", "/lists/" + tmp)
    expect(404, "GET", "/lists/%s/contacts" % tmp)
    # bulk, the feed, updated_since and eid, idempotency, ETags
    b = expect(200, "POST", "/contacts/bulk", {"contacts": [
        {"email": "vgb1@example.com", "eid": "E-vg", "fields": {"tier": "x"}},
        {"email": "vgb1@example.com"}, {"email": "bad"}, 7,
        {"email": "vgb2@example.com", "addToLists": ["ZZZZZZZZZ"]}]})
    if b["failed"] != 3:
        sys.exit("cycle: bulk: %r" % b)
    expect(422, "POST", "/contacts/bulk", {"contacts": []})
    feed = expect(200, "GET", "/contacts/changes?limit=3")
    expect(200, "GET", "/contacts/changes?after=" + feed["next"])
    expect(400, "GET", "/contacts/changes?after=x")
    expect(200, "GET", "/contacts?updated_since=2024-01-01T00:00:00Z")
    expect(400, "GET", "/contacts?updated_since=soon")
    expect(200, "GET", "/contacts?eid=E-vg")
    for _ in range(2):
        expect(201, "POST", "/lists", {"name": "vg idem"},
               headers={"Idempotency-Key": "vg-key-1"})
    expect(422, "POST", "/lists", {"name": "vg other"},
           headers={"Idempotency-Key": "vg-key-1"})
    expect(400, "POST", "/lists", {"name": "x"}, headers={"Idempotency-Key": ""})
    expect(304, "GET", "/fields", headers={"If-None-Match": "*"})
    # every refusal
    expect(401, "GET", "/contacts", key=None)
    expect(401, "GET", "/test", key="ck_AAAAAAAAA_" + "x" * 43)
    expect(404, "GET", "/nowhere")
    expect(405, "PUT", "/contacts")
    expect(400, "DELETE", "/contacts")
    expect(400, "DELETE", "/contacts/AAAAAAAAA?suppress=true")
    expect(400, "GET", "/contacts?limit=0")
    expect(400, "GET", "/contacts?email=not-an-address")
    expect(400, "POST", "/contacts", b'{"email": ')
    expect(400, "POST", "/contacts", b'{"email":"a@b.co","email":"c@d.co"}')
    expect(415, "POST", "/contacts", b'{}', ctype="text/plain")
    expect(422, "POST", "/contacts", {"email": "x@example.com", "bogus": 1})
    expect(422, "POST", "/contacts", {"name": "no email"})
    expect(422, "POST", "/contacts", {"email": "y@example.com",
                                      "addToLists": ["ZZZZZZZZZ"]})
    expect(422, "POST", "/lists", {"name": "x", "type": "bogus"})
    expect(413, "POST", "/contacts", b"x" * (70 * 1024))
    # a key over its rate
    org = ctl("org", "create", "vg-limits")
    limited = ctl("key", "create", org, "--rate-limit", "1")
    expect(200, "GET", "/test", key=limited)
    expect(429, "GET", "/test", key=limited)


def redis_down():
    # reads from PostgreSQL, and a write that bumps the epoch
    expect(200, "GET", "/healthz", key=None)
    expect(200, "GET", "/contacts?email=vg1@example.com")
    expect(200, "POST", "/contacts", {"email": "vg2@example.com", "name": "down"})
    expect(200, "GET", "/contacts?offset=0&limit=2")


def after():
    got = expect(200, "GET", "/contacts?email=vg2@example.com")
    if got["contacts"][0]["name"] != "down":
        sys.exit("cycle: the write made while Redis was down is not seen")
    expect(200, "GET", "/contacts?email=vg2@example.com")


{"full": full, "redis-down": redis_down, "after": after}[sys.argv[1]]()
print("cycle %s: ok" % sys.argv[1])
