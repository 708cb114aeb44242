// SPDX-License-Identifier: GPL-2.0
/*
 * kvmbench - the guest side of scripts/bench.sh: drives /dev/kvm and the
 * apicv_trace debugfs files, prints one "key=value ..." line per figure.
 *
 *   kvmbench loop N            one VM (irqchip, vCPU 0); N KVM_SET_GUEST_DEBUG
 *                              ioctls alternating BLOCKIRQ set
 *                              (ENABLE|BLOCKIRQ) and clear (control=0),
 *                              after N/10 (at least 100) untimed ones
 *   kvmbench hold N FILL READY create N VMs (with FILL > 0: irqchip, vCPU 0
 *                              and FILL BLOCKIRQ toggles each), touch READY,
 *                              then wait for SIGTERM/SIGINT and exit
 *   kvmbench read PATH R       read PATH to EOF R times (64 KiB reads)
 *   kvmbench latency K FOLLOW  K BLOCKIRQ toggles, each seen by a blocking
 *                              reader of FOLLOW: ioctl return -> reader
 * Exit 0 on success; any failing ioctl or read is an error (exit 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef KVM_GUESTDBG_BLOCKIRQ
#define KVM_GUESTDBG_BLOCKIRQ 0x00100000
#endif
#ifndef KVM_CAP_SET_GUEST_DEBUG2
#define KVM_CAP_SET_GUEST_DEBUG2 195
#endif

static int kvm_fd = -1;

static void die(const char *what)
{
	fprintf(stderr, "kvmbench: ERROR %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void kvm_open(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		die("open /dev/kvm");
	if (!(ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2) &
	      KVM_GUESTDBG_BLOCKIRQ)) {
		fprintf(stderr, "kvmbench: ERROR KVM_GUESTDBG_BLOCKIRQ unsupported\n");
		exit(1);
	}
}

struct vm { int fd, vcpu; };

static struct vm vm_new(int with_vcpu)
{
	struct vm v = { -1, -1 };

	v.fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (v.fd < 0)
		die("KVM_CREATE_VM");
	if (with_vcpu) {
		if (ioctl(v.fd, KVM_CREATE_IRQCHIP, 0))
			die("KVM_CREATE_IRQCHIP");
		v.vcpu = ioctl(v.fd, KVM_CREATE_VCPU, 0);
		if (v.vcpu < 0)
			die("KVM_CREATE_VCPU");
	}
	return v;
}

static void blockirq(int vcpu, int on)
{
	struct kvm_guest_debug dbg;

	memset(&dbg, 0, sizeof(dbg));
	if (on)
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_BLOCKIRQ;
	if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg))
		die("KVM_SET_GUEST_DEBUG");
}

static int cmd_loop(long n)
{
	struct vm v;
	long i, warm = n / 10 < 100 ? 100 : n / 10;
	uint64_t t0, t1;

	kvm_open();
	v = vm_new(1);
	for (i = 0; i < warm; i++)
		blockirq(v.vcpu, !(i & 1));
	if (warm & 1)
		blockirq(v.vcpu, 0);
	t0 = now(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++)
		blockirq(v.vcpu, !(i & 1));
	t1 = now(CLOCK_MONOTONIC);
	printf("loop ops=%ld ns=%llu ops_per_s=%.1f ns_per_op=%.1f\n", n,
	       (unsigned long long)(t1 - t0), n * 1e9 / (double)(t1 - t0),
	       (double)(t1 - t0) / (double)n);
	return 0;
}

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static int cmd_hold(long n, long fill, const char *ready)
{
	struct rlimit rl = { 4 * n + 64, 4 * n + 64 };
	struct sigaction sa;
	long i, k;
	FILE *f;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit NOFILE");
	kvm_open();
	for (i = 0; i < n; i++) {
		struct vm v = vm_new(fill > 0);

		for (k = 0; k < fill; k++)
			blockirq(v.vcpu, !(k & 1));
	}
	f = fopen(ready, "w");
	if (!f)
		die("ready file");
	fprintf(f, "%ld\n", n);
	fclose(f);
	while (!stop)
		pause();
	return 0;
}

static int cmd_read(const char *path, int runs)
{
	static char buf[65536];
	int r;

	for (r = 0; r < runs; r++) {
		uint64_t t0 = now(CLOCK_MONOTONIC), bytes = 0, lines = 0;
		int fd = open(path, O_RDONLY);
		ssize_t got;

		if (fd < 0)
			die(path);
		while ((got = read(fd, buf, sizeof(buf))) > 0) {
			bytes += (uint64_t)got;
			for (ssize_t i = 0; i < got; i++)
				lines += buf[i] == '\n';
		}
		if (got < 0)
			die("read");
		close(fd);
		printf("read run=%d ns=%llu bytes=%llu lines=%llu\n", r,
		       (unsigned long long)(now(CLOCK_MONOTONIC) - t0),
		       (unsigned long long)bytes, (unsigned long long)lines);
	}
	return 0;
}

/* latency: the reader thread blocks in read(); it stamps each BLOCKIRQ line. */
static int follow_fd;
static volatile uint64_t seen_ns, seen_rec_ns;
static volatile long seen_count;

