"""The rollup summary a downstream sends its upstream (MS-WSUSSS 3.1.4.14.3.3
DownstreamServerRollupServerSummary) says what `wsusctl report` says on the downstream, real
wsusd processes on 127.0.0.1:

root  imports a few generated updates.
leaf  synchronizes from root; one update approved for All Computers; six emulated Windows
      computers (tests/tools/wuclient.py) register and send their status event (156): three
      need it, two have it installed, one needs it and then fails to install it (161).

After the leaf's next synchronization (which rolls it up to the root), the root's stored
summary of the leaf (`wsusctl downstreams --json`) has the computers needing updates, with
errors and up to date that `wsusctl report --json` counts on the leaf (3, 1, 2, not the 0s it
used to send), and the update counts that go with them; the root's report of the leaf's
computers has the same needed / installed / failed of that update as the leaf's own report: the
statuses went up from the status event, as the report counts them.
"""

import json
import os
import subprocess
import sys
import types

import wsustest as wt

sys.path.insert(0, os.path.join(wt.SRC, "tests", "tools"))
import wuclient  # noqa: E402

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
PC = "3f2504e0-4f89-11d3-9a0c-0305e82c33%02d"
CRITICAL_OR_SECURITY = ("e6cf1350-c01b-414d-a61f-263d14d133b4",
                        "0fa1201d-4330-4fa8-8ae9-b877473b6441")


