// SPDX-License-Identifier: GPL-2.0
/*
 * The handlers of the kprobes on KVM, and the hook table that says which
 * function each one watches (probes.c arms it). Handlers turn KVM's calls
 * into records, one call to vm.c per record; they run in probe context,
 * never sleep and never allocate; recording an event takes no lock (only
 * registering or retiring a VM does, see vm.c). Hooks nested in one call
 * of KVM share what they saw through a table of calls in flight.
 *
 * Nothing here links against kvm.ko: every KVM function is found by name
 * through kprobes, so the module loads on kernels whose KVM exports are
 * restricted to kvm-amd/kvm-intel (7.x), and before or after kvm itself.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "apicv_trace.h"
#include "prof.h"
#include "account.h"

static at_running_vcpu_fn at_running_vcpu;	/* kvm_get_running_vcpu */
static int at_lapic_vcpu_off = -1;	/* see at_lapic_xapic_id() */

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
	unsigned char hook;		/* enum at_hook_id of the claimer */
	bool set;
	bool nested;			/* a hook below this one ran */
};

/*
 * One entry per task inside a hooked call that can sleep on KVM's locks
 * (the request wrapper, the APIC map rebuild, the IRQ-window counter):
 * sized like their kretprobe instances (at_hooks_slots()), from the CPUs
 * and the vCPUs a VM may have, since each vCPU thread can be asleep in
 * one of them. A full table costs the nesting information of one call
 * and is counted (reqs_full), never more.
 */
static struct at_req *at_reqs;
static unsigned int at_nr_reqs;
/*
 * Entries claimed, per kind: at_req_find() skips the walk when there are
 * none (the common case). A task only looks for entries it claimed
 * itself, so its own increment is always visible to it.
 */
static atomic_t at_reqs_used[AT_REQ_INIT + 1];

static struct at_req __kprobes *at_req_claim(unsigned char kind, unsigned char hook)
{
	struct at_req *r;

	for (r = at_reqs; r < at_reqs + at_nr_reqs; r++) {
		if (READ_ONCE(r->task))
			continue;
		if (cmpxchg(&r->task, NULL, current) == NULL) {
			atomic_inc(&at_reqs_used[kind]);
			r->kind = kind;
			r->hook = hook;
			r->nested = false;
			r->asked = 0;
			return r;
		}
	}
	atomic64_inc(&at_stats.reqs_full);
	return NULL;
}
NOKPROBE_SYMBOL(at_req_claim);

static struct at_req __kprobes *at_req_find(unsigned char kind)
{
	struct at_req *r;

	if (!atomic_read(&at_reqs_used[kind]))
		return NULL;
	for (r = at_reqs; r < at_reqs + at_nr_reqs; r++)
		if (READ_ONCE(r->task) == current && r->kind == kind)
			return r;
	return NULL;
}
NOKPROBE_SYMBOL(at_req_find);

static void __kprobes at_req_release(struct at_req *r)
{
	atomic_dec(&at_reqs_used[r->kind]);
	/* Our writes to the entry happen before another task can claim it. */
	smp_store_release(&r->task, NULL);
}
NOKPROBE_SYMBOL(at_req_release);

/* ---------------------------------------------------------------- */
/* Probation: hooks not on their function's own name                 */
/* ---------------------------------------------------------------- */

/*
 * A hook armed on another symbol than its function's own name (a .part.N
 * clone, picked by probes.c or named by hook_target=) may see another
 * argument layout: a compiler's clone can drop or reorder arguments. Its
 * first AT_PROBATION_HITS calls are checked before any argument is used,
 * with fault-tolerant reads only: the VM is one the module tracks or one
 * whose user count and inhibit mask can be read, a reason is below 64 and
 * a boolean is 0 or 1. The first mismatch refuses the hook: its handlers
 * do nothing from then on, and the worker has probes.c disarm it in
 * process context, which warns once and shows why in status.
 */
#define AT_PROBATION_HITS	16
#define AT_REFUSED		(-1)

static atomic_t at_probation[AT_NR_HOOKS];	/* calls left to check; 0: trusted */
static const char *at_refusal[AT_NR_HOOKS];	/* why it was refused, set once */

/*
 * The argument layout of the function each hook is armed on, and whether
 * the setter found runs without KVM's lock (reasons.h, at_cand): set by
 * probes.c before the hook is registered (at_hooks_bind()).
 */
static enum at_layout at_layout[AT_NR_HOOKS];
static const struct at_cand *at_setter_cand;
static bool at_setter_lockless;

static __always_inline enum at_layout at_hook_layout(unsigned int id)
{
	return READ_ONCE(at_layout[id]);
}

static bool __kprobes at_kvm_plausible(const struct kvm *kvm)
{
	unsigned long mask;
	bool tracked;
	int users;

	rcu_read_lock();
	tracked = at_vm_lookup(kvm);
	rcu_read_unlock();
	if (tracked)
		return true;
	if (get_kernel_nofault(users, &kvm->users_count.refs.counter) ||
	    get_kernel_nofault(mask, &kvm->arch.apicv_inhibit_reasons))
		return false;
	return users >= 0 && users < (1 << 24);
}
NOKPROBE_SYMBOL(at_kvm_plausible);

static void __kprobes at_refuse(unsigned int id, const char *why)
{
	if (cmpxchg(&at_refusal[id], NULL, why) == NULL) {
		atomic_set(&at_probation[id], AT_REFUSED);
		at_vm_kick();	/* the worker has probes.c disarm it */
	}
}
NOKPROBE_SYMBOL(at_refuse);

