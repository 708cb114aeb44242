# SPDX-License-Identifier: GPL-2.0
"""The e2e's checks of the VMs' state files (vm/<key>/state): per-reason
counts against the events, durations, flapping windows, last set/clear,
sticky reasons, the APIC ID mismatch, and the lapic_set / apic_base
markers. Called by check.py, which puts tests/lib on sys.path."""
import os

from atlines import G510, G61, G612, G7, kvmdrive, parse_state, records, tokens
from checks import check, read

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


def flap_window(recs_ns, end_ns, slots):
    """How many of the changes at recs_ns the module counts in the last
    @slots 5 s slots before end_ns (the current slot included)."""
    cur = end_ns // FLAP_SLOT_NS
    return sum(1 for ns in recs_ns if cur - ns // FLAP_SLOT_NS < slots)


def check_state_fields(label, text, recs, gen, complete=True, kv=None):
    """The state file's fields against themselves and, when the
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


def kvmdrive_runs(d, prefix):
    """{vm: (file name, output)} of the kvmdrive outputs in d named prefix*."""
    out = {}
    for f in sorted(os.listdir(d)):
        if f.startswith(prefix):
            kv = read(os.path.join(d, f))
            for vm in kvmdrive(kv)[2]:
                out[vm] = (f, kv)
    return out


def check_vm_states(base, gen):
    """Every VM's state of the compared runs (rings complete) and of the
    wrapped one; flapping and quiet VMs; whole-life reasons."""
    a1 = os.path.join(base, "avic1")
    cmp_dir = os.path.join(a1, "compare")
    recs = records(read(os.path.join(cmp_dir, "events")))
    kvs = {vm: (f[len("kvmdrive."):], kv) for vm, (f, kv) in kvmdrive_runs(cmp_dir, "kvmdrive.").items()}
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
    kvs0 = {vm: kv for vm, (_, kv) in kvmdrive_runs(a0, "kvmdrive").items()}
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
