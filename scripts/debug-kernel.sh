#!/usr/bin/env bash
# Usage: scripts/debug-kernel.sh [--rebuild]          build (once) the debug kernel, print KVER
#        scripts/debug-kernel.sh --module SRCDIR      build SRCDIR/module against it, signed
#                                                     with the kernel's key; print the .ko
#                                                     (apicv_trace-unsigned.ko next to it)
#
# The kernel of `make check-debug`: Debian bookworm's linux-source-6.1 (the
# source of Debian's 6.1 line, with Debian's patches) built with the
# debugging that finds what a kprobe module can get wrong:
#   KASAN (generic, inline, vmalloc), lockdep (PROVE_LOCKING, PROVE_RCU),
#   DEBUG_ATOMIC_SLEEP, kmemleak, the fault-injection framework (failslab,
#   fail_page_alloc, per-task fail-nth, debugfs controls),
# plus what apicv_trace needs: KVM and kvm_amd as modules, kprobes,
# ftrace/tracepoints, debugfs; module signing (own key) and the lockdown
# LSM, so that the suite can boot with lockdown=integrity and still load
# a (signed) apicv_trace.  Base: x86_64 defconfig + kvm_guest.config,
# heavy driver trees off (the guest is QEMU with an initramfs).
#
# Built with bookworm's gcc-12 inside the 6.1 build root (buildroot.sh 6.1),
# never on the host.  All modules are signed with the build's own key.
# Cached in $APICV_CACHE/kernels/6.1-debug:
#   kver, vmlinuz, modules -> root/lib/modules/KVER   (the layout fetch-kernel.sh
#   makes, so qemu-run.sh and mkinitramfs.sh use it like any line)
#   build time in build-seconds; log in $APICV_CACHE/logs/debug-kernel.log
# The build tree stays in the root (/usr/src/apicv-debug/build) for --module.
# Takes about an hour on 2 cores the first time; then nothing.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,25s/^# \{0,1\}//p' "$0" >&2; exit 2; }
line=6.1-debug mode=kernel src=''
case ${1:-} in
'') ;;
--rebuild) mode=rebuild ;;
--module)
	mode=module src=${2:-}
	[[ -n $src && -d $src/module ]] || usage
	src=$(cd "$src" && pwd)
	;;
*) usage ;;
esac
[[ $(id -u) == 0 ]] || die "run as root (chroot)"

kd=$(kline_dir "$line")
root=$("$SCRIPTS_DIR/buildroot.sh" 6.1 | tail -n1)
[[ -d $root/usr/bin ]] || die "no 6.1 build root ($root)"
rsrc=/usr/src/apicv-debug/src
rbuild=/usr/src/apicv-debug/build
logf=$APICV_CACHE/logs/debug-kernel.log
mkdir -p "$APICV_CACHE/logs"

mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"

# The options the suite relies on: checked in the final .config, so a
# Kconfig dependency that silently dropped one fails the build.
REQUIRED=(KVM KVM_AMD KPROBES KRETPROBES DEBUG_FS FTRACE KASAN KASAN_GENERIC
	KASAN_VMALLOC PROVE_LOCKING DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK FAULT_INJECTION
	FAILSLAB FAIL_PAGE_ALLOC FAULT_INJECTION_DEBUG_FS
	MODULE_SIG SECURITY_LOCKDOWN_LSM MODULE_UNLOAD DEVTMPFS BLK_DEV_INITRD
	SERIAL_8250_CONSOLE)

