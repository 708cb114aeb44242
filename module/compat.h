/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one seam between apicv-trace and KVM internals that change between
 * kernel releases. Everything that depends on the kernel version lives here:
 * which functions carry the inhibit logic and how their arguments are read
 * (through regs_get_kernel_argument()), the reason bit names, the fields
 * read from struct kvm, and the IBT (ENDBR64) fix-up of a function address
 * resolved for an indirect call (compat.c).
 *
 * Lines covered (docs/kernels.md, "Per-kernel table" and "Setters"):
 *   5.10  kvm_request_apicv_update(kvm, activate, bit), no lock;
 *         kvm_apicv_init() sets DISABLE at VM creation
 *   6.1   __kvm_set_or_clear_apicv_inhibit(kvm, reason, set), write lock
 *         held; kvm_lapic_xapic_id_updated() sets APIC_ID_MODIFIED (sticky)
 *   6.12  as 6.1, the setter's body in a .part.N clone; APIC ID reasons
 *         decided (set and cleared) by kvm_recalculate_apic_map()
 *   7.2+  as 6.12, plus the IRQWIN counter (kvm_inc_or_dec_irq_window_
 *         inhibit) and its lazy recompute in every setter call; 7.3 keeps
 *         the reason enum in a private header
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

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 10, 0)
#error "apicv-trace supports Linux 5.10 and later"
#endif

/* dkms.conf refuses such kernels too; older dkms (bullseye's) does not */
#if !IS_ENABLED(CONFIG_KPROBES) || !IS_ENABLED(CONFIG_KRETPROBES) || \
	!IS_ENABLED(CONFIG_DEBUG_FS) || !IS_ENABLED(CONFIG_KVM) || \
	!IS_ENABLED(CONFIG_X86_64)
#error "apicv-trace needs an x86_64 kernel with CONFIG_KPROBES, CONFIG_KRETPROBES, CONFIG_DEBUG_FS and CONFIG_KVM"
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
#define AT_KVM_5_10 1		/* kvm_request_apicv_update() era */
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define AT_KVM_6_1 1		/* kvm_lapic_xapic_id_updated() era */
#endif

/* ------------------------------------------------------------------ */
/* Reason names for the running kernel.                               */
/* ------------------------------------------------------------------ */

#define AT_MAX_BITS 16		/* room for future reasons; mask is a ulong */
#define AT_NAME_LEN 24

/*
 * Where the names come from, best first (compat.c; docs/kernels.md,
 * "Reasons: names and numbers"):
 *   5.10  the APICV_INHIBIT_REASON_* #defines in asm/kvm_host.h
 *   6.1   enum kvm_apicv_inhibit in asm/kvm_host.h
 *   6.12, 7.2  APICV_INHIBIT_REASONS in asm/kvm_host.h
 *   7.3   a versioned table: the enum moved to the private
 *         arch/x86/kvm/x86.h, which Debian's headers do not ship
 * and, at run time on every kernel whose kvm.ko has them (6.11+), the
 * names in the print format of KVM's own kvm_apicv_inhibit_changed
 * tracepoint (docs/kernels.md, "Tracepoints"), which both check a
 * versioned table and name the bits on a kernel newer than any table. Bits nobody names print as reason=unknown.
 */
struct at_reasons {
	const char *from;			/* for status */
	const char *name[AT_MAX_BITS];		/* in use; NULL: unknown */
	char kernel[AT_MAX_BITS][AT_NAME_LEN];	/* from the running kvm */
	bool kernel_read;			/* the tracepoint format had names */
	bool kernel_differs;			/* ...and contradict the table */
	unsigned long sticky;			/* never cleared once set */
	unsigned long svm_honoured, vmx_honoured; /* vendor filters */
	unsigned int disable_bit, irqwin_bit,	/* AT_NO_BIT if unknown */
		     apic_id_bit, phys_alias_bit;
	unsigned long apic_map_bits;		/* decided by the APIC map */
};
extern struct at_reasons at_reasons;

void at_reasons_init(void);		/* module init: the built-in table */
void at_reasons_from_kernel(void);	/* kvm is live: read its names */
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

#ifdef AT_KVM_5_10
/* void kvm_request_apicv_update(struct kvm *kvm, bool activate, ulong bit) */
#define AT_SYM_SETTER		"kvm_request_apicv_update"
/* it takes no lock (a cmpxchg loop): hooks.c serializes its accounting */
#define AT_SETTER_LOCKLESS	1
#define AT_SYM_REQUEST		NULL	/* no separate locked wrapper */
/* void kvm_apicv_init(struct kvm *kvm, bool enable): sets DISABLE directly */
#define AT_SYM_INIT_REASONS	"kvm_apicv_init"
#else
/*
 * void __kvm_set_or_clear_apicv_inhibit(struct kvm *, enum reason, bool set)
 * void kvm_set_or_clear_apicv_inhibit(struct kvm *, enum reason, bool set)
 * Debian 6.12's GCC splits the first into a stub and a .part.0 clone.
 */
#define AT_SYM_SETTER		"__kvm_set_or_clear_apicv_inhibit"
#define AT_SYM_REQUEST		"kvm_set_or_clear_apicv_inhibit"
#define AT_SYM_INIT_REASONS	NULL	/* static, inlined in kvm_arch_init_vm */
#endif

#ifdef AT_KVM_6_1
/* static void kvm_lapic_xapic_id_updated(struct kvm_lapic *apic) */
#define AT_SYM_XAPIC_ID		"kvm_lapic_xapic_id_updated"
#else
#define AT_SYM_XAPIC_ID		NULL
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
/*
 * void kvm_recalculate_apic_map(struct kvm *kvm): re-decides
 * PHYSICAL_ID_ALIASED, LOGICAL_ID_ALIASED and APIC_ID_MODIFIED on every
 * map rebuild (6.12 T, 7.x t; kvm_recalculate_phys_map is inlined).
 */
