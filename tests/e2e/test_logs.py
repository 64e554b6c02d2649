"""No personal data in the logs at the default level (issue 7).

The stack runs at log_level = info, the default: one line per request from
the service, one access-log line per request from nginx.  After requests
that carry an email address, a name, a phone number, a company, a list
name and an API key, in the body, in the query string and in headers, on
successes and on refusals, none of those values is in any log: not in the
service's log, nor in nginx's access or error logs.
"""

import os

import stack
from conftest import request, uniq_email


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
