// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace tests for module/reason_fmt.h: reading reason names out of the
 * print format of KVM's kvm_apicv_inhibit_changed tracepoint.
 *
 * The two real formats are copied from Debian's kvm.ko (6.12.118 and
 * 7.3.4; 7.2's is 7.3's). The rule under test: a bit gets a name only
 * when the format leaves no doubt; anything unexpected names nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reason_fmt.h"

static const char fmt_612[] =
	"\"%s reason=%u, inhibits=0x%lx%s%s\", REC->set ? \"set\" : \"cleared\", REC-"
	">reason, (REC->inhibits), (REC->inhibits) ? \" \" : \"\", (REC->inhibits) "
	"? __print_flags(REC->inhibits, \"|\", { ((((1UL))) << (APICV_INHIBIT_REA"
	"SON_DISABLED)), \"DISABLED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_HY"
	"PERV)), \"HYPERV\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_ABSENT)), \"A"
	"BSENT\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_BLOCKIRQ)), \"BLOCKIRQ\""
	" }, { ((((1UL))) << (APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED)), \"PHYS"
	"ICAL_ID_ALIASED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_APIC_ID_MODI"
	"FIED)), \"APIC_ID_MODIFIED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_AP"
	"IC_BASE_MODIFIED)), \"APIC_BASE_MODIFIED\" }, { ((((1UL))) << (APICV_INH"
	"IBIT_REASON_NESTED)), \"NESTED\" }, { ((((1UL))) << (APICV_INHIBIT_REASO"
	"N_IRQWIN)), \"IRQWIN\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_PIT_REIN"
	"J)), \"PIT_REINJ\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_SEV)), \"SEV\""
	" }, { ((((1UL))) << (APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED)), \"LOGIC"
	"AL_ID_ALIASED\" }) : \"\"";

static const char fmt_73[] =
	"\"%s reason=%u, inhibits=0x%lx%s%s\", REC->set ? \"set\" : \"cleared\", REC-"
	">reason, (REC->inhibits), (REC->inhibits) ? \" \" : \"\", (REC->inhibits) "
	"? __print_flags(REC->inhibits, \"|\", { ((((1UL))) << (APICV_INHIBIT_REA"
	"SON_DISABLED)), \"DISABLED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_HY"
	"PERV)), \"HYPERV\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_ABSENT)), \"A"
	"BSENT\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_BLOCKIRQ)), \"BLOCKIRQ\""
	" }, { ((((1UL))) << (APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED)), \"PHYS"
	"ICAL_ID_ALIASED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_APIC_ID_MODI"
	"FIED)), \"APIC_ID_MODIFIED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_AP"
	"IC_BASE_MODIFIED)), \"APIC_BASE_MODIFIED\" }, { ((((1UL))) << (APICV_INH"
	"IBIT_REASON_NESTED)), \"NESTED\" }, { ((((1UL))) << (APICV_INHIBIT_REASO"
	"N_IRQWIN)), \"IRQWIN\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_PIT_REIN"
	"J)), \"PIT_REINJ\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_SEV)), \"SEV\""
	" }, { ((((1UL))) << (APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED)), \"LOGIC"
	"AL_ID_ALIASED\" }, { ((((1UL))) << (APICV_INHIBIT_REASON_PHYSICAL_ID_TO"
	"O_BIG)), \"PHYSICAL_ID_TOO_BIG\" }) : \"\"";

static const char *const names_612[] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED",
};

static const char *const names_73[] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG",
};

static int failures, cases;

static void expect(const char *what, int cond)
{
	cases++;
	if (!cond) {
		failures++;
		printf("FAIL %s\n", what);
	} else {
		printf("ok   %s\n", what);
	}
}

/* parse @fmt into a fresh table; return the number of entries */
static int parse(const char *fmt, char names[][AT_NAME_LEN])
{
	memset(names, 0, AT_MAX_BITS * AT_NAME_LEN);
	return at_fmt_parse(fmt, names);
}

