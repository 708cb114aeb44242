#!/usr/bin/env bash
# Usage: scripts/demo.sh [LINE]     (what `make demo` runs; LINE default 6.1)
#
# The main job, end to end on a fresh machine: installs what it needs,
# builds apicv_trace with DKMS against Debian's kernel LINE and the
# apicv-trace command, boots that kernel in QEMU (TCG, nested SVM), loads
# Debian's kvm_amd with the AVIC state machine on, loads apicv_trace, and
# runs two VMs that reboot (PIT reinject off, so nothing else inhibits):
#   web:   a guest whose timer interrupts keep opening IRQ windows
#          (IRQWIN flaps) and whose VMM writes a wrong xAPIC ID when it
#          resets the vCPU on the 2nd reboot: the motivating bug report
#   batch: the same guest, rebooting cleanly
# Each VMM is started with "--name guest=NAME", as libvirt starts QEMU
# ("-name guest=NAME"). Then shows what an admin does: `apicv-trace doctor`,
# `apicv-trace` while they run, `apicv-trace show web`, and after they exit
# the list again, web's timeline and its own records around its reboots
# (each KVM_SET_LAPIC of a reset is a lapic_set marker).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$SCRIPTS_DIR/.." && pwd)
line=${1:-6.1}
"$SCRIPTS_DIR/setup-host.sh" "$line" >&2
kver=$("$SCRIPTS_DIR/fetch-kernel.sh" "$line")
ko=$("$SCRIPTS_DIR/dkms.sh" build "$kver")
make -s -C "$top/tests/e2e" >&2
make -s -C "$top/cmd" static >&2

payload=$(mktemp -d "${TMPDIR:-/tmp}/apicv-demo.XXXXXX")
out=$(mktemp -d "${TMPDIR:-/tmp}/apicv-demo-out.XXXXXX")
trap 'rm -rf "$payload" "$out"' EXIT
ko_unpack "$ko" "$payload/apicv_trace.ko"
cp "$top/tests/e2e/kvmdrive" "$payload/"
cp "$top/cmd/apicv-trace.static" "$payload/apicv-trace"
cat >"$payload/run.sh" <<'RUN'
D=/sys/kernel/debug/apicv_trace
export PATH=/payload:$PATH
mkdir -p /tmp/out
exec 3>/tmp/out/demo.txt
show() { echo "# $*" >&3; "$@" >&3 2>&1; echo >&3; }
# ring_size=4096 (default 256): the whole history of the demo fits
modprobe kvm_amd avic=1 force_avic=1 && insmod /payload/apicv_trace.ko ring_size=4096 || exit 1
# every VMM's process is called qemu-system-x86, as on a real host; the
# VMs' names are what the VMMs were given, as libvirt gives QEMU its
ln -s /payload/kvmdrive /tmp/qemu-system-x86
/tmp/qemu-system-x86 guest --no-reinject --reboots 3 --bad-apic-id-on-reboot 2 --seconds 10 --hz 20 \
	--name guest=web,debug-threads=on >/tmp/web.log 2>&1 &
sleep 0.3
/tmp/qemu-system-x86 guest --no-reinject --reboots 3 --seconds 9 --hz 20 \
	--name guest=batch,debug-threads=on >/tmp/batch.log 2>&1 &
sleep 7
echo "## while the guests run (web rebooted twice, batch too)" >&3
echo >&3
show apicv-trace doctor
show apicv-trace
show apicv-trace show web
wait
echo "## after both VMs powered off" >&3
echo >&3
show apicv-trace
show apicv-trace show --timeline web
web=$(sed -n 's/^VM vm=\([^ ]*\) created.*/\1/p' /tmp/web.log | head -n 1)
echo "# grep -E 'event=(vm_create|lapic_set|apic_id|vm_destroy)|reason=APIC_ID' $D/vm/$web/events" >&3
grep -E 'event=(vm_create|lapic_set|apic_id|vm_destroy)|reason=APIC_ID' "$D/vm/$web/events" >&3
echo >&3
stty -F /dev/ttyS1 raw 2>/dev/null
tar -C /tmp/out -cf - . | base64 >/dev/ttyS1
rmmod apicv_trace
RUN
log "booting Debian $line ($kver) in QEMU; this takes about a minute"
"$SCRIPTS_DIR/qemu-run.sh" -k "$line" -p "$payload" -t 600 -m 2048 -o "$out" \
	-l "$APICV_CACHE/logs/demo-$line.log" >/dev/null
cat "$out/demo.txt"
