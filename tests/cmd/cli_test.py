#!/usr/bin/env python3
"""Tests of the apicv-trace command, run against each --bin given.

    cli_test.py --bin PATH [--bin PATH...]

Fixtures (fixtures/): v61 and v73 are real files of today's module (6.1
and 7.3 e2e runs; v61 in the flat compare layout state.<key>/events.<key>,
v73 in the debugfs tree layout), new is hand-written from the contract's
new fields, malformed is broken on purpose. Every test asserts something
that can fail. Ends with "N passed, M failed".
"""
import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tally import Tally, wait_rc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")
SCHEMA = os.path.join(HERE, "..", "..", "cmd", "apicv-trace.schema.json")
VALIDATE = os.path.join(HERE, "validate.py")
PROMTOOL_SH = os.path.join(HERE, "promtool.sh")

tally = Tally("cli_test")
ok = tally.ok


def run(binary, *args, env=None, timeout=30, input=None):
    e = dict(os.environ)
    e.pop("APICV_TRACE_SYSFS", None)
    e.pop("APICV_TRACE_PROC", None)
    e["TZ"] = "UTC"
    if env:
        e.update(env)
    p = subprocess.run([binary, *args], capture_output=True, timeout=timeout,
                       env=e, input=input)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def fx(name):
    return os.path.join(FIX, name)


# ---------------------------------------------------------------------------

def test_usage(b):
    rc, out, err = run(b, "--help")
    ok(rc == 0 and "show VM" in out and "watch" in out and "prom" in out
       and "Exit status" in out, "--help")
    rc, out, _ = run(b, "--version")
    ok(rc == 0 and out.startswith("apicv-trace "), "--version")
    for args, word in [(["--bogus"], "unknown option"),
                       (["frobnicate"], "unknown command"),
                       (["show"], "needs a VM"),
                       (["--dir", fx("v61"), "prom", "--json"], "--json does not apply"),
                       (["list", "extra"], "takes no argument"),
                       (["show", "a", "b"], "unexpected argument"),
                       (["--dir"], "--dir needs"),
                       (["list", "--vm", "1"], "go with watch"),
                       (["watch", "--reason"], "--reason needs")]:
        rc, out, err = run(b, *args)
        ok(rc == 2 and word in err and out == "", f"usage error {args}: rc={rc} err={err!r}")


def test_list(b):
    rc, out, err = run(b, "--dir", fx("v61"))
    lines = out.splitlines()
    ok(rc == 0 and err == "", f"list v61 rc={rc} err={err}")
    ok(lines[0].split() == ["VM", "NAME", "PID", "PROCESS", "STATUS", "AVIC", "FOR", "REASONS",
                            "FLAPPING"],
       f"list header {lines[0]!r}")
    ok(len(lines) == 7, "list v61: 6 VMs")
    row = {l.split()[0]: l.split() for l in lines[1:]}
    # (these files predate name=: NAME is -)
    ok(row["114-4"][1] == "-" and row["114-4"][5] == "inhibited"
       and row["114-4"][7] == "APIC_ID_MODIFIED|APIC_BASE_MODIFIED",
       f"list v61 114-4 {row.get('114-4')}")
    ok(row["126-4"][6] == "477ms" and row["126-4"][3] == "?" and row["126-4"][8] == "?",
       f"list v61 126-4: old module, no comm/flapping -> ? {row.get('126-4')}")
    # columns aligned: every row's REASONS starts at the header's offset
    col = lines[0].index("REASONS")
    ok(all(l[col - 2:col] == "  " and l[col] != " " for l in lines[1:]), "list columns aligned")

    rc, out, _ = run(b, "--dir", fx("v73"))
    ok(rc == 0 and "APIC_BASE_MODIFIED" in out and len(out.splitlines()) == 5, "list v73")

    rc, out, _ = run(b, "--dir", fx("new"))
    row = {l.split()[0]: l for l in out.splitlines()[1:]}
    ok(rc == 0 and "qemu-system-x86" in row["4242-11"] and row["4242-11"].split()[-1] == "yes"
       and "2h03m" in row["4242-11"], f"list new 4242-11: {row.get('4242-11')!r}")
    ok('we"ird\\name' in row["4300-12"] and row["4300-12"].split()[-1] == "no", "list new comm as is")
    ok("1d00h" in row["3999-9"], "list new: 86400123 ms is 1d00h")

    # an empty vms file
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "vms"), "w").close()
        rc, out, _ = run(b, "--dir", d)
        ok(rc == 0 and "No VMs recorded" in out, "list: no VMs")
        rc, out, _ = run(b, "--dir", d, "--json")
        ok(rc == 0 and json.loads(out)["vms"] == [], "list --json: no VMs")


