#!/bin/bash
# Produce content-inspection captures: real mails (encodings, attachments,
# archives, office documents, EICAR ...) sent by swaks, Python smtplib and
# mutt to a real Postfix across a veth pair between two network namespaces
# that this script creates and removes.  tcpdump runs in the client namespace
# and writes one pcap per scenario.  tests/pcaps/content/README.md lists them.
#
#   sudo tests/capture/make_content_captures.sh [OUTDIR]   (default: tests/pcaps/content)
#
# Addresses exist only inside the namespaces: 10.98.0.1 (internal client) and
# 10.98.0.3 (external client) on one side, 10.98.0.2 (the mail server) on the
# other.  Different namespace, interface names and subnet than
# make_smtp_captures.sh, so both scripts can run at the same time.  The
# Postfix instance is standalone (`postfix -c DIR`) under a temporary
# directory and delivers nothing (discard transport).  Everything is removed
# on exit.  The script also rewrites OUTDIR/policy/hashes.txt and
# OUTDIR/policy/clamav/ (they derive from the files it makes).
#
# Needs: root, iproute2, ethtool, tcpdump, postfix, swaks, mutt, zip, gcc,
# libreoffice (writer + calc), clamav (sigtool), python3.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../pcaps/content}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=/usr/bin/python3
BUILD="$HERE/content/build_content.py"

NS_C=pst-ccli
NS_S=pst-csrv
IF_C=pst-cc
IF_S=pst-cs
C4=10.98.0.1 X4=10.98.0.3 S4=10.98.0.2
ADDRS_C=("$C4/24" "$X4/24")
ADDRS_S=("$S4/24")

. "$HERE/netns_lib.sh"
netns_require ip ethtool tcpdump postfix swaks mutt zip gcc soffice sigtool od $PY
netns_begin pst-content
F=$WORK/files

# --- test files ------------------------------------------------------------------
$PY "$BUILD" files "$WORK"
# Fixed member times so archives made again carry the same bytes (except the
# encrypted one: zip's encryption header is random).
fixtime() { touch -d "2024-01-01 10:00:00 UTC" "$@"; }

# An ELF executable, to be sent under a PDF name.
cat >"$WORK/hello.c" <<'EOF'
/* Exits with status 0: a real ELF binary from the system compiler. */
void _start(void) { __asm__ volatile("mov $60, %eax\n xor %edi, %edi\n syscall"); }
EOF
gcc -Os -s -static -nostdlib -o "$F/hello" "$WORK/hello.c"
cp "$F/hello" "$F/invoice.pdf"

# Office documents from text/CSV (a keyword and card numbers inside OOXML),
# and a PDF for the clean mail.
export HOME=$WORK/home   # LibreOffice and mutt profiles
mkdir -p "$HOME"
(cd "$F" && soffice --headless --convert-to 'docx:MS Word 2007 XML' report.txt >/dev/null 2>&1 \
	&& soffice --headless --convert-to 'xlsx:Calc MS Excel 2007 XML' cards.csv >/dev/null 2>&1 \
	&& soffice --headless --convert-to pdf brochure.txt >/dev/null 2>&1)
for f in report.docx cards.xlsx brochure.pdf; do [ -s "$F/$f" ] || { echo "libreoffice did not make $f" >&2; exit 1; }; done
$PY "$BUILD" docm "$WORK"

