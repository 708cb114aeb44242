// SPDX-License-Identifier: GPL-2.0
/*
 * guest.c - kvmdrive's guest scenario: a 16-bit real-mode guest (its code
 * below, in guest_blob) whose PIT interrupts keep opening IRQ windows,
 * run and rebooted the way QEMU resets an x86 vCPU (kvm.c's ioctls, one
 * STEP line each). Its STEP names are listed at the top of kvmdrive.c.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "kvm.h"
#include "guest.h"

/*
 * The guest: 16-bit real mode, loaded at GPA 0x1000 (segment 0x100),
 * CS = DS = SS = 0x100, entry at offset GD_CODE, stack top at 0x100:f000.
 * The first GD_CODE bytes are a data area shared with the VMM:
 *
 *   GD_TICKS    u32  PIT interrupts handled (IRQ0 handler increments)
 *   GD_LIMIT    u16  reboot once ticks >= limit; 0: no tick limit
 *   GD_DIV      u16  PIT channel 0 divisor (1193182 / hz)
 *   GD_REQ      u8   set by the VMM: reboot now (--seconds mode)
 *   GD_METHOD   u8   reboot method: 0 port 0x64 <- 0xfe, 1 port 0xcf9 <-
 *                    0x06, 2 triple fault (lidt with limit 0, CR0.PE=1,
 *                    int3 -> #GP -> #DF -> shutdown)
 *   GD_WINDOWS  u32  cli stretches that saw IRQ0 pending in the PIC IRR
 *   GD_MISSES   u32  cli stretches that gave up polling
 *   GD_STAGE    u16  1 = running the loop, 2 = rebooting
 *   GD_NULLIDT  6 B  zero IDTR image for the triple fault
 *
 * Program:
 *   1. IVT: vectors 0x00-0x1f -> exc (out 0x501, hlt: the VMM fails the
 *      run), 0x20 -> irq0 (ticks++, EOI), 0x21-0x2f -> irqx (EOI both PICs).
 *   2. 8259: ICW1-4 for master (base 0x20) and slave (base 0x28), mask all
 *      but IRQ0, OCW3 = read IRR.
 *   3. 8254: channel 0, mode 2, divisor GD_DIV.
 *   4. loop: cli; poll the PIC IRR until IRQ0 is pending (up to 0xffff
 *      reads: every read is an in-kernel PIO exit, so KVM sees the pending
 *      ExtINT with IF=0 and opens an IRQ window -> IRQWIN set); sti; hlt
 *      (the IRQ window exit clears IRQWIN, the interrupt is delivered, the
 *      next tick wakes the hlt).  Until ticks >= limit (if limit != 0) or
 *      the VMM sets GD_REQ.
 *   5. cli, then reboot with GD_METHOD.  Ports 0x64 and 0xcf9 are not
 *      emulated by KVM, so they exit to userspace (KVM_EXIT_IO); the
 *      triple fault exits with KVM_EXIT_SHUTDOWN.
 */
#define GSEG		0x100
#define GLOAD		(GSEG << 4)
#define GMEM_SIZE	0x100000
#define GD_TICKS	0x04
#define GD_LIMIT	0x08
#define GD_DIV		0x0a
#define GD_METHOD	0x0c
#define GD_REQ		0x0d
#define GD_WINDOWS	0x10
#define GD_MISSES	0x14
#define GD_STAGE	0x18
#define GD_NULLIDT	0x20
#define GD_CODE		0x40
#define PORT_PANIC	0x501

#define __S(x) #x
#define S(x) __S(x)

extern const unsigned char guest_blob[], guest_blob_end[];

