#!/usr/bin/env bash
# Benchmark `postern replay` reconstruction (--no-inspect: decode, reassembly,
# SMTP, events) on a generated SMTP capture; bench/rules.sh measures content
# inspection.  See docs/performance.md.
#
#   bench/run.sh [options] [BUILD_DIR]        (BUILD_DIR default /work/build-bench)
#
# Builds nothing: BUILD_DIR must hold bench/gen_smtp_pcap, bench/pcap_read_baseline
# and (for postern's numbers) postern/postern.  Prints a markdown report on
# standard output; progress goes to standard error.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/run.sh [options] [BUILD_DIR]
  --size MB        size of the SMTP capture (default 600)
  --seed N         generator seed (default 1)
  --runs N         timed runs per tool (default 3)
  --idle-flows N   idle connections for the memory-per-flow measure (default 200000)
  --max-flows N    flow table cap for the idle-flow runs (default: next power of two
                   >= 1.25 * N)
  --data-dir DIR   where captures go (default: a temporary directory, removed at the end)
  --keep           keep the captures and reuse existing ones with the same parameters
                   (default DIR with --keep: /work/bench-data)
  --report FILE    also write the markdown report to FILE
EOF
}

TMP_DATA=0 SIZE=600 SEED=1 RUNS=3 IDLE=200000 MAX_FLOWS="" DATA_DIR="" KEEP=0 REPORT=""
BUILD=/work/build-bench
while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--idle-flows) IDLE=$2; shift 2 ;;
	--max-flows) MAX_FLOWS=$2; shift 2 ;;
	--data-dir) DATA_DIR=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--report) REPORT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD=$1; shift ;;
	esac
done

SRC=$(cd "$(dirname "$0")/.." && pwd)
GEN=$BUILD/bench/gen_smtp_pcap
BASE=$BUILD/bench/pcap_read_baseline
POSTERN=$BUILD/postern/postern
for b in "$GEN" "$BASE"; do
	[ -x "$b" ] || { echo "run.sh: $b missing: ninja -C $BUILD bench/gen_smtp_pcap bench/pcap_read_baseline" >&2; exit 2; }
