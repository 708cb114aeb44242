// SPDX-License-Identifier: GPL-2.0
/*
 * view_show.c - `apicv-trace show VM`: one VM's state in plain words.
 *
 * Reads vms (to find the VM), vm/<key>/state, and vm/<key>/events when it
 * is there: the history supplies what an older module's state file lacks
 * (the last set and clear of each reason, the last APIC ID mismatch) and
 * the VMM's local APIC restores (lapic_set records).
 *
 * The text opens with a verdict: one line on whether AVIC is on and what
 * keeps it off, and the one change to make first, for the reason that
 * matters most; the details follow. --timeline draws the strips instead
 * of the details (timeline.c).
 */
#include "cmd.h"
#include "files.h"
#include "hints.h"
#include "parse.h"
#include "timeline.h"
#include "util.h"
#include "vms.h"
#include "views.h"

#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum known { K_UNKNOWN, K_NEVER, K_KNOWN };

struct last {
	enum known state;
	uint64_t ns;
	const char *site;
	const char *source;	/* "state" or "events" */
};

struct rinfo {
	const struct rec *r;
	const char *name;
	struct last set, clear;
	int share_known;
	uint64_t share;
};

struct mismatch {
	int have;
	const char *source;
	uint64_t vcpu_id, xapic_id, compared_with, ns;
	int have_vcpu, have_xapic, have_cmp, have_ns;
	const char *site;
	int alias;
};

struct showdata {
	const struct rec *vm;		/* vms line */
	struct state st;
	struct file ev;			/* vm/<key>/events, maybe empty */
	int have_events;
	size_t nreasons;
	struct rinfo *ri;
	struct mismatch mm;
	int life_known;
	uint64_t life_ms;
	size_t restores;		/* lapic_set records */
	const struct rec *last_restore;
	size_t base_writes;		/* apic_base records */
	const struct rec *last_base;
};

/* ------------------------------------------------------------------ */

static void last_from_state(const struct rec *r, const char *nskey,
			    const char *sitekey, struct last *l)
{
	const char *ns = rec_str(r, nskey);

	l->state = K_UNKNOWN;
	if (!ns)
		return;
	l->source = "state";
	if (!strcmp(ns, "-")) {
		l->state = K_NEVER;
		return;
	}
	if (parse_u64(ns, &l->ns)) {
		const char *site = rec_str(r, sitekey);

		l->state = K_KNOWN;
		l->site = site && strcmp(site, "-") ? site : NULL;
	}
}

