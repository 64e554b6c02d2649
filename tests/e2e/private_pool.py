"""A second pool of the stack's contacts-fcgi, private to one test.

Started with a configuration of its own (a socket in a temporary
directory, the stack's PostgreSQL, settings the test chooses) and, when
asked, a systemd notification socket of the test's, so that a test can
watch what the master tells systemd (READY, RELOADING, WATCHDOG) and try
settings (statement_timeout) without touching the stack's own pool.
Requests go to its socket directly, as nginx would send them.

It is stopped (SIGTERM to the master it started, by pid) when the test
leaves the `with` block.  Standard library only.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import stack
import wire

BIN_DIR = os.environ.get("BIN_DIR") or os.path.join(stack.REPO, "fcgi-app")
BINARY = os.path.join(BIN_DIR, "contacts-fcgi")


class PrivatePool:
    def __init__(self, settings=None, notify=False, watchdog_usec=None,
                 env=None):
        self.dir = tempfile.mkdtemp(prefix="ct-pool-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "fcgi.sock")
        self.conf = os.path.join(self.dir, "contacts.conf")
        self.log = os.path.join(self.dir, "pool.log")
        self.settings = {
            "database": stack.conninfo(),
            "redis": "",
            "workers": "2",
            "listen": self.sock,
            "pid_file": os.path.join(self.dir, "pid"),
            "auth_fail_exempt": "127.0.0.1 ::1",
            "key_rate_limit": "0",
        }
        self.settings.update(settings or {})
        self.write_config()
        self.notify = None
        extra_env = env
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CONTACTS_")}
        if notify:
            path = os.path.join(self.dir, "notify")
            self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.notify.bind(path)
            env["NOTIFY_SOCKET"] = path
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        env.update(extra_env or {})
        self.messages = []  # (monotonic time, datagram)
        self.proc = subprocess.Popen(
            [BINARY, "-c", self.conf], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
            start_new_session=True)
        ok = stack.wait_until(
            lambda: os.path.exists(self.sock) and len(self.workers()) == int(
                self.settings["workers"]), 15)
        if not ok:
            self.stop()
            raise AssertionError("the private pool did not start:\n" +
                                 self.log_text())

    # configuration -------------------------------------------------------

    def write_config(self, extra=""):
        with open(self.conf + ".tmp", "w", encoding="utf-8") as f:
            for k, v in self.settings.items():
                f.write("%s = %s\n" % (k, v))
            f.write(extra)
        os.replace(self.conf + ".tmp", self.conf)

    # processes -------------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid

    def workers(self):
        return [p for p in stack.children(self.proc.pid)
                if stack.comm(p) == stack.POOL_NAME]

    def reload(self, config=None, env=None, timeout=60):
        """contacts-fcgi [-c CONFIG] --reload PID: (exit status, stderr)."""
        cmd = [BINARY, "-c", config or self.conf, "--reload", str(self.pid)]
        e = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTS_")}
        e.update(env or {})
        p = subprocess.run(cmd, env=e, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def stop(self):
        if self.proc.poll() is None:
            assert stack.comm(self.proc.pid) == stack.POOL_NAME
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.notify is not None:
            self.notify.close()
            self.notify = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # sd_notify -------------------------------------------------------------

    def read_notify(self, seconds):
        """Collects the master's datagrams for SECONDS; returns them all."""
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return self.messages
            self.notify.settimeout(min(left, 0.05))
            try:
                data = self.notify.recv(4096).decode("utf-8", "replace")
                self.messages.append((time.monotonic(), data))
            except socket.timeout:
                pass

    # FastCGI -------------------------------------------------------------

    def request(self, method, path, query="", key=None, body=b"",
                content_type="", timeout=10.0, remote_addr="127.0.0.1",
                headers=None):
        """One request straight to the pool's socket, as from remote_addr,
        with the request headers given (a dict): (status, headers dict with
        lower-case names, body bytes)."""
        hdrs = ([("X-API-Key", key)] if key else []) + list((headers or {}).items())
        msg = wire.fcgi_message(method, path, query=query, body=body,
                                content_type=content_type,
                                remote_addr=remote_addr,
                                request_id="e2e-private-pool", headers=hdrs)
        status, out = wire.fcgi_call(self.sock, msg, timeout=timeout)
        head, _, rest = out.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers, rest
