#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The end-to-end suite, guest side. Runs as /payload/run.sh inside a QEMU
# TCG guest (busybox) on a real Debian kernel, against the real kvm and
# kvm_amd modules, with apicv_trace.ko built by DKMS on the host.
#
#   guest.sh avic1   AVIC state machine on (avic=1 force_avic=1)
#   guest.sh avic0   APICv off (avic=0): requests must show as dropped
#
# It drives KVM with kvmdrive, reads every apicv_trace file and the
# kernel's own tracepoint (kvm_apicv_inhibit_changed; 5.10:
# kvm_apicv_update_request), and writes it all to $OUT, which is sent to
# the host on /dev/ttyS1 (tar | base64) and checked there by check.py.
# Checks that are easier here are made here: each one writes "OK <name>"
# or "FAIL <name>: <why>" to $OUT/checks.txt.
#
# Kernel lines (GEN, from uname -r): 5.10, 6.1, 6.12, 7 (7.2 and later).
# 5.10 has no force_avic: AVIC stays off under TCG even with avic=1, so
# every scenario runs with --expect-disabled there and the "avic1" boot
# differs from "avic0" only in the parameter.
set -u
P=/payload
OUT=/tmp/out
D=/sys/kernel/debug/apicv_trace
T=/sys/kernel/tracing
PARAMS=/sys/module/apicv_trace/parameters
MODE=${1:-avic1}
mkdir -p "$OUT"
: >"$OUT/checks.txt"
# GEN, TP (the kernel's inhibit tracepoint), XD (5.10: --expect-disabled)
. "$P/kernel-line.sh"
KD=$XD

# the guest's uptime, s: on the console's OK/FAIL lines, to show where the time goes
up() { cut -d' ' -f1 /proc/uptime; }
ok() { echo "OK $1" >>"$OUT/checks.txt"; echo "e2e: OK $1 [$(up)]"; }
# vm_key_of FILE: the key of the first VM a running kvmdrive (or filetest)
# reports created in FILE, waiting up to 10 s for it; empty if none
vm_key_of() {
	i=0
	while ! grep -q '^VM vm=.* created' "$1" && [ $i -lt 100 ]; do
		usleep 100000 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	sed -n 's/^VM vm=\([^ ]*\) created.*/\1/p' "$1" | head -n 1
}
# stop_watchers DIR PID_TXT PID_JSON: SIGINT two `apicv-trace watch`es, their
# exit codes in DIR/watch.{txt,json}.rc; one that ignores SIGINT is killed
# after 5 s (exit 137)
stop_watchers() {
	kill -INT "$2" "$3"
	(sleep 5; kill -KILL "$2" "$3" 2>/dev/null) &
	killer=$!
	wait "$2"
	echo $? >"$1/watch.txt.rc"
	wait "$3"
	echo $? >"$1/watch.json.rc"
	kill $killer 2>/dev/null
	wait $killer 2>/dev/null
}
fail() { echo "FAIL $1: $2" >>"$OUT/checks.txt"; echo "e2e: FAIL $1: $2 [$(up)]"; }
check() { # check NAME CMD...: OK if CMD succeeds
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else fail "$name" "$*"; fi
}
kvm_amd_args() {
	if [ "$MODE" = avic0 ]; then
		echo "avic=0"
	elif [ "$GEN" = 5.10 ]; then
		echo "avic=1" # no force_avic: stays off without AVIC in CPUID
	else
		echo "avic=1 force_avic=1"
	fi
}
load_kvm() { modprobe kvm_amd $(kvm_amd_args); }
unload_kvm() { rmmod kvm_amd && rmmod kvm; }
snapshot() { # snapshot DIR: every apicv_trace file
	mkdir -p "$OUT/$1"
	for f in status reasons vms events; do cat "$D/$f" >"$OUT/$1/$f"; done
	for v in "$D"/vm/*; do
		[ -d "$v" ] || continue
		k=${v##*/}
		cat "$v/state" >"$OUT/$1/state.$k"
		cat "$v/events" >"$OUT/$1/events.$k"
	done
}
trace_on() { # trace_on DIR: KVM's inhibit tracepoint, from empty
	mkdir -p "$OUT/$1"
	echo 0 >"$T/tracing_on"
	echo 8192 >"$T/buffer_size_kb"
	echo >"$T/trace"
	# the event's format (its print fmt names the reasons, 6.12+)
	cat "$T/events/kvm/$TP/format" >"$OUT/$1/trace.format" 2>/dev/null
	if echo 1 >"$T/events/kvm/$TP/enable" && grep -qx 1 "$T/events/kvm/$TP/enable"; then
		ok "trace_enabled_$1"
	else
		fail "trace_enabled_$1" "cannot enable events/kvm/$TP"
	fi
	echo 1 >"$T/tracing_on"
}
trace_save() {
	echo 0 >"$T/tracing_on"
	echo 0 >"$T/events/kvm/$TP/enable"
	cat "$T/trace" >"$OUT/$1/trace"
	cat "$T/per_cpu/cpu0/stats" "$T/per_cpu/cpu1/stats" >"$OUT/$1/trace.stats" 2>/dev/null
}

