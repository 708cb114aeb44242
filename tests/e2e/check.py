#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check what the guest side of the e2e suite (guest.sh) collected.

usage: check.py RESULTS_DIR          (holds avic1/ and avic0/ from guest.sh)

Every check either passes or names what it expected and what it saw. The
last line is "e2e: N passed, M failed"; the exit status is 0 only if M == 0.
A check that cannot be made (a file missing, a line unparsable) fails.

The central check compares apicv_trace with the kernel's own tracepoint,
count for count. 6.1+: kvm_apicv_inhibit_changed, which fires inside
KVM's setter on every call. The compared run loads apicv_trace with
log_noop=1, so each setter call yields records (changed or noop, one per
bit that moved; all with the call's ns and thread) and tracepoint lines on
the same thread, in the same order:
  6.1, 6.12  one line per call: the requested reason and the new mask;
  7.2+       two lines per call: the requested reason (unless it is
             IRQWIN), then IRQWIN recomputed from KVM's counter, every time,
             changed or not (a change is apicv_trace's side=yes record).
From the records of each call, check.py builds the lines the call implies
and pairs them with the tracepoint's, per thread and in order; every pair
must agree on reason, direction and mask, and following each VM's mask
through the tracepoint's lines, a line changed the mask exactly when
apicv_trace says result=changed. IRQWIN requests that KVM 7.2+ absorbs in
its counter (result=absorbed) never reach the setter and have no line.
5.10 only traces activation flips (kvm_apicv_update_request); there,
records that flip activation must equal its lines, count for count.

Names. apicv_trace's reasons file (bit -> name) must be, on 6.1+, the
running kernel's enum kvm_apicv_inhibit as its BTF has it (kvmdrive
btf-enum); 6.12+ tracepoint lines print the names of the mask's reasons
after it, which must be apicv_trace's for every line, and the event's
format lists every reason in a __print_flags table whose entries name the
enum constants (not eval-mapped to numbers in these kernels), resolved to
bits through BTF: that table too must be apicv_trace's. This is what holds
7.3's hand-written table against the kernel.
"""
import ast
import json
import os
import re
import subprocess
import sys

PASSED = []
FAILED = []

# Kernel lines, as guest.sh's $OUT/gen and kvmdrive's gen= say them.
G510, G61, G612, G7 = 0, 1, 2, 3
GENS = {"5.10": G510, "6.1": G61, "6.12": G612, "7": G7, "7.2": G7}

# Kernel addresses must never leave the kernel: no 0xffff... anywhere.
KPTR = re.compile(r"\b(?:0x)?ffff[0-9a-f]{12}\b", re.I)
SITE = re.compile(r"^(?:-|\?|[A-Za-z_][\w.]*\+0x[0-9a-f]+)$")

# Requests KVM drops with APICv off that reach an out-of-line function
# apicv_trace can hook (kvm_set_or_clear_apicv_inhibit; its callers are in
# kvm-versions.md 3.5). ABSENT, BLOCKIRQ and HYPERV return inside an
# inlined check first; 7.2+ SVM only counts IRQ windows with APICv on.
# 5.10 never drops (its setter does not look at avic).
DROP_VISIBLE = {
    G510: set(),
    G61: {"PIT_REINJ", "APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "IRQWIN"},
    G612: {"PIT_REINJ", "APIC_BASE_MODIFIED", "IRQWIN", "PHYSICAL_ID_ALIASED",
           "LOGICAL_ID_ALIASED", "APIC_ID_MODIFIED"},
    G7: {"PIT_REINJ", "APIC_BASE_MODIFIED", "PHYSICAL_ID_ALIASED",
         "LOGICAL_ID_ALIASED", "APIC_ID_MODIFIED"},
}

# Hooks per line: role -> the symbol that must be armed; and the roles that
# must be n/a (nothing to hook there). Other roles: armed or n/a.
_HOOKS_COMMON = {"vm_create": "kvm_arch_init_vm", "vm_destroy": "kvm_arch_destroy_vm",
                 "vcpu_create": "kvm_arch_vcpu_postcreate"}
_HOOKS_6 = dict(_HOOKS_COMMON, vm_key="kvm_arch_create_vm_debugfs",
                request="kvm_set_or_clear_apicv_inhibit")
HOOKS = {
    G510: dict(_HOOKS_COMMON, setter="kvm_request_apicv_update",
               init_reasons="kvm_apicv_init"),
    G61: dict(_HOOKS_6, setter="__kvm_set_or_clear_apicv_inhibit",
              apic_id="kvm_lapic_xapic_id_updated"),
    G612: dict(_HOOKS_6, setter="__kvm_set_or_clear_apicv_inhibit.part.0",
               apic_map="kvm_recalculate_apic_map"),
    G7: dict(_HOOKS_6, setter="__kvm_set_or_clear_apicv_inhibit",
             apic_map="kvm_recalculate_apic_map",
             irq_window="kvm_inc_or_dec_irq_window_inhibit"),
}
HOOKS_NA = {G510: {"request", "vm_key", "apic_id"}, G61: set(),
            G612: {"apic_id"}, G7: {"apic_id"}}

TP = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\].*?kvm_apicv_inhibit_changed: "
                r"(set|cleared) reason=(\d+), inhibits=(0x[0-9a-f]+)(?: (\S+))?\s*$")
TP510 = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\].*?kvm_apicv_update_request: "
                   r"(activate|deactivate) bit=(\d+)")

# Checks guest.sh must have reported as OK (a skipped check is a failure).
GUEST_CHECKS_AVIC1 = (
    ["waiting_for_kvm", "armed_after_kvm", "trace_enabled_compare",
     "trace_enabled_wrap", "follow_nonblock_poll",
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
    + [f"write_refused_{f}" for f in ("status", "reasons", "vms", "events", "follow")])


# The debug kernel (scripts/debug-kernel.sh, make check-debug) is built
# without BTF: its names are those of the 6.1 line, checked there.
DEBUG_KERNEL = False


def guest_checks(mode, gen):
    if mode == "avic1":
        btf = gen >= G61 and not DEBUG_KERNEL
        return GUEST_CHECKS_AVIC1 + (["btf_enum"] if btf else []) + misuse_checks()
    return ["trace_enabled_avic0", "unload",
            "avic0_nothing_dropped_510" if gen == G510 else "avic0_dropped"]


def check(name, cond, detail=""):
    cond = bool(cond)
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
    """A result file's text; '' (and a failed check) if it is missing."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError as e:
        check(f"file {os.path.relpath(path, BASE)} exists", False, str(e))
        return ""


def records(text):
    return [tokens(l) for l in text.splitlines() if l.startswith("seq=")]


def bits(mask):
    return [b for b in range(64) if mask >> b & 1]


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
    """(event, reason, vcpu, step) per expected mask change of one VM, in
    order; and the IRQWIN verb of the VM's guest run, if any: "flap" (the
    bit is set and cleared, checked apart) or "absorb" (7.2+: requests
    absorbed by KVM's counter; IRQWIN moves only as a side effect)."""
    exp, irqwin = [], None
    for s in steps:
        if s.get("vm") != vm or s.get("expect") in (None, "none", "unsupported"):
            continue
        for item in s["expect"].split(","):
            verb, _, reason = item.partition(":")
            if verb in ("flap", "absorb"):
                irqwin = verb
            elif verb in ("set", "clear"):
                exp.append((verb, reason, s.get("vcpu", "-"), s.get("step")))
    return exp, irqwin


# 7.2+: who counts IRQ windows up and down (kvm_inc_or_dec_irq_window_inhibit)
IRQWIN_SITES = {"set": "svm_enable_irq_window+", "clear": "svm_inject_irq+"}


def check_irqwin_sites(label, recs, what):
    """7.2+: IRQWIN requests name the SVM function that counted them."""
    bad = [f"seq={r['seq']} {r['event']} site={r['site']}" for r in recs
           if not r["site"].startswith(IRQWIN_SITES[r["event"]])]
    check(f"{label}: {what} name svm_enable_irq_window (set) / svm_inject_irq (clear)",
          recs and not bad, "; ".join(bad[:3]) or "none")


def check_scenario(name, kv, recs, names, gen=None):
    head, steps, vms = kvmdrive(kv)
    check(f"{name}: kvmdrive completed", head.get("done") == "ok",
          f"DONE result={head.get('done')}")
    table = head.get("reasons", "").split(",")
    check(f"{name}: kvmdrive reason table matches apicv_trace's",
          table == names, f"{head.get('reasons')} vs {names}")
    check(f"{name}: saw its VMs", len(vms) >= 1, "no VM line")
    for vm in vms:
        mine = [r for r in recs if r.get("vm") == vm]
        exp, irqwin = expected_changes(steps, vm)
        got = [r for r in mine if r["result"] == "changed"
               and not (irqwin and r["reason"] == "IRQWIN")]
        want = [(e, r) for e, r, _, _ in exp]
        have = [(r["event"], r["reason"]) for r in got]
        check(f"{name}/{vm}: mask changes are exactly the expected ones",
              have == want, f"expected {want}, traced {have}")
        for (e, reason, vcpu, step), r in zip(exp, got):
            # (KVM_CREATE_VCPU: the new vCPU is not loaded while the
            # vendor module sets it up, e.g. 7.2+ PHYSICAL_ID_TOO_BIG)
            if vcpu != "-" and step != "create_vcpu" and (e, reason) == (r["event"], r["reason"]):
                check(f"{name}/{vm}: {step} {e}:{reason} attributed to vcpu {vcpu}",
                      r["vcpu"] == vcpu, f"vcpu={r['vcpu']}")
        irq = [r for r in mine if r["reason"] == "IRQWIN" and r["result"] == "changed"]
        if irqwin == "flap":
            ev = [r["event"] for r in irq]
            check(f"{name}/{vm}: IRQWIN flaps while the guest runs",
                  ev.count("set") >= 2 and ev.count("clear") >= 2,
                  f"IRQWIN changes: {ev}")
            if gen == G7:
                check_irqwin_sites(f"{name}/{vm}", [r for r in irq if r.get("side") != "yes"],
                                   "IRQWIN changes through the counter")
        elif irqwin == "absorb":
            ab = [r["event"] for r in mine
                  if r["reason"] == "IRQWIN" and r["result"] == "absorbed"]
            check(f"{name}/{vm}: IRQWIN requests absorbed while the guest runs "
                  f"({ab.count('set')} sets, {ab.count('clear')} clears)",
                  ab.count("set") >= 2 and ab.count("clear") >= 2,
                  f"absorbed IRQWIN records: {ab[:10]}")
            bad = [r["seq"] for r in mine if r["result"] == "absorbed"
                   and (r["old"] != r["new"] or r["reason"] != "IRQWIN")]
            check(f"{name}/{vm}: absorbed records are IRQWIN and change nothing",
                  not bad, f"seq {bad[:5]}")
            check_irqwin_sites(f"{name}/{vm}", [r for r in mine if r["result"] == "absorbed"],
                               "absorbed requests")
            direct = [r["seq"] for r in irq if r.get("side") != "yes"]
            check(f"{name}/{vm}: IRQWIN moved only as a side effect ({len(irq)} side changes)",
                  not direct, f"IRQWIN changes that are not side=yes: seq {direct[:5]}")
        events = [r["event"] for r in mine]
        check(f"{name}/{vm}: vm_create and vm_destroy seen",
              events[:1] == ["vm_create"] and events[-1:] == ["vm_destroy"],
              f"first/last events {events[:1]} {events[-1:]}")
    return head, steps, vms


def check_apic_id(recs, steps, vm, gen):
    """The xAPIC ID check, shown with the IDs KVM compared."""
    ids = [r for r in recs if r.get("vm") == vm and r["event"] == "apic_id"]
    if gen == G510:
        check(f"basic/{vm}: no apic_id records (5.10 has no APIC ID inhibit)",
              not ids, str(ids[:2]))
        return
    if gen == G61:
        # kvm_lapic_xapic_id_updated on every KVM_SET_LAPIC; the first is
        # the unchanged round trip (lapic_set_same).
        same = [r for r in ids[:1] if r.get("match") == "yes" and r.get("inhibit") == "no"
                and r.get("xapic_id") == r.get("vcpu_id") == "0"]
        check(f"basic/{vm}: apic_id for the unchanged round trip (match, no inhibit)",
              bool(same), f"apic_id records: {ids}")
        moved = [r for r in ids if r.get("match") == "no" and r.get("inhibit") == "yes"
                 and r.get("xapic_id") == "1" and r.get("vcpu_id") == "0"]
        check(f"basic/{vm}: apic_id for the changed ID (xapic_id=1 vcpu_id=0, inhibit)",
              bool(moved), f"apic_id records: {ids}")
        return
    # 6.12+: written by the map recalculation that asked to set a reason,
    # for the vCPUs behind it; the round trips ask for nothing.
    got = [(r.get("vcpu_id"), r.get("xapic_id"), r.get("match"), r.get("inhibit"),
            r.get("alias")) for r in ids]
    check(f"basic/{vm}: one apic_id record, for the changed ID "
          "(vcpu_id=0 xapic_id=1 match=no inhibit=yes alias=no)",
          got == [("0", "1", "no", "yes", "no")], f"apic_id records: {got}")
    sets = [r for r in recs if r.get("vm") == vm and r["event"] == "set"
            and r["reason"] == "APIC_ID_MODIFIED" and r["result"] == "changed"]
    if ids and sets:
        check(f"basic/{vm}: the apic_id record follows the set it explains",
              int(ids[0]["seq"]) > int(sets[0]["seq"]) and int(ids[0]["ns"]) >= int(sets[0]["ns"]),
              f"apic_id seq={ids[0]['seq']}, set seq={sets[0]['seq']}")


def check_aliases(recs, kv, gen):
    """Two vCPUs with one xAPIC ID: the apic_id records name both."""
    head, steps, vms = kvmdrive(kv)
    if not vms or gen == G510:
        return
    vm = vms[0]
    ids = [r for r in recs if r.get("vm") == vm and r["event"] == "apic_id"]
    if gen == G61:
        check(f"aliases/{vm}: apic_id for vCPU 1 with vCPU 0's ID (match=no inhibit=yes)",
              any(r.get("vcpu_id") == "1" and r.get("xapic_id") == "0"
                  and r.get("match") == "no" and r.get("inhibit") == "yes" for r in ids),
              str(ids))
        return
    got = sorted((r.get("vcpu_id"), r.get("xapic_id"), r.get("match"), r.get("inhibit"),
                  r.get("alias")) for r in ids)
    want = [("0", "0", "yes", "no", "yes"), ("1", "0", "no", "yes", "yes")]
    check(f"aliases/{vm}: apic_id records name both vCPUs on xAPIC ID 0, "
          "and only them", got == want, f"expected {want}, got {got}")
    sets = [r for r in recs if r.get("vm") == vm and r["event"] == "set"
            and r["reason"] == "APIC_ID_MODIFIED" and r["result"] == "changed"]
    if ids and sets:
        check(f"aliases/{vm}: the apic_id records follow the sets of their recalculation",
              all(int(r["seq"]) > int(sets[0]["seq"]) for r in ids),
              f"apic_id seqs {[r['seq'] for r in ids]}, APIC_ID_MODIFIED set seq={sets[0]['seq']}")


def check_toobig(recs, kv, d, gen):
    """vCPU 255: 7.2+ inhibit for good, 6.1/6.12 refuse it (AVIC on)."""
    head, steps, vms = kvmdrive(kv)
    cv = [s for s in steps if s.get("step") == "create_vcpu"]
    want_rc = "-22" if gen in (G61, G612) else "0"
    check(f"toobig: KVM_CREATE_VCPU 255 returns {want_rc}",
          len(cv) == 1 and cv[0].get("rc") == want_rc, str(cv))
    if gen == G7 and vms:
        tb = [r for r in recs if r.get("vm") == vms[0] and r["reason"] == "PHYSICAL_ID_TOO_BIG"]
        check(f"toobig/{vms[0]}: one PHYSICAL_ID_TOO_BIG set, from avic_init_vcpu",
              len(tb) == 1 and tb[0]["event"] == "set" and tb[0]["site"].startswith("avic_init_vcpu+"),
              str(tb))
        st = read(os.path.join(d, f"state.{vms[0]}"))
        line = re.search(r"^reason=PHYSICAL_ID_TOO_BIG .*$", st, re.M)
        t = tokens(line.group(0)) if line else {}
        check(f"toobig/{vms[0]}: PHYSICAL_ID_TOO_BIG still set when the VM exited",
              t.get("now") == "set" and t.get("sets") == "1" and t.get("clears") == "0",
              str(t))


def setter_calls(recs):
    """Per thread, the recorded setter calls in order: lists of records
    (set/clear, changed or noop) sharing tid and ns. VM creation's init=yes
    records are one call each (KVM sets them without its setter)."""
    calls = {}
    for r in sorted(recs, key=lambda r: int(r["seq"])):
        if r["event"] not in ("set", "clear") or r["result"] not in ("changed", "noop"):
            continue
        mine = calls.setdefault(r["tid"], [])
        if r.get("init") == "yes":
            mine.append([r])
        elif mine and mine[-1][0].get("init") != "yes" and mine[-1][0]["ns"] == r["ns"]:
            mine[-1].append(r)
        else:
            mine.append([r])
    return calls


def implied_lines(call, gen, names, bad):
    """The tracepoint lines one recorded setter call implies:
    (reason, set, mask, record or None). See the module docstring."""
    first = call[0]
    if first.get("init") == "yes":
        return [(first["reason"], first["event"] == "set", int(first["new"], 16), first)]
    req = [r for r in call if r.get("side") != "yes"]
    side = [r for r in call if r.get("side") == "yes"]
    if len(req) != 1:
        bad.append(f"seq={first['seq']}: {len(req)} requested records in one setter call")
        return []
    req = req[0]
    final = int(call[-1]["new"], 16)
    if gen != G7:
        if side:
            bad.append(f"seq={side[0]['seq']}: side=yes on a kernel whose setter changes one bit")
        return [(req["reason"], req["event"] == "set", int(req["new"], 16), req)]
    irqwin = names.index("IRQWIN") if "IRQWIN" in names else -1
    irq_set = irqwin >= 0 and bool(final >> irqwin & 1)
    if req["reason"] == "IRQWIN":
        if side:
            bad.append(f"seq={side[0]['seq']}: side record in an IRQWIN call")
        return [("IRQWIN", irq_set, final, req)]
    other = [r for r in side if r["reason"] != "IRQWIN"]
    if other or len(side) > 1:
        bad.append(f"seq={side[0]['seq']}: side records {[r['reason'] for r in side]}")
    return [(req["reason"], req["event"] == "set", int(req["new"], 16), req),
            ("IRQWIN", irq_set, final, side[0] if side else None)]


def check_tracepoint(trace, recs, names, gen, label="tracepoint"):
    """apicv_trace against kvm_apicv_inhibit_changed, count for count."""
    tp = {}
    for l in trace.splitlines():
        m = TP.match(l)
        if m:
            r = int(m.group(4))
            tp.setdefault(m.group(2), []).append(
                (names[r] if r < len(names) else f"bit{r}", m.group(3) == "set",
                 int(m.group(5), 16)))
    bad_calls = []
    ours = {}
    for tid, calls in setter_calls(recs).items():
        for call in calls:
            for reason, st, mask, rec in implied_lines(call, gen, names, bad_calls):
                ours.setdefault(tid, []).append((reason, st, mask, rec, call))
    n_tp = sum(len(v) for v in tp.values())
    check(f"{label}: lines captured", n_tp > 0, "no kvm_apicv_inhibit_changed lines")
    check(f"{label}: every recorded setter call has the records it should",
          not bad_calls, "; ".join(bad_calls[:5]))
    check(f"{label}: same threads", sorted(tp) == sorted(ours),
          f"tracepoint tids {sorted(tp)}, apicv_trace tids {sorted(ours)}")
    pairs, bad = [], []
    for tid in sorted(set(tp) | set(ours)):
        a, b = tp.get(tid, []), ours.get(tid, [])
        if len(a) != len(b):
            bad.append(f"tid {tid}: {len(a)} tracepoint lines, {len(b)} implied by records")
        for i, ((reason, is_set, mask), mine) in enumerate(zip(a, b)):
            if mine[:3] != (reason, is_set, mask):
                bad.append(f"tid {tid} line {i}: tracepoint {reason} set={is_set} "
                           f"0x{mask:x}, apicv_trace seq={mine[4][0]['seq']} {mine[0]} "
                           f"set={mine[1]} 0x{mine[2]:x}")
            pairs.append((mine, mask, i))
    per_call = "1 line" if gen != G7 else "2 lines (1 for IRQWIN)"
    check(f"{label}: {n_tp} lines pair 1:1 with those the records imply "
          f"({per_call} per setter call; reason, direction, mask)",
          not bad, "; ".join(bad[:5]))
    # Changed per VM, derived from the tracepoint's own mask sequence.
    prev, wrong, changed = {}, [], 0
    for mine, mask, _ in sorted(pairs, key=lambda p: (int(p[0][4][0]["seq"]), p[2])):
        rec, call = mine[3], mine[4]
        vm = call[0]["vm"]
        before = prev.get(vm, 0)
        tp_changed = mask != before
        prev[vm] = mask
        changed += tp_changed
        says = rec is not None and rec["result"] == "changed"
        if tp_changed != says:
            wrong.append(f"seq={call[0]['seq']} {mine[0]} result="
                         f"{rec['result'] if rec else '(no record)'} tracepoint changed={tp_changed}")
        if rec is not None and int(rec["old"], 16) != before:
            wrong.append(f"seq={rec['seq']} old={rec['old']}, tracepoint mask before 0x{before:x}")
    check(f"{label}: the {changed} real transitions are exactly the result=changed records, old masks agree",
          not wrong, "; ".join(wrong[:5]))
    paired = {id(p[0][3]) for p in pairs if p[0][3] is not None}
    extra = [r for r in recs if r["event"] in ("set", "clear") and r["result"] == "changed"
             and id(r) not in paired]
    check(f"{label}: no changed record without a tracepoint line", not extra,
          f"{len(extra)} extra, first seq={extra[0]['seq'] if extra else ''}")
    return n_tp, changed


def check_tracepoint_510(trace, recs, label="tracepoint"):
    """5.10: kvm_apicv_update_request fires only when activation flips."""
    lines = [TP510.match(l) for l in trace.splitlines()]
    lines = [m for m in lines if m]
    # (VM creation's DISABLE comes from kvm_apicv_init(), not the setter:
    # no line; it is the mask a VM starts from)
    flips = [r for r in recs if r["event"] in ("set", "clear") and r["result"] == "changed"
             and r.get("init") != "yes"
             and (int(r["old"], 16) != 0) != (int(r["new"], 16) != 0)]
    changes = [r for r in recs if r["event"] in ("set", "clear") and r["result"] == "changed"]
    check(f"{label}: records that flip APICv activation ({len(flips)}) equal "
          f"kvm_apicv_update_request's lines ({len(lines)})",
          len(flips) == len(lines), f"flips {[r['seq'] for r in flips[:5]]}, "
          f"lines {[m.group(0).strip() for m in lines[:5]]}")
    for m, r in zip(lines, flips):
        want = ("activate" if int(r["new"], 16) == 0 else "deactivate", r["bit"])
        check(f"{label}: seq={r['seq']} matches '{m.group(3)} bit={m.group(4)}'",
              (m.group(3), m.group(4)) == want, str(want))
    # Under TCG APICv is never on in 5.10: DISABLE stays set, no flip at all.
    check(f"{label}: 5.10 under TCG: no activation flip, {len(changes)} mask changes with DISABLE set",
          not flips and not lines and changes and all(int(r["new"], 16) & 1 for r in changes),
          f"{len(flips)} flips, {len(lines)} lines")
    return len(lines), len(flips)


_EXPR_OK = (ast.Expression, ast.BinOp, ast.LShift, ast.Constant, ast.BitOr)


def eval_flag(expr):
    """Value of a __print_flags entry (e.g. "((((1UL))) << (5))"), or None."""
    expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr)
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    if not all(isinstance(n, _EXPR_OK) for n in ast.walk(tree)):
        return None
    return eval(compile(tree, "<flag>", "eval"))  # only ints, << and |


