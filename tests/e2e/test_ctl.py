"""contactsctl: the organizations and keys, --json on every listing and
record, key rotation, and its messages and exit status (0 done, 1 failed
or unknown, 2 usage)."""

import json
import re

import pytest

from conftest import (TS_RE, ID_RE, ctl, key_id_of, new_key, request,
                      uniq_name)

JSON_TS_RE = TS_RE  # the API's form: to the millisecond, UTC


def ctl_json(*args):
    out = ctl(*args).stdout
    assert out.endswith("\n") and out.count("\n") == 1, "one line: %r" % out
    return json.loads(out)


def test_org_list_shows_the_organization(api):
    out = ctl("org", "list").stdout.splitlines()
    assert out[0].split() == ["ID", "CREATED", "KEYS", "NAME"], out[0]
    row = [line for line in out if line.startswith(api.org_id + " ")]
    assert len(row) == 1, out
    assert row[0].endswith("  " + api.org_name), row
    assert re.search(r"\s1\s", row[0]), row  # one active key


def test_org_list_json(api):
    orgs = ctl_json("org", "list", "--json")
    assert isinstance(orgs, list)
    mine = [o for o in orgs if o["id"] == api.org_id]
    assert len(mine) == 1, orgs[:3]
    o = mine[0]
    assert set(o) == {"id", "name", "created_at", "active_keys"}, o
    assert o["name"] == api.org_name
    assert o["active_keys"] == 1
    assert JSON_TS_RE.match(o["created_at"]), o


def test_org_show(api):
    key = new_key(api.org_id)
    ctl("key", "revoke", key_id_of(key))
    out = ctl("org", "show", api.org_id).stdout
    assert "id:            %s\n" % api.org_id in out, out
    assert "name:          %s\n" % api.org_name in out, out
    assert "1 active, 1 revoked" in out, out
    o = ctl_json("org", "show", api.org_id, "--json")
    assert o == {"id": api.org_id, "name": api.org_name,
                 "created_at": o["created_at"], "active_keys": 1,
                 "revoked_keys": 1}, o
    assert JSON_TS_RE.match(o["created_at"]), o


def test_org_rename_is_seen_when_it_returns(api):
    name = uniq_name("renamed") + ' "quoted" \u00e9'
    out = ctl("org", "rename", api.org_id, name).stdout
    assert api.org_id in out
    r = request("GET", "/test", key=api.key)
    assert r.status == 200, r
    assert r.json["organization_name"] == name, r.json
    assert ctl_json("org", "show", api.org_id, "--json")["name"] == name


def test_org_rename_refuses_a_bad_name(api):
    p = ctl("org", "rename", api.org_id, "", check=False)
    assert p.returncode == 1 and "1 to 255" in p.stderr, p


def test_key_list_json(api):
    key = new_key(api.org_id, "second")
    ctl("key", "limit", key_id_of(key), "7")
    keys = ctl_json("key", "list", api.org_id, "--json")
    assert [k["id"] for k in keys] == [api.key_id, key_id_of(key)], keys
    for k in keys:
        assert set(k) == {"id", "org_id", "name", "created_at", "revoked_at",
                          "rate_limit"}, k
        assert k["org_id"] == api.org_id
        assert JSON_TS_RE.match(k["created_at"]), k
        assert k["revoked_at"] is None
    assert keys[0]["rate_limit"] is None  # the default
    assert keys[1]["rate_limit"] == 7 and keys[1]["name"] == "second"
    text = json.dumps(keys)
    assert api.key not in text and api.key.split("_", 2)[2] not in text


def test_key_show(api):
    out = ctl("key", "show", api.key_id).stdout
    assert "id:            %s\n" % api.key_id in out, out
    assert "(%s)" % api.org_name in out, out
    assert "revoked:       -\n" in out, out
    assert api.key.split("_", 2)[2] not in out
    k = ctl_json("key", "show", api.key_id, "--json")
    assert k["id"] == api.key_id and k["org_id"] == api.org_id, k
    assert k["organization_name"] == api.org_name, k
    assert k["name"] == api.key_name and k["revoked_at"] is None, k


