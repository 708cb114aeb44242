// SPDX-License-Identifier: GPL-2.0
/*
 * filetest - misuse of apicv_trace's files and parameters, from the guest
 * of the e2e suite (tests/misuse/misuse.sh). Every subcommand prints one
 * line per check, "OK <name> [detail]" or "FAIL <name>: <why>", then
 * "END"; it exits 1 if a check failed, 2 on a usage or setup error.
 *
 *   filetest reads FILE...
 *	Every way of reading gives the bytes of one big read: read() of
 *	1, 2, 3, 7, 64, 100, 4095, 4096, 4097, 65536 and 1 MiB, pread() at
 *	many offsets and sizes, lseek SEEK_SET/CUR/END, readv, two readers
 *	interleaved; a zero-length read, a read into a bad buffer (EFAULT),
 *	mmap and ioctl refused. Run it while no VM is live.
 *   filetest reads-locked FILE...
 *	The same, named misuse_lockdown_reads_* (under kernel lockdown).
 *   filetest writeopen FILE...
 *	Opening for writing (O_WRONLY, O_RDWR, with O_TRUNC, O_APPEND,
 *	O_CREAT) fails with EPERM; O_RDONLY|O_TRUNC and truncate() change
 *	nothing; the content is the same afterwards. writeopen-locked: the
 *	same, named misuse_lockdown_wropen_*.
 *   filetest follow FOLLOW EVENTS -- CMD...
 *	The stream: a reader starts empty, at its open; readers of every
 *	read size, open while CMD runs, get the same bytes, which are the
 *	lines events gained meanwhile; O_NONBLOCK gives EAGAIN and poll()
 *	times out when drained; lseek and pread give ESPIPE; a blocked read
 *	is interrupted by a signal; CMD's events wake poll() with POLLIN.
 *   filetest manyopen N FILE...
 *	N opens of every FILE at once, each reads its first page (the same
 *	bytes for all); follow_readers counts them;
 *	then 4 threads open, read and close for half a second.
 *   filetest timeit [--hold FILE] -- CMD...
 *	Runs CMD and prints its wall time, optionally holding FILE open and
 *	never reading it meanwhile (then prints the held reader's first line).
 *   filetest vm COMM SECONDS
 *	Creates a KVM VM (irqchip, PIT, a vCPU) from a process named COMM
 *	(prctl PR_SET_NAME), toggles PIT reinject for SECONDS, closes it.
 *   filetest loads CASES KO
 *   filetest params CASES PARAMDIR STATUS
 *	The load-time and runtime cases of the CASES file (see its header).
 *   filetest noaccess FILE...
 *	As an unprivileged user (see asuser.c): opening, listing or stat'ing
 *	any FILE fails with EACCES.
 *   filetest noparams PARAMDIR
 *	As an unprivileged user: no parameter can be opened for writing
 *	(EACCES) and none changes.
 *   filetest chmod FILE...
 *	chmod, chown and opening for writing are refused with EPERM (kernel
 *	lockdown).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#define BIG	(4 << 20)	/* one read's buffer: larger than any file */

static int nfail;

static void ok(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void ok(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("OK %s", name);
	if (fmt && *fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
}

static void fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	nfail++;
}

static void die(const char *what)
{
	printf("FAIL filetest: %s: %s\nEND\n", what, strerror(errno));
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc");
	return p;
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case E2BIG: return "E2BIG";
	case ERANGE: return "ERANGE";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	case ESPIPE: return "ESPIPE";
	case ENODEV: return "ENODEV";
	case ENOTTY: return "ENOTTY";
	case EISDIR: return "EISDIR";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EINTR: return "EINTR";
	case ENOMEM: return "ENOMEM";
	case EROFS: return "EROFS";
	default: return strerror(e);
	}
}

/* A file's class for check names: status, vms..., vm_state, vm_events. */
static void file_class(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	char dir[PATH_MAX];
	const char *p;

	base = base ? base + 1 : path;
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';	/* .../vm/KEY */
	p = strrchr(dir, '/');
	if (p && p - dir >= 3 && !strncmp(p - 3, "/vm", 3))
		snprintf(out, len, "vm_%s", base);
	else
		snprintf(out, len, "%s", base);
}

/* Per class: patterns tried, first failure. */
struct agg {
	char name[64];
	long tried;
	char why[512];
};

static struct agg aggs[32];
static int naggs;

static struct agg *agg_get(const char *name)
{
	int i;

	for (i = 0; i < naggs; i++)
		if (!strcmp(aggs[i].name, name))
			return &aggs[i];
	if (naggs == 32) {
		errno = ENOSPC;
		die("too many file classes");
	}
	snprintf(aggs[naggs].name, sizeof(aggs[naggs].name), "%s", name);
	return &aggs[naggs++];
}

