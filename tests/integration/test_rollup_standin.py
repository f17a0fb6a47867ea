#!/usr/bin/env python3
"""test_rollup_standin: the reporting rollup of MS-WSUSSS 3.2.4.5 as a Windows downstream runs
it, against a real wsusd upstream. The downstream is tests/tools/rollup_downstream.py, a
stand-in written from the spec alone: it authenticates (GetAuthConfig, GetAuthorizationCookie,
GetCookie), then GetRollupConfiguration, RollupDownstreamServers, RollupComputers,
GetOutOfSyncComputers and RollupComputerStatus at the Windows batch sizes (notes <46>-<49>:
5,000 client summaries, 1,500 computers, 20,000 rollup numbers, 500 status infos per call), and
every answer is validated against the schema of the Reporting WSDL.

The first pass is Windows' (the spec's fixed cookie: wsusd names the caller by its address).
Then: what `wsusctl downstreams` / `computers` / `computers show` / `report` show on the
upstream (exact values); a second pass with nothing changed, with the GetCookie cookie
(GetOutOfSyncComputers names none, no status is resent); a third with 5 changed computers, a new
and a moved one sent without Details (NewParent) and 5,001 client summaries (split); a rebuilt
descendant (new id, same name); and hostile requests (oversized batches, foreign server ids,
loops, floods past the per-branch bounds, replays of older data, malformed values, missing and
forged cookies, DoDetailedRollup off), each answered with the ErrorCode the spec gives (or
ignored where the spec says so) while the stored rows stay as they were.
Real PostgreSQL, real wsusd, real HTTP on 127.0.0.1.
"""

import json
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import wsustest as wt  # noqa: E402
from wsustest import check  # noqa: E402
import rollup_downstream as rd  # noqa: E402

GEN = os.path.join(HERE, "..", "tools", "wsusgen.py")
COMPUTERS = 2000     # 1,500 + 500 in RollupComputers, 4 x 500 in RollupComputerStatus
UPDATES = 10         # statuses per computer: 20,000 in all
DESCENDANTS = 2      # a chain below the stand-in: branch1 (child), branch2 (grandchild)


