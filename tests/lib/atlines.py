# SPDX-License-Identifier: GPL-2.0
"""The line formats the e2e and stress checkers read, parsed (no checks).

apicv_trace's files are lines of space-separated key=value tokens: the
events and follow records ("seq=... ns=... vm=... event=... site=..."),
vms, status, a VM's state (a header, then one "reason=..." line per
reason and maybe an "apic_id_mismatch ..." line), reasons ("bit=N
reason=NAME"). kvmdrive's output (tests/e2e/kvmdrive.c) is "TAG key=value
..." lines. The kernel's own inhibit tracepoint has a format of its own
(TP, TP510).

Both checkers import this module by putting tests/lib on sys.path:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
"""
import re

# Kernel lines, as guest.sh's $OUT/gen and kvmdrive's gen= say them.
G510, G61, G612, G7 = 0, 1, 2, 3
GENS = {"5.10": G510, "6.1": G61, "6.12": G612, "7": G7, "7.2": G7}

# The kernel's tracepoint lines: 6.1+ kvm_apicv_inhibit_changed (thread,
# tid, set|cleared, reason bit, mask, 6.12+: the mask's names), 5.10
# kvm_apicv_update_request (activation flips only).
TP = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\].*?kvm_apicv_inhibit_changed: "
                r"(set|cleared) reason=(\d+), inhibits=(0x[0-9a-f]+)(?: (\S+))?\s*$")
TP510 = re.compile(r"^\s*(.+?)-(\d+)\s+\[\d+\].*?kvm_apicv_update_request: "
                   r"(activate|deactivate) bit=(\d+)")


def tokens(line):
    """{key: value} of a line's key=value tokens (other words ignored)."""
    out = {}
    for tok in line.split():
        k, sep, v = tok.partition("=")
        if sep:
            out[k] = v
    return out


def records(text):
    """The records of an events or follow text (lost= lines left out)."""
    return [tokens(l) for l in text.splitlines() if l.startswith("seq=")]


def bits(mask):
    return [b for b in range(64) if mask >> b & 1]


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


def reason_names(text):
    """The reasons file as a list of names by bit 0..max ("unknown" for a
    bit it does not name; [] if it names none)."""
    by_bit = {}
    for l in text.splitlines():
        t = tokens(l)
        if "bit" in t and "reason" in t:
            by_bit[int(t["bit"])] = t["reason"]
    return [by_bit.get(b, "unknown") for b in range(max(by_bit) + 1)] if by_bit else []


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
