#!/usr/bin/env bash
# SQL belongs to the owner modules in common/db/ (one module per table family;
# docs/architecture.md, "Who owns which table"). server/, client/, ctl/ and the rest of common/
# call their functions and hold no SQL text: this check fails on any line of SQL in them (a
# string with a statement, a transaction command or an advisory lock), naming the file and line.
# Usage: scripts/check-sql.sh              check server/, client/, ctl/ and common/ but common/db/
#        scripts/check-sql.sh FILE...      check these files
#        scripts/check-sql.sh --self-test  show that the check fails on SQL and passes without
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='"[^"]*\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|COPY [a-z_]+|CREATE (TABLE|INDEX)|ALTER TABLE|pg_advisory[a-z_]*)\b|"(BEGIN|COMMIT|ROLLBACK)( [A-Z ]*)?"'

check() { # files... -> 0 when none holds SQL, else 1 (each line named on stderr)
    local f rc=0
    for f in "$@"; do
        if grep -nE "$pattern" "$f" | sed "s|^|check-sql: $f:|" >&2; then
            rc=1
        fi
    done
    if [ "$rc" != 0 ]; then
        echo "check-sql: SQL outside common/db/: put the query in a named function of the table's owner module (docs/architecture.md, \"Who owns which table\") and call it" >&2
    fi
    return "$rc"
}

if [ "${1:-}" = "--self-test" ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    printf '%s\n' '#include "db.h"' 'static int f(PGconn *db)' '{' \
        '    return db_cmd(db, "DELETE FROM file WHERE state = '"'"'absent'"'"'", 0, NULL);' '}' >"$tmp/with_sql.c"
    printf '%s\n' '#include "db.h"' '/* selects the files to delete (no SQL text here) */' \
        'static int f(PGconn *db) { return file_state_prune(db); }' >"$tmp/without_sql.c"
    printf '%s\n' '    if (db_cmd(db, "BEGIN", 0, NULL) < 0)' >"$tmp/begin.c"
    if check "$tmp/with_sql.c" 2>/dev/null; then
        echo "check-sql self-test: a file with a DELETE statement passed" >&2
        exit 1
    fi
    if check "$tmp/begin.c" 2>/dev/null; then
        echo "check-sql self-test: a file with a BEGIN passed" >&2
        exit 1
    fi
    if ! check "$tmp/without_sql.c"; then
        echo "check-sql self-test: a file without SQL failed" >&2
        exit 1
    fi
    echo "check-sql self-test: SQL found where present, none where absent"
    exit 0
fi

if [ "$#" -gt 0 ]; then
    check "$@"
    exit
fi
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
    'server/*.c' 'server/*.h' 'client/*.c' 'client/*.h' 'ctl/*.c' 'ctl/*.h' 'common/*.c' \
    'common/*.h' ':!common/db/*' | sort -u)
check "${files[@]}"
echo "check-sql: no SQL outside common/db/"
