// SPDX-License-Identifier: GPL-2.0
/*
 * kvm.c - kvmdrive's KVM plumbing: the ioctls a scenario is made of, each
 * printed as one STEP line with what KVM must do about it (expect.c), and
 * the VM lines (created, closed). See kvm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm.h"

#ifndef KVM_CAP_HYPERV_SYNIC
#define KVM_CAP_HYPERV_SYNIC		123
#endif

#define HV_X64_MSR_SINT0		0x40000090
#define HV_SYNIC_SINT_AUTO_EOI		(1ULL << 17)
#define SINT0_VECTOR			0x30
#define MSR_IA32_APICBASE		0x1b
#define APIC_BASE_MOVED			(0xfec00000ULL | 0x800 | 0x100)

struct run g;
const char *g_expect;

const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIME: return "ETIME";
	default: return "E?";
	}
}

static bool vm_debugfs_exists(const struct vm *vm)
{
	char p[96];

	snprintf(p, sizeof(p), "/sys/kernel/debug/kvm/%s", vm->key);
	return path_exists(p);
}

/* Read a KVM debugfs stat of a VM, -1 if unavailable. */
long long vm_debugfs_stat(const struct vm *vm, const char *name)
{
	char p[128], buf[32];
	long long v = -1;
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/sys/kernel/debug/kvm/%s/%s", vm->key, name);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		v = strtoll(buf, NULL, 10);
	}
	close(fd);
	return v;
}

void step(const struct vm *vm, int vcpu, const char *name,
	  const char *op, int rc, bool must, const char *extra_fmt, ...)
{
	char vcpu_s[16], rc_s[16], extra[256] = "";
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (vcpu < 0)
		strcpy(vcpu_s, "-");
	else
		snprintf(vcpu_s, sizeof(vcpu_s), "%d", vcpu);
	if (rc == RC_SKIP)
		strcpy(rc_s, "skip");
	else
		snprintf(rc_s, sizeof(rc_s), "%d", rc < 0 ? rc : 0);
	if (extra_fmt) {
		va_start(ap, extra_fmt);
		vsnprintf(extra, sizeof(extra), extra_fmt, ap);
		va_end(ap);
	}
	printf("STEP vm=%s vcpu=%s step=%s op=%s rc=%s expect=%s ts=%ld.%06ld%s%s%s\n",
	       vm && vm->key[0] ? vm->key : "-", vcpu_s, name, op, rc_s,
	       rc == RC_SKIP ? "unsupported" : g_expect,
	       (long)ts.tv_sec, ts.tv_nsec / 1000,
	       rc < 0 ? " err=" : "", rc < 0 ? errname(-rc) : "", extra);
	g.steps++;
	if (rc < 0 && must) {
		g.failures++;
		fprintf(stderr, "kvmdrive: %s%s%s step %s (%s) failed: %s\n",
			vm ? "vm " : "", vm ? vm->key : "", vm ? ":" : "",
			name, op, strerror(-rc));
	}
}

static int check_ext(long cap)
{
	return kvm_check_ext(g.kvm_fd, cap);
}

/* KVM_CREATE_VM from the calling thread; prints VM created + STEP. */
int vm_create(struct vm *vm)
{
	struct expect e;
	int fd;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->tid = my_tid();
	fd = xioctl(g.kvm_fd, KVM_CREATE_VM, (void *)0);
	if (fd >= 0) {
		vm->fd = fd;
		snprintf(vm->key, sizeof(vm->key), "%d-%d", vm->tid, fd);
		printf("VM vm=%s created pid=%d fd=%d debugfs=%s\n", vm->key,
		       vm->tid, fd, vm_debugfs_exists(vm) ? "yes" : "no");
	}
	STEP(ex_create_vm(&e), vm, -1, "create_vm", "KVM_CREATE_VM",
	     fd < 0 ? fd : 0, true, NULL);
	return fd < 0 ? fd : 0;
}

int vm_create_irqchip(struct vm *vm)
{
	struct expect e;
	int rc = xioctl(vm->fd, KVM_CREATE_IRQCHIP, NULL);

	if (!rc)
		vm->irqchip = true;
	STEP(ex1(&e, true, false, R_ABSENT), vm, -1, "create_irqchip",
	     "KVM_CREATE_IRQCHIP", rc, true, NULL);
	return rc;
}

/*
 * KVM_CREATE_VCPU. want_rc: the expected result (0, or -EINVAL where
 * AVIC refuses the id); a different result fails the run.
 */
