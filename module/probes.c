// SPDX-License-Identifier: GPL-2.0
/*
 * Putting the hooks on KVM (hooks.c defines them): choosing each hook's
 * function (the first of its role's candidates the running kvm has,
 * reasons.h; a compiler's .part.N clone; or the hook_target= override),
 * arming and disarming the kprobes, re-arming them when kvm comes back
 * (the module notifier), and what status shows about them (coverage).
 * Process context only; arming, disarming and status hold at_probes_mutex.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/security.h>

#include "apicv_trace.h"

enum at_probe_state { AT_PROBE_OFF, AT_PROBE_ARMED, AT_PROBE_ABSENT,
		      AT_PROBE_FAILED, AT_PROBE_NA, AT_PROBE_REFUSED,
		      AT_PROBE_LOCKDOWN };

static const char *const at_probe_state_names[] = {
	[AT_PROBE_OFF] = "waiting-for-kvm", [AT_PROBE_ARMED] = "armed",
	[AT_PROBE_ABSENT] = "absent", [AT_PROBE_FAILED] = "failed",
	[AT_PROBE_NA] = "n/a", [AT_PROBE_REFUSED] = "refused",
	[AT_PROBE_LOCKDOWN] = "lockdown",
};

/* at_hooks[i] as armed on this kernel: at_probes[i] */
struct at_probe {
	const char *base;		/* the function chosen, or NULL */
	const struct at_cand *cand;	/* ...when it is a candidate */
	const char *target;		/* hook_target= override of base */
	const struct at_cand *target_cand; /* ...and its candidate */
	struct kretprobe rp;		/* rp.kp alone for plain kprobes */
	bool ret;			/* armed as a kretprobe: at_hook_ret() */
	char sym[KSYM_NAME_LEN];	/* what was armed (maybe a clone) */
	char clones[64];		/* unhooked ABI-changing clones seen */
	char cands[96];			/* the role's candidates, for status */
	enum at_probe_state state;
	int err;
	int choose_err;			/* a look-up failed while choosing */
	const char *choose_sym;		/* ...that of this symbol */
};

static DEFINE_MUTEX(at_probes_mutex);
static struct at_probe at_probes[AT_NR_HOOKS];

/*
 * hook_target=ROLE=SYMBOL[,ROLE=SYMBOL...] (load time): hook SYMBOL in
 * place of the function probes.c would pick for ROLE. SYMBOL must be the
 * role's own function, one of its candidates (reasons.h), or a .part.N
 * clone of one (N a number): which candidate or clone to use is all an
 * admin can choose, and its arguments are read as that candidate's. Any
 * other function may take other arguments, and a handler reading them as
 * KVM's would read the wrong memory: refused with -EINVAL.
 */
#define AT_TARGET_MAX	256
#define AT_TARGET_SYM	128
static char at_target_param[AT_TARGET_MAX];
static char at_target_sym[AT_NR_HOOKS][AT_TARGET_SYM];

/* @sym is @base or "@base.part.N", N one to three digits. */
static bool at_target_allowed(const char *base, const char *sym)
{
	size_t len = strlen(base), n;

	if (strncmp(sym, base, len))
		return false;
	sym += len;
	if (!*sym)
		return true;
	if (strncmp(sym, ".part.", 6))
		return false;
	sym += 6;
	n = strspn(sym, "0123456789");
	return n >= 1 && n <= 3 && !sym[n];
}

/* "a,b,c": the names hook @i may be put on (status, errors) */
static void at_role_names(int i, char *buf, size_t size)
{
	const struct at_hook *h = &at_hooks[i];
	const struct at_cand *c;
	unsigned int n, k;

	buf[0] = '\0';
	if (!h->cands) {
		strscpy(buf, h->base, size);
		return;
	}
	c = at_cands(h->cand_role, &n);
	for (k = 0; k < n; k++) {
		if (k)
			strlcat(buf, ",", size);
		strlcat(buf, c[k].sym, size);
	}
}

