// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/apicv_trace/: what the module shows. Every file is
 * read-only (0444), so everything works under kernel lockdown; control is
 * through module parameters. Records are printed as key=value tokens and a
 * call site only ever as a symbol: no kernel address reaches userspace.
 * Every key and the printf format of every line are in format.h, which
 * the command (cmd/parse.c) reads too; this file only fills them in.
 *
 *   status          module, kernel, hooks, counters, memory
 *   reasons         this kernel's bit -> name table
 *   vms             one line per VM (live and recently exited)
 *   events          all VMs' records merged in order (a snapshot)
 *   follow          live stream with a per-reader cursor (blocks, polls)
 *   vm/<key>/events one VM's records (a snapshot)
 *   vm/<key>/state  one VM's aggregates
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kallsyms.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/workqueue.h>
#include <asm/processor.h>

#include "apicv_trace.h"
#include "format.h"

#define AT_LINE_MAX 512

/*
 * Every file is read-only (0444), but mode bits do not stop root (and
 * CAP_DAC_OVERRIDE): refuse a write open the same way under any lockdown.
 */
static int at_open_ro(struct file *file)
{
	return file->f_mode & FMODE_WRITE ? -EPERM : 0;
}

/* A VM's APICv state; unknown when the setter cannot be hooked. */
static const char *at_apicv_word(unsigned long mask)
{
	if (!at_probes_see_inhibits())
		return "unknown";
	return mask ? "inhibited" : "active";
}

/* DEFINE_SHOW_ATTRIBUTE() with at_open_ro() */
#define AT_DEFINE_SHOW_RO(__name)					\
static int __name ## _open(struct inode *inode, struct file *file)	\
{									\
	return at_open_ro(file) ?:					\
	       single_open(file, __name ## _show, inode->i_private);	\
}									\
									\
static const struct file_operations __name ## _fops = {		\
	.owner		= THIS_MODULE,					\
	.open		= __name ## _open,				\
	.read		= seq_read,					\
	.llseek		= seq_lseek,					\
	.release	= single_release,				\
}

static struct dentry *at_root, *at_vm_dir;

static const char *const at_event_names[AT_EV_MAX] = {
	[AT_EV_NONE] = "none", [AT_EV_SET] = "set", [AT_EV_CLEAR] = "clear",
	[AT_EV_APIC_ID] = "apic_id", [AT_EV_VM_CREATE] = "vm_create",
	[AT_EV_VM_DESTROY] = "vm_destroy", [AT_EV_BASELINE] = "baseline",
	[AT_EV_LAPIC_SET] = "lapic_set", [AT_EV_APIC_BASE] = "apic_base",
};

static const char *const at_result_names[AT_RES_MAX] = {
	[AT_RES_NONE] = "-", [AT_RES_CHANGED] = "changed",
	[AT_RES_NOOP] = "noop", [AT_RES_FILTERED] = "filtered",
	[AT_RES_DROPPED] = "dropped", [AT_RES_ABSORBED] = "absorbed",
};

/* ---------------------------------------------------------------- */
/* Formatting                                                       */
/* ---------------------------------------------------------------- */

/*
 * "function+0xoff" for a call site, or "?" when it cannot be named: the
 * site's kvm was unloaded since, or kallsyms has no name for it (then it
 * would print the raw address, which never leaves the kernel).
 */
static void at_format_addr(char *out, size_t len, u64 site,
			   unsigned int gen)
{
	char sym[KSYM_SYMBOL_LEN];
	char *end;

	if (!site || gen != at_kvm_gen()) {
		strscpy(out, site ? "?" : "-", len);
		return;
	}
	sprint_symbol(sym, (unsigned long)site);
	if (sym[0] == '0' && sym[1] == 'x') {
		strscpy(out, "?", len);
		return;
	}
	end = strpbrk(sym, "/ ");
	if (end)
		*end = '\0';
	strscpy(out, sym, len);
}

static void at_format_site(char *out, size_t len, const struct at_rec *r)
{
	at_format_addr(out, len, r->site, r->site_gen);
}

/* @s as one value: no space, '=' or control byte; "-" when empty. */
static void at_format_word(char *out, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i]; i++)
		out[i] = (s[i] <= ' ' || s[i] == '=' || s[i] > '~') ? '_' : s[i];
	out[i] = '\0';
	if (!i)
		strscpy(out, "-", len);
}

static void at_format_comm(char *out, const char *comm)
{
	at_format_word(out, 16, comm);
}

/* A VM's name as a value: sanitised like comm, - when it has none. */
static void at_format_name(char *out, const char *name)
{
	at_format_word(out, AT_VMNAME_LEN, name);
}

