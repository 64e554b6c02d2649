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
    # Round 2 (issue 11): conflicts with what is stored
    "email_taken", "suppressed", "field_exists",
    # Round 2 (issues 13, 14): idempotency and the change feed
    "idempotency_in_progress", "idempotency_mismatch", "cursor_expired",
    # nginx's own errors
    "bad_request", "timeout", "uri_too_long", "not_implemented",
}

# Documented statuses that a test from outside cannot cause on a healthy
# stack.  (method, path, status); "*" matches any.
ALLOWED_UNPROVOKED = {
    ("GET", "/contacts/changes", "410"): "needs change feed entries older than "
                                         "30 days: test_feed.py ages some in SQL, "
                                         "prunes them and checks the 410",
    ("GET", "/metrics", "404"): "only a client that is not on this host gets it, "
                                "and the test stack listens on loopback only",
    ("*", "*", "500"): "an internal error cannot be caused from outside on a "
                       "healthy stack (it is the answer to a bug or a failing "
                       "statement)",
    ("*", "*", "503"): "needs PostgreSQL to be unreachable: "
                       "test_zy_postgres_down.py stops it and checks every "
                       "documented 503 against this document",
}

PROBE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
UNKNOWN_PATHS = ("/", "/nope", "/contacts/", "/contacts/abc123XYZ/x",
                 "/lists/", "/lists/abc123XYZ/x", "/lists/abc123XYZ/contacts/x",
                 "/fields/", "/fields/tier/x", "/suppressions/x", "/healthz/x",
                 "/CONTACTS", "/test/x",
                 # a segment that cannot be the id or name it stands for
                 "/contacts/abc123XY", "/contacts/abc123XYZ0", "/contacts/abc123XY_",
                 "/lists/abc", "/lists/abc/contacts", "/fields/Tier", "/fields/a-b",
                 "/fields/" + "x" * 65)

# A well-formed id that no contact or list has (ids are random: the chance
# that one does is 62^-9), and a name no field has.
NO_ID = "abc123XYZ"
NO_FIELD = "no_such_field_0"


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
        # A custom field of each type.
        self.fields = {}
        for t in ("string", "number", "boolean", "date"):
            self.fields[t] = self.new_field(t)
        r = self.send("POST", "/contacts",
                      body={"email": self.email, "addToLists": [self.list_id],
                            f"field_{self.fields['string']}": "gold"})
        if r.status != 201:
            raise RuntimeError(f"cannot create a contact: {r!r}")
        self.contact_id = r.json()["contact"]["id"]
        self._other_org_contact = None

    def made(self, r, what, status=201):
        if r.status != status:
            raise RuntimeError(f"cannot create {what}: {r!r}")
        return r.json()

    def new_contact(self, **body):
        """A fresh contact (its JSON); body: more keys of the POST."""
        body.setdefault("email", self.new_email())
        return self.made(self.send("POST", "/contacts", body=body), "a contact")["contact"]

    def new_list(self, type_="customer"):
        self.serial += 1
        r = self.send("POST", "/lists", body={"name": f"oa {self.run} {self.serial}",
                                              "type": type_})
        return self.made(r, "a list")["list"]["id"]

    def new_field(self, type_="string"):
        self.serial += 1
        name = f"oa_{self.run}_{self.serial}"
        self.made(self.send("POST", "/fields", body={"name": name, "type": type_}),
                  "a custom field")
        return name

    def erased_email(self, suppress=True):
        """The email of a contact just erased (with suppression by default)."""
        ct = self.new_contact()
        q = "erase=true&suppress=true" if suppress else "erase=true"
        r = self.send("DELETE", f"/contacts/{ct['id']}", query=q)
        if r.status != 204:
            raise RuntimeError(f"cannot erase a contact: {r!r}")
        return ct["email"], ct["id"]

    def other_org_contact(self):
        """The id of a contact of another organization (needs CONTACTS_CTL)."""
        if not self.ctl:
            pytest.skip("needs CONTACTS_CTL (a second organization)")
        if self._other_org_contact is None:
            org = self.ctl_run("org", "create", f"openapi-other-{self.run}")
            key = self.ctl_run("key", "create", org, "--name", "openapi-other")
            r = self.send("POST", "/contacts", key=key, body={"email": self.new_email()})
            self._other_org_contact = self.made(r, "a contact elsewhere")["contact"]["id"]
        return self._other_org_contact

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

    def new_key(self, name, rate_limit=None):
        extra = ("--rate-limit", str(rate_limit)) if rate_limit is not None else ()
        return self.ctl_run("key", "create", self.org_id, "--name", name, *extra)

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


case("GET", "/metrics", 200, "from localhost", metrics_local, check=metrics_check)
# GET /metrics 404 from a non-loopback client: the stack listens on
# loopback only (ALLOWED_UNPROVOKED).


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


# --------------------------------------------------------------------------
# Round 2 (issue 11): the contact lifecycle, lists by id, custom fields


def req(method, path, query=None, body=None, **kw):
    """A request whose path, query and body may each be a function of the
    context (made when the case runs)."""
    return lambda c: c.send(method, body_of(c, path), query=body_of(c, query),
                            body=body_of(c, body), **kw)


def then(setup, method, path, query=None, body=None, **kw):
    """setup(c) makes what the request needs and returns a dict; path, query
    and body may be functions of (c, that dict)."""
    def run(c):
        got = setup(c)
        v = lambda x: x(c, got) if callable(x) else x  # noqa: E731
        r = c.send(method, v(path), query=v(query), body=v(body), **kw)
        r.setup = got
        return r
    return run


def fresh_contact(**body):
    return lambda c: c.new_contact(**body)


def fresh_list(c):
    return {"id": c.new_list()}


def deleted_contact(c):
    ct = c.new_contact(addToLists=[c.list_id])
    r = c.send("DELETE", f"/contacts/{ct['id']}")
    assert r.status == 200, r
    return r.json()["contact"]


def deleted_list(c):
    lid = c.new_list()
    r = c.send("DELETE", f"/lists/{lid}")
    assert r.status == 200, r
    return r.json()["list"]


def location_check(prefix, key):
    def check(c, r, b):
        want = f"{prefix}{b[key]['id' if key != 'field' else 'name']}"
        return expect(r.header("Location") == want,
                      f"Location {r.header('Location')!r}, expected {want!r}")
    return check


