#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a timed-out guest's vCPUs are, asked of QEMU's human monitor.

    qemu-state.py query SOCKET
    qemu-state.py explain STATEFILE [SYMBOLS KTEXT]
    qemu-state.py idle STATEFILE NCPUS

Used by scripts/qemu-run.sh shortly before it kills a guest that has not
finished.

query: connects to QEMU's monitor (-monitor unix:SOCKET,server=on,wait=off)
and asks `info cpus`, then `info registers -a` twice, a second apart.
Each answer has LIMIT seconds; a QEMU that does not answer in time is
hung itself (a guest kernel that spins or deadlocks does not stop the
monitor: QEMU keeps running the vCPU and serves the monitor beside it).
Prints, first line:
    monitor: answered
    monitor: no answer within 4 s to 'info cpus'    (QEMU hung; exit 3)
    monitor: error: ...                             (no socket, closed; exit 4)
then per sample and vCPU only what helps: RIP, RFLAGS (IF), CPL, HLT, CR3.

explain: one line per vCPU from a query's output: RIP, the symbol under
it, CPL, IF, halted or not, and whether RIP moved between the samples.
SYMBOLS is a System.map or a saved /proc/kallsyms (plain or .gz) with
_text in it; KTEXT the hung boot's runtime _text (KASLR: the image's
slide is KTEXT minus SYMBOLS' _text).  Without them, RIPs only.

