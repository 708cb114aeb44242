/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 6.10: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* vs 6.9: same as 6.9 */
#include "common.h"

enum kvm_apicv_inhibit {
	APICV_INHIBIT_REASON_DISABLE, /* 0 */
	APICV_INHIBIT_REASON_HYPERV, /* 1 */
	APICV_INHIBIT_REASON_ABSENT, /* 2 */
	APICV_INHIBIT_REASON_BLOCKIRQ, /* 3 */
	APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED, /* 4 */
	APICV_INHIBIT_REASON_APIC_ID_MODIFIED, /* 5 */
	APICV_INHIBIT_REASON_APIC_BASE_MODIFIED, /* 6 */
	APICV_INHIBIT_REASON_NESTED, /* 7 */
	APICV_INHIBIT_REASON_IRQWIN, /* 8 */
	APICV_INHIBIT_REASON_PIT_REINJ, /* 9 */
	APICV_INHIBIT_REASON_SEV, /* 10 */
	APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED, /* 11 */
};

struct kvm_x86_ops {
	int (*vm_init)(struct kvm *kvm);
	const unsigned long required_apicv_inhibits;
};

void __kvm_set_or_clear_apicv_inhibit(struct kvm *kvm,
				      enum kvm_apicv_inhibit reason, bool set);
void kvm_set_or_clear_apicv_inhibit(struct kvm *kvm,
				    enum kvm_apicv_inhibit reason, bool set);
int kvm_set_apic_base(struct kvm_vcpu *vcpu, struct msr_data *msr_info);
