// SPDX-License-Identifier: GPL-2.0
/*
 * doctor.c - `apicv-trace doctor`: can AVIC (APICv on Intel) work on this
 * host, and does apicv_trace see every inhibit change? One line per check,
 * then a verdict line; the exit status is the first problem class found:
 * AVIC/APICv (CPU, kvm parameters), then the module (not loaded, Secure
 * Boot, lockdown), then coverage (hooks, reason names).
 *
 * Everything is read through c->sysfs and c->proc (and the module's files
 * through c->dir), so tests run it on fake trees. Only the module's files
 * need root (debugfs); what the rest says is still reported without it.
 */
#include "cmd.h"
#include "files.h"
#include "parse.h"
#include "util.h"
#include "views.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SECURE_BOOT_VAR \
	"firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0e8e5ff1e95"
#define MAX_CHECKS 32
#define MSG 512

enum level { LV_OK, LV_WARN, LV_FAIL };
/* problem classes, in the order they decide the exit status */
enum cls { CL_NONE, CL_AVIC, CL_MODULE, CL_COVERAGE };

struct check {
	const char *id;
	enum level level;
	enum cls cls;
	char msg[MSG];
	char fix[MSG];		/* "" when there is nothing to change */
};

struct doc {
	struct check ck[MAX_CHECKS];
	int n;
	int amd;		/* AMD or Hygon: AVIC; else APICv */
	int noperm;		/* the module's files need root */
};

static void add(struct doc *d, const char *id, enum level lv, enum cls cl,
		const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void add(struct doc *d, const char *id, enum level lv, enum cls cl,
		const char *fix, const char *fmt, ...)
{
	struct check *k;
	va_list ap;

	if (d->n >= MAX_CHECKS)
		return;
	k = &d->ck[d->n++];
	k->id = id;
	k->level = lv;
	k->cls = lv == LV_FAIL ? cl : CL_NONE;
	va_start(ap, fmt);
	vsnprintf(k->msg, sizeof(k->msg), fmt, ap);
	va_end(ap);
	snprintf(k->fix, sizeof(k->fix), "%s", fix ? fix : "");
}

/* A small sysfs file's first line, trimmed, into buf; 0, or -errno. */
static int read_line(const char *root, const char *rel, char *buf, size_t len)
{
	char path[1024];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		err = ferror(f) ? -EIO : 0;
		fclose(f);
		buf[0] = '\0';
		return err;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int exists(const char *root, const char *rel)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return !stat(path, &st);
}

/* a module parameter: 1 (Y, 1), 0 (N, 0), -1 (no such parameter) */
static int param(const struct ctx *c, const char *mod, const char *name,
		 char *raw, size_t len)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "module/%s/parameters/%s", mod, name);
	if (read_line(c->sysfs, rel, raw, len) || !raw[0]) {
		snprintf(raw, len, "-");
		return -1;
	}
	if (raw[0] == 'Y' || raw[0] == 'y' || (raw[0] >= '1' && raw[0] <= '9'))
		return 1;
	return 0;
}

/* a word in a space-separated flags list */
static int has_flag(const char *flags, const char *w)
{
	size_t l = strlen(w);
	const char *p = flags;

	while ((p = strstr(p, w))) {
		if ((p == flags || p[-1] == ' ' || p[-1] == '\t') &&
		    (p[l] == '\0' || p[l] == ' ' || p[l] == '\n'))
			return 1;
		p += l;
	}
	return 0;
}

/*
 * vendor_id, flags and "vmx flags" (Linux 5.8+, Intel) of the first
 * processor in cpuinfo; 0, or -errno
 */
static int cpuinfo(const char *proc, char *vendor, size_t vlen, char **flags,
		   char **vmx)
{
	char path[1024], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	vendor[0] = '\0';
	*flags = *vmx = NULL;
	snprintf(path, sizeof(path), "%s/cpuinfo", proc);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *colon = strchr(line, ':');
		size_t kl;

		if (!colon)
			continue;
		kl = (size_t)(colon - line);
		while (kl && (line[kl - 1] == ' ' || line[kl - 1] == '\t'))
			kl--;
		line[strcspn(line, "\n")] = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		if (kl == 9 && !strncmp(line, "processor", 9) && *flags)
			break;	/* the next processor's flags are the same */
		if (kl == 9 && !strncmp(line, "vendor_id", 9) && !vendor[0])
			snprintf(vendor, vlen, "%s", colon);
		else if (kl == 5 && !strncmp(line, "flags", 5) && !*flags)
			*flags = strdup(colon);
		else if (kl == 9 && !strncmp(line, "vmx flags", 9) && !*vmx)
			*vmx = strdup(colon);
	}
	free(line);
	fclose(f);
	return 0;
}

