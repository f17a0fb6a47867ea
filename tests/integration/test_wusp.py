#!/usr/bin/env python3
"""test_wusp: Windows Update clients against a real wsusd (MS-WUSP client web services).

A real wsusd on a fresh database of the test cluster, seeded with `wsusctl import` of the real
export (tests/data/WSUS.cab) and a generated package with content (tests/tools/wsusgen.py).
tests/tools/wuclient.py (the client emulator, written from the spec and the captures) runs the
whole flow with --validate: GetConfig, SimpleAuth, GetCookie, RegisterComputer, staged scan
rounds, GetExtendedUpdateInfo, GetFileLocations, downloads in 1 MiB ranges with hash checks,
ReportEventBatch. The admin then declines, and the computer moves to another group
(client-side targeting); the next scan must offer exactly the new set, computed here from the
deployment tables independently of the server's code. Then `wuclient.py replay` of the real
client requests, and hostile clients: forged, expired and foreign cookies, oversized lists, a
registration flood.
"""

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

import wsustest as wt

sys.path.insert(0, os.path.join(wt.SRC, "tests", "tools"))
import wuclient  # noqa: E402

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
WUCLIENT = os.path.join(wt.SRC, "tests", "tools", "wuclient.py")
DB = "it_wusp"
DB2 = "it_wusp_other"
ALL = "a0a08746-4dbe-4a37-9adf-9e7652c0b421"
UNASSIGNED = "b73ca6ed-5727-47f3-84de-015e03f6a88a"
X64 = "59653007-e2e9-4f71-8525-2ff588527978"


def psql(query, db=DB):
    return wt.sql(db, query)


def ctl(conf, *args):
    r = wt.wsusctl(conf, *args)
    wt.check(r.returncode == 0, "wsusctl %s" % " ".join(args), r)
    return r


def run_client(port, state, out, *extra):
    """wuclient.py run as a subprocess (the way an admin would run it); returns the summary."""
    r = subprocess.run([sys.executable, WUCLIENT, "run", "--server", "http://127.0.0.1:%d" % port,
                        "--validate", "--state", state, "--out", out, "--timeout", "60"] +
                       list(extra), capture_output=True, text=True, timeout=300)
    with open(out) as f:
        summary = json.load(f)
    wt.check(r.returncode == 0 and summary["result"] == "ok" and not summary["schema_errors"],
             "wuclient run (%s): flow ends ok, every answer valid" % out.rsplit("/", 1)[-1],
             "exit %d\n%s\n%s\nerror: %s\nschema: %s" % (
                 r.returncode, r.stdout[-2000:], r.stderr[-2000:], summary.get("error"),
                 summary.get("schema_errors")[:5]))
    return summary


def closure(roots):
    """Update ids reachable from roots through prerequisites and bundled updates (SQL tables
    read here, not the server's query)."""
    pre = {}
    for rid, uid, dep in psql(
            "SELECT r.id, r.update_id, p.update_id FROM revision r JOIN revision_prerequisite p"
            " ON p.revision_id = r.id UNION ALL SELECT r.id, r.update_id, b.member_update_id"
            " FROM revision r JOIN revision_bundle b ON b.revision_id = r.id"):
        pre.setdefault(uid, set()).add(dep)
    known = {u for (u,) in psql("SELECT DISTINCT update_id FROM revision")}
    seen, todo = set(), list(roots)
    while todo:
        u = todo.pop()
        if u in seen or u not in known:
            continue
        seen.add(u)
        todo.extend(pre.get(u, ()))
    return seen


def expected_install(groups):
    """Update ids a computer in groups must get with Action Install: the nearest approval of
    each update along the group chains (Block overrides), not declined, latest revision not
    expired."""
    parent = {g: p for g, p in psql("SELECT id, parent_id FROM target_group")}
    chains = []
    for g in groups:
        chain, depth = {}, 0
        while g in parent and g not in chain:
            chain[g] = depth
            g, depth = parent[g], depth + 1
        chains.append(chain)
    declined = {u for (u,) in psql("SELECT update_id FROM declined_update")}
    latest_state = {u: s for u, s in psql(
        "SELECT DISTINCT ON (update_id) update_id, publication_state FROM revision"
        " ORDER BY update_id, revision_number DESC")}
    best = {}
    for uid, gid, action in psql("SELECT update_id, target_group_id, action FROM deployment"
                                 " WHERE NOT dead"):
        for chain in chains:
            if gid in chain:
                key = (chain[gid], action == "3")
                if uid not in best or key < best[uid][0]:
                    best[uid] = (key, action)
    return {u for u, (_, a) in best.items()
            if a == "0" and u not in declined and latest_state.get(u) != "Expired"}


