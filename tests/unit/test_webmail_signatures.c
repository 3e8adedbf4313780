/* Webmail signatures: the shipped files in etc/webmail/ all load; every kind
 * of error names its file and line; and for each product, a request of each
 * kind built from the product's documented format (see the comments of each
 * etc/webmail file) is recognised as that product and kind with its
 * fields extracted.  argv[1]: the source root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"
#include "webmail/webmail.h"

static char root[1024] = ".";
static struct rule_errors errs;
static struct webmail_signatures *sigs;

/* ---- a request and what came of it ---- */

struct hdr {
	const char *name, *value;
};

struct spec {
	const char *method, *host, *path, *query, *content_type;
	struct hdr headers[4];
	const char *body;
	size_t body_len;             /* 0: strlen(body) */
};

struct outcome {
	enum webmail_kind kind;
	char product[64], signature[64];
	char to[512], cc[512], bcc[512], from[512], subject[512], compose_id[256];
	uint32_t recipients, fields, file_count, confidence;
	char body[4096];             /* text of body-role fields, as streamed */
	size_t body_len;
	char file_name[256], file_field[128];
	uint64_t file_size, file_bytes;
};

static void sink_text(void *ctx, enum webmail_role role, const char *field, const uint8_t *d,
		      size_t n)
{
	struct outcome *o = ctx;
	(void)field;
	if (role != WEBMAIL_ROLE_BODY)
		return;
	if (n > sizeof(o->body) - 1 - o->body_len)
		n = sizeof(o->body) - 1 - o->body_len;
	memcpy(o->body + o->body_len, d, n);
	o->body_len += n;
	o->body[o->body_len] = '\0';
}

static void sink_file_begin(void *ctx, const char *field, const char *filename, const char *ct)
{
	struct outcome *o = ctx;
	(void)ct;
	if (!o->file_name[0]) {
		snprintf(o->file_name, sizeof(o->file_name), "%s", filename);
		snprintf(o->file_field, sizeof(o->file_field), "%s", field);
	}
}

static void sink_file_data(void *ctx, const uint8_t *d, size_t n)
{
	struct outcome *o = ctx;
	(void)d;
	o->file_bytes += n;
}

static void sink_file_end(void *ctx, uint64_t size)
{
	struct outcome *o = ctx;
	if (!o->file_size)
		o->file_size = size;
}

static const struct webmail_sink sink = {
	.text = sink_text,
	.file_begin = sink_file_begin,
	.file_data = sink_file_data,
	.file_end = sink_file_end,
};

static void run(const struct spec *s, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	struct http_header h[5];
	size_t nh = 0;
	for (; nh < 4 && s->headers[nh].name; nh++)
		h[nh] = (struct http_header){s->headers[nh].name, s->headers[nh].value};
	size_t blen = s->body ? (s->body_len ? s->body_len : strlen(s->body)) : 0;
	struct http_request r = {
		.method = s->method,
		.url = s->path,
		.host = s->host ? s->host : "mail.example.com",
		.path = s->path,
		.query = s->query ? s->query : "",
		.content_type = s->content_type ? s->content_type : "",
		.content_length = s->body ? (int64_t)blen : -1,
		.content_encoding = "",
		.headers = h,
		.header_count = nh,
		.version_major = 1,
		.version_minor = 1,
	};
	struct webmail_limits lim;
	webmail_limits_default(&lim);
	struct webmail_request *w = webmail_request_begin(sigs, &lim, &r, &sink, o);
	CHECK(w != NULL);
	if (!w)
		return;
	/* uneven pieces, as packets would cut them */
	for (size_t off = 0, k = 1; off < blen; k = k * 7 % 23 + 1) {
		size_t c = k < blen - off ? k : blen - off;
		webmail_request_body(w, (const uint8_t *)s->body + off, c);
		off += c;
	}
	const struct webmail_result *res = webmail_request_end(w);
	o->kind = res->kind;
	snprintf(o->product, sizeof(o->product), "%s", res->product);
	snprintf(o->signature, sizeof(o->signature), "%s", res->signature);
	snprintf(o->to, sizeof(o->to), "%s", res->to);
	snprintf(o->cc, sizeof(o->cc), "%s", res->cc);
	snprintf(o->bcc, sizeof(o->bcc), "%s", res->bcc);
	snprintf(o->from, sizeof(o->from), "%s", res->from);
	snprintf(o->subject, sizeof(o->subject), "%s", res->subject);
	snprintf(o->compose_id, sizeof(o->compose_id), "%s", res->compose_id);
	o->recipients = res->recipients;
	o->fields = res->fields;
	o->file_count = res->file_count;
	o->confidence = res->confidence;
	if (res->file_count)
		CHECK_EQ_U(res->files[0].size, o->file_size);
	webmail_request_free(w);
}

/* multipart/form-data with boundary "b0undary"; parts: name, value,
 * filename (NULL for a field). */
struct part {
	const char *name, *value, *filename;
};

static char *multipart(const struct part *p, size_t n)
{
	size_t cap = 256;
	for (size_t i = 0; i < n; i++)
		cap += strlen(p[i].name) + strlen(p[i].value) + 256;
	char *b = malloc(cap);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i].filename)
			len += (size_t)snprintf(b + len, cap - len,
						"--b0undary\r\nContent-Disposition: form-data; "
						"name=\"%s\"; filename=\"%s\"\r\n"
						"Content-Type: application/pdf\r\n\r\n%s\r\n",
						p[i].name, p[i].filename, p[i].value);
		else
			len += (size_t)snprintf(b + len, cap - len,
						"--b0undary\r\nContent-Disposition: form-data; "
						"name=\"%s\"\r\n\r\n%s\r\n",
						p[i].name, p[i].value);
	}
	snprintf(b + len, cap - len, "--b0undary--\r\n");
	return b;
}

#define MP_TYPE "multipart/form-data; boundary=b0undary"
#define PDF "%PDF-1.4 fake document bytes"

