"""The upstream side of the reporting rollup (MS-WSUSSS 3.1.4.13-3.1.4.17) driven with raw SOAP
shaped from the spec and the WSDL: a downstream authenticated by its GetCookie cookie reports
itself, a descendant, their computers and statuses; what it stored is read back through the real
wsusctl. Then the refusals: no cookie, batches over the batch sizes, another branch's server,
an unknown parent, malformed values, the per-branch bound, a rebuild, ageing out."""

import json
import re
import time

import wsussoap as ws
from wsussoap import check

PATH = "/ReportingWebService/ReportingWebService.asmx"
MID = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12"
LEAF = "1d9a3c55-5b2e-4a4f-8a10-3c2b1e0f9a77"
OTHER = "0b5d7a58-2a43-4c5e-9a56-1f6f7e3c2d10"
ZERO = "00000000-0000-0000-0000-000000000000"
FIXED = ("<cookie><Expiration>9999-12-31T23:59:59.9999999</Expiration><EncryptedData />"
         "</cookie>")
UPD1 = "a1b2c3d4-0000-4000-8000-000000000001"
UPD2 = "a1b2c3d4-0000-4000-8000-000000000002"
NEVER = "1753-01-01T00:00:00"
# the clock of the downstream: the same as ours (no correction), unless a test says otherwise
def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def call(s, op, inner):
    return s.call(op, inner, path=PATH)


def summary(vals=None):
    names = ["UpdateCount", "DeclinedUpdateCount", "ApprovedUpdateCount", "NotApprovedUpdateCount",
             "UpdatesWithStaleUpdateApprovalsCount", "ExpiredUpdateCount",
             "CriticalOrSecurityUpdatesNotApprovedForInstallCount",
             "WsusInfrastructureUpdatesNotApprovedForInstallCount", "UpdatesWithClientErrorsCount",
             "UpdatesWithServerErrorsCount", "UpdatesNeedingFilesCount",
             "UpdatesNeededByComputersCount", "UpdatesUpToDateCount",
             "CustomComputerTargetGroupCount", "ComputerTargetCount",
             "ComputerTargetsNeedingUpdatesCount", "ComputerTargetsWithUpdateErrorsCount",
             "ComputersUpToDateCount"]
    vals = vals or {}
    return "<ServerSummary>%s</ServerSummary>" % "".join(
        "<%s>%s</%s>" % (n, vals.get(n, 0), n) for n in names)


def server(sid, name, parent, rollup="2026-12-01T10:00:00Z", sync="2026-12-01T09:00:00Z",
           vals=None, summaries=0, activity=""):
    cs = "".join("<DownstreamServerRollupClientSummary><OSMajorVersion>10</OSMajorVersion>"
                 "<OSMinorVersion>0</OSMinorVersion><OSBuildNumber>%d</OSBuildNumber>"
                 "<OSServicePackMajorNumber>0</OSServicePackMajorNumber>"
                 "<OSServicePackMinorNumber>0</OSServicePackMinorNumber><OSLocale>en-US</OSLocale>"
                 "<SuiteMask>256</SuiteMask><OldProductType>1</OldProductType>"
                 "<NewProductType>48</NewProductType><SystemMetrics>0</SystemMetrics>"
                 "<ProcessorArchitecture>Amd64Compatible</ProcessorArchitecture><Count>1</Count>"
                 "<ActivitySummaries>%s</ActivitySummaries></DownstreamServerRollupClientSummary>"
                 % (i, activity if i == 0 else "") for i in range(summaries))
    return ("<DownstreamServerRollupInfo><ServerId>%s</ServerId><FullDomainName>%s</FullDomainName>"
            "<LastSyncTime>%s</LastSyncTime><ParentServerId>%s</ParentServerId>"
            "<Version>3.2.7600.226</Version><IsReplica>false</IsReplica>"
            "<LastRollupTime>%s</LastRollupTime>%s<ClientSummaries>%s</ClientSummaries>"
            "</DownstreamServerRollupInfo>" % (sid, name, sync, parent, rollup, summary(vals), cs))


