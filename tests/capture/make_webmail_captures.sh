#!/bin/bash
# Produce webmail captures with real software: Debian's Roundcube 1.6 (php -S),
# Dovecot and Postfix in a server namespace (tests/webmail/roundcube_lib.sh),
# driven by tests/webmail/roundcube_client.py (a browser's requests) from a
# client namespace across a veth pair.  tcpdump (snaplen 0, port 80) runs in
# the client namespace and writes one pcap per scenario; each sent message is
# checked in the Maildir Postfix delivers to, the draft in Dovecot's Drafts.
# Also writes OUTDIR/README.md (versions, per capture what it holds).
#
#   sudo tests/capture/make_webmail_captures.sh [OUTDIR]   (default: tests/pcaps/webmail)
#
# Traffic never leaves the namespaces: 10.97.80.1/24 <-> 10.97.80.2/24 on the
# veth pair.  Nothing of the system's Roundcube, Dovecot or Postfix config is
# used or changed; everything is removed on exit (trap).  Running it again
# replaces the pcaps (their timestamps, cookies and tokens differ each run).
#
# Needs: root, iproute2, ethtool, tcpdump, postfix, python3, and
# roundcube-core roundcube-sqlite3 php-cli dovecot-imapd.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$SRC_ROOT/tests/pcaps/webmail}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=/usr/bin/python3
CLIENT=$SRC_ROOT/tests/webmail/roundcube_client.py
FIND=$SRC_ROOT/tests/webmail/maildir_find.py

NS_C=pst-wcli
NS_S=pst-wsrv
IF_C=pst-wc
IF_S=pst-ws
C4=10.97.80.1 S4=10.97.80.2
ADDRS_C=("$C4/24")
ADDRS_S=("$S4/24")

. "$HERE/netns_lib.sh"
. "$SRC_ROOT/tests/webmail/roundcube_lib.sh"
netns_require ip ethtool tcpdump postfix $PY php dovecot
rc_require
netns_begin pst-webmail
trap 'rc_server_stop; cleanup' EXIT INT TERM
netns_setup
rc_postfix_start "$NS_S" "$S4"
rc_server_start "$NS_S" "$S4" "$S4"

# --- files the scenarios send -------------------------------------------------
F=$WORK/files
mkdir -p "$F"
printf 'Hello Bob,\n\nthe minutes of Monday'"'"'s meeting are below.\n1. budget approved\n2. next meeting on Friday\n\nAlice\n' >"$F/plain.txt"
printf '안녕하세요 밥 님,\n회의 자료를 보내 드립니다.\n\n来週の会議の資料を送ります。よろしくお願いします。\n\nAlice\n' >"$F/utf8.txt"
printf 'Hi Bob,\n\nplease find the invoice and the notes attached.\n\nAlice\n' >"$F/attach.txt"
printf 'meeting notes\n- item one\n- item two\n' >"$F/notes.txt"
$PY "$HERE/make_pdf.py" "$F/invoice.pdf" "Invoice 2026-1147: 1,250.00 EUR"
printf 'Hi Bob,\n\nthe invoice is attached.\n\nAlice\n' >"$F/exe.txt"
# An MZ executable named like a document: DOS header and stub text, padded.
$PY - "$F/invoice.pdf.exe" <<'PY'
import struct, sys
hdr = bytearray(64)
hdr[0:2] = b"MZ"
struct.pack_into("<HHHHHHHHHHHHHH", hdr, 2, 0x90, 3, 0, 4, 0, 0xFFFF, 0, 0xB8, 0, 0, 0, 0x40, 0, 0)
struct.pack_into("<I", hdr, 0x3C, 0x80)
stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$"
data = bytes(hdr) + stub
data += b"\0" * (0x80 - len(data)) + b"PE\0\0" + b"\x4c\x01" + b"\0" * 18
data += b"\0" * (1024 - len(data))
open(sys.argv[1], "wb").write(data)
PY
# DLP: two Korean RRNs with valid check digits (policy/dlp.c), a card-free
# body, the Korean 'confidential' keyword and a project code.
printf '대외비\n\n직원 명단 (인사팀)\n홍길동 900101-1234568\n김영희 850315-2345678\n\nproject FALCON-042 schedule attached later.\n' >"$F/dlp.txt"

ROWS=()
start_http_capture() { # NAME
	rm -f "$WORK/tcpdump.err"
	ip netns exec "$NS_C" tcpdump -i "$IF_C" -s 0 -U --immediate-mode -n -w "$WORK/$1.pcap" 'tcp port 80' 2>"$WORK/tcpdump.err" &
	TCPDUMP_PID=$!
	for _ in $(seq 50); do grep -q listening "$WORK/tcpdump.err" 2>/dev/null && return 0; sleep 0.1; done
	echo "tcpdump did not start" >&2; cat "$WORK/tcpdump.err" >&2; exit 1
}

