#!/bin/sh
# guest.sh PARTS - the guest side of scripts/bench.sh (busybox sh, in QEMU).
# PARTS: any of "ring" (atbench.ko: record cost) and "kvm" (kvm_amd avic=1
# force_avic=1: the BLOCKIRQ ioctl loop a/b/c, memory, reader, follow).
# Settings come from /payload/bench.env.  Everything measured goes to
# /tmp/out/*.txt (scripts/bench.sh collects it over ttyS1); a line
# "bench: ERROR ..." on the console and a non-zero exit report a failure.
. /payload/bench.env
out=/tmp/out
mkdir -p $out
P=/payload
D=/sys/kernel/debug/apicv_trace
T=/sys/kernel/tracing
rc=0
err() { echo "bench: ERROR $*"; echo "ERROR $*" >>$out/errors.txt; rc=1; }
note() { echo "bench: $*"; }

meminfo() { # meminfo TAG FILE: MemFree/Slab/... in kB + status memory_bytes
	{
		awk -v t="$1" '/^(MemFree|MemAvailable|Slab|SUnreclaim|SReclaimable|VmallocUsed|KernelStack|PageTables):/ { printf "%s %s=%s\n", t, substr($1, 1, length($1) - 1), $2 }' /proc/meminfo
		if [ -r $D/status ]; then
			echo "$1 memory_bytes=$(sed -n 's/^memory_bytes=//p' $D/status)"
		fi
	} >>"$2"
	cp /proc/slabinfo "$out/slabinfo.$1" 2>/dev/null
}

part_ring() {
	note "ring: insmod atbench.ko n=$RING_N runs=$RING_RUNS"
	dmesg -c >/dev/null
	if ! insmod $P/atbench.ko n=$RING_N runs=$RING_RUNS; then
		err "insmod atbench.ko failed"
	fi
	dmesg | grep -o 'atbench.*' >$out/ring.txt
	rmmod atbench 2>/dev/null
	grep -q 'atbench end' $out/ring.txt || err "atbench did not finish"
}

at_load() { # at_load [PARAM=V...]
	insmod $P/apicv_trace.ko "$@" || { err "insmod apicv_trace.ko $*"; return 1; }
	grep -q '^kvm=hooked' $D/status || err "apicv_trace not hooked: $(head -n 3 $D/status | tr '\n' ' ')"
}
at_unload() {
	rmmod apicv_trace || err "rmmod apicv_trace"
}
tp=$T/events/kvm/kvm_apicv_inhibit_changed/enable
tp_entries() { # events the trace buffer took (kept + overwritten)
	cat $T/per_cpu/cpu*/stats | awk '/^(entries|overrun):/ { s += $2 } END { print s + 0 }'
}

