#!/bin/bash
# Webmail control through the bridge: a real Roundcube 1.6 (Debian's, php -S,
# with Dovecot and the test's Postfix; tests/webmail/roundcube_lib.sh) in the
# server namespace answers as mail.allowed.test and mail.denied.test; the
# client namespace drives it as a browser does
# (tests/webmail/roundcube_client.py).  postern's webmail config allows the
# first and denies the second with a redirect to a block page.
#   allowed: login, mailbox list, compose, send to/cc/bcc: confirmed by
#            Roundcube, delivered to all three, and postern wrote an
#            http_request event (host, webmail kind send, product Roundcube,
#            to, subject) with verdict accept;
#   denied:  login and mailbox list work (HTTP 200s), the send is answered by
#            postern with HTTP/1.1 302 and Location: the block page, nothing
#            is delivered, and the event has verdict redirect and service
#            {verdict denied, name denied-webmail}.
# postern stops cleanly on SIGTERM.
set -u
. "$(dirname "$0")/lib.sh"
. "$SRC_ROOT/tests/webmail/roundcube_lib.sh"
CLIENT=$SRC_ROOT/tests/webmail/roundcube_client.py
FIND=$SRC_ROOT/tests/webmail/maildir_find.py
EVENT=$SRC_ROOT/tests/webmail/webmail_event.py
BLOCK_PAGE=http://block.e2e.test/blocked

e2e_init "$@"
rc_require >&2 || skip "Roundcube, Dovecot or php missing (tools/debian-packages.txt)"
e2e_up
e2e_postfix_start
rc_server_start "$NS_S" "$S4" "$S4" || fail "the Roundcube server did not start"
e2e_bridge_install
e2e_config
cat >>"$WORK/postern.conf" <<EOF
webmail = {
  signatures = "$SRC_ROOT/etc/webmail";
  block_page = "$BLOCK_PAGE";
  services = (
    { name = "denied-webmail"; domains = ["mail.denied.test"]; list = "deny"; action = "redirect"; },
    { name = "approved-webmail"; domains = ["mail.allowed.test"]; list = "allow"; }
  );
};
EOF
e2e_postern_start
say "topology, postfix, dovecot, roundcube, postern up"

printf 'Hello Bob,\n\nthe minutes of the meeting are below.\n1. budget approved\n2. next meeting on Friday\n\nAlice\n' >"$WORK/body.txt"

# webmail_send NAME HOST SUBJECT: the client's send as alice to bob, cc carol,
# bcc dave; its exit status (0 sent, 3 redirected), output in WORK/NAME.*
webmail_send() {
	cli timeout 60 python3 "$CLIENT" -v --server "$S4" --host "$2" \
		--user "$RC_USER" --password "$RC_PASS" \
		--to bob@e2e.test --cc carol@e2e.test --bcc dave@e2e.test \
		--subject "$3" --body-file "$WORK/body.txt" \
		--response-out "$WORK/$1.head" >"$WORK/$1.out" 2>"$WORK/$1.err"
}
show() { cat "$WORK/$1.out" "$WORK/$1.err" >&2; }
event_wait() { e2e_wait 20 python3 "$EVENT" -q "$WORK/events.jsonl" "$@"; }
event_show() { python3 "$EVENT" "$WORK/events.jsonl" "$@" >&2; }

# --- allowed: sent, delivered, accept event ------------------------------------
subj="e2e webmail allowed $$"
webmail_send allowed mail.allowed.test "$subj"
rc=$?
[ $rc = 0 ] || { show allowed; fail "mail.allowed.test: the send failed (client exit $rc)"; }
grep -q 'login and mailbox list: ok' "$WORK/allowed.out" || { show allowed; fail "mail.allowed.test: no login"; }
e2e_wait 30 sh -c "[ \$(python3 '$FIND' '$MAILDIR' '$subj' | wc -l) -ge 3 ]" ||
	{ python3 "$FIND" "$MAILDIR" "$subj" >&2; fail "mail.allowed.test: the mail was not delivered to bob, carol and dave"; }
say "allowed: Roundcube confirmed the send, delivered to 3 recipients"
args=(--host mail.allowed.test --kind send --product Roundcube --to bob@e2e.test --subject "$subj" --verdict accept)
event_wait "${args[@]}" || { event_show "${args[@]}"; fail "mail.allowed.test: no http_request event (webmail send, Roundcube, to, subject) with verdict accept"; }
say "allowed: postern's event: webmail send by Roundcube, verdict accept"

# --- denied: browsing works, the send is redirected and not delivered ----------
subj="e2e webmail denied $$"
webmail_send denied mail.denied.test "$subj"
rc=$?
grep -q 'login and mailbox list: ok' "$WORK/denied.out" ||
	{ show denied; fail "mail.denied.test: login and mailbox list did not work (they must pass)"; }
if ! grep -Eq ' -> 200 ' "$WORK/denied.err" || grep -E '^GET .* -> ' "$WORK/denied.err" | grep -vqE ' -> (200|302) '; then
	show denied; fail "mail.denied.test: browsing was not answered with HTTP 200s"
fi
say "denied: login and mailbox list answered (HTTP 200)"
[ $rc = 3 ] || { show denied; fail "mail.denied.test: the send was not redirected (client exit $rc; 0 = Roundcube sent it)"; }
grep -q '^HTTP/1.1 302' "$WORK/denied.head" || { cat "$WORK/denied.head" >&2; fail "mail.denied.test: the send's answer is not HTTP/1.1 302"; }
grep -qi "^Location: $BLOCK_PAGE\s*\$" "$WORK/denied.head" ||
	{ cat "$WORK/denied.head" >&2; fail "mail.denied.test: no Location: $BLOCK_PAGE"; }
say "denied: the send was answered: $(head -n 1 "$WORK/denied.head" | tr -d '\r'), $(grep -i '^Location:' "$WORK/denied.head" | tr -d '\r')"
args=(--host mail.denied.test --kind send --product Roundcube --to bob@e2e.test --verdict redirect
	--service-verdict denied --service-name denied-webmail)
event_wait "${args[@]}" || { event_show "${args[@]}"; fail "mail.denied.test: no http_request event (webmail send) with verdict redirect and service denied/denied-webmail"; }
say "denied: postern's event: webmail send, verdict redirect, service denied-webmail"
sleep 5
if python3 "$FIND" "$MAILDIR" "$subj" >&2; then
	fail "mail.denied.test: the mail was delivered although postern redirected the send"
fi
say "denied: nothing delivered after 5 s"
# php -S logs every request it answered ("[date] ADDR:PORT [STATUS]: METHOD URL"):
# the redirected send never reached Roundcube, the allowed one did
for w in allowed denied; do
	url=$(sed -n 's/^POST \(\/?_task=mail&_unlock=[^ ]*\) -> .*/\1/p' "$WORK/$w.err" | tail -n 1)
	[ -n "$url" ] || { show $w; fail "$w: no send request in the client's log"; }
	n=$(grep -cF "]: POST $url" "$RC_DIR/php-server.log")
	want=1; [ $w = denied ] && want=0
	[ "$n" = "$want" ] || { tail -n 20 "$RC_DIR/php-server.log" >&2; fail "$w: Roundcube answered the send $n times (want $want)"; }
done
say "Roundcube's server log: the allowed send answered, the denied one never arrived"

rc_server_stop
e2e_postern_stop
e2e_pass
