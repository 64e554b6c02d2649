"""Incremental sync (API.md, Round 2): the change feed, updated_since and
eid (docs/feed.md).

The feed must be exact under concurrency: a follower that follows `next`
sees every committed change exactly once, never one that rolled back, and
misses none that committed while it was reading, across a PostgreSQL
restart too.
"""
import concurrent.futures
import random
import re
import threading
import time

import pytest

import conftest
import stack
from conftest import assert_contact, assert_error, next_link, uniq_email
from test_states import sql  # noqa: F401  (the psql fixture)

CURSOR_RE = re.compile(r"^[0-9]+\.[0-9]+$")


def feed(api, after=None, limit=None, status=200):
    params = {}
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = limit
    r = api.get("/contacts/changes", params=params or None)
    assert r.status == status, r
    if status != 200:
        return r
    assert set(r.json) == {"changes", "next"}, r
    assert CURSOR_RE.match(r.json["next"]), r
    for ch in r.json["changes"]:
        assert set(ch) == {"cursor", "op", "id", "at", "contact"}, ch
        assert CURSOR_RE.match(ch["cursor"]), ch
        assert ch["op"] in ("create", "update", "delete", "erase"), ch
        assert conftest.TS_RE.match(ch["at"]), ch
        if ch["op"] == "erase":
            assert ch["contact"] is None, ch
        if ch["contact"] is not None:
            assert_contact(ch["contact"])
            assert ch["contact"]["id"] == ch["id"], ch
    return r.json


def drain(api, after=None, limit=50):
    """Every change after the cursor, following next until none is left."""
    out = []
    for _ in range(10000):
        page = feed(api, after, limit)
        out += page["changes"]
        if after is not None and page["changes"]:
            assert page["changes"][0]["cursor"] != after
        after = page["next"]
        if not page["changes"]:
            return out, after
    pytest.fail("the feed does not end")


def key(cursor):
    x, s = cursor.split(".")
    return int(x), int(s)


def test_every_write_is_recorded_in_order(api):
    lst = api.new_list()
    a = api.create(name="a")
    b = api.create(name="b", addToLists=[lst["id"]])
    api.upsert({"email": a["email"], "name": "a2"})
    r = api.request("PATCH", "/contacts/" + b["id"], body={"phone": "1"})
    assert r.status == 200, r
    assert api.request("DELETE", "/contacts/" + a["id"]).status == 200
    assert api.request("DELETE", "/contacts/" + a["id"]).status == 200  # no change
    api.upsert({"email": a["email"]})  # restore
    # refused writes record nothing
    assert api.post("/contacts", {"email": b["email"],
                                  "addToLists": ["ZZZZZZZZZ"]}).status == 422
    assert api.request("DELETE", "/contacts/%s?erase=true" % b["id"]).status == 204
    got, nxt = drain(api)
    assert [(c["op"], c["id"]) for c in got] == [
        ("create", a["id"]), ("create", b["id"]), ("update", a["id"]),
        ("update", b["id"]), ("delete", a["id"]), ("update", a["id"]),
        ("erase", b["id"])]
    assert [key(c["cursor"]) for c in got] == sorted(key(c["cursor"]) for c in got)
    assert len({c["cursor"] for c in got}) == len(got)
    assert got[-1]["cursor"] == nxt
    # nothing of the erased contact stays, older entries included
    assert all(c["contact"] is None for c in got if c["id"] == b["id"])
    assert got[0]["contact"]["name"] == "a2"  # the contact as it is now
    # asking again with next: only newer changes
    assert feed(api, nxt)["changes"] == []
    c = api.create()
    page = feed(api, nxt)
    assert [(x["op"], x["id"]) for x in page["changes"]] == [("create", c["id"])]
    assert page["next"] == page["changes"][-1]["cursor"]
    # limit
    page = feed(api, limit=2)
    assert [x["cursor"] for x in page["changes"]] == [x["cursor"] for x in got[:2]]
    assert page["next"] == got[1]["cursor"]


def test_feed_is_per_organization(api, api_b):
    api.create()
    assert feed(api_b)["changes"] == []
    assert feed(api_b)["next"] == "0.0"


