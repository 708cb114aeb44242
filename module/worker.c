// SPDX-License-Identifier: GPL-2.0
/*
 * The process-context half: everything that can sleep. One work item on
 * the module's own kthread worker ("apicv_trace") allocates spare VM
 * records for probe context, names VMs and creates their vm/<key>/
 * directories, reads the name each VM's VMM gave it, trims and frees
 * exited VMs. Its own thread keeps that work
 * out of the system workqueue and makes it a target of its own for fault
 * injection (/proc/PID/make-it-fail). Probe context never calls in here:
 * it kicks the worker through vm.c (at_vm_kick()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kthread.h>
#include <linux/llist.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pid_namespace.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "apicv_trace.h"
#include "vmname.h"

static atomic_t at_nr_allocated = ATOMIC_INIT(0);
static atomic_t at_clear_exited = ATOMIC_INIT(0);
static struct kthread_worker *at_kworker;
static struct kthread_work at_work;

/* ---------------------------------------------------------------- */
/* VM records and the spare pool                                    */
/* ---------------------------------------------------------------- */

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
	raw_spin_lock_init(&vm->acct_lock);
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
	struct llist_node *list = at_spares_returned();
	struct at_vm *vm, *tmp;
	int i;

	llist_for_each_entry_safe(vm, tmp, list, orphan) {
		at_ring_init(vm->ring, vm->ring->order);
		for (i = 0; i < AT_SPARES; i++)
			if (at_spare_swap(i, NULL, vm))
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
		vm = at_spare_get(i);
		if (vm && vm->ring->order != READ_ONCE(at_ring_order) &&
		    at_spare_swap(i, vm, NULL)) {
			at_vm_free(vm);	/* ring_size changed */
			vm = NULL;
		}
		have += !!vm;
	}
	for (i = 0; i < AT_SPARES && have < want; i++) {
		if (at_spare_get(i))
			continue;
		if (atomic_read(&at_nr_allocated) >= READ_ONCE(at_max_vms))
			return;
		vm = at_vm_alloc();
		if (!vm)
			return;
		if (!at_spare_swap(i, NULL, vm))
			at_vm_free(vm);
		else
			have++;
	}
}

/* ---------------------------------------------------------------- */
/* Naming and trimming                                              */
/* ---------------------------------------------------------------- */

static bool at_key_taken(const char *key, const struct at_vm *self)
{
	struct at_vm *vm;

	at_for_each_vm(vm)
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

	at_vm_kvm_key(vm, base, sizeof(base));
	strscpy(vm->key, base, sizeof(vm->key));
	for (n = 2; at_key_taken(vm->key, vm) && n < 1000000; n++)
		snprintf(vm->key, sizeof(vm->key), "%s.%u", base, n);
}

/*
 * How many spares the pool keeps when records are at max_vms: a live VM
 * always wins over an exited one, so exited VMs are evicted (the first to
 * exit first) to keep max_vms/8 of them, 1 to 4, for VM creations.
 */
#define AT_SPARES_AT_CAP 4

static bool at_vm_exited(const struct at_vm *vm)
{
	return READ_ONCE(vm->exited_ns) && !READ_ONCE(vm->kvm);
}

/*
 * Exited VMs to evict (at_vm_mutex held): beyond max_exited (every one on
 * clear=exited), and beyond what leaves room for AT_SPARES_AT_CAP spares
 * under max_vms. The effective max_exited is at most max_vms - 1, so a
 * full house of exited VMs never stops a new one from being tracked.
 */
static unsigned int at_evictions(unsigned int exited, bool clear)
{
	unsigned int max_vms = READ_ONCE(at_max_vms);
	unsigned int limit = clear ? 0 : READ_ONCE(at_max_exited);
	unsigned int spares = 0, want, allocated, room, need, evict, i;

	limit = min(limit, max_vms - 1);
	for (i = 0; i < AT_SPARES; i++)
		spares += !!at_spare_get(i);
	want = clamp_t(unsigned int, max_vms / 8, 1, AT_SPARES_AT_CAP);
	allocated = atomic_read(&at_nr_allocated);
	room = allocated < max_vms ? max_vms - allocated : 0;
	need = want > spares + room ? want - spares - room : 0;
	evict = exited > limit ? exited - limit : 0;
	return max(evict, min(need, exited));
}

/* Take @vm off the list and its files away, onto @doomed. */
static void at_doom(struct at_vm *vm, struct list_head *doomed)
{
	at_debugfs_remove_vm(vm);
	at_vm_unlist(vm);
	list_add(&vm->doomed, doomed);
}

/*
 * Take the @n exited VMs (of @exited) that exited first off the list,
 * onto @doomed (at_vm_mutex held). The post-mortem of a VM that just
 * exited is what this tool is for: eviction goes by exit time, not
 * creation time.
 */
static void at_pick_oldest_exited(unsigned int n, unsigned int exited,
				  struct list_head *doomed)
{
	struct at_vm *vm, *oldest;

	if (n && n >= exited) {		/* all of them (clear=exited): one pass */
		at_for_each_vm(vm)
			if (at_vm_exited(vm))
				at_doom(vm, doomed);
		return;
	}
	while (n--) {			/* usually one: a VM just exited */
		oldest = NULL;
		at_for_each_vm(vm)
			if (at_vm_exited(vm) &&
			    (!oldest || READ_ONCE(vm->exited_ns) <
					READ_ONCE(oldest->exited_ns)))
				oldest = vm;
		if (!oldest)
			return;
		at_doom(oldest, doomed);
		cond_resched();
	}
}