static int at_format_rec(char *buf, size_t len, const struct at_rec *r,
			 const char *key, const char *vmname)
{
	char site[64], comm[16], vcpu[12], bit[8], name[AT_VMNAME_LEN];
	const char *reason = "-";
	int n;

	at_format_site(site, sizeof(site), r);
	at_format_comm(comm, r->comm);
	at_format_name(name, vmname);
	if (r->vcpu == AT_NO_VCPU)
		strscpy(vcpu, "-", sizeof(vcpu));
	else
		snprintf(vcpu, sizeof(vcpu), "%d", r->vcpu);
	if (r->bit == AT_NO_BIT) {
		strscpy(bit, "-", sizeof(bit));
	} else {
		snprintf(bit, sizeof(bit), "%u", r->bit);
		reason = at_reason_name(r->bit);
	}
	n = scnprintf(buf, len, AT_FMT_EVENT,
		      r->gseq, r->ns, key, name, vcpu, r->cpu, r->tid, comm,
		      r->event < AT_EV_MAX ? at_event_names[r->event] : "?",
		      reason, bit, r->old_mask, r->new_mask,
		      r->result < AT_RES_MAX ? at_result_names[r->result] : "?",
		      site);
	if (r->event == AT_EV_APIC_ID) {
		if (r->xapic_id == U32_MAX)
			n += scnprintf(buf + n, len - n,
				       AT_FMT_EVENT_APIC_ID_UNREAD, r->vcpu);
		else
			n += scnprintf(buf + n, len - n, AT_FMT_EVENT_APIC_ID,
				       r->vcpu, r->xapic_id,
				       r->flags & AT_F_MATCH ? "yes" : "no");
		n += scnprintf(buf + n, len - n, AT_FMT_EVENT_INHIBIT,
			       r->flags & AT_F_INHIBIT ? "yes" : "no");
		if (r->flags & AT_F_MAP)
			n += scnprintf(buf + n, len - n, AT_FMT_EVENT_ALIAS,
				       r->flags & AT_F_ALIAS ? "yes" : "no");
	}
	if (r->event == AT_EV_LAPIC_SET) {
		if (r->xapic_id == U32_MAX)
			n += scnprintf(buf + n, len - n,
				       AT_FMT_EVENT_LAPIC_SET_UNREAD);
		else
			n += scnprintf(buf + n, len - n, AT_FMT_EVENT_LAPIC_SET,
				       r->xapic_id);
	}
	if (r->event == AT_EV_APIC_BASE)
		n += scnprintf(buf + n, len - n, AT_FMT_EVENT_APIC_BASE,
			       r->value, r->value_old);
	if (r->flags & AT_F_SIDE)
		n += scnprintf(buf + n, len - n, AT_FMT_EVENT_SIDE);
	if (r->flags & AT_F_INIT)
		n += scnprintf(buf + n, len - n, AT_FMT_EVENT_INIT);
	if (r->flags & AT_F_MISSED)
		n += scnprintf(buf + n, len - n, AT_FMT_EVENT_MISSED);
	n += scnprintf(buf + n, len - n, "\n");
	return n;
}

static void at_mask_names(struct seq_file *m, unsigned long mask)
{
	unsigned int b;
	bool first = true;

	if (!mask) {
		seq_puts(m, "-");
		return;
	}
	for_each_set_bit(b, &mask, BITS_PER_LONG) {
		seq_printf(m, "%s%s", first ? "" : "|", at_reason_name(b));
		first = false;
	}
}

/* ---------------------------------------------------------------- */
/* Snapshots: events and vm/<key>/events                            */
/* ---------------------------------------------------------------- */

/*
 * What one open may copy: AT_SNAP_MAX records (8 MiB of struct
 * at_snap_rec), the newest kept. It is the largest ring_size, so one VM's
 * file always holds its whole ring; events, which merges every VM's ring
 * (max_vms full rings: 2 GiB at the parameters' limits), says with a
 * capped= line per VM how many of its records it left out.
 */
#define AT_SNAP_MAX	65536U

struct at_snap_vm {
	char key[AT_KEY_LEN];
	char name[AT_VMNAME_LEN];
	u64 lost;
	u64 capped;		/* readable records left out: over AT_SNAP_MAX */
	size_t room;		/* records this VM may add to the snapshot */
};

struct at_snap_rec {
	struct at_rec rec;
	unsigned int vmi;
};

/*
 * recs[0, nrecs) is a min-heap by gseq while the snapshot is taken (its
 * root is the oldest record kept, the one to evict for a newer one), then
 * sorted newest first (at_snap_sort()); lines are printed from the end.
 */
