// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - apicv-trace: the command line, the context it sets up, and the
 * view it runs. Everything else is below: the views (view_*.c) read the
 * files through files.c and vms.c; none of them calls back into main.c.
 */
#include "cmd.h"
#include "files.h"
#include "views.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef APICV_TRACE_VERSION
#error "APICV_TRACE_VERSION: cmd/Makefile passes it, from ../dkms.conf"
#endif

static const char usage_text[] =
"Usage: apicv-trace [--dir DIR] [--json] [COMMAND]\n"
"\n"
"Answers from the apicv_trace module: is APICv/AVIC working for each VM,\n"
"and if not, why, since when, and what to change.\n"
"\n"
"Commands:\n"
"  (none), list        one line per VM: process, AVIC active or inhibited,\n"
"                      reasons now, for how long, flapping\n"
"  show VM             one VM in plain words: each reason ever seen, counts,\n"
"                      times, last set/clear and who did it, what it means\n"
"                      and what an admin can change. VM is the key shown by\n"
"                      list (e.g. 1234-11), or a pid or process name that\n"
"                      matches one VM\n"
"  watch [--vm VM] [--reason R[,R...]] [--new]\n"
"                      the kept records, then live changes, until Ctrl-C;\n"
"                      --new skips the records kept from before\n"
"  show --timeline [--ascii] [--last SECONDS] VM\n"
"                      each reason's set and clear intervals as a strip\n"
"  prom [--output FILE] Prometheus text format, for node_exporter's\n"
"                      textfile collector; --output writes FILE atomically\n"
"  doctor              can AVIC work on this host, and does apicv-trace see\n"
"                      everything: one screen, a verdict line\n"
"  save DIR            a support bundle: every file but follow, doctor --json,\n"
"                      the version (never blocks)\n"
"  verify [-d SECONDS] for SECONDS (default 10) arm KVM's own tracepoint in\n"
"                      a private tracefs instance and check that the module\n"
"                      recorded exactly the changes KVM made, with KVM's\n"
"                      names (root; the admin's tracing is untouched)\n"
"  names [--apply]     KVM's reason names (BTF, tracepoint format) next to\n"
"                      the module's; --apply writes them to the module's\n"
"                      reason_names parameter\n"
"\n"
"Options:\n"
"  --dir DIR           read a copy of the files from DIR instead of\n"
"                      /sys/kernel/debug/apicv_trace (support bundles, tests)\n"
"  --json              JSON output (list, show, doctor; watch: one object per\n"
"                      line); schema: apicv-trace.schema.json, apicv-trace(8)\n"
"  -h, --help          this help\n"
"  --version           the version\n"
"\n"
"Exit status: 0 ok, 1 error reading the files, 2 bad usage (also watch --vm\n"
"or --reason naming no VM or reason the module knows), 3 module not loaded,\n"
"4 debugfs not mounted, 5 permission denied (not root), 6 no such VM,\n"
"7 verify: DISAGREE, 8 verify could not compare (no tracefs, lockdown, kvm\n"
"not loaded, no tracepoint, lost data, interrupted), 9 watch: the module was\n"
"unloaded while watching; doctor: 10 AVIC cannot work, 11 the module is not\n"
"loaded or not trusted, 12 the tracer does not see everything.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrmsg(fmt, ap);
	va_end(ap);
	fputs("\nTry 'apicv-trace --help'.\n", stderr);
	return EX_USAGE;
}

