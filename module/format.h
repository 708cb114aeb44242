/* SPDX-License-Identifier: GPL-2.0 */
/*
 * format.h - the one definition of the debugfs line format: every key of
 * every file, in print order, and the printf format of each fixed part of
 * a line. debugfs.c prints with these formats; the command (cmd/parse.c)
 * parses with these key lists. Plain C with no includes, like record.h.
 *
 * Key lists are X-macros: X(key, "description"), the key a bare
 * identifier (#key gives its text). A line is "key=value" tokens separated
 * by single spaces; a value never holds a space or '=' (comm is sanitised)
 * and "-" means none. Optional keys are printed only when they apply.
 *
 * Every AT_FMT_<LIST>[_<PART>] string uses only keys of AT_<LIST>_KEYS,
 * <LIST> being the longest key list its name starts with (AT_FMT_STATUS_HOOK
 * uses AT_STATUS_HOOK_KEYS, AT_FMT_STATUS_KVM uses AT_STATUS_KEYS). The
 * pairs are listed once more in AT_FORMATS(X), for tests. Each AT_FMT_* is
 * a plain string literal (no macro inside), so a test can read it as text.
 */
#ifndef APICV_TRACE_FORMAT_H
#define APICV_TRACE_FORMAT_H

/* ---------------------------------------------------------------- */
/* events, vm/<key>/events, follow: one record per line             */
/* ---------------------------------------------------------------- */

#define AT_EVENT_KEYS(X)						\
	X(seq,	    "global sequence number, orders all VMs' records")	\
	X(ns,	    "CLOCK_BOOTTIME of the event, nanoseconds")		\
	X(vm,	    "the VM's key (vms, vm/<key>/)")			\
	X(name,	    "the name its VMM gave the VM (-name), or -")	\
	X(vcpu,	    "vCPU id the event ran on, or -")			\
	X(cpu,	    "host CPU")						\
	X(tid,	    "host thread id")					\
	X(comm,	    "host thread name, sanitised (no space or =)")	\
	X(event,    "set clear apic_id vm_create vm_destroy baseline lapic_set apic_base") \
	X(reason,   "inhibit reason name, or -")			\
	X(bit,	    "inhibit reason bit, or -")				\
	X(old,	    "VM-wide inhibit mask before, hex")			\
	X(new,	    "VM-wide inhibit mask after, hex")			\
	X(result,   "changed noop filtered dropped absorbed, or -")	\
	X(site,	    "calling function+offset, ? when unnamed, - when none") \
	X(vcpu_id,  "apic_id: the vCPU whose xAPIC ID was compared")	\
	X(xapic_id, "apic_id: the xAPIC ID compared, ? when unread")	\
	X(match,    "apic_id: yes if xapic_id == (u8)vcpu_id, ? when unread") \
	X(inhibit,  "apic_id: yes if KVM asked for an inhibit")	\
	X(alias,    "apic_id from the APIC map: yes if another vCPU shares the ID") \
	X(apic_id,  "lapic_set: the restored xAPIC ID, ? when unread")	\
	X(value,    "apic_base: the value the VMM wrote, hex")		\
	X(was,	    "apic_base: the value it replaced, hex")		\
	X(side,	    "yes: changed as a side effect of another request")	\
	X(init,	    "yes: set by KVM while creating the VM")		\
	X(missed,   "yes: a change whose setter call was not seen")

#define AT_FMT_EVENT							\
	"seq=%llu ns=%llu vm=%s name=%s vcpu=%s cpu=%u tid=%u comm=%s event=%s reason=%s bit=%s old=0x%llx new=0x%llx result=%s site=%s"
#define AT_FMT_EVENT_APIC_ID		" vcpu_id=%d xapic_id=%u match=%s"
#define AT_FMT_EVENT_APIC_ID_UNREAD	" vcpu_id=%d xapic_id=? match=?"
#define AT_FMT_EVENT_INHIBIT		" inhibit=%s"
#define AT_FMT_EVENT_ALIAS		" alias=%s"
#define AT_FMT_EVENT_LAPIC_SET		" apic_id=%u"
#define AT_FMT_EVENT_LAPIC_SET_UNREAD	" apic_id=?"
#define AT_FMT_EVENT_APIC_BASE		" value=0x%llx was=0x%llx"
#define AT_FMT_EVENT_SIDE		" side=yes"
#define AT_FMT_EVENT_INIT		" init=yes"
#define AT_FMT_EVENT_MISSED		" missed=yes"

