/* SPDX-License-Identifier: GPL-2.0 */
/*
 * reasons.h - what apicv-trace takes from the kernel it is built for: the
 * reason names its headers declare, and, per hook role, the functions that
 * may carry it, in order, each with the argument layout its name implies.
 *
 * Features, not versions: at_features.h comes from conftest.sh, which
 * compiles one probe per reason constant and per prototype against the
 * target headers. The names are one superset of designated initializers,
 * each guarded by its own probe, so any mix of backports gets the names
 * it has and no other. Which function carries a role is decided at run
 * time (probes.c, at_cand_pick()) from the symbols the running kvm has.
 *
 * Plain C: compat.h includes the types part, compat.c the tables
 * (AT_REASONS_DEFINE_TABLES); the userspace compat test
 * (tests/compat/kernels_test.c) includes it after a small header per
 * upstream release and checks names, roles and layouts against
 * tests/compat/releases/expected.tsv. The includer
 * provides bool, AT_MAX_BITS, LINUX_VERSION_CODE and the kernel's
 * (or the small header's) APICV_INHIBIT_REASON_* constants.
 */
#ifndef APICV_TRACE_REASONS_H
#define APICV_TRACE_REASONS_H

/* ------------------------------------------------------------------ */
/* Hook candidates: the types (compat.h includes this part)           */
/* ------------------------------------------------------------------ */

/* How a candidate's arguments are read (compat.h) */
enum at_layout {
	AT_L_FIXED,		/* the role's one prototype, in every release */
	AT_L_REASON_SET,	/* (struct kvm *, enum reason, bool set): 5.18+ */
	AT_L_ACTIVATE_BIT,	/* (struct kvm *, bool activate, ulong bit) */
	AT_L_APIC_BASE,		/* (vcpu, struct msr_data *) up to 6.12, or
				 * (vcpu, u64 value, bool host) from 6.13:
				 * told apart at every call (compat.h) */
};

#define AT_C_PART	0x1	/* hook its .part.N clone when there is one */
#define AT_C_LOCKLESS	0x2	/* KVM calls it without its update lock */

struct at_cand {
	const char *sym;
	enum at_layout layout;
	unsigned int flags;
};

/*
 * Pick the first candidate of @c that @exists (in the running kernel) and
 * that is not @taken (another role's function): its index, -1 if none
 * exists, -2 if a look-up failed for another reason (then a later
 * candidate must not be taken for it: it may be another function with
 * another meaning). @exists returns 1, 0 or a negative error; the module
 * passes a probe-able symbol look-up (probes.c), the compat test a
 * release's symbol list.
 */
static inline int at_cand_pick(const struct at_cand *c, unsigned int n,
			       int (*exists)(const struct at_cand *c, void *ctx),
			       void *ctx, const char *taken)
{
	unsigned int i;
	int r;

	for (i = 0; i < n; i++) {
		if (taken && !strcmp(c[i].sym, taken))
			continue;
		r = exists(&c[i], ctx);
		if (r < 0)
			return -2;
		if (r)
			return (int)i;
	}
	return -1;
}

/*
 * The roles only some kernels have, decided from the setter found and the
 * reason names known (hooks.c; n/a elsewhere):
 * - kvm_apicv_init() sets DISABLE without the setter only where the
 *   setter takes (activate, bit);
 * - a locking request wrapper exists unless the setter is lockless;
 * - kvm_lapic_xapic_id_updated() decides APIC_ID_MODIFIED where the APIC
 *   map does not yet decide the aliasing reasons (5.19 to 6.2);
 * - kvm_recalculate_apic_map() decides them where PHYSICAL_ID_ALIASED
 *   exists (6.3+).
 * HYPERV is sticky where only Hyper-V's SynIC sets it, through a lockless
 * setter (up to 5.14).
 */
static inline bool at_role_init_reasons(const struct at_cand *setter)
{
	return setter && setter->layout == AT_L_ACTIVATE_BIT;
}

static inline bool at_role_request(const struct at_cand *setter)
{
	return !setter || !(setter->flags & AT_C_LOCKLESS);
}

static inline bool at_role_xapic_id(bool have_apic_id_modified,
				    bool have_physical_id_aliased)
{
	return have_apic_id_modified && !have_physical_id_aliased;
}

static inline bool at_role_apic_map(bool have_physical_id_aliased)
{
	return have_physical_id_aliased;
}

