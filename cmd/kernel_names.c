// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_names.c - kvm's own reason names (kernel_names.h).
 *
 * The module names bits from its build headers or a versioned table; the
 * running kvm is the authority. Two sources, neither on every kernel:
 * 6.11+ print names through __print_flags in kvm_apicv_inhibit_changed's
 * format, whose entries are usually `{ 1UL << (APICV_INHIBIT_REASON_X),
 * "X" }` (the constant is not eval-mapped to a number in the format, so
 * the bit is the constant's value: BTF's when present, else the entry's
 * position, since the table lists the enum in order); 5.18+ kernels with
 * BTF have enum kvm_apicv_inhibit itself, values exact.
 */
#include "kernel_names.h"
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_name(struct knames *k, long long bit, const char *s, size_t n)
{
	if (bit < 0 || bit >= KN_MAX_BITS || !n)
		return;
	if (n >= KN_NAME_LEN)
		n = KN_NAME_LEN - 1;
	memcpy(k->name[bit], s, n);
	k->name[bit][n] = '\0';
	k->have = 1;
}

/* The value of constant @c (length @n) in @btf, or -1. */
static long long btf_value(const struct btf_enum *btf, const char *c, size_t n)
{
	size_t i;

	for (i = 0; btf && i < btf->n; i++)
		if (strlen(btf->v[i].name) == n && !memcmp(btf->v[i].name, c, n))
			return btf->v[i].value;
	return -1;
}

/*
 * An entry's value expression, parentheses and UL suffixes aside:
 * "1 << N", or a plain number (a mask). The bit, or -1 if it is not a
 * number (it names a constant: @ident and @identlen set) or not one bit.
 */
static long long eval_entry(const char *s, const char *e, const char **ident,
			    size_t *identlen)
{
	unsigned long long v[2] = { 0, 0 };
	int nv = 0, shift = 0;

	*ident = NULL;
	*identlen = 0;
	while (s < e) {
		if (*s == '(' || *s == ')' || isspace((unsigned char)*s)) {
			s++;
		} else if (s + 1 < e && s[0] == '<' && s[1] == '<') {
			shift = 1;
			s += 2;
		} else if (isdigit((unsigned char)*s)) {
			char *end;
			unsigned long long x = strtoull(s, &end, 0);

			s = end;
			while (s < e && (*s == 'U' || *s == 'L' || *s == 'u' || *s == 'l'))
				s++;
			if (nv < 2)
				v[nv] = x;
			nv++;
		} else if (isalpha((unsigned char)*s) || *s == '_') {
			const char *b = s;

			while (s < e && (isalnum((unsigned char)*s) || *s == '_'))
				s++;
			*ident = b;
			*identlen = (size_t)(s - b);
			nv++;
		} else {
			return -1;
		}
	}
	if (*ident)
		return -1;
	if (shift && nv == 2 && v[1] < 64)
		return (long long)v[1];
	if (!shift && nv == 1 && v[0] && !(v[0] & (v[0] - 1)))
		return __builtin_ctzll(v[0]);
	return -1;
}

void kn_from_format(const char *text, const struct btf_enum *btf,
		    struct knames *out)
{
	const char *p = text ? strstr(text, "__print_flags(") : NULL;
	int pos = 0;

	memset(out, 0, sizeof(*out));
	if (!p)
		return;
	/* entries: { EXPR, "NAME" } until the call's closing parenthesis */
	while ((p = strchr(p, '{'))) {
		const char *comma, *q1, *q2, *close = strchr(p, '}'), *ident;
		size_t identlen;
		long long bit;

		if (!close)
			break;
		q1 = memchr(p, '"', (size_t)(close - p));
		if (!q1)
			break;
		q2 = memchr(q1 + 1, '"', (size_t)(close - q1 - 1));
		if (!q2)
			break;
		for (comma = q1; comma > p && *comma != ','; comma--)
			;
		bit = eval_entry(p + 1, comma, &ident, &identlen);
		if (bit < 0 && ident) {
			bit = btf_value(btf, ident, identlen);
			if (bit < 0)
				bit = pos;
		}
		set_name(out, bit, q1 + 1, (size_t)(q2 - q1 - 1));
		pos++;
		p = close + 1;
	}
}

void kn_from_btf(const struct btf_enum *btf, struct knames *out)
{
	size_t i, pl = strlen(KN_PREFIX);

	memset(out, 0, sizeof(*out));
	for (i = 0; btf && i < btf->n; i++) {
		const char *n = btf->v[i].name;

		if (!strncmp(n, "NR_", 3))
			continue;
		if (!strncmp(n, KN_PREFIX, pl))
			n += pl;
		set_name(out, btf->v[i].value, n, strlen(n));
	}
}

int kn_btf_text(const char *text, struct btf_enum *e)
{
	struct file f;
	size_t i;

	memset(e, 0, sizeof(*e));
	snprintf(e->where, sizeof(e->where), "text");
	if (!text)
		return 0;
	if (file_parse(&f, text, strlen(text)))
		return -ENOMEM;
	e->v = calloc(f.n ? f.n : 1, sizeof(*e->v));
	if (!e->v) {
		file_free(&f);
		return -ENOMEM;
	}
	for (i = 0; i < f.n; i++) {
		const struct rec *r = &f.recs[i];
		const char *nm = rec_str(r, "name"), *v = rec_str(r, "value"), *w;
		char *end;
		long long x;

		if (!strcmp(rec_kind(r), "BTFENUM") && (w = rec_str(r, "in")))
			snprintf(e->where, sizeof(e->where), "%s", w);
		if (strcmp(rec_kind(r), "BTFVAL") || !nm || !v)
			continue;
		errno = 0;
		x = strtoll(v, &end, 0);
		if (errno || *end)
			continue;
		e->v[e->n].name = strdup(nm);
		if (!e->v[e->n].name) {
			file_free(&f);
			btf_enum_free(e);
			return -ENOMEM;
		}
		e->v[e->n++].value = x;
	}
	file_free(&f);
	return e->n > 0;
}

void kn_from_reasons(const char *text, size_t len, struct knames *out)
{
	struct file f;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!text || file_parse(&f, text, len))
		return;
	for (i = 0; i < f.n; i++) {
		uint64_t bit;
		const char *n = rec_str(&f.recs[i], "reason");

		if (rec_u64(&f.recs[i], "bit", &bit) && n && bit < KN_MAX_BITS)
			set_name(out, (long long)bit, n, strlen(n));
	}
	file_free(&f);
}

void kn_merge(const struct knames *btf, const struct knames *tp,
	      struct knames *out, char *src, size_t srclen)
{
	int b;

	memset(out, 0, sizeof(*out));
	for (b = 0; b < KN_MAX_BITS; b++) {
		const char *n = btf->name[b][0] ? btf->name[b] : tp->name[b];

		set_name(out, b, n, strlen(n));
	}
	snprintf(src, srclen, "%s",
		 btf->have && tp->have ? "BTF and tracepoint format" :
		 btf->have ? "BTF" : tp->have ? "tracepoint format" : "");
}