static bool expect(const struct outcome *o, const char *product, enum webmail_kind kind,
		   const char *sig)
{
	bool ok = o->kind == kind && strcmp(o->product, product) == 0 &&
		  strcmp(o->signature, sig) == 0 && o->confidence == 100;
	if (!ok)
		fprintf(stderr, "  got %s/%s/%s (confidence %u), want %s/%s/%s\n",
			webmail_kind_name(o->kind), o->product, o->signature, o->confidence,
			webmail_kind_name(kind), product, sig);
	return ok;
}

/* ---- loading ---- */

static void test_load_shipped(void)
{
	char dir[1200];
	snprintf(dir, sizeof(dir), "%s/etc/webmail", root);
	const char *paths[] = {dir};
	rule_errors_free(&errs);
	rule_errors_init(&errs, 64);
	sigs = webmail_signatures_load(paths, 1, &errs);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "  %s:%u: %s\n", errs.v[i].file, errs.v[i].line, errs.v[i].reason);
	CHECK(sigs != NULL);
	CHECK_EQ_U(errs.count, 0);
	CHECK_EQ_U(webmail_signatures_products(sigs), 7);
	CHECK(webmail_signatures_count(sigs) >= 21);
	/* one file alone loads too, and names its own product */
	char one[1300];
	snprintf(one, sizeof(one), "%s/roundcube.conf", dir);
	const char *p1[] = {one};
	struct webmail_signatures *s1 = webmail_signatures_load(p1, 1, &errs);
	CHECK(s1 != NULL);
	CHECK_EQ_U(webmail_signatures_products(s1), 1);
	CHECK_EQ_U(webmail_signatures_count(s1), 3);
	webmail_signatures_free(s1);
}

static struct webmail_signatures *load_text(const char *text)
{
	rule_errors_free(&errs);
	rule_errors_init(&errs, 64);
	return webmail_signatures_load_mem("t.conf", text, strlen(text), &errs);
}

static bool has_error(const char *file, unsigned line, const char *what)
{
	for (size_t i = 0; i < errs.count; i++)
		if (errs.v[i].line == line && strstr(errs.v[i].reason, what) &&
		    strcmp(errs.v[i].file, file) == 0)
			return true;
	fprintf(stderr, "  no error %s:%u with \"%s\"; have:\n", file, line, what);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "    %s:%u: %s\n", errs.v[i].file, errs.v[i].line, errs.v[i].reason);
	return false;
}

static void test_errors(void)
{
	/* every error of the file is reported, each on its line */
	static const char bad[] =
		"product = \"X\";\n"                                       /* 1 */
		"signatures = (\n"                                         /* 2 */
		"  { id = \"a\"; kind = \"send\"; colour = \"red\"; },\n"  /* 3 */
		"  { id = \"b\"; kind = \"send\";\n"                       /* 4 */
		"    path = \"([a-z\"; },\n"                               /* 5 */
		"  { id = \"c\"; kind = \"forward\"; },\n"                 /* 6 */
		"  { id = \"a\"; kind = \"draft\"; },\n"                   /* 7 */
		"  { id = \"d\"; kind = \"upload\"; decode = \"xml\";\n"    /* 8 */
		"    roles = { to = [\"x\"]; recipients = [\"y\"]; }; },\n" /* 9 */
		"  { id = \"e\"; kind = \"send\";\n"                       /* 10 */
		"    params = ( { name = \"p\"; equals = \"1\"; present = true; },\n" /* 11 */
		"               { name = \"q\"; matches = \"*x\"; } ); },\n" /* 12 */
		"  { kind = \"send\"; }\n"                                 /* 13 */
		");\n"                                                     /* 14 */
		"extra = 1;\n";                                            /* 15 */
	struct webmail_signatures *s = load_text(bad);
	CHECK(s == NULL);
	CHECK(has_error("t.conf", 3, "unknown key 'colour' (id, description, kind, method, host, path"));
	CHECK(has_error("t.conf", 8, "decode 'xml' is not json or urlencoded"));
	CHECK(has_error("t.conf", 5, "bad regex"));
	CHECK(has_error("t.conf", 6, "kind 'forward' is not send, draft or upload"));
	CHECK(has_error("t.conf", 7, "duplicate signature id 'a' (first at t.conf:3)"));
	CHECK(has_error("t.conf", 9, "unknown role 'recipients' (to, cc, bcc, from, subject"));
	CHECK(has_error("t.conf", 11, "exactly one of 'equals', 'present' or 'matches'"));
	CHECK(has_error("t.conf", 12, "bad regex"));
	CHECK(has_error("t.conf", 13, "missing 'id'"));
	CHECK(has_error("t.conf", 15, "unknown top-level setting 'extra'"));
	webmail_signatures_free(s);

	/* syntax errors keep libconfig's line */
	s = load_text("product = \"X\";\nsignatures = (\n { id = ; kind = \"send\"; }\n);\n");
	CHECK(s == NULL);
	CHECK(errs.count >= 1 && errs.v[0].line == 3);
	webmail_signatures_free(s);

	/* missing product and signatures; bad header name; unknown condition key */
	s = load_text("signatures = ( { id = \"h\"; kind = \"send\";\n"
		      "  headers = ( { name = \"bad name\"; present = true; },\n"
		      "              { name = \"x\"; present = true; when = 1; } ); } );\n");
	CHECK(s == NULL);
	CHECK(has_error("t.conf", 0, "missing 'product"));
	CHECK(has_error("t.conf", 2, "is not a header field name"));
	CHECK(has_error("t.conf", 3, "unknown key 'when' (name, equals, present, matches)"));

	/* across files of one load: duplicate ids name both files */
	char d[] = "/tmp/test_webmail_sigs_XXXXXX";
	CHECK(mkdtemp(d) != NULL);
	char f1[64], f2[64], f3[64];
	snprintf(f1, sizeof(f1), "%s/10-a.conf", d);
	snprintf(f2, sizeof(f2), "%s/20-b.conf", d);
	snprintf(f3, sizeof(f3), "%s/30-c.txt", d); /* not *.conf: ignored */
	FILE *f = fopen(f1, "w");
	fputs("product = \"A\";\nsignatures = ( { id = \"x\"; kind = \"send\"; } );\n", f);
	fclose(f);
	f = fopen(f2, "w");
	fputs("product = \"B\";\nsignatures = (\n { id = \"x\"; kind = \"draft\"; } );\n", f);
	fclose(f);
	f = fopen(f3, "w");
	fputs("garbage", f);
	fclose(f);
	rule_errors_free(&errs);
	rule_errors_init(&errs, 64);
	const char *paths[] = {d};
	s = webmail_signatures_load(paths, 1, &errs);
	CHECK(s == NULL);
	char want[128];
	snprintf(want, sizeof(want), "duplicate signature id 'x' (first at %s:2)", f1);
	CHECK(has_error(f2, 3, want));
	CHECK_EQ_U(errs.count, 1);
	/* a missing path */
	const char *nopath[] = {"/nonexistent/webmail.conf"};
	rule_errors_free(&errs);
	rule_errors_init(&errs, 64);
	CHECK(webmail_signatures_load(nopath, 1, &errs) == NULL);
	CHECK(has_error("/nonexistent/webmail.conf", 0, "cannot read"));
	unlink(f1);
	unlink(f2);
	unlink(f3);
	rmdir(d);

	/* a good text: counts, prefix roles */
	s = load_text("product = \"P\";\nevidence = \"e\";\nsignatures = (\n"
		      " { id = \"p.send\"; kind = \"send\"; method = \"POST\"; host = \"^mail\\\\.\";\n"
		      "   path = \"^/x$\"; query = \"^a=\"; description = \"d\";\n"
		      "   params = ( { name = \"a\"; equals = \"1\"; } );\n"
		      "   headers = ( { name = \"X-Hdr\"; matches = \"^y\"; } );\n"
		      "   roles = { to = \"rcpt*\"; body = [\"b\"]; }; } );\n");
	CHECK(s != NULL);
	CHECK_EQ_U(errs.count, 0);
	CHECK_EQ_U(webmail_signatures_count(s), 1);
	CHECK_EQ_U(webmail_signatures_products(s), 1);
	webmail_signatures_free(s);
	/* NUL bytes are refused, not cut at */
	rule_errors_free(&errs);
	rule_errors_init(&errs, 64);
	static const char nul[] = "product = \"P\";\0signatures = ();";
	CHECK(webmail_signatures_load_mem("t.conf", nul, sizeof(nul) - 1, &errs) == NULL);
	CHECK(has_error("t.conf", 0, "NUL byte"));
}

