// SPDX-License-Identifier: GPL-2.0
/*
 * util.c - durations, times, text cleaning, JSON and Prometheus escaping.
 */
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void dur_long(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%llu ms", (unsigned long long)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%llu.%llu s", (unsigned long long)s,
			 (unsigned long long)(ms % 1000 / 100));
	else if (s < 3600)
		snprintf(buf, len, "%llu min %llu s", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%llu h %02llu min",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llu d %02llu h",
			 (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}

void dur_short(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%llu.%llus", (unsigned long long)s,
			 (unsigned long long)(ms % 1000 / 100));
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}

int clocks_read(struct ctx *c)
{
	struct timespec bt, rt;

	if (clock_gettime(CLOCK_BOOTTIME, &bt) || clock_gettime(CLOCK_REALTIME, &rt))
		return 0;
	c->boot_now_ns = (uint64_t)bt.tv_sec * 1000000000ULL + (uint64_t)bt.tv_nsec;
	c->real_now = rt;
	return 1;
}

/*
 * Wall-clock time of boottime @ns; 0 if unknown. Both clocks advance
 * together (suspend included), so a record newer than the clocks (written
 * after they were read) is as far after real_now as it is after
 * boot_now_ns; only a step of the wall clock since the read (settimeofday,
 * NTP) makes the answer stale, which is why watch re-reads the clocks
 * (clocks_read) when a record is newer than them.
 */
static int wall_of(const struct ctx *c, uint64_t ns, struct timespec *ts)
{
	int64_t sec, nsec, d_sec, d_nsec;

	if (!c->live || !c->boot_now_ns)
		return 0;
	if (ns <= c->boot_now_ns) {
		uint64_t ago = c->boot_now_ns - ns;

		d_sec = -(int64_t)(ago / 1000000000ULL);
		d_nsec = -(int64_t)(ago % 1000000000ULL);
	} else {
		uint64_t ahead = ns - c->boot_now_ns;

		if (ahead / 1000000000ULL > (uint64_t)INT32_MAX)
			return 0;	/* nonsense: not a time of this boot */
		d_sec = (int64_t)(ahead / 1000000000ULL);
		d_nsec = (int64_t)(ahead % 1000000000ULL);
	}
	sec = (int64_t)c->real_now.tv_sec + d_sec;
	nsec = (int64_t)c->real_now.tv_nsec + d_nsec;
	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	} else if (nsec >= 1000000000) {
		nsec -= 1000000000;
		sec++;
	}
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)nsec;
	return 1;
}

void when_str(const struct ctx *c, uint64_t ns, char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	if (wall_of(c, ns, &ts) && localtime_r(&ts.tv_sec, &tm)) {
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
		return;
	}
	snprintf(buf, len, "boot+%llu.%03llus",
		 (unsigned long long)(ns / 1000000000ULL),
		 (unsigned long long)(ns % 1000000000ULL / 1000000ULL));
}

void clock_str(const struct ctx *c, uint64_t ns, char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	if (wall_of(c, ns, &ts) && localtime_r(&ts.tv_sec, &tm)) {
		char hms[16];

		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%03ld", hms, ts.tv_nsec / 1000000L);
		return;
	}
	snprintf(buf, len, "%llu.%06llu",
		 (unsigned long long)(ns / 1000000000ULL),
		 (unsigned long long)(ns % 1000000000ULL / 1000ULL));
}

