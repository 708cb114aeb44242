// SPDX-License-Identifier: GPL-2.0
/*
 * btf.c - read one enum's constants from the kernel's BTF
 * (/sys/kernel/btf/vmlinux, and kvm's split BTF /sys/kernel/btf/kvm).
 *
 * Why BTF: kvm's enum kvm_apicv_inhibit numbers its reasons, and the
 * numbering changes between kernels; BTF is the running kernel's own
 * debug info, so its values are exact where a table or a tracepoint
 * format's position can only be assumed.
 *
 * Only what an enum needs is read: the header, the type section walked
 * record by record (each kind's trailing data has a known size), and the
 * string section. A module's BTF is "split": its type ids and string
 * offsets continue those of vmlinux, so a string offset below vmlinux's
 * string length is vmlinux's. All reads are bounds-checked: a truncated
 * or unknown blob gives -EINVAL, never a read past the end.
 */
#include "btf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BTF_MAGIC 0xeB9F
#define BTF_MAX_FILE (512u << 20)

enum {
	K_INT = 1, K_PTR, K_ARRAY, K_STRUCT, K_UNION, K_ENUM, K_FWD, K_TYPEDEF,
	K_VOLATILE, K_CONST, K_RESTRICT, K_FUNC, K_FUNC_PROTO, K_VAR,
	K_DATASEC, K_FLOAT, K_DECL_TAG, K_TYPE_TAG, K_ENUM64
};

struct blob {
	const unsigned char *d;
	size_t len;
	const unsigned char *types, *strs;
	uint32_t type_len, str_len;
};

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static int blob_init(struct blob *b, const void *data, size_t len)
{
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
	uint16_t magic;

	memset(b, 0, sizeof(*b));
	b->d = data;
	b->len = len;
	if (!data || len < 24)
		return -EINVAL;
	memcpy(&magic, b->d, 2);
	if (magic != BTF_MAGIC)	/* also refuses the other byte order */
		return -EINVAL;
	hdr_len = get32(b->d + 4);
	type_off = get32(b->d + 8);
	type_len = get32(b->d + 12);
	str_off = get32(b->d + 16);
	str_len = get32(b->d + 20);
	if (hdr_len < 24 ||
	    (uint64_t)hdr_len + type_off + type_len > len ||
	    (uint64_t)hdr_len + str_off + str_len > len)
		return -EINVAL;
	b->types = b->d + hdr_len + type_off;
	b->type_len = type_len;
	b->strs = b->d + hdr_len + str_off;
	b->str_len = str_len;
	return 0;
}

/* String @off of @b (split on @base, which may be NULL); NULL if bad. */
static const char *blob_str(const struct blob *b, const struct blob *base,
			    uint32_t off)
{
	if (base) {
		if (off < base->str_len)
			return blob_str(base, NULL, off);
		off -= base->str_len;
	}
	if (off >= b->str_len || !memchr(b->strs + off, '\0', b->str_len - off))
		return NULL;
	return (const char *)b->strs + off;
}

/* Bytes after the 12-byte common record of a type of @kind; -1 unknown. */
static long kind_extra(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case K_PTR: case K_FWD: case K_TYPEDEF: case K_VOLATILE: case K_CONST:
	case K_RESTRICT: case K_FUNC: case K_FLOAT: case K_TYPE_TAG:
		return 0;
	case K_INT: case K_VAR: case K_DECL_TAG:
		return 4;
	case K_ARRAY:
		return 12;
	case K_STRUCT: case K_UNION: case K_DATASEC: case K_ENUM64:
		return 12L * vlen;
	case K_ENUM: case K_FUNC_PROTO:
		return 8L * vlen;
	default:
		return -1;
	}
}

