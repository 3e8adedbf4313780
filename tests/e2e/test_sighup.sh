#!/bin/bash
# SIGHUP (policy reload) again and again while 20 mails go through one after
# the other: every mail is delivered intact, postern reloaded several times,
# judged every mail (accept) and keeps running; the reloaded policy still
# resets a mail with the keyword 대외비.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
e2e_up
e2e_postfix_start
e2e_bridge_install
e2e_postern_start
say "topology, postfix, postern up"

N=20
for i in $(seq 1 $N); do e2e_mail_file "$WORK/m$i.eml" "hup$i-$$"; done
(
	for i in $(seq 1 $N); do
		e2e_swaks_file "$WORK/m$i.swaks" "$WORK/m$i.eml"
		echo "$i $?" >>"$WORK/swaks.rc"
	done
) &
stream=$!
hups=0
while kill -0 "$stream" 2>/dev/null; do
	kill -HUP "$POSTERN_PID" || fail "postern is gone"
	hups=$((hups + 1))
	[ "$hups" -lt 2400 ] || fail "the stream of $N mails did not end"
	sleep 0.05
done
wait "$stream"
bad=$(awk '$2 != 0' "$WORK/swaks.rc")
[ -z "$bad" ] || fail "swaks failed for mails (number status): $bad"
[ "$(wc -l <"$WORK/swaks.rc")" = $N ] || fail "not every swaks ran"
say "$N mails sent, $hups SIGHUPs during the stream"
for i in $(seq 1 $N); do
	e2e_wait_delivered "hup$i-$$" || fail "mail $i not delivered"
	e2e_body_compare "$WORK/m$i.eml" "hup$i-$$"
done
kill -0 "$POSTERN_PID" || fail "postern died"
e2e_wait_log "$WORK/postern.log" "reloaded" 10 || fail "postern logged no reload"
reloads=$(grep -c "reloaded" "$WORK/postern.log")
[ "$reloads" -ge 3 ] || fail "only $reloads reloads for $hups SIGHUPs"
grep -q "reload.*failed\|not taken" "$WORK/postern.log" && fail "a reload failed: $(grep -m1 'failed\|not taken' "$WORK/postern.log")"
# the policy after all those reloads still enforces
kr=kr-$$
printf '이 문서는 대외비 자료입니다.\n' >"$WORK/kr.txt"
e2e_mail_file "$WORK/$kr.eml" "$kr" "$WORK/kr.txt"
e2e_swaks_file "$WORK/$kr.swaks" "$WORK/$kr.eml" && fail "the keyword mail passed after the reloads"
grep -q "closed connection unexpectedly" "$WORK/$kr.swaks" || fail "the keyword mail was not cut after the reloads"
e2e_postern_stop
e2e_wait_event "$kr" reset kr-confidential >/dev/null || fail "no reset event for the keyword mail"
for i in $(seq 1 $N); do
	e2e_wait_event "hup$i-$$" accept >/dev/null || fail "no accept event for mail $i"
done
say "all $N delivered byte for byte and judged accept; postern logged $reloads reloads; keyword mail reset after them"
e2e_pass
