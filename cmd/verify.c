// SPDX-License-Identifier: GPL-2.0
/*
 * verify.c - `apicv-trace verify` and `apicv-trace names`.
 *
 * verify proves the module on the admin's own host: for a window it arms
 * KVM's own tracepoint (kvm_apicv_inhibit_changed; on 5.10-5.17 only
 * kvm_apicv_update_request exists) in a private tracefs instance, reads
 * the module's follow stream at the same time, and pairs the two. The
 * tracepoint fires inside KVM's setter on every call, also calls that
 * change nothing, and carries no VM: only the thread (the line's pid is
 * the records' tid=), the reason, the direction and the mask after the
 * call. So, per thread and in order, every result=changed record must
 * have its line (same bit, direction, mask == new), and every line left
 * over must be a call that changed nothing: its mask is one that a VM of
 * that thread (else any VM) had around then, by the module's records.
 * The names are checked too: the module's reasons file against kvm's BTF
 * enum and the tracepoint's __print_flags table, and each pair's reason=
 * against kvm's name for the line's number.
 *
 * A private instance (instances/apicv-trace-verify.<pid>) leaves the
 * admin's own tracing alone. Its trace_clock is "boot" so that line
 * timestamps are CLOCK_BOOTTIME, the clock of the records' ns=.
 *
 * `--replay DIR` runs the same pairing on saved files (trace,
 * trace.format, follow, reasons, vms, btf.enum, window), for tests.
 */
#include "btf.h"
#include "cmd.h"
#include "files.h"
#include "kernel_names.h"
#include "parse.h"
#include "util.h"
#include "views.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/*
 * Lines and records this far apart may still pair (both on boot clock):
 * the record's time is taken in the module's handler, the line's inside
 * KVM's setter, and an interrupt, or a slow (emulated) host, can come in
 * between. Pairing goes by each thread's order; the time only bounds it.
 */
#define TOL_NS 100000000ULL
/* After the window: records of calls made inside it are still arriving. */
#define GRACE_NS 50000000ULL
#define INSTANCE_PREFIX "apicv-trace-verify."
#define TP_NEW "kvm_apicv_inhibit_changed"
#define TP_OLD "kvm_apicv_update_request"
#define MAX_SHOWN 8

/* ------------------------------------------------------------------ */
/* what is compared                                                   */
/* ------------------------------------------------------------------ */

struct vin {
	char *trace, *format, *follow, *reasons, *vms, *btf_text;
	size_t follow_len, reasons_len, vms_len;
	struct btf_enum btf;
	int have_btf;
	int old_tp;			/* kvm_apicv_update_request (5.10-5.17) */
	uint64_t t0, t1;		/* the window, CLOCK_BOOTTIME ns */
};

struct tpl {
	uint64_t ns, mask;
	uint32_t tid;
	int bit, set;
	const char *names;		/* 6.11+: names after the mask, or NULL */
	size_t names_len;
	long match;			/* record index, or -1 */
	int vm;				/* VM row it is counted in, or -1 */
};

struct vrec {
	uint64_t seq, ns, old, new;
	uint32_t tid;
	int bit, set, changed, init, check;
	const char *vm, *reason;
	long line;			/* matched line, or -1 */
};

struct row {
	const char *vm;
	const struct rec *info;		/* its vms line, or NULL */
	unsigned recorded, matched, noline, extra, noop;
};

struct verdict {
	int names_bad, pairs_bad, inconclusive;
	char what[512];			/* the first disagreement, briefly */
	unsigned shown;
};

static void disagree(struct verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void disagree(struct verdict *v, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!v->what[0])
		snprintf(v->what, sizeof(v->what), "%s", line);
	if (v->shown++ < MAX_SHOWN)
		printf("  differs: %s\n", line);
}

/* ------------------------------------------------------------------ */
/* trace lines                                                        */
/* ------------------------------------------------------------------ */

/*
 * "  comm-PID  [CPU] flags  SECS.USECS: EVENT: TEXT"; comm may hold
 * spaces and dashes, so the line is read from the event name backwards:
 * the timestamp, the [CPU] field, an optional "(TGID)" column, and the
 * pid after the last dash of the task field.
 */
