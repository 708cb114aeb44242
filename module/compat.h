/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one seam between apicv-trace and KVM internals that change between
 * kernel releases. Everything that depends on the kernel version lives here:
 * which functions carry the inhibit logic and how their arguments are read
 * (through regs_get_kernel_argument()), the reason bit names, the fields
 * read from struct kvm, and the IBT (ENDBR64) fix-up of a function address
 * resolved for an indirect call (compat.c).
 *
 * What the headers of the target kernel declare is found by feature
 * probes at build time (conftest.sh into at_features.h; reasons.h turns
 * it into names); which function carries each hook role, and so how its
 * arguments are read, is decided when kvm loads, from the functions the
 * running kvm has (reasons.h candidates, probes.c). LINUX_VERSION_CODE is
 * used only where no probe can tell (the 7.3 names, reasons.h). The
 * kernels and what each has: docs/kernels.md, "Per-kernel table".
 */
#ifndef APICV_TRACE_COMPAT_H
#define APICV_TRACE_COMPAT_H

#include <linux/version.h>
#include <linux/kvm_host.h>
#include <linux/dcache.h>
#include <linux/refcount.h>
#include <linux/ptrace.h>
#include <linux/uaccess.h>
#include <linux/mm.h>
#include <linux/sched/task_stack.h>
#include <linux/string.h>

#include "reasons.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 10, 0)
#error "apicv-trace supports Linux 5.10 and later"
#endif

/* dkms.conf refuses such kernels too; older dkms (bullseye's) does not */
#if !IS_ENABLED(CONFIG_KPROBES) || !IS_ENABLED(CONFIG_KRETPROBES) || \
	!IS_ENABLED(CONFIG_DEBUG_FS) || !IS_ENABLED(CONFIG_KVM) || \
	!IS_ENABLED(CONFIG_X86_64)
#error "apicv-trace needs an x86_64 kernel with CONFIG_KPROBES, CONFIG_KRETPROBES, CONFIG_DEBUG_FS and CONFIG_KVM"
#endif

/*
 * A local the code fills completely, kept out of CONFIG_INIT_STACK_ALL_*
 * zeroing; kernels whose compiler_attributes.h lacks the name zero it.
 */
#ifndef __uninitialized
#define __uninitialized
#endif

/* ------------------------------------------------------------------ */
/* Reason names for the running kernel.                               */
/* ------------------------------------------------------------------ */

#define AT_MAX_BITS 16		/* room for future reasons; mask is a ulong */
#define AT_NAME_LEN 24

/*
 * Where the names come from, first that names a bit wins (compat.c;
 * docs/kernels.md, "Reasons: names and numbers"): the running kvm's
 * kvm_apicv_inhibit_changed tracepoint format (6.11+ print the names),
 * the build headers (reasons.h: #defines, enum kvm_apicv_inhibit or the
 * APICV_INHIBIT_REASONS list, found by conftest.sh; 7.3's versioned
 * table), and last the reason_names= parameter ("apicv-trace names
 * --apply" writes kvm's BTF names there), which only fills bits nothing
 * else names. Bits nobody names print as reason=unknown.
 */
struct at_reasons {
	const char *from;			/* for status */
	const char *name[AT_MAX_BITS];		/* in use; NULL: unknown */
	char kernel[AT_MAX_BITS][AT_NAME_LEN];	/* from the running kvm */
	char param[AT_MAX_BITS][AT_NAME_LEN];	/* reason_names= */
	bool kernel_read;			/* the tracepoint format had names */
	bool kernel_differs;			/* ...and contradict the table */
	bool hyperv_sticky;			/* only SynIC sets it (up to 5.14) */
	unsigned long sticky;			/* never cleared once set */
	unsigned long svm_honoured, vmx_honoured; /* vendor filters */
	unsigned int disable_bit, irqwin_bit,	/* AT_NO_BIT if unknown */
		     apic_id_bit, phys_alias_bit;
	unsigned long apic_map_bits;		/* decided by the APIC map */
};
extern struct at_reasons at_reasons;

void at_reasons_init(void);		/* module init: the built-in table */
void at_reasons_from_kernel(void);	/* kvm is live: read its names */
/* the setter found at arm time: its layout tells HYPERV's stickiness */
void at_reasons_setter(const struct at_cand *setter);
int at_reason_bit(const char *name);	/* -1 when this kernel lacks it */