def btf_enum(path):
    """{value: NAME} of enum kvm_apicv_inhibit from the kernel's BTF
    (kvmdrive btf-enum), without the APICV_INHIBIT_REASON_ prefix and
    without NR_APICV_INHIBIT_REASONS; None if unreadable."""
    text = read(path)
    vals = {}
    for l in text.splitlines():
        if l.startswith("BTFVAL "):
            t = tokens(l)
            if t["name"].startswith("APICV_INHIBIT_REASON_"):
                vals[int(t["value"])] = t["name"][len("APICV_INHIBIT_REASON_"):]
    return vals or None


def check_btf(d, names):
    """6.1+: apicv_trace's names by bit are the kernel's enum, from BTF."""
    btf = btf_enum(os.path.join(d, "btf.enum"))
    check(f"reasons: apicv_trace's table equals the kernel's enum kvm_apicv_inhibit (BTF, "
          f"{len(btf or {})} reasons)", btf == dict(enumerate(names)),
          f"BTF {btf}, apicv_trace {dict(enumerate(names))}")
    return btf


def check_tp_names(d, names, label, btf):
    """6.12+: the names the kernel's tracepoint prints are apicv_trace's."""
    fmt = read(os.path.join(d, "trace.format"))
    m = re.search(r'__print_flags\(\s*REC->inhibits\s*,\s*"\|"\s*,(.*)\)\s*:\s*""', fmt, re.S)
    if check(f"{label}: the event's format has a __print_flags table", m, fmt[-300:]):
        entries = re.findall(r'\{\s*([^{}]*?)\s*,\s*"(\w+)"\s*\}', m.group(1))
        table, symbolic, bad = {}, [], []
        for expr, name in entries:
            sym = re.search(r"APICV_INHIBIT_REASON_(\w+)", expr)
            if sym:
                # The enum was not eval-mapped to numbers: KVM's macro
                # builds both from one token, and lists the enum in order.
                symbolic.append((sym.group(1), name))
                continue
            v = eval_flag(expr)
            if v is None or v <= 0 or v & (v - 1):
                bad.append(f"{expr} -> {name}")
            else:
                table[v.bit_length() - 1] = name
        if symbolic:
            # Not eval-mapped: the entries name the enum constants, whose
            # values the kernel's BTF gives.
            btf_name = {n: v for v, n in (btf or {}).items()}
            for sym, name in symbolic:
                if sym not in btf_name:
                    bad.append(f"APICV_INHIBIT_REASON_{sym} not in BTF")
                elif name in table.values() or btf_name[sym] in table:
                    bad.append(f"{sym} twice")
                else:
                    table[btf_name[sym]] = name
            check(f"{label}: format table (APICV_INHIBIT_REASON_* -> bit through BTF) "
                  f"equals apicv_trace's {len(names)} reasons",
                  not bad and table == dict(enumerate(names)),
                  f"{bad}; format {table}; apicv_trace {dict(enumerate(names))}")
        if not symbolic:
            check(f"{label}: format table (bit -> name) equals apicv_trace's reasons",
                  not bad and table == dict(enumerate(names)),
                  f"unparsed {bad}; format {table}; apicv_trace {dict(enumerate(names))}")
    trace = read(os.path.join(d, "trace"))
    n, seen, wrong = 0, set(), []
    for l in trace.splitlines():
        mt = TP.match(l)
        if not mt:
            continue
        n += 1
        mask = int(mt.group(5), 16)
        printed = mt.group(6).split("|") if mt.group(6) else []
        want = [names[b] if b < len(names) else f"bit{b}" for b in bits(mask)]
        seen |= set(bits(mask))
        if sorted(printed) != sorted(want):
            wrong.append(f"{l.strip()} (apicv_trace: {'|'.join(want) or '-'})")
    check(f"{label}: {n} tracepoint lines print apicv_trace's names for their mask "
          f"(bits seen: {','.join(names[b] if b < len(names) else str(b) for b in sorted(seen))})",
          n > 0 and not wrong, "; ".join(wrong[:3]) or "no lines")


