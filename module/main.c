// SPDX-License-Identifier: GPL-2.0
/*
 * apicv-trace: a flight recorder for KVM's APICv/AVIC inhibit reasons.
 *
 * Module parameters (the only control; /sys/module/apicv_trace/parameters):
 *   ring_size     records kept per VM, power of two, 16..65536 (new VMs)
 *   max_vms       VM records allocated at most (live + exited), 1..65536
 *   max_exited    exited VMs kept readable, the first to exit dropped
 *                 first, 0..4096 (at most max_vms - 1 are kept: a new VM
 *                 always gets a record before an old exited one)
 *   log_noop      also log requests that changed nothing (Y/N)
 *   clear         write exited, events or all: forget exited VMs and/or
 *                 empty the event history (aggregates are kept)
 *   stream_size   records in the "follow" stream, power of two (load only)
 *   hook_target   ROLE=SYMBOL[,...]: hook another symbol (load only; probes.c)
 * Numbers are decimal. A bad value is refused with -EINVAL and a message
 * naming the parameter, and changes nothing.
 *
 * The version comes from dkms.conf's PACKAGE_VERSION, through the Makefile
 * and Kbuild (-DAT_VERSION).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "apicv_trace.h"
#include "prof.h"

#ifndef AT_VERSION
#define AT_VERSION "unknown"
#endif

/* ring_size, max_vms, max_exited and log_noop are kept in vm.c */
static unsigned int at_stream_order = 12;	/* 4096 records */
static bool at_loaded;	/* parameter stores may act (kernel_param_lock) */

/*
 * Every refusal names the parameter and the range (the kernel's own
 * message drops the name when the value is long); the value is shown
 * escaped and cut short.
 */
static int at_bad(const char *name, const char *val, const char *want)
{
	size_t len = strlen(val);

	pr_err("%s: invalid value \"%*pE\"%s: want %s\n", name,
	       (int)min_t(size_t, len, 32), val, len > 32 ? "..." : "", want);
	return -EINVAL;
}

/* Decimal only: "010" is not 8 and "0x10" is not 16. */
static int at_parse_uint(const char *name, const char *val, unsigned int min,
			 unsigned int max, bool pow2, unsigned int *out)
{
	char want[64];
	unsigned int v;

	if (kstrtouint(val, 10, &v) || v < min || v > max ||
	    (pow2 && !is_power_of_2(v))) {
		snprintf(want, sizeof(want), "%s%u..%u", pow2 ? "a power of two " : "",
			 min, max);
		return at_bad(name, val, want);
	}
	*out = v;
	return 0;
}

static int at_set_pow2(const char *name, const char *val, unsigned int min,
		       unsigned int max, unsigned int *order)
{
	unsigned int v;

	if (at_parse_uint(name, val, min, max, true, &v))
		return -EINVAL;
	WRITE_ONCE(*order, ilog2(v));
	if (at_loaded)
		at_vm_kick();	/* replace spares of the old size */
	return 0;
}

static int at_get_pow2(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%u\n", 1U << *(unsigned int *)kp->arg);
}

static int at_set_ring_size(const char *val, const struct kernel_param *kp)
{
	return at_set_pow2("ring_size", val, 16, 65536, kp->arg);
}

static const struct kernel_param_ops at_ring_size_ops = {
	.set = at_set_ring_size,
	.get = at_get_pow2,
};
module_param_cb(ring_size, &at_ring_size_ops, &at_ring_order, 0644);
MODULE_PARM_DESC(ring_size, "Records kept per VM, power of two 16..65536 (default 256; applies to new VMs)");

static int at_set_stream_size(const char *val, const struct kernel_param *kp)
{
	return at_set_pow2("stream_size", val, 64, 1U << 20, kp->arg);
}

static const struct kernel_param_ops at_stream_size_ops = {
	.set = at_set_stream_size,
	.get = at_get_pow2,
};
module_param_cb(stream_size, &at_stream_size_ops, &at_stream_order, 0444);
MODULE_PARM_DESC(stream_size, "Records in the follow stream, power of two 64..1048576 (default 4096; load time only)");

static int at_set_max_vms(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (at_parse_uint("max_vms", val, 1, 65536, false, &v))
		return -EINVAL;
	WRITE_ONCE(at_max_vms, v);
	return 0;
}