/* at_args_trusted() for a hook on probation (@left calls still to check) */
static bool __kprobes at_args_check(unsigned int id, struct pt_regs *regs, int left)
{
	unsigned int first = id == AT_H_SETTER ? AT_SETTER_FIRST_ARG : 0;
	const char *why = NULL;
	struct kvm *kvm = NULL;

	if (left < 0)
		return false;
	switch (at_hooks[id].args) {
	case AT_ARGS_APIC:	/* checked against the running vCPU's own */
		break;
	case AT_ARGS_VCPU:
		if (get_kernel_nofault(kvm, &at_vcpu_arg(regs)->kvm))
			why = "vcpu-unreadable";
		break;
	default:
		kvm = (struct kvm *)at_arg(regs, first);
		break;
	}
	if (!why && at_hooks[id].args != AT_ARGS_APIC &&
	    (!kvm || !at_kvm_plausible(kvm)))
		why = "not-a-vm";
	if (!why && at_hooks[id].args == AT_ARGS_KVM_REASON &&
	    !at_kvm_reason_plausible(regs, first, at_hook_layout(id)))
		why = "reason-or-bool-out-of-range";
	if (!why && at_hooks[id].args == AT_ARGS_KVM_BOOL &&
	    !at_bool_arg_plausible(regs, 1))
		why = "bool-out-of-range";
	if (why) {
		at_refuse(id, why);
		return false;
	}
	atomic_dec_if_positive(&at_probation[id]);
	return true;
}
NOKPROBE_SYMBOL(at_args_check);

/*
 * May the handler of hook @id use its arguments? Checks them on probation.
 * Inline: a trusted hook (the usual case) pays one read, no call.
 */
static __always_inline bool at_args_trusted(unsigned int id,
					    struct pt_regs *regs)
{
	int left = atomic_read(&at_probation[id]);

	return likely(!left) || at_args_check(id, regs, left);
}

/*
 * probes.c, before arming hook @id on candidate @c (NULL: the role's one
 * function): how its arguments are read.
 */
void at_hooks_bind(unsigned int id, const struct at_cand *c)
{
	WRITE_ONCE(at_layout[id], c ? c->layout : AT_L_FIXED);
	if (id != AT_H_SETTER)
		return;
	WRITE_ONCE(at_setter_cand, c);
	WRITE_ONCE(at_setter_lockless, c && (c->flags & AT_C_LOCKLESS));
}

/* probes.c, before arming hook @id: on probation or trusted, not refused. */
void at_hooks_probation(unsigned int id, bool on)
{
	WRITE_ONCE(at_refusal[id], NULL);
	atomic_set(&at_probation[id], on ? AT_PROBATION_HITS : 0);
}

/*
 * Hook @id was unregistered alone (refused) while the others stay armed:
 * the return handlers of its calls in flight will never run, so the
 * entries they claimed are released here. Process context, after the
 * unregistration (no handler of @id runs any more).
 */
void at_hooks_release_claims(unsigned int id)
{
	struct at_req *r;

	for (r = at_reqs; r < at_reqs + at_nr_reqs; r++)
		if (READ_ONCE(r->task) && r->hook == id)
			at_req_release(r);
}

/* Why hook @id was refused, or NULL. */
const char *at_hook_refusal(unsigned int id)
{
	return READ_ONCE(at_refusal[id]);
}

/* ---------------------------------------------------------------- */
/* Helpers                                                          */
/* ---------------------------------------------------------------- */

/* vCPU id if the event runs on a loaded vCPU of @kvm, else AT_NO_VCPU. */
static int __kprobes at_vcpu_of(const struct kvm *kvm, struct kvm_vcpu **out)
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

/*
 * One record for bit @b going from @cur to cur ^ BIT(b); returns the mask.
 * Written in @tmpl itself (no copy of it on the probe's path): the fields
 * of the change are set for each record, and its flags are given back.
 */
