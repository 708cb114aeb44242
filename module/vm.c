// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM state: the registry of VMs, their aggregates and rings.
 *
 * Probe context (called from hooks.c) looks VMs up under RCU and writes to
 * rings without locks. Registering or retiring a VM (rare: VM creation and
 * destruction) takes at_vm_lock, a spinlock with IRQs off held for a few
 * list operations, and takes a preallocated record from a spare pool.
 * Nothing in probe context sleeps or allocates. Everything that can sleep
 * (allocating spares, creating and removing debugfs directories, freeing
 * exited VMs) is done by one work item on the module's own kthread worker
 * ("apicv_trace"), kicked through an irq_work. Its own thread keeps that
 * work out of the system workqueue and makes it a target of its own for
 * fault injection (/proc/PID/make-it-fail).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/kprobes.h>
#include <linux/llist.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "apicv_trace.h"

#define AT_SPARES 32	/* VM creations absorbed before the worker refills */

static DEFINE_HASHTABLE(at_vm_hash, 8);		/* live VMs by struct kvm * */
static DEFINE_SPINLOCK(at_vm_lock);		/* hash and list updates */
LIST_HEAD(at_vm_list);				/* every tracked VM */
DEFINE_MUTEX(at_vm_mutex);			/* list readers vs. freeing */

static struct at_vm *at_spare[AT_SPARES];	/* claimed with xchg() */
static LLIST_HEAD(at_orphans);			/* spares given back */
static atomic_t at_vm_ids = ATOMIC_INIT(0);
static atomic_t at_nr_allocated = ATOMIC_INIT(0);
static atomic64_t at_gseq = ATOMIC64_INIT(0);

struct at_ring *at_stream;
DECLARE_WAIT_QUEUE_HEAD(at_follow_wq);
atomic_t at_followers = ATOMIC_INIT(0);
bool at_shutting_down;
struct at_stats at_stats;

static atomic_t at_work_needed = ATOMIC_INIT(0);
static atomic_t at_clear_exited = ATOMIC_INIT(0);
static struct irq_work at_irq_work;
static struct kthread_worker *at_kworker;
static struct kthread_work at_work;

u64 at_now(void)
{
	return ktime_get_boot_fast_ns();
}
NOKPROBE_SYMBOL(at_now);

/* ---------------------------------------------------------------- */
/* Probe context                                                    */
/* ---------------------------------------------------------------- */

/* Ask the worker to run; safe from any context. */
void at_vm_kick(void)
{
	atomic_set(&at_work_needed, 1);
	irq_work_queue(&at_irq_work);
}
NOKPROBE_SYMBOL(at_vm_kick);

void at_rec_init(struct at_rec *rec, unsigned char event)
{
	memset(rec, 0, sizeof(*rec));
	rec->event = event;
	rec->bit = AT_NO_BIT;
	rec->vcpu = AT_NO_VCPU;
	rec->ns = at_now();
	rec->cpu = raw_smp_processor_id();
	rec->tid = current->pid;
	memcpy(rec->comm, current->comm, sizeof(rec->comm));
	rec->comm[sizeof(rec->comm) - 1] = '\0';
	rec->site_gen = at_kvm_gen();
}
NOKPROBE_SYMBOL(at_rec_init);

/* Caller holds rcu_read_lock() (or runs with preemption disabled). */
struct at_vm *at_vm_lookup(const struct kvm *kvm)
{
	struct at_vm *vm;

	hash_for_each_possible_rcu(at_vm_hash, vm, hnode, (unsigned long)kvm)
		if (READ_ONCE(vm->kvm) == kvm)
			return vm;
	return NULL;
}
NOKPROBE_SYMBOL(at_vm_lookup);

