/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apicv-trace: internal interfaces. Data flows one way:
 *   hooks.c (kprobes) -> vm.c (per-VM state, aggregates, rings) -> debugfs.c
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
#include <linux/seq_file.h>

#include "ring.h"
#include "record.h"
#include "compat.h"

#define AT_KEY_LEN 32

/*
 * Flapping: each reason counts its changes in AT_FLAP_SLOTS time slots of
 * AT_FLAP_SLOT_S seconds (a minute). "Last 10 s" is the current and the
 * previous slot; a reason flaps when it changed at least AT_FLAP_MIN times
 * in the last minute (three set/clear cycles).
 */
#define AT_FLAP_SLOT_S	5
#define AT_FLAP_SLOTS	12
#define AT_FLAP_MIN	6

/* Everything the module knows about one VM. Freed only by the worker. */
struct at_vm {
	struct hlist_node hnode;	/* at_vm_hash, live VMs, by kvm */
	struct llist_node orphan;	/* spare handed back to the worker */
	struct list_head node;		/* at_vm_list, creation order */
	struct list_head doomed;	/* worker: about to be freed */
	const struct kvm *kvm;		/* lookup key; never dereferenced here */
	unsigned int id;		/* module serial, 1.. */

	/* "<pid>-<fd>" from KVM's debugfs name, published by key_state */
	atomic_t key_state;		/* 0 none, 1 writing, 2 valid */
	char raw_key[AT_KEY_LEN];
	char key[AT_KEY_LEN];		/* unique display name (worker) */
	bool has_dir;
	struct dentry *dir;

	pid_t pid;
	char comm[TASK_COMM_LEN];	/* the thread that created the VM */
	unsigned int nr_vcpus;
	u64 created_ns;
	u64 exited_ns;			/* 0 while live */
	bool baseline;			/* predates the module */

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

	struct at_ring *ring;
	u64 hist_floor;			/* ring positions below were cleared */
};

/* Walk every VM; at_vm_mutex held (VMs are freed only under it). */
#define at_for_each_vm(vm) \
	list_for_each_entry_rcu(vm, &at_vm_list, node, \
				lockdep_is_held(&at_vm_mutex))

/* vm.c: registry and event emission (probe context) */
struct at_vm *at_vm_lookup(const struct kvm *kvm);
struct at_vm *at_vm_get_or_adopt(const struct kvm *kvm, unsigned long mask);
struct at_vm *at_vm_create(const struct kvm *kvm);
void at_vm_retire(struct at_vm *vm, const struct kvm *kvm);
void at_vm_note_key(struct at_vm *vm, const struct kvm *kvm);
void at_emit(struct at_vm *vm, struct at_rec *rec);
void at_account(struct at_vm *vm, const struct at_rec *rec);
unsigned int at_flap_changes(const struct at_reason_stat *rs, u64 now,
			     unsigned int slots);
bool at_vm_mismatch(const struct at_vm *vm, struct at_mismatch *out);
void at_rec_init(struct at_rec *rec, unsigned char event);
u64 at_now(void);

/* vm.c: process context */
int at_vm_init(unsigned int stream_order);
void at_vm_stop(void);
void at_vm_exit(void);
void at_vm_kick(void);
void at_vm_clear(bool exited, bool events);
extern struct list_head at_vm_list;
extern struct mutex at_vm_mutex;	/* readers vs. freeing */
extern struct at_ring *at_stream;	/* all VMs, for "follow" */
extern wait_queue_head_t at_follow_wq;
extern atomic_t at_followers;
extern bool at_shutting_down;

/* global counters */
struct at_stats {
	atomic64_t untracked;		/* events for VMs we could not track */
	atomic64_t vms_created;
	atomic64_t vms_exited;
	atomic64_t vms_freed;
	atomic64_t pool_empty;		/* no spare VM record on the event path */
	atomic64_t alloc_failed;	/* VM records the worker could not allocate */
	atomic64_t dirs_failed;		/* vm/<key>/ directories debugfs refused */
	atomic64_t reqs_full;		/* in-flight call table was full */
	atomic_long_t mem_bytes;
};
extern struct at_stats at_stats;
u64 at_events_total(void);	/* records written, all VMs */

/* hooks.c */
int at_hooks_init(void);
void at_hooks_exit(void);
void at_hooks_show(struct seq_file *m);
unsigned int at_kvm_gen(void);
unsigned long at_hooks_armed(void);
bool at_hooks_see_inhibits(void);

/* debugfs.c */
int at_debugfs_init(void);
void at_debugfs_exit(void);
void at_debugfs_add_vm(struct at_vm *vm);
void at_debugfs_remove_vm(struct at_vm *vm);

/* main.c: parameters */
extern unsigned int at_ring_order;
extern unsigned int at_max_vms;
extern unsigned int at_max_exited;
extern bool at_log_noop;

#endif /* APICV_TRACE_H */
