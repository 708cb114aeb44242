/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel_names.h - kvm's own names for its inhibit reasons, by bit, from
 * the two places the running kernel publishes them (kernel_names.c): the
 * kvm_apicv_inhibit_changed tracepoint's format (6.11+ print the names
 * with __print_flags) and kvm's BTF (enum kvm_apicv_inhibit, 5.18+).
 */
#ifndef APICV_TRACE_KERNEL_NAMES_H
#define APICV_TRACE_KERNEL_NAMES_H

#include <stddef.h>

#include "btf.h"

#define KN_MAX_BITS 64
#define KN_NAME_LEN 48

/* One source's names: name[bit][0] == '\0' where it names no bit. */
struct knames {
	int have;			/* the source exists and named a bit */
	char name[KN_MAX_BITS][KN_NAME_LEN];
};

/* The enum constants' common prefix, cut off to give the short name. */
#define KN_PREFIX "APICV_INHIBIT_REASON_"

/*
 * From a tracepoint format file's text: the __print_flags table. An entry
 * whose value is a number (1UL << 3, 0x8) gives its bit; one that names
 * an enum constant takes the constant's value from @btf when @btf has it
 * (may be NULL), else its position in the table (the enum's order).
 */
void kn_from_format(const char *text, const struct btf_enum *btf,
		    struct knames *out);
/* From enum kvm_apicv_inhibit's constants (NR_* and bad values skipped). */
void kn_from_btf(const struct btf_enum *btf, struct knames *out);
/*
 * The BTF text form "kvmdrive btf-enum" prints (BTFVAL name=C value=V
 * lines) into @e; 1 if it had constants, 0 if not, -ENOMEM.
 */
int kn_btf_text(const char *text, struct btf_enum *e);
/* The module's reasons file: bit=N reason=NAME lines. */
void kn_from_reasons(const char *text, size_t len, struct knames *out);

/*
 * kvm's names: BTF's where it names the bit (exact), else the format's.
 * @src gets "BTF", "tracepoint format", "BTF and tracepoint format", or
 * "" when kvm publishes none.
 */
void kn_merge(const struct knames *btf, const struct knames *tp,
	      struct knames *out, char *src, size_t srclen);

#endif