def test_names(b):
    """VMs by the name their VMM gave them (vms name=): the NAME column,
    JSON, and show NAME: the live VM of that name, else the last listed."""
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(fx("v61"), os.path.join(d, "v"))
        v = os.path.join(d, "v")
        with open(os.path.join(v, "vms")) as fh:
            lines = fh.read().splitlines()
        names = {"114-4": "web-a", "117-4": "web-a", "119-5": "db-b"}
        out = []
        for l in lines:
            k = l.split()[0].split("=", 1)[1]
            if k == "117-4":
                l = l.replace("status=exited", "status=live")
            out.append(l + (f" name={names[k]}" if k in names else " name=-"))
        with open(os.path.join(v, "vms"), "w") as fh:
            fh.write("\n".join(out) + "\n")
        rc, o, e = run(b, "--dir", v)
        row = {l.split()[0]: l.split() for l in o.splitlines()[1:]}
        ok(rc == 0 and row["114-4"][1] == "web-a" and row["119-5"][1] == "db-b"
           and row["122-4"][1] == "-", f"list NAME column: {o!r} {e!r}")
        rc, o, _ = run(b, "--dir", v, "--json")
        js = {x["vm"]: x for x in json.loads(o)["vms"]}
        ok(js["119-5"]["name"] == "db-b" and js["122-4"]["name"] is None, f"list --json name: {o[:300]!r}")
        rc, o, e = run(b, "--dir", v, "--json", "show", "web-a")
        ok(rc == 0 and json.loads(o)["vm"]["vm"] == "117-4", f"show web-a: the live one: {rc} {o[:200]!r} {e!r}")
        rc, o, e = run(b, "--dir", v, "--json", "show", "db-b")
        ok(rc == 0 and json.loads(o)["vm"]["vm"] == "119-5" and json.loads(o)["vm"]["name"] == "db-b",
           f"show db-b: {rc} {o[:200]!r} {e!r}")
        rc, o, e = run(b, "--dir", v, "show", "nosuch")
        ok(rc == 6 and "web-a" in e and "db-b" in e, f"show nosuch lists the names: {e!r}")


def test_show(b):
    rc, out, err = run(b, "--dir", fx("v61"), "show", "126-4")
    ok(rc == 0, f"show v61 126-4 rc={rc} {err}")
    ok(out.startswith("VM 126-4: exited, AVIC INHIBITED for its last 477 ms by APIC_ID_MODIFIED "
                      "(sticky: stays until the VM restarts; set by kvm_apic_set_state, i.e. the VMM "
                      "restored the local APIC (KVM_SET_LAPIC))\nFirst change: find what wrote the wrong APIC ID"),
       f"show v61 126-4 opens with the verdict: {out[:300]!r}")
    for s in ["VM 126-4: pid 126", "AVIC is INHIBITED by APIC_ID_MODIFIED",
              "since boot+3.375s (477 ms, until the VM exited)",
              "sticky: this kernel never clears it: only a VM restart does",
              "1 set, 0 clears; inhibited 234 ms in total, 45% of the VM's life",
              "last set:   boot+3.618s, by kvm_apic_set_state+0x30a: the VMM restored the local APIC (KVM_SET_LAPIC)",
              "last clear: never",
              "400 sets, 400 clears",
              "vCPU 0 had xAPIC ID 1; KVM compared it with 0 (the vCPU id 0 & 0xff)",
              "kvm-pit.lost_tick_policy=discard",
              "Flapping: ?"]:
        ok(s in out, f"show v61 126-4 has {s!r}")
    # by pid: the same VM
    rc2, out2, _ = run(b, "--dir", fx("v61"), "show", "126")
    ok(rc2 == 0 and out2 == out, "show by pid")

    rc, out, _ = run(b, "--dir", fx("v73"), "show", "127-4")
    ok(rc == 0 and "AVIC is ACTIVE" in out and "798 IRQWIN requests only counted" in out,
       "show v73 127-4 (absorbed)")
    ok("never inhibited this VM" in out, "show v73: reasons with only no-ops")

    rc, out, _ = run(b, "--dir", fx("new"), "show", "4242-11")
    ok(rc == 0, "show new rc")
    for s in ["pid 4242 (qemu-system-x86), 4 vCPUs, running",
              "Life: 2 h 03 min", "8871 of them lost", "FLAPPING: 84 changes in the last 10 s, 502 in the last 60 s",
              "72% of the VM's life", "vCPU 256 had xAPIC ID 1; KVM compared it with 0 (the vCPU id 256 & 0xff)",
              "FUTURE_REASON (bit 13)", "no explanation for FUTURE_REASON",
              "restored a local APIC (KVM_SET_LAPIC: reset, reboot or restore) 1 time",
              "value 0xfee00900"]:
        ok(s in out, f"show new has {s!r}")
    ok("some_new_line_kind" not in out and "future_head" not in out, "show: unknown lines/keys not printed")

    # not found: the known VMs are listed, exit 6
    rc, out, err = run(b, "--dir", fx("v61"), "show", "999-9")
    ok(rc == 6 and out == "" and 'no VM "999-9"' in err and "114-4" in err and "126-4" in err,
       f"show unknown VM: rc={rc} err={err!r}")
    # ambiguous process name
    rc, _, err = run(b, "--dir", fx("new"), "show", "qemu-system-x86")
    ok(rc == 6 and "matches 2 VMs" in err and "4242-11" in err and "3999-9" in err, "show ambiguous")
    rc, out, _ = run(b, "--dir", fx("new"), "show", 'we"ird\\name')
    ok(rc == 0 and "VM 4300-12" in out, "show by unique process name")
    # in vms but no state any more
    rc, _, err = run(b, "--dir", fx("new"), "show", "3999-9")
    ok(rc == 6 and "state cannot be read" in err, f"show without state rc={rc}")
    # a key with a slash is refused, never used as a path
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "vms"), "w") as f:
            f.write("vm=../../etc pid=1 status=live\n")
        rc, _, err = run(b, "--dir", d, "show", "../../etc")
        ok(rc != 0 and "refusing" in err, "show: key with / refused")


