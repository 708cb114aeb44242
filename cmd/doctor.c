// SPDX-License-Identifier: GPL-2.0
/*
 * doctor.c - `apicv-trace doctor` (stub: being written).
 */
#include "cmd.h"
#include "files.h"
#include "views.h"

int view_doctor(const struct ctx *c)
{
	(void)c;
	errmsg("doctor: not written yet");
	return EX_ERROR;
}
