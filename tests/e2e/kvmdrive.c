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
 *                   PIT reinject off/on N times (a ring that wraps on 5.10)
 *   kvmdrive churn  --seconds S [--vcpus N] [--toggles N] [--pause-file P]
 *                   VMs created and destroyed in a loop (make stress): see
 *                   scenario_churn for its CHURN lines
 *   kvmdrive now | snapshot DIR OUT | follow FILE MODE STOP GATE [B [MS]]
 *                   helpers of tests/stress/stress.sh (see follow_main)
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
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
#ifndef KVM_CAP_HYPERV_SYNIC
#define KVM_CAP_HYPERV_SYNIC		123
#endif
#ifndef KVM_CAP_REINJECT_CONTROL
#define KVM_CAP_REINJECT_CONTROL	24
#endif

#define HV_X64_MSR_SINT0		0x40000090
#define HV_SYNIC_SINT_AUTO_EOI		(1ULL << 17)
#define SINT0_VECTOR			0x30
#define MSR_IA32_APICBASE		0x1b
#define APIC_BASE_MOVED			(0xfec00000ULL | 0x800 | 0x100)
#define APIC_ID_BYTE			0x23	/* bits 31:24 of the u32 at 0x20 */
#define APIC_LDR_REG			0xd0
#define APIC_DFR_REG			0xe0
#define APIC_SPIV_REG			0xf0
#define APIC_SPIV_ENABLE		0x100
#define APIC_DFR_FLAT			0xffffffffu

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define RC_SKIP		1	/* pseudo return code: op not issued */

/* ------------------------------------------------------------------ */
/* Inhibit reasons per kernel generation                              */
/* ------------------------------------------------------------------ */

/* Logical reasons, independent of the bit numbers of any one kernel. */
enum reason {
	R_DISABLE, R_HYPERV, R_ABSENT, R_BLOCKIRQ, R_APIC_ID_MODIFIED,
	R_APIC_BASE_MODIFIED, R_IRQWIN, R_PIT_REINJ, R_PHYS_ALIASED,
	R_LOGICAL_ALIASED, R_TOO_BIG,
};

static const char *const reason_lname[] = {
	[R_DISABLE]		= "DISABLE",
	[R_HYPERV]		= "HYPERV",
	[R_ABSENT]		= "ABSENT",
	[R_BLOCKIRQ]		= "BLOCKIRQ",
	[R_APIC_ID_MODIFIED]	= "APIC_ID_MODIFIED",
	[R_APIC_BASE_MODIFIED]	= "APIC_BASE_MODIFIED",
	[R_IRQWIN]		= "IRQWIN",
	[R_PIT_REINJ]		= "PIT_REINJ",
	[R_PHYS_ALIASED]	= "PHYSICAL_ID_ALIASED",
	[R_LOGICAL_ALIASED]	= "LOGICAL_ID_ALIASED",
	[R_TOO_BIG]		= "PHYSICAL_ID_TOO_BIG",
};

/*
 * GEN_510: 5.10 (and anything before 5.16: no BLOCKIRQ, no ABSENT)
 * GEN_61:  5.16 .. 6.2 (APIC_ID_MODIFIED is sticky)
 * GEN_612: 6.3 .. 7.1 (APIC_ID_MODIFIED re-evaluated by the APIC map)
 * GEN_72:  7.2 and later (IRQWIN counted; PHYSICAL_ID_TOO_BIG)
 * The tables are the Debian builds' (kvm-versions.md section 2).
 */
enum gen { GEN_510, GEN_61, GEN_612, GEN_72 };

static const char *const gen_str[] = { "5.10", "6.1", "6.12", "7.2" };

static const char *const tbl_510[] = {
	"DISABLE", "HYPERV", "NESTED", "IRQWIN", "PIT_REINJ", "X2APIC",
};
static const char *const tbl_61[] = {
	"DISABLE", "HYPERV", "ABSENT", "BLOCKIRQ", "APIC_ID_MODIFIED",
	"APIC_BASE_MODIFIED", "NESTED", "IRQWIN", "PIT_REINJ", "SEV",
};
static const char *const tbl_612[] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED",
};
static const char *const tbl_72[] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG",
};

static const struct {
	const char *const *names;
	unsigned int nr;
} gen_tbl[] = {
	[GEN_510] = { tbl_510, ARRAY_SIZE(tbl_510) },
	[GEN_61]  = { tbl_61,  ARRAY_SIZE(tbl_61) },
	[GEN_612] = { tbl_612, ARRAY_SIZE(tbl_612) },
	[GEN_72]  = { tbl_72,  ARRAY_SIZE(tbl_72) },
};

/* ------------------------------------------------------------------ */
/* Global state                                                       */
/* ------------------------------------------------------------------ */

static struct {
	enum gen gen;
	bool disabled;		/* --expect-disabled */
	int kvm_fd;
	int steps;
	int failures;
	int reboots;
	double seconds;		/* --seconds: total run time, 0: tick based */
	double boot_secs;	/* seconds per boot in --seconds mode */
	double timeout;		/* --timeout: hard wall-clock limit */
	unsigned int ticks;
	unsigned int hz;
	int method;		/* -1: cycle */
	int bad_apic_reboot;	/* 0: off */
	bool no_reinject;	/* guest: PIT reinject off before running */
	int toggles;		/* flood: PIT reinject off/on rounds */
	int interval_ms;	/* flood: pause between toggles */
	const char *pause_file;	/* churn: no VM while it exists */
	int churn_vcpus;	/* churn: vCPUs per VM cycle 1..this */
	char kernel[65];
	const char *scenario;
} g = {
	.reboots = 3,
	.ticks = 100,
	.hz = 1000,
	.method = -1,
	.toggles = 100,
	.churn_vcpus = 2,
};

#define MAX_VCPUS 2

struct vcpu {
	int id;
	int fd;
	struct kvm_run *run;
	/* what KVM sees of this vCPU's local APIC (model for expectations) */
	uint8_t xapic_id;	/* the xAPIC ID byte */
	bool logical_bad;	/* its LDR makes KVM's logical map unusable */
};

/* 6.12+: the reasons kvm_recalculate_apic_map() re-evaluates, in order */
#define RB_PHYS		0x1	/* PHYSICAL_ID_ALIASED */
#define RB_LOGICAL	0x2	/* LOGICAL_ID_ALIASED */
#define RB_APIC_ID	0x4	/* APIC_ID_MODIFIED */

struct vm {
	int fd;
	pid_t tid;
	char key[32];
	int nvcpu;
	struct vcpu vcpu[MAX_VCPUS];
	size_t run_size;
	void *mem;
	size_t mem_size;
	bool pit_reinject;	/* current PIT reinject state */
	bool irqchip;		/* KVM_CREATE_IRQCHIP done */
	unsigned int recalc;	/* 6.12+: RB_* bits KVM has set (APICv on) */
	bool apic_id_set;	/* 6.1: APIC_ID_MODIFIED set (sticky) */
};

