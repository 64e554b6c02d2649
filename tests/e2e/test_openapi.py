"""docs/openapi.yaml against itself and against the running service.

1. The document: OpenAPI 3.1.x, every $ref resolves, every operation has
   responses, only JSON Schema keywords the validator knows, every example
   valid against its schema, the error codes of the contract.
2. The service, through nginx: every documented path + method + status that
   can be provoked from outside is provoked, and the answer is checked
   against the documentation (status, media type, body schema, required
   headers, the error code among the documented ones).  Statuses that a
   healthy stack cannot give are in ALLOWED_UNPROVOKED, each with its reason.
3. The reverse: every documented operation exists, an undocumented method on
   a documented path is 405 with Allow, an unknown path is 404, and every
   status the cases provoke is documented.

Environment:
  CONTACTS_URL      the service, e.g. http://127.0.0.1:18080 (required)
  CONTACTS_API_KEY  a key to use when CONTACTS_CTL is not given
  CONTACTS_CTL      a command running the admin CLI (e.g. "contactsctl -c
                    /tmp/run/contacts.conf"); when given, the test makes an
                    organization and keys of its own.

Run: /usr/bin/python3 -m pytest tests/e2e/test_openapi.py
"""
import ipaddress
import json
import os
import re
import secrets
import shlex
import socket
import string
import subprocess

import pytest

import openapi_check as oc

DOC = oc.load_doc()

# The error codes of the contract, and those nginx adds for its own errors.
ERROR_CODES = {
    "invalid_json", "invalid_field", "missing_field", "unknown_field",
    "unknown_list", "invalid_parameter", "unauthorized", "not_found",
    "method_not_allowed", "unsupported_media_type", "payload_too_large",
    "rate_limited", "unavailable", "internal",
    # nginx's own errors
    "bad_request", "timeout", "uri_too_long", "not_implemented",
}

# Documented statuses that a test from outside cannot cause on a healthy
# stack.  (method, path, status); "*" matches any.
ALLOWED_UNPROVOKED = {
    ("*", "*", "500"): "an internal error cannot be caused from outside on a "
                       "healthy stack (it is the answer to a bug or a failing "
                       "statement)",
    ("*", "*", "503"): "needs PostgreSQL to be unreachable; stopping it is the "
                       "business of the outage tests, not of this one",
}

PROBE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
UNKNOWN_PATHS = ("/", "/nope", "/contacts/", "/contacts/abc123XYZ",
                 "/lists/abc123XYZ", "/healthz/x", "/CONTACTS", "/test/x")


# --------------------------------------------------------------------------
# The service and the organization the test works in


class Ctx:
    def __init__(self, url):
        self.client = oc.Client(url)
        self.run = "".join(secrets.choice(string.ascii_lowercase + string.digits)
                           for _ in range(8))
        self.serial = 0
        ctl = os.environ.get("CONTACTS_CTL", "").strip()
        self.ctl = shlex.split(ctl) if ctl else None
        self.org_id = None
        if self.ctl:
            self.org_id = self.ctl_run("org", "create", f"openapi-test-{self.run}")
            self.key = self.new_key("openapi-test")
        else:
            self.key = os.environ.get("CONTACTS_API_KEY", "").strip()
            if not self.key:
                raise RuntimeError("set CONTACTS_CTL (preferred: the test makes its own "
                                   "organization) or CONTACTS_API_KEY")
        r = self.send("GET", "/test")
        if r.status != 200:
            raise RuntimeError(f"GET /test with the test's key: {r!r}")
        if self.org_id is None:
            self.org_id = r.json().get("organization_id")
        # Data the cases lean on: one list, one contact on it.
        r = self.send("POST", "/lists", body={"name": f"openapi {self.run}"})
        if r.status != 201:
            raise RuntimeError(f"cannot create a list: {r!r}")
        self.list_id = r.json()["list"]["id"]
        self.email = self.new_email()
        r = self.send("POST", "/contacts",
                      body={"email": self.email, "addToLists": [self.list_id]})
        if r.status != 201:
            raise RuntimeError(f"cannot create a contact: {r!r}")

    def ctl_run(self, *args):
        p = subprocess.run(self.ctl + list(args), capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"{shlex.join(self.ctl + list(args))} failed "
                               f"({p.returncode}): {p.stderr.strip()}")
        out = p.stdout.strip().splitlines()
        if not out:
            raise RuntimeError(f"{shlex.join(self.ctl + list(args))} printed nothing")
        return out[-1].strip()

    def new_key(self, name):
        return self.ctl_run("key", "create", self.org_id, "--name", name)

    def new_email(self, local="oa"):
        self.serial += 1
        return f"{local}.{self.run}.{self.serial}@Example.com"

    def send(self, method, path, query=None, auth="key", key=None, headers=None,
             body=None, ctype="application/json"):
        h = {}
        key = key or self.key
        if auth == "key":
            h["X-API-Key"] = key
        elif auth == "bearer":
            h["Authorization"] = f"Bearer {key}"
        if body is not None:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if ctype is not None:
                h["Content-Type"] = ctype
        h.update(headers or {})
        return self.client.request(method, path, query=query, headers=h, body=body)


