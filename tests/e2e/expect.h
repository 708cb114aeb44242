/* SPDX-License-Identifier: GPL-2.0 */
/*
 * expect.h - kvmdrive's model of KVM: the inhibit reasons of each kernel
 * line (names by bit) and the expectation each STEP line prints (expect=):
 * which bits KVM must set, clear or drop for what the step did.
 */
#ifndef KVMDRIVE_EXPECT_H
#define KVMDRIVE_EXPECT_H

#include <stdbool.h>

struct vm;
struct vcpu;

/* Logical reasons, independent of the bit numbers of any one kernel. */
enum reason {
	R_DISABLE, R_HYPERV, R_ABSENT, R_BLOCKIRQ, R_APIC_ID_MODIFIED,
	R_APIC_BASE_MODIFIED, R_IRQWIN, R_PIT_REINJ, R_PHYS_ALIASED,
	R_LOGICAL_ALIASED, R_TOO_BIG,
};

/*
 * GEN_510: 5.10 (and anything before 5.16: no BLOCKIRQ, no ABSENT)
 * GEN_61:  5.16 .. 6.2 (APIC_ID_MODIFIED is sticky)
 * GEN_612: 6.3 .. 7.1 (APIC_ID_MODIFIED re-evaluated by the APIC map)
 * GEN_72:  7.2 and later (IRQWIN counted; PHYSICAL_ID_TOO_BIG)
 * The tables are the Debian builds' (docs/kernels.md,
 * "Reasons: names and numbers").
 */
enum gen { GEN_510, GEN_61, GEN_612, GEN_72 };

enum gen gen_from_version(int maj, int min);
const char *gen_name(enum gen gen);
/* The line's reason names by bit; *nr: how many. */
const char *const *gen_reasons(enum gen gen, unsigned int *nr);

struct expect {
	char s[192];
};

void ex_init(struct expect *e);
void ex_raw(struct expect *e, const char *verb, enum reason r);
void ex_req(struct expect *e, bool set, enum reason r);
const char *ex_str(const struct expect *e);
const char *ex1(struct expect *e, bool cond, bool set, enum reason r);
const char *ex_create_vm(struct expect *e);
void ex_recalc(struct expect *e, struct vm *vm);
void ex_lapic_set(struct expect *e, struct vm *vm, const struct vcpu *v);
const char *ex_irqwin(struct expect *e, const struct vm *vm);

#endif /* KVMDRIVE_EXPECT_H */