static int parse_tp(const char *l, size_t len, int old_tp, struct tpl *t)
{
	char key[64], word[16];
	const char *ev, *p, *s, *e = l + len;
	uint64_t secs = 0, frac = 0;
	int digits = 0;
	unsigned reason;
	unsigned long long mask;
	char buf[256];

	snprintf(key, sizeof(key), ": %s: ", old_tp ? TP_OLD : TP_NEW);
	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, l, len);
	buf[len] = '\0';
	ev = strstr(buf, key);
	if (!ev)
		return 0;
	memset(t, 0, sizeof(*t));
	t->match = -1;
	t->vm = -1;
	/* timestamp: digits '.' digits right before ": EVENT" */
	p = ev;
	while (p > buf && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
		p--;
	s = p;
	if (s == ev)
		return 0;
	while (s < ev && isdigit((unsigned char)*s))
		secs = secs * 10 + (uint64_t)(*s++ - '0');
	if (s < ev && *s == '.')
		for (s++; s < ev && isdigit((unsigned char)*s); s++)
			if (digits < 9) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				digits++;
			}
	while (digits++ < 9)
		frac *= 10;
	t->ns = secs * 1000000000ULL + frac;
	/* [CPU] */
	while (p > buf && p[-1] != '[')
		p--;
	if (p == buf)
		return 0;
	p--;
	while (p > buf && isspace((unsigned char)p[-1]))
		p--;
	if (p > buf && p[-1] == ')') {		/* (TGID) column */
		while (p > buf && p[-1] != '(')
			p--;
		if (p > buf)
			p--;
		while (p > buf && isspace((unsigned char)p[-1]))
			p--;
	}
	s = p;
	while (s > buf && isdigit((unsigned char)s[-1]))
		s--;
	if (s == p || s == buf || s[-1] != '-')
		return 0;
	t->tid = (uint32_t)strtoul(s, NULL, 10);
	p = ev + strlen(key);
	if (old_tp) {
		unsigned long bit;

		if (sscanf(p, "%15s bit=%lu", word, &bit) != 2 || bit >= 64)
			return 0;
		if (!strcmp(word, "deactivate"))
			t->set = 1;
		else if (strcmp(word, "activate"))
			return 0;
		t->bit = (int)bit;
		return 1;
	}
	if (sscanf(p, "%15s reason=%u, inhibits=0x%llx", word, &reason, &mask) != 3 ||
	    reason >= 64)
		return 0;
	if (!strcmp(word, "set"))
		t->set = 1;
	else if (strcmp(word, "cleared"))
		return 0;
	t->bit = (int)reason;
	t->mask = mask;
	/* 6.11+: " NAME|NAME" after the mask: point into the caller's line */
	p = strstr(p, "inhibits=0x");
	p += strlen("inhibits=0x");
	while (*p && isxdigit((unsigned char)*p))
		p++;
	while (*p == ' ')
		p++;
	if (*p) {
		t->names = l + (p - buf);
		t->names_len = (size_t)(e - t->names);
		while (t->names_len && isspace((unsigned char)t->names[t->names_len - 1]))
			t->names_len--;
	}
	return 1;
}

/* "# entries-in-buffer/entries-written: A/B": 1 if B > A (lines lost). */
static int trace_overran(const char *trace)
{
	const char *p = trace ? strstr(trace, "entries-in-buffer/entries-written:") : NULL;
	unsigned long long a, b;

	if (!p || sscanf(p, "entries-in-buffer/entries-written: %llu/%llu", &a, &b) != 2)
		return 0;
	return b > a;
}

/* ------------------------------------------------------------------ */
/* the pairing                                                        */
/* ------------------------------------------------------------------ */

struct work {
	const struct vin *in;
	struct tpl *tp;
	size_t ntp;
	size_t *bytid;			/* line indices sorted by (tid, index) */
	struct vrec *rec;
	size_t nrec;
	struct file follow;
	struct vms vms;
	struct row *rows;
	size_t nrows;
	unsigned long long lost;
	struct knames mod, kbtf, ktp, kvm;
	char src[64];
};

static int row_of(struct work *w, const char *vm)
{
	size_t i;
	struct row *nr;

	for (i = 0; i < w->nrows; i++)
		if (!strcmp(w->rows[i].vm, vm))
			return (int)i;
	nr = realloc(w->rows, (w->nrows + 1) * sizeof(*nr));
	if (!nr)
		return -1;
	w->rows = nr;
	memset(&w->rows[w->nrows], 0, sizeof(*nr));
	w->rows[w->nrows].vm = vm;
	w->rows[w->nrows].info = vms_find(&w->vms, vm);
	return (int)w->nrows++;
}

static const struct tpl *cmp_tp;

static int cmp_bytid(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (cmp_tp[x].tid != cmp_tp[y].tid)
		return cmp_tp[x].tid < cmp_tp[y].tid ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int load(struct work *w)
{
	const struct vin *in = w->in;
	const char *p = in->trace ? in->trace : "";
	size_t i, cap = 0;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct tpl t;

		if (*p != '#' && parse_tp(p, len, in->old_tp, &t)) {
			if (w->ntp == cap) {
				struct tpl *n = realloc(w->tp, (cap = cap ? cap * 2 : 1024) *
							sizeof(*n));
				if (!n)
					return -1;
				w->tp = n;
			}
			w->tp[w->ntp++] = t;
		}
		p += len + (nl ? 1 : 0);
	}
	w->bytid = calloc(w->ntp + 1, sizeof(*w->bytid));
	if (!w->bytid)
		return -1;
	for (i = 0; i < w->ntp; i++)
		w->bytid[i] = i;
	cmp_tp = w->tp;
	qsort(w->bytid, w->ntp, sizeof(*w->bytid), cmp_bytid);

	if (file_parse(&w->follow, in->follow ? in->follow : "", in->follow_len))
		return -1;
	w->rec = calloc(w->follow.n + 1, sizeof(*w->rec));
	if (!w->rec)
		return -1;
	for (i = 0; i < w->follow.n; i++) {
		const struct rec *r = &w->follow.recs[i];
		struct vrec *v = &w->rec[w->nrec];
		uint64_t x;

		if (event_kind(r) == EV_LOST) {
			/* only losses once the window's records flow count */
			if (rec_u64(r, "lost", &x) && w->nrec &&
			    w->rec[w->nrec - 1].ns + TOL_NS >= in->t0)
				w->lost += x;
			continue;
		}
		if (event_kind(r) != EV_RECORD)
			continue;
		memset(v, 0, sizeof(*v));
		v->line = -1;
		v->bit = -1;
		if (!rec_u64(r, "seq", &v->seq) || !rec_u64(r, "ns", &v->ns) ||
		    !rec_u64(r, "old", &v->old) || !rec_u64(r, "new", &v->new) ||
		    !rec_u64(r, "tid", &x) || !(v->vm = rec_str(r, "vm")))
			continue;
		v->tid = (uint32_t)x;
		v->reason = rec_str(r, "reason");
		if (rec_u64(r, "bit", &x) && x < 64)
			v->bit = (int)x;
		v->set = rec_is(r, "event", "set");
		v->changed = (v->set || rec_is(r, "event", "clear")) &&
			     rec_is(r, "result", "changed") && v->bit >= 0;
		v->init = rec_yesno(r, "init") == 1;
		/* 5.10's tracepoint sees only activation flips, never init */
		v->check = v->changed &&
			   (!in->old_tp || (!v->init && (!v->old) != (!v->new)));
		/* mask observations: set/clear calls, and a VM's first mask */
		if (!v->changed && !rec_is(r, "result", "noop") &&
		    !rec_is(r, "event", "vm_create") && !rec_is(r, "event", "baseline"))
			v->bit = -2;	/* not an observation of the mask */
		w->nrec++;
	}
	if (vms_parse(&w->vms, in->vms ? in->vms : "", in->vms_len))
		return -1;
	return 0;
}

