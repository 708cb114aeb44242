// SPDX-License-Identifier: GPL-2.0
/*
 * scenarios.c - kvmdrive's scenarios without a guest: each drives one or
 * two VMs through ioctls (kvm.c) that make KVM set and clear inhibit
 * reasons; their STEP names are listed at the top of kvmdrive.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm.h"
#include "scenarios.h"

/* ------------------------------------------------------------------ */
/* Scenario: basic / avic0                                            */
/* ------------------------------------------------------------------ */

int scenario_basic(void)
{
	struct vm vm;
	struct vcpu *v;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 0))
		goto out;
	v = &vm.vcpu[0];

	vcpu_blockirq(&vm, v, true);
	vcpu_blockirq(&vm, v, false);

	if (!vm_create_pit2(&vm)) {
		vm_pit_reinject(&vm, false);
		vm_pit_reinject(&vm, true);
		vm_pit_reinject(&vm, false);
	}

	vcpu_synic(&vm, v);
	vcpu_apic_id(&vm, v);
	vcpu_apic_base(&vm, v);
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: seedpatch                                                */
/* ------------------------------------------------------------------ */

/*
 * A vCPU whose id does not fit in 8 bits: vCPU 256 has xAPIC ID (u8)256 =
 * 0, and a KVM_SET_LAPIC round trip must not inhibit ("KVM: x86: Don't
 * inhibit APICv/AVIC if xAPIC ID mismatch is due to 32-bit ID"). Run it
 * with avic=0 on 6.1/6.12: AVIC without x2AVIC refuses vCPU ids > 254.
 */
int scenario_seedpatch(void)
{
	struct kvm_lapic_state lapic;
	struct vm vm;
	struct vcpu *v;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 256))
		goto out;
	v = &vm.vcpu[0];
	if (vcpu_get_lapic(&vm, v, &lapic))
		goto out;
	vcpu_set_lapic(&vm, v, &lapic, "lapic_set_same", NULL);
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: aliases (6.12+: PHYSICAL_ID_ALIASED, LOGICAL_ID_ALIASED)  */
/* ------------------------------------------------------------------ */

/*
 * Two vCPUs (0, 1). vCPU 1 takes vCPU 0's xAPIC ID: two APICs answer to
 * physical ID 0, KVM drops its APIC map (PHYSICAL_ID_ALIASED and, with no
 * map, LOGICAL_ID_ALIASED) and sees vCPU 1's ID mismatch
 * (APIC_ID_MODIFIED); restoring the ID clears all three. Then vCPU 0,
 * software-enabled in flat logical mode, gets two bits in its logical ID:
 * LOGICAL_ID_ALIASED alone; a zero logical ID clears it. 6.1 sees only
 * the mismatch (sticky); 5.10 none of it.
 */
int scenario_aliases(void)
{
	struct kvm_lapic_state l0, l1, mod;
	struct vcpu *v0, *v1;
	struct vm vm;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 0) ||
	    vm_create_vcpu(&vm, 1))
		goto out;
	v0 = &vm.vcpu[0];
	v1 = &vm.vcpu[1];
	if (vcpu_get_lapic(&vm, v0, &l0) || vcpu_get_lapic(&vm, v1, &l1))
		goto out;

	mod = l1;
	lapic_set_id(&mod, lapic_get_id(&l0));
	vcpu_set_lapic(&vm, v1, &mod, "alias_set", NULL);
	vcpu_set_lapic(&vm, v1, &l1, "alias_restore", NULL);

	mod = l0;
	lapic_set_reg(&mod, APIC_SPIV_REG,
		      lapic_reg(&mod, APIC_SPIV_REG) | APIC_SPIV_ENABLE);
	lapic_set_reg(&mod, APIC_DFR_REG, APIC_DFR_FLAT);
	lapic_set_reg(&mod, APIC_LDR_REG, 0x03000000);
	vcpu_set_lapic(&vm, v0, &mod, "logical_set", " ldr=0x03000000");
	lapic_set_reg(&mod, APIC_LDR_REG, 0x01000000);
	vcpu_set_lapic(&vm, v0, &mod, "logical_clear", " ldr=0x01000000");
	lapic_set_reg(&mod, APIC_LDR_REG, 0x03000000);
	vcpu_set_lapic(&vm, v0, &mod, "logical_set", " ldr=0x03000000");
	lapic_set_reg(&mod, APIC_LDR_REG, 0);
	vcpu_set_lapic(&vm, v0, &mod, "logical_zero", " ldr=0");
	vcpu_set_lapic(&vm, v0, &l0, "lapic_restore", NULL);
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: toobig (7.2+: PHYSICAL_ID_TOO_BIG)                        */
/* ------------------------------------------------------------------ */

