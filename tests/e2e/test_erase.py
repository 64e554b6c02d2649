"""Erasure (the GDPR right to erasure) and suppression, from the contract
(API.md "Round 2", "Erase"; the lead's decisions):

- DELETE /contacts/{id}?erase=true (and the ?email= and body forms): 204,
  and afterwards the id is 404 everywhere, the contact is in no page (not
  even with includeAll), no look-up, no list, no count;
- with &suppress=true later creates of the email are refused 409
  suppressed (POST, PATCH to it), case-insensitively, until DELETE
  /suppressions lifts it;
- nothing of the contact's personal data is left in any PostgreSQL table
  or any Redis key or value, even after the cache held it;
- the suppression hash is keyed per organization.
"""

import hashlib
import uuid

import pytest

import stack
from conftest import assert_error, uniq_email
from test_states import sql  # noqa: F401  (the psql fixture)


def ids(cs):
    return [c["id"] for c in cs]


def q(s):
    """A SQL string literal (the values here are made by the tests)."""
    return "'" + s.replace("'", "''") + "'"


def assert_gone(api, c, lists=()):
    """C was erased: no read of the API shows it."""
    assert_error(api.get("/contacts/" + c["id"]), 404, "not_found")
    assert_error(api.request("PATCH", "/contacts/" + c["id"],
                             body={"name": "x"}), 404, "not_found")
    assert_error(api.request("DELETE", "/contacts/" + c["id"]), 404,
                 "not_found")
    assert_error(api.request("DELETE", "/contacts/" + c["id"],
                             params={"erase": "true"}), 404, "not_found")
    for e in (c["email"], c["email"].upper()):
        assert api.find(e) == []
        assert api.find(e, includeAll="true") == []
    assert c["id"] not in ids(api.all_contacts())
    assert c["id"] not in ids(api.all_contacts_all())
    for lid in lists:
        assert c["id"] not in ids(api.members(lid))
        assert c["id"] not in ids(api.members(lid, includeAll="true"))


# --------------------------------------------------------------------------
# erase


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_erase_forms(api, sql, form):
    lst = api.new_list()
    keep = api.create(addToLists=[lst["id"]])
    c = api.create(name="Erase Me", addToLists=[lst["id"]])
    assert api.get_list(lst["id"])["count"] == 2
    if form == "id":
        r = api.request("DELETE", "/contacts/" + c["id"],
                        params={"erase": "true"})
    elif form == "query":
        r = api.request("DELETE", "/contacts",
                        params={"email": c["email"].upper(), "erase": "true"})
    else:
        r = api.request("DELETE", "/contacts?erase=true",
                        body={"email": c["email"].upper()})
    assert r.status == 204, r
    assert r.raw == b"", r
    assert_gone(api, c, [lst["id"]])
    assert api.get_list(lst["id"])["count"] == 1
    assert ids(api.members(lst["id"], includeAll="true")) == [keep["id"]]
    assert api.get_contact(keep["id"]) == keep
    # in PostgreSQL: no row of the contact, no membership
    assert sql("SELECT count(*) FROM contacts WHERE org_id = %s AND id = %s"
               % (q(api.org_id), q(c["id"]))).strip() == "0"
    assert sql("SELECT count(*) FROM list_members WHERE org_id = %s AND "
               "contact_id = %s" % (q(api.org_id), q(c["id"]))).strip() == "0"


def test_erase_a_deleted_contact(api):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    api.delete(c["id"])
    assert api.get_list(lst["id"])["count"] == 0
    api.erase(c["id"])
    assert_gone(api, c, [lst["id"]])
    assert api.get_list(lst["id"])["count"] == 0


def test_erase_unknown(api, api_b):
    c = api.create()
    before = api.state()
    for path, params, body in (
            ("/contacts/ZZZZZZZZZ", {"erase": "true"}, None),
            ("/contacts/abc", {"erase": "true"}, None),
            ("/contacts/" + c["id"], {"erase": "true", "suppress": "true"},
             None),
            ("/contacts", {"email": uniq_email(), "erase": "true"}, None),
            ("/contacts", {"erase": "true"}, {"email": uniq_email()})):
        if path.endswith(c["id"]):
            r = api_b.request("DELETE", path, params=params, body=body)
        else:
            r = api.request("DELETE", path, params=params, body=body)
        assert_error(r, 404, "not_found")
    assert api.state() == before


