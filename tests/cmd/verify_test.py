#!/usr/bin/env python3
"""Tests of `apicv-trace verify` and `apicv-trace names`, run against each --bin.

    verify_test.py --bin PATH [--bin PATH...]

verify's pairing runs on saved files (--replay DIR): fixtures/verify/v61 and
v72 are real 6.1 and 7.2 e2e runs (trace and module records of the same VMs,
the trace's timestamps moved onto the records' boot clock; v72 holds an
IRQWIN side=yes record and its IRQWIN line), v510 is hand-written in 5.10's
kvm_apicv_update_request form. Each disagreement is made by changing one
thing in a copy. names runs on a fake /sys (APICV_TRACE_SYSFS) whose BTF
blobs are built here: vmlinux's, and kvm's split BTF with the enum.
"""
import argparse
import os
import re
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally, fresh_copy  # noqa: E402
from cli_test import run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "verify")
RESULTS = os.path.join(HERE, "fixtures", "v73")
tally = Tally("verify_test")
ok = tally.ok

VERDICT = re.compile(r"^verify: (agree|DISAGREE|INCONCLUSIVE) ", re.M)


def copy(tmp, name):
    return fresh_copy(FIX, tmp, name)


def edit(d, f, fn):
    p = os.path.join(d, f)
    with open(p) as fh:
        text = fh.read()
    new = fn(text)
    assert new != text, f"edit of {f} changed nothing"
    with open(p, "w") as fh:
        fh.write(new)


def verdicts(out):
    return VERDICT.findall(out)


def test_agree(b):
    for name, want in [("v61", "agree (28 transitions, 3 VMs, names from BTF)"),
                       ("v72", "agree (7 transitions, 1 VMs, names from BTF and tracepoint format)"),
                       ("v510", "agree (4 transitions, 1 VMs, 2 of them activation flips checked, names from nowhere")]:
        rc, out, err = run(b, "verify", "--replay", os.path.join(FIX, name))
        ok(rc == 0 and f"verify: {want}" in out and verdicts(out) == ["agree"],
           f"{name}: rc={rc} out={out!r} err={err!r}")
    rc, out, _ = run(b, "verify", "--replay", os.path.join(FIX, "v72"))
    row = [l.split() for l in out.splitlines() if l.startswith("147-4 ")]
    # 7 changes, all matched; the IRQWIN lines of calls that changed nothing are no-ops
    ok(row and row[0][3:] == ["7", "7", "0", "0", "30"], f"v72 row {row}")
    rc, out, _ = run(b, "verify", "--replay", os.path.join(FIX, "v510"))
    ok("2 of the 4 changes could be checked" in out, f"v510 note: {out!r}")


def shift_trace(t, ns):
    """Every trace line's timestamp moved by @ns."""
    def one(m):
        v = int(m.group(1)) * 10**6 + int(m.group(2)) + ns // 1000
        return f" {v // 10**6}.{v % 10**6:06d}: kvm_apicv"
    return re.sub(r" (\d+)\.(\d{6}): kvm_apicv", one, t)


def test_skew(b, tmp):
    # an interrupt (or an emulated host) between KVM's tracepoint and the
    # module's handler: 20 ms apart, still one pair per call, in order
    for name in ("v61", "v72"):
        d = copy(tmp, name)
        edit(d, "trace", lambda t: shift_trace(t, 20000000))
        rc, out, _ = run(b, "verify", "--replay", d)
        ok(rc == 0 and verdicts(out) == ["agree"], f"{name} lines 20 ms late: rc={rc} {out!r}")
    # far apart (2 s) is not the same call: no pair
    d = copy(tmp, "v61")
    edit(d, "trace", lambda t: shift_trace(t, 2000000000))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "record without a tracepoint line" in out, f"v61 lines 2 s late: rc={rc} {out!r}")