def test_malformed(b):
    m = fx("malformed")
    rc, out, err = run(b, "--dir", m)
    ok(rc == 0 and len(out.splitlines()) == 4, f"list malformed rc={rc} {err}")
    ok("1-1" in out and "weird" in out and "213503982334d14h" in out, "list malformed: huge for_ms")
    r3 = [l for l in out.splitlines() if l.startswith("3-3")][0].split()
    ok(r3[6] == "?", "list malformed: for_ms past 64 bits is ?")
    for vm in ["1-1", "2-2", "3-3"]:
        rc, out, err = run(b, "--dir", m, "show", vm)
        lines = out.splitlines()
        # the verdict first (its words are show_test.py's), then the details
        ok(rc == 0 and len(lines) > 3 and lines[0].startswith(f"VM {vm}: ")
           and lines[1].startswith("First change: ") and f"\nVM {vm}: pid " in out,
           f"show malformed {vm} rc={rc} {err}")
    rc, out, _ = run(b, "--dir", m, "show", "3-3")
    ok("unknown (bit 63)" in out and "18446744073709551615 sets, ? clears" in out,
       "show malformed: unknown reason, max u64, bad number")
    rc, out, _ = run(b, "--dir", m, "show", "1-1")
    ok("time inhibited ?" in out and "vCPU ? had xAPIC ID ?" in out, "show malformed: truncated state")
    rc, out, _ = run(b, "--dir", m, "watch")
    ok(rc == 0 and "MISMATCH" in out and "records lost" in out
       and "kvm_apic_set_state+0x1" in out, f"watch malformed rc={rc}")
    ok("a?b?" in out or "a??" in out or "kvm_apic_set_state+0x1" in out, "watch malformed: last line without newline")
    # truncated copies of a real state file at many offsets
    src = open(os.path.join(fx("v61"), "state.126-4"), "rb").read()
    ev = open(os.path.join(fx("v61"), "events.126-4"), "rb").read()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "vms"), "w") as f:
            f.write(open(os.path.join(fx("v61"), "vms")).read())
        bad = []
        for cut in list(range(0, len(src), 41)) + [len(src) - 1]:
            with open(os.path.join(d, "state.126-4"), "wb") as f:
                f.write(src[:cut])
            with open(os.path.join(d, "events.126-4"), "wb") as f:
                f.write(ev[:cut * 7])
            for js in ([], ["--json"]):
                rc, out, err = run(b, "--dir", d, *js, "show", "126-4")
                if rc != 0 or not out:
                    bad.append((cut, js, rc, err[-300:]))
                elif js:
                    try:
                        json.loads(out)
                    except ValueError:
                        bad.append((cut, "json"))
        ok(not bad, f"show on truncated state files: {bad[:3]}")