#define NESTED_FIX \
	"this host is a virtual machine: enable nested virtualization on the host under it " \
	"(kvm_amd nested=1 or kvm_intel nested=1 there, and -cpu host for this VM)"

static void check_cpu(const struct ctx *c, struct doc *d, int *cpu_avic,
		      int *x2avic)
{
	const char *proc = c->proc ? c->proc : "/proc";
	char vendor[64], *flags, *vmx;
	int guest, r = cpuinfo(proc, vendor, sizeof(vendor), &flags, &vmx);

	*cpu_avic = *x2avic = -1;
	if (r || !flags) {
		/* no cpuinfo: take the vendor from the loaded kvm module */
		d->amd = exists(c->sysfs, "module/kvm_amd");
		add(d, "cpu", LV_WARN, CL_NONE, NULL,
		    "CPU: cannot read the flags of %s/cpuinfo%s%s: CPU flags not checked",
		    proc, r ? ": " : "", r ? strerror(-r) : "");
		free(flags);
		free(vmx);
		return;
	}
	d->amd = !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
	/* a guest itself: its firmware setup is not where virtualization is */
	guest = has_flag(flags, "hypervisor");
	if (d->amd) {
		if (!has_flag(flags, "svm"))
			add(d, "cpu", LV_FAIL, CL_AVIC, guest ? NESTED_FIX :
			    "enable SVM (AMD-V, \"SVM Mode\") in the firmware setup",
			    "CPU: %s without the svm flag: no hardware virtualization", vendor);
		else
			add(d, "cpu", LV_OK, CL_NONE, NULL, "CPU: %s with svm", vendor);
		*cpu_avic = has_flag(flags, "avic");
		*x2avic = has_flag(flags, "x2avic");
	} else if (!strcmp(vendor, "GenuineIntel")) {
		if (!has_flag(flags, "vmx"))
			add(d, "cpu", LV_FAIL, CL_AVIC, guest ? NESTED_FIX :
			    "enable VT-x (\"Intel Virtualization Technology\") in the firmware setup",
			    "CPU: %s without the vmx flag: no hardware virtualization", vendor);
		else
			add(d, "cpu", LV_OK, CL_NONE, NULL,
			    "CPU: %s with vmx (APICv is not a /proc/cpuinfo flag: kvm_intel's enable_apicv says whether KVM uses it)",
			    vendor);
		/* kvm_intel uses APICv only with all three of these */
		if (vmx && has_flag(flags, "vmx") &&
		    !(has_flag(vmx, "vapic_reg") && has_flag(vmx, "vid") &&
		      has_flag(vmx, "posted_intr")))
			add(d, "cpu_apicv", LV_FAIL, CL_AVIC,
			    "none on this CPU (or the hypervisor under this host does not pass them through)",
			    "CPU: \"vmx flags\" lacks one of vapic_reg, vid, posted_intr: no APICv");
		else if (vmx && has_flag(flags, "vmx"))
			add(d, "cpu_apicv", LV_OK, CL_NONE, NULL,
			    "CPU: vmx flags vapic_reg, vid and posted_intr present (what APICv needs)");
	} else {
		add(d, "cpu", LV_FAIL, CL_AVIC, NULL,
		    "CPU: vendor \"%s\" has neither AMD's AVIC nor Intel's APICv",
		    vendor[0] ? vendor : "?");
	}
	free(flags);
	free(vmx);
}

