"""Authentication: X-API-Key or Authorization: Bearer; 401 for missing,
unknown or revoked keys, all alike; revocation on the next request."""

import re
import secrets
import string

import pytest

from conftest import (assert_error, ctl, key_id_of, new_key, request,
                      uniq_email)

AUTHED = [
    ("GET", "/test", None),
    ("GET", "/contacts", None),
    ("POST", "/contacts", {"email": "someone@example.com"}),
    ("GET", "/lists", None),
    ("POST", "/lists", {"name": "x"}),
]

ALNUM = string.ascii_letters + string.digits


def fake_key():
    kid = "".join(secrets.choice(ALNUM) for _ in range(9))
    secret = "".join(secrets.choice(ALNUM) for _ in range(43))
    return "ck_%s_%s" % (kid, secret)


def assert_401(r):
    err = assert_error(r, 401, "unauthorized", field=None)
    www = r.header("WWW-Authenticate")
    assert www is not None, r
    assert www.split()[0] == "Bearer", r
    return err


def canon(r):
    """What a client could use to tell two 401s apart."""
    return (r.status, r.raw, r.header("WWW-Authenticate"),
            r.header("Content-Type"))


def test_created_key_format(api):
    # docs/architecture.md: ck_<9-char key id>_<43-char secret>
    assert re.match(r"^ck_[A-Za-z0-9]{9}_[A-Za-z0-9_-]{43}$", api.key), api.key


def test_keys_are_distinct(api):
    k2 = new_key(api.org_id)
    k3 = new_key(api.org_id)
    assert len({api.key, k2, k3}) == 3
    assert len({key_id_of(api.key), key_id_of(k2), key_id_of(k3)}) == 3


@pytest.mark.parametrize("method,path,body", AUTHED)
def test_missing_key(method, path, body):
    assert_401(request(method, path, body=body))


@pytest.mark.parametrize("method,path,body", AUTHED)
def test_unknown_key(method, path, body):
    assert_401(request(method, path, body=body, key=fake_key()))


@pytest.mark.parametrize("method,path,body", AUTHED)
def test_unknown_key_bearer(method, path, body):
    assert_401(request(method, path, body=body, key=fake_key(), auth="bearer"))


@pytest.mark.parametrize("method,path,body", AUTHED)
def test_x_api_key_works(api, method, path, body):
    r = api.request(method, path, body=body)
    assert r.status in (200, 201), r


@pytest.mark.parametrize("method,path,body", AUTHED)
def test_bearer_works(api, method, path, body):
    r = api.request(method, path, body=body, auth="bearer")
    assert r.status in (200, 201), r


def test_right_key_id_wrong_secret(api):
    kid = api.key_id
    bad = "ck_%s_%s" % (kid, "A" * 43)
    assert_401(request("GET", "/test", key=bad))
    # one character changed at the end
    last = api.key[-1]
    bad = api.key[:-1] + ("B" if last != "B" else "C")
    assert_401(request("GET", "/test", key=bad))


def test_key_with_extra_suffix_or_truncated(api):
    assert_401(request("GET", "/test", key=api.key + "x"))
    assert_401(request("GET", "/test", key=api.key[:-1]))
    assert_401(request("GET", "/test", key=api.key.upper()))


@pytest.mark.parametrize("value", [
    "garbage",
    "ck_",
    "ck__",
    "ck_short_x",
    "ck_AAAAAAAAA",
    "ck_AAAAAAAAA_",
    "x" * 4000,
    "ck_%s_%s" % ("A" * 9, "'; DROP TABLE api_keys; --"),
])
def test_malformed_x_api_key(value):
    assert_401(request("GET", "/test", headers={"X-API-Key": value}))


@pytest.mark.parametrize("value", [
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer ",
    "Token abc",
    "ck_AAAAAAAAA_xyz",
    "Bearer ck_AAAAAAAAA_" + "x" * 43,
    "Bearerck_AAAAAAAAA_" + "x" * 43,
])
def test_malformed_authorization(value):
    assert_401(request("GET", "/test", headers={"Authorization": value}))


def test_authorization_without_bearer_scheme_is_refused(api):
    """The key itself as an Authorization value, or under another scheme,
    is not accepted."""
    assert_401(request("GET", "/test", headers={"Authorization": api.key}))
    assert_401(request("GET", "/test",
                       headers={"Authorization": "Basic " + api.key}))


def test_empty_x_api_key():
    assert_401(request("GET", "/test", headers={"X-API-Key": ""}))


def test_401_is_the_same_for_missing_unknown_and_revoked(api):
    key = new_key(api.org_id)
    r = request("GET", "/contacts", key=key)
    assert r.status == 200, r
    ctl("key", "revoke", key_id_of(key))

    missing = request("GET", "/contacts")
    unknown = request("GET", "/contacts", key=fake_key())
    wrong_secret = request("GET", "/contacts",
                           key="ck_%s_%s" % (api.key_id, "Z" * 43))
    revoked = request("GET", "/contacts", key=key)
    for r in (missing, unknown, wrong_secret, revoked):
        assert_401(r)
    assert canon(missing) == canon(unknown) == canon(wrong_secret) \
        == canon(revoked)


def test_revocation_takes_effect_on_next_request(api):
    key = new_key(api.org_id, "to-revoke")
    # used several times first, so that any cache has seen it
    for _ in range(3):
        r = request("GET", "/test", key=key)
        assert r.status == 200, r
        assert r.json["api_key_name"] == "to-revoke", r
    email = uniq_email()
    r = request("POST", "/contacts", body={"email": email}, key=key)
    assert r.status == 201, r

    ctl("key", "revoke", key_id_of(key))

    # the very next request, on every endpoint and both header forms
    for method, path, body in AUTHED:
        assert_401(request(method, path, body=body, key=key))
        assert_401(request(method, path, body=body, key=key, auth="bearer"))
    # the revoked key wrote nothing after its revocation
    assert api.find("someone@example.com") == []
    assert [lst for lst in api.lists()] == []
    # the organization's other key still works
    r = api.get("/test")
    assert r.status == 200, r
    assert len(api.find(email)) == 1


def test_revoked_key_stays_revoked(api):
    key = new_key(api.org_id)
    assert request("GET", "/test", key=key).status == 200
    ctl("key", "revoke", key_id_of(key))
    for _ in range(5):
        assert_401(request("GET", "/test", key=key))


def test_key_list_never_shows_the_secret(api):
    out = ctl("key", "list", api.org_id).stdout
    secret = api.key.split("_", 2)[2]
    assert api.key not in out
    assert secret not in out
    assert api.key_id in out, out


def test_route_checks_come_before_auth():
    # docs/architecture.md: route (404, 405) -> authentication (401)
    assert_error(request("GET", "/nope"), 404, "not_found")
    assert_error(request("PUT", "/contacts"), 405, "method_not_allowed")


def test_auth_comes_before_request_checks():
    # no key and a bad body: the answer is 401, not 400/415/422
    assert_401(request("POST", "/contacts", body=b"{not json"))
    assert_401(request("POST", "/contacts", body=b"{}",
                       headers={"Content-Type": "text/plain"}))
    assert_401(request("POST", "/contacts", body={"email": "bad"}))
    assert_401(request("GET", "/contacts?offset=abc"))
    assert_401(request("POST", "/lists", body={}))
    assert_401(request("POST", "/contacts", body=b"{not json",
                       key=fake_key()))