/* The candidate of hook @i that @sym is (or a clone of), or NULL. */
static const struct at_cand *at_target_cand(int i, const char *sym)
{
	const struct at_cand *c;
	unsigned int n, k;

	c = at_cands(at_hooks[i].cand_role, &n);
	for (k = 0; k < n; k++)
		if (at_target_allowed(c[k].sym, sym))
			return &c[k];
	return NULL;
}

static int at_target_one(char *item, bool apply)
{
	const struct at_cand *cand = NULL;
	char names[96], *sym = strchr(item, '=');
	size_t len;
	int i, c;

	if (!sym) {
		pr_err("hook_target: '%s' is not ROLE=SYMBOL\n", item);
		return -EINVAL;
	}
	*sym++ = '\0';
	len = strlen(sym);
	if (!len || len >= AT_TARGET_SYM) {
		pr_err("hook_target: %s: symbol must be 1..%d characters\n",
		       item, AT_TARGET_SYM - 1);
		return -EINVAL;
	}
	for (c = 0; c < len; c++) {
		if (!isalnum(sym[c]) && sym[c] != '_' && sym[c] != '.') {
			pr_err("hook_target: %s: symbol has a character other than [A-Za-z0-9_.]\n",
			       item);
			return -EINVAL;
		}
	}
	for (i = 0; i < AT_NR_HOOKS; i++) {
		if (strcmp(item, at_hooks[i].role))
			continue;
		if (at_hooks[i].cands)
			cand = at_target_cand(i, sym);
		if (at_hooks[i].cands ? !cand :
		    !at_target_allowed(at_hooks[i].base, sym)) {
			at_role_names(i, names, sizeof(names));
			pr_err("hook_target: %s=%s: only %s (or a .part.N clone) may be hooked for %s\n",
			       item, sym, names, item);
			return -EINVAL;
		}
		if (apply) {
			strscpy(at_target_sym[i], sym, AT_TARGET_SYM);
			at_probes[i].target = at_target_sym[i];
			at_probes[i].target_cand = cand;
		}
		return 0;
	}
	pr_err("hook_target: no hook role '%s' (see status: hook=)\n", item);
	return -EINVAL;
}

/* Checks every item first (pass 0): a bad value changes nothing. */
static int at_set_hook_target(const char *val, const struct kernel_param *kp)
{
	char buf[AT_TARGET_MAX], *p, *item;
	int pass, ret, i;

	if (strlen(val) >= sizeof(buf)) {
		pr_err("hook_target: longer than %d characters\n", AT_TARGET_MAX - 1);
		return -EINVAL;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; pass && i < AT_NR_HOOKS; i++) {
			at_probes[i].target = NULL;
			at_probes[i].target_cand = NULL;
		}
		strscpy(buf, val, sizeof(buf));
		p = strim(buf);
		while ((item = strsep(&p, ",")) != NULL) {
			ret = at_target_one(item, pass);
			if (ret)
				return ret;
		}
	}
	strscpy(buf, val, sizeof(buf));
	strscpy(at_target_param, strim(buf), sizeof(at_target_param));
	return 0;
}

static const struct kernel_param_ops at_hook_target_ops = {
	.set = at_set_hook_target,
	.get = param_get_string,
};

static struct kparam_string at_target_kps = {
	.maxlen = sizeof(at_target_param), .string = at_target_param,
};
module_param_cb(hook_target, &at_hook_target_ops, &at_target_kps, 0444);
MODULE_PARM_DESC(hook_target, "ROLE=SYMBOL[,...]: hook SYMBOL instead of ROLE's function (load time)");

/*
 * Compiler clones. GCC's partial inlining leaves "<f>" as a stub around
 * "<f>.part.N" with the same arguments, and callers in the same file jump
 * straight into the clone (Debian 6.12's setter): a hook that opts in
 * (.part) is placed on the .part clone when there is one, never on both.
 * .isra and .constprop clones drop or rewrite arguments, so they are not
 * hooked; when one exists, calls through it are invisible to the hook, and
 * status says so (clones=).
 */