/* Name of a logical reason on this kernel, or NULL if it has none. */
static const char *reason_name(enum reason r)
{
	const char *l = reason_lname[r];
	unsigned int i;

	for (i = 0; i < gen_tbl[g.gen].nr; i++) {
		const char *n = gen_tbl[g.gen].names[i];

		if (!strcmp(n, l) ||
		    (r == R_DISABLE && !strcmp(n, "DISABLED")))
			return n;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Expectations                                                       */
/* ------------------------------------------------------------------ */

struct expect {
	char s[192];
};

static void ex_init(struct expect *e)
{
	e->s[0] = '\0';
}

static void ex_raw(struct expect *e, const char *verb, enum reason r)
{
	const char *name = reason_name(r);
	size_t len = strlen(e->s);

	if (!name)
		return;		/* reason does not exist on this kernel */
	snprintf(e->s + len, sizeof(e->s) - len, "%s%s:%s",
		 len ? "," : "", verb, name);
}

/*
 * A runtime set/clear request.  With APICv disabled (6.1+) KVM drops it;
 * 5.10's kvm_request_apicv_update() applies it regardless.
 */
static void ex_req(struct expect *e, bool set, enum reason r)
{
	bool drop = g.disabled && g.gen >= GEN_61;

	if (drop)
		ex_raw(e, set ? "set-dropped" : "clear-dropped", r);
	else
		ex_raw(e, set ? "set" : "clear", r);
}

static const char *ex_str(const struct expect *e)
{
	return e->s[0] ? e->s : "none";
}

/* Expectation with a single request (or none if !cond). */
static const char *ex1(struct expect *e, bool cond, bool set, enum reason r)
{
	ex_init(e);
	if (cond)
		ex_req(e, set, r);
	return ex_str(e);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ioctl returning the result or -errno */
static int xioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIME: return "ETIME";
	default: return "E?";
	}
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static bool vm_debugfs_exists(const struct vm *vm)
{
	char p[96];

	snprintf(p, sizeof(p), "/sys/kernel/debug/kvm/%s", vm->key);
	return path_exists(p);
}

/* Read a KVM debugfs stat of a VM, -1 if unavailable. */
static long long vm_debugfs_stat(const struct vm *vm, const char *name)
{
	char p[128], buf[32];
	long long v = -1;
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/sys/kernel/debug/kvm/%s/%s", vm->key, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		v = strtoll(buf, NULL, 10);
	}
	close(fd);
	return v;
}

/*
 * Print one STEP line.  rc is 0, -errno or RC_SKIP.  A failed step
 * with must=true counts as a failure of the run.  extra_fmt (may be
 * NULL) appends " key=value" pairs.
 */
static void __attribute__((format(printf, 7, 8)))
step(const struct vm *vm, int vcpu, const char *name, const char *op,
     int rc, bool must, const char *extra_fmt, ...);

static const char *g_expect;	/* set by the STEP() macro */

static void step(const struct vm *vm, int vcpu, const char *name,
		 const char *op, int rc, bool must, const char *extra_fmt, ...)
{
	char vcpu_s[16], rc_s[16], extra[256] = "";
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (vcpu < 0)
		strcpy(vcpu_s, "-");
	else
		snprintf(vcpu_s, sizeof(vcpu_s), "%d", vcpu);
	if (rc == RC_SKIP)
		strcpy(rc_s, "skip");
	else
		snprintf(rc_s, sizeof(rc_s), "%d", rc < 0 ? rc : 0);
	if (extra_fmt) {
		va_start(ap, extra_fmt);
		vsnprintf(extra, sizeof(extra), extra_fmt, ap);
		va_end(ap);
	}
	printf("STEP vm=%s vcpu=%s step=%s op=%s rc=%s expect=%s ts=%ld.%06ld%s%s%s\n",
	       vm && vm->key[0] ? vm->key : "-", vcpu_s, name, op, rc_s,
	       rc == RC_SKIP ? "unsupported" : g_expect,
	       (long)ts.tv_sec, ts.tv_nsec / 1000,
	       rc < 0 ? " err=" : "", rc < 0 ? errname(-rc) : "", extra);
	g.steps++;
	if (rc < 0 && must) {
		g.failures++;
		fprintf(stderr, "kvmdrive: %s%s%s step %s (%s) failed: %s\n",
			vm ? "vm " : "", vm ? vm->key : "", vm ? ":" : "",
			name, op, strerror(-rc));
	}
}

/* STEP(expect, vm, vcpu, name, op, rc, must, extra...) */
#define STEP(ex, ...) do { g_expect = (ex); step(__VA_ARGS__); } while (0)

static int check_ext(long cap)
{
	int r = ioctl(g.kvm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/* ------------------------------------------------------------------ */
/* VM / vCPU life cycle                                               */
/* ------------------------------------------------------------------ */

/* Expectation for KVM_CREATE_VM: the init-time bits. */
static const char *ex_create_vm(struct expect *e)
{
	ex_init(e);
	switch (g.gen) {
	case GEN_510:
		/* kvm_apicv_init(kvm, avic): DISABLE iff avic is off */
		if (g.disabled)
			ex_raw(e, "set", R_DISABLE);
		break;
	case GEN_61:
		ex_raw(e, "set", R_ABSENT);
		if (g.disabled)
			ex_raw(e, "set", R_DISABLE);
		break;
	default:
		ex_raw(e, "set", g.disabled ? R_DISABLE : R_ABSENT);
		break;
	}
	return ex_str(e);
}

/* KVM_CREATE_VM from the calling thread; prints VM created + STEP. */
static int vm_create(struct vm *vm)
{
	struct expect e;
	int fd;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->tid = my_tid();
	fd = xioctl(g.kvm_fd, KVM_CREATE_VM, (void *)0);
	if (fd >= 0) {
		vm->fd = fd;
		snprintf(vm->key, sizeof(vm->key), "%d-%d", vm->tid, fd);
		printf("VM vm=%s created pid=%d fd=%d debugfs=%s\n", vm->key,
		       vm->tid, fd, vm_debugfs_exists(vm) ? "yes" : "no");
	}
	STEP(ex_create_vm(&e), vm, -1, "create_vm", "KVM_CREATE_VM",
	     fd < 0 ? fd : 0, true, NULL);
	return fd < 0 ? fd : 0;
}

static int vm_create_irqchip(struct vm *vm)
{
	struct expect e;
	int rc = xioctl(vm->fd, KVM_CREATE_IRQCHIP, NULL);

	if (!rc)
		vm->irqchip = true;
	STEP(ex1(&e, true, false, R_ABSENT), vm, -1, "create_irqchip",
	     "KVM_CREATE_IRQCHIP", rc, true, NULL);
	return rc;
}

/*
 * 6.12+: kvm_recalculate_apic_map() asks for PHYSICAL_ID_ALIASED,
 * LOGICAL_ID_ALIASED and APIC_ID_MODIFIED, in this order, set or clear,
 * every time it recalculates (KVM_CREATE_VCPU, KVM_SET_LAPIC). With APICv
 * on, only the transitions are expected; with APICv off, all three
 * requests, dropped. The model (vcpu->xapic_id, ->logical_bad) covers what
 * the scenarios do: xAPIC mode, APIC hardware-enabled, at most one vCPU
 * software-enabled with a logical ID. KVM stops at the first aliased vCPU;
 * a mismatch on a vCPU after it would go unnoticed, which the scenarios
 * never build (the aliasing vCPU is the mismatching one).
 */
static void ex_recalc(struct expect *e, struct vm *vm)
{
	static const enum reason order[] = {
		R_PHYS_ALIASED, R_LOGICAL_ALIASED, R_APIC_ID_MODIFIED,
	};
	bool alias = false, logical = false, mismatch = false;
	unsigned int want, i, j;

	if (g.gen < GEN_612 || !vm->irqchip)
		return;
	for (i = 0; i < (unsigned int)vm->nvcpu; i++) {
		const struct vcpu *a = &vm->vcpu[i];

		if (a->xapic_id != (uint8_t)a->id)
			mismatch = true;
		if (a->logical_bad)
			logical = true;
		for (j = i + 1; j < (unsigned int)vm->nvcpu; j++)
			if (vm->vcpu[j].xapic_id == a->xapic_id)
				alias = true;
	}
	if (alias)
		logical = true;		/* no map at all: both inhibited */
	want = (alias ? RB_PHYS : 0) | (logical ? RB_LOGICAL : 0) |
	       (mismatch ? RB_APIC_ID : 0);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		bool on = want & (1u << i), was = vm->recalc & (1u << i);

		if (g.disabled)
			ex_raw(e, on ? "set-dropped" : "clear-dropped",
			       order[i]);
		else if (on != was)
			ex_raw(e, on ? "set" : "clear", order[i]);
	}
	if (!g.disabled)
		vm->recalc = want;
}

/*
 * KVM_SET_LAPIC of vCPU v, whose model was just updated. 6.1:
 * kvm_lapic_xapic_id_updated() asks for APIC_ID_MODIFIED on a mismatch
 * (sticky: a change only the first time). 6.12+: the map is recalculated.
 */
static void ex_lapic_set(struct expect *e, struct vm *vm,
			 const struct vcpu *v)
{
	if (g.gen == GEN_61) {
		if (v->xapic_id == (uint8_t)v->id)
			return;
		if (g.disabled) {
			ex_raw(e, "set-dropped", R_APIC_ID_MODIFIED);
		} else if (!vm->apic_id_set) {
			ex_raw(e, "set", R_APIC_ID_MODIFIED);
			vm->apic_id_set = true;
		}
	} else {
		ex_recalc(e, vm);
	}
}

/*
 * KVM_CREATE_VCPU. want_rc: the expected result (0, or -EINVAL where
 * AVIC refuses the id); a different result fails the run.
 */
static int vm_create_vcpu_rc(struct vm *vm, int id, int want_rc)
{
	struct vcpu *v = &vm->vcpu[vm->nvcpu];
	struct expect e;
	int fd, sz;

	fd = xioctl(vm->fd, KVM_CREATE_VCPU, (void *)(long)id);
	ex_init(&e);
	if (fd >= 0) {
		memset(v, 0, sizeof(*v));
		v->id = id;
		v->fd = fd;
		v->xapic_id = (uint8_t)id;	/* reset: xAPIC ID = vcpu_id */
		vm->nvcpu++;
		/*
		 * 7.2+: avic_init_vcpu() inhibits AVIC for an id beyond
		 * xAVIC's 0xfe, before the vCPU's reset recalculates the map.
		 */
		if (g.gen >= GEN_72 && !g.disabled && vm->irqchip && id > 0xfe)
			ex_raw(&e, "set", R_TOO_BIG);
		ex_recalc(&e, vm);
	}
	if (want_rc && fd == want_rc) {
		STEP(ex_str(&e), vm, id, "create_vcpu", "KVM_CREATE_VCPU",
		     fd, false, " want=%s", errname(-want_rc));
		return fd;
	}
	if (want_rc) {
		fprintf(stderr, "kvmdrive: vCPU %d: expected %s, got %d\n",
			id, errname(-want_rc), fd < 0 ? fd : 0);
		g.failures++;
	}
	STEP(ex_str(&e), vm, id, "create_vcpu", "KVM_CREATE_VCPU",
	     fd < 0 ? fd : 0, true, want_rc ? " want=%s" : NULL,
	     errname(-want_rc));
	if (fd < 0)
		return fd;
	sz = ioctl(g.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0) {
		fprintf(stderr, "kvmdrive: KVM_GET_VCPU_MMAP_SIZE: %m\n");
		close(fd);
		vm->nvcpu--;
		g.failures++;
		return -EIO;
	}
	v->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (v->run == MAP_FAILED) {
		fprintf(stderr, "kvmdrive: mmap kvm_run: %m\n");
		close(fd);
		vm->nvcpu--;
		g.failures++;
		return -ENOMEM;
	}
	vm->run_size = sz;
	return 0;
}

static int vm_create_vcpu(struct vm *vm, int id)
{
	return vm_create_vcpu_rc(vm, id, 0);
}

static int vm_create_pit2(struct vm *vm)
{
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct expect e;
	int rc = xioctl(vm->fd, KVM_CREATE_PIT2, &cfg);

	if (!rc)
		vm->pit_reinject = true;
	STEP(ex1(&e, true, true, R_PIT_REINJ), vm, -1, "create_pit2",
	     "KVM_CREATE_PIT2", rc, true, NULL);
	return rc;
}

static int vm_pit_reinject(struct vm *vm, bool on)
{
	struct kvm_reinject_control rc_arg = { .pit_reinject = on };
	struct expect e;
	int rc = xioctl(vm->fd, KVM_REINJECT_CONTROL, &rc_arg);

	if (!rc)
		vm->pit_reinject = on;
	STEP(ex1(&e, true, on, R_PIT_REINJ), vm, -1,
	     on ? "pit_reinject_on" : "pit_reinject_off",
	     "KVM_REINJECT_CONTROL", rc, true, NULL);
	return rc;
}

static bool blockirq_supported(void)
{
	return check_ext(KVM_CAP_SET_GUEST_DEBUG2) & KVM_GUESTDBG_BLOCKIRQ;
}

static int vcpu_blockirq(struct vm *vm, struct vcpu *v, bool on)
{
	struct kvm_guest_debug dbg = { 0 };
	const char *name = on ? "blockirq_set" : "blockirq_clear";
	struct expect e;
	int rc;

	if (!blockirq_supported()) {
		STEP("unsupported", vm, v->id, name, "KVM_SET_GUEST_DEBUG",
		     RC_SKIP, false, NULL);
		return 0;
	}
	if (on)
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_BLOCKIRQ;
	rc = xioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
	STEP(ex1(&e, true, on, R_BLOCKIRQ), vm, v->id, name,
	     "KVM_SET_GUEST_DEBUG", rc, true, NULL);
	return rc;
}

/* KVM_SET_MSRS of one MSR; 0 or -errno. */
static int vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.entry.index = index;
	m.entry.data = data;
	r = xioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EINVAL;	/* KVM stops at the first bad MSR */
}

static void vcpu_synic(struct vm *vm, struct vcpu *v)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_SYNIC };
	struct expect e;
	int rc;

	if (!check_ext(KVM_CAP_HYPERV_SYNIC)) {
		STEP("unsupported", vm, v->id, "synic_enable",
		     "KVM_ENABLE_CAP", RC_SKIP, false, NULL);
		STEP("unsupported", vm, v->id, "sint0_autoeoi",
		     "KVM_SET_MSRS", RC_SKIP, false, NULL);
		STEP("unsupported", vm, v->id, "sint0_noautoeoi",
		     "KVM_SET_MSRS", RC_SKIP, false, NULL);
		return;
	}
	/* 5.10: kvm_hv_activate_synic() sets HYPERV for good. */
	rc = xioctl(v->fd, KVM_ENABLE_CAP, &cap);
	STEP(ex1(&e, g.gen == GEN_510, true, R_HYPERV), vm, v->id,
	     "synic_enable", "KVM_ENABLE_CAP", rc, true, NULL);
	if (rc)
		return;
	/* 6.1+: synic_update_vector() counts SINTs with AutoEOI. */
	rc = vcpu_set_msr(v, HV_X64_MSR_SINT0,
			  SINT0_VECTOR | HV_SYNIC_SINT_AUTO_EOI);
	STEP(ex1(&e, g.gen >= GEN_61, true, R_HYPERV), vm, v->id,
	     "sint0_autoeoi", "KVM_SET_MSRS", rc, true, NULL);
	rc = vcpu_set_msr(v, HV_X64_MSR_SINT0, SINT0_VECTOR);
	STEP(ex1(&e, g.gen >= GEN_61, false, R_HYPERV), vm, v->id,
	     "sint0_noautoeoi", "KVM_SET_MSRS", rc, true, NULL);
}

