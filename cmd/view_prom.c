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

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pvm {
	const struct rec *vm;
	char comm[256];
	int have_state;
	struct state st;
};

/* stdout, or --output's temporary file */
static FILE *out;

static void family(const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* vms status=: "live" or "exited" ("unknown" from a module without it) */
static const char *vm_state(const struct rec *vm)
{
	if (rec_is(vm, "status", "live"))
		return "live";
	if (rec_is(vm, "status", "exited"))
		return "exited";
	return "unknown";
}

/*
 * An exited VM runs no more, inhibited or not: its "now" gauges are 0, so
 * that apicv_trace_vm_inhibited == 1 is an alert on live VMs only (its last
 * mask stays in list/show; the counters keep its history).
 */
static int vm_exited(const struct rec *vm)
{
	return rec_is(vm, "status", "exited");
}

static void vm_labels(const struct pvm *p)
{
	const char *pid = rec_str(p->vm, "pid");
	uint64_t v;

	fputs("{vm=", out);
	prom_label(out, rec_str(p->vm, "vm"));
	fputs(",pid=", out);
	prom_label(out, pid && parse_u64(pid, &v) ? pid : "");
	fputs(",comm=", out);
	prom_label(out, strcmp(p->comm, "?") ? p->comm : "");
	fputs(",name=", out);
	prom_label(out, vm_name(p->vm) ? vm_name(p->vm) : "");
	fputs(",state=", out);
	prom_label(out, vm_state(p->vm));
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
				a = rec_is(r, "now", "set") && !vm_exited(p->vm);
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
			      "apicv_trace_reason_transitions_total", out);
			vm_labels(p);
			fputs(",reason=", out);
			prom_label(out, name);
			if (m == R_SECONDS)
				fprintf(out, "} %llu.%03llu\n", (unsigned long long)(a / 1000),
				       (unsigned long long)(a % 1000));
			else
				fprintf(out, "} %llu\n", (unsigned long long)a);
		}
	}
}

static int prom_body(const struct ctx *c)
{
	struct pvm *pv = NULL;
	struct vms v;
	char *text;
	size_t len, i, n = 0;
	int rc;

	rc = vms_read(c, &v);
	family("apicv_trace_up", "gauge",
	       "1 if the apicv_trace module's files could be read, else 0.");
	fprintf(out, "apicv_trace_up %d\n", rc ? 0 : 1);
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
				fprintf(out, "apicv_trace_kvm_hooked %d\n", hooked);
			}
			if (complete >= 0) {
				family("apicv_trace_hooks_complete", "gauge",
				       "1 if every KVM function the module hooks is hooked (status coverage=full), 0 if some could not be (coverage=partial: see status).");
				fprintf(out, "apicv_trace_hooks_complete %d\n", complete);
			}
			file_free(&st);
		}
		free(text);
	}

	family("apicv_trace_vm_inhibited", "gauge",
	       "1 if APICv/AVIC is inhibited for the VM now (by any reason), 0 if active or the VM has exited (state=\"exited\"): alert on apicv_trace_vm_inhibited == 1.");
	for (i = 0; i < n; i++) {
		const struct rec *vm = pv[i].vm;

		if (!rec_is(vm, "apicv", "inhibited") && !rec_is(vm, "apicv", "active"))
			continue;
		fputs("apicv_trace_vm_inhibited", out);
		vm_labels(&pv[i]);
		fprintf(out, "} %d\n", rec_is(vm, "apicv", "inhibited") && !vm_exited(vm));
	}
	family("apicv_trace_vm_flapping", "gauge",
	       "1 if some inhibit reason of the VM is flapping (set and cleared often).");
	for (i = 0; i < n; i++) {
		int f = rec_yesno(pv[i].vm, "flapping");

		if (f < 0)
			continue;
		fputs("apicv_trace_vm_flapping", out);
		vm_labels(&pv[i]);
		fprintf(out, "} %d\n", f);
	}
	family("apicv_trace_vm_lost_events_total", "counter",
	       "Event records of the VM overwritten before they were read (aggregates stay exact).");
	for (i = 0; i < n; i++) {
		uint64_t l;

		if (!rec_u64(pv[i].vm, "lost", &l))
			continue;
		fputs("apicv_trace_vm_lost_events_total", out);
		vm_labels(&pv[i]);
		fprintf(out, "} %llu\n", (unsigned long long)l);
	}
	family("apicv_trace_reason_inhibited", "gauge",
	       "1 if the reason is set for the VM now, 0 if it was seen but is clear or the VM has exited.");
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

