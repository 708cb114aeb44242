#!/usr/bin/env bash
# Usage: scripts/demo.sh [LINE]     (what `make demo` runs; LINE default 6.1)
#
# The main job, end to end on a fresh machine: installs what it needs,
# builds apicv_trace with DKMS against Debian's kernel LINE, boots that
# kernel in QEMU (TCG, nested SVM), loads Debian's kvm_amd with the AVIC
# state machine on, loads apicv_trace, and runs two VMs that reboot:
#   web:   a guest whose timer interrupts keep opening IRQ windows
#          (IRQWIN flaps) and whose VMM writes a wrong xAPIC ID when it
#          resets the vCPU on the 2nd reboot: the motivating bug report
#   batch: the same guest, rebooting cleanly
# Then prints what an admin reads: vms, one VM's state, the last events.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$SCRIPTS_DIR/.." && pwd)
line=${1:-6.1}
"$SCRIPTS_DIR/setup-host.sh" "$line" >&2
kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line")
ko=$("$SCRIPTS_DIR/dkms.sh" build "$kver")
make -s -C "$top/tests/e2e" >&2

payload=$(mktemp -d "${TMPDIR:-/tmp}/apicv-demo.XXXXXX")
out=$(mktemp -d "${TMPDIR:-/tmp}/apicv-demo-out.XXXXXX")
trap 'rm -rf "$payload" "$out"' EXIT
ko_unpack "$ko" "$payload/apicv_trace.ko"
cp "$top/tests/e2e/kvmdrive" "$payload/"
cat >"$payload/run.sh" <<'RUN'
D=/sys/kernel/debug/apicv_trace
mkdir -p /tmp/out
exec 3>/tmp/out/demo.txt
show() { echo "# $*" >&3; "$@" >&3 2>&1; echo >&3; }
modprobe kvm_amd avic=1 force_avic=1 && insmod /payload/apicv_trace.ko || exit 1
(exec -a web /payload/kvmdrive guest --reboots 3 --bad-apic-id-on-reboot 2 --seconds 8 --hz 20 >/tmp/web.log 2>&1) &
sleep 0.3
(exec -a batch /payload/kvmdrive guest --reboots 2 --seconds 6 --hz 20 >/tmp/batch.log 2>&1) &
sleep 3
echo "## while the guests run" >&3
show cat $D/vms
wait
echo "## after both VMs powered off" >&3
show cat $D/vms
web=$(grep -m1 '^VM vm=' /tmp/web.log | sed 's/^VM vm=\([^ ]*\).*/\1/')
batch=$(grep -m1 '^VM vm=' /tmp/batch.log | sed 's/^VM vm=\([^ ]*\).*/\1/')
echo "## web is vm=$web (bad xAPIC ID at its 2nd reboot), batch is vm=$batch" >&3
echo >&3
show cat $D/vm/$web/state
echo "# grep -v reason=IRQWIN $D/vm/$web/events | tail -n 12" >&3
grep -v reason=IRQWIN $D/vm/$web/events | tail -n 12 >&3
echo >&3
echo "# tail -n 4 $D/vm/$web/events" >&3
tail -n 4 $D/vm/$web/events >&3
echo >&3
show cat $D/status
stty -F /dev/ttyS1 raw 2>/dev/null
tar -C /tmp/out -cf - . | base64 >/dev/ttyS1
rmmod apicv_trace
RUN
log "booting Debian $line ($kver) in QEMU; this takes a minute"
"$SCRIPTS_DIR/qemu-run.sh" -k "$line" -p "$payload" -t 600 -m 2048 -o "$out" \
	-l "$APICV_CACHE/logs/demo-$line.log" >/dev/null
cat "$out/demo.txt"