def no_body(c, r, b):
    return expect(r.body == b"", f"a 204 with a body: {r.body[:100]!r}")


def deleted_check(c, r, b):
    ct = b["contact"]
    return (expect(ct["status"] == "deleted", f"status {ct['status']!r}")
            + expect(ct["last_action"] == "DELETE", f"last_action {ct['last_action']!r}")
            + expect(ct["deleted_at"] is not None and ct["deleted_at"] == ct["updated_at"],
                     f"deleted_at {ct['deleted_at']!r}, updated_at {ct['updated_at']!r}"))


def same_contact(c, r, b):
    before = r.setup
    return expect(b["contact"] == before, f"changed: {b['contact']!r}, was {before!r}")


def gone_check(path_of):
    """After a 204: the contact (or field) is gone."""
    def check(c, r, b):
        again = c.send("GET", path_of(r.setup)) if path_of else None
        return no_body(c, r, b) + (expect(again.status == 404, f"still there: {again!r}")
                                   if again is not None else [])
    return check


# POST /contacts: Location, listsRemoved, custom fields, restore, suppression
def custom_check(c, r, b):
    f = b["contact"]["fields"]
    want = {c.fields["string"]: "gold", c.fields["number"]: 4.5,
            c.fields["boolean"]: True, c.fields["date"]: "2021-02-28"}
    return (expect(f == want, f"fields {f!r}, expected {want!r}")
            + expect(b["listsRemoved"] == 0, f"listsRemoved {b['listsRemoved']}"))


case("POST", "/contacts", 201, "Location, listsRemoved, custom fields both ways",
     post("/contacts", lambda c: {
         "email": c.new_email(), f"field_{c.fields['string']}": "gold",
         "fields": {c.fields["number"]: 4.5, c.fields["boolean"]: True,
                    c.fields["date"]: "2021-02-28"}}),
     check=lambda c, r, b: location_check("/contacts/", "contact")(c, r, b)
     + custom_check(c, r, b))
case("POST", "/contacts", 200, "removeFromLists takes it off; a custom value cleared",
     then(lambda c: c.new_contact(addToLists=[c.list_id],
                                  **{f"field_{c.fields['string']}": "x"}),
          "POST", "/contacts", body=lambda c, ct: {
              "email": ct["email"], "removeFromLists": [c.list_id],
              "fields": {c.fields["string"]: None}}),
     check=lambda c, r, b: expect(b["listsRemoved"] == 1, f"listsRemoved {b['listsRemoved']}")
     + expect(b["contact"]["fields"] == {}, f"fields {b['contact']['fields']!r}"))
case("POST", "/contacts", 200, "restores a deleted contact: same id, active",
     then(deleted_contact, "POST", "/contacts", body=lambda c, ct: {"email": ct["email"]}),
     check=lambda c, r, b: expect(b["contact"]["id"] == r.setup["id"], "another id")
     + expect(b["contact"]["status"] == "active", f"status {b['contact']['status']!r}")
     + expect(b["contact"]["deleted_at"] == r.setup["deleted_at"], "deleted_at changed"))
case("POST", "/contacts", 409, "an email erased with suppression",
     then(lambda c: {"email": c.erased_email()[0]}, "POST", "/contacts",
          body=lambda c, s: {"email": s["email"].upper()}),
     code="suppressed", field="email")
for name, body, code, field in [
        ("removeFromLists a string", lambda c: {"removeFromLists": "x"},
         "invalid_field", "removeFromLists"),
        ("removeFromLists 101 ids", lambda c: {"removeFromLists": ["x"] * 101},
         "invalid_field", "removeFromLists"),
        ("a list in both arrays", lambda c: {"addToLists": [c.list_id],
                                             "removeFromLists": [c.list_id]},
         "invalid_field", "removeFromLists"),
        ("removeFromLists: unknown list", lambda c: {"removeFromLists": ["Nope12345"]},
         "unknown_list", "removeFromLists"),
        ("addToLists: a deleted list", lambda c: {"addToLists": [deleted_list(c)["id"]]},
         "unknown_list", "addToLists"),
        ("undefined field_x", lambda c: {"field_nope": 1}, "unknown_field", "field_nope"),
        ("undefined fields.x", lambda c: {"fields": {"nope": 1}}, "unknown_field", "fields.nope"),
        ("a string field given a number",
         lambda c: {f"field_{c.fields['string']}": 5},
         "invalid_field", lambda c: f"field_{c.fields['string']}"),
        ("a string field of 1001 characters",
         lambda c: {"fields": {c.fields["string"]: "x" * 1001}},
         "invalid_field", lambda c: f"fields.{c.fields['string']}"),
        ("a number field given a string",
         lambda c: {"fields": {c.fields["number"]: "5"}},
         "invalid_field", lambda c: f"fields.{c.fields['number']}"),
        ("a boolean field given 1",
         lambda c: {f"field_{c.fields['boolean']}": 1},
         "invalid_field", lambda c: f"field_{c.fields['boolean']}"),
        ("a date field given 2021-02-30",
         lambda c: {"fields": {c.fields["date"]: "2021-02-30"}},
         "invalid_field", lambda c: f"fields.{c.fields['date']}"),
        ("fields not an object", lambda c: {"fields": []}, "invalid_field", "fields"),
        ("the same field both ways",
         lambda c: {f"field_{c.fields['string']}": "a", "fields": {c.fields["string"]: "b"}},
         "invalid_field", None)]:
    def make(body=body):
        return lambda c: {"email": c.new_email(), **body(c)}
    case("POST", "/contacts", 422, name, post("/contacts", make()), code=code, field=field)


# DELETE /contacts (?email=, or the body {"email": ...})
case("DELETE", "/contacts", 200, "?email= in another case",
     then(fresh_contact(), "DELETE", "/contacts",
          query=lambda c, ct: [("email", ct["email"].upper())]), check=deleted_check)
case("DELETE", "/contacts", 200, "the body form",
     then(fresh_contact(), "DELETE", "/contacts", body=lambda c, ct: {"email": ct["email"]}),
     check=deleted_check)
case("DELETE", "/contacts", 200, "already deleted: unchanged",
     then(deleted_contact, "DELETE", "/contacts",
          query=lambda c, ct: [("email", ct["email"])]), check=same_contact)