def test_disagree(b, tmp):
    # the line of a recorded change is gone: a record without a line
    d = copy(tmp, "v61")
    edit(d, "trace", lambda t: re.sub(r"^.*cleared reason=2, inhibits=0x0\n", "", t,
                                      count=1, flags=re.M))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "verify: DISAGREE (record without a tracepoint line" in out,
       f"line removed: rc={rc} {out!r}")
    # the module missed the side=yes IRQWIN change of 7.2: kvm changed a mask unrecorded
    d = copy(tmp, "v72")
    edit(d, "follow", lambda t: re.sub(r"^.*side=yes.*\n", "", t, flags=re.M))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "verify: DISAGREE (kvm changed a mask with no record" in out,
       f"side record removed: rc={rc} {out!r}")
    # an extra change: a line with a mask no VM ever had
    d = copy(tmp, "v61")
    with open(os.path.join(d, "window")) as fh:
        t0 = int(fh.read().split()[0].split("=")[1])
    ts = t0 + 2000000
    with open(os.path.join(d, "trace"), "a") as fh:
        fh.write(f"        kvmdrive-124     [000] .....  {ts // 10**9}.{ts % 10**9 // 1000:06d}: "
                 "kvm_apicv_inhibit_changed: set reason=6, inhibits=0x40\n")
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "kvm changed a mask with no record: tid=124 set reason=6 inhibits=0x40" in out,
       f"extra line: rc={rc} {out!r}")
    # the same line as a no-op (mask the VM had) agrees: the test above is about the mask
    edit(d, "trace", lambda t: t.replace("set reason=6, inhibits=0x40", "set reason=2, inhibits=0x4"))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 0 and verdicts(out) == ["agree"], f"no-op line: rc={rc} {out!r}")
    # a wrong name in the module's reasons file
    d = copy(tmp, "v72")
    edit(d, "reasons", lambda t: t.replace("reason=PIT_REINJ ", "reason=PIT_REINJECT ", 1))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "verify: DISAGREE (bit 9: module PIT_REINJECT, kvm PIT_REINJ (BTF enum kvm_apicv_inhibit))" in out,
       f"wrong name: rc={rc} {out!r}")
    # a record whose reason= is not kvm's name for the line's number
    d = copy(tmp, "v61")
    edit(d, "follow", lambda t: t.replace("reason=ABSENT bit=2 old=0x4 new=0x0 result=changed",
                                          "reason=HYPERV bit=2 old=0x4 new=0x0 result=changed", 1))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "says reason=HYPERV, kvm's name for bit 2 is ABSENT" in out,
       f"record name: rc={rc} {out!r}")
    # 5.10: an activation flip kvm made that the module did not record
    d = copy(tmp, "v510")
    edit(d, "follow", lambda t: re.sub(r"^seq=5 .*\n", "", t, flags=re.M))
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 7 and "kvm flipped activation with no record: tid=200 activate bit=4" in out,
       f"5.10 extra flip: rc={rc} {out!r}")
    # lost tracefs lines: no verdict either way
    d = copy(tmp, "v61")
    edit(d, "trace", lambda t: t.replace("entries-in-buffer/entries-written: ", "entries-in-buffer/entries-written: 1/9999 #", 1)
         if "entries-in-buffer" in t else "# entries-in-buffer/entries-written: 1/9999   #P:2\n" + t)
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 8 and "verify: INCONCLUSIVE" in out, f"overrun: rc={rc} {out!r}")


def test_quiet(b, tmp):
    d = copy(tmp, "v61")
    with open(os.path.join(d, "follow")) as fh:
        last = max(int(m) for m in re.findall(r" ns=(\d+)", fh.read()))
    with open(os.path.join(d, "window"), "w") as fh:
        fh.write(f"t0_ns={last + 10**8} t1_ns={last + 10**8 + 3 * 10**9}\n")
    rc, out, _ = run(b, "verify", "--replay", d)
    ok(rc == 0 and "verify: agree (no inhibit change in 3s, 0 VMs; names checked against BTF)" in out,
       f"quiet window: rc={rc} {out!r}")


def test_usage(b):
    for args, word in [(["verify", "--dir", FIX], "--dir does not apply"),
                       (["verify", "--json"], "no JSON"),
                       (["verify", "-d", "0"], "whole seconds"),
                       (["verify", "-d", "x"], "whole seconds"),
                       (["names", "-d", "3"], "-d goes with verify"),
                       (["verify", "--apply"], "--apply goes with names"),
                       (["list", "--replay", FIX], "--replay goes with")]:
        rc, out, err = run(b, *args)
        ok(rc == 2 and word in err and out == "", f"usage {args}: rc={rc} err={err!r}")
    rc, out, _ = run(b, "--help")
    ok("verify [-d SECONDS]" in out and "names [--apply]" in out and "7 verify" in out,
       "--help lists verify and names")
    rc, out, err = run(b, "verify", "--replay", "/nonexistent-dir")
    ok(rc == 1 and "cannot read /nonexistent-dir/trace" in err, f"replay missing: {rc} {err!r}")


def fake_sys(tmp, status):
    s = os.path.join(tmp, "sys")
    shutil.rmtree(s, ignore_errors=True)
    os.makedirs(os.path.join(s, "module", "apicv_trace", "parameters"))
    os.makedirs(os.path.join(s, "kernel", "debug", "apicv_trace"))
    with open(os.path.join(s, "kernel", "debug", "apicv_trace", "status"), "w") as fh:
        fh.write(status)
    for f in ("reasons", "vms"):
        shutil.copy(os.path.join(FIX, "v72", f), os.path.join(s, "kernel", "debug", "apicv_trace", f))
    return s