static void lapic_set_id(struct kvm_lapic_state *l, uint8_t id)
{
	l->regs[APIC_ID_BYTE] = (char)id;
}

static uint8_t lapic_get_id(const struct kvm_lapic_state *l)
{
	return (uint8_t)l->regs[APIC_ID_BYTE];
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

static void lapic_set_reg(struct kvm_lapic_state *l, unsigned int off,
			  uint32_t v)
{
	memcpy(l->regs + off, &v, sizeof(v));
}

/*
 * KVM_SET_LAPIC of @l on vCPU @v as one STEP, with what KVM must do about
 * it: the model of the vCPU's APIC is updated first (see ex_recalc()).
 * Logical ID: KVM gives up its logical map (LOGICAL_ID_ALIASED, 6.12+)
 * when a software-enabled APIC's logical ID has more than one bit in its
 * cluster (flat: 8 bits, cluster: the low 4).
 */
static int vcpu_set_lapic(struct vm *vm, struct vcpu *v,
			  const struct kvm_lapic_state *l, const char *name,
			  const char *extra)
{
	struct kvm_lapic_state copy = *l;
	uint32_t ldr = lapic_reg(l, APIC_LDR_REG) >> 24;
	struct expect e;
	int rc;

	if (lapic_reg(l, APIC_DFR_REG) != APIC_DFR_FLAT)
		ldr &= 0xf;
	rc = xioctl(v->fd, KVM_SET_LAPIC, &copy);
	ex_init(&e);
	if (!rc) {
		v->xapic_id = lapic_get_id(l);
		v->logical_bad = (lapic_reg(l, APIC_SPIV_REG) & APIC_SPIV_ENABLE)
				 && ldr && (ldr & (ldr - 1));
		ex_lapic_set(&e, vm, v);
	}
	STEP(ex_str(&e), vm, v->id, name, "KVM_SET_LAPIC", rc, true,
	     " apic_id=%u%s", lapic_get_id(l), extra ? extra : "");
	return rc;
}

static void vcpu_apic_id(struct vm *vm, struct vcpu *v)
{
	struct kvm_lapic_state lapic, mod;
	int rc;

	rc = xioctl(v->fd, KVM_GET_LAPIC, &lapic);
	STEP("none", vm, v->id, "lapic_get", "KVM_GET_LAPIC", rc, true,
	     rc ? NULL : " apic_id=%u", lapic_get_id(&lapic));
	if (rc)
		return;
	/* Round trip with the ID unchanged: must not inhibit. */
	vcpu_set_lapic(vm, v, &lapic, "lapic_set_same", NULL);
	mod = lapic;
	lapic_set_id(&mod, (uint8_t)(v->id + 1));
	vcpu_set_lapic(vm, v, &mod, "apic_id_modify", NULL);
	/* 6.1: sticky.  6.12+: kvm_recalculate_apic_map() clears it. */
	vcpu_set_lapic(vm, v, &lapic, "apic_id_restore", NULL);
}

static void vcpu_apic_base(struct vm *vm, struct vcpu *v)
{
	struct expect e;
	int rc = vcpu_set_msr(v, MSR_IA32_APICBASE, APIC_BASE_MOVED);

	STEP(ex1(&e, g.gen >= GEN_61, true, R_APIC_BASE_MODIFIED), vm, v->id,
	     "apic_base_modify", "KVM_SET_MSRS", rc, true,
	     " apic_base=0x%llx", (unsigned long long)APIC_BASE_MOVED);
}

/*
 * Close every fd of the VM; the last close destroys it synchronously
 * (kvm_destroy_vm runs from the close's task work before we return).
 * kvm_free_pit() turns PIT reinject off on the way.
 */
static void vm_close(struct vm *vm)
{
	struct expect e;
	int i, rc;

	if (vm->fd < 0)
		return;
	for (i = 0; i < vm->nvcpu; i++) {
		munmap(vm->vcpu[i].run, vm->run_size);
		close(vm->vcpu[i].fd);
	}
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	rc = close(vm->fd) ? -errno : 0;
	ex_init(&e);
	if (vm->pit_reinject)
		ex_req(&e, false, R_PIT_REINJ);
	STEP(ex_str(&e), vm, -1, "close", "close", rc, true, NULL);
	printf("VM vm=%s closed debugfs_gone=%s\n", vm->key,
	       vm_debugfs_exists(vm) ? "no" : "yes");
	vm->fd = -1;
	vm->nvcpu = 0;
	vm->mem = NULL;
}

/* ------------------------------------------------------------------ */
/* Scenario: basic / avic0                                            */
/* ------------------------------------------------------------------ */

static int scenario_basic(void)
{
	struct vm vm;
	struct vcpu *v;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 0))
		goto out;
	v = &vm.vcpu[0];

	vcpu_blockirq(&vm, v, true);
	vcpu_blockirq(&vm, v, false);

	if (!vm_create_pit2(&vm)) {
		vm_pit_reinject(&vm, false);
		vm_pit_reinject(&vm, true);
		vm_pit_reinject(&vm, false);
	}

	vcpu_synic(&vm, v);
	vcpu_apic_id(&vm, v);
	vcpu_apic_base(&vm, v);
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: seedpatch                                                */
/* ------------------------------------------------------------------ */

/*
 * A vCPU whose id does not fit in 8 bits: vCPU 256 has xAPIC ID (u8)256 =
 * 0, and a KVM_SET_LAPIC round trip must not inhibit ("KVM: x86: Don't
 * inhibit APICv/AVIC if xAPIC ID mismatch is due to 32-bit ID"). Run it
 * with avic=0 on 6.1/6.12: AVIC without x2AVIC refuses vCPU ids > 254.
 */
static int scenario_seedpatch(void)
{
	struct kvm_lapic_state lapic;
	struct vm vm;
	struct vcpu *v;
	int rc;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 256))
		goto out;
	v = &vm.vcpu[0];
	rc = xioctl(v->fd, KVM_GET_LAPIC, &lapic);
	STEP("none", &vm, v->id, "lapic_get", "KVM_GET_LAPIC", rc, true,
	     rc ? NULL : " apic_id=%u", lapic_get_id(&lapic));
	if (rc)
		goto out;
	vcpu_set_lapic(&vm, v, &lapic, "lapic_set_same", NULL);
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: aliases (6.12+: PHYSICAL_ID_ALIASED, LOGICAL_ID_ALIASED)  */
/* ------------------------------------------------------------------ */

/*
 * Two vCPUs (0, 1). vCPU 1 takes vCPU 0's xAPIC ID: two APICs answer to
 * physical ID 0, KVM drops its APIC map (PHYSICAL_ID_ALIASED and, with no
 * map, LOGICAL_ID_ALIASED) and sees vCPU 1's ID mismatch
 * (APIC_ID_MODIFIED); restoring the ID clears all three. Then vCPU 0,
 * software-enabled in flat logical mode, gets two bits in its logical ID:
 * LOGICAL_ID_ALIASED alone; a zero logical ID clears it. 6.1 sees only
 * the mismatch (sticky); 5.10 none of it.
 */
