#!/bin/bash
# A real Horde IMP webmail session as a pcap: Debian's Horde 5 / IMP 6
# (php-horde-imp) under php's built-in web server, with Dovecot and a private
# Postfix (tests/webmail/roundcube_lib.sh) in a server namespace, driven from a
# client namespace by the requests IMP's dynamic view makes in a browser
# (imp/js/compose-dimp.js, imp/js/compose-base.js, horde/js/hordecore.js):
# login, mailbox list, compose, attachment upload, draft save, send, logout.
# tcpdump in the client namespace, TCP to port 80, snaplen 0.  The sent mail
# is checked in the Maildir Postfix delivers to, the draft in Dovecot's Drafts.
#
#   sudo tests/capture/make_horde_capture.sh [OUTDIR]  (default: tests/pcaps/webmail)
#
# writes OUTDIR/horde_session.pcap.  Traffic stays in the namespaces
# (10.97.82.1/24 <-> 10.97.82.2/24).  The system's /etc/horde is not changed:
# Horde's configuration (normally written by its admin UI) is generated here
# from the shipped conf.xml defaults (Horde_Config) plus the few settings a
# database-less install needs (session prefs, Null/None drivers, SMTP to the
# private Postfix), and php runs in a private mount namespace with a copy of
# /etc/horde (and an empty /var/cache/horde) bind mounted over the system's.
# Everything is stopped and removed on exit (trap).
#
# Needs: root, iproute2, ethtool, tcpdump, postfix, python3, dovecot-imapd,
# php-cli and php-horde-imp (6.2.27 in Debian 12; pulls php-horde, apache2
# and ~150 php-horde-* packages; none of their services is needed running).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC_ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$SRC_ROOT/tests/pcaps/webmail}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PY=/usr/bin/python3
FIND=$SRC_ROOT/tests/webmail/maildir_find.py
HOST_HDR=mail.allowed.test

NS_C=pst-hcli
NS_S=pst-hsrv
IF_C=pst-hc
IF_S=pst-hs
C4=10.97.82.1 S4=10.97.82.2
ADDRS_C=("$C4/24")
ADDRS_S=("$S4/24")

. "$HERE/netns_lib.sh"
. "$SRC_ROOT/tests/webmail/roundcube_lib.sh"
netns_require ip ethtool tcpdump postfix $PY php dovecot doveadm ss unshare runuser
for f in /usr/share/horde/login.php /usr/share/horde/imp/dynamic.php /etc/horde/horde/conf.xml /etc/horde/imp/conf.xml; do
	[ -e "$f" ] || { echo "missing: $f (php-horde-imp)" >&2; exit 1; }
done

PHP_PID=""
horde_stop() {
	set +e
	[ -n "$PHP_PID" ] && rc_stop_pid "$PHP_PID"
	PHP_PID=""
	rc_server_stop
}
netns_begin pst-horde
trap 'horde_stop; cleanup' EXIT INT TERM
netns_setup
rc_postfix_start "$NS_S" "$S4"
RC_NS=$NS_S
RC_DIR=$WORK/horde
mkdir -p "$RC_DIR"
chmod 755 "$RC_DIR"
rc_dovecot_start