def held_for_life(t):
    """A reason set once (at creation: the VM's init mask) and never cleared.
    Not share_pct: a VM of a few ms spends a visible part of its life before
    KVM sets its initial reasons when the host is loaded."""
    return bool(t) and t["sets"] == "1" and t["clears"] == "0" and t["now"] == "set" \
        and t["sticky"] == "yes" and int(t["share_pct"]) > 0


def check_states(d, recs, gen):
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
            ab = sum(1 for r in recs if r.get("vm") == vm and r["reason"] == t["reason"]
                     and r["result"] == "absorbed")
            if ab or "absorbed" in t or gen == G7:
                check(f"state/{vm}/{t['reason']}: absorbed={t.get('absorbed')} matches the events ({ab})",
                      t.get("absorbed") == str(ab), l)


def tp_changes(trace, names):
    """(reason, set) of every tracepoint line that changed the mask; for a
    run with one VM at a time (the mask starts at 0 with each VM)."""
    out, prev = [], 0
    for l in trace.splitlines():
        m = TP.match(l)
        if not m:
            continue
        mask = int(m.group(5), 16)
        if mask != prev:
            r = int(m.group(4))
            changed = mask ^ prev
            # the line names the bit it changed (7.2+: IRQWIN's line, IRQWIN)
            ok = changed == 1 << r and r < len(names)
            out.append((names[r] if ok else f"mismatch:{r}:0x{changed:x}",
                        bool(mask >> r & 1)))
        prev = mask
    return out


