#!/usr/bin/env python3
"""Tests of watch, prom and save on a fake live tree, run against each --bin.

    live_test.py --bin PATH [--bin PATH...]

A "live" run is one without --dir: the command reads
$APICV_TRACE_SYSFS/kernel/debug/apicv_trace, and a tree there built from a
fixture (tests/cmd/fixtures) stands in for the module's debugfs files, with
follow a FIFO the test writes to (as the module's blocks). Covered:

  watch   the kept records (events) first, then follow's, a record in both
          once; live records print as wall time, also ones newer than the start;
          --vm/--reason that name nothing are usage errors (exit 2) that
          list what exists; the module going away mid-watch is exit 9
  prom    state= and name= labels on every per-VM sample; exited VMs are
          not inhibited; --output replaces FILE atomically, leaves no
          temporary file (errors, signals), writes up 0 without the module
  save    the bundle: every file but follow (never opened), version,
          params/, doctor.json or doctor.err; --dir BUNDLE list reads it;
          a non-empty DIR is refused; no module: exit 3, nothing written

Every check asserts something that can fail. Ends with "N passed, M failed".
"""
import argparse
import datetime
import filecmp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally, wait_rc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
PROMTOOL_SH = os.path.join(HERE, "promtool.sh")

tally = Tally("live_test")
ok = tally.ok


def env_for(sysfs=None):
    e = dict(os.environ)
    e.pop("APICV_TRACE_SYSFS", None)
    e.pop("APICV_TRACE_PROC", None)
    e["TZ"] = "UTC"
    if sysfs:
        e["APICV_TRACE_SYSFS"] = sysfs
    return e


def run(binary, *args, sysfs=None, timeout=60):
    p = subprocess.run([binary, *args], capture_output=True, timeout=timeout,
                       env=env_for(sysfs))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fake_sysfs(root, fixture, follow_fifo=True, params=None):
    """root/module/apicv_trace (loaded), root/kernel/debug/apicv_trace = fixture."""
    mod = os.path.join(root, "module", "apicv_trace")
    os.makedirs(os.path.join(mod, "parameters"))
    with open(os.path.join(mod, "version"), "w") as f:
        f.write("9.9.9\n")
    for k, v in (params or {}).items():
        with open(os.path.join(mod, "parameters", k), "w") as f:
            f.write(v)
    d = os.path.join(root, "kernel", "debug", "apicv_trace")
    os.makedirs(os.path.dirname(d))
    shutil.copytree(os.path.join(FIX, fixture), d)
    fol = os.path.join(d, "follow")
    if follow_fifo:
        if os.path.exists(fol):
            os.unlink(fol)
        os.mkfifo(fol)
    return d


def boot_ns():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def read_until(p, done, secs=10):
    got = b""
    os.set_blocking(p.stdout.fileno(), False)
    deadline = time.time() + secs
    while time.time() < deadline and not done(got):
        time.sleep(0.05)
        try:
            got += p.stdout.read() or b""
        except (BlockingIOError, TypeError):
            pass
    return got.decode("utf-8", "replace")


