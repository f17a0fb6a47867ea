#!/usr/bin/env bash
# content_sync_bench: a downstream wsusd fetching content from an upstream wsusd on loopback,
# against curl fetching the same files from the same upstream in the same run. Three classes
# of generated files (tests/tools/wsusgen.py), each measured on its own:
#   large   LARGE_UPDATES updates of LARGE_SIZE files (1-4 files per update)
#   mid     MID_UPDATES updates of 1M-10M files
#   small   SMALL_UPDATES updates of 32K files (about 2.9 files per update: 3500 ~ 10k files)
# For each class: the upstream imports the class's package; the downstream syncs metadata only
# (download none), then content only (download all: the timed run, `sync now --wait`); then
# curl fetches the class's URLs from the upstream with CURL_PARALLEL transfers at a time
# (`curl -Z --parallel-max`, keep-alive: one curl process, its connections reused) into a
# directory on the same file system. Prints `key: value` lines, per class:
#   <class>_files, <class>_mb, <class>_wsusd_s, <class>_wsusd_mb_per_s,
#   <class>_wsusd_files_per_s, <class>_curl_s, <class>_curl_mb_per_s, <class>_curl_files_per_s,
#   <class>_curl_fsync_s (curl, then every file it wrote fsync'd: the durability the
#   downstream pays for before it records a file), <class>_ratio (curl time / wsusd time:
#   >= 1 means wsusd was as fast), <class>_ratio_fsync (curl + fsync time / wsusd time),
#   <class>_down_cpu_s, <class>_up_cpu_s (CPU seconds of each wsusd during the wsusd run).
# The wsusd time is the content-only synchronization's own (sync_history started_at to
# finished_at), the curl time the curl process's wall time.
# usage: tests/bench/content_sync_bench.sh [BUILD_DIR]   (default build; bin/wsusd, bin/wsusctl)
# Environment: LARGE_UPDATES (default 1), LARGE_SIZE (default 100M), MID_UPDATES (default 10),
#   SMALL_UPDATES (default 700, ~2,000 files), CURL_PARALLEL (default 4: the downloader's
#   parallel transfers), CLASSES (default "large mid small"), KEEP=1 keeps the temp dir.
# Everything lives in a temp dir (throwaway PostgreSQL cluster included) removed at exit.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
large_updates=${LARGE_UPDATES:-1}
large_size=${LARGE_SIZE:-100M}
mid_updates=${MID_UPDATES:-10}
small_updates=${SMALL_UPDATES:-700}
curl_parallel=${CURL_PARALLEL:-4}
classes=${CLASSES:-large mid small}
for tool in curl psql cabextract gcab; do
    command -v "$tool" >/dev/null ||
        { echo "content_sync_bench: $tool not found" >&2; exit 1; }
done
work=$(mktemp -d /tmp/content-sync-bench.XXXXXX)
chmod 755 "$work"
pg="$work/pg"
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash "$src/tests/lib/pgtest.sh" stop "$pg" >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
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
level = warn
EOF
}

start() { # name -> pid in $pid
    "$build/bin/wsusd" -d -c "$work/$1/wsusd.conf" >"$work/$1/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        if "$build/bin/wsusctl" -c "$work/$1/wsusd.conf" sync status >/dev/null 2>&1; then return; fi
        sleep 0.1
    done
    echo "content_sync_bench: wsusd $1 did not start:" >&2
    cat "$work/$1/log" >&2
    exit 1
}

cpu() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
now() { date +%s.%N; }

mkserver up
mkserver down
start up
up_pid=$pid
start down
down_pid=$pid
upurl="http://$(grep -m1 '^listen' "$work/up/wsusd.conf" | sed 's/listen = //')"
up() { "$build/bin/wsusctl" -c "$work/up/wsusd.conf" "$@"; }
down() { "$build/bin/wsusctl" -c "$work/down/wsusd.conf" "$@"; }
down config set upstream "$upurl" >/dev/null

