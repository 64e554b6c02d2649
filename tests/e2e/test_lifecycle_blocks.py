"""Offsets with holes over several blocks (API.md: "offset counts only the
contacts the listing shows, in the same stable creation order"; issue 11:
deep pages stay cheap with deletions, which the schema does with counts
per block of 1024 positions).

About 2,200 contacts (three blocks), all on one list, made with POST /contacts/bulk.
Then deletions at both edges of blocks, a whole block deleted, erasures
and restores; every page around the block edges, and walks by Link, must
be exactly the slice of the shown contacts, for GET /contacts and GET
/lists/{id}/contacts, with and without includeAll.
"""

import concurrent.futures

import pytest

from conftest import next_link, uniq_email
from test_states import sql  # noqa: F401  (the psql fixture)

N = 2200
CHUNK = 200   # bulk rows per request: 1000 with a list can take > 10 s here
BLOCK = 1024


def q(s):
    return "'" + s.replace("'", "''") + "'"


def ids(cs):
    return [c["id"] for c in cs]


def walk(api, path):
    got, links = [], 0
    for _ in range(200):
        r = api.get(path)
        assert r.status == 200, r
        got += ids(r.json["contacts"])
        path = next_link(r)
        if path is None:
            return got, links
        links += 1
    pytest.fail("too many pages")


@pytest.fixture(scope="module")
def big(mod_api, sql):
    api = mod_api
    lst = api.new_list()
    for start in range(0, N, CHUNK):
        rows = [{"email": uniq_email("b%d" % i), "addToLists": [lst["id"]]}
                for i in range(start, min(N, start + CHUNK))]
        r = api.post("/contacts/bulk", {"contacts": rows})
        assert r.status == 200, r
        assert r.json["failed"] == 0 and r.json["created"] == len(rows), \
            r.json["failed"]
    rows = sql("SELECT id, pos FROM contacts WHERE org_id = %s ORDER BY pos"
               % q(api.org_id)).split()
    order = [x.split("|")[0] for x in rows]
    pos = {x.split("|")[0]: int(x.split("|")[1]) for x in rows}
    assert len(order) == N
    return api, lst["id"], order, pos


def check_everything(api, lid, every, shown):
    """Pages around block edges and walks by Link, for /contacts and the
    list's members, with and without includeAll."""
    for path, want in (("/contacts", shown),
                       ("/contacts?includeAll=true", every),
                       ("/lists/%s/contacts" % lid, shown),
                       ("/lists/%s/contacts?includeAll=true" % lid, every)):
        sep = "&" if "?" in path else "?"
        got, _ = walk(api, path)
        assert got == want, path
        got, links = walk(api, path + sep + "limit=700")
        assert got == want, path
        assert links == len(want) // 700, path
        for off in (0, 1, 500, 1000, 1020, 1023, 1024, 1025, 1100, 1500,
                    2000, 2040, 2047, 2048, 2049, 2100,
                    len(want) - 3, len(want) - 1, len(want), len(want) + 5):
            if off < 0:
                continue
            for limit in (1, 37):
                r = api.get(path + sep + "offset=%d&limit=%d" % (off, limit))
                assert r.status == 200, r
                assert ids(r.json["contacts"]) == want[off:off + limit], \
                    (path, off, limit)


def _par(fn, items):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return list(ex.map(fn, items))


def test_offsets_over_several_blocks(big):
    api, lid, order, pos = big
    deleted = set()
    erased = set()

    def state():
        every = [x for x in order if x not in erased]
        shown = [x for x in every if x not in deleted]
        return every, shown

    check_everything(api, lid, *state())

    # deletions at both edges of each block
    edges = [x for x in order if pos[x] % BLOCK in (0, 1, 2, 1021, 1022, 1023)]
    assert len(edges) >= 12
    _par(lambda x: api.delete(x), edges)
    deleted |= set(edges)
    check_everything(api, lid, *state())

    # a whole block deleted
    block1 = [x for x in order if pos[x] // BLOCK == 1]
    _par(lambda x: api.delete(x), [x for x in block1 if x not in deleted])
    deleted |= set(block1)
    check_everything(api, lid, *state())
    assert api.get_list(lid)["count"] == len(state()[1])

    # erasures (of deleted and of shown contacts) and restores
    gone = [block1[5], block1[-1]] + [x for x in order
                                      if pos[x] // BLOCK == 2][10:14]
    _par(lambda x: api.erase(x), gone)
    erased |= set(gone)
    deleted -= set(gone)
    back = block1[100:110] + [edges[0], edges[-1]]
    back = [x for x in back if x not in erased]
    _par(lambda x: api.patch(x, {"status": "active"}), back)
    deleted -= set(back)
    check_everything(api, lid, *state())
    assert api.get_list(lid)["count"] == len(state()[1])
