#!/bin/bash
# Outbound mail (client 10.97.0.1 is internal) with the keyword 대외비 in its
# body: postern holds the packet that completes DATA, judges reset
# (rule kr-confidential), drops it and resets both ends.  The client sees the
# connection reset instead of a 250, Postfix never queues the message, the
# Maildir stays without it.  A clean mail right after still goes through.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
e2e_up
e2e_postfix_start
e2e_bridge_install
e2e_postern_start
say "topology, postfix, postern up"

id=kr-$$
printf '안녕하세요,\n이 문서는 대외비 자료입니다. 외부 공유 금지.\n감사합니다.\n' >"$WORK/body.txt"
e2e_mail_file "$WORK/$id.eml" "$id" "$WORK/body.txt" "quarterly figures"
rc=0
e2e_swaks_file "$WORK/$id.swaks" "$WORK/$id.eml" || rc=$?
[ "$rc" != 0 ] || { cat "$WORK/$id.swaks" >&2; fail "swaks succeeded: the mail was not stopped"; }
grep -q "queued as" "$WORK/$id.swaks" && fail "the server answered 'queued as' to the blocked mail"
grep -q "closed connection unexpectedly" "$WORK/$id.swaks" ||
	{ cat "$WORK/$id.swaks" >&2; fail "swaks output does not show the connection cut"; }
say "swaks: exit $rc, $(grep -Ei 'reset|closed' "$WORK/$id.swaks" | head -n1 | tr -s ' ')"

# Postfix saw the connection end in DATA and queued nothing for it
e2e_wait_log "$WORK/maillog" "lost connection after DATA .*10\.97\.0\.1" 20 ||
	fail "Postfix did not log 'lost connection after DATA'"
sleep 1
grep -q "message-id=<$id@e2e.test>" "$WORK/maillog" && fail "Postfix queued the blocked message"
[ -z "$(e2e_delivered_file "$id")" ] || fail "the blocked message was delivered"
say "not queued, not delivered; maillog: $(grep -Eo 'lost connection after DATA[^[]*' "$WORK/maillog" | tail -n1)"

e2e_stats
rst=$(e2e_queue_stat rst_sent) resets=$(e2e_stat stats app.resets)
[ "$rst" -ge 2 ] || fail "postern sent $rst RSTs (one to each end expected)"
[ "$resets" = 1 ] || fail "postern counted $resets resets, 1 expected"
say "postern: rst_sent=$rst app.resets=$resets dropped=$(e2e_queue_stat dropped)"

# the bridge still carries mail
ok=after-$$
e2e_mail_file "$WORK/$ok.eml" "$ok"
e2e_swaks_file "$WORK/$ok.swaks" "$WORK/$ok.eml" || { cat "$WORK/$ok.swaks" >&2; fail "clean mail after the reset failed"; }
e2e_wait_delivered "$ok" || fail "clean mail after the reset not delivered"
e2e_postern_stop
# the transaction event of a reset mail is written when its flow ends: the
# flow saw no FIN (the RSTs came from postern), so at the latest at exit
e2e_wait_event "$id" reset kr-confidential >/dev/null || fail "no reset event naming kr-confidential for $id"
e2e_wait_event "$ok" accept >/dev/null || fail "no accept event for $ok"
say "events: $id reset (kr-confidential), $ok accept"
e2e_pass