struct at_snap {
	size_t nvms, nrecs, cap;
	struct at_snap_vm *vms;
	struct at_snap_rec *recs;
	struct at_snap_rec scratch;
	char line[AT_LINE_MAX];
};

/* Put @x at heap position @i of h[0, n) and sift it down. */
static void at_snap_sift(struct at_snap_rec *h, size_t n, size_t i,
			 const struct at_snap_rec *x)
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && h[c + 1].rec.gseq < h[c].rec.gseq)
			c++;
		if (x->rec.gseq <= h[c].rec.gseq)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = *x;
}

/* Keep @sr if it is among the newest s->cap records seen so far. */
static void at_snap_offer(struct at_snap *s, const struct at_snap_rec *sr)
{
	struct at_snap_rec *h = s->recs;
	size_t i, parent;

	if (s->nrecs < s->cap) {
		for (i = s->nrecs++; i; i = parent) {
			parent = (i - 1) / 2;
			if (h[parent].rec.gseq <= sr->rec.gseq)
				break;
			h[i] = h[parent];
		}
		h[i] = *sr;
		return;
	}
	if (!s->cap || sr->rec.gseq <= h[0].rec.gseq) {
		s->vms[sr->vmi].capped++;
		return;
	}
	s->vms[h[0].vmi].capped++;
	at_snap_sift(h, s->nrecs, 0, sr);
}

/* Heapsort: the heap becomes newest first. Process context. */
static void at_snap_sort(struct at_snap *s)
{
	struct at_snap_rec *h = s->recs;
	size_t n;

	for (n = s->nrecs; n > 1; n--) {
		s->scratch = h[n - 1];
		h[n - 1] = h[0];
		at_snap_sift(h, n - 1, 0, &s->scratch);
		if (!(n % 1024))
			cond_resched();
	}
}

/*
 * Copy one VM's readable records, at most @room of them (records written
 * after the snapshot was sized are left for the next read); positions
 * that are gone count as lost. Process context.
 */
static void at_snap_vm(struct at_snap *s, const struct at_vm *vm, size_t room)
{
	const struct at_ring *ring = vm->ring;
	struct at_snap_vm *sv = &s->vms[s->nvms];
	u64 floor = READ_ONCE(vm->hist_floor);
	u64 pos, head = at_ring_head(ring);
	u64 first = max(at_ring_first(ring), floor);

	at_vm_key(vm, sv->key);
	strscpy(sv->name, at_vm_name(vm), sizeof(sv->name));
	sv->lost = first - floor;
	for (pos = first; pos < head && room; pos++) {
		if (!(pos % 1024))
			cond_resched();
		if (at_ring_read(ring, pos, &s->scratch.rec) != AT_RING_OK) {
			sv->lost++;
			continue;
		}
		room--;
		s->scratch.vmi = s->nvms;
		at_snap_offer(s, &s->scratch);
	}
	s->nvms++;
}

static void at_snap_free(struct at_snap *s)
{
	kvfree(s->recs);
	kvfree(s->vms);
	kfree(s);
}

/* Room for a VM's records: what its ring holds now, plus what may come. */
static size_t at_snap_room(const struct at_vm *vm)
{
	u64 head = at_ring_head(vm->ring), cap = at_ring_capacity(vm->ring);
	u64 first = max(head > cap ? head - cap : 0, READ_ONCE(vm->hist_floor));

	return min_t(u64, head - first + 64, cap);
}

/*
 * @one: a single VM (its debugfs file is open, so it is not freed: the
 * worker removes the file first, and that waits for us), or NULL for every
 * VM (at_vm_mutex keeps the list's VMs from being freed; probes only
 * append, so the first nvms entries stay the same). Each VM gets the room
 * it was sized with, so one VM's burst cannot crowd out another's records;
 * all of them together get at most AT_SNAP_MAX, the newest.
 */
