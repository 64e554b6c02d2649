"""Hostile input (issue 7): headers and bodies with NUL bytes, over-long
header lines, invalid UTF-8, JSON nested 100,000 deep, numbers like 1e400,
duplicate keys and \\u0000 inside strings.  Each gets a clear 4xx answer in
the contract's JSON error shape, writes nothing, and crashes no worker (the
pool's workers are the same processes at the end of the module).

Some of these cases also appear, one each, in test_contacts_validation.py;
here they are taken on every endpoint they apply to, with raw bytes where
an HTTP library would refuse to send them.
"""

import pytest

import stack
from conftest import assert_error, host_header, raw_request, request

BAD_JSON = "invalid_json"


@pytest.fixture(scope="module", autouse=True)
def same_workers():
    """No worker may die in this module."""
    before = set(stack.workers())
    assert before, "no workers found"
    yield
    after = set(stack.workers())
    assert before == after, "workers changed: %s -> %s" % (before, after)


def raw(method, target, headers=(), body=b""):
    head = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (
        method, target, host_header())
    data = head.encode("latin-1")
    for h in headers:
        data += (h if isinstance(h, bytes) else h.encode("latin-1")) + b"\r\n"
    if body or method == "POST":
        data += b"Content-Length: %d\r\n" % len(body)
    return raw_request(data + b"\r\n" + body)


def nothing_written(api):
    assert api.get("/contacts", params={"includeAll": "true"}).json["contacts"] == []
    assert api.get("/lists").json["lists"] == []


def post_both(api, body):
    """The same body to POST /contacts and POST /lists."""
    return [raw("POST", path, ["X-API-Key: " + api.key,
                               "Content-Type: application/json"], body)
            for path in ("/contacts", "/lists")]


# --------------------------------------------------------------------------
# NUL bytes


@pytest.mark.parametrize("header", [
    b"X-API-Key: ck_AAAAAAAAA_\x00" + b"a" * 42,
    b"Authorization: Bearer \x00",
    b"Content-Type: application/json\x00; charset=utf-8",
    b"X-Other: a\x00b",
])
def test_nul_in_a_header_is_refused(api, header):
    r = raw("POST", "/contacts", [header, b"X-API-Key: " + api.key.encode()],
            b'{"email":"nul@example.com"}')
    assert_error(r, 400)
    nothing_written(api)


def test_nul_in_the_request_line_is_refused(api):
    r = raw_request(b"GET /contacts?email=a\x00b@example.com HTTP/1.1\r\nHost: "
                    + host_header().encode() + b"\r\nConnection: close\r\n\r\n")
    assert_error(r, 400)


@pytest.mark.parametrize("path", ["/contacts", "/lists"])
def test_percent_encoded_nul_in_the_query_is_refused(api, path):
    for q in ("email=a%00b@example.com", "offset=1%00", "type=cust%00omer",
              "a%00b=1"):
        r = request("GET", path + "?" + q, key=api.key)
        assert_error(r, 400, "invalid_parameter")


@pytest.mark.parametrize("body", [
    b'{"email":"a@example.com",\x00"name":"x"}',
    b'{"email":"a\x00b@example.com"}',
    b'{"name":"a\x00b","type":"customer","email":"c@example.com"}',
    b'\x00',
])
def test_nul_byte_in_a_body_is_refused(api, body):
    for r in post_both(api, body):
        assert_error(r, 400, BAD_JSON)
    nothing_written(api)


@pytest.mark.parametrize("body", [
    b'{"email":"a\\u0000@example.com"}',
    b'{"email":"nul@example.com","name":"Ann\\u0000Lee"}',
    b'{"email":"nul@example.com","company":"\\u0000"}',
    b'{"name":"list\\u0000","type":"customer"}',
    b'{"name":"list","type":"customer\\u0000"}',
])
def test_escaped_nul_in_a_string_is_refused(api, body):
    for r in post_both(api, body):
        assert r.status in (400, 422), r
        assert_error(r, r.status)
    nothing_written(api)


# --------------------------------------------------------------------------
# over-long header lines and request lines


@pytest.mark.parametrize("header", [
    "X-Long: " + "a" * 9000,
    "X-API-Key: " + "k" * 9000,
    "Authorization: Bearer " + "k" * 20000,
])
def test_over_long_header_line_is_refused(api, header):
    r = raw("GET", "/contacts", [header])
    assert_error(r, 400)


def test_many_headers_filling_the_buffers_are_refused(api):
    r = raw("GET", "/contacts", ["X-H%d: %s" % (i, "v" * 8000) for i in range(6)])
    assert_error(r, 400)


def test_over_long_request_line_is_refused(api):
    r = raw("GET", "/contacts?email=" + "a" * 9000 + "@example.com")
    assert_error(r, 414)