def test_live_errors(b, tmp):
    env = {"APICV_TRACE_SYSFS": fake_sys(tmp, "module=apicv_trace version=0\nkernel=7.2 lockdown=confidentiality\nkvm=hooked\n")}
    rc, out, err = run(b, "verify", "-d", "1", env=env, timeout=10)
    if os.geteuid() != 0:
        ok(rc == 5 and "needs root" in err, f"not root: rc={rc} {err!r}")
        return
    ok(rc == 8 and "lockdown" in err, f"lockdown: rc={rc} {err!r}")
    env = {"APICV_TRACE_SYSFS": fake_sys(tmp, "module=apicv_trace version=0\nkernel=7.2 lockdown=none\nkvm=waiting\n")}
    rc, out, err = run(b, "verify", "-d", "1", env=env, timeout=10)
    ok(rc == 8 and "kvm is not loaded" in err, f"no kvm: rc={rc} {err!r}")
    env = {"APICV_TRACE_SYSFS": fake_sys(tmp, "module=apicv_trace version=0\nkernel=7.2 lockdown=none\nkvm=hooked\n")}
    rc, out, err = run(b, "verify", "-d", "1", env=env, timeout=10)
    ok(rc == 8 and "no tracefs" in err, f"no tracefs: rc={rc} {err!r}")
    os.makedirs(os.path.join(env["APICV_TRACE_SYSFS"], "kernel", "tracing", "instances"))
    rc, out, err = run(b, "verify", "-d", "1", env=env, timeout=10)
    ok(rc == 8 and "neither kvm_apicv_inhibit_changed nor kvm_apicv_update_request" in err,
       f"no event: rc={rc} {err!r}")
    # arming fails (a fake tracefs has no trace_clock): the instance is still
    # removed, and a dead verify's instance is removed first, a live one's kept
    tr = os.path.join(env["APICV_TRACE_SYSFS"], "kernel", "tracing")
    ev = os.path.join(tr, "events", "kvm", "kvm_apicv_inhibit_changed")
    os.makedirs(ev)
    shutil.copy(os.path.join(FIX, "v72", "trace.format"), os.path.join(ev, "format"))
    dead = os.path.join(tr, "instances", "apicv-trace-verify.999999999")
    alive = os.path.join(tr, "instances", "apicv-trace-verify.1")
    os.makedirs(dead)
    os.makedirs(alive)
    rc, out, err = run(b, "verify", "-d", "1", env=env, timeout=10)
    left = sorted(os.listdir(os.path.join(tr, "instances")))
    ok(rc == 8 and "arming the tracefs instance" in err and left == ["apicv-trace-verify.1"],
       f"arming fails: rc={rc} err={err!r} instances left {left}")
    s = os.path.join(tmp, "nomod")
    os.makedirs(s, exist_ok=True)
    rc, out, err = run(b, "verify", env={"APICV_TRACE_SYSFS": s}, timeout=10)
    ok(rc == 3 and "not loaded" in err, f"no module: rc={rc} {err!r}")


# --- BTF blobs ---------------------------------------------------------------