# --- Horde's configuration ---------------------------------------------------
H=$RC_DIR
cp -a /etc/horde "$H/etc"
mkdir -p "$H/cache/static" "$H/tmp" "$H/sessions" "$H/vfs" "$H/logs"
chown www-data:www-data "$H/cache/static" "$H/tmp" "$H/sessions" "$H/vfs" "$H/logs"
# conf.php as Horde's admin UI writes it with every default taken: the
# generator Horde_Config needs only the registry's fileroot and a text filter.
cat >"$H/genconf.php" <<'PHP'
<?php
require_once 'Horde/Autoloader/Default.php';
class GenRegistry {
	public $root;
	public function get($k, $app) { return $this->root; }
	public function listApps() { return array(); }
	public function hasInterface($i) { return false; }
}
class GenFilter { public function filter($s, $f) { return $s; } }
class GenInjector { public function getInstance($n) { return new GenFilter(); } }
$GLOBALS['registry'] = new GenRegistry();
$GLOBALS['registry']->root = $argv[1];
$GLOBALS['injector'] = new GenInjector();
$c = new Horde_Config($argv[2]);
echo $c->generatePHPConfig(new Horde_Variables(array()));
PHP
php "$H/genconf.php" /usr/share/horde horde >"$H/etc/horde/conf.php"
php "$H/genconf.php" /usr/share/horde/imp imp >"$H/etc/imp/conf.php"
# No SQL database: preferences in the session, the other backends off.
cat >>"$H/etc/horde/conf.php" <<EOF
// added by tests/capture/make_horde_capture.sh
\$conf['server']['name'] = '$HOST_HDR';
\$conf['server']['port'] = 80;
\$conf['use_ssl'] = 0;
\$conf['cookie']['domain'] = '$HOST_HDR';
\$conf['cookie']['path'] = '/';
\$conf['secret_key'] = 'postern-horde-capture-key';
\$conf['auth']['checkip'] = false;
\$conf['log']['name'] = '$H/logs/horde.log';
\$conf['log']['priority'] = 'INFO';
\$conf['prefs']['driver'] = 'Session';
\$conf['alarms']['driver'] = false;
\$conf['group']['driver'] = 'Mock';
\$conf['perms']['driver'] = 'Null';
\$conf['share']['no_sharing'] = true;
\$conf['cache']['driver'] = 'Null';
\$conf['lock']['driver'] = 'Null';
\$conf['token']['driver'] = 'Null';
\$conf['history']['driver'] = 'Null';
\$conf['davstorage']['driver'] = 'Null';
\$conf['vfs']['type'] = 'File';
\$conf['vfs']['params'] = array('vfsroot' => '$H/vfs');
\$conf['mailer']['type'] = 'smtp';
\$conf['mailer']['params'] = array('host' => '$S4', 'port' => 25, 'secure' => false, 'localhost' => 'webmail.e2e.test', 'auth' => false);
\$conf['sessionhandler']['type'] = 'Builtin';
\$conf['problems']['email'] = 'postmaster@e2e.test';
\$conf['problems']['maildomain'] = 'e2e.test';
EOF
cat >>"$H/etc/imp/conf.php" <<'EOF'
// added by tests/capture/make_horde_capture.sh
$conf['maillog']['driver'] = 'none';
$conf['sentmail']['driver'] = 'Null';
$conf['contactsimage']['backends'] = array();
$conf['tasklist']['use_tasklist'] = false;
$conf['notepad']['use_notepad'] = false;
EOF
cat >"$H/etc/imp/backends.local.php" <<'EOF'
<?php
// added by tests/capture/make_horde_capture.sh: Dovecot of roundcube_lib.sh
$servers['imap']['hostspec'] = '127.0.0.1';
$servers['imap']['port'] = 143;
$servers['imap']['secure'] = false;
$servers['imap']['maildomain'] = 'e2e.test';
$servers['imap']['cache'] = false;
EOF
chmod -R a+rX "$H/etc"
# Debian 12's php-horde-core 2.31.18 under PHP 8.2: the dynamic compose page
# asks every AJAX handler has(null), and new ReflectionMethod($obj, null)
# throws ValueError there (PHP 8), not the ReflectionException the code
# catches, so the page dies with "A fatal error has occurred".  A patched copy
# (also catching ValueError) is bind mounted over the file for php only; the
# requests and their handling are otherwise untouched.
HANDLER=/usr/share/php/Horde/Core/Ajax/Application/Handler.php
sed 's/catch (ReflectionException \$e)/catch (ReflectionException | ValueError $e)/' "$HANDLER" >"$H/Handler.php"
grep -q 'ReflectionException | ValueError' "$H/Handler.php" || { echo "cannot patch $HANDLER" >&2; exit 1; }
chmod 644 "$H/Handler.php"
# Horde's DNS resolver (Net_DNS2: the Received header of a sent message looks
# up the browser's address) keeps a cache file in the temp dir that stays
# empty when nothing was resolved; php-net-dns2 1.5.0's destructor then calls
# fread(fp, 0), a ValueError in PHP 8: a fatal error at the end of every
# later request that used the resolver (HTTP 500 after the answer).  Patched
# the same way (read only a non-empty file).  The resolver asks 127.0.0.1
# (nothing listens there): no DNS query leaves the namespace.
DNSCACHE=/usr/share/php/Net/DNS2/Cache/File.php
sed 's/\$data = @fread(\$fp, filesize(\$this->cache_file));/$data = filesize($this->cache_file) > 0 ? @fread($fp, filesize($this->cache_file)) : "";/' \
	"$DNSCACHE" >"$H/DnsCacheFile.php"
