// SPDX-License-Identifier: GPL-2.0
/*
 * The kprobes on KVM: what is hooked, how hooks are armed and unwound, and
 * the handlers. Handlers turn KVM's calls into records (vm.c); they run in
 * probe context, never sleep and never allocate; recording an event takes
 * no lock (only registering or retiring a VM does, see vm.c).
 *
 * Nothing here links against kvm.ko: every KVM function is found by name
 * through kprobes, so the module loads on kernels whose KVM exports are
 * restricted to kvm-amd/kvm-intel (7.x), and before or after kvm itself.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "apicv_trace.h"

enum at_hook_state { AT_HOOK_OFF, AT_HOOK_ARMED, AT_HOOK_ABSENT,
		     AT_HOOK_FAILED, AT_HOOK_NA };

static const char *const at_hook_state_names[] = {
	[AT_HOOK_OFF] = "waiting-for-kvm", [AT_HOOK_ARMED] = "armed",
	[AT_HOOK_ABSENT] = "absent", [AT_HOOK_FAILED] = "failed",
	[AT_HOOK_NA] = "n/a",
};

struct at_hook {
	const char *role;		/* what the hook is for (status) */
	const char *base;		/* symbol, or NULL: not on this kernel */
	const char *target;		/* hook_target= override of base */
	bool ret;			/* kretprobe (else kprobe) */
	bool part;			/* prefer a .part.N clone of base */
	size_t data_size;		/* kretprobe per-instance data */
	kprobe_pre_handler_t pre;
	kretprobe_handler_t entry, exit;
	struct kretprobe rp;		/* rp.kp alone for plain kprobes */
	char sym[KSYM_NAME_LEN];	/* what was armed (maybe a clone) */
	char clones[64];		/* unhooked ABI-changing clones seen */
	enum at_hook_state state;
	int err;
	atomic64_t hits;
};

static DEFINE_MUTEX(at_hooks_mutex);
static unsigned int at_gen;		/* kvm load generation */
static struct kvm_vcpu *(*at_running_vcpu)(void);	/* kvm_get_running_vcpu */
static int at_lapic_vcpu_off = -1;	/* see at_lapic_xapic_id() */

unsigned int at_kvm_gen(void)
{
	return READ_ONCE(at_gen);
}
NOKPROBE_SYMBOL(at_kvm_gen);

/* ---------------------------------------------------------------- */
/* In-flight calls, so nested hooks can share what their caller saw. */
/* ---------------------------------------------------------------- */

enum { AT_REQ_REQUEST = 1, AT_REQ_APIC_ID, AT_REQ_INIT };

struct at_req {
	struct task_struct *task;	/* owner, NULL when free */
	const struct kvm *kvm;
	unsigned long site;
	unsigned long asked;		/* APIC ID checks: bits asked to set */
	unsigned char kind, bit;
	bool set;
	bool nested;			/* a hook below this one ran */
};

#define AT_NR_REQS 256
static struct at_req at_reqs[AT_NR_REQS];
/*
 * Entries claimed, per kind: at_req_find() skips the walk when there are
 * none (the common case). A task only looks for entries it claimed
 * itself, so its own increment is always visible to it.
 */
static atomic_t at_reqs_used[AT_REQ_INIT + 1];

static struct at_req *at_req_claim(unsigned char kind)
{
	struct at_req *r;

	for (r = at_reqs; r < at_reqs + AT_NR_REQS; r++) {
		if (READ_ONCE(r->task))
			continue;
		if (cmpxchg(&r->task, NULL, current) == NULL) {
			atomic_inc(&at_reqs_used[kind]);
			r->kind = kind;
			r->nested = false;
			r->asked = 0;
			return r;
		}
	}
	atomic64_inc(&at_stats.reqs_full);
	return NULL;
}
NOKPROBE_SYMBOL(at_req_claim);

static struct at_req *at_req_find(unsigned char kind)
{
	struct at_req *r;

	if (!atomic_read(&at_reqs_used[kind]))
		return NULL;
	for (r = at_reqs; r < at_reqs + AT_NR_REQS; r++)
		if (READ_ONCE(r->task) == current && r->kind == kind)
			return r;
	return NULL;
}
NOKPROBE_SYMBOL(at_req_find);

static void at_req_release(struct at_req *r)
{
	atomic_dec(&at_reqs_used[r->kind]);
	/* Our writes to the entry happen before another task can claim it. */
	smp_store_release(&r->task, NULL);
}
NOKPROBE_SYMBOL(at_req_release);

/* ---------------------------------------------------------------- */
/* Helpers                                                          */
/* ---------------------------------------------------------------- */

/* The return address at function entry: who called the hooked function. */
static unsigned long at_caller(struct pt_regs *regs)
{
	return regs_get_kernel_stack_nth(regs, 0);
}
NOKPROBE_SYMBOL(at_caller);

static bool at_bit_in(unsigned long mask, unsigned int bit)
{
	return bit < BITS_PER_LONG && (mask & BIT(bit));
}
NOKPROBE_SYMBOL(at_bit_in);

/* vCPU id if the event runs on a loaded vCPU of @kvm, else AT_NO_VCPU. */
typedef struct kvm_vcpu *(*at_running_vcpu_fn)(void);

static int at_vcpu_of(const struct kvm *kvm, struct kvm_vcpu **out)
{
	at_running_vcpu_fn fn = READ_ONCE(at_running_vcpu);
	struct kvm_vcpu *vcpu = fn ? fn() : NULL;

	if (!vcpu || READ_ONCE(vcpu->kvm) != kvm)
		vcpu = NULL;
	if (out)
		*out = vcpu;
	return vcpu ? READ_ONCE(vcpu->vcpu_id) : AT_NO_VCPU;
}
NOKPROBE_SYMBOL(at_vcpu_of);

/* Log a request that changed nothing? Clears of clear bits are chatter. */
static bool at_worth_logging(unsigned int res, bool set, unsigned long mask,
			     unsigned int bit)
{
	if (READ_ONCE(at_log_noop))
		return true;
	if (res == AT_RES_NOOP)
		return false;
	return set || (bit < BITS_PER_LONG && (mask & BIT(bit)));
}
NOKPROBE_SYMBOL(at_worth_logging);

