#!/usr/bin/env bash
# Usage: scripts/mkinitramfs.sh -k LINE -p PAYLOAD_DIR -o OUT.cpio [-M "MOD..."]
#
# Build an uncompressed cpio (newc) initramfs for kernel LINE containing:
#   busybox (static) with all applet symlinks, /init (below),
#   kvm_amd and its dependencies (plus -M modules) with a depmod'ed subset,
#   the shared libraries needed by any dynamic ELF file in PAYLOAD_DIR,
#   PAYLOAD_DIR copied to /payload.
# /init mounts the pseudo filesystems, prints APICV-INIT (with the kernel's
# runtime _text address), runs `sh /payload/run.sh`, prints
# APICV-RC=<rc> and powers off.  With apicv.watchdog=S on the kernel command
# line, a job still running after S seconds has every task's state and
# kernel stack printed (APICV-WATCHDOG), to show where a guest hangs.
# Fetches the kernel first if needed.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2; }
line='' payload='' out='' mods=kvm_amd
while getopts k:p:o:M:h opt; do
	case $opt in
	k) line=$OPTARG ;;
	p) payload=$OPTARG ;;
	o) out=$OPTARG ;;
	M) mods="$mods $OPTARG" ;;
	*) usage ;;
	esac
done
[[ -n $line && -n $payload && -n $out ]] || usage
[[ -f $payload/run.sh ]] || die "$payload/run.sh does not exist"

kver=$(kernel_kver "$line")
kd=$(kline_dir "$line")
src=$(cd "$kd/modules/" && pwd -P)
busybox=$(command -v busybox) || die "busybox not found (run scripts/setup-host.sh)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (install busybox-static)"

st=$(mktemp -d "${TMPDIR:-/tmp}/apicv-initramfs.XXXXXX")
trap 'rm -rf "$st"' EXIT

mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,payload,lib/modules/"$kver"}
# The kernel opens /dev/console before /init runs; devtmpfs comes later.
mknod -m 600 "$st/dev/console" c 5 1
mknod -m 666 "$st/dev/null" c 1 3

# busybox and its applets
cp "$busybox" "$st/bin/busybox"
for app in $("$busybox" --list-full); do
	[[ -e $st/$app ]] || ln -s /bin/busybox "$st/$app"
done

# modules: resolve with the host's modprobe against the fetched tree
dst=$st/lib/modules/$kver
mbase=$(modules_base "$kver" "$kd/root") || die "no modules tree for $kver"
for m in $mods; do
	modprobe -d "$mbase" -S "$kver" --show-depends "$m" || die "module $m not found for $kver"
done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
	ko=$(readlink -f "$ko")
	rel=${ko#"$src"/}
	mkdir -p "$dst/$(dirname "$rel")"
	rel=${rel%.xz} rel=${rel%.zst} rel=${rel%.gz}
	ko_unpack "$ko" "$dst/$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[[ -e $src/$f ]] && cp "$src/$f" "$dst/"
done
depmod -b "$st" "$kver"

# payload, plus the shared libraries its dynamic executables need
cp -a "$payload/." "$st/payload/"
find "$st/payload" -type f -perm -u+x -print0 | while IFS= read -r -d '' f; do
	head -c4 "$f" | grep -q 'ELF' || continue
	ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' || true
done | sort -u | while read -r lib; do
	[[ -e $st$lib ]] && continue
	mkdir -p "$st$(dirname "$lib")"
	cp -L "$lib" "$st$lib"
done

cat >"$st/init" <<'INIT'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing
hostname apicv-guest
# _text: where KASLR put the kernel this boot, so that qemu-run.sh can name
# the function under a hung vCPU's RIP (kallsyms shows 0 if it hides
# addresses; grep -m1 stops near the top of it: no cost)
ktext=$(grep -m1 ' _text$' /proc/kallsyms | cut -d' ' -f1)
echo "APICV-INIT: $(uname -r) up $(cut -d' ' -f1 /proc/uptime)s _text=${ktext:-none} cmdline: $(cat /proc/cmdline)"
cd /payload
# apicv.watchdog=S (qemu-run.sh sets it shortly before its timeout): a job
# still running after S seconds is shown before the host kills the guest:
# every task with its state and kernel stack, then the kernel's own list of
# blocked tasks (sysrq w).
wd=$(sed -n 's/.*apicv\.watchdog=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$wd" ]; then
	(
		sleep "$wd"
		echo "APICV-WATCHDOG: run.sh still running after ${wd}s; tasks:"
		for d in /proc/[0-9]*; do
			st=$(cut -d' ' -f3 "$d/stat" 2>/dev/null) || continue
			cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null | cut -c1-100)
			# kernel threads only when running or in D state
			[ -n "$cmd" ] || case $st in R | D) cmd="[$(cat "$d/comm")]" ;; *) continue ;; esac
			echo "-- pid ${d#/proc/} $st $cmd"
			sed 's/^/     /' "$d/stack" 2>/dev/null
		done
		echo 8 >/proc/sys/kernel/printk
		echo w >/proc/sysrq-trigger
		echo "APICV-WATCHDOG: end"
	) &
	wdpid=$!
fi
sh /payload/run.sh </dev/null
rc=$?
[ -n "$wd" ] && kill "$wdpid" 2>/dev/null
echo
echo "APICV-RC=$rc"
sync
poweroff -f
INIT
chmod 755 "$st/init"

mkdir -p "$(dirname "$out")"
(cd "$st" && find . -print0 | LC_ALL=C sort -z | cpio --quiet -o -0 -H newc -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
log "initramfs $out ($(du -h "$out" | cut -f1)) for $kver, modules: $mods"
