"""The foundation as an admin meets it: `wsusd -n` config checks, first start on an empty
database (migrations, identity), restart keeps the identity, the admin token, SIGHUP with a
broken file keeps the running config, SIGTERM stops cleanly, a busy port is a clear error,
and `wsusctl db migrate` works without a daemon and is idempotent."""

import json
import os
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request

import wsustest as wt

WSUSD = os.path.join(wt.BIN, "wsusd")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def admin_get(port, path, token=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def admin_port(conf):
    section = None
    with open(conf) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[admin]" and line.startswith("listen"):
                return int(line.split("=")[1].strip().rsplit(":", 1)[1])
    return None


with wt.TempDir() as tmp:
    db = wt.create_db("it_daemon")
    conf = wt.write_config(tmp, db)

    # -n: a good file, then files with each kind of mistake
    r = run(WSUSD, "-n", "-c", conf)
    wt.check(r.returncode == 0 and r.stdout.strip() == "configuration OK", "wsusd -n accepts a good file", r)
    bad = os.path.join(tmp, "bad.conf")
    for text, expect in [("[server]\nlisen = 1\n", "bad.conf:2: unknown option [server] lisen"),
                         ("[server]\nlisten = 127.0.0.1:70000\n", "port must be a number"),
                         ("[server]\nthreads = many\n", "threads = \"many\""),
                         ("[server]\nhttps_listen = 0.0.0.0:8531\n", "tls_cert or tls_key is empty"),
                         ("[log]\nlevel = loud\n", "expected error, warn, info or debug"),
                         ("this is not ini\n", "bad.conf:1: syntax error")]:
        with open(bad, "w") as f:
            f.write(text)
        r = run(WSUSD, "-n", "-c", bad)
        wt.check(r.returncode == 1 and expect in r.stderr, "wsusd -n names the mistake: %s" % expect, r)
    # several mistakes: every one is listed, each with its own line number
    with open(bad, "w") as f:
        f.write("[server]\nlisten = 0.0.0.0:99999\nbogus line\n[log]\nlevel = loud\nfoo = 1\n")
    r = run(WSUSD, "-n", "-c", bad)
    lines = r.stderr.strip().split("\n")
    wt.check(r.returncode == 1 and lines == [
        "wsusd: %s:2: [server] listen \"0.0.0.0:99999\": port must be a number from 0 to 65535" % bad,
        "%s:3: syntax error (expected [section] or key = value)" % bad,
        "%s:5: [log] level \"loud\": expected error, warn, info or debug" % bad,
        "%s:6: unknown option [log] foo (see deploy/wsusd.conf.sample)" % bad],
        "wsusd -n lists every mistake with its own line", r)
    for flag in ("--help", "-h"):
        r = run(WSUSD, flag)
        wt.check(r.returncode == 0 and r.stdout.startswith("usage: wsusd ") and "--version" in r.stdout,
                 "wsusd %s prints the usage" % flag, r)
    r = run(WSUSD, "--version")
    wt.check(r.returncode == 0 and r.stdout.startswith("wsusd ") and r.stdout.count("\n") == 1,
             "wsusd --version prints the version", r)
    r = run(WSUSD, "-n", "-c", os.path.join(tmp, "missing.conf"))
    wt.check(r.returncode == 1 and "cannot read configuration file" in r.stderr,
             "wsusd -n on a missing file says so", r)
    # the printed sample is itself a valid config
    r = run(WSUSD, "-p")
    with open(bad, "w") as f:
        f.write(r.stdout)
    r = run(WSUSD, "-n", "-c", bad)
    wt.check(r.returncode == 0, "the sample printed by wsusd -p passes wsusd -n", r)

    # wsusctl db migrate without a daemon, twice
    r = wt.wsusctl(conf, "db", "migrate")
    wt.check(r.returncode == 0 and "catalog schema at version" in r.stdout, "wsusctl db migrate on an empty database", r)
    versions = wt.sql_value(db, "SELECT count(*) FROM schema_version")
    r = wt.wsusctl(conf, "db", "migrate")
    wt.check(r.returncode == 0 and wt.sql_value(db, "SELECT count(*) FROM schema_version") == versions,
             "a second db migrate applies nothing", r)
    server_id = wt.sql_value(db, "SELECT value FROM setting WHERE key = 'server_id'")
    wt.check(server_id is not None and len(server_id) == 36, "a server id is created once")

    srv = wt.Wsusd(conf).start()
    aport = admin_port(conf)
    token_file = os.path.join(tmp, "state", "admin.token")
    for _ in range(50):
        if os.path.exists(token_file):
            break
        time.sleep(0.1)
    mode = stat.S_IMODE(os.stat(token_file).st_mode)
    wt.check(mode == 0o600, "admin token file is 0600 (is %o)" % mode)
    token = open(token_file).read().strip()
    code, body = admin_get(aport, "/api/v1/status")
    wt.check(code == 401 and "token" in body.get("error", ""), "admin API refuses a call without the token")
    code, body = admin_get(aport, "/api/v1/status", "0" * 64)
    wt.check(code == 401, "admin API refuses a wrong token")
    code, body = admin_get(aport, "/api/v1/status", token)
    wt.check(code == 200 and body.get("server_id") == server_id, "admin API answers with the token", body)

    # a second wsusd on the same ports: clear error, non-zero exit
    r = run(WSUSD, "-d", "-c", conf)
    wt.check(r.returncode == 1 and "cannot listen on" in r.stderr, "a busy port is a clear start-up error", r)

    # SIGHUP with a broken file: refused, still serving
    with open(conf) as f:
        good = f.read()
    with open(conf, "a") as f:
        f.write("\n[server]\nnonsense = 1\n")
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    code, _ = admin_get(aport, "/api/v1/status", token)
    wt.check(srv.proc.poll() is None and code == 200, "a bad config on SIGHUP keeps wsusd serving")
    wt.check("reload refused, keeping the running configuration" in srv.output(), "the refused reload is logged",
             srv.output())
    with open(conf, "w") as f:
        f.write(good)
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    wt.check("configuration reloaded" in srv.output(), "a good config on SIGHUP is taken", srv.output())

    # SIGHUP applies what can change while serving (here the request body limit and the log
    # level) and names what needs a restart (here the admin listen address and threads)
    pport = srv.listen_port()
    body = b"<x>" + b"a" * 6000 + b"</x>"

    def post_size():
        req = urllib.request.Request("http://127.0.0.1:%d/ServerSyncWebService/ServerSyncWebService.asmx" % pport,
                                     data=body, headers={"Content-Type": "text/xml"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    wt.check(post_size() != 413, "before the reload a 6 KB body is within the limit")
    with open(conf, "w") as f:
        f.write(good.replace("127.0.0.1:%d" % aport, "127.0.0.1:%d" % wt.free_port()) +
                "\n[server]\nmax_request_bytes = 4096\nthreads = 3\n[log]\nlevel = debug\n")
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    out = srv.output()
    wt.check("configuration reloaded; applied: [server] max_request_bytes, [log] level" in out,
             "the reload names what it applied", out)
    wt.check("reload: changed, but taking effect only after a restart: [server] threads, "
             "[admin] listen" in out, "the reload names what needs a restart", out)
    wt.check(post_size() == 413, "after the reload the new body limit applies (413 for 6 KB)")
    code, _ = admin_get(aport, "/api/v1/status", token)
    wt.check(code == 200, "the admin listen address stays until a restart")
    with open(conf, "w") as f:
        f.write(good)
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    wt.check(post_size() != 413, "reloading the first file restores the body limit")

    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.proc.wait(30)
    wt.check(rc == 0, "SIGTERM stops wsusd with status 0 (got %s)" % rc)

    # a catalog whose revisions have no client fragments (stored before wsusd derived them):
    # the next start derives them in the background
    r = wt.wsusctl(conf, "import", wt.data("WSUS.cab"))
    wt.check(r.returncode == 0, "wsusctl import of the real export", r)
    revisions = int(wt.sql_value(db, "SELECT count(*) FROM revision"))
    wt.sql(db, "DELETE FROM revision_fragment")
    wt.sql(db, "DELETE FROM revision_fragment_state")

    # restart: identity kept, nothing re-applied
    srv = wt.Wsusd(conf).start()
    code, body = admin_get(aport, "/api/v1/status", token)
    wt.check(body.get("server_id") == server_id, "the server id survives a restart")
    derived = 0
    for _ in range(600):  # a hang guard only: it takes about a second
        derived = int(wt.sql_value(db, "SELECT count(*) FROM revision_fragment_state"))
        if derived == revisions and "client fragments derived for" in srv.output():
            break
        time.sleep(0.1)
    wt.check(revisions > 400 and derived == revisions,
             "the fragments of every stored revision are derived at start (%d of %d)"
             % (derived, revisions))
    wt.check(("client fragments derived for %d revisions stored before wsusd derived them"
              % revisions) in srv.output(), "the log says how many were derived", srv.output()[-2000:])
    srv.stop()
    wt.drop_db(db)

wt.finish()
