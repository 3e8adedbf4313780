#!/bin/bash
# Command-line tests of postern check, replay --config/--db and verdicts,
# against the content captures and their policy.
#
#   test_cli.sh POSTERN
#
# Each check prints "ok" or "FAIL"; the last line is "N passed, N failed".
set -u -o pipefail
POSTERN=$1
case $POSTERN in /*) ;; *) POSTERN=$PWD/$POSTERN ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
CONTENT=$HERE/../pcaps/content
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pst-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C TZ=UTC
pass=0 fail=0

check() { # name, then a command that must succeed
	local name=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok   $name"
	else fail=$((fail + 1)); echo "FAIL $name"; fi
}
# status_is WANT cmd...: exit status of cmd equals WANT
status_is() { local want=$1; shift; "$@" >/dev/null 2>&1; [ $? = "$want" ]; }
# stderr_has TEXT cmd...: cmd's standard error contains TEXT
stderr_has() { local text=$1 err; shift; err=$("$@" 2>&1 >/dev/null); grep -qF -- "$text" <<<"$err"; }

# ---- postern check ----
check "check: valid rules and config" status_is 0 "$POSTERN" check \
	"$CONTENT/policy/content.rules" "$CONTENT/policy/postern.conf"
cat >"$TMP/bad.rules" <<'RULES'
rules = (
  { id = "a"; scope = "body"; keyword = "x"; },
  { id = "a"; scope = "body"; keyword = "y"; },
  { id = "b"; scope = "bodyy"; keyword = "z"; },
  { id = "c"; scope = "body"; regex = "(unclosed"; },
  { id = "d"; scope = "body"; keyword = "w"; treshold = 2; }
);
RULES
check "check: errors exit 1" status_is 1 "$POSTERN" check "$TMP/bad.rules"
check "check: duplicate id named with its line" stderr_has "bad.rules:3:" "$POSTERN" check "$TMP/bad.rules"
check "check: bad scope named with its line" stderr_has "bad.rules:4:" "$POSTERN" check "$TMP/bad.rules"
check "check: bad regex named with its line" stderr_has "bad.rules:5:" "$POSTERN" check "$TMP/bad.rules"
check "check: unknown key named with its line" stderr_has "bad.rules:6:" "$POSTERN" check "$TMP/bad.rules"
printf 'rules = (\n  { id = "a" scope = "body"; }\n);\n' >"$TMP/syntax.rules"
check "check: syntax error line" stderr_has "syntax.rules:2" "$POSTERN" check "$TMP/syntax.rules"
check "check: missing file" status_is 1 "$POSTERN" check "$TMP/none.rules"
check "check: usage" status_is 2 "$POSTERN" check
check "check: the config's webmail signatures are counted" \
	bash -c "\"$POSTERN\" check \"$CONTENT/policy/content.rules\" \"$CONTENT/policy/postern.conf\" | grep -q 'webmail: [0-9]* signatures of 7 products, 2 services'"
mkdir -p "$TMP/sigs"
printf 'product = "X";\nsignatures = (\n  { id = "x.send"; kind = "sned"; }\n);\n' >"$TMP/sigs/x.conf"
printf 'webmail = { signatures = "sigs"; };\n' >"$TMP/sigs.conf"
check "check: a bad signature file fails the config" status_is 1 "$POSTERN" check \
	"$CONTENT/policy/content.rules" "$TMP/sigs.conf"
check "check: a bad signature named with file and line" stderr_has "x.conf:3:" "$POSTERN" check \
	"$CONTENT/policy/content.rules" "$TMP/sigs.conf"

# ---- replay --config errors ----
printf 'internal_networks = ["10.0.0.0/33"];\n' >"$TMP/bad.conf"
check "replay: bad config exits 2" status_is 2 "$POSTERN" replay --config "$TMP/bad.conf" \
	"$CONTENT/content_clean.pcap"
check "replay: bad config names file and line" stderr_has "bad.conf:1" "$POSTERN" replay \
	--config "$TMP/bad.conf" "$CONTENT/content_clean.pcap"
printf 'rules = ["%s"];\n' "$TMP/bad.rules" >"$TMP/badrules.conf"
check "replay: bad rules file exits 2" status_is 2 "$POSTERN" replay --config "$TMP/badrules.conf" \
	"$CONTENT/content_clean.pcap"

# ---- replay --db then verdicts ----
(cd "$CONTENT" && "$POSTERN" replay --config policy/postern.conf --db "$TMP/db" ./*.pcap) \
	>"$TMP/events.jsonl" 2>"$TMP/replay.err"
check "replay --db: exit 0" [ $? = 0 ]
decided=$(grep -c '"verdict":' "$TMP/events.jsonl")
resets=$(grep -c '"verdict":"reset"' "$TMP/events.jsonl")
check "replay: some verdicts are reset, some accept" [ "$resets" -gt 0 ] && [ "$resets" -lt "$decided" ]
check "verdicts: one record per decided transaction" \
	[ "$("$POSTERN" verdicts --db "$TMP/db" --json | wc -l)" = "$decided" ]
check "verdicts: --verdict reset" \
	[ "$("$POSTERN" verdicts --db "$TMP/db" --json --verdict reset | wc -l)" = "$resets" ]
check "verdicts: --rule cards finds the DLP mails" \
	[ "$("$POSTERN" verdicts --db "$TMP/db" --json --rule cards | grep -c '"id":"cards"')" -ge 1 ]
check "verdicts: --rule matches only records with that reason" \
	bash -c "! \"$POSTERN\" verdicts --db \"$TMP/db\" --json --rule cards | grep -v '\"id\":\"cards\"' | grep -q ."
check "verdicts: --limit 2 --newest-first" \
	[ "$("$POSTERN" verdicts --db "$TMP/db" --json --limit 2 --newest-first | wc -l)" = 2 ]
check "verdicts: --since after everything lists nothing" \
	[ "$("$POSTERN" verdicts --db "$TMP/db" --json --since 2100-01-01 | wc -l)" = 0 ]
check "verdicts: text output has a header and the reason ids" \
	bash -c "\"$POSTERN\" verdicts --db \"$TMP/db\" --verdict reset | grep -q virus"
# webmail requests are records too: redirects listed and filtered by recipient
WEBMAIL=$(cd "$CONTENT/../webmail" && pwd)
(cd "$WEBMAIL" && "$POSTERN" replay --config ../content/policy/postern.conf --db "$TMP/wdb" ./*.pcap) \
	>"$TMP/wevents.jsonl" 2>"$TMP/wreplay.err"
check "replay --db webmail: exit 0" [ $? = 0 ]
redirects=$(grep -c '"verdict":"redirect"' "$TMP/wevents.jsonl")
check "webmail: some requests redirected" [ "$redirects" -ge 2 ]
check "verdicts: --verdict redirect" \
	[ "$("$POSTERN" verdicts --db "$TMP/wdb" --json --verdict redirect | wc -l)" = "$redirects" ]
check "verdicts: --recipient finds the webmail send to carol" \
	bash -c "\"$POSTERN\" verdicts --db \"$TMP/wdb\" --recipient carol | grep -q 'denied-webmail'"
check "verdicts: bad --since is a usage error" status_is 2 "$POSTERN" verdicts --db "$TMP/db" --since yesterday
check "verdicts: missing store exits 1" status_is 1 "$POSTERN" verdicts --db "$TMP/nothing"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
