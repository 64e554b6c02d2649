"""The service's logs.

No personal data at the default level (issue 7).  The stack runs at
log_level = info, the default: a line per request from the service (every
error, a sample of the successes: access_log), one access-log line per
request from nginx.  After requests that carry an email address, a name, a
phone number, a company, a list name and an API key, in the body, in the
query string and in headers, on successes and on refusals, none of those
values is in any log: not in the service's log, nor in nginx's access or
error logs.

What an operator searches (issue 16): every line parses as logfmt
key=value pairs whatever its values hold (quoted, escaped); request lines
carry the request id (the client's own when valid), the organization, the
key id and the error code; only a sample of the successes is logged, so
that journald keeps up at full load; and a line written to the journal
starts with its syslog priority.  The journal is simulated as sd-daemon
defines it: $JOURNAL_STREAM names the device and inode of stderr.  Those
tests run a pool of their own (one worker, its own socket, a database that
is not there) and talk FastCGI to it straight.
"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

import stack
from conftest import ctl, request, uniq_email


def _sizes(paths):
    return {p: (os.path.getsize(p) if os.path.exists(p) else 0) for p in paths}


def _since(sizes):
    out = {}
    for p, n in sizes.items():
        try:
            with open(p, "rb") as f:
                f.seek(n)
                out[p] = f.read().decode("utf-8", "replace")
        except OSError:
            out[p] = ""
    return out


def test_no_personal_data_in_any_log(api):
    logs = [stack.path("contacts-fcgi.log"),
            stack.path("nginx/logs/contacts-access.log"),
            stack.path("nginx/logs/access.log"),
            stack.path("nginx/logs/error.log")]
    assert stack.config().get("log_level", "info") == "info"
    before = _sizes(logs)

    email = uniq_email().replace("@", ".PrivateMail@")
    secret = {
        "email": email,
        "name": "Zebulon Privatename",
        "phone": "+41 79 555 12 34",
        "company": "Secretive Holdings",
        "list": "Private List Xyzzy",
    }
    lst = api.post("/lists", {"name": secret["list"], "type": "customer"})
    assert lst.status == 201, lst
    body = {"email": email, "name": secret["name"], "phone": secret["phone"],
            "company": secret["company"], "addToLists": [lst.json["list"]["id"]]}
    r = api.post("/contacts", body)
    assert r.status == 201, r
    # reads with the address in the query string: a hit and a miss
    for _ in range(2):
        assert api.get("/contacts", params={"email": email}).status == 200
    # refusals that echo nothing back to the logs either
    bad = dict(body, email=email + "@@")
    assert api.post("/contacts", bad).status == 422
    assert api.get("/contacts", params={"email": email + "@@"}).status == 400
    assert request("GET", "/contacts", params={"email": email},
                   key="ck_AAAAAAAAA_" + "s" * 43).status == 401
    assert api.post("/contacts", b'{"email": "%s", "name": ' %
                    email.encode()).status == 400

    written = _since(before)
    service = written[logs[0]]
    assert "route=" in service, "the service logged no request line"
    assert "contacts" in written[logs[1]], "nginx logged no request line"
    values = list(secret.values()) + [email.split("@")[0], api.key,
                                      api.key.split("_")[2]]
    for path, text in written.items():
        for v in values:
            assert v not in text, "%r found in %s" % (v, path)



# --------------------------------------------------------------------------
# reading logfmt lines

PAIR_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\\x00-\x1f\x7f]|\\["\\nrt]'
                     r'|\\x[0-9a-f]{2})*"|[^\s"=]+)')
ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def _unquote(v):
    if not v.startswith('"'):
        return v
    out, i, v = bytearray(), 0, v[1:-1]
    while i < len(v):
        if v[i] == "\\":
            if v[i + 1] == "x":
                out.append(int(v[i + 2:i + 4], 16))
                i += 4
                continue
            out += ESCAPES[v[i + 1]].encode()
            i += 2
            continue
        out += v[i].encode("utf-8")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def parse(line):
    """(priority or None, {key: value}) of one line; fails the test when any
    part of the line is not a key=value pair."""
    prio = None
    m = re.match(r"^<([0-7])>", line)
    if m:
        prio = int(m.group(1))
        line = line[m.end():]
    fields, pos = {}, 0
    while pos < len(line):
        m = PAIR_RE.match(line, pos)
        assert m, "not logfmt at %d: %r" % (pos, line)
        fields[m.group(1)] = _unquote(m.group(2))
        pos = m.end()
        if pos < len(line):
            assert line[pos] == " ", "not logfmt at %d: %r" % (pos, line)
            pos += 1
    return prio, fields


def lines_with(lines, key, value):
    out = []
    for line in lines:
        _, f = parse(line)
        if f.get(key) == value:
            out.append(f)
    return out


def wait_lines(offset, pred, timeout=5.0):
    """The pool's log lines since OFFSET, once PRED(lines) holds (or the
    timeout passes): a request line is written after the answer."""
    return stack.wait_until(
        lambda: (lambda ls: ls if pred(ls) else None)(stack.log_lines_since(offset)),
        timeout) or stack.log_lines_since(offset)


def rid(tag):
    return "logs-%s-%s" % (tag, uuid.uuid4().hex[:12])


# --------------------------------------------------------------------------
# request lines of the stack's pool


def test_request_lines_carry_org_key_id_and_error_code(api):
    log0 = stack.log_size()
    ids = {k: rid(k) for k in ("bad", "422", "401", "429", "nul")}
    assert api.get("/contacts", params={"limit": "0"},
                   headers={"X-Request-Id": ids["bad"]}).status == 400
    assert api.post("/contacts", {"email": "nope"},
                    headers={"X-Request-Id": ids["422"]}).status == 422
    assert request("GET", "/lists", key="ck_AAAAAAAAA_" + "s" * 43,
                   headers={"X-Request-Id": ids["401"]}).status == 401
    assert api.get("/contacts?email=%00%40example.com",
                   headers={"X-Request-Id": ids["nul"]}).status == 400
    limited = ctl("key", "create", api.org_id, "--name", "one",
                  "--rate-limit", "1").stdout.strip()
    for _ in range(5):
        r = request("GET", "/test", key=limited,
                    headers={"X-Request-Id": ids["429"]})
        if r.status == 429:
            break
    assert r.status == 429, r

    lines = wait_lines(log0, lambda ls: all(
        lines_with(ls, "request_id", i) for i in ids.values()))
    want = {
        "bad": ("GET", "GET /contacts", "400", "invalid_parameter", api.key_id),
        "422": ("POST", "POST /contacts", "422", "invalid_field", api.key_id),
        "nul": ("GET", "GET /contacts", "400", "invalid_parameter", api.key_id),
        "401": ("GET", "GET /lists", "401", "unauthorized", None),
        "429": ("GET", "GET /test", "429", "rate_limited", limited.split("_")[1]),
    }
    for tag, (method, route, status, code, key_id) in want.items():
        found = lines_with(lines, "request_id", ids[tag])
        assert found, "no line for %s in %r" % (tag, lines[-20:])
        f = found[-1]
        assert (f["method"], f["route"], f["status"], f["error_code"]) == \
            (method, route, status, code), f
        assert float(f["duration_ms"]) >= 0, f
        if key_id:
            assert f["org"] == api.org_id and f["key_id"] == key_id, f
        else:
            assert "org" not in f and "key_id" not in f, f
    text = "\n".join(lines)
    assert api.key not in text and api.key.split("_")[2] not in text
    assert limited.split("_")[2] not in text


def test_a_malformed_client_request_id_is_not_what_is_logged(api):
    log0 = stack.log_size()
    bad = "bad id " + uuid.uuid4().hex
    r = api.get("/contacts", params={"limit": "0"}, headers={"X-Request-Id": bad})
    made = r.header("X-Request-Id")
    assert made != bad and re.fullmatch(r"[0-9a-f]{32}", made), r
    lines = wait_lines(log0, lambda ls: lines_with(ls, "request_id", made))
    assert lines_with(lines, "request_id", made), lines[-10:]
    assert uuid.UUID(bad.split()[-1]).hex not in "\n".join(lines)


def test_lines_in_a_file_are_plain_logfmt(api):
    """stderr is a file here, not the journal: no priority prefix, and every
    line, whatever it logged, is key=value pairs."""
    log0 = stack.log_size()
    api.get("/contacts", params={"limit": "0"})
    lines = wait_lines(log0, lambda ls: ls)
    assert lines
    for line in lines:
        prio, f = parse(line)
        assert prio is None and line.startswith("ts="), line
        assert {"ts", "level", "pid"} <= set(f), line


def test_every_error_is_logged_and_one_success_in_a_hundred(api):
    """The default access_log (sample:100): each worker logs the first of
    every hundred successes it answers, and every error.  Over 1000
    successes and 20 errors spread over the workers, that is 10 success
    lines give or take one per worker, and all 20 errors."""
    import concurrent.futures
    assert "access_log" not in stack.config()
    n_workers = stack.worker_count()
    tag = rid("sample")
    log0 = stack.log_size()

    def ok(i):
        return request("GET", "/healthz",
                       headers={"X-Request-Id": "%s-ok-%d" % (tag, i)}).status

    def err(i):
        return api.get("/contacts", params={"limit": "0"},
                       headers={"X-Request-Id": "%s-err-%d" % (tag, i)}).status

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        assert set(ex.map(ok, range(1000))) == {200}
        assert set(ex.map(err, range(20))) == {400}
    lines = wait_lines(log0, lambda ls: sum(
        ("%s-err-" % tag) in line for line in ls) == 20)
    oks = [line for line in lines if ('"%s-ok-' % tag) in line]
    errs = [line for line in lines if ('"%s-err-' % tag) in line]
    assert len(errs) == 20, errs
    assert 10 - n_workers <= len(oks) <= 10 + n_workers, (len(oks), oks)
    for line in oks:
        _, f = parse(line)
        assert f["status"] == "200" and f["route"] == "GET /healthz", f


# --------------------------------------------------------------------------
# a pool of its own, its stderr standing in for the journal


def _bin():
    d = os.environ.get("BIN_DIR") or os.path.join(stack.REPO, "fcgi-app")
    return os.path.join(d, "contacts-fcgi")


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SidePool:
    """contacts-fcgi with one worker on a socket of its own, PostgreSQL
    unreachable (a closed port), stderr to a file that JOURNAL_STREAM
    names (or not)."""

    def __init__(self, journal=True, extra=""):
        self.dir = tempfile.mkdtemp(prefix="cf-logs-", dir="/tmp")
        self.sock = os.path.join(self.dir, "s.sock")
        self.conf = os.path.join(self.dir, "run.conf")
        self.log = os.path.join(self.dir, "stderr.log")
        self.base = ("database = host=127.0.0.1 port=%d dbname=contacts user=x\n"
                     "redis =\nworkers = 1\nlisten = %s\nlisten_mode = 0600\n"
                     "log_level = debug\nauth_cache_ms = 0\n"
                     % (_closed_port(), self.sock))
        self.write_conf(extra)
        self.proc = None
        self.journal = journal

    def write_conf(self, extra):
        with open(self.conf + ".tmp", "w") as f:
            f.write(self.base + extra)
        os.replace(self.conf + ".tmp", self.conf)

    def start(self, wait=True):
        out = open(self.log, "ab")
        st = os.fstat(out.fileno())
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        for k in list(env):
            if k.startswith("CONTACTS_"):
                del env[k]
        if self.journal is True:
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        elif self.journal:
            env["JOURNAL_STREAM"] = self.journal
        self.proc = subprocess.Popen([_bin(), "-c", self.conf], env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=out,
                                     start_new_session=True)
        out.close()
        if wait:
            assert stack.wait_until(
                lambda: 'msg="worker ready"' in self.text(), 10), self.text()
        return self

    def text(self):
        with open(self.log, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()

    def lines(self):
        return self.text().splitlines()

    def get(self, path, request_id):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            return stack.fcgi_exchange(s, stack.fcgi_get(path, request_id))[0]
        finally:
            s.close()

    def wait_for(self, pred, timeout=10):
        return stack.wait_until(lambda: pred(self.lines()), timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


@pytest.fixture
def side_pool():
    pools = []

    def make(**kw):
        p = SidePool(**kw)
        pools.append(p)
        return p
    yield make
    for p in pools:
        p.stop()


def _request_lines(lines, prefix):
    out = []
    for line in lines:
        prio, f = parse(line)
        if f.get("request_id", "").startswith(prefix):
            out.append((prio, f))
    return out


def test_journal_lines_carry_their_priority(side_pool):
    p = side_pool(extra="access_log = sample:10\n").start()
    tag = rid("j")
    for i in range(30):
        assert p.get("/metrics", "%s-ok-%d" % (tag, i)) == 200
    for i in range(3):
        assert p.get("/nope", "%s-404-%d" % (tag, i)) == 404
    assert p.get("/healthz", "%s-503" % tag) == 503
    assert p.wait_for(lambda ls: len(_request_lines(ls, tag)) >= 7)
    lines = p.lines()
    for line in lines:  # every line, master's and worker's, is prefixed
        prio, f = parse(line)
        assert prio == {"error": 3, "warn": 4, "info": 6, "debug": 7}[f["level"]], line
    got = _request_lines(lines, tag)
    # one success in ten, the first one included; every error
    assert [f["request_id"] for _, f in got] == \
        ["%s-ok-%d" % (tag, i) for i in (0, 10, 20)] + \
        ["%s-404-%d" % (tag, i) for i in range(3)] + ["%s-503" % tag], got
    assert all(prio == 6 for prio, f in got[:6]), got
    assert got[3][1]["error_code"] == "not_found" and got[3][1]["status"] == "404"
    # a 5xx is an error: journalctl -p err finds it
    assert got[6][0] == 3 and got[6][1]["status"] == "503", got[6]
    # PostgreSQL unreachable is a warning; the pool's start is info
    assert any(parse(line)[0] == 4 and "postgresql" in parse(line)[1]["msg"]
               for line in lines), lines
    assert (6, "pool started") in [(prio, f.get("msg"))
                                   for prio, f in map(parse, lines)], lines


def test_a_request_id_nginx_did_not_check_is_replaced(side_pool):
    p = side_pool().start()
    bad = 'bad id\n"x=1 ' + uuid.uuid4().hex
    assert p.get("/nope", bad) == 404
    assert p.wait_for(lambda ls: any("not_found" in line for line in ls))
    found = [f for _, f in (parse(line) for line in p.lines())
             if f.get("error_code") == "not_found"]
    assert len(found) == 1, found
    assert re.fullmatch(r"[A-Za-z0-9]{32}", found[0]["request_id"]), found
    assert bad.split()[-1] not in p.text()


def test_values_are_quoted_and_escaped(side_pool):
    """The refused reload of the issue: the error names the setting in
    quotes, and stays one field that parses back to the message."""
    p = side_pool().start()
    p.write_conf('access_log = all\nwrokers = 4\n')
    p.proc.send_signal(signal.SIGHUP)
    assert p.wait_for(lambda ls: any("reload refused" in line for line in ls))
    line = [line for line in p.lines() if "reload refused" in line][0]
    prio, f = parse(line)
    assert prio == 3 and f["level"] == "error", line
    assert f["error"] == '%s:9: unknown setting "wrokers"' % p.conf, line
    assert 'error="%s:9: unknown setting \\"wrokers\\""' % p.conf in line


def test_access_log_setting_takes_effect_on_reload(side_pool):
    """access_log = all logs every success, errors none of them; a reload
    starts a worker with the new setting."""
    p = side_pool(extra="access_log = errors\n").start()
    tag = rid("mode")
    for i in range(5):
        assert p.get("/metrics", "%s-e-%d" % (tag, i)) == 200
    assert p.get("/nope", "%s-e-404" % tag) == 404
    assert p.wait_for(lambda ls: _request_lines(ls, tag + "-e-404"))
    assert [f["request_id"] for _, f in _request_lines(p.lines(), tag)] == \
        ["%s-e-404" % tag]

    old = [f["pid"] for _, f in (parse(line) for line in p.lines())
           if f.get("msg") == "worker ready"]
    p.write_conf("access_log = all\n")
    p.proc.send_signal(signal.SIGHUP)
    assert p.wait_for(lambda ls: any(
        'msg="worker exited"' in line and "worker_pid=%s " % old[0] in line
        for line in ls)), p.lines()[-10:]
    for i in range(5):
        assert p.get("/metrics", "%s-a-%d" % (tag, i)) == 200
    assert p.wait_for(lambda ls: len(_request_lines(ls, tag + "-a-")) == 5)


@pytest.mark.parametrize("journal", [True, "1:1", None])
def test_a_path_with_quotes_is_one_field(side_pool, journal):
    """A pid file that cannot be written, at a path with a quote, a
    backslash and spaces: one warning, the path escaped; with the priority
    only when stderr is the journal (JOURNAL_STREAM naming another file, or
    unset: plain lines)."""
    p = side_pool(journal=journal)
    bad = os.path.join(p.dir, 'no such "dir" \\ here', "pid")
    p.write_conf("pid_file = %s\n" % bad)
    p.start()
    lines = [line for line in p.lines() if "cannot write the pid file" in line]
    assert len(lines) == 1, p.lines()
    prio, f = parse(lines[0])
    assert f["path"] == bad and f["level"] == "warn", lines
    assert f["error"] == "No such file or directory", lines
    assert prio == (4 if journal is True else None), lines
    for line in p.lines():
        assert line.startswith("<") == (journal is True), line
