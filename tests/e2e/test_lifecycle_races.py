"""Round 2 writes that race each other (API.md "Round 2", the lead's
decisions; issue 11): whatever the interleaving, every answer is one the
contract allows (never a 500), and the end state is one of the orders in
which the writes could have run.

- an erasure with suppression racing creates of the same email: no
  contact of that email survives (a create either came first and was
  erased, or came after and was refused 409 suppressed);
- two contacts PATCHed to one new email at once: one wins, the other is
  409 email_taken; a PATCH to an email racing a POST creating it: one
  contact has it;
- the same field defined at once: one 201, the others 409 field_exists;
- DELETE /fields racing writes of its value: once it has answered no
  contact holds a value of it;
- deletes, restores and erasures of one contact at once: its lists' counts
  and pages agree.

Bounded: a few threads, a few rounds each.
"""

import concurrent.futures
import http.client
import json
import os
import random
import threading
import time
import uuid

import stack
from conftest import TIMEOUT, _base, assert_error, uniq_email

ALLOWED_ERRORS = {409, 404, 422}


def fire(api, reqs):
    """Sends every (method, path, body) at once, each on its own
    connection, released together by a barrier; returns [(status, json)]
    in order."""
    _, host, port = _base()
    barrier = threading.Barrier(len(reqs), timeout=TIMEOUT)

    def one(req):
        method, path, body = req
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        try:
            conn.connect()
            hdrs = {"X-API-Key": api.key}
            data = None
            if body is not None:
                data = json.dumps(body)
                hdrs["Content-Type"] = "application/json"
            barrier.wait()
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw
            return r.status, parsed
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(len(reqs)) as ex:
        return [f.result(timeout=60) for f in
                [ex.submit(one, q) for q in reqs]]


def assert_sane(results):
    for s, body in results:
        assert s < 500, results
        if s >= 400:
            assert s in ALLOWED_ERRORS, results
            assert isinstance(body, dict) and "error" in body, results


def test_erase_with_suppression_racing_creates(api):
    for rnd in range(8):
        lst = api.new_list()
        c = api.create(addToLists=[lst["id"]])
        email = c["email"]
        reqs = [("DELETE", "/contacts/%s?erase=true&suppress=true" % c["id"],
                 None)]
        variants = [email, email.upper(), email, email.lower()]
        reqs += [("POST", "/contacts", {"email": e, "name": "racer",
                                        "addToLists": [lst["id"]]})
                 for e in variants[:3]]
        if rnd % 2:
            reqs = reqs[1:] + reqs[:1]
        res = fire(api, reqs)
        assert_sane(res)
        erase = [r for q, r in zip(reqs, res) if q[0] == "DELETE"][0]
        assert erase[0] == 204, res
        for q, (s, body) in zip(reqs, res):
            if q[0] == "POST":
                assert s in (200, 409), res
                if s == 409:
                    assert body["error"]["code"] == "suppressed", res
                    assert body["error"]["field"] == "email", res
                else:
                    assert body["contact"]["id"] == c["id"], res
        # whatever the order: nothing of that email is left, and it stays
        # refused
        assert api.find(email, includeAll="true") == [], (rnd, res)
        assert api.members(lst["id"], includeAll="true") == []
        assert api.get_list(lst["id"])["count"] == 0
        assert_error(api.post("/contacts", {"email": email}), 409,
                     "suppressed", "email")


def test_creates_of_one_new_email_naming_lists_race(api):
    """Creates naming lists are one statement when the email is new
    (STMT_CONTACT_CREATE_LISTS); those that lose the race to the email
    update the winner's contact. One contact, each membership added once,
    the lists' counts and pages agree."""
    for rnd in range(6):
        a, b = api.new_list(), api.new_list()
        email = uniq_email("rl%d" % rnd)
        spellings = [email, email.upper(), " " + email, email.lower()]
        reqs = [("POST", "/contacts",
                 {"email": e, "name": "racer %d" % k,
                  "addToLists": [a["id"], b["id"]] if k % 2 else [a["id"]]})
                for k, e in enumerate(spellings)]
        res = fire(api, reqs)
        assert_sane(res)
        assert sorted(s for s, _ in res) == [200, 200, 200, 201], res
        ids = {body["contact"]["id"] for _, body in res}
        assert len(ids) == 1, res
        # a added once, b once (by whichever of the two naming it ran first)
        assert sum(body["listsUpdated"] for _, body in res) == 2, res
        found = api.find(email)
        assert [c["id"] for c in found] == list(ids), found
        for lst in (a, b):
            assert [m["id"] for m in api.members(lst["id"])] == list(ids), res
            assert api.get_list(lst["id"])["count"] == 1, res


