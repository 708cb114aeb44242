#!/usr/bin/env bash
# Usage: scripts/setup-host.sh [--lint] [LINE...]
#
# Install what the project needs on a Debian host (run as root), then fetch
# each kernel LINE into $APICV_CACHE and install its build headers so that
# `dkms build -k KVER` works.  Default LINEs: every kernels.conf line whose
# HEADERS column is not "todo".  --lint also installs shellcheck.
# Quick and idempotent: apt runs only when a package is missing, and kernels
# already in the cache are not fetched again.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || die "run as root"
pkgs=(
	qemu-system-x86 busybox-static cpio xz-utils zstd gzip kmod
	dkms sparse gcc make libc6-dev
	python3 apt dpkg debian-archive-keyring
)
if [[ ${1:-} == --lint ]]; then pkgs+=(shellcheck); shift; fi
if [[ ${1:-} == -* ]]; then sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit 2; fi
host_apt_install "${pkgs[@]}"

# Per-line header installers, named headers_<HEADERS column>.
headers_hostapt() { # LINE KVER: the host runs the line's release
	host_apt_install "linux-headers-$2"
}
headers_buildroot() { # LINE KVER: a build root of the line's release
	"$SCRIPTS_DIR/buildroot.sh" "$1" >/dev/null
}
headers_todo() {
	log "line $1: header installation not implemented yet (kernel fetched only)"
}

lines=("$@")
if ((${#lines[@]} == 0)); then
	mapfile -t lines < <(awk '!/^#/ && NF && $5 != "todo" { print $1 }' "$KERNELS_CONF")
fi
for line in "${lines[@]}"; do
	kline_load "$line"
	kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line")
	declare -F "headers_$KL_HEADERS" >/dev/null || die "unknown HEADERS method '$KL_HEADERS' for $line"
	"headers_$KL_HEADERS" "$line" "$kver"
	log "line $line ready: kver $kver, kernel in $(kline_dir "$line")"
done