_state = {}


def ctx():
    """The shared context; fails (never skips) when the service is not
    configured or not usable."""
    url = os.environ.get("CONTACTS_URL", "").strip()
    if not url:
        pytest.fail("CONTACTS_URL is not set: point it at the running service "
                    "(e.g. CONTACTS_URL=http://127.0.0.1:18080), with CONTACTS_CTL "
                    "or CONTACTS_API_KEY", pytrace=False)
    if "error" in _state:
        pytest.fail(_state["error"], pytrace=False)
    if "ctx" not in _state:
        try:
            _state["ctx"] = Ctx(url)
        except Exception as e:  # noqa: BLE001 - reported once, then every test fails with it
            _state["error"] = f"cannot set up against {url}: {type(e).__name__}: {e}"
        if "error" in _state:
            pytest.fail(_state["error"], pytrace=False)
    return _state["ctx"]


# --------------------------------------------------------------------------
# The cases: how to provoke each documented answer


class Case:
    def __init__(self, method, path, status, name, send, code=None, field=None,
                 check=None):
        self.method, self.path, self.status = method, path, str(status)
        self.name, self.send = name, send
        self.code, self.field, self.check = code, field, check


CASES = []


def case(method, path, status, name, send, **kw):
    CASES.append(Case(method, path, status, name, send, **kw))


def body_of(c, body):
    return body(c) if callable(body) else body


def get(path, query=None, **kw):
    return lambda c: c.send("GET", path, query=query, **kw)


def post(path, body, **kw):
    return lambda c: c.send("POST", path, body=body_of(c, body), **kw)


def expect(cond, msg):
    return [] if cond else [msg]


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# /healthz
case("GET", "/healthz", 200, "no key", get("/healthz", auth=None),
     check=lambda c, r, b: expect(b["status"] == "ok", f"status is {b['status']!r}"))
case("GET", "/healthz", 200, "with a key as well", get("/healthz"))


# /metrics
def metrics_local(c):
    if not is_loopback(c.client.host):
        pytest.skip("CONTACTS_URL is not on loopback: /metrics is served to localhost only")
    return c.send("GET", "/metrics", auth=None)


def metrics_check(c, r, body):
    text = r.body.decode("utf-8", "replace")
    return (expect("# TYPE " in text, "no '# TYPE' line: not Prometheus text")
            + expect("contacts_requests_total" in text, "no contacts_requests_total"))


def local_non_loopback_address():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent for UDP connect
        addr = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ipaddress.ip_address(addr).is_loopback else addr


def metrics_from_elsewhere(c):
    if not is_loopback(c.client.host):
        pytest.skip("CONTACTS_URL is not on loopback")
    addr = local_non_loopback_address()
    if not addr:
        pytest.skip("this host has no non-loopback address to come from")
    try:
        return c.client.request("GET", "/metrics", host=addr)
    except OSError as e:
        pytest.skip(f"nginx does not listen on {addr} ({e}): cannot come from "
                    "anywhere but localhost")


case("GET", "/metrics", 200, "from localhost", metrics_local, check=metrics_check)
case("GET", "/metrics", 404, "from a non-loopback address", metrics_from_elsewhere,
     code="not_found")


# /test
def key_info_check(c, r, b):
    return expect(b["organization_id"] == c.org_id,
                  f"organization_id {b['organization_id']!r}, expected {c.org_id!r}")


