#!/bin/bash
# Produce SMTP captures with real software: Postfix (server) and swaks / Python
# smtplib / a raw-socket client, talking across a veth pair between two network
# namespaces that this script creates and removes.  tcpdump runs in the client
# namespace and writes one pcap per scenario.
#
#   sudo tests/capture/make_smtp_captures.sh [OUTDIR]     (default: tests/pcaps/made)
#
# Traffic never leaves the two namespaces: 10.99.0.1/24 <-> 10.99.0.2/24 and
# fd99::1/64 <-> fd99::2/64 exist only on the veth pair inside them.  The Postfix
# instance is standalone (`postfix -c DIR`) with its own config, queue and data
# directories under a temporary directory, so the system instance is untouched.
# Everything is removed on exit (trap).  Running it again replaces the pcaps.
#
# Needs: root, iproute2, ethtool, tcpdump, postfix, swaks, openssl, python3.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../pcaps/made}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=/usr/bin/python3

NS_C=pst-cli
NS_S=pst-srv
IF_C=pst-c
IF_S=pst-s
C4=10.99.0.1 S4=10.99.0.2 C6=fd99::1 S6=fd99::2
ADDRS_C=("$C4/24" "$C6/64")
ADDRS_S=("$S4/24" "$S6/64")

. "$HERE/netns_lib.sh"
netns_require ip ethtool tcpdump postfix swaks openssl $PY
netns_begin pst-capture
netns_setup

# --- TLS certificate (self-signed, made now) ------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.pst.test" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
chmod 600 "$WORK/key.pem"

# --- Postfix instance ------------------------------------------------------------
postfix_config
cat >>"$CONF/main.cf" <<EOF
myhostname = mx.pst.test
mydomain = pst.test
myorigin = pst.test
mydestination = pst.test, mx.pst.test
inet_interfaces = $S4, [$S6]
inet_protocols = all
mynetworks = 10.99.0.0/24, [fd99::]/64, 127.0.0.0/8
# Relay is refused even for mynetworks: the "rejected recipient" case needs it.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/cert.pem
smtpd_tls_key_file = $WORK/key.pem
smtpd_tls_loglevel = 0
EOF
postfix_start

SWAKS_COMMON=(--helo client.pst.test --from alice@client.pst.test
	--header "Date: Mon, 01 Jan 2024 10:00:00 +0000" --header "X-Mailer: swaks")

# (a) a plain mail
start_capture made_plain
cli swaks -s $S4 "${SWAKS_COMMON[@]}" --to bob@pst.test \
	--header "Subject: plain test mail" --header "Message-Id: <plain-1@client.pst.test>" \
	--body $'Hello Bob,\r\nthis is a plain test mail.\r\n-- \r\nAlice' >"$WORK/swaks.log"
stop_capture made_plain

# (b) PIPELINING with several RCPTs
start_capture made_pipelining_3rcpt
cli swaks -s $S4 "${SWAKS_COMMON[@]}" --pipeline --to bob@pst.test,carol@pst.test,dave@pst.test \
	--header "Subject: pipelined, three recipients" --header "Message-Id: <pipe-1@client.pst.test>" \
	--body "One message for three recipients, envelope sent with PIPELINING." >"$WORK/swaks.log"
grep -q '^<\*\* ' "$WORK/swaks.log" && { echo "swaks error in pipelining case" >&2; exit 1; }
stop_capture made_pipelining_3rcpt

# (c) three transactions in one session
start_capture made_three_transactions
cli $PY "$HERE/smtp_clients.py" three $S4
stop_capture made_three_transactions

# (d) dot-stuffed lines
start_capture made_dot_stuffing
cli $PY "$HERE/smtp_clients.py" dots $S4
stop_capture made_dot_stuffing

# (e) ~2 MB message
start_capture made_2mb_message
cli $PY "$HERE/smtp_clients.py" big $S4
stop_capture made_2mb_message

# (f) BDAT / CHUNKING
start_capture made_bdat_chunks
cli $PY "$HERE/smtp_clients.py" bdat $S4
stop_capture made_bdat_chunks

# (g) IPv6
start_capture made_ipv6
cli $PY "$HERE/smtp_clients.py" ipv6 $S6
stop_capture made_ipv6

# (h) rejected relay recipients, RSET, then an accepted mail
start_capture made_rejected_rcpt_rset
cli $PY "$HERE/smtp_clients.py" reject $S4
stop_capture made_rejected_rcpt_rset

# (i) STARTTLS (everything after "220 Ready to start TLS" is encrypted)
start_capture made_starttls
cli swaks -s $S4 "${SWAKS_COMMON[@]}" --tls --to bob@pst.test \
	--header "Subject: sent under STARTTLS" --header "Message-Id: <tls-1@client.pst.test>" \
	--body "This text is inside TLS and must not be visible to a passive parser." >"$WORK/swaks.log"
grep -q 'STARTTLS' "$WORK/swaks.log" || { echo "swaks did not use STARTTLS" >&2; exit 1; }
stop_capture made_starttls

sleep 1
echo "postfix log:"
grep -E 'status=|reject:' "$WORK/maillog" | sed 's/^[A-Z][a-z]* [ 0-9]* [0-9:]* //' || true
