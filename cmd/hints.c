// SPDX-License-Identifier: GPL-2.0
/*
 * hints.c - reason explanations.
 *
 * Every statement here was checked against the sources named next to it:
 * the Debian kernel sources (6.1: linux-source-6.1 6.1.192-2; the other
 * lines 5.10.223, 6.12.117, 7.2.13 and 7.3.4, by file:line; what differs
 * per line is in docs/kernels.md, "Who sets each reason") and QEMU 7.2
 * (Debian bookworm qemu 7.2+dfsg-7+deb12u18). A wrong hint is a bug: fix
 * it here and in the man page (HINTS).
 */
#include "hints.h"

#include <string.h>

static const struct hint hints[] = {
	/*
	 * 6.1 i8254.c:301-315 kvm_pit_set_reinject() sets PIT_REINJ while the
	 * in-kernel PIT reinjects lost ticks (AVIC accelerates the EOI the
	 * reinjection waits for). QEMU 7.2 hw/i386/kvm/i8254.c:305-306:
	 * kvm-pit property lost_tick_policy defaults to "delay" (= reinject);
	 * :274-287 "discard" issues KVM_REINJECT_CONTROL pit_reinject=0.
	 * hw/i386/pc.c:1306-1309 + x86.c:1462: -machine pit=off; the PIT is
	 * in the kernel only with kernel-irqchip=on (target/i386/kvm/
	 * kvm_i386.h:20-21).
	 */
	{ "PIT_REINJ",
	  "the VM's in-kernel PIT (i8254 timer) is in reinject mode: KVM re-delivers "
	  "missed timer ticks and needs to see each EOI, which AVIC would "
	  "accelerate away. QEMU creates its in-kernel PIT in reinject mode: "
	  "the kvm-pit device's lost_tick_policy defaults to \"delay\".",
	  "QEMU: -global kvm-pit.lost_tick_policy=discard (libvirt: "
	  "<timer name='pit' tickpolicy='discard'/> in <clock>), or no PIT "
	  "(-machine pit=off), or kernel-irqchip=split (the PIT is then "
	  "emulated by QEMU, not KVM). Modern guests do not need PIT tick "
	  "reinjection. Takes effect at the next VM start.", 1 },
	/*
	 * 6.1 hyperv.c:85-131 synic_update_vector(): set while any vCPU has a
	 * SynIC SINT with AutoEOI. 5.10 hyperv.c:919 kvm_hv_activate_synic()
	 * sets it for good as soon as SynIC is activated (docs/kernels.md,
	 * "Who sets each reason"). QEMU 7.2 target/i386/cpu.c:7008 "hv-avic", :6809 alias
	 * "hv-apicv"; kvm.c:963-967 sets HV_DEPRECATING_AEOI_RECOMMENDED;
	 * docs/system/i386/hyperv.rst:180-185.
	 */
	{ "HYPERV",
	  "the guest uses Hyper-V SynIC interrupts with AutoEOI (Windows does, "
	  "when the VM has hv-synic), which KVM must deliver itself. On 5.10 "
	  "merely activating SynIC inhibits for the VM's whole life.",
	  "QEMU: add the hv-avic CPU flag (alias hv-apicv; QEMU 7.2 has "
	  "it): it tells Windows not to use AutoEOI "
	  "(HV_DEPRECATING_AEOI_RECOMMENDED). Or drop hv-synic (and hv-stimer, "
	  "which needs it). On 5.10 only dropping hv-synic helps.", 1 },
	/*
	 * 6.1 x86.c:11789-11806: set while any vCPU has KVM_GUESTDBG_BLOCKIRQ.
	 * QEMU 7.2 accel/kvm/kvm-all.c:3202-3206: single-stepping with
	 * SSTEP_NOIRQ, which the gdbstub uses by default (gdbstub.c:393).
	 */
	{ "BLOCKIRQ",
	  "a debugger blocks interrupts on a vCPU (KVM_SET_GUEST_DEBUG with "
	  "KVM_GUESTDBG_BLOCKIRQ): QEMU's gdbstub does so while it "
	  "single-steps a vCPU (its default step mode masks interrupts).",
	  "stop single-stepping, or detach the debugger (gdb attached to "
	  "QEMU's -s/-gdb stub); it clears when no vCPU has the flag.", 1 },
	/*
	 * 6.1 svm.c:3737-3749 svm_enable_irq_window(): "IRQ window is not
	 * needed when AVIC is enabled, unless we have pending ExtINT since it
	 * cannot be injected via AVIC"; svm.c:3130-3144 cleared on the
	 * interrupt-window exit. 7.2+: a counter of interrupt-window requests;
	 * while another reason inhibits, a request is only counted and the
	 * setter is not called (docs/kernels.md, "Setters").
	 */
	{ "IRQWIN",
	  "KVM must open an interrupt window to inject an ExtINT interrupt, "
	  "i.e. one that comes from the legacy 8259 PIC through LINT0, which "
	  "AVIC cannot deliver; cleared once it is injected. Brief and "
	  "frequent during firmware and early boot. 7.2 and later only count "
	  "such requests while another reason inhibits (absorbed=).",
	  "a guest whose interrupts go through the IOAPIC or MSI does not "
	  "cause it; if it keeps flapping after boot, the guest still takes "
	  "timer or device interrupts through the 8259 PIC (e.g. a guest "
	  "booted with \"noapic\", or one without IOAPIC support).", 1 },
	/*
	 * 6.1 lapic.c:2109-2127 kvm_lapic_xapic_id_updated(): set when the
	 * xAPIC ID != (u8)vcpu_id, from guest writes (lapic.c:2150) and
	 * KVM_SET_LAPIC; never cleared in 6.1. 6.12 lapic.c:263 + 465-478
	 * (7.2 :283, 7.3 :293): set or cleared on every APIC map rebuild.
	 * Removal of the sticky form: ~v6.3, "KVM: x86: Allow APICv APIC ID
	 * inhibit to be cleared" (docs/kernels.md, "The sticky
	 * APIC_ID_MODIFIED fix").
	 */
	{ "APIC_ID_MODIFIED",
	  "a vCPU's xAPIC ID differs from its vCPU id (truncated to 8 bits): "
	  "the guest wrote the APIC ID register, or the VMM restored a "
	  "different ID with KVM_SET_LAPIC (on reset, reboot, migration or "
	  "snapshot restore). On 6.1 it is sticky: nothing clears it until "
	  "the VM is restarted (destroyed and created again); from about 6.3 "
	  "on KVM clears it again when the ID is restored.",
	  "find who wrote the ID (the last set's site: kvm_apic_set_state is "
	  "the VMM's KVM_SET_LAPIC, kvm_lapic_reg_write a guest write); fix "
	  "the VMM or guest that writes a wrong ID; on 6.1 restart the VM "
	  "(a guest reboot is not enough), or run a kernel that clears it.", 1 },
	/*
	 * 6.1 lapic.c:2490-2494 kvm_lapic_set_base(): enabled APIC with a base
	 * other than APIC_DEFAULT_PHYS_BASE; never cleared (6.12
	 * __kvm_apic_set_base lapic.c:2682, 7.2 :2835, 7.3 :2844, sticky).
	 */
	{ "APIC_BASE_MODIFIED",
	  "the guest (or the VMM, restoring state) relocated the local APIC: "
	  "APIC base MSR enabled with a base other than 0xfee00000. Sticky in "
	  "every kernel: only a VM restart clears it.",
	  "find what writes the APIC base MSR (guest OS or firmware, or a VMM "
	  "restoring a wrong value); then restart the VM.", 1 },
	/*
	 * 6.1 x86.c:9705 set at VM creation; cleared by KVM_CREATE_IRQCHIP
	 * (x86.c:6783) or KVM_CAP_SPLIT_IRQCHIP (x86.c:6252). QEMU 7.2
	 * qemu-options.hx:203: kernel-irqchip=on|off|split, default on.
	 */
	{ "ABSENT",
	  "the VM has no in-kernel local APIC (irqchip): KVM sets this reason "
	  "when a VM is created and clears it when the VMM creates the "
	  "irqchip. It stays set when the VMM emulates the APIC itself, as "
	  "QEMU does with kernel-irqchip=off.",
	  "use QEMU's default kernel-irqchip=on, or kernel-irqchip=split; "
	  "kernel-irqchip=off is meant for debugging. A short ABSENT at VM "
	  "creation is normal.", 1 },
	/*
	 * 6.1 x86.c:9707-9709 (DISABLE when !enable_apicv); svm.c:222 avic
	 * defaults to off (also 5.10, 6.12); 7.2/7.3 avic=auto: Zen 4+ with
	 * x2AVIC, i.e. X2AVIC && (Zen 4 || family >= 0x1A) (docs/kernels.md,
	 * "Enabling AVIC"); Intel: kvm_intel enable_apicv.
	 */
	{ "DISABLE",
	  "APIC virtualization is off for the whole host, so KVM marks every "
	  "new VM with it: kvm_amd's avic parameter is off (the default up to "
	  "6.12; from 7.2 \"auto\" turns it on only for Zen 4 and later CPUs "
	  "with x2AVIC), or the CPU has no AVIC, or NPT is off; on Intel, "
	  "kvm_intel enable_apicv=N or no APICv. Never cleared.",
	  "AMD: load kvm_amd with avic=1 (options kvm_amd avic=1 in "
	  "/etc/modprobe.d/, then reload kvm_amd with no VM running) and start "
	  "the VM again; check /sys/module/kvm_amd/parameters/avic. Intel: "
	  "kvm_intel enable_apicv=Y.", 1 },
	{ "DISABLED", NULL, NULL, 1 },		/* 6.12+ name of DISABLE */
	/*
	 * 6.1 svm/avic.c:551-556: per-vCPU only, while in guest mode (L2);
	 * never in the VM-wide mask on 6.1+. 5.10 svm_vcpu_after_set_cpuid():
	 * VM-wide when kvm_amd nested=1 and the guest CPUID has SVM.
	 */
	{ "NESTED",
	  "nested virtualization: on 6.1 and later a vCPU that runs a nested "
	  "guest has AVIC off for itself only (per vCPU, not recorded in the "
	  "VM's mask); on 5.10 the whole VM is inhibited as soon as the guest's "
	  "CPUID offers SVM while kvm_amd nested=1.",
	  "if the guest does not run VMs itself, hide SVM from it (QEMU "
	  "-cpu ...,-svm) or load kvm_amd with nested=0.", 1 },
	/* 6.1 svm/sev.c:273; 6.12 sev.c:465; 7.2/7.3 sev.c:577. */
	{ "SEV",
	  "the VM is an AMD SEV (encrypted) guest: KVM inhibits AVIC when SEV "
	  "is initialised for the VM (KVM_SEV_INIT).",
	  "nothing to tune: it holds for the life of an SEV guest.", 1 },
	/* 5.10 svm_vcpu_after_set_cpuid(): guest CPUID has x2APIC. */
	{ "X2APIC",
	  "(5.10) the guest's CPUID offers x2APIC, which AVIC without x2AVIC "
	  "cannot virtualize.",
	  "QEMU -cpu ...,-x2apic if the guest can live without x2APIC (large "
	  "guests cannot), or a newer kernel with x2AVIC hardware (Zen 4 and "
	  "later).", 1 },
	/*
	 * 6.12 lapic.c:465-468 (kvm_recalculate_apic_map): set when two vCPUs
	 * have the same physical APIC ID; cleared when no longer.
	 */
	{ "PHYSICAL_ID_ALIASED",
	  "two vCPUs have the same physical APIC ID (a guest or VMM wrote "
	  "duplicate xAPIC IDs), so KVM cannot build its APIC map; usually "
	  "together with APIC_ID_MODIFIED. Cleared when the IDs are unique "
	  "again.",
	  "find who writes the IDs (see APIC_ID_MODIFIED and the apic_id "
	  "records' alias=yes); fix the VMM state restore or the guest.", 1 },
	/* 6.12 lapic.c:469-472: logical map KVM_APIC_MODE_MAP_DISABLED. */
	{ "LOGICAL_ID_ALIASED",
	  "the guest programmed logical APIC IDs (LDR/DFR) that KVM cannot map "
	  "one-to-one: two vCPUs share a logical ID, or some vCPUs use flat "
	  "and others cluster mode. Cleared when the guest fixes them.",
	  "a guest-side configuration; nothing on the host. Usually seen "
	  "briefly while a guest brings up its APICs.", 1 },
	/*
	 * 7.2 svm/avic.c:399 (id > max_id), 7.3 :433: set when a vCPU's id is
	 * above AVIC's table: 0xFE without x2AVIC. Sticky. QEMU 7.2:
	 * kvm_arch_vcpu_id() = apic_id (target/i386/kvm/kvm.c:744-748), built
	 * from the topology with power-of-two field widths
	 * (include/hw/i386/topology.h:63-88).
	 */
	{ "PHYSICAL_ID_TOO_BIG",
	  "a vCPU id is above what AVIC can address: 254 (0xFE) without x2AVIC. "
	  "QEMU uses the APIC ID as vCPU id, and APIC IDs grow faster than the "
	  "vCPU count when the -smp topology is not a power of two. Sticky.",
	  "fewer vCPUs, or a topology whose APIC IDs stay below 255 (powers of "
	  "two for threads, cores and dies), or a host CPU with x2AVIC (Zen 4 "
	  "and later); then restart the VM.", 1 },
	{ NULL, NULL, NULL, 0 }
};

