# Shared by the capture scripts (make_smtp_captures.sh, make_content_captures.sh):
# two network namespaces joined by a veth pair, a private Postfix instance in
# the server namespace, tcpdump in the client namespace.  Source it; it runs
# nothing by itself.
#
# The caller sets, before calling the functions:
#   NS_C, NS_S   client and server namespace names
#   IF_C, IF_S   the veth ends (IF_C in NS_C, IF_S in NS_S)
#   ADDRS_C, ADDRS_S  arrays of addresses with prefix for IF_C / IF_S
#                (IPv6 ones get nodad: usable at once)
#   S4           server IPv4 address Postfix listens on (port 25)
#   OUT          directory the finished pcaps are copied to
# and gets from netns_begin: WORK (temporary directory, removed on exit),
# and from postfix_config: CONF (the instance's config directory).
#
#   netns_require TOOL...  exit unless root and every TOOL is on PATH
#   netns_begin PREFIX     install the cleanup trap, remove namespaces left by
#                          a run killed hard, create WORK=/tmp/PREFIX.XXXXXX
#   netns_setup            create the namespaces and veth pair, add the
#                          addresses, turn offloads off, bring links up
#   postfix_config         CONF with a master.cf without chroot and a main.cf
#                          holding the settings every instance shares; the
#                          caller appends its own (cat >>"$CONF/main.cf")
#   postfix_start          check the config, start Postfix, wait for S4:25
#   start_capture NAME     tcpdump on IF_C (tcp port 25) into WORK/NAME.pcap
#   stop_capture NAME      stop it and copy the pcap to OUT/NAME.pcap
#   cli CMD...             run CMD in the client namespace
#   cleanup                (the trap) stop tcpdump and Postfix, kill whatever
#                          still runs in the namespaces, delete them and WORK

WORK=""
TCPDUMP_PID=""
PF_STARTED=0

netns_require() {
	local t
	[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
	done
}

kill_namespaces() {
	local ns p
	for ns in "$NS_S" "$NS_C"; do
		if ip netns list | grep -qw "$ns"; then
			# Anything still running in our namespaces was started by this script.
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
			ip netns del "$ns"
		fi
	done
}

cleanup() {
	set +e
	if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
	if [ "$PF_STARTED" = 1 ]; then ip netns exec "$NS_S" postfix -c "$WORK/conf" stop >/dev/null 2>&1; sleep 1; fi
	kill_namespaces
	[ -n "$WORK" ] && rm -rf "$WORK"
}

netns_begin() { # PREFIX
	trap cleanup EXIT INT TERM
	kill_namespaces   # left behind by a run that was killed hard
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$WORK"
}

netns_addr() { # NS DEV ADDR/PREFIX
	if [[ $3 == *:* ]]; then
		ip -n "$1" addr add "$3" dev "$2" nodad
	else
		ip -n "$1" addr add "$3" dev "$2"
	fi
}

netns_setup() {
	local ns a
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_S" netns "$NS_S"
	for ns in "$NS_C" "$NS_S"; do ip -n "$ns" link set lo up; done
	for a in "${ADDRS_C[@]}"; do netns_addr "$NS_C" "$IF_C" "$a"; done
	for a in "${ADDRS_S[@]}"; do netns_addr "$NS_S" "$IF_S" "$a"; done
	# Real-wire packets: no segmentation offload (MSS-sized segments instead of
	# 64 KB super-packets) and checksums computed in software (so they are valid
	# in the capture).
	ip netns exec "$NS_C" ethtool -K "$IF_C" tx off tso off gso off gro off >/dev/null
	ip netns exec "$NS_S" ethtool -K "$IF_S" tx off tso off gso off gro off >/dev/null
	ip -n "$NS_C" link set "$IF_C" gso_max_segs 1
	ip -n "$NS_S" link set "$IF_S" gso_max_segs 1
	ip -n "$NS_C" link set "$IF_C" up
	ip -n "$NS_S" link set "$IF_S" up
}

postfix_config() {
	CONF=$WORK/conf
	mkdir -p "$CONF" "$WORK/queue" "$WORK/data"
	chown postfix:postfix "$WORK/data"
	# No chroot: the private instance has no chroot tree.
	awk 'BEGIN{OFS="  "} /^[a-z]/ && NF>=8 && $5=="y" {$5="n"} {print}' /etc/postfix/master.cf >"$CONF/master.cf"
	# Its own queue, data and log under WORK; delivers nothing (discard); no
	# DNS, no VRFY.
	cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/queue
data_directory = $WORK/data
maillog_file = $WORK/maillog
maillog_file_prefixes = $WORK
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
message_size_limit = 10240000
EOF
}

postfix_start() {
	ip netns exec "$NS_S" postfix -c "$CONF" check || { script -qc "ip netns exec $NS_S postfix -c $CONF check" /dev/null >&2; exit 1; }
	ip netns exec "$NS_S" postfix -c "$CONF" start >/dev/null
	PF_STARTED=1
	for _ in $(seq 50); do
		ip netns exec "$NS_S" ss -ltn | grep -q "$S4:25" && break
		sleep 0.2
	done
	ip netns exec "$NS_S" ss -ltn | grep -q "$S4:25" || { echo "postfix did not start" >&2; cat "$WORK/maillog" >&2; exit 1; }
}

start_capture() { # NAME
	rm -f "$WORK/tcpdump.err"
	ip netns exec "$NS_C" tcpdump -i "$IF_C" -s 0 -U --immediate-mode -n -w "$WORK/$1.pcap" 'tcp port 25' 2>"$WORK/tcpdump.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.err" 2>/dev/null && return 0; sleep 0.1; done
	echo "tcpdump did not start" >&2; cat "$WORK/tcpdump.err" >&2; exit 1
}

stop_capture() { # NAME
	sleep 0.5   # the last ACK / FIN packets
	kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
	TCPDUMP_PID=""
	cp "$WORK/$1.pcap" "$OUT/$1.pcap"
	echo "$1.pcap: $(grep -o '[0-9]* packets captured' "$WORK/tcpdump.err"), $(stat -c %s "$OUT/$1.pcap") bytes"
}

cli() { ip netns exec "$NS_C" "$@"; }
