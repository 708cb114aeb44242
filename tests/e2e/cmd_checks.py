# SPDX-License-Identifier: GPL-2.0
"""The e2e's checks of the apicv-trace command run in the guest against the
live module (avic1/cmd/): exit codes, list/show/prom/watch against the
module's files, JSON against the schema, prom through promtool. Called by
check.py, which puts tests/lib on sys.path."""
import json
import os
import re
import subprocess
import sys

from atlines import G510, kvmdrive, parse_state, tokens
from checks import check, read

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
        name = t.get("name") or "-"
        check(f"cmd/list/{key}: row says {name} {t['status']} {t['apicv']} {t['reasons']} "
              f"flapping {t['flapping']}",
              len(r) == 9 and (r[1], r[4], r[5], r[7], r[8]) == (name, t["status"], t["apicv"],
                                                                 t["reasons"], t["flapping"]), str(r))
        # an exited VM is never counted as inhibited (state="exited")
        live = t["status"] == "live"
        check(f"cmd/prom/{key}: vm_inhibited (live VMs only) and vm_flapping as in vms",
              (pm.get(("apicv_trace_vm_inhibited", key, None)),
               pm.get(("apicv_trace_vm_flapping", key, None)))
              == (str(int(live and t["apicv"] == "inhibited")), str(int(t["flapping"] == "yes"))),
              str({k: v for k, v in pm.items() if k[1] == key and k[2] is None}))
        head, sreasons, mm = parse_state(read(os.path.join(d, f"state.{key}")))
        for name, st in sreasons.items():
            check(f"cmd/prom/{key}/{name}: reason_inhibited = now={st['now']} (live VMs only)",
                  pm.get(("apicv_trace_reason_inhibited", key, name))
                  == str(int(live and st["now"] == "set")),
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
    check_verify(base, d, gen)
    check_adopt(d)
    check_doctor_save(d, gen)


VERDICT = re.compile(r"^verify: (agree|DISAGREE|INCONCLUSIVE) \((.*)\)$", re.M)


def verify_result(d, name):
    """A verify run the guest saved as NAME: (stdout, exit code, the last
    verdict line as (word, what is in its parentheses))."""
    out = read(os.path.join(d, name))
    m = VERDICT.findall(out)
    return out, read(os.path.join(d, name + ".rc")).strip(), m[-1] if m else ("", "")


def check_verify(base, d, gen):
    """apicv-trace verify while VMs flapped: agree, exit 0; with the test
    build's wrong name table (test_fault=names, 6.1+): DISAGREE, exit 7."""
    out, rc, verdict = verify_result(d, "verify.txt")
    err = read(os.path.join(d, "verify.txt.err")).strip()[:300]
    n = re.match(r"(\d+) transitions, (\d+) VMs, (?:\d+ of them activation flips checked, )?"
                 r"names from (.*)", verdict[1])
    check(f"cmd/verify: exit 0 and 'verify: agree' ({verdict[0]} {verdict[1][:80]})",
          rc == "0" and verdict[0] == "agree", f"exit {rc}: {out[-400:]} {err}")
    check("cmd/verify: transitions compared while VMs flapped",
          n and int(n.group(1)) >= (4 if gen == G510 else 10) and int(n.group(2)) >= 1,
          verdict[1])
    if gen != G510:
        check("cmd/verify: names checked against kvm's (BTF or the tracepoint format)",
              n and not n.group(3).startswith("nowhere"), verdict[1])
    else:
        check("cmd/verify: 5.10 says only activation flips are traced, and how many were",
              "traces only activation flips" in out
              and re.search(r", \d+ of them activation flips checked, ", verdict[1]), out[-400:])
    test = read(os.path.join(base, "testbuild")).strip() == "yes"
    if gen == G510 or not test:
        return
    out, rc, verdict = verify_result(d, "verify-wrong.txt")
    check(f"cmd/verify, test_fault=names: exit 7 and 'verify: DISAGREE' ({verdict[1][:80]})",
          rc == "7" and verdict[0] == "DISAGREE", f"exit {rc}: {out[-400:]}")
    wrong = read(os.path.join(d, "verify-wrong.reasons"))
    check("cmd/verify, test_fault=names: the module's names really were wrong",
          wrong != "" and wrong != read(os.path.join(base, "avic1", "compare", "reasons")), "")


def vms_lines(text):
    """vms lines by key: {key: tokens}."""
    out = {}
    for l in text.splitlines():
        t = tokens(l)
        if "vm" in t:
            out[t["vm"]] = t
    return out


def check_adopt(d):
    """Two idle VMs started before the module loaded (guest.sh 2a+++):
    listed at load with KVM's mask, then by the names their VMMs gave."""
    keys = {n: read(os.path.join(d, f"adopt.{n}.key")).strip() for n in ("web-a", "db-b")}
    check(f"adopt: both idle VMs were created ({keys})", all(keys.values()), str(keys))
    load = vms_lines(read(os.path.join(d, "adopt.vms.load")))
    for n, k in keys.items():
        t = load.get(k, {})
        check(f"adopt/{n}: in vms right after the load, live, PIT_REINJ set ({t.get('reasons')})",
              t.get("status") == "live" and "PIT_REINJ" in t.get("reasons", "").split("|"),
              str(t) or f"no {k} in vms")
    st = {}
    for l in read(os.path.join(d, "adopt.status")).splitlines():
        st.update(tokens(l))
    check(f"adopt: status says adoption=done vms_adopted={st.get('vms_adopted')}",
          st.get("adoption") == "done" and int(st.get("vms_adopted", "0")) >= 2, str(st)[:300])
    named = vms_lines(read(os.path.join(d, "adopt.vms.named")))
    for n, k in keys.items():
        check(f"adopt/{n}: vms names it name={named.get(k, {}).get('name')}",
              named.get(k, {}).get("name") == n, str(named.get(k)))
    ev = [tokens(l) for l in read(os.path.join(d, "adopt.web-a.events")).splitlines()]
    base = [e for e in ev if e.get("event") == "baseline"]
    check("adopt/web-a: one baseline record with KVM's mask, name=web-a",
          len(base) == 1 and base[0].get("name") == "web-a" and base[0].get("old") == base[0].get("new")
          and int(base[0].get("new", "0"), 16) == int(named.get(keys["web-a"], {}).get("mask", "-1"), 16),
          str(base)[:300])
    lst = read(os.path.join(d, "adopt.list.txt")).splitlines()
    rows = {l.split()[0]: l.split() for l in lst[1:] if l.split()}
    check("adopt: list has a NAME column with web-a and db-b",
          lst and lst[0].split()[:2] == ["VM", "NAME"]
          and rows.get(keys["web-a"], [None, None])[1] == "web-a"
          and rows.get(keys["db-b"], [None, None])[1] == "db-b", "\n".join(lst[:4]))
    try:
        js = {v["vm"]: v for v in json.loads(read(os.path.join(d, "adopt.list.json")))["vms"]}
    except (ValueError, KeyError, TypeError):
        js = {}
    check("adopt: list --json carries name", js.get(keys["web-a"], {}).get("name") == "web-a",
          str(js.get(keys["web-a"]))[:200])
    sw = read(os.path.join(d, "adopt.show.web-a.txt"))
    check("adopt: show web-a answers for that VM",
          read(os.path.join(d, "adopt.show.web-a.txt.rc")).strip() == "0" and keys["web-a"] in sw
          and "PIT_REINJ" in sw, sw[:300])
    try:
        sj = json.loads(read(os.path.join(d, "adopt.show.db-b.json")))
    except ValueError:
        sj = {}
    check("adopt: show --json db-b is that VM, by name",
          sj.get("vm", {}).get("vm") == keys["db-b"] and sj.get("vm", {}).get("name") == "db-b",
          str(sj)[:200])
    # prom: live, then exited (inhibited 0, state="exited")
    for f, state, val in (("adopt.prom.live.txt", "live", "1"), ("adopt.prom.exited.txt", "exited", "0")):
        prom = read(os.path.join(d, f))
        want = [l for l in prom.splitlines() if l.startswith("apicv_trace_vm_inhibited{")
                and f'name="web-a"' in l]
        check(f"adopt: {f}: apicv_trace_vm_inhibited for web-a is {val}, state=\"{state}\"",
              len(want) == 1 and f'state="{state}"' in want[0] and want[0].split()[-1] == val,
              "; ".join(want) or prom[:300])


def check_doctor_save(d, gen):
    """doctor's verdict matches the guest: under QEMU the CPU has no avic
    flag; 6.1+ loads kvm_amd with force_avic=1 (AVIC forced: a warning,
    exit 0 with the module loaded unsigned on a boot without Secure Boot),
    5.10 has no force_avic (AVIC cannot work: exit 10). Then save: a
    bundle `--dir` reads."""
    out = read(os.path.join(d, "doctor.txt"))
    rc = read(os.path.join(d, "doctor.txt.rc")).strip()
    cpu_avic = read(os.path.join(d, "cpu.avic")).strip() not in ("", "0")
    want = "10" if gen == G510 and not cpu_avic else "0"
    check(f"doctor: exit {want} on this guest (got {rc})", rc == want,
          out[-600:] + read(os.path.join(d, "doctor.txt.err"))[-300:])
    try:
        j = json.loads(read(os.path.join(d, "doctor.json")))
    except ValueError:
        j = {}
    checks = {c.get("check"): c for c in j.get("checks", [])}
    check("doctor --json: same verdict and exit as the text",
          str(j.get("exit")) == rc and j.get("verdict", "\0") in out, str(j)[:300])
    if gen != G510:
        check("doctor: the CPU's avic flag: ok when present, else force_avic is a warning",
              checks.get("cpu_avic", {}).get("status") == ("ok" if cpu_avic else "warn"),
              str(checks.get("cpu_avic")))
        check("doctor: hooks complete, module loaded",
              checks.get("hooks", {}).get("status") == "ok"
              and checks.get("module", {}).get("status") in ("ok", "warn"), str(checks)[:400])
    check("doctor: the module is unsigned here, and doctor says so",
          "unsigned" in out.lower(), out[:600])
    check("save: exit 0", read(os.path.join(d, "save.txt.rc")).strip() == "0",
          read(os.path.join(d, "save.txt.err"))[-300:])
    ls = read(os.path.join(d, "save.ls"))
    check("save: the bundle has status, vms, events, version, doctor.json, no follow",
          all(f in ls.split() for f in ("status", "vms", "events", "version", "doctor.json"))
          and "follow" not in ls.split(), ls[:400])
    check("save: --dir on the bundle lists the VMs",
          read(os.path.join(d, "save.list.txt.rc")).strip() == "0"
          and len(read(os.path.join(d, "save.list.txt")).splitlines()) >= 2,
          read(os.path.join(d, "save.list.txt"))[:300])