case("DELETE", "/contacts", 204, "?email=&erase=true",
     then(fresh_contact(), "DELETE", "/contacts",
          query=lambda c, ct: [("email", ct["email"]), ("erase", "true")]),
     check=gone_check(lambda ct: f"/contacts/{ct['id']}"))
case("DELETE", "/contacts", 204, "the body form, ?erase=true&suppress=true",
     then(fresh_contact(), "DELETE", "/contacts", query="erase=true&suppress=true",
          body=lambda c, ct: {"email": ct["email"]}),
     check=gone_check(lambda ct: f"/contacts/{ct['id']}"))
for name, query, body, field in [
        ("neither query nor body", None, None, "email"),
        ("email=not-an-email", "email=not-an-email", None, "email"),
        ("email twice", "email=a%40b.com&email=a%40b.com", None, "email"),
        ("email in both", lambda c: [("email", c.email)], lambda c: {"email": c.email}, "email"),
        ("erase=maybe", lambda c: [("email", c.email), ("erase", "maybe")], None, "erase"),
        ("suppress=true without erase", lambda c: [("email", c.email), ("suppress", "true")],
         None, "suppress")]:
    case("DELETE", "/contacts", 400, name, req("DELETE", "/contacts", query, body),
         code="invalid_parameter", field=field)
case("DELETE", "/contacts", 400, "body not JSON", req("DELETE", "/contacts", body="nope"),
     code="invalid_json")
case("DELETE", "/contacts", 401, "no key",
     req("DELETE", "/contacts", lambda c: [("email", c.email)], auth=None), code="unauthorized")
case("DELETE", "/contacts", 404, "?email= of no contact",
     req("DELETE", "/contacts", [("email", "nobody.at.all@example.com")]), code="not_found")
case("DELETE", "/contacts", 404, "body: an erased contact's email",
     then(lambda c: {"email": c.erased_email(suppress=False)[0]}, "DELETE", "/contacts",
          body=lambda c, s: {"email": s["email"]}), code="not_found")
case("DELETE", "/contacts", 413, "70 KiB body",
     req("DELETE", "/contacts", body={"email": "x" * BIG}), code="payload_too_large")
case("DELETE", "/contacts", 415, "body as text/plain",
     req("DELETE", "/contacts", body=lambda c: {"email": c.email}, ctype="text/plain"),
     code="unsupported_media_type")
for name, body, code, field in [
        ("{}", {}, "missing_field", "email"),
        ("email not an address", {"email": "not-an-email"}, "invalid_field", "email"),
        ("another key", lambda c: {"email": c.email, "name": "x"}, "unknown_field", "name")]:
    case("DELETE", "/contacts", 422, name, req("DELETE", "/contacts", body=body),
         code=code, field=field)


# GET /contacts/{id}
case("GET", "/contacts/{id}", 200, "the contact, with its custom field",
     req("GET", lambda c: f"/contacts/{c.contact_id}"),
     check=lambda c, r, b: expect(b["contact"]["email"] == c.email, "another contact")
     + expect(b["contact"]["fields"] == {c.fields["string"]: "gold"},
              f"fields {b['contact']['fields']!r}"))
case("GET", "/contacts/{id}", 200, "a deleted contact too",
     then(deleted_contact, "GET", lambda c, ct: f"/contacts/{ct['id']}"), check=same_contact)
case("GET", "/contacts/{id}", 401, "no key",
     req("GET", lambda c: f"/contacts/{c.contact_id}", auth=None), code="unauthorized")
for name, path in [("unknown id", f"/contacts/{NO_ID}"),
                   ("another organization's", lambda c: f"/contacts/{c.other_org_contact()}")]:
    case("GET", "/contacts/{id}", 404, name, req("GET", path), code="not_found")
case("GET", "/contacts/{id}", 404, "an erased contact",
     then(lambda c: {"id": c.erased_email(suppress=False)[1]}, "GET",
          lambda c, s: f"/contacts/{s['id']}"), code="not_found")


# PATCH /contacts/{id}
def patched(check_contact, lists=(0, 0)):
    def check(c, r, b):
        return (check_contact(c, r, b["contact"])
                + expect((b["listsUpdated"], b["listsRemoved"]) == lists,
                         f"listsUpdated/listsRemoved {b['listsUpdated']}/{b['listsRemoved']}, "
                         f"expected {lists}"))
    return check


case("PATCH", "/contacts/{id}", 200, "email, name, phone null",
     then(fresh_contact(phone="1"), "PATCH", lambda c, ct: f"/contacts/{ct['id']}",
          body=lambda c, ct: {"email": "New." + ct["email"], "name": "N", "phone": None}),
     check=patched(lambda c, r, ct: expect(ct["email"] == "New." + r.setup["email"], "email")
                   + expect((ct["name"], ct["phone"]) == ("N", None), "name/phone")
                   + expect(ct["last_action"] == "IMPORT_UPDATE", "last_action")))
case("PATCH", "/contacts/{id}", 200, "only the case of its own email",
     then(fresh_contact(), "PATCH", lambda c, ct: f"/contacts/{ct['id']}",
          body=lambda c, ct: {"email": ct["email"].upper()}),
     check=patched(lambda c, r, ct: expect(ct["email"] == r.setup["email"].upper(), "email")))
case("PATCH", "/contacts/{id}", 200, "status unsubscribed, lists, a custom field",
     then(fresh_contact(addToLists=[]), "PATCH", lambda c, ct: f"/contacts/{ct['id']}",
          body=lambda c, ct: {"status": "unsubscribed", "addToLists": [c.list_id],
                              f"field_{c.fields['number']}": 7}),
     check=patched(lambda c, r, ct: expect(ct["status"] == "unsubscribed", "status")
                   + expect(ct["fields"] == {c.fields["number"]: 7}, f"fields {ct['fields']}"),
                   (1, 0)))
case("PATCH", "/contacts/{id}", 200, "a deleted contact without status stays deleted",
     then(deleted_contact, "PATCH", lambda c, ct: f"/contacts/{ct['id']}",
          body={"name": "Still Deleted", "removeFromLists": []}),
     check=patched(lambda c, r, ct: expect(ct["status"] == "deleted", f"status {ct['status']}")))
case("PATCH", "/contacts/{id}", 200, "a deleted contact restored by status",
     then(deleted_contact, "PATCH", lambda c, ct: f"/contacts/{ct['id']}",
          body={"status": "error"}),
     check=patched(lambda c, r, ct: expect(ct["status"] == "error", f"status {ct['status']}")
                   + expect(ct["deleted_at"] == r.setup["deleted_at"], "deleted_at changed")))