int vm_create_vcpu_rc(struct vm *vm, int id, int want_rc)
{
	struct vcpu *v = &vm->vcpu[vm->nvcpu];
	struct expect e;
	int fd, sz;

	fd = xioctl(vm->fd, KVM_CREATE_VCPU, (void *)(long)id);
	ex_init(&e);
	if (fd >= 0) {
		memset(v, 0, sizeof(*v));
		v->id = id;
		v->fd = fd;
		v->xapic_id = (uint8_t)id;	/* reset: xAPIC ID = vcpu_id */
		vm->nvcpu++;
		/*
		 * 7.2+: avic_init_vcpu() inhibits AVIC for an id beyond
		 * xAVIC's 0xfe, before the vCPU's reset recalculates the map.
		 */
		if (g.gen >= GEN_72 && !g.disabled && vm->irqchip && id > 0xfe)
			ex_raw(&e, "set", R_TOO_BIG);
		ex_recalc(&e, vm);
	}
	if (want_rc && fd == want_rc) {
		STEP(ex_str(&e), vm, id, "create_vcpu", "KVM_CREATE_VCPU",
		     fd, false, " want=%s", errname(-want_rc));
		return fd;
	}
	if (want_rc) {
		fprintf(stderr, "kvmdrive: vCPU %d: expected %s, got %d\n",
			id, errname(-want_rc), fd < 0 ? fd : 0);
		g.failures++;
	}
	STEP(ex_str(&e), vm, id, "create_vcpu", "KVM_CREATE_VCPU",
	     fd < 0 ? fd : 0, true, want_rc ? " want=%s" : NULL,
	     errname(-want_rc));
	if (fd < 0)
		return fd;
	sz = ioctl(g.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz <= 0) {
		fprintf(stderr, "kvmdrive: KVM_GET_VCPU_MMAP_SIZE: %m\n");
		close(fd);
		vm->nvcpu--;
		g.failures++;
		return -EIO;
	}
	v->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (v->run == MAP_FAILED) {
		fprintf(stderr, "kvmdrive: mmap kvm_run: %m\n");
		close(fd);
		vm->nvcpu--;
		g.failures++;
		return -ENOMEM;
	}
	vm->run_size = sz;
	return 0;
}

int vm_create_vcpu(struct vm *vm, int id)
{
	return vm_create_vcpu_rc(vm, id, 0);
}

int vm_create_pit2(struct vm *vm)
{
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct expect e;
	int rc = xioctl(vm->fd, KVM_CREATE_PIT2, &cfg);

	if (!rc)
		vm->pit_reinject = true;
	STEP(ex1(&e, true, true, R_PIT_REINJ), vm, -1, "create_pit2",
	     "KVM_CREATE_PIT2", rc, true, NULL);
	return rc;
}

int vm_pit_reinject(struct vm *vm, bool on)
{
	struct kvm_reinject_control rc_arg = { .pit_reinject = on };
	struct expect e;
	int rc = xioctl(vm->fd, KVM_REINJECT_CONTROL, &rc_arg);

	if (!rc)
		vm->pit_reinject = on;
	STEP(ex1(&e, true, on, R_PIT_REINJ), vm, -1,
	     on ? "pit_reinject_on" : "pit_reinject_off",
	     "KVM_REINJECT_CONTROL", rc, true, NULL);
	return rc;
}

static bool blockirq_supported(void)
{
	return kvm_blockirq_supported(g.kvm_fd);
}

int vcpu_blockirq(struct vm *vm, struct vcpu *v, bool on)
{
	struct kvm_guest_debug dbg = { 0 };
	const char *name = on ? "blockirq_set" : "blockirq_clear";
	struct expect e;
	int rc;

	if (!blockirq_supported()) {
		STEP("unsupported", vm, v->id, name, "KVM_SET_GUEST_DEBUG",
		     RC_SKIP, false, NULL);
		return 0;
	}
	if (on)
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_BLOCKIRQ;
	rc = xioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
	STEP(ex1(&e, true, on, R_BLOCKIRQ), vm, v->id, name,
	     "KVM_SET_GUEST_DEBUG", rc, true, NULL);
	return rc;
}

/* KVM_SET_MSRS of one MSR; 0 or -errno. */
static int vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.entry.index = index;
	m.entry.data = data;
	r = xioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return r;
	return r == 1 ? 0 : -EINVAL;	/* KVM stops at the first bad MSR */
}

void vcpu_synic(struct vm *vm, struct vcpu *v)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_SYNIC };
	struct expect e;
	int rc;

	if (!check_ext(KVM_CAP_HYPERV_SYNIC)) {
		STEP("unsupported", vm, v->id, "synic_enable",
		     "KVM_ENABLE_CAP", RC_SKIP, false, NULL);
		STEP("unsupported", vm, v->id, "sint0_autoeoi",
		     "KVM_SET_MSRS", RC_SKIP, false, NULL);
		STEP("unsupported", vm, v->id, "sint0_noautoeoi",
		     "KVM_SET_MSRS", RC_SKIP, false, NULL);
		return;
	}
	/* 5.10: kvm_hv_activate_synic() sets HYPERV for good. */
	rc = xioctl(v->fd, KVM_ENABLE_CAP, &cap);
	STEP(ex1(&e, g.gen == GEN_510, true, R_HYPERV), vm, v->id,
	     "synic_enable", "KVM_ENABLE_CAP", rc, true, NULL);
	if (rc)
		return;
	/* 6.1+: synic_update_vector() counts SINTs with AutoEOI. */
	rc = vcpu_set_msr(v, HV_X64_MSR_SINT0,
			  SINT0_VECTOR | HV_SYNIC_SINT_AUTO_EOI);
	STEP(ex1(&e, g.gen >= GEN_61, true, R_HYPERV), vm, v->id,
	     "sint0_autoeoi", "KVM_SET_MSRS", rc, true, NULL);
	rc = vcpu_set_msr(v, HV_X64_MSR_SINT0, SINT0_VECTOR);
	STEP(ex1(&e, g.gen >= GEN_61, false, R_HYPERV), vm, v->id,
	     "sint0_noautoeoi", "KVM_SET_MSRS", rc, true, NULL);
}

