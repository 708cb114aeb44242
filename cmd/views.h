/* SPDX-License-Identifier: GPL-2.0 */
/*
 * views.h - the commands, one view_*.c each; each returns an exit code.
 */
#ifndef APICV_TRACE_VIEWS_H
#define APICV_TRACE_VIEWS_H

#include "cmd.h"

int view_list(const struct ctx *c);
int view_show(const struct ctx *c, const char *vm);
int view_watch(const struct ctx *c, const char *vm, const char *reasons,
	       int new_only);
int view_prom(const struct ctx *c);
/* verify.c: live for @secs, or on the files of @replay (a directory) */
int view_verify(const struct ctx *c, unsigned secs, const char *replay);
int view_names(const struct ctx *c, int apply, const char *replay);
/* doctor.c: can AVIC work on this host, and does the tracer see it all */
int view_doctor(const struct ctx *c);
/* save.c: a support bundle in @dir (never blocks: follow is not read) */
int view_save(const struct ctx *c, const char *dir);

#endif
