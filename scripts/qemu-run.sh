#!/usr/bin/env bash
# Usage: scripts/qemu-run.sh -k LINE -p PAYLOAD_DIR [-m MEM_MB] [-a "CMDLINE"]
#                            [-t TIMEOUT_S] [-l LOGFILE] [-c CPU] [-s SMP] [-M "MOD..."]
#                            [-o OUTDIR]
#
# Boot kernel LINE (kernels.conf) under QEMU TCG with an initramfs holding
# PAYLOAD_DIR at /payload, run `sh /payload/run.sh` as the guest's job and
# exit with its exit code.  The serial console goes to stdout and LOGFILE.
# Fails (non-zero) if no APICV-RC line appears (timeout, panic, crash) or if
# the log shows a kernel splat (BUG:, WARNING:, Oops, Call Trace, lockdep...).
# Defaults: -m 1024 -t 600 -c EPYC(minus features TCG lacks) -s 2 -l $APICV_CACHE/logs/LINE-last.log
# -M adds modules (with dependencies) to the initramfs besides kvm_amd.
# -o OUTDIR: the guest's second serial port (/dev/ttyS1) is captured; what
# the guest writes there as `tar c | base64` is unpacked into OUTDIR.
# Exit: run.sh's exit code; 125 no APICV-RC line; 126 run.sh exited 0 but
# the log has a splat; 2 usage error.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2; }
# EPYC gives svm+npt (AuthenticAMD, family 17h).  The masked features are ones
# TCG cannot emulate anyway; masking only silences QEMU's warnings about them.
EPYC_TCG=EPYC,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
outdir='' line='' payload='' mem=1024 append='' timeout=600 logfile='' cpu=$EPYC_TCG smp=2 mods=''
while getopts k:p:m:a:t:l:c:s:M:o:h opt; do
	case $opt in
	k) line=$OPTARG ;;
	p) payload=$OPTARG ;;
	m) mem=$OPTARG ;;
	a) append=$OPTARG ;;
	t) timeout=$OPTARG ;;
	l) logfile=$OPTARG ;;
	c) cpu=$OPTARG ;;
	s) smp=$OPTARG ;;
	M) mods=$OPTARG ;;
	o) outdir=$OPTARG ;;
	*) usage ;;
	esac
done
[[ -n $line && -n $payload ]] || usage
logfile=${logfile:-$APICV_CACHE/logs/$line-last.log}
mkdir -p "$(dirname "$logfile")"

# Kernel splats that fail a run even when run.sh succeeded.
SPLAT_RE='BUG:|WARNING:|Oops|Call Trace|KASAN|UBSAN:|suspected memory leak|possible circular locking|inconsistent lock state|suspicious RCU usage|Kernel panic|general protection fault'

kver=$(kernel_kver "$line")
kd=$(kline_dir "$line")
initrd=$(mktemp "${TMPDIR:-/tmp}/apicv-initrd.XXXXXX")
ttys1=$(mktemp "${TMPDIR:-/tmp}/apicv-ttyS1.XXXXXX")
pidf=$(mktemp "${TMPDIR:-/tmp}/apicv-qemu-pid.XXXXXX")
hungf=$(mktemp "${TMPDIR:-/tmp}/apicv-qemu-hung.XXXXXX")
trap 'rm -f "$initrd" "$ttys1" "$pidf" "$hungf"' EXIT
"$SCRIPTS_DIR/mkinitramfs.sh" -k "$line" -p "$payload" -o "$initrd" ${mods:+-M "$mods"}

