#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""No circle of calls between the files of one program.

    call-graph.py [--name NAME] OBJ...    one object per .c file

Used on cmd/'s objects (tests/cmd) and on module/'s, as built with W=1 for
each kernel line (scripts/buildroot.sh --w1).

Reads each object's defined and undefined symbols with nm, lists for each
file the functions (and tables) of the other files it uses, and fails if
the files call each other in a circle: a file that uses a file that uses
it back, directly or through others. Prints the graph, then "N passed,
M failed".
"""
import os
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) global symbols of @obj."""
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def circles(graph):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    name = "call-graph"
    if argv[:1] == ["--name"] and len(argv) > 1:
        name, argv = argv[1], argv[2:]
    if not argv or any(a.startswith("-") for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    file_of = {o: os.path.splitext(os.path.basename(o))[0] + ".c" for o in argv}
    syms = {file_of[o]: symbols(o) for o in argv}
    owner = {}
    for f, (defined, _) in syms.items():
        for s in defined:
            owner[s] = f
    graph = {f: {} for f in syms}
    for f, (_, undefined) in syms.items():
        for s in sorted(undefined):
            if s in owner and owner[s] != f:
                graph[f].setdefault(owner[s], []).append(s)
    for f in sorted(graph):
        print(f"{f}:")
        for g in sorted(graph[f]):
            print(f"  -> {g}: {' '.join(graph[f][g])}")
        if not graph[f]:
            print("  (calls no other file)")
    found = circles({f: set(g) for f, g in graph.items()})
    for comp in found:
        print(f"FAIL: these files call each other in a circle: {' '.join(comp)}",
              file=sys.stderr)
    print(f"{name}: {len(graph)} files: {0 if found else 1} passed, {len(found)} failed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