build_kernel() {
	local t0=$SECONDS deb tarball cfg o
	: >"$logf"
	log "debug kernel: packages in the 6.1 root (log $logf)"
	in_root apt-get install -y -q linux-source-6.1 bc bison flex libelf-dev libssl-dev \
		openssl cpio kmod xz-utils make >>"$logf" 2>&1 ||
		{ in_root apt-get update -q >>"$logf" 2>&1 && in_root apt-get install -y -q linux-source-6.1 bc bison \
			flex libelf-dev libssl-dev openssl cpio kmod xz-utils make >>"$logf" 2>&1; } ||
		{ tail -n 20 "$logf" >&2; die "cannot install linux-source-6.1 in $root"; }
	in_root apt-get clean
	tarball=$(in_root sh -c 'ls /usr/src/linux-source-6.1.tar.xz')
	deb=$(in_root dpkg-query -W -f='${Version}' linux-source-6.1)
	rm -rf "$root/usr/src/apicv-debug"
	mkdir -p "$root$rsrc" "$root$rbuild"
	log "debug kernel: extracting linux-source-6.1 $deb"
	tar -C "$root$rsrc" --strip-components=1 -xJf "$root$tarball"
	cfg=(-e KVM -m KVM -m KVM_AMD -d KVM_INTEL -d KVM_XEN
		-e KPROBES -e KRETPROBES -e KALLSYMS_ALL -e DEBUG_FS -e FTRACE -e FUNCTION_TRACER
		-e DYNAMIC_FTRACE -e KPROBE_EVENTS -e EVENT_TRACING
		-e KASAN -e KASAN_GENERIC -e KASAN_INLINE -e KASAN_VMALLOC
		-e PROVE_LOCKING -e DEBUG_ATOMIC_SLEEP -e DEBUG_KMEMLEAK
		--set-val DEBUG_KMEMLEAK_MEM_POOL_SIZE 16000 -d DEBUG_KMEMLEAK_DEFAULT_OFF
		-e DEBUG_KMEMLEAK_AUTO_SCAN
		-e FAULT_INJECTION -e FAILSLAB -e FAIL_PAGE_ALLOC -e FAULT_INJECTION_DEBUG_FS
		-e MODULES -e MODULE_UNLOAD -e MODULE_SIG -e MODULE_SIG_SHA256 -d MODULE_SIG_FORCE
		-d MODULE_SIG_ALL --set-str MODULE_SIG_KEY certs/signing_key.pem
		-e SECURITY -e SECURITYFS -e SECURITY_LOCKDOWN_LSM -e SECURITY_LOCKDOWN_LSM_EARLY
		-e LOCK_DOWN_KERNEL_FORCE_NONE
		-e DEVTMPFS -e TMPFS -e BLK_DEV_INITRD -e SERIAL_8250 -e SERIAL_8250_CONSOLE
		-d DEBUG_INFO -d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT -d DEBUG_INFO_BTF -e DEBUG_INFO_NONE
		-d DRM -d SOUND -d WLAN -d CFG80211 -d MAC80211 -d WIRELESS -d NETFILTER
		-d USB_SUPPORT -d HID -d AGP -d FB -d INPUT_JOYSTICK -d INPUT_TABLET
		-d INPUT_TOUCHSCREEN -d ETHERNET -d NET_VENDOR_INTEL -d HAMRADIO -d BT
		-d MD -d ATA -d SCSI -d EXT4_FS -d XFS_FS -d BTRFS_FS -d NFS_FS -d CIFS
		-d RANDOMIZE_BASE
		--set-str LOCALVERSION -apicv-debug -d LOCALVERSION_AUTO
		--set-str SYSTEM_TRUSTED_KEYS '' --set-str SYSTEM_REVOCATION_KEYS '')
	o=(-C "$rsrc" O="$rbuild" CC=gcc-12 HOSTCC=gcc-12)
	log "debug kernel: configuring"
	{
		in_root make "${o[@]}" x86_64_defconfig &&
			in_root make "${o[@]}" kvm_guest.config &&
			in_root "$rsrc/scripts/config" --file "$rbuild/.config" "${cfg[@]}" &&
			in_root make "${o[@]}" olddefconfig &&
			# a second pass: options whose dependencies the first pass enabled
			in_root "$rsrc/scripts/config" --file "$rbuild/.config" "${cfg[@]}" &&
			in_root make "${o[@]}" olddefconfig
	} >>"$logf" 2>&1 || { tail -n 20 "$logf" >&2; die "debug kernel: configuration failed"; }
	local miss=()
	for c in "${REQUIRED[@]}"; do
		grep -qE "^CONFIG_$c=(y|m)$" "$root$rbuild/.config" || miss+=("$c")
	done
	((${#miss[@]} == 0)) || die "debug kernel: .config lacks ${miss[*]} (Kconfig dependencies; see $logf)"
	log "debug kernel: building linux-source-6.1 $deb with $(nproc) jobs (about an hour on 2 cores; log $logf)"
	in_root nice -n 10 make "${o[@]}" -j"$(nproc)" bzImage modules >>"$logf" 2>&1 ||
		{ grep -E 'error|Error' "$logf" | head -n 20 >&2; die "debug kernel: build failed (log $logf)"; }
	echo $((SECONDS - t0)) >"$root/usr/src/apicv-debug/built"
}

# install_kernel: the built tree into $kd (fetch-kernel.sh's layout)
install_kernel() {
	local o=(-C "$rsrc" O="$rbuild" CC=gcc-12 HOSTCC=gcc-12) deb
	deb=$(in_root dpkg-query -W -f='${Version}' linux-source-6.1)
	kver=$(in_root make -s "${o[@]}" kernelrelease)
	rm -rf "$root/usr/src/apicv-debug/install"
	rm -rf "$kd"
	mkdir -p "$kd/root/boot"
	in_root make "${o[@]}" INSTALL_MOD_PATH=/usr/src/apicv-debug/install modules_install >>"$logf" 2>&1 ||
		die "debug kernel: modules_install failed (log $logf)"
	# MODULE_SIG_ALL is off (it would sign at every modules_install): sign
	# here, so kvm and kvm_amd load under lockdown=integrity too
	find "$root/usr/src/apicv-debug/install" -name '*.ko' | while read -r m; do
		in_root "$rbuild/scripts/sign-file" sha256 "$rbuild/certs/signing_key.pem" \
			"$rbuild/certs/signing_key.x509" "${m#"$root"}" || exit 1
	done || die "debug kernel: signing the modules failed"
	mv "$root/usr/src/apicv-debug/install/lib" "$kd/root/lib"
	rm -rf "$root/usr/src/apicv-debug/install"
	rm -f "$kd/root/lib/modules/$kver/build" "$kd/root/lib/modules/$kver/source"
	cp "$root$rbuild/arch/x86/boot/bzImage" "$kd/root/boot/vmlinuz-$kver"
	cp "$root$rbuild/.config" "$kd/root/boot/config-$kver"
	ln -sfn "root/boot/vmlinuz-$kver" "$kd/vmlinuz"
	ln -sfn "root/lib/modules/$kver" "$kd/modules"
	echo "linux-source-6.1 $deb" >"$kd/pkg"
	cp "$root/usr/src/apicv-debug/built" "$kd/build-seconds"
	echo "$kver" >"$kd/kver"
	log "debug kernel: $kver (built in $(cat "$kd/build-seconds") s) -> $kd"
}

if [[ $mode == rebuild ]]; then
	rm -f "$kd/kver" "$root/usr/src/apicv-debug/built"
fi
[[ -s $root/usr/src/apicv-debug/built && -f $root$rbuild/Module.symvers ]] || build_kernel
[[ -s $kd/kver ]] || install_kernel
kver=$(cat "$kd/kver")
if [[ $mode != module ]]; then
	echo "$kver"
	exit 0
fi

# --module: plain kbuild against the build tree, signed with its key
d=/tmp/apicv-debug-module
rm -rf "$root$d"
mkdir -p "$root$d"
find "$src/module" -maxdepth 1 -type f \( -name Kbuild -o -name Makefile -o -name '*.[ch]' \) \
	! -name '*.mod.c' -exec cp {} "$root$d/" \;
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/dkms.conf")
in_root make -C "$rbuild" CC=gcc-12 M="$d" AT_VERSION="$ver" modules >>"$logf" 2>&1 ||
	{ tail -n 30 "$logf" >&2; die "apicv_trace does not build against $kver (log $logf)"; }
cp "$root$d/apicv_trace.ko" "$root$d/apicv_trace-unsigned.ko"	# lockdown must refuse this one
in_root "$rbuild/scripts/sign-file" sha256 "$rbuild/certs/signing_key.pem" \
	"$rbuild/certs/signing_key.x509" "$d/apicv_trace.ko" >>"$logf" 2>&1 ||
	die "signing apicv_trace.ko failed (log $logf)"
grep -q '~Module signature appended~' "$root$d/apicv_trace.ko" || die "apicv_trace.ko is not signed"
echo "$root$d/apicv_trace.ko"