def act(update, installs, failures):
    return ("<DownstreamServerRollupClientActivitySummary><UpdateId>%s</UpdateId><RevisionNumber>1"
            "</RevisionNumber><InstallSuccessCount>%d</InstallSuccessCount><InstallFailureCount>%d"
            "</InstallFailureCount></DownstreamServerRollupClientActivitySummary>"
            % (update, installs, failures))


def servers(s, cookie, infos, when=None):
    return call(s, "RollupDownstreamServers", cookie + "<clientTime>%s</clientTime>"
                "<downstreamServers>%s</downstreamServers>" % (when or now(), "".join(infos)))


def computer(cid, parent, name=None, sync="2026-12-01T08:00:00Z"):
    det = ""
    if name:
        det = ('<Details IPAddress="10.0.0.5" FullDomainName="%s" OSMajorVersion="10" '
               'OSMinorVersion="0" OSBuildNumber="19045" OSServicePackMajorNumber="0" '
               'OSServicePackMinorNumber="0" OSLocale="en-US" OSFamily="Windows" OSDescription="" '
               'ComputerMake="Contoso" ComputerModel="M1" BiosVersion="1.0" BiosName="B" '
               'BiosReleaseDate="2020-01-01T00:00:00" ProcessorArchitecture="Amd64Compatible" '
               'SuiteMask="256" OldProductType="1" NewProductType="48" SystemMetrics="0" '
               'ClientVersion="10.0.19041.1"><TargetGroupIdList /><RequestedTargetGroupNames />'
               '</Details>' % name)
    return ('<ComputerRollupInfo ComputerId="%s" LastSyncTime="%s" LastSyncResult="1" '
            'LastReportedRebootTime="%s" LastReportedStatusTime="%s" LastInventoryTime="%s" '
            'ParentServerId="%s">%s</ComputerRollupInfo>' % (cid, sync, NEVER, sync, NEVER, parent, det))


def computers(s, cookie, infos):
    return call(s, "RollupComputers", cookie + "<clientTime>%s</clientTime>" % now() +
                "<computers>%s</computers>" % "".join(infos))


def out_of_sync(s, cookie, parent, pairs):
    st, data, _ = call(s, "GetOutOfSyncComputers", cookie + "<parentServerId>%s</parentServerId>"
                       "<lastRollupNumbers>%s</lastRollupNumbers>" % (parent, "".join(
                           "<ComputerLastRollupNumber><ComputerId>%s</ComputerId><RollupNumber>%d"
                           "</RollupNumber></ComputerLastRollupNumber>" % p for p in pairs)))
    check(st == 200 and ws.fault(data) is None, "GetOutOfSyncComputers answers (%d %r)" % (st, data[:300]))
    return re.findall(rb"<string>([^<]*)</string>", data)


def status(cid, number, states, full=True):
    return ("<ComputerStatusRollupInfo><InstanceId>%s</InstanceId><ComputerId>%s</ComputerId>"
            "<EffectiveLastDetectionTime>2026-11-30T00:00:00Z</EffectiveLastDetectionTime>"
            "<RollupNumber>%d</RollupNumber><IsFullRollup>%s</IsFullRollup><UpdateStatus>%s"
            "</UpdateStatus></ComputerStatusRollupInfo>" % (
                "5e0c1a2b-3c4d-4e5f-8a9b-%012d" % number, cid, number, "true" if full else "false",
                "".join("<ComputerStatusRollupUpdateStatus><UpdateId>%s</UpdateId>"
                        "<SummarizationState>%d</SummarizationState><LastChangeTime>%s"
                        "</LastChangeTime></ComputerStatusRollupUpdateStatus>" % st for st in states)))


def statuses(s, cookie, parent, infos):
    return call(s, "RollupComputerStatus", cookie + "<clientTime>%s</clientTime>" % now() +
                "<parentServerId>%s</parentServerId><computers>%s</computers>" % (parent, "".join(infos)))


def ok(answer, what):
    st, data, _ = answer
    check(st == 200 and ws.fault(data) is None, "%s: answered (%d %r)" % (what, st, data[:400]))
    return data


