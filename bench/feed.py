#!/usr/bin/env python3
"""bench/feed.py - F1 (issue 14): a follower of GET /contacts/changes while
S5 runs, and the lag of the feed.

  feed.py URL KEY AFTER SECONDS TAG [--rate 20] [--grace 5]

Two threads, each with its own kept-alive connection, for SECONDS:
  - the follower asks GET /contacts/changes?after=<next>&limit=1000 again
    and again, following next, and when a page is empty asks again after
    5 ms;
  - the probe creates a contact of its own (POST /contacts,
    Lag-TAG-<i>@Bench.Example.com) RATE times a second and notes when each
    answer arrived, with the contact's id.
The lag of a probe write is the time from its answer to the follower's
receiving the page with its create entry (0 if the page came first).
After SECONDS the follower goes on up to GRACE seconds until it has seen
every probe; a probe never seen, an answer that is not 200/201, or an
entry seen twice is an error.  Prints one line:
  FEED {"probes":..,"seen":..,"lag_p50_us":..,"lag_p99_us":..,"entries":..,
        "pages":..,"errors":..,"sample":..}
"""
import http.client, json, sys, threading, time

url, key, after, secs, tag = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
opt = lambda name, d: float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else d
rate, grace = opt("--rate", 20), opt("--grace", 5)
host, port = url.split("//", 1)[1].split(":")
port = int(port)

lock = threading.Lock()
answered, seen = {}, {}  # contact id -> time of the answer / of the page
errors, samples = [0], []
stats = dict(entries=0, pages=0, empty=0)
stop_probe = time.monotonic() + secs
stop_all = stop_probe + grace


def err(msg):
    with lock:
        errors[0] += 1
        if not samples:
            samples.append(msg[:300])


def request(conn, method, path, body=None):
    h = {"X-API-Key": key}
    if body is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body, h)
    r = conn.getresponse()
    return r.status, r.read()


def probe():
    conn = http.client.HTTPConnection(host, port, timeout=10)
    i, t_next = 0, time.monotonic()
    while time.monotonic() < stop_probe:
        i += 1
        body = json.dumps({"email": f"Lag-{tag}-{i}@Bench.Example.com", "name": f"Lag {i}"})
        try:
            st, data = request(conn, "POST", "/contacts", body)
        except Exception as e:
            err(f"probe POST: {e}")
            conn = http.client.HTTPConnection(host, port, timeout=10)
            continue
        t = time.monotonic()
        if st not in (200, 201):
            err(f"probe POST {st} {data[:200]!r}")
        else:
            with lock:
                answered[json.loads(data)["contact"]["id"]] = t
        t_next += 1.0 / rate
        time.sleep(max(0.0, t_next - time.monotonic()))


def follow():
    global after
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while True:
        now = time.monotonic()
        if now > stop_all:
            break
        if now > stop_probe:
            with lock:
                if not pt.is_alive() and set(answered) <= set(seen):
                    break
        try:
            st, data = request(conn, "GET", f"/contacts/changes?after={after}&limit=1000")
        except Exception as e:
            err(f"feed GET: {e}")
            conn = http.client.HTTPConnection(host, port, timeout=10)
            time.sleep(0.05)
            continue
        t = time.monotonic()
        if st != 200:
            err(f"feed GET {st} {data[:200]!r}")
            time.sleep(0.05)
            continue
        d = json.loads(data)
        ch = d["changes"]
        with lock:
            stats["pages"] += 1
            stats["entries"] += len(ch)
            for e in ch:
                if e["op"] == "create" and e["id"] not in seen:
                    seen[e["id"]] = t
        after = d["next"]
        if not ch:
            stats["empty"] += 1
            time.sleep(0.005)


pt = threading.Thread(target=probe)
ft = threading.Thread(target=follow)
t0 = time.monotonic()
pt.start(); ft.start(); pt.join(); ft.join()
lags = sorted(max(0.0, seen[i] - t) for i, t in answered.items() if i in seen)
missing = [i for i in answered if i not in seen]
if missing:
    err(f"{len(missing)} probe writes not seen in the feed within {grace:.0f} s after the run")
pct = lambda q: int(1e6 * lags[min(len(lags) - 1, int(q / 100 * len(lags)))]) if lags else 0
dur = time.monotonic() - t0
print("FEED " + json.dumps(dict(
    probes=len(answered), seen=len(lags), lag_p50_us=pct(50), lag_p99_us=pct(99),
    lag_max_us=int(1e6 * lags[-1]) if lags else 0, entries=stats["entries"],
    pages=stats["pages"], empty_pages=stats["empty"], duration_s=round(dur, 3),
    entries_per_s=round(stats["entries"] / dur, 1), errors=errors[0],
    sample=samples[0] if samples else "")))