/* ---------------------------------------------------------------- */
/* lost records: events, vm/<key>/events (with vm=), follow (without) */
/* ---------------------------------------------------------------- */

#define AT_LOST_KEYS(X)							\
	X(lost,	"records no reader can get any more")			\
	X(vm,	"the VM they belonged to (not in follow)")

#define AT_FMT_LOST		"lost=%llu vm=%s\n"
#define AT_FMT_LOST_FOLLOW	"lost=%llu\n"

/* ---------------------------------------------------------------- */
/* capped records: events (and vm/<key>/events) hold at most 65536   */
/* records per open, the newest; one line per VM that had more      */
/* ---------------------------------------------------------------- */

#define AT_CAPPED_KEYS(X)						\
	X(capped, "readable records of the VM this open left out, the oldest") \
	X(vm,	"the VM they belong to")

#define AT_FMT_CAPPED		"capped=%llu vm=%s\n"

/* ---------------------------------------------------------------- */
/* vms: one line per VM                                             */
/* ---------------------------------------------------------------- */

#define AT_VMS_KEYS(X)							\
	X(vm,		"the VM's key")					\
	X(pid,		"pid of the VMM that created it")		\
	X(comm,		"thread that created it, sanitised")		\
	X(vcpus,	"vCPUs created")				\
	X(apicv,	"active inhibited unknown")			\
	X(for_ms,	"milliseconds in that state")			\
	X(mask,		"inhibit mask, hex")				\
	X(reasons,	"set reasons joined by |, or -")		\
	X(transitions,	"inhibit bit changes")				\
	X(events,	"records written")				\
	X(lost,		"records lost")					\
	X(status,	"live exited")					\
	X(flapping,	"yes if a reason changed often in the last minute") \
	X(name,		"the name its VMM gave the VM (-name), or -")

#define AT_FMT_VMS							\
	"vm=%s pid=%d comm=%s vcpus=%u apicv=%s for_ms=%llu mask=0x%lx reasons="
#define AT_FMT_VMS_TAIL							\
	" transitions=%lld events=%llu lost=%llu status=%s flapping=%s name=%s\n"

/* ---------------------------------------------------------------- */
/* vm/<key>/state: three header lines, reason= lines, a mismatch line */
/* ---------------------------------------------------------------- */

#define AT_STATE_HEAD_KEYS(X)						\
	X(vm,		"the VM's key")					\
	X(id,		"module serial of the VM")			\
	X(pid,		"pid of the VMM that created it")		\
	X(comm,		"thread that created it, sanitised")		\
	X(name,		"the name its VMM gave the VM (-name), or -")	\
	X(vcpus,	"vCPUs created")				\
	X(status,	"live exited")					\
	X(baseline,	"yes: the VM predates the module")		\
	X(apicv,	"active inhibited unknown")			\
	X(since_ns,	"when the mask last went 0 <-> non-0")		\
	X(for_ms,	"milliseconds in that state")			\
	X(mask,		"inhibit mask, hex")				\
	X(reasons,	"set reasons joined by |, or -")		\
	X(created_ns,	"when the VM was created (or first seen)")	\
	X(exited_ns,	"when it was destroyed, 0 while live")		\
	X(life_ms,	"milliseconds from created_ns to exit or now")	\
	X(transitions,	"inhibit bit changes")				\
	X(events,	"records written")				\
	X(lost,		"records lost")					\
	X(flapping,	"yes if a reason changed often in the last minute")

#define AT_FMT_STATE_HEAD						\
	"vm=%s id=%u pid=%d comm=%s name=%s vcpus=%u status=%s%s\n"
#define AT_FMT_STATE_HEAD_BASELINE	" baseline=yes"
#define AT_FMT_STATE_HEAD_APICV						\
	"apicv=%s since_ns=%llu for_ms=%llu mask=0x%lx reasons="
#define AT_FMT_STATE_HEAD_LIFE						\
	"\ncreated_ns=%llu exited_ns=%llu life_ms=%llu transitions=%lld events=%llu lost=%llu flapping=%s\n"

