#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check what the guest side of the e2e suite (guest.sh) collected.

usage: check.py RESULTS_DIR          (holds avic1/ and avic0/ from guest.sh)

Every check either passes or names what it expected and what it saw. The
last line is "e2e: N passed, M failed"; the exit status is 0 only if M == 0.

The central check compares apicv_trace with the kernel's own
kvm_apicv_inhibit_changed tracepoint, count for count: the compared run
loads apicv_trace with log_noop=1, so each call of KVM's setter yields one
apicv_trace record (changed or noop) and one tracepoint line, on the same
thread and in the same order. Pairing them by thread and order, every pair
must agree on reason, direction and resulting mask; and grouping the pairs
by VM, a tracepoint line changed the mask exactly when apicv_trace says
result=changed.
"""
import os
import re
import sys

PASSED = []
FAILED = []

# Kernel addresses must never leave the kernel: no 0xffff... anywhere.
KPTR = re.compile(r"\b(?:0x)?ffff[0-9a-f]{12}\b", re.I)
SITE = re.compile(r"^(?:-|\?|[A-Za-z_][\w.]*\+0x[0-9a-f]+)$")
# Requests KVM drops with APICv off that reach an out-of-line function
# apicv_trace can hook (kvm_set_or_clear_apicv_inhibit). The others
# (ABSENT, BLOCKIRQ, HYPERV) return inside an inlined check first.
DROP_VISIBLE = {"PIT_REINJ", "APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "IRQWIN"}

TP = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\].*?kvm_apicv_inhibit_changed: "
                r"(set|cleared) reason=(\d+), inhibits=(0x[0-9a-f]+)")

# Checks guest.sh must have reported as OK (a skipped check is a failure).
GUEST_CHECKS = {
    "avic1": ["waiting_for_kvm", "armed_after_kvm", "follow_nonblock_poll",
              "follow_readers_block", "follow_blocking_readers",
              "param_ring_size_ok", "stream_size_readonly", "files_0444",
              "insmod_bad_param", "max_exited_bounds", "clear_exited",
              "clear_events", "adopt_baseline", "kvm_amd_reload",
              "armed_after_kvm_amd_reload", "events_after_kvm_amd_reload",
              "kvm_unload", "disarmed_without_kvm", "rearmed_after_reload",
              "events_after_reload", "unload_busy_while_follow_open",
              "unload_after_follow_closed", "unload_cycles",
              "follow_slow_lost", "final_unload"]
             + [f"param_{p}_rejects_{v}" for p, v in (
                 ("ring_size", "0"), ("ring_size", "100"), ("ring_size", "131072"),
                 ("ring_size", "abc"), ("max_vms", "0"), ("max_vms", "99999999999"),
                 ("max_exited", "-1"), ("max_exited", "5000"), ("clear", "1"),
                 ("clear", "yes"), ("clear", ""), ("log_noop", "maybe"))]
             + [f"write_refused_{f}" for f in ("status", "reasons", "vms", "events", "follow")],
    "avic0": ["avic0_dropped", "unload"],
}


def check(name, cond, detail=""):
    (PASSED if cond else FAILED).append(name)
    print(f"{'ok  ' if cond else 'FAIL'} {name}" + ("" if cond else f": {detail}"))
    return cond


def tokens(line):
    out = {}
    for tok in line.split():
        k, sep, v = tok.partition("=")
        if sep:
            out[k] = v
    return out


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def records(text):
    return [tokens(l) for l in text.splitlines() if l.startswith("seq=")]


def kvmdrive(text):
    """Header, STEP and VM lines of a kvmdrive output."""
    head, steps, vms = {}, [], []
    for l in text.splitlines():
        tag = l.split(" ", 1)[0]
        if tag == "KVDRIVE":
            head = tokens(l)
        elif tag == "STEP":
            steps.append(tokens(l))
        elif tag == "VM" and " created " in f" {l} ":
            vms.append(tokens(l)["vm"])
        elif tag == "DONE":
            head["done"] = tokens(l).get("result")
    return head, steps, vms


def expected_changes(steps, vm):
    """(event, reason, vcpu) per expected mask change of one VM, in order;
    and whether the VM has IRQWIN flapping (then IRQWIN is checked apart)."""
    exp, flaps = [], False
    for s in steps:
        if s.get("vm") != vm or s.get("expect") in (None, "none", "unsupported"):
            continue
        for item in s["expect"].split(","):
            verb, _, reason = item.partition(":")
            if verb == "flap":
                flaps = True
            elif verb in ("set", "clear"):
                exp.append((verb, reason, s.get("vcpu", "-"), s.get("step")))
    return exp, flaps


def check_scenario(name, kv, recs, reasons):
    head, steps, vms = kvmdrive(kv)
    check(f"{name}: kvmdrive completed", head.get("done") == "ok",
          f"DONE result={head.get('done')}")
    check(f"{name}: kvmdrive reason table matches apicv_trace's",
          head.get("reasons", "").split(",") == reasons,
          f"{head.get('reasons')} vs {reasons}")
    check(f"{name}: saw its VMs", len(vms) >= 1, "no VM line")
    for vm in vms:
        mine = [r for r in recs if r.get("vm") == vm]
        exp, flaps = expected_changes(steps, vm)
        got = [r for r in mine if r["result"] == "changed"
               and not (flaps and r["reason"] == "IRQWIN")]
        want = [(e, r) for e, r, _, _ in exp]
        have = [(r["event"], r["reason"]) for r in got]
        check(f"{name}/{vm}: mask changes are exactly the expected ones",
              have == want, f"expected {want}, traced {have}")
        for (e, reason, vcpu, step), r in zip(exp, got):
            if vcpu != "-" and (e, reason) == (r["event"], r["reason"]):
                check(f"{name}/{vm}: {step} attributed to vcpu {vcpu}",
                      r["vcpu"] == vcpu, f"vcpu={r['vcpu']}")
        if flaps:
            irq = [r["event"] for r in mine
                   if r["reason"] == "IRQWIN" and r["result"] == "changed"]
            check(f"{name}/{vm}: IRQWIN flaps while the guest runs",
                  irq.count("set") >= 2 and irq.count("clear") >= 2,
                  f"IRQWIN changes: {irq}")
        events = [r["event"] for r in mine]
        check(f"{name}/{vm}: vm_create and vm_destroy seen",
              events[:1] == ["vm_create"] and events[-1:] == ["vm_destroy"],
              f"first/last events {events[:1]} {events[-1:]}")
    return head, steps, vms


def check_apic_id(recs, steps, vm):
    """6.1: the xAPIC ID check is shown with the IDs KVM compared."""
    ids = [r for r in recs if r.get("vm") == vm and r["event"] == "apic_id"]
    # The first KVM_SET_LAPIC is the unchanged round trip (lapic_set_same).
    same = [r for r in ids[:1] if r.get("match") == "yes" and r.get("inhibit") == "no"
            and r.get("xapic_id") == r.get("vcpu_id") == "0"]
    moved = [r for r in ids if r.get("match") == "no" and r.get("inhibit") == "yes"
             and r.get("xapic_id") == "1" and r.get("vcpu_id") == "0"]
    check(f"basic/{vm}: apic_id for the unchanged round trip (match, no inhibit)",
          bool(same), f"apic_id records: {ids}")
    check(f"basic/{vm}: apic_id for the changed ID (xapic_id=1 vcpu_id=0, inhibit)",
          bool(moved), f"apic_id records: {ids}")


def check_tracepoint(trace, recs, reasons):
    """apicv_trace against the kernel's tracepoint, count for count."""
    tp = {}
    for l in trace.splitlines():
        m = TP.match(l)
        if m:
            tp.setdefault(m.group(2), []).append(
                (reasons[int(m.group(4))], m.group(3) == "set", int(m.group(5), 16)))
    ours = {}
    for r in recs:
        if r["event"] in ("set", "clear") and r["result"] in ("changed", "noop"):
            ours.setdefault(r["tid"], []).append(r)
    n_tp = sum(len(v) for v in tp.values())
    check("tracepoint: lines captured", n_tp > 0, "no kvm_apicv_inhibit_changed lines")
    check("tracepoint: same threads", sorted(tp) == sorted(ours),
          f"tracepoint tids {sorted(tp)}, apicv_trace tids {sorted(ours)}")
    pairs, bad = [], []
    for tid in tp:
        a, b = tp[tid], ours.get(tid, [])
        if len(a) != len(b):
            bad.append(f"tid {tid}: {len(a)} tracepoint lines, {len(b)} records")
        for (reason, is_set, mask), r in zip(a, b):
            mine = (r["reason"], r["event"] == "set", int(r["new"], 16))
            if mine != (reason, is_set, mask):
                bad.append(f"tid {tid}: tracepoint {reason} set={is_set} "
                           f"0x{mask:x}, apicv_trace seq={r['seq']} {mine[0]} "
                           f"set={mine[1]} 0x{mine[2]:x}")
            pairs.append((r, mask))
    check(f"tracepoint: {n_tp} lines pair 1:1 with records (reason, direction, mask)",
          not bad, "; ".join(bad[:5]))
    # Changed per VM, derived from the tracepoint's own mask sequence.
    prev, wrong, changed = {}, [], 0
    for r, mask in sorted(pairs, key=lambda p: int(p[0]["seq"])):
        vm = r["vm"]
        before = prev.get(vm, 0)
        tp_changed = mask != before
        prev[vm] = mask
        changed += tp_changed
        if tp_changed != (r["result"] == "changed"):
            wrong.append(f"seq={r['seq']} result={r['result']} tracepoint changed={tp_changed}")
        if int(r["old"], 16) != before:
            wrong.append(f"seq={r['seq']} old={r['old']}, tracepoint mask before 0x{before:x}")
    check(f"tracepoint: the {changed} real transitions are exactly the result=changed records, old masks agree",
          not wrong, "; ".join(wrong[:5]))
    extra = [r for r in recs if r["result"] == "changed" and r not in [p[0] for p in pairs]]
    check("tracepoint: no changed record without a tracepoint line", not extra,
          f"{len(extra)} extra, first seq={extra[0]['seq'] if extra else ''}")
    return n_tp, changed


