#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One open of events copies at most 65536 records, the newest, and says
# what it left out (capped=N vm=KEY), guest side. Sourced by
# tests/e2e/guest.sh, which then calls snapshot_cap with apicv_trace freshly
# loaded with ring_size=65536 and kvm loaded; uses its P, OUT, D, PARAMS,
# KD and ok/fail/up. Checked on the host by cap_checks.py.
#
# The cap is what one open may allocate (65536 records: 8 MiB, the largest
# ring_size, so a VM's own file is never capped), not a parameter: the
# test reaches it with real records, as few as it takes. A snapshot is
# sized by the records kept, not by the rings' capacity, so it takes more
# than 65536 records in all: two VMs (kvmdrive blockflood, one VM each)
# toggle BLOCKIRQ 18000 times, two records a toggle, about 72000 records;
# each VM keeps all of its own (its ring holds 65536), so none is lost and
# the host can tell exactly which records events had to leave out. Under
# TCG that is a few seconds of ioctls and a few of reading the files.
CAP_MAX=65536

snapshot_cap() {
	CD=$OUT/cap
	mkdir -p "$CD"
	up >"$CD/start"
	if [ "$(cat "$PARAMS/ring_size")" != 65536 ] || grep -q . "$D/vms"; then
		fail cap_setup "needs a fresh load with ring_size=65536, has ring_size=$(cat "$PARAMS/ring_size") and $(grep -c . "$D/vms") VMs"
		return 0
	fi
	ok cap_setup
	# the kernel log's lines from here on are looked at, not kept whole
	# (the boot's own lines hold addresses the results must not)
	dmesg | grep -c . >"$CD/dmesg.lines" 2>&1
	cap_total=0
	cap_round=0
	while [ "$cap_total" -le $((CAP_MAX + 4096)) ] && [ "$cap_round" -lt 4 ]; do
		cap_round=$((cap_round + 1))
		$P/kvmdrive blockflood --toggles 18000 >"$CD/kvmdrive.$cap_round" 2>&1 ||
			fail cap_kvmdrive "round $cap_round: exit $?"
		cap_total=0
		for n in $(sed -n 's/.* events=\([0-9]*\) .*/\1/p' "$D/vms"); do
			cap_total=$((cap_total + n))
		done
	done
	echo "$cap_total" >"$CD/total"
	up >"$CD/made"
	if [ "$cap_total" -gt $CAP_MAX ]; then
		ok cap_records_made
	else
		fail cap_records_made "$cap_total records in $cap_round VMs, not more than $CAP_MAX"
	fi
	# The VMs have exited: nothing changes any more, two opens agree.
	# The files are tens of MB: they stay in the guest's /tmp, and what
	# the host checks is derived from them here (counts, md5 sums, the
	# capped= lines), a few hundred bytes.
	CT=/tmp/cap	# not T: guest.sh's tracefs
	rm -rf "$CT"
	mkdir -p "$CT"
	cat "$D/vms" >"$CD/vms"
	cat "$D/events" >"$CT/events"
	up >"$CD/read"
	cat "$D/events" >"$CT/events.again"
	: >"$CD/own"
	for v in "$D"/vm/*; do
		[ -d "$v" ] || continue
		k=${v##*/}
		cat "$v/events" >"$CT/own.$k"
		echo "$k $(grep -c '^seq=' "$CT/own.$k") $(grep -c '^capped=' "$CT/own.$k") $(grep -c '^lost=' "$CT/own.$k")" >>"$CD/own"
	done
	cat "$D/status" >"$CD/status"
	dmesg | tail -n +$(($(cat "$CD/dmesg.lines") + 1)) |
		grep -E 'WARNING:|BUG:|Oops|Call Trace|page allocation failure' |
		sed 's/[0-9a-f]\{12,\}/X/g' >"$CD/dmesg.splats"
	# events: its lines other than records, where they are, its records
	grep -v '^seq=' "$CT/events" >"$CD/events.other"
	awk '/^seq=/ { if (!f) f = NR; n++ } /^capped=/ { c = NR } END { print n + 0, f + 0, c + 0 }' \
		"$CT/events" >"$CD/events.shape"
	# every record the VMs kept, "SEQ<tab>KEY<tab>LINE", by seq
	for f in "$CT"/own.*; do
		awk -v k="${f##*/own.}" '/^seq=/ { split($1, a, "="); print a[2] "\t" k "\t" $0 }' "$f"
	done | sort -n -k1,1 >"$CT/all"
	all=$(grep -c . "$CT/all")
	# the newest CAP_MAX of them, as lines, and the others per VM
	awk -v n=$((all - CAP_MAX)) -F '\t' 'NR > n { print $3 }' "$CT/all" >"$CT/newest"
	awk -v n=$((all - CAP_MAX)) -F '\t' 'NR <= n { c[$2]++ } END { for (k in c) print k, c[k] }' \
		"$CT/all" | sort >"$CD/capped.want"
	sed -n 's/^capped=\([0-9]*\) vm=\([^ ]*\).*/\2 \1/p' "$CT/events" | sort >"$CD/capped.got"
	{
		echo "all $all"
		echo "events $(grep '^seq=' "$CT/events" | md5sum | cut -d' ' -f1)"
		echo "newest $(md5sum <"$CT/newest" | cut -d' ' -f1)"
		echo "again $(md5sum <"$CT/events.again" | cut -d' ' -f1)"
		echo "first $(md5sum <"$CT/events" | cut -d' ' -f1)"
	} >"$CD/sums"
	rm -rf "$CT"
	up >"$CD/end"
	check cap_events_capped grep -q '^capped=' "$CD/events.other"
}
