// SPDX-License-Identifier: GPL-2.0
/*
 * churn.c - "stressdrive churn": VMs created and destroyed in a loop, each
 * by a thread of its own, with BLOCKIRQ and PIT reinject transitions (the
 * stress test's load; tests/stress/check_stress.py reads its CHURN lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvmsys.h"
#include "stressdrive.h"

/*
 * stressdrive churn --seconds S [--vcpus N] [--toggles N] [--pause-file P]
 *
 * VMs created and destroyed in a loop for --seconds, one at a time per
 * process, each by a fresh thread, so that every thread id belongs to
 * one VM only and the kernel's tracepoint lines (which carry the thread
 * id) can be mapped to VMs.  Per VM: KVM_CREATE_VM, KVM_CREATE_IRQCHIP,
 * KVM_CREATE_PIT2 (reinject on), vCPUs 0..n-1 (n cycles 1..--vcpus),
 * then each vCPU's own thread toggles BLOCKIRQ (KVM_SET_GUEST_DEBUG,
 * 6.1+) b times while the VM's thread turns PIT reinject off and on p
 * times (b, p cycle 1..--toggles), then everything is closed (the VM is
 * destroyed in its thread: kvm_free_pit() clears PIT_REINJ there).
 * /dev/kvm is opened per VM and closed after it: while --pause-file
 * exists no VM is made and /dev/kvm is closed, so kvm can be reloaded.
 * A kvm that is gone (open fails with ENOENT/ENODEV) counts as paused.
 *
 * One line per VM, after it was destroyed (ns: CLOCK_BOOTTIME, the clock
 * of apicv_trace's ns= and created_ns=):
 *   CHURN vm=<key> pid=<tgid> tid=<VM thread> fd=<fd> vcpus=<n>
 *         vcpu_tids=<t0,t1,..> created_ns=<ns> closed_ns=<ns>
 *         pit_rounds=<p> blockirq_rounds=<b|0> rc=<0|-errno> [err=<op>]
 * rc=0 means every ioctl succeeded: PIT_REINJ was set at create_pit2,
 * cleared and set p times, and cleared at close.  At the end:
 *   CHURNDONE vms=<n> failed=<n> paused_ms=<n>
 */
#define CHURN_MAX_VCPUS 8

struct churn_vcpu {
	int fd;
	int rounds;
	int rc;
	pid_t tid;
};

struct churn_vm {
	unsigned int index;
	int nvcpu, pit_rounds, bi_rounds;
	int rc;
	const char *err;
	bool paused;		/* /dev/kvm unavailable or the pause file */
	struct churn_vcpu v[CHURN_MAX_VCPUS];
};

static struct {
	double seconds;		/* --seconds: how long */
	int vcpus;		/* --vcpus: vCPUs per VM cycle 1..this */
	int toggles;		/* --toggles: rounds cycle 1..this */
	const char *pause_file;	/* --pause-file: no VM while it exists */
} opt = {
	.vcpus = 2,
	.toggles = 100,
};

static int failures;

static void *churn_vcpu_fn(void *arg)
{
	struct churn_vcpu *c = arg;
	struct kvm_guest_debug on = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_BLOCKIRQ,
	}, off = { 0 };
	int i;

	c->tid = my_tid();
	for (i = 0; i < c->rounds && !c->rc; i++) {
		c->rc = xioctl(c->fd, KVM_SET_GUEST_DEBUG, &on);
		if (!c->rc)
			c->rc = xioctl(c->fd, KVM_SET_GUEST_DEBUG, &off);
	}
	return NULL;
}

#define CHURN_TRY(cv, expr, what) \
	do { int _r = (expr); if (_r < 0 && !(cv)->rc) { (cv)->rc = _r; (cv)->err = (what); } } while (0)