def offered(summary, action="Install"):
    return {u["update_id"] for u in summary["updates"] if u["action"] == action}


def soap(port, service, op, inner):
    """One raw SOAP call; returns (HTTP status, ErrorCode or None, body text)."""
    path, ns, prefix = wuclient.SERVICES[service]
    body = wuclient.envelope(ns, op, inner).encode()
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s%s"' % (prefix, op)})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, None, r.read().decode()
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        code = text.split("<ErrorCode>")[1].split("</ErrorCode>")[0] if "<ErrorCode>" in text \
            else None
        return e.code, code, text


def scan_cache(conf):
    """The scan cache counters of /metrics on the admin listener."""
    with open(conf) as f:
        admin = [line.split("=", 1)[1].strip() for line in f
                 if line.split("=")[0].strip() == "listen"][1]
    with open(os.path.join(os.path.dirname(conf), "state", "admin.token")) as f:
        req = urllib.request.Request("http://%s/metrics" % admin, headers={
            "Authorization": "Bearer " + f.read().strip()})
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("wsusd_client_scan_cache_total{result=\""):
            out[line.split('"')[1]] = int(line.split()[-1])
        elif line.startswith("wsusd_client_scan_cache_sets "):
            out["sets"] = int(line.split()[-1])
    return out


def cookie_xml(cookie):
    return wuclient.el("cookie", wuclient.el("Expiration", cookie[0]) +
                       wuclient.el("EncryptedData", cookie[1]))


def new_client(port, client_id, name):
    """A registered emulated client (handshake done), for the hostile cases."""
    c = wuclient.WuClient("http://127.0.0.1:%d" % port,
                          wuclient.Machine(client_id=client_id, computer_name=name))
    c.get_config()
    c.authorize()
    c.register_computer()
    return c


def client_verdict(port, conf, cid, b1, b2, b3, b4):
    """wsusctl report from the computer's own status event (156): installable (U), installed
    (V), an approved update in neither is not applicable; a later install event overrides."""
    c = new_client(port, cid, "pc1.test")
    # b2 is approved for Ring 2 only (no computer there yet): a status naming it counts nowhere
    junk = "U=%s;not-a-guid;%s;;%s" % (b1.upper(), "0" * 8 + "-0000-0000-0000-" + "0" * 12, b2)
    wt.check(c.report([c.event(156, misc=[junk, "V=" + b3, "Q=1"])]), "status event accepted",
             None)

    def report():
        r = ctl(conf, "--json", "report")
        return {u["update_id"]: (u["approved"], u["needed"], u["downloaded"], u["installed"],
                                 u["failed"], u["not_applicable"], u["inferred"])
                for u in json.loads(r.stdout)["updates"]} if r.returncode == 0 else r.stderr

    got = report()
    want = {b1: (1, 1, 0, 0, 0, 0, 0), b3: (1, 0, 0, 1, 0, 0, 0), b4: (1, 0, 0, 0, 0, 1, 0)}
    wt.check(got == want, "report from the client's verdict: b1 needed, b3 installed, b4 not "
             "applicable (junk ids and an update not approved for it ignored)", (got, want))

    def show():
        r = ctl(conf, "--json", "computers", "show", "pc1.test")
        return {u["update_id"]: u["status"] for u in json.loads(r.stdout)["update_status"]
                if u["update_id"] in (b1, b2, b3)} if r.returncode == 0 else r.stderr

    got = show()
    wt.check(got == {b1: "needed", b2: "needed", b3: "installed"},
             "computers show: the computer's own verdict (status event), as report counts it",
             got)
    upd = type("U", (), {"update_id": b1, "revision": 200})
    wt.check(c.report([c.event(183, upd=upd, strings=["b1"])]), "install event accepted", None)
    got = report()
    want[b1] = (1, 0, 0, 1, 0, 0, 0)
    wt.check(got == want, "a later install event overrides the status", (got, want))
    got = show()
    wt.check(got == {b1: "installed", b2: "needed", b3: "installed"},
             "computers show: a later install event overrides the status, as in report", got)
    r = ctl(conf, "report")
    wt.check(r.returncode == 0 and "NOT-APP" in r.stdout and "INFERRED" in r.stdout,
             "wsusctl report prints the not applicable and inferred columns", r.stdout)


EULA_FILES = [("eula-en.txt", "en", None), ("eula-en-us.txt", "en", "USA"),
              ("eula-de.txt", "de", None), ("eula-fr.txt", "fr", None)]


def eula_xml(name, lang, geo):
    digest = base64.b64encode(hashlib.sha1(name.encode()).digest()).decode()
    return ('<EulaFile Digest="%s" DigestAlgorithm="SHA1" FileName="%s" Size="10" Language="%s"'
            '%s />' % (digest, name, lang, ' GeoId="%s"' % geo if geo else ""))