def revoked_key(c):
    if not c.ctl:
        pytest.skip("needs CONTACTS_CTL")
    key = c.new_key("openapi-revoked")
    first = c.send("GET", "/test", key=key)
    assert first.status == 200, f"a new key does not work: {first!r}"
    c.ctl_run("key", "revoke", key.split("_")[1])
    return c.send("GET", "/test", key=key)


FAKE_KEY = "ck_AAAAAAAAA_" + "A" * 43
case("GET", "/test", 200, "X-API-Key", get("/test"), check=key_info_check)
case("GET", "/test", 200, "Authorization: Bearer", get("/test", auth="bearer"),
     check=key_info_check)
case("GET", "/test", 200, "Authorization: bearer (scheme is case-insensitive)",
     lambda c: c.send("GET", "/test", auth=None,
                      headers={"Authorization": f"bearer {c.key}"}),
     check=key_info_check)
for name, hdrs in [
        ("no key", {}),
        ("unknown key", {"X-API-Key": FAKE_KEY}),
        ("unknown bearer key", {"Authorization": f"Bearer {FAKE_KEY}"}),
        ("malformed key", {"X-API-Key": "nope"}),
        ("Basic instead of Bearer", {"Authorization": "Basic dXNlcjpwYXNz"})]:
    for path in ("/test", "/contacts", "/lists"):
        case("GET", path, 401, name, get(path, auth=None, headers=hdrs),
             code="unauthorized")
case("GET", "/test", 401, "revoked key", revoked_key, code="unauthorized")
case("POST", "/contacts", 401, "no key",
     post("/contacts", lambda c: {"email": c.new_email()}, auth=None), code="unauthorized")
case("POST", "/contacts", 401, "unknown key",
     post("/contacts", lambda c: {"email": c.new_email()}, auth=None,
          headers={"X-API-Key": FAKE_KEY}), code="unauthorized")
case("POST", "/lists", 401, "no key", post("/lists", {"name": "x"}, auth=None),
     code="unauthorized")


# GET /contacts
def link_check(want, path="/contacts", contains=None):
    def check(c, r, b):
        link = r.header("Link")
        if not want:
            return expect(link is None, f"a page that is not full has a Link: {link!r}")
        out = expect(link is not None, "a full page has no Link header")
        if link and contains:
            out += expect(contains in link, f"Link {link!r} lacks {contains!r}")
        if link:
            out += expect(link.startswith(f"<{path}?"), f"Link {link!r} is not to {path}")
        return out
    return check


def email_check(c, r, b):
    found = [x["email"] for x in b["contacts"]]
    return expect(found == [c.email], f"email look-up found {found}, expected [{c.email!r}]")


case("GET", "/contacts", 200, "no parameters", get("/contacts"))
case("GET", "/contacts", 200, "limit=1: a full page with Link",
     get("/contacts", "limit=1"), check=link_check(True, contains="offset=1&limit=1"))
case("GET", "/contacts", 200, "includeAll=true&limit=1: Link keeps includeAll",
     get("/contacts", "includeAll=true&limit=1"),
     check=link_check(True, contains="includeAll=true"))
case("GET", "/contacts", 200, "offset past the end: empty, no Link",
     get("/contacts", "offset=2147483647"), check=link_check(False))
case("GET", "/contacts", 200, "email in another case finds the contact",
     lambda c: c.send("GET", "/contacts", query=[("email", c.email.upper())]),
     check=email_check)
case("GET", "/contacts", 200, "email with surrounding white space",
     lambda c: c.send("GET", "/contacts", query=[("email", f"  {c.email} ")]),
     check=email_check)
case("GET", "/contacts", 200, "unknown email: empty",
     get("/contacts", [("email", "nobody.at.all@example.com")]),
     check=lambda c, r, b: expect(b["contacts"] == [], "not empty"))
case("GET", "/contacts", 200, "includeAll=false, unknown parameter ignored",
     get("/contacts", "includeAll=false&foo=bar"))
