#!/usr/bin/env bash
# Usage: scripts/bench.sh [--smoke] [-k LINE] [-o DIR] [--no-wait]
#
# `make bench`: measures, and prints one table (median, min, max
# over repeated runs) with the targets' verdicts:
#  1. record cost: ns per at_ring_write() of a struct at_rec, 1 and 2
#     writers on one ring, in a guest kernel against the kernel's own
#     tracing ring buffer (tests/bench/kmod/atbench.ko, same boot), and in
#     userspace against a mutex-protected ring (tests/bench/ubench), with
#     callgrind's instructions per write;
#  2. the BLOCKIRQ KVM_SET_GUEST_DEBUG ioctl loop in the guest (kvm_amd
#     avic=1 force_avic=1): (a) nothing traced, (b) the
#     kvm_apicv_inhibit_changed tracepoint into ftrace, (c) apicv_trace
#     loaded, (d) empty kretprobes on the same functions (the mechanism
#     alone), (e) d plus a 256-entry table walk per call, (f) one empty
#     kretprobe (the setter only), (g) empty plain kprobes on the same 2,
#     (h) c's test build (AT_TEST_FAULTS: module/prof.h times each handler
#     and its parts: where c's time goes), (i) c with setter_exit=Y (the
#     setter's return hooked, the mechanism entry mode replaces on 6.1 and
#     6.12), (j) c with a follow file held open and never read (the stream
#     written), interleaved a..j, a..j, ...;
#  2c. a realistic workload: a guest booting and rebooting (kvmdrive guest,
#     IRQWIN flapping through the 8259 PIC) without and with the module,
#     interleaved: CPU time per run, the ratio and its spread;
#  3. memory per VM and for 1, 100, 1000 VMs (status memory_bytes, checked
#     against MemFree/Slab/slabinfo deltas with and without the module);
#  4. reading `events` with many VMs and full rings; `follow` latency.
# Guests: LINE's Debian kernel (default 6.1) in QEMU.  Part 1 also runs in
# its own boot on the host's /dev/kvm when that boots a guest, else on
# multi-threaded TCG (2 writers in parallel; no VMs are created there, so
# qemu-run.sh's reason for thread=single does not apply); parts 1-4 run on
# single-threaded TCG (qemu-run.sh's setting: VMs are created).  The full
# run first waits (up to 15 min) for no other qemu-system process and a
# 1-minute load below 0.5 (--no-wait skips that).
# --smoke: one short boot (seconds of measuring), no timing targets; fails
# if anything errors or a figure is missing.
# Output: the table on stdout; raw data in DIR (default
# $APICV_CACHE/bench/{full,smoke}).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$SCRIPTS_DIR/.." && pwd)
smoke=0 line=6.1 out='' wait=1
while (($#)); do
	case $1 in
	--smoke) smoke=1 ;;
	--no-wait) wait=0 ;;
	-k) line=$2; shift ;;
	-o) out=$2; shift ;;
	*) sed -n '2,/^set -e/{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
	esac
	shift
done
[[ $(id -u) == 0 ]] || die "run as root (build root chroot)"
mode=$([[ $smoke == 1 ]] && echo smoke || echo full)
out=${out:-$APICV_CACHE/bench/$mode}
rm -rf "$out"
mkdir -p "$out"

if ((smoke)); then
	UB_ARGS="-n 100000 -r 3"
	ENV="RING_N=5000 RING_RUNS=3 LOOP_N=2000 LOOP_ROUNDS=3 BOOT_ROUNDS=1 BOOT_TICKS=20 MEM_VMS='1 10' READ_VMS=4 READ_FILL=300 READ_RUNS=3 LAT_N=10"
else
	UB_ARGS="-n 2000000 -r 9"
	ENV="RING_N=${BENCH_RING_N:-400000} RING_RUNS=7 LOOP_N=${BENCH_LOOP_N:-100000} LOOP_ROUNDS=${BENCH_LOOP_ROUNDS:-9} BOOT_ROUNDS=${BENCH_BOOT_ROUNDS:-9} BOOT_TICKS=300 MEM_VMS='1 100 1000' READ_VMS=100 READ_FILL=300 READ_RUNS=5 LAT_N=100"
fi
meta() { echo "$1=$2" >>"$out/meta.txt"; }
meta date "$(date -u +%FT%TZ)"
meta host "$(nproc)-core $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1) ($(grep -q hypervisor /proc/cpuinfo && echo 'itself a VM' || echo 'bare metal')), host kernel $(uname -r)"
meta settings "ubench $UB_ARGS; guest $ENV"

