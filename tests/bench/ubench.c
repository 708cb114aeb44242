// SPDX-License-Identifier: GPL-2.0
/*
 * ubench.c - the userspace build of module/ring.h: ns per at_ring_write()
 * of a struct at_rec (128-byte slot), 1 and 2 writer threads on one ring,
 * against the same ring geometry behind a pthread mutex (the floor to beat).
 * Same output format as the kernel atbench module, so scripts/bench.sh
 * reports both alike:
 *
 *   ubench impl=I writers=W run=R n=N wall_ns= sum_own_ns= overlap_pct= dropped=
 *
 * Usage: ubench [-n WRITES_PER_WRITER] [-o ORDER] [-r RUNS] [-w MAX_WRITERS]
 *        ubench -c IMPL -n N   one writer, no timing: for callgrind's
 *                              instruction count (IMPL at_ring or mutex)
 * Runs are interleaved (run r: every impl with 1 writer, then 2).
 */
#define _GNU_SOURCE
#include "record.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * at_ring: one shared ring (the module's per-VM ring); mutex: the floor to
 * beat; two diagnostics for the 2-writer case: faa_only (only the shared
 * head's fetch-and-increment, no slot) and at_ring_private (each writer
 * its own ring: what per-CPU sub-rings would cost).
 */
enum { IMPL_AT_RING, IMPL_MUTEX, IMPL_FAA, IMPL_PRIVATE, IMPL_MAX };
static const char *const names[IMPL_MAX] = { "at_ring", "mutex", "faa_only", "at_ring_private" };

struct mx_ring {
	pthread_mutex_t lock;
	uint64_t head, mask;
	struct at_ring_slot *slot;
};

/* Same work as at_ring_write() minus the lock-free protocol. */
static __attribute__((noinline)) void mx_write(struct mx_ring *m, const struct at_rec *rec)
{
	const uint64_t *src = (const uint64_t *)rec;
	struct at_ring_slot *s;
	unsigned int i;

	pthread_mutex_lock(&m->lock);
	s = &m->slot[m->head & m->mask];
	s->seq = ++m->head;
	for (i = 0; i < AT_RING_WORDS; i++)
		s->w[i] = src[i];
	pthread_mutex_unlock(&m->lock);
}

static __attribute__((noinline)) void at_write(struct at_ring *r, const struct at_rec *rec)
{
	at_ring_write(r, rec, NULL);
}

struct shared {
	int impl;
	struct at_ring *r, *priv[8];
	struct mx_ring m;
	uint64_t n;
	int ready, go;
};

struct job {
	struct shared *sh;
	unsigned int id;
	uint64_t start, end;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill_rec(struct at_rec *rec, unsigned int id)
{
	memset(rec, 0, sizeof(*rec));
	rec->event = AT_EV_SET;
	rec->bit = 3;
	rec->vcpu = (int)id;
	rec->tid = 1000 + id;
	rec->old_mask = 0x100;
	rec->new_mask = 0x108;
	rec->result = AT_RES_CHANGED;
	strcpy(rec->comm, "ubench");
}

static void write_n(struct shared *sh, struct at_rec *rec, uint64_t n, unsigned int id)
{
	uint64_t k;

	for (k = 0; k < n; k++) {
		rec->gseq = k;
		switch (sh->impl) {
		case IMPL_AT_RING:
			at_write(sh->r, rec);
			break;
		case IMPL_MUTEX:
			mx_write(&sh->m, rec);
			break;
		case IMPL_FAA:
			at_atomic64_fetch_inc(&sh->r->head);
			break;
		default:
			at_write(sh->priv[id], rec);
			break;
		}
	}
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct shared *sh = j->sh;
	struct at_rec rec;

	fill_rec(&rec, j->id);
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
		;
	j->start = now_ns();
	write_n(sh, &rec, sh->n, j->id);
	j->end = now_ns();
	return NULL;
}

static struct at_ring *ring_new(unsigned int order)
{
	struct at_ring *r = aligned_alloc(64, at_ring_bytes(order));

