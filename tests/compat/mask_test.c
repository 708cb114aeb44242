// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace test for at_mask_after() (module/record.h): a VM's recorded
 * inhibit mask follows every bit KVM can set, including reasons at or
 * above AT_MAX_BITS, for which the module keeps no per-reason statistics.
 *
 * The module once returned early for such bits: the recorded mask never
 * held them, so every later setter call "corrected" it with a missed pair
 * and apicv= read active while KVM was inhibited. old_mask_after() below
 * is that behaviour, and the test shows it fails the same assertions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define AT_MAX_BITS_MODULE 16	/* module/compat.h: per-reason statistics */

static int failures, checks;

#define CHECK(cond, ...)						\
	do {								\
		checks++;						\
		if (!(cond)) {						\
			failures++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

/* What the module did before: bits >= AT_MAX_BITS never reached the mask. */
static at_u64 old_mask_after(at_u64 mask, unsigned int bit, bool set)
{
	if (bit >= AT_MAX_BITS_MODULE)
		return mask;
	return at_mask_after(mask, bit, set);
}

typedef at_u64 (*mask_fn)(at_u64, unsigned int, bool);

/*
 * Replay a setter's view: KVM's mask moves bit by bit; the recorded mask
 * must equal KVM's after every step. Returns the number of steps where the
 * two differed (each is a "missed" correction the next call would emit).
 */
static unsigned int replay(mask_fn fn, const unsigned int *bits,
			   const bool *sets, unsigned int n)
{
	at_u64 kvm = 0, rec = 0;
	unsigned int i, drift = 0;

	for (i = 0; i < n; i++) {
		kvm = sets[i] ? kvm | (1ULL << bits[i]) : kvm & ~(1ULL << bits[i]);
		rec = fn(rec, bits[i], sets[i]);
		drift += rec != kvm;
	}
	return drift;
}

int main(int argc, char **argv)
{
	static const unsigned int bits[] = { 20, 3, 20, 40, 63, 3, 40, 63, 17 };
	static const bool sets[] = { 1, 1, 0, 1, 1, 0, 0, 0, 1 };
	unsigned int b, n = sizeof(bits) / sizeof(bits[0]);
	bool old = argc > 1 && !strcmp(argv[1], "--old-logic");
	mask_fn fn = old ? old_mask_after : at_mask_after;

	/* every bit of the 64-bit mask, set then cleared, alone and among others */
	for (b = 0; b < 64; b++) {
		at_u64 one = 1ULL << b, others = 0x5a5a5a5a5a5a5a5aULL & ~one;

		CHECK(fn(0, b, true) == one, "bit %u set from 0", b);
		CHECK(fn(one, b, false) == 0, "bit %u cleared to 0", b);
		CHECK(fn(one, b, true) == one, "bit %u set twice", b);
		CHECK(fn(0, b, false) == 0, "bit %u cleared twice", b);
		CHECK(fn(others, b, true) == (others | one), "bit %u set among others", b);
		CHECK(fn(others | one, b, false) == others, "bit %u cleared among others", b);
	}
	/* no reason number beyond the mask's width changes it */
	for (b = 64; b < 300; b += 7) {
		CHECK(fn(0x8001ULL, b, true) == 0x8001ULL, "bit %u set: unchanged", b);
		CHECK(fn(0x8001ULL, b, false) == 0x8001ULL, "bit %u cleared: unchanged", b);
	}
	CHECK(fn(0x8001ULL, 255, true) == 0x8001ULL, "AT_NO_BIT changes nothing");
	/* a sequence mixing bits below and above AT_MAX_BITS: no drift */
	b = replay(fn, bits, sets, n);
	CHECK(b == 0, "recorded mask drifted from KVM's in %u of %u steps", b, n);

	printf("mask_test%s: %d checks, %d failed\n", old ? " --old-logic" : "",
	       checks, failures);
	return failures ? 1 : 0;
}