static void check_amd(const struct ctx *c, struct doc *d, int cpu_avic,
		      int x2avic)
{
	char avic_s[32], force_s[32], ipiv_s[32], npt_s[32];
	int avic, force, ipiv, npt;

	if (!exists(c->sysfs, "module/kvm_amd")) {
		add(d, "kvm", LV_FAIL, CL_AVIC,
		    "modprobe kvm_amd (if it fails: is SVM enabled in the firmware setup? see dmesg)",
		    "kvm_amd is not loaded: its avic parameter cannot be checked");
		return;
	}
	avic = param(c, "kvm_amd", "avic", avic_s, sizeof(avic_s));
	force = param(c, "kvm_amd", "force_avic", force_s, sizeof(force_s));
	ipiv = param(c, "kvm_amd", "enable_ipiv", ipiv_s, sizeof(ipiv_s));
	npt = param(c, "kvm_amd", "npt", npt_s, sizeof(npt_s));

	if (cpu_avic == 0 && force == 1)
		add(d, "cpu_avic", LV_WARN, CL_NONE,
		    "none needed; without force_avic=1 kvm_amd would keep AVIC off",
		    "CPU: no avic flag, but kvm_amd force_avic=%s makes KVM enable AVIC anyway (unsupported by AMD on this CPU: errata may apply)",
		    force_s);
	else if (cpu_avic == 0)
		add(d, "cpu_avic", LV_FAIL, CL_AVIC,
		    "none on this CPU (a CPU whose AVIC is hidden can be forced with \"options kvm_amd avic=1 force_avic=1\", unsupported); nested guests get no AVIC",
		    "CPU: no avic flag: this CPU (or the hypervisor under this host) does not offer AVIC");
	else if (cpu_avic == 1)
		add(d, "cpu_avic", LV_OK, CL_NONE, NULL, "CPU: avic flag present");
	if (x2avic == 1)
		add(d, "x2avic", LV_OK, CL_NONE, NULL,
		    "CPU: x2avic flag present (guests in x2APIC mode keep AVIC)");
	else if (x2avic == 0 && cpu_avic != 0)
		add(d, "x2avic", LV_WARN, CL_NONE,
		    "for such a guest, hide x2APIC from it (QEMU: -cpu ...,-x2apic), or use a Zen 4 or newer host",
		    "CPU: no x2avic flag: a guest that switches its APIC to x2APIC mode runs with AVIC inhibited");

	if (avic == 1)
		add(d, "kvm_amd", LV_OK, CL_NONE, NULL,
		    "kvm_amd: avic=%s force_avic=%s enable_ipiv=%s", avic_s, force_s, ipiv_s);
	else if (avic == 0)
		add(d, "kvm_amd", LV_FAIL, CL_AVIC,
		    "add \"options kvm_amd avic=1\" to /etc/modprobe.d/kvm.conf and reload kvm_amd (stop the VMs, modprobe -r kvm_amd, modprobe kvm_amd)",
		    "kvm_amd avic=%s", avic_s);
	else
		add(d, "kvm_amd", LV_FAIL, CL_AVIC,
		    "update the kernel: AVIC in kvm_amd needs Linux 4.7 or later",
		    "kvm_amd has no avic parameter (%s/module/kvm_amd/parameters/avic)",
		    c->sysfs);
	if (npt == 0)
		add(d, "kvm_amd_npt", LV_FAIL, CL_AVIC,
		    "remove npt=0 from the kvm_amd options (/etc/modprobe.d) and reload kvm_amd",
		    "kvm_amd npt=%s: AVIC needs nested paging", npt_s);
	if (avic == 1 && ipiv == 0)
		add(d, "enable_ipiv", LV_WARN, CL_NONE,
		    "remove enable_ipiv=0 from the kvm_amd options, reload kvm_amd",
		    "kvm_amd enable_ipiv=%s: IPIs between vCPUs exit to KVM instead of going straight to a running vCPU",
		    ipiv_s);
}

