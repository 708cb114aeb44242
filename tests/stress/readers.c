// SPDX-License-Identifier: GPL-2.0
/*
 * readers.c - the stress test's readers of apicv_trace's files:
 * "stressdrive follow", a follow reader that lives through module unloads,
 * and "stressdrive snapshot", every file into one, in one process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "kvmsys.h"
#include "stressdrive.h"

/*
 * stressdrive follow FILE MODE STOP GATE [BYTES [INTERVAL_MS]]
 *   A reader of apicv_trace's follow stream that lives through module
 *   unloads: while GATE exists it keeps the file closed (an open follow
 *   pins the module), otherwise it opens FILE (retrying while it does
 *   not exist) and reads until GATE or STOP appears.  MODE:
 *     block  blocking read(); an interval timer (SIGALRM every 100 ms,
 *            no SA_RESTART, in every mode) interrupts it to look at
 *            the files
 *     poll   O_NONBLOCK + poll() with a 100 ms timeout
 *     slow   BYTES bytes per read, INTERVAL_MS between reads (a slow
 *            reader, told by "lost=" lines what it missed)
 *   Every line must be whole and well-formed ("seq=... site=..." or
 *   "lost=N"), and no kernel address may appear.  At the end:
 *   FOLLOW mode=<m> opens=<n> lines=<n> lost_lines=<n> lost=<n>
 *          bytes=<n> eintr=<n> eagain=<n> bad=<n> [first_bad=<line>]
 *   exit 0 iff bad == 0 and no unexpected error.
 */
static volatile sig_atomic_t follow_ticks;

static void on_follow_tick(int sig)
{
	(void)sig;
	follow_ticks++;
}

struct follow_stats {
	unsigned long long opens, lines, lost_lines, lost, bytes, eintr, eagain, bad;
	char first_bad[160];
};

static bool kptr_in(const char *s)
{
	const char *p;

	/* 0xffff... or ffff + 12 hex digits: a kernel address */
	for (p = strstr(s, "ffff"); p; p = strstr(p + 1, "ffff")) {
		int n = 0;

		while (n < 16 && ((p[n] >= '0' && p[n] <= '9') ||
				  (p[n] >= 'a' && p[n] <= 'f')))
			n++;
		if (n == 16)
			return true;
	}
	return false;
}

static void follow_line(struct follow_stats *st, const char *l)
{
	unsigned long long n;
	bool ok;

	if (!strncmp(l, "lost=", 5)) {
		ok = sscanf(l, "lost=%llu", &n) == 1 && n > 0;
		if (ok) {
			st->lost_lines++;
			st->lost += n;
		}
	} else {
		ok = !strncmp(l, "seq=", 4) && strstr(l, " ns=") &&
		     strstr(l, " vm=") && strstr(l, " event=") &&
		     strstr(l, " site=") && !kptr_in(l);
		st->lines += ok;
	}
	if (!ok && !st->bad++)
		snprintf(st->first_bad, sizeof(st->first_bad), "%.150s", l);
}

