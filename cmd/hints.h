/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hints.h - what each inhibit reason means and what an admin can change.
 */
#ifndef APICV_TRACE_HINTS_H
#define APICV_TRACE_HINTS_H

struct hint {
	const char *name;	/* the reason's name, as apicv_trace prints it */
	const char *cause;	/* what sets it */
	const char *fix;	/* what can be changed */
	int known;		/* 0 for the generic hint */
};

/* Never NULL: an unknown name (or "unknown", NULL) gets a generic hint. */
const struct hint *hint_for(const char *reason);

/*
 * The one change to make first for a reason, in a sentence (show's verdict
 * line "First change:"); never NULL. The full story is hint_for()'s fix.
 */
const char *hint_first(const char *reason);

/* The table, for tests: hint_table()[i] until name == NULL. */
const struct hint *hint_table(void);

/*
 * A few words on who called, from a site "function+0xoff", or NULL when
 * the function is not one this program knows.
 */
const char *site_meaning(const char *site);

#endif
