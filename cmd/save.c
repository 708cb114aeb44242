// SPDX-License-Identifier: GPL-2.0
/*
 * save.c - `apicv-trace save DIR`: a support bundle, one directory that
 * `apicv-trace --dir DIR` (list, show, watch, prom) reads like the live
 * files, plus what a bug report needs around them:
 *
 *   status reasons vms events vm/<key>/{events,state}   the module's files
 *   version        command=, kernel= (uname -r), machine=, module=
 *   params/        every file of /sys/module/apicv_trace/parameters
 *   doctor.json    `apicv-trace --json doctor`, run as a child; if it
 *                  fails, doctor.err (its stderr and status) instead
 *
 * It never blocks: follow is never opened (a read of it waits for new
 * records), only regular files are read, each opened O_NONBLOCK, and the
 * doctor child is killed after DOCTOR_TIMEOUT_S.
 */
#include "cmd.h"
#include "files.h"
#include "views.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DOCTOR_TIMEOUT_S 30
#define MAX_DEPTH 3	/* DIR, vm/, vm/<key>/ */

struct bundle {
	const char *dir;	/* DIR, for messages */
	unsigned files;
	int incomplete;		/* a file could not be copied */
	int soft;		/* params: a parameter that cannot be read
				 * (write-only) is warned about, not fatal */
};

/* Write all of @len bytes; 0 or an errno. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Copy the regular file @name of @sfd into @dfd. Returns 0, ENOENT when
 * the source went away (a VM freed meanwhile: not an error), or an errno;
 * *@where says which side failed.
 */
static int copy_file(int sfd, int dfd, const char *name, const char **where)
{
	char buf[65536];
	int in, o, err = 0;

	*where = "reading";
	in = openat(sfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return errno;
	*where = "writing";
	o = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (o < 0) {
		err = errno;
		close(in);
		return err;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* EAGAIN too: a file that would block is not copied */
			*where = "reading";
			err = errno;
			break;
		}
		if (n == 0)
			break;
		err = write_all(o, buf, (size_t)n);
		if (err)
			break;
	}
	if (close(o) && !err) {
		*where = "writing";
		err = errno;
	}
	close(in);
	return err;
}

static void failed(struct bundle *b, const char *rel, const char *where, int err)
{
	errmsg("save: %s%s %s: %s", b->soft ? "warning: " : "", where, rel,
	       strerror(err));
	if (!b->soft)
		b->incomplete = 1;
}

/*
 * Copy the tree @sfd (relative name @rel, "" at the top) into @dfd: every
 * regular file but follow, directories down to MAX_DEPTH.
 */
static void copy_tree(struct bundle *b, int sfd, int dfd, const char *rel,
		      int depth)
{
	DIR *d;
	struct dirent *e;
	int sfd2 = dup(sfd);

	if (sfd2 < 0 || !(d = fdopendir(sfd2))) {
		if (sfd2 >= 0)
			close(sfd2);
		failed(b, *rel ? rel : ".", "listing", errno);
		return;
	}
	while ((e = readdir(d))) {
		char path[1024];
		struct stat st;
		const char *where;
		int err;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* follow blocks until the module writes: never opened */
		if (!strcmp(e->d_name, "follow"))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno != ENOENT)
				failed(b, path, "reading", errno);
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth + 1 < MAX_DEPTH) {
			int s2, d2;

			s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (s2 < 0) {
				if (errno != ENOENT)
					failed(b, path, "reading", errno);
				continue;
			}
			if (mkdirat(dfd, e->d_name, 0755) ||
			    (d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY |
					 O_CLOEXEC)) < 0) {
				failed(b, path, "writing", errno);
				close(s2);
				continue;
			}
			copy_tree(b, s2, d2, path, depth + 1);
			close(s2);
			close(d2);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;	/* a FIFO or device would block */
		err = copy_file(sfd, dfd, e->d_name, &where);
		if (!err)
			b->files++;
		else if (err == ENOENT && !strcmp(where, "reading"))
			unlinkat(dfd, e->d_name, 0);	/* the VM is gone */
		else
			failed(b, path, where, err);
	}
	closedir(d);
}