uname -r >"$OUT/kernel"
echo "$MODE" >"$OUT/mode"
echo "$GEN" >"$OUT/gen"
[ "$GEN" != unknown ] || fail kernel_line "no expectations for $(uname -r)"

if [ "$MODE" = avic0 ]; then
	# ---- APICv off: every request KVM receives is dropped ----------
	load_kvm || { fail load_kvm "modprobe kvm_amd avic=0"; exit 1; }
	# every request recorded (log_noop=1), none lost (the guest's IRQ
	# windows make hundreds)
	insmod $P/apicv_trace.ko log_noop=1 ring_size=65536 || { fail insmod "log_noop=1"; exit 1; }
	# traced too: VM creation sets DISABLE(D) through the tracepoint
	trace_on avic0
	$P/kvmdrive avic0 >"$OUT/avic0/kvmdrive" 2>&1 || fail kvmdrive_avic0 "exit $?"
	# vCPU 256 (AVIC without x2AVIC refuses it, hence here, with avic=0)
	$P/kvmdrive seedpatch --expect-disabled >"$OUT/avic0/kvmdrive.seedpatch" 2>&1 ||
		fail kvmdrive_seedpatch "exit $?"
	# vCPU 255: an ordinary vCPU with APICv off (7.2+: no TOO_BIG request)
	$P/kvmdrive toobig --expect-disabled >"$OUT/avic0/kvmdrive.toobig" 2>&1 ||
		fail kvmdrive_toobig "exit $?"
	# IRQ windows: 6.1/6.12 ask and KVM drops, 7.2+ do not ask at all
	$P/kvmdrive guest --expect-disabled --reboots 1 >"$OUT/avic0/kvmdrive.guest" 2>&1 ||
		fail kvmdrive_guest "exit $?"
	trace_save avic0
	snapshot avic0
	if [ "$GEN" = 5.10 ]; then
		# 5.10's setter never looks at avic: nothing is dropped
		check avic0_nothing_dropped_510 sh -c "grep -q 'result=changed' $D/events && ! grep -q 'result=dropped' $D/events"
	else
		check avic0_dropped grep -q 'result=dropped' "$D/events"
	fi
	check unload rmmod apicv_trace
	unload_kvm
	exit 0
fi

# ---- 1. Loaded before kvm: waits, then arms when kvm arrives --------
insmod $P/apicv_trace.ko ring_size=65536 log_noop=1 ||
	{ fail insmod "before kvm"; exit 1; }
check waiting_for_kvm grep -q '^kvm=waiting' "$D/status"
load_kvm || { fail load_kvm "modprobe kvm_amd $(kvm_amd_args)"; exit 1; }
check armed_after_kvm grep -q 'hook=setter .*state=armed' "$D/status"

