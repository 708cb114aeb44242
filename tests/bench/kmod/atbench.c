// SPDX-License-Identifier: GPL-2.0
/*
 * atbench.c - record cost of apicv-trace's ring (module/ring.h, the same
 * code the module runs) against the kernel's tracing ring buffer
 * (ring_buffer_lock_reserve/ring_buffer_unlock_commit), in one boot.
 *
 * Runs at load time, prints one line per measurement to the kernel log and
 * stays loaded (rmmod it afterwards).  Each measurement: W writer kthreads,
 * writer i pinned to CPU i, all released at once, each writing n records
 * of 120 bytes (a struct at_rec; the kernel ring buffer adds its own 8-byte
 * header: 128 bytes per event on both sides).  Implementations:
 *
 *   at_ring   at_ring_write() of a struct at_rec into one shared ring of
 *             ring_order (default 8 = 256 slots, the module's ring_size)
 *   at_emit   what the module's at_emit() does per record around it: a
 *             CLOCK_BOOTTIME stamp, the global sequence, the VM's ring, the
 *             follow stream (4096 slots: the path while a follow file is
 *             open; with none open it skips the stream), a per-CPU counter
 *   at_ring_private  diagnostic: each writer its own ring (per-CPU
 *             sub-rings, as the kernel ring buffer has)
 *   kernel_rb one trace_buffer (RB_FL_OVERWRITE, rb_kb KiB per CPU):
 *             reserve, copy 120 bytes, commit (it stamps the time itself)
 *
 * Runs are interleaved: for each run, every implementation with 1 writer,
 * then with 2 (or W up to num_online_cpus()).  Per measurement it prints
 *   atbench impl=I writers=W run=R n=N wall_ns=... sum_own_ns=...
 *          overlap_pct=... dropped=...
 * wall_ns: from the release to the last writer's end; sum_own_ns: the sum
 * over writers of each one's own first-to-last time; overlap_pct: how much
 * of the wall time all writers were running at once (100 = fully parallel).
 * Errors print "atbench ERROR ..." and make the load fail.
 */
#define pr_fmt(fmt) "atbench: " fmt

#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/vmalloc.h>
#include <linux/kthread.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/ring_buffer.h>
#include <linux/timekeeping.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/version.h>

#include "../../../module/record.h"

static unsigned int n = 100000;
module_param(n, uint, 0444);
MODULE_PARM_DESC(n, "records per writer per measurement");
static unsigned int runs = 7;
module_param(runs, uint, 0444);
static unsigned int ring_order = 8;
module_param(ring_order, uint, 0444);
static unsigned int stream_order = 12;
module_param(stream_order, uint, 0444);
static unsigned int rb_kb = 32;
module_param(rb_kb, uint, 0444);
MODULE_PARM_DESC(rb_kb, "kernel ring buffer size per CPU, KiB");
static unsigned int max_writers = 2;
module_param(max_writers, uint, 0444);
static unsigned int chunk = 256;
module_param(chunk, uint, 0444);
MODULE_PARM_DESC(chunk, "records written per preempt-disabled stretch");

enum { IMPL_AT_RING, IMPL_AT_EMIT, IMPL_KERNEL_RB, IMPL_PRIVATE, IMPL_MAX };
static const char *const impl_names[IMPL_MAX] = {
	"at_ring", "at_emit", "kernel_rb", "at_ring_private",
};

#define MAXW 8

static DEFINE_PER_CPU(u64, bench_events);

struct bench {
	int impl;
	unsigned int writers;
	struct at_ring *ring, *stream, *priv[MAXW];
	struct trace_buffer *rb;
	atomic64_t gseq;
	atomic_t ready, go;
	atomic64_t rb_fail;
	u64 start[MAXW], end[MAXW];
	struct completion done[MAXW];
};

struct wctx {
	struct bench *b;
	unsigned int id;
};

static void fill_rec(struct at_rec *rec, unsigned int id)
{
	memset(rec, 0, sizeof(*rec));
	rec->event = AT_EV_SET;
	rec->bit = 3;
	rec->vcpu = id;
	rec->cpu = id;
	rec->tid = 1000 + id;
	rec->old_mask = 0x100;
	rec->new_mask = 0x108;
	rec->result = AT_RES_CHANGED;
	strscpy(rec->comm, "atbench", sizeof(rec->comm));
}

