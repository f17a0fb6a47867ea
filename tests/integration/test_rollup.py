"""The reporting rollup along a three-tier wsusd chain (issue 14, MS-WSUSSS 3.2.4.5), real wsusd
processes on 127.0.0.1:

root    imports a few generated updates.
middle  synchronizes from root.
leaf    synchronizes from middle; two emulated Windows computers (tests/tools/wuclient.py)
        register with it and report an install and a failure.

Each downstream reports to its upstream at the end of its synchronization: the leaf rolls up to
the middle, then the middle rolls up itself, the leaf and the leaf's computers to the root. The
root must then list middle and leaf below it with their summaries and report exactly the leaf's
computers and statuses. A second round without client changes sends no computer and no status
again (the root's rows keep their reception time; the downstreams say so in their rollup
record), a client change sends that one computer only (`wsusctl sync rollup`, the rollup run
alone), a rollup the upstream refuses leaves the synchronization succeeded with the refusal as
its warning, and an upstream without the reporting service is skipped with one info line.
"""

import json
import os
import re
import subprocess
import sys
import threading
import types

import test_sync_windows as tw
import wsustest as wt

sys.path.insert(0, os.path.join(wt.SRC, "tests", "tools"))
import wuclient  # noqa: E402

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
PC1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
PC2 = "3f2504e0-4f89-11d3-9a0c-0305e82c3302"


def start(tmp, servers, dbs, name, settings=()):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    db = wt.create_db("it_rollup_" + name)
    dbs.append(db)
    conf = wt.write_config(d, db)
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    for k, v in (("account-name", name + ".rollup.test"),) + tuple(settings):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "%s: config set %s %s" % (name, k, v), r)
    return conf, "http://127.0.0.1:%d" % srv.listen_port(), db, srv


def sync(conf, what):
    r = wt.wsusctl(conf, "sync", "now", "--wait", timeout=120)
    h = wt.last_sync(conf)
    wt.check(r.returncode == 0 and h.get("result") == "succeeded" and not h.get("error"),
             "%s: synchronization succeeded without a warning" % what, (r, h.get("error")))
    return h


def ctl(conf, *args):
    r = wt.wsusctl(conf, *args)
    wt.check(r.returncode == 0, "wsusctl %s" % " ".join(args), r)
    return r.stdout


def last_rollup(db):
    v = wt.sql_value(db, "SELECT value FROM upstream_state WHERE key = 'rollup-last'")
    return json.loads(v) if v else {}


def server_id(db):
    return wt.sql_value(db, "SELECT value FROM setting WHERE key = 'server_id'")


def client(url, cid, name):
    c = wuclient.WuClient(url, wuclient.Machine(client_id=cid, computer_name=name,
                                                os_version="10.0.26100.4061"))
    c.get_config()
    c.authorize()
    c.register_computer()
    return c


def upd(uid):
    return types.SimpleNamespace(update_id=uid, revision=1, title=uid)


