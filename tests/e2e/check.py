#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check what the guest side of the e2e suite (guest.sh) collected.

usage: check.py RESULTS_DIR          (holds avic1/ and avic0/ from guest.sh)

Every check either passes or names what it expected and what it saw. The
last line is "e2e: N passed, M failed"; the exit status is 0 only if M == 0.
A check that cannot be made (a file missing, a line unparsable) fails.
Beside this file: state_checks.py (the VMs' state files), cmd_checks.py
(the apicv-trace command), misuse_checks.py (tests/misuse); the line
parsers and the tally are tests/lib's atlines.py and checks.py.

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
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from atlines import (G510, G61, G612, G7, GENS, TP, TP510, bits,  # noqa: E402
                     expected_changes, kvmdrive, records, tokens, tp_changes)
import checks  # noqa: E402
from checks import FAILED, PASSED, check, parse_reasons, read  # noqa: E402
from cmd_checks import check_cmd  # noqa: E402
from misuse_checks import check_misuse, misuse_checks  # noqa: E402
from cap_checks import cap_guest_checks, check_cap  # noqa: E402
from state_checks import check_states, check_vm_states  # noqa: E402

# Kernel addresses must never leave the kernel: no 0xffff... anywhere.
KPTR = re.compile(r"\b(?:0x)?ffff[0-9a-f]{12}\b", re.I)
SITE = re.compile(r"^(?:-|\?|[A-Za-z_][\w.]*\+0x[0-9a-f]+)$")

# Requests KVM drops with APICv off that reach an out-of-line function
# apicv_trace can hook (kvm_set_or_clear_apicv_inhibit; its callers are in
# docs/kernels.md, "Symbols in Debian's builds"). ABSENT, BLOCKIRQ and
# HYPERV return inside an inlined check first; 7.2+ SVM only counts IRQ
# windows with APICv on.
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


# Checks guest.sh must have reported as OK (a skipped check is a failure).
GUEST_CHECKS_AVIC1 = (
    ["waiting_for_kvm", "armed_after_kvm", "trace_enabled_compare",
     "trace_enabled_wrap", "follow_nonblock_poll",
     "follow_readers_block", "follow_blocking_readers",
     "param_ring_size_ok", "stream_size_readonly", "files_0444",
     "insmod_bad_param", "max_exited_bounds", "clear_exited",
     "clear_events", "evict_by_exit_time", "evict_live_beats_exited",
     "evict_cap_exited", "adopt_baseline", "kvm_amd_reload",
     "armed_after_kvm_amd_reload", "events_after_kvm_amd_reload",
     "kvm_unload", "disarmed_without_kvm", "rearmed_after_reload",
     "events_after_reload", "unload_busy_while_follow_open",
     "unload_after_follow_closed", "unload_cycles",
     "follow_slow_lost", "final_unload", "reason_names_load", "reason_names_write",
     "reason_names_same_again", "reason_names_rename_refused",
     "reason_names_name_taken_refused", "reason_names_kvm_name_refused",
     "reason_names_twice_refused", "reason_names_empty_nothing", "reason_names_unload"]
    + [f"param_{p}_rejects_{v}" for p, v in (
        ("ring_size", "0"), ("ring_size", "100"), ("ring_size", "131072"),
        ("ring_size", "abc"), ("max_vms", "0"), ("max_vms", "99999999999"),
        ("max_exited", "-1"), ("max_exited", "5000"), ("clear", "1"),
        ("clear", "yes"), ("clear", ""), ("log_noop", "maybe"))]
    + [f"write_refused_{f}" for f in ("status", "reasons", "vms", "events", "follow")])


# The debug kernel (scripts/debug-kernel.sh, make check-debug) is built
# without BTF: its names are those of the 6.1 line, checked there.
DEBUG_KERNEL = False
KERNEL = ""  # uname -r of the avic1 boot


def guest_checks(mode, gen):
    if mode == "avic1":
        btf = gen >= G61 and not DEBUG_KERNEL
        absorb = ["absorb_counted", "absorb_ring_kept"] if gen == G7 else []
        return (GUEST_CHECKS_AVIC1 + (["btf_enum"] if btf else []) + absorb
                + misuse_checks() + cap_guest_checks(KERNEL))
    return ["trace_enabled_avic0", "unload",
            "avic0_nothing_dropped_510" if gen == G510 else "avic0_dropped"]


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
        # kretprobe instances: functions that sleep on KVM's locks get room
        # for the vCPU threads asleep in them (256 at least), the others 64+
        if t.get("kind") == "kretprobe" and t.get("state") == "armed":
            least = 256 if role in ("request", "apic_map", "irq_window") else 64
            check(f"status: hook {role} has maxactive >= {least}",
                  t.get("maxactive", "").isdigit() and int(t["maxactive"]) >= least, line)
    check("status: request slots exhausted 0 times (reqs_full=0)",
          re.search(r"(^| )reqs_full=0( |$)", status, re.M), status[-300:])
    # the setter's result read at its entry where it applies one request
    # under KVM's lock (6.1, 6.12); its return hooked on 5.10 (no lock) and
    # 7.x (IRQWIN recomputed from KVM's count on every call)
    m = re.search(r"(?:^| )setter=(\S+) mispredicted=(\S+)$", status, re.M)
    want = "entry" if gen in (G61, G612) else "exit"
    check(f"status: setter={want}", m and m.group(1) == want, m.group(0) if m else status[-300:])
    check("status: no setter result found wrong (mispredicted=0)",
          m and m.group(2) == "0", m.group(0) if m else status[-300:])
    t, line = hooks.get("setter", ({}, "no hook=setter"))
    check(f"status: hook setter is a {'kprobe' if want == 'entry' else 'kretprobe'}",
          t.get("kind") == ("kprobe" if want == "entry" else "kretprobe"), line)
    m = re.search(r"^kernel=\S+ lockdown=(\S+)$", status, re.M)
    check("status: lockdown=none before the misuse tests lock the kernel down",
          m and m.group(1) == "none", m.group(0) if m else "no kernel= line")
    if gen == G612:
        # GCC split the setter: the stub only tail-calls the .part.0 clone
        # (and synic_update_vector calls the stub): hook one, never both.
        on_stub = [line for t, line in hooks.values()
                   if t.get("symbol") == "__kvm_set_or_clear_apicv_inhibit"]
        check("status: no hook on the stub __kvm_set_or_clear_apicv_inhibit", not on_stub,
              str(on_stub))



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
    global KERNEL
    KERNEL = read(os.path.join(a1, "kernel")).strip()
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
    check_vm_states(base, gen)
    check_cmd(base, gen)
    check_misuse(base)
    check_cap(base)
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


# The probation checks (tests/misuse/misuse.sh 8a) when e2e.sh had the
# AT_TEST_FAULTS test build to load (scripts/buildroot.sh --w1 makes it)
PROBATION_CHECKS = ["misuse_probation_loads", "misuse_probation_refused",
                    "misuse_probation_coverage", "misuse_probation_warned",
                    "misuse_probation_host_goes_on", "misuse_probation_unload"]


def check_guest_checks(d, mode, gen):
    lines = read(os.path.join(d, "checks.txt")).splitlines()
    oks = {l.split()[1] for l in lines if l.startswith("OK ")}
    want = guest_checks(mode, gen)
    testbuild = os.path.join(os.path.dirname(os.path.abspath(d)), "testbuild")
    if mode == "avic1" and os.path.exists(testbuild) and read(testbuild).strip() == "yes":
        want = want + PROBATION_CHECKS
    for l in lines:
        if l.startswith("FAIL"):
            check(f"{mode}: guest check {l.split()[1].rstrip(':')}", False, l)
    for name in want:
        check(f"{mode}: guest check {name}", name in oks, "not reported OK")
    for l in lines:
        if l.startswith("OK ") and l.split()[1] not in want:
            check(f"{mode}: guest check {l.split()[1]}", True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    checks.BASE = sys.argv[1]
    sys.exit(main(sys.argv[1]))
