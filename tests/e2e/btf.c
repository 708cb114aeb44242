// SPDX-License-Identifier: GPL-2.0
/*
 * btf.c - the running kernel's BTF (/sys/kernel/btf), read for
 * "kvmdrive btf-enum" (below).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btf.h"

/*
 * "kvmdrive btf-enum NAME" prints the constants of enum NAME as the
 * running kernel's own debug info (/sys/kernel/btf: kvm's split BTF on top
 * of vmlinux's) has them, so a checker can hold any table of names by bit
 * against the kernel itself:
 *   BTFENUM name=<NAME> in=<kvm|vmlinux> values=<n>
 *   BTFVAL name=<CONSTANT> value=<v>      (one per constant)
 * Exit 1 if there is no such enum (5.10: #defines only) or no BTF.
 */
struct btf_blob {
	unsigned char *data;
	size_t size;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

static int btf_load(const char *path, struct btf_blob *b)
{
	size_t cap = 1 << 20;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	memset(b, 0, sizeof(*b));
	if (fd < 0)
		return -errno;
	b->data = malloc(cap);
	while (b->data && (n = read(fd, b->data + b->size, cap - b->size)) > 0) {
		b->size += n;
		if (b->size == cap)
			b->data = realloc(b->data, cap *= 2);
	}
	close(fd);
	if (!b->data || b->size < 24 || b->data[0] != 0x9f || b->data[1] != 0xeb)
		return -EINVAL;
	memcpy(&b->hdr_len, b->data + 4, 4);
	memcpy(&b->type_off, b->data + 8, 4);
	memcpy(&b->type_len, b->data + 12, 4);
	memcpy(&b->str_off, b->data + 16, 4);
	memcpy(&b->str_len, b->data + 20, 4);
	if ((size_t)b->hdr_len + b->type_off + b->type_len > b->size ||
	    (size_t)b->hdr_len + b->str_off + b->str_len > b->size)
		return -EINVAL;
	return 0;
}

/* String @off of a split BTF (@base: vmlinux, or NULL for vmlinux itself). */
static const char *btf_str(const struct btf_blob *b, const struct btf_blob *base,
			   uint32_t off)
{
	if (base) {
		if (off < base->str_len)
			return btf_str(base, NULL, off);
		off -= base->str_len;
	}
	if (off >= b->str_len)
		return "?";
	return (const char *)b->data + b->hdr_len + b->str_off + off;
}

/* Print enum @name if @b defines it; 1 found, 0 not, -1 unparsable. */
static int btf_find_enum(const struct btf_blob *b, const struct btf_blob *base,
			 const char *name, const char *where)
{
	const unsigned char *t = b->data + b->hdr_len + b->type_off;
	const unsigned char *end = t + b->type_len;

	while (t + 12 <= end) {
		uint32_t name_off, info, kind, vlen, i;
		size_t extra;

		memcpy(&name_off, t, 4);
		memcpy(&info, t + 4, 4);
		kind = (info >> 24) & 0x1f;
		vlen = info & 0xffff;
		switch (kind) {
		case 2: case 7: case 8: case 9: case 10: case 11: case 12:
		case 16: case 18:
			extra = 0;
			break;
		case 1: case 14: case 17:
			extra = 4;
			break;
		case 3:
			extra = 12;
			break;
		case 4: case 5: case 15:
			extra = 12 * (size_t)vlen;
			break;
		case 6: case 13:
			extra = 8 * (size_t)vlen;
			break;
		case 19:
			extra = 12 * (size_t)vlen;
			break;
		default:
			fprintf(stderr, "kvmdrive: %s BTF: unknown kind %u\n",
				where, kind);
			return -1;
		}
		if ((kind == 6 || kind == 19) &&
		    !strcmp(btf_str(b, base, name_off), name)) {
			printf("BTFENUM name=%s in=%s values=%u\n", name, where,
			       vlen);
			for (i = 0; i < vlen; i++) {
				const unsigned char *v = t + 12 +
					i * (kind == 6 ? 8 : 12);
				uint32_t voff, lo, hi = 0;
				int32_t sv;

				memcpy(&voff, v, 4);
				memcpy(&lo, v + 4, 4);
				if (kind == 19)
					memcpy(&hi, v + 8, 4);
				memcpy(&sv, &lo, 4);
				if (kind == 6)
					printf("BTFVAL name=%s value=%d\n",
					       btf_str(b, base, voff), sv);
				else
					printf("BTFVAL name=%s value=%llu\n",
					       btf_str(b, base, voff),
					       ((unsigned long long)hi << 32) | lo);
			}
			return 1;
		}
		t += 12 + extra;
	}
	return 0;
}

int btf_enum(const char *name)
{
	struct btf_blob vmlinux, kvm;
	int r;

	if (btf_load("/sys/kernel/btf/vmlinux", &vmlinux)) {
		fprintf(stderr, "kvmdrive: /sys/kernel/btf/vmlinux unreadable\n");
		return 1;
	}
	r = btf_load("/sys/kernel/btf/kvm", &kvm) ? 0 :
	    btf_find_enum(&kvm, &vmlinux, name, "kvm");
	if (r == 0)
		r = btf_find_enum(&vmlinux, NULL, name, "vmlinux");
	if (r <= 0)
		fprintf(stderr, "kvmdrive: enum %s not in the kernel's BTF\n", name);
	return r == 1 ? 0 : 1;
}
