// SPDX-License-Identifier: GPL-2.0
/*
 * view_prom.c - `apicv-trace prom`: Prometheus text exposition format
 * (version 0.0.4) for node_exporter's textfile collector.
 *
 * Families are written whole (every sample of a family together, after
 * its HELP and TYPE), label values escaped, samples whose value is unknown
 * left out. A VM key or a reason that appears twice is written once. If
 * the module's files cannot be read, only apicv_trace_up 0 is written (and
 * the error goes to stderr, with its exit code).
 */
#include "cmd.h"
#include "files.h"
#include "parse.h"
#include "util.h"
#include "vms.h"
#include "views.h"

#include <stdlib.h>
#include <string.h>

struct pvm {
	const struct rec *vm;
	char comm[256];
	int have_state;
	struct state st;
};

static void family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void vm_labels(const struct pvm *p)
{
	const char *pid = rec_str(p->vm, "pid");
	uint64_t v;

	fputs("{vm=", stdout);
	prom_label(stdout, rec_str(p->vm, "vm"));
	fputs(",pid=", stdout);
	prom_label(stdout, pid && parse_u64(pid, &v) ? pid : "");
	fputs(",comm=", stdout);
	prom_label(stdout, strcmp(p->comm, "?") ? p->comm : "");
}

static int dup_reason(const struct state *st, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (rec_is(st->reason[j], "reason",
			   rec_str(st->reason[i], "reason")))
			return 1;
	return 0;
}

enum rmetric { R_INHIBITED, R_SECONDS, R_TRANSITIONS };

static void reason_family(const struct pvm *pv, size_t n, enum rmetric m)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct pvm *p = &pv[i];

		if (!p->have_state)
			continue;
		for (j = 0; j < p->st.nreasons; j++) {
			const struct rec *r = p->st.reason[j];
			uint64_t a, b;
			const char *name = rec_str(r, "reason");

			if (!name || dup_reason(&p->st, j))
				continue;
			switch (m) {
			case R_INHIBITED:
				if (!rec_is(r, "now", "set") && !rec_is(r, "now", "clear"))
					continue;
				a = rec_is(r, "now", "set");
				break;
			case R_SECONDS:
				if (!rec_u64(r, "inhibited_ms", &a))
					continue;
				break;
			case R_TRANSITIONS:
				if (!rec_u64(r, "sets", &a) || !rec_u64(r, "clears", &b) ||
				    a > UINT64_MAX - b)
					continue;
				a += b;
				break;
			}
			fputs(m == R_INHIBITED ? "apicv_trace_reason_inhibited" :
			      m == R_SECONDS ? "apicv_trace_reason_inhibited_seconds_total" :
			      "apicv_trace_reason_transitions_total", stdout);
			vm_labels(p);
			fputs(",reason=", stdout);
			prom_label(stdout, name);
			if (m == R_SECONDS)
				printf("} %llu.%03llu\n", (unsigned long long)(a / 1000),
				       (unsigned long long)(a % 1000));
			else
				printf("} %llu\n", (unsigned long long)a);
		}
	}
}

int view_prom(const struct ctx *c)
{
	struct pvm *pv = NULL;
	struct vms v;
	char *text;
	size_t len, i, n = 0;
	int rc;

	rc = vms_read(c, &v);
	family("apicv_trace_up", "gauge",
	       "1 if the apicv_trace module's files could be read, else 0.");
	printf("apicv_trace_up %d\n", rc ? 0 : 1);
	if (rc)
		return rc;

	pv = calloc(v.n ? v.n : 1, sizeof(*pv));
	if (!pv) {
		vms_free(&v);
		errmsg("out of memory");
		return EX_ERROR;
	}
	for (i = 0; i < v.n; i++) {
		const struct rec *vm = v.vm[i];
		const char *key = rec_str(vm, "vm");
		size_t j;
		int dup = 0;

		for (j = 0; j < n; j++)
			dup |= rec_is(pv[j].vm, "vm", key);
		if (dup)
			continue;
		pv[n].vm = vm;
		vm_comm(c, vm, pv[n].comm, sizeof(pv[n].comm));
		if (!read_vm_file(c, key, "state", &text, &len, 1)) {
			if (!state_parse(&pv[n].st, text, len))
				pv[n].have_state = 1;
			free(text);
		}
		n++;
	}

	if (!read_rel(c, "status", &text, &len, 1)) {
		struct file st;

		if (!file_parse(&st, text, len)) {
			int hooked = -1, complete = -1;

			for (i = 0; i < st.n; i++) {
				const struct rec *r = &st.recs[i];

				if (!strcmp(rec_kind(r), "kvm"))
					hooked = rec_is(r, "kvm", "hooked");
				/* (coverage=waiting: kvm_hooked 0 says it) */
				if (!strcmp(rec_kind(r), "coverage") &&
				    !rec_is(r, "coverage", "waiting"))
					complete = rec_is(r, "coverage", "full");
			}
			if (hooked >= 0) {
				family("apicv_trace_kvm_hooked", "gauge",
				       "1 if the module's hooks into KVM are armed (status kvm=hooked), 0 if it waits for kvm.");
				printf("apicv_trace_kvm_hooked %d\n", hooked);
			}
			if (complete >= 0) {
				family("apicv_trace_hooks_complete", "gauge",
				       "1 if every KVM function the module hooks is hooked (status coverage=full), 0 if some could not be (coverage=partial: see status).");
				printf("apicv_trace_hooks_complete %d\n", complete);
			}
			file_free(&st);
		}
		free(text);
	}

	family("apicv_trace_vm_inhibited", "gauge",
	       "1 if APICv/AVIC is inhibited for the VM now (by any reason), 0 if active.");
	for (i = 0; i < n; i++) {
		const struct rec *vm = pv[i].vm;

		if (!rec_is(vm, "apicv", "inhibited") && !rec_is(vm, "apicv", "active"))
			continue;
		fputs("apicv_trace_vm_inhibited", stdout);
		vm_labels(&pv[i]);
		printf("} %d\n", rec_is(vm, "apicv", "inhibited"));
	}
	family("apicv_trace_vm_flapping", "gauge",
	       "1 if some inhibit reason of the VM is flapping (set and cleared often).");
	for (i = 0; i < n; i++) {
		int f = rec_yesno(pv[i].vm, "flapping");

		if (f < 0)
			continue;
		fputs("apicv_trace_vm_flapping", stdout);
		vm_labels(&pv[i]);
		printf("} %d\n", f);
	}
	family("apicv_trace_vm_lost_events_total", "counter",
	       "Event records of the VM overwritten before they were read (aggregates stay exact).");
	for (i = 0; i < n; i++) {
		uint64_t l;

		if (!rec_u64(pv[i].vm, "lost", &l))
			continue;
		fputs("apicv_trace_vm_lost_events_total", stdout);
		vm_labels(&pv[i]);
		printf("} %llu\n", (unsigned long long)l);
	}
	family("apicv_trace_reason_inhibited", "gauge",
	       "1 if the reason is set for the VM now, 0 if it was seen but is clear.");
	reason_family(pv, n, R_INHIBITED);
	family("apicv_trace_reason_inhibited_seconds_total", "counter",
	       "Total time the reason has been set for the VM, in seconds.");
	reason_family(pv, n, R_SECONDS);
	family("apicv_trace_reason_transitions_total", "counter",
	       "Times the reason was set or cleared for the VM (sets + clears).");
	reason_family(pv, n, R_TRANSITIONS);

	for (i = 0; i < n; i++)
		if (pv[i].have_state)
			state_free(&pv[i].st);
	free(pv);
	vms_free(&v);
	return EX_OK;
}
