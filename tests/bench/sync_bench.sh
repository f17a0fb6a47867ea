#!/usr/bin/env bash
# sync_bench: initial metadata sync between two wsusd on loopback, then a no-change sync.
# Prints revisions/s of the initial sync, the time of the no-change sync, and the peak RSS
# (VmHWM) of both wsusd processes. Uses a throwaway PostgreSQL cluster (tests/lib/pgtest.sh)
# and GEN's generator (tests/tools/wsusgen.py, --no-content: metadata only).
#
# usage: tests/bench/sync_bench.sh [BUILD_DIR] [UPDATES]
#   BUILD_DIR  where bin/wsusd and bin/wsusctl are (default build)
#   UPDATES    generated bundles (each with 1-4 leaves; 28000 gives ~100,000 revisions)
# Environment (all optional; tests/bench/run sets them, see docs/performance.md):
#   BENCH_CACHE=DIR  keep the imported upstream cluster in DIR, keyed by UPDATES and the
#                    generator, so the next run with the same size skips generate + import (an
#                    entry imported with older migrations is migrated by the upstream wsusd)
#   RESULT=FILE      also write the figures as `key: value` lines to FILE
#   PERF=1           perf record both wsusd during the initial sync, and the whole machine
#                    (perf-all.data; pg-pids lists the PostgreSQL processes to select with
#                    `perf report -i perf-all.data --pid $(paste -sd, pg-pids)`); KEEP=1 keeps them
#   SLOWLOG=MS       log statements slower than MS ms in the PostgreSQL log (kept with KEEP=1)
#   STATEMENTS=1     pg_stat_statements on: print the statements of the initial sync that took
#                    the most time in each database (where PostgreSQL's time goes)
#   STMTCPU=1        log_statement_stats on: print the CPU (getrusage of the backend, not wall
#                    time) of the initial sync's statements per database and per statement
#                    (tests/bench/stmt_cpu.py; the logging itself costs some CPU: compare runs
#                    made with it to each other only)
#   KEEP=1           keep the work directory (logs, perf data)
#   PREPARE=1        only generate, import and cache the upstream (with BENCH_CACHE), no sync
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
    if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that an interrupted run still stops its cluster and removes its copy

gen_key() { # what the cached upstream's content depends on
    { echo "$updates"; cat "$src/tests/tools/wsusgen.py"; } | sha1sum | cut -c1-16
}
schema_list() { (cd "$src/schema" && sha1sum -- *.sql); }
# A cached upstream stays usable when the schema only grew: the upstream wsusd applies the newer
# migrations when it starts (as after an upgrade). It is made anew when a migration it was
# imported with has changed since.
cache_usable() { [ -f "$1/schema.list" ] && ! grep -qvxF -f <(schema_list) "$1/schema.list"; }
cached=""
if [ -n "${BENCH_CACHE:-}" ]; then
    mkdir -p "$BENCH_CACHE"
    cached="$BENCH_CACHE/up-$updates-$(gen_key)"
    if [ -d "$cached" ] && ! cache_usable "$cached"; then
        echo "the cached upstream $cached was imported with other migrations: importing again"
        rm -rf "$cached"
    fi
fi
[ -n "${STATEMENTS:-}" ] &&
    export PGTEST_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
[ -n "${STMTCPU:-}" ] &&
    export PGTEST_OPTS="${PGTEST_OPTS:-} -c log_statement_stats=on -c log_min_error_statement=log -c log_line_prefix=%d@"
if [ -n "$cached" ] && [ -d "$cached" ]; then
    echo "upstream from the cache $cached"
    bash "$src/tests/lib/pgtest.sh" start "$pg" "$cached" >/dev/null
else
    bash "$src/tests/lib/pgtest.sh" start "$pg" >/dev/null