# ---- builds -----------------------------------------------------------------
make -s -C "$top/tests/bench" >&2
make -s -C "$top/tests/e2e" >&2	# kvmdrive: the realistic workload (2c)
kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line")
root=$("$SCRIPTS_DIR/buildroot.sh" "$line" | tail -n1)
[[ -d $root ]] || die "no build root for $line"
log "atbench.ko: building in $root against $kver"
(
	# the root's lock (buildroot.sh takes it too): one build in the root at a time
	exec 9>"$(dirname "$root")/.locks/$(basename "$root").lock"
	flock -w 3600 9 || die "timeout waiting for the lock on $root"
	b=$root/tmp/apicv-atbench.$$
	rm -rf "$b"
	mkdir -p "$b/module" "$b/tests/bench/kmod"
	cp "$top"/module/{ring.h,ring_port.h,record.h} "$b/module/"
	cp "$top"/tests/bench/kmod/{Kbuild,atbench.c,atprobe.c} "$b/tests/bench/kmod/"
	chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		make -C "/lib/modules/$kver/build" M="/tmp/apicv-atbench.$$/tests/bench/kmod" modules \
		>"$out/atbench-build.log" 2>&1 || { tail -n 20 "$out/atbench-build.log" >&2; die "atbench.ko does not build"; }
	cp "$b/tests/bench/kmod/atbench.ko" "$b/tests/bench/kmod/atprobe.ko" "$out/"
	rm -rf "$b"
)
log "apicv_trace.ko: buildroot.sh $line --dkms-build"
ko=$("$SCRIPTS_DIR/buildroot.sh" "$line" --dkms-build "$top" | tail -n1)
[[ -e $ko ]] || die "no apicv_trace.ko from buildroot.sh --dkms-build"
log "apicv_trace-test.ko (the profile of loop mode h): buildroot.sh $line --w1"
"$SCRIPTS_DIR/buildroot.sh" "$line" --w1 "$top" >"$out/test-build.log" 2>&1 ||
	{ tail -n 20 "$out/test-build.log" >&2; die "the test build (buildroot.sh $line --w1) failed"; }
tko=$APICV_CACHE/ko-test/$line/apicv_trace-test.ko
[[ -e $tko ]] || die "no $tko from buildroot.sh --w1"

payload=$(mktemp -d "${TMPDIR:-/tmp}/apicv-bench.XXXXXX")
initrd=$(mktemp "${TMPDIR:-/tmp}/apicv-bench-initrd.XXXXXX")
ttys1=$(mktemp "${TMPDIR:-/tmp}/apicv-bench-ttyS1.XXXXXX")
qpid=''
trap '[[ -n $qpid ]] && kill "$qpid" 2>/dev/null; rm -rf "$payload" "$initrd" "$ttys1"' EXIT
ko_unpack "$ko" "$payload/apicv_trace.ko"
cp "$tko" "$payload/apicv_trace-test.ko"
cp "$out/atbench.ko" "$out/atprobe.ko" "$top/tests/bench/guest.sh" "$top/tests/bench/build/kvmbench" \
	"$top/tests/e2e/kvmdrive" "$payload/"
echo "$ENV" >"$payload/bench.env"

