#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The stress test (make stress), guest side. Runs as
# /payload/run.sh inside a QEMU TCG guest (busybox) on a real Debian
# kernel, against the real kvm and kvm_amd (avic=1 force_avic=1, as the
# e2e's avic1 boot), with apicv_trace.ko built for that kernel.
#
#   stress.sh [--short] [-d SECONDS]
#
# 1. churn: W processes (stressdrive churn) create and destroy VMs with vCPUs
#    for SECONDS, each VM driving BLOCKIRQ (6.1+) and PIT reinject
#    transitions from threads of its own; R readers read every file in a
#    loop and follow readers (blocking, poll, slow: a few bytes a second)
#    stream. Meanwhile apicv_trace is unloaded and loaded again every few
#    seconds (all files snapshotted before each rmmod), and now and then,
#    when the workers are paused between VMs, kvm_amd and kvm are unloaded
#    and loaded again (a quiet point: snapshot, clear=exited, memory back
#    to what the module had right after loading).
# 2. flood: ring_size=64, one VM toggles PIT reinject thousands of times
#    while another worker churns: the exited VMs' files before and after
#    must be byte-identical; the flooded VM's lost count exact.
# 3. the end: no apicv_trace vmalloc area, kmalloc objects or kmemleak
#    report left.
# The kernel's own tracepoint (kvm_apicv_inhibit_changed; 5.10:
# kvm_apicv_update_request) runs throughout, saved in segments (a kvm
# unload empties the trace buffer). Everything goes to $OUT, sent to the
# host on /dev/ttyS1 and checked by tests/stress/check_stress.py; checks
# easier here are made here ("OK name" / "FAIL name: why" in checks.txt).
set -u
P=/payload
OUT=/tmp/out
D=/sys/kernel/debug/apicv_trace
T=/sys/kernel/tracing
RUN=/tmp/stress	# the workers' pause file, the followers' gate, stop
KD=$P/kvmdrive	# the e2e's driver: flood
SD=$P/stressdrive	# churn, now, snapshot, follow
mkdir -p "$OUT/snap" "$OUT/trace" "$OUT/mem" "$RUN"
: >"$OUT/checks.txt"

SHORT=0 DUR=''
while [ $# -gt 0 ]; do
	case $1 in
	--short) SHORT=1 ;;
	-d) DUR=$2; shift ;;
	*) echo "usage: stress.sh [--short] [-d SECONDS]" >&2; exit 2 ;;
	esac
	shift
done
# short: what make check runs per line (1-2 minutes of boot); full: more
# of everything. CYCLE: seconds between module reloads; KVM_EVERY: seconds
# between kvm reloads (the short run makes one, in the middle).
if [ "$SHORT" = 1 ]; then
	DUR=${DUR:-75} WORKERS=2 READERS=2 VCPUS=2 TOGGLES=3 CYCLE=3 KVM_EVERY=$((DUR / 2))
	SLOW_FOLLOWERS=1 FLOOD=1500
else
	DUR=${DUR:-300} WORKERS=4 READERS=3 VCPUS=3 TOGGLES=4 CYCLE=2 KVM_EVERY=60
	SLOW_FOLLOWERS=2 FLOOD=5000
fi

# GEN, TP (the kernel's inhibit tracepoint), XD (5.10: --expect-disabled)
. "$P/kernel-line.sh"
KDX=$XD
# the e2e's avic1 arguments (tests/e2e/guest.sh kvm_amd_args)
if [ "$GEN" = 5.10 ]; then KVM_ARGS="avic=1"; else KVM_ARGS="avic=1 force_avic=1"; fi
# nothing evicted: every VM of a load stays readable until its snapshot;
# a follow stream of 64 records, so that readers fall behind within one
# load (a few seconds) and are told what they lost
AT_ARGS="max_exited=4096 max_vms=65536 stream_size=64"

ok() { echo "OK $1" >>"$OUT/checks.txt"; echo "stress: OK $1"; }
fail() { echo "FAIL $1: $2" >>"$OUT/checks.txt"; echo "stress: FAIL $1: $2"; }
check() { # check NAME CMD...: OK if CMD succeeds
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else fail "$name" "$*"; fi
}
figure() { echo "$1=$2" >>"$OUT/figures.txt"; }
now_ns() { $SD now | tr -d .; }
secs() { cut -d. -f1 /proc/uptime; }
event() { # event WHAT [k=v...]: the timeline, in apicv_trace's clock
	echo "$(now_ns) $*" >>"$OUT/timeline"
	echo "stress: $*"
}
nap() { usleep "$1" 2>/dev/null || sleep 1; }	# microseconds