static void at_count_result(struct at_vm *vm, unsigned int bit,
			    unsigned int res)
{
	if (bit >= AT_MAX_BITS)
		return;
	if (res == AT_RES_NOOP)
		atomic64_inc(&vm->reason[bit].noops);
	else if (res == AT_RES_FILTERED)
		atomic64_inc(&vm->reason[bit].filtered);
	else if (res == AT_RES_DROPPED)
		atomic64_inc(&vm->reason[bit].dropped);
	else if (res == AT_RES_ABSORBED)
		atomic64_inc(&vm->reason[bit].absorbed);
}
NOKPROBE_SYMBOL(at_count_result);

/* One record for bit @b going from @cur to cur ^ BIT(b); returns the mask. */
static unsigned long at_emit_bit(struct at_vm *vm, const struct at_rec *tmpl,
				 unsigned long cur, unsigned int b,
				 unsigned char flags)
{
	struct at_rec rec = *tmpl;

	rec.bit = b;
	rec.old_mask = cur;
	cur ^= BIT(b);
	rec.new_mask = cur;
	rec.event = (cur & BIT(b)) ? AT_EV_SET : AT_EV_CLEAR;
	rec.result = AT_RES_CHANGED;
	rec.flags |= flags;
	at_account(vm, &rec);
	at_emit(vm, &rec);
	return cur;
}
NOKPROBE_SYMBOL(at_emit_bit);

/*
 * Bring the VM's recorded mask to @new, KVM's mask after a setter call that
 * started from @old. Bits this call changed get one record each, the
 * requested @bit first and then in bit order (7.x recomputes IRQWIN on
 * every call: AT_F_SIDE). Where the recorded mask differs from @old, the
 * mask this call started from, calls we missed (no kretprobe instance was
 * available) changed it: those bits are corrected first, marked
 * AT_F_MISSED, so the aggregates stay exact.
 */
static void at_emit_changes(struct at_vm *vm, const struct at_rec *tmpl,
			    unsigned long old, unsigned long new,
			    unsigned int bit)
{
	unsigned long cur = READ_ONCE(vm->mask);
	unsigned long missed = cur ^ old;	/* @old was read under KVM's lock */
	unsigned long changed;
	unsigned int b;

	for_each_set_bit(b, &missed, BITS_PER_LONG)
		cur = at_emit_bit(vm, tmpl, cur, b, AT_F_MISSED);
	changed = cur ^ new;
	if (bit < BITS_PER_LONG && (changed & BIT(bit))) {
		cur = at_emit_bit(vm, tmpl, cur, bit, 0);
		changed &= ~BIT(bit);
	}
	for_each_set_bit(b, &changed, BITS_PER_LONG)
		cur = at_emit_bit(vm, tmpl, cur, b, AT_F_SIDE);
}
NOKPROBE_SYMBOL(at_emit_changes);

/* ---------------------------------------------------------------- */
/* The setter: every change of the VM-wide mask goes through it.    */
/* ---------------------------------------------------------------- */

struct at_setter_data {
	const struct kvm *kvm;
	unsigned long old, site;
	unsigned int bit;
	bool set;
};

static int at_setter_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_setter_data *d = (void *)ri->data;
	struct at_req *req;
	struct kvm *kvm;

	at_setter_args(regs, &kvm, &d->bit, &d->set);
	d->kvm = kvm;
	d->old = at_kvm_mask(kvm);
	d->site = at_caller(regs);
	/* Called through the locking wrapper: report the wrapper's caller. */
	req = at_req_find(AT_REQ_REQUEST);
	if (req && req->kvm == kvm && req->bit == d->bit) {
		req->nested = true;
		d->site = req->site;
	}
	return 0;
}
NOKPROBE_SYMBOL(at_setter_entry);

static int at_setter_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_setter_data *d = (void *)ri->data;
	unsigned long new = at_kvm_mask(d->kvm);
	struct at_rec tmpl;
	struct at_vm *vm;

	rcu_read_lock();
	vm = at_vm_get_or_adopt(d->kvm, d->old);
	if (!vm)
		goto out;
	at_vm_note_key(vm, d->kvm);
	at_rec_init(&tmpl, d->set ? AT_EV_SET : AT_EV_CLEAR);
	tmpl.vcpu = at_vcpu_of(d->kvm, NULL);
	tmpl.site = d->site;

	if (d->bit < AT_MAX_BITS && !((d->old ^ new) & BIT(d->bit))) {
		/* The requested bit did not move: already so, or filtered. */
		bool is_set = new & BIT(d->bit);

		tmpl.result = is_set == d->set ? AT_RES_NOOP : AT_RES_FILTERED;
		tmpl.bit = d->bit;
		tmpl.old_mask = d->old;
		tmpl.new_mask = d->old;
		at_count_result(vm, d->bit, tmpl.result);
		if (at_worth_logging(tmpl.result, d->set, d->old, d->bit))
			at_emit(vm, &tmpl);
	}
	at_emit_changes(vm, &tmpl, d->old, new, d->bit);
out:
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_setter_exit);

/*
 * A request the setter never saw, with @mask as KVM left it: dropped when
 * APICv is disabled, else @res (filtered, absorbed). Logged if @always or
 * if it is worth it (at_worth_logging()); counted either way.
 */
static void at_emit_unapplied(const struct at_req *req, unsigned long mask,
			      unsigned char res, bool always)
{
	struct at_rec rec;
	struct at_vm *vm;

	rcu_read_lock();
	vm = at_vm_get_or_adopt(req->kvm, mask);
	if (vm) {
		at_vm_note_key(vm, req->kvm);
		at_rec_init(&rec, req->set ? AT_EV_SET : AT_EV_CLEAR);
		rec.vcpu = at_vcpu_of(req->kvm, NULL);
		rec.site = req->site;
		rec.bit = req->bit;
		rec.old_mask = mask;
		rec.new_mask = mask;
		rec.result = at_bit_in(mask, at_reasons.disable_bit) ?
			     AT_RES_DROPPED : res;
		at_count_result(vm, req->bit, rec.result);
		if (always || at_worth_logging(rec.result, req->set, mask,
					       req->bit))
			at_emit(vm, &rec);
	}
	rcu_read_unlock();
}
NOKPROBE_SYMBOL(at_emit_unapplied);

