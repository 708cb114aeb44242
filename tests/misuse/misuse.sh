#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Bad input, misuse and security, guest side. Sourced by tests/e2e/guest.sh
# at the end of the avic1 boot, with apicv_trace unloaded and kvm loaded;
# uses its P, OUT, D, PARAMS, GEN, KD and ok/fail/check. Every check is
# named misuse_*; check.py knows the full list (a missing one fails), and
# the value cases come from /payload/misuse.cases (tests/misuse/cases).
# Details of every check are in $OUT/misuse/. Ends with kernel lockdown
# (integrity) switched on and apicv_trace unloaded: nothing may run after
# it that needs to load a module.
M=$OUT/misuse
F=$P/filetest
KO=$P/apicv_trace.ko
CASES=$P/misuse.cases
C=$P/apicv-trace
mkdir -p "$M/cmd" "$M/nobody"
mstart=$(date +%s)

# fwd NAME CMD...: run a filetest subcommand, whose OK/FAIL lines are
# checks; misuse_ran_NAME says it ran to its END line (up: guest.sh's)
fwd() {
	name=$1
	shift
	u0=$(up)
	"$@" >"$M/$name" 2>&1
	rc=$?
	echo "$name $u0 $(up)" >>"$M/timing"
	grep -E '^(OK|FAIL) ' "$M/$name" | while read -r st cname rest; do
		if [ "$st" = OK ]; then ok "$cname"; else fail "${cname%:}" "$rest"; fi
	done
	if grep -qx END "$M/$name"; then ok "misuse_ran_$name"; else fail "misuse_ran_$name" "exit $rc: $(tail -n 3 "$M/$name")"; fi
}
# files [N]: the files of the module: the top ones and those of up to N
# VMs (3)
files() {
	echo "$D/status $D/reasons $D/vms $D/events"
	ls -d "$D"/vm/*/state "$D"/vm/*/events 2>/dev/null | head -n $((2 * ${1:-3}))
}

check misuse_start_unloaded sh -c "! grep -q '^apicv_trace ' /proc/modules && [ -e /dev/kvm ]"

# ---- 1. Load time: every bad value refused, named in the log ---------
echo "phase 1 $(up)" >>"$M/timing"
fwd loads "$F" loads "$CASES" "$KO"

# ---- 2. Runtime: refused, nothing changes --------------------------
echo "phase 2 $(up)" >>"$M/timing"
# (a good value still loads after all that)
if insmod "$KO" ring_size=4096; then ok misuse_load_after_bad; else fail misuse_load_after_bad "insmod ring_size=4096"; fi
cp "$D/status" "$M/status.default"
check misuse_coverage_full grep -qx 'coverage=full' "$D/status"
fwd params "$F" params "$CASES" "$PARAMS" "$D/status"

# ---- 3. A VM whose process name is hostile, through the command ----
echo "phase 3 $(up)" >>"$M/timing"
# (printf: a format, $(...): a shell, ;| a pipeline, " and \ for JSON and
# Prometheus escaping); 13 characters, the module keeps them as they are
COMM='%n%s$(id);|"\'
echo "$COMM" >"$M/comm"
MC=$M/cmd
crun() { # crun NAME ARGS...: the command's stdout NAME, stderr NAME.err, exit NAME.rc
	n=$1
	shift
	$C "$@" >"$MC/$n" 2>"$MC/$n.err"
	echo $? >"$MC/$n.rc"
}
$C watch >"$MC/watch.txt" 2>"$MC/watch.txt.err" &
w1=$!
$C --json watch >"$MC/watch.json" 2>"$MC/watch.json.err" &
w2=$!
"$F" vm "$COMM" 2 >"$M/vm.out" 2>&1 &
vpid=$!
key=$(vm_key_of "$M/vm.out")
echo "$key" >"$M/vm.key"
i=0
while ! grep -qF "comm=$COMM " "$D/vms" && [ $i -lt 50 ]; do
	usleep 100000 2>/dev/null || sleep 1
	i=$((i + 1))
