// SPDX-License-Identifier: GPL-2.0
/*
 * compile_test.c - ring.h must build warning-free under strict flags
 * (see the Makefile: -std=gnu11/c11 -pedantic -Werror and the kernel's own
 * -Wdeclaration-after-statement, -Wstrict-prototypes, -Wvla, ...).  Every
 * API is used once so that each inline body is really compiled.
 */
#include "ring.h"
#include "ring.h"	/* include guard */

int compile_test(struct at_ring *r, const void *rec, void *out);

int compile_test(struct at_ring *r, const void *rec, void *out)
{
	at_u64 pos = 0, sum;
	enum at_ring_res res;
	bool ok;

	at_ring_init(r, 4);
	ok = at_ring_write(r, rec, &pos);
	ok = at_ring_write(r, rec, NULL) && ok;
	res = at_ring_read(r, pos, out);
	sum = at_ring_head(r) + at_ring_first(r) + at_ring_dropped(r) +
	      at_ring_capacity(r) + at_ring_bytes(4);
	return (int)res + (ok ? 1 : 0) + (int)(sum & 1);
}
