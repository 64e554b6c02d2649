"""What the tests speak to the parts of a stack directly: FastCGI to a
pool's socket (as nginx does), RESP to Redis and the sentinels, and /proc
to find processes.  Shared by tests/e2e (stack.py, private_pool.py) and
tests/cluster (cluster.py); it imports nothing of either.

Standard library only.
"""

import os
import re
import socket
import time

# --------------------------------------------------------------------------
# processes (/proc)


def proc_stat(pid):
    """(state, ppid) of a process, or None when there is none."""
    try:
        with open("/proc/%d/stat" % pid, encoding="latin-1") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return rest[0], int(rest[1])


def running(pid):
    """PID is a process that has not exited (a zombie counts as exited)."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid, encoding="latin-1") as f:
            return f.read().strip()
    except OSError:
        return None


def children(parent):
    """The live children of PARENT, sorted."""
    out = set()
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for n in names:
        if not n.isdigit():
            continue
        st = proc_stat(int(n))
        if st and st[1] == parent and st[0] not in ("Z", "X"):
            out.add(int(n))
    return sorted(out)


def signal_checked(pid, sig, name, parent=None):
    """Sends SIG to PID after checking that it is the process we mean:
    called NAME and, with PARENT, a child of PARENT."""
    assert pid and pid > 1, pid
    assert comm(pid) == name, "pid %s is %r, not %s" % (pid, comm(pid), name)
    if parent is not None:
        st = proc_stat(pid)
        assert st and st[1] == parent, "pid %s is not a child of %s" % (pid, parent)
    os.kill(pid, sig)


def wait_until(pred, timeout, step=0.05):
    """Polls PRED until it is true (returns its value) or TIMEOUT passes
    (returns its last value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


# --------------------------------------------------------------------------
# RESP (Redis, the sentinels)


def redis_cmd(port, *args, timeout=1.0):
    """One command to the Redis (or sentinel) on 127.0.0.1:PORT; returns
    the decoded reply, raises OSError when it does not answer in time or
    answers an error."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"".join(parts))
        return resp_read(s.makefile("rb"))
    finally:
        s.close()


def resp_read(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise OSError("short reply from redis: %r" % line)
    t, v = line[:1], line[1:-2]
    if t == b"+":
        return v.decode()
    if t == b"-":
        raise OSError("redis error: %s" % v.decode())
    if t == b":":
        return int(v)
    if t == b"$":
        n = int(v)
        return None if n < 0 else f.read(n + 2)[:-2]
    if t == b"*":
        n = int(v)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise OSError("bad reply from redis: %r" % line)


# --------------------------------------------------------------------------
# FastCGI, straight to a pool's socket (what nginx does for each request)


def fcgi_record(rtype, content, request_id=1):
    pad = (8 - len(content) % 8) % 8
    return (bytes([1, rtype, request_id >> 8, request_id & 0xFF,
                   len(content) >> 8, len(content) & 0xFF, pad, 0])
            + content + b"\0" * pad)


def fcgi_nv(name, value):
    def length(n):
        return bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def fcgi_message(method, path, query="", body=b"", content_type="",
                 remote_addr="127.0.0.1", request_id="e2e-fcgi", headers=()):
    """The bytes of one FastCGI request, as nginx would send them with the
    site's fastcgi_params; HEADERS: (name, value) pairs of HTTP headers."""
    params = [("REQUEST_METHOD", method), ("DOCUMENT_URI", path),
              ("SCRIPT_NAME", path),
              ("REQUEST_URI", path + ("?" + query if query else "")),
              ("QUERY_STRING", query), ("CONTENT_TYPE", content_type),
              ("CONTENT_LENGTH", str(len(body)) if body else ""),
              ("SERVER_PROTOCOL", "HTTP/1.1"), ("REMOTE_ADDR", remote_addr),
              ("REQUEST_ID", request_id)]
    params += [("HTTP_" + k.upper().replace("-", "_"), v) for k, v in headers]
    msg = (fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0]))  # RESPONDER
           + fcgi_record(4, b"".join(fcgi_nv(k, v) for k, v in params))
           + fcgi_record(4, b""))
    for i in range(0, len(body), 65535):
        msg += fcgi_record(5, body[i:i + 65535])
    return msg + fcgi_record(5, b"")


def fcgi_exchange(s, data):
    """Sends DATA on the connected socket S and reads the answer up to
    FCGI_END_REQUEST; returns (status, headers+body bytes).  Raises
    OSError (EPIPE, ECONNRESET) or EOFError when the pool drops it."""
    s.sendall(data)
    buf = b""
    out = b""
    while True:
        while len(buf) < 8 or len(buf) < 8 + int.from_bytes(
                buf[4:6], "big") + buf[6]:
            c = s.recv(65536)
            if not c:
                raise EOFError("the pool closed the connection after %d "
                               "bytes of answer" % len(out))
            buf += c
        rtype = buf[1]
        clen = int.from_bytes(buf[4:6], "big")
        content = buf[8:8 + clen]
        buf = buf[8 + clen + buf[6]:]
        if rtype == 6:  # STDOUT
            out += content
        elif rtype == 3:  # END_REQUEST
            break
    head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    m = re.search(r"(?im)^Status:\s*(\d{3})", head)
    return (int(m.group(1)) if m else 200), out


def fcgi_call(sock_path, data, timeout=10.0):
    """fcgi_exchange() on a new connection to the unix socket SOCK_PATH."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        return fcgi_exchange(s, data)
    finally:
        s.close()