case("PATCH", "/contacts/{id}", 200, "{} writes nothing",
     then(fresh_contact(), "PATCH", lambda c, ct: f"/contacts/{ct['id']}", body={}),
     check=patched(lambda c, r, ct: expect(ct == r.setup, f"changed: {ct!r}")))
for name, raw in [("not JSON", "not json"), ("a JSON array", "[1]"), ("empty body", "")]:
    case("PATCH", "/contacts/{id}", 400, name,
         req("PATCH", lambda c: f"/contacts/{c.contact_id}", body=raw), code="invalid_json")
case("PATCH", "/contacts/{id}", 401, "no key",
     req("PATCH", lambda c: f"/contacts/{c.contact_id}", body={}, auth=None),
     code="unauthorized")
case("PATCH", "/contacts/{id}", 404, "unknown id",
     req("PATCH", f"/contacts/{NO_ID}", body={"name": "x"}), code="not_found")
case("PATCH", "/contacts/{id}", 404, "an erased contact",
     then(lambda c: {"id": c.erased_email(suppress=False)[1]}, "PATCH",
          lambda c, s: f"/contacts/{s['id']}", body={"name": "x"}), code="not_found")
case("PATCH", "/contacts/{id}", 409, "the email of another contact, in another case",
     then(fresh_contact(), "PATCH", lambda c, ct: f"/contacts/{ct['id']}",
          body=lambda c, ct: {"email": c.email.upper()}), code="email_taken", field="email")
case("PATCH", "/contacts/{id}", 409, "a suppressed email",
     then(lambda c: {"id": c.new_contact()["id"], "email": c.erased_email()[0]}, "PATCH",
          lambda c, s: f"/contacts/{s['id']}", body=lambda c, s: {"email": s["email"]}),
     code="suppressed", field="email")
case("PATCH", "/contacts/{id}", 413, "70 KiB body",
     req("PATCH", lambda c: f"/contacts/{c.contact_id}", body={"name": "x" * BIG}),
     code="payload_too_large")
case("PATCH", "/contacts/{id}", 415, "text/plain",
     req("PATCH", lambda c: f"/contacts/{c.contact_id}", body={"name": "x"},
         ctype="text/plain"), code="unsupported_media_type")
for name, body, code, field in [
        ("email null", {"email": None}, "invalid_field", "email"),
        ("email not an address", {"email": "nope"}, "invalid_field", "email"),
        ("type null", {"type": None}, "invalid_field", "type"),
        ("status deleted", {"status": "deleted"}, "invalid_field", "status"),
        ("status null", {"status": None}, "invalid_field", "status"),
        ("status gone", {"status": "gone"}, "invalid_field", "status"),
        ("name 256 characters", {"name": "x" * 256}, "invalid_field", "name"),
        ("unknown key", {"nickname": "x"}, "unknown_field", "nickname"),
        ("undefined custom field", {"fields": {"nope": 1}}, "unknown_field", "fields.nope"),
        ("a list in both arrays", lambda c: {"addToLists": [c.list_id],
                                             "removeFromLists": [c.list_id]},
         "invalid_field", "removeFromLists"),
        ("unknown list", {"removeFromLists": ["Nope12345"]}, "unknown_list", "removeFromLists")]:
    case("PATCH", "/contacts/{id}", 422, name,
         req("PATCH", lambda c: f"/contacts/{c.contact_id}", body=body), code=code, field=field)
case("PATCH", "/contacts/{id}", 422, "a bad body is refused before an unknown id",
     req("PATCH", f"/contacts/{NO_ID}", body={"nickname": "x"}),
     code="unknown_field", field="nickname")


# DELETE /contacts/{id}
case("DELETE", "/contacts/{id}", 200, "a soft delete",
     then(fresh_contact(), "DELETE", lambda c, ct: f"/contacts/{ct['id']}"),
     check=deleted_check)
case("DELETE", "/contacts/{id}", 200, "erase=false: a soft delete",
     then(fresh_contact(), "DELETE", lambda c, ct: f"/contacts/{ct['id']}", query="erase=false"),
     check=deleted_check)
case("DELETE", "/contacts/{id}", 200, "already deleted: unchanged",
     then(deleted_contact, "DELETE", lambda c, ct: f"/contacts/{ct['id']}"), check=same_contact)
case("DELETE", "/contacts/{id}", 204, "erase=true",
     then(fresh_contact(), "DELETE", lambda c, ct: f"/contacts/{ct['id']}", query="erase=true"),
     check=gone_check(lambda ct: f"/contacts/{ct['id']}"))
case("DELETE", "/contacts/{id}", 204, "erase=true&suppress=true",
     then(fresh_contact(), "DELETE", lambda c, ct: f"/contacts/{ct['id']}",
          query="erase=true&suppress=true"),
     check=gone_check(lambda ct: f"/contacts/{ct['id']}"))
for q, field in [("erase=maybe", "erase"), ("erase=1", "erase"),
                 ("erase=true&erase=true", "erase"), ("suppress=true", "suppress"),
                 ("erase=false&suppress=true", "suppress"),
                 ("erase=true&suppress=maybe", "suppress")]:
    case("DELETE", "/contacts/{id}", 400, q,
         req("DELETE", lambda c: f"/contacts/{c.contact_id}", q),
         code="invalid_parameter", field=field)
case("DELETE", "/contacts/{id}", 401, "no key",
     req("DELETE", f"/contacts/{NO_ID}", auth=None), code="unauthorized")
case("DELETE", "/contacts/{id}", 404, "unknown id", req("DELETE", f"/contacts/{NO_ID}"),
     code="not_found")
case("DELETE", "/contacts/{id}", 404, "unknown id, erase=true",
     req("DELETE", f"/contacts/{NO_ID}", "erase=true"), code="not_found")
case("DELETE", "/contacts/{id}", 404, "an erased contact",
     then(lambda c: {"id": c.erased_email(suppress=False)[1]}, "DELETE",
          lambda c, s: f"/contacts/{s['id']}"), code="not_found")


