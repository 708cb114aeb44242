// SPDX-License-Identifier: GPL-2.0
/*
 * stressdrive - the guest-side helpers of the stress test
 * (tests/stress/stress.sh), one static binary:
 *
 *   stressdrive churn --seconds S [--vcpus N] [--toggles N] [--pause-file P]
 *       VMs created and destroyed in a loop: CHURN lines (churn.c)
 *   stressdrive now
 *       CLOCK_BOOTTIME in seconds.nanoseconds (apicv_trace's clock)
 *   stressdrive snapshot DIR OUT
 *       every apicv_trace file of DIR into OUT (readers.c)
 *   stressdrive follow FILE block|poll|slow STOP GATE [BYTES [MS]]
 *       a follow reader that lives through module unloads (readers.c)
 *
 * The scenarios that check what apicv_trace records (flood among them)
 * are tests/e2e/kvmdrive's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "stressdrive.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: stressdrive churn --seconds S [--vcpus N] [--toggles N] [--pause-file P]\n"
"       stressdrive now             CLOCK_BOOTTIME in ns (apicv_trace's clock)\n"
"       stressdrive snapshot DIR OUT  every apicv_trace file into OUT\n"
"       stressdrive follow FILE block|poll|slow STOP GATE [BYTES [MS]]\n"
"churn options:\n"
"  --seconds S                create and destroy VMs for S seconds\n"
"  --vcpus N                  vCPUs per VM cycle 1..N (default 2, at most 8)\n"
"  --toggles N                BLOCKIRQ / PIT reinject rounds cycle 1..N\n"
"                             (default 100)\n"
"  --pause-file P             no VM (and /dev/kvm closed) while P exists\n");
}

int main(int argc, char **argv)
{
	int r = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "now")) {
		long long t = boot_ns();

		printf("%lld.%09lld\n", t / 1000000000LL, t % 1000000000LL);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "snapshot"))
		return snapshot_main(argv[2], argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "follow"))
		r = follow_main(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "churn"))
		r = churn_main(argc - 1, argv + 1);
	if (r == 2)
		usage(stderr);
	return r;
}