/* ---- each product, each kind ---- */

static void test_roundcube(void)
{
	struct outcome o;
	const struct part send[] = {
		{"_token", "abc123", NULL},     {"_task", "mail", NULL},
		{"_action", "send", NULL},      {"_id", "5f1e2d3c4b5a", NULL},
		{"_attachments", "rcmfile1", NULL}, {"_from", "1", NULL},
		{"_to", "Alice <alice@example.org>, bob@example.net", NULL},
		{"_cc", "carol@example.com", NULL}, {"_bcc", "", NULL},
		{"_replyto", "", NULL},         {"_followupto", "", NULL},
		{"_subject", "Quarterly numbers", NULL},
		{"_draft", "", NULL},           {"_is_html", "0", NULL},
		{"_message", "Hello Alice,\r\nthe numbers are attached.\r\n", NULL},
	};
	char *b = multipart(send, sizeof(send) / sizeof(send[0]));
	struct spec s = {.method = "POST", .path = "/", .query = "_task=mail&_unlock=loading1&_framed=1",
			 .content_type = MP_TYPE, .body = b};
	run(&s, &o);
	CHECK(expect(&o, "Roundcube", WEBMAIL_SEND, "roundcube.send"));
	CHECK_STR(o.to, "Alice <alice@example.org>, bob@example.net");
	CHECK_STR(o.cc, "carol@example.com");
	CHECK_STR(o.bcc, "");
	CHECK_STR(o.subject, "Quarterly numbers");
	CHECK_STR(o.compose_id, "5f1e2d3c4b5a");
	CHECK_STR(o.body, "Hello Alice,\r\nthe numbers are attached.\r\n");
	CHECK_EQ_U(o.recipients, 3);
	CHECK_EQ_U(o.fields, 15);
	free(b);

	/* the same form saved as a draft */
	struct part draft[sizeof(send) / sizeof(send[0])];
	memcpy(draft, send, sizeof(send));
	draft[12].value = "1";
	b = multipart(draft, sizeof(draft) / sizeof(draft[0]));
	s.body = b;
	run(&s, &o);
	CHECK(expect(&o, "Roundcube", WEBMAIL_DRAFT, "roundcube.draft"));
	CHECK_STR(o.subject, "Quarterly numbers");
	free(b);

	/* an attachment upload: compose id in the query, files in _attachments[] */
	const struct part up[] = {
		{"_token", "abc123", NULL},
		{"_attachments[]", PDF, "report.pdf"},
	};
	b = multipart(up, 2);
	struct spec u = {.method = "POST", .path = "/",
			 .query = "_task=mail&_action=upload&_id=5f1e2d3c4b5a&_uploadid=upload1700000000&_from=compose&_remote=1",
			 .content_type = MP_TYPE, .body = b,
			 .headers = {{"x-roundcube-request", "tok"}}};
	run(&u, &o);
	CHECK(expect(&o, "Roundcube", WEBMAIL_UPLOAD, "roundcube.upload"));
	CHECK_STR(o.compose_id, "5f1e2d3c4b5a");
	CHECK_EQ_U(o.file_count, 1);
	CHECK_STR(o.file_name, "report.pdf");
	CHECK_STR(o.file_field, "_attachments[]");
	CHECK_EQ_U(o.file_size, strlen(PDF));
	CHECK_EQ_U(o.file_bytes, strlen(PDF));
	free(b);

	/* the compose POST as captured from roundcube 1.6.5 (Debian 12):
	 * tests/pcaps/webmail/roundcube_send_plain.pcap, token and ids changed */
	static const char cap[] =
		"_token=ssDPhtc6YSxSge9mritWxJMYZTQca2gv&_task=mail&_action=send"
		"&_id=19977485556b04a02e4e120&_attachments=&_from=1&_to=bob%40e2e.test"
		"&_cc=carol%40e2e.test&_bcc=dave%40e2e.test&_replyto=&_followupto="
		"&_subject=Meeting+minutes+2026-11&_draft_saveid=&_draft=&_is_html=0&_framed=1"
		"&_message=Hello+Bob%2C%0D%0A%0D%0Athe+minutes+are+below.%0D%0A"
		"&editorSelector=plain&_mdn=&_dsn=&_keepformatting=&_priority=0&_store_target=Sent";
	struct spec c = {.method = "POST", .host = "mail.allowed.test", .path = "/",
			 .query = "_task=mail&_unlock=loading1795465262376&_framed=1",
			 .content_type = "application/x-www-form-urlencoded", .body = cap};
	run(&c, &o);
	CHECK(expect(&o, "Roundcube", WEBMAIL_SEND, "roundcube.send"));
	CHECK_STR(o.to, "bob@e2e.test");
	CHECK_STR(o.cc, "carol@e2e.test");
	CHECK_STR(o.bcc, "dave@e2e.test");
	CHECK_STR(o.subject, "Meeting minutes 2026-11");
	CHECK_STR(o.compose_id, "19977485556b04a02e4e120");
	CHECK_STR(o.body, "Hello Bob,\r\n\r\nthe minutes are below.\r\n");
	CHECK_EQ_U(o.recipients, 3);

	/* the login POST of the same captures is nothing */
	struct spec li = {.method = "POST", .path = "/", .query = "_task=login",
			  .content_type = "application/x-www-form-urlencoded",
			  .body = "_token=x&_task=login&_action=login&_timezone=Asia%2FSeoul&_url="
				  "&_user=alice%40e2e.test&_pass=secret"};
	run(&li, &o);
	CHECK_EQ_U(o.kind, WEBMAIL_NONE);

	/* a mail list request of the same product is nothing */
	struct spec l = {.method = "GET", .path = "/", .query = "_task=mail&_action=list&_mbox=INBOX"};
	run(&l, &o);
	CHECK_EQ_U(o.kind, WEBMAIL_NONE);
	CHECK_STR(o.product, "");
}

