// SPDX-License-Identifier: GPL-2.0
/*
 * asuser - run a command as an unprivileged user.
 *
 *   asuser UID CMD [ARG...]
 *
 * Drops every supplementary group, then the group and user ids (real,
 * effective and saved) to UID, checks that root cannot be regained, and
 * execs CMD. Exit 126 if the drop fails, 127 if CMD cannot be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t uid, r, e, s;
	gid_t gr, ge, gs;
	char *end;

	if (argc < 3) {
		fprintf(stderr, "usage: asuser UID CMD [ARG...]\n");
		return 2;
	}
	uid = strtoul(argv[1], &end, 10);
	if (*end || !uid) {
		fprintf(stderr, "asuser: bad uid '%s'\n", argv[1]);
		return 2;
	}
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid)) {
		fprintf(stderr, "asuser: dropping to %u: %s\n", uid,
			strerror(errno));
		return 126;
	}
	if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs) ||
	    r != uid || e != uid || s != uid || gr != uid || ge != uid ||
	    gs != uid || getgroups(0, NULL) != 0 || !setuid(0)) {
		fprintf(stderr, "asuser: still privileged after the drop\n");
		return 126;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "asuser: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
