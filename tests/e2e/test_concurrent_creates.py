"""Writes of one organization do not wait for each other's commits
(issue 13; docs/schema.md, "Writes that do not queue").

Each test holds a write's transaction open in a psql session of its own
(the write made but not committed), and meanwhile sends POST /contacts
creates, half of them joining the same list, through the service.  Before
schema/015 every create updated the organization's row and its last
block's row, and a write that joined a list updated the list's row, all
held until the commit: these creates would wait for the held transaction
(and the test would fail on its deadline).  Afterwards the held write is
committed or rolled back, and the counts must be exact: the pages, the
list's count and its members."""
import os
import select
import shutil
import subprocess
import threading
import time

import pytest

import conftest
from conftest import uniq_email
from test_states import _conninfo, sql  # noqa: F401  (the psql fixture)

DEADLINE = 10.0  # seconds for the creates while the write is held


class HeldWrite:
    """A psql session that runs a statement in an open transaction."""

    def __init__(self, statement):
        conninfo = _conninfo()
        psql = shutil.which("psql")
        if not conninfo or not psql:
            pytest.fail("needs psql and the stack's database", pytrace=False)
        # line-buffered: psql's stdout is a pipe here
        self.p = subprocess.Popen(
            ["stdbuf", "-oL", psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.p.stdin.write("BEGIN;\n%s;\n\\echo held-open\n" % statement)
        self.p.stdin.flush()
        self.output = self._read_until("held-open")

    def _read_until(self, marker):
        """The lines psql printed before marker (read from the pipe's
        descriptor itself: a buffered reader would hide lines from
        select())."""
        fd = self.p.stdout.fileno()
        data = b""
        while True:
            lines = data.decode(errors="replace").split("\n")
            for line in lines[:-1]:
                assert not line.startswith(("ERROR", "psql:")), lines
            if marker in lines[:-1]:
                return lines[:lines.index(marker)]
            ready, _, _ = select.select([fd], [], [], DEADLINE)
            assert ready, "psql said nothing in %ss: %r" % (DEADLINE, lines)
            chunk = os.read(fd, 65536)
            assert chunk, "psql ended: %r" % lines
            data += chunk

    def end(self, how):
        self.p.stdin.write("%s;\n\\q\n" % how)
        self.p.stdin.flush()
        out, _ = self.p.communicate(timeout=DEADLINE)
        assert self.p.returncode == 0, out

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def creates_while_held(api, list_id, n):
    """n creates through the service, every other one joining list_id;
    returns their answers, failing if they do not all finish in time."""
    answers = [None] * n

    def one(i):
        body = {"email": uniq_email("cc%d" % i), "name": "Concurrent %d" % i}
        if i % 2 == 0:
            body["addToLists"] = [list_id]
        try:
            answers[i] = api.post("/contacts", body)
        except OSError as e:  # the client's own timeout
            answers[i] = e

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
    late = sum(1 for t in threads if t.is_alive())
    assert late == 0, ("%d of %d creates did not finish in %ss while another "
                       "write of the organization was held open" % (late, n, DEADLINE))
    waited = [a for a in answers if isinstance(a, OSError)]
    assert not waited, ("%d of %d creates timed out while another write of the "
                        "organization was held open: %r" % (len(waited), n, waited[:2]))
    for r in answers:
        assert r.status == 201, r
    return answers


def all_ids(api, path, **params):
    p = {"limit": 1000}
    p.update(params)
    r = api.get(path, params=p)
    assert r.status == 200, r
    return [c["id"] for c in r.json["contacts"]]


def held_statement(kind, org, list_id, other):
    """A write of the organization, made through its SQL function as the
    service would (schema/015), left uncommitted."""
    if kind == "create":
        email = uniq_email("held")
        return ("SELECT (w).action FROM contact_upsert('%s', 'held%s', '%s', '%s', 0, "
                "NULL, 'Held', NULL, NULL, NULL, ARRAY['%s'], '{}', NULL) w"
                % (org, os.urandom(3).hex(), email, email, list_id))
    if kind == "delete":
        return "SELECT (w).action FROM contact_delete('%s', '%s', NULL) w" % (org, other)
    if kind == "erase":
        return ("SELECT (w).action FROM contact_erase('%s', '%s', NULL, false) w"
                % (org, other))
    raise AssertionError(kind)


@pytest.mark.parametrize("kind,how", [
    ("create", "COMMIT"), ("create", "ROLLBACK"),
    ("delete", "COMMIT"), ("erase", "COMMIT"), ("erase", "ROLLBACK"),
])
def test_creates_do_not_wait_for_another_write(api, kind, how):
    lst = api.new_list()
    first = [api.upsert({"email": uniq_email("base%d" % i), "addToLists": [lst["id"]]},
                        expect=201)["contact"]["id"] for i in range(3)]
    other = first[1]
    held = HeldWrite(held_statement(kind, api.org_id, lst["id"], other))
    try:
        assert held.output and held.output[-1] in ("IMPORT_CREATE", "DELETE", "ERASE"), held.output
        answers = creates_while_held(api, lst["id"], 8)
        held.end(how)
    finally:
        held.kill()

    made = [r.json["contact"]["id"] for r in answers]
    joined = [r.json["contact"]["id"] for i, r in enumerate(answers) if i % 2 == 0]
    shown = all_ids(api, "/contacts")
    members = all_ids(api, "/lists/%s/contacts" % lst["id"])
    committed = how == "COMMIT"

    before = list(first)
    if kind in ("delete", "erase") and committed:
        before.remove(other)
    held_ids = [s for s in shown if s.startswith("held")]
    assert len(held_ids) == (1 if kind == "create" and committed else 0), shown
    # every create made while the write was held is shown once, after the
    # contacts made before (and after the held create: it took its
    # position first)
    assert shown[:len(before) + len(held_ids)] == before + held_ids, shown
    assert sorted(shown) == sorted(before + held_ids + made), shown
    assert sorted(members) == sorted(before + held_ids + joined), members

    r = api.get("/lists/%s" % lst["id"])
    assert r.status == 200, r
    assert r.json["list"]["count"] == len(members), (r.json, members)
    # the offsets agree with the counts: a page from every offset starts
    # where the full listing says
    for off in range(len(shown) + 1):
        assert all_ids(api, "/contacts", offset=off, limit=1) == shown[off:off + 1], off


def test_prune_folds_the_stripes_of_ended_sessions_and_keeps_the_counts(api, sql):
    """A block's counts have a stripe per backend that wrote them
    (schema/022): creates made by sessions that have ended leave a stripe
    each, which `contactsctl prune` folds into one per block; the stripes
    of running backends (the service's) stay as they are, and the pages and
    counts are the same before and after."""
    lst = api.new_list()
    api.upsert({"email": uniq_email("base"), "addToLists": [lst["id"]]}, expect=201)
    ended = []
    for _ in range(3):
        held = HeldWrite(held_statement("create", api.org_id, lst["id"], None)
                         + "; SELECT pg_backend_pid()")
        try:
            assert held.output[-2:-1] == ["IMPORT_CREATE"], held.output
            ended.append(int(held.output[-1]))
            creates_while_held(api, lst["id"], 2)
            held.end("COMMIT")
        finally:
            held.kill()
    pids = ",".join(str(p) for p in ended)
    for _ in range(100):  # a backend ends a moment after its client
        if sql("SELECT count(*) FROM pg_stat_activity WHERE pid IN (%s)" % pids).strip() == "0":
            break
        time.sleep(0.05)
    else:
        pytest.fail("the psql sessions' backends did not end")

    def stripes(table):
        """(the stripes of ended backends, those of running ones)"""
        row = sql("SELECT count(*) FILTER (WHERE NOT r), count(*) FILTER (WHERE r) "
                  "FROM (SELECT stripe < 0 AND -stripe IN (SELECT pid FROM pg_stat_activity) "
                  "AS r FROM %s WHERE org_id = '%s') s" % (table, api.org_id))
        return tuple(int(x) for x in row.strip().split("|"))

    shown = all_ids(api, "/contacts")
    members = all_ids(api, "/lists/%s/contacts" % lst["id"])
    assert len(shown) == 1 + 3 + 6 and len(members) == 1 + 3 + 3, (shown, members)
    contacts_before, members_before = stripes("contact_blocks"), stripes("list_member_blocks")
    # one stripe for each ended session, in the one block of the contacts
    # and of the list's members; one at least of the service's own
    assert contacts_before[0] == 3 and members_before[0] == 3, (contacts_before, members_before)
    assert contacts_before[1] >= 1 and members_before[1] >= 1, (contacts_before, members_before)

    out = conftest.ctl("prune").stdout
    assert "folded" in out, out
    assert stripes("contact_blocks") == (1, contacts_before[1])
    assert stripes("list_member_blocks") == (1, members_before[1])
    assert all_ids(api, "/contacts") == shown
    assert all_ids(api, "/lists/%s/contacts" % lst["id"]) == members
    r = api.get("/lists/%s" % lst["id"])
    assert r.status == 200 and r.json["list"]["count"] == len(members), r
    for off in range(len(shown) + 1):
        assert all_ids(api, "/contacts", offset=off, limit=1) == shown[off:off + 1], off


def answer_after_held(held, expect, sql, send, query_like, what):
    """Once held printed expect: sends a request (send()) in a thread,
    checks that its backend waits for a lock (its statement's text LIKE
    query_like) and has not answered, commits held, and returns the
    answer."""
    answer = []
    try:
        assert held.output[-len(expect):] == expect, held.output
        t = threading.Thread(target=lambda: answer.append(send()), daemon=True)
        t.start()
        for _ in range(100):
            if sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND query LIKE '%s'" % query_like).strip() != "0":
                break
            t.join(0.05)
        else:
            pytest.fail("the %s did not wait for the held erasure" % what)
        assert not answer, answer
        held.end("COMMIT")
        t.join(DEADLINE)
        assert answer, "the %s did not finish once the erasure committed" % what
    finally:
        held.kill()
    return answer[0]


@pytest.mark.parametrize("suppress", [False, True])
def test_bulk_that_waited_for_an_erasure_of_its_contact(api, sql, suppress):
    """A bulk request names a new email and one whose contact an erasure
    holds (uncommitted): the bulk waits for it (schema/016, step 4), and
    once the erasure commits the row is written as a create of that email
    again, a new contact, or refused as suppressed when the erasure
    suppressed it; the new email's row is created either way."""
    gone = api.create(name="erased")
    fresh = uniq_email("bulk-new")
    held = HeldWrite("SELECT (w).action FROM contact_erase('%s', '%s', NULL, %s) w"
                     % (api.org_id, gone["id"], "true" if suppress else "false"))
    # the bulk's backend waits for a lock (the contact's, or the
    # organization's row when the erasure suppresses)
    r = answer_after_held(held, ["ERASE"], sql, lambda: api.post(
        "/contacts/bulk", {"contacts": [{"email": fresh},
                                        {"email": gone["email"], "name": "back"}]}),
        "%contact_bulk%", "bulk request")
    assert r.status == 200, r
    res = r.json["results"]
    assert res[0]["action"] == "IMPORT_CREATE", res
    if suppress:
        assert res[1]["error"]["code"] == "suppressed", res
        assert (r.json["created"], r.json["failed"]) == (1, 1), r.json
        assert api.find(gone["email"]) == []
    else:
        assert res[1]["action"] == "IMPORT_CREATE", res
        assert res[1]["contact"]["id"] != gone["id"], res
        assert res[1]["contact"]["name"] == "back", res
        assert (r.json["created"], r.json["failed"]) == (2, 0), r.json
        assert [c["id"] for c in api.find(gone["email"])] == [res[1]["contact"]["id"]]
    assert [c["id"] for c in api.find(fresh)] == [res[0]["contact"]["id"]]


@pytest.mark.parametrize("keyed", [False, True])
def test_a_bulk_row_that_changes_nothing_while_a_write_holds_its_contact(api, sql, keyed):
    """A bulk row that would change nothing, while another transaction
    holds its contact (an update not committed yet).  Without an
    Idempotency-Key the row is not locked (schema/020): the answer comes at
    once, IMPORT_NOOP with the contact as the request found it, and the
    held update stands after its commit (the bulk came first for that
    row).  With a key the answer is kept for replays, and every row is
    locked: the bulk waits for the held update and, once it commits,
    writes the row's values over it (IMPORT_UPDATE)."""
    c = api.create(name="before")
    other = uniq_email("bulk-beside")
    held = HeldWrite("UPDATE contacts SET name = 'held', updated_at = now() "
                     "WHERE org_id = '%s' AND id = '%s' RETURNING name"
                     % (api.org_id, c["id"]))
    body = {"contacts": [{"email": other}, {"email": c["email"], "name": "before"}]}
    if keyed:
        r = answer_after_held(held, ["held"], sql, lambda: api.post(
            "/contacts/bulk", body, headers={"Idempotency-Key": "hold-" + other}),
            "%contact_bulk%", "bulk request")
    else:
        try:
            assert held.output == ["held"], held.output
            r = api.post("/contacts/bulk", body)
            still = sql("SELECT name FROM contacts WHERE org_id = '%s' AND id = '%s'"
                        % (api.org_id, c["id"])).strip()
            held.end("COMMIT")
        finally:
            held.kill()
        assert still == "before", still  # answered while the update was open
    assert r.status == 200, r
    res = r.json["results"]
    assert res[0]["action"] == "IMPORT_CREATE", res
    assert res[1]["contact"]["id"] == c["id"], res
    assert res[1]["contact"]["name"] == "before", res
    now = api.find(c["email"])
    if keyed:
        assert res[1]["action"] == "IMPORT_UPDATE", res
        assert (r.json["created"], r.json["updated"], r.json["unchanged"]) == (1, 1, 0), r.json
        assert [x["name"] for x in now] == ["before"], now
    else:
        assert res[1]["action"] == "IMPORT_NOOP", res
        assert res[1]["contact"]["updated_at"] == c["updated_at"], res
        assert (r.json["created"], r.json["updated"], r.json["unchanged"]) == (1, 0, 1), r.json
        assert [x["name"] for x in now] == ["held"], now


@pytest.mark.parametrize("lists", [False, True])
def test_a_create_that_waited_for_an_erasure_that_suppressed_its_email(api, sql, lists):
    """A create whose look-up found no contact of its email (none was
    committed) waits for the organization's row, which an erasure that
    suppresses the email holds (here one transaction that created the
    contact and erased it, the interleaving of a create and an erasure
    that both ran after the look-up).  Once the erasure commits the
    create is refused 409 suppressed and writes nothing: the suppressions
    are read after the wait, not in the snapshot taken before it."""
    lst = api.new_list()
    email = uniq_email("slip")
    cid = "held" + os.urandom(3).hex()
    held = HeldWrite(
        "SELECT (w).action FROM contact_upsert('%s', '%s', '%s', '%s', 0, NULL, 'Held', "
        "NULL, NULL, NULL, '{}', '{}', NULL) w;\n"
        "SELECT (w).action FROM contact_erase('%s', '%s', NULL, true) w"
        % (api.org_id, cid, email, email, api.org_id, cid))
    body = {"email": email, "name": "slipped"}
    if lists:
        body["addToLists"] = [lst["id"]]
    r = answer_after_held(held, ["IMPORT_CREATE", "ERASE"], sql,
                          lambda: api.post("/contacts", body),
                          "%contact_upsert%", "create")
    assert r.status == 409 and r.json["error"]["code"] == "suppressed", r
    assert api.find(email, includeAll="true") == []
    assert api.members(lst["id"], includeAll="true") == []
    assert api.get_list(lst["id"])["count"] == 0
