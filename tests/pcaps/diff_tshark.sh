#!/bin/bash
# Differential test: the mail messages postern reconstructs against the ones
# Wireshark's IMF export writes, compared by content, for every capture under
# tests/pcaps/{public,made,crafted}.
#
#   diff_tshark.sh POSTERN [--verbose] [--keep] [NAME...]
#
# For each capture FILE:
#   tshark -r FILE -d tcp.port==2525,smtp --export-objects imf,T
#   POSTERN replay --extract-messages P FILE      (P/<flow id>-<tx>.eml)
# and the two sets are compared as multisets of sha256 digests (file names
# differ).  A difference must be listed in diff_tshark_exceptions.txt with the
# exact sizes of the messages found on one side only (see that file); a listed
# difference that does not match exactly, or that no longer occurs, fails.
#
# What tshark 4.0's IMF export writes (checked on the captures here, see
# made/made_dot_stuffing.pcap and crafted/crafted_baseline.pcap):
#  * one object per DATA section it saw end: the bytes after the 354 reply up to
#    and INCLUDING the CRLF that precedes the terminating ".", without ".CRLF"
#    (crafted_baseline: 769 DATA bytes on the wire -> 766-byte object);
#    EXCEPT when the last line of the message is empty: then the CRLF of that
#    empty line is dropped too (made_plain: wire "Alice CRLF CRLF CRLF . CRLF",
#    object ends "Alice CRLF CRLF", postern's "Alice CRLF CRLF CRLF");
#  * retransmitted segments with different bytes: tshark uses the later bytes,
#    sometimes splicing them in (smtp_long_data_line, smtp_wireshark_2009...);
#    postern keeps the first-seen bytes;
#  * command lines pipelined in the same segment as DATA can end up inside the
#    object (smtp_pipelining_postfix, smtp_mime_long_filename);
#  * NOT dot-unstuffed: a wire line "..x" stays "..x" (made_dot_stuffing);
#    this script therefore removes one leading "." from every line of tshark's
#    objects before hashing, which gives the message as the server got it;
#  * when "CRLF.CRLF" is split over TCP segments in certain ways it misses the
#    end of data and exports nothing (crafted_split_terminator: ".", "\r",
#    "\n" in separate segments; public smtp_helo_fallback_b64_html);
#  * BDAT: in general nothing is exported for CHUNKING transfers (made_bdat_chunks,
#    smtp_bdat_27chunks, smtp_bdat_2mails_rset...); a BDAT message whose chunk
#    sits in one segment can still be dissected as IMF (smtp_bdat_nonascii_subject);
#  * an attached message/rfc822 part is dissected as IMF again and exported as
#    a separate, additional object (smtp_rfc822_attach_ipv6,
#    smtp_bdat_nonascii_subject);
#  * file names come from the Subject ("" -> ".eml", repeats get "(n)");
#  * content after a rejected DATA, or DATA that was never accepted, can still
#    be exported (smtp_invalid_transactions);
#  * after a RST (even one far outside the window) the stream is torn down.
# postern writes the reconstructed message itself: dot-unstuffed DATA content
# including the CRLF of its last line (without ".CRLF"), or the concatenated
# BDAT chunks.
#
# Exit status: 0 pass, 1 failure, 2 usage, 77 (skip) without tshark.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
pcap_script_init "usage: $0 POSTERN [--verbose] [--keep] [NAME...]" verbose "$@"
VERBOSE=$FLAG_SET
command -v tshark >/dev/null || { echo "tshark not found: skipped"; exit 77; }
command -v perl >/dev/null || { echo "perl not found" >&2; exit 2; }

EXC=$HERE/diff_tshark_exceptions.txt
pcap_tmpdir pst-difftshark

