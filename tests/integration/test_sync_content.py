"""Content that the upstream does not have yet (issue 5): the 404 -> DownloadFiles -> later path.

root    seeded with `wsusctl import` of the real export + generated updates with content
middle  syncs from root with `download approved` and nothing approved: metadata only
leaf    syncs from middle with `download all`

The leaf's GETs get 404 from the middle; the leaf asks the middle for the files with
DownloadFiles, its sync still succeeds with a note saying so, and the files stay `absent`. The
middle queues them and starts a synchronization by itself a few seconds later (trigger
`downstream`, as WSUS downloads requested files at once) that fetches exactly the queued files;
the leaf's next sync then gets every one of them, verified. Along the way: `wsusctl sync now
--wait` on a non-terminal prints plain lines (no carriage returns, no escape sequences), the
result line and the note or reason, and exits 0 on success, 1 on failure.
"""

import json
import os
import subprocess
import sys
import time

import wsustest as wt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync as ts  # noqa: E402  (the chain test's helpers: generator, setup, verification)


def plain_output(r, what):
    """--wait on a pipe: whole lines only, no progress bar tricks."""
    wt.check("\r" not in r.stdout and "\x1b" not in r.stdout,
             "%s: --wait output on a pipe has no carriage return or escape sequence" % what,
             repr(r.stdout[-500:]))


