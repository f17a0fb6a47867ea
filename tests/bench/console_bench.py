#!/usr/bin/env python3
"""Console paging benchmark: the admin API calls the web console's pages make, timed against a
large generated catalog (default 40000 bundles, about 100,000 revisions).

Usage: python3 tests/bench/console_bench.py [BIN_DIR] [BUNDLES]   (default build/test/bin 40000)
A throwaway wsusd with its private PostgreSQL cluster in a temp dir (removed at exit); prints,
per call, the answer's size and the best wall time of ROUNDS (env, default 3) calls, with the
revision count. Wall times are noisy on a shared machine: compare calls within one run.
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


def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    tmp = tempfile.mkdtemp(prefix="wsusd-console-bench-")
    os.chmod(tmp, 0o755)  # the private cluster runs as the postgres user when started as root
    proc = None
    try:
        aport = port()
        conf = os.path.join(tmp, "wsusd.conf")
        with open(conf, "w") as f:
            f.write("[server]\nlisten = 127.0.0.1:%d\n[admin]\nlisten = 127.0.0.1:%d\n"
                    "[storage]\nstate_dir = %s\n" % (port(), aport, os.path.join(tmp, "state")))
        pkg = os.path.join(tmp, "big.cab")
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
        t = time.time()
        subprocess.run([os.path.join(BIN, "wsusctl"), "-c", conf, "import", pkg], check=True,
                       stdout=subprocess.DEVNULL)
        print("imported in %.0f s" % (time.time() - t), flush=True)
        token = open(os.path.join(tmp, "state", "admin.token")).read().strip()

        def call(path):
            req = urllib.request.Request("http://127.0.0.1:%d/api/v1/%s" % (aport, path),
                                         headers={"Authorization": "Bearer " + token})
            best, size, body = None, 0, None
            for _ in range(ROUNDS):
                t = time.time()
                with urllib.request.urlopen(req, timeout=600) as r:
                    data = r.read()
                dt = time.time() - t
                best = dt if best is None or dt < best else best
                size, body = len(data), data
            print("%-70s %9d bytes %8.3f s" % (path, size, best), flush=True)
            return json.loads(body)

        st = call("updates?limit=1")
        print("catalog: %s updates matching the default list" % st.get("total"))
        cats = call("updates?type=category&limit=5000")
        prod = next(c["update_id"] for c in cats["updates"] if c.get("category_type") == "Product")
        for p in ("updates?limit=50&offset=0", "updates?limit=50&offset=20000",
                  "updates?search=KB5001234&limit=50", "updates?search=cumulative&limit=50",
                  "updates?product=%s&limit=50" % prod, "updates?not_approved=1&limit=50",
                  "updates?superseded=1&limit=50", "updates/failed", "groups", "report",
                  "computers", "sync/status", "sync/history?limit=50", "content", "downstreams",
                  "config", "status"):
            call(p)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(tmp, ignore_errors=True)


main()