static unsigned long __kprobes at_emit_bit(struct at_vm *vm, struct at_rec *tmpl,
					   unsigned long cur, unsigned int b,
					   unsigned char flags)
{
	unsigned char was = tmpl->flags;

	tmpl->bit = b;
	tmpl->old_mask = cur;
	cur ^= BIT(b);
	tmpl->new_mask = cur;
	tmpl->event = (cur & BIT(b)) ? AT_EV_SET : AT_EV_CLEAR;
	tmpl->result = AT_RES_CHANGED;
	tmpl->flags = was | flags;
	at_vm_record(vm, tmpl);
	tmpl->flags = was;
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
static void __kprobes at_emit_changes(struct at_vm *vm, struct at_rec *tmpl,
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

/*
 * What one setter call did to @vm, KVM's mask going from @old to @new
 * (@tmpl: the call's record, filled but for the change): a request that
 * moved nothing is counted (noop or filtered), then every bit that
 * changed gets its record (at_emit_changes()).
 */
static void __kprobes at_setter_report(struct at_vm *vm, struct at_rec *tmpl,
				       unsigned long old, unsigned long new,
				       unsigned int bit, bool set)
{
	u64 t0;

	if (bit < BITS_PER_LONG && !((old ^ new) & BIT(bit))) {
		/* The requested bit did not move: already so, or filtered. */
		tmpl->result = !!(new & BIT(bit)) == set ? AT_RES_NOOP :
							  AT_RES_FILTERED;
		tmpl->bit = bit;
		tmpl->old_mask = old;
		tmpl->new_mask = old;
		at_vm_record_request(vm, tmpl);
	}
	t0 = at_prof_start();
	at_emit_changes(vm, tmpl, old, new, bit);
	at_prof_end(AT_P_SET_EMIT, t0);
}
NOKPROBE_SYMBOL(at_setter_report);

/*
 * Who asked for a setter call: the caller of the setter, or, when it was
 * called through the locking wrapper for the same request, the wrapper's
 * caller (the wrapper's request is then marked nested: it reports no
 * record of its own).
 */
static __always_inline unsigned long at_setter_site(struct pt_regs *regs,
						    const struct kvm *kvm,
						    unsigned int bit)
{
	struct at_req *req = at_req_find(AT_REQ_REQUEST);

	if (req && req->kvm == kvm && req->bit == bit) {
		req->nested = true;
		return req->site;
	}
	return at_caller(regs);
}

/* A setter call's record, filled but for the change (at_setter_report()). */
static __always_inline void at_setter_tmpl(struct at_vm *vm,
					   struct at_rec *tmpl,
					   const struct kvm *kvm, bool set,
					   unsigned long site)
{
	u64 t0;

	t0 = at_prof_start();
	at_vm_note_key(vm, kvm);
	at_prof_end(AT_P_SET_KEY, t0);
	t0 = at_prof_start();
	at_rec_init(tmpl, set ? AT_EV_SET : AT_EV_CLEAR);
	at_prof_end(AT_P_SET_REC, t0);
	t0 = at_prof_start();
	tmpl->vcpu = at_vcpu_of(kvm, NULL);
	at_prof_end(AT_P_SET_VCPU, t0);
	tmpl->site = site;
}

struct at_setter_data {
	const struct kvm *kvm;
	unsigned long old, site;
	u64 entry_ns;
	unsigned int bit, vm_id;	/* vm_id: counted in its in_flight */
	bool set;
};

static int __kprobes at_setter_entry_body(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_setter_data *d = (void *)ri->data;
	struct kvm *kvm;

	if (!at_args_trusted(AT_H_SETTER, regs))
		return 1;
	at_setter_args(regs, at_hook_layout(AT_H_SETTER), &kvm, &d->bit,
		       &d->set);
	d->kvm = kvm;
	d->entry_ns = at_now();
	d->old = at_kvm_mask(kvm);
	d->site = at_setter_site(regs, kvm, d->bit);
	d->vm_id = 0;
	if (READ_ONCE(at_setter_lockless)) {
		struct at_vm *vm;

		/*
		 * Counted before KVM's cmpxchg (account.h). Adopted here if
		 * need be, so every call the hook sees is counted.
		 */
		rcu_read_lock();
		vm = at_vm_get_or_adopt(kvm, d->old);
		if (vm) {
			atomic_inc(&vm->in_flight);
			smp_mb__after_atomic();
			d->vm_id = vm->id;
		}
		rcu_read_unlock();
	}
	return 0;
}
NOKPROBE_SYMBOL(at_setter_entry_body);

/* the handler, timed in the test build (prof.h) */
static int __kprobes at_setter_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	u64 t0 = at_prof_start();
	int ret = at_setter_entry_body(ri, regs);

	at_prof_end(AT_P_SET_ENTRY, t0);
	return ret;
}
NOKPROBE_SYMBOL(at_setter_entry);

/*
 * 5.10: the setter takes no lock and runs on many vCPU threads at once, so
 * return handlers of one VM race. They account one at a time under the
 * VM's acct_lock (taken here only, never across KVM's call, which waits
 * for IPIs), and what each records is derived from the mask recorded so
 * far, KVM's mask now and whether other calls are in flight: the argument
 * is in module/account.h, its userspace model in tests/compat.
 */
static void __kprobes at_setter_exit_lockless(struct at_vm *vm,
					      const struct at_setter_data *d,
					      struct at_rec *tmpl)
{
	struct at_lockless_out out;
	unsigned long flags, now, cur;
	unsigned int in_flight, b;

	raw_spin_lock_irqsave(&vm->acct_lock, flags);
	tmpl->ns = at_now();	/* accounting times grow under the lock */
	now = at_kvm_mask(d->kvm);
	smp_rmb();	/* KVM's mask before the count: account.h */
	in_flight = d->vm_id == vm->id ? atomic_read(&vm->in_flight) : 0;
	cur = READ_ONCE(vm->mask);
	at_lockless_step(cur, now, d->bit, d->set, at_vendor_honours(d->bit),
			 in_flight, vm->overlapped, &out);
	if (out.result == AT_LL_CHANGED) {
		cur = at_emit_bit(vm, tmpl, cur, d->bit, 0);
	} else if (out.result != AT_LL_NONE) {
		tmpl->result = out.result == AT_LL_NOOP ? AT_RES_NOOP :
							 AT_RES_FILTERED;
		tmpl->bit = d->bit;
		tmpl->old_mask = cur;
		tmpl->new_mask = cur;
		at_vm_record_request(vm, tmpl);
	}
	for_each_set_bit(b, &out.fix, BITS_PER_LONG)
		cur = at_emit_bit(vm, tmpl, cur, b, AT_F_MISSED);
	vm->overlapped = out.overlapped;
	if (d->vm_id == vm->id)
		atomic_dec(&vm->in_flight);
	raw_spin_unlock_irqrestore(&vm->acct_lock, flags);
}
NOKPROBE_SYMBOL(at_setter_exit_lockless);

static int __kprobes at_setter_exit_body(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_setter_data *d = (void *)ri->data;
	unsigned long new = at_kvm_mask(d->kvm);
	struct at_rec tmpl __uninitialized;	/* at_rec_init() sets it all */
	struct at_vm *vm;
	u64 t0;

	rcu_read_lock();
	t0 = at_prof_start();
	vm = at_vm_get_or_adopt(d->kvm, d->old);
	at_prof_end(AT_P_SET_LOOKUP, t0);
	if (!vm)
		goto out;
	/*
	 * Adopted by another hook after this call began: its baseline was
	 * read from KVM at some point of this call, before or after the
	 * change, so it is where this call's records start (correcting it
	 * to d->old would invent a missed pair).
	 */
	if (READ_ONCE(vm->baseline) && READ_ONCE(vm->created_ns) >= d->entry_ns)
		d->old = READ_ONCE(vm->mask);
	at_setter_tmpl(vm, &tmpl, d->kvm, d->set, d->site);
	if (READ_ONCE(at_setter_lockless))
		at_setter_exit_lockless(vm, d, &tmpl);
	else
		at_setter_report(vm, &tmpl, d->old, new, d->bit, d->set);
out:
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_setter_exit_body);

/* the handler, timed in the test build (prof.h) */
static int __kprobes at_setter_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	u64 t0 = at_prof_start();
	int ret = at_setter_exit_body(ri, regs);

	at_prof_end(AT_P_SET_EXIT, t0);
	return ret;
}
NOKPROBE_SYMBOL(at_setter_exit);

