/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apicv-trace: internal interfaces. The files form a ladder; a file calls
 * only files below it, never one above, so no call goes round in a circle:
 *
 *   main.c     parameters, init and exit            calls everything below
 *   worker.c   process context: spares, names,      debugfs.c, probes.c,
 *              vm/<key>/ dirs, trimming, freeing,   vm.c
 *              disarming refused hooks
 *   debugfs.c  the files and their lines            probes.c, hooks.c, vm.c
 *   probes.c   resolve, arm, disarm, hook_target,   hooks.c, vm.c
 *              the module notifier, coverage
 *   hooks.c    the handlers, the hook table and     vm.c
 *              the table of calls in flight
 *   vm.c       per-VM state: registry, aggregates,  compat only
 *              rings, the kvm load generation, the
 *              worker's wake-up
 *   compat.c   the kernel version seam (compat.h)   nothing
 *
 * compat, the bottom rung, may be called from any file; ring.h, record.h
 * and format.h are headers of inline code and definitions only.
 *
 * Records flow the same way as the calls: hooks.c -> vm.c (one call per
 * record), and the readers (debugfs.c) read what vm.c keeps. The worker
 * never runs in probe context: vm.c wakes it (at_vm_kick()). Shared
 * variables follow the ladder too: each lives in the lowest file that
 * uses it (the parameters' values in vm.c, main.c only sets them).
 *
 * Every function a probe handler can reach (hooks.c, vm.c, prof.c) is
 * marked twice: NOKPROBE_SYMBOL(), the kernel's list of functions no kprobe
 * may be placed on, and __kprobes, the .kprobes.text section, which
 * kprobes refuses whole for a module (5.8+). The list covers a function's
 * own symbol only; the compiler may split a function into pieces
 * ("f.part.0", "f.cold"), and it does not split a function out of a
 * section of its own. scripts/buildroot.sh checks both on each kernel's
 * build.
 *
 * Below, the interfaces grouped per file, from the bottom of the ladder up.
 */
#ifndef APICV_TRACE_H
#define APICV_TRACE_H

#include <linux/types.h>
#include <linux/sched.h>
#include <linux/list.h>
#include <linux/atomic.h>
#include <linux/wait.h>
#include <linux/mutex.h>
#include <linux/llist.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>

#include "ring.h"
#include "record.h"
#include "compat.h"

/* ---------------------------------------------------------------- */
/* vm.c: per-VM state                                               */
/* ---------------------------------------------------------------- */

#define AT_KEY_LEN 32
#define AT_VMNAME_LEN 64	/* the VMM's -name for the VM (vmname.h) */
#define AT_SPARES 32	/* VM creations absorbed before the worker refills */

/*
 * Flapping: each reason counts its changes in AT_FLAP_SLOTS time slots of
 * AT_FLAP_SLOT_S seconds (a minute). "Last 10 s" is the current and the
 * previous slot; a reason flaps when it changed at least AT_FLAP_MIN times
 * in the last minute (three set/clear cycles).
 */
#define AT_FLAP_SLOT_S	5
#define AT_FLAP_SLOTS	12
#define AT_FLAP_MIN	6

/* KVM's name for a VM (at_vm.raw_key), published once. */
enum at_name_state {
	AT_NAME_NONE,		/* not read yet */
	AT_NAME_DONE,		/* read: name[] holds it, or "" for none */
};

enum at_key_state {
	AT_KEY_NONE,		/* not known yet */
	AT_KEY_WRITING,		/* one CPU is copying it */
	AT_KEY_VALID,		/* raw_key is set for good */
};

/* Everything the module knows about one VM. Freed only by the worker. */
struct at_vm {
	struct hlist_node hnode;	/* at_vm_hash, live VMs, by kvm */
	struct llist_node orphan;	/* spare handed back to the worker */
	struct list_head node;		/* at_vm_list, creation order */
	struct list_head doomed;	/* worker: about to be freed */
	const struct kvm *kvm;		/* lookup key; never dereferenced here */
	unsigned int id;		/* module serial, 1.. */

	/* "<pid>-<fd>" from KVM's debugfs name, published by key_state */
	atomic_t key_state;		/* enum at_key_state */
	char raw_key[AT_KEY_LEN];
	char key[AT_KEY_LEN];		/* unique display name (worker) */
	bool has_dir;
	struct dentry *dir;

	pid_t pid;
	const struct mm_struct *vmm_mm;	/* kvm->mm: checks pid reuse, never read */
	char comm[TASK_COMM_LEN];	/* the thread that created the VM */
	unsigned int nr_vcpus;
	u64 created_ns;
	u64 exited_ns;			/* 0 while live */
	bool baseline;			/* predates the module */
	/*
	 * The VMM's name for the VM, read once by the worker from the VMM's
	 * command line (vmname.h); published by name_state.
	 */
	int name_state;			/* enum at_name_state */
	char name[AT_VMNAME_LEN];

	/* Aggregates: exact, never lost when the ring wraps. */
	unsigned long mask;		/* current inhibit mask */
	u64 mask_since_ns;		/* when mask last went 0 <-> non-0 */
	atomic64_t transitions;		/* changed bits */
	struct at_reason_stat {
		atomic64_t sets, clears, noops, filtered, dropped,
			   absorbed;
		u64 since_ns;		/* valid while the bit is set */
		atomic64_t total_ns;	/* closed intervals only */
		/* last clear [0] and set [1]: when, and the site that asked */
		u64 last_ns[2], last_site[2];
		unsigned int last_gen[2];
		unsigned int flap_slot[AT_FLAP_SLOTS];	/* slot numbers */
		u16 flap_n[AT_FLAP_SLOTS];		/* changes in each */
	} reason[AT_MAX_BITS];

	/* the last vCPU whose xAPIC ID KVM found != (u8)vcpu_id */
	atomic_t mismatch_seq;		/* odd while being written */
	struct at_mismatch {
		u64 ns, site;
		unsigned int site_gen, xapic_id;
		int vcpu;		/* AT_NO_VCPU: none yet */
	} mismatch;

	/*
	 * 5.10's lock-free setter (hooks.c, module/account.h): its return
	 * handlers account under acct_lock; in_flight counts the calls
	 * between their entry and their return, overlapped says whether the
	 * last return was not alone.
	 */
	raw_spinlock_t acct_lock;
	atomic_t in_flight;
	bool overlapped;
	/*
	 * Setter entry mode (hooks.c): the bit the last call predicted, the
	 * only one a wrong prediction can leave differing (AT_NO_BIT: none).
	 */
	unsigned char pred_bit;

	struct at_ring *ring;
	u64 hist_floor;			/* ring positions below were cleared */
};

/* Walk every VM; at_vm_mutex held (VMs are freed only under it). */
#define at_for_each_vm(vm) \
	list_for_each_entry_rcu(vm, &at_vm_list, node, \
				lockdep_is_held(&at_vm_mutex))

/* global counters */
struct at_stats {
	atomic64_t untracked;		/* events for VMs we could not track */
	atomic64_t vms_created;
	atomic64_t vms_adopted;		/* found running when kvm was hooked */
	atomic64_t vms_exited;
	atomic64_t vms_freed;
	atomic64_t pool_empty;		/* no spare VM record on the event path */
	atomic64_t alloc_failed;	/* VM records the worker could not allocate */
	atomic64_t dirs_failed;		/* vm/<key>/ directories debugfs refused */
	atomic64_t reqs_full;		/* in-flight call table was full */
	atomic64_t mispredicted;	/* setter entry mode: results found wrong */
	atomic_long_t mem_bytes;
};

/* Is @bit (maybe AT_NO_BIT) set in @mask? */
static __always_inline bool at_bit_in(unsigned long mask, unsigned int bit)
{
	return bit < BITS_PER_LONG && (mask & BIT(bit));
}

/* Nanoseconds from @since to @end; 0 if a probe moved @since past @end. */
static inline u64 at_ns_between(u64 since, u64 end)
{
	return end > since ? end - since : 0;
}

/* probe context: find, register and retire VMs */
u64 at_now(void);
unsigned int at_kvm_gen(void);
struct at_vm *at_vm_lookup(const struct kvm *kvm);
struct at_vm *at_vm_get_or_adopt(const struct kvm *kvm, unsigned long mask);
struct at_vm *at_vm_create(const struct kvm *kvm);
struct at_vm *at_vm_adopt(const struct kvm *kvm, unsigned long mask,
			  pid_t pid, const char *comm, bool *fresh);
void at_vm_retire(struct at_vm *vm, const struct kvm *kvm);
void at_vm_note_key_slow(struct at_vm *vm, const struct kvm *kvm);

/*
 * Remember KVM's debugfs name for the VM, once; only while at_kvm_alive().
 * Inline: once the key is known (nearly every call) it costs one read.
 */
static __always_inline void at_vm_note_key(struct at_vm *vm,
					   const struct kvm *kvm)
{
	if (atomic_read(&vm->key_state) != AT_KEY_VALID)
		at_vm_note_key_slow(vm, kvm);
}
void at_vm_note_vcpus(struct at_vm *vm, const struct kvm *kvm);
void at_vm_kick(void);

/* probe context: a record reaches the VM in one call */
void at_rec_init(struct at_rec *rec, unsigned char event);
void at_vm_record(struct at_vm *vm, struct at_rec *rec);
void at_vm_record_request(struct at_vm *vm, struct at_rec *rec);

/* readers: per-VM facts and aggregates */
void at_vm_key(const struct at_vm *vm, char *out);
void at_vm_key_by_id(unsigned int id, char *out, char *name, size_t name_len);
const char *at_vm_name(const struct at_vm *vm);
void at_vm_kvm_key(const struct at_vm *vm, char *out, size_t len);
bool at_vm_key_known(const struct at_vm *vm);
u64 at_vm_lost(const struct at_vm *vm);
u64 at_vm_reason_ns(const struct at_vm *vm, unsigned int bit, u64 end);
unsigned int at_flap_changes(const struct at_reason_stat *rs, u64 now,
			     unsigned int slots);
bool at_vm_flapping(const struct at_vm *vm, u64 now);
bool at_vm_mismatch(const struct at_vm *vm, struct at_mismatch *out);
u64 at_events_total(void);	/* records written, all VMs */

/* process context: the pieces the worker (worker.c) and main.c use */
struct at_ring *at_ring_alloc(unsigned int order);
size_t at_ring_alloc_bytes(unsigned int order);
struct at_vm *at_spare_get(unsigned int i);
bool at_spare_swap(unsigned int i, struct at_vm *old, struct at_vm *new);
struct llist_node *at_spares_returned(void);
void at_vm_unlist(struct at_vm *vm);
void at_vm_clear_events(void);
void at_kvm_gen_next(void);
void at_vm_wake_init(struct kthread_worker *worker, struct kthread_work *work);
int at_vm_init(unsigned int stream_order);
void at_vm_stop(void);
void at_vm_exit(void);

/* the parameters ring_size (as an order), max_vms, max_exited, log_noop */
extern unsigned int at_ring_order;
extern unsigned int at_max_vms;
extern unsigned int at_max_exited;
extern bool at_log_noop;

extern struct list_head at_vm_list;
extern struct mutex at_vm_mutex;	/* readers vs. freeing */
extern struct at_ring *at_stream;	/* all VMs, for "follow" */
extern wait_queue_head_t at_follow_wq;
extern atomic_t at_followers;		/* open follow files: the stream is
					 * written only while non-zero */
extern bool at_shutting_down;
extern struct at_stats at_stats;

/* ---------------------------------------------------------------- */
/* hooks.c: the handlers and the hook table                         */
/* ---------------------------------------------------------------- */

/*
 * The hooks, in the order probes.c arms them (unwound in reverse). VM
 * creation is armed last and unwound first: a VM whose creation was
 * recorded always has its destruction hooked too (a VM created while the
 * others arm is adopted at its first event instead). The request wrapper
 * is armed before the setter, so a setter call nested in a request finds
 * the request's site.
 */
enum at_hook_id {
	AT_H_DESTROY_VM, AT_H_VM_DEBUGFS, AT_H_INIT_REASONS, AT_H_VCPU,
	AT_H_REQUEST, AT_H_IRQ_WINDOW, AT_H_SETTER, AT_H_XAPIC_ID,
	AT_H_APIC_MAP, AT_H_SET_LAPIC, AT_H_APIC_BASE, AT_H_INIT_VM,
	AT_NR_HOOKS
};

/* What a hook's first arguments are, for its probation (hooks.c). */
enum at_hook_args {
	AT_ARGS_KVM,		/* struct kvm * */
	AT_ARGS_KVM_REASON,	/* struct kvm *, reason, bool (setter order) */
	AT_ARGS_KVM_BOOL,	/* struct kvm *, bool */
	AT_ARGS_VCPU,		/* struct kvm_vcpu * */
	AT_ARGS_APIC,		/* struct kvm_lapic *: the running vCPU's own */
};

/* What a hook is: its function and handlers (probes.c arms it). */
struct at_hook {
	const char *role;		/* what the hook is for (status) */
	enum at_hook_args args;
	const char *base;		/* its one function, or NULL: ... */
	bool cands;			/* ...one of at_cands(cand_role) */
	enum at_cand_role cand_role;
	bool optional;			/* a kvm without it loses nothing: n/a */
	bool (*applies)(void);		/* NULL, or false: n/a on this kvm */
	bool ret;			/* kretprobe (else kprobe): at_hook_ret() */
	bool sleeps;			/* its function sleeps on KVM's locks */
	size_t data_size;		/* kretprobe per-instance data */
	kprobe_pre_handler_t pre;
	kretprobe_handler_t entry, exit;
};

extern const struct at_hook at_hooks[AT_NR_HOOKS];
unsigned int at_hooks_slots(void);
unsigned int at_hooks_maxactive(unsigned int id);
int at_hooks_init(void);
void at_hooks_exit(void);
void at_hooks_attach(at_running_vcpu_fn running_vcpu);
unsigned int at_hooks_adopt_running(struct list_head *vm_list,
				    struct mutex *kvm_lock);
void at_hooks_detach(void);
bool at_hooks_vcpu_known(void);
void at_hooks_bind(unsigned int id, const struct at_cand *c);
void at_hooks_probation(unsigned int id, bool on);
void at_hooks_release_claims(unsigned int id);
const char *at_hook_refusal(unsigned int id);
void at_hooks_setter_entry(bool on);
bool at_hook_ret(unsigned int id);
const char *at_hooks_setter_mode(void);

/* ---------------------------------------------------------------- */
/* probes.c: arming the hooks                                       */
/* ---------------------------------------------------------------- */

/* One hook as status shows it; under at_probes_lock(). */
struct at_probe_info {
	const char *role, *symbol, *kind, *state;
	const char *clones;		/* "" when none */
	const char *candidates;		/* "" unless the role has several */
	const char *refused;		/* NULL, or why the hook was disarmed
					 * after validating its arguments */
	unsigned long nmissed;
	int maxactive;			/* kretprobe instances, 0 for kprobes */
	bool ret;			/* a kretprobe */
	int err;			/* valid when failed */
	bool absent, failed;		/* failed: also when refused */
};

int at_probes_init(void);
void at_probes_exit(void);
void at_probes_lock(void);
void at_probes_unlock(void);
void at_probe_info(unsigned int i, struct at_probe_info *out);
const char *at_probes_coverage(void);
unsigned long at_probes_armed(void);
bool at_probes_see_inhibits(void);
const char *at_probes_lockdown(void);	/* "none", "integrity", "confidentiality" */
const char *at_probes_adoption(void);	/* "waiting", "done", "unavailable" */
void at_probes_disarm_refused(void);	/* worker: hooks that refused their arguments */

/* ---------------------------------------------------------------- */
/* debugfs.c: the files                                             */
/* ---------------------------------------------------------------- */

int at_debugfs_init(void);
void at_debugfs_exit(void);
void at_debugfs_add_vm(struct at_vm *vm);
void at_debugfs_remove_vm(struct at_vm *vm);

/* ---------------------------------------------------------------- */
/* worker.c: process context                                        */
/* ---------------------------------------------------------------- */

int at_worker_init(void);
void at_worker_stop(void);
void at_worker_exit(void);
void at_worker_clear_exited(void);

#endif /* APICV_TRACE_H */