# ---- 2. The compared run: basic, two VMs, a guest that reboots ------
# log_noop=1 so that every setter call has a record to pair with the
# kernel's tracepoint, count for count; ring_size=65536 so none is lost.
trace_on compare
$P/kvmdrive basic $KD >"$OUT/compare/kvmdrive.basic" 2>&1 || fail kvmdrive_basic "exit $?"
$P/kvmdrive twovms $KD >"$OUT/compare/kvmdrive.twovms" 2>&1 || fail kvmdrive_twovms "exit $?"
# 6.12+: two vCPUs with one xAPIC ID, a bad logical ID
$P/kvmdrive aliases $KD >"$OUT/compare/kvmdrive.aliases" 2>&1 || fail kvmdrive_aliases "exit $?"
# vCPU 255: 7.2+ PHYSICAL_ID_TOO_BIG, 6.1/6.12 refuse it
$P/kvmdrive toobig $KD >"$OUT/compare/kvmdrive.toobig" 2>&1 || fail kvmdrive_toobig "exit $?"
$P/kvmdrive guest $KD --reboots 3 --bad-apic-id-on-reboot 2 \
	>"$OUT/compare/kvmdrive.guest" 2>&1 || fail kvmdrive_guest "exit $?"
# 5.10 has no IRQWIN: a flapping VM is PIT reinject toggled 8 times,
# 400 ms apart (17 changes in about 3 s, all inside the last minute)
if [ "$GEN" = 5.10 ]; then
	$P/kvmdrive flood $KD --toggles 8 --interval-ms 400 >"$OUT/compare/kvmdrive.flood" 2>&1 ||
		fail kvmdrive_flood "exit $?"
fi
# 7.2+: with PIT_REINJ set the guest's IRQ windows are absorbed by KVM's
# counter; without it they reach the setter (one tracepoint line each)
if [ "$GEN" = 7 ]; then
	$P/kvmdrive guest --no-reinject --reboots 1 >"$OUT/compare/kvmdrive.guest2" 2>&1 ||
		fail kvmdrive_guest2 "exit $?"
fi
trace_save compare
snapshot compare
# The kernel's own reason enum (BTF), to hold the names against (6.1+;
# 5.10 has #defines, nothing in BTF; the debug kernel (make check-debug) is
# built without BTF from the 6.1 line's source, whose names are checked there)
case $(uname -r) in
*-apicv-debug) echo "e2e: no BTF on the debug kernel: reason names are checked on the 6.1 line" ;;
*)
	if [ "$GEN" != 5.10 ]; then
		$P/kvmdrive btf-enum kvm_apicv_inhibit >"$OUT/compare/btf.enum" 2>&1 &&
			ok btf_enum || fail btf_enum "$(cat "$OUT/compare/btf.enum")"
	fi
	;;
esac

# ---- 2a. The apicv-trace command against the live module ----------
# (checked on the host by check.py: JSON against the schema, prom with
# promtool, list and show against the state files copied right before)
C=$P/apicv-trace
CO=$OUT/cmd
mkdir -p "$CO"
cmdrun() { # cmdrun NAME ARGS...: stdout NAME, stderr NAME.err, exit NAME.rc
	n=$1
	shift
	$C "$@" >"$CO/$n" 2>"$CO/$n.err"
	echo $? >"$CO/$n.rc"
}
cat "$D/vms" >"$CO/vms"
for v in "$D"/vm/*; do
	[ -d "$v" ] && cat "$v/state" >"$CO/state.${v##*/}"
