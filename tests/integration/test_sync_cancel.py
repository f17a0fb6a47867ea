"""Stopping a synchronization (issue 8, item 9), against the fake upstream of
test_sync_hostile_upstream.py (real WS2025 documents, files of its own, served slowly here):

- `sync status` shows the download rate wsusd measures (it said 0 B/s before);
- `wsusctl sync cancel` stops a sync in the middle of its content download: history
  "cancelled" with the reason, the partial files kept, and the next sync resumes them with
  Range requests and completes with every file verified;
- a hung upstream (accepts the connection, never answers) fails the sync with "upstream ...
  accepted the connection but did not answer GetAuthConfig within N s" after the configured
  upstream-answer-timeout, not after 900 s; Ctrl-C on `sync now --wait` meanwhile says that the
  sync goes on in wsusd and how to stop it;
- SIGTERM ends wsusd within a few seconds while a sync waits for a hung upstream (answer
  timeout 600 s) and while it downloads content; the run is recorded as cancelled.
The time bounds only catch a hang (the bugs took 137 s and 900 s).
"""

import json
import os
import signal
import subprocess
import sys
import time

import wsustest as wt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sync_hostile_upstream as hu  # noqa: E402  (the fake upstream)

STATE = hu.STATE


def status(conf):
    r = wt.wsusctl(conf, "sync", "status", "--json")
    return json.loads(r.stdout) if r.returncode == 0 else {}


def wait_for(what, cond, limit=60):
    """Poll cond() (bounded: only stops a hung test); returns its last value."""
    end = time.time() + limit
    v = cond()
    while not v and time.time() < end:
        time.sleep(0.2)
        v = cond()
    wt.check(bool(v), what)
    return v


def downloading(conf):
    run = status(conf).get("running") or {}
    d = run.get("detail") or {}
    ok = run.get("phase") == "content" and d.get("bytes_done", 0) > 0 and \
        d.get("bytes_per_second", 0) > 0
    return run if ok else None


def partials(content):
    return [(n, os.path.getsize(os.path.join(content, n))) for n in hu.content_names(content)
            if n.endswith(".partial")]


def sigterm_within(srv, what, bound=15):
    t0 = time.time()
    srv.proc.terminate()
    try:
        srv.proc.wait(bound)
    except subprocess.TimeoutExpired:
        pass
    took = time.time() - t0
    wt.check(srv.proc.poll() is not None, "%s: wsusd exits on SIGTERM within %d s (%.1f s)" % (
        what, bound, took))