def test_errors(b):
    # --dir that does not exist
    rc, out, err = run(b, "--dir", "/nonexistent/apicv")
    ok(rc == 1 and "cannot read /nonexistent/apicv/vms" in err and "--dir must name" in err,
       f"--dir missing rc={rc}")
    with tempfile.TemporaryDirectory() as d:
        # module not loaded
        os.makedirs(os.path.join(d, "kernel", "debug"))
        rc, out, err = run(b, env={"APICV_TRACE_SYSFS": d})
        ok(rc == 3 and "not loaded" in err and "modprobe apicv_trace" in err,
           f"module not loaded rc={rc} err={err!r}")
        rc, out, err = run(b, "prom", env={"APICV_TRACE_SYSFS": d})
        ok(rc == 3 and "apicv_trace_up 0" in out, "prom: module not loaded -> up 0, exit 3")
        # module loaded, debugfs not mounted (the fake tree is no debugfs)
        os.makedirs(os.path.join(d, "module", "apicv_trace"))
        rc, out, err = run(b, "show", "1-1", env={"APICV_TRACE_SYSFS": d})
        ok(rc == 4 and "mount -t debugfs none /sys/kernel/debug" in err,
           f"debugfs not mounted rc={rc} err={err!r}")
        rc, out, err = run(b, "watch", env={"APICV_TRACE_SYSFS": d})
        ok(rc == 4, "watch: debugfs not mounted")
    # the real machine: without the module loaded, exit 3
    if not os.path.exists("/sys/module/apicv_trace"):
        rc, _, err = run(b)
        ok(rc == 3 and "modprobe" in err, f"this host has no apicv_trace: rc={rc}")
    # not root: EACCES -> 5 (needs a way to drop privileges)
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv:
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o755)
            sub = os.path.join(d, "apicv")
            shutil.copytree(fx("v61"), sub)
            os.chmod(sub, 0o700)
            binary = os.path.abspath(b)
            # the binary must be reachable for nobody
            bdir = tempfile.mkdtemp()
            os.chmod(bdir, 0o755)
            nb = os.path.join(bdir, "apicv-trace")
            shutil.copy(binary, nb)
            os.chmod(nb, 0o755)
            rc, _, err = run(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                             nb, "--dir", sub)
            ok(rc == 5 and "permission denied" in err and "root" in err,
               f"not root -> 5: rc={rc} err={err!r}")
            shutil.rmtree(bdir)
    else:
        ok(True, "not-root test skipped (not root or no setpriv)")


def test_proc_comm(b):
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "3"))
        with open(os.path.join(d, "3", "comm"), "w") as f:
            f.write("qemu-kvm\n")
        os.makedirs(os.path.join(d, "1"))
        with open(os.path.join(d, "1", "comm"), "w") as f:
            f.write("init\n")
        rc, out, _ = run(b, "--dir", fx("malformed"), env={"APICV_TRACE_PROC": d})
        r3 = [l for l in out.splitlines() if l.startswith("3-3")]
        ok(rc == 0 and r3 and "qemu-kvm" in r3[0], f"comm from /proc for a live VM: {r3}")
        # exited VMs never look in /proc (their pid may be reused)
        rc, out, _ = run(b, "--dir", fx("v61"), env={"APICV_TRACE_PROC": d})
        ok(rc == 0 and "init" not in out and "qemu-kvm" not in out, "no /proc lookup for exited VMs")
        # the module's comm= wins over /proc
        os.makedirs(os.path.join(d, "4242"))
        with open(os.path.join(d, "4242", "comm"), "w") as f:
            f.write("other\n")
        rc, out, _ = run(b, "--dir", fx("new"), env={"APICV_TRACE_PROC": d})
        ok("other" not in out and "qemu-system-x86" in out, "module comm= wins")
    rc, out, _ = run(b, "--dir", fx("malformed"))
    r3 = [l for l in out.splitlines() if l.startswith("3-3")]
    ok(r3 and r3[0].split()[3] == "?", "--dir without APICV_TRACE_PROC: no /proc lookup, ?")


