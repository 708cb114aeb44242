/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 5.11: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* vs 5.10: same as 5.10 */
#include "common.h"

#define APICV_INHIBIT_REASON_DISABLE             0
#define APICV_INHIBIT_REASON_HYPERV              1
#define APICV_INHIBIT_REASON_NESTED              2
#define APICV_INHIBIT_REASON_IRQWIN              3
#define APICV_INHIBIT_REASON_PIT_REINJ           4
#define APICV_INHIBIT_REASON_X2APIC              5

struct kvm_x86_ops {
	int (*vm_init)(struct kvm *kvm);
	bool (*check_apicv_inhibit_reasons)(ulong bit);
};

void kvm_apicv_init(struct kvm *kvm, bool enable);
void kvm_request_apicv_update(struct kvm *kvm, bool activate, ulong bit);
int kvm_set_apic_base(struct kvm_vcpu *vcpu, struct msr_data *msr_info);