#define AT_STATE_REASON_KEYS(X)						\
	X(reason,	"inhibit reason name")				\
	X(bit,		"its bit")					\
	X(now,		"set clear")					\
	X(sets,		"times set")					\
	X(clears,	"times cleared")				\
	X(noops,	"requests that found the bit already so")	\
	X(filtered,	"requests the vendor module does not honour")	\
	X(dropped,	"requests KVM ignored (APICv disabled)")	\
	X(absorbed,	"IRQWIN requests absorbed by the counter")	\
	X(inhibited_ms,	"milliseconds set in the VM's life")		\
	X(share_pct,	"inhibited_ms as a percentage of life_ms")	\
	X(sticky,	"yes: KVM never clears it")			\
	X(changes_10s,	"changes in the last 10 seconds")		\
	X(changes_60s,	"changes in the last minute")			\
	X(flapping,	"yes if changes_60s reached the flapping threshold") \
	X(last_set_ns,	"when last set, or -")				\
	X(last_set_site, "who last set it, or -")			\
	X(last_clear_ns, "when last cleared, or -")			\
	X(last_clear_site, "who last cleared it, or -")			\
	X(since_ns,	"while set: since when")

#define AT_FMT_STATE_REASON						\
	"reason=%s bit=%u now=%s sets=%lld clears=%lld noops=%lld filtered=%lld dropped=%lld absorbed=%lld inhibited_ms=%llu share_pct=%llu sticky=%s changes_10s=%u changes_60s=%u flapping=%s"
#define AT_FMT_STATE_REASON_LAST_SET	" last_set_ns=%llu last_set_site=%s"
#define AT_FMT_STATE_REASON_LAST_SET_NONE " last_set_ns=- last_set_site=-"
#define AT_FMT_STATE_REASON_LAST_CLEAR	" last_clear_ns=%llu last_clear_site=%s"
#define AT_FMT_STATE_REASON_LAST_CLEAR_NONE				\
	" last_clear_ns=- last_clear_site=-"
#define AT_FMT_STATE_REASON_SINCE	" since_ns=%llu"

/* The line starts with the bare word AT_MISMATCH_WORD, then the keys. */
#define AT_MISMATCH_WORD "apic_id_mismatch"
#define AT_MISMATCH_KEYS(X)						\
	X(vcpu_id,	"the last vCPU whose xAPIC ID KVM found != (u8)vcpu_id") \
	X(xapic_id,	"its xAPIC ID")					\
	X(compared_with, "(u8)vcpu_id, what KVM compared it with")	\
	X(ns,		"when")						\
	X(site,		"who triggered the check")

#define AT_FMT_MISMATCH							\
	"apic_id_mismatch vcpu_id=%d xapic_id=%u compared_with=%u ns=%llu site=%s\n"

/* ---------------------------------------------------------------- */
/* status: one-off lines; hook= lines have their own list            */
/* ---------------------------------------------------------------- */

#define AT_STATUS_KEYS(X)						\
	X(module,	"apicv_trace")					\
	X(version,	"module version")				\
	X(kernel,	"running kernel release")			\
	X(lockdown,	"kernel lockdown: none integrity confidentiality unknown") \
	X(kvm,		"hooked waiting")				\
	X(reasons_from,	"where the reason names come from (quoted)")	\
	X(kernel_names,	"agree differ unavailable")			\
	X(coverage,	"full partial waiting lockdown")		\
	X(absent,	"hook roles whose function is missing, comma-separated") \
	X(failed,	"hook roles that failed to arm, comma-separated") \
	X(running_vcpu,	"resolved unresolved")				\
	X(reqs_full,	"times the in-flight call table was full")	\
	X(setter,	"entry (result read at the setter's entry) or exit (its return hooked)") \
	X(mispredicted,	"entry mode: setter results a later call found wrong (corrected)") \
	X(events,	"records written, all VMs")			\
	X(untracked,	"events for VMs that could not be tracked")	\
	X(lost,		"records lost, all VMs")			\
	X(vms_live,	"VMs live")					\
	X(vms_exited,	"VMs exited, still listed")			\
	X(vms_created,	"VMs ever tracked")				\
	X(vms_adopted,	"VMs found running when kvm was hooked")	\
	X(adoption,	"done unavailable waiting: VMs listed when kvm is hooked") \
	X(vms_freed,	"VM records freed")				\
	X(pool_empty,	"no spare VM record on the event path")	\
	X(alloc_failed,	"VM records that could not be allocated")	\
	X(dirs_failed,	"vm/<key>/ directories debugfs refused")	\
	X(follow_capacity, "records the follow stream holds")		\
	X(follow_readers, "open follow files")				\
	X(memory_bytes,	"VM records, rings and the follow stream")	\
	X(ring_size,	"parameter ring_size")				\
	X(max_vms,	"parameter max_vms")				\
	X(max_exited,	"parameter max_exited")				\
	X(log_noop,	"parameter log_noop, Y or N")

