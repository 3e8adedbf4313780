#!/bin/bash
# STARTTLS session (Postfix with a self-signed certificate, swaks --tls): the
# mail is delivered intact, and postern stops queueing the connection once
# TLS starts (nothing left to inspect): it sets the bypass bits, the bridge
# rules save them into the connection mark, and the rest of the session
# never reaches the queue.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
perl -MNet::SSLeay -e1 2>/dev/null || skip "swaks --tls needs Net::SSLeay (Debian package libnet-ssleay-perl)"
e2e_up
e2e_postfix_start tls
e2e_bridge_install
e2e_postern_start
say "topology, postfix (TLS), postern up"

id=tls-$$
# about 300 KB: some 200 segments, which would all be queued without the bypass
for i in 1 2 3 4 5 6 7 8; do e2e_text_body "part $i"; done >"$WORK/big.txt"
e2e_mail_file "$WORK/$id.eml" "$id" "$WORK/big.txt"
e2e_swaks_file "$WORK/$id.swaks" "$WORK/$id.eml" --tls ||
	{ e2e_show "$WORK/$id.swaks"; fail "swaks --tls failed"; }
grep -q "TLS started" "$WORK/$id.swaks" || fail "swaks did not start TLS"
e2e_wait_delivered "$id" || fail "TLS mail $id not delivered within 30 s"
e2e_body_compare "$WORK/$id.eml" "$id"
e2e_wait_log "$WORK/maillog" "disconnect from .*10\.97\.0\.1.* starttls=1 " 10 || fail "Postfix logged no STARTTLS in the session"
say "delivered over TLS, $(stat -c %s "$WORK/$id.eml") bytes identical"

e2e_stats
marked=$(e2e_queue_stat marked) recv=$(e2e_queue_stat received)
bypassed=$(e2e_stat stats app.bypassed) starttls=$(e2e_stat stats app.smtp_starttls)
[ "$starttls" -ge 1 ] || fail "postern did not see STARTTLS (app.smtp_starttls=$starttls)"
[ "$bypassed" -ge 1 ] || fail "postern bypassed no connection (app.bypassed=$bypassed)"
[ "$marked" -ge 1 ] || fail "no verdict carried the bypass mark (queue marked=$marked)"
[ "$recv" -lt 60 ] || fail "the queues received $recv packets: the TLS part was not bypassed"
# the connection mark, as the kernel holds it (conntrack tool or procfs)
if command -v conntrack >/dev/null; then
	brns conntrack -L -p tcp --dport 25 2>/dev/null >"$WORK/conntrack.txt"
elif [ -r /proc/net/nf_conntrack ]; then
	brns cat /proc/net/nf_conntrack >"$WORK/conntrack.txt"
fi
if [ -s "$WORK/conntrack.txt" ]; then
	python3 - "$WORK/conntrack.txt" <<'PY' || fail "no connection to port 25 carries the bypass bit 0x10000000 in its mark"
import re, sys
for line in open(sys.argv[1]):
    m = re.search(r"\bmark=(\d+)", line)
    if "dport=25 " in line and m and int(m.group(1)) & 0x10000000:
        sys.exit(0)
sys.exit(1)
PY
	ctinfo="connmark has 0x10000000"
else
	ctinfo="conntrack table not readable here"
fi
say "postern: starttls=$starttls bypassed=$bypassed marked=$marked, queues received $recv packets; $ctinfo"
e2e_postern_stop
e2e_pass