static const char *const at_part_suffixes[] = {
	".part.0", ".part.1", ".part.2", ".part.3",
};

static const char *const at_abi_clone_suffixes[] = {
	".isra.0", ".isra.1", ".constprop.0", ".constprop.1",
	".constprop.0.isra.0",
};

static int at_probe_register(int i, const char *suffix)
{
	const struct at_hook *h = &at_hooks[i];
	struct at_probe *p = &at_probes[i];

	memset(&p->rp, 0, sizeof(p->rp));
	snprintf(p->sym, sizeof(p->sym), "%s%s", p->target ?: p->base, suffix);
	p->rp.kp.symbol_name = p->sym;
	/*
	 * Not the function's own name: its arguments are checked first (and
	 * the setter's always, in a test build reading them wrongly).
	 */
	at_hooks_probation(i, strcmp(p->sym, p->base) ||
			   (i == AT_H_SETTER && AT_SETTER_FIRST_ARG));
	if (!p->ret) {
		p->rp.kp.pre_handler = h->pre;
		return register_kprobe(&p->rp.kp);
	}
	p->rp.entry_handler = h->entry;
	p->rp.handler = h->exit;
	p->rp.data_size = h->data_size;
	p->rp.maxactive = at_hooks_maxactive(i);
	return register_kretprobe(&p->rp);
}

/*
 * Look-ups register a disabled kprobe: it is resolved and checked but
 * never armed, so unregistering it has nothing to disarm and cannot fail
 * (a failed disarm would leave this stack variable in kprobes' table).
 */
#define AT_LOOKUP_KPROBE(name) \
	{ .symbol_name = (name), .flags = KPROBE_FLAG_DISABLED }

/*
 * Is @name a probe-able function? 0 yes, -ENOENT no such symbol, or why
 * kprobes refuses it (cheap when it does not exist).
 */
static int at_symbol_lookup(const char *name)
{
	struct kprobe kp = AT_LOOKUP_KPROBE(name);
	int ret = register_kprobe(&kp);

	if (!ret)
		unregister_kprobe(&kp);
	return ret;
}

static bool at_symbol_exists(const char *name)
{
	return !at_symbol_lookup(name);
}

/* at_cand_pick()'s look-up, and what failed if one did */
struct at_pick_ctx {
	int err;
	const char *sym;
};

/* ...1 if the function (or, for AT_C_PART, one of its clones) exists */
static int at_cand_exists(const struct at_cand *c, void *ctx)
{
	struct at_pick_ctx *pc = ctx;
	char name[KSYM_NAME_LEN];
	int i, ret = at_symbol_lookup(c->sym);

	for (i = 0; ret == -ENOENT && (c->flags & AT_C_PART) &&
	     i < ARRAY_SIZE(at_part_suffixes); i++) {
		snprintf(name, sizeof(name), "%s%s", c->sym, at_part_suffixes[i]);
		ret = at_symbol_lookup(name);
	}
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		pc->err = ret;
		pc->sym = c->sym;
		return ret;
	}
	return 1;
}

/* Note the .isra/.constprop clones of the hook's function that exist. */
static void at_probe_find_clones(struct at_probe *p)
{
	char name[KSYM_NAME_LEN];
	int i;

	p->clones[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(at_abi_clone_suffixes); i++) {
		snprintf(name, sizeof(name), "%s%s", p->base,
			 at_abi_clone_suffixes[i]);
		if (!at_symbol_exists(name))
			continue;
		if (p->clones[0])
			strlcat(p->clones, ",", sizeof(p->clones));
		strlcat(p->clones, name, sizeof(p->clones));
	}
}

/*
 * setter_exit=Y (load time): hook the setter's return (a kretprobe) on
 * every kernel, as before entry mode existed (hooks.c, at_setter_pre()).
 */
