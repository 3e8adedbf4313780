#!/usr/bin/env bash
# Webmail control benchmark: `postern replay` on a generated capture of
# Roundcube 1.6 sessions over HTTP (bench/gen_http_pcap.py), with three
# configurations measured in the same run:
#   (a) webmail off: HTTP not parsed (the baseline; postern stops delivering
#       a flow's bytes once they are known not to be SMTP, so this is decoding
#       and flow tracking rather than full reassembly: the report says how
#       many bytes were delivered);
#   (b) webmail on with the signatures: HTTP parsing, form decoding, send and
#       upload detection, field extraction; no rules, no services;
#   (c) as (b) plus 100 keyword rules and kr_rrn/card/email detectors on the
#       webmail scopes and a deny entry for the service (redirect), so every
#       send is judged and blocked.
#
#   bench/webmail.sh [options] [BUILD_DIR]     (BUILD_DIR default /work/build-bench)
#
# Builds nothing: BUILD_DIR must hold postern/postern.  Prints a markdown
# report on standard output; progress goes to standard error.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: bench/webmail.sh [options] [BUILD_DIR]
  --connections N  keep-alive Roundcube sessions in the capture (default 700, about 100 MB)
  --body-kb K      KiB of message text per send (default 20)
  --attach-kb K    KiB of attachment per upload (default 100)
  --send-form F    the send's form encoding: urlencoded (default) or multipart
  --seed N         generator seed (default 1)
  --runs N         timed runs per configuration (default 3)
  --signatures P   webmail signature file or directory (default <repo>/etc/webmail)
  --data-dir DIR   where the capture goes (default: a temporary directory, removed at the end)
  --keep           keep the capture and reuse an existing one with the same parameters
                   (default DIR with --keep: /work/bench-data)
  --report FILE    also write the markdown report to FILE
EOF
}

SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP_DATA=0 CONNS=700 BODY_KB=20 ATTACH_KB=100 SEND_FORM=urlencoded SEED=1 RUNS=3 DATA_DIR="" KEEP=0 REPORT=""
SIGS=$SRC/etc/webmail
BUILD=/work/build-bench
while [ $# -gt 0 ]; do
	case "$1" in
	--connections) CONNS=$2; shift 2 ;;
	--body-kb) BODY_KB=$2; shift 2 ;;
	--attach-kb) ATTACH_KB=$2; shift 2 ;;
	--send-form) SEND_FORM=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--signatures) SIGS=$2; shift 2 ;;
	--data-dir) DATA_DIR=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--report) REPORT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "webmail.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) BUILD=$1; shift ;;
	esac
done

GEN=$SRC/bench/gen_http_pcap.py
POSTERN=$BUILD/postern/postern
[ -x "$POSTERN" ] || { echo "webmail.sh: $POSTERN missing: ninja -C $BUILD postern/postern" >&2; exit 2; }
[ -e "$SIGS" ] || { echo "webmail.sh: no webmail signatures at $SIGS (--signatures PATH)" >&2; exit 2; }
SIGS=$(cd "$(dirname "$SIGS")" && pwd)/$(basename "$SIGS")
command -v python3 >/dev/null 2>&1 || { echo "webmail.sh: python3 missing (the generator needs it)" >&2; exit 2; }
# Peak RSS: /usr/bin/time -f %M, else the children's ru_maxrss through python3.
RSS_HOW="/usr/bin/time -f %M"
[ -x /usr/bin/time ] || RSS_HOW="python3 resource.getrusage(RUSAGE_CHILDREN).ru_maxrss"

if [ -z "$DATA_DIR" ]; then
	if [ "$KEEP" = 1 ]; then
		DATA_DIR=/work/bench-data
	else
		DATA_DIR=$(mktemp -d /tmp/postern-webmail.XXXXXX)
		TMP_DATA=1
	fi
fi
mkdir -p "$DATA_DIR"
WORK=$(mktemp -d /tmp/postern-webmail-work.XXXXXX)
trap 'rm -rf "$WORK"; if [ "$TMP_DATA" = 1 ]; then rm -rf "$DATA_DIR"; fi' EXIT

log() { echo "webmail.sh: $*" >&2; }

# timed_rss OUT_RSS CMD...: runs CMD with standard output to /dev/null and
# writes its peak RSS (KiB) to OUT_RSS.
timed_rss() {
	local out=$1; shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o "$out.time" "$@" >/dev/null && tail -1 "$out.time" >"$out"
	else
		python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL).returncode
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r)' "$out" "$@"
	fi
}

