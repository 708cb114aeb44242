// SPDX-License-Identifier: GPL-2.0
/*
 * vmname_test.c - module/vmname.h on the command lines VMMs are started
 * with: libvirt's QEMU, plain QEMU, --name, escaped commas, options
 * without a name, a name cut to the room given, and no -name at all.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmname.h"

static int fails, runs;

/* @args: the arguments joined by '|', turned into NUL-separated argv */
static void t(const char *args, size_t outlen, const char *want)
{
	char argv[512], out[64];
	size_t len = strlen(args) + 1, i;
	bool got;

	memcpy(argv, args, len);
	for (i = 0; i < len; i++)
		if (argv[i] == '|')
			argv[i] = '\0';
	memset(out, 'X', sizeof(out));
	got = at_vmname_parse(argv, len, out, outlen);
	runs++;
	if (got != (want != NULL) || (want && strcmp(out, want)) ||
	    (!want && out[0])) {
		fails++;
		printf("FAIL %s: want %s, got %s '%s'\n", args, want ? want : "(none)",
		       got ? "yes" : "no", out);
	} else {
		printf("ok   %s -> %s\n", args, want ? want : "(none)");
	}
}

/*
 * Command lines cut short, with no final NUL (a read that stopped at a
 * page): nothing is read past the bytes given (the .asan build checks).
 */
static void tcut(void)
{
#define CUT(s, w) { s, sizeof(s) - 1, w }	/* without the literal's NUL */
	static const struct { const char *cl; size_t len; const char *want; } c[] = {
		CUT("qemu\0-name\0guest=ab", "ab"),
		CUT("qemu\0-name\0gue", "gue"),
		CUT("qemu\0-name", NULL),
		CUT("qemu\0-nam", NULL),
		CUT("qemu\0-name\0a,,", "a,"),
		CUT("qemu\0-name\0a,", "a"),
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *argv = malloc(c[i].len), out[16];
		bool got;

		memcpy(argv, c[i].cl, c[i].len);
		got = at_vmname_parse(argv, c[i].len, out, sizeof(out));
		free(argv);
		runs++;
		if (got != (c[i].want != NULL) || (c[i].want && strcmp(out, c[i].want))) {
			fails++;
			printf("FAIL cut #%zu: want %s, got %s '%s'\n", i,
			       c[i].want ? c[i].want : "(none)", got ? "yes" : "no", out);
		} else {
			printf("ok   cut #%zu -> %s\n", i, c[i].want ? c[i].want : "(none)");
		}
	}
}

int main(void)
{
	/* libvirt */
	t("/usr/bin/qemu-system-x86_64|-name|guest=web-a,debug-threads=on|-S", 64, "web-a");
	t("qemu-system-x86_64|-machine|q35|-name|guest=db-b,process=qemu:db-b", 64, "db-b");
	/* plain QEMU */
	t("qemu-system-x86_64|-name|win10|-m|4096", 64, "win10");
	t("qemu-system-x86_64|-name|win10,process=qemu-win10", 64, "win10");
	t("qemu-system-x86_64|--name|guest=lab", 64, "lab");
	t("kvmdrive|idle|--name|guest=web-a,debug-threads=on", 64, "web-a");
	/* repeated -name options merge, a later guest wins, as in QEMU */
	t("qemu|-name|old|-name|new", 64, "new");
	t("qemu|-name|guest=a|-name|debug-threads=on", 64, "a");
	t("qemu|-name|a|-name|process=p,guest=b|-name|", 64, "b");
	/* a '=' after the first ",," is part of the implied name */
	t("qemu|-name|a,,b=c", 64, "a,b=c");
	t("qemu|-name|a=b", 64, NULL);
	t("qemu|-name|guest=", 64, NULL);
	t("qemu|-name|guest", 64, "guest");
	/* ",," is a comma in the value */
	t("qemu|-name|guest=a,,b,debug-threads=on", 64, "a,b");
	t("qemu|-name|a,,b", 64, "a,b");
	/* guest= after other options */
	t("qemu|-name|process=p,guest=late", 64, "late");
	/* no name in the value */
	t("qemu|-name|process=p,debug-threads=on", 64, NULL);
	t("qemu|-name|", 64, NULL);
	t("qemu|-name", 64, NULL);
	t("qemu|-m|512", 64, NULL);
	t("qemu|-namex|foo", 64, NULL);
	/* cut to the room given */
	t("qemu|-name|guest=abcdefghij", 5, "abcd");
	t("qemu|-name|guest=ab", 1, NULL);
	tcut();
	printf("vmname_test: %d cases, %d failed\n", runs, fails);
	return fails ? 1 : 0;
}
