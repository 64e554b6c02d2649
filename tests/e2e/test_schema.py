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
        "contacts_by_pos": "contacts_pkey",
        "contacts_live": "contacts_org_live",
        "lists_page_type": "lists_org_type",
    }
    for name, index in expected.items():
        block = next(b for b in statements if b.lstrip("- ").startswith(name))
        # "Index Scan using X" or, on a small table, "Bitmap Index Scan on X"
        assert re.search(r"Index (Only )?Scan (using|on) %s\b" % index, block), block
        assert "Index Cond" in block, block
        if name == "contact_by_email":
            assert "email_key" in block.split("Index Cond", 1)[1], block
