"""Helpers to find, stop and start parts of the stack under test.

The cache and pool tests stop Redis, pause it, kill workers and stop the
pool.  They only ever signal processes whose pids are recorded in the
stack's run directory ($CONTACTS_RUN_DIR: redis.pid, contacts-fcgi.pid)
and whose name (/proc/PID/comm) is the expected one, or the children of
that pool master: never anything else.

Starting a part again is done by scripts/lib.sh itself (redis_start,
app_start), with the settings read back from the stack's own
contacts.conf, so that a restarted part is started exactly the way
scripts/up and scripts/test start it (same port, same flags, same
configuration file).

Standard library only.
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from conftest import request
import wire

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIB_SH = os.path.join(REPO, "scripts", "lib.sh")

REDIS_NAME = "redis-server"
POOL_NAME = "contacts-fcgi"


# --------------------------------------------------------------------------
# the run directory and the stack's configuration


def run_dir():
    d = os.environ.get("CONTACTS_RUN_DIR")
    if not d or not os.path.isdir(d):
        pytest.fail("these tests stop and start parts of the stack: they "
                    "need CONTACTS_RUN_DIR (the stack's run directory, as "
                    "scripts/test sets it)", pytrace=False)
    return os.path.realpath(d)


def path(name):
    return os.path.join(run_dir(), name)


def config():
    """contacts.conf of the stack as a dict (key = value lines)."""
    out = {}
    with open(path("contacts.conf"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def redis_port():
    addr = config().get("redis", "")
    m = re.match(r"^(.*):(\d+)$", addr)
    if m:
        return int(m.group(2))
    if os.environ.get("REDIS_PORT"):
        return int(os.environ["REDIS_PORT"])
    pytest.fail("no Redis address in %s" % path("contacts.conf"),
                pytrace=False)


def pg_port():
    m = re.search(r"\bport=(\d+)", config().get("database", ""))
    if m:
        return int(m.group(1))
    return int(os.environ.get("PG_PORT", "54329"))


def conninfo():
    return config()["database"]


def worker_count():
    """The configured number of workers (what the pool must keep)."""
    n = int(config().get("workers", "0"))
    if n <= 0:
        pytest.fail("contacts.conf does not set workers", pytrace=False)
    return n


def http_port():
    u = urlsplit(os.environ["CONTACTS_URL"])
    return u.port or 80


# --------------------------------------------------------------------------
# processes (/proc)


_stat = wire.proc_stat
running = wire.running
comm = wire.comm


def pid_of(filename, name):
    """The pid in the run dir's FILENAME when that process is alive and
    is called NAME, else None (a stale pid file never names another
    process)."""
    try:
        with open(path(filename), encoding="ascii") as f:
            pid = int(f.readline().strip())
    except (OSError, ValueError):
        return None
    if pid > 1 and running(pid) and comm(pid) == name:
        return pid
    return None


children = wire.children
wait_until = wire.wait_until


def wait_gone(pids, timeout):
    return wait_until(lambda: not any(running(p) for p in pids), timeout)


signal_checked = wire.signal_checked


def lib_sh(function, extra_env=None, timeout=120):
    """Runs FUNCTION of scripts/lib.sh for this stack, the way scripts/up
    and scripts/test do; the settings come from the stack's contacts.conf
    so that the part starts on the same ports with the same
    configuration."""
    if not os.path.isfile(LIB_SH):
        pytest.fail("no %s" % LIB_SH, pytrace=False)
    env = dict(os.environ)
    env.update({
        "RUN_DIR": run_dir(),
        "PORT": str(http_port()),
        "PG_PORT": str(pg_port()),
        "REDIS_PORT": str(redis_port()),
        "WORKERS": str(worker_count()),
        "NO_INSTALL": "1",
    })
    env.update(extra_env or {})
    script = ('set -euo pipefail; . "$1"; check_settings; set_paths; '
              + function)
    p = subprocess.run(["bash", "-c", script, "stack.py", LIB_SH], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        pytest.fail("scripts/lib.sh %s exited %d:\n%s%s" % (
            function, p.returncode, p.stdout, p.stderr), pytrace=False)
    return p.stdout


# --------------------------------------------------------------------------
# Redis


def redis_pid():
    return pid_of("redis.pid", REDIS_NAME)


def redis_cmd(*args, timeout=1.0):
    """One command to the stack's Redis (RESP over TCP); returns the
    decoded reply, raises OSError when Redis does not answer in time."""
    return wire.redis_cmd(redis_port(), *args, timeout=timeout)


def redis_answers():
    try:
        return redis_cmd("PING", timeout=0.5) == "PONG"
    except (OSError, ValueError):
        return False


def redis_stop(timeout=20):
    """SIGTERM to the pid in redis.pid; waits until it has exited."""
    pid = redis_pid()
    assert pid, "Redis of the stack is not running (%s)" % path("redis.pid")
    signal_checked(pid, signal.SIGTERM, REDIS_NAME)
    assert wait_gone([pid], timeout), "redis %d did not stop" % pid
    return pid


def redis_start():
    """Starts Redis exactly as scripts/lib.sh does (its redis_start: same
    port, no persistence, volatile-lru), unless it runs already."""
    lib_sh("redis_start")
    assert wait_until(redis_answers, 10), "redis does not answer PING"
    return redis_pid()


def redis_pause():
    pid = redis_pid()
    assert pid, "Redis of the stack is not running"
    signal_checked(pid, signal.SIGSTOP, REDIS_NAME)
    assert wait_until(lambda: (_stat(pid) or ("?",))[0] == "T", 5), \
        "redis %d did not stop (SIGSTOP)" % pid
    return pid


def redis_resume(pid):
    if pid and comm(pid) == REDIS_NAME:
        os.kill(pid, signal.SIGCONT)
    assert wait_until(redis_answers, 10), "redis does not answer after SIGCONT"


def ensure_redis():
    """Leaves Redis running and answering, whatever a test did to it."""
    pid = redis_pid()
    if pid and (_stat(pid) or ("?",))[0] == "T":
        os.kill(pid, signal.SIGCONT)
    if not redis_answers():
        redis_start()


# --------------------------------------------------------------------------
# the pool


def pool_pid():
    return pid_of("contacts-fcgi.pid", POOL_NAME)


def workers(master=None):
    """The live workers of the pool master (its contacts-fcgi children)."""
    master = master or pool_pid()
    if not master:
        return []
    return [p for p in children(master) if comm(p) == POOL_NAME]


def pool_start():
    """Starts the pool exactly as scripts/lib.sh does (app_start: the same
    configuration file, rewritten with the same settings, setsid, the log
    in the run dir), unless it runs already; waits until it answers."""
    lib_sh("app_start")
    master = pool_pid()
    assert master, "the pool did not start"
    n = worker_count()
    assert wait_until(lambda: len(workers(master)) == n, 10), \
        "the pool has %d workers, not %d" % (len(workers(master)), n)
    wait_healthy()
    return master


def ensure_pool():
    if not pool_pid():
        pool_start()


def wait_healthy(timeout=30):
    def ok():
        try:
            return request("GET", "/healthz").status == 200
        except OSError:
            return False
    assert wait_until(ok, timeout, step=0.2), "GET /healthz is not 200"


def log_lines_since(offset):
    """Lines of the pool's log written after byte OFFSET."""
    try:
        with open(path("contacts-fcgi.log"), "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def log_size():
    try:
        return os.path.getsize(path("contacts-fcgi.log"))
    except OSError:
        return 0


# --------------------------------------------------------------------------
# /metrics


# Label values are quoted strings and may hold braces ("GET /contacts/{id}").
METRIC_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?'
    r'\s+(\S+)$')