# DELETE /suppressions
case("DELETE", "/suppressions", 204, "a suppressed email, in another case",
     then(lambda c: {"email": c.erased_email()[0]}, "DELETE", "/suppressions",
          query=lambda c, s: [("email", s["email"].upper())]),
     check=lambda c, r, b: no_body(c, r, b) + expect(
         c.send("POST", "/contacts", body={"email": r.setup["email"]}).status == 201,
         "the email cannot be created again after the lift"))
for name, q in [("no email", None), ("email=not-an-email", "email=not-an-email"),
                ("email twice", "email=a%40b.com&email=a%40b.com")]:
    case("DELETE", "/suppressions", 400, name, req("DELETE", "/suppressions", q),
         code="invalid_parameter", field="email")
case("DELETE", "/suppressions", 401, "no key",
     req("DELETE", "/suppressions", "email=a%40b.com", auth=None), code="unauthorized")
case("DELETE", "/suppressions", 404, "an email that is not suppressed",
     req("DELETE", "/suppressions", lambda c: [("email", c.email)]), code="not_found")
case("DELETE", "/suppressions", 404, "erased without suppression",
     then(lambda c: {"email": c.erased_email(suppress=False)[0]}, "DELETE", "/suppressions",
          query=lambda c, s: [("email", s["email"])]), code="not_found")


# POST /lists: Location
case("POST", "/lists", 201, "Location", post("/lists", {"name": "located"}),
     check=location_check("/lists/", "list"))


# GET /lists/{id}
case("GET", "/lists/{id}", 200, "the list", req("GET", lambda c: f"/lists/{c.list_id}"),
     check=lambda c, r, b: expect(b["list"]["id"] == c.list_id, "another list"))
case("GET", "/lists/{id}", 200, "a deleted list too",
     then(deleted_list, "GET", lambda c, lst: f"/lists/{lst['id']}"),
     check=lambda c, r, b: expect(b["list"] == r.setup, f"{b['list']!r}, was {r.setup!r}"))
case("GET", "/lists/{id}", 401, "no key", req("GET", f"/lists/{NO_ID}", auth=None),
     code="unauthorized")
case("GET", "/lists/{id}", 404, "unknown id", req("GET", f"/lists/{NO_ID}"), code="not_found")


# PATCH /lists/{id}
case("PATCH", "/lists/{id}", 200, "name and type",
     then(fresh_list, "PATCH", lambda c, lst: f"/lists/{lst['id']}",
          body={"name": "renamed", "type": "employee"}),
     check=lambda c, r, b: expect((b["list"]["name"], b["list"]["type"]) ==
                                  ("renamed", "employee"), f"{b['list']!r}"))
case("PATCH", "/lists/{id}", 200, "type only",
     then(fresh_list, "PATCH", lambda c, lst: f"/lists/{lst['id']}", body={"type": "employee"}))
for name, raw in [("not JSON", "not json"), ("a JSON array", "[1]")]:
    case("PATCH", "/lists/{id}", 400, name,
         req("PATCH", lambda c: f"/lists/{c.list_id}", body=raw), code="invalid_json")
case("PATCH", "/lists/{id}", 401, "no key",
     req("PATCH", f"/lists/{NO_ID}", body={"name": "x"}, auth=None), code="unauthorized")
case("PATCH", "/lists/{id}", 404, "unknown id",
     req("PATCH", f"/lists/{NO_ID}", body={"name": "x"}), code="not_found")
case("PATCH", "/lists/{id}", 404, "a deleted list",
     then(deleted_list, "PATCH", lambda c, lst: f"/lists/{lst['id']}", body={"name": "x"}),
     code="not_found")
case("PATCH", "/lists/{id}", 413, "70 KiB body",
     req("PATCH", lambda c: f"/lists/{c.list_id}", body={"name": "x" * BIG}),
     code="payload_too_large")
case("PATCH", "/lists/{id}", 415, "text/plain",
     req("PATCH", lambda c: f"/lists/{c.list_id}", body={"name": "x"}, ctype="text/plain"),
     code="unsupported_media_type")
for name, body, code, field in [
        ("name null", {"name": None}, "invalid_field", "name"),
        ("name 256 characters", {"name": "x" * 256}, "invalid_field", "name"),
        ("type boss", {"type": "boss"}, "invalid_field", "type"),
        ("unknown key", {"color": "red"}, "unknown_field", "color")]:
    case("PATCH", "/lists/{id}", 422, name,
         req("PATCH", lambda c: f"/lists/{c.list_id}", body=body), code=code, field=field)


# DELETE /lists/{id}
case("DELETE", "/lists/{id}", 200, "deleted_at set",
     then(fresh_list, "DELETE", lambda c, lst: f"/lists/{lst['id']}"),
     check=lambda c, r, b: expect(b["list"]["deleted_at"] is not None, "deleted_at is null"))
case("DELETE", "/lists/{id}", 200, "again: unchanged",
     then(deleted_list, "DELETE", lambda c, lst: f"/lists/{lst['id']}"),
     check=lambda c, r, b: expect(b["list"] == r.setup, f"{b['list']!r}, was {r.setup!r}"))
case("DELETE", "/lists/{id}", 401, "no key", req("DELETE", f"/lists/{NO_ID}", auth=None),
     code="unauthorized")
case("DELETE", "/lists/{id}", 404, "unknown id", req("DELETE", f"/lists/{NO_ID}"),
     code="not_found")


# GET /lists/{id}/contacts
def members_check(want, link=None):
    """want(c, r): the member ids expected; link: None (not checked), ""
    (no Link) or what the Link must hold."""
    def check(c, r, b):
        got = [x["id"] for x in b["contacts"]]
        out = expect(got == want(c, r), f"members {got}, expected {want(c, r)}")
        if link is not None:
            lid = r.setup["id"] if getattr(r, "setup", None) else c.list_id
            out += link_check(bool(link), f"/lists/{lid}/contacts", link or None)(c, r, b)
        return out
    return check


def list_with_deleted(c):
    lid = c.new_list()
    a = c.new_contact(addToLists=[lid])["id"]
    d = c.new_contact(addToLists=[lid])["id"]
    z = c.new_contact(addToLists=[lid])["id"]
    assert c.send("DELETE", f"/contacts/{d}").status == 200
    return {"id": lid, "members": [a, d, z]}


