#!/usr/bin/env python3
"""Console paging benchmark: the admin API calls the web console's pages make, timed against a
large generated catalog (default 40000 bundles, about 100,000 revisions).

Usage: python3 tests/bench/console_bench.py [BIN_DIR] [BUNDLES]   (default build/test/bin 40000)
A throwaway wsusd with its private PostgreSQL cluster in a temp dir (removed at exit); prints,
per call, the answer's size, the best wall time and the least CPU time (user+sys of wsusd and of
the PostgreSQL cluster's processes, from /proc: steadier than wall time on a busy machine) of
ROUNDS (env, default 3) calls. Compare calls within one run, or two runs on one STATE.
STATE=DIR (env) keeps the state dir (catalog, private cluster) in DIR and reuses it when it is
already imported: re-run it with another build to compare, or connect with psql (the socket is
DIR/state/pg/sock, database wsusd) for EXPLAIN ANALYZE; `wsusctl -c DIR/wsusd.conf db stop` stops
the cluster at the end.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(SRC, "build", "test", "bin")
BUNDLES = int(sys.argv[2]) if len(sys.argv) > 2 else 40000
ROUNDS = int(os.environ.get("ROUNDS", "3"))


def cpu_seconds(pids):
    """user+sys CPU seconds of pids and of their children processes (wsusd, the postmaster
    and its backends), from /proc"""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    todo, seen = list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return total / tick


def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    keep = os.environ.get("STATE")
    if keep:
        os.makedirs(keep, exist_ok=True)
        tmp = os.path.abspath(keep)
    else:
        tmp = tempfile.mkdtemp(prefix="wsusd-console-bench-")
    os.chmod(tmp, 0o755)  # the private cluster runs as the postgres user when started as root
    proc = None
    try:
        aport = port()
        conf = os.path.join(tmp, "wsusd.conf")
        imported = os.path.join(tmp, "imported")
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\n[admin]\nlisten = 127.0.0.1:%d\n"
                    "[storage]\nstate_dir = %s\n" % (port(), aport, os.path.join(tmp, "state")))
        pkg = os.path.join(tmp, "big.cab")
        if not os.path.exists(imported):
            t = time.time()
            subprocess.run([sys.executable, os.path.join(SRC, "tests", "tools", "wsusgen.py"),
                            "--updates", str(BUNDLES), "--include-export", "--no-content",
                            "--out", pkg], check=True)
            print("generated %d bundles in %.0f s" % (BUNDLES, time.time() - t), flush=True)
        proc = subprocess.Popen([os.path.join(BIN, "wsusd"), "-c", conf, "-d"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(1200):
            try:
                socket.create_connection(("127.0.0.1", aport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        if not os.path.exists(imported):
            t = time.time()
            subprocess.run([os.path.join(BIN, "wsusctl"), "-c", conf, "import", pkg], check=True,
                           stdout=subprocess.DEVNULL)
            print("imported in %.0f s" % (time.time() - t), flush=True)
            os.remove(pkg)
            open(imported, "w").close()
        token = open(os.path.join(tmp, "state", "admin.token")).read().strip()

        with open(os.path.join(tmp, "state", "pg", "data", "postmaster.pid")) as f:
            pids = [proc.pid, int(f.readline())]

        def call(path):
            req = urllib.request.Request("http://127.0.0.1:%d/api/v1/%s" % (aport, path),
                                         headers={"Authorization": "Bearer " + token})
            best, bcpu, size, body = None, None, 0, None
            for _ in range(ROUNDS):
                t, c = time.time(), cpu_seconds(pids)
                with urllib.request.urlopen(req, timeout=600) as r:
                    data = r.read()
                dt, dc = time.time() - t, cpu_seconds(pids) - c
                best = dt if best is None or dt < best else best
                bcpu = dc if bcpu is None or dc < bcpu else bcpu
                size, body = len(data), data
            print("%-66s %8d bytes %7.3f s wall %7.3f s cpu" % (path, size, best, bcpu),
                  flush=True)
            return json.loads(body)

        st = call("updates?limit=1")
        print("catalog: %s updates matching the default list" % st.get("total"))
        cats = call("updates?type=category&limit=5000")
        # a product and a classification the first listed update belongs to (the first
        # Product category may have no update at all)
        first = st["updates"][0] if st.get("updates") else {}

        def category(kind, names):
            ids = [c["update_id"] for c in cats["updates"] if c.get("category_type") in kind and
                   c.get("title") and c["title"] in (names or "")]
            return ids[0] if ids else next(c["update_id"] for c in cats["updates"]
                                           if c.get("category_type") in kind)
        prod = category(("Product",), first.get("products"))
        cls = category(("UpdateClassification",), first.get("classification"))
        for p in ("updates?limit=50&offset=0", "updates?limit=50&offset=20000",
                  "updates?search=KB5001234&limit=50", "updates?search=cumulative&limit=50",
                  "updates?product=%s&limit=50" % prod,
                  "updates?classification=%s&limit=50" % cls, "updates?not_approved=1&limit=50",
                  "updates?superseded=1&limit=50", "updates/failed", "groups", "report",
                  "computers", "sync/status", "sync/history?limit=50", "content", "downstreams",
                  "config", "status"):
            call(p)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        if not keep:
            subprocess.run([os.path.join(BIN, "wsusctl"), "-c", conf, "db", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(tmp, ignore_errors=True)


main()