/* ------------------------------------------------------------------- */
/* The request wrapper: sees requests KVM drops (APICv off) or filters. */
/* ------------------------------------------------------------------- */

struct at_request_data {
	struct at_req *req;
	unsigned long old;
};

static int at_request_entry(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct at_request_data *d = (void *)ri->data;
	struct at_req *outer, *req;
	unsigned int bit;
	struct kvm *kvm;
	bool set;

	at_request_args(regs, &kvm, &bit, &set);
	d->old = at_kvm_mask(kvm);
	/* Asked by the hooked xAPIC ID check: it led to an inhibit request. */
	outer = at_req_find(AT_REQ_APIC_ID);
	if (outer && outer->kvm != kvm)
		outer = NULL;
	if (outer) {
		outer->nested = true;
		if (set && bit < BITS_PER_LONG)
			outer->asked |= BIT(bit);
	}
	req = at_req_claim(AT_REQ_REQUEST);
	d->req = req;
	if (!req)
		return 0;
	req->kvm = kvm;
	req->bit = bit;
	req->set = set;
	/*
	 * Asked by an APIC ID check: report who triggered the check (6.1's
	 * check tail-calls us, so our return address is its hijacked one).
	 */
	req->site = outer ? outer->site : at_caller(regs);
	return 0;
}
NOKPROBE_SYMBOL(at_request_entry);

static int at_request_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_request_data *d = (void *)ri->data;
	struct at_req *req = d->req;
	unsigned long mask;

	if (!req)
		return 0;
	if (req->nested)
		goto out;	/* the setter ran and reported it */

	/*
	 * KVM returned before the setter: APICv is disabled (DISABLE is set
	 * at VM creation and never cleared), or the vendor module does not
	 * honour the reason (6.12+ test the mask before the setter).
	 */
	mask = at_kvm_mask(req->kvm);
	if (req->bit < BITS_PER_LONG && ((mask ^ d->old) & BIT(req->bit)) &&
	    !!(mask & BIT(req->bit)) == req->set)
		goto out;	/* the setter ran unseen: its next call resyncs */
	at_emit_unapplied(req, mask, AT_RES_FILTERED, false);
out:
	at_req_release(req);
	return 0;
}
NOKPROBE_SYMBOL(at_request_exit);

/* ---------------------------------------------------------------- */
/* VM lifetime and vCPUs                                            */
/* ---------------------------------------------------------------- */

struct at_kvm_data {
	const struct kvm *kvm;
	unsigned long site;
};

static int at_init_vm_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_kvm_data *d = (void *)ri->data;

	d->kvm = (const struct kvm *)regs->di;
	d->site = at_caller(regs);
	return 0;
}
NOKPROBE_SYMBOL(at_init_vm_entry);

/*
 * kvm_arch_init_vm() returned: KVM set the initial reasons (ABSENT, and
 * DISABLE(D) when APICv is off) directly, without the setter. Record them
 * in the order the kernel applies them (highest bit first).
 */
static int at_init_vm_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_kvm_data *d = (void *)ri->data;
	unsigned long mask, cur = 0, site = d->site;
	struct at_req *req;
	struct at_rec rec;
	struct at_vm *vm;
	int b;

	/* 5.10: kvm_apicv_init() set the reasons; name its caller */
	req = at_req_find(AT_REQ_INIT);
	if (req) {
		if (req->kvm == d->kvm)
			site = req->site;
		at_req_release(req);
	}
	if (regs_return_value(regs))
		return 0;
	mask = at_kvm_mask(d->kvm);
	rcu_read_lock();
	vm = at_vm_create(d->kvm);
	if (!vm) {
		atomic64_inc(&at_stats.untracked);
		goto out;
	}
	at_rec_init(&rec, AT_EV_VM_CREATE);
	rec.site = d->site;
	rec.new_mask = mask;
	at_emit(vm, &rec);
	at_rec_init(&rec, AT_EV_SET);	/* template for the reasons' records */
	rec.site = site;
	for (b = AT_MAX_BITS - 1; b >= 0; b--)
		if (mask & BIT(b))
			cur = at_emit_bit(vm, &rec, cur, b, AT_F_INIT);
out:
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_init_vm_exit);

static int at_destroy_vm_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct kvm *kvm = (const struct kvm *)regs->di;
	struct at_rec rec;
	struct at_vm *vm;

	rcu_read_lock();
	vm = at_vm_lookup(kvm);
	if (vm) {
		at_rec_init(&rec, AT_EV_VM_DESTROY);
		rec.site = at_caller(regs);
		rec.old_mask = at_kvm_mask(kvm);
		rec.new_mask = rec.old_mask;
		at_emit(vm, &rec);
		at_vm_retire(vm, kvm);
	}
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_destroy_vm_pre);

/* kvm_arch_create_vm_debugfs(): KVM's debugfs name for the VM exists. */
static int at_vm_debugfs_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct kvm *kvm = (const struct kvm *)regs->di;
	struct at_vm *vm;

	rcu_read_lock();
	vm = at_vm_lookup(kvm);
	if (vm)
		at_vm_note_key(vm, kvm);
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_vm_debugfs_pre);

/* kvm_arch_vcpu_postcreate(): a safe point to learn the VM's key. */
static int at_vcpu_created_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct kvm_vcpu *vcpu = (const struct kvm_vcpu *)regs->di;
	const struct kvm *kvm = READ_ONCE(vcpu->kvm);
	struct at_vm *vm;

	rcu_read_lock();
	vm = at_vm_get_or_adopt(kvm, at_kvm_mask(kvm));
	if (vm) {
		WRITE_ONCE(vm->nr_vcpus, atomic_read(&kvm->online_vcpus));
		at_vm_note_key(vm, kvm);
	}
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_vcpu_created_pre);