done
cmdrun list.txt
cmdrun list.json --json list
cmdrun prom.txt prom
for v in "$D"/vm/*; do
	[ -d "$v" ] || continue
	cmdrun "show.${v##*/}.txt" show "${v##*/}"
	cmdrun "show.${v##*/}.json" --json show "${v##*/}"
done
cmdrun nosuchvm.txt show nosuchvm
# watch, text and JSON, on a guest that reboots twice, then SIGINT
$P/kvmdrive guest --reboots 2 --seconds 4 --hz 20 >"$CO/kvmdrive.watch" 2>&1 &
kpid=$!
wkey=$(vm_key_of "$CO/kvmdrive.watch")
echo "$wkey" >"$CO/watch.vm"
$C watch --vm "${wkey:-none}" >"$CO/watch.txt" 2>"$CO/watch.txt.err" &
w1=$!
$C --json watch --vm "${wkey:-none}" >"$CO/watch.json" 2>"$CO/watch.json.err" &
w2=$!
wait $kpid || fail kvmdrive_watch "exit $?"
sleep 1
cat "$D/vm/$wkey/state" >"$CO/watch.state" 2>/dev/null
stop_watchers "$CO" $w1 $w2

# ---- 2a+. apicv-trace verify: KVM's own tracepoint against follow ---
# While VMs change their inhibits (every reason kvmdrive basic knows, then
# a guest whose IRQWIN flaps, on 7.x without PIT reinject; 5.10: PIT
# reinject toggled), verify must say agree and exit 0 (cmd_checks.py).
# Then the test build with test_fault=names, a wrong name table: verify
# must say DISAGREE and exit 7 (6.1+; 5.10's kvm has neither BTF nor
# names in its tracepoint to hold names against).
verify_run() { # verify_run NAME: verify for 12 s while VMs flap
	$C verify -d 12 >"$CO/$1" 2>"$CO/$1.err" &
	vpid=$!
	sleep 2
	$P/kvmdrive basic $KD >"$CO/$1.kvmdrive" 2>&1
	case $GEN in
	5.10) $P/kvmdrive flood $KD --toggles 6 --interval-ms 300 >>"$CO/$1.kvmdrive" 2>&1 ;;
	# 7.x: KVM's counter absorbs IRQ windows while PIT_REINJ is set
	7) $P/kvmdrive guest --no-reinject --reboots 0 --seconds 3 --hz 20 >>"$CO/$1.kvmdrive" 2>&1 ;;
	*) $P/kvmdrive guest --reboots 0 --seconds 3 --hz 20 >>"$CO/$1.kvmdrive" 2>&1 ;;
	esac
	wait $vpid
	echo $? >"$CO/$1.rc"
}
verify_run verify.txt
if [ -e "$P/apicv_trace-test.ko" ] && [ "$GEN" != 5.10 ]; then
	rmmod apicv_trace && insmod "$P/apicv_trace-test.ko" test_fault=names ||
		fail insmod "test build, test_fault=names"
	cat "$D/reasons" >"$CO/verify-wrong.reasons"
	verify_run verify-wrong.txt
	rmmod apicv_trace || fail rmmod "after verify's wrong names"
fi

# ---- 2a++. reason_names=: names for bits nothing else names -----------
# (what `apicv-trace names --apply` writes). Bits 14 and 15 are unnamed on
# every line. A name given at load and one written later are taken; a bit
# keeps its first name, a name cannot be two bits', bad values change
# nothing (more bad values: tests/misuse/cases).
RN=$PARAMS/reason_names
if lsmod | grep -q '^apicv_trace '; then rmmod apicv_trace; fi
if insmod $P/apicv_trace.ko reason_names=15=E2E_SPARE; then
	check reason_names_load sh -c "grep -qx 'bit=15 reason=E2E_SPARE .*' $D/reasons && grep -qx '15=E2E_SPARE' $RN"
	check reason_names_write sh -c "echo 14=E2E_OTHER > $RN && grep -q '^bit=14 reason=E2E_OTHER ' $D/reasons && grep -qx '14=E2E_OTHER,15=E2E_SPARE' $RN"
	check reason_names_same_again sh -c "echo 14=E2E_OTHER,15=E2E_SPARE > $RN"
	check reason_names_rename_refused sh -c "! echo 15=E2E_NEW > $RN && grep -q '^bit=15 reason=E2E_SPARE ' $D/reasons"
	check reason_names_name_taken_refused sh -c "! echo 13=E2E_SPARE > $RN && ! grep -q '^bit=13 reason=E2E_SPARE' $D/reasons"
	n1=$(sed -n 's/^bit=1 reason=\([^ ]*\) .*/\1/p' "$D/reasons")
	check reason_names_kvm_name_refused sh -c "! echo 13=$n1 > $RN && ! grep -q '^bit=13 ' $D/reasons"
	check reason_names_twice_refused sh -c "! echo 13=E2E_A,12=E2E_A > $RN && ! grep -q 'E2E_A' $D/reasons"
	check reason_names_empty_nothing sh -c "echo > $RN && grep -qx '14=E2E_OTHER,15=E2E_SPARE' $RN"
	check reason_names_unload rmmod apicv_trace
else
	fail reason_names_load "insmod reason_names=15=E2E_SPARE"
fi

