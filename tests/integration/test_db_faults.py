"""Database faults (issue 8, items 4, 5 and 10): PostgreSQL restarted or stopped under a
running wsusd.

The cluster of the ctest fixture is shared by every test running in parallel, so the faults
are played on a throwaway cluster of this test's own (unix socket in the temporary directory,
as tests/lib/pgtest.sh builds the shared one). The upstream ("root") lives in the shared
cluster and is never touched; the downstream ("leaf") and a second wsusd on the leaf's
database ("twin") use the own cluster.

(a) pg_ctl restart in the middle of the leaf's content download (kept slow by a forwarder
    between leaf and root that passes content GETs at 250 KB/s per connection: with Debian
    12's libcurl 7.88, download-max-rate did not slow loopback downloads down, nor does
    `curl --limit-rate`): the run stops and its history row is closed as failed with the
    reason in admin words, `sync status` says nothing runs, every file published on disk is
    recorded present (none left queued: the server would answer 404 for it), the scheduler's
    retry (short sync-retry-interval) picks the sync up and completes it with every file
    verified, the twin cannot start a second sync while the retry runs, and no two runs ever
    overlapped.
(b) pg_ctl restart while serving: 40 requests right after it (content GETs of files not in
    the content cache, GetCookie, GetRevisionIdList, GetUpdateData) all succeed.
(c) PostgreSQL stopped: `sync status`, `sync history`, `config get`, `groups` and `sync now`
    exit 1 with a message naming the database, never "never synchronized".
(d) the private cluster (conninfo empty) stopped with pg_ctl under a running wsusd: the next
    request that needs the catalog starts it again (logged) and is answered.
"""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import wsustest as wt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync as ts  # noqa: E402  (generator, server setup, store verification)

BINDIR = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int)[-1]
PGBIN = "/usr/lib/postgresql/%s/bin" % BINDIR

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://www.microsoft.com/SoftwareDistribution"
NS_AUTH = NS + "/Server/DssAuthWebService"
SYNC_PATH = "/ServerSyncWebService/ServerSyncWebService.asmx"
AUTH_PATH = "/DssAuthWebService/DssAuthWebService.asmx"
LOST = ("the database connection was lost during the synchronization (phase content; "
        "PostgreSQL restarted?); it is retried at ")


def as_pg(args):
    return (["runuser", "-u", "postgres", "--"] + args) if os.geteuid() == 0 else args