part_kvm() {
	modprobe kvm_amd avic=1 force_avic=1 || { err "modprobe kvm_amd"; return; }
	note "kvm_amd avic=$(cat /sys/module/kvm_amd/parameters/avic)"
	[ -e $tp ] || err "no tracepoint kvm_apicv_inhibit_changed"

	# 2. the ioctl loop: a (nothing), b (tracepoint), c (apicv_trace),
	# d (empty kretprobes on the same functions: the mechanism alone), e (d
	# plus a 256-entry table walk per call, like at_req_find()), f (one empty
	# kretprobe, on the setter only), g (plain kprobes, entry only, on the
	# same 2 functions), h (c's test build: prof.h times each handler and
	# part, printed at unload into prof.txt), i (c with setter_exit=Y: the
	# setter's return hooked, as before entry mode), j (c with a follow
	# file held open and never read: the stream is written), interleaved
	r=0
	while [ $r -lt $LOOP_ROUNDS ]; do
		for m in a b c d e f g h i j; do
			case $m in
			b) echo >$T/trace; echo 1 >$tp; echo 1 >$T/tracing_on; e0=$(tp_entries) ;;
			c) at_load || continue; e0=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status) ;;
			i) at_load setter_exit=Y || continue; e0=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status) ;;
			j) at_load || continue
			   sleep 100000 <$D/follow &
			   holder=$!
			   n=0
			   while ! grep -q 'follow_readers=1' $D/status && [ $n -lt 50 ]; do
				usleep 100000 2>/dev/null || sleep 1
				n=$((n + 1))
			   done
			   e0=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status) ;;
			d) insmod $P/atprobe.ko || { err "insmod atprobe.ko"; continue; }; e0=0 ;;
			e) insmod $P/atprobe.ko scan=256 || { err "insmod atprobe.ko scan=256"; continue; }; e0=0 ;;
			g) insmod $P/atprobe.ko ret=0 || { err "insmod atprobe.ko ret=0"; continue; }; e0=0 ;;
			f) insmod $P/atprobe.ko syms=__kvm_set_or_clear_apicv_inhibit || { err "insmod atprobe.ko (setter only)"; continue; }; e0=0 ;;
			h) dmesg -c >/dev/null
			   insmod $P/apicv_trace-test.ko || { err "insmod apicv_trace-test.ko"; continue; }
			   e0=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status) ;;
			esac
			line=$($P/kvmbench loop $LOOP_N) || err "kvmbench loop ($m)"
			case $m in
			b) echo 0 >$tp; e1=$(tp_entries); echo >$T/trace ;;
			c | i) e1=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status); at_unload ;;
			j) e1=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status)
			   grep -q 'follow_readers=1' $D/status || err "(j): no follow reader"
			   kill $holder; wait $holder 2>/dev/null; at_unload ;;
			h) e1=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status); at_unload
			   dmesg | sed -n "s/.*apicv_trace: prof: /round=$r /p" >>$out/prof.txt ;;
			d | e | f | g) e1=0; rmmod atprobe || err "rmmod atprobe" ;;
			*) e0=0 e1=0 ;;
			esac
			echo "mode=$m round=$r recorded=$((e1 - e0)) $line" >>$out/loop.txt
		done
		r=$((r + 1))
	done

	# 2c. a realistic workload: a guest that boots and reboots
	# (kvmdrive guest: its timer through the 8259 PIC, so IRQWIN flaps on
	# every tick, PIT reinject off), BOOT_ROUNDS times without and with
	# the module, interleaved; CPU seconds (user + sys, time -p) and wall
	r=0
	while [ $r -lt $BOOT_ROUNDS ]; do
		for m in none module; do
			if [ $m = module ]; then
				at_load || continue
				e0=$(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status)
			fi
			t=$(time -p $P/kvmdrive guest --no-reinject --reboots 3 --ticks $BOOT_TICKS 2>&1 >/tmp/boot.out) ||
				err "kvmdrive guest ($m): $(tail -n 2 /tmp/boot.out)"
			rec=0
			if [ $m = module ]; then
				rec=$(( $(sed -n 's/^events=\([0-9]*\).*/\1/p' $D/status) - e0 ))
				at_unload
			fi
			echo "mode=$m round=$r recorded=$rec $(echo "$t" | awk '/^(real|user|sys) / { printf "%s=%s ", $1, $2 }')$(sed -n 's/^SUMMARY .*\(ticks=[0-9]*\).*\(windows=[0-9]*\).*/\1 \2/p' /tmp/boot.out)" >>$out/boot.txt
		done
		r=$((r + 1))
	done

	# 3. memory: N VMs without the module, then with it
	ulimit -n 8192
	for n in $MEM_VMS; do
		for m in none module; do
			[ $m = module ] && { at_load max_vms=$((n + 200)) || continue; }
			sleep 1
			meminfo "before.$m.$n" $out/mem.txt
			rm -f /tmp/ready
			$P/kvmbench hold $n 0 /tmp/ready &
			pid=$!
			i=0
			while [ ! -e /tmp/ready ] && kill -0 $pid 2>/dev/null && [ $i -lt 6000 ]; do sleep 0.1; i=$((i + 1)); done
			[ -e /tmp/ready ] || err "hold $n VMs did not get ready"
			sleep 1	# the module's worker refills its spare pool
			meminfo "after.$m.$n" $out/mem.txt
			[ $m = module ] && grep -E '^(vms_live|memory_bytes|ring_size)' $D/status | sed "s/^/status.$n /" >>$out/mem.txt
			kill $pid; wait $pid
			[ $m = module ] && at_unload
		done
	done

	# 4. reader: READ_VMS VMs with full rings, read `events` READ_RUNS times
	at_load max_vms=$((READ_VMS + 200)) || return
	rm -f /tmp/ready
	$P/kvmbench hold $READ_VMS $READ_FILL /tmp/ready &
	pid=$!
	i=0
	while [ ! -e /tmp/ready ] && kill -0 $pid 2>/dev/null && [ $i -lt 30000 ]; do sleep 0.1; i=$((i + 1)); done
	[ -e /tmp/ready ] || err "hold $READ_VMS VMs (fill $READ_FILL) did not get ready"
	grep -E '^(events|vms_live|memory_bytes)' $D/status | sed 's/^/status /' >$out/read.txt
	$P/kvmbench read $D/events $READ_RUNS >>$out/read.txt || err "reading events"
	$P/kvmbench read $D/vms $READ_RUNS | sed 's/^read/readvms/' >>$out/read.txt || err "reading vms"
	kill $pid; wait $pid
	echo "clear" >/dev/null
	# follow latency (the VMs above are gone: only this one writes)
	$P/kvmbench latency $LAT_N $D/follow >$out/latency.txt || err "latency"
	at_unload
}

for p in "$@"; do
	case $p in
	ring) part_ring ;;
	kvm) part_kvm ;;
	*) err "unknown part $p" ;;
	esac
done
uname -r >$out/kernel.txt
grep -c ^processor /proc/cpuinfo >$out/cpus.txt
cat /sys/devices/system/clocksource/clocksource0/current_clocksource >$out/clocksource.txt
exit $rc