def check_wrap(d, names, gen):
    """ring_size=16 under a flood: the ring wraps, the aggregates still
    count every change (IRQWIN flood: as the kernel's tracepoint saw them;
    5.10's PIT reinject flood: as kvmdrive made them)."""
    states = [f for f in os.listdir(d) if f.startswith("state.")]
    if not check("wrap: one VM traced", len(states) == 1, str(states)):
        return
    vm = states[0][len("state."):]
    state = read(os.path.join(d, states[0]))
    ev = read(os.path.join(d, f"events.{vm}"))
    kept = len(records(ev))
    lost = sum(int(tokens(l)["lost"]) for l in ev.splitlines() if l.startswith("lost="))
    head = tokens(state.splitlines()[2]) if len(state.splitlines()) > 2 else {}
    check(f"wrap/{vm}: the ring wrapped (kept {kept}, lost {lost})",
          kept <= 16 and lost > 100, f"kept {kept} lost {lost}")
    check(f"wrap/{vm}: kept + lost == events ({head.get('events')})",
          kept + lost == int(head.get("events", -1)), f"{kept}+{lost}")
    trace = read(os.path.join(d, "trace"))
    if gen == G510:
        _, steps, _ = kvmdrive(read(os.path.join(d, "kvmdrive.flood")))
        exp = [i for s in steps for i in s.get("expect", "none").split(",")
               if s.get("vm") == vm]
        lines = [l for l in trace.splitlines() if TP510.match(l)]
        check(f"wrap/{vm}: no activation flip, no kvm_apicv_update_request line",
              not lines, str(lines[:3]))
        t = {}
        for l in state.splitlines():
            if l.startswith("reason=PIT_REINJ "):
                t = tokens(l)
        want = (exp.count("set:PIT_REINJ"), exp.count("clear:PIT_REINJ"))
        check(f"wrap/{vm}/PIT_REINJ: sets/clears {t.get('sets')}/{t.get('clears')} equal "
              f"kvmdrive's {want[0]}/{want[1]}",
              want[0] > 100 and (t.get("sets"), t.get("clears")) == tuple(map(str, want)))
        return
    tp = tp_changes(trace, names)
    odd = [r for r, _ in tp if r.startswith("mismatch")]
    check(f"wrap/{vm}: each tracepoint change is its line's reason", not odd, str(odd[:3]))
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
        irq_t = tokens(irq.group(0))
        check(f"wrap/{vm}: IRQWIN flapped ({irq_t['sets']} sets)", int(irq_t["sets"]) > 100,
              irq.group(0))
        if gen == G7:
            # PIT reinject turned off right after the PIT was created
            check(f"wrap/{vm}: PIT_REINJ inhibited only before the guest ran "
                  f"({pit_ms} ms of {life // 10**6} ms)", pit_ms <= 0.1 * life / 1e6)
        else:
            check(f"wrap/{vm}: PIT_REINJ inhibited for most of the VM's life "
                  f"({pit_ms} ms of {life // 10**6} ms)",
                  0.5 * life / 1e6 <= pit_ms <= life / 1e6 + 1)
        check(f"wrap/{vm}: IRQWIN inhibited_ms ({irq_ms}) within the VM's life",
              0 <= irq_ms <= life / 1e6)


def check_seedpatch(d, recs, gen):
    """vCPU 256: xAPIC ID (u8)256 = 0 matches, so the round trip does not inhibit."""
    head, steps, vms = kvmdrive(read(os.path.join(d, "kvmdrive.seedpatch")))
    if not check("seedpatch: kvmdrive completed with vCPU 256",
                 head.get("done") == "ok" and len(vms) == 1, str(head)):
        return
    vm = vms[0]
    ids = [r for r in recs if r.get("vm") == vm and r["event"] == "apic_id"]
    asked = [r for r in recs if r.get("vm") == vm and r["event"] == "set"
             and r["reason"] == "APIC_ID_MODIFIED"]
    if gen == G510:
        check(f"seedpatch/{vm}: no apic_id record (5.10 has no APIC ID inhibit)",
              not ids, str(ids))
        return
    if gen == G61:
        check(f"seedpatch/{vm}: vcpu_id=256 xapic_id=0 match=yes inhibit=no",
              any(r.get("vcpu_id") == "256" and r.get("xapic_id") == "0"
                  and r.get("match") == "yes" and r.get("inhibit") == "no" for r in ids),
              str(ids))
        asked = [r for r in recs if r.get("vm") == vm and r["event"] != "apic_id"
                 and r["reason"] == "APIC_ID_MODIFIED"]
        check(f"seedpatch/{vm}: no APIC_ID_MODIFIED request at all", not asked, str(asked))
        return
    # 6.12+: the map recalculation compares (u8)256 = 0 with xAPIC ID 0:
    # it asks to clear APIC_ID_MODIFIED (dropped: APICv is off), never to
    # set it, so no apic_id record explains a set.
    cleared = [r for r in recs if r.get("vm") == vm and r["event"] == "clear"
               and r["reason"] == "APIC_ID_MODIFIED" and r["result"] == "dropped"]
    check(f"seedpatch/{vm}: the recalculations were seen (clear APIC_ID_MODIFIED dropped x{len(cleared)})",
          len(cleared) >= 2, str(cleared[:2]))
    check(f"seedpatch/{vm}: no APIC_ID_MODIFIED set request", not asked, str(asked))
    check(f"seedpatch/{vm}: no apic_id record (nothing mismatched)",
          not [r for r in ids if r.get("match") != "yes"] and not ids, str(ids))


def check_complete(label, text):
    """A run whose records are compared one by one lost none of them."""
    lost = [l for l in text.splitlines() if l.startswith("lost=")]
    check(f"{label}: no record lost", text and not lost, "; ".join(lost[:3]) or "no events")


def check_avic0(a0, gen, names, btf):
    """APICv off: requests are dropped (5.10: applied), nothing else moves."""
    d = os.path.join(a0, "avic0")
    text = read(os.path.join(d, "events"))
    check_complete("avic0", text)
    recs0 = records(text)
    for f in ("kvmdrive", "kvmdrive.seedpatch", "kvmdrive.toobig", "kvmdrive.guest"):
        kv = read(os.path.join(d, f))
        head, steps, vms0 = kvmdrive(kv)
        tag = "avic0" + f[len("kvmdrive"):]
        check(f"{tag}: kvmdrive completed", head.get("done") == "ok",
              f"DONE result={head.get('done')}")
        check(f"{tag}: kvmdrive reason table matches apicv_trace's",
              head.get("reasons", "").split(",") == names, f"{head.get('reasons')} vs {names}")
        check(f"{tag}: saw its VMs", vms0, "no VM line")
        for vm in vms0:
            if gen == G510:
                exp, _ = expected_changes(steps, vm)
                have = [(r["event"], r["reason"]) for r in recs0
                        if r.get("vm") == vm and r["result"] == "changed"]
                check(f"{tag}/{vm}: 5.10 applies every request: mask changes as expected",
                      have == [(e, r) for e, r, _, _ in exp],
                      f"expected {exp}, traced {have}")
                continue
            want, flaps = [], set()
            for s in steps:
                if s.get("vm") == vm and s.get("expect", "none") not in ("none", "unsupported"):
                    for item in s["expect"].split(","):
                        verb, _, reason = item.partition(":")
                        if verb == "flap-dropped" and reason in DROP_VISIBLE[gen]:
                            flaps.add(reason)
                        elif verb.endswith("-dropped") and reason in DROP_VISIBLE[gen]:
                            want.append((verb[:-8], reason))
            got = [(r["event"], r["reason"]) for r in recs0
                   if r.get("vm") == vm and r["result"] == "dropped" and r["reason"] not in flaps]
            check(f"{tag}/{vm}: requests show as dropped, in order ({len(want)})",
                  got == want, f"expected {want}, traced {got}")
            if gen == G7 and f == "kvmdrive.guest":
                irq = [r["seq"] for r in recs0 if r.get("vm") == vm and r["reason"] == "IRQWIN"]
                check(f"{tag}/{vm}: no IRQWIN request at all (7.2+ SVM counts windows only "
                      "with APICv on)", not irq, f"IRQWIN records at seq {irq[:5]}")
            for reason in sorted(flaps):
                ev = [r["event"] for r in recs0 if r.get("vm") == vm
                      and r["result"] == "dropped" and r["reason"] == reason]
                check(f"{tag}/{vm}: {reason} requests dropped while the guest runs "
                      f"({ev.count('set')} sets, {ev.count('clear')} clears)",
                      ev.count("set") >= 2 and ev.count("clear") >= 2, str(ev[:6]))
            changed = [r for r in recs0 if r.get("vm") == vm and r["result"] == "changed"
                       and r.get("init") != "yes"]
            check(f"{tag}/{vm}: nothing but VM creation changes the mask", not changed,
                  str(changed[:2]))
            dis = [r["reason"] for r in recs0 if r.get("vm") == vm and r.get("init") == "yes"]
            check(f"{tag}/{vm}: created with {names[:1]} set", names and names[0] in dis, str(dis))
    if gen >= G61:
        # the positive control next to the seed patch: a real mismatch
        _, _, vms0 = kvmdrive(read(os.path.join(d, "kvmdrive")))
        ids = [r for r in recs0 if vms0 and r.get("vm") == vms0[0] and r["event"] == "apic_id"]
        check("avic0: apic_id for the changed ID, request dropped "
              "(vcpu_id=0 xapic_id=1 match=no inhibit=yes)",
              any(r.get("vcpu_id") == "0" and r.get("xapic_id") == "1" and
                  r.get("match") == "no" and r.get("inhibit") == "yes" for r in ids), str(ids))
    check_seedpatch(d, recs0, gen)
    trace = read(os.path.join(d, "trace"))
    if gen == G510:
        check_tracepoint_510(trace, recs0, "avic0 tracepoint")
    else:
        check_tracepoint(trace, recs0, names, gen, "avic0 tracepoint")
        if gen >= G612:
            check_tp_names(d, names, "avic0 tracepoint names", btf)


def check_status(status, gen):
    hooks = {}
    for line in re.findall(r"^hook=.*$", status, re.M):
        t = tokens(line)
        hooks[t["hook"]] = (t, line)
    m = re.search(r'^reasons_from="([^"]*)"', status, re.M)
    check("status: reasons_from names the table's source",
          m and m.group(1) and not m.group(1).startswith("none"), m.group(0) if m else status[:200])
    for role, sym in HOOKS[gen].items():
        t, line = hooks.get(role, ({}, f"no hook={role}"))
        check(f"status: hook {role} armed on {sym}",
              t.get("symbol") == sym and t.get("state") == "armed", line)
    for role in HOOKS_NA[gen]:
        t, line = hooks.get(role, ({}, f"no hook={role}"))
        check(f"status: hook {role} is n/a on this kernel", t.get("state") == "n/a", line)
    for role, (t, line) in hooks.items():
        if role not in HOOKS[gen] and role not in HOOKS_NA[gen]:
            check(f"status: hook {role} armed or n/a ({t.get('symbol')})",
                  t.get("state") in ("armed", "n/a"), line)
        check(f"status: hook {role} missed nothing", t.get("nmissed") == "0", line)
    if gen == G612:
        # GCC split the setter: the stub only tail-calls the .part.0 clone
        # (and synic_update_vector calls the stub): hook one, never both.
        on_stub = [line for t, line in hooks.values()
                   if t.get("symbol") == "__kvm_set_or_clear_apicv_inhibit"]
        check("status: no hook on the stub __kvm_set_or_clear_apicv_inhibit", not on_stub,
              str(on_stub))


def parse_reasons(text):
    """The reasons file as a list of names by bit (must be 0..n-1)."""
    by_bit = {}
    for l in text.splitlines():
        t = tokens(l)
        if "bit" in t and "reason" in t:
            by_bit[int(t["bit"])] = t["reason"]
    names = [by_bit.get(b, "unknown") for b in range(max(by_bit) + 1)] if by_bit else []
    check(f"reasons: a name for every bit 0..{len(names) - 1}",
          names and "unknown" not in names, text[:300])
    return names