# scenario NAME KIND HOST SUBJECT TO CC BCC BODYFILE [ATTACH...]
# KIND: browse, send, draft.  Runs the client with capture on, checks the
# outcome, adds a README row.
scenario() {
	local name=$1 kind=$2 host=$3 subject=$4 to=$5 cc=$6 bcc=$7 body=$8
	shift 8
	local args=(--server "$S4" --host "$host" --user "$RC_USER" --password "$RC_PASS" -v)
	local a atts="" n
	case $kind in
	browse) args+=(--browse-only --logout) ;;
	draft) args+=(--draft --to "$to" --subject "$subject" --body-file "$body") ;;
	send) args+=(--to "$to" --cc "$cc" --bcc "$bcc" --subject "$subject" --body-file "$body") ;;
	esac
	for a in "$@"; do
		args+=(--attach "$a")
		atts+="$(basename "$a") ($(stat -c %s "$a") B, sha256 $(sha256sum "$a" | cut -c1-16)…)<br>"
	done
	start_http_capture "$name"
	cli $PY "$CLIENT" "${args[@]}" >"$WORK/$name.out" 2>"$WORK/$name.req" ||
		{ cat "$WORK/$name.out" "$WORK/$name.req" >&2; echo "$name: the webmail client failed" >&2; exit 1; }
	stop_capture "$name"
	# what happened on the server side
	case $kind in
	send)
		local want=0 r
		for r in $to $cc $bcc; do [ -n "$r" ] && want=$((want + 1)); done
		for _ in $(seq 100); do
			n=$($PY "$FIND" "$RC_MAILDIR" "$subject" 2>/dev/null | wc -l)
			[ "$n" -ge "$want" ] && break
			sleep 0.1
		done
		[ "$n" = "$want" ] || { echo "$name: $n of $want copies delivered" >&2; exit 1; }
		if [ $# -gt 0 ]; then
			$PY "$FIND" "$RC_MAILDIR" "$subject" --json | head -n 1 >"$WORK/$name.json"
			for a in "$@"; do
				grep -qF "$(sha256sum "$a" | cut -d' ' -f1)" "$WORK/$name.json" ||
					{ echo "$name: delivered attachment $(basename "$a") differs" >&2; exit 1; }
			done
		fi
		echo "$name: delivered to $want recipients"
		;;
	draft)
		local d="$RC_DIR/imap/$RC_USER/Maildir/.Drafts"
		grep -rlqF "Subject: $subject" "$d" || { echo "$name: no draft in Dovecot's Drafts" >&2; exit 1; }
		$PY "$FIND" "$RC_MAILDIR" "$subject" >/dev/null && { echo "$name: the draft was delivered" >&2; exit 1; }
		echo "$name: saved in Drafts, not delivered"
		;;
	esac
	local reqs
	reqs=$(sed -n 's/^\(GET\|POST\) \([^ ]*\) -> \([0-9]*\).*/\1 \2 → \3/p' "$WORK/$name.req" |
		sed -e 's/_token=[A-Za-z0-9]*/_token=…/' -e 's/_id=[0-9a-f]*/_id=…/' \
			-e 's/_unlock=loading[0-9]*/_unlock=…/' -e 's/_uploadid=upload[0-9]*/_uploadid=…/' |
		paste -sd ';' | sed 's/;/<br>/g')
	local key="-"
	case $kind in
	send) key="send: POST /?_task=mail&_unlock=…&_framed=1 (_action=send, _draft=)" ;;
	draft) key="draft: POST /?_task=mail&_unlock=…&_framed=1 (_action=send, _draft=1)" ;;
	esac
	[ $# -gt 0 ] && key="upload: POST ?_task=mail&_action=upload (multipart _attachments[]);<br>$key"
	ROWS+=("| $name.pcap | $host | $reqs | $key | ${to:--} | ${cc:--} | ${bcc:--} | ${subject:--} | ${atts:--} |")
}

scenario roundcube_browse browse mail.allowed.test "" "" "" "" ""
scenario roundcube_send_plain send mail.allowed.test "Meeting minutes 2026-11" \
	bob@e2e.test carol@e2e.test dave@e2e.test "$F/plain.txt"
scenario roundcube_send_utf8 send mail.allowed.test "회의 자료 / 会議の資料" \
	bob@e2e.test "" "" "$F/utf8.txt"
scenario roundcube_send_attachment send mail.allowed.test "Invoice and notes" \
	bob@e2e.test "" "" "$F/attach.txt" "$F/invoice.pdf" "$F/notes.txt"
scenario roundcube_draft draft mail.allowed.test "Draft: budget ideas" \
	bob@e2e.test "" "" "$F/plain.txt"