static void agg_bad(struct agg *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void agg_bad(struct agg *a, const char *fmt, ...)
{
	va_list ap;

	if (a->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

static void agg_report(const char *unit)
{
	int i;

	for (i = 0; i < naggs; i++) {
		if (aggs[i].why[0])
			fail(aggs[i].name, "%s (%ld %s)", aggs[i].why,
			     aggs[i].tried, unit);
		else
			ok(aggs[i].name, "%ld %s", aggs[i].tried, unit);
	}
}

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len;
};

static char *scratch;
static volatile uintptr_t bad_addr = 16;

/* An address no process has mapped, unknown to the compiler. */
static void *bad_ptr(void)
{
	return (void *)bad_addr;
}

/* The whole file through fd, @chunk bytes per read() (0: one big read). */
static int read_fd(int fd, size_t chunk, size_t small_limit, struct buf *b)
{
	size_t cap = 1 << 16;

	b->p = xmalloc(cap);
	b->len = 0;
	for (;;) {
		size_t want = chunk ? chunk : BIG;
		ssize_t n;

		if (chunk && b->len >= small_limit)
			want = 1 << 16;	/* small reads for the first part */
		if (b->len + want > cap) {
			while (b->len + want > cap)
				cap *= 2;
			b->p = realloc(b->p, cap);
			if (!b->p)
				die("realloc");
		}
		n = read(fd, b->p + b->len, want);
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		if ((size_t)n > want)
			return -E2BIG;
		b->len += n;
	}
}

static int slurp(const char *path, struct buf *b)
{
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -errno;
	ret = read_fd(fd, 0, 0, b);
	close(fd);
	return ret;
}

static bool same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

static size_t first_diff(const struct buf *a, const struct buf *b)
{
	size_t i, n = a->len < b->len ? a->len : b->len;

	for (i = 0; i < n && a->p[i] == b->p[i]; i++)
		;
	return i;
}

/* pread at @off of @len: must be ref[off, off+len) clipped to the end. */
static void check_pread(struct agg *a, int fd, const struct buf *ref,
			off_t off, size_t len)
{
	size_t exp = (size_t)off >= ref->len ? 0 :
		     ref->len - off < len ? ref->len - off : len;
	ssize_t n = pread(fd, scratch, len, off);

	/* a short read is fine (seq_file stops at a whole record) */
	a->tried++;
	if (n < 0)
		agg_bad(a, "pread(off %lld, %zu): %s", (long long)off, len,
			ename(errno));
	else if ((size_t)n > exp || (exp && !n) ||
		 memcmp(scratch, ref->p + off, n))
		agg_bad(a, "pread(off %lld, %zu): %zd bytes, not a start of the big read's %zu there",
			(long long)off, len, n, exp);
}

static void reads_one(const char *path, const char *prefix)
{
	static const size_t sizes[] = {
		1, 2, 3, 7, 64, 100, 4095, 4096, 4097, 65536, 1 << 20,
	};
	static const size_t plens[] = { 1, 7, 4096, 65536 };
	char cls[64], name[96];
	struct buf ref, b;
	struct agg *a;
	struct iovec iov[5];
	off_t offs[16];
	size_t i, j, noffs = 0;
	ssize_t n;
	int fd, fd2, ret;
	void *map;

	file_class(path, cls, sizeof(cls));
	snprintf(name, sizeof(name), "%s_%s", prefix, cls);
	a = agg_get(name);
	ret = slurp(path, &ref);
	if (ret) {
		agg_bad(a, "%s: one big read: %s", path, ename(-ret));
		return;
	}
	/* again: with nothing running, two big reads agree */
	a->tried++;
	if (slurp(path, &b) || !same(&ref, &b))
		agg_bad(a, "%s: two big reads differ (a VM is live?)", path);
	free(b.p);

	/* read() of every size, small ones for the first 8 KiB */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			agg_bad(a, "%s: open: %s", path, ename(errno));
			continue;
		}
		a->tried++;
		ret = read_fd(fd, sizes[i], 8192, &b);
		if (ret)
			agg_bad(a, "%s: reads of %zu: %s", path, sizes[i],
				ename(-ret));
		else if (!same(&ref, &b))
			agg_bad(a, "%s: reads of %zu bytes: %zu bytes, differ at %zu (big read: %zu)",
				path, sizes[i], b.len, first_diff(&ref, &b),
				ref.len);
		/* at the end: more reads keep returning 0 */
		a->tried++;
		if (read(fd, scratch, 100) != 0 || read(fd, scratch, 1) != 0)
			agg_bad(a, "%s: read after the end is not 0", path);
		free(b.p);
		close(fd);
	}

	/* pread at offsets around pages and the end, of several lengths */
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		agg_bad(a, "%s: open: %s", path, ename(errno));
		free(ref.p);
		return;
	}
	offs[noffs++] = 0;
	offs[noffs++] = 1;
	offs[noffs++] = 7;
	offs[noffs++] = 100;
	offs[noffs++] = 4095;
	offs[noffs++] = 4096;
	offs[noffs++] = 4097;
	offs[noffs++] = ref.len / 2;
	offs[noffs++] = ref.len ? ref.len - 1 : 0;
	offs[noffs++] = ref.len;
	offs[noffs++] = ref.len + 1;
	offs[noffs++] = ref.len + 4096;
	offs[noffs++] = (off_t)1 << 40;
	for (i = 0; i < noffs; i++)
		for (j = 0; j < sizeof(plens) / sizeof(plens[0]); j++)
			check_pread(a, fd, &ref, offs[i], plens[j]);
	/* backwards, then a plain read still starts at 0 */
	for (i = noffs; i-- > 0;)
		check_pread(a, fd, &ref, offs[i], 64);
	a->tried++;
	n = read(fd, scratch, 64);
	if (n < 0 || n != (ssize_t)(ref.len < 64 ? ref.len : 64) ||
	    memcmp(scratch, ref.p, n))
		agg_bad(a, "%s: read after preads does not start at 0", path);

	/* lseek SEEK_SET, then read */
	for (i = 0; i < noffs; i++) {
		off_t r = lseek(fd, offs[i], SEEK_SET);
		size_t exp;

		a->tried++;
		if (r < 0) {
			/* seq_file refuses an offset past the end */
			if ((size_t)offs[i] <= ref.len)
				agg_bad(a, "%s: lseek(%lld, SEEK_SET): %s", path,
					(long long)offs[i], ename(errno));
			continue;
		}
		if (r != offs[i]) {
			agg_bad(a, "%s: lseek(%lld, SEEK_SET) = %lld", path,
				(long long)offs[i], (long long)r);
			continue;
		}
		exp = (size_t)r >= ref.len ? 0 : ref.len - r;
		if (exp > 300)
			exp = 300;
		n = read(fd, scratch, 300);
		if (n < 0 || (size_t)n > exp || (exp && !n) ||
		    memcmp(scratch, ref.p + r, n))
			agg_bad(a, "%s: read after lseek(%lld): %zd bytes, not a start of the %zu there",
				path, (long long)r, n, exp);
	}
	/* SEEK_CUR forward and back */
	if (ref.len >= 64) {
		char t[16];

		a->tried++;
		if (lseek(fd, 10, SEEK_SET) != 10 || read(fd, t, 10) != 10 ||
		    lseek(fd, -5, SEEK_CUR) != 15 || read(fd, t, 10) != 10 ||
		    memcmp(t, ref.p + 15, 10))
			agg_bad(a, "%s: SEEK_CUR back by 5 does not read ref[15..25)",
				path);
		a->tried++;
		if (lseek(fd, 0, SEEK_SET) != 0 ||
		    lseek(fd, 30, SEEK_CUR) != 30 || read(fd, t, 8) != 8 ||
		    memcmp(t, ref.p + 30, 8))
			agg_bad(a, "%s: SEEK_CUR +30 does not read ref[30..38)",
				path);
		a->tried++;
		if (lseek(fd, 0, SEEK_CUR) != 38)
			agg_bad(a, "%s: SEEK_CUR 0 is not the position", path);
	}
	/* negative positions are refused */
	a->tried++;
	if (lseek(fd, -1, SEEK_SET) >= 0 || errno != EINVAL)
		agg_bad(a, "%s: lseek(-1, SEEK_SET) not EINVAL", path);
	a->tried++;
	lseek(fd, 0, SEEK_SET);
	if (lseek(fd, -100, SEEK_CUR) >= 0 || errno != EINVAL)
		agg_bad(a, "%s: lseek(-100, SEEK_CUR) from 0 not EINVAL", path);
	/* SEEK_END: seq_file has none (EINVAL), or it is the length */
	a->tried++;
	{
		off_t r = lseek(fd, 0, SEEK_END);

		if (r < 0 && errno != EINVAL)
			agg_bad(a, "%s: lseek(0, SEEK_END): %s", path,
				ename(errno));
		else if (r >= 0 && ((size_t)r != ref.len ||
				    read(fd, scratch, 10) != 0))
			agg_bad(a, "%s: lseek(0, SEEK_END) = %lld, length %zu",
				path, (long long)r, ref.len);
	}
	/* SEEK_DATA/SEEK_HOLE: anything but a crash */
	lseek(fd, 0, SEEK_DATA);
	lseek(fd, 0, SEEK_HOLE);

	/* readv of odd pieces */
	lseek(fd, 0, SEEK_SET);
	{
		static char p1[1], p2[3], p3[4093], p4[4099];
		size_t got = 0;
		bool bad = false;

		a->tried++;
		while (!bad) {
			iov[0] = (struct iovec){ p1, sizeof(p1) };
			iov[1] = (struct iovec){ p2, sizeof(p2) };
			iov[2] = (struct iovec){ NULL, 0 };
			iov[3] = (struct iovec){ p3, sizeof(p3) };
			iov[4] = (struct iovec){ p4, sizeof(p4) };
			n = readv(fd, iov, 5);
			if (n <= 0) {
				bad = n < 0;
				break;
			}
			for (i = 0; i < 5 && n > 0; i++) {
				size_t k = (size_t)n < iov[i].iov_len ? (size_t)n :
					   iov[i].iov_len;

				if (got + k > ref.len ||
				    memcmp(iov[i].iov_base, ref.p + got, k))
					bad = true;
				got += k;
				n -= k;
			}
		}
		if (bad || got != ref.len)
			agg_bad(a, "%s: readv: %zu bytes (big read %zu)%s", path,
				got, ref.len, bad ? ", differ" : "");
	}

	/* zero-length read; a read into a bad buffer; then reading goes on */
	lseek(fd, 0, SEEK_SET);
	a->tried++;
	if (read(fd, scratch, 0) != 0)
		agg_bad(a, "%s: read of 0 bytes is not 0", path);
	a->tried++;
	n = read(fd, bad_ptr(), 4096);
	if (ref.len && (n >= 0 || errno != EFAULT))
		agg_bad(a, "%s: read into a bad buffer: %zd (%s), not EFAULT",
			path, n, n < 0 ? ename(errno) : "no error");
	a->tried++;
	lseek(fd, 0, SEEK_SET);
	if (read_fd(fd, 4096, 0, &b) || !same(&ref, &b))
		agg_bad(a, "%s: reading after EFAULT differs", path);
	else
		free(b.p);

	/* mmap and ioctl are not offered */
	a->tried++;
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map != MAP_FAILED) {
		munmap(map, 4096);
		agg_bad(a, "%s: mmap succeeded", path);
	}
	a->tried++;
	if (ioctl(fd, _IO('Z', 1)) == 0)
		agg_bad(a, "%s: an unknown ioctl succeeded", path);
	close(fd);

	/* two readers interleaved, 3 and 5 bytes at a time */
	fd = open(path, O_RDONLY);
	fd2 = open(path, O_RDONLY);
	a->tried++;
	if (fd < 0 || fd2 < 0) {
		agg_bad(a, "%s: second open: %s", path, ename(errno));
	} else {
		struct buf x = { xmalloc(ref.len + 8), 0 };
		struct buf y = { xmalloc(ref.len + 8), 0 };
		bool ex = false, ey = false;

		while (!(ex && ey) && x.len <= ref.len && y.len <= ref.len) {
			if (!ex) {
				n = read(fd, x.p + x.len, 3);
				if (n <= 0)
					ex = true;
				else
					x.len += n;
			}
			if (!ey) {
				n = read(fd2, y.p + y.len, 5);
				if (n <= 0)
					ey = true;
				else
					y.len += n;
			}
			if (x.len > 8192 && y.len > 8192)
				break;	/* enough interleaving */
		}
		if (x.len > 8192 && y.len > 8192) {
			x.len = y.len = 8192;
			b.p = ref.p;
			b.len = 8192;
			if (!same(&b, &x) || !same(&b, &y))
				agg_bad(a, "%s: interleaved readers differ", path);
		} else if (!same(&ref, &x) || !same(&ref, &y)) {
			agg_bad(a, "%s: interleaved readers differ", path);
		}
		free(x.p);
		free(y.p);
	}
	if (fd >= 0)
		close(fd);
	if (fd2 >= 0)
		close(fd2);
	free(ref.p);
}