def main(base):
    a1 = os.path.join(base, "avic1")
    cmp_dir = os.path.join(a1, "compare")
    gen_s = read(os.path.join(a1, "gen")).strip()
    if not check(f"kernel line known ({read(os.path.join(a1, 'kernel')).strip()}: {gen_s})",
                 gen_s in GENS, gen_s):
        print(f"e2e: {len(PASSED)} passed, {len(FAILED)} failed")
        return 1
    gen = GENS[gen_s]
    global DEBUG_KERNEL
    DEBUG_KERNEL = read(os.path.join(a1, "kernel")).strip().endswith("-apicv-debug")
    check_guest_checks(a1, "avic1", gen)
    names = parse_reasons(read(os.path.join(cmp_dir, "reasons")))
    check_status(read(os.path.join(cmp_dir, "status")), gen)
    text = read(os.path.join(cmp_dir, "events"))
    check_complete("compare", text)
    recs = records(text)
    scenarios = ["basic", "twovms", "aliases", "toobig", "guest"]
    if gen == G7:
        scenarios.append("guest2")  # PIT reinject off: IRQWIN through the setter
    if gen == G510:
        scenarios.append("flood")  # the flapping VM (PIT reinject toggles)
    for sc in scenarios:
        kv = read(os.path.join(cmp_dir, f"kvmdrive.{sc}"))
        head, steps, vms = check_scenario(sc, kv, recs, names, gen)
        if gen == G510:
            check(f"{sc}: kvm_amd avic reads off on 5.10 under TCG ({head.get('avic_param')})",
                  head.get("avic_param") in ("0", "N"), str(head.get("avic_param")))
        check(f"{sc}: kvmdrive's kernel line is this one ({head.get('gen')})",
              GENS.get(head.get("gen")) == gen, str(head.get("gen")))
        if sc == "basic" and vms:
            check_apic_id(recs, steps, vms[0], gen)
            if gen == G61:
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
        if sc == "aliases":
            check_aliases(recs, kv, gen)
        if sc == "toobig":
            check_toobig(recs, kv, cmp_dir, gen)
    trace = read(os.path.join(cmp_dir, "trace"))
    if gen == G510:
        n_tp, n_changed = check_tracepoint_510(trace, recs)
    else:
        n_tp, n_changed = check_tracepoint(trace, recs, names, gen)
    btf = check_btf(cmp_dir, names) if gen >= G61 and not DEBUG_KERNEL else None
    if gen >= G612:
        check_tp_names(cmp_dir, names, "tracepoint names", btf)
    unnamed = [r["seq"] for r in recs if r["site"] in ("?", "-") and r["event"] in ("set", "clear")]
    check("compare: every set/clear names the KVM function that asked", not unnamed,
          f"seq {unnamed[:5]}")
    if gen >= G612:
        # requests nested in a map recalculation name its caller
        inner = [r["seq"] for r in records(read(os.path.join(cmp_dir, "events")))
                 + records(read(os.path.join(base, "avic0", "avic0", "events")))
                 if r["site"].startswith("kvm_recalculate_apic_map+")]
        check("compare, avic0: recalculation requests name the recalculation's caller",
              not inner, f"site=kvm_recalculate_apic_map+... at seq {inner[:5]}")
    missed = [r["seq"] for r in recs if r.get("missed") == "yes"]
    check("compare: no change recorded as missed", not missed, f"seq {missed[:5]}")
    check_wrap(os.path.join(a1, "wrap"), names, gen)
    check_states(cmp_dir, recs, gen)
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
    check_guest_checks(a0, "avic0", gen)
    check_avic0(a0, gen, names, btf)
    check_files(base)
    check_issue4_states(base, gen)
    check_cmd(base, gen)
    check_misuse(base)
    if gen == G510:
        print(f"e2e: compared {n_tp} kvm_apicv_update_request lines with {n_changed} "
              f"activation flips (5.10 under TCG: 0 of both)")
    else:
        print(f"e2e: compared {n_tp} tracepoint lines, {n_changed} transitions")
    print(f"e2e: {len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


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


def check_guest_checks(d, mode, gen):
    lines = read(os.path.join(d, "checks.txt")).splitlines()
    oks = {l.split()[1] for l in lines if l.startswith("OK ")}
    want = guest_checks(mode, gen)
    for l in lines:
        if l.startswith("FAIL"):
            check(f"{mode}: guest check {l.split()[1].rstrip(':')}", False, l)
    for name in want:
        check(f"{mode}: guest check {name}", name in oks, "not reported OK")
    for l in lines:
        if l.startswith("OK ") and l.split()[1] not in want:
            check(f"{mode}: guest check {l.split()[1]}", True)


# ---- Issue 4: state's durations, flapping, last set/clear, APIC ID mismatch,
# ---- lapic_set / apic_base markers; the apicv-trace command -------------

# Reasons nothing in the kernel clears (the module's sticky=yes), per line:
# 6.1 never clears APIC_ID_MODIFIED (6.12+ re-decide it on each map
# rebuild), APIC_BASE_MODIFIED is never cleared where it exists, nor
# DISABLE(D); 5.10's SynIC activation inhibits for good (HYPERV); 7.2+
# PHYSICAL_ID_TOO_BIG.
STICKY = {G510: {"DISABLE", "HYPERV"},
          G61: {"DISABLE", "APIC_ID_MODIFIED", "APIC_BASE_MODIFIED"},
          G612: {"DISABLED", "APIC_BASE_MODIFIED"},
          G7: {"DISABLED", "APIC_BASE_MODIFIED", "PHYSICAL_ID_TOO_BIG"}}
FLAP_SLOT_NS = 5 * 10**9      # the module's flapping slots: 5 s,
FLAP_SLOTS, FLAP_MIN = 12, 6  # 12 of them (a minute), 6 changes flap
APIC_BASE_DEFAULT = 0xfee00900  # 0xfee00000 | enabled | BSP


def parse_state(text):
    """(header tokens, {reason: tokens}, apic_id_mismatch tokens or None)."""
    head, reasons, mm = {}, {}, None
    for l in text.splitlines():
        if l.startswith("reason="):
            t = tokens(l)
            reasons[t["reason"]] = t
        elif l.startswith("apic_id_mismatch "):
            mm = tokens(l)
        elif l.strip():
            head.update(tokens(l))
    return head, reasons, mm


def flap_window(recs_ns, end_ns, slots):
    """How many of the changes at recs_ns the module counts in the last
    @slots 5 s slots before end_ns (the current slot included)."""
    cur = end_ns // FLAP_SLOT_NS
    return sum(1 for ns in recs_ns if cur - ns // FLAP_SLOT_NS < slots)


def check_state_fields(label, text, recs, gen, complete=True, kv=None):
    """The state file's fields (issue 4) against themselves and, when the
    VM's ring did not wrap (@complete), against its records; @kv: the
    kvmdrive output of the scenario that made the VM (markers)."""
    head, reasons, mm = parse_state(text)
    vm = head.get("vm", "?")
    need = ["comm", "life_ms", "flapping", "created_ns", "exited_ns"]
    if not check(f"{label}: header has {', '.join(need)}",
                 all(k in head for k in need), str(head)):
        return head, reasons, mm
    exited = int(head["exited_ns"])
    created = int(head["created_ns"])
    end = exited or None
    life_ms = int(head["life_ms"])
    if exited:
        check(f"{label}: life_ms {life_ms} = exited_ns - created_ns",
              life_ms == (exited - created) // 10**6, f"{exited} - {created}")
    check(f"{label}: comm=kvmdrive (the VMM's thread)", head["comm"] == "kvmdrive", head["comm"])
    mine = [r for r in recs if r.get("vm") == vm]
    changed = [r for r in mine if r.get("result") == "changed" and r["event"] in ("set", "clear")]
    any_flap = False
    keys = ("share_pct", "changes_10s", "changes_60s", "flapping", "last_set_ns",
            "last_set_site", "last_clear_ns", "last_clear_site", "inhibited_ms", "sticky")
    for name, t in reasons.items():
        lb = f"{label}/{name}"
        if not check(f"{lb}: has {', '.join(keys)}", all(k in t for k in keys), str(t)):
            continue
        want_sticky = name in STICKY[gen]
        check(f"{lb}: sticky={t['sticky']} ({'sticky' if want_sticky else 'not sticky'} on this line)",
              t["sticky"] == ("yes" if want_sticky else "no"), str(t))
        if want_sticky and int(t["sets"]):
            check(f"{lb}: sticky and set: never cleared, set now",
                  t["clears"] == "0" and t["now"] == "set", str(t))
        inh, share = int(t["inhibited_ms"]), int(t["share_pct"])
        check(f"{lb}: inhibited_ms {inh} <= life_ms {life_ms}", inh <= life_ms, str(t))
        if life_ms > 0:
            # (both in whole ms: the module divides the nanoseconds)
            lo, hi = inh * 100 // (life_ms + 1), -(-(inh + 1) * 100 // life_ms)
            check(f"{lb}: share_pct {share} = inhibited/life ({inh}/{life_ms} ms)",
                  lo <= share <= min(hi, 100), f"{lo}..{hi}: {t}")
        c60, c10 = int(t["changes_60s"]), int(t["changes_10s"])
        check(f"{lb}: flapping={t['flapping']} iff changes_60s ({c60}) >= {FLAP_MIN}",
              t["flapping"] == ("yes" if c60 >= FLAP_MIN else "no"), str(t))
        check(f"{lb}: changes_10s ({c10}) <= changes_60s ({c60}) <= sets + clears",
              c10 <= c60 <= int(t["sets"]) + int(t["clears"]), str(t))
        any_flap |= t["flapping"] == "yes"
        for what in ("set", "clear"):
            if (t["sets"] if what == "set" else t["clears"]) == "0":
                check(f"{lb}: never {what}: last_{what}_ns/site are -",
                      t[f"last_{what}_ns"] == "-" and t[f"last_{what}_site"] == "-", str(t))
        if not complete or end is None:
            continue
        ch = [r for r in changed if r["reason"] == name]
        for what in ("set", "clear"):
            last = [r for r in ch if r["event"] == what][-1:]
            got = (t[f"last_{what}_ns"], t[f"last_{what}_site"])
            want = (last[0]["ns"], last[0]["site"]) if last else ("-", "-")
            check(f"{lb}: last_{what}_ns/site = the last {what} record's ({want[1]})",
                  got == want, f"state {got}, events {want}")
        ns = [int(r["ns"]) for r in ch]
        w10, w60 = flap_window(ns, end, 2), flap_window(ns, end, FLAP_SLOTS)
        check(f"{lb}: changes_10s/60s {c10}/{c60} = the records' in the windows before exit ({w10}/{w60})",
              (c10, c60) == (w10, w60), str(t))
        total, since = 0, None
        for r in ch:
            if r["event"] == "set":
                since = int(r["ns"])
            elif since is not None:
                total += int(r["ns"]) - since
                since = None
        if since is not None:
            total += end - since
        check(f"{lb}: inhibited_ms {inh} = the records' set..clear time ({total / 1e6:.1f} ms)",
              abs(inh - total // 10**6) <= 1, str(t))
    check(f"{label}: flapping={head['flapping']} iff a reason flaps",
          head["flapping"] == ("yes" if any_flap else "no"), f"reasons flapping: {any_flap}")
    # the last xAPIC ID mismatch KVM saw
    bad_ids = [r for r in mine if r["event"] == "apic_id" and r.get("match") == "no"
               and r.get("xapic_id", "?") != "?"]
    if gen == G510:
        check(f"{label}: no apic_id_mismatch line (5.10)", mm is None, str(mm))
    elif complete:
        if bad_ids:
            r = bad_ids[-1]
            want = {"vcpu_id": r["vcpu_id"], "xapic_id": r["xapic_id"],
                    "compared_with": str(int(r["vcpu_id"]) & 0xff), "ns": r["ns"], "site": r["site"]}
            got = {k: (mm or {}).get(k) for k in want}
            check(f"{label}: apic_id_mismatch is the last apic_id match=no record "
                  f"(vcpu_id={want['vcpu_id']} xapic_id={want['xapic_id']})", got == want,
                  f"state {got}, events {want}")
        else:
            check(f"{label}: no apic_id_mismatch line (no mismatch recorded)", mm is None, str(mm))
    if kv is not None and complete:
        check_markers(label, vm, mine, kv)
    return head, reasons, mm


def check_markers(label, vm, mine, kv):
    """lapic_set: one per KVM_SET_LAPIC kvmdrive made on the VM, with the
    xAPIC ID it wrote; apic_base: one per host write that moved the APIC
    base (kvmdrive's apic_base_modify), with the value and the old one."""
    _, steps, _ = kvmdrive(kv)
    sl = [s for s in steps if s.get("vm") == vm and s.get("op") == "KVM_SET_LAPIC"
          and s.get("rc") == "0"]
    marks = [r for r in mine if r["event"] == "lapic_set"]
    check(f"{label}: one lapic_set marker per KVM_SET_LAPIC ({len(sl)}: "
          f"{','.join(s['step'] for s in sl) or 'none'})", len(marks) == len(sl),
          f"{len(marks)} markers: {[m['seq'] for m in marks]}")
    want = [(s.get("vcpu"), s.get("apic_id")) for s in sl]
    got = [(m.get("vcpu"), m.get("apic_id")) for m in marks]
    check(f"{label}: lapic_set markers name the vCPU and the xAPIC ID written, in order",
          got == want, f"markers {got}, kvmdrive {want}")
    # (kvm_vcpu_ioctl_set_lapic is inlined into kvm_arch_vcpu_ioctl)
    bad_site = [m["site"] for m in marks if not m["site"].startswith("kvm_arch_vcpu_ioctl+")]
    check(f"{label}: lapic_set markers name kvm_arch_vcpu_ioctl (KVM_SET_LAPIC)", not bad_site,
          str(bad_site[:3]))
    ab = [s for s in steps if s.get("vm") == vm and s.get("step") == "apic_base_modify"
          and s.get("rc") == "0"]
    marks = [r for r in mine if r["event"] == "apic_base"]
    want = [(s.get("vcpu"), s.get("apic_base"), f"0x{APIC_BASE_DEFAULT:x}") for s in ab]
    got = [(m.get("vcpu"), m.get("value"), m.get("was")) for m in marks]
    check(f"{label}: one apic_base marker per host APIC base write that moved it "
          f"({len(ab)}), with value= and was=", got == want, f"markers {got}, kvmdrive {want}")


def check_issue4_states(base, gen):
    """Every VM's state of the compared runs (rings complete) and of the
    wrapped one; flapping and quiet VMs; whole-life reasons."""
    a1 = os.path.join(base, "avic1")
    cmp_dir = os.path.join(a1, "compare")
    recs = records(read(os.path.join(cmp_dir, "events")))
    kvs = {}
    for f in sorted(os.listdir(cmp_dir)):
        if f.startswith("kvmdrive."):
            kv = read(os.path.join(cmp_dir, f))
            for vm in kvmdrive(kv)[2]:
                kvs[vm] = (f[len("kvmdrive."):], kv)
    states = {}
    for f in sorted(os.listdir(cmp_dir)):
        if f.startswith("state."):
            vm = f[len("state."):]
            sc = kvs.get(vm, ("?", None))[0]
            states[vm] = check_state_fields(f"state/{sc}/{vm}", read(os.path.join(cmp_dir, f)),
                                            recs, gen, True, kvs.get(vm, (None, None))[1])
    vmsl = {tokens(l).get("vm"): tokens(l) for l in read(os.path.join(cmp_dir, "vms")).splitlines()}
    for vm, (head, _, _) in states.items():
        t = vmsl.get(vm, {})
        check(f"vms/{vm}: comm and flapping agree with its state",
              (t.get("comm"), t.get("flapping")) == (head.get("comm"), head.get("flapping")),
              f"vms {t.get('comm')}/{t.get('flapping')}, state {head.get('comm')}/{head.get('flapping')}")

    def vm_of(sc):
        return [vm for vm, (s, _) in kvs.items() if s == sc]

    # flapping: the guest whose IRQWIN really changes (7.x: no reinject),
    # 5.10: the PIT reinject flood; quiet: basic
    flap_sc, flap_r = {G510: ("flood", "PIT_REINJ"), G61: ("guest", "IRQWIN"),
                       G612: ("guest", "IRQWIN"), G7: ("guest2", "IRQWIN")}[gen]
    for vm in vm_of(flap_sc) or ["(none)"]:
        head, reasons, _ = states.get(vm, ({}, {}, None))
        t = reasons.get(flap_r, {})
        check(f"flapping/{flap_sc}/{vm}: {flap_r} flapping=yes and the VM flapping=yes "
              f"({t.get('changes_60s')} changes in the last minute)",
              t.get("flapping") == "yes" and head.get("flapping") == "yes", f"{head} {t}")
        check(f"flapping/{flap_sc}/{vm}: the VM lived < 55 s, so changes_60s = sets + clears",
              t and int(t["changes_60s"]) == int(t["sets"]) + int(t["clears"]), str(t))
    for vm in vm_of("basic") or ["(none)"]:
        head = states.get(vm, ({},))[0]
        check(f"flapping/basic/{vm}: a quiet VM: flapping=no", head.get("flapping") == "no", str(head))
    # 5.10 under TCG: DISABLE from creation to exit, every VM
    if gen == G510:
        for vm, (head, reasons, _) in states.items():
            t = reasons.get("DISABLE", {})
            check(f"durations/{vm}: DISABLE held for the VM's whole life: set once, never "
                  f"cleared, set at exit ({t.get('share_pct')}%), sticky", held_for_life(t), str(t))
    # the mismatch kvmdrive wrote: xAPIC ID vcpu_id + 1 on vCPU 0
    if gen != G510:
        # (guest, 6.12+: the map rebuild of the INIT after a triple fault,
        # kvm_vcpu_reset, may be the last to see the bad ID)
        for sc in ("basic", "guest"):
            for vm in vm_of(sc):
                mm = states[vm][2] or {}
                site = "kvm_apic_set_state+" if sc == "basic" or gen == G61 else ""
                check(f"apic_id_mismatch/{sc}/{vm}: vCPU 0 with xAPIC ID 1, compared with 0"
                      + (", written by KVM_SET_LAPIC" if site else ""),
                      (mm.get("vcpu_id"), mm.get("xapic_id"), mm.get("compared_with")) == ("0", "1", "0")
                      and mm.get("site", "").startswith(site), str(mm))
    # APICv off: DISABLE(D) from creation to exit
    a0 = os.path.join(base, "avic0", "avic0")
    recs0 = records(read(os.path.join(a0, "events")))
    kvs0 = {}
    for f in sorted(os.listdir(a0)):
        if f.startswith("kvmdrive"):
            kv = read(os.path.join(a0, f))
            for vm in kvmdrive(kv)[2]:
                kvs0[vm] = kv
    dis = "DISABLE" if gen <= G61 else "DISABLED"
    for f in sorted(os.listdir(a0)):
        if not f.startswith("state."):
            continue
        vm = f[len("state."):]
        head, reasons, _ = check_state_fields(f"avic0/state/{vm}", read(os.path.join(a0, f)),
                                              recs0, gen, True, kvs0.get(vm))
        t = reasons.get(dis, {})
        check(f"avic0/durations/{vm}: {dis} held for the VM's whole life: set once, never "
              f"cleared, set at exit ({t.get('share_pct')}%), sticky", held_for_life(t), str(t))
    # the wrapped ring: aggregates exact, windows too
    wd = os.path.join(a1, "wrap")
    for f in sorted(os.listdir(wd)):
        if f.startswith("state."):
            head, reasons, _ = check_state_fields(f"wrap/state/{f[6:]}", read(os.path.join(wd, f)),
                                                  [], gen, False)
            r = "PIT_REINJ" if gen == G510 else "IRQWIN"
            t = reasons.get(r, {})
            check(f"wrap/{f[6:]}: {r} flapping=yes, changes_60s = sets + clears "
                  f"({t.get('changes_60s')})", t and t["flapping"] == "yes"
                  and int(t["changes_60s"]) == int(t["sets"]) + int(t["clears"])
                  and head.get("flapping") == "yes", str(t))


CMD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cmd")
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cmd",
                      "apicv-trace.schema.json")


def tool(*args, stdin=None):
    """Run a tests/cmd tool: (exit code, stdout + stderr)."""
    try:
        p = subprocess.run(list(args), input=stdin, capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 1, str(e)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def check_cmd(base, gen):
    """The apicv-trace command run in the guest against the live module."""
    d = os.path.join(base, "avic1", "cmd")
    if not check("cmd: the guest ran the command (avic1/cmd/)", os.path.isdir(d), d):
        return

    def rc(name):
        return read(os.path.join(d, name + ".rc")).strip()

    def err(name):
        return read(os.path.join(d, name + ".err")).strip()[:300]

    for name, want in (("list.txt", "0"), ("list.json", "0"), ("prom.txt", "0"),
                       ("nosuchvm.txt", "6"), ("unloaded.txt", "3"),
                       ("watch.txt", "0"), ("watch.json", "0")):
        what = {"nosuchvm.txt": "show nosuchvm", "unloaded.txt": "with the module unloaded",
                "watch.txt": "watch, ended by SIGINT", "watch.json": "--json watch, ended by SIGINT"
                }.get(name, name)
        check(f"cmd: {what}: exit {want}", rc(name) == want, f"exit {rc(name)}: {err(name)}")
    check("cmd: show nosuchvm says so and lists the known VMs",
          "nosuchvm" in err("nosuchvm.txt"), err("nosuchvm.txt"))
    check("cmd: unloaded: tells to load the module", "modprobe apicv_trace" in err("unloaded.txt"),
          err("unloaded.txt"))
    # JSON against the schema, prom through promtool
    jsons = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".json"))
    code, out = tool(sys.executable, os.path.join(CMD_DIR, "validate.py"), SCHEMA, *jsons)
    check(f"cmd: {len(jsons)} JSON outputs valid against apicv-trace.schema.json "
          f"({out.strip().splitlines()[-1] if out.strip() else ''})",
          code == 0 and len(jsons) >= 4, out[-600:])
    prom = read(os.path.join(d, "prom.txt"))
    code, out = tool(os.path.join(CMD_DIR, "promtool.sh"), "check", "metrics", stdin=prom.encode())
    check("cmd: prom passes promtool check metrics", code == 0 and prom, out[-600:])
    # list and show against the state files copied right before
    vms = {}
    for l in read(os.path.join(d, "vms")).splitlines():
        t = tokens(l)
        if "vm" in t:
            vms[t["vm"]] = t
    check(f"cmd: the module had VMs to show ({len(vms)})", vms, "empty vms")
    try:
        lj = json.loads(read(os.path.join(d, "list.json")))
    except ValueError as e:
        lj = {}
        check("cmd: list --json parses", False, str(e))
    got = {v.get("vm"): v for v in lj.get("vms", [])}
    check("cmd: list --json has the VMs of vms, no other", sorted(got) == sorted(vms),
          f"{sorted(got)} vs {sorted(vms)}")
    rows = {}
    for l in read(os.path.join(d, "list.txt")).splitlines()[1:]:
        f = l.split()
        if f:
            rows[f[0]] = f
    check("cmd: list has one row per VM of vms", sorted(rows) == sorted(vms),
          f"{sorted(rows)} vs {sorted(vms)}")
    pm = {}
    for l in prom.splitlines():
        m = re.match(r'^(apicv_trace_\w+)\{vm="([^"]*)"[^}]*?(?:,reason="([^"]*)")?\} (\S+)$', l)
        if m:
            pm[(m.group(1), m.group(2), m.group(3))] = m.group(4)
    for key, t in vms.items():
        reasons = [] if t["reasons"] == "-" else t["reasons"].split("|")
        j = got.get(key, {})
        check(f"cmd/list --json/{key}: apicv, reasons, flapping, status, comm, for_ms as in vms",
              (j.get("apicv"), j.get("reasons"), j.get("flapping"), j.get("status"),
               j.get("comm"), j.get("for_ms"))
              == (t["apicv"], reasons, t["flapping"] == "yes", t["status"], t["comm"],
                  int(t["for_ms"])), f"{j} vs {t}")
        r = rows.get(key, [])
        check(f"cmd/list/{key}: row says {t['status']} {t['apicv']} {t['reasons']} "
              f"flapping {t['flapping']}",
              len(r) == 8 and (r[3], r[4], r[6], r[7]) == (t["status"], t["apicv"], t["reasons"],
                                                            t["flapping"]), str(r))
        check(f"cmd/prom/{key}: vm_inhibited and vm_flapping as in vms",
              (pm.get(("apicv_trace_vm_inhibited", key, None)),
               pm.get(("apicv_trace_vm_flapping", key, None)))
              == (str(int(t["apicv"] == "inhibited")), str(int(t["flapping"] == "yes"))),
              str({k: v for k, v in pm.items() if k[1] == key and k[2] is None}))
        head, sreasons, mm = parse_state(read(os.path.join(d, f"state.{key}")))
        for name, st in sreasons.items():
            check(f"cmd/prom/{key}/{name}: reason_inhibited = now={st['now']}",
                  pm.get(("apicv_trace_reason_inhibited", key, name)) == str(int(st["now"] == "set")),
                  str(pm.get(("apicv_trace_reason_inhibited", key, name))))
        # show --json against the state file
        try:
            sj = json.loads(read(os.path.join(d, f"show.{key}.json")))
        except ValueError as e:
            sj = {}
            check(f"cmd/show --json/{key}: parses", False, str(e))
        v = sj.get("vm", {})
        check(f"cmd/show --json/{key}: apicv, reasons, flapping, life_ms, comm as in the state",
              (v.get("apicv"), v.get("reasons"), v.get("flapping"), v.get("life_ms"), v.get("comm"))
              == (head.get("apicv"), [] if head.get("reasons") == "-" else head.get("reasons", "").split("|"),
                  head.get("flapping") == "yes", int(head.get("life_ms", -1)), head.get("comm")),
              f"{v} vs {head}")
        js = {x.get("reason"): x for x in sj.get("reasons", [])}
        check(f"cmd/show --json/{key}: the state's reasons", sorted(js) == sorted(sreasons),
              f"{sorted(js)} vs {sorted(sreasons)}")
        for name, st in sreasons.items():
            x = js.get(name, {})
            want = (st["now"], int(st["sets"]), int(st["clears"]), int(st["inhibited_ms"]),
                    int(st["share_pct"]), int(st["changes_10s"]), int(st["changes_60s"]),
                    st["flapping"] == "yes", st["sticky"] == "yes",
                    None if st["last_set_site"] == "-" else st["last_set_site"],
                    None if st["last_clear_site"] == "-" else st["last_clear_site"])
            have = (x.get("now"), x.get("sets"), x.get("clears"), x.get("inhibited_ms"),
                    x.get("share_pct"), x.get("changes_10s"), x.get("changes_60s"),
                    x.get("flapping"), x.get("sticky"), (x.get("last_set") or {}).get("site"),
                    (x.get("last_clear") or {}).get("site"))
            check(f"cmd/show --json/{key}/{name}: now, counts, durations, flapping, sticky, "
                  "last set/clear sites as in the state", have == want, f"{have} vs {want}")
        jm = sj.get("apic_id_mismatch")
        if mm is None:
            check(f"cmd/show --json/{key}: no apic_id_mismatch", jm is None, str(jm))
        else:
            check(f"cmd/show --json/{key}: apic_id_mismatch as in the state",
                  jm and (jm.get("vcpu_id"), jm.get("xapic_id"), jm.get("compared_with"), jm.get("site"))
                  == (int(mm["vcpu_id"]), int(mm["xapic_id"]), int(mm["compared_with"]), mm["site"]),
                  f"{jm} vs {mm}")
        # show's text
        txt = read(os.path.join(d, f"show.{key}.txt"))
        check(f"cmd/show/{key}: exit 0", rc(f"show.{key}.txt") == "0" and rc(f"show.{key}.json") == "0",
              err(f"show.{key}.txt"))
        first = ("is INHIBITED by " + head.get("reasons", "?")) if head.get("apicv") == "inhibited" \
            else "is ACTIVE (no inhibit reason set)"
        check(f"cmd/show/{key}: says AVIC {first.split(' ', 1)[1]}", f"AVIC {first}" in txt,
              txt[:300])
        check(f"cmd/show/{key}: FLAPPING line iff flapping={head.get('flapping')}",
              ("\nFLAPPING: " in txt) == (head.get("flapping") == "yes"), txt[:400])
        for name, st in sreasons.items():
            check(f"cmd/show/{key}/{name}: {'SET' if st['now'] == 'set' else 'clear'} now, "
                  f"sticky {st['sticky']}",
                  re.search(rf"^{name} \(bit {st['bit']}\): {'SET' if st['now'] == 'set' else 'clear'} now",
                            txt, re.M)
                  and (("sticky: this kernel never clears it" in txt.split(f"\n{name} (bit", 1)[-1]
                        .split("\n\n", 1)[0]) == (st["sticky"] == "yes")), st)
    # watch during a rebooting guest, ended by SIGINT
    wkey = read(os.path.join(d, "watch.vm")).strip()
    kv = read(os.path.join(d, "kvmdrive.watch"))
    head, steps, wvms = kvmdrive(kv)
    check("cmd/watch: its guest ran and rebooted", head.get("done") == "ok" and wvms == [wkey],
          f"{head} {wvms}")
    nlapic = sum(1 for s in steps if s.get("op") == "KVM_SET_LAPIC" and s.get("rc") == "0")
    wt = read(os.path.join(d, "watch.txt"))
    lines = [l for l in wt.splitlines() if l.strip()]
    check(f"cmd/watch/{wkey}: lines seen ({len(lines)})", len(lines) >= 5, wt[:300])
    other = [l for l in lines if f" {wkey} " not in f" {l} " and "records lost" not in l]
    check(f"cmd/watch/{wkey}: --vm kept only that VM", not other, str(other[:3]))
    restores = [l for l in lines if f"--- VMM restored vCPU 0's local APIC in VM {wkey}" in l]
    check(f"cmd/watch/{wkey}: a 'VMM restored ... local APIC' marker per KVM_SET_LAPIC "
          f"({len(restores)} of {nlapic})", nlapic >= 2 and len(restores) == nlapic, str(restores))
    ids = [s.get("apic_id") for s in steps if s.get("op") == "KVM_SET_LAPIC" and s.get("rc") == "0"]
    check(f"cmd/watch/{wkey}: the restore markers name the xAPIC ID written ({ids})",
          [re.sub(r".*, xAPIC ID (\S+) ---$", r"\1", l) for l in restores] == ids, str(restores))
    check(f"cmd/watch/{wkey}: VM created and destroyed markers",
          any(f"--- VM {wkey} created" in l for l in lines)
          and any(f"--- VM {wkey} destroyed" in l for l in lines), str(lines[:2] + lines[-2:]))
    jl = []
    for l in read(os.path.join(d, "watch.json")).splitlines():
        try:
            jl.append(json.loads(l))
        except ValueError:
            check("cmd/watch --json: every line parses", False, l[:200])
    recs = [j for j in jl if j.get("kind") == "event"]
    check(f"cmd/watch --json/{wkey}: records of the VM only ({len(recs)})",
          recs and all(j.get("vm") == wkey for j in recs), str(recs[:1]))
    lap = [j for j in recs if j.get("event") == "lapic_set"]
    check(f"cmd/watch --json/{wkey}: one lapic_set record per KVM_SET_LAPIC ({nlapic})",
          len(lap) == nlapic, str(lap[:2]))
    ev = {j.get("event") for j in recs}
    check(f"cmd/watch --json/{wkey}: vm_create and vm_destroy records",
          {"vm_create", "vm_destroy"} <= ev, str(ev))


# ---- Issue 6: bad input, misuse, security (tests/misuse/misuse.sh) --------

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MISUSE_CASES = os.path.join(TOP, "tests", "misuse", "cases")
# the process name of misuse.sh's VM: printf, shell and pipe syntax, and
# what JSON and Prometheus must escape
MISUSE_COMM = '%n%s$(id);|"\\'
MISUSE_CHECKS = [
    "misuse_start_unloaded", "misuse_load_after_bad", "misuse_coverage_full",
    "misuse_comm_vm_created", "misuse_comm_kept", "misuse_cmd_comm_rc",
    "misuse_cmd_comm_text", "misuse_cmd_comm_json", "misuse_cmd_comm_prom",
    "misuse_cmd_comm_no_shell", "misuse_cmd_full_no_warning", "misuse_events_multipage",
    "misuse_follow_drain", "misuse_follow_read_sizes", "misuse_follow_is_events",
    "misuse_follow_eagain", "misuse_follow_poll_timeout", "misuse_follow_espipe",
    "misuse_follow_badbuf_empty", "misuse_follow_read_eintr", "misuse_follow_pollin",
    "misuse_many_opens", "misuse_racing_opens", "misuse_debugfs_root_private",
    "misuse_modes_0444", "misuse_nobody_open", "misuse_nobody_control",
    "misuse_nobody_params", "misuse_nobody_cmd_exit5", "misuse_no_kernel_address",
    "misuse_idle_follow_time", "misuse_idle_follow_was_behind",
    "misuse_idle_follow_nothing_lost", "misuse_hook_setter_loads",
    "misuse_hook_setter_status", "misuse_hook_setter_coverage",
    "misuse_hook_setter_vms", "misuse_hook_setter_cmd_warns", "misuse_hook_apic_loads", "misuse_hook_apic_coverage",
    "misuse_hook_long_symbol", "misuse_hook_apic_inhibits_flow",
    "misuse_hook_explicit_armed", "misuse_lockdown_lsm", "misuse_lockdown_set",
    "misuse_lockdown_same_class", "misuse_lockdown_chmod", "misuse_lockdown_follow",
    "misuse_lockdown_param", "misuse_lockdown_cmd", "misuse_lockdown_unload",
    "misuse_lockdown_insmod_refused"]
MISUSE_RUNS = ["loads", "params", "reads", "wropen", "follow", "many", "nobody_files",
               "nobody_params", "lockdown_reads", "lockdown_wropen", "lockdown_chmod"]
MISUSE_CLASSES = ["status", "reasons", "vms", "events", "vm_events", "vm_state"]
# what may look like a kernel address: %px-style, a stack entry, %p unhashed
KADDR = re.compile(r"ffff[0-9a-f]{12}|\[<[0-9a-f]{8,}>\]|____ptrval____", re.I)
# cmd/*.c may run nothing: no shell, no other program
CMD_EXEC = re.compile(r"\b(system|popen|execl|execlp|execle|execv|execvp|execvpe|execve|"
                      r"fexecve|posix_spawnp?|wordexp|dlopen)\s*\(")


def misuse_case_names():
    names = []
    with open(MISUSE_CASES, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if w and not w[0].startswith("#"):
                names.append(f"misuse_{w[0]}_{w[1]}_{w[2]}")
    return names


def misuse_checks():
    """Every check misuse.sh must report OK (the cases file's and the rest)."""
    return (MISUSE_CHECKS + misuse_case_names()
            + [f"misuse_ran_{n}" for n in MISUSE_RUNS]
            + [f"misuse_{k}_{c}" for k in ("reads", "wropen", "lockdown_reads",
                                           "lockdown_wropen") for c in MISUSE_CLASSES]
            + ["misuse_wropen_follow", "misuse_lockdown_wropen_follow"])


def prom_labels(line):
    """{label: unescaped value} of one Prometheus sample line."""
    m = re.match(r"^[a-zA-Z_:][\w:]*\{(.*)\} \S+$", line)
    out = {}
    if not m:
        return out
    for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1)):
        out[k] = re.sub(r"\\(.)", lambda x: "\n" if x.group(1) == "n" else x.group(1), v)
    return out


def check_misuse(base):
    """The host's side of tests/misuse: the command showed the hostile process
    name exactly, in every format; exit codes; no kernel address anywhere
    (the whole results dir, guest logs reduced to apicv_trace's lines); the
    command's sources run no other program and pass the format warnings."""
    d = os.path.join(base, "avic1", "misuse")
    if not check("misuse: the guest ran tests/misuse (avic1/misuse/)", os.path.isdir(d), d):
        return
    cd = os.path.join(d, "cmd")
    key = read(os.path.join(d, "vm.key")).strip()
    check("misuse: the hostile VM's key is known", re.match(r"^\d+-\d+$", key), key)
    bad = []
    for f in ("live.list.json", "exited.list.json", "dir.list.json"):
        try:
            j = json.loads(read(os.path.join(cd, f)))
            got = [v.get("comm") for v in j.get("vms", []) if v.get("vm") == key]
            if got != [MISUSE_COMM]:
                bad.append(f"{f}: comm {got}")
        except ValueError as e:
            bad.append(f"{f}: {e}")
    for f in ("live.show.json", "exited.show.json", "dir.show.json"):
        try:
            j = json.loads(read(os.path.join(cd, f)))
            if j.get("vm", {}).get("comm") != MISUSE_COMM:
                bad.append(f"{f}: comm {j.get('vm', {}).get('comm')!r}")
        except ValueError as e:
            bad.append(f"{f}: {e}")
    for f in ("watch.json", "dir.watch.json"):
        comms = set()
        for l in read(os.path.join(cd, f)).splitlines():
            try:
                j = json.loads(l)
            except ValueError as e:
                bad.append(f"{f}: {e}: {l[:80]}")
                continue
            if str(j.get("vm", "")).split("-")[0] == key.split("-")[0] and "comm" in j:
                comms.add(j["comm"])
        if comms != {MISUSE_COMM}:
            bad.append(f"{f}: comm {comms}")
    check(f"misuse: --json list/show/watch give the process name exactly ({MISUSE_COMM})",
          not bad, "; ".join(bad[:4]))
    bad = []
    for f in ("live.prom.txt", "exited.prom.txt", "dir.prom.txt"):
        samples = [prom_labels(l) for l in read(os.path.join(cd, f)).splitlines()
                   if l and not l.startswith("#")]
        mine = [s for s in samples if s.get("vm") == key]
        if not mine or any(s.get("comm") != MISUSE_COMM for s in mine):
            bad.append(f"{f}: {[s.get('comm') for s in mine][:2]}")
    check("misuse: prom's comm label unescapes to the process name", not bad, "; ".join(bad))
    bad = [f for f in ("live.list.txt", "live.show.txt", "live.showname.txt",
                       "exited.list.txt", "exited.show.txt", "watch.txt", "dir.list.txt",
                       "dir.show.txt", "dir.watch.txt")
           if MISUSE_COMM not in read(os.path.join(cd, f))]
    check("misuse: the text outputs show the process name as it is", not bad, str(bad))
    want_rc = {"all.nosuch.txt.rc": "6", "all.usage.txt.rc": "2"}
    bad = []
    for f in sorted(os.listdir(cd)):
        if f.endswith(".rc"):
            rc = read(os.path.join(cd, f)).strip()
            if rc != want_rc.get(f, "0"):
                bad.append(f"{f}={rc}")
    check("misuse: every command exited as it should (0; no such VM 6; usage 2)",
          not bad, ", ".join(bad))
    rcs = read(os.path.join(d, "nobody", "rcs")).splitlines()
    check(f"misuse: as uid 65534 every command exits 5 ({len(rcs)} runs)",
          len(rcs) >= 7 and all(l.split()[0] == "5" for l in rcs), str(rcs))
    # no kernel address: every file, the guest logs' apicv_trace lines
    leaks, nfiles = [], 0
    for root, _, files in os.walk(base):
        for f in files:
            p = os.path.join(root, f)
            nfiles += 1
            text = read(p)
            if f.endswith(".log"):
                text = "\n".join(l for l in text.splitlines() if "apicv_trace" in l)
            m = KADDR.search(text)
            if m:
                leaks.append(f"{os.path.relpath(p, base)}: {m.group(0)}")
    check(f"misuse: no kernel address pattern in {nfiles} result files and the "
          "logs' apicv_trace lines", not leaks, "; ".join(leaks[:3]))
    dm = read(os.path.join(d, "dmesg.apicv_trace"))
    check("misuse: the guest's dmesg lines of apicv_trace were collected",
          "apicv_trace" in dm, dm[:100])
    # the command's sources
    srcs = sorted(os.path.join(TOP, "cmd", f) for f in os.listdir(os.path.join(TOP, "cmd"))
                  if f.endswith(".c"))
    calls = []
    for p in srcs:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", read(p), flags=re.S)
        text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)
        for m in CMD_EXEC.finditer(text):
            calls.append(f"{os.path.basename(p)}: {m.group(1)}()")
    check(f"misuse: cmd/*.c run no shell or program ({len(srcs)} files)",
          srcs and not calls, ", ".join(calls))
    rc, out = tool("gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                   "-Wformat=2", "-Wformat-security", "-Werror=format-security",
                   "-fsyntax-only", *srcs)
    check("misuse: cmd/*.c build with -Wformat=2 -Wformat-security -Werror=format-security, "
          "no diagnostic", rc == 0 and not out.strip(), out[:300])


BASE = "."

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BASE = sys.argv[1]
    sys.exit(main(sys.argv[1]))