/*
 * KVM_SET_LAPIC of @l on vCPU @v as one STEP, with what KVM must do about
 * it: the model of the vCPU's APIC is updated first (see ex_recalc()).
 * Logical ID: KVM gives up its logical map (LOGICAL_ID_ALIASED, 6.12+)
 * when a software-enabled APIC's logical ID has more than one bit in its
 * cluster (flat: 8 bits, cluster: the low 4).
 */
int vcpu_set_lapic(struct vm *vm, struct vcpu *v,
		   const struct kvm_lapic_state *l, const char *name,
		   const char *extra)
{
	struct kvm_lapic_state copy = *l;
	uint32_t ldr = lapic_reg(l, APIC_LDR_REG) >> 24;
	struct expect e;
	int rc;

	if (lapic_reg(l, APIC_DFR_REG) != APIC_DFR_FLAT)
		ldr &= 0xf;
	rc = xioctl(v->fd, KVM_SET_LAPIC, &copy);
	ex_init(&e);
	if (!rc) {
		v->xapic_id = lapic_get_id(l);
		v->logical_bad = (lapic_reg(l, APIC_SPIV_REG) & APIC_SPIV_ENABLE)
				 && ldr && (ldr & (ldr - 1));
		ex_lapic_set(&e, vm, v);
	}
	STEP(ex_str(&e), vm, v->id, name, "KVM_SET_LAPIC", rc, true,
	     " apic_id=%u%s", lapic_get_id(l), extra ? extra : "");
	return rc;
}

int vcpu_get_lapic(struct vm *vm, struct vcpu *v, struct kvm_lapic_state *l)
{
	int rc = xioctl(v->fd, KVM_GET_LAPIC, l);

	STEP("none", vm, v->id, "lapic_get", "KVM_GET_LAPIC", rc, true,
	     rc ? NULL : " apic_id=%u", lapic_get_id(l));
	return rc;
}

void vcpu_apic_id(struct vm *vm, struct vcpu *v)
{
	struct kvm_lapic_state lapic, mod;

	if (vcpu_get_lapic(vm, v, &lapic))
		return;
	/* Round trip with the ID unchanged: must not inhibit. */
	vcpu_set_lapic(vm, v, &lapic, "lapic_set_same", NULL);
	mod = lapic;
	lapic_set_id(&mod, (uint8_t)(v->id + 1));
	vcpu_set_lapic(vm, v, &mod, "apic_id_modify", NULL);
	/* 6.1: sticky.  6.12+: kvm_recalculate_apic_map() clears it. */
	vcpu_set_lapic(vm, v, &lapic, "apic_id_restore", NULL);
}

void vcpu_apic_base(struct vm *vm, struct vcpu *v)
{
	struct expect e;
	int rc = vcpu_set_msr(v, MSR_IA32_APICBASE, APIC_BASE_MOVED);

	STEP(ex1(&e, g.gen >= GEN_61, true, R_APIC_BASE_MODIFIED), vm, v->id,
	     "apic_base_modify", "KVM_SET_MSRS", rc, true,
	     " apic_base=0x%llx", (unsigned long long)APIC_BASE_MOVED);
}

/*
 * Close every fd of the VM; the last close destroys it synchronously
 * (kvm_destroy_vm runs from the close's task work before we return).
 * kvm_free_pit() turns PIT reinject off on the way.
 */
void vm_close(struct vm *vm)
{
	struct expect e;
	int i, rc;

	if (vm->fd < 0)
		return;
	for (i = 0; i < vm->nvcpu; i++) {
		munmap(vm->vcpu[i].run, vm->run_size);
		close(vm->vcpu[i].fd);
	}
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	rc = close(vm->fd) ? -errno : 0;
	ex_init(&e);
	if (vm->pit_reinject)
		ex_req(&e, false, R_PIT_REINJ);
	STEP(ex_str(&e), vm, -1, "close", "close", rc, true, NULL);
	printf("VM vm=%s closed debugfs_gone=%s\n", vm->key,
	       vm_debugfs_exists(vm) ? "no" : "yes");
	vm->fd = -1;
	vm->nvcpu = 0;
	vm->mem = NULL;
}
