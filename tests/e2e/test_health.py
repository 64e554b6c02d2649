"""GET /healthz and GET /test."""

import os

from conftest import (ID_RE, assert_error, assert_json, new_key, request)


def test_healthz_needs_no_key_and_reports_both_stores():
    r = request("GET", "/healthz")
    assert r.status == 200, r
    assert_json(r)
    assert r.json == {"status": "ok", "postgres": "up", "redis": "up"}, r


def test_healthz_ignores_a_bad_key():
    r = request("GET", "/healthz", key="ck_AAAAAAAAA_nope")
    assert r.status == 200, r
    assert r.json["status"] == "ok", r


def test_healthz_with_query_string():
    r = request("GET", "/healthz?verbose=1")
    assert r.status == 200, r
    assert r.json["status"] == "ok", r


def test_test_endpoint_answers_org_and_key(api):
    r = api.get("/test")
    assert r.status == 200, r
    assert_json(r)
    assert r.json == {
        "message": "Your API key is working",
        "organization_id": api.org_id,
        "organization_name": api.org_name,
        "api_key_name": api.key_name,
    }, r
    assert ID_RE.match(r.json["organization_id"])


def test_test_endpoint_names_the_key_used(api):
    other = new_key(api.org_id, "second-key")
    r = api.get("/test", key=other)
    assert r.status == 200, r
    assert r.json["api_key_name"] == "second-key", r
    assert r.json["organization_id"] == api.org_id, r


def test_test_endpoint_with_bearer(api):
    r = api.get("/test", auth="bearer")
    assert r.status == 200, r
    assert r.json["organization_id"] == api.org_id, r


def test_test_endpoint_with_runner_key():
    """The key scripts/test hands over works too."""
    key = os.environ.get("CONTACTS_API_KEY")
    assert key, "CONTACTS_API_KEY is not set"
    r = request("GET", "/test", key=key)
    assert r.status == 200, r
    assert set(r.json) == {"message", "organization_id", "organization_name",
                           "api_key_name"}, r
    assert r.json["message"] == "Your API key is working"


def test_test_endpoint_unicode_org_name(make_org):
    api = make_org(name="Société Générale ✓ 東京", key_name="clé ✓")
    r = api.get("/test")
    assert r.status == 200, r
    assert r.json["organization_name"] == "Société Générale ✓ 東京", r
    assert r.json["api_key_name"] == "clé ✓", r


def test_test_without_key_is_401():
    assert_error(request("GET", "/test"), 401, "unauthorized", field=None)