static void analyse(const struct ctx *c, struct showdata *d)
{
	const struct rec *h = &d->st.head;
	uint64_t created, exited, v;
	size_t i, j;

	/* life */
	if (rec_u64(h, "life_ms", &v)) {
		d->life_known = 1;
		d->life_ms = v;
	} else if (rec_u64(h, "created_ns", &created) &&
		   rec_u64(h, "exited_ns", &exited)) {
		if (exited && exited >= created) {
			d->life_known = 1;
			d->life_ms = (exited - created) / 1000000;
		} else if (!exited && c->live && c->boot_now_ns >= created) {
			d->life_known = 1;
			d->life_ms = (c->boot_now_ns - created) / 1000000;
		}
	}

	d->ri = calloc(d->st.nreasons ? d->st.nreasons : 1, sizeof(*d->ri));
	if (!d->ri)
		return;
	d->nreasons = d->st.nreasons;
	for (i = 0; i < d->nreasons; i++) {
		struct rinfo *ri = &d->ri[i];
		uint64_t sets, clears, inh;

		ri->r = d->st.reason[i];
		ri->name = rec_str(ri->r, "reason");
		last_from_state(ri->r, "last_set_ns", "last_set_site", &ri->set);
		last_from_state(ri->r, "last_clear_ns", "last_clear_site",
				&ri->clear);
		if (rec_u64(ri->r, "share_pct", &v)) {
			ri->share_known = 1;
			ri->share = v;
		} else if (d->life_known && d->life_ms &&
			   rec_u64(ri->r, "inhibited_ms", &inh)) {
			ri->share_known = 1;
			ri->share = inh >= d->life_ms ? 100 :
				    inh * 100 / d->life_ms;
		}
		/* the history fills in what an older state file lacks */
		for (j = d->ev.n; j-- > 0;) {
			const struct rec *e = &d->ev.recs[j];
			struct last *l = NULL;

			if (event_kind(e) != EV_RECORD ||
			    !rec_is(e, "reason", ri->name) ||
			    !rec_is(e, "result", "changed"))
				continue;
			if (rec_is(e, "event", "set"))
				l = &ri->set;
			else if (rec_is(e, "event", "clear"))
				l = &ri->clear;
			if (!l || l->state != K_UNKNOWN || l->source)
				continue;
			if (rec_u64(e, "ns", &l->ns)) {
				l->state = K_KNOWN;
				l->site = rec_str(e, "site");
				l->source = "events";
			}
		}
		if (ri->set.state == K_UNKNOWN && !ri->set.source &&
		    rec_u64(ri->r, "sets", &sets) && !sets)
			ri->set.state = K_NEVER;
		if (ri->clear.state == K_UNKNOWN && !ri->clear.source &&
		    rec_u64(ri->r, "clears", &clears) && !clears)
			ri->clear.state = K_NEVER;
	}

	/* the last APIC ID mismatch: state's line, else the history */
	if (d->st.mismatch) {
		const struct rec *m = d->st.mismatch;

		d->mm.have = 1;
		d->mm.source = "state";
		d->mm.have_vcpu = rec_u64(m, "vcpu_id", &d->mm.vcpu_id);
		d->mm.have_xapic = rec_u64(m, "xapic_id", &d->mm.xapic_id);
		d->mm.have_cmp = rec_u64(m, "compared_with", &d->mm.compared_with);
		d->mm.have_ns = rec_u64(m, "ns", &d->mm.ns);
		d->mm.site = rec_str(m, "site");
		d->mm.alias = rec_yesno(m, "alias");
	}
	for (j = d->ev.n; j-- > 0;) {
		const struct rec *e = &d->ev.recs[j];

		if (event_kind(e) != EV_RECORD)
			continue;
		if (rec_is(e, "event", "lapic_set")) {
			d->restores++;
			if (!d->last_restore)
				d->last_restore = e;
		} else if (rec_is(e, "event", "apic_base")) {
			d->base_writes++;
			if (!d->last_base)
				d->last_base = e;
		} else if (!d->mm.have && rec_is(e, "event", "apic_id") &&
			   rec_is(e, "match", "no")) {
			d->mm.have = 1;
			d->mm.source = "events";
			d->mm.have_vcpu = rec_u64(e, "vcpu_id", &d->mm.vcpu_id);
			d->mm.have_xapic = rec_u64(e, "xapic_id", &d->mm.xapic_id);
			if (d->mm.have_vcpu) {
				d->mm.have_cmp = 1;
				d->mm.compared_with = d->mm.vcpu_id & 0xff;
			}
			d->mm.have_ns = rec_u64(e, "ns", &d->mm.ns);
			d->mm.site = rec_str(e, "site");
			d->mm.alias = rec_yesno(e, "alias");
		}
	}
}

/* ------------------------------------------------------------------ */
/* text                                                               */

/* Print @label then @text wrapped at 78 columns, continuation indented. */
static void wrap(const char *indent, const char *label, const char *text)
{
	size_t col, ind = strlen(indent) + strlen(label);
	const char *p = text;

	printf("%s%s", indent, label);
	col = ind;
	while (*p) {
		size_t wl = strcspn(p, " ");

		if (col > ind && col + 1 + wl > 78) {
			printf("\n%*s", (int)ind, "");
			col = ind;
		} else if (col > ind) {
			putchar(' ');
			col++;
		}
		fwrite(p, 1, wl, stdout);
		col += wl;
		p += wl;
		while (*p == ' ')
			p++;
	}
	putchar('\n');
}

static const char *q(const char *s)
{
	return s ? s : "?";
}

static void num(char *buf, size_t len, const struct rec *r, const char *key)
{
	uint64_t v;

	if (rec_u64(r, key, &v))
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "?");
}