case("GET", "/contacts", 200, "Bearer", get("/contacts", auth="bearer"))
for q, field in [("offset=abc", "offset"), ("offset=-1", "offset"),
                 ("offset=1.5", "offset"), ("offset=2147483648", "offset"),
                 ("offset=99999999999999999999", "offset"), ("offset=", "offset"),
                 ("offset=0&offset=1", "offset"),
                 ("limit=0", "limit"), ("limit=1001", "limit"),
                 ("limit=abc", "limit"), ("limit=%2B5", "limit"),
                 ("includeAll=maybe", "includeAll"), ("includeAll=1", "includeAll"),
                 ("email=not-an-email", "email"), ("email=a%40b", "email"),
                 ("email=a%40b.com&email=c%40d.com", "email")]:
    case("GET", "/contacts", 400, q, get("/contacts", q), code="invalid_parameter",
         field=field)


# POST /contacts
def created_check(c, r, b):
    ct = b["contact"]
    return (expect(b["listsUpdated"] == 1, f"listsUpdated {b['listsUpdated']}, expected 1")
            + expect(ct["status"] == "active", f"status {ct['status']!r}")
            + expect(ct["last_action"] is None, f"last_action {ct['last_action']!r}")
            + expect(ct["type"] == "customer", f"type {ct['type']!r}, default is customer")
            + expect(ct["email"].startswith("New."), f"email case not kept: {ct['email']!r}"))


def updated_check(c, r, b):
    ct = b["contact"]
    return (expect(ct["email"] == c.email, f"email {ct['email']!r}: not the stored spelling "
                   f"{c.email!r}")
            + expect(ct["last_action"] == "IMPORT_UPDATE", f"last_action {ct['last_action']!r}")
            + expect(b["listsUpdated"] == 0, "already on the list, yet listsUpdated "
                     f"{b['listsUpdated']}"))


case("POST", "/contacts", 201, "new email, on a list",
     post("/contacts", lambda c: {"email": "  " + c.new_email("New") + "\t",
                                  "name": "Jane Doe", "phone": None,
                                  "addToLists": [c.list_id, c.list_id]}),
     check=created_check)
case("POST", "/contacts", 201, "charset parameter, employee, Bearer",
     post("/contacts", lambda c: {"email": c.new_email(), "type": "employee", "eid": "E-1",
                                  "company": "", "name": "x" * 255, "phone": "9" * 64},
          ctype="application/json; charset=utf-8", auth="bearer"))
case("POST", "/contacts", 200, "existing email in another case",
     post("/contacts", lambda c: {"email": c.email.upper(), "company": "Acme",
                                  "addToLists": [c.list_id]}),
     check=updated_check)

for name, raw in [("not JSON", "not json"), ("a JSON array", "[1]"),
                  ("a JSON string", '"x"'), ("empty body", ""),
                  ("truncated object", '{"email":'),
                  ("invalid UTF-8", b'{"email":"\xff@example.com"}')]:
    case("POST", "/contacts", 400, name, post("/contacts", raw), code="invalid_json")
    case("POST", "/lists", 400, name, post("/lists", raw), code="invalid_json")

BIG = 70 * 1024
case("POST", "/contacts", 413, "70 KiB body",
     post("/contacts", {"email": "big@example.com", "name": "x" * BIG}),
     code="payload_too_large")
case("POST", "/lists", 413, "70 KiB body", post("/lists", {"name": "x" * BIG}),
     code="payload_too_large")

for name, ctype in [("text/plain", "text/plain"), ("no Content-Type", None),
                    ("form", "application/x-www-form-urlencoded"),
                    ("application/jsonx", "application/jsonx")]:
    case("POST", "/contacts", 415, name,
         post("/contacts", lambda c: {"email": c.new_email()}, ctype=ctype),
         code="unsupported_media_type")
    case("POST", "/lists", 415, name, post("/lists", {"name": "x"}, ctype=ctype),
         code="unsupported_media_type")

