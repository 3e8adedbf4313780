# End-to-end harness for `postern run` on a real Linux bridge.  Source it from
# a test script (bash); it runs nothing by itself.
#
# Topology, three network namespaces per test run (names carry the test's
# pid, so runs never share anything):
#
#   client ns  e2e-c 10.97.0.1/24 fd97::1/64
#       |  veth
#   bridge ns  pc -- br0 -- ps   (no address; br_netfilter; POSTERN chains from
#       |  veth                  tools/postern-bridge; postern run on NFQUEUE)
#   server ns  e2e-s 10.97.0.2/24 fd97::2/64, private Postfix delivering
#              every recipient @e2e.test to one Maildir, WORK/mail/inbox/
#
# Functions (each fails the test with a message on error; every wait has a
# deadline):
#   e2e_init POSTERN_EXE   root check (exit 77 otherwise), names, WORK, trap
#   e2e_up                 namespaces, veths (offloads off), bridge
#   e2e_postfix_start [tls]  Postfix in the server ns (tls: self-signed cert,
#                          STARTTLS offered)
#   e2e_bridge_install     tools/postern-bridge install in the bridge ns
#   e2e_config [SYSLOG_UDP_PORT]  write WORK/postern.conf (content policy with
#                          absolute paths, 10.97.0.1 and fd97::1 internal,
#                          store and RBL off, alerts over UDP when a port is given)
#   e2e_postern_start      postern run in the bridge ns (events WORK/events.jsonl,
#                          stderr WORK/postern.log), waits until it runs
#   e2e_postern_stop       SIGTERM, expects exit status 0 and no verdict,
#                          receive, parse or reset errors in the queue counters
#   e2e_stats              SIGUSR1, waits for the queue_stats lines
#   e2e_mail_file FILE ID [BODYFILE]  write a complete message with
#                          Message-ID <ID@e2e.test> and the body (default: a
#                          generated text with dot lines and UTF-8)
#   e2e_text_body TAG      print that generated text
#   e2e_swaks OUT ARGS...  swaks from the client ns to the server, output in OUT;
#                          returns swaks's exit status
#   e2e_wait_delivered ID [SECONDS]   until a Maildir file holds Message-ID ID
#   e2e_swaks_file OUT FILE ARGS...  the same, sending FILE as the message
#   e2e_delivered_file ID  path of that file
#   e2e_wait_event ID VERDICT [REASON_ID...]  until postern wrote the
#                          smtp_transaction event of ID with that verdict and
#                          reasons (20 s at most)
#   e2e_wait_log FILE REGEX [SECONDS]
#   e2e_assert_not_queued ID CLIENT_RE [NTH]  Postfix lost the session in DATA
#                          and neither queued nor delivered ID
#   e2e_body_compare SENT ID  delivered message from its first own header on
#                          equals SENT (LF line ends), byte for byte
#   e2e_capture_start NAME NS IF / e2e_capture_stop_all / e2e_rst_from NAME SRC
#                          tcpdump port 25 to WORK/NAME.pcap; RSTs sent by SRC
#   e2e_check_rst_order NAME  no client data after the first RST in that capture
#   fail MSG / skip MSG / e2e_pass
#   cli / brns / srv CMD...   run CMD in the client / bridge / server ns

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(cd "$E2E_DIR/../.." && pwd)
POLICY_DIR=$SRC_ROOT/tests/pcaps/content/policy
BRIDGE_TOOL=$SRC_ROOT/tools/postern-bridge
RSYSLOG_SH=$SRC_ROOT/tests/syslog/rsyslog.sh
QUEUES=0-1
NQUEUES=2

C4=10.97.0.1 S4=10.97.0.2 C6=fd97::1 S6=fd97::2
MAILDIR=""
POSTERN=""
POSTERN_PID=""
RSYSLOG_DIR=""
CAPTURE_PIDS=()
T0=$(date +%s%N)