/* "2025-01-01 10:00:00 (3 min 2 s ago)" or "boot+1.234s" */
static void when_ago(const struct ctx *c, uint64_t ns, char *buf, size_t len)
{
	char w[64], dur[64];

	when_str(c, ns, w, sizeof(w));
	if (c->live && c->boot_now_ns >= ns) {
		dur_long((c->boot_now_ns - ns) / 1000000, dur, sizeof(dur));
		snprintf(buf, len, "%s (%s ago)", w, dur);
	} else {
		snprintf(buf, len, "%s", w);
	}
}

static void site_words(const char *site, char *buf, size_t len)
{
	const char *m = site_meaning(site);
	char s[160];

	clean_text(site ? site : "?", s, sizeof(s));
	if (m)
		snprintf(buf, len, "%s: %s", s, m);
	else
		snprintf(buf, len, "%s", s);
}

static void print_last(const struct ctx *c, const char *label,
		       const struct last *l)
{
	char when[160], site[256];

	if (l->state == K_NEVER) {
		printf("  %s never\n", label);
		return;
	}
	if (l->state == K_UNKNOWN) {
		printf("  %s not known (not in this module's state, and no "
		       "longer in the recorded history)\n", label);
		return;
	}
	when_ago(c, l->ns, when, sizeof(when));
	site_words(l->site, site, sizeof(site));
	printf("  %s %s, by %s\n", label, when, site);
}

static void print_reason(const struct ctx *c, const struct showdata *d,
			 const struct rinfo *ri)
{
	const struct rec *r = ri->r;
	const struct hint *h = hint_for(ri->name);
	char name[128], bit[32], a[32], b[32], dur[64], when[128];
	uint64_t v, since;
	int set = rec_is(r, "now", "set"), f;

	clean_text(ri->name, name, sizeof(name));
	num(bit, sizeof(bit), r, "bit");
	printf("\n%s (bit %s): ", name, bit);
	if (set) {
		printf("SET now");
		if (rec_u64(r, "since_ns", &since)) {
			when_str(c, since, when, sizeof(when));
			printf(", since %s", when);
			if (rec_u64(&d->st.head, "exited_ns", &v) && v &&
			    v >= since) {
				dur_long((v - since) / 1000000, dur, sizeof(dur));
				printf(" (%s, until the VM exited)", dur);
			} else if (c->live && c->boot_now_ns >= since) {
				dur_long((c->boot_now_ns - since) / 1000000, dur,
					 sizeof(dur));
				printf(" (%s)", dur);
			}
		}
		putchar('\n');
	} else if (rec_is(r, "now", "clear")) {
		printf("clear now\n");
	} else {
		printf("now ?\n");
	}
	if (rec_yesno(r, "sticky") == 1)
		printf("  sticky: this kernel never clears it: only a VM restart does\n");
	num(a, sizeof(a), r, "sets");
	num(b, sizeof(b), r, "clears");
	printf("  %s set%s, %s clear%s", a, strcmp(a, "1") ? "s" : "", b,
	       strcmp(b, "1") ? "s" : "");
	if (rec_u64(r, "inhibited_ms", &v)) {
		dur_long(v, dur, sizeof(dur));
		printf("; inhibited %s in total", dur);
		if (ri->share_known)
			printf(", %llu%% of the VM's life",
			       (unsigned long long)ri->share);
	} else {
		printf("; time inhibited ?");
	}
	putchar('\n');
	{
		static const struct {
			const char *key, *words;
		} more[] = {
			{ "noops", "requests that changed nothing" },
			{ "filtered", "requests ignored (the vendor module does not honour this reason)" },
			{ "dropped", "requests dropped (APICv/AVIC is off)" },
			{ "absorbed", "IRQWIN requests only counted (another reason already inhibited)" },
		};
		size_t i;

		for (i = 0; i < sizeof(more) / sizeof(more[0]); i++)
			if (rec_u64(r, more[i].key, &v) && v)
				printf("  also %llu %s\n", (unsigned long long)v,
				       more[i].words);
	}
	f = rec_yesno(r, "flapping");
	num(a, sizeof(a), r, "changes_10s");
	num(b, sizeof(b), r, "changes_60s");
	if (f == 1)
		printf("  FLAPPING: %s changes in the last 10 s, %s in the last 60 s\n",
		       a, b);
	else if ((rec_u64(r, "changes_10s", &v) && v) ||
		 (rec_u64(r, "changes_60s", &v) && v))
		printf("  changes: %s in the last 10 s, %s in the last 60 s\n", a, b);
	if (!set && rec_u64(r, "sets", &v) && !v && rec_u64(r, "inhibited_ms", &v) &&
	    !v) {
		/* 6.12+ re-evaluates some reasons on every APIC map rebuild */
		printf("  never inhibited this VM (only requests that changed nothing)\n");
		return;
	}
	print_last(c, "last set:  ", &ri->set);
	print_last(c, "last clear:", &ri->clear);
	if (!h->known)
		printf("  (no explanation for %s in this version of apicv-trace)\n",
		       name);
	wrap("  ", "why:  ", h->cause);
	wrap("  ", "what: ", h->fix);
}

