// SPDX-License-Identifier: GPL-2.0
/*
 * Reason names and the per-reason facts that depend on the kernel version,
 * and the IBT fix-up of a resolved function's address; the rest of the
 * seam is in compat.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/trace_events.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "record.h"
#include "reason_fmt.h"

struct at_reasons at_reasons;

/*
 * The built-in table. Where the headers have the names, it is built from
 * them (a designated initializer per bit, so a renumbering cannot produce
 * a wrong name, and two names on one bit warn under W=1).
 */
#ifdef AT_KVM_5_10
#define AT_TABLE_FROM "kvm_host.h #defines (5.10)"
static const char *const at_table[AT_MAX_BITS] = {
	[APICV_INHIBIT_REASON_DISABLE]	 = "DISABLE",
	[APICV_INHIBIT_REASON_HYPERV]	 = "HYPERV",
	[APICV_INHIBIT_REASON_NESTED]	 = "NESTED",
	[APICV_INHIBIT_REASON_IRQWIN]	 = "IRQWIN",
	[APICV_INHIBIT_REASON_PIT_REINJ] = "PIT_REINJ",
	[APICV_INHIBIT_REASON_X2APIC]	 = "X2APIC",
};
#elif defined(APICV_INHIBIT_REASONS)
/* 6.12, 7.2: the kernel's own list, as its tracepoint prints it. */
#define AT_TABLE_FROM "APICV_INHIBIT_REASONS (kernel headers)"
#undef __APICV_INHIBIT_REASON
#define __APICV_INHIBIT_REASON(reason) \
	[APICV_INHIBIT_REASON_##reason] = #reason
static const char *const at_table[AT_MAX_BITS] = { APICV_INHIBIT_REASONS };
#elif defined(AT_KVM_6_1)
#define AT_TABLE_FROM "enum kvm_apicv_inhibit (6.1 headers)"
static const char *const at_table[AT_MAX_BITS] = {
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
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(7, 4, 0)
/*
 * 7.3 moved enum kvm_apicv_inhibit to arch/x86/kvm/x86.h (x86.h:535 in
 * 7.3.4), which Debian's linux-headers do not ship. Its order is 7.2's;
 * the running kvm's tracepoint format checks it at every arm (status), and the
 * e2e suite checks it against the tracepoint's own output.
 */
#define AT_TABLE_FROM "versioned table (7.3; enum in private arch/x86/kvm/x86.h)"
static const char *const at_table[AT_MAX_BITS] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG",
};
#else
/* A kernel newer than any table: names come from the running kvm only. */
#define AT_TABLE_FROM NULL
static const char *const at_table[AT_MAX_BITS];
#endif

static const char *const at_table_from = AT_TABLE_FROM;

/*
 * Per-reason facts, by name so that they follow whatever numbering the
 * running kernel uses. Sticky: nothing clears the reason once set.
 * Vendor filters: the reasons kvm-amd/kvm-intel honour in this kernel's
 * source (5.10 svm/vmx_check_apicv_inhibit_reasons; 6.1
 * avic/vmx_check_apicv_inhibit_reasons; 6.12+, upstream from 6.3,
 * AVIC/VMX_REQUIRED_APICV_INHIBITS). AVIC honours every reason it knows in
 * all five lines (docs/kernels.md, "Who sets each reason", "Enabling
 * AVIC" and "The sticky APIC_ID_MODIFIED fix").
 */
#ifdef AT_KVM_5_10
static const char *const at_sticky_names[] = { "DISABLE", "HYPERV" };
static const char *const at_vmx_names[] = { "DISABLE", "HYPERV" };
#elif defined(AT_KVM_6_1)
static const char *const at_sticky_names[] = {
	"DISABLE", "APIC_ID_MODIFIED", "APIC_BASE_MODIFIED",
};
static const char *const at_vmx_names[] = {
	"DISABLE", "ABSENT", "HYPERV", "BLOCKIRQ", "APIC_ID_MODIFIED",
	"APIC_BASE_MODIFIED",
};
#else
static const char *const at_sticky_names[] = {
	"DISABLED", "APIC_BASE_MODIFIED", "PHYSICAL_ID_TOO_BIG",
};
static const char *const at_vmx_names[] = {
	"DISABLED", "ABSENT", "HYPERV", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED",
};
#endif
static const char *const at_apic_map_names[] = {
	"PHYSICAL_ID_ALIASED", "LOGICAL_ID_ALIASED", "APIC_ID_MODIFIED",
};

void at_compat_canary(void)
{
#ifdef AT_KVM_5_10
	BUILD_BUG_ON(APICV_INHIBIT_REASON_PIT_REINJ != 4);
#elif defined(APICV_INHIBIT_REASONS)
	/* where 6.12 and 7.2 put them; the 7.3 table relies on this order */
	BUILD_BUG_ON(NR_APICV_INHIBIT_REASONS > AT_MAX_BITS);
	BUILD_BUG_ON(APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED != 4);
	BUILD_BUG_ON(APICV_INHIBIT_REASON_APIC_ID_MODIFIED != 5);
	BUILD_BUG_ON(APICV_INHIBIT_REASON_IRQWIN != 8);
	BUILD_BUG_ON(APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED != 11);
#elif defined(AT_KVM_6_1)
	BUILD_BUG_ON(APICV_INHIBIT_REASON_SEV != 9);
	BUILD_BUG_ON(APICV_INHIBIT_REASON_APIC_ID_MODIFIED != 4);
#endif
	BUILD_BUG_ON(sizeof(((struct kvm_arch *)0)->apicv_inhibit_reasons) !=
		     sizeof(unsigned long));
}

void *at_call_address(void *addr)
{
	static const u8 endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	u8 insn[4];

	if (!copy_from_kernel_nofault(insn, (u8 *)addr - 4, 4) &&
	    !memcmp(insn, endbr64, 4))
		addr = (u8 *)addr - 4;
	return addr;
}

int at_reason_bit(const char *name)
{
	int b;

	for (b = 0; b < AT_MAX_BITS; b++) {
		const char *n = READ_ONCE(at_reasons.name[b]);

		if (n && !strcmp(n, name))
			return b;
	}
	return -1;
}

static unsigned long at_mask_of(const char *const *names, size_t nr)
{
	unsigned long mask = 0;
	size_t i;
	int b;

	for (i = 0; i < nr; i++) {
		b = at_reason_bit(names[i]);
		if (b >= 0)
			mask |= BIT(b);
	}
	return mask;
}

static unsigned int at_bit_of(const char *a, const char *b)
{
	int bit = at_reason_bit(a);

	if (bit < 0 && b)
		bit = at_reason_bit(b);
	return bit < 0 ? AT_NO_BIT : bit;
}

/* Recompute what depends on the names in use. */
static void at_reasons_derive(void)
{
	unsigned long known = 0;
	int b;

	for (b = 0; b < AT_MAX_BITS; b++)
		if (at_reasons.name[b])
			known |= BIT(b);
	at_reasons.sticky = at_mask_of(at_sticky_names,
				       ARRAY_SIZE(at_sticky_names));
	at_reasons.vmx_honoured = at_mask_of(at_vmx_names,
					     ARRAY_SIZE(at_vmx_names));
	at_reasons.svm_honoured = known;
	at_reasons.apic_map_bits = at_mask_of(at_apic_map_names,
					      ARRAY_SIZE(at_apic_map_names));
	at_reasons.disable_bit = at_bit_of("DISABLED", "DISABLE");
	at_reasons.irqwin_bit = at_bit_of("IRQWIN", NULL);
	at_reasons.apic_id_bit = at_bit_of("APIC_ID_MODIFIED", NULL);
	at_reasons.phys_alias_bit = at_bit_of("PHYSICAL_ID_ALIASED", NULL);
}

void at_reasons_init(void)
{
	int b;

	for (b = 0; b < AT_MAX_BITS; b++)
		at_reasons.name[b] = at_table[b];
	at_reasons.from = at_table_from ?: "none: kernel newer than any table";
	at_reasons_derive();
}

/*
 * The running kernel's names, from the print format of KVM's own
 * kvm_apicv_inhibit_changed tracepoint (6.12+; docs/kernels.md,
 * "Tracepoints"). Its __print_flags() lists
 * every reason, generated from APICV_INHIBIT_REASONS, as
 *	{ ((((1UL))) << (APICV_INHIBIT_REASON_<NAME>)), "<NAME>" }
 * (or with the value in place of the enum name where the tracing core
 * substituted it). A value is used as is; otherwise the entry's position
 * is its bit: APICV_INHIBIT_REASONS lists the reasons in enum order, which
 * kernels with a built-in table check at every arm (status kernel_names=).
 * Any entry of another shape and nothing is taken. kvm's struct module is
 * reached through the tracepoint module notifier, which replays the loaded
 * modules under the list mutex, so kvm cannot go away while its format is
 * copied.
 */
#ifdef CONFIG_EVENT_TRACING
#define AT_TP_NAME	"kvm_apicv_inhibit_changed"
#define AT_FMT_MAX	4096

static char at_fmt[AT_FMT_MAX];		/* under at_probes_mutex (probes.c) */

static int at_fmt_notify(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	struct tp_module *tp = data;
	struct module *mod = tp->mod;
	unsigned int i;

	if (action != MODULE_STATE_COMING || strcmp(mod->name, "kvm"))
		return NOTIFY_DONE;
	for (i = 0; i < mod->num_trace_events; i++) {
		struct trace_event_call *call = mod->trace_events[i];
		const char *name = trace_event_name(call);

		if (!name || strcmp(name, AT_TP_NAME) || !call->print_fmt)
			continue;
		strscpy(at_fmt, call->print_fmt, AT_FMT_MAX);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block at_fmt_nb = {
	.notifier_call = at_fmt_notify,
};

void at_reasons_from_kernel(void)
{
	bool differs = false;
	int b;

	at_fmt[0] = '\0';
	if (register_tracepoint_module_notifier(&at_fmt_nb))
		return;
	unregister_tracepoint_module_notifier(&at_fmt_nb);
	if (!at_fmt[0] || !at_fmt_parse(at_fmt, at_reasons.kernel))
		return;
	at_reasons.kernel_read = true;
	for (b = 0; b < AT_MAX_BITS; b++) {
		const char *k = at_reasons.kernel[b][0] ? at_reasons.kernel[b] : NULL;
		const char *t = at_reasons.name[b];

		if (!k || (t && !strcmp(t, k)))
			continue;
		/* the running kernel is the truth */
		differs |= t != NULL;
		WRITE_ONCE(at_reasons.name[b], at_reasons.kernel[b]);
	}
	if (differs && !at_reasons.kernel_differs)
		pr_warn("reason table (%s) contradicts the running kvm; using kvm's names\n",
			at_reasons.from);
	at_reasons.kernel_differs |= differs;
	if (!at_table_from || differs)
		at_reasons.from = "running kvm (its tracepoint's format)";
	at_reasons_derive();
}
#else
void at_reasons_from_kernel(void)
{
}
#endif
