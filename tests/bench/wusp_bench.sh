#!/usr/bin/env bash
# wusp_bench: many simulated Windows Update clients scanning one wsusd (MS-WUSP client web
# services). A throwaway PostgreSQL cluster (tests/lib/pgtest.sh), a catalog of the real export
# plus UPDATES generated bundles (tests/tools/wsusgen.py --no-content; 28000 gives about 100,000
# revisions), APPROVED bundles approved for All Computers, then CLIENTS clients, CONC at a time,
# each doing what a first scan does: GetConfig, GetAuthorizationCookie, GetCookie,
# RegisterComputer, SyncUpdates rounds (every non-leaf revision counts as installed, so the
# staged scan walks the whole prerequisite tree) until nothing is new, GetExtendedUpdateInfo of
# what it got (50 per call). Prints `key: value` lines (tests/bench/run collects them): scans/s,
# p50/p99 of SyncUpdates and GetExtendedUpdateInfo, wsusd's peak RSS, the CPU of wsusd and of
# PostgreSQL per scan (user+sys from /proc: the figure to compare on a busy machine), the
# database's load (transactions, rows read, blocks) and wsusd's scan cache counters.
#
# usage: tests/bench/wusp_bench.sh [BUILD_DIR] [UPDATES] [CLIENTS]
#   environment: UPDATES (default 28000, about 100,000 revisions), CLIENTS (default 1000),
#   CONC (parallel clients, default 32), APPROVED (default 200), THREADS (wsusd [server]
#   threads, default 32), NOCACHE=1 runs wsusd without its scan cache (WSUSD_NO_SCAN_CACHE),
#   KEEP=1 keeps the work directory. Quick run: UPDATES=2000 CLIENTS=100
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
updates=${2:-${UPDATES:-28000}}
clients=${3:-${CLIENTS:-1000}}
conc=${CONC:-32}
approved=${APPROVED:-200}
threads=${THREADS:-32}
work=$(mktemp -d /tmp/wusp-bench.XXXXXX)
chmod 755 "$work"
pg="$work/pg"
pid=

cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    bash "$src/tests/lib/pgtest.sh" stop "$pg" >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bash "$src/tests/lib/pgtest.sh" start "$pg" >/dev/null
export PGHOST="$pg/sock" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
admin_port=$(free_port)
mkdir -p "$work/srv/state"
psql -X -q -c "CREATE DATABASE bench_wusp" >/dev/null
cat >"$work/srv/wsusd.conf" <<EOF
[server]
listen = 127.0.0.1:$port
threads = $threads
[admin]
listen = 127.0.0.1:$admin_port
[database]
conninfo = dbname=bench_wusp host=$PGHOST port=5432 user=postgres
[storage]
state_dir = $work/srv/state
content_dir = $work/srv/content
[log]
level = warn
EOF
ctl() { "$build/bin/wsusctl" -c "$work/srv/wsusd.conf" "$@"; }

echo "generating $updates updates (metadata only)..." >&2
python3 "$src/tests/tools/wsusgen.py" --seed 9 --updates "$updates" --include-export --no-content \
    --out "$work/gen.cab" >/dev/null
echo "importing..." >&2
ctl import "$work/gen.cab" >/dev/null
psql -X -q -d bench_wusp -c "ANALYZE" >/dev/null
revs=$(psql -X -At -d bench_wusp -c "SELECT count(*) FROM revision")
WSUSD_NO_SCAN_CACHE=${NOCACHE:-} "$build/bin/wsusd" -d -c "$work/srv/wsusd.conf" >"$work/srv/log" 2>&1 &
pid=$!
for _ in $(seq 100); do ctl sync status >/dev/null 2>&1 && break; sleep 0.1; done
echo "approving $approved bundles for All Computers..." >&2
psql -X -At -d bench_wusp -c "SELECT update_id FROM revision WHERE update_type = 'Software'
    AND explicitly_deployable AND revision_number = 200 ORDER BY update_id LIMIT $approved" |
    while read -r u; do ctl approve "$u" >/dev/null; done

