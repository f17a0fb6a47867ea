#!/usr/bin/env bash
# The reporting rollup's server summary (rollup_send_summary) and `wsusctl report`
# (client_report), which evaluate the same compliance rule, timed as PostgreSQL backend CPU on
# the ~100,000-revision generated catalog of the sync benchmark, with COMPUTERS computers
# (default 2000), APPROVED updates approved for All Computers (default 500), each computer's
# status (156) listing STATUS of them (default 100: needed, installed, failed or downloaded)
# and an install event of 5. A copy of the cached upstream cluster in a temp dir (the cache
# entry is never written), removed at exit.
#
# Usage: tests/bench/rollup_summary_bench.sh [BUILD_DIR] [ROUNDS]   (default build/test 3)
# Needs BUILD_DIR/tests/rollup_summary_bench and a cache entry up-28000-* of
# tests/bench/sync_bench.sh (PREPARE=1 tests/bench/sync_bench.sh builds one) in BENCH_CACHE
# (default /var/tmp/wsusd-bench-cache).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build/test}" && pwd)
rounds=${2:-3}
cache=${BENCH_CACHE:-/var/tmp/wsusd-bench-cache}
entry=$(ls -d "$cache"/up-28000-* 2>/dev/null | head -1 || true)
[ -n "$entry" ] || { echo "rollup_summary_bench: no $cache/up-28000-* (run PREPARE=1 tests/bench/sync_bench.sh)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/rollup-summary-bench.XXXXXX)
chmod 755 "$tmp"
trap 'bash "$src/tests/lib/pgtest.sh" stop "$tmp/pg" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
bash "$src/tests/lib/pgtest.sh" start "$tmp/pg" "$entry" >/dev/null
conn="host=$tmp/pg/sock user=postgres dbname=bench_up"
psql -X -q -v ON_ERROR_STOP=1 "$conn" \
    -v computers="${COMPUTERS:-2000}" -v approved="${APPROVED:-500}" -v status="${STATUS:-100}" <<'SQL'
DELETE FROM client_event; DELETE FROM computer; DELETE FROM deployment;
INSERT INTO deployment (deployment_guid, update_id, revision_number, target_group_id, action)
SELECT gen_random_uuid(), update_id, max(revision_number), 'a0a08746-4dbe-4a37-9adf-9e7652c0b421', 0
FROM revision WHERE update_type = 'Software' GROUP BY update_id ORDER BY update_id LIMIT :approved;
INSERT INTO computer (id, name, address, last_sync)
SELECT gen_random_uuid(), 'pc' || i, '10.0.0.1', now() FROM generate_series(1, :computers) i;
INSERT INTO computer_status (computer_id, instance_id) SELECT id, gen_random_uuid() FROM computer;
INSERT INTO computer_update_status (computer_id, update_id, state)
SELECT c.id, d.update_id, (ARRAY['needed', 'installed', 'failed', 'downloaded'])[1 + abs(hashtext(c.id::text || d.update_id::text)) % 4]
FROM computer c CROSS JOIN (SELECT update_id FROM deployment ORDER BY update_id LIMIT :status) d;
INSERT INTO client_event (computer_id, instance_id, event_id, update_id)
SELECT c.id, gen_random_uuid(), 183, d.update_id
FROM computer c CROSS JOIN (SELECT update_id FROM deployment ORDER BY update_id LIMIT 5) d;
ANALYZE;
SQL
echo "catalog: $(psql -X -At "$conn" -c "SELECT count(*) FROM revision") revisions, ${COMPUTERS:-2000} computers, ${APPROVED:-500} approved updates"
"$build/tests/rollup_summary_bench" "$conn" "$rounds"
