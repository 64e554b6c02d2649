"""The master as systemd sees it: READY, the watchdog's heartbeat, and a
reload whose verdict reaches `systemctl reload` (contacts-fcgi --reload,
the unit's ExecReload=).  A private pool with a notification socket of the
test's own (private_pool.py); the stack's pool is not touched."""

import os

from private_pool import PrivatePool


def _states(pool):
    return [m for _, m in pool.messages]


def test_ready_then_a_heartbeat_every_half_interval():
    with PrivatePool(notify=True, watchdog_usec=400000) as pool:
        pool.read_notify(2.0)
        states = _states(pool)
        assert states and states[0] == "READY=1", states
        beats = [t for t, m in pool.messages if m == "WATCHDOG=1"]
        # every 200 ms (half of 400 ms) for 2 s: about ten
        assert 6 <= len(beats) <= 14, states
        gaps = [b - a for a, b in zip(beats[1:], beats[2:])]
        assert max(gaps) < 0.4, gaps


def test_no_heartbeat_without_a_watchdog():
    with PrivatePool(notify=True) as pool:
        pool.read_notify(1.0)
        assert "WATCHDOG=1" not in _states(pool), _states(pool)


def test_reload_accepted_answers_0_and_replaces_the_workers():
    with PrivatePool(notify=True, settings={"workers": "2"}) as pool:
        old = set(pool.workers())
        pool.settings["log_level"] = "debug"
        pool.write_config()
        rc, out = pool.reload()
        assert rc == 0, out
        assert "reloaded" in out, out
        pool.read_notify(0.5)
        states = _states(pool)
        reloading = [i for i, m in enumerate(states) if m.startswith("RELOADING=1")]
        assert reloading and "READY=1" in states[reloading[0]:], states
        assert "MONOTONIC_USEC=" in states[reloading[0]], states
        assert not old & set(pool.workers()), "old workers still there"
        assert "configuration reloaded" in pool.log_text()


def test_reload_refused_by_the_check_never_reaches_the_pool():
    with PrivatePool(notify=True) as pool:
        pool.read_notify(0.3)
        old = set(pool.workers())
        bad = os.path.join(pool.dir, "bad.conf")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("wrokers = 3\n")
        rc, out = pool.reload(config=bad)
        assert rc == 1, out
        assert "refused" in out and "wrokers" in out, out
        rc, out = pool.reload(env={"CONTACTS_WORKERS": "many"})
        assert rc == 1 and "CONTACTS_WORKERS" in out, out
        pool.read_notify(0.3)
        assert not any(m.startswith("RELOADING") for m in _states(pool))
        assert set(pool.workers()) == old


def test_reload_refused_by_the_master_answers_1_and_keeps_the_pool():
    """The file the master reads is refused, though the one checked first
    was fine: the master's own verdict makes --reload fail."""
    with PrivatePool(notify=True) as pool:
        old = set(pool.workers())
        good = os.path.join(pool.dir, "checked.conf")
        with open(pool.conf, encoding="utf-8") as f, \
                open(good, "w", encoding="utf-8") as g:
            g.write(f.read())
        pool.write_config(extra="workers = lots\n")
        rc, out = pool.reload(config=good)
        assert rc == 1, out
        assert "refused" in out and "keeps" in out, out
        pool.read_notify(0.3)
        states = _states(pool)
        assert any(m.startswith("RELOADING=1") for m in states), states
        assert states[-1] == "READY=1", states
        assert set(pool.workers()) == old
        assert "reload refused" in pool.log_text()
        status, _, _ = pool.request("GET", "/healthz")
        assert status == 200


def test_reload_of_a_process_that_is_gone_fails():
    with PrivatePool() as pool:
        conf = pool.conf
        pid = pool.pid
    # the pool is stopped now; its configuration file is gone with it
    import subprocess
    from private_pool import BINARY
    p = subprocess.run([BINARY, "-c", os.devnull, "--reload", str(pid)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p
    assert "cannot signal" in p.stderr or "exited" in p.stderr, p.stderr
    assert not os.path.exists(conf)


def test_reload_usage_errors():
    import subprocess
    from private_pool import BINARY
    for args in (["--reload", "x"], ["--reload", "1"], ["--reload"],
                 ["--check-config", "--reload", "123"]):
        p = subprocess.run([BINARY] + args, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 2, (args, p)