def test_json(b, tmp):
    files = []

    def save(name, text):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(text)
        files.append(p)
        return p

    docs = {}
    for f in ["v61", "v73", "new", "malformed"]:
        rc, out, err = run(b, "--dir", fx(f), "--json")
        ok(rc == 0, f"list --json {f} rc={rc} {err}")
        save(f"list.{f}.json", out)
        p = subprocess.run([sys.executable, "-m", "json.tool", os.path.join(tmp, f"list.{f}.json")],
                           capture_output=True)
        ok(p.returncode == 0, f"json.tool list {f}")
        docs[f] = json.loads(out)
        rc, out, err = run(b, "--dir", fx(f), "watch", "--json")
        ok(rc == 0 and out.strip(), f"watch --json {f} rc={rc}")
        save(f"watch.{f}.json", out)
        ok(all(json.loads(l)["kind"] in ("event", "lost") for l in out.splitlines()),
           f"watch --json {f}: one object per line")
    for f, vm in [("v61", "126-4"), ("v61", "114-4"), ("v73", "122-4"), ("v73", "127-4"),
                  ("new", "4242-11"), ("new", "4300-12"), ("malformed", "1-1"),
                  ("malformed", "2-2"), ("malformed", "3-3")]:
        rc, out, err = run(b, "--dir", fx(f), "--json", "show", vm)
        ok(rc == 0, f"show --json {f} {vm} rc={rc} {err}")
        p = save(f"show.{f}.{vm}.json", out)
        pj = subprocess.run([sys.executable, "-m", "json.tool", p], capture_output=True)
        ok(pj.returncode == 0, f"json.tool show {f} {vm}")
        docs[(f, vm)] = json.loads(out)

    p = subprocess.run([sys.executable, VALIDATE, SCHEMA, *files], capture_output=True, text=True)
    ok(p.returncode == 0, f"schema validation: {p.stdout}{p.stderr[-2000:]}")
    print(f"  {p.stdout.strip()}")
    # the same with the built-in validator (machines without jsonschema)
    p = subprocess.run([sys.executable, "-c",
                        "import sys; sys.modules['jsonschema'] = None; "
                        "sys.argv = sys.argv[1:]; exec(open(sys.argv[0]).read())",
                        VALIDATE, SCHEMA, *files], capture_output=True, text=True)
    ok(p.returncode == 0 and "built-in" in p.stdout, f"built-in validation: {p.stdout}{p.stderr[-2000:]}")

    # the validator must reject bad documents (both implementations)
    good = docs[("new", "4242-11")]
    bads = []
    b1 = json.loads(json.dumps(good)); del b1["vm"]["lost"]; bads.append(b1)
    b2 = json.loads(json.dumps(good)); b2["vm"]["pid"] = "4242"; bads.append(b2)
    b3 = json.loads(json.dumps(good)); b3["reasons"][0]["surprise"] = 1; bads.append(b3)
    b4 = json.loads(json.dumps(good)); b4["reasons"][0]["last_set"]["state"] = "maybe"; bads.append(b4)
    for i, bd in enumerate(bads):
        bp = os.path.join(tmp, f"bad{i}.json")
        with open(bp, "w") as f:
            json.dump(bd, f)
        for mode in ("default", "builtin"):
            cmd = [sys.executable, VALIDATE, SCHEMA, bp]
            if mode == "builtin":
                cmd = [sys.executable, "-c",
                       "import sys; sys.modules['jsonschema'] = None; "
                       "sys.argv = sys.argv[1:]; exec(open(sys.argv[0]).read())", VALIDATE, SCHEMA, bp]
            p = subprocess.run(cmd, capture_output=True, text=True)
            ok(p.returncode != 0, f"validator ({mode}) rejects bad document {i}: {p.stdout}")

    # contents
    l61 = docs["v61"]["vms"]
    ok(len(l61) == 6 and l61[0]["vm"] == "114-4" and l61[0]["reasons"] == ["APIC_ID_MODIFIED", "APIC_BASE_MODIFIED"]
       and l61[0]["comm"] is None and l61[0]["flapping"] is None and l61[0]["extra"] == {},
       "list --json v61 values")
    ln = {v["vm"]: v for v in docs["new"]["vms"]}
    ok(ln["4242-11"]["comm"] == "qemu-system-x86" and ln["4242-11"]["flapping"] is True
       and ln["4242-11"]["extra"] == {"future_field": "42"} and ln["4242-11"]["for_ms"] == 7384000,
       "list --json new: comm, flapping, unknown key passed through")
    ok(ln["4300-12"]["comm"] == 'we"ird\\name' and ln["4300-12"]["reasons"] == [], "list --json new: escaping, reasons -")
    lm = {v["vm"]: v for v in docs["malformed"]["vms"]}
    ok(lm["1-1"]["pid"] is None and lm["1-1"]["vcpus"] is None and lm["1-1"]["for_ms"] == 18446744073709551615
       and lm["1-1"]["reasons"] == [] and lm["1-1"]["flapping"] is None and lm["1-1"]["extra"] == {},
       f"list --json malformed 1-1: {lm.get('1-1')}")
    ok(lm["3-3"]["for_ms"] is None and lm["3-3"]["lost"] == 18446744073709551615, "list --json malformed 3-3")

    s = docs[("new", "4242-11")]
    r = {x["reason"]: x for x in s["reasons"]}
    ok(s["vm"]["life_ms"] == 7394000 and s["vm"]["extra"] == {"future_head": "x"}, "show --json new vm")
    ok(r["FUTURE_REASON"]["hint"]["known"] is False and r["FUTURE_REASON"]["extra"] == {"future_reason_key": "7"},
       "show --json new: unknown reason, generic hint, extra")
    ok(r["APIC_ID_MODIFIED"]["last_set"] == {"state": "known", "ns": 1002000000000,
                                             "site": "kvm_apic_set_state+0x30a", "source": "state"}
       and r["APIC_ID_MODIFIED"]["last_clear"]["state"] == "never", "show --json: last_set from state")
    ok(r["IRQWIN"]["flapping"] is True and r["IRQWIN"]["changes_10s"] == 84, "show --json: flapping")
    ok(s["apic_id_mismatch"] == {"vcpu_id": 256, "xapic_id": 1, "compared_with": 0, "ns": 1002000000000,
                                 "site": "kvm_apic_set_state+0x30a", "alias": None, "source": "state"},
       f"show --json: mismatch {s['apic_id_mismatch']}")
    ok(s["lapic_restores"] == 1 and s["apic_base_writes"] == 1 and s["history_read"] is True,
       "show --json: restores")
    s = docs[("v61", "126-4")]
    r = {x["reason"]: x for x in s["reasons"]}
    ok(r["APIC_ID_MODIFIED"]["last_set"]["source"] == "events"
       and r["APIC_ID_MODIFIED"]["last_set"]["ns"] == 3618648692
       and r["APIC_ID_MODIFIED"]["share_pct"] == 45 and s["vm"]["life_ms"] == 519,
       "show --json v61: last_set from the history, share and life computed")
    ok(s["apic_id_mismatch"]["source"] == "events" and s["apic_id_mismatch"]["xapic_id"] == 1
       and s["apic_id_mismatch"]["compared_with"] == 0, "show --json v61: mismatch from the history")
    ok(r["PIT_REINJ"]["hint"]["known"] and "lost_tick_policy" in r["PIT_REINJ"]["hint"]["fix"], "show --json hint")
    w = [json.loads(l) for l in open(os.path.join(tmp, "watch.new.json"))]
    ok(w[2] == {"schema_version": 1, "kind": "lost", "lost": 7, "vm": None, "extra": {}}, f"watch --json lost {w[2]}")
    ap = [e for e in w if e.get("event") == "apic_id"][0]
    ok(ap["vcpu_id"] == 256 and ap["match"] is False and ap["inhibit"] is True and ap["alias"] is True
       and ap["side"] is False, "watch --json apic_id")
    ls = [e for e in w if e.get("event") == "lapic_set"][0]
    ok(ls["apic_id"] == 0 and ls["extra"] == {}, f"watch --json lapic_set: apic_id known, not extra: {ls}")
    ab = [e for e in w if e.get("event") == "apic_base"][0]
    ok(ab["value"] == "0xfee00900" and ab["was"] == "0xfee00d00" and ab["extra"] == {},
       f"watch --json apic_base: was known, not extra: {ab}")
    fut = [e for e in w if e.get("event") == "future_kind"][0]
    ok(fut["extra"] == {"future_key": "1"} and fut["site"] == "?" and fut["reason"] is None,
       "watch --json unknown event kind passed through")