for name, body, code, field in [
        ("no email", {"name": "x"}, "missing_field", "email"),
        ("email not an address", {"email": "not-an-email"}, "invalid_field", "email"),
        ("email a number", {"email": 5}, "invalid_field", "email"),
        ("email null", {"email": None}, "invalid_field", "email"),
        ("email two @", {"email": "a@b@example.com"}, "invalid_field", "email"),
        ("name 256 characters", {"name": "é" * 256}, "invalid_field", "name"),
        ("eid 256 characters", {"eid": "x" * 256}, "invalid_field", "eid"),
        ("company 256 characters", {"company": "x" * 256}, "invalid_field", "company"),
        ("phone 65 characters", {"phone": "1" * 65}, "invalid_field", "phone"),
        ("phone a number", {"phone": 5551234}, "invalid_field", "phone"),
        ("type boss", {"type": "boss"}, "invalid_field", "type"),
        ("type null", {"type": None}, "invalid_field", "type"),
        ("addToLists a string", {"addToLists": "x"}, "invalid_field", "addToLists"),
        ("addToLists 101 ids", {"addToLists": ["x"] * 101}, "invalid_field", "addToLists"),
        ("addToLists holding a number", {"addToLists": [1]}, "invalid_field", "addToLists"),
        ("unknown field", {"nickname": "x"}, "unknown_field", "nickname"),
        ("unknown list", {"addToLists": ["Nope12345"]}, "unknown_list", "addToLists")]:
    def make(body=body, field=field):
        def b(c):
            out = {"email": c.new_email()} if field != "email" else {}
            out.update(body)
            return out
        return b
    case("POST", "/contacts", 422, name, post("/contacts", make()), code=code, field=field)


# GET /lists
case("GET", "/lists", 200, "no parameters", get("/lists"))
case("GET", "/lists", 200, "limit=1: a full page with Link", get("/lists", "limit=1"),
     check=link_check(True, "/lists", "offset=1&limit=1"))
case("GET", "/lists", 200, "type=customer&limit=1: Link keeps type",
     get("/lists", "type=customer&limit=1"),
     check=link_check(True, "/lists", "type=customer"))
case("GET", "/lists", 200, "type=employee, unknown parameter ignored",
     get("/lists", "type=employee&foo=bar"))
case("GET", "/lists", 200, "offset past the end: empty, no Link",
     get("/lists", "offset=2147483647"), check=link_check(False, "/lists"))
for q, field in [("offset=abc", "offset"), ("offset=-1", "offset"),
                 ("offset=2147483648", "offset"), ("limit=0", "limit"),
                 ("limit=1001", "limit"), ("limit=1.5", "limit"),
                 ("type=boss", "type"), ("type=customer&type=employee", "type")]:
    case("GET", "/lists", 400, q, get("/lists", q), code="invalid_parameter", field=field)


# POST /lists
def list_check(type_):
    def check(c, r, b):
        lst = b["list"]
        return (expect(lst["type"] == type_, f"type {lst['type']!r}, expected {type_!r}")
                + expect(lst["count"] == 0, f"a new list has count {lst['count']}"))
    return check


case("POST", "/lists", 201, "name only: type defaults to customer",
     post("/lists", lambda c: {"name": f"oa list {c.run}"}), check=list_check("customer"))
case("POST", "/lists", 201, "employee, 255 characters, charset",
     post("/lists", {"name": "é" * 255, "type": "employee"},
          ctype="application/json; charset=utf-8"), check=list_check("employee"))
for name, body, code, field in [
        ("no name", {"type": "customer"}, "missing_field", "name"),
        ("name null", {"name": None}, "invalid_field", "name"),
        ("name a number", {"name": 5}, "invalid_field", "name"),
        ("name 256 characters", {"name": "x" * 256}, "invalid_field", "name"),
        ("type boss", {"name": "x", "type": "boss"}, "invalid_field", "type"),
        ("unknown field", {"name": "x", "color": "red"}, "unknown_field", "color")]:
    case("POST", "/lists", 422, name, post("/lists", body), code=code, field=field)


# 429: only with a rate limit configured; a key of its own, so that the other
# cases are not slowed down.
BURST = 60


def burst(method, path, body=None):
    def send(c):
        if not c.ctl:
            pytest.skip("needs CONTACTS_CTL (a key of its own for the burst)")
        key = c.new_key("openapi-burst")
        for _ in range(BURST):
            r = c.send(method, path, key=key, body=body_of(c, body))
            if r.status == 429:
                return r
        pytest.skip(f"no 429 after {BURST} requests in a row: the per-key limit "
                    "(nginx, 1000/s) exempts loopback clients")
    return send