static void test_sogo(void)
{
	struct outcome o;
	static const char json[] =
		"{\"from\":\"Me <me@example.com>\",\"to\":[\"alice@example.org\",\"Bob <bob@example.net>\"],"
		"\"cc\":[],\"bcc\":[\"boss@example.com\"],\"subject\":\"Plan \\u00e9t\\u00e9\","
		"\"text\":\"<p>See the plan.</p>\",\"isHTML\":true,\"attachmentAttrs\":[]}";
	struct spec s = {.method = "POST",
			 .path = "/SOGo/so/me/Mail/0/folderDrafts/newDraft1700000000-1/send",
			 .content_type = "application/json;charset=utf-8", .body = json,
			 .headers = {{"content-type", "application/json;charset=utf-8"}}};
	run(&s, &o);
	CHECK(expect(&o, "SOGo", WEBMAIL_SEND, "sogo.send"));
	CHECK_STR(o.to, "alice@example.org, Bob <bob@example.net>");
	CHECK_STR(o.bcc, "boss@example.com");
	CHECK_STR(o.from, "Me <me@example.com>");
	CHECK_STR(o.subject, "Plan \xc3\xa9t\xc3\xa9");
	CHECK_STR(o.body, "<p>See the plan.</p>");
	CHECK_EQ_U(o.recipients, 3);

	s.path = "/SOGo/so/me/Mail/0/folderDrafts/newDraft1700000000-1/save";
	run(&s, &o);
	CHECK(expect(&o, "SOGo", WEBMAIL_DRAFT, "sogo.draft"));
	CHECK_STR(o.to, "alice@example.org, Bob <bob@example.net>");

	const struct part up[] = {{"attachments", PDF, "plan.pdf"}};
	char *b = multipart(up, 1);
	struct spec u = {.method = "POST",
			 .path = "/SOGo/so/me/Mail/0/folderDrafts/newDraft1700000000-1/save",
			 .content_type = MP_TYPE, .body = b,
			 .headers = {{"content-type", MP_TYPE}}};
	run(&u, &o);
	CHECK(expect(&o, "SOGo", WEBMAIL_UPLOAD, "sogo.upload"));
	CHECK_STR(o.file_name, "plan.pdf");
	CHECK_EQ_U(o.file_size, strlen(PDF));
	free(b);

	/* as captured from SOGo 5.8 (Debian 12), tests/pcaps/webmail/
	 * sogo_session.pcap: the user in the path percent-encoded, the editable
	 * message as the Angular UI posts it (isHTML a number, locale), the same
	 * body to save and then to send; uploaded files are not listed in it */
	static const char cap[] =
		"{\"to\":[\"bob@e2e.test\"],\"cc\":[\"Carol Example <carol@e2e.test>\"],"
		"\"bcc\":[\"dave@e2e.test\"],\"isHTML\":1,\"text\":\"<p>Hi Bob,</p><p>&nbsp;</p>"
		"<p>the minutes are attached.</p><p>&nbsp;</p><p>Alice</p>\","
		"\"from\":\"Alice Example <alice@e2e.test>\",\"locale\":\"en\","
		"\"subject\":\"Meeting minutes 2026-11-23\"}";
	struct spec c = {.method = "POST", .host = "mail.allowed.test",
			 .path = "/SOGo/so/alice%40e2e.test/Mail/0/folderDrafts/newDraft1795466497-1/send",
			 .content_type = "application/json;charset=utf-8", .body = cap,
			 .headers = {{"content-type", "application/json;charset=utf-8"},
				     {"x-xsrf-token", "576479df94d454dea22aaefcde4f073a6d926482"}}};
	run(&c, &o);
	CHECK(expect(&o, "SOGo", WEBMAIL_SEND, "sogo.send"));
	CHECK_STR(o.to, "bob@e2e.test");
	CHECK_STR(o.cc, "Carol Example <carol@e2e.test>");
	CHECK_STR(o.bcc, "dave@e2e.test");
	CHECK_STR(o.from, "Alice Example <alice@e2e.test>");
	CHECK_STR(o.subject, "Meeting minutes 2026-11-23");
	CHECK_STR(o.body, "<p>Hi Bob,</p><p>&nbsp;</p><p>the minutes are attached.</p>"
			  "<p>&nbsp;</p><p>Alice</p>");
	CHECK_EQ_U(o.recipients, 3);
	c.path = "/SOGo/so/alice%40e2e.test/Mail/0/folderDrafts/newDraft1795466497-1/save";
	run(&c, &o);
	CHECK(expect(&o, "SOGo", WEBMAIL_DRAFT, "sogo.draft"));
	CHECK_EQ_U(o.recipients, 3);

	/* the captured upload: a browser's boundary, the file's own type */
#define GECKO "----geckoformboundary454df737a41a413782da1727a173c54f"
	static const char capu[] =
		"--" GECKO "\r\nContent-Disposition: form-data; name=\"attachments\"; "
		"filename=\"minutes.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
		PDF "\r\n--" GECKO "--\r\n";
	struct spec cu = {.method = "POST", .host = "mail.allowed.test",
			  .path = "/SOGo/so/alice%40e2e.test/Mail/0/folderDrafts/newDraft1795466497-1/save",
			  .content_type = "multipart/form-data; boundary=" GECKO, .body = capu,
			  .headers = {{"content-type", "multipart/form-data; boundary=" GECKO}}};
#undef GECKO
	run(&cu, &o);
	CHECK(expect(&o, "SOGo", WEBMAIL_UPLOAD, "sogo.upload"));
	CHECK_STR(o.file_name, "minutes.pdf");
	CHECK_STR(o.file_field, "attachments");
	CHECK_EQ_U(o.file_size, strlen(PDF));

	/* the other JSON POSTs of the session are nothing: the login and the
	 * mailbox listing */
	struct spec li = {.method = "POST", .path = "/SOGo/connect",
			  .content_type = "application/json;charset=utf-8",
			  .body = "{\"userName\":\"alice@e2e.test\",\"password\":\"secret\",\"rememberLogin\":0}",
			  .headers = {{"content-type", "application/json;charset=utf-8"}}};
	run(&li, &o);
	CHECK_EQ_U(o.kind, WEBMAIL_NONE);
	struct spec mv = {.method = "POST", .path = "/SOGo/so/alice%40e2e.test/Mail/0/folderINBOX/view",
			  .content_type = "application/json;charset=utf-8",
			  .body = "{\"sortingAttributes\":{\"sort\":\"date\",\"asc\":0}}",
			  .headers = {{"content-type", "application/json;charset=utf-8"}}};
	run(&mv, &o);
	CHECK_EQ_U(o.kind, WEBMAIL_NONE);
}

