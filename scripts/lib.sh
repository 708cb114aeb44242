# shellcheck shell=bash
# Shared helpers for the apicv-trace test scripts.  Source it, don't run it.
#
# Environment:
#   APICV_CACHE    cache root (default /var/cache/apicv-trace, outside the repo)
#   APICV_REFRESH  1 = re-resolve kernels from the archive even if cached

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APICV_CACHE=${APICV_CACHE:-/var/cache/apicv-trace}
APICV_REFRESH=${APICV_REFRESH:-0}
KERNELS_CONF=$SCRIPTS_DIR/kernels.conf
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { printf '[%s] %s\n' "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# kline_load LINE: set KL_LINE KL_SUITES KL_IMAGE KL_EXTRA KL_HEADERS from kernels.conf.
# shellcheck disable=SC2034 # the KL_* variables are used by the callers
kline_load() {
	local line=$1 l s i e h
	while read -r l s i e h; do
		[[ -z $l || $l == \#* ]] && continue
		if [[ $l == "$line" ]]; then
			KL_LINE=$l KL_SUITES=$s KL_IMAGE=$i KL_EXTRA=$e KL_HEADERS=$h
			return 0
		fi
	done <"$KERNELS_CONF"
	die "kernel line '$line' not in $KERNELS_CONF (have: $(kline_list | tr '\n' ' '))"
}

# kline_boots LINE: true if the tests boot LINE's kernel (in QEMU); false for
# a buildonly line (kernels.conf: only its headers are fetched, the module is
# built but never loaded: Debian's PREEMPT_RT flavours, where KVM does not
# load under QEMU TCG).  Sets KL_* as kline_load does.
kline_boots() {
	kline_load "$1"
	[[ $KL_HEADERS != buildonly ]]
}

kline_list() { awk '!/^#/ && NF { print $1 }' "$KERNELS_CONF"; }

kline_dir() { echo "$APICV_CACHE/kernels/$1"; }

# ---- private apt configuration (never touches /etc/apt) --------------------

papt_dir() { echo "$APICV_CACHE/apt/$1"; }

# papt LINE apt-get|apt-cache ARGS...: run apt with a per-line private config.
papt() {
	local line=$1 tool=$2 d
	shift 2
	d=$(papt_dir "$line")
	"$tool" -q \
		-oDir::Etc::SourceList="$d/sources.list" \
		-oDir::Etc::SourceParts=/dev/null \
		-oDir::Etc::Preferences=/dev/null \
		-oDir::Etc::PreferencesParts=/dev/null \
		-oDir::State::Lists="$d/lists" \
		-oDir::State::Status="$d/status" \
		-oDir::Cache="$d/cache" \
		-oAPT::Sandbox::User=root \
		-oAcquire::Languages=none \
		"$@"
}

# papt_update LINE: write sources.list for the line's suites and refresh the
# index if it is missing, older than 12 hours, or APICV_REFRESH=1.
papt_update() {
	local line=$1 d suite archive stamp out rc
	kline_load "$line"
	d=$(papt_dir "$line")
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	[[ -e $d/status ]] || : >"$d/status"
	{
		for suite in ${KL_SUITES//,/ }; do
			archive=debian
			[[ $suite == *-security ]] && archive=debian-security
			echo "deb [signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR/$archive $suite main"
		done
	} >"$d/sources.list.new"
	stamp=$d/updated
	if cmp -s "$d/sources.list.new" "$d/sources.list" && [[ $APICV_REFRESH != 1 ]] &&
		[[ -n $(find "$stamp" -mmin -720 2>/dev/null) ]]; then
		rm -f "$d/sources.list.new"
		return 0
	fi
	mv "$d/sources.list.new" "$d/sources.list"
	log "apt update (private) for line $line: $KL_SUITES"
	out=$(papt "$line" apt-get update 2>&1) && ! grep -q '^E: ' <<<"$out" && rc=0 || rc=1
	printf '%s\n' "$out" >&2
	if ((rc)) && grep -q 'is expired' <<<"$out"; then
		# A Release past its Valid-Until (sid's mirror lagging, or a wrong
		# clock): accepted on a second try, loudly; the signature is still checked.
		log "WARNING: $(grep -m1 'is expired' <<<"$out" | sed 's/^E: //'); retrying with Acquire::Check-Valid-Until=false"
		papt "$line" apt-get update -oAcquire::Check-Valid-Until=false >&2 && rc=0
	fi
	((rc == 0)) || die "private apt-get update failed for $line"
	touch "$stamp"
}

# papt_resolve LINE: print "PKG KVER" of the newest package matching IMAGE.
papt_resolve() {
	local line=$1 pkg
	kline_load "$line"
	pkg=$(papt "$line" apt-cache pkgnames | grep -E "$KL_IMAGE" | sort -V | tail -n1) || true
	[[ -n $pkg ]] || die "no package matches $KL_IMAGE in $KL_SUITES"
	[[ $pkg =~ $KL_IMAGE ]] || die "regex has no match on $pkg"
	echo "$pkg ${BASH_REMATCH[1]}"
}

# kernel_kver LINE: uname -r of the fetched kernel (fetching it if needed).
kernel_kver() {
	local f
	f=$(kline_dir "$1")/kver
	if [[ ! -s $f || $APICV_REFRESH == 1 ]]; then
		"$SCRIPTS_DIR/fetch-kernel.sh" "$1" >/dev/null
	fi
	cat "$f"
}

# modules_base KVER DIR: the directory holding lib/modules/KVER under DIR
# (handles both /lib/modules and merged-/usr /usr/lib/modules layouts).
modules_base() {
	local kver=$1 root=$2
	if [[ -d $root/lib/modules/$kver ]]; then
		echo "$root"
	elif [[ -d $root/usr/lib/modules/$kver ]]; then
		echo "$root/usr"
	else
		return 1
	fi
}

# pkgs_missing PKG...: print the packages that are not installed.
pkgs_missing() {
	local p st
	for p in "$@"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || st=
		[[ $st == installed ]] || echo "$p"
	done
}

APT_UPDATED=0
# host_apt_install PKG...: install missing packages with the host's apt.
host_apt_install() {
	local missing
	mapfile -t missing < <(pkgs_missing "$@")
	((${#missing[@]})) || return 0
	if [[ $APT_UPDATED == 0 ]]; then
		log "apt-get update (host)"
		# A third-party source failing must not stop us: Debian's are what we need.
		apt-get update -q >&2 || log "apt-get update reported errors; continuing"
		APT_UPDATED=1
	fi
	log "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# ko_unpack SRC DST: copy a kernel module, decompressing .xz/.zst/.gz.
# in_root CMD...: run CMD in the build root $root (the caller's) with a
# clean environment.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# run_logged LOG CMD...: run CMD with its output appended to LOG; on failure
# show LOG's tail and say what failed (prefixed with $name, the root, if set).
run_logged() {
	local logf=$1 rc=0
	shift
	"$@" >>"$logf" 2>&1 || rc=$?
	if ((rc)); then
		tail -n 30 "$logf" >&2
		log "${name:+$name: }failed (exit $rc): $*  [log: $logf]"
	fi
	return $rc
}

ko_unpack() {
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# step_failure_log LOG: what a failed check step shows of its log (stderr):
# a hung guest's watchdog dump (qemu-run.sh) first, then the last 30 lines
step_failure_log() {
	sed -n '/^APICV-WATCHDOG: run.sh/,/^\[[a-z-]*\.sh\] /p' "$1" | head -n 200 >&2
	tail -n 30 "$1" >&2
}
