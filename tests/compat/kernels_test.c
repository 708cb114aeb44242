// SPDX-License-Identifier: GPL-2.0
/*
 * kernels_test: what module/reasons.h makes of one upstream release.
 *
 * Built by kernels_test.py against a temporary include directory holding
 * that release's asm/kvm_host.h (tests/compat/releases/<ver>.h), its
 * linux/version.h and the at_features.h that module/conftest.sh produced
 * from them, so the names come from exactly the code paths the module
 * compiles. Run with the release's kvm symbols as arguments, it picks the
 * roles the way probes.c and hooks.c do and derives sticky and VMX names
 * the way compat.c does, and prints one "key value" line each for the
 * harness to compare with releases/expected.tsv.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/version.h>
#include <linux/kvm_host.h>

#define AT_MAX_BITS 16
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AT_REASONS_DEFINE_TABLES
#include "reasons.h"

struct syms {
	int argc;
	char **argv;
};

static bool sym_exists(const char *sym, void *ctx)
{
	const struct syms *s = ctx;
	int i;

	for (i = 0; i < s->argc; i++)
		if (!strcmp(s->argv[i], sym))
			return true;
	return false;
}

/* at_cand_pick()'s look-up: the symbol, or a .part.N clone if allowed */
static int cand_exists(const struct at_cand *c, void *ctx)
{
	const struct syms *s = ctx;
	size_t n = strlen(c->sym);
	int i;

	if (sym_exists(c->sym, ctx))
		return 1;
	if (!(c->flags & AT_C_PART))
		return 0;
	for (i = 0; i < s->argc; i++)
		if (!strncmp(s->argv[i], c->sym, n) &&
		    !strncmp(s->argv[i] + n, ".part.", 6))
			return 1;
	return 0;
}

static int bit_of(const char *name)
{
	int b;

	for (b = 0; b < AT_MAX_BITS; b++)
		if (at_header_names[b] && !strcmp(at_header_names[b], name))
			return b;
	return -1;
}

static const char *layout_name(enum at_layout l)
{
	switch (l) {
	case AT_L_FIXED:
		return "FIXED";
	case AT_L_REASON_SET:
		return "REASON_SET";
	case AT_L_ACTIVATE_BIT:
		return "ACTIVATE_BIT";
	case AT_L_APIC_BASE:
		return "APIC_BASE";
	}
	return "?";
}

/* "A,B,C" in bit order, or "-": the harness sorts where order is free */
static void print_mask(const char *key, unsigned long mask)
{
	bool first = true;
	int b;

	printf("%s ", key);
	for (b = 0; b < AT_MAX_BITS; b++) {
		if (!(mask & (1UL << b)))
			continue;
		printf("%s%s", first ? "" : ",", at_header_names[b]);
		first = false;
	}
	printf("%s\n", first ? "-" : "");
}

static unsigned long mask_of(const char *const *names, size_t n)
{
	unsigned long m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (bit_of(names[i]) >= 0)
			m |= 1UL << bit_of(names[i]);
	return m;
}

/*
 * conftest.sh's findings, printed as found, so that a probe that breaks
 * for one release shows as that probe and not only as a wrong name
 */
static void print_features(void)
{
	static const struct {
		const char *name;
		bool have;
	} f[] = {
#define F(x, have) { #x, have }
#ifdef AT_HAVE_ENUM_APICV_INHIBIT
		F(ENUM_APICV_INHIBIT, true),
#endif
#ifdef AT_HAVE_REQUIRED_APICV_INHIBITS
		F(REQUIRED_APICV_INHIBITS, true),
#endif
#ifdef AT_HAVE_REQUEST_APICV_UPDATE
		F(REQUEST_APICV_UPDATE, true),
#endif
#ifdef AT_HAVE_SET_OR_CLEAR_INHIBIT
		F(SET_OR_CLEAR_INHIBIT, true),
#endif
#ifdef AT_HAVE___REQUEST_APICV_UPDATE
		F(__REQUEST_APICV_UPDATE, true),
#endif
		F(-, false),
#undef F
	};
	size_t i;
	bool first = true;

	printf("features ");
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		if (!f[i].have)
			continue;
		printf("%s%s", first ? "" : ",", f[i].name);
		first = false;
	}
	printf("%s\n", first ? "-" : "");
}

