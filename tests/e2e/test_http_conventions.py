"""The contract's HTTP conventions (API.md, "HTTP conventions"), through
nginx: HEAD on every GET route, gzip, the RateLimit headers, the client's
own X-Request-Id, Location on 201; and the query-string bug of issue 16
(GET /contacts?email=%00%40example.com names its field).
"""

import gzip
import json
import re
import time

import pytest

from conftest import (assert_error, assert_json, ctl, host_header,
                      raw_request, request, uniq_email)

NGINX_ID_RE = re.compile(r"^[0-9a-f]{32}$")

# Headers that differ between two answers to the same request.
VOLATILE = {"date", "x-request-id", "ratelimit-remaining", "ratelimit-reset"}


def raw_head(path, key=None, extra=b""):
    """HEAD on a fresh socket, read to the end: what nginx really sends."""
    req = (b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: "
           + host_header().encode() + b"\r\nConnection: close\r\n")
    if key:
        req += b"X-API-Key: " + key.encode() + b"\r\n"
    return raw_request(req + extra + b"\r\n", read_timeout=3)


def head_names(r):
    return {k.lower() for k, _ in r.headers} - VOLATILE


def limited_key(org_id, per_s):
    key = ctl("key", "create", org_id, "--name", "limited",
              "--rate-limit", str(per_s)).stdout.strip()
    assert key.startswith("ck_"), key
    return key


# --------------------------------------------------------------------------
# HEAD


def _get_routes(api):
    """Every GET route, with the query strings that make a difference (a
    full page with Link, an email look-up, a refusal)."""
    lst = api.new_list()
    c = api.create(name="Head Case")
    return [
        ("/healthz", None),
        ("/test", api.key),
        ("/contacts", api.key),
        ("/contacts?limit=1", api.key),          # a full page: Link
        ("/contacts?email=" + c["email"].replace("@", "%40"), api.key),
        ("/contacts?limit=0", api.key),          # 400
        ("/lists", api.key),
        ("/lists?type=customer&limit=1", api.key),
        ("/test", None),                         # 401
        ("/lists?limit=abc", api.key),           # 400
    ], lst


def test_head_answers_every_get_route_with_the_gets_head(api):
    routes, _ = _get_routes(api)
    for path, key in routes:
        g = request("GET", path, key=key)
        h = raw_head(path, key=key)
        assert h.status == g.status, (path, g, h)
        assert h.raw == b"", "HEAD %s sent a body: %r" % (path, h.raw[:200])
        # the GET's headers, Content-Length (the plain GET's) included
        assert head_names(h) == head_names(g), (path, g.headers, h.headers)
        for name in ("Content-Type", "Content-Length", "Link", "Allow",
                     "WWW-Authenticate", "Cache-Control"):
            assert h.header(name) == g.header(name), (path, name, g, h)
        assert int(h.header("Content-Length")) == len(g.raw), (path, h)
        assert h.header("X-Request-Id"), h


def test_head_of_metrics(api):
    g = request("GET", "/metrics")
    h = raw_head("/metrics")
    assert g.status == h.status == 200, (g, h)
    assert h.raw == b""
    assert h.header("Content-Type") == g.header("Content-Type")
    assert int(h.header("Content-Length")) > 0, h


def test_head_with_the_http_client_too(api):
    """The same through http.client, as a client library would send it."""
    r = api.request("HEAD", "/contacts")
    assert r.status == 200 and r.raw == b"", r
    assert r.header("Content-Type") == "application/json", r


def test_head_writes_nothing_and_is_counted_as_its_get(api):
    before = api.page().raw
    r = raw_head("/contacts", key=api.key)
    assert r.status == 200
    assert api.page().raw == before


@pytest.mark.parametrize("path,allow", [
    ("/contacts", {"GET", "HEAD", "POST", "DELETE"}),
    ("/contacts/AAAAAAAAA", {"GET", "HEAD", "PATCH", "DELETE"}),
    ("/lists", {"GET", "HEAD", "POST"}),
    ("/lists/AAAAAAAAA/contacts", {"GET", "HEAD"}),
    ("/fields", {"GET", "HEAD", "POST"}),
    ("/test", {"GET", "HEAD"}),
    ("/healthz", {"GET", "HEAD"}),
])
def test_allow_lists_head_wherever_it_lists_get(api, path, allow):
    r = api.request("PUT", path)
    assert_error(r, 405, "method_not_allowed")
    got = {m.strip() for m in r.header("Allow").split(",")}
    assert got == allow, r
    assert "HEAD" in r.error["message"], r


