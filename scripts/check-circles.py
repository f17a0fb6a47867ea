#!/usr/bin/env python3
"""Find circles between the modules of wsusd (docs/architecture.md, "No circles").

A module is a .c file with its .h of the same name (server/admin/admin.c + server/admin/admin.h); a header
named foo_internal.h is private to module foo. Two graphs are checked:
  include: module A -> B when a file of A includes B's header ("..." includes found in the tree);
  call:    module A -> B when A's object file uses a symbol B's object file defines (nm over the
           objects of a build directory, given as the argument; skipped without one).
Any circle (A -> ... -> A through two or more modules) fails, printing the edges and, for the
call graph, the symbols. Circles listed in scripts/circles-known.txt (one line per circle:
the modules, sorted, space-separated) are reported but allowed; that list only shrinks.
Usage: scripts/check-circles.py [BUILD_DIR]
       scripts/check-circles.py --self-test   (the circle finder on small graphs)
"""
import collections
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ["common", "client", "server", "ctl"]


def module(path):
    base = os.path.splitext(path)[0]
    if base.endswith("_internal") and path.endswith(".h"):
        base = base[: -len("_internal")]
    return base


def sources():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others",
                          "--exclude-standard", "--"] + [d + "/" for d in DIRS],
                         capture_output=True, text=True, check=True).stdout.split()
    return sorted(f for f in out if f.endswith((".c", ".h")) and os.path.exists(os.path.join(ROOT, f)))


def include_graph(files):
    byname = collections.defaultdict(list)
    for f in files:
        byname[os.path.basename(f)].append(f)
    known = set(files)
    edges = collections.defaultdict(dict)
    for f in files:
        with open(os.path.join(ROOT, f), errors="replace") as fh:
            for line in fh:
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                inc = m.group(1)
                near = os.path.normpath(os.path.join(os.path.dirname(f), inc))
                target = near if near in known else next(iter(byname.get(os.path.basename(inc), [])), None)
                if target and module(target) != module(f):
                    edges[module(f)].setdefault(module(target), set()).add("%s includes %s" % (f, inc))
    return edges


def call_graph(build):
    defined, used = {}, collections.defaultdict(set)
    for o in sorted(glob.glob(os.path.join(build, "CMakeFiles", "*.dir", "**", "*.c.o"), recursive=True)):
        rel = o.split(".dir" + os.sep, 1)[1][: -len(".c.o")]
        if not any(rel.startswith(d + "/") for d in DIRS) or not os.path.exists(os.path.join(ROOT, rel + ".c")):
            continue  # not ours, or left in the build directory by a file that moved
        for line in subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "TDBRC":
                defined.setdefault(p[2], module(rel + ".c"))
            elif len(p) == 2 and p[0] == "U":
                used[module(rel + ".c")].add(p[1])
    edges = collections.defaultdict(dict)
    for m, syms in used.items():
        for s in syms:
            t = defined.get(s)
            if t and t != m:
                edges[m].setdefault(t, set()).add(s)
    return edges


def circles(edges):
    nodes = set(edges) | {t for e in edges.values() for t in e}
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop()
                on.discard(w)
                c.append(w)
                if w == v:
                    break
            if len(c) > 1:
                out.append(sorted(c))

    sys.setrecursionlimit(100000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def self_test():
    ring = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    dag = {"a": {"b": 1, "c": 1}, "b": {"c": 1}, "d": {"a": 1}}
    mods = [module("client/uss_internal.h"), module("client/uss.c"), module("server/admin.h")]
    ok = circles(ring) == [["a", "b", "c"]] and circles(dag) == [] and \
        mods == ["client/uss", "client/uss", "server/admin"]
    print("check-circles self-test: %s" % ("a ring found, a tree passes" if ok else "FAILED"))
    return 0 if ok else 1


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    known_path = os.path.join(ROOT, "scripts", "circles-known.txt")
    known = set()
    if os.path.exists(known_path):
        with open(known_path) as fh:
            known = {" ".join(sorted(l.split())) for l in fh if l.strip() and not l.startswith("#")}
    graphs = [("include", include_graph(sources()))]
    if len(sys.argv) > 1:
        graphs.append(("call", call_graph(sys.argv[1])))
    rc, seen = 0, set()
    for kind, edges in graphs:
        for c in circles(edges):
            key = " ".join(c)
            seen.add(key)
            allowed = key in known
            print("check-circles: %s circle%s: %s" % (kind, " (known, scripts/circles-known.txt)" if allowed else "", " ".join(c)),
                  file=sys.stderr)
            for a in c:
                for b in sorted(edges[a]):
                    if b in c:
                        print("    %s -> %s: %s" % (a, b, ", ".join(sorted(edges[a][b])[:4])), file=sys.stderr)
            if not allowed:
                rc = 1
    for k in sorted(known - seen):
        print("check-circles: %s is no circle any more: remove it from scripts/circles-known.txt" % k, file=sys.stderr)
        rc = 1
    if rc:
        print("check-circles: move what both sides share into a module of its own (docs/architecture.md, \"No circles\")", file=sys.stderr)
    else:
        print("check-circles: no circle between modules (%s graph%s)" % (" and ".join(k for k, _ in graphs), "s" if len(graphs) > 1 else ""))
    return rc


if __name__ == "__main__":
    sys.exit(main())
