#!/usr/bin/env python3
"""Tests of `apicv-trace doctor`, run against each --bin.

    doctor_test.py --bin PATH [--bin PATH...]

Each case of fixtures/doctor/ is a fake host: proc/cpuinfo and a sys/ tree
(kvm_amd or kvm_intel parameters, /sys/module/apicv_trace, the Secure Boot
EFI variable, securityfs's lockdown, and the module's debugfs files under
sys/kernel/debug/apicv_trace, whose status and reasons are real 6.1 and 7.3
module output; vms_adopted= added where the case has a module that prints
it). The command reads them through APICV_TRACE_SYSFS and APICV_TRACE_PROC.
Variants are made by changing one file in a copy.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally, fresh_copy  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "doctor")
SCHEMA = os.path.join(HERE, "..", "..", "cmd", "apicv-trace.schema.json")
VALIDATE = os.path.join(HERE, "validate.py")
# validate.py with its built-in validator, as on a machine without jsonschema
BUILTIN = ["-c", "import sys; sys.modules['jsonschema'] = None; "
           "sys.argv = sys.argv[1:]; exec(open(sys.argv[0]).read())"]
SB_VAR = "firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0e8e5ff1e95"
DBG = "kernel/debug/apicv_trace"
tally = Tally("doctor_test")
ok = tally.ok

LINE = re.compile(r"^(\[ OK \]|\[WARN\]|\[FAIL\]) \S|^       fix: \S")


def run(b, case, *args, user=None):
    """doctor on the host tree @case (a fixture name or a path)."""
    root = case if os.path.isabs(case) else os.path.join(FIX, case)
    e = dict(os.environ)
    e.update({"APICV_TRACE_SYSFS": os.path.join(root, "sys"),
              "APICV_TRACE_PROC": os.path.join(root, "proc"), "TZ": "UTC"})
    p = subprocess.run([b, "doctor", *args], capture_output=True, timeout=30,
                       env=e, user=user)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def shape(out):
    """Every line but the last is a check or its fix; the last is the verdict."""
    lines = out.rstrip("\n").split("\n")
    return (len(lines) > 1 and all(LINE.match(l) for l in lines[:-1])
            and lines[-1].startswith("doctor: ")), lines[-1]


def copy(tmp, case):
    return fresh_copy(FIX, tmp, case)


def put(d, rel, data):
    p = os.path.join(d, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)


def edit(d, rel, old, new):
    p = os.path.join(d, rel)
    with open(p) as fh:
        text = fh.read()
    assert old in text, f"{rel} has no {old!r}"
    with open(p, "w") as fh:
        fh.write(text.replace(old, new))


def test_cases(b):
    want = {
        "amd_good": (0, "doctor: AVIC can work and every inhibit is traced",
                     ["[ OK ] apicv_trace: loaded, unsigned (Secure Boot off)",
                      "[ OK ] kvm_amd: avic=Y force_avic=N enable_ipiv=Y",
                      "[ OK ] CPU: x2avic flag present",
                      "[ OK ] hooks: coverage=full, kvm=hooked",
                      "[ OK ] reason names: versioned table (7.3",
                      "[ OK ] VMs adopted at load: 1 "]),
        "amd_avic_off": (10, 'doctor: AVIC is off: kvm_amd avic=N; fix: add "options kvm_amd avic=1" '
                         "to /etc/modprobe.d/kvm.conf and reload kvm_amd",
                         ["[FAIL] kvm_amd avic=N\n       fix: add \"options kvm_amd avic=1\"",
                          "[WARN] VMs adopted at load: unknown (module too old)",
                          "[ OK ] reason names: enum kvm_apicv_inhibit (kernel headers)"]),
        "amd_forced": (0, "doctor: AVIC can work and every inhibit is traced",
                       ["[WARN] CPU: no avic flag, but kvm_amd force_avic=Y makes KVM enable AVIC anyway",
                        "[ OK ] VMs adopted at load: 0 "]),
        "amd_secureboot": (11, "doctor: the tracer is not working: apicv_trace is not loaded, and Secure Boot is on",
                           ["mokutil --import /var/lib/dkms/mok.pub", "/var/lib/shim-signed/mok/MOK.der",
                            "MokManager", "[ OK ] kernel lockdown: integrity"]),
        "amd_partial": (12, "doctor: the tracer misses inhibits: hooks: coverage=partial absent=- failed=irq_window",
                        ["[FAIL] hooks: coverage=partial absent=- failed=irq_window",
                         "dmesg | grep apicv_trace"]),
        "intel_good": (0, "doctor: APICv can work and every inhibit is traced",
                       ["APICv is not a /proc/cpuinfo flag",
                        "[ OK ] CPU: vmx flags vapic_reg, vid and posted_intr present",
                        "[ OK ] kvm_intel: enable_apicv=Y enable_ipiv=Y",
                        "(no Secure Boot: not EFI)"]),
    }
    ok(sorted(want) == sorted(os.listdir(FIX)), f"every fixture case is tested: {sorted(os.listdir(FIX))}")
    for case, (rc_want, verdict, parts) in want.items():
        rc, out, err = run(b, case)
        good, last = shape(out)
        ok(rc == rc_want and good and last.startswith(verdict) and err == "",
           f"{case}: rc={rc} verdict={last!r} err={err!r}")
        for p in parts:
            ok(p in out, f"{case}: no {p!r} in {out!r}")
        ok(("[FAIL]" in out) == (rc != 0), f"{case}: a FAIL line iff a non-0 exit: {out!r}")
        # --json: the same checks, verdict and exit
        rcj, js, _ = run(b, case, "--json")
        try:
            doc = json.loads(js)
        except ValueError as e:
            ok(False, f"{case} --json: {e}: {js!r}")
            continue
        checks = doc.get("checks", [])
        ok(rcj == rc and doc.get("exit") == rc and doc.get("kind") == "doctor"
           and doc.get("schema_version") == 1 and js.count("\n") == 1,
           f"{case} --json: rc={rcj} exit={doc.get('exit')}")
        ok("doctor: " + doc.get("verdict", "") == last, f"{case} --json verdict {doc.get('verdict')!r}")
        ok(len(checks) == len(re.findall(r"^\[", out, re.M)) and all(
            set(c) == {"check", "status", "class", "message", "fix"} and
            c["status"] in ("ok", "warn", "fail") and
            (c["class"] in ("avic", "module", "coverage")) == (c["status"] == "fail")
            for c in checks), f"{case} --json checks {checks}")
        fails = [c for c in checks if c["status"] == "fail"]
        ok(not fails or {"avic": 10, "module": 11, "coverage": 12}[fails[0]["class"]] >= rc,
           f"{case} --json: exit {rc} is the first class {fails}")


def test_variants(b, tmp):
    # no avic flag and no force_avic: the CPU is the cause, before avic=N
    d = copy(tmp, "amd_forced")
    put(d, "sys/module/kvm_amd/parameters/force_avic", "N\n")
    put(d, "sys/module/kvm_amd/parameters/avic", "N\n")
    rc, out, _ = run(b, d)
    ok(rc == 10 and shape(out)[1].startswith("doctor: AVIC is off: CPU: no avic flag")
       and "[FAIL] kvm_amd avic=N" in out, f"no avic flag: rc={rc} {out!r}")
    # no svm: virtualization off in the firmware
    d = copy(tmp, "amd_good")
    edit(d, "proc/cpuinfo", " svm ", " ")
    rc, out, _ = run(b, d)
    ok(rc == 10 and "without the svm flag" in out and "firmware setup" in out, f"no svm: {rc} {out!r}")
    # ... in a guest: nested virtualization on the host under it, not the firmware
    edit(d, "proc/cpuinfo", " x2apic ", " x2apic hypervisor ")
    rc, out, _ = run(b, d)
    ok(rc == 10 and "without the svm flag" in out and "enable nested virtualization" in out
       and "firmware setup" not in out.split("[FAIL] kvm_amd")[0], f"no svm, guest: {rc} {out!r}")
    # x2avic missing: a warning, not a failure
    d = copy(tmp, "amd_good")
    edit(d, "proc/cpuinfo", " x2avic ", " ")
    rc, out, _ = run(b, d)
    ok(rc == 0 and "[WARN] CPU: no x2avic flag" in out, f"no x2avic: {rc} {out!r}")
    # enable_ipiv=N: a warning; npt=N: AVIC needs it
    d = copy(tmp, "amd_good")
    put(d, "sys/module/kvm_amd/parameters/enable_ipiv", "N\n")
    rc, out, _ = run(b, d)
    ok(rc == 0 and "[WARN] kvm_amd enable_ipiv=N" in out, f"ipiv off: {rc} {out!r}")
    put(d, "sys/module/kvm_amd/parameters/npt", "N\n")
    rc, out, _ = run(b, d)
    ok(rc == 10 and "[FAIL] kvm_amd npt=N" in out, f"npt off: {rc} {out!r}")
    # kvm_amd not loaded
    d = copy(tmp, "amd_good")
    shutil.rmtree(os.path.join(d, "sys/module/kvm_amd"))
    edit(d, f"sys/{DBG}/status", "kvm=hooked", "kvm=waiting")
    rc, out, _ = run(b, d)
    ok(rc == 10 and "[FAIL] kvm_amd is not loaded" in out and "modprobe kvm_amd" in out
       and "[WARN] hooks: kvm=waiting" in out, f"no kvm_amd: {rc} {out!r}")
    # Secure Boot off, module not loaded: modprobe, no mokutil
    d = copy(tmp, "amd_secureboot")
    put(d, "sys/" + SB_VAR, bytes([6, 0, 0, 0, 0]))
    rc, out, _ = run(b, d)
    ok(rc == 11 and "apicv_trace is not loaded (Secure Boot off)" in out and "modprobe apicv_trace" in out
       and "mokutil" not in out, f"not loaded, SB off: {rc} {out!r}")
    shutil.rmtree(os.path.join(d, "sys/firmware"))
    rc, out, _ = run(b, d)
    ok(rc == 11 and "not booted with EFI" in out, f"not EFI: {rc} {out!r}")
    # loaded: signed (no E taint) with Secure Boot on; unsigned with it on
    d = copy(tmp, "amd_good")
    put(d, "sys/" + SB_VAR, bytes([6, 0, 0, 0, 1]))
    put(d, "sys/module/apicv_trace/taint", "O\n")
    rc, out, _ = run(b, d)
    ok(rc == 0 and "[ OK ] apicv_trace: loaded, signed with a key the kernel trusts (Secure Boot on)" in out,
       f"signed: {rc} {out!r}")
    put(d, "sys/module/apicv_trace/taint", "OE\n")
    rc, out, _ = run(b, d)
    ok(rc == 0 and "[WARN] apicv_trace: loaded unsigned (taint OE) although Secure Boot is on" in out,
       f"unsigned, SB on: {rc} {out!r}")
    # loaded but no debugfs files: debugfs not mounted
    d = copy(tmp, "amd_good")
    shutil.rmtree(os.path.join(d, "sys/kernel/debug"))
    rc, out, _ = run(b, d)
    ok(rc == 11 and "[FAIL] cannot read" in out and "mount -t debugfs" in out, f"no debugfs: {rc} {out!r}")
    # lockdown=confidentiality: the module cannot hook
    d = copy(tmp, "amd_good")
    put(d, "sys/kernel/security/lockdown", "none integrity [confidentiality]\n")
    edit(d, f"sys/{DBG}/status", "coverage=full", "coverage=lockdown")
    rc, out, _ = run(b, d)
    ok(rc == 11 and "[FAIL] kernel lockdown=confidentiality forbids kprobes" in out
       and "[FAIL] hooks: coverage=lockdown" in out, f"lockdown: {rc} {out!r}")
    # a bit without a name, and a table that has none: coverage
    d = copy(tmp, "amd_good")
    edit(d, f"sys/{DBG}/reasons", "bit=12 reason=PHYSICAL_ID_TOO_BIG", "bit=12 reason=unknown")
    rc, out, _ = run(b, d)
    ok(rc == 12 and "[FAIL] reasons: bit 12 no name (printed as reason=unknown)" in out
       and "apicv-trace names --apply" in out, f"unknown bit: {rc} {out!r}")
    edit(d, f"sys/{DBG}/status", 'reasons_from="versioned table (7.3; enum in private arch/x86/kvm/x86.h)"',
         'reasons_from="none: kernel newer than any table"')
    rc, out, _ = run(b, d)
    ok(rc == 12 and '[FAIL] reason names: reasons_from="none: kernel newer than any table"' in out,
       f"no table: {rc} {out!r}")
    # missed probe hits: a warning that names the hook
    d = copy(tmp, "amd_good")
    edit(d, f"sys/{DBG}/status", "hook=setter symbol=__kvm_set_or_clear_apicv_inhibit kind=kretprobe state=armed nmissed=0",
         "hook=setter symbol=__kvm_set_or_clear_apicv_inhibit kind=kretprobe state=armed nmissed=7")
    rc, out, _ = run(b, d)
    ok(rc == 0 and "[WARN] hooks: 7 calls missed by the probes (setter=7)" in out, f"nmissed: {rc} {out!r}")
    # the order of classes: AVIC before coverage
    d = copy(tmp, "amd_partial")
    put(d, "sys/module/kvm_amd/parameters/avic", "0\n")
    rc, out, _ = run(b, d)
    ok(rc == 10 and "kvm_amd avic=0" in shape(out)[1] and "coverage=partial" in out, f"order: {rc} {out!r}")
    # Intel: APICv off, and a CPU without the APICv parts
    d = copy(tmp, "intel_good")
    put(d, "sys/module/kvm_intel/parameters/enable_apicv", "N\n")
    rc, out, _ = run(b, d)
    ok(rc == 10 and shape(out)[1].startswith("doctor: APICv is off: kvm_intel enable_apicv=N")
       and 'options kvm_intel enable_apicv=1' in out, f"intel apicv off: {rc} {out!r}")
    d = copy(tmp, "intel_good")
    edit(d, "proc/cpuinfo", " vid ", " ")
    rc, out, _ = run(b, d)
    ok(rc == 10 and "lacks one of vapic_reg, vid, posted_intr" in out, f"intel no vid: {rc} {out!r}")
    # no cpuinfo: said, and the rest still checked (vendor from kvm_amd)
    d = copy(tmp, "amd_good")
    os.remove(os.path.join(d, "proc/cpuinfo"))
    rc, out, _ = run(b, d)
    ok(rc == 0 and "[WARN] CPU: cannot read the flags of" in out and "kvm_amd: avic=Y" in out
       and "AVIC can work" in out, f"no cpuinfo: {rc} {out!r}")


def test_not_root(b, tmp):
    """debugfs is root's: without root, what the rest says, and exit 5."""
    d = copy(tmp, "amd_good")
    for root, dirs, files in os.walk(tmp):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755)
    os.chmod(tmp, 0o755)
    dbg = os.path.join(d, "sys", "kernel", "debug")
    if os.geteuid() == 0:
        os.chmod(dbg, 0o700)       # like /sys/kernel/debug
        user = 65534
    else:
        os.chmod(dbg, 0)
        user = None
    rc, out, err = run(b, d, user=user)
    ok(rc == 5 and "[WARN] apicv_trace's files need root" in out and "kvm_amd: avic=Y" in out
       and shape(out)[1] == "doctor: AVIC can work; whether every inhibit is traced needs root (run as root)",
       f"not root: rc={rc} {out!r} {err!r}")
    put(d, "sys/module/kvm_amd/parameters/avic", "N\n")
    os.chmod(os.path.join(d, "sys/module/kvm_amd/parameters/avic"), 0o644)
    rc, out, _ = run(b, d, user=user)
    ok(rc == 10 and "[FAIL] kvm_amd avic=N" in out, f"not root, avic off: rc={rc} {out!r}")
    os.chmod(dbg, 0o755)