HOST_LABEL_RE = re.compile(r'^\{host="([A-Za-z0-9._-]+)",?')


def metrics(with_host=False):
    """GET /metrics parsed: {name or name{labels}: float}.  Every sample
    carries host="..." first (the pool's host_name); it is left out of the
    keys unless with_host, and must be the same on every line."""
    r = request("GET", "/metrics")
    assert r.status == 200, r
    out = {}
    hosts = set()
    for line in r.raw.decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_RE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = m.group(2) or ""
        h = HOST_LABEL_RE.match(labels)
        assert h, "a sample without its host label: %r" % line
        hosts.add(h.group(1))
        if not with_host:
            rest = labels[h.end():]
            labels = "{" + rest if rest != "}" else ""
        out[m.group(1) + labels] = float(m.group(3))
    assert len(hosts) == 1, hosts
    return out


def cache_counters():
    m = metrics()
    return {k: int(m["contacts_cache_%s_total" % k])
            for k in ("hits", "misses", "errors")}


# --------------------------------------------------------------------------
# PostgreSQL: a row lock held from outside, to keep a request in flight


def psql_bin():
    p = shutil.which("psql")
    if p:
        return p
    for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        cand = os.path.join("/usr/lib/postgresql", d, "bin", "psql")
        if os.access(cand, os.X_OK):
            return cand
    pytest.fail("psql not found", pytrace=False)


class RowLock:
    """Holds `SELECT ... FOR UPDATE` on one contact in an open transaction
    of a psql session, so that a write of that contact waits (stays in
    flight in its worker) until release()."""

    def __init__(self, org_id, contact_id):
        assert re.match(r"^[A-Za-z0-9]{9}$", org_id), org_id
        assert re.match(r"^[A-Za-z0-9]{9}$", contact_id), contact_id
        self.proc = subprocess.Popen(
            [psql_bin(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-d", conninfo()],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        self._send("BEGIN;\n"
                   "SELECT id FROM contacts WHERE org_id = '%s' AND id = '%s'"
                   " FOR UPDATE;\n"
                   "SELECT 'LOCKED';\n" % (org_id, contact_id))
        got = self._read_until("LOCKED", 15)
        assert contact_id in got, "the row was not locked: %r" % got

    def _send(self, text):
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def _read_until(self, marker, timeout):
        """Reads psql's output (unbuffered, from the pipe itself) until a
        line equal to MARKER; returns the lines."""
        fd = self.proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [x.strip() for x in data.decode("utf-8", "replace")
                     .split("\n")]
            if marker in lines:
                return lines
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
        err = ""
        if self.proc.poll() is not None:
            err = self.proc.stderr.read()
        pytest.fail("psql: no %r within %ss: %r %s" % (marker, timeout, data,
                                                        err), pytrace=False)

    def release(self):
        if self.proc is None:
            return
        try:
            self._send("COMMIT;\n\\q\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5)
        finally:
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


# --------------------------------------------------------------------------
# FastCGI, straight to the pool's socket (what nginx does for each request)


def fcgi_get(path, request_id="e2e-fcgi"):
    """The bytes of a FastCGI GET of PATH (no body), as nginx would send
    them with the site's fastcgi_params."""
    return wire.fcgi_message("GET", path, request_id=request_id)


def fcgi_connect(timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(config()["listen"])
    return s


fcgi_exchange = wire.fcgi_exchange
