// SPDX-License-Identifier: GPL-2.0
/*
 * ring_hook_test.c - deterministic interleavings of module/ring.h.
 *
 * This translation unit defines AT_RING_TEST_HOOK before including ring.h,
 * so its (internal-linkage) copy of the ring code calls hook() at the
 * instrumentation points; the other tests use the uninstrumented code.  The
 * hook runs another write or read in the middle of one, in the same thread,
 * which reproduces exactly the races the seq protocol has to handle.
 */
#include <stdint.h>

static void hook(int where, const void *r, uint64_t pos, unsigned int i);
#define AT_RING_TEST_HOOK(where, r, pos, i) hook(where, r, pos, i)

#include "ring.h"
#include "rt.h"

#include <inttypes.h>

static void (*hook_fn)(int where, struct at_ring *r, uint64_t pos, unsigned int i);
static int hook_depth;

static void hook(int where, const void *r, uint64_t pos, unsigned int i)
{
	/* Only the outermost operation is interrupted. */
	if (!hook_fn || hook_depth)
		return;
	hook_depth++;
	hook_fn(where, (struct at_ring *)r, pos, i);
	hook_depth--;
}

static unsigned int hook_calls;

static void expect(struct at_ring *r, uint64_t pos, unsigned int id, uint64_t k)
{
	uint64_t got[AT_RING_WORDS], want[AT_RING_WORDS];

	CHECK_EQ(at_ring_read(r, pos, got), AT_RING_OK);
	rt_rec_make(want, id, k);
	CHECKF(!memcmp(got, want, sizeof(got)), "pos %" PRIu64, pos);
}

static void write_ok(struct at_ring *r, unsigned int id, uint64_t k, uint64_t want_pos)
{
	uint64_t rec[AT_RING_WORDS], pos = ~0ull;

	rt_rec_make(rec, id, k);
	CHECK(at_ring_write(r, rec, &pos));
	CHECK_EQ(pos, want_pos);
}

/*
 * Torn read: while a reader copies pos 0 (after word 7), pos 1 overwrites the
 * one slot.  The copy is a genuine mix of both records, and must be LOST.
 */
static void torn_hook(int where, struct at_ring *r, uint64_t pos, unsigned int i)
{
	if (where == AT_RING_HOOK_RCOPY && pos == 0 && i == 7) {
		hook_calls++;
		write_ok(r, 2, 0, 1);
	}
}

static void t_hook_torn_read(void)
{
	struct at_ring *r = rt_ring_new(0);
	uint64_t rec[AT_RING_WORDS], a[AT_RING_WORDS], b[AT_RING_WORDS];

	write_ok(r, 1, 0, 0);
	hook_calls = 0;
	hook_fn = torn_hook;
	CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_LOST);
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	/* Prove the copy really was torn: words 0..7 from A, 8..14 from B. */
	rt_rec_make(a, 1, 0);
	rt_rec_make(b, 2, 0);
	CHECK(!rt_rec_ok(rec));
	CHECK(!memcmp(rec, a, 8 * sizeof(uint64_t)));
	CHECK(!memcmp(rec + 8, b + 8, 7 * sizeof(uint64_t)));
	expect(r, 1, 2, 0);
	CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_LOST);
	CHECK_EQ(at_ring_dropped(r), 0);
	free(r);
}

/*
 * Same, but the overwrite happens after the last word was copied: the data
 * is intact yet the position is gone, so it is still LOST (never stale-OK).
 */
static void late_hook(int where, struct at_ring *r, uint64_t pos, unsigned int i)
{
	if (where == AT_RING_HOOK_RCOPY && pos == 3 && i == AT_RING_WORDS - 1) {
		hook_calls++;
		write_ok(r, 2, 0, 7);
	}
}

