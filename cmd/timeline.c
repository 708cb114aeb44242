// SPDX-License-Identifier: GPL-2.0
/*
 * timeline.c - `apicv-trace show --timeline VM`.
 *
 * Each reason's set intervals are rebuilt from the VM's changed set/clear
 * records; the state file supplies the VM's life (created_ns, exited_ns)
 * and what the ring no longer holds (a reason set since before the oldest
 * kept record: since_ns). Cell i covers [t0 + i*w, t0 + (i+1)*w), computed
 * in integers so that no nanosecond is in two cells or none: a cell is
 * full when the reason was set for all of it, partial when for some of it
 * (even a set and clear in the same nanosecond), so no flap is lost to
 * the cell size. Time the history cannot tell about (before the oldest
 * kept record of a wrapped ring, or before the module saw a VM that was
 * already running) is drawn as not known, never as clear.
 */
#include "timeline.h"
#include "files.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct iv {
	uint64_t s, e;		/* [s, e) */
};

struct row {
	const char *name;
	int bit;		/* -1: not known */
	struct iv *iv;
	size_t n, cap;
	int open;
	uint64_t open_s;
	int seen;		/* a changed record of it was met */
	uint64_t unknown_end;	/* [life start, unknown_end) not known */
};

enum cell { C_CLEAR, C_PART, C_FULL, C_UNKNOWN, C_OUT };

static int add_iv(struct row *r, uint64_t s, uint64_t e)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct iv *n = realloc(r->iv, cap * sizeof(*n));

		if (!n)
			return -1;
		r->iv = n;
		r->cap = cap;
	}
	r->iv[r->n].s = s;
	r->iv[r->n].e = e < s ? s : e;
	r->n++;
	return 0;
}

/* the changed sets of @name the ring holds */
static uint64_t count_sets(const struct file *ev, const char *name)
{
	uint64_t n = 0, t;
	size_t i;

	for (i = 0; i < ev->n; i++)
		if (event_kind(&ev->recs[i]) == EV_RECORD &&
		    rec_is(&ev->recs[i], "reason", name) &&
		    rec_is(&ev->recs[i], "event", "set") &&
		    rec_is(&ev->recs[i], "result", "changed") &&
		    rec_u64(&ev->recs[i], "ns", &t))
			n++;
	return n;
}

/* the time of the oldest record the ring holds, else @dflt */
static uint64_t first_or(const struct file *ev, uint64_t dflt)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < ev->n; i++)
		if (event_kind(&ev->recs[i]) == EV_RECORD &&
		    rec_u64(&ev->recs[i], "ns", &v))
			return v;
	return dflt;
}

static struct row *find_row(struct row *rows, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].name, name))
			return &rows[i];
	return NULL;
}

