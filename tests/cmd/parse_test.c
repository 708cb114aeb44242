// SPDX-License-Identifier: GPL-2.0
/*
 * parse_test.c - unit tests of cmd/parse.c, cmd/hints.c and cmd/util.c.
 * Built plain and with ASan+UBSan by tests/cmd/Makefile. Prints
 * "N passed, M failed" and exits non-zero on any failure.
 */
#include "../../cmd/hints.h"
#include "../../cmd/parse.h"
#include "../../cmd/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)

static int check(int ok, const char *what, const char *file, int line)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	}
	return ok;
}

static int streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void rec_of(struct rec *r, const char *line)
{
	if (rec_parse(r, line, strlen(line)))
		abort();
}

static void test_tokens(void)
{
	struct rec r;

	rec_of(&r, "vm=1-2 pid=3 comm=qemu apicv=active");
	CHECK(r.n == 4);
	CHECK(streq(rec_kind(&r), "vm"));
	CHECK(streq(rec_str(&r, "vm"), "1-2"));
	CHECK(streq(rec_str(&r, "comm"), "qemu"));
	CHECK(rec_str(&r, "nope") == NULL);
	CHECK(!rec_has(&r, "nope"));
	rec_free(&r);

	/* quoted value with spaces (status: reasons_from="...") */
	rec_of(&r, "reasons_from=\"enum kvm_apicv_inhibit (6.1 headers)\" kernel_names=agree");
	CHECK(streq(rec_str(&r, "reasons_from"), "enum kvm_apicv_inhibit (6.1 headers)"));
	CHECK(streq(rec_str(&r, "kernel_names"), "agree"));
	rec_free(&r);

	/* unterminated quote: to the end of the line */
	rec_of(&r, "a=\"x y");
	CHECK(streq(rec_str(&r, "a"), "x y"));
	rec_free(&r);

	/* bare words, "=v" without key, empty value, duplicate keys */
	rec_of(&r, "apic_id_mismatch =orphan vcpu_id= x=1 x=2  \t y=3 ");
	CHECK(streq(rec_kind(&r), "apic_id_mismatch"));
	CHECK(rec_has(&r, "apic_id_mismatch"));
	CHECK(rec_str(&r, "apic_id_mismatch") == NULL);
	CHECK(!rec_has(&r, ""));
	CHECK(rec_has(&r, "vcpu_id") && rec_str(&r, "vcpu_id") == NULL);
	CHECK(streq(rec_str(&r, "x"), "1"));	/* first wins */
	CHECK(streq(rec_str(&r, "y"), "3"));
	CHECK(r.n == 5);
	rec_free(&r);

	/* value containing '=' */
	rec_of(&r, "k=a=b");
	CHECK(streq(rec_str(&r, "k"), "a=b"));
	rec_free(&r);

	/* NUL bytes inside a line are read as spaces */
	{
		const char line[] = "a=1\0b=2";

		CHECK(!rec_parse(&r, line, sizeof(line) - 1));
		CHECK(streq(rec_str(&r, "a"), "1") && streq(rec_str(&r, "b"), "2"));
		rec_free(&r);
	}

	/* empty and blank lines */
	rec_of(&r, "");
	CHECK(r.n == 0 && streq(rec_kind(&r), ""));
	rec_free(&r);
	rec_of(&r, "   \t ");
	CHECK(r.n == 0);
	rec_free(&r);

	/* yes/no */
	rec_of(&r, "a=yes b=no c=maybe d=");
	CHECK(rec_yesno(&r, "a") == 1 && rec_yesno(&r, "b") == 0);
	CHECK(rec_yesno(&r, "c") == -1 && rec_yesno(&r, "d") == -1 &&
	      rec_yesno(&r, "e") == -1);
	CHECK(rec_is(&r, "a", "yes") && !rec_is(&r, "d", ""));
	rec_free(&r);
}