/*
 * 5.10: kvm_apicv_init(kvm, enable), called by the vendor's vm_init inside
 * kvm_arch_init_vm(), sets DISABLE without the setter. Remember who called
 * it; kvm_arch_init_vm()'s return records the initial reasons with it.
 */
static int at_init_reasons_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct at_req *req = at_req_find(AT_REQ_INIT);

	if (!req)
		req = at_req_claim(AT_REQ_INIT);
	if (req) {
		req->kvm = (const struct kvm *)regs->di;
		req->site = at_caller(regs);
	}
	return 0;
}
NOKPROBE_SYMBOL(at_init_reasons_pre);

/* ---------------------------------------------------------------- */
/* 7.2+: the IRQWIN counter (kvm_inc_or_dec_irq_window_inhibit)      */
/* ---------------------------------------------------------------- */

/*
 * svm_enable_irq_window() counts up, svm_inject_irq() down. KVM calls the
 * setter only when the count crosses zero while no other reason is set;
 * otherwise the request is absorbed by the counter (APICv is already
 * inhibited) and the next setter call recomputes IRQWIN lazily (a side
 * change, AT_F_SIDE). Absorbed requests get their own record.
 */
struct at_irq_window_data {
	struct at_req *req;
};

static int at_irq_window_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct at_irq_window_data *d = (void *)ri->data;
	unsigned int bit = READ_ONCE(at_reasons.irqwin_bit);
	struct at_req *req;
	struct kvm *kvm;
	bool inc;

	if (bit == AT_NO_BIT)
		return 1;
	at_irq_window_args(regs, &kvm, &inc);
	req = at_req_claim(AT_REQ_REQUEST);
	if (!req)
		return 1;
	req->kvm = kvm;
	req->bit = bit;
	req->set = inc;
	req->site = at_caller(regs);
	d->req = req;
	return 0;
}
NOKPROBE_SYMBOL(at_irq_window_entry);

static int at_irq_window_exit(struct kretprobe_instance *ri,
			      struct pt_regs *regs)
{
	struct at_irq_window_data *d = (void *)ri->data;
	struct at_req *req = d->req;

	if (!req->nested)	/* else the setter ran and reported it */
		at_emit_unapplied(req, at_kvm_mask(req->kvm), AT_RES_ABSORBED,
				  true);
	at_req_release(req);
	return 0;
}
NOKPROBE_SYMBOL(at_irq_window_exit);

/* ---------------------------------------------------------------- */
/* xAPIC ID check (6.1: kvm_lapic_xapic_id_updated)                  */
/* ---------------------------------------------------------------- */

struct at_apic_data {
	struct at_req *req;
	const struct kvm *kvm;
	unsigned long site;
	int vcpu_id;
	u32 xapic_id;
	bool known;
};

static int at_xapic_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_apic_data *d = (void *)ri->data;
	const void *apic = (const void *)regs->di;
	at_running_vcpu_fn fn;
	struct kvm_vcpu *vcpu;
	struct at_req *req;

	/* The vCPU is loaded for KVM_SET_LAPIC and for guest APIC writes. */
	fn = READ_ONCE(at_running_vcpu);
	vcpu = fn ? fn() : NULL;
	if (!vcpu || READ_ONCE(vcpu->arch.apic) != apic ||
	    !at_vcpu_apic_hw_enabled(vcpu))
		return 1;	/* KVM returns early too: nothing to record */
	req = at_req_claim(AT_REQ_APIC_ID);
	if (!req)
		return 1;
	d->req = req;
	d->kvm = READ_ONCE(vcpu->kvm);
	req->kvm = d->kvm;
	d->site = at_caller(regs);
	req->site = d->site;
	d->vcpu_id = READ_ONCE(vcpu->vcpu_id);
	d->known = at_lapic_xapic_id(apic, vcpu, &at_lapic_vcpu_off,
				     &d->xapic_id);
	return 0;
}
NOKPROBE_SYMBOL(at_xapic_entry);

static int at_xapic_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_apic_data *d = (void *)ri->data;
	bool inhibit = d->req->nested;
	struct at_rec rec;
	struct at_vm *vm;

	at_req_release(d->req);
	rcu_read_lock();
	vm = at_vm_get_or_adopt(d->kvm, at_kvm_mask(d->kvm));
	if (vm) {
		at_rec_init(&rec, AT_EV_APIC_ID);
		rec.bit = at_reasons.apic_id_bit;
		rec.vcpu = d->vcpu_id;
		rec.site = d->site;
		rec.old_mask = at_kvm_mask(d->kvm);
		rec.new_mask = rec.old_mask;
		rec.xapic_id = d->known ? d->xapic_id : U32_MAX;
		if (d->known && d->xapic_id == (u8)d->vcpu_id)
			rec.flags |= AT_F_MATCH;
		if (inhibit)
			rec.flags |= AT_F_INHIBIT;
		at_emit(vm, &rec);
	}
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_xapic_exit);

/* ---------------------------------------------------------------- */
/* Markers: the VMM restores a vCPU's state (reboot, restore)        */
/* ---------------------------------------------------------------- */

static void at_marker(struct kvm_vcpu *vcpu, struct at_rec *rec,
		      struct pt_regs *regs)
{
	struct kvm *kvm = READ_ONCE(vcpu->kvm);
	struct at_vm *vm;

	rcu_read_lock();
	vm = at_vm_get_or_adopt(kvm, at_kvm_mask(kvm));
	if (vm) {
		at_vm_note_key(vm, kvm);
		rec->vcpu = READ_ONCE(vcpu->vcpu_id);
		rec->site = at_caller(regs);
		rec->old_mask = at_kvm_mask(kvm);
		rec->new_mask = rec->old_mask;
		at_emit(vm, rec);
	}
	rcu_read_unlock();
}
NOKPROBE_SYMBOL(at_marker);

/* kvm_apic_set_state(): KVM_SET_LAPIC, a VMM restoring the local APIC. */
static int at_set_lapic_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu = (struct kvm_vcpu *)regs->di;
	struct at_rec rec;
	u32 id;

	at_rec_init(&rec, AT_EV_LAPIC_SET);
	rec.xapic_id = at_lapic_state_id((const void *)regs->si,
					 at_vcpu_x2apic(vcpu), &id) ?
		       id : U32_MAX;
	at_marker(vcpu, &rec, regs);
	return 0;
}
NOKPROBE_SYMBOL(at_set_lapic_pre);