static bool at_setter_exit_param;
module_param_named(setter_exit, at_setter_exit_param, bool, 0444);
MODULE_PARM_DESC(setter_exit, "Hook the inhibit setter's return on every kernel instead of predicting its result at entry (default N)");

/*
 * Entry mode for setter candidate @c? Only where the result follows from
 * the entry: the 5.18+ setter, which KVM calls with its update lock held
 * and which applies one request and nothing else. Not the lock-free 5.10
 * setter, and not where KVM counts IRQ-window requests (7.1+): that
 * setter recomputes IRQWIN from the count on every call. And only on AMD
 * hosts: the prediction relies on the vendor's filter table
 * (at_vendor_honours()), and only kvm-amd's runs in the tests (QEMU's
 * guest is an EPYC); on Intel the return is hooked, as before.
 */
static bool at_setter_entry_applies(const struct at_cand *c)
{
	return c && !at_setter_exit_param && at_host_amd() &&
	       c->layout == AT_L_REASON_SET &&
	       !(c->flags & AT_C_LOCKLESS) &&
	       at_symbol_lookup(AT_SYM_IRQ_WINDOW) == -ENOENT;
}

/*
 * Before arming: which function carries hook @n on this kvm (p->base,
 * NULL when none), and how its arguments are read (at_hooks_bind()). The
 * setter is chosen first: the request wrapper is never the setter's own
 * function, and the roles that apply depend on it.
 */
static void at_probe_choose(int n)
{
	const struct at_hook *h = &at_hooks[n];
	struct at_probe *p = &at_probes[n];
	const struct at_cand *c;
	const char *taken;
	unsigned int nr;
	int k;

	p->cand = NULL;
	p->base = h->base;
	p->choose_err = 0;
	p->choose_sym = NULL;
	at_role_names(n, p->cands, sizeof(p->cands));
	if (!h->cands)
		goto bind;
	c = at_cands(h->cand_role, &nr);
	if (p->target) {
		p->cand = p->target_cand;
	} else {
		struct at_pick_ctx pc = { 0, NULL };

		taken = n == AT_H_REQUEST ? at_probes[AT_H_SETTER].base : NULL;
		k = at_cand_pick(c, nr, at_cand_exists, &pc, taken);
		p->cand = k < 0 ? NULL : &c[k];
		/* never a later candidate in place of one kprobes refused */
		p->choose_err = pc.err;
		p->choose_sym = pc.sym;
	}
	p->base = p->cand ? p->cand->sym : NULL;
bind:
	at_hooks_bind(n, p->cand);
	if (n == AT_H_SETTER) {
		at_reasons_setter(p->cand);
		at_hooks_setter_entry(at_setter_entry_applies(p->cand));
	}
	p->ret = at_hook_ret(n);
}

static void at_probe_arm(int n)
{
	const struct at_hook *h = &at_hooks[n];
	struct at_probe *p = &at_probes[n];
	bool part = p->cand && (p->cand->flags & AT_C_PART);
	int i, ret = -ENOENT;

	if (p->state == AT_PROBE_ARMED)
		return;
	p->clones[0] = '\0';
	if (h->applies && !h->applies()) {
		p->state = AT_PROBE_NA;
		strscpy(p->sym, "-", sizeof(p->sym));
		return;
	}
	if (!p->base && p->choose_err) {
		p->state = AT_PROBE_FAILED;
		p->err = p->choose_err;
		strscpy(p->sym, p->choose_sym, sizeof(p->sym));
		pr_warn("cannot tell which function carries %s: %s cannot be probed (%d)\n",
			h->role, p->choose_sym, p->choose_err);
		return;
	}
	if (!p->base) {		/* no candidate of the role exists */
		p->state = AT_PROBE_ABSENT;
		p->err = -ENOENT;
		strscpy(p->sym, "-", sizeof(p->sym));
		return;
	}
	if (p->target) {	/* exactly the symbol the admin named */
		ret = at_probe_register(n, "");
		goto out;
	}
	for (i = 0; part && i < ARRAY_SIZE(at_part_suffixes); i++) {
		ret = at_probe_register(n, at_part_suffixes[i]);
		if (ret != -ENOENT)
			break;
	}
	if (ret == -ENOENT)
		ret = at_probe_register(n, "");
out:
	at_probe_find_clones(p);
	p->err = ret;
	if (!ret) {
		p->state = AT_PROBE_ARMED;
		pr_debug("armed %s at %s\n", h->role, p->sym);
		return;
	}
	strscpy(p->sym, p->target ?: p->base, sizeof(p->sym));
	if (ret == -ENOENT && h->optional && !p->target) {
		/* kvm has no such function: nothing of the role to lose */
		p->state = AT_PROBE_NA;
		return;
	}
	p->state = ret == -ENOENT ? AT_PROBE_ABSENT : AT_PROBE_FAILED;
	if (p->state == AT_PROBE_FAILED || p->target)
		pr_warn("cannot hook %s (%s): %d\n", p->sym, h->role, ret);
}

