/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 5.18: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* vs 5.17: enum kvm_apicv_inhibit adds SEV (8); (reason, set) setters replace (activate, bit) */
#include "common.h"

enum kvm_apicv_inhibit {
	APICV_INHIBIT_REASON_DISABLE, /* 0 */
	APICV_INHIBIT_REASON_HYPERV, /* 1 */
	APICV_INHIBIT_REASON_NESTED, /* 2 */
	APICV_INHIBIT_REASON_IRQWIN, /* 3 */
	APICV_INHIBIT_REASON_PIT_REINJ, /* 4 */
	APICV_INHIBIT_REASON_X2APIC, /* 5 */
	APICV_INHIBIT_REASON_BLOCKIRQ, /* 6 */
	APICV_INHIBIT_REASON_ABSENT, /* 7 */
	APICV_INHIBIT_REASON_SEV, /* 8 */
};

struct kvm_x86_ops {
	int (*vm_init)(struct kvm *kvm);
	bool (*check_apicv_inhibit_reasons)(enum kvm_apicv_inhibit reason);
};

void __kvm_set_or_clear_apicv_inhibit(struct kvm *kvm,
				      enum kvm_apicv_inhibit reason, bool set);
void kvm_set_or_clear_apicv_inhibit(struct kvm *kvm,
				    enum kvm_apicv_inhibit reason, bool set);
int kvm_set_apic_base(struct kvm_vcpu *vcpu, struct msr_data *msr_info);