static struct at_snap *at_snap_take(const struct at_vm *one)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NOWARN;
	size_t i, nvms = 0, nrecs = 0;
	struct at_snap *s;
	struct at_vm *vm;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	if (!one)
		mutex_lock(&at_vm_mutex);
	if (one)
		nvms = 1;
	else
		at_for_each_vm(vm)
			nvms++;
	/* nvms <= max_vms (65536): at most 4 MiB */
	s->vms = kvcalloc(nvms ?: 1, sizeof(*s->vms), gfp);
	if (!s->vms)
		goto fail;
	i = 0;
	if (one) {
		s->vms[0].room = at_snap_room(one);
	} else {
		at_for_each_vm(vm) {
			if (i == nvms)
				break;
			s->vms[i++].room = at_snap_room(vm);
		}
		nvms = i;
	}
	for (i = 0; i < nvms; i++)
		nrecs += s->vms[i].room;
	s->cap = min_t(size_t, nrecs, AT_SNAP_MAX);
	s->recs = kvcalloc(s->cap ?: 1, sizeof(*s->recs), gfp);
	if (!s->recs)
		goto fail;
	if (one) {
		at_snap_vm(s, one, s->vms[0].room);
	} else {
		at_for_each_vm(vm) {
			if (s->nvms == nvms)
				break;	/* added since we counted */
			at_snap_vm(s, vm, s->vms[s->nvms].room);
			cond_resched();
		}
		mutex_unlock(&at_vm_mutex);
	}
	at_snap_sort(s);
	return s;
fail:
	if (!one)
		mutex_unlock(&at_vm_mutex);
	at_snap_free(s);
	return NULL;
}

/* seq_file positions: [0, nvms) lost and capped lines, then records. */
static void *at_snap_start(struct seq_file *m, loff_t *pos)
{
	struct at_snap *s = m->private;

	return *pos < (loff_t)(s->nvms + s->nrecs) ? pos : NULL;
}

static void *at_snap_next(struct seq_file *m, void *v, loff_t *pos)
{
	++*pos;
	return at_snap_start(m, pos);
}

static void at_snap_stop(struct seq_file *m, void *v)
{
}

static int at_snap_show(struct seq_file *m, void *v)
{
	struct at_snap *s = m->private;
	loff_t i = *(loff_t *)v;
	struct at_snap_rec *sr;

	if (i < (loff_t)s->nvms) {
		if (s->vms[i].lost)
			seq_printf(m, AT_FMT_LOST, s->vms[i].lost,
				   s->vms[i].key);
		if (s->vms[i].capped)
			seq_printf(m, AT_FMT_CAPPED, s->vms[i].capped,
				   s->vms[i].key);
		return 0;
	}
	/* newest first in recs[]: the oldest is printed first */
	sr = &s->recs[s->nvms + s->nrecs - 1 - i];
	at_format_rec(s->line, sizeof(s->line), &sr->rec,
		      s->vms[sr->vmi].key, s->vms[sr->vmi].name);
	seq_puts(m, s->line);
	return 0;
}

static const struct seq_operations at_snap_ops = {
	.start = at_snap_start,
	.next = at_snap_next,
	.stop = at_snap_stop,
	.show = at_snap_show,
};

static int at_snap_open(struct inode *inode, struct file *file)
{
	struct at_snap *s;
	int ret;

	ret = at_open_ro(file);
	if (ret)
		return ret;
	s = at_snap_take(inode->i_private);
	if (!s)
		return -ENOMEM;
	ret = seq_open(file, &at_snap_ops);
	if (ret) {
		at_snap_free(s);
		return ret;
	}
	((struct seq_file *)file->private_data)->private = s;
	return 0;
}

static int at_snap_release(struct inode *inode, struct file *file)
{
	at_snap_free(((struct seq_file *)file->private_data)->private);
	return seq_release(inode, file);
}

static const struct file_operations at_snap_fops = {
	.owner = THIS_MODULE,
	.open = at_snap_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = at_snap_release,
};

/* ---------------------------------------------------------------- */
/* vm/<key>/state and vms                                           */
/* ---------------------------------------------------------------- */

/* The last set (@set) or clear of a reason: when, and the site that asked. */
static void at_seq_last(struct seq_file *m, const struct at_reason_stat *rs,
			int set)
{
	char site[64];
	u64 ns = READ_ONCE(rs->last_ns[set]);

	if (!ns) {
		seq_puts(m, set ? AT_FMT_STATE_REASON_LAST_SET_NONE :
				  AT_FMT_STATE_REASON_LAST_CLEAR_NONE);
		return;
	}
	at_format_addr(site, sizeof(site), READ_ONCE(rs->last_site[set]),
		       READ_ONCE(rs->last_gen[set]));
	seq_printf(m, set ? AT_FMT_STATE_REASON_LAST_SET :
			    AT_FMT_STATE_REASON_LAST_CLEAR, ns, site);
}

