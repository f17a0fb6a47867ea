"""wsusctl checkhealth (issue 10): every check turns red when exactly its thing is broken and
green again when it is fixed, with the exact line an admin reads and the exit status.

One hierarchy for every case: a root wsusd (HTTP and HTTPS listeners, a certificate from a test
CA, generated updates with content) and a downstream that synchronized its files from it. As
root (CI) the downstream runs as user nobody, so that a content directory it cannot read is
really unreadable for it. Broken in turn: the upstream's name (unresolvable), its port
(refused), an upstream that never answers, the proxy password (Debian's squid with basic authentication), the proxy (not
running), the certificate
(not trusted), the storage option, the content directory's permissions, Range on the path (a
proxy that strips it) and the downloader (a running sync that has moved nothing for an hour,
then one whose process is gone).
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time

import wsustest as wt
from wsusnet import Squid, make_ca, make_cert, range_dropping_proxy, require_squid

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
USER, PASSWORD = "branch", "s3cret Health-pass"
SYNC_LOCK_KEY = 0x77737573  # client/sync.h


def health(conf, *extra):
    """Run wsusctl checkhealth; returns (exit status, {title: (verdict, detail, fix)}, output)."""
    r = wt.wsusctl(conf, "checkhealth", *extra, timeout=120)
    lines, checks, last = r.stdout.splitlines(), {}, None
    for line in lines:
        if line.startswith("      fix: ") and last is not None:
            checks[last] = checks[last][:2] + (line[len("      fix: "):],)
        elif line[:4] in ("PASS", "WARN", "FAIL", "SKIP") and line[4:6] == "  ":
            title, _, detail = line[6:].partition(": ")
            checks[title] = (line[:4], detail, None)
            last = title
    return r.returncode, checks, r.stdout + r.stderr


def expect_line(conf, title, verdict, detail, fix=None, rc=None, what=""):
    """One checkhealth run: the line of title is exactly verdict + detail (and fix)."""
    code, checks, out = health(conf)
    got = checks.get(title)
    ok = got is not None and got[0] == verdict and got[1] == detail
    if fix is not None:
        ok = ok and got[2] == fix
    if rc is not None:
        ok = ok and code == rc
    wt.check(ok, "%s: %s  %s: %s" % (what, verdict, title, detail[:120]),
             "want %s %r fix %r (exit %s)\ngot exit %d\n%s" % (verdict, detail, fix, rc, code, out))
    return code, checks


def set_(conf, key, value):
    r = wt.wsusctl(conf, "config", "set", key, value)
    wt.check(r.returncode == 0, "config set %s" % key, r)


def reset(conf, key):
    r = wt.wsusctl(conf, "config", "reset", key)
    wt.check(r.returncode == 0, "config reset %s" % key, r)


def green(conf, what):
    code, checks, out = health(conf)
    fails = [t for t, v in checks.items() if v[0] == "FAIL"]
    wt.check(code == 0 and not fails and len(checks) >= 15,
             "%s: checkhealth passes (exit 0, no FAIL line)" % what, out)
    return checks


def wait_lock(db, count):
    """Wait (bounded) until count sessions hold the sync lock of database db."""
    for _ in range(100):
        if wt.sql_value(db, "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = "
                            "l.database WHERE d.datname = current_database() AND l.locktype = "
                            "'advisory' AND l.granted AND l.objid::bigint = %d"
                            % SYNC_LOCK_KEY) == count:
            return
        time.sleep(0.1)
    raise RuntimeError("the sync lock of %s is not held by %s sessions" % (db, count))


def port_pair():
    """Two consecutive free ports of 127.0.0.1 (bounded tries)."""
    for _ in range(50):
        p = wt.free_port()
        try:
            with socket.socket() as a:
                a.bind(("127.0.0.1", p + 1))
            return p, p + 1
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


def main():
    require_squid()
    extra = []
    try:
        wt.run_servers(run, extra)
    finally:
        for x in extra:
            x()


def run(tmp, servers, dbs, extra):
    as_root = os.geteuid() == 0
    os.chmod(tmp, 0o711)
    ca = make_ca(tmp, "ca", "wsusd test CA")
    srv = make_cert(tmp, "srv", "127.0.0.1", "IP:127.0.0.1,DNS:localhost", ca)
    for p in (ca[0], srv[0]):
        os.chmod(p, 0o644)

    pkg, gen_content = os.path.join(tmp, "gen.cab"), os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "5", "--updates", "3", "--file-size",
                        "40K-80K", "--out", pkg, "--content-dir", gen_content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_health_root")
    dbs.append(root_db)
    # HTTPS on the port after the HTTP one, as 8530/8531: the upstream's content URL is derived
    # from its URL that way (WSUSSS 2.2), so the Range probe over HTTPS reaches the HTTP port
    http_port, https_port = port_pair()
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db,
                                listen="127.0.0.1:%d" % http_port, server_extra=(
        "https_listen = 127.0.0.1:%d\ntls_cert = %s\ntls_key = %s\n" % (https_port, srv[0],
                                                                         srv[1])))
    r = wt.wsusctl(root_conf, "import", pkg, "--content", gen_content)
    wt.check(r.returncode == 0, "root: import of generated updates with content", r)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    upstream = "http://127.0.0.1:%d" % root.listen_port()

    down_dir = os.path.join(tmp, "down")
    os.makedirs(down_dir)
    os.chmod(down_dir, 0o711)
    content = os.path.join(down_dir, "content")
    os.makedirs(content)
    user = "nobody" if as_root else pwd.getpwuid(os.geteuid()).pw_name
    if as_root:
        shutil.chown(content, "nobody")
    uid = pwd.getpwnam(user).pw_uid
    db = wt.create_db("it_health_down")
    dbs.append(db)
    conf = wt.write_config(down_dir, db, server_extra="user = %s\n" % (user if as_root else ""))
    down = wt.Wsusd(conf).start()
    servers.append(down)

    # a root (no upstream): the upstream lines are skipped, nothing fails
    checks = green(conf, "a server without upstream")
    wt.check(checks.get("upstream name") == ("SKIP", "this server is a root (no upstream)", None),
             "a root: the upstream name line is skipped", checks)

    for k, v in (("upstream", upstream), ("download", "all"), ("account-name", "branch.test")):
        set_(conf, k, v)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "the downstream synchronizes its files", r)

    checks = green(conf, "the working hierarchy")
    wt.check(checks.get("upstream name") == ("PASS", "127.0.0.1 resolves to 127.0.0.1", None),
             "the upstream name line names the addresses", checks.get("upstream name"))
    wt.check(checks.get("upstream connection") ==
             ("PASS", "upstream %s reached directly (no proxy)" % upstream, None),
             "the connection line says direct", checks.get("upstream connection"))
    sha1, name, size = wt.sql(db, "SELECT encode(sha1, 'hex'), file_name, size FROM file WHERE "
                                  "size >= 2 ORDER BY state = 'present' DESC, size LIMIT 1")[0]
    hexs, ext = sha1.upper(), os.path.splitext(name)[1].lower()
    url = "%s/Content/%s/%s%s" % (upstream, hexs[-2:], hexs, ext)
    want_range = ("GET %s with Range: bytes=0-1023 answered 206 (Content-Range: bytes 0-1023/%s)"
                  % (url, size))
    wt.check(checks.get("HTTP Range to the upstream's content") == ("PASS", want_range, None),
             "a real 206 on a real file", checks.get("HTTP Range to the upstream's content"))
    wt.check(checks.get("storage option") == ("PASS", "this server has storage=local and its "
                                              "upstream CatalogOnlySync=false", None),
             "the storage line", checks.get("storage option"))
    # the hierarchy checks are the sync's own (common/hierarchy.h; their FAIL cases:
    # test_hierarchy_offer.py, test_hierarchy_loop.py, test_sync_missing.py)
    wt.check(checks.get("languages offered upstream") ==
             ("PASS", "upstream %s carries every language enabled here (en)" % upstream, None),
             "the language line", checks.get("languages offered upstream"))
    wt.check(checks.get("products and classifications offered upstream") ==
             ("PASS", "upstream %s synchronizes every product and classification selected here"
              % upstream, None),
             "the products line", checks.get("products and classifications offered upstream"))
    wt.check((checks.get("hierarchy loop") or ("",))[0] == "PASS" and
             "does not come back to it" in checks["hierarchy loop"][1],
             "the loop line", checks.get("hierarchy loop"))
    wt.check(checks.get("updates failed or missing upstream") ==
             ("PASS", "no update has a missing file", None),
             "the failed-updates line", checks.get("updates failed or missing upstream"))
    r = wt.wsusctl(conf, "checkhealth", "--json")
    ans = json.loads(r.stdout)
    wt.check(r.returncode == 0 and ans["healthy"] is True and ans["fail"] == 0 and
             [c["id"] for c in ans["checks"]][:3] == ["database", "content-dir", "free-space"],
             "--json: the API's answer, healthy", r)

    # 1. unresolvable upstream name
    bad = "http://wsusd-health.invalid:8530"
    set_(conf, "upstream", bad)
    try:
        socket.getaddrinfo("wsusd-health.invalid", None)
        gai = "?"
    except socket.gaierror as e:
        gai = e.strerror
    expect_line(conf, "upstream name", "FAIL",
                "cannot resolve the host name wsusd-health.invalid of upstream %s: %s" % (bad, gai),
                "check the name and the DNS server (or /etc/hosts), or wsusctl config set upstream "
                "http://NAME:8530", 1, "unresolvable upstream")
    expect_line(conf, "upstream connection", "SKIP",
                "not tried: the name does not resolve (see above)", None, 1, "unresolvable upstream")

    # 2. refused port
    closed = "http://127.0.0.1:%d" % wt.free_port()
    set_(conf, "upstream", closed)
    expect_line(conf, "upstream connection", "FAIL",
                "upstream %s refused the connection (GetAuthConfig); check that it runs and that "
                "the port is right" % closed,
                "check that wsusd (or WSUS) runs on the upstream, the port (8530 http, 8531 https) "
                "and the firewall; or wsusctl config set upstream http://NAME:PORT", 1,
                "refused port")
    # 3. a port that takes the connection and never answers: the probe's own bound (10 s,
    # not the sync's 60 s upstream-answer-timeout) ends it
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)
    extra.append(mute.close)
    hung = "http://127.0.0.1:%d" % mute.getsockname()[1]
    set_(conf, "upstream", hung)
    expect_line(conf, "upstream web services", "FAIL",
                "upstream %s accepted the connection but did not answer GetAuthConfig within 10 s; "
                "check that it is a WSUS server and not overloaded" % hung,
                "check that the upstream URL points at a WSUS server (wsusd, WSUS or "
                "microsoft-update) and that it is not overloaded", 1, "upstream that never answers")
    mute.close()
    set_(conf, "upstream", upstream)
    expect_line(conf, "upstream connection", "PASS",
                "upstream %s reached directly (no proxy)" % upstream, None, 0, "upstream fixed")

    # 4. wrong proxy password (squid, basic authentication)
    squid = Squid(tmp, "basic", USER, PASSWORD).start()
    extra.append(squid.stop)
    proxy = "http://127.0.0.1:%d" % squid.port
    set_(conf, "proxy", proxy)
    set_(conf, "proxy-user", USER)
    r = subprocess.run([os.path.join(wt.BIN, "wsusctl"), "-c", conf, "config", "set",
                        "proxy-password", "-"], input="not the password\n", capture_output=True,
                       text=True, timeout=60)
    wt.check(r.returncode == 0, "config set proxy-password - (a wrong one)", r)
    expect_line(conf, "proxy credentials", "FAIL",
                'the proxy %s refused the credentials of proxy-user "%s" (HTTP 407)' % (proxy, USER),
                "set the password with wsusctl config set proxy-password - (reads standard input); "
                "check proxy-user, proxy-domain and proxy-auth", 1, "wrong proxy password")
    expect_line(conf, "upstream connection", "PASS",
                "upstream %s reached through the proxy %s" % (upstream, proxy), None, 1,
                "wrong proxy password")
    r = subprocess.run([os.path.join(wt.BIN, "wsusctl"), "-c", conf, "config", "set",
                        "proxy-password", "-"], input=PASSWORD + "\n", capture_output=True,
                       text=True, timeout=60)
    wt.check(r.returncode == 0, "config set proxy-password - (the right one)", r)
    expect_line(conf, "proxy credentials", "PASS",
                'the proxy %s accepted the credentials of proxy-user "%s"' % (proxy, USER), None,
                0, "right proxy password")
    r = wt.wsusctl(conf, "checkhealth", "--json")
    wt.check(PASSWORD not in r.stdout + r.stderr and "(set)" not in r.stdout,
             "the proxy password is in no checkhealth output", r)
    for k in ("proxy", "proxy-user", "proxy-password"):
        reset(conf, k)
    squid.stop()
    # a proxy that does not run
    gone = "http://127.0.0.1:%d" % wt.free_port()
    set_(conf, "proxy", gone)
    expect_line(conf, "upstream connection", "FAIL",
                "cannot connect to the proxy %s (it refused the connection)" % gone,
                "check that the proxy runs and the proxy setting (wsusctl config set proxy "
                "http://PROXY:PORT)", 1, "proxy not running")
    reset(conf, "proxy")

    # 5. untrusted certificate
    https = "https://127.0.0.1:%d" % https_port
    set_(conf, "upstream", https)
    untrusted = ('TLS to upstream %s failed: its certificate "CN = 127.0.0.1" issued by "CN = '
                 'wsusd test CA" is not trusted here (unable to get local issuer certificate); '
                 'if that issuer is your CA, add its certificate with wsusctl config set ca-file '
                 '/path/to/ca.pem' % https)
    expect_line(conf, "TLS", "FAIL", untrusted,
                "add the issuing CA with wsusctl config set ca-file /path/to/ca.pem (added to the "
                "system store), or set the upstream to a name its certificate holds", 1,
                "untrusted certificate")
    set_(conf, "ca-file", ca[0])
    expect_line(conf, "TLS", "PASS",
                "the certificate of %s verifies (system store and ca-file)" % https, None, 0,
                "the CA in ca-file")
    set_(conf, "upstream", upstream)
    reset(conf, "ca-file")

    # 6. storage mismatch
    set_(conf, "storage", "microsoft-update")
    expect_line(conf, "storage option", "FAIL",
                "storage options differ: this server (branch.test) sends clients to Microsoft "
                "Update for files (storage=microsoft-update) but its upstream %s stores update "
                "files locally (CatalogOnlySync=false)" % upstream,
                "wsusctl config set storage local here, or change the upstream", 1,
                "storage mismatch")
    reset(conf, "storage")
    expect_line(conf, "storage option", "PASS", "this server has storage=local and its upstream "
                "CatalogOnlySync=false", None, 0, "storage fixed")

    # 7. content directory the service user cannot read
    os.chmod(content, 0o000)
    try:
        expect_line(conf, "content directory", "FAIL",
                    "content directory %s is not usable by user %s (uid %d): missing read, write, "
                    "search (x) permission" % (content, user, uid),
                    "chown -R %s: %s && chmod -R u+rwX %s" % (user, content, content), 1,
                    "content directory unreadable")
    finally:
        os.chmod(content, 0o755)
    expect_line(conf, "content directory", "PASS",
                "%s and %s/WsusContent can be read, written and searched by user %s (uid %d), who "
                "runs wsusd and serves /Content/" % (content, content, user, uid), None, 0,
                "content directory fixed")

    # 8. Range stripped on the path
    stripper = range_dropping_proxy()
    extra.append(stripper.shutdown)
    proxy = "http://127.0.0.1:%d" % stripper.server_address[1]
    set_(conf, "proxy", proxy)
    expect_line(conf, "HTTP Range to the upstream's content", "FAIL",
                "upstream %s or the proxy on the way does not honour HTTP Range: for file %s (%s) "
                "GET %s with Range: bytes=0-1023 answered with the whole file (HTTP 200 instead "
                "of 206)" % (upstream, name, hexs, url),
                "allow HTTP Range through the proxy or firewall (turn off \"block HTTP range\"); "
                "range-fallback auto then resumes downloads again", 1, "Range stripped")
    reset(conf, "proxy")
    expect_line(conf, "HTTP Range to the upstream's content", "PASS", want_range, None, 0,
                "Range fixed")

    # 9. a stalled downloader: a running sync (its lock held) that moved nothing for an hour
    hid = wt.sql_value(db, "INSERT INTO sync_history (kind, trigger, upstream, phase, started_at, "
                           "detail) VALUES ('sync', 'manual', :'p1', 'content', now() - interval "
                           "'2 hours', jsonb_build_object('progress_at', floor(extract(epoch FROM "
                           "now()))::bigint - 3630)) RETURNING id", upstream)
    holder = subprocess.Popen(["psql", "-X", "-q", "-d", db], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True)
    extra.append(holder.kill)
    holder.stdin.write("SELECT pg_advisory_lock(%d);\n" % SYNC_LOCK_KEY)
    holder.stdin.flush()
    wait_lock(db, "1")
    expect_line(conf, "downloader", "FAIL",
                "synchronization %s has moved no byte for 60 min in its content phase (0 files, "
                "0 bytes so far)" % hid,
                "wsusctl sync cancel, then wsusctl sync now; if it stalls again, check the path to "
                "the upstream's content (the Range and proxy lines)", 1, "stalled downloader")
    holder.stdin.write("SELECT pg_advisory_unlock(%d);\n" % SYNC_LOCK_KEY)
    holder.stdin.close()
    holder.wait(30)
    wait_lock(db, "0")
    expect_line(conf, "downloader", "FAIL",
                "synchronization %s is marked running (phase content) but no wsusd holds the sync "
                "lock: the process that ran it is gone" % hid,
                "restart wsusd (systemctl restart wsusd) or run wsusctl sync now: the next "
                "synchronization closes that row and resumes the partial files", 1,
                "downloader gone")
    wt.sql(db, "DELETE FROM sync_history WHERE id = :'p1'", hid)
    # a file a downstream asked for, and no synchronization to fetch it: a warning (exit 0)
    wt.sql(db, "UPDATE file SET state = 'queued' WHERE encode(sha1, 'hex') = :'p1'", sha1)
    expect_line(conf, "downloader", "WARN",
                "no synchronization runs and 1 files wait in state queued (asked for by a "
                "downstream server, or not on the upstream at the last synchronization)",
                "wsusctl sync now (its content phase fetches queued files whatever the download "
                "policy); files that stay queued are not on the upstream: see wsusctl sync "
                "history", 0, "queued file")
    wt.sql(db, "UPDATE file SET state = 'present' WHERE encode(sha1, 'hex') = :'p1'", sha1)
    expect_line(conf, "downloader", "PASS",
                "no synchronization runs now; each one downloads the files of policy all", None, 0,
                "downloader fixed")

    green(conf, "everything fixed")
    report = down.sanitizer_report()
    wt.check(report is None, "no sanitizer report from the downstream", report)


if __name__ == "__main__":
    main()
