#!/usr/bin/env bash
# Usage: scripts/buildroot.sh LINE [--rebuild]         ensure LINE's build root, print its path
#        scripts/buildroot.sh LINE --dkms-build SRCDIR  dkms add + build -k KVER in the root,
#                                                       print the built .ko (host path)
#        scripts/buildroot.sh LINE --w1 SRCDIR          make -C module W=1 C=1 (sparse) in
#                                                       the root, print the diagnostics;
#                                                       then no circle of calls between
#                                                       module/'s objects
#        scripts/buildroot.sh LINE --dkms-refuses SRCDIR  dkms build must refuse (exit 77)
#                                                       KVER's config minus each of
#                                                       BUILD_EXCLUSIVE_CONFIG's options
#
# The module built the way an admin builds it: DKMS inside a debootstrap
# (minbase) of the kernel's own Debian release, with that release's compiler
# and the line's linux-headers-KVER (KVER from fetch-kernel.sh), plus the
# release's sparse for the W=1 C=1 build.  One root per release, named after
# the first suite of the line in kernels.conf (bullseye, bookworm, trixie,
# sid, trixie-backports), cached in $APICV_CACHE/roots/NAME; a release's
# build-only lines (other flavours and kernels: 6.1-rt, 6.1-cloud,
# 6.12-deb12) share its root: the headers of every fetched line of the
# root stay installed (linux-headers-KVER-rt-amd64 pulls in its
# linux-headers-...-common-rt, or -common on 7.x), and a new KVER replaces
# only headers no line of the root uses any more.  Marker
# NAME/.apicv/complete (a root without it is half-built and is rebuilt),
# logs in $APICV_CACHE/logs/buildroot-NAME-*.log.
# The compiler is the one the kernel config names (CONFIG_CC_VERSION_TEXT;
# a buildonly line's config is its headers' .config).
# Fast when the root has the packages; a new KVER replaces the old headers.
# The host's /etc/apt is never touched (debootstrap: host apt-get if missing).
#
# Exit: 0 ok; 1 root, headers, toolchain or dkms broken (or, --dkms-refuses,
#       a kernel was not refused); 2 usage;
#       3 the module source does not compile (the toolchain self-test passed);
#       4 (--w1 only) it compiles, with warnings (compiler or sparse);
#       5 (--dkms-refuses only) this release's dkms has no BUILD_EXCLUSIVE_CONFIG;
#       6 (--w1 only) the files of module/ call each other in a circle
#         (scripts/call-graph.py on the objects);
#       7 (--w1 only, a CONFIG_PREEMPT_RT kernel) a module object (.o or the
#         .ko) references rt_spin_lock, rt_spin_unlock or another rt_spin_*,
#         rt_read_* or rt_write_* symbol: a spinlock_t or rwlock_t, which
#         PREEMPT_RT turns into a sleeping lock, taken by the module (whose
#         probe handlers must never sleep: use a raw_spinlock_t).  The
#         objects and symbols are printed on stdout;
#       8 (--w1 only) a function of the probe path (NOKPROBE_SYMBOL) is not
#         in .kprobes.text, or the compiler split one into a piece (.part.N,
#         .cold, .isra...) outside it, where kprobes would not refuse a probe.
# shellcheck disable=SC2016 # dpkg-query formats and sh -c scripts: single quotes on purpose
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,46s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[[ $# -ge 1 && ${1:-} != -* ]] || usage
line=$1 mode=ensure src='' rebuild=0
shift
case ${1:-} in
'') ;;
--rebuild) rebuild=1 ;;
--dkms-build | --w1 | --dkms-refuses)
	mode=${1#--}
	src=${2:-}
	[[ -n $src && -f $src/dkms.conf && -d $src/module ]] || die "$1 SRCDIR: need SRCDIR/dkms.conf and SRCDIR/module/"
	src=$(cd "$src" && pwd)
	;;
*) usage ;;
esac
[[ $(id -u) == 0 ]] || die "run as root (debootstrap, chroot)"

kline_load "$line"
name=${KL_SUITES%%,*}       # bookworm, sid, trixie-backports, ...
base=${name%-backports}     # the release debootstrap installs
roots=$APICV_CACHE/roots
root=$roots/$name
logdir=$APICV_CACHE/logs
mkdir -p "$roots/.locks" "$logdir"

