/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmname.h - the name a VMM gave its VM, from the VMM's command line.
 *
 * QEMU (and libvirt, which runs QEMU with "-name guest=NAME,...") takes
 * "-name [guest=]NAME[,process=P][,debug-threads=on|off]"; "--name" is
 * the same option. Options are comma-separated, a comma inside a value is
 * written ",,", and a later -name overrides an earlier one, as in QEMU.
 * kvm_stat -g finds guests by the same option.
 *
 * Plain C: the module's worker (worker.c) runs it on the command line it
 * read in process context; tests/compat/vmname_test.c runs it on the
 * command lines of QEMU and libvirt.
 */
#ifndef APICV_TRACE_VMNAME_H
#define APICV_TRACE_VMNAME_H

/*
 * The VM name in @argv (@len bytes: the arguments, each ended by a NUL,
 * as /proc/<pid>/cmdline has them) into @out (@outlen bytes, cut to fit,
 * NUL-terminated); false (and @out empty) when there is none.
 */
static inline bool at_vmname_parse(const char *argv, size_t len, char *out,
				   size_t outlen)
{
	const char *arg = argv, *end = argv + len, *val = NULL;
	size_t alen;

	if (!outlen)
		return false;
	out[0] = '\0';
	/* the value after the last -name or --name */
	while (arg < end) {
		alen = strnlen(arg, (size_t)(end - arg));
		if (arg + alen + 1 < end &&
		    (!strcmp(arg, "-name") || !strcmp(arg, "--name")))
			val = arg + alen + 1;
		arg += alen + 1;
	}
	if (!val)
		return false;
	/* options: [guest=]NAME first, or guest=NAME anywhere */
	{
		const char *p = val, *vend = val + strnlen(val, (size_t)(end - val));
		bool first = true, found = false;

		while (p < vend) {
			const char *q = p, *name = NULL;
			size_t o = 0;

			if (!strncmp(p, "guest=", 6))
				name = p + 6;
			else if (first)
				name = p;	/* no '=' before the first comma */
			for (q = p; q < vend; q++) {
				if (*q == ',' && q + 1 < vend && q[1] == ',') {
					q++;	/* ",," is a comma */
					continue;
				}
				if (*q == ',')
					break;
				if (first && !found && name == p && *q == '=')
					name = NULL;	/* process=, debug-threads= */
			}
			if (name) {
				const char *s;

				for (s = name; s < q && o + 1 < outlen; s++) {
					out[o++] = *s;
					if (*s == ',')
						s++;	/* the second of ",," */
				}
				out[o] = '\0';
				found = o > 0;
			}
			first = false;
			p = q + 1;
		}
		return found;
	}
}

#endif /* APICV_TRACE_VMNAME_H */
