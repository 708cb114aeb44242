// SPDX-License-Identifier: GPL-2.0
/*
 * vms.c - the vms file: reading it, and finding a VM in it by key, by the
 * name its VMM gave it, or by pid or process name when exactly one VM has
 * it.
 */
#include "vms.h"
#include "files.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vms_read(const struct ctx *c, struct vms *v)
{
	char *text;
	size_t len;
	int rc;

	rc = read_rel(c, "vms", &text, &len, 0);
	if (rc)
		return rc;
	rc = vms_parse(v, text, len);
	free(text);
	if (rc) {
		errmsg("out of memory");
		return EX_ERROR;
	}
	return EX_OK;
}

static void list_known(const struct ctx *c, const struct vms *v, const char *arg,
		       int only_matching)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct rec *vm = v->vm[i];
		char comm[256], key[256];

		char name[256];

		vm_comm(c, vm, comm, sizeof(comm));
		clean_text(vm_name(vm) ? vm_name(vm) : "-", name, sizeof(name));
		if (only_matching && !(rec_is(vm, "pid", arg) || !strcmp(comm, arg) ||
				       !strcmp(name, arg)))
			continue;
		clean_text(rec_str(vm, "vm"), key, sizeof(key));
		fprintf(stderr, "  %-12s %-16s pid %-8s %-16s %s\n", key, name,
			rec_str(vm, "pid") ? rec_str(vm, "pid") : "?", comm,
			rec_str(vm, "status") ? rec_str(vm, "status") : "?");
	}
}

const struct rec *vm_lookup(const struct ctx *c, const struct vms *v,
			    const char *arg, int *code)
{
	const struct rec *found = NULL;
	size_t i, n = 0;
	int digits = *arg != '\0';
	const char *p;

	*code = EX_OK;
	found = vms_find(v, arg);
	if (found)
		return found;
	/*
	 * By name: a VM restarted by its VMM is a new VM with the same name;
	 * the one that runs now is meant, else the one that exited last
	 * (vms lists VMs in creation order).
	 */
	for (i = 0; i < v->n; i++) {
		const char *name = vm_name(v->vm[i]);

		if (!name || strcmp(name, arg))
			continue;
		if (!found || !rec_is(found, "status", "live"))
			found = v->vm[i];
	}
	if (found)
		return found;
	for (p = arg; *p; p++)
		if (!isdigit((unsigned char)*p))
			digits = 0;
	for (i = 0; i < v->n; i++) {
		char comm[256];

		vm_comm(c, v->vm[i], comm, sizeof(comm));
		if ((digits && rec_is(v->vm[i], "pid", arg)) ||
		    (!digits && !strcmp(comm, arg))) {
			found = v->vm[i];
			n++;
		}
	}
	if (n == 1)
		return found;
	*code = EX_NOVM;
	if (n > 1) {
		errmsg("\"%s\" matches %zu VMs; name one by its key:", arg, n);
		list_known(c, v, arg, 1);
		return NULL;
	}
	if (!v->n) {
		errmsg("no VM \"%s\": apicv_trace has no VM recorded at all", arg);
		return NULL;
	}
	errmsg("no VM \"%s\". Known VMs (key, name, pid, process, status):", arg);
	list_known(c, v, arg, 0);
	return NULL;
}
