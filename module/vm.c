// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM state: the registry of VMs, their aggregates and rings, the kvm
 * load generation their call sites belong to, and the worker's wake-up.
 *
 * Probe context (called from hooks.c) looks VMs up under RCU and writes to
 * rings without locks; a record reaches its VM in one call (at_vm_record()
 * or at_vm_record_request()), which keeps the aggregates and stores it.
 * Registering or retiring a VM (rare: VM creation and destruction) takes
 * at_vm_lock for a few list operations and takes a preallocated record
 * from the spare pool. Nothing in probe
 * context sleeps or allocates: what can sleep is the worker's (worker.c),
 * woken from here through an irq_work (at_vm_kick()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/kprobes.h>
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "apicv_trace.h"
#include "prof.h"

static DEFINE_HASHTABLE(at_vm_hash, 8);		/* live VMs by struct kvm * */
/*
 * at_vm_lock: hash and list updates. A raw spinlock, IRQs off: it is
 * taken in kprobe and kretprobe handlers, which run with preemption off
 * (an int3 in kernel mode may even hit in NMI-like context), where a
 * PREEMPT_RT spinlock_t would sleep. What runs under it is a bounded
 * handful of hlist/list operations and at_vm_lookup() on this module's
 * own memory: no allocation, no wake-up, no printk, and no KVM function,
 * so no hooked function can be reached with it held (and every function
 * that takes it is NOKPROBE, so no probe can recurse into it).
 */
static DEFINE_RAW_SPINLOCK(at_vm_lock);
LIST_HEAD(at_vm_list);				/* every tracked VM */
DEFINE_MUTEX(at_vm_mutex);			/* list readers vs. freeing */

static struct at_vm *at_spare[AT_SPARES];	/* claimed with xchg() */
static LLIST_HEAD(at_orphans);			/* spares given back */
static atomic_t at_vm_ids = ATOMIC_INIT(0);
static atomic64_t at_gseq = ATOMIC64_INIT(0);
static unsigned int at_gen;			/* kvm load generation */

/* What the parameters say (main.c sets them; defaults here) */
unsigned int at_ring_order = 8;		/* 256 records, 32 KiB per VM */
unsigned int at_max_vms = 256;
unsigned int at_max_exited = 64;
bool at_log_noop;

struct at_ring *at_stream;
DECLARE_WAIT_QUEUE_HEAD(at_follow_wq);
atomic_t at_followers = ATOMIC_INIT(0);
bool at_shutting_down;
struct at_stats at_stats;

static atomic_t at_work_needed = ATOMIC_INIT(0);
static struct irq_work at_irq_work;
static struct kthread_worker *at_kworker;	/* worker.c's: at_vm_wake_init() */
static struct kthread_work *at_kwork;

u64 __kprobes at_now(void)
{
	return ktime_get_boot_fast_ns();
}
NOKPROBE_SYMBOL(at_now);

/*
 * The kvm load generation. A KVM module going away ends the generation of
 * recorded call sites: its addresses may be reused, so older sites print
 * as "?".
 */
unsigned int __kprobes at_kvm_gen(void)
{
	return READ_ONCE(at_gen);
}
NOKPROBE_SYMBOL(at_kvm_gen);

/* A KVM module went away; callers are serialised (probes.c). */
void at_kvm_gen_next(void)
{
	WRITE_ONCE(at_gen, at_gen + 1);
}

/* ---------------------------------------------------------------- */
/* Probe context                                                    */
/* ---------------------------------------------------------------- */

/*
 * Ask the worker to run; safe from any context. Not once unloading began:
 * an irq_work queued after at_vm_stop() synced could run after the module
 * is gone (on PREEMPT_RT it runs later, from a kthread).
 */
void __kprobes at_vm_kick(void)
{
	if (READ_ONCE(at_shutting_down))
		return;
	atomic_set(&at_work_needed, 1);
	irq_work_queue(&at_irq_work);
}
NOKPROBE_SYMBOL(at_vm_kick);

/*
 * A record of the current thread, now. Every field is set, one store
 * each (the record reaches userspace): no block fill of the whole record
 * on the probe's path, where a string instruction is dear under emulation.
 */
void __kprobes at_rec_init(struct at_rec *rec, unsigned char event)
{
	unsigned int i;

	BUILD_BUG_ON(sizeof(rec->comm) != 2 * sizeof(u64) ||
		     sizeof(current->comm) < sizeof(rec->comm));
	rec->gseq = 0;
	rec->ns = at_now();
	rec->old_mask = 0;
	rec->new_mask = 0;
	rec->site = 0;
	rec->vm_id = 0;
	rec->tid = current->pid;
	rec->vcpu = AT_NO_VCPU;
	rec->cpu = raw_smp_processor_id();
	rec->event = event;
	rec->bit = AT_NO_BIT;
	rec->result = 0;
	rec->flags = 0;
	rec->xapic_id = 0;
	rec->site_gen = at_kvm_gen();
	rec->reserved = 0;
	memcpy(rec->comm, current->comm, sizeof(rec->comm));	/* two words */
	rec->comm[sizeof(rec->comm) - 1] = '\0';
	rec->value = 0;
	rec->value_old = 0;
	for (i = 0; i < ARRAY_SIZE(rec->spare); i++)
		rec->spare[i] = 0;
}
NOKPROBE_SYMBOL(at_rec_init);

/* Caller holds rcu_read_lock() (or runs with preemption disabled). */
struct at_vm __kprobes *at_vm_lookup(const struct kvm *kvm)
{
	struct at_vm *vm;

	hash_for_each_possible_rcu(at_vm_hash, vm, hnode, (unsigned long)kvm)
		if (READ_ONCE(vm->kvm) == kvm)
			return vm;
	return NULL;
}
NOKPROBE_SYMBOL(at_vm_lookup);

static struct at_vm __kprobes *at_take_spare(void)
{
	struct at_vm *vm;
	int i;

	for (i = 0; i < AT_SPARES; i++) {
		vm = xchg(&at_spare[i], NULL);
		if (vm) {
			at_vm_kick();		/* refill */
			return vm;
		}
	}
	atomic64_inc(&at_stats.pool_empty);
	at_vm_kick();
	return NULL;
}
NOKPROBE_SYMBOL(at_take_spare);

/* A spare we took but did not need: the worker puts it back. */
static void __kprobes at_give_back(struct at_vm *vm)
{
	llist_add(&vm->orphan, &at_orphans);
	at_vm_kick();
}
NOKPROBE_SYMBOL(at_give_back);

/*
 * Register a VM. @baseline: it predates the module and is adopted on its
 * first event. Returns the VM (an existing one if another CPU won a race to
 * adopt it), or NULL when no record is available.
 */
static struct at_vm __kprobes *at_vm_insert(const struct kvm *kvm, bool baseline,
					    unsigned long mask, pid_t pid,
					    const char *comm, bool *fresh)
{
	struct at_vm *vm, *old, *stale = NULL;
	unsigned long flags;
	unsigned int b;

	*fresh = false;
	vm = at_take_spare();
	if (!vm)
		return NULL;

	raw_spin_lock_irqsave(&at_vm_lock, flags);
	old = at_vm_lookup(kvm);
	if (old && baseline) {
		raw_spin_unlock_irqrestore(&at_vm_lock, flags);
		at_give_back(vm);
		return old;
	}
	if (old) {
		/*
		 * kvm_arch_init_vm() for an address we still track: its
		 * destroy was missed (nmissed). Retire the stale record.
		 */
		hash_del_rcu(&old->hnode);
		WRITE_ONCE(old->kvm, NULL);
		stale = old;
	}
	vm->kvm = kvm;
	vm->id = atomic_inc_return(&at_vm_ids);
	vm->created_ns = at_now();
	vm->mask_since_ns = vm->created_ns;
	vm->baseline = baseline;
	vm->pid = pid;
	vm->vmm_mm = READ_ONCE(kvm->mm);	/* compared, never followed */
	memcpy(vm->comm, comm, sizeof(vm->comm));	/* TASK_COMM_LEN bytes */
	vm->comm[sizeof(vm->comm) - 1] = '\0';
	vm->mask = mask;	/* before it is visible: see at_vm_get_or_adopt() */
	vm->pred_bit = AT_NO_BIT;
	for_each_set_bit(b, &mask, AT_MAX_BITS)
		vm->reason[b].since_ns = vm->created_ns;
	hash_add_rcu(at_vm_hash, &vm->hnode, (unsigned long)kvm);
	list_add_tail_rcu(&vm->node, &at_vm_list);
	raw_spin_unlock_irqrestore(&at_vm_lock, flags);

	if (stale) {
		WRITE_ONCE(stale->exited_ns, at_now());
		atomic64_inc(&at_stats.vms_exited);
	}
	atomic64_inc(&at_stats.vms_created);
	*fresh = true;
	return vm;
}
NOKPROBE_SYMBOL(at_vm_insert);

struct at_vm __kprobes *at_vm_create(const struct kvm *kvm)
{
	bool fresh;

	return at_vm_insert(kvm, false, 0, current->pid, current->comm, &fresh);
}
NOKPROBE_SYMBOL(at_vm_create);

/* A baseline record for a VM first seen now, KVM's mask as it stands. */
static void __kprobes at_vm_baseline(struct at_vm *vm, const struct kvm *kvm,
				     unsigned long mask)
{
	struct at_rec rec;

	at_vm_note_vcpus(vm, kvm);
	at_rec_init(&rec, AT_EV_BASELINE);
	rec.old_mask = mask;
	rec.new_mask = mask;
	at_vm_record(vm, &rec);
}
NOKPROBE_SYMBOL(at_vm_baseline);

/*
 * A VM that predates the hooks, adopted with KVM's @mask as its baseline,
 * owned by the VMM thread @pid, @comm its name (TASK_COMM_LEN bytes):
 * found on KVM's list when the hooks armed (hooks.c, under kvm_lock), or
 * at its first event (at_vm_get_or_adopt()). NULL for a VM being
 * destroyed, or when no record is available. *@fresh: it was not
 * tracked yet.
 */
struct at_vm __kprobes *at_vm_adopt(const struct kvm *kvm, unsigned long mask,
				    pid_t pid, const char *comm, bool *fresh)
{
	struct at_vm *vm;

	*fresh = false;
	vm = at_vm_lookup(kvm);
	if (vm || !at_kvm_alive(kvm))
		return vm;
	vm = at_vm_insert(kvm, true, mask, pid, comm, fresh);
	if (vm && *fresh)
		at_vm_baseline(vm, kvm, mask);
	return vm;
}
NOKPROBE_SYMBOL(at_vm_adopt);

/*
 * The VM for @kvm; a VM that existed before the module loaded is adopted
 * with @mask, KVM's mask as the caller saw it, as a baseline. The baseline
 * is in place before the VM becomes visible, so a setter running at the
 * same time on another CPU accounts on top of it. Never adopts a VM that
 * is being destroyed.
 */
struct at_vm __kprobes *at_vm_get_or_adopt(const struct kvm *kvm, unsigned long mask)
{
	struct at_vm *vm = at_vm_lookup(kvm);
	bool fresh;

	if (vm)
		return vm;
	vm = at_vm_adopt(kvm, mask, current->pid, current->comm, &fresh);
	if (!vm)
		atomic64_inc(&at_stats.untracked);
	return vm;
}
NOKPROBE_SYMBOL(at_vm_get_or_adopt);

/* kvm_arch_destroy_vm(): the VM stays readable until trimmed. */
void __kprobes at_vm_retire(struct at_vm *vm, const struct kvm *kvm)
{
	unsigned long flags;
	bool mine = false;

	raw_spin_lock_irqsave(&at_vm_lock, flags);
	if (READ_ONCE(vm->kvm) == kvm) {
		hash_del_rcu(&vm->hnode);
		WRITE_ONCE(vm->kvm, NULL);
		mine = true;
	}
	raw_spin_unlock_irqrestore(&at_vm_lock, flags);
	if (!mine)
		return;
	WRITE_ONCE(vm->exited_ns, at_now());
	atomic64_inc(&at_stats.vms_exited);
	at_vm_kick();
}
NOKPROBE_SYMBOL(at_vm_retire);

/* at_vm_note_key() while the VM's key is not known yet */
void __kprobes at_vm_note_key_slow(struct at_vm *vm, const struct kvm *kvm)
{
	const char *name;

	if (!at_kvm_alive(kvm))
		return;
	name = at_kvm_debugfs_name(kvm);
	if (!name)
		return;
	if (atomic_cmpxchg(&vm->key_state, AT_KEY_NONE, AT_KEY_WRITING) !=
	    AT_KEY_NONE)
		return;
	strscpy(vm->raw_key, name, sizeof(vm->raw_key));
	atomic_set_release(&vm->key_state, AT_KEY_VALID);
	at_vm_kick();
}
NOKPROBE_SYMBOL(at_vm_note_key_slow);

/* The VM's vCPU count, as KVM has it now. */
void __kprobes at_vm_note_vcpus(struct at_vm *vm, const struct kvm *kvm)
{
	WRITE_ONCE(vm->nr_vcpus, atomic_read(&kvm->online_vcpus));
}
NOKPROBE_SYMBOL(at_vm_note_vcpus);

/* Count one change of a reason in its flapping slots. */
static void __kprobes at_flap_count(struct at_reason_stat *rs, u64 ns)
{
	unsigned int slot = (unsigned int)div_u64(ns, NSEC_PER_SEC) /
			    AT_FLAP_SLOT_S;
	unsigned int i = slot % AT_FLAP_SLOTS;

	if (READ_ONCE(rs->flap_slot[i]) != slot) {
		WRITE_ONCE(rs->flap_n[i], 0);
		WRITE_ONCE(rs->flap_slot[i], slot);
	}
	if (rs->flap_n[i] < U16_MAX)
		WRITE_ONCE(rs->flap_n[i], rs->flap_n[i] + 1);
}
NOKPROBE_SYMBOL(at_flap_count);

/* Changes of a reason in the last @slots slots, the current one included. */
unsigned int at_flap_changes(const struct at_reason_stat *rs, u64 now,
			     unsigned int slots)
{
	unsigned int cur = (unsigned int)div_u64(now, NSEC_PER_SEC) /
			   AT_FLAP_SLOT_S;
	unsigned int i, n = 0;

	for (i = 0; i < AT_FLAP_SLOTS; i++)
		if (cur - READ_ONCE(rs->flap_slot[i]) < slots)
			n += READ_ONCE(rs->flap_n[i]);
	return n;
}

/*
 * Account one change of the VM's mask (@rec: its record). Setter calls of
 * one VM are serialized by KVM (apicv_update_lock, 6.1+) or by the VM's
 * accounting lock (5.10's lock-free setter, hooks.c), so the plain updates
 * here do not race with each other. The mask keeps every bit KVM sets
 * (at_mask_after()); per-reason statistics exist for the first
 * AT_MAX_BITS only.
 */
static void __kprobes at_account(struct at_vm *vm, const struct at_rec *rec)
{
	unsigned long old = READ_ONCE(vm->mask), new;
	unsigned int bit = rec->bit;
	bool set = rec->event == AT_EV_SET;
	struct at_reason_stat *rs;
	u64 ns = rec->ns;

	if (bit >= BITS_PER_LONG)
		return;
	new = (unsigned long)at_mask_after(old, bit, set);
	if (bit < AT_MAX_BITS) {
		rs = &vm->reason[bit];
		WRITE_ONCE(rs->last_ns[set], ns);
		WRITE_ONCE(rs->last_site[set], rec->site);
		WRITE_ONCE(rs->last_gen[set], rec->site_gen);
		at_flap_count(rs, ns);
		if (set) {
			atomic64_inc(&rs->sets);
			WRITE_ONCE(rs->since_ns, ns);
		} else {
			atomic64_inc(&rs->clears);
			if (old & BIT(bit))
				atomic64_add(at_ns_between(READ_ONCE(rs->since_ns), ns),
					     &rs->total_ns);
		}
	}
	if (!old != !new)
		WRITE_ONCE(vm->mask_since_ns, ns);
	WRITE_ONCE(vm->mask, new);
	atomic64_inc(&vm->transitions);
}
NOKPROBE_SYMBOL(at_account);

/*
 * Remember an xAPIC ID mismatch. Writers that race skip (the other one is
 * as recent); readers retry on the sequence count (at_vm_mismatch()).
 */
static void __kprobes at_note_mismatch(struct at_vm *vm, const struct at_rec *rec)
{
	int seq = atomic_read(&vm->mismatch_seq);

	if ((seq & 1) || atomic_cmpxchg(&vm->mismatch_seq, seq, seq + 1) != seq)
		return;
	/* the odd count (cmpxchg is fully ordered) before the data */
	vm->mismatch.ns = rec->ns;
	vm->mismatch.site = rec->site;
	vm->mismatch.site_gen = rec->site_gen;
	vm->mismatch.xapic_id = rec->xapic_id;
	vm->mismatch.vcpu = rec->vcpu;
	smp_wmb();	/* the data before the even count; pairs with readers */
	atomic_set(&vm->mismatch_seq, seq + 2);
}
NOKPROBE_SYMBOL(at_note_mismatch);

bool at_vm_mismatch(const struct at_vm *vm, struct at_mismatch *out)
{
	int tries, seq;

	for (tries = 0; tries < 16; tries++) {
		seq = atomic_read(&vm->mismatch_seq);
		if (seq & 1)
			continue;
		smp_rmb();	/* the count before the data: at_note_mismatch() */
		*out = vm->mismatch;
		smp_rmb();	/* the data before the count again */
		if (atomic_read(&vm->mismatch_seq) == seq)
			return seq != 0;
	}
	return false;
}

static DEFINE_PER_CPU(u64, at_events);	/* records, all VMs */

u64 at_events_total(void)
{
	u64 n = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		n += per_cpu(at_events, cpu);
	return n;
}

/*
 * Stamp and store one record: the VM's ring, then, while a follow file is
 * open, the follow stream. A reader starts at the stream's head when it
 * opens the file (at_follow_open()), so with none open the stream has no
 * reader to serve and is not written: the always-on cost is the VM's ring.
 */
static void __kprobes at_emit(struct at_vm *vm, struct at_rec *rec)
{
	u64 t0;

	if (rec->event == AT_EV_APIC_ID && !(rec->flags & AT_F_MATCH) &&
	    rec->xapic_id != U32_MAX)
		at_note_mismatch(vm, rec);
	rec->gseq = atomic64_inc_return(&at_gseq);
	rec->vm_id = vm->id;
	t0 = at_prof_start();
	at_ring_write(vm->ring, rec, NULL);
	at_prof_end(AT_P_RING_VM, t0);
	this_cpu_inc(at_events);	/* vm's count: its ring's head */
	if (!atomic_read(&at_followers))
		return;
	t0 = at_prof_start();
	at_ring_write(at_stream, rec, NULL);
	at_prof_end(AT_P_RING_STREAM, t0);
	irq_work_queue(&at_irq_work);
}
NOKPROBE_SYMBOL(at_emit);

/*
 * One record of @vm: a change of its mask (result changed) is accounted
 * in the aggregates, and every record is stored.
 */
void __kprobes at_vm_record(struct at_vm *vm, struct at_rec *rec)
{
	if (rec->result == AT_RES_CHANGED) {
		u64 t0 = at_prof_start();

		at_account(vm, rec);
		at_prof_end(AT_P_ACCOUNT, t0);
	}
	at_emit(vm, rec);
}
NOKPROBE_SYMBOL(at_vm_record);

static void __kprobes at_count_result(struct at_vm *vm, unsigned int bit,
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

/*
 * Log a request that changed nothing? Clears of clear bits are chatter,
 * and so are IRQ-window requests KVM's counter absorbed: 7.1+ makes two
 * per interrupt window while another reason is set, enough to wrap a VM's
 * ring in seconds and push out the set/clear history an admin needs.
 * They are counted either way (absorbed= in state); log_noop=1 keeps them.
 */
static bool __kprobes at_worth_logging(const struct at_rec *rec)
{
	if (READ_ONCE(at_log_noop))
		return true;
	if (rec->result == AT_RES_NOOP || rec->result == AT_RES_ABSORBED)
		return false;
	return rec->event == AT_EV_SET || at_bit_in(rec->old_mask, rec->bit);
}
NOKPROBE_SYMBOL(at_worth_logging);

/*
 * A request that left @vm's mask as it was (@rec->result says why: noop,
 * filtered, dropped, absorbed; old_mask is the mask): counted, and stored
 * if it is worth it (at_worth_logging()).
 */
void __kprobes at_vm_record_request(struct at_vm *vm, struct at_rec *rec)
{
	at_count_result(vm, rec->bit, rec->result);
	if (at_worth_logging(rec))
		at_emit(vm, rec);
}
NOKPROBE_SYMBOL(at_vm_record_request);

/* ---------------------------------------------------------------- */
/* Readers: per-VM facts and aggregates                             */
/* ---------------------------------------------------------------- */

/* KVM's key for @vm, or "<pid>-vm<id>" while KVM's is not known. */
void at_vm_kvm_key(const struct at_vm *vm, char *out, size_t len)
{
	if (at_vm_key_known(vm))
		strscpy(out, vm->raw_key, len);
	else
		snprintf(out, len, "%d-vm%u", vm->pid, vm->id);
}

bool at_vm_key_known(const struct at_vm *vm)
{
	return atomic_read_acquire(&vm->key_state) == AT_KEY_VALID;
}

/* A VM's display key; caller holds at_vm_mutex or the VM has a dir. */
void at_vm_key(const struct at_vm *vm, char *out)
{
	if (vm->has_dir)
		strscpy(out, vm->key, AT_KEY_LEN);
	else
		at_vm_kvm_key(vm, out, AT_KEY_LEN);
}

/* The VM's name from its VMM, "" while unread or when it has none. */
const char *at_vm_name(const struct at_vm *vm)
{
	return smp_load_acquire(&vm->name_state) == AT_NAME_DONE ? vm->name : "";
}

/*
 * The display key and name of the VM with serial @id; "vm<id>" and ""
 * once it is freed.
 */
void at_vm_key_by_id(unsigned int id, char *out, char *name, size_t name_len)
{
	struct at_vm *vm;

	snprintf(out, AT_KEY_LEN, "vm%u", id);
	name[0] = '\0';
	mutex_lock(&at_vm_mutex);
	at_for_each_vm(vm) {
		if (vm->id == id) {
			at_vm_key(vm, out);
			strscpy(name, at_vm_name(vm), name_len);
			break;
		}
	}
	mutex_unlock(&at_vm_mutex);
}

/*
 * Records no reader can get any more: overwritten, abandoned, or cleared
 * from the history (those are not counted). Exact once writers are done.
 * Only a ring that ever abandoned a write needs its slots looked at.
 */
u64 at_vm_lost(const struct at_vm *vm)
{
	u64 floor = READ_ONCE(vm->hist_floor), head = at_ring_head(vm->ring);
	u64 cap = at_ring_capacity(vm->ring);
	u64 pos = max(head > cap ? head - cap : 0, floor), lost = pos - floor;

	if (!at_ring_dropped(vm->ring))
		return lost;
	for (; pos < head; pos++)
		lost += !at_ring_present(vm->ring, pos);
	return lost;
}

/* Nanoseconds reason @b of @vm was set, up to @end. */
u64 at_vm_reason_ns(const struct at_vm *vm, unsigned int b, u64 end)
{
	const struct at_reason_stat *rs = &vm->reason[b];
	u64 total = atomic64_read(&rs->total_ns);

	if (READ_ONCE(vm->mask) & BIT(b))
		total += at_ns_between(READ_ONCE(rs->since_ns), end);
	return total;
}

/* Did any reason of @vm flap in the minute before @now (AT_FLAP_MIN changes)? */
bool at_vm_flapping(const struct at_vm *vm, u64 now)
{
	unsigned int b;

	for (b = 0; b < AT_MAX_BITS; b++)
		if (at_flap_changes(&vm->reason[b], now, AT_FLAP_SLOTS) >=
		    AT_FLAP_MIN)
			return true;
	return false;
}

/* ---------------------------------------------------------------- */
/* Process context                                                  */
/* ---------------------------------------------------------------- */

/*
 * Rings are vmalloc()ed: a ring is a 64-byte header plus a power of two of
 * 128-byte slots, which kmalloc() would round up to twice its size (32.1
 * KiB at the default ring_size takes 64 KiB); vmalloc() takes whole pages
 * (36 KiB). Memory is accounted as really allocated.
 */
size_t at_ring_alloc_bytes(unsigned int order)
{
	return PAGE_ALIGN(at_ring_bytes(order));
}

/* No allocation warning: a failure is counted (alloc_failed), not fatal. */
struct at_ring *at_ring_alloc(unsigned int order)
{
	struct at_ring *r = __vmalloc(at_ring_bytes(order),
				      GFP_KERNEL | __GFP_NOWARN);

	if (r)
		at_ring_init(r, order);
	return r;
}

/*
 * The spare pool: slot @i holds a spare or NULL. Probe context takes
 * spares (xchg) and hands back the ones it did not need; the worker fills
 * the slots (worker.c).
 */
struct at_vm *at_spare_get(unsigned int i)
{
	return READ_ONCE(at_spare[i]);
}

/* Put @new in slot @i if it holds @old; false if it did not. */
bool at_spare_swap(unsigned int i, struct at_vm *old, struct at_vm *new)
{
	return cmpxchg(&at_spare[i], old, new) == old;
}

/* The spares probe context took but did not need (an llist of ->orphan). */
struct llist_node *at_spares_returned(void)
{
	return llist_del_all(&at_orphans);
}

/* Take an exited VM off the list (worker, at_vm_mutex held). */
void at_vm_unlist(struct at_vm *vm)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&at_vm_lock, flags);
	list_del_rcu(&vm->node);
	raw_spin_unlock_irqrestore(&at_vm_lock, flags);
}