def start(tmp, servers, dbs, name, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_rsum_" + name)
    dbs.append(db)
    conf = wt.write_config(d, db)
    servers.append(wt.Wsusd(conf).start())
    for k, v in (("account-name", name + ".rollup.test"),) + tuple(settings):
        ctl(conf, "config", "set", k, v)
    return conf, "http://127.0.0.1:%d" % servers[-1].listen_port(), db


def ctl(conf, *args):
    r = wt.wsusctl(conf, *args, timeout=120)
    wt.check(r.returncode == 0, "wsusctl %s" % " ".join(args), r)
    return r.stdout


def sync(conf, what):
    ctl(conf, "sync", "now", "--wait")
    h = wt.last_sync(conf)
    wt.check(h.get("result") == "succeeded" and not h.get("error"),
             "%s: synchronization succeeded without a warning" % what, h)


def run(tmp, servers, dbs):
    pkg = os.path.join(tmp, "gen.cab")
    r = subprocess.run([sys.executable, GEN, "--seed", "11", "--updates", "4", "--no-content",
                        "--out", pkg], capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    root_conf, root_url, root_db = start(tmp, servers, dbs, "root")
    ctl(root_conf, "import", pkg)
    leaf_conf, leaf_url, leaf_db = start(tmp, servers, dbs, "leaf",
                                         [("upstream", root_url), ("download", "none")])
    sync(leaf_conf, "leaf, first")
    leaf_id = wt.sql_value(leaf_db, "SELECT value FROM setting WHERE key = 'server_id'")
    u1 = wt.sql_value(leaf_db, "SELECT min(update_id::text) FROM revision r WHERE update_type = "
                               "'Software' AND NOT EXISTS (SELECT 1 FROM revision_bundle b WHERE "
                               "b.member_update_id = r.update_id)")
    ctl(leaf_conf, "approve", u1)

    pcs = []
    for i in range(1, 7):
        c = wuclient.WuClient(leaf_url, wuclient.Machine(
            client_id=PC % i, computer_name="pc%d.rollup.test" % i, os_version="10.0.26100.4061"))
        c.get_config()
        c.authorize()
        c.register_computer()
        pcs.append(c)
    needs, has = ["U=" + u1.upper()], ["V=" + u1.upper()]
    for i, (c, misc) in enumerate(zip(pcs, (needs, needs, needs, has, has, needs)), 1):
        wt.check(c.report([c.event(156, misc=misc)]), "pc%d: status event accepted" % i)
    # pc6 then fails to install it: the later event overrides its status
    upd = types.SimpleNamespace(update_id=u1, revision=1, title=u1)
    wt.check(pcs[5].report([pcs[5].event(161, -2145099769, upd)]), "pc6: failure accepted")

    rep = json.loads(ctl(leaf_conf, "--json", "report"))
    got = (rep.get("computers"), rep.get("needing_updates"), rep.get("with_errors"),
           rep.get("up_to_date"))
    wt.check(got == (6, 3, 1, 2), "leaf: report --json counts 6 computers, 3 needing updates, "
             "1 with errors, 2 up to date", rep)
    row = [u for u in rep.get("updates", []) if u["update_id"] == u1]
    wt.check(len(row) == 1 and (row[0]["needed"], row[0]["installed"], row[0]["failed"]) ==
             (3, 2, 1), "leaf: the approved update needed by 3, installed on 2, failed on 1", rep)
    out = ctl(leaf_conf, "report")
    wt.check("needing updates: 3, with update errors: 1, up to date: 2\n" in out,
             "leaf: report prints the computer counts", out)

    sync(leaf_conf, "leaf, rolling up its computers")
    tree = json.loads(ctl(root_conf, "--json", "downstreams"))["tree"]
    leaf = tree[0] if len(tree) == 1 and tree[0].get("server_id") == leaf_id else {}
    s = leaf.get("summary", {})
    got = {k: s.get(k) for k in ("ComputerTargetCount", "ComputerTargetsNeedingUpdatesCount",
                                 "ComputerTargetsWithUpdateErrorsCount",
                                 "ComputersUpToDateCount")}
    wt.check(got == {"ComputerTargetCount": rep["computers"],
                     "ComputerTargetsNeedingUpdatesCount": rep["needing_updates"],
                     "ComputerTargetsWithUpdateErrorsCount": rep["with_errors"],
                     "ComputersUpToDateCount": rep["up_to_date"]},
             "root: the leaf's summary has the computer counts of the leaf's report", leaf)
    n = int(wt.sql_value(leaf_db, "SELECT count(DISTINCT update_id) FROM revision WHERE "
                                  "update_type IN ('Software', 'Driver')"))
    crit = int(wt.sql_value(
        leaf_db, "SELECT count(DISTINCT r.update_id) FROM revision r JOIN revision_prerequisite p "
                 "ON p.revision_id = r.id WHERE p.is_category AND p.update_id::text IN "
                 "(:'p1', :'p2') AND r.update_type IN ('Software', 'Driver') AND "
                 "r.update_id::text <> :'p3'", *CRITICAL_OR_SECURITY, u1))
    got = {k: s.get(k) for k in ("UpdateCount", "ApprovedUpdateCount",
                                 "UpdatesNeededByComputersCount", "UpdatesWithClientErrorsCount",
                                 "UpdatesUpToDateCount",
                                 "CriticalOrSecurityUpdatesNotApprovedForInstallCount",
                                 "UpdatesNeedingFilesCount", "UpdatesWithServerErrorsCount")}
    wt.check(got == {"UpdateCount": n, "ApprovedUpdateCount": 1,
                     "UpdatesNeededByComputersCount": 1, "UpdatesWithClientErrorsCount": 1,
                     "UpdatesUpToDateCount": n - 1,
                     "CriticalOrSecurityUpdatesNotApprovedForInstallCount": crit,
                     "UpdatesNeedingFilesCount": 0, "UpdatesWithServerErrorsCount": 0},
             "root: the leaf's update counts (one approved update, needed and failed; %d "
             "critical or security updates not approved; no file kept with download none)"
             % crit, s)

    # the statuses at the top are the leaf's: the same needed / installed / failed
    down = json.loads(ctl(root_conf, "--json", "report"))["downstream"]
    top = [u for u in down.get("updates", []) if u["update_id"] == u1]
    wt.check(down.get("computers") == 6 and len(top) == 1 and
             (top[0]["computers"], top[0]["needed"], top[0]["installed"], top[0]["failed"]) ==
             (row[0]["approved"], row[0]["needed"], row[0]["installed"], row[0]["failed"]),
             "root: report --json of the leaf's computers equals the leaf's report of the "
             "update", (down, row))


if __name__ == "__main__":
    wt.run_servers(run)