def check_states(d, recs):
    """vm/<key>/state aggregates agree with the events."""
    for f in sorted(os.listdir(d)):
        if not f.startswith("state."):
            continue
        vm = f[len("state."):]
        state = read(os.path.join(d, f))
        mine = [r for r in recs if r.get("vm") == vm and r["result"] == "changed"]
        for l in state.splitlines():
            if not l.startswith("reason="):
                continue
            t = tokens(l)
            sets = sum(1 for r in mine if r["reason"] == t["reason"] and r["event"] == "set")
            clears = sum(1 for r in mine if r["reason"] == t["reason"] and r["event"] == "clear")
            check(f"state/{vm}/{t['reason']}: sets and clears match the events",
                  (int(t["sets"]), int(t["clears"])) == (sets, clears),
                  f"state {t['sets']}/{t['clears']}, events {sets}/{clears}")


def tp_changes(trace, reasons):
    """(reason, set) of every tracepoint line that changed the mask; for a
    run with one VM at a time (the mask starts at 0 with each VM)."""
    out, prev = [], 0
    for l in trace.splitlines():
        m = TP.match(l)
        if not m:
            continue
        mask = int(m.group(5), 16)
        if mask != prev:
            out.append((reasons[int(m.group(4))], m.group(3) == "set"))
        prev = mask
    return out


