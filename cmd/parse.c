// SPDX-License-Identifier: GPL-2.0
/*
 * parse.c - key=value lines of apicv_trace's files; see parse.h.
 */
#include "parse.h"
#include "format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * The keys of each line kind, from the module's own list of them
 * (module/format.h, which debugfs.c prints with): what is not here goes
 * to "extra" in JSON.
 */
#define AT_KEY_NAME(key, description) #key,

const char *const vms_keys[] = { AT_VMS_KEYS(AT_KEY_NAME) NULL };
const char *const state_head_keys[] = { AT_STATE_HEAD_KEYS(AT_KEY_NAME) NULL };
const char *const state_reason_keys[] = {
	AT_STATE_REASON_KEYS(AT_KEY_NAME) NULL
};
const char *const mismatch_keys[] = {
	AT_MISMATCH_WORD, AT_MISMATCH_KEYS(AT_KEY_NAME) NULL
};
const char *const event_keys[] = { AT_EVENT_KEYS(AT_KEY_NAME) NULL };
const char *const lost_keys[] = { AT_LOST_KEYS(AT_KEY_NAME) NULL };
const char *const capped_keys[] = { AT_CAPPED_KEYS(AT_KEY_NAME) NULL };

#undef AT_KEY_NAME

int key_known(const char *const *keys, const char *key)
{
	for (; *keys; keys++)
		if (!strcmp(*keys, key))
			return 1;
	return 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int rec_parse(struct rec *r, const char *line, size_t len)
{
	size_t i, cap = 0;
	char *p, *end;

	memset(r, 0, sizeof(*r));
	r->buf = malloc(len + 1);
	if (!r->buf)
		return -1;
	memcpy(r->buf, line, len);
	r->buf[len] = '\0';
	for (i = 0; i < len; i++)
		if (r->buf[i] == '\0')
			r->buf[i] = ' ';
	p = r->buf;
	end = r->buf + len;
	while (p < end) {
		char *tok, *eq;

		while (p < end && is_space(*p))
			p++;
		if (p >= end)
			break;
		tok = p;
		eq = NULL;
		while (p < end && !is_space(*p)) {
			if (*p == '=' && !eq) {
				eq = p;
				if (p + 1 < end && p[1] == '"') {
					/* quoted value: up to the closing quote */
					char *q = memchr(p + 2, '"', (size_t)(end - p - 2));

					p = q ? q + 1 : end;
					break;
				}
			}
			p++;
		}
		if (p < end)
			*p++ = '\0';
		if (eq == tok)
			continue;	/* "=value": no key, ignored */
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct kv *nkv = realloc(r->kv, ncap * sizeof(*nkv));

			if (!nkv) {
				rec_free(r);
				return -1;
			}
			r->kv = nkv;
			cap = ncap;
		}
		if (eq) {
			char *v = eq + 1;

			*eq = '\0';
			if (*v == '"') {
				size_t vl;

				v++;
				vl = strlen(v);
				if (vl && v[vl - 1] == '"')
					v[vl - 1] = '\0';
			}
			r->kv[r->n].key = tok;
			r->kv[r->n].val = v;
		} else {
			r->kv[r->n].key = tok;
			r->kv[r->n].val = NULL;
		}
		r->n++;
	}
	return 0;
}

void rec_free(struct rec *r)
{
	free(r->buf);
	free(r->kv);
	memset(r, 0, sizeof(*r));
}

const char *rec_kind(const struct rec *r)
{
	return r->n ? r->kv[0].key : "";
}

static const struct kv *rec_find(const struct rec *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->kv[i].key, key))
			return &r->kv[i];
	return NULL;
}

int rec_has(const struct rec *r, const char *key)
{
	return rec_find(r, key) != NULL;
}

const char *rec_str(const struct rec *r, const char *key)
{
	const struct kv *kv = rec_find(r, key);

	if (!kv || !kv->val || !kv->val[0])
		return NULL;
	return kv->val;
}

int parse_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2])
		return 0;
	for (s += 2; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return 0;
		if (v > (UINT64_MAX >> 4))
			return 0;
		v = (v << 4) | d;
	}
	*out = v;
	return 1;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex(s, out);
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return 0;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;	/* does not fit: unknown */
		v = v * 10 + d;
	}
	*out = v;
	return 1;
}

int rec_u64(const struct rec *r, const char *key, uint64_t *out)
{
	return parse_u64(rec_str(r, key), out);
}

int rec_yesno(const struct rec *r, const char *key)
{
	const char *v = rec_str(r, key);

	if (!v)
		return -1;
	if (!strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "no"))
		return 0;
	return -1;
}

int rec_is(const struct rec *r, const char *key, const char *s)
{
	const char *v = rec_str(r, key);

	return v && s && !strcmp(v, s);
}

size_t reasons_count(const char *s)
{
	size_t n = 1;

	if (!s || !*s || !strcmp(s, "-"))
		return 0;
	for (; *s; s++)
		n += *s == '|';
	return n;
}

void reasons_nth(const char *s, size_t i, char *out, size_t outlen)
{
	size_t len;
	const char *e;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!s || i >= reasons_count(s))
		return;
	while (i--)
		s = strchr(s, '|') + 1;
	e = strchr(s, '|');
	len = e ? (size_t)(e - s) : strlen(s);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

