#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the debug-kernel suite (scripts/check-debug.sh), two modes:
#
#   fault.sh faults     allocation failures injected with the kernel's
#                       fault-injection framework into apicv_trace:
#     load    fail-nth on finit_module(): every fault point of a load, hook
#             arming included (faultinj load): each load fails cleanly or
#             leaves a consistent module that unloads
#     open    fail-nth on open()+read() of every file (faultinj open)
#     vmrec   failslab and fail_page_alloc on the module's worker thread
#             alone (task filter, make-it-fail), which allocates the VM
#             records: VMs created while it fails are counted
#             (alloc_failed, pool_empty, untracked), later VMs are
#             tracked again
#     then kmemleak: a scan after the unload finds nothing
#   fault.sh lockdown   booted with lockdown=integrity: an unsigned
#                       apicv_trace is refused, the signed one loads,
#                       every file reads, writes are refused
#
# Writes "OK name" / "FAIL name: why" lines like the e2e (tests/e2e/guest.sh)
# and exits non-zero if any check failed.
set -u
P=/payload
D=/sys/kernel/debug/apicv_trace
F=/sys/kernel/debug
MODE=${1:-faults}
nfail=0

ok() { echo "fault: OK $1"; }
fail() { echo "fault: FAIL $1: $2"; nfail=$((nfail + 1)); }
check() { # check NAME CMD...
	name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "$*"; fi
}
status_val() { # status_val KEY: the value of KEY= in status
	tr ' ' '\n' <"$D/status" | sed -n "s/^$1=//p" | head -n1
}
files() { # every apicv_trace file
	for f in status reasons vms events follow "$D"/vm/*/state "$D"/vm/*/events; do
		case $f in /*) echo "$f" ;; *) echo "$D/$f" ;; esac
	done
}
kmemleak_clean() { # kmemleak_clean NAME: a scan reports nothing new
	echo scan >"$F/kmemleak"
	sleep 5
	echo scan >"$F/kmemleak"
	cat "$F/kmemleak" >/tmp/kmemleak.txt	# (debugfs files have no size: read it)
	if [ -n "$(cat /tmp/kmemleak.txt)" ]; then
		fail "$1" "kmemleak: $(grep -c unreferenced /tmp/kmemleak.txt) suspected leaks"
		cat /tmp/kmemleak.txt
	else
		ok "$1"
	fi
}

modprobe kvm_amd avic=1 force_avic=1 || { echo "fault: FAIL modprobe kvm_amd"; exit 1; }

if [ "$MODE" = lockdown ]; then
	grep -q '\[integrity\]' /sys/kernel/security/lockdown 2>/dev/null ||
		mount -t securityfs securityfs /sys/kernel/security
	check lockdown_integrity grep -q '\[integrity\]' /sys/kernel/security/lockdown
	if insmod "$P/apicv_trace-unsigned.ko" 2>/tmp/unsigned.err; then
		fail unsigned_refused "an unsigned module loaded under lockdown"
		rmmod apicv_trace
	else
		ok unsigned_refused
	fi
	check signed_loads insmod "$P/apicv_trace.ko"
	check vms "$P/faultinj" vms 4
	n=0
	for f in $(files); do
		if [ "${f##*/}" = follow ]; then
			# a stream from its open on: read while a VM makes records
			timeout 60 cat "$f" >/tmp/read.out 2>/dev/null &
			rp=$!
			sleep 1
			"$P/faultinj" vms 1 >/dev/null
			sleep 1
			kill "$rp"
			wait "$rp"
			grep -q '^seq=' /tmp/read.out || { fail "read_$f" "no record"; continue; }
		elif ! cat "$f" >/tmp/read.out || [ ! -s /tmp/read.out ]; then
			fail "read_$f" "unreadable or empty under lockdown"
			continue
		fi
		n=$((n + 1))
		if (echo x >"$f") 2>/dev/null; then fail "write_$f" "a write open succeeded"; fi
	done
	check "read_all_files($n)" [ "$n" -ge 9 ]
	check events_recorded [ "$(status_val events)" -ge 8 ]
	check unload rmmod apicv_trace
	check kvm_unload sh -c 'rmmod kvm_amd && rmmod kvm'
	echo "fault: lockdown: $n files read, $nfail failed"
	exit $((nfail != 0))
fi

# ---- faults -----------------------------------------------------------------
# Quiet injection (no stack dump per fault) into sleeping allocations too.
for a in failslab fail_page_alloc; do
	echo 0 >"$F/$a/verbose"
	echo N >"$F/$a/ignore-gfp-wait"
	echo 0 >"$F/$a/probability"
done
echo clear >"$F/kmemleak"

"$P/faultinj" count "$P/apicv_trace.ko"
check load_faults "$P/faultinj" load "$P/apicv_trace.ko"
check not_loaded_after [ ! -d /sys/module/apicv_trace ]

check load insmod "$P/apicv_trace.ko"
"$P/faultinj" vms 2 >/dev/null
# shellcheck disable=SC2046 # one argument per file
check open_faults "$P/faultinj" open $(files)
check follow_readers_back [ "$(status_val follow_readers)" = 0 ]

# VM records: they are allocated by the module's worker thread
# ("apicv_trace"); failslab and fail_page_alloc with the task filter fail
# every allocation of that thread, and of no other
kw=''
for p in /proc/[0-9]*; do
	[ "$(cat "$p/comm" 2>/dev/null)" = apicv_trace ] && kw=${p#/proc/}
done
check worker_thread [ -n "$kw" ]
created0=$(status_val vms_created)
for a in failslab fail_page_alloc; do
	echo Y >"$F/$a/task-filter"
	echo 1 >"$F/$a/interval"
	echo -1 >"$F/$a/times"
	echo 100 >"$F/$a/probability"
done
echo 1 >"/proc/$kw/make-it-fail"
echo 64 >/sys/module/apicv_trace/parameters/ring_size	# new spares: must fail
"$P/faultinj" vms 30
echo 0 >"/proc/$kw/make-it-fail"
for a in failslab fail_page_alloc; do
	echo 0 >"$F/$a/probability"
	echo N >"$F/$a/task-filter"
done
created1=$(status_val vms_created)
echo "fault: vmrec while failing: created $created0 -> $created1, alloc_failed=$(status_val alloc_failed) pool_empty=$(status_val pool_empty) untracked=$(status_val untracked)"
check vmrec_alloc_failed_counted [ "$(status_val alloc_failed)" -gt 0 ]
check vmrec_pool_empty_counted [ "$(status_val pool_empty)" -gt 0 ]
check vmrec_untracked_counted [ "$(status_val untracked)" -gt 0 ]
check vmrec_not_all_tracked [ "$((created1 - created0))" -lt 30 ]
# recovery: the worker refills after the next VM
"$P/faultinj" vms 1 >/dev/null
sleep 1
"$P/faultinj" vms 4 >/dev/null
created2=$(status_val vms_created)
check vmrec_tracked_again [ "$((created2 - created1))" -ge 4 ]
for f in $(files); do
	[ "${f##*/}" = follow ] && continue
	cat "$f" >/dev/null || fail "read_after_faults" "$f"
done
echo "fault: status after the faults:"
cat "$D/status"
check unload rmmod apicv_trace
check worker_gone [ ! -d "/proc/$kw" ]
check kvm_unload sh -c 'rmmod kvm_amd && rmmod kvm'
kmemleak_clean kmemleak_after_unload
echo "fault: faults: $nfail failed"
exit $((nfail != 0))
