"""Every statement the service runs is served by an index (issue 3).

`contactsctl explain ORG` prints the plan of each prepared statement with
sequential scans priced out; a statement with no usable index would still
show a Seq Scan.  docs/schema.md shows the same plans on a large table.
"""
import os
import re
import shlex
import subprocess


def ctl(*args):
    cmd = shlex.split(os.environ["CONTACTS_CTL"]) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          timeout=30).stdout


def test_every_statement_uses_an_index():
    org = ctl("org", "create", "explain-check").strip()
    plans = ctl("explain", org)
    statements = [block for block in plans.split("\n-- ") if block.strip()]
    assert len(statements) >= 9, plans
    assert "Seq Scan" not in plans, plans
    # The index each look-up must be served by, as an index condition (not
    # a filter over a wider scan).
    expected = {
        "key_lookup": "api_keys_pkey",
        "contact_by_email": "contacts_org_email",
        "contact_by_id": "contacts_org_id",
        "contacts_page": "contacts_org_live",
        "contacts_page_all": "contacts_pkey",
        "list_by_id": "lists_pkey",
        "list_members_page": "list_members_live",
        "list_members_page_all": "list_members_pkey",
        "lists_page_type": "lists_org_type",
        "fields_list": "custom_fields_org",
    }
    for name, index in expected.items():
        block = next(b for b in statements
                     if b.lstrip("- ").split("\n", 1)[0].strip() == name)
        # "Index Scan using X" or, on a small table, "Bitmap Index Scan on X"
        assert re.search(r"Index (Only )?Scan (using|on) %s\b" % index, block), block
        assert "Index Cond" in block, block
        if name == "contact_by_email":
            assert "email_key" in block.split("Index Cond", 1)[1], block


def test_deep_pages_find_their_block_through_the_block_counts():
    """A page at a deep offset reads the block counts through their primary
    key, and the rows from the block on: no scan of the skipped rows."""
    org = ctl("org", "create", "explain-blocks").strip()
    plans = ctl("explain", org)
    for name, blocks in (("contacts_page", "contact_blocks_pkey"),
                         ("list_members_page", "list_member_blocks_pkey")):
        block = next(b for b in plans.split("\n-- ")
                     if b.lstrip("- ").split("\n", 1)[0].strip() == name)
        assert re.search(r"Index (Only )?Scan (using|on) %s\b" % blocks, block), block
        assert "pos >= $" in block, block
