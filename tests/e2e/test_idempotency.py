"""Idempotency-Key on POST, PATCH and DELETE (API.md, "Idempotent
requests"; docs/idempotency.md)."""
import concurrent.futures
import time
import uuid

import conftest
import stack
from conftest import assert_error, uniq_email
from test_states import sql  # noqa: F401  (the psql fixture)


def ikey():
    return "k-" + uuid.uuid4().hex


def post(api, path, body, key, **kw):
    return api.post(path, body, headers={"Idempotency-Key": key}, **kw)


def test_replay_returns_the_first_answer_and_writes_nothing(api):
    k, email = ikey(), uniq_email()
    first = post(api, "/contacts", {"email": email, "name": "one"}, k)
    assert first.status == 201, first
    assert first.header("Idempotent-Replayed") is None
    time.sleep(0.01)
    again = post(api, "/contacts", {"email": email, "name": "one"}, k)
    assert again.status == 201, again
    assert again.header("Idempotent-Replayed") == "true"
    assert again.raw == first.raw
    assert again.header("Location") == first.header("Location")
    # the contact was not written again (an update would move updated_at)
    assert api.one(email) == first.json["contact"]


def feed_ops(api):
    r = api.get("/contacts/changes", params={"limit": 1000})
    assert r.status == 200, r
    return [(c["op"], c["id"]) for c in r.json["changes"]]


def test_a_replay_leaves_what_was_written_since(api):
    """The replay's answer is the first one, and nothing of the request is
    written again: not over a later change, not into the feed."""
    k, email = ikey(), uniq_email()
    first = post(api, "/contacts", {"email": email, "name": "one"}, k)
    assert first.status == 201, first
    cid = first.json["contact"]["id"]
    assert api.request("PATCH", "/contacts/" + cid, body={"name": "two"}).status == 200
    again = post(api, "/contacts", {"email": email, "name": "one"}, k)
    assert again.status == 201 and again.header("Idempotent-Replayed") == "true", again
    assert again.raw == first.raw
    assert api.one(email)["name"] == "two"
    assert feed_ops(api) == [("create", cid), ("update", cid)]
    # a replayed deletion does not delete the contact restored since
    kd = ikey()
    d = api.request("DELETE", "/contacts/" + cid, headers={"Idempotency-Key": kd})
    assert d.status == 200 and d.json["contact"]["status"] == "deleted", d
    restored = api.post("/contacts", {"email": email})
    assert restored.status == 200 and restored.json["contact"]["status"] == "active", restored
    d2 = api.request("DELETE", "/contacts/" + cid, headers={"Idempotency-Key": kd})
    assert d2.status == 200 and d2.header("Idempotent-Replayed") == "true", d2
    assert d2.raw == d.raw
    assert api.get("/contacts/" + cid).json["contact"]["status"] == "active"
    assert [op for op, _ in feed_ops(api)] == ["create", "update", "delete", "update"]


def test_mismatch(api):
    k, email = ikey(), uniq_email()
    assert post(api, "/contacts", {"email": email}, k).status == 201
    assert_error(post(api, "/contacts", {"email": email, "name": "x"}, k), 422,
                 "idempotency_mismatch")
    other = uniq_email()
    assert_error(post(api, "/contacts", {"email": other}, k), 422, "idempotency_mismatch")
    assert api.find(other) == []
    assert_error(api.request("PATCH", "/contacts/ZZZZZZZZZ", body={"name": "x"},
                             headers={"Idempotency-Key": k}),
                 422, "idempotency_mismatch")
    assert api.one(email)["name"] is None


def test_keys_are_per_organization(api, api_b):
    k = ikey()
    assert post(api, "/contacts", {"email": uniq_email()}, k).status == 201
    r = post(api_b, "/contacts", {"email": uniq_email()}, k)
    assert r.status == 201 and r.header("Idempotent-Replayed") is None, r


def test_every_write_method(api):
    lst = post(api, "/lists", {"name": "L"}, ikey())
    assert lst.status == 201, lst
    k = ikey()
    body = {"name": "L2"}
    a = post(api, "/lists", body, k)
    b = post(api, "/lists", body, k)
    assert b.header("Idempotent-Replayed") == "true" and b.raw == a.raw
    assert len([x for x in api.lists() if x["name"] == "L2"]) == 1
    c = api.create()
    k = ikey()
    p1 = api.request("PATCH", "/contacts/" + c["id"], body={"name": "p"},
                     headers={"Idempotency-Key": k})
    p2 = api.request("PATCH", "/contacts/" + c["id"], body={"name": "p"},
                     headers={"Idempotency-Key": k})
    assert p1.status == p2.status == 200 and p2.raw == p1.raw
    assert p2.header("Idempotent-Replayed") == "true"
    k = ikey()
    d1 = api.request("DELETE", "/contacts/" + c["id"], headers={"Idempotency-Key": k})
    api.upsert({"email": c["email"]})  # restored in between
    d2 = api.request("DELETE", "/contacts/" + c["id"], headers={"Idempotency-Key": k})
    assert d2.raw == d1.raw and d2.header("Idempotent-Replayed") == "true"
    assert api.one(c["email"])["status"] == "active"  # not deleted again
    # refusals of the store are kept too
    k = ikey()
    r1 = post(api, "/contacts", {"email": uniq_email(), "addToLists": ["ZZZZZZZZZ"]}, k)
    assert r1.status == 422, r1
    r2 = post(api, "/contacts", {"email": "x" + uniq_email()[1:],
                                 "addToLists": ["ZZZZZZZZZ"]}, k)
    assert_error(r2, 422, "idempotency_mismatch")