static int at_state_show(struct seq_file *m, void *unused)
{
	const struct at_vm *vm = m->private;
	unsigned long mask = READ_ONCE(vm->mask);
	u64 since = READ_ONCE(vm->mask_since_ns);
	u64 end = READ_ONCE(vm->exited_ns) ?: at_now();
	u64 life = at_ns_between(vm->created_ns, end);
	struct at_mismatch mm;
	char comm[16], site[64], name[AT_VMNAME_LEN];
	unsigned int b;

	at_format_comm(comm, vm->comm);
	at_format_name(name, at_vm_name(vm));
	seq_printf(m, AT_FMT_STATE_HEAD,
		   vm->key, vm->id, vm->pid, comm, name, READ_ONCE(vm->nr_vcpus),
		   READ_ONCE(vm->exited_ns) ? "exited" : "live",
		   vm->baseline ? AT_FMT_STATE_HEAD_BASELINE : "");
	seq_printf(m, AT_FMT_STATE_HEAD_APICV,
		   at_apicv_word(mask), since,
		   div_u64(at_ns_between(since, end), NSEC_PER_MSEC), mask);
	at_mask_names(m, mask);
	seq_printf(m, AT_FMT_STATE_HEAD_LIFE,
		   vm->created_ns, READ_ONCE(vm->exited_ns),
		   div_u64(life, NSEC_PER_MSEC),
		   atomic64_read(&vm->transitions), at_ring_head(vm->ring),
		   at_vm_lost(vm), at_vm_flapping(vm, end) ? "yes" : "no");
	for (b = 0; b < AT_MAX_BITS; b++) {
		const struct at_reason_stat *rs = &vm->reason[b];
		s64 sets = atomic64_read(&rs->sets);
		s64 clears = atomic64_read(&rs->clears);
		s64 noops = atomic64_read(&rs->noops);
		s64 filt = atomic64_read(&rs->filtered);
		s64 drop = atomic64_read(&rs->dropped);
		s64 absorbed = atomic64_read(&rs->absorbed);
		u64 total = at_vm_reason_ns(vm, b, end);
		unsigned int c60 = at_flap_changes(rs, end, AT_FLAP_SLOTS);

		if (!(sets | clears | noops | filt | drop | absorbed) &&
		    !(mask & BIT(b)))
			continue;
		seq_printf(m, AT_FMT_STATE_REASON,
			   at_reason_name(b), b, mask & BIT(b) ? "set" : "clear",
			   sets, clears, noops, filt, drop, absorbed,
			   div_u64(total, NSEC_PER_MSEC),
			   life ? div64_u64(min(total, life) * 100, life) : 0,
			   READ_ONCE(at_reasons.sticky) & BIT(b) ? "yes" : "no",
			   at_flap_changes(rs, end, 2), c60,
			   c60 >= AT_FLAP_MIN ? "yes" : "no");
		at_seq_last(m, rs, 1);
		at_seq_last(m, rs, 0);
		if (mask & BIT(b))
			seq_printf(m, AT_FMT_STATE_REASON_SINCE,
				   READ_ONCE(rs->since_ns));
		seq_putc(m, '\n');
	}
	if (at_vm_mismatch(vm, &mm)) {
		at_format_addr(site, sizeof(site), mm.site, mm.site_gen);
		seq_printf(m, AT_FMT_MISMATCH,
			   mm.vcpu, mm.xapic_id, (u8)mm.vcpu, mm.ns, site);
	}
	return 0;
}
AT_DEFINE_SHOW_RO(at_state);

static int at_vms_show(struct seq_file *m, void *unused)
{
	char key[AT_KEY_LEN], comm[16], name[AT_VMNAME_LEN];
	struct at_vm *vm;

	mutex_lock(&at_vm_mutex);
	at_for_each_vm(vm) {
		unsigned long mask = READ_ONCE(vm->mask);
		u64 since = READ_ONCE(vm->mask_since_ns);
		u64 exited = READ_ONCE(vm->exited_ns);

		at_vm_key(vm, key);
		at_format_comm(comm, vm->comm);
		at_format_name(name, at_vm_name(vm));
		seq_printf(m, AT_FMT_VMS,
			   key, vm->pid, comm, READ_ONCE(vm->nr_vcpus),
			   at_apicv_word(mask),
			   div_u64(at_ns_between(since, exited ?: at_now()),
				   NSEC_PER_MSEC), mask);
		at_mask_names(m, mask);
		seq_printf(m, AT_FMT_VMS_TAIL,
			   atomic64_read(&vm->transitions),
			   at_ring_head(vm->ring), at_vm_lost(vm),
			   exited ? "exited" : "live",
			   at_vm_flapping(vm, exited ?: at_now()) ? "yes" : "no",
			   name);
		cond_resched();
	}
	mutex_unlock(&at_vm_mutex);
	return 0;
}
AT_DEFINE_SHOW_RO(at_vms);