static void print_text(const struct ctx *c, const struct showdata *d,
		       const char *key)
{
	const struct rec *h = &d->st.head;
	char comm[256], buf[160], dur[64], k[128], reasons[512];
	uint64_t v, since, exited = 0;
	int have_exit, f;
	size_t i;

	clean_text(key, k, sizeof(k));
	if (rec_str(h, "comm"))
		clean_text(rec_str(h, "comm"), comm, sizeof(comm));
	else
		vm_comm(c, d->vm, comm, sizeof(comm));
	num(buf, sizeof(buf), h, "pid");
	printf("VM %s: pid %s (%s), ", k, buf, comm);
	num(buf, sizeof(buf), h, "vcpus");
	printf("%s vCPU%s, ", buf, strcmp(buf, "1") ? "s" : "");
	have_exit = rec_u64(h, "exited_ns", &exited) && exited;
	if (rec_is(h, "status", "exited") || have_exit) {
		printf("exited");
		if (have_exit) {
			when_str(c, exited, buf, sizeof(buf));
			printf(" at %s", buf);
		}
		putchar('\n');
	} else if (rec_is(h, "status", "live")) {
		printf("running\n");
	} else {
		printf("status ?\n");
	}
	if (rec_yesno(h, "baseline") == 1)
		printf("(already running when apicv-trace was loaded: its history starts at its first change seen)\n");

	clean_text(q(rec_str(h, "reasons")), reasons, sizeof(reasons));
	if (rec_is(h, "apicv", "inhibited"))
		printf("%s is INHIBITED by %s", c->apic_word, reasons);
	else if (rec_is(h, "apicv", "active"))
		printf("%s is ACTIVE (no inhibit reason set)", c->apic_word);
	else
		printf("%s state: ?", c->apic_word);
	if (rec_u64(h, "since_ns", &since)) {
		when_str(c, since, buf, sizeof(buf));
		printf(", since %s", buf);
	}
	if (rec_u64(h, "for_ms", &v)) {
		dur_long(v, dur, sizeof(dur));
		printf(" (%s%s)", dur, have_exit ? ", until the VM exited" : "");
	}
	putchar('\n');

	printf("Life: ");
	if (d->life_known) {
		dur_long(d->life_ms, dur, sizeof(dur));
		printf("%s", dur);
	} else {
		printf("?");
	}
	num(buf, sizeof(buf), h, "transitions");
	printf("; %s inhibit changes", buf);
	num(buf, sizeof(buf), h, "events");
	printf(", %s records", buf);
	if (rec_u64(h, "lost", &v) && v)
		printf(", %llu of them lost (the oldest history was overwritten; "
		       "the counts below are still exact)", (unsigned long long)v);
	printf(".\n");
	f = rec_yesno(h, "flapping");
	if (f == 1)
		printf("FLAPPING: some reason keeps being set and cleared (see below).\n");
	else if (f < 0)
		printf("Flapping: ? (this module version does not report it)\n");

	if (!d->nreasons)
		printf("\nNo inhibit reason was ever seen for this VM.\n");
	else
		printf("\nReasons seen in this VM's life:\n");
	for (i = 0; i < d->nreasons; i++)
		print_reason(c, d, &d->ri[i]);

	if (d->mm.have) {
		char site[256], x[32], vc[32], cw[32];

		printf("\nLast APIC ID mismatch");
		if (d->mm.have_ns) {
			when_ago(c, d->mm.ns, buf, sizeof(buf));
			printf(" (%s)", buf);
		}
		printf(":\n");
		snprintf(vc, sizeof(vc), d->mm.have_vcpu ? "%llu" : "?",
			 (unsigned long long)d->mm.vcpu_id);
		snprintf(x, sizeof(x), d->mm.have_xapic ? "%llu" : "?",
			 (unsigned long long)d->mm.xapic_id);
		snprintf(cw, sizeof(cw), d->mm.have_cmp ? "%llu" : "?",
			 (unsigned long long)d->mm.compared_with);
		printf("  vCPU %s had xAPIC ID %s; KVM compared it with %s "
		       "(the vCPU id %s & 0xff), so they differ.\n", vc, x, cw, vc);
		if (d->mm.alias == 1)
			printf("  Another vCPU has the same xAPIC ID (PHYSICAL_ID_ALIASED).\n");
		site_words(d->mm.site, site, sizeof(site));
		printf("  Written by %s.\n", site);
	}
	if (d->restores) {
		uint64_t t;

		printf("\nThe VMM restored a local APIC (KVM_SET_LAPIC: reset, reboot or "
		       "restore) %zu time%s in the recorded history",
		       d->restores, d->restores == 1 ? "" : "s");
		if (rec_u64(d->last_restore, "ns", &t)) {
			when_str(c, t, buf, sizeof(buf));
			printf("; the last at %s (vCPU %s, xAPIC ID %s)", buf,
			       q(rec_str(d->last_restore, "vcpu")),
			       q(rec_str(d->last_restore, "apic_id") ?
				 rec_str(d->last_restore, "apic_id") :
				 rec_str(d->last_restore, "xapic_id")));
		}
		printf(".\n");
	}
	if (d->base_writes) {
		printf("The VMM wrote an APIC base MSR %zu time%s in the recorded history",
		       d->base_writes, d->base_writes == 1 ? "" : "s");
		if (d->last_base)
			printf(" (last: vCPU %s, value %s, was %s)",
			       q(rec_str(d->last_base, "vcpu")),
			       q(rec_str(d->last_base, "value")),
			       q(rec_str(d->last_base, "was")));
		printf(".\n");
	}
}