static void t_hook_late_overwrite(void)
{
	struct at_ring *r = rt_ring_new(2);
	uint64_t rec[AT_RING_WORDS], k;

	for (k = 0; k < 7; k++)
		write_ok(r, 1, k, k);
	hook_calls = 0;
	hook_fn = late_hook;
	CHECK_EQ(at_ring_read(r, 3, rec), AT_RING_LOST);
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	expect(r, 7, 2, 0);
	for (k = 4; k < 7; k++)
		expect(r, k, 1, k);
	free(r);
}

/*
 * A write in flight (pos 1, after word 5 of 15) on a 1-slot ring: its own
 * position reads NOTYET, the older one LOST, and a newer write finding the
 * slot busy is abandoned (never waits), and stays NOTYET until the slot is
 * taken by an even newer write.
 */
static void busy_hook(int where, struct at_ring *r, uint64_t pos, unsigned int i)
{
	uint64_t rec[AT_RING_WORDS], p = ~0ull;

	if (where != AT_RING_HOOK_WCOPY || pos != 1 || i != 5)
		return;
	hook_calls++;
	CHECK_EQ(at_ring_read(r, 1, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_LOST);
	CHECK_EQ(at_ring_head(r), 2);
	rt_rec_make(rec, 3, 0);
	CHECK(!at_ring_write(r, rec, &p));
	CHECK_EQ(p, 2);			/* the position is consumed anyway */
	CHECK_EQ(at_ring_dropped(r), 1);
	CHECK_EQ(at_ring_read(r, 2, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_read(r, 1, rec), AT_RING_NOTYET);
}

static void t_hook_busy_abandon(void)
{
	struct at_ring *r = rt_ring_new(0);
	uint64_t rec[AT_RING_WORDS];

	write_ok(r, 1, 0, 0);
	hook_calls = 0;
	hook_fn = busy_hook;
	write_ok(r, 2, 0, 1);
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	expect(r, 1, 2, 0);				/* the slow writer won */
	CHECK_EQ(at_ring_read(r, 2, rec), AT_RING_NOTYET);	/* abandoned */
	CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_LOST);
	CHECK_EQ(at_ring_head(r), 3);
	CHECK_EQ(at_ring_first(r), 2);
	CHECK_EQ(at_ring_dropped(r), 1);
	write_ok(r, 4, 0, 3);
	CHECK_EQ(at_ring_read(r, 2, rec), AT_RING_LOST);
	CHECK_EQ(at_ring_read(r, 1, rec), AT_RING_LOST);
	expect(r, 3, 4, 0);
	free(r);
}

/*
 * A writer delayed between claiming pos 0 and looking at the slot finds it
 * already owned by the newer pos 1: it must give up, not clobber pos 1.
 */
static void newer_hook(int where, struct at_ring *r, uint64_t pos, unsigned int i)
{
	(void)i;
	if (where == AT_RING_HOOK_CLAIMED && pos == 0) {
		hook_calls++;
		write_ok(r, 2, 0, 1);
	}
}

static void t_hook_newer_owner(void)
{
	struct at_ring *r = rt_ring_new(0);
	uint64_t rec[AT_RING_WORDS], p = ~0ull;

	hook_calls = 0;
	hook_fn = newer_hook;
	rt_rec_make(rec, 1, 0);
	CHECK(!at_ring_write(r, rec, &p));
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	CHECK_EQ(p, 0);
	CHECK_EQ(at_ring_dropped(r), 1);
	CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_LOST);
	expect(r, 1, 2, 0);
	free(r);
}

/*
 * A writer that read the old seq (committed(0)) and is delayed before its
 * cmpxchg while pos 2 takes the slot: the cmpxchg fails, the write is
 * abandoned, and pos 2 survives intact.
 */
static void cas_hook(int where, struct at_ring *r, uint64_t pos, unsigned int i)
{
	(void)i;
	if (where == AT_RING_HOOK_PRECAS && pos == 1) {
		hook_calls++;
		write_ok(r, 3, 0, 2);
	}
}

