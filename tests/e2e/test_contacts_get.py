"""GET /contacts: order, paging, Link, email look-up, parameters."""

import concurrent.futures
import http.client
import json
import threading

import pytest

from conftest import (TIMEOUT, _base, assert_contact, assert_error,
                      assert_json, next_link, uniq_email)


def ids(r):
    return [c["id"] for c in r.json["contacts"]]


def test_empty_org(api):
    r = api.get("/contacts")
    assert r.status == 200, r
    assert_json(r)
    assert r.json == {"contacts": []}
    assert r.header("Link") is None, r


def test_creation_order(api):
    made = [api.create(name="c%d" % i) for i in range(7)]
    r = api.page()
    assert r.json["contacts"] == made
    stamps = [c["created_at"] for c in r.json["contacts"]]
    assert stamps == sorted(stamps)
    assert r.header("Link") is None, r  # 7 < 1000: a partial page


def test_offset_and_limit(api):
    made = [api.create()["id"] for _ in range(5)]
    assert ids(api.page(offset=0, limit=2)) == made[0:2]
    assert ids(api.page(offset=1, limit=2)) == made[1:3]
    assert ids(api.page(offset=3, limit=10)) == made[3:]
    assert ids(api.page(offset=4)) == made[4:]
    assert ids(api.page(offset=5)) == []
    assert ids(api.page(offset=100, limit=5)) == []
    assert ids(api.page(limit=1)) == made[:1]
    assert ids(api.page(offset=2147483647)) == []


def test_link_on_full_page(api):
    made = [api.create()["id"] for _ in range(5)]
    r = api.page(offset=0, limit=2)
    # docs/architecture.md: </contacts?offset=N&limit=L>; rel="next"
    assert r.header("Link") == '</contacts?offset=2&limit=2>; rel="next"', r
    r = api.get(next_link(r))
    assert r.status == 200, r
    assert ids(r) == made[2:4]
    assert r.header("Link") == '</contacts?offset=4&limit=2>; rel="next"', r
    r = api.get(next_link(r))
    assert ids(r) == made[4:]
    assert r.header("Link") is None, r  # partial page


def test_full_last_page_links_to_an_empty_page(api):
    made = [api.create()["id"] for _ in range(4)]
    r = api.page(offset=2, limit=2)
    assert ids(r) == made[2:]
    nxt = next_link(r)
    assert nxt is not None, r
    r = api.get(nxt)
    assert r.status == 200, r
    assert ids(r) == []
    assert r.header("Link") is None, r


def test_link_walk_collects_everything_once(api):
    made = [api.create()["id"] for _ in range(7)]
    seen = []
    path = "/contacts?limit=3"
    for _ in range(10):
        r = api.get(path)
        assert r.status == 200, r
        seen.extend(ids(r))
        path = next_link(r)
        if path is None:
            break
    assert seen == made


def test_link_keeps_include_all(api):
    for _ in range(3):
        api.create()
    r = api.page(limit=2, includeAll="true")
    link = next_link(r)
    assert link is not None, r
    assert "includeAll=true" in link, link
    assert link.startswith("/contacts?"), link
    assert "offset=2" in link and "limit=2" in link, link
    r2 = api.get(link)
    assert r2.status == 200, r2
    assert len(r2.json["contacts"]) == 1


def test_include_all_values(api):
    made = [api.create()["id"] for _ in range(2)]
    assert ids(api.page(includeAll="true")) == made
    assert ids(api.page(includeAll="false")) == made


def test_order_is_stable_after_updates(api):
    made = [api.create() for _ in range(5)]
    for c in reversed(made):
        api.upsert({"email": c["email"], "name": "updated"}, expect=200)
    later = api.create()
    got = api.page().json["contacts"]
    assert [c["id"] for c in got] == [c["id"] for c in made] + [later["id"]]
    assert all(c["name"] == "updated" for c in got[:5])


# --------------------------------------------------------------------------
# email look-up


def test_email_found(api):
    api.create()
    c = api.create(name="Target")
    api.create()
    r = api.get("/contacts", params={"email": c["email"]})
    assert r.status == 200, r
    assert r.json == {"contacts": [c]}
    assert r.header("Link") is None, r


def test_email_not_found(api):
    api.create()
    r = api.get("/contacts", params={"email": uniq_email()})
    assert r.status == 200, r
    assert r.json == {"contacts": []}


def test_email_case_insensitive(api):
    email = "Mixed.Case-%s@Example.ORG" % api.org_id
    c = api.create(email=email)
    for spelling in (email, email.lower(), email.upper()):
        assert api.find(spelling) == [c], spelling


def test_email_with_plus_is_percent_encoded(api):
    c = api.create(email="first+tag-%s@example.com" % api.org_id)
    assert api.find(c["email"]) == [c]


def test_email_idn_lookup(api):
    c = api.create(email="zoë-%s@exämple.com" % api.org_id)
    assert api.find(c["email"]) == [c]
    # the ASCII letters of an internationalized address in another case
    assert api.find("ZOë-%s@EXäMPLE.COM" % api.org_id.upper()) == [c]


def test_email_idn_lookup_non_ascii_case(api):
    """"Matched case-insensitively": Ë and ë are the same letter in two
    cases, as E and e are."""
    c = api.create(email="zoë-%s@exämple.com" % api.org_id)
    assert api.find(c["email"].upper()) == [c]


