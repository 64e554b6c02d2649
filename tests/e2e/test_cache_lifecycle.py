"""Read-your-writes through the Redis cache for the Round 2 writes (API.md
"Consistency"; issue 11: "the cache still never serves a stale answer
after any of the new writes").

Each case fills the cache first: every read it will check is made until
the service's own counters (/metrics) say it was answered from the cache,
so the old answer is there to be served.  Then one write, and then each
read, on a fresh connection (so on any worker), must show the write.  The
reads are made in a different order in each round, so that every kind of
read is, in some round, the very next request after the write: the email
look-up (with and without includeAll), pages of GET /contacts (offsets
that the write shifts) and pages of GET /lists/{id}/contacts.
"""

import pytest

import stack
from conftest import assert_error, uniq_email

ROUNDS = 4


@pytest.fixture(autouse=True)
def _redis_in_use():
    assert stack.redis_answers(), "these tests need the stack's Redis"
    yield


def ids(cs):
    return [c["id"] for c in cs]


def warm(read):
    """Repeats READ until one answer of it is a cache hit; returns it."""
    read()
    for _ in range(6):
        before = stack.cache_counters()
        r = read()
        after = stack.cache_counters()
        assert r.status == 200, r
        if after["hits"] > before["hits"]:
            return r
    pytest.fail("the read never became a cache hit: %r" % (read,))


class Reads:
    """Named reads of one organization, each a function -> Resp."""

    def __init__(self, api):
        self.api = api

    def lookup(self, email, all_=False):
        params = {"email": email}
        if all_:
            params["includeAll"] = "true"
        return lambda: self.api.get("/contacts", params=params)

    def page(self, **params):
        return lambda: self.api.get("/contacts", params=params or None)

    def members(self, lid, **params):
        return lambda: self.api.get("/lists/%s/contacts" % lid,
                                    params=params or None)


def run_rounds(make_case, rounds=ROUNDS):
    """make_case(i) -> (write, checks): checks is a list of (read, check);
    every read is warmed, then write() runs, then the checks, starting
    with check i (mod their number)."""
    for i in range(rounds):
        write, checks = make_case(i)
        for read, _ in checks:
            warm(read)
        write()
        n = len(checks)
        for k in range(n):
            read, check = checks[(i + k) % n]
            check(read())


def contacts_of(r):
    assert r.status == 200, r
    return r.json["contacts"]


# --------------------------------------------------------------------------
# DELETE


@pytest.mark.parametrize("form", ["id", "query", "body"])
def test_delete_is_seen_at_once(api, form):
    rd = Reads(api)
    lst = api.new_list()

    def case(i):
        a, b, c = [api.create(addToLists=[lst["id"]]) for _ in range(3)]
        shown_before = [x["id"] for x in api.members(lst["id"])]
        pos = shown_before.index(b["id"])

        def write():
            if form == "id":
                api.delete(b["id"])
            elif form == "query":
                api.delete("/contacts", params={"email": b["email"]})
            else:
                api.delete("/contacts", body={"email": b["email"]})

        shown = [x for x in shown_before if x != b["id"]]

        def is_deleted(r):
            cs = contacts_of(r)
            assert len(cs) == 1 and cs[0]["status"] == "deleted", r

        checks = [
            (rd.lookup(b["email"]), lambda r: _eq(contacts_of(r), [], r)),
            (rd.lookup(b["email"], True), is_deleted),
            (rd.page(), lambda r: _eq(ids(contacts_of(r)), shown, r)),
            (rd.page(offset=pos, limit=1),
             lambda r: _eq(ids(contacts_of(r)), shown[pos:pos + 1], r)),
            (rd.members(lst["id"]),
             lambda r: _eq(ids(contacts_of(r)), shown, r)),
            (rd.members(lst["id"], offset=pos, limit=2),
             lambda r: _eq(ids(contacts_of(r)), shown[pos:pos + 2], r)),
        ]
        return write, checks

    run_rounds(case)


def _eq(got, want, r):
    assert got == want, (got, want, r)


# --------------------------------------------------------------------------
# PATCH


