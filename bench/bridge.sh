#!/usr/bin/env bash
# Benchmark `postern run` inline on a Linux bridge against the plain bridge:
# throughput of a flow postern bypasses (iperf3 on port 5201), of a flow whose
# every packet is queued (iperf3 on port 25), of inspected SMTP (smtp-source
# against a private Postfix), request/response latency of an inspected
# connection (bench/tcp_rr), and postern's CPU per Gbit.
# See docs/performance.md ("Inline on a bridge").
#
#   sudo bench/bridge.sh [BUILD_DIR]      (default /work/build-bench)
#
# Builds nothing: BUILD_DIR must hold postern/postern and bench/tcp_rr.
# Topology (three network namespaces, created here and deleted on exit):
#
#   pst-bb-c 10.95.0.1 --veth-- pst-bb-b [bc -- br0 -- bs] --veth-- pst-bb-s 10.95.0.2, .3
#
# Postfix listens on 10.95.0.2:25, iperf3 on 10.95.0.3:25 and :5201, tcp_rr on
# 10.95.0.2:587.
#
# Offloads are off on every veth end (MSS-sized segments, as between real
# hosts).  The markdown report goes to standard output, progress to standard
# error.  PERF_DIR=DIR: perf record -g of postern during each postern run of
# the first repetition, into DIR/LABEL.data (the profile slows those runs);
# EVENTS_DIR=DIR: keep postern's events of each run there (LABEL.jsonl).
# Environment: REPEATS (3, throughput), IPERF_SECONDS (3), RR_ROUNDS (10000),
# RR_REPEATS (3), SMTP_MESSAGES (2000), SMTP_SESSIONS (20), SMTP_SIZE (20000),
# BIG_SIZE (100000000).
set -euo pipefail

SRC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-/work/build-bench}
POSTERN=$BUILD/postern/postern
TCP_RR=$BUILD/bench/tcp_rr
BRIDGE_TOOL=$SRC_ROOT/tools/postern-bridge
IPERF_SECONDS=${IPERF_SECONDS:-3}
# An inspected port that is not an SMTP port: postern waits for a server
# greeting there, and a client that speaks first (iperf3) is given up and
# bypassed.  On 25 and 587 postern parses everything as SMTP and never gives
# a connection up for not being SMTP.
BYPASS_PORT=5201
RR_ROUNDS=${RR_ROUNDS:-10000}
RR_REPEATS=${RR_REPEATS:-3}
REPEATS=${REPEATS:-3}
# Latency runs pin the tcp_rr client and server to CPU 0, and postern to CPU 0
# (the same CPU: what processing a packet costs) or to CPU 1 (its own CPU,
# as deployed: processing plus waking postern and then the receiver across
# CPUs, which on a virtual machine costs tens of µs per wake-up).  Unpinned,
# the scheduler's placement changes the plain round trip from about 8 to 60 µs
# from one run to the next.
PIN_RR=(taskset -c 0)
POSTERN_PIN=()
SMTP_MESSAGES=${SMTP_MESSAGES:-2000}
SMTP_SESSIONS=${SMTP_SESSIONS:-20}
SMTP_SIZE=${SMTP_SIZE:-20000}
BIG_SIZE=${BIG_SIZE:-100000000}

NS_C=pst-bb-c NS_B=pst-bb-b NS_S=pst-bb-s
C4=10.95.0.1 S4=10.95.0.2 IPERF4=10.95.0.3 # Postfix on S4:25, iperf3 on IPERF4:25
POSTERN_PID="" IPERF_PID="" IPERF2_PID="" RR_PID=""

# netns_lib.sh: postfix_config and postfix_start (a private Postfix instance
# in NS_S).  Its namespace set-up and trap are not used: ours has a bridge.
# shellcheck source=tests/capture/netns_lib.sh
. "$SRC_ROOT/tests/capture/netns_lib.sh"

say() { echo "bridge.sh: $*" >&2; }
die() { echo "bridge.sh: $*" >&2; exit 1; }
cli() { ip netns exec "$NS_C" "$@"; }
brns() { ip netns exec "$NS_B" "$@"; }
srv() { ip netns exec "$NS_S" "$@"; }