def test_erase_twice(api):
    c = api.create()
    api.erase(c["id"])
    assert_error(api.request("DELETE", "/contacts/" + c["id"],
                             params={"erase": "true"}), 404, "not_found")


def test_erased_email_may_come_back_as_a_new_contact(api):
    a = api.create()
    c = api.create(name="Old")
    b = api.create()
    api.erase(c["id"])
    again = api.create(email=c["email"])
    assert again["id"] != c["id"]
    assert again["name"] is None
    assert again["created_at"] >= b["created_at"]
    # a new contact comes last in the creation order
    assert ids(api.all_contacts()) == [a["id"], b["id"], again["id"]]


@pytest.mark.parametrize("params,field", [
    ({"suppress": "true"}, "suppress"),
    ({"erase": "false", "suppress": "true"}, "suppress"),
    ({"erase": "maybe"}, "erase"),
    ({"erase": "TRUE1"}, "erase"),
    ({"erase": ""}, "erase"),
    ({"erase": "true", "suppress": "maybe"}, "suppress"),
])
def test_erase_parameters_refused(api, params, field):
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])
    before = api.state()
    for path, p, body in (("/contacts/" + c["id"], params, None),
                          ("/contacts", dict(params, email=c["email"]), None),
                          ("/contacts", params, {"email": c["email"]})):
        r = api.request("DELETE", path, params=p, body=body)
        assert_error(r, 400, "invalid_parameter", field)
    assert api.state() == before
    # and nothing is suppressed
    api.erase(c["id"])
    assert api.create(email=c["email"])["email"] == c["email"]


def test_erase_false_is_a_soft_delete(api):
    c = api.create()
    d = api.delete(c["id"], params={"erase": "false"})
    assert d["status"] == "deleted"
    assert api.get_contact(c["id"]) == d


# --------------------------------------------------------------------------
# suppression


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_suppress_refuses_later_creates(api, form):
    c = api.create(email=uniq_email("Supp"))
    other = api.create()
    if form == "id":
        api.erase(c["id"], suppress=True)
    elif form == "query":
        api.delete("/contacts", params={"email": c["email"], "erase": "true",
                                        "suppress": "true"}, expect=204)
    else:
        api.delete("/contacts", params={"erase": "true", "suppress": "true"},
                   body={"email": c["email"]}, expect=204)
    before = api.state()
    email = c["email"]
    for e in (email, email.upper(), email.lower(), "  %s " % email):
        r = api.post("/contacts", {"email": e, "name": "again"})
        assert_error(r, 409, "suppressed", "email")
        r = api.request("PATCH", "/contacts/" + other["id"],
                        body={"email": e, "name": "not written"})
        assert_error(r, 409, "suppressed", "email")
        assert api.find(e.strip(), includeAll="true") == []
    assert api.state() == before
    assert_gone(api, c)


def test_suppressed_create_with_lists_writes_nothing(api):
    lst = api.new_list()
    c = api.create()
    api.erase(c["id"], suppress=True)
    before = api.state()
    r = api.post("/contacts", {"email": c["email"], "addToLists": [lst["id"]]})
    assert_error(r, 409, "suppressed", "email")
    assert api.state() == before
    assert api.get_list(lst["id"])["count"] == 0


def test_suppression_is_per_organization(api, api_b):
    email = uniq_email("both")
    a = api.create(email=email)
    b = api_b.create(email=email)
    api.erase(a["id"], suppress=True)
    # B's contact of the same email is untouched, and B may create it anew
    assert api_b.get_contact(b["id"]) == b
    api_b.erase(b["id"])
    assert api_b.create(email=email)["email"] == email
    assert_error(api.post("/contacts", {"email": email}), 409, "suppressed",
                 "email")
    assert_error(api_b.request("DELETE", "/suppressions",
                               params={"email": email}), 404, "not_found")