static void t_hook_cas_race(void)
{
	struct at_ring *r = rt_ring_new(0);
	uint64_t rec[AT_RING_WORDS], p = ~0ull;

	write_ok(r, 1, 0, 0);
	hook_calls = 0;
	hook_fn = cas_hook;
	rt_rec_make(rec, 2, 0);
	CHECK(!at_ring_write(r, rec, &p));
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	CHECK_EQ(p, 1);
	CHECK_EQ(at_ring_dropped(r), 1);
	CHECK_EQ(at_ring_read(r, 1, rec), AT_RING_LOST);
	CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_LOST);
	expect(r, 2, 3, 0);
	free(r);
}


/* ---- following: giving an abandoned position up (at_ring_follow) ------- */

#define MS	1000000ull
#define PAT	AT_RING_PATIENCE_NS

/* One at_ring_follow() step at @now that must be @want (and *n @want_n). */
static void step_expect(struct at_ring *r, struct at_ring_patience *p,
			uint64_t cursor, uint64_t now, enum at_ring_step want,
			uint64_t want_n)
{
	uint64_t rec[AT_RING_WORDS], n = ~0ull;
	enum at_ring_step got = at_ring_follow(r, p, cursor, now, PAT, rec, &n);

	CHECKF(got == want, "cursor %" PRIu64 " at %" PRIu64 " ns: step %d, want %d",
	       cursor, now, got, want);
	if (got == want && (want != AT_RING_STEP_IDLE))
		CHECKF(n == want_n, "cursor %" PRIu64 " at %" PRIu64 " ns: n %" PRIu64
		       ", want %" PRIu64, cursor, now, n, want_n);
}

/*
 * A real abandoned position (the busy_hook interleaving: pos 2 found the
 * one slot busy) on a ring that then goes quiet: it reads NOTYET for ever.
 * The follower waits for it, never longer than the bound in one go, and
 * gives it up exactly when the bound has passed since it first found it
 * claimed; then it is idle (nothing to read), not waiting.
 */
static void t_follow_giveup_abandoned(void)
{
	struct at_ring *r = rt_ring_new(0);
	struct at_ring_patience p;
	uint64_t rec[AT_RING_WORDS], t0 = 5000 * MS;

	at_ring_patience_init(&p);
	write_ok(r, 1, 0, 0);
	hook_calls = 0;
	hook_fn = busy_hook;
	write_ok(r, 2, 0, 1);
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	CHECK_EQ(at_ring_head(r), 3);
	CHECK_EQ(at_ring_read(r, 2, rec), AT_RING_NOTYET);	/* abandoned */

	/* pos 1 is readable, but the ring's capacity puts it behind first */
	step_expect(r, &p, 1, t0, AT_RING_STEP_LOST, 1);
	step_expect(r, &p, 2, t0, AT_RING_STEP_WAIT, PAT);
	step_expect(r, &p, 2, t0 + 30 * MS, AT_RING_STEP_WAIT, PAT - 30 * MS);
	step_expect(r, &p, 2, t0 + PAT - 1, AT_RING_STEP_WAIT, 1);
	step_expect(r, &p, 2, t0 + PAT, AT_RING_STEP_GIVEUP, 1);
	step_expect(r, &p, 2, t0 + 10 * PAT, AT_RING_STEP_GIVEUP, 1);
	step_expect(r, &p, 3, t0 + PAT, AT_RING_STEP_IDLE, 0);
	/* still NOTYET in the ring itself: only the reader gave it up */
	CHECK_EQ(at_ring_read(r, 2, rec), AT_RING_NOTYET);
	/* a newer write takes the slot: from then on it is plainly lost */
	write_ok(r, 4, 0, 3);
	step_expect(r, &p, 2, t0, AT_RING_STEP_LOST, 1);
	step_expect(r, &p, 3, t0, AT_RING_STEP_REC, 1);
	free(r);
}

/*
 * A slow but live writer: while pos 1 is being copied (after word 5), the
 * follower finds it NOTYET for just under the bound and must keep waiting;
 * once the copy completes it gets the record, even after the bound (the
 * record is there: nothing is given up that can be delivered).
 */
