#!/usr/bin/env bash
# Usage: scripts/check.sh [LINE]     (what `make check` runs; LINE default 6.1)
#
# Everything the project promises, from a fresh Debian machine:
#   1. host packages, the kernel image and its headers (scripts/setup-host.sh)
#   2. the lockless ring in userspace: threads, TSan, ASan+UBSan (tests/ring)
#   3. the module with W=1 and sparse (C=1): zero warnings allowed
#   4. a real `dkms add/build` against the line's Debian headers, and that
#      dkms.conf refuses kernels without kprobes, kretprobes, debugfs or KVM
#   5. the QEMU end-to-end suite on the line's Debian kernel, using the
#      DKMS-built module (scripts/e2e.sh)
# Prints one line per step and "check: N passed, M failed" last.
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$SCRIPTS_DIR/.." && pwd)
line=${1:-6.1}
passed=0 failed=0 failures=()
logs=$APICV_CACHE/check
mkdir -p "$logs"

step() { # step NAME CMD...: run CMD, log to $logs/NAME.log, count it
	local name=$1 t0=$SECONDS rc
	shift
	log "== $name"
	"$@" >"$logs/$name.log" 2>&1
	rc=$?
	if ((rc == 0)); then
		passed=$((passed + 1))
		log "ok   $name ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		tail -n 40 "$logs/$name.log" >&2
		log "FAIL $name (exit $rc, $((SECONDS - t0))s): $logs/$name.log"
	fi
	return $rc
}

# Build the module against KDIR with W=1 and sparse; any warning fails.
lint_module() {
	local kdir=$1 out
	command -v sparse >/dev/null || { echo "sparse missing"; return 1; }
	make -s -C "$top/module" KDIR="$kdir" clean >/dev/null
	out=$(make -C "$top/module" KDIR="$kdir" W=1 C=1 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	! grep -E 'warning:|error:|^[^ ].*: (note|sparse):' <<<"$out"
}

# dkms.conf must refuse a kernel whose .config lacks any of these.
dkms_refuses() {
	local kver=$1 opt fake out rc ver
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf").check
	fake=$(mktemp -d)
	for opt in CONFIG_KPROBES CONFIG_KRETPROBES CONFIG_DEBUG_FS CONFIG_KVM; do
		grep -v "^$opt=" "/usr/src/linux-headers-$kver/.config" >"$fake/.config"
		out=$(dkms build -m apicv-trace -v "$ver" -k "$kver" \
			--kernelsourcedir "$fake" --force 2>&1)
		rc=$?
		echo "without $opt: dkms exit $rc"
		if ((rc != 77)) || ! grep -q BUILD_EXCLUSIVE <<<"$out"; then
			echo "$out"
			rm -rf "$fake"
			return 1
		fi
	done
	rm -rf "$fake"
}

step setup "$SCRIPTS_DIR/setup-host.sh" "$line" || {
	echo "check: $passed passed, $((failed)) failed"; exit 1; }
kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line")
step ring make -C "$top/tests/ring" check
step module-w1-sparse lint_module "/usr/src/linux-headers-$kver"
ko=''
if step dkms "$SCRIPTS_DIR/dkms.sh" build "$kver"; then
	ko=$logs/$(basename "$(tail -n 1 "$logs/dkms.log")")
	cp "$(tail -n 1 "$logs/dkms.log")" "$ko"
	step dkms-refuses dkms_refuses "$kver"
fi
if [[ -n $ko ]]; then
	step "e2e-$line" "$SCRIPTS_DIR/e2e.sh" -k "$line" -m "$ko"
	grep -h 'e2e: compared\|e2e: [0-9]* passed' "$logs/e2e-$line.log" >&2
else
	failed=$((failed + 1)) failures+=("e2e-$line (no module)")
fi

((failed)) && log "failed: ${failures[*]}"
echo "check: $passed passed, $failed failed"
((failed == 0))
