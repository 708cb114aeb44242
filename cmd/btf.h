/* SPDX-License-Identifier: GPL-2.0 */
/*
 * btf.h - one enum's constants from the running kernel's BTF (btf.c).
 *
 * Self-contained (libc only, no other file of cmd/), so that other
 * programs (the e2e suite's kvmdrive) can link it as it is.
 */
#ifndef APICV_TRACE_BTF_H
#define APICV_TRACE_BTF_H

#include <stddef.h>
#include <stdint.h>

struct btf_const {
	char *name;
	int64_t value;		/* ENUM64 values above INT64_MAX wrap */
};

struct btf_enum {
	char where[16];		/* "kvm" or "vmlinux": whose BTF had it */
	size_t n;
	struct btf_const *v;
};

/*
 * Enum @name from @dir/kvm (split BTF on top of @dir/vmlinux, for a
 * modular kvm), else from @dir/vmlinux (kvm built in). @dir is normally
 * /sys/kernel/btf. Returns 1 found (*e filled; btf_enum_free() it),
 * 0 no such enum, or -errno: -ENOENT no vmlinux BTF, -EINVAL a blob
 * this code cannot parse, -ENOMEM, or the open/read error.
 */
int btf_read_enum(const char *dir, const char *name, struct btf_enum *e);

/*
 * The same on blobs in memory: @split may be NULL (search @base only);
 * @where names the blob searched. For tests and for other readers.
 */
int btf_find_enum_mem(const void *split, size_t split_len,
		      const void *base, size_t base_len,
		      const char *name, const char *where, struct btf_enum *e);

void btf_enum_free(struct btf_enum *e);

#endif /* APICV_TRACE_BTF_H */