# ---- 2a+++. VMs that predate the module: listed at load, by name ------
# Two idle VMs (an in-kernel PIT in reinject mode: PIT_REINJ; nothing else
# ever happens to them) started before the module loads, their VMM given
# a name the way libvirt and QEMU do (-name guest=NAME,..., -name NAME;
# kvmdrive takes --name, the same option to QEMU): vms must list them right
# after the load with KVM's mask, and soon by name (cmd_checks.py).
rmmod apicv_trace 2>/dev/null
$P/kvmdrive idle $KD --seconds 15 --name guest=web-a,debug-threads=on >"$CO/idle.web-a" 2>&1 &
i1=$!
$P/kvmdrive idle $KD --seconds 15 --name db-b >"$CO/idle.db-b" 2>&1 &
i2=$!
i=0
while ! { grep -q '^IDLE' "$CO/idle.web-a" && grep -q '^IDLE' "$CO/idle.db-b"; } && [ $i -lt 100 ]; do
	usleep 100000 2>/dev/null || sleep 1
	i=$((i + 1))
done
vm_key_of "$CO/idle.web-a" >"$CO/adopt.web-a.key"
vm_key_of "$CO/idle.db-b" >"$CO/adopt.db-b.key"
if insmod $P/apicv_trace.ko ring_size=65536 log_noop=1; then
	cat "$D/vms" >"$CO/adopt.vms.load"
	cat "$D/status" >"$CO/adopt.status"
	i=0
	while [ "$(grep -c 'name=web-a\|name=db-b' "$D/vms")" -lt 2 ] && [ $i -lt 50 ]; do
		usleep 100000 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	cat "$D/vms" >"$CO/adopt.vms.named"
	k=$(cat "$CO/adopt.web-a.key")
	cat "$D/vm/$k/events" >"$CO/adopt.web-a.events" 2>/dev/null
	cmdrun adopt.list.txt
	cmdrun adopt.list.json --json list
	cmdrun adopt.show.web-a.txt show web-a
	cmdrun adopt.show.db-b.json --json show db-b
	cmdrun adopt.prom.live.txt prom
	wait $i1 $i2
	sleep 1
	cat "$D/vms" >"$CO/adopt.vms.exited"
	cmdrun adopt.prom.exited.txt prom
else
	fail insmod "with VMs running"
	wait $i1 $i2
fi

# ---- 2a++++. doctor and save on this host (cmd_checks.py) -----------
grep -c -w avic /proc/cpuinfo >"$CO/cpu.avic"
cmdrun doctor.txt doctor
cmdrun doctor.json --json doctor
cmdrun save.txt save /tmp/bundle
ls -R /tmp/bundle >"$CO/save.ls" 2>&1
cmdrun save.list.txt --dir /tmp/bundle list

# ---- 2a'. One open of events copies at most 65536 records ---------
# (tests/e2e/snapshot_cap.sh; the host checks it with cap_checks.py).
# About 40 s under TCG, for code that does not depend on the kernel
# version: on the oldest and the newest of the 6.x/7.x lines (and the
# debug kernel) only, as cap_checks.py expects.
case $(uname -r) in
6.1.* | 7.3.* | *-apicv-debug)
	rmmod apicv_trace && insmod $P/apicv_trace.ko ring_size=65536 log_noop=1 ||
		fail insmod "snapshot cap: ring_size=65536"
	. $P/snapshot_cap.sh
	snapshot_cap
	;;
esac

# ---- 2b. A ring that wraps: aggregates stay exact -----------------
# ring_size=16 and a guest whose IRQWIN flaps hundreds of times: check.py
# compares the VM's state with the tracepoint's counts of real changes.
# 7.2+ absorbs IRQWIN while PIT_REINJ is set, so the guest runs with PIT
# reinject off there (its IRQWIN changes then go through the setter).
# 5.10 has no IRQWIN without AVIC: PIT reinject is toggled instead, and
# the aggregates are compared with kvmdrive's count of toggles.
rmmod apicv_trace && insmod $P/apicv_trace.ko ring_size=16
trace_on wrap
case $GEN in
5.10) $P/kvmdrive flood $KD --toggles 200 >"$OUT/wrap/kvmdrive.flood" 2>&1 ||
	fail kvmdrive_wrap "exit $?" ;;