/* The APIC base MSR written by the host (not the guest), to a new value. */
static int at_apic_base_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu;
	struct at_rec rec;
	bool host;
	u64 value;

	if (!at_apic_base_args(regs, &vcpu, &value, &host) || !host ||
	    value == at_vcpu_apic_base(vcpu))
		return 0;
	at_rec_init(&rec, AT_EV_APIC_BASE);
	rec.value = value;
	rec.value_old = at_vcpu_apic_base(vcpu);
	at_marker(vcpu, &rec, regs);
	return 0;
}
NOKPROBE_SYMBOL(at_apic_base_pre);

/* ---------------------------------------------------------------- */
/* APIC map (6.12+: kvm_recalculate_apic_map)                        */
/* ---------------------------------------------------------------- */

/*
 * Every map rebuild re-decides PHYSICAL_ID_ALIASED, LOGICAL_ID_ALIASED and
 * APIC_ID_MODIFIED (the requests nested in it carry the rebuild's caller
 * as site). When it asked to set one of them, the vCPUs behind it are
 * recorded after the set records: each xAPIC-mode vCPU whose xAPIC ID is
 * not (u8)vcpu_id (what KVM compares) or is shared with another vCPU.
 */
#define AT_MAP_MAX_RECS	8

struct at_apic_map_data {
	struct at_req *req;
};

/* The xAPIC ID KVM's map uses for @v, if @v counts (APIC on, xAPIC mode). */
static bool at_map_xapic_id(struct kvm_vcpu *v, u32 *id)
{
	const void *apic;

	if (!v || !at_vcpu_apic_hw_enabled(v) || at_vcpu_x2apic(v))
		return false;
	apic = READ_ONCE(v->arch.apic);
	return apic && at_lapic_xapic_id(apic, v, &at_lapic_vcpu_off, id) &&
	       *id < 256;
}
NOKPROBE_SYMBOL(at_map_xapic_id);

static void at_apic_map_report(struct at_vm *vm, struct kvm *kvm,
			       unsigned long site, unsigned long asked)
{
	DECLARE_BITMAP(seen, 256);
	DECLARE_BITMAP(dup, 256);
	int i, nr = at_kvm_nr_vcpus(kvm), emitted = 0;
	unsigned long mask = at_kvm_mask(kvm);
	struct kvm_vcpu *v;
	struct at_rec rec;
	bool match, alias;
	int vcpu_id;
	u32 id;

	bitmap_zero(seen, 256);
	bitmap_zero(dup, 256);
	for (i = 0; i < nr; i++)
		if (at_map_xapic_id(at_kvm_vcpu(kvm, i), &id) &&
		    __test_and_set_bit(id, seen))
			__set_bit(id, dup);
	for (i = 0; i < nr && emitted < AT_MAP_MAX_RECS; i++) {
		v = at_kvm_vcpu(kvm, i);
		if (!at_map_xapic_id(v, &id))
			continue;
		vcpu_id = READ_ONCE(v->vcpu_id);
		match = id == (u8)vcpu_id;
		alias = test_bit(id, dup);
		if (match && !alias)
			continue;
		at_rec_init(&rec, AT_EV_APIC_ID);
		rec.bit = match ? at_reasons.phys_alias_bit :
				  at_reasons.apic_id_bit;
		rec.vcpu = vcpu_id;
		rec.site = site;
		rec.old_mask = mask;
		rec.new_mask = mask;
		rec.xapic_id = id;
		rec.flags = AT_F_MAP;
		if (match)
			rec.flags |= AT_F_MATCH;
		if (alias)
			rec.flags |= AT_F_ALIAS;
		if (!match && at_bit_in(asked, at_reasons.apic_id_bit))
			rec.flags |= AT_F_INHIBIT;
		at_emit(vm, &rec);
		emitted++;
	}
}
NOKPROBE_SYMBOL(at_apic_map_report);

static int at_apic_map_entry(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct at_apic_map_data *d = (void *)ri->data;
	struct at_req *req = at_req_claim(AT_REQ_APIC_ID);

	if (!req)
		return 1;
	req->kvm = (const struct kvm *)regs->di;
	req->site = at_caller(regs);
	d->req = req;
	return 0;
}
NOKPROBE_SYMBOL(at_apic_map_entry);

static int at_apic_map_exit(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	struct at_apic_map_data *d = (void *)ri->data;
	struct at_req *req = d->req;
	struct kvm *kvm = (struct kvm *)req->kvm;
	unsigned long asked = req->asked, site = req->site;
	struct at_vm *vm;

	at_req_release(req);
	if (!(asked & READ_ONCE(at_reasons.apic_map_bits)))
		return 0;
	rcu_read_lock();
	vm = at_vm_get_or_adopt(kvm, at_kvm_mask(kvm));
	if (vm)
		at_apic_map_report(vm, kvm, site, asked);
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_apic_map_exit);

/* ---------------------------------------------------------------- */
/* The hook table                                                   */
/* ---------------------------------------------------------------- */

/*
 * Armed in this order, unwound in reverse. VM creation is armed last and
 * unwound first: a VM whose creation was recorded always has its
 * destruction hooked too (a VM created while the others arm is adopted at
 * its first event instead). The request wrapper is armed before the
 * setter, so a setter call nested in a request finds the request's site.
 */
enum {
	AT_H_DESTROY_VM, AT_H_VM_DEBUGFS, AT_H_INIT_REASONS, AT_H_VCPU,
	AT_H_REQUEST, AT_H_IRQ_WINDOW, AT_H_SETTER, AT_H_XAPIC_ID,
	AT_H_APIC_MAP, AT_H_SET_LAPIC, AT_H_APIC_BASE, AT_H_INIT_VM,
	AT_NR_HOOKS
};