case("GET", "/lists/{id}/contacts", 200, "the members, the first one first",
     req("GET", lambda c: f"/lists/{c.list_id}/contacts"),
     check=lambda c, r, b: expect(b["contacts"] and b["contacts"][0]["id"] == c.contact_id,
                                  f"the first member is not {c.contact_id}: {b['contacts'][:1]}"))
case("GET", "/lists/{id}/contacts", 200, "limit=1: a full page with Link",
     then(list_with_deleted, "GET", lambda c, s: f"/lists/{s['id']}/contacts", "limit=1"),
     check=members_check(lambda c, r: r.setup["members"][:1], "offset=1&limit=1"))
case("GET", "/lists/{id}/contacts", 200, "offset skips only what is shown; no Link",
     then(list_with_deleted, "GET", lambda c, s: f"/lists/{s['id']}/contacts", "offset=1"),
     check=members_check(lambda c, r: r.setup["members"][2:], ""))
case("GET", "/lists/{id}/contacts", 200, "includeAll=true&limit=2: deleted too, Link keeps it",
     then(list_with_deleted, "GET", lambda c, s: f"/lists/{s['id']}/contacts",
          "includeAll=true&limit=2"),
     check=members_check(lambda c, r: r.setup["members"][:2], "includeAll=true"))
case("GET", "/lists/{id}/contacts", 200, "a list without members",
     then(fresh_list, "GET", lambda c, s: f"/lists/{s['id']}/contacts"),
     check=members_check(lambda c, r: []))
for q, field in [("offset=abc", "offset"), ("offset=-1", "offset"), ("limit=0", "limit"),
                 ("limit=1001", "limit"), ("includeAll=maybe", "includeAll"),
                 ("offset=0&offset=1", "offset")]:
    case("GET", "/lists/{id}/contacts", 400, q,
         req("GET", lambda c: f"/lists/{c.list_id}/contacts", q),
         code="invalid_parameter", field=field)
case("GET", "/lists/{id}/contacts", 401, "no key",
     req("GET", lambda c: f"/lists/{c.list_id}/contacts", auth=None), code="unauthorized")
case("GET", "/lists/{id}/contacts", 404, "unknown id", req("GET", f"/lists/{NO_ID}/contacts"),
     code="not_found")
case("GET", "/lists/{id}/contacts", 404, "a deleted list",
     then(deleted_list, "GET", lambda c, lst: f"/lists/{lst['id']}/contacts"),
     code="not_found")


# GET /fields, POST /fields, DELETE /fields/{name}
case("GET", "/fields", 200, "the organization's fields, in creation order",
     get("/fields"),
     check=lambda c, r, b: expect(
         [f["name"] for f in b["fields"] if f["name"] in c.fields.values()][:4]
         == [c.fields[t] for t in ("string", "number", "boolean", "date")],
         f"fields {[f['name'] for f in b['fields']]}"))
case("GET", "/fields", 401, "no key", get("/fields", auth=None), code="unauthorized")
for t in ("string", "number", "boolean", "date"):
    case("POST", "/fields", 201, f"type {t}",
         post("/fields", lambda c, t=t: {"name": f"oa_{c.run}_new_{t}", "type": t}),
         check=lambda c, r, b, t=t: location_check("/fields/", "field")(c, r, b)
         + expect(b["field"]["type"] == t, f"type {b['field']['type']!r}"))
case("POST", "/fields", 201, "64 characters, charset",
     post("/fields", lambda c: {"name": f"oa_{c.run}_".ljust(64, "z"), "type": "string"},
          ctype="application/json; charset=utf-8"))
for name, raw in [("not JSON", "not json"), ("a JSON array", "[1]"), ("empty body", "")]:
    case("POST", "/fields", 400, name, post("/fields", raw), code="invalid_json")
case("POST", "/fields", 401, "no key", post("/fields", {"name": "x", "type": "string"},
                                            auth=None), code="unauthorized")
case("POST", "/fields", 409, "a name already defined",
     post("/fields", lambda c: {"name": c.fields["string"], "type": "number"}),
     code="field_exists", field="name")
case("POST", "/fields", 413, "70 KiB body", post("/fields", {"name": "x" * BIG, "type": "date"}),
     code="payload_too_large")
case("POST", "/fields", 415, "text/plain",
     post("/fields", {"name": "x", "type": "string"}, ctype="text/plain"),
     code="unsupported_media_type")
for name, body, code, field in [
        ("no name", {"type": "string"}, "missing_field", "name"),
        ("no type", {"name": "x"}, "missing_field", "type"),
        ("name with capitals", {"name": "Tier", "type": "string"}, "invalid_field", "name"),
        ("name empty", {"name": "", "type": "string"}, "invalid_field", "name"),
        ("name 65 characters", {"name": "x" * 65, "type": "string"}, "invalid_field", "name"),
        ("name with a hyphen", {"name": "a-b", "type": "string"}, "invalid_field", "name"),
        ("name null", {"name": None, "type": "string"}, "invalid_field", "name"),
        ("type int", {"name": "x", "type": "int"}, "invalid_field", "type"),
        ("unknown key", {"name": "x", "type": "string", "x": 1}, "unknown_field", "x")]:
    case("POST", "/fields", 422, name, post("/fields", body), code=code, field=field)
def field_with_value(c):
    name = c.new_field("number")
    ct = c.new_contact(**{f"field_{name}": 1})
    return {"name": name, "contact": ct}


def field_gone(c, r, b):
    ct = c.send("GET", f"/contacts/{r.setup['contact']['id']}").json()["contact"]
    return (no_body(c, r, b)
            + expect(r.setup["name"] not in ct["fields"], f"the value stays: {ct['fields']!r}")
            + expect(ct["updated_at"] == r.setup["contact"]["updated_at"], "updated_at changed"))


def deleted_field(c):
    name = c.new_field()
    r = c.send("DELETE", f"/fields/{name}")
    assert r.status == 204, r
    return {"name": name}


case("DELETE", "/fields/{name}", 204, "a field with a value: the value goes",
     then(field_with_value, "DELETE", lambda c, s: f"/fields/{s['name']}"), check=field_gone)
case("DELETE", "/fields/{name}", 401, "no key", req("DELETE", f"/fields/{NO_FIELD}", auth=None),
     code="unauthorized")
case("DELETE", "/fields/{name}", 404, "unknown name", req("DELETE", f"/fields/{NO_FIELD}"),
     code="not_found")