# --------------------------------------------------------------------------
# invalid UTF-8


@pytest.mark.parametrize("body", [
    b'{"email":"\xff@example.com"}',                      # not UTF-8 at all
    b'{"email":"ok@example.com","name":"\xc0\xae"}',       # overlong
    b'{"email":"ok@example.com","name":"\xed\xa0\x80"}',   # a surrogate
    b'{"email":"ok@example.com","name":"\xe2\x82"}',       # truncated
    b'{"email":"ok@example.com","name":"\xf4\x90\x80\x80"}',  # > U+10FFFF
    b'{"email":"ok@example.com","name":"\\ud800"}',        # lone surrogate escape
    b'{"name":"\xff","type":"customer"}',
])
def test_invalid_utf8_in_a_body_is_refused(api, body):
    for r in post_both(api, body):
        assert_error(r, 400, BAD_JSON)
    nothing_written(api)


@pytest.mark.parametrize("path", ["/contacts", "/lists"])
def test_invalid_utf8_in_the_query_is_refused(api, path):
    for target in (path + "?email=%FF@example.com", path + "?type=%C0%AE",
                   path + "?offset=%ED%A0%80"):
        r = request("GET", target, key=api.key)
        assert_error(r, 400, "invalid_parameter")
    r = raw("GET", path + "?type=\xff", ["X-API-Key: " + api.key])
    assert r.status == 400, r
    assert_error(r, 400)


def test_invalid_utf8_in_a_header_is_refused(api):
    r = raw("GET", "/test", [b"X-API-Key: ck_AAAAAAAAA_\xff" + b"a" * 42])
    assert_error(r, 401, "unauthorized")
    r = raw("POST", "/contacts", [b"X-API-Key: " + api.key.encode(),
                                  b"Content-Type: application/\xffjson"],
            b'{"email":"h@example.com"}')
    assert r.status in (400, 415), r
    assert_error(r, r.status)
    nothing_written(api)


# --------------------------------------------------------------------------
# nesting, numbers, duplicate keys, junk


def test_json_nested_100000_deep_is_refused(api):
    for open_, close in ((b"[", b"]"), (b'{"a":', b"}")):
        body = open_ * 100000 + b"1" + close * 100000
        for r in post_both(api, body):
            # more than the 64 KiB a body may have: nginx refuses it
            assert_error(r, 413, "payload_too_large")
    nothing_written(api)


def test_deep_nesting_under_the_size_limit_is_refused(api):
    for body in (b"[" * 30000 + b"]" * 30000,
                 b'{"email":"d@example.com","name":' + b"[" * 20000 + b"]" * 20000 + b"}",
                 b'{"a":' * 9000 + b"1" + b"}" * 9000):
        assert len(body) < 64 * 1024
        for r in post_both(api, body):
            assert_error(r, 400, BAD_JSON)
    nothing_written(api)


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1e-400",
                                    b"123456789012345678901234567890",
                                    b"NaN", b"Infinity", b"-Infinity", b"0x10"])
def test_extreme_numbers_are_refused(api, number):
    for body in (b'{"email":"n@example.com","name":' + number + b"}",
                 b'{"email":' + number + b"}",
                 b'{"email":"n@example.com","addToLists":[' + number + b"]}",
                 b'{"name":' + number + b',"type":"customer"}'):
        for r in post_both(api, body):
            assert r.status in (400, 422), (body, r)
            assert_error(r, r.status)
    nothing_written(api)


@pytest.mark.parametrize("body", [
    b'{"email":"a@example.com","email":"b@example.com"}',
    b'{"email":"a@example.com","em\\u0061il":"b@example.com"}',
    b'{"email":"a@example.com","name":"x","name":"y"}',
    b'{"name":"l","type":"customer","type":"employee"}',
])
def test_duplicate_keys_are_refused(api, body):
    for r in post_both(api, body):
        assert_error(r, 400, BAD_JSON)
    nothing_written(api)


@pytest.mark.parametrize("body", [
    b'{"email":"a@example.com"} x',
    b'{"email":"a@example.com"}{"email":"b@example.com"}',
    b"",
    b"   \r\n\t ",
    b'"a@example.com"',
    b'["a@example.com"]',
    b"null",
    b"42",
])
def test_junk_and_non_object_bodies_are_refused(api, body):
    for r in post_both(api, body):
        assert r.status in (400, 422), (body, r)
        assert_error(r, r.status)
    nothing_written(api)


def test_service_still_answers_after_all_this(api):
    assert request("GET", "/test", key=api.key).status == 200
    r = api.post("/contacts", {"email": "after@example.com"})
    assert r.status == 201, r
