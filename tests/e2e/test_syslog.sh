#!/bin/bash
# RFC 5424 alert over UDP to a real rsyslogd (tests/syslog/rsyslog.sh, run in
# the bridge namespace next to postern): a clean mail sends none, the mail
# reset for the keyword 대외비 sends one, with the verdict fields in the
# structured data.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init "$@"
[ -x "${RSYSLOGD:-/usr/sbin/rsyslogd}" ] || skip "rsyslogd not installed (Debian package rsyslog)"
e2e_up
UDP=5514 TCP=5515
RSYSLOG_DIR=$WORK/rsyslog
brns "$RSYSLOG_SH" start "$RSYSLOG_DIR" $UDP $TCP "$RSYSLOG_DIR/sock" || fail "rsyslog.sh start"
e2e_postfix_start
e2e_bridge_install
e2e_config $UDP
e2e_postern_start
say "topology, rsyslogd, postfix, postern up"
log=$RSYSLOG_DIR/received.log

ok=clean-$$
e2e_mail_file "$WORK/$ok.eml" "$ok"
e2e_swaks_file "$WORK/$ok.swaks" "$WORK/$ok.eml" || { e2e_show "$WORK/$ok.swaks"; fail "clean mail failed"; }
e2e_wait_delivered "$ok" || fail "clean mail not delivered"

id=kr-$$
printf '이 문서는 대외비 자료입니다.\n' >"$WORK/body.txt"
e2e_mail_file "$WORK/$id.eml" "$id" "$WORK/body.txt" "board minutes"
e2e_swaks_file "$WORK/$id.swaks" "$WORK/$id.eml" && fail "the keyword mail was not stopped"
late=""
pid=$POSTERN_PID
if ! e2e_wait_log "$log" 'verdict="reset"' 20; then
	# tell "never sent" from "sent late": stop postern, which ends its flows
	e2e_postern_stop
	e2e_wait_log "$log" 'verdict="reset"' 10 || fail "no reset alert reached rsyslogd, not even when postern stopped"
	late="the alert reached rsyslogd only when postern stopped (more than 20 s after the reset)"
	say "LATE: $late"
fi
sleep 1   # anything else postern would send (it should not) arrives too
say "alert received: $(cut -c1-200 "$log" | head -n 1)"

n=$(grep -c . "$log")
[ "$n" = 1 ] || { cat "$log" >&2; fail "$n messages received, 1 expected (the clean mail must not alert)"; }
# received.log: PRI|TIMESTAMP|HOSTNAME|APP-NAME|PROCID|MSGID|STRUCTURED-DATA|MSG
python3 - "$log" "$pid" <<'PY' || fail "alert fields wrong (above)"
import sys
line = open(sys.argv[1], encoding="utf-8").read().rstrip("\n")
pri, ts, host, app, procid, msgid, rest = line.split("|", 6)
sd, msg = rest.rsplit("|", 1)
want = {
    "PRI": (pri, "132"),            # local0 (16) * 8 + warning (4)
    "APP-NAME": (app, "postern"),
    "PROCID": (procid, sys.argv[2]),
    "MSGID": (msgid, "verdict"),
}
bad = [f"{k}={got!r}, want {exp!r}" for k, (got, exp) in want.items() if got != exp]
for p in ['[postern@32473 ', 'verdict="reset"', 'direction="outbound"', 'client="10.97.0.1"',
          'server="10.97.0.2"', 'mail_from="alice@client.e2e.test"', 'rcpt="bob@e2e.test"',
          'subject="board minutes"', 'reasons="kr-confidential"']:
    if p not in sd:
        bad.append(f"structured data lacks {p}")
if "kr-confidential" not in msg or "reset" not in msg:
    bad.append(f"MSG {msg!r} lacks the verdict or the rule")
if not ts.startswith("20"):
    bad.append(f"TIMESTAMP {ts!r}")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
say "fields: PRI 132, APP-NAME postern, PROCID, MSGID verdict, SD verdict/direction/client/server/mail_from/rcpt/subject/reasons"
e2e_postern_stop
[ -z "$late" ] || fail "$late"
e2e_pass