/*
 * Entry mode (at_setter_predicts, chosen by probes.c): a plain kprobe, no
 * return probe. Where KVM calls the setter with its update lock held for
 * write and the setter applies the request alone (5.18+ without the IRQ
 * window counter of 7.1+), the call's result follows from what the entry
 * sees: the mask, which nothing else writes until the lock is dropped,
 * and whether the vendor module honours the reason. Each call also checks
 * the one before it: a mask that is not the one recorded is corrected as
 * a missed change (at_emit_changes()), and counted as a wrong prediction
 * (mispredicted= in status) when it differs in the predicted bit alone.
 */
static bool at_setter_predicts;

static __always_inline unsigned long at_setter_predict(unsigned long old,
							unsigned int bit,
							bool set)
{
	if (bit >= BITS_PER_LONG || !at_vendor_honours(bit))
		return old;
	return (unsigned long)at_mask_after(old, bit, set);
}

static int __kprobes at_setter_pre_body(struct pt_regs *regs)
{
	unsigned long old, new, site;
	/* at_rec_init() sets every byte: not zeroed twice on the hot path */
	struct at_rec tmpl __uninitialized;
	unsigned int bit, pred;
	struct at_vm *vm;
	struct kvm *kvm;
	bool set;
	u64 t0;

	t0 = at_prof_start();
	at_prof_end(AT_P_EMPTY, t0);
	t0 = at_prof_start();
	if (!at_args_trusted(AT_H_SETTER, regs))
		return 0;
	at_setter_args(regs, at_hook_layout(AT_H_SETTER), &kvm, &bit, &set);
	old = at_kvm_mask(kvm);
	site = at_setter_site(regs, kvm, bit);
	new = at_setter_predict(old, bit, set);
	at_prof_end(AT_P_SET_ARGS, t0);

	/*
	 * No rcu_read_lock(): a kprobe's handler runs with preemption off,
	 * which is an RCU read-side section (at_vm_lookup()); the kretprobe
	 * handlers above take it all the same, this one is the hot path.
	 */
	t0 = at_prof_start();
	vm = at_vm_get_or_adopt(kvm, old);
	at_prof_end(AT_P_SET_LOOKUP, t0);
	if (!vm)
		goto out;
	/*
	 * A recorded mask that is not KVM's differs, after a wrong
	 * prediction, in the bit the last call predicted; any other
	 * difference is a call the hooks missed (nmissed), not counted here.
	 */
	pred = READ_ONCE(vm->pred_bit);
	if (pred < BITS_PER_LONG && (READ_ONCE(vm->mask) ^ old) == BIT(pred))
		atomic64_inc(&at_stats.mispredicted);
	WRITE_ONCE(vm->pred_bit, bit < BITS_PER_LONG ? bit : AT_NO_BIT);
	at_setter_tmpl(vm, &tmpl, kvm, set, site);
	at_setter_report(vm, &tmpl, old, new, bit, set);
out:
	return 0;
}
NOKPROBE_SYMBOL(at_setter_pre_body);

/* the handler, timed in the test build (prof.h) */
static int __kprobes at_setter_pre(struct kprobe *p, struct pt_regs *regs)
{
	u64 t0 = at_prof_start();
	int ret = at_setter_pre_body(regs);

	at_prof_end(AT_P_SET_ENTRY, t0);
	return ret;
}
NOKPROBE_SYMBOL(at_setter_pre);

/* probes.c, before the setter is armed: entry mode or its return hooked. */
void at_hooks_setter_entry(bool on)
{
	WRITE_ONCE(at_setter_predicts, on);
}

/* Is hook @id armed as a kretprobe (else a plain kprobe, .pre)? */
bool at_hook_ret(unsigned int id)
{
	if (id == AT_H_SETTER && READ_ONCE(at_setter_predicts))
		return false;
	return at_hooks[id].ret;
}

/* status: how the setter is hooked */
const char *at_hooks_setter_mode(void)
{
	return READ_ONCE(at_setter_predicts) ? "entry" : "exit";
}

/*
 * A request the setter never saw, with @mask as KVM left it: dropped when
 * APICv is disabled, else @res (filtered, absorbed). Counted, and logged
 * if it is worth it (see at_vm_record_request()).
 */
static void __kprobes at_emit_unapplied(const struct at_req *req, unsigned long mask,
					unsigned char res)
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
		rec.result = at_bit_in(mask, READ_ONCE(at_reasons.disable_bit)) ?
			     AT_RES_DROPPED : res;
		at_vm_record_request(vm, &rec);
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

