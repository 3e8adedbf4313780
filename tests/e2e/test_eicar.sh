#!/bin/bash
# Mail with the EICAR test file attached under a name whose extension is not
# blocked (so only the virus scan can stop it): ClamAV with the test policy's
# signatures finds Postern.Test.EICAR, the verdict is reset, the client's
# connection is cut, nothing is queued or delivered.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
e2e_up
e2e_postfix_start
e2e_bridge_install
e2e_postern_start
say "topology, postfix, postern up"
e2e_capture_start server "$NS_S" "$IF_S"

printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$WORK/eicar.dat"
[ "$(md5sum <"$WORK/eicar.dat" | cut -c1-32)" = 44d88612fea8a8f36de82e1278abb02f ] ||
	fail "EICAR test file written wrongly"

id=eicar-$$
# some 37 KB of text before the attachment: many segments precede the one
# that completes the mail
e2e_text_body "$id" >"$WORK/body.txt"
rc=0
e2e_swaks "$WORK/$id.swaks" --header "Message-Id: <$id@e2e.test>" --header "Subject: report" \
	--body "@$WORK/body.txt" --attach-type application/octet-stream \
	--attach-name report.dat --attach "@$WORK/eicar.dat" || rc=$?
[ "$rc" != 0 ] || { e2e_show "$WORK/$id.swaks"; fail "swaks succeeded: the EICAR mail was not stopped"; }
grep -q "queued as" "$WORK/$id.swaks" && fail "the server answered 'queued as' to the EICAR mail"
grep -q "closed connection unexpectedly" "$WORK/$id.swaks" ||
	{ e2e_show "$WORK/$id.swaks"; fail "swaks output does not show the connection cut"; }
say "swaks: exit $rc, $(grep -i 'closed' "$WORK/$id.swaks" | head -n1 | tr -s ' ')"

e2e_assert_not_queued "$id" "10\.97\.0\.1"
e2e_capture_stop_all
[ "$(tcpdump -r "$WORK/server.pcap" -n 2>/dev/null | grep -E ' 10\.97\.0\.1\.[0-9]+ > 10\.97\.0\.2\.25:' | grep -c 'Flags \[R')" -ge 1 ] ||
	fail "the server received no RST"
e2e_check_rst_order server
say "not queued, not delivered; the server got the RST after all accepted data"

e2e_stats
rst=$(e2e_queue_stat rst_sent) resets=$(e2e_stat stats app.resets)
[ "$rst" -ge 2 ] || fail "postern sent $rst RSTs (one to each end expected)"
[ "$resets" = 1 ] || fail "postern counted $resets resets, 1 expected"
e2e_postern_stop
reasons=$(python3 "$E2E_DIR/event_has.py" "$WORK/events.jsonl" "<$id@e2e.test>" reset virus) ||
	fail "no reset event with reason virus for $id"
grep -q 'Postern.Test.EICAR' "$WORK/events.jsonl" || fail "the event does not name the signature"
case ",${reasons#* }," in *,blocked_extension,*) fail "blocked_extension fired for report.dat" ;; esac
say "postern: rst_sent=$rst, event: $reasons (Postern.Test.EICAR)"
e2e_pass
