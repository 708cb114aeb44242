/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring.h - lockless per-VM flight recorder for apicv-trace.
 *
 * A fixed-capacity, overwrite-oldest, multi-producer ring of fixed-size
 * records.  Writers run in kprobe handlers on any CPU (preemption disabled,
 * maybe IRQs disabled): they never lock, sleep, allocate or wait for another
 * writer.  Readers run in process context, never block writers, and detect
 * records that were overwritten under them.
 *
 * Positions.  r->head is the next position to claim; a writer takes one with
 * a fetch-and-increment and owns slot[pos & (capacity - 1)] for it.  Every
 * claimed position is consumed, even when its write is abandoned.
 *
 * Slot state, slot->seq (values of one slot only ever grow, except busy(p)
 * -> committed(p); each committed value occurs at most once, so there is
 * no ABA on seq):
 *
 *	0			never written
 *	committed(p)		(p + 1) << 1: holds exactly what p's writer wrote
 *	busy(p)			committed(p) | 1: p's writer is copying the payload
 *
 * A writer abandons its position (counts it in r->dropped, returns false)
 * when the slot is busy (any writer, older or newer: we never wait for it),
 * already belongs to a newer position, or changes between its look and its
 * cmpxchg.  An abandoned position reads as NOTYET until a newer position
 * takes the slot, then as LOST; a following reader gives it up after a
 * while (at_ring_follow()).
 *
 * Memory ordering (labels as in kernel/printk/printk_ringbuffer.c):
 *
 *	writer of p				reader of p
 *	A: pos = fetch_inc(head)	(mb)
 *	B: cmpxchg(seq, old, busy(p))	(mb)	R1: s1 = load_acquire(seq)
 *	C: WRITE_ONCE(w[i]) ...			R2: READ_ONCE(w[i]) ...
 *	D: store_release(seq, committed(p))	R3: smp_rmb()
 *						R4: s2 = READ_ONCE(seq)
 *
 *	D -> R1: if R1 reads committed(p), R2 reads p's payload or a newer one.
 *	B -> R3: if R2 read any word of a newer writer q (its C), R4 reads
 *		 busy(q) or later, so s2 != s1 and the read reports LOST.
 *	D(old) -> B: the acquire in B makes the previous owner's payload stores
 *		 happen before this writer's, so payload coherence order follows
 *		 seq order and R2 can never see a stale (older) word once R1
 *		 read committed(p).
 *	A -> B/D -> R1: a reader whose R1 saw busy(q) or committed(q) and that
 *		 then reads head sees head > q.  A LOST found at R4 (relaxed) has
 *		 no such guarantee, hence the clamp described at at_ring_first().
 *
 * Records are AT_RING_WORDS u64 words; @rec must be u64-aligned.
 */
#ifndef APICV_TRACE_RING_H
#define APICV_TRACE_RING_H

#include "ring_port.h"

#define AT_RING_WORDS		15	/* payload = 15 u64 = 120 bytes */
#define AT_RING_MAX_ORDER	24	/* 16M slots = 2 GiB: at_ring_bytes() cap */

/*
 * Test-only instrumentation point; compiles to nothing unless a test defines
 * it before including this file.  @where is one of the AT_RING_HOOK_* below.
 */
#ifndef AT_RING_TEST_HOOK
#define AT_RING_TEST_HOOK(where, r, pos, i) do { } while (0)
#endif
#define AT_RING_HOOK_CLAIMED	0	/* writer: after A, before looking at seq */
#define AT_RING_HOOK_PRECAS	1	/* writer: after reading old seq, before B */
#define AT_RING_HOOK_WCOPY	2	/* writer: after storing word i (C) */
#define AT_RING_HOOK_RCOPY	3	/* reader: after loading word i (R2) */

#define AT_RING_SEQ_COMMITTED(pos)	(((at_u64)(pos) + 1) << 1)
#define AT_RING_SEQ_BUSY(pos)		(AT_RING_SEQ_COMMITTED(pos) | 1)

struct at_ring_slot {
	at_u64 seq;
	at_u64 w[AT_RING_WORDS];
};

struct at_ring {
	at_atomic64 head;	/* next position to claim (monotonic) */
	at_atomic64 dropped;	/* writes abandoned: slot busy or newer */
	unsigned int order;	/* capacity = 1 << order; set once by init */
	unsigned int _pad[11];	/* slots start 64 bytes in: one slot = 2 lines */
	struct at_ring_slot slot[];
};

at_static_assert(sizeof(struct at_ring_slot) == 128, "slot must be 128 bytes");
at_static_assert(offsetof(struct at_ring, slot) == 64, "ring header must be 64 bytes");