static inline bool at_hyperv_sticky(const struct at_cand *setter)
{
	return setter && (setter->flags & AT_C_LOCKLESS);
}

#endif /* APICV_TRACE_REASONS_H */

/*
 * The tables, for the one file that defines AT_REASONS_DEFINE_TABLES
 * before including this header again (compat.c, the compat test).
 */
#if defined(AT_REASONS_DEFINE_TABLES) && !defined(APICV_TRACE_REASONS_TABLES)
#define APICV_TRACE_REASONS_TABLES

#include "at_features.h"

/* ------------------------------------------------------------------ */
/* Reason names from the build headers                                */
/* ------------------------------------------------------------------ */

#if defined(APICV_INHIBIT_REASONS)
/* 6.11 to 7.2: the kernel's own list, as its tracepoint prints it */
#define AT_HEADER_NAMES_FROM "APICV_INHIBIT_REASONS (kernel headers)"
#undef __APICV_INHIBIT_REASON
#define __APICV_INHIBIT_REASON(reason) \
	[APICV_INHIBIT_REASON_##reason] = #reason
static const char *const at_header_names[AT_MAX_BITS] = {
	APICV_INHIBIT_REASONS
};
#elif defined(AT_HAVE_REASON_HYPERV)
/*
 * Each name its constant (a #define up to 5.17, enum kvm_apicv_inhibit
 * from 5.18) exists for, at that constant's value: a renumbering cannot
 * produce a wrong name.
 */
#ifdef AT_HAVE_ENUM_APICV_INHIBIT
#define AT_HEADER_NAMES_FROM "enum kvm_apicv_inhibit (kernel headers)"
#else
#define AT_HEADER_NAMES_FROM "APICV_INHIBIT_REASON_* #defines (kernel headers)"
#endif
#define AT_NAME(n) [APICV_INHIBIT_REASON_##n] = #n
static const char *const at_header_names[AT_MAX_BITS] = {
#ifdef AT_HAVE_REASON_DISABLE
	AT_NAME(DISABLE),
#endif
#ifdef AT_HAVE_REASON_DISABLED
	AT_NAME(DISABLED),
#endif
	AT_NAME(HYPERV),
#ifdef AT_HAVE_REASON_NESTED
	AT_NAME(NESTED),
#endif
#ifdef AT_HAVE_REASON_IRQWIN
	AT_NAME(IRQWIN),
#endif
#ifdef AT_HAVE_REASON_PIT_REINJ
	AT_NAME(PIT_REINJ),
#endif
#ifdef AT_HAVE_REASON_X2APIC
	AT_NAME(X2APIC),
#endif
#ifdef AT_HAVE_REASON_BLOCKIRQ
	AT_NAME(BLOCKIRQ),
#endif
#ifdef AT_HAVE_REASON_ABSENT
	AT_NAME(ABSENT),
#endif
#ifdef AT_HAVE_REASON_SEV
	AT_NAME(SEV),
#endif
#ifdef AT_HAVE_REASON_APIC_ID_MODIFIED
	AT_NAME(APIC_ID_MODIFIED),
#endif
#ifdef AT_HAVE_REASON_APIC_BASE_MODIFIED
	AT_NAME(APIC_BASE_MODIFIED),
#endif
#ifdef AT_HAVE_REASON_PHYSICAL_ID_ALIASED
	AT_NAME(PHYSICAL_ID_ALIASED),
#endif
#ifdef AT_HAVE_REASON_LOGICAL_ID_ALIASED
	AT_NAME(LOGICAL_ID_ALIASED),
#endif
#ifdef AT_HAVE_REASON_PHYSICAL_ID_TOO_BIG
	AT_NAME(PHYSICAL_ID_TOO_BIG),
#endif
};
#undef AT_NAME
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(7, 4, 0)
/*
 * 7.3 moved enum kvm_apicv_inhibit and the list to the private
 * arch/x86/kvm/x86.h, which no headers package ships: no probe can see
 * them, so this one table is keyed by the version. Its order is 7.2's
 * list; the running kvm's tracepoint format checks it at every arm
 * (status kernel_names=) and the e2e checks it against kvm's BTF.
 */
#define AT_HEADER_NAMES_FROM "versioned table (7.3; enum in private arch/x86/kvm/x86.h)"
static const char *const at_header_names[AT_MAX_BITS] = {
	"DISABLED", "HYPERV", "ABSENT", "BLOCKIRQ", "PHYSICAL_ID_ALIASED",
	"APIC_ID_MODIFIED", "APIC_BASE_MODIFIED", "NESTED", "IRQWIN",
	"PIT_REINJ", "SEV", "LOGICAL_ID_ALIASED", "PHYSICAL_ID_TOO_BIG",
};
#else
/*
 * Headers that name nothing (7.4 and later): the names come from the
 * running kvm (its tracepoint's format, or kvm's BTF handed over by
 * "apicv-trace names --apply"), or a bit prints as reason=unknown.
 */
#define AT_HEADER_NAMES_FROM NULL
static const char *const at_header_names[AT_MAX_BITS];
#endif

/* ------------------------------------------------------------------ */
/* Per-reason facts, by name: they follow any numbering               */
/* ------------------------------------------------------------------ */

/*
 * Never cleared once set. HYPERV too where Hyper-V's SynIC can only set
 * it (the setter is kvm_request_apicv_update() with no locked
 * __kvm_request_apicv_update(): up to 5.14; compat.c decides from the
 * setter found). APIC_ID_MODIFIED where kvm_lapic_xapic_id_updated()
 * decides it (5.19 to 6.2: no PHYSICAL_ID_ALIASED; compat.c).
 */
static const char *const at_sticky_names[] = {
	"DISABLE", "DISABLED", "APIC_BASE_MODIFIED", "PHYSICAL_ID_TOO_BIG",
};

/*
 * The reasons kvm-intel honours: every one of these that the kernel has
 * (5.10: DISABLE, HYPERV; 5.16 adds ABSENT, BLOCKIRQ; 5.19 APIC_ID_ and
 * APIC_BASE_MODIFIED; 6.3 PHYSICAL_ID_ALIASED; it never honours the
 * others). kvm-amd's AVIC honours every reason its kernel defines.
 */
static const char *const at_vmx_names[] = {
	"DISABLE", "DISABLED", "ABSENT", "HYPERV", "BLOCKIRQ",
	"PHYSICAL_ID_ALIASED", "APIC_ID_MODIFIED", "APIC_BASE_MODIFIED",
};

/* Set and cleared by every APIC map rebuild (6.3+) */
static const char *const at_apic_map_names[] = {
	"PHYSICAL_ID_ALIASED", "LOGICAL_ID_ALIASED", "APIC_ID_MODIFIED",
};

/* ------------------------------------------------------------------ */
/* Hook candidates, per role                                          */
/* ------------------------------------------------------------------ */

/*
 * The setter: where KVM changes a VM's mask, one reason per call.
 *   5.18+       __kvm_set_or_clear_apicv_inhibit(kvm, reason, set), the
 *               write lock held (Debian 6.12: in a .part.N clone)
 *   5.15-5.17   __kvm_request_apicv_update(kvm, activate, bit), the lock
 *               held; Hyper-V's SynIC and guest debug call it directly
 *   5.10-5.14   kvm_request_apicv_update(kvm, activate, bit), a cmpxchg
 *               loop without a lock
 */
static const struct at_cand at_cands_setter[] = {
	{ "__kvm_set_or_clear_apicv_inhibit", AT_L_REASON_SET, AT_C_PART },
	{ "__kvm_request_apicv_update", AT_L_ACTIVATE_BIT, 0 },
#ifndef AT_HAVE___REQUEST_APICV_UPDATE
	/*
	 * the lockless setter (up to 5.14) only where no locked variant is
	 * declared: from 5.15 this name is the locking wrapper
	 */
	{ "kvm_request_apicv_update", AT_L_ACTIVATE_BIT, AT_C_LOCKLESS },
#endif
};

/*
 * The locking wrapper most callers use (who asked, and requests that
 * change nothing): never the setter's own function.
 */
static const struct at_cand at_cands_request[] = {
	{ "kvm_set_or_clear_apicv_inhibit", AT_L_REASON_SET, 0 },
	{ "kvm_request_apicv_update", AT_L_ACTIVATE_BIT, 0 },
};

/*
 * The APIC base write: renamed and moved to lapic.c in 6.13 and in
 * 6.12.114 (a stable backport); a distribution kernel may have either
 * name with either layout.
 */
static const struct at_cand at_cands_apic_base[] = {
	{ "kvm_apic_set_base", AT_L_APIC_BASE, 0 },
	{ "kvm_set_apic_base", AT_L_APIC_BASE, 0 },
};

#endif /* AT_REASONS_DEFINE_TABLES */
