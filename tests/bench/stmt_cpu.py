#!/usr/bin/env python3
"""stmt_cpu: CPU seconds (user + system) of each statement, from a PostgreSQL log written with
log_statement_stats=on and log_line_prefix=%d@ (sync_bench.sh STMTCPU=1 sets both), summed per
database and per statement text (first 70 characters). Unlike pg_stat_statements' times, these
are the backend's own getrusage figures: not inflated by waiting for a core or for the client.

usage: tests/bench/stmt_cpu.py SERVER_LOG [DATABASE]
"""
import re
import sys
from collections import defaultdict

USAGE = re.compile(r"!\s+([0-9.]+) s user, ([0-9.]+) s system")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    only = sys.argv[2] if len(sys.argv) == 3 else None
    per_db = defaultdict(float)
    per_stmt = defaultdict(lambda: [0.0, 0])
    db, pending = None, None
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9_]*)@(LOG|DETAIL|STATEMENT|ERROR|WARNING):\s+(.*)", line)
            if m:
                db = m.group(1)
                if m.group(2) == "STATEMENT" and pending is not None:
                    key = (pending[0], " ".join(m.group(3).split())[:70])
                    per_stmt[key][0] += pending[1]
                    per_stmt[key][1] += 1
                    pending = None
                continue
            u = USAGE.search(line)
            if u and db:
                cpu = float(u.group(1)) + float(u.group(2))
                per_db[db] += cpu
                pending = (db, cpu)
    for d, s in sorted(per_db.items()):
        if only is None or d == only:
            print(f"statement cpu {d}: {s:.2f} s")
    rows = sorted(((v[0], v[1], k) for k, v in per_stmt.items() if only is None or k[0] == only),
                  reverse=True)
    for cpu, calls, (d, q) in rows[:25]:
        print(f"  {d:12s} {cpu:7.3f} s {calls:6d}  {q}")


main()