static int in_window(const struct vin *in, uint64_t ns)
{
	return ns >= in->t0 && ns <= in->t1;
}

static void pair(struct work *w)
{
	size_t i, j, *next;

	/* per thread (by its first line's position): where its next pair may start */
	next = calloc(w->ntp + 1, sizeof(*next));
	if (!next)
		return;		/* nothing paired: judged as disagreement, not a crash */
	for (i = 0; i < w->ntp; i++)
		next[i] = i;
	for (i = 0; i < w->nrec; i++) {
		struct vrec *r = &w->rec[i];
		size_t lo = 0, hi = w->ntp;

		if (!r->check || r->ns + TOL_NS < w->in->t0)
			continue;
		/* the first line of this tid (bytid is sorted by tid, index) */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (w->tp[w->bytid[mid]].tid < r->tid)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* a thread's calls are in order: never before its last pair */
		for (j = next[lo]; j < w->ntp && w->tp[w->bytid[j]].tid == r->tid; j++) {
			struct tpl *t = &w->tp[w->bytid[j]];

			if (t->match >= 0 || t->ns + TOL_NS < r->ns)
				continue;
			if (t->ns > r->ns + TOL_NS)
				break;
			if (t->bit != r->bit || t->set != r->set)
				continue;
			/* 5.10's line has no mask; the direction says the flip */
			if (!w->in->old_tp && t->mask != r->new)
				continue;
			t->match = (long)i;
			r->line = (long)w->bytid[j];
			next[lo] = j + 1;
			break;
		}
	}
	free(next);
}

/*
 * Could VM @vm have had mask @m around @ns? Its masks from TOL before to
 * TOL after: the one it had entering that span (the last observation
 * before, else the first one's old: the VM's starting mask), the masks
 * the observations inside set, and, with nothing after, its current mask.
 */
static int vm_had(const struct work *w, const char *vm, uint64_t ns, uint64_t m)
{
	const struct vrec *before = NULL, *first = NULL;
	int after = 0;
	size_t i;
	const struct rec *info;
	uint64_t cur;

	for (i = 0; i < w->nrec; i++) {
		const struct vrec *r = &w->rec[i];

		if (r->bit == -2 || strcmp(r->vm, vm))
			continue;
		if (!first)
			first = r;
		if (r->ns + TOL_NS < ns) {
			before = r;
		} else if (r->ns <= ns + TOL_NS) {
			/*
			 * Not r->old (but for the VM's first): an old that
			 * differs from the previous new is a change the
			 * module did not record, which must not excuse a line.
			 */
			if (r->new == m || (r == first && r->old == m))
				return 1;
		} else {
			after = 1;
		}
	}
	if (before ? before->new == m : first && first->old == m)
		return 1;
	info = vms_find(&w->vms, vm);
	if (!after && info && rec_u64(info, "mask", &cur) && cur == m)
		return 1;
	return 0;
}

/* The first VM in @tid's records (else any VM) that had @m: its row. */
static int noop_vm(struct work *w, const struct tpl *t)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < w->nrec; i++) {
			const struct vrec *r = &w->rec[i];

			if ((pass == 0 && r->tid != t->tid) || !r->vm)
				continue;
			if (vm_had(w, r->vm, t->ns, t->mask))
				return row_of(w, r->vm);
		}
		/* a thread the module saw: only its own VMs count */
		if (pass == 0)
			for (i = 0; i < w->nrec; i++)
				if (w->rec[i].tid == t->tid)
					return -2;
	}
	for (i = 0; i < w->vms.n; i++) {
		const char *vm = rec_str(w->vms.vm[i], "vm");

		if (vm && vm_had(w, vm, t->ns, t->mask))
			return row_of(w, vm);
	}
	return -2;
}

