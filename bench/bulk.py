#!/usr/bin/env python3
"""bench/bulk.py - B1/B2 (issue 13): contacts through POST /contacts/bulk,
and the rows of their limit as SQL for psql.

  bulk.py post URL KEY COUNT TAG [--change] [--clients 4] [--timeout S]
      COUNT contacts Bulk-TAG-<p>@Bench.Example.com (p = 1..COUNT) in rows
      of 1000, sent by CLIENTS threads (one kept-alive connection each),
      each taking the next chunk.  --change: the same rows with the name
      changed in every tenth one (p % 10 == 0), the rest as they were.
      Every answer must be 200 with failed = 0; the counts are summed and
      checked: B1 all created, B2 one tenth updated, the rest unchanged.
      Prints one line: BENCH {...} (requests = contacts, rps = contacts/s,
      p50/p99 of the requests).

  bulk.py sql ORG COUNT TAG BASE POS0 CLIENTS DIR
      The same COUNT rows (as B1 sends them) as one multi-row
      INSERT ... ON CONFLICT per 1000 rows, with the columns of
      bench/seed.sql (pos POS0 + p, id base62(BASE + p)), dealt to CLIENTS
      files DIR/limit.<i>.sql the way the clients above take chunks.
"""
import http.client, json, os, re, sys, threading, time

CHUNK = 1000


def row(tag, p, change=False):
    name = f"Bulk {p}" + (" changed" if change and p % 10 == 0 else "")
    return dict(email=f"Bulk-{tag}-{p}@Bench.Example.com", eid=f"B{tag}-{p}", name=name,
                phone="+1 555 %07d" % (p % 10000000), company=f"Company {p % 1000}",
                type="employee" if p % 10 == 0 else "customer")


# The counts that end every 200 answer; the answer is parsed whole only
# when a row failed (the client shares the service's cores: its own work
# is kept out of the timed part, bodies built before the clock starts).
COUNTS = re.compile(rb'"created":(\d+),"updated":(\d+),"unchanged":(\d+),"failed":(\d+)\}\s*$')


def chunks(count):
    return [(a, min(count, a + CHUNK - 1)) for a in range(1, count + 1, CHUNK)]


def post(url, key, count, tag, change, clients, timeout):
    host, port = url.split("//", 1)[1].split(":")
    todo = [json.dumps(dict(contacts=[row(tag, p, change) for p in range(a, b + 1)]),
                       separators=(",", ":")).encode() for a, b in chunks(count)]
    lock = threading.Lock()
    lat, errs, samples = [], [0], []
    tot = dict(created=0, updated=0, unchanged=0, failed=0)
    deadline = time.monotonic() + timeout

    def worker():
        conn = None
        while True:
            with lock:
                if not todo:
                    return
                body = todo.pop(0)
            if time.monotonic() > deadline:
                with lock:
                    errs[0] += 1
                    if not samples:
                        samples.append(f"not sent: over the {timeout} s bound")
                continue
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=60)
                conn.request("POST", "/contacts/bulk", body,
                             {"X-API-Key": key, "Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                status = r.status
            except Exception as e:  # a broken connection: counted, and a new one
                conn = None
                status, data = 0, str(e).encode()
            dt = time.monotonic() - t0
            with lock:
                lat.append(dt)
                if status != 200:
                    errs[0] += 1
                    if not samples:
                        samples.append(f"{status} {data[:300].decode(errors='replace')}")
                    continue
                m = COUNTS.search(data[-200:])
                d = (dict(zip(("created", "updated", "unchanged", "failed"), map(int, m.groups())))
                     if m and m.group(4) == b"0" else json.loads(data))
                for k in tot:
                    tot[k] += d.get(k, 0)
                if d.get("failed"):
                    errs[0] += 1
                    if not samples:
                        bad = [x for x in d.get("results", []) if "error" in x][:2]
                        samples.append(f"200 with failed={d['failed']}: {json.dumps(bad)[:300]}")

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    want = (dict(created=count, updated=0, unchanged=0) if not change else
            dict(created=0, updated=count // 10, unchanged=count - count // 10))
    got = {k: tot[k] for k in want}
    if got != want and not errs[0]:
        errs[0] += 1
        samples.append(f"counts {got}, expected {want}")
    lat.sort()
    pct = lambda q: int(1e6 * lat[min(len(lat) - 1, int(q / 100 * len(lat)))]) if lat else 0
    print("BENCH " + json.dumps(dict(
        requests=count, duration_s=round(secs, 3), rps=round(count / secs, 1),
        http_requests=len(lat), p50_us=pct(50), p90_us=pct(90), p99_us=pct(99),
        errors=errs[0], sample=samples[0] if samples else "", **tot)))


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(v):
    s = ""
    for _ in range(9):
        s = B62[v % 62] + s
        v //= 62
    return s


def sql(org, count, tag, base, pos0, clients, out):
    q = lambda s: "'" + s.replace("'", "''") + "'"
    files = [open(os.path.join(out, f"limit.{i}.sql"), "w") for i in range(clients)]
    for f in files:
        f.write("\\set ON_ERROR_STOP on\n\\timing on\n")
    for k, (a, b) in enumerate(chunks(count)):
        vals = []
        for p in range(a, b + 1):
            r = row(tag, p)
            vals.append(f"({q(org)},{pos0 + p},{q(b62(base + p))},{q(r['email'])},"
                        f"{q(r['email'].lower())},{q(r['eid'])},{q(r['name'])},{q(r['phone'])},"
                        f"{q(r['company'])},{q(r['type'])},'active',now(),now())")
        files[k % clients].write(
            "INSERT INTO contacts (org_id, pos, id, email, email_key, eid, name, phone, company,\n"
            "                      type, status, created_at, updated_at)\nVALUES " +
            ",\n".join(vals) +
            "\nON CONFLICT (org_id, email_key) DO UPDATE SET eid = excluded.eid, name = excluded.name,"
            " phone = excluded.phone, company = excluded.company, type = excluded.type,"
            " updated_at = excluded.updated_at;\n")
    for f in files:
        f.close()


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "post":
        change = "--change" in a
        clients = int(a[a.index("--clients") + 1]) if "--clients" in a else 4
        timeout = float(a[a.index("--timeout") + 1]) if "--timeout" in a else 300
        post(a[1], a[2], int(a[3]), a[4], change, clients, timeout)
    elif a and a[0] == "sql" and len(a) == 8:
        sql(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]), a[7])
    else:
        sys.exit(__doc__)
