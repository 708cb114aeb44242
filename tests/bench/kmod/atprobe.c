// SPDX-License-Identifier: GPL-2.0
/*
 * atprobe.c - the hooking mechanism alone: kretprobes with empty handlers
 * on the two functions apicv_trace hooks on a BLOCKIRQ request (6.1:
 * kvm_set_or_clear_apicv_inhibit and __kvm_set_or_clear_apicv_inhibit,
 * as kretprobes with per-instance data, as the module arms them).  Mode
 * (d) of the ioctl loop in scripts/bench.sh: what apicv_trace costs before
 * its handlers do anything.  Symbols: param syms= (comma separated).
 */
#define pr_fmt(fmt) "atprobe: " fmt

#include <linux/module.h>
#include <linux/kprobes.h>
#include <linux/string.h>

/*
 * scan=N: the entry handler also walks an N-entry table the way
 * apicv_trace's at_req_find() walks its 256 in-flight slots when nothing
 * matches (mode e: is that walk what the module's hook costs?).
 */
static unsigned int scan;
module_param(scan, uint, 0444);
struct ap_req { struct task_struct *task; unsigned char kind; };
static struct ap_req ap_reqs[256];

static char *syms = "kvm_set_or_clear_apicv_inhibit,__kvm_set_or_clear_apicv_inhibit";
module_param(syms, charp, 0444);

/* ret=0: plain kprobes (entry only) instead of kretprobes (mode g) */
static bool ret = true;
module_param(ret, bool, 0444);

#define MAXP 4
static struct kprobe kp[MAXP];

static int ap_pre(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}
NOKPROBE_SYMBOL(ap_pre);
static struct kretprobe rp[MAXP];
static char names[MAXP][KSYM_NAME_LEN];
static int nrp;

static int ap_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	unsigned int i, n = min_t(unsigned int, scan, ARRAY_SIZE(ap_reqs));

	for (i = 0; i < n; i++)
		if (READ_ONCE(ap_reqs[i].task) == current && ap_reqs[i].kind == 2)
			return 0;
	return 0;
}
NOKPROBE_SYMBOL(ap_entry);

static int ap_exit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return 0;
}
NOKPROBE_SYMBOL(ap_exit);

static void ap_unregister(void)
{
	while (nrp-- > 0) {
		if (ret)
			unregister_kretprobe(&rp[nrp]);
		else
			unregister_kprobe(&kp[nrp]);
	}
}

static int __init ap_init(void)
{
	const char *p = syms;
	int err;

	while (*p && nrp < MAXP) {
		size_t len = strcspn(p, ",");

		if (len >= KSYM_NAME_LEN)
			return -EINVAL;
		memcpy(names[nrp], p, len);
		names[nrp][len] = 0;
		rp[nrp].kp.symbol_name = names[nrp];
		rp[nrp].entry_handler = ap_entry;
		rp[nrp].handler = ap_exit;
		rp[nrp].data_size = 48;
		rp[nrp].maxactive = 0;
		kp[nrp].symbol_name = names[nrp];
		kp[nrp].pre_handler = ap_pre;
		err = ret ? register_kretprobe(&rp[nrp]) : register_kprobe(&kp[nrp]);
		if (err) {
			pr_err("register %s: %d\n", names[nrp], err);
			ap_unregister();
			return err;
		}
		pr_info("armed %s (%s)\n", names[nrp], ret ? "kretprobe" : "kprobe");
		nrp++;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void __exit ap_exit_mod(void)
{
	ap_unregister();
}

module_init(ap_init);
module_exit(ap_exit_mod);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("empty kretprobes: the floor of apicv_trace's hook cost");
