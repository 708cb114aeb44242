#!/usr/bin/env python3
"""Tests of `apicv-trace show`'s verdict and `show --timeline`.

    show_test.py --bin PATH [--bin PATH...]

The strips are checked cell by cell against the intervals rebuilt here,
independently, from the same events and state files: cell i covers
[t0 + span*i//n, t0 + span*(i+1)//n) ns; it must be full when a reason was
set for all of it, partial when for part of it (a set and clear in one
nanosecond included), clear otherwise. fixtures/show (hand-written, see its
README) also has literal expectations, so that a bug shared by the drawing
and this oracle still fails; the real module files of fixtures/v61 and v73
are checked against the oracle. Both UTF-8 and ASCII, with --last and
without. Ends with "N passed, M failed".
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
SHOW = os.path.join(FIX, "show")

tally = Tally("show_test")
ok = tally.ok

UTF8 = {"\u2588": "#", "\u2584": "+", "\u00b7": ".", "\u2591": "?"}
S = 10**9
C = 1000 * S


def utf8_locale():
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"):
        if name in out:
            return name
    return None


def run(b, *args, env=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LC_") and k not in ("LANG", "COLUMNS")}
    e["TZ"] = "UTC"
    e["LC_ALL"] = "C"
    if env:
        e.update(env)
    p = subprocess.run([b, *args], capture_output=True, env=e)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def recs(path):
    out = []
    with open(path) as f:
        for line in f:
            kv = {}
            for tok in line.split():
                k, _, v = tok.partition("=")
                kv[k] = v
            out.append(kv)
    return out


def vm_files(d, key):
    if os.path.exists(os.path.join(d, "vm", key)):
        return os.path.join(d, "vm", key, "state"), os.path.join(d, "vm", key, "events")
    return os.path.join(d, f"state.{key}"), os.path.join(d, f"events.{key}")


def oracle(d, key, last=0):
    """Rows {reason: intervals}, t0, end: for a whole history (lost=0)."""
    sp, ep = vm_files(d, key)
    st = recs(sp)
    head = {}
    for r in st:
        if "reason" not in r:
            head.update({k: v for k, v in r.items() if k not in head})
    assert head.get("lost") == "0", f"oracle wants a whole history: {key}"
    evs = [r for r in recs(ep) if "seq" in r]
    start = int(head["created_ns"])
    end = int(head["exited_ns"])
    rows, opened = {}, {}
    for r in st:
        if "reason" in r and (r.get("now") == "set" or r.get("sets") != "0"):
            rows[r["reason"]] = []
    for e in evs:
        if e.get("result") != "changed" or e.get("event") not in ("set", "clear"):
            continue
        n, ns = e["reason"], int(e["ns"])
        rows.setdefault(n, [])
        if e["event"] == "set" and n not in opened:
            opened[n] = ns
        elif e["event"] == "clear" and n in opened:
            rows[n].append((opened.pop(n), ns))
    for n, s in opened.items():
        rows[n].append((s, end))
    t0 = max(start, end - last * S) if last else start
    return rows, t0, end


def expect_cells(ivs, t0, end, n):
    span = end - t0
    out = []
    for i in range(n):
        a, b = t0 + span * i // n, t0 + span * (i + 1) // n
        cov, touched = 0, False
        for s, e in ivs:
            if s == e and a <= s < b:
                touched = True
            elif s < b and e > a:
                touched = True
                cov += min(e, b) - max(s, a)
        out.append("#" if touched and cov == b - a else "+" if touched else ".")
    return "".join(out)


def strips(out, utf8):
    """{row name: cells as # + . ?} and the axis row, from the drawing."""
    rows, axis = {}, None
    for line in out.splitlines():
        if line.count("|") < 2 or not line.endswith("|"):
            continue
        name, _, rest = line.partition(" |")
        cells = rest[:-1]
        if utf8:
            if not name.strip():
                axis = cells.replace("\u2500", "-")
                continue
            bad = [ch for ch in cells if ch not in UTF8]
            ok(not bad, f"UTF-8 strip {name.strip()} has only block glyphs: {bad[:3]}")
            cells = "".join(UTF8.get(ch, "!") for ch in cells)
        elif not name.strip():
            axis = cells
            continue
        rows[name.strip()] = cells
    return rows, axis


def check_oracle(b, d, key, cols, last=0, loc=None):
    rows, t0, end = oracle(d, key, last)
    args = ["--dir", d, "show", "--timeline"] + (["--last", str(last)] if last else [])
    for utf8 in ([False, True] if loc else [False]):
        env = {"COLUMNS": str(cols)}
        if utf8:
            env["LC_ALL"] = loc
        rc, out, err = run(b, *args, key, env=env)
        ok(rc == 0, f"timeline {d} {key} rc={rc} {err}")
        got, _ = strips(out, utf8)
        ok(set(got) == set(rows), f"timeline {key} rows {sorted(got)} != {sorted(rows)}")
        namew = min(max([6] + [len(r) for r in rows]), 24)
        n = min(cols - namew - 3, end - t0)
        for r, ivs in rows.items():
            want = expect_cells(ivs, t0, end, n)
            ok(got.get(r) == want,
               f"timeline {os.path.basename(d)} {key} {r} last={last} utf8={utf8}:\n"
               f"  got  {got.get(r)}\n  want {want}")


def test_verdict(b):
    cases = [
        # set 1 us after a local APIC restore: a reboot or restore did it
        ("10-1", "qemu-system-x86 (10-1): exited, AVIC INHIBITED for its last 49.9 s by APIC_ID_MODIFIED "
                 "(sticky: stays until the VM restarts; set at a reboot or restore: the VMM restored "
                 "the local APIC at boot+1050.000s)",
         "First change: find what wrote the wrong APIC ID"),
        ("11-2", "qemu-system-x86 (11-2): AVIC INHIBITED for 1 min 30 s by PIT_REINJ",
         "First change: set the VMM's PIT to discard lost ticks: QEMU -global kvm-pit.lost_tick_policy=discard"),
        # DISABLE keeps AVIC off whatever else is fixed
        ("12-3", "db (12-3): AVIC INHIBITED for 5.0 s by DISABLE and PIT_REINJ",
         "First change: turn AVIC on in the host: options kvm_amd avic=1"),
        # a reason that stays set beats a flapping IRQWIN
        ("13-4", "web (13-4): AVIC INHIBITED for 2 min 3 s by PIT_REINJ and IRQWIN",
         "First change: set the VMM's PIT to discard lost ticks"),
        ("14-5", "qemu-system-x86 (14-5): AVIC active, but IRQWIN is flapping (400 changes in the last 60 s)",
         "First change: make the guest take its interrupts through the IOAPIC or MSI"),
        ("15-6", "qemu-system-x86 (15-6): AVIC active", "First change: none needed."),
    ]
    for key, first, change in cases:
        rc, out, err = run(b, "--dir", SHOW, "show", key)
        lines = out.splitlines()
        ok(rc == 0 and len(lines) > 4, f"show {key} rc={rc} {err}")
        ok(lines[:1] == [first], f"show {key} verdict: {lines[:1]} != {first!r}")
        ok(len(lines) > 2 and lines[1].startswith(change) and lines[2] == "",
           f"show {key} first change: {lines[1:3]}")
        ok(f"\nVM {key}: pid " in out and "Reasons seen in this VM's life" in out,
           f"show {key}: the details follow the verdict")
    # real module output
    rc, out, _ = run(b, "--dir", os.path.join(FIX, "v73"), "show", "122-4")
    ok(out.startswith("VM 122-4: exited, AVIC INHIBITED for its last 19 ms by APIC_BASE_MODIFIED (sticky")
       and "\nFirst change: find what writes the APIC base MSR" in out, f"show v73 122-4: {out[:200]!r}")
    rc, out, _ = run(b, "--dir", os.path.join(FIX, "v73"), "show", "127-4")
    ok(out.startswith("VM 127-4: exited, AVIC active\nFirst change: none needed.\n"),
       f"show v73 127-4: {out[:120]!r}")


def test_timeline_literal(b, loc):
    # 10-1: 100 cells of 1 s (namew 16, COLUMNS 119)
    want = {
        "ABSENT": "+#+" + "." * 97,
        "PIT_REINJ": "..." + "#" * 7 + "." * 90,
        "IRQWIN": "." * 20 + "+" + "." * 9 + "+" + "." * 9 + "++" + "." * 58,
        "APIC_ID_MODIFIED": "." * 50 + "+" + "#" * 49,
    }
    axis = "c" + "-" * 49 + "r" + "-" * 48 + "x"
    rc, out, err = run(b, "--dir", SHOW, "show", "--timeline", "--ascii", "10-1", env={"COLUMNS": "119"})
    got, gaxis = strips(out, False)
    ok(rc == 0 and got == want, f"timeline 10-1 ascii:\n{out}\n{err}")
    ok(gaxis == axis, f"timeline 10-1 axis {gaxis}")
    ok("+0.000s" in out and "+100.000s" in out and "100 cells of 1.0 s" in out,
       "timeline 10-1: offsets on the axis, cell size")
    ok("LOGICAL_ID_ALIASED" not in out, "timeline: a reason never set has no row")
    # a locale without UTF-8 draws ASCII without --ascii
    rc, out2, _ = run(b, "--dir", SHOW, "show", "--timeline", "10-1", env={"COLUMNS": "119"})
    ok(rc == 0 and out2 == out, "timeline: LC_ALL=C draws ASCII")
    if loc:
        rc, out3, _ = run(b, "--dir", SHOW, "show", "--timeline", "10-1",
                          env={"COLUMNS": "119", "LC_ALL": loc})
        got3, gaxis3 = strips(out3, True)
        ok(rc == 0 and got3 == want and "\u2588" in out3 and "#" not in out3.split("\n\n", 1)[1][:2000]
           and gaxis3 == axis, f"timeline 10-1 UTF-8 ({loc}):\n{out3}")
        rc, out4, _ = run(b, "--dir", SHOW, "show", "--timeline", "--ascii", "10-1",
                          env={"COLUMNS": "119", "LC_ALL": loc})
        ok(out4 == out, "timeline: --ascii wins over a UTF-8 locale")
    # --last 50: 50 cells of 1 s from +50 s, the restore on the first cell
    rc, out, _ = run(b, "--dir", SHOW, "show", "--timeline", "--ascii", "--last", "50", "10-1",
                     env={"COLUMNS": "69"})
    got, gaxis = strips(out, False)
    ok(got == {"ABSENT": "." * 50, "PIT_REINJ": "." * 50, "IRQWIN": "." * 50,
               "APIC_ID_MODIFIED": "+" + "#" * 49}, f"timeline 10-1 --last 50:\n{out}")
    ok(gaxis == "r" + "-" * 48 + "x" and "+50.000s" in out and "the last 50.0 s" in out,
       f"timeline --last 50 axis {gaxis}")
    # --last 60: the IRQWIN flap across +41 s is in two cells
    rc, out, _ = run(b, "--dir", SHOW, "show", "--timeline", "--ascii", "--last", "60", "10-1",
                     env={"COLUMNS": "79"})
    got, _ = strips(out, False)
    ok(got.get("IRQWIN") == "++" + "." * 58 and got.get("APIC_ID_MODIFIED") == "." * 10 + "+" + "#" * 49,
       f"timeline 10-1 --last 60:\n{out}")
    # a wrapped ring: what is not known says so; PIT_REINJ from since_ns
    rc, out, _ = run(b, "--dir", SHOW, "show", "--timeline", "--ascii", "11-2", env={"COLUMNS": "112"})
    got, _ = strips(out, False)
    ok(got == {"ABSENT": "?" * 40 + "." * 60, "IRQWIN": "?" * 40 + "#" * 20 + "." * 40,
               "PIT_REINJ": "." * 10 + "#" * 90}, f"timeline 11-2 (wrapped):\n{out}")
    ok("not known: before the oldest record the ring still holds" in out, "timeline 11-2 says the ring wrapped")
    # set now says the state, but its set record is unreadable: not known, never clear
    rc, out, _ = run(b, "--dir", os.path.join(FIX, "malformed"), "show", "--timeline", "--ascii", "1-1",
                     env={"COLUMNS": "90"})
    got, _ = strips(out, False)
    ok(rc == 0 and got == {"APIC_ID_MODIFIED": "?" * 71}, f"timeline malformed 1-1:\n{out}")
    # width: 80 without COLUMNS and without a terminal
    rc, out, _ = run(b, "--dir", SHOW, "show", "--timeline", "--ascii", "10-1")
    widths = {len(l) for l in out.splitlines() if l.endswith("|")}
    ok(widths == {80}, f"timeline default width 80: {widths}")
    rc, _, err = run(b, "--dir", SHOW, "--json", "show", "--timeline", "10-1")
    ok(rc == 2 and "--json" in err, "timeline with --json refused")


def test_timeline_oracle(b, loc):
    for cols in (119, 80, 47):
        check_oracle(b, SHOW, "10-1", cols, loc=loc)
    for last in (1, 30, 50, 99):
        check_oracle(b, SHOW, "10-1", 100, last=last, loc=loc)
    for d, keys in (("v73", ["122-4", "124-4", "125-5", "127-4"]),
                    ("v61", ["114-4", "117-4", "119-5", "122-4", "124-4", "126-4"])):
        for key in keys:
            check_oracle(b, os.path.join(FIX, d), key, 100, loc=loc)
            check_oracle(b, os.path.join(FIX, d), key, 1000, loc=None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    a = ap.parse_args()
    loc = utf8_locale()
    ok(loc is not None, "a UTF-8 locale (C.UTF-8) is installed, to test the UTF-8 drawing")
    for b in a.bin:
        print(f"== {b}")
        for t in (test_verdict, test_timeline_literal, test_timeline_oracle):
            before = tally.failed
            if t is test_verdict:
                t(b)
            else:
                t(b, loc)
            print(f"  {t.__name__}: {'ok' if tally.failed == before else 'FAILED'}")
    sys.exit(tally.done())


if __name__ == "__main__":
    main()