# TCG only: never the host's /dev/kvm. Single-threaded TCG: QEMU 7.2's
# multi-threaded TCG sometimes keeps executing a stale translation of code
# the guest kernel has just patched (the int3 of a jump-label update that
# KVM triggers on every VM create/destroy), and the guest hangs in an
# endless int3 loop, with or without apicv_trace (seen in 3 of 4 boots
# that create 75 VMs; never with thread=single, which is no slower here).
# mitigations=off: faster under TCG and no "Speculative Return Stack
# Overflow: WARNING: ..." notice for the EPYC model.
# apicv.watchdog: the guest's /init shows its tasks before the timeout, a
# twentieth of it before (at least 20 s: a debug kernel is slow to list them)
wdarg=''
((timeout > 60)) && wdarg="apicv.watchdog=$((timeout - (timeout / 20 > 20 ? timeout / 20 : 20)))"
cmdline="console=ttyS0,115200 panic=-1 mitigations=off $wdarg $append"
# A guest kernel that hangs in its own early boot, before /init runs (so
# before anything of the test ran, apicv_trace included), is booted once more:
# a TCG hiccup, not a test result (seen once in some 30 boots: 7.2 stuck
# switching to tsc-early after "hpet0: 3 comparators").  It is told by the
# /init's APICV-INIT line not showing within boot_deadline seconds (a few
# seconds normally, under a minute on a debug kernel).  A second early hang,
# or any hang after /init, fails as a timeout; the hung attempt's log is kept
# as LOGFILE.early-hang.
boot_deadline=180
for attempt in 1 2; do
	log "booting $kver (${cpu%%,*}, smp $smp, ${mem}M, timeout ${timeout}s), log: $logfile"
	: >"$pidf"
	rm -f "$hungf"
	watcher=''
	if ((attempt == 1 && timeout > 2 * boot_deadline)); then
		(
			for ((i = 0; i < boot_deadline; i++)); do
				sleep 1
				grep -aq 'APICV-INIT:' "$logfile" 2>/dev/null && exit 0
			done
			pid=$(cat "$pidf" 2>/dev/null || true)
			[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || exit 0
			touch "$hungf"
			kill "$pid"
		) &
		watcher=$!
	fi
	start=$(date +%s%N)
	set +e
	timeout -k 10 "$timeout" qemu-system-x86_64 \
		-accel tcg,thread=single -cpu "$cpu" -smp "$smp" -m "$mem" \
		-display none -monitor none -serial stdio -serial "file:$ttys1" \
		-no-reboot -nic none -pidfile "$pidf" \
		-kernel "$kd/vmlinuz" -initrd "$initrd" -append "$cmdline" \
		</dev/null 2>&1 | tee "$logfile"
	qrc=${PIPESTATUS[0]}
	if [[ -n $watcher ]]; then
		kill "$watcher" 2>/dev/null
		wait "$watcher" 2>/dev/null
	fi
	set -e
	[[ -e $hungf ]] || break
	cp "$logfile" "$logfile.early-hang"
	log "NOTE: the guest kernel hung in early boot (no APICV-INIT line after ${boot_deadline}s; nothing of the test had run): booting once more; the hung log is $logfile.early-hang"
	tr -d '\r' <"$logfile" | tail -n 5 >&2
done
ms=$((($(date +%s%N) - start) / 1000000))
secs=$((ms / 1000)).$((ms % 1000 / 100))

if splats=$(tr -d '\r' <"$logfile" | grep -anE "$SPLAT_RE"); then
	log "kernel splat in $logfile:"
	printf '%s\n' "$splats" | head -n 20 >&2
fi
# (no $ anchor: a printk may land on the same console line after the digits)
rcline=$(tr -d '\r' <"$logfile" | grep -aoE '^APICV-RC=[0-9]+' | tail -n1 || true)
if [[ -z $rcline ]]; then
	if [[ $qrc == 124 || $qrc == 137 ]]; then
		log "FAIL: no APICV-RC line: guest timed out after ${timeout}s"
		# where it hung: the watchdog's task list (or the last lines)
		if tr -d '\r' <"$logfile" | grep -aq '^APICV-WATCHDOG:'; then
			tr -d '\r' <"$logfile" | sed -n '/^APICV-WATCHDOG:/,$p' | grep -av '^ *$' | head -n 150 >&2
		else
			tr -d '\r' <"$logfile" | tail -n 40 >&2
		fi
	else
		log "FAIL: no APICV-RC line (qemu exit $qrc): guest crashed or panicked"
	fi
	exit 125
fi
rc=${rcline#APICV-RC=}
if [[ -n $outdir ]]; then
	mkdir -p "$outdir"
	if ! tr -d '\r' <"$ttys1" | base64 -di | tar -x -C "$outdir"; then
		log "FAIL: could not unpack the guest's output (ttyS1)"
		exit 125
	fi
fi
log "boot to APICV-RC=$rc took ${secs}s wall"
if [[ -n $splats ]] && ((rc == 0)); then
	log "FAIL: run.sh passed but the kernel log has a splat"
	exit 126
fi
if ((rc == 0)); then log PASS; else log "FAIL: run.sh exit $rc"; fi
exit "$rc"
