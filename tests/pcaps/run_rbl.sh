#!/bin/bash
# Block lists end to end: replay the content captures with block lists on,
# against a real unbound serving the test zones (tests/dns/) on loopback, and
# compare with expected/rbl/.  Run twice: the output must not depend on DNS
# timing.
#
#   run_rbl.sh POSTERN [--update]
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
POSTERN=$1
case $POSTERN in /*) ;; *) POSTERN=$PWD/$POSTERN ;; esac
UPDATE=0
[ "${2:-}" = --update ] && UPDATE=1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pst-rbl.XXXXXX")
cleanup() { "$HERE/../dns/unbound.sh" stop "$TMP/dns" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
export LC_ALL=C TZ=UTC

# A free port: bind port 0 and read what the kernel chose.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$HERE/../dns/unbound.sh" start "$TMP/dns" "$PORT" || { echo "FAIL: cannot start unbound"; exit 1; }

POL=$HERE/content/policy
cat >"$TMP/postern.conf" <<CONF
internal_networks = ["10.98.0.1/32", "10.98.0.2/32"];
rules = ["$POL/content.rules"];
attachments = { hash_list = "$POL/hashes.txt"; clamav_db_dir = "$POL/clamav"; };
rbl = {
  enabled = true;
  direction = "inbound";
  threshold = 2;
  servers = "127.0.0.1:$PORT";
  timeout_ms = 1000;
  lists = (
    { zone = "bl.test"; type = "ip"; weight = 1; },
    { zone = "bl2.test"; type = "ip"; weight = 1; },
    { zone = "dbl.test"; type = "domain"; weight = 1; }
  );
};
store = { enabled = false; };
CONF

pass=0 fail=0
mkdir -p "$HERE/expected/rbl"
for name in content_inbound_spam content_clean content_korean_euckr; do
	for run in 1 2; do
		(cd "$HERE/content" && "$POSTERN" replay --config "$TMP/postern.conf" "$name.pcap") \
			>"$TMP/$name.$run.jsonl" 2>"$TMP/$name.$run.err"
		echo $? >"$TMP/$name.$run.rc"
	done
	exp=$HERE/expected/rbl/$name.jsonl
	if ! cmp -s "$TMP/$name.1.jsonl" "$TMP/$name.2.jsonl"; then
		echo "FAIL $name: two replays differ"; diff "$TMP/$name.1.jsonl" "$TMP/$name.2.jsonl" | head -20
		fail=$((fail + 1)); continue
	fi
	if [ "$(cat "$TMP/$name.1.rc")" != 0 ]; then
		echo "FAIL $name: exit $(cat "$TMP/$name.1.rc")"; cat "$TMP/$name.1.err"
		fail=$((fail + 1)); continue
	fi
	if [ $UPDATE = 1 ]; then
		cp "$TMP/$name.1.jsonl" "$exp"; echo "updated $name"; pass=$((pass + 1)); continue
	fi
	if cmp -s "$exp" "$TMP/$name.1.jsonl"; then
		echo "ok   $name"; pass=$((pass + 1))
	else
		echo "FAIL $name: differs from expected/rbl/$name.jsonl"
		diff -u "$exp" "$TMP/$name.1.jsonl" | head -40
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
