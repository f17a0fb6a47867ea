"""Several wsusd front-ends behind Debian's HAProxy on one database and one content directory
(issue 13; docs/admin-guide.md "Several front-ends behind a load balancer").

root    an upstream wsusd seeded with generated updates and content, reached through HAProxy
        frontend "up" (so every request for its content is logged)
fe1-3   three wsusd on one database (the farm) sharing one content directory, behind HAProxy
        frontend "farm" (roundrobin, no stickiness, health check GET /ready, X-Forwarded-For,
        trusted_proxies = the balancer's source address 127.0.0.3)
leaf    a downstream wsusd whose upstream is the farm's balancer

Checks: while fe2 synchronizes, "sync now" on fe1 and fe3 answers "a synchronization is already
running on fe2"; SIGKILL of fe2 in the middle of its content download (download-max-rate keeps
it there; the files it had stored are known from the catalog and the content directory); "sync
now" on fe3 takes over and finishes: the files fe2 stored are not fetched from the upstream
again (HAProxy's log of the upstream) and keep their inode; fe2 restarted rejoins (the balancer
routes to it again); the leaf syncs through the balancer with its cookie calls and the later
calls on different front-ends, and ends with the root's catalog and content; a Windows client
scans through the balancer; the client addresses the farm records are the clients' (from
X-Forwarded-For), and an X-Forwarded-For sent straight to a front-end is not believed.
Time bounds only catch a hang.
"""

import http.client
import json
import re
import os
import signal
import subprocess
import sys
import time

import wsustest as wt
import wsusnet as wn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync as ts  # noqa: E402  (revisions, documents, present_files, verify_store)

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
WUCLIENT = os.path.join(wt.SRC, "tests", "tools", "wuclient.py")
SYNC_LOCK_KEY = 0x77737573  # client/sync.h
BALANCER = "127.0.0.3"      # HAProxy's source address towards the servers


def ctl(conf, *args, ok=True):
    r = wt.wsusctl(conf, *args)
    if ok:
        wt.check(r.returncode == 0, "wsusctl %s" % " ".join(args), r)
    return r


def wait_for(what, cond, limit=60):
    """Poll cond() (bounded: only stops a hung test); returns its last value."""
    end = time.time() + limit
    v = cond()
    while not v and time.time() < end:
        time.sleep(0.2)
        v = cond()
    wt.check(bool(v), what)
    return v


def ready(port):
    """GET /ready straight to a front-end: (status, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/ready")
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace").strip()
    finally:
        c.close()


def served_by(port, path="/ready"):
    """GET path through the balancer: (status, X-Served-By)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("X-Served-By")
    finally:
        c.close()


def store_files(content):
    """{relative path: (inode, mtime_ns)} of the published files of a content directory."""
    out = {}
    base = os.path.join(content, "WsusContent")
    for dirpath, _, files in os.walk(base):
        for f in files:
            if not f.endswith(".partial") and not f.startswith("."):
                st = os.stat(os.path.join(dirpath, f))
                out[os.path.relpath(os.path.join(dirpath, f), base)] = (st.st_ino, st.st_mtime_ns)
    return out


def lock_holders(db):
    # pg_locks is the whole cluster's: other tests' databases hold their own sync locks
    return int(wt.sql_value(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                                "classid = 0 AND objid = %d AND granted AND database = (SELECT "
                                "oid FROM pg_database WHERE datname = current_database())"
                                % SYNC_LOCK_KEY))


def auth_config(port):
    """GetAuthConfig through the balancer: (X-Served-By, LastChange)."""
    body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.'
            'xmlsoap.org/soap/envelope/"><soap:Body><GetAuthConfig xmlns="http://www.microsoft.'
            'com/SoftwareDistribution" /></soap:Body></soap:Envelope>').encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", "/ServerSyncWebService/ServerSyncWebService.asmx", body, {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"http://www.microsoft.com/SoftwareDistribution/GetAuthConfig"'})
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        m = re.search(r"<LastChange>([^<]*)</LastChange>", text)
        return r.getheader("X-Served-By"), m.group(1) if m else text[:300]
    finally:
        c.close()


