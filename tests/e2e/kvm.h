/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm.h - kvmdrive's KVM plumbing: the run's state (g), the VM and vCPUs a
 * scenario drives (with the model of their local APICs that expect.c
 * reads), the STEP line each operation prints, and the VM and vCPU ioctls
 * the scenarios are made of (kvm.c).
 */
#ifndef KVMDRIVE_KVM_H
#define KVMDRIVE_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "kvmsys.h"
#include "expect.h"

#define APIC_ID_BYTE			0x23	/* bits 31:24 of the u32 at 0x20 */
#define APIC_LDR_REG			0xd0
#define APIC_DFR_REG			0xe0
#define APIC_SPIV_REG			0xf0
#define APIC_SPIV_ENABLE		0x100
#define APIC_DFR_FLAT			0xffffffffu

#define RC_SKIP		1	/* pseudo return code: op not issued */

/* The run: what every scenario and the plumbing share. */
struct run {
	enum gen gen;
	bool disabled;		/* --expect-disabled */
	int kvm_fd;
	int steps;
	int failures;
};

extern struct run g;

#define MAX_VCPUS 2

struct vcpu {
	int id;
	int fd;
	struct kvm_run *run;
	/* what KVM sees of this vCPU's local APIC (model for expectations) */
	uint8_t xapic_id;	/* the xAPIC ID byte */
	bool logical_bad;	/* its LDR makes KVM's logical map unusable */
};

/* 6.12+: the reasons kvm_recalculate_apic_map() re-evaluates, in order */
#define RB_PHYS		0x1	/* PHYSICAL_ID_ALIASED */
#define RB_LOGICAL	0x2	/* LOGICAL_ID_ALIASED */
#define RB_APIC_ID	0x4	/* APIC_ID_MODIFIED */

struct vm {
	int fd;
	pid_t tid;
	char key[32];
	int nvcpu;
	struct vcpu vcpu[MAX_VCPUS];
	size_t run_size;
	void *mem;
	size_t mem_size;
	bool pit_reinject;	/* current PIT reinject state */
	bool irqchip;		/* KVM_CREATE_IRQCHIP done */
	unsigned int recalc;	/* 6.12+: RB_* bits KVM has set (APICv on) */
	bool apic_id_set;	/* 6.1: APIC_ID_MODIFIED set (sticky) */
};

static inline void lapic_set_id(struct kvm_lapic_state *l, uint8_t id)
{
	l->regs[APIC_ID_BYTE] = (char)id;
}

static inline uint8_t lapic_get_id(const struct kvm_lapic_state *l)
{
	return (uint8_t)l->regs[APIC_ID_BYTE];
}

static inline uint32_t lapic_reg(const struct kvm_lapic_state *l,
				 unsigned int off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

static inline void lapic_set_reg(struct kvm_lapic_state *l, unsigned int off,
				 uint32_t v)
{
	memcpy(l->regs + off, &v, sizeof(v));
}

const char *errname(int e);
/* Read a KVM debugfs stat of a VM, -1 if unavailable. */
long long vm_debugfs_stat(const struct vm *vm, const char *name);

/*
 * Print one STEP line.  rc is 0, -errno or RC_SKIP.  A failed step
 * with must=true counts as a failure of the run.  extra_fmt (may be
 * NULL) appends " key=value" pairs.
 */
void __attribute__((format(printf, 7, 8)))
step(const struct vm *vm, int vcpu, const char *name, const char *op,
     int rc, bool must, const char *extra_fmt, ...);

extern const char *g_expect;	/* set by the STEP() macro */

/* STEP(expect, vm, vcpu, name, op, rc, must, extra...) */
#define STEP(ex, ...) do { g_expect = (ex); step(__VA_ARGS__); } while (0)

/* KVM_CREATE_VM from the calling thread; prints VM created + STEP. */
int vm_create(struct vm *vm);
int vm_create_irqchip(struct vm *vm);
int vm_create_vcpu_rc(struct vm *vm, int id, int want_rc);
int vm_create_vcpu(struct vm *vm, int id);
int vm_create_pit2(struct vm *vm);
int vm_pit_reinject(struct vm *vm, bool on);
int vcpu_blockirq(struct vm *vm, struct vcpu *v, bool on);
void vcpu_synic(struct vm *vm, struct vcpu *v);
/* KVM_GET_LAPIC as a STEP (lapic_get, with the xAPIC ID); 0 or -errno */
int vcpu_get_lapic(struct vm *vm, struct vcpu *v, struct kvm_lapic_state *l);
int vcpu_set_lapic(struct vm *vm, struct vcpu *v,
		   const struct kvm_lapic_state *l, const char *name,
		   const char *extra);
void vcpu_apic_id(struct vm *vm, struct vcpu *v);
void vcpu_apic_base(struct vm *vm, struct vcpu *v);
void vm_close(struct vm *vm);

#endif /* KVMDRIVE_KVM_H */