#define AT_FMT_STATUS_MODULE	"module=apicv_trace version=%s\n"
#define AT_FMT_STATUS_KERNEL	"kernel=%s lockdown=%s\n"
#define AT_FMT_STATUS_KVM	"kvm=%s\n"
#define AT_FMT_STATUS_REASONS	"reasons_from=\"%s\" kernel_names=%s\n"
#define AT_FMT_STATUS_COVERAGE	"coverage=%s"
#define AT_FMT_STATUS_ABSENT	" absent="
#define AT_FMT_STATUS_FAILED	" failed="
#define AT_FMT_STATUS_RUNNING	"running_vcpu=%s reqs_full=%lld setter=%s mispredicted=%lld\n"
#define AT_FMT_STATUS_EVENTS	"events=%llu untracked=%lld lost=%llu\n"
#define AT_FMT_STATUS_VMS						\
	"vms_live=%llu vms_exited=%llu vms_created=%lld vms_adopted=%lld vms_freed=%lld pool_empty=%lld alloc_failed=%lld dirs_failed=%lld adoption=%s\n"
#define AT_FMT_STATUS_FOLLOW	"follow_capacity=%llu follow_readers=%d\n"
#define AT_FMT_STATUS_MEMORY	"memory_bytes=%ld\n"
#define AT_FMT_STATUS_PARAMS	"ring_size=%u max_vms=%u max_exited=%u log_noop=%s\n"

/* status: one hook= line per hook, printed after kernel_names= */
#define AT_STATUS_HOOK_KEYS(X)						\
	X(hook,		"the hook's role")				\
	X(symbol,	"the function hooked (maybe a .part clone), or -") \
	X(kind,		"kprobe kretprobe")				\
	X(state,	"armed waiting-for-kvm absent failed refused lockdown n/a") \
	X(nmissed,	"calls the probe missed")			\
	X(error,	"failed: the error registering it")		\
	X(refused,	"refused: why the hook was disarmed after checking its arguments") \
	X(maxactive,	"kretprobe: instances that can be in flight at once") \
	X(clones,	"unhooked .isra/.constprop clones, comma-separated") \
	X(candidates,	"the functions the role may be on, in order, comma-separated")

#define AT_FMT_STATUS_HOOK	"hook=%s symbol=%s kind=%s state=%s nmissed=%lu"
#define AT_FMT_STATUS_HOOK_ERROR	" error=%d"
#define AT_FMT_STATUS_HOOK_REFUSED	" refused=%s"
#define AT_FMT_STATUS_HOOK_MAXACTIVE	" maxactive=%d"
#define AT_FMT_STATUS_HOOK_CLONES	" clones=%s"
#define AT_FMT_STATUS_HOOK_CANDIDATES	" candidates=%s"

/* ---------------------------------------------------------------- */
/* reasons: this kernel's bit -> name table                          */
/* ---------------------------------------------------------------- */

/* The last key is avic_filter on AMD/Hygon hosts, apicv_filter else. */
#define AT_REASONS_KEYS(X)						\
	X(bit,		"reason bit")					\
	X(reason,	"the module's name for it")			\
	X(kernel,	"the kernel's name for it, or -")		\
	X(sticky,	"yes: KVM never clears it")			\
	X(apicv_filter,	"Intel: honours ignores")			\
	X(avic_filter,	"AMD: honours ignores")

#define AT_FMT_REASONS_APICV						\
	"bit=%u reason=%s kernel=%s sticky=%s apicv_filter=%s\n"
#define AT_FMT_REASONS_AVIC						\
	"bit=%u reason=%s kernel=%s sticky=%s avic_filter=%s\n"