asm(
"	.pushsection .rodata.kvmdrive_guest, \"a\"\n"
"	.globl guest_blob, guest_blob_end\n"
"guest_blob:\n"
"	.ascii \"KVMD\"\n"
"	.fill " S(GD_CODE) " - 4, 1, 0\n"
"	.code16\n"
"g_entry:\n"
"	cli\n"
"	cld\n"
"	mov %cs, %ax\n"
"	mov %ax, %ds\n"
"	mov %ax, %ss\n"
"	mov $0xf000, %sp\n"
"	xor %ax, %ax\n"
"	mov %ax, %es\n"
/* IVT: 0x00-0x2f -> g_exc, then 0x20 -> g_irq0, 0x21-0x2f -> g_irqx */
"	xor %di, %di\n"
"	mov $0x30, %cx\n"
"1:	movw $(g_exc - guest_blob), %es:(%di)\n"
"	movw $" S(GSEG) ", %es:2(%di)\n"
"	add $4, %di\n"
"	loop 1b\n"
"	movw $(g_irq0 - guest_blob), %es:0x80\n"
"	mov $0x84, %di\n"
"	mov $15, %cx\n"
"2:	movw $(g_irqx - guest_blob), %es:(%di)\n"
"	add $4, %di\n"
"	loop 2b\n"
/* 8259 master/slave: ICW1 edge+ICW4, ICW2 base, ICW3 cascade, ICW4 8086 */
"	mov $0x11, %al\n"
"	out %al, $0x20\n"
"	out %al, $0xa0\n"
"	mov $0x20, %al\n"
"	out %al, $0x21\n"
"	mov $0x28, %al\n"
"	out %al, $0xa1\n"
"	mov $0x04, %al\n"
"	out %al, $0x21\n"
"	mov $0x02, %al\n"
"	out %al, $0xa1\n"
"	mov $0x01, %al\n"
"	out %al, $0x21\n"
"	out %al, $0xa1\n"
"	mov $0xfe, %al\n"		/* OCW1: only IRQ0 */
"	out %al, $0x21\n"
"	mov $0xff, %al\n"
"	out %al, $0xa1\n"
"	mov $0x0a, %al\n"		/* OCW3: reads return IRR */
"	out %al, $0x20\n"
/* 8254 channel 0, lobyte/hibyte, mode 2 (rate generator) */
"	mov $0x34, %al\n"
"	out %al, $0x43\n"
"	mov " S(GD_DIV) ", %ax\n"
"	out %al, $0x40\n"
"	mov %ah, %al\n"
"	out %al, $0x40\n"
"	movw $1, " S(GD_STAGE) "\n"
"g_loop:\n"
"	cli\n"
"	mov $0xffff, %cx\n"
"3:	in $0x20, %al\n"
"	test $1, %al\n"
"	jnz 4f\n"
"	loop 3b\n"
"	incl " S(GD_MISSES) "\n"
"	jmp 5f\n"
"4:	incl " S(GD_WINDOWS) "\n"
"5:	sti\n"
"	hlt\n"
"	cmpb $0, " S(GD_REQ) "\n"
"	jne 6f\n"
"	movzwl " S(GD_LIMIT) ", %eax\n"
"	test %eax, %eax\n"
"	jz g_loop\n"
"	cmp " S(GD_TICKS) ", %eax\n"	/* limit - ticks */
"	ja g_loop\n"
"6:\n"
/* reboot */
"	cli\n"
"	movw $2, " S(GD_STAGE) "\n"
"	movb " S(GD_METHOD) ", %al\n"
"	cmp $1, %al\n"
"	je g_cf9\n"
"	cmp $2, %al\n"
"	je g_triple\n"
"	mov $0xfe, %al\n"
"	out %al, $0x64\n"
"	jmp g_dead\n"
"g_cf9:\n"
"	mov $0xcf9, %dx\n"
"	mov $0x06, %al\n"
"	out %al, %dx\n"
"	jmp g_dead\n"
"g_triple:\n"
"	lidt " S(GD_NULLIDT) "\n"
"	mov %cr0, %eax\n"		/* PE=1: the IDT limit is checked */
"	or $1, %eax\n"
"	mov %eax, %cr0\n"
"	int3\n"
"g_dead:\n"
"	hlt\n"
"	jmp g_dead\n"
"g_irq0:\n"
"	push %ax\n"
"	incl %cs:" S(GD_TICKS) "\n"
"	mov $0x20, %al\n"
"	out %al, $0x20\n"
"	pop %ax\n"
"	iret\n"
"g_irqx:\n"
"	push %ax\n"
"	mov $0x20, %al\n"
"	out %al, $0xa0\n"
"	out %al, $0x20\n"
"	pop %ax\n"
"	iret\n"
"g_exc:\n"
"	mov $" S(PORT_PANIC) ", %dx\n"
"	mov $0xee, %al\n"
"	out %al, %dx\n"
"	jmp g_dead\n"
"	.code64\n"
"guest_blob_end:\n"
"	.popsection\n"
);

static const char *const method_str[] = { "kbd", "cf9", "triple" };

int guest_reboot_method(const char *name)
{
	int i;

	for (i = 0; i < M_NR; i++)
		if (!strcmp(name, method_str[i]))
			return i;
	return strcmp(name, "cycle") ? -2 : -1;
}

static volatile sig_atomic_t alarm_hits;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_hits++;
}

static uint16_t g16(const struct vm *vm, unsigned int off)
{
	uint16_t v;

	memcpy(&v, (char *)vm->mem + GLOAD + off, sizeof(v));
	return v;
}