done
check misuse_comm_vm_created sh -c "grep -q 'created comm_len=13' $M/vm.out && [ -d $D/vm/$key ]"
check misuse_comm_kept grep -qF "comm=$COMM " "$D/vms"
crun live.list.txt
crun live.list.json --json list
crun live.show.txt show "$key"
crun live.show.json --json show "$key"
crun live.showname.txt show "$COMM"
crun live.prom.txt prom
# full coverage: no warning, a 1 gauge
check misuse_cmd_full_no_warning sh -c "[ ! -s $MC/live.list.txt.err ] && grep -qx 'apicv_trace_hooks_complete 1' $MC/live.prom.txt"
wait $vpid
sleep 1
crun exited.list.txt
crun exited.list.json --json list
crun exited.show.txt show "$key"
crun exited.show.json --json show "$key"
crun exited.prom.txt prom
stop_watchers "$MC" $w1 $w2
check misuse_cmd_comm_rc sh -c "cd $MC && [ \"\$(cat *.rc | sort -u)\" = 0 ]"
# text: as it is; JSON and Prometheus: " and \ escaped
check misuse_cmd_comm_text sh -c "cd $MC && for f in live.list.txt live.show.txt live.showname.txt exited.list.txt exited.show.txt watch.txt; do grep -qF -- '$COMM' \$f || exit 1; done"
JCOMM='%n%s$(id);|\"\\'
check misuse_cmd_comm_json sh -c "cd $MC && for f in live.list.json live.show.json exited.list.json exited.show.json watch.json; do grep -qF -- '\"$JCOMM\"' \$f || exit 1; done"
check misuse_cmd_comm_prom sh -c "cd $MC && for f in live.prom.txt exited.prom.txt; do grep -qF -- 'comm=\"$JCOMM\"' \$f || exit 1; done"
# $(id) never ran: no "uid=" anywhere, no crash
check misuse_cmd_comm_no_shell sh -c "! grep -rq 'uid=' $MC && ! grep -rqi 'segmentation\|sanitizer\|core dumped' $MC"

# ---- 4. Every way of reading, writing refused -------------------------
echo "phase 4 $(up)" >>"$M/timing"
# (events: several pages)
$P/kvmdrive flood $KD --toggles 100 >"$M/flood.out" 2>&1 || fail misuse_flood "exit $?"
usleep 500000
FILES=$(files 2)
echo "$FILES" >"$M/files"
check misuse_events_multipage sh -c "[ \$(wc -c <$D/events) -gt 16384 ]"
fwd reads "$F" reads $FILES
fwd wropen "$F" writeopen $FILES "$D/follow"
fwd follow "$F" follow "$D/follow" "$D/events" -- $P/kvmdrive basic $KD