# ---- memory ----------------------------------------------------------------
# /proc/vmallocinfo is read a page at a time, the area list unlocked in
# between: an area freed meanwhile (a process's vmalloc'ed stack, say) makes
# the next page start further on and skip areas. vmalloc_lines PATTERN:
# its lines that match, read until two reads in a row agree (at most 10).
vmalloc_lines() {
	prev=x
	for i in 1 2 3 4 5 6 7 8 9 10; do
		cur=$(grep -E "$1" /proc/vmallocinfo)
		[ "$cur" = "$prev" ] && break
		prev=$cur
	done
	[ -z "$cur" ] || printf '%s\n' "$cur"
}
# apicv_trace's vmalloc areas (rings): named while it is loaded
vm_areas() { vmalloc_lines '\[apicv_trace\]' | wc -l; }
# areas whose caller has no name: what a leaked area of an unloaded module
# looks like
vm_unnamed() { vmalloc_lines '^[^ ]+ +[0-9]+ +0x' | wc -l; }
status_val() { tr ' ' '\n' <"$D/status" | sed -n "s/^$1=//p" | head -n1; }

# ---- the module and its loads ---------------------------------------------
LOAD=0 SNAPS=0 UNLOADS=0 RMMOD_RETRIES=0
# The load's time is taken after insmod returned: a VM created before it
# may have been seen by some hooks and not by others (they are armed one
# by one), so check_stress.py accounts only VMs created after it.
load_at() { # load_at [PARAM=V...]: insmod, recorded as load number $LOAD
	LOAD=$((LOAD + 1))
	if insmod $P/apicv_trace.ko $AT_ARGS "$@"; then
		event load "load=$LOAD" "$@"
		return 0
	fi
	fail "insmod_$LOAD" "insmod $AT_ARGS $*"
	return 1
}
snapshot() { # snapshot TAG: every file of the current load
	SNAPS=$((SNAPS + 1))
	f=$OUT/snap/$LOAD.$SNAPS.$1
	event snap "load=$LOAD" "file=${f##*/}"
	$SD snapshot "$D" "$f" || fail "snapshot_$SNAPS" "stressdrive snapshot $D"
	# the rings as vmallocinfo shows them, for check_stress.py's accounting
	vmalloc_lines '\[apicv_trace\]' >"$f.vmalloc"
	event snapped "load=$LOAD" "file=${f##*/}"
}
followers_closed() { # up to 10 s for every follow reader to close the file
	i=0
	while [ "$(status_val follow_readers)" != 0 ]; do
		i=$((i + 1))
		[ $i -ge 100 ] && return 1
		nap 100000
	done
}
# rmmod fails while a reader has a file open (the module is pinned):
# retried, the retries counted as a figure
rmmod_retry() {
	i=0
	while ! rmmod "$1" 2>/dev/null; do
		i=$((i + 1))
		RMMOD_RETRIES=$((RMMOD_RETRIES + 1))
		[ $i -ge 300 ] && return 1
		nap 50000
	done
}
# The readers hold off while rmmod runs. The kernel has a window there:
# try_stop_module() drops the module's last reference before it marks the
# module GOING, and an open of one of its debugfs files in between makes
# debugfs WARN ("debugfs file owner did not clean up at exit"; 6.1.192
# kernel/module/main.c, fs/debugfs/file.c), for any module with debugfs
# files. readers_held: up to 10 s for every reader to stop between files
# (or to have ended).
readers_held() {
	i=0
	while [ "$(ls "$RUN" | grep -c '^held\.')" -lt "$READERS" ] && [ ! -e "$RUN/stop" ]; do
		i=$((i + 1))
		[ $i -ge 500 ] && return 1
		nap 20000
	done
}
unload_at() { # snapshot, unload, and check that nothing of it is left
	touch "$RUN/gate"
	followers_closed || fail "followers_close_$LOAD" "follow_readers=$(status_val follow_readers) after 10 s"
	snapshot "$1"
	touch "$RUN/rmmod"
	readers_held || fail "readers_held_$LOAD" "$(ls "$RUN" | grep -c '^held\.') of $READERS readers held after 10 s"
	if ! rmmod_retry apicv_trace; then
		rm -f "$RUN/rmmod"
		fail "rmmod_$LOAD" "rmmod apicv_trace failed 300 times"
		return 1
	fi
	rm -f "$RUN/rmmod"
	event unload "load=$LOAD"
	UNLOADS=$((UNLOADS + 1))
	n=$(vm_areas) u=$(vm_unnamed)
	[ "$n" = 0 ] || fail "vmalloc_freed_$LOAD" "$n apicv_trace vmalloc areas after rmmod"
	[ "$u" -le "$U0" ] || fail "vmalloc_unnamed_$LOAD" "$u vmalloc areas with an unnamed caller, $U0 at the start"
	[ ! -e "$D" ] || fail "debugfs_gone_$LOAD" "$D still there after rmmod"
	echo "load=$LOAD areas=$n unnamed=$u" >>"$OUT/mem/after_rmmod"
}
reload() { # reload TAG [PARAM=V...]: a module unload/load cycle
	tag=$1
	shift
	unload_at "$tag" || return 1
	load_at "$@"
	rm -f "$RUN/gate"
}