static const char *dir_word(int old_tp, int set)
{
	if (old_tp)
		return set ? "deactivate" : "activate";
	return set ? "set" : "cleared";
}

static void judge_pairs(struct work *w, struct verdict *v)
{
	const struct vin *in = w->in;
	size_t i;
	int unknown = -1;

	for (i = 0; i < w->nrec; i++) {
		struct vrec *r = &w->rec[i];
		int row;

		if (!r->changed || !in_window(in, r->ns))
			continue;
		row = row_of(w, r->vm);
		if (row < 0)
			continue;
		w->rows[row].recorded++;
		if (!r->check)
			continue;
		if (r->line >= 0) {
			const char *kn = w->kvm.name[r->bit];

			w->rows[row].matched++;
			if (kn[0] && r->reason && strcmp(kn, r->reason)) {
				v->names_bad = 1;
				disagree(v, "seq=%" PRIu64 " says reason=%s, kvm's name for bit %d is %s (%s)",
					 r->seq, r->reason, r->bit, kn, w->src);
			}
			continue;
		}
		w->rows[row].noline++;
		v->pairs_bad = 1;
		disagree(v, "record without a tracepoint line: seq=%" PRIu64 " vm=%s tid=%u %s bit=%d new=0x%" PRIx64,
			 r->seq, r->vm, r->tid, r->set ? "set" : "clear", r->bit, r->new);
	}
	for (i = 0; i < w->ntp; i++) {
		struct tpl *t = &w->tp[i];
		int row;

		if (t->match >= 0) {
			t->vm = row_of(w, w->rec[t->match].vm);
			continue;
		}
		if (!in_window(in, t->ns))
			continue;
		row = in->old_tp ? -2 : noop_vm(w, t);
		if (row >= 0) {
			t->vm = row;
			w->rows[row].noop++;
			continue;
		}
		if (unknown < 0)
			unknown = row_of(w, "?");
		if (unknown >= 0)
			w->rows[unknown].extra++;
		v->pairs_bad = 1;
		if (in->old_tp)
			disagree(v, "kvm flipped activation with no record: tid=%u %s bit=%d at %" PRIu64 ".%06" PRIu64 "s",
				 t->tid, dir_word(1, t->set), t->bit,
				 (uint64_t)(t->ns / 1000000000U), (uint64_t)(t->ns % 1000000000U / 1000));
		else
			disagree(v, "kvm changed a mask with no record: tid=%u %s reason=%d inhibits=0x%" PRIx64 " at %" PRIu64 ".%06" PRIu64 "s",
				 t->tid, dir_word(0, t->set), t->bit, t->mask,
				 (uint64_t)(t->ns / 1000000000U), (uint64_t)(t->ns % 1000000000U / 1000));
	}
}

/* 6.11+ lines name the mask's reasons: the module's names for its bits. */
static void judge_line_names(struct work *w, struct verdict *v)
{
	size_t i;

	for (i = 0; i < w->ntp; i++) {
		const struct tpl *t = &w->tp[i];
		char want[1024] = "";
		size_t len = 0;
		int b;

		if (!t->names || !in_window(w->in, t->ns))
			continue;
		for (b = 0; b < KN_MAX_BITS; b++)
			if (t->mask >> b & 1)
				len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s",
						len ? "|" : "",
						w->mod.name[b][0] ? w->mod.name[b] : "?");
		if (strlen(want) != t->names_len || memcmp(want, t->names, t->names_len)) {
			v->names_bad = 1;
			disagree(v, "tracepoint line names mask 0x%" PRIx64 " %.*s, the module's names are %s",
				 t->mask, (int)t->names_len, t->names, want);
			return;
		}
	}
}

static void judge_names(struct work *w, struct verdict *v)
{
	const struct knames *src[2] = { &w->kbtf, &w->ktp };
	const char *what[2] = { "BTF enum kvm_apicv_inhibit", "tracepoint format" };
	int s, b;

	for (s = 0; s < 2; s++) {
		for (b = 0; b < KN_MAX_BITS; b++) {
			const char *k = src[s]->name[b], *m = w->mod.name[b];

			if (!k[0] || !strcmp(k, m))
				continue;
			v->names_bad = 1;
			disagree(v, "bit %d: module %s, kvm %s (%s)", b, m[0] ? m : "(none)",
				 k, what[s]);
		}
	}
}

static void print_table(struct work *w, const struct ctx *c)
{
	size_t i;

	printf("%-10s %-7s %-16s %8s %7s %7s %11s %10s\n", "VM", "PID", "PROCESS",
	       "RECORDED", "MATCHED", "NO_LINE", "EXTRA_LINES", "NOOP_LINES");
	for (i = 0; i < w->nrows; i++) {
		const struct row *r = &w->rows[i];
		const char *pid = r->info ? rec_str(r->info, "pid") : NULL;
		char comm[64] = "-";

		if (r->info)
			vm_comm(c, r->info, comm, sizeof(comm));
		printf("%-10s %-7s %-16s %8u %7u %7u %11u %10u\n", r->vm,
		       pid ? pid : "-", comm, r->recorded, r->matched, r->noline,
		       r->extra, r->noop);
	}
}

