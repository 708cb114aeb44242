// SPDX-License-Identifier: GPL-2.0
/*
 * save.c - `apicv-trace save` (stub: being written).
 */
#include "cmd.h"
#include "files.h"
#include "views.h"

int view_save(const struct ctx *c, const char *dir)
{
	(void)c;
	(void)dir;
	errmsg("save: not written yet");
	return EX_ERROR;
}