# measure NAME CMD...: runs CMD $RUNS times; wall seconds (CLOCK_MONOTONIC
# through date) and peak RSS (KiB) per run in $WORK/NAME.wall and .rss.
measure() {
	local name=$1; shift
	: >"$WORK/$name.wall"; : >"$WORK/$name.rss"
	for ((i = 1; i <= RUNS; i++)); do
		local t0 t1
		t0=$(date +%s%N)
		if ! timed_rss "$WORK/$name.one" "$@" 2>"$WORK/$name.err"; then
			log "$name failed: $*"; cat "$WORK/$name.err" >&2; return 1
		fi
		t1=$(date +%s%N)
		echo "$(( (t1 - t0) / 1000 ))" | awk '{printf "%.3f\n", $1 / 1e6}' >>"$WORK/$name.wall"
		cat "$WORK/$name.one" >>"$WORK/$name.rss"
		log "$name run $i: $(tail -1 "$WORK/$name.wall") s, $(tail -1 "$WORK/$name.rss") KiB"
	done
}
best() { sort -g "$1" | head -1; }
median() { sort -g "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
maxof() { sort -g "$1" | tail -1; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN {printf f, (b > 0) ? a / b : 0}'; }

# ---- capture ---------------------------------------------------------------
CAP=$DATA_DIR/http-roundcube-${CONNS}c-${BODY_KB}k-${SEND_FORM}-${ATTACH_KB}k-seed${SEED}.pcap
GEN_NOTE="reused" GEN_SUMMARY="(reused; generator summary not recorded)"
if [ "$KEEP" = 1 ] && [ -s "$CAP" ]; then
	log "reusing $CAP"
	[ -s "$CAP.summary" ] && GEN_SUMMARY=$(sed 's/^gen_http_pcap: //' "$CAP.summary" | tr '\n' ' ')
else
	log "generating $CAP"
	t0=$(date +%s%N)
	python3 "$GEN" --connections "$CONNS" --body-kb "$BODY_KB" --send-form "$SEND_FORM" --attach-kb "$ATTACH_KB" --seed "$SEED" \
		"$CAP" 2>"$WORK/gen.err" || { cat "$WORK/gen.err" >&2; exit 1; }
	t1=$(date +%s%N)
	GEN_NOTE="generated in $(fdiv "$(( (t1 - t0) / 1000 ))" 1000000 %.2f) s"
	GEN_SUMMARY=$(sed 's/^gen_http_pcap: //' "$WORK/gen.err" | tr '\n' ' ')
	cp "$WORK/gen.err" "$CAP.summary"
fi
REQUESTS=$((3 * CONNS)) # in the capture: one GET, one upload and one send per connection
CAP_BYTES=$(stat -c %s "$CAP")
cat "$CAP" >/dev/null # warm the page cache: every run reads from memory

# ---- configurations --------------------------------------------------------
COMMON='internal_networks = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
store = { enabled = false; };'
printf '%s\nwebmail = { enabled = false; };\n' "$COMMON" >"$WORK/a.conf"
printf '%s\nwebmail = { signatures = "%s"; };\n' "$COMMON" "$SIGS" >"$WORK/b.conf"

# (c)'s rules: 100 keywords (a few occur in the generated text: "contract",
# "invoice" and "budget"; the rest are project names that do not), the
# kr_rrn and card detectors on the body and the email detector on the
# recipients.  Every action is alert: the block comes from the service entry.
{
	echo "rules = ("
	for ((k = 0; k < 97; k++)); do
		printf '  { id = "kw%03d"; scope = ["webmail.body", "webmail.subject"]; keyword = "project-falcon-%03d"; },\n' "$k" "$k"
	done
	for w in contract invoice budget; do
		printf '  { id = "kw-%s"; scope = ["webmail.body", "webmail.subject"]; keyword = "%s"; nocase = true; },\n' "$w" "$w"
	done
	echo '  { id = "rrn"; scope = "webmail.body"; detector = "kr_rrn"; },'
	echo '  { id = "card"; scope = "webmail.body"; detector = "card"; },'
	echo '  { id = "recipients"; scope = "webmail.to"; detector = "email"; threshold = 2; }'
	echo ");"
} >"$WORK/c.rules"
cat >"$WORK/c.conf" <<EOF
$COMMON
rules = ["$WORK/c.rules"];
webmail = {
  signatures = "$SIGS";
  block_page = "http://intranet.example.test/blocked/webmail";
  services = (
    { name = "bench-webmail"; domains = ["mail.example.test"]; list = "deny"; action = "redirect"; }
  );
};
EOF

# ---- untimed runs: what was reconstructed and judged ------------------------
for c in a b c; do
	"$POSTERN" replay --stats --config "$WORK/$c.conf" "$CAP" >"$WORK/$c.jsonl" 2>"$WORK/$c.err" ||
		{ log "($c) failed:"; cat "$WORK/$c.err" >&2; exit 1; }
	# policy loading (rules compiled, signatures read) is part of each timed run
	sed -n 's/^policy load \([0-9.]*\) s.*/\1/p' "$WORK/$c.err" >"$WORK/$c.load"
done
# summary FILE: requests, sends, uploads, judged-redirect counts and stats.
summary() {
	python3 - "$1" <<'EOF'
import collections, json, sys
reqs = 0
kinds = collections.Counter()
verdicts = collections.Counter()
redirected = collections.Counter()
anomalies = collections.Counter()
stats = {}
delivered = payload = 0
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    t = e.get("type")
    if t == "stats":
        stats = e
    if t == "flow":
        for d in ("to_server", "to_client"):
            delivered += e.get(d, {}).get("delivered", 0)
            payload += e.get(d, {}).get("bytes", 0)
    if t != "http_request":
        continue
    reqs += 1
    k = e.get("webmail", {}).get("kind", "none")
    kinds[k] += 1
    v = e.get("verdict", "-")
    verdicts["%s:%s" % (k, v)] += 1
    if v == "redirect":
        redirected[k] += 1
    for a in e.get("anomalies", []):
        anomalies[a] += 1
app = stats.get("app", {})
print("REQS=%d" % reqs)
print("DELIVERED=%d" % delivered)
print("PAYLOAD=%d" % payload)
print("SENDS=%d" % kinds["send"])
print("UPLOADS=%d" % kinds["upload"])
print("REDIRECTED=%d" % (redirected["send"] + redirected["upload"]))
print("REDIRECTED_SENDS=%d" % redirected["send"])
print("REDIRECTED_UPLOADS=%d" % redirected["upload"])
print("BY_KIND='%s'" % ", ".join("%s %d" % kv for kv in sorted(verdicts.items())))
print("ANOMALIES='%s'" % (", ".join("%s %d" % kv for kv in sorted(anomalies.items())) or "none"))
for k in ("http_requests", "http_inspected", "webmail_sends", "webmail_uploads", "webmail_blocked",
          "redirects", "uploads_carried", "dropped_after_reset", "resets"):
    print("ST_%s=%s" % (k, app.get(k, "?")))
c = stats.get("content", {})
print("ST_text_bytes=%s" % c.get("text_bytes", "?"))
print("ST_attachment_bytes=%s" % c.get("attachment_bytes", "?"))
print("ST_alerted=%s" % c.get("alerted", "?"))
EOF
}
for c in a b c; do
	summary "$WORK/$c.jsonl" | sed "s/^/${c^^}_/" >"$WORK/$c.sum"
	# shellcheck disable=SC1090
	. "$WORK/$c.sum"
done
log "(a) $A_REQS requests; (b) $B_REQS requests, $B_SENDS sends, $B_UPLOADS uploads;" \
	"(c) $C_REDIRECTED_SENDS sends and $C_REDIRECTED_UPLOADS uploads redirected"
# Each connection makes one upload and one send.  replay judges every
# request (it sends no 302 and resets nothing), so a redirected upload does
# not stop the send that follows on its connection: both are counted.
SANE=1
[ "$C_REDIRECTED_SENDS" = "$CONNS" ] && [ "$C_REDIRECTED_UPLOADS" = "$CONNS" ] || SANE=0
[ "$SANE" = 1 ] || log "warning: (c) redirected $C_REDIRECTED_SENDS sends and $C_REDIRECTED_UPLOADS uploads, expected $CONNS of each (one per connection)"
B_SANE=1
[ "$B_REQS" = "$REQUESTS" ] && [ "$B_SENDS" = "$CONNS" ] && [ "$B_UPLOADS" = "$CONNS" ] || B_SANE=0
[ "$B_SANE" = 1 ] || log "warning: (b) found $B_REQS requests, $B_SENDS sends, $B_UPLOADS uploads; the capture has $REQUESTS, $CONNS, $CONNS"

# ---- timed runs --------------------------------------------------------------
for c in a b c; do
	measure "$c" "$POSTERN" replay --config "$WORK/$c.conf" "$CAP"
done

# ---- report ------------------------------------------------------------------
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
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$b" "$m" \
		"$(awk -v a="$CAP_BYTES" -v b="$b" 'BEGIN {printf "%.1f", (b > 0) ? a / b / 1e6 : 0}')" \
		"$(fdiv "$REQUESTS" "$b" %.0f)" "$(maxof "$WORK/$n.rss")" "$(cat "$WORK/$n.load")"
}
# ratio X: throughput of X relative to (a), best runs (time(a) / time(X)).
ratio() { fdiv "$(best "$WORK/a.wall")" "$(best "$WORK/$1.wall")" %.2f; }
ratio_med() { fdiv "$(median "$WORK/a.wall")" "$(median "$WORK/$1.wall")" %.2f; }

{
	echo "## Webmail control benchmark"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- commit: $COMMIT$DIRTY"
	echo "- machine: $CPU, $(nproc) CPUs, $RAM RAM, Linux $(uname -r)"
	echo "- build: $BUILD ($BUILDTYPE, $CC_VER)"
	echo "- capture: $(fdiv "$CAP_BYTES" 1000000 %.1f) MB ($CAP_BYTES bytes), $CONNS connections, $REQUESTS HTTP requests" \
		"(\`gen_http_pcap.py --connections $CONNS --body-kb $BODY_KB --send-form $SEND_FORM --attach-kb $ATTACH_KB --seed $SEED\`; $GEN_NOTE)"
	echo "- generator: $GEN_SUMMARY"
	echo "- signatures: $SIGS"
	echo "- runs: $RUNS per configuration, page cache warm, events to /dev/null; peak RSS by $RSS_HOW"
	echo
	echo "| configuration | best s | median s | MB/s (best, 10^6 B) | requests/s (best) | peak RSS KiB | of which policy load s |"
	echo "|---|---|---|---|---|---|---|"
	row a "(a) webmail off: flows tracked, HTTP not parsed"
	row b "(b) webmail on, signatures: detection + fields"
	row c "(c) (b) + 103 rules on webmail scopes + deny/redirect"
	echo
	echo "Throughput relative to (a), best runs (median runs): (b)/(a) = $(ratio b) ($(ratio_med b))," \
		"(c)/(a) = $(ratio c) ($(ratio_med c)). Times are whole runs, policy loading included (its" \
		"last column, from an untimed \`--stats\` run: reading the signatures, compiling the rules)."
	echo
	echo "What each configuration reported (untimed run, events kept):"
	echo
	echo "| | TCP bytes delivered / carried | http_request events | sends | uploads | verdicts (kind:verdict) | request anomalies | stats: inspected, blocked, redirects, uploads carried, dropped after reset | text / attachment bytes scanned |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for c in a b c; do
		U=${c^^}
		eval "printf '| (%s) | %s / %s | %s | %s | %s | %s | %s | %s, %s, %s, %s, %s | %s / %s |\n' $c \
			\"\$${U}_DELIVERED\" \"\$${U}_PAYLOAD\" \"\$${U}_REQS\" \"\$${U}_SENDS\" \"\$${U}_UPLOADS\" \"\$${U}_BY_KIND\" \"\$${U}_ANOMALIES\" \
			\"\$${U}_ST_http_inspected\" \"\$${U}_ST_webmail_blocked\" \"\$${U}_ST_redirects\" \
			\"\$${U}_ST_uploads_carried\" \"\$${U}_ST_dropped_after_reset\" \
			\"\$${U}_ST_text_bytes\" \"\$${U}_ST_attachment_bytes\""
	done
	echo
	echo "Sanity: (c) http_request events of kind send or upload with verdict redirect: **$C_REDIRECTED**" \
		"($C_REDIRECTED_SENDS sends, $C_REDIRECTED_UPLOADS uploads); connections: **$CONNS**" \
		"$([ "$SANE" = 1 ] && echo "(one send and one upload redirected per connection: as expected)" || echo "(**NOT one send and one upload per connection**)")."
	echo "replay sends no 302 and resets nothing, so each connection's send is judged after its upload was: both count."
	echo "With webmail off, (a) tracks every flow but stops delivering a connection's bytes once they are known"
	echo "not to be SMTP (\"TCP bytes delivered\"): it is the cost of decoding and flow tracking, not full reassembly."
	echo "(b) found $B_REQS requests, $B_SENDS sends and $B_UPLOADS uploads of the capture's $REQUESTS, $CONNS and $CONNS" \
		"$([ "$B_SANE" = 1 ] && echo "(all)" || echo "(**some missed**)")."
	echo
	echo "### Commands"
	echo
	echo '```'
	echo "python3 $GEN --connections $CONNS --body-kb $BODY_KB --send-form $SEND_FORM --attach-kb $ATTACH_KB --seed $SEED CAP"
	for c in a b c; do echo "$POSTERN replay --config $c.conf CAP >/dev/null"; done
	echo '```'
	echo "peak RSS by $RSS_HOW; wall time from \`date +%s%N\` around it. Configurations:"
	echo
	echo '```'
	for c in a b; do echo "# $c.conf"; cat "$WORK/$c.conf"; done
	echo "# c.conf"; sed "s|$WORK/||" "$WORK/c.conf"
	echo "# c.rules (abridged)"; sed -n '1,3p' "$WORK/c.rules"; echo "  ..."; tail -7 "$WORK/c.rules"
	echo '```'
} | tee "${REPORT:-/dev/null}"
