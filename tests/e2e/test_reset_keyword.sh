#!/bin/bash
# Outbound mail (client 10.97.0.1 / fd97::1 is internal), over IPv4 and IPv6, with the keyword 대외비 in its
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
# what each end receives: the RSTs must reach both
e2e_capture_start client "$NS_C" "$IF_C"
e2e_capture_start server "$NS_S" "$IF_S"

# IPv4: the whole message fits in the segment that ends DATA.  IPv6: some
# 40 KB, the keyword in the first segment; the server has most of the body
# when the last segment is dropped.
printf '안녕하세요,\n이 문서는 대외비 자료입니다. 외부 공유 금지.\n감사합니다.\n' >"$WORK/body4.txt"
{ printf '대외비: 아래 표 참조.\n'; e2e_text_body filler; } >"$WORK/body6.txt"
n=0
for fam in 4 6; do
	n=$((n + 1))
	id=kr$fam-$$ srvaddr=$S4 cl=10\.97\.0\.1
	[ $fam = 6 ] && srvaddr=$S6 cl=fd97::1
	e2e_mail_file "$WORK/$id.eml" "$id" "$WORK/body$fam.txt" "quarterly figures"
	rc=0
	e2e_swaks_file "$WORK/$id.swaks" "$WORK/$id.eml" --server "$srvaddr" || rc=$?
	[ "$rc" != 0 ] || { e2e_show "$WORK/$id.swaks"; fail "IPv$fam: swaks succeeded: the mail was not stopped"; }
	grep -q "queued as" "$WORK/$id.swaks" && fail "IPv$fam: the server answered 'queued as' to the blocked mail"
	grep -q "closed connection unexpectedly" "$WORK/$id.swaks" ||
		{ e2e_show "$WORK/$id.swaks"; fail "IPv$fam: swaks output does not show the connection cut"; }
	e2e_assert_not_queued "$id" "$cl"
	say "IPv$fam $(stat -c %s "$WORK/$id.eml") bytes: swaks exit $rc ($(grep -m1 closed "$WORK/$id.swaks" | tr -s ' ')); Postfix: $(grep -Eo "lost connection after DATA [^)]*\)" "$WORK/maillog" | tail -n1), nothing queued"

	e2e_stats
	rst=$(e2e_queue_stat rst_sent) resets=$(e2e_stat stats app.resets)
	[ "$rst" -ge $((2 * n)) ] || fail "IPv$fam: postern sent $rst RSTs in all (two per reset expected)"
	[ "$resets" = $n ] || fail "IPv$fam: postern counted $resets resets, $n expected"
	say "postern: rst_sent=$rst app.resets=$resets dropped=$(e2e_queue_stat dropped)"
done

# Burst: postern is stopped (SIGSTOP) while the client sends the second half
# of a 37 KB keyword mail, so it reads the waiting data segments and the one
# that completes the mail in one batch; the RST to the server must not
# overtake the segments accepted before it (the server would take it for an
# out-of-order RST, answer with a challenge ACK and wait for the rest).
id=krb-$$
{ printf '대외비\n'; e2e_text_body burst; } >"$WORK/burst.txt"
e2e_mail_file "$WORK/$id.eml" "$id" "$WORK/burst.txt"
cli python3 "$E2E_DIR/smtp_slow.py" "$S4" "$WORK/$id.eml" "$WORK/ready" "$WORK/go" >"$WORK/$id.out" 2>&1 &
slow=$!
e2e_wait 30 test -e "$WORK/ready" || fail "burst: the session did not reach the middle of DATA"
kill -STOP "$POSTERN_PID"
touch "$WORK/go"
sleep 0.5
kill -CONT "$POSTERN_PID"
rc=0
wait "$slow" || rc=$?
[ "$rc" = 3 ] || [ "$rc" = 4 ] || { cat "$WORK/$id.out" >&2; fail "burst: the client was not cut (exit $rc)"; }
e2e_assert_not_queued "$id" "10\.97\.0\.1" 2
say "burst: client $(cat "$WORK/$id.out"); Postfix: $(grep -Eo "lost connection after DATA [^)]*\)" "$WORK/maillog" | tail -n1), nothing queued"

e2e_capture_stop_all
for fam in 4 6; do
	c=$C4 s=$S4
	[ $fam = 6 ] && c=$C6 s=$S6
	to_client=$(e2e_rst_from client "$s.25")
	[ "$to_client" -ge 1 ] || fail "IPv$fam: the client received no RST from $s.25"
	# from the client address, any port
	to_server=$(tcpdump -r "$WORK/server.pcap" -n 2>/dev/null | grep -E " $c\.[0-9]+ > $s\.25:" | grep -c 'Flags \[R')
	[ "$to_server" -ge 1 ] || fail "IPv$fam: the server received no RST from $c"
	say "IPv$fam: RSTs seen at the client $to_client, at the server $to_server"
done
# postern's RST must reach the server after every segment accepted before it
e2e_check_rst_order server
say "RST order at the server: no data after the first RST on any reset connection"

# the bridge still carries mail
ok=after-$$
e2e_mail_file "$WORK/$ok.eml" "$ok"
e2e_swaks_file "$WORK/$ok.swaks" "$WORK/$ok.eml" || { e2e_show "$WORK/$ok.swaks"; fail "clean mail after the reset failed"; }
e2e_wait_delivered "$ok" || fail "clean mail after the reset not delivered"
e2e_postern_stop
# the transaction event of a reset mail is written when its flow ends: the
# flow saw no FIN (the RSTs came from postern), so at the latest at exit
for id in kr4-$$ kr6-$$ krb-$$; do
	e2e_wait_event "$id" reset kr-confidential >/dev/null || fail "no reset event naming kr-confidential for $id"
done
e2e_wait_event "$ok" accept >/dev/null || fail "no accept event for $ok"
say "events: kr4, kr6, krb reset (kr-confidential), $ok accept"
e2e_pass
