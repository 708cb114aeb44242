#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What module/reasons.h and module/conftest.sh make of every upstream
release 5.10 to 7.3, checked against releases/expected.tsv.

Per release: a temporary include directory with the release's
asm/kvm_host.h (releases/<ver>.h), a linux/kvm_host.h that includes it
and a linux/version.h; conftest.sh writes at_features.h there;
kernels_test.c is compiled against it and run with the release's kvm
symbols. Every field is compared and printed as one "ok"/"FAIL" line.
Then a self-check feeds two releases a neighbour's header and requires a
mismatch, so a harness that compares nothing cannot pass.

usage: kernels_test.py [--cc CC] [--build DIR] [VERSION...]
"""
import argparse
import concurrent.futures
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REL = os.path.join(HERE, "releases")
MOD = os.path.abspath(os.path.join(HERE, "..", "..", "module"))
FIELDS = ["version_code", "names", "symbols", "setter", "layout", "request",
          "init_reasons", "apic_id", "apic_map", "irq_window", "apic_base",
          "sticky", "vmx", "features", "nr"]
# the program's output fields that the table holds (symbols and the
# version are inputs); order-free lists are sorted before comparing
COMPARED = FIELDS[3:] + ["names"]
SORTED = {"sticky", "vmx", "features", "probed_reasons"}
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wshadow",
          "-Wstrict-prototypes", "-Wmissing-prototypes"]
SAN = ["-O1", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
       "-fno-sanitize-recover=all"]


def load_table():
    rows = {}
    with open(os.path.join(REL, "expected.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != len(FIELDS) + 1:
                sys.exit(f"expected.tsv: bad row: {line!r}")
            rows[cols[0]] = dict(zip(FIELDS, cols[1:]))
    return rows


def make_include(d, header, code):
    for sub in ("linux", "asm"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.copy(header, os.path.join(d, "asm", "kvm_host.h"))
    # beside it: common.h, and the releases a header says it equals
    for h in os.listdir(REL):
        if h.endswith(".h"):
            shutil.copy(os.path.join(REL, h), os.path.join(d, "asm", h))
    with open(os.path.join(d, "linux", "kvm_host.h"), "w") as f:
        f.write("#include <stdbool.h>\n#include <asm/kvm_host.h>\n")
    a, b, c = (int(x) for x in code.split("."))
    with open(os.path.join(d, "linux", "version.h"), "w") as f:
        f.write("#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + "
                "((c) > 255 ? 255 : (c)))\n"
                f"#define LINUX_VERSION_CODE {(a << 16) + (b << 8) + c}\n")


def run_release(cc, build, ver, row, header, mod=MOD):
    """Build and run one release: ({key: value}, error or None)."""
    d = os.path.join(build, ver)
    shutil.rmtree(d, ignore_errors=True)
    make_include(d, header, row["version_code"])
    conf = subprocess.run(["sh", os.path.join(mod, "conftest.sh"), cc, "-I" + d],
                          capture_output=True, text=True)
    if conf.returncode:
        return None, "conftest.sh failed: " + conf.stderr.strip()
    with open(os.path.join(d, "at_features.h"), "w") as f:
        f.write(conf.stdout)
    # plain -O2 and ASan+UBSan builds must both run clean and agree
    outs = []
    for suffix, extra in (("", ["-O2"]), (".asan", SAN)):
        exe = os.path.join(d, "kernels_test" + suffix)
        comp = subprocess.run(shlex.split(cc) + CFLAGS + extra +
                              ["-I" + d, "-I" + mod, "-o", exe,
                               os.path.join(HERE, "kernels_test.c")],
                              capture_output=True, text=True)
        if comp.returncode:
            return None, "compile failed:\n" + comp.stderr.strip()
        out = subprocess.run([exe] + row["symbols"].split(","),
                             capture_output=True, text=True)
        if out.returncode or out.stderr:
            return None, (f"kernels_test{suffix} exited {out.returncode}: "
                          + out.stderr.strip())
        outs.append(out)
    if outs[0].stdout != outs[1].stdout:
        return None, "the plain and ASan builds disagree"
    got = {}
    for line in out.stdout.splitlines():
        k, _, v = line.partition(" ")
        got[k] = v
    return got, None


def compare(ver, row, got):
    """One line per check; the number of failures."""
    bad = 0
    for k in COMPARED:
        want, have = row[k], got.get(k, "<missing>")
        if k in SORTED and have != "<missing>":
            have = ",".join(sorted(have.split(",")))
        ok = want == have
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {ver} {k}: "
              + (have if ok else f"want {want}, got {have}"))
    # every reason constant the public header declares is probed, and no
    # other (7.3's are private: none)
    code = tuple(int(x) for x in row["version_code"].split("."))
    want = "-" if code >= (7, 3, 0) else ",".join(sorted(row["names"].split(",")))
    have = ",".join(sorted(got.get("probed_reasons", "<missing>").split(",")))
    ok = want == have
    bad += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {ver} probed_reasons: "
          + (have if ok else f"want {want}, got {have}"))
    # every bit the release's header names must have a name
    names = got.get("names", "").split(",")
    holes = [str(b) for b, n in enumerate(names) if n == "unknown"]
    ok = not holes and len(names) == len(row["names"].split(","))
    bad += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {ver} no unknown names"
          + ("" if ok else f": unknown bits {','.join(holes) or '-'}, "
             f"{len(names)} named of {len(row['names'].split(','))}"))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", default=os.environ.get("CC") or "gcc")
    ap.add_argument("--build", default=None)
    ap.add_argument("versions", nargs="*")
    args = ap.parse_args()
    table = load_table()
    vers = args.versions or list(table)
    unknown = [v for v in vers if v not in table]
    if unknown:
        sys.exit("not in releases/expected.tsv: " + ", ".join(unknown))
    missing = [v for v in table if not os.path.exists(os.path.join(REL, v + ".h"))]
    if missing:
        sys.exit("no header for " + ", ".join(missing))
    build = args.build or tempfile.mkdtemp(prefix="kernels_test.")
    os.makedirs(build, exist_ok=True)
    # the self-check: a release given its predecessor's header must fail
    # (5.19 reordered the enum; 6.11 renamed DISABLE)
    negative = [("5.19", "5.18.h"), ("6.11", "6.10.h")]
    # and reasons.h with one plausible slip each must fail: 7.3's
    # versioned table with two names swapped, and 5.10's lockless setter
    # not marked lockless (HYPERV no longer sticky, a request role)
    mutmod = os.path.join(build, "mutated-module")
    shutil.rmtree(mutmod, ignore_errors=True)
    os.makedirs(mutmod)
    # only what the test reads: module/ may be mid-build
    for name in ("reasons.h", "conftest.sh"):
        shutil.copy(os.path.join(MOD, name), mutmod)
    rh = os.path.join(mutmod, "reasons.h")
    with open(rh) as f:
        text = f.read()
    slips = [('"DISABLED", "HYPERV", "ABSENT"', '"HYPERV", "DISABLED", "ABSENT"'),
             ('AT_L_ACTIVATE_BIT, AT_C_LOCKLESS', 'AT_L_ACTIVATE_BIT, 0')]
    for old, new in slips:
        if text.count(old) != 1:
            sys.exit(f"self-check: reasons.h no longer has {old!r} once; update the slips")
        text = text.replace(old, new)
    with open(rh, "w") as f:
        f.write(text)
    mutated = [("7.3", "mutated reasons.h"), ("5.10", "mutated reasons.h")]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futs = {(v, v): pool.submit(run_release, args.cc, build, v, table[v],
                                    os.path.join(REL, v + ".h"))
                for v in vers}
        for v, h in negative:
            futs[(v, h)] = pool.submit(run_release, args.cc,
                                       os.path.join(build, "neg-" + h),
                                       v, table[v], os.path.join(REL, h))
        for v, h in mutated:
            futs[(v, h)] = pool.submit(run_release, args.cc,
                                       os.path.join(build, "mut"),
                                       v, table[v], os.path.join(REL, v + ".h"),
                                       mutmod)
    fails = 0
    for v in vers:
        got, err = futs[(v, v)].result()
        if err:
            print(f"FAIL {v}: {err}")
            fails += 1
            continue
        print(f"ok   {v} names from: {got.get('names_from')}")
        fails += compare(v, table[v], got)
    print("self-check: a neighbour's header, or a slip in reasons.h, must mismatch")
    for v, h in negative + mutated:
        got, err = futs[(v, h)].result()
        with open(os.devnull, "w") as null:
            saved, sys.stdout = sys.stdout, null
            try:
                # a build failure is not the mismatch this check is after
                n = -1 if err else compare(v, table[v], got)
            finally:
                sys.stdout = saved
        ok = n > 0
        fails += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {v} with {h}: "
              + (f"{n} mismatch(es), as expected" if ok else
                 f"did not build: {err}" if err else
                 "no mismatch: the harness cannot fail"))
    if not args.build:
        shutil.rmtree(build, ignore_errors=True)
    print(f"kernels_test: {len(vers)} releases, {fails} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
