#!/usr/bin/env bash
# Usage: scripts/dkms.sh build KVER     build with DKMS, print the .ko path
#        scripts/dkms.sh install KVER   build and install (modprobe-able)
#        scripts/dkms.sh remove         remove every DKMS build of this version
#
# The way an admin installs apicv-trace: the tree is copied to
# /usr/src/apicv-trace-VERSION, then `dkms add`, `dkms build -k KVER`.
# (Warnings are checked by the W=1/sparse build in scripts/check.sh.)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$SCRIPTS_DIR/.." && pwd)
name=apicv-trace
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
[[ -n $ver ]] || die "no PACKAGE_VERSION in dkms.conf"

remove() {
	dkms remove "$name/$ver" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/$name-$ver" "/var/lib/dkms/$name/$ver"
}

add() {
	remove
	mkdir -p "/usr/src/$name-$ver/module"
	cp "$top/dkms.conf" "/usr/src/$name-$ver/"
	cp "$top"/module/{Kbuild,Makefile,*.c,*.h} "/usr/src/$name-$ver/module/"
	dkms add -m "$name" -v "$ver" >&2
}

build() {
	local kver=$1 ko
	add
	dkms build -m "$name" -v "$ver" -k "$kver" >&2
	for ko in "/var/lib/dkms/$name/$ver/$kver/x86_64/module/apicv_trace.ko"{,.xz,.zst,.gz}; do
		[[ -e $ko ]] && { echo "$ko"; return 0; }
	done
	die "DKMS built no apicv_trace.ko for $kver"
}

case ${1:-} in
build) build "${2:?KVER}" ;;
install)
	build "${2:?KVER}" >/dev/null
	dkms install -m "$name" -v "$ver" -k "$2" --force >&2
	;;
remove) remove ;;
*) sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