/*
 * The VM's name from its VMM's command line (vmname.h), read once in
 * process context while the VMM lives, as /proc/<pid>/cmdline does: the
 * name stays with the exited VM. The VMM is the process of the thread
 * that created the VM (vm->pid, a global pid); a VMM that is gone, or
 * gives no -name, leaves the name empty.
 */
static void at_read_vm_name(struct at_vm *vm, char *buf)
{
	struct task_struct *task;
	struct mm_struct *mm = NULL;
	unsigned long start = 0, end = 0;
	int n = 0;

	rcu_read_lock();
	task = pid_task(find_pid_ns(vm->pid, &init_pid_ns), PIDTYPE_PID);
	if (task)
		get_task_struct(task);
	rcu_read_unlock();
	if (task)
		mm = get_task_mm(task);
	/* the pid reused by another process: not the VMM of this VM */
	if (mm && mm != vm->vmm_mm) {
		mmput(mm);
		mm = NULL;
	}
	if (mm) {
		/*
		 * Without mm->arg_lock (a spinlock_t: no sleeping lock in this
		 * module, PREEMPT_RT included): a racing prctl(PR_SET_MM) can
		 * at worst give a wrong range, read bounded and unchecked.
		 */
		start = READ_ONCE(mm->arg_start);
		end = READ_ONCE(mm->arg_end);
		if (end > start)
			n = access_process_vm(task, start, buf,
					      min_t(unsigned long, end - start,
						    PAGE_SIZE), 0);
		mmput(mm);
	}
	if (task)
		put_task_struct(task);
	if (n > 0)
		at_vmname_parse(buf, n, vm->name, sizeof(vm->name));
	smp_store_release(&vm->name_state, AT_NAME_DONE);
}

/* VMs whose names one pass of the worker reads, at most */
#define AT_NAMES_PER_PASS 16

static void at_work_fn(struct kthread_work *work)
{
	LIST_HEAD(doomed);
	struct at_vm *vm, *tmp, *unnamed[AT_NAMES_PER_PASS];
	unsigned int exited = 0, nunnamed = 0, i;
	bool clear;

	at_collect_orphans();
	if (READ_ONCE(at_shutting_down))
		return;
	at_probes_disarm_refused();

	mutex_lock(&at_vm_mutex);
	/*
	 * Probes add VMs to the list (under at_vm_lock) while this walks it:
	 * every walk is an RCU list walk. Only this worker deletes.
	 */
	at_for_each_vm(vm) {
		/* Name VMs once KVM's key is known, or once they are gone. */
		if (!vm->has_dir &&
		    (at_vm_key_known(vm) || READ_ONCE(vm->exited_ns))) {
			at_name_vm(vm);
			vm->has_dir = true;
			at_debugfs_add_vm(vm);
		}
		exited += at_vm_exited(vm);
	}
	clear = atomic_xchg(&at_clear_exited, 0);
	at_pick_oldest_exited(at_evictions(exited, clear), exited, &doomed);
	/*
	 * VMs to name, live ones only and after the evictions (only exited
	 * VMs are evicted, and only by this worker): the names are read
	 * after at_vm_mutex is dropped and the evicted VMs are freed.
	 */
	at_for_each_vm(vm)
		if (vm->name_state == AT_NAME_NONE && READ_ONCE(vm->kvm) &&
		    nunnamed < AT_NAMES_PER_PASS)
			unnamed[nunnamed++] = vm;
	mutex_unlock(&at_vm_mutex);

	if (!list_empty(&doomed)) {
		synchronize_rcu();	/* no reader of at_vm_list still sees them */
		list_for_each_entry_safe(vm, tmp, &doomed, doomed) {
			at_vm_free(vm);
			atomic64_inc(&at_stats.vms_freed);
		}
	}
	at_refill();	/* spare records first: the probes may be waiting */

	/*
	 * Outside at_vm_mutex: reading another process's memory may wait for
	 * its mmap lock, and the files must not wait with it.
	 */
	if (nunnamed) {
		char *buf = kmalloc(PAGE_SIZE, GFP_KERNEL);	/* vmname.h needs no NUL */

		for (i = 0; i < nunnamed; i++) {
			if (buf)
				at_read_vm_name(unnamed[i], buf);
			cond_resched();
		}
		kfree(buf);
		if (nunnamed == AT_NAMES_PER_PASS)
			at_vm_kick();	/* more to read */
	}
}

/* clear=exited: forget exited VMs (the worker frees them). */
void at_worker_clear_exited(void)
{
	atomic_set(&at_clear_exited, 1);
	at_vm_kick();
}

/* ---------------------------------------------------------------- */
/* Start and stop                                                   */
/* ---------------------------------------------------------------- */

int at_worker_init(void)
{
	at_kworker = kthread_create_worker(0, KBUILD_MODNAME);
	if (IS_ERR(at_kworker))
		return PTR_ERR(at_kworker);
	kthread_init_work(&at_work, at_work_fn);
	at_vm_wake_init(at_kworker, &at_work);
	at_refill();
	return 0;
}

/*
 * Hooks are disarmed: nothing produces events any more. Stop the worker
 * before debugfs goes away, since it creates and removes directories.
 */
void at_worker_stop(void)
{
	at_vm_stop();
	kthread_cancel_work_sync(&at_work);
	/* a kick from the worker's last pass, made before it saw the flag */
	at_vm_stop();
}

/*
 * After at_worker_stop() and the removal of every debugfs file (or
 * straight after at_worker_init(), when the module's init fails: no work
 * was queued). Frees every VM record.
 */
void at_worker_exit(void)
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
		vm = at_spare_get(i);
		if (vm && at_spare_swap(i, vm, NULL))
			at_vm_free(vm);
	}
}