/* the reason constants conftest.sh found (AT_HAVE_REASON_*), by name */
static void print_probed_reasons(void)
{
	static const char *const probed[] = {
#define R(x) #x
#ifdef AT_HAVE_REASON_DISABLE
		R(DISABLE),
#endif
#ifdef AT_HAVE_REASON_DISABLED
		R(DISABLED),
#endif
#ifdef AT_HAVE_REASON_HYPERV
		R(HYPERV),
#endif
#ifdef AT_HAVE_REASON_NESTED
		R(NESTED),
#endif
#ifdef AT_HAVE_REASON_IRQWIN
		R(IRQWIN),
#endif
#ifdef AT_HAVE_REASON_PIT_REINJ
		R(PIT_REINJ),
#endif
#ifdef AT_HAVE_REASON_X2APIC
		R(X2APIC),
#endif
#ifdef AT_HAVE_REASON_BLOCKIRQ
		R(BLOCKIRQ),
#endif
#ifdef AT_HAVE_REASON_ABSENT
		R(ABSENT),
#endif
#ifdef AT_HAVE_REASON_SEV
		R(SEV),
#endif
#ifdef AT_HAVE_REASON_APIC_ID_MODIFIED
		R(APIC_ID_MODIFIED),
#endif
#ifdef AT_HAVE_REASON_APIC_BASE_MODIFIED
		R(APIC_BASE_MODIFIED),
#endif
#ifdef AT_HAVE_REASON_PHYSICAL_ID_ALIASED
		R(PHYSICAL_ID_ALIASED),
#endif
#ifdef AT_HAVE_REASON_LOGICAL_ID_ALIASED
		R(LOGICAL_ID_ALIASED),
#endif
#ifdef AT_HAVE_REASON_PHYSICAL_ID_TOO_BIG
		R(PHYSICAL_ID_TOO_BIG),
#endif
		NULL,
#undef R
	};
	size_t i;

	printf("probed_reasons ");
	for (i = 0; probed[i]; i++)
		printf("%s%s", i ? "," : "", probed[i]);
	printf("%s\n", i ? "" : "-");
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

int main(int argc, char **argv)
{
	struct syms s = { argc - 1, argv + 1 };
	const struct at_cand *setter = NULL, *request = NULL, *base = NULL;
	unsigned long known = 0, sticky;
	int b, i, last = -1;
	bool pa = bit_of("PHYSICAL_ID_ALIASED") >= 0;
	bool idm = bit_of("APIC_ID_MODIFIED") >= 0;

	/* bit order up to the last named bit; a hole prints as "unknown" */
	for (b = 0; b < AT_MAX_BITS; b++)
		if (at_header_names[b]) {
			known |= 1UL << b;
			last = b;
		}
	printf("names_from %s\n", AT_HEADER_NAMES_FROM ? AT_HEADER_NAMES_FROM : "-");
	printf("names ");
	for (b = 0; b <= last; b++)
		printf("%s%s", b ? "," : "",
		       at_header_names[b] ? at_header_names[b] : "unknown");
	printf("%s\n", last < 0 ? "-" : "");

	i = at_cand_pick(at_cands_setter, ARRAY_SIZE(at_cands_setter),
			 cand_exists, &s, NULL);
	if (i >= 0)
		setter = &at_cands_setter[i];
	if (at_role_request(setter)) {
		i = at_cand_pick(at_cands_request, ARRAY_SIZE(at_cands_request),
				 cand_exists, &s, setter ? setter->sym : NULL);
		if (i >= 0)
			request = &at_cands_request[i];
	}
	i = at_cand_pick(at_cands_apic_base, ARRAY_SIZE(at_cands_apic_base),
			 cand_exists, &s, NULL);
	if (i >= 0)
		base = &at_cands_apic_base[i];

	printf("setter %s\n", setter ? setter->sym : "-");
	printf("layout %s\n", setter ? layout_name(setter->layout) : "-");
	printf("request %s\n", request ? request->sym : "-");
	printf("init_reasons %s\n", yes_no(at_role_init_reasons(setter) &&
				       sym_exists("kvm_apicv_init", &s)));
	printf("apic_id %s\n", yes_no(at_role_xapic_id(idm, pa) &&
				  sym_exists("kvm_lapic_xapic_id_updated", &s)));
	printf("apic_map %s\n", yes_no(at_role_apic_map(pa) &&
				   sym_exists("kvm_recalculate_apic_map", &s)));
	printf("irq_window %s\n",
	       yes_no(sym_exists("kvm_inc_or_dec_irq_window_inhibit", &s)));
	printf("apic_base %s\n", base ? base->sym : "-");
	printf("apic_base_layout %s\n", base ? layout_name(base->layout) : "-");

	/* as compat.c at_reasons_derive() */
	sticky = mask_of(at_sticky_names, ARRAY_SIZE(at_sticky_names));
	if (at_hyperv_sticky(setter) && bit_of("HYPERV") >= 0)
		sticky |= 1UL << bit_of("HYPERV");
	if (!pa && idm)
		sticky |= 1UL << bit_of("APIC_ID_MODIFIED");
	print_mask("sticky", sticky & known);
	print_mask("vmx", mask_of(at_vmx_names, ARRAY_SIZE(at_vmx_names)));
	print_mask("svm", known);
	print_features();
	print_probed_reasons();
#ifdef APICV_INHIBIT_REASONS
	/* the X-macro's count must fit the mask the module records */
	_Static_assert(NR_APICV_INHIBIT_REASONS <= AT_MAX_BITS, "NR too big");
	printf("nr %d\n", (int)NR_APICV_INHIBIT_REASONS);
#else
	printf("nr -\n");
#endif
	return 0;
}
