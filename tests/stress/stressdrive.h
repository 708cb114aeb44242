/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stressdrive.h - the stress test's guest-side helpers (stressdrive.c):
 * churn (churn.c), follow and snapshot (readers.c).
 */
#ifndef STRESSDRIVE_H
#define STRESSDRIVE_H

#include <time.h>

/* CLOCK_BOOTTIME in ns: the clock of apicv_trace's ns= and created_ns= */
static inline long long boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Each returns the exit status: 0 ok, 1 failed, 2 usage. */
int churn_main(int argc, char **argv);	/* argv[0] is "churn" */
int follow_main(int argc, char **argv);	/* argv[1] is "follow" */
int snapshot_main(const char *dir, const char *outp);

#endif /* STRESSDRIVE_H */
