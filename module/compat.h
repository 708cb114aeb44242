/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one seam between apicv-trace and KVM internals that change between
 * kernel releases. Everything that depends on the kernel version lives here:
 * which functions carry the inhibit logic and how their arguments are laid
 * out, the reason bit names, and the fields read from struct kvm.
 *
 * Lines covered (see shared notes kvm-versions.md):
 *   5.10  kvm_request_apicv_update(kvm, activate, bit), no lock
 *   6.1   __kvm_set_or_clear_apicv_inhibit(kvm, reason, set), write lock held
 *   6.12+ as 6.1 (GCC may split the body into a .part.N clone)
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

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
#define AT_KVM_5_10 1		/* kvm_request_apicv_update() era */
#endif

/* ------------------------------------------------------------------ */
/* Reason names for the running kernel.                               */
/* ------------------------------------------------------------------ */

#define AT_MAX_BITS 16		/* room for future reasons; mask is a ulong */

#ifdef AT_KVM_5_10
/* 5.10: #defines in asm/kvm_host.h, values checked at build time below. */
#define AT_REASONS_FROM "kvm_host.h #defines (5.10)"
#define AT_REASON_DISABLE_BIT APICV_INHIBIT_REASON_DISABLE
#define AT_STICKY_MASK ((1UL << APICV_INHIBIT_REASON_DISABLE) | \
			(1UL << APICV_INHIBIT_REASON_HYPERV))
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
/* 6.1: enum kvm_apicv_inhibit in asm/kvm_host.h, names taken from it. */
#define AT_REASONS_FROM "enum kvm_apicv_inhibit (6.1 headers)"
#define AT_REASON_DISABLE_BIT APICV_INHIBIT_REASON_DISABLE
/*
 * Nothing in 6.1 clears these once set (APIC_ID_MODIFIED became
 * clearable around 6.3). DISABLE is set at VM creation only.
 */
#define AT_STICKY_MASK ((1UL << APICV_INHIBIT_REASON_DISABLE) | \
			(1UL << APICV_INHIBIT_REASON_APIC_ID_MODIFIED) | \
			(1UL << APICV_INHIBIT_REASON_APIC_BASE_MODIFIED))
#else
/* Newer lines are added with their own tables (issue: kernel matrix). */
#define AT_REASONS_FROM "none: kernel newer than any table"
#define AT_REASON_DISABLE_BIT 0
#define AT_STICKY_MASK 0UL
#endif

/* this kernel's names by bit, NULL where unknown (compat.c) */
extern const char *const at_reason_names[AT_MAX_BITS];

/*
 * Reasons the vendor module honours (its filter in this kernel's source):
 * 5.10 svm_check_apicv_inhibit_reasons / vmx_..., 6.1
 * avic_check_apicv_inhibit_reasons (all ten) / vmx_check_apicv_inhibit_reasons.
 */
#ifdef AT_KVM_5_10
#define AT_SVM_HONOURED 0x3fUL
#define AT_VMX_HONOURED ((1UL << APICV_INHIBIT_REASON_DISABLE) | \
			 (1UL << APICV_INHIBIT_REASON_HYPERV))
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define AT_SVM_HONOURED 0x3ffUL
#define AT_VMX_HONOURED ((1UL << APICV_INHIBIT_REASON_DISABLE) | \
			 (1UL << APICV_INHIBIT_REASON_ABSENT) | \
			 (1UL << APICV_INHIBIT_REASON_HYPERV) | \
			 (1UL << APICV_INHIBIT_REASON_BLOCKIRQ) | \
			 (1UL << APICV_INHIBIT_REASON_APIC_ID_MODIFIED) | \
			 (1UL << APICV_INHIBIT_REASON_APIC_BASE_MODIFIED))
#else
#define AT_SVM_HONOURED 0UL
#define AT_VMX_HONOURED 0UL
#endif

/* Build-time canary: break the build if a name we rely on moves. */
static inline void at_compat_canary(void)
{
#ifdef AT_KVM_5_10
	BUILD_BUG_ON(APICV_INHIBIT_REASON_PIT_REINJ != 4);
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	BUILD_BUG_ON(APICV_INHIBIT_REASON_SEV != 9);
	BUILD_BUG_ON(APICV_INHIBIT_REASON_APIC_ID_MODIFIED != 4);
#endif
	BUILD_BUG_ON(sizeof(((struct kvm_arch *)0)->apicv_inhibit_reasons) !=
		     sizeof(unsigned long));
}

static __always_inline const char *at_reason_name(unsigned int bit)
{
	if (bit < AT_MAX_BITS && at_reason_names[bit])
		return at_reason_names[bit];
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* Hooked functions and their arguments.                              */
/* ------------------------------------------------------------------ */

#ifdef AT_KVM_5_10
/* void kvm_request_apicv_update(struct kvm *kvm, bool activate, ulong bit) */
#define AT_SYM_SETTER		"kvm_request_apicv_update"
#define AT_SYM_REQUEST		NULL	/* no separate locked wrapper */
#define AT_SYM_XAPIC_ID		NULL
#define AT_APIC_ID_BIT		AT_NO_BIT
#else
/*
 * void __kvm_set_or_clear_apicv_inhibit(struct kvm *, enum reason, bool set)
 * void kvm_set_or_clear_apicv_inhibit(struct kvm *, enum reason, bool set)
 */
#define AT_SYM_SETTER		"__kvm_set_or_clear_apicv_inhibit"
#define AT_SYM_REQUEST		"kvm_set_or_clear_apicv_inhibit"
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* static void kvm_lapic_xapic_id_updated(struct kvm_lapic *apic) */
#define AT_SYM_XAPIC_ID		"kvm_lapic_xapic_id_updated"
#define AT_APIC_ID_BIT		APICV_INHIBIT_REASON_APIC_ID_MODIFIED
#else
#define AT_SYM_XAPIC_ID		NULL
#define AT_APIC_ID_BIT		AT_NO_BIT
#endif
#endif

/* The setter's and the request wrapper's arguments, at function entry. */
static __always_inline void at_setter_args(struct pt_regs *regs,
					   struct kvm **kvm,
					   unsigned int *bit, bool *set)
{
	*kvm = (struct kvm *)regs->di;
#ifdef AT_KVM_5_10
	*set = !(regs->si & 1);		/* bool activate */
	*bit = (unsigned int)regs->dx;	/* ulong bit */
#else
	*bit = (unsigned int)regs->si;	/* enum kvm_apicv_inhibit reason */
	*set = regs->dx & 1;		/* bool set */
#endif
}
#define at_request_args at_setter_args

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
/* struct kvm_vcpu *kvm_get_running_vcpu(void), resolved, never linked */
#define AT_SYM_RUNNING_VCPU	"kvm_get_running_vcpu"

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
 * at_kvm_alive(): kvm_destroy_vm() removes the dentry first.
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

/* ------------------------------------------------------------------ */
/* xAPIC ID as KVM compares it (6.1 kvm_lapic_xapic_id_updated only).  */
/* ------------------------------------------------------------------ */

/*
 * struct kvm_lapic is private to arch/x86/kvm/lapic.h. In 6.1 it has
 * "struct kvm_vcpu *vcpu; bool apicv_active, sw_enabled, irr_pending,
 * lvt0_in_nmi_mode; s16 isr_count; int highest_isr_cache; void *regs;",
 * so regs sits 0x18 bytes after the vcpu back pointer. The offset of that
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

#endif /* APICV_TRACE_COMPAT_H */