def eula_fragments(port, rev):
    """GetExtendedUpdateInfo infoType Eula: the EulaFile fragments of the requested languages
    (plus en), the region's where there is one, else the Rest of World one."""
    files = "".join(eula_xml(*f).replace("<EulaFile", "<upd:EulaFile") for f in EULA_FILES)
    psql("UPDATE revision SET xml = replace(xml, '</upd:LocalizedPropertiesCollection>', '%s"
         "</upd:LocalizedPropertiesCollection>') WHERE id = %s" % (files, rev))
    c = new_client(port, "0e0e0e0e-0000-4000-8000-00000000e01a", "eula.test")

    def ask(geo, *types):
        st, code, body = soap(port, "client", "GetExtendedUpdateInfo", cookie_xml(c.cookie) +
                              wuclient.ints("revisionIDs", [int(rev)]) +
                              wuclient.el("infoTypes", "".join(wuclient.el(
                                  "XmlUpdateFragmentType", t) for t in types)) +
                              wuclient.el("locales", wuclient.el("string", "en-US") +
                                          wuclient.el("string", "de")) +
                              (wuclient.el("GeoId", geo) if geo else ""))
        wt.check(st == 200, "GetExtendedUpdateInfo with %s: answered" % (types,), (st, code, body))
        root = ET.fromstring(body)
        return [u.find("{%s}Xml" % wuclient.NS_CLIENT).text for u in root.iter(
            "{%s}Update" % wuclient.NS_CLIENT)]

    got = ask("USA", "Eula")
    want = [eula_xml(*EULA_FILES[1]), eula_xml(*EULA_FILES[2])]
    wt.check(sorted(got) == sorted(want), "Eula fragments for en-US/de in USA: the USA English "
             "EULA and the German one, namespaces stripped", (got, want))
    got = ask(None, "Eula")
    want = [eula_xml(*EULA_FILES[0]), eula_xml(*EULA_FILES[2])]
    wt.check(sorted(got) == sorted(want), "Eula fragments without GeoId: the Rest of World ones",
             (got, want))
    got = ask(None, "Core", "Published", "VerificationRule")
    wt.check(len(got) == 1 and got[0].startswith("<UpdateIdentity ") and "EulaID" in got[0],
             "infoType Core: the Core fragment; Published and VerificationRule: nothing", got)