static void test_horde(void)
{
	struct outcome o;
	/* the compose form as compose-dimp.js uniqueSubmit() posts it: the
	 * fields in document order (Prototype's Form.serialize, no file input),
	 * then addr_ac (sendParams, a send only) and token */
	static const char form[] =
		"html=0&composeCache=a1b2c3d4e5&composeHmac=ff&request_read_receipt=0&user=me"
		"&save_attachments_select=0&MAX_FILE_SIZE=5242880&save_sent_mail=1"
		"&save_sent_mail_mbox=U2VudA&priority=normal&identity=0"
		"&to=alice%40example.org%2C+%22Doe%2C+John%22+%3Cjd%40example.net%3E"
		"&cc=&bcc=&subject=Budget+2026&message=Dear+all%2C%0D%0Abudget+attached."
		"&addr_ac=%5B%7B%22addr%22%3A%22alice%40example.org%22%2C%22id%22%3A%22to%22"
		"%2C%22itemid%22%3A%221%22%7D%5D&token=tok";
	struct spec s = {.method = "POST", .path = "/horde/services/ajax.php/imp/sendMessage",
			 .content_type = "application/x-www-form-urlencoded; charset=UTF-8",
			 .body = form, .headers = {{"x-requested-with", "XMLHttpRequest"}}};
	run(&s, &o);
	CHECK(expect(&o, "Horde IMP", WEBMAIL_SEND, "horde.send"));
	CHECK_STR(o.to, "alice@example.org, \"Doe, John\" <jd@example.net>");
	CHECK_STR(o.subject, "Budget 2026");
	CHECK_STR(o.compose_id, "a1b2c3d4e5");
	CHECK_STR(o.body, "Dear all,\r\nbudget attached.");
	CHECK_EQ_U(o.recipients, 2);

	s.path = "/horde/services/ajax.php/imp/saveDraft";
	run(&s, &o);
	CHECK(expect(&o, "Horde IMP", WEBMAIL_DRAFT, "horde.draft"));
	CHECK_STR(o.compose_id, "a1b2c3d4e5");

	/* a file dropped on the window: uploadAttachmentAjax(), FormData with
	 * one file in file_upload (no []) */
	const struct part up[] = {{"composeCache", "a1b2c3d4e5", NULL}, {"json_return", "1", NULL},
				  {"token", "tok", NULL}, {"file_id", "1", NULL},
				  {"file_upload", PDF, "budget.pdf"}};
	char *b = multipart(up, 5);
	struct spec u = {.method = "POST", .path = "/horde/services/ajax.php/imp/addAttachment",
			 .content_type = MP_TYPE, .body = b};
	run(&u, &o);
	CHECK(expect(&o, "Horde IMP", WEBMAIL_UPLOAD, "horde.upload"));
	CHECK_STR(o.compose_id, "a1b2c3d4e5");
	CHECK_STR(o.file_name, "budget.pdf");
	CHECK_STR(o.file_field, "file_upload");
	free(b);

	/* as captured from IMP 6.2.27 (Debian 12), tests/pcaps/webmail/
	 * horde_session.pcap: the send, Horde at the web root */
	static const char cap[] =
		"html=0&composeCache=KT1jw8GObbbk5UkTm5fdZ7E&composeHmac=ce41a4a33e057d0f0d1e8610660d"
		"9569475e3684&request_read_receipt=0&user=alice%40e2e.test&save_attachments_select=0"
		"&MAX_FILE_SIZE=5242880&save_sent_mail=1&save_sent_mail_mbox=U2VudA&priority=normal"
		"&identity=0&to=bob%40e2e.test&cc=Carol+Example+%3Ccarol%40e2e.test%3E"
		"&bcc=dave%40e2e.test&subject=Meeting+minutes+2026-11-23"
		"&message=Hi+Bob%2C%0D%0A%0D%0Athe+minutes+are+attached.%0D%0A%0D%0AAlice%0D%0A"
		"&addr_ac=%5B%7B%22addr%22%3A%22bob%40e2e.test%22%2C%22id%22%3A%22to%22%2C%22itemid"
		"%22%3A%221%22%7D%2C%7B%22addr%22%3A%22Carol+Example+%3Ccarol%40e2e.test%3E%22%2C"
		"%22id%22%3A%22cc%22%2C%22itemid%22%3A%221%22%7D%2C%7B%22addr%22%3A%22dave%40e2e"
		".test%22%2C%22id%22%3A%22bcc%22%2C%22itemid%22%3A%221%22%7D%5D"
		"&token=YNDPcbA71FLHAtX0kTwyI3O";
	struct spec c = {.method = "POST", .host = "mail.allowed.test",
			 .path = "/services/ajax.php/imp/sendMessage",
			 .content_type = "application/x-www-form-urlencoded; charset=UTF-8", .body = cap,
			 .headers = {{"content-type", "application/x-www-form-urlencoded; charset=UTF-8"},
				     {"x-requested-with", "XMLHttpRequest"},
				     {"x-prototype-version", "1.7.3"}}};
	run(&c, &o);
	CHECK(expect(&o, "Horde IMP", WEBMAIL_SEND, "horde.send"));
	CHECK_STR(o.to, "bob@e2e.test");
	CHECK_STR(o.cc, "Carol Example <carol@e2e.test>");
	CHECK_STR(o.bcc, "dave@e2e.test");
	CHECK_STR(o.subject, "Meeting minutes 2026-11-23");
	CHECK_STR(o.compose_id, "KT1jw8GObbbk5UkTm5fdZ7E");
	CHECK_STR(o.body, "Hi Bob,\r\n\r\nthe minutes are attached.\r\n\r\nAlice\r\n");
	CHECK_EQ_U(o.recipients, 3);

	/* the captured draft: a UTF-8 subject, no addr_ac */
	static const char capd[] =
		"html=0&composeCache=RimrQBn5OaE9-ce_Bz3mDoZ&composeHmac=1b97e54ee947f094037a415721851"
		"0170285b83d&request_read_receipt=0&user=alice%40e2e.test&save_attachments_select=0"
		"&MAX_FILE_SIZE=5242880&save_sent_mail=1&save_sent_mail_mbox=U2VudA&priority=normal"
		"&identity=0&to=bob%40e2e.test&cc=&bcc="
		"&subject=%EC%98%88%EC%82%B0+%EC%95%84%EC%9D%B4%EB%94%94%EC%96%B4+%2F+budget+ideas"
		"&message=Bob%2C%0D%0A%0D%0Asome+ideas+for+the+budget%2C+to+finish+later.%0D%0A"
		"&token=YNDPcbA71FLHAtX0kTwyI3O";
	c.path = "/services/ajax.php/imp/saveDraft";
	c.body = capd;
	run(&c, &o);
	CHECK(expect(&o, "Horde IMP", WEBMAIL_DRAFT, "horde.draft"));
	CHECK_STR(o.to, "bob@e2e.test");
	CHECK_STR(o.subject, "\xec\x98\x88\xec\x82\xb0 \xec\x95\x84\xec\x9d\xb4\xeb\x94\x94"
			     "\xec\x96\xb4 / budget ideas");
	CHECK_STR(o.compose_id, "RimrQBn5OaE9-ce_Bz3mDoZ");
	CHECK_EQ_U(o.recipients, 1);

	/* the captured upload: the attach button's file input submits the whole
	 * compose form (HordeCore.submit into a hidden iframe, ?jsonhtml=1),
	 * the file between subject and message, the token added last */
#define FFB "---------------------------10905372774559007534230368373"
#define FLD(n, v) "--" FFB "\r\nContent-Disposition: form-data; name=\"" n "\"\r\n\r\n" v "\r\n"
#define MINUTES "Minutes 2026-11-23\n\n1. Budget approved.\n2. Next meeting on Friday.\n"
	static const char capu[] =
		FLD("html", "0") FLD("composeCache", "KT1jw8GObbbk5UkTm5fdZ7E")
		FLD("composeHmac", "ce41a4a33e057d0f0d1e8610660d9569475e3684")
		FLD("request_read_receipt", "0") FLD("user", "alice@e2e.test")
		FLD("save_attachments_select", "0") FLD("MAX_FILE_SIZE", "5242880")
		FLD("save_sent_mail", "1") FLD("save_sent_mail_mbox", "U2VudA")
		FLD("priority", "normal") FLD("identity", "0") FLD("to", "bob@e2e.test")
		FLD("cc", "Carol Example <carol@e2e.test>") FLD("bcc", "dave@e2e.test")
		FLD("subject", "Meeting minutes 2026-11-23")
		"--" FFB "\r\nContent-Disposition: form-data; name=\"file_upload[]\"; "
		"filename=\"minutes.txt\"\r\nContent-Type: text/plain\r\n\r\n" MINUTES "\r\n"
		FLD("message", "Hi Bob,\r\n\r\nthe minutes are attached.\r\n\r\nAlice\r\n")
		FLD("token", "YNDPcbA71FLHAtX0kTwyI3O") "--" FFB "--\r\n";
	struct spec cu = {.method = "POST", .host = "mail.allowed.test",
			  .path = "/services/ajax.php/imp/addAttachment", .query = "jsonhtml=1",
			  .content_type = "multipart/form-data; boundary=" FFB, .body = capu,
			  .headers = {{"content-type", "multipart/form-data; boundary=" FFB}}};
	run(&cu, &o);
	CHECK(expect(&o, "Horde IMP", WEBMAIL_UPLOAD, "horde.upload"));
	CHECK_STR(o.compose_id, "KT1jw8GObbbk5UkTm5fdZ7E");
	CHECK_STR(o.file_name, "minutes.txt");
	CHECK_STR(o.file_field, "file_upload[]");
	CHECK_EQ_U(o.file_size, strlen(MINUTES));
	CHECK_EQ_U(o.file_count, 1);
#undef MINUTES
#undef FLD
#undef FFB

	/* the session's other POSTs are nothing: the login form (an address
	 * and a password) and the mailbox's first AJAX request */
	struct spec li = {.method = "POST", .host = "mail.allowed.test", .path = "/login.php",
			  .content_type = "application/x-www-form-urlencoded",
			  .body = "app=&login_post=1&url=&anchor_string=&horde_user=alice%40e2e.test"
				  "&horde_pass=alice-webmail-pw&horde_select_view=dynamic&new_lang=en_US",
			  .headers = {{"content-type", "application/x-www-form-urlencoded"}}};
	run(&li, &o);
	CHECK_EQ_U(o.kind, WEBMAIL_NONE);
	struct spec di = {.method = "POST", .host = "mail.allowed.test",
			  .path = "/services/ajax.php/imp/dynamicInit",
			  .content_type = "application/x-www-form-urlencoded; charset=UTF-8",
			  .body = "view=SU5CT1g&initial=1&after=24&before=6&token=YNDPcbA71FLHAtX0kTwyI3O",
			  .headers = {{"x-requested-with", "XMLHttpRequest"}}};
	run(&di, &o);
	CHECK_EQ_U(o.kind, WEBMAIL_NONE);
}

