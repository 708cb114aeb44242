/* SPDX-License-Identifier: GPL-2.0 */
/* Linux 7.2: arch/x86/include/asm/kvm_host.h, what apicv-trace probes. */
/* The same as 6.17 for this purpose. */
#include "6.17.h"