enum at_ring_res {
	AT_RING_OK = 0,		/* rec holds exactly what pos's writer wrote */
	AT_RING_LOST = 1,	/* overwritten by a newer position (maybe mid-copy) */
	AT_RING_NOTYET = 2,	/* not committed yet: in flight, unclaimed, abandoned */
};

/* Bytes to allocate for a ring of 1 << order slots; 0 if order is too big. */
AT_INLINE size_t at_ring_bytes(unsigned int order)
{
	if (order > AT_RING_MAX_ORDER)
		return 0;
	return offsetof(struct at_ring, slot) +
	       ((size_t)1 << order) * sizeof(struct at_ring_slot);
}

/*
 * Initialise at_ring_bytes(order) bytes at r (contents may be garbage).
 * Not concurrent with anything: publish r to writers/readers afterwards with
 * the usual release (e.g. rcu_assign_pointer(), smp_store_release()).
 */
AT_INLINE void at_ring_init(struct at_ring *r, unsigned int order)
{
	at_u64 n = (at_u64)1 << order, i;
	unsigned int j;

	at_atomic64_set(&r->head, 0);
	at_atomic64_set(&r->dropped, 0);
	r->order = order;
	for (j = 0; j < sizeof(r->_pad) / sizeof(r->_pad[0]); j++)
		r->_pad[j] = 0;
	for (i = 0; i < n; i++) {
		at_write_once(r->slot[i].seq, 0);
		for (j = 0; j < AT_RING_WORDS; j++)
			at_write_once(r->slot[i].w[j], 0);
	}
}

AT_INLINE unsigned long long at_ring_capacity(const struct at_ring *r)
{
	return 1ULL << r->order;
}

AT_INLINE at_u64 at_ring_head(const struct at_ring *r)
{
	return at_atomic64_read_acquire(&r->head);
}

/*
 * Oldest position that can still be in the ring.  A reader that got LOST for
 * its cursor c should continue at max(at_ring_first(r), c + 1).
 */
AT_INLINE at_u64 at_ring_first(const struct at_ring *r)
{
	at_u64 head = at_ring_head(r), cap = at_ring_capacity(r);

	return head > cap ? head - cap : 0;
}

AT_INLINE at_u64 at_ring_dropped(const struct at_ring *r)
{
	return at_atomic64_read(&r->dropped);
}

/*
 * Whether pos is committed in its slot right now (a reader may still lose
 * it to an overwrite): a cheap count of readable records, without copying.
 */
AT_INLINE bool at_ring_present(const struct at_ring *r, at_u64 pos)
{
	const struct at_ring_slot *s =
		&r->slot[pos & (((at_u64)1 << r->order) - 1)];

	return at_load_acquire(&s->seq) == AT_RING_SEQ_COMMITTED(pos);
}

/*
 * Append one record (AT_RING_WORDS u64 words at rec).  Returns true on
 * success, false if the write was abandoned (counted in r->dropped).  The
 * claimed position is consumed either way and stored to *pos if pos is not
 * NULL.  Lock-free and wait-free: a bounded number of steps, no retry loop.
 */
AT_INLINE bool at_ring_write(struct at_ring *r, const void *rec, at_u64 *pos)
{
	const at_u64 *src = (const at_u64 *)rec;
	struct at_ring_slot *s;
	at_u64 p, old;
	unsigned int i;

	p = at_atomic64_fetch_inc(&r->head);			/* A */
	if (pos)
		*pos = p;
	s = &r->slot[p & (((at_u64)1 << r->order) - 1)];
	AT_RING_TEST_HOOK(AT_RING_HOOK_CLAIMED, r, p, 0);

	old = at_read_once(s->seq);
	/* Busy (someone is copying: don't wait) or a newer position owns it. */
	if ((old & 1) || (old >> 1) >= p + 1)
		goto abandon;
	AT_RING_TEST_HOOK(AT_RING_HOOK_PRECAS, r, p, 0);
	if (!at_claim_cmpxchg(&s->seq, old, AT_RING_SEQ_BUSY(p)))	/* B */
		goto abandon;

	for (i = 0; i < AT_RING_WORDS; i++) {
		at_write_once(s->w[i], src[i]);				/* C */
		AT_RING_TEST_HOOK(AT_RING_HOOK_WCOPY, r, p, i);
	}
	at_store_release(&s->seq, AT_RING_SEQ_COMMITTED(p));		/* D */
	return true;

abandon:
	at_atomic64_inc(&r->dropped);
	return false;
}

/*
 * Copy the record at position pos into rec (AT_RING_WORDS u64 words).
 * rec's contents are unspecified unless AT_RING_OK is returned.
 */