def pg_ctl(data, *args):
    r = subprocess.run(as_pg([PGBIN + "/pg_ctl", "-D", data] + list(args)),
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and "status" not in args:
        raise RuntimeError("pg_ctl %s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.returncode


class OwnCluster:
    """A throwaway PostgreSQL cluster for this test alone (restarted and stopped at will)."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "pg")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.makedirs(self.sock)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        subprocess.run(as_pg([PGBIN + "/initdb", "-D", self.data, "-A", "trust", "-U",
                              "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True, timeout=120)
        self.start()

    def start(self):
        pg_ctl(self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60", "-o",
               "-k %s -c listen_addresses= -c fsync=off" % self.sock, "start")

    def restart(self):
        # -l again: without it the new postmaster would keep pg_ctl's output pipe open
        pg_ctl(self.data, "-l", os.path.join(self.dir, "server.log"), "-m", "fast", "-w", "-t",
               "60", "restart")

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            pg_ctl(self.data, "-m", "fast", "-w", "stop")

    def conninfo(self, db):
        return "host=%s user=postgres dbname=%s" % (self.sock, db)

    def sql(self, db, query):
        r = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                            self.conninfo(db)], input=query, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed on %r: %s" % (query, r.stderr.strip()))
        return [line.split("|") for line in r.stdout.splitlines() if line != ""]


class SlowForwarder:
    """TCP forwarder on 127.0.0.1 to port: answers to GET requests (content) pass at rate bytes
    per second per connection, everything else (SOAP) at full speed. Real bytes of the real
    upstream, only slower, like a thin link."""

    def __init__(self, port, rate):
        self.port, self.rate = port, rate
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.port))
            except OSError:
                c.close()
                continue
            state = {"slow": False}
            threading.Thread(target=self.pump, args=(c, u, state, True), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, state, False), daemon=True).start()

    def pump(self, src, dst, state, upward):
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if upward:
                    state["slow"] = data.startswith(b"GET ")
                dst.sendall(data)
                if not upward and state["slow"]:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def own_config(tmp, name, pg, db, upstream=None):
    """A wsusd config for database db of the own cluster (write_config, conninfo replaced)."""
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = wt.write_config(d, "unused", extra="[log]\nlevel = debug\n")
    with open(conf) as f:
        text = f.read()
    text = re.sub(r"(?m)^conninfo = .*$", "conninfo = " + pg.conninfo(db), text)
    with open(conf, "w") as f:
        f.write(text)
    return d, conf


def history(conf):
    r = wt.wsusctl(conf, "sync", "history", "--limit", "50", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else None


def wait_for(what, cond, limit):
    """Poll cond() until it returns something true; the limit only stops a hung test."""
    end = time.time() + limit
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    wt.check(False, "%s (gave up after %d s)" % (what, limit))
    return None


def published(content):
    """SHA-1 (lower-case hex) of every published file under content/WsusContent."""
    out = set()
    for dirpath, _, files in os.walk(os.path.join(content, "WsusContent")):
        out |= {f.split(".")[0].lower() for f in files if not f.endswith(".partial")}
    return out


def states(pg, db):
    return {h: s for h, s in pg.sql(db, "SELECT encode(sha1, 'hex'), state FROM file")}


def soap(port, op, inner, ns=NS, path=SYNC_PATH):
    body = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>'
            '<%s xmlns="%s">%s</%s></soap:Body></soap:Envelope>' % (ENV, op, ns, inner, op))
    return http_req(port, "POST", path, body.encode(),
                    {"Content-Type": "text/xml; charset=utf-8",
                     "SOAPAction": '"%s/%s"' % (ns, op)})


def http_req(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def session_cookie(port):
    guid = "6f1c2f6e-3f0b-4d3a-9b1e-0d2f6a1c5e12"
    st, data = soap(port, "GetAuthorizationCookie", "<accountName>dbfaults.example.test"
                    "</accountName><accountGuid>%s</accountGuid>" % guid, NS_AUTH, AUTH_PATH)
    cd = re.search(rb"<CookieData>([^<]+)</CookieData>", data)
    if st != 200 or cd is None:
        raise RuntimeError("GetAuthorizationCookie: %d %r" % (st, data[:300]))
    return ("<authCookies><AuthorizationCookie><PlugInId>DssTargeting</PlugInId><CookieData>"
            "%s</CookieData></AuthorizationCookie></authCookies><oldCookie xsi:nil=\"true\" "
            "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>"
            "<protocolVersion>1.20</protocolVersion>" % cd.group(1).decode())


def get_cookie(port, auth):
    st, data = soap(port, "GetCookie", auth)
    m = re.search(rb"<Expiration>([^<]+)</Expiration>.*<EncryptedData>([^<]+)</EncryptedData>",
                  data, re.S)
    if st != 200 or m is None:
        return st, data, None
    return st, data, ("<cookie><Expiration>%s</Expiration><EncryptedData>%s</EncryptedData>"
                      "</cookie>" % (m.group(1).decode(), m.group(2).decode()))


def content_path(pg, db, sha1):
    name = pg.sql(db, "SELECT file_name FROM file WHERE encode(sha1, 'hex') = '%s'" % sha1)[0][0]
    ext = os.path.splitext(name)[1].lower()
    return "/Content/%s/%s%s" % (sha1[-2:].upper(), sha1.upper(), ext)


def case_restart_during_sync(tmp, servers, pg, root_url):
    pg.sql("postgres", "CREATE DATABASE leaf")
    leaf_dir, leaf_conf = own_config(tmp, "leaf", pg, "leaf")
    leaf = wt.Wsusd(leaf_conf).start()
    servers.append(leaf)
    twin_dir, twin_conf = own_config(tmp, "twin", pg, "leaf")
    twin = wt.Wsusd(twin_conf).start()
    servers.append(twin)
    for k, v in (("upstream", root_url), ("download", "all"), ("sync-retry-interval", "3")):
        r = wt.wsusctl(leaf_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "leaf: config set %s %s" % (k, v), r)
    r = wt.wsusctl(leaf_conf, "sync", "now")
    wt.check(r.returncode == 0, "leaf: sync now starts", r)

    def downloading():
        h = history(leaf_conf)
        run = h[0] if h else None
        return run if run and run["result"] == "running" and run["phase"] == "content" and \
            (run["detail"].get("files_done", 0) >= 3) else None
    run = wait_for("leaf: the sync reaches the content phase", downloading, 240)
    if run is None:
        return None
    total = run["detail"]["files_total"]
    pg.restart()
    print("restarted PostgreSQL during sync #%d (files %d of %d)" %
          (run["id"], run["detail"]["files_done"], total), flush=True)

    def closed():
        h = history(leaf_conf)
        rows = [x for x in h or [] if x["id"] == run["id"]]
        return rows[0] if rows and rows[0]["result"] != "running" else None
    row = wait_for("leaf: the interrupted sync's history row is closed", closed, 120)
    if row is None:
        return None
    wt.check(row["result"] == "failed" and (row["error"] or "").startswith(LOST),
             "leaf: the interrupted sync failed with the reason in admin words", row)
    # the file states equal the disk right after the failure, before any retry runs
    on_disk, st = published(os.path.join(leaf_dir, "content")), states(pg, "leaf")
    wt.check(on_disk and all(st.get(h) == "present" for h in on_disk),
             "leaf: every one of the %d files published before the restart is recorded present"
             % len(on_disk), {h: st.get(h) for h in on_disk if st.get(h) != "present"})
    wt.check(len(on_disk) < total, "leaf: the restart landed before the last file (%d of %d)"
             % (len(on_disk), total))

    # the scheduler retries after sync-retry-interval; the twin cannot run one beside it
    def retry_running():
        h = history(leaf_conf)
        return h[0] if h and h[0]["trigger"] == "retry" and h[0]["result"] == "running" else None
    retry = wait_for("leaf: the scheduler retries the failed sync", retry_running, 60)
    if retry is not None:
        r = wt.wsusctl(twin_conf, "sync", "now")
        wt.check(r.returncode == 1 and "a synchronization is already running" in r.stderr,
                 "twin: no second sync on the same database while the retry runs", r)

    def retry_done():
        h = history(leaf_conf)
        return h[0] if h and retry and h[0]["id"] == retry["id"] and \
            h[0]["result"] != "running" else None
    done = wait_for("leaf: the retry finishes", retry_done, 240)
    wt.check(done is not None and done["result"] == "succeeded",
             "leaf: the retry completes the sync", done)
    present = {h for h, s in states(pg, "leaf").items() if s == "present"}
    wt.check(len(present) == total and published(os.path.join(leaf_dir, "content")) == present,
             "leaf: all %d files present, exactly those on disk" % total,
             (len(present), total))
    bad = [b for b in verify(pg, "leaf", os.path.join(leaf_dir, "content"))]
    wt.check(not bad, "leaf: every file verifies against its SHA-1/SHA-256 and size", bad)
    wt.check(not ts.partials(os.path.join(leaf_dir, "content")), "leaf: no partial file left")
    rows = sorted(history(leaf_conf) or [], key=lambda x: x["id"])
    overlap = [(a["id"], b["id"]) for a, b in zip(rows, rows[1:])
               if a["finished_at"] is None or a["finished_at"] > b["started_at"]]
    wt.check(not overlap, "leaf: no two synchronizations ever ran at once", overlap)
    r = wt.wsusctl(leaf_conf, "sync", "status")
    wt.check(r.returncode == 0 and "running: no" in r.stdout and
             re.search(r"(?m)^last: +#%d +succeeded retry " % retry["id"], r.stdout),
             "leaf: sync status shows nothing running and the completed retry", r)
    return leaf, leaf_dir, leaf_conf


def verify(pg, db, content):
    """ts.verify_store for a database of the own cluster."""
    saved = wt.sql
    wt.sql = lambda _db, q, *p: pg.sql(db, q)
    try:
        return ts.verify_store(content, db)
    finally:
        wt.sql = saved


def case_restart_while_serving(pg, leaf, leaf_conf):
    port = leaf.listen_port()
    files = sorted(h for h, s in states(pg, "leaf").items() if s == "present")[:20]
    paths = [content_path(pg, "leaf", h) for h in files]
    ids = "<updateIds>%s</updateIds>" % "".join(
        "<UpdateIdentity><UpdateID>%s</UpdateID><RevisionNumber>%s</RevisionNumber>"
        "</UpdateIdentity>" % (u, r) for u, r in pg.sql(
            "leaf", "SELECT update_id, revision_number FROM revision ORDER BY id LIMIT 20"))
    auth = session_cookie(port)
    pg.restart()
    answers = []
    for i in range(20):
        st, data, cookie = get_cookie(port, auth)
        answers.append(("GetCookie", st, data[:200]))
        if cookie is not None:
            op, inner = (("GetRevisionIdList", "<filter><GetConfig>true</GetConfig>"
                          "<Get63LanguageOnly>false</Get63LanguageOnly></filter>") if i % 2
                         else ("GetUpdateData", ids))
            st, data = soap(port, op, cookie + inner)
            answers.append((op, st, data[:200]))
        if i < len(paths):
            st, data = http_req(port, "GET", paths[i])
            answers.append((paths[i], st, len(data)))
    failed = [a for a in answers if a[1] != 200]
    wt.check(len(answers) >= 40 and not failed,
             "leaf: all %d requests right after a PostgreSQL restart succeed" % len(answers),
             failed[:5])


def case_database_stopped(pg, leaf_conf):
    pg.stop()
    try:
        for verb in (("sync", "status"), ("sync", "history"), ("config", "get"), ("groups",),
                     ("sync", "now")):
            r = wt.wsusctl(leaf_conf, *verb)
            wt.check(r.returncode == 1 and "the catalog database is unreachable (" in r.stderr and
                     "check that PostgreSQL runs and [database] conninfo" in r.stderr and
                     "never synchronized" not in r.stdout,
                     "database stopped: wsusctl %s exits 1 naming the database" % " ".join(verb),
                     r)
    finally:
        pg.start()
    r = wt.wsusctl(leaf_conf, "sync", "status")
    wt.check(r.returncode == 0 and "last:    #" in r.stdout,
             "database back: sync status answers again, with the last run", r)


def case_private_cluster(tmp, servers):
    d = os.path.join(tmp, "priv")
    os.makedirs(d)
    conf = wt.write_config(d, "unused")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^conninfo = .*$", "conninfo =", text))
    srv = wt.Wsusd(conf).start(wait_seconds=120)
    servers.append(srv)
    data = os.path.join(d, "state", "pg", "data")
    unknown = "/Content/AB/" + "0" * 38 + "AB.cab"
    # the content store opens just after the listeners: 503 until then
    wt.check(wait_for("private cluster: the content endpoint is ready",
                      lambda: http_req(srv.listen_port(), "GET", unknown)[0] == 404, 30),
             "private cluster: an unknown file is 404 (the catalog answered)")
    pg_ctl(data, "-m", "fast", "-w", "stop")
    st, _ = http_req(srv.listen_port(), "GET", unknown)
    wt.check(st == 404, "private cluster stopped: wsusd starts it again and answers 404", st)
    wt.check(pg_ctl(data, "status") == 0, "private cluster: running again")
    wt.check("the private PostgreSQL cluster in %s/pg is unreachable" % os.path.join(d, "state")
             in srv.output() and "starting the private PostgreSQL cluster" in srv.output(),
             "private cluster: wsusd logs that it found it stopped and started it")
    srv.stop()
    pg_ctl(data, "-m", "immediate", "-w", "stop")


def run(tmp, servers, dbs):
    pg = OwnCluster(tmp)
    try:
        pkg, pkg_content = ts.gen(tmp, "base", "--updates", "10", "--file-size", "200K-400K")
        root_dir, root_db, root_conf, root = ts.setup_server(tmp, "root")
        servers.append(root)
        dbs.append(root_db)
        r = wt.wsusctl(root_conf, "import", pkg, "--content", pkg_content)
        wt.check(r.returncode == 0, "root: import of the real export + generated updates", r)
        slow = SlowForwarder(root.listen_port(), 250000)
        got = case_restart_during_sync(tmp, servers, pg, slow.url)
        if got is not None:
            leaf, leaf_dir, leaf_conf = got
            case_restart_while_serving(pg, leaf, leaf_conf)
            case_database_stopped(pg, leaf_conf)
        case_private_cluster(tmp, servers)
    finally:
        for s in servers:
            s.stop()
            wt.expect(s.sanitizer_report() is None,
                      "%s: sanitizer report:\n%s" % (s.conf, s.sanitizer_report()))
        pg.stop()


if __name__ == "__main__":
    wt.run_servers(run)