/* Write @text as DIR/@name. */
static void put_file(struct bundle *b, int dfd, const char *name, const char *text)
{
	int fd, err;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		failed(b, name, "writing", errno);
		return;
	}
	err = write_all(fd, text, strlen(text));
	if (close(fd) && !err)
		err = errno;
	if (err)
		failed(b, name, "writing", err);
	else
		b->files++;
}

/* The first line of @path, or "-". */
static void first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	snprintf(buf, len, "-");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f) || !buf[0] || buf[0] == '\n')
		snprintf(buf, len, "-");
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void put_version(struct bundle *b, const struct ctx *c, int dfd)
{
	struct utsname u;
	char text[2048], mod[128], path[512];

	if (uname(&u))
		memset(&u, 0, sizeof(u));
	snprintf(path, sizeof(path), "%s/module/apicv_trace/version", c->sysfs);
	first_line(path, mod, sizeof(mod));
	snprintf(text, sizeof(text),
		 "command=%s\nkernel=%s\nkernel_version=%s\nmachine=%s\nmodule=%s\n",
		 APICV_TRACE_VERSION, u.release[0] ? u.release : "-",
		 u.version[0] ? u.version : "-", u.machine[0] ? u.machine : "-", mod);
	put_file(b, dfd, "version", text);
}

/* The files of /sys/module/apicv_trace/parameters into params/ (none: no params/). */
static void put_params(struct bundle *b, const struct ctx *c, int dfd)
{
	char path[512];
	int sfd, pfd;

	snprintf(path, sizeof(path), "%s/module/apicv_trace/parameters", c->sysfs);
	sfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		if (errno != ENOENT)
			failed(b, path, "reading", errno);
		return;
	}
	if (mkdirat(dfd, "params", 0755) ||
	    (pfd = openat(dfd, "params", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		failed(b, "params", "writing", errno);
		close(sfd);
		return;
	}
	b->soft = 1;
	copy_tree(b, sfd, pfd, "params", MAX_DEPTH - 1);
	b->soft = 0;
	close(pfd);
	close(sfd);
}

/*
 * doctor.json: `doctor --json` run in a child process (forked, no program
 * started), stdout into doctor.json, stderr into doctor.err, so that a
 * doctor stuck on a file cannot hold up the bundle. Doctor's verdicts (0, 10-12) are answers; anything else
 * (no output, another status, a signal, DOCTOR_TIMEOUT_S passed) is a
 * failure: doctor.json is removed and doctor.err says why. Either way the
 * bundle stands. Returns 1 if doctor.json was written.
 */
static int put_doctor(struct bundle *b, const struct ctx *c, int dfd)
{
	char why[128];
	int jfd, efd, status = 0, done = 0;
	struct stat st;
	pid_t pid;
	unsigned waited_ms = 0;

	jfd = openat(dfd, "doctor.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	efd = openat(dfd, "doctor.err", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (jfd < 0 || efd < 0) {
		failed(b, "doctor.json", "writing", errno);
		if (jfd >= 0)
			close(jfd);
		if (efd >= 0)
			close(efd);
		return 0;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		struct ctx dc = *c;
		int rc;

		if (nul >= 0)
			dup2(nul, 0);
		dup2(jfd, 1);
		dup2(efd, 2);
		dc.json = 1;
		rc = view_doctor(&dc);
		fflush(NULL);
		_exit(rc);
	}
	close(jfd);
	if (pid < 0) {
		snprintf(why, sizeof(why), "fork: %s", strerror(errno));
	} else {
		while (!done) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			struct timespec ts = { 0, 50 * 1000000L };

			if (r == pid || (r < 0 && errno != EINTR)) {
				done = r == pid ? 1 : -1;
				break;
			}
			if (waited_ms >= DOCTOR_TIMEOUT_S * 1000u) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			nanosleep(&ts, NULL);
			waited_ms += 50;
		}
		if (done < 0)
			snprintf(why, sizeof(why), "waitpid: %s", strerror(errno));
		else if (!done)
			snprintf(why, sizeof(why), "timed out after %d s (killed)",
				 DOCTOR_TIMEOUT_S);
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "killed by signal %d",
				 WTERMSIG(status));
		else if (WEXITSTATUS(status) != EX_OK &&
			 (WEXITSTATUS(status) < EX_DOC_AVIC ||
			  WEXITSTATUS(status) > EX_DOC_COVERAGE))
			snprintf(why, sizeof(why), "exit status %d",
				 WEXITSTATUS(status));
		else if (fstatat(dfd, "doctor.json", &st, 0) || !st.st_size)
			snprintf(why, sizeof(why), "no output (exit status %d)",
				 WEXITSTATUS(status));
		else
			why[0] = '\0';
	}
	if (!why[0]) {
		/* an answer: doctor.err stays only if doctor said something */
		if (!fstat(efd, &st) && !st.st_size)
			unlinkat(dfd, "doctor.err", 0);
		close(efd);
		b->files++;
		return 1;
	}
	dprintf(efd, "apicv-trace --json doctor failed: %s\n", why);
	close(efd);
	unlinkat(dfd, "doctor.json", 0);
	errmsg("save: doctor failed (%s): its error is in %s/doctor.err;"
	       " the rest of the bundle is complete", why, b->dir);
	b->files++;
	return 0;
}