# ---- the tracepoint, in segments -------------------------------------------
SEG=0
trace_start() {
	SEG=$((SEG + 1))
	echo 0 >"$T/tracing_on"
	echo >"$T/trace"
	# one order for the lines of one VM from both CPUs: an atomic counter
	# (the global clock prints microseconds, and two lines of one VM made
	# on two CPUs within one microsecond came out swapped)
	echo counter >"$T/trace_clock"
	if echo 1 >"$T/events/kvm/$TP/enable" && grep -qx 1 "$T/events/kvm/$TP/enable"; then
		:
	else
		fail "trace_enable_$SEG" "cannot enable events/kvm/$TP"
	fi
	echo 1 >"$T/tracing_on"
	event trace_start "seg=$SEG"
}
trace_save() { # only when no VM is alive: nothing is missed while it is off
	echo 0 >"$T/tracing_on"
	event trace_stop "seg=$SEG"
	cat "$T/trace" | gzip >"$OUT/trace/$SEG.gz"
	cat "$T"/per_cpu/cpu*/stats >"$OUT/trace/$SEG.stats" 2>/dev/null
	echo 0 >"$T/events/kvm/$TP/enable"
	echo >"$T/trace"
}

# ---- quiet points: no VM alive -----------------------------------------------
QUIET=0
# quiet TAG: snapshot, then forget the exited VMs; the module's memory must
# come back to what it had right after it was loaded (the spare pool
# refilled), and as many rings as then
quiet() {
	QUIET=$((QUIET + 1))
	snapshot "quiet$1"
	echo exited >/sys/module/apicv_trace/parameters/clear
	i=0
	while :; do
		m=$(status_val memory_bytes) n=$(vm_areas)
		v=$(grep -c . "$D/vms")
		[ "$m" = "$M0" ] && [ "$n" = "$V0" ] && [ "$v" = 0 ] && break
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			fail "memory_back_$1" "memory_bytes=$m areas=$n vms=$v after clear=exited; after load: memory_bytes=$M0 areas=$V0"
			return
		fi
		nap 100000
	done
	ok "memory_back_$1"
	echo "quiet=$1 load=$LOAD memory_bytes=$m areas=$n" >>"$OUT/mem/quiet"
}

# ---- kvm reload -------------------------------------------------------------
KVM_RELOADS=0
kvm_idle() { # no /dev/kvm user: every worker is paused between VMs
	i=0
	while [ "$(cat /sys/module/kvm_amd/refcnt)" != 0 ]; do
		i=$((i + 1))
		[ $i -ge 1200 ] && return 1
		nap 100000
	done
}
kvm_reload() {
	touch "$RUN/pause"
	event pause
	if ! kvm_idle; then
		fail "kvm_idle_$KVM_RELOADS" "kvm_amd refcnt $(cat /sys/module/kvm_amd/refcnt) after 120 s"
		rm -f "$RUN/pause"
		return
	fi
	event kvm_idle
	quiet "kvm$KVM_RELOADS"
	trace_save
	if rmmod_retry kvm_amd && rmmod_retry kvm; then
		event kvm_unloaded
	else
		fail "kvm_unload_$KVM_RELOADS" "rmmod kvm_amd kvm"
	fi
	check "disarmed_without_kvm_$KVM_RELOADS" grep -q '^kvm=waiting' "$D/status"
	# the first time, apicv_trace too is reloaded while kvm is away
	if [ "$KVM_RELOADS" = 0 ]; then
		reload "nokvm"
		check loaded_without_kvm grep -q '^kvm=waiting' "$D/status"
	fi
	if modprobe kvm_amd $KVM_ARGS; then
		event kvm_loaded
	else
		fail "kvm_load_$KVM_RELOADS" "modprobe kvm_amd $KVM_ARGS"
	fi
	check "rearmed_after_kvm_$KVM_RELOADS" grep -q 'hook=setter .*state=armed' "$D/status"
	KVM_RELOADS=$((KVM_RELOADS + 1))
	trace_start
	rm -f "$RUN/pause"
	event resume
}

