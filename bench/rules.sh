#!/usr/bin/env bash
# Rules benchmark: postern's full pipeline with 10 / 1 000 / 10 000 / 100 000
# keyword rules plus 200 regular expressions, against a plain hs_scan of the
# same decoded bytes, plus the cost of ClamAV; see docs/performance.md.
#
#   bench/rules.sh [--size MB] [--runs N] [--keywords "10 1000 ..."] [--data-dir DIR] [BUILD_DIR]
#
# BUILD_DIR (default /work/build-bench) must hold postern/postern,
# bench/gen_smtp_pcap and bench/rules_baseline.  Prints a markdown report.
set -euo pipefail
SIZE=200 RUNS=3 SEED=1 KEYWORDS="10 1000 10000 100000" REGEXES=200 DATA_DIR=/work/bench-data
BUILD=/work/build-bench
while [ $# -gt 0 ]; do
	case "$1" in
	--size) SIZE=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--keywords) KEYWORDS=$2; shift 2 ;;
	--regexes) REGEXES=$2; shift 2 ;;
	--data-dir) DATA_DIR=$2; shift 2 ;;
	-h|--help) sed -n '2,9p' "$0"; exit 0 ;;
	-*) echo "rules.sh: unknown option $1" >&2; exit 2 ;;
	*) BUILD=$1; shift ;;
	esac
done
SRC=$(cd "$(dirname "$0")/.." && pwd)
POSTERN=$BUILD/postern/postern GEN=$BUILD/bench/gen_smtp_pcap BASE=$BUILD/bench/rules_baseline
for b in "$POSTERN" "$GEN" "$BASE"; do
	[ -x "$b" ] || { echo "rules.sh: $b missing (ninja -C $BUILD)" >&2; exit 2; }
