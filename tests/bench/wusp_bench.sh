#!/usr/bin/env bash
# wusp_bench: many simulated Windows Update clients scanning one wsusd (MS-WUSP client web
# services). A throwaway PostgreSQL cluster (tests/lib/pgtest.sh), a catalog of the real export
# plus UPDATES generated bundles (tests/tools/wsusgen.py --no-content; 28000 gives about 100,000
# revisions), APPROVED bundles approved for All Computers, then CLIENTS clients, CONC at a time,
# each doing what a first scan does: GetConfig, GetAuthorizationCookie, GetCookie,
# RegisterComputer, SyncUpdates rounds (every non-leaf revision counts as installed, so the
# staged scan walks the whole prerequisite tree) until nothing is new, GetExtendedUpdateInfo of
# what it got (50 per call). Prints scans/s, p50/p99 of SyncUpdates and GetExtendedUpdateInfo,
# wsusd's peak RSS and CPU, and the database's load (transactions, rows read, blocks).
#
# usage: tests/bench/wusp_bench.sh [BUILD_DIR] [UPDATES] [CLIENTS]
#   environment: CONC (parallel clients, default 32), APPROVED (default 200),
#   THREADS (wsusd [server] threads, default 32), KEEP=1 keeps the work directory
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
updates=${2:-28000}
clients=${3:-1000}
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
mkdir -p "$work/srv/state"
psql -X -q -c "CREATE DATABASE bench_wusp" >/dev/null
cat >"$work/srv/wsusd.conf" <<EOF
[server]
listen = 127.0.0.1:$port
threads = $threads
[admin]
listen = 127.0.0.1:$(free_port)
[database]
conninfo = dbname=bench_wusp host=$PGHOST port=5432 user=postgres
[storage]
state_dir = $work/srv/state
content_dir = $work/srv/content
[log]
level = warn
EOF
ctl() { "$build/bin/wsusctl" -c "$work/srv/wsusd.conf" "$@"; }

echo "generating $updates updates (metadata only)..."
python3 "$src/tests/tools/wsusgen.py" --seed 9 --updates "$updates" --include-export --no-content \
    --out "$work/gen.cab" >/dev/null
echo "importing..."
ctl import "$work/gen.cab" >/dev/null
psql -X -q -d bench_wusp -c "ANALYZE" >/dev/null
revs=$(psql -X -At -d bench_wusp -c "SELECT count(*) FROM revision")
"$build/bin/wsusd" -d -c "$work/srv/wsusd.conf" >"$work/srv/log" 2>&1 &
pid=$!
for _ in $(seq 100); do ctl sync status >/dev/null 2>&1 && break; sleep 0.1; done
echo "approving $approved bundles for All Computers..."
psql -X -At -d bench_wusp -c "SELECT update_id FROM revision WHERE update_type = 'Software'
    AND explicitly_deployable AND revision_number = 200 ORDER BY update_id LIMIT $approved" |
    while read -r u; do ctl approve "$u" >/dev/null; done

stat() { psql -X -At -d bench_wusp -c "SELECT xact_commit, tup_returned, tup_fetched, blks_read,
    blks_hit FROM pg_stat_database WHERE datname = 'bench_wusp'"; }
before=$(stat)
echo "$clients clients, $conc at a time, against $revs revisions..."
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


print("clients scanned:             %d (%d failed) in %.1f s = %.1f scans/s" %
      (len(sizes), len(errors), wall, len(sizes) / wall))
print("revisions per client:        %d" % (max(sizes) if sizes else 0))
for op in ("SyncUpdates", "GetExtendedUpdateInfo", "GetCookie", "RegisterComputer"):
    v = lat.get(op, [])
    print("%-28s %6d calls  p50 %7.1f ms  p99 %7.1f ms" % (op + ":", len(v), pct(v, 50),
                                                          pct(v, 99)))
if errors:
    print("first error: " + errors[0])
EOF
after=$(stat)
python3 - "$before" "$after" <<'EOF'
import sys
b = [int(x) for x in sys.argv[1].split("|")]
a = [int(x) for x in sys.argv[2].split("|")]
d = [y - x for x, y in zip(b, a)]
print("database: %d transactions, %d rows returned, %d rows fetched, %d blocks read, %d hit"
      % tuple(d))
EOF
awk '/VmHWM/ {printf "wsusd peak RSS:              %.1f MB\n", $2/1024}' "/proc/$pid/status"
awk '{printf "wsusd CPU:                   %.1f s\n", ($14 + $15) / 100}' "/proc/$pid/stat"