def run(tmp, servers, dbs):
    pkg = os.path.join(tmp, "gen.cab")
    r = subprocess.run([sys.executable, GEN, "--seed", "7", "--updates", "4", "--no-content",
                        "--out", pkg], capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    root_conf, root_url, root_db, _ = start(tmp, servers, dbs, "root")
    r = wt.wsusctl(root_conf, "import", pkg)
    wt.check(r.returncode == 0, "root: import", r)
    mid_conf, mid_url, mid_db, mid_srv = start(tmp, servers, dbs, "middle",
                                               [("upstream", root_url), ("download", "none")])
    leaf_conf, leaf_url, leaf_db, leaf_srv = start(tmp, servers, dbs, "leaf",
                                                   [("upstream", mid_url), ("download", "none")])
    root_id, mid_id, leaf_id = server_id(root_db), server_id(mid_db), server_id(leaf_db)

    # the catalogs first: middle from root, then leaf from middle (each already rolls itself up)
    sync(mid_conf, "middle, first")
    sync(leaf_conf, "leaf, first")
    got = last_rollup(leaf_db)
    wt.check(got.get("result") == "succeeded" and got.get("servers") == 1 and
             got.get("computers") == 0, "leaf's first rollup: itself, no computer yet", got)

    updates = [u for (u,) in wt.sql(leaf_db, "SELECT DISTINCT update_id FROM revision r WHERE "
                                             "update_type = 'Software' AND NOT EXISTS (SELECT 1 "
                                             "FROM revision_bundle b WHERE b.member_update_id = "
                                             "r.update_id) ORDER BY 1")]
    wt.check(len(updates) >= 2, "the leaf holds the generated updates", updates)
    u1, u2 = updates[0], updates[1]
    # approved, as a client installs only approved updates: the summary counts the failures
    # of approved updates (the rule of wsusctl report)
    ctl(leaf_conf, "approve", u1)
    ctl(leaf_conf, "approve", u2)
    pc1 = client(leaf_url, PC1, "pc1.rollup.test")
    pc2 = client(leaf_url, PC2, "pc2.rollup.test")
    wt.check(pc1.report([pc1.event(183, 0, upd(u1)), pc1.event(161, -2145099769, upd(u2))]),
             "pc1: install of u1 and failure of u2 accepted")
    wt.check(pc2.report([pc2.event(183, 0, upd(u2))]), "pc2: install of u2 accepted")

    # one sync per tier: the leaf reports to the middle, then the middle to the root
    sync(leaf_conf, "leaf")
    got = last_rollup(leaf_db)
    wt.check(got.get("computers") == 2 and got.get("details") == 2 and
             got.get("statuses") == 2, "leaf rolled up both computers with details and status",
             got)
    # a rollup the upstream refuses never fails the synchronization: it is its warning
    r = wt.wsusctl(root_conf, "config", "set", "rollup-max-computers", "1")
    wt.check(r.returncode == 0, "root: at most 1 computer per branch", r)
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait", timeout=120)
    h = wt.last_sync(mid_conf)
    want = ("the reporting rollup to upstream %s stopped at RollupComputers: upstream %s "
            "refused RollupComputers: InvalidParameters (downstream %s would hold 2 computers, "
            "more than 1 (setting rollup-max-computers); nothing stored); the synchronization "
            "itself succeeded, and the next one sends the rest" % (root_url, root_url, mid_id))
    wt.check(r.returncode == 0 and h.get("result") == "succeeded" and h.get("error") == want,
             "middle: the sync succeeds although the root refuses the computers, with the "
             "warning: " + want, (r, h))
    got = last_rollup(mid_db)
    wt.check(got.get("result") == "failed" and got.get("computers") == 0,
             "middle: the rollup is recorded as failed, no computer recorded as sent", got)
    r = wt.wsusctl(root_conf, "config", "reset", "rollup-max-computers")
    wt.check(r.returncode == 0, "root: the bound back to its default", r)
    sync(mid_conf, "middle")
    got = last_rollup(mid_db)
    wt.check(got.get("result") == "succeeded" and got.get("servers") == 2 and
             got.get("computers") == 2 and got.get("statuses") == 2,
             "middle rolled up itself, the leaf and the leaf's two computers", got)

    rows = wt.sql(root_db, "SELECT server_id, parent_id, name FROM rollup_server ORDER BY name")
    wt.check(rows == [[leaf_id, mid_id, "leaf.rollup.test"],
                      [mid_id, root_id, "middle.rollup.test"]],
             "root: middle below root, leaf below middle", rows)
    rows = wt.sql(root_db, "SELECT computer_id, server_id, name FROM rollup_computer "
                           "ORDER BY computer_id")
    wt.check(rows == [[PC1, leaf_id, "pc1.rollup.test"], [PC2, leaf_id, "pc2.rollup.test"]],
             "root: exactly the leaf's computers, each under the leaf", rows)
    rows = wt.sql(root_db, "SELECT computer_id, update_id, state FROM rollup_status "
                           "ORDER BY 1, 2")
    states = sorted([[PC1, u1, "4"], [PC1, u2, "5"], [PC2, u2, "4"]])
    wt.check(rows == states, "root: the leaf's statuses (installed 4, failed 5)", rows)
    summary = wt.sql_value(root_db, "SELECT summary[15] FROM rollup_server WHERE server_id = "
                                    ":'p1'", leaf_id)
    wt.check(summary == "2", "root: the leaf's summary counts its 2 computers", summary)

    # what the root's admin sees: the tree of servers with their summaries, and the report and
    # computer list of exactly the leaf's computers
    tree = json.loads(ctl(root_conf, "--json", "downstreams"))["tree"]
    wt.check([(t["name"], t["parent_id"]) for t in tree] == [("middle.rollup.test", root_id)] and
             [(c["name"], c["parent_id"]) for c in tree[0]["children"]] ==
             [("leaf.rollup.test", mid_id)], "downstreams --json: leaf below middle below root",
             tree)
    n_updates = int(wt.sql_value(leaf_db, "SELECT count(DISTINCT update_id) FROM revision WHERE "
                                          "update_type IN ('Software', 'Driver')"))
    leaf = tree[0]["children"][0] if tree and tree[0]["children"] else {"summary": {}}
    got = {k: leaf["summary"].get(k) for k in (
        "UpdateCount", "ComputerTargetCount", "ComputerTargetsWithUpdateErrorsCount",
        "UpdatesWithClientErrorsCount")}
    wt.check(got == {"UpdateCount": n_updates, "ComputerTargetCount": 2,
                     "ComputerTargetsWithUpdateErrorsCount": 1,
                     "UpdatesWithClientErrorsCount": 1} and leaf.get("computers") == 2 and
             leaf.get("last_rollup"), "the leaf's summary: its updates, 2 computers, 1 with a "
             "failed update", leaf)
    # what the console's Downstream Servers tree draws for each node (console/js/downstreams.js:
    # name, "last sync", "last rollup"): the grandchild's are the times the leaf reported
    ts = ("SELECT to_char(last_sync AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
          "last_rollup IS NOT NULL FROM rollup_server WHERE server_id = :'p1'")
    for node, sid, what in ((tree[0] if tree else {}, mid_id, "middle"), (leaf, leaf_id, "leaf")):
        want = wt.sql(root_db, ts, sid)
        wt.check(bool(want) and want[0][0] and node.get("last_sync") == want[0][0] and
                 want[0][1] == "t" and bool(node.get("last_rollup")),
                 "downstreams tree: the %s's last sync (as it reported it) and last rollup"
                 % what, (node, want))
    out = ctl(root_conf, "downstreams")
    wt.check(any(ln.startswith("middle.rollup.test ") for ln in out.splitlines()) and
             any(ln.startswith("  leaf.rollup.test ") for ln in out.splitlines()) and
             "LAST ROLLUP" in out, "downstreams: the leaf indented under the middle", out)
    rep = json.loads(ctl(root_conf, "--json", "report"))["downstream"]
    got = sorted((u["update_id"], u["computers"], u["installed"], u["failed"])
                 for u in rep["updates"])
    wt.check(rep["computers"] == 2 and got == sorted([(u1, 1, 1, 0), (u2, 2, 1, 1)]),
             "report --json: the leaf's 2 computers, u1 installed once, u2 installed and failed",
             rep)
    rows = json.loads(ctl(root_conf, "--json", "computers"))
    rows = rows.get("computers", rows) if isinstance(rows, dict) else rows
    got = sorted((r["id"], r["name"], r.get("server")) for r in rows)
    wt.check(got == [(PC1, "pc1.rollup.test", "leaf.rollup.test"),
                     (PC2, "pc2.rollup.test", "leaf.rollup.test")],
             "computers --json: exactly the leaf's computers, marked with the leaf", rows)

    # a second round without client changes sends no computer again
    before = wt.sql(root_db, "SELECT computer_id, received_at FROM rollup_computer ORDER BY 1")
    sync(leaf_conf, "leaf, no client change")
    sync(mid_conf, "middle, no client change")
    for name, db in (("leaf", leaf_db), ("middle", mid_db)):
        got = last_rollup(db)
        wt.check(got.get("result") == "succeeded" and got.get("computers") == 0 and
                 got.get("statuses") == 0, "%s: nothing changed, no computer or status sent"
                 % name, got)
    after = wt.sql(root_db, "SELECT computer_id, received_at FROM rollup_computer ORDER BY 1")
    wt.check(before == after, "root: no computer row was written again", (before, after))

    # one client change: that computer only, and the rollup run alone (wsusctl sync rollup)
    wt.check(pc2.report([pc2.event(161, -2145099769, upd(u1))]), "pc2: a failure of u1")
    q = "SELECT last_sync FROM rollup_server WHERE server_id = :'p1'"
    synced = wt.sql_value(root_db, q, leaf_id)
    for conf, url, n in ((leaf_conf, mid_url, 1), (mid_conf, root_url, 2)):
        r = wt.wsusctl(conf, "sync", "rollup")
        want = ("reporting rollup to upstream %s: %d servers, 1 computers (0 with details), "
                "0 out of sync, 1 statuses in 5 requests\n" % (url, n))
        wt.check(r.returncode == 0 and r.stdout == want,
                 "sync rollup without synchronizing: %s" % want.strip(), r)
    wt.check(synced and wt.sql_value(root_db, q, leaf_id) == synced,
             "root: a rollup alone reports the leaf's last synchronization unchanged", synced)
    got = last_rollup(mid_db)
    wt.check(got.get("computers") == 1 and got.get("details") == 0 and
             got.get("statuses") == 1, "middle: only pc2 went, without its unchanged details",
             got)
    rows = wt.sql(root_db, "SELECT computer_id, update_id, state FROM rollup_status "
                           "ORDER BY 1, 2")
    states = sorted(states + [[PC2, u1, "5"]])
    wt.check(rows == states, "root: pc2's new failure arrived, the rest unchanged", rows)

    # an upstream without the reporting service (HTTP 404 there): skipped with one info line,
    # the synchronization succeeds without a warning
    fake = tw.Server(("127.0.0.1", 0), NoReporting)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    try:
        r = wt.wsusctl(leaf_conf, "config", "set", "upstream",
                       "http://127.0.0.1:%d" % fake.server_address[1])
        wt.check(r.returncode == 0, "leaf: upstream set to a server without rollup", r)
        sync(leaf_conf, "leaf from an upstream without the reporting service")
    finally:
        fake.shutdown()
    got = last_rollup(leaf_db)
    wt.check(got.get("result") == "skipped", "leaf: the rollup was skipped", got)
    lines = [ln for ln in leaf_srv.output().splitlines() if "no reporting web service" in ln]
    want = ("upstream http://127.0.0.1:%d has no reporting web service (HTTP 404 on "
            "/ReportingWebService/ReportingWebService.asmx): reporting rollup skipped"
            % fake.server_address[1])
    wt.check(len(lines) == 1 and lines[0].endswith(want) and "info" in lines[0].lower(),
             "one info line says the rollup was skipped and why", lines)
    wt.check(NoReporting.asked == ["GetRollupConfiguration"],
             "only GetRollupConfiguration was tried", NoReporting.asked)


class NoReporting(tw.FakeWsus):
    """A WSUS-like upstream whose reporting web service is missing (HTTP 404); it serves the
    real categories and no update."""
    docs = {k: x for k, x in tw.DOC.items() if tw.is_category(x)}
    unservable = []
    asked = []

    def do_POST(self):
        if self.path.lower().startswith("/reportingwebservice/"):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            op = re.search(r"<soap:Body><(\w+)", body)
            NoReporting.asked.append(op.group(1) if op else "?")
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_POST()


if __name__ == "__main__":
    wt.run_servers(run)
