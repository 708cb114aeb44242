#!/usr/bin/env bash
# Usage: scripts/check.sh [LINE...]   (what `make check` runs, LINEs = the Makefile's
#                                      KERNELS; default: $KERNELS, else every
#                                      kernels.conf line)
#
# Everything the project promises, on every Debian kernel line, from a fresh
# Debian machine.  Steps, in order, each printed with its time, its output in
# $APICV_CACHE/check/STEP.log:
#   setup           host packages: qemu, dkms, sparse, debootstrap... (setup-host.sh --packages)
#   ring            the lockless ring in userspace: threads, TSan, ASan+UBSan
#   reason-fmt      module/reason_fmt.h in userspace, plain and ASan+UBSan
#                   (make -C tests/compat check)
#   cmd             the apicv-trace command: parse tests, cli_test.py on the
#                   plain and the ASan+UBSan build (make -C tests/cmd check);
#                   promtool first (tests/cmd/promtool.sh: Debian's
#                   prometheus .deb unpacked into the cache): no promtool,
#                   the step fails
#   rules           the Prometheus alerting rules: promtool check rules and
#                   their unit tests (packaging/test-rules.sh)
#   then for each LINE:
#   kernel-LINE     the line's Debian kernel (fetch-kernel.sh; a build-only
#                   line: its linux-headers-KVER only)
#   buildroot-LINE  a debootstrap root of the line's release with the kernel's
#                   own gcc, linux-headers-KVER, dkms and sparse (buildroot.sh)
#   dkms-LINE       dkms add + build in that root: the .ko that e2e-LINE loads
#   w1-sparse-LINE  make W=1 C=1 in that root: any diagnostic fails, and so
#                   does a circle of calls between module/'s files
#                   (scripts/call-graph.py on the objects)
#   e2e-LINE        the QEMU end-to-end suite on the kernel (e2e.sh), results
#                   in $APICV_CACHE/results/LINE
#   stress-LINE     the stress test in its short form (stress.sh --short: VMs
#                   churned by several processes while every file is read,
#                   module and kvm reloads, exact per-VM accounting against
#                   the tracepoint, a ring flood), results in $APICV_CACHE/stress/LINE
#                   A build-only line (HEADERS buildonly in kernels.conf: the
#                   PREEMPT_RT flavours 6.1-rt 6.12-rt 7.2-rt 7.3-rt, whose KVM
#                   does not load under QEMU TCG) runs kernel, buildroot, dkms
#                   and w1-sparse only, w1-sparse also failing if the module
#                   takes a sleeping spinlock_t (rt_spin_lock, buildroot.sh exit
#                   7); it has no e2e or stress step (none is counted).
#   dkms-refuses    once, after the dkms step of the first LINE whose release's
#                   dkms knows BUILD_EXCLUSIVE_CONFIG (bullseye's 2.8.4 does not):
#                   dkms.conf refuses kernels without kprobes, kretprobes, debugfs, KVM
#   deb-build       once, after the lines: `make deb` (scripts/deb.sh build) in
#                   the first release root the lines built (bullseye's, the
#                   oldest glibc, when 5.10 is among them), lintian clean
#   deb-install-ROOT  in every release root the lines built: the packages
#                   installed with apt, DKMS builds the module for each
#                   kernel there, the command runs, purge leaves nothing
#                   (scripts/deb.sh install-test ROOT)
#   bench-smoke     once, after the lines: `make bench` in its short form
#                   (scripts/bench.sh --smoke, one 6.1 boot): every figure must
#                   be produced; no timing is asserted
# A step that cannot run because one it needs failed counts as failed; the
# other lines go on.  Ends with a per-line table and "check: N passed, M
# failed"; exit 0 only if nothing failed, 2 on a usage error (unknown LINE).
# CHECK_STEPS="KIND..." runs only those kinds (setup ring reason-fmt cmd rules
# kernel buildroot dkms w1-sparse dkms-refuses e2e stress deb bench-smoke; default all) -- for
# timing runs only.
# APICV_E2E_TIMEOUT: seconds per e2e QEMU boot (default here 420).
set -uo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,60s/^# \{0,1\}//p' "$0" >&2; exit 2; }
top=$(cd "$SCRIPTS_DIR/.." && pwd)
all_kinds="setup ring reason-fmt cmd rules kernel buildroot dkms w1-sparse dkms-refuses e2e stress deb bench-smoke"
[[ ${1:-} == -* ]] && usage
lines=("$@")
if ((${#lines[@]} == 0)); then
	if [[ -n ${KERNELS:-} ]]; then
		read -ra lines <<<"$KERNELS"
	else
		mapfile -t lines < <(awk '!/^#/ && NF && $5 != "todo" && $5 != "debug" { print $1 }' "$KERNELS_CONF")
	fi
fi
known=" $(kline_list | tr '\n' ' ') "
for l in "${lines[@]}"; do
	if [[ $known != *" $l "* ]]; then
		log "ERROR: unknown kernel line '$l' (KERNELS=\"${lines[*]}\"); lines in $KERNELS_CONF: $(kline_list | xargs)"
		exit 2
	fi
done
((${#lines[@]})) || { log "ERROR: no kernel line given"; exit 2; }
kinds=${CHECK_STEPS:-$all_kinds}
for k in $kinds; do
	[[ " $all_kinds " == *" $k "* ]] || { log "ERROR: unknown step kind '$k' in CHECK_STEPS (have: $all_kinds)"; exit 2; }
done
want() { [[ " $kinds " == *" $1 "* ]]; }

# Each QEMU boot of the e2e takes 10-140 s here (TCG; 5.10's avic1 the
# longest); a guest that hangs is stopped after 420 s, its tasks shown 21 s
# before (qemu-run.sh's watchdog), so that 5 lines x 2 boots stay well inside
# CI's 90 min.
export APICV_E2E_TIMEOUT=${APICV_E2E_TIMEOUT:-420}
logs=$APICV_CACHE/check
mkdir -p "$logs"
# One check at a time per cache: the roots, logs and results are shared.
exec 8>"$APICV_CACHE/.check.lock"
if ! flock -n 8; then
	log "another check.sh is using $APICV_CACHE: waiting"
	flock 8
fi
rm -rf "$logs"/*.log "$logs"/*.out "$logs/ko"

passed=0 failed=0 failures=() t_start=$SECONDS
declare -A secs=() state=()

step() { # step NAME CMD...: run CMD, output in $logs/NAME.log (stdout also in NAME.out)
	local name=$1 t0=$SECONDS rc
	shift
	log "== $name"
	{ "$@" | tee "$logs/$name.out"; } >"$logs/$name.log" 2>&1
	rc=$?
	secs[$name]=$((SECONDS - t0))
	if ((rc == 0)); then
		passed=$((passed + 1)) state[$name]=ok
		log "ok   $name (${secs[$name]}s)"
	else
		failed=$((failed + 1)) state[$name]=FAIL
		failures+=("$name")
		step_failure_log "$logs/$name.log"
		log "FAIL $name (exit $rc, ${secs[$name]}s): $logs/$name.log"
	fi
	return $rc
}

not_run() { # not_run NAME WHY: a step that could not run counts as failed
	failed=$((failed + 1)) state[$1]="FAIL(not run)"
	failures+=("$1 (not run: $2)")
	log "FAIL $1: not run: $2"
}

# ran_ok NAME: the step passed, or was not asked for (CHECK_STEPS).
ran_ok() { [[ ${state[$1]:-skipped} == ok || ${state[$1]:-skipped} == skipped ]]; }

if want setup && ! step setup "$SCRIPTS_DIR/setup-host.sh" --packages; then
	echo "check: $passed passed, $failed failed"
	exit 1
fi
want ring && step ring make -C "$top/tests/ring" check
want reason-fmt && step reason-fmt make -C "$top/tests/compat" check
# promtool must be there (cli_test.py fails without it too): provide it
# first, and fail the step if that fails
cmd_check() { "$top/tests/cmd/promtool.sh" --path && make -C "$top/tests/cmd" check; }
want cmd && step cmd cmd_check
want rules && step rules "$top/packaging/test-rules.sh"

refuses_done=0
deb_roots=()	# release roots the lines built, in order, each once
for line in "${lines[@]}"; do
	kline_load "$line"
	root=$APICV_CACHE/roots/${KL_SUITES%%,*}
	boots=1
	if ! kline_boots "$line"; then
		boots=0
		want e2e || want stress && log "NOTE: $line is build-only (kernels.conf): no e2e-$line, no stress-$line"
	fi
	want kernel && step "kernel-$line" "$SCRIPTS_DIR/fetch-kernel.sh" "$line"
	if want buildroot; then
		if ran_ok "kernel-$line"; then
			step "buildroot-$line" "$SCRIPTS_DIR/buildroot.sh" "$line"
		else
			not_run "buildroot-$line" "kernel-$line failed"
		fi
	fi
	if ran_ok "buildroot-$line" && [[ -e $root/.apicv/complete && " ${deb_roots[*]} " != *" ${root##*/} "* ]]; then
		deb_roots+=("${root##*/}")
	fi
	ko=''
	if want dkms; then
		if ! ran_ok "kernel-$line" || ! ran_ok "buildroot-$line"; then
			not_run "dkms-$line" "no build root"
		elif step "dkms-$line" "$SCRIPTS_DIR/buildroot.sh" "$line" --dkms-build "$top"; then
			# A copy: another build in the same root must not change what e2e loads.
			src=$(tail -n 1 "$logs/dkms-$line.out")
			mkdir -p "$logs/ko/$line"
			ko=$logs/ko/$line/${src##*/}
			cp "$src" "$ko" || ko=''
		fi
	fi
	if want dkms-refuses && ((!refuses_done)) && ran_ok "kernel-$line" && ran_ok "buildroot-$line" &&
		grep -qs BUILD_EXCLUSIVE_CONFIG "$root/usr/sbin/dkms"; then
		refuses_done=1
		step dkms-refuses "$SCRIPTS_DIR/buildroot.sh" "$line" --dkms-refuses "$top"
	fi
	if want w1-sparse; then
		if ! ran_ok "kernel-$line" || ! ran_ok "buildroot-$line"; then
			not_run "w1-sparse-$line" "no build root"
		else
			step "w1-sparse-$line" "$SCRIPTS_DIR/buildroot.sh" "$line" --w1 "$top"
		fi
	fi
	if want e2e && ((boots)); then
		if [[ -n $ko ]]; then
			step "e2e-$line" "$SCRIPTS_DIR/e2e.sh" -k "$line" -m "$ko" -o "$APICV_CACHE/results/$line"
			grep -h 'e2e: compared\|e2e: [0-9]* passed' "$logs/e2e-$line.log" >&2
		elif ! want dkms; then
			step "e2e-$line" "$SCRIPTS_DIR/e2e.sh" -k "$line" -o "$APICV_CACHE/results/$line"
		else
			not_run "e2e-$line" "no module (dkms-$line failed)"
		fi
	fi
	if want stress && ((boots)); then
		if [[ -n $ko ]]; then
			step "stress-$line" "$SCRIPTS_DIR/stress.sh" -k "$line" -m "$ko" --short -o "$APICV_CACHE/stress/$line"
			grep -h 'stress: [0-9]* passed' "$logs/stress-$line.log" >&2
		elif ! want dkms; then
			step "stress-$line" "$SCRIPTS_DIR/stress.sh" -k "$line" --short -o "$APICV_CACHE/stress/$line"
		else
			not_run "stress-$line" "no module (dkms-$line failed)"
		fi
	fi
done
if want deb; then
	if ((${#deb_roots[@]} == 0)); then
		not_run deb-build "no release root was built"
	elif step deb-build "$SCRIPTS_DIR/deb.sh" build "${deb_roots[0]}"; then
		for r in "${deb_roots[@]}"; do
			step "deb-install-$r" "$SCRIPTS_DIR/deb.sh" install-test "$r"
		done
	else
		for r in "${deb_roots[@]}"; do not_run "deb-install-$r" "deb-build failed"; done
	fi
fi
want bench-smoke && step bench-smoke "$SCRIPTS_DIR/bench.sh" --smoke
if want dkms-refuses && ((!refuses_done)); then
	log "NOTE: dkms-refuses not run: no root of ${lines[*]} has a dkms with BUILD_EXCLUSIVE_CONFIG (or none was built)"
fi

# ---- summary ------------------------------------------------------------------
sum_secs() { local n t=0; for n; do t=$((t + ${secs[$n]:-0})); done; echo "$t"; }
cc_short() { # LINE KVER: the compiler that built the .ko (or the kernel's)
	local c
	c=$(sed -n 's/.*compiled by: GCC: (Debian \([^)]*\)).*/gcc \1/p' "$logs/dkms-$1.log" 2>/dev/null | head -n1)
	if [[ -z $c ]]; then
		c=$(find -L "$(kline_dir "$1")/root" \( -path "*/boot/config-$2" -o -path "*/modules/$2/config" \
			-o -path "*/usr/src/linux-headers-$2/.config" \) -print -quit 2>/dev/null)
		[[ -n $c ]] && c=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$c" | sed -E 's/^(x86_64-linux-gnu-)?(gcc-[0-9]+).*\) ([0-9.]+).*/\2 \3/')
	fi
	echo "${c:--}"
}
{
	echo
	printf '%-7s %-25s %-24s %6s %6s %6s %6s  %s\n' line kver gcc prep_s build_s e2e_s stress steps
	for line in "${lines[@]}"; do
		kver=$(cat "$(kline_dir "$line")/kver" 2>/dev/null) || kver=-
		st=''
		for k in kernel buildroot dkms w1-sparse e2e stress; do
			[[ -n ${state[$k-$line]:-} ]] && st+="$k:${state[$k-$line]} "
		done
		kline_boots "$line" || st+="(build-only: no e2e/stress) "
		printf '%-7s %-25s %-24s %6s %6s %6s %6s  %s\n' "$line" "$kver" "$(cc_short "$line" "$kver")" \
			"$(sum_secs "kernel-$line" "buildroot-$line")" \
			"$(sum_secs "dkms-$line" "w1-sparse-$line")" "${secs[e2e-$line]:--}" "${secs[stress-$line]:--}" "$st"
		[[ -f $logs/e2e-$line.log ]] && grep -h 'e2e: compared\|e2e: [0-9]* passed' "$logs/e2e-$line.log" | sed 's/^/      /'
		[[ -f $logs/stress-$line.log ]] && grep -h 'stress: [0-9]* passed' "$logs/stress-$line.log" | sed 's/^/      /'
	done
	[[ -n ${state[dkms-refuses]:-} ]] && echo "dkms-refuses: ${state[dkms-refuses]} (${secs[dkms-refuses]}s)"
	for k in rules deb-build "${deb_roots[@]/#/deb-install-}"; do
		[[ -n ${state[$k]:-} ]] && echo "$k: ${state[$k]} (${secs[$k]}s)"
	done
	echo "total $((SECONDS - t_start))s; logs in $logs, e2e results in $APICV_CACHE/results/LINE"
	((failed)) && echo "failed: ${failures[*]}"
} >&2
echo "check: $passed passed, $failed failed"
((failed == 0))