static int scenario_aliases(void)
{
	struct kvm_lapic_state l0, l1, mod;
	struct vcpu *v0, *v1;
	struct vm vm;
	int rc;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 0) ||
	    vm_create_vcpu(&vm, 1))
		goto out;
	v0 = &vm.vcpu[0];
	v1 = &vm.vcpu[1];
	rc = xioctl(v0->fd, KVM_GET_LAPIC, &l0);
	STEP("none", &vm, v0->id, "lapic_get", "KVM_GET_LAPIC", rc, true,
	     rc ? NULL : " apic_id=%u", lapic_get_id(&l0));
	if (rc)
		goto out;
	rc = xioctl(v1->fd, KVM_GET_LAPIC, &l1);
	STEP("none", &vm, v1->id, "lapic_get", "KVM_GET_LAPIC", rc, true,
	     rc ? NULL : " apic_id=%u", lapic_get_id(&l1));
	if (rc)
		goto out;

	mod = l1;
	lapic_set_id(&mod, lapic_get_id(&l0));
	vcpu_set_lapic(&vm, v1, &mod, "alias_set", NULL);
	vcpu_set_lapic(&vm, v1, &l1, "alias_restore", NULL);

	mod = l0;
	lapic_set_reg(&mod, APIC_SPIV_REG,
		      lapic_reg(&mod, APIC_SPIV_REG) | APIC_SPIV_ENABLE);
	lapic_set_reg(&mod, APIC_DFR_REG, APIC_DFR_FLAT);
	lapic_set_reg(&mod, APIC_LDR_REG, 0x03000000);
	vcpu_set_lapic(&vm, v0, &mod, "logical_set", " ldr=0x03000000");
	lapic_set_reg(&mod, APIC_LDR_REG, 0x01000000);
	vcpu_set_lapic(&vm, v0, &mod, "logical_clear", " ldr=0x01000000");
	lapic_set_reg(&mod, APIC_LDR_REG, 0x03000000);
	vcpu_set_lapic(&vm, v0, &mod, "logical_set", " ldr=0x03000000");
	lapic_set_reg(&mod, APIC_LDR_REG, 0);
	vcpu_set_lapic(&vm, v0, &mod, "logical_zero", " ldr=0");
	vcpu_set_lapic(&vm, v0, &l0, "lapic_restore", NULL);
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: toobig (7.2+: PHYSICAL_ID_TOO_BIG)                        */
/* ------------------------------------------------------------------ */

/*
 * vCPU 255 with the in-kernel APIC: beyond xAVIC's highest physical ID
 * (0xfe). 7.2+ creates it and inhibits AVIC for good
 * (PHYSICAL_ID_TOO_BIG); 6.1 and 6.12 refuse it (-EINVAL) while AVIC is
 * on; with APICv off (and on 5.10) it is an ordinary vCPU.
 */