seed=10
export_opt=--include-export # the first package carries the real categories
for class in $classes; do
    case $class in
    large) n=$large_updates size="$large_size-$large_size" ;;
    mid) n=$mid_updates size=1M-10M ;;
    small) n=$small_updates size=32K-32K ;;
    *) echo "content_sync_bench: unknown class $class (large, mid, small)" >&2; exit 1 ;;
    esac
    seed=$((seed + 1))
    gen="$work/gen-$class"
    python3 "$src/tests/tools/wsusgen.py" --seed "$seed" --updates "$n" --file-size "$size" \
        $export_opt --out "$gen.cab" --content-dir "$gen" >/dev/null
    export_opt=
    up import "$gen.cab" --content "$gen" >/dev/null
    # the class's URLs, as the downstream asks for them (folder = last digest byte)
    find "$gen" -type f -printf '%P\n' | sort >"$work/$class.paths"
    files=$(wc -l <"$work/$class.paths")
    bytes=$(find "$gen" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    rm -rf "$gen" # the upstream has its own copy

    # metadata first, untimed: the timed run below moves content only
    down config set download none >/dev/null
    down sync now --wait >/dev/null
    down config set download all >/dev/null
    c0d=$(cpu "$down_pid") c0u=$(cpu "$up_pid")
    down sync now --wait >/dev/null
    c1d=$(cpu "$down_pid") c1u=$(cpu "$up_pid")
    # the sync's own start and end (wsusctl --wait polls every 0.5 s); it includes a no-change
    # metadata pass of some 25 ms
    t0=0 t1=$(psql -X -At -d bench_down -c "SELECT extract(epoch FROM finished_at - started_at)
        FROM sync_history ORDER BY id DESC LIMIT 1")
    got=$(psql -X -At -d bench_down -c "SELECT count(*) FROM file WHERE state = 'present'")

    out="$work/curl-$class"
    mkdir -p "$out"
    awk -v u="$upurl" -v o="$out" '{f = $0; gsub("/", "_", f);
        printf "url = \"%s/Content/%s\"\noutput = \"%s/%s\"\n", u, $0, o, f}' \
        "$work/$class.paths" >"$work/$class.curl"
    sync
    t2=$(now)
    curl -s -f --no-progress-meter -Z --parallel-max "$curl_parallel" -K "$work/$class.curl"
    t3=$(now)
    # what the downstream also pays and curl does not: every file's bytes on disk (fsync)
    find "$out" -type f -print0 | xargs -0 -r sync --
    t4=$(now)
    cgot=$(find "$out" -type f | wc -l)
    rm -rf "$out"
    [ "$cgot" -eq "$files" ] ||
        { echo "content_sync_bench: curl fetched $cgot of $files $class files" >&2; exit 1; }

    awk -v c="$class" -v f="$files" -v b="$bytes" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
        -v t3="$t3" -v t4="$t4" -v d="$(awk -v a="$c0d" -v b="$c1d" 'BEGIN {print b - a}')" \
        -v u="$(awk -v a="$c0u" -v b="$c1u" 'BEGIN {print b - a}')" 'BEGIN {
        w = t1 - t0; k = t3 - t2; mb = b / 1048576
        printf "%s_files: %d\n%s_mb: %.1f\n", c, f, c, mb
        printf "%s_wsusd_s: %.2f\n%s_wsusd_mb_per_s: %.1f\n%s_wsusd_files_per_s: %.1f\n",
            c, w, c, mb / w, c, f / w
        printf "%s_curl_s: %.2f\n%s_curl_mb_per_s: %.1f\n%s_curl_files_per_s: %.1f\n",
            c, k, c, mb / k, c, f / k
        printf "%s_curl_fsync_s: %.2f\n", c, t4 - t2
        printf "%s_ratio: %.2f\n%s_ratio_fsync: %.2f\n", c, k / w, c, (t4 - t2) / w
        printf "%s_down_cpu_s: %.2f\n%s_up_cpu_s: %.2f\n", c, d, c, u
    }'
    echo "# $class: downstream holds $got present files" >&2
done