static int fill_enum(const struct blob *b, const struct blob *base,
		     const unsigned char *t, uint32_t kind, uint32_t vlen,
		     int is_signed, const char *where, struct btf_enum *e)
{
	uint32_t i;

	memset(e, 0, sizeof(*e));
	snprintf(e->where, sizeof(e->where), "%s", where);
	e->v = calloc(vlen ? vlen : 1, sizeof(*e->v));
	if (!e->v)
		return -ENOMEM;
	for (i = 0; i < vlen; i++) {
		const unsigned char *v = t + 12 + (size_t)i * (kind == K_ENUM ? 8 : 12);
		const char *nm = blob_str(b, base, get32(v));
		uint32_t lo = get32(v + 4);

		if (!nm) {
			btf_enum_free(e);
			return -EINVAL;
		}
		e->v[i].name = strdup(nm);
		if (!e->v[i].name) {
			btf_enum_free(e);
			return -ENOMEM;
		}
		if (kind == K_ENUM)
			e->v[i].value = is_signed ? (int64_t)(int32_t)lo : (int64_t)lo;
		else
			e->v[i].value = (int64_t)(((uint64_t)get32(v + 8) << 32) | lo);
		e->n++;
	}
	return 1;
}

static int find_in(const struct blob *b, const struct blob *base,
		   const char *name, const char *where, struct btf_enum *e)
{
	const unsigned char *t = b->types, *end = b->types + b->type_len;

	while ((size_t)(end - t) >= 12) {
		uint32_t info = get32(t + 4), kind = (info >> 24) & 0x1f,
			 vlen = info & 0xffff;
		long extra = kind_extra(kind, vlen);
		const char *nm;

		if (extra < 0 || (size_t)(end - t) - 12 < (size_t)extra)
			return -EINVAL;
		if (kind == K_ENUM || kind == K_ENUM64) {
			nm = blob_str(b, base, get32(t));
			if (nm && !strcmp(nm, name))
				return fill_enum(b, base, t, kind, vlen,
						 (int)(info >> 31), where, e);
		}
		t += 12 + extra;
	}
	return 0;
}

int btf_find_enum_mem(const void *split, size_t split_len,
		      const void *base, size_t base_len,
		      const char *name, const char *where, struct btf_enum *e)
{
	struct blob b, s;
	int r;

	r = blob_init(&b, base, base_len);
	if (r)
		return r;
	if (!split)
		return find_in(&b, NULL, name, where, e);
	r = blob_init(&s, split, split_len);
	return r ? r : find_in(&s, &b, name, where, e);
}

static int slurp(const char *path, unsigned char **data, size_t *len)
{
	size_t cap = 1u << 20, have = 0;
	unsigned char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	*data = NULL;
	*len = 0;
	if (fd < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	for (;;) {
		ssize_t n;

		if (!buf) {
			close(fd);
			return -ENOMEM;
		}
		if (have == cap) {
			unsigned char *nb = cap < BTF_MAX_FILE ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				free(buf);
				close(fd);
				return cap < BTF_MAX_FILE ? -ENOMEM : -EFBIG;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			free(buf);
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	*data = buf;
	*len = have;
	return 0;
}

int btf_read_enum(const char *dir, const char *name, struct btf_enum *e)
{
	unsigned char *vml = NULL, *kvm = NULL;
	size_t vml_len, kvm_len;
	char path[4096];
	int r;

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/vmlinux", dir);
	r = slurp(path, &vml, &vml_len);
	if (r)
		return r;
	snprintf(path, sizeof(path), "%s/kvm", dir);
	/* no kvm file: kvm is built in (or not loaded): vmlinux alone */
	if (!slurp(path, &kvm, &kvm_len))
		r = btf_find_enum_mem(kvm, kvm_len, vml, vml_len, name, "kvm", e);
	if (r == 0)
		r = btf_find_enum_mem(NULL, 0, vml, vml_len, name, "vmlinux", e);
	free(kvm);
	free(vml);
	return r;
}

void btf_enum_free(struct btf_enum *e)
{
	size_t i;

	if (!e->v)
		return;
	for (i = 0; i < e->n; i++)
		free(e->v[i].name);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}