static unsigned long at_probe_nmissed(int i)
{
	const struct at_probe *p = &at_probes[i];

	return p->ret ? p->rp.nmissed + p->rp.kp.nmissed :
				 p->rp.kp.nmissed;
}

/*
 * unregister_*probe() cannot report failure, but disarming a probe can fail
 * (an ftrace filter update allocates): the probe would then stay in kprobes'
 * table, armed, pointing into this module after it is gone. Disable it
 * first, until that stops failing for memory; unregistering a disabled
 * probe only unlinks it.
 */
#define AT_DISABLE_TRIES	500	/* 20 ms apart: 10 s */

static void at_probe_disable(int i)
{
	struct at_probe *p = &at_probes[i];
	unsigned int tries;
	int ret;

	for (tries = 1; (ret = disable_kprobe(&p->rp.kp)) == -ENOMEM; tries++) {
		if (tries == AT_DISABLE_TRIES) {
			pr_err("%s (%s): disabling failed %u times (%d); unregistering it anyway\n",
			       at_hooks[i].role, p->sym, tries, ret);
			return;
		}
		if (tries % 100 == 1)
			pr_warn("%s (%s): disabling failed (%d), retrying\n",
				at_hooks[i].role, p->sym, ret);
		msleep(20);
	}
	if (ret)
		pr_warn("%s (%s): cannot disable: %d\n", at_hooks[i].role,
			p->sym, ret);
}

static void at_probe_disarm(int i)
{
	struct at_probe *p = &at_probes[i];

	if (p->state != AT_PROBE_ARMED)
		return;
	at_probe_disable(i);
	if (p->ret)
		unregister_kretprobe(&p->rp);
	else
		unregister_kprobe(&p->rp.kp);
	if (at_probe_nmissed(i))
		pr_info("%s (%s): %lu missed\n", at_hooks[i].role, p->sym,
			at_probe_nmissed(i));
	p->state = AT_PROBE_OFF;
}

/*
 * Find a function's address by planting and removing a kprobe on it, as
 * an indirect call must use it (at_call_address(): IBT).
 */
static void *at_resolve(const char *name)
{
	struct kprobe kp = AT_LOOKUP_KPROBE(name);
	void *addr;

	if (register_kprobe(&kp))
		return NULL;
	addr = kp.addr;
	unregister_kprobe(&kp);
	return at_call_address(addr);
}

/*
 * Kernel lockdown. The hooks read KVM's memory (masks, vCPU and local
 * APIC fields) from kprobe handlers, which is what lockdown's
 * confidentiality level forbids the tracing kprobe interface to do
 * (LOCKDOWN_KPROBES): under it the module arms nothing, whoever signed
 * it, and says so in status; its files still read. The integrity level
 * does not restrict kprobes, and the module shows no addresses either
 * way. The level is read when the hooks arm (each level the kernel
 * refuses logs one line of its own), not on every status read.
 */
static const char *at_lockdown = "none";