def check_wrap(d, reasons):
    """ring_size=16 under an IRQWIN flood: the ring wraps, the aggregates
    still count every change the kernel's tracepoint saw."""
    states = [f for f in os.listdir(d) if f.startswith("state.")]
    if not check("wrap: one VM traced", len(states) == 1, str(states)):
        return
    vm = states[0][len("state."):]
    state = read(os.path.join(d, states[0]))
    ev = read(os.path.join(d, f"events.{vm}"))
    kept = len(records(ev))
    lost = sum(int(tokens(l)["lost"]) for l in ev.splitlines() if l.startswith("lost="))
    head = tokens(state.splitlines()[2])
    check(f"wrap/{vm}: the ring wrapped (kept {kept}, lost {lost})",
          kept <= 16 and lost > 100, f"kept {kept} lost {lost}")
    check(f"wrap/{vm}: kept + lost == events ({head.get('events')})",
          kept + lost == int(head.get("events", -1)), f"{kept}+{lost}")
    tp = tp_changes(read(os.path.join(d, "trace")), reasons)
    for l in state.splitlines():
        if not l.startswith("reason="):
            continue
        t = tokens(l)
        sets = sum(1 for r, st in tp if r == t["reason"] and st)
        clears = sum(1 for r, st in tp if r == t["reason"] and not st)
        check(f"wrap/{vm}/{t['reason']}: sets/clears {t['sets']}/{t['clears']} "
              f"equal the tracepoint's {sets}/{clears}",
              (int(t["sets"]), int(t["clears"])) == (sets, clears))
    irq = re.search(r"^reason=IRQWIN .*$", state, re.M)
    pit = re.search(r"^reason=PIT_REINJ .*$", state, re.M)
    life = int(head.get("exited_ns", 0)) - int(head.get("created_ns", 0))
    if check(f"wrap/{vm}: IRQWIN and PIT_REINJ aggregated", bool(irq and pit)):
        pit_ms = int(tokens(pit.group(0))["inhibited_ms"])
        irq_ms = int(tokens(irq.group(0))["inhibited_ms"])
        check(f"wrap/{vm}: PIT_REINJ inhibited for most of the VM's life "
              f"({pit_ms} ms of {life // 10**6} ms)",
              0.5 * life / 1e6 <= pit_ms <= life / 1e6 + 1)
        check(f"wrap/{vm}: IRQWIN inhibited_ms ({irq_ms}) within the VM's life",
              0 <= irq_ms <= life / 1e6)


