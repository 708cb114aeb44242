#!/usr/bin/env bash
# Usage: scripts/deb.sh build [ROOT]        build apicv-trace-dkms and apicv-trace
#                                           (.deb) into dist/, then lintian them
#        scripts/deb.sh install-test ROOT   install dist/*.deb with apt in ROOT, check
#                                           DKMS built and installed the module for
#                                           every kernel there and the command runs;
#                                           purge both and check nothing is left
#
# ROOT is a release build root of scripts/buildroot.sh ($APICV_CACHE/roots/
# NAME: bullseye, bookworm, trixie, sid, trixie-backports; it must exist:
# `scripts/buildroot.sh LINE` makes it), used under the same lock.
# build runs dpkg-buildpackage -us -uc -b in ROOT (default bullseye: the
# command is linked against that root's glibc, the oldest, so the one
# apicv-trace .deb installs on every release), with debhelper, dh_dkms and
# lintian installed there if missing.  It fails when debian/changelog's
# version is not dkms.conf's PACKAGE_VERSION, when lintian reports an error
# or a warning (overrides: debian/*.lintian-overrides, each with a comment
# saying why), or when an override has no comment.
# install-test leaves the root as it found it: apicv-trace registered in
# DKMS by scripts/buildroot.sh (a test build) is removed first, and the
# packages are purged even when a check fails.
# Exit: 0 ok, 1 failed (the message says which check), 2 usage.
# shellcheck disable=SC2016 # dpkg-query formats: single quotes on purpose
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,22s/^# \{0,1\}//p' "$0" >&2; exit 2; }
top=$(cd "$SCRIPTS_DIR/.." && pwd)
dist=$top/dist
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
[[ -n $ver ]] || die "no PACKAGE_VERSION in dkms.conf"
pkgs=(apicv-trace apicv-trace-dkms)