static void check_intel(const struct ctx *c, struct doc *d)
{
	char apicv_s[32], ipiv_s[32];
	int apicv, ipiv;

	if (!exists(c->sysfs, "module/kvm_intel")) {
		add(d, "kvm", LV_FAIL, CL_AVIC,
		    "modprobe kvm_intel (if it fails: is VT-x enabled in the firmware setup? see dmesg)",
		    "kvm_intel is not loaded: its enable_apicv parameter cannot be checked");
		return;
	}
	apicv = param(c, "kvm_intel", "enable_apicv", apicv_s, sizeof(apicv_s));
	ipiv = param(c, "kvm_intel", "enable_ipiv", ipiv_s, sizeof(ipiv_s));
	if (apicv == 1)
		add(d, "kvm_intel", LV_OK, CL_NONE, NULL,
		    "kvm_intel: enable_apicv=%s enable_ipiv=%s", apicv_s, ipiv_s);
	else if (apicv == 0)
		/* kvm_intel also sets it N itself when the CPU lacks APICv */
		add(d, "kvm_intel", LV_FAIL, CL_AVIC,
		    "add \"options kvm_intel enable_apicv=1\" to /etc/modprobe.d/kvm.conf and reload kvm_intel; if it stays N, this CPU has no APICv",
		    "kvm_intel enable_apicv=%s", apicv_s);
	else
		add(d, "kvm_intel", LV_FAIL, CL_AVIC,
		    "update the kernel: kvm_intel's enable_apicv appeared in Linux 3.9",
		    "kvm_intel has no enable_apicv parameter");
	if (apicv == 1 && ipiv == 0)
		add(d, "enable_ipiv", LV_WARN, CL_NONE,
		    "remove enable_ipiv=0 from the kvm_intel options, reload kvm_intel",
		    "kvm_intel enable_ipiv=%s: IPIs between vCPUs exit to KVM", ipiv_s);
}

enum sb { SB_UNKNOWN, SB_OFF, SB_ON, SB_NOEFI };

static enum sb secure_boot(const struct ctx *c)
{
	unsigned char b[5];
	char path[1024];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/" SECURE_BOOT_VAR, c->sysfs);
	f = fopen(path, "re");
	if (!f)
		return exists(c->sysfs, "firmware/efi") ? SB_UNKNOWN : SB_NOEFI;
	/* efivarfs: 4 bytes of attributes, then the variable (1 byte) */
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	if (n < 5)
		return SB_UNKNOWN;
	return b[4] == 1 ? SB_ON : SB_OFF;
}

static const char *const sb_word[] = {
	[SB_UNKNOWN] = "Secure Boot state unknown",
	[SB_OFF] = "Secure Boot off",
	[SB_ON] = "Secure Boot on",
	[SB_NOEFI] = "not booted with EFI: no Secure Boot",
};

#define MOK_FIX \
	"enrol DKMS's signing key: mokutil --import /var/lib/dkms/mok.pub " \
	"(Ubuntu with dkms before 3: /var/lib/shim-signed/mok/MOK.der), reboot, " \
	"choose \"Enroll MOK\" in MokManager and give the password, then modprobe apicv_trace"

/* 1 if the module is there to ask (loaded, or a --dir copy) */
static int check_module(const struct ctx *c, struct doc *d)
{
	enum sb sb = secure_boot(c);
	char taint[64];

	if (!c->live) {
		add(d, "module", LV_OK, CL_NONE, NULL,
		    "apicv_trace: reading a copy of its files in %s (%s here)",
		    c->dir, sb_word[sb]);
		return 1;
	}
	if (!exists(c->sysfs, "module/apicv_trace")) {
		if (sb == SB_ON)
			add(d, "module", LV_FAIL, CL_MODULE, MOK_FIX,
			    "apicv_trace is not loaded, and Secure Boot is on: DKMS's signing key is likely not enrolled (modprobe says \"Key was rejected by service\")");
		else
			add(d, "module", LV_FAIL, CL_MODULE,
			    "modprobe apicv_trace (install it first with 'make install' in the apicv-trace sources: DKMS builds it for the running kernel)",
			    "apicv_trace is not loaded (%s)", sb_word[sb]);
		return 0;
	}
	if (read_line(c->sysfs, "module/apicv_trace/taint", taint, sizeof(taint)))
		add(d, "module", LV_OK, CL_NONE, NULL,
		    "apicv_trace: loaded (signature not known: no taint file; %s)",
		    sb_word[sb]);
	else if (strchr(taint, 'E') && sb == SB_ON)
		add(d, "module", LV_WARN, CL_NONE, MOK_FIX,
		    "apicv_trace: loaded unsigned (taint %s) although Secure Boot is on: signature enforcement is off on this kernel",
		    taint);
	else if (strchr(taint, 'E'))
		add(d, "module", LV_OK, CL_NONE, NULL, "apicv_trace: loaded, unsigned (%s)",
		    sb == SB_NOEFI ? "no Secure Boot: not EFI" :
		    sb == SB_OFF ? "Secure Boot off" : "Secure Boot state unknown");
	else
		add(d, "module", LV_OK, CL_NONE, NULL,
		    "apicv_trace: loaded, signed with a key the kernel trusts (%s)",
		    sb_word[sb]);
	return 1;
}