/* ------------------------------------------------------------------ */
/* the verdict                                                        */

/*
 * How much a reason matters, lower first: DISABLE turns AVIC off for the
 * whole host and ABSENT (no in-kernel APIC) for the whole VM, whatever
 * else is fixed; then a reason that keeps AVIC off for good (sticky: only
 * a VM restart clears it); then one that is set and stays; a flapping
 * one (IRQWIN is one by nature) last: it costs less, and often follows
 * from the others.
 */
static int tier(const struct rec *r)
{
	const char *n = rec_str(r, "reason");

	if (!n)
		return 5;
	if (!strcmp(n, "DISABLE") || !strcmp(n, "DISABLED"))
		return 0;
	if (!strcmp(n, "ABSENT"))
		return 1;
	if (rec_yesno(r, "sticky") == 1 || !strcmp(n, "APIC_BASE_MODIFIED") ||
	    !strcmp(n, "PHYSICAL_ID_TOO_BIG") || !strcmp(n, "SEV"))
		return 2;
	if (rec_yesno(r, "flapping") == 1 || !strcmp(n, "IRQWIN"))
		return 4;
	return 3;
}

/* The reason that matters most among those set now (or, @set 0, flapping). */
static const struct rinfo *primary(const struct showdata *d, int set)
{
	const struct rinfo *best = NULL;
	uint64_t bm = 0, m;
	size_t i;

	for (i = 0; i < d->nreasons; i++) {
		const struct rinfo *ri = &d->ri[i];

		if (!ri->name)
			continue;
		if (set ? !rec_is(ri->r, "now", "set") :
			  rec_yesno(ri->r, "flapping") != 1)
			continue;
		if (!rec_u64(ri->r, "inhibited_ms", &m))
			m = 0;
		if (!best || tier(ri->r) < tier(best->r) ||
		    (tier(ri->r) == tier(best->r) && m > bm)) {
			best = ri;
			bm = m;
		}
	}
	return best;
}