def mid_download(conf, db):
    """The id of the sync running in conf's wsusd once it has stored a few files, else None."""
    r = wt.wsusctl(conf, "sync", "status", "--json")
    run = (json.loads(r.stdout).get("running") or {}) if r.returncode == 0 else {}
    stored = int(wt.sql_value(db, "SELECT count(*) FROM file WHERE state = 'present'"))
    return run.get("id") if run.get("phase") == "content" and stored >= 3 else None


def frontend(tmp, name, db, content, balancer_url, per_address="0"):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = wt.write_config(d, db, server_extra=(
        "name = %s\ntrusted_proxies = %s\nmax_connections_per_address = %s\n"
        "public_url = %s\n" % (name, BALANCER, per_address, balancer_url)),
        extra="[storage]\ncontent_dir = %s\n\n[log]\nlevel = debug\n" % content)
    return conf


def dssauth_from(port, source, xffs):
    """A DssAuth GetAuthorizationCookie straight to a front-end from address source with one
    X-Forwarded-For header per item of xffs: (HTTP status, body)."""
    body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap='
            '"http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetAuthorizationCookie '
            'xmlns="http://www.microsoft.com/SoftwareDistribution/Server/DssAuthWebService">'
            '<accountName>probe.example.test</accountName><accountGuid>6b1c3d8e-0f2a-4c55-9a1e-'
            '7d3b2c1a0f99</accountGuid></GetAuthorizationCookie></soap:Body></soap:Envelope>'
            ).encode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        c.putrequest("POST", "/DssAuthWebService/DssAuthWebService.asmx")
        c.putheader("Content-Type", "text/xml; charset=utf-8")
        c.putheader("SOAPAction", '"http://www.microsoft.com/SoftwareDistribution/Server/'
                                  'DssAuthWebService/GetAuthorizationCookie"')
        c.putheader("Content-Length", str(len(body)))
        for x in xffs:
            c.putheader("X-Forwarded-For", x)
        c.endheaders(body)
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


def run(tmp, servers, dbs):
    wn.require_haproxy()
    r = subprocess.run(["haproxy", "-c", "-f", os.path.join(wt.SRC, "deploy",
                                                            "haproxy.cfg.sample")],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "haproxy -c accepts deploy/haproxy.cfg.sample", r)
    pkg, gen_content = os.path.join(tmp, "lb.cab"), os.path.join(tmp, "lb-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "13", "--updates", "12", "--file-size",
                        "24K-64K", "--out", pkg, "--content-dir", gen_content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)

    up_port, farm_port = wt.free_port(), wt.free_port()
    up_url, farm_url = "http://127.0.0.1:%d" % up_port, "http://127.0.0.1:%d" % farm_port

    # the upstream
    root_db = wt.create_db("it_lb_root")
    dbs.append(root_db)
    os.makedirs(os.path.join(tmp, "root"))
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    ctl(root_conf, "import", pkg, "--content", gen_content)
    nfiles, nbytes = (int(v) for v in wt.sql(root_db, "SELECT count(*), sum(size) FROM file "
                                                      "WHERE state = 'present'")[0])
    wt.check(nfiles >= 20, "root holds %d files (%d bytes)" % (nfiles, nbytes))

    # the farm: three front-ends on one database and one content directory
    farm_db = wt.create_db("it_lb_farm")
    dbs.append(farm_db)
    content = os.path.join(tmp, "farm-content")
    # fe3 keeps the default per-address limit (64): it warns that the limit counts the balancer
    confs = {n: frontend(tmp, n, farm_db, content, farm_url, "64" if n == "fe3" else "0")
             for n in ("fe1", "fe2", "fe3")}
    fes = {}
    for n in ("fe1", "fe2", "fe3"):
        fes[n] = wt.Wsusd(confs[n]).start()
        servers.append(fes[n])
    fe_ports = {n: fes[n].listen_port() for n in fes}
    warning = ("[server] max_connections_per_address = 64 counts every connection from a trusted "
               "proxy (%s) as one client" % BALANCER)
    wt.check(warning in fes["fe3"].output() and warning not in fes["fe1"].output(),
             "a front-end with trusted_proxies and a per-address limit warns at start",
             fes["fe3"].output()[-1500:])

    lb = wn.HAProxy(tmp, {
        "up": (up_port, [("root", "127.0.0.1", root.listen_port())], ""),
        "farm": (farm_port, [(n, "127.0.0.1", fe_ports[n]) for n in ("fe1", "fe2", "fe3")], ""),
    })
    try:
        lb.start()
        farm(tmp, servers, dbs, root_db, root_conf, farm_db, content, confs, fes, fe_ports, lb,
             up_url, farm_url, nfiles, nbytes)
    finally:
        lb.stop()
        if wt.failures:
            print("---- haproxy ----\n%s" % lb.output()[-4000:])