static int __kprobes at_request_entry_body(struct kretprobe_instance *ri,
					   struct pt_regs *regs)
{
	struct at_request_data *d = (void *)ri->data;
	struct at_req *outer, *req;
	unsigned int bit;
	struct kvm *kvm;
	bool set;

	if (!at_args_trusted(AT_H_REQUEST, regs))
		return 1;
	at_request_args(regs, at_hook_layout(AT_H_REQUEST), &kvm, &bit, &set);
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
	req = at_req_claim(AT_REQ_REQUEST, AT_H_REQUEST);
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
NOKPROBE_SYMBOL(at_request_entry_body);

/* the handler, timed in the test build (prof.h) */
static int __kprobes at_request_entry(struct kretprobe_instance *ri,
				      struct pt_regs *regs)
{
	u64 t0 = at_prof_start();
	int ret = at_request_entry_body(ri, regs);

	at_prof_end(AT_P_REQ_ENTRY, t0);
	return ret;
}
NOKPROBE_SYMBOL(at_request_entry);

static int __kprobes at_request_exit_body(struct kretprobe_instance *ri, struct pt_regs *regs)
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
	at_emit_unapplied(req, mask, AT_RES_FILTERED);
out:
	at_req_release(req);
	return 0;
}
NOKPROBE_SYMBOL(at_request_exit_body);

/* the handler, timed in the test build (prof.h) */
static int __kprobes at_request_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	u64 t0 = at_prof_start();
	int ret = at_request_exit_body(ri, regs);

	at_prof_end(AT_P_REQ_EXIT, t0);
	return ret;
}
NOKPROBE_SYMBOL(at_request_exit);

/* ---------------------------------------------------------------- */
/* VM lifetime and vCPUs                                            */
/* ---------------------------------------------------------------- */

struct at_kvm_data {
	const struct kvm *kvm;
	unsigned long site;
};

static int __kprobes at_init_vm_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_kvm_data *d = (void *)ri->data;

	if (!at_args_trusted(AT_H_INIT_VM, regs))
		return 1;
	d->kvm = at_kvm_arg(regs);
	d->site = at_caller(regs);
	/*
	 * 5.10: the slot kvm_apicv_init()'s hook fills is claimed here, so it
	 * exists only while this call's instance does: a missed instance
	 * (nmissed) cannot leave a slot claimed for good.
	 */
	if (at_hooks[AT_H_INIT_REASONS].base) {
		struct at_req *req = at_req_claim(AT_REQ_INIT, AT_H_INIT_VM);

		if (req) {
			req->kvm = d->kvm;
			req->site = d->site;
		}
	}
	return 0;
}
NOKPROBE_SYMBOL(at_init_vm_entry);

/*
 * kvm_arch_init_vm() returned: KVM set the initial reasons (ABSENT, and
 * DISABLE(D) when APICv is off) directly, without the setter. Record them
 * in the order the kernel applies them (highest bit first).
 */
static int __kprobes at_init_vm_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
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
	at_vm_record(vm, &rec);
	at_rec_init(&rec, AT_EV_SET);	/* template for the reasons' records */
	rec.site = site;
	for (b = BITS_PER_LONG - 1; b >= 0; b--)
		if (mask & BIT(b))
			cur = at_emit_bit(vm, &rec, cur, b, AT_F_INIT);
out:
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_init_vm_exit);

static int __kprobes at_destroy_vm_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct kvm *kvm = at_kvm_arg(regs);
	struct at_rec rec;
	struct at_vm *vm;

	if (!at_args_trusted(AT_H_DESTROY_VM, regs))
		return 0;
	rcu_read_lock();
	vm = at_vm_lookup(kvm);
	if (vm) {
		at_rec_init(&rec, AT_EV_VM_DESTROY);
		rec.site = at_caller(regs);
		rec.old_mask = at_kvm_mask(kvm);
		rec.new_mask = rec.old_mask;
		at_vm_record(vm, &rec);
		at_vm_retire(vm, kvm);
	}
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_destroy_vm_pre);

/* kvm_arch_create_vm_debugfs(): KVM's debugfs name for the VM exists. */
static int __kprobes at_vm_debugfs_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct kvm *kvm = at_kvm_arg(regs);
	struct at_vm *vm;

	if (!at_args_trusted(AT_H_VM_DEBUGFS, regs))
		return 0;
	rcu_read_lock();
	vm = at_vm_lookup(kvm);
	if (vm)
		at_vm_note_key(vm, kvm);
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_vm_debugfs_pre);

/* kvm_arch_vcpu_postcreate(): a safe point to learn the VM's key. */
static int __kprobes at_vcpu_created_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct kvm_vcpu *vcpu = at_vcpu_arg(regs);
	const struct kvm *kvm;
	struct at_vm *vm;

	if (!at_args_trusted(AT_H_VCPU, regs))
		return 0;
	kvm = READ_ONCE(vcpu->kvm);
	rcu_read_lock();
	vm = at_vm_get_or_adopt(kvm, at_kvm_mask(kvm));
	if (vm) {
		at_vm_note_vcpus(vm, kvm);
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
static int __kprobes at_init_reasons_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct at_req *req;

	if (!at_args_trusted(AT_H_INIT_REASONS, regs))
		return 0;
	req = at_req_find(AT_REQ_INIT);	/* claimed by kvm_arch_init_vm()'s hook */
	if (req) {
		req->kvm = at_kvm_arg(regs);
		req->site = at_caller(regs);
	}
	return 0;
}
NOKPROBE_SYMBOL(at_init_reasons_pre);

/* ---------------------------------------------------------------- */
/* 7.1+: the IRQWIN counter (kvm_inc_or_dec_irq_window_inhibit)      */
/* ---------------------------------------------------------------- */

