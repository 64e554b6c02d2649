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