def test_head_on_a_path_nginx_answers_itself(api):
    r = raw_head("/nope", key=api.key)
    assert r.status == 404 and r.raw == b"", r
    assert r.header("Content-Type") == "application/json", r


# --------------------------------------------------------------------------
# gzip


def _big_page(api, n=8):
    for i in range(n):
        api.create(name="Gzip Person %d" % i, company="Compressible Inc",
                   phone="+1 555 %04d" % i)
    plain = api.get("/contacts")
    assert plain.status == 200 and len(plain.raw) > 1024, plain
    return plain


def test_gzip_when_asked_and_the_same_json(api):
    plain = _big_page(api)
    assert plain.header("Content-Encoding") is None, plain
    z = api.get("/contacts", headers={"Accept-Encoding": "gzip"})
    assert z.status == 200, z
    assert z.header("Content-Encoding") == "gzip", z
    assert "Accept-Encoding" in (z.header("Vary") or ""), z
    assert z.header("Content-Type") == "application/json", z
    body = gzip.decompress(z.raw)
    assert body == plain.raw
    assert json.loads(body) == plain.json
    assert len(z.raw) < len(plain.raw) / 2, (len(z.raw), len(plain.raw))
    # the other headers of the answer are kept
    assert z.header("X-Request-Id") and z.header("Cache-Control") == "no-store"


def test_gzip_of_a_page_of_lists_and_with_q_values(api):
    for i in range(12):
        api.new_list(name="compressible list name %d" % i)
    plain = api.get("/lists")
    z = api.get("/lists", headers={"Accept-Encoding": "deflate, gzip;q=0.8"})
    assert z.header("Content-Encoding") == "gzip", z
    assert gzip.decompress(z.raw) == plain.raw


def test_no_gzip_unless_asked(api):
    _big_page(api)
    for ae in (None, "identity", "br"):
        r = api.get("/contacts", headers={"Accept-Encoding": ae})
        assert r.status == 200 and r.header("Content-Encoding") is None, (ae, r)
        assert_json(r)


