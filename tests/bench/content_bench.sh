#!/usr/bin/env bash
# Content serving benchmark: the same files served by wsusd (/Content/ endpoint, catalog lookup,
# sendfile) and by nginx (Debian nginx-light, sendfile on, started here on 127.0.0.1 with its own
# config in a temp dir), measured with wrk, printed side by side:
#   whole   GET of whole 100 MB files
#   range   1 MiB Range requests at random offsets of those files (what BITS/DO do)
#   small   GET of small (32 KiB) files
# Usage: tests/bench/content_bench.sh [BIN_DIR]   (default build/bin)
# Environment: DURATION (seconds per run, default 10), CONNS (wrk connections, default 16),
#   WRK_THREADS (default 2), WSUSD_THREADS (default 8, the [server] threads default),
#   SMALL_FILES (default 200), ROUNDS (default 2: wsusd and nginx alternate, best round kept,
#   which damps noise from other load on the machine), THREADING (wsusd's [server] threading:
#   pool, the default, or per-connection, to compare the two models), CASES (which of whole,
#   range, small to run, default all three; without whole and range no 100 MB files are made).
# Besides req/s it prints each server's CPU (user+sys from /proc, ms) per 1,000 requests in the
# best round, which load from other processes on the machine distorts much less than req/s.
# Everything lives in a temp dir (throwaway PostgreSQL cluster included) removed at exit.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${1:-$src/build/bin}" && pwd)
duration=${DURATION:-10}
conns=${CONNS:-16}
wrk_threads=${WRK_THREADS:-2}
wsusd_threads=${WSUSD_THREADS:-8}
rounds=${ROUNDS:-2}
small_files=${SMALL_FILES:-200}
threading=${THREADING:-pool}
cases=${CASES:-whole range small}
for tool in wrk nginx psql sha1sum; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
        { echo "content_bench: $tool not found (apt-get install wrk nginx-light postgresql-client)" >&2; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d /tmp/wsusd-content-bench-XXXXXX)
chmod 755 "$tmp"
wsusd_pid=""
cleanup() {
    [ -n "$wsusd_pid" ] && kill "$wsusd_pid" 2>/dev/null && wait "$wsusd_pid" 2>/dev/null || true
    [ -f "$tmp/nginx/nginx.pid" ] && kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null || true
    bash "$src/tests/lib/pgtest.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== preparing files in $tmp"
mkdir -p "$tmp/gen" "$tmp/content/WsusContent"
rows="$tmp/rows.csv"
: >"$rows"
place() { # file ext -> prints the URL path
    local f=$1 ext=$2 sha size dir
    sha=$(sha1sum "$f" | cut -c1-40 | tr a-f A-F)
    size=$(stat -c %s "$f")
    dir="$tmp/content/WsusContent/${sha:38:2}"
    mkdir -p "$dir"
    mv "$f" "$dir/$sha.$ext"
    echo "\\x$sha,$size,f.$ext,present" >>"$rows"
    echo "/Content/${sha:38:2}/$sha.$ext"
}
big=()
case " $cases " in *" whole "* | *" range "*) nbig=2 ;; *) nbig=0 ;; esac
for i in $(seq 1 "$nbig"); do
    head -c $((100 * 1024 * 1024)) /dev/urandom >"$tmp/gen/big$i"
    big+=("$(place "$tmp/gen/big$i" cab)")
done
small=()
for i in $(seq 1 "$small_files"); do
    head -c 32768 /dev/urandom >"$tmp/gen/s$i"
    small+=("$(place "$tmp/gen/s$i" exe)")
done
chmod -R a+rX "$tmp/content"

echo "== starting PostgreSQL, wsusd and nginx"
bash "$src/tests/lib/pgtest.sh" start "$tmp/pg" >/dev/null
conninfo="host=$tmp/pg/sock user=postgres dbname=postgres"
wport=$(free_port)
aport=$(free_port)
nport=$(free_port)
cat >"$tmp/wsusd.conf" <<EOF
[server]
listen = 127.0.0.1:$wport
threads = $wsusd_threads
threading = $threading
[admin]
listen = 127.0.0.1:$aport
[database]
conninfo = $conninfo
[storage]
state_dir = $tmp/state
content_dir = $tmp/content
[log]
level = warn
EOF
"$bin/wsusd" -d -c "$tmp/wsusd.conf" >"$tmp/wsusd.log" 2>&1 &
wsusd_pid=$!
for _ in $(seq 1 200); do
    kill -0 "$wsusd_pid" 2>/dev/null || { cat "$tmp/wsusd.log" >&2; exit 1; }
    psql -X -q -d "$conninfo" -c "SELECT 1 FROM file LIMIT 1" >/dev/null 2>&1 &&
        curl -s -o /dev/null "http://127.0.0.1:$wport/" && break
    sleep 0.1
