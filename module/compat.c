// SPDX-License-Identifier: GPL-2.0
/*
 * Reason names (the build headers' through reasons.h, the running kvm's,
 * reason_names=) and the per-reason facts that follow them, the hook
 * candidates' tables, and the IBT fix-up of a resolved function's
 * address; the rest of the seam is in compat.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/trace_events.h>
#include <linux/tracepoint.h>

#include "compat.h"
#include "record.h"
#include "reason_fmt.h"

#define AT_REASONS_DEFINE_TABLES
#include "reasons.h"

struct at_reasons at_reasons;

/* Serializes renaming: kvm arming (probes.c) and reason_names= writes. */
static DEFINE_MUTEX(at_reasons_mutex);

#ifdef AT_TEST_FAULTS
/*
 * test_fault= (test builds only, module/Kbuild): "layout" reads the
 * setter's arguments one register late (compat.h); "names" gives every
 * named bit the next named bit's name, a wrong table for
 * "apicv-trace verify" to catch.
 */
int at_test_fault;

static int at_set_test_fault(const char *val, const struct kernel_param *kp)
{
	static const char *const f[] = {
		[AT_FAULT_NONE] = "none", [AT_FAULT_LAYOUT] = "layout",
		[AT_FAULT_NAMES] = "names",
	};
	int i = sysfs_match_string(f, val);

	if (i < 0) {
		pr_err("test_fault: '%s' is not none, layout or names\n", val);
		return -EINVAL;
	}
	at_test_fault = i;
	return 0;
}

static const struct kernel_param_ops at_test_fault_ops = {
	.set = at_set_test_fault,
	.get = param_get_int,
};
module_param_cb(test_fault, &at_test_fault_ops, &at_test_fault, 0444);
MODULE_PARM_DESC(test_fault, "TEST BUILD ONLY: none, layout or names");

static void at_test_fault_names(void)
{
	const char *first = NULL, *prev = NULL;
	int b, last = -1;

	if (at_test_fault != AT_FAULT_NAMES)
		return;
	for (b = 0; b < AT_MAX_BITS; b++) {
		const char *n = at_reasons.name[b];

		if (!n)
			continue;
		if (!first)
			first = n;
		else
			WRITE_ONCE(at_reasons.name[last], n);
		prev = n;
		last = b;
	}
	if (last >= 0 && prev != first)
		WRITE_ONCE(at_reasons.name[last], first);
}
#else
static inline void at_test_fault_names(void)
{
}
#endif

void at_compat_canary(void)
{
#ifdef APICV_INHIBIT_REASONS
	BUILD_BUG_ON(NR_APICV_INHIBIT_REASONS > AT_MAX_BITS);
#endif
	BUILD_BUG_ON(sizeof(((struct kvm_arch *)0)->apicv_inhibit_reasons) !=
		     sizeof(unsigned long));
}

