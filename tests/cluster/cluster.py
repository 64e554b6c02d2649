"""The loopback cluster of scripts/cluster, as the fault tests see it.

Everything is found through the files scripts/cluster writes under its
CLUSTER_DIR (url, api-key, the pid files) and the port layout it
documents (base B: B nginx, B+10/B+11 PostgreSQL pg1/pg2, B+20/B+21
their Patroni REST APIs, B+30/B+31 Redis, B+40..B+42 the sentinels).  A
process is signalled only after its pid file names it and /proc says it
has the expected name (and, for a pool's workers, that their parent is
that pool's master): never anything else.

Standard library only.
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "scripts", "cluster")

# the wire protocols, shared with tests/e2e (which has nothing else that
# can be imported from here: its modules import its conftest by name)
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import wire  # noqa: E402

POOLS = (1, 2, 3)
MEMBERS = (1, 2)
REDISES = (1, 2)
SENTINELS = (1, 2, 3)
MASTER_NAME = "contacts"


# --------------------------------------------------------------------------
# processes (/proc)


_stat = wire.proc_stat
running = wire.running
comm = wire.comm
children = wire.children
wait_until = wire.wait_until
redis_cmd = wire.redis_cmd


def state(pid):
    st = _stat(pid)
    return st[0] if st else None


signal_checked = wire.signal_checked


# --------------------------------------------------------------------------
# the cluster


class Cluster:
    def __init__(self, directory, port_base, env):
        self.dir = directory
        self.base = port_base
        self.env = env
        self.url = None
        self.key = None

    # scripts/cluster ------------------------------------------------------

    def script(self, command, timeout=300):
        """scripts/cluster COMMAND; its output, or an AssertionError."""
        p = subprocess.run([SCRIPT, command], env=self.env, timeout=timeout,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True)
        assert p.returncode == 0, "scripts/cluster %s exited %d:\n%s%s" % (
            command, p.returncode, p.stdout[-4000:], p.stderr[-4000:])
        return p.stdout

    def up(self):
        """Starts what is not running (scripts/cluster up is idempotent),
        then waits until the cluster is whole again: a primary with a
        streaming synchronous replica, a Redis replica linked to the
        master the sentinels name, every pool with its workers."""
        self.script("up")
        with open(self.path("url"), encoding="ascii") as f:
            self.url = f.read().strip()
        with open(self.path("api-key"), encoding="ascii") as f:
            self.key = f.read().strip()
        assert wait_until(self.pg_replicated, 120, 0.5), \
            "PostgreSQL: no streaming synchronous replica (%s)" % self.patroni_members()
        assert wait_until(self.redis_replicated, 60, 0.2), \
            "Redis: the replica is not linked to the master"
        for n in POOLS:
            assert wait_until(lambda n=n: len(self.pool_workers(n)) == self.workers, 20), \
                "pool%d has not all its workers" % n

    @property
    def workers(self):
        return int(self.env.get("CLUSTER_WORKERS", "3"))

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def pid_of(self, filename, name):
        try:
            with open(self.path(filename), encoding="ascii") as f:
                pid = int(f.readline().strip())
        except (OSError, ValueError):
            return None
        if pid > 1 and running(pid) and comm(pid) == name:
            return pid
        return None

    # ports ------------------------------------------------------------------

    def pg_port(self, n):
        return self.base + 9 + n

    def rest_port(self, n):
        return self.base + 19 + n

    def redis_port(self, n):
        return self.base + 29 + n

    def sentinel_port(self, n):
        return self.base + 39 + n

    # HTTP through nginx -------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=10.0):
        """(status, headers dict with lower-case names, parsed JSON or
        bytes).  status 0: no answer (a connection error)."""
        u = urllib.parse.urlsplit(self.url)
        h = {"X-API-Key": self.key}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        except (OSError, http.client.HTTPException):
            return 0, {}, b""
        finally:
            conn.close()
        try:
            return r.status, hdrs, json.loads(raw)
        except ValueError:
            return r.status, hdrs, raw

    def ctl(self, *args):
        p = subprocess.run(
            [os.path.join(self.env.get("BIN_DIR") or os.path.join(REPO, "fcgi-app"),
                          "contactsctl"),
             "-c", self.path("pool1", "contacts.conf")] + list(args),
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout.strip()

    def new_org(self, name):
        """A fresh organization and a key of it: (org id, key)."""
        org = self.ctl("org", "create", name)
        key = self.ctl("key", "create", org, "--name", name)
        assert key.startswith("ck_"), key
        return org, key

    # PostgreSQL and Patroni ---------------------------------------------------

    def patroni(self, n, path="/patroni"):
        """(status, JSON) of Patroni's REST API of member N; (0, None) when
        it does not answer."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (
                    self.rest_port(n), path), timeout=2) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read() or b"null")
            except ValueError:
                return e.code, None
        except (OSError, ValueError):
            return 0, None

    def pg_primary(self):
        """The member Patroni says is the primary, or None."""
        for n in MEMBERS:
            if self.patroni(n, "/primary")[0] == 200:
                return n
        return None

    def patroni_members(self):
        return {n: (self.patroni(n)[1] or {}).get("role") for n in MEMBERS}

    def pg_replicated(self):
        """The primary streams to the other member, its synchronous
        standby."""
        p = self.pg_primary()
        if p is None:
            return False
        d = self.patroni(p)[1] or {}
        return any(r.get("state") == "streaming" and r.get("sync_state") == "sync"
                   for r in d.get("replication") or [])

    def postmaster_pid(self, n):
        return self.pid_of(os.path.join("pg%d" % n, "data", "postmaster.pid"),
                           "postgres")

    def psql(self, sql, timeout=30):
        """SQL on the primary, as postgres, in the database contacts;
        the rows as lists of fields."""
        p = self.pg_primary()
        assert p is not None, "no PostgreSQL primary"
        out = subprocess.run(
            [psql_bin(), "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.pg_port(p)), "-U", "postgres",
             "-d", "contacts", "-c", sql],
            capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr
        return [line.split("\t") for line in out.stdout.splitlines()]

    # Redis ------------------------------------------------------------------

    def redis_cmd(self, port, *args, timeout=1.0):
        return redis_cmd(port, *args, timeout=timeout)

    def sentinel_master_port(self):
        for s in SENTINELS:
            try:
                r = redis_cmd(self.sentinel_port(s), "SENTINEL",
                              "get-master-addr-by-name", MASTER_NAME)
            except OSError:
                continue
            if r:
                return int(r[1])
        return None

    def redis_info(self, port):
        try:
            text = redis_cmd(port, "INFO", "replication").decode()
        except (OSError, AttributeError):
            return {}
        return dict(line.split(":", 1) for line in text.split("\r\n")
                    if ":" in line)

    def redis_master(self):
        """The Redis (1 or 2) the sentinels name as master, when it says it
        is one."""
        port = self.sentinel_master_port()
        for n in REDISES:
            if self.redis_port(n) == port and \
                    self.redis_info(port).get("role") == "master":
                return n
        return None

    def redis_replicated(self):
        m = self.redis_master()
        if m is None:
            return False
        other = [n for n in REDISES if n != m][0]
        info = self.redis_info(self.redis_port(other))
        return info.get("role") == "slave" and \
            info.get("master_link_status") == "up" and \
            info.get("master_port") == str(self.redis_port(m))

    def redis_pid(self, n):
        return self.pid_of("redis%d.pid" % n, "redis-server")

    # the pools --------------------------------------------------------------

    def pool_pid(self, n):
        return self.pid_of("pool%d.pid" % n, "contacts-fcgi")

    def pool_workers(self, n):
        m = self.pool_pid(n)
        return [p for p in children(m) if comm(p) == "contacts-fcgi"] if m else []

    def kill_pool(self, n):
        """SIGKILL to pool N's master and every worker of it, at once: the
        master stopped first (SIGSTOP), so that it respawns none and its
        workers are still its children when they are killed."""
        m = self.pool_pid(n)
        assert m, "pool%d is not running" % n
        signal_checked(m, signal.SIGSTOP, "contacts-fcgi")
        procs = self.pool_workers(n)
        for w in procs:
            signal_checked(w, signal.SIGKILL, "contacts-fcgi", parent=m)
        signal_checked(m, signal.SIGKILL, "contacts-fcgi")
        assert wait_until(lambda: not any(running(p) for p in [m] + procs), 10), \
            "pool%d: still there: %s" % (n, [(p, _stat(p)) for p in [m] + procs
                                             if running(p)])

    def pool_log(self, n):
        try:
            with open(self.path("pool%d" % n, "pool.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def nginx_access_log(self):
        with open(self.path("nginx", "logs", "contacts-access.log"),
                  encoding="utf-8", errors="replace") as f:
            return f.read()

    def fcgi(self, n, method, path, query="", key=None, timeout=10.0):
        """One request straight to pool N's socket, as nginx would pass it:
        (status, body bytes)."""
        return fcgi_request(self.path("pool%d" % n, "fcgi.sock"), method, path,
                            query, key or self.key, timeout)


class RowLock:
    """Holds SELECT ... FOR UPDATE on one contact in an open transaction of
    a psql session on the primary (application_name cluster-test-lock),
    for at most HOLD seconds, so that a write of that contact waits in its
    worker; release() cancels the session's sleep, which ends the
    transaction."""

    NAME = "cluster-test-lock"
    HOLD = 30

    def __init__(self, cluster, org_id, contact_id):
        assert org_id.isalnum() and contact_id.isalnum(), (org_id, contact_id)
        self.cluster = cluster
        p = cluster.pg_primary()
        self.proc = subprocess.Popen(
            [psql_bin(), "-X", "-q", "-At", "-h", "127.0.0.1", "-p",
             str(cluster.pg_port(p)), "-U", "postgres",
             "dbname=contacts application_name=" + self.NAME],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, text=True)
        self.proc.stdin.write(
            "BEGIN;\nSELECT id FROM contacts WHERE org_id = '%s' AND id = '%s' "
            "FOR UPDATE;\nSELECT pg_sleep(%d);\nCOMMIT;\n" % (org_id, contact_id,
                                                             self.HOLD))
        self.proc.stdin.close()
        assert wait_until(lambda: cluster.psql(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = '%s' "
            "AND query LIKE '%%pg_sleep%%'" % self.NAME), 15, 0.1), \
            "psql did not lock the row"

    def release(self):
        if self.proc is None:
            return
        self.cluster.psql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = '%s'" % self.NAME)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def psql_bin():
    p = shutil.which("psql")
    if p:
        return p
    for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        cand = os.path.join("/usr/lib/postgresql", d, "bin", "psql")
        if os.access(cand, os.X_OK):
            return cand
    raise AssertionError("psql not found")


# --------------------------------------------------------------------------
# FastCGI straight to a pool's socket (tests/e2e/wire.py)


def fcgi_request(sock, method, path, query, key, timeout):
    msg = wire.fcgi_message(method, path, query=query, request_id="cluster-fcgi",
                            headers=[("X-API-Key", key)] if key else [])
    status, out = wire.fcgi_call(sock, msg, timeout=timeout)
    return status, out.partition(b"\r\n\r\n")[2]
