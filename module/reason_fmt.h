/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reason_fmt.h - read the reason names out of the print format of KVM's
 * kvm_apicv_inhibit_changed tracepoint (see at_reasons_from_kernel() in
 * compat.c). Plain C shared with the userspace tests in tests/compat/,
 * which feed it the real 6.12/7.2/7.3 formats and malformed ones: it must
 * name a bit only when the format leaves no doubt, never wrongly.
 */
#ifndef APICV_TRACE_REASON_FMT_H
#define APICV_TRACE_REASON_FMT_H

#ifdef __KERNEL__
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/string.h>
#else
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static inline char *strnchr(const char *s, size_t n, int c)
{
	return memchr(s, c, strnlen(s, n));
}

static inline char *strnstr(const char *s1, const char *s2, size_t len)
{
	size_t l2 = strlen(s2);

	for (; len >= l2 && *s1; s1++, len--)
		if (!memcmp(s1, s2, l2))
			return (char *)s1;
	return NULL;
}

static inline long strscpy(char *d, const char *s, size_t n)
{
	size_t l = strnlen(s, n);

	if (!n)
		return -7;
	if (l == n) {
		memcpy(d, s, n - 1);
		d[n - 1] = '\0';
		return -7;
	}
	memcpy(d, s, l + 1);
	return (long)l;
}
#endif

#ifndef AT_MAX_BITS
#define AT_MAX_BITS 16
#endif
#ifndef AT_NAME_LEN
#define AT_NAME_LEN 24
#endif

#define AT_ENUM_PREFIX "APICV_INHIBIT_REASON_"

/* One "{ expr, \"NAME\" }" entry: its bit, or -1 if it is not one. */
static inline int at_fmt_entry(const char *e, size_t len, int pos, char *name)
{
	const char *q = strnchr(e, len, '"'), *x;
	char want[AT_NAME_LEN + sizeof(AT_ENUM_PREFIX) + 1];
	size_t n = 0;
	int bit = -1;

	if (!q)
		return -1;
	q++;
	while (q + n < e + len && (isupper((unsigned char)q[n]) ||
				   isdigit((unsigned char)q[n]) || q[n] == '_'))
		n++;
	if (!n || n >= AT_NAME_LEN || q + n >= e + len || q[n] != '"')
		return -1;
	memcpy(name, q, n);
	name[n] = '\0';
	x = strnstr(e, "<< (", q - e);
	if (x && isdigit((unsigned char)x[4])) {
		/* the tracing core put the value in */
		for (x += 4, bit = 0; isdigit((unsigned char)*x); x++) {
			bit = bit * 10 + (*x - '0');
			if (bit >= AT_MAX_BITS)
				return -1;
		}
		if (*x != ')')
			return -1;
	} else {
		snprintf(want, sizeof(want), AT_ENUM_PREFIX "%s)", name);
		if (strnstr(e, want, q - e))
			bit = pos;
	}
	return bit >= 0 && bit < AT_MAX_BITS ? bit : -1;
}

/* The names in @fmt's __print_flags() table; 0 unless all entries parse. */
static inline int at_fmt_parse(const char *fmt, char names[][AT_NAME_LEN])
{
	char found[AT_MAX_BITS][AT_NAME_LEN] = {};
	const char *p = strstr(fmt, "__print_flags("), *end;
	char name[AT_NAME_LEN];
	int pos = 0, bit, b;

	if (!p)
		return 0;
	while ((p = strchr(p, '{')) && (end = strchr(p, '}'))) {
		bit = at_fmt_entry(p + 1, end - p - 1, pos++, name);
		if (bit < 0 || found[bit][0])
			return 0;
		strscpy(found[bit], name, AT_NAME_LEN);
		p = end;
	}
	for (b = 0; b < AT_MAX_BITS; b++)	/* filled once: readers */
		if (found[b][0] && !names[b][0])
			strscpy(names[b], found[b], AT_NAME_LEN);
	return pos;
}

#endif /* APICV_TRACE_REASON_FMT_H */