def check_seedpatch(d, recs):
    """vCPU 256: xAPIC ID (u8)256 = 0 matches, so the round trip does not inhibit."""
    head, steps, vms = kvmdrive(read(os.path.join(d, "kvmdrive.seedpatch")))
    if not check("seedpatch: kvmdrive completed with vCPU 256",
                 head.get("done") == "ok" and len(vms) == 1, str(head)):
        return
    ids = [r for r in recs if r.get("vm") == vms[0] and r["event"] == "apic_id"]
    check(f"seedpatch/{vms[0]}: vcpu_id=256 xapic_id=0 match=yes inhibit=no",
          any(r.get("vcpu_id") == "256" and r.get("xapic_id") == "0"
              and r.get("match") == "yes" and r.get("inhibit") == "no" for r in ids),
          str(ids))
    asked = [r for r in recs if r.get("vm") == vms[0] and r["event"] != "apic_id"
             and r["reason"] == "APIC_ID_MODIFIED"]
    check(f"seedpatch/{vms[0]}: no APIC_ID_MODIFIED request at all", not asked, str(asked))


def check_files(base):
    """No kernel address and only symbolic sites anywhere apicv_trace wrote:
    its files, and its lines in the kernel log."""
    leaks, sites = [], []
    for root, _, files in os.walk(base):
        for f in files:
            p = os.path.join(root, f)
            text = read(p)
            if f.endswith(".log"):
                text = "\n".join(l for l in text.splitlines() if "apicv_trace" in l)
            if KPTR.search(text):
                leaks.append(f"{p}: {KPTR.search(text).group(0)}")
            for l in text.splitlines():
                if l.startswith("seq="):
                    s = tokens(l).get("site", "")
                    if not SITE.match(s):
                        sites.append(f"{p}: site={s}")
    check("no kernel address in any output", not leaks, "; ".join(leaks[:3]))
    check("every site is a symbol", not sites, "; ".join(sites[:3]))


def check_guest_checks(d, mode):
    lines = read(os.path.join(d, "checks.txt")).splitlines()
    oks = {l.split()[1] for l in lines if l.startswith("OK ")}
    for l in lines:
        if l.startswith("FAIL"):
            check(f"{mode}: guest check {l.split()[1]}", False, l)
    for name in GUEST_CHECKS[mode]:
        check(f"{mode}: guest check {name}", name in oks, "not reported OK")
    for l in lines:
        if l.startswith("OK ") and l.split()[1] not in GUEST_CHECKS[mode]:
            check(f"{mode}: guest check {l.split()[1]}", True)


