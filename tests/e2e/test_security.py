"""Security properties a client can see, not covered elsewhere: request
text never becomes SQL (values that look like SQL are stored and matched
verbatim), and every answer, the service's and nginx's own, carries the
protective headers and no server version."""

from conftest import request, uniq_email

SQLISH = [
    "Robert'); DROP TABLE contacts;--",
    "x' OR '1'='1",
    "\\'; SELECT pg_sleep(5);--",
    "$1 $$ E'\\\\x00' /* */ --",
]


def test_sql_looking_values_are_plain_data(api):
    lst = api.post("/lists", {"name": SQLISH[0], "type": "customer"})
    assert lst.status == 201 and lst.json["list"]["name"] == SQLISH[0], lst
    for i, text in enumerate(SQLISH):
        email = uniq_email()
        body = {"email": email, "name": text, "company": text,
                "phone": text[:20], "eid": text,
                "addToLists": [lst.json["list"]["id"]]}
        r = api.post("/contacts", body)
        assert r.status == 201, r
        got = api.get("/contacts", params={"email": email}).json["contacts"]
        assert len(got) == 1, got
        for field in ("name", "company", "eid"):
            assert got[0][field] == text, (field, got[0])
        assert got[0]["phone"] == text[:20]
    # an email look-up with SQL in it is refused as an invalid address,
    # and the organization still holds exactly what was written
    r = api.get("/contacts", params={"email": "a' OR '1'='1@example.com"})
    assert r.status in (200, 400), r
    if r.status == 200:
        assert r.json["contacts"] == [], r
    assert len(api.get("/contacts").json["contacts"]) == len(SQLISH)
    counts = {x["id"]: x["count"] for x in api.get("/lists").json["lists"]}
    assert counts[lst.json["list"]["id"]] == len(SQLISH), counts


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def test_every_answer_carries_the_protective_headers(api):
    answers = [
        api.get("/test"),                                   # 200, service
        api.post("/contacts", {"email": uniq_email()}),     # 201, service
        api.post("/contacts", {"email": "nope"}),           # 422, service
        request("GET", "/contacts"),                        # 401, service
        request("DELETE", "/contacts"),                     # 405, service
        request("GET", "/nowhere"),                         # 404, nginx
        request("POST", "/contacts", b"x" * (65 * 1024),
                key=api.key),                               # 413, nginx
        request("GET", "/healthz"),                         # 200, service
    ]
    for r in answers:
        for name, value in HEADERS.items():
            assert r.header(name) == value, (name, r)
        server = r.header("Server") or ""
        assert "/" not in server, "the server version shows: %r" % server
