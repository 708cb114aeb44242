/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmname.h - the name a VMM gave its VM, from the VMM's command line.
 *
 * QEMU (and libvirt, which runs QEMU with "-name guest=NAME,...") takes
 * "-name [guest=]NAME[,process=P][,debug-threads=on|off]"; "--name" is
 * the same option. Options are comma-separated, a comma inside a value is
 * written ",,", the first option names the guest unless a '=' comes
 * before its first comma, and repeated -name options merge, a later
 * guest overriding an earlier one, as in QEMU. kvm_stat -g finds guests
 * by the same option.
 *
 * Plain C: the module's worker (worker.c) runs it on the command line it
 * read in process context; tests/compat/vmname_test.c runs it on the
 * command lines of QEMU and libvirt. Nothing is read outside the @len
 * bytes given, terminated or not.
 */
#ifndef APICV_TRACE_VMNAME_H
#define APICV_TRACE_VMNAME_H

/*
 * One -name value, @p to @end (no NUL inside): whether it gives a guest
 * name, and that name into @out (@outlen bytes, cut to fit and
 * NUL-terminated; none written when @outlen is 0).
 */
static inline bool at_vmname_value(const char *p, const char *end, char *out,
				   size_t outlen)
{
	bool first = true, found = false;

	while (p < end) {
		const char *k = p, *v = NULL;
		size_t o = 0, n = 0;

		/* the key: up to the first '=' or ',' */
		while (k < end && *k != '=' && *k != ',')
			k++;
		if (k < end && *k == '=') {
			if (k - p == 5 && !memcmp(p, "guest", 5))
				v = k + 1;
			p = k + 1;
		} else if (first) {
			v = p;		/* the implied key: guest */
		}
		/* the value, ",," a comma, up to a single ',' */
		while (p < end) {
			if (*p == ',') {
				if (p + 1 < end && p[1] == ',')
					p++;
				else
					break;
			}
			if (v && o + 1 < outlen)
				out[o++] = *p;
			n += v != NULL;
			p++;
		}
		if (v) {
			if (outlen)
				out[o] = '\0';
			found = n > 0;
		}
		first = false;
		p++;		/* past the ',' */
	}
	return found;
}

/*
 * The VM name in @argv (@len bytes: the arguments, each ended by a NUL,
 * as /proc/<pid>/cmdline has them) into @out (@outlen bytes, cut to fit,
 * NUL-terminated); false (and @out empty) when there is none.
 */
static inline bool at_vmname_parse(const char *argv, size_t len, char *out,
				   size_t outlen)
{
	const char *arg = argv, *end = argv + len, *val = NULL, *vend = NULL;
	bool name_next = false;

	if (!outlen)
		return false;
	out[0] = '\0';
	while (arg < end) {
		size_t alen = strnlen(arg, (size_t)(end - arg));

		if (name_next) {
			/* the last value that names the guest wins */
			if (at_vmname_value(arg, arg + alen, NULL, 0)) {
				val = arg;
				vend = arg + alen;
			}
			name_next = false;
		} else if (arg + alen < end &&	/* a whole argument */
			   ((alen == 5 && !memcmp(arg, "-name", 5)) ||
			    (alen == 6 && !memcmp(arg, "--name", 6)))) {
			name_next = true;
		}
		arg += alen + 1;
	}
	return val && at_vmname_value(val, vend, out, outlen) && out[0];
}

#endif /* APICV_TRACE_VMNAME_H */