# netns_lib.sh (the capture scripts' helpers): netns_addr, postfix_config,
# postfix_start, cli.  Its netns_begin/cleanup are not used: the trap here
# also covers the bridge namespace, postern and rsyslogd.
# shellcheck source=../capture/netns_lib.sh
. "$SRC_ROOT/tests/capture/netns_lib.sh"

say() {
	local ms=$((($(date +%s%N) - T0) / 1000000))
	printf '[%3d.%02ds] %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$*"
}
fail() {
	echo "FAIL: $*" >&2
	e2e_dump >&2
	exit 1
}
skip() { echo "SKIP: $*"; exit 77; }
e2e_pass() { say "PASS $(basename "$0")"; exit 0; }

brns() { ip netns exec "$NS_B" "$@"; }
srv() { ip netns exec "$NS_S" "$@"; }

# What helps to see why a test failed.
e2e_dump() {
	[ -n "$WORK" ] || return 0
	local f
	for f in postern.log maillog; do
		[ -s "$WORK/$f" ] && { echo "---- $f (last 40 lines)"; tail -n 40 "$WORK/$f"; }
	done
	[ -s "$WORK/events.jsonl" ] && { echo "---- events (last 5, cut)"; tail -n 5 "$WORK/events.jsonl" | cut -c1-600; }
	for f in "$WORK"/*.pcap; do
		[ -s "$f" ] || continue
		echo "---- $(basename "$f") (RSTs, then the last 6 packets; line numbers)"
		tcpdump -r "$f" -n -S 2>/dev/null | cut -c1-150 | cat -n >"$f.txt"
		grep 'Flags \[R' "$f.txt"
		tail -n 6 "$f.txt"
	done
	if [ -n "$NS_B" ] && ip netns list | grep -qw "$NS_B"; then
		echo "---- iptables POSTERN (bridge ns)"
		brns iptables -t filter -L POSTERN -n -v 2>/dev/null | head -n 12
	fi
}

e2e_init() { # POSTERN_EXE
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, iptables, NFQUEUE)"
	local t
	for t in ip iptables ip6tables ethtool stdbuf swaks postfix postconf openssl python3 tcpdump; do
		command -v "$t" >/dev/null || fail "missing tool: $t"
	done
	[ $# -ge 1 ] && [ -x "$1" ] || fail "usage: $0 POSTERN_EXECUTABLE"
	POSTERN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	NS_C=pst-e2e-c-$$ NS_B=pst-e2e-b-$$ NS_S=pst-e2e-s-$$
	IF_C=e2e-c IF_S=e2e-s
	ADDRS_C=("$C4/24" "$C6/64") ADDRS_S=("$S4/24" "$S6/64")
	e2e_sweep
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM
	WORK=$(mktemp -d /tmp/pst-e2e.XXXXXX)
	chmod 755 "$WORK"
	MAILDIR=$WORK/mail/inbox
}

# Namespaces of earlier runs killed too hard to clean up (their pid is gone).
e2e_sweep() {
	local ns pid p
	for ns in $(ip netns list | grep -Eo '^pst-e2e-[cbs]-[0-9]+'); do
		pid=${ns##*-}
		kill -0 "$pid" 2>/dev/null && continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
}

e2e_cleanup() {
	local rc=$?
	set +e
	if [ -n "$POSTERN_PID" ]; then
		kill -TERM "$POSTERN_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$POSTERN_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$POSTERN_PID" 2>/dev/null
		wait "$POSTERN_PID" 2>/dev/null
	fi
	# this script's own background jobs (mail streams, slow clients)
	for p in $(jobs -p); do [ "$p" = "$POSTERN_PID" ] || kill "$p" 2>/dev/null; done
	[ -n "$RSYSLOG_DIR" ] && "$RSYSLOG_SH" stop "$RSYSLOG_DIR"
	for p in "${CAPTURE_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ "$PF_STARTED" = 1 ]; then srv postfix -c "$CONF" stop >/dev/null 2>&1; fi
	local ns p
	for ns in "$NS_C" "$NS_B" "$NS_S"; do
		[ -n "$ns" ] || continue
		if ip netns list | grep -qw "$ns"; then
			# whatever still runs in this run's namespaces was started by it
			for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
			ip netns del "$ns"
		fi
	done
	if [ -n "$WORK" ]; then
		if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "${E2E_KEEP:-}" ]; then
			echo "kept $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

e2e_up() {
	ip netns add "$NS_C" && ip netns add "$NS_B" && ip netns add "$NS_S" || fail "ip netns add"
	ip link add "$IF_C" netns "$NS_C" type veth peer name pc netns "$NS_B" || fail "veth client"
	ip link add "$IF_S" netns "$NS_S" type veth peer name ps netns "$NS_B" || fail "veth server"
	local ns a
	for ns in "$NS_C" "$NS_B" "$NS_S"; do ip -n "$ns" link set lo up; done
	for a in "${ADDRS_C[@]}"; do netns_addr "$NS_C" "$IF_C" "$a"; done
	for a in "${ADDRS_S[@]}"; do netns_addr "$NS_S" "$IF_S" "$a"; done
	# MSS-sized segments on the wire, as between real hosts
	cli ethtool -K "$IF_C" tx off tso off gso off gro off >/dev/null
	srv ethtool -K "$IF_S" tx off tso off gso off gro off >/dev/null
	brns ethtool -K pc tx off tso off gso off gro off >/dev/null
	brns ethtool -K ps tx off tso off gso off gro off >/dev/null
	brns ip link add br0 type bridge stp_state 0 forward_delay 0 || fail "bridge"
	brns ip link set pc master br0
	brns ip link set ps master br0
	brns ip link set pc up
	brns ip link set ps up
	brns ip link set br0 up
	cli ip link set "$IF_C" up
	srv ip link set "$IF_S" up
}

# e2e_wait SECONDS CMD...: run CMD every 0.1 s until it succeeds or time is up.
e2e_wait() {
	local deadline
	deadline=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

e2e_wait_log() { # FILE REGEX [SECONDS]
	e2e_wait "${3:-20}" grep -Eq -- "$2" "$1"
}

e2e_postfix_start() { # [tls]
	postfix_config
	mkdir -p "$WORK/mail"
	chown postfix:postfix "$WORK/mail"
	local pc=(postconf -c "$CONF" -e)
	"${pc[@]}" "inet_interfaces = $S4, [$S6]" "inet_protocols = all" \
		"myhostname = server.e2e.test" "mydestination =" \
		"mynetworks = 127.0.0.0/8, 10.97.0.0/24, [fd97::]/64" \
		"virtual_mailbox_domains = e2e.test" \
		"virtual_mailbox_base = $WORK/mail" \
		"virtual_mailbox_maps = static:inbox/" \
		"virtual_uid_maps = static:$(id -u postfix)" \
		"virtual_gid_maps = static:$(id -g postfix)" \
		"virtual_mailbox_limit = 0" \
		"smtputf8_enable = no" || fail "postconf"
	if [ "${1:-}" = tls ]; then
		mkdir -p "$WORK/tls"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=server.e2e.test" \
			-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" >/dev/null 2>&1 ||
			fail "openssl req"
		chmod 600 "$WORK/tls/key.pem"
		"${pc[@]}" "smtpd_tls_cert_file = $WORK/tls/cert.pem" \
			"smtpd_tls_key_file = $WORK/tls/key.pem" \
			"smtpd_tls_security_level = may" || fail "postconf tls"
	fi
	S4=$S4 postfix_start
	e2e_wait 10 sh -c "ip netns exec $NS_S ss -ltn | grep -q '\\[$S6\\]:25'" ||
		fail "postfix does not listen on [$S6]:25"
	# the path through the bridge, before any rule is installed
	e2e_wait 10 cli bash -c "exec 3<>/dev/tcp/$S4/25" || fail "client cannot reach $S4:25 over the bridge"
	e2e_wait 10 cli bash -c "exec 3<>/dev/tcp/$S6/25" || fail "client cannot reach [$S6]:25 over the bridge"
}

e2e_bridge_install() {
	brns "$BRIDGE_TOOL" install --bridge br0 --queues "$QUEUES" >"$WORK/bridge.log" 2>&1 ||
		{ cat "$WORK/bridge.log" >&2; fail "postern-bridge install"; }
	brns "$BRIDGE_TOOL" status --bridge br0 >"$WORK/bridge-status.log" 2>&1 ||
		{ cat "$WORK/bridge-status.log" >&2; fail "postern-bridge status after install"; }
}

e2e_config() { # [SYSLOG_UDP_PORT]
	cat >"$WORK/postern.conf" <<EOF
# generated by tests/e2e/lib.sh
internal_networks = ["$C4/32", "$C6/128"];
rules = ["$POLICY_DIR/content.rules"];
actions = {
  blocked_extension = "reset";
  type_mismatch = "reset";
  executable = "alert";
  encrypted_archive = "alert";
  archive_bomb = "reset";
  archive_depth = "alert";
  archive_error = "alert";
  macro = "alert";
  hash_listed = "reset";
  virus = "reset";
  truncated = "alert";
};
attachments = {
  hash_list = "$POLICY_DIR/hashes.txt";
  clamav_db_dir = "$POLICY_DIR/clamav";
  max_archive_depth = 2;
  max_ratio = 100;
};
rbl = { enabled = false; };
store = { enabled = false; };
inline = { hold_timeout_ms = 5000; };
EOF
	if [ -n "${1:-}" ]; then
		cat >>"$WORK/postern.conf" <<EOF
alerts = {
  enabled = true;
  transport = "udp";
  target = "127.0.0.1:$1";
  min_action = "alert";
};
EOF
	fi
}

e2e_postern_start() {
	[ -f "$WORK/postern.conf" ] || e2e_config
	: >"$WORK/events.jsonl"
	: >"$WORK/postern.log"
	# ip netns exec and stdbuf exec postern: $! is postern's pid.  stdbuf -oL:
	# postern run leaves its events in the stdio buffer (written at exit or
	# with a SIGUSR1 stats dump); the tests read them while it runs.
	ip netns exec "$NS_B" stdbuf -oL "$POSTERN" run --config "$WORK/postern.conf" --queues "$QUEUES" \
		>"$WORK/events.jsonl" 2>"$WORK/postern.log" &
	POSTERN_PID=$!
	local deadline=$(($(date +%s) + 30))
	while ! grep -q "running on queues" "$WORK/postern.log"; do
		kill -0 "$POSTERN_PID" 2>/dev/null || { wait "$POSTERN_PID"; POSTERN_PID=""; fail "postern run exited at start"; }
		[ "$(date +%s)" -ge "$deadline" ] && fail "postern run did not start within 30 s"
		sleep 0.1
	done
}

e2e_postern_stop() {
	[ -n "$POSTERN_PID" ] || return 0
	kill -TERM "$POSTERN_PID"
	local rc=0
	if ! e2e_wait 15 sh -c "! kill -0 $POSTERN_PID"; then
		kill -KILL "$POSTERN_PID"
		fail "postern did not exit within 15 s of SIGTERM"
	fi
	wait "$POSTERN_PID" || rc=$?
	POSTERN_PID=""
	[ "$rc" = 0 ] || fail "postern run exited with status $rc after SIGTERM"
	# the queue counters written at exit: the datapath had no errors
	local k v
	for k in verdict_errors recv_errors parse_errors reset_failures; do
		v=$(e2e_queue_stat "$k")
		[ "$v" = 0 ] || fail "postern counted $k=$v"
	done
}

# SIGUSR1 and wait for one queue_stats line per queue (more than before).
e2e_stats() {
	local n want
	n=$(grep -c '"type":"queue_stats"' "$WORK/events.jsonl")
	want=$((n + NQUEUES))
	kill -USR1 "$POSTERN_PID"
	e2e_wait 10 sh -c "[ \$(grep -c '\"type\":\"queue_stats\"' '$WORK/events.jsonl') -ge $want ]" ||
		fail "no queue_stats after SIGUSR1"
}

# e2e_stat TYPE PATH: sum over the workers of PATH (dotted, e.g. app.resets)
# in their last event of TYPE (queue_stats or stats).  queue_stats carry
# their queue; stats do not, so the last NQUEUES stats lines are taken (each
# worker writes one per SIGUSR1: call after e2e_stats).
e2e_stat() { # TYPE PATH
	python3 - "$WORK/events.jsonl" "$1" "$2" "$NQUEUES" <<'PY'
import json, sys
path, typ, key, nq = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
qs, st = {}, []
for line in open(path, encoding="utf-8", errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("type") == "stats":
        st.append(e)
    elif e.get("type") == "queue_stats":
        qs[e["queue"]] = e
total = 0
for e in (qs.values() if typ == "queue_stats" else st[-nq:]):
    for k in key.split("."):
        e = e.get(k, 0) if isinstance(e, dict) else 0
    total += e if isinstance(e, int) else 0
print(total)
PY
}
e2e_queue_stat() { e2e_stat queue_stats "$1"; }

# A message: our headers first (e2e_body_compare finds the stored copy by
# the first one), then the body.
e2e_mail_file() { # FILE ID [BODYFILE] [SUBJECT]
	{
		printf 'Message-ID: <%s@e2e.test>\n' "$2"
		printf 'Date: %s\n' "$(LC_ALL=C date -R)"
		printf 'From: alice@client.e2e.test\n'
		printf 'To: bob@e2e.test\n'
		printf 'Subject: %s\n' "${4:-e2e $2}"
		printf 'MIME-Version: 1.0\n'
		printf 'Content-Type: text/plain; charset=utf-8\n'
		printf 'Content-Transfer-Encoding: 8bit\n'
		printf '\n'
		if [ -n "${3:-}" ]; then
			cat "$3"
		else
			e2e_text_body "$2"
		fi
	} >"$1"
}

# About 37 KB of UTF-8 text, with lines that start with dots.
e2e_text_body() { # TAG
	local i
	for i in $(seq 1 400); do
		printf 'line %04d of %s: the quick brown fox jumps over the lazy dog; 빠른 갈색 여우\n' "$i" "$1"
		# dot-stuffed on the wire, unstuffed by Postfix
		[ $((i % 97)) = 0 ] && printf '.leading dot %d\n..two dots\n' "$i"
	done
}

# The last lines of a swaks transcript (failure messages).
e2e_show() { tail -n 25 "$1" >&2; }

e2e_swaks() { # OUT SWAKS_ARGS...
	local out=$1
	shift
	cli timeout 60 swaks --server "$S4" --helo client.e2e.test \
		--from alice@client.e2e.test --to bob@e2e.test "$@" >"$out" 2>&1
}

# The server ended the session of message ID in DATA without queueing it:
# smtpd logged "lost connection after DATA" for CLIENT and its DATA failed
# (data=0/1), and if cleanup had started on the message (it logs the
# Message-ID while the body still arrives) the queue manager never saw it.
e2e_assert_not_queued() { # ID CLIENT_REGEX [NTH: this client's NTH such session]
	local nth=${3:-1}
	e2e_wait 20 sh -c "[ \$(grep -Ec 'lost connection after DATA .*$2' '$WORK/maillog') -ge $nth ]" ||
		fail "$1: Postfix did not log 'lost connection after DATA' for $2 (session $nth)"
	e2e_wait 10 sh -c "[ \$(grep -Ec 'disconnect from .*$2.* data=0/1 ' '$WORK/maillog') -ge $nth ]" ||
		fail "$1: Postfix did not log a failed DATA (data=0/1) for $2 (session $nth)"
	sleep 1
	local qid
	qid=$(sed -n "s/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): message-id=<$1@e2e.test>.*/\1/p" "$WORK/maillog")
	if [ -n "$qid" ] && grep -Eq "$qid: (from=|to=)" "$WORK/maillog"; then
		fail "$1: Postfix queued the message ($qid)"
	fi
	[ -z "$(e2e_delivered_file "$1")" ] || fail "$1: the message was delivered"
}