def test_key_show_of_a_revoked_key(api):
    key = new_key(api.org_id)
    ctl("key", "revoke", key_id_of(key))
    k = ctl_json("key", "show", key_id_of(key), "--json")
    assert JSON_TS_RE.match(k["revoked_at"] or ""), k


def test_key_rotate_replaces_the_key(api):
    key = new_key(api.org_id, "rotating")
    ctl("key", "limit", key_id_of(key), "50")
    assert request("GET", "/test", key=key).status == 200
    new = ctl("key", "rotate", key_id_of(key)).stdout.strip()
    assert new.startswith("ck_") and new != key, new
    assert ID_RE.match(key_id_of(new)) and key_id_of(new) != key_id_of(key)
    # in effect when it returns: the old key is refused at once
    r = request("GET", "/test", key=key)
    assert r.status == 401, r
    r = request("GET", "/test", key=new)
    assert r.status == 200, r
    assert r.json["api_key_name"] == "rotating", r.json
    old = ctl_json("key", "show", key_id_of(key), "--json")
    assert old["revoked_at"] is not None, old
    fresh = ctl_json("key", "show", key_id_of(new), "--json")
    assert fresh["name"] == "rotating" and fresh["rate_limit"] == 50, fresh
    assert fresh["org_id"] == api.org_id and fresh["revoked_at"] is None
    # a revoked key cannot be rotated again
    p = ctl("key", "rotate", key_id_of(key), check=False)
    assert p.returncode == 1 and p.stdout == "", p
    assert "no active key %s" % key_id_of(key) in p.stderr, p


@pytest.mark.parametrize("args, message", [
    (("org", "show", "NoSuchOrg"), "no organization NoSuchOrg"),
    (("org", "show", "NoSuchOrg", "--json"), "no organization NoSuchOrg"),
    (("org", "rename", "NoSuchOrg", "x"), "no organization NoSuchOrg"),
    (("key", "list", "NoSuchOrg"), "no organization NoSuchOrg"),
    (("key", "list", "NoSuchOrg", "--json"), "no organization NoSuchOrg"),
    (("key", "create", "NoSuchOrg"), "no organization NoSuchOrg"),
    (("key", "show", "NoSuchKey"), "no key NoSuchKey"),
    (("key", "show", "NoSuchKey", "--json"), "no key NoSuchKey"),
    (("key", "revoke", "NoSuchKey"), "no active key NoSuchKey"),
    (("key", "rotate", "NoSuchKey"), "no active key NoSuchKey"),
    (("key", "limit", "NoSuchKey", "5"), "no active key NoSuchKey"),
])
def test_unknown_organizations_and_keys_exit_1(args, message):
    p = ctl(*args, check=False)
    assert p.returncode == 1, p
    assert p.stdout == "", p
    assert message in p.stderr, p


@pytest.mark.parametrize("args, named", [
    (("frobnicate",), "unknown command: frobnicate"),
    (("org", "delete", "X"), "unknown command: org delete"),
    (("key",), "unknown command: key"),
    (("org", "list", "extra"), "unexpected argument"),
    (("org", "show"), "expected 1 argument"),
    (("org", "rename", "X"), "expected 2 arguments"),
    (("key", "list", "X", "--bogus"), "unknown option --bogus"),
    (("key", "create", "X", "--name"), "--name needs a value"),
    (("key", "revoke", "X", "--json"), "unknown option --json"),
])
def test_usage_errors_exit_2_before_connecting(args, named):
    p = ctl(*args, check=False)
    assert p.returncode == 2, p
    assert named in p.stderr, p
    assert "usage: contactsctl" in p.stderr, p
    assert p.stdout == ""


def test_help_lists_every_command():
    out = ctl("--help").stdout
    for cmd in ("migrate", "org create", "org list", "org show", "org rename",
                "key create", "key list", "key show", "key revoke",
                "key rotate", "key limit", "explain", "prune"):
        assert "  " + cmd in out, (cmd, out)
