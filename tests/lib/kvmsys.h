/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmsys.h - the few system helpers both guest-side drivers use
 * (tests/e2e/kvmdrive and tests/stress/stressdrive): the thread id, the
 * monotonic clock, ioctl() returning -errno, a path test, whether KVM can
 * block interrupts for debugging (BLOCKIRQ), and the uapi constants older
 * headers lack. Header only: both binaries are static, built from their
 * own directory with -I../lib.
 */
#ifndef KVMSYS_H
#define KVMSYS_H

#include <errno.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

/* uapi constants that older headers may lack */
#ifndef KVM_GUESTDBG_BLOCKIRQ
#define KVM_GUESTDBG_BLOCKIRQ		0x00100000
#endif
#ifndef KVM_CAP_SET_GUEST_DEBUG2
#define KVM_CAP_SET_GUEST_DEBUG2	195
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static inline pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ioctl returning the result or -errno */
static inline int xioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static inline bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* KVM_CHECK_EXTENSION on /dev/kvm's @kvm_fd; 0 if it fails. */
static inline int kvm_check_ext(int kvm_fd, long cap)
{
	int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* KVM_SET_GUEST_DEBUG knows KVM_GUESTDBG_BLOCKIRQ (5.16+; 5.10: no) */
static inline bool kvm_blockirq_supported(int kvm_fd)
{
	return kvm_check_ext(kvm_fd, KVM_CAP_SET_GUEST_DEBUG2) & KVM_GUESTDBG_BLOCKIRQ;
}

#endif /* KVMSYS_H */