def main():
    with wt.TempDir() as tmp:
        wt.create_db(DB)
        conf = wt.write_config(tmp, DB, server_extra="threads = 4\n")
        content = os.path.join(tmp, "gen-content")
        pkg = os.path.join(tmp, "gen.cab")
        subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "6", "--file-size",
                        "300K-2300K", "--out", pkg, "--content-dir", content], check=True,
                       capture_output=True)
        ctl(conf, "import", wt.data("WSUS.cab"))
        ctl(conf, "import", pkg, "--content", content)
        srv = wt.Wsusd(conf)
        srv.start()
        port = srv.listen_port()
        ctl(conf, "config", "set", "client-targeting", "client")
        ctl(conf, "groups", "add", "Ring 2")
        ring2 = psql("SELECT id FROM target_group WHERE name = 'Ring 2'")[0][0]
        bundles = [u for (u,) in psql(
            "SELECT DISTINCT update_id FROM revision WHERE update_type = 'Software'"
            " AND explicitly_deployable ORDER BY 1")]
        wt.check(len(bundles) == 6, "six generated bundles", bundles)
        b1, b2, b3, b4 = bundles[:4]
        ctl(conf, "approve", b1, "--deadline", "2031-05-01T18:00:00Z")
        ctl(conf, "approve", b2, "--group", "Ring 2")
        ctl(conf, "approve", b3, "--group", "Unassigned Computers")
        ctl(conf, "approve", b4)
        ctl(conf, "approve", b4, "--group", "Ring 2", "--action", "block")
        # what the machine has: x64, every detectoid, product and classification the bundles need
        # (their applicability rules are registry or file rules the emulator cannot evaluate)
        dets = [u for (u,) in psql(
            "SELECT DISTINCT p.update_id FROM revision_prerequisite p JOIN revision d"
            " ON d.update_id = p.update_id JOIN revision s ON s.id = p.revision_id"
            " WHERE d.update_type IN ('Detectoid', 'Category') AND s.update_type = 'Software'")]
        installed = ",".join(sorted(set(dets) | {X64}))
        try:
            state = os.path.join(tmp, "pc1.json")
            s1 = run_client(port, state, os.path.join(tmp, "pc1-1.json"), "--computer-name",
                            "pc1.test", "--installed", installed)
            want = expected_install([UNASSIGNED])
            wt.check(want == {b1, b3, b4}, "expected first set (All + Unassigned)", want)
            wt.check(offered(s1) == want, "first scan: Action Install for exactly the approved "
                     "bundles", (offered(s1), want))
            everything = {u["update_id"] for u in s1["updates"]}
            wt.check(everything <= closure(want), "first scan: nothing beyond the approved "
                     "bundles and their dependencies", everything - closure(want))
            leaves = {u for (u,) in psql(
                "SELECT DISTINCT b.member_update_id FROM revision_bundle b JOIN revision r"
                " ON r.id = b.revision_id JOIN revision_prerequisite p ON p.revision_id IN"
                " (SELECT id FROM revision WHERE update_id = b.member_update_id)"
                " WHERE r.update_id IN ('%s') AND p.update_id = '%s'" % (
                    "','".join(want), X64))}
            wt.check(leaves and leaves <= everything, "the x64 leaves of the approved bundles "
                     "were offered", leaves - everything)
            rounds = s1["scan_rounds"]
            wt.check(len([r for r in rounds if r["software"]]) >= 3 and
                     not rounds[-1]["new"], "staged scan: several rounds, until none is new",
                     rounds)
            dl = {u["update_id"]: u.get("deadline") for u in s1["updates"]}
            wt.check(dl.get(b1) == "2031-05-01T18:00:00Z", "deadline of the approval sent",
                     dl.get(b1))
            wt.check({u["update_id"] for u in s1["updates"] if u["selected"]} == want,
                     "the client selects the approved bundles", s1["updates"])
            files = s1["files"]
            wt.check(files and all(f["verified"] for f in files), "every file downloaded and "
                     "verified (SHA-1, SHA-256)", [f for f in files if not f["verified"]])
            wt.check(any(f["ranges"] > 1 for f in files), "files above 1 MiB came in ranges",
                     [(f["size"], f["ranges"]) for f in files])
            wt.check(s1["reports_accepted"] == [True, True], "both event batches accepted",
                     s1["reports_accepted"])
            cid = wuclient.DEFAULT_CLIENT_ID
            rows = psql("SELECT event_id, count(*) FROM client_event WHERE computer_id = '%s'"
                        " GROUP BY 1 ORDER BY 1" % cid)
            wt.check(rows == [["147", "1"], ["156", "1"], ["162", str(len(want))]],
                     "events stored: one 147, one status (156), one 162 per installed update",
                     rows)
            st = psql("SELECT update_id, state FROM computer_update_status WHERE"
                      " computer_id = '%s' ORDER BY 1" % cid)
            wt.check(st == sorted([u, "needed"] for u in want), "the client's status stored: "
                     "each approved bundle installable (MiscData U)", st)
            r = ctl(conf, "--json", "report")
            rep = json.loads(r.stdout) if r.returncode == 0 else {}
            rows = {u["update_id"]: u for u in rep.get("updates", [])}
            wt.check(rep.get("computers") == 1 and rep.get("not_reporting") == 0 and
                     set(rows) == want and
                     all((u["approved"], u["downloaded"], u["installed"], u["failed"],
                          u["needed"], u["not_applicable"], u["inferred"]) ==
                         (1, 1, 0, 0, 1, 0, 0) for u in rows.values()),
                     "report: each approved update approved for 1 computer, downloaded by it "
                     "(what it reported)", rep)
            client_verdict(port, conf, cid, b1, b2, b3, b4)
            kb = psql("SELECT kb_article_id FROM revision WHERE update_id = '%s' LIMIT 1"
                      % b1)[0][0]
            r = ctl(conf, "--json", "report", "--update", "KB" + kb)
            wt.check(r.returncode == 0 and [u["update_id"] for u in
                                            json.loads(r.stdout)["updates"]] == [b1],
                     "report --update KB: that update only", r.stdout)
            r = ctl(conf, "--json", "report", "--group", "Ring 2")
            wt.check(r.returncode == 0 and json.loads(r.stdout)["computers"] == 0 and
                     json.loads(r.stdout)["updates"] == [], "report --group: nobody in Ring 2 "
                     "yet", r.stdout)
            comp = psql("SELECT name, os_version, registered_at IS NOT NULL, last_sync IS NOT "
                        "NULL FROM computer")
            wt.check(len(comp) == 1 and list(comp[0]) == ["pc1.test", "10.0.26200.0", "t", "t"],
                     "one computer row: name, OS, registered, scanned", comp)

            # the admin declines b1; the computer moves to Ring 2 (its policy says so)
            ctl(conf, "decline", b1)
            s2 = run_client(port, state, os.path.join(tmp, "pc1-2.json"), "--computer-name",
                            "pc1.test", "--installed", installed, "--target-group", "Ring 2")
            want2 = expected_install([ring2])
            wt.check(want2 == {b2}, "expected second set (Ring 2, b1 declined, b4 blocked)",
                     want2)
            wt.check(offered(s2) == want2, "second scan: exactly the new set",
                     (offered(s2), want2))
            gone = set(s2["out_of_scope"])
            old_ids = {u["revision_id"] for u in s1["updates"] if u["update_id"] in (b1, b3, b4)}
            wt.check(old_ids and old_ids <= gone, "declined, unassigned and blocked bundles "
                     "left the client's cache (OutOfScopeRevisionIDs)", (old_ids, gone))
            grp = psql("SELECT group_id FROM computer_group WHERE computer_id = '%s'" % cid)
            wt.check([g[0] for g in grp] == [ring2], "membership follows the client's target "
                     "group", grp)

            # a third scan with the same state: nothing new, nothing out of scope
            s3 = run_client(port, state, os.path.join(tmp, "pc1-3.json"), "--computer-name",
                            "pc1.test", "--installed", installed, "--target-group", "Ring 2",
                            "--no-download")
            wt.check(all(not r["new"] and not r["out_of_scope"] for r in s3["scan_rounds"]),
                     "third scan: nothing changed", s3["scan_rounds"])
            # that scan's calls shared one NeededRevisions computation (the scan cache)
            before = scan_cache(conf)
            run_client(port, state, os.path.join(tmp, "pc1-4.json"), "--computer-name",
                       "pc1.test", "--installed", installed, "--target-group", "Ring 2",
                       "--no-download")
            after = scan_cache(conf)
            wt.check(after["miss"] == before["miss"] and after["hit"] > before["hit"] and
                     after["sets"] >= 1, "an unchanged state: the scan is answered from the "
                     "scan cache (wsusd_client_scan_cache_total in /metrics)", (before, after))

            # a category-limited scan (StartCategoryScan + FilterCategoryIds) of another computer
            prod = psql("SELECT p.update_id FROM revision_prerequisite p JOIN revision r ON"
                        " r.id = p.revision_id JOIN revision c ON c.update_id = p.update_id"
                        " WHERE r.update_id = '%s' AND p.is_category AND"
                        " c.category_type = 'Product' LIMIT 1" % b3)[0][0]
            in_prod = {u for (u,) in psql(
                "SELECT DISTINCT r.update_id FROM revision r JOIN revision_prerequisite p ON"
                " p.revision_id = r.id WHERE p.is_category AND p.update_id = '%s'" % prod)}
            s5 = run_client(port, os.path.join(tmp, "pc2.json"), os.path.join(tmp, "pc2.json.out"),
                            "--computer-name", "pc2.test", "--client-id",
                            "0c2c2c2c-0000-4000-8000-000000000002", "--installed", installed,
                            "--category", prod, "--no-download")
            want5 = expected_install([UNASSIGNED]) & in_prod
            wt.check(b3 in want5 and offered(s5) == want5, "category scan: only the approved "
                     "updates of that product", (offered(s5), want5))
            # a product family selects its products (a product names its family as an
            # IsCategory prerequisite)
            fam = psql("SELECT p.update_id FROM revision_prerequisite p JOIN revision r ON"
                       " r.id = p.revision_id JOIN revision c ON c.update_id = p.update_id"
                       " WHERE r.update_id = '%s' AND p.is_category AND"
                       " c.category_type = 'ProductFamily' LIMIT 1" % prod)
            wt.check(len(fam) == 1, "the product's family is in the catalog", prod)
            in_fam = {u for (u,) in psql(
                "SELECT DISTINCT r.update_id FROM revision r JOIN revision_prerequisite p ON"
                " p.revision_id = r.id WHERE p.is_category AND p.update_id IN (SELECT"
                " x.update_id FROM revision x JOIN revision_prerequisite q ON q.revision_id ="
                " x.id WHERE x.update_type = 'Category' AND q.is_category AND q.update_id ="
                " '%s')" % fam[0][0])}
            s5f = run_client(port, os.path.join(tmp, "pc2f.json"),
                             os.path.join(tmp, "pc2f.json.out"), "--computer-name", "pc2f.test",
                             "--client-id", "0c2c2c2c-0000-4000-8000-0000000000f2",
                             "--installed", installed, "--category", fam[0][0], "--no-download")
            want5f = expected_install([UNASSIGNED]) & in_fam
            wt.check(b3 in want5f and offered(s5f) == want5f, "category scan of a product "
                     "family: the approved updates of its products", (offered(s5f), want5f))
            # EULA: an approved update whose license terms are not accepted is withheld
            b5 = bundles[4]
            eula = "5ea5ea5e-0000-4000-8000-00000000e01a"
            ctl(conf, "approve", b5)
            rev5 = psql("SELECT id FROM revision WHERE update_id = '%s' ORDER BY"
                        " revision_number DESC LIMIT 1" % b5)[0][0]
            psql("UPDATE revision_fragment SET xml = regexp_replace(xml, '(<Properties [^>]*?)"
                 " ?(/?>)', '\\1 EulaID=\"%s\" \\2') WHERE revision_id = %s AND kind = 'core'"
                 % (eula, rev5))
            wt.check("EulaID" in psql("SELECT xml FROM revision_fragment WHERE revision_id = %s"
                                      " AND kind = 'core'" % rev5)[0][0], "EulaID set", None)
            # the same license in the stored update document (accepteula checks the catalog
            # names it)
            psql("UPDATE revision SET xml = regexp_replace(xml, '(<upd:Properties [^>]*?)"
                 " ?(/?>)', '\\1 EulaID=\"%s\" \\2') WHERE id = %s" % (eula, rev5))
            pc3 = ("--computer-name", "pc3.test", "--client-id",
                   "0c3c3c3c-0000-4000-8000-000000000003", "--installed", installed,
                   "--no-download")
            s6 = run_client(port, os.path.join(tmp, "pc3.json"), os.path.join(tmp, "pc3-1.out"),
                            *pc3)
            want6 = expected_install([UNASSIGNED])
            wt.check(b5 in want6 and offered(s6) == want6 - {b5}, "EULA not accepted: withheld",
                     (offered(s6), want6))
            ctl(conf, "accepteula", eula)
            s7 = run_client(port, os.path.join(tmp, "pc3.json"), os.path.join(tmp, "pc3-2.out"),
                            *pc3)
            wt.check(offered(s7) == want6, "EULA accepted: offered", (offered(s7), want6))
            eula_fragments(port, rev5)
            ctl(conf, "unapprove", b5)

            # the admin's view: wsusctl computers / show, then server-side targeting and a move
            r = ctl(conf, "--json", "computers", "--group", "ring 2")
            listed = json.loads(r.stdout)["computers"] if r.returncode == 0 else []
            wt.check([c["name"] for c in listed] == ["pc1.test"] and
                     listed[0]["updates"]["downloaded"] == len((want | want2) - {b1}) and
                     listed[0]["updates"]["installed"] == 1,
                     "computers --group: pc1 in Ring 2 with its downloads (and b1's install) "
                     "reported", listed)
            r = ctl(conf, "--json", "computers", "show", "PC1.TEST")
            shown = json.loads(r.stdout) if r.returncode == 0 else {}
            # the one rule of wsusctl report: its last status event (sent after these
            # downloads) decides, unless a download/install event of the update came later
            # (Ring 2 holds pc1 alone)
            r = ctl(conf, "--json", "report", "--group", "ring 2")
            counted = {}
            for u in (json.loads(r.stdout)["updates"] if r.returncode == 0 else []):
                for col in ("installed", "downloaded", "failed", "not_applicable", "needed"):
                    if u[col]:
                        counted[u["update_id"]] = col
                        break
            got = {u["update_id"]: u["status"] for u in shown.get("update_status", [])
                   if u["update_id"] in counted}
            wt.check(len(got) >= 1 and got == {k: counted[k] for k in got},
                     "computers show: per-update status by the rule wsusctl report counts",
                     (got, counted))
            # the real client's requests, replayed: answers shaped as the real server's
            r = subprocess.run([sys.executable, WUCLIENT, "replay", "--server",
                                "http://127.0.0.1:%d" % port, "--validate"],
                               capture_output=True, text=True, timeout=300)
            print(r.stdout[-6000:])
            wt.check("Traceback" not in r.stderr, "replay runs", r.stderr[-3000:])
            wt.check("schema error" not in r.stdout.lower(), "replayed answers validate",
                     r.stdout[-3000:])
            same = [l.split()[0] for l in r.stdout.splitlines() if l.endswith("same shape")]
            wt.check(same == ["native-scan/0000%02d" % i for i in (1, 2, 3, 4, 5, 6, 9)] +
                     ["native-flow/0000%d" % i for i in (16, 17, 18)],
                     "replay: handshake, registration, category scan start, the category "
                     "round 1, the driver pass and the events have the real server's shape "
                     "(the others name the real server's revision ids)", r.stdout[-3000:])

            hostile(port, conf, tmp)
            # (the replay registered the captured client, pc1's id, under its captured name)
            ctl(conf, "config", "set", "client-targeting", "server")
            ctl(conf, "computers", "move", cid, "--group", "Unassigned Computers")
            s4 = run_client(port, state, os.path.join(tmp, "pc1-4.json"), "--computer-name",
                            "pc1.test", "--installed", installed, "--target-group", "Ring 2",
                            "--no-download")
            want4 = expected_install([UNASSIGNED])
            wt.check(want4 == {b3, b4} and offered(s4) == want4,
                     "server-side targeting: the admin's move decides, not the policy",
                     (offered(s4), want4))
            wt.check(any(f["error_code"] == "ConfigChanged" for f in s4["faults"]),
                     "the targeting change made the client fetch the configuration again "
                     "(ConfigChanged)", s4["faults"])
            ctl(conf, "computers", "remove", "h1.test")
            wt.check(psql("SELECT count(*) FROM computer WHERE name = 'h1.test'") == [["0"]],
                     "computers remove: the row is gone", None)
        finally:
            rc = srv.stop()
            wt.check(rc == 0, "wsusd exits cleanly", srv.output()[-3000:])
            report = srv.sanitizer_report()
            wt.check(report is None, "no sanitizer report", report)
        wt.drop_db(DB)
    wt.finish()