delete_namespaces() {
	local ns p
	for ns in "$NS_C" "$NS_B" "$NS_S"; do
		ip netns list | grep -qw "$ns" || continue
		# whatever still runs in these namespaces was started by this script
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns"
	done
}

bb_cleanup() {
	local rc=$?
	set +e
	[ -n "$POSTERN_PID" ] && { kill -TERM "$POSTERN_PID"; wait "$POSTERN_PID"; } 2>/dev/null
	for p in $IPERF_PID $IPERF2_PID $RR_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ "$PF_STARTED" = 1 ]; then srv postfix -c "$CONF" stop >/dev/null 2>&1; fi
	delete_namespaces
	[ -n "$WORK" ] && rm -rf "$WORK"
	exit "$rc"
}

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, iptables, NFQUEUE)"
for t in ip iptables ethtool taskset iperf3 postfix postconf python3 bc stdbuf /usr/sbin/smtp-source; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -x "$POSTERN" ] || die "no $POSTERN (build it: ninja -C $BUILD postern/postern)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs at least (the latency runs pin postern to CPU 0 and 1)"
[ -x "$TCP_RR" ] || die "no $TCP_RR (build it: ninja -C $BUILD bench/tcp_rr)"

trap bb_cleanup EXIT
trap 'exit 1' INT TERM
delete_namespaces # left by a run killed hard
WORK=$(mktemp -d /tmp/pst-bb.XXXXXX)
chmod 755 "$WORK"

# ---- topology ---------------------------------------------------------------

for ns in "$NS_C" "$NS_B" "$NS_S"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add c0 netns "$NS_C" type veth peer name bc netns "$NS_B"
ip link add s0 netns "$NS_S" type veth peer name bs netns "$NS_B"
ip -n "$NS_C" addr add "$C4/24" dev c0
ip -n "$NS_S" addr add "$S4/24" dev s0
ip -n "$NS_S" addr add "$IPERF4/24" dev s0
cli ethtool -K c0 tx off tso off gso off gro off >/dev/null
srv ethtool -K s0 tx off tso off gso off gro off >/dev/null
brns ethtool -K bc tx off tso off gso off gro off >/dev/null
brns ethtool -K bs tx off tso off gso off gro off >/dev/null
brns ip link add br0 type bridge stp_state 0 forward_delay 0
brns ip link set bc master br0
brns ip link set bs master br0
for i in bc bs br0; do brns ip link set "$i" up; done
cli ip link set c0 up
srv ip link set s0 up

postfix_config
postconf -c "$CONF" -e "inet_interfaces = $S4" "inet_protocols = ipv4" \
	"myhostname = server.bb.test" "mydestination =" \
	"mynetworks = 127.0.0.0/8, 10.95.0.0/24" \
	"message_size_limit = $((BIG_SIZE + 10000000))" \
	"default_process_limit = 200" "smtputf8_enable = no"
postfix_start
for _ in $(seq 50); do cli bash -c "exec 3<>/dev/tcp/$S4/25" 2>/dev/null && break; sleep 0.2; done
cli bash -c "exec 3<>/dev/tcp/$S4/25" || die "client cannot reach $S4:25 over the bridge"

srv iperf3 -s -B "$IPERF4" -p 25 >/dev/null 2>&1 &
IPERF_PID=$!
srv iperf3 -s -B "$IPERF4" -p "$BYPASS_PORT" >/dev/null 2>&1 &
IPERF2_PID=$!
srv "${PIN_RR[@]}" "$TCP_RR" server --smtp "$S4" 587 &
RR_PID=$!
sleep 0.5

cat >"$WORK/postern.conf" <<EOF
internal_networks = ["$C4/32"];
rules = ["$SRC_ROOT/tests/pcaps/content/policy/content.rules"];
store = { enabled = false; };
EOF

# ---- measuring helpers ------------------------------------------------------