static int scenario_toobig(void)
{
	int want = 0;
	struct vm vm;

	if (!g.disabled && (g.gen == GEN_61 || g.gen == GEN_612))
		want = -EINVAL;
	if (vm_create(&vm))
		return -1;
	if (!vm_create_irqchip(&vm))
		vm_create_vcpu_rc(&vm, 255, want);
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: flood                                                    */
/* ------------------------------------------------------------------ */

/*
 * Many mask changes without a guest: PIT reinject off and on again,
 * --toggles times, --interval-ms apart. Every toggle changes the mask on
 * 5.10 (whose setter ignores avic) and with APICv on; with APICv off
 * (6.1+) the requests are dropped.
 */
static int scenario_flood(void)
{
	struct vm vm;
	int i;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_pit2(&vm))
		goto out;
	for (i = 0; i < g.toggles; i++) {
		if (vm_pit_reinject(&vm, false) || vm_pit_reinject(&vm, true))
			break;
		if (g.interval_ms)
			usleep(g.interval_ms * 1000);
	}
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: twovms                                                   */
/* ------------------------------------------------------------------ */

static void *create_vm_thread(void *arg)
{
	vm_create(arg);
	return NULL;
}

static int scenario_twovms(void)
{
	struct vm a, b;
	pthread_t th;
	int i, r;

	if (vm_create(&a))
		return -1;
	/* VM B from another thread, so its key has another pid. */
	r = pthread_create(&th, NULL, create_vm_thread, &b);
	if (r) {
		fprintf(stderr, "kvmdrive: pthread_create: %s\n", strerror(r));
		g.failures++;
		vm_close(&a);
		return -1;
	}
	pthread_join(th, NULL);
	if (b.fd < 0) {
		vm_close(&a);
		return -1;
	}
	if (vm_create_irqchip(&a) || vm_create_irqchip(&b) ||
	    vm_create_vcpu(&a, 0) || vm_create_pit2(&b))
		goto out;

	for (i = 0; i < 3; i++) {
		if (i < 2)
			vcpu_blockirq(&a, &a.vcpu[0], true);
		vm_pit_reinject(&b, false);
		if (i < 2)
			vcpu_blockirq(&a, &a.vcpu[0], false);
		vm_pit_reinject(&b, true);
	}
out:
	vm_close(&a);
	vm_close(&b);	/* reinject is on: clear:PIT_REINJ */
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: guest                                                    */
/* ------------------------------------------------------------------ */

/*
 * The guest: 16-bit real mode, loaded at GPA 0x1000 (segment 0x100),
 * CS = DS = SS = 0x100, entry at offset GD_CODE, stack top at 0x100:f000.
 * The first GD_CODE bytes are a data area shared with the VMM:
 *
 *   GD_TICKS    u32  PIT interrupts handled (IRQ0 handler increments)
 *   GD_LIMIT    u16  reboot once ticks >= limit; 0: no tick limit
 *   GD_DIV      u16  PIT channel 0 divisor (1193182 / hz)
 *   GD_REQ      u8   set by the VMM: reboot now (--seconds mode)
 *   GD_METHOD   u8   reboot method: 0 port 0x64 <- 0xfe, 1 port 0xcf9 <-
 *                    0x06, 2 triple fault (lidt with limit 0, CR0.PE=1,
 *                    int3 -> #GP -> #DF -> shutdown)
 *   GD_WINDOWS  u32  cli stretches that saw IRQ0 pending in the PIC IRR
 *   GD_MISSES   u32  cli stretches that gave up polling
 *   GD_STAGE    u16  1 = running the loop, 2 = rebooting
 *   GD_NULLIDT  6 B  zero IDTR image for the triple fault
 *
 * Program:
 *   1. IVT: vectors 0x00-0x1f -> exc (out 0x501, hlt: the VMM fails the
 *      run), 0x20 -> irq0 (ticks++, EOI), 0x21-0x2f -> irqx (EOI both PICs).
 *   2. 8259: ICW1-4 for master (base 0x20) and slave (base 0x28), mask all
 *      but IRQ0, OCW3 = read IRR.
 *   3. 8254: channel 0, mode 2, divisor GD_DIV.
 *   4. loop: cli; poll the PIC IRR until IRQ0 is pending (up to 0xffff
 *      reads: every read is an in-kernel PIO exit, so KVM sees the pending
 *      ExtINT with IF=0 and opens an IRQ window -> IRQWIN set); sti; hlt
 *      (the IRQ window exit clears IRQWIN, the interrupt is delivered, the
 *      next tick wakes the hlt).  Until ticks >= limit (if limit != 0) or
 *      the VMM sets GD_REQ.
 *   5. cli, then reboot with GD_METHOD.  Ports 0x64 and 0xcf9 are not
 *      emulated by KVM, so they exit to userspace (KVM_EXIT_IO); the
 *      triple fault exits with KVM_EXIT_SHUTDOWN.
 */
#define GSEG		0x100
#define GLOAD		(GSEG << 4)
#define GMEM_SIZE	0x100000
#define GD_TICKS	0x04
#define GD_LIMIT	0x08
#define GD_DIV		0x0a
#define GD_METHOD	0x0c
#define GD_REQ		0x0d
#define GD_WINDOWS	0x10
#define GD_MISSES	0x14
#define GD_STAGE	0x18
#define GD_NULLIDT	0x20
#define GD_CODE		0x40
#define PORT_PANIC	0x501

#define __S(x) #x
#define S(x) __S(x)

extern const unsigned char guest_blob[], guest_blob_end[];

asm(
"	.pushsection .rodata.kvmdrive_guest, \"a\"\n"
"	.globl guest_blob, guest_blob_end\n"
"guest_blob:\n"
"	.ascii \"KVMD\"\n"
"	.fill " S(GD_CODE) " - 4, 1, 0\n"
"	.code16\n"
"g_entry:\n"
"	cli\n"
"	cld\n"
"	mov %cs, %ax\n"
"	mov %ax, %ds\n"
"	mov %ax, %ss\n"
"	mov $0xf000, %sp\n"
"	xor %ax, %ax\n"
"	mov %ax, %es\n"
/* IVT: 0x00-0x2f -> g_exc, then 0x20 -> g_irq0, 0x21-0x2f -> g_irqx */
"	xor %di, %di\n"
"	mov $0x30, %cx\n"
"1:	movw $(g_exc - guest_blob), %es:(%di)\n"
"	movw $" S(GSEG) ", %es:2(%di)\n"
"	add $4, %di\n"
"	loop 1b\n"
"	movw $(g_irq0 - guest_blob), %es:0x80\n"
"	mov $0x84, %di\n"
"	mov $15, %cx\n"
"2:	movw $(g_irqx - guest_blob), %es:(%di)\n"
"	add $4, %di\n"
"	loop 2b\n"
/* 8259 master/slave: ICW1 edge+ICW4, ICW2 base, ICW3 cascade, ICW4 8086 */
"	mov $0x11, %al\n"
"	out %al, $0x20\n"
"	out %al, $0xa0\n"
"	mov $0x20, %al\n"
"	out %al, $0x21\n"
"	mov $0x28, %al\n"
"	out %al, $0xa1\n"
"	mov $0x04, %al\n"
"	out %al, $0x21\n"
"	mov $0x02, %al\n"
"	out %al, $0xa1\n"
"	mov $0x01, %al\n"
"	out %al, $0x21\n"
"	out %al, $0xa1\n"
"	mov $0xfe, %al\n"		/* OCW1: only IRQ0 */
"	out %al, $0x21\n"
"	mov $0xff, %al\n"
"	out %al, $0xa1\n"
"	mov $0x0a, %al\n"		/* OCW3: reads return IRR */
"	out %al, $0x20\n"
/* 8254 channel 0, lobyte/hibyte, mode 2 (rate generator) */
"	mov $0x34, %al\n"
"	out %al, $0x43\n"
"	mov " S(GD_DIV) ", %ax\n"
"	out %al, $0x40\n"
"	mov %ah, %al\n"
"	out %al, $0x40\n"
"	movw $1, " S(GD_STAGE) "\n"
"g_loop:\n"
"	cli\n"
"	mov $0xffff, %cx\n"
"3:	in $0x20, %al\n"
"	test $1, %al\n"
"	jnz 4f\n"
"	loop 3b\n"
"	incl " S(GD_MISSES) "\n"
"	jmp 5f\n"
"4:	incl " S(GD_WINDOWS) "\n"
"5:	sti\n"
"	hlt\n"
"	cmpb $0, " S(GD_REQ) "\n"
"	jne 6f\n"
"	movzwl " S(GD_LIMIT) ", %eax\n"
"	test %eax, %eax\n"
"	jz g_loop\n"
"	cmp " S(GD_TICKS) ", %eax\n"	/* limit - ticks */
"	ja g_loop\n"
"6:\n"
/* reboot */
"	cli\n"
"	movw $2, " S(GD_STAGE) "\n"
"	movb " S(GD_METHOD) ", %al\n"
"	cmp $1, %al\n"
"	je g_cf9\n"
"	cmp $2, %al\n"
"	je g_triple\n"
"	mov $0xfe, %al\n"
"	out %al, $0x64\n"
"	jmp g_dead\n"
"g_cf9:\n"
"	mov $0xcf9, %dx\n"
"	mov $0x06, %al\n"
"	out %al, %dx\n"
"	jmp g_dead\n"
"g_triple:\n"
"	lidt " S(GD_NULLIDT) "\n"
"	mov %cr0, %eax\n"		/* PE=1: the IDT limit is checked */
"	or $1, %eax\n"
"	mov %eax, %cr0\n"
"	int3\n"
"g_dead:\n"
"	hlt\n"
"	jmp g_dead\n"
"g_irq0:\n"
"	push %ax\n"
"	incl %cs:" S(GD_TICKS) "\n"
"	mov $0x20, %al\n"
"	out %al, $0x20\n"
"	pop %ax\n"
"	iret\n"
"g_irqx:\n"
"	push %ax\n"
"	mov $0x20, %al\n"
"	out %al, $0xa0\n"
"	out %al, $0x20\n"
"	pop %ax\n"
"	iret\n"
"g_exc:\n"
"	mov $" S(PORT_PANIC) ", %dx\n"
"	mov $0xee, %al\n"
"	out %al, %dx\n"
"	jmp g_dead\n"
"	.code64\n"
"guest_blob_end:\n"
"	.popsection\n"
);

enum { M_KBD, M_CF9, M_TRIPLE, M_NR };
static const char *const method_str[] = { "kbd", "cf9", "triple" };

static volatile sig_atomic_t alarm_hits;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_hits++;
}

static uint16_t g16(const struct vm *vm, unsigned int off)
{
	uint16_t v;

	memcpy(&v, (char *)vm->mem + GLOAD + off, sizeof(v));
	return v;
}

static uint32_t g32(const struct vm *vm, unsigned int off)
{
	uint32_t v;

	memcpy(&v, (char *)vm->mem + GLOAD + off, sizeof(v));
	return v;
}

static void p16(struct vm *vm, unsigned int off, uint16_t v)
{
	memcpy((char *)vm->mem + GLOAD + off, &v, sizeof(v));
}

/* (Re)load the guest image and its parameters; clears the IVT too. */
static void guest_load(struct vm *vm, int boot)
{
	unsigned int div = 1193182 / g.hz;
	int method = g.method >= 0 ? g.method : boot % M_NR;

	memset(vm->mem, 0, GLOAD + 0x10000);
	memcpy((char *)vm->mem + GLOAD, guest_blob,
	       guest_blob_end - guest_blob);
	p16(vm, GD_LIMIT, g.boot_secs > 0 ? 0 : (uint16_t)g.ticks);
	p16(vm, GD_DIV, (uint16_t)(div > 0xffff ? 0xffff : div ? div : 1));
	((unsigned char *)vm->mem)[GLOAD + GD_METHOD] = (unsigned char)method;
}

static void seg_real(struct kvm_segment *s, uint16_t sel)
{
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
}

struct exits {
	unsigned long io, hlt, irqwin, shutdown, intr, mmio, other;
};

/*
 * Run one boot until the guest asks for a reboot (or fails / runs out of
 * time).  Returns the reboot method (M_*), or -1.
 */
static int guest_run(struct vm *vm, struct vcpu *v, int boot, double deadline,
		     struct exits *ex, const char **why)
{
	struct kvm_run *run = v->run;
	double t_req = g.boot_secs > 0 ? now() + g.boot_secs : 0;
	double t;
	int r;

	memset(ex, 0, sizeof(*ex));
	*why = "timeout";
	while ((t = now()) < deadline) {
		/* --seconds: ask the guest to reboot once its time is up */
		if (t_req && t >= t_req)
			((volatile unsigned char *)vm->mem)[GLOAD + GD_REQ] = 1;
		r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				ex->intr++;
				continue;
			}
			fprintf(stderr, "kvmdrive: boot %d: KVM_RUN: %m\n",
				boot);
			*why = "error";
			return -1;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;

			ex->io++;
			if (run->io.direction != KVM_EXIT_IO_OUT)
				break;	/* reads of unknown ports get junk */
			if (run->io.port == 0x64 && data[0] == 0xfe)
				return M_KBD;
			if (run->io.port == 0xcf9 && (data[0] & 0x04))
				return M_CF9;
			if (run->io.port == PORT_PANIC) {
				struct kvm_regs regs;

				memset(&regs, 0, sizeof(regs));
				ioctl(v->fd, KVM_GET_REGS, &regs);
				fprintf(stderr,
					"kvmdrive: boot %d: guest exception, sp=%04llx stack=%04x:%04x\n",
					boot, regs.rsp, g16(vm, regs.rsp),
					g16(vm, regs.rsp + 2));
				*why = "exception";
				return -1;
			}
			break;
		}
		case KVM_EXIT_HLT:
			ex->hlt++;
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			ex->irqwin++;
			break;
		case KVM_EXIT_SHUTDOWN:
			ex->shutdown++;
			return M_TRIPLE;
		case KVM_EXIT_INTR:
			ex->intr++;
			break;
		case KVM_EXIT_MMIO:
			ex->mmio++;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr,
				"kvmdrive: boot %d: KVM_EXIT_FAIL_ENTRY reason 0x%llx\n",
				boot, (unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
			*why = "fail_entry";
			return -1;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr,
				"kvmdrive: boot %d: KVM_EXIT_INTERNAL_ERROR suberror %u\n",
				boot, run->internal.suberror);
			*why = "internal_error";
			return -1;
		default:
			ex->other++;
			if (ex->other > 1000) {
				fprintf(stderr,
					"kvmdrive: boot %d: too many exits (last %u)\n",
					boot, run->exit_reason);
				*why = "error";
				return -1;
			}
			break;
		}
	}
	return -1;
}

/*
 * IRQWIN while the guest runs: set when KVM opens an IRQ window, cleared
 * at the window exit.  5.10 only asks when avic is on; 6.1+ always asks,
 * and drops the request when APICv is disabled.
 */
static const char *ex_irqwin(struct expect *e, const struct vm *vm)
{
	ex_init(e);
	if (!g.disabled) {
		/*
		 * 7.2+ counts IRQ windows: while another reason inhibits,
		 * the requests are absorbed by the counter and IRQWIN only
		 * moves when another request recomputes it.
		 */
		if (g.gen >= GEN_72 && (vm->pit_reinject || vm->recalc))
			ex_raw(e, "absorb", R_IRQWIN);
		else
			ex_raw(e, "flap", R_IRQWIN);
	} else if (g.gen == GEN_61 || g.gen == GEN_612) {
		/* every window asks, KVM drops; 7.2+ SVM asks only with APICv on */
		ex_raw(e, "flap-dropped", R_IRQWIN);
	}
	return ex_str(e);
}

/* After a failed boot: vCPU state to stderr, for debugging. */
static void guest_diag(struct vm *vm, struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct dirent *de;
	char path[96];
	DIR *dir;

	memset(&r, 0, sizeof(r));
	memset(&sr, 0, sizeof(sr));
	memset(&ev, 0, sizeof(ev));
	memset(&mp, 0, sizeof(mp));
	ioctl(v->fd, KVM_GET_REGS, &r);
	ioctl(v->fd, KVM_GET_SREGS, &sr);
	ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev);
	ioctl(v->fd, KVM_GET_MP_STATE, &mp);
	fprintf(stderr,
		"kvmdrive: diag: cs=%04x:%04llx (base %llx) rflags=%llx rsp=%llx cr0=%llx efer=%llx mp_state=%u exc=%u/%u/%u int=%u/%u shadow=%u\n",
		sr.cs.selector, r.rip, sr.cs.base, r.rflags, r.rsp,
		sr.cr0, sr.efer, mp.mp_state, ev.exception.injected,
		ev.exception.nr, ev.exception.has_error_code,
		ev.interrupt.injected, ev.interrupt.nr, ev.interrupt.shadow);
	/* every nonzero KVM debugfs stat of the VM */
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s", vm->key);
	dir = opendir(path);
	if (!dir)
		return;
	fprintf(stderr, "kvmdrive: diag stats:");
	while ((de = readdir(dir))) {
		long long val;

		if (de->d_name[0] == '.' || strncmp(de->d_name, "vcpu", 4) == 0)
			continue;
		val = vm_debugfs_stat(vm, de->d_name);
		if (val > 0)
			fprintf(stderr, " %s=%lld", de->d_name, val);
	}
	closedir(dir);
	fprintf(stderr, "\n");
}