def test_errors_are_still_json_with_gzip(api):
    asks = {"Accept-Encoding": "gzip"}
    answers = [
        request("GET", "/nope", headers=asks),                    # nginx 404
        request("GET", "/_contacts_error/404", headers=asks),     # internal
        api.get("/contacts", params={"limit": "0"}, headers=asks),  # service 400
        request("GET", "/test", headers=asks),                    # 401
        api.request("DELETE", "/contacts", headers=asks),         # 405
    ]
    for r in answers:
        assert r.status >= 400, r
        assert r.header("Content-Type") == "application/json", r
        raw = r.raw
        if r.header("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
        assert set(body) == {"error"} and body["error"]["code"], r


# --------------------------------------------------------------------------
# RateLimit-*


def _rl(r):
    return tuple(r.header(h) for h in ("RateLimit-Limit", "RateLimit-Remaining",
                                       "RateLimit-Reset"))


def test_ratelimit_headers_count_down(api):
    per_s = 4
    key = limited_key(api.org_id, per_s)
    t0 = time.monotonic()
    answers = []
    for _ in range(per_s):
        answers.append((request("GET", "/test", key=key), time.monotonic() - t0))
    remaining = []
    for i, (r, elapsed) in enumerate(answers, 1):
        assert r.status == 200, r
        limit, left, reset = _rl(r)
        assert limit == str(per_s), r
        assert re.fullmatch(r"[0-9]+", left) and re.fullmatch(r"[0-9]+", reset), r
        left, reset = int(left), int(reset)
        # i used, less what came back since the first (one per 1/per_s s)
        assert per_s - i <= left <= per_s - i + int(elapsed * per_s) + 1, \
            (i, elapsed, r)
        # a window of one second: the whole burst is back within it
        assert reset == 1, r
        remaining.append(left)
    if answers[-1][1] < 0.5:
        assert remaining[-1] < remaining[0], remaining
    # then refused: nothing remains, and Retry-After stays
    r = None
    for _ in range(20):
        r = request("GET", "/test", key=key)
        if r.status == 429:
            break
    assert_error(r, 429, "rate_limited")
    assert _rl(r)[0] == str(per_s) and _rl(r)[1] == "0", r
    assert r.header("Retry-After") == "1" and _rl(r)[2] == "1", r
    # a second later the burst is whole again
    time.sleep(1.1)
    r = request("GET", "/test", key=key)
    assert r.status == 200 and _rl(r)[1] == str(per_s - 1), r


def test_ratelimit_headers_on_every_authenticated_answer(api):
    key = limited_key(api.org_id, 1000)
    answers = [
        request("GET", "/contacts", key=key),
        request("GET", "/contacts", key=key, params={"limit": "0"}),   # 400
        request("POST", "/contacts", key=key, body={"email": uniq_email()}),
        request("POST", "/contacts", key=key, body={"email": "bad"}),  # 422
        request("POST", "/lists", key=key, body=b"[", ),               # 400
        request("POST", "/lists", key=key, body="{}",
                headers={"Content-Type": "text/plain"}),               # 415
        request("GET", "/lists", key=key),
    ]
    for r in answers:
        limit, left, reset = _rl(r)
        assert limit == "1000", r
        assert 0 <= int(left) < 1000 and 0 <= int(reset) <= 1, r


def test_no_ratelimit_headers_without_a_limit_or_a_key(api):
    """The stack's key_rate_limit is 0 (scripts/lib.sh), so a key without a
    limit of its own has none: no headers.  Nor has an answer given before
    the key is accepted."""
    for r in (api.get("/test"), api.get("/contacts"), request("GET", "/test"),
              request("GET", "/healthz"), request("GET", "/nope"),
              request("GET", "/test", key="ck_AAAAAAAAA_" + "x" * 43)):
        assert _rl(r) == (None, None, None), r


# --------------------------------------------------------------------------
# X-Request-Id


@pytest.mark.parametrize("rid", ["abc", "my-req.ID_1", "0" * 200,
                                 "x" * 199 + ".", "-", "_._"])
def test_a_valid_client_request_id_is_kept(api, rid):
    for r in (api.get("/test", headers={"X-Request-Id": rid}),
              request("GET", "/nope", headers={"X-Request-Id": rid}),
              api.get("/contacts", headers={"X-Request-Id": rid},
                      params={"limit": "0"})):
        assert r.header_all("X-Request-Id") == [rid], r


@pytest.mark.parametrize("rid", ["", "a" * 201, "has space", "semi;colon",
                                 "quote\"", "slash/x", "caf\u00e9", "a,b",
                                 "tab\tx"])
def test_a_malformed_client_request_id_is_replaced(api, rid):
    hdr = {"X-Request-Id": rid.encode("utf-8").decode("latin-1")}
    seen = set()
    for r in (api.get("/test", headers=hdr),
              request("GET", "/nope", headers=hdr)):
        got = r.header_all("X-Request-Id")
        assert len(got) == 1 and NGINX_ID_RE.match(got[0]), r
        seen.add(got[0])
    assert len(seen) == 2


def test_without_one_a_request_id_is_made(api):
    ids = {api.get("/test").header("X-Request-Id") for _ in range(5)}
    assert len(ids) == 5 and all(NGINX_ID_RE.match(i) for i in ids), ids


# --------------------------------------------------------------------------
# Location


def test_location_on_201_of_post_contacts(api):
    email = uniq_email()
    r = api.post("/contacts", {"email": email})
    assert r.status == 201, r
    assert r.header_all("Location") == ["/contacts/" + r.json["contact"]["id"]], r
    # an update is not a creation
    r = api.post("/contacts", {"email": email, "name": "Again"})
    assert r.status == 200 and r.header("Location") is None, r


def test_location_on_201_of_post_lists(api):
    r = api.post("/lists", {"name": "located"})
    assert r.status == 201, r
    assert r.header_all("Location") == ["/lists/" + r.json["list"]["id"]], r


def test_no_location_on_refusals(api):
    for r in (api.post("/contacts", {"email": "nope"}),
              api.post("/lists", {"type": "customer"})):
        assert r.status == 422 and r.header("Location") is None, r


# --------------------------------------------------------------------------
# issue 16: a NUL in a query value names the parameter


@pytest.mark.parametrize("path,qs,field", [
    ("/contacts", "email=%00%40example.com", "email"),
    ("/contacts", "email=a%00b@example.com", "email"),
    ("/contacts", "offset=1%00", "offset"),
    ("/contacts", "limit=%FF", "limit"),
    ("/contacts", "limit=10&includeAll=true%00", "includeAll"),
    ("/lists", "type=cust%00omer", "type"),
])
def test_a_malformed_value_names_its_parameter(api, path, qs, field):
    r = api.get(path + "?" + qs)
    assert_error(r, 400, "invalid_parameter", field=field)


def test_a_malformed_name_names_nothing(api):
    r = api.get("/contacts?a%00b=1")
    assert_error(r, 400, "invalid_parameter", field=None)
