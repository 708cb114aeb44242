#!/bin/bash
# promtool.sh [ARGS...]: run Prometheus' promtool, providing it if needed.
#
# promtool ships in Debian's `prometheus` package, which also brings a
# server and its service: we do not install it. The .deb is fetched with
# `apt-get download` through the machine's own apt sources (no install,
# nothing changed on the system) and promtool is extracted with dpkg-deb -x
# into the cache, /var/cache/apicv-trace/promtool (APICV_CACHE overrides the
# parent). If the machine's apt has no `prometheus`, a private apt
# configuration (bookworm main, same pattern as scripts/lib.sh papt) is
# used instead. A promtool already on PATH is used as it is.
#
#   tests/cmd/promtool.sh --path          print the promtool path only
#   tests/cmd/promtool.sh check metrics   (reads stdin)
set -euo pipefail

CACHE=${APICV_CACHE:-/var/cache/apicv-trace}/promtool
BIN=$CACHE/root/usr/bin/promtool

log() { echo "promtool.sh: $*" >&2; }

provide() {
	if command -v promtool >/dev/null 2>&1; then
		command -v promtool
		return
	fi
	if [[ -x $BIN ]]; then
		echo "$BIN"
		return
	fi
	mkdir -p "$CACHE/debs"
	rm -f "$CACHE"/debs/prometheus_*.deb
	if ! apt-cache show prometheus >/dev/null 2>&1; then
		log "apt-get update (machine's apt, lists only)"
		apt-get -q update >&2 || true
	fi
	if apt-cache show prometheus >/dev/null 2>&1; then
		log "fetching prometheus .deb with the machine's apt (apt-get download)"
		(cd "$CACHE/debs" && apt-get -q download prometheus >&2)
	else
		local d=$CACHE/apt
		log "machine's apt has no prometheus: private apt config in $d"
		mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
		[[ -e $d/status ]] || : >"$d/status"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" >"$d/sources.list"
		local o=(-oDir::Etc::SourceList="$d/sources.list" -oDir::Etc::SourceParts=/dev/null
			-oDir::Etc::Preferences=/dev/null -oDir::Etc::PreferencesParts=/dev/null
			-oDir::State::Lists="$d/lists" -oDir::State::Status="$d/status"
			-oDir::Cache="$d/cache" -oAPT::Sandbox::User=root -oAcquire::Languages=none)
		apt-get -q "${o[@]}" update >&2
		(cd "$CACHE/debs" && apt-get -q "${o[@]}" download prometheus >&2)
	fi
	local deb
	deb=$(ls "$CACHE"/debs/prometheus_*.deb | head -n1)
	rm -rf "$CACHE/root.new"
	dpkg-deb -x "$deb" "$CACHE/root.new"
	[[ -x $CACHE/root.new/usr/bin/promtool ]] || { log "no usr/bin/promtool in $deb"; exit 1; }
	# keep promtool only (the server binary is large and unused)
	find "$CACHE/root.new" -type f ! -path '*/usr/bin/promtool' -delete
	rm -rf "$CACHE/root"
	mv "$CACHE/root.new" "$CACHE/root"
	rm -f "$CACHE"/debs/prometheus_*.deb
	log "promtool: $BIN ($("$BIN" --version 2>&1 | head -n1))"
	echo "$BIN"
}

p=$(provide)
if [[ ${1:-} == --path ]]; then
	echo "$p"
	exit 0
fi
exec "$p" "$@"
