/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vms.h - the vms file: reading it, and finding one VM in it (vms.c).
 */
#ifndef APICV_TRACE_VMS_H
#define APICV_TRACE_VMS_H

#include "cmd.h"
#include "parse.h"

/* Read and parse vms into @v; an exit code, the error said on stderr. */
int vms_read(const struct ctx *c, struct vms *v);

/*
 * Find a VM by key, by its name (the live one, else the last listed), or
 * by pid or process name when exactly one VM has it.
 * On failure prints the known VMs and returns NULL, *code set.
 */
const struct rec *vm_lookup(const struct ctx *c, const struct vms *v,
			    const char *arg, int *code);

#endif