/* ---------------------------------------------------------------- */
/* status and reasons                                               */
/* ---------------------------------------------------------------- */

/* " absent=role,role" or " failed=...": the hooks in that state, if any */
static void at_seq_roles(struct seq_file *m, const char *fmt, bool failed)
{
	struct at_probe_info pi;
	bool first = true;
	unsigned int i;

	for (i = 0; i < AT_NR_HOOKS; i++) {
		at_probe_info(i, &pi);
		if (!(failed ? pi.failed : pi.absent))
			continue;
		if (first)
			seq_puts(m, fmt);
		else
			seq_putc(m, ',');
		seq_puts(m, pi.role);
		first = false;
	}
}

/* status: a hook= line per hook, then coverage and running_vcpu. */
static void at_status_hooks(struct seq_file *m)
{
	struct at_probe_info pi;
	char why[64];
	unsigned int i;

	at_probes_lock();
	for (i = 0; i < AT_NR_HOOKS; i++) {
		at_probe_info(i, &pi);
		seq_printf(m, AT_FMT_STATUS_HOOK, pi.role, pi.symbol, pi.kind,
			   pi.state, pi.nmissed);
		if (pi.refused) {
			at_format_word(why, sizeof(why), pi.refused);
			seq_printf(m, AT_FMT_STATUS_HOOK_REFUSED, why);
		} else if (pi.failed) {
			seq_printf(m, AT_FMT_STATUS_HOOK_ERROR, pi.err);
		}
		if (pi.ret)
			seq_printf(m, AT_FMT_STATUS_HOOK_MAXACTIVE, pi.maxactive);
		if (pi.clones[0])
			seq_printf(m, AT_FMT_STATUS_HOOK_CLONES, pi.clones);
		if (pi.candidates[0])
			seq_printf(m, AT_FMT_STATUS_HOOK_CANDIDATES,
				   pi.candidates);
		seq_putc(m, '\n');
	}
	seq_printf(m, AT_FMT_STATUS_COVERAGE, at_probes_coverage());
	at_seq_roles(m, AT_FMT_STATUS_ABSENT, false);
	at_seq_roles(m, AT_FMT_STATUS_FAILED, true);
	seq_putc(m, '\n');
	seq_printf(m, AT_FMT_STATUS_RUNNING,
		   at_hooks_vcpu_known() ? "resolved" : "unresolved",
		   atomic64_read(&at_stats.reqs_full), at_hooks_setter_mode(),
		   atomic64_read(&at_stats.mispredicted));
	at_probes_unlock();
}

static int at_status_show(struct seq_file *m, void *unused)
{
	u64 lost = 0, live = 0, exited = 0;
	struct at_vm *vm;

	mutex_lock(&at_vm_mutex);
	at_for_each_vm(vm) {
		lost += at_vm_lost(vm);
		if (READ_ONCE(vm->exited_ns))
			exited++;
		else
			live++;
		cond_resched();
	}
	mutex_unlock(&at_vm_mutex);

	seq_printf(m, AT_FMT_STATUS_MODULE, THIS_MODULE->version ?: "?");
	seq_printf(m, AT_FMT_STATUS_KERNEL, init_utsname()->release,
		   at_probes_lockdown());
	seq_printf(m, AT_FMT_STATUS_KVM, at_probes_armed() ? "hooked" : "waiting");
	seq_printf(m, AT_FMT_STATUS_REASONS, at_reasons.from,
		   !at_reasons.kernel_read ? "unavailable" :
		   at_reasons.kernel_differs ? "differ" : "agree");
	at_status_hooks(m);
	seq_printf(m, AT_FMT_STATUS_EVENTS,
		   at_events_total(),
		   atomic64_read(&at_stats.untracked), lost);
	seq_printf(m, AT_FMT_STATUS_VMS,
		   live, exited, atomic64_read(&at_stats.vms_created),
		   atomic64_read(&at_stats.vms_adopted),
		   atomic64_read(&at_stats.vms_freed),
		   atomic64_read(&at_stats.pool_empty),
		   atomic64_read(&at_stats.alloc_failed),
		   atomic64_read(&at_stats.dirs_failed), at_probes_adoption());
	seq_printf(m, AT_FMT_STATUS_FOLLOW,
		   at_ring_capacity(at_stream), atomic_read(&at_followers));
	seq_printf(m, AT_FMT_STATUS_MEMORY, atomic_long_read(&at_stats.mem_bytes));
	seq_printf(m, AT_FMT_STATUS_PARAMS,
		   1U << READ_ONCE(at_ring_order), READ_ONCE(at_max_vms),
		   READ_ONCE(at_max_exited), READ_ONCE(at_log_noop) ? "Y" : "N");
	return 0;
}
AT_DEFINE_SHOW_RO(at_status);

