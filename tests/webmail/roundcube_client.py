#!/usr/bin/env python3
"""roundcube_client.py: drive a Roundcube 1.6 webmail over plain HTTP as a
browser with its JavaScript does (python3 stdlib only).

  roundcube_client.py --server ADDR [--host NAME] --user U --password P
      [--to A[,B]] [--cc ..] [--bcc ..] [--subject S] [--body-file F]
      [--attach FILE]... [--draft | --browse-only] [--logout]
      [--response-out FILE]

Steps, each one request on its own connection (php -S closes every one), with
Host NAME (no DNS needed) and a cookie store: GET the login page (request
token), POST the login form, GET the mailbox and its message list (the AJAX
request the page makes), then unless --browse-only: GET compose (followed to
the compose id URL), POST each --attach file as the upload AJAX request
(multipart _attachments[], X-Roundcube-Request), and POST the compose form as
submit_messageform does (send, or --draft: save to Drafts).  --logout ends
with the logout request.

The compose form is taken from the page: every field of the form named
"form" with its default value, then the compose options the elastic skin
copies into it (skins/elastic/ui.js), then ours set (_to, _cc, _bcc,
_subject, _message, _attachments, _draft).

Exit status: 0 done (Roundcube confirmed the send / draft save); 1 a step
failed (message on stderr); 2 usage; 3 the send (or draft) request was not
answered by Roundcube but with an HTTP redirect (as a blocking proxy does):
its status line and headers are printed, and written to --response-out.
"""
import argparse
import html.parser
import http.client
import json
import mimetypes
import os
import random
import re
import sys
import time
import urllib.parse
import zlib

UA = ("Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 "
      "Firefox/115.0")


class StepError(Exception):
    pass


class Form(html.parser.HTMLParser):
    """The fields of one <form name=NAME> in document order, as a browser
    submits them (checked checkboxes, the selected option of selects,
    textarea text)."""

    def __init__(self, name):
        super().__init__(convert_charrefs=True)
        self.want = name
        self.inside = False
        self.found = False
        self.fields = []        # [name, value]
        self.action = None
        self.select = None      # [name, first option, selected option]
        self.option = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            if a.get("name") == self.want:
                self.inside = self.found = True
                self.action = a.get("action", "")
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            t = a.get("type", "text").lower()
            if t in ("checkbox", "radio") and "checked" not in a:
                return
            if t in ("file", "submit", "button", "image", "reset"):
                return
            self.fields.append([name, a.get("value", "")])
        elif tag == "select" and name:
            self.select = [name, None, None]
        elif tag == "option" and self.select is not None:
            self.option = a.get("value")
            if self.select[1] is None:
                self.select[1] = self.option
            if "selected" in a:
                self.select[2] = self.option
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self.select is not None:
            s = self.select
            v = s[2] if s[2] is not None else s[1]
            if v is not None:
                self.fields.append([s[0], v])
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append(self.textarea)
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data