# ---- readers ------------------------------------------------------------------
# reader_hold N: while rmmod runs ($RUN/rmmod, unload_at), wait here, with
# no file open, saying so in $RUN/held.N
reader_hold() {
	[ -e "$RUN/rmmod" ] || return 0
	touch "$RUN/held.$1"
	while [ -e "$RUN/rmmod" ]; do nap 20000; done
	rm -f "$RUN/held.$1"
}
reader() { # reader N: every file, whole and in small pieces, until stop
	n=0
	while [ ! -e "$RUN/stop" ]; do
		for f in "$D"/status "$D"/reasons "$D"/vms "$D"/events "$D"/vm/*/state "$D"/vm/*/events; do
			reader_hold "$1"
			cat "$f" >/dev/null 2>&1
		done
		reader_hold "$1"
		dd if="$D/events" of=/dev/null bs=7 count=50 2>/dev/null
		reader_hold "$1"
		dd if="$D/vms" of=/dev/null bs=3 count=50 2>/dev/null
		n=$((n + 1))
	done
	echo "READER n=$1 passes=$n" >"$OUT/reader.$1"
}
FOLLOW_PIDS=''
follower() { # follower NAME MODE [BYTES MS]
	name=$1 mode=$2
	shift 2
	$SD follow "$D/follow" "$mode" "$RUN/stop" "$RUN/gate" "$@" >"$OUT/follow.$name" 2>&1 &
	FOLLOW_PIDS="$FOLLOW_PIDS $!"
}

# =============================================================================
uname -r >"$OUT/kernel"
echo "$GEN" >"$OUT/gen"
echo "$SHORT" >"$OUT/short"
figure duration_s "$DUR"
figure workers "$WORKERS"
[ "$GEN" != unknown ] || fail kernel_line "no expectations for $(uname -r)"
# thread ids must never be reused: they map the tracepoint's lines to VMs
echo 4194304 >/proc/sys/kernel/pid_max
check pid_max grep -qx 4194304 /proc/sys/kernel/pid_max

