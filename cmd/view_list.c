// SPDX-License-Identifier: GPL-2.0
/*
 * view_list.c - `apicv-trace` with no command: one line per VM.
 */
#include "cmd.h"
#include "files.h"
#include "parse.h"
#include "util.h"
#include "vms.h"
#include "views.h"

#include <stdlib.h>
#include <string.h>

#define NCOL 9

static const char *const heads[NCOL] = {
	"VM", "NAME", "PID", "PROCESS", "STATUS", NULL /* AVIC/APICV */, "FOR",
	"REASONS", "FLAPPING"
};

struct row {
	char col[NCOL][256];
};

static void fill_row(const struct ctx *c, const struct rec *vm, struct row *row)
{
	const char *s;
	uint64_t v;
	int f;

	clean_text(rec_str(vm, "vm"), row->col[0], sizeof(row->col[0]));
	s = vm_name(vm);
	clean_text(s ? s : "-", row->col[1], sizeof(row->col[1]));
	if (rec_u64(vm, "pid", &v))
		snprintf(row->col[2], sizeof(row->col[2]), "%llu",
			 (unsigned long long)v);
	else
		strcpy(row->col[2], "?");
	vm_comm(c, vm, row->col[3], sizeof(row->col[3]));
	s = rec_str(vm, "status");
	clean_text(s ? s : "?", row->col[4], sizeof(row->col[4]));
	s = rec_str(vm, "apicv");
	clean_text(s ? s : "?", row->col[5], sizeof(row->col[5]));
	if (rec_u64(vm, "for_ms", &v))
		dur_short(v, row->col[6], sizeof(row->col[6]));
	else
		strcpy(row->col[6], "?");
	s = rec_str(vm, "reasons");
	clean_text(s ? s : "?", row->col[7], sizeof(row->col[7]));
	f = rec_yesno(vm, "flapping");
	strcpy(row->col[8], f < 0 ? "?" : f ? "yes" : "no");
}

static void cell(size_t j, size_t w, const char *s)
{
	if (j == NCOL - 1)
		printf("%s\n", s);
	else
		printf("%-*s  ", (int)w, s);
}

static int list_json(const struct ctx *c, const struct vms *v)
{
	size_t i;

	printf("{\"schema_version\":%d,\"kind\":\"list\",\"source\":",
	       JSON_SCHEMA_VERSION);
	json_str(stdout, c->dir);
	fputs(",\"vms\":[", stdout);
	for (i = 0; i < v->n; i++) {
		const struct rec *vm = v->vm[i];
		char comm[256];

		vm_comm(c, vm, comm, sizeof(comm));
		fputs(i ? ",\n{" : "\n{", stdout);
		fputs("\"vm\":", stdout);
		json_str_key(stdout, vm, "vm");
		fputs(",\"name\":", stdout);
		json_str(stdout, vm_name(vm));
		json_field_u64(stdout, vm, "pid");
		fputs(",\"comm\":", stdout);
		json_str(stdout, strcmp(comm, "?") ? comm : NULL);
		json_field_u64(stdout, vm, "vcpus");
		json_field_str(stdout, vm, "apicv");
		json_field_u64(stdout, vm, "for_ms");
		json_field_str(stdout, vm, "mask");
		fputs(",\"reasons\":", stdout);
		json_reasons(stdout, rec_str(vm, "reasons"));
		json_field_u64(stdout, vm, "transitions");
		json_field_u64(stdout, vm, "events");
		json_field_u64(stdout, vm, "lost");
		json_field_str(stdout, vm, "status");
		fputs(",\"flapping\":", stdout);
		json_yesno(stdout, vm, "flapping");
		putchar(',');
		json_extra(stdout, vm, vms_keys);
		putchar('}');
	}
	fputs("]}\n", stdout);
	return EX_OK;
}

int view_list(const struct ctx *c)
{
	size_t i, j, w[NCOL];
	struct row *rows;
	struct vms v;
	int rc;

	rc = vms_read(c, &v);
	if (rc)
		return rc;
	if (c->json) {
		rc = list_json(c, &v);
		vms_free(&v);
		return rc;
	}
	if (!v.n) {
		printf("No VMs recorded yet. apicv-trace lists every VM kvm has when it is loaded\n"
		       "(status: adoption=done) and every VM created after.\n");
		vms_free(&v);
		return EX_OK;
	}
	rows = calloc(v.n, sizeof(*rows));
	if (!rows) {
		vms_free(&v);
		errmsg("out of memory");
		return EX_ERROR;
	}
	for (j = 0; j < NCOL; j++)
		w[j] = strlen(heads[j] ? heads[j] : c->apic_word);
	for (i = 0; i < v.n; i++) {
		fill_row(c, v.vm[i], &rows[i]);
		for (j = 0; j < NCOL; j++)
			if (strlen(rows[i].col[j]) > w[j])
				w[j] = strlen(rows[i].col[j]);
	}
	for (j = 0; j < NCOL; j++)
		cell(j, w[j], heads[j] ? heads[j] : c->apic_word);
	for (i = 0; i < v.n; i++)
		for (j = 0; j < NCOL; j++)
			cell(j, w[j], rows[i].col[j]);
	free(rows);
	vms_free(&v);
	return EX_OK;
}
