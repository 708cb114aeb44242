// SPDX-License-Identifier: GPL-2.0
/*
 * view_watch.c - `apicv-trace watch`: the follow stream, readable.
 *
 * follow blocks until there are new records and supports poll(); it is
 * opened O_NONBLOCK and waited on with ppoll(), with SIGINT and SIGTERM
 * blocked except inside ppoll(), so a signal ends the loop cleanly (exit
 * 0) and never interrupts a half-written line. A read of 0 bytes is the
 * end: the module is going away (exit EX_GONE, 9), or, with --dir, the
 * copy ends (exit 0).
 *
 * follow shows what happens after it is opened (the module fills its
 * stream only while a reader is open), so the history comes from events:
 * follow is opened first, then events is printed, then follow's lines but
 * those events already printed (a record stored while follow opened can
 * be in both; told apart by seq). --new skips the history.
 */
#include "cmd.h"
#include "files.h"
#include "hints.h"
#include "parse.h"
#include "util.h"
#include "views.h"
#include "vms.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/*
 * --vm is resolved against vms once, at start (an unknown VM is a usage
 * error, so a typo does not watch nothing forever): a VM key matches that
 * VM; a pid, or a process name (comm), matches every VM of those processes,
 * also ones they create later (keys are "<pid>-<fd>"); a VM name (vms
 * name=) matches those VMs. A VM that does not exist yet cannot be named:
 * watch everything, or its process once it runs.
 */
struct filter {
	int by_vm;
	char **keys;		/* exact VM keys */
	size_t nkeys;
	char **pids;		/* key prefix "<pid>-" */
	size_t npids;
	const char *reasons;	/* comma-separated, or NULL */
};

static int match_vm(const struct filter *f, const char *key)
{
	size_t i, l;

	if (!f->by_vm)
		return 1;
	if (!key)
		return 0;
	for (i = 0; i < f->nkeys; i++)
		if (!strcmp(f->keys[i], key))
			return 1;
	for (i = 0; i < f->npids; i++) {
		l = strlen(f->pids[i]);
		if (!strncmp(key, f->pids[i], l) && key[l] == '-')
			return 1;
	}
	return 0;
}

static void filter_free(struct filter *f)
{
	size_t i;

	for (i = 0; i < f->nkeys; i++)
		free(f->keys[i]);
	for (i = 0; i < f->npids; i++)
		free(f->pids[i]);
	free(f->keys);
	free(f->pids);
}

/* Add @s to @list unless there; 0, or -1 on ENOMEM. */
static int add_str(char ***list, size_t *n, const char *s)
{
	char **nl, *d;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*list)[i], s))
			return 0;
	nl = realloc(*list, (*n + 1) * sizeof(**list));
	if (!nl)
		return -1;
	*list = nl;
	d = strdup(s);
	if (!d)
		return -1;
	nl[(*n)++] = d;
	return 0;
}

static int resolve_vm(const struct ctx *c, struct filter *f, const char *arg)
{
	struct vms v;
	size_t i;
	int rc, digits = *arg != '\0', oom = 0;
	const char *p;

	rc = vms_read(c, &v);
	if (rc)
		return rc;
	f->by_vm = 1;
	for (p = arg; *p; p++)
		if (!isdigit((unsigned char)*p))
			digits = 0;
	if (vms_find(&v, arg)) {
		oom |= add_str(&f->keys, &f->nkeys, arg);
	} else {
		for (i = 0; i < v.n; i++) {
			const struct rec *vm = v.vm[i];
			const char *pid = rec_str(vm, "pid"), *key = rec_str(vm, "vm");
			char comm[256];

			vm_comm(c, vm, comm, sizeof(comm));
			if (digits && rec_is(vm, "pid", arg))
				oom |= add_str(&f->pids, &f->npids, arg);
			else if (!digits && !strcmp(comm, arg) && pid)
				oom |= add_str(&f->pids, &f->npids, pid);
			if (!digits && key && vm_name(vm) && !strcmp(vm_name(vm), arg))
				oom |= add_str(&f->keys, &f->nkeys, key);
		}
	}
	if (oom) {
		errmsg("out of memory");
		rc = EX_ERROR;
	} else if (!f->nkeys && !f->npids) {
		errmsg("watch --vm %s: no such VM (a VM key, pid, process name or VM name"
		       " of a VM in %s/vms).", arg, c->dir);
		if (!v.n)
			fprintf(stderr, "  apicv_trace has no VM recorded at all;"
				" run watch without --vm to see VMs as they start.\n");
		else
			fprintf(stderr, "  Name one of these (key, pid, process, name,"
				" status), or run watch without --vm:\n");
		for (i = 0; i < v.n; i++) {
			const struct rec *vm = v.vm[i];
			char comm[256], key[256], name[256];

			vm_comm(c, vm, comm, sizeof(comm));
			clean_text(rec_str(vm, "vm") ? rec_str(vm, "vm") : "?", key, sizeof(key));
			clean_text(vm_name(vm) ? vm_name(vm) : "-", name, sizeof(name));
			fprintf(stderr, "  %-12s pid %-8s %-16s %-16s %s\n", key,
				rec_str(vm, "pid") ? rec_str(vm, "pid") : "?", comm,
				name[0] ? name : "-",
				rec_str(vm, "status") ? rec_str(vm, "status") : "?");
		}
		rc = EX_USAGE;
	}
	vms_free(&v);
	return rc;
}