def test_lifting_a_suppression(api):
    c = api.create(email=uniq_email("Lift"))
    api.erase(c["id"], suppress=True)
    # lifted by its email in any case
    r = api.request("DELETE", "/suppressions",
                    params={"email": c["email"].upper()})
    assert r.status == 204 and r.raw == b"", r
    # not suppressed any more: 404, and the email may be created again
    assert_error(api.request("DELETE", "/suppressions",
                             params={"email": c["email"]}), 404, "not_found")
    again = api.create(email=c["email"])
    assert again["id"] != c["id"]
    # suppressed again by erasing it again
    api.erase(again["id"], suppress=True)
    assert_error(api.post("/contacts", {"email": c["email"]}), 409,
                 "suppressed", "email")
    r = api.request("DELETE", "/suppressions", params={"email": c["email"]})
    assert r.status == 204, r


def test_suppressions_refusals(api):
    c = api.create()
    api.erase(c["id"], suppress=True)
    assert_error(api.request("DELETE", "/suppressions"), 400,
                 "invalid_parameter", "email")
    for bad in ("", "nope", "a@b", "a@@example.com"):
        assert_error(api.request("DELETE", "/suppressions",
                                 params={"email": bad}), 400,
                     "invalid_parameter", "email")
    assert_error(api.request("DELETE", "/suppressions",
                             params={"email": uniq_email()}), 404, "not_found")
    # none of that lifted it
    assert_error(api.post("/contacts", {"email": c["email"]}), 409,
                 "suppressed", "email")


def test_suppress_an_email_that_exists_elsewhere_in_the_org(api):
    """Suppression follows the erased contact's own email, not any other."""
    a = api.create()
    b = api.create()
    api.erase(a["id"], suppress=True)
    assert api.get_contact(b["id"]) == b
    got = api.upsert({"email": b["email"], "name": "still fine"}, expect=200)
    assert got["contact"]["id"] == b["id"]


# --------------------------------------------------------------------------
# the suppression hash


def test_suppression_hashes_are_keyed_per_organization(api, api_b, sql):
    email = uniq_email("hash")
    for cl in (api, api_b):
        c = cl.create(email=email)
        cl.erase(c["id"], suppress=True)
    rows = {}
    for cl in (api, api_b):
        out = sql("SELECT encode(hash, 'hex') FROM suppressions "
                  "WHERE org_id = %s" % q(cl.org_id)).split()
        assert len(out) == 1, out
        rows[cl.org_id] = out[0]
    ha, hb = rows[api.org_id], rows[api_b.org_id]
    assert ha != hb, rows
    # a one-way hash: not the email, nor its unkeyed digest
    folded = email.lower().encode()
    for h in (ha, hb):
        assert len(h) >= 64, h   # at least 256 bits
        for plain in (hashlib.sha256(folded).hexdigest(),
                      hashlib.sha256(email.encode()).hexdigest(),
                      hashlib.md5(folded).hexdigest(),
                      folded.hex()):
            assert plain not in h, h
    # the table holds nothing of the email in clear
    n = sql("SELECT count(*) FROM suppressions s WHERE s::text ILIKE %s"
            % q("%" + email.split("@")[0] + "%"))
    assert n.strip() == "0"


# --------------------------------------------------------------------------
# erasure leaves nothing behind


def _redis_values(key):
    """Every stored byte string of a Redis key, whatever its type."""
    t = stack.redis_cmd("TYPE", key)
    if t == "string":
        v = stack.redis_cmd("GET", key)
        return [v] if v is not None else []
    if t == "hash":
        return stack.redis_cmd("HGETALL", key) or []
    if t == "list":
        return stack.redis_cmd("LRANGE", key, 0, -1) or []
    if t == "set":
        return stack.redis_cmd("SMEMBERS", key) or []
    if t == "zset":
        return stack.redis_cmd("ZRANGE", key, 0, -1) or []
    if t == "stream":
        out = []

        def flat(x):
            if isinstance(x, list):
                for y in x:
                    flat(y)
            elif isinstance(x, bytes):
                out.append(x)
        flat(stack.redis_cmd("XRANGE", key, "-", "+"))
        return out
    return []   # "none": gone since the SCAN


def _redis_scan_all():
    """Every key of the stack's Redis (SCAN, bounded)."""
    keys = []
    cursor = b"0"
    for _ in range(100000):
        cursor, batch = stack.redis_cmd("SCAN", cursor, "COUNT", 1000)
        keys.extend(batch)
        if cursor in (b"0", "0", 0):
            return keys
    pytest.fail("SCAN did not finish")