#define AT_SYM_APIC_MAP		"kvm_recalculate_apic_map"
#else
#define AT_SYM_APIC_MAP		NULL
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
/*
 * void kvm_inc_or_dec_irq_window_inhibit(struct kvm *kvm, bool inc) (7.2+):
 * IRQWIN is a counter; the setter is called only when it crosses zero
 * while no other inhibit is set, and recomputes IRQWIN on every call.
 */
#define AT_SYM_IRQ_WINDOW	"kvm_inc_or_dec_irq_window_inhibit"
#else
#define AT_SYM_IRQ_WINDOW	NULL
#endif

/* int kvm_arch_init_vm(struct kvm *, unsigned long type) */
#define AT_SYM_INIT_VM		"kvm_arch_init_vm"
/* void kvm_arch_destroy_vm(struct kvm *) */
#define AT_SYM_DESTROY_VM	"kvm_arch_destroy_vm"
/* void kvm_arch_vcpu_postcreate(struct kvm_vcpu *) */
#define AT_SYM_VCPU_CREATED	"kvm_arch_vcpu_postcreate"
/*
 * int kvm_arch_create_vm_debugfs(struct kvm *), called right after KVM
 * created the VM's debugfs directory (6.0+): the VM's key, before any
 * other event of the VM. 5.10 learns it at the first vCPU instead.
 */
#ifdef AT_KVM_5_10
#define AT_SYM_VM_DEBUGFS	NULL
#else
#define AT_SYM_VM_DEBUGFS	"kvm_arch_create_vm_debugfs"
#endif
/*
 * VMM state restores, recorded as markers (a guest reboot or a restore
 * shows as a boundary in the event stream):
 * int kvm_apic_set_state(struct kvm_vcpu *, struct kvm_lapic_state *s),
 * KVM_SET_LAPIC, in every line; and the host writing the APIC base MSR
 * (KVM_SET_SREGS, KVM_SET_MSRS):
 *   5.10, 6.1  int kvm_set_apic_base(struct kvm_vcpu *, struct msr_data *)
 *   6.12       int kvm_apic_set_base(struct kvm_vcpu *, struct msr_data *)
 *   7.2+       int kvm_apic_set_base(struct kvm_vcpu *, u64 value,
 *                                    bool host_initiated)
 */
#define AT_SYM_SET_LAPIC	"kvm_apic_set_state"
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#define AT_SYM_APIC_BASE	"kvm_set_apic_base"
#define AT_APIC_BASE_MSR_DATA	1
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define AT_SYM_APIC_BASE	"kvm_apic_set_base"
#define AT_APIC_BASE_MSR_DATA	1
#else
#define AT_SYM_APIC_BASE	"kvm_apic_set_base"
#endif

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

/* The return address at function entry: who called the hooked function. */
static __always_inline unsigned long at_caller(struct pt_regs *regs)
{
	return regs_get_kernel_stack_nth(regs, 0);
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
 * on. A test build (AT_TEST_BAD_LAYOUT, module/Kbuild) reads the setter's
 * one register late, as a clone that dropped its first argument would
 * pass them: the setter's probation (hooks.c) must refuse it.
 */
#ifdef AT_TEST_BAD_LAYOUT
#define AT_SETTER_FIRST_ARG	1
#else
#define AT_SETTER_FIRST_ARG	0
#endif

static __always_inline void at_kvm_reason_args(struct pt_regs *regs,
					       unsigned int first,
					       struct kvm **kvm,
					       unsigned int *bit, bool *set)
{
	*kvm = (struct kvm *)at_arg(regs, first);
#ifdef AT_KVM_5_10
	*set = !(at_arg(regs, first + 1) & 1);		/* bool activate */
	*bit = (unsigned int)at_arg(regs, first + 2);	/* ulong bit */
#else
	*bit = (unsigned int)at_arg(regs, first + 1);	/* enum kvm_apicv_inhibit */
	*set = at_arg(regs, first + 2) & 1;		/* bool set */
#endif
}
#define at_setter_args(regs, kvm, bit, set) \
	at_kvm_reason_args(regs, AT_SETTER_FIRST_ARG, kvm, bit, set)
#define at_request_args(regs, kvm, bit, set) \
	at_kvm_reason_args(regs, 0, kvm, bit, set)

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
						    unsigned int first)
{
#ifdef AT_KVM_5_10
	return at_bool_arg_plausible(regs, first + 1) &&
	       at_arg(regs, first + 2) < 64;
#else
	return (u32)at_arg(regs, first + 1) < 64 &&
	       at_bool_arg_plausible(regs, first + 2);
#endif
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

/* The APIC base write's arguments; false if they cannot be read. */
static __always_inline bool at_apic_base_args(struct pt_regs *regs,
					      struct kvm_vcpu **vcpu,
					      u64 *value, bool *host)
{
#ifdef AT_APIC_BASE_MSR_DATA
	struct msr_data md;

	if (copy_from_kernel_nofault(&md, (const void *)at_arg(regs, 1),
				     sizeof(md)))
		return false;
	*value = md.data;
	*host = md.host_initiated;
#else
	*value = at_arg(regs, 1);	/* u64 value */
	*host = at_arg(regs, 2) & 1;	/* bool host_initiated */
#endif
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
/* xAPIC ID as KVM compares it (6.1+)                                  */
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
