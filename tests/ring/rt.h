/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rt.h - tiny test harness and record helpers shared by the ring tests.
 */
#ifndef APICV_TRACE_RT_H
#define APICV_TRACE_RT_H

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Failures of the running test; bumped from any thread. */
extern unsigned long rt_failures;

void rt_fail(const char *file, int line, const char *expr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			rt_fail(__FILE__, __LINE__, #cond, NULL);	\
	} while (0)

#define CHECKF(cond, ...)						\
	do {								\
		if (!(cond))						\
			rt_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		unsigned long long _a = (a), _b = (b);			\
		if (_a != _b)						\
			rt_fail(__FILE__, __LINE__, #a " == " #b,	\
				"%llu != %llu", _a, _b);		\
	} while (0)

struct rt_case {
	const char *name;
	void (*fn)(void);
};

/* Hook-instrumented cases, built in their own translation unit. */
extern const struct rt_case rt_hook_cases[];
extern const unsigned int rt_hook_ncases;

static inline uint64_t rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Records: w[0] = writer id << 48 | per-writer counter, w[1..14] a hash of
 * w[0] and the word index, so any mix of two records fails rt_rec_ok().
 */
static inline uint64_t rt_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline void rt_rec_make(uint64_t *w, unsigned int id, uint64_t k)
{
	unsigned int i;

	w[0] = (uint64_t)id << 48 | k;
	for (i = 1; i < AT_RING_WORDS; i++)
		w[i] = rt_mix(w[0] * 31 + i);
}

static inline bool rt_rec_ok(const uint64_t *w)
{
	unsigned int i;

	for (i = 1; i < AT_RING_WORDS; i++)
		if (w[i] != rt_mix(w[0] * 31 + i))
			return false;
	return true;
}

static inline unsigned int rt_rec_id(const uint64_t *w)
{
	return (unsigned int)(w[0] >> 48);
}

static inline uint64_t rt_rec_k(const uint64_t *w)
{
	return w[0] & ((1ull << 48) - 1);
}

/* A ring in 64-byte aligned memory filled with junk first. */
static inline struct at_ring *rt_ring_new(unsigned int order)
{
	size_t sz = at_ring_bytes(order);
	size_t asz = (sz + 63) & ~(size_t)63;
	struct at_ring *r = aligned_alloc(64, asz);

	if (!r) {
		perror("aligned_alloc");
		exit(2);
	}
	memset(r, 0xa5, asz);
	at_ring_init(r, order);
	return r;
}

#endif /* APICV_TRACE_RT_H */