/* Every name of --reason must be one the reasons file knows. */
static int check_reasons(const struct ctx *c, const char *list)
{
	struct file rf;
	char *text, name[128];
	size_t len, i;
	const char *p = list;
	int rc, bad = 0;

	rc = read_rel(c, "reasons", &text, &len, 0);
	if (rc)
		return rc;
	if (file_parse(&rf, text, len)) {
		free(text);
		errmsg("out of memory");
		return EX_ERROR;
	}
	free(text);
	for (;;) {
		size_t l = strcspn(p, ",");
		int known = 0;

		for (i = 0; i < rf.n && l; i++) {
			const char *r = rec_str(&rf.recs[i], "reason");

			known |= r && strlen(r) == l && !strncasecmp(p, r, l);
		}
		if (!known) {
			bad = 1;
			snprintf(name, sizeof(name), "%.*s", (int)(l < 100 ? l : 100), p);
			break;
		}
		p += l;
		if (!*p++)
			break;
	}
	if (!bad) {
		file_free(&rf);
		return EX_OK;
	}
	if (name[0]) {
		char clean[128];

		clean_text(name, clean, sizeof(clean));
		errmsg("watch --reason: unknown reason \"%s\". Known reasons (%s/reasons):",
		       clean, c->dir);
	} else {
		errmsg("watch --reason: an empty reason name in the list. Known reasons"
		       " (%s/reasons):", c->dir);
	}
	fputs(" ", stderr);
	for (i = 0; i < rf.n; i++) {
		const char *r = rec_str(&rf.recs[i], "reason");
		char clean[128];

		if (!r)
			continue;
		clean_text(r, clean, sizeof(clean));
		fprintf(stderr, " %s", clean);
	}
	fputs("\n  (several: --reason A,B; case does not matter)\n", stderr);
	file_free(&rf);
	return EX_USAGE;
}