static int cmd_reads(const char *prefix, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		reads_one(argv[i], prefix);
	agg_report("read patterns");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Opening for writing                                                */
/* ------------------------------------------------------------------ */

static bool is_follow(const char *path)
{
	const char *b = strrchr(path, '/');

	return !strcmp(b ? b + 1 : path, "follow");
}

static void writeopen_one(const char *path, const char *prefix)
{
	static const struct { int flags; const char *name; } modes[] = {
		{ O_WRONLY, "O_WRONLY" },
		{ O_RDWR, "O_RDWR" },
		{ O_WRONLY | O_TRUNC, "O_WRONLY|O_TRUNC" },
		{ O_RDWR | O_TRUNC, "O_RDWR|O_TRUNC" },
		{ O_WRONLY | O_APPEND, "O_WRONLY|O_APPEND" },
		{ O_WRONLY | O_CREAT, "O_WRONLY|O_CREAT" },
		{ O_RDWR | O_NONBLOCK, "O_RDWR|O_NONBLOCK" },
		{ O_WRONLY | O_TRUNC | O_CREAT | O_NOCTTY, "creat()" },
	};
	char cls[64], name[96];
	struct buf before = { NULL, 0 }, after;
	struct agg *a;
	size_t i;
	int fd;

	file_class(path, cls, sizeof(cls));
	snprintf(name, sizeof(name), "%s_%s", prefix, cls);
	a = agg_get(name);
	if (!is_follow(path) && slurp(path, &before)) {
		agg_bad(a, "%s: cannot read: %s", path, ename(errno));
		return;
	}
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		a->tried++;
		fd = open(path, modes[i].flags, 0644);
		if (fd >= 0) {
			ssize_t n = write(fd, "x\n", 2);

			agg_bad(a, "%s: open(%s) succeeded (write: %zd)", path,
				modes[i].name, n);
			close(fd);
		} else if (errno != EPERM) {
			agg_bad(a, "%s: open(%s): %s, not EPERM", path,
				modes[i].name, ename(errno));
		}
	}
	/* these need no write mode: they must change nothing */
	a->tried++;
	fd = open(path, O_RDONLY | O_TRUNC | O_NONBLOCK);
	if (fd >= 0)
		close(fd);
	a->tried++;
	truncate(path, 0);	/* debugfs files have no size to cut */
	if (!is_follow(path)) {
		a->tried++;
		if (slurp(path, &after))
			agg_bad(a, "%s: cannot read afterwards", path);
		else if (!same(&before, &after))
			agg_bad(a, "%s: content changed (%zu -> %zu bytes)",
				path, before.len, after.len);
		else
			free(after.p);
	}
	free(before.p);
}