# slabinfo FILE: /proc/slabinfo once SLUB has shrunk every cache, which
# hands each CPU's current and partial slabs back to the node first;
# without it active_objs counts a CPU's slab as wholly in use (8 objects
# of kmalloc-4k), and two quiet points 2 CPUs apart could differ by 16
# objects with nothing leaked (seen once: 63 -> 79, 3 slabs more)
slabinfo() {
	for s in /sys/kernel/slab/*/shrink; do
		echo 1 >"$s" 2>/dev/null || true
	done
	cat /proc/slabinfo >"$1" 2>/dev/null
}

modprobe kvm_amd $KVM_ARGS || { fail load_kvm "modprobe kvm_amd $KVM_ARGS"; exit 1; }
# the start: no apicv_trace yet
U0=$(vm_unnamed)
slabinfo "$OUT/mem/slabinfo.before" 2>/dev/null
grep -E '^(Slab|SUnreclaim|VmallocUsed):' /proc/meminfo >"$OUT/mem/meminfo.before"
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo clear >/sys/kernel/debug/kmemleak
	echo 1 >"$OUT/mem/kmemleak"
fi
echo 65536 >"$T/buffer_size_kb"	# per CPU: the longest segment fits

load_at || exit 1
M0=$(status_val memory_bytes) V0=$(vm_areas)
cp "$D/status" "$OUT/mem/status.load"
vmalloc_lines '\[apicv_trace\]' >"$OUT/mem/vmalloc.load"
echo "memory_bytes=$M0 areas=$V0" >"$OUT/mem/load"
trace_start

# ---- 1. churn -----------------------------------------------------------------
WPIDS=''
for w in $(seq 1 "$WORKERS"); do
	$SD churn --seconds "$DUR" --vcpus "$VCPUS" --toggles "$TOGGLES" \
		--pause-file "$RUN/pause" >"$OUT/churn.$w" 2>&1 &
	WPIDS="$WPIDS $!"
done
RPIDS=''
for r in $(seq 1 "$READERS"); do
	reader "$r" &
	RPIDS="$RPIDS $!"
done
follower block block
follower poll poll
# slow: about a line a second (lines are ~180 bytes); crawl: 5 bytes a
# second, never a whole line before the next unload closes it
for s in $(seq 1 "$SLOW_FOLLOWERS"); do
	follower "slow$s" slow 16 100
done
follower crawl slow 5 1000
event churn_start "workers=$WORKERS" "readers=$READERS"

t0=$(secs)
next_kvm=$((t0 + KVM_EVERY))
alive() { for p in $WPIDS; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
k=0
while alive; do
	# 1 to CYCLE+1 s between cycles: loads of different lengths
	sleep $((1 + k % CYCLE))
	k=$((k + 1))
	alive || break
	t=$(secs)
	if [ "$t" -ge "$next_kvm" ] && [ "$t" -lt $((t0 + DUR - 10)) ]; then
		kvm_reload
		next_kvm=$((t + KVM_EVERY))
	else
		reload "cycle" || break
	fi
done
wfail=0
for p in $WPIDS; do wait "$p" || wfail=$((wfail + 1)); done
event churn_end
check churn_workers_ok [ "$wfail" = 0 ]
# the end of the churn: a quiet point of the last load
quiet end
trace_save

# ---- 2. flood -----------------------------------------------------------------
# ring_size=64: the flooded VM's ring wraps FLOOD*2/64 times; other VMs,
# made by a churn worker with few transitions each, fit
reload "preflood" ring_size=64
trace_start
# at least 3 VMs (the debug kernel, with kmemleak, KASAN and lockdep, takes
# about 2 s a VM)
S=3
[ -e /sys/kernel/debug/kmemleak ] && S=12
$SD churn --seconds $S --vcpus 1 --toggles 2 >"$OUT/flood.churn1" 2>&1 ||
	fail flood_churn1 "exit $?"
sleep 1
snapshot "flood_before"
$KD flood --toggles "$FLOOD" $KDX >"$OUT/flood.kvmdrive" 2>&1 &
fpid=$!
$SD churn --seconds 5 --vcpus 2 --toggles 2 >"$OUT/flood.churn2" 2>&1 ||
	fail flood_churn2 "exit $?"
wait $fpid || fail flood_kvmdrive "exit $?"
sleep 1
snapshot "flood_after"
trace_save
event flood_end

# ---- 3. the end ----------------------------------------------------------------
touch "$RUN/stop"
for p in $RPIDS; do wait "$p"; done
ffail=0
for p in $FOLLOW_PIDS; do wait "$p" || ffail=$((ffail + 1)); done
check followers_ok [ "$ffail" = 0 ]
unload_at final
figure loads "$LOAD"
figure unloads "$UNLOADS"
figure kvm_reloads "$KVM_RELOADS"
figure rmmod_retries "$RMMOD_RETRIES"
figure quiet_points "$QUIET"
figure readers "$READERS"
figure followers "$(echo $FOLLOW_PIDS | wc -w)"
grep -E '^(Slab|SUnreclaim|VmallocUsed):' /proc/meminfo >"$OUT/mem/meminfo.after"
slabinfo "$OUT/mem/slabinfo.after" 2>/dev/null
# One more load and unload with everything else quiet, VMs made and
# destroyed: the kmalloc objects of the VM records (check_stress.py
# knows their size) must come back to their number before (over the
# whole run, other users of the cache move it too much to tell)
slabinfo "$OUT/mem/slabinfo.q0"
insmod $P/apicv_trace.ko $AT_ARGS || fail insmod_quiet "insmod"
$SD churn --seconds 2 --vcpus 1 --toggles 1 >"$OUT/quiet.churn" 2>&1 || fail quiet_churn "exit $?"
rmmod_retry apicv_trace || fail rmmod_quiet "rmmod apicv_trace"
slabinfo "$OUT/mem/slabinfo.q1"
if [ -e /sys/kernel/debug/kmemleak ]; then
	# twice: kmemleak reports an object only from its second scan on
	echo scan >/sys/kernel/debug/kmemleak
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$OUT/mem/kmemleak.report"
fi
rmmod_retry kvm_amd && rmmod_retry kvm
check kvm_unload_end sh -c "! grep -q '^kvm ' /proc/modules"
gzip "$OUT"/snap/* "$OUT"/churn.* "$OUT"/flood.* 2>/dev/null
ok done
# the host's checker reads checks.txt too; this is for the console
! grep -q '^FAIL' "$OUT/checks.txt"