idle: exit 0 if the monitor answered and all NCPUS vCPUs were halted in
the kernel with interrupts enabled in both samples (qemu-run.sh's
timers_stopped), else 1.
"""
import bisect
import gzip
import re
import socket
import sys
import time

LIMIT = 4.0
PROMPT = b"(qemu) "


class NoAnswer(Exception):
    pass


class Closed(Exception):
    pass


def read_prompt(sock, what):
    """The monitor's output up to its next prompt, within LIMIT seconds."""
    deadline = time.monotonic() + LIMIT
    buf = b""
    while not buf.endswith(PROMPT):
        left = deadline - time.monotonic()
        if left <= 0:
            raise NoAnswer(f"no answer within {LIMIT:g} s to {what}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise NoAnswer(f"no answer within {LIMIT:g} s to {what}") from None
        if not chunk:
            raise Closed(f"the monitor closed the connection before answering {what} (QEMU ended?)")
        buf += chunk
    return buf[:-len(PROMPT)].decode("utf-8", "replace")


def ask(sock, cmd):
    sock.sendall(cmd.encode() + b"\n")
    out = read_prompt(sock, f"'{cmd}'")
    # the monitor echoes the command with line-editing escapes, up to the first CRLF
    return out.split("\r\n", 1)[1].replace("\r", "") if "\r\n" in out else ""


REGS = re.compile(r"\b[RE]IP=([0-9a-f]+) [RE]FL=([0-9a-f]+) .*?CPL=(\d+) .*?HLT=(\d+)")
CR3 = re.compile(r"\bCR3=([0-9a-f]+)")


def vcpus(text):
    """[(cpu, rip, rflags, cpl, hlt, cr3)] from `info registers -a`."""
    out = []
    for m in re.finditer(r"CPU#(\d+)\n(.*?)(?=CPU#\d+\n|\Z)", text, re.S):
        r, c = REGS.search(m.group(2)), CR3.search(m.group(2))
        if r:
            out.append((int(m.group(1)), r.group(1), r.group(2), r.group(3), r.group(4),
                        c.group(1) if c else "?"))
    return out


def query(path):
    lines = []
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(LIMIT)
        try:
            sock.connect(path)
        except socket.timeout:
            raise NoAnswer(f"no answer within {LIMIT:g} s to connecting") from None
        except OSError as e:
            raise Closed(f"cannot connect to {path}: {e.strerror}") from None
        read_prompt(sock, "the connection (no greeting)")
        cpus = ask(sock, "info cpus")
        lines.append("info cpus:")
        lines += ["  " + ln for ln in cpus.splitlines() if ln.strip()]
        for n in (1, 2):
            if n == 2:
                time.sleep(1)
            regs = vcpus(ask(sock, "info registers -a"))
            if not regs:
                lines.append(f"sample {n}: no registers in the answer")
            for cpu, rip, rfl, cpl, hlt, cr3 in regs:
                lines.append(f"sample {n}: cpu{cpu} RIP={rip} RFL={rfl} "
                             f"IF={int(rfl, 16) >> 9 & 1} CPL={cpl} HLT={hlt} CR3={cr3}")
        sock.close()
    except NoAnswer as e:
        print(f"monitor: {e}", *lines, sep="\n")
        return 3
    except Closed as e:
        print(f"monitor: error: {e}", *lines, sep="\n")
        return 4
    print("monitor: answered", *lines, sep="\n")
    return 0


class Symbols:
    """Text symbols of vmlinux from a System.map or a saved /proc/kallsyms."""

    def __init__(self, path):
        opener = gzip.open if path.endswith(".gz") else open
        addrs, marks = {}, {}
        with opener(path, "rt") as f:
            for ln in f:
                p = ln.split()
                if len(p) != 3:
                    continue        # a module's symbol ("[mod]"), or junk
                a, t, name = int(p[0], 16), p[1], p[2]
                if name in ("_text", "_etext", "_end"):
                    marks[name] = a
                if t in "tTwW":
                    addrs.setdefault(a, name)
        if "_text" not in marks or len(addrs) < 1000:
            raise ValueError(f"{path} has no _text or few symbols (not a real System.map?)")
        self.text = marks["_text"]
        self.end = marks.get("_end", marks.get("_etext", max(addrs)))
        self.addrs = sorted(addrs)
        self.names = [addrs[a] for a in self.addrs]

    def lookup(self, a):
        """'sym+0xoff' for an address at link/this map's layout, or None."""
        if not self.text <= a < self.end:
            return None
        i = bisect.bisect_right(self.addrs, a) - 1
        if i < 0:
            return None
        return f"{self.names[i]}+{a - self.addrs[i]:#x}"


def where(rip, cpl, syms, slide):
    a = int(rip, 16)
    if a < 0xffff800000000000:
        return "user space" if cpl == "3" else "not kernel text (a nested guest's code?)"
    if syms is None:
        return None
    s = syms.lookup(a - slide)
    return s or "outside vmlinux (a module?)"


def read_state(path):
    """(first line, {cpu: {sample: (rip, if, cpl, hlt, cr3)}}) of a query's output."""
    samples = {}
    head = ""
    with open(path) as f:
        for ln in f:
            if ln.startswith("monitor:"):
                head = ln.strip()
            m = re.match(r"sample (\d): cpu(\d+) RIP=(\S+) RFL=\S+ IF=(\d) CPL=(\d+) HLT=(\d) CR3=(\S+)", ln)
            if m:
                samples.setdefault(int(m.group(2)), {})[int(m.group(1))] = m.groups()[2:]
    return head, samples


def idle(path, ncpus):
    head, samples = read_state(path)
    every = [s.get(n) for s in samples.values() for n in (1, 2)]
    ok = (head == "monitor: answered" and len(samples) == int(ncpus) and
          all(v and v[1:4] == ("1", "0", "1") for v in every))
    return 0 if ok else 1


def explain(path, symfile=None, ktext=None):
    head, samples = read_state(path)
    if head != "monitor: answered":
        print(head or f"{path}: no monitor answer recorded")
        return 1
    syms, slide, why = None, 0, ""
    if not symfile:
        why = "no kernel symbols"
    elif not ktext:
        why = "the guest printed no _text (no APICV-INIT line)"
    elif not re.fullmatch(r"[0-9a-f]+", ktext):
        why = f"the guest's /proc/kallsyms has no _text (_text={ktext})"
    elif int(ktext, 16) == 0:
        why = "the guest's /proc/kallsyms showed _text as 0 (kptr_restrict?)"
    else:
        try:
            syms = Symbols(symfile)
            slide = int(ktext, 16) - syms.text
            # KASLR moves the image in 2 MiB steps (CONFIG_PHYSICAL_ALIGN)
            if slide % 0x200000:
                why = f"_text {ktext} is not {syms.text:x} plus 2 MiB steps: {symfile} is not this kernel's"
                syms = None
        except (OSError, ValueError) as e:
            why = str(e)
    if why:
        print(f"RIPs not symbolized: {why}")
    for cpu in sorted(samples):
        s = samples[cpu]
        first = s.get(1) or s.get(2)
        rip, iflag, cpl, hlt, _ = first
        sym = where(rip, cpl, syms, slide)
        state = "halted" if hlt == "1" else "running"
        msg = f"vCPU {cpu}: RIP {rip}{' ' + sym if sym else ''} (CPL {cpl}, IF={iflag}, {state})"
        if 1 in s and 2 in s:
            rip2, if2, cpl2, hlt2, _ = s[2]
            if hlt == hlt2 == "1" and rip == rip2:
                msg += "; 1 s later halted at the same RIP: idle" + \
                    (" with interrupts off: nothing wakes it" if iflag == if2 == "0" else "")
            elif rip != rip2:
                sym2 = where(rip2, cpl2, syms, slide)
                msg += f"; 1 s later RIP {rip2}{' ' + sym2 if sym2 else ''}: moving (running or spinning)"
            else:
                msg += "; 1 s later the same RIP, not halted: stuck (or spinning on one instruction)"
        print(msg)
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "query":
        return query(argv[2])
    if argv[1:2] == ["explain"] and len(argv) in (3, 5):
        return explain(*argv[2:])
    if len(argv) == 4 and argv[1] == "idle":
        return idle(argv[2], argv[3])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
