#!/usr/bin/env bash
# Usage: scripts/setup-host.sh [--lint] [--packages | LINE...]
#
# Install what the project needs on a Debian host (run as root), then fetch
# each kernel LINE into $APICV_CACHE and prepare its build root
# (scripts/buildroot.sh: the line's release, its gcc, linux-headers-KVER,
# dkms, sparse), so the module can be built for it (a buildonly line, e.g.
# 6.1-rt: its headers only, no kernel image).  Default LINEs: every
# kernels.conf line whose HEADERS column is not "todo" or "debug".
# --packages: the host packages only, no kernel line.  --lint also installs
# the linter (shellcheck).
# Quick and idempotent: apt runs only when a package is missing, and kernels
# and roots already in the cache are not fetched again.  The host's apt
# sources are never changed (kernels and roots use private apt configs).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "run as root"
pkgs=(
	qemu-system-x86 busybox-static cpio xz-utils zstd gzip kmod
	dkms sparse gcc make libc6-dev
	python3 apt dpkg debian-archive-keyring debootstrap
)
packages_only=0
while [[ ${1:-} == -* ]]; do
	case $1 in
	--lint) pkgs+=(shellcheck) ;;
	--packages) packages_only=1 ;;
	*) usage ;;
	esac
	shift
done
if ((packages_only && $# > 0)); then usage; fi
host_apt_install "${pkgs[@]}"
((packages_only)) && exit 0

# Per-line header installers, named headers_<HEADERS column>.
headers_buildroot() { # LINE KVER: a build root of the line's release
	"$SCRIPTS_DIR/buildroot.sh" "$1" >/dev/null
}
headers_buildonly() { # LINE KVER: the same root; only the headers were fetched
	"$SCRIPTS_DIR/buildroot.sh" "$1" >/dev/null
}
headers_debug() { # LINE KVER: debug-kernel.sh built it (and keeps its tree)
	:
}
headers_todo() {
	log "line $1: header installation not implemented yet (kernel fetched only)"
}

lines=("$@")
if ((${#lines[@]} == 0)); then
	mapfile -t lines < <(awk '!/^#/ && NF && $5 != "todo" && $5 != "debug" { print $1 }' "$KERNELS_CONF")
fi
for line in "${lines[@]}"; do
	kline_load "$line"
	kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line")
	declare -F "headers_$KL_HEADERS" >/dev/null || die "unknown HEADERS method '$KL_HEADERS' for $line"
	"headers_$KL_HEADERS" "$line" "$kver"
	log "line $line ready: kver $kver, kernel in $(kline_dir "$line")"
done