/* the bracketed mode of securityfs's lockdown file, else status's */
static void check_lockdown(const struct ctx *c, struct doc *d, const char *st_mode)
{
	char line[128], mode[32] = "";
	const char *o, *e;

	if (!read_line(c->sysfs, "kernel/security/lockdown", line, sizeof(line)) &&
	    (o = strchr(line, '[')) && (e = strchr(o, ']')) &&
	    (size_t)(e - o) < sizeof(mode))
		snprintf(mode, sizeof(mode), "%.*s", (int)(e - o - 1), o + 1);
	else if (st_mode)
		snprintf(mode, sizeof(mode), "%s", st_mode);
	if (!mode[0])
		add(d, "lockdown", LV_OK, CL_NONE, NULL,
		    "kernel lockdown: not known (no %s/kernel/security/lockdown: none, most likely)",
		    c->sysfs);
	else if (!strcmp(mode, "confidentiality"))
		add(d, "lockdown", LV_FAIL, CL_MODULE,
		    "boot with lockdown=integrity (kernel command line) instead of confidentiality",
		    "kernel lockdown=confidentiality forbids kprobes: apicv_trace cannot hook kvm");
	else if (!strcmp(mode, "integrity"))
		add(d, "lockdown", LV_OK, CL_NONE, NULL,
		    "kernel lockdown: integrity (only signed modules load; apicv_trace's read-only files work)");
	else
		add(d, "lockdown", LV_OK, CL_NONE, NULL, "kernel lockdown: %s", mode);
}

/* first value of @key in any line of status but hook= lines */
static const char *st_str(const struct file *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct rec *r = &f->recs[i];

		if (strcmp(rec_kind(r), "hook") && rec_has(r, key))
			return rec_str(r, key);
	}
	return NULL;
}

static void check_hooks(const struct ctx *c, struct doc *d, const struct file *st)
{
	const char *cov = st_str(st, "coverage"), *kvm = st_str(st, "kvm");
	const char *absent = st_str(st, "absent"), *failed = st_str(st, "failed");
	const char *mp;
	char missed[256] = "";
	uint64_t total = 0;
	size_t i;

	if (kvm && !strcmp(kvm, "waiting"))
		add(d, "hooks", LV_WARN, CL_NONE,
		    d->amd ? "modprobe kvm_amd" : "modprobe kvm_intel",
		    "hooks: kvm=waiting: kvm is not loaded, the hooks arm when it is");
	else if (cov && !strcmp(cov, "full"))
		add(d, "hooks", LV_OK, CL_NONE, NULL,
		    "hooks: coverage=full, kvm=%s (every hook this kernel has is armed)",
		    kvm ? kvm : "?");
	else if (cov && !strcmp(cov, "partial")) {
		char fix[MSG];

		snprintf(fix, sizeof(fix),
			 "see the hook= lines of %s/status and dmesg | grep apicv_trace; a kernel newer than the module needs a newer apicv_trace",
			 c->dir);
		add(d, "hooks", LV_FAIL, CL_COVERAGE, fix,
		    "hooks: coverage=partial absent=%s failed=%s: what those hooks see is not traced%s",
		    absent ? absent : "-", failed ? failed : "-",
		    (absent && strstr(absent, "setter")) || (failed && strstr(failed, "setter")) ?
		    " (setter: no inhibit change at all; VMs show apicv=unknown)" : "");
	} else if (cov && !strcmp(cov, "lockdown"))
		add(d, "hooks", LV_FAIL, CL_MODULE,
		    "boot with lockdown=integrity (kernel command line) instead of confidentiality",
		    "hooks: coverage=lockdown: kernel lockdown forbids the kprobes, nothing is traced");
	else
		add(d, "hooks", LV_WARN, CL_NONE, NULL,
		    "hooks: coverage=%s: not a state this command knows", cov ? cov : "(missing)");

	for (i = 0; i < st->n; i++) {
		const struct rec *r = &st->recs[i];
		uint64_t m;
		size_t l = strlen(missed);

		if (strcmp(rec_kind(r), "hook") || !rec_u64(r, "nmissed", &m) || !m)
			continue;
		total += m;
		snprintf(missed + l, sizeof(missed) - l, "%s%s=%llu", l ? "," : "",
			 rec_str(r, "hook") ? rec_str(r, "hook") : "?",
			 (unsigned long long)m);
	}
	if (total)
		add(d, "nmissed", LV_WARN, CL_NONE, NULL,
		    "hooks: %llu calls missed by the probes (%s): those changes are not in the records",
		    (unsigned long long)total, missed);
	/* entry mode: a result foreseen wrongly was corrected, but is a bug */
	mp = st_str(st, "mispredicted");
	if (mp && strcmp(mp, "0"))
		add(d, "mispredicted", LV_WARN, CL_NONE,
		    "report it with apicv-trace save; load with setter_exit=Y meanwhile",
		    "hooks: setter=entry found %s results wrong (corrected as missed=yes): this kernel's KVM does not do what entry mode expects",
		    mp);
}

