/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 7.3: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* vs 7.2: enum, X-macro, NR and setter prototypes move to private arch/x86/kvm/x86.h */
#include "common.h"

/* no reason, enum, X-macro or setter prototype: all private now */

struct kvm_x86_ops {
	int (*vm_init)(struct kvm *kvm);
	const unsigned long required_apicv_inhibits;
};

