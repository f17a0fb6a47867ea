"""The demo (scripts/run-server.sh) stops what it started (issue 11).

Run with WSUSD_BIN_DIR (the built binaries: no install, no build), WSUSD_DEMO_DIR in the
temporary directory, WSUSD_DEMO_PORT_BASE on free ports and WSUSD_DEMO_EXIT_AFTER_START=1 (stop
once both servers answer, as on Ctrl-C): it says at the start where it writes everything, its
configs listen on 127.0.0.1 only, and on exit it stops both wsusd and both private PostgreSQL
clusters (wsusctl db stop) and says so; afterwards no process of it is left (ps) and pg_ctl
finds both clusters stopped. Then the same without WSUSD_DEMO_EXIT_AFTER_START, interrupted by
SIGINT to its process group (what Ctrl-C does) while it seeds the root: exit 130, the same
stops, nothing left.
"""

import os
import queue
import random
import signal
import socket
import subprocess
import threading
import time

import wsustest as wt


def free_base():
    """A port base with base, +2, +10 and +12 free on 127.0.0.1 a moment ago."""
    for _ in range(200):
        base = random.randrange(20000, 30000)
        try:
            for off in (0, 2, 10, 12):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port base")


def pg_ctl_status(data):
    bindir = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int)[-1]
    cmd = [os.path.join("/usr/lib/postgresql", bindir, "bin", "pg_ctl"), "-D", data, "status"]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True).returncode


def main():
    with wt.TempDir() as tmp:
        run(tmp)
    wt.finish()


def run(tmp):
    demo = os.path.join(tmp, "demo")
    base = free_base()
    env = dict(os.environ, WSUSD_BIN_DIR=wt.BIN, WSUSD_DEMO_DIR=demo,
               WSUSD_DEMO_PORT_BASE=str(base), WSUSD_DEMO_EXIT_AFTER_START="1",
               WSUSD_CONF=os.path.join(tmp, "no-such.conf"))
    r = subprocess.run(["bash", os.path.join(wt.SRC, "scripts", "run-server.sh")], env=env,
                       capture_output=True, text=True, timeout=300)
    out = r.stdout
    wt.check(r.returncode == 0, "the demo starts and stops (exit 0)", r)
    for line in ("starting a demo hierarchy on 127.0.0.1; everything it writes is under %s:" %
                 demo,
                 "  configs:   %s/root/wsusd.conf, %s/branch/wsusd.conf" % (demo, demo),
                 "  logs:      %s/root/wsusd.log, %s/branch/wsusd.log" % (demo, demo),
                 "  databases: %s/root/pg, %s/branch/pg (private PostgreSQL clusters)" %
                 (demo, demo),
                 "  content:   %s/root/content, %s/branch/content" % (demo, demo)):
        wt.check(line in out, "the demo says at the start: %s" % line.strip(), out)
    for s, port, admin in (("root", base, base + 2), ("branch", base + 10, base + 12)):
        with open(os.path.join(demo, s, "wsusd.conf")) as f:
            listens = sorted(l.split("=", 1)[1].strip() for l in f if l.startswith("listen"))
        wt.check(listens == sorted(["127.0.0.1:%d" % port, "127.0.0.1:%d" % admin]),
                 "%s listens on 127.0.0.1 only" % s, listens)
    wt.check("== stopping the demo\nstopped wsusd (root and branch)\n" in out,
             "on exit the demo says it stopped both wsusd", out)
    for s in ("root", "branch"):
        data = os.path.join(demo, s, "pg", "data")
        wt.check("stopped the private PostgreSQL cluster in %s\n" % data in out,
                 "on exit the demo stops the %s cluster and says so" % s, out)
        wt.check(os.path.exists(os.path.join(data, "PG_VERSION")) and pg_ctl_status(data) != 0,
                 "the %s cluster exists and is stopped (pg_ctl status)" % s)
    check_nothing_left(demo, "exit after start")

    # --- Ctrl-C (SIGINT to the whole foreground process group) while it seeds the root
    env.pop("WSUSD_DEMO_EXIT_AFTER_START")
    p = subprocess.Popen(["bash", os.path.join(wt.SRC, "scripts", "run-server.sh")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in p.stdout] + [lines.put(None)],
                     daemon=True).start()
    seen, up = [], False
    end = time.time() + 240  # only stops a hung test
    while not up and time.time() < end:
        try:
            line = lines.get(timeout=max(0.1, end - time.time()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        up = line.startswith("== root (pid ")
    wt.check(up, "the demo comes up again (second run)", "".join(seen))
    os.killpg(p.pid, signal.SIGINT)
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
    while True:
        line = lines.get(timeout=10)
        if line is None:
            break
        seen.append(line)
    out = "".join(seen)
    wt.check(rc == 130, "Ctrl-C ends the demo with status 130", rc)
    wt.check("== stopping the demo\nstopped wsusd (root and branch)\n" in out and
             all("stopped the private PostgreSQL cluster in %s\n" %
                 os.path.join(demo, s, "pg", "data") in out for s in ("root", "branch")),
             "on Ctrl-C the demo stops both wsusd and both clusters and says so", out[-2000:])
    check_nothing_left(demo, "Ctrl-C")


def check_nothing_left(demo, what):
    for s in ("root", "branch"):
        data = os.path.join(demo, s, "pg", "data")
        wt.check(pg_ctl_status(data) != 0, "%s: the %s cluster is stopped (pg_ctl status)" %
                 (what, s))
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    left = [l for l in ps.splitlines() if demo in l]
    wt.check(not left, "%s: no process of the demo is left (wsusd, postgres)" % what, left)


if __name__ == "__main__":
    main()