/*
 * The local APIC restore (lapic_set record) that a set at @ns followed:
 * KVM_SET_LAPIC sets the reason in the same ioctl, well within a second.
 */
static int restore_before(const struct showdata *d, uint64_t ns, uint64_t *at)
{
	size_t j;
	uint64_t t;

	for (j = d->ev.n; j-- > 0;) {
		const struct rec *e = &d->ev.recs[j];

		if (event_kind(e) != EV_RECORD || !rec_is(e, "event", "lapic_set") ||
		    !rec_u64(e, "ns", &t) || t > ns)
			continue;
		if (ns - t >= 1000000000ULL)
			return 0;
		*at = t;
		return 1;
	}
	return 0;
}

static void print_verdict(const struct ctx *c, const struct showdata *d,
			  const char *key)
{
	const struct rec *h = &d->st.head;
	const struct rinfo *p;
	const char *nm = rec_str(h, "name");
	char title[400], k[128], buf[256], dur[64];
	uint64_t v;
	int exited = rec_is(h, "status", "exited") ||
		     (rec_u64(h, "exited_ns", &v) && v);
	size_t i, n = 0;

	clean_text(key, k, sizeof(k));
	if (nm && strcmp(nm, "-"))
		clean_text(nm, buf, sizeof(buf));
	else if (rec_str(h, "comm"))
		clean_text(rec_str(h, "comm"), buf, sizeof(buf));
	else
		vm_comm(c, d->vm, buf, sizeof(buf));
	if (!strcmp(buf, "?"))
		snprintf(title, sizeof(title), "VM %s", k);
	else
		snprintf(title, sizeof(title), "%s (%s)", buf, k);
	printf("%s: %s", title, exited ? "exited, " : "");

	p = primary(d, 1);
	if (rec_is(h, "apicv", "inhibited") || p) {
		printf("%s INHIBITED", c->apic_word);
		if (rec_u64(h, "for_ms", &v)) {
			dur_long(v, dur, sizeof(dur));
			printf(" for %s%s", exited ? "its last " : "", dur);
		}
		printf(" by ");
		if (p) {
			clean_text(p->name, buf, sizeof(buf));
			fputs(buf, stdout);
			n = 1;
		}
		for (i = 0; i < d->nreasons; i++) {
			const struct rinfo *ri = &d->ri[i];

			if (ri == p || !ri->name || !rec_is(ri->r, "now", "set"))
				continue;
			clean_text(ri->name, buf, sizeof(buf));
			printf("%s%s", n ? " and " : "", buf);
			n++;
		}
		if (!n)
			printf("%s", q(rec_str(h, "reasons")));
		if (p && tier(p->r) == 2) {
			const char *m = p->set.state == K_KNOWN ?
					site_meaning(p->set.site) : NULL;
			uint64_t r = 0;

			printf(" (sticky: stays until the VM restarts");
			if (p->set.state == K_KNOWN &&
			    restore_before(d, p->set.ns, &r)) {
				when_str(c, r, buf, sizeof(buf));
				printf("; set at a reboot or restore: the VMM "
				       "restored the local APIC at %s", buf);
			} else if (m) {
				clean_text(p->set.site, buf, sizeof(buf));
				buf[strcspn(buf, "+")] = 0;
				printf("; set by %s, i.e. %s", buf, m);
			}
			putchar(')');
		} else if (p && rec_yesno(p->r, "flapping") == 1) {
			printf(" (flapping)");
		}
		putchar('\n');
		printf("First change: %s\n", p ? hint_first(p->name) :
		       "see the reasons below.");
		return;
	}
	if (!rec_is(h, "apicv", "active")) {
		printf("%s state not known\n", c->apic_word);
		printf("First change: none can be told from this state file.\n");
		return;
	}
	printf("%s active", c->apic_word);
	p = primary(d, 0);
	if (p) {
		clean_text(p->name, buf, sizeof(buf));
		printf(", but %s is flapping", buf);
		if (rec_u64(p->r, "changes_60s", &v))
			printf(" (%llu changes in the last 60 s)",
			       (unsigned long long)v);
		putchar('\n');
		printf("First change: %s\n", hint_first(p->name));
		return;
	}
	printf("\nFirst change: none needed.\n");
}