static int table_is(char names[][AT_NAME_LEN], const char *const *want, int nr)
{
	int b;

	for (b = 0; b < AT_MAX_BITS; b++) {
		const char *w = b < nr ? want[b] : "";

		if (strcmp(names[b], w)) {
			printf("     bit %d: got '%s', want '%s'\n", b, names[b], w);
			return 0;
		}
	}
	return 1;
}

/* replace the first @from in @s by @to, into a new buffer */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n = strlen(s) + strlen(to) + 1;
	char *out = malloc(n);

	if (!out || !at) {
		fprintf(stderr, "subst: '%s' not found\n", from);
		exit(2);
	}
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

int main(void)
{
	char names[AT_MAX_BITS][AT_NAME_LEN];
	char *f;

	expect("6.12: 12 entries", parse(fmt_612, names) == 12);
	expect("6.12: every bit named as in the 6.12 enum",
	       table_is(names, names_612, 12));
	expect("7.3: 13 entries", parse(fmt_73, names) == 13);
	expect("7.3: every bit named as in the 7.3 enum",
	       table_is(names, names_73, 13));

	/* the tracing core may have put the values in: they win over order */
	f = subst(fmt_73, "(APICV_INHIBIT_REASON_IRQWIN)", "(8)");
	expect("value in place of the enum name", parse(f, names) == 13 &&
	       table_is(names, names_73, 13));
	free(f);
	f = subst(fmt_73, "(APICV_INHIBIT_REASON_DISABLED)", "(14)");
	expect("a value puts the name on that bit",
	       parse(f, names) == 13 && !strcmp(names[14], "DISABLED") &&
	       !names[0][0]);
	free(f);

	/* anything doubtful names nothing */
	f = subst(fmt_73, "(APICV_INHIBIT_REASON_HYPERV)", "(APICV_INHIBIT_REASON_SEV)");
	expect("enum name and string disagree: nothing", parse(f, names) == 0 &&
	       !names[1][0] && !names[0][0]);
	free(f);
	f = subst(fmt_73, "(APICV_INHIBIT_REASON_DISABLED)", "(1)");
	expect("two names on one bit: nothing", parse(f, names) == 0 && !names[1][0]);
	free(f);
	f = subst(fmt_73, "(APICV_INHIBIT_REASON_DISABLED)", "(99)");
	expect("a value past the mask: nothing", parse(f, names) == 0);
	free(f);
	f = subst(fmt_73, "(APICV_INHIBIT_REASON_DISABLED)", "(4294967297)");
	expect("an overflowing value: nothing", parse(f, names) == 0);
	free(f);
	f = subst(fmt_73, "\"NESTED\"", "\"nested reason\"");
	expect("a name that is not an identifier: nothing", parse(f, names) == 0);
	free(f);
	f = subst(fmt_73, "\"NESTED\"", "\"A_NAME_MUCH_TOO_LONG_FOR_THE_TABLE\"");
	expect("a name too long: nothing", parse(f, names) == 0);
	free(f);
	f = subst(fmt_73, "\"NESTED\" }", "\"NESTED }");
	expect("an unterminated name: nothing", parse(f, names) == 0);
	free(f);
	expect("no __print_flags: nothing",
	       parse("\"%s reason=%u, inhibits=0x%lx\", REC->set", names) == 0);
	expect("an empty table: nothing", parse("__print_flags(x, \"|\")", names) == 0);
	expect("empty string: nothing", parse("", names) == 0);

	/* names already read are kept: readers may be printing them */
	memset(names, 0, sizeof(names));
	strcpy(names[0], "KEEP");
	expect("filled slots are not overwritten",
	       at_fmt_parse(fmt_73, names) == 13 && !strcmp(names[0], "KEEP") &&
	       !strcmp(names[12], "PHYSICAL_ID_TOO_BIG"));

	printf("reason_fmt: %d passed, %d failed\n", cases - failures, failures);
	return failures ? 1 : 0;
}