def run(tmp, servers, dbs):
    fake = hu.start_fake(size=1536 * 1024)
    db = wt.create_db("it_sync_cancel")
    dbs.append(db)
    conf = wt.write_config(tmp, db)
    content = os.path.join(tmp, "content")
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    up = "http://127.0.0.1:%d" % fake.server_address[1]
    for k, v in (("upstream", up), ("download", "all"), ("upstream-answer-timeout", "4")):
        r = wt.wsusctl(conf, "config", "set", k, v)
        wt.check(r.returncode == 0, "config set %s %s" % (k, v), r)

    # cancel in the middle of the content download
    STATE["chunk_delay"] = 0.25
    r = wt.wsusctl(conf, "sync", "now")
    wt.check(r.returncode == 0, "sync now starts a sync", r)
    run1 = wait_for("the sync downloads content", lambda: downloading(conf))
    r = wt.wsusctl(conf, "sync", "status")
    wt.check("content: files" in r.stdout and "/s" in r.stdout and " 0 B/s" not in r.stdout,
             "sync status shows the measured download rate", r.stdout)
    t0 = time.time()
    r = wt.wsusctl(conf, "sync", "cancel", timeout=120)
    took = time.time() - t0
    h = hu.last(conf)
    wt.check(r.returncode == 0 and "synchronization %d cancelled" % run1["id"] in r.stdout,
             "sync cancel stops the run and says so (%.1f s)" % took, r)
    wt.check(h["result"] == "cancelled" and "cancelled by an administrator" in (h["error"] or "")
             and "partial files are kept" in h["error"], "history: cancelled, with the reason", h)
    wt.check(took < 30, "sync cancel returned within 30 s (%.1f s)" % took)
    kept = partials(content)
    wt.check(kept and all(size > 0 for _, size in kept), "the partial files are kept", kept)
    wt.check(not hu.present(db), "nothing published by the cancelled run", hu.present(db))
    r = wt.wsusctl(conf, "sync", "cancel")
    wt.check(r.returncode == 1 and "no synchronization is running" in r.stderr,
             "sync cancel with nothing running says so", r)

    # the next sync resumes the partials and completes
    STATE["chunk_delay"] = 0
    STATE["ranges"] = []
    r = wt.wsusctl(conf, "sync", "now", "--wait", timeout=120)
    wt.check(r.returncode == 0, "the next sync succeeds", r)
    wt.check(STATE["ranges"] and all(not x.startswith("bytes=0-") for x in STATE["ranges"]),
             "it resumed the partial files with Range requests", STATE["ranges"])
    wt.check(sorted(x[0] for x in hu.present(db)) == sorted(fake.files) and not partials(content),
             "every file is present, no partial left", hu.present(db))

    # a hung upstream, and Ctrl-C on sync now --wait
    STATE["mode"] = "hang"
    t0 = time.time()
    p = subprocess.Popen([os.path.join(wt.BIN, "wsusctl"), "-c", conf, "sync", "now", "--wait"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for("the sync against the hung upstream runs",
             lambda: (status(conf).get("running") or {}).get("id"))
    time.sleep(1)
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    wt.check(p.returncode == 130 and "goes on in wsusd" in err and "wsusctl sync cancel" in err,
             "Ctrl-C on sync now --wait: the sync goes on, and how to stop it", (p.returncode,
                                                                                  out, err))
    wait_for("the hung sync ends", lambda: not status(conf).get("running"), limit=90)
    h = hu.last(conf)
    want = "upstream %s accepted the connection but did not answer GetAuthConfig within 4 s" % up
    wt.check(h["result"] == "failed" and want in (h["error"] or ""),
             "hung upstream: the sync fails with the reason after %.0f s" % (time.time() - t0),
             h.get("error"))

    # SIGTERM while a sync waits for a hung upstream (no answer timeout in sight)
    r = wt.wsusctl(conf, "config", "set", "upstream-answer-timeout", "600")
    r = wt.wsusctl(conf, "sync", "now")
    wait_for("a sync waits for the hung upstream",
             lambda: (status(conf).get("running") or {}).get("phase") == "authorizing" or
             (status(conf).get("running") or {}).get("phase") == "configuration")
    hid = status(conf)["running"]["id"]
    time.sleep(1)
    sigterm_within(srv, "hung upstream")
    srv = wt.Wsusd(conf).start()
    servers.append(srv)
    h = json.loads(wt.wsusctl(conf, "sync", "history", "--limit", "5", "--json").stdout)
    h = [x for x in h if x["id"] == hid][0]
    wt.check(h["result"] == "cancelled" and "wsusd is stopping" in (h["error"] or ""),
             "history: the run stopped by SIGTERM is cancelled", h)

    # SIGTERM during the content download
    STATE["mode"] = "normal"
    STATE["chunk_delay"] = 0.25
    wt.sql(db, "UPDATE file SET state = 'absent'")
    for n in hu.content_names(content):
        os.unlink(os.path.join(content, n))
    r = wt.wsusctl(conf, "sync", "now")
    wait_for("the sync downloads content again", lambda: downloading(conf))
    sigterm_within(srv, "content download")
    wt.check(partials(content), "the partial files are kept after SIGTERM", partials(content))
    STATE["chunk_delay"] = 0
    fake.shutdown()
    for s in servers:
        s.stop()
        wt.check(s.sanitizer_report() is None, "wsusd ran clean (no sanitizer report)",
                 s.sanitizer_report())


if __name__ == "__main__":
    wt.run_servers(run)
