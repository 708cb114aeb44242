/* SPDX-License-Identifier: GPL-2.0 */
/*
 * parse.h - reading apicv_trace's debugfs files (key=value lines).
 *
 * Every line is a list of space-separated tokens. A token is `key=value`
 * (the value may be double-quoted to hold spaces, as in status's
 * reasons_from), or a bare word (`apic_id_mismatch`). Lines are kept as
 * records of (key, value) pairs in file order, so that keys this program
 * does not know are kept, not lost: views ignore them in text output and
 * pass them through as strings in JSON ("extra"). A record's kind is its
 * first token's key; lines of a kind a file does not expect are skipped.
 *
 * Values are looked up by key (the first occurrence wins). A missing key,
 * an empty value, a value that is not a number where one is wanted, or a
 * number that does not fit in 64 bits, all read as "unknown": the views
 * print `?` (JSON: null). Nothing here aborts on bad input.
 */
#ifndef APICV_TRACE_PARSE_H
#define APICV_TRACE_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct kv {
	char *key;
	char *val;		/* NULL for a bare word */
};

struct rec {
	char *buf;		/* owned copy of the line, cut into tokens */
	size_t n;
	struct kv *kv;
};

/* Split one line (no newline) into a record; returns 0, or -1 (ENOMEM). */
int rec_parse(struct rec *r, const char *line, size_t len);
void rec_free(struct rec *r);
const char *rec_kind(const struct rec *r);	/* first key, or "" */
int rec_has(const struct rec *r, const char *key);
/* The value, or NULL when the key is missing, bare, or the value empty. */
const char *rec_str(const struct rec *r, const char *key);
/* 1 and *out set if the value is a decimal (or 0x-hex) u64; else 0. */
int rec_u64(const struct rec *r, const char *key, uint64_t *out);
/* 1 (yes), 0 (no), -1 (missing or anything else). */
int rec_yesno(const struct rec *r, const char *key);
/* 1 if the value equals @s. */
int rec_is(const struct rec *r, const char *key, const char *s);

/* Number parsing used by rec_u64: decimal, or hex with 0x; no sign. */
int parse_u64(const char *s, uint64_t *out);
int parse_hex(const char *s, uint64_t *out);	/* requires "0x" */

/* "A|B|C" -> count of names; "-" or empty -> 0. */
size_t reasons_count(const char *s);
/* The i-th name of "A|B|C" copied into out (cut to outlen-1). */
void reasons_nth(const char *s, size_t i, char *out, size_t outlen);

/* A file: all its lines as records. */
struct file {
	size_t n;
	struct rec *recs;
};

/*
 * Parse a whole file's text (any bytes; NUL bytes are read as spaces, a
 * last line without newline counts, empty lines are skipped).
 */
int file_parse(struct file *f, const char *text, size_t len);
void file_free(struct file *f);

/* vms: the records whose kind is "vm". */
struct vms {
	struct file f;
	size_t n;
	const struct rec **vm;
};
int vms_parse(struct vms *v, const char *text, size_t len);
void vms_free(struct vms *v);
/* By exact key, or NULL. */
const struct rec *vms_find(const struct vms *v, const char *key);

/*
 * vm/<key>/state: the header lines (kinds vm, apicv, created_ns) merged
 * into one record (the first occurrence of a key wins), the reason lines,
 * and the last apic_id_mismatch line, if any.
 */
struct state {
	struct file f;
	struct rec head;	/* merged header; empty if none */
	int have_head;		/* which header lines were seen (bits 0..2) */
	size_t nreasons;
	const struct rec **reason;
	const struct rec *mismatch;
};
int state_parse(struct state *s, const char *text, size_t len);
void state_free(struct state *s);
const struct rec *state_reason(const struct state *s, const char *name);

/*
 * events / follow: records of kind "seq" (events), "lost", and "capped"
 * (events: records one open left out).
 */
enum ev_kind { EV_NONE, EV_RECORD, EV_LOST, EV_CAPPED };
enum ev_kind event_kind(const struct rec *r);

/*
 * The keys of each kind of line, NULL-terminated, as module/format.h lists
 * them (for "extra" in JSON: keys not listed go there).
 */
extern const char *const vms_keys[];
extern const char *const state_head_keys[];
extern const char *const state_reason_keys[];
extern const char *const mismatch_keys[];
extern const char *const event_keys[];
extern const char *const lost_keys[];
extern const char *const capped_keys[];
int key_known(const char *const *keys, const char *key);

#endif