const struct at_cand *at_cands(enum at_cand_role role, unsigned int *n)
{
	switch (role) {
	case AT_CR_SETTER:
		*n = ARRAY_SIZE(at_cands_setter);
		return at_cands_setter;
	case AT_CR_REQUEST:
		*n = ARRAY_SIZE(at_cands_request);
		return at_cands_request;
	case AT_CR_APIC_BASE:
		*n = ARRAY_SIZE(at_cands_apic_base);
		return at_cands_apic_base;
	}
	*n = 0;
	return NULL;
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

/*
 * Recompute what depends on the names in use. Handlers read these fields
 * without a lock while reason_names= may be written: each is computed
 * whole, then stored once (WRITE_ONCE; readers READ_ONCE).
 */
static void at_reasons_derive(void)
{
	unsigned long known = 0, sticky;
	int b;

	for (b = 0; b < AT_MAX_BITS; b++)
		if (at_reasons.name[b])
			known |= BIT(b);
	sticky = at_mask_of(at_sticky_names, ARRAY_SIZE(at_sticky_names));
	/* only SynIC sets HYPERV where the setter has no locked variant */
	if (at_reasons.hyperv_sticky && at_reason_bit("HYPERV") >= 0)
		sticky |= BIT(at_reason_bit("HYPERV"));
	/*
	 * Without PHYSICAL_ID_ALIASED (5.19 to 6.2), APIC_ID_MODIFIED is set
	 * by kvm_lapic_xapic_id_updated() and never cleared.
	 */
	if (at_reason_bit("PHYSICAL_ID_ALIASED") < 0 &&
	    at_reason_bit("APIC_ID_MODIFIED") >= 0)
		sticky |= BIT(at_reason_bit("APIC_ID_MODIFIED"));
	WRITE_ONCE(at_reasons.sticky, sticky);
	WRITE_ONCE(at_reasons.vmx_honoured,
		   at_mask_of(at_vmx_names, ARRAY_SIZE(at_vmx_names)));
	WRITE_ONCE(at_reasons.svm_honoured, known);
	WRITE_ONCE(at_reasons.apic_map_bits,
		   at_mask_of(at_apic_map_names, ARRAY_SIZE(at_apic_map_names)));
	WRITE_ONCE(at_reasons.disable_bit, at_bit_of("DISABLED", "DISABLE"));
	WRITE_ONCE(at_reasons.irqwin_bit, at_bit_of("IRQWIN", NULL));
	WRITE_ONCE(at_reasons.apic_id_bit, at_bit_of("APIC_ID_MODIFIED", NULL));
	WRITE_ONCE(at_reasons.phys_alias_bit,
		   at_bit_of("PHYSICAL_ID_ALIASED", NULL));
}

/*
 * Fill the bits nothing else names from reason_names=, never with a name
 * another bit has (a value given at load is checked before the headers'
 * names are in). Caller holds at_reasons_mutex.
 */
static void at_reasons_fill_param(void)
{
	int b;

	for (b = 0; b < AT_MAX_BITS; b++)
		if (!at_reasons.name[b] && at_reasons.param[b][0] &&
		    at_reason_bit(at_reasons.param[b]) < 0)
			WRITE_ONCE(at_reasons.name[b], at_reasons.param[b]);
}

void at_reasons_init(void)
{
	int b;

	mutex_lock(&at_reasons_mutex);
	for (b = 0; b < AT_MAX_BITS; b++)
		at_reasons.name[b] = at_header_names[b];
	at_reasons.from = AT_HEADER_NAMES_FROM ?: "none: the headers name no reason";
	at_reasons_fill_param();
	at_test_fault_names();
	at_reasons_derive();
	mutex_unlock(&at_reasons_mutex);
}

void at_reasons_setter(const struct at_cand *setter)
{
	mutex_lock(&at_reasons_mutex);
	at_reasons.hyperv_sticky = at_hyperv_sticky(setter);
	at_reasons_derive();
	mutex_unlock(&at_reasons_mutex);
}

/*
 * reason_names=BIT=NAME[,BIT=NAME...]: names for bits that neither the
 * build headers nor the running kvm's tracepoint format name (a kernel
 * newer than the headers know; "apicv-trace names --apply" writes kvm's
 * BTF names here). A bit named once keeps its name until the module is
 * unloaded (a reader may hold it); a name for a bit already named
 * otherwise is kept for status but not used. The whole value is checked
 * before anything is taken; reading the parameter gives every name
 * taken so far.
 */
#define AT_PARAM_MAX	(AT_MAX_BITS * (AT_NAME_LEN + 4))
static char at_names_param[AT_PARAM_MAX];

static bool at_name_char(char c)
{
	/* not isupper(): the kernel's ctype takes Latin-1 letters too */
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int at_names_item(char *item, char (*out)[AT_NAME_LEN])
{
	char *name = strchr(item, '=');
	unsigned int bit;
	size_t i, len;
	int b;

	if (!name) {
		pr_err("reason_names: '%s' is not BIT=NAME\n", item);
		return -EINVAL;
	}
	*name++ = '\0';
	if (kstrtouint(item, 10, &bit) || bit >= AT_MAX_BITS) {
		pr_err("reason_names: bit '%s' is not a number below %d\n",
		       item, AT_MAX_BITS);
		return -EINVAL;
	}
	len = strlen(name);
	if (!len || len >= AT_NAME_LEN) {
		pr_err("reason_names: %u: name must be 1..%d characters\n",
		       bit, AT_NAME_LEN - 1);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!at_name_char(name[i])) {
			pr_err("reason_names: %u=%s: a name is [A-Z0-9_]\n",
			       bit, name);
			return -EINVAL;
		}
	}
	if (out[bit][0] && strcmp(out[bit], name)) {
		pr_err("reason_names: bit %u is named twice\n", bit);
		return -EINVAL;
	}
	for (b = 0; b < AT_MAX_BITS; b++) {
		if (b != bit && !strcmp(out[b], name)) {
			pr_err("reason_names: %s is given to bits %d and %u\n",
			       name, b, bit);
			return -EINVAL;
		}
	}
	strscpy(out[bit], name, AT_NAME_LEN);
	return 0;
}

/*
 * Would @names clash with what is in use? A bit keeps the first name it
 * was given; a name already in use for another bit would make one name
 * two bits (at_reason_bit() takes the lowest). Caller holds
 * at_reasons_mutex.
 */
static int at_names_clash(char (*names)[AT_NAME_LEN])
{
	int b, other;

	for (b = 0; b < AT_MAX_BITS; b++) {
		if (!names[b][0])
			continue;
		if (at_reasons.param[b][0] && strcmp(names[b], at_reasons.param[b])) {
			pr_err("reason_names: bit %d is already %s until the module is unloaded\n",
			       b, at_reasons.param[b]);
			return -EBUSY;
		}
		other = at_reason_bit(names[b]);
		if (other >= 0 && other != b) {
			pr_err("reason_names: %s is already the name of bit %d\n",
			       names[b], other);
			return -EINVAL;
		}
	}
	return 0;
}

/* at_names_param: every name taken, BIT=NAME,... Caller holds the mutex. */
static void at_names_param_show(void)
{
	size_t off = 0;
	int b;

	at_names_param[0] = '\0';
	for (b = 0; b < AT_MAX_BITS; b++)
		if (at_reasons.param[b][0])
			off += scnprintf(at_names_param + off,
					 sizeof(at_names_param) - off, "%s%d=%s",
					 off ? "," : "", b, at_reasons.param[b]);
}

static int at_set_reason_names(const char *val, const struct kernel_param *kp)
{
	char buf[AT_PARAM_MAX], (*names)[AT_NAME_LEN], *p, *item;
	int b, ret = 0;

	if (strlen(val) >= sizeof(buf)) {
		pr_err("reason_names: longer than %d characters\n",
		       AT_PARAM_MAX - 1);
		return -EINVAL;
	}
	strscpy(buf, val, sizeof(buf));
	p = strim(buf);
	if (!*p)
		return 0;	/* nothing to name: nothing changes */
	names = kcalloc(AT_MAX_BITS, AT_NAME_LEN, GFP_KERNEL);
	if (!names)
		return -ENOMEM;
	while ((item = strsep(&p, ",")) != NULL) {
		if (!*item) {
			pr_err("reason_names: an empty item (two commas, or one at an end)\n");
			ret = -EINVAL;
			goto out;
		}
		ret = at_names_item(item, names);
		if (ret)
			goto out;
	}
	mutex_lock(&at_reasons_mutex);
	ret = at_names_clash(names);
	if (!ret) {
		for (b = 0; b < AT_MAX_BITS; b++)
			if (names[b][0] && !at_reasons.param[b][0])
				strscpy(at_reasons.param[b], names[b],
					AT_NAME_LEN);
		at_reasons_fill_param();
		at_reasons_derive();
		at_names_param_show();
	}
	mutex_unlock(&at_reasons_mutex);
out:
	kfree(names);
	return ret;
}

static const struct kernel_param_ops at_reason_names_ops = {
	.set = at_set_reason_names,
	.get = param_get_string,
};

static struct kparam_string at_names_kps = {
	.maxlen = sizeof(at_names_param), .string = at_names_param,
};
module_param_cb(reason_names, &at_reason_names_ops, &at_names_kps, 0644);
MODULE_PARM_DESC(reason_names, "BIT=NAME[,...]: names for reason bits nothing else names (apicv-trace names --apply)");

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
	mutex_lock(&at_reasons_mutex);
	if (!at_fmt[0] || !at_fmt_parse(at_fmt, at_reasons.kernel))
		goto out;
	at_reasons.kernel_read = true;
	for (b = 0; b < AT_MAX_BITS; b++) {
		const char *k = at_reasons.kernel[b][0] ? at_reasons.kernel[b] : NULL;
		const char *t = at_reasons.name[b];

		if (!k || (t && !strcmp(t, k)))
			continue;
		/* the running kernel is the truth (over reason_names= too) */
		differs |= t && t != at_reasons.param[b];
		WRITE_ONCE(at_reasons.name[b], at_reasons.kernel[b]);
	}
	if (differs && !at_reasons.kernel_differs)
		pr_warn("reason table (%s) contradicts the running kvm; using kvm's names\n",
			at_reasons.from);
	at_reasons.kernel_differs |= differs;
	if (!AT_HEADER_NAMES_FROM || differs)
		at_reasons.from = "running kvm (its tracepoint's format)";
	at_test_fault_names();
	at_reasons_derive();
out:
	mutex_unlock(&at_reasons_mutex);
}
#else
void at_reasons_from_kernel(void)
{
}
#endif