case("GET", "/test", 429, "burst", burst("GET", "/test"), code="rate_limited")
case("GET", "/contacts", 429, "burst", burst("GET", "/contacts", None), code="rate_limited")
case("GET", "/lists", 429, "burst", burst("GET", "/lists"), code="rate_limited")
case("POST", "/contacts", 429, "burst", burst("POST", "/contacts", {}), code="rate_limited")
case("POST", "/lists", 429, "burst", burst("POST", "/lists", {}), code="rate_limited")


# --------------------------------------------------------------------------
# 1. The document


def documented_statuses():
    out = []
    for path, method, op in oc.operations(DOC):
        for status in op.get("responses", {}):
            if status != "default":
                out.append((method, path, str(status)))
    return out


def test_openapi_version():
    assert re.fullmatch(r"3\.1\.\d+", str(DOC.get("openapi"))), DOC.get("openapi")
    assert DOC.get("info", {}).get("title") and DOC["info"].get("version")


def test_every_ref_resolves():
    bad = []
    for where, ref in oc.iter_refs(DOC):
        try:
            oc.resolve_pointer(DOC, ref)
        except (KeyError, IndexError, ValueError) as e:
            bad.append(f"{where}: {e}")
    assert not bad, "\n".join(bad)


def test_every_operation_has_responses():
    bad, ids = [], set()
    for path, method, op in oc.operations(DOC):
        responses = op.get("responses") or {}
        if not responses:
            bad.append(f"{method} {path}: no responses")
        if not any(str(s).startswith("2") for s in responses):
            bad.append(f"{method} {path}: no 2xx response")
        for status, r in responses.items():
            if not re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", str(status)):
                bad.append(f"{method} {path}: bad status key {status!r}")
            if not oc.deref(DOC, r).get("description"):
                bad.append(f"{method} {path} {status}: no description")
        opid = op.get("operationId")
        if not opid or opid in ids:
            bad.append(f"{method} {path}: operationId missing or repeated")
        ids.add(opid)
    assert not bad, "\n".join(bad)


def test_schema_keywords_are_supported():
    bad = []
    for where, s in oc.iter_schemas(DOC):
        unknown = set(s) - oc.SCHEMA_KEYWORDS - oc.SCHEMA_ANNOTATIONS
        if unknown:
            bad.append(f"{where}: {sorted(unknown)}")
    assert not bad, "keywords the test's validator does not check:\n" + "\n".join(bad)


def iter_examples(node, where="#", schema=None):
    """(location, schema, value) for every example that has a schema."""
    if isinstance(node, dict):
        sch = node.get("schema", schema)
        if "example" in node and "schema" in node:
            yield where + "/example", node["schema"], node["example"]
        if isinstance(node.get("examples"), dict) and "schema" in node:
            for name, ex in node["examples"].items():
                ex = oc.deref(DOC, ex)
                if "value" in ex:
                    yield f"{where}/examples/{name}", node["schema"], ex["value"]
        if isinstance(node.get("examples"), list) and ("type" in node or "$ref" in node):
            for i, ex in enumerate(node["examples"]):
                yield f"{where}/examples/{i}", node, ex
        for k, v in node.items():
            if k not in ("example", "examples"):
                yield from iter_examples(v, f"{where}/{k}", sch)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from iter_examples(v, f"{where}/{i}", schema)


def test_examples_are_valid():
    bad, n = [], 0
    for where, schema, value in iter_examples(DOC):
        n += 1
        bad += [f"{where}: {e}" for e in oc.validate(DOC, schema, value)]
    for name in ("Contact", "List"):
        n += 1
        value = DOC["components"]["examples"][name]["value"]
        bad += [f"#/components/examples/{name}: {e}" for e in
                oc.validate(DOC, {"$ref": f"#/components/schemas/{name}"}, value)]
    assert n > 10, f"only {n} examples found"
    assert not bad, "\n".join(bad)


def test_error_codes_are_the_contracts():
    enum = oc.deref(DOC, DOC["components"]["schemas"]["ErrorCode"])["enum"]
    assert set(enum) == ERROR_CODES
    err = DOC["components"]["schemas"]["Error"]["properties"]["error"]
    assert err["required"] == ["code", "message"]
    assert set(err["properties"]) == {"code", "message", "field"}