def promtool_path():
    p = subprocess.run([PROMTOOL_SH, "--path"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def test_prom(b, promtool):
    if not ok(promtool is not None, "promtool available (tests/cmd/promtool.sh)"):
        return
    # promtool must catch a broken exposition (the check can fail)
    p = subprocess.run([promtool, "check", "metrics"], input=b'# TYPE x gauge\nx{a="b} 1\n',
                       capture_output=True)
    ok(p.returncode != 0, "promtool rejects a broken label")
    for f in ["v61", "v73", "new", "malformed"]:
        rc, out, err = run(b, "--dir", fx(f), "prom")
        ok(rc == 0 and "apicv_trace_up 1" in out, f"prom {f} rc={rc} {err}")
        p = subprocess.run([promtool, "check", "metrics"], input=out.encode(), capture_output=True)
        ok(p.returncode == 0, f"promtool check metrics {f}: {p.stdout.decode()}{p.stderr.decode()}")
        fams = [l.split()[2] for l in out.splitlines() if l.startswith("# TYPE")]
        ok(len(fams) == len(set(fams)), f"prom {f}: each family once")
    rc, out, _ = run(b, "--dir", fx("new"), "prom")
    for s in ['apicv_trace_vm_inhibited{vm="4242-11",pid="4242",comm="qemu-system-x86",name="",state="live"} 1',
              'apicv_trace_vm_inhibited{vm="4300-12",pid="4300",comm="we\\"ird\\\\name",name="",state="live"} 0',
              'apicv_trace_vm_flapping{vm="4242-11",pid="4242",comm="qemu-system-x86",name="",state="live"} 1',
              'apicv_trace_vm_lost_events_total{vm="4242-11",pid="4242",comm="qemu-system-x86",name="",state="live"} 8871',
              'apicv_trace_reason_inhibited{vm="4242-11",pid="4242",comm="qemu-system-x86",name="",state="live",reason="PIT_REINJ"} 1',
              'apicv_trace_reason_inhibited_seconds_total{vm="4242-11",pid="4242",comm="qemu-system-x86",name="",state="live",reason="PIT_REINJ"} 7393.960',
              'apicv_trace_reason_transitions_total{vm="4242-11",pid="4242",comm="qemu-system-x86",name="",state="live",reason="IRQWIN"} 9100',
              "apicv_trace_kvm_hooked 1",
              "# TYPE apicv_trace_reason_inhibited_seconds_total counter"]:
        ok(s in out, f"prom new has {s}")
    ok('vm="3999-9"' in out and 'reason="HYPERV"' not in out, "prom: a VM without state has VM metrics only")
    rc, out, _ = run(b, "--dir", fx("v61"), "prom")
    ok("apicv_trace_vm_flapping{" not in out and 'comm=""' in out, "prom v61: unknown flapping left out, comm empty")
    # errors still give a valid exposition with up 0
    rc, out, err = run(b, "--dir", "/nonexistent", "prom")
    p = subprocess.run([promtool, "check", "metrics"], input=out.encode(), capture_output=True)
    ok(rc == 1 and "apicv_trace_up 0" in out and p.returncode == 0, "prom error: up 0, valid")
    # duplicate VM keys and reasons are written once
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(fx("new"), d, dirs_exist_ok=True)
        with open(os.path.join(d, "vms"), "a") as f:
            f.write(open(os.path.join(fx("new"), "vms")).read())
        with open(os.path.join(d, "vm", "4300-12", "state"), "a") as f:
            f.write("reason=ABSENT bit=2 now=set sets=9 clears=9 inhibited_ms=1\n")
        rc, out, _ = run(b, "--dir", d, "prom")
        p = subprocess.run([promtool, "check", "metrics"], input=out.encode(), capture_output=True)
        ok(rc == 0 and p.returncode == 0 and out.count('apicv_trace_vm_inhibited{vm="4242-11"') == 1,
           f"prom dedup: {p.stdout.decode()}{p.stderr.decode()}")


def test_coverage(b, promtool):
    """status coverage=partial: list/show/watch warn on stderr, exit 0, the
    output unchanged; prom says it as apicv_trace_hooks_complete 0."""
    base = {}
    for args in ([], ["show", "4242-11"], ["--json", "list"], ["prom"]):
        base[tuple(args)] = run(b, "--dir", fx("new"), *args)
    cases = [("coverage=full\n", None, "1"),
             ("coverage=waiting\n", None, None),
             ("coverage=partial absent=setter failed=apic_id\n", "setter", "0"),
             ("coverage=partial absent=apic_map\n", "apic_map", "0"),
             ("coverage=partial absent=\x1b[31mx\n", "?[31mx", "0")]
    for line, warn, gauge in cases:
        with tempfile.TemporaryDirectory() as d:
            shutil.copytree(fx("new"), d, dirs_exist_ok=True)
            with open(os.path.join(d, "status"), "a") as f:
                f.write(line)
            for args in ([], ["show", "4242-11"], ["--json", "list"]):
                rc, out, err = run(b, "--dir", d, *args)
                brc, bout, berr = base[tuple(args)]
                what = f"coverage {line.strip()!r} {args}"
                ok(rc == brc == 0 and out.replace(d, fx("new")) == bout,
                   f"{what}: rc {rc}, output as without it")
                if warn:
                    ok("warning: coverage=partial" in err and warn in err and "\x1b" not in err
                       and ("no inhibit changes" in err) == (warn == "setter")
                       and "/status" in err, f"{what}: warns: {err!r}")
                else:
                    ok(err == berr == "", f"{what}: no warning: {err!r}")
            rc, out, err = run(b, "--dir", d, "prom")
            ok(rc == 0 and err == "", f"prom {line.strip()!r}: no warning on stderr: {err!r}")
            if gauge is None:
                ok("apicv_trace_hooks_complete" not in out, f"prom {line.strip()!r}: no gauge")
            else:
                ok(f"apicv_trace_hooks_complete {gauge}\n" in out, f"prom {line.strip()!r}: gauge {gauge}")
            if promtool:
                p = subprocess.run([promtool, "check", "metrics"], input=out.encode(),
                                   capture_output=True)
                ok(p.returncode == 0, f"promtool, coverage {line.strip()!r}: {p.stderr.decode()}")
    # watch warns too (before its stream)
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(fx("new"), d, dirs_exist_ok=True)
        with open(os.path.join(d, "status"), "a") as f:
            f.write("coverage=partial absent=setter\n")
        rc, out, err = run(b, "--dir", d, "watch")
        ok(rc == 0 and "warning: coverage=partial absent=setter" in err, f"watch warns: rc={rc} {err!r}")


def test_watch(b):
    rc, out, _ = run(b, "--dir", fx("new"), "watch")
    lines = out.splitlines()
    ok(rc == 0 and len(lines) == 11, f"watch new: {len(lines)} lines (12 records, 1 unknown line kind)")
    for s in ["--- VM 4242-11 created by qemu-system-x86 (tid 4242) ---",
              "--- 7 records lost",
              "--- VMM restored vCPU 0's local APIC in VM 4242-11 (reboot/restore), xAPIC ID 0 ---",
              "--- VMM wrote vCPU 0's APIC base MSR in VM 4242-11: 0xfee00900 (was 0xfee00d00) ---",
              "APIC ID check: xAPIC ID 1, vCPU id 256 (& 0xff = 0): MISMATCH, KVM inhibits (APIC_ID_MODIFIED), aliases another vCPU",
              "[side effect] [setter call not seen; corrected]",
              "[at VM creation]",
              "--- VM 4242-11 destroyed"]:
        ok(s in out, f"watch new has {s!r}")
    ok(lines[0].startswith("990.000010  "), "watch --dir: boottime seconds")
    rc, out, _ = run(b, "--dir", fx("new"), "watch", "--vm", "4300", "--reason", "irqwin")
    ok(rc == 0 and len(out.splitlines()) == 3 and out.count("IRQWIN") == 2, f"watch filters: {out!r}")
    rc, out, _ = run(b, "--dir", fx("new"), "watch", "--vm", "4242-11", "--reason", "APIC_ID_MODIFIED,ABSENT")
    ok(rc == 0 and "4300-12" not in out and "IRQWIN" not in out and "ABSENT" in out
       and "MISMATCH" in out and "VMM restored" in out, "watch: reason list, markers kept")
    rc, out, _ = run(b, "--dir", fx("new"), "watch", "--new")
    ok(rc == 0 and out == "", "watch --new skips what is already there")
    rc, out, _ = run(b, "--dir", fx("v61"), "watch", "--vm", "114-4")
    ok(rc == 0 and len(out.splitlines()) == 17, "watch from a copy without follow reads events")
    # an events snapshot that left records out (capped=): said in text,
    # not in JSON (no such kind), and the records all still come
    with tempfile.TemporaryDirectory() as d:
        shutil.copytree(fx("v61"), d, dirs_exist_ok=True)
        with open(os.path.join(d, "events")) as f:
            ev = f.read()
        with open(os.path.join(d, "events"), "w") as f:
            f.write("capped=5 vm=114-4\ncapped=9 vm=117-4\n" + ev)
        rc, out, _ = run(b, "--dir", d, "watch", "--vm", "114-4")
        lines = out.splitlines()
        ok(rc == 0 and len(lines) == 18 and lines[0] ==
           "--- 5 older records of VM 114-4 are not in this snapshot (events holds the newest 65536; "
           "vm/114-4/events has them) ---" and "117-4" not in out, f"watch capped: {lines[:2]!r}")
        rc, out, _ = run(b, "--dir", d, "--json", "watch", "--vm", "114-4")
        ok(rc == 0 and len(out.splitlines()) == 17 and
           all(json.loads(l)["kind"] == "event" for l in out.splitlines()), "watch --json capped: ignored")

    # a blocking follow: a FIFO kept open by the test; SIGINT/SIGTERM -> exit 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "follow")
            os.mkfifo(fifo)
            wfd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
            e = dict(os.environ)
            e.pop("APICV_TRACE_SYSFS", None)
            p = subprocess.Popen([b, "--dir", d, "watch"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=e)
            line = ("seq=5 ns=2000000000 vm=7-7 vcpu=0 cpu=0 tid=7 comm=q event=set reason=IRQWIN "
                    "bit=8 old=0x0 new=0x100 result=changed site=svm_enable_irq_window+0x80\n")
            os.write(wfd, line[:40].encode())
            time.sleep(0.3)
            os.write(wfd, line[40:].encode() + b"lost=3\n")
            deadline = time.time() + 10
            got = b""
            os.set_blocking(p.stdout.fileno(), False)
            while time.time() < deadline and b"records lost" not in got:
                time.sleep(0.05)
                try:
                    got += p.stdout.read() or b""
                except (BlockingIOError, TypeError):
                    pass
            ok(b"IRQWIN" in got and b"7-7" in got and b"--- 3 records lost" in got,
               f"watch on a blocking stream prints live lines (split read): {got!r}")
            ok(p.poll() is None, "watch keeps waiting for more")
            p.send_signal(sig)
            rc = wait_rc(p)
            err = p.stderr.read().decode()
            ok(rc == 0 and "ERROR" not in err, f"watch exits 0 on {sig.name}: rc={rc} {err[-500:]}")
            os.close(wfd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    args = ap.parse_args()
    promtool = promtool_path()
    for b in args.bin:
        b = os.path.abspath(b)
        print(f"== {b}")
        with tempfile.TemporaryDirectory() as tmp:
            for t in [test_usage, test_list, test_names, test_show, test_malformed, test_errors,
                      test_proc_comm, test_watch]:
                before = tally.failed
                t(b)
                print(f"  {t.__name__}: {'ok' if tally.failed == before else 'FAILED'}")
            test_json(b, tmp)
            print(f"  test_json: done")
            test_prom(b, promtool)
            print(f"  test_prom: done")
            test_coverage(b, promtool)
            print(f"  test_coverage: done")
    return tally.done()


if __name__ == "__main__":
    sys.exit(main())