static __always_inline const char *at_reason_name(unsigned int bit)
{
	const char *n = bit < AT_MAX_BITS ? READ_ONCE(at_reasons.name[bit]) : NULL;

	return n ?: "unknown";
}

/* An AMD (or Hygon) host: kvm-amd and AVIC, else kvm-intel and APICv. */
static __always_inline bool at_host_amd(void)
{
	return boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	       boot_cpu_data.x86_vendor == X86_VENDOR_HYGON;
}

/*
 * The reasons this host's vendor module honours (the static filter KVM
 * applies before the setter changes anything).
 */
static __always_inline unsigned long at_vendor_honoured(void)
{
	return at_host_amd() ? READ_ONCE(at_reasons.svm_honoured) :
			       READ_ONCE(at_reasons.vmx_honoured);
}

/* Is reason @bit honoured? Bits beyond the table are taken as honoured. */
static __always_inline bool at_vendor_honours(unsigned int bit)
{
	return bit >= AT_MAX_BITS || (at_vendor_honoured() & BIT(bit));
}

/* Build-time canary: break the build if a name we rely on moves. */
void at_compat_canary(void);

/* ------------------------------------------------------------------ */
/* Hooked functions.                                                  */
/* ------------------------------------------------------------------ */

/*
 * Why each is hooked: docs/kernels.md, "Setters" and "Who sets each
 * reason"; which symbols Debian's builds have: "Symbols in Debian's builds".
 */

/*
 * Roles with more than one candidate function (reasons.h): the setter,
 * the request wrapper and the APIC base write. The candidates of @role.
 */
enum at_cand_role { AT_CR_SETTER, AT_CR_REQUEST, AT_CR_APIC_BASE };
const struct at_cand *at_cands(enum at_cand_role role, unsigned int *n);

/*
 * void kvm_apicv_init(struct kvm *kvm[, bool enable]): sets DISABLE
 * directly, without the setter, in the kernels whose setter takes
 * (activate, bit); static from 5.14, so usually inlined there. Only the
 * first argument is read.
 */
#define AT_SYM_INIT_REASONS	"kvm_apicv_init"

/*
 * static void kvm_lapic_xapic_id_updated(struct kvm_lapic *apic) (5.19 to
 * 6.2): sets APIC_ID_MODIFIED for good when a vCPU's xAPIC ID differs.
 */
#define AT_SYM_XAPIC_ID		"kvm_lapic_xapic_id_updated"

/*
 * void kvm_recalculate_apic_map(struct kvm *kvm): from 6.3 re-decides
 * PHYSICAL_ID_ALIASED, LOGICAL_ID_ALIASED and APIC_ID_MODIFIED on every
 * map rebuild (kvm_recalculate_phys_map is inlined). It exists in every
 * release; hooked only where PHYSICAL_ID_ALIASED exists.
 */
#define AT_SYM_APIC_MAP		"kvm_recalculate_apic_map"

/*
 * void kvm_inc_or_dec_irq_window_inhibit(struct kvm *kvm, bool inc) (7.1+):
 * IRQWIN is a counter; the setter is called only when it crosses zero
 * while no other inhibit is set, and recomputes IRQWIN on every call.
 * Optional: before 7.1 IRQWIN goes through the setter like the others.
 */
#define AT_SYM_IRQ_WINDOW	"kvm_inc_or_dec_irq_window_inhibit"

/* int kvm_arch_init_vm(struct kvm *, unsigned long type) */
#define AT_SYM_INIT_VM		"kvm_arch_init_vm"
/* void kvm_arch_destroy_vm(struct kvm *) */
#define AT_SYM_DESTROY_VM	"kvm_arch_destroy_vm"
/* void kvm_arch_vcpu_postcreate(struct kvm_vcpu *) */
#define AT_SYM_VCPU_CREATED	"kvm_arch_vcpu_postcreate"
/*
 * int (void from 6.9) kvm_arch_create_vm_debugfs(struct kvm *), called right
 * after KVM created the VM's debugfs directory (x86 from 5.15): the VM's
 * key, before any other event of the VM. Optional: without it (5.10) the
 * key is learnt at the first vCPU.
 */