/* Create @dir, or take it if it is an empty directory; the exit code. */
static int make_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	int empty = 1;

	if (!mkdir(dir, 0700))
		return EX_OK;
	if (errno != EEXIST) {
		errmsg("save: cannot create %s: %s%s", dir, strerror(errno),
		       errno == ENOENT ? "\n  its parent directory must exist" : "");
		return EX_ERROR;
	}
	d = opendir(dir);
	if (!d) {
		errmsg("save: %s exists and is not a directory I can use (%s);"
		       " give a new directory name", dir, strerror(errno));
		return EX_USAGE;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	if (!empty) {
		errmsg("save: %s exists and is not empty; a bundle goes into a new"
		       " (or empty) directory: give another name, or remove %s", dir, dir);
		return EX_USAGE;
	}
	return EX_OK;
}

int view_save(const struct ctx *c, const char *dir)
{
	struct bundle b = { .dir = dir };
	char *text;
	size_t len;
	int rc, sfd, dfd, doctor;

	/* the module's files first: no module, no debugfs, not root */
	rc = read_rel(c, "vms", &text, &len, 0);
	if (rc)
		return rc;
	free(text);
	sfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0) {
		errmsg("save: cannot open %s: %s", c->dir, strerror(errno));
		return EX_ERROR;
	}
	rc = make_dir(dir);
	if (rc) {
		close(sfd);
		return rc;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		errmsg("save: cannot open %s: %s", dir, strerror(errno));
		close(sfd);
		return EX_ERROR;
	}
	copy_tree(&b, sfd, dfd, "", 0);
	close(sfd);
	put_version(&b, c, dfd);
	put_params(&b, c, dfd);
	doctor = put_doctor(&b, c, dfd);
	if (fsync(dfd) && errno != EINVAL)
		failed(&b, dir, "writing", errno);
	close(dfd);
	if (b.incomplete) {
		errmsg("save: the bundle in %s is incomplete (see the errors above)", dir);
		return EX_ERROR;
	}
	if (!c->json)
		printf("saved %u files to %s (doctor: %s); read it with: apicv-trace --dir %s\n",
		       b.files, dir, doctor ? "doctor.json" : "failed, see doctor.err", dir);
	return EX_OK;
}
