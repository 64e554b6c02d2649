"""Concurrent creates of one new email, and read-your-writes."""

import concurrent.futures
import http.client
import json
import threading

from conftest import TIMEOUT, _base, assert_contact, uniq_email

N = 20


def _concurrent_posts(key, bodies):
    """POST each body at once, each on its own connection; returns
    [(status, parsed answer)]."""
    _, host, port = _base()
    barrier = threading.Barrier(len(bodies), timeout=TIMEOUT)

    def one(body):
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        try:
            conn.connect()
            barrier.wait()
            conn.request("POST", "/contacts", body=json.dumps(body),
                         headers={"Content-Type": "application/json",
                                  "X-API-Key": key})
            r = conn.getresponse()
            data = r.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data
            return r.status, parsed
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as ex:
        futs = [ex.submit(one, b) for b in bodies]
        return [f.result(timeout=60) for f in futs]


def test_concurrent_creates_of_one_email(api):
    email = uniq_email("race")
    results = _concurrent_posts(api.key, [{"email": email, "name": "n%d" % i}
                                          for i in range(N)])
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] * (N - 1) + [201], results
    actions = [b["action"] for _, b in results]
    assert actions.count("IMPORT_CREATE") == 1, results
    assert actions.count("IMPORT_UPDATE") == N - 1, results
    for s, b in results:
        assert (s == 201) == (b["action"] == "IMPORT_CREATE"), (s, b)
        assert_contact(b["contact"])
    ids = {b["contact"]["id"] for _, b in results}
    assert len(ids) == 1, results
    created = {b["contact"]["created_at"] for _, b in results}
    assert len(created) == 1, results

    found = api.find(email)
    assert len(found) == 1, found
    assert found[0]["id"] in ids
    assert found[0]["last_action"] == "IMPORT_UPDATE"
    # exactly one row in the organization
    assert [c["id"] for c in api.all_contacts()] == list(ids)


def test_concurrent_creates_case_variants(api):
    base = uniq_email("Race")
    variants = [base.upper() if i % 2 else base.lower() for i in range(N)]
    results = _concurrent_posts(api.key, [{"email": e} for e in variants])
    assert sorted(s for s, _ in results) == [200] * (N - 1) + [201], results
    creator = [b for s, b in results if s == 201][0]
    assert len({b["contact"]["id"] for _, b in results}) == 1
    assert len(api.all_contacts()) == 1
    # the stored spelling is the creator's, and every answer shows it
    spelling = creator["contact"]["email"]
    assert all(b["contact"]["email"] == spelling for _, b in results)


def test_concurrent_creates_with_list(api):
    lst = api.new_list()
    email = uniq_email("race")
    results = _concurrent_posts(api.key, [{"email": email,
                                           "addToLists": [lst["id"]]}
                                          for _ in range(N)])
    assert sorted(s for s, _ in results) == [200] * (N - 1) + [201], results
    assert sum(b["listsUpdated"] for _, b in results) == 1, results
    assert api.list_by_id(lst["id"])["count"] == 1


def test_concurrent_distinct_emails(api):
    lst = api.new_list()
    emails = [uniq_email("par") for _ in range(N)]
    results = _concurrent_posts(api.key, [{"email": e,
                                           "addToLists": [lst["id"]]}
                                          for e in emails])
    assert [s for s, _ in results] == [201] * N, results
    assert all(b["listsUpdated"] == 1 for _, b in results)
    got = api.all_contacts()
    assert sorted(c["email"] for c in got) == sorted(emails)
    assert len({c["id"] for c in got}) == N
    assert api.list_by_id(lst["id"])["count"] == N


# --------------------------------------------------------------------------
# read-your-writes, each request on a fresh connection


def test_read_your_writes_by_email(api):
    email = uniq_email()
    # a miss first, so that a cache may hold the empty answer
    assert api.find(email) == []
    r = api.post("/contacts", {"email": email, "name": "v0"})
    assert r.status == 201, r
    assert api.find(email) == [r.json["contact"]]
    for i in range(1, 8):
        r = api.post("/contacts", {"email": email, "name": "v%d" % i})
        assert r.status == 200, r
        got = api.find(email)
        assert got == [r.json["contact"]], (i, got)
        assert got[0]["name"] == "v%d" % i


def test_read_your_writes_page(api):
    first = api.page().json["contacts"]
    assert first == []
    made = []
    for i in range(5):
        made.append(api.create(name="p%d" % i))
        assert api.page().json["contacts"] == made
        assert api.page(limit=2, offset=max(0, i - 1)).json["contacts"] == \
            made[max(0, i - 1):max(0, i - 1) + 2]
    r = api.post("/contacts", {"email": made[2]["email"], "name": "changed"})
    assert r.status == 200, r
    made[2] = r.json["contact"]
    assert api.page().json["contacts"] == made


def test_read_your_writes_lists(api):
    assert api.lists() == []
    lst = api.new_list()
    assert api.lists() == [lst]
    for i in range(1, 4):
        api.upsert({"email": uniq_email(), "addToLists": [lst["id"]]},
                   expect=201)
        assert api.list_by_id(lst["id"])["count"] == i
    lst2 = api.new_list(type="employee")
    assert [x["id"] for x in api.lists(type="employee")] == [lst2["id"]]


def test_read_your_writes_repeated_reads(api):
    """Several reads in a row after a write all agree (whatever worker
    answers them)."""
    email = uniq_email()
    c = api.create(email=email, name="once")
    for _ in range(10):
        assert api.find(email) == [c]
    c2 = api.upsert({"email": email, "name": "twice"}, expect=200)["contact"]
    for _ in range(10):
        assert api.find(email) == [c2]
        assert api.page().json["contacts"] == [c2]
