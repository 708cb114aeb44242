/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 6.11: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* vs 6.10: renames DISABLE to DISABLED; APICV_INHIBIT_REASONS X-macro and NR_APICV_INHIBIT_REASONS, public */
#include "common.h"

#define APICV_INHIBIT_REASONS \
	__APICV_INHIBIT_REASON(DISABLED), \
	__APICV_INHIBIT_REASON(HYPERV), \
	__APICV_INHIBIT_REASON(ABSENT), \
	__APICV_INHIBIT_REASON(BLOCKIRQ), \
	__APICV_INHIBIT_REASON(PHYSICAL_ID_ALIASED), \
	__APICV_INHIBIT_REASON(APIC_ID_MODIFIED), \
	__APICV_INHIBIT_REASON(APIC_BASE_MODIFIED), \
	__APICV_INHIBIT_REASON(NESTED), \
	__APICV_INHIBIT_REASON(IRQWIN), \
	__APICV_INHIBIT_REASON(PIT_REINJ), \
	__APICV_INHIBIT_REASON(SEV), \
	__APICV_INHIBIT_REASON(LOGICAL_ID_ALIASED)

#define __APICV_INHIBIT_REASON(reason) APICV_INHIBIT_REASON_##reason
enum kvm_apicv_inhibit {
	APICV_INHIBIT_REASONS,
	NR_APICV_INHIBIT_REASONS, /* 12 */
};
#undef __APICV_INHIBIT_REASON

struct kvm_x86_ops {
	int (*vm_init)(struct kvm *kvm);
	const unsigned long required_apicv_inhibits;
};

void __kvm_set_or_clear_apicv_inhibit(struct kvm *kvm,
				      enum kvm_apicv_inhibit reason, bool set);
void kvm_set_or_clear_apicv_inhibit(struct kvm *kvm,
				    enum kvm_apicv_inhibit reason, bool set);
int kvm_set_apic_base(struct kvm_vcpu *vcpu, struct msr_data *msr_info);
