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
# A guest still running 10 s before the timeout has its vCPUs' registers
# read through QEMU's monitor (LOGFILE.qemu-state); a timeout then shows
# each vCPU's RIP with the kernel function under it.  A QEMU that does not
# answer its monitor is hung itself: that attempt's log is kept as
# LOGFILE.qemu-hang and the guest booted once more, as one hung in early
# boot (LOGFILE.early-hang) and one whose timers stopped (every vCPU idle,
# its watchdog never woke: LOGFILE.timer-hang); one second boot per run
# at most.
# Exit: run.sh's exit code; 125 no APICV-RC line; 126 run.sh exited 0 but
# the log has a splat; 2 usage error.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,24s/^# \{0,1\}//p' "$0" >&2; exit 2; }
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
# QEMU replaces the file with its monitor's socket (and removes it on exit)
monsock=$(mktemp "${TMPDIR:-/tmp}/apicv-qemu-mon.XXXXXX")
statef=$(mktemp "${TMPDIR:-/tmp}/apicv-qemu-state.XXXXXX")
ksd='' # kallsyms_file's scratch directory, made only if needed
trap 'rm -rf "$initrd" "$ttys1" "$pidf" "$hungf" "$monsock" "$statef" "$ksd"' EXIT
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
# A guest still running state_before seconds before the timeout (after its
# own watchdog's task list) has QEMU's monitor asked where its vCPUs are:
# `info registers -a` twice, a second apart (qemu-state.py, at most 4 s per
# answer), kept as LOGFILE.qemu-state.  A guest kernel that spins or
# deadlocks leaves the monitor answering (single-threaded TCG keeps running
# the vCPU and serves the monitor beside it), so no answer means QEMU itself
# is hung: not a test result either, so that attempt's log is kept as
# LOGFILE.qemu-hang and the guest booted once more.  So is a guest whose
# timers stopped (timers_stopped below; log LOGFILE.timer-hang).  One
# second boot per run, for any of these reasons.
state_before=10
rm -f "$logfile.qemu-state"
# timers_stopped: after a timeout, whether the guest's clock died rather
# than the guest: every vCPU halted in the kernel with interrupts enabled,
# in both of the monitor's samples, after /init ran, and the watchdog's
# sleep never ended.  Seen with nested guests under TCG (kvmdrive guest
# looping, with and without apicv_trace loaded, on 6.1): the guest then
# sleeps for ever and prints nothing.  A guest deadlock leaves its timers
# running, so the watchdog shows its blocked tasks, and a spinning or stuck
# vCPU is not halted: both still fail.
timers_stopped() {
	[[ -n $wdarg ]] || return 1
	grep -aq '^APICV-INIT:' "$logfile" && ! grep -aq '^APICV-WATCHDOG:' "$logfile" || return 1
	python3 "$SCRIPTS_DIR/qemu-state.py" idle "$statef" "$smp"
}

