// SPDX-License-Identifier: GPL-2.0
/*
 * kvmdrive - end-to-end driver for apicv-trace.
 *
 * Drives KVM's APICv/AVIC inhibit reasons from userspace with real
 * ioctls on /dev/kvm and prints, for every step, what the tracer is
 * expected to report.  A separate checker compares these lines with the
 * tracer's event lines.  Meant to run as root inside a QEMU TCG guest
 * with nested SVM and `modprobe kvm_amd avic=1 force_avic=1`, on Debian
 * kernels 5.10, 6.1, 6.12, 7.2 and 7.3.
 *
 * Usage:
 *   kvmdrive basic  [--expect-disabled] [--kver M.N]
 *   kvmdrive avic0  [--kver M.N]          (= basic --expect-disabled)
 *   kvmdrive twovms [--expect-disabled] [--kver M.N]
 *   kvmdrive seedpatch [--expect-disabled] [--kver M.N]
 *                   vCPU 256 (xAPIC ID (u8)256 = 0): a LAPIC round trip
 *                   that must not inhibit; run it with avic=0
 *   kvmdrive guest  [--reboots N] [--ticks T | --seconds S] [--hz HZ]
 *                   [--timeout T] [--reboot-method kbd|cf9|triple|cycle]
 *                   [--bad-apic-id-on-reboot K] [--no-reinject]
 *                   [--expect-disabled] [--kver M.N]
 *   kvmdrive aliases [--expect-disabled] [--kver M.N]
 *                   two vCPUs with one xAPIC ID, a bad logical ID (6.12+)
 *   kvmdrive toobig [--expect-disabled] [--kver M.N]
 *                   vCPU 255 (7.2+: PHYSICAL_ID_TOO_BIG)
 *   kvmdrive flood  [--toggles N] [--interval-ms MS] [--expect-disabled]
 *   kvmdrive blockflood [--toggles N]
 *                   PIT reinject off/on N times (a ring that wraps on 5.10)
 *   kvmdrive btf-enum NAME
 *                   the running kernel's enum NAME, from its BTF (btf.c)
 * The stress test's helpers (churn, follow, snapshot) are
 * tests/stress/stressdrive.
 *
 * Files: kvmdrive.c (this: options, the first and last lines), kvm.c (the
 * ioctls and the STEP lines), expect.c (the reasons of each kernel line and
 * what KVM must do: expect=), scenarios.c (the scenarios without a guest),
 * guest.c (the real-mode guest and its runner), btf.c (btf-enum);
 * ../lib/kvmsys.h (what stressdrive shares).
 *
 * OUTPUT (stdout, line buffered, one record per line)
 * ---------------------------------------------------
 * Every record is "TAG key=value key=value ...".  Values never contain
 * spaces.  The leading keys come in the order shown below; a parser must
 * ignore keys it does not know (more may be appended later).
 *
 *   KVDRIVE version=1 scenario=<name> kernel=<uname -r> gen=<5.10|6.1|6.12|7.2>
 *           apicv=<on|off> avic_param=<Y|N|1|0|?> reasons=<NAME0,NAME1,...>
 *       First line.  gen selects the reason table (from uname, or --kver);
 *       "reasons" lists this kernel's reason names by bit number (bit 0
 *       first).  apicv=off when --expect-disabled was given.
 *       avic_param is /sys/module/kvm_amd/parameters/avic, for information.
 *
 *   VM vm=<key> created pid=<tid> fd=<fd> debugfs=<yes|no>
 *   VM vm=<key> closed debugfs_gone=<yes|no>
 *       <key> is KVM's own debugfs directory name of the VM, "<pid>-<fd>",
 *       pid = gettid() of the thread that issued KVM_CREATE_VM, fd = the VM
 *       file descriptor.  debugfs= says whether /sys/kernel/debug/kvm/<key>
 *       exists right after creation (no: debugfs not mounted).  "closed" is
 *       printed after the last fd of the VM was closed, i.e. after
 *       kvm_destroy_vm() ran.
 *
 *   STEP vm=<key|-> vcpu=<id|-> step=<name> op=<op> rc=<rc> expect=<exp> ts=<t> [extra]
 *       op   the ioctl (KVM_*), or close / KVM_RUN / none.
 *       rc   "0" on success, "-<errno>" on failure (an "err=<ENAME>" key
 *            follows), "skip" when the op was not issued because the
 *            kernel lacks it (expect is then "unsupported").
 *       ts   CLOCK_MONOTONIC after the op returned, seconds.microseconds.
 *       exp  what the tracer must show for this VM as a result of this
 *            step, in terms of bit changes of kvm->arch.apicv_inhibit_reasons:
 *              none                 no bit may change
 *              unsupported          step skipped, nothing may change
 *              item[,item...]       item = <verb>:<REASON>
 *            verbs:
 *              set        the bit goes 0 -> 1 during this step
 *              clear      the bit goes 1 -> 0 during this step
 *              set-dropped / clear-dropped
 *                         APICv is disabled (avic=0): KVM is asked to
 *                         set/clear the reason but drops the request; the
 *                         mask must NOT change (a tracer's "request" view
 *                         may show it)
 *              flap       the bit is set and cleared one or more times
 *                         during the step (IRQWIN while a guest runs); it
 *                         may be left set at the end of the step
 *              flap-dropped  APICv disabled: flap's requests, dropped
 *              absorb     7.2+ IRQWIN while another reason inhibits: KVM
 *                         counts the requests without calling its setter
 *                         (a tracer's "absorbed" view may show them); the
 *                         bit changes only when another request makes KVM
 *                         recompute it (a side effect), at any later step
 *            REASON is the kernel's name without APICV_INHIBIT_REASON_, as
 *            in the "reasons" table of the KVDRIVE line (6.1 "DISABLE",
 *            6.12+ "DISABLED").
 *
 *   EXITS vm=<key> vcpu=<id> boot=<n> io=<n> hlt=<n> irq_window_open=<n>
 *         shutdown=<n> intr=<n> mmio=<n> other=<n>
 *       guest scenario: KVM_RUN exit reasons seen by userspace in one boot.
 *
 *   SUMMARY vm=<key> boots=<n> reboots=<n> ticks=<n> windows=<n> misses=<n>
 *           irq_window_exits=<n|-> secs=<t>
 *       guest scenario: totals.  windows = number of times the guest saw
 *       the PIT interrupt pending while IF=0 (each one makes KVM open an
 *       IRQ window, i.e. an IRQWIN set + clear on 6.1+ with AVIC on);
 *       irq_window_exits is KVM's own debugfs counter for the VM (or "-").
 *
 *   DONE scenario=<name> result=<ok|fail> steps=<n> failures=<n>
 *       Last line.  Exit status 0 iff result=ok.
 *
 * Diagnostics go to stderr, prefixed "kvmdrive: ".
 *
 * STEP names
 * ----------
 * basic / avic0 (one VM, vCPU 0):
 *   create_vm        KVM_CREATE_VM         set:ABSENT (5.10: set:DISABLE)
 *   create_irqchip   KVM_CREATE_IRQCHIP    clear:ABSENT
 *   create_vcpu      KVM_CREATE_VCPU       none
 *   blockirq_set     KVM_SET_GUEST_DEBUG   set:BLOCKIRQ   (5.10: unsupported)
 *   blockirq_clear   KVM_SET_GUEST_DEBUG   clear:BLOCKIRQ
 *   create_pit2      KVM_CREATE_PIT2       set:PIT_REINJ
 *   pit_reinject_off KVM_REINJECT_CONTROL  clear:PIT_REINJ
 *   pit_reinject_on  KVM_REINJECT_CONTROL  set:PIT_REINJ
 *   pit_reinject_off KVM_REINJECT_CONTROL  clear:PIT_REINJ
 *   synic_enable     KVM_ENABLE_CAP        none (5.10: set:HYPERV, permanent)
 *   sint0_autoeoi    KVM_SET_MSRS          set:HYPERV    (5.10: none)
 *   sint0_noautoeoi  KVM_SET_MSRS          clear:HYPERV  (5.10: none)
 *   lapic_get        KVM_GET_LAPIC         none
 *   lapic_set_same   KVM_SET_LAPIC         none
 *   apic_id_modify   KVM_SET_LAPIC         set:APIC_ID_MODIFIED (5.10: none)
 *   apic_id_restore  KVM_SET_LAPIC         6.12+: clear:APIC_ID_MODIFIED,
 *                                          6.1: none (sticky)
 *   apic_base_modify KVM_SET_MSRS          set:APIC_BASE_MODIFIED (sticky)
 *   close            close                 none (PIT reinject is off)
 * With --expect-disabled (6.1+) every verb after create_vm becomes
 * *-dropped, and create_vm expects set:ABSENT,set:DISABLE (6.1) or
 * set:DISABLED (6.12+).  5.10 never drops (its setter ignores avic).
 * 6.12+ recalculate the APIC map at KVM_CREATE_VCPU and KVM_SET_LAPIC,
 * asking for PHYSICAL_ID_ALIASED, LOGICAL_ID_ALIASED and APIC_ID_MODIFIED
 * in that order each time: with APICv on only their transitions are
 * listed, with --expect-disabled all three requests (*-dropped).
 *
 * aliases (one VM, vCPUs 0 and 1; 6.12+ expectations, 6.1: the mismatch
 * alone, sticky; 5.10: none):
 *   create_vm, create_irqchip, create_vcpu x2, lapic_get x2,
 *   alias_set      vCPU 1 KVM_SET_LAPIC, xAPIC ID 0:
 *                  set:PHYSICAL_ID_ALIASED,set:LOGICAL_ID_ALIASED,
 *                  set:APIC_ID_MODIFIED
 *   alias_restore  vCPU 1 KVM_SET_LAPIC, xAPIC ID 1: the three cleared
 *   logical_set    vCPU 0 KVM_SET_LAPIC, SPIV APIC enabled, DFR flat,
 *                  LDR 0x03000000: set:LOGICAL_ID_ALIASED
 *   logical_clear  LDR 0x01000000: clear:LOGICAL_ID_ALIASED
 *   logical_set    LDR 0x03000000 again; logical_zero LDR 0: clear
 *   lapic_restore  vCPU 0's initial LAPIC: none; close: none
 *
 * toobig: create_vm, create_irqchip, create_vcpu 255: 7.2+
 *   set:PHYSICAL_ID_TOO_BIG (never cleared); 6.1/6.12 with APICv on:
 *   rc=-22 (EINVAL, "want=EINVAL" appended; any other result fails the
 *   run); APICv off or 5.10: an ordinary vCPU.  close: none.
 *
 * flood: create_vm, create_irqchip, create_pit2, then --toggles times
 *   pit_reinject_off, pit_reinject_on; close (clear:PIT_REINJ).
 *
 * blockflood (6.1+): create_vm, create_irqchip, create_vcpu 0, then
 *   --toggles times BLOCKIRQ set and clear (KVM_SET_GUEST_DEBUG) with no
 *   STEP line each: many records fast (tests/e2e/snapshot_cap.sh).
 *
 * twovms: VM A created by the main thread, VM B by a second thread (so the
 *   pids in the keys differ).  Steps (same names as above) interleave:
 *   A create_vm, B create_vm, A create_irqchip, B create_irqchip,
 *   A create_vcpu, B create_pit2, then 3 rounds of
 *   {A blockirq_set, B pit_reinject_off, A blockirq_clear, B pit_reinject_on}
 *   where A skips its two steps in the 3rd round (A: BLOCKIRQ set/clear x2;
 *   B: PIT_REINJ set at create, then clear/set x3), then
 *   A close (none), B close (clear:PIT_REINJ: kvm_free_pit() turns
 *   reinject off while the VM is destroyed).
 *
 * guest: one VM running a 16-bit real-mode guest (see guest_blob below):
 *   create_vm, create_irqchip, create_pit2 (set:PIT_REINJ, stays set: AVIC
 *   stays inhibited, so the AVIC that QEMU does not emulate never runs;
 *   --no-reinject: pit_reinject_off right away, clear:PIT_REINJ, and
 *   AVIC is active in KVM's view whenever no IRQ window is open),
 *   set_tss_addr, set_memory, create_vcpu, lapic_get (saved initial LAPIC),
 *   init_sregs, init_regs; then per boot b = 0..N:
 *     run       KVM_RUN   flap:IRQWIN   extra: boot= exit=<kbd|cf9|triple|
 *                                        timeout|exception|error|...> ticks=
 *                                        windows= misses= stage= secs=
 *               (7.2+ with PIT reinject on or a bad APIC ID: absorb:IRQWIN;
 *               --expect-disabled: flap-dropped:IRQWIN on 6.1/6.12, i.e.
 *               set and clear requests dropped, one or more times; none on
 *               5.10 and 7.2+, whose SVM code asks only with APICv on)
 *     (EXITS line)
 *   and for each reboot r = 1..N, before the next run, QEMU-style reset:
 *     reset_regs    KVM_SET_REGS        none
 *     reset_sregs_mmu KVM_SET_SREGS     none (only after a triple fault:
 *                   CR0.WP toggled to make KVM reload its MMU, see below)
 *     reset_sregs   KVM_SET_SREGS       none
 *     reset_events  KVM_SET_VCPU_EVENTS none
 *     reset_lapic   KVM_SET_LAPIC       none, or set:APIC_ID_MODIFIED on
 *                   reboot K of --bad-apic-id-on-reboot K (xAPIC ID written
 *                   as vcpu_id+1), and on 6.12+ clear:APIC_ID_MODIFIED on
 *                   the reboot after it (the good ID is written back);
 *                   extra: reboot=<r> apic_id=<id>
 *   then close: clear:PIT_REINJ.  IRQWIN may be left set by the last boot
 *   (an IRQ window opened just before the reboot request); VM destruction
 *   does not clear it.  The last boot's reboot request ends the scenario
 *   (like a poweroff).  Reboot methods cycle kbd, cf9, triple by default.
 *   Each boot lasts --ticks PIT ticks (default 100 at --hz 1000), or with
 *   --seconds S about S/(N+1) wall-clock seconds (the VMM then sets a flag
 *   in guest memory that the guest polls).  A run fails (run rc=-ETIME,
 *   exit status 1) if the N reboots do not happen within --timeout
 *   (default 60 s, or S+60), and if the guest never saw an IRQ window.
 *
 * 5.10 under TCG: AVIC cannot be enabled there at all, so run every
 * scenario with --expect-disabled (create_vm then expects set:DISABLE;
 * PIT_REINJ/HYPERV requests still change the 5.10 mask).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "btf.h"
#include "guest.h"
#include "kvm.h"
#include "scenarios.h"

static void read_avic_param(char *buf, size_t len)
{
	ssize_t n;
	int fd;

	snprintf(buf, len, "?");
	fd = open("/sys/module/kvm_amd/parameters/avic", O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n ")] = '\0';
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmdrive SCENARIO [options]\n"
"scenarios: basic, avic0 (= basic --expect-disabled), twovms, seedpatch, guest,\n"
"           aliases, toobig, flood, blockflood, idle\n"
"       kvmdrive btf-enum NAME   the running kernel's enum NAME, from BTF\n"
"  --expect-disabled          APICv is off (kvm_amd avic=0): print *-dropped\n"
"  --kver M.N                 use the reason table of kernel M.N (default: uname)\n"
"guest options:\n"
"  --reboots N                reboots before stopping (default 3)\n"
"  --ticks T                  PIT ticks per boot before rebooting (default 100)\n"
"  --seconds S                run about S seconds instead: each of the N+1 boots\n"
"                             lasts S/(N+1) s, then the VMM asks for the reboot\n"
"  --timeout T                hard wall-clock limit (default 60, or S+60)\n"
"  --hz HZ                    PIT frequency (default 1000)\n"
"  --reboot-method M          kbd, cf9, triple or cycle (default cycle)\n"
"  --bad-apic-id-on-reboot K  write xAPIC ID vcpu_id+1 on the K-th reboot\n"
"  --no-reinject              PIT reinject off before the guest runs\n"
"flood and blockflood options:\n"
"  --toggles N                PIT reinject off/on (blockflood: BLOCKIRQ set/clear)\n"
"                             rounds (default 100)\n"
"  --interval-ms MS           pause after each round (default 0)\n"
"idle options:\n"
"  --seconds S                how long the VM stays (default 10)\n"
"any scenario:\n"
"  --name NAME                ignored: for apicv_trace to read from the command\n"
"                             line, as QEMU's -name [guest=]NAME[,...]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expect-disabled", no_argument, NULL, 'd' },
		{ "kver", required_argument, NULL, 'k' },
		{ "reboots", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "ticks", required_argument, NULL, 't' },
		{ "hz", required_argument, NULL, 'z' },
		{ "reboot-method", required_argument, NULL, 'm' },
		{ "bad-apic-id-on-reboot", required_argument, NULL, 'b' },
		{ "no-reinject", no_argument, NULL, 'n' },
		{ "toggles", required_argument, NULL, 'g' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct guest_opts go = {
		.reboots = 3,
		.ticks = 100,
		.hz = 1000,
		.method = -1,
	};
	int toggles = 100;	/* flood: PIT reinject off/on rounds */
	int interval_ms = 0;	/* flood: pause between toggles */
	const char *kver = NULL, *scenario;
	const char *const *names;
	char kernel[65], avic[16];
	struct utsname uts;
	int maj = 0, min = 0, c;
	unsigned int b, nr;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "btf-enum"))
		return btf_enum(argv[2]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			g.disabled = true;
			break;
		case 'k':
			kver = optarg;
			break;
		case 'r':
			go.reboots = atoi(optarg);
			break;
		case 's':
			go.seconds = atof(optarg);
			break;
		case 'T':
			go.timeout = atof(optarg);
			break;
		case 't':
			go.ticks = (unsigned int)atoi(optarg);
			break;
		case 'z':
			go.hz = (unsigned int)atoi(optarg);
			break;
		case 'm':
			go.method = guest_reboot_method(optarg);
			if (go.method == -2) {
				usage(stderr);
				return 2;
			}
			break;
		case 'b':
			go.bad_apic_reboot = atoi(optarg);
			break;
		case 'n':
			go.no_reinject = true;
			break;
		case 'g':
			toggles = atoi(optarg);
			break;
		case 'i':
			interval_ms = atoi(optarg);
			break;
		case 'N':
			break;	/* read by apicv_trace, not by us */
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	scenario = argv[optind];
	if (!strcmp(scenario, "btf-enum"))
		return 2;	/* takes the enum's name: see above */
	if (!strcmp(scenario, "avic0"))
		g.disabled = true;
	if (go.seconds > 0)
		go.boot_secs = go.seconds / (go.reboots + 1);
	if (go.timeout <= 0)
		go.timeout = go.seconds > 0 ? go.seconds + 60 : 60;
	if (go.reboots < 0 || go.seconds < 0 || !go.ticks || go.ticks > 0xffff ||
	    toggles < 0 || interval_ms < 0 || go.hz < 19 || go.hz > 1193182) {
		fprintf(stderr, "kvmdrive: bad option value\n");
		return 2;
	}

	uname(&uts);
	snprintf(kernel, sizeof(kernel), "%s", uts.release);
	if (sscanf(kver ? kver : uts.release, "%d.%d", &maj, &min) != 2) {
		fprintf(stderr, "kvmdrive: cannot parse kernel version '%s'\n",
			kver ? kver : uts.release);
		return 2;
	}
	g.gen = gen_from_version(maj, min);
	read_avic_param(avic, sizeof(avic));

	printf("KVDRIVE version=1 scenario=%s kernel=%s gen=%s apicv=%s avic_param=%s reasons=",
	       scenario, kernel, gen_name(g.gen), g.disabled ? "off" : "on",
	       avic);
	names = gen_reasons(g.gen, &nr);
	for (b = 0; b < nr; b++)
		printf("%s%s", b ? "," : "", names[b]);
	printf("\n");

	if (!g.disabled && (!strcmp(avic, "N") || !strcmp(avic, "0")))
		fprintf(stderr, "kvmdrive: note: kvm_amd avic=%s but --expect-disabled not given\n",
			avic);

	g.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g.kvm_fd < 0) {
		fprintf(stderr, "kvmdrive: /dev/kvm: %m\n");
		g.failures++;
	} else if (!strcmp(scenario, "basic") ||
		   !strcmp(scenario, "avic0")) {
		scenario_basic();
	} else if (!strcmp(scenario, "twovms")) {
		scenario_twovms();
	} else if (!strcmp(scenario, "seedpatch")) {
		scenario_seedpatch();
	} else if (!strcmp(scenario, "guest")) {
		scenario_guest(&go);
	} else if (!strcmp(scenario, "aliases")) {
		scenario_aliases();
	} else if (!strcmp(scenario, "toobig")) {
		scenario_toobig();
	} else if (!strcmp(scenario, "flood")) {
		scenario_flood(toggles, interval_ms);
	} else if (!strcmp(scenario, "blockflood")) {
		scenario_blockflood(toggles);
	} else if (!strcmp(scenario, "idle")) {
		scenario_idle(go.seconds > 0 ? go.seconds : 10);
	} else {
		usage(stderr);
		return 2;
	}

	printf("DONE scenario=%s result=%s steps=%d failures=%d\n",
	       scenario, g.failures ? "fail" : "ok", g.steps, g.failures);
	return g.failures ? 1 : 0;
}