def main(base):
    a1 = os.path.join(base, "avic1")
    cmp_dir = os.path.join(a1, "compare")
    check_guest_checks(a1, "avic1")
    reasons = [tokens(l)["reason"] for l in read(os.path.join(cmp_dir, "reasons")).splitlines()]
    status = read(os.path.join(cmp_dir, "status"))
    for hook in re.findall(r"^hook=(\S+) .*$", status, re.M):
        line = re.search(rf"^hook={hook} .*$", status, re.M).group(0)
        t = tokens(line)
        check(f"status: hook {hook} armed ({t['symbol']})",
              t["state"] in ("armed", "n/a"), line)
        check(f"status: hook {hook} missed nothing", t["nmissed"] == "0", line)
    recs = records(read(os.path.join(cmp_dir, "events")))
    for sc in ("basic", "twovms", "guest"):
        head, steps, vms = check_scenario(sc, read(os.path.join(cmp_dir, f"kvmdrive.{sc}")),
                                          recs, reasons)
        if sc == "basic" and vms:
            check_apic_id(recs, steps, vms[0])
            if head.get("gen") == "6.1":
                st = read(os.path.join(cmp_dir, f"state.{vms[0]}"))
                line = re.search(r"^reason=APIC_ID_MODIFIED .*$", st, re.M)
                t = tokens(line.group(0)) if line else {}
                check(f"basic/{vms[0]}: APIC_ID_MODIFIED stays set and is marked sticky on 6.1",
                      t.get("now") == "set" and t.get("sticky") == "yes", str(t))
        if sc == "twovms":
            # B is created and driven by its own thread (the pid in its
            # key); everything that thread did must be on B, not on A.
            b_tid = vms[-1].split("-")[0] if len(vms) == 2 else None
            on = {r["vm"] for r in recs if r["tid"] == b_tid}
            check("twovms: two VMs at once, B's thread only touches B",
                  len(vms) == 2 and on == {vms[-1]}, f"VMs {vms}, B's thread on {on}")
    n_tp, n_changed = check_tracepoint(read(os.path.join(cmp_dir, "trace")), recs, reasons)
    unnamed = [r["seq"] for r in recs if r["site"] in ("?", "-") and r["event"] in ("set", "clear")]
    check("compare: every set/clear names the KVM function that asked", not unnamed,
          f"seq {unnamed[:5]}")
    check_wrap(os.path.join(a1, "wrap"), reasons)
    check_states(cmp_dir, recs)
    vms = read(os.path.join(cmp_dir, "vms"))
    check("vms: every compared VM is listed as exited",
          vms.strip() and all("status=exited" in l for l in vms.splitlines()), vms)
    adopt = records(read(os.path.join(a1, "adopt", "events")))
    base_rec = [r for r in adopt if r["event"] == "baseline"]
    check("adopt: a VM from before the load starts with its mask as baseline",
          base_rec and int(base_rec[0]["new"], 16) != 0, str(base_rec[:1]))
    check("adopt: its state says baseline=yes",
          "baseline=yes" in read(os.path.join(a1, "adopt", "state")), "no baseline=yes")

    a0 = os.path.join(base, "avic0")
    check_guest_checks(a0, "avic0")
    recs0 = records(read(os.path.join(a0, "avic0", "events")))
    head, steps, vms0 = kvmdrive(read(os.path.join(a0, "avic0", "kvmdrive")))
    for vm in vms0:
        want = []
        for s in steps:
            if s.get("vm") == vm and s.get("expect", "none") not in ("none", "unsupported"):
                for item in s["expect"].split(","):
                    verb, _, reason = item.partition(":")
                    if verb.endswith("-dropped") and reason in DROP_VISIBLE:
                        want.append((verb[:-8], reason))
        got = [(r["event"], r["reason"]) for r in recs0
               if r.get("vm") == vm and r["result"] == "dropped"]
        check(f"avic0/{vm}: requests show as dropped, in order", got == want,
              f"expected {want}, traced {got}")
        changed = [r for r in recs0 if r.get("vm") == vm and r["result"] == "changed"
                   and r.get("init") != "yes"]
        check(f"avic0/{vm}: nothing but VM creation changes the mask", not changed,
              str(changed[:2]))
    check_seedpatch(os.path.join(a0, "avic0"), recs0)
    check_files(base)
    print(f"e2e: compared {n_tp} tracepoint lines, {n_changed} transitions")
    print(f"e2e: {len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