7) $P/kvmdrive guest --no-reinject --reboots 1 --seconds 3 --hz 200 >"$OUT/wrap/kvmdrive.guest" 2>&1 ||
	fail kvmdrive_wrap "exit $?" ;;
*) $P/kvmdrive guest --reboots 1 --seconds 3 --hz 200 >"$OUT/wrap/kvmdrive.guest" 2>&1 ||
	fail kvmdrive_wrap "exit $?" ;;
esac
trace_save wrap
snapshot wrap

# ---- 2c. Absorbed IRQ windows do not flood a VM's ring (7.2+) -----
# With PIT reinject on, 7.2+ absorbs two IRQWIN requests per interrupt
# window in its counter. Defaults (ring_size=256, log_noop=N): they are
# counted in state (absorbed=), not written to the ring, so the guest's
# boot and reboot keep every one of their own records.
if [ "$GEN" = 7 ]; then
	rmmod apicv_trace && insmod $P/apicv_trace.ko
	$P/kvmdrive guest --reboots 1 --seconds 4 --hz 200 >"$OUT/absorb.kvmdrive" 2>&1 ||
		fail kvmdrive_absorb "exit $?"
	sleep 1
	snapshot absorb
	check absorb_counted sh -c "grep -h '^reason=IRQWIN ' $OUT/absorb/state.* | grep -Eq ' absorbed=([3-9][0-9]{2}|[0-9]{4,})( |\$)'"
	check absorb_ring_kept sh -c "[ \$(grep -c . $OUT/absorb/vms) -eq 1 ] && grep -q ' lost=0 ' $OUT/absorb/vms && ! grep -q 'result=absorbed' $OUT/absorb/events"
fi

# ---- 3. follow: blocking, O_NONBLOCK + poll, many readers -----------
$P/followtest nonblock "$D/follow" -- $P/kvmdrive basic >"$OUT/follow.nonblock" 2>&1 &&
	ok follow_nonblock_poll || fail follow_nonblock_poll "$(cat "$OUT/follow.nonblock")"
# Four readers on an empty stream (fresh load) block until events come.
rmmod apicv_trace && insmod $P/apicv_trace.ko
pids=''
for i in 1 2 3 4; do
	$P/followtest count "$D/follow" 30 60 >"$OUT/follow.count.$i" 2>&1 &
	pids="$pids $!"
done
sleep 2
check follow_readers_block sh -c "[ \$(grep -c '^seq=' $OUT/follow.count.1) -eq 0 ] && grep -q follow_readers=4 $D/status"
# (5.10's basic makes only 8 records: PIT toggles make enough)
if [ "$GEN" = 5.10 ]; then
	$P/kvmdrive flood $KD --toggles 20 >/dev/null 2>&1
else
	$P/kvmdrive basic >/dev/null 2>&1
	$P/kvmdrive basic >/dev/null 2>&1
fi
readers_ok=0
for pid in $pids; do wait "$pid" && readers_ok=$((readers_ok + 1)); done
check follow_blocking_readers [ "$readers_ok" -eq 4 ]

# ---- 4. Bad input is refused and changes nothing ------------------
bad() { # bad PARAM VALUE: the write must fail and the value stay
	before=$(cat "$PARAMS/$1")
	if echo "$2" >"$PARAMS/$1" 2>/dev/null; then
		fail "param_$1_$2" "accepted"
	elif [ "$(cat "$PARAMS/$1")" != "$before" ]; then
		fail "param_$1_$2" "changed to $(cat "$PARAMS/$1")"
	else
		ok "param_$1_rejects_$2"
	fi
}
bad ring_size 0
bad ring_size 100
bad ring_size 131072
bad ring_size abc
bad max_vms 0
bad max_vms 99999999999
bad max_exited -1
bad max_exited 5000
bad clear 1
bad clear yes
bad clear ""
bad log_noop maybe
check param_ring_size_ok sh -c "echo 512 >$PARAMS/ring_size && grep -qx 512 $PARAMS/ring_size"
check stream_size_readonly sh -c "! echo 128 >$PARAMS/stream_size"
for f in status reasons vms events follow; do
	check "write_refused_$f" sh -c "! echo x >$D/$f"
