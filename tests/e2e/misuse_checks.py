# SPDX-License-Identifier: GPL-2.0
"""The host's side of the misuse and security tests (tests/misuse/misuse.sh,
run in the e2e's avic1 boot): the checks misuse.sh must report, the hostile
process name in every output of the command, exit codes, no kernel address
anywhere, the command's sources. Called by check.py, which puts tests/lib
on sys.path."""
import json
import os
import re

from checks import check, read
from cmd_checks import tool

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
    "misuse_follow_starts_empty", "misuse_follow_drain", "misuse_follow_read_sizes", "misuse_follow_is_events",
    "misuse_follow_eagain", "misuse_follow_poll_timeout", "misuse_follow_espipe",
    "misuse_follow_badbuf_empty", "misuse_follow_read_eintr", "misuse_follow_pollin",
    "misuse_many_opens", "misuse_racing_opens", "misuse_debugfs_root_private",
    "misuse_modes_0444", "misuse_nobody_open", "misuse_nobody_control",
    "misuse_nobody_params", "misuse_nobody_cmd_exit5", "misuse_no_kernel_address",
    "misuse_idle_follow_time", "misuse_idle_follow_was_behind",
    "misuse_idle_follow_nothing_lost", "misuse_hook_setter_loads",
    "misuse_hook_setter_status", "misuse_hook_setter_coverage",
    "misuse_hook_setter_vms", "misuse_hook_setter_cmd_warns", "misuse_hook_apic_loads", "misuse_hook_apic_coverage",
    "misuse_hook_other_function_refused", "misuse_hook_clone_symbol",
    "misuse_hook_apic_inhibits_flow", "misuse_setter_exit_loads",
    "misuse_setter_exit_status", "misuse_setter_exit_records",
    "misuse_hook_explicit_armed", "misuse_lockdown_lsm", "misuse_lockdown_set",
    "misuse_lockdown_same_class", "misuse_lockdown_chmod", "misuse_lockdown_follow",
    "misuse_lockdown_param", "misuse_lockdown_cmd", "misuse_lockdown_conf_set",
    "misuse_lockdown_conf_unarmed", "misuse_lockdown_conf_vms_run", "misuse_lockdown_unload",
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
    # as cmd/Makefile builds them: dkms.conf's version, module/ (format.h)
    ver = re.search(r'^PACKAGE_VERSION="(.*)"$', read(os.path.join(TOP, "dkms.conf")), re.M)
    rc, out = tool("gcc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                   "-Wformat=2", "-Wformat-security", "-Werror=format-security",
                   f'-DAPICV_TRACE_VERSION="{ver.group(1) if ver else "?"}"',
                   "-I", os.path.join(TOP, "module"), "-fsyntax-only", *srcs)
    check("misuse: cmd/*.c build with -Wformat=2 -Wformat-security -Werror=format-security, "
          "no diagnostic", rc == 0 and not out.strip(), out[:300])