def _redis_holding(needles):
    """[(key, needle)] for every key whose name or value holds a needle
    (case-insensitively)."""
    found = []
    for k in _redis_scan_all():
        hay = [k] + _redis_values(k)
        for n in needles:
            nb = n.lower().encode()
            if any(nb in h.lower() for h in hay if isinstance(h, bytes)):
                found.append((k, n))
    return found


def _tables(sql):
    """Every base table of the database's own schemas, schema-qualified."""
    out = sql("SELECT quote_ident(table_schema) || '.' || "
              "quote_ident(table_name) FROM information_schema.tables "
              "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN "
              "('pg_catalog', 'information_schema') "
              "AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1").split()
    assert "public.contacts" in out and "public.suppressions" in out, out
    return out


def _like(n):
    """An ILIKE pattern matching N anywhere, N's own wildcards escaped."""
    n = n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + n + "%"


def _tables_holding(sql, needles):
    """[(table, needle)] for every table with a row whose text holds a
    needle (case-insensitively), in one statement over every table."""
    arr = "ARRAY[%s]::text[]" % ", ".join(q(_like(n)) for n in needles)
    parts = ["SELECT %s, p FROM unnest(%s) p WHERE EXISTS "
             "(SELECT 1 FROM %s t WHERE t::text ILIKE p)" % (q(t), arr, t)
             for t in _tables(sql)]
    out = sql(" UNION ALL ".join(parts))
    return [tuple(line.split("|", 1)) for line in out.splitlines() if line]


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_erasure_leaves_nothing_behind(api, sql, form):
    assert stack.redis_answers(), "this test needs the stack's Redis"
    tok = uuid.uuid4().hex[:12]
    email = "Gdpr.%s@Erase-%s.example.com" % (tok, tok[:6])
    # the email and name it had before a PATCH changed them
    old_email = "Earlier.%s@Old-%s.example.com" % (tok[::-1], tok[:5])
    old_name = "Previous Name%s" % tok[3:]
    pii = {
        "email": email,
        "name": "Ersatz Person%s" % tok,
        "phone": "+358 40 %s" % int(tok[:8], 16),
        "eid": "EID-%s" % tok[::-1],
        "company": "Company%s Oy" % tok[4:],
        "note": "note%s" % tok[2:],
    }
    needles = [pii["email"], pii["email"].split("@")[0], pii["name"],
               pii["phone"], pii["eid"], pii["company"], pii["note"],
               old_email.split("@")[0], old_name]
    lst = api.new_list()
    api.new_field("note", "string")
    neighbour = api.create(addToLists=[lst["id"]])
    # created, updated (POST and PATCH, with an idempotency key), deleted
    # and restored, so that every table that records writes has rows of it
    r = api.post("/contacts", {"email": old_email, "name": old_name,
                               "addToLists": [lst["id"]]},
                 headers={"Idempotency-Key": "erase-" + tok})
    assert r.status == 201, r
    c = r.json["contact"]
    for _ in range(2):
        api.find(old_email)
    r = api.request("PATCH", "/contacts/" + c["id"],
                    body={"email": email, "name": pii["name"]},
                    headers={"Idempotency-Key": "erase2-" + tok})
    assert r.status == 200, r
    got = api.patch(c["id"], {"phone": pii["phone"], "eid": pii["eid"],
                              "company": pii["company"],
                              "field_note": pii["note"]})
    assert got["contact"]["company"] == pii["company"]
    api.delete(c["id"])
    api.upsert({"email": email}, expect=200)
    # read through the cache: every read twice (a miss fills, a hit serves)
    for _ in range(2):
        assert len(api.find(email)) == 1
        assert len(api.find(email.upper(), includeAll="true")) == 1
        api.page()
        api.page(includeAll="true")
        api.page(limit=1, offset=1)
        api.members(lst["id"])
        api.members(lst["id"], includeAll="true")
        api.get("/contacts", params={"eid": pii["eid"]})
        api.get_contact(c["id"])
    held = _redis_holding(needles)
    assert held, "the cache should hold the contact before its erasure " \
        "(else this test proves nothing)"
    held = _tables_holding(sql, needles)
    assert ("public.contacts", _like(email)) in held, held

    if form == "id":
        api.erase(c["id"], suppress=True)
    elif form == "query":
        api.delete("/contacts", params={"email": email.lower(),
                                        "erase": "true", "suppress": "true"},
                   expect=204)
    else:
        api.delete("/contacts", params={"erase": "true", "suppress": "true"},
                   body={"email": email.upper()}, expect=204)

    assert _tables_holding(sql, needles) == []
    assert _redis_holding(needles) == []
    # the neighbour is still there, in the database and through the API
    assert api.get_contact(neighbour["id"]) == neighbour
    assert ids(api.members(lst["id"])) == [neighbour["id"]]
    assert api.get_list(lst["id"])["count"] == 1
    for _ in range(2):
        assert c["id"] not in ids(api.all_contacts_all())
        assert c["id"] not in ids(api.members(lst["id"], includeAll="true"))
        assert_error(api.get("/contacts/" + c["id"]), 404, "not_found")
    # and the reads that just ran (pages, members, by id) did not put it
    # back
    assert _redis_holding(needles) == []
    assert _tables_holding(sql, needles) == []