#define AT_SYM_VM_DEBUGFS	"kvm_arch_create_vm_debugfs"
/*
 * VMM state restores, recorded as markers (a guest reboot or a restore
 * shows as a boundary in the event stream):
 * int kvm_apic_set_state(struct kvm_vcpu *, struct kvm_lapic_state *s),
 * KVM_SET_LAPIC, in every release; and the host writing the APIC base MSR
 * (KVM_SET_SREGS, KVM_SET_MSRS), candidates at_cands_apic_base (reasons.h).
 */
#define AT_SYM_SET_LAPIC	"kvm_apic_set_state"

/*
 * struct kvm_vcpu *kvm_get_running_vcpu(void), resolved, never linked: 7.x
 * exports it to kvm-amd and kvm-intel only (docs/kernels.md, "Finding the
 * VM and vCPU").
 */
#define AT_SYM_RUNNING_VCPU	"kvm_get_running_vcpu"
typedef struct kvm_vcpu *(*at_running_vcpu_fn)(void);

/*
 * The address an indirect call to the function at @addr must use: on IBT
 * kernels kprobes reports the address past the function's ENDBR64, and an
 * indirect call must land on the ENDBR (compat.c).
 */
void *at_call_address(void *addr);

/* ------------------------------------------------------------------ */
/* Their arguments, read at function entry.                          */
/* ------------------------------------------------------------------ */

/* Argument @n (0-based) of the probed function, by the calling convention. */
static __always_inline unsigned long at_arg(struct pt_regs *regs,
					    unsigned int n)
{
	return regs_get_kernel_argument(regs, n);
}

/*
 * The return address at function entry: who called the hooked function,
 * the word at the probed function's stack pointer. It is read directly
 * only when it lies within the current task's stack (the check
 * regs_get_kernel_stack_nth() makes), which is always mapped; that
 * function would also copy it through copy_from_kernel_nofault(), an
 * out-of-line call on every event. On any other stack (an IRQ stack)
 * the site is unknown: 0.
 */
static __always_inline unsigned long at_caller(struct pt_regs *regs)
{
	unsigned long *sp = (unsigned long *)kernel_stack_pointer(regs);

	if (!regs_within_kernel_stack(regs, (unsigned long)sp))
		return 0;
	return READ_ONCE(*sp);
}

/*
 * The first argument of the functions that take the VM, the vCPU or the
 * local APIC (kvm_lapic_xapic_id_updated(struct kvm_lapic *): private to
 * KVM, so an opaque pointer) first.
 */
#define at_kvm_arg(regs)	((struct kvm *)at_arg(regs, 0))
#define at_vcpu_arg(regs)	((struct kvm_vcpu *)at_arg(regs, 0))
#define at_apic_arg(regs)	((const void *)at_arg(regs, 0))

/*
 * The setter's and the request wrapper's arguments, from argument @first
 * on, as @layout (the candidate found, reasons.h) passes them. A test
 * build (AT_TEST_FAULTS, module/Kbuild) loaded with test_fault=layout
 * reads the setter's one register late, as a clone that dropped its first
 * argument would pass them: the setter's probation (hooks.c) must refuse
 * it.
 */
#ifdef AT_TEST_FAULTS
enum { AT_FAULT_NONE, AT_FAULT_LAYOUT, AT_FAULT_NAMES };
extern int at_test_fault;
#define AT_SETTER_FIRST_ARG	(READ_ONCE(at_test_fault) == AT_FAULT_LAYOUT)
#else
#define AT_SETTER_FIRST_ARG	0
#endif

static __always_inline void at_kvm_reason_args(struct pt_regs *regs,
					       unsigned int first,
					       enum at_layout layout,
					       struct kvm **kvm,
					       unsigned int *bit, bool *set)
{
	*kvm = (struct kvm *)at_arg(regs, first);
	if (layout == AT_L_ACTIVATE_BIT) {
		*set = !(at_arg(regs, first + 1) & 1);		/* bool activate */
		*bit = (unsigned int)at_arg(regs, first + 2);	/* ulong bit */
	} else {
		*bit = (unsigned int)at_arg(regs, first + 1);	/* enum reason */
		*set = at_arg(regs, first + 2) & 1;		/* bool set */
	}
}
#define at_setter_args(regs, layout, kvm, bit, set) \
	at_kvm_reason_args(regs, AT_SETTER_FIRST_ARG, layout, kvm, bit, set)
