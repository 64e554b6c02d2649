"""End-to-end fixtures: a small HTTP client and fresh organizations.

The tests talk to a real stack (nginx -> contacts-fcgi -> PostgreSQL/Redis)
named by the environment that scripts/test sets:

  CONTACTS_URL      base URL of nginx, e.g. http://127.0.0.1:18080
  CONTACTS_API_KEY  a key of a first organization
  CONTACTS_CTL      a command running the admin CLI against that stack

Only the standard library and pytest are used.  Every HTTP call has a 10 s
timeout and every request opens its own connection unless a test says
otherwise, so a test sees what a fresh client would see.
"""

import collections
import concurrent.futures
import http.client
import json
import os
import re
import shlex
import socket
import subprocess
import uuid
from urllib.parse import urlencode, urlsplit

import pytest

TIMEOUT = 10.0
CTL_TIMEOUT = 30.0

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ID_RE = re.compile(r"^[A-Za-z0-9]{9}$")

CONTACT_KEYS = {
    "id", "email", "eid", "name", "phone", "company", "type", "status",
    "created_at", "updated_at", "deleted_at", "last_action", "fields",
}
LIST_KEYS = {
    "id", "name", "type", "count", "source", "created_at", "updated_at",
    "deleted_at",
}

# Strings that must never reach a client: SQL, paths, source locations.
LEAK_MARKERS = (
    "SELECT", "INSERT", "UPDATE contacts", "DELETE FROM", "ON CONFLICT",
    "/usr", "/work", "/tmp", "/home", ".c:", ".h:", "ERROR:", "DETAIL:",
    "libpq", "PGRES", "pq_", "Traceback", "segfault", "SIGSEGV",
)


# --------------------------------------------------------------------------
# configuration


def _env(name):
    v = os.environ.get(name)
    return v if v else None


def _base():
    url = _env("CONTACTS_URL")
    if not url:
        return None
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        pytest.fail("CONTACTS_URL=%r is not an http(s) URL" % url,
                    pytrace=False)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname, port


@pytest.fixture(scope="session", autouse=True)
def _stack_configured():
    """Fail, loudly, when the suite is not pointed at a stack.

    A suite that silently skips can hide a broken CI, so an unset
    CONTACTS_URL or CONTACTS_CTL is an error of every test.
    """
    missing = [n for n in ("CONTACTS_URL", "CONTACTS_CTL") if not _env(n)]
    if missing:
        pytest.fail(
            "end-to-end tests need a running stack: %s not set. Run "
            "scripts/test, or see tests/e2e/README.md to run them against "
            "a stack started by scripts/up." % ", ".join(missing),
            pytrace=False)
    _base()


# --------------------------------------------------------------------------
# HTTP


