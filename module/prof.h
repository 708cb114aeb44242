/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prof.h - where the hooks' time goes: a test build only (AT_TEST_FAULTS,
 * module/Kbuild), for `make bench` (docs/performance.md). Each measured
 * section adds its local_clock() span to a per-CPU sum; the sums are
 * printed when the module unloads ("prof: SECTION n=N ns=T"). The
 * clock reads cost time of their own: the split is what counts, and
 * the bench measures the test build's overhead against the plain one.
 * In any other build every call here compiles to nothing.
 */
#ifndef APICV_TRACE_PROF_H
#define APICV_TRACE_PROF_H

#include <linux/types.h>

enum at_prof_id {
	AT_P_REQ_ENTRY,		/* the request wrapper's entry handler */
	AT_P_REQ_EXIT,		/* ... its return handler */
	AT_P_SET_ENTRY,		/* the setter's entry handler */
	AT_P_SET_EXIT,		/* ... its return handler, all of it */
	AT_P_SET_ARGS,		/* ... its arguments, the mask, the site */
	AT_P_SET_REC,		/* ... the record's common fields */
	AT_P_SET_LOOKUP,	/* ... finding the VM */
	AT_P_SET_KEY,		/* ... noting KVM's key */
	AT_P_SET_VCPU,		/* ... the running vCPU */
	AT_P_SET_EMIT,		/* ... the records (at_emit_changes) */
	AT_P_ACCOUNT,		/* per change: the aggregates (at_account) */
	AT_P_RING_VM,		/* per record: the VM's ring */
	AT_P_RING_STREAM,	/* per record: the follow stream */
	AT_P_EMPTY,		/* an empty span: what the timing itself costs */
	AT_P_NR
};

#ifdef AT_TEST_FAULTS
#include <linux/sched/clock.h>

static __always_inline u64 at_prof_start(void)
{
	return local_clock();
}
void at_prof_end(enum at_prof_id id, u64 t0);
void at_prof_report(void);
#else
static __always_inline u64 at_prof_start(void)
{
	return 0;
}
static __always_inline void at_prof_end(enum at_prof_id id, u64 t0) { }
static inline void at_prof_report(void) { }
#endif

#endif /* APICV_TRACE_PROF_H */