static void test_numbers(void)
{
	uint64_t v = 7;

	CHECK(parse_u64("0", &v) && v == 0);
	CHECK(parse_u64("42", &v) && v == 42);
	CHECK(parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
	v = 7;
	CHECK(!parse_u64("18446744073709551616", &v) && v == 7);
	CHECK(!parse_u64("99999999999999999999999", &v));
	CHECK(!parse_u64("-1", &v));
	CHECK(!parse_u64("+1", &v));
	CHECK(!parse_u64("12a", &v));
	CHECK(!parse_u64(" 1", &v));
	CHECK(!parse_u64("", &v));
	CHECK(!parse_u64(NULL, &v));
	CHECK(!parse_u64("-", &v));
	CHECK(!parse_u64("?", &v));
	CHECK(parse_u64("0x10", &v) && v == 16);
	CHECK(parse_u64("0xFFFFFFFFFFFFFFFF", &v) && v == UINT64_MAX);
	CHECK(!parse_u64("0x10000000000000000", &v));
	CHECK(!parse_u64("0x", &v));
	CHECK(!parse_u64("0xzz", &v));
	CHECK(parse_hex("0x110", &v) && v == 0x110);
	CHECK(!parse_hex("110", &v));
}

static void test_reasons(void)
{
	char b[8];

	CHECK(reasons_count("-") == 0);
	CHECK(reasons_count("") == 0);
	CHECK(reasons_count(NULL) == 0);
	CHECK(reasons_count("PIT_REINJ") == 1);
	CHECK(reasons_count("A|B|C") == 3);
	reasons_nth("A|BB|C", 1, b, sizeof(b));
	CHECK(streq(b, "BB"));
	reasons_nth("A|BB|C", 2, b, sizeof(b));
	CHECK(streq(b, "C"));
	reasons_nth("A|BB|C", 3, b, sizeof(b));
	CHECK(streq(b, ""));
	reasons_nth("A||C", 1, b, sizeof(b));
	CHECK(streq(b, ""));
	reasons_nth("APIC_ID_MODIFIED", 0, b, sizeof(b));
	CHECK(streq(b, "APIC_ID"));	/* cut to the buffer */
}

static void test_files(void)
{
	static const char vms_text[] =
		"vm=1-1 pid=1 apicv=active\n"
		"\n"
		"garbage\n"
		"vm= pid=2\n"
		"future_kind vm=9-9\n"
		"vm=2-2 pid=2 new_key=x\r\n"
		"vm=3-3 pid=3";		/* no newline at the end */
	static const char state_text[] =
		"vm=5-5 id=1 pid=5 vcpus=2 status=live\n"
		"apicv=inhibited since_ns=10 for_ms=1 mask=0x10 reasons=APIC_ID_MODIFIED\n"
		"created_ns=1 exited_ns=0 transitions=1 events=2 lost=0 vm=other\n"
		"reason=APIC_ID_MODIFIED bit=4 now=set sets=1 clears=0 inhibited_ms=5 sticky=yes since_ns=10\n"
		"reason= bit=9\n"
		"apic_id_mismatch vcpu_id=256 xapic_id=1 compared_with=0 ns=10 site=kvm_apic_set_state+0x30a\n"
		"new_line_kind x=1\n"
		"reason=IRQWIN bit=7 now=clear sets=3 clears=3";
	struct vms v;
	struct state s;
	struct file f;
	size_t i;

	CHECK(!vms_parse(&v, vms_text, sizeof(vms_text) - 1));
	CHECK(v.n == 3);
	CHECK(vms_find(&v, "2-2") && streq(rec_str(vms_find(&v, "2-2"), "new_key"), "x"));
	CHECK(vms_find(&v, "3-3") != NULL);	/* last line without newline */
	CHECK(vms_find(&v, "9-9") == NULL);	/* other line kinds ignored */
	CHECK(vms_find(&v, "") == NULL);
	vms_free(&v);

	CHECK(!state_parse(&s, state_text, sizeof(state_text) - 1));
	CHECK(s.have_head == 7);
	CHECK(streq(rec_str(&s.head, "vm"), "5-5"));	/* first wins */
	CHECK(streq(rec_str(&s.head, "reasons"), "APIC_ID_MODIFIED"));
	CHECK(streq(rec_str(&s.head, "lost"), "0"));
	CHECK(s.nreasons == 2);
	CHECK(state_reason(&s, "IRQWIN") && state_reason(&s, "APIC_ID_MODIFIED"));
	CHECK(state_reason(&s, "NOPE") == NULL);
	CHECK(s.mismatch && streq(rec_str(s.mismatch, "vcpu_id"), "256"));
	state_free(&s);

	/* every prefix of the file (a truncated read) parses without harm */
	for (i = 0; i <= sizeof(state_text) - 1; i++) {
		if (state_parse(&s, state_text, i)) {
			CHECK(0);
			break;
		}
		state_free(&s);
	}
	CHECK(i == sizeof(state_text));

	CHECK(!state_parse(&s, "", 0));
	CHECK(s.have_head == 0 && s.nreasons == 0 && !s.mismatch);
	state_free(&s);

	CHECK(!file_parse(&f, "\n\n\n", 3));
	CHECK(f.n == 0);
	file_free(&f);
}

static void test_events(void)
{
	struct rec r;

	rec_of(&r, "seq=1 ns=2 vm=1-1 event=set");
	CHECK(event_kind(&r) == EV_RECORD);
	rec_free(&r);
	rec_of(&r, "lost=82 vm=104-5");
	CHECK(event_kind(&r) == EV_LOST);
	rec_free(&r);
	rec_of(&r, "capped=7 vm=104-5");
	CHECK(event_kind(&r) == EV_CAPPED && rec_is(&r, "vm", "104-5"));
	rec_free(&r);
	CHECK(key_known(capped_keys, "capped") && key_known(capped_keys, "vm"));
	rec_of(&r, "seqx=1");
	CHECK(event_kind(&r) == EV_NONE);
	rec_free(&r);
	CHECK(key_known(event_keys, "alias") && !key_known(event_keys, "future"));
	/* lapic_set's apic_id=, apic_base's was=: known, not "extra" */
	CHECK(key_known(event_keys, "apic_id") && key_known(event_keys, "was"));
	CHECK(streq(mismatch_keys[0], "apic_id_mismatch") &&
	      key_known(mismatch_keys, "compared_with"));
	CHECK(key_known(lost_keys, "lost") && key_known(state_head_keys, "baseline"));
	CHECK(key_known(state_reason_keys, "last_clear_site"));
	CHECK(key_known(vms_keys, "flapping") && key_known(vms_keys, "comm"));
}

static void test_hints(void)
{
	static const char *const names[] = {
		"DISABLE", "DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ",
		"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
		"PIT_REINJ", "SEV", "X2APIC", "PHYSICAL_ID_ALIASED",
		"LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG", NULL
	};
	const struct hint *t = hint_table();
	size_t i;

	for (i = 0; names[i]; i++) {
		const struct hint *h = hint_for(names[i]);

		if (!CHECK(h->known && h->cause && h->fix))
			fprintf(stderr, "  no hint for %s\n", names[i]);
	}
	for (i = 0; t[i].name; i++)
		CHECK(hint_for(t[i].name)->known);
	CHECK(!hint_for("unknown")->known);
	CHECK(!hint_for("FUTURE_REASON")->known);
	CHECK(!hint_for(NULL)->known && hint_for(NULL)->cause);
	CHECK(!hint_for("")->known);
	CHECK(hint_for("DISABLED") == hint_for("DISABLE"));
	CHECK(strstr(hint_for("PIT_REINJ")->fix, "kvm-pit.lost_tick_policy=discard") != NULL);
	CHECK(strstr(hint_for("PIT_REINJ")->cause, "delay") != NULL);
	CHECK(strstr(hint_for("HYPERV")->fix, "hv-avic") != NULL);
	CHECK(strstr(hint_for("HYPERV")->fix, "hv-synic") != NULL);
	CHECK(strstr(hint_for("BLOCKIRQ")->cause, "KVM_GUESTDBG_BLOCKIRQ") != NULL);
	CHECK(strstr(hint_for("IRQWIN")->cause, "8259") != NULL);
	CHECK(strstr(hint_for("ABSENT")->cause, "kernel-irqchip=off") != NULL);
	CHECK(strstr(hint_for("APIC_ID_MODIFIED")->cause, "6.3") != NULL);
	CHECK(strstr(hint_for("PHYSICAL_ID_TOO_BIG")->cause, "254") != NULL);
	CHECK(strstr(hint_for("DISABLE")->fix, "avic=1") != NULL);

	CHECK(strstr(site_meaning("kvm_apic_set_state+0x30a"), "KVM_SET_LAPIC") != NULL);
	CHECK(site_meaning("kvm_apic_set_state.part.0+0x1") != NULL);
	CHECK(site_meaning("kvm_apic_set_state_x+0x1") == NULL);
	CHECK(site_meaning("kvm_apic_set") == NULL);
	CHECK(site_meaning("?") == NULL);
	CHECK(site_meaning("-") == NULL);
	CHECK(site_meaning("") == NULL);
	CHECK(site_meaning(NULL) == NULL);
}

static void test_util(void)
{
	char b[64];
	char *mem = NULL;
	size_t memlen = 0;
	FILE *o;

	dur_short(0, b, sizeof(b));
	CHECK(streq(b, "0ms"));
	dur_short(999, b, sizeof(b));
	CHECK(streq(b, "999ms"));
	dur_short(1000, b, sizeof(b));
	CHECK(streq(b, "1.0s"));
	dur_short(61500, b, sizeof(b));
	CHECK(streq(b, "1m01s"));
	dur_short(3600000, b, sizeof(b));
	CHECK(streq(b, "1h00m"));
	dur_short(90000000, b, sizeof(b));
	CHECK(streq(b, "1d01h"));
	dur_short(UINT64_MAX, b, sizeof(b));
	CHECK(strlen(b) > 0);
	dur_long(4148, b, sizeof(b));
	CHECK(streq(b, "4.1 s"));
	dur_long(7384000, b, sizeof(b));
	CHECK(streq(b, "2 h 03 min"));
	dur_short(1234, b, 3);	/* cut, still terminated */
	CHECK(strlen(b) == 2);

	clean_text("qemu\x01\xff" "\xc3\xa9t\xe9", b, sizeof(b));
	CHECK(streq(b, "qemu??\xc3\xa9t?"));
	clean_text("\xc3\xa9\xc3\xa9", b, 4);	/* no half sequence */
	CHECK(streq(b, "\xc3\xa9"));
	clean_text("\xed\xa0\x80", b, sizeof(b));	/* surrogate */
	CHECK(streq(b, "???"));

	o = open_memstream(&mem, &memlen);
	CHECK(o != NULL);
	if (o) {
		json_str(o, "a\"b\\c\nd\x01\xff\xc3\xa9");
		fputc(' ', o);
		json_str(o, NULL);
		fputc(' ', o);
		json_reasons(o, "A||B");
		fputc(' ', o);
		json_reasons(o, "-");
		fputc(' ', o);
		prom_label(o, "we\"ird\\name\n");
		fclose(o);
		if (!CHECK(streq(mem, "\"a\\\"b\\\\c\\nd\\u0001\\ufffd\xc3\xa9\" null "
				    "[\"A\",\"B\"] [] \"we\\\"ird\\\\name?\"")))
			fprintf(stderr, "  json/prom: %s\n", mem ? mem : "(null)");
		free(mem);
	}
}

/* Random lines, fields and bytes: nothing may crash (ASan/UBSan build). */
static void test_fuzz(void)
{
	static const char *const pieces[] = {
		"vm=", "1-1", " ", "=", "reason=", "IRQWIN", "\n", "\"", "apicv=",
		"inhibited", "seq=", "lost=", "apic_id_mismatch", "0x", "99999999999999999999",
		"|", "-", "\t", "\0", "\xff", "created_ns=", "sets=", "now=set",
	};
	char buf[512];
	unsigned seed = 12345;
	int i, ok = 1;

	for (i = 0; i < 20000; i++) {
		size_t len = 0;
		struct state s;
		struct vms v;

		while (len < sizeof(buf) - 32) {
			const char *p;
			size_t pl;

			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 17 == 0)
				break;
			p = pieces[(seed >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
			pl = p[0] ? strlen(p) : 1;
			memcpy(buf + len, p, pl);
			len += pl;
		}
		if (state_parse(&s, buf, len) || vms_parse(&v, buf, len)) {
			ok = 0;
			break;
		}
		state_free(&s);
		vms_free(&v);
	}
	CHECK(ok);
}

int main(void)
{
	test_tokens();
	test_numbers();
	test_reasons();
	test_files();
	test_events();
	test_hints();
	test_util();
	test_fuzz();
	printf("parse_test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