def test_lookups_of_a_suppressed_email_keep_it_out_of_redis(api):
    """After an erasure with suppression the organization keeps only a
    keyed hash of the email (API.md): a later look-up of the email, or a
    refused create of it, must not leave the email in clear in Redis (an
    empty answer cached under a key naming the email would)."""
    assert stack.redis_answers(), "this test needs the stack's Redis"
    tok = uuid.uuid4().hex[:12]
    email = "Look.%s@Erase-%s.example.com" % (tok, tok[:6])
    c = api.create(email=email)
    for _ in range(2):
        assert len(api.find(email)) == 1
    api.erase(c["id"], suppress=True)
    assert _redis_holding([email.split("@")[0]]) == []
    for _ in range(2):
        assert api.find(email) == []
        assert api.find(email, includeAll="true") == []
        assert_error(api.post("/contacts", {"email": email}), 409,
                     "suppressed", "email")
    assert _redis_holding([email.split("@")[0]]) == []


def test_erased_contact_not_in_an_idempotent_replay(api):
    """An answer kept for an Idempotency-Key shows the contact: the erasure
    drops it, so a retry with that key runs again as a new request
    (docs/idempotency.md) and is not a replay of the erased contact."""
    email = uniq_email("idem")
    key = "k-" + uuid.uuid4().hex
    body = {"email": email, "name": "Replay Me"}
    r = api.post("/contacts", body, headers={"Idempotency-Key": key})
    assert r.status == 201, r
    api.erase(r.json["contact"]["id"])
    r2 = api.post("/contacts", body, headers={"Idempotency-Key": key})
    assert r2.status == 201, r2
    assert r2.header("Idempotent-Replayed") is None, r2
    assert r2.json["contact"]["id"] != r.json["contact"]["id"], r2
    # with suppression, the retry is refused
    key2 = "k-" + uuid.uuid4().hex
    email2 = uniq_email("idem2")
    r = api.post("/contacts", {"email": email2},
                 headers={"Idempotency-Key": key2})
    assert r.status == 201, r
    api.erase(r.json["contact"]["id"], suppress=True)
    r2 = api.post("/contacts", {"email": email2},
                  headers={"Idempotency-Key": key2})
    assert_error(r2, 409, "suppressed", "email")


# --------------------------------------------------------------------------
# non-ASCII emails fold like every email match


def test_suppression_folds_non_ascii_case(api):
    tok = uuid.uuid4().hex[:8]
    email = "Äijä.Öljy%s@Esimerkki-%s.fi" % (tok, tok)
    c = api.create(email=email)
    other = api.create()
    api.erase(c["id"], suppress=True)
    for e in (email, email.lower(), email.upper()):
        assert_error(api.post("/contacts", {"email": e}), 409, "suppressed",
                     "email")
        assert_error(api.request("PATCH", "/contacts/" + other["id"],
                                 body={"email": e}), 409, "suppressed",
                     "email")
    r = api.request("DELETE", "/suppressions", params={"email": email.upper()})
    assert r.status == 204, r
    assert api.create(email=email.lower())["email"] == email.lower()