def hms(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S")


def near(printed, t, slack=3):
    """printed HH:MM:SS.mmm is within @slack seconds of epoch time @t."""
    return any(printed == hms(t + d) for d in range(-slack, slack + 1))


# ---------------------------------------------------------------------------

def test_watch_wall_time(b):
    with tempfile.TemporaryDirectory() as root:
        d = fake_sysfs(root, "new")
        fifo = os.path.join(d, "follow")
        wfd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        p = subprocess.Popen([b, "watch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env_for(root))
        time.sleep(0.5)		# the command has read its clocks by now
        now_b, now_r = boot_ns(), time.time()
        recs = [(now_b - 10 * 10**9, now_r - 10, "IRQWIN"),		# before the start
                (now_b, now_r, "PIT_REINJ"),				# after the start
                (now_b + 3600 * 10**9, now_r + 3600, "HYPERV")]	# far after
        # a record the history (events) printed, stored again in the
        # stream as follow opened: printed once
        dup = [l for l in open(os.path.join(d, "events")) if l.startswith("seq=15 ")]
        os.write(wfd, dup[0].encode())
        for i, (ns, _, reason) in enumerate(recs):
            os.write(wfd, (f"seq={i + 101} ns={ns} vm=4242-11 vcpu=0 cpu=0 tid=7 comm=q event=set "
                           f"reason={reason} bit=8 old=0x0 new=0x100 result=changed "
                           f"site=svm_enable_irq_window+0x80\n").encode())
        out = read_until(p, lambda g: b"HYPERV" in g)
        lines = out.splitlines()
        ok(len(lines) > 3 and "--- VM 4242-11 created" in lines[0],
           f"watch live: the kept records (events) first: {out[:300]!r}")
        ok(sum("4300-12" in l for l in lines) == 2,
           f"watch live: a record in events and follow printed once: {out!r}")
        lines = lines[-3:]
        ok(len(lines) == 3, f"watch live: 3 lines from follow: {out!r}")
        for (ns, t, reason), line in zip(recs, lines):
            m = re.match(r"(\d\d:\d\d:\d\d)\.\d{3}  4242-11 ", line)
            ok(m is not None and reason in line and near(m.group(1), t),
               f"watch live: record at boot {ns / 1e9:.3f} ({reason}) printed as wall time "
               f"{hms(t)}: {line!r}")
        ok(not re.search(r"^\d+\.\d{6}  ", out, re.M), f"watch live: no boot seconds: {out!r}")
        ok(p.poll() is None, "watch live keeps waiting")
        # the module goes away: follow reads 0 bytes -> exit 9, said on stderr
        os.close(wfd)
        rc = wait_rc(p)
        err = p.stderr.read().decode()
        ok(rc == 9 and "unloaded" in err and "modprobe apicv_trace" in err,
           f"watch: module unloaded -> exit 9: rc={rc} {err!r}")
    # a copy (--dir) ends normally at its end: exit 0, boot seconds
    rc, out, _ = run(b, "--dir", os.path.join(FIX, "new"), "watch")
    ok(rc == 0 and out.startswith("990.000010  "), f"watch --dir: exit 0, boot seconds: rc={rc}")


def test_watch_filters(b):
    new = os.path.join(FIX, "new")
    rc, out, err = run(b, "--dir", new, "watch", "--vm", "999-9")
    ok(rc == 2 and out == "" and "no such VM" in err and "4242-11" in err and "4300-12" in err
       and "3999-9" in err, f"watch --vm unknown: exit 2, known VMs listed: rc={rc} {err!r}")
    rc, out, err = run(b, "--dir", new, "watch", "--reason", "BOGUS")
    ok(rc == 2 and out == "" and 'unknown reason "BOGUS"' in err and "PIT_REINJ" in err
       and "APIC_ID_MODIFIED" in err, f"watch --reason unknown: exit 2, reasons listed: rc={rc} {err!r}")
    rc, out, err = run(b, "--dir", new, "watch", "--reason", "IRQWIN,bogus")
    ok(rc == 2 and '"bogus"' in err, f"watch --reason: one bad name of a list: rc={rc} {err!r}")
    rc, out, err = run(b, "--dir", new, "watch", "--reason", "IRQWIN,")
    ok(rc == 2 and "empty reason" in err, f"watch --reason 'IRQWIN,': rc={rc} {err!r}")
    rc, out, err = run(b, "--dir", new, "watch", "--reason", "irqwin,apic_id_modified")
    ok(rc == 0 and "IRQWIN" in out and "APIC_ID_MODIFIED" in out and "ABSENT" not in out,
       f"watch --reason list, any case: rc={rc} {err!r}")
    # a process name matches every VM of those processes
    rc, out, err = run(b, "--dir", new, "watch", "--vm", "qemu-system-x86")
    ok(rc == 0 and "4242-11" in out and "4300-12" not in out, f"watch --vm comm: rc={rc} {err!r}")
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(new, d, dirs_exist_ok=True)
        with open(os.path.join(d, "vms")) as f:
            vms = f.read()
        with open(os.path.join(d, "vms"), "w") as f:
            f.write(vms.replace("vm=4300-12 ", "vm=4300-12 name=web1 ", 1)
                       .replace("vm=4242-11 ", "vm=4242-11 name=- ", 1))
        # a later VM of process 4300 (not in vms at start): --vm 4300 follows it
        with open(os.path.join(d, "follow"), "a") as f:
            f.write("seq=99 ns=9000000000000 vm=4300-99 vcpu=0 cpu=0 tid=4300 comm=q "
                    "event=set reason=HYPERV bit=1 old=0x0 new=0x2 result=changed site=x+0x1\n")
        rc, out, err = run(b, "--dir", d, "watch", "--vm", "web1")
        ok(rc == 0 and "4300-12" in out and "4242-11" not in out and "4300-99" not in out,
           f"watch --vm NAME (vms name=): that VM only: rc={rc} {out!r} {err!r}")
        rc, out, err = run(b, "--dir", d, "watch", "--vm", "4300")
        ok(rc == 0 and "4300-12" in out and "4300-99" in out and "4242-11" not in out,
           f"watch --vm PID: its VMs, also later ones: rc={rc} {err!r}")
        rc, out, err = run(b, "--dir", d, "watch", "--vm", "4300-99")
        ok(rc == 2 and "web1" in err, f"watch --vm KEY not in vms at start: exit 2: rc={rc} {err!r}")
        rc, out, err = run(b, "--dir", d, "watch", "--vm", "-")
        ok(rc == 2, f"watch --vm -: a missing name is no name: rc={rc}")


def promtool_path():
    p = subprocess.run([PROMTOOL_SH, "--path"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def samples(text):
    """(name, {labels}, value) of each sample line."""
    res = []
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.match(r'([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")) if m else {}
        res.append((m.group(1) if m else line, labels, m.group(3) if m else None))
    return res


def test_prom_labels(b, promtool):
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(os.path.join(FIX, "new"), d, dirs_exist_ok=True)
        with open(os.path.join(d, "vms")) as f:
            vms = f.read()
        with open(os.path.join(d, "vms"), "w") as f:
            f.write(vms.replace("vm=4300-12 ", "vm=4300-12 name=web1 ", 1)
                       .replace("vm=4242-11 ", "vm=4242-11 name=- ", 1))
        rc, out, err = run(b, "--dir", d, "prom")
        ok(rc == 0, f"prom rc={rc} {err}")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=out.encode(), capture_output=True)
            ok(p.returncode == 0, f"promtool check metrics (labels): {p.stdout.decode()}{p.stderr.decode()}")
        per_vm = [s for s in samples(out) if "vm" in s[1]]
        ok(len(per_vm) > 10, f"prom: per-VM samples: {len(per_vm)}")
        want = {"4242-11": ("live", ""), "4300-12": ("live", "web1"), "3999-9": ("exited", "")}
        bad = [s for s in per_vm if (s[1].get("state"), s[1].get("name")) != want.get(s[1]["vm"])]
        ok(not bad, f"prom: every per-VM sample has state= and name= (- and missing: \"\"): {bad[:3]}")
        inh = {s[1]["vm"]: s[2] for s in per_vm if s[0] == "apicv_trace_vm_inhibited"}
        # 3999-9 exited with apicv=inhibited in vms: not an alert
        ok(inh == {"4242-11": "1", "4300-12": "0", "3999-9": "0"},
           f"prom: apicv_trace_vm_inhibited is 1 for live inhibited VMs only: {inh}")
        ok("alert on apicv_trace_vm_inhibited == 1" in out, "prom: HELP says the alert expression")


def listing(d):
    return sorted(os.listdir(d))


def test_prom_output(b, promtool):
    new = os.path.join(FIX, "new")
    rc, want, _ = run(b, "--dir", new, "prom")
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "apicv_trace.prom")
        with open(f, "w") as fh:
            fh.write("old\n")
        ino = os.stat(f).st_ino
        rc, out, err = run(b, "--dir", new, "prom", "--output", f)
        st = os.stat(f)
        ok(rc == 0 and out == "" and open(f).read() == want,
           f"prom --output: FILE has what stdout would: rc={rc} {err!r}")
        ok(st.st_ino != ino, "prom --output: FILE replaced by rename, not rewritten in place")
        ok(st.st_mode & 0o777 == 0o644, f"prom --output: FILE readable by the collector: {oct(st.st_mode)}")
        ok(listing(d) == ["apicv_trace.prom"], f"prom --output: no leftovers: {listing(d)}")
        # relative FILE, in the current directory
        p = subprocess.run([b, "--dir", new, "prom", "--output", "rel.prom"], cwd=d,
                           capture_output=True, env=env_for())
        rel = os.path.join(d, "rel.prom")
        ok(p.returncode == 0 and os.path.exists(rel) and open(rel).read() == want,
           f"prom --output relative: rc={p.returncode}")
        if os.path.exists(rel):
            os.unlink(rel)
        # unreadable copy: up 0, exit 1, FILE replaced all the same
        rc, out, err = run(b, "--dir", "/nonexistent/apicv", "prom", "--output", f)
        text = open(f).read()
        ok(rc == 1 and "apicv_trace_up 0\n" in text and "apicv_trace_vm" not in text,
           f"prom --output, files unreadable: up 0 written: rc={rc} {text!r}")
        ok(listing(d) == ["apicv_trace.prom"], f"prom --output error: no leftovers: {listing(d)}")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
            ok(p.returncode == 0, f"promtool: the up 0 file: {p.stderr.decode()}")
        # the module not loaded (live): up 0 and exit 3, FILE still replaced
        with open(f, "w") as fh:
            fh.write(want)
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "kernel", "debug"))
            rc, out, err = run(b, "prom", "--output", f, sysfs=root)
        text = open(f).read()
        ok(rc == 3 and "apicv_trace_up 0\n" in text and "apicv_trace_vm" not in text
           and "modprobe" in err, f"prom --output, no module: up 0, exit 3: rc={rc} {text!r}")
        ok(listing(d) == ["apicv_trace.prom"], f"prom --output no module: no leftovers: {listing(d)}")
        # cannot be written: a directory in FILE's place; a missing directory
        os.mkdir(os.path.join(d, "isdir.prom"))
        rc, out, err = run(b, "--dir", new, "prom", "--output", os.path.join(d, "isdir.prom"))
        ok(rc == 1 and "left as it was" in err and listing(d) == ["apicv_trace.prom", "isdir.prom"],
           f"prom --output onto a directory: exit 1, no leftovers: rc={rc} {listing(d)} {err!r}")
        rc, out, err = run(b, "--dir", new, "prom", "--output", os.path.join(d, "no", "x.prom"))
        ok(rc == 1 and "must exist" in err, f"prom --output in a missing directory: rc={rc} {err!r}")
        # a signal while the temporary file is open: it is removed, FILE kept.
        with open(f, "w") as fh:
            fh.write(want)
        # vms is a FIFO, so prom waits in its read until the test writes it.
        with tempfile.TemporaryDirectory() as cp:
            shutil.copytree(new, cp, dirs_exist_ok=True)
            os.unlink(os.path.join(cp, "vms"))
            os.mkfifo(os.path.join(cp, "vms"))
            for sig in (signal.SIGTERM, signal.SIGINT):
                p = subprocess.Popen([b, "--dir", cp, "prom", "--output", f],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_for())
                deadline = time.time() + 10
                while time.time() < deadline and len(listing(d)) < 3:
                    time.sleep(0.05)
                tmp_seen = [n for n in listing(d) if n.startswith(".apicv_trace.prom.")]
                ok(tmp_seen, f"prom --output: the temporary file is there while writing: {listing(d)}")
                p.send_signal(sig)
                rc = wait_rc(p)
                ok(rc == -sig and listing(d) == ["apicv_trace.prom", "isdir.prom"]
                   and open(f).read() == want,
                   f"prom --output on {sig.name}: no leftovers, FILE as it was: rc={rc} {listing(d)}")


def test_save(b):
    with tempfile.TemporaryDirectory() as root:
        src = fake_sysfs(root, "v73", params={"stream_size": "4096\n", "reason_names": "\n"})
        out_dir = os.path.join(root, "bundle")
        # follow is a FIFO no one writes: opening it would block until the timeout
        rc, out, err = run(b, "save", out_dir, sysfs=root, timeout=90)
        ok(rc == 0 and "saved" in out and out_dir in out, f"save: exit 0: rc={rc} {out!r} {err!r}")
        files = []
        for dp, _, fns in os.walk(out_dir):
            files += [os.path.relpath(os.path.join(dp, n), out_dir) for n in fns]
        copied = [f for f in files if f not in ("version", "doctor.json", "doctor.err")
                  and not f.startswith("params/")]
        srcfiles = []
        for dp, _, fns in os.walk(src):
            srcfiles += [os.path.relpath(os.path.join(dp, n), src) for n in fns]
        ok(sorted(copied) == sorted(f for f in srcfiles if f != "follow"),
           f"save: every module file but follow: {sorted(copied)}")
        ok("vm/122-4/state" in copied and "vm/122-4/events" in copied and "events" in copied,
           "save: vm/<key>/{state,events} and events")
        ok(all(filecmp.cmp(os.path.join(src, f), os.path.join(out_dir, f), shallow=False)
               for f in copied), "save: the copies are byte for byte")
        ver = open(os.path.join(out_dir, "version")).read()
        _, v, _ = run(b, "--version")
        ok(f"command={v.split()[1]}\n" in ver and f"kernel={os.uname().release}\n" in ver
           and "module=9.9.9\n" in ver, f"save: version: {ver!r}")
        ok(open(os.path.join(out_dir, "params", "stream_size")).read() == "4096\n"
           and os.path.exists(os.path.join(out_dir, "params", "reason_names")),
           f"save: params/: {files}")
        dj, de = (os.path.exists(os.path.join(out_dir, n)) for n in ("doctor.json", "doctor.err"))
        if dj:
            try:
                doc = json.load(open(os.path.join(out_dir, "doctor.json")))
                ok(doc.get("kind") == "doctor", f"save: doctor.json is doctor's JSON: {str(doc)[:200]}")
            except ValueError as e:
                ok(False, f"save: doctor.json is JSON: {e}")
        else:
            ok(de and "doctor failed" in open(os.path.join(out_dir, "doctor.err")).read()
               and "doctor failed" in err, "save: doctor.err in place of doctor.json")
        # the bundle reads like the files
        rc, l1, _ = run(b, "--dir", out_dir, "list")
        _, l2, _ = run(b, "--dir", src, "list")
        ok(rc == 0 and l1 == l2 and "122-4" in l1, f"--dir BUNDLE list: rc={rc} {l1!r}")
        rc, s1, _ = run(b, "--dir", out_dir, "show", "122-4")
        ok(rc == 0 and "122-4" in s1, f"--dir BUNDLE show: rc={rc}")
        # DIR exists and is not empty: refused, untouched
        before = sorted(files)
        rc, out, err = run(b, "save", out_dir, sysfs=root)
        after = []
        for dp, _, fns in os.walk(out_dir):
            after += [os.path.relpath(os.path.join(dp, n), out_dir) for n in fns]
        ok(rc == 2 and "not empty" in err and sorted(after) == before,
           f"save into a non-empty DIR: exit 2, untouched: rc={rc} {err!r}")
        # an empty DIR is taken
        empty = os.path.join(root, "empty")
        os.mkdir(empty)
        rc, out, err = run(b, "save", empty, sysfs=root, timeout=90)
        ok(rc == 0 and os.path.exists(os.path.join(empty, "vms")), f"save into an empty DIR: rc={rc} {err!r}")
        rc, out, err = run(b, "save", os.path.join(root, "nope", "b"), sysfs=root)
        ok(rc == 1 and "parent directory must exist" in err, f"save: missing parent: rc={rc} {err!r}")
    # no module: exit 3 as the other commands, nothing created
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "kernel", "debug"))
        out_dir = os.path.join(root, "bundle")
        rc, out, err = run(b, "save", out_dir, sysfs=root)
        ok(rc == 3 and "modprobe apicv_trace" in err and not os.path.exists(out_dir),
           f"save, no module: exit 3, no DIR: rc={rc} {err!r}")
        os.makedirs(os.path.join(root, "module", "apicv_trace"))
        rc, out, err = run(b, "save", out_dir, sysfs=root)
        ok(rc == 4 and not os.path.exists(out_dir), f"save, no debugfs: exit 4: rc={rc} {err!r}")
    rc, out, err = run(b, "--dir", os.path.join(FIX, "v73"), "save", "/tmp/x")
    ok(rc == 2, f"save --dir: usage error: rc={rc}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    args = ap.parse_args()
    promtool = promtool_path()
    ok(promtool is not None, "promtool available (tests/cmd/promtool.sh)")
    for b in args.bin:
        b = os.path.abspath(b)
        print(f"== {b}")
        for t in [test_watch_wall_time, test_watch_filters, test_prom_labels,
                  test_prom_output, test_save]:
            before = tally.failed
            if t in (test_prom_labels, test_prom_output):
                t(b, promtool)
            else:
                t(b)
            print(f"  {t.__name__}: {'ok' if tally.failed == before else 'FAILED'}")
    return tally.done()


if __name__ == "__main__":
    sys.exit(main())