static struct at_hook at_hooks[AT_NR_HOOKS] = {
	[AT_H_INIT_VM] = {
		.role = "vm_create", .base = AT_SYM_INIT_VM, .ret = true,
		.data_size = sizeof(struct at_kvm_data),
		.entry = at_init_vm_entry, .exit = at_init_vm_exit,
	},
	[AT_H_DESTROY_VM] = {
		.role = "vm_destroy", .base = AT_SYM_DESTROY_VM,
		.pre = at_destroy_vm_pre,
	},
	[AT_H_VM_DEBUGFS] = {
		.role = "vm_key", .base = AT_SYM_VM_DEBUGFS,
		.pre = at_vm_debugfs_pre,
	},
	[AT_H_INIT_REASONS] = {
		.role = "init_reasons", .base = AT_SYM_INIT_REASONS,
		.pre = at_init_reasons_pre,
	},
	[AT_H_VCPU] = {
		.role = "vcpu_create", .base = AT_SYM_VCPU_CREATED,
		.pre = at_vcpu_created_pre,
	},
	[AT_H_SETTER] = {
		.role = "setter", .base = AT_SYM_SETTER, .ret = true,
		.part = true,
		.data_size = sizeof(struct at_setter_data),
		.entry = at_setter_entry, .exit = at_setter_exit,
	},
	[AT_H_REQUEST] = {
		.role = "request", .base = AT_SYM_REQUEST, .ret = true,
		.data_size = sizeof(struct at_request_data),
		.entry = at_request_entry, .exit = at_request_exit,
	},
	[AT_H_IRQ_WINDOW] = {
		.role = "irq_window", .base = AT_SYM_IRQ_WINDOW, .ret = true,
		.data_size = sizeof(struct at_irq_window_data),
		.entry = at_irq_window_entry, .exit = at_irq_window_exit,
	},
	[AT_H_XAPIC_ID] = {
		.role = "apic_id", .base = AT_SYM_XAPIC_ID, .ret = true,
		.data_size = sizeof(struct at_apic_data),
		.entry = at_xapic_entry, .exit = at_xapic_exit,
	},
	[AT_H_APIC_MAP] = {
		.role = "apic_map", .base = AT_SYM_APIC_MAP, .ret = true,
		.data_size = sizeof(struct at_apic_map_data),
		.entry = at_apic_map_entry, .exit = at_apic_map_exit,
	},
	[AT_H_SET_LAPIC] = {
		.role = "lapic_set", .base = AT_SYM_SET_LAPIC,
		.pre = at_set_lapic_pre,
	},
	[AT_H_APIC_BASE] = {
		.role = "apic_base", .base = AT_SYM_APIC_BASE,
		.pre = at_apic_base_pre,
	},
};

/*
 * hook_target=ROLE=SYMBOL[,ROLE=SYMBOL...] (load time): hook SYMBOL in
 * place of ROLE's function, exactly as named. For a kernel that renamed a
 * function, and to test what happens when a target is missing.
 */
#define AT_TARGET_MAX	256
#define AT_TARGET_SYM	128
static char at_target_param[AT_TARGET_MAX];
static char at_target_sym[AT_NR_HOOKS][AT_TARGET_SYM];

static int at_target_one(char *item, bool apply)
{
	char *sym = strchr(item, '=');
	size_t len;
	int i, c;

	if (!sym) {
		pr_err("hook_target: '%s' is not ROLE=SYMBOL\n", item);
		return -EINVAL;
	}
	*sym++ = '\0';
	len = strlen(sym);
	if (!len || len >= AT_TARGET_SYM) {
		pr_err("hook_target: %s: symbol must be 1..%d characters\n",
		       item, AT_TARGET_SYM - 1);
		return -EINVAL;
	}
	for (c = 0; c < len; c++) {
		if (!isalnum(sym[c]) && sym[c] != '_' && sym[c] != '.') {
			pr_err("hook_target: %s: symbol has a character other than [A-Za-z0-9_.]\n",
			       item);
			return -EINVAL;
		}
	}
	for (i = 0; i < AT_NR_HOOKS; i++) {
		if (strcmp(item, at_hooks[i].role))
			continue;
		if (apply) {
			strscpy(at_target_sym[i], sym, AT_TARGET_SYM);
			at_hooks[i].target = at_target_sym[i];
		}
		return 0;
	}
	pr_err("hook_target: no hook role '%s' (see status: hook=)\n", item);
	return -EINVAL;
}

/* Checks every item first (pass 0): a bad value changes nothing. */
static int at_set_hook_target(const char *val, const struct kernel_param *kp)
{
	char buf[AT_TARGET_MAX], *p, *item;
	int pass, ret, i;

	if (strlen(val) >= sizeof(buf)) {
		pr_err("hook_target: longer than %d characters\n", AT_TARGET_MAX - 1);
		return -EINVAL;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; pass && i < AT_NR_HOOKS; i++)
			at_hooks[i].target = NULL;
		strscpy(buf, val, sizeof(buf));
		p = strim(buf);
		while ((item = strsep(&p, ",")) != NULL) {
			ret = at_target_one(item, pass);
			if (ret)
				return ret;
		}
	}
	strscpy(buf, val, sizeof(buf));
	strscpy(at_target_param, strim(buf), sizeof(at_target_param));
	return 0;
}

static const struct kernel_param_ops at_hook_target_ops = {
	.set = at_set_hook_target,
	.get = param_get_string,
};

static struct kparam_string at_target_kps = {
	.maxlen = sizeof(at_target_param), .string = at_target_param,
};
module_param_cb(hook_target, &at_hook_target_ops, &at_target_kps, 0444);
MODULE_PARM_DESC(hook_target, "ROLE=SYMBOL[,...]: hook SYMBOL instead of ROLE's function (load time)");

/*
 * Compiler clones. GCC's partial inlining leaves "<f>" as a stub around
 * "<f>.part.N" with the same arguments, and callers in the same file jump
 * straight into the clone (Debian 6.12's setter): a hook that opts in
 * (.part) is placed on the .part clone when there is one, never on both.
 * .isra and .constprop clones drop or rewrite arguments, so they are not
 * hooked; when one exists, calls through it are invisible to the hook, and
 * status says so (clones=).
 */