def test_security_schemes():
    s = DOC["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "header", "name": "X-API-Key"}.items() <= s["ApiKeyHeader"].items()
    assert {"type": "http", "scheme": "bearer"}.items() <= s["BearerAuth"].items()
    assert DOC["security"] == [{"ApiKeyHeader": []}, {"BearerAuth": []}]
    for path, method, op in oc.operations(DOC):
        open_ = path in ("/healthz", "/metrics")
        assert (op.get("security") == []) == open_, f"{method} {path}: security"
        if not open_:
            assert "401" in op["responses"], f"{method} {path}: no 401"


def test_parameters_have_constraints():
    want = {"offset": {"minimum": 0, "maximum": 2147483647, "default": 0},
            "limit": {"minimum": 1, "maximum": 1000, "default": 1000},
            "includeAll": {"type": "boolean", "default": False},
            "email": {"type": "string"},
            "type": {}}
    seen = set()
    for path, method, op in oc.operations(DOC):
        for p in op.get("parameters", []):
            p = oc.deref(DOC, p)
            assert p["in"] == "query" and p.get("schema"), f"{method} {path} {p['name']}"
            schema = oc.deref(DOC, p["schema"])
            for k, v in want[p["name"]].items():
                assert schema.get(k) == v, f"{method} {path} {p['name']}: {k}"
            seen.add(p["name"])
    assert seen == set(want)


def test_every_header_documented_where_the_contract_wants_it():
    bad = []
    for path, method, op in oc.operations(DOC):
        for status, r in op["responses"].items():
            r = oc.deref(DOC, r)
            headers = r.get("headers") or {}
            if "X-Request-Id" not in headers:
                bad.append(f"{method} {path} {status}: no X-Request-Id")
            need = {"401": "WWW-Authenticate", "429": "Retry-After", "503": "Retry-After",
                    "201": "Location"}
            if status in need and need[status] not in headers:
                bad.append(f"{method} {path} {status}: no {need[status]}")
            # authenticated answers may carry the key's rate (HTTP conventions)
            if op.get("security") != [] and status not in ("401", "default"):
                for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
                    if h not in headers:
                        bad.append(f"{method} {path} {status}: no {h}")
        if method == "GET" and path in ("/contacts", "/lists") and \
                "Link" not in op["responses"]["200"].get("headers", {}):
            bad.append(f"{method} {path} 200: no Link")
    extra = DOC["x-undocumented-requests"]
    if "Allow" not in oc.deref(DOC, extra["otherMethod"]).get("headers", {}):
        bad.append("405: no Allow")
    assert not bad, "\n".join(bad)


def test_every_case_is_documented():
    """The reverse of the live test: every status the cases provoke is one the
    document gives for that operation."""
    documented = set(documented_statuses())
    bad = [f"{c.method} {c.path} {c.status} ({c.name})" for c in CASES
           if (c.method, c.path, c.status) not in documented]
    assert not bad, "cases for undocumented answers:\n" + "\n".join(bad)


# --------------------------------------------------------------------------
# 2. The service against the document


def allowed_unprovoked(method, path, status):
    for (m, p, s), why in ALLOWED_UNPROVOKED.items():
        if m in ("*", method) and p in ("*", path) and s in ("*", status):
            return why
    return None


def operation(method, path):
    return oc.deref(DOC, DOC["paths"][path])[method.lower()]


def check_case(c, cs):
    """Runs one case; returns its problems."""
    op = operation(cs.method, cs.path)
    r = cs.send(c)
    what = f"{cs.method} {cs.path} [{cs.name}]"
    if str(r.status) != cs.status:
        return [f"{what}: status {r.status}, expected {cs.status}: {r!r}"]
    documented = oc.documented_response(DOC, op, r.status)
    problems, body = oc.check_against(DOC, documented, r, what)
    if problems:
        return problems + [f"{what}: answer was {r!r}"]
    if isinstance(body, dict) and "error" in body:
        err = body["error"]
        codes = oc.example_codes(DOC, documented)
        if codes and err["code"] not in codes:
            problems.append(f"{what}: code {err['code']!r} is not among the documented "
                            f"{sorted(codes)}")
        if cs.code and err["code"] != cs.code:
            problems.append(f"{what}: code {err['code']!r}, expected {cs.code!r}: "
                            f"{err.get('message')!r}")
        if cs.field and err.get("field") != cs.field:
            problems.append(f"{what}: field {err.get('field')!r}, expected {cs.field!r}")
        if not cs.field and cs.code in ("unauthorized", "not_found", "method_not_allowed",
                                        "unsupported_media_type", "payload_too_large",
                                        "invalid_json") and "field" in err:
            problems.append(f"{what}: field {err['field']!r} where no one field is at fault")
    elif cs.code:
        problems.append(f"{what}: expected an error {cs.code}, got {r!r}")
    if cs.check and not problems:
        problems += [f"{what}: {p}" for p in cs.check(c, r, body)]
    return problems


@pytest.mark.parametrize("method,path,status", documented_statuses(),
                         ids=lambda v: str(v))
def test_documented_answer(method, path, status):
    cases = [cs for cs in CASES if (cs.method, cs.path, cs.status) == (method, path, status)]
    if not cases:
        why = allowed_unprovoked(method, path, status)
        if why:
            pytest.skip(f"not provoked: {why}")
        pytest.fail(f"{method} {path} {status} is documented but no case provokes it "
                    "(add one, or an entry in ALLOWED_UNPROVOKED with its reason)",
                    pytrace=False)
    c = ctx()
    problems = []
    for cs in cases:
        problems += check_case(c, cs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/test", "/contacts", "/lists"])
def test_unauthorized_says_nothing_more(path):
    """The 401 does not say whether the key was missing, unknown or revoked."""
    c = ctx()
    bodies = {}
    for hdrs in ({}, {"X-API-Key": FAKE_KEY}, {"X-API-Key": "nope"},
                 {"Authorization": f"Bearer {FAKE_KEY}"}):
        r = c.send("GET", path, auth=None, headers=hdrs)
        assert r.status == 401, r
        bodies[json.dumps(hdrs)] = json.dumps(r.json(), sort_keys=True)
    assert len(set(bodies.values())) == 1, bodies


# --------------------------------------------------------------------------
# 3. The reverse: what is not documented


@pytest.mark.parametrize("method,path", [(m, p) for p, m, _ in oc.operations(DOC)],
                         ids=lambda v: str(v))
def test_documented_operation_exists(method, path):
    c = ctx()
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    r = c.send(method, path, body=body)
    assert r.status not in (404, 405), f"{method} {path}: {r!r}"
    assert oc.documented_response(DOC, operation(method, path), r.status) is not None


def other_methods():
    out = []
    for path, item in DOC["paths"].items():
        item = oc.deref(DOC, item)
        for m in PROBE_METHODS:
            if m.lower() not in item:
                out.append((m, path))
    return out


@pytest.mark.parametrize("auth", ["key", None])
@pytest.mark.parametrize("method,path", other_methods(), ids=lambda v: str(v))
def test_undocumented_method_is_405(method, path, auth):
    c = ctx()
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    r = c.send(method, path, auth=auth, body=body)
    assert r.status == 405, f"{method} {path}: {r!r}"
    spec = DOC["x-undocumented-requests"]["otherMethod"]
    problems, b = oc.check_against(DOC, spec, r, f"{method} {path}")
    assert not problems, "\n".join(problems)
    assert b["error"]["code"] == "method_not_allowed", b
    allow = {m.strip().upper() for m in (r.header("Allow") or "").split(",") if m.strip()}
    documented = {m.upper() for m in oc.deref(DOC, DOC["paths"][path]) if m in oc.HTTP_METHODS}
    assert allow - {"HEAD", "OPTIONS"} == documented, \
        f"Allow: {r.header('Allow')!r}, documented: {sorted(documented)}"


@pytest.mark.parametrize("auth", ["key", None])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_is_404(path, method, auth):
    assert path not in DOC["paths"]
    c = ctx()
    r = c.send(method, path, auth=auth, body="{}" if method == "POST" else None)
    assert r.status == 404, f"{method} {path}: {r!r}"
    spec = DOC["x-undocumented-requests"]["unknownPath"]
    problems, b = oc.check_against(DOC, spec, r, f"{method} {path}")
    assert not problems, "\n".join(problems)
    assert b["error"]["code"] == "not_found", b
