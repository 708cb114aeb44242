#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""report.py DIR [--smoke]: the table of scripts/bench.sh from DIR.

DIR holds: meta.txt (key=value), ubench.txt, callgrind.txt, and one
directory per guest boot (ring-<accel>/, kvm-<accel>/) with what
tests/bench/guest.sh wrote.  Prints one table (median, min, max over the
repeated runs) and the target verdicts.  Exit 1 if a figure is missing or a
guest reported an error (what --smoke checks); timing never fails it.
"""
import os
import re
import statistics
import sys

d = sys.argv[1]
smoke = '--smoke' in sys.argv
missing, errors, rows, verdicts = [], [], [], []


def kv(line):
    return dict(m.groups() for m in re.finditer(r'(\w+)=(\S+)', line))


def lines(path):
    p = os.path.join(d, path)
    if not os.path.exists(p):
        return []
    with open(p, errors='replace') as f:
        return [l.rstrip('\n') for l in f]


def stats(v):
    return (statistics.median(v), min(v), max(v)) if v else None


def fmt(x, unit):
    if x is None:
        return '-'
    if unit == '%':
        return f'{x:+.1f}'
    if unit in ('x', 'ratio'):
        return f'{x:.3f}'
    if abs(x) >= 100:
        return f'{x:,.0f}'
    return f'{x:.1f}'


def row(section, what, accel, vals, unit, note=''):
    s = stats(vals)
    if s is None:
        missing.append(f'{section}: {what} [{accel}]')
    rows.append((section, what, accel, s, unit, len(vals), note))
    return s


meta = {}
for l in lines('meta.txt'):
    if '=' in l:
        k, v = l.split('=', 1)
        meta[k] = v
guests = sorted(x for x in os.listdir(d) if os.path.isdir(os.path.join(d, x)))
for g in guests:
    for l in lines(f'{g}/errors.txt'):
        errors.append(f'{g}: {l}')

# ---- 1. record cost -------------------------------------------------------


def cost_rows(recs, accel, impls, ref):
    """recs: kv dicts with impl, writers, run, n, wall_ns, overlap_pct."""
    out = {}
    for w in sorted({int(r['writers']) for r in recs}):
        per = {}
        for r in recs:
            if int(r['writers']) != w:
                continue
            per.setdefault(r['impl'], {})[int(r['run'])] = (
                int(r['wall_ns']) / int(r['n']), int(r['overlap_pct']))
        for impl in impls:
            v = [x[0] for x in per.get(impl, {}).values()]
            ov = [x[1] for x in per.get(impl, {}).values()]
            note = f'overlap {statistics.median(ov):.0f}%' if w > 1 and ov else ''
            out[(impl, w)] = row('1 record cost', f'{impl}, {w} writer{"s" if w > 1 else ""}',
                                 accel, v, 'ns/write', note)
        for impl in impls:
            if impl in (ref, 'faa_only') or impl not in per or ref not in per:
                continue
            runs = sorted(set(per[impl]) & set(per[ref]))
            rat = [per[impl][r][0] / per[ref][r][0] for r in runs]
            s = row('1 record cost', f'ratio {impl}/{ref}, {w}w', accel, rat, 'x',
                    'per-run ratio')
            if impl == 'at_ring' and s:
                verdicts.append((f'record cost at_ring/{ref} <= 1.0, {w} writer(s) [{accel}]',
                                 s[0] <= 1.0, f'median {s[0]:.2f} (min {s[1]:.2f}, max {s[2]:.2f})'))
    return out


u = [kv(l) for l in lines('ubench.txt') if l.startswith('ubench impl=')]
cost_rows(u, 'host userspace', ['at_ring', 'mutex', 'faa_only', 'at_ring_private'], 'mutex')
for l in lines('callgrind.txt'):
    c = kv(l)
    if 'ir_per_write' in c:
        rows.append(('1 record cost', f'{c["impl"]}, instructions/write', 'callgrind',
                     (float(c['ir_per_write']),) * 3, 'instr', 1, 'userspace, 1 writer'))
if not any(l.startswith('cg ') for l in lines('callgrind.txt')):
    missing.append('callgrind instruction counts')
ring_guests = [g for g in guests if os.path.exists(os.path.join(d, g, 'ring.txt'))]
if not ring_guests:
    missing.append('guest ring.txt')
for g in ring_guests:
    recs = [kv(l) for l in lines(f'{g}/ring.txt') if 'atbench impl=' in l]
    accel = meta.get(f'accel.{g}', g)
    if not recs:
        missing.append(f'guest record cost [{g}]')
    for l in lines(f'{g}/ring.txt'):
        if 'atbench alloc' in l:
            a = kv(l)
            rows.append(('3 memory', 'one ring of ring_size 256: asked / really allocated', f'guest {accel}',
                         (int(a['ring_bytes']), int(a['ring_bytes']), int(a['ring_ksize'])), 'bytes', 1,
                         f'vmalloc({a["ring_bytes"]}), as the module, takes {a["ring_ksize"]}; '
                         f'kvmalloc of the slots alone ({a["slots_only_bytes"]}) would take {a["slots_only_ksize"]}; min=asked max=real'))
    cost_rows(recs, f'guest {accel}', ['at_ring', 'at_emit', 'kernel_rb', 'at_ring_private'], 'kernel_rb')

kvm_guests = [g for g in guests if os.path.exists(os.path.join(d, g, 'loop.txt'))]
if not kvm_guests:
    missing.append('guest loop.txt (kvm part)')
for g in kvm_guests:
    accel = 'guest ' + meta.get(f'accel.{g}', g)
    # ---- 2. ioctl loop ----------------------------------------------------
    loop = [kv(l) for l in lines(f'{g}/loop.txt')]
    by = {}
    rec = {}
    for r in loop:
        if 'ops_per_s' in r:
            by.setdefault(r['mode'], {})[int(r['round'])] = float(r['ops_per_s'])
            rec.setdefault(r['mode'], []).append(int(r['recorded']))
    names = {'a': '(a) nothing traced', 'b': '(b) tracepoint -> ftrace', 'c': '(c) apicv_trace loaded',
             'd': '(d) empty kretprobes, same 2 functions',
             'e': '(e) = d + 256-entry walk per call',
             'f': '(f) one empty kretprobe (setter only)',
             'g': '(g) empty plain kprobes (entry only), same 2',
             'h': '(h) = c, test build timing its parts (prof.h)',
             'i': '(i) = c, setter_exit=Y (the setter\'s return hooked)',
             'j': '(j) = c, a follow file held open (the stream written)'}
    for m in 'abcdefghij':
        v = list(by.get(m, {}).values())
        note = ''
        if m in 'bcij' and rec.get(m):
            note = f'recorded {min(rec[m])}..{max(rec[m])} per run'
        row('2 BLOCKIRQ ioctl loop', names[m], accel, v, 'ioctl/s', note)

    def slow(x, y):
        rs = sorted(set(by.get(x, {})) & set(by.get(y, {})))
        return [100.0 * (by[y][r] / by[x][r] - 1.0) for r in rs]
    sb = row('2 BLOCKIRQ ioctl loop', 'b vs a (throughput change)', accel, slow('a', 'b'), '%', 'per round')
    sc = row('2 BLOCKIRQ ioctl loop', 'c vs a (throughput change)', accel, slow('a', 'c'), '%', 'per round')
    scb = row('2 BLOCKIRQ ioctl loop', 'c vs b (throughput change)', accel, slow('b', 'c'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'd vs a (throughput change)', accel, slow('a', 'd'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'e vs d (throughput change)', accel, slow('d', 'e'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'f vs a (throughput change)', accel, slow('a', 'f'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'g vs a (throughput change)', accel, slow('a', 'g'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'h vs c (the timing itself)', accel, slow('c', 'h'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'i vs b (the return hooked)', accel, slow('b', 'i'), '%', 'per round')
    row('2 BLOCKIRQ ioctl loop', 'j vs c (the follow stream written)', accel, slow('c', 'j'), '%', 'per round')
    # where c's time goes: mode h's sections, ns per call, per round
    prof = {}
    for l in lines(f'{g}/prof.txt'):
        p = l.split()
        if len(p) == 4 and p[0].startswith('round='):
            k = dict(x.split('=', 1) for x in (p[0], p[2], p[3]))
            if int(k['n']):
                prof.setdefault(p[1], []).append(int(k['ns']) / int(k['n']))
    if by.get('h') and not prof:
        missing.append(f'prof.txt (mode h) [{accel}]')
    for sec in sorted(prof):
        row('2b where (c) spends its time (h)', f'{sec}: ns per call', accel, prof[sec], 'ns',
            'local_clock() around it, under TCG')
    for m in 'abcdefghij':
        lab = m
        v = list(by.get(m, {}).values())
        if v:
            rows.append(('2 BLOCKIRQ ioctl loop', f'({lab}) ns per ioctl', accel,
                         tuple(1e9 / x for x in (statistics.median(v), max(v), min(v))), 'ns', len(v), ''))
    if sc:
        verdicts.append((f'apicv_trace overhead < 3% vs nothing [{accel}]', -sc[0] < 3.0,
                         f'median {-sc[0]:.1f}% slower (per-round min {-sc[2]:.1f}%, max {-sc[1]:.1f}%)'))
    if scb:
        verdicts.append((f'apicv_trace overhead <= tracepoint overhead [{accel}]', scb[0] >= 0.0,
                         f'c vs b median {scb[0]:+.1f}% (b vs a {sb[0]:+.1f}%, c vs a {sc[0]:+.1f}%)'))

    # ---- 2c. a realistic workload: booting guests ------------------------
    boot = {}
    for l in lines(f'{g}/boot.txt'):
        r = kv(l)
        if 'user' in r and 'sys' in r and 'real' in r:
            boot.setdefault(r['mode'], {})[int(r['round'])] = (
                float(r['user']) + float(r['sys']), float(r['real']), int(r.get('recorded', 0)))
    if not boot:
        missing.append(f'boot.txt (2c) [{accel}]')
    for m, what in (('none', 'without the module'), ('module', 'apicv_trace loaded')):
        v = boot.get(m, {})
        note = ''
        if m == 'module' and v:
            recs = [x[2] for x in v.values()]
            note = f'recorded {min(recs)}..{max(recs)} per run'
        row('2c booting guests (kvmdrive guest)', f'{what}: CPU ms per run', accel,
            [1000 * x[0] for x in v.values()], 'ms', note)
    rs = sorted(set(boot.get('none', {})) & set(boot.get('module', {})))
    cpu_ratio = [boot['module'][r][0] / boot['none'][r][0] for r in rs if boot['none'][r][0] > 0]
    wall_ratio = [boot['module'][r][1] / boot['none'][r][1] for r in rs if boot['none'][r][1] > 0]
    cr = row('2c booting guests (kvmdrive guest)', 'CPU time, module / none', accel, cpu_ratio, 'x', 'per round')
    row('2c booting guests (kvmdrive guest)', 'wall time, module / none', accel, wall_ratio, 'x', 'per round')
    none_cpu = [x[0] for x in boot.get('none', {}).values()]
    if cr and len(none_cpu) >= 3:
        noise = (max(none_cpu) - min(none_cpu)) / statistics.median(none_cpu)
        verdicts.append((f'booting guests: overhead within the run-to-run noise [{accel}]',
                         abs(cr[0] - 1.0) <= noise,
                         f'CPU time ratio median {cr[0]:.3f} (min {cr[1]:.3f}, max {cr[2]:.3f}); '
                         f'noise (spread of the runs without the module) {100 * noise:.1f}%'))

    # ---- 3. memory ------------------------------------------------------------
    mem = {}
    for l in lines(f'{g}/mem.txt'):
        p = l.split()
        if len(p) == 2 and '=' in p[1]:
            k, v = p[1].split('=')
            mem[(p[0], k)] = int(v) if v.lstrip('-').isdigit() else v
    ns = sorted({int(t.split('.')[-1]) for (t, k) in mem if t.startswith('after.')})
    if not ns:
        missing.append(f'memory figures [{accel}]')
    per_vm_acc = []
    for n in ns:
        def delta(m, k):
            a, b = mem.get((f'after.{m}.{n}', k)), mem.get((f'before.{m}.{n}', k))
            return None if a is None or b is None else a - b
        acc = delta('module', 'memory_bytes')
        tot = mem.get((f'after.module.{n}', 'memory_bytes'))
        if acc is None:
            missing.append(f'memory_bytes for {n} VMs')
            continue
        per_vm_acc.append(acc / n)
        row('3 memory', f'{n} VMs: module total (status memory_bytes)', accel, [tot], 'bytes',
            f'{tot / 1024:.0f} KiB, incl. spares + follow stream')
        row('3 memory', f'{n} VMs: accounted per VM (memory_bytes delta / N)', accel, [acc / n], 'bytes',
            f'{acc / n / 1024:.1f} KiB')
        mf_m, mf_n = delta('module', 'MemFree'), delta('none', 'MemFree')
        sl_m, sl_n = delta('module', 'Slab'), delta('none', 'Slab')
        if None not in (mf_m, mf_n):
            real = (mf_n - mf_m) * 1024 / n
            row('3 memory', f'{n} VMs: measured per VM (MemFree drop, module - none)', accel, [real],
                'bytes', f'{real / 1024:.1f} KiB')
        if None not in (sl_m, sl_n):
            s = (sl_m - sl_n) * 1024 / n
            row('3 memory', f'{n} VMs: Slab per VM (module - none)', accel, [s], 'bytes',
                f'{s / 1024:.1f} KiB')
        # slabinfo: which caches grew, with minus without
        def slab(tag):
            out = {}
            for l in lines(f'{g}/slabinfo.{tag}'):
                p = l.split()
                if len(p) > 4 and p[1].isdigit():
                    out[p[0]] = int(p[1]) * int(p[3])
            return out
        try:
            dm = {k: v - slab(f'before.module.{n}').get(k, 0) for k, v in slab(f'after.module.{n}').items()}
            dn = {k: v - slab(f'before.none.{n}').get(k, 0) for k, v in slab(f'after.none.{n}').items()}
            diff = sorted(((dm.get(k, 0) - dn.get(k, 0), k) for k in set(dm) | set(dn)), reverse=True)
            top = ', '.join(f'{k} {v / n:+.0f}' for v, k in diff[:3] if v > 0)
            if top:
                rows.append(('3 memory', f'{n} VMs: slabinfo caches grown per VM', accel, None, '',
                             0, top))
        except (ValueError, IndexError):
            pass
    if per_vm_acc:
        m = statistics.median(per_vm_acc)
        verdicts.append((f'default memory per VM <= 64 KiB (module accounting) [{accel}]', m <= 65536,
                         f'{m:.0f} bytes = {m / 1024:.1f} KiB'))
        alloc = [kv(l) for gg in ring_guests for l in lines(f'{gg}/ring.txt') if 'atbench alloc' in l]
        if alloc:
            a = alloc[0]
            vmsz = m - int(a['ring_ksize'])          # struct at_vm's share of the accounting
            bucket = 1 << (int(vmsz) - 1).bit_length()  # its kmalloc size class (> 192 bytes)
            real = int(a['ring_ksize']) + bucket
            verdicts.append((f'default memory per VM <= 64 KiB (allocated: ring ksize + kmalloc class of struct at_vm) [{accel}]',
                             real <= 65536,
                             f'{int(a["ring_ksize"])} + {bucket} (struct at_vm: kmalloc-{bucket}) = {real} bytes = {real / 1024:.1f} KiB'))
    # Slab: on 6.1 it also counts kmalloc()s too big for a slab cache (pages
    # straight from the page allocator); MemFree is noisier (KVM, page lists).
    real = [r for r in rows if r[1].endswith('Slab per VM (module - none)') and r[3]]
    if real:
        x = real[-1][3][0]
        verdicts.append((f'default memory per VM <= 64 KiB (measured: Slab growth, {real[-1][1].split(":")[0]}) [{accel}]',
                         x <= 65536, f'{x:.0f} bytes = {x / 1024:.1f} KiB'))

    # ---- 4. reader ------------------------------------------------------------
    rd = lines(f'{g}/read.txt')
    st = {k: v for l in rd if l.startswith('status ') for k, v in kv(l).items()}
    rr = [kv(l) for l in rd if l.startswith('read ')]
    rv = [kv(l) for l in rd if l.startswith('readvms ')]
    nl = rr[0]['lines'] if rr else '?'
    row('4 reader', f'read `events`: {st.get("vms_live", "?")} VMs, {nl} lines', accel,
        [int(r['ns']) / 1e6 for r in rr], 'ms',
        f'{int(rr[0]["bytes"]) / 1024:.0f} KiB' if rr else '')
    if rr:
        row('4 reader', 'read `events`: per line', accel,
            [int(r['ns']) / max(int(r['lines']), 1) / 1000 for r in rr], 'us/line')
    row('4 reader', f'read `vms`: {st.get("vms_live", "?")} VMs', accel, [int(r['ns']) / 1e6 for r in rv], 'ms')
    lat = [kv(l) for l in lines(f'{g}/latency.txt') if l.startswith('lat ')]
    row('4 reader', 'follow: ioctl return -> reader has the line', accel,
        [int(x['ret_to_seen_ns']) / 1000 for x in lat], 'us', 'negative: reader woke before the ioctl returned')
    row('4 reader', 'follow: record time (ns=) -> reader has the line', accel,
        [int(x['rec_to_seen_ns']) / 1000 for x in lat], 'us')

# ---- print ---------------------------------------------------------------------
print(f'apicv-trace bench ({"smoke" if smoke else "full"}): {meta.get("date", "")}')
print(f'machine: {meta.get("host", "?")}; guest kernel {meta.get("guest_kernel", "?")}, '
      f'{meta.get("guest_cpus", "?")} vCPUs, clocksource {meta.get("guest_clocksource", "?")}; '
      f'accelerators: {meta.get("accels", "?")}')
print(f'load: before {meta.get("load_before", "?")}; after {meta.get("load_after", "?")}; '
      f'other qemu-system at start: {meta.get("other_qemu", "?")}')
print(f'settings: {meta.get("settings", "")}')
print()
hdr = ('section', 'figure', 'where', 'median', 'min', 'max', 'unit', 'n', 'note')
table = [hdr]
rows.sort(key=lambda r: r[0])
for sec, what, accel, s, unit, nv, note in rows:
    if s is None:
        table.append((sec, what, accel, '-', '-', '-', unit, str(nv), note or 'MISSING'))
    else:
        table.append((sec, what, accel, fmt(s[0], unit), fmt(s[1], unit), fmt(s[2], unit),
                      unit, str(nv), note))
w = [max(len(r[i]) for r in table) for i in range(len(hdr))]
for i, r in enumerate(table):
    print('  '.join(c.ljust(w[j]) if j in (0, 1, 2, 6, 8) else c.rjust(w[j])
                    for j, c in enumerate(r)).rstrip())
    if i == 0:
        print('  '.join('-' * x for x in w))
print()
print('targets:')
for what, ok, ev in verdicts:
    print(f'  {"MET   " if ok else "MISSED"} {what}: {ev}')
for e in errors:
    print(f'ERROR {e}')
for m in missing:
    print(f'MISSING {m}')
sys.exit(1 if errors or missing else 0)