#define at_request_args(regs, layout, kvm, bit, set) \
	at_kvm_reason_args(regs, 0, layout, kvm, bit, set)

/*
 * A bool argument as the callee sees it: the ABI defines its low byte
 * only (0 or 1); the rest of the register is the caller's.
 */
static __always_inline bool at_bool_arg_plausible(struct pt_regs *regs,
						  unsigned int n)
{
	return (u8)at_arg(regs, n) <= 1;
}

/*
 * Could these be the setter's (or the request wrapper's) arguments from
 * argument @first on? A reason below 64, a bool.
 */
static __always_inline bool at_kvm_reason_plausible(struct pt_regs *regs,
						    unsigned int first,
						    enum at_layout layout)
{
	if (layout == AT_L_ACTIVATE_BIT)
		return at_bool_arg_plausible(regs, first + 1) &&
		       at_arg(regs, first + 2) < 64;
	return (u32)at_arg(regs, first + 1) < 64 &&
	       at_bool_arg_plausible(regs, first + 2);
}

static __always_inline void at_irq_window_args(struct pt_regs *regs,
					       struct kvm **kvm, bool *inc)
{
	*kvm = at_kvm_arg(regs);
	*inc = at_arg(regs, 1) & 1;		/* bool inc */
}

/* kvm_apic_set_state(struct kvm_vcpu *, struct kvm_lapic_state *s) */
static __always_inline void at_set_lapic_args(struct pt_regs *regs,
					      struct kvm_vcpu **vcpu,
					      const void **state)
{
	*vcpu = at_vcpu_arg(regs);
	*state = (const void *)at_arg(regs, 1);
}

/*
 * The APIC base write's arguments; false if they cannot be read. Two
 * layouts share the names (reasons.h, at_cands_apic_base): (vcpu, struct
 * msr_data *) up to 6.12, (vcpu, u64 value, bool host_initiated) from
 * 6.13, and a distribution kernel may pair either name with either. The
 * second argument tells them apart at every call: an msr_data is a local
 * of a caller (every caller up to 6.12 has it on its stack): a kernel
 * address (negative as a long), aligned, wholly inside the current
 * task's stack and above this call's stack pointer. A valid APIC base is
 * a physical address with flags, never negative; a value crafted to look
 * like such an address is one KVM refuses anyway; what is read through
 * it must then look like an APIC base too (not negative: never a kernel
 * address), or nothing is recorded. Anything else is not read.
 */
static __always_inline bool at_apic_base_args(struct pt_regs *regs,
					      struct kvm_vcpu **vcpu,
					      u64 *value, bool *host)
{
	unsigned long a1 = at_arg(regs, 1);

	if ((long)a1 < 0) {
		struct msr_data md;

		if (!IS_ALIGNED(a1, sizeof(long)) ||
		    a1 < kernel_stack_pointer(regs) ||
		    !object_is_on_stack((const void *)a1) ||
		    !object_is_on_stack((const void *)(a1 + sizeof(md) - 1)) ||
		    copy_from_kernel_nofault(&md, (const void *)a1, sizeof(md)))
			return false;
		if ((long)md.data < 0)
			return false;
		*value = md.data;
		*host = md.host_initiated;
	} else {
		*value = a1;			/* u64 value */
		*host = at_arg(regs, 2) & 1;	/* bool host_initiated */
	}
	*vcpu = at_vcpu_arg(regs);
	return true;
}

/* ------------------------------------------------------------------ */
/* Fields of struct kvm and struct kvm_vcpu (public headers).         */
/* ------------------------------------------------------------------ */

static __always_inline unsigned long at_kvm_mask(const struct kvm *kvm)
{
	return READ_ONCE(kvm->arch.apicv_inhibit_reasons);
}

/* True while someone holds a reference: not inside kvm_destroy_vm(). */
static __always_inline bool at_kvm_alive(const struct kvm *kvm)
{
	return refcount_read(&kvm->users_count) != 0;
}

/*
 * KVM's own debugfs directory name, "<pid>-<fd>". Only call while
 * at_kvm_alive(): kvm_destroy_vm() removes the dentry first (docs/kernels.md,
 * "Finding the VM and vCPU").
 */
static __always_inline const char *at_kvm_debugfs_name(const struct kvm *kvm)
{
	struct dentry *d = READ_ONCE(kvm->debugfs_dentry);

	if (IS_ERR_OR_NULL(d))
		return NULL;
	return (const char *)READ_ONCE(d->d_name.name);
}

