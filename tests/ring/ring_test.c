// SPDX-License-Identifier: GPL-2.0
/*
 * ring_test.c - unit and stress tests for module/ring.h (userspace build).
 *
 * Usage: ring_test [substring...]   run the cases whose name contains one
 *                                   of the substrings (all by default)
 * Env:   RING_STRESS_MS             length of each threaded case (1500)
 */
#include "ring.h"
#include "rt.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <inttypes.h>

unsigned long rt_failures;

void rt_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	unsigned long n = __atomic_add_fetch(&rt_failures, 1, __ATOMIC_RELAXED);
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	if (n > 20)
		return;
	pthread_mutex_lock(&lock);
	fprintf(stderr, "  %s:%d: CHECK(%s) failed", file, line, expr);
	if (fmt) {
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	if (n == 20)
		fputs("  (further failures not shown)\n", stderr);
	pthread_mutex_unlock(&lock);
}

static unsigned int stress_ms = 1500;

#define LD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static void rec_expect(struct at_ring *r, uint64_t pos, unsigned int id, uint64_t k)
{
	uint64_t got[AT_RING_WORDS], want[AT_RING_WORDS];
	enum at_ring_res res = at_ring_read(r, pos, got);

	CHECKF(res == AT_RING_OK, "pos %" PRIu64 ": res %d", pos, res);
	rt_rec_make(want, id, k);
	if (res == AT_RING_OK)
		CHECKF(!memcmp(got, want, sizeof(got)), "pos %" PRIu64 " content", pos);
}

/* ---- single-threaded ------------------------------------------------- */

static void t_init_empty(void)
{
	uint64_t rec[AT_RING_WORDS];
	struct at_ring *r;
	unsigned int o;

	CHECK_EQ(at_ring_bytes(0), 64 + 128);
	CHECK_EQ(at_ring_bytes(4), 64 + 16 * 128);
	CHECK_EQ(at_ring_bytes(AT_RING_MAX_ORDER), 64 + (128ull << AT_RING_MAX_ORDER));
	CHECK_EQ(at_ring_bytes(AT_RING_MAX_ORDER + 1), 0);

	for (o = 0; o <= 12; o += 3) {
		r = rt_ring_new(o);	/* junk-filled before init */
		CHECK_EQ(at_ring_capacity(r), 1ull << o);
		CHECK_EQ(at_ring_head(r), 0);
		CHECK_EQ(at_ring_first(r), 0);
		CHECK_EQ(at_ring_dropped(r), 0);
		CHECK_EQ(at_ring_read(r, 0, rec), AT_RING_NOTYET);
		CHECK_EQ(at_ring_read(r, 5, rec), AT_RING_NOTYET);
		CHECK_EQ(at_ring_read(r, (1ull << o) + 3, rec), AT_RING_NOTYET);
		free(r);
	}
}