# Bytes and packets that entered the bridge, both directions.
bridge_counters() {
	brns cat /sys/class/net/bc/statistics/rx_bytes /sys/class/net/bs/statistics/rx_bytes \
		/sys/class/net/bc/statistics/rx_packets /sys/class/net/bs/statistics/rx_packets |
		tr '\n' ' ' | awk '{printf "%.0f %.0f\n", $1 + $2, $3 + $4}'
}

CLK_TCK=$(getconf CLK_TCK)
# utime + stime of postern (all threads) in seconds; 0 when it does not run.
postern_cpu() {
	[ -n "$POSTERN_PID" ] || { echo 0; return; }
	[ -r "/proc/$POSTERN_PID/stat" ] || die "postern run (pid $POSTERN_PID) is gone: $(tail -n 5 "$WORK/postern.log")"
	awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$POSTERN_PID/stat"
}

now() { date +%s.%N; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# MEASURE: run CMD... (output in WORK/out), set M_SECS, M_BYTES, M_PKTS, M_CPU.
measure() {
	local b0 b1 t0 t1 c0 c1
	b0=$(bridge_counters); c0=$(postern_cpu); t0=$(now)
	"$@" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; die "failed: $*"; }
	t1=$(now); c1=$(postern_cpu); b1=$(bridge_counters)
	M_SECS=$(echo "$t1 - $t0" | bc -l)
	M_BYTES=$(($(echo "$b1" | cut -d' ' -f1) - $(echo "$b0" | cut -d' ' -f1)))
	M_PKTS=$(($(echo "$b1" | cut -d' ' -f2) - $(echo "$b0" | cut -d' ' -f2)))
	M_CPU=$(echo "$c1 - $c0" | bc -l)
}

postern_start() { # QUEUES [INSPECTED_PORTS]
	brns "$BRIDGE_TOOL" install --bridge br0 --tcp-ports "${2:-25,587,$BYPASS_PORT}" --queues "$1" >"$WORK/bridge.log" 2>&1 ||
		{ cat "$WORK/bridge.log" >&2; die "postern-bridge install"; }
	: >"$WORK/events.jsonl"
	: >"$WORK/postern.log"
	ip netns exec "$NS_B" "${POSTERN_PIN[@]}" stdbuf -oL "$POSTERN" run --config "$WORK/postern.conf" --queues "$1" \
		>"$WORK/events.jsonl" 2>"$WORK/postern.log" &
	POSTERN_PID=$!
	for _ in $(seq 300); do
		grep -q "running on queues" "$WORK/postern.log" && return 0
		kill -0 "$POSTERN_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/postern.log" >&2
	die "postern run did not start"
}

# Stop postern (its queue_stats and stats at exit) and remove the rules.
postern_stop() {
	kill -TERM "$POSTERN_PID"
	wait "$POSTERN_PID" || die "postern run exited with status $?"
	POSTERN_PID=""
	brns "$BRIDGE_TOOL" remove --bridge br0 >/dev/null
}

# Sum of a queue_stats field over the queues, or a stats path (dotted).
stat_sum() { # TYPE PATH
	python3 - "$WORK/events.jsonl" "$1" "$2" <<'PY'
import json, sys
total = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("type") != sys.argv[2]:
        continue
    for k in sys.argv[3].split("."):
        e = e.get(k, 0) if isinstance(e, dict) else 0
    total += e if isinstance(e, int) else 0
print(total)
PY
}

# iperf3 receiver goodput in Mbit/s from its JSON.
iperf_mbps() {
	python3 - "$WORK/out" <<'PY' || die "iperf3: $(head -c 600 "$WORK/out")"
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r:
    sys.exit(1)
print("%.0f" % (r["end"]["sum_received"]["bits_per_second"] / 1e6))
PY
}

# smtp-source warns about a failed session and goes on, exit status 0: count
# what Postfix delivered (discarded) instead, from its log.
sent_count() { grep -c 'status=sent' "$WORK/maillog" 2>/dev/null || true; }
smtp_run() { # SESSIONS MESSAGES SIZE
	local before want
	before=$(sent_count)
	want=$((before + $2))
	cli /usr/sbin/smtp-source -s "$1" -m "$2" -l "$3" -c -f a@bb.test -t b@bb.test "$S4:25" || return 1
	for _ in $(seq 100); do [ "$(sent_count)" -ge "$want" ] && return 0; sleep 0.1; done
	echo "Postfix delivered $(($(sent_count) - before)) of $2 messages" >&2
	return 1
}

