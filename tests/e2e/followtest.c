// SPDX-License-Identifier: GPL-2.0
/*
 * followtest - exercises /sys/kernel/debug/apicv_trace/follow the way a
 * program reading it would: blocking reads, O_NONBLOCK, poll(), and a slow
 * reader that has to be told how much it lost.
 *
 *   followtest nonblock FILE -- CMD...
 *	Drain FILE with O_NONBLOCK until EAGAIN; poll() must then report
 *	nothing; run CMD (which makes events); poll() must report POLLIN
 *	within 20 s and a read must return whole "seq=" lines.
 *   followtest count FILE N SECONDS
 *	Blocking reads; succeed once N lines containing "seq=" were read,
 *	fail after SECONDS. Prints the lines to stdout.
 *   followtest slow FILE -- CMD...
 *	Open FILE, drain it, run CMD without reading, then read: the first
 *	line must be "lost=<n>" with n > 0, followed by "seq=" lines.
 *
 * Exit status 0 on success; every failure says why on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];

static void die(const char *what)
{
	fprintf(stderr, "followtest: FAIL: %s (%s)\n", what, strerror(errno));
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "followtest: FAIL: %s\n", what);
	exit(1);
}

static void run(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		fail("command failed");
}

static void drain(int fd)
{
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		die("drain: expected EAGAIN");
	}
}

static int cmd_nonblock(const char *path, char **cmd)
{
	struct pollfd p;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		die("open");
	drain(fd);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) != 0)
		fail("poll reported data on a drained reader");
	run(cmd);
	if (poll(&p, 1, 20000) != 1 || !(p.revents & POLLIN))
		fail("poll did not report new events");
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		die("read after POLLIN");
	buf[n] = '\0';
	if (strncmp(buf, "seq=", 4) || buf[n - 1] != '\n')
		fail("read did not return whole event lines");
	printf("nonblock: ok, %zd bytes after poll\n", n);
	return 0;
}

static int cmd_count(const char *path, long want, long secs)
{
	long lines = 0;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		die("open");
	alarm(secs);	/* SIGALRM ends a read that blocks too long */
	while (lines < want && getline(&line, &cap, f) > 0) {
		fputs(line, stdout);
		if (strstr(line, "seq="))
			lines++;
	}
	if (lines < want) {
		fprintf(stderr, "followtest: FAIL: %ld of %ld lines\n", lines,
			want);
		return 1;
	}
	fflush(stdout);
	return 0;
}

static int cmd_slow(const char *path, char **cmd)
{
	unsigned long long lost;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		die("open");
	drain(fd);
	run(cmd);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		die("read");
	buf[n] = '\0';
	if (sscanf(buf, "lost=%llu\n", &lost) != 1 || !lost)
		fail("slow reader was not told lost=N first");
	if (!strstr(buf, "\nseq="))
		fail("no events after lost=N");
	printf("slow: ok, lost=%llu\n", lost);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGALRM, SIG_DFL);
	if (argc >= 5 && !strcmp(argv[1], "nonblock") && !strcmp(argv[3], "--"))
		return cmd_nonblock(argv[2], argv + 4);
	if (argc == 5 && !strcmp(argv[1], "count"))
		return cmd_count(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "slow") && !strcmp(argv[3], "--"))
		return cmd_slow(argv[2], argv + 4);
	fprintf(stderr, "usage: see the comment at the top of followtest.c\n");
	return 2;
}