# ---- 5. Unprivileged: nothing opens, the command says so ------------
echo "phase 5 $(up)" >>"$M/timing"
# mode bits of the debugfs mount root (busybox stat: octal)
dbgmode=$(stat -c %a /sys/kernel/debug)
echo "$dbgmode" >"$M/debugfs.mode"
check misuse_debugfs_root_private sh -c "case $dbgmode in *0) exit 0;; esac; exit 1"
check misuse_modes_0444 sh -c "[ -z \"\$(find $D -type f ! -perm 0444)\" ] && [ \$(find $D -type f | wc -l) -ge 7 ]"
# the initramfs root and the payload are root's (0700): let anyone
# through / and run the helpers, so that only debugfs says no
chmod 755 /
mkdir -p /tmp/mbin
cp "$F" "$C" "$P/asuser" /tmp/mbin/
chmod 755 /tmp/mbin /tmp/mbin/*
fwd nobody_files /tmp/mbin/asuser 65534 /tmp/mbin/filetest noaccess $(files) "$D/follow" "$D" "$D/vm"
check misuse_nobody_control /tmp/mbin/asuser 65534 cat "$PARAMS/ring_size" /proc/self/status
fwd nobody_params /tmp/mbin/asuser 65534 /tmp/mbin/filetest noparams "$PARAMS"
nb=0
for args in "" "--json list" "show $key" "--json show $key" "prom" "watch" "--json watch"; do
	nb=$((nb + 1))
	# shellcheck disable=SC2086
	timeout 10 /tmp/mbin/asuser 65534 /tmp/mbin/apicv-trace $args >"$M/nobody/$nb" 2>"$M/nobody/$nb.err"
	echo "$? $args" >>"$M/nobody/rcs"
done
check misuse_nobody_cmd_exit5 sh -c "[ \$(grep -c '^5 ' $M/nobody/rcs) -eq $nb ] && grep -q 'root' $M/nobody/1.err"

# ---- 6. No kernel address: files, every command output, the log ----
echo "phase 6 $(up)" >>"$M/timing"
mkdir -p "$M/files.copy"
for f in $(files); do
	n=${f#"$D/"}
	cat "$f" >"$M/files.copy/$(echo "$n" | tr / _)"
done
# a copy for --dir (not cp -r: follow would block it)
mkdir -p /tmp/atcopy/vm
for f in status reasons vms events; do cat "$D/$f" >"/tmp/atcopy/$f"; done
for v in "$D"/vm/*; do
	mkdir -p "/tmp/atcopy/vm/${v##*/}"
	cat "$v/state" >"/tmp/atcopy/vm/${v##*/}/state"
	cat "$v/events" >"/tmp/atcopy/vm/${v##*/}/events"
done
crun all.list.txt
crun all.list.json --json list
crun all.prom.txt prom
crun all.nosuch.txt show nosuchvm
crun all.usage.txt --no-such-option
for v in "$D"/vm/*; do
	k=${v##*/}
	crun "all.show.$k.txt" show "$k"
	crun "all.show.$k.json" --json show "$k"
done
crun dir.list.txt --dir /tmp/atcopy
crun dir.list.json --dir /tmp/atcopy --json list
crun dir.show.txt --dir /tmp/atcopy show "$key"
crun dir.show.json --dir /tmp/atcopy --json show "$key"
crun dir.prom.txt --dir /tmp/atcopy prom
timeout 20 $C --dir /tmp/atcopy watch >"$MC/dir.watch.txt" 2>&1
timeout 20 $C --dir /tmp/atcopy --json watch >"$MC/dir.watch.json" 2>&1
rm -rf /tmp/atcopy
dmesg | grep apicv_trace >"$M/dmesg.apicv_trace"
KADDR='ffff[0-9a-fA-F]{12}|\[<[0-9a-fA-F]{8,}>\]|____ptrval____'
grep -rnoE "$KADDR" "$OUT" $(files) "$D/reasons" "$D/vms" >/tmp/kaddr.hits 2>&1
echo "rc=$?" >>/tmp/kaddr.hits
mv /tmp/kaddr.hits "$M/kaddr.hits"
check misuse_no_kernel_address grep -qx 'rc=1' "$M/kaddr.hits"

# ---- 7. A follow reader that never reads slows nothing, loses nothing
echo "phase 7 $(up)" >>"$M/timing"
rmmod apicv_trace && insmod "$KO" ring_size=65536 stream_size=64 ||
	fail misuse_insmod "ring_size=65536 stream_size=64"