# ---- helpers ----------------------------------------------------------------

# umount_under DIR: unmount everything mounted at or below DIR (deepest first).
umount_under() {
	local m
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
}

mount_proc() { mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"; }

# kernel_config: path of the fetched kernel's config (CONFIG_CC_VERSION_TEXT is read from it).
kernel_config() {
	local kd
	kd=$(kline_dir "$line")
	find -L "$kd/root" \( -path "*/boot/config-$kver" -o -path "*/modules/$kver/config" \
		-o -path "*/usr/src/linux-headers-$kver/.config" \) -print -quit
}
cc_text_of() { sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$1"; }

# gcc_pkg TEXT: "gcc-12 (Debian ...) 12.2.0" or "x86_64-linux-gnu-gcc-14 (...)" -> gcc-NN
gcc_pkg() {
	local cmd=${1%% *} v
	cmd=${cmd#x86_64-linux-gnu-}
	if [[ $cmd =~ ^gcc-[0-9]+$ ]]; then
		echo "$cmd"
	elif [[ $cmd == gcc && $1 =~ \)\ ([0-9]+)\. ]]; then
		v=${BASH_REMATCH[1]}
		echo "gcc-$v"
	else
		die "kernel $kver was not built with gcc ('$1'): not supported"
	fi
}

# root_lines_headers: linux-headers-KVER of every kernels.conf line that
# shares this root (same first suite) and has been fetched (its cached kver).
root_lines_headers() {
	local l s rest f
	while read -r l s rest; do
		[[ -z $l || $l == \#* || ${s%%,*} != "$name" ]] && continue
		f=$(kline_dir "$l")/kver
		[[ -s $f ]] && printf 'linux-headers-%s ' "$(cat "$f")"
	done <"$KERNELS_CONF"
	return 0
}

root_installed() { # PKG...: all installed in the root?
	local p st
	for p in "$@"; do
		st=$(in_root dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || return 1
		[[ $st == installed ]] || return 1
	done
}

# ---- the root ---------------------------------------------------------------

write_sources() {
	local r=$1 m=$DEBIAN_MIRROR s
	{
		if [[ $base == sid || $base == unstable ]]; then
			echo "deb $m/debian $base main"
		else
			echo "deb $m/debian $base main"
			echo "deb $m/debian $base-updates main"
			echo "deb $m/debian-security $base-security main"
		fi
		for s in ${KL_SUITES//,/ }; do
			[[ $s == "$base" || $s == "$base-updates" || $s == "$base-security" ]] && continue
			[[ $s == *-security ]] && echo "deb $m/debian-security $s main" || echo "deb $m/debian $s main"
		done
	} >"$r/etc/apt/sources.list"
	rm -f "$r/etc/apt/sources.list.d/debian.sources"
}

create_root() {
	local tmp=$roots/$name.tmp logf=$logdir/buildroot-$name-create.log t0=$SECONDS
	: >"$logf"
	host_apt_install debootstrap debian-archive-keyring # no-op when installed
	umount_under "$tmp"
	rm -rf --one-file-system "$tmp"
	log "$name: debootstrap --variant=minbase $base (log $logf)"
	mkdir -p "$roots/.debs/$base"
	run_logged "$logf" debootstrap --variant=minbase --components=main \
		--keyring="$DEBIAN_KEYRING" --cache-dir="$roots/.debs/$base" \
		"$base" "$tmp" "$DEBIAN_MIRROR/debian" || die "$name: debootstrap failed"
	log "$name: debootstrap done ($((SECONDS - t0))s)"
	write_sources "$tmp"
	# A build chroot: no daemons, no docs, no fsync per file, no recommends.
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	printf 'APT::Install-Recommends "false";\nAcquire::Languages "none";\nAcquire::Retries "3";\n' \
		>"$tmp/etc/apt/apt.conf.d/90apicv-buildroot"
	printf 'force-unsafe-io\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/locale/*\npath-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n' \
		>"$tmp/etc/dpkg/dpkg.cfg.d/90apicv-buildroot"
	mkdir -p "$tmp/.apicv"
	echo "$name $base $(date -u +%FT%TZ)" >"$tmp/.apicv/created"
	mv "$tmp" "$root"
	touch "$root/.apicv/complete" # dkms etc. are installed with the headers (and checked each run)
}

# install_packages PKG...: apt-get install in the root; for a backports root,
# retry with -t BACKPORTS when the plain resolution fails.
install_packages() {
	local logf=$1
	shift
	in_root dpkg --configure -a >>"$logf" 2>&1 || true
	run_logged "$logf" in_root apt-get install -y -q "$@" && return 0
	if [[ $name == *-backports ]]; then
		log "$name: retrying with -t $name"
		run_logged "$logf" in_root apt-get install -y -q -t "$name" "$@" && return 0
	fi
	return 1
}

# root_apt_update LOG: apt-get update in the root.  A Release file past its
# Valid-Until (a stale mirror or a wrong clock) is accepted on a second try,
# loudly: the signature is still checked.
root_apt_update() {
	local logf=$1
	in_root apt-get update -q >>"$logf" 2>&1 && ! grep -q '^E: ' "$logf" && return 0
	if grep -q 'is expired' "$logf"; then
		log "$name: WARNING: $(grep -m1 'is expired' "$logf" | sed 's/^E: //'); retrying with Acquire::Check-Valid-Until=false"
		run_logged "$logf" in_root apt-get update -q -oAcquire::Check-Valid-Until=false && return 0
	fi
	tail -n 25 "$logf" >&2
	die "$name: apt-get update failed in the root (log $logf)"
}

ensure_root() {
	local logf=$logdir/buildroot-$name-packages.log cfg cctext hcc old rootcc ccmatch t0=$SECONDS
	kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line") || die "fetch-kernel.sh $line failed"
	cfg=$(kernel_config)
	[[ -n $cfg ]] || die "no config for $kver in $(kline_dir "$line")"
	cctext=$(cc_text_of "$cfg")
	gccp=$(gcc_pkg "$cctext")
	hdr=linux-headers-$kver
	pkgs=("$hdr" "$gccp" make dkms sparse kmod libelf-dev xz-utils zstd openssl)

	if ((rebuild)) || [[ -d $root && ! -e $root/.apicv/complete ]]; then
		log "$name: $([[ $rebuild == 1 ]] && echo rebuild requested || echo half-built root): removing $root"
		umount_under "$root"
		rm -rf --one-file-system "$root"
	fi
	[[ -d $root ]] || create_root
	# For apt in the root (never write through a symlink there: it would land on the host).
	rm -f "$root/etc/resolv.conf"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

	if ! root_installed "${pkgs[@]}"; then
		mount_proc
		: >"$logf"
		t0=$SECONDS
		log "$name: installing ${pkgs[*]} (log $logf)"
		# dkms's header_postinst hook builds every registered module
		# (AUTOINSTALL) for the headers being installed: the release's other
		# line (6.1 for 6.1-rt...) or an older KVER left apicv-trace
		# registered, and a source that does not compile would fail the
		# headers' installation here instead of the dkms step.  Nothing is
		# lost: dkms_build registers it afresh (it is never installed in the
		# root's /lib/modules).
		rm -rf "$root/var/lib/dkms/apicv-trace"
		root_apt_update "$logf"
		install_packages "$logf" "${pkgs[@]}" ||
			die "$name: cannot install ${pkgs[*]} (headers candidates: $(in_root apt-cache pkgnames linux-headers- | grep -F "${kver%%-*}" | tr '\n' ' '))"
		# Headers of an older KVER of this line: remove them (and what they
		# pulled in).  Not those another line of this root uses (the
		# release's other flavours and kernels: 6.1, 6.1-rt, 6.1-cloud,
		# 6.12-deb12 share "bookworm"), or each line would purge the
		# other's and the next run reinstall them; -common and -common-rt
		# go with autoremove when no headers need them any more.
		mapfile -t old < <(in_root dpkg-query -W -f='${Package} ${db:Status-Status}\n' 'linux-headers-*' 2>/dev/null |
			awk -v keep=" $hdr $(root_lines_headers) " \
				'$2 == "installed" && $1 !~ /-common(-rt)?$/ && index(keep, " " $1 " ") == 0 { print $1 }')
		if ((${#old[@]})); then
			log "$name: removing old headers ${old[*]}"
			run_logged "$logf" in_root apt-get purge -y -q "${old[@]}" || true
		fi
		run_logged "$logf" in_root apt-get autoremove --purge -y -q || true
		in_root apt-get clean
		rm -f "$root"/.apicv/selftest-*
		log "$name: packages ready ($((SECONDS - t0))s)"
	fi
	in_root test -f "/lib/modules/$kver/build/Makefile" ||
		die "$name: $hdr installed but /lib/modules/$kver/build/Makefile missing in the root"
	hcc=$(cc_text_of "$root/usr/src/linux-headers-$kver/.config")
	[[ $hcc == "$cctext" ]] || log "$name: WARNING: headers built with '$hcc', kernel with '$cctext'"
	rootcc=$(in_root "${cctext%% *}" --version 2>/dev/null | head -n1) || true
	[[ $rootcc == "$cctext" ]] && ccmatch="same compiler" || ccmatch="WARNING: compiler differs from the kernel's"
	log "$name: kver $kver, headers $hdr ($(in_root dpkg-query -W -f='${Version}' "$hdr")), kernel cc '$cctext', root '${cctext%% *} --version': '$rootcc' ($ccmatch)"
	[[ -e $root/.apicv/selftest-$kver ]] || selftest
}

# selftest: a trivial module proves root + headers + compiler; after it, a
# failing build is the module source's fault.
selftest() {
	local d=$root/tmp/apicv-selftest logf=$logdir/buildroot-$name-selftest.log
	rm -rf "$d"
	mkdir -p "$d"
	printf '#include <linux/module.h>\nstatic int __init st_init(void) { return 0; }\nstatic void __exit st_exit(void) { }\nmodule_init(st_init);\nmodule_exit(st_exit);\nMODULE_LICENSE("GPL");\n' >"$d/apicv_selftest.c"
	echo 'obj-m := apicv_selftest.o' >"$d/Kbuild"
	mount_proc
	: >"$logf"
	run_logged "$logf" in_root make -C "/lib/modules/$kver/build" M=/tmp/apicv-selftest modules ||
		die "$name: TOOLCHAIN BROKEN: a trivial module does not build against $hdr (log $logf)"
	[[ -e $d/apicv_selftest.ko ]] || die "$name: self-test built no .ko (log $logf)"
	rm -rf "$d"
	touch "$root/.apicv/selftest-$kver"
	log "$name: self-test module built against $kver"
}

# ---- commands ---------------------------------------------------------------

# copy_src DEST: SRCDIR's dkms.conf and module sources (no build products).
copy_src() {
	local dest=$1
	rm -rf "$dest"
	mkdir -p "$dest/module"
	cp "$src/dkms.conf" "$dest/"
	find "$src/module" -maxdepth 1 -type f \( -name Kbuild -o -name Makefile -o -name conftest.sh -o -name '*.[ch]' \) \
		! -name '*.mod.c' -exec cp {} "$dest/module/" \;
}

# cc_of_ko KO (root path): the .comment of the built module (the compiler used).
cc_of_ko() {
	in_root sh -c 'case $1 in *.xz) xz -dc "$1";; *.zst) zstd -qdc "$1";; *.gz) gzip -dc "$1";; *) cat "$1";; esac >/tmp/apicv-cc.ko &&
		readelf -p .comment /tmp/apicv-cc.ko | sed -n "s/^ *\[ *[0-9a-f]*\] *//p" | sort -u | tr "\n" " "; rm -f /tmp/apicv-cc.ko' sh "$1"
}

dkms_build() {
	local pkg=apicv-trace ver logf=$logdir/buildroot-$name-dkms.log rc=0 mlog k
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/dkms.conf")
	[[ -n $ver ]] || die "no PACKAGE_VERSION in $src/dkms.conf"
	mount_proc
	in_root dkms remove "$pkg/$ver" --all >/dev/null 2>&1 || true
	rm -rf "$root/var/lib/dkms/$pkg/$ver"
	copy_src "$root/usr/src/$pkg-$ver"
	: >"$logf"
	run_logged "$logf" in_root dkms add -m "$pkg" -v "$ver" || die "$name: dkms add failed (root/dkms problem)"
	log "$name: dkms build -m $pkg -v $ver -k $kver (log $logf)"
	in_root dkms build -m "$pkg" -v "$ver" -k "$kver" >>"$logf" 2>&1 || rc=$?
	if ((rc)); then
		mlog=$(find "$root/var/lib/dkms/$pkg/$ver" -name make.log -print -quit 2>/dev/null)
		tail -n 15 "$logf" >&2
		if [[ -n $mlog ]] && grep -qE '(error|Error [0-9]+)' "$mlog"; then
			log "$name: MODULE SOURCE DOES NOT COMPILE for $kver (dkms exit $rc; root and headers are fine: self-test passed)"
			log "first errors ($mlog):"
			grep -E ': (fatal )?error:' "$mlog" | head -n 20 >&2 || true
			log "---- make.log (last 40 lines) ----"
			tail -n 40 "$mlog" >&2
			exit 3
		fi
		[[ -n $mlog ]] && tail -n 40 "$mlog" >&2
		die "$name: dkms build failed (exit $rc) without a compile error: dkms refused it or root/dkms problem (log $logf)"
	fi
	for k in "/var/lib/dkms/$pkg/$ver/$kver/x86_64/module/apicv_trace.ko"{,.xz,.zst,.gz}; do
		if [[ -e $root$k ]]; then
			log "$name: built $k; vermagic '$(in_root modinfo -F vermagic "$k")'; compiled by: $(cc_of_ko "$k")"
			echo "$root$k"
			return 0
		fi
	done
	die "$name: dkms build succeeded but no apicv_trace.ko for $kver under $root/var/lib/dkms/$pkg/$ver"
}

# What a clean kbuild run prints; any other line of the W=1 C=1 build is a
# diagnostic (compiler, sparse, kbuild's "compiler differs" notes...).
KBUILD_PROGRESS='^(|make(\[[0-9]+\])?: (Entering|Leaving) directory .*|make -C .*|  [A-Z][A-Z0-9_]*( \[M\])? +[^ ].*|Skipping BTF generation for .* due to unavailability of vmlinux)$'

# checker_valid: kbuild (6.15 on) runs $(srctree)/scripts/checker-valid.sh
# to validate sparse and silently drops C=1 when that says no; Debian's 7.x
# linux-headers-*-common lack the script, so C=1 would check nothing.  Put in
# an equivalent (the checker runs and parses __typeof_unqual__), loudly.
# Sets chk: the script's path in the root, empty if the kernel has no such check.
checker_valid() {
	local d f kb=${kver%-amd64}
	# 6.1.0-57-rt-amd64 -> 6.1.0-57: its common files are in -common or
	# -common-rt; a -cloud-amd64 flavour's in -common
	kb=${kb%-rt}
	kb=${kb%-cloud}
	chk=''
	for d in "$root/usr/src/linux-headers-$kver" "$root/usr/src/linux-headers-$kb-common" \
		"$root/usr/src/linux-headers-$kb-common-rt"; do
		f=$d/scripts/checker-valid.sh
		grep -qs 'scripts/checker-valid\.sh' "$d/Makefile" || continue
		chk=${f#"$root"}
		[[ -e $f ]] && return 0
		log "$name: WARNING: ${d#"$root"} lacks scripts/checker-valid.sh (Debian packaging): adding an equivalent, or C=1 would skip sparse"
		cat >"$f" <<'CHK'
#!/bin/sh
# Added by apicv-trace scripts/buildroot.sh: the linux-headers package lacks
# kbuild's checker-valid.sh.  Prints 1 when the checker ("$@") exists and
# parses __typeof_unqual__ (what the kernel headers need), else 0.
command -v "$1" >/dev/null 2>&1 || { echo 0; exit 0; }
t=$(mktemp) || exit 1
printf 'static inline int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' >"$t"
if "$@" "$t" 2>&1 | grep -q error; then echo 0; else echo 1; fi
rm -f "$t"
CHK
		chmod 755 "$f"
		return 0
	done
}

# sid_sparse: print the path (in the root) of sparse from Debian sid, for a
# release whose own sparse cannot parse its kernel's headers (trixie's 0.6.4
# and 7.x's __typeof_unqual__).  Fetched with the private apt config of the
# kernels.conf line on sid; it needs only libc.  Cached in the root.
sid_sparse() {
	local sidline rel=/opt/apicv-sparse tmp
	if [[ ! -x $root$rel/usr/bin/sparse || $(in_root sh "$chk" "$rel/usr/bin/sparse") != 1 ]]; then
		sidline=$(awk '!/^#/ && NF && $2 == "sid" { print $1; exit }' "$KERNELS_CONF")
		[[ -n $sidline ]] || die "$name: no sid line in kernels.conf to take a newer sparse from"
		tmp=$(mktemp -d "${TMPDIR:-/tmp}/apicv-sparse.XXXXXX")
		if ! (papt_update "$sidline" && cd "$tmp" && papt "$sidline" apt-get download sparse) >&2; then
			rm -rf "$tmp"
			die "$name: cannot download sid's sparse"
		fi
		rm -rf "${root:?}$rel"
		mkdir -p "$root$rel"
		dpkg-deb -x "$tmp"/sparse_*.deb "$root$rel"
		rm -rf "$tmp"
		[[ $(in_root sh "$chk" "$rel/usr/bin/sparse") == 1 ]] ||
			die "$name: sid's sparse does not pass the kernel's checker test in the root either"
	fi
	log "$name: WARNING: $base's sparse ($(in_root sparse --version)) cannot parse $kver's headers (__typeof_unqual__): using sid's sparse $(in_root "$rel/usr/bin/sparse" --version) ($rel)"
	echo "$rel/usr/bin/sparse"
}

w1_build() {
	local logf=$logdir/buildroot-$name-w1.log rc=0 diags nsrc nchk checker=sparse chk
	copy_src "$root/tmp/apicv-w1"
	mount_proc
	in_root sparse --version >/dev/null 2>&1 || die "$name: sparse missing in the root"
	checker_valid
	if [[ -n $chk && $(in_root sh "$chk" sparse) != 1 ]]; then
		checker=$(sid_sparse)
	fi
	log "$name: make -C module KDIR=/usr/src/linux-headers-$kver W=1 C=1 CHECK=$checker (sparse $(in_root "$checker" --version)) (log $logf)"
	in_root make -k -C /tmp/apicv-w1/module KVER="$kver" KDIR="/usr/src/linux-headers-$kver" W=1 C=1 CHECK="$checker" >"$logf" 2>&1 || rc=$?
	diags=$(grep -vE "$KBUILD_PROGRESS" "$logf" || true)
	[[ -n $diags ]] && echo "$diags"
	if ((rc)); then
		log "$name: W=1 C=1 build FAILED (module source does not compile), $(grep -c ': error:' "$logf" || true) errors; log $logf"
		exit 3
	fi
	if [[ -n $diags ]]; then
		log "$name: W=1 C=1 build: $(wc -l <<<"$diags") diagnostic lines (listed on stdout)"
		exit 4
	fi
	# sparse must have looked at every source file, or "clean" means nothing.
	nsrc=$(find "$root/tmp/apicv-w1/module" -maxdepth 1 -name '*.c' ! -name '*.mod.c' | wc -l)
	nchk=$(grep -cE '^  CHECK +' "$logf" || true)
	if ((nchk < nsrc)); then
		log "$name: sparse checked $nchk files of $nsrc (log $logf)"
		exit 4
	fi
	log "$name: W=1 C=1 build clean ($nchk files through sparse); compiled by: $(cc_of_ko /tmp/apicv-w1/module/apicv_trace.ko)"
	# The module's files form a ladder: no circle of calls, in the objects
	# this kernel's compiler made (one .o per .c; not the linked module).
	local objs=()
	mapfile -t objs < <(find "$root/tmp/apicv-w1/module" -maxdepth 1 -name '*.o' \
		! -name apicv_trace.o ! -name '*.mod.o' ! -name '.*' | sort)
	if ! python3 "$SCRIPTS_DIR/call-graph.py" --name module-call-graph "${objs[@]}" >>"$logf" 2>&1; then
		grep -E 'FAIL|call-graph:' "$logf"
		log "$name: the files of module/ call each other in a circle (log $logf)"
		exit 6
	fi
	log "$name: $(grep 'module-call-graph:' "$logf")"
	rt_spin_check "${objs[@]}" "$root/tmp/apicv-w1/module/apicv_trace.ko"
	nokprobe_check "$root/tmp/apicv-w1/module/apicv_trace.ko"
	test_build
	rm -rf "$root/tmp/apicv-w1"
}

# test_build: for a line the tests boot, the test build the e2e loads
# (module/Kbuild AT_TEST_FAULTS: test_fault=layout reads the setter's
# arguments one register late, for a hook its probation must refuse;
# test_fault=names misnames the reasons, for verify to catch), in
# $APICV_CACHE/ko-test/LINE/apicv_trace-test.ko; removed first, so a
# failed build never leaves an old one for the e2e.
test_build() {
	local tko=$APICV_CACHE/ko-test/$line/apicv_trace-test.ko
	local logf=$logdir/buildroot-$name-test.log
	rm -f "$tko"
	kline_boots "$line" || return 0
	in_root make -C /tmp/apicv-w1/module KVER="$kver" KDIR="/usr/src/linux-headers-$kver" \
		clean >"$logf" 2>&1 || { log "$name: make clean FAILED (log $logf)"; exit 3; }
	if ! in_root make -C /tmp/apicv-w1/module KVER="$kver" KDIR="/usr/src/linux-headers-$kver" \
		AT_TEST_FAULTS=1 >>"$logf" 2>&1; then
		log "$name: the AT_TEST_FAULTS test build FAILED (log $logf)"
		exit 3
	fi
	mkdir -p "${tko%/*}"
	cp "$root/tmp/apicv-w1/module/apicv_trace.ko" "$tko"
	log "$name: test build AT_TEST_FAULTS=1 for the e2e: $tko"
}

# rt_spin_check FILE... (host paths in the root): on a PREEMPT_RT kernel,
# spin_lock() and friends on a spinlock_t (and rwlock_t's read_lock()...)
# compile to calls of rt_spin_lock() etc., sleeping locks; a raw_spinlock_t
# stays _raw_spin_lock*.  Code reached from the kprobe handlers must never
# sleep, so any such undefined symbol in the module's objects fails (exit 7).
RT_LOCK_SYMS='^rt_(spin|read|write)_(lock|unlock|trylock)'
rt_spin_check() {
	local f rel=() undef hits
	grep -qs '^CONFIG_PREEMPT_RT=y' "$root/usr/src/linux-headers-$kver/.config" || return 0
	for f in "$@"; do rel+=("${f#"$root"}"); done
	# "FILE: U SYMBOL" per line (nm -A); nm must list something, or the
	# check below would pass on nothing
	undef=$(in_root nm -u -A "${rel[@]}") || die "$name: nm -u failed on the module objects"
	[[ -n $undef ]] || die "$name: nm -u listed no undefined symbol in the module objects"
	hits=$(awk -v re="$RT_LOCK_SYMS" '$NF ~ re { f = $1; sub(/:$/, "", f); sub(/.*\//, "module/", f); print f, $NF }' <<<"$undef" | sort -u)
	if [[ -n $hits ]]; then
		echo "$hits"
		log "$name: PREEMPT_RT kernel $kver: the module takes sleeping locks (spinlock_t/rwlock_t), $(wc -l <<<"$hits") object/symbol pairs (listed on stdout); use a raw_spinlock_t"
		exit 7
	fi
	log "$name: PREEMPT_RT kernel $kver: no rt_spin/rt_read/rt_write lock symbol in $# objects ($(wc -l <<<"$undef") undefined symbols checked)"
}

# nokprobe_check KO (host path in the root): every function a probe can
# reach is both NOKPROBE_SYMBOL() and __kprobes (module/apicv_trace.h): the
# symbol list covers the function's own symbol only, the section covers any
# piece the compiler splits off.  Fails (exit 8) on a listed function
# outside .kprobes.text or a piece of one ("f.part.0", "f.cold") outside it.
nokprobe_check() {
	local syms bad
	syms=$(in_root objdump -t "${1#"$root"}") || die "$name: objdump -t failed on the module"
	bad=$(awk '
		$NF ~ /^_kbl_addr_/ { listed[substr($NF, 11)] = 1; next }
		$0 ~ / F / { sec[$NF] = $(NF - 2) }
		END {
			for (f in listed) {
				n++
				if (sec[f] != ".kprobes.text")
					print f " in " (f in sec ? sec[f] : "(no such function)")
			}
			for (s in sec) {
				base = s; sub(/\..*/, "", base)
				if (s != base && (base in listed) && sec[s] != ".kprobes.text")
					print s " in " sec[s]
			}
			if (!n)
				print "(no NOKPROBE_SYMBOL in the module)"
		}' <<<"$syms" | sort)
	if [[ -n $bad ]]; then
		echo "$bad"
		log "$name: probe-path code a kprobe could be placed on ($(wc -l <<<"$bad"), listed on stdout): mark the function __kprobes"
		exit 8
	fi
	log "$name: probe path: $(grep -c '_kbl_addr_' <<<"$syms") NOKPROBE functions, all in .kprobes.text, no piece split off outside it"
}

# dkms_refuses: dkms.conf's BUILD_EXCLUSIVE_CONFIG must make this release's
# dkms refuse (exit 77) KVER's config without each option, and not refuse it
# whole.  Registered as VERSION.refuses: the real build is not touched.
dkms_refuses() {
	local pkg=apicv-trace ver logf=$logdir/buildroot-$name-refuses.log fake=/tmp/apicv-refuses
	local opts opt out rc bad=0 dver
	dver=$(in_root dpkg-query -W -f='${Version}' dkms)
	if ! grep -q BUILD_EXCLUSIVE_CONFIG "$root/usr/sbin/dkms"; then
		log "$name: dkms $dver has no BUILD_EXCLUSIVE_CONFIG: the refusal cannot be tested here"
		exit 5
	fi
	opts=$(sed -n 's/^BUILD_EXCLUSIVE_CONFIG="\(.*\)"$/\1/p' "$src/dkms.conf")
	[[ -n $opts ]] || die "no BUILD_EXCLUSIVE_CONFIG in $src/dkms.conf"
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/dkms.conf").refuses
	mount_proc
	: >"$logf"
	in_root dkms remove "$pkg/$ver" --all >/dev/null 2>&1 || true
	rm -rf "$root/var/lib/dkms/$pkg/$ver"
	copy_src "$root/usr/src/$pkg-$ver"
	sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "$root/usr/src/$pkg-$ver/dkms.conf"
	run_logged "$logf" in_root dkms add -m "$pkg" -v "$ver" || die "$name: dkms add failed (log $logf)"
	for opt in - $opts; do
		rm -rf "$root$fake"
		mkdir -p "$root$fake"
		grep -v "^$opt=" "$root/usr/src/linux-headers-$kver/.config" >"$root$fake/.config"
		rc=0
		out=$(in_root dkms build -m "$pkg" -v "$ver" -k "$kver" --kernelsourcedir "$fake" --force 2>&1) || rc=$?
		printf '%s\n' "---- without ${opt/#-/nothing}: dkms exit $rc" "$out" >>"$logf"
		if [[ $opt == - ]]; then
			# The whole config: dkms must not refuse it (the build itself fails:
			# the fake tree has no Makefile; only the refusal matters here).
			if ((rc == 77)) || grep -q BUILD_EXCLUSIVE <<<"$out"; then
				log "$name: the full config of $kver was refused (dkms exit $rc)"
				bad=1
			else
				log "$name: full config: not refused (dkms exit $rc), as it should"
			fi
		elif ((rc == 77)) && grep -q BUILD_EXCLUSIVE <<<"$out"; then
			log "$name: without $opt: refused (dkms exit 77)"
		else
			log "$name: without $opt: NOT refused (dkms exit $rc)"
			bad=1
		fi
	done
	in_root dkms remove "$pkg/$ver" --all >>"$logf" 2>&1 || true
	rm -rf "$root/usr/src/$pkg-$ver" "$root/var/lib/dkms/$pkg/$ver" "$root$fake"
	((bad == 0)) || { log "$name: dkms $dver: refusal test FAILED (log $logf)"; exit 1; }
	log "$name: dkms $dver refuses $kver without any of: $opts"
}

exec 9>"$roots/.locks/$name.lock"
flock -w 3600 9 || die "timeout waiting for the lock on $root"
# Whatever happens, leave nothing mounted in the root (debootstrap's own mounts included).
trap 'umount_under "$root"; umount_under "$roots/$name.tmp"' EXIT
ensure_root
case $mode in
ensure) echo "$root" ;;
dkms-build) dkms_build ;;
w1) w1_build ;;
dkms-refuses) dkms_refuses ;;
esac