grep -q 'filesize($this->cache_file) > 0 ? @fread' "$H/DnsCacheFile.php" || { echo "cannot patch $DNSCACHE" >&2; exit 1; }
echo "nameserver 127.0.0.1" >"$H/resolv.conf"
chmod 644 "$H/DnsCacheFile.php" "$H/resolv.conf"

# --- php -S in a private mount namespace, as www-data -----------------------
# port 80 for an unprivileged user: a sysctl of this network namespace only
ip netns exec "$NS_S" sysctl -qw net.ipv4.ip_unprivileged_port_start=80
ip netns exec "$NS_S" unshare -m --propagation private sh -c '
	mount --bind "$1/etc" /etc/horde &&
	mount --bind "$1/cache" /var/cache/horde &&
	mount --bind "$1/Handler.php" "$3" &&
	mount --bind "$1/DnsCacheFile.php" "$4" &&
	mount --bind "$1/resolv.conf" /etc/resolv.conf &&
	exec runuser -u www-data -- php -d display_errors=0 -d log_errors=1 -d error_log="$1/logs/php.log" \
		-d date.timezone=UTC -d upload_max_filesize=5M -d post_max_size=8M \
		-d session.save_path="$1/sessions" -d upload_tmp_dir="$1/tmp" -d sys_temp_dir="$1/tmp" \
		-S "$2:80" -t /usr/share/horde
' horde "$H" "$S4" "$HANDLER" "$DNSCACHE" >"$H/php-server.log" 2>&1 &
PHP_PID=$!
rc_wait 15 rc_listens "$NS_S" "$S4:80" || { tail -n 30 "$H/php-server.log" >&2; exit 1; }
echo "horde (php -S) listening on $S4:80"

# --- the client: the requests IMP's dynamic view makes -----------------------
cat >"$WORK/horde_client.py" <<'PY'
"""Horde IMP 6 dynamic view client: the requests a browser with IMP's
JavaScript makes.  A step is send:TO|CC|BCC|SUBJECT|BODYFILE|ATTACH,... or
draft:TO|CC|BCC|SUBJECT|BODYFILE."""
import argparse, gzip, html.parser, http.client, json, mimetypes, os, re, sys, urllib.parse, uuid, zlib

ap = argparse.ArgumentParser()
ap.add_argument("--server", required=True)
ap.add_argument("--host", required=True)
ap.add_argument("--user", required=True)
ap.add_argument("--password", required=True)
ap.add_argument("--step", action="append", default=[])
ap.add_argument("--dump", help="write the pages seen to this directory")
a = ap.parse_args()
cookies = {}
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"
ORIGIN = "http://" + a.host
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
AJAX = "text/javascript, text/html, application/xml, text/xml, */*"


FILE = object()   # where a form's file input is


class Form(html.parser.HTMLParser):
	"""The fields of <form id=ID> in document order: [name, value], value
	None for an unchecked box (left out unless set), FILE for a file input."""

	def __init__(self, fid):
		super().__init__(convert_charrefs=True)
		self.fid, self.inside, self.fields, self.action = fid, False, [], None
		self.unchecked = {}
		self.select = self.textarea = None

	def handle_starttag(self, tag, attrs):
		at = {k: (v if v is not None else "") for k, v in attrs}
		if tag == "form":
			self.inside = at.get("id") == self.fid
			if self.inside:
				self.action = html.unescape(at.get("action", ""))
			return
		if not self.inside:
			return
		name = at.get("name")
		if tag == "input" and name and "disabled" not in at:
			t = at.get("type", "text").lower()
			if t in ("checkbox", "radio") and "checked" not in at:
				self.unchecked[name] = at.get("value", "on")
				self.fields.append([name, None])   # set by the page's script, or left out
				return
			if t == "file":
				self.fields.append([name, FILE])
				return
			if t in ("submit", "button", "image", "reset"):
				return
			self.fields.append([name, at.get("value", "on" if t == "checkbox" else "")])
		elif tag == "select" and name:
			self.select = [name, None, None]
		elif tag == "option" and self.select:
			v = at.get("value", "")
			if self.select[1] is None:
				self.select[1] = v
			if "selected" in at:
				self.select[2] = v
		elif tag == "textarea" and name:
			self.textarea = [name, ""]

	def handle_data(self, data):
		if self.textarea:
			self.textarea[1] += data

	def handle_endtag(self, tag):
		if tag == "form" and self.inside:
			self.inside = False
		elif tag == "select" and self.select:
			s = self.select
			self.fields.append([s[0], s[2] if s[2] is not None else (s[1] or "")])
			self.select = None
		elif tag == "textarea" and self.textarea:
			self.fields.append(self.textarea)
			self.textarea = None