AT_INLINE enum at_ring_res at_ring_read(const struct at_ring *r, at_u64 pos,
					 void *rec)
{
	const struct at_ring_slot *s = &r->slot[pos & (((at_u64)1 << r->order) - 1)];
	at_u64 *dst = (at_u64 *)rec;
	at_u64 want = AT_RING_SEQ_COMMITTED(pos), s1, s2;
	unsigned int i;

	s1 = at_load_acquire(&s->seq);					/* R1 */
	if (s1 == want) {
		for (i = 0; i < AT_RING_WORDS; i++) {
			dst[i] = at_read_once(s->w[i]);			/* R2 */
			AT_RING_TEST_HOOK(AT_RING_HOOK_RCOPY, r, pos, i);
		}
		at_smp_rmb();						/* R3 */
		s2 = at_read_once(s->seq);				/* R4 */
		return s1 == s2 ? AT_RING_OK : AT_RING_LOST;
	}
	/* A newer position has the slot (busy or committed). */
	if ((s1 >> 1) > pos + 1)
		return AT_RING_LOST;
	return AT_RING_NOTYET;
}

/*
 * Following a ring (the follow file): what a reader does at its cursor.
 *
 * A position below head that reads NOTYET is either in flight (its writer
 * is copying: microseconds, writers run with preemption off) or abandoned
 * (its writer found the slot busy or newer and will never write it). An
 * abandoned position reads NOTYET until a newer position takes the slot,
 * which on a quiet ring is never, so a reader that only waits for it waits
 * forever, and one that polls spins. The two cannot be told apart from the
 * slot, so the reader gives a position up once it has been claimed for
 * @patience nanoseconds, and reports it lost.
 *
 * The clock starts when the reader first finds its cursor NOTYET with head
 * past it; head is remembered with it (the horizon): every position below
 * the horizon was claimed before that time, so the positions after a given
 * up one, up to the horizon, share the clock (a run of abandoned positions
 * costs one wait, not one each). Time is a parameter, any monotonic clock
 * in nanoseconds, so that userspace tests can drive it.
 */
#define AT_RING_PATIENCE_NS	(100ULL * 1000 * 1000)	/* 100 ms */

struct at_ring_patience {
	at_u64 since;		/* when the reader found the horizon claimed */
	at_u64 horizon;		/* head then; 0: the clock never started */
};

enum at_ring_step {
	AT_RING_STEP_REC,	/* rec holds the cursor's record; cursor += 1 */
	AT_RING_STEP_LOST,	/* *n positions are gone; report, cursor += *n */
	AT_RING_STEP_GIVEUP,	/* claimed @patience ago, never committed:
				 * report as lost, cursor += 1 (*n = 1) */
	AT_RING_STEP_IDLE,	/* nothing claimed at the cursor: wait for head */
	AT_RING_STEP_WAIT,	/* claimed, not committed: look again when a
				 * writer commits, or in *n ns at the latest */
};

AT_INLINE void at_ring_patience_init(struct at_ring_patience *p)
{
	p->since = 0;
	p->horizon = 0;
}

/*
 * The next step of a reader at @cursor, at time @now. Reads nothing but the
 * ring and *p, which it updates (it starts the clock): a caller that only
 * asks whether it could make progress (poll) may call it too.
 */
AT_INLINE enum at_ring_step at_ring_follow(const struct at_ring *r,
					   struct at_ring_patience *p,
					   at_u64 cursor, at_u64 now,
					   at_u64 patience, void *rec,
					   at_u64 *n)
{
	at_u64 head = at_ring_head(r), first = at_ring_first(r), waited;

	if (cursor < first) {
		*n = first - cursor;
		return AT_RING_STEP_LOST;
	}
	if (cursor >= head)
		return AT_RING_STEP_IDLE;
	switch (at_ring_read(r, cursor, rec)) {
	case AT_RING_OK:
		*n = 1;
		return AT_RING_STEP_REC;
	case AT_RING_LOST:
		/* see at_ring_first(): continue at max(first, cursor + 1) */
		first = at_ring_first(r);
		*n = first > cursor + 1 ? first - cursor : 1;
		return AT_RING_STEP_LOST;
	case AT_RING_NOTYET:
		break;
	}
	if (cursor >= p->horizon) {
		p->since = now;
		p->horizon = head;
	}
	waited = now > p->since ? now - p->since : 0;
	if (waited >= patience) {
		*n = 1;
		return AT_RING_STEP_GIVEUP;
	}
	*n = patience - waited;
	return AT_RING_STEP_WAIT;
}

#endif /* APICV_TRACE_RING_H */
