"""Failures a branch admin meets (issue 5): the upstream dies in the middle of a sync, the
upstream is not there at all, a second "sync now" while one runs.

Checks: the interrupted sync fails with the exact reason in history (naming the upstream), the
retry policy (sync-retry-interval, shortened for the test) picks the sync up again once the
upstream is back and finishes it; "sync now" while a sync runs says so and shows the progress;
a sync against a closed port says the upstream refused the connection; an https:// upstream
URL on a plain HTTP port says to use http:// or the HTTPS port.
"""

import json
import os
import signal
import subprocess
import sys
import time

import wsustest as wt

GEN = os.path.join(wt.SRC, "tests", "tools", "wsusgen.py")


def history(conf):
    r = wt.wsusctl(conf, "sync", "history", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else []


def wait_for(pred, seconds, step=0.05):
    end = time.time() + seconds
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def main():
    wt.run_servers(run)


def run(tmp, servers, dbs):
    pkg = os.path.join(tmp, "gen.cab")
    r = subprocess.run([sys.executable, GEN, "--seed", "7", "--updates", "1000", "--include-export",
                        "--no-content", "--out", pkg], capture_output=True, text=True)
    wt.check(r.returncode == 0, "wsusgen", r)

    os.makedirs(os.path.join(tmp, "root"))
    root_db = wt.create_db("it_syncfail_root")
    dbs.append(root_db)
    root_conf = wt.write_config(os.path.join(tmp, "root"), root_db)
    r = wt.wsusctl(root_conf, "import", pkg)
    wt.check(r.returncode == 0, "root: import", r)
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    root_url = "http://127.0.0.1:%d" % root.listen_port()

    os.makedirs(os.path.join(tmp, "down"))
    db = wt.create_db("it_syncfail_down")
    dbs.append(db)
    conf = wt.write_config(os.path.join(tmp, "down"), db)
    down = wt.Wsusd(conf).start()
    servers.append(down)
    # the retry interval is a setting (default 15 minutes); 4 s keeps the test short
    r = wt.wsusctl(conf, "config", "get", "sync-retry-interval")
    wt.check(r.returncode == 0 and "900" in r.stdout, "sync-retry-interval defaults to 900 s", r)
    r = wt.wsusctl(conf, "config", "set", "sync-retry-interval", "0")
    wt.check(r.returncode == 1 and "sync-retry-interval" in r.stderr and "1 to 604800" in r.stderr,
             "config set sync-retry-interval 0 is refused with the range", r)
    r = wt.wsusctl(conf, "config", "set", "sync-retry-interval", "4")
    wt.check(r.returncode == 0, "config set sync-retry-interval 4", r)

    # --- nothing listens there: a clear reason
    dead_port = wt.free_port()
    r = wt.wsusctl(conf, "config", "set", "upstream", "http://127.0.0.1:%d" % dead_port)
    wt.check(r.returncode == 0, "config set upstream (a closed port)", r)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    wt.check(r.returncode == 1, "sync against a closed port fails (exit 1)", r)
    h = history(conf)[0]
    wt.check(h["result"] == "failed" and "upstream http://127.0.0.1:%d refused the connection" %
             dead_port in (h["error"] or ""), "history says the upstream refused the connection",
             h)
    # the retry policy would now try again in 4 s; point at the real upstream and let it
    r = wt.wsusctl(conf, "config", "set", "upstream", root_url)
    wt.check(r.returncode == 0, "config set upstream (the root)", r)
    retried = wait_for(lambda: [x for x in history(conf) if x["trigger"] == "retry" and
                                x["result"] != "running"], 300, 0.5)
    wt.check(retried and retried[0]["result"] == "succeeded",
             "the retry policy runs the sync again and it succeeds", retried)

    # --- the upstream dies in the middle of a sync
    wt.sql(db, "DELETE FROM revision")
    wt.sql(db, "DELETE FROM upstream_state")
    r = wt.wsusctl(conf, "sync", "now")
    wt.check(r.returncode == 0, "sync now returns at once", r)
    running = wait_for(lambda: wt.sql_value(
        db, "SELECT 1 FROM sync_history WHERE result = 'running' AND "
            "(detail->>'revisions_fetched')::int > 0"), 30, 0.02)
    wt.check(bool(running), "the sync is fetching updates")
    # freeze the upstream: the sync now waits on it, whatever the machine's speed
    root.proc.send_signal(signal.SIGSTOP)
    # a second "sync now" says one is running, with its progress
    r = wt.wsusctl(conf, "sync", "now")
    wt.check(r.returncode == 1 and "already running" in r.stderr and "revisions" in r.stderr,
             "a second sync now says one is running and shows its progress", r)
    # another wsusd on the same database (load-balanced front ends) sees it too
    os.makedirs(os.path.join(tmp, "down2"))
    conf2 = wt.write_config(os.path.join(tmp, "down2"), db)
    down2 = wt.Wsusd(conf2).start()
    servers.append(down2)
    r = wt.wsusctl(conf2, "sync", "now")
    wt.check(r.returncode == 1 and "already running" in r.stderr,
             "a second wsusd on the same database refuses to start a parallel sync", r)
    down2.stop()
    root.proc.kill()
    root.proc.wait()
    failed = wait_for(lambda: [x for x in history(conf)[:1] if x["result"] == "failed"], 60, 0.2)
    wt.check(bool(failed), "the sync fails once the upstream is gone")
    if failed:
        err = failed[0]["error"] or ""
        wt.check(root_url in err and ("refused the connection" in err or
                                      "closed the connection" in err),
                 "the reason names the upstream and what happened: %s" % err)
    st = json.loads(wt.wsusctl(conf, "sync", "status", "--json").stdout)
    wt.check(st["retry_at"] is not None, "a retry is scheduled", st)
    # the upstream comes back on the same port: the retry finishes the job
    root = wt.Wsusd(root_conf).start()
    servers.append(root)
    done = wait_for(lambda: [x for x in history(conf)[:1] if x["trigger"] == "retry" and
                             x["result"] == "succeeded"], 300, 0.5)
    wt.check(bool(done), "the retry succeeds when the upstream is back", history(conf)[:3])
    latest = "SELECT update_id || ' ' || max(revision_number) FROM revision GROUP BY update_id"
    wt.check(set(r[0] for r in wt.sql(db, latest)) == set(r[0] for r in wt.sql(root_db, latest)),
             "the catalog is complete after the retry (every update at its latest revision)")

    # --- https:// on the upstream's plain HTTP port: the fix is the scheme or the port, not a
    #     certificate
    https_url = "https://127.0.0.1:%d" % root.listen_port()
    r = wt.wsusctl(conf, "config", "set", "upstream", https_url)
    wt.check(r.returncode == 0, "config set upstream https:// on the HTTP port", r)
    r = wt.wsusctl(conf, "sync", "now", "--wait")
    want = ("upstream %s answers plain HTTP on that port: use http:// or the HTTPS port (8531)" %
            https_url)
    wt.check(r.returncode == 1 and want in r.stdout + r.stderr,
             "sync now --wait on https:// against an HTTP port says: %s" % want, r)
    h = history(conf)[0]
    wt.check(h["result"] == "failed" and want in (h["error"] or "") and
             "certificate" not in (h["error"] or ""),
             "history names the scheme or the port, not the certificate", h)


if __name__ == "__main__":
    main()