def form(page, fid):
	f = Form(fid)
	f.feed(page)
	if f.action is None:
		sys.exit("no form %s in the page" % fid)
	return f


def req(method, path, body=None, ctype=None, accept=HTML, referer=None, xhr=False):
	# a browser's headers in a browser's order; php -S closes every connection
	conn = http.client.HTTPConnection(a.server, 80, timeout=60)
	h = [("Host", a.host), ("User-Agent", UA), ("Accept", accept),
	     ("Accept-Language", "en-US,en;q=0.5"), ("Accept-Encoding", "gzip, deflate")]
	if xhr:
		h += [("X-Requested-With", "XMLHttpRequest"), ("X-Prototype-Version", "1.7.3")]
	if body is not None:
		h += [("Content-Type", ctype), ("Content-Length", str(len(body))), ("Origin", ORIGIN)]
	h.append(("Connection", "keep-alive"))
	if referer:
		h.append(("Referer", ORIGIN + referer))
	if cookies:
		h.append(("Cookie", "; ".join("%s=%s" % kv for kv in cookies.items())))
	conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
	for k, v in h:
		conn.putheader(k, v)
	conn.endheaders(body)
	r = conn.getresponse()
	data = r.read()
	enc = r.getheader("Content-Encoding", "")
	if enc == "gzip":
		data = gzip.decompress(data)
	elif enc == "deflate":
		data = zlib.decompress(data)
	for k, v in r.getheaders():
		m = re.match(r"\s*([^=]+)=([^;]*)", v) if k.lower() == "set-cookie" else None
		if m and m.group(2) and m.group(2) != "deleted":
			cookies[m.group(1)] = m.group(2)
		elif m:
			cookies.pop(m.group(1), None)
	conn.close()
	print("%s %s -> %d %s" % (method, path, r.status, r.getheader("Location", "")), file=sys.stderr)
	if r.status >= 400:
		print(data[:3000].decode("utf-8", "replace"), file=sys.stderr)
		sys.exit("request failed")
	return r.status, r.getheader("Location"), data.decode("utf-8", "replace")


def get(path, referer=None):
	"""GET following redirects, as the browser's address bar does."""
	for _ in range(8):
		st, loc, text = req("GET", path, referer=referer)
		if st not in (301, 302, 303, 307) or not loc:
			return path, text
		u = urllib.parse.urlsplit(loc)
		path = (u.path or "/") + ("?" + u.query if u.query else "")
	sys.exit("too many redirects")


def urlenc(fields):
	# Prototype's Object.toQueryString: encodeURIComponent, %20 as +, CRLF lines
	return "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.!~*'()").replace("%20", "+"),
				   urllib.parse.quote(re.sub(r"\r?\n", "\r\n", v), safe="-_.!~*'()").replace("%20", "+"))
			for k, v in fields).encode()


def ajax(action, fields, referer):
	st, loc, text = req("POST", "/services/ajax.php/imp/" + action, urlenc(fields),
			    "application/x-www-form-urlencoded; charset=UTF-8", AJAX, referer, True)
	m = re.match(r"/\*-secure-\s*(.*)\s*\*/\s*$", text, re.S)
	r = json.loads(m.group(1) if m else text)
	for n in r.get("msgs", []) or []:
		print("  notification %s: %s" % (n.get("type"), n.get("message")), file=sys.stderr)
	return r


def conf_token(page):
	m = re.search(r'"TOKEN":"([^"]+)"', page)
	if not m:
		sys.exit("no HordeCore TOKEN in the page")
	return m.group(1)


# login: the page, then its form as login.js submits it
path, page = get("/login.php")
f = form(page, "horde_login")
vals = dict(f.fields)
vals.update({"login_post": "1", "horde_user": a.user, "horde_pass": a.password, "horde_select_view": "dynamic"})
fields = [[k, vals[k]] for k, _ in f.fields] + [[k, v] for k, v in vals.items() if k not in dict(f.fields)]
st, loc, text = req("POST", urllib.parse.urlsplit(f.action).path or "/login.php", urlenc(fields),
		    "application/x-www-form-urlencoded", referer=path)
