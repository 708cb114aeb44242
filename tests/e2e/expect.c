// SPDX-License-Identifier: GPL-2.0
/*
 * expect.c - kvmdrive's model of KVM, per kernel line: the reason tables by
 * bit, and what KVM must do to the inhibit mask for each step (the STEP
 * line's expect=, see kvmdrive.c). It reads the run's line and APICv state
 * (g) and the model of the VM's local APICs (struct vm, kvm.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kvm.h"

static const char *const reason_lname[] = {
	[R_DISABLE]		= "DISABLE",
	[R_HYPERV]		= "HYPERV",
	[R_ABSENT]		= "ABSENT",
	[R_BLOCKIRQ]		= "BLOCKIRQ",
	[R_APIC_ID_MODIFIED]	= "APIC_ID_MODIFIED",
	[R_APIC_BASE_MODIFIED]	= "APIC_BASE_MODIFIED",
	[R_IRQWIN]		= "IRQWIN",
	[R_PIT_REINJ]		= "PIT_REINJ",
	[R_PHYS_ALIASED]	= "PHYSICAL_ID_ALIASED",
	[R_LOGICAL_ALIASED]	= "LOGICAL_ID_ALIASED",
	[R_TOO_BIG]		= "PHYSICAL_ID_TOO_BIG",
};

static const char *const gen_str[] = { "5.10", "6.1", "6.12", "7.2" };

static const char *const tbl_510[] = {
	"DISABLE", "HYPERV", "NESTED", "IRQWIN", "PIT_REINJ", "X2APIC",
};
static const char *const tbl_61[] = {
	"DISABLE", "HYPERV", "ABSENT", "BLOCKIRQ", "APIC_ID_MODIFIED",
	"APIC_BASE_MODIFIED", "NESTED", "IRQWIN", "PIT_REINJ", "SEV",
};
static const char *const tbl_612[] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED",
};
static const char *const tbl_72[] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG",
};

static const struct {
	const char *const *names;
	unsigned int nr;
} gen_tbl[] = {
	[GEN_510] = { tbl_510, ARRAY_SIZE(tbl_510) },
	[GEN_61]  = { tbl_61,  ARRAY_SIZE(tbl_61) },
	[GEN_612] = { tbl_612, ARRAY_SIZE(tbl_612) },
	[GEN_72]  = { tbl_72,  ARRAY_SIZE(tbl_72) },
};

enum gen gen_from_version(int maj, int min)
{
	int v = maj * 100 + min;

	if (v >= 702)
		return GEN_72;
	if (v >= 603)
		return GEN_612;
	if (v >= 516)
		return GEN_61;
	return GEN_510;
}

const char *gen_name(enum gen gen)
{
	return gen_str[gen];
}

const char *const *gen_reasons(enum gen gen, unsigned int *nr)
{
	*nr = gen_tbl[gen].nr;
	return gen_tbl[gen].names;
}

/* Name of a logical reason on this kernel, or NULL if it has none. */
static const char *reason_name(enum reason r)
{
	const char *l = reason_lname[r];
	unsigned int i;

	for (i = 0; i < gen_tbl[g.gen].nr; i++) {
		const char *n = gen_tbl[g.gen].names[i];

		if (!strcmp(n, l) ||
		    (r == R_DISABLE && !strcmp(n, "DISABLED")))
			return n;
	}
	return NULL;
}

void ex_init(struct expect *e)
{
	e->s[0] = '\0';
}

void ex_raw(struct expect *e, const char *verb, enum reason r)
{
	const char *name = reason_name(r);
	size_t len = strlen(e->s);

	if (!name)
		return;		/* reason does not exist on this kernel */
	snprintf(e->s + len, sizeof(e->s) - len, "%s%s:%s",
		 len ? "," : "", verb, name);
}

/*
 * A runtime set/clear request.  With APICv disabled (6.1+) KVM drops it;
 * 5.10's kvm_request_apicv_update() applies it regardless.
 */
void ex_req(struct expect *e, bool set, enum reason r)
{
	bool drop = g.disabled && g.gen >= GEN_61;

	if (drop)
		ex_raw(e, set ? "set-dropped" : "clear-dropped", r);
	else
		ex_raw(e, set ? "set" : "clear", r);
}

const char *ex_str(const struct expect *e)
{
	return e->s[0] ? e->s : "none";
}

/* Expectation with a single request (or none if !cond). */
const char *ex1(struct expect *e, bool cond, bool set, enum reason r)
{
	ex_init(e);
	if (cond)
		ex_req(e, set, r);
	return ex_str(e);
}