static const struct kernel_param_ops at_max_vms_ops = {
	.set = at_set_max_vms,
	.get = param_get_uint,
};
module_param_cb(max_vms, &at_max_vms_ops, &at_max_vms, 0644);
MODULE_PARM_DESC(max_vms, "VM records allocated at most, live and exited, 1..65536 (default 256)");

static int at_set_max_exited(const char *val, const struct kernel_param *kp)
{
	unsigned int v;

	if (at_parse_uint("max_exited", val, 0, 4096, false, &v))
		return -EINVAL;
	WRITE_ONCE(at_max_exited, v);
	if (at_loaded)
		at_vm_kick();	/* trim now */
	return 0;
}

static const struct kernel_param_ops at_max_exited_ops = {
	.set = at_set_max_exited,
	.get = param_get_uint,
};
module_param_cb(max_exited, &at_max_exited_ops, &at_max_exited, 0644);
MODULE_PARM_DESC(max_exited, "Exited VMs kept readable (at most max_vms-1), first exited dropped first, 0..4096 (default 64)");

/* Y/N (or 1/0, y/n) exactly: the kernel's bool parser reads "yes!" as Y */
static int at_set_log_noop(const char *val, const struct kernel_param *kp)
{
	static const char *const words[] = { "Y", "y", "1", "N", "n", "0" };
	int i;

	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (sysfs_streq(val, words[i])) {
			WRITE_ONCE(at_log_noop, i < 3);
			return 0;
		}
	}
	return at_bad("log_noop", val, "Y or N");
}

static const struct kernel_param_ops at_log_noop_ops = {
	.set = at_set_log_noop,
	.get = param_get_bool,
};
module_param_cb(log_noop, &at_log_noop_ops, &at_log_noop, 0644);
MODULE_PARM_DESC(log_noop, "Also log requests that changed nothing (default N)");

/*
 * clear=exited|events|all: a runtime trigger. exited: forget exited VMs
 * (the worker frees them); events: start every live VM's event history
 * afresh (at_vm_clear_events()).
 */
static int at_set_clear(const char *val, const struct kernel_param *kp)
{
	bool exited = sysfs_streq(val, "exited") || sysfs_streq(val, "all");
	bool events = sysfs_streq(val, "events") || sysfs_streq(val, "all");

	if (!exited && !events)
		return at_bad("clear", val, "exited, events or all");
	if (!at_loaded) {
		pr_err("clear: a runtime trigger, not a load option\n");
		return -EINVAL;
	}
	if (events)
		at_vm_clear_events();
	if (exited)
		at_worker_clear_exited();
	return 0;
}

static int at_get_clear(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "-\n");
}

static const struct kernel_param_ops at_clear_ops = {
	.set = at_set_clear,
	.get = at_get_clear,
};
module_param_cb(clear, &at_clear_ops, NULL, 0644);
MODULE_PARM_DESC(clear, "Write exited (forget exited VMs), events (empty every VM's event history; aggregates stay) or all");

static int __init at_init(void)
{
	int ret;

	at_compat_canary();
#ifdef AT_TEST_FAULTS
	pr_warn("test build (AT_TEST_FAULTS): test_fault=%d\n", at_test_fault);
#endif
	at_reasons_init();
	ret = at_vm_init(at_stream_order);
	if (ret)
		goto err;
	ret = at_worker_init();
	if (ret)
		goto err_vm;
	ret = at_debugfs_init();
	if (ret)
		goto err_worker;
	ret = at_probes_init();
	if (ret)
		goto err_debugfs;
	WRITE_ONCE(at_loaded, true);
	pr_info("loaded (version " AT_VERSION ")\n");
	return 0;

err_debugfs:
	at_worker_stop();
	at_debugfs_exit();
err_worker:
	at_worker_exit();
err_vm:
	at_vm_exit();
err:
	return ret;
}

/*
 * Unwind in reverse: no new events (probes), no parameter store that could
 * kick the worker, no worker, no files, then free the VMs.
 */
static void __exit at_exit(void)
{
	kernel_param_lock(THIS_MODULE);
	WRITE_ONCE(at_loaded, false);
	kernel_param_unlock(THIS_MODULE);
	at_probes_exit();
	at_prof_report();	/* the test build's profile (prof.h) */
	at_worker_stop();
	at_debugfs_exit();
	at_worker_exit();
	at_vm_exit();
	pr_info("unloaded\n");
}

module_init(at_init);
module_exit(at_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Flight recorder for KVM APICv/AVIC inhibit reasons");
MODULE_AUTHOR("apicv-trace developers");
MODULE_VERSION(AT_VERSION);
