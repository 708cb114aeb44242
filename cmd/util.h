/* SPDX-License-Identifier: GPL-2.0 */
/*
 * util.h - durations, times, a VM's process name, text cleaning, JSON and
 * Prometheus escaping (util.c).
 */
#ifndef APICV_TRACE_UTIL_H
#define APICV_TRACE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd.h"
#include "parse.h"

void dur_long(uint64_t ms, char *buf, size_t len);	/* "5 min 12 s" */
void dur_short(uint64_t ms, char *buf, size_t len);	/* "5m12s" */
/*
 * Read CLOCK_BOOTTIME and CLOCK_REALTIME into c->boot_now_ns/real_now (the
 * pair turns a record's boottime ns into wall time); 0 if a clock failed.
 */
int clocks_read(struct ctx *c);
/* When @ns (CLOCK_BOOTTIME) was: wall time if live, else "boot+12.345s". */
void when_str(const struct ctx *c, uint64_t ns, char *buf, size_t len);
/* HH:MM:SS.mmm if live, else boot+S.mmm. */
void clock_str(const struct ctx *c, uint64_t ns, char *buf, size_t len);
/* A VM's process name: the module's comm=, else /proc/<pid>/comm (live VMs
 * when c->proc), else "?". */
void vm_comm(const struct ctx *c, const struct rec *vm, char *buf, size_t len);
/* The name the VM's VMM gave it (name=), or NULL when none ("-", absent). */
const char *vm_name(const struct rec *vm);
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
