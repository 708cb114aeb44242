# SPDX-License-Identifier: GPL-2.0
"""The host's side of the snapshot cap test (tests/e2e/snapshot_cap.sh, run
in the e2e's avic1 boot, its files in avic1/cap/): one open of events holds
at most 65536 records, exactly the newest of all the VMs kept, and a
capped=N vm=KEY line per VM says how many of its records it left out; a
VM's own vm/<key>/events is never capped. Called by check.py, which puts
tests/lib on sys.path.

    cap_checks.py RESULTS_DIR   (alone: these checks only)
"""
import os
import re
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import checks  # noqa: E402
from checks import FAILED, PASSED, check, read  # noqa: E402
from atlines import tokens  # noqa: E402

CAP_MAX = 65536
# what snapshot_cap.sh reports to checks.txt
CAP_GUEST_CHECKS = ["cap_setup", "cap_records_made", "cap_events_capped"]
# a kernel warning (kvmalloc's size WARN among them), or worse
SPLAT = re.compile(r"WARNING:|BUG:|Oops|Call Trace|page allocation failure")


def cap_wanted(kernel):
    """The kernels guest.sh runs the cap test on (about 40 s under TCG):
    the 6.1 and 7.3 lines and the debug kernel."""
    return kernel.startswith(("6.1.", "7.3.")) or kernel.endswith("-apicv-debug")


def cap_guest_checks(kernel):
    return list(CAP_GUEST_CHECKS) if cap_wanted(kernel) else []


def lines_of(text, kind):
    """The lines whose first key is @kind, as token dicts, in file order."""
    return [tokens(l) for l in text.splitlines() if l.startswith(kind + "=")]


def uptime(d, name):
    try:
        return float(read(os.path.join(d, name)).split()[0])
    except (IndexError, ValueError):
        return None


def kv_file(d, name):
    """Lines "KEY VALUE..." of @name as a dict of KEY -> [VALUE...]."""
    out = {}
    for l in read(os.path.join(d, name)).splitlines():
        f = l.split()
        if f:
            out[f[0]] = f[1:]
    return out


def check_cap(base):
    if not cap_wanted(read(os.path.join(base, "avic1", "kernel")).strip()):
        return
    d = os.path.join(base, "avic1", "cap")
    if not check("cap: the guest ran snapshot_cap (avic1/cap/)", os.path.isdir(d), d):
        return
    # each VM's own file: all of its records (its ring never wrapped)
    vms = [tokens(l) for l in read(os.path.join(d, "vms")).splitlines() if l.startswith("vm=")]
    own = kv_file(d, "own")
    total = 0
    for v in vms:
        key = v.get("vm")
        n, ncap, nlost = (own.get(key) or ["-1", "-1", "-1"])[:3]
        total += max(int(n), 0)
        check(f"cap: vm/{key}/events holds all {v.get('events')} records of the VM, none capped or lost",
              n == v.get("events") and v.get("lost") == "0" and ncap == "0" and nlost == "0",
              f"{n} records, vms says events={v.get('events')} lost={v.get('lost')}, "
              f"{ncap} capped lines, {nlost} lost lines")
    sums = kv_file(d, "sums")
    check(f"cap: more than {CAP_MAX} records kept in all, in at least two VMs ({total} in {len(vms)})",
          total > CAP_MAX and len(vms) >= 2 and sums.get("all") == [str(total)],
          f"{total} records in {len(vms)} VMs, the guest sorted {sums.get('all')}")
    shape = read(os.path.join(d, "events.shape")).split() + ["-1", "-1", "-1"]
    nrec, first_rec, last_capped = (int(x) for x in shape[:3])
    check(f"cap: events holds exactly {CAP_MAX} records ({nrec})", nrec == CAP_MAX, f"{nrec} records")
    # the newest CAP_MAX of all the records the VMs kept, line for line and
    # in seq order (md5 of events' records against the guest's own merge)
    check("cap: events holds exactly the newest records of all VMs, each the one in its VM's "
          "file, in seq order",
          sums.get("events") and sums.get("events") == sums.get("newest"),
          f"md5 events {sums.get('events')} newest {sums.get('newest')}")
    # capped=N vm=KEY: one line per VM with records left out, N exact
    other = read(os.path.join(d, "events.other"))
    capped = lines_of(other, "capped")
    got = kv_file(d, "capped.got")
    want = kv_file(d, "capped.want")
    check("cap: one capped=N vm=KEY line per VM left out, before the records",
          capped and len(capped) == len(got) and 0 < last_capped < first_rec,
          f"{len(capped)} capped lines for {sorted(got)}, last at line {last_capped}, "
          f"first record at {first_rec}")
    check(f"cap: capped=N is exactly what each VM left out ({want})",
          want and got == want, f"capped lines say {got}")
    check("cap: no lost= line (nothing was overwritten)", not lines_of(other, "lost"),
          str(lines_of(other, "lost")[:3]))
    check("cap: a second open of events gives the same snapshot",
          sums.get("again") and sums.get("again") == sums.get("first"),
          f"md5 {sums.get('first')} then {sums.get('again')}")

    st = read(os.path.join(d, "status"))
    check("cap: status reports lost=0 and the ring size", re.search(r"^events=\d+ untracked=\d+ lost=0$", st, re.M)
          and re.search(r"^ring_size=65536 ", st, re.M), st[-300:])
    # the guest kept the kernel log's new lines that match SPLAT's words
    splat = [l for l in read(os.path.join(d, "dmesg.splats")).splitlines() if SPLAT.search(l)]
    check("cap: no kernel warning while the records were made and read",
          os.path.exists(os.path.join(d, "dmesg.lines")) and not splat, "; ".join(splat[:3]))
    t0, t1, t2, t3 = (uptime(d, n) for n in ("start", "made", "read", "end"))
    if check("cap: the guest timed it (start, made, read, end)", None not in (t0, t1, t2, t3),
             f"{t0} {t1} {t2} {t3}"):
        print(f"cap: {total} records made in {t1 - t0:.1f} s, events read in {t2 - t1:.1f} s, "
              f"all in {t3 - t0:.1f} s of guest time")


def main(base):
    checks.BASE = base
    check_cap(base)
    print(f"cap: {len(PASSED)} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