done
HAVE_POSTERN=1
[ -x "$POSTERN" ] || { HAVE_POSTERN=0; echo "run.sh: $POSTERN missing: postern's numbers are skipped" >&2; }
[ -x /usr/bin/time ] || { echo "run.sh: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
HAVE_TCPDUMP=0
command -v tcpdump >/dev/null 2>&1 && HAVE_TCPDUMP=1

if [ -z "$MAX_FLOWS" ]; then
	MAX_FLOWS=1
	while [ "$MAX_FLOWS" -lt $((IDLE + IDLE / 4)) ]; do MAX_FLOWS=$((MAX_FLOWS * 2)); done
fi

if [ -z "$DATA_DIR" ]; then
	if [ "$KEEP" = 1 ]; then
		DATA_DIR=/work/bench-data
	else
		DATA_DIR=$(mktemp -d /tmp/postern-bench.XXXXXX)
		TMP_DATA=1
	fi
fi
mkdir -p "$DATA_DIR"
WORK=$(mktemp -d /tmp/postern-bench-work.XXXXXX)
trap 'rm -rf "$WORK"; if [ "$TMP_DATA" = 1 ]; then rm -rf "$DATA_DIR"; fi' EXIT

log() { echo "run.sh: $*" >&2; }

# measure NAME CMD...: runs CMD $RUNS times; records wall seconds (from
# CLOCK_MONOTONIC via date) and peak RSS (KiB, /usr/bin/time %M) per run in
# $WORK/NAME.wall and $WORK/NAME.rss.
measure() {
	local name=$1; shift
	: >"$WORK/$name.wall"; : >"$WORK/$name.rss"
	for ((i = 1; i <= RUNS; i++)); do
		local t0 t1
		t0=$(date +%s%N)
		if ! /usr/bin/time -f %M -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
			log "$name failed: $*"; cat "$WORK/$name.err" >&2; return 1
		fi
		t1=$(date +%s%N)
		echo "$(( (t1 - t0) / 1000 ))" | awk '{printf "%.3f\n", $1 / 1e6}' >>"$WORK/$name.wall"
		tail -1 "$WORK/$name.time" >>"$WORK/$name.rss"
		log "$name run $i: $(tail -1 "$WORK/$name.wall") s, $(tail -1 "$WORK/$name.rss") KiB"
	done
}
best() { sort -g "$1" | head -1; }
median() { sort -g "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
maxof() { sort -g "$1" | tail -1; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN {printf f, (b > 0) ? a / b : 0}'; }

# ---- captures ----------------------------------------------------------
CAP=$DATA_DIR/smtp-${SIZE}MB-seed${SEED}.pcap
IDLE_CAP=$DATA_DIR/idle-${IDLE}-seed${SEED}.pcap
ZERO_CAP=$DATA_DIR/idle-1-seed${SEED}.pcap
GEN_SECS=reused
if [ "$KEEP" = 1 ] && [ -s "$CAP" ]; then
	log "reusing $CAP"
	GEN_SUMMARY="(reused; generator summary not recorded)"
else
	log "generating $CAP"
	t0=$(date +%s%N)
	"$GEN" --seed "$SEED" --size "$SIZE" --out "$CAP" 2>"$WORK/gen.err"
	t1=$(date +%s%N)
	GEN_SECS=$(fdiv "$(( (t1 - t0) / 1000 ))" 1000000 %.2f)
	GEN_SUMMARY=$(tr '\n' ' ' <"$WORK/gen.err")
fi
if ! [ "$KEEP" = 1 ] || ! [ -s "$IDLE_CAP" ]; then
	"$GEN" --seed "$SEED" --idle-flows "$IDLE" --out "$IDLE_CAP" -q
fi
if ! [ "$KEEP" = 1 ] || ! [ -s "$ZERO_CAP" ]; then
	"$GEN" --seed "$SEED" --idle-flows 1 --out "$ZERO_CAP" -q
fi
CAP_BYTES=$(stat -c %s "$CAP")
cat "$CAP" >/dev/null # warm the page cache: every tool reads from memory

# ---- throughput ----------------------------------------------------------
measure baseline "$BASE" "$CAP"
PACKETS=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$WORK/baseline.out")
[ "$HAVE_TCPDUMP" = 1 ] && measure tcpdump tcpdump -r "$CAP" -w /dev/null
if [ "$HAVE_POSTERN" = 1 ]; then
	measure postern "$POSTERN" replay --no-inspect --output /dev/null "$CAP"
	# One untimed run keeps the events, to check what was reconstructed.
	"$POSTERN" replay --no-inspect --output "$WORK/events.json" "$CAP" 2>/dev/null || true
	STATS=$(grep '"type":"stats"' "$WORK/events.json" | tail -1 || true)
	stat_of() { echo "$STATS" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
	TX_ANOM=$(grep '"type":"smtp_transaction"' "$WORK/events.json" | grep -o '"anomalies":\[[^]]*\]' | sort | uniq -c | sed 's/^ *//' | tr '\n' ';' || true)
fi

# ---- memory per idle flow -------------------------------------------------
if [ "$HAVE_POSTERN" = 1 ]; then
	measure idle_n "$POSTERN" replay --no-inspect --max-flows "$MAX_FLOWS" --output /dev/null "$IDLE_CAP"
	measure idle_0 "$POSTERN" replay --no-inspect --max-flows "$MAX_FLOWS" --output /dev/null "$ZERO_CAP"
	"$POSTERN" replay --no-inspect --max-flows "$MAX_FLOWS" --output "$WORK/idle.json" "$IDLE_CAP" 2>/dev/null || true
	IDLE_STATS=$(grep '"type":"stats"' "$WORK/idle.json" | tail -1 || true)
	IDLE_CREATED=$(echo "$IDLE_STATS" | sed -n 's/.*"created":\([0-9]*\).*/\1/p')
	IDLE_EVICTED=$(echo "$IDLE_STATS" | sed -n 's/.*"evicted":\([0-9]*\).*/\1/p')
	IDLE_TIMEDOUT=$(echo "$IDLE_STATS" | sed -n 's/.*"timed_out":\([0-9]*\).*/\1/p')
	RSS_N=$(median "$WORK/idle_n.rss")
	RSS_0=$(median "$WORK/idle_0.rss")
	PER_FLOW=$(awk -v a="$RSS_N" -v b="$RSS_0" -v n="$IDLE" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')
fi

# ---- report --------------------------------------------------------------
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
RAM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (work tree has uncommitted changes)" || true)
BUILDTYPE=$(meson introspect "$BUILD" --buildoptions 2>/dev/null |
	python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print("buildtype=%s b_ndebug=%s" % (o.get("buildtype"), o.get("b_ndebug")))' 2>/dev/null || echo unknown)
CC_CMD=$(sed -n 's/^ *command = \([^ ]*\) \$ARGS -MD.*/\1/p' "$BUILD/build.ninja" 2>/dev/null | head -1 || true)
CC_VER=$(${CC_CMD:-cc} --version 2>/dev/null | head -1 || echo unknown)

row() { # name label
	local n=$1 b m
	b=$(best "$WORK/$n.wall"); m=$(median "$WORK/$n.wall")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$b" "$m" \
		"$(awk -v a="$CAP_BYTES" -v b="$b" 'BEGIN {printf "%.1f", (b > 0) ? a / b / 1e6 : 0}')" \
		"$(fdiv "$PACKETS" "$b" %.0f)" "$(maxof "$WORK/$n.rss")"
}

{
	echo "## postern replay benchmark"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- commit: $COMMIT$DIRTY"
	echo "- machine: $CPU, $(nproc) CPUs, $RAM RAM, Linux $(uname -r)"
	echo "- build: $BUILD ($BUILDTYPE, $CC_VER)"
	echo "- capture: $CAP_BYTES bytes, $PACKETS packets (\`gen_smtp_pcap --seed $SEED --size $SIZE\`; generated in ${GEN_SECS} s)"
	echo "- generator: $GEN_SUMMARY"
	echo "- runs: $RUNS per tool, page cache warm, output to /dev/null"
	echo
	echo "| tool | best s | median s | MB/s (best, 10^6 B) | packets/s (best) | peak RSS KiB |"
	echo "|---|---|---|---|---|---|"
	row baseline "libpcap read loop (pcap_read_baseline)"
	[ "$HAVE_TCPDUMP" = 1 ] && row tcpdump "tcpdump -r FILE -w /dev/null"
	if [ "$HAVE_POSTERN" = 1 ]; then
		row postern "postern replay --no-inspect --output /dev/null"
		echo
		B=$(best "$WORK/baseline.wall"); P=$(best "$WORK/postern.wall")
		echo "postern replay takes $(fdiv "$P" "$B" %.1f)x the time of the plain libpcap read loop (best runs)."
		echo
		echo "Reconstructed: $(stat_of smtp_sessions) SMTP sessions, $(stat_of smtp_transactions) transactions, $(stat_of smtp_messages) messages;" \
			"flows created $(stat_of created), retransmits $(stat_of retransmits), gaps $(stat_of gaps), overlap conflicts $(stat_of overlap_conflicts)," \
			"OOO dropped at cap $(stat_of ooo_dropped_cap), bad checksums $(stat_of tcp_csum_bad)."
		echo "Transaction anomalies (count anomalies): ${TX_ANOM:-none}"
		echo
		echo "### Memory per idle tracked flow"
		echo
		echo "| capture | flows created | peak RSS KiB (median of $RUNS) |"
		echo "|---|---|---|"
		echo "| $IDLE handshakes, never closed | ${IDLE_CREATED:-?} (evicted ${IDLE_EVICTED:-?}, timed out ${IDLE_TIMEDOUT:-?}) | $RSS_N |"
		echo "| 1 handshake | 1 | $RSS_0 |"
		echo
		echo "(RSS with $IDLE flows - RSS with 1 flow) / $IDLE = **$PER_FLOW bytes per idle flow** (\`--max-flows $MAX_FLOWS\` in both runs)."
	else
		echo
		echo "postern/postern was not found in $BUILD: postern's numbers are pending."
	fi
	echo
	echo "### Commands"
	echo
	echo '```'
	echo "$GEN --seed $SEED --size $SIZE --out CAP"
	echo "$GEN --seed $SEED --idle-flows $IDLE --out IDLE_CAP"
	echo "$GEN --seed $SEED --idle-flows 1 --out ZERO_CAP"
	echo "$BASE CAP"
	[ "$HAVE_TCPDUMP" = 1 ] && echo "tcpdump -r CAP -w /dev/null"
	if [ "$HAVE_POSTERN" = 1 ]; then
		echo "$POSTERN replay --no-inspect --output /dev/null CAP"
		echo "$POSTERN replay --no-inspect --max-flows $MAX_FLOWS --output /dev/null IDLE_CAP"
		echo "$POSTERN replay --no-inspect --max-flows $MAX_FLOWS --output /dev/null ZERO_CAP"
	fi
	echo '```'
	echo "each under \`/usr/bin/time -f %M\` (peak RSS); wall time from \`date +%s%N\` around it."
} | tee "${REPORT:-/dev/null}"