/*
 * svm_enable_irq_window() counts up, svm_inject_irq() down. KVM calls the
 * setter only when the count crosses zero while no other reason is set;
 * otherwise the request is absorbed by the counter (APICv is already
 * inhibited) and the next setter call recomputes IRQWIN lazily (a side
 * change, AT_F_SIDE). Absorbed requests are counted per reason and
 * recorded only with log_noop=1 (see at_worth_logging()).
 */
struct at_irq_window_data {
	struct at_req *req;
};

static int __kprobes at_irq_window_entry(struct kretprobe_instance *ri,
					 struct pt_regs *regs)
{
	struct at_irq_window_data *d = (void *)ri->data;
	unsigned int bit = READ_ONCE(at_reasons.irqwin_bit);
	struct at_req *req;
	struct kvm *kvm;
	bool inc;

	if (!at_args_trusted(AT_H_IRQ_WINDOW, regs))
		return 1;
	if (bit == AT_NO_BIT)
		return 1;
	at_irq_window_args(regs, &kvm, &inc);
	req = at_req_claim(AT_REQ_REQUEST, AT_H_IRQ_WINDOW);
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

static int __kprobes at_irq_window_exit(struct kretprobe_instance *ri,
					struct pt_regs *regs)
{
	struct at_irq_window_data *d = (void *)ri->data;
	struct at_req *req = d->req;

	if (!req->nested)	/* else the setter ran and reported it */
		at_emit_unapplied(req, at_kvm_mask(req->kvm), AT_RES_ABSORBED);
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

static int __kprobes at_xapic_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct at_apic_data *d = (void *)ri->data;
	const void *apic = at_apic_arg(regs);
	at_running_vcpu_fn fn;
	struct kvm_vcpu *vcpu;
	struct at_req *req;

	if (!at_args_trusted(AT_H_XAPIC_ID, regs))
		return 1;
	/* The vCPU is loaded for KVM_SET_LAPIC and for guest APIC writes. */
	fn = READ_ONCE(at_running_vcpu);
	vcpu = fn ? fn() : NULL;
	if (!vcpu || READ_ONCE(vcpu->arch.apic) != apic ||
	    !at_vcpu_apic_hw_enabled(vcpu))
		return 1;	/* KVM returns early too: nothing to record */
	req = at_req_claim(AT_REQ_APIC_ID, AT_H_XAPIC_ID);
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

static int __kprobes at_xapic_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
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
		rec.bit = READ_ONCE(at_reasons.apic_id_bit);
		rec.vcpu = d->vcpu_id;
		rec.site = d->site;
		rec.old_mask = at_kvm_mask(d->kvm);
		rec.new_mask = rec.old_mask;
		rec.xapic_id = d->known ? d->xapic_id : U32_MAX;
		if (d->known && d->xapic_id == (u8)d->vcpu_id)
			rec.flags |= AT_F_MATCH;
		if (inhibit)
			rec.flags |= AT_F_INHIBIT;
		at_vm_record(vm, &rec);
	}
	rcu_read_unlock();
	return 0;
}
NOKPROBE_SYMBOL(at_xapic_exit);

/* ---------------------------------------------------------------- */
/* Markers: the VMM restores a vCPU's state (reboot, restore)        */
/* ---------------------------------------------------------------- */

static void __kprobes at_marker(struct kvm_vcpu *vcpu, struct at_rec *rec,
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
		at_vm_record(vm, rec);
	}
	rcu_read_unlock();
}
NOKPROBE_SYMBOL(at_marker);

/* kvm_apic_set_state(): KVM_SET_LAPIC, a VMM restoring the local APIC. */
static int __kprobes at_set_lapic_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu;
	const void *state;
	struct at_rec rec;
	u32 id;

	if (!at_args_trusted(AT_H_SET_LAPIC, regs))
		return 0;
	at_set_lapic_args(regs, &vcpu, &state);
	at_rec_init(&rec, AT_EV_LAPIC_SET);
	rec.xapic_id = at_lapic_state_id(state, at_vcpu_x2apic(vcpu), &id) ?
		       id : U32_MAX;
	at_marker(vcpu, &rec, regs);
	return 0;
}
NOKPROBE_SYMBOL(at_set_lapic_pre);

/* The APIC base MSR written by the host (not the guest), to a new value. */
static int __kprobes at_apic_base_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm_vcpu *vcpu;
	struct at_rec rec;
	bool host;
	u64 value;

	if (!at_args_trusted(AT_H_APIC_BASE, regs))
		return 0;
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
static bool __kprobes at_map_xapic_id(struct kvm_vcpu *v, u32 *id)
{
	const void *apic;

	if (!v || !at_vcpu_apic_hw_enabled(v) || at_vcpu_x2apic(v))
		return false;
	apic = READ_ONCE(v->arch.apic);
	return apic && at_lapic_xapic_id(apic, v, &at_lapic_vcpu_off, id) &&
	       *id < 256;
}
NOKPROBE_SYMBOL(at_map_xapic_id);

static void __kprobes at_apic_map_report(struct at_vm *vm, struct kvm *kvm,
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
		rec.bit = match ? READ_ONCE(at_reasons.phys_alias_bit) :
				  READ_ONCE(at_reasons.apic_id_bit);
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
		if (!match && at_bit_in(asked, READ_ONCE(at_reasons.apic_id_bit)))
			rec.flags |= AT_F_INHIBIT;
		at_vm_record(vm, &rec);
		emitted++;
	}
}
NOKPROBE_SYMBOL(at_apic_map_report);