/* Expectation for KVM_CREATE_VM: the init-time bits. */
const char *ex_create_vm(struct expect *e)
{
	ex_init(e);
	switch (g.gen) {
	case GEN_510:
		/* kvm_apicv_init(kvm, avic): DISABLE iff avic is off */
		if (g.disabled)
			ex_raw(e, "set", R_DISABLE);
		break;
	case GEN_61:
		ex_raw(e, "set", R_ABSENT);
		if (g.disabled)
			ex_raw(e, "set", R_DISABLE);
		break;
	default:
		ex_raw(e, "set", g.disabled ? R_DISABLE : R_ABSENT);
		break;
	}
	return ex_str(e);
}

/*
 * 6.12+: kvm_recalculate_apic_map() asks for PHYSICAL_ID_ALIASED,
 * LOGICAL_ID_ALIASED and APIC_ID_MODIFIED, in this order, set or clear,
 * every time it recalculates (KVM_CREATE_VCPU, KVM_SET_LAPIC). With APICv
 * on, only the transitions are expected; with APICv off, all three
 * requests, dropped. The model (vcpu->xapic_id, ->logical_bad) covers what
 * the scenarios do: xAPIC mode, APIC hardware-enabled, at most one vCPU
 * software-enabled with a logical ID. KVM stops at the first aliased vCPU;
 * a mismatch on a vCPU after it would go unnoticed, which the scenarios
 * never build (the aliasing vCPU is the mismatching one).
 */
void ex_recalc(struct expect *e, struct vm *vm)
{
	static const enum reason order[] = {
		R_PHYS_ALIASED, R_LOGICAL_ALIASED, R_APIC_ID_MODIFIED,
	};
	bool alias = false, logical = false, mismatch = false;
	unsigned int want, i, j;

	if (g.gen < GEN_612 || !vm->irqchip)
		return;
	for (i = 0; i < (unsigned int)vm->nvcpu; i++) {
		const struct vcpu *a = &vm->vcpu[i];

		if (a->xapic_id != (uint8_t)a->id)
			mismatch = true;
		if (a->logical_bad)
			logical = true;
		for (j = i + 1; j < (unsigned int)vm->nvcpu; j++)
			if (vm->vcpu[j].xapic_id == a->xapic_id)
				alias = true;
	}
	if (alias)
		logical = true;		/* no map at all: both inhibited */
	want = (alias ? RB_PHYS : 0) | (logical ? RB_LOGICAL : 0) |
	       (mismatch ? RB_APIC_ID : 0);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		bool on = want & (1u << i), was = vm->recalc & (1u << i);

		if (g.disabled)
			ex_raw(e, on ? "set-dropped" : "clear-dropped",
			       order[i]);
		else if (on != was)
			ex_raw(e, on ? "set" : "clear", order[i]);
	}
	if (!g.disabled)
		vm->recalc = want;
}

/*
 * KVM_SET_LAPIC of vCPU v, whose model was just updated. 6.1:
 * kvm_lapic_xapic_id_updated() asks for APIC_ID_MODIFIED on a mismatch
 * (sticky: a change only the first time). 6.12+: the map is recalculated.
 */
void ex_lapic_set(struct expect *e, struct vm *vm, const struct vcpu *v)
{
	if (g.gen == GEN_61) {
		if (v->xapic_id == (uint8_t)v->id)
			return;
		if (g.disabled) {
			ex_raw(e, "set-dropped", R_APIC_ID_MODIFIED);
		} else if (!vm->apic_id_set) {
			ex_raw(e, "set", R_APIC_ID_MODIFIED);
			vm->apic_id_set = true;
		}
	} else {
		ex_recalc(e, vm);
	}
}

/*
 * IRQWIN while the guest runs: set when KVM opens an IRQ window, cleared
 * at the window exit.  5.10 only asks when avic is on; 6.1+ always asks,
 * and drops the request when APICv is disabled.
 */
const char *ex_irqwin(struct expect *e, const struct vm *vm)
{
	ex_init(e);
	if (!g.disabled) {
		/*
		 * 7.2+ counts IRQ windows: while another reason inhibits,
		 * the requests are absorbed by the counter and IRQWIN only
		 * moves when another request recomputes it.
		 */
		if (g.gen >= GEN_72 && (vm->pit_reinject || vm->recalc))
			ex_raw(e, "absorb", R_IRQWIN);
		else
			ex_raw(e, "flap", R_IRQWIN);
	} else if (g.gen == GEN_61 || g.gen == GEN_612) {
		/* every window asks, KVM drops; 7.2+ SVM asks only with APICv on */
		ex_raw(e, "flap-dropped", R_IRQWIN);
	}
	return ex_str(e);
}