static const struct hint generic = {
	"unknown",
	"a reason this version of apicv-trace has no explanation for (a newer "
	"kernel, or a bit the module could not name: reason=unknown).",
	"look the reason up in the running kernel's arch/x86 KVM sources "
	"(enum kvm_apicv_inhibit) and /sys/kernel/debug/apicv_trace/reasons.",
	0
};

const struct hint *hint_table(void)
{
	return hints;
}

const struct hint *hint_for(const char *reason)
{
	size_t i;

	if (!reason)
		return &generic;
	if (!strcmp(reason, "DISABLED"))
		reason = "DISABLE";
	for (i = 0; hints[i].name; i++)
		if (!strcmp(hints[i].name, reason) && hints[i].cause)
			return &hints[i];
	return &generic;
}

/*
 * One sentence each, distilled from the fixes above (same sources): what
 * to change first when this reason is the one that keeps AVIC off.
 */
static const struct {
	const char *name, *first;
} firsts[] = {
	{ "PIT_REINJ", "set the VMM's PIT to discard lost ticks: QEMU -global "
	  "kvm-pit.lost_tick_policy=discard (libvirt: <timer name='pit' "
	  "tickpolicy='discard'/>), then start the VM again." },
	{ "HYPERV", "add the hv-avic CPU flag (QEMU -cpu ...,hv-avic) so "
	  "Windows stops using AutoEOI (on 5.10: drop hv-synic)." },
	{ "BLOCKIRQ", "stop single-stepping the vCPU, or detach the debugger." },
	{ "IRQWIN", "make the guest take its interrupts through the IOAPIC or "
	  "MSI, not the 8259 PIC (e.g. do not boot it with \"noapic\")." },
	{ "APIC_ID_MODIFIED", "find what wrote the wrong APIC ID (the last "
	  "set's site, below) and fix it; if the reason is sticky, restart "
	  "the VM (a guest reboot is not enough)." },
	{ "APIC_BASE_MODIFIED", "find what writes the APIC base MSR (the last "
	  "set's site, below) and fix it, then restart the VM." },
	{ "ABSENT", "give the VM an in-kernel irqchip: QEMU kernel-irqchip=on "
	  "(the default) or split, not off." },
	{ "DISABLE", "turn AVIC on in the host: options kvm_amd avic=1 (Intel: "
	  "kvm_intel enable_apicv=Y), reload the module with no VM running, "
	  "and start the VM again." },
	{ "NESTED", "if the guest runs no VMs itself, hide SVM from it (QEMU "
	  "-cpu ...,-svm) or load kvm_amd with nested=0." },
	{ "SEV", "none possible: an SEV guest keeps AVIC off for its whole "
	  "life." },
	{ "X2APIC", "QEMU -cpu ...,-x2apic if the guest can live without "
	  "x2APIC, or a newer kernel on a CPU with x2AVIC." },
	{ "PHYSICAL_ID_ALIASED", "find who writes duplicate APIC IDs (apic_id "
	  "records with alias=yes) and fix that VMM restore or guest." },
	{ "LOGICAL_ID_ALIASED", "nothing on the host: the guest's logical APIC "
	  "IDs clash; usually brief while it brings up its APICs." },
	{ "PHYSICAL_ID_TOO_BIG", "fewer vCPUs, or a power-of-two -smp topology "
	  "so APIC IDs stay below 255, then restart the VM." },
	{ NULL, NULL }
};