/* ------------------------------------------------------------------ */
/* JSON                                                               */

static void json_last(const struct last *l)
{
	static const char *const names[] = { "unknown", "never", "known" };

	printf("{\"state\":\"%s\",\"ns\":", names[l->state]);
	if (l->state == K_KNOWN)
		printf("%llu", (unsigned long long)l->ns);
	else
		fputs("null", stdout);
	fputs(",\"site\":", stdout);
	json_str(stdout, l->state == K_KNOWN ? l->site : NULL);
	fputs(",\"source\":", stdout);
	json_str(stdout, l->source);
	putchar('}');
}

static void json_opt(int have, uint64_t v)
{
	if (have)
		printf("%llu", (unsigned long long)v);
	else
		fputs("null", stdout);
}

static void print_json(const struct ctx *c, const struct showdata *d)
{
	const struct rec *h = &d->st.head;
	static const char *const u64s[] = {
		"sets", "clears", "noops", "filtered", "dropped", "absorbed",
		"inhibited_ms", "changes_10s", "changes_60s", "since_ns", NULL
	};
	char comm[256];
	size_t i, j;

	printf("{\"schema_version\":%d,\"kind\":\"show\",\"source\":",
	       JSON_SCHEMA_VERSION);
	json_str(stdout, c->dir);
	fputs(",\n\"vm\":{\"vm\":", stdout);
	json_str(stdout, rec_str(h, "vm") ? rec_str(h, "vm") : rec_str(d->vm, "vm"));
	json_field_u64(stdout, h, "id");
	json_field_u64(stdout, h, "pid");
	if (rec_str(h, "comm"))
		clean_text(rec_str(h, "comm"), comm, sizeof(comm));
	else
		vm_comm(c, d->vm, comm, sizeof(comm));
	fputs(",\"comm\":", stdout);
	json_str(stdout, strcmp(comm, "?") ? comm : NULL);
	/* the state head's name=, else the vms line's */
	fputs(",\"name\":", stdout);
	json_str(stdout, vm_name(h) ? vm_name(h) : vm_name(d->vm));
	json_field_u64(stdout, h, "vcpus");
	json_field_str(stdout, h, "status");
	printf(",\"baseline\":%s", rec_yesno(h, "baseline") == 1 ? "true" : "false");
	json_field_str(stdout, h, "apicv");
	json_field_u64(stdout, h, "since_ns");
	json_field_u64(stdout, h, "for_ms");
	json_field_str(stdout, h, "mask");
	fputs(",\"reasons\":", stdout);
	json_reasons(stdout, rec_str(h, "reasons"));
	json_field_u64(stdout, h, "created_ns");
	json_field_u64(stdout, h, "exited_ns");
	fputs(",\"life_ms\":", stdout);
	json_opt(d->life_known, d->life_ms);
	json_field_u64(stdout, h, "transitions");
	json_field_u64(stdout, h, "events");
	json_field_u64(stdout, h, "lost");
	fputs(",\"flapping\":", stdout);
	json_yesno(stdout, h, "flapping");
	putchar(',');
	json_extra(stdout, h, state_head_keys);
	fputs("},\n\"reasons\":[", stdout);
	for (i = 0; i < d->nreasons; i++) {
		const struct rinfo *ri = &d->ri[i];
		const struct hint *hi = hint_for(ri->name);

		fputs(i ? ",\n{" : "\n{", stdout);
		fputs("\"reason\":", stdout);
		json_str(stdout, ri->name);
		json_field_u64(stdout, ri->r, "bit");
		json_field_str(stdout, ri->r, "now");
		for (j = 0; u64s[j]; j++) {
			printf(",\"%s\":", u64s[j]);
			json_u64(stdout, ri->r, u64s[j]);
		}
		fputs(",\"share_pct\":", stdout);
		json_opt(ri->share_known, ri->share);
		fputs(",\"sticky\":", stdout);
		json_yesno(stdout, ri->r, "sticky");
		fputs(",\"flapping\":", stdout);
		json_yesno(stdout, ri->r, "flapping");
		fputs(",\"last_set\":", stdout);
		json_last(&ri->set);
		fputs(",\"last_clear\":", stdout);
		json_last(&ri->clear);
		fputs(",\"hint\":{\"known\":", stdout);
		fputs(hi->known ? "true" : "false", stdout);
		fputs(",\"cause\":", stdout);
		json_str(stdout, hi->cause);
		fputs(",\"fix\":", stdout);
		json_str(stdout, hi->fix);
		fputs("},", stdout);
		json_extra(stdout, ri->r, state_reason_keys);
		putchar('}');
	}
	fputs("],\n\"apic_id_mismatch\":", stdout);
	if (d->mm.have) {
		fputs("{\"vcpu_id\":", stdout);
		json_opt(d->mm.have_vcpu, d->mm.vcpu_id);
		fputs(",\"xapic_id\":", stdout);
		json_opt(d->mm.have_xapic, d->mm.xapic_id);
		fputs(",\"compared_with\":", stdout);
		json_opt(d->mm.have_cmp, d->mm.compared_with);
		fputs(",\"ns\":", stdout);
		json_opt(d->mm.have_ns, d->mm.ns);
		fputs(",\"site\":", stdout);
		json_str(stdout, d->mm.site);
		printf(",\"alias\":%s", d->mm.alias < 0 ? "null" :
					d->mm.alias ? "true" : "false");
		fputs(",\"source\":", stdout);
		json_str(stdout, d->mm.source);
		putchar('}');
	} else {
		fputs("null", stdout);
	}
	printf(",\n\"lapic_restores\":%zu,\"apic_base_writes\":%zu,"
	       "\"history_read\":%s}\n", d->restores, d->base_writes,
	       d->have_events ? "true" : "false");
}