/*
 * prom --output FILE: node_exporter's textfile collector may read FILE at
 * any moment, so FILE is never written in place: the text goes to a
 * temporary file in FILE's directory (same file system; its name does not
 * end in .prom, so the collector ignores it), is fsync'd, and renamed over
 * FILE. Every error removes the temporary file, and so does SIGINT,
 * SIGTERM, SIGHUP or SIGQUIT (the handler unlinks it and dies of the
 * signal; FILE stays as it was). A missing module is written too
 * (apicv_trace_up 0, exit 3), so FILE never keeps stale samples.
 */
static char tmp_path[4096];
static volatile sig_atomic_t have_tmp;
static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void on_stop(int sig)
{
	if (have_tmp)
		unlink(tmp_path);	/* async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

static int prom_to_file(const struct ctx *c, const char *file)
{
	struct sigaction sa;
	sigset_t block, orig;
	const char *slash = strrchr(file, '/');
	char dir[4096];
	int fd, dfd, rc, err = 0;
	size_t i;
	FILE *f;

	if (slash && !slash[1]) {
		errmsg("--output %s: names a directory; give a file, e.g. "
		       "%sapicv_trace.prom", file, file);
		return EX_USAGE;
	}
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == file)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s/.%s.tmp.XXXXXX", dir,
			     slash ? slash + 1 : file) >= sizeof(tmp_path)) {
		errmsg("--output %s: path too long", file);
		return EX_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
		sigaddset(&sa.sa_mask, stop_sigs[i]);
		sigaddset(&block, stop_sigs[i]);
	}
	for (i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++)
		sigaction(stop_sigs[i], &sa, NULL);
	/* created and recorded as one step, for the handler */
	sigprocmask(SIG_BLOCK, &block, &orig);
	fd = mkostemp(tmp_path, O_CLOEXEC);
	have_tmp = fd >= 0;
	err = errno;
	sigprocmask(SIG_SETMASK, &orig, NULL);
	if (fd < 0) {
		errmsg("--output %s: cannot create a file in %s: %s\n"
		       "  the directory must exist and be writable (it is where the file goes)",
		       file, dir, strerror(err));
		return EX_ERROR;
	}
	err = 0;
	/* the collector usually runs as another user */
	if (fchmod(fd, 0644))
		err = errno;
	f = err ? NULL : fdopen(fd, "w");
	if (!f) {
		if (!err)
			err = errno;
		close(fd);
		rc = EX_ERROR;
		goto fail;
	}
	out = f;
	rc = prom_body(c);
	out = stdout;
	errno = 0;
	if (fflush(f) || ferror(f) || fsync(fileno(f)))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno;
	if (err)
		goto fail;
	if (rename(tmp_path, file)) {
		err = errno;
		goto fail;
	}
	have_tmp = 0;
	/* the rename itself, on disk */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return rc;
fail:
	unlink(tmp_path);
	have_tmp = 0;
	errmsg("--output %s: %s (%s left as it was)", file, strerror(err), file);
	return rc ? rc : EX_ERROR;
}

int view_prom(const struct ctx *c)
{
	out = stdout;
	if (c->output)
		return prom_to_file(c, c->output);
	return prom_body(c);
}
