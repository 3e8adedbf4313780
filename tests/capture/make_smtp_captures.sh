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

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

WORK=""
TCPDUMP_PID=""
PF_STARTED=0

cleanup() {
	set +e
	if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
	if [ "$PF_STARTED" = 1 ]; then ip netns exec $NS_S postfix -c "$WORK/conf" stop >/dev/null 2>&1; sleep 1; fi
	# Anything still running in our namespaces was started by this script.
	for ns in $NS_S $NS_C; do
		if ip netns list | grep -qw "$ns"; then
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
			ip netns del "$ns"
		fi
	done
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# A previous run that was killed hard may have left our namespaces behind.
for ns in $NS_S $NS_C; do
	if ip netns list | grep -qw "$ns"; then
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
		ip netns del "$ns"
	fi
done

WORK=$(mktemp -d /tmp/pst-capture.XXXXXX)
chmod 755 "$WORK"

# --- network -----------------------------------------------------------------
ip netns add $NS_C
ip netns add $NS_S
ip link add $IF_C netns $NS_C type veth peer name $IF_S netns $NS_S
for ns in $NS_C $NS_S; do ip -n $ns link set lo up; done
ip -n $NS_C addr add $C4/24 dev $IF_C
ip -n $NS_S addr add $S4/24 dev $IF_S
ip -n $NS_C addr add $C6/64 dev $IF_C nodad
ip -n $NS_S addr add $S6/64 dev $IF_S nodad
# Real-wire packets: no segmentation offload (MSS-sized segments instead of
# 64 KB super-packets) and checksums computed in software (so they are valid
# in the capture).
ip netns exec $NS_C ethtool -K $IF_C tx off tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec $NS_S ethtool -K $IF_S tx off tso off gso off gro off >/dev/null 2>&1 || true
ip -n $NS_C link set $IF_C gso_max_segs 1
ip -n $NS_S link set $IF_S gso_max_segs 1
ip -n $NS_C link set $IF_C up
ip -n $NS_S link set $IF_S up

# --- TLS certificate (self-signed, made now) ------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.pst.test" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
chmod 600 "$WORK/key.pem"

# --- Postfix instance ------------------------------------------------------------
CONF=$WORK/conf
mkdir -p "$CONF" "$WORK/queue" "$WORK/data"
chown postfix:postfix "$WORK/data"
# No chroot: the private instance has no chroot tree.
awk 'BEGIN{OFS="  "} /^[a-z]/ && NF>=8 && $5=="y" {$5="n"} {print}' /etc/postfix/master.cf >"$CONF/master.cf"
cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/queue
data_directory = $WORK/data
maillog_file = $WORK/maillog
maillog_file_prefixes = $WORK
myhostname = mx.pst.test
mydomain = pst.test
myorigin = pst.test
mydestination = pst.test, mx.pst.test
inet_interfaces = $S4, [$S6]
inet_protocols = all
mynetworks = 10.99.0.0/24, [fd99::]/64, 127.0.0.0/8
# Relay is refused even for mynetworks: the "rejected recipient" case needs it.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
local_recipient_maps =
local_transport = discard:
default_transport = discard:
alias_maps =
alias_database =
smtpd_banner = \$myhostname ESMTP
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
disable_vrfy_command = yes
smtpd_tls_security_level = may
smtpd_tls_cert_file = $WORK/cert.pem
smtpd_tls_key_file = $WORK/key.pem
smtpd_tls_loglevel = 0
message_size_limit = 10240000
EOF
ip netns exec $NS_S postfix -c "$CONF" check || { script -qc "ip netns exec $NS_S postfix -c $CONF check" /dev/null >&2; exit 1; }
ip netns exec $NS_S postfix -c "$CONF" start >/dev/null
PF_STARTED=1
for _ in $(seq 50); do
	ip netns exec $NS_S ss -ltn | grep -q "$S4:25" && break
	sleep 0.2
done
ip netns exec $NS_S ss -ltn | grep -q "$S4:25" || { echo "postfix did not start" >&2; cat "$WORK/maillog" >&2; exit 1; }

# --- capture helpers ----------------------------------------------------------
start_capture() { # name
	rm -f "$WORK/tcpdump.err"
	ip netns exec $NS_C tcpdump -i $IF_C -s 0 -U --immediate-mode -n -w "$WORK/$1.pcap" 'tcp port 25' 2>"$WORK/tcpdump.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.err" 2>/dev/null && return 0; sleep 0.1; done
	echo "tcpdump did not start" >&2; cat "$WORK/tcpdump.err" >&2; exit 1
}
stop_capture() { # name
	sleep 0.5   # the last ACK / FIN packets
	kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=""
	cp "$WORK/$1.pcap" "$OUT/$1.pcap"
	echo "$1.pcap: $(tail -n +1 "$WORK/tcpdump.err" | grep -o '[0-9]* packets captured')"
}
cli() { ip netns exec $NS_C "$@"; }

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
