#!/usr/bin/env bash
# SQL belongs to the owner modules in common/ (one module per table family; docs/architecture.md).
# server/, client/ and ctl/ call their functions. Until every table has its owner (issue 9), the
# files that still hold SQL are listed with their count in scripts/sql-debt.txt: this check fails
# when a file outside common/ holds more SQL lines than listed there (new SQL in a handler), and
# asks to lower the figure when a file holds fewer (the list only shrinks).
# Usage: scripts/check-sql.sh [--update]   (--update rewrites the list from the tree)
set -euo pipefail
cd "$(dirname "$0")/.."
debt=scripts/sql-debt.txt
pattern='"[^"]*\b(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|COPY [a-z_]+|CREATE (TABLE|INDEX)|ALTER TABLE|pg_advisory[a-z_]*)\b|"(BEGIN|COMMIT|ROLLBACK)( [A-Z ]*)?"'
count() { # file -> number of lines with SQL text
    grep -cE "$pattern" "$1" || true
}
current=$(for f in $(git ls-files 'server/*.c' 'server/*.h' 'client/*.c' 'client/*.h' 'ctl/*.c' 'ctl/*.h'); do
    n=$(count "$f")
    if [ "$n" -gt 0 ]; then echo "$f $n"; fi
done | sort)
if [ "${1:-}" = "--update" ]; then
    printf '%s\n' "$current" | sed '/^$/d' >"$debt"
    echo "check-sql: wrote $debt"
    exit 0
fi
rc=0
while read -r f n; do
    [ -z "$f" ] && continue
    allowed=$(awk -v f="$f" '$1 == f { print $2 }' "$debt")
    allowed=${allowed:-0}
    if [ "$n" -gt "$allowed" ]; then
        echo "check-sql: $f holds $n lines of SQL (allowed: $allowed); put queries in the owner module in common/ and call it" >&2
        rc=1
    elif [ "$n" -lt "$allowed" ]; then
        echo "check-sql: $f holds $n lines of SQL, fewer than the $allowed in $debt: lower the figure (scripts/check-sql.sh --update)" >&2
        rc=1
    fi
done <<<"$current"
while read -r f n; do
    [ -z "$f" ] && continue
    if ! grep -q "^$f " <<<"$current"; then
        echo "check-sql: $f holds no SQL any more: remove it from $debt (scripts/check-sql.sh --update)" >&2
        rc=1
    fi
done <"$debt"
[ "$rc" = 0 ] && echo "check-sql: no SQL outside common/ beyond the listed debt"
exit "$rc"
