// SPDX-License-Identifier: GPL-2.0
/*
 * at_ring_kcheck.c - builds module/ring.h as kernel code (make kcheck).
 * Loading it runs a tiny self-test; nothing in the project loads it.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/kprobes.h>

#include "ring.h"

static noinline bool at_kcheck_write(struct at_ring *r, const u64 *rec, u64 *pos)
{
	return at_ring_write(r, rec, pos);
}
NOKPROBE_SYMBOL(at_kcheck_write);

static int __init at_kcheck_init(void)
{
	u64 rec[AT_RING_WORDS] = { 1, 2, 3 }, out[AT_RING_WORDS], pos = 0;
	struct at_ring *r = kvmalloc(at_ring_bytes(2), GFP_KERNEL);
	int ret = 0;

	if (!r)
		return -ENOMEM;
	at_ring_init(r, 2);
	if (!at_kcheck_write(r, rec, &pos) ||
	    at_ring_read(r, pos, out) != AT_RING_OK || out[2] != 3 ||
	    at_ring_head(r) != 1 || at_ring_first(r) != 0 ||
	    at_ring_dropped(r) != 0 || at_ring_capacity(r) != 4)
		ret = -EINVAL;
	kvfree(r);
	return ret;
}

static void __exit at_kcheck_exit(void)
{
}

module_init(at_kcheck_init);
module_exit(at_kcheck_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("apicv-trace ring.h kernel compile check");