/* ---------------------------------------------------------------- */
/* Every format with the key list it draws from                      */
/* ---------------------------------------------------------------- */

#define AT_FORMATS(X)							\
	X(AT_FMT_EVENT, AT_EVENT_KEYS)					\
	X(AT_FMT_EVENT_APIC_ID, AT_EVENT_KEYS)				\
	X(AT_FMT_EVENT_APIC_ID_UNREAD, AT_EVENT_KEYS)			\
	X(AT_FMT_EVENT_INHIBIT, AT_EVENT_KEYS)				\
	X(AT_FMT_EVENT_ALIAS, AT_EVENT_KEYS)				\
	X(AT_FMT_EVENT_LAPIC_SET, AT_EVENT_KEYS)			\
	X(AT_FMT_EVENT_LAPIC_SET_UNREAD, AT_EVENT_KEYS)			\
	X(AT_FMT_EVENT_APIC_BASE, AT_EVENT_KEYS)			\
	X(AT_FMT_EVENT_SIDE, AT_EVENT_KEYS)				\
	X(AT_FMT_EVENT_INIT, AT_EVENT_KEYS)				\
	X(AT_FMT_EVENT_MISSED, AT_EVENT_KEYS)				\
	X(AT_FMT_LOST, AT_LOST_KEYS)					\
	X(AT_FMT_LOST_FOLLOW, AT_LOST_KEYS)				\
	X(AT_FMT_CAPPED, AT_CAPPED_KEYS)				\
	X(AT_FMT_VMS, AT_VMS_KEYS)					\
	X(AT_FMT_VMS_TAIL, AT_VMS_KEYS)					\
	X(AT_FMT_STATE_HEAD, AT_STATE_HEAD_KEYS)			\
	X(AT_FMT_STATE_HEAD_BASELINE, AT_STATE_HEAD_KEYS)		\
	X(AT_FMT_STATE_HEAD_APICV, AT_STATE_HEAD_KEYS)			\
	X(AT_FMT_STATE_HEAD_LIFE, AT_STATE_HEAD_KEYS)			\
	X(AT_FMT_STATE_REASON, AT_STATE_REASON_KEYS)			\
	X(AT_FMT_STATE_REASON_LAST_SET, AT_STATE_REASON_KEYS)		\
	X(AT_FMT_STATE_REASON_LAST_SET_NONE, AT_STATE_REASON_KEYS)	\
	X(AT_FMT_STATE_REASON_LAST_CLEAR, AT_STATE_REASON_KEYS)		\
	X(AT_FMT_STATE_REASON_LAST_CLEAR_NONE, AT_STATE_REASON_KEYS)	\
	X(AT_FMT_STATE_REASON_SINCE, AT_STATE_REASON_KEYS)		\
	X(AT_FMT_MISMATCH, AT_MISMATCH_KEYS)				\
	X(AT_FMT_STATUS_MODULE, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_KERNEL, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_KVM, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_REASONS, AT_STATUS_KEYS)			\
	X(AT_FMT_STATUS_COVERAGE, AT_STATUS_KEYS)			\
	X(AT_FMT_STATUS_ABSENT, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_FAILED, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_RUNNING, AT_STATUS_KEYS)			\
	X(AT_FMT_STATUS_EVENTS, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_VMS, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_FOLLOW, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_MEMORY, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_PARAMS, AT_STATUS_KEYS)				\
	X(AT_FMT_STATUS_HOOK, AT_STATUS_HOOK_KEYS)			\
	X(AT_FMT_STATUS_HOOK_ERROR, AT_STATUS_HOOK_KEYS)		\
	X(AT_FMT_STATUS_HOOK_REFUSED, AT_STATUS_HOOK_KEYS)		\
	X(AT_FMT_STATUS_HOOK_MAXACTIVE, AT_STATUS_HOOK_KEYS)		\
	X(AT_FMT_STATUS_HOOK_CLONES, AT_STATUS_HOOK_KEYS)		\
	X(AT_FMT_STATUS_HOOK_CANDIDATES, AT_STATUS_HOOK_KEYS)		\
	X(AT_FMT_REASONS_APICV, AT_REASONS_KEYS)			\
	X(AT_FMT_REASONS_AVIC, AT_REASONS_KEYS)

#endif /* APICV_TRACE_FORMAT_H */