int file_parse(struct file *f, const char *text, size_t len)
{
	size_t pos = 0, cap = 0;

	memset(f, 0, sizeof(*f));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		struct rec r;

		if (rec_parse(&r, text + pos, ll)) {
			file_free(f);
			return -1;
		}
		pos += ll + 1;
		if (!r.n) {
			rec_free(&r);
			continue;
		}
		if (f->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct rec *nr = realloc(f->recs, ncap * sizeof(*nr));

			if (!nr) {
				rec_free(&r);
				file_free(f);
				return -1;
			}
			f->recs = nr;
			cap = ncap;
		}
		f->recs[f->n++] = r;
	}
	return 0;
}

void file_free(struct file *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		rec_free(&f->recs[i]);
	free(f->recs);
	memset(f, 0, sizeof(*f));
}

int vms_parse(struct vms *v, const char *text, size_t len)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	if (file_parse(&v->f, text, len))
		return -1;
	v->vm = calloc(v->f.n ? v->f.n : 1, sizeof(*v->vm));
	if (!v->vm) {
		file_free(&v->f);
		return -1;
	}
	for (i = 0; i < v->f.n; i++) {
		const struct rec *r = &v->f.recs[i];

		/* a VM line needs its key; anything else is ignored */
		if (!strcmp(rec_kind(r), "vm") && rec_str(r, "vm"))
			v->vm[v->n++] = r;
	}
	return 0;
}

void vms_free(struct vms *v)
{
	file_free(&v->f);
	free(v->vm);
	memset(v, 0, sizeof(*v));
}

const struct rec *vms_find(const struct vms *v, const char *key)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (rec_is(v->vm[i], "vm", key))
			return v->vm[i];
	return NULL;
}

/* Append @src's pairs whose key @dst does not have yet. */
static int rec_merge(struct rec *dst, const struct rec *src)
{
	size_t i, extra = 0, len = 0;
	char *nbuf, *p;
	struct kv *nkv;

	for (i = 0; i < dst->n; i++)
		len += strlen(dst->kv[i].key) + 1 +
		       (dst->kv[i].val ? strlen(dst->kv[i].val) + 1 : 0);
	for (i = 0; i < src->n; i++) {
		if (rec_has(dst, src->kv[i].key))
			continue;
		extra++;
		len += strlen(src->kv[i].key) + 1 +
		       (src->kv[i].val ? strlen(src->kv[i].val) + 1 : 0);
	}
	nbuf = malloc(len ? len : 1);
	nkv = malloc((dst->n + extra ? dst->n + extra : 1) * sizeof(*nkv));
	if (!nbuf || !nkv) {
		free(nbuf);
		free(nkv);
		return -1;
	}
	p = nbuf;
#define COPY_KV(kvp, idx)						\
	do {								\
		size_t kl = strlen((kvp)->key) + 1;			\
		memcpy(p, (kvp)->key, kl);				\
		nkv[idx].key = p;					\
		p += kl;						\
		if ((kvp)->val) {					\
			size_t vl = strlen((kvp)->val) + 1;		\
			memcpy(p, (kvp)->val, vl);			\
			nkv[idx].val = p;				\
			p += vl;					\
		} else {						\
			nkv[idx].val = NULL;				\
		}							\
	} while (0)
	for (i = 0; i < dst->n; i++)
		COPY_KV(&dst->kv[i], i);
	extra = dst->n;
	for (i = 0; i < src->n; i++) {
		if (rec_has(dst, src->kv[i].key))
			continue;
		COPY_KV(&src->kv[i], extra);
		extra++;
	}
#undef COPY_KV
	free(dst->buf);
	free(dst->kv);
	dst->buf = nbuf;
	dst->kv = nkv;
	dst->n = extra;
	return 0;
}

int state_parse(struct state *s, const char *text, size_t len)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	if (file_parse(&s->f, text, len))
		return -1;
	s->reason = calloc(s->f.n ? s->f.n : 1, sizeof(*s->reason));
	if (!s->reason)
		goto fail;
	for (i = 0; i < s->f.n; i++) {
		const struct rec *r = &s->f.recs[i];
		const char *k = rec_kind(r);
		int bit = -1;

		if (!strcmp(k, "vm"))
			bit = 0;
		else if (!strcmp(k, "apicv"))
			bit = 1;
		else if (!strcmp(k, "created_ns"))
			bit = 2;
		if (bit >= 0) {
			if (rec_merge(&s->head, r))
				goto fail;
			s->have_head |= 1 << bit;
		} else if (!strcmp(k, "reason") && rec_str(r, "reason")) {
			s->reason[s->nreasons++] = r;
		} else if (!strcmp(k, AT_MISMATCH_WORD)) {
			s->mismatch = r;
		}
		/* any other line kind: from a newer module, ignored */
	}
	return 0;
fail:
	state_free(s);
	return -1;
}

void state_free(struct state *s)
{
	file_free(&s->f);
	rec_free(&s->head);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}

const struct rec *state_reason(const struct state *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nreasons; i++)
		if (rec_is(s->reason[i], "reason", name))
			return s->reason[i];
	return NULL;
}

enum ev_kind event_kind(const struct rec *r)
{
	const char *k = rec_kind(r);

	if (!strcmp(k, "seq"))
		return EV_RECORD;
	if (!strcmp(k, "lost"))
		return EV_LOST;
	if (!strcmp(k, "capped"))
		return EV_CAPPED;
	return EV_NONE;
}