@pytest.mark.parametrize("params,field", [
    ({"after": "abc"}, "after"),
    ({"after": "1"}, "after"),
    ({"after": "1.-1"}, "after"),
    ({"after": "99999999999999999999999.1"}, "after"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
])
def test_feed_refuses_bad_parameters(api, params, field):
    assert_error(api.get("/contacts/changes", params=params), 400,
                 "invalid_parameter", field)


def test_expired_cursor_is_410(api, sql):
    a = api.create()
    first = feed(api)["changes"][0]["cursor"]
    api.upsert({"email": a["email"], "name": "later"})
    b = api.create()
    # age the first two entries past what the feed keeps, and sweep
    sql("UPDATE changes SET at = now() - interval '31 days' "
        "WHERE org_id = '%s' AND contact_id = '%s'" % (api.org_id, a["id"]))
    out = conftest.ctl("prune").stdout
    assert "pruned" in out, out
    err = assert_error(api.get("/contacts/changes", params={"after": first}),
                       410, "cursor_expired", "after")
    assert "resync" in err["message"]
    # from the start, and from past the horizon, the feed still answers
    got, _ = drain(api)
    assert [(c["op"], c["id"]) for c in got] == [("create", b["id"])]
    # the feed keeps at least 30 days
    p = conftest.ctl("prune", "--keep-days", "29", check=False)
    assert p.returncode != 0 and "30" in p.stderr, p


def _writer(api, seed, stop, acked, lock, lists):
    """Creates, updates, patches and deletes its own contacts; every write
    answered 2xx is one change the follower must see exactly once.  Some
    refused writes (unknown list) must leave no change."""
    rnd = random.Random(seed)
    mine = []
    while not stop.is_set():
        op = rnd.random()
        if not mine or op < 0.3:
            r = api.post("/contacts", {"email": uniq_email("f%d" % seed)})
            want = "create"
        elif op < 0.55:
            c = rnd.choice(mine)
            r = api.post("/contacts", {"email": c["email"], "name": "n%d" % rnd.random()})
            want = "update"
        elif op < 0.75:
            c = rnd.choice(mine)
            r = api.request("PATCH", "/contacts/" + c["id"],
                            body={"company": "c%d" % rnd.random(),
                                  "status": "active"})
            want = "update"
        elif op < 0.9:
            c = rnd.choice(mine)
            if c["status"] == "deleted":
                continue
            r = api.request("DELETE", "/contacts/" + c["id"])
            want = "delete"
        else:
            c = rnd.choice(mine)
            r = api.post("/contacts", {"email": c["email"], "addToLists": ["ZZZZZZZZZ"]})
            assert r.status in (422, 503), r
            continue
        if r.status == 503:
            continue  # outcome unknown: the audit below allows either
        assert r.status in (200, 201), r
        got = r.json["contact"]
        if want == "create":
            mine.append(got)
        else:
            for i, x in enumerate(mine):
                if x["id"] == got["id"]:
                    mine[i] = got
        with lock:
            acked.append((got["id"], want))


def _follow(api, state, stop, lock):
    """Follows the feed while the writers run."""
    while not stop.is_set():
        page = feed(api, state["next"], 37)
        with lock:
            state["seen"] += page["changes"]
            state["next"] = page["next"]
        if not page["changes"]:
            time.sleep(0.02)


def _audit(acked, seen):
    """Every acknowledged write seen once, in each contact's order; no
    entry seen twice; cursors strictly increasing."""
    cursors = [key(c["cursor"]) for c in seen]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors), \
        "the feed repeated or reordered entries"
    by_contact = {}
    for cid, op in acked:
        by_contact.setdefault(cid, []).append(op)
    got = {}
    for c in seen:
        got.setdefault(c["id"], []).append(c["op"])
    for cid, ops in by_contact.items():
        assert got.get(cid) == ops, (cid, ops, got.get(cid))
    assert set(got) == set(by_contact), set(got) ^ set(by_contact)


def test_exactly_once_under_concurrent_writers(api):
    acked, lock, stop = [], threading.Lock(), threading.Event()
    state = {"next": None, "seen": []}
    with concurrent.futures.ThreadPoolExecutor(7) as ex:
        fs = [ex.submit(_writer, api, i, stop, acked, lock, None) for i in range(6)]
        fol = ex.submit(_follow, api, state, stop, lock)
        time.sleep(6)
        stop.set()
        for f in fs + [fol]:
            f.result(timeout=60)
    rest, _ = drain(api, state["next"])
    seen = state["seen"] + rest
    assert len(acked) > 50, len(acked)
    _audit(acked, seen)


def test_exactly_once_across_a_postgresql_restart(api):
    acked, lock, stop = [], threading.Lock(), threading.Event()
    state = {"next": None, "seen": []}
    ex = concurrent.futures.ThreadPoolExecutor(4)
    try:
        fs = [ex.submit(_writer, api, 100 + i, stop, acked, lock, None) for i in range(3)]
        time.sleep(2)
        first, state["next"] = drain(api, None)
        state["seen"] += first
        conftest.settle_org_pool()
        stack.lib_sh("pg_stop")
        time.sleep(0.5)
        stack.lib_sh("pg_start")
        stack.wait_healthy(60)
        time.sleep(2)
        stop.set()
        for f in fs:
            f.result(timeout=60)
    finally:
        stop.set()
        ex.shutdown(wait=True)
        if not stack.pid_of("pg/postmaster.pid", "postgres"):
            stack.lib_sh("pg_start")
        stack.wait_healthy(60)
    rest, _ = drain(api, state["next"])
    seen = state["seen"] + rest
    # writes answered 503 (the restart) may or may not have committed: only
    # acknowledged ones are audited, and nothing may be seen twice
    cursors = [key(c["cursor"]) for c in seen]
    assert len(set(cursors)) == len(cursors)
    assert cursors == sorted(cursors)
    got = {}
    for c in seen:
        got.setdefault(c["id"], []).append(c["op"])
    for cid, op in acked:
        assert op in got.get(cid, []), (cid, op, got.get(cid))
    assert len(acked) > 10, len(acked)