def test_bad_keys(api):
    for bad in ("", "x" * 256, "caf\u00e9", "a\tb"):
        r = post(api, "/contacts", {"email": uniq_email()},
                 bad.encode("utf-8").decode("latin-1"))
        assert_error(r, 400, "invalid_parameter", "Idempotency-Key")
    ok = post(api, "/contacts", {"email": uniq_email()}, "x" * 255)
    assert ok.status == 201, ok
    # a GET ignores it
    assert api.get("/contacts", headers={"Idempotency-Key": "x"}).status == 200


def test_concurrent_duplicate_is_409_while_the_first_runs(api):
    c = api.create()
    k = ikey()
    with stack.RowLock(api.org_id, c["id"]) as lock:
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            first = ex.submit(api.request, "PATCH", "/contacts/" + c["id"],
                              body={"name": "locked"},
                              headers={"Idempotency-Key": k})
            time.sleep(0.5)  # the first holds the key, waiting for the row
            dup = api.request("PATCH", "/contacts/" + c["id"], body={"name": "locked"},
                              headers={"Idempotency-Key": k})
            assert_error(dup, 409, "idempotency_in_progress")
            assert dup.header("Retry-After"), dup
            lock.release()
            r = first.result(timeout=20)
    assert r.status == 200, r
    again = api.request("PATCH", "/contacts/" + c["id"], body={"name": "locked"},
                        headers={"Idempotency-Key": k})
    assert again.header("Idempotent-Replayed") == "true" and again.raw == r.raw


def test_the_key_survives_a_postgresql_restart(api):
    k, email = ikey(), uniq_email()
    first = post(api, "/contacts", {"email": email}, k)
    assert first.status == 201, first
    conftest.settle_org_pool()
    stack.lib_sh("pg_stop")
    try:
        stack.lib_sh("pg_start")
    finally:
        if not stack.pid_of("pg/postmaster.pid", "postgres"):
            stack.lib_sh("pg_start")
        stack.wait_healthy(60)
    for _ in range(50):
        again = post(api, "/contacts", {"email": email}, k)
        if again.status != 503:
            break
        time.sleep(0.2)
    assert again.status == 201 and again.header("Idempotent-Replayed") == "true", again
    assert again.raw == first.raw


def test_expired_keys_are_processed_again(api, sql):
    k, email = ikey(), uniq_email()
    assert post(api, "/contacts", {"email": email}, k).status == 201
    sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
        "WHERE org_id = '%s'" % api.org_id)
    again = post(api, "/contacts", {"email": email}, k)
    assert again.status == 200 and again.header("Idempotent-Replayed") is None, again
    assert again.json["action"] == "IMPORT_UPDATE"
    # and the new answer is the one kept now
    third = post(api, "/contacts", {"email": email}, k)
    assert third.header("Idempotent-Replayed") == "true" and third.raw == again.raw


def test_prune_removes_the_expired_answers_and_keeps_the_live_ones(api, sql):
    """The sweep (contactsctl prune, a timer): expired answers go, a live
    one stays and still replays."""
    old, live, body = ikey(), ikey(), {"email": uniq_email()}
    assert post(api, "/contacts", {"email": uniq_email()}, old).status == 201
    first = post(api, "/contacts", body, live)
    assert first.status == 201
    sql("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
        "WHERE org_id = '%s' AND key = '%s'" % (api.org_id, old))
    out = conftest.ctl("prune").stdout
    assert "expired idempotency keys" in out, out
    left = sql("SELECT key FROM idempotency_keys WHERE org_id = '%s' "
               "AND key IN ('%s', '%s')" % (api.org_id, old, live)).split()
    assert left == [live], left
    again = post(api, "/contacts", body, live)
    assert again.header("Idempotent-Replayed") == "true" and again.raw == first.raw, again