static __always_inline void one_write(struct bench *b, struct at_rec *rec, u64 k,
				      unsigned int id)
{
	struct ring_buffer_event *ev;

	switch (b->impl) {
	case IMPL_AT_RING:
		rec->gseq = k;
		at_ring_write(b->ring, rec, NULL);
		break;
	case IMPL_AT_EMIT:
		rec->ns = ktime_get_boot_fast_ns();
		rec->gseq = atomic64_inc_return(&b->gseq);
		at_ring_write(b->ring, rec, NULL);
		at_ring_write(b->stream, rec, NULL);
		this_cpu_inc(bench_events);
		break;
	case IMPL_PRIVATE:
		rec->gseq = k;
		at_ring_write(b->priv[id], rec, NULL);
		break;
	case IMPL_KERNEL_RB:
		rec->gseq = k;
		ev = ring_buffer_lock_reserve(b->rb, sizeof(*rec));
		if (unlikely(!ev)) {
			atomic64_inc(&b->rb_fail);
			break;
		}
		memcpy(ring_buffer_event_data(ev), rec, sizeof(*rec));
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
		ring_buffer_unlock_commit(b->rb, ev);
#else
		ring_buffer_unlock_commit(b->rb);
#endif
		break;
	}
}

static int writer_fn(void *arg)
{
	struct wctx *w = arg;
	struct bench *b = w->b;
	struct at_rec rec;
	u64 k = 0, stop;

	fill_rec(&rec, w->id);
	atomic_inc(&b->ready);
	while (!atomic_read_acquire(&b->go))
		cond_resched();	/* voluntary preemption: let the controller run */
	b->start[w->id] = ktime_get_ns();
	while (k < n) {
		stop = min_t(u64, n, k + chunk);
		preempt_disable();
		for (; k < stop; k++)
			one_write(b, &rec, k, w->id);
		preempt_enable();
	}
	b->end[w->id] = ktime_get_ns();
	complete(&b->done[w->id]);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 100);
	return 0;
}

static struct at_ring *ring_new(unsigned int order)
{
	struct at_ring *r = kvmalloc(at_ring_bytes(order), GFP_KERNEL);

	if (r)
		at_ring_init(r, order);
	return r;
}