/* One VM's whole life, in a thread of its own. */
static void *churn_vm_fn(void *arg)
{
	struct churn_vm *c = arg;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_reinject_control ri;
	pthread_t th[CHURN_MAX_VCPUS];
	bool started[CHURN_MAX_VCPUS] = { false };
	pid_t tid = my_tid();
	long long created, closed;
	int kfd, vfd, i, r;
	char tids[CHURN_MAX_VCPUS * 12] = "";

	/* open first, then look at the pause file: see the comment above */
	kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kfd < 0 || (opt.pause_file && path_exists(opt.pause_file))) {
		if (kfd >= 0)
			close(kfd);
		else if (errno != ENOENT && errno != ENODEV && errno != ENXIO) {
			c->rc = -errno;
			c->err = "open_dev_kvm";
			return NULL;
		}
		c->paused = true;
		return NULL;
	}
	created = boot_ns();
	vfd = xioctl(kfd, KVM_CREATE_VM, (void *)0);
	if (vfd < 0) {
		c->rc = vfd;
		c->err = "KVM_CREATE_VM";
		close(kfd);
		return NULL;
	}
	CHURN_TRY(c, xioctl(vfd, KVM_CREATE_IRQCHIP, NULL), "KVM_CREATE_IRQCHIP");
	if (!c->rc)
		CHURN_TRY(c, xioctl(vfd, KVM_CREATE_PIT2, &pit), "KVM_CREATE_PIT2");
	for (i = 0; i < c->nvcpu; i++) {
		c->v[i].fd = -1;
		c->v[i].rounds = c->bi_rounds;
		if (c->rc)
			continue;
		c->v[i].fd = xioctl(vfd, KVM_CREATE_VCPU, (void *)(long)i);
		CHURN_TRY(c, c->v[i].fd, "KVM_CREATE_VCPU");
	}
	for (i = 0; i < c->nvcpu && !c->rc && c->bi_rounds; i++) {
		r = pthread_create(&th[i], NULL, churn_vcpu_fn, &c->v[i]);
		if (r) {
			c->rc = -r;
			c->err = "pthread_create";
		} else {
			started[i] = true;
		}
	}
	for (i = 0; i < c->pit_rounds && !c->rc; i++) {
		ri.pit_reinject = 0;
		CHURN_TRY(c, xioctl(vfd, KVM_REINJECT_CONTROL, &ri), "KVM_REINJECT_CONTROL");
		ri.pit_reinject = 1;
		if (!c->rc)
			CHURN_TRY(c, xioctl(vfd, KVM_REINJECT_CONTROL, &ri), "KVM_REINJECT_CONTROL");
	}
	for (i = 0; i < c->nvcpu; i++) {
		if (started[i]) {
			pthread_join(th[i], NULL);
			CHURN_TRY(c, c->v[i].rc, "KVM_SET_GUEST_DEBUG");
		}
		if (c->v[i].fd >= 0)
			close(c->v[i].fd);
		snprintf(tids + strlen(tids), sizeof(tids) - strlen(tids), "%s%d",
			 i ? "," : "", started[i] ? c->v[i].tid : 0);
	}
	close(vfd);	/* the last reference: kvm_destroy_vm() runs here */
	closed = boot_ns();
	close(kfd);
	printf("CHURN vm=%d-%d pid=%d tid=%d fd=%d vcpus=%d vcpu_tids=%s created_ns=%lld closed_ns=%lld pit_rounds=%d blockirq_rounds=%d rc=%d%s%s\n",
	       tid, vfd, getpid(), tid, vfd, c->nvcpu, tids[0] ? tids : "-",
	       created, closed, c->pit_rounds, c->bi_rounds, c->rc < 0 ? c->rc : 0,
	       c->rc ? " err=" : "", c->rc ? c->err : "");
	return NULL;
}

static int churn(void)
{
	double end = now() + opt.seconds;
	unsigned int made = 0, failed = 0, k = 0;
	long long paused_ns = 0, t;
	bool blockirq;
	int kfd, r;

	/* BLOCKIRQ support, asked once (5.10 has none): nothing kept open */
	kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kfd < 0) {
		fprintf(stderr, "stressdrive: /dev/kvm: %m\n");
		failures++;
		return -1;
	}
	blockirq = kvm_blockirq_supported(kfd);
	close(kfd);
	while (now() < end) {
		struct churn_vm c = { 0 };
		pthread_t th;

		if (opt.pause_file && path_exists(opt.pause_file)) {
			t = boot_ns();
			usleep(20000);
			paused_ns += boot_ns() - t;
			continue;
		}
		/* vary the recipe from VM to VM */
		c.index = k++;
		c.nvcpu = 1 + c.index % opt.vcpus;
		c.pit_rounds = 1 + c.index % opt.toggles;
		c.bi_rounds = blockirq ? 1 + (c.index / 2) % opt.toggles : 0;
		r = pthread_create(&th, NULL, churn_vm_fn, &c);
		if (r) {
			fprintf(stderr, "stressdrive: pthread_create: %s\n", strerror(r));
			failures++;
			break;
		}
		pthread_join(th, NULL);
		if (c.paused) {
			t = boot_ns();
			usleep(20000);
			paused_ns += boot_ns() - t;
			continue;
		}
		if (c.rc) {
			fprintf(stderr, "stressdrive: churn VM %u: %s: %s\n", c.index,
				c.err, strerror(-c.rc));
			failed++;
			failures++;
		}
		made++;
	}
	printf("CHURNDONE vms=%u failed=%u paused_ms=%lld\n", made, failed,
	       paused_ns / 1000000);
	return 0;
}

int churn_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "vcpus", required_argument, NULL, 'V' },
		{ "toggles", required_argument, NULL, 'g' },
		{ "pause-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.seconds = atof(optarg);
			break;
		case 'V':
			opt.vcpus = atoi(optarg);
			break;
		case 'g':
			opt.toggles = atoi(optarg);
			break;
		case 'P':
			opt.pause_file = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc || opt.seconds <= 0 || opt.toggles < 1 ||
	    opt.vcpus < 1 || opt.vcpus > CHURN_MAX_VCPUS) {
		fprintf(stderr, "stressdrive: bad option value\n");
		return 2;
	}
	churn();
	return failures ? 1 : 0;
}
