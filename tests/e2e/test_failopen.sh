#!/bin/bash
# postern killed with SIGKILL in the middle of a session: the bridge rules
# stay, NFQUEUE has no listener and --queue-bypass lets the packets through
# (fail-open).  The interrupted session completes and the next mails are
# delivered, uninspected.  A new postern then binds the same queues and
# enforces again.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
e2e_up
e2e_postfix_start
e2e_bridge_install
e2e_postern_start
say "topology, postfix, postern up"

id=mid-$$
e2e_mail_file "$WORK/$id.eml" "$id"
cli python3 "$E2E_DIR/smtp_slow.py" "$S4" "$WORK/$id.eml" "$WORK/ready" "$WORK/go" >"$WORK/$id.out" 2>&1 &
slow=$!
e2e_wait 30 test -e "$WORK/ready" || fail "the slow session did not reach the middle of DATA"
# postern saw the session so far (its packets went through the queue)
q0=$(brns iptables -t filter -L POSTERN -n -v -x | awk '/NFQUEUE/ {print $1; exit}')
[ "${q0:-0}" -gt 0 ] || fail "no packet of the session went through NFQUEUE"
kill -KILL "$POSTERN_PID"
wait "$POSTERN_PID" 2>/dev/null
POSTERN_PID=""
say "postern killed (SIGKILL) in the middle of DATA, $q0 packets queued so far"
brns "$BRIDGE_TOOL" status --bridge br0 >/dev/null || fail "the bridge rules went away with postern"
touch "$WORK/go"
wait "$slow" || { e2e_show "$WORK/$id.out"; fail "the interrupted session failed after postern died"; }
e2e_wait_delivered "$id" || fail "interrupted mail $id not delivered"
e2e_body_compare "$WORK/$id.eml" "$id"
say "interrupted session completed: $(cat "$WORK/$id.out")"

for i in 1 2 3; do
	id=next$i-$$
	e2e_mail_file "$WORK/$id.eml" "$id"
	e2e_swaks_file "$WORK/$id.swaks" "$WORK/$id.eml" ||
		{ e2e_show "$WORK/$id.swaks"; fail "mail $i after postern died failed"; }
	e2e_wait_delivered "$id" || fail "mail $id not delivered after postern died"
	e2e_body_compare "$WORK/$id.eml" "$id"
done
# still matched by the NFQUEUE rule, passed by --queue-bypass
q1=$(brns iptables -t filter -L POSTERN -n -v -x | awk '/NFQUEUE/ {print $1; exit}')
[ "$q1" -gt "$q0" ] || fail "the later packets did not hit the NFQUEUE rule ($q0 -> $q1): fail-open not exercised"
say "3 more mails delivered with no postern; NFQUEUE rule packets $q0 -> $q1"

e2e_postern_start
kr=kr-$$
printf '이 문서는 대외비 자료입니다.\n' >"$WORK/kr.txt"
e2e_mail_file "$WORK/$kr.eml" "$kr" "$WORK/kr.txt"
e2e_swaks_file "$WORK/$kr.swaks" "$WORK/$kr.eml" && fail "the restarted postern let the keyword mail through"
e2e_assert_not_queued "$kr" "10\.97\.0\.1"
e2e_postern_stop
e2e_wait_event "$kr" reset kr-confidential >/dev/null || fail "no reset event from the restarted postern"
say "restarted postern binds the queues again and resets the keyword mail"
e2e_pass
