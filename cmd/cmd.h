/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmd.h - what every file of the command shares: the context a command
 * runs in (where the files are, output mode, clocks) and the exit codes.
 * Who reads the files is files.h; the output helpers are util.h.
 */
#ifndef APICV_TRACE_CMD_H
#define APICV_TRACE_CMD_H

#include <stdint.h>
#include <time.h>

#define JSON_SCHEMA_VERSION 1

/* Exit codes (apicv-trace(8), EXIT STATUS). */
enum {
	EX_OK = 0,
	EX_ERROR = 1,		/* a file could not be read or parsed, I/O */
	EX_USAGE = 2,		/* bad command line */
	EX_NOMODULE = 3,	/* apicv_trace is not loaded */
	EX_NODEBUGFS = 4,	/* debugfs is not mounted */
	EX_NOPERM = 5,		/* not root (EACCES/EPERM) */
	EX_NOVM = 6,		/* no such VM (or several match) */
	EX_DISAGREE = 7,	/* verify: the module and kvm's tracepoint differ */
	EX_NOVERIFY = 8,	/* verify: could not compare (no tracefs, lockdown,
				 * kvm not loaded, no tracepoint, lost data,
				 * interrupted) */
	EX_GONE = 9,		/* watch: the module went away while watching */
	/* doctor: the first problem class found, in this order */
	EX_DOC_AVIC = 10,	/* AVIC/APICv cannot work on this host (CPU,
				 * kvm_amd/kvm_intel parameters) */
	EX_DOC_MODULE = 11,	/* apicv_trace not loaded, or cannot be loaded
				 * (Secure Boot, lockdown) */
	EX_DOC_COVERAGE = 12,	/* the tracer does not see everything (hooks
				 * partial, reasons without names) */
};

struct ctx {
	const char *dir;	/* the files: debugfs or --dir */
	int live;		/* reading the running module (not --dir) */
	int json;
	const char *proc;	/* /proc for comm fallback, or NULL */
	const char *sysfs;	/* /sys, for diagnostics */
	/* clocks, for turning CLOCK_BOOTTIME ns into wall time (live only) */
	uint64_t boot_now_ns;
	struct timespec real_now;
	const char *apic_word;	/* "AVIC" (AMD) or "APICV" */
	/* show --timeline [--ascii] [--last SECONDS] */
	int timeline;
	int ascii;		/* --ascii, or a locale without UTF-8 */
	unsigned last_s;	/* 0: the VM's whole life */
	const char *output;	/* prom --output FILE: written atomically */
};

#endif
