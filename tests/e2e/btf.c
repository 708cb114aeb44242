// SPDX-License-Identifier: GPL-2.0
/*
 * btf.c - "kvmdrive btf-enum NAME": the constants of enum NAME as the
 * running kernel's own debug info has them (/sys/kernel/btf: kvm's split
 * BTF on top of vmlinux's), so that a checker can hold any table of
 * names by bit against the kernel itself:
 *   BTFENUM name=<NAME> in=<kvm|vmlinux> values=<n>
 *   BTFVAL name=<CONSTANT> value=<v>      (one per constant)
 * Exit 1 if there is no such enum (5.10: #defines only) or no BTF.
 *
 * The reading is the command's own (cmd/btf.c), the one that
 * `apicv-trace verify` and `names` use: the e2e's check of the module's
 * names against this output on every line also checks that reader
 * against real kernels.
 */
#include <stdio.h>
#include <string.h>

#include "../../cmd/btf.h"
#include "btf.h"

int btf_enum(const char *name)
{
	struct btf_enum e;
	size_t i;
	int r = btf_read_enum("/sys/kernel/btf", name, &e);

	if (r < 0) {
		fprintf(stderr, "kvmdrive: /sys/kernel/btf unreadable: %s\n", strerror(-r));
		return 1;
	}
	if (r == 0) {
		fprintf(stderr, "kvmdrive: enum %s not in the kernel's BTF\n", name);
		return 1;
	}
	printf("BTFENUM name=%s in=%s values=%zu\n", name, e.where, e.n);
	for (i = 0; i < e.n; i++)
		printf("BTFVAL name=%s value=%lld\n", e.v[i].name, (long long)e.v[i].value);
	btf_enum_free(&e);
	return 0;
}