# tcpdump of port 25 on a namespace's interface into WORK/NAME.pcap.
e2e_capture_start() { # NAME NS IF
	ip netns exec "$2" tcpdump -i "$3" -n -s 200 -U --immediate-mode -w "$WORK/$1.pcap" \
		'tcp port 25' 2>"$WORK/$1.tcpdump" &
	CAPTURE_PIDS+=($!)
	e2e_wait 10 grep -q listening "$WORK/$1.tcpdump" || fail "tcpdump on $3 did not start"
}

e2e_capture_stop_all() {
	local p
	sleep 0.3
	for p in "${CAPTURE_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	CAPTURE_PIDS=()
}

# Number of RST segments in WORK/NAME.pcap sent from SRC (address.port as
# tcpdump prints it, e.g. 10.97.0.2.25 or fd97::2.25).
e2e_rst_from() { # NAME SRC
	tcpdump -r "$WORK/$1.pcap" -n 2>/dev/null | grep -F " $2 > " | grep -c 'Flags \[R'
}

# After e2e_capture_stop_all: on every connection the server saw reset,
# no client data arrived after the first RST (rst_order.py).
e2e_check_rst_order() { # CAPTURE_NAME
	tcpdump -r "$WORK/$1.pcap" -n -S 2>/dev/null >"$WORK/$1.txt"
	python3 "$E2E_DIR/rst_order.py" "$WORK/$1.txt" 25 >"$WORK/rst_order.txt" ||
		{ cat "$WORK/rst_order.txt" >&2; fail "an RST reached the server before data segments postern had accepted earlier"; }
}