const char *hint_first(const char *reason)
{
	size_t i;

	if (reason && !strcmp(reason, "DISABLED"))
		reason = "DISABLE";
	for (i = 0; reason && firsts[i].name; i++)
		if (!strcmp(firsts[i].name, reason))
			return firsts[i].first;
	return "look the reason up in the running kernel's KVM sources "
	       "(enum kvm_apicv_inhibit).";
}

static const struct {
	const char *fn;
	const char *what;
} sites[] = {
	{ "kvm_apic_set_state", "the VMM restored the local APIC (KVM_SET_LAPIC)" },
	{ "kvm_lapic_reg_write", "a guest write to a local APIC register" },
	{ "kvm_lapic_set_base", "an APIC base MSR write" },
	{ "kvm_apic_set_base", "an APIC base MSR write" },
	{ "__kvm_apic_set_base", "an APIC base MSR write" },
	{ "kvm_set_apic_base", "an APIC base MSR write" },
	{ "kvm_vcpu_reset", "a vCPU reset" },
	{ "kvm_lapic_reset", "a local APIC reset" },
	{ "kvm_pit_set_reinject", "the PIT's reinject mode (VMM)" },
	{ "kvm_create_pit", "the VMM created the PIT (KVM_CREATE_PIT2)" },
	{ "kvm_free_pit", "the PIT was freed" },
	{ "kvm_vm_ioctl_reinject", "KVM_REINJECT_CONTROL from the VMM" },
	{ "svm_enable_irq_window", "an interrupt window was opened" },
	{ "interrupt_window_interception", "the interrupt window closed" },
	{ "svm_inject_irq", "an interrupt was injected" },
	{ "synic_update_vector", "a Hyper-V SynIC SINT write" },
	{ "kvm_hv_activate_synic", "Hyper-V SynIC activation" },
	{ "kvm_arch_vcpu_ioctl_set_guest_debug", "KVM_SET_GUEST_DEBUG (a debugger)" },
	{ "kvm_arch_vm_ioctl", "a VM ioctl from the VMM (KVM_CREATE_IRQCHIP)" },
	{ "kvm_vm_ioctl_enable_cap", "KVM_ENABLE_CAP from the VMM (split irqchip)" },
	{ "kvm_dev_ioctl", "VM creation (KVM_CREATE_VM)" },
	{ "sev_guest_init", "SEV initialisation" },
	{ "__sev_guest_init", "SEV initialisation" },
	{ "avic_init_vcpu", "vCPU creation" },
	{ "kvm_destroy_vm", "VM destruction" },
	{ NULL, NULL }
};

const char *site_meaning(const char *site)
{
	size_t i, len;
	const char *plus;

	if (!site)
		return NULL;
	plus = strchr(site, '+');
	len = plus ? (size_t)(plus - site) : strlen(site);
	/* compiler clones: "fn.part.0+0x10", "fn.isra.0" */
	{
		const char *dot = memchr(site, '.', len);

		if (dot)
			len = (size_t)(dot - site);
	}
	for (i = 0; sites[i].fn; i++)
		if (strlen(sites[i].fn) == len && !strncmp(sites[i].fn, site, len))
			return sites[i].what;
	return NULL;
}
