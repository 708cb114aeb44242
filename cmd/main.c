// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - apicv-trace: options, reading the module's files, errors.
 */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DEBUGFS_MAGIC_NR 0x64626720
#define MAX_FILE (256u << 20)

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
"                      live changes from the follow stream, until Ctrl-C;\n"
"                      --new skips the records kept from before\n"
"  prom                Prometheus text format, for node_exporter's\n"
"                      textfile collector\n"
"\n"
"Options:\n"
"  --dir DIR           read a copy of the files from DIR instead of\n"
"                      /sys/kernel/debug/apicv_trace (support bundles, tests)\n"
"  --json              JSON output (list, show; watch: one object per line);\n"
"                      schema: apicv-trace.schema.json, see apicv-trace(8)\n"
"  -h, --help          this help\n"
"  --version           the version\n"
"\n"
"Exit status: 0 ok, 1 error reading the files, 2 bad usage, 3 module not\n"
"loaded, 4 debugfs not mounted, 5 permission denied (not root), 6 no such VM.\n";

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("apicv-trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("apicv-trace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'apicv-trace --help'.\n", stderr);
	return EX_USAGE;
}

/* ------------------------------------------------------------------ */
/* Reading, and what a failure means                                  */

static int module_loaded(const struct ctx *c)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/module/apicv_trace", c->sysfs);
	return !stat(path, &st);
}

static int debugfs_mounted(const struct ctx *c)
{
	char path[512];
	struct statfs sfs;

	snprintf(path, sizeof(path), "%s/kernel/debug", c->sysfs);
	if (statfs(path, &sfs))
		return 0;
	return (unsigned long)sfs.f_type == DEBUGFS_MAGIC_NR;
}

/* Explain why @path could not be opened (errno @err); the exit code. */
static int diagnose(const struct ctx *c, const char *path, int err)
{
	if (c->live) {
		if (!module_loaded(c)) {
			errmsg("the apicv_trace module is not loaded (no %s/module/apicv_trace).\n"
			       "  fix: modprobe apicv_trace   (install it first with 'make install' in\n"
			       "       the apicv-trace sources: DKMS builds it for the running kernel)",
			       c->sysfs);
			return EX_NOMODULE;
		}
		if (!debugfs_mounted(c)) {
			errmsg("debugfs is not mounted on %s/kernel/debug.\n"
			       "  fix: mount -t debugfs none /sys/kernel/debug", c->sysfs);
			return EX_NODEBUGFS;
		}
	}
	if (err == EACCES || err == EPERM) {
		errmsg("permission denied: %s\n"
		       "  debugfs is readable by root only.\n"
		       "  fix: run apicv-trace as root (e.g. sudo apicv-trace ...)", path);
		return EX_NOPERM;
	}
	if (c->live)
		errmsg("cannot read %s: %s\n"
		       "  the module is loaded and debugfs mounted: is this module version\n"
		       "  older than the file? (cat %s/module/apicv_trace/version)",
		       path, strerror(err), c->sysfs);
	else
		errmsg("cannot read %s: %s\n"
		       "  --dir must name a copy of /sys/kernel/debug/apicv_trace "
		       "(cp -r, or the state.<vm>/events.<vm> layout)", path, strerror(err));
	return EX_ERROR;
}

int open_rel(const struct ctx *c, const char *rel, int *fd)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return diagnose(c, path, errno);
	return EX_OK;
}

static int read_path(const struct ctx *c, const char *path, char **text,
		     size_t *len, int quiet)
{
	size_t cap = 65536, have = 0;
	char *buf;
	int fd;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		return quiet ? (err == EACCES || err == EPERM ? EX_NOPERM : EX_ERROR) :
			       diagnose(c, path, err);
	}
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		errmsg("out of memory");
		return EX_ERROR;
	}
	for (;;) {
		ssize_t n;

		if (have == cap) {
			char *nb;

			if (cap >= MAX_FILE) {
				if (!quiet)
					errmsg("%s: larger than %u MiB, cut there", path,
					       MAX_FILE >> 20);
				break;
			}
			nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				close(fd);
				errmsg("out of memory");
				return EX_ERROR;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(buf);
			close(fd);
			if (!quiet)
				errmsg("reading %s: %s", path, strerror(err));
			return EX_ERROR;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	buf[have] = '\0';
	*text = buf;
	*len = have;
	return EX_OK;
}

int read_rel(const struct ctx *c, const char *rel, char **text, size_t *len,
	     int quiet)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
	return read_path(c, path, text, len, quiet);
}

