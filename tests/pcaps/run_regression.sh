#!/bin/bash
# Pcap regression test.
#
#   run_regression.sh POSTERN [--update] [--keep] [NAME...]
#
# For every *.pcap / *.pcapng under tests/pcaps/{public,made,crafted,content}
# (or only those whose file name contains one of the NAMEs), run
#     POSTERN replay --config CONF FILE
# twice, where CONF is <dir>/policy/postern.conf when the directory has its own
# policy and policy/regression.conf otherwise, and require
#   1. identical stdout and exit status both times (determinism);
#   2. stdout byte-for-byte equal to expected/<dir>/<stem>.jsonl
#      (<stem> = file name without .pcap/.pcapng); a diff is shown otherwise;
#   3. exit status 0, or the status written in expected/<dir>/<stem>.exit when
#      that file exists (e.g. a capture that ends in the middle of a record).
# Expected files whose capture is gone are reported as stale (failure).
#
# --update rewrites the expected files (and .exit files) from the current
# output instead of comparing; review the git diff before committing.
# --keep leaves the temporary directory with the outputs for inspection.
#
# Exit status: 0 all passed, 1 a failure, 2 usage error (meson: any non-zero
# but 77 fails the test).
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
pcap_script_init "usage: $0 POSTERN [--update] [--keep] [NAME...]" update "$@"
UPDATE=$FLAG_SET
EXP=$HERE/expected
# Same locale and time zone for every run: postern must not depend on them,
# but a diff of the expected files must not either.
pcap_tmpdir pst-regress

pass=0 fail=0 updated=0
failed=()
declare -A seen

shopt -s nullglob
for dir in public made crafted content webmail; do
	conf=$HERE/policy/regression.conf
	[ -f "$HERE/$dir/policy/postern.conf" ] && conf=$HERE/$dir/policy/postern.conf
	# The webmail captures are judged by the content policy (its rules have
	# webmail scopes; its webmail group lists their hosts).
	[ "$dir" = webmail ] && conf=$HERE/content/policy/postern.conf
	for pcap in "$HERE/$dir"/*.pcap "$HERE/$dir"/*.pcapng; do
		name=$(basename "$pcap")
		stem=${name%.pcapng}; stem=${stem%.pcap}
		key=$dir/$stem
		if [ -n "${seen[$key]:-}" ]; then
			echo "FAIL $key: two captures with the same stem (${seen[$key]} and $name)"
			fail=$((fail + 1)); failed+=("$key"); continue
		fi
		seen[$key]=$name
		selected "$name" || continue
		mkdir -p "$TMP/$dir"
		out1=$TMP/$dir/$stem.1.jsonl out2=$TMP/$dir/$stem.2.jsonl
		# Run from the capture's directory with a relative name: output that
		# mentions the file must not depend on where the tree is checked out.
		(cd "$HERE/$dir" && "$POSTERN" replay --config "$conf" "$name") >"$out1" 2>"$TMP/$dir/$stem.1.err"
		rc1=$?
		(cd "$HERE/$dir" && "$POSTERN" replay --config "$conf" "$name") >"$out2" 2>"$TMP/$dir/$stem.2.err"
		rc2=$?

		if ! cmp -s "$out1" "$out2" || [ $rc1 != $rc2 ]; then
			echo "FAIL $key: two replays differ (exit $rc1 vs $rc2)"
			diff -u "$out1" "$out2" | head -40
			fail=$((fail + 1)); failed+=("$key"); continue
		fi
		if [ $rc1 -ge 126 ]; then
			echo "FAIL $key: postern died (exit $rc1)"
			sed 's/^/    stderr: /' "$TMP/$dir/$stem.1.err" | head -20
			fail=$((fail + 1)); failed+=("$key"); continue
		fi

		exp=$EXP/$dir/$stem.jsonl
		expx=$EXP/$dir/$stem.exit
		if [ $UPDATE = 1 ]; then
			mkdir -p "$EXP/$dir"
			if ! cmp -s "$out1" "$exp"; then cp "$out1" "$exp"; updated=$((updated + 1)); echo "updated $key"; fi
			if [ $rc1 != 0 ]; then echo "$rc1" >"$expx"; else rm -f "$expx"; fi
			pass=$((pass + 1))
			continue
		fi

		want_rc=0
		[ -f "$expx" ] && want_rc=$(cat "$expx")
		ok=1
		if [ ! -f "$exp" ]; then
			echo "FAIL $key: no expected file $exp (run with --update and review it)"
			ok=0
		elif ! cmp -s "$exp" "$out1"; then
			echo "FAIL $key: output differs from expected/$dir/$stem.jsonl"
			diff -u "$exp" "$out1" | head -60
			ok=0
		fi
		if [ "$rc1" != "$want_rc" ]; then
			echo "FAIL $key: exit status $rc1, expected $want_rc"
			sed 's/^/    stderr: /' "$TMP/$dir/$stem.1.err" | head -20
			ok=0
		fi
		if [ $ok = 1 ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1)); failed+=("$key")
		fi
	done
done

# Expected files for captures that no longer exist.
if [ ${#FILTERS[@]} = 0 ]; then
	for f in "$EXP"/{public,made,crafted,content}/*.{jsonl,exit}; do
		rel=${f#"$EXP"/}
		key=${rel%.*}
		if [ -z "${seen[$key]:-}" ]; then
			if [ $UPDATE = 1 ]; then
				rm -f "$f"; echo "removed stale $rel"
			else
				echo "FAIL stale expected file $rel (no capture $key.pcap/.pcapng)"
				fail=$((fail + 1)); failed+=("$rel")
			fi
		fi
	done
fi

if [ $UPDATE = 1 ]; then
	echo "$pass captures replayed, $updated expected files rewritten"
	exit 0
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ] || { printf '  failed: %s\n' "${failed[@]}"; exit 1; }
exit 0
