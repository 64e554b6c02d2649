"""Two organizations see nothing of each other, on every endpoint."""

from conftest import Client, assert_error, new_key, uniq_email


def test_test_shows_each_orgs_own_name(api, api_b):
    a = api.get("/test").json
    b = api_b.get("/test").json
    assert a["organization_id"] == api.org_id
    assert a["organization_name"] == api.org_name
    assert a["api_key_name"] == api.key_name
    assert b["organization_id"] == api_b.org_id
    assert b["organization_name"] == api_b.org_name
    assert b["api_key_name"] == api_b.key_name
    assert api.org_id != api_b.org_id


def test_contacts_not_listed_across_orgs(api, api_b):
    ca = [api.create() for _ in range(3)]
    cb = api_b.create()
    assert api.page().json["contacts"] == ca
    assert api_b.page().json["contacts"] == [cb]
    assert api_b.page(offset=1).json["contacts"] == []
    assert api_b.page(includeAll="true").json["contacts"] == [cb]


def test_email_lookup_across_orgs(api, api_b):
    c = api.create()
    assert api_b.find(c["email"]) == []
    assert api_b.find(c["email"].upper()) == []
    assert api_b.find(c["email"], includeAll="true") == []
    assert api.find(c["email"]) == [c]


def test_same_email_two_independent_contacts(api, api_b):
    email = uniq_email()
    ra = api.post("/contacts", {"email": email, "name": "In A",
                                "type": "employee"})
    assert ra.status == 201 and ra.json["action"] == "IMPORT_CREATE", ra
    rb = api_b.post("/contacts", {"email": email.upper(), "name": "In B"})
    assert rb.status == 201 and rb.json["action"] == "IMPORT_CREATE", rb
    a, b = ra.json["contact"], rb.json["contact"]
    assert a["id"] != b["id"]
    assert b["email"] == email.upper()  # B's own first spelling
    assert b["type"] == "customer"

    rb2 = api_b.post("/contacts", {"email": email, "name": None,
                                   "phone": "9"})
    assert rb2.status == 200, rb2
    assert api.one(email) == a  # A's untouched
    got_b = api_b.one(email)
    assert got_b["id"] == b["id"] and got_b["name"] is None
    assert got_b["phone"] == "9"


def test_cannot_add_to_another_orgs_list(api, api_b):
    la = api.new_list()
    email = uniq_email()
    r = api_b.post("/contacts", {"email": email, "addToLists": [la["id"]]})
    err = assert_error(r, 422, "unknown_list")
    assert la["id"] in err["message"]
    assert api_b.find(email) == []
    assert api_b.all_contacts() == []
    assert api.list_by_id(la["id"])["count"] == 0
    # an existing contact of B cannot be put on A's list either
    cb = api_b.create()
    r = api_b.post("/contacts", {"email": cb["email"], "name": "changed",
                                 "addToLists": [la["id"]]})
    assert_error(r, 422, "unknown_list")
    assert api_b.one(cb["email"]) == cb
    assert api.list_by_id(la["id"])["count"] == 0


def test_lists_not_listed_across_orgs(api, api_b):
    la = [api.new_list(), api.new_list(type="employee")]
    assert api_b.lists() == []
    assert api_b.lists(type="employee") == []
    lb = api_b.new_list()
    assert api.lists() == la
    assert api_b.lists() == [lb]


def test_list_counts_are_per_org(api, api_b):
    la = api.new_list()
    lb = api_b.new_list()
    email = uniq_email()
    api.upsert({"email": email, "addToLists": [la["id"]]}, expect=201)
    api_b.upsert({"email": email, "addToLists": [lb["id"]]}, expect=201)
    api_b.upsert({"email": uniq_email(), "addToLists": [lb["id"]]},
                 expect=201)
    assert api.list_by_id(la["id"])["count"] == 1
    assert api_b.list_by_id(lb["id"])["count"] == 2


def test_second_key_of_same_org_sees_same_data(api, make_org):
    k2 = new_key(api.org_id)
    same = Client(api.org_id, api.org_name, k2, "k2")
    c = api.create()
    lst = api.new_list()
    assert same.find(c["email"]) == [c]
    assert same.lists() == [lst]
    other = make_org()
    assert other.find(c["email"]) == []
