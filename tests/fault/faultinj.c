// SPDX-License-Identifier: GPL-2.0
/*
 * faultinj: allocation failures injected into apicv_trace's own paths
 * with the kernel's fault-injection framework, on the debug kernel.
 *
 *   faultinj load KO [PARAMS]   finit_module() with the Nth fault point
 *                               of the loading task failing (fail-nth),
 *                               for every N from do_init_module() on: the
 *                               load either fails cleanly (ENOMEM, nothing
 *                               left behind) or the module is consistent
 *                               (status reads, hooks that could not arm
 *                               say failed), drives a VM, and unloads
 *   faultinj open PATH...       open()+read() each file with the Nth
 *                               fault point failing, for every N
 *   faultinj vms N              create N VMs (one vCPU, a BLOCKIRQ
 *                               set/clear each), one after the other
 *                               (FAULTINJ_STRIDE=K: every Kth point only)
 *   faultinj count              print the fault points a default load
 *                               consumes (diagnostics)
 *
 * fail-nth (Documentation/fault-injection/fault-injection.rst): writing N
 * to /proc/thread-self/fail-nth makes the Nth fault point this thread
 * reaches fail; reading back 0 means it was injected, so a run that reads
 * back non-zero covered every point. Prints one line per finding and a
 * summary "faultinj: <what> ok=... " line; exits 1 on any inconsistency.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef KVM_GUESTDBG_BLOCKIRQ
#define KVM_GUESTDBG_BLOCKIRQ	0x00100000
#endif

#define STATUS	"/sys/kernel/debug/apicv_trace/status"
#define MODDIR	"/sys/module/apicv_trace"

static int failures;

static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("faultinj: FAIL ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failures++;
}

/*
 * One descriptor for the whole run: opening the file again between the
 * syscall under test and the read-back would itself consume fault points
 * (and a countdown left running would hit this process's page faults).
 */
static int nth_fd = -1;

static void set_nth(long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld", n);

	if (nth_fd < 0)
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth_fd < 0 || pwrite(nth_fd, buf, len, 0) != len) {
		perror("fail-nth");
		exit(2);
	}
}

/* fail-nth now: 0 = the fault was injected, else what was left */
static long get_nth(void)
{
	char buf[32] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0) {
		perror("fail-nth read");
		exit(2);
	}
	return strtol(buf, NULL, 10);
}

static int loaded(void)
{
	struct stat st;

	return !stat(MODDIR, &st);
}

/* The whole of a file, NUL-terminated, or NULL (errno set). */
static char *slurp(const char *path)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += n;
		if (len == cap) {
			char *nb = realloc(buf, 2 * cap + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* One VM with one vCPU; BLOCKIRQ set then cleared (two transitions). */
static int one_vm(void)
{
	struct kvm_guest_debug dbg = { 0 };
	int kvm, vm, vcpu, ret = -1;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -1;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		goto out_kvm;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		goto out_vm;
	dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_BLOCKIRQ;
	if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg))
		goto out_vcpu;
	dbg.control = 0;
	if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg))
		goto out_vcpu;
	ret = 0;
out_vcpu:
	close(vcpu);
out_vm:
	close(vm);
out_kvm:
	close(kvm);
	return ret;
}

/* A loaded module must answer, and every hook is armed or says why not. */
static void check_loaded(long n)
{
	char *st = slurp(STATUS);
	const char *cov;

	if (!st) {
		bad("load n=%ld: module loaded but status unreadable: %s", n,
		    strerror(errno));
		return;
	}
	cov = strstr(st, "coverage=");
	if (!cov)
		bad("load n=%ld: no coverage= line in status", n);
	else if (strncmp(cov, "coverage=full", 13))
		printf("faultinj: load n=%ld: %.*s\n", n,
		       (int)strcspn(cov, "\n"), cov);
	free(st);
}

/* Points a successful load consumes (fail-nth armed but never reached). */
static long load_points(const char *ko, const char *params)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC);
	long left;

	if (fd < 0) {
		perror(ko);
		exit(2);
	}
	set_nth(1000000);
	if (syscall(SYS_finit_module, fd, params, 0)) {
		perror("finit_module");
		exit(2);
	}
	left = get_nth();
	set_nth(0);
	close(fd);
	if (syscall(SYS_delete_module, "apicv_trace", O_NONBLOCK)) {
		perror("delete_module");
		exit(2);
	}
	return 1000000 - left;
}

#define TRACING	"/sys/kernel/tracing"

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

/* Did the last load reach do_init_module() (module:module_load fired)? */
static int reached_init(void)
{
	char *t = slurp(TRACING "/trace");
	int yes = t && strstr(t, "module_load: apicv_trace");

	free(t);
	write_file(TRACING "/trace", "");
	return yes;
}

