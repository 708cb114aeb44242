# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest scripts (tests/e2e/guest.sh, tests/stress/stress.sh):
# what differs per kernel line, from uname -r.
#   GEN   5.10, 6.1, 6.12, 7 (7.2 and later) or unknown
#   TP    the tracepoint KVM fires on inhibit changes (5.10: activation
#         flips only)
#   XD    kvmdrive's --expect-disabled where APICv is never on under TCG
#         (5.10: no force_avic), else empty
# shellcheck shell=sh disable=SC2034 # used by the scripts that source it
case $(uname -r) in
5.10.*) GEN=5.10 ;;
6.1.*) GEN=6.1 ;;
6.12.*) GEN=6.12 ;;
7.*) GEN=7 ;;
*) GEN=unknown ;;
esac
if [ "$GEN" = 5.10 ]; then TP=kvm_apicv_update_request; else TP=kvm_apicv_inhibit_changed; fi
XD=''
[ "$GEN" = 5.10 ] && XD=--expect-disabled