if st != 302 or not loc:
	print(text[:3000], file=sys.stderr)
	sys.exit("login: no redirect")
u = urllib.parse.urlsplit(loc)
get((u.path or "/") + ("?" + u.query if u.query else ""), referer=path)
# the mail link: IMP's dynamic view, its mailbox list and the INBOX rows
mbox_path, page = get("/imp/", referer="/services/portal/")
token = conf_token(page)
if a.dump:
	open(os.path.join(a.dump, "mailbox.html"), "w").write(page)
r = ajax("dynamicInit", [["view", "SU5CT1g"], ["initial", "1"], ["after", "24"], ["before", "6"],
			 ["token", token]], mbox_path)
print("mailbox: %s" % json.dumps(r)[:300], file=sys.stderr)
for step in a.step:
	kind, spec = step.split(":", 1)
	f = spec.split("|")
	to, cc, bcc, subject = f[0:4]
	text = open(f[4], encoding="utf-8").read()
	atts = [x for x in f[5].split(",") if x] if len(f) > 5 else []
	# the compose window (DimpCore.compose: a popup on URI_COMPOSE)
	cpath, page = get("/imp/dynamic.php?page=compose&type=new", referer=mbox_path)
	if a.dump:
		open(os.path.join(a.dump, "compose.html"), "w").write(page)
	token = conf_token(page)
	f = form(page, "compose")
	m = re.search(r'"imp:compose":\{"cacheid":"([^"]+)","hmac":"([^"]+)"', page)
	ident = json.loads(re.search(r"ImpComposeBase\.identities=(\[.*?\]);", page).group(1))[0]
	# what DimpCompose's onload and changeIdentity() set, then what we type
	vals = {"composeCache": m.group(1), "composeHmac": m.group(2),
		"save_sent_mail_mbox": ident["sm_name"], "to": to, "cc": cc, "bcc": bcc,
		"subject": subject, "message": text}
	if ident["sm_save"]:
		vals["save_sent_mail"] = f.unchecked["save_sent_mail"]

	def fields(with_file=False):
		out = []
		for k, v in f.fields:
			v = vals.get(k, v)
			if v is FILE:
				if with_file:
					out.append([k, FILE])
			elif v is not None:
				out.append([k, v])
		return out

	for path in atts:
		# the attach button's file input: its change event submits the whole
		# form (HordeCore.submit: token added as a hidden input, ?jsonhtml=1)
		# into a hidden iframe, multipart as the browser encodes a form
		name = os.path.basename(path)
		bnd = "---------------------------" + uuid.uuid4().int.__str__()[:29]
		body = b""
		for k, v in fields(True) + [["token", token]]:
			if v is FILE:
				typ = mimetypes.guess_type(name)[0] or "application/octet-stream"
				body += ('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
					 "Content-Type: %s\r\n\r\n" % (bnd, k, name, typ)).encode() + \
					open(path, "rb").read() + b"\r\n"
			else:
				body += ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n' % (bnd, k)).encode() + \
					re.sub(r"\r?\n", "\r\n", v).encode() + b"\r\n"
		body += ("--%s--\r\n" % bnd).encode()
		act = urllib.parse.urlsplit(f.action)
		st, loc, resp = req("POST", act.path + "?" + (act.query + "&" if act.query else "") + "jsonhtml=1",
				    body, "multipart/form-data; boundary=" + bnd, referer=cpath)
		# HordeCore_JsonHtml: the JSON as the text of an HTML body
		t = html.unescape(re.sub(r"<[^>]*>", "", resp))
		try:
			r = json.loads(t[t.index("{"):t.rindex("}") + 1])
		except ValueError:
			r = None
		if not r or not r.get("response", {}).get("success"):
			sys.exit("upload failed: %s" % resp[:1000])
		print("upload ok: %s" % name)
	# the send / save button: DimpCompose.uniqueSubmit, the form serialized
	# (no file input), sendParams() adding addr_ac for a send, then token
	if kind == "send":
		ac = []
		for fid in ("to", "cc", "bcc"):
			for i, addr in enumerate([x.strip() for x in vals[fid].split(",") if x.strip()], 1):
				ac.append({"addr": addr, "id": fid, "itemid": str(i)})
		r = ajax("sendMessage", fields() + [["addr_ac", json.dumps(ac, separators=(",", ":"))],
						   ["token", token]], cpath)
	else:
		r = ajax("saveDraft", fields() + [["token", token]], cpath)
	if not r.get("response", {}).get("success"):
		sys.exit("%s failed: %s" % (kind, json.dumps(r)[:1500]))
	print("%s ok: %s" % (kind, subject))
