// SPDX-License-Identifier: GPL-2.0
/*
 * Data that depends on the kernel version; the logic is in compat.h.
 */
#include "compat.h"

/*
 * Reason names by bit. Where the headers have the enum, the table is built
 * from it, so a renumbering cannot produce a wrong name; at_compat_canary()
 * breaks the build if a value we rely on moves.
 */
#ifdef AT_KVM_5_10
const char *const at_reason_names[AT_MAX_BITS] = {
	[APICV_INHIBIT_REASON_DISABLE]	 = "DISABLE",
	[APICV_INHIBIT_REASON_HYPERV]	 = "HYPERV",
	[APICV_INHIBIT_REASON_NESTED]	 = "NESTED",
	[APICV_INHIBIT_REASON_IRQWIN]	 = "IRQWIN",
	[APICV_INHIBIT_REASON_PIT_REINJ] = "PIT_REINJ",
	[APICV_INHIBIT_REASON_X2APIC]	 = "X2APIC",
};
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
const char *const at_reason_names[AT_MAX_BITS] = {
	[APICV_INHIBIT_REASON_DISABLE]		  = "DISABLE",
	[APICV_INHIBIT_REASON_HYPERV]		  = "HYPERV",
	[APICV_INHIBIT_REASON_ABSENT]		  = "ABSENT",
	[APICV_INHIBIT_REASON_BLOCKIRQ]		  = "BLOCKIRQ",
	[APICV_INHIBIT_REASON_APIC_ID_MODIFIED]	  = "APIC_ID_MODIFIED",
	[APICV_INHIBIT_REASON_APIC_BASE_MODIFIED] = "APIC_BASE_MODIFIED",
	[APICV_INHIBIT_REASON_NESTED]		  = "NESTED",
	[APICV_INHIBIT_REASON_IRQWIN]		  = "IRQWIN",
	[APICV_INHIBIT_REASON_PIT_REINJ]	  = "PIT_REINJ",
	[APICV_INHIBIT_REASON_SEV]		  = "SEV",
};
#else
/* Newer lines get their tables with the kernel matrix; none: "unknown". */
const char *const at_reason_names[AT_MAX_BITS];
#endif