done
check files_0444 sh -c "[ \$(find $D -type f | wc -l) -ge 5 ] && [ -z \"\$(find $D -type f ! -perm 0444)\" ]"
check insmod_bad_param sh -c "rmmod apicv_trace && ! insmod $P/apicv_trace.ko ring_size=3 && insmod $P/apicv_trace.ko"

# ---- 5. Exited VMs are bounded and clearable -----------------------
echo 2 >"$PARAMS/max_exited"
for i in 1 2 3 4; do $P/kvmdrive basic >/dev/null 2>&1; done
sleep 1
check max_exited_bounds sh -c "[ \$(grep -c 'status=exited' $D/vms) -eq 2 ]"
echo exited >"$PARAMS/clear"
sleep 1
check clear_exited sh -c "! grep -q 'status=exited' $D/vms"
echo 64 >"$PARAMS/max_exited"
# clear=events empties the history of live VMs, aggregates stay
$P/kvmdrive guest --reboots 0 --seconds 4 --hz 20 >/dev/null 2>&1 &
kpid=$!
sleep 2
echo events >"$PARAMS/clear"
check clear_events sh -c "! grep -q event=vm_create $D/events && grep -q 'reason=PIT_REINJ .* sets=1 ' $D/vm/*/state"
wait $kpid
echo exited >"$PARAMS/clear"

# ---- 5a. Eviction: by exit time, and a live VM beats an exited one --
# max_exited=2: a VM created first but exiting last (a long-lived VM
# that just went down, the post-mortem this tool is for) outlives two
# short VMs that exited before it, when a third short one exits.
echo 2 >"$PARAMS/max_exited"
$P/kvmdrive guest --reboots 0 --seconds 4 --hz 20 >/dev/null 2>&1 &
longpid=$!
sleep 1
$P/kvmdrive basic >/dev/null 2>&1
$P/kvmdrive basic >/dev/null 2>&1
wait $longpid
$P/kvmdrive basic >/dev/null 2>&1
sleep 1
cp "$D/vms" "$OUT/evict.exit_order.vms"
echo "$longpid" >"$OUT/evict.longpid"
check evict_by_exit_time sh -c "grep -q '^vm=$longpid-.* status=exited' $D/vms && [ \$(grep -c 'status=exited' $D/vms) -eq 2 ]"
echo exited >"$PARAMS/clear"
echo 64 >"$PARAMS/max_exited"
# max_vms=4, max_exited=64: at most 3 exited VMs are kept, and the sixth
# VM in a row is still tracked (records are evicted, not withheld)
rmmod apicv_trace
insmod $P/apicv_trace.ko max_vms=4
pids=''
for i in 1 2 3 4 5 6; do
	$P/kvmdrive basic >/dev/null 2>&1 &
	pids="$pids $!"
	wait $!
	sleep 0.3
