#!/usr/bin/env bash
# Usage: scripts/dkms.sh install KVER   build and install with DKMS for KVER
#        scripts/dkms.sh remove         remove the installed version (all kernels)
#        scripts/dkms.sh build KVER     test build: print the built .ko's path
#        scripts/dkms.sh root-build LINE  the same in LINE's release build root
#
# The way an admin installs apicv-trace: the tree is copied to
# /usr/src/apicv-trace-VERSION, then `dkms add`, `dkms build`, `dkms
# install`. install leaves other kernels' builds alone. build (used by the
# tests and the demo): when KVER is the fetched kernel of a kernels.conf
# line, the build happens in that line's release root (root-build, as in
# `make check`); otherwise with the host's dkms and headers, registered as
# version VERSION.check so that it never touches an installed apicv-trace.
# Warnings are checked by the W=1/sparse build in scripts/check.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$SCRIPTS_DIR/.." && pwd)
name=apicv-trace
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
[[ -n $ver ]] || die "no PACKAGE_VERSION in dkms.conf"
command -v dkms >/dev/null || die "dkms missing: run scripts/setup-host.sh"

# put VERSION: copy the tree to /usr/src/NAME-VERSION and register it.
put() {
	local v=$1 src=/usr/src/$name-$1
	rm -rf "$src"
	mkdir -p "$src/module"
	sed "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$v\"/" "$top/dkms.conf" >"$src/dkms.conf"
	cp "$top"/module/{Kbuild,Makefile,conftest.sh,*.h} "$src/module/"
	find "$top/module" -maxdepth 1 -name '*.c' ! -name '*.mod.c' -exec cp {} "$src/module/" \;
	[[ -d /var/lib/dkms/$name/$v ]] || dkms add -m "$name" -v "$v" >&2
}

case ${1:-} in
install)
	kver=${2:?KVER}
	put "$ver"
	dkms build -m "$name" -v "$ver" -k "$kver" --force >&2
	dkms install -m "$name" -v "$ver" -k "$kver" --force >&2
	;;
remove)
	dkms remove "$name/$ver" --all >&2 || true
	rm -rf "/usr/src/$name-$ver"
	;;
build)
	kver=${2:?KVER}
	for l in $(kline_list); do
		if [[ $(cat "$(kline_dir "$l")/kver" 2>/dev/null) == "$kver" ]]; then
			exec "$SCRIPTS_DIR/buildroot.sh" "$l" --dkms-build "$top"
		fi
	done
	tv=$ver.check
	dkms remove "$name/$tv" --all >/dev/null 2>&1 || true
	rm -rf "/var/lib/dkms/$name/$tv"
	put "$tv"
	dkms build -m "$name" -v "$tv" -k "$kver" >&2
	for ko in "/var/lib/dkms/$name/$tv/$kver/x86_64/module/apicv_trace.ko"{,.xz,.zst,.gz}; do
		[[ -e $ko ]] && { echo "$ko"; exit 0; }
	done
	die "DKMS built no apicv_trace.ko for $kver"
	;;
root-build)
	kline_load "${2:?LINE}"
	# the debug kernel has no headers package: kbuild against its tree
	[[ $KL_HEADERS == debug ]] && exec "$SCRIPTS_DIR/debug-kernel.sh" --module "$top"
	exec "$SCRIPTS_DIR/buildroot.sh" "$2" --dkms-build "$top"
	;;
*) sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