/*
 * Every fault point from do_init_module() on: apicv_trace's init (slab
 * cache, follow stream, spare VM records, debugfs, hook arming with its
 * kretprobe instances), then the loader's last steps. Walks down from the
 * last point and stops at the first failure that lands before
 * do_init_module(): the loader's own allocations, where an injected
 * failure only shows the kernel's allocation-failure notice.
 */
static int cmd_load(const char *ko, const char *params)
{
	long n, left, total, ok = 0, refused = 0, partial = 0, skipped = 0;
	long stride = getenv("FAULTINJ_STRIDE") ? atol(getenv("FAULTINJ_STRIDE")) : 1;
	int fd, ret, err, init;

	if (stride < 1)
		stride = 1;

	total = load_points(ko, params);
	write_file(TRACING "/events/module/module_load/enable", "1");
	write_file(TRACING "/trace", "");
	for (n = total; n > 0; n -= stride) {
		char *st;

		if (loaded()) {
			bad("apicv_trace loaded before n=%ld", n);
			return 1;
		}
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(ko);
			return 2;
		}
		set_nth(n);
		ret = syscall(SYS_finit_module, fd, params, 0);
		err = errno;
		left = get_nth();
		set_nth(0);
		close(fd);
		init = reached_init();
		if (left) {
			/* this load reached fewer points than the counted one */
			if (ret || !loaded())
				bad("load n=%ld: no fault injected, yet %s", n,
				    ret ? strerror(err) : "not loaded");
			skipped++;
		} else if (!init) {
			if (!ret || loaded())
				bad("load n=%ld: loaded without reaching init?", n);
			break;		/* the loader's own points from here down */
		} else if (ret) {
			if (loaded())
				bad("load n=%ld failed (%s) but the module is there",
				    n, strerror(err));
			if (err != ENOMEM)
				bad("load n=%ld: error %s, not ENOMEM", n,
				    strerror(err));
			refused++;
			continue;
		}
		if (!loaded())
			continue;
		check_loaded(n);
		st = slurp(STATUS);
		if (st && !strstr(st, "coverage=full"))
			partial++;
		free(st);
		if (one_vm())
			bad("load n=%ld: a VM could not run with the module loaded", n);
		if (syscall(SYS_delete_module, "apicv_trace", O_NONBLOCK))
			bad("load n=%ld: unload failed: %s", n, strerror(errno));
		if (loaded())
			bad("load n=%ld: still loaded after unload", n);
		ok++;
	}
	write_file(TRACING "/events/module/module_load/enable", "0");
	printf("faultinj: load: %ld fault points in a load, %ld from do_init_module on (every %ld injected): %ld loads refused cleanly (ENOMEM), %ld loaded (%ld with partial coverage) and unloaded, %ld not reached, %d inconsistencies\n",
	       total, total - n, stride, refused, ok, partial, skipped, failures);
	if (total - n < 20)
		bad("load: only %ld points reached init", total - n);
	return !!failures;
}

static int cmd_open(int argc, char **argv)
{
	long n, left, points = 0, refused = 0;
	int i, fd, err;

	for (i = 0; i < argc; i++) {
		for (n = 1; n < 100000; n++) {
			char buf[4096];
			ssize_t r = 0;

			/* O_NONBLOCK: follow ends with EAGAIN, not a wait */
			set_nth(n);
			fd = open(argv[i], O_RDONLY | O_NONBLOCK);
			err = errno;
			if (fd >= 0) {
				while ((r = read(fd, buf, sizeof(buf))) > 0)
					;
				err = errno;
				if (r < 0 && err == EAGAIN)
					r = 0;
			}
			left = get_nth();
			set_nth(0);
			if (fd >= 0)
				close(fd);
			if (fd < 0 || r < 0) {
				if (err != ENOMEM && err != ENFILE)
					bad("open %s n=%ld: unexpected error %s",
					    argv[i], n, strerror(err));
				refused++;
			}
			if (left)
				break;
		}
		points += n - 1;
	}
	printf("faultinj: open: %d files, %ld fault points, %ld opens/reads refused, %d inconsistencies\n",
	       argc, points, refused, failures);
	return !!failures;
}

static int cmd_count(const char *ko, const char *params)
{
	printf("faultinj: count: a load consumes %ld fault points\n",
	       load_points(ko, params));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "load"))
		return cmd_load(argv[2], argc > 3 ? argv[3] : "");
	if (argc >= 3 && !strcmp(argv[1], "count"))
		return cmd_count(argv[2], argc > 3 ? argv[3] : "");
	if (argc >= 3 && !strcmp(argv[1], "open"))
		return cmd_open(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "vms")) {
		int i, n = atoi(argv[2]), fails = 0;

		for (i = 0; i < n; i++)
			fails += !!one_vm();
		printf("faultinj: vms: %d created, %d failed\n", n, fails);
		return !!fails;
	}
	fprintf(stderr, "usage: faultinj load KO [PARAMS] | count KO [PARAMS] | open PATH... | vms N\n");
	return 2;
}