# Exceptions: "<dir>/<file> only_tshark=<sizes> only_postern=<sizes> <reason>"
# sizes = comma-separated byte sizes in ascending order, or "-" for none.
declare -A EX_T EX_P EX_USED
if [ -f "$EXC" ]; then
	while read -r file t p reason; do
		[[ -z $file || $file == \#* ]] && continue
		if [[ $t != only_tshark=* || $p != only_postern=* || -z $reason ]]; then
			echo "bad line in $(basename "$EXC"): $file $t $p $reason" >&2; exit 2
		fi
		[ -n "${EX_T[$file]:-}" ] && { echo "duplicate exception for $file" >&2; exit 2; }
		EX_T[$file]=${t#only_tshark=}
		EX_P[$file]=${p#only_postern=}
	done <"$EXC"
fi

# "sha256 size" per file in directory $1, tshark objects unstuffed when $2=1.
digests() {
	local dir=$1 unstuff=$2 f norm=$TMP/norm
	# (tshark's names can be at the length limit: no suffix added to them)
	find "$dir" -type f -print0 | while IFS= read -r -d '' f; do
		if [ "$unstuff" = 1 ]; then
			perl -pe 's/^\.//' <"$f" >"$norm"
		else
			cp "$f" "$norm"
		fi
		printf '%s %s\n' "$(sha256sum <"$norm" | cut -d' ' -f1)" "$(stat -c %s "$norm")"
	done | sort
}

sizes_of() { # lines "sha size" on stdin -> "s1,s2" or "-"
	local s
	s=$(cut -d' ' -f2 | sort -n | paste -sd, -)
	echo "${s:--}"
}

pass=0 fail=0
failed=()
shopt -s nullglob
for dir in public made crafted; do
	for pcap in "$HERE/$dir"/*.pcap "$HERE/$dir"/*.pcapng; do
		name=$(basename "$pcap")
		key=$dir/$name
		selected "$name" || continue
		w=$TMP/$dir/$name
		mkdir -p "$w/tshark" "$w/postern"
		tshark -r "$pcap" -d tcp.port==2525,smtp --export-objects "imf,$w/tshark" -q \
			>/dev/null 2>"$w/tshark.err"
		(cd "$HERE/$dir" && "$POSTERN" replay --extract-messages "$w/postern" "$name") \
			>"$w/postern.jsonl" 2>"$w/postern.err"
		rc=$?
		if [ $rc -ge 126 ]; then
			echo "FAIL $key: postern died (exit $rc)"; sed 's/^/    /' "$w/postern.err" | head
			fail=$((fail + 1)); failed+=("$key"); continue
		fi
		digests "$w/tshark" 1 >"$w/t.sum"
		digests "$w/postern" 0 >"$w/p.sum"
		# Multiset difference: comm on sorted lines keeps duplicates apart.
		only_t=$(comm -23 "$w/t.sum" "$w/p.sum" | sizes_of)
		only_p=$(comm -13 "$w/t.sum" "$w/p.sum" | sizes_of)
		nt=$(wc -l <"$w/t.sum") np=$(wc -l <"$w/p.sum")
		want_t=${EX_T[$key]:--} want_p=${EX_P[$key]:--}
		[ -n "${EX_T[$key]:-}" ] && EX_USED[$key]=1
		if [ "$only_t" = "$want_t" ] && [ "$only_p" = "$want_p" ]; then
			pass=$((pass + 1))
			if [ $VERBOSE = 1 ]; then
				echo "ok   $key: tshark $nt, postern $np messages; only tshark: $only_t; only postern: $only_p"
			fi
		else
			echo "FAIL $key: tshark $nt, postern $np messages"
			echo "     only in tshark : $only_t (listed: $want_t)"
			echo "     only in postern: $only_p (listed: $want_p)"
			fail=$((fail + 1)); failed+=("$key")
		fi
	done
done

if [ ${#FILTERS[@]} = 0 ]; then
	for k in "${!EX_T[@]}"; do
		if [ -z "${EX_USED[$k]:-}" ]; then
			echo "FAIL exception for $k: no such capture"
			fail=$((fail + 1)); failed+=("$k")
		fi
	done
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ] || { printf '  failed: %s\n' "${failed[@]}"; exit 1; }
exit 0