f0() { printf '%.0f' "$1"; }
ratio() { echo "scale=3; $1 / $2" | bc -l | awk '{printf "%.2f", $1}'; }
mbit() { echo "$1 * 8 / $2 / 1000000" | bc -l; }

declare -A R

run_iperf() { # LABEL PORT STREAMS
	measure cli iperf3 -c "$IPERF4" -p "$2" -P "$3" -t "$IPERF_SECONDS" -J
	R[$1.mbps]=$(iperf_mbps)
	R[$1.pps]=$(f0 "$(echo "$M_PKTS / $M_SECS" | bc -l)")
	R[$1.cpu]=$M_CPU
	R[$1.gbit]=$(echo "$M_BYTES * 8 / 1000000000" | bc -l)
}

run_smtp() { # LABEL
	measure smtp_run "$SMTP_SESSIONS" "$SMTP_MESSAGES" "$SMTP_SIZE"
	R[$1.msgs]=$(f0 "$(echo "$SMTP_MESSAGES / $M_SECS" | bc -l)")
	R[$1.mbps]=$(f0 "$(mbit "$M_BYTES" "$M_SECS")")
	R[$1.pps]=$(f0 "$(echo "$M_PKTS / $M_SECS" | bc -l)")
	R[$1.secs]=$(printf '%.2f' "$M_SECS")
	R[$1.cpu]=$M_CPU
	R[$1.gbit]=$(echo "$M_BYTES * 8 / 1000000000" | bc -l)
}

run_big() { # LABEL
	measure smtp_run 1 1 "$BIG_SIZE"
	R[$1.mbps]=$(f0 "$(mbit "$M_BYTES" "$M_SECS")")
	R[$1.secs]=$(printf '%.2f' "$M_SECS")
	R[$1.cpu]=$M_CPU
	R[$1.gbit]=$(echo "$M_BYTES * 8 / 1000000000" | bc -l)
}

run_rr() { # LABEL
	measure cli "${PIN_RR[@]}" "$TCP_RR" client --smtp -n "$RR_ROUNDS" "$S4" 587
	local l
	l=$(grep '^rounds=' "$WORK/out")
	for k in p50_us p90_us p99_us max_us mean_us; do
		R[$1.$k]=$(echo "$l" | tr ' ' '\n' | sed -n "s/^$k=//p")
	done
}

# queue_stats of the run just stopped, summed over the queues
queue_stats_of() { # LABEL
	R[$1.received]=$(stat_sum queue_stats received)
	R[$1.marked]=$(stat_sum queue_stats marked)
	R[$1.dropped]=$(stat_sum queue_stats dropped)
	[ -z "${EVENTS_DIR:-}" ] || cp "$WORK/events.jsonl" "$EVENTS_DIR/$1.jsonl"
}

# ---- latency ----------------------------------------------------------------

# First, on a quiet machine: the throughput runs leave Postfix's queue files
# to be written back and timers to fire, which showed up as millisecond
# outliers in round trips measured after them.
sync
# Plain and postern alternately, so that a slow spell of the machine shows
# up as a spread between the repetitions rather than as postern's cost.
for i in $(seq "$RR_REPEATS"); do
	say "tcp_rr --smtp port 587, $RR_ROUNDS round trips: plain bridge, postern on CPU 0, on CPU 1 ($i/$RR_REPEATS)"
	run_rr "p_rr$i"
	for cpu in 0 1; do
		POSTERN_PIN=(taskset -c "$cpu")
		postern_start 0
		run_rr "c${cpu}_rr$i"
		postern_stop
		queue_stats_of "c${cpu}_rr$i"
	done
	POSTERN_PIN=()
done

# ---- throughput -------------------------------------------------------------