/* Length of the valid UTF-8 sequence at @s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void clean_text(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (!len)
		return;
	while (*p && o + 1 < len) {
		size_t n = utf8_len(p);

		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			buf[o++] = '?';
			p++;
		} else if (n == 0) {
			buf[o++] = '?';
			p++;
		} else {
			if (o + n >= len)
				break;
			memcpy(buf + o, p, n);
			o += n;
			p += n;
		}
	}
	buf[o] = '\0';
}

const char *vm_name(const struct rec *vm)
{
	const char *n = rec_str(vm, "name");

	return n && *n && strcmp(n, "-") ? n : NULL;
}

void vm_comm(const struct ctx *c, const struct rec *vm, char *buf, size_t len)
{
	const char *comm = rec_str(vm, "comm");
	uint64_t pid;

	if (comm) {
		clean_text(comm, buf, len);
		return;
	}
	snprintf(buf, len, "?");
	if (c->proc && rec_is(vm, "status", "live") && rec_u64(vm, "pid", &pid) &&
	    pid && pid < 1u << 30) {
		char path[256], tmp[64];
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "%s/%llu/comm", c->proc,
			 (unsigned long long)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		n = read(fd, tmp, sizeof(tmp) - 1);
		close(fd);
		if (n <= 0)
			return;
		tmp[n] = '\0';
		tmp[strcspn(tmp, "\n")] = '\0';
		if (tmp[0])
			clean_text(tmp, buf, len);
	}
}

void json_str(FILE *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", o);
		return;
	}
	putc('"', o);
	while (*p) {
		size_t n = utf8_len(p);

		if (n == 0) {
			fputs("\\ufffd", o);
			p++;
			continue;
		}
		if (n > 1) {
			fwrite(p, 1, n, o);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':
			fputs("\\\"", o);
			break;
		case '\\':
			fputs("\\\\", o);
			break;
		case '\n':
			fputs("\\n", o);
			break;
		case '\t':
			fputs("\\t", o);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(o, "\\u%04x", *p);
			else
				putc(*p, o);
		}
		p++;
	}
	putc('"', o);
}

void json_u64(FILE *o, const struct rec *r, const char *key)
{
	uint64_t v;

	if (r && rec_u64(r, key, &v))
		fprintf(o, "%llu", (unsigned long long)v);
	else
		fputs("null", o);
}

void json_yesno(FILE *o, const struct rec *r, const char *key)
{
	int v = r ? rec_yesno(r, key) : -1;

	fputs(v < 0 ? "null" : v ? "true" : "false", o);
}

void json_str_key(FILE *o, const struct rec *r, const char *key)
{
	json_str(o, r ? rec_str(r, key) : NULL);
}

void json_field_u64(FILE *o, const struct rec *r, const char *key)
{
	fprintf(o, ",\"%s\":", key);
	json_u64(o, r, key);
}

void json_field_str(FILE *o, const struct rec *r, const char *key)
{
	fprintf(o, ",\"%s\":", key);
	json_str_key(o, r, key);
}

void json_extra(FILE *o, const struct rec *r, const char *const *known)
{
	size_t i;
	int first = 1;

	fputs("\"extra\":{", o);
	for (i = 0; r && i < r->n; i++) {
		size_t j;
		int dup = 0;

		if (key_known(known, r->kv[i].key))
			continue;
		for (j = 0; j < i; j++)
			dup |= !strcmp(r->kv[j].key, r->kv[i].key);
		if (dup)
			continue;	/* first occurrence wins */
		if (!first)
			putc(',', o);
		first = 0;
		json_str(o, r->kv[i].key);
		putc(':', o);
		json_str(o, r->kv[i].val);
	}
	putc('}', o);
}

void json_reasons(FILE *o, const char *s)
{
	size_t i, n = reasons_count(s);
	int first = 1;

	if (!s) {
		fputs("null", o);
		return;
	}
	putc('[', o);
	for (i = 0; i < n; i++) {
		char name[128];

		reasons_nth(s, i, name, sizeof(name));
		if (!name[0])
			continue;	/* "A||B" */
		if (!first)
			putc(',', o);
		first = 0;
		json_str(o, name);
	}
	putc(']', o);
}

void prom_label(FILE *o, const char *s)
{
	char clean[512];
	const char *p;

	clean_text(s ? s : "", clean, sizeof(clean));
	putc('"', o);
	for (p = clean; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", o);
		else if (*p == '"')
			fputs("\\\"", o);
		else if (*p == '\n')
			fputs("\\n", o);
		else
			putc(*p, o);
	}
	putc('"', o);
}
