#!/bin/bash
# Clean mail through the bridge with postern inspecting: delivered, and the
# stored message is byte for byte what the client sent (after the headers
# Postfix puts in front); once over IPv4, once over IPv6.  postern judged
# both (accept) and stops cleanly on SIGTERM.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
e2e_up
e2e_postfix_start
e2e_bridge_install
e2e_postern_start
say "topology, postfix, postern up"

for fam in 4 6; do
	id=clean$fam-$$
	e2e_mail_file "$WORK/$id.eml" "$id"
	srvaddr=$S4; [ $fam = 6 ] && srvaddr=$S6
	e2e_swaks_file "$WORK/$id.swaks" "$WORK/$id.eml" --server "$srvaddr" ||
		{ e2e_show "$WORK/$id.swaks"; fail "swaks (IPv$fam) failed"; }
	e2e_wait_delivered "$id" || fail "IPv$fam mail $id not delivered within 30 s"
	e2e_body_compare "$WORK/$id.eml" "$id"
	e2e_wait_event "$id" accept >/dev/null || fail "no accept event from postern for $id"
	say "IPv$fam: delivered, $(stat -c %s "$WORK/$id.eml") bytes identical, postern: accept"
done

e2e_stats
recv=$(e2e_queue_stat received)
[ "$recv" -gt 0 ] || fail "postern's queues received no packet: the mail did not go through NFQUEUE"
say "queues received $recv packets"
e2e_postern_stop
e2e_pass