int follow_main(int argc, char **argv)
{
	const char *file, *mode, *stop, *gate;
	static char line[4096];
	size_t llen = 0;
	struct follow_stats st = { 0 };
	int chunk = 4096, interval = 0, fd = -1, rc = 0;
	char buf[4096];
	struct sigaction sa = { .sa_handler = on_follow_tick };
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };

	if (argc < 6)
		return 2;
	file = argv[2];
	mode = argv[3];
	stop = argv[4];
	gate = argv[5];
	if (!strcmp(mode, "slow")) {
		chunk = argc > 6 ? atoi(argv[6]) : 5;
		interval = argc > 7 ? atoi(argv[7]) : 1000;
		if (chunk < 1 || chunk > (int)sizeof(buf) || interval < 0)
			return 2;
	} else if (strcmp(mode, "block") && strcmp(mode, "poll")) {
		return 2;
	}
	/*
	 * Every mode's reads block when nothing comes (poll's only in
	 * poll()): a timer interrupts them so the reader sees GATE in time.
	 */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: EINTR */
	setitimer(ITIMER_REAL, &it, NULL);
	while (!path_exists(stop)) {
		ssize_t n;

		if (path_exists(gate)) {
			if (fd >= 0) {
				close(fd);
				fd = -1;
				llen = 0;	/* a new open starts afresh */
			}
			usleep(20000);
			continue;
		}
		if (fd < 0) {
			fd = open(file, O_RDONLY | (strcmp(mode, "poll") ? 0 : O_NONBLOCK));
			if (fd < 0) {
				if (errno != ENOENT && errno != EINTR) {
					fprintf(stderr, "stressdrive: follow: open %s: %m\n", file);
					rc = 1;
				}
				usleep(20000);
				continue;
			}
			st.opens++;
		}
		if (!strcmp(mode, "poll")) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 100) <= 0)
				continue;
		}
		n = read(fd, buf, chunk);
		if (n < 0) {
			if (errno == EINTR) {
				st.eintr++;
			} else if (errno == EAGAIN) {
				st.eagain++;
			} else {
				fprintf(stderr, "stressdrive: follow: read: %m\n");
				rc = 1;
				close(fd);
				fd = -1;
			}
			continue;
		}
		if (n == 0) {	/* only at module exit, which our open prevents */
			fprintf(stderr, "stressdrive: follow: unexpected EOF\n");
			rc = 1;
			close(fd);
			fd = -1;
			continue;
		}
		st.bytes += n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[llen] = '\0';
				follow_line(&st, line);
				llen = 0;
			} else if (llen < sizeof(line) - 1) {
				line[llen++] = buf[i];
			} else if (!st.bad++) {
				snprintf(st.first_bad, sizeof(st.first_bad), "line too long");
			}
		}
		if (interval)
			usleep(interval * 1000);
	}
	if (fd >= 0)
		close(fd);
	printf("FOLLOW mode=%s opens=%llu lines=%llu lost_lines=%llu lost=%llu bytes=%llu eintr=%llu eagain=%llu bad=%llu%s%s\n",
	       mode, st.opens, st.lines, st.lost_lines, st.lost, st.bytes,
	       st.eintr, st.eagain, st.bad, st.bad ? " first_bad=" : "",
	       st.bad ? st.first_bad : "");
	return rc || st.bad ? 1 : 0;
}

/* Copy one file into @out as a section "=== name\n"; -1 if it fails. */
static int snap_file(FILE *out, const char *dir, const char *name)
{
	char p[512], buf[65536];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	fprintf(out, "=== %s\n", name);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	close(fd);
	return n < 0 ? -1 : 0;
}

/*
 * stressdrive snapshot DIR OUT: every file of apicv_trace's debugfs DIR
 * (status, reasons, vms, events, vm/<key>/{state,events}) into OUT, one
 * "=== <path>" section each: one process for what would be thousands of
 * cat(1) under TCG.  Exit 1 if a top-level file cannot be read; a VM
 * directory that the module removes meanwhile is skipped.
 */
int snapshot_main(const char *dir, const char *outp)
{
	static const char *const top[] = { "status", "reasons", "vms", "events" };
	char sub[512], name[600];
	struct dirent *de;
	unsigned int i, vms = 0;
	FILE *out;
	DIR *d;
	int rc = 0;

	out = fopen(outp, "w");
	if (!out)
		return 1;
	for (i = 0; i < ARRAY_SIZE(top); i++)
		if (snap_file(out, dir, top[i]))
			rc = 1;
	snprintf(sub, sizeof(sub), "%s/vm", dir);
	d = opendir(sub);
	if (!d) {
		rc = 1;
	} else {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(name, sizeof(name), "vm/%s/state", de->d_name);
			if (snap_file(out, dir, name))
				continue;
			snprintf(name, sizeof(name), "vm/%s/events", de->d_name);
			snap_file(out, dir, name);
			vms++;
		}
		closedir(d);
	}
	fprintf(out, "=== end vms=%u\n", vms);
	if (fclose(out))
		rc = 1;
	return rc;
}