static void *reader(void *arg)
{
	static char buf[1 << 16];
	(void)arg;

	for (;;) {
		ssize_t got = read(follow_fd, buf, sizeof(buf) - 1);
		uint64_t t = now(CLOCK_BOOTTIME);
		char *p;

		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			fprintf(stderr, "kvmbench: ERROR follow read returned %zd: %s\n",
				got, strerror(errno));
			exit(1);
		}
		buf[got] = 0;
		for (p = buf; (p = strstr(p, "reason=BLOCKIRQ")); p++) {
			char *l = p, *ns;

			while (l > buf && l[-1] != '\n')
				l--;
			ns = strstr(l, " ns=");
			seen_rec_ns = ns ? strtoull(ns + 4, NULL, 10) : 0;
			__atomic_store_n(&seen_ns, t, __ATOMIC_RELEASE);
			__atomic_add_fetch(&seen_count, 1, __ATOMIC_ACQ_REL);
		}
	}
	return NULL;
}

static int cmd_latency(long k, const char *follow)
{
	static char buf[1 << 16];
	struct timespec gap = { 0, 3000000 };
	pthread_t th;
	struct vm v;
	long i, want;
	int fl;

	kvm_open();
	v = vm_new(1);
	follow_fd = open(follow, O_RDONLY | O_NONBLOCK);
	if (follow_fd < 0)
		die(follow);
	while (read(follow_fd, buf, sizeof(buf)) > 0)
		;	/* the backlog */
	if (errno != EAGAIN)
		die("draining follow");
	fl = fcntl(follow_fd, F_GETFL);
	if (fcntl(follow_fd, F_SETFL, fl & ~O_NONBLOCK))
		die("fcntl");
	pthread_create(&th, NULL, reader, NULL);
	nanosleep(&gap, NULL);
	for (i = 0; i < k; i++) {
		uint64_t t_ret, t0;

		want = seen_count + 1;
		blockirq(v.vcpu, !(i & 1));
		t_ret = now(CLOCK_BOOTTIME);
		t0 = now(CLOCK_MONOTONIC);
		while (__atomic_load_n(&seen_count, __ATOMIC_ACQUIRE) < want) {
			if (now(CLOCK_MONOTONIC) - t0 > 5000000000ull) {
				fprintf(stderr, "kvmbench: ERROR follow reader saw nothing in 5 s\n");
				exit(1);
			}
			sched_yield();
		}
		printf("lat i=%ld ret_to_seen_ns=%lld rec_to_seen_ns=%lld rec_to_ret_ns=%lld\n",
		       i, (long long)(seen_ns - t_ret), (long long)(seen_ns - seen_rec_ns),
		       (long long)(t_ret - seen_rec_ns));
		nanosleep(&gap, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "loop"))
		return cmd_loop(atol(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "hold"))
		return cmd_hold(atol(argv[2]), atol(argv[3]), argv[4]);
	if (argc == 4 && !strcmp(argv[1], "read"))
		return cmd_read(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "latency"))
		return cmd_latency(atol(argv[2]), argv[3]);
	fprintf(stderr, "usage: kvmbench loop N | hold N FILL READY | read PATH R | latency K FOLLOW\n");
	return 2;
}