static int __kprobes at_apic_map_entry(struct kretprobe_instance *ri,
				       struct pt_regs *regs)
{
	struct at_apic_map_data *d = (void *)ri->data;
	struct at_req *req;

	if (!at_args_trusted(AT_H_APIC_MAP, regs))
		return 1;
	req = at_req_claim(AT_REQ_APIC_ID, AT_H_APIC_MAP);
	if (!req)
		return 1;
	req->kvm = at_kvm_arg(regs);
	req->site = at_caller(regs);
	d->req = req;
	return 0;
}
NOKPROBE_SYMBOL(at_apic_map_entry);

static int __kprobes at_apic_map_exit(struct kretprobe_instance *ri,
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

/* Roles that only some kernels have (reasons.h: at_role_*()) */
static bool at_applies_init_reasons(void)
{
	return at_role_init_reasons(READ_ONCE(at_setter_cand));
}

static bool at_applies_request(void)
{
	return at_role_request(READ_ONCE(at_setter_cand));
}

static bool at_applies_xapic_id(void)
{
	return at_role_xapic_id(at_reason_bit("APIC_ID_MODIFIED") >= 0,
				at_reason_bit("PHYSICAL_ID_ALIASED") >= 0);
}

static bool at_applies_apic_map(void)
{
	return at_role_apic_map(at_reason_bit("PHYSICAL_ID_ALIASED") >= 0);
}

/* Indexed by enum at_hook_id (apicv_trace.h): its order is the arming order. */
const struct at_hook at_hooks[AT_NR_HOOKS] = {
	[AT_H_INIT_VM] = {
		.role = "vm_create", .base = AT_SYM_INIT_VM, .ret = true,
		.args = AT_ARGS_KVM,
		.data_size = sizeof(struct at_kvm_data),
		.entry = at_init_vm_entry, .exit = at_init_vm_exit,
	},
	[AT_H_DESTROY_VM] = {
		.role = "vm_destroy", .base = AT_SYM_DESTROY_VM,
		.args = AT_ARGS_KVM,
		.pre = at_destroy_vm_pre,
	},
	[AT_H_VM_DEBUGFS] = {
		.role = "vm_key", .base = AT_SYM_VM_DEBUGFS,
		.optional = true,
		.args = AT_ARGS_KVM,
		.pre = at_vm_debugfs_pre,
	},
	[AT_H_INIT_REASONS] = {
		.role = "init_reasons", .base = AT_SYM_INIT_REASONS,
		.optional = true, .applies = at_applies_init_reasons,
		.args = AT_ARGS_KVM,
		.pre = at_init_reasons_pre,
	},
	[AT_H_VCPU] = {
		.role = "vcpu_create", .base = AT_SYM_VCPU_CREATED,
		.args = AT_ARGS_VCPU,
		.pre = at_vcpu_created_pre,
	},
	[AT_H_SETTER] = {
		.role = "setter", .cands = true, .cand_role = AT_CR_SETTER,
		.ret = true,
		.args = AT_ARGS_KVM_REASON,
		.data_size = sizeof(struct at_setter_data),
		.entry = at_setter_entry, .exit = at_setter_exit,
		.pre = at_setter_pre,	/* entry mode: at_setter_predicts */
	},
	[AT_H_REQUEST] = {
		.role = "request", .cands = true, .cand_role = AT_CR_REQUEST,
		.applies = at_applies_request, .ret = true,
		.sleeps = true,
		.args = AT_ARGS_KVM_REASON,
		.data_size = sizeof(struct at_request_data),
		.entry = at_request_entry, .exit = at_request_exit,
	},
	[AT_H_IRQ_WINDOW] = {
		.role = "irq_window", .base = AT_SYM_IRQ_WINDOW, .ret = true,
		.optional = true,
		.sleeps = true,
		.args = AT_ARGS_KVM_BOOL,
		.data_size = sizeof(struct at_irq_window_data),
		.entry = at_irq_window_entry, .exit = at_irq_window_exit,
	},
	[AT_H_XAPIC_ID] = {
		.role = "apic_id", .base = AT_SYM_XAPIC_ID, .ret = true,
		.applies = at_applies_xapic_id,
		.args = AT_ARGS_APIC,
		.data_size = sizeof(struct at_apic_data),
		.entry = at_xapic_entry, .exit = at_xapic_exit,
	},
	[AT_H_APIC_MAP] = {
		.role = "apic_map", .base = AT_SYM_APIC_MAP, .ret = true,
		.applies = at_applies_apic_map,
		.sleeps = true,
		.args = AT_ARGS_KVM,
		.data_size = sizeof(struct at_apic_map_data),
		.entry = at_apic_map_entry, .exit = at_apic_map_exit,
	},
	[AT_H_SET_LAPIC] = {
		.role = "lapic_set", .base = AT_SYM_SET_LAPIC,
		.args = AT_ARGS_VCPU,
		.pre = at_set_lapic_pre,
	},
	[AT_H_APIC_BASE] = {
		.role = "apic_base", .cands = true,
		.cand_role = AT_CR_APIC_BASE,
		.args = AT_ARGS_VCPU,
		.pre = at_apic_base_pre,
	},
};

/*
 * Calls that can be in flight at once in a hooked function that sleeps:
 * the request table's entries and those hooks' kretprobe instances. The
 * kprobes documentation asks for a large maxactive on functions that can
 * sleep: the vCPU threads of the VMs can be asleep in one of them (on
 * KVM's apicv_update_lock or the APIC map mutex), so the count follows
 * the CPUs (4 vCPU threads each) or a quarter of KVM's vCPU limit,
 * whichever is larger, 256 to 4096. Entries are 40 bytes, allocated once
 * per load like the kretprobe instances (neither is in memory_bytes,
 * which counts what grows with the VMs); running out is counted
 * (nmissed, reqs_full) and costs call sites and request counts, never
 * the changes of a mask.
 */
unsigned int at_hooks_slots(void)
{
	return clamp_t(unsigned int, max_t(unsigned int,
					   4 * num_possible_cpus(),
					   KVM_MAX_VCPUS / 4),
		       256, 4096);
}

/*
 * kretprobe instances of hook @id: the calls in flight at once. Hooks
 * on functions that sleep on KVM's locks get at_hooks_slots(); the others
 * can only be preempted, as the kprobes documentation sizes them (twice
 * the CPUs, at least 64). From 6.7 the kernel keeps per-CPU arrays as
 * large as maxactive for each kretprobe (objpool): only the sleeping
 * hooks pay for the vCPUs.
 */
unsigned int at_hooks_maxactive(unsigned int id)
{
	if (at_hooks[id].sleeps)
		return at_hooks_slots();
	return max_t(unsigned int, 64, 2 * num_possible_cpus());
}

/* Process context, before any probe is registered. */
int at_hooks_init(void)
{
	at_nr_reqs = at_hooks_slots();
	at_reqs = kcalloc(at_nr_reqs, sizeof(*at_reqs), GFP_KERNEL);
	return at_reqs ? 0 : -ENOMEM;
}

/* After every probe is unregistered for good. */
void at_hooks_exit(void)
{
	kfree(at_reqs);
	at_reqs = NULL;
}

/*
 * Before the probes arm (probes.c): @running_vcpu is kvm_get_running_vcpu,
 * resolved, or NULL. The kvm_lapic layout is looked for again: the kvm
 * now loaded may be another build.
 */
void at_hooks_attach(at_running_vcpu_fn running_vcpu)
{
	WRITE_ONCE(at_running_vcpu, running_vcpu);
	WRITE_ONCE(at_lapic_vcpu_off, -1);
}

/* The name of thread @pid (global pid), or "?" when it is gone. */
static void at_task_comm(pid_t pid, char (*comm)[TASK_COMM_LEN])
{
	struct task_struct *t;

	strscpy(*comm, "?", sizeof(*comm));
	rcu_read_lock();
	t = pid_task(find_pid_ns(pid, &init_pid_ns), PIDTYPE_PID);
	if (t)
		get_task_comm(*comm, t);
	rcu_read_unlock();
}

/* Passes over KVM's VM list at most, 10 ms apart, while a VM waits */
#define AT_ADOPT_PASSES	100

/*
 * One pass over KVM's VM list under KVM's own kvm_lock, which
 * kvm_create_vm() and kvm_destroy_vm() take to add and remove a VM: every
 * VM on @vm_list is alive while it is held. Adopts each VM not tracked
 * yet, KVM's mask as it stands as its baseline. Returns how many it
 * adopted; *@wait: a VM waits for a spare record (the worker refills) or
 * for its pid (KVM sets it just after listing the VM). @last: count those
 * as untracked instead; they are adopted at their next event.
 */
static unsigned int at_adopt_pass(struct list_head *vm_list,
				  struct mutex *kvm_lock, bool last, bool *wait)
{
	unsigned int n = 0;
	struct kvm *kvm;

	*wait = false;
	mutex_lock(kvm_lock);
	list_for_each_entry(kvm, vm_list, vm_list) {
		pid_t pid = at_kvm_pid(kvm);
		char comm[TASK_COMM_LEN];
		struct at_vm *vm = NULL;
		bool fresh = false;

		if (pid) {
			at_task_comm(pid, &comm);
			/* the VM hash is RCU-sched, the ring per CPU: as in a probe */
			preempt_disable();
			vm = at_vm_adopt(kvm, at_kvm_mask(kvm), pid, comm, &fresh);
			if (vm)
				at_vm_note_key(vm, kvm);
			preempt_enable();
		}
		if (vm) {
			n += fresh;
			continue;
		}
		if (!at_kvm_alive(kvm))
			continue;	/* being destroyed */
		if (last)
			atomic64_inc(&at_stats.untracked);
		*wait = true;
	}
	mutex_unlock(kvm_lock);
	return n;
}

/*
 * Adopt every VM KVM has (process context, once the hooks are armed), so
 * that a VM that predates the module is listed at once, not at its next
 * event. A VM created meanwhile is the hooks'. Never sleeps under
 * kvm_lock: a pass that leaves a VM waiting is repeated after 10 ms
 * (adopting is idempotent), at most AT_ADOPT_PASSES times. Returns how
 * many VMs were adopted.
 */
unsigned int at_hooks_adopt_running(struct list_head *vm_list,
				    struct mutex *kvm_lock)
{
	unsigned int n = 0, pass;
	bool wait = true;

	for (pass = 0; wait && pass < AT_ADOPT_PASSES; pass++) {
		if (pass) {
			at_vm_kick();	/* the worker refills the spares */
			msleep(10);
		}
		n += at_adopt_pass(vm_list, kvm_lock,
				   pass + 1 == AT_ADOPT_PASSES, &wait);
	}
	atomic64_add(n, &at_stats.vms_adopted);
	return n;
}

/* After every probe is unregistered, which waited for running handlers. */
void at_hooks_detach(void)
{
	WRITE_ONCE(at_running_vcpu, NULL);
	if (at_reqs)
		memset(at_reqs, 0, at_nr_reqs * sizeof(*at_reqs));
	memset(at_reqs_used, 0, sizeof(at_reqs_used));
}

bool at_hooks_vcpu_known(void)
{
	return READ_ONCE(at_running_vcpu) != NULL;
}