static int key_ok(const char *key)
{
	return key && *key && !strchr(key, '/') && strcmp(key, ".") &&
	       strcmp(key, "..") && strlen(key) < 200;
}

int read_vm_file(const struct ctx *c, const char *key, const char *name,
		 char **text, size_t *len, int quiet)
{
	char rel[512];
	int rc;

	if (!key_ok(key)) {
		/* never a path: said even when @quiet */
		errmsg("refusing VM key \"%s\": not a KVM debugfs name",
		       key ? key : "");
		return EX_ERROR;
	}
	snprintf(rel, sizeof(rel), "vm/%s/%s", key, name);
	rc = read_rel(c, rel, text, len, quiet || !c->live);
	if (rc && !c->live) {
		/* a results/compare copy: state.<key>, events.<key> */
		snprintf(rel, sizeof(rel), "%s.%s", name, key);
		rc = read_rel(c, rel, text, len, quiet);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* VMs by name                                                        */

static void list_known(const struct ctx *c, const struct vms *v, const char *arg,
		       int only_matching)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct rec *vm = v->vm[i];
		char comm[256], key[256];

		vm_comm(c, vm, comm, sizeof(comm));
		if (only_matching && !(rec_is(vm, "pid", arg) || !strcmp(comm, arg)))
			continue;
		clean_text(rec_str(vm, "vm"), key, sizeof(key));
		fprintf(stderr, "  %-12s pid %-8s %-16s %s\n", key,
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
	errmsg("no VM \"%s\". Known VMs (key, pid, process, status):", arg);
	list_known(c, v, arg, 0);
	return NULL;
}

/* ------------------------------------------------------------------ */

static const char *apic_word(const struct ctx *c)
{
	char *text, path[512];
	size_t len;
	struct stat st;
	const char *w = NULL;

	if (!read_rel(c, "reasons", &text, &len, 1)) {
		if (strstr(text, " avic_filter="))
			w = "AVIC";
		else if (strstr(text, " apicv_filter="))
			w = "APICV";
		free(text);
	}
	if (!w && c->live) {
		snprintf(path, sizeof(path), "%s/module/kvm_amd", c->sysfs);
		if (!stat(path, &st))
			w = "AVIC";
		snprintf(path, sizeof(path), "%s/module/kvm_intel", c->sysfs);
		if (!w && !stat(path, &st))
			w = "APICV";
	}
	return w ? w : "APICV";
}

/*
 * status says coverage=partial when a hook could not be armed (a function
 * this kernel does not have, or a kprobe refused): the views below then
 * lack what that hook sees. Say so on stderr; the exit status stays.
 */
static void warn_coverage(const struct ctx *c)
{
	char *text, *p, *end, line[256];
	size_t len;

	if (read_rel(c, "status", &text, &len, 1))
		return;
	for (p = text; p; p = end ? end + 1 : NULL) {
		end = strchr(p, '\n');
		if (strncmp(p, "coverage=partial", 16))
			continue;
		if (end)
			*end = '\0';
		clean_text(p, line, sizeof(line));
		errmsg("warning: %s: not every KVM function apicv_trace hooks could be\n"
		       "  hooked on this kernel, so what the missing ones see is not here%s.\n"
		       "  see: the hook= lines of %s/status, and dmesg | grep apicv_trace",
		       line, strstr(line, "setter") ?
		       " (setter: no inhibit changes at all; AVIC shows as unknown)" : "",
		       c->dir);
		break;
	}
	free(text);
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
		   *watch_reason = NULL, *env;
	int i, json = 0, new_only = 0, npos = 0, r;
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
	    strcmp(cmd, "prom"))
		return usage_error("unknown command \"%s\"", cmd);
	if (!strcmp(cmd, "show") && !vmarg)
		return usage_error("show needs a VM (see 'apicv-trace' for the list)");
	if (strcmp(cmd, "show") && vmarg)
		return usage_error("%s takes no argument \"%s\"", cmd, vmarg);
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
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			errmsg("writing output: %s", strerror(errno));
		return r ? r : EX_ERROR;
	}
	return r;
}