static struct at_ring_patience slow_p;
static uint64_t slow_t0;

static void slow_hook(int where, struct at_ring *r, uint64_t pos, unsigned int i)
{
	if (where != AT_RING_HOOK_WCOPY || pos != 1 || i != 5)
		return;
	hook_calls++;
	step_expect(r, &slow_p, 1, slow_t0, AT_RING_STEP_WAIT, PAT);
	step_expect(r, &slow_p, 1, slow_t0 + PAT / 2, AT_RING_STEP_WAIT, PAT / 2);
	step_expect(r, &slow_p, 1, slow_t0 + PAT - 1, AT_RING_STEP_WAIT, 1);
}

static void t_follow_slow_writer(void)
{
	struct at_ring *r = rt_ring_new(2);

	at_ring_patience_init(&slow_p);
	slow_t0 = 77 * MS;
	write_ok(r, 1, 0, 0);
	hook_calls = 0;
	hook_fn = slow_hook;
	write_ok(r, 2, 0, 1);
	hook_fn = NULL;
	CHECK_EQ(hook_calls, 1);
	step_expect(r, &slow_p, 1, slow_t0 + PAT + 1, AT_RING_STEP_REC, 1);
	expect(r, 1, 2, 0);
	free(r);
}

/*
 * The clock is per claim, not per reader: positions claimed after the
 * clock started (beyond the horizon) get a full bound of their own, and a
 * run of positions abandoned before it shares one wait.
 */
static void t_follow_horizon(void)
{
	struct at_ring *r = rt_ring_new(4);
	struct at_ring_patience p;
	uint64_t t0 = 1000 * MS;

	at_ring_patience_init(&p);
	write_ok(r, 1, 0, 0);
	/* three claims whose writers never write (abandoned or dead) */
	at_atomic64_fetch_inc(&r->head);
	at_atomic64_fetch_inc(&r->head);
	at_atomic64_fetch_inc(&r->head);
	step_expect(r, &p, 0, t0, AT_RING_STEP_REC, 1);
	step_expect(r, &p, 1, t0, AT_RING_STEP_WAIT, PAT);
	step_expect(r, &p, 1, t0 + PAT, AT_RING_STEP_GIVEUP, 1);
	/* 2 and 3 were claimed before t0 too: no new wait */
	step_expect(r, &p, 2, t0 + PAT, AT_RING_STEP_GIVEUP, 1);
	/* a position claimed later (4, after the horizon 4) waits in full */
	at_atomic64_fetch_inc(&r->head);
	step_expect(r, &p, 3, t0 + PAT, AT_RING_STEP_GIVEUP, 1);
	step_expect(r, &p, 4, t0 + PAT + 1, AT_RING_STEP_WAIT, PAT);
	step_expect(r, &p, 4, t0 + 2 * PAT, AT_RING_STEP_WAIT, 1);
	step_expect(r, &p, 4, t0 + 2 * PAT + 1, AT_RING_STEP_GIVEUP, 1);
	step_expect(r, &p, 5, t0 + 2 * PAT + 1, AT_RING_STEP_IDLE, 0);
	free(r);
}

const struct rt_case rt_hook_cases[] = {
	{ "hook_torn_read", t_hook_torn_read },
	{ "hook_late_overwrite", t_hook_late_overwrite },
	{ "hook_busy_abandon", t_hook_busy_abandon },
	{ "hook_newer_owner", t_hook_newer_owner },
	{ "hook_cas_race", t_hook_cas_race },
	{ "follow_giveup_abandoned", t_follow_giveup_abandoned },
	{ "follow_slow_writer", t_follow_slow_writer },
	{ "follow_horizon", t_follow_horizon },
};
const unsigned int rt_hook_ncases = sizeof(rt_hook_cases) / sizeof(rt_hook_cases[0]);