static bool at_lockdown_refuses_kprobes(void)
{
	/*
	 * -EPERM is the lockdown LSM's answer. Before 5.16 other LSMs answer
	 * the same hook for the calling task (SELinux: -EACCES when the
	 * policy denies modprobe or udev its lockdown permission): that is
	 * not kernel lockdown, and the hooks still arm.
	 */
	if (security_locked_down(LOCKDOWN_KPROBES) == -EPERM) {
		at_lockdown = "confidentiality";
		return true;
	}
	at_lockdown = security_locked_down(LOCKDOWN_INTEGRITY_MAX) == -EPERM ?
		      "integrity" : "none";
	return false;
}

const char *at_probes_lockdown(void)
{
	return READ_ONCE(at_lockdown);
}

/*
 * Adopting the VMs that predate the hooks needs KVM's list of VMs and the
 * lock that guards it: data, found by name without linking to kvm. A
 * kprobe planted on a data symbol resolves it (through kallsyms, which
 * has kvm's data with CONFIG_KALLSYMS_ALL, as in every major
 * distribution's kernel) and is then refused as not text (-EINVAL), with
 * kp.addr filled in: 5.10 to 7.3 alike (register_kprobe() sets it before
 * check_kprobe_address_safe()). No function is called through a pointer
 * for this: kallsyms_lookup_name() is not exported and, sealed under IBT,
 * would trap if called indirectly. "kvm:" keeps the look-up to kvm's own
 * symbols (another module may have a static of the same name). Anything
 * else, and the VMs are adopted at their next event, as the hooks always
 * do (status: adoption=unavailable).
 */
static void *at_resolve_data(const char *name)
{
	struct kprobe kp = AT_LOOKUP_KPROBE(name);
	int err = register_kprobe(&kp);

	if (!err) {		/* text: not what was asked for */
		unregister_kprobe(&kp);
		return NULL;
	}
	if (err != -EINVAL || !IS_ALIGNED((unsigned long)kp.addr, sizeof(long)))
		return NULL;
	return kp.addr;
}

#if IS_BUILTIN(CONFIG_KVM)
#define AT_KVM_DATA(sym)	sym
#else
#define AT_KVM_DATA(sym)	"kvm:" sym
#endif

static const char *at_adoption = "waiting";

static void at_adopt_running(void)
{
	struct list_head *vm_list = at_resolve_data(AT_KVM_DATA("vm_list"));
	struct mutex *kvm_lock = at_resolve_data(AT_KVM_DATA("kvm_lock"));
	struct list_head *next, *prev;
	unsigned int n;

	/* a list head whose neighbours point back at it, or nothing */
	if (!vm_list || !kvm_lock ||
	    copy_from_kernel_nofault(&next, &vm_list->next, sizeof(next)) ||
	    copy_from_kernel_nofault(&prev, &next->prev, sizeof(prev)) ||
	    prev != vm_list) {
		WRITE_ONCE(at_adoption, "unavailable");
		pr_info("kvm's VM list is not in kallsyms: VMs that predate the hooks are listed at their next event\n");
		return;
	}
	n = at_hooks_adopt_running(vm_list, kvm_lock);
	WRITE_ONCE(at_adoption, "done");
	if (n)
		pr_info("adopted %u running VM(s), each with KVM's inhibit mask as it stands\n",
			n);
}

const char *at_probes_adoption(void)
{
	return READ_ONCE(at_adoption);
}