static void check_names(const struct ctx *c, struct doc *d, const struct file *st)
{
	const char *from = st_str(st, "reasons_from"), *kn = st_str(st, "kernel_names");
	char *text, bits[128] = "";
	struct file rf;
	size_t len, i, nunk = 0;

	if (from && !strncmp(from, "none", 4))
		add(d, "names", LV_FAIL, CL_COVERAGE,
		    "apicv-trace names --apply (takes KVM's names from BTF or its tracepoint)",
		    "reason names: reasons_from=\"%s\": the reasons show as unknown", from);
	else if (kn && !strcmp(kn, "differ"))
		add(d, "names", LV_WARN, CL_NONE, NULL,
		    "reason names: %s; kvm's tracepoint names differ from it, kvm's are used",
		    from ? from : "?");
	else
		add(d, "names", LV_OK, CL_NONE, NULL, "reason names: %s (kernel_names=%s)",
		    from ? from : "?", kn ? kn : "?");

	if (read_rel(c, "reasons", &text, &len, 1))
		return;
	if (!file_parse(&rf, text, len)) {
		for (i = 0; i < rf.n; i++) {
			const struct rec *r = &rf.recs[i];
			size_t l = strlen(bits);

			if (strcmp(rec_kind(r), "bit") || !rec_is(r, "reason", "unknown"))
				continue;
			nunk++;
			snprintf(bits + l, sizeof(bits) - l, "%s%s", l ? "," : "",
				 rec_str(r, "bit") ? rec_str(r, "bit") : "?");
		}
		file_free(&rf);
	}
	free(text);
	if (nunk)
		add(d, "reasons", LV_FAIL, CL_COVERAGE,
		    "apicv-trace names --apply (takes KVM's names from BTF or its tracepoint)",
		    "reasons: %s %s no name (printed as reason=unknown)",
		    nunk > 1 ? "bits" : "bit", bits);
}

static void check_status(const struct ctx *c, struct doc *d, int asked)
{
	char *text = NULL;
	struct file st;
	const char *ad, *mode = NULL;
	size_t len;
	int rc = asked ? read_rel(c, "status", &text, &len, 1) : EX_ERROR;

	if (asked && rc == EX_NOPERM) {
		d->noperm = 1;
		add(d, "status", LV_WARN, CL_NONE,
		    "run as root (e.g. sudo apicv-trace doctor)",
		    "apicv_trace's files need root (debugfs): hooks, reason names and adopted VMs not checked");
	} else if (asked && rc) {
		char msg[MSG];

		if (c->live)
			snprintf(msg, sizeof(msg),
				 "is debugfs mounted? mount -t debugfs none /sys/kernel/debug");
		else
			snprintf(msg, sizeof(msg),
				 "--dir must name a copy of /sys/kernel/debug/apicv_trace");
		add(d, "status", LV_FAIL, CL_MODULE, msg, "cannot read %s/status", c->dir);
	}
	if (!asked || rc || file_parse(&st, text, len)) {
		free(text);
		check_lockdown(c, d, NULL);
		return;
	}
	free(text);
	mode = st_str(&st, "lockdown");
	check_lockdown(c, d, mode);
	check_hooks(c, d, &st);
	check_names(c, d, &st);
	ad = st_str(&st, "vms_adopted");
	if (ad)
		add(d, "adopted", LV_OK, CL_NONE, NULL,
		    "VMs adopted at load: %s (running when kvm was hooked: what happened to them before is not known)",
		    ad);
	else
		add(d, "adopted", LV_WARN, CL_NONE,
		    "install the module of this command's version (make install in its sources)",
		    "VMs adopted at load: unknown (module too old)");
	file_free(&st);
}