static int cmd_writeopen(const char *prefix, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		writeopen_one(argv[i], prefix);
	agg_report("write opens");
	return 0;
}

/* ------------------------------------------------------------------ */
/* follow                                                             */
/* ------------------------------------------------------------------ */

static void run_cmd(char **cmd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(cmd[0], cmd);
		_exit(127);
	}
	waitpid(pid, &status, 0);
}

/* Everything a non-blocking reader gets now, @chunk bytes per read. */
static int drain(int fd, size_t chunk, struct buf *b)
{
	int ret = read_fd(fd, chunk, SIZE_MAX, b);

	return ret == -EAGAIN ? 0 : ret ? ret : -ENODATA;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of @b, sorted: stream order may differ from gseq order. */
static char **sorted_lines(const struct buf *b, size_t *n)
{
	char *s = xmalloc(b->len + 1), **v, *p;
	size_t cap = 64;

	memcpy(s, b->p, b->len);
	s[b->len] = '\0';
	v = xmalloc(cap * sizeof(*v));
	*n = 0;
	for (p = strtok(s, "\n"); p; p = strtok(NULL, "\n")) {
		if (*n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		v[(*n)++] = p;
	}
	qsort(v, *n, sizeof(*v), cmp_line);
	return v;
}

/* The record lines of @after that @before has not, sorted. */
static char **new_lines(const struct buf *before, const struct buf *after,
			size_t *n)
{
	size_t nb, na, i, k = 0;
	char **vb = sorted_lines(before, &nb), **va = sorted_lines(after, &na);

	for (i = 0; i < na; i++)
		if (!strncmp(va[i], "seq=", 4) &&
		    !bsearch(&va[i], vb, nb, sizeof(*vb), cmp_line))
			va[k++] = va[i];
	*n = k;
	return va;
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static int cmd_follow(const char *path, const char *events, char **cmd)
{
	static const size_t sizes[] = {
		1, 2, 3, 7, 64, 100, 4095, 4096, 4097, 65536, 1 << 20,
	};
	enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };
	struct buf ref, b, ev, before;
	struct pollfd p;
	struct sigaction sa;
	struct itimerval it = { .it_value = { 0, 300000 } };
	char **lf, **le, why[300] = "";
	size_t i, nf, ne;
	long tried = 0;
	ssize_t n;
	int fd, ret, fds[NSIZES];

	/*
	 * A reader starts at its open: nothing to read yet, however much the
	 * module keeps (events). The reference reader and one per read size
	 * are open while CMD makes records.
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		die("open follow");
	for (i = 0; i < NSIZES; i++) {
		fds[i] = open(path, O_RDONLY | O_NONBLOCK);
		if (fds[i] < 0)
			die("open follow");
	}
	n = read(fd, scratch, 4096);
	for (i = 0; n < 0 && errno == EAGAIN && i < NSIZES; i++)
		n = read(fds[i], scratch, 4096);
	if (n < 0 && errno == EAGAIN)
		ok("misuse_follow_starts_empty", "%d readers", NSIZES + 1);
	else
		fail("misuse_follow_starts_empty", "a fresh reader read %zd (%s)",
		     n, n < 0 ? ename(errno) : "data");
	if (slurp(events, &before))
		die("read events");
	run_cmd(cmd);

	/* the reference: one big read at a time */
	ret = drain(fd, 0, &ref);
	if (ret)
		fail("misuse_follow_drain", "drain: %s", ename(-ret));
	else
		ok("misuse_follow_drain", "%zu bytes", ref.len);
	if (slurp(events, &ev))
		die("read events");

	/* every read size: the same bytes */
	for (i = 0; i < NSIZES; i++) {
		tried++;
		if (drain(fds[i], sizes[i], &b)) {
			snprintf(why, sizeof(why), "reads of %zu: %s", sizes[i],
				 ename(errno));
		} else {
			if (!same(&ref, &b) && !why[0])
				snprintf(why, sizeof(why),
					 "reads of %zu: %zu bytes, differ at %zu (big: %zu)",
					 sizes[i], b.len, first_diff(&ref, &b),
					 ref.len);
			free(b.p);
		}
		close(fds[i]);
	}
	if (why[0])
		fail("misuse_follow_read_sizes", "%s", why);
	else
		ok("misuse_follow_read_sizes", "%ld sizes, %zu bytes each",
		   tried, ref.len);

	/* the stream holds what events gained meanwhile, record for record */
	lf = sorted_lines(&ref, &nf);
	le = new_lines(&before, &ev, &ne);
	ret = nf == ne && nf > 0;
	for (i = 0; ret && i < nf; i++)
		ret = !strcmp(lf[i], le[i]);
	if (ret)
		ok("misuse_follow_is_events", "%zu lines", nf);
	else
		fail("misuse_follow_is_events",
		     "follow has %zu lines, events gained %zu (first difference: '%.120s' / '%.120s')",
		     nf, ne, i && i <= nf ? lf[i - 1] : "-",
		     i && i <= ne ? le[i - 1] : "-");

	/* drained: EAGAIN, poll times out, lseek and pread refused */
	n = read(fd, scratch, 4096);
	if (n < 0 && errno == EAGAIN)
		ok("misuse_follow_eagain", NULL);
	else
		fail("misuse_follow_eagain", "read on a drained reader: %zd (%s)",
		     n, n < 0 ? ename(errno) : "data");
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ret = poll(&p, 1, 500);
	if (ret == 0)
		ok("misuse_follow_poll_timeout", NULL);
	else
		fail("misuse_follow_poll_timeout", "poll: %d revents 0x%x", ret,
		     p.revents);
	if (lseek(fd, 0, SEEK_SET) < 0 && errno == ESPIPE &&
	    lseek(fd, 0, SEEK_END) < 0 && errno == ESPIPE &&
	    pread(fd, scratch, 10, 0) < 0 && errno == ESPIPE)
		ok("misuse_follow_espipe", NULL);
	else
		fail("misuse_follow_espipe", "lseek/pread on the stream: not ESPIPE (%s)",
		     ename(errno));
	if (read(fd, bad_ptr(), 10) < 0 && errno == EAGAIN)
		ok("misuse_follow_badbuf_empty", NULL);
	else
		fail("misuse_follow_badbuf_empty", "read into a bad buffer: %s",
		     ename(errno));

	/* a blocked reader is interrupted by a signal */
	{
		int f = open(path, O_RDONLY), e;
		struct timespec t0, t1;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;	/* no SA_RESTART */
		sigaction(SIGALRM, &sa, NULL);
		if (f >= 0) {
			/* drain it without blocking first */
			fcntl(f, F_SETFL, O_NONBLOCK);
			if (!drain(f, 0, &b))
				free(b.p);
			fcntl(f, F_SETFL, 0);
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		setitimer(ITIMER_REAL, &it, NULL);
		n = f < 0 ? -1 : read(f, scratch, 4096);
		e = errno;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (n < 0 && e == EINTR && alarmed &&
		    t1.tv_sec - t0.tv_sec < 10)
			ok("misuse_follow_read_eintr", NULL);
		else
			fail("misuse_follow_read_eintr", "blocked read: %zd (%s), alarmed %d",
			     n, ename(e), (int)alarmed);
		if (f >= 0)
			close(f);
	}

	/* events wake poll() */
	run_cmd(cmd);
	ret = poll(&p, 1, 20000);
	n = ret == 1 ? read(fd, scratch, BIG) : -1;
	if (ret == 1 && (p.revents & POLLIN) && n > 4 &&
	    (!strncmp(scratch, "seq=", 4) || !strncmp(scratch, "lost=", 5)) &&
	    scratch[n - 1] == '\n')
		ok("misuse_follow_pollin", "%zd bytes", n);
	else
		fail("misuse_follow_pollin", "poll %d revents 0x%x read %zd", ret,
		     p.revents, n);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Many opens                                                         */
/* ------------------------------------------------------------------ */

static const char *status_path = "/sys/kernel/debug/apicv_trace/status";

static long status_num(const char *key)
{
	struct buf b;
	char k[64], *p;
	long v = -1;

	if (slurp(status_path, &b))
		return -1;
	b.p = realloc(b.p, b.len + 1);
	b.p[b.len] = '\0';
	snprintf(k, sizeof(k), "%s=", key);
	for (p = b.p; (p = strstr(p, k)); p++) {
		if (p == b.p || p[-1] == ' ' || p[-1] == '\n') {
			v = strtol(p + strlen(k), NULL, 10);
			break;
		}
	}
	free(b.p);
	return v;
}

struct racer {
	char **files;
	int nfiles;
	long opens, bad;
	unsigned int seed;
};

static volatile int racing;

static void *racer(void *arg)
{
	struct racer *r = arg;
	char *buf = xmalloc(65536);

	while (racing) {
		const char *f = r->files[rand_r(&r->seed) % r->nfiles];
		int fd = open(f, O_RDONLY | O_NONBLOCK);

		if (fd < 0) {
			r->bad++;
			continue;
		}
		r->opens++;
		if (read(fd, buf, 1 + rand_r(&r->seed) % 65536) < 0 &&
		    errno != EAGAIN)
			r->bad++;
		close(fd);
	}
	free(buf);
	return NULL;
}

static int cmd_manyopen(int n, int nfiles, char **files)
{
	struct rlimit rl = { n * nfiles + 256, n * nfiles + 256 };
	struct racer rs[4];
	pthread_t th[4];
	long mem0, mem1, readers, total = 0, racers = 0, bad = 0;
	int *fds = xmalloc(sizeof(int) * n * nfiles);
	int i, j, opened = 0, follows = 0;
	char why[300] = "";

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit");
	mem0 = status_num("memory_bytes");
	for (j = 0; j < nfiles; j++) {
		struct buf ref = { NULL, 0 };
		bool fol = is_follow(files[j]);

		if (!fol && slurp(files[j], &ref))
			die("read");
		for (i = 0; i < n; i++) {
			int fd = open(files[j], O_RDONLY | O_NONBLOCK);

			fds[j * n + i] = fd;
			if (fd < 0) {
				if (!why[0])
					snprintf(why, sizeof(why), "%s: open %d: %s",
						 files[j], i, ename(errno));
				continue;
			}
			opened++;
			follows += fol;
		}
		/* each open reads its first page */
		for (i = 0; i < n && !fol; i++) {
			size_t want = ref.len < 4096 ? ref.len : 4096;
			ssize_t got;

			if (fds[j * n + i] < 0)
				continue;
			got = read(fds[j * n + i], scratch, 4096);
			if (got <= 0 || (size_t)got > want ||
			    memcmp(scratch, ref.p, got)) {
				if (!why[0])
					snprintf(why, sizeof(why),
						 "%s: open %d read %zd bytes, expected %zu",
						 files[j], i, got, want);
			}
		}
		free(ref.p);
	}
	readers = status_num("follow_readers");
	if (readers != follows && !why[0])
		snprintf(why, sizeof(why), "follow_readers=%ld with %d open",
			 readers, follows);
	for (i = 0; i < n * nfiles; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	readers = status_num("follow_readers");
	if (readers != 0 && !why[0])
		snprintf(why, sizeof(why), "follow_readers=%ld after closing",
			 readers);
	if (why[0])
		fail("misuse_many_opens", "%s", why);
	else
		ok("misuse_many_opens", "%d opens held at once (%d of follow)",
		   opened, follows);

	/* four threads open, read and close for half a second */
	racing = 1;
	for (i = 0; i < 4; i++) {
		rs[i] = (struct racer){ files, nfiles, 0, 0, 1234 + i };
		pthread_create(&th[i], NULL, racer, &rs[i]);
	}
	usleep(500000);
	racing = 0;
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		racers += rs[i].opens;
		bad += rs[i].bad;
	}
	total = opened + racers;
	mem1 = status_num("memory_bytes");
	readers = status_num("follow_readers");
	/* (memory_bytes counts VM rings, not snapshots: for the record) */
	if (bad || readers)
		fail("misuse_racing_opens", "%ld of %ld failed, follow_readers=%ld",
		     bad, racers, readers);
	else
		ok("misuse_racing_opens", "%ld opens by 4 threads; %ld in all; memory_bytes %ld -> %ld",
		   racers, total, mem0, mem1);
	free(fds);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Timing, a VM with a hostile name                                   */
/* ------------------------------------------------------------------ */

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int cmd_timeit(const char *hold, char **cmd)
{
	int fd = -1, status;
	long t0;
	pid_t pid;

	if (hold) {
		fd = open(hold, O_RDONLY);
		if (fd < 0)
			die("open held file");
	}
	t0 = now_ms();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		if (fd >= 0)
			close(fd);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	printf("elapsed_ms=%ld rc=%d\n", now_ms() - t0,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	if (fd >= 0) {
		ssize_t n;

		fcntl(fd, F_SETFL, O_NONBLOCK);
		n = read(fd, scratch, 200);
		if (n > 0) {
			scratch[n] = '\0';
			*strchrnul(scratch, '\n') = '\0';
			printf("held_first=%s\n", scratch);
		}
		close(fd);
	}
	return 0;
}

static int cmd_vm(const char *comm, int secs)
{
	struct kvm_pit_config pit = { .flags = 0 };
	struct kvm_reinject_control rc;
	char got[32] = "";
	int kvm, vm, vcpu, fd, i;
	ssize_t n;

	if (prctl(PR_SET_NAME, comm))
		die("prctl");
	fd = open("/proc/self/comm", O_RDONLY);
	if (fd >= 0) {
		n = read(fd, got, sizeof(got) - 1);
		got[n > 0 ? n - 1 : 0] = '\0';
		close(fd);
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) || ioctl(vm, KVM_CREATE_PIT2, &pit))
		die("irqchip/pit");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	printf("VM vm=%d-%d created comm_len=%zu\n", (int)getpid(), vm,
	       strlen(got));
	fflush(stdout);
	for (i = 0; i < secs * 10; i++) {
		memset(&rc, 0, sizeof(rc));
		rc.pit_reinject = i & 1;
		ioctl(vm, KVM_REINJECT_CONTROL, &rc);
		usleep(100000);
	}
	close(vcpu);
	close(vm);
	close(kvm);
	printf("VM vm=%d-%d closed\n", (int)getpid(), vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parameters                                                         */
/* ------------------------------------------------------------------ */

/* Decode a case's VALUE: "-" empty, {C*N}, \s \t \n. */
static char *decode(const char *v, size_t *len)
{
	size_t cap = strlen(v) + 1, o = 0;
	char *out;

	if (!strcmp(v, "-")) {
		*len = 0;
		return strdup("");
	}
	out = xmalloc(cap);
	while (*v) {
		char c;
		unsigned long k;
		char *end;

		if (v[0] == '{' && v[1] && v[2] == '*' &&
		    (k = strtoul(v + 3, &end, 10)) && *end == '}') {
			c = v[1];
			cap += k;
			out = realloc(out, cap);
			if (!out)
				die("realloc");
			memset(out + o, c, k);
			o += k;
			v = end + 1;
			continue;
		}
		if (v[0] == '\\' && v[1]) {
			c = v[1] == 's' ? ' ' : v[1] == 't' ? '\t' :
			    v[1] == 'n' ? '\n' : v[1];
			v += 2;
		} else {
			c = *v++;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	*len = o;
	return out;
}

struct pcase {
	char kind[8], param[32], label[32], value[64], expect[32];
};

static int read_cases(const char *path, struct pcase **out)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int n = 0, cap = 256;

	if (!f)
		die(path);
	*out = xmalloc(cap * sizeof(**out));
	while (fgets(line, sizeof(line), f)) {
		struct pcase c;

		memset(&c, 0, sizeof(c));

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%7s %31s %31s %63s %31s", c.kind, c.param,
			   c.label, c.value, c.expect) < 4)
			continue;
		if (n == cap) {
			cap *= 2;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				die("realloc");
		}
		(*out)[n++] = c;
	}
	fclose(f);
	return n;
}

/* ---- load time ---------------------------------------------------- */

static long init_module_f(int fd, const char *params)
{
	return syscall(SYS_finit_module, fd, params, 0);
}

static bool module_loaded(void)
{
	struct stat st;

	return !stat("/sys/module/apicv_trace", &st);
}

/* New kernel log lines since @kmsg was positioned at its end. */
static void kmsg_new(int kmsg, char *out, size_t len)
{
	char rec[8192];
	size_t o = 0;

	out[0] = '\0';
	for (;;) {
		ssize_t n = read(kmsg, rec, sizeof(rec) - 1);
		char *msg;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		*strchrnul(msg, '\n') = '\0';
		if (o + strlen(msg) + 2 < len) {
			o += snprintf(out + o, len - o, "%s\n", msg);
		} else if (o + 2 < len) {
			/* long lines: keep their start and end */
			size_t room = len - o - 2, m = strlen(msg);

			memcpy(out + o, msg, room / 2);
			memcpy(out + o + room / 2, msg + m - (room - room / 2),
			       room - room / 2);
			o += room;
			out[o++] = '\n';
			out[o] = '\0';
		}
	}
}

/*
 * A line of our own in the kernel log after each case: a message cut at
 * printk's record size lost its newline and stays open (for a possible
 * continuation) until the next one comes. A new open each time: the
 * rate limit of /dev/kmsg writes is per open file.
 */
static void kmsg_mark(const char *name)
{
	char line[200];
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	snprintf(line, sizeof(line), "filetest: %s done\n", name);
	write(fd, line, strlen(line));
	close(fd);
}

/* Does a line of @log say "apicv_trace" and name @param? */
static bool log_names(const char *log, const char *param)
{
	const char *l = log;

	while (*l) {
		const char *e = strchrnul(l, '\n');
		char line[9000];
		size_t n = e - l < (long)sizeof(line) - 1 ? (size_t)(e - l) :
			   sizeof(line) - 1;

		memcpy(line, l, n);
		line[n] = '\0';
		if (strncmp(line, "filetest: ", 10) &&
		    strstr(line, "apicv_trace") && strstr(line, param))
			return true;
		l = *e ? e + 1 : e;
	}
	return false;
}

static int cmd_loads(const char *cases, const char *ko)
{
	static char log[65536];
	struct pcase *c;
	int n = read_cases(cases, &c), i, fd, kmsg, tried = 0;
	long t0 = now_ms();

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(ko);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg < 0)
		die("/dev/kmsg");
	if (module_loaded()) {
		errno = EBUSY;
		die("apicv_trace is loaded already");
	}
	for (i = 0; i < n; i++) {
		char name[128], *val, *params, *shown;
		size_t len;
		long r;
		int e;

		if (strcmp(c[i].kind, "load"))
			continue;
		tried++;
		snprintf(name, sizeof(name), "misuse_load_%s_%s", c[i].param,
			 c[i].label);
		val = decode(c[i].value, &len);
		params = xmalloc(len + strlen(c[i].param) + 8);
		if (!strcmp(c[i].value, "!noeq"))
			sprintf(params, "%s", c[i].param);
		else if (strpbrk(val, " \t\n"))
			sprintf(params, "%s=\"%s\"", c[i].param, val);
		else
			sprintf(params, "%s=%s", c[i].param, val);
		lseek(kmsg, 0, SEEK_END);
		r = init_module_f(fd, params);
		e = errno;
		kmsg_mark(name);
		kmsg_new(kmsg, log, sizeof(log));
		shown = strndup(params, 60);
		if (!r) {
			fail(name, "insmod '%s%s' succeeded", shown,
			     strlen(params) > 60 ? "..." : "");
			syscall(SYS_delete_module, "apicv_trace", O_NONBLOCK);
		} else if (e != EINVAL) {
			fail(name, "insmod '%s': %s, not EINVAL", shown, ename(e));
		} else if (module_loaded()) {
			fail(name, "apicv_trace is loaded after a failed insmod");
		} else if (!log_names(log, c[i].param)) {
			char *p;

			for (p = log; *p; p++)
				if (*p == '\n')
					*p = '|';
			fail(name, "no kernel log line names %s: '%.300s'",
			     c[i].param, log);
		} else {
			char *p = strstr(log, c[i].param), *s = p;

			while (s > log && s[-1] != '\n')
				s--;
			*strchrnul(s, '\n') = '\0';
			ok(name, "EINVAL; log: %.160s", s);
		}
		free(shown);
		free(params);
		free(val);
	}
	printf("loads: %d bad values, %ld ms\n", tried, now_ms() - t0);
	close(kmsg);
	close(fd);
	return 0;
}

/* ---- runtime ----------------------------------------------------- */

/* Every parameter's value and the status file, as one string. */
static char *snapshot(const char *pdir, const char *status)
{
	DIR *d = opendir(pdir);
	struct dirent *de;
	struct buf all = { xmalloc(1), 0 }, b;
	char path[PATH_MAX];
	char *names[32];
	int n = 0, i;

	if (!d)
		die(pdir);
	while ((de = readdir(d)) && n < 32)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_line);
	for (i = 0; i <= n; i++) {
		if (i < n)
			snprintf(path, sizeof(path), "%s/%s", pdir, names[i]);
		if (slurp(i < n ? path : status, &b))
			die("read parameter");
		all.p = realloc(all.p, all.len + b.len + 80);
		all.len += sprintf(all.p + all.len, "%s: ",
				   i < n ? names[i] : "status");
		memcpy(all.p + all.len, b.p, b.len);
		all.len += b.len;
		free(b.p);
		if (i < n)
			free(names[i]);
	}
	all.p[all.len] = '\0';
	return all.p;
}

static int write_param(const char *path, const char *val, size_t len,
		       int *err)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	*err = 0;
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	n = write(fd, val, len);
	if (n < 0)
		*err = errno;
	close(fd);
	return n < 0 ? -1 : 0;
}

static void first_change(const char *a, const char *b, char *out, size_t len)
{
	size_t i = 0, s;

	while (a[i] && a[i] == b[i])
		i++;
	for (s = i; s > 0 && a[s - 1] != '\n'; s--)
		;
	snprintf(out, len, "'%.*s' -> '%.*s'", (int)strcspn(a + s, "\n"),
		 a + s, (int)strcspn(b + s, "\n"), b + s);
}

static int cmd_params(const char *cases, const char *pdir, const char *status)
{
	struct pcase *c;
	int n = read_cases(cases, &c), i, tried = 0;
	long t0 = now_ms();

	for (i = 0; i < n; i++) {
		char name[128], path[PATH_MAX], got[64], diff[300];
		char *val, *before, *after, *old = NULL;
		const char *k = c[i].kind;
		size_t len;
		int r, e, fd;
		ssize_t m;

		if (strcmp(k, "rt") && strcmp(k, "ro") && strcmp(k, "rtnop") &&
		    strcmp(k, "rtok") && strcmp(k, "lax"))
			continue;
		tried++;
		snprintf(name, sizeof(name), "misuse_%s_%s_%s", k, c[i].param,
			 c[i].label);
		snprintf(path, sizeof(path), "%s/%s", pdir, c[i].param);
		val = decode(c[i].value, &len);
		before = snapshot(pdir, status);
		fd = open(path, O_RDONLY);
		m = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);
		got[m > 0 ? m : 0] = '\0';
		if (fd >= 0)
			close(fd);
		old = strdup(got);
		r = write_param(path, val, len, &e);
		after = snapshot(pdir, status);
		fd = open(path, O_RDONLY);
		m = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);
		got[m > 0 ? m - (got[m - 1] == '\n') : 0] = '\0';
		if (fd >= 0)
			close(fd);
		first_change(before, after, diff, sizeof(diff));
		if (!strcmp(k, "rt")) {
			if (!r)
				fail(name, "accepted (now '%s')", got);
			else if (e != EINVAL && !(e == E2BIG && len > 4096))
				fail(name, "refused with %s, not EINVAL", ename(e));
			else if (strcmp(before, after))
				fail(name, "something changed: %s", diff);
			else
				ok(name, "%s, nothing changed", ename(e));
		} else if (!strcmp(k, "ro")) {
			if (!r || e != EACCES)
				fail(name, "write: %s, not EACCES", r ? ename(e) : "accepted");
			else if (strcmp(before, after))
				fail(name, "something changed: %s", diff);
			else
				ok(name, "EACCES, nothing changed");
		} else if (!strcmp(k, "rtnop")) {
			if (strcmp(before, after))
				fail(name, "something changed: %s", diff);
			else
				ok(name, "%s, nothing changed", r ? ename(e) : "0 bytes");
		} else if (!strcmp(k, "rtok")) {
			if (r)
				fail(name, "refused: %s", ename(e));
			else if (strcmp(got, c[i].expect))
				fail(name, "reads '%s', not '%s'", got, c[i].expect);
			else
				ok(name, "accepted, reads %s", got);
		} else {	/* lax */
			if (r && strcmp(before, after))
				fail(name, "refused (%s) but changed: %s", ename(e), diff);
			else if (r)
				ok(name, "refused (%s)", ename(e));
			else if (strcmp(got, c[i].expect))
				fail(name, "accepted, reads '%s', not '%s'", got,
				     c[i].expect);
			else
				ok(name, "accepted as %s (kernel's lenient parser)", got);
		}
		if (!r && strcmp(k, "ro")) {	/* put the old value back */
			int e2;

			write_param(path, old, strlen(old), &e2);
		}
		free(old);
		free(before);
		free(after);
		free(val);
	}
	printf("params: %d cases, %ld ms\n", tried, now_ms() - t0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Unprivileged, lockdown                                             */
/* ------------------------------------------------------------------ */

static int cmd_noaccess(int argc, char **argv)
{
	char why[400] = "";
	long tried = 0;
	struct stat st;
	int i, fd;

	if (!geteuid()) {
		fail("misuse_nobody_open", "running as root");
		return 0;
	}
	for (i = 0; i < argc; i++) {
		static const int modes[] = { O_RDONLY, O_RDONLY | O_NONBLOCK,
					     O_WRONLY, O_RDWR };
		size_t j;

		for (j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			tried++;
			fd = open(argv[i], modes[j]);
			if (fd >= 0) {
				close(fd);
				snprintf(why, sizeof(why), "%s: open(0x%x) succeeded",
					 argv[i], modes[j]);
			} else if (errno != EACCES && !why[0]) {
				snprintf(why, sizeof(why), "%s: open(0x%x): %s, not EACCES",
					 argv[i], modes[j], ename(errno));
			}
		}
		tried++;
		if (!stat(argv[i], &st) && !why[0])
			snprintf(why, sizeof(why), "%s: stat succeeded", argv[i]);
		tried++;
		if (opendir(argv[i]) && !why[0])
			snprintf(why, sizeof(why), "%s: opendir succeeded", argv[i]);
	}
	if (why[0])
		fail("misuse_nobody_open", "%s", why);
	else
		ok("misuse_nobody_open", "%ld attempts as uid %d, all EACCES", tried,
		   (int)geteuid());
	return 0;
}

static int cmd_noparams(const char *pdir)
{
	DIR *d = opendir(pdir);
	struct dirent *de;
	char why[400] = "", path[PATH_MAX], *before, *after;
	long tried = 0;
	int e, fd;

	if (!d)
		die(pdir);
	before = snapshot(pdir, "/dev/null");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pdir, de->d_name);
		tried++;
		if (!write_param(path, "16", 2, &e) ||
		    (e != EACCES && !why[0]))
			snprintf(why, sizeof(why), "%s: write: %s", path,
				 e ? ename(e) : "accepted");
		fd = open(path, O_RDWR);
		if (fd >= 0) {
			close(fd);
			snprintf(why, sizeof(why), "%s: O_RDWR open succeeded", path);
		}
	}
	closedir(d);
	after = snapshot(pdir, "/dev/null");
	if (strcmp(before, after) && !why[0])
		snprintf(why, sizeof(why), "a parameter changed");
	if (why[0])
		fail("misuse_nobody_params", "%s", why);
	else
		ok("misuse_nobody_params", "%ld parameters, all EACCES", tried);
	return 0;
}

static int cmd_chmod(int argc, char **argv)
{
	char why[400] = "";
	long tried = 0;
	struct stat st0, st1;
	int i;

	for (i = 0; i < argc; i++) {
		if (stat(argv[i], &st0)) {
			snprintf(why, sizeof(why), "%s: stat: %s", argv[i],
				 ename(errno));
			continue;
		}
		tried += 2;
		if (!chmod(argv[i], 0666) || (errno != EPERM && !why[0]))
			snprintf(why, sizeof(why), "%s: chmod 0666: %s", argv[i],
				 ename(errno));
		if (!chown(argv[i], 65534, 65534) ||
		    (errno != EPERM && !why[0]))
			snprintf(why, sizeof(why), "%s: chown: %s", argv[i],
				 ename(errno));
		if (!stat(argv[i], &st1) && (st1.st_mode != st0.st_mode ||
					     st1.st_uid != st0.st_uid)) {
			snprintf(why, sizeof(why), "%s: mode or owner changed",
				 argv[i]);
			chmod(argv[i], st0.st_mode & 07777);
			chown(argv[i], st0.st_uid, st0.st_gid);
		}
	}
	if (why[0])
		fail("misuse_lockdown_chmod", "%s", why);
	else
		ok("misuse_lockdown_chmod", "%ld attempts, all EPERM", tried);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of filetest.c\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 2)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	scratch = xmalloc(BIG + 1);
	if (!strcmp(argv[1], "reads"))
		ret = cmd_reads("misuse_reads", argc - 2, argv + 2);
	else if (!strcmp(argv[1], "reads-locked"))
		ret = cmd_reads("misuse_lockdown_reads", argc - 2, argv + 2);
	else if (!strcmp(argv[1], "writeopen"))
		ret = cmd_writeopen("misuse_wropen", argc - 2, argv + 2);
	else if (!strcmp(argv[1], "writeopen-locked"))
		ret = cmd_writeopen("misuse_lockdown_wropen", argc - 2, argv + 2);
	else if (!strcmp(argv[1], "follow") && argc >= 6 &&
		 !strcmp(argv[4], "--"))
		ret = cmd_follow(argv[2], argv[3], argv + 5);
	else if (!strcmp(argv[1], "manyopen") && argc >= 4)
		ret = cmd_manyopen(atoi(argv[2]), argc - 3, argv + 3);
	else if (!strcmp(argv[1], "timeit") && argc >= 4 &&
		 !strcmp(argv[2], "--hold") && argc >= 6 &&
		 !strcmp(argv[4], "--"))
		ret = cmd_timeit(argv[3], argv + 5);
	else if (!strcmp(argv[1], "timeit") && argc >= 4 &&
		 !strcmp(argv[2], "--"))
		ret = cmd_timeit(NULL, argv + 3);
	else if (!strcmp(argv[1], "vm") && argc == 4)
		ret = cmd_vm(argv[2], atoi(argv[3]));
	else if (!strcmp(argv[1], "loads") && argc == 4)
		ret = cmd_loads(argv[2], argv[3]);
	else if (!strcmp(argv[1], "params") && argc == 5)
		ret = cmd_params(argv[2], argv[3], argv[4]);
	else if (!strcmp(argv[1], "noaccess"))
		ret = cmd_noaccess(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "noparams") && argc == 3)
		ret = cmd_noparams(argv[2]);
	else if (!strcmp(argv[1], "chmod"))
		ret = cmd_chmod(argc - 2, argv + 2);
	else
		usage();
	printf("END\n");
	return ret ? ret : nfail ? 1 : 0;
}