def hostile(port, conf, tmp):
    good = new_client(port, "11111111-2222-3333-4444-555555555555", "h1.test")
    sync = lambda ck, params="": wuclient.el("parameters", wuclient.el(  # noqa: E731
        "ExpressQuery", "false") + params + wuclient.el("SkipSoftwareSync", "false"))
    # forged: random bytes, and a real cookie with one byte changed
    forged = base64.b64encode(os.urandom(120)).decode()
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(("2030-01-01T00:00:00Z", forged))
                       + sync(None))
    wt.check((st, code) == (500, "InvalidCookie"), "forged cookie: InvalidCookie", (st, code))
    raw = bytearray(base64.b64decode(good.cookie[1]))
    raw[40] ^= 1
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(
        (good.cookie[0], base64.b64encode(bytes(raw)).decode())) + sync(None))
    wt.check((st, code) == (500, "InvalidCookie"), "tampered cookie: InvalidCookie", (st, code))
    st, code, _ = soap(port, "client", "SyncUpdates", sync(None))
    wt.check((st, code) == (500, "InvalidCookie"), "no cookie: InvalidCookie", (st, code))
    # an authorization cookie is not a cookie, and the other way round
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(
        (good.cookie[0], good.auth_cookie[1])) + sync(None))
    wt.check((st, code) == (500, "InvalidCookie"), "authorization cookie as cookie refused",
             (st, code))
    st, code, _ = soap(port, "client", "GetCookie", wuclient.el("authCookies", wuclient.el(
        "AuthorizationCookie", wuclient.el("PlugInId", "SimpleTargeting") +
        wuclient.el("CookieData", good.cookie[1]))) + wuclient.el("protocolVersion", "2.90"))
    wt.check((st, code) == (500, "InvalidAuthorizationCookie"),
             "cookie as authorization cookie: InvalidAuthorizationCookie", (st, code))
    # oversized lists
    many = wuclient.ints("OtherCachedUpdateIDs", list(range(1, 20002)))
    st, code, body = soap(port, "client", "SyncUpdates", cookie_xml(good.cookie) + sync(
        None, many))
    wt.check((st, code) == (500, "InvalidParameters") and "OtherCachedUpdateIDs" in body,
             "20,001 cached ids: InvalidParameters naming the list", (st, code))
    st, code, body = soap(port, "client", "GetExtendedUpdateInfo", cookie_xml(good.cookie) +
                          wuclient.ints("revisionIDs", list(range(1, 52))) +
                          wuclient.el("infoTypes", wuclient.el("XmlUpdateFragmentType",
                                                               "Extended")))
    wt.check((st, code) == (500, "InvalidParameters") and "revisionIDs" in body,
             "51 ids to GetExtendedUpdateInfo (MaxExtendedUpdatesPerRequest 50): "
             "InvalidParameters", (st, code))
    cats = "".join(wuclient.el("CategoryRelationship", wuclient.el("IndexOfAndGroup", str(i)) +
                               wuclient.el("CategoryId", ALL)) for i in range(200))
    st, code, _ = soap(port, "client", "StartCategoryScan",
                       wuclient.el("requestedCategories", cats))
    wt.check((st, code) == (500, "InvalidParameters"), "200 categories: InvalidParameters",
             (st, code))
    # GetExtendedUpdateInfo infoTypes: only the XmlUpdateFragmentType names, bounded; Eula needs
    # locales; GeoId is a region code
    def geui(types, extra=""):
        return soap(port, "client", "GetExtendedUpdateInfo", cookie_xml(good.cookie) +
                    wuclient.ints("revisionIDs", [1]) + wuclient.el("infoTypes", "".join(
                        wuclient.el("XmlUpdateFragmentType", t) for t in types)) + extra)
    locs = wuclient.el("locales", wuclient.el("string", "en"))
    for types, extra, why, word in (
            (["Extended", "Everything"], locs, "an unknown infoType", "XmlUpdateFragmentType"),
            (["Extended"] * 17, locs, "17 infoTypes", "more than 16"),
            (["Eula"], "", "Eula without locales", "locales: required"),
            (["Eula"], locs + wuclient.el("GeoId", "U&lt;S&gt;A"), "a GeoId with markup", "GeoId"),
            (["Eula"], locs + wuclient.el("GeoId", "A" * 65), "a 65-byte GeoId", "GeoId")):
        st, code, body = geui(types, extra)
        wt.check((st, code) == (500, "InvalidParameters") and word in body,
                 "GetExtendedUpdateInfo with %s: InvalidParameters" % why, (st, code, body[:300]))
    # SystemSpec in a software pass
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(good.cookie) + sync(
        None, wuclient.el("SystemSpec", "")))
    wt.check((st, code) == (500, "InvalidParameters"), "SystemSpec without SkipSoftwareSync: "
             "InvalidParameters", (st, code))
    # unregistered: a cookie for a client id that never registered
    un = wuclient.WuClient("http://127.0.0.1:%d" % port, wuclient.Machine(
        client_id="99999999-2222-3333-4444-555555555555", computer_name="un.test"))
    un.get_config()
    un.authorize()
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(un.cookie) + sync(None))
    wt.check((st, code) == (500, "RegistrationRequired"), "not registered: RegistrationRequired",
             (st, code))
    # expired: a 1-second cookie lifetime
    ctl(conf, "config", "set", "client-cookie-lifetime", "1")
    short = new_client(port, "22222222-2222-3333-4444-555555555555", "h2.test")
    short.authorize()
    time.sleep(2.2)
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(short.cookie) + sync(None))
    wt.check((st, code) == (500, "CookieExpired"), "expired cookie: CookieExpired", (st, code))
    ctl(conf, "config", "reset", "client-cookie-lifetime")
    # foreign: a cookie of another wsusd (another server id, another key)
    wt.create_db(DB2)
    conf2 = wt.write_config(os.path.join(tmp, "other"), DB2)
    other = wt.Wsusd(conf2)
    other.start()
    try:
        far = wuclient.WuClient("http://127.0.0.1:%d" % other.listen_port(), wuclient.Machine(
            client_id="33333333-2222-3333-4444-555555555555", computer_name="far.test"))
        far.get_config()
        far.authorize()
    finally:
        other.stop()
    wt.drop_db(DB2)
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(far.cookie) + sync(None))
    wt.check((st, code) == (500, "ServerChanged"), "foreign cookie: ServerChanged", (st, code))
    # a registration flood from one address: bounded rows, known computers keep working
    # (every computer of this test came from 127.0.0.1 within the hour: allow 2 more)
    before = int(psql("SELECT count(*) FROM computer")[0][0])
    limit = before + 2
    ctl(conf, "config", "set", "max-new-computers-per-hour", str(limit))
    refused = 0
    for i in range(8):
        try:
            new_client(port, "44444444-0000-0000-0000-%012d" % i, "flood%d.test" % i)
        except wuclient.SoapFault as f:
            refused += f.error_code == "ServerBusy"
    after = int(psql("SELECT count(*) FROM computer")[0][0])
    wt.check(after == limit and refused == 6,
             "flood: at most %d new ids per address per hour, the rest ServerBusy" % limit,
             (before, after, refused))
    good.register_computer()
    st, code, _ = soap(port, "client", "SyncUpdates", cookie_xml(good.cookie) + sync(None))
    wt.check(st == 200, "a known computer still registers and scans during the flood",
             (st, code))
    # storage microsoft-update: file locations are the files' Microsoft Update URLs
    digest, mu, name = psql("SELECT encode(sha1, 'base64'), mu_url, file_name FROM file"
                            " WHERE mu_url IS NOT NULL ORDER BY sha1 LIMIT 1")[0]
    locs = wuclient.el("fileDigests", wuclient.el("base64Binary", digest))
    st, code, body = soap(port, "client", "GetFileLocations", cookie_xml(good.cookie) + locs)
    wt.check(st == 200 and "/Content/" in body and mu not in body, "storage local: /Content/ URL",
             body[-600:])
    ctl(conf, "config", "set", "storage", "microsoft-update")
    st, code, body = soap(port, "client", "GetFileLocations", cookie_xml(good.cookie) + locs)
    wt.check(st == 200 and "<Url>%s</Url>" % mu in body, "storage microsoft-update: the MU URL",
             body[-600:])
    ctl(conf, "config", "reset", "storage")


if __name__ == "__main__":
    main()
