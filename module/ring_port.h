/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring_port.h - the few primitives ring.h needs, for the kernel and for
 * userspace (the unit tests and the benchmark in tests/ring/).
 *
 * Everything here is header-only and always inlined: ring.h is called from
 * kprobe handlers, so nothing reachable from it may be an out-of-line,
 * probe-able or traced function.  In the kernel, __always_inline implies
 * notrace.
 *
 * Ordering contract of each primitive (the userspace mapping must be at
 * least as strong as the kernel one in the C11 model):
 *
 *   at_atomic64_fetch_inc()  fully ordered RMW      (atomic64_fetch_add)
 *   at_atomic64_inc()        unordered RMW          (atomic64_inc)
 *   at_atomic64_read_acquire()                      (atomic64_read_acquire)
 *   at_claim_cmpxchg()       on success: the load part is an acquire and
 *                            the store part is ordered before every later
 *                            store of this CPU (kernel: cmpxchg() is fully
 *                            ordered; userspace: acq_rel CAS followed by a
 *                            release fence).  No ordering on failure.
 *   at_load_acquire()        smp_load_acquire()
 *   at_store_release()       smp_store_release()
 *   at_read_once()           READ_ONCE()    (userspace: relaxed atomic load)
 *   at_write_once()          WRITE_ONCE()   (userspace: relaxed atomic store)
 *   at_smp_rmb()             smp_rmb()      (userspace: acquire fence)
 *
 * Userspace uses atomic accesses for every shared word so that the code is
 * data-race-free in the C11 sense and ThreadSanitizer can check it.
 */
#ifndef APICV_TRACE_RING_PORT_H
#define APICV_TRACE_RING_PORT_H

#ifdef __KERNEL__

#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/compiler.h>
#include <linux/build_bug.h>
#include <linux/atomic.h>
#include <asm/barrier.h>

typedef u64 at_u64;
typedef atomic64_t at_atomic64;

#define AT_INLINE static __always_inline
#define at_static_assert(expr, msg) static_assert(expr, msg)

#define at_read_once(x)		READ_ONCE(x)
#define at_write_once(x, val)	WRITE_ONCE(x, val)
#define at_load_acquire(p)	smp_load_acquire(p)
#define at_store_release(p, v)	smp_store_release(p, v)
#define at_smp_rmb()		smp_rmb()

AT_INLINE void at_atomic64_set(at_atomic64 *v, at_u64 x)
{
	atomic64_set(v, (s64)x);
}

AT_INLINE at_u64 at_atomic64_read(const at_atomic64 *v)
{
	return (at_u64)atomic64_read(v);
}

AT_INLINE at_u64 at_atomic64_read_acquire(const at_atomic64 *v)
{
	return (at_u64)atomic64_read_acquire(v);
}

/* Fully ordered; returns the old value. */
AT_INLINE at_u64 at_atomic64_fetch_inc(at_atomic64 *v)
{
	return (at_u64)atomic64_fetch_add(1, v);
}

AT_INLINE void at_atomic64_inc(at_atomic64 *v)
{
	atomic64_inc(v);
}

/*
 * A successful cmpxchg() is fully ordered (smp_mb() before and after).  Plain
 * cmpxchg() takes a u64 on every 64-bit architecture and is the most stable
 * spelling across 5.10 .. 7.x; 32-bit needs cmpxchg64().
 */
AT_INLINE bool at_claim_cmpxchg(at_u64 *p, at_u64 old, at_u64 nv)
{
#ifdef CONFIG_64BIT
	return cmpxchg(p, old, nv) == old;
#else
	return cmpxchg64(p, old, nv) == old;
#endif
}

#else /* !__KERNEL__ */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

typedef uint64_t at_u64;
typedef struct { at_u64 counter; } at_atomic64;

#define AT_INLINE static inline __attribute__((__always_inline__))
#define at_static_assert(expr, msg) _Static_assert(expr, msg)

#define at_read_once(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define at_write_once(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)
#define at_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define at_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
/*
 * Orders the relaxed loads before it against the loads after it: an acquire
 * fence.  (ThreadSanitizer does not model fences; that is harmless here
 * because every shared access is atomic, so TSan checks data-race freedom
 * and the fences only matter on weakly ordered CPUs.)
 */
#define at_smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)

AT_INLINE void at_atomic64_set(at_atomic64 *v, at_u64 x)
{
	__atomic_store_n(&v->counter, x, __ATOMIC_RELAXED);
}

AT_INLINE at_u64 at_atomic64_read(const at_atomic64 *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

AT_INLINE at_u64 at_atomic64_read_acquire(const at_atomic64 *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_ACQUIRE);
}

AT_INLINE at_u64 at_atomic64_fetch_inc(at_atomic64 *v)
{
	return __atomic_fetch_add(&v->counter, 1, __ATOMIC_SEQ_CST);
}

AT_INLINE void at_atomic64_inc(at_atomic64 *v)
{
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED);
}

AT_INLINE bool at_claim_cmpxchg(at_u64 *p, at_u64 old, at_u64 nv)
{
	if (!__atomic_compare_exchange_n(p, &old, nv, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return false;
	/*
	 * The CAS store is a release: it orders what came before, not what
	 * follows.  The fence orders it before the later (relaxed) payload
	 * stores, like the smp_mb() after a kernel cmpxchg.
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return true;
}

#endif /* __KERNEL__ */

#endif /* APICV_TRACE_RING_PORT_H */