static void t_write_read(void)
{
	struct at_ring *r = rt_ring_new(3);
	uint64_t rec[AT_RING_WORDS], pos = 99;
	unsigned int k;

	for (k = 0; k < 5; k++) {
		rt_rec_make(rec, 1, k);
		CHECK(at_ring_write(r, rec, &pos));
		CHECK_EQ(pos, k);
	}
	rt_rec_make(rec, 2, 0);
	CHECK(at_ring_write(r, rec, NULL));	/* pos may be NULL */
	CHECK_EQ(at_ring_head(r), 6);
	CHECK_EQ(at_ring_first(r), 0);
	for (k = 0; k < 5; k++)
		rec_expect(r, k, 1, k);
	rec_expect(r, 5, 2, 0);
	/* Reading is not destructive. */
	rec_expect(r, 2, 1, 2);
	/* Unclaimed positions, including ones mapping to used slots. */
	CHECK_EQ(at_ring_read(r, 6, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_read(r, 7, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_read(r, 8, rec), AT_RING_NOTYET);	/* slot 0 holds 0 */
	CHECK_EQ(at_ring_read(r, 13, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_dropped(r), 0);
	free(r);
}

static void t_wraparound(void)
{
	struct at_ring *r = rt_ring_new(3);
	uint64_t rec[AT_RING_WORDS], pos, p;

	for (p = 0; p < 100; p++) {
		rt_rec_make(rec, 3, p);
		CHECK(at_ring_write(r, rec, &pos));
		CHECK_EQ(pos, p);
		CHECK_EQ(at_ring_first(r), p + 1 > 8 ? p + 1 - 8 : 0);
	}
	CHECK_EQ(at_ring_head(r), 100);
	CHECK_EQ(at_ring_first(r), 92);
	for (p = 0; p < 92; p++) {
		CHECKF(at_ring_read(r, p, rec) == AT_RING_LOST, "pos %" PRIu64, p);
		CHECKF(!at_ring_present(r, p), "pos %" PRIu64, p);
	}
	for (p = 92; p < 100; p++) {
		rec_expect(r, p, 3, p);
		CHECKF(at_ring_present(r, p), "pos %" PRIu64, p);
	}
	CHECK(!at_ring_present(r, 100));
	CHECK_EQ(at_ring_read(r, 100, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_read(r, 107, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_read(r, 1000, rec), AT_RING_NOTYET);
	CHECK_EQ(at_ring_dropped(r), 0);
	free(r);
}

static void t_capacity_one(void)
{
	struct at_ring *r = rt_ring_new(0);
	uint64_t rec[AT_RING_WORDS], pos, p;

	CHECK_EQ(at_ring_capacity(r), 1);
	for (p = 0; p < 10; p++) {
		rt_rec_make(rec, 4, p);
		CHECK(at_ring_write(r, rec, &pos));
		CHECK_EQ(pos, p);
		rec_expect(r, p, 4, p);
		if (p)
			CHECK_EQ(at_ring_read(r, p - 1, rec), AT_RING_LOST);
		CHECK_EQ(at_ring_read(r, p + 1, rec), AT_RING_NOTYET);
		CHECK_EQ(at_ring_first(r), p);
	}
	CHECK_EQ(at_ring_dropped(r), 0);
	free(r);
}

/* ---- multi-writer stress with exact final accounting -------------------- */

#define MAXW		8
#define MAX_OPS		6000000u	/* per writer; the run ends when one is done */
#define TAB_ABANDONED	(1u << 31)	/* tab[w][k]: 0, pos + 1, or that | flag */

struct stress {
	struct at_ring *r;
	unsigned int order, nwriters, nreaders;
	uint64_t max_ops;
	unsigned int pause_every;	/* writers nap every that many writes */
	uint32_t *tab[MAXW];
	uint64_t count[MAXW], wdropped[MAXW];
	int go, stop;
	uint64_t ok, lost, notyet, sweeps, probes;	/* readers, atomically */
};

struct targ {
	struct stress *s;
	unsigned int id;
};

static void wait_go(int *go)
{
	while (!LD(*go))
		sched_yield();
}

static void *stress_writer(void *arg)
{
	struct targ *t = arg;
	struct stress *s = t->s;
	uint64_t rec[AT_RING_WORDS], k, pos;

	wait_go(&s->go);
	for (k = 0; k < s->max_ops && !LD(s->stop); k++) {
		rt_rec_make(rec, t->id, k);
		if (at_ring_write(s->r, rec, &pos)) {
			ST(s->tab[t->id][k], (uint32_t)(pos + 1));
		} else {
			ST(s->tab[t->id][k], (uint32_t)(pos + 1) | TAB_ABANDONED);
			s->wdropped[t->id]++;
		}
		if (s->pause_every && k % s->pause_every == s->pause_every - 1) {
			struct timespec ts = { 0, 20 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	s->count[t->id] = k;
	if (k == s->max_ops)
		ST(s->stop, 1);		/* log full: end the run for everyone */
	return NULL;
}

/*
 * Check a record a reader got AT_RING_OK for: intact, from a live writer,
 * per-writer counters increasing in position order (last != NULL), and at
 * the position its writer was told (once the writer has published it).
 */
static void check_ok_rec(struct stress *s, uint64_t pos, const uint64_t *rec,
			 int64_t *last)
{
	unsigned int id = rt_rec_id(rec);
	uint64_t k = rt_rec_k(rec);
	uint32_t t;

	if (!rt_rec_ok(rec)) {
		CHECKF(0, "torn record read as OK at pos %" PRIu64, pos);
		return;
	}
	CHECKF(id < s->nwriters && k < s->max_ops, "bogus record id %u k %" PRIu64, id, k);
	if (id >= s->nwriters || k >= s->max_ops)
		return;
	if (last) {
		CHECKF((int64_t)k > last[id], "writer %u: k %" PRIu64 " after %" PRId64
		       " at pos %" PRIu64, id, k, last[id], pos);
		last[id] = (int64_t)k;
	}
	t = LD(s->tab[id][k]);
	CHECKF(!t || t == pos + 1, "pos %" PRIu64 " holds w%u k%" PRIu64
	       " that was written at %u", pos, id, k, t);
}

static void *stress_reader(void *arg)
{
	struct targ *t = arg;
	struct stress *s = t->s;
	uint64_t rec[AT_RING_WORDS], cap = 1ull << s->order;
	uint64_t ok = 0, lost = 0, notyet = 0, sweeps = 0, probes = 0;
	uint64_t rng = t->id * 7919 + 1, h, f, pos;
	int64_t last[MAXW];
	enum at_ring_res res;
	unsigned int w;

	wait_go(&s->go);
	while (!LD(s->stop)) {
		h = at_ring_head(s->r);
		f = h > cap ? h - cap : 0;
		for (w = 0; w < MAXW; w++)
			last[w] = -1;
		for (pos = f; pos < h; pos++) {
			res = at_ring_read(s->r, pos, rec);
			if (res == AT_RING_OK) {
				ok++;
				check_ok_rec(s, pos, rec, last);
			} else if (res == AT_RING_LOST) {
				lost++;
			} else {
				CHECK_EQ(res, AT_RING_NOTYET);
				notyet++;
			}
		}
		sweeps++;
		/* A random position from the past. */
		if (h) {
			rng = rt_mix(rng);
			pos = rng % h;
			if (at_ring_read(s->r, pos, rec) == AT_RING_OK)
				check_ok_rec(s, pos, rec, NULL);
			probes++;
		}
	}
	__atomic_add_fetch(&s->ok, ok, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->lost, lost, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->notyet, notyet, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->sweeps, sweeps, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->probes, probes, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * Quiescent check.  From the writers' own log (which position each write got
 * and whether it was abandoned) predict exactly what every position must
 * read as: OK iff it is the newest successful write of its slot, LOST iff a
 * newer successful write took the slot, NOTYET otherwise (abandoned, and no
 * newer successful write in that slot).
 */
static void stress_final(struct stress *s, uint64_t *okp, uint64_t *lostp,
			 uint64_t *notyetp)
{
	struct at_ring *r = s->r;
	uint64_t head = at_ring_head(r), cap = 1ull << s->order, mask = cap - 1;
	uint64_t total = 0, dropped = 0, ok = 0, lost = 0, notyet = 0, used = 0;
	uint64_t rec[AT_RING_WORDS], want[AT_RING_WORDS], k, pos, p, m;
	uint32_t *own = calloc(head + 1, sizeof(*own));
	uint8_t *succ = calloc(head + 1, 1);
	uint64_t *maxp = calloc(cap, sizeof(*maxp));
	enum at_ring_res res, exp;
	unsigned int w;
	uint32_t t;

	if (!own || !succ || !maxp) {
		perror("calloc");
		exit(2);
	}
	for (w = 0; w < s->nwriters; w++) {
		total += s->count[w];
		dropped += s->wdropped[w];
	}
	CHECK_EQ(head, total);
	CHECK_EQ(at_ring_dropped(r), dropped);
	CHECK_EQ(at_ring_first(r), head > cap ? head - cap : 0);

	/* Every position in [0, head) was handed to exactly one write. */
	for (w = 0; w < s->nwriters; w++) {
		for (k = 0; k < s->count[w]; k++) {
			t = s->tab[w][k];
			p = (uint64_t)(t & ~TAB_ABANDONED) - 1;
			CHECKF(t && p < head, "w%u k%" PRIu64 " tab %u", w, k, t);
			if (!t || p >= head)
				continue;
			CHECKF(!own[p], "pos %" PRIu64 " handed out twice", p);
			own[p] = (uint32_t)(w << 28 | k) + 1;
			succ[p] = !(t & TAB_ABANDONED);
		}
	}
	for (pos = 0; pos < head; pos++) {
		CHECKF(own[pos], "pos %" PRIu64 " never handed out", pos);
		if (succ[pos])
			maxp[pos & mask] = pos + 1;
	}
	for (pos = 0; pos < cap; pos++)
		used += !!maxp[pos];

	for (pos = 0; pos < head; pos++) {
		m = maxp[pos & mask];
		exp = m == pos + 1 ? AT_RING_OK : m > pos + 1 ? AT_RING_LOST : AT_RING_NOTYET;
		res = at_ring_read(r, pos, rec);
		CHECKF(res == exp, "pos %" PRIu64 ": read %d, expected %d", pos, res, exp);
		if (res == AT_RING_OK) {
			ok++;
			w = (own[pos] - 1) >> 28;
			k = (own[pos] - 1) & ((1u << 28) - 1);
			rt_rec_make(want, w, k);
			CHECKF(!memcmp(rec, want, sizeof(rec)), "pos %" PRIu64 " content", pos);
		} else if (res == AT_RING_LOST) {
			lost++;
		} else {
			notyet++;
			CHECKF(!succ[pos], "committed pos %" PRIu64 " reads NOTYET", pos);
		}
	}
	CHECK_EQ(ok + lost + notyet, head);
	CHECK(notyet <= at_ring_dropped(r));
	CHECK_EQ(ok, used);
	CHECK(ok <= cap);
	*okp = ok;
	*lostp = lost;
	*notyetp = notyet;
	free(own);
	free(succ);
	free(maxp);
}

static void stress_run(unsigned int order, unsigned int nwriters, unsigned int nreaders,
		       unsigned int ms)
{
	struct stress s = { .order = order, .nwriters = nwriters, .nreaders = nreaders };
	pthread_t th[2 * MAXW];
	struct targ ta[2 * MAXW];
	uint64_t ok, lost, notyet, head, t0;
	unsigned int i, n = nwriters + nreaders;

	s.max_ops = MAX_OPS;
	s.r = rt_ring_new(order);
	for (i = 0; i < nwriters; i++) {
		s.tab[i] = calloc(s.max_ops, sizeof(uint32_t));
		if (!s.tab[i]) {
			perror("calloc");
			exit(2);
		}
	}
	for (i = 0; i < n; i++) {
		ta[i].s = &s;
		ta[i].id = i < nwriters ? i : i - nwriters;
		if (pthread_create(&th[i], NULL, i < nwriters ? stress_writer : stress_reader,
				   &ta[i])) {
			perror("pthread_create");
			exit(2);
		}
	}
	t0 = rt_now_ns();
	ST(s.go, 1);
	while (!LD(s.stop) && rt_now_ns() - t0 < (uint64_t)ms * 1000000) {
		struct timespec ts = { 0, 10 * 1000000 };

		nanosleep(&ts, NULL);
	}
	ST(s.stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);

	head = at_ring_head(s.r);
	stress_final(&s, &ok, &lost, &notyet);
	printf("    cap %-3llu %uw/%ur: %" PRIu64 " writes, %" PRIu64 " dropped; readers "
	       "ok %" PRIu64 " lost %" PRIu64 " notyet %" PRIu64 " (%" PRIu64
	       " sweeps); final ok %" PRIu64 " lost %" PRIu64 " notyet %" PRIu64 "\n",
	       at_ring_capacity(s.r), nwriters, nreaders, head, at_ring_dropped(s.r),
	       s.ok, s.lost, s.notyet, s.sweeps, ok, lost, notyet);
	/* The run must actually have exercised wraparound and concurrent reads. */
	CHECK(head > 4 * at_ring_capacity(s.r));
	CHECK(s.ok > 0);
	CHECK(s.probes > 0);
	if (order > 0)
		CHECK(s.lost > 0);
	for (i = 0; i < nwriters; i++)
		free(s.tab[i]);
	free(s.r);
}

static void t_stress_cap16(void)
{
	stress_run(4, 4, 2, stress_ms);
}

static void t_stress_cap64(void)
{
	stress_run(6, 4, 2, stress_ms);
}

static void t_stress_cap1(void)
{
	stress_run(0, 4, 2, stress_ms / 2);
}

/* ---- torn reads: a writer hammers a 1-slot ring under a reader -------- */

struct hammer {
	struct at_ring *r;
	int go, stop;
	uint64_t writes;
};

static void *hammer_writer(void *arg)
{
	struct hammer *h = arg;
	uint64_t rec[AT_RING_WORDS], k;

	wait_go(&h->go);
	for (k = 0; !LD(h->stop); k++) {
		rt_rec_make(rec, 1, k);
		at_ring_write(h->r, rec, NULL);
	}
	h->writes = k;
	return NULL;
}

static void t_torn_hammer_cap1(void)
{
	struct hammer h = { .r = rt_ring_new(0) };
	uint64_t rec[AT_RING_WORDS], sentinel[AT_RING_WORDS];
	uint64_t ok = 0, lost = 0, notyet = 0, torn = 0, whole = 0, t0, head, last = 0;
	enum at_ring_res res;
	pthread_t th;

	rt_rec_make(sentinel, 0xffff, 0);
	if (pthread_create(&th, NULL, hammer_writer, &h)) {
		perror("pthread_create");
		exit(2);
	}
	ST(h.go, 1);
	t0 = rt_now_ns();
	while (rt_now_ns() - t0 < (uint64_t)stress_ms * 1000000 / 2) {
		head = at_ring_head(h.r);
		if (!head)
			continue;
		memcpy(rec, sentinel, sizeof(rec));
		res = at_ring_read(h.r, head - 1, rec);
		if (res == AT_RING_OK) {
			ok++;
			CHECKF(rt_rec_ok(rec) && rt_rec_id(rec) == 1,
			       "torn/bogus record read as OK at %" PRIu64, head - 1);
			/* One writer: positions and counters advance together. */
			CHECK(rt_rec_k(rec) == head - 1);
			CHECK(ok == 1 || rt_rec_k(rec) >= last);
			last = rt_rec_k(rec);
		} else if (res == AT_RING_LOST) {
			lost++;
			if (!memcmp(rec, sentinel, sizeof(rec)))
				;		/* newer seq seen before copying */
			else if (rt_rec_ok(rec))
				whole++;	/* copy intact, seq moved after */
			else
				torn++;		/* a real torn copy, caught */
		} else {
			notyet++;
		}
	}
	ST(h.stop, 1);
	pthread_join(th, NULL);
	CHECK_EQ(at_ring_head(h.r), h.writes);
	CHECK_EQ(at_ring_dropped(h.r), 0);	/* a single writer never collides */
	printf("    %" PRIu64 " writes; reads ok %" PRIu64 " lost %" PRIu64
	       " (torn copies caught %" PRIu64 ", intact %" PRIu64 ") notyet %" PRIu64 "\n",
	       h.writes, ok, lost, torn, whole, notyet);
	CHECK(ok > 0);
	CHECK(lost > 0);
	free(h.r);
}

/* ---- follow-mode reader --------------------------------------------------- */

struct follow {
	struct stress s;
	int writers_done;
	uint64_t printed, lost, lost_events, skipped, skipped_quiet, cursor;
	uint64_t *log_pos, *log_w0, log_n, log_cap;
};

static void follow_log(struct follow *f, uint64_t pos, uint64_t w0)
{
	if (f->log_n == f->log_cap) {
		f->log_cap = f->log_cap ? 2 * f->log_cap : 1 << 16;
		f->log_pos = realloc(f->log_pos, f->log_cap * sizeof(uint64_t));
		f->log_w0 = realloc(f->log_w0, f->log_cap * sizeof(uint64_t));
		if (!f->log_pos || !f->log_w0) {
			perror("realloc");
			exit(2);
		}
	}
	f->log_pos[f->log_n] = pos;
	f->log_w0[f->log_n++] = w0;
}

static void *follower(void *arg)
{
	struct follow *f = arg;
	struct stress *s = &f->s;
	uint64_t rec[AT_RING_WORDS], c = 0, nc = 0, k2, x2;
	struct at_ring_patience pat;
	int64_t last[MAXW];
	char line[160];
	unsigned int w, id2;
	int n, done;

	for (w = 0; w < MAXW; w++)
		last[w] = -1;
	at_ring_patience_init(&pat);
	wait_go(&s->go);
	for (;;) {
		done = LD(f->writers_done);
		switch (at_ring_follow(s->r, &pat, c, rt_now_ns(), 20 * 1000000,
				       rec, &nc)) {
		case AT_RING_STEP_REC:
			/* Never print garbage: validate, print, parse back. */
			check_ok_rec(s, c, rec, last);
			n = snprintf(line, sizeof(line), "%" PRIu64 ": w%u k%" PRIu64 " x%016" PRIx64 "\n",
				     c, rt_rec_id(rec), rt_rec_k(rec), rec[AT_RING_WORDS - 1]);
			CHECK(n > 0 && (size_t)n < sizeof(line));
			CHECK(sscanf(line, "%*u: w%u k%" SCNu64 " x%" SCNx64, &id2, &k2, &x2) == 3);
			CHECK(id2 == rt_rec_id(rec) && k2 == rt_rec_k(rec) &&
			      x2 == rec[AT_RING_WORDS - 1]);
			follow_log(f, c, rec[0]);
			f->printed++;
			c++;
			break;
		case AT_RING_STEP_LOST:
			/* Overwritten: resync past it (to the oldest kept). */
			CHECK(nc >= 1);
			f->lost += nc;
			f->lost_events++;
			c += nc;
			break;
		case AT_RING_STEP_GIVEUP:
			/* Claimed 20 ms ago and still not committed. */
			f->skipped++;
			if (done)
				f->skipped_quiet++;
			c++;
			break;
		case AT_RING_STEP_IDLE:
			if (done)
				goto out;
			sched_yield();
			break;
		case AT_RING_STEP_WAIT:
			/* in flight or abandoned: the ring says when to give up */
			CHECK(nc >= 1 && nc <= 20 * 1000000);
			sched_yield();
			break;
		}
	}
out:
	f->cursor = c;
	return NULL;
}

static void t_follow(void)
{
	/* Writers nap now and then so the follower keeps up part of the time. */
	struct follow f = { .s = { .order = 6, .nwriters = 3, .pause_every = 48 } };
	struct stress *s = &f.s;
	pthread_t th[MAXW + 1];
	struct targ ta[MAXW];
	uint64_t head, i, t0, ok, lost, notyet;
	unsigned int w;
	uint32_t t;

	s->max_ops = MAX_OPS;
	s->r = rt_ring_new(s->order);
	for (w = 0; w < s->nwriters; w++) {
		s->tab[w] = calloc(s->max_ops, sizeof(uint32_t));
		ta[w].s = s;
		ta[w].id = w;
		if (!s->tab[w] || pthread_create(&th[w], NULL, stress_writer, &ta[w])) {
			perror("setup");
			exit(2);
		}
	}
	if (pthread_create(&th[s->nwriters], NULL, follower, &f)) {
		perror("pthread_create");
		exit(2);
	}
	t0 = rt_now_ns();
	ST(s->go, 1);
	while (!LD(s->stop) && rt_now_ns() - t0 < (uint64_t)stress_ms * 1000000) {
		struct timespec ts = { 0, 10 * 1000000 };

		nanosleep(&ts, NULL);
	}
	ST(s->stop, 1);
	for (w = 0; w < s->nwriters; w++)
		pthread_join(th[w], NULL);
	ST(f.writers_done, 1);
	pthread_join(th[s->nwriters], NULL);

	head = at_ring_head(s->r);
	printf("    %" PRIu64 " writes, %" PRIu64 " dropped; follower printed %" PRIu64
	       ", lost %" PRIu64 " in %" PRIu64 " resyncs, skipped %" PRIu64 " (%" PRIu64
	       " quiescent)\n", head, at_ring_dropped(s->r), f.printed, f.lost,
	       f.lost_events, f.skipped, f.skipped_quiet);
	CHECK_EQ(f.cursor, head);
	CHECK_EQ(f.printed + f.lost + f.skipped, head);
	CHECK(f.skipped_quiet <= at_ring_dropped(s->r));
	CHECK(f.printed > 0);
	CHECK(f.lost_events > 0);	/* the resync path ran */
	/* Everything printed was exactly what was written at that position. */
	for (i = 0; i < f.log_n; i++) {
		w = (unsigned int)(f.log_w0[i] >> 48);
		t = s->tab[w][f.log_w0[i] & ((1ull << 48) - 1)];
		CHECKF(t == f.log_pos[i] + 1, "printed pos %" PRIu64 " tab %u", f.log_pos[i], t);
	}
	stress_final(s, &ok, &lost, &notyet);
	for (w = 0; w < s->nwriters; w++)
		free(s->tab[w]);
	free(f.log_pos);
	free(f.log_w0);
	free(s->r);
}


/* ---- a model of the follow file's read and poll ---------------------------- */

/*
 * What `apicv-trace watch` does with follow (O_NONBLOCK): poll, then read
 * until EAGAIN, and so on. The reader model does what debugfs.c does, with
 * a virtual clock: poll reports readable only when read can make progress
 * (a record, or positions to report lost) and otherwise arms a timer for
 * when a claimed position is due to be given up; read delivers until there
 * is nothing. Writers act at scripted times. A loop turn that moves neither
 * the cursor nor the clock to a writer's action is a wake-up without
 * progress: a reader that spins makes them without end.
 */
#define FM_PAT		AT_RING_PATIENCE_NS
#define FM_MS		1000000ull

struct fm_act {
	uint64_t at;		/* virtual ns */
	unsigned int writes;	/* records to write */
	unsigned int claims;	/* positions claimed and never written */
};

struct fm {
	struct at_ring *r;
	struct at_ring_patience p;
	uint64_t now, cursor, delivered, lost, k;
	bool old;		/* the follow file before positions were given up */
};

/* poll: readable?  *timer: ns until it must be woken anyway (0: none) */
static bool fm_poll(struct fm *m, uint64_t *timer)
{
	uint64_t rec[AT_RING_WORDS], n = 0;
	enum at_ring_step st;

	*timer = 0;
	if (m->old)	/* readable when head is past the cursor, no timer */
		return at_ring_head(m->r) > m->cursor;
	st = at_ring_follow(m->r, &m->p, m->cursor, m->now, FM_PAT, rec, &n);
	if (st == AT_RING_STEP_WAIT)
		*timer = n;
	return st == AT_RING_STEP_REC || st == AT_RING_STEP_LOST ||
	       st == AT_RING_STEP_GIVEUP;
}

/* read with O_NONBLOCK until EAGAIN: the positions it moved past */
static uint64_t fm_read(struct fm *m)
{
	uint64_t rec[AT_RING_WORDS], n, c0 = m->cursor;

	for (;;) {
		if (m->old) {
			if (m->cursor < at_ring_first(m->r)) {
				m->lost += at_ring_first(m->r) - m->cursor;
				m->cursor = at_ring_first(m->r);
				continue;
			}
			if (m->cursor >= at_ring_head(m->r))
				break;
			switch (at_ring_read(m->r, m->cursor, rec)) {
			case AT_RING_OK:
				m->delivered++;
				m->cursor++;
				continue;
			case AT_RING_LOST:
				m->lost++;
				m->cursor++;
				continue;
			case AT_RING_NOTYET:
				break;		/* -EAGAIN */
			}
			break;
		}
		switch (at_ring_follow(m->r, &m->p, m->cursor, m->now, FM_PAT, rec, &n)) {
		case AT_RING_STEP_REC:
			CHECK(rt_rec_ok(rec));
			m->delivered++;
			m->cursor++;
			continue;
		case AT_RING_STEP_LOST:
		case AT_RING_STEP_GIVEUP:
			m->lost += n;
			m->cursor += n;
			continue;
		case AT_RING_STEP_IDLE:
		case AT_RING_STEP_WAIT:
			break;
		}
		break;
	}
	return m->cursor - c0;
}

/*
 * Run the reader over @acts; returns the wake-ups without progress (stops
 * counting at @limit). *end: the virtual time it went to sleep for good.
 */
static unsigned int fm_run(struct fm *m, const struct fm_act *acts,
			   unsigned int nacts, unsigned int limit, uint64_t *end)
{
	uint64_t rec[AT_RING_WORDS], timer, next;
	unsigned int a = 0, idle = 0, i;

	while (idle < limit) {
		if (fm_poll(m, &timer)) {
			if (!fm_read(m))
				idle++;		/* readable, yet nothing: EAGAIN */
			continue;
		}
		/* asleep until the timer or the next writer, whichever first */
		next = a < nacts ? acts[a].at : UINT64_MAX;
		if (timer && m->now + timer < next) {
			m->now += timer;
			idle++;
			continue;
		}
		if (a == nacts)
			break;		/* asleep for good: nothing can come */
		m->now = next > m->now ? next : m->now;
		for (i = 0; i < acts[a].writes; i++) {
			rt_rec_make(rec, 1, m->k++);
			CHECK(at_ring_write(m->r, rec, NULL));
		}
		for (i = 0; i < acts[a].claims; i++)
			at_atomic64_fetch_inc(&m->r->head);
		a++;
	}
	*end = m->now;
	return idle;
}

static void t_follow_model(void)
{
	/* 5 records, 2 abandoned claims, 3 more records, then quiet; later a
	 * burst and one more abandoned claim at the very end */
	static const struct fm_act acts[] = {
		{ 10 * FM_MS, 5, 0 }, { 11 * FM_MS, 0, 2 }, { 12 * FM_MS, 3, 0 },
		{ 2000 * FM_MS, 4, 1 },
	};
	const unsigned int nacts = sizeof(acts) / sizeof(acts[0]);
	struct fm m;
	unsigned int idle;
	uint64_t end;

	/* the follow file: no spin, everything accounted, given up in time */
	memset(&m, 0, sizeof(m));
	m.r = rt_ring_new(4);
	at_ring_patience_init(&m.p);
	idle = fm_run(&m, acts, nacts, 1000, &end);
	printf("    follow: %u wake-ups without progress, delivered %" PRIu64
	       ", lost %" PRIu64 ", asleep for good at %" PRIu64 " ms\n",
	       idle, m.delivered, m.lost, (uint64_t)(end / FM_MS));
	CHECKF(idle <= 2, "%u wake-ups without progress", idle);
	CHECK_EQ(m.cursor, at_ring_head(m.r));
	CHECK_EQ(m.delivered, 12);
	CHECK_EQ(m.lost, 3);
	/* the last claim (at 2000 ms) was given up at 2000 ms + the bound */
	CHECK_EQ(end, 2000 * FM_MS + FM_PAT);
	free(m.r);

	/*
	 * The harness itself: the follow file as it was (poll readable while
	 * head is past the cursor, read EAGAIN on an abandoned position) must
	 * be caught spinning, or the check above proves nothing.
	 */
	memset(&m, 0, sizeof(m));
	m.r = rt_ring_new(4);
	m.old = true;
	idle = fm_run(&m, acts, nacts, 1000, &end);
	printf("    the old follow: %u wake-ups without progress (stuck at %" PRIu64
	       " of %" PRIu64 ")\n", idle, m.cursor, at_ring_head(m.r));
	CHECK_EQ(idle, 1000);
	CHECK(m.cursor < at_ring_head(m.r));
	free(m.r);
}

/* ---- runner ---------------------------------------------------------------- */

static const struct rt_case cases[] = {
	{ "init_empty", t_init_empty },
	{ "write_read", t_write_read },
	{ "wraparound", t_wraparound },
	{ "capacity_one", t_capacity_one },
	{ "stress_cap16_4w2r", t_stress_cap16 },
	{ "stress_cap64_4w2r", t_stress_cap64 },
	{ "stress_cap1_4w2r", t_stress_cap1 },
	{ "torn_hammer_cap1", t_torn_hammer_cap1 },
	{ "follow_reader", t_follow },
	{ "follow_model", t_follow_model },
};

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static void run_case(const struct rt_case *c, unsigned int *passed, unsigned int *failed)
{
	uint64_t t0 = rt_now_ns();
	unsigned long f;

	__atomic_store_n(&rt_failures, 0, __ATOMIC_RELAXED);
	printf("  %s\n", c->name);
	fflush(stdout);
	c->fn();
	f = __atomic_load_n(&rt_failures, __ATOMIC_RELAXED);
	printf("  %s %s (%.2fs)\n", f ? "FAIL" : "ok  ", c->name, (rt_now_ns() - t0) / 1e9);
	fflush(stdout);
	if (f)
		(*failed)++;
	else
		(*passed)++;
}

int main(int argc, char **argv)
{
	unsigned int i, passed = 0, failed = 0;
	const char *e = getenv("RING_STRESS_MS");

	if (e && atoi(e) > 0)
		stress_ms = (unsigned int)atoi(e);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (selected(cases[i].name, argc, argv))
			run_case(&cases[i], &passed, &failed);
	for (i = 0; i < rt_hook_ncases; i++)
		if (selected(rt_hook_cases[i].name, argc, argv))
			run_case(&rt_hook_cases[i], &passed, &failed);
	printf("ring: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
