/* SPDX-License-Identifier: GPL-2.0 */
/*
 * account.h - what one call of KVM's lock-free inhibit setter (5.10's
 * kvm_request_apicv_update()) records, decided at its kretprobe's return.
 *
 * Plain C shared by the module and the userspace model test
 * (tests/compat/account_test.c): one pure, always-inlined function, no
 * state, no locking. The caller serializes a VM's exit handlers (a per-VM
 * lock taken in the exit handler only, never across the hooked call: the
 * setter waits for IPIs) and keeps the per-VM state the function reads.
 */
#ifndef APICV_TRACE_ACCOUNT_H
#define APICV_TRACE_ACCOUNT_H

#include "ring_port.h"

#define AT_LL_BITS	(8 * (unsigned int)sizeof(unsigned long))

/* What the call itself records (its request record). */
enum at_ll_result {
	AT_LL_NONE = 0,		/* nothing: bit beyond the mask word */
	AT_LL_CHANGED,		/* one change record for the requested bit */
	AT_LL_NOOP,		/* honoured, nothing to record as a change */
	AT_LL_FILTERED,		/* the vendor filter refuses the bit */
};

struct at_lockless_out {
	/*
	 * After the call's own record: the bits to flip, one record each in
	 * bit order, every one flagged AT_F_MISSED (see the argument below).
	 */
	unsigned long fix;
	unsigned long mask;	/* the recorded mask after all of them */
	unsigned char result;	/* enum at_ll_result */
	bool reconciled;	/* the call was alone: mask == now */
	bool overlapped;	/* the per-VM flag to keep from now on */
};

/*
 * One exit of the setter, under the VM's accounting lock.
 *
 * @recorded	the VM's mask as recorded so far (the accounting mask)
 * @now		KVM's mask, read under the lock, BEFORE @in_flight
 * @bit, @set	the request (@set: asks to set the inhibit, !activate)
 * @vendor_allows	the vendor filter passes @bit (static per vendor)
 * @in_flight	calls of the VM between their entry and their exit, this
 *		one included, read under the lock after @now; 0 if this
 *		call's entry was not counted (treated as not alone)
 * @overlapped	the per-VM flag: the last exit of the VM was not alone
 *
 * The caller records, in order: the request (@out->result; a change flips
 * @bit of @recorded), then one AT_F_MISSED change per bit of @out->fix,
 * and then keeps @out->overlapped. @out->mask is where that leaves the
 * recorded mask.
 *
 * Why this is right. A call that passes the vendor filter leaves its bit
 * in the requested state at its successful cmpxchg (or finds it so); it
 * changes no other bit; calls of a VM run at once on many vCPUs and the
 * exits come in any order. Each exit samples KVM's mask (@now) under the
 * lock, so the samples are taken at increasing times.
 *
 *  - The call records a change only when the recorded bit differs from
 *    the request and KVM's bit, sampled now, is the requested one: the
 *    recorded bit then moves from one sample to a later, different one,
 *    so at least one real transition lies between them. A recorded bit
 *    equal to the request is a noop (the call changed nothing, or its
 *    change was already recorded by an overlapping call's exit).
 *
 *  - Recorded bit != request and KVM's bit != request: someone flipped
 *    the bit back after this call's cmpxchg. If the call is alone and the
 *    VM's last exit was alone too (reconciled), every change since that
 *    exit's sample is this call's or a missed call's (a call whose
 *    kretprobe instance was missed, so neither entry nor exit ran): the
 *    call set its bit (or a missed call did) and a missed call flipped it
 *    back. Record the change and a missed correction: two transitions
 *    that did happen. Otherwise the flip may be an overlapping call whose
 *    exit has already run, and the call's own cmpxchg may have come
 *    before that of the change already recorded: recording it would add a
 *    pair of transitions that never happened. It is a noop.
 *
 *  - Alone (@in_flight == 1): every call whose cmpxchg @now shows has had
 *    its entry counted (the entry's increment is ordered before the
 *    cmpxchg, and @now is read before @in_flight), so every tracked call
 *    that changed the mask has exited and recorded what it will record.
 *    The function brings the recorded mask to @now. A difference there
 *    comes from a missed call, overlap or not: take the last tracked
 *    call that wrote bit b before @now; at its exit (before this one)
 *    KVM's bit was its request, so it left the recorded bit at KVM's
 *    value, and no later exit moves a recorded bit away from KVM's
 *    sample for good (a recorded change goes to the sampled value; the
 *    alone case above is undone by its own correction). So the last
 *    writer of every corrected bit is a missed call: AT_F_MISSED.
 *
 * What is exact: the recorded mask equals KVM's whenever a VM's calls are
 * quiescent (after any call that exits alone); records of one bit
 * alternate set, clear, set, ... from its recorded state; per bit, sets
 * minus clears is the change of its state; no record claims a transition
 * that did not happen (the recorded bit only moves to a later sample, so
 * there are never more records than KVM's transitions); filtered means
 * the vendor filter refuses the bit, nothing else; with no missed call
 * there is no correction; inhibited time, accounted under the lock from
 * the records' times, is non-negative and matches the records.
 *
 * What is not: transitions hidden entirely between overlapping calls
 * (set then clear before the exits) are not recorded (undercount, by
 * pairs: the parity is exact); a change may be attributed (site, vCPU,
 * time) to another overlapping call of the same bit, one that KVM saw as
 * a noop, and a change made by a missed call may be attributed to a
 * tracked call of the same bit (then the missed call's correction is the
 * other half of the pair, or is not recorded at all).
 */
AT_INLINE void at_lockless_step(unsigned long recorded, unsigned long now,
				unsigned int bit, bool set, bool vendor_allows,
				unsigned int in_flight, bool overlapped,
				struct at_lockless_out *out)
{
	unsigned long b = bit < AT_LL_BITS ? 1UL << bit : 0;
	bool alone = in_flight == 1;
	unsigned long cur = recorded;

	if (!b)
		out->result = AT_LL_NONE;
	else if (!vendor_allows)
		out->result = AT_LL_FILTERED;	/* KVM returned at once */
	else if (!!(recorded & b) == set)
		out->result = AT_LL_NOOP;
	else if (!!(now & b) == set || (alone && !overlapped))
		out->result = AT_LL_CHANGED;
	else
		out->result = AT_LL_NOOP;	/* flipped back: see above */
	if (out->result == AT_LL_CHANGED)
		cur ^= b;
	out->fix = alone ? cur ^ now : 0;
	out->mask = alone ? now : cur;
	out->reconciled = alone;
	out->overlapped = !alone;
}

#endif /* APICV_TRACE_ACCOUNT_H */