class Resp:
    """One HTTP answer.  Unpacks as (status, headers, body)."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers  # list of (name, value), in order
        self.raw = raw
        self.json = None
        ctype = (self.header("Content-Type") or "").lower()
        if ctype.startswith("application/json") or raw[:1] in (b"{", b"["):
            try:
                self.json = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None
        self.body = self.json if self.json is not None else raw

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def header(self, name):
        """The value of the last header of that name, or None."""
        name = name.lower()
        found = None
        for k, v in self.headers:
            if k.lower() == name:
                found = v
        return found

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def error(self):
        if isinstance(self.json, dict) and isinstance(
                self.json.get("error"), dict):
            return self.json["error"]
        return None

    def __repr__(self):
        raw = self.raw[:600]
        return "<Resp %s %s %r>" % (self.status, self.headers, raw)


USE_DEFAULT = object()


def _encode_body(body, headers):
    if body is None:
        return None
    if isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/json"
    return data


def request(method, path, body=None, headers=None, key=None,
            auth="x-api-key", params=None, source=None):
    """Send one request over a fresh connection; return a Resp.

    body: bytes/str are sent as given, anything else as JSON; unless the
    headers say otherwise a body goes with Content-Type: application/json.
    A header whose value is None is not sent.  key: the API key, sent as
    X-API-Key (auth="x-api-key") or Authorization: Bearer (auth="bearer").
    params: a dict (or list of pairs) appended as a query string.
    source: the local address to connect from (e.g. "127.0.0.2": nginx
    then sees that client address).
    """
    base = _base()
    if base is None:
        pytest.fail("CONTACTS_URL is not set", pytrace=False)
    scheme, host, port = base
    hdrs = dict(headers or {})
    if key is not None:
        if auth == "bearer":
            hdrs.setdefault("Authorization", "Bearer " + key)
        else:
            hdrs.setdefault("X-API-Key", key)
    data = _encode_body(body, hdrs)
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    if params is not None:
        path += ("&" if "?" in path else "?") + urlencode(params)
    cls = (http.client.HTTPSConnection if scheme == "https"
           else http.client.HTTPConnection)
    conn = cls(host, port, timeout=TIMEOUT,
               source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        return Resp(r.status, r.getheaders(), raw)
    finally:
        conn.close()


def raw_request(data, read_timeout=TIMEOUT):
    """Send exact bytes on a fresh socket; parse the one answer.

    The request should say `Connection: close`.  A server that answers
    before reading everything (413) may reset the connection while we
    still send: the answer is read all the same.
    """
    base = _base()
    if base is None:
        pytest.fail("CONTACTS_URL is not set", pytrace=False)
    _, host, port = base
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.settimeout(read_timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        total = 0
        while total < 4 * 1024 * 1024:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
            total += len(c)
            if _complete(b"".join(chunks)):
                break
    finally:
        s.close()
    buf = b"".join(chunks)
    return _parse_raw(buf)


def _split_head(buf):
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None, None
    return buf[:i].decode("latin-1").split("\r\n"), buf[i + 4:]


def _complete(buf):
    lines, rest = _split_head(buf)
    if lines is None:
        return False
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if "content-length" in hdrs:
        return len(rest) >= int(hdrs["content-length"])
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        return rest.endswith(b"0\r\n\r\n")
    return False


def _parse_raw(buf):
    lines, rest = _split_head(buf)
    assert lines is not None, "no complete HTTP answer: %r" % buf[:300]
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    te = [v for k, v in headers if k.lower() == "transfer-encoding"]
    if te and te[-1].lower() == "chunked":
        body = b""
        i = 0
        while i < len(rest):
            j = rest.find(b"\r\n", i)
            n = int(rest[i:j].split(b";")[0], 16)
            if n == 0:
                break
            body += rest[j + 2:j + 2 + n]
            i = j + 2 + n + 2
        rest = body
    return Resp(status, headers, rest)


def host_header():
    _, host, port = _base()
    return "%s:%d" % (host, port)


# --------------------------------------------------------------------------
# assertions shared by the tests


def assert_json(r):
    ctype = (r.header("Content-Type") or "").lower()
    assert ctype.split(";")[0].strip() == "application/json", r
    assert r.json is not None, r


def assert_error(r, status, code=None, field=USE_DEFAULT):
    """r is an error of that status (and code, and field) in the contract's
    shape: {"error":{"code","message"[,"field"]}}, JSON, no leaks."""
    assert r.status == status, r
    assert_json(r)
    assert set(r.json) == {"error"}, r
    err = r.json["error"]
    assert isinstance(err, dict), r
    assert set(err) <= {"code", "message", "field"}, r
    assert isinstance(err.get("code"), str) and err["code"], r
    assert isinstance(err.get("message"), str) and err["message"], r
    if code is not None:
        assert err["code"] == code, r
    if field is None:
        assert "field" not in err, r
    elif field is not USE_DEFAULT:
        assert err.get("field") == field, r
    assert_no_leak(r)
    return err


def assert_no_leak(r):
    text = r.raw.decode("utf-8", "replace")
    for m in LEAK_MARKERS:
        assert m not in text, "answer shows %r: %r" % (m, r)


def assert_contact(c):
    assert isinstance(c, dict), c
    assert set(c) == CONTACT_KEYS, "keys: %r" % sorted(c)
    assert isinstance(c["id"], str) and ID_RE.match(c["id"]), c
    assert isinstance(c["email"], str) and c["email"], c
    for k in ("eid", "name", "phone", "company"):
        assert c[k] is None or isinstance(c[k], str), (k, c)
    assert c["type"] in ("customer", "employee"), c
    assert c["status"] in ("active", "error", "deleted", "unsubscribed"), c
    for k in ("created_at", "updated_at"):
        assert isinstance(c[k], str) and TS_RE.match(c[k]), (k, c)
    assert c["deleted_at"] is None or TS_RE.match(c["deleted_at"]), c
    assert c["last_action"] in (None, "IMPORT_UPDATE", "DELETE"), c
    assert c["updated_at"] >= c["created_at"], c
    assert isinstance(c["fields"], dict), c


def assert_list(lst):
    assert isinstance(lst, dict), lst
    assert set(lst) == LIST_KEYS, "keys: %r" % sorted(lst)
    assert isinstance(lst["id"], str) and ID_RE.match(lst["id"]), lst
    assert isinstance(lst["name"], str), lst
    assert lst["type"] in ("customer", "employee"), lst
    assert isinstance(lst["count"], int) and not isinstance(
        lst["count"], bool) and lst["count"] >= 0, lst
    assert lst["source"] == "list", lst
    for k in ("created_at", "updated_at"):
        assert isinstance(lst[k], str) and TS_RE.match(lst[k]), (k, lst)
    assert lst["deleted_at"] is None or TS_RE.match(lst["deleted_at"]), lst


LINK_RE = re.compile(r'^\s*<([^>]*)>\s*;\s*rel="next"\s*$')


def next_link(r):
    """The target of the answer's Link rel="next", or None."""
    v = r.header("Link")
    if v is None:
        return None
    m = LINK_RE.match(v)
    assert m, "malformed Link header: %r" % v
    return m.group(1)