static int measure(int impl, unsigned int writers, unsigned int run)
{
	static struct bench b;
	struct task_struct *t[MAXW];
	struct wctx w[MAXW];
	u64 t0, first = U64_MAX, last = 0, maxstart = 0, minend = U64_MAX, own = 0;
	u64 dropped = 0, expect = (u64)writers * n, overlap = 0;
	unsigned int i;
	int ret = 0;

	memset(&b, 0, sizeof(b));
	b.impl = impl;
	b.writers = writers;
	if (impl == IMPL_KERNEL_RB) {
		b.rb = ring_buffer_alloc((unsigned long)rb_kb * 1024, RB_FL_OVERWRITE);
		if (!b.rb) {
			pr_err("atbench ERROR ring_buffer_alloc failed\n");
			return -ENOMEM;
		}
	} else {
		b.ring = ring_new(ring_order);
		b.stream = ring_new(stream_order);
		bool ok = b.ring && b.stream;

		for (i = 0; i < writers; i++) {
			b.priv[i] = ring_new(ring_order);
			ok = ok && b.priv[i];
		}
		if (!ok) {
			kvfree(b.ring);
			kvfree(b.stream);
			for (i = 0; i < MAXW; i++)
				kvfree(b.priv[i]);
			pr_err("atbench ERROR ring allocation failed\n");
			return -ENOMEM;
		}
	}
	for (i = 0; i < writers; i++) {
		init_completion(&b.done[i]);
		w[i].b = &b;
		w[i].id = i;
		t[i] = kthread_create(writer_fn, &w[i], "atbench/%u", i);
		if (IS_ERR(t[i])) {
			pr_err("atbench ERROR kthread_create: %ld\n", PTR_ERR(t[i]));
			writers = i;	/* release and reap the ones started */
			atomic_set_release(&b.go, 1);
			for (i = 0; i < writers; i++) {
				wait_for_completion(&b.done[i]);
				kthread_stop(t[i]);
			}
			ret = -ENOMEM;
			goto out;
		}
		kthread_bind(t[i], i);
		wake_up_process(t[i]);
	}
	while (atomic_read(&b.ready) < writers)
		usleep_range(100, 200);
	t0 = ktime_get_ns();
	atomic_set_release(&b.go, 1);
	for (i = 0; i < writers; i++)
		wait_for_completion(&b.done[i]);
	for (i = 0; i < writers; i++) {
		kthread_stop(t[i]);
		first = min(first, b.start[i]);
		last = max(last, b.end[i]);
		maxstart = max(maxstart, b.start[i]);
		minend = min(minend, b.end[i]);
		own += b.end[i] - b.start[i];
	}
	if (minend > maxstart)
		overlap = (minend - maxstart) * 100 / max_t(u64, last - first, 1);
	if (impl == IMPL_KERNEL_RB) {
		dropped = atomic64_read(&b.rb_fail);
		if (ring_buffer_entries(b.rb) + ring_buffer_overruns(b.rb) + dropped != expect)
			pr_info("atbench NOTE kernel_rb entries %lu + overruns %lu != %llu\n",
				ring_buffer_entries(b.rb), ring_buffer_overruns(b.rb), expect);
	} else if (impl == IMPL_PRIVATE) {
		for (i = 0; i < writers; i++)
			dropped += at_ring_dropped(b.priv[i]);
	} else {
		dropped = at_ring_dropped(b.ring);
		if (at_ring_head(b.ring) != expect) {
			pr_err("atbench ERROR at_ring head %llu != %llu\n",
			       at_ring_head(b.ring), expect);
			ret = -EIO;
		}
	}
	pr_info("atbench impl=%s writers=%u run=%u n=%u wall_ns=%llu sum_own_ns=%llu overlap_pct=%llu dropped=%llu release_ns=%llu\n",
		impl_names[impl], writers, run, n, last - first, own, overlap,
		dropped, first - t0);
out:
	if (b.rb)
		ring_buffer_free(b.rb);
	kvfree(b.ring);
	kvfree(b.stream);
	for (i = 0; i < MAXW; i++)
		kvfree(b.priv[i]);
	return ret;
}

static int __init atbench_init(void)
{
	unsigned int run, w, wmax = min3(max_writers, num_online_cpus(), (unsigned int)MAXW);
	int impl, ret;

	if (!n || !runs || !chunk || ring_order > 20 || stream_order > 20) {
		pr_err("atbench ERROR bad parameters\n");
		return -EINVAL;
	}
	pr_info("atbench begin n=%u runs=%u ring_slots=%u stream_slots=%u rb_kb=%u cpus=%u writers_max=%u rec_bytes=%zu slot_bytes=%zu\n",
		n, runs, 1u << ring_order, 1u << stream_order, rb_kb,
		num_online_cpus(), wmax, sizeof(struct at_rec),
		sizeof(struct at_ring_slot));
	for (run = 0; run < runs; run++)
		for (w = 1; w <= wmax; w++)
			for (impl = 0; impl < IMPL_MAX; impl++) {
				ret = measure(impl, w, run);
				if (ret)
					return ret;
				cond_resched();
			}
	/*
	 * What a ring of ring_order really takes, allocated as the module
	 * does (vmalloc: whole pages); b: the slots alone with kvmalloc.
	 */
	{
		void *a = vmalloc(at_ring_bytes(ring_order));
		void *b = kvmalloc((size_t)1 << ring_order << 7, GFP_KERNEL);

		if (a && b)
			pr_info("atbench alloc ring_bytes=%zu ring_ksize=%zu ring_vmalloc=%d slots_only_bytes=%zu slots_only_ksize=%zu\n",
				at_ring_bytes(ring_order),
				is_vmalloc_addr(a) ? PAGE_ALIGN(at_ring_bytes(ring_order)) : ksize(a),
				is_vmalloc_addr(a), (size_t)1 << ring_order << 7,
				is_vmalloc_addr(b) ? PAGE_ALIGN((size_t)1 << ring_order << 7) : ksize(b));
		vfree(a);
		kvfree(b);
	}
	pr_info("atbench end\n");
	return 0;
}

static void __exit atbench_exit(void)
{
}

module_init(atbench_init);
module_exit(atbench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("apicv-trace ring vs kernel ring buffer: record cost");
