// SPDX-License-Identifier: GPL-2.0
/*
 * bench.c - ns per at_ring_write() with 1 and 2 writer threads, against a
 * pthread-mutex-protected ring of the same geometry (128-byte slots).
 *
 * Usage: bench [-n WRITES_PER_THREAD] [-o ORDER] [-r RUNS]
 * Prints, per implementation and thread count, the median/min/max over the
 * runs of (wall time of the run / writes per thread): the mean cost of one
 * write as seen by each concurrently writing thread.
 */
#include "ring.h"
#include "rt.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

unsigned long rt_failures;	/* rt.h wants it; unused here */

void rt_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	(void)fmt;
	fprintf(stderr, "%s:%d: %s\n", file, line, expr);
	exit(1);
}

struct mx_ring {
	pthread_mutex_t lock;
	uint64_t head, mask;
	struct at_ring_slot *slot;
};

static void mx_write(struct mx_ring *m, const uint64_t *rec)
{
	struct at_ring_slot *s;
	unsigned int i;

	pthread_mutex_lock(&m->lock);
	s = &m->slot[m->head & m->mask];
	s->seq = ++m->head;
	for (i = 0; i < AT_RING_WORDS; i++)
		s->w[i] = rec[i];
	pthread_mutex_unlock(&m->lock);
}

struct job {
	int kind;			/* 0 = at_ring, 1 = mutex ring */
	struct at_ring *r;
	struct mx_ring *m;
	uint64_t n;
	int ready, go;
	unsigned int id;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	uint64_t rec[AT_RING_WORDS], k;

	rt_rec_make(rec, j->id, 0);
	__atomic_add_fetch(&j->ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&j->go, __ATOMIC_ACQUIRE))
		;
	for (k = 0; k < j->n; k++) {
		rec[0] = k;
		if (j->kind == 0)
			at_ring_write(j->r, rec, NULL);
		else
			mx_write(j->m, rec);
	}
	return NULL;
}

/* One run: returns ns per write per thread. */
static double run(int kind, unsigned int threads, unsigned int order, uint64_t n,
		  uint64_t *dropped)
{
	struct job j[2];
	pthread_t th[2];
	struct at_ring *r = rt_ring_new(order);
	struct mx_ring m = { .lock = PTHREAD_MUTEX_INITIALIZER, .mask = (1ull << order) - 1 };
	uint64_t t0, t1;
	unsigned int i;

	m.slot = r->slot;	/* same memory layout, just a lock instead */
	for (i = 0; i < threads; i++)
		j[i] = (struct job){ .kind = kind, .r = r, .m = &m, .n = n, .id = i };
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, &j[i]);
	for (i = 0; i < threads; i++)
		while (!__atomic_load_n(&j[i].ready, __ATOMIC_ACQUIRE))
			sched_yield();
	t0 = rt_now_ns();
	for (i = 0; i < threads; i++)
		__atomic_store_n(&j[i].go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = rt_now_ns();
	if (kind == 0) {
		if (at_ring_head(r) != threads * n) {
			fprintf(stderr, "bench: head %llu != %llu\n",
				(unsigned long long)at_ring_head(r),
				(unsigned long long)(threads * n));
			exit(1);
		}
		*dropped += at_ring_dropped(r);
	} else if (m.head != threads * n) {
		fprintf(stderr, "bench: mutex head mismatch\n");
		exit(1);
	}
	free(r);
	return (double)(t1 - t0) / (double)n;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "at_ring", "mutex" };
	uint64_t n = 2000000, dropped;
	unsigned int order = 10, runs = 5, threads, i;
	double v[64];
	int kind, opt;

	while ((opt = getopt(argc, argv, "n:o:r:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			order = (unsigned int)atoi(optarg);
			break;
		case 'r':
			runs = (unsigned int)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n writes/thread] [-o order] [-r runs]\n",
				argv[0]);
			return 2;
		}
	}
	if (!n || !runs || runs > 64 || order > 20) {
		fprintf(stderr, "bench: bad arguments\n");
		return 2;
	}
	printf("bench: %llu writes/thread, capacity %u, %u runs, %ld CPUs\n",
	       (unsigned long long)n, 1u << order, runs, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-8s %7s %9s %9s %9s %9s\n", "impl", "threads", "median", "min", "max",
	       "dropped");
	for (kind = 0; kind < 2; kind++) {
		for (threads = 1; threads <= 2; threads++) {
			dropped = 0;
			for (i = 0; i < runs; i++)
				v[i] = run(kind, threads, order, n, &dropped);
			qsort(v, runs, sizeof(v[0]), cmp_d);
			printf("%-8s %7u %6.1f ns %6.1f ns %6.1f ns %8.4f%%\n", names[kind],
			       threads, v[runs / 2], v[0], v[runs - 1],
			       100.0 * (double)dropped / (double)(runs * threads * n));
		}
	}
	return 0;
}