for attempt in 1 2; do
	log "booting $kver (${cpu%%,*}, smp $smp, ${mem}M, timeout ${timeout}s), log: $logfile"
	: >"$pidf"
	: >"$statef"
	rm -f "$hungf"
	# One watcher per attempt for both, killed as soon as QEMU exits: it
	# sleeps in the background, so that the kill ends its sleep too.
	watcher=''
	if ((timeout > 60)); then
		(
			napid=''
			trap 'kill "$napid" 2>/dev/null || true; exit 0' TERM
			nap() { sleep "$1" & napid=$!; wait "$napid"; }
			t0=$EPOCHSECONDS
			if ((attempt == 1 && timeout > 2 * boot_deadline)); then
				until grep -aq 'APICV-INIT:' "$logfile" 2>/dev/null; do
					if ((EPOCHSECONDS - t0 >= boot_deadline)); then
						pid=$(cat "$pidf" 2>/dev/null || true)
						[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || exit 0
						touch "$hungf"
						kill "$pid"
						exit 0
					fi
					nap 1
				done
			fi
			left=$((t0 + timeout - state_before - EPOCHSECONDS))
			((left <= 0)) || nap "$left"
			grep -aq '^APICV-RC=' "$logfile" 2>/dev/null && exit 0
			python3 "$SCRIPTS_DIR/qemu-state.py" query "$monsock" >"$statef" 2>&1 &
			napid=$!
			wait "$napid"
		) </dev/null &
		watcher=$!
	fi
	start=$(date +%s%N)
	set +e
	timeout -k 10 "$timeout" qemu-system-x86_64 \
		-accel tcg,thread=single -cpu "$cpu" -smp "$smp" -m "$mem" \
		-display none -monitor "unix:$monsock,server=on,wait=off" \
		-serial stdio -serial "file:$ttys1" \
		-no-reboot -nic none -pidfile "$pidf" \
		-kernel "$kd/vmlinuz" -initrd "$initrd" -append "$cmdline" \
		</dev/null 2>&1 | tee "$logfile"
	qrc=${PIPESTATUS[0]}
	timedout=0
	[[ $qrc == 124 || $qrc == 137 ]] && timedout=1
	if [[ -n $watcher ]]; then
		# after a timeout the watcher has asked the monitor (all but done:
		# it asked 10 s before): its answer is wanted
		((timedout)) || kill "$watcher" 2>/dev/null
		wait "$watcher" 2>/dev/null
	fi
	set -e
	((timedout)) && [[ -s $statef ]] && cp "$statef" "$logfile.qemu-state"
	if [[ -e $hungf ]]; then
		cp "$logfile" "$logfile.early-hang"
		log "NOTE: the guest kernel hung in early boot (no APICV-INIT line after ${boot_deadline}s; nothing of the test had run): booting once more; the hung log is $logfile.early-hang"
	elif ((attempt == 1 && timedout)) && [[ $(head -n1 "$statef") == 'monitor: no answer'* ]] &&
		! grep -aq '^APICV-RC=' "$logfile"; then
		cp "$logfile" "$logfile.qemu-hang"
		log "NOTE: QEMU itself did not answer its monitor $((timeout - state_before))s into the boot ($(head -n1 "$statef" | sed 's/^monitor: //')): QEMU hung, not the guest kernel (its hang leaves the monitor answering): booting once more; the hung log is $logfile.qemu-hang"
	elif ((attempt == 1 && timedout)) && timers_stopped; then
		cp "$logfile" "$logfile.timer-hang"
		log "NOTE: the guest's timers stopped: every vCPU idle in its kernel with interrupts on, and the guest's watchdog (a sleep of ${wdarg#apicv.watchdog=}s) never woke: a TCG clock hang, not a test result (a deadlock leaves the timers running and the watchdog shows the blocked tasks): booting once more; the hung log is $logfile.timer-hang"
	else
		break
	fi
	tr -d '\r' <"$logfile" | tail -n 5 >&2
done
ms=$((($(date +%s%N) - start) / 1000000))
secs=$((ms / 1000)).$((ms % 1000 / 100))

# kallsyms_file: set syms to a file of the symbols of $kver's vmlinux, or
# to '' if there are none.  Its System.map if real, but Debian's is a
# one-line stub (the real one is in the large -dbg package); else the text
# symbols of its /proc/kallsyms, taken by one short boot of the same kernel
# and kept beside it, named by the image's checksum (the debug line is
# rebuilt under the same version).  A boot's KASLR slide moves them all
# together: the difference of _text maps one boot's addresses to another's.
kallsyms_file() {
	local f
	syms=''
	f=$(find "$kd/root" \( -name "System.map-$kver" -o -path "*/modules/$kver/System.map" \) -print -quit 2>/dev/null || true)
	if [[ -n $f ]] && (($(wc -l <"$f") > 1000)); then
		syms=$f
		return 0
	fi
	f=$kd/root/kallsyms-$(cksum <"$kd/vmlinuz" | cut -d' ' -f1).gz
	if [[ -s $f ]]; then
		syms=$f
		return 0
	fi
	# not from the symbol boot itself (when that hangs too)
	[[ -z ${APICV_KALLSYMS_BOOT:-} ]] || return 0
	log "the symbols of $kver: one short boot of it (kept as $f)"
	ksd=$(mktemp -d "${TMPDIR:-/tmp}/apicv-kallsyms.XXXXXX")
	mkdir "$ksd/p"
	cat >"$ksd/p/run.sh" <<'RUN'
mkdir -p /tmp/out
grep -E ' [tTwW] | (_text|_etext|_end)$' /proc/kallsyms | grep -v '\[' | gzip >/tmp/out/kallsyms.gz
stty -F /dev/ttyS1 raw
tar -C /tmp/out -cf - . | base64 >/dev/ttyS1
RUN
	if APICV_KALLSYMS_BOOT=1 "$SCRIPTS_DIR/qemu-run.sh" -k "$line" -p "$ksd/p" -t 150 \
		-l "$ksd/log" -o "$ksd/out" >/dev/null 2>&1 && [[ -s $ksd/out/kallsyms.gz ]]; then
		mv "$ksd/out/kallsyms.gz" "$f"
		syms=$f
	else
		log "no symbols: the short boot failed; its log ends:"
		tr -d '\r' <"$ksd/log" | tail -n 5 >&2
	fi
}

# qemu_state_report: after a timeout, where the vCPUs were (the watcher's
# answer from the monitor), each RIP with the kernel function under it.
qemu_state_report() {
	local first ktext syms
	[[ -s $statef ]] || return 0
	first=$(head -n1 "$statef")
	if [[ $first != 'monitor: answered' ]]; then
		log "QEMU's monitor $((timeout - state_before))s into the boot: ${first#monitor: } ($logfile.qemu-state)"
		[[ $first != 'monitor: no answer'* ]] || log "so QEMU itself was hung, on this run's second boot"
		return 0
	fi
	ktext=$(tr -d '\r' <"$logfile" | sed -n 's/^APICV-INIT: .* _text=\([0-9a-z]*\) .*/\1/p' | tail -n1)
	kallsyms_file
	log "the vCPUs $((timeout - state_before))s into the boot, from QEMU's monitor ($logfile.qemu-state):"
	python3 "$SCRIPTS_DIR/qemu-state.py" explain "$statef" ${syms:+"$syms" "$ktext"} >&2 || true
}

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
		qemu_state_report
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