case("DELETE", "/fields/{name}", 404, "deleted already",
     then(deleted_field, "DELETE", lambda c, s: f"/fields/{s['name']}"), code="not_found")


# POST /contacts/bulk
case("POST", "/contacts/bulk", 200, "mixed rows",
     post("/contacts/bulk", lambda c: {"contacts": [
         {"email": c.new_email()}, {"email": "not-an-email"},
         {"email": c.new_email(), "addToLists": [NO_ID]}]}),
     check=lambda c, r, b: expect(b["created"] == 1 and b["failed"] == 2, repr(b)))
case("POST", "/contacts/bulk", 400, "not JSON", post("/contacts/bulk", b"{"),
     code="invalid_json")
case("POST", "/contacts/bulk", 401, "no key",
     post("/contacts/bulk", {"contacts": [{"email": "a@example.com"}]}, auth=None),
     code="unauthorized")
case("POST", "/contacts/bulk", 413, "more than 4 MiB",
     post("/contacts/bulk", {"contacts": [{"email": "a@example.com",
                                           "name": "x" * (4 * 1024 * 1024)}]}),
     code="payload_too_large")
case("POST", "/contacts/bulk", 415, "text/plain",
     post("/contacts/bulk", {"contacts": []}, ctype="text/plain"),
     code="unsupported_media_type")
case("POST", "/contacts/bulk", 422, "no rows", post("/contacts/bulk", {"contacts": []}),
     code="invalid_field", field="contacts")
case("POST", "/contacts/bulk", 422, "1001 rows",
     post("/contacts/bulk", {"contacts": [{"email": "r%d@example.com" % i}
                                          for i in range(1001)]}),
     code="invalid_field", field="contacts")


# GET /contacts/changes
case("GET", "/contacts/changes", 200, "from the start", get("/contacts/changes"))
case("GET", "/contacts/changes", 200, "after a cursor, limit 1",
     get("/contacts/changes", query={"after": "0.0", "limit": "1"}))
case("GET", "/contacts/changes", 400, "malformed cursor",
     get("/contacts/changes", query={"after": "x"}), code="invalid_parameter",
     field="after")
case("GET", "/contacts/changes", 400, "limit 0",
     get("/contacts/changes", query={"limit": "0"}), code="invalid_parameter",
     field="limit")
case("GET", "/contacts/changes", 401, "no key", get("/contacts/changes", auth=None),
     code="unauthorized")

# GET /contacts with eid and updated_since
case("GET", "/contacts", 200, "eid", get("/contacts", query={"eid": "CRM-1"}))
case("GET", "/contacts", 200, "updated_since",
     get("/contacts", query={"updated_since": "2020-01-01T00:00:00Z"}))
case("GET", "/contacts", 400, "malformed updated_since",
     get("/contacts", query={"updated_since": "yesterday"}), code="invalid_parameter",
     field="updated_since")


# 304: every GET again with the ETag its answer carried
def not_modified(concrete, auth="key"):
    def send(c):
        path = concrete(c) if callable(concrete) else concrete
        first = c.send("GET", path, auth=auth)
        tag = first.header("ETag")
        assert first.status == 200 and tag, first
        return c.send("GET", path, auth=auth, headers={"If-None-Match": tag})
    return send


for path, concrete, auth in [
        # (not /metrics: its counters count the request itself)
        ("/healthz", "/healthz", None),
        ("/test", "/test", "key"), ("/contacts", "/contacts", "key"),
        ("/contacts/changes", "/contacts/changes", "key"),
        ("/contacts/{id}", lambda c: f"/contacts/{c.contact_id}", "key"),
        ("/lists", "/lists", "key"),
        ("/lists/{id}", lambda c: f"/lists/{c.list_id}", "key"),
        ("/lists/{id}/contacts", lambda c: f"/lists/{c.list_id}/contacts", "key"),
        ("/fields", "/fields", "key")]:
    case("GET", path, 304, "If-None-Match of its ETag", not_modified(concrete, auth))


# 429: a key of its own limited to 1 request/s (contactsctl key create
# --rate-limit 1), so that a short burst meets the service's own limit and
# the other cases are not slowed down.
BURST = 10


def burst(method, path, body=None):
    def send(c):
        assert c.ctl, "needs CONTACTS_CTL (a key of its own for the burst)"
        key = c.new_key("openapi-burst", rate_limit=1)
        for _ in range(BURST):
            r = c.send(method, body_of(c, path), key=key, body=body_of(c, body))
            if r.status == 429:
                return r
        pytest.fail(f"no 429 after {BURST} requests in a row with a key limited "
                    "to 1 request/s")
    return send