def test_patch_is_seen_at_once(api):
    rd = Reads(api)
    lst = api.new_list()
    c = api.create(addToLists=[lst["id"]])

    def case(i):
        name = "name-%d" % i

        def write():
            api.patch(c["id"], {"name": name, "status": ["unsubscribed",
                                                         "active"][i % 2]})

        def check(r):
            cs = contacts_of(r)
            assert [x["name"] for x in cs] == [name], r

        return write, [(rd.lookup(c["email"]), check),
                       (rd.lookup(c["email"], True), check),
                       (rd.page(), check),
                       (rd.page(limit=1), check),
                       (rd.members(lst["id"]), check)]

    run_rounds(case)


def test_patch_email_is_seen_at_once(api):
    rd = Reads(api)
    lst = api.new_list()
    first = api.create(addToLists=[lst["id"]])
    c = api.create(addToLists=[lst["id"]])
    cur = [c["email"]]

    def case(i):
        old, new = cur[0], uniq_email("moved%d" % i)

        def write():
            api.patch(c["id"], {"email": new})
            cur[0] = new

        def found(r):
            cs = contacts_of(r)
            assert [(x["id"], x["email"]) for x in cs] == [(c["id"], new)], r

        def in_page(r):
            cs = contacts_of(r)
            assert [x["email"] for x in cs] == [first["email"], new], r

        # the new email's look-up is cached too: empty, before the write
        return write, [(rd.lookup(old), lambda r: _eq(contacts_of(r), [], r)),
                       (rd.lookup(old, True),
                        lambda r: _eq(contacts_of(r), [], r)),
                       (rd.lookup(new), found),
                       (rd.lookup(new.upper(), True), found),
                       (rd.page(), in_page),
                       (rd.members(lst["id"]), in_page)]

    run_rounds(case)


def test_patch_case_of_email_is_seen_at_once(api):
    rd = Reads(api)
    c = api.create(email=uniq_email("MiXeD"))

    def case(i):
        new = c["email"].upper() if i % 2 == 0 else c["email"].lower()

        def write():
            api.patch(c["id"], {"email": new})

        def check(r):
            assert [x["email"] for x in contacts_of(r)] == [new], r

        return write, [(rd.lookup(c["email"].lower()), check),
                       (rd.lookup(c["email"].upper()), check),
                       (rd.page(), check)]

    run_rounds(case)


# --------------------------------------------------------------------------
# erase


@pytest.mark.parametrize("suppress", [False, True])
def test_erase_is_seen_at_once(api, suppress):
    rd = Reads(api)
    lst = api.new_list()
    keep = api.create(addToLists=[lst["id"]])

    def case(i):
        c = api.create(addToLists=[lst["id"]])
        if i % 2:
            api.delete(c["id"])   # erasing a deleted one, too

        def write():
            api.erase(c["id"], suppress=suppress)

        none = lambda r: _eq(contacts_of(r), [], r)  # noqa: E731
        only_keep = lambda r: _eq(ids(contacts_of(r)), [keep["id"]], r)  # noqa: E731
        return write, [(rd.lookup(c["email"]), none),
                       (rd.lookup(c["email"], True), none),
                       (rd.page(), only_keep),
                       (rd.page(includeAll="true"), only_keep),
                       (rd.page(includeAll="true", offset=1, limit=1), none),
                       (rd.members(lst["id"]), only_keep),
                       (rd.members(lst["id"], includeAll="true"), only_keep)]

    run_rounds(case)
    # the next request by id, too
    c = api.create()
    for _ in range(2):
        api.get_contact(c["id"])
    api.erase(c["id"])
    assert_error(api.get("/contacts/" + c["id"]), 404, "not_found")


# --------------------------------------------------------------------------
# restore


@pytest.mark.parametrize("how", ["post", "patch"])
def test_restore_is_seen_at_once(api, how):
    rd = Reads(api)
    lst = api.new_list()
    a = api.create(addToLists=[lst["id"]])
    z = api.create(addToLists=[lst["id"]])

    def case(i):
        api.delete(a["id"])

        def write():
            if how == "post":
                api.upsert({"email": a["email"]}, expect=200)
            else:
                api.patch(a["id"], {"status": "active"})

        def active(r):
            cs = contacts_of(r)
            assert [(x["id"], x["status"]) for x in cs] == \
                [(a["id"], "active")], r

        both = lambda r: _eq(ids(contacts_of(r)), [a["id"], z["id"]], r)  # noqa: E731
        return write, [(rd.lookup(a["email"]), active),
                       (rd.lookup(a["email"], True), active),
                       (rd.page(), both),
                       (rd.page(limit=1), active),
                       (rd.page(offset=1, limit=1),
                        lambda r: _eq(ids(contacts_of(r)), [z["id"]], r)),
                       (rd.members(lst["id"]), both)]

    run_rounds(case)