def test_email_with_other_params(api):
    c = api.create()
    r = api.get("/contacts", params={"email": c["email"], "offset": 0,
                                     "limit": 5, "includeAll": "true"})
    assert r.status == 200, r
    assert r.json == {"contacts": [c]}


# --------------------------------------------------------------------------
# malformed parameters


BAD_PARAMS = [
    ("offset=abc", "offset"),
    ("offset=-1", "offset"),
    ("offset=1.5", "offset"),
    ("offset=2147483648", "offset"),
    ("offset=99999999999999999999", "offset"),
    ("offset=1e3", "offset"),
    ("offset=0x10", "offset"),
    ("offset=%201", "offset"),
    ("limit=0", "limit"),
    ("limit=1001", "limit"),
    ("limit=-5", "limit"),
    ("limit=abc", "limit"),
    ("limit=2.5", "limit"),
    ("limit=2147483648", "limit"),
    ("includeAll=maybe", "includeAll"),
    ("includeAll=yes", "includeAll"),
    ("includeAll=1", "includeAll"),
    ("email=not-an-email", "email"),
    ("email=a%40b%40example.com", "email"),
    ("email=a%40localhost", "email"),
    ("offset=1&offset=2", "offset"),
    ("limit=5&limit=5", "limit"),
    ("includeAll=true&includeAll=true", "includeAll"),
    ("email=a%40example.com&email=b%40example.com", "email"),
    ("limit=1&offset=abc", "offset"),
    ("offset=", "offset"),
    ("offset=+1", "offset"),
    ("limit=", "limit"),
    ("includeAll=", "includeAll"),
    ("includeAll=TRUE", "includeAll"),
    ("email=", "email"),
]


@pytest.mark.parametrize("query,field", BAD_PARAMS,
                         ids=[q for q, _ in BAD_PARAMS])
def test_malformed_parameter(mod_api, query, field):
    r = mod_api.get("/contacts?" + query)
    assert_error(r, 400, "invalid_parameter", field=field)


def test_unknown_parameters_ignored(api):
    c = api.create()
    for q in ("foo=bar", "foo=1&foo=2", "page=3", "Offset=abc", "x",
              "sort=desc&limit=1"):
        r = api.get("/contacts?" + q)
        assert r.status == 200, (q, r)
        assert ids(r) == [c["id"]], q


def test_limit_bounds_ok(api):
    c = api.create()
    for q in ("limit=1", "limit=1000", "offset=0", "offset=0&limit=1000",
              "includeAll=false&limit=1000"):
        r = api.get("/contacts?" + q)
        assert r.status == 200, (q, r)
        assert ids(r) == [c["id"]]


# --------------------------------------------------------------------------
# more than 1000 contacts: default and maximum limit


def _bulk_create(api, n, workers=8):
    """Create n contacts over `workers` threads, each keeping one
    connection alive.  Returns the set of ids."""
    scheme, host, port = _base()
    emails = [uniq_email("bulk") for _ in range(n)]
    lock = threading.Lock()
    queue = list(emails)
    out = []

    def worker():
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        try:
            for _ in range(n):  # bounded
                with lock:
                    if not queue:
                        return
                    email = queue.pop()
                body = json.dumps({"email": email})
                for attempt in range(2):
                    try:
                        conn.request("POST", "/contacts", body=body, headers={
                            "Content-Type": "application/json",
                            "X-API-Key": api.key})
                        resp = conn.getresponse()
                        data = resp.read()
                        break
                    except (http.client.HTTPException, ConnectionError):
                        # the server closed a kept-alive connection: the
                        # request was not processed, send it again
                        conn.close()
                        conn = http.client.HTTPConnection(host, port,
                                                          timeout=TIMEOUT)
                        if attempt:
                            raise
                assert resp.status == 201, (resp.status, data)
                with lock:
                    out.append(json.loads(data)["contact"]["id"])
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        futs = [ex.submit(worker) for _ in range(workers)]
        for f in futs:
            f.result(timeout=120)
    assert len(out) == n
    return set(out)


def test_default_and_maximum_limit_is_1000(api):
    made = _bulk_create(api, 1005)
    assert len(made) == 1005

    r = api.get("/contacts")
    assert r.status == 200, r
    first = r.json["contacts"]
    assert len(first) == 1000
    assert r.header("Link") == \
        '</contacts?offset=1000&limit=1000>; rel="next"', r
    r2 = api.get(next_link(r))
    assert r2.status == 200, r2
    rest = r2.json["contacts"]
    assert len(rest) == 5
    assert r2.header("Link") is None, r2
    got = [c["id"] for c in first + rest]
    assert len(set(got)) == 1005
    assert set(got) == made
    for c in first[:3] + rest:
        assert_contact(c)

    # explicit maximum: the same first page
    r = api.get("/contacts?limit=1000")
    assert r.status == 200, r
    assert [c["id"] for c in r.json["contacts"]] == got[:1000]
    # past the maximum: refused, not clamped
    assert_error(api.get("/contacts?limit=1001"), 400, "invalid_parameter",
                 field="limit")
    # a page in the middle
    r = api.get("/contacts?offset=998&limit=4")
    assert [c["id"] for c in r.json["contacts"]] == got[998:1002]
    # the order holds after updates of some of them
    api.upsert({"email": first[0]["email"], "name": "x"}, expect=200)
    api.upsert({"email": rest[-1]["email"], "name": "y"}, expect=200)
    r = api.get("/contacts?offset=999&limit=3")
    assert [c["id"] for c in r.json["contacts"]] == got[999:1002]