case("GET", "/test", 429, "burst", burst("GET", "/test"), code="rate_limited")
case("GET", "/contacts", 429, "burst", burst("GET", "/contacts", None), code="rate_limited")
case("GET", "/lists", 429, "burst", burst("GET", "/lists"), code="rate_limited")
case("POST", "/contacts", 429, "burst", burst("POST", "/contacts", {}), code="rate_limited")
case("POST", "/lists", 429, "burst", burst("POST", "/lists", {}), code="rate_limited")
# The new operations, each with a request that changes nothing.
for method, path, concrete, body in [
        ("GET", "/contacts/{id}", lambda c: f"/contacts/{c.contact_id}", None),
        ("PATCH", "/contacts/{id}", lambda c: f"/contacts/{c.contact_id}", {}),
        ("DELETE", "/contacts/{id}", f"/contacts/{NO_ID}", None),
        ("DELETE", "/contacts", "/contacts?email=nobody.at.all%40example.com", None),
        ("GET", "/lists/{id}", lambda c: f"/lists/{c.list_id}", None),
        ("PATCH", "/lists/{id}", f"/lists/{NO_ID}", {"name": "x"}),
        ("DELETE", "/lists/{id}", f"/lists/{NO_ID}", None),
        ("GET", "/lists/{id}/contacts", lambda c: f"/lists/{c.list_id}/contacts", None),
        ("GET", "/fields", "/fields", None),
        ("POST", "/fields", "/fields", {}),
        ("DELETE", "/fields/{name}", f"/fields/{NO_FIELD}", None),
        ("DELETE", "/suppressions", "/suppressions?email=nobody.at.all%40example.com", None),
        ("POST", "/contacts/bulk", "/contacts/bulk", {"contacts": []}),
        ("GET", "/contacts/changes", "/contacts/changes", None)]:
    case(method, path, 429, "burst", burst(method, concrete, body), code="rate_limited")


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
            "type": {},
            "erase": {"type": "boolean", "default": False},
            "suppress": {"type": "boolean", "default": False},
            "eid": {"type": "string"},
            "updated_since": {"type": "string"},
            "after": {"type": "string"}}
    want_path = {"id": {"pattern": "^[A-Za-z0-9]{9}$"},
                 "name": {"pattern": "^[a-z0-9_]{1,64}$"}}
    seen = set()
    for path, method, op in oc.operations(DOC):
        params = (oc.deref(DOC, DOC["paths"][path]).get("parameters", [])
                  + op.get("parameters", []))
        in_path = set(re.findall(r"\{([^}]+)\}", path))
        for p in params:
            p = oc.deref(DOC, p)
            schema = oc.deref(DOC, p.get("schema") or {})
            where = f"{method} {path} {p['name']}"
            assert p.get("schema"), where
            if p["in"] == "path":
                assert p["name"] in in_path and p.get("required") is True, where
                in_path.discard(p["name"])
                for k, v in want_path[p["name"]].items():
                    assert schema.get(k) == v, f"{where}: {k}"
                continue
            if p["in"] == "header":
                # Idempotency-Key, If-None-Match: described, not constrained here
                assert p["name"] in ("Idempotency-Key", "If-None-Match"), where
                continue
            assert p["in"] == "query", where
            for k, v in want[p["name"]].items():
                assert schema.get(k) == v, f"{where}: {k}"
            seen.add(p["name"])
        assert not in_path, f"{method} {path}: path parameters not documented: {in_path}"
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
        if method == "GET" and path in ("/contacts", "/lists", "/lists/{id}/contacts") and \
                "Link" not in oc.deref(DOC, op["responses"]["200"]).get("headers", {}):
            bad.append(f"{method} {path} 200: no Link")
        created = oc.deref(DOC, op["responses"].get("201", {}))
        if created and not (created.get("headers") or {}).get("Location"):
            bad.append(f"{method} {path} 201: no Location")
        for status, r in op["responses"].items():
            if str(status) == "204" and oc.deref(DOC, r).get("content"):
                bad.append(f"{method} {path} 204: has content")
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
        want_field = cs.field(c) if callable(cs.field) else cs.field
        if want_field and err.get("field") != want_field:
            problems.append(f"{what}: field {err.get('field')!r}, expected {want_field!r}")
        if not cs.field and cs.code in ("unauthorized", "not_found", "method_not_allowed",
                                        "unsupported_media_type", "payload_too_large",
                                        "invalid_json") and "field" in err:
            problems.append(f"{what}: field {err['field']!r} where no one field is at fault")
    elif cs.code:
        problems.append(f"{what}: expected an error {cs.code}, got {r!r}")
    if cs.check and not problems:
        problems += [f"{what}: {p}" for p in cs.check(c, r, body)]
    return problems


def provoked_statuses():
    """The documented statuses a case provokes here; those that cannot be
    (ALLOWED_UNPROVOKED) are left out rather than skipped, and
    test_unprovoked_statuses_are_only_the_allowed_ones says which."""
    return [s for s in documented_statuses()
            if any((cs.method, cs.path, cs.status) == s for cs in CASES)
            or not allowed_unprovoked(*s)]


def test_unprovoked_statuses_are_only_the_allowed_ones():
    left = [s for s in documented_statuses()
            if not any((cs.method, cs.path, cs.status) == s for cs in CASES)]
    assert all(allowed_unprovoked(*s) for s in left), \
        [s for s in left if not allowed_unprovoked(*s)]
    assert {s[2] for s in left} <= {"404", "410", "500", "503"}, left


@pytest.mark.parametrize("method,path,status", provoked_statuses(),
                         ids=lambda v: str(v))
def test_documented_answer(method, path, status):
    cases = [cs for cs in CASES if (cs.method, cs.path, cs.status) == (method, path, status)]
    if not cases:
        pytest.fail(f"{method} {path} {status} is documented but no case provokes it "
                    "(add one, or an entry in ALLOWED_UNPROVOKED with its reason)",
                    pytrace=False)
    c = ctx()
    problems = []
    for cs in cases:
        problems += check_case(c, cs)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/test", "/contacts", "/lists", f"/contacts/{NO_ID}",
                                  f"/lists/{NO_ID}/contacts", "/fields"])
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


def existing(c, path):
    """A documented path with its parameters filled in with things that exist
    (made afresh: the probe may delete them)."""
    if "{" not in path:
        return path
    if path.startswith("/contacts/"):
        return path.replace("{id}", c.new_contact()["id"])
    if path.startswith("/lists/"):
        return path.replace("{id}", c.new_list())
    if path.startswith("/fields/"):
        return path.replace("{name}", c.new_field())
    raise AssertionError(f"no way to fill in {path}")


def any_filled(path):
    """A documented path with its parameters filled in with well-formed
    values: the route, not the resource (405 comes before the look-up)."""
    return path.replace("{id}", NO_ID).replace("{name}", NO_FIELD)


@pytest.mark.parametrize("method,path", [(m, p) for p, m, _ in oc.operations(DOC)],
                         ids=lambda v: str(v))
def test_documented_operation_exists(method, path):
    c = ctx()
    body = "{}" if method in ("POST", "PUT", "PATCH") else None
    r = c.send(method, existing(c, path), body=body)
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
    r = c.send(method, any_filled(path), auth=auth, body=body)
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
    for documented, item in DOC["paths"].items():
        shapes = {}
        for prm in oc.deref(DOC, item).get("parameters", []):
            prm = oc.deref(DOC, prm)
            shapes[prm["name"]] = oc.deref(DOC, prm["schema"])["pattern"].strip("^$")
        pattern = "".join(f"(?:{shapes[part[1:-1]]})" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}]+\})", documented))
        assert not re.fullmatch(pattern, path), f"{path} is {documented}"
    c = ctx()
    r = c.send(method, path, auth=auth, body="{}" if method == "POST" else None)
    assert r.status == 404, f"{method} {path}: {r!r}"
    spec = DOC["x-undocumented-requests"]["unknownPath"]
    problems, b = oc.check_against(DOC, spec, r, f"{method} {path}")
    assert not problems, "\n".join(problems)
    assert b["error"]["code"] == "not_found", b