"$F" timeit -- sh -c "$P/kvmdrive flood $KD --toggles 100 >$M/idle.kvmdrive0" >"$M/idle.without" 2>&1
"$F" timeit --hold "$D/follow" -- sh -c "$P/kvmdrive flood $KD --toggles 100 >$M/idle.kvmdrive1" >"$M/idle.with" 2>&1
idle0=$(sed -n 's/^elapsed_ms=\([0-9]*\) rc=0$/\1/p' "$M/idle.without")
idle1=$(sed -n 's/^elapsed_ms=\([0-9]*\) rc=0$/\1/p' "$M/idle.with")
check misuse_idle_follow_time sh -c "[ -n '$idle0' ] && [ -n '$idle1' ] && [ $idle1 -le \$((3 * $idle0 + 3000)) ]"
check misuse_idle_follow_was_behind grep -q '^held_first=lost=[1-9]' "$M/idle.with"
cp "$D/vms" "$M/idle.vms"
cat "$D"/vm/*/state >"$M/idle.states"
check misuse_idle_follow_nothing_lost sh -c "[ \$(grep -c ' events=[1-9][0-9]* lost=0 ' $M/idle.vms) -eq 2 ] && [ \$(grep -c ' lost=0 ' $M/idle.states) -eq 2 ] && grep -q '^events=.* lost=0\$' $D/status"

# ---- 8. hook_target: a missing function costs that hook only ---------
echo "phase 8 $(up)" >>"$M/timing"
# the roles this kernel has no function for (n/a) stay n/a
na=$(sed -n 's/^hook=\([a-z_]*\) .*state=n\/a.*/\1/p' "$M/status.default" | tr '\n' ' ')
echo "$na" >"$M/hooks.na"
# a role's own function, without a .part.N suffix (status shows what armed)
base_of() { sed -n "s/^hook=$1 symbol=\([^ .]*\).*/\1/p" "$M/status.default"; }
setter_base=$(base_of setter)
rmmod apicv_trace
# another function than the role's: refused at load, the host goes on
check misuse_hook_other_function_refused sh -c "! insmod $KO hook_target=setter=kvm_arch_init_vm && dmesg | tail -n 5 | grep -q 'hook_target: setter=kvm_arch_init_vm: only ' && ! grep -q '^apicv_trace ' /proc/modules && $P/kvmdrive basic $KD"
if insmod "$KO" "hook_target=setter=$setter_base.part.9"; then
	ok misuse_hook_setter_loads
	cp "$D/status" "$M/status.nosetter"
	check misuse_hook_setter_status grep -q "^hook=setter symbol=$setter_base.part.9 .*state=absent" "$D/status"
	check misuse_hook_setter_coverage grep -qx 'coverage=partial absent=setter' "$D/status"
	$P/kvmdrive basic $KD >/dev/null 2>&1
	sleep 1
	cp "$D/vms" "$M/vms.nosetter"
	cp "$D/events" "$M/events.nosetter"
	check misuse_hook_setter_vms sh -c "grep -q 'status=exited' $D/vms && grep -q 'event=vm_create' $D/events && grep -q 'event=vm_destroy' $D/events"
	# the command says so: a warning on stderr, exit 0; prom: a 0 gauge
	crun nosetter.list.txt
	crun nosetter.prom.txt prom
	check misuse_hook_setter_cmd_warns sh -c "grep -q 'warning: coverage=partial absent=setter' $MC/nosetter.list.txt.err && grep -qx 'apicv_trace_hooks_complete 0' $MC/nosetter.prom.txt"
	rmmod apicv_trace
else
	fail misuse_hook_setter_loads "insmod hook_target=setter=$setter_base.part.9"
fi
# apic_id and apic_map (where this kernel has them) and lapic_set, on
# clones that do not exist: those absent, inhibits still traced
want=''
targets=''
for r in apic_id apic_map lapic_set; do
	case " $na " in *" $r "*) ;; *)
		want="$want${want:+,}$r"
		targets="$targets${targets:+,}$r=$(base_of $r).part.9" ;;
	esac