static int scenario_guest(void)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_lapic_state lapic0, lapic;
	struct kvm_sregs sregs0;
	struct kvm_regs regs0;
	struct kvm_vcpu_events events;
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	struct sigaction sa;
	struct expect e;
	struct exits ex;
	unsigned long long tot_ticks = 0, tot_win = 0, tot_miss = 0;
	char extra[32];
	double t0, deadline;
	int boot, reboots = 0, rc, m = -1;
	long long irqwin_exits;
	struct vcpu *v;
	struct vm vm;
	const char *why;

	t0 = now();
	deadline = t0 + g.timeout;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_pit2(&vm))
		goto out;
	if (g.no_reinject && vm_pit_reinject(&vm, false))
		goto out;

	/* QEMU does this on every x86 VM; a no-op on SVM. */
	rc = xioctl(vm.fd, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL);
	STEP("none", &vm, -1, "set_tss_addr", "KVM_SET_TSS_ADDR", rc, true,
	     NULL);

	vm.mem_size = GMEM_SIZE;
	vm.mem = mmap(NULL, vm.mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm.mem == MAP_FAILED) {
		vm.mem = NULL;
		fprintf(stderr, "kvmdrive: mmap guest memory: %m\n");
		g.failures++;
		goto out;
	}
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm.mem_size;
	region.userspace_addr = (uintptr_t)vm.mem;
	rc = xioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &region);
	STEP("none", &vm, -1, "set_memory", "KVM_SET_USER_MEMORY_REGION", rc,
	     true, " size=0x%x", GMEM_SIZE);
	if (rc)
		goto out;

	if (vm_create_vcpu(&vm, 0))
		goto out;
	v = &vm.vcpu[0];

	rc = xioctl(v->fd, KVM_GET_LAPIC, &lapic0);
	STEP("none", &vm, v->id, "lapic_get", "KVM_GET_LAPIC", rc, true,
	     rc ? NULL : " apic_id=%u", lapic_get_id(&lapic0));
	if (rc)
		goto out;

	rc = xioctl(v->fd, KVM_GET_SREGS, &sregs0);
	if (!rc) {
		seg_real(&sregs0.cs, GSEG);
		seg_real(&sregs0.ds, GSEG);
		seg_real(&sregs0.ss, GSEG);
		seg_real(&sregs0.es, 0);
		seg_real(&sregs0.fs, 0);
		seg_real(&sregs0.gs, 0);
		rc = xioctl(v->fd, KVM_SET_SREGS, &sregs0);
	}
	STEP("none", &vm, v->id, "init_sregs", "KVM_SET_SREGS", rc, true,
	     NULL);
	if (rc)
		goto out;

	memset(&regs0, 0, sizeof(regs0));
	regs0.rip = GD_CODE;
	regs0.rsp = 0xf000;
	regs0.rflags = 0x2;
	rc = xioctl(v->fd, KVM_SET_REGS, &regs0);
	STEP("none", &vm, v->id, "init_regs", "KVM_SET_REGS", rc, true, NULL);
	if (rc)
		goto out;

	/* Kick KVM_RUN out every 50 ms so the deadline is always checked. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;	/* KVM_RUN still returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);

	for (boot = 0; ; boot++) {
		double tb = now();
		uint32_t ticks, win, miss;

		if (boot == 0)
			guest_load(&vm, boot);
		m = guest_run(&vm, v, boot, deadline, &ex, &why);
		if (m >= 0)
			why = method_str[m];
		ticks = g32(&vm, GD_TICKS);
		win = g32(&vm, GD_WINDOWS);
		miss = g32(&vm, GD_MISSES);
		tot_ticks += ticks;
		tot_win += win;
		tot_miss += miss;

		ex_irqwin(&e, &vm);
		STEP(ex_str(&e), &vm, v->id, "run", "KVM_RUN",
		     m >= 0 ? 0 : strcmp(why, "timeout") ? -EIO : -ETIME, true,
		     " boot=%d exit=%s ticks=%u windows=%u misses=%u stage=%u secs=%.2f",
		     boot, why, ticks, win, miss, g16(&vm, GD_STAGE),
		     now() - tb);
		printf("EXITS vm=%s vcpu=%d boot=%d io=%lu hlt=%lu irq_window_open=%lu shutdown=%lu intr=%lu mmio=%lu other=%lu\n",
		       vm.key, v->id, boot, ex.io, ex.hlt, ex.irqwin,
		       ex.shutdown, ex.intr, ex.mmio, ex.other);
		if (m < 0)
			guest_diag(&vm, v);
		if (m < 0 || reboots >= g.reboots)
			break;

		/* Reboot the way QEMU resets an x86 vCPU. */
		reboots++;
		guest_load(&vm, boot + 1);
		rc = xioctl(v->fd, KVM_SET_REGS, &regs0);
		STEP("none", &vm, v->id, "reset_regs", "KVM_SET_REGS", rc,
		     true, " reboot=%d", reboots);
		if (m == M_TRIPLE) {
			/*
			 * After a SHUTDOWN intercept KVM clears the VMCB and
			 * INITs the vCPU, but reloads the MMU only if CR0.PG
			 * was set, so the cleared nested CR3 is never written
			 * back and a real-mode guest loops on NPFs (seen on
			 * 6.1 under TCG).  A CR0 change (WP, which does
			 * nothing with PG=0) forces kvm_mmu_reset_context().
			 */
			struct kvm_sregs sr = sregs0;

			sr.cr0 ^= 1ULL << 16;
			rc = xioctl(v->fd, KVM_SET_SREGS, &sr);
			STEP("none", &vm, v->id, "reset_sregs_mmu",
			     "KVM_SET_SREGS", rc, true, " reboot=%d", reboots);
		}
		rc = xioctl(v->fd, KVM_SET_SREGS, &sregs0);
		STEP("none", &vm, v->id, "reset_sregs", "KVM_SET_SREGS", rc,
		     true, " reboot=%d", reboots);
		memset(&events, 0, sizeof(events));
		rc = xioctl(v->fd, KVM_SET_VCPU_EVENTS, &events);
		STEP("none", &vm, v->id, "reset_events", "KVM_SET_VCPU_EVENTS",
		     rc, true, " reboot=%d", reboots);

		/*
		 * The bad ID inhibits (6.1: for good); 6.12+ clear it when
		 * the good one is written back at the next reboot.
		 */
		lapic = lapic0;
		if (g.bad_apic_reboot == reboots)
			lapic_set_id(&lapic, (uint8_t)(v->id + 1));
		snprintf(extra, sizeof(extra), " reboot=%d", reboots);
		vcpu_set_lapic(&vm, v, &lapic, "reset_lapic", extra);
	}

	it.it_value.tv_sec = it.it_value.tv_usec = 0;
	it.it_interval = it.it_value;
	setitimer(ITIMER_REAL, &it, NULL);

	irqwin_exits = vm_debugfs_stat(&vm, "irq_window_exits");
	if (irqwin_exits >= 0)
		printf("SUMMARY vm=%s boots=%d reboots=%d ticks=%llu windows=%llu misses=%llu irq_window_exits=%lld secs=%.2f\n",
		       vm.key, boot + 1, reboots, tot_ticks, tot_win,
		       tot_miss, irqwin_exits, now() - t0);
	else
		printf("SUMMARY vm=%s boots=%d reboots=%d ticks=%llu windows=%llu misses=%llu irq_window_exits=- secs=%.2f\n",
		       vm.key, boot + 1, reboots, tot_ticks, tot_win,
		       tot_miss, now() - t0);
	if (m >= 0 && reboots < g.reboots) {
		fprintf(stderr, "kvmdrive: only %d of %d reboots\n", reboots,
			g.reboots);
		g.failures++;
	}
	if (!tot_win) {
		fprintf(stderr, "kvmdrive: the guest never had an interrupt pending with IF=0 (no IRQ window)\n");
		g.failures++;
	}
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* btf-enum: an enum of the running kernel, from its BTF              */
/* ------------------------------------------------------------------ */

/*
 * "kvmdrive btf-enum NAME" prints the constants of enum NAME as the
 * running kernel's own debug info (/sys/kernel/btf: kvm's split BTF on top
 * of vmlinux's) has them, so a checker can hold any table of names by bit
 * against the kernel itself:
 *   BTFENUM name=<NAME> in=<kvm|vmlinux> values=<n>
 *   BTFVAL name=<CONSTANT> value=<v>      (one per constant)
 * Exit 1 if there is no such enum (5.10: #defines only) or no BTF.
 */