/* Caller holds at_probes_mutex. */
static int at_arm_all(void)
{
	const struct at_probe *setter = &at_probes[AT_H_SETTER];
	int i;

	/* kvm is loaded when its VM constructor is (whatever hook_target says) */
	if (!at_symbol_exists(AT_SYM_INIT_VM))
		return -ENODEV;
	if (at_lockdown_refuses_kprobes()) {
		for (i = 0; i < AT_NR_HOOKS; i++)
			at_probes[i].state = AT_PROBE_LOCKDOWN;
		pr_warn("kernel lockdown (confidentiality) forbids kprobes: no hook armed\n");
		WRITE_ONCE(at_adoption, "unavailable");
		return -EPERM;
	}
	at_reasons_from_kernel();
	at_hooks_attach(at_resolve(AT_SYM_RUNNING_VCPU));
	at_probe_choose(AT_H_SETTER);
	for (i = 0; i < AT_NR_HOOKS; i++)
		if (i != AT_H_SETTER)
			at_probe_choose(i);
	for (i = 0; i < AT_NR_HOOKS; i++)
		at_probe_arm(i);
	/*
	 * A hook that is missing (a renamed function, a new kernel) loses
	 * what it alone sees, not the rest: status says which (coverage=).
	 */
	if (setter->state != AT_PROBE_ARMED)
		pr_warn("no inhibit setter hooked (%s: %d): inhibit changes are not traced\n",
			setter->base ? setter->sym : setter->cands, setter->err);
	else
		pr_info("tracing KVM APICv inhibits via %s\n", setter->sym);
	/* only with the setter armed: an adopted VM must be followed */
	if (setter->state == AT_PROBE_ARMED)
		at_adopt_running();
	else
		WRITE_ONCE(at_adoption, "unavailable");
	return 0;
}

static void at_disarm_all(void)
{
	int i;

	for (i = AT_NR_HOOKS - 1; i >= 0; i--) {
		at_probe_disarm(i);
		/* n/a, absent and so on are decided again when kvm is back */
		if (at_probes[i].state != AT_PROBE_LOCKDOWN)
			at_probes[i].state = AT_PROBE_OFF;
	}
	/* unregister_*probe() waited for running handlers to finish */
	at_hooks_detach();
	WRITE_ONCE(at_adoption, "waiting");
}

/*
 * The worker, in process context: disarm the hooks whose handlers refused
 * their arguments (hooks.c, probation), warn once for each, and keep why
 * for status. The other hooks stay armed: coverage is partial.
 */
void at_probes_disarm_refused(void)
{
	bool any = false;
	const char *why;
	int i;

	for (i = 0; i < AT_NR_HOOKS; i++)
		any |= at_hook_refusal(i) != NULL;
	if (!any)
		return;		/* the common case: no lock taken */
	mutex_lock(&at_probes_mutex);
	for (i = 0; i < AT_NR_HOOKS; i++) {
		why = at_hook_refusal(i);
		if (!why || at_probes[i].state != AT_PROBE_ARMED)
			continue;
		at_probe_disarm(i);
		at_hooks_release_claims(i);
		at_probes[i].state = AT_PROBE_REFUSED;
		pr_warn("%s (%s): its arguments are not what %s takes (%s): disarmed\n",
			at_hooks[i].role, at_probes[i].sym, at_probes[i].base,
			why);
	}
	mutex_unlock(&at_probes_mutex);
}

/* A hook kvm has that sees nothing: absent, failed or refused. */
static bool at_probe_lost(enum at_probe_state st)
{
	return st == AT_PROBE_ABSENT || st == AT_PROBE_FAILED ||
	       st == AT_PROBE_REFUSED;
}

/*
 * False when kvm is there but its setter could not be hooked: a VM's mask
 * is then only what it started with.
 */
bool at_probes_see_inhibits(void)
{
	enum at_probe_state st = READ_ONCE(at_probes[AT_H_SETTER].state);

	return !at_probe_lost(st) && st != AT_PROBE_LOCKDOWN;
}

unsigned long at_probes_armed(void)
{
	unsigned long armed = 0;
	int i;

	for (i = 0; i < AT_NR_HOOKS; i++)
		if (at_probes[i].state == AT_PROBE_ARMED)
			armed |= BIT(i);
	return armed;
}

/*
 * full, partial (a hook absent, failed or refused), lockdown (nothing may
 * be armed) or waiting (for kvm)
 */
