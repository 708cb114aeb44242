/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 6.16: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* The same as 6.13 for this purpose. */
#include "6.13.h"