def btf_blob(types, strings):
    hdr = struct.pack("<HBBIIIII", 0xeB9F, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + types + strings


def btf_pair(consts):
    """vmlinux (an int and an unrelated enum) and kvm's split BTF with enum
    kvm_apicv_inhibit: the split's string offsets continue vmlinux's."""
    bstr = b"\0int\0pid_type\0PIDTYPE_PID\0"
    btypes = struct.pack("<IIII", 1, 1 << 24, 4, 32)                       # INT
    btypes += struct.pack("<IIIIi", 5, (6 << 24) | 1, 4, 14, 0)           # ENUM pid_type
    base = btf_blob(btypes, bstr)
    sstr = b"kvm_apicv_inhibit\0"
    offs = []
    for n, _ in consts:
        offs.append(len(bstr) + len(sstr))
        sstr += n.encode() + b"\0"
    stypes = struct.pack("<IIII", 1, 1 << 24, 4, 32)                       # an INT first
    stypes += struct.pack("<III", len(bstr), (6 << 24) | len(consts), 4)
    for o, (_, v) in zip(offs, consts):
        stypes += struct.pack("<Ii", o, v)
    return base, btf_blob(stypes, sstr)


def test_names(b, tmp):
    s = fake_sys(tmp, "module=apicv_trace version=0\nkernel=7.3 lockdown=none\nkvm=hooked\n")
    shutil.copy(os.path.join(RESULTS, "reasons"), os.path.join(s, "kernel", "debug", "apicv_trace", "reasons"))
    ev = os.path.join(s, "kernel", "tracing", "events", "kvm", "kvm_apicv_inhibit_changed")
    os.makedirs(ev)
    os.makedirs(os.path.join(s, "kernel", "tracing", "instances"))
    shutil.copy(os.path.join(FIX, "v72", "trace.format"), os.path.join(ev, "format"))
    names = ["DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
             "APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN", "PIT_REINJ",
             "SEV", "LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG"]
    base, split = btf_pair([("APICV_INHIBIT_REASON_" + n, i) for i, n in enumerate(names)]
                           + [("NR_APICV_INHIBIT_REASONS", len(names))])
    os.makedirs(os.path.join(s, "kernel", "btf"))
    for f, blob in (("vmlinux", base), ("kvm", split)):
        with open(os.path.join(s, "kernel", "btf", f), "wb") as fh:
            fh.write(blob)
    param = os.path.join(s, "module", "apicv_trace", "parameters", "reason_names")
    open(param, "w").close()
    env = {"APICV_TRACE_SYSFS": s}
    rc, out, err = run(b, "names", "--apply", env=env)
    ok(rc == 0 and "bit=12 name=PHYSICAL_ID_TOO_BIG from=btf module=PHYSICAL_ID_TOO_BIG" in out
       and "bit=8 name=IRQWIN from=tracepoint module=IRQWIN" in out
       and "kvm: names from BTF and tracepoint format; they agree" in out
       and "module: agrees with kvm's names" in out
       and "NR_APICV" not in out
       and "options apicv_trace reason_names=0=" in out, f"names: rc={rc} out={out!r} err={err!r}")
    with open(param) as fh:
        got = fh.read()
    ok(got == ",".join(f"{i}={n}" for i, n in enumerate(names)), f"reason_names written: {got!r}")
    # BTF values are exact: a kvm whose enum starts at 1 moves every format entry too
    base, split = btf_pair([("APICV_INHIBIT_REASON_" + n, i + 1) for i, n in enumerate(names)])
    with open(os.path.join(s, "kernel", "btf", "kvm"), "wb") as fh:
        fh.write(split)
    rc, out, err = run(b, "names", env=env)
    ok(rc == 0 and "bit=13 name=PHYSICAL_ID_TOO_BIG from=btf module=-" in out
       and "bit=13 name=PHYSICAL_ID_TOO_BIG from=tracepoint module=-" in out
       and "module: DIFFERS from kvm's names" in out, f"shifted enum: {out!r} {err!r}")
    # the format disagreeing with BTF is said
    base, split = btf_pair([("APICV_INHIBIT_REASON_" + n, i) for i, n in enumerate(names)])
    with open(os.path.join(s, "kernel", "btf", "kvm"), "wb") as fh:
        fh.write(split)
    edit(ev, "format", lambda t: t.replace('"IRQWIN"', '"IRQ_WINDOW"'))
    rc, out, err = run(b, "names", env=env)
    ok(rc == 0 and "BTF and the tracepoint format DISAGREE" in out
       and "bit=8 name=IRQ_WINDOW from=tracepoint module=IRQWIN" in out, f"format differs: {out!r}")
    # a truncated kvm BTF: no names from it, no crash
    with open(os.path.join(s, "kernel", "btf", "kvm"), "wb") as fh:
        fh.write(split[:40])
    rc, out, err = run(b, "names", env=env)
    ok(rc == 0 and "from=btf" not in out and "from=tracepoint" in out, f"bad BTF: {out!r} {err!r}")
    # numeric entries give their bit, whatever their position
    edit(ev, "format", lambda t: t[:t.index("__print_flags(")] +
         '__print_flags(REC->inhibits, "|", { 0x1, "A" }, { (1UL << 3), "B" }, { 4, "C" }) : ""\n')
    os.remove(os.path.join(s, "kernel", "btf", "kvm"))
    rc, out, err = run(b, "names", env=env)
    got = sorted(l.split()[:2] for l in out.splitlines() if "from=tracepoint" in l)
    ok(got == [["bit=0", "name=A"], ["bit=2", "name=C"], ["bit=3", "name=B"]], f"numeric entries: {got} {out!r}")
    # replay form: the btf.enum text
    rc, out, err = run(b, "names", "--replay", os.path.join(FIX, "v61"))
    ok(rc == 0 and "bit=8 name=PIT_REINJ from=btf module=PIT_REINJ" in out
       and "from=tracepoint" not in out, f"names replay v61: {out!r} {err!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    args = ap.parse_args()
    for b in args.bin:
        b = os.path.abspath(b)
        print(f"== {b}")
        with tempfile.TemporaryDirectory() as tmp:
            for t in [test_agree, test_usage]:
                t(b)
            for t in [test_skew, test_disagree, test_quiet, test_live_errors, test_names]:
                t(b, tmp)
    return tally.done()


if __name__ == "__main__":
    sys.exit(main())