static const char *const level_tag[] = { "[ OK ]", "[WARN]", "[FAIL]" };
static const char *const level_word[] = { "ok", "warn", "fail" };
static const char *const cls_word[] = { NULL, "avic", "module", "coverage" };

int view_doctor(const struct ctx *c)
{
	struct doc *d = calloc(1, sizeof(*d));
	const struct check *first = NULL;
	int cpu_avic, x2avic, loaded, ex = EX_OK, i;
	enum cls want;
	char verdict[2 * MSG + 128];
	const char *word;

	if (!d) {
		errmsg("out of memory");
		return EX_ERROR;
	}
	check_cpu(c, d, &cpu_avic, &x2avic);
	if (d->amd)
		check_amd(c, d, cpu_avic, x2avic);
	else
		check_intel(c, d);
	loaded = check_module(c, d);
	check_status(c, d, loaded);
	word = d->amd ? "AVIC" : "APICv";

	/* the first FAIL of the first class, in class order */
	for (want = CL_AVIC; want <= CL_COVERAGE && !first; want++) {
		if (want == CL_COVERAGE && d->noperm)
			break;
		for (i = 0; i < d->n && !first; i++)
			if (d->ck[i].cls == want)
				first = &d->ck[i];
	}
	if (first) {
		static const int ex_of[] = { EX_OK, EX_DOC_AVIC, EX_DOC_MODULE,
					     EX_DOC_COVERAGE };

		ex = ex_of[first->cls];
		snprintf(verdict, sizeof(verdict), "doctor: %s%s%s%s%s",
			 first->cls == CL_AVIC ? word : "",
			 first->cls == CL_AVIC ? " is off: " :
			 first->cls == CL_MODULE ? "the tracer is not working: " :
			 "the tracer misses inhibits: ",
			 first->msg, first->fix[0] ? "; fix: " : "", first->fix);
	} else if (d->noperm) {
		/* coverage cannot be judged: the permission error's own code */
		ex = EX_NOPERM;
		snprintf(verdict, sizeof(verdict),
			 "doctor: %s can work; whether every inhibit is traced needs root (run as root)",
			 word);
	} else {
		snprintf(verdict, sizeof(verdict),
			 "doctor: %s can work and every inhibit is traced", word);
	}

	if (c->json) {
		printf("{\"schema_version\":%d,\"kind\":\"doctor\",\"checks\":[",
		       JSON_SCHEMA_VERSION);
		for (i = 0; i < d->n; i++) {
			const struct check *k = &d->ck[i];

			printf("%s{\"check\":", i ? "," : "");
			json_str(stdout, k->id);
			printf(",\"status\":\"%s\",\"class\":", level_word[k->level]);
			json_str(stdout, cls_word[k->cls]);
			fputs(",\"message\":", stdout);
			json_str(stdout, k->msg);
			fputs(",\"fix\":", stdout);
			json_str(stdout, k->fix[0] ? k->fix : NULL);
			putchar('}');
		}
		fputs("],\"verdict\":", stdout);
		json_str(stdout, verdict + strlen("doctor: "));
		printf(",\"exit\":%d}\n", ex);
	} else {
		for (i = 0; i < d->n; i++) {
			printf("%s %s\n", level_tag[d->ck[i].level], d->ck[i].msg);
			if (d->ck[i].fix[0] && d->ck[i].level != LV_OK)
				printf("       fix: %s\n", d->ck[i].fix);
		}
		printf("%s\n", verdict);
	}
	free(d);
	return ex;
}
