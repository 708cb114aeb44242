/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 5.17: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* The same as 5.16 for this purpose. */
#include "5.16.h"
