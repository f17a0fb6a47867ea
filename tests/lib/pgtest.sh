#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite: `pgtest.sh start DIR` creates a cluster in
# DIR/data listening only on the unix socket DIR/sock (trust auth, fsync off: it is thrown away),
# `pgtest.sh stop DIR` stops it and deletes DIR. PostgreSQL refuses to run as root, so as root
# the cluster belongs to the `postgres` user created by Debian's package.
# For the benchmarks: `pgtest.sh save DIR COPY` stops the cluster, copies its data directory to
# COPY and starts it again; `pgtest.sh start DIR COPY` starts a cluster from such a copy.
# PGTEST_OPTS adds server options (e.g. "-c shared_preload_libraries=pg_stat_statements").
set -euo pipefail
usage="usage: pgtest.sh start DIR [COPY] | stop DIR | save DIR COPY"
cmd=${1:?$usage}
dir=${2:?$usage}
from=${3:-}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "pgtest: PostgreSQL server binaries not found; run scripts/install-deps.sh" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

launch() {
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
        -o "-k $dir/sock -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB ${PGTEST_OPTS:-}" start >/dev/null ||
        { cat "$dir/data/server.log" >&2; exit 1; }
}

case $cmd in
start)
    stop
    mkdir -p "$dir/sock"
    if [ -n "$from" ]; then
        cp -a "$from" "$dir/data"
        rm -f "$dir/data/postmaster.pid"
    fi
    [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
    if [ -z "$from" ]; then
        as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    launch
    echo "pgtest: cluster up, socket in $dir/sock"
    ;;
save)
    [ -n "$from" ] || { echo "$usage" >&2; exit 2; }
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    rm -rf "$from"
    cp -a "$dir/data" "$from"
    launch
    echo "pgtest: data directory copied to $from"
    ;;
stop)
    stop
    echo "pgtest: cluster removed"
    ;;
*) echo "$usage" >&2; exit 2 ;;
esac