static void test_zimbra(void)
{
	struct outcome o;
	static const char json[] =
		"{\"Header\":{\"context\":{\"_jsns\":\"urn:zimbra\",\"csrfToken\":\"x\"}},"
		"\"Body\":{\"SendMsgRequest\":{\"_jsns\":\"urn:zimbraMail\",\"suid\":\"1700000000\","
		"\"m\":{\"e\":[{\"t\":\"t\",\"a\":\"alice@example.org\",\"p\":\"Alice\"},"
		"{\"t\":\"c\",\"a\":\"bob@example.net\"},{\"t\":\"f\",\"a\":\"me@example.com\"}],"
		"\"su\":{\"_content\":\"Contract\"},"
		"\"mp\":[{\"ct\":\"multipart/alternative\",\"mp\":[{\"ct\":\"text/plain\","
		"\"content\":{\"_content\":\"Please sign.\"}}]}],"
		"\"attach\":{\"aid\":\"a7c1-42:9f\"}}}}}";
	/* the web client labels its JSON soap+xml: the signature says decode json */
	struct spec s = {.method = "POST", .path = "/service/soap/SendMsgRequest",
			 .content_type = "application/soap+xml; charset=utf-8", .body = json};
	run(&s, &o);
	CHECK(expect(&o, "Zimbra", WEBMAIL_SEND, "zimbra.send"));
	CHECK_STR(o.to, "alice@example.org, bob@example.net, me@example.com");
	CHECK_STR(o.subject, "Contract");
	CHECK_STR(o.body, "Please sign.");
	CHECK_EQ_U(o.recipients, 3);
	/* a JSON client saying so gets the same */
	s.content_type = "application/json";
	run(&s, &o);
	CHECK(expect(&o, "Zimbra", WEBMAIL_SEND, "zimbra.send"));
	CHECK_STR(o.subject, "Contract");

	static const char djson[] =
		"{\"Body\":{\"SaveDraftRequest\":{\"_jsns\":\"urn:zimbraMail\","
		"\"m\":{\"e\":[{\"t\":\"t\",\"a\":\"alice@example.org\"}],\"su\":{\"_content\":\"Draft\"},"
		"\"mp\":[{\"ct\":\"text/plain\",\"content\":{\"_content\":\"unfinished\"}}]}}}}";
	struct spec d = {.method = "POST", .path = "/service/soap/SaveDraftRequest",
			 .content_type = "application/soap+xml; charset=utf-8", .body = djson};
	run(&d, &o);
	CHECK(expect(&o, "Zimbra", WEBMAIL_DRAFT, "zimbra.draft"));
	CHECK_STR(o.subject, "Draft");
	CHECK_STR(o.body, "unfinished");

	/* raw upload: the body is the file, named by Content-Disposition */
	struct spec u = {.method = "POST", .path = "/service/upload", .query = "fmt=extended,raw",
			 .content_type = "application/pdf", .body = PDF,
			 .headers = {{"content-disposition", "attachment; filename=\"contract.pdf\""}}};
	run(&u, &o);
	CHECK(expect(&o, "Zimbra", WEBMAIL_UPLOAD, "zimbra.upload"));
	CHECK_EQ_U(o.file_count, 1);
	CHECK_STR(o.file_name, "contract.pdf");
	CHECK_EQ_U(o.file_size, strlen(PDF));
	CHECK_EQ_U(o.body_len, 0);
}