def test_usage(b, tmp):
    rc, out, err = run(b, "amd_good", "extra")
    ok(rc == 2 and "takes no argument" in err and out == "", f"doctor extra: {rc} {err!r}")
    # --dir: the module's files from a copy; the host from sysfs
    rc, out, _ = run(b, "amd_good", "--dir", os.path.join(FIX, "amd_partial", "sys", DBG))
    ok(rc == 12 and "reading a copy of its files in" in out and "failed=irq_window" in out,
       f"--dir: {rc} {out!r}")


def validate(paths, builtin):
    cmd = [sys.executable, *(BUILTIN if builtin else []), VALIDATE, SCHEMA, *paths]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def test_schema(b, tmp):
    """doctor --json against cmd/apicv-trace.schema.json: every fixture case
    (exits 0, 10, 11, 12: ok, warn and fail checks, fixes and nulls) and the
    lockdown variant; the schema must also reject a wrong document."""
    paths, docs = [], []
    cases = sorted(os.listdir(FIX))
    d = copy(tmp, "amd_good")
    put(d, "sys/kernel/security/lockdown", "none integrity [confidentiality]\n")
    edit(d, f"sys/{DBG}/status", "coverage=full", "coverage=lockdown")
    for case in cases + [d]:
        rc, js, _ = run(b, case, "--json")
        p = os.path.join(tmp, f"doctor.{len(paths)}.json")
        with open(p, "w") as fh:
            fh.write(js)
        paths.append(p)
        docs.append(json.loads(js))
    ok({doc["exit"] for doc in docs} == {0, 10, 11, 12}, f"schema cases cover every exit: {[x['exit'] for x in docs]}")
    for builtin in (False, True):
        rc, out = validate(paths, builtin)
        ok(rc == 0 and f"{len(paths)} documents, 0 invalid" in out
           and ("built-in" in out) == builtin, f"doctor --json valid (built-in={builtin}): {out}")
    # wrong documents: a failure without a class, a passed check with one,
    # an unknown status, a missing fix, an exit doctor never uses
    good = next(x for x in docs if x["exit"] == 10)
    fail = next(i for i, c in enumerate(good["checks"]) if c["status"] == "fail")
    passed = next(i for i, c in enumerate(good["checks"]) if c["status"] == "ok")
    bads = []
    for path, val in [(("checks", fail, "class"), None), (("checks", passed, "class"), "avic"),
                      (("checks", passed, "status"), "info"), (("checks", fail, "fix"), 0),
                      (("exit",), 3), (("checks",), [])]:
        bd = json.loads(json.dumps(good))
        o = bd
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = val
        bads.append(bd)
    bd = json.loads(json.dumps(good))
    del bd["checks"][0]["fix"]
    bads.append(bd)
    for i, bd in enumerate(bads):
        p = os.path.join(tmp, f"bad{i}.json")
        with open(p, "w") as fh:
            json.dump(bd, fh)
        for builtin in (False, True):
            rc, out = validate([p], builtin)
            ok(rc != 0 and "1 invalid" in out, f"validator (built-in={builtin}) rejects bad doctor document {i}: {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    args = ap.parse_args()
    for b in args.bin:
        b = os.path.abspath(b)
        print(f"== {b}")
        test_cases(b)
        for t in [test_variants, test_not_root, test_usage, test_schema]:
            with tempfile.TemporaryDirectory() as tmp:
                t(b, tmp)
    return tally.done()


if __name__ == "__main__":
    sys.exit(main())
