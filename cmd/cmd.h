/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cmd.h - what the views share: the source of the files, output helpers,
 * exit codes. Files are read by main.c, which also turns read errors into
 * messages with their fix.
 */
#ifndef APICV_TRACE_CMD_H
#define APICV_TRACE_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "parse.h"

#define APICV_TRACE_VERSION "0.1.0"
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
};

/*
 * Read DIR/@rel into a NUL-terminated malloc'd buffer. On failure, print
 * what went wrong and how to fix it (unless @quiet), and return the exit
 * code (EX_*); 0 on success.
 */
int read_rel(const struct ctx *c, const char *rel, char **text, size_t *len,
	     int quiet);
/* open DIR/@rel (O_RDONLY|O_NONBLOCK) into *fd, diagnosing failures. */
int open_rel(const struct ctx *c, const char *rel, int *fd);
/* vm/<key>/<name>, or (in a --dir copy) <name>.<key>. */
int read_vm_file(const struct ctx *c, const char *key, const char *name,
		 char **text, size_t *len, int quiet);
/* Print "apicv-trace: " + message to stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Views: each returns an exit code. */
int view_list(const struct ctx *c);
int view_show(const struct ctx *c, const char *vm);
int view_watch(const struct ctx *c, const char *vm, const char *reasons,
	       int new_only);
int view_prom(const struct ctx *c);

/*
 * Find a VM by key, or by pid or process name when exactly one VM has it.
 * On failure prints the known VMs and returns NULL.
 */
const struct rec *vm_lookup(const struct ctx *c, const struct vms *v,
			    const char *arg, int *code);

/* util.c */
void dur_long(uint64_t ms, char *buf, size_t len);	/* "5 min 12 s" */
void dur_short(uint64_t ms, char *buf, size_t len);	/* "5m12s" */
/* When @ns (CLOCK_BOOTTIME) was: wall time if live, else "boot+12.345s". */
void when_str(const struct ctx *c, uint64_t ns, char *buf, size_t len);
/* HH:MM:SS.mmm if live, else boot+S.mmm. */
void clock_str(const struct ctx *c, uint64_t ns, char *buf, size_t len);
/* A VM's process name: the module's comm=, else /proc/<pid>/comm (live VMs
 * when c->proc), else "?". */
void vm_comm(const struct ctx *c, const struct rec *vm, char *buf, size_t len);
/* @s with invalid UTF-8 and control characters replaced, into buf. */
void clean_text(const char *s, char *buf, size_t len);

void json_str(FILE *o, const char *s);		/* NULL -> null */
void json_u64(FILE *o, const struct rec *r, const char *key);
void json_yesno(FILE *o, const struct rec *r, const char *key);
void json_str_key(FILE *o, const struct rec *r, const char *key);
/* ,"key": and @r's value of key (u64 or string; missing -> null) */
void json_field_u64(FILE *o, const struct rec *r, const char *key);
void json_field_str(FILE *o, const struct rec *r, const char *key);
/* "extra": {unknown keys} of @r w.r.t. @known (bare words -> null). */
void json_extra(FILE *o, const struct rec *r, const char *const *known);
/* A "A|B" list as a JSON array (NULL -> null). */
void json_reasons(FILE *o, const char *s);

void prom_label(FILE *o, const char *s);	/* escaped, quoted */

#endif