# Each repetition runs every case once, plain bridge first, so that the cases
# of one repetition are close in time; the report gives the median over the
# repetitions and each repetition's own postern / plain ratio.
with_postern() { # LABEL QUEUES PORTS RUN_FN RUN_ARGS...
	local label=$1 queues=$2 ports=$3 fn=$4 perf_pid=""
	shift 4
	postern_start "$queues" "$ports"
	if [ -n "${PERF_DIR:-}" ] && [[ $label == *#1 ]]; then
		perf record -g -o "$PERF_DIR/${label%#1}.data" -p "$POSTERN_PID" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	"$fn" "$label" "$@"
	[ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
	postern_stop
	queue_stats_of "$label"
}
ALL_PORTS="25,587,$BYPASS_PORT"
for i in $(seq "$REPEATS"); do
	say "repetition $i/$REPEATS: plain bridge: iperf3 port 25 (1 and 2 streams), smtp-source, one $BIG_SIZE-byte message"
	run_iperf "p_iperf#$i" 25 1
	run_iperf "p_iperf2#$i" 25 2
	run_smtp "p_smtp#$i"
	run_big "p_big#$i"
	say "repetition $i/$REPEATS: postern: iperf3 port $BYPASS_PORT bypassed, not queued, iperf3 port 25 queued"
	with_postern "byp#$i" 0 "$ALL_PORTS" run_iperf "$BYPASS_PORT" 1
	with_postern "nq#$i" 0 25,587 run_iperf "$BYPASS_PORT" 1
	with_postern "i25#$i" 0 "$ALL_PORTS" run_iperf 25 1
	with_postern "i25q2#$i" 0-1 "$ALL_PORTS" run_iperf 25 2
	say "repetition $i/$REPEATS: postern: smtp-source with 1 and 2 queues, one $BIG_SIZE-byte message"
	with_postern "q1#$i" 0 "$ALL_PORTS" run_smtp
	with_postern "q2#$i" 0-1 "$ALL_PORTS" run_smtp
	with_postern "big#$i" 0 "$ALL_PORTS" run_big
done

# R[LABEL.KEY]: the median over the repetitions of R[LABEL#i.KEY]; R[LABEL.KEY.each]
# lists them.  R[LABEL.KEY.ratio] lists each repetition's LABEL / BASE.
for label in p_iperf p_iperf2 p_smtp p_big byp nq i25 i25q2 q1 q2 big; do
	for k in mbps pps msgs secs cpu gbit received marked dropped; do
		vals=""
		for i in $(seq "$REPEATS"); do vals+="${R[$label#$i.$k]:+ ${R[$label#$i.$k]}}"; done
		[ -n "$vals" ] || continue
		R[$label.$k]=$(echo "$vals" | median)
		R[$label.$k.each]=${vals# }
	done
done
each_ratio() { # LABEL BASE KEY
	local i out=""
	for i in $(seq "$REPEATS"); do out+="${out:+, }$(ratio "${R[$1#$i.$3]}" "${R[$2#$i.$3]}")"; done
	echo "$out"
}

# ---- report -----------------------------------------------------------------

# (RTT with postern - RTT plain) / 2: two packets are queued per round trip
added() { # LABEL REPEAT PCT
	echo "(${R[$1$2.$3]} - ${R[p_rr$2.$3]}) / 2" | bc -l | awk '{printf "%.1f", $1}'
}
rr_rows=""
declare -A ADDED
for i in $(seq "$RR_REPEATS"); do
	row="| $i | ${R[p_rr$i.p50_us]} | ${R[p_rr$i.p99_us]}"
	for c in c0_rr c1_rr; do
		row+=" | ${R[$c$i.p50_us]} | ${R[$c$i.p99_us]} | $(added $c "$i" p50_us) | $(added $c "$i" p99_us)"
		ADDED[$c.p50]+=" $(added $c "$i" p50_us)" ADDED[$c.p99]+=" $(added $c "$i" p99_us)"
		[ "${R[$c$i.marked]}" = 0 ] || die "tcp_rr connection was bypassed (marked ${R[$c$i.marked]})"
	done
	rr_rows+="$row | ${R[p_rr$i.max_us]} / ${R[c0_rr$i.max_us]} / ${R[c1_rr$i.max_us]} |"$'\n'
done
per_gbit() { echo "${R[$1.cpu]} / ${R[$1.gbit]}" | bc -l | awk '{printf "%.2f", $1}'; }
r() { ratio "${R[$1]}" "${R[$2]}"; }
commit=$(git -C "$SRC_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)

cat <<REPORT
### Results ($(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\`)

Machine: $cpu_model, $(nproc) CPUs, Linux $(uname -r); build \`$BUILD\`.
Command: \`sudo bench/bridge.sh $BUILD\`. Client, bridge and server are three network namespaces
on this one machine, so the load generators, the kernel's bridging, postern and Postfix share its CPUs.

Throughput: median over $REPEATS repetitions (each runs every case once, plain bridge first); the last
column gives each repetition's own postern / plain ratio.

| case | plain bridge | postern | postern / plain (medians) | per repetition |
|---|---|---|---|---|
| iperf3 port $BYPASS_PORT, bypassed, 1 queue: Mbit/s (receiver) | ${R[p_iperf.mbps]} | ${R[byp.mbps]} | **$(r byp.mbps p_iperf.mbps)** | $(each_ratio byp p_iperf mbps) |
| iperf3 port $BYPASS_PORT, bypassed, 1 queue: packets/s into the bridge | ${R[p_iperf.pps]} | ${R[byp.pps]} | $(r byp.pps p_iperf.pps) | $(each_ratio byp p_iperf pps) |
| iperf3 port $BYPASS_PORT, rules for 25,587 only (never queued): Mbit/s | ${R[p_iperf.mbps]} | ${R[nq.mbps]} | $(r nq.mbps p_iperf.mbps) | $(each_ratio nq p_iperf mbps) |
| iperf3 port 25 (not mail: given up, bypassed), 1 queue: Mbit/s | ${R[p_iperf.mbps]} | ${R[i25.mbps]} | $(r i25.mbps p_iperf.mbps) | $(each_ratio i25 p_iperf mbps) |
| iperf3 port 25 (not mail: given up, bypassed), 1 queue: packets/s into the bridge | ${R[p_iperf.pps]} | ${R[i25.pps]} | $(r i25.pps p_iperf.pps) | $(each_ratio i25 p_iperf pps) |
| iperf3 -P 2 port 25 (not mail: bypassed), 2 queues: Mbit/s | ${R[p_iperf2.mbps]} | ${R[i25q2.mbps]} | $(r i25q2.mbps p_iperf2.mbps) | $(each_ratio i25q2 p_iperf2 mbps) |
| smtp-source, 1 queue: messages/s | ${R[p_smtp.msgs]} | ${R[q1.msgs]} | **$(r q1.msgs p_smtp.msgs)** | $(each_ratio q1 p_smtp msgs) |
| smtp-source, 1 queue: Mbit/s into the bridge | ${R[p_smtp.mbps]} | ${R[q1.mbps]} | $(r q1.mbps p_smtp.mbps) | $(each_ratio q1 p_smtp mbps) |
| smtp-source, 1 queue: packets/s into the bridge | ${R[p_smtp.pps]} | ${R[q1.pps]} | $(r q1.pps p_smtp.pps) | $(each_ratio q1 p_smtp pps) |
| smtp-source, 2 queues: messages/s | ${R[p_smtp.msgs]} | ${R[q2.msgs]} | **$(r q2.msgs p_smtp.msgs)** | $(each_ratio q2 p_smtp msgs) |
| smtp-source, 2 queues: Mbit/s into the bridge | ${R[p_smtp.mbps]} | ${R[q2.mbps]} | $(r q2.mbps p_smtp.mbps) | $(each_ratio q2 p_smtp mbps) |
| one $BIG_SIZE-byte message, 1 session, 1 queue: Mbit/s into the bridge | ${R[p_big.mbps]} | ${R[big.mbps]} | $(r big.mbps p_big.mbps) | $(each_ratio big p_big mbps) |

iperf3: \`iperf3 -c SERVER -p PORT -t $IPERF_SECONDS [-P 2]\`, receiver's goodput. smtp-source:
\`smtp-source -s $SMTP_SESSIONS -m $SMTP_MESSAGES -l $SMTP_SIZE -c\` (one message per connection) against a
private Postfix (\`default_transport = discard\`); messages/s per repetition: plain ${R[p_smtp.msgs.each]},
1 queue ${R[q1.msgs.each]}, 2 queues ${R[q2.msgs.each]}. The large message: \`smtp-source -s 1 -m 1 -l
$BIG_SIZE\`. "Into the bridge": bytes and packets received by the two bridge ports, both directions, over
the wall time of the command.

postern's queue_stats at exit, summed over the queues (median over the repetitions):

| run | received | marked (bypass) | dropped |
|---|---|---|---|
| iperf3 port $BYPASS_PORT, 1 queue | ${R[byp.received]} | ${R[byp.marked]} | ${R[byp.dropped]} |
| iperf3 port $BYPASS_PORT, rules for 25,587 only | ${R[nq.received]} | ${R[nq.marked]} | ${R[nq.dropped]} |
| iperf3 port 25, 1 queue | ${R[i25.received]} | ${R[i25.marked]} | ${R[i25.dropped]} |
| iperf3 -P 2 port 25, 2 queues | ${R[i25q2.received]} | ${R[i25q2.marked]} | ${R[i25q2.dropped]} |
| smtp-source, 1 queue | ${R[q1.received]} | ${R[q1.marked]} | ${R[q1.dropped]} |
| smtp-source, 2 queues | ${R[q2.received]} | ${R[q2.marked]} | ${R[q2.dropped]} |
| one large message | ${R[big.received]} | ${R[big.marked]} | ${R[big.dropped]} |

Latency: \`tcp_rr client --smtp -n $RR_ROUNDS\` on port 587, one connection, "NOOP" / "250 ok": every
packet goes through the queue (none was marked for bypass) and none is a commit point. Client and server
pinned to CPU 0; postern (\`--queues 0\`) pinned to CPU 0 (same CPU) or CPU 1 (own CPU). $RR_REPEATS
repetitions of plain, same CPU, own CPU. Round-trip times and the added latency per packet,
(RTT with postern − RTT plain) / 2, in µs:

| repeat | plain p50 | plain p99 | same CPU p50 | same CPU p99 | **added p50** | **added p99** | own CPU p50 | own CPU p99 | **added p50** | **added p99** | max plain / same / own |
|---|---|---|---|---|---|---|---|---|---|---|---|
$rr_rows
Median over the repetitions of the added latency per packet: postern on the same CPU p50
**$(echo "${ADDED[c0_rr.p50]}" | median) µs**, p99 **$(echo "${ADDED[c0_rr.p99]}" | median) µs**; postern on its own CPU
p50 **$(echo "${ADDED[c1_rr.p50]}" | median) µs**, p99 **$(echo "${ADDED[c1_rr.p99]}" | median) µs**.

postern's CPU time (utime + stime of all its threads, /proc/PID/stat) per Gbit that entered the bridge:

| run | postern CPU s | Gbit | CPU s per Gbit |
|---|---|---|---|
| iperf3 port $BYPASS_PORT, bypassed, 1 queue | $(printf '%.2f' "${R[byp.cpu]}") | $(printf '%.2f' "${R[byp.gbit]}") | $(per_gbit byp) |
| iperf3 port 25 (not mail: bypassed), 1 queue | $(printf '%.2f' "${R[i25.cpu]}") | $(printf '%.2f' "${R[i25.gbit]}") | $(per_gbit i25) |
| smtp-source, inspected, 1 queue | $(printf '%.2f' "${R[q1.cpu]}") | $(printf '%.2f' "${R[q1.gbit]}") | $(per_gbit q1) |
| smtp-source, inspected, 2 queues | $(printf '%.2f' "${R[q2.cpu]}") | $(printf '%.2f' "${R[q2.gbit]}") | $(per_gbit q2) |
| one $BIG_SIZE-byte SMTP message, inspected | $(printf '%.2f' "${R[big.cpu]}") | $(printf '%.2f' "${R[big.gbit]}") | $(per_gbit big) |
REPORT
