"""The reporting rollup on its own schedule (issue 14, MS-WSUSSS 3.2.4.5: "this step MAY be
triggered and run on its own"): a wsusd downstream of a wsusd root reports to it every
`rollup-interval-hours` after its last rollup, without synchronizing.

The downstream synchronizes once with the interval 0 (only the rollup at the sync's end), then runs with the interval 1 and the test-only hour of 2 s
(WSUSD_TEST_ROLLUP_HOUR_S): the scheduler reports at once (the last rollup is older than the
interval) and again later, each time with its log line, the root's row for it is refreshed,
and no synchronization runs. No timed assertion: the waits only bound a hang.
"""

import os
import subprocess
import sys
import time

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
LINE = "scheduler: scheduled reporting rollup (rollup-interval-hours): reporting rollup to upstream "


def start(tmp, servers, dbs, name, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_rollint_" + name)
    dbs.append(db)
    conf = wt.write_config(d, db)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    for k, v in (("account-name", name + ".rollint.test"),) + tuple(settings):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "%s: config set %s %s" % (name, k, v), r)
    return conf, "http://127.0.0.1:%d" % srv.listen_port(), db, srv


def wait_for(what, cond, bound=60):
    deadline = time.monotonic() + bound  # only catches a hang
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    wt.check(False, "%s (still not after %d s)" % (what, bound))
    return False


def run(tmp, servers, dbs):
    pkg = os.path.join(tmp, "gen.cab")
    r = subprocess.run([sys.executable, GEN, "--seed", "3", "--updates", "2", "--no-content",
                        "--out", pkg], capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    root_conf, root_url, root_db, _ = start(tmp, servers, dbs, "root")
    r = wt.wsusctl(root_conf, "import", pkg)
    wt.check(r.returncode == 0, "root: import", r)
    dss_conf, _, dss_db, dss = start(tmp, servers, dbs, "dss",
                                     [("upstream", root_url), ("download", "none")])
    r = wt.wsusctl(dss_conf, "config", "get", "rollup-interval-hours")
    wt.check(r.returncode == 0 and r.stdout.strip().endswith("24"),
             "rollup-interval-hours defaults to 24", r)
    r = wt.wsusctl(dss_conf, "config", "set", "rollup-interval-hours", "0")
    wt.check(r.returncode == 0, "dss: config set rollup-interval-hours 0", r)
    r = wt.wsusctl(dss_conf, "config", "set", "rollup-interval-hours", "8761")
    wt.check(r.returncode == 1 and "rollup-interval-hours" in r.stderr and "0 to 8760" in r.stderr,
             "rollup-interval-hours 8761 is refused with the range", r)
    dss_id = wt.sql_value(dss_db, "SELECT value FROM setting WHERE key = 'server_id'")

    r = wt.wsusctl(dss_conf, "sync", "now", "--wait", timeout=120)
    wt.check(r.returncode == 0 and wt.last_sync(dss_conf).get("result") == "succeeded",
             "dss: first synchronization (it reports at its end)", r)
    syncs = wt.sql_value(dss_db, "SELECT count(*) FROM sync_history")
    first = wt.sql_value(root_db, "SELECT extract(epoch FROM last_rollup) FROM rollup_server"
                         " WHERE server_id = :'p1'", dss_id)
    wt.check(first is not None, "root: the dss reported at the end of its sync", first)
    wt.check(LINE not in dss.output(), "no scheduled rollup ran yet")

    # the interval 1 with the test's 2-second hour: the last rollup is older, so one runs at
    # once, and another one 2 s after it
    r = wt.wsusctl(dss_conf, "config", "set", "rollup-interval-hours", "1")
    wt.check(r.returncode == 0, "dss: config set rollup-interval-hours 1", r)
    dss.stop()
    time.sleep(1.1)  # the rollup record has whole seconds: the next one is a later second
    os.environ["WSUSD_TEST_ROLLUP_HOUR_S"] = "2"
    try:
        dss.start()
    finally:
        del os.environ["WSUSD_TEST_ROLLUP_HOUR_S"]
    wt.check("WSUSD_TEST_ROLLUP_HOUR_S=2: an hour of rollup-interval-hours is 2 s (tests only)"
             in dss.output(), "wsusd warns about the test knob")
    wait_for("two scheduled rollups ran", lambda: dss.output().count(LINE) >= 2)
    out = dss.output()
    want = LINE + root_url + ": 1 servers, 0 computers (0 with details), 0 out of sync, " \
        "0 statuses in 2 requests"
    wt.check(want in out, "the scheduled rollup's log line: " + want,
             [l for l in out.splitlines() if "scheduler" in l][-4:])
    later = wt.sql_value(root_db, "SELECT extract(epoch FROM last_rollup) FROM rollup_server"
                         " WHERE server_id = :'p1'", dss_id)
    wt.check(later is not None and float(later) > float(first), "root: the dss's last rollup moved on",
             (first, later))
    wt.check(wt.sql_value(dss_db, "SELECT count(*) FROM sync_history") == syncs,
             "no synchronization ran for the scheduled rollups")
    r = wt.wsusctl(dss_conf, "sync", "status")
    wt.check(r.returncode == 0 and "rollup:  next at " in r.stdout and
             "(rollup-interval-hours)" in r.stdout, "sync status shows the next rollup", r)



if __name__ == "__main__":
    wt.run_servers(run)