static struct at_vm *at_take_spare(void)
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
static void at_give_back(struct at_vm *vm)
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
static struct at_vm *at_vm_insert(const struct kvm *kvm, bool baseline,
				   unsigned long mask, bool *fresh)
{
	struct at_vm *vm, *old, *stale = NULL;
	unsigned long flags;
	unsigned int b;

	*fresh = false;
	vm = at_take_spare();
	if (!vm)
		return NULL;

	spin_lock_irqsave(&at_vm_lock, flags);
	old = at_vm_lookup(kvm);
	if (old && baseline) {
		spin_unlock_irqrestore(&at_vm_lock, flags);
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
	vm->pid = current->pid;
	memcpy(vm->comm, current->comm, sizeof(vm->comm));
	vm->comm[sizeof(vm->comm) - 1] = '\0';
	vm->mask = mask;	/* before it is visible: see at_vm_get_or_adopt() */
	for_each_set_bit(b, &mask, AT_MAX_BITS)
		vm->reason[b].since_ns = vm->created_ns;
	hash_add_rcu(at_vm_hash, &vm->hnode, (unsigned long)kvm);
	list_add_tail_rcu(&vm->node, &at_vm_list);
	spin_unlock_irqrestore(&at_vm_lock, flags);

	if (stale) {
		WRITE_ONCE(stale->exited_ns, at_now());
		atomic64_inc(&at_stats.vms_exited);
	}
	atomic64_inc(&at_stats.vms_created);
	*fresh = true;
	return vm;
}
NOKPROBE_SYMBOL(at_vm_insert);

struct at_vm *at_vm_create(const struct kvm *kvm)
{
	bool fresh;

	return at_vm_insert(kvm, false, 0, &fresh);
}
NOKPROBE_SYMBOL(at_vm_create);

/*
 * The VM for @kvm; a VM that existed before the module loaded is adopted
 * with @mask, KVM's mask as the caller saw it, as a baseline. The baseline
 * is in place before the VM becomes visible, so a setter running at the
 * same time on another CPU accounts on top of it. Never adopts a VM that
 * is being destroyed.
 */
struct at_vm *at_vm_get_or_adopt(const struct kvm *kvm, unsigned long mask)
{
	struct at_vm *vm = at_vm_lookup(kvm);
	struct at_rec rec;
	bool fresh;

	if (vm)
		return vm;
	if (!at_kvm_alive(kvm)) {
		atomic64_inc(&at_stats.untracked);
		return NULL;
	}
	vm = at_vm_insert(kvm, true, mask, &fresh);
	if (!vm) {
		atomic64_inc(&at_stats.untracked);
		return NULL;
	}
	if (fresh) {
		WRITE_ONCE(vm->nr_vcpus, atomic_read(&kvm->online_vcpus));
		at_rec_init(&rec, AT_EV_BASELINE);
		rec.old_mask = mask;
		rec.new_mask = mask;
		at_emit(vm, &rec);
	}
	return vm;
}
NOKPROBE_SYMBOL(at_vm_get_or_adopt);

/* kvm_arch_destroy_vm(): the VM stays readable until trimmed. */
void at_vm_retire(struct at_vm *vm, const struct kvm *kvm)
{
	unsigned long flags;
	bool mine = false;

	spin_lock_irqsave(&at_vm_lock, flags);
	if (READ_ONCE(vm->kvm) == kvm) {
		hash_del_rcu(&vm->hnode);
		WRITE_ONCE(vm->kvm, NULL);
		mine = true;
	}
	spin_unlock_irqrestore(&at_vm_lock, flags);
	if (!mine)
		return;
	WRITE_ONCE(vm->exited_ns, at_now());
	atomic64_inc(&at_stats.vms_exited);
	at_vm_kick();
}
NOKPROBE_SYMBOL(at_vm_retire);

/* Remember KVM's debugfs name for the VM, once. Only while at_kvm_alive(). */
void at_vm_note_key(struct at_vm *vm, const struct kvm *kvm)
{
	const char *name;

	if (atomic_read(&vm->key_state) == 2 || !at_kvm_alive(kvm))
		return;
	name = at_kvm_debugfs_name(kvm);
	if (!name)
		return;
	if (atomic_cmpxchg(&vm->key_state, 0, 1) != 0)
		return;
	strscpy(vm->raw_key, name, sizeof(vm->raw_key));
	atomic_set_release(&vm->key_state, 2);
	at_vm_kick();
}
NOKPROBE_SYMBOL(at_vm_note_key);

/*
 * Update the exact aggregates for one changed bit. KVM serialises changes
 * of one VM's mask (apicv_update_lock from 6.1 on), so per-bit state is
 * written by one CPU at a time; counters are atomic for the 5.10 path.
 */
/* Count one change of a reason in its flapping slots. */
static void at_flap_count(struct at_reason_stat *rs, u64 ns)
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
 * one VM are serialized by KVM (apicv_update_lock, 6.1+), so the plain
 * updates here do not race with each other.
 */
void at_account(struct at_vm *vm, const struct at_rec *rec)
{
	unsigned long old = READ_ONCE(vm->mask), new;
	unsigned int bit = rec->bit;
	bool set = rec->event == AT_EV_SET;
	struct at_reason_stat *rs;
	u64 ns = rec->ns;

	if (bit >= AT_MAX_BITS)
		return;
	rs = &vm->reason[bit];
	WRITE_ONCE(rs->last_ns[set], ns);
	WRITE_ONCE(rs->last_site[set], rec->site);
	WRITE_ONCE(rs->last_gen[set], rec->site_gen);
	at_flap_count(rs, ns);
	if (set) {
		atomic64_inc(&rs->sets);
		WRITE_ONCE(rs->since_ns, ns);
		new = old | BIT(bit);
	} else {
		atomic64_inc(&rs->clears);
		if (old & BIT(bit))
			atomic64_add(ns - READ_ONCE(rs->since_ns), &rs->total_ns);
		new = old & ~BIT(bit);
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
static void at_note_mismatch(struct at_vm *vm, const struct at_rec *rec)
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

/* Stamp and store one record: the VM's ring, then the follow stream. */
void at_emit(struct at_vm *vm, struct at_rec *rec)
{
	if (rec->event == AT_EV_APIC_ID && !(rec->flags & AT_F_MATCH) &&
	    rec->xapic_id != U32_MAX)
		at_note_mismatch(vm, rec);
	rec->gseq = atomic64_inc_return(&at_gseq);
	rec->vm_id = vm->id;
	at_ring_write(vm->ring, rec, NULL);
	at_ring_write(at_stream, rec, NULL);
	this_cpu_inc(at_events);	/* vm's count: its ring's head */
	if (atomic_read(&at_followers))
		irq_work_queue(&at_irq_work);
}
NOKPROBE_SYMBOL(at_emit);

/* ---------------------------------------------------------------- */
/* Process context                                                  */
/* ---------------------------------------------------------------- */

/*
 * Rings are vmalloc()ed: a ring is a 64-byte header plus a power of two of
 * 128-byte slots, which kmalloc() would round up to twice its size (32.1
 * KiB at the default ring_size takes 64 KiB); vmalloc() takes whole pages
 * (36 KiB). Memory is accounted as really allocated.
 */
static size_t at_ring_alloc_bytes(unsigned int order)
{
	return PAGE_ALIGN(at_ring_bytes(order));
}

/* No allocation warning: a failure is counted (alloc_failed), not fatal. */
static struct at_ring *at_ring_alloc(unsigned int order)
{
	struct at_ring *r = __vmalloc(at_ring_bytes(order),
				      GFP_KERNEL | __GFP_NOWARN);

	if (r)
		at_ring_init(r, order);
	return r;
}

static size_t at_vm_bytes(unsigned int order)
{
	/* kmalloc() rounds a struct this size up to a power of two */
	return roundup_pow_of_two(sizeof(struct at_vm)) +
	       at_ring_alloc_bytes(order);
}

static struct at_vm *at_vm_alloc(void)
{
	unsigned int order = READ_ONCE(at_ring_order);
	struct at_vm *vm;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL | __GFP_NOWARN);
	if (!vm)
		goto fail;
	vm->ring = at_ring_alloc(order);
	if (!vm->ring)
		goto fail_ring;
	INIT_LIST_HEAD(&vm->node);
	atomic_long_add(at_vm_bytes(order), &at_stats.mem_bytes);
	atomic_inc(&at_nr_allocated);
	return vm;

fail_ring:
	kfree(vm);
fail:
	atomic64_inc(&at_stats.alloc_failed);
	return NULL;
}

static void at_vm_free(struct at_vm *vm)
{
	atomic_long_sub(at_vm_bytes(vm->ring->order), &at_stats.mem_bytes);
	atomic_dec(&at_nr_allocated);
	vfree(vm->ring);
	kfree(vm);
}

/* Return spares given back by probes to the pool (or free them). */
static void at_collect_orphans(void)
{
	struct llist_node *list = llist_del_all(&at_orphans);
	struct at_vm *vm, *tmp;
	int i;

	llist_for_each_entry_safe(vm, tmp, list, orphan) {
		at_ring_init(vm->ring, vm->ring->order);
		for (i = 0; i < AT_SPARES; i++)
			if (!cmpxchg(&at_spare[i], NULL, vm))
				break;
		if (i == AT_SPARES)
			at_vm_free(vm);
	}
}

/*
 * Keep spare VM records for probe context, with the current ring_size: up
 * to AT_SPARES, but about 2 MiB of them at most (at least 4) when rings
 * are large.
 */
static void at_refill(void)
{
	size_t bytes = at_vm_bytes(READ_ONCE(at_ring_order));
	int want = clamp_t(int, SZ_2M / bytes, 4, AT_SPARES);
	struct at_vm *vm;
	int i, have = 0;

	for (i = 0; i < AT_SPARES; i++) {
		vm = READ_ONCE(at_spare[i]);
		if (vm && vm->ring->order != READ_ONCE(at_ring_order) &&
		    cmpxchg(&at_spare[i], vm, NULL) == vm) {
			at_vm_free(vm);	/* ring_size changed */
			vm = NULL;
		}
		have += !!vm;
	}
	for (i = 0; i < AT_SPARES && have < want; i++) {
		if (READ_ONCE(at_spare[i]))
			continue;
		if (atomic_read(&at_nr_allocated) >= READ_ONCE(at_max_vms))
			return;
		vm = at_vm_alloc();
		if (!vm)
			return;
		if (cmpxchg(&at_spare[i], NULL, vm))
			at_vm_free(vm);
		else
			have++;
	}
}

static bool at_key_taken(const char *key, const struct at_vm *self)
{
	struct at_vm *vm;

	list_for_each_entry_rcu(vm, &at_vm_list, node,
				lockdep_is_held(&at_vm_mutex))
		if (vm != self && vm->has_dir && !strcmp(vm->key, key))
			return true;
	return false;
}

/*
 * Choose the display key: KVM's "<pid>-<fd>", made unique with ".N".
 * KVM's names are at most "<10 digits>-<10 digits>", so base never loses
 * characters to the room kept for the suffix.
 */
static void at_name_vm(struct at_vm *vm)
{
	char base[AT_KEY_LEN - 8];
	unsigned int n;

	if (atomic_read_acquire(&vm->key_state) == 2)
		strscpy(base, vm->raw_key, sizeof(base));
	else
		snprintf(base, sizeof(base), "%d-vm%u", vm->pid, vm->id);
	strscpy(vm->key, base, sizeof(vm->key));
	for (n = 2; at_key_taken(vm->key, vm) && n < 1000000; n++)
		snprintf(vm->key, sizeof(vm->key), "%s.%u", base, n);
}

static void at_work_fn(struct kthread_work *work)
{
	LIST_HEAD(doomed);
	struct at_vm *vm, *tmp;
	unsigned int exited = 0, limit;
	unsigned long flags;

	at_collect_orphans();
	if (READ_ONCE(at_shutting_down))
		return;
	at_refill();

	mutex_lock(&at_vm_mutex);
	/* Name VMs once KVM's key is known, or once they are gone. */
	list_for_each_entry_rcu(vm, &at_vm_list, node,
				lockdep_is_held(&at_vm_mutex)) {
		if (vm->has_dir)
			continue;
		if (atomic_read_acquire(&vm->key_state) != 2 &&
		    !READ_ONCE(vm->exited_ns))
			continue;
		at_name_vm(vm);
		vm->has_dir = true;
		at_debugfs_add_vm(vm);
	}

	/*
	 * Drop the oldest exited VMs beyond max_exited (all, on clear).
	 * Probes only append to the list (under at_vm_lock); only this
	 * worker deletes, so a forward walk that saves ->next is safe.
	 */
	limit = atomic_xchg(&at_clear_exited, 0) ? 0 : READ_ONCE(at_max_exited);
	list_for_each_entry_rcu(vm, &at_vm_list, node,
				lockdep_is_held(&at_vm_mutex))
		if (READ_ONCE(vm->exited_ns) && !READ_ONCE(vm->kvm))
			exited++;
	list_for_each_entry_safe(vm, tmp, &at_vm_list, node) {
		if (exited <= limit)
			break;
		if (!READ_ONCE(vm->exited_ns) || READ_ONCE(vm->kvm))
			continue;
		exited--;
		at_debugfs_remove_vm(vm);
		spin_lock_irqsave(&at_vm_lock, flags);
		list_del_rcu(&vm->node);
		spin_unlock_irqrestore(&at_vm_lock, flags);
		list_add(&vm->doomed, &doomed);
	}
	mutex_unlock(&at_vm_mutex);

	if (list_empty(&doomed))
		return;
	synchronize_rcu();	/* no reader of at_vm_list still sees them */
	list_for_each_entry_safe(vm, tmp, &doomed, doomed) {
		at_vm_free(vm);
		atomic64_inc(&at_stats.vms_freed);
	}
}

static void at_irq_work_fn(struct irq_work *w)
{
	if (atomic_xchg(&at_work_needed, 0) && !READ_ONCE(at_shutting_down))
		kthread_queue_work(at_kworker, &at_work);
	if (atomic_read(&at_followers))
		wake_up_interruptible(&at_follow_wq);
}

/*
 * clear=: forget exited VMs (the worker frees them), and/or start every
 * live VM's event history afresh. Records are not touched: readers skip
 * positions below the floor. The aggregates are kept.
 */
void at_vm_clear(bool exited, bool events)
{
	struct at_vm *vm;

	if (events) {
		mutex_lock(&at_vm_mutex);
		at_for_each_vm(vm)
			WRITE_ONCE(vm->hist_floor, at_ring_head(vm->ring));
		mutex_unlock(&at_vm_mutex);
	}
	if (exited) {
		atomic_set(&at_clear_exited, 1);
		at_vm_kick();
	}
}

int at_vm_init(unsigned int stream_order)
{
	int ret;

	at_stream = at_ring_alloc(stream_order);
	if (!at_stream)
		return -ENOMEM;
	at_kworker = kthread_create_worker(0, KBUILD_MODNAME);
	if (IS_ERR(at_kworker)) {
		ret = PTR_ERR(at_kworker);
		goto err_stream;
	}
	atomic_long_add(at_ring_alloc_bytes(stream_order), &at_stats.mem_bytes);
	init_irq_work(&at_irq_work, at_irq_work_fn);
	kthread_init_work(&at_work, at_work_fn);
	at_refill();
	return 0;

err_stream:
	vfree(at_stream);
	return ret;
}

/*
 * Hooks are disarmed: nothing produces events any more. Stop the worker
 * before debugfs goes away, since it creates and removes directories.
 */
void at_vm_stop(void)
{
	WRITE_ONCE(at_shutting_down, true);
	irq_work_sync(&at_irq_work);
	kthread_cancel_work_sync(&at_work);
}

/*
 * After at_vm_stop() and the removal of every debugfs file (or straight
 * after at_vm_init(), when the module's init fails: no work was queued).
 */
void at_vm_exit(void)
{
	struct at_vm *vm, *tmp;
	int i;

	kthread_destroy_worker(at_kworker);
	synchronize_rcu();
	at_collect_orphans();
	list_for_each_entry_safe(vm, tmp, &at_vm_list, node) {
		list_del(&vm->node);
		at_vm_free(vm);
	}
	for (i = 0; i < AT_SPARES; i++) {
		vm = xchg(&at_spare[i], NULL);
		if (vm)
			at_vm_free(vm);
	}
	vfree(at_stream);
}