/*
 * clear=events: start every live VM's event history afresh. Records are
 * not touched: readers skip positions below the floor. The aggregates are
 * kept.
 */
void at_vm_clear_events(void)
{
	struct at_vm *vm;

	mutex_lock(&at_vm_mutex);
	at_for_each_vm(vm)
		WRITE_ONCE(vm->hist_floor, at_ring_head(vm->ring));
	mutex_unlock(&at_vm_mutex);
}

static void at_irq_work_fn(struct irq_work *w)
{
	if (atomic_xchg(&at_work_needed, 0) && !READ_ONCE(at_shutting_down) &&
	    at_kwork)
		kthread_queue_work(at_kworker, at_kwork);
	if (atomic_read(&at_followers))
		wake_up_interruptible(&at_follow_wq);
}

/* What at_vm_kick() queues: the worker's work on its own thread. */
void at_vm_wake_init(struct kthread_worker *worker, struct kthread_work *work)
{
	at_kworker = worker;
	at_kwork = work;
}

int at_vm_init(unsigned int stream_order)
{
	at_stream = at_ring_alloc(stream_order);
	if (!at_stream)
		return -ENOMEM;
	atomic_long_add(at_ring_alloc_bytes(stream_order), &at_stats.mem_bytes);
	init_irq_work(&at_irq_work, at_irq_work_fn);
	return 0;
}

/*
 * Hooks are disarmed: no more wake-ups of the worker or of readers. Called
 * twice (worker.c): a kick that read at_shutting_down just before it was
 * set is synced by the second call.
 */
void at_vm_stop(void)
{
	WRITE_ONCE(at_shutting_down, true);
	irq_work_sync(&at_irq_work);
}

/* After the worker freed every VM (at_worker_exit()). */
void at_vm_exit(void)
{
	vfree(at_stream);
}