done
psql -X -q -d "$conninfo" -c "\\copy file (sha1, size, file_name, state) FROM '$rows' WITH (FORMAT csv)"

mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$nport;
        location /Content/ { alias $tmp/content/WsusContent/; }
    }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf"

# wrk scripts: whole files round robin, random 1 MiB ranges, random small files
lua_list() { local IFS=,; printf '{"%s"}' "$(echo "$*" | sed 's/,/","/g')"; }
cat >"$tmp/whole.lua" <<EOF
local paths = $(lua_list "${big[@]+"${big[@]}"}")
local i = 0
request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1]) end
EOF
cat >"$tmp/range.lua" <<EOF
local paths = $(lua_list "${big[@]+"${big[@]}"}")
local size, piece = 100 * 1024 * 1024, 1024 * 1024
math.randomseed(os.time())
request = function()
  local off = math.random(0, size - piece)
  return wrk.format("GET", paths[math.random(#paths)], {["Range"] = "bytes=" .. off .. "-" .. (off + piece - 1)})
end
EOF
cat >"$tmp/small.lua" <<EOF
local paths = $(lua_list "${small[@]}")
math.randomseed(os.time())
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
EOF

# sanity: both servers answer a range with the same bytes
probe=${big[0]:-${small[0]}}
a=$(curl -sf -r 1000-1999 "http://127.0.0.1:$wport$probe" | sha1sum)
b=$(curl -sf -r 1000-1999 "http://127.0.0.1:$nport$probe" | sha1sum)
[ "$a" = "$b" ] || { echo "content_bench: wsusd and nginx disagree on a range" >&2; exit 1; }

cpu_ticks() { # pids... -> utime+stime of them all, in clock ticks
    local p t=0
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo "$t"
}
server_pids() { # port -> the pids serving it
    if [ "$1" = "$wport" ]; then echo "$wsusd_pid"; else
        local m; m=$(cat "$tmp/nginx/nginx.pid"); echo "$m" $(ps -o pid= --ppid "$m"); fi
}
hz=$(getconf CLK_TCK)
run() { # port script -> "req/s MB/s cpu-ms-per-1000-requests"
    local out pids c0 c1
    pids=$(server_pids "$1")
    # shellcheck disable=SC2086
    c0=$(cpu_ticks $pids)
    out=$(wrk -t"$wrk_threads" -c"$conns" -d"${duration}s" -s "$tmp/$2.lua" "http://127.0.0.1:$1")
    if echo "$out" | grep -q "Non-2xx"; then
        echo "content_bench: non-2xx answers in $2 run:" >&2
        echo "$out" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    c1=$(cpu_ticks $pids)
    echo "$out" | awk -v cpu=$((c1 - c0)) -v hz="$hz" -v d="$duration" '/Requests\/sec/ {r=$2}
        /Transfer\/sec/ {v=$2; u=substr(v, length(v)-1); n=v+0;
            if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; t=n}
        END {printf "%.1f %.1f %.3f\n", r, t, (r > 0 ? cpu * 1000 / hz / (r * d) * 1000 : 0)}'
}

echo "== wrk: ${duration}s per run, best of $rounds rounds, $conns connections, $wrk_threads wrk threads, wsusd threads $wsusd_threads, threading $threading, $(nproc) CPUs"
printf "%-7s | %12s %10s %9s | %12s %10s %9s | %8s %9s\n" case "wsusd req/s" "MB/s" "cpu ms/k" "nginx req/s" "MB/s" "cpu ms/k" "ratio" "cpu ratio"
best() { # best "req/s MB/s" of two lines
    printf '%s\n%s\n' "$1" "$2" | sort -g -r | head -n 1
}
for case in $cases; do
    w="0 0 0" n="0 0 0"
    for _ in $(seq 1 "$rounds"); do
        w=$(best "$w" "$(run "$wport" "$case")")
        n=$(best "$n" "$(run "$nport" "$case")")
    done
    read -r wr wm wc <<<"$w"
    read -r nr nm nc <<<"$n"
    ratio=$(awk -v a="$wr" -v b="$nr" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    cratio=$(awk -v a="$wc" -v b="$nc" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    printf "%-7s | %12s %10s %9s | %12s %10s %9s | %8s %9s\n" "$case" "$wr" "$wm" "$wc" "$nr" "$nm" "$nc" "$ratio" "$cratio"
done