done
echo "$want" >"$M/hooks.want"
if insmod "$KO" "hook_target=$targets"; then
	ok misuse_hook_apic_loads
	cp "$D/status" "$M/status.noapic"
	check misuse_hook_apic_coverage grep -qx "coverage=partial absent=$want" "$D/status"
	check misuse_hook_clone_symbol grep -q "^hook=lapic_set symbol=$(base_of lapic_set).part.9 .*state=absent" "$D/status"
	$P/kvmdrive basic $KD >/dev/null 2>&1
	sleep 1
	cp "$D/events" "$M/events.noapic"
	check misuse_hook_apic_inhibits_flow sh -c "grep -q 'event=set ' $D/events && grep -q 'event=clear ' $D/events"
	rmmod apicv_trace
else
	fail misuse_hook_apic_loads "insmod hook_target=$targets"
fi

# ---- 8a. Probation: a hook whose arguments are not its function's --------
# The test build (scripts/buildroot.sh --w1, module/Kbuild AT_TEST_FAULTS)
# with test_fault=layout reads the setter's arguments one register late, as
# from a clone that dropped one: the hook's first call must be refused
# and the hook disarmed, the other hooks go on and so does the host.
if [ -e "$P/apicv_trace-test.ko" ]; then
	if insmod "$P/apicv_trace-test.ko" test_fault=layout; then
		ok misuse_probation_loads
		$P/kvmdrive basic $KD >/dev/null 2>&1
		sleep 1
		cp "$D/status" "$M/status.probation"
		cp "$D/events" "$M/events.probation"
		check misuse_probation_refused grep -q '^hook=setter .* state=refused .*refused=not-a-vm' "$D/status"
		check misuse_probation_coverage grep -qx 'coverage=partial failed=setter' "$D/status"
		check misuse_probation_warned sh -c "dmesg | grep -q 'apicv_trace: setter (.*): its arguments are not what .* takes (not-a-vm): disarmed'"
		check misuse_probation_host_goes_on sh -c "$P/kvmdrive basic $KD && grep -q 'event=vm_create' $D/events && grep -q 'event=vm_destroy' $D/events"
		check misuse_probation_unload rmmod apicv_trace
	else
		fail misuse_probation_loads "insmod apicv_trace-test.ko test_fault=layout"
	fi
fi

# ---- 8b. setter_exit=Y: the setter's return hooked on every kernel ------
# The same flood as phase 4, with the return hooked where the default
# records each setter call at its entry (6.1, 6.12): the same sets and
# clears, and the status says which mode ran.
if insmod "$KO" setter_exit=Y; then
	ok misuse_setter_exit_loads
	cp "$D/status" "$M/status.setter_exit"
	check misuse_setter_exit_status sh -c "grep -q '^hook=setter .*kind=kretprobe state=armed' $D/status && grep -q ' setter=exit mispredicted=0\$' $D/status"
	$P/kvmdrive flood $KD --toggles 100 >"$M/flood.exit" 2>&1
	usleep 500000
	cp "$D/events" "$M/events.setter_exit"
	# 100 rounds of PIT reinject off and on after the PIT's creation set
	# it: 101 sets, and 100 clears (101 if the PIT's release is seen)
	sets=$(grep -c 'event=set reason=PIT_REINJ .*result=changed' "$D/events")
	clears=$(grep -c 'event=clear reason=PIT_REINJ .*result=changed' "$D/events")
	echo "sets=$sets clears=$clears" >"$M/setter_exit.counts"
	check misuse_setter_exit_records sh -c "[ $sets -eq 101 ] && [ $clears -ge 100 ] && [ $clears -le 101 ]"
	rmmod apicv_trace
else
	fail misuse_setter_exit_loads "insmod setter_exit=Y"
fi

# ---- 9. Many opens; kernel lockdown (integrity): reads work, writes refused
echo "phase 9 $(up)" >>"$M/timing"
# Last: after this no unsigned module loads.
# with the setter's own function named explicitly: armed, full coverage
setter=$(sed -n 's/^hook=setter symbol=\([^ ]*\) .*/\1/p' "$M/status.default")
if insmod "$KO" "hook_target=setter=$setter"; then
	check misuse_hook_explicit_armed sh -c "grep -q '^hook=setter symbol=$setter .*state=armed' $D/status && grep -qx coverage=full $D/status"