def farm(tmp, servers, dbs, root_db, root_conf, farm_db, content, confs, fes, fe_ports, lb,
         up_url, farm_url, nfiles, nbytes):
    # every front-end answers the health check through the balancer, roundrobin
    seen = {served_by(lb.ports["farm"])[1] for _ in range(6)}
    wt.check(seen == {"fe1", "fe2", "fe3"}, "GET /ready through HAProxy reaches fe1, fe2 and fe3",
             seen)
    st, body = ready(fe_ports["fe1"])
    wt.check(st == 200 and body == "ready", "GET /ready on a front-end: 200 ready", (st, body))

    # settings live in the database: set once on fe1, every front-end has them
    for k, v in (("upstream", up_url), ("download", "all"),
                 ("download-max-rate", str(max(nbytes // 25, 16384)))):
        ctl(confs["fe1"], "config", "set", k, v)

    # fe2 synchronizes; the others say where the sync runs
    ctl(confs["fe2"], "sync", "now")
    hid = wait_for("fe2 downloads content and has stored some files",
                   lambda: mid_download(confs["fe2"], farm_db))
    for n in ("fe1", "fe3"):
        r = ctl(confs[n], "sync", "now", ok=False)
        wt.check(r.returncode == 1 and r.stderr.startswith(
            "wsusctl: a synchronization is already running on fe2 (#%s, manual, started " % hid),
            "sync now on %s: one line saying the sync runs on fe2" % n, r)
    r = ctl(confs["fe1"], "sync", "cancel", ok=False)
    wt.check(r.returncode == 1 and r.stderr.strip() == (
        "wsusctl: synchronization %s runs on fe2, not on this front-end (fe1); run wsusctl sync "
        "cancel on fe2" % hid), "sync cancel on fe1 says where to cancel it", r)
    r = ctl(confs["fe3"], "sync", "status")
    wt.check(", on fe2)" in r.stdout, "sync status on fe3 says the run is on fe2", r.stdout)
    wt.check(lock_holders(farm_db) == 1 and int(wt.sql_value(
        farm_db, "SELECT count(*) FROM sync_history WHERE result = 'running'")) == 1,
        "exactly one front-end synchronizes (one lock holder, one running row)")

    # SIGKILL the syncing front-end in the middle of its content download
    fes["fe2"].proc.send_signal(signal.SIGKILL)
    fes["fe2"].proc.wait(10)
    stored = ts.present_files(farm_db)
    before = store_files(content)
    partial = {os.path.basename(p).split(".")[0].lower(): os.path.getsize(p)
               for p in ts.partials(content)}
    wt.check(0 < len(stored) < nfiles, "fe2 was killed mid-download: %d of %d files stored" % (
        len(stored), nfiles))
    # the catalog records a file only once its name is on disk; a kill between the (batched)
    # rename and the catalog's update leaves a published file the next run adopts after
    # verifying it (checked below: not fetched again, not rewritten)
    on_disk = {os.path.basename(k).split(".")[0].lower() for k in before}
    wt.check(stored <= on_disk, "every file the catalog says is stored is in the content "
             "directory (%d stored, %d on disk)" % (len(stored), len(on_disk)))
    wait_for("the database lets go of fe2's sync lock", lambda: lock_holders(farm_db) == 0, 30)
    r = wt.wsusctl(confs["fe1"], "checkhealth", timeout=120)
    want = ("FAIL  downloader: synchronization %s is marked running (phase content) but no wsusd "
            "holds the sync lock: the process that ran it (front-end fe2) is gone" % hid)
    wt.check(want in r.stdout.splitlines(), "checkhealth on fe1 names the front-end that is gone",
             r.stdout[-3000:])

    # the next trigger on another front-end takes over and finishes (checkhealth's Range probe
    # above fetched 1 KiB of a file: the upstream's log is looked at from here)
    log_mark = len(lb.lines())
    ctl(confs["fe3"], "config", "set", "download-max-rate", "0")
    r = ctl(confs["fe3"], "sync", "now", "--wait")
    h = ts.last_run(confs["fe3"])
    wt.check(h.get("result") == "succeeded" and h.get("front_end") == "fe3",
             "fe3 ran the next sync to the end", h)
    wt.check(h.get("files", -1) <= nfiles - len(stored),
             "fe3 downloaded only what fe2 had not stored (%s of %d)" % (h.get("files"), nfiles))
    old = json.loads(ctl(confs["fe1"], "sync", "history", "--json", "--limit", "5").stdout)
    old = [x for x in old if x["id"] == hid]
    wt.check(old and old[0]["result"] == "failed" and old[0]["front_end"] == "fe2" and
             "wsusd stopped or lost its database" in (old[0]["error"] or ""),
             "history: fe2's run is closed as failed with the reason", old)
    refetched = [u for f, s, m, u, code, a, rg in lb.lines()[log_mark:]
                 if f == "up" and u.startswith("/Content/") and
                 u.rsplit("/", 1)[-1].split(".")[0].lower() in on_disk]
    wt.check(not refetched, "no file fe2 had stored is fetched from the upstream again",
             refetched)
    resumed = [(u, rg) for f, s, m, u, code, a, rg in lb.lines()[log_mark:]
                if f == "up" and u.startswith("/Content/") and partial.get(
                    u.rsplit("/", 1)[-1].split(".")[0].lower(), 0) > 0]
    if any(v > 0 for v in partial.values()):  # nearly always: transfers run side by side
        wt.check(resumed and all(rg.startswith("bytes=") and not rg.startswith("bytes=0-")
                                 for u, rg in resumed),
                 "fe3 resumes fe2's partial files with Range requests (%d partial)" %
                 len(partial), resumed)
    else:
        print("note: fe2 left no partial file with bytes in it; resumption not checked")
    after = store_files(content)
    wt.check(all(after.get(k) == v for k, v in before.items()),
             "the files fe2 stored keep their inode and time (not written again)")
    wt.check(ts.present_files(farm_db) == ts.present_files(root_db) and
             not ts.verify_store(content, farm_db) and
             ts.documents(farm_db) == ts.documents(root_db),
             "the farm holds the root's catalog and content, every file verified")

    # fe2 restarted rejoins behind the balancer
    fes["fe2"] = wt.Wsusd(confs["fe2"]).start()
    servers.append(fes["fe2"])
    wait_for("the balancer routes to the restarted fe2 again",
             lambda: "fe2" in {served_by(lb.ports["farm"])[1] for _ in range(3)}, 30)

    # GetAuthConfig's LastChange is the same whichever front-end answers, the restarted fe2 too:
    # the catalog's creation
    created = wt.sql_value(farm_db, "SELECT to_char(min(applied_at) AT TIME ZONE 'UTC', "
                                    "'YYYY-MM-DD\"T\"HH24:MI:SS') FROM schema_version")
    answers = {auth_config(lb.ports["farm"]) for _ in range(3)}
    wt.check(len({fe for fe, _ in answers}) == 3 and
             all(t[:19] == created for _, t in answers),
             "GetAuthConfig: LastChange %s (the catalog's creation) from fe1, fe2 and fe3" % created,
             answers)

    # a downstream syncs through the balancer, its calls spread over the front-ends
    ctl(confs["fe1"], "config", "set", "allowed-downstreams", "127.0.0.1")
    leaf_dir, leaf_db, leaf_conf, leaf = ts.setup_server(tmp, "leaf", farm_url,
                                                         [("download", "all")])
    servers.append(leaf)
    dbs.append(leaf_db)
    mark = len(lb.lines())
    r = ctl(leaf_conf, "sync", "now", "--wait")
    calls = [(s, a.rsplit("/", 1)[-1]) for f, s, m, u, code, a, rg in lb.lines()[mark:]
             if f == "farm" and a not in ("", "-")]
    cookie = [i for i, (s, a) in enumerate(calls) if a == "GetCookie"]
    wt.check(cookie and any(s != calls[cookie[0]][0] for s, a in calls[cookie[0] + 1:]),
             "the cookie one front-end issued is used on another (calls: %s)" % calls[:12])
    wt.check(ts.documents(leaf_db) == ts.documents(root_db) and
             ts.present_files(leaf_db) == ts.present_files(root_db) and
             not ts.verify_store(os.path.join(leaf_dir, "content"), leaf_db),
             "the leaf holds the root's catalog and content, every file verified")
    addr = wt.sql(farm_db, "SELECT DISTINCT address FROM downstream_server")
    wt.check(addr == [["127.0.0.1"]], "the farm records the downstream's address from "
             "X-Forwarded-For, not the balancer's (%s)" % addr)

    # which X-Forwarded-For is believed (allowed-downstreams = 127.0.0.1 tells what fe1 saw)
    for source, xffs, allowed, what in (
            ("127.0.0.2", ["127.0.0.1"], False, "from a peer that is not a trusted proxy"),
            (BALANCER, ["127.0.0.1"], True, "from the trusted balancer"),
            (BALANCER, ["10.1.1.1, 127.0.0.1"], True, "rightmost address of a list"),
            (BALANCER, ["127.0.0.1, 10.1.1.1"], False, "a client's claim left of the real one"),
            (BALANCER, ["127.0.0.1, " + BALANCER], True, "trusted hops are skipped"),
            (BALANCER, ["127.0.0.1", "10.2.2.2"], False, "the last of two headers counts"),
            (BALANCER, ["127.0.0.1, evil"], False, "junk stops the walk at the balancer"),
            (BALANCER, ["127.0.0.1, 127.0.0.1:8530"], False, "an address with a port is junk"),
            (BALANCER, ["1" * 300], False, "300 bytes of digits")):
        st, body = dssauth_from(fe_ports["fe1"], source, xffs)
        ok = st == 200 if allowed else (st == 500 and "is not allowed to synchronize" in body)
        wt.check(ok, "X-Forwarded-For %.60s %s: %s" % (xffs, what, "allowed" if allowed else
                                                   "refused by the allow-list"), (st, body[:300]))
    ctl(confs["fe1"], "config", "set", "allowed-downstreams", "")

    # a Windows client scans through the balancer, its calls on several front-ends
    mark = len(lb.lines())
    out = os.path.join(tmp, "wu.json")
    r = subprocess.run([sys.executable, WUCLIENT, "run", "--server", farm_url, "--state",
                        os.path.join(tmp, "wu-state.json"), "--out", out, "--timeout", "60"],
                       capture_output=True, text=True, timeout=300)
    summary = {}
    if os.path.exists(out):
        with open(out) as f:
            summary = json.load(f)
    calls = [(s, a.rsplit("/", 1)[-1]) for f, s, m, u, code, a, rg in lb.lines()[mark:]
             if f == "farm" and a not in ("", "-")]
    cookie = [i for i, (s, a) in enumerate(calls) if a == "GetCookie"]
    wt.check(r.returncode == 0 and summary.get("result") == "ok" and cookie and
             any(s != calls[cookie[0]][0] for s, a in calls[cookie[0] + 1:]),
             "a Windows client scans through the balancer, its cookie used on another front-end "
             "(calls: %s)" % calls[:8], (r.returncode, summary.get("error"), r.stderr[-1500:]))
    addr = wt.sql(farm_db, "SELECT DISTINCT address FROM computer")
    wt.check(addr == [["127.0.0.1"]], "the computer's address is the client's (%s)" % addr)

    # a front-end that cannot reach the database is not ready (the balancer takes it out)
    wt.sql("postgres", 'ALTER DATABASE "%s" ALLOW_CONNECTIONS false' % farm_db)
    wt.sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                       ":'p1' AND pid <> pg_backend_pid()", farm_db)
    st, body = ready(fe_ports["fe1"])
    wt.check(st == 503 and body in (
        "not ready: no catalog connection within 2 s (the database is unreachable or every "
        "connection is busy)", "not ready: the catalog database does not answer"),
        "GET /ready without the database: 503 not ready", (st, body))
    wt.sql("postgres", 'ALTER DATABASE "%s" ALLOW_CONNECTIONS true' % farm_db)
    wait_for("GET /ready: 200 again with the database back",
             lambda: ready(fe_ports["fe1"]) == (200, "ready"), 30)

    for s in servers:
        wt.check(s.sanitizer_report() is None, "wsusd ran clean (no sanitizer report)",
                 s.sanitizer_report())


if __name__ == "__main__":
    wt.run_servers(run)