struct btf_blob {
	unsigned char *data;
	size_t size;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

static int btf_load(const char *path, struct btf_blob *b)
{
	size_t cap = 1 << 20;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	memset(b, 0, sizeof(*b));
	if (fd < 0)
		return -errno;
	b->data = malloc(cap);
	while (b->data && (n = read(fd, b->data + b->size, cap - b->size)) > 0) {
		b->size += n;
		if (b->size == cap)
			b->data = realloc(b->data, cap *= 2);
	}
	close(fd);
	if (!b->data || b->size < 24 || b->data[0] != 0x9f || b->data[1] != 0xeb)
		return -EINVAL;
	memcpy(&b->hdr_len, b->data + 4, 4);
	memcpy(&b->type_off, b->data + 8, 4);
	memcpy(&b->type_len, b->data + 12, 4);
	memcpy(&b->str_off, b->data + 16, 4);
	memcpy(&b->str_len, b->data + 20, 4);
	if ((size_t)b->hdr_len + b->type_off + b->type_len > b->size ||
	    (size_t)b->hdr_len + b->str_off + b->str_len > b->size)
		return -EINVAL;
	return 0;
}

/* String @off of a split BTF (@base: vmlinux, or NULL for vmlinux itself). */
static const char *btf_str(const struct btf_blob *b, const struct btf_blob *base,
			   uint32_t off)
{
	if (base) {
		if (off < base->str_len)
			return btf_str(base, NULL, off);
		off -= base->str_len;
	}
	if (off >= b->str_len)
		return "?";
	return (const char *)b->data + b->hdr_len + b->str_off + off;
}

/* Print enum @name if @b defines it; 1 found, 0 not, -1 unparsable. */
static int btf_find_enum(const struct btf_blob *b, const struct btf_blob *base,
			 const char *name, const char *where)
{
	const unsigned char *t = b->data + b->hdr_len + b->type_off;
	const unsigned char *end = t + b->type_len;

	while (t + 12 <= end) {
		uint32_t name_off, info, kind, vlen, i;
		size_t extra;

		memcpy(&name_off, t, 4);
		memcpy(&info, t + 4, 4);
		kind = (info >> 24) & 0x1f;
		vlen = info & 0xffff;
		switch (kind) {
		case 2: case 7: case 8: case 9: case 10: case 11: case 12:
		case 16: case 18:
			extra = 0;
			break;
		case 1: case 14: case 17:
			extra = 4;
			break;
		case 3:
			extra = 12;
			break;
		case 4: case 5: case 15:
			extra = 12 * (size_t)vlen;
			break;
		case 6: case 13:
			extra = 8 * (size_t)vlen;
			break;
		case 19:
			extra = 12 * (size_t)vlen;
			break;
		default:
			fprintf(stderr, "kvmdrive: %s BTF: unknown kind %u\n",
				where, kind);
			return -1;
		}
		if ((kind == 6 || kind == 19) &&
		    !strcmp(btf_str(b, base, name_off), name)) {
			printf("BTFENUM name=%s in=%s values=%u\n", name, where,
			       vlen);
			for (i = 0; i < vlen; i++) {
				const unsigned char *v = t + 12 +
					i * (kind == 6 ? 8 : 12);
				uint32_t voff, lo, hi = 0;
				int32_t sv;

				memcpy(&voff, v, 4);
				memcpy(&lo, v + 4, 4);
				if (kind == 19)
					memcpy(&hi, v + 8, 4);
				memcpy(&sv, &lo, 4);
				if (kind == 6)
					printf("BTFVAL name=%s value=%d\n",
					       btf_str(b, base, voff), sv);
				else
					printf("BTFVAL name=%s value=%llu\n",
					       btf_str(b, base, voff),
					       ((unsigned long long)hi << 32) | lo);
			}
			return 1;
		}
		t += 12 + extra;
	}
	return 0;
}

static int btf_enum(const char *name)
{
	struct btf_blob vmlinux, kvm;
	int r;

	if (btf_load("/sys/kernel/btf/vmlinux", &vmlinux)) {
		fprintf(stderr, "kvmdrive: /sys/kernel/btf/vmlinux unreadable\n");
		return 1;
	}
	r = btf_load("/sys/kernel/btf/kvm", &kvm) ? 0 :
	    btf_find_enum(&kvm, &vmlinux, name, "kvm");
	if (r == 0)
		r = btf_find_enum(&vmlinux, NULL, name, "vmlinux");
	if (r <= 0)
		fprintf(stderr, "kvmdrive: enum %s not in the kernel's BTF\n", name);
	return r == 1 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* main                                                               */
/* ------------------------------------------------------------------ */

static enum gen gen_from_version(int maj, int min)
{
	int v = maj * 100 + min;

	if (v >= 702)
		return GEN_72;
	if (v >= 603)
		return GEN_612;
	if (v >= 516)
		return GEN_61;
	return GEN_510;
}

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

/* ------------------------------------------------------------------ */
/* Scenario: churn (make stress)                                      */
/* ------------------------------------------------------------------ */

/*
 * churn: VMs created and destroyed in a loop for --seconds, one at a time
 * per process, each by a fresh thread, so that every thread id belongs to
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

static long long boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

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
	if (kfd < 0 || (g.pause_file && path_exists(g.pause_file))) {
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

static int scenario_churn(void)
{
	double end = now() + g.seconds;
	unsigned int made = 0, failed = 0, k = 0;
	long long paused_ns = 0, t;
	bool blockirq;
	int kfd, r;

	/* BLOCKIRQ support, asked once (5.10 has none): nothing kept open */
	kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kfd < 0) {
		fprintf(stderr, "kvmdrive: /dev/kvm: %m\n");
		g.failures++;
		return -1;
	}
	g.kvm_fd = kfd;
	blockirq = blockirq_supported();
	g.kvm_fd = -1;
	close(kfd);
	while (now() < end) {
		struct churn_vm c = { 0 };
		pthread_t th;

		if (g.pause_file && path_exists(g.pause_file)) {
			t = boot_ns();
			usleep(20000);
			paused_ns += boot_ns() - t;
			continue;
		}
		/* vary the recipe from VM to VM */
		c.index = k++;
		c.nvcpu = 1 + c.index % g.churn_vcpus;
		c.pit_rounds = 1 + c.index % g.toggles;
		c.bi_rounds = blockirq ? 1 + (c.index / 2) % g.toggles : 0;
		r = pthread_create(&th, NULL, churn_vm_fn, &c);
		if (r) {
			fprintf(stderr, "kvmdrive: pthread_create: %s\n", strerror(r));
			g.failures++;
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
			fprintf(stderr, "kvmdrive: churn VM %u: %s: %s\n", c.index,
				c.err, strerror(-c.rc));
			failed++;
			g.failures++;
		}
		made++;
	}
	printf("CHURNDONE vms=%u failed=%u paused_ms=%lld\n", made, failed,
	       paused_ns / 1000000);
	return 0;
}

/* ------------------------------------------------------------------ */
/* follow readers and snapshots (make stress)                         */
/* ------------------------------------------------------------------ */

/*
 * kvmdrive follow FILE MODE STOP GATE [BYTES [INTERVAL_MS]]
 *   A reader of apicv_trace's follow stream that lives through module
 *   unloads: while GATE exists it keeps the file closed (an open follow
 *   pins the module), otherwise it opens FILE (retrying while it does
 *   not exist) and reads until GATE or STOP appears.  MODE:
 *     block  blocking read(); an interval timer (SIGALRM every 100 ms,
 *            no SA_RESTART, in every mode) interrupts it to look at
 *            the files
 *     poll   O_NONBLOCK + poll() with a 100 ms timeout
 *     slow   BYTES bytes per read, INTERVAL_MS between reads (a slow
 *            reader, told by "lost=" lines what it missed)
 *   Every line must be whole and well-formed ("seq=... site=..." or
 *   "lost=N"), and no kernel address may appear.  At the end:
 *   FOLLOW mode=<m> opens=<n> lines=<n> lost_lines=<n> lost=<n>
 *          bytes=<n> eintr=<n> eagain=<n> bad=<n> [first_bad=<line>]
 *   exit 0 iff bad == 0 and no unexpected error.
 */
static volatile sig_atomic_t follow_ticks;

static void on_follow_tick(int sig)
{
	(void)sig;
	follow_ticks++;
}

struct follow_stats {
	unsigned long long opens, lines, lost_lines, lost, bytes, eintr, eagain, bad;
	char first_bad[160];
};

static bool kptr_in(const char *s)
{
	const char *p;

	/* 0xffff... or ffff + 12 hex digits: a kernel address */
	for (p = strstr(s, "ffff"); p; p = strstr(p + 1, "ffff")) {
		int n = 0;

		while (n < 16 && ((p[n] >= '0' && p[n] <= '9') ||
				  (p[n] >= 'a' && p[n] <= 'f')))
			n++;
		if (n == 16)
			return true;
	}
	return false;
}

static void follow_line(struct follow_stats *st, const char *l)
{
	unsigned long long n;
	bool ok;

	if (!strncmp(l, "lost=", 5)) {
		ok = sscanf(l, "lost=%llu", &n) == 1 && n > 0;
		if (ok) {
			st->lost_lines++;
			st->lost += n;
		}
	} else {
		ok = !strncmp(l, "seq=", 4) && strstr(l, " ns=") &&
		     strstr(l, " vm=") && strstr(l, " event=") &&
		     strstr(l, " site=") && !kptr_in(l);
		st->lines += ok;
	}
	if (!ok && !st->bad++)
		snprintf(st->first_bad, sizeof(st->first_bad), "%.150s", l);
}