else
	fail misuse_hook_explicit_armed "insmod hook_target=setter=$setter"
	insmod "$KO" || fail misuse_insmod "before lockdown"
fi
$P/kvmdrive basic $KD >/dev/null 2>&1
sleep 1
LFILES=$(files)
fwd many "$F" manyopen 512 $(files 1) "$D/follow"
shape() { # the keys of each line, values dropped: the content's class
	for f in $LFILES; do
		echo "== ${f#"$D/"}"
		sed 's/=[^ ]*//g' "$f" | sort -u
	done
}
shape >"$M/lockdown.before"
grep -q securityfs /proc/mounts || mount -t securityfs securityfs /sys/kernel/security
cat /sys/kernel/security/lockdown >"$M/lockdown.lsm" 2>&1
if [ -e /sys/kernel/security/lockdown ]; then
	ok misuse_lockdown_lsm
else
	fail misuse_lockdown_lsm "no /sys/kernel/security/lockdown: the lockdown LSM is missing"
fi
echo integrity >/sys/kernel/security/lockdown
check misuse_lockdown_set grep -q '\[integrity\]' /sys/kernel/security/lockdown
shape >"$M/lockdown.after"
check misuse_lockdown_same_class cmp -s "$M/lockdown.before" "$M/lockdown.after"
fwd lockdown_reads "$F" reads-locked $LFILES
fwd lockdown_wropen "$F" writeopen-locked $LFILES "$D/follow"
fwd lockdown_chmod "$F" chmod $LFILES
# (follow shows records from its open on: a VM makes some meanwhile)
check misuse_lockdown_follow sh -c "(sleep 1; $P/kvmdrive basic $KD >/dev/null 2>&1) & p=\$!; timeout 20 head -n 1 $D/follow >$M/lockdown.follow; wait \$p; grep -q '^seq=' $M/lockdown.follow"
check misuse_lockdown_param sh -c "echo 512 >$PARAMS/ring_size && grep -qx 512 $PARAMS/ring_size"
check misuse_lockdown_cmd sh -c "$C >$MC/lockdown.list.txt && $C --json list >$MC/lockdown.list.json && $C prom >$MC/lockdown.prom.txt"
# confidentiality forbids kprobes: with kvm loaded again (its modules are
# signed by the distribution) the hooks stay unarmed, status says why,
# and VMs run untraced; reads and unload still work
echo confidentiality >/sys/kernel/security/lockdown
check misuse_lockdown_conf_set grep -q '\[confidentiality\]' /sys/kernel/security/lockdown
unload_kvm && load_kvm
cp "$D/status" "$M/status.confidentiality"
check misuse_lockdown_conf_unarmed sh -c "grep -Eq '(^| )lockdown=confidentiality( |\$)' $D/status && grep -qx 'coverage=lockdown' $D/status && ! grep -q 'state=armed' $D/status"
check misuse_lockdown_conf_vms_run $P/kvmdrive basic $KD
check misuse_lockdown_unload rmmod apicv_trace
# the lockdown LSM's notices are rate-limited (10 in 5 s): let the
# window pass so that insmod's refusal is logged
sleep 5
# (the debug kernel's module is signed with that kernel's own key and must
# load; a Debian kernel trusts no key the module can be signed with)
if uname -r | grep -q -- '-apicv-debug$'; then
	check misuse_lockdown_insmod_refused sh -c "insmod $KO && rmmod apicv_trace"
else
	check misuse_lockdown_insmod_refused sh -c "! insmod $KO && dmesg | tail -n 5 | grep -qi lockdown"
fi
# every apicv_trace line of the kernel log, for check.py's address scan
dmesg | grep apicv_trace >"$M/dmesg.apicv_trace.end"
echo "end $(up)" >>"$M/timing"
echo $(($(date +%s) - mstart)) >"$M/seconds"