static int judge(const struct ctx *c, const struct vin *in)
{
	struct work w;
	struct verdict v;
	size_t i;
	unsigned n = 0, checked = 0, vmrows = 0;
	int rc;
	double secs = in->t1 > in->t0 && in->t1 != UINT64_MAX ?
		      (double)(in->t1 - in->t0) / 1e9 : 0;

	memset(&w, 0, sizeof(w));
	memset(&v, 0, sizeof(v));
	w.in = in;
	if (load(&w)) {
		errmsg("out of memory");
		rc = EX_ERROR;
		goto out;
	}
	kn_from_reasons(in->reasons, in->reasons_len, &w.mod);
	kn_from_btf(in->have_btf ? &in->btf : NULL, &w.kbtf);
	kn_from_format(in->format, in->have_btf ? &in->btf : NULL, &w.ktp);
	kn_merge(&w.kbtf, &w.ktp, &w.kvm, w.src, sizeof(w.src));
	if (!w.mod.have) {
		errmsg("the module's reasons file names no bit");
		rc = EX_ERROR;
		goto out;
	}
	/* rows: live VMs, then any VM with a record in the window */
	for (i = 0; i < w.vms.n; i++) {
		const char *vm = rec_str(w.vms.vm[i], "vm");

		if (vm && rec_is(w.vms.vm[i], "status", "live"))
			row_of(&w, vm);
	}
	pair(&w);
	judge_names(&w, &v);
	judge_pairs(&w, &v);
	judge_line_names(&w, &v);
	print_table(&w, c);
	for (i = 0; i < w.nrows; i++) {
		n += w.rows[i].recorded;
		checked += w.rows[i].matched + w.rows[i].noline;
		vmrows += strcmp(w.rows[i].vm, "?") != 0;
	}
	if (in->old_tp && n)
		printf("note: %s traces only activation flips: %u of the %u changes could be checked\n",
		       TP_OLD, checked, n);
	if (w.lost || trace_overran(in->trace)) {
		v.inconclusive = 1;
		printf("verify: INCONCLUSIVE (%s lost data in the window: %s)\n",
		       w.lost ? "the module's follow stream" : "the tracefs buffer",
		       w.lost ? "it filled faster than it was read" :
				"enlarge nothing: rerun with a shorter -d");
		rc = EX_NOVERIFY;
		goto out;
	}
	if (v.what[0]) {
		printf("verify: DISAGREE (%s)\n", v.what);
		rc = EX_DISAGREE;
	} else if (!n) {
		printf("verify: agree (no inhibit change in %.0fs, %u VMs; names checked against %s)\n",
		       secs, vmrows, w.src[0] ? w.src : "nothing: kvm publishes no names on this kernel");
		rc = EX_OK;
	} else if (in->old_tp) {
		printf("verify: agree (%u transitions, %u VMs, %u of them activation flips checked, names from %s)\n",
		       n, vmrows, checked,
		       w.src[0] ? w.src : "nowhere: kvm publishes no names on this kernel");
		rc = EX_OK;
	} else {
		printf("verify: agree (%u transitions, %u VMs, names from %s)\n", n, vmrows,
		       w.src[0] ? w.src : "nowhere: kvm publishes no names on this kernel");
		rc = EX_OK;
	}
out:
	free(w.tp);
	free(w.bytid);
	free(w.rec);
	free(w.rows);
	file_free(&w.follow);
	vms_free(&w.vms);
	return rc;
}

/* ------------------------------------------------------------------ */
/* reading files                                                      */
/* ------------------------------------------------------------------ */

/* @dir/@rel into *text; 0, or an errno (ENOENT...) with nothing said. */
static int slurp(const char *dir, const char *rel, char **text, size_t *len)
{
	struct ctx q;
	size_t l;
	int rc;

	memset(&q, 0, sizeof(q));
	q.dir = dir;
	errno = 0;
	rc = read_rel(&q, rel, text, len ? len : &l, 1);
	if (!rc)
		return 0;
	return rc == EX_NOPERM ? EACCES : errno ? errno : EIO;
}

static void vin_free(struct vin *in)
{
	free(in->trace);
	free(in->format);
	free(in->follow);
	free(in->reasons);
	free(in->vms);
	free(in->btf_text);
	btf_enum_free(&in->btf);
}

static int replay_load(const char *dir, struct vin *in)
{
	static const char *const need[] = { "trace", "trace.format", "follow",
					     "reasons", "vms" };
	char **dst[] = { &in->trace, &in->format, &in->follow, &in->reasons, &in->vms };
	size_t *lens[] = { NULL, NULL, &in->follow_len, &in->reasons_len, &in->vms_len };
	char *win = NULL;
	size_t i;
	int err;

	memset(in, 0, sizeof(*in));
	in->t1 = UINT64_MAX;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		err = slurp(dir, need[i], dst[i], lens[i]);
		if (err) {
			errmsg("--replay: cannot read %s/%s: %s", dir, need[i], strerror(err));
			return EX_ERROR;
		}
	}
	if (!slurp(dir, "btf.enum", &in->btf_text, NULL)) {
		err = kn_btf_text(in->btf_text, &in->btf);
		if (err < 0) {
			errmsg("out of memory");
			return EX_ERROR;
		}
		in->have_btf = err;
	}
	in->old_tp = strstr(in->format, "name: " TP_OLD) != NULL;
	if (!slurp(dir, "window", &win, NULL)) {
		unsigned long long a, b;

		if (sscanf(win, "t0_ns=%llu t1_ns=%llu", &a, &b) != 2 || a > b) {
			free(win);
			errmsg("--replay: %s/window: want \"t0_ns=N t1_ns=N\"", dir);
			return EX_ERROR;
		}
		in->t0 = a;
		in->t1 = b;
		free(win);
	}
	return EX_OK;
}

