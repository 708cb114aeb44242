/* SPDX-License-Identifier: GPL-2.0 */
/*
 * timeline.h - `show --timeline`: each reason's set and clear intervals
 * over a VM's life (or its last N seconds) as one strip per reason.
 */
#ifndef APICV_TRACE_TIMELINE_H
#define APICV_TRACE_TIMELINE_H

#include "cmd.h"
#include "parse.h"

/*
 * Draw the strips for the VM of @st (its state) from @ev (its events,
 * n == 0 when there are none) on stdout; @title names the VM. @ascii:
 * '#', '+', '.' instead of UTF-8 blocks. The width is $COLUMNS if set,
 * else the terminal's, else 80. Returns an exit code.
 */
int timeline_print(const struct ctx *c, const struct state *st,
		   const struct file *ev, const char *title, int ascii);

#endif
