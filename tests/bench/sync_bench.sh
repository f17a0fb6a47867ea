#!/usr/bin/env bash
# sync_bench: initial metadata sync between two wsusd on loopback, then a no-change sync.
# Prints revisions/s of the initial sync, the time of the no-change sync, and the peak RSS
# (VmHWM) of both wsusd processes. Uses a throwaway PostgreSQL cluster (tests/lib/pgtest.sh)
# and GEN's generator (tests/tools/wsusgen.py, --no-content: metadata only).
#
# usage: tests/bench/sync_bench.sh [BUILD_DIR] [UPDATES]
#   BUILD_DIR  where bin/wsusd and bin/wsusctl are (default build)
#   UPDATES    generated bundles (each with 1-4 leaves; 28000 gives ~100,000 revisions)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
updates=${2:-28000}
work=$(mktemp -d /tmp/sync-bench.XXXXXX)
chmod 755 "$work"
pg="$work/pg"
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] && cp "$pg/data/server.log" "$work/pg-server.log" 2>/dev/null
    bash "$src/tests/lib/pgtest.sh" stop "$pg" >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"; [ -n "${KEEP:-}" ] && echo "kept $work"
}
trap cleanup EXIT

bash "$src/tests/lib/pgtest.sh" start "$pg" >/dev/null
export PGHOST="$pg/sock" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkserver() { # name -> writes $work/name/wsusd.conf
    local name=$1 dir="$work/$1"
    mkdir -p "$dir/state"
    psql -X -q -c "CREATE DATABASE bench_$name" >/dev/null
    cat >"$dir/wsusd.conf" <<EOF
[server]
listen = 127.0.0.1:$(free_port)
[admin]
listen = 127.0.0.1:$(free_port)
[database]
conninfo = dbname=bench_$name host=$PGHOST port=5432 user=postgres
[storage]
state_dir = $dir/state
content_dir = $dir/content
[log]
level = info
EOF
}

start() { # name -> pid in $pid
    "$build/bin/wsusd" -d -c "$work/$1/wsusd.conf" >"$work/$1/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    local port
    port=$(grep -m1 '^listen' "$work/$1/wsusd.conf" | sed 's/.*://')
    for _ in $(seq 100); do
        if "$build/bin/wsusctl" -c "$work/$1/wsusd.conf" sync status >/dev/null 2>&1; then return; fi
        sleep 0.1
    done
    echo "wsusd $1 did not start:" >&2
    cat "$work/$1/log" >&2
    exit 1
}

hwm() { awk '/VmHWM/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }
cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }

echo "generating $updates updates (metadata only)..."
python3 "$src/tests/tools/wsusgen.py" --seed 3 --updates "$updates" --include-export --no-content \
    --out "$work/gen.cab" >/dev/null
mkserver up
mkserver down
echo "importing into the upstream..."
"$build/bin/wsusctl" -c "$work/up/wsusd.conf" import "$work/gen.cab" >/dev/null
# an upstream that has been running has planner statistics (autovacuum); a fresh import not yet
psql -X -q -d bench_up -c "ANALYZE" >/dev/null
revs=$(psql -X -At -d bench_up -c "SELECT count(*) FROM revision")
if [ -n "${SLOWLOG:-}" ]; then
    psql -X -q -c "ALTER DATABASE bench_up SET log_min_duration_statement = $SLOWLOG" >/dev/null
    psql -X -q -c "ALTER DATABASE bench_down SET log_min_duration_statement = $SLOWLOG" >/dev/null
fi
start up
up_pid=$pid
start down
down_pid=$pid
upurl="http://$(grep -m1 '^listen' "$work/up/wsusd.conf" | sed 's/listen = //')"
ctl() { "$build/bin/wsusctl" -c "$work/down/wsusd.conf" "$@"; }
ctl config set upstream "$upurl" >/dev/null
ctl config set download none >/dev/null

echo "initial sync of $revs revisions..."
ctl sync now --wait >/dev/null
first=$(ctl sync history --limit 1 --json)
echo "cpu seconds after the initial sync: upstream $(cpu $up_pid), downstream $(cpu $down_pid)"
ctl sync now --wait >/dev/null
second=$(ctl sync history --limit 1 --json)
got=$(psql -X -At -d bench_down -c "SELECT count(*) FROM revision")

python3 - "$first" "$second" "$revs" "$got" "$(hwm $up_pid)" "$(hwm $down_pid)" <<'EOF'
import json, sys
first, second = json.loads(sys.argv[1])[0], json.loads(sys.argv[2])[0]
revs, got = int(sys.argv[3]), int(sys.argv[4])
fetched = first["detail"]["revisions_fetched"]
print("upstream revisions:          %d (downstream holds after the sync: %d)" % (revs, got))
print("initial sync:                %s in %.2f s = %.0f revisions/s" %
      (first["result"], first["seconds"], fetched / first["seconds"]))
print("no-change sync:              %s in %.3f s, GetUpdateData calls: %d" %
      (second["result"], second["seconds"], second["detail"]["calls"]["GetUpdateData"]))
print("peak RSS upstream wsusd:     %s" % sys.argv[5])
print("peak RSS downstream wsusd:   %s" % sys.argv[6])
EOF