# logout (the menu's Log out link)
m = re.search(r'"URI_LOGOUT":"([^"]+)"', page)
if m:
	get(m.group(1).replace("\\/", "/"), referer=cpath)
PY

F=$WORK/files
mkdir -p "$F"
printf 'Hi Bob,\n\nthe minutes are attached.\n\nAlice\n' >"$F/send.txt"
printf 'Minutes 2026-11-23\n\n1. Budget approved.\n2. Next meeting on Friday.\n' >"$F/minutes.txt"
printf 'Bob,\n\nsome ideas for the budget, to finish later.\n' >"$F/draft.txt"
SEND_SUBJ="Meeting minutes 2026-11-23"
DRAFT_SUBJ="예산 아이디어 / budget ideas"
chmod -R a+rX "$F"

rm -f "$WORK/tcpdump.err"
ip netns exec "$NS_C" tcpdump -i "$IF_C" -s 0 -U --immediate-mode -n -w "$WORK/horde_session.pcap" \
	"tcp port 80" 2>"$WORK/tcpdump.err" &
TCPDUMP_PID=$!
rc_wait 5 grep -q listening "$WORK/tcpdump.err" || { cat "$WORK/tcpdump.err" >&2; exit 1; }
cli $PY "$WORK/horde_client.py" --server "$S4" --host "$HOST_HDR" \
	--user "$RC_USER" --password "$RC_PASS" ${HORDE_DUMP:+--dump "$HORDE_DUMP"} \
	--step "send:bob@e2e.test|Carol Example <carol@e2e.test>|dave@e2e.test|$SEND_SUBJ|$F/send.txt|$F/minutes.txt" \
	--step "draft:bob@e2e.test|||$DRAFT_SUBJ|$F/draft.txt" >"$WORK/client.out" 2>"$WORK/client.req" ||
	{ [ -z "${HORDE_DUMP:-}" ] || cp "$H"/*.log "$H"/logs/*.log "$HORDE_DUMP"/
	  cat "$WORK/client.out" "$WORK/client.req" >&2; grep -v Deprecated "$H/logs/php.log" | tail -n 20 >&2; tail -n 20 "$H/logs/horde.log" >&2; exit 1; }
[ -z "${HORDE_DUMP:-}" ] || cp "$H"/*.log "$H"/logs/*.log "$HORDE_DUMP"/
stop_capture horde_session
sed 's/^/  /' "$WORK/client.req"
cat "$WORK/client.out"

# --- what happened on the server side ----------------------------------------
for _ in $(seq 100); do
	n=$($PY "$FIND" "$RC_MAILDIR" "$SEND_SUBJ" 2>/dev/null | wc -l)
	[ "$n" -ge 3 ] && break
	sleep 0.1
done
[ "$n" = 3 ] || { echo "send: $n of 3 copies delivered" >&2; exit 1; }
$PY "$FIND" "$RC_MAILDIR" "$SEND_SUBJ" --json >"$WORK/send.json"
grep -qF "$(sha256sum "$F/minutes.txt" | cut -d' ' -f1)" "$WORK/send.json" ||
	{ echo "send: the delivered minutes.txt differs" >&2; exit 1; }
grep -qF "the minutes are attached" "$WORK/send.json" || { echo "send: body not delivered" >&2; exit 1; }
echo "send: delivered to 3 recipients with minutes.txt ($(stat -c %s "$F/minutes.txt") bytes)"
d="$RC_DIR/imap/$RC_USER/Maildir/.Drafts"
grep -rlq "budget" "$d" || { echo "draft: not in Dovecot's Drafts" >&2; exit 1; }
$PY "$FIND" "$RC_MAILDIR" "$DRAFT_SUBJ" >/dev/null && { echo "draft: it was delivered" >&2; exit 1; }
echo "draft: saved in Drafts, not delivered"
echo "software: $(dpkg-query -W -f='${Package} ${Version}\n' php-horde-imp php-horde php-horde-core php8.2-cli dovecot-imapd postfix | paste -sd ';' | sed 's/;/; /g')"