	if (!r) {
		perror("ubench: alloc");
		exit(1);
	}
	at_ring_init(r, order);
	return r;
}

static void measure(int impl, unsigned int writers, unsigned int order,
		    uint64_t n, unsigned int run)
{
	struct shared sh = { .impl = impl, .n = n,
			     .m = { .lock = PTHREAD_MUTEX_INITIALIZER } };
	struct job j[8];
	pthread_t th[8];
	uint64_t first = UINT64_MAX, last = 0, maxstart = 0, minend = UINT64_MAX;
	uint64_t own = 0, overlap = 0, dropped = 0;
	unsigned int i;

	sh.r = ring_new(order);
	sh.m.mask = (1ull << order) - 1;
	sh.m.slot = sh.r->slot;
	for (i = 0; i < writers; i++)
		sh.priv[i] = ring_new(order);
	for (i = 0; i < writers; i++) {
		j[i] = (struct job){ .sh = &sh, .id = i };
		pthread_create(&th[i], NULL, worker, &j[i]);
	}
	while (__atomic_load_n(&sh.ready, __ATOMIC_ACQUIRE) < (int)writers)
		sched_yield();
	__atomic_store_n(&sh.go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < writers; i++) {
		pthread_join(th[i], NULL);
		first = j[i].start < first ? j[i].start : first;
		last = j[i].end > last ? j[i].end : last;
		maxstart = j[i].start > maxstart ? j[i].start : maxstart;
		minend = j[i].end < minend ? j[i].end : minend;
		own += j[i].end - j[i].start;
	}
	if (minend > maxstart)
		overlap = (minend - maxstart) * 100 / (last - first ? last - first : 1);
	if (impl == IMPL_AT_RING || impl == IMPL_FAA) {
		if (at_ring_head(sh.r) != writers * n) {
			fprintf(stderr, "ubench: ERROR head %llu != %llu\n",
				(unsigned long long)at_ring_head(sh.r),
				(unsigned long long)(writers * n));
			exit(1);
		}
		dropped = at_ring_dropped(sh.r);
	} else if (impl == IMPL_MUTEX && sh.m.head != writers * n) {
		fprintf(stderr, "ubench: ERROR mutex head mismatch\n");
		exit(1);
	}
	for (i = 0; i < writers; i++)
		free(sh.priv[i]);
	printf("ubench impl=%s writers=%u run=%u n=%llu wall_ns=%llu sum_own_ns=%llu overlap_pct=%llu dropped=%llu\n",
	       names[impl], writers, run, (unsigned long long)n,
	       (unsigned long long)(last - first), (unsigned long long)own,
	       (unsigned long long)overlap, (unsigned long long)dropped);
	free(sh.r);
}

int main(int argc, char **argv)
{
	uint64_t n = 2000000;
	unsigned int order = 8, runs = 7, maxw = 2, run, w;
	const char *cg = NULL;
	int impl, opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "n:o:r:w:c:")) != -1) {
		switch (opt) {
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'o': order = (unsigned int)atoi(optarg); break;
		case 'r': runs = (unsigned int)atoi(optarg); break;
		case 'w': maxw = (unsigned int)atoi(optarg); break;
		case 'c': cg = optarg; break;
		default:
			fprintf(stderr, "usage: ubench [-n N] [-o ORDER] [-r RUNS] [-w WRITERS] | -c IMPL -n N\n");
			return 2;
		}
	}
	if (!n || !runs || !maxw || maxw > 8 || order > 20) {
		fprintf(stderr, "ubench: bad arguments\n");
		return 2;
	}
	if (cg) {
		struct shared sh = { .n = n, .m = { .lock = PTHREAD_MUTEX_INITIALIZER } };
		struct at_rec rec;

		sh.impl = !strcmp(cg, "mutex") ? IMPL_MUTEX : IMPL_AT_RING;
		sh.r = ring_new(order);
		sh.m.mask = (1ull << order) - 1;
		sh.m.slot = sh.r->slot;
		fill_rec(&rec, 0);
		write_n(&sh, &rec, n, 0);
		free(sh.r);
		return 0;
	}
	printf("ubench begin n=%llu runs=%u ring_slots=%u cpus=%ld\n",
	       (unsigned long long)n, runs, 1u << order, sysconf(_SC_NPROCESSORS_ONLN));
	for (run = 0; run < runs; run++)
		for (w = 1; w <= maxw; w++)
			for (impl = 0; impl < IMPL_MAX; impl++)
				measure(impl, w, order, n, run);
	printf("ubench end\n");
	return 0;
}