static const char *const at_part_suffixes[] = {
	".part.0", ".part.1", ".part.2", ".part.3",
};

static const char *const at_abi_clone_suffixes[] = {
	".isra.0", ".isra.1", ".constprop.0", ".constprop.1",
	".constprop.0.isra.0",
};

static int at_hook_register(struct at_hook *h, const char *suffix)
{
	memset(&h->rp, 0, sizeof(h->rp));
	snprintf(h->sym, sizeof(h->sym), "%s%s", h->target ?: h->base, suffix);
	h->rp.kp.symbol_name = h->sym;
	if (!h->ret) {
		h->rp.kp.pre_handler = h->pre;
		return register_kprobe(&h->rp.kp);
	}
	h->rp.entry_handler = h->entry;
	h->rp.handler = h->exit;
	h->rp.data_size = h->data_size;
	h->rp.maxactive = max_t(int, 64, 4 * num_possible_cpus());
	return register_kretprobe(&h->rp);
}

/*
 * Look-ups register a disabled kprobe: it is resolved and checked but
 * never armed, so unregistering it has nothing to disarm and cannot fail
 * (a failed disarm would leave this stack variable in kprobes' table).
 */
#define AT_LOOKUP_KPROBE(name) \
	{ .symbol_name = (name), .flags = KPROBE_FLAG_DISABLED }

/* Does @name exist as a probe-able function? (cheap when it does not) */
static bool at_symbol_exists(const char *name)
{
	struct kprobe kp = AT_LOOKUP_KPROBE(name);

	if (register_kprobe(&kp))
		return false;
	unregister_kprobe(&kp);
	return true;
}

/* Note the .isra/.constprop clones of h->base that exist. */
static void at_hook_find_clones(struct at_hook *h)
{
	char name[KSYM_NAME_LEN];
	int i;

	h->clones[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(at_abi_clone_suffixes); i++) {
		snprintf(name, sizeof(name), "%s%s", h->base,
			 at_abi_clone_suffixes[i]);
		if (!at_symbol_exists(name))
			continue;
		if (h->clones[0])
			strlcat(h->clones, ",", sizeof(h->clones));
		strlcat(h->clones, name, sizeof(h->clones));
	}
}

static void at_hook_arm(struct at_hook *h)
{
	int i, ret = -ENOENT;

	if (h->state == AT_HOOK_ARMED)
		return;
	if (!h->base) {
		if (h->target)
			pr_warn("hook_target: %s has no function on this kernel; %s not hooked\n",
				h->role, h->target);
		h->state = AT_HOOK_NA;
		return;
	}
	if (h->target) {	/* exactly the symbol the admin named */
		ret = at_hook_register(h, "");
		goto out;
	}
	for (i = 0; h->part && i < ARRAY_SIZE(at_part_suffixes); i++) {
		ret = at_hook_register(h, at_part_suffixes[i]);
		if (ret != -ENOENT)
			break;
	}
	if (ret == -ENOENT)
		ret = at_hook_register(h, "");
out:
	at_hook_find_clones(h);
	h->err = ret;
	if (!ret) {
		h->state = AT_HOOK_ARMED;
		pr_debug("armed %s at %s\n", h->role, h->sym);
		return;
	}
	h->state = ret == -ENOENT ? AT_HOOK_ABSENT : AT_HOOK_FAILED;
	strscpy(h->sym, h->target ?: h->base, sizeof(h->sym));
	if (h->state == AT_HOOK_FAILED || h->target)
		pr_warn("cannot hook %s (%s): %d\n", h->sym, h->role, ret);
}

static unsigned long at_hook_nmissed(const struct at_hook *h)
{
	return h->ret ? h->rp.nmissed + h->rp.kp.nmissed : h->rp.kp.nmissed;
}

/*
 * unregister_*probe() cannot report failure, but disarming a probe can fail
 * (an ftrace filter update allocates): the probe would then stay in kprobes'
 * table, armed, pointing into this module after it is gone. Disable it
 * first, until that stops failing for memory; unregistering a disabled
 * probe only unlinks it.
 */
static void at_hook_disable(struct at_hook *h)
{
	unsigned int tries;
	int ret;

	for (tries = 1; (ret = disable_kprobe(&h->rp.kp)) == -ENOMEM; tries++) {
		if (tries % 100 == 1)
			pr_warn("%s (%s): disabling failed (%d), retrying\n",
				h->role, h->sym, ret);
		msleep(20);
	}
	if (ret)
		pr_warn("%s (%s): cannot disable: %d\n", h->role, h->sym, ret);
}

static void at_hook_disarm(struct at_hook *h)
{
	if (h->state != AT_HOOK_ARMED)
		return;
	at_hook_disable(h);
	if (h->ret)
		unregister_kretprobe(&h->rp);
	else
		unregister_kprobe(&h->rp.kp);
	if (at_hook_nmissed(h))
		pr_info("%s (%s): %lu missed\n", h->role, h->sym,
			at_hook_nmissed(h));
	h->state = AT_HOOK_OFF;
}

/*
 * Find a function's address by planting and removing a kprobe on it. On
 * IBT kernels kprobes moves the probe past the function's ENDBR64; an
 * indirect call must land on the ENDBR, so step back over it.
 */
static void *at_resolve(const char *name)
{
	static const u8 endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	struct kprobe kp = AT_LOOKUP_KPROBE(name);
	u8 insn[4];
	u8 *addr;

	if (register_kprobe(&kp))
		return NULL;
	addr = (u8 *)kp.addr;
	unregister_kprobe(&kp);
	if (!copy_from_kernel_nofault(insn, addr - 4, 4) &&
	    !memcmp(insn, endbr64, 4))
		addr -= 4;
	return addr;
}