def test_two_contacts_patched_to_one_email(api):
    for rnd in range(8):
        a, b, c = api.create(), api.create(), api.create()
        new = uniq_email("race%d" % rnd)
        res = fire(api, [("PATCH", "/contacts/" + x["id"],
                          {"email": e}) for x, e in
                         ((a, new), (b, new.upper()), (c, " " + new))])
        assert_sane(res)
        won = [r for r in res if r[0] == 200]
        lost = [r for r in res if r[0] != 200]
        assert len(won) == 1, res
        for s, body in lost:
            assert s == 409 and body["error"]["code"] == "email_taken", res
            assert body["error"]["field"] == "email", res
        found = api.find(new)
        assert len(found) == 1, found
        assert found[0]["id"] == won[0][1]["contact"]["id"]
        # the losers kept their emails
        for x in (a, b, c):
            if x["id"] != found[0]["id"]:
                assert api.get_contact(x["id"]) == x


def test_patch_to_an_email_racing_its_create(api):
    for rnd in range(8):
        a = api.create()
        new = uniq_email("pc%d" % rnd)
        reqs = [("PATCH", "/contacts/" + a["id"], {"email": new}),
                ("POST", "/contacts", {"email": new.upper(), "name": "p"})]
        if rnd % 2:
            reqs.reverse()
        res = dict(zip([q[0] for q in reqs], fire(api, reqs)))
        assert_sane(res.values())
        ps, pb = res["PATCH"]
        cs, cb = res["POST"]
        found = api.find(new, includeAll="true")
        assert len(found) == 1, (res, found)
        if ps == 200:
            # the PATCH came first: the POST updated the patched contact
            assert cs == 200 and cb["contact"]["id"] == a["id"], res
            assert found[0]["id"] == a["id"]
        else:
            assert ps == 409 and pb["error"]["code"] == "email_taken", res
            assert cs == 201, res
            assert found[0]["id"] == cb["contact"]["id"] != a["id"]
            assert api.get_contact(a["id"]) == a


def test_same_field_defined_at_once(api):
    for rnd in range(5):
        name = "f%d" % rnd
        res = fire(api, [("POST", "/fields", {"name": name, "type": t})
                         for t in ("string", "number", "date", "boolean")])
        assert_sane(res)
        assert sorted(s for s, _ in res) == [201, 409, 409, 409], res
        for s, body in res:
            if s == 409:
                assert body["error"]["code"] == "field_exists", res
                assert body["error"]["field"] == "name", res
        winner = [b["field"] for s, b in res if s == 201][0]
        assert [f for f in api.fields() if f["name"] == name] == [winner]


def test_delete_field_racing_writes_of_its_value(api):
    cs = [api.create() for _ in range(4)]
    for rnd in range(6):
        name = "v%d" % rnd
        api.new_field(name, "string")
        reqs = [("DELETE", "/fields/" + name, None)]
        for i, c in enumerate(cs):
            if i % 2:
                reqs.append(("PATCH", "/contacts/" + c["id"],
                             {"field_" + name: "x%d" % i}))
            else:
                reqs.append(("POST", "/contacts",
                             {"email": c["email"],
                              "fields": {name: "x%d" % i}}))
        res = fire(api, reqs)
        assert_sane(res)
        assert res[0][0] == 204, res
        for (s, body), q in zip(res[1:], reqs[1:]):
            assert s in (200, 422), res
            if s == 422:
                assert body["error"]["code"] == "unknown_field", res
        # once DELETE /fields has answered, no contact holds the value
        for c in api.all_contacts_all():
            assert name not in c["fields"], (rnd, c, res)
        assert name not in [f["name"] for f in api.fields()]


def test_delete_restore_erase_of_one_contact_at_once(api, ):
    lists = [api.new_list()["id"] for _ in range(2)]
    for rnd in range(8):
        c = api.create(addToLists=lists)
        reqs = [("DELETE", "/contacts/" + c["id"], None),
                ("POST", "/contacts", {"email": c["email"]}),
                ("PATCH", "/contacts/" + c["id"],
                 {"status": "active", "removeFromLists": [lists[0]]}),
                ("DELETE", "/contacts?email=" + c["email"], None)]
        if rnd % 3 == 2:
            reqs.append(("DELETE", "/contacts/%s?erase=true" % c["id"], None))
        res = fire(api, reqs)
        assert_sane(res)
        for lid in lists:
            shown = api.members(lid)
            assert api.get_list(lid)["count"] == len(shown), (rnd, res)
            assert all(m["status"] != "deleted" for m in shown)
    # the contacts' own pages agree with their statuses
    every = api.all_contacts_all()
    live = [x for x in every if x["status"] != "deleted"]
    assert [x["id"] for x in api.all_contacts()] == [x["id"] for x in live]