done
sleep 1
cp "$D/vms" "$OUT/evict.cap.vms"
cp "$D/status" "$OUT/evict.cap.status"
echo "$pids" >"$OUT/evict.cap.pids"
last=${pids##* }
check evict_live_beats_exited sh -c "grep -q '^vm=$last-' $D/vms && grep -q 'vms_created=6\( \|\$\)' $D/status && grep -q 'pool_empty=0\( \|\$\)' $D/status && grep -q 'untracked=0\( \|\$\)' $D/status"
check evict_cap_exited sh -c "[ \$(grep -c 'status=exited' $D/vms) -eq 3 ]"
rmmod apicv_trace
insmod $P/apicv_trace.ko

# ---- 6. A VM that predates the module is adopted ------------------
rmmod apicv_trace
if [ "$GEN" = 5.10 ]; then
	# no IRQWIN on 5.10: PIT reinject toggles every 250 ms instead
	$P/kvmdrive flood $KD --toggles 40 --interval-ms 250 >"$OUT/adopt.kvmdrive" 2>&1 &
else
	$P/kvmdrive guest --reboots 0 --seconds 10 --hz 20 >"$OUT/adopt.kvmdrive" 2>&1 &
fi
kpid=$!
sleep 4
insmod $P/apicv_trace.ko
sleep 1
mkdir -p "$OUT/adopt"
cat "$D/events" >"$OUT/adopt/events"
cat "$D"/vm/*/state >"$OUT/adopt/state" 2>/dev/null
wait $kpid
check adopt_baseline grep -q 'event=baseline' "$OUT/adopt/events"

# ---- 7. kvm unloaded and loaded again: hooks follow ----------------
vm_creates() { grep -c 'event=vm_create' "$D/events"; }
rmmod kvm_amd && modprobe kvm_amd $(kvm_amd_args) && ok kvm_amd_reload || fail kvm_amd_reload "rmmod/modprobe kvm_amd"
check armed_after_kvm_amd_reload grep -q 'hook=setter .*state=armed' "$D/status"
before=$(vm_creates)
$P/kvmdrive basic >/dev/null 2>&1
check events_after_kvm_amd_reload [ "$(vm_creates)" -gt "$before" ]
unload_kvm && ok kvm_unload || fail kvm_unload "rmmod kvm_amd kvm"
check disarmed_without_kvm grep -q '^kvm=waiting' "$D/status"
load_kvm
check rearmed_after_reload grep -q 'hook=setter .*state=armed' "$D/status"
before=$(vm_creates)
$P/kvmdrive basic >/dev/null 2>&1
check events_after_reload [ "$(vm_creates)" -gt "$before" ]

# ---- 8. Unload: refused while follow is open, clean otherwise ------
exec 3<"$D/follow"
check unload_busy_while_follow_open sh -c "! rmmod apicv_trace"
exec 3<&-
check unload_after_follow_closed rmmod apicv_trace

# ---- 9. Load and unload while VMs come and go and events flow ------
# 12 cycles with VMs churning until they are done, or as many as 120 s
# allow but never fewer than 4 (a load arms its kprobes with text patching
# on both CPUs: 2-4 s each here under TCG); each cycle's start, loaded and
# unloaded uptimes go to unload_cycle_times
upsecs() { cut -d. -f1 /proc/uptime; }
rm -f /tmp/churn.stop
( while [ ! -e /tmp/churn.stop ]; do $P/kvmdrive basic >/dev/null 2>&1; done ) &
churn=$!
( while [ ! -e /tmp/churn.stop ]; do $P/kvmdrive twovms >/dev/null 2>&1; done ) &
churn2=$!
cycles=0
cycles_end=$(($(upsecs) + 120))
while [ $cycles -lt 12 ] && { [ $cycles -lt 4 ] || [ "$(upsecs)" -lt $cycles_end ]; }; do
	t0=$(up)
	insmod $P/apicv_trace.ko || break
	t1=$(up)
	cat "$D/events" "$D/vms" "$D/status" >/dev/null
	usleep 200000 2>/dev/null || sleep 1
	rmmod apicv_trace || break
	cycles=$((cycles + 1))
	echo "$cycles $t0 $t1 $(up)" >>"$OUT/unload_cycle_times"
done
touch /tmp/churn.stop
wait $churn $churn2
echo "$cycles" >"$OUT/unload_cycles"
check unload_cycles sh -c "[ $cycles -ge 4 ] && ! grep -q apicv_trace /proc/modules"

# ---- 10. A slow follow reader is told what it lost -----------------
insmod $P/apicv_trace.ko stream_size=64
if [ "$GEN" = 5.10 ]; then
	load="$P/kvmdrive flood $KD --toggles 60"
else
	load="$P/kvmdrive basic; $P/kvmdrive basic; $P/kvmdrive basic; $P/kvmdrive basic; $P/kvmdrive basic"
fi
$P/followtest slow "$D/follow" -- sh -c "$load" \
	>"$OUT/follow.slow" 2>&1 && ok follow_slow_lost || fail follow_slow_lost "$(cat "$OUT/follow.slow")"
snapshot final
rmmod apicv_trace && ok final_unload || fail final_unload "rmmod"
# the command with the module unloaded: exit 3
cmdrun unloaded.txt

# ---- 11. Bad input, misuse, security (tests/misuse/misuse.sh) -------
# Last: it ends with kernel lockdown on and apicv_trace unloaded.
. $P/misuse.sh
unload_kvm
exit 0