fi
export PGHOST="$pg/sock" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
postmaster=$(head -1 "$pg/data/postmaster.pid")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkserver() { # name [existing] -> writes $work/name/wsusd.conf
    local name=$1 dir="$work/$1"
    mkdir -p "$dir/state"
    [ -n "${2:-}" ] || psql -X -q -c "CREATE DATABASE bench_$name" >/dev/null
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
tck=$(getconf CLK_TCK)
pgcpu() { # CPU seconds of the whole cluster so far: live processes + the reaped ones
    local t=0 p
    t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat")
    for p in $(pgrep -P "$postmaster"); do
        t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    awk -v t="$t" -v k="$tck" 'BEGIN {printf "%.2f", t / k}'
}
pg_rss_watch() { # peak RSS (VmHWM, shared buffers touched included) of any backend, until killed
    local max=0 p v
    while :; do
        for p in $(pgrep -P "$postmaster"); do
            v=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
            [ "${v:-0}" -gt "$max" ] && max=$v && echo "$max" >"$work/pg-hwm"
            [ -n "${PERF:-}" ] && echo "$p" >>"$work/pg-pids.all"
            # pid, database (from the process title), CPU ticks so far
            awk -v p="$p" -v t="$( (tr '\0' ' ' <"/proc/$p/cmdline") 2>/dev/null | awk '{print $3}')" \
                '{print p, t, $14 + $15}' "/proc/$p/stat" 2>/dev/null >>"$work/pg-ticks" || true
        done
        sleep 0.2
    done
}

if [ -n "$cached" ] && [ -d "$cached" ]; then
    mkserver up existing
else
    mkserver up
    # One cabinet folder holds at most 2 GiB (65,535 blocks of 32 KiB) and metadata.txt must fit
    # in one, so a large upstream is generated and imported in parts of at most PART updates
    # (~180,000 revisions, ~0.7 GB), each with its own seed (3, 4, ...: distinct update ids).
    part=50000 seed=3 left=$updates
    while [ "$left" -gt 0 ]; do
        n=$((left < part ? left : part))
        echo "generating $n updates (metadata only, seed $seed)..."
        python3 "$src/tests/tools/wsusgen.py" --seed "$seed" --updates "$n" --include-export \
            --no-content --out "$work/gen.cab" >/dev/null
        echo "importing into the upstream..."
        "$build/bin/wsusctl" -c "$work/up/wsusd.conf" import "$work/gen.cab" >/dev/null
        rm -f "$work/gen.cab"
        left=$((left - n)) seed=$((seed + 1))
    done
    # an upstream that has been running has planner statistics (autovacuum); a fresh import not yet
    psql -X -q -d bench_up -c "VACUUM ANALYZE" >/dev/null
    if [ -n "$cached" ]; then
        echo "caching the upstream in $cached"
        bash "$src/tests/lib/pgtest.sh" save "$pg" "$cached.tmp" >/dev/null
        schema_list >"$cached.tmp/schema.list"
        mv "$cached.tmp" "$cached"
        postmaster=$(head -1 "$pg/data/postmaster.pid")
    fi
fi
if [ -n "${PREPARE:-}" ]; then
    echo "upstream of $updates updates ready${cached:+ in $cached}"
    exit 0
fi
mkserver down
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

if [ -n "${STATEMENTS:-}" ]; then
    for db in bench_up bench_down; do
        psql -X -q -d $db -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    done
    psql -X -q -d bench_down -c "SELECT pg_stat_statements_reset()" >/dev/null
fi
echo "initial sync of $revs revisions..."
log0=$(stat -c %s "$pg/data/server.log")
cpu0_up=$(cpu $up_pid) cpu0_down=$(cpu $down_pid) cpu0_pg=$(pgcpu)
for p in $(pgrep -P "$postmaster"); do # CPU the live backends had before
    awk -v p="$p" '{print p, "-", -($14 + $15)}' "/proc/$p/stat" 2>/dev/null >>"$work/pg-ticks" || true
done
pg_rss_watch &
watch_pid=$!
pids+=("$watch_pid")
perf_pids=()
if [ -n "${PERF:-}" ]; then
    for who in up down; do
        p=$up_pid; [ $who = down ] && p=$down_pid
        perf record -q -g -F 499 -p "$p" -o "$work/perf-$who.data" >/dev/null 2>&1 &
        perf_pids+=($!)
    done
    perf record -q -a -g -F 199 -o "$work/perf-all.data" >/dev/null 2>&1 &
    perf_pids+=($!)
fi
ctl sync now --wait >/dev/null
for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
first=$(ctl sync history --limit 1 --json)
kill "$watch_pid" 2>/dev/null || true
[ -f "$work/pg-pids.all" ] && sort -un "$work/pg-pids.all" >"$work/pg-pids"
cpu_up=$(awk -v a="$(cpu $up_pid)" -v b="$cpu0_up" 'BEGIN {printf "%.2f", a - b}')
cpu_down=$(awk -v a="$(cpu $down_pid)" -v b="$cpu0_down" 'BEGIN {printf "%.2f", a - b}')
cpu_pg=$(awk -v a="$(pgcpu)" -v b="$cpu0_pg" 'BEGIN {printf "%.2f", a - b}')
echo "cpu seconds of the initial sync: upstream $cpu_up, downstream $cpu_down, postgres $cpu_pg"
# per database: the last sample of each backend minus what it had before (sampled every 0.2 s)
pg_by_db=$(awk -v k="$tck" '$3 < 0 {base[$1] = -$3; next}
    {last[$1] = $3; if ($2 != "") db[$1] = $2}
    END {for (p in last) sum[db[p] ~ /^bench_/ ? db[p] : "other"] += last[p] - base[p];
         for (d in sum) printf "%s %.2f s, ", d, sum[d] / k}' "$work/pg-ticks" 2>/dev/null | sed 's/, $//')
echo "postgres cpu by database:    $pg_by_db"
if [ -n "${STMTCPU:-}" ]; then
    tail -c +$((log0 + 1)) "$pg/data/server.log" >"$work/initial-sync.log"
    python3 "$src/tests/bench/stmt_cpu.py" "$work/initial-sync.log"
fi
top_statements() {
    psql -X -q -d bench_down -c "SELECT d.datname AS db, s.calls, round(s.total_exec_time::numeric / 1000, 2) AS total_s,
        round((s.total_exec_time / greatest(s.calls, 1))::numeric, 3) AS mean_ms, s.rows,
        left(regexp_replace(s.query, '\s+', ' ', 'g'), 110) AS query
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname IN ('bench_up', 'bench_down') ORDER BY s.total_exec_time DESC LIMIT $1"
}
if [ -n "${STATEMENTS:-}" ]; then
    top_statements 25
    psql -X -q -d bench_down -c "SELECT d.datname AS db, sum(s.jit_functions) AS jit_functions,
        round(sum(s.jit_generation_time + s.jit_inlining_time + s.jit_optimization_time +
        s.jit_emission_time)::numeric / 1000, 2) AS jit_s,
        left(string_agg(DISTINCT left(regexp_replace(s.query, '\s+', ' ', 'g'), 40), ' | '), 200) AS jit_queries
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname IN ('bench_up', 'bench_down') AND s.jit_functions > 0 GROUP BY 1"
    psql -X -q -d bench_down -c "SELECT pg_stat_statements_reset()" >/dev/null
fi
nc0_up=$(cpu $up_pid) nc0_down=$(cpu $down_pid) nc0_pg=$(pgcpu)
ctl sync now --wait >/dev/null
second=$(ctl sync history --limit 1 --json)
# CPU of the no-change sync (ms): what to compare on a loaded machine, where its wall time is waits
nc_cpu=$(awk -v a="$(cpu $up_pid)" -v b="$nc0_up" -v c="$(cpu $down_pid)" -v d="$nc0_down" \
    -v e="$(pgcpu)" -v f="$nc0_pg" 'BEGIN {printf "upstream %.0f ms, downstream %.0f ms, postgres %.0f ms",
    1000 * (a - b), 1000 * (c - d), 1000 * (e - f)}')
if [ -n "${STATEMENTS:-}" ]; then
    echo "statements of the no-change sync:"
    top_statements 10
fi
got=$(psql -X -At -d bench_down -c "SELECT count(*) FROM revision")
revlist=$(python3 "$src/tests/bench/revlist_latency.py" "$upurl" 2>&1) || revlist="failed: $revlist"
pg_hwm=$(cat "$work/pg-hwm" 2>/dev/null || echo 0)
# the downstream's catalog writer (client/ingest.c): time it spent storing during the first sync
writer=$(grep -m1 -o 'catalog writer stored [0-9]* revisions, busy [0-9.]* s' "$work/down/log" |
    awk '{print $7}')

python3 - "$first" "$second" "$revs" "$got" "$(hwm $up_pid)" "$(hwm $down_pid)" "$cpu_up" \
    "$cpu_down" "$cpu_pg" "$pg_hwm" "$revlist" "${RESULT:-}" "$pg_by_db" "${writer:-0}" "$nc_cpu" <<'EOF'
import json, os, sys
ncpu = os.cpu_count() or 1
first, second = json.loads(sys.argv[1])[0], json.loads(sys.argv[2])[0]
revs, got = int(sys.argv[3]), int(sys.argv[4])
cpu_up, cpu_down, cpu_pg = (float(x) for x in sys.argv[7:10])
pg_hwm, revlist, result = int(sys.argv[10]) / 1024.0, sys.argv[11], sys.argv[12]
fetched = first["detail"]["revisions_fetched"]
wall = first["seconds"]
print("upstream revisions:          %d (downstream holds after the sync: %d)" % (revs, got))
print("initial sync:                %s in %.2f s = %.0f revisions/s" %
      (first["result"], wall, fetched / wall))
print("no-change sync:              %s in %.3f s, GetUpdateData calls: %d" %
      (second["result"], second["seconds"], second["detail"]["calls"]["GetUpdateData"]))
print("no-change sync cpu:          %s (CPU time: 1/100 s steps)" % sys.argv[15])
print("peak RSS upstream wsusd:     %s" % sys.argv[5])
print("peak RSS downstream wsusd:   %s" % sys.argv[6])
print("cpu of the initial sync:     upstream %.2f s, downstream %.2f s, postgres %.2f s "
      "(%.0f us/revision in all; busy %.0f%% of %d cores)" %
      (cpu_up, cpu_down, cpu_pg, 1e6 * (cpu_up + cpu_down + cpu_pg) / max(fetched, 1),
       100 * (cpu_up + cpu_down + cpu_pg) / (ncpu * wall), ncpu))
writer = float(sys.argv[14])
print("catalog writer busy:         %.2f s of the %.2f s (%.0f%%): storing, one batch after the "
      "other (decoding, parsing and deriving run on the ingest's parser thread)" %
      (writer, wall, 100 * writer / wall))
print("peak RSS postgres backend:   %.1f MB (shared buffers it touched included)" % pg_hwm)
print("GetRevisionIdList (full):    %s" % revlist)
if result:
    with open(result, "w") as f:
        kv = {"revisions": revs, "stored": got, "result": first["result"],
              "wall_s": "%.2f" % wall, "rev_per_s": "%.0f" % (fetched / wall),
              "nochange_s": "%.3f" % second["seconds"], "nochange_result": second["result"],
              "nochange_cpu": sys.argv[15],
              "rss_up_mb": sys.argv[5].split()[0], "rss_down_mb": sys.argv[6].split()[0],
              "rss_pg_mb": "%.1f" % pg_hwm, "cpu_up_s": cpu_up, "cpu_down_s": cpu_down,
              "cpu_pg_s": cpu_pg, "cpu_pg_by_db": sys.argv[13], "revlist": revlist,
              "writer_busy_pct": "%.0f" % (100 * writer / wall),
              "busy_pct": "%.0f" % (100 * (cpu_up + cpu_down + cpu_pg) / (ncpu * wall))}
        for k, v in kv.items():
            f.write("%s: %s\n" % (k, v))
EOF
