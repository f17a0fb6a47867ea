"""Chaos: the downstream wsusd is SIGKILLed at random moments of metadata and content sync
(12 rounds, seeded, bounded time), restarted each time, and the sync must still end with a
catalog and content equal to the upstream's (issue 5).

Checks after every kill: every published content file verifies (a half-written file is never
visible under its final name) and every file the catalog calls 'present' is on disk.
At the end: the final sync succeeds, the catalog equals the upstream's, every file verifies,
no partial file is left, and the final run re-downloaded nothing that was already on disk
(partial files were resumed with Range: bytes received = bytes missing).
"""

import hashlib
import json
import os
import random
import subprocess
import sys
import time

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")
ROUNDS = 12


def published(content):
    out = {}
    for dirpath, _, files in os.walk(os.path.join(content, "WsusContent")):
        for f in files:
            p = os.path.join(dirpath, f)
            if f.endswith(".partial"):
                continue
            out[os.path.splitext(f)[0].lower()] = p
    return out


def partial_bytes(content):
    n = 0
    for dirpath, _, files in os.walk(os.path.join(content, "WsusContent")):
        n += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files
                 if f.endswith(".partial"))
    return n


def check_store(content, db, label):
    bad = []
    for sha1, path in published(content).items():
        with open(path, "rb") as f:
            if hashlib.sha1(f.read()).hexdigest() != sha1:
                bad.append(path)
    pub = published(content)
    missing = [s for (s,) in wt.sql(db, "SELECT encode(sha1, 'hex') FROM file WHERE state = "
                                        "'present'") if s not in pub]
    wt.check(not bad and not missing, "%s: every visible file is complete and verified, every "
             "'present' file is on disk" % label, (bad, missing))


def main():
    wt.run_servers(run)


def run(tmp, servers, dbs):
    rnd = random.Random(1234)
    pkg = os.path.join(tmp, "gen.cab")
    gen_content = os.path.join(tmp, "gen-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "11", "--updates", "40", "--include-export",
                        "--file-size", "1M-4M", "--out", pkg, "--content-dir", gen_content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)

    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_chaos_root")
    dbs.append(root_db)
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", gen_content)
    wt.check(r.returncode == 0, "root: import with content", r)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)

    down_dir = os.path.join(tmp, "down")
    os.makedirs(down_dir)
    content = os.path.join(down_dir, "content")
    db = wt.create_db("it_chaos_down")
    dbs.append(db)
    conf = wt.write_config(down_dir, db)
    srv = wt.Wsusd(conf).start()
    for k, v in (("upstream", "http://127.0.0.1:%d" % root.listen_port()), ("download", "all")):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s" % k, r)

    # a slow link (40 MB/s) so that the kills land in the middle of the downloads
    r = wt.wsusctl(conf, "config", "set", "download-max-rate", "40000000")
    wt.check(r.returncode == 0, "config set download-max-rate 40000000", r)
    phases = set()
    for i in range(ROUNDS):
        r = wt.wsusctl(conf, "sync", "now")
        wt.check(r.returncode in (0, 1), "round %d: sync now (or one already running)" % i, r)
        if i < ROUNDS // 3:
            # metadata: a random moment of the first seconds
            time.sleep(rnd.uniform(0.02, 0.25))
        else:
            # content: a random moment shortly after the downloads began
            end = time.time() + 30
            while time.time() < end and wt.sql_value(
                    db, "SELECT phase FROM sync_history ORDER BY id DESC LIMIT 1") not in (
                        "content", "done"):
                time.sleep(0.03)
            time.sleep(rnd.uniform(0.05, 0.3))
        ph = wt.sql_value(db, "SELECT phase FROM sync_history ORDER BY id DESC LIMIT 1")
        phases.add(ph)
        srv.proc.kill()
        srv.proc.wait()
        check_store(content, db, "round %d (killed in phase %s)" % (i, ph))
        srv = wt.Wsusd(conf).start()
        servers.append(srv)
    print("phases hit by the kills: %s" % sorted(p for p in phases if p))
    wt.check(len(phases & {"categories", "updates"}) > 0 and "content" in phases,
             "kills hit metadata and content sync", phases)

    # the final run: let it finish (the restart may already have resumed it), at full speed
    r = wt.wsusctl(conf, "config", "reset", "download-max-rate")
    wt.check(r.returncode == 0, "config reset download-max-rate (no cap)", r)
    left = partial_bytes(content)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    if r.returncode != 0 and "already running" in r.stderr:
        r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "the sync completes after %d kills" % ROUNDS, r)
    latest = "SELECT update_id || ' ' || max(revision_number) FROM revision GROUP BY update_id"
    wt.check(set(x[0] for x in wt.sql(db, latest)) == set(x[0] for x in wt.sql(root_db, latest)),
             "the catalog equals the upstream's")
    files = "SELECT encode(sha1, 'hex') FROM file WHERE state = 'present'"
    wt.check(set(x[0] for x in wt.sql(db, files)) == set(x[0] for x in wt.sql(root_db, files)),
             "every content file of the upstream is present")
    check_store(content, db, "final")
    wt.check(partial_bytes(content) == 0, "no partial file is left")
    runs = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "3", "--json").stdout)
    final = [x for x in runs if x["result"] == "succeeded"]
    if wt.check(bool(final), "the final run is in the history", runs):
        d = final[0]["detail"]
        # bytes_present: files a killed run had published but not yet recorded, found verified
        wt.check(d["bytes_done"] + d["bytes_resumed"] + d["bytes_present"] == d["bytes_total"],
                 "the final run fetched only the missing bytes (resumed %d of %d bytes on disk, "
                 "found %d published, received %d, total %d)" % (
                     d["bytes_resumed"], left, d["bytes_present"], d["bytes_done"],
                     d["bytes_total"]), d)
        wt.check(d["bytes_resumed"] == left, "every partial byte left by the kills was resumed, "
                 "not downloaded again", d)


if __name__ == "__main__":
    main()