def history(conf):
    r = wt.wsusctl(conf, "sync", "history", "--limit", "50", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else []


def wait_downstream_runs(conf, db, sha1s, limit=180):
    """Wait (not a timed assertion: the limit only stops a hung test) until the middle has run a
    downstream-triggered sync that finished and every requested file is no longer queued."""
    end = time.time() + limit
    while time.time() < end:
        runs = [h for h in history(conf) if h["trigger"] == "downstream"]
        states = set(r[1] for r in wt.sql(db, "SELECT encode(sha1, 'hex'), state FROM file")
                     if r[0] in sha1s)
        if runs and all(h["result"] != "running" for h in runs) and "queued" not in states:
            return runs
        time.sleep(0.5)
    return [h for h in history(conf) if h["trigger"] == "downstream"]


def main():
    wt.run_servers(run)


def run(tmp, servers, dbs):
    pkg, pkg_content = ts.gen(tmp, "base")
    root_dir, root_db, root_conf, root = ts.setup_server(tmp, "root")
    servers.append(root)
    dbs.append(root_db)
    r = wt.wsusctl(root_conf, "import", pkg, "--content", pkg_content)
    wt.check(r.returncode == 0, "root: import of the real export + generated updates", r)
    root_url = "http://127.0.0.1:%d" % root.listen_port()

    mid_dir, mid_db, mid_conf, mid = ts.setup_server(tmp, "middle", root_url,
                                                     [("download", "approved")])
    servers.append(mid)
    dbs.append(mid_db)
    r = wt.wsusctl(mid_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "middle: sync now --wait exits 0 on success", r)
    plain_output(r, "middle")
    lines = r.stdout.strip().splitlines()
    h = ts.last_run(mid_conf)
    wt.check(any(line == "synchronization %d succeeded" % h["id"] for line in lines) and
             any(line.startswith("#%d" % h["id"]) and "succeeded" in line and "manual" in line
                 for line in lines),
             "middle: --wait prints the result line and the history row", lines[-3:])
    wt.check(not ts.present_files(mid_db) and len(ts.revisions(mid_db)) > 4000,
             "middle: metadata only, no file (nothing approved, download approved)")

    mid_url = "http://127.0.0.1:%d" % mid.listen_port()
    leaf_dir, leaf_db, leaf_conf, leaf = ts.setup_server(tmp, "leaf", mid_url,
                                                         [("download", "all")])
    servers.append(leaf)
    dbs.append(leaf_db)
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0, "leaf: sync with files missing upstream still succeeds", r)
    plain_output(r, "leaf")
    want = set(x[0] for x in wt.sql(leaf_db, "SELECT encode(sha1, 'hex') FROM file"))
    h = ts.last_run(leaf_conf)
    wt.check(want and h["result"] == "succeeded" and
             h["detail"]["files_missing_upstream"] == len(want) and h["files"] == 0,
             "leaf: every one of its %d files was missing on the middle (404)" % len(want), h)
    wt.check("note:" in r.stdout and "DownloadFiles" in r.stdout and
             "%d files are not on upstream" % len(want) in r.stdout,
             "leaf: --wait prints the note naming the missing files and DownloadFiles", r)
    wt.check(not ts.present_files(leaf_db), "leaf: nothing stored for the missing files")
    absent = wt.sql_value(leaf_db, "SELECT count(*) FROM file WHERE state = 'absent' AND "
                                   "state_detail LIKE '%DownloadFiles%'")
    wt.check(absent == str(len(want)), "leaf: the files wait as absent, asked for (%s)" % absent)
    wt.check(not ts.partials(os.path.join(leaf_dir, "content")), "leaf: no partial left by 404s")

    # the middle queued them and fetches them by itself, soon, not at its next scheduled sync
    runs = wait_downstream_runs(mid_conf, mid_db, want)
    wt.check(runs and all(x["result"] == "succeeded" for x in runs) and
             sum(x["files"] for x in runs) == len(want),
             "middle: a sync triggered by the downstream's request fetched the %d files" %
             len(want), runs)
    wt.check(ts.present_files(mid_db) == want,
             "middle: exactly the requested files are present (its policy is approved)")
    bad = ts.verify_store(os.path.join(mid_dir, "content"), mid_db)
    wt.check(not bad, "middle: every fetched file verifies", bad)

    # the leaf's next sync gets them
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    wt.check(r.returncode == 0 and "note:" not in r.stdout, "leaf: next sync succeeds, no note",
             r)
    h = ts.last_run(leaf_conf)
    wt.check(h["files"] == len(want) and h["detail"]["files_missing_upstream"] == 0,
             "leaf: the next sync downloaded the %d files" % len(want), h)
    wt.check(ts.present_files(leaf_db) == want, "leaf: every file present")
    bad = ts.verify_store(os.path.join(leaf_dir, "content"), leaf_db)
    wt.check(not bad, "leaf: every file verifies against its SHA-1/SHA-256 and size", bad)
    root_files = ts.present_files(root_db)
    wt.check(want <= root_files, "leaf: its files are the root's bytes")

    # a failed run: --wait exits 1 and prints the reason, still as plain lines
    dead = wt.free_port()
    r = wt.wsusctl(leaf_conf, "config", "set", "upstream", "http://127.0.0.1:%d" % dead)
    wt.check(r.returncode == 0, "leaf: point the upstream at a closed port", r)
    r = wt.wsusctl(leaf_conf, "sync", "now", "--wait")
    plain_output(r, "failed run")
    h = ts.last_run(leaf_conf)
    wt.check(r.returncode == 1 and "synchronization %d failed" % h["id"] in r.stdout and
             "reason: upstream http://127.0.0.1:%d refused the connection" % dead in r.stdout,
             "--wait exits 1 on failure and prints the reason", r)

    # on a terminal (a pty from script(1)) --wait draws its progress line in place and still
    # ends with the result line and the exit status
    r = wt.wsusctl(leaf_conf, "config", "set", "upstream", mid_url)
    wt.check(r.returncode == 0, "leaf: point the upstream back at the middle", r)
    cmd = "%s -c %s sync now --wait" % (os.path.join(wt.BIN, "wsusctl"), leaf_conf)
    # bytes, not text: universal newlines would turn the bare \r into \n
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    h = ts.last_run(leaf_conf)
    wt.check(r.returncode == 0 and b"\r\x1b[K" in r.stdout and
             b"synchronization %d succeeded" % h["id"] in r.stdout,
             "--wait on a terminal redraws its line in place, then prints the result", r)


if __name__ == "__main__":
    main()