# --------------------------------------------------------------------------
# list membership


@pytest.mark.parametrize("how", ["patch", "post"])
def test_list_add_and_remove_is_seen_at_once(api, how):
    rd = Reads(api)
    lst = api.new_list()
    base = [api.create(addToLists=[lst["id"]]) for _ in range(3)]
    x = api.create()

    def change(body):
        if how == "patch":
            api.patch(x["id"], body)
        else:
            api.upsert(dict(body, email=x["email"]), expect=200)

    def case(i):
        adding = i % 2 == 0
        after = ids(base) + ([x["id"]] if adding else [])

        def write():
            change({"addToLists": [lst["id"]]} if adding
                   else {"removeFromLists": [lst["id"]]})

        return write, [
            (rd.members(lst["id"]), lambda r: _eq(ids(contacts_of(r)),
                                                  after, r)),
            (rd.members(lst["id"], includeAll="true"),
             lambda r: _eq(ids(contacts_of(r)), after, r)),
            (rd.members(lst["id"], offset=2, limit=2),
             lambda r: _eq(ids(contacts_of(r)), after[2:4], r)),
            (rd.members(lst["id"], offset=3, limit=1),
             lambda r: _eq(ids(contacts_of(r)), after[3:4], r)),
        ]

    run_rounds(case)
    assert api.get_list(lst["id"])["count"] == 3


def test_removed_and_added_again_goes_last_at_once(api):
    rd = Reads(api)
    lst = api.new_list()
    cs = [api.create(addToLists=[lst["id"]]) for _ in range(4)]
    order = ids(cs)

    def case(i):
        moved = order[0]

        def write():
            api.patch(moved, {"removeFromLists": [lst["id"]]})
            # warm the intermediate answer too, then add back
            warm(rd.members(lst["id"]))
            api.patch(moved, {"addToLists": [lst["id"]]})
            order.append(order.pop(0))

        return write, [(rd.members(lst["id"]),
                        lambda r: _eq(ids(contacts_of(r)), order, r)),
                       (rd.members(lst["id"], limit=1),
                        lambda r: _eq(ids(contacts_of(r)), order[:1], r)),
                       (rd.members(lst["id"], offset=3, limit=1),
                        lambda r: _eq(ids(contacts_of(r)), order[3:], r))]

    run_rounds(case)


# --------------------------------------------------------------------------
# DELETE /fields, DELETE /lists


def test_delete_field_is_seen_at_once(api):
    rd = Reads(api)
    lst = api.new_list()

    def case(i):
        name = "f%d" % i
        api.new_field(name, "string")
        c = api.create(addToLists=[lst["id"]], fields={name: "v%d" % i})

        def write():
            r = api.request("DELETE", "/fields/" + name)
            assert r.status == 204, r

        def no_value(r):
            for x in contacts_of(r):
                assert name not in x["fields"], r

        def found_without(r):
            cs = contacts_of(r)
            assert len(cs) == 1 and cs[0]["fields"] == {}, r

        return write, [(rd.lookup(c["email"]), found_without),
                       (rd.page(), no_value),
                       (rd.page(includeAll="true"), no_value),
                       (rd.members(lst["id"]), no_value)]

    run_rounds(case)


def test_delete_list_is_seen_at_once(api):
    rd = Reads(api)
    for i in range(ROUNDS):
        lst = api.new_list()
        api.create(addToLists=[lst["id"]])
        reads = [rd.members(lst["id"]), rd.members(lst["id"], limit=1),
                 rd.members(lst["id"], includeAll="true")]
        for read in reads:
            warm(read)
        assert api.request("DELETE", "/lists/" + lst["id"]).status == 200
        for k in range(len(reads)):
            assert_error(reads[(i + k) % len(reads)](), 404, "not_found")


def test_patch_list_name_is_seen_at_once(api):
    lst = api.new_list(name="before")
    for i in range(ROUNDS):
        api.get_list(lst["id"])
        api.lists()
        r = api.request("PATCH", "/lists/" + lst["id"],
                        body={"name": "after-%d" % i})
        assert r.status == 200, r
        assert api.get_list(lst["id"])["name"] == "after-%d" % i
        assert api.list_by_id(lst["id"])["name"] == "after-%d" % i