cmd=${1:-}
case $cmd in
build) name=${2:-bullseye} ;;
install-test) name=${2:-} ;;
*) usage ;;
esac
[[ -n $name && $name != */* && $# -le 2 ]] || usage
[[ $(id -u) == 0 ]] || die "run as root (chroot)"
roots=$APICV_CACHE/roots
root=$roots/$name
[[ -e $root/.apicv/complete ]] ||
	die "no build root $root: make it with scripts/buildroot.sh LINE (a line of $name in scripts/kernels.conf)"
logdir=$APICV_CACHE/logs
mkdir -p "$logdir"

# shellcheck disable=SC2034 # read in the EXIT traps
mounted_proc=0
mount_proc() {
	mountpoint -q "$root/proc" && return 0
	mount -t proc proc "$root/proc"
	# shellcheck disable=SC2034 # read in the EXIT traps
	mounted_proc=1
}

# apt_install LOG PKG...: install what is missing of PKG in the root (a
# backports root retries with -t NAME, as buildroot.sh does).
apt_install() {
	local logf=$1 p st missing=()
	shift
	for p in "$@"; do
		st=$(in_root dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || st=
		[[ $st == installed ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "$name: installing ${missing[*]} (log $logf)"
	rm -f "$root/etc/resolv.conf"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	in_root apt-get update -q >>"$logf" 2>&1 ||
		in_root apt-get update -q -oAcquire::Check-Valid-Until=false >>"$logf" 2>&1 ||
		die "$name: apt-get update failed (log $logf)"
	run_logged "$logf" in_root apt-get install -y -q "${missing[@]}" && return 0
	[[ $name == *-backports ]] && run_logged "$logf" in_root apt-get install -y -q -t "$name" "${missing[@]}" && return 0
	die "$name: cannot install ${missing[*]} (log $logf)"
}

# check_version: debian/changelog's version must be dkms.conf's.
check_version() {
	local cv
	cv=$(sed -n '1s/^apicv-trace (\([^)]*\)).*/\1/p' "$top/debian/changelog")
	[[ $cv == "$ver" ]] ||
		die "debian/changelog's version is '$cv', dkms.conf's PACKAGE_VERSION '$ver': add a changelog entry for $ver (dch -v $ver)"
}

# check_overrides: every lintian override follows a comment saying why.
check_overrides() {
	local f bad
	for f in "$top"/debian/*.lintian-overrides "$top"/debian/source/lintian-overrides; do
		[[ -e $f ]] || continue
		bad=$(awk '/^[[:space:]]*$/ { c = 0; next } /^#/ { c = 1; next } !c { print FILENAME ":" FNR ": " $0 }' "$f")
		[[ -z $bad ]] || die "lintian override without a comment saying why (put '# why' above it): $bad"
	done
}

build() {
	local logf=$logdir/deb-$name-build.log w=/tmp/apicv-deb d f out bad dh=()
	check_version
	check_overrides
	: >"$logf"
	# dh_dkms is its own package from bookworm on, part of dkms before
	in_root apt-cache show dh-dkms >/dev/null 2>&1 && dh=(dh-dkms)
	apt_install "$logf" build-essential debhelper dkms lintian "${dh[@]}"
	# The tree as git sees it (tracked and new files, not ignored ones), so
	# that build products of the tests never end up in the source.
	git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
		die "$top is not a git work tree: the package source is what git ls-files lists"
	rm -rf "${root:?}$w"
	d=$root$w/apicv-trace-$ver
	mkdir -p "$d"
	(cd "$top" && git ls-files -z -c -o --exclude-standard) |
		while IFS= read -r -d '' f; do
			[[ -f $top/$f && $f != dist/* ]] && printf '%s\0' "$f"
		done | (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$d"
	mount_proc
	log "$name: dpkg-buildpackage -us -uc -b (log $logf)"
	run_logged "$logf" in_root sh -c "cd $w/apicv-trace-$ver && dpkg-buildpackage -us -uc -b" ||
		die "$name: dpkg-buildpackage failed (log $logf)"
	mkdir -p "$dist"
	rm -f "$dist"/apicv-trace*.deb
	cp "$root$w"/*.deb "$dist/"
	log "$name: built $(cd "$dist" && echo *.deb)"
	# lintian (the root's, for the root's policy) on the two .debs (not the
	# .changes: it is not shipped, and cannot carry overrides)
	out=$(in_root sh -c "cd $w && lintian -I --show-overrides *.deb" 2>&1) || true
	printf '%s\n' "$out" | grep -v 'running with root privileges' | tee -a "$logf"
	bad=$(grep -E '^[EW]: ' <<<"$out" || true)
	[[ -z $bad ]] || die "lintian: $(wc -l <<<"$bad") errors/warnings (fix them, or override with a comment saying why in debian/PACKAGE.lintian-overrides)"
	log "$name: lintian $(in_root lintian --version | awk '{ print $NF }'): no errors, no warnings"
	rm -rf "${root:?}$w"
}

# files_now: every file and symlink of the root (not dirs), bar the places
# apt, dpkg and logs change anyway, and depmod's indexes (lib/modules/KVER/
# modules.*): DKMS runs depmod on install and removal, which creates them
# for a kernel the root has only the headers of.
files_now() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp \
		-o -path ./run -o -path ./var/cache -o -path ./var/log -o -path ./var/lib/apt \
		-o -path ./var/lib/dpkg \) -prune -o ! -type d -print) |
		grep -Ev '^\./(usr/)?lib/modules/[^/]+/modules\.[a-z.]+$' | LC_ALL=C sort
}

purge() {
	in_root apt-get purge -y -q "${pkgs[@]}" >>"$1" 2>&1
}

install_test() {
	local logf=$logdir/deb-$name-install.log debs=() k kvers=() st fails=() left out
	local w=/tmp/apicv-deb-test
	: >"$logf"
	mapfile -t debs < <(cd "$dist" 2>/dev/null && ls apicv-trace_"$ver"_*.deb apicv-trace-dkms_"$ver"_*.deb 2>/dev/null)
	((${#debs[@]} == 2)) || die "dist/ lacks apicv-trace and apicv-trace-dkms $ver .debs: run scripts/deb.sh build (make deb)"
	mount_proc
	# a previous run that died, then buildroot.sh's test registration
	purge "$logf" || true
	in_root dkms remove "apicv-trace/$ver" --all >>"$logf" 2>&1 || true
	rm -rf "$root"/usr/src/apicv-trace-* "$root/var/lib/dkms/apicv-trace"
	files_now >"$logdir/deb-$name-before.list"
	# kernels with headers in the root: DKMS must have built for each
	# (build is an absolute symlink: resolved in the root)
	mapfile -t kvers < <(in_root sh -c 'for d in /lib/modules/*; do [ -e "$d/build/Makefile" ] && echo "${d##*/}"; done; true')
	((${#kvers[@]})) || die "$name: no kernel headers in the root (/lib/modules/*/build)"
	rm -rf "${root:?}$w"
	mkdir -p "$root$w"
	cp "${debs[@]/#/$dist/}" "$root$w/"
	# shellcheck disable=SC2064 # the paths now, not at exit (locals)
	trap "purge '$logf' || true; rm -rf '$root$w'; ((mounted_proc)) && umount '$root/proc'; true" EXIT
	log "$name: apt-get install ${debs[*]} (kernels: ${kvers[*]}; log $logf)"
	run_logged "$logf" in_root sh -c "cd $w && apt-get install -y -q ./apicv-trace_*.deb ./apicv-trace-dkms_*.deb" ||
		die "$name: apt-get install of the packages failed (log $logf)"
	for k in "${kvers[@]}"; do
		st=$(in_root dkms status -m apicv-trace -v "$ver" -k "$k" 2>/dev/null | tr '\n' ' ')
		if [[ $st == *installed* ]] && compgen -G "$root/lib/modules/$k/updates/dkms/apicv_trace.ko*" >/dev/null; then
			log "$name: $k: $st"
		else
			fails+=("DKMS did not install apicv_trace for $k (dkms status: '${st:-nothing}'; log $logf and $root/var/lib/dkms/apicv-trace/$ver/$k/x86_64/log/make.log)")
		fi
	done
	out=$(in_root apicv-trace --version 2>&1) || fails+=("apicv-trace --version failed: $out")
	[[ $out == *"$ver"* ]] || fails+=("apicv-trace --version says '$out', not $ver")
	in_root test -L /etc/systemd/system/timers.target.wants/apicv-trace-prom.timer ||
		fails+=("apicv-trace-prom.timer is not enabled (no timers.target.wants link)")
	in_root test -f /usr/lib/modules-load.d/apicv-trace.conf || fails+=("no /usr/lib/modules-load.d/apicv-trace.conf")
	log "$name: apt-get purge ${pkgs[*]}"
	purge "$logf" || fails+=("apt-get purge failed (log $logf)")
	files_now >"$logdir/deb-$name-after.list"
	left=$(comm -13 "$logdir/deb-$name-before.list" "$logdir/deb-$name-after.list")
	# shellcheck disable=SC2015 # ls fails when nothing is left: the good case
	left+=${left:+$'\n'}$(cd "$root" && ls -d usr/src/apicv-trace-* var/lib/dkms/apicv-trace usr/share/apicv-trace \
		usr/share/doc/apicv-trace* lib/modules/*/updates/dkms/apicv_trace.ko* 2>/dev/null || true)
	[[ -z $left ]] || fails+=("left behind after purge: $(tr '\n' ' ' <<<"$left")")
	st=$(in_root dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null | grep -v ' not-installed$' || true)
	[[ -z $st ]] || fails+=("dpkg still knows: $st")
	if ((${#fails[@]})); then
		printf '  %s\n' "${fails[@]}" >&2
		die "$name: install-test FAILED (${#fails[@]} checks)"
	fi
	log "$name: install-test ok: DKMS installed apicv_trace for ${kvers[*]}; $out; purge left nothing"
}

exec 9>"$roots/.locks/$name.lock"
flock -w 3600 9 || die "timeout waiting for the lock on $root"
trap '((mounted_proc)) && umount "$root/proc"; true' EXIT
case $cmd in
build) build ;;
install-test) install_test ;;
esac