# --------------------------------------------------------------------------
# updated_since and eid


def test_updated_since(api):
    a = api.create()
    b = api.create()
    time.sleep(0.01)
    mark = api.upsert({"email": b["email"], "name": "x"})["contact"]["updated_at"]
    c = api.create()
    r = api.page(updated_since=mark)
    assert [x["id"] for x in r.json["contacts"]] == [b["id"], c["id"]]
    assert a["id"] not in [x["id"] for x in api.page(updated_since=mark).json["contacts"]]
    # with an offset and a full page: the Link keeps the filter
    r = api.page(updated_since=mark, limit=1)
    assert [x["id"] for x in r.json["contacts"]] == [b["id"]]
    link = next_link(r)
    assert "updated_since=" in link and "offset=1" in link, link
    r = api.get(link)
    assert [x["id"] for x in r.json["contacts"]] == [c["id"]]
    # other spellings of a time
    assert len(api.page(updated_since=mark[:10]).json["contacts"]) >= 2
    assert api.page(updated_since="2999-01-01T00:00:00+02:00").json["contacts"] == []
    # deleted ones only with includeAll
    assert api.request("DELETE", "/contacts/" + c["id"]).status == 200
    assert [x["id"] for x in api.page(updated_since=mark).json["contacts"]] == [b["id"]]
    assert len(api.page(updated_since=mark, includeAll="true").json["contacts"]) == 2
    for bad in ("yesterday", "2024-02-30", "2024-01-01T25:00:00Z",
                "2024-01-01 00:00:00", "2024-01-01T00:00:00", "now"):
        assert_error(api.get("/contacts", params={"updated_since": bad}), 400,
                     "invalid_parameter", "updated_since")


def test_updated_since_before_what_the_feed_keeps(api, sql):
    """updated_since finds its contacts through the change feed's entries
    (schema/017).  A time older than what the feed kept for the
    organization is answered from the contacts themselves: a contact
    written 35 days ago (its entry pruned, as every entry older than 30
    days is) is still found since 36 days ago, before and after the
    sweep."""
    old = api.create(name="35 days")
    older = api.create(name="40 days")
    new = api.create(name="today")
    for c, days in ((old, 35), (older, 40)):
        sql("UPDATE contacts SET created_at = now() - interval '%d days', "
            "updated_at = now() - interval '%d days' "
            "WHERE org_id = '%s' AND id = '%s'" % (days, days, api.org_id, c["id"]))
        sql("UPDATE changes SET at = now() - interval '%d days' "
            "WHERE org_id = '%s' AND contact_id = '%s'" % (days, api.org_id, c["id"]))

    def ago(interval):
        return sql("SELECT to_char((now() - interval '%s') AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" % interval).strip()

    def ids(t):
        r = api.page(updated_since=t)
        assert r.status == 200, r
        return [x["id"] for x in r.json["contacts"]]

    # the feed holds an entry older than the time: its entries answer
    assert ids(ago("36 days")) == [old["id"], new["id"]]
    assert ids(ago("1 day")) == [new["id"]]
    out = conftest.ctl("prune").stdout
    assert "pruned" in out, out
    assert sql("SELECT count(*) FROM changes WHERE org_id = '%s'"
               % api.org_id).strip() == "1"
    # now no entry older than 36 days is left, and the entry of the
    # contact written 35 days ago is gone: the contacts answer (other
    # times than above, so that no cached page answers)
    assert ids(ago("36 days 1 minute")) == [old["id"], new["id"]]
    assert ids(ago("1 day 1 minute")) == [new["id"]]
    api.upsert({"email": old["email"], "name": "again"})
    assert ids(ago("1 day")) == [old["id"], new["id"]]


def test_eid(api):
    a = api.create(eid="crm-1")
    b = api.create(eid="crm-1")
    api.create(eid="crm-2")
    r = api.page(eid="crm-1")
    assert [x["id"] for x in r.json["contacts"]] == [a["id"], b["id"]]
    assert api.page(eid="nope").json["contacts"] == []
    long_eid = "é" * 255
    c = api.create(eid=long_eid)
    assert [x["id"] for x in api.page(eid=long_eid).json["contacts"]] == [c["id"]]
    assert_error(api.get("/contacts", params={"eid": ""}), 400,
                 "invalid_parameter", "eid")
    assert_error(api.get("/contacts", params={"eid": "a", "email": a["email"]}),
                 400, "invalid_parameter")
    # the cache never answers the old eid after a change
    for _ in range(2):
        api.page(eid="crm-1")
    r = api.request("PATCH", "/contacts/" + a["id"], body={"eid": "crm-9"})
    assert r.status == 200, r
    assert [x["id"] for x in api.page(eid="crm-1").json["contacts"]] == [b["id"]]
    assert [x["id"] for x in api.page(eid="crm-9").json["contacts"]] == [a["id"]]