static int match_reason(const struct filter *f, const char *reason)
{
	const char *p = f->reasons;

	if (!p)
		return 1;
	if (!reason)
		return 0;
	while (*p) {
		size_t l = strcspn(p, ",");

		if (l == strlen(reason) && !strncasecmp(p, reason, l))
			return 1;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Event kinds that mark a moment in the VM's life, not a reason change. */
static int is_marker(const char *ev)
{
	static const char *const m[] = {
		"vm_create", "vm_destroy", "baseline", "lapic_set", "apic_base", NULL
	};
	size_t i;

	for (i = 0; ev && m[i]; i++)
		if (!strcmp(ev, m[i]))
			return 1;
	return 0;
}

static void json_flag(const char *name, const struct rec *r, int dflt_false)
{
	int v = rec_yesno(r, name);

	printf(",\"%s\":", name);
	if (v < 0)
		fputs(dflt_false && !rec_has(r, name) ? "false" : "null", stdout);
	else
		fputs(v ? "true" : "false", stdout);
}

/* "-" means none: null in JSON */
static void json_dash(const struct rec *r, const char *key)
{
	const char *v = rec_str(r, key);

	json_str(stdout, v && strcmp(v, "-") ? v : NULL);
}

static void json_event(const struct rec *r)
{
	static const char *const nums[] = { "seq", "ns" };
	size_t i;

	printf("{\"schema_version\":%d,\"kind\":\"event\"", JSON_SCHEMA_VERSION);
	for (i = 0; i < 2; i++) {
		printf(",\"%s\":", nums[i]);
		json_u64(stdout, r, nums[i]);
	}
	json_field_str(stdout, r, "vm");
	fputs(",\"name\":", stdout);
	json_dash(r, "name");
	json_field_u64(stdout, r, "vcpu");
	json_field_u64(stdout, r, "cpu");
	json_field_u64(stdout, r, "tid");
	json_field_str(stdout, r, "comm");
	json_field_str(stdout, r, "event");
	fputs(",\"reason\":", stdout);
	json_dash(r, "reason");
	json_field_u64(stdout, r, "bit");
	json_field_str(stdout, r, "old");
	json_field_str(stdout, r, "new");
	fputs(",\"result\":", stdout);
	json_dash(r, "result");
	fputs(",\"site\":", stdout);
	json_dash(r, "site");
	json_field_u64(stdout, r, "vcpu_id");
	json_field_u64(stdout, r, "xapic_id");
	json_flag("match", r, 0);
	json_flag("inhibit", r, 0);
	json_flag("alias", r, 0);
	json_field_u64(stdout, r, "apic_id");
	json_flag("side", r, 1);
	json_flag("init", r, 1);
	json_flag("missed", r, 1);
	json_field_str(stdout, r, "value");
	json_field_str(stdout, r, "was");
	putchar(',');
	json_extra(stdout, r, event_keys);
	fputs("}\n", stdout);
}

static void json_lost(const struct rec *r)
{
	printf("{\"schema_version\":%d,\"kind\":\"lost\",\"lost\":",
	       JSON_SCHEMA_VERSION);
	json_u64(stdout, r, "lost");
	json_field_str(stdout, r, "vm");
	putchar(',');
	json_extra(stdout, r, lost_keys);
	fputs("}\n", stdout);
}

static void text_event(const struct ctx *c, const struct rec *r)
{
	char when[48], vm[64], vcpu[32], vcpu_n[24], site[160], reason[64], ev[32];
	const char *e = rec_str(r, "event"), *m;
	uint64_t ns, v;

	if (rec_u64(r, "ns", &ns))
		clock_str(c, ns, when, sizeof(when));
	else
		snprintf(when, sizeof(when), "?");
	clean_text(rec_str(r, "vm") ? rec_str(r, "vm") : "?", vm, sizeof(vm));
	if (rec_u64(r, "vcpu", &v)) {
		snprintf(vcpu_n, sizeof(vcpu_n), "%llu", (unsigned long long)v);
		snprintf(vcpu, sizeof(vcpu), "vcpu%s", vcpu_n);
	} else {
		snprintf(vcpu_n, sizeof(vcpu_n), "?");
		snprintf(vcpu, sizeof(vcpu), "-");
	}
	clean_text(rec_str(r, "site") ? rec_str(r, "site") : "?", site, sizeof(site));
	clean_text(rec_str(r, "reason") ? rec_str(r, "reason") : "?", reason,
		   sizeof(reason));
	clean_text(e ? e : "?", ev, sizeof(ev));

	if (e && !strcmp(e, "vm_create")) {
		char comm[64];

		clean_text(rec_str(r, "comm") ? rec_str(r, "comm") : "?", comm,
			   sizeof(comm));
		printf("%s  --- VM %s created by %s (tid %s) ---\n", when, vm, comm,
		       rec_str(r, "tid") ? rec_str(r, "tid") : "?");
	} else if (e && !strcmp(e, "vm_destroy")) {
		printf("%s  --- VM %s destroyed (mask %s) ---\n", when, vm,
		       rec_str(r, "new") ? rec_str(r, "new") : "?");
	} else if (e && !strcmp(e, "baseline")) {
		printf("%s  --- VM %s was already running: picked up with mask %s ---\n",
		       when, vm, rec_str(r, "new") ? rec_str(r, "new") : "?");
	} else if (e && !strcmp(e, "lapic_set")) {
		printf("%s  --- VMM restored vCPU %s's local APIC in VM %s (reboot/restore)",
		       when, vcpu_n, vm);
		/* the module's key is apic_id= (xapic_id= in early drafts) */
		if (rec_str(r, "apic_id"))
			printf(", xAPIC ID %s", rec_str(r, "apic_id"));
		else if (rec_str(r, "xapic_id"))
			printf(", xAPIC ID %s", rec_str(r, "xapic_id"));
		printf(" ---\n");
	} else if (e && !strcmp(e, "apic_base")) {
		printf("%s  --- VMM wrote vCPU %s's APIC base MSR in VM %s: %s",
		       when, vcpu_n, vm, rec_str(r, "value") ? rec_str(r, "value") : "?");
		if (rec_str(r, "was"))
			printf(" (was %s)", rec_str(r, "was"));
		printf(" ---\n");
	} else if (e && !strcmp(e, "apic_id")) {
		uint64_t id;
		int have_id = rec_u64(r, "vcpu_id", &id);

		printf("%s  %-8s %-7s APIC ID check: xAPIC ID %s, vCPU id %s",
		       when, vm, vcpu, rec_str(r, "xapic_id") ? rec_str(r, "xapic_id") : "?",
		       rec_str(r, "vcpu_id") ? rec_str(r, "vcpu_id") : "?");
		if (have_id)
			printf(" (& 0xff = %llu)", (unsigned long long)(id & 0xff));
		if (rec_is(r, "match", "no"))
			printf(": MISMATCH");
		else if (rec_is(r, "match", "yes"))
			printf(": match");
		if (rec_is(r, "inhibit", "yes"))
			printf(", KVM inhibits (%s)", reason);
		if (rec_is(r, "alias", "yes"))
			printf(", aliases another vCPU");
		printf("  %s\n", site);
	} else {
		const char *res = rec_str(r, "result");

		printf("%s  %-8s %-7s %-5s %-20s %-9s %s", when, vm, vcpu, ev,
		       reason, res && strcmp(res, "-") ? res : "", site);
		m = site_meaning(rec_str(r, "site"));
		if (m && !is_marker(e))
			printf(" (%s)", m);
		if (rec_is(r, "side", "yes"))
			printf(" [side effect]");
		if (rec_is(r, "init", "yes"))
			printf(" [at VM creation]");
		if (rec_is(r, "missed", "yes"))
			printf(" [setter call not seen; corrected]");
		putchar('\n');
	}
}

static void text_capped(const struct rec *r)
{
	char n[32], vm[64];

	clean_text(rec_str(r, "capped") ? rec_str(r, "capped") : "?", n, sizeof(n));
	clean_text(rec_str(r, "vm") ? rec_str(r, "vm") : "?", vm, sizeof(vm));
	printf("--- %s older records of VM %s are not in this snapshot (events "
	       "holds the newest 65536; vm/%s/events has them) ---\n", n, vm, vm);
}

/* The seq numbers the history printed, sorted once it is read. */
struct seen {
	uint64_t *seq;
	size_t n, cap;
	int recording;		/* reading the history: add, do not skip */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether @r was printed by the history; while recording, note it. */
static int seen_before(struct seen *h, const struct rec *r)
{
	uint64_t seq;

	if (!rec_u64(r, "seq", &seq))
		return 0;
	if (!h->recording)
		return h->n && seq <= h->seq[h->n - 1] &&
		       bsearch(&seq, h->seq, h->n, sizeof(seq), cmp_u64);
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 4096;
		uint64_t *n = realloc(h->seq, cap * sizeof(*n));

		if (!n)
			return 0;	/* at worst a line twice */
		h->seq = n;
		h->cap = cap;
	}
	h->seq[h->n++] = seq;
	return 0;
}

/*
 * @c is watch's own copy of the context: its clocks are read again when a
 * live record is newer than them, so a wall clock stepped (NTP, date -s)
 * since the start does not skew the times of later records.
 */
static void handle_line(struct ctx *c, const struct filter *f,
			struct seen *h, const char *line, size_t len)
{
	struct rec r;
	uint64_t ns;

	if (rec_parse(&r, line, len))
		return;
	if (event_kind(&r) == EV_RECORD && seen_before(h, &r)) {
		rec_free(&r);
		return;
	}
	if (c->live && rec_u64(&r, "ns", &ns) && ns > c->boot_now_ns)
		clocks_read(c);
	switch (event_kind(&r)) {
	case EV_RECORD: {
		const char *e = rec_str(&r, "event");

		if (!match_vm(f, rec_str(&r, "vm")))
			break;
		if (!is_marker(e)) {
			const char *reason = rec_str(&r, "reason");

			if (!match_reason(f, reason))
				break;
		}
		if (c->json)
			json_event(&r);
		else
			text_event(c, &r);
		break;
	}
	case EV_LOST:
		if (rec_str(&r, "vm") && !match_vm(f, rec_str(&r, "vm")))
			break;
		if (c->json) {
			json_lost(&r);
		} else {
			char n[32];

			clean_text(rec_str(&r, "lost") ? rec_str(&r, "lost") : "?", n,
				   sizeof(n));
			if (rec_str(&r, "vm")) {	/* from events */
				char k[256];

				clean_text(rec_str(&r, "vm"), k, sizeof(k));
				printf("--- %s older records of VM %s lost: its ring "
				       "(ring_size) overwrote them ---\n", n, k);
			} else {
				printf("--- %s records lost: this reader fell behind "
				       "the module's follow buffer (stream_size) ---\n", n);
			}
		}
		break;
	case EV_CAPPED:
		/*
		 * Only in an events snapshot (watch --dir on a copy without
		 * follow): said in text; JSON has no kind for it.
		 */
		if (!c->json && match_vm(f, rec_str(&r, "vm")))
			text_capped(&r);
		break;
	case EV_NONE:
		break;	/* a line kind from a newer module */
	}
	rec_free(&r);
	fflush(stdout);
}

/* Handle the complete lines in buf[0..*have); keep the rest. */
static void drain_lines(struct ctx *c, const struct filter *f,
			struct seen *h, char *buf, size_t *have, int show)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(buf + start, '\n', *have - start))) {
		size_t l = (size_t)(nl - (buf + start));

		if (show)
			handle_line(c, f, h, buf + start, l);
		start += l + 1;
	}
	memmove(buf, buf + start, *have - start);
	*have -= start;
}