static int follow_main(int argc, char **argv)
{
	const char *file, *mode, *stop, *gate;
	static char line[4096];
	size_t llen = 0;
	struct follow_stats st = { 0 };
	int chunk = 4096, interval = 0, fd = -1, rc = 0;
	char buf[4096];
	struct sigaction sa = { .sa_handler = on_follow_tick };
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };

	if (argc < 6)
		return 2;
	file = argv[2];
	mode = argv[3];
	stop = argv[4];
	gate = argv[5];
	if (!strcmp(mode, "slow")) {
		chunk = argc > 6 ? atoi(argv[6]) : 5;
		interval = argc > 7 ? atoi(argv[7]) : 1000;
		if (chunk < 1 || chunk > (int)sizeof(buf) || interval < 0)
			return 2;
	} else if (strcmp(mode, "block") && strcmp(mode, "poll")) {
		return 2;
	}
	/*
	 * Every mode's reads block when nothing comes (poll's only in
	 * poll()): a timer interrupts them so the reader sees GATE in time.
	 */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: EINTR */
	setitimer(ITIMER_REAL, &it, NULL);
	while (!path_exists(stop)) {
		ssize_t n;

		if (path_exists(gate)) {
			if (fd >= 0) {
				close(fd);
				fd = -1;
				llen = 0;	/* a new open starts afresh */
			}
			usleep(20000);
			continue;
		}
		if (fd < 0) {
			fd = open(file, O_RDONLY | (strcmp(mode, "poll") ? 0 : O_NONBLOCK));
			if (fd < 0) {
				if (errno != ENOENT && errno != EINTR) {
					fprintf(stderr, "kvmdrive: follow: open %s: %m\n", file);
					rc = 1;
				}
				usleep(20000);
				continue;
			}
			st.opens++;
		}
		if (!strcmp(mode, "poll")) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 100) <= 0)
				continue;
		}
		n = read(fd, buf, chunk);
		if (n < 0) {
			if (errno == EINTR) {
				st.eintr++;
			} else if (errno == EAGAIN) {
				st.eagain++;
			} else {
				fprintf(stderr, "kvmdrive: follow: read: %m\n");
				rc = 1;
				close(fd);
				fd = -1;
			}
			continue;
		}
		if (n == 0) {	/* only at module exit, which our open prevents */
			fprintf(stderr, "kvmdrive: follow: unexpected EOF\n");
			rc = 1;
			close(fd);
			fd = -1;
			continue;
		}
		st.bytes += n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[llen] = '\0';
				follow_line(&st, line);
				llen = 0;
			} else if (llen < sizeof(line) - 1) {
				line[llen++] = buf[i];
			} else if (!st.bad++) {
				snprintf(st.first_bad, sizeof(st.first_bad), "line too long");
			}
		}
		if (interval)
			usleep(interval * 1000);
	}
	if (fd >= 0)
		close(fd);
	printf("FOLLOW mode=%s opens=%llu lines=%llu lost_lines=%llu lost=%llu bytes=%llu eintr=%llu eagain=%llu bad=%llu%s%s\n",
	       mode, st.opens, st.lines, st.lost_lines, st.lost, st.bytes,
	       st.eintr, st.eagain, st.bad, st.bad ? " first_bad=" : "",
	       st.bad ? st.first_bad : "");
	return rc || st.bad ? 1 : 0;
}

/* Copy one file into @out as a section "=== name\n"; -1 if it fails. */
static int snap_file(FILE *out, const char *dir, const char *name)
{
	char p[512], buf[65536];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	fprintf(out, "=== %s\n", name);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	close(fd);
	return n < 0 ? -1 : 0;
}

/*
 * kvmdrive snapshot DIR OUT: every file of apicv_trace's debugfs DIR
 * (status, reasons, vms, events, vm/<key>/{state,events}) into OUT, one
 * "=== <path>" section each: one process for what would be thousands of
 * cat(1) under TCG.  Exit 1 if a top-level file cannot be read; a VM
 * directory that the module removes meanwhile is skipped.
 */
static int snapshot_main(const char *dir, const char *outp)
{
	static const char *const top[] = { "status", "reasons", "vms", "events" };
	char sub[512], name[600];
	struct dirent *de;
	unsigned int i, vms = 0;
	FILE *out;
	DIR *d;
	int rc = 0;

	out = fopen(outp, "w");
	if (!out)
		return 1;
	for (i = 0; i < ARRAY_SIZE(top); i++)
		if (snap_file(out, dir, top[i]))
			rc = 1;
	snprintf(sub, sizeof(sub), "%s/vm", dir);
	d = opendir(sub);
	if (!d) {
		rc = 1;
	} else {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(name, sizeof(name), "vm/%s/state", de->d_name);
			if (snap_file(out, dir, name))
				continue;
			snprintf(name, sizeof(name), "vm/%s/events", de->d_name);
			snap_file(out, dir, name);
			vms++;
		}
		closedir(d);
	}
	fprintf(out, "=== end vms=%u\n", vms);
	if (fclose(out))
		rc = 1;
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmdrive SCENARIO [options]\n"
"scenarios: basic, avic0 (= basic --expect-disabled), twovms, seedpatch, guest,\n"
"           aliases, toobig, flood, churn\n"
"       kvmdrive btf-enum NAME   the running kernel's enum NAME, from BTF\n"
"       kvmdrive now             CLOCK_BOOTTIME in ns (apicv_trace's clock)\n"
"       kvmdrive snapshot DIR OUT  every apicv_trace file into OUT\n"
"       kvmdrive follow FILE block|poll|slow STOP GATE [BYTES [MS]]\n"
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
"flood options:\n"
"  --toggles N                PIT reinject off/on rounds (default 100)\n"
"  --interval-ms MS           pause after each round (default 0)\n"
"churn options (make stress; see scenario_churn):\n"
"  --seconds S                create and destroy VMs for S seconds\n"
"  --vcpus N                  vCPUs per VM cycle 1..N (default 2, at most 8)\n"
"  --toggles N                BLOCKIRQ / PIT reinject rounds cycle 1..N\n"
"  --pause-file P             no VM (and /dev/kvm closed) while P exists\n");
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
		{ "pause-file", required_argument, NULL, 'P' },
		{ "vcpus", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kver = NULL;
	char avic[16];
	struct utsname uts;
	int maj = 0, min = 0, c, i;
	unsigned int b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "btf-enum"))
		return btf_enum(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "now")) {
		long long t = boot_ns();

		printf("%lld.%09lld\n", t / 1000000000LL, t % 1000000000LL);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "snapshot"))
		return snapshot_main(argv[2], argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "follow")) {
		int r = follow_main(argc, argv);

		if (r == 2)
			usage(stderr);
		return r;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			g.disabled = true;
			break;
		case 'k':
			kver = optarg;
			break;
		case 'r':
			g.reboots = atoi(optarg);
			break;
		case 's':
			g.seconds = atof(optarg);
			break;
		case 'T':
			g.timeout = atof(optarg);
			break;
		case 't':
			g.ticks = (unsigned int)atoi(optarg);
			break;
		case 'z':
			g.hz = (unsigned int)atoi(optarg);
			break;
		case 'm':
			for (i = 0; i < M_NR; i++)
				if (!strcmp(optarg, method_str[i]))
					break;
			if (i == M_NR && strcmp(optarg, "cycle")) {
				usage(stderr);
				return 2;
			}
			g.method = i == M_NR ? -1 : i;
			break;
		case 'b':
			g.bad_apic_reboot = atoi(optarg);
			break;
		case 'n':
			g.no_reinject = true;
			break;
		case 'g':
			g.toggles = atoi(optarg);
			break;
		case 'i':
			g.interval_ms = atoi(optarg);
			break;
		case 'P':
			g.pause_file = optarg;
			break;
		case 'V':
			g.churn_vcpus = atoi(optarg);
			break;
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
	g.scenario = argv[optind];
	if (!strcmp(g.scenario, "btf-enum"))
		return 2;	/* takes the enum's name: see below */
	if (!strcmp(g.scenario, "avic0"))
		g.disabled = true;
	if (g.seconds > 0)
		g.boot_secs = g.seconds / (g.reboots + 1);
	if (g.timeout <= 0)
		g.timeout = g.seconds > 0 ? g.seconds + 60 : 60;
	if (g.reboots < 0 || g.seconds < 0 || !g.ticks || g.ticks > 0xffff ||
	    g.toggles < 0 || g.interval_ms < 0 ||
	    g.churn_vcpus < 1 || g.churn_vcpus > CHURN_MAX_VCPUS ||
	    (!strcmp(g.scenario, "churn") && (g.toggles < 1 || g.seconds <= 0)) ||
	    g.hz < 19 || g.hz > 1193182) {
		fprintf(stderr, "kvmdrive: bad option value\n");
		return 2;
	}

	uname(&uts);
	snprintf(g.kernel, sizeof(g.kernel), "%s", uts.release);
	if (sscanf(kver ? kver : uts.release, "%d.%d", &maj, &min) != 2) {
		fprintf(stderr, "kvmdrive: cannot parse kernel version '%s'\n",
			kver ? kver : uts.release);
		return 2;
	}
	g.gen = gen_from_version(maj, min);
	read_avic_param(avic, sizeof(avic));

	printf("KVDRIVE version=1 scenario=%s kernel=%s gen=%s apicv=%s avic_param=%s reasons=",
	       g.scenario, g.kernel, gen_str[g.gen], g.disabled ? "off" : "on",
	       avic);
	for (b = 0; b < gen_tbl[g.gen].nr; b++)
		printf("%s%s", b ? "," : "", gen_tbl[g.gen].names[b]);
	printf("\n");

	if (!g.disabled && (!strcmp(avic, "N") || !strcmp(avic, "0")))
		fprintf(stderr, "kvmdrive: note: kvm_amd avic=%s but --expect-disabled not given\n",
			avic);

	/* churn opens /dev/kvm per VM, so that kvm can be reloaded meanwhile */
	if (!strcmp(g.scenario, "churn")) {
		scenario_churn();
		goto done;
	}
	g.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g.kvm_fd < 0) {
		fprintf(stderr, "kvmdrive: /dev/kvm: %m\n");
		g.failures++;
	} else if (!strcmp(g.scenario, "basic") ||
		   !strcmp(g.scenario, "avic0")) {
		scenario_basic();
	} else if (!strcmp(g.scenario, "twovms")) {
		scenario_twovms();
	} else if (!strcmp(g.scenario, "seedpatch")) {
		scenario_seedpatch();
	} else if (!strcmp(g.scenario, "guest")) {
		scenario_guest();
	} else if (!strcmp(g.scenario, "aliases")) {
		scenario_aliases();
	} else if (!strcmp(g.scenario, "toobig")) {
		scenario_toobig();
	} else if (!strcmp(g.scenario, "flood")) {
		scenario_flood();
	} else {
		usage(stderr);
		return 2;
	}

done:
	printf("DONE scenario=%s result=%s steps=%d failures=%d\n",
	       g.scenario, g.failures ? "fail" : "ok", g.steps, g.failures);
	return g.failures ? 1 : 0;
}