static void test_owa(void)
{
	struct outcome o;
	static const char json[] =
		"{\"__type\":\"CreateItemJsonRequest:#Exchange\",\"Header\":{\"__type\":"
		"\"JsonRequestHeaders:#Exchange\",\"RequestServerVersion\":\"Exchange2013\"},"
		"\"Body\":{\"__type\":\"CreateItemRequest:#Exchange\",\"Items\":[{\"__type\":"
		"\"Message:#Exchange\",\"Subject\":\"Offer\",\"Body\":{\"__type\":"
		"\"BodyContentType:#Exchange\",\"BodyType\":\"HTML\",\"Value\":\"<div>Our offer</div>\"},"
		"\"ToRecipients\":[{\"Name\":\"Alice\",\"EmailAddress\":\"alice@example.org\","
		"\"RoutingType\":\"SMTP\"}],\"CcRecipients\":[{\"EmailAddress\":\"bob@example.net\"}],"
		"\"BccRecipients\":[]}],\"MessageDisposition\":\"SendAndSaveCopy\"}}";
	struct spec s = {.method = "POST", .path = "/owa/service.svc",
			 .query = "action=CreateItem&ID=-1&AC=1",
			 .content_type = "application/json; charset=utf-8", .body = json,
			 .headers = {{"action", "CreateItem"}}};
	run(&s, &o);
	CHECK(expect(&o, "Outlook Web App", WEBMAIL_SEND, "owa.send"));
	CHECK_STR(o.to, "alice@example.org");
	CHECK_STR(o.cc, "bob@example.net");
	CHECK_STR(o.subject, "Offer");
	CHECK_STR(o.body, "<div>Our offer</div>");
	CHECK_EQ_U(o.recipients, 2);

	char *dj = strdup(json);
	char *p = strstr(dj, "SendAndSaveCopy");
	memcpy(p, "SaveOnly\"}}", 12);
	s.body = dj;
	run(&s, &o);
	CHECK(expect(&o, "Outlook Web App", WEBMAIL_DRAFT, "owa.draft"));
	CHECK_STR(o.subject, "Offer");
	free(dj);

	static const char ajson[] =
		"{\"__type\":\"CreateAttachmentJsonRequest:#Exchange\",\"Body\":{\"ParentItemId\":"
		"{\"Id\":\"AAMkADraft=\"},\"Attachments\":[{\"__type\":\"FileAttachment:#Exchange\","
		"\"Name\":\"offer.pdf\",\"ContentType\":\"application/pdf\",\"Content\":\"JVBERi0xLjQ=\"}]}}";
	struct spec u = {.method = "POST", .path = "/owa/service.svc",
			 .query = "action=CreateAttachmentFromLocalFile&ID=-2&AC=1",
			 .content_type = "application/json; charset=utf-8", .body = ajson};
	run(&u, &o);
	CHECK(expect(&o, "Outlook Web App", WEBMAIL_UPLOAD, "owa.upload"));
	CHECK_STR(o.compose_id, "AAMkADraft=");
}

