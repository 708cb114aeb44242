/* SPDX-License-Identifier: GPL-2.0 */
/*
 * files.h - reading apicv_trace's files, and saying on stderr what went
 * wrong and how to fix it (files.c).
 */
#ifndef APICV_TRACE_FILES_H
#define APICV_TRACE_FILES_H

#include <stdarg.h>
#include <stddef.h>

#include "cmd.h"

/* Print "apicv-trace: " + message to stderr. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "apicv-trace: " + message, without the newline. */
void verrmsg(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

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

/* "AVIC" or "APICV": from the reasons file, else the loaded KVM module. */
const char *apic_word(const struct ctx *c);
/*
 * If status says coverage=partial, warn on stderr that the views lack what
 * the missing hooks see (the exit status stays).
 */
void warn_coverage(const struct ctx *c);

#endif
