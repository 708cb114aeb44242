# apicv-trace: top-level commands (see README.md).
#
#   make              build module/apicv_trace.ko for the running kernel
#                     (or KVER=..., or KDIR=/path/to/headers)
#   make install      build and install with DKMS for KVER, and the command,
#                     its man page and JSON schema under PREFIX (/usr/local)
#   make uninstall    remove all of that (the module from DKMS, all kernels)
#   make deb          Debian packages apicv-trace-dkms and apicv-trace in
#                     dist/, built in the bullseye build root (made first if
#                     missing), lintian-clean
#                     (scripts/deb.sh; its install-test ROOT installs them)
#   make check        every test on every Debian kernel line in KERNELS
#                     (5.10 bullseye, 6.1 bookworm, 6.12 trixie, 7.2 sid,
#                     7.3 trixie-backports): host setup, ring (threads,
#                     TSan, ASan), then per line the kernel, its release's
#                     build root, DKMS build, W=1 + sparse, QEMU e2e; plus
#                     the dkms.conf refusal test.  The PREEMPT_RT
#                     flavours 6.1-rt 6.12-rt 7.2-rt 7.3-rt are build-only
#                     (DKMS, W=1 + sparse, no sleeping spinlock_t; KVM does
#                     not load on RT under QEMU TCG: no e2e).
#                     KERNELS="6.1 7.3" narrows it.  Logs:
#                     /var/cache/apicv-trace/check/, results:
#                     /var/cache/apicv-trace/results/LINE/
#   make demo         boot Debian LINE (6.1) in QEMU, run rebooting VMs,
#                     show what apicv-trace recorded
#   make clean
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
KERNELS ?= 5.10 6.1 6.12 7.2 7.3 5.10-rt 6.1-rt 6.12-rt 7.2-rt 7.3-rt \
	5.10-cloud 6.1-cloud 6.12-cloud 7.2-cloud 7.3-cloud 6.12-deb12 7.2-deb13
LINE ?= 6.1
PREFIX ?= /usr/local

all: module cmd

module:
	$(MAKE) -C module KVER=$(KVER) KDIR=$(KDIR)

cmd:
	$(MAKE) -C cmd

install:
	scripts/dkms.sh install $(KVER)
	$(MAKE) -C cmd install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	install -D -m 0644 cmd/apicv-trace.schema.json \
		$(DESTDIR)$(PREFIX)/share/apicv-trace/apicv-trace.schema.json

# Everything install put in place (cmd/Makefile install: sbin and man8).
uninstall:
	scripts/dkms.sh remove
	rm -f $(DESTDIR)$(PREFIX)/sbin/apicv-trace \
		$(DESTDIR)$(PREFIX)/share/man/man8/apicv-trace.8
	rm -rf $(DESTDIR)$(PREFIX)/share/apicv-trace

# On a fresh machine too: the host packages, Debian 11's kernel line and its
# build root first (cached; quick when they are there).
deb:
	scripts/setup-host.sh 5.10 >&2
	scripts/deb.sh build

check:
	scripts/check.sh $(KERNELS)

demo:
	scripts/demo.sh $(LINE)

clean:
	-$(MAKE) -C module KVER=$(KVER) KDIR=$(KDIR) clean
	$(MAKE) -C tests/ring clean
	$(MAKE) -C tests/e2e clean
	$(MAKE) -C tests/stress clean
	$(MAKE) -C cmd clean
	$(MAKE) -C tests/cmd clean
	$(MAKE) -C tests/bench clean
	$(MAKE) -C tests/fault clean

.PHONY: all module cmd install uninstall deb check demo clean

# make bench: record cost (guest kernel: ring.h vs the kernel's ring buffer;
# userspace: vs a mutex ring), BLOCKIRQ ioctl loop overhead, memory, reader
# cost and follow latency, in QEMU with Debian's LINE kernel; one table.
# BENCH_ARGS="--smoke" for the quick check (scripts/bench.sh --help).
bench:
	scripts/bench.sh -k $(LINE) $(BENCH_ARGS)

.PHONY: bench

# make check-debug: the debug kernel (Debian's linux-source-6.1 with KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP, kmemleak, fault injection; built once, about
# an hour on 2 cores, cached outside the repo): e2e, stress, injected
# allocation failures and a lockdown=integrity boot (scripts/check-debug.sh).
check-debug:
	scripts/check-debug.sh

.PHONY: check-debug

# make stress: VMs churned by several processes while every file
# is read and followed, apicv_trace reloaded many times and kvm now and
# then, a ring flood; exact per-VM accounting against the kernel's
# tracepoint, memory back after unload. One QEMU boot of Debian's LINE.
# STRESS_ARGS="--short" is what make check runs per line; "-d SECONDS".
stress:
	scripts/stress.sh -k $(LINE) $(STRESS_ARGS)

.PHONY: stress
