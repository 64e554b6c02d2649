"""Fault tests on the loopback cluster (scripts/cluster, issue 15).

The session brings up a cluster of its own with `scripts/cluster up`: in
a temporary directory (CLUSTER_DIR: $TEST_CLUSTER_DIR, which must not
exist yet, as scripts/test --cluster sets it, or one under /tmp) on the
ports from
TEST_CLUSTER_PORT_BASE (default 18700; the cluster takes base to
base+42), and stops it with `scripts/cluster down` at the end
(KEEP_RUN_DIR=1 keeps the directory and its logs).  Before each test the
cluster is made whole again (scripts/cluster up starts what a test
killed; Patroni and the sentinels have made their own repairs) and the
test waits, bounded, until it is: a streaming synchronous PostgreSQL
replica, a linked Redis replica, every pool with its workers.

What the tests measure (seconds of errors, failover times) is printed at
the end of the run, and written to $CLUSTER_RESULTS when it is set.

Standard library and pytest only.
"""

import json
import os
import shutil
import tempfile

import pytest

from cluster import Cluster

RESULTS = {}


def record(test, **values):
    """Numbers a test measured, for the summary."""
    RESULTS.setdefault(test, {}).update(values)


@pytest.fixture(scope="session")
def cluster_session():
    base = int(os.environ.get("TEST_CLUSTER_PORT_BASE", "18700"))
    d = os.environ.get("TEST_CLUSTER_DIR")
    if d:
        os.makedirs(d, mode=0o755)
    else:
        d = tempfile.mkdtemp(prefix="contacts-cluster.", dir="/tmp")
    os.chmod(d, 0o755)
    env = dict(os.environ)
    env.update({"CLUSTER_DIR": d, "CLUSTER_PORT_BASE": str(base),
                "NO_INSTALL": "1"})
    c = Cluster(d, base, env)
    try:
        c.up()
        yield c
    finally:
        try:
            c.script("down", timeout=300)
        finally:
            if os.environ.get("KEEP_RUN_DIR") == "1":
                print("kept %s" % d)
            else:
                shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cluster(cluster_session):
    """The cluster, whole (see above) when the test starts."""
    cluster_session.up()
    return cluster_session


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    terminalreporter.section("cluster measurements")
    for test, values in RESULTS.items():
        terminalreporter.write_line("%s:" % test)
        for k, v in values.items():
            if isinstance(v, float):
                v = "%.2f" % v
            terminalreporter.write_line("    %-36s %s" % (k, v))
    out = os.environ.get("CLUSTER_RESULTS")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(RESULTS, f, indent=2, sort_keys=True)