/* ------------------------------------------------------------------ */
/* live: the tracefs instance and the follow stream                   */
/* ------------------------------------------------------------------ */

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static uint64_t boot_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int write_file(const char *dir, const char *rel, const char *val)
{
	char path[4096];
	size_t len = strlen(val);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
	if (fd < 0)
		return errno;
	if (write(fd, val, len) != (ssize_t)len)
		err = errno ? errno : EIO;
	if (close(fd) && !err)
		err = errno;
	return err;
}

static const char *find_tracefs(const struct ctx *c, char *buf, size_t len)
{
	static const char *const sub[] = { "kernel/tracing", "kernel/debug/tracing" };
	struct stat st;
	size_t i;

	for (i = 0; i < 2; i++) {
		char p[4200];

		snprintf(buf, len, "%s/%s", c->sysfs, sub[i]);
		snprintf(p, sizeof(p), "%s/instances", buf);
		if (!stat(p, &st) && S_ISDIR(st.st_mode))
			return buf;
	}
	return NULL;
}

/* Instances of earlier verify runs whose process is gone: removed. */
static void remove_stale(const char *tracefs)
{
	char path[4608];
	struct dirent *d;
	DIR *dh;

	snprintf(path, sizeof(path), "%s/instances", tracefs);
	dh = opendir(path);
	if (!dh)
		return;
	while ((d = readdir(dh))) {
		const char *p = d->d_name + strlen(INSTANCE_PREFIX);
		char *end;
		long pid;

		if (strncmp(d->d_name, INSTANCE_PREFIX, strlen(INSTANCE_PREFIX)))
			continue;
		pid = strtol(p, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) && errno != ESRCH) ||
		    !kill((pid_t)pid, 0))
			continue;
		snprintf(path, sizeof(path), "%s/instances/%s", tracefs, d->d_name);
		if (rmdir(path))
			errmsg("cannot remove stale tracefs instance %s: %s", path,
			       strerror(errno));
	}
	closedir(dh);
}

static int lockdown_says_no(const char *status)
{
	return status && strstr(status, "lockdown=confidentiality");
}

static int explain_tracefs(const char *what, int err, const char *status)
{
	if (err == EPERM || err == EACCES) {
		if (lockdown_says_no(status))
			errmsg("%s: %s: kernel lockdown (confidentiality) forbids tracefs;\n"
			       "  verify cannot run on this boot (the module's own files still work)",
			       what, strerror(err));
		else
			errmsg("%s: %s (run as root)", what, strerror(err));
		return EX_NOVERIFY;
	}
	errmsg("%s: %s", what, strerror(err));
	return EX_NOVERIFY;
}

/* Drain the follow fd into *buf (grown); -1 on a read error, 1 at EOF. */
static int drain(int fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		ssize_t n;

		if (*cap - *len < 65536) {
			char *nb = realloc(*buf, *cap * 2);

			if (!nb)
				return -1;
			*buf = nb;
			*cap *= 2;
		}
		n = read(fd, *buf + *len, *cap - *len - 1);
		if (n > 0) {
			*len += (size_t)n;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	}
}

