// SPDX-License-Identifier: GPL-2.0
/*
 * prof.c - the per-CPU sums of prof.h, and their report at unload. A test
 * build only (AT_TEST_FAULTS): empty otherwise.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/printk.h>

#include "prof.h"

#ifdef AT_TEST_FAULTS
struct at_prof_sum {
	u64 n[AT_P_NR];
	u64 ns[AT_P_NR];
};

static DEFINE_PER_CPU(struct at_prof_sum, at_prof_sums);

static const char *const at_prof_names[AT_P_NR] = {
	[AT_P_REQ_ENTRY] = "request_entry",
	[AT_P_REQ_EXIT] = "request_exit",
	[AT_P_SET_ENTRY] = "setter_entry",
	[AT_P_SET_EXIT] = "setter_exit",
	[AT_P_SET_ARGS] = "setter.args",
	[AT_P_SET_REC] = "setter.rec_init",
	[AT_P_SET_LOOKUP] = "setter.lookup",
	[AT_P_SET_KEY] = "setter.key",
	[AT_P_SET_VCPU] = "setter.vcpu",
	[AT_P_SET_EMIT] = "setter.emit",
	[AT_P_ACCOUNT] = "account",
	[AT_P_RING_VM] = "ring_vm",
	[AT_P_RING_STREAM] = "ring_stream",
	[AT_P_EMPTY] = "empty_span",
};

/* Probe context: preemption is off, the sums are this CPU's. */
void __kprobes at_prof_end(enum at_prof_id id, u64 t0)
{
	struct at_prof_sum *s = this_cpu_ptr(&at_prof_sums);

	s->n[id]++;
	s->ns[id] += local_clock() - t0;
}
NOKPROBE_SYMBOL(at_prof_end);

/* At unload, after every probe is gone. */
void at_prof_report(void)
{
	u64 n, ns;
	int id, cpu;

	for (id = 0; id < AT_P_NR; id++) {
		n = 0;
		ns = 0;
		for_each_possible_cpu(cpu) {
			n += per_cpu(at_prof_sums, cpu).n[id];
			ns += per_cpu(at_prof_sums, cpu).ns[id];
		}
		pr_info("prof: %s n=%llu ns=%llu\n", at_prof_names[id], n, ns);
	}
}
#endif