/* The kept records, from events: read after follow was opened. */
static int print_history(struct ctx *c, const struct filter *f,
			 struct seen *h)
{
	char *text;
	size_t len;
	int rc = read_rel(c, "events", &text, &len, 0);

	if (rc)
		return rc;
	h->recording = 1;
	drain_lines(c, f, h, text, &len, 1);
	if (len)	/* a last line without newline */
		handle_line(c, f, h, text, len);
	h->recording = 0;
	free(text);
	qsort(h->seq, h->n, sizeof(*h->seq), cmp_u64);
	return 0;
}

int view_watch(const struct ctx *c, const char *vm, const char *reasons,
	       int new_only)
{
	struct seen h = { 0 };
	struct sigaction sa;
	sigset_t block, orig;
	struct filter f;
	struct ctx wc = *c;
	size_t cap = 65536, have = 0;
	char *buf;
	int fd, rc = EX_OK, skipping = new_only;
	const char *rel = "follow";

	memset(&f, 0, sizeof(f));
	f.reasons = reasons;
	if (reasons && (rc = check_reasons(c, reasons)))
		return rc;
	if (vm && (rc = resolve_vm(c, &f, vm))) {
		filter_free(&f);
		return rc;
	}
	if (c->live)
		clocks_read(&wc);
	if (!c->live) {
		/* a copy may have only the events snapshot: same format */
		char path[4096];

		snprintf(path, sizeof(path), "%s/follow", c->dir);
		if (access(path, F_OK) && errno == ENOENT) {
			snprintf(path, sizeof(path), "%s/events", c->dir);
			if (!access(path, F_OK))
				rel = "events";
		}
	}
	rc = open_rel(c, rel, &fd);
	if (rc) {
		filter_free(&f);
		return rc;
	}
	if (c->live && !new_only && (rc = print_history(&wc, &f, &h))) {
		close(fd);
		filter_free(&f);
		return rc;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		filter_free(&f);
		errmsg("out of memory");
		return EX_ERROR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	setvbuf(stdout, NULL, _IOLBF, 0);

	while (!stop_sig) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (have == cap) {
			/* a line longer than the buffer: grow it */
			char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				have = 0;	/* drop the monster line */
			} else {
				buf = nb;
				cap *= 2;
			}
		}
		n = read(fd, buf + have, cap - have);
		if (n > 0) {
			have += (size_t)n;
			drain_lines(&wc, &f, &h, buf, &have, !skipping);
			continue;
		}
		if (n == 0) {
			if (have && !skipping)	/* a last line without newline */
				handle_line(&wc, &f, &h, buf, have);
			if (c->live) {
				/* not a normal end: a script must see it */
				errmsg("follow ended: the apicv_trace module was unloaded"
				       " while watching (exit %d).\n"
				       "  to go on: modprobe apicv_trace, then run watch again",
				       EX_GONE);
				rc = EX_GONE;
			}
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			errmsg("reading %s/follow: %s", c->dir, strerror(errno));
			rc = EX_ERROR;
			break;
		}
		skipping = 0;	/* --new: the backlog is read */
		if (ppoll(&pfd, 1, NULL, &orig) < 0 && errno != EINTR) {
			errmsg("poll: %s", strerror(errno));
			rc = EX_ERROR;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	free(buf);
	free(h.seq);
	close(fd);
	filter_free(&f);
	return rc;
}