def uniq_email(prefix="u", domain="example.com"):
    return "%s-%s@%s" % (prefix, uuid.uuid4().hex[:16], domain)


def uniq_name(prefix="n"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


# --------------------------------------------------------------------------
# admin CLI


def ctl(*args, check=True):
    cmd = shlex.split(os.environ["CONTACTS_CTL"]) + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=CTL_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("%s timed out" % " ".join(cmd), pytrace=False)
    if check and p.returncode != 0:
        pytest.fail("%s exited %d: %s" % (" ".join(cmd), p.returncode,
                                          p.stderr.strip()), pytrace=False)
    return p


def key_id_of(key):
    return key.split("_")[1]


class Client:
    """An HTTP client bound to one organization's API key."""

    def __init__(self, org_id, org_name, key, key_name):
        self.org_id = org_id
        self.org_name = org_name
        self.key = key
        self.key_name = key_name

    @property
    def key_id(self):
        return key_id_of(self.key)

    def request(self, method, path, body=None, headers=None, key=USE_DEFAULT,
                **kw):
        if key is USE_DEFAULT:
            key = self.key
        return request(method, path, body=body, headers=headers, key=key, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    # contacts

    def upsert(self, body, expect=None):
        """POST /contacts that must succeed; returns the parsed answer."""
        r = self.post("/contacts", body)
        assert r.status in ((expect,) if expect else (200, 201)), r
        assert_json(r)
        assert set(r.json) == {"contact", "action", "listsUpdated", "listsRemoved"}, r
        assert_contact(r.json["contact"])
        return r.json

    def create(self, email=None, **fields):
        body = dict(fields)
        body["email"] = email or uniq_email()
        return self.upsert(body, expect=201)["contact"]

    def find(self, email, **params):
        """GET /contacts?email=... -> the list of contacts."""
        p = {"email": email}
        p.update(params)
        r = self.get("/contacts", params=p)
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"contacts"}, r
        assert len(r.json["contacts"]) <= 1, r
        for c in r.json["contacts"]:
            assert_contact(c)
        return r.json["contacts"]

    def one(self, email):
        found = self.find(email)
        assert len(found) == 1, found
        return found[0]

    def page(self, **params):
        r = self.get("/contacts", params=params or None)
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"contacts"}, r
        for c in r.json["contacts"]:
            assert_contact(c)
        return r

    def all_contacts(self, max_pages=20):
        """Every contact, following Link rel=next (bounded)."""
        out = []
        path = "/contacts"
        for _ in range(max_pages):
            r = self.get(path)
            assert r.status == 200, r
            out.extend(r.json["contacts"])
            path = next_link(r)
            if path is None:
                return out
        pytest.fail("more than %d pages" % max_pages)

    # lists

    def new_list(self, name=None, type=None):
        body = {"name": uniq_name("list") if name is None else name}
        if type is not None:
            body["type"] = type
        r = self.post("/lists", body)
        assert r.status == 201, r
        assert_json(r)
        assert set(r.json) == {"list"}, r
        assert_list(r.json["list"])
        return r.json["list"]

    def lists(self, **params):
        r = self.get("/lists", params=params or None)
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"lists"}, r
        for lst in r.json["lists"]:
            assert_list(lst)
        return r.json["lists"]

    def list_by_id(self, list_id):
        for lst in self.lists():
            if lst["id"] == list_id:
                return lst
        pytest.fail("list %s not in GET /lists" % list_id)

    # Round 2: one contact by id, DELETE, PATCH, lists by id, fields

    def delete(self, path, body=None, params=None, expect=200):
        """DELETE PATH (a contact id, or a path starting with /).  With
        expect=200 the answer must be {"contact"}: the contact is returned;
        with 204 the answer must be empty; otherwise the Resp."""
        if not path.startswith("/"):
            path = "/contacts/" + path
        r = self.request("DELETE", path, body=body, params=params)
        if expect == 200:
            assert r.status == 200, r
            assert_json(r)
            assert set(r.json) == {"contact"}, r
            assert_contact(r.json["contact"])
            return r.json["contact"]
        if expect == 204:
            assert r.status == 204 and r.raw == b"", r
            return r
        assert r.status == expect, r
        return r

    def erase(self, contact_id, suppress=False):
        """DELETE /contacts/{id}?erase=true[&suppress=true], must be 204."""
        params = {"erase": "true"}
        if suppress:
            params["suppress"] = "true"
        return self.delete(contact_id, params=params, expect=204)

    def patch(self, contact_id, body):
        """PATCH /contacts/{id} that must succeed; the parsed answer
        {"contact","listsUpdated","listsRemoved"}."""
        r = self.request("PATCH", "/contacts/" + contact_id, body=body)
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"contact", "listsUpdated", "listsRemoved"}, r
        assert_contact(r.json["contact"])
        return r.json

    def get_contact(self, contact_id):
        """GET /contacts/{id} that must be 200; the contact."""
        r = self.get("/contacts/" + contact_id)
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"contact"}, r
        assert_contact(r.json["contact"])
        return r.json["contact"]

    def all_contacts_all(self, max_pages=20):
        """Every contact with includeAll=true, following Link (bounded)."""
        out = []
        path = "/contacts?includeAll=true"
        for _ in range(max_pages):
            r = self.get(path)
            assert r.status == 200, r
            for c in r.json["contacts"]:
                assert_contact(c)
            out.extend(r.json["contacts"])
            path = next_link(r)
            if path is None:
                return out
        pytest.fail("more than %d pages" % max_pages)

    def get_list(self, list_id):
        """GET /lists/{id} that must be 200; the list."""
        r = self.get("/lists/" + list_id)
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"list"}, r
        assert_list(r.json["list"])
        return r.json["list"]

    def members(self, list_id, max_pages=50, **params):
        """Every member of a list, following Link rel=next (bounded)."""
        out = []
        r = self.get("/lists/%s/contacts" % list_id, params=params or None)
        for _ in range(max_pages):
            assert r.status == 200, r
            assert_json(r)
            assert set(r.json) == {"contacts"}, r
            for c in r.json["contacts"]:
                assert_contact(c)
            out.extend(r.json["contacts"])
            nxt = next_link(r)
            if nxt is None:
                return out
            r = self.get(nxt)
        pytest.fail("more than %d pages" % max_pages)

    def new_field(self, name, type):
        """POST /fields that must be 201; the field."""
        r = self.post("/fields", {"name": name, "type": type})
        assert r.status == 201, r
        assert_json(r)
        assert set(r.json) == {"field"}, r
        f = r.json["field"]
        assert set(f) == {"name", "type", "created_at"}, f
        assert (f["name"], f["type"]) == (name, type), f
        assert TS_RE.match(f["created_at"]), f
        return f

    def fields(self):
        r = self.get("/fields")
        assert r.status == 200, r
        assert_json(r)
        assert set(r.json) == {"fields"}, r
        return r.json["fields"]

    def state(self):
        """Everything a refused write must leave as it was: every contact
        (includeAll), every list and every field definition."""
        return {"contacts": self.all_contacts_all(), "lists": self.lists(),
                "fields": self.fields()}