# swaks ends DATA with CRLF "." CRLF after the data: given without its last
# newline, the message on the wire is exactly FILE.
e2e_swaks_file() { # OUT FILE SWAKS_ARGS...
	local out=$1 file=$2
	shift 2
	head -c -1 "$file" >"$file.wire"
	e2e_swaks "$out" --data "@$file.wire" "$@"
}

e2e_delivered_file() { # ID
	grep -l -F -- "Message-ID: <$1@e2e.test>" "$MAILDIR"/new/* 2>/dev/null | head -n 1
}

e2e_wait_delivered() { # ID [SECONDS]
	e2e_wait "${2:-30}" sh -c "grep -q -F -- 'Message-ID: <$1@e2e.test>' '$MAILDIR'/new/* 2>/dev/null"
}

e2e_delivered_count() {
	find "$MAILDIR/new" -type f 2>/dev/null | wc -l
}

e2e_wait_event() { # ID VERDICT [REASON_ID...]
	e2e_wait 20 python3 "$E2E_DIR/event_has.py" "$WORK/events.jsonl" "<$1@e2e.test>" "${@:2}"
}

e2e_body_compare() { # SENT_FILE ID
	local f
	f=$(e2e_delivered_file "$2")
	[ -n "$f" ] || fail "message $2 not delivered"
	# the stored copy: Postfix's Return-Path/Delivered-To/Received first, then
	# exactly what the client sent (Maildir keeps LF line ends)
	sed -n '/^Message-ID: <'"$2"'@e2e.test>$/,$p' "$f" >"$WORK/$2.stored"
	if ! cmp -s "$1" "$WORK/$2.stored"; then
		diff -u "$1" "$WORK/$2.stored" | head -n 20 >&2
		fail "message $2: delivered bytes differ from those sent"
	fi
}