static void test_squirrelmail(void)
{
	struct outcome o;
	struct part f[] = {
		{"smtoken", "tok", NULL},       {"session", "3", NULL},
		{"send_to", "alice@example.org; bob@example.net", NULL},
		{"send_to_cc", "", NULL},       {"send_to_bcc", "", NULL},
		{"subject", "Minutes", NULL},   {"body", "Minutes attached.", NULL},
		{"attachfile", "", "" },        {"send", "Send", NULL},
	};
	/* an empty file input: SquirrelMail forms always carry it */
	f[7].filename = "";
	char *b = multipart(f, 9);
	struct spec s = {.method = "POST", .path = "/squirrelmail/src/compose.php",
			 .content_type = MP_TYPE, .body = b};
	run(&s, &o);
	CHECK(expect(&o, "SquirrelMail", WEBMAIL_SEND, "squirrelmail.send"));
	CHECK_STR(o.to, "alice@example.org; bob@example.net");
	CHECK_STR(o.subject, "Minutes");
	CHECK_STR(o.body, "Minutes attached.");
	CHECK_STR(o.compose_id, "3");
	CHECK_EQ_U(o.recipients, 2);
	free(b);

	f[8] = (struct part){"draft", "Save Draft", NULL};
	b = multipart(f, 9);
	s.body = b;
	run(&s, &o);
	CHECK(expect(&o, "SquirrelMail", WEBMAIL_DRAFT, "squirrelmail.draft"));
	free(b);

	f[7] = (struct part){"attachfile", PDF, "minutes.pdf"};
	f[8] = (struct part){"attach", "Add", NULL};
	b = multipart(f, 9);
	s.body = b;
	run(&s, &o);
	CHECK(expect(&o, "SquirrelMail", WEBMAIL_UPLOAD, "squirrelmail.upload"));
	CHECK_STR(o.file_name, "minutes.pdf");
	CHECK_EQ_U(o.file_size, strlen(PDF));
	free(b);
}

static void test_rainloop(void)
{
	struct outcome o;
	static const char form[] =
		"Action=SendMessage&XToken=abc&IdentityID=0&MessageFolder=&MessageUid=&DraftFolder=Drafts"
		"&SentFolder=Sent&To=%22Alice%22+%3Calice%40example.org%3E&Cc=&Bcc=&ReplyTo="
		"&Subject=Hi&TextIsHtml=0&Text=Hello+there&DraftInfo=&InReplyTo=&References=";
	struct spec s = {.method = "POST", .path = "/", .query = "/Ajax/&q[]=/0/",
			 .content_type = "application/x-www-form-urlencoded; charset=UTF-8",
			 .body = form};
	run(&s, &o);
	CHECK(expect(&o, "RainLoop", WEBMAIL_SEND, "rainloop.send"));
	CHECK_STR(o.to, "\"Alice\" <alice@example.org>");
	CHECK_STR(o.subject, "Hi");
	CHECK_STR(o.body, "Hello there");
	CHECK_EQ_U(o.recipients, 1);

	/* SnappyMail: JSON, lower-case keys */
	static const char json[] =
		"{\"Action\":\"SaveMessage\",\"identityID\":\"x\",\"from\":\"me@example.com\","
		"\"to\":\"alice@example.org, bob@example.net\",\"cc\":\"\",\"bcc\":\"\","
		"\"subject\":\"Later\",\"plain\":\"to be continued\",\"attachments\":{}}";
	struct spec d = {.method = "POST", .path = "/", .query = "/Json/&q[]=/0/",
			 .content_type = "application/json", .body = json,
			 .headers = {{"x-sm-token", "t"}}};
	run(&d, &o);
	CHECK(expect(&o, "RainLoop", WEBMAIL_DRAFT, "rainloop.draft"));
	CHECK_STR(o.to, "alice@example.org, bob@example.net");
	CHECK_STR(o.body, "to be continued");

	const struct part up[] = {{"uploader", PDF, "memo.pdf"}};
	char *b = multipart(up, 1);
	struct spec u = {.method = "POST", .path = "/", .query = "/Upload/&q[]=/0/",
			 .content_type = MP_TYPE, .body = b};
	run(&u, &o);
	CHECK(expect(&o, "RainLoop", WEBMAIL_UPLOAD, "rainloop.upload"));
	CHECK_STR(o.file_name, "memo.pdf");
	free(b);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		snprintf(root, sizeof(root), "%s", argv[1]);
	RUN(test_load_shipped);
	RUN(test_errors);
	if (sigs) {
		RUN(test_roundcube);
		RUN(test_sogo);
		RUN(test_horde);
		RUN(test_zimbra);
		RUN(test_owa);
		RUN(test_squirrelmail);
		RUN(test_rainloop);
	}
	webmail_signatures_free(sigs);
	rule_errors_free(&errs);
	return tl_finish();
}
