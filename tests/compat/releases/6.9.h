/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 6.9: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* The same as 6.3 for this purpose. */
#include "6.3.h"