scenario roundcube_upload_exe send mail.allowed.test "Invoice 4471" \
	bob@e2e.test "" "" "$F/exe.txt" "$F/invoice.pdf.exe"
scenario roundcube_send_dlp send mail.allowed.test "Staff list" \
	bob@e2e.test "" "" "$F/dlp.txt"
scenario roundcube_send_denied_host send mail.denied.test "Meeting minutes 2026-11 (denied host)" \
	bob@e2e.test carol@e2e.test dave@e2e.test "$F/plain.txt"

versions=$(rc_versions)
{
	cat <<EOF
# Roundcube webmail captures

Made by \`sudo tests/capture/make_webmail_captures.sh\` (regenerates the pcaps and
this file) with real software in two network namespaces joined by a veth pair:
the server namespace (10.97.80.2) runs Debian's Roundcube (\`php -S
10.97.80.2:80 -t /var/lib/roundcube/public_html\`, our own config: SQLite,
no plugins, IMAP 127.0.0.1:143, SMTP 10.97.80.2:25 without auth or TLS),
Dovecot (IMAP on 127.0.0.1:143, one passwd-file user \`$RC_USER\`) and a
private Postfix delivering every @e2e.test recipient to a Maildir
(tests/webmail/roundcube_lib.sh).  The client namespace (10.97.80.1) runs
tests/webmail/roundcube_client.py, which makes the requests Roundcube's
JavaScript makes in a browser (Host header set, no DNS).  tcpdump in the client
namespace, \`tcp port 80\`, snaplen 0.  Every message sent was checked in
the Maildir (one copy per recipient, attachments by sha256), the draft in
Dovecot's Drafts folder and not delivered.

Software: $versions.

Each capture is one login session (one TCP connection per request: php's
built-in server closes each).  Cookies, request tokens, compose ids and times
differ at every run.  The key request is the compose form POST: urlencoded
\`_token, _task=mail, _action=send, _id, _attachments\` (upload ids, comma
separated), \`_from\` (identity id 1), \`_to, _cc, _bcc, _replyto,
_followupto, _subject, _draft_saveid, _draft\` (empty = send, 1 = save a
draft), \`_is_html=0, _framed=1, _message\` (CRLF lines), \`editorSelector\`,
then the compose options \`_mdn, _dsn, _keepformatting, _priority,
_store_target=Sent\`.  Uploads are \`POST
/?_task=mail&_action=upload&_remote=1&_from=compose&_id=…&_uploadid=…&_unlock=…\`
with \`X-Roundcube-Request: <token>\` and a multipart body, field
\`_attachments[]\` with the file name and type (Python's mimetypes:
application/pdf, text/plain, application/x-msdos-program for .exe).
From is always \`$RC_USER\`.

| capture | Host | requests (method path → status) | key request: webmail kind | to | cc | bcc | subject | attachments (name, size, sha256 prefix) |
|---|---|---|---|---|---|---|---|---|
EOF
	printf '%s\n' "${ROWS[@]}"
	cat <<EOF

Bodies (tests/capture/make_webmail_captures.sh writes them): send_plain and
send_denied_host the same ASCII text; send_utf8 Korean and Japanese text
(UTF-8, sent by Roundcube as 8bit/base64 in the mail, urlencoded UTF-8 in the
HTTP form); send_dlp contains the keyword 대외비, two Korean resident
registration numbers with valid check digits (900101-1234568,
850315-2345678) and the project code FALCON-042 (the content rules of
tests/pcaps/content/policy: kr-confidential, rrn with threshold 2,
project-falcon).  send_attachment uploads invoice.pdf (a one-page PDF 1.4
the script writes) and notes.txt, then sends them.  upload_exe uploads invoice.pdf.exe, 1024 bytes of MZ/PE
header (DOS stub text), then sends it.  send_denied_host is send_plain with
Host mail.denied.test (the e2e webmail config denies that domain).

Full sha256 of the attached files:

EOF
	for a in "$F/invoice.pdf" "$F/notes.txt" "$F/invoice.pdf.exe"; do
		printf -- '- %s (%s bytes): %s\n' "$(basename "$a")" "$(stat -c %s "$a")" "$(sha256sum "$a" | cut -d' ' -f1)"
	done
} >"$WORK/README.roundcube"
# The README's other sections (## SOGo, ## Horde IMP, ...: captures made by
# other scripts) are kept after ours.
if [ -f "$OUT/README.md" ]; then
	sed -n '/^## /,$p' "$OUT/README.md" >"$WORK/README.others"
	if [ -s "$WORK/README.others" ]; then
		echo >>"$WORK/README.roundcube"
		cat "$WORK/README.others" >>"$WORK/README.roundcube"
	fi
fi
cp "$WORK/README.roundcube" "$OUT/README.md"
echo "wrote the Roundcube part of $OUT/README.md"