stat() { psql -X -At -d bench_wusp -c "SELECT xact_commit, tup_returned, tup_fetched, blks_read,
    blks_hit FROM pg_stat_database WHERE datname = 'bench_wusp'"; }
# CPU ticks (user+sys) of wsusd, and of the PostgreSQL cluster (the postmaster, its exited
# children and its live backends)
cpu() {
    local pm w p t
    pm=$(head -1 "$pg/data/postmaster.pid")
    w=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
    for p in $(pgrep -P "$pm"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$w $t"
}
before=$(stat)
cpu_before=$(cpu)
echo "wusp_revisions: $revs"
echo "wusp_approved: $approved"
echo "wusp_conc: $conc"
echo "wusp_scan_cache: $([ -n "${NOCACHE:-}" ] && echo off || echo on)"
echo "$clients clients, $conc at a time, against $revs revisions..." >&2
python3 - "$port" "$clients" "$conc" "$src" <<'EOF' | tee "$work/result.txt"
import base64, http.client, json, os, sys, threading, time, uuid
import xml.etree.ElementTree as ET
sys.path.insert(0, os.path.join(sys.argv[4], "tests", "tools"))
import wuclient as wc  # envelopes and names only; the flow here is a lean one

port, clients, conc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lat = {}
lock = threading.Lock()
errors = []


def call(conn, service, op, inner):
    path, ns, prefix = wc.SERVICES[service]
    body = wc.envelope(ns, op, inner).encode()
    t0 = time.monotonic()
    conn.request("POST", path, body=body, headers={"Content-Type": "text/xml; charset=utf-8",
                                                   "SOAPAction": '"%s%s"' % (prefix, op)})
    r = conn.getresponse()
    data = r.read()
    ms = (time.monotonic() - t0) * 1000
    with lock:
        lat.setdefault(op, []).append(ms)
    if r.status != 200:
        raise RuntimeError("%s: HTTP %d %s" % (op, r.status, data[:300]))
    return ET.fromstring(data)


def q(name):
    return "{%s}%s" % (wc.NS_CLIENT, name)


def one_client(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    cid = str(uuid.UUID(int=0xbe0c0000000000000000000000000000 + i))
    cfg = call(conn, "client", "GetConfig", wc.el("protocolVersion", "2.90"))
    last = cfg.find(".//" + q("LastChange")).text
    a = call(conn, "auth", "GetAuthorizationCookie", wc.el("clientId", cid) +
             wc.el("dnsName", "bench%d.test" % i))
    data = a.find(".//{%s}CookieData" % wc.NS_AUTH).text
    c = call(conn, "client", "GetCookie", wc.el("authCookies", wc.el(
        "AuthorizationCookie", wc.el("PlugInId", "SimpleTargeting") + wc.el("CookieData", data))) +
        wc.el("lastChange", last) + wc.el("protocolVersion", "2.90"))
    cookie = (c.find(".//" + q("Expiration")).text, c.find(".//" + q("EncryptedData")).text)
    ck = lambda: wc.el("cookie", wc.el("Expiration", cookie[0]) +  # noqa: E731
                       wc.el("EncryptedData", cookie[1]))
    call(conn, "client", "RegisterComputer", ck() + wc.el("computerInfo", wc.el(
        "DnsName", "bench%d.test" % i) + wc.el("OSMajorVersion", "10")))
    nonleaf, other = [], []
    while True:
        r = call(conn, "client", "SyncUpdates", ck() + wc.el("parameters", wc.el(
            "ExpressQuery", "false") + wc.ints("InstalledNonLeafUpdateIDs", nonleaf) +
            wc.ints("OtherCachedUpdateIDs", other) + wc.el("SkipSoftwareSync", "false")))
        nc = r.find(".//" + q("NewCookie"))
        cookie = (nc.find(q("Expiration")).text, nc.find(q("EncryptedData")).text)
        new = r.findall(".//%s/%s" % (q("NewUpdates"), q("UpdateInfo")))
        for u in new:
            (other if u.find(q("IsLeaf")).text == "true" else nonleaf).append(
                int(u.find(q("ID")).text))
        if not new and r.find(".//" + q("Truncated")).text != "true":
            break
    got = sorted(nonleaf + other)
    for k in range(0, len(got), 50):
        call(conn, "client", "GetExtendedUpdateInfo", ck() + wc.ints("revisionIDs", got[k:k + 50])
             + wc.el("infoTypes", wc.el("XmlUpdateFragmentType", "Extended") +
                     wc.el("XmlUpdateFragmentType", "LocalizedProperties")) +
             wc.el("locales", wc.el("string", "en-US") + wc.el("string", "en")))
    conn.close()
    return len(got)


todo = list(range(clients))
sizes = []


def worker():
    while True:
        with lock:
            if not todo:
                return
            i = todo.pop()
        try:
            n = one_client(i)
            with lock:
                sizes.append(n)
        except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not stop
            with lock:
                errors.append(str(e)[:300])


t0 = time.monotonic()
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts:
    t.start()
for t in ts:
    t.join()
wall = time.monotonic() - t0


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else 0


print("wusp_clients: %d" % len(sizes))
print("wusp_failed: %d" % len(errors))
print("wusp_wall_s: %.1f" % wall)
print("wusp_scans_per_s: %.2f" % (len(sizes) / wall))
print("wusp_revisions_per_client: %d" % (max(sizes) if sizes else 0))
for op, key in (("SyncUpdates", "syncupdates"), ("GetExtendedUpdateInfo", "geui"),
                ("GetCookie", "getcookie"), ("RegisterComputer", "register")):
    v = lat.get(op, [])
    print("wusp_%s_calls: %d" % (key, len(v)))
    print("wusp_%s_p50_ms: %.1f" % (key, pct(v, 50)))
    print("wusp_%s_p99_ms: %.1f" % (key, pct(v, 99)))
if errors:
    print("wusp_first_error: " + errors[0].replace("\n", " "))
EOF
sleep 2 # backends flush their statistics at most once a second
after=$(stat)
cpu_after=$(cpu)
python3 - "$before" "$after" "$cpu_before" "$cpu_after" "$work/result.txt" <<'EOF'
import sys
b = [int(x) for x in sys.argv[1].split("|")]
a = [int(x) for x in sys.argv[2].split("|")]
d = [y - x for x, y in zip(b, a)]
for k, v in zip(("xacts", "rows_returned", "rows_fetched", "blocks_read", "blocks_hit"), d):
    print("wusp_db_%s: %d" % (k, v))
cb = [int(x) for x in sys.argv[3].split()]
ca = [int(x) for x in sys.argv[4].split()]
res = dict(line.split(": ", 1) for line in open(sys.argv[5]).read().splitlines() if ": " in line)
scans = max(1, int(res.get("wusp_clients", "0")))
for name, i in (("wsusd", 0), ("pg", 1)):
    s = (ca[i] - cb[i]) / 100.0
    print("wusp_%s_cpu_s: %.1f" % (name, s))
    print("wusp_%s_cpu_ms_per_scan: %.1f" % (name, s * 1000 / scans))
EOF
awk '/VmHWM/ {printf "wusp_rss_mb: %.1f\n", $2/1024}' "/proc/$pid/status"
# the scan cache's counters (/metrics of the admin listener)
python3 - "$admin_port" "$work/srv/state/admin.token" <<'EOF'
import sys, urllib.request
tok = open(sys.argv[2]).read().strip()
req = urllib.request.Request("http://127.0.0.1:%s/metrics" % sys.argv[1],
                             headers={"Authorization": "Bearer " + tok})
for line in urllib.request.urlopen(req, timeout=30).read().decode().splitlines():
    if line.startswith("wsusd_client_scan_cache_total{result="):
        print("wusp_scan_cache_%s: %s" % (line.split('"')[1], line.split()[-1]))
    elif line.startswith("wsusd_client_scan_cache_sets "):
        print("wusp_scan_cache_sets: " + line.split()[-1])
EOF