/* ------------------------------------------------------------------ */

/* UTF-8 blocks unless --ascii, or the locale's character set is not UTF-8 */
static int utf8(const struct ctx *c)
{
	const char *cs;

	if (c->ascii || !setlocale(LC_CTYPE, ""))
		return 0;
	cs = nl_langinfo(CODESET);
	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

int view_show(const struct ctx *c, const char *arg)
{
	struct showdata d;
	struct vms v;
	const struct rec *vm;
	char *text, *key;
	size_t len;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = vms_read(c, &v);
	if (rc)
		return rc;
	vm = vm_lookup(c, &v, arg, &rc);
	if (!vm) {
		vms_free(&v);
		return rc;
	}
	d.vm = vm;
	key = strdup(rec_str(vm, "vm"));
	if (!key) {
		vms_free(&v);
		return EX_ERROR;
	}
	rc = read_vm_file(c, key, "state", &text, &len, 1);
	if (rc) {
		errmsg("VM %s is in vms but its state cannot be read (it may "
		       "just have been dropped: max_exited)", key);
		free(key);
		vms_free(&v);
		return rc == EX_ERROR ? EX_NOVM : rc;
	}
	if (state_parse(&d.st, text, len)) {
		free(text);
		free(key);
		vms_free(&v);
		errmsg("out of memory");
		return EX_ERROR;
	}
	free(text);
	if (!read_vm_file(c, key, "events", &text, &len, 1)) {
		if (!file_parse(&d.ev, text, len))
			d.have_events = 1;
		free(text);
	}
	analyse(c, &d);
	if (c->json) {
		print_json(c, &d);
	} else if (c->timeline) {
		print_verdict(c, &d, key);
		putchar('\n');
		rc = timeline_print(c, &d.st, &d.ev, key, !utf8(c));
	} else {
		print_verdict(c, &d, key);
		putchar('\n');
		print_text(c, &d, key);
	}
	free(d.ri);
	file_free(&d.ev);
	state_free(&d.st);
	free(key);
	vms_free(&v);
	return rc;
}
