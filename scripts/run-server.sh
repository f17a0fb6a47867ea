#!/usr/bin/env bash
# Set up and run wsusd. With /etc/wsusd/wsusd.conf (or WSUSD_CONF) present: run that server in the
# foreground. Without: bring up a demo hierarchy on this machine, a root server seeded from the
# real wsusutil export in tests/data plus generated updates with content, and a downstream that
# synchronizes from it; show the downstream's status and keep both running until Ctrl-C, which
# stops both wsusd and both private PostgreSQL clusters (wsusctl db stop).
#
# Environment: WSUSD_DEMO_DIR (default /var/lib/wsusd-demo: configs, logs, clusters, content),
# WSUSD_DEMO_PORT_BASE (default 8530: root on BASE and admin BASE+2, branch on BASE+10 and
# BASE+12, all on 127.0.0.1), WSUSD_BIN_DIR (use the wsusd/wsusctl there: no install, no build),
# WSUSD_DEMO_EXIT_AFTER_START=1 (stop everything once both servers answer: for tests).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
if [ -n "${WSUSD_BIN_DIR:-}" ]; then
    bin=$WSUSD_BIN_DIR
else
    bash scripts/install-deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build -j"$(nproc)" >/dev/null
    bin=$src/build/bin
fi

conf=${WSUSD_CONF:-/etc/wsusd/wsusd.conf}
if [ -f "$conf" ]; then
    "$bin/wsusd" -n -c "$conf"
    exec "$bin/wsusd" -d -c "$conf"
fi

demo=${WSUSD_DEMO_DIR:-/var/lib/wsusd-demo}
base=${WSUSD_DEMO_PORT_BASE:-8530}
root_port=$base root_admin=$((base + 2)) branch_port=$((base + 10)) branch_admin=$((base + 12))
echo "no $conf: starting a demo hierarchy on 127.0.0.1; everything it writes is under $demo:"
echo "  configs:   $demo/root/wsusd.conf, $demo/branch/wsusd.conf"
echo "  logs:      $demo/root/wsusd.log, $demo/branch/wsusd.log"
echo "  databases: $demo/root/pg, $demo/branch/pg (private PostgreSQL clusters)"
echo "  content:   $demo/root/content, $demo/branch/content"
echo "  generated: $demo/gen (the seed package and its files)"
echo "remove $demo to start over"
mkdir -p "$demo/root" "$demo/branch" "$demo/gen"
for s in root branch; do
    if [ $s = root ]; then port=$root_port admin=$root_admin; else port=$branch_port admin=$branch_admin; fi
    cat >"$demo/$s/wsusd.conf" <<CONF
[server]
listen = 127.0.0.1:$port
[admin]
listen = 127.0.0.1:$admin
[storage]
state_dir = $demo/$s
content_dir = $demo/$s/content
CONF
done

pids=()
stop_all() {
    trap - EXIT INT TERM
    echo
    echo "== stopping the demo"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [ ${#pids[@]} -gt 0 ] && echo "stopped wsusd (root and branch)"
    for s in root branch; do
        [ -f "$demo/$s/wsusd.conf" ] && "$bin/wsusctl" -c "$demo/$s/wsusd.conf" db stop || true
    done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

wait_ready() { # admin port
    for _ in $(seq 1 120); do
        curl -s -o /dev/null "http://127.0.0.1:$1/api/v1/status" && return 0
        sleep 0.5
    done
    echo "wsusd on admin port $1 did not come up; see $demo/*/wsusd.log" >&2
    exit 1
}

"$bin/wsusd" -d -c "$demo/root/wsusd.conf" >>"$demo/root/wsusd.log" 2>&1 &
pids+=($!)
wait_ready $root_admin
"$bin/wsusd" -d -c "$demo/branch/wsusd.conf" >>"$demo/branch/wsusd.log" 2>&1 &
pids+=($!)
wait_ready $branch_admin
echo "== root (pid ${pids[0]}) and branch (pid ${pids[1]}) are up"
if [ "${WSUSD_DEMO_EXIT_AFTER_START:-}" = 1 ]; then
    exit 0
fi
if [ ! -f "$demo/root/.seeded" ]; then
    echo "== seeding the root: real export (4,125 categories and detectoids) + generated updates with content"
    python3 tests/tools/wsusgen.py --seed 1 --updates 40 --include-export \
        --out "$demo/gen/demo.cab" --content-dir "$demo/gen/content"
    "$bin/wsusctl" -c "$demo/root/wsusd.conf" import "$demo/gen/demo.cab" --content "$demo/gen/content"
    touch "$demo/root/.seeded"
fi

ctl="$bin/wsusctl -c $demo/branch/wsusd.conf"
$ctl config set upstream http://127.0.0.1:$root_port
$ctl config set download all
echo "== the branch synchronizes from the root"
$ctl sync now --wait || true
$ctl sync status
echo
echo "demo hierarchy running: root http://127.0.0.1:$root_port (admin $root_admin), branch http://127.0.0.1:$branch_port (admin $branch_admin)"
echo "try: $ctl sync history    |   $bin/wsusctl -c $demo/root/wsusd.conf updates list --limit 10"
echo "logs: $demo/root/wsusd.log $demo/branch/wsusd.log"
echo "Ctrl-C stops both wsusd and both PostgreSQL clusters"
wait