def test_an_erasure_removes_the_answers_that_show_the_contact(api, sql):
    k, email = ikey(), uniq_email()
    c = post(api, "/contacts", {"email": email, "name": "Personal Name"}, k).json["contact"]
    kb, other = ikey(), uniq_email()
    bulk = post(api, "/contacts/bulk", {"contacts": [{"email": other}, {"email": email}]}, kb)
    assert bulk.status == 200, bulk
    ids = [row["contact"]["id"] for row in bulk.json["results"]]
    n = sql("SELECT count(*) FROM idempotency_keys WHERE org_id = '%s'" % api.org_id)
    assert int(n) == 2
    # what an erasure looks for: the ids of the contacts each answer shows
    shown = sql("SELECT array_to_string(contact_ids, ' ') FROM idempotency_keys "
                "WHERE org_id = '%s' AND key = '%s'" % (api.org_id, kb))
    assert shown.split() == ids and ids[1] == c["id"], (shown, ids)
    assert api.request("DELETE", "/contacts/%s?erase=true" % c["id"]).status == 204
    # neither the POST's kept result nor the bulk's body is left
    left = sql("SELECT count(*) FROM idempotency_keys i, "
               "LATERAL (SELECT coalesce(i.body, '') || coalesce(i.result::text, '') AS t) x "
               "WHERE i.org_id = '%s' AND (position('Personal Name' in x.t) > 0 "
               "OR position('%s' in x.t) > 0)" % (api.org_id, email))
    assert int(left) == 0
    assert int(sql("SELECT count(*) FROM idempotency_keys WHERE org_id = '%s'"
                   % api.org_id)) == 0


def kept(sql, api, k):
    """What is stored for key k: (a result is kept, status, body)."""
    return sql("SELECT result IS NOT NULL, coalesce(status::text, '-'), body IS NOT NULL "
               "FROM idempotency_keys WHERE org_id = '%s' AND key = '%s'"
               % (api.org_id, k)).strip()


def test_a_keyed_upsert_keeps_its_result_and_replays_the_same_answer(api, sql):
    """POST /contacts under a key stores its write's result, not a body
    (schema/021: the write and the result in one round trip), and a replay
    builds the answer from it again: the same status, headers and bytes,
    for a create, an update and a refusal of the store (an unknown
    list)."""
    email = uniq_email()
    lst = api.new_list()
    cases = [({"email": email, "name": "one"}, 201),
             ({"email": email, "name": "two", "addToLists": [lst["id"]]}, 200),
             ({"email": email, "addToLists": [lst["id"], "NoSuchLst"]}, 422)]
    for body, status in cases:
        k = ikey()
        first = post(api, "/contacts", body, k)
        assert first.status == status, first
        assert kept(sql, api, k) == "t|-|f", (body, kept(sql, api, k))
        again = post(api, "/contacts", body, k)
        assert again.status == status and again.header("Idempotent-Replayed") == "true", again
        assert again.raw == first.raw, (again.raw, first.raw)
        for h in ("Location", "Content-Type"):
            assert again.header(h) == first.header(h), (h, again, first)
        # a mismatch is told from the stored hash as for a body
        assert_error(post(api, "/contacts", dict(body, company="other"), k),
                     422, "idempotency_mismatch")
    assert_error(post(api, "/contacts", cases[2][0], ikey()), 422, "unknown_list")
    assert api.one(email)["name"] == "two"
    assert [m["id"] for m in api.members(lst["id"])] == [api.one(email)["id"]]


def test_an_expired_key_changes_between_a_result_and_a_body(api, sql):
    """A key's answer past its 24 hours is replaced by the next request's,
    whichever kind each is: a kept result (POST /contacts) by a body (a
    PATCH), and the other way round."""
    k, email = ikey(), uniq_email()
    expire = ("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
              "WHERE org_id = '%s' AND key = '%s'" % (api.org_id, k))
    c = post(api, "/contacts", {"email": email}, k)
    assert c.status == 201 and kept(sql, api, k) == "t|-|f", c
    sql(expire)
    path = "/contacts/" + c.json["contact"]["id"]
    p = api.request("PATCH", path, body={"name": "patched"}, headers={"Idempotency-Key": k})
    assert p.status == 200 and p.header("Idempotent-Replayed") is None, p
    assert kept(sql, api, k) == "f|200|t"
    again = api.request("PATCH", path, body={"name": "patched"}, headers={"Idempotency-Key": k})
    assert again.header("Idempotent-Replayed") == "true" and again.raw == p.raw, again
    sql(expire)
    u = post(api, "/contacts", {"email": email, "name": "posted"}, k)
    assert u.status == 200 and u.header("Idempotent-Replayed") is None, u
    assert kept(sql, api, k) == "t|-|f"
    again = post(api, "/contacts", {"email": email, "name": "posted"}, k)
    assert again.header("Idempotent-Replayed") == "true" and again.raw == u.raw, again
