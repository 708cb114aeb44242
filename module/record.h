/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One traced event, as stored in a ring slot.
 *
 * Plain C shared by the module and the userspace tests. A record holds
 * identifiers and values only: the call site is kept as an address so the
 * reader can name it (sprint_symbol), and it is never printed raw.
 */
#ifndef APICV_TRACE_RECORD_H
#define APICV_TRACE_RECORD_H

#include "ring.h"

enum at_event {
	AT_EV_NONE = 0,
	AT_EV_SET,		/* an inhibit set (requested or applied) */
	AT_EV_CLEAR,		/* an inhibit clear */
	AT_EV_APIC_ID,		/* KVM compared a vCPU's xAPIC ID */
	AT_EV_VM_CREATE,	/* kvm_arch_init_vm() succeeded */
	AT_EV_VM_DESTROY,	/* kvm_arch_destroy_vm() */
	AT_EV_BASELINE,		/* a VM that predates the module, first seen */
	AT_EV_LAPIC_SET,	/* marker: the VMM restored a vCPU's LAPIC */
	AT_EV_APIC_BASE,	/* marker: the VMM wrote the APIC base MSR */
	AT_EV_MAX,
};

enum at_result {
	AT_RES_NONE = 0,	/* not a request (vm_create, apic_id, ...) */
	AT_RES_CHANGED,		/* the VM-wide mask changed */
	AT_RES_NOOP,		/* honoured, but the bit already had that value */
	AT_RES_FILTERED,	/* the vendor module does not honour this reason */
	AT_RES_DROPPED,		/* APICv is disabled: KVM ignored the request */
	AT_RES_ABSORBED,	/* IRQWIN request counted, mask not recomputed */
	AT_RES_MAX,
};

/* at_rec.flags */
#define AT_F_SIDE	0x01	/* changed as a side effect of another request */
#define AT_F_MATCH	0x02	/* apic_id: xAPIC ID == (u8)vcpu_id */
#define AT_F_INHIBIT	0x04	/* apic_id: KVM asked for an inhibit */
#define AT_F_INIT	0x08	/* set by KVM while creating the VM */
#define AT_F_MISSED	0x10	/* a change whose setter call was not seen */
#define AT_F_MAP	0x20	/* apic_id: from the APIC map (alias known) */
#define AT_F_ALIAS	0x40	/* apic_id: another vCPU has this xAPIC ID */

#define AT_NO_BIT	0xff
#define AT_NO_VCPU	(-1)

struct at_rec {
	at_u64 gseq;		/* global event sequence, orders all VMs */
	at_u64 ns;		/* CLOCK_BOOTTIME */
	at_u64 old_mask;
	at_u64 new_mask;
	at_u64 site;		/* caller address, printed only via %pS */
	unsigned int vm_id;	/* module serial of the VM */
	unsigned int tid;
	int vcpu;		/* vCPU id or AT_NO_VCPU */
	unsigned int cpu;
	unsigned char event;	/* enum at_event */
	unsigned char bit;	/* reason bit or AT_NO_BIT */
	unsigned char result;	/* enum at_result */
	unsigned char flags;	/* AT_F_* */
	unsigned int xapic_id;	/* apic_id: ID compared; lapic_set: restored */
	unsigned int site_gen;	/* kvm load generation the site belongs to */
	unsigned int reserved;
	char comm[16];
	at_u64 value;		/* apic_base: the value written */
	at_u64 value_old;	/* apic_base: the value it replaced */
	at_u64 spare[2];
};

at_static_assert(sizeof(struct at_rec) == 8 * AT_RING_WORDS,
		 "a record fills exactly one ring slot");

/*
 * A VM's inhibit mask after a change of @bit: every bit KVM can set is
 * tracked, whether or not the module keeps statistics for it (reasons
 * at or above AT_MAX_BITS have no per-reason line but still inhibit).
 * A bit beyond the mask's width cannot be a reason: the mask is unchanged.
 */
AT_INLINE at_u64 at_mask_after(at_u64 mask, unsigned int bit, bool set)
{
	if (bit >= 64)
		return mask;
	return set ? mask | ((at_u64)1 << bit) : mask & ~((at_u64)1 << bit);
}

#endif /* APICV_TRACE_RECORD_H */
