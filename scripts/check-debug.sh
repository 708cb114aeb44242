#!/usr/bin/env bash
# Usage: scripts/check-debug.sh     (what `make check-debug` runs)
#
# apicv_trace on a debug kernel: Debian's linux-source-6.1 built with KASAN,
# lockdep, DEBUG_ATOMIC_SLEEP, kmemleak and fault injection (debug-kernel.sh;
# about an hour on 2 cores the first time, cached in
# $APICV_CACHE/kernels/6.1-debug), the module built against its tree and
# signed with its key. Steps, each printed with its time, output in
# $APICV_CACHE/check-debug/STEP.log:
#   debug-kernel  build the kernel (once)
#   module        kbuild apicv_trace against it, signed (and an unsigned copy)
#   e2e           the e2e suite (scripts/e2e.sh -k 6.1-debug), both boots
#   stress        the stress suite (scripts/stress.sh -k 6.1-debug)
#   faults        fail-nth over every fault point of a load from
#                 do_init_module on and of every file's open; failslab and
#                 fail_page_alloc on the module's worker thread (VM
#                 records); kmemleak after unload (tests/fault/fault.sh)
#   lockdown      boot with lockdown=integrity: unsigned module refused,
#                 signed one loads, every file reads (fault.sh lockdown)
# Every boot fails on any KASAN, lockdep, atomic-sleep, kmemleak, WARNING or
# BUG report in its log (qemu-run.sh).  Ends with "check-debug: N passed,
# M failed"; exit 0 only if nothing failed.
# STRESS_ARGS: extra arguments for stress.sh (default: the full run).
# CHECK_DEBUG_STEPS="e2e stress faults lockdown": only those of the last four
# steps (debug-kernel and module always run) -- to repeat one of them.
# Boots stop after APICV_E2E_TIMEOUT s (default 1500), the faults boot after
# APICV_FAULTS_TIMEOUT s (default 3600: about 1300 module loads, 1400 s on
# an idle machine, half as fast again beside another QEMU).
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# == 0 ]] || { sed -n '2,28s/^# \{0,1\}//p' "$0" >&2; exit 2; }
top=$(cd "$SCRIPTS_DIR/.." && pwd)
line=6.1-debug
logs=$APICV_CACHE/check-debug
results=$APICV_CACHE/results/$line
mkdir -p "$logs"
rm -f "$logs"/*.log
# Each debug boot is slow (KASAN + lockdep under TCG): room for it.
export APICV_E2E_TIMEOUT=${APICV_E2E_TIMEOUT:-1500}
faults_timeout=${APICV_FAULTS_TIMEOUT:-3600}
steps=${CHECK_DEBUG_STEPS:-e2e stress faults lockdown}
for s in $steps; do
	[[ " e2e stress faults lockdown " == *" $s "* ]] ||
		{ log "ERROR: unknown step '$s' in CHECK_DEBUG_STEPS (have: e2e stress faults lockdown)"; exit 2; }
done
want() { [[ " $steps " == *" $1 "* ]]; }
passed=0 failed=0 failures=() t_start=$SECONDS

step() { # step NAME CMD...
	local name=$1 t0=$SECONDS rc
	shift
	log "== $name"
	"$@" >"$logs/$name.log" 2>&1
	rc=$?
	if ((rc == 0)); then
		passed=$((passed + 1))
		log "ok   $name ($((SECONDS - t0))s)"
	else
		failed=$((failed + 1)) failures+=("$name")
		step_failure_log "$logs/$name.log"
		log "FAIL $name (exit $rc, $((SECONDS - t0))s): $logs/$name.log"
	fi
	return $rc
}

# fault_boot MODE TIMEOUT CMDLINE: one boot running tests/fault/fault.sh MODE
fault_boot() {
	local mode=$1 timeout=$2 append=$3 payload rc
	payload=$(mktemp -d "${TMPDIR:-/tmp}/apicv-fault.XXXXXX")
	cp "$ko" "$payload/apicv_trace.ko"
	cp "${ko%.ko}-unsigned.ko" "$payload/apicv_trace-unsigned.ko"
	cp "$top/tests/fault/faultinj" "$top/tests/fault/fault.sh" "$payload/"
	printf 'sh /payload/fault.sh %s\n' "$mode" >"$payload/run.sh"
	"$SCRIPTS_DIR/qemu-run.sh" -k "$line" -p "$payload" -t "$timeout" -m 2048 \
		-a "oops=panic $append" -l "$results/$mode.log"
	rc=$?
	rm -rf "$payload"
	return $rc
}

mkdir -p "$results"
step debug-kernel "$SCRIPTS_DIR/debug-kernel.sh" || { echo "check-debug: $passed passed, $failed failed"; exit 1; }
ko=''
if step module "$SCRIPTS_DIR/debug-kernel.sh" --module "$top"; then
	ko=$(tail -n 1 "$logs/module.log")
fi
if [[ -n $ko ]]; then
	make -s -C "$top/tests/fault" || log "tests/fault does not build"
	want e2e && step e2e "$SCRIPTS_DIR/e2e.sh" -k "$line" -m "$ko" -o "$results"
	# shellcheck disable=SC2086 # STRESS_ARGS is a word list
	want stress && step stress "$SCRIPTS_DIR/stress.sh" -k "$line" -m "$ko" ${STRESS_ARGS:-}
	want faults && step faults fault_boot faults "$faults_timeout" ""
	want lockdown && step lockdown fault_boot lockdown "$APICV_E2E_TIMEOUT" "lockdown=integrity"
else
	for s in $steps; do
		failed=$((failed + 1)) failures+=("$s (not run: no module)")
	done
fi
{
	echo "kernel: $(cat "$(kline_dir "$line")/kver" 2>/dev/null), built in $(cat "$(kline_dir "$line")/build-seconds" 2>/dev/null) s"
	grep -h 'faultinj: \(load\|open\|count\)\|fault: vmrec\|e2e: compared\|e2e: [0-9]* passed\|stress: ' "$logs"/*.log 2>/dev/null | tr -d '\r' | sort -u
	echo "total $((SECONDS - t_start))s; logs in $logs"
	((failed)) && echo "failed: ${failures[*]}"
} >&2
echo "check-debug: $passed passed, $failed failed"
((failed == 0))