def test_races_leave_no_personal_data_in_the_logs(api):
    """The races above are expected outcomes (409), not failures of the
    service: whatever it logs about them holds no email (the default log
    level has no personal data, test_logs.py; an erased contact's email
    must not stay behind in a log either)."""
    logs = [stack.path("contacts-fcgi.log"),
            stack.path("nginx/logs/contacts-access.log"),
            stack.path("nginx/logs/access.log"),
            stack.path("nginx/logs/error.log")]
    sizes = {p: (os.path.getsize(p) if os.path.exists(p) else 0)
             for p in logs}
    tokens = []
    for rnd in range(6):
        a, b = api.create(), api.create()
        tok = "logtok%s" % uuid.uuid4().hex[:10]
        tokens.append(tok)
        new = "%s@example.com" % tok
        assert_sane(fire(api, [("PATCH", "/contacts/" + a["id"],
                                {"email": new}),
                               ("PATCH", "/contacts/" + b["id"],
                                {"email": new.upper()})]))
        c = api.create()
        tok2 = "logtok%s" % uuid.uuid4().hex[:10]
        tokens.append(tok2)
        new2 = "%s@example.com" % tok2
        assert_sane(fire(api, [("PATCH", "/contacts/" + c["id"],
                                {"email": new2}),
                               ("POST", "/contacts", {"email": new2})]))
    time.sleep(0.2)
    for p, n in sizes.items():
        try:
            with open(p, "rb") as f:
                f.seek(n)
                text = f.read().decode("utf-8", "replace").lower()
        except OSError:
            continue
        for tok in tokens:
            assert tok not in text, "%s holds %s: %s" % (
                p, tok, [ln for ln in text.splitlines() if tok in ln][:2])


def test_no_deadlock_between_list_and_field_writers(api):
    """Writers that touch the same lists and fields in every order at once
    (adds and removals naming lists in opposite orders, deletions and
    restores that move every list's count, erasures, DELETE /fields of
    fields being written): each answer is an allowed one, never a 5xx
    (a deadlock the service did not resolve would be)."""
    lists = [api.new_list()["id"] for _ in range(4)]
    names = ["fa", "fb", "fc"]
    for n in names:
        api.new_field(n, "number")
    cs = [api.create(addToLists=lists) for _ in range(6)]
    failures = []
    lock = threading.Lock()
    deadline = time.monotonic() + 40

    def worker(seed):
        rnd = random.Random(seed)
        for i in range(40):
            if time.monotonic() > deadline:
                return
            c = rnd.choice(cs)
            op = rnd.random()
            ls = lists[:]
            rnd.shuffle(ls)
            fs = names[:]
            rnd.shuffle(fs)
            if op < 0.35:
                body = {"addToLists": ls[:2], "removeFromLists": ls[2:],
                        "fields": {f: i for f in fs}}
                r = api.request("PATCH", "/contacts/" + c["id"], body=body)
            elif op < 0.55:
                r = api.post("/contacts", {"email": c["email"],
                                           "addToLists": ls,
                                           "fields": {fs[0]: i}})
            elif op < 0.75:
                r = api.request("DELETE", "/contacts/" + c["id"])
            elif op < 0.8:
                r = api.request("DELETE", "/contacts/" + c["id"],
                                params={"erase": "true"})
            elif op < 0.9:
                f = rnd.choice(names)
                r = api.request("DELETE", "/fields/" + f)
                if r.status == 204:
                    r2 = api.post("/fields", {"name": f, "type": "number"})
                    if r2.status not in (201, 409):
                        r = r2
            else:
                r = api.request("PATCH", "/contacts/" + c["id"],
                                body={"status": "active"})
            if r.status >= 500 or r.status not in (200, 201, 204, 404,
                                                   409, 422):
                with lock:
                    failures.append(r)
            elif r.status == 422:
                code = (r.error or {}).get("code")
                if code != "unknown_field":
                    with lock:
                        failures.append(r)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for f in [ex.submit(worker, s) for s in range(8)]:
            f.result(timeout=120)
    assert not failures, failures[:3]
    for lid in lists:
        assert api.get_list(lid)["count"] == len(api.members(lid))