static uint32_t g32(const struct vm *vm, unsigned int off)
{
	uint32_t v;

	memcpy(&v, (char *)vm->mem + GLOAD + off, sizeof(v));
	return v;
}

static void p16(struct vm *vm, unsigned int off, uint16_t v)
{
	memcpy((char *)vm->mem + GLOAD + off, &v, sizeof(v));
}

/* (Re)load the guest image and its parameters; clears the IVT too. */
static void guest_load(const struct guest_opts *o, struct vm *vm, int boot)
{
	unsigned int div = 1193182 / o->hz;
	int method = o->method >= 0 ? o->method : boot % M_NR;

	memset(vm->mem, 0, GLOAD + 0x10000);
	memcpy((char *)vm->mem + GLOAD, guest_blob,
	       guest_blob_end - guest_blob);
	p16(vm, GD_LIMIT, o->boot_secs > 0 ? 0 : (uint16_t)o->ticks);
	p16(vm, GD_DIV, (uint16_t)(div > 0xffff ? 0xffff : div ? div : 1));
	((unsigned char *)vm->mem)[GLOAD + GD_METHOD] = (unsigned char)method;
}

static void seg_real(struct kvm_segment *s, uint16_t sel)
{
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
}

struct exits {
	unsigned long io, hlt, irqwin, shutdown, intr, mmio, other;
};

/*
 * Run one boot until the guest asks for a reboot (or fails / runs out of
 * time).  Returns the reboot method (M_*), or -1.
 */
static int guest_run(const struct guest_opts *o, struct vm *vm, struct vcpu *v,
		     int boot, double deadline, struct exits *ex,
		     const char **why)
{
	struct kvm_run *run = v->run;
	double t_req = o->boot_secs > 0 ? now() + o->boot_secs : 0;
	double t;
	int r;

	memset(ex, 0, sizeof(*ex));
	*why = "timeout";
	while ((t = now()) < deadline) {
		/* --seconds: ask the guest to reboot once its time is up */
		if (t_req && t >= t_req)
			((volatile unsigned char *)vm->mem)[GLOAD + GD_REQ] = 1;
		r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				ex->intr++;
				continue;
			}
			fprintf(stderr, "kvmdrive: boot %d: KVM_RUN: %m\n",
				boot);
			*why = "error";
			return -1;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;

			ex->io++;
			if (run->io.direction != KVM_EXIT_IO_OUT)
				break;	/* reads of unknown ports get junk */
			if (run->io.port == 0x64 && data[0] == 0xfe)
				return M_KBD;
			if (run->io.port == 0xcf9 && (data[0] & 0x04))
				return M_CF9;
			if (run->io.port == PORT_PANIC) {
				struct kvm_regs regs;

				memset(&regs, 0, sizeof(regs));
				ioctl(v->fd, KVM_GET_REGS, &regs);
				fprintf(stderr,
					"kvmdrive: boot %d: guest exception, sp=%04llx stack=%04x:%04x\n",
					boot, regs.rsp, g16(vm, regs.rsp),
					g16(vm, regs.rsp + 2));
				*why = "exception";
				return -1;
			}
			break;
		}
		case KVM_EXIT_HLT:
			ex->hlt++;
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
			ex->irqwin++;
			break;
		case KVM_EXIT_SHUTDOWN:
			ex->shutdown++;
			return M_TRIPLE;
		case KVM_EXIT_INTR:
			ex->intr++;
			break;
		case KVM_EXIT_MMIO:
			ex->mmio++;
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr,
				"kvmdrive: boot %d: KVM_EXIT_FAIL_ENTRY reason 0x%llx\n",
				boot, (unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
			*why = "fail_entry";
			return -1;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr,
				"kvmdrive: boot %d: KVM_EXIT_INTERNAL_ERROR suberror %u\n",
				boot, run->internal.suberror);
			*why = "internal_error";
			return -1;
		default:
			ex->other++;
			if (ex->other > 1000) {
				fprintf(stderr,
					"kvmdrive: boot %d: too many exits (last %u)\n",
					boot, run->exit_reason);
				*why = "error";
				return -1;
			}
			break;
		}
	}
	return -1;
}

