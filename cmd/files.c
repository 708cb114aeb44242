// SPDX-License-Identifier: GPL-2.0
/*
 * files.c - reading apicv_trace's files (debugfs, or a copy with --dir),
 * and what a failure means: each read error is explained on stderr with
 * its fix (module not loaded, debugfs not mounted, not root, ...) and
 * turned into the exit code. Also what the files say about the host that
 * every view needs: the AVIC/APICV word, and a warning when the module
 * could not hook every KVM function (coverage=partial).
 */
#include "files.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DEBUGFS_MAGIC_NR 0x64626720
#define MAX_FILE (256u << 20)

void verrmsg(const char *fmt, va_list ap)
{
	fputs("apicv-trace: ", stderr);
	vfprintf(stderr, fmt, ap);
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verrmsg(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

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

const char *apic_word(const struct ctx *c)
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
void warn_coverage(const struct ctx *c)
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
