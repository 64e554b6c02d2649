"""Counts stay exact under concurrency (issue 11, "Counts stay exact"):
several clients at once create contacts onto lists, delete, restore, erase,
unsubscribe and move them between lists, on a small pool of emails and
three lists, so that the writes collide.  Afterwards:

- every list's `count` (GET /lists/{id} and GET /lists) equals a direct
  count in PostgreSQL of its members whose contact is not deleted, and the
  number of members walked through GET /lists/{id}/contacts (and with
  includeAll, the number of all its members);
- GET /contacts walked page by page shows exactly the contacts not
  deleted, and with includeAll all of them (the block counts behind the
  offsets are exact too).

Bounded: 8 threads x 60 operations, and a time limit.
"""

import concurrent.futures
import random
import threading
import time

import pytest

from conftest import next_link, uniq_email
from test_states import sql  # noqa: F401  (the psql fixture)

THREADS = 8
OPS = 60
TIME_LIMIT = 90.0
POOL = 12


def q(s):
    return "'" + s.replace("'", "''") + "'"


def walk_count(api, path, limit):
    """The ids walked from PATH following rel=next (bounded)."""
    got = []
    path = "%s%slimit=%d" % (path, "&" if "?" in path else "?", limit)
    for _ in range(1000):
        r = api.get(path)
        assert r.status == 200, r
        got += [c["id"] for c in r.json["contacts"]]
        path = next_link(r)
        if path is None:
            return got
    raise AssertionError("too many pages")


def _mix(api, lists, emails, seed, deadline, errors, lock, done):
    rnd = random.Random(seed)
    ids = {}  # email -> id, as last seen by this thread

    def find_id(e):
        r = api.get("/contacts", params={"email": e, "includeAll": "true"})
        if r.status != 200:
            return None, r
        cs = r.json["contacts"]
        return (cs[0]["id"] if cs else None), r

    for _ in range(OPS):
        if time.monotonic() > deadline:
            return
        e = rnd.choice(emails)
        op = rnd.random()
        ok = (200, 201)
        if op < 0.25:
            r = api.post("/contacts", {"email": e,
                                       "addToLists": rnd.sample(lists, 2)})
        elif op < 0.35:
            r = api.post("/contacts", {"email": e,
                                       "removeFromLists": [rnd.choice(lists)],
                                       "addToLists": []})
        elif op < 0.5:
            if rnd.random() < 0.5:
                r = api.request("DELETE", "/contacts", params={"email": e})
            else:
                r = api.request("DELETE", "/contacts", body={"email": e})
            ok = (200, 404)
        elif op < 0.6:
            cid, r = find_id(e)
            if cid is None:
                continue
            r = api.request("DELETE", "/contacts/" + cid,
                            params={"erase": "true"})
            ok = (204, 404)
        elif op < 0.7:
            # restore (or just update) by POST, no lists
            r = api.post("/contacts", {"email": e, "name": "r%d" % seed})
        else:
            cid, r = find_id(e)
            if cid is None:
                continue
            a, b = rnd.sample(lists, 2)
            body = rnd.choice([
                {"addToLists": [a]},
                {"removeFromLists": [a]},
                {"addToLists": [a], "removeFromLists": [b]},
                {"status": rnd.choice(["active", "unsubscribed", "error"])},
                {"status": "active", "addToLists": [b]},
            ])
            r = api.request("PATCH", "/contacts/" + cid, body=body)
            ok = (200, 404)
        with lock:
            done[0] += 1
            if r.status not in ok:
                errors.append(r)


@pytest.mark.parametrize("round_", [0, 1, 2])
def test_counts_exact_after_a_concurrent_mix(api, sql, round_):
    lists = [api.new_list()["id"] for _ in range(3)]
    emails = [uniq_email("cnt") for _ in range(POOL)]
    # some contacts to start with, on lists
    for i, e in enumerate(emails[:6]):
        api.upsert({"email": e, "addToLists": lists[:1 + i % 3]})
    errors, lock, done = [], threading.Lock(), [0]
    deadline = time.monotonic() + TIME_LIMIT
    with concurrent.futures.ThreadPoolExecutor(THREADS) as ex:
        fs = [ex.submit(_mix, api, lists, emails, seed, deadline, errors,
                        lock, done) for seed in range(round_ * 100,
                                                  round_ * 100 + THREADS)]
        for f in fs:
            f.result(timeout=TIME_LIMIT + 60)
    assert not errors, errors[:5]
    assert done[0] >= THREADS * OPS // 3, "only %d operations ran" % done[0]

    org = q(api.org_id)
    by_list = {x["id"]: x for x in api.lists()}
    for lid in lists:
        live = int(sql(
            "SELECT count(*) FROM list_members m JOIN contacts c "
            "ON c.org_id = m.org_id AND c.id = m.contact_id "
            "WHERE m.org_id = %s AND m.list_id = %s "
            "AND c.status <> 'deleted'" % (org, q(lid))))
        every = int(sql(
            "SELECT count(*) FROM list_members m JOIN contacts c "
            "ON c.org_id = m.org_id AND c.id = m.contact_id "
            "WHERE m.org_id = %s AND m.list_id = %s" % (org, q(lid))))
        assert api.get_list(lid)["count"] == live, lid
        assert by_list[lid]["count"] == live, lid
        base = "/lists/%s/contacts" % lid
        for limit in (1000, 3):
            walked = walk_count(api, base, limit)
            assert len(walked) == live == len(set(walked)), (lid, limit)
            walked = walk_count(api, base + "?includeAll=true", limit)
            assert len(walked) == every == len(set(walked)), (lid, limit)

    live_ids = set(sql("SELECT id FROM contacts WHERE org_id = %s "
                       "AND status <> 'deleted'" % org).split())
    all_ids = set(sql("SELECT id FROM contacts WHERE org_id = %s"
                      % org).split())
    for limit in (1000, 2):
        walked = walk_count(api, "/contacts", limit)
        assert len(walked) == len(set(walked)) and set(walked) == live_ids
        walked = walk_count(api, "/contacts?includeAll=true", limit)
        assert len(walked) == len(set(walked)) and set(walked) == all_ids
