"""download-max-rate caps all content transfers of a sync together (issue 11).

root  seeded with `wsusctl import` of generated updates with many small content files
leaf  syncs from root: first the metadata only (download none), then the content alone
      (download all) under a download-max-rate of about a third of the bytes per second

Before, the cap was per transfer and, with Debian 12's libcurl 7.88, not applied to files that
were already in the socket buffer: over loopback the content arrived in a fraction of a second
whatever the cap. The check is a bound on that broken behaviour, not a speed assertion: the
content-only sync must take at least 60% of bytes/cap seconds (measured by the server in the
sync history). Every file still arrives, verified.
"""

import os
import subprocess
import sys

import wsustest as wt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync as ts  # noqa: E402  (setup_server, last_run, verify_store)

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")


def main():
    wt.run_servers(run)


def run(tmp, servers, dbs):
    pkg, content = os.path.join(tmp, "small.cab"), os.path.join(tmp, "small-content")
    r = subprocess.run([sys.executable, GEN, "--seed", "11", "--updates", "30", "--file-size",
                        "4K-48K", "--out", pkg, "--content-dir", content],
                       capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)
    root_dir, root_db, root_conf, root = ts.setup_server(tmp, "root")
    servers.append(root)
    dbs.append(root_db)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", content)
    wt.check(r.returncode == 0, "root: import of many small files", r)
    nfiles, nbytes = (int(v) for v in wt.sql(root_db, "SELECT count(*), sum(size) FROM file "
                                                      "WHERE state = 'present'")[0])
    wt.check(nfiles >= 40, "root holds many small files (%d, %d bytes)" % (nfiles, nbytes))

    root_url = "http://127.0.0.1:%d" % root.listen_port()
    leaf_dir, leaf_db, leaf_conf, leaf = ts.setup_server(tmp, "leaf", root_url,
                                                         [("download", "none")])
    servers.append(leaf)
    dbs.append(leaf_db)
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "leaf: metadata-only sync succeeds", r)

    cap = max(nbytes // 3, 20000)
    for k, v in (("download", "all"), ("download-max-rate", str(cap))):
        r = wt.wsusctl(leaf_conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "leaf: config set %s %s" % (k, v), r)
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "leaf: content-only sync under the cap succeeds", r)
    h = ts.last_run(leaf_conf)
    wt.check(h["files"] == nfiles and h["bytes"] == nbytes,
             "leaf: the content sync moved every file (%d, %d bytes)" % (nfiles, nbytes), h)
    floor = 0.6 * nbytes / cap
    wt.check(h["seconds"] >= floor,
             "leaf: %d bytes under download-max-rate %d took %.2f s, at least %.2f s (60%% of "
             "bytes/cap): the cap holds over all transfers together" %
             (nbytes, cap, h["seconds"], floor), h)
    bad = ts.verify_store(os.path.join(leaf_dir, "content"), leaf_db)
    wt.check(not bad, "leaf: every file verifies", bad)


if __name__ == "__main__":
    main()