def new_org(name=None, key_name=None):
    """A fresh organization with one key, through the admin CLI."""
    name = name or uniq_name("org")
    org_id = ctl("org", "create", name).stdout.strip()
    assert ID_RE.match(org_id), "org create printed %r" % org_id
    key_name = key_name or uniq_name("key")
    key = ctl("key", "create", org_id, "--name", key_name).stdout.strip()
    assert key.startswith("ck_") and len(key.split("_")) >= 3, \
        "key create printed %r" % key
    return Client(org_id, name, key, key_name)


class _OrgPool:
    """Organizations made ahead of need, a few at a time in threads: the
    admin CLI takes a fraction of a second, mostly waiting, and nearly
    every test wants a fresh organization.  Each is handed out once."""

    AHEAD = 4

    def __init__(self):
        self.ex = None
        self.ready = collections.deque()

    def get(self):
        if self.ex is None:
            self.ex = concurrent.futures.ThreadPoolExecutor(3)
        while len(self.ready) < self.AHEAD + 1:
            self.ready.append(self.ex.submit(new_org))
        return self.ready.popleft().result(timeout=2 * CTL_TIMEOUT)

    def close(self):
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=True)
            self.ex = None
            self.ready.clear()


_org_pool = _OrgPool()


def fresh_org():
    """A fresh organization with one key (from the pool made ahead)."""
    return _org_pool.get()


def settle_org_pool():
    """Lets the organizations being made ahead finish: a test that stops
    PostgreSQL calls it first, or one made during the outage fails
    whichever later test it is handed to."""
    for f in list(_org_pool.ready):
        f.exception(timeout=2 * CTL_TIMEOUT)


@pytest.fixture(scope="session", autouse=True)
def _close_org_pool(_stack_configured):
    yield
    _org_pool.close()


def new_key(org_id, key_name=None):
    key_name = key_name or uniq_name("key")
    return ctl("key", "create", org_id, "--name", key_name).stdout.strip()


@pytest.fixture
def api():
    """A client of a fresh organization (one per test)."""
    return fresh_org()


@pytest.fixture
def api_b():
    """A client of a second fresh organization (one per test)."""
    return fresh_org()


@pytest.fixture(scope="module")
def mod_api():
    """A client of a fresh organization shared by one test module: for
    tables of refusals that each check that nothing was written."""
    return fresh_org()


@pytest.fixture
def make_org():
    """A factory of fresh organizations: make_org() or
    make_org(name=..., key_name=...)."""
    def make(name=None, key_name=None):
        if name is None and key_name is None:
            return fresh_org()
        return new_org(name, key_name)
    return make