static int width(void)
{
	const char *e = getenv("COLUMNS");
	struct winsize ws;
	uint64_t v;

	if (e && parse_u64(e, &v) && v >= 20 && v <= 1000)
		return (int)v;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* The start of cell @i of @n over [t0, t0 + span): exact, no overflow. */
static uint64_t edge(uint64_t t0, uint64_t span, size_t n, size_t i)
{
	return t0 + span / n * i + span % n * i / n;
}

static enum cell cell_of(const struct row *r, uint64_t a, uint64_t b,
			 uint64_t life_s)
{
	uint64_t cov = 0;
	int touched = 0;
	size_t k;

	for (k = 0; k < r->n; k++) {
		uint64_t s = r->iv[k].s, e = r->iv[k].e;

		if (s == e) {
			if (s >= a && s < b)
				touched = 1;
			continue;
		}
		if (s < b && e > a) {
			touched = 1;
			cov += (e < b ? e : b) - (s > a ? s : a);
		}
	}
	if (touched && cov >= b - a)
		return C_FULL;
	if (touched)
		return C_PART;
	if (r->unknown_end > life_s && a < r->unknown_end)
		return C_UNKNOWN;
	return C_CLEAR;
}

/* "+1.234s" from the start of life, or wall time when live */
static void label(const struct ctx *c, uint64_t ns, uint64_t life_s,
		  char *buf, size_t len)
{
	if (c->live) {
		clock_str(c, ns, buf, len);
		return;
	}
	ns -= life_s;
	snprintf(buf, len, "+%llu.%03llus",
		 (unsigned long long)(ns / 1000000000ULL),
		 (unsigned long long)(ns % 1000000000ULL / 1000000ULL));
}

int timeline_print(const struct ctx *c, const struct state *st,
		   const struct file *ev, const char *title, int ascii)
{
	static const char *const glyph[2][5] = {
		{ "\u00b7", "\u2584", "\u2588", "\u2591", " " },
		{ ".", "+", "#", "?", " " },
	};
	const char *const *g = glyph[ascii ? 1 : 0];
	const struct rec *h = &st->head;
	struct row *rows;
	size_t nrows = 0, i, j, cells, namew = 6;
	uint64_t life_s = 0, life_e = 0, first_ns = 0, last_ns = 0, v, t0,
		 span, mask0 = 0, lost = 0;
	int have_first = 0, have_mask0 = 0, complete, exited = 0, rc = EX_OK;
	int any_unknown = 0, cols;
	char a[64], b[64], dur[64], *axis;

	rows = calloc(st->nreasons + ev->n + 1, sizeof(*rows));
	if (!rows) {
		errmsg("out of memory");
		return EX_ERROR;
	}
	for (i = 0; i < ev->n; i++) {
		const struct rec *e = &ev->recs[i];

		if (event_kind(e) != EV_RECORD || !rec_u64(e, "ns", &v))
			continue;
		if (!have_first) {
			have_first = 1;
			first_ns = v;
			if (rec_str(e, "old") &&
			    parse_hex(rec_str(e, "old"), &mask0))
				have_mask0 = 1;
		}
		if (v > last_ns)
			last_ns = v;
	}

	/* the life: created .. exited (or now, or the last thing known) */
	if (!rec_u64(h, "created_ns", &life_s))
		life_s = have_first ? first_ns : 0;
	if (rec_u64(h, "exited_ns", &v) && v) {
		life_e = v;
		exited = 1;
	} else if (c->live && c->boot_now_ns) {
		life_e = c->boot_now_ns;
	} else {
		life_e = last_ns;
		if (rec_u64(h, "since_ns", &v) && v > life_e)
			life_e = v;
		/* a copy of a running VM: its state was for_ms old then */
		if (rec_u64(h, "since_ns", &v) && rec_u64(h, "for_ms", &t0) &&
		    v + t0 * 1000000 > life_e)
			life_e = v + t0 * 1000000;
		for (i = 0; i < st->nreasons; i++) {
			if (rec_u64(st->reason[i], "last_set_ns", &v) && v > life_e)
				life_e = v;
			if (rec_u64(st->reason[i], "last_clear_ns", &v) && v > life_e)
				life_e = v;
		}
	}
	if (have_first && first_ns < life_s)
		life_s = first_ns;
	if (life_e < last_ns)
		life_e = last_ns;

	/*
	 * The history is whole only when nothing was lost, the VM did not
	 * predate the module, and the ring holds its first records.
	 */
	complete = ev->n && rec_u64(h, "lost", &lost) && !lost &&
		   rec_yesno(h, "baseline") != 1;
	for (i = 0; i < ev->n; i++)
		if (event_kind(&ev->recs[i]) == EV_LOST ||
		    event_kind(&ev->recs[i]) == EV_CAPPED)
			complete = 0;

	/* rows: every reason ever set, state's order first */
	for (i = 0; i < st->nreasons; i++) {
		const struct rec *r = st->reason[i];
		const char *name = rec_str(r, "reason");

		if (!name || find_row(rows, nrows, name))
			continue;
		if (!rec_is(r, "now", "set") && rec_u64(r, "sets", &v) && !v)
			continue;
		rows[nrows].name = name;
		rows[nrows].bit = rec_u64(r, "bit", &v) && v < 64 ? (int)v : -1;
		nrows++;
	}
	for (i = 0; i < ev->n; i++) {
		const struct rec *e = &ev->recs[i];
		const char *name = rec_str(e, "reason");

		if (event_kind(e) != EV_RECORD || !name || !strcmp(name, "-") ||
		    !rec_is(e, "result", "changed") ||
		    find_row(rows, nrows, name))
			continue;
		rows[nrows].name = name;
		rows[nrows].bit = rec_u64(e, "bit", &v) && v < 64 ? (int)v : -1;
		nrows++;
	}

	/* replay */
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		const struct rec *sr = state_reason(st, r->name);
		int set0 = -1;

		if (!complete) {
			r->unknown_end = have_first ? first_ns : life_e;
			if (have_mask0 && r->bit >= 0)
				set0 = (int)(mask0 >> r->bit & 1);
		} else {
			set0 = 0;
		}
		for (j = 0; j < ev->n && set0 < 0; j++) {
			const struct rec *e = &ev->recs[j];

			if (event_kind(e) == EV_RECORD &&
			    rec_is(e, "reason", r->name) &&
			    rec_is(e, "result", "changed"))
				set0 = rec_is(e, "event", "clear");
		}
		if (set0 == 1) {
			/* set since before the oldest record: since when? */
			uint64_t s = have_first ? first_ns : life_e, since;

			if (sr && rec_is(sr, "now", "set") &&
			    rec_u64(sr, "since_ns", &since) && since <= s) {
				int cleared = 0;

				for (j = 0; j < ev->n; j++)
					if (rec_is(&ev->recs[j], "reason", r->name) &&
					    rec_is(&ev->recs[j], "event", "clear") &&
					    rec_is(&ev->recs[j], "result", "changed"))
						cleared = 1;
				if (!cleared) {
					s = since < life_s ? life_s : since;
					r->unknown_end = s;
				}
			}
			r->open = 1;
			r->open_s = s;
		} else if (!ev->n && sr && rec_is(sr, "now", "set") &&
			   rec_u64(sr, "since_ns", &v)) {
			r->open = 1;
			r->open_s = v < life_s ? life_s : v;
			r->unknown_end = r->open_s;
		}
		/*
		 * The state counts every set: when the ring holds them all
		 * (one fewer if the reason was set since before it, from
		 * since_ns), nothing before is missing and the time before
		 * is known to be clear. Not for a VM the module found
		 * running: what it was before then is not counted.
		 */
		if (r->unknown_end > life_s && sr && rec_u64(sr, "sets", &v) &&
		    rec_yesno(h, "baseline") != 1 &&
		    v == count_sets(ev, r->name) +
			 (r->open && r->unknown_end < first_or(ev, life_e) ? 1 : 0))
			r->unknown_end = life_s;
		for (j = 0; j < ev->n; j++) {
			const struct rec *e = &ev->recs[j];

			if (event_kind(e) != EV_RECORD ||
			    !rec_is(e, "reason", r->name) ||
			    !rec_is(e, "result", "changed") ||
			    !rec_u64(e, "ns", &v))
				continue;
			if (rec_is(e, "event", "set") && !r->open) {
				r->open = 1;
				r->open_s = v;
			} else if (rec_is(e, "event", "clear") && r->open) {
				r->open = 0;
				if (add_iv(r, r->open_s, v))
					goto oom;
			}
		}
		/*
		 * Set now, says the state, but the history ends clear: the
		 * set the ring lacks happened at since_ns, else at some time
		 * not known.
		 */
		if (!r->open && sr && rec_is(sr, "now", "set")) {
			uint64_t last_clear = r->n ? r->iv[r->n - 1].e : life_s;

			if (rec_u64(sr, "since_ns", &v) && v >= last_clear &&
			    v <= life_e) {
				r->open = 1;
				r->open_s = v;
			} else {
				r->unknown_end = life_e;
			}
		}
		if (r->open && add_iv(r, r->open_s, life_e))
			goto oom;
	}

	/* the window */
	t0 = life_s;
	if (c->last_s) {
		uint64_t w = (uint64_t)c->last_s * 1000000000ULL;

		if (life_e > w && life_e - w > t0)
			t0 = life_e - w;
	}
	span = life_e > t0 ? life_e - t0 : 0;
	for (i = 0; i < nrows; i++)
		if (strlen(rows[i].name) > namew)
			namew = strlen(rows[i].name);
	if (namew > 24)
		namew = 24;
	cols = width();
	cells = cols > (int)namew + 3 + 10 ? (size_t)cols - namew - 3 : 10;
	if (span && cells > span)
		cells = (size_t)span;

	if (!span || !nrows) {
		printf(!nrows ? "No inhibit reason was ever set in this VM.\n" :
				"Nothing to draw: the VM's life is not known.\n");
		goto out;
	}
	dur_long(span / 1000000, dur, sizeof(dur));
	printf("%s: %s%s of %s, %zu cells of ", title,
	       c->last_s && t0 > life_s ? "the last " : "",
	       dur, c->last_s && t0 > life_s ? "its life" :
	       exited ? "its life (exited)" : "its life so far", cells);
	v = span / cells;
	if (v >= 1000000000)
		dur_long(v / 1000000, a, sizeof(a));
	else if (v >= 1000000)
		snprintf(a, sizeof(a), "%llu.%03llu ms",
			 (unsigned long long)(v / 1000000),
			 (unsigned long long)(v % 1000000 / 1000));
	else
		snprintf(a, sizeof(a), "%llu.%03llu us",
			 (unsigned long long)(v / 1000),
			 (unsigned long long)(v % 1000));
	printf("%s\n", a);
	for (i = 0; i < nrows; i++) {
		char name[64];

		clean_text(rows[i].name, name, sizeof(name));
		printf("%-*.*s |", (int)namew, (int)namew, name);
		for (j = 0; j < cells; j++)
			fputs(g[cell_of(&rows[i], edge(t0, span, cells, j),
					edge(t0, span, cells, j + 1), life_s)],
			      stdout);
		printf("|\n");
	}

	/* the axis: c created, r local APIC restored (reboot/restore), x exit */
	axis = malloc(cells + 1);
	if (!axis)
		goto oom;
	memset(axis, ascii ? '-' : ' ', cells);
	axis[cells] = 0;
	for (i = 0; i < ev->n; i++) {
		const struct rec *e = &ev->recs[i];
		char m = 0;

		if (event_kind(e) != EV_RECORD || !rec_u64(e, "ns", &v) ||
		    v < t0 || v >= life_e)
			continue;
		if (rec_is(e, "event", "lapic_set"))
			m = 'r';
		else if (rec_is(e, "event", "vm_create"))
			m = 'c';
		else
			continue;
		j = (size_t)((v - t0) / (span / cells + 1));
		while (j + 1 < cells && edge(t0, span, cells, j + 1) <= v)
			j++;
		while (j > 0 && edge(t0, span, cells, j) > v)
			j--;
		if (axis[j] != 'c')
			axis[j] = m;
	}
	if (t0 == life_s && rec_u64(h, "created_ns", &v))
		axis[0] = 'c';
	if (exited)
		axis[cells - 1] = 'x';
	printf("%-*s |", (int)namew, "");
	for (j = 0; j < cells; j++) {
		if (!ascii && axis[j] == ' ')
			fputs("\u2500", stdout);
		else
			putchar(axis[j]);
	}
	printf("|\n");
	free(axis);
	label(c, t0, life_s, a, sizeof(a));
	label(c, life_e, life_s, b, sizeof(b));
	printf("%-*s  %s%*s\n", (int)namew, "", a,
	       (int)(cells > strlen(a) ? cells - strlen(a) : 1), b);
	printf("%s set for the whole cell  %s set for part of it  %s clear\n"
	       "c created  r the VMM restored a local APIC (reset, reboot, "
	       "restore)  x exited\n", g[C_FULL], g[C_PART], g[C_CLEAR]);
	for (i = 0; i < nrows; i++)
		if (rows[i].unknown_end > life_s && rows[i].unknown_end > t0)
			any_unknown = 1;
	if (any_unknown)
		printf("%s not known: %s; a reason set since before then is "
		       "drawn from the state's since_ns\n", g[C_UNKNOWN],
		       rec_yesno(h, "baseline") == 1 ?
		       "the VM was running before apicv-trace was loaded" :
		       !ev->n ? "no records of this VM could be read" :
		       "before the oldest record the ring still holds (older ones "
		       "were overwritten)");
	goto out;
oom:
	errmsg("out of memory");
	rc = EX_ERROR;
out:
	for (i = 0; i < nrows; i++)
		free(rows[i].iv);
	free(rows);
	return rc;
}
