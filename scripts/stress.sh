#!/usr/bin/env bash
# Usage: scripts/stress.sh [-k LINE] [-m apicv_trace.ko] [-d SECONDS] [--short] [-o RESULTS]
#
# The stress test: boots kernel LINE (default 6.1) once in QEMU
# with kvm_amd avic=1 force_avic=1 (5.10: avic=1), runs tests/stress/stress.sh
# there: processes creating and destroying VMs for SECONDS while every file
# is read, follow readers stream, apicv_trace is unloaded and loaded many
# times and kvm_amd/kvm now and then; then a ring flood. The collected
# snapshots and the kernel's tracepoint are checked on the host by
# tests/stress/check_stress.py (exact per-VM accounting, memory, the
# flood). Exit 0 only if every check passed and the guest log shows no
# kernel splat (qemu-run.sh).
#   --short      what make check runs per line: ~75 s of churn, 2 workers,
#                a module reload every 1-3 s, one kvm reload (default full:
#                300 s, 4 workers, a kvm reload every 60 s)
#   -d SECONDS   churn duration
#   -m KO        the module (default: built by DKMS in LINE's build root)
#   -o RESULTS   default $APICV_CACHE/stress/LINE
# APICV_STRESS_TIMEOUT: seconds for the boot (default: SECONDS + 900).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,20s/^# \{0,1\}//p' "$0" >&2; exit 2; }
top=$(cd "$SCRIPTS_DIR/.." && pwd)
line=6.1 ko='' results='' dur='' short=0
while (($#)); do
	case $1 in
	-k) line=${2:?}; shift ;;
	-m) ko=${2:?}; shift ;;
	-d) dur=${2:?}; shift ;;
	-o) results=${2:?}; shift ;;
	--short) short=1 ;;
	*) usage ;;
	esac
	shift
done
[[ -z $dur || $dur =~ ^[0-9]+$ ]] || usage
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run scripts/setup-host.sh"
"$SCRIPTS_DIR/fetch-kernel.sh" "$line" >/dev/null
[[ -n $ko ]] || ko=$("$SCRIPTS_DIR/dkms.sh" root-build "$line")
results=${results:-$APICV_CACHE/stress/$line}
rm -rf "$results"
mkdir -p "$results"

make -s -C "$top/tests/e2e" >&2
make -s -C "$top/tests/stress" >&2
payload=$(mktemp -d "${TMPDIR:-/tmp}/apicv-stress.XXXXXX")
trap 'rm -rf "$payload"' EXIT
ko_unpack "$ko" "$payload/apicv_trace.ko"
cp "$top/tests/e2e/"{kvmdrive,kernel-line.sh} "$top/tests/stress/"{stressdrive,stress.sh} "$payload/"
args=()
((short)) && args+=(--short)
[[ -n $dur ]] && args+=(-d "$dur")
cat >"$payload/run.sh" <<RUN
sh /payload/stress.sh ${args[*]}
rc=\$?
stty -F /dev/ttyS1 raw 2>/dev/null
tar -C /tmp/out -cf - . | base64 >/dev/ttyS1
exit \$rc
RUN
# the guest's own default durations (stress.sh): 75 s short, 300 s full
secs=${dur:-$(((short)) && echo 75 || echo 300)}
timeout=${APICV_STRESS_TIMEOUT:-$((secs + 900))}
log "stress $line ($( ((short)) && echo short || echo full), ${secs}s of churn): $ko"
t0=$SECONDS
rc=0
# 2 GiB: the trace buffer (64 MiB per CPU), snapshots and traces in tmpfs
"$SCRIPTS_DIR/qemu-run.sh" -k "$line" -p "$payload" -t "$timeout" -m 2048 -a oops=panic \
	-l "$results/guest.log" -o "$results/out" >/dev/null || rc=1
grep -a 'stress: FAIL' "$results/guest.log" >&2 || true
echo "boot_s=$((SECONDS - t0))" >>"$results/host.txt"
python3 "$top/tests/stress/check_stress.py" "$results/out" || rc=1
log "stress $line: $( ((rc)) && echo FAIL || echo PASS) in $((SECONDS - t0))s; results and guest log in $results"
exit $rc