static __always_inline pid_t at_kvm_pid(const struct kvm *kvm)
{
	return READ_ONCE(kvm->userspace_pid);
}

static __always_inline bool at_vcpu_apic_hw_enabled(const struct kvm_vcpu *v)
{
	return READ_ONCE(v->arch.apic_base) & MSR_IA32_APICBASE_ENABLE;
}

static __always_inline bool at_vcpu_x2apic(const struct kvm_vcpu *v)
{
	return READ_ONCE(v->arch.apic_base) & X2APIC_ENABLE;
}

static __always_inline u64 at_vcpu_apic_base(const struct kvm_vcpu *v)
{
	return READ_ONCE(v->arch.apic_base);
}

/* The vCPUs of a VM (6.1+: an xarray, 5.10: an array; both RCU-safe). */
static __always_inline int at_kvm_nr_vcpus(struct kvm *kvm)
{
	return atomic_read(&kvm->online_vcpus);
}

static __always_inline struct kvm_vcpu *at_kvm_vcpu(struct kvm *kvm, int i)
{
	return kvm_get_vcpu(kvm, i);
}

/* ------------------------------------------------------------------ */
/* xAPIC ID as KVM compares it (5.19+)                                 */
/* ------------------------------------------------------------------ */

/*
 * What KVM compares: docs/kernels.md, "APIC ID and APIC base".
 * struct kvm_lapic is private to arch/x86/kvm/lapic.h. From 6.1 to 7.3 it
 * has "struct kvm_vcpu *vcpu; bool apicv_active, sw_enabled, irr_pending,
 * lvt0_in_nmi_mode; s16 isr_count; int highest_isr_cache; void *regs;",
 * so regs sits 0x18 bytes after the vcpu back pointer (Debian binaries:
 * vcpu/regs at 0x90/0xa8 in 6.1 and 6.12, 0xa0/0xb8 in 7.2 and 7.3). The offset of that
 * pointer is found at run time (the first pointer-sized field equal to the
 * owning vCPU) instead of trusting one build's layout; every read is
 * fault-tolerant and the result is checked before use.
 */
#define AT_LAPIC_SCAN_BYTES	0x200
#define AT_LAPIC_REGS_AFTER_VCPU 0x18
#define AT_APIC_ID_REG		0x20

static __always_inline bool at_lapic_xapic_id(const void *apic,
				     const struct kvm_vcpu *vcpu,
				     int *vcpu_off, u32 *xapic_id)
{
	const char *base = apic;
	unsigned long p, regs;
	u32 reg;
	int off = READ_ONCE(*vcpu_off);

	if (off < 0) {
		for (off = 0; off < AT_LAPIC_SCAN_BYTES; off += sizeof(long)) {
			if (get_kernel_nofault(p, (unsigned long *)(base + off)))
				return false;
			if (p == (unsigned long)vcpu)
				break;
		}
		if (off >= AT_LAPIC_SCAN_BYTES)
			return false;
		WRITE_ONCE(*vcpu_off, off);
	}
	if (get_kernel_nofault(p, (unsigned long *)(base + off)) ||
	    p != (unsigned long)vcpu)
		return false;
	if (get_kernel_nofault(regs, (unsigned long *)
			       (base + off + AT_LAPIC_REGS_AFTER_VCPU)))
		return false;
	if (!regs || !PAGE_ALIGNED(regs) || !virt_addr_valid((void *)regs))
		return false;
	if (get_kernel_nofault(reg, (u32 *)(regs + AT_APIC_ID_REG)))
		return false;
	*xapic_id = reg >> 24;
	return true;
}

/*
 * The APIC ID in a struct kvm_lapic_state (uapi) being restored: the
 * register's top byte in xAPIC mode, all 32 bits in x2APIC mode.
 */
static __always_inline bool at_lapic_state_id(const void *s, bool x2apic,
					      u32 *id)
{
	const struct kvm_lapic_state *ls = s;
	u32 reg;

	if (copy_from_kernel_nofault(&reg, &ls->regs[AT_APIC_ID_REG],
				     sizeof(reg)))
		return false;
	*id = x2apic ? reg : reg >> 24;
	return true;
}

#endif /* APICV_TRACE_COMPAT_H */
