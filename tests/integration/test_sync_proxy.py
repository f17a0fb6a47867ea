"""Sync through a proxy that wants credentials and drops Range headers (issue 5, ARCHITECTURE §6).

A small forward proxy on 127.0.0.1 (Python standard library) requires Basic proxy
authentication and removes the Range header of every request it forwards, as some real
proxies do. The downstream has a partial file from an earlier, interrupted download.

Checks: the sync goes through the proxy with the configured credentials; the upstream's 200
to a Range request is detected and said in plain words in the history; the partial restarts
at 0 and every file ends complete and verified; with range-fallback never the 200 fails the
file with the reason (partial kept), with range-fallback always no Range is sent at all; the proxy password never shows in the history,
`sync status --json`, or the wsusd log.
"""

import hashlib
import json
import os
import subprocess
import sys

import wsustest as wt
from wsusnet import RangeDroppingProxy, range_dropping_proxy

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
USER, PASSWORD = "branch", "s3cret-Proxy-Pass"


def main():
    proxy = range_dropping_proxy((USER, PASSWORD))
    try:
        wt.run_servers(run, proxy.server_address[1])
    finally:
        proxy.shutdown()


def run(tmp, servers, dbs, proxy_port):
    pkg = os.path.join(tmp, "gen.cab")
    gen_content = os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "3", "--updates", "4", "--file-size",
                        "50K-300K", "--out", pkg, "--content-dir", gen_content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_syncproxy_root")
    dbs.append(root_db)
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db)
    r = wt.wsusctl(root_conf, "import", wt.data("WSUS.cab"))
    wt.check(r.returncode == 0, "root: import of the real export", r)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", gen_content)
    wt.check(r.returncode == 0, "root: import of generated updates with content", r)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)

    down_dir = os.path.join(tmp, "down")
    os.makedirs(down_dir)
    db = wt.create_db("it_syncproxy_down")
    dbs.append(db)
    conf = wt.write_config(down_dir, db, extra="[log]\nlevel = debug\n")
    down = wt.Wsusd(conf).start()
    servers.append(down)
    for k, v in (("upstream", "http://127.0.0.1:%d" % root.listen_port()), ("download", "all"),
                 ("proxy", "http://127.0.0.1:%d" % proxy_port), ("proxy-user", USER),
                 ("proxy-password", PASSWORD), ("proxy-auth", "basic")):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s" % k, r)

    # an earlier download left the first half of one file (as a kill would)
    sha1, name, size = wt.sql(root_db, "SELECT encode(sha1, 'hex'), file_name, size FROM file "
                                       "WHERE state = 'present' ORDER BY size DESC LIMIT 1")[0]
    ext = os.path.splitext(name)[1].lower()
    src = os.path.join(gen_content, sha1[-2:].upper(), sha1.upper() + ext)
    part_dir = os.path.join(down_dir, "content", "WsusContent", sha1[-2:].upper())
    os.makedirs(part_dir, exist_ok=True)
    with open(src, "rb") as f:
        data = f.read()
    with open(os.path.join(part_dir, sha1.upper() + ext + ".partial"), "wb") as f:
        f.write(data[:len(data) // 2])

    r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "sync through the authenticating proxy succeeds", r)
    wt.check(RangeDroppingProxy.seen["requests"] > 0, "the traffic went through the proxy (%d requests)" %
             RangeDroppingProxy.seen["requests"])
    wt.check(RangeDroppingProxy.seen["ranges_dropped"] >= 1, "the downloader asked for the missing range")
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    wt.check(h["result"] == "succeeded" and h["detail"]["range_ignored"] and
             "ignores HTTP Range requests" in (h["error"] or ""),
             "the history says in plain words that Range is not honoured on this path", h)
    final = os.path.join(part_dir, sha1.upper() + ext)
    ok = os.path.exists(final) and hashlib.sha1(open(final, "rb").read()).hexdigest() == sha1
    wt.check(ok, "the partial file was downloaded whole again and verifies")
    want = set(x[0] for x in wt.sql(root_db, "SELECT encode(sha1, 'hex') FROM file"))
    got = set(x[0] for x in wt.sql(db, "SELECT encode(sha1, 'hex') FROM file WHERE state = "
                                       "'present'"))
    wt.check(want <= got, "every file arrived (%d)" % len(want))
    st = wt.wsusctl(conf, "sync", "status", "--json").stdout
    hist = wt.wsusctl(conf, "sync", "history", "--json").stdout
    wt.check(PASSWORD not in st and PASSWORD not in hist and PASSWORD not in down.output(),
             "the proxy password appears in no history, status or log line")

    # range-fallback never: the 200 to a Range request fails the file, the partial stays
    def new_partial():
        sha, nm, _ = wt.sql(root_db, "SELECT encode(sha1, 'hex'), file_name, size FROM file "
                                     "WHERE state = 'present' ORDER BY size DESC LIMIT 1 "
                                     "OFFSET 1")[0]
        e = os.path.splitext(nm)[1].lower()
        d = os.path.join(down_dir, "content", "WsusContent", sha[-2:].upper())
        os.remove(os.path.join(d, sha.upper() + e))
        wt.sql(db, "UPDATE file SET state = 'absent' WHERE encode(sha1, 'hex') = :'p1'", sha)
        with open(os.path.join(gen_content, sha[-2:].upper(), sha.upper() + e), "rb") as f:
            whole = f.read()
        part = os.path.join(d, sha.upper() + e + ".partial")
        with open(part, "wb") as f:
            f.write(whole[:len(whole) // 3])
        return sha, nm, part

    sha1b, nameb, partb = new_partial()
    r = wt.wsusctl(conf, "config", "set", "range-fallback", "never")
    wt.check(r.returncode == 0, "config set range-fallback never", r)
    dropped = RangeDroppingProxy.seen["ranges_dropped"]
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    want_msg = ("upstream http://127.0.0.1:%d (or a proxy on the way) answered the Range request "
                "for file %s (%s) with the whole file (HTTP 200 instead of 206), and "
                "range-fallback is never: allow HTTP Range through the proxy or firewall, or run "
                "wsusctl config set range-fallback auto" % (root.listen_port(), nameb, sha1b.upper()))
    wt.check(r.returncode == 1 and h["result"] == "failed" and want_msg in (h["error"] or ""),
             "range-fallback never: a 200 to a Range request fails the file with the reason", h)
    wt.check(RangeDroppingProxy.seen["ranges_dropped"] == dropped + 1 and os.path.exists(partb),
             "range-fallback never: Range was sent, and the partial file is kept")

    # range-fallback always: no Range request at all, the partial restarts whole
    r = wt.wsusctl(conf, "config", "set", "range-fallback", "always")
    wt.check(r.returncode == 0, "config set range-fallback always", r)
    dropped = RangeDroppingProxy.seen["ranges_dropped"]
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    finalb = partb[:-len(".partial")]
    okb = os.path.exists(finalb) and hashlib.sha1(open(finalb, "rb").read()).hexdigest() == sha1b
    wt.check(r.returncode == 0 and okb and not h["detail"]["range_ignored"],
             "range-fallback always: the file is downloaded whole and verifies", h)
    wt.check(RangeDroppingProxy.seen["ranges_dropped"] == dropped,
             "range-fallback always: no request carried a Range header")
    r = wt.wsusctl(conf, "config", "reset", "range-fallback")

    # wrong credentials: the failure says so
    r = wt.wsusctl(conf, "config", "set", "proxy-password", "wrong")
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "1", "--json").stdout)[0]
    wt.check(r.returncode == 1 and "407" in (h["error"] or ""),
             "a proxy refusing the credentials fails the sync with HTTP 407 in the reason", h)


if __name__ == "__main__":
    main()
