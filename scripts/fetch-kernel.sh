#!/usr/bin/env bash
# Usage: scripts/fetch-kernel.sh [--refresh] LINE
#
# Download (private apt config) the kernel image/modules package(s) of LINE
# from kernels.conf and extract them into $APICV_CACHE/kernels/LINE/:
#   kver      uname -r of the kernel (written last: marks a complete fetch)
#   pkg       "PACKAGE VERSION" that was extracted
#   vmlinuz   symlink to the kernel image
#   modules   symlink to the lib/modules/KVER tree
#   root/     the extracted packages;  debs/  the downloaded .deb files
# A buildonly line (kernels.conf: never booted) has no image and no modules:
# only its linux-headers-KVER package is fetched and extracted, and
#   headers   symlink to root/usr/src/linux-headers-KVER (its .config names
#             the kernel's compiler for buildroot.sh)
# replaces vmlinuz and modules.
# Prints KVER on stdout.  Idempotent: with a complete cache it does no network
# access unless --refresh (or APICV_REFRESH=1) asks to look for a newer ABI.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

if [[ ${1:-} == --refresh ]]; then APICV_REFRESH=1; shift; fi
[[ $# == 1 ]] || { sed -n '2,17s/^# \{0,1\}//p' "$0" >&2; exit 2; }
line=$1
kline_load "$line"
kd=$(kline_dir "$line")
# the debug line is built, not fetched (same cache layout)
[[ $KL_HEADERS == debug ]] && exec "$SCRIPTS_DIR/debug-kernel.sh"

buildonly=0
[[ $KL_HEADERS == buildonly ]] && buildonly=1
# complete KD: the files a fetch of this line leaves
complete() {
	if ((buildonly)); then
		[[ -e $kd/headers/.config ]]
	else
		[[ -e $kd/vmlinuz && -d $kd/modules/ ]]
	fi
}

if [[ -s $kd/kver && $APICV_REFRESH != 1 ]] && complete; then
	cat "$kd/kver"
	exit 0
fi

papt_update "$line"
read -r pkg kver < <(papt_resolve "$line")
pkgs=("$pkg")
if [[ $KL_EXTRA != - ]]; then
	for p in ${KL_EXTRA//,/ }; do pkgs+=("${p//@KVER@/$kver}"); done
fi

if [[ -s $kd/kver && $(cat "$kd/kver") == "$kver" ]] && complete; then
	log "line $line already at $kver"
	echo "$kver"
	exit 0
fi

log "line $line: fetching ${pkgs[*]} (kver $kver)"
mkdir -p "$kd/debs"
rm -f "$kd/kver"
(cd "$kd/debs" && rm -f ./*.deb && papt "$line" apt-get download "${pkgs[@]}" >&2)

rm -rf "$kd/root.new"
mkdir -p "$kd/root.new"
for deb in "$kd"/debs/*.deb; do
	dpkg-deb -x "$deb" "$kd/root.new"
done
if ((buildonly)); then
	[[ -f $kd/root.new/usr/src/linux-headers-$kver/.config ]] ||
		die "no usr/src/linux-headers-$kver/.config in ${pkgs[*]}"
	rm -rf "$kd/root" "$kd/vmlinuz" "$kd/modules"
	mv "$kd/root.new" "$kd/root"
	ln -sfn "root/usr/src/linux-headers-$kver" "$kd/headers"
	dpkg-deb -f "$kd/debs/${pkg}"_*.deb Package Version | awk '{ printf "%s ", $2 } END { print "" }' >"$kd/pkg"
	echo "$kver" >"$kd/kver"
	log "line $line (build-only): $(cat "$kd/pkg")-> $kd"
	echo "$kver"
	exit 0
fi
base=$(modules_base "$kver" "$kd/root.new") || die "no lib/modules/$kver in ${pkgs[*]}"
# Classic packages ship boot/vmlinuz-KVER; the split (7.x) ones lib/modules/KVER/vmlinuz.
img=$(find "$kd/root.new" \( -path "*/boot/vmlinuz-$kver" -o -path "*/modules/$kver/vmlinuz" \) -print -quit)
[[ -n $img ]] || die "no vmlinuz in ${pkgs[*]}"
# Debian generates modules.dep in postinst; do it here for the extracted tree.
depmod -b "$base" "$kver"

rm -rf "$kd/root"
mv "$kd/root.new" "$kd/root"
ln -sfn "${img/#$kd\/root.new/root}" "$kd/vmlinuz"
ln -sfn "${base/#$kd\/root.new/root}/lib/modules/$kver" "$kd/modules"
dpkg-deb -f "$kd/debs/${pkg}"_*.deb Package Version | awk '{ printf "%s ", $2 } END { print "" }' >"$kd/pkg"
echo "$kver" >"$kd/kver"
log "line $line: $(cat "$kd/pkg")-> $kd"
echo "$kver"