static int at_reasons_show(struct seq_file *m, void *unused)
{
	unsigned long honoured = at_vendor_honoured();
	bool amd = at_host_amd();
	unsigned int b;

	for (b = 0; b < AT_MAX_BITS; b++) {
		const char *k = at_reasons.kernel[b];

		if (!strcmp(at_reason_name(b), "unknown") && !k[0])
			continue;
		seq_printf(m, amd ? AT_FMT_REASONS_AVIC : AT_FMT_REASONS_APICV,
			   b, at_reason_name(b), k[0] ? k : "-",
			   READ_ONCE(at_reasons.sticky) & BIT(b) ? "yes" : "no",
			   honoured & BIT(b) ? "honours" : "ignores");
	}
	return 0;
}
AT_DEFINE_SHOW_RO(at_reasons);

/* ---------------------------------------------------------------- */
/* follow                                                           */
/* ---------------------------------------------------------------- */

/*
 * A reader of follow. Its cursor walks the stream; a position that stays
 * claimed but uncommitted (its writer abandoned it) is given up after
 * AT_RING_PATIENCE_NS and reported lost (at_ring_follow()), by read and
 * poll alike: poll reports readable only when read has a line to give, and
 * otherwise wakes itself (@due) when the position is due to be given up.
 */
struct at_follower {
	struct mutex lock;		/* read and poll of one file */
	u64 cursor;
	struct at_ring_patience patience;
	struct delayed_work due;	/* wakes pollers at a give-up time */
	struct at_rec rec;
	size_t len, off;		/* pending bytes of line[] */
	char line[AT_LINE_MAX];
};

static void at_follow_due(struct work_struct *work)
{
	wake_up_interruptible(&at_follow_wq);
}

static int at_follow_open(struct inode *inode, struct file *file)
{
	struct at_follower *f;

	if (at_open_ro(file))
		return -EPERM;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	INIT_DELAYED_WORK(&f->due, at_follow_due);
	at_ring_patience_init(&f->patience);
	file->private_data = f;
	/*
	 * From the open on: writers fill the stream only while a reader is
	 * open (at_emit()), so what it holds from before is from an earlier
	 * reader's time, with gaps, and is not shown. A record stored while
	 * the file opens lands on either side of the cursor; the history
	 * before the open, that one included, is in events.
	 */
	atomic_inc(&at_followers);
	f->cursor = at_ring_head(at_stream);
	return stream_open(inode, file);
}

static int at_follow_release(struct inode *inode, struct file *file)
{
	struct at_follower *f = file->private_data;

	cancel_delayed_work_sync(&f->due);
	mutex_destroy(&f->lock);
	atomic_dec(&at_followers);
	kfree(f);
	return 0;
}

static bool at_follow_lost(struct at_follower *f, u64 n)
{
	f->len = scnprintf(f->line, sizeof(f->line), AT_FMT_LOST_FOLLOW, n);
	f->cursor += n;
	f->off = 0;
	return true;
}

/*
 * Fill f->line with the next line, or return false if there is none yet:
 * then *due_ns is 0 when nothing is claimed past the cursor, else the
 * nanoseconds after which the claimed position at the cursor is given up
 * (a writer committing it sooner wakes at_follow_wq). f->lock held.
 */
static bool at_follow_next(struct at_follower *f, u64 *due_ns)
{
	char key[AT_KEY_LEN], name[AT_VMNAME_LEN];
	u64 n = 0;

	*due_ns = 0;
	switch (at_ring_follow(at_stream, &f->patience, f->cursor,
			       ktime_get_ns(), AT_RING_PATIENCE_NS, &f->rec,
			       &n)) {
	case AT_RING_STEP_REC:
		f->cursor++;
		at_vm_key_by_id(f->rec.vm_id, key, name, sizeof(name));
		f->len = at_format_rec(f->line, sizeof(f->line), &f->rec, key,
				       name);
		f->off = 0;
		return true;
	case AT_RING_STEP_LOST:
	case AT_RING_STEP_GIVEUP:
		return at_follow_lost(f, n);
	case AT_RING_STEP_WAIT:
		*due_ns = n;
		return false;
	case AT_RING_STEP_IDLE:
		break;
	}
	return false;
}

/*
 * Whether a reader that found nothing at @cursor should look again: head
 * moved past it (it was idle), or the claimed position there was committed
 * or taken by a newer one (it was waiting: a newer one in its slot means
 * first moved past it).
 */