/*
 * vCPU 255 with the in-kernel APIC: beyond xAVIC's highest physical ID
 * (0xfe). 7.2+ creates it and inhibits AVIC for good
 * (PHYSICAL_ID_TOO_BIG); 6.1 and 6.12 refuse it (-EINVAL) while AVIC is
 * on; with APICv off (and on 5.10) it is an ordinary vCPU.
 */
int scenario_toobig(void)
{
	int want = 0;
	struct vm vm;

	if (!g.disabled && (g.gen == GEN_61 || g.gen == GEN_612))
		want = -EINVAL;
	if (vm_create(&vm))
		return -1;
	if (!vm_create_irqchip(&vm))
		vm_create_vcpu_rc(&vm, 255, want);
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: flood                                                    */
/* ------------------------------------------------------------------ */

/*
 * Many mask changes without a guest: PIT reinject off and on again,
 * --toggles times, --interval-ms apart. Every toggle changes the mask on
 * 5.10 (whose setter ignores avic) and with APICv on; with APICv off
 * (6.1+) the requests are dropped.
 */
int scenario_flood(int toggles, int interval_ms)
{
	struct vm vm;
	int i;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_pit2(&vm))
		goto out;
	for (i = 0; i < toggles; i++) {
		if (vm_pit_reinject(&vm, false) || vm_pit_reinject(&vm, true))
			break;
		if (interval_ms)
			usleep(interval_ms * 1000);
	}
out:
	vm_close(&vm);
	return 0;
}

/*
 * An idle VM for --seconds (default 10): an in-kernel PIT in reinject
 * mode (PIT_REINJ set) and one vCPU that never runs, so nothing about it
 * changes: a module loaded meanwhile must list it at once, with KVM's mask
 * (adopted at load), and read its name from this process's command line
 * (--name, as QEMU's -name).
 */
int scenario_idle(double seconds)
{
	struct vm vm;

	if (vm_create(&vm))
		return -1;
	if (!vm_create_irqchip(&vm) && !vm_create_pit2(&vm) &&
	    !vm_create_vcpu(&vm, 0)) {
		printf("IDLE seconds=%.1f\n", seconds);
		usleep((useconds_t)(seconds * 1e6));
	}
	vm_close(&vm);
	return 0;
}

/*
 * Many records fast (6.1+): BLOCKIRQ set and cleared on vCPU 0 through
 * KVM_SET_GUEST_DEBUG, --toggles times, no STEP line per toggle. PIT
 * reinject (flood) waits for an SRCU grace period per toggle, which
 * under TCG takes milliseconds and varies five-fold from run to run.
 */
int scenario_blockflood(int toggles)
{
	struct kvm_guest_debug on = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_BLOCKIRQ,
	}, off = { 0 };
	struct vm vm;
	int i, fd, done = 0;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_vcpu(&vm, 0))
		goto out;
	fd = vm.vcpu[0].fd;
	for (i = 0; i < toggles; i++) {
		if (ioctl(fd, KVM_SET_GUEST_DEBUG, &on) ||
		    ioctl(fd, KVM_SET_GUEST_DEBUG, &off)) {
			fprintf(stderr, "kvmdrive: KVM_SET_GUEST_DEBUG: %s\n",
				strerror(errno));
			break;
		}
		done++;
	}
	printf("BLOCKFLOOD toggles=%d done=%d\n", toggles, done);
	if (done != toggles)
		g.failures++;
out:
	vm_close(&vm);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Scenario: twovms                                                   */
/* ------------------------------------------------------------------ */

static void *create_vm_thread(void *arg)
{
	vm_create(arg);
	return NULL;
}

int scenario_twovms(void)
{
	struct vm a, b;
	pthread_t th;
	int i, r;

	if (vm_create(&a))
		return -1;
	/* VM B from another thread, so its key has another pid. */
	r = pthread_create(&th, NULL, create_vm_thread, &b);
	if (r) {
		fprintf(stderr, "kvmdrive: pthread_create: %s\n", strerror(r));
		g.failures++;
		vm_close(&a);
		return -1;
	}
	pthread_join(th, NULL);
	if (b.fd < 0) {
		vm_close(&a);
		return -1;
	}
	if (vm_create_irqchip(&a) || vm_create_irqchip(&b) ||
	    vm_create_vcpu(&a, 0) || vm_create_pit2(&b))
		goto out;

	for (i = 0; i < 3; i++) {
		if (i < 2)
			vcpu_blockirq(&a, &a.vcpu[0], true);
		vm_pit_reinject(&b, false);
		if (i < 2)
			vcpu_blockirq(&a, &a.vcpu[0], false);
		vm_pit_reinject(&b, true);
	}
out:
	vm_close(&a);
	vm_close(&b);	/* reinject is on: clear:PIT_REINJ */
	return 0;
}