const char *at_probes_coverage(void)
{
	bool full = true;
	int i;

	for (i = 0; i < AT_NR_HOOKS; i++) {
		if (at_probes[i].state == AT_PROBE_LOCKDOWN)
			return "lockdown";
		if (at_probe_lost(at_probes[i].state))
			full = false;
	}
	return !at_probes_armed() ? "waiting" : full ? "full" : "partial";
}

/* status holds the lock over its hook lines: one consistent view */
void at_probes_lock(void)
{
	mutex_lock(&at_probes_mutex);
}

void at_probes_unlock(void)
{
	mutex_unlock(&at_probes_mutex);
}

void at_probe_info(unsigned int i, struct at_probe_info *out)
{
	const struct at_hook *h = &at_hooks[i];
	const struct at_probe *p = &at_probes[i];

	out->role = h->role;
	out->symbol = p->sym[0] ? p->sym : "-";
	out->candidates = h->cands ? p->cands : "";
	out->kind = p->ret ? "kretprobe" : "kprobe";
	out->state = at_probe_state_names[p->state];
	out->nmissed = at_probe_nmissed(i);
	out->err = p->err;
	out->clones = p->clones;
	/* why stays set until the hook is armed again (at_hooks_probation()) */
	out->refused = p->state == AT_PROBE_REFUSED ? at_hook_refusal(i) : NULL;
	out->ret = p->ret;
	out->maxactive = p->ret ? p->rp.maxactive : 0;
	out->absent = p->state == AT_PROBE_ABSENT;
	out->failed = p->state == AT_PROBE_FAILED ||
		      p->state == AT_PROBE_REFUSED;
}

/*
 * Re-arm when kvm comes back; unwind before it goes. A KVM module going
 * away also ends the generation of recorded call sites (at_kvm_gen_next()).
 */
static int at_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	static bool vendor_live;	/* a vendor module went live */
	struct module *mod = data;
	bool kvm = !strcmp(mod->name, "kvm");

	if (!kvm && strcmp(mod->name, "kvm_amd") && strcmp(mod->name, "kvm_intel"))
		return NOTIFY_DONE;
	mutex_lock(&at_probes_mutex);
	if (action == MODULE_STATE_GOING) {
		/* a vendor module whose init failed never ran our sites */
		if (kvm || vendor_live)
			at_kvm_gen_next();
		if (kvm)
			at_disarm_all();
		else
			vendor_live = false;
	} else if (action == MODULE_STATE_LIVE) {
		if (!kvm)
			vendor_live = true;
		else if (at_arm_all())
			at_disarm_all();	/* all or nothing, as at load */
	}
	mutex_unlock(&at_probes_mutex);
	return NOTIFY_OK;
}

static struct notifier_block at_module_nb = {
	.notifier_call = at_module_notify,
};

int at_probes_init(void)
{
	int i, ret;

	ret = at_hooks_init();
	if (ret)
		return ret;
	/* what status shows before kvm loads: each hook's own kind */
	for (i = 0; i < AT_NR_HOOKS; i++)
		at_probes[i].ret = at_hooks[i].ret;
	ret = register_module_notifier(&at_module_nb);
	if (ret)
		goto err_hooks;
	mutex_lock(&at_probes_mutex);
	ret = at_arm_all();
	if (ret == -ENODEV) {
		at_disarm_all();	/* kvm not loaded yet: wait for it */
		pr_info("kvm is not loaded; hooks arm when it is\n");
		ret = 0;
	} else if (ret == -EPERM) {
		ret = 0;		/* lockdown: loaded, nothing armed */
	} else if (ret) {
		at_disarm_all();
	}
	mutex_unlock(&at_probes_mutex);
	if (ret)
		goto err_notifier;
	return 0;

err_notifier:
	unregister_module_notifier(&at_module_nb);
err_hooks:
	at_hooks_exit();
	return ret;
}

void at_probes_exit(void)
{
	unregister_module_notifier(&at_module_nb);
	mutex_lock(&at_probes_mutex);
	at_disarm_all();
	mutex_unlock(&at_probes_mutex);
	at_hooks_exit();
}