static int need_arg(int argc, char **argv, int *i, const char *opt,
		    const char **val)
{
	size_t l = strlen(opt);

	if (!strncmp(argv[*i], opt, l) && argv[*i][l] == '=') {
		*val = argv[*i] + l + 1;
		return 1;
	}
	if (!strcmp(argv[*i], opt)) {
		if (*i + 1 >= argc)
			return -1;
		*val = argv[++*i];
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *cmd = NULL, *vmarg = NULL, *watch_vm = NULL,
		   *watch_reason = NULL, *env, *replay = NULL, *dur = NULL;
	const char *last = NULL, *output = NULL;
	int i, json = 0, new_only = 0, npos = 0, r, apply = 0, timeline = 0, ascii = 0;
	unsigned secs = 10;
	struct ctx c;
	char defdir[512];

	memset(&c, 0, sizeof(c));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		if (!strcmp(a, "--version")) {
			printf("apicv-trace %s\n", APICV_TRACE_VERSION);
			return EX_OK;
		}
		if (!strcmp(a, "--json")) {
			json = 1;
			continue;
		}
		if (!strcmp(a, "--new")) {
			new_only = 1;
			continue;
		}
		if ((r = need_arg(argc, argv, &i, "--dir", &val))) {
			if (r < 0 || !*val)
				return usage_error("--dir needs a directory");
			dir = val;
			continue;
		}
		if (!strcmp(a, "--apply")) {
			apply = 1;
			continue;
		}
		if (!strcmp(a, "--timeline")) {
			timeline = 1;
			continue;
		}
		if (!strcmp(a, "--ascii")) {
			ascii = 1;
			continue;
		}
		if ((r = need_arg(argc, argv, &i, "--last", &val))) {
			if (r < 0 || !*val)
				return usage_error("--last needs a number of seconds");
			last = val;
			continue;
		}
		if ((r = need_arg(argc, argv, &i, "--output", &val))) {
			if (r < 0 || !*val)
				return usage_error("--output needs a file");
			output = val;
			continue;
		}
		if ((r = need_arg(argc, argv, &i, "-d", &val))) {
			if (r < 0 || !*val)
				return usage_error("-d needs a number of seconds");
			dur = val;
			continue;
		}
		/* verify/names on saved files (tests): see apicv-trace(8) */
		if ((r = need_arg(argc, argv, &i, "--replay", &val))) {
			if (r < 0 || !*val)
				return usage_error("--replay needs a directory");
			replay = val;
			continue;
		}
		if ((r = need_arg(argc, argv, &i, "--vm", &val))) {
			if (r < 0 || !*val)
				return usage_error("--vm needs a VM");
			watch_vm = val;
			continue;
		}
		if ((r = need_arg(argc, argv, &i, "--reason", &val))) {
			if (r < 0 || !*val)
				return usage_error("--reason needs a reason name");
			watch_reason = val;
			continue;
		}
		if (a[0] == '-' && a[1]) {
			if (!strcmp(a, "--"))
				continue;
			return usage_error("unknown option %s", a);
		}
		if (npos == 0)
			cmd = a;
		else if (npos == 1)
			vmarg = a;
		else
			return usage_error("unexpected argument \"%s\"", a);
		npos++;
	}
	if (!cmd)
		cmd = "list";
	if (strcmp(cmd, "list") && strcmp(cmd, "show") && strcmp(cmd, "watch") &&
	    strcmp(cmd, "prom") && strcmp(cmd, "verify") && strcmp(cmd, "names") &&
	    strcmp(cmd, "doctor") && strcmp(cmd, "save"))
		return usage_error("unknown command \"%s\"", cmd);
	if (dur && strcmp(cmd, "verify"))
		return usage_error("-d goes with verify");
	if (apply && strcmp(cmd, "names"))
		return usage_error("--apply goes with names");
	if (replay && strcmp(cmd, "verify") && strcmp(cmd, "names"))
		return usage_error("--replay goes with verify and names");
	if ((!strcmp(cmd, "verify") || !strcmp(cmd, "names")) && dir)
		return usage_error("%s reads the running kernel: --dir does not apply"
				   " (--replay DIR replays saved files)", cmd);
	if ((!strcmp(cmd, "verify") || !strcmp(cmd, "names")) && json)
		return usage_error("%s has no JSON output", cmd);
	if (dur) {
		char *end;
		unsigned long d = strtoul(dur, &end, 10);

		if (*end || !isdigit((unsigned char)*dur) || d < 1 || d > 3600)
			return usage_error("-d wants whole seconds, 1 to 3600");
		secs = (unsigned)d;
	}
	if (!strcmp(cmd, "show") && !vmarg)
		return usage_error("show needs a VM (see 'apicv-trace' for the list)");
	if (!strcmp(cmd, "save") && !vmarg)
		return usage_error("save needs a directory to write the bundle into");
	if (strcmp(cmd, "show") && strcmp(cmd, "save") && vmarg)
		return usage_error("%s takes no argument \"%s\"", cmd, vmarg);
	if ((timeline || ascii || last) && strcmp(cmd, "show"))
		return usage_error("--timeline, --ascii and --last go with show");
	if ((ascii || last) && !timeline)
		return usage_error("--ascii and --last go with show --timeline");
	if (timeline && json)
		return usage_error("show --timeline draws text; --json does not apply");
	if (last) {
		char *end;
		unsigned long l = strtoul(last, &end, 10);

		if (*end || !isdigit((unsigned char)*last) || l < 1 || l > 31536000)
			return usage_error("--last wants whole seconds, 1 to 31536000");
		c.last_s = (unsigned)l;
	}
	if (output && strcmp(cmd, "prom"))
		return usage_error("--output goes with prom");
	if (!strcmp(cmd, "save") && dir)
		return usage_error("save reads the running module: --dir does not apply");
	if (strcmp(cmd, "watch") && (watch_vm || watch_reason || new_only))
		return usage_error("--vm, --reason and --new go with watch");
	if (!strcmp(cmd, "prom") && json)
		return usage_error("prom writes Prometheus text; --json does not apply");

	env = getenv("APICV_TRACE_SYSFS");
	c.sysfs = env && *env ? env : "/sys";
	snprintf(defdir, sizeof(defdir), "%s/kernel/debug/apicv_trace", c.sysfs);
	c.dir = dir ? dir : defdir;
	c.live = !dir;
	c.json = json;
	c.timeline = timeline;
	c.ascii = ascii;
	c.output = output;
	env = getenv("APICV_TRACE_PROC");
	if (env && *env)
		c.proc = env;
	else if (c.live)
		c.proc = "/proc";
	if (c.live) {
		struct timespec bt;

		if (!clock_gettime(CLOCK_BOOTTIME, &bt) &&
		    !clock_gettime(CLOCK_REALTIME, &c.real_now))
			c.boot_now_ns = (uint64_t)bt.tv_sec * 1000000000ULL +
					(uint64_t)bt.tv_nsec;
	}
	if (!strcmp(cmd, "doctor") || !strcmp(cmd, "save")) {
		/* they diagnose a missing module themselves */
		r = !strcmp(cmd, "doctor") ? view_doctor(&c) : view_save(&c, vmarg);
		goto done;
	}
	if (!strcmp(cmd, "verify") || !strcmp(cmd, "names")) {
		/* the files they need are read (and diagnosed) by them */
		r = !strcmp(cmd, "verify") ? view_verify(&c, secs, replay) :
					     view_names(&c, apply, replay);
		goto done;
	}
	c.apic_word = apic_word(&c);
	if (strcmp(cmd, "prom"))	/* prom: apicv_trace_kvm_hooked says it */
		warn_coverage(&c);

	if (!strcmp(cmd, "list"))
		r = view_list(&c);
	else if (!strcmp(cmd, "show"))
		r = view_show(&c, vmarg);
	else if (!strcmp(cmd, "watch"))
		r = view_watch(&c, watch_vm, watch_reason, new_only);
	else
		r = view_prom(&c);
done:
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			errmsg("writing output: %s", strerror(errno));
		return r ? r : EX_ERROR;
	}
	return r;
}