static bool at_follow_moved(u64 cursor, bool waiting)
{
	if (READ_ONCE(at_shutting_down))
		return true;
	if (!waiting)
		return at_ring_head(at_stream) > cursor;
	return at_ring_present(at_stream, cursor) ||
	       at_ring_first(at_stream) > cursor;
}

static ssize_t at_follow_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct at_follower *f = file->private_data;
	size_t done = 0;
	long ret = 0;
	u64 due, cursor;

	if (mutex_lock_interruptible(&f->lock))
		return -ERESTARTSYS;
	while (done < count) {
		if (f->off < f->len) {
			size_t n = min(count - done, f->len - f->off);

			if (copy_to_user(buf + done, f->line + f->off, n)) {
				ret = -EFAULT;
				break;
			}
			f->off += n;
			done += n;
			continue;
		}
		if (at_follow_next(f, &due))
			continue;
		if (done)
			break;
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			break;
		}
		/* sleep until a writer moves things, or the give-up time */
		cursor = f->cursor;
		mutex_unlock(&f->lock);
		ret = wait_event_interruptible_timeout(at_follow_wq,
				at_follow_moved(cursor, due != 0),
				due ? nsecs_to_jiffies(due) + 1 :
				      MAX_SCHEDULE_TIMEOUT);
		if (ret < 0)
			return ret;
		if (READ_ONCE(at_shutting_down))
			return 0;
		if (mutex_lock_interruptible(&f->lock))
			return -ERESTARTSYS;
		ret = 0;
	}
	mutex_unlock(&f->lock);
	return done ?: ret;
}

/*
 * Readable only if read has a line to give (poll fetches it into f->line,
 * where read takes it). A claimed position that is not committed yet is
 * not readable: a writer committing it wakes at_follow_wq, and so does
 * f->due when it is due to be given up, so a poller neither spins nor
 * sleeps for ever on it.
 */
static __poll_t at_follow_poll(struct file *file, poll_table *wait)
{
	struct at_follower *f = file->private_data;
	__poll_t mask = 0;
	u64 due;

	poll_wait(file, &at_follow_wq, wait);
	mutex_lock(&f->lock);
	if (f->off < f->len || at_follow_next(f, &due))
		mask = EPOLLIN | EPOLLRDNORM;
	else if (due)
		schedule_delayed_work(&f->due, nsecs_to_jiffies(due) + 1);
	mutex_unlock(&f->lock);
	return mask;
}

static const struct file_operations at_follow_fops = {
	.owner = THIS_MODULE,
	.open = at_follow_open,
	.read = at_follow_read,
	.poll = at_follow_poll,
	.release = at_follow_release,
};

/* ---------------------------------------------------------------- */
/* Directories                                                      */
/* ---------------------------------------------------------------- */

/*
 * Worker context, at_vm_mutex held. A VM without its directory is still in
 * vms, events and follow: counted (dirs_failed).
 */
void at_debugfs_add_vm(struct at_vm *vm)
{
	vm->dir = debugfs_create_dir(vm->key, at_vm_dir);
	if (IS_ERR(debugfs_create_file("events", 0444, vm->dir, vm, &at_snap_fops)) ||
	    IS_ERR(debugfs_create_file("state", 0444, vm->dir, vm, &at_state_fops)))
		atomic64_inc(&at_stats.dirs_failed);
}

/* Waits for open files' running operations; then @vm may be freed. */
void at_debugfs_remove_vm(struct at_vm *vm)
{
	debugfs_remove_recursive(vm->dir);
	vm->dir = NULL;
}

/* The files are the module's only interface: without one, do not load. */
int at_debugfs_init(void)
{
	static const struct {
		const char *name;
		const struct file_operations *fops;
	} files[] = {
		{ "status", &at_status_fops }, { "reasons", &at_reasons_fops },
		{ "vms", &at_vms_fops }, { "events", &at_snap_fops },
		{ "follow", &at_follow_fops },
	};
	struct dentry *d;
	int i;

	at_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(at_root))
		return PTR_ERR(at_root);
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		d = debugfs_create_file(files[i].name, 0444, at_root, NULL,
					files[i].fops);
		if (IS_ERR(d))
			goto err;
	}
	d = at_vm_dir = debugfs_create_dir("vm", at_root);
	if (IS_ERR(d))
		goto err;
	return 0;

err:
	debugfs_remove_recursive(at_root);
	return PTR_ERR(d);
}

void at_debugfs_exit(void)
{
	WRITE_ONCE(at_shutting_down, true);
	wake_up_all(&at_follow_wq);
	debugfs_remove_recursive(at_root);
}