class Upstream:
    """A wsusd with generated updates (their ids are what the computers report on)."""

    def __init__(self, tmp, servers, dbs):
        self.db = wt.create_db("rollstand")
        dbs.append(self.db)
        self.port = wt.free_port()
        # the default max_request_bytes (4 MiB): a Windows batch of 1,500 computers with
        # details is about 1.4 MB
        self.conf = wt.write_config(tmp, self.db, listen="127.0.0.1:%d" % self.port,
                                    server_extra="threads = 4\n")
        cab = os.path.join(tmp, "gen.cab")
        subprocess.run([sys.executable, GEN, "--seed", "3", "--updates", str(UPDATES), "--out", cab,
                        "--no-content"], check=True, capture_output=True)
        self.ctl("import", cab)
        self.wsusd = wt.Wsusd(self.conf)
        servers.append(self.wsusd)
        self.wsusd.start(wait_seconds=60)
        self.url = "http://127.0.0.1:%d" % self.port

    def ctl(self, *args, ok=True):
        r = wt.wsusctl(self.conf, *args)
        if ok and r.returncode != 0:
            raise SystemExit("wsusctl %s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def counts(self):
        """Rows of the rollup tables (the storage a downstream writes)."""
        tables = ("rollup_server", "rollup_computer", "rollup_status", "downstream_server")
        row = wt.sql(self.db, "SELECT " + ", ".join("(SELECT count(*) FROM %s)" % t for t in tables))[0]
        return dict(zip(tables, map(int, row)))


def fault_of(dss, op, inner, items=0):
    """(ErrorCode, Message) of a raw call's fault, or None when it did not fault."""
    st, payload, fault = dss.call(op, inner, items=items, raw=True)
    if fault is None:
        return None
    return fault.findtext("detail/ErrorCode"), fault.findtext("detail/Message") or ""


T0 = time.monotonic()


def phase(name):
    print("-- %.1f s: %s" % (time.monotonic() - T0, name), flush=True)


def run(tmp, servers, dbs):
    up = Upstream(tmp, servers, dbs)
    updates = sorted(r["update_id"] for r in up.json("updates", "list", "--limit", "1000")["updates"])
    check(len(updates) >= UPDATES, "the upstream has %d software updates" % len(updates))
    updates = updates[:UPDATES]
    validator = rd.SchemaValidator()

    phase("first pass")
    # --- the Windows sequence, Windows batch sizes ---
    pop = rd.Population(seed=5, computers=COMPUTERS, update_ids=updates, descendants=DESCENDANTS,
                        fqdn="dss1.example.test")
    state = pop.state()
    dss = rd.RollupDownstream(up.url, state, validator=validator, validate_requests=True,
                              busy_wait=1)
    # as Windows does: authorization, then every Reporting call with the spec's fixed cookie
    # (wsusd takes the caller to be the one downstream that authenticated from its address)
    activity = {}  # install successes and failures each server reports (its client summaries)
    for srv in state["Descendants"] + [state]:
        acts = [a for cs in srv["ClientSummaries"] for a in cs["ActivitySummaries"]]
        activity[srv["ServerId"]] = (sum(a["InstallSuccessCount"] for a in acts),
                                     sum(a["InstallFailureCount"] for a in acts))
    s1 = dss.run()
    check(s1["result"] == "ok", "first pass: the whole sequence ends without fault or schema error: %s %s %s"
          % (s1["error"], s1["schema_errors"][:2], s1["spec_errors"][:3]))
    cfg = s1.get("config", {})
    print("first pass: %s" % ", ".join("%s(%d) %d ms" % (c["op"], c["items"], c["ms"]) for c in s1["calls"]))
    check(s1.get("windows_batch_sizes") is True,
          "GetRollupConfiguration announces the Windows batch sizes 5000/1500/20000/500: %r" % cfg)
    check(cfg.get("DoDetailedRollup") is True, "DoDetailedRollup is true")
    ops = [(c["op"], c["items"]) for c in s1["calls"]]
    check(("RollupComputers", 1500) in ops and ("RollupComputers", 500) in ops,
          "computers went as 1,500 + 500: %r" % [o for o in ops if o[0] == "RollupComputers"])
    check([o for o in ops if o[0] == "RollupComputerStatus"] == [("RollupComputerStatus", 500)] * 4,
          "status went as 4 x 500 computers: %r" % [o for o in ops if o[0] == "RollupComputerStatus"])
    check(s1.get("statuses_sent") == COMPUTERS * UPDATES,
          "20,000 statuses sent (%r)" % s1.get("statuses_sent"))
    check(s1.get("servers_sent") == DESCENDANTS + 1, "3 servers reported (%r)" % s1.get("servers_sent"))
    # the DSS sends RollupNumber 0 for computers it never sent status for (3.1.4.16.3.2), and
    # wsusd never received one for them: they match, none is named (they get a full rollup
    # anyway, their LastStatusRollupTime being NULL)
    check(s1.get("out_of_sync") == [],
          "first pass: GetOutOfSyncComputers names no new computer (%d)"
          % len(s1.get("out_of_sync", [])))
    after1 = up.counts()
    check(after1["rollup_server"] == DESCENDANTS + 1, "3 rollup_server rows: %r" % after1)
    check(after1["rollup_computer"] == COMPUTERS, "2,000 rollup_computer rows: %r" % after1)
    check(after1["rollup_status"] == COMPUTERS * UPDATES, "20,000 rollup_status rows: %r" % after1)

    phase("admin views")
    admin_views(up, state, updates, activity)

    phase("second pass")
    # --- second pass, nothing changed: no computer is out of sync, no status resent ---
    # (with the GetCookie cookie this time, as a wsusd downstream sends it)
    dss2 = rd.RollupDownstream(up.url, dss.state, validator=validator, validate_requests=True)
    dss2.authenticate()
    s2 = dss2.run(authenticate=False, cookie=dss2.cookie)
    check(s2["result"] == "ok", "second pass ok: %s %s" % (s2["error"], s2["spec_errors"][:3]))
    check(s2.get("out_of_sync") == [], "second pass: GetOutOfSyncComputers names no computer (%d)"
          % len(s2.get("out_of_sync", [])))
    oos = [c for c in s2["calls"] if c["op"] == "GetOutOfSyncComputers"]
    check([c["items"] for c in oos] == [COMPUTERS], "the 2,000 rollup numbers went in one call: %r"
          % [c["items"] for c in oos])
    check(s2.get("status_computers_sent") == 0 and
          not [c for c in s2["calls"] if c["op"] == "RollupComputerStatus"],
          "second pass: no RollupComputerStatus call (%r)" % s2.get("status_computers_sent"))
    check(s2.get("new_parent") == 0 and s2.get("details_resent") == 0,
          "second pass: no NewParent, no Details resent")
    check(up.counts() == after1, "second pass changed no row count: %r" % up.counts())

    phase("third pass")
    # --- a client change: 5 computers report a new status for one update ---
    # and the DSS has 5,001 client summaries (OS groups) this time: more than
    # RollupDownstreamServersMaxBatchSize, so its own entry is split (3.2.4.5 step 2.4) and sent
    # in two requests of at most 5,000 summaries (step 2.5)
    rd.change_status(dss2.state, 5)
    changed = sorted(dss2.state["Computers"])[:5]
    base = rd.Population(computers=1, update_ids=updates).state()["ClientSummaries"][0]
    dss2.state["ClientSummaries"] = [dict(base, OSBuildNumber=b, Count=1, ActivitySummaries=[])
                                     for b in range(1, 5002)]
    # a computer the upstream does not know, and one that moved to branch1, both without
    # Details (as a DSS sends unchanged computers): the upstream answers NewParent for both
    # (3.1.4.15 step 5.2) and the DSS sends them again with Details
    comps = dss2.state["Computers"]
    ids = sorted(comps)
    fresh = "%s-new" % ids[-1]
    comps[fresh] = json.loads(json.dumps(dict(comps[ids[-1]], HasDetailsChanged=False,
                                              LastSentStatusRollupNumber=0, LastStatusRollupTime=None)))
    comps[fresh]["Details"]["FullDomainName"] = "pcnew.dss1.example.test"
    moved = [c for c in ids[5:] if comps[c]["ParentServerId"] == dss2.state["ServerId"]][0]
    branch1 = dss2.state["Descendants"][0]["ServerId"]
    comps[moved].update(ParentServerId=branch1, HasDetailsChanged=False)
    dss3 = rd.RollupDownstream(up.url, dss2.state, validator=validator, validate_requests=True)
    dss3.authenticate()
    s3 = dss3.run(authenticate=False, cookie=dss3.cookie)
    check(s3["result"] == "ok", "third pass ok: %s %s" % (s3["error"], s3["spec_errors"][:3]))
    check((s3.get("new_parent"), s3.get("details_resent")) == (2, 2),
          "third pass: NewParent for the new and the moved computer, both resent with Details (%r, %r)"
          % (s3.get("new_parent"), s3.get("details_resent")))
    check(wt.sql(up.db, "SELECT computer_id, server_id, name FROM rollup_computer WHERE computer_id IN "
                 "(:'p1', :'p2') ORDER BY name", fresh, moved) ==
          sorted([[fresh, dss2.state["ServerId"], "pcnew.dss1.example.test"],
                  [moved, branch1, comps[moved]["Details"]["FullDomainName"]]], key=lambda r: r[2]),
          "the new computer is stored with its details, the moved one under branch1")
    check([c["items"] for c in s3["calls"] if c["op"] == "RollupDownstreamServers"] == [3, 1] and
          s3.get("servers_sent") == 4,
          "third pass: 5,001 client summaries split: the two descendants and 5,000 of the DSS's "
          "summaries, then its last one (%r)"
          % [c["items"] for c in s3["calls"] if c["op"] == "RollupDownstreamServers"])
    check(dss3.state["ClientSummaries"] == [], "the summaries sent are removed from the DSS's table")
    check((s3.get("status_computers_sent"), s3.get("statuses_sent")) == (6, 5 + UPDATES),
          "third pass: the 5 changed computers with their 5 statuses, and the new one in full (%r, %r)"
          % (s3.get("status_computers_sent"), s3.get("statuses_sent")))
    first = sorted(updates)[0]
    rows = wt.sql(up.db, "SELECT computer_id, state FROM rollup_status WHERE update_id = :'p1' "
                  "AND computer_id = ANY(:'p2') ORDER BY 1", first, "{%s}" % ",".join(changed))
    want = sorted((c, str(dss3.state["Computers"][c]["Statuses"][first][0])) for c in changed)
    check([tuple(r) for r in rows] == want, "the upstream holds the 5 new states: %r" % rows)
    check(up.counts() == dict(after1, rollup_computer=COMPUTERS + 1, rollup_status=(COMPUTERS + 1) * UPDATES),
          "third pass: one computer and its %d statuses more: %r" % (UPDATES, up.counts()))

    # --- branch2 is rebuilt: a new ServerId, the same name under the same parent ---
    b2 = dss3.state["Descendants"][1]
    old_id, new_id = b2["ServerId"], str(uuid.uuid4())
    n_b2 = int(wt.sql_value(up.db, "SELECT count(*) FROM rollup_computer WHERE server_id = :'p1'", old_id))
    b2.update(ServerId=new_id, LastRollupTime=rd.now_utc())
    for c in dss3.state["Computers"].values():
        if c["ParentServerId"] == old_id:
            c["ParentServerId"] = new_id
    dss3.rollup_downstream_servers(dss3.cookie)
    chain, node = [], (up.json("downstreams")["tree"] or [None])[0]
    while node is not None:
        chain.append((node["server_id"], node["name"]))
        node = node["children"][0] if len(node.get("children", [])) == 1 else None
    check(chain[-1:] == [(new_id, b2["FullDomainName"])] and len(chain) == 3,
          "rebuilt branch2: the tree shows its new id in its place, no duplicate: %r" % chain)
    check(wt.sql(up.db, "SELECT server_id, count(*) FROM rollup_computer WHERE server_id IN (:'p1', :'p2') "
                 "GROUP BY 1", old_id, new_id) == [[new_id, str(n_b2)]] and
          up.counts()["rollup_server"] == after1["rollup_server"],
          "rebuilt branch2: its %d computers moved to the new id, still 3 servers" % n_b2)

    phase("hostile")
    # --- hostile inputs ---
    hostile(up, dss3, updates)
    validator.close()
    phase("done")


def wire_time(t):
    """A stand-in time stamp as wsusctl prints it (UTC, seconds)."""
    return t[:19] + "Z"


def admin_views(up, state, updates, activity):
    """`wsusctl downstreams`, `computers` and `report` show exactly what the DSS reported."""
    me, comps = state["ServerId"], state["Computers"]
    per_server = {}
    for c in comps.values():
        per_server[c["ParentServerId"]] = per_server.get(c["ParentServerId"], 0) + 1
    tree = up.json("downstreams")["tree"]
    check([n["server_id"] for n in tree] == [me], "downstreams: one server below, the DSS: %r"
          % [n["server_id"] for n in tree])
    want = [(me, state["FullDomainName"], "autonomous", state["ServerSummary"], activity[me])] + [
        (d["ServerId"], d["FullDomainName"], "replica" if d["IsReplica"] else "autonomous",
         d["ServerSummary"], activity[d["ServerId"]]) for d in state["Descendants"]]
    got, node = [], tree[0] if tree else None
    while node is not None:
        got.append((node["server_id"], node["name"], node["mode"], node["summary"],
                    (node.get("install_successes"), node.get("install_failures"))))
        check(node["last_sync"] == wire_time(state["LastSyncTime"]) and
              node["computers"] == per_server.get(node["server_id"]),
              "downstreams: %s last sync %s, %s computers (%r, %r)" % (
                  node["name"], wire_time(state["LastSyncTime"]), per_server.get(node["server_id"]),
                  node["last_sync"], node["computers"]))
        kids = node.get("children", [])
        node = kids[0] if len(kids) == 1 else None
    check(got == want, "downstreams: the chain DSS > branch1 > branch2 with mode, all 18 summary "
          "counts and the install successes/failures as reported: %r" % [g[:3] + g[4:] for g in got])
    text = up.ctl("downstreams").stdout
    for depth, (sid, name, mode, summ, _) in enumerate(want):
        line = [ln for ln in text.splitlines() if ln.startswith("  " * depth + name + " ")]
        f = line[0].split() if len(line) == 1 else []
        check(f[1:3] + f[4:7] + f[-1:] == [mode, wire_time(state["LastSyncTime"]), str(summ["UpdateCount"]),
                                           str(summ["ApprovedUpdateCount"]), str(per_server[sid]), sid],
              "downstreams table: %s indented %d: mode, last sync, updates, approved, computers, id: %r"
              % (name, depth, line))

    # computers: every rolled-up computer, its server, name, OS and status counts
    rows = [c for c in up.json("computers")["computers"] if c.get("rolled_up")]
    check(len(rows) == len(comps), "computers: %d rolled-up computers (%d)" % (len(comps), len(rows)))
    names = {d["ServerId"]: d["FullDomainName"] for d in state["Descendants"]}
    names[me] = state["FullDomainName"]
    bad = []
    for r in rows:
        c = comps.get(r["id"])
        if c is None:
            bad.append(r["id"])
            continue
        sts = [v[0] for v in c["Statuses"].values()]
        d = c["Details"]
        want_row = (names[c["ParentServerId"]], c["ParentServerId"], d["FullDomainName"],
                    "%d.%d.%d.%d.%d" % (d["OSMajorVersion"], d["OSMinorVersion"], d["OSBuildNumber"],
                                        d["OSServicePackMajorNumber"], d["OSServicePackMinorNumber"]),
                    wire_time(c["LastSyncTime"]),
                    {"needed": sts.count(2), "downloaded": sts.count(3),
                     "installed": sts.count(4) + sts.count(6), "failed": sts.count(5)})
        got_row = (r["server"], r["server_id"], r["name"], r["os_version"], r["last_sync"], r["updates"])
        if got_row != want_row:
            bad.append((got_row, want_row))
    check(not bad, "computers: server, name, OS, last sync and the counts of every computer as "
          "reported (%d differ: %r)" % (len(bad), bad[:2]))
    text = up.ctl("computers").stdout
    first = sorted(comps.values(), key=lambda c: c["Details"]["FullDomainName"])[0]
    line = [ln for ln in text.splitlines() if ln.startswith(first["Details"]["FullDomainName"] + " ")]
    check(len(line) == 1 and line[0].split()[-1] == names[first["ParentServerId"]],
          "computers table: the first computer ends with its server's name: %r" % line)

    # computers show: one computer (10 updates: every SummarizationState), status word and time
    words = {0: "not applicable", 2: "needed", 3: "downloaded", 4: "installed", 5: "failed",
             6: "installed, reboot"}
    cid = sorted(comps)[0]
    shown = up.json("computers", "show", cid)
    got = sorted((u["update_id"], u["status"], u["time"]) for u in shown.get("update_status", []))
    want = sorted((u, words[v[0]], wire_time(v[1])) for u, v in comps[cid]["Statuses"].items())
    check(shown.get("server_id") == comps[cid]["ParentServerId"] and got == want,
          "computers show: the computer's server and the status and time of each of its %d updates"
          % len(want), (got, want))
    text = up.ctl("computers", "show", cid).stdout
    check("server:          %s (reported by the reporting rollup)" % names[comps[cid]["ParentServerId"]] in text,
          "computers show text: 'server: NAME (reported by the reporting rollup)'", text[:800])

    # report: per update, over the computers below
    rep = up.json("report")["downstream"]
    check(rep["computers"] == len(comps), "report: %d computers below (%r)" % (len(comps), rep["computers"]))
    got = {u["update_id"]: (u["computers"], u["needed"], u["downloaded"], u["installed"], u["failed"],
                            u["not_applicable"]) for u in rep["updates"]}
    want = {}
    for u in updates:
        # SummarizationState (3.1.4.17.3.4): 0 not applicable, 2 not installed, 3 downloaded,
        # 4 installed, 5 failed, 6 installed (reboot pending)
        sts = [c["Statuses"][u][0] for c in comps.values()]
        want[u] = (len(sts), sts.count(2), sts.count(3), sts.count(4) + sts.count(6), sts.count(5),
                   sts.count(0))
    check(got == want, "report: per update computers, needed, downloaded, installed, failed, not "
          "applicable as reported: %r" % sorted(got.items())[:2])
    text = up.ctl("report").stdout
    check("computers of the servers below (reporting rollup): %d" % len(comps) in text,
          "report text: 'computers of the servers below (reporting rollup): %d'" % len(comps), text[:600])
    u = sorted(updates)[0]
    line = [ln for ln in text.splitlines() if ln.startswith(u + " ")]
    check(len(line) == 1 and line[0].split()[2:8] == [str(v) for v in want[u]],
          "report text: %s with computers, needed, downloaded, installed, failed, not applicable: %r" % (u, line))


def hostile(up, dss, updates):
    """Every case: the ErrorCode the spec gives; the row counts do not move."""
    ck = dss.cookie
    me = dss.state["ServerId"]
    comps = dss.state["Computers"]
    cid = sorted(comps)[0]
    now = rd.now_utc()
    before = up.counts()

    def expect(what, op, inner, code, words=(), items=0):
        f = fault_of(dss, op, inner, items)
        check(f is not None and f[0] == code and all(w in f[1] for w in words),
              "%s: %s fault %s%s (got %r)" % (what, op, code,
                                              " naming %s" % "/".join(words) if words else "", f))
        check(up.counts() == before, "%s: no row count changed" % what)

    def servers(infos):
        return "%s<clientTime>%s</clientTime><downstreamServers>%s</downstreamServers>" % (ck, now, infos)

    def computers(xml):
        return "%s<clientTime>%s</clientTime><computers>%s</computers>" % (ck, now, xml)

    def status(xml, parent=me):
        return "%s<clientTime>%s</clientTime><parentServerId>%s</parentServerId><computers>%s</computers>" % (
            ck, now, parent, xml)

    me_info = dict(dss.state, ParentServerId=rd.ZERO_GUID, LastRollupTime=now)

    # oversized batches: one more than GetRollupConfiguration announced (3.1.4.14-17 request
    # validation; 2.2.9.3 InvalidParameters names the parameter)
    cs = dict(rd.Population(computers=1, update_ids=updates).state()["ClientSummaries"][0],
              ActivitySummaries=[])
    expect("5,001 client summaries", "RollupDownstreamServers",
           servers(rd.server_info_xml(me_info, [cs] * 5001)), "InvalidParameters", ("downstreamServers",))
    one = rd.computer_info_xml(cid, comps[cid], False)
    expect("1,501 computers", "RollupComputers", computers(one * 1501), "InvalidParameters", ("computers",))
    oos = "<ComputerLastRollupNumber><ComputerId>x</ComputerId><RollupNumber>0</RollupNumber></ComputerLastRollupNumber>"
    expect("20,001 rollup numbers", "GetOutOfSyncComputers",
           "%s<parentServerId>%s</parentServerId><lastRollupNumbers>%s</lastRollupNumbers>" % (ck, me, oos * 20001),
           "InvalidParameters", ("lastRollupNumbers",))
    st1 = rd.status_info_xml(cid, 99, False, rd.NEVER, [])
    expect("501 status infos", "RollupComputerStatus", status(st1 * 501), "InvalidParameters", ("computers",))

    # foreign server ids
    stranger = str(uuid.uuid4())
    c2 = dict(comps[cid], ParentServerId=stranger)
    expect("a computer of an unknown server", "RollupComputers",
           computers(rd.computer_info_xml("pc-stranger", c2, True)), "InternalServerError")
    orphan = dict(me_info, ServerId=str(uuid.uuid4()), ParentServerId=stranger)
    expect("a server below an unknown parent", "RollupDownstreamServers", servers(rd.server_info_xml(orphan, [])),
           "InvalidParameters", ("ParentServerId",))
    # a loop (branch1 below its own child branch2) and the upstream's own id as a descendant:
    # a tree that could not be drawn
    b1, b2 = dss.state["Descendants"][0], dss.state["Descendants"][1]
    expect("a loop: branch1 reported below its child branch2", "RollupDownstreamServers",
           servers(rd.server_info_xml(dict(b1, ParentServerId=b2["ServerId"], LastRollupTime=now), [])),
           "InvalidParameters")
    expect("the upstream's own ServerId reported as a descendant", "RollupDownstreamServers",
           servers(rd.server_info_xml(dict(b1, ServerId=dss.config["ServerId"], FullDomainName="me.example.test",
                                           ParentServerId=me, LastRollupTime=now), [])),
           "InvalidParameters")
    check([n["server_id"] for n in up.json("downstreams")["tree"]] == [me] and
          up.ctl("downstreams").returncode == 0, "downstreams still draws one tree below the DSS")

    # a second downstream, authenticated on its own, claims the first one's descendant
    other = rd.RollupDownstream(up.url, rd.Population(seed=9, computers=0, fqdn="dss2.example.test").state())
    other.authenticate()
    other.get_rollup_configuration(other.cookie)
    stolen = dict(dss.state["Descendants"][0], ParentServerId=other.state["ServerId"], LastRollupTime=now)
    f = fault_of(other, "RollupDownstreamServers", "%s<clientTime>%s</clientTime><downstreamServers>%s"
                 "</downstreamServers>" % (other.cookie, now, rd.server_info_xml(stolen, [])))
    check(f is not None and f[0] == "InvalidParameters", "a descendant claimed by a second parent: fault (%r)" % (f,))
    before = up.counts()
    # an id the cookie does not cover: the second downstream sends status as the first one
    f = fault_of(other, "RollupComputerStatus", "%s<clientTime>%s</clientTime><parentServerId>%s"
                 "</parentServerId><computers>%s</computers>" % (other.cookie, now, me,
                                                                st1))
    check(f is not None, "status under another downstream's id: fault (%r)" % (f,))
    check(up.counts() == before, "status under another downstream's id: no row count changed")

    # the second downstream, now with a branch of its own, reports the first one's computer
    # and its status: ignored (a computer another branch holds is left alone), not a fault
    mine = dict(other.state, ParentServerId=rd.ZERO_GUID, LastRollupTime=now)
    check(fault_of(other, "RollupDownstreamServers", "%s<clientTime>%s</clientTime><downstreamServers>%s"
                   "</downstreamServers>" % (other.cookie, now, rd.server_info_xml(mine, []))) is None,
          "the second downstream reports itself")
    before = up.counts()
    owner = wt.sql(up.db, "SELECT server_id, reporter_id, name FROM rollup_computer WHERE computer_id = :'p1'", cid)
    stolen_pc = dict(comps[cid], ParentServerId=other.state["ServerId"], LastSyncTime=now,
                     Details=dict(comps[cid]["Details"], FullDomainName="evil.example.test"))
    f = fault_of(other, "RollupComputers", "%s<clientTime>%s</clientTime><computers>%s</computers>"
                 % (other.cookie, now, rd.computer_info_xml(cid, stolen_pc, True)))
    f2 = fault_of(other, "RollupComputerStatus", "%s<clientTime>%s</clientTime><parentServerId>%s"
                  "</parentServerId><computers>%s</computers>" % (
                      other.cookie, now, other.state["ServerId"],
                      rd.status_info_xml(cid, 1000, True, rd.NEVER, [(updates[0], 5, now)])))
    check(f is None and f2 is None, "another branch's computer: RollupComputers and RollupComputerStatus "
          "answer without fault (%r, %r)" % (f, f2))
    check(wt.sql(up.db, "SELECT server_id, reporter_id, name FROM rollup_computer WHERE computer_id = :'p1'",
                 cid) == owner and up.counts() == before,
          "another branch's computer: its server, reporter and name stay, no row added: %r" % owner)
    check(wt.sql_value(up.db, "SELECT count(*) FROM rollup_status WHERE computer_id = :'p1'", cid) == str(UPDATES),
          "another branch's computer: its statuses were not replaced by a full rollup")
    before = up.counts()

    # replays of older data and unknown ids: ignored as the spec says (no fault, nothing moves)
    old = "2001-01-01T00:00:00Z"
    stale_me = dict(me_info, LastRollupTime=old, ServerSummary=dict(me_info["ServerSummary"], UpdateCount=999))
    stale_pc = dict(comps[cid], LastSyncTime=old, Details=dict(comps[cid]["Details"], FullDomainName="old.example.test"))
    u0 = sorted(updates)[0]
    stored = wt.sql(up.db, "SELECT state, last_change FROM rollup_status WHERE computer_id = :'p1' "
                    "AND update_id = :'p2'", cid, u0)
    name = wt.sql_value(up.db, "SELECT name FROM rollup_computer WHERE computer_id = :'p1'", cid)
    cases = [
        ("an older LastRollupTime (3.1.4.14: ignored)", "RollupDownstreamServers",
         servers(rd.server_info_xml(stale_me, []))),
        ("an older LastSyncTime (3.1.4.15: ignored)", "RollupComputers",
         computers(rd.computer_info_xml(cid, stale_pc, True))),
        ("an older LastChangeTime (3.1.4.17: ignored)", "RollupComputerStatus",
         status(rd.status_info_xml(cid, comps[cid]["LastSentStatusRollupNumber"], False, rd.NEVER,
                                   [(u0, 5 if stored and stored[0][0] != "5" else 2, old)]))),
        ("status of a computer nobody reported (3.1.4.17: ignored)", "RollupComputerStatus",
         status(rd.status_info_xml("nobody", 1, True, rd.NEVER, [(u0, 4, now)]))),
    ]
    for what, op, inner in cases:
        f = fault_of(dss, op, inner)
        check(f is None, "%s: %s answers without a fault (%r)" % (what, op, f))
    tree = up.json("downstreams")["tree"]
    check(tree and tree[0]["summary"]["UpdateCount"] == me_info["ServerSummary"]["UpdateCount"],
          "the older server report did not replace the newer summary")
    check(wt.sql_value(up.db, "SELECT name FROM rollup_computer WHERE computer_id = :'p1'", cid) == name and
          wt.sql(up.db, "SELECT state, last_change FROM rollup_status WHERE computer_id = :'p1' "
                 "AND update_id = :'p2'", cid, u0) == stored and up.counts() == before,
          "the older computer and status reports changed nothing; no row for the unknown computer")
    st, payload, fault = dss.call("GetOutOfSyncComputers", "%s<parentServerId>%s</parentServerId><lastRollupNumbers>"
                                  "<ComputerLastRollupNumber><ComputerId>%s</ComputerId><RollupNumber>77</RollupNumber>"
                                  "</ComputerLastRollupNumber></lastRollupNumbers>" % (ck, uuid.uuid4(), cid), raw=True)
    check(fault is None and payload is not None and
          payload.find(rd.Q + "GetOutOfSyncComputersResult") is not None and
          len(list(payload.find(rd.Q + "GetOutOfSyncComputersResult"))) == 0,
          "GetOutOfSyncComputers for an unknown parentServerId: an empty list (3.1.4.16)")

    # malformed values (InvalidParameters)
    bad = [
        ("a ServerId that is not a GUID", "RollupDownstreamServers",
         servers(rd.server_info_xml(dict(me_info, ServerId="not-a-guid"), []))),
        ("a LastSyncTime that is not a date", "RollupDownstreamServers",
         servers(rd.server_info_xml(dict(me_info, LastSyncTime="yesterday"), []))),
        ("a negative UpdateCount", "RollupDownstreamServers",
         servers(rd.server_info_xml(dict(me_info, ServerSummary=dict(me_info["ServerSummary"], UpdateCount=-1)), []))),
        ("a 300-character FullDomainName", "RollupDownstreamServers",
         servers(rd.server_info_xml(dict(me_info, FullDomainName="a" * 300), []))),
        ("a Version that is not 1-4 integers", "RollupDownstreamServers",
         servers(rd.server_info_xml(dict(me_info, Version="three"), []))),
        ("a 300-character ComputerId", "RollupComputers",
         computers(rd.computer_info_xml("c" * 300, comps[cid], True))),
        ("a LastSyncResult of 7", "RollupComputers",
         computers(rd.computer_info_xml(cid, dict(comps[cid], LastSyncResult=7), False))),
        ("a negative RollupNumber", "GetOutOfSyncComputers",
         "%s<parentServerId>%s</parentServerId><lastRollupNumbers><ComputerLastRollupNumber><ComputerId>%s"
         "</ComputerId><RollupNumber>-1</RollupNumber></ComputerLastRollupNumber></lastRollupNumbers>" % (ck, me, cid)),
        ("a SummarizationState of 9", "RollupComputerStatus",
         status(rd.status_info_xml(cid, 99, False, rd.NEVER, [(updates[0], 9, now)]))),
        ("an UpdateId that is not a GUID", "RollupComputerStatus",
         status(rd.status_info_xml(cid, 99, False, rd.NEVER, [("KB123", 4, now)]))),
        ("a LastChangeTime that is not a date", "RollupComputerStatus",
         status(rd.status_info_xml(cid, 99, False, rd.NEVER, [(updates[0], 4, "2026-13-45T99:00:00")]))),
        ("a parentServerId that is not a GUID", "RollupComputerStatus", status(st1, parent="x")),
        ("no computers element", "RollupComputers", "%s<clientTime>%s</clientTime>" % (ck, now)),
        ("a ComputerMake of 65 characters (3.1.4.15.3.3: at most 64)", "RollupComputers",
         computers(rd.computer_info_xml(cid, dict(comps[cid], Details=dict(comps[cid]["Details"],
                                                                            ComputerMake="m" * 65)), True))),
        ("a ClientVersion of 21 characters (at most 20)", "RollupComputers",
         computers(rd.computer_info_xml(cid, dict(comps[cid], Details=dict(comps[cid]["Details"],
                                                                            ClientVersion="1" * 21)), True))),
        ("a requested group name of 257 characters (at most 256)", "RollupComputers",
         computers(rd.computer_info_xml(cid, dict(comps[cid], Details=dict(
             comps[cid]["Details"], RequestedTargetGroupNames=["g" * 257])), True))),
        ("a target group id that is not a GUID", "RollupComputers",
         computers(rd.computer_info_xml(cid, dict(comps[cid], Details=dict(
             comps[cid]["Details"], TargetGroupIdList=["Ring 1"])), True))),
        ("a computer in 60,000 target groups", "RollupComputers",
         computers(rd.computer_info_xml(cid, dict(comps[cid], Details=dict(
             comps[cid]["Details"], TargetGroupIdList=[str(uuid.UUID(int=i)) for i in range(60000)])), True))),
    ]
    for what, op, inner in bad:
        expect(what, op, inner, "InvalidParameters")

    # missing and forged cookies
    forged = "<cookie><Expiration>2099-01-01T00:00:00Z</Expiration><EncryptedData>%s</EncryptedData></cookie>" % (
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
    # the fixed cookie names its caller by address: two downstreams now authenticated from
    # 127.0.0.1, so it names nobody
    for what, c, words in (("no cookie", "", ("missing",)), ("a forged cookie", forged, ("EncryptedData",)),
                           ("the fixed cookie from an address two downstreams use", rd.FIXED_COOKIE,
                            ("several downstream servers authenticated from 127.0.0.1",))):
        inner = "%s<clientTime>%s</clientTime><computers>%s</computers>" % (c, now, one)
        expect(what, "RollupComputers", inner, "InvalidCookie", words)

    # floods: many distinct server ids in one request, then each per-branch bound (lowered
    # to just above what the branch holds) refuses what would pass it
    many = "".join(rd.server_info_xml(dict(me_info, ServerId=str(uuid.uuid4()), ParentServerId=me,
                                           FullDomainName="flood%d.example.test" % i), [])
                   for i in range(1001))
    expect("1,001 servers in one request", "RollupDownstreamServers", servers(many), "InvalidParameters",
           ("downstreamServers",))
    # the bounds are per branch (the rows the first downstream reported)
    n_servers, n_comps, n_stats = (int(wt.sql_value(up.db, q, me)) for q in (
        "SELECT count(*) FROM rollup_server WHERE reporter_id = :'p1'",
        "SELECT count(*) FROM rollup_computer WHERE reporter_id = :'p1'",
        "SELECT count(*) FROM rollup_status s JOIN rollup_computer c USING (computer_id) "
        "WHERE c.reporter_id = :'p1'"))
    up.ctl("config", "set", "rollup-max-servers", str(n_servers + 1))
    two = "".join(rd.server_info_xml(dict(me_info, ServerId=str(uuid.uuid4()), ParentServerId=me,
                                          FullDomainName="flood%d.example.test" % i), [])
                  for i in range(2))
    expect("servers past rollup-max-servers", "RollupDownstreamServers", servers(two), "InvalidParameters",
           ("rollup-max-servers",))
    up.ctl("config", "set", "rollup-max-computers", str(n_comps + 5))
    new = "".join(rd.computer_info_xml("flood-%d" % i, dict(comps[cid], ParentServerId=me), True)
                  for i in range(10))
    expect("computers past rollup-max-computers", "RollupComputers", computers(new), "InvalidParameters",
           ("rollup-max-computers",))
    up.ctl("config", "set", "rollup-max-statuses", str(n_stats + 5))
    extra = [(str(uuid.uuid4()), 4, now) for _ in range(10)]
    expect("statuses past rollup-max-statuses", "RollupComputerStatus",
           status(rd.status_info_xml(cid, comps[cid]["LastSentStatusRollupNumber"] + 1, False, rd.NEVER, extra)),
           "InvalidParameters", ("rollup-max-statuses",))
    for k in ("rollup-max-servers", "rollup-max-computers", "rollup-max-statuses"):
        up.ctl("config", "reset", k)

    # DoDetailedRollup off: summaries only; the three detailed operations fault (3.1.4.15-17)
    up.ctl("config", "set", "rollup-detailed", "off")
    off = rd.RollupDownstream(up.url, dss.state, validator=dss.validator)
    off.cookie = ck
    s = off.run(authenticate=False, cookie=ck)
    check(s["result"] == "ok" and s["config"]["DoDetailedRollup"] is False and
          [c["op"] for c in s["calls"]] == ["GetRollupConfiguration", "RollupDownstreamServers"],
          "rollup-detailed off: DoDetailedRollup false, the DSS stops after its servers: %r"
          % [c["op"] for c in s["calls"]])
    for op, inner in (("RollupComputers", computers(one)), ("RollupComputerStatus", status(st1)),
                      ("GetOutOfSyncComputers", "%s<parentServerId>%s</parentServerId><lastRollupNumbers>%s"
                       "</lastRollupNumbers>" % (ck, me, oos))):
        f = fault_of(off, op, inner)
        check(f is not None, "rollup-detailed off: %s faults (%r)" % (op, f))
    check(up.counts() == before, "rollup-detailed off: no row count changed")
    up.ctl("config", "reset", "rollup-detailed")


wt.run_servers(run)