/* Caller holds at_hooks_mutex. */
static int at_arm_all(void)
{
	int i;

	/* kvm is loaded when its VM constructor is (whatever hook_target says) */
	if (!at_symbol_exists(AT_SYM_INIT_VM))
		return -ENODEV;
	at_reasons_from_kernel();
	WRITE_ONCE(at_running_vcpu, at_resolve(AT_SYM_RUNNING_VCPU));
	for (i = 0; i < AT_NR_HOOKS; i++)
		at_hook_arm(&at_hooks[i]);
	/*
	 * A hook that is missing (a renamed function, a new kernel) loses
	 * what it alone sees, not the rest: status says which (coverage=).
	 */
	if (at_hooks[AT_H_SETTER].state != AT_HOOK_ARMED)
		pr_warn("no inhibit setter hooked (%s: %d): inhibit changes are not traced\n",
			at_hooks[AT_H_SETTER].sym, at_hooks[AT_H_SETTER].err);
	else
		pr_info("tracing KVM APICv inhibits via %s\n",
			at_hooks[AT_H_SETTER].sym);
	return 0;
}

static void at_disarm_all(void)
{
	int i;

	for (i = AT_NR_HOOKS - 1; i >= 0; i--) {
		at_hook_disarm(&at_hooks[i]);
		if (at_hooks[i].state != AT_HOOK_NA)
			at_hooks[i].state = AT_HOOK_OFF;
	}
	WRITE_ONCE(at_running_vcpu, NULL);
	/* unregister_*probe() waited for running handlers to finish */
	memset(at_reqs, 0, sizeof(at_reqs));
	memset(at_reqs_used, 0, sizeof(at_reqs_used));
}

/*
 * False when kvm is there but its setter could not be hooked: a VM's mask
 * is then only what it started with.
 */
bool at_hooks_see_inhibits(void)
{
	enum at_hook_state st = READ_ONCE(at_hooks[AT_H_SETTER].state);

	return st != AT_HOOK_ABSENT && st != AT_HOOK_FAILED;
}

unsigned long at_hooks_armed(void)
{
	unsigned long armed = 0;
	int i;

	for (i = 0; i < AT_NR_HOOKS; i++)
		if (at_hooks[i].state == AT_HOOK_ARMED)
			armed |= BIT(i);
	return armed;
}

/* coverage=full|partial|waiting, then the roles lost to absent/failed hooks */
static void at_coverage_show(struct seq_file *m)
{
	static const enum at_hook_state lost[] = { AT_HOOK_ABSENT, AT_HOOK_FAILED };
	static const char *const key[] = { "absent", "failed" };
	bool full = true, first;
	int i, k;

	for (i = 0; i < AT_NR_HOOKS; i++)
		if (at_hooks[i].state == AT_HOOK_ABSENT ||
		    at_hooks[i].state == AT_HOOK_FAILED)
			full = false;
	seq_printf(m, "coverage=%s", !at_hooks_armed() ? "waiting" :
		   full ? "full" : "partial");
	for (k = 0; k < ARRAY_SIZE(lost); k++) {
		first = true;
		for (i = 0; i < AT_NR_HOOKS; i++) {
			if (at_hooks[i].state != lost[k])
				continue;
			if (first)
				seq_printf(m, " %s=", key[k]);
			else
				seq_putc(m, ',');
			seq_puts(m, at_hooks[i].role);
			first = false;
		}
	}
	seq_putc(m, '\n');
}

void at_hooks_show(struct seq_file *m)
{
	int i;

	mutex_lock(&at_hooks_mutex);
	for (i = 0; i < AT_NR_HOOKS; i++) {
		const struct at_hook *h = &at_hooks[i];

		seq_printf(m, "hook=%s symbol=%s kind=%s state=%s nmissed=%lu",
			   h->role, h->base ? h->sym : "-",
			   h->ret ? "kretprobe" : "kprobe",
			   at_hook_state_names[h->state], at_hook_nmissed(h));
		if (h->state == AT_HOOK_FAILED)
			seq_printf(m, " error=%d", h->err);
		if (h->clones[0])
			seq_printf(m, " clones=%s", h->clones);
		seq_putc(m, '\n');
	}
	at_coverage_show(m);
	seq_printf(m, "running_vcpu=%s reqs_full=%lld\n",
		   READ_ONCE(at_running_vcpu) ? "resolved" : "unresolved",
		   atomic64_read(&at_stats.reqs_full));
	mutex_unlock(&at_hooks_mutex);
}

/*
 * Re-arm when kvm comes back; unwind before it goes. A KVM module going
 * away also ends the generation of recorded call sites: its addresses may
 * be reused, so older sites print as "?".
 */
static int at_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	static bool vendor_live;	/* a vendor module went live */
	struct module *mod = data;
	bool kvm = !strcmp(mod->name, "kvm");

	if (!kvm && strcmp(mod->name, "kvm_amd") && strcmp(mod->name, "kvm_intel"))
		return NOTIFY_DONE;
	mutex_lock(&at_hooks_mutex);
	if (action == MODULE_STATE_GOING) {
		/* a vendor module whose init failed never ran our sites */
		if (kvm || vendor_live)
			WRITE_ONCE(at_gen, at_gen + 1);
		if (kvm)
			at_disarm_all();
		else
			vendor_live = false;
	} else if (action == MODULE_STATE_LIVE) {
		if (!kvm)
			vendor_live = true;
		else if (at_arm_all())
			at_disarm_all();	/* all or nothing, as at load */
	}
	mutex_unlock(&at_hooks_mutex);
	return NOTIFY_OK;
}

static struct notifier_block at_module_nb = {
	.notifier_call = at_module_notify,
};

int at_hooks_init(void)
{
	int ret;

	ret = register_module_notifier(&at_module_nb);
	if (ret)
		return ret;
	mutex_lock(&at_hooks_mutex);
	ret = at_arm_all();
	if (ret == -ENODEV) {
		at_disarm_all();	/* kvm not loaded yet: wait for it */
		pr_info("kvm is not loaded; hooks arm when it is\n");
		ret = 0;
	} else if (ret) {
		at_disarm_all();
	}
	mutex_unlock(&at_hooks_mutex);
	if (ret)
		unregister_module_notifier(&at_module_nb);
	return ret;
}

void at_hooks_exit(void)
{
	unregister_module_notifier(&at_module_nb);
	mutex_lock(&at_hooks_mutex);
	at_disarm_all();
	mutex_unlock(&at_hooks_mutex);
}
