#!/bin/bash
# packaging/test-rules.sh: check the Prometheus alerting rules and run their
# unit tests (promtool check rules, promtool test rules).  promtool comes
# from Debian's prometheus package via tests/cmd/promtool.sh (extracted into
# the cache, nothing installed).  Exit 0 when both pass.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
promtool=$("$here/../tests/cmd/promtool.sh" --path)
cd "$here/prometheus"
"$promtool" check rules apicv-trace.rules.yml
"$promtool" test rules apicv-trace.rules.test.yml