/* After a failed boot: vCPU state to stderr, for debugging. */
static void guest_diag(struct vm *vm, struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_sregs sr;
	struct kvm_regs r;
	struct dirent *de;
	char path[96];
	DIR *dir;

	memset(&r, 0, sizeof(r));
	memset(&sr, 0, sizeof(sr));
	memset(&ev, 0, sizeof(ev));
	memset(&mp, 0, sizeof(mp));
	ioctl(v->fd, KVM_GET_REGS, &r);
	ioctl(v->fd, KVM_GET_SREGS, &sr);
	ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev);
	ioctl(v->fd, KVM_GET_MP_STATE, &mp);
	fprintf(stderr,
		"kvmdrive: diag: cs=%04x:%04llx (base %llx) rflags=%llx rsp=%llx cr0=%llx efer=%llx mp_state=%u exc=%u/%u/%u int=%u/%u shadow=%u\n",
		sr.cs.selector, r.rip, sr.cs.base, r.rflags, r.rsp,
		sr.cr0, sr.efer, mp.mp_state, ev.exception.injected,
		ev.exception.nr, ev.exception.has_error_code,
		ev.interrupt.injected, ev.interrupt.nr, ev.interrupt.shadow);
	/* every nonzero KVM debugfs stat of the VM */
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s", vm->key);
	dir = opendir(path);
	if (!dir)
		return;
	fprintf(stderr, "kvmdrive: diag stats:");
	while ((de = readdir(dir))) {
		long long val;

		if (de->d_name[0] == '.' || strncmp(de->d_name, "vcpu", 4) == 0)
			continue;
		val = vm_debugfs_stat(vm, de->d_name);
		if (val > 0)
			fprintf(stderr, " %s=%lld", de->d_name, val);
	}
	closedir(dir);
	fprintf(stderr, "\n");
}