# ---- userspace ----------------------------------------------------------------
ub=$top/tests/bench/build/ubench
cg_ir() { # cg_ir IMPL N: instructions of `ubench -c IMPL -n N`
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$ub" -c "$1" -n "$2" 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
userspace() {
	local impl a b n1=100000
	log "userspace: ubench $UB_ARGS"
	# shellcheck disable=SC2086
	"$ub" $UB_ARGS >"$out/ubench.txt" || die "ubench failed"
	if command -v valgrind >/dev/null; then
		for impl in at_ring mutex; do
			a=$(cg_ir $impl $n1) b=$(cg_ir $impl $((2 * n1)))
			[[ -n $a && -n $b ]] || die "callgrind failed for $impl"
			echo "cg impl=$impl ir_per_write=$(awk -v a="$a" -v b="$b" -v n=$n1 'BEGIN { printf "%.1f", (b - a) / n }')" >>"$out/callgrind.txt"
		done
	fi
}

# ---- guests -------------------------------------------------------------------
EPYC_TCG=EPYC,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
SPLAT_RE='BUG:|WARNING:|Oops|Call Trace|KASAN|possible circular locking|inconsistent lock state|suspicious RCU usage|Kernel panic|general protection fault'

# guest NAME ACCEL CPU TIMEOUT PARTS...: boot with run.sh = guest.sh PARTS,
# unpack /tmp/out into $out/NAME.  A copy of qemu-run.sh's boot with the
# accelerator as a parameter.  Returns 0 if run.sh passed with no splat.
# tsc=reliable: the clocksource is the TSC, as on the hosts the module is
# for. Under TCG the guest kernel distrusts the emulated TSC and falls
# back to the HPET, whose every read is an emulated MMIO access: the
# module's CLOCK_BOOTTIME stamp of each record would then cost several
# times what it costs on a host (ftrace's own trace clock never reads the
# clocksource). docs/performance.md has the figures both ways.
guest() {
	local name=$1 accel=$2 cpu=$3 tmo=$4 logf rc rcline
	shift 4
	logf=$out/$name.log
	cat >"$payload/run.sh" <<RUN
sh /payload/guest.sh $*
rc=\$?
stty -F /dev/ttyS1 raw 2>/dev/null
tar -C /tmp/out -cf - . | base64 >/dev/ttyS1
exit \$rc
RUN
	"$SCRIPTS_DIR/mkinitramfs.sh" -k "$line" -p "$payload" -o "$initrd" 2>/dev/null
	: >"$ttys1"
	log "guest $name: $kver, -accel $accel, -cpu ${cpu%%,*}, parts: $* (log $logf)"
	set +e
	timeout -k 10 "$tmo" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp 2 -m 3072 \
		-display none -monitor none -serial "file:$logf" -serial "file:$ttys1" \
		-no-reboot -nic none -kernel "$(kline_dir "$line")/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0,115200 panic=-1 mitigations=off oops=panic tsc=reliable" </dev/null >"$out/$name.qemu" 2>&1 &
	qpid=$!
	wait "$qpid"
	qpid=''
	set -e
	rcline=$(tr -d '\r' <"$logf" | grep -aoE '^APICV-RC=[0-9]+' | tail -n1 || true)
	[[ -n $rcline ]] || { log "guest $name: no APICV-RC line (timeout/crash)"; return 1; }
	mkdir -p "$out/$name"
	tr -d '\r' <"$ttys1" | base64 -di | tar -x -C "$out/$name" || { log "guest $name: no output"; return 1; }
	rc=${rcline#APICV-RC=}
	if tr -d '\r' <"$logf" | grep -aqE "$SPLAT_RE"; then
		log "guest $name: kernel splat in $logf"
		tr -d '\r' <"$logf" | grep -aE "$SPLAT_RE" | head -n 5 >&2
		return 1
	fi
	((rc == 0)) || { log "guest $name: run.sh exit $rc"; grep -a 'bench: ERROR' "$logf" >&2 || true; return 1; }
	meta "accel.$name" "$accel"
	return 0
}

# kvm_usable: does the host's /dev/kvm boot this guest?  (Not on a host whose
# KVM cannot run a stock kernel, e.g. a paravirtual "kvm-pvm".)
kvm_usable() {
	[[ -r /dev/kvm && -w /dev/kvm ]] || return 1
	local p
	p=$(mktemp -d "${TMPDIR:-/tmp}/apicv-kvmprobe.XXXXXX")
	echo 'exit 0' >"$p/run.sh"
	"$SCRIPTS_DIR/mkinitramfs.sh" -k "$line" -p "$p" -o "$p/initrd" 2>/dev/null
	timeout -k 5 25 qemu-system-x86_64 -accel kvm -cpu host -smp 2 -m 512 -display none \
		-monitor none -serial "file:$p/log" -no-reboot -nic none \
		-kernel "$(kline_dir "$line")/vmlinuz" -initrd "$p/initrd" \
		-append "console=ttyS0 panic=-1" </dev/null >/dev/null 2>&1 || true
	local ok=1
	grep -aq 'APICV-RC=0' "$p/log" 2>/dev/null && ok=0
	rm -rf "$p"
	return $ok
}

wait_quiet() {
	local t0=$SECONDS l q
	while :; do
		l=$(cut -d' ' -f1 /proc/loadavg)
		q=$(pgrep -c qemu-system || true)
		if [[ $q == 0 ]] && awk -v l="$l" 'BEGIN { exit !(l < 0.5) }'; then
			log "quiet: load $l, no other qemu-system"
			break
		fi
		if ((SECONDS - t0 > 900)); then
			log "WARNING: still busy after 15 min (load $l, $q qemu-system): measuring anyway"
			break
		fi
		sleep 15
	done
}

rc=0
if ((smoke)); then
	meta other_qemu "$(pgrep -c qemu-system || true)"
	meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
	userspace
	guest all tcg,thread=single "$EPYC_TCG" 900 ring kvm || rc=1
	meta accels "tcg,thread=single (smoke)"
else
	accel_ring=tcg,thread=multi cpu_ring=$EPYC_TCG
	if kvm_usable; then
		accel_ring=kvm cpu_ring=host
		log "host /dev/kvm boots the guest: part 1 on KVM"
	else
		log "host /dev/kvm cannot boot the guest: part 1 on multi-threaded TCG"
		meta kvm_probe "host /dev/kvm did not boot the guest (see host dmesg); TCG"
	fi
	((wait)) && wait_quiet
	meta other_qemu "$(pgrep -c qemu-system || true)"
	meta load_before "$(cut -d' ' -f1-3 /proc/loadavg) ($(date -u +%T))"
	userspace
	guest ring "$accel_ring" "$cpu_ring" 1200 ring || rc=1
	guest kvm tcg,thread=single "$EPYC_TCG" 3000 ring kvm || rc=1
	meta accels "part 1: $accel_ring and tcg,thread=single; parts 2-4: tcg,thread=single (-cpu EPYC, nested SVM)"
fi
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg) ($(date -u +%T))"
for g in "$out"/*/; do
	[[ -e $g/kernel.txt ]] && { meta guest_kernel "$(cat "$g/kernel.txt")"; meta guest_cpus "$(cat "$g/cpus.txt")"
		meta guest_clocksource "$(cat "$g/clocksource.txt" 2>/dev/null)"; break; }
done
rargs=("$out")
((smoke)) && rargs+=(--smoke)
python3 "$top/tests/bench/report.py" "${rargs[@]}" >"$out/table.txt" || rc=1
cat "$out/table.txt"
log "raw data: $out"
exit $rc
