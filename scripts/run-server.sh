#!/usr/bin/env bash
# Set up and run wsusd. With /etc/wsusd/wsusd.conf (or WSUSD_CONF) present: run that server in the
# foreground. Without: bring up a demo hierarchy on this machine, a root server seeded from the
# real wsusutil export in tests/data plus generated updates with content, and a downstream that
# synchronizes from it; show the downstream's status and keep both running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
bin=$src/build/bin

conf=${WSUSD_CONF:-/etc/wsusd/wsusd.conf}
if [ -f "$conf" ]; then
    "$bin/wsusd" -n -c "$conf"
    exec "$bin/wsusd" -d -c "$conf"
fi

demo=${WSUSD_DEMO_DIR:-/var/lib/wsusd-demo}
echo "no $conf: starting a demo hierarchy in $demo"
mkdir -p "$demo/root" "$demo/branch" "$demo/gen"
cat >"$demo/root/wsusd.conf" <<CONF
[server]
listen = 0.0.0.0:8530
[admin]
listen = 127.0.0.1:8532
[storage]
state_dir = $demo/root
CONF
cat >"$demo/branch/wsusd.conf" <<CONF
[server]
listen = 0.0.0.0:8540
[admin]
listen = 127.0.0.1:8542
[storage]
state_dir = $demo/branch
CONF

pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop_all EXIT INT TERM

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
wait_ready 8532
if [ ! -f "$demo/root/.seeded" ]; then
    echo "== seeding the root: real export (4,125 categories and detectoids) + generated updates with content"
    python3 tests/tools/wsusgen.py --seed 1 --updates 40 --include-export \
        --out "$demo/gen/demo.cab" --content-dir "$demo/gen/content"
    "$bin/wsusctl" -c "$demo/root/wsusd.conf" import "$demo/gen/demo.cab" --content "$demo/gen/content"
    touch "$demo/root/.seeded"
fi

"$bin/wsusd" -d -c "$demo/branch/wsusd.conf" >>"$demo/branch/wsusd.log" 2>&1 &
pids+=($!)
wait_ready 8542
ctl="$bin/wsusctl -c $demo/branch/wsusd.conf"
$ctl config set upstream http://127.0.0.1:8530
$ctl config set download all
echo "== the branch synchronizes from the root"
$ctl sync now --wait || true
$ctl sync status
echo
echo "demo hierarchy running: root http://127.0.0.1:8530 (admin 8532), branch http://127.0.0.1:8540 (admin 8542)"
echo "try: $ctl sync history    |   $bin/wsusctl -c $demo/root/wsusd.conf updates list --limit 10"
echo "logs: $demo/root/wsusd.log $demo/branch/wsusd.log; Ctrl-C stops both"
wait