static int run_live(const struct ctx *c, unsigned secs)
{
	char tracefs[4096], inst[4300], rel[256], *status = NULL;
	const char *tp;
	struct vin in;
	struct stat st;
	struct sigaction sa;
	sigset_t block, orig;
	size_t cap = 1 << 20, len;
	int fd = -1, rc, err, made = 0, enabled = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	char kb[32];

	memset(&in, 0, sizeof(in));
	if (geteuid() != 0) {
		errmsg("verify needs root: it arms a tracefs instance and reads debugfs\n"
		       "  fix: sudo apicv-trace verify");
		return EX_NOPERM;
	}
	rc = read_rel(c, "status", &status, &len, 0);
	if (rc)
		return rc;
	if (lockdown_says_no(status)) {
		errmsg("kernel lockdown (confidentiality) forbids tracefs: verify cannot\n"
		       "  run on this boot (the module's own files still work)");
		rc = EX_NOVERIFY;
		goto out;
	}
	if (!strstr(status, "kvm=hooked")) {
		errmsg("kvm is not loaded (status: kvm is not hooked): nothing to verify\n"
		       "  fix: modprobe kvm_amd (or kvm_intel), start a VM, run verify again");
		rc = EX_NOVERIFY;
		goto out;
	}
	if (!find_tracefs(c, tracefs, sizeof(tracefs))) {
		errmsg("no tracefs at %s/kernel/tracing or %s/kernel/debug/tracing\n"
		       "  fix: mount -t tracefs nodev /sys/kernel/tracing", c->sysfs, c->sysfs);
		rc = EX_NOVERIFY;
		goto out;
	}
	tp = TP_NEW;
	snprintf(inst, sizeof(inst), "%s/events/kvm/%s", tracefs, tp);
	if (stat(inst, &st)) {
		tp = TP_OLD;
		snprintf(inst, sizeof(inst), "%s/events/kvm/%s", tracefs, tp);
		if (stat(inst, &st)) {
			if (errno == EPERM || errno == EACCES) {
				rc = explain_tracefs(inst, errno, status);
				goto out;
			}
			errmsg("kvm has neither %s nor %s in %s/events/kvm:\n"
			       "  is kvm loaded, and built with tracepoints?", TP_NEW, TP_OLD,
			       tracefs);
			rc = EX_NOVERIFY;
			goto out;
		}
	}
	in.old_tp = !strcmp(tp, TP_OLD);
	snprintf(rel, sizeof(rel), "events/kvm/%s/format", tp);
	err = slurp(tracefs, rel, &in.format, NULL);
	if (err) {
		rc = explain_tracefs(rel, err, status);
		goto out;
	}
	{
		char btfdir[4200];

		snprintf(btfdir, sizeof(btfdir), "%s/kernel/btf", c->sysfs);
		err = btf_read_enum(btfdir, "kvm_apicv_inhibit", &in.btf);
	}
	in.have_btf = err == 1;
	if (read_rel(c, "reasons", &in.reasons, &in.reasons_len, 0) ||
	    read_rel(c, "vms", &in.vms, &in.vms_len, 0)) {
		rc = EX_ERROR;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	/* signals only inside ppoll: the instance is always removed below */
	sigprocmask(SIG_BLOCK, &block, &orig);

	remove_stale(tracefs);
	snprintf(inst, sizeof(inst), "%s/instances/" INSTANCE_PREFIX "%ld", tracefs,
		 (long)getpid());
	if (mkdir(inst, 0700)) {
		rc = explain_tracefs(inst, errno, status);
		goto restore;
	}
	made = 1;
	/* a bounded total (256 MiB), 1..16 MiB per CPU */
	snprintf(kb, sizeof(kb), "%ld", ncpu > 0 ?
		 (262144 / ncpu < 1024 ? 1024 : 262144 / ncpu > 16384 ? 16384 : 262144 / ncpu) :
		 4096);
	snprintf(rel, sizeof(rel), "events/kvm/%s/enable", tp);
	if ((err = write_file(inst, "trace_clock", "boot")) ||
	    (err = write_file(inst, "buffer_size_kb", kb)) ||
	    (err = write_file(inst, rel, "1"))) {
		rc = explain_tracefs("arming the tracefs instance", err, status);
		goto cleanup;
	}
	enabled = 1;
	rc = open_rel(c, "follow", &fd);
	if (rc)
		goto cleanup;
	in.follow = malloc(cap);
	if (!in.follow) {
		errmsg("out of memory");
		rc = EX_ERROR;
		goto cleanup;
	}
	in.follow_len = 0;
	if (drain(fd, &in.follow, &in.follow_len, &cap) < 0) {
		errmsg("reading follow: %s", strerror(errno));
		rc = EX_ERROR;
		goto cleanup;
	}
	in.t0 = boot_ns();
	in.t1 = in.t0 + (uint64_t)secs * 1000000000ULL;
	fprintf(stderr, "apicv-trace: verify: comparing %s with the module for %us...\n",
		tp, secs);
	for (;;) {
		uint64_t now = boot_ns();
		struct timespec to;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int d;

		if (stop_sig || now >= in.t1 + GRACE_NS)
			break;
		to.tv_sec = (time_t)((in.t1 + GRACE_NS - now) / 1000000000ULL);
		to.tv_nsec = (long)((in.t1 + GRACE_NS - now) % 1000000000ULL);
		if (to.tv_sec > 0) {	/* wake up now and then regardless */
			to.tv_sec = 0;
			to.tv_nsec = 200000000L;
		}
		if (ppoll(&pfd, 1, &to, &orig) < 0 && errno != EINTR) {
			errmsg("poll: %s", strerror(errno));
			rc = EX_ERROR;
			goto cleanup;
		}
		d = drain(fd, &in.follow, &in.follow_len, &cap);
		if (d < 0) {
			errmsg("reading follow: %s", strerror(errno));
			rc = EX_ERROR;
			goto cleanup;
		}
		if (d > 0) {
			errmsg("follow ended: the module is being unloaded");
			rc = EX_NOVERIFY;
			goto cleanup;
		}
	}
	if (stop_sig) {
		errmsg("interrupted: nothing verified");
		rc = EX_NOVERIFY;
		goto cleanup;
	}
	in.follow[in.follow_len] = '\0';
	write_file(inst, rel, "0");
	enabled = 0;
	err = slurp(inst, "trace", &in.trace, NULL);
	if (err) {
		rc = explain_tracefs("reading the instance's trace", err, status);
		goto cleanup;
	}
	/* the VMs' current masks: after the window */
	free(in.vms);
	in.vms = NULL;
	if (read_rel(c, "vms", &in.vms, &in.vms_len, 0)) {
		rc = EX_ERROR;
		goto cleanup;
	}
	rc = judge(c, &in);
cleanup:
	if (fd >= 0)
		close(fd);
	if (enabled)
		write_file(inst, rel, "0");
	if (made && rmdir(inst))
		errmsg("cannot remove tracefs instance %s: %s", inst, strerror(errno));
restore:
	sigprocmask(SIG_SETMASK, &orig, NULL);
out:
	free(status);
	vin_free(&in);
	return rc;
}

int view_verify(const struct ctx *c, unsigned secs, const char *replay)
{
	struct vin in;
	int rc;

	if (!replay)
		return run_live(c, secs);
	rc = replay_load(replay, &in);
	if (!rc)
		rc = judge(c, &in);
	vin_free(&in);
	return rc;
}

/* ------------------------------------------------------------------ */
/* names                                                              */
/* ------------------------------------------------------------------ */

int view_names(const struct ctx *c, int apply, const char *replay)
{
	struct knames kbtf, ktp, kvm, mod;
	struct btf_enum btf;
	char *format = NULL, *reasons = NULL, *btf_text = NULL, src[64];
	char tracefs[4096], rel[256], path[4300];
	size_t rlen = 0;
	int b, rc = EX_OK, have_btf, differ = 0, mod_differ = 0;

	memset(&btf, 0, sizeof(btf));
	if (replay) {
		slurp(replay, "trace.format", &format, NULL);
		slurp(replay, "reasons", &reasons, &rlen);
		have_btf = !slurp(replay, "btf.enum", &btf_text, NULL) &&
			   kn_btf_text(btf_text, &btf) == 1;
	} else {
		char btfdir[4200];

		snprintf(btfdir, sizeof(btfdir), "%s/kernel/btf", c->sysfs);
		have_btf = btf_read_enum(btfdir, "kvm_apicv_inhibit", &btf) == 1;
		if (find_tracefs(c, tracefs, sizeof(tracefs))) {
			snprintf(rel, sizeof(rel), "events/kvm/%s/format", TP_NEW);
			slurp(tracefs, rel, &format, NULL);
		}
		read_rel(c, "reasons", &reasons, &rlen, 1);
	}
	kn_from_btf(have_btf ? &btf : NULL, &kbtf);
	kn_from_format(format, have_btf ? &btf : NULL, &ktp);
	kn_merge(&kbtf, &ktp, &kvm, src, sizeof(src));
	kn_from_reasons(reasons, rlen, &mod);
	for (b = 0; b < KN_MAX_BITS; b++) {
		const char *m = mod.name[b][0] ? mod.name[b] : "-";

		if (kbtf.name[b][0])
			printf("bit=%d name=%s from=btf module=%s\n", b, kbtf.name[b], m);
		if (ktp.name[b][0])
			printf("bit=%d name=%s from=tracepoint module=%s\n", b, ktp.name[b], m);
		if (!kvm.name[b][0] && mod.name[b][0])
			printf("bit=%d name=- from=- module=%s\n", b, m);
		if (kbtf.name[b][0] && ktp.name[b][0] && strcmp(kbtf.name[b], ktp.name[b]))
			differ = 1;
		if (kvm.name[b][0] && strcmp(kvm.name[b], mod.name[b]))
			mod_differ = 1;
	}
	if (!kvm.have) {
		printf("kvm: publishes no reason names on this kernel (no BTF enum kvm_apicv_inhibit,\n"
		       "     no names in %s's format)\n", TP_NEW);
	} else {
		printf("kvm: names from %s%s\n", src,
		       differ ? "; BTF and the tracepoint format DISAGREE (BTF's values are exact)" :
		       kbtf.have && ktp.have ? "; they agree" : "");
	}
	if (!mod.have)
		printf("module: not loaded (no reasons file)\n");
	else if (kvm.have)
		printf("module: %s\n", mod_differ ? "DIFFERS from kvm's names" :
		       "agrees with kvm's names");
	if (apply) {
		char val[KN_MAX_BITS * (KN_NAME_LEN + 4)] = "";
		size_t len = 0;
		int err;

		if (!kvm.have) {
			errmsg("--apply: kvm publishes no names on this kernel: nothing to write");
			rc = EX_ERROR;
			goto out;
		}
		for (b = 0; b < KN_MAX_BITS; b++)
			if (kvm.name[b][0])
				len += (size_t)snprintf(val + len, sizeof(val) - len, "%s%d=%s",
							len ? "," : "", b, kvm.name[b]);
		snprintf(path, sizeof(path), "%s/module/apicv_trace/parameters", c->sysfs);
		err = write_file(path, "reason_names", val);
		if (err) {
			errmsg("--apply: writing %s/reason_names: %s%s", path, strerror(err),
			       err == ENOENT ? " (module not loaded, or too old for reason_names)" :
			       err == EACCES || err == EPERM ? " (run as root)" : "");
			rc = err == EACCES || err == EPERM ? EX_NOPERM :
			     err == ENOENT ? EX_NOMODULE : EX_ERROR;
			goto out;
		}
		printf("applied: reason_names=%s\n", val);
		/* the hooks' choice (probes.c) is made when kvm arms, by name */
		printf("the names are used at once; to keep them across reloads and have the hooks\n"
		       "chosen with them, add to /etc/modprobe.d/apicv-trace.conf:\n"
		       "  options apicv_trace reason_names=%s\n", val);
	}
out:
	free(format);
	free(reasons);
	free(btf_text);
	btf_enum_free(&btf);
	return rc;
}