done
log() { echo "rules.sh: $*" >&2; }
mkdir -p "$DATA_DIR"
WORK=$(mktemp -d /tmp/postern-rules.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

CAP=$DATA_DIR/smtp-${SIZE}MB-seed${SEED}.pcap
[ -s "$CAP" ] || { log "generating $CAP"; "$GEN" --seed "$SEED" --size "$SIZE" --out "$CAP" -q; }
cat "$CAP" >/dev/null
CAP_BYTES=$(stat -c %s "$CAP")

# The decoded bytes: every message written out once, decoded by the baseline.
mkdir -p "$WORK/eml"
"$POSTERN" replay --no-inspect --extract-messages "$WORK/eml" --output /dev/null "$CAP"

# replay_best CONF: best-of-RUNS packet-processing seconds (policy loading
# excluded: --stats reports the two separately) and the last load time.
replay_best() {
	local conf=$1 best="" t load
	for ((i = 1; i <= RUNS; i++)); do
		"$POSTERN" replay --stats --no-store ${conf:+--config "$conf"} --output /dev/null "$CAP" 2>"$WORK/stats.err"
		t=$(sed -n 's/.*packets \([0-9.]*\) s.*/\1/p' "$WORK/stats.err")
		load=$(sed -n 's/^policy load \([0-9.]*\) s.*/\1/p' "$WORK/stats.err")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$t; fi
	done
	echo "$best $load"
}

printf 'internal_networks = ["10.0.0.0/8"];\nstore = { enabled = false; };\n' >"$WORK/none.conf"

T_NOINSPECT=$(for ((i = 1; i <= RUNS; i++)); do "$POSTERN" replay --stats --no-inspect --output /dev/null "$CAP" 2>&1 | sed -n 's/.*packets \([0-9.]*\) s.*/\1/p'; done | sort -g | head -1)
read -r T_NORULES _ < <(replay_best "$WORK/none.conf")
log "no inspection ${T_NOINSPECT}s, inspection without rules ${T_NORULES}s"

ROWS=""
for K in $KEYWORDS; do
	"$BASE" --keywords "$K" --regexes "$REGEXES" --write-rules "$WORK/r$K.rules"
	printf 'internal_networks = ["10.0.0.0/8"];\nstore = { enabled = false; };\nrules = ["%s"];\n' "$WORK/r$K.rules" >"$WORK/r$K.conf"
	read -r T LOAD < <(replay_best "$WORK/r$K.conf")
	"$POSTERN" replay --config "$WORK/r$K.conf" --output "$WORK/ev$K.jsonl" "$CAP" 2>/dev/null
	ALERTED=$(grep -c '"id":"r' "$WORK/ev$K.jsonl" || true)
	SCAN=$("$BASE" --keywords "$K" --regexes "$REGEXES" --scan "$WORK/eml" --runs "$RUNS")
	DEC=$(sed -n 's/.*decoded_bytes=\([0-9]*\).*/\1/p' <<<"$SCAN")
	ST=$(sed -n 's/.*scan_best_s=\([0-9.]*\).*/\1/p' <<<"$SCAN")
	SS=$(sed -n 's/.*stream_best_s=\([0-9.]*\).*/\1/p' <<<"$SCAN")
	log "$K keywords: load ${LOAD}s, replay ${T}s, hs_scan ${ST}s over $DEC decoded bytes"
	ROWS+=$(awk -v k="$K" -v load="$LOAD" -v t="$T" -v t0="$T_NORULES" -v st="$ST" -v ss="$SS" -v dec="$DEC" -v cap="$CAP_BYTES" -v al="$ALERTED" \
		'BEGIN {stage = t - t0; if (stage < 0.0005) stage = 0.0005;
		 printf "| %s | %.2f | %.3f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %s |\n",
		 k, load, t, cap/t/1e6, dec/t/1e6, dec/stage/1e6, dec/st/1e6, dec/ss/1e6, st/t, st/stage, al}')
	ROWS+=$'\n'
	eval "T_$K=$T"
done

# ClamAV: the same capture with the test signature directory, no rules.
printf 'internal_networks = ["10.0.0.0/8"];\nstore = { enabled = false; };\nattachments = { clamav_db_dir = "%s"; };\n' \
	"$SRC/tests/data/clamav" >"$WORK/av.conf"
read -r T_AV _ < <(replay_best "$WORK/av.conf")
"$POSTERN" replay --config "$WORK/av.conf" --output "$WORK/av.jsonl" "$CAP" 2>/dev/null
ATT_BYTES=$(grep '"type":"stats"' "$WORK/av.jsonl" | sed -n 's/.*"attachment_bytes":\([0-9]*\).*/\1/p')

FIRST=${KEYWORDS%% *} LAST=${KEYWORDS##* }
eval "TF=\$T_$FIRST; TL=\$T_$LAST"
{
	echo "## Rules benchmark"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$SRC" rev-parse --short HEAD)"
	echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs"
	echo "- capture: $CAP_BYTES bytes (\`gen_smtp_pcap --seed $SEED --size $SIZE\`); best of $RUNS runs"
	echo "- command: \`bench/rules.sh --size $SIZE --runs $RUNS $BUILD\`"
	echo
	echo "Replay seconds are packet processing only (\`--stats\`); policy loading (Hyperscan compile) is its own column."
	echo "Decoded MB/s: the decoded text and attachment bytes (what the rules scan) per second of the whole replay."
	echo "Scan stage MB/s: the same bytes per second of what the rules add (replay with the rules minus replay with"
	echo "inspection but no rules). hs_scan: one block-mode database of the same patterns over the same decoded parts,"
	echo "in memory; hs stream: the same patterns in streaming mode with postern's flags, in 3 KiB chunks."
	echo
	echo "| keyword rules (+$REGEXES regex) | load s | replay s | capture MB/s | decoded MB/s | scan stage MB/s | hs_scan MB/s | hs stream MB/s | pipeline / hs_scan | scan stage / hs_scan | reasons |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	printf '%s' "$ROWS"
	echo
	echo "- replay with no inspection (\`--no-inspect\`): ${T_NOINSPECT} s; inspection with no rules: ${T_NORULES} s"
	echo "- $FIRST → $LAST keywords: replay time ×$(awk -v a="$TL" -v b="$TF" 'BEGIN {printf "%.2f", a/b}')"
	echo "- ClamAV (test signatures, \`tests/data/clamav\`): ${T_AV} s vs ${T_NORULES} s without, over $ATT_BYTES attachment bytes:" \
		"$(awk -v a="$T_AV" -v b="$T_NORULES" -v n="$ATT_BYTES" 'BEGIN {printf "%.2f ms per MB", (a-b)*1000/(n/1e6)}')"
}