def refused(answer, code, message, what):
    st, data, _ = answer
    f = ws.fault(data) if st == 500 else None
    check(f is not None and f[1] == code and f[2] == message,
          "%s: %s fault %r (got %d %r)" % (what, code, message, st, f or data[:300]))


def counts(s):
    return s.sql("SELECT (SELECT count(*) FROM rollup_server) || '/' || (SELECT count(*) FROM "
                 "rollup_computer) || '/' || (SELECT count(*) FROM rollup_status)")


s = ws.Server("rollsrv", gen_args=None, export=False)
try:
    own = s.sql("SELECT value FROM setting WHERE key = 'server_id'")
    mid = s.authenticate(name="mid.example.test", guid=MID)

    # GetRollupConfiguration: Windows' batch sizes, this server's id, a stable reset GUID
    data = ok(call(s, "GetRollupConfiguration", mid), "GetRollupConfiguration")
    conf = {c.tag.split("}")[1]: c.text for c in ws.body_child(data)[0]}
    check(conf["DoDetailedRollup"] == "true" and conf["ServerId"] == own and
          conf["RollupDownstreamServersMaxBatchSize"] == "5000" and
          conf["RollupComputersMaxBatchSize"] == "1500" and
          conf["GetOutOfSyncComputersMaxBatchSize"] == "20000" and
          conf["RollupComputerStatusMaxBatchSize"] == "500", "configuration: %r" % conf)
    again = ok(call(s, "GetRollupConfiguration", mid), "GetRollupConfiguration again")
    check(conf["RollupResetGuid"] in again.decode(), "RollupResetGuid stays the same")

    # the spec's fixed cookie (what a Windows downstream sends): the one downstream that
    # authenticated from the caller's address
    ok(call(s, "GetRollupConfiguration", FIXED), "GetRollupConfiguration with the fixed cookie")
    refused(call(s, "GetRollupConfiguration", "<clientTime>%s</clientTime>" % now()),
            "InvalidCookie", "cookie: missing; send the cookie of ServerSyncWebService GetCookie "
            "or the fixed rollup cookie (MS-WSUSSS 3.2.4.5)", "no cookie at all")
    refused(call(s, "RollupComputers", "<cookie><Expiration>2026-12-01T00:00:00Z</Expiration>"
                 "<EncryptedData>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</EncryptedData>"
                 "</cookie><clientTime>2026-12-01T10:00:00Z</clientTime><computers />"),
            "InvalidCookie", "cookie: EncryptedData is not a cookie this server issued",
            "a forged cookie")
    refused(call(s, "GetRollupConfiguration", "<cookie><Expiration>2026-12-01T00:00:00Z</Expiration>"
                 "<EncryptedData>%s</EncryptedData></cookie>" % ("A" * 5000)), "InvalidCookie",
            "cookie: EncryptedData is not a cookie this server issued",
            "an oversized EncryptedData is no fixed cookie")

    # the middle server reports its leaf (parent first) and itself (last, all-zero parent)
    ok(servers(s, mid, [server(LEAF, "leaf.example.test", MID, vals={"UpdateCount": 40,
                                                                      "ComputerTargetCount": 2}),
                        server(MID, "mid.example.test", ZERO, vals={"UpdateCount": 41},
                               summaries=3, activity=act(UPD1, 3, 1))]), "RollupDownstreamServers")
    check(s.sql("SELECT string_agg(name || ':' || parent_id || ':' || summary[1] || ':' || "
                "summary[15], ',' ORDER BY name) FROM rollup_server") ==
          "leaf.example.test:%s:40:2,mid.example.test:%s:41:0" % (MID, own),
          "servers stored with their parents and summaries: %s" % s.sql(
              "SELECT string_agg(name || ':' || parent_id, ',') FROM rollup_server"))

    # computers: two of the leaf with details, one of the middle without (NewParent asks for them)
    data = ok(computers(s, FIXED, [computer("pc-1", LEAF, "pc-1.example.test"),
                                 computer("pc-2", LEAF, "pc-2.example.test"),
                                 computer("pc-3", MID)]), "RollupComputers")
    check(re.findall(rb'<ChangedComputer ComputerId="([^"]+)" Change="NewParent"', data) == [b"pc-3"],
          "NewParent for the computer sent without Details only: %r" % data)
    # 3.1.4.16.3.2: RollupNumber 0 = the downstream never sent status; the upstream never
    # received any either, so they agree (the downstream sends new computers' status anyway)
    check(out_of_sync(s, mid, MID, [("pc-1", 0), ("pc-2", 0), ("pc-3", 0), ("nobody", 0)]) == [],
          "a computer never sent and never received is not out of sync (both 0)")
    check(out_of_sync(s, mid, MID, [("pc-1", 3), ("pc-3", 0), ("nobody", 3)]) == [b"pc-1"],
          "a computer whose number the upstream never received is out of sync; unknown ids ignored")
    ok(statuses(s, mid, MID, [status("pc-1", 1, [(UPD1, 4, "2026-11-30T01:00:00Z"),
                                                 (UPD2, 5, "2026-11-30T01:00:00Z")]),
                              status("pc-2", 1, [(UPD1, 2, "2026-11-30T01:00:00Z"),
                                                 (UPD2, 0, "2026-11-30T01:00:00Z")])]),
       "RollupComputerStatus")
    check(out_of_sync(s, mid, MID, [("pc-1", 1), ("pc-2", 2), ("pc-3", 0)]) == [b"pc-2"],
          "after the status rollup only the computer whose number moved on is out of sync")
    # an older change does not overwrite a newer one; a newer one does
    ok(statuses(s, mid, MID, [status("pc-1", 2, [(UPD1, 2, "2026-11-29T00:00:00Z"),
                                                 (UPD2, 4, "2026-11-30T02:00:00Z")], full=False)]),
       "RollupComputerStatus (delta)")
    check(s.sql("SELECT string_agg(computer_id || ':' || state, ',' ORDER BY computer_id, update_id)"
                " FROM rollup_status") == "pc-1:4,pc-1:4,pc-2:2,pc-2:0",
          "statuses: %s" % s.sql("SELECT string_agg(computer_id || ':' || state, ',') FROM rollup_status"))

    # what the admin sees: the tree, the computers of the hierarchy, their report
    tree = json.loads(s.ctl("--json", "downstreams"))["tree"]
    check([(t["name"], t["mode"], t["summary"]["UpdateCount"], t["last_rollup"]) for t in tree] ==
          [("mid.example.test", "autonomous", 41, "2026-12-01T10:00:00Z")] and
          [(c["name"], c["summary"]["ComputerTargetCount"], c["computers"], c["parent_id"])
           for c in tree[0]["children"]] == [("leaf.example.test", 2, 2, MID)],
          "downstreams tree: mid with leaf below: %r" % tree)
    out = s.ctl("downstreams")
    check(re.search(r"\nmid\.example\.test +autonomous +2026-12-01T09:00:00Z +2026-12-01T10:00:00Z +41 "
                    r"+0 +0 +0 +0 +0 +%s\n  leaf\.example\.test +autonomous .* 40 +0 +2 " % MID, out)
          is not None, "downstreams shows the tree indented: %r" % out)
    rows = json.loads(s.ctl("--json", "computers"))["computers"]
    check([(r["name"], r["server"], r["rolled_up"], r["updates"]["installed"], r["updates"]["failed"])
           for r in rows] == [("pc-1.example.test", "leaf.example.test", True, 2, 0),
                              ("pc-2.example.test", "leaf.example.test", True, 0, 0),
                              ("pc-3", "mid.example.test", True, 0, 0)],
          "computers of the hierarchy with their server: %r" % rows)
    out = s.ctl("computers")
    check(re.search(r"pc-1\.example\.test +pc-1 +10\.0\.19045\.0\.0 +2026-12-01T08:00:00Z +0 +2 +0 "
                    r"+- +leaf\.example\.test\n", out) is not None, "computers table: %r" % out)
    out = s.ctl("computers", "show", "PC-1.example.test")
    check("server:          leaf.example.test (reported by the reporting rollup)" in out and
          re.search(r"installed +%s +2026-11-30T01:00:00Z" % UPD1, out) is not None and
          re.search(r"installed +%s +2026-11-30T02:00:00Z" % UPD2, out) is not None,
          "computers show of a rolled-up computer: its server and statuses: %r" % out)
    rep = json.loads(s.ctl("--json", "report"))["downstream"]
    check(rep["computers"] == 3 and
          [(u["update_id"], u["computers"], u["needed"], u["installed"], u["failed"],
            u["not_applicable"]) for u in rep["updates"]] ==
          [(UPD1, 2, 1, 1, 0, 0), (UPD2, 2, 0, 1, 0, 1)],
          "report of the hierarchy: %r" % rep)
    out = s.ctl("report")
    check("computers of the servers below (reporting rollup): 3" in out and
          re.search(r"%s +- +2 +1 +0 +1 +0 +0 " % UPD1, out) is not None, "report text: %r" % out)

    before = counts(s)
    # another direct downstream cannot report the middle's leaf, nor computers under it
    other = s.authenticate(name="other.example.test", guid=OTHER)
    refused(call(s, "GetRollupConfiguration", FIXED), "InvalidCookie",
            "cookie: the fixed rollup cookie names no downstream and several downstream servers "
            "authenticated from 127.0.0.1; send the cookie of ServerSyncWebService GetCookie "
            "instead", "the fixed cookie from an address two downstreams use")
    refused(servers(s, other, [server(LEAF, "leaf.example.test", OTHER),
                               server(OTHER, "other.example.test", ZERO)]),
            "InvalidParameters", "ServerId %s belongs to another branch of this server; %s cannot "
            "report it" % (LEAF, OTHER), "a descendant of another branch")
    refused(servers(s, other, [server(MID, "mid.example.test", ZERO)]), "InvalidParameters",
            "ServerId %s names this server as its parent, but the cookie is of %s: a downstream "
            "reports itself and its own descendants only" % (MID, OTHER), "another server's self entry")
    refused(computers(s, other, [computer("pc-9", LEAF, "pc-9.example.test")]), "InternalServerError",
            "ParentServerId %s of computer pc-9 is not %s nor one of its descendants "
            "(RollupDownstreamServers first)" % (LEAF, OTHER), "a computer under another branch")
    refused(statuses(s, other, MID, [status("pc-1", 9, [(UPD1, 0, "2026-12-01T00:00:00Z")])]),
            "InvalidParameters", "parentServerId %s belongs to another branch than %s's" % (MID, OTHER),
            "statuses for another branch")
    # batches over the batch sizes, malformed values: refused, nothing stored
    refused(computers(s, mid, [computer("x%d" % i, MID) for i in range(1501)]), "InvalidParameters",
            "computers: more than 1500 ComputerRollupInfo (RollupComputersMaxBatchSize)",
            "1501 computers")
    refused(servers(s, mid, [server(MID, "mid.example.test", ZERO).replace(
        "<ClientSummaries></ClientSummaries>", "<ClientSummaries>%s</ClientSummaries>" %
        ("<DownstreamServerRollupClientSummary />" * 5001))]),
            "InvalidParameters", "downstreamServers: more than 5000 DownstreamServerRollupClientSummary "
            "in one request (RollupDownstreamServersMaxBatchSize)", "5001 client summaries")
    refused(statuses(s, mid, MID, [status("pc-1", 3 + i, []) for i in range(501)]), "InvalidParameters",
            "computers: more than 500 ComputerStatusRollupInfo (RollupComputerStatusMaxBatchSize)",
            "501 computer statuses")
    refused(computers(s, mid, [computer("pc-4", MID, sync="2026-02-30T00:00:00Z")]),
            "InvalidParameters", "computers: computer 1: LastSyncTime: not an xsd:dateTime "
            "(YYYY-MM-DDTHH:MM:SS[.fff][Z])", "a date that does not exist")
    refused(servers(s, mid, [server("not-a-guid", "x.example.test", MID)]), "InvalidParameters",
            "downstreamServers: server 1: ServerId: not a GUID", "a bad GUID")
    refused(servers(s, mid, [server(MID, "mid.example.test", ZERO, vals={"UpdateCount": -1})]),
            "InvalidParameters", "downstreamServers: server 1: UpdateCount: not an integer in "
            "0..2147483647", "a negative count")
    refused(computers(s, mid, [computer("y" * 257, MID)]), "InvalidParameters",
            "computers: computer 1: ComputerId: longer than 256 bytes", "an oversized ComputerId")
    refused(servers(s, mid, [server(own, "me.example.test", MID)]), "InvalidParameters",
            "ServerId %s: this server's own or the all-zero id" % own, "this server's own id")
    check(counts(s) == before, "nothing stored by the refused requests: %s vs %s" % (counts(s), before))

    # the per-branch bound: a flood of descendants beyond rollup-max-servers stores nothing
    s.ctl("config", "set", "rollup-max-servers", "3")
    refused(servers(s, mid, [server("2d9a3c55-5b2e-4a4f-8a10-3c2b1e0f9a%02d" % i, "f%d.example.test" % i,
                                    MID) for i in range(2)]), "InvalidParameters",
            "downstream %s would hold 4 servers, more than 3 (setting rollup-max-servers); nothing "
            "stored" % MID, "servers beyond rollup-max-servers")
    check(counts(s) == before, "the flood stored nothing: %s" % counts(s))
    s.ctl("config", "reset", "rollup-max-servers")

    # a rebuilt leaf (new id, same name, same parent) replaces the old one: no duplicate, its
    # computers stay
    NEWLEAF = "3e9a3c55-5b2e-4a4f-8a10-3c2b1e0f9a99"
    ok(servers(s, mid, [server(NEWLEAF, "LEAF.example.test", MID, rollup="2026-12-02T10:00:00Z"),
                        server(MID, "mid.example.test", ZERO, rollup="2026-12-02T10:00:00Z",
                               summaries=1, activity=act(UPD1, 2, 0))]),
       "RollupDownstreamServers after a rebuild")
    # an older LastRollupTime is ignored, its activity too (3.1.4.14)
    ok(servers(s, mid, [server(MID, "mid.example.test", ZERO, rollup="2026-12-01T11:00:00Z",
                               summaries=1, activity=act(UPD1, 50, 50))]), "an older rollup")
    mid_row = [t for t in json.loads(s.ctl("--json", "downstreams"))["tree"] if t["server_id"] == MID]
    check([(t["install_successes"], t["install_failures"], t["last_rollup"]) for t in mid_row] ==
          [(5, 1, "2026-12-02T10:00:00Z")],
          "client install activity summed over the rollups, the older one ignored: %r" % mid_row)
    check(s.sql("SELECT string_agg(server_id::text, ',' ORDER BY name) FROM rollup_server") ==
          "%s,%s" % (NEWLEAF, MID), "the rebuilt leaf replaced the old one")
    check(s.sql("SELECT string_agg(DISTINCT server_id::text, ',') FROM rollup_computer WHERE "
                "computer_id IN ('pc-1', 'pc-2')") == NEWLEAF, "its computers moved to the new id")

    # a downstream whose clock is one hour behind: its time stamps are moved by the difference
    # (MS-WSUSSS <50>: beyond one minute)
    behind = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    ok(servers(s, mid, [server(MID, "mid.example.test", ZERO, rollup="2026-12-03T10:00:00Z")],
               when=behind), "RollupDownstreamServers with a slow clock")
    check(s.sql("SELECT round(extract(epoch FROM last_rollup - '2026-12-03T10:00:00Z') / 60) FROM "
                "rollup_server WHERE server_id = '%s'" % MID) == "60",
          "last rollup moved by the hour of clock difference")

    # DoDetailedRollup off: summaries only
    s.ctl("config", "set", "rollup-detailed", "off")
    data = ok(call(s, "GetRollupConfiguration", mid), "GetRollupConfiguration (off)")
    check(b"<DoDetailedRollup>false</DoDetailedRollup>" in data, "DoDetailedRollup false")
    refused(computers(s, mid, [computer("pc-5", MID)]), "InvalidParameters",
            "RollupComputers: DoDetailedRollup is false here (setting rollup-detailed off): send "
            "server summaries only", "computers while detailed rollup is off")
    s.ctl("config", "reset", "rollup-detailed")

    # ageing out: computers without contact for rollup-computer-max-age-days go at the next rollup
    s.sql("UPDATE rollup_computer SET last_sync = now() - interval '31 days' WHERE computer_id = 'pc-2'")
    ok(computers(s, mid, []), "RollupComputers (empty)")
    check(s.sql("SELECT string_agg(computer_id, ',' ORDER BY computer_id) FROM rollup_computer") ==
          "pc-1,pc-3", "pc-2 aged out after 30 days")
    check(s.sql("SELECT count(*) FROM rollup_status WHERE computer_id = 'pc-2'") == "0",
          "with its statuses")

    # the per-branch bound on computers
    s.ctl("config", "set", "rollup-max-computers", "3")
    before = counts(s)
    refused(computers(s, mid, [computer("pc-7", MID, "pc-7.example.test"),
                               computer("pc-8", MID, "pc-8.example.test")]), "InvalidParameters",
            "downstream %s would hold 4 computers, more than 3 (setting rollup-max-computers); "
            "nothing stored" % MID, "computers beyond rollup-max-computers")
    check(counts(s) == before, "nothing stored beyond the bound: %s" % counts(s))
    s.ctl("config", "reset", "rollup-max-computers")

    # a stranger naming the live middle server from another address takes nothing over (the
    # old server's address is made another one here: the test has one loopback address)
    s.sql("UPDATE downstream_server SET address = '10.9.9.9' WHERE account_guid = '%s'" % MID)
    STRANGER = "8b1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e14"
    stranger = s.authenticate(name="mid.example.test", guid=STRANGER)
    ok(servers(s, stranger, [server(STRANGER, "mid.example.test", ZERO)]),
       "a stranger reports itself under a taken name")
    check(s.sql("SELECT string_agg(reporter_id::text, ',' ORDER BY name) FROM rollup_server "
                "WHERE server_id <> '%s'" % STRANGER) == "%s,%s" % (MID, MID),
          "the middle server's branch stays its own")
    s.sql("DELETE FROM rollup_server WHERE server_id = '%s'" % STRANGER)
    s.sql("DELETE FROM downstream_server WHERE account_guid = '%s'" % STRANGER)
    s.sql("UPDATE downstream_server SET address = '127.0.0.1' WHERE account_guid = '%s'" % MID)

    # the middle server itself rebuilt: a new id with the old name (from the same address)
    # takes over its branch
    NEWMID = "7a1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e13"
    newmid = s.authenticate(name="mid.example.test", guid=NEWMID)
    ok(servers(s, newmid, [server(NEWLEAF, "leaf.example.test", NEWMID, rollup="2026-12-04T10:00:00Z"),
                           server(NEWMID, "mid.example.test", ZERO, rollup="2026-12-04T10:00:00Z")]),
       "RollupDownstreamServers of the rebuilt middle server")
    tree = json.loads(s.ctl("--json", "downstreams"))
    check([(t["server_id"], [c["server_id"] for c in t["children"]]) for t in tree["tree"]] ==
          [(NEWMID, [NEWLEAF])], "one middle server (the new id) with its leaf: %r" % tree["tree"])
    check(sorted(d["account_guid"] for d in tree["downstreams"]) == sorted([NEWMID, OTHER]),
          "the old id left the downstream list: %r" % tree["downstreams"])
    check(s.sql("SELECT string_agg(computer_id || ':' || server_id || ':' || reporter_id, ',' ORDER "
                "BY computer_id) FROM rollup_computer") ==
          "pc-1:%s:%s,pc-3:%s:%s" % (NEWLEAF, NEWMID, NEWMID, NEWMID),
          "the computers stay, under the new id: %s" % s.sql("SELECT string_agg(computer_id, ',') "
                                                              "FROM rollup_computer"))
finally:
    s.cleanup()
ws.finish("test_rollup_upstream")