int scenario_guest(const struct guest_opts *o)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_lapic_state lapic0, lapic;
	struct kvm_sregs sregs0;
	struct kvm_regs regs0;
	struct kvm_vcpu_events events;
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
	struct sigaction sa;
	struct expect e;
	struct exits ex;
	unsigned long long tot_ticks = 0, tot_win = 0, tot_miss = 0;
	char extra[32];
	double t0, deadline;
	int boot, reboots = 0, rc, m = -1;
	long long irqwin_exits;
	struct vcpu *v;
	struct vm vm;
	const char *why;

	t0 = now();
	deadline = t0 + o->timeout;

	if (vm_create(&vm))
		return -1;
	if (vm_create_irqchip(&vm) || vm_create_pit2(&vm))
		goto out;
	if (o->no_reinject && vm_pit_reinject(&vm, false))
		goto out;

	/* QEMU does this on every x86 VM; a no-op on SVM. */
	rc = xioctl(vm.fd, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL);
	STEP("none", &vm, -1, "set_tss_addr", "KVM_SET_TSS_ADDR", rc, true,
	     NULL);

	vm.mem_size = GMEM_SIZE;
	vm.mem = mmap(NULL, vm.mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm.mem == MAP_FAILED) {
		vm.mem = NULL;
		fprintf(stderr, "kvmdrive: mmap guest memory: %m\n");
		g.failures++;
		goto out;
	}
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm.mem_size;
	region.userspace_addr = (uintptr_t)vm.mem;
	rc = xioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, &region);
	STEP("none", &vm, -1, "set_memory", "KVM_SET_USER_MEMORY_REGION", rc,
	     true, " size=0x%x", GMEM_SIZE);
	if (rc)
		goto out;

	if (vm_create_vcpu(&vm, 0))
		goto out;
	v = &vm.vcpu[0];

	if (vcpu_get_lapic(&vm, v, &lapic0))
		goto out;

	rc = xioctl(v->fd, KVM_GET_SREGS, &sregs0);
	if (!rc) {
		seg_real(&sregs0.cs, GSEG);
		seg_real(&sregs0.ds, GSEG);
		seg_real(&sregs0.ss, GSEG);
		seg_real(&sregs0.es, 0);
		seg_real(&sregs0.fs, 0);
		seg_real(&sregs0.gs, 0);
		rc = xioctl(v->fd, KVM_SET_SREGS, &sregs0);
	}
	STEP("none", &vm, v->id, "init_sregs", "KVM_SET_SREGS", rc, true,
	     NULL);
	if (rc)
		goto out;

	memset(&regs0, 0, sizeof(regs0));
	regs0.rip = GD_CODE;
	regs0.rsp = 0xf000;
	regs0.rflags = 0x2;
	rc = xioctl(v->fd, KVM_SET_REGS, &regs0);
	STEP("none", &vm, v->id, "init_regs", "KVM_SET_REGS", rc, true, NULL);
	if (rc)
		goto out;

	/* Kick KVM_RUN out every 50 ms so the deadline is always checked. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;	/* KVM_RUN still returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);

	for (boot = 0; ; boot++) {
		double tb = now();
		uint32_t ticks, win, miss;

		if (boot == 0)
			guest_load(o, &vm, boot);
		m = guest_run(o, &vm, v, boot, deadline, &ex, &why);
		if (m >= 0)
			why = method_str[m];
		ticks = g32(&vm, GD_TICKS);
		win = g32(&vm, GD_WINDOWS);
		miss = g32(&vm, GD_MISSES);
		tot_ticks += ticks;
		tot_win += win;
		tot_miss += miss;

		ex_irqwin(&e, &vm);
		STEP(ex_str(&e), &vm, v->id, "run", "KVM_RUN",
		     m >= 0 ? 0 : strcmp(why, "timeout") ? -EIO : -ETIME, true,
		     " boot=%d exit=%s ticks=%u windows=%u misses=%u stage=%u secs=%.2f",
		     boot, why, ticks, win, miss, g16(&vm, GD_STAGE),
		     now() - tb);
		printf("EXITS vm=%s vcpu=%d boot=%d io=%lu hlt=%lu irq_window_open=%lu shutdown=%lu intr=%lu mmio=%lu other=%lu\n",
		       vm.key, v->id, boot, ex.io, ex.hlt, ex.irqwin,
		       ex.shutdown, ex.intr, ex.mmio, ex.other);
		if (m < 0)
			guest_diag(&vm, v);
		if (m < 0 || reboots >= o->reboots)
			break;

		/* Reboot the way QEMU resets an x86 vCPU. */
		reboots++;
		guest_load(o, &vm, boot + 1);
		rc = xioctl(v->fd, KVM_SET_REGS, &regs0);
		STEP("none", &vm, v->id, "reset_regs", "KVM_SET_REGS", rc,
		     true, " reboot=%d", reboots);
		if (m == M_TRIPLE) {
			/*
			 * After a SHUTDOWN intercept KVM clears the VMCB and
			 * INITs the vCPU, but reloads the MMU only if CR0.PG
			 * was set, so the cleared nested CR3 is never written
			 * back and a real-mode guest loops on NPFs (seen on
			 * 6.1 under TCG).  A CR0 change (WP, which does
			 * nothing with PG=0) forces kvm_mmu_reset_context().
			 */
			struct kvm_sregs sr = sregs0;

			sr.cr0 ^= 1ULL << 16;
			rc = xioctl(v->fd, KVM_SET_SREGS, &sr);
			STEP("none", &vm, v->id, "reset_sregs_mmu",
			     "KVM_SET_SREGS", rc, true, " reboot=%d", reboots);
		}
		rc = xioctl(v->fd, KVM_SET_SREGS, &sregs0);
		STEP("none", &vm, v->id, "reset_sregs", "KVM_SET_SREGS", rc,
		     true, " reboot=%d", reboots);
		memset(&events, 0, sizeof(events));
		rc = xioctl(v->fd, KVM_SET_VCPU_EVENTS, &events);
		STEP("none", &vm, v->id, "reset_events", "KVM_SET_VCPU_EVENTS",
		     rc, true, " reboot=%d", reboots);

		/*
		 * The bad ID inhibits (6.1: for good); 6.12+ clear it when
		 * the good one is written back at the next reboot.
		 */
		lapic = lapic0;
		if (o->bad_apic_reboot == reboots)
			lapic_set_id(&lapic, (uint8_t)(v->id + 1));
		snprintf(extra, sizeof(extra), " reboot=%d", reboots);
		vcpu_set_lapic(&vm, v, &lapic, "reset_lapic", extra);
	}

	it.it_value.tv_sec = it.it_value.tv_usec = 0;
	it.it_interval = it.it_value;
	setitimer(ITIMER_REAL, &it, NULL);

	irqwin_exits = vm_debugfs_stat(&vm, "irq_window_exits");
	if (irqwin_exits >= 0)
		printf("SUMMARY vm=%s boots=%d reboots=%d ticks=%llu windows=%llu misses=%llu irq_window_exits=%lld secs=%.2f\n",
		       vm.key, boot + 1, reboots, tot_ticks, tot_win,
		       tot_miss, irqwin_exits, now() - t0);
	else
		printf("SUMMARY vm=%s boots=%d reboots=%d ticks=%llu windows=%llu misses=%llu irq_window_exits=- secs=%.2f\n",
		       vm.key, boot + 1, reboots, tot_ticks, tot_win,
		       tot_miss, now() - t0);
	if (m >= 0 && reboots < o->reboots) {
		fprintf(stderr, "kvmdrive: only %d of %d reboots\n", reboots,
			o->reboots);
		g.failures++;
	}
	if (!tot_win) {
		fprintf(stderr, "kvmdrive: the guest never had an interrupt pending with IF=0 (no IRQ window)\n");
		g.failures++;
	}
out:
	vm_close(&vm);
	return 0;
}