fixtime "$F"/*
(
	cd "$F"
	zip -q -X tools.zip setup.exe
	zip -q -X eicar.zip eicar.com
	zip -q -X -P secret salaries.zip customers.csv report.docx
	# Nested three deep: nested.zip > level2.zip > level3.zip > setup.exe, customers.csv
	zip -q -X level3.zip setup.exe customers.csv && fixtime level3.zip
	zip -q -X level2.zip level3.zip && fixtime level2.zip
	zip -q -X nested.zip level2.zip
	# 100 MiB of zeros: about 100 KB deflated.
	zip -q -X -9 backup.zip zeros.img
)
printf 'Lab sample for the body signature: POSTERN-AV-TEST-7f3a91 (not a virus).\r\n' >"$F/av_test.txt"
$PY "$BUILD" mails "$WORK"

# --- policy files that derive from the test files --------------------------------
mkdir -p "$OUT/policy/clamav"
{
	echo "# SHA-256 digests of known-bad files (made by make_content_captures.sh)"
	echo "# quarterly_update.bin, sent in content_hash_listed"
	sha256sum "$F/quarterly_update.bin" | cut -d' ' -f1
} >"$OUT/policy/hashes.txt"
# MD5 signature of the EICAR file: "md5:size:name".
(cd "$F" && sigtool --md5 eicar.com) | sed 's/:eicar\.com$/:Postern.Test.EICAR/' >"$OUT/policy/clamav/postern-test.hdb"
# Body signature (any file type, any offset) for the custom test string.
echo "Postern.Test.BodyString:0:*:$(printf 'POSTERN-AV-TEST-7f3a91' | od -An -tx1 | tr -d ' \n')" \
	>"$OUT/policy/clamav/postern-test.ndb"

netns_setup

# --- Postfix instance ------------------------------------------------------------
# The server is the company's mail gateway: it relays for the internal client
# (outbound mail to partner.example) and accepts mail for corp.pst.test from
# anyone (inbound).  Nothing is delivered: every transport is discard.
postfix_config
cat >>"$CONF/main.cf" <<EOF
myhostname = mx.corp.pst.test
mydomain = corp.pst.test
myorigin = corp.pst.test
mydestination = corp.pst.test, mx.corp.pst.test
inet_interfaces = $S4
inet_protocols = ipv4
mynetworks = $C4/32, 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relay_transport = discard:
smtpd_tls_security_level = none
EOF
postfix_start

# --- scenario helpers ----------------------------------------------------------
# swaks with the fixed headers of an outbound mail; fails on any SMTP error.
swaks_out() {
	cli swaks -s $S4 --li $C4 --helo client.corp.pst.test --from kim.minsu@corp.pst.test \
		--to partner@partner.example --header "Date: Mon, 01 Jan 2024 10:00:00 +0900" \
		--header "X-Mailer: swaks" "$@" >"$WORK/swaks.log" 2>&1 \
		|| { cat "$WORK/swaks.log" >&2; exit 1; }
}
# A prepared .eml sent by smtplib: send_eml SOURCE FROM RCPT NAME
send_eml() { cli $PY "$BUILD" send $S4 "$1" "$2" "$3" "$WORK/mails/$4.eml"; }
scenario_eml() { # NAME: outbound mail built by build_content.py
	start_capture "$1"
	send_eml $C4 kim.minsu@corp.pst.test partner@partner.example "$1"
	stop_capture "$1"
}

# --- scenarios ------------------------------------------------------------------
scenario_eml content_korean_euckr
scenario_eml content_japanese_iso2022jp
scenario_eml content_utf8_qp_split
scenario_eml content_dlp_rrn_cards

start_capture content_exe_attachments
swaks_out --header "Subject: tools and invoice" --header "Message-Id: <exe-1@corp.pst.test>" \
	--body "Installer and invoice attached." \
	--attach-type application/zip --attach @"$F/tools.zip" \
	--attach-type application/octet-stream --attach @"$F/setup.scr" \
	--attach-type application/pdf --attach @"$F/invoice.pdf"
stop_capture content_exe_attachments

start_capture content_encrypted_zip
swaks_out --header "Subject: salaries" --header "Message-Id: <enc-1@corp.pst.test>" \
	--body "Password protected, the password follows by phone." \
	--attach-type application/zip --attach @"$F/salaries.zip"
stop_capture content_encrypted_zip

start_capture content_nested_zip
swaks_out --header "Subject: archive of archives" --header "Message-Id: <nested-1@corp.pst.test>" \
	--body "Three levels of zip." --attach-type application/zip --attach @"$F/nested.zip"
stop_capture content_nested_zip

start_capture content_zip_bomb
swaks_out --header "Subject: disk image backup" --header "Message-Id: <bomb-1@corp.pst.test>" \
	--body "Backup attached." --attach-type application/zip --attach @"$F/backup.zip"
stop_capture content_zip_bomb

# mutt: its own MIME structure, Date and Message-ID (these change per run).
cat >"$WORK/muttrc" <<EOF
set smtp_url="smtp://$S4/"
set from="Kim Minsu <kim.minsu@corp.pst.test>"
set hostname="corp.pst.test"
set use_envelope_from=yes
set charset="utf-8"
set send_charset="us-ascii:utf-8"
set ssl_starttls=no
set ssl_force_tls=no
set copy=no
set record=""
set mbox_type=mbox
set folder="$WORK/mail"
set spoolfile="$WORK/mail/inbox"
EOF
mkdir -p "$WORK/mail"; : >"$WORK/mail/inbox"
printf 'Dear partner,\n\nthe documents for the review are attached.\n\nKim Minsu\n' >"$WORK/mutt_body.txt"
start_capture content_office_docs
cli mutt -n -F "$WORK/muttrc" -s "documents for review" \
	-a "$F/report.docx" "$F/cards.xlsx" "$F/report.docm" -- partner@partner.example <"$WORK/mutt_body.txt"
stop_capture content_office_docs

start_capture content_eicar
swaks_out --header "Subject: test files" --header "Message-Id: <eicar-1@corp.pst.test>" \
	--body "Anti-virus test files." \
	--attach-type application/octet-stream --attach @"$F/eicar.com" \
	--attach-type application/zip --attach @"$F/eicar.zip" \
	--attach-type text/plain --attach @"$F/av_test.txt"
stop_capture content_eicar

start_capture content_hash_listed
swaks_out --header "Subject: quarterly update" --header "Message-Id: <hash-1@corp.pst.test>" \
	--body "Update package attached." \
	--attach-type application/octet-stream --attach @"$F/quarterly_update.bin"
stop_capture content_hash_listed

scenario_eml content_clean

# Inbound: from the external address to a local user.
start_capture content_inbound_spam
cli swaks -s $S4 --li $X4 --helo mail.bad.example --from offers@bad.example --to bob@corp.pst.test \
	--header "Date: Mon, 01 Jan 2024 10:00:00 +0900" --header "Subject: You have won a prize" \
	--header "Message-Id: <spam-1@bad.example>" \
	--body $'Congratulations!\r\nClaim your prize at http://bad.example/claim?id=12345\r\nUnsubscribe: http://good.example/unsubscribe\r\nMore offers: https://bad.example/offers and http://www.good.example/\r\n' \
	>"$WORK/swaks.log" 2>&1 || { cat "$WORK/swaks.log" >&2; exit 1; }
stop_capture content_inbound_spam

scenario_eml content_broken_mime
scenario_eml content_rfc2231_names

sleep 1
echo "postfix log:"
grep -E 'status=|reject:' "$WORK/maillog" | sed 's/^[A-Z][a-z]* [ 0-9]* [0-9:]* //' || true
# Every message must have been accepted (queued, then discarded).
if grep -q 'reject:' "$WORK/maillog"; then echo "postfix rejected something" >&2; exit 1; fi