class Options(html.parser.HTMLParser):
    """Fields inside the element with id="compose-options" (outside the
    form); ui.js copies each into the form as a hidden input."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.fields = []
        self.select = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if self.depth == 0:
            if a.get("id") == "compose-options":
                self.depth = 1
            return
        if tag not in ("input", "br", "img", "option", "hr", "meta", "link"):
            self.depth += 1
        name = a.get("name")
        if tag == "input" and name:
            t = a.get("type", "text").lower()
            if t == "checkbox":
                self.fields.append([name, a.get("value", "") if "checked" in a else ""])
            else:
                self.fields.append([name, a.get("value", "")])
        elif tag == "select" and name:
            self.select = [name, None, None]
        elif tag == "option" and self.select is not None:
            v = a.get("value")
            if self.select[1] is None:
                self.select[1] = v
            if "selected" in a:
                self.select[2] = v

    def handle_endtag(self, tag):
        if self.depth == 0:
            return
        if tag == "select" and self.select is not None:
            s = self.select
            self.fields.append([s[0], s[2] if s[2] is not None else (s[1] or "")])
            self.select = None
        if tag not in ("input", "br", "img", "option", "hr", "meta", "link"):
            self.depth -= 1


class Browser:
    def __init__(self, server, port, host, verbose):
        self.server, self.port, self.host = server, port, host
        self.verbose = verbose
        self.cookies = {}
        self.referer = None
        self.token = None

    def origin(self):
        return "http://%s" % self.host

    def request(self, method, path, body=None, headers=None, ajax=False):
        h = {
            "Host": self.host,
            "User-Agent": UA,
            "Accept": ("application/json, text/javascript, */*; q=0.01" if ajax else
                       "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            "Accept-Language": "ko-KR,ko;q=0.8,en-US;q=0.5,en;q=0.3",
            "Accept-Encoding": "gzip, deflate",
        }
        if ajax:
            h["X-Requested-With"] = "XMLHttpRequest"
            if self.token:
                h["X-Roundcube-Request"] = self.token
        if self.referer:
            h["Referer"] = self.referer
        if body is not None:
            h["Origin"] = self.origin()
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.server, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            raise StepError("%s %s: %s" % (method, path, e))
        finally:
            conn.close()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                self.set_cookie(v)
        enc = (r.getheader("Content-Encoding") or "").lower()
        if enc in ("gzip", "deflate"):
            data = zlib.decompress(data, 47 if enc == "gzip" else 15)
        if self.verbose:
            print("%s %s -> %d (%d bytes)" % (method, path, r.status, len(data)),
                  file=sys.stderr)
        return r, data.decode("utf-8", "replace")

    def set_cookie(self, v):
        first = v.split(";", 1)[0]
        if "=" not in first:
            return
        k, val = first.split("=", 1)
        k, val = k.strip(), val.strip()
        low = v.lower()
        if val in ("", "-del-", "deleted") or "max-age=0" in low:
            self.cookies.pop(k, None)
        else:
            self.cookies[k] = val

    def page(self, path, expect=200):
        """A page load: GET, redirects followed as a browser does."""
        for _ in range(5):
            r, text = self.request("GET", path)
            if r.status in (301, 302, 303) and r.getheader("Location"):
                path = absolute_path(r.getheader("Location"))
                continue
            if r.status != expect:
                raise StepError("GET %s: HTTP %d" % (path, r.status))
            self.referer = self.origin() + path
            m = re.search(r'"request_token":"([^"]+)"', text)
            if m:
                self.token = m.group(1)
            return path, text
        raise StepError("GET %s: too many redirects" % path)


def absolute_path(loc):
    u = urllib.parse.urlsplit(loc)
    p = u.path or "/"
    if p.startswith("./"):
        p = "/" + p[2:]
    return p + ("?" + u.query if u.query else "")


def form_fields(text, name):
    f = Form(name)
    f.feed(text)
    if not f.found:
        raise StepError("no form %r in the page" % name)
    return f.action, f.fields


def setf(fields, name, value):
    for f in fields:
        if f[0] == name:
            f[1] = value
            return
    fields.append([name, value])


def loading_id():
    # app.js set_busy: 'loading' + new Date().getTime()
    return "loading%d" % int(time.time() * 1000)


def login(b, user, password):
    path, text = b.page("/?_task=login")
    action, fields = form_fields(text, "login-form")
    # the login page's script fills in the time zone and the URL
    setf(fields, "_timezone", "Asia/Seoul")
    setf(fields, "_url", "")
    setf(fields, "_user", user)
    setf(fields, "_pass", password)
    r, text = b.request("POST", absolute_path(action), urllib.parse.urlencode([tuple(f) for f in fields]),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    loc = r.getheader("Location")
    if r.status != 302 or not loc or "_task=mail" not in loc:
        m = re.search(r'"(loginfailed|cookiesdisabled|invalidrequest|servererror)"', text)
        raise StepError("login as %s: HTTP %d%s" % (user, r.status,
                        " (%s)" % m.group(1) if m else ""))
    return absolute_path(loc)


def browse(b, path):
    path, text = b.page(path)
    if '"task":"mail"' not in text:
        raise StepError("mailbox page: not the mail task")
    q = urllib.parse.urlencode([("_task", "mail"), ("_action", "list"), ("_mbox", "INBOX"),
                                ("_page", "1"), ("_remote", "1"), ("_unlock", loading_id())])
    r, text = b.request("GET", "/?" + q, ajax=True)
    if r.status != 200:
        raise StepError("message list: HTTP %d" % r.status)
    try:
        j = json.loads(text)
    except ValueError:
        raise StepError("message list: not JSON: %r" % text[:200])
    if j.get("action") != "list":
        raise StepError("message list: unexpected answer %r" % text[:200])
    return j


def compose(b):
    path, text = b.page("/?_task=mail&_action=compose")
    m = re.search(r'"compose_id":"([^"]+)"', text)
    if not m or "_id=" not in path:
        raise StepError("compose: no compose id (at %s)" % path)
    return m.group(1), text


def upload(b, compose_id, filename):
    with open(filename, "rb") as f:
        content = f.read()
    base = os.path.basename(filename)
    ctype = mimetypes.guess_type(base)[0] or "application/octet-stream"
    boundary = "---------------------------%d" % random.randrange(10**28, 10**29)
    body = b"".join([
        b"--", boundary.encode(), b"\r\n",
        b'Content-Disposition: form-data; name="_attachments[]"; filename="',
        base.encode("utf-8"), b'"\r\n',
        b"Content-Type: ", ctype.encode(), b"\r\n\r\n",
        content, b"\r\n--", boundary.encode(), b"--\r\n"])
    # app.js file_upload: this.url('upload', {_remote, _from, _id, _uploadid, _unlock})
    upload_id = "upload%d" % int(time.time() * 1000)
    q = urllib.parse.urlencode([("_task", "mail"), ("_action", "upload"), ("_remote", "1"),
                                ("_from", "compose"), ("_id", compose_id),
                                ("_uploadid", upload_id), ("_unlock", loading_id())])
    r, text = b.request("POST", "/?" + q, body,
                        {"Content-Type": "multipart/form-data; boundary=" + boundary},
                        ajax=True)
    if r.status != 200:
        raise StepError("upload %s: HTTP %d" % (base, r.status))
    m = re.search(r'add2attachment_list\(\\?"rcmfile(\w+)', text)
    if not m:
        raise StepError("upload %s: not accepted: %r" % (base, text[:300]))
    return m.group(1), r


def submit(b, text, args, attachment_ids, out):
    action, fields = form_fields(text, "form")
    opts = Options()
    opts.feed(text)
    for name, value in opts.fields:   # ui.js appends them as hidden inputs
        fields.append([name, value])
    setf(fields, "_attachments", ",".join(attachment_ids))
    setf(fields, "_to", args.to)
    setf(fields, "_cc", args.cc)
    setf(fields, "_bcc", args.bcc)
    setf(fields, "_subject", args.subject)
    body = ""
    if args.body_file:
        with open(args.body_file, encoding="utf-8") as f:
            body = f.read()
    # a browser submits a textarea with CRLF line ends
    setf(fields, "_message", body.replace("\r\n", "\n").replace("\n", "\r\n"))
    setf(fields, "_draft", "1" if args.draft else "")
    # submit_messageform: add_url(form.action, '_unlock', msgid), '_framed', 1
    path = absolute_path(action)
    path += "&" + urllib.parse.urlencode([("_unlock", loading_id()), ("_framed", "1")])
    r, reply = b.request("POST", path, urllib.parse.urlencode([tuple(f) for f in fields]),
                         {"Content-Type": "application/x-www-form-urlencoded"})
    head = "HTTP/%s %d %s\n" % ("1.1" if r.version == 11 else "1.0", r.status, r.reason)
    head += "".join("%s: %s\n" % kv for kv in r.getheaders())
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(head)
    what = "draft save" if args.draft else "send"
    if r.status in (301, 302, 303, 307, 308):
        sys.stdout.write(head)
        print("%s: redirected to %s" % (what, r.getheader("Location")), file=sys.stderr)
        return 3
    if r.status != 200:
        raise StepError("%s: HTTP %d" % (what, r.status))
    want = "set_draft_id" if args.draft else "sent_successfully"
    if want not in reply:
        m = re.findall(r'display_message\("([^"]*)","(\w+)"', reply)
        raise StepError("%s: Roundcube did not confirm (%s)" % (what, m or reply[:300]))
    print("%s: confirmed by Roundcube" % what)
    return 0


def logout(b):
    q = urllib.parse.urlencode([("_task", "logout"), ("_token", b.token or "")])
    r, text = b.request("GET", "/?" + q)
    if r.status not in (200, 302):
        raise StepError("logout: HTTP %d" % r.status)
    if r.status == 302:
        b.page(absolute_path(r.getheader("Location")))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", required=True, help="address to connect to")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--host", default=None, help="Host header (default: --server)")
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--to", default="")
    p.add_argument("--cc", default="")
    p.add_argument("--bcc", default="")
    p.add_argument("--subject", default="")
    p.add_argument("--body-file")
    p.add_argument("--attach", action="append", default=[])
    p.add_argument("--draft", action="store_true", help="save a draft, do not send")
    p.add_argument("--browse-only", action="store_true", help="login and browse, no compose")
    p.add_argument("--logout", action="store_true")
    p.add_argument("--response-out", help="write the send response's status and headers here")
    p.add_argument("-v", "--verbose", action="store_true", help="each request on stderr")
    args = p.parse_args()
    if not args.browse_only and not args.draft and not (args.to or args.cc or args.bcc):
        p.error("a send needs --to, --cc or --bcc")
    b = Browser(args.server, args.port, args.host or args.server, args.verbose)
    try:
        mailbox = login(b, args.user, args.password)
        browse(b, mailbox)
        print("login and mailbox list: ok")
        rc = 0
        if not args.browse_only:
            compose_id, text = compose(b)
            ids = []
            for a in args.attach:
                ids.append(upload(b, compose_id, a)[0])
                print("upload %s: ok (%s)" % (os.path.basename(a), ids[-1]))
            rc = submit(b, text, args, ids, args.response_out)
        if args.logout and rc == 0:
            logout(b)
            print("logout: ok")
        return rc
    except StepError as e:
        print("roundcube_client: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("roundcube_client: %s" % e, file=sys.stderr)
        return 1


sys.exit(main())
