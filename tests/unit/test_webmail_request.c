/* One webmail request: field roles (signature first, then the generic guess
 * by name), streaming of body text and files to the sink while the body
 * arrives, the caps and their counters, the generic detector's scores and
 * reasons on forms that are sends and forms that are not, and the same
 * result whether the body comes whole or byte by byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "webmail/webmail.h"
#include "webmail/webmail_priv.h"

/* ---- harness ---- */

struct capture {
	char text[1 << 18];          /* every streamed text byte, "<role:field>" before each field */
	size_t len;
	unsigned text_calls, file_calls;
	size_t largest_piece;
	char last_field[128];
	enum webmail_role last_role;
	bool ended;                  /* set just before webmail_request_end */
	unsigned calls_before_end;
	uint64_t file_bytes;
};

static void put(struct capture *c, const void *d, size_t n)
{
	if (n > sizeof(c->text) - 1 - c->len)
		n = sizeof(c->text) - 1 - c->len;
	memcpy(c->text + c->len, d, n);
	c->len += n;
	c->text[c->len] = '\0';
}

static void on_text(void *ctx, enum webmail_role role, const char *field, const uint8_t *d,
		    size_t n)
{
	struct capture *c = ctx;
	c->text_calls++;
	if (!c->ended)
		c->calls_before_end++;
	if (n > c->largest_piece)
		c->largest_piece = n;
	if (role != c->last_role || strcmp(field, c->last_field) != 0) {
		char tag[160];
		snprintf(tag, sizeof(tag), "<%s:%s>", webmail_role_name(role), field);
		put(c, tag, strlen(tag));
		snprintf(c->last_field, sizeof(c->last_field), "%s", field);
		c->last_role = role;
	}
	put(c, d, n);
}

static void on_file_begin(void *ctx, const char *field, const char *filename, const char *ct)
{
	struct capture *c = ctx;
	char tag[512];
	snprintf(tag, sizeof(tag), "<file:%s:%s:%s>", field, filename, ct);
	put(c, tag, strlen(tag));
	c->file_calls++;
	c->last_field[0] = '\0';
}

static void on_file_data(void *ctx, const uint8_t *d, size_t n)
{
	struct capture *c = ctx;
	c->file_bytes += n;
	put(c, d, n);
}

static void on_file_end(void *ctx, uint64_t size)
{
	struct capture *c = ctx;
	char tag[64];
	snprintf(tag, sizeof(tag), "</file:%llu>", (unsigned long long)size);
	put(c, tag, strlen(tag));
}

static const struct webmail_sink sink = {on_text, on_file_begin, on_file_data, on_file_end};

struct req {
	const char *method, *host, *path, *query, *content_type;
	const char *body;
	size_t body_len;
};

/* Run a request, feeding the body in pieces of `piece` bytes (0: whole). */
static struct webmail_request *start(const struct webmail_signatures *sigs,
				     const struct webmail_limits *lim, const struct req *q,
				     struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->last_role = WEBMAIL_ROLE_COUNT;
	static struct http_header none[1];
	struct http_request r = {
		.method = q->method,
		.url = q->path,
		.host = q->host ? q->host : "www.example.com",
		.path = q->path,
		.query = q->query ? q->query : "",
		.content_type = q->content_type ? q->content_type : "",
		.content_length = q->body ? (int64_t)(q->body_len ? q->body_len : strlen(q->body)) : -1,
		.content_encoding = "",
		.headers = none,
		.header_count = 0,
		.version_major = 1,
		.version_minor = 1,
	};
	return webmail_request_begin(sigs, lim, &r, &sink, c);
}

static const struct webmail_result *feed(struct webmail_request *w, const struct req *q,
					 size_t piece, struct capture *c)
{
	size_t n = q->body ? (q->body_len ? q->body_len : strlen(q->body)) : 0;
	for (size_t off = 0; off < n;) {
		size_t k = piece && piece < n - off ? piece : n - off;
		webmail_request_body(w, (const uint8_t *)q->body + off, k);
		off += k;
	}
	c->ended = true;
	return webmail_request_end(w);
}

static bool has_reason(const struct webmail_result *r, const char *what)
{
	for (uint32_t i = 0; i < r->reason_count; i++)
		if (strstr(r->reasons[i], what))
			return true;
	fprintf(stderr, "  no reason \"%s\"; have:\n", what);
	for (uint32_t i = 0; i < r->reason_count; i++)
		fprintf(stderr, "    %s\n", r->reasons[i]);
	return false;
}

#define FORM "application/x-www-form-urlencoded"
#define MP "multipart/form-data; boundary=XX"

static struct webmail_signatures *load(const char *text)
{
	struct rule_errors e;
	rule_errors_init(&e, 16);
	struct webmail_signatures *s = webmail_signatures_load_mem("t.conf", text, strlen(text), &e);
	for (size_t i = 0; i < e.count; i++)
		fprintf(stderr, "  %s:%u: %s\n", e.v[i].file, e.v[i].line, e.v[i].reason);
	rule_errors_free(&e);
	return s;
}

/* ---- names, addresses ---- */

static void test_generic_names(void)
{
	CHECK_EQ_U(generic_role_of_name("to"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("_to"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("To[]"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("recipients"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("rcpt"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("mailto"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("send_to"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("message.toRecipients"), WEBMAIL_ROLE_TO);
	CHECK_EQ_U(generic_role_of_name("Cc"), WEBMAIL_ROLE_CC);
	CHECK_EQ_U(generic_role_of_name("send_to_bcc"), WEBMAIL_ROLE_BCC);
	CHECK_EQ_U(generic_role_of_name("subject"), WEBMAIL_ROLE_SUBJECT);
	CHECK_EQ_U(generic_role_of_name("title"), WEBMAIL_ROLE_SUBJECT);
	CHECK_EQ_U(generic_role_of_name("body"), WEBMAIL_ROLE_BODY);
	CHECK_EQ_U(generic_role_of_name("msg.content"), WEBMAIL_ROLE_BODY);
	CHECK_EQ_U(generic_role_of_name("html"), WEBMAIL_ROLE_BODY);
	CHECK_EQ_U(generic_role_of_name("attachments[0]"), WEBMAIL_ROLE_ATTACHMENT);
	CHECK_EQ_U(generic_role_of_name("from"), WEBMAIL_ROLE_FROM);
	/* near misses stay unnamed */
	CHECK_EQ_U(generic_role_of_name("token"), WEBMAIL_ROLE_NONE);
	CHECK_EQ_U(generic_role_of_name("email"), WEBMAIL_ROLE_NONE);
	CHECK_EQ_U(generic_role_of_name("comment"), WEBMAIL_ROLE_NONE);
	CHECK_EQ_U(generic_role_of_name("todo"), WEBMAIL_ROLE_NONE);
	CHECK_EQ_U(generic_role_of_name(""), WEBMAIL_ROLE_NONE);
	CHECK_EQ_U(generic_role_of_name("a.very.long.key.whose.last.part.is.much.longer.than.any.name"),
		   WEBMAIL_ROLE_NONE);
}

static void test_addresses(void)
{
	CHECK_EQ_U(webmail_count_addresses(""), 0);
	CHECK_EQ_U(webmail_count_addresses("alice@example.org"), 1);
	CHECK_EQ_U(webmail_count_addresses("alice@example.org, bob@example.net"), 2);
	CHECK_EQ_U(webmail_count_addresses("a@b.c;d@e.f\ng@h.i\r\nj@k.l"), 4);
	CHECK_EQ_U(webmail_count_addresses("Alice <alice@example.org>"), 1);
	CHECK_EQ_U(webmail_count_addresses("\"Doe, John\" <jd@example.net>, x@y.z"), 2);
	CHECK_EQ_U(webmail_count_addresses("\"a@b.c\" <real@example.com>"), 1);
	CHECK_EQ_U(webmail_count_addresses("a@b.c d@e.f"), 2);
	CHECK_EQ_U(webmail_count_addresses("user@localhost"), 0);   /* one label */
	CHECK_EQ_U(webmail_count_addresses("@example.com"), 0);
	CHECK_EQ_U(webmail_count_addresses("a@b..c"), 0);
	CHECK_EQ_U(webmail_count_addresses("not an address"), 0);
	CHECK_EQ_U(webmail_count_addresses("Bob <>"), 0);
	CHECK_EQ_U(webmail_count_addresses("홍길동 <hong@example.kr>"), 1);
	/* an open quote hides the brackets: only the bare token counts */
	CHECK_EQ_U(webmail_count_addresses("\"unterminated <a@b.c>, d@e.f"), 1);
}

/* ---- roles ---- */

static const char sig_text[] =
	"product = \"Test\";\n"
	"signatures = (\n"
	" { id = \"t.send\"; kind = \"send\"; method = \"POST\"; path = \"^/t/send$\";\n"
	"   params = ( { name = \"act\"; equals = \"go\"; }, { name = \"draft\"; present = false; } );\n"
	"   roles = { to = [\"rcp\"]; subject = [\"topic\"]; body = [\"txt\"];\n"
	"             attachment = [\"att*\"]; compose_id = [\"cid\"]; none = [\"html\"]; }; },\n"
	" { id = \"t.other\"; kind = \"draft\"; path = \"^/t/\";\n"
	"   params = ( { name = \"act\"; matches = \"^sa\"; } );\n"
	"   roles = { cc = [\"rcp\", \"copy\"]; }; },\n"
	" { id = \"t.never\"; kind = \"upload\"; path = \"^/elsewhere$\";\n"
	"   roles = { bcc = [\"copy\", \"topic2\"]; }; }\n"
	");\n";

static void test_roles(void)
{
	struct webmail_signatures *sigs = load(sig_text);
	CHECK(sigs != NULL);
	struct webmail_limits lim;
	webmail_limits_default(&lim);
	struct capture c;
	/* rcp: first candidate (t.send) says to; copy: t.other says cc (t.never
	 * is no candidate); topic2: nobody, generic guess none; html: none by
	 * signature although the generic guess would say body; message: generic
	 * body; cid from the query */
	struct req q = {.method = "POST", .path = "/t/send", .query = "cid=c-42&act=go",
			.content_type = FORM,
			.body = "rcp=alice%40example.org&copy=bob%40example.net&topic=Hello&topic2=x"
				"&html=1&txt=body+text&message=more&att%5B0%5D=f1&other=zzz"};
	struct webmail_request *w = start(sigs, &lim, &q, &c);
	const struct webmail_result *r = feed(w, &q, 0, &c);
	CHECK_EQ_U(r->kind, WEBMAIL_SEND);
	CHECK_STR(r->product, "Test");
	CHECK_STR(r->signature, "t.send");
	CHECK_EQ_U(r->confidence, 100);
	CHECK_EQ_U(r->reason_count, 0);
	CHECK_STR(r->to, "alice@example.org");
	/* copy was cc by t.other while it was a candidate, but t.send matched
	 * and names no cc: not this request's recipients */
	CHECK_STR(r->cc, "");
	CHECK_STR(r->bcc, "");
	CHECK_STR(r->subject, "Hello");
	CHECK_STR(r->compose_id, "c-42");
	CHECK_EQ_U(r->recipients, 1);
	CHECK_EQ_U(r->fields, 9);
	CHECK_EQ_U(r->form, FORM_URLENCODED);
	/* role values are copied, not streamed; everything else streams */
	CHECK_STR(c.text, "<none:topic2>x<none:html>1<body:txt>body text<body:message>more"
			  "<attachment:att[0]>f1<none:other>zzz");
	CHECK_EQ_U(r->body_bytes, strlen("body text") + strlen("more"));
	CHECK_EQ_U(r->text_bytes, strlen("x1body textmoref1zzz"));
	webmail_request_free(w);

	/* params decide at the end: draft present -> t.send fails, t.other
	 * (act matches ^sa? no: "go") fails too -> generic */
	struct req q2 = q;
	q2.query = "cid=c-42&act=go&draft=1";
	w = start(sigs, &lim, &q2, &c);
	r = feed(w, &q2, 0, &c);
	CHECK_STR(r->signature, "");
	CHECK_STR(r->product, "generic");
	CHECK_EQ_U(r->kind, WEBMAIL_SEND);
	CHECK_EQ_U(r->confidence, 100);  /* to, cc, subject, body, attachment ref, "send", POST */
	CHECK(has_reason(r, "attachment field 'att[0]' references uploads"));
	/* the roles given at begin still apply */
	CHECK_STR(r->to, "alice@example.org");
	webmail_request_free(w);

	/* body parameters count for conditions too: act in the body */
	struct req q3 = {.method = "PUT", .path = "/t/x", .content_type = FORM,
			 .body = "rcp=a%40b.cd&act=save"};
	w = start(sigs, &lim, &q3, &c);
	r = feed(w, &q3, 0, &c);
	CHECK_STR(r->signature, "t.other");
	CHECK_EQ_U(r->kind, WEBMAIL_DRAFT);
	CHECK_STR(r->cc, "a@b.cd");    /* t.send is no candidate (method, path) */
	CHECK_STR(r->to, "");
	webmail_request_free(w);

	/* several fields of a role are joined; empty ones add nothing */
	struct req q4 = {.method = "POST", .path = "/x", .content_type = FORM,
			 .body = "to=a%40b.cd&to=&to=e%40f.gh&cc=&subject=s1&subject=s2"};
	w = start(sigs, &lim, &q4, &c);
	r = feed(w, &q4, 0, &c);
	CHECK_STR(r->to, "a@b.cd, e@f.gh");
	CHECK_STR(r->subject, "s1, s2");
	CHECK_EQ_U(r->recipients, 2);
	webmail_request_free(w);

	/* a file field is present for conditions, its value the file name */
	struct webmail_signatures *fs = load("product = \"F\"; signatures = ( { id = \"f\"; kind = \"upload\";"
					     " params = ( { name = \"up\"; matches = \"\\\\.pdf$\"; } ); } );");
	CHECK(fs != NULL);
	struct req qf = {.method = "POST", .path = "/", .content_type = MP,
			 .body = "--XX\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.pdf\"\r\n"
				 "\r\n%PDF\r\n--XX--\r\n"};
	w = start(fs, &lim, &qf, &c);
	r = feed(w, &qf, 0, &c);
	CHECK_STR(r->signature, "f");
	CHECK_EQ_U(r->kind, WEBMAIL_UPLOAD);
	webmail_request_free(w);
	webmail_signatures_free(fs);

	/* a GET without body still gets a result; a signature may match it */
	struct webmail_signatures *g = load("product = \"G\"; signatures = ( { id = \"g\"; kind = \"send\";"
					    " method = \"GET\"; params = ( { name = \"do\"; equals = \"send\"; } );"
					    " roles = { to = [\"r\"]; body = [\"b\"]; }; } );");
	CHECK(g != NULL);
	struct req q5 = {.method = "GET", .path = "/", .query = "do=send&r=x%40y.zz&b=hello+there"};
	w = start(g, &lim, &q5, &c);
	r = feed(w, &q5, 0, &c);
	CHECK_EQ_U(r->kind, WEBMAIL_SEND);
	CHECK_STR(r->to, "x@y.zz");
	CHECK_STR(c.text, "<body:b>hello there");
	CHECK_EQ_U(r->fields, 0);
	webmail_request_free(w);
	struct req q6 = {.method = "GET", .path = "/inbox"};
	w = start(g, &lim, &q6, &c);
	r = feed(w, &q6, 0, &c);
	CHECK_EQ_U(r->kind, WEBMAIL_NONE);
	CHECK_STR(r->product, "");
	CHECK_STR(r->to, "");
	CHECK_EQ_U(r->form, FORM_RAW);
	webmail_request_free(w);
	webmail_signatures_free(g);
	webmail_signatures_free(sigs);
}

/* ---- streaming ---- */

static void test_streaming(void)
{
	struct webmail_limits lim;
	webmail_limits_default(&lim);
	/* a 200 KB body field streams in pieces no larger than what was fed */
	size_t big = 200000;
	char *body = malloc(big + 64);
	size_t n = (size_t)sprintf(body, "to=a%%40b.cd&body=");
	for (size_t i = 0; i < big; i++)
		body[n++] = (char)('a' + i % 26);
	n += (size_t)sprintf(body + n, "&subject=S");
	struct req q = {.method = "POST", .path = "/x", .content_type = FORM, .body = body,
			.body_len = n};
	struct capture *c = malloc(sizeof(*c));
	struct webmail_request *w = start(NULL, &lim, &q, c);
	size_t calls_mid = 0;
	for (size_t off = 0; off < n;) {
		size_t k = 1500 < n - off ? 1500 : n - off;
		webmail_request_body(w, (const uint8_t *)body + off, k);
		off += k;
		if (off >= n / 2 && !calls_mid)
			calls_mid = c->text_calls;
	}
	CHECK(calls_mid > 10);               /* text flowed while the body was arriving */
	const struct webmail_result *r = webmail_request_end(w);
	CHECK(c->largest_piece <= 1500);
	CHECK(c->text_calls >= big / 1500);
	CHECK_EQ_U(r->body_bytes, big);
	CHECK_EQ_U(c->len, strlen("<body:body>") + big);
	CHECK_STR(r->subject, "S");
	CHECK_EQ_U(r->truncated_fields, 0);
	webmail_request_free(w);

	/* multipart: files stream to file_*, text fields to text */
	static const char mp[] =
		"--XX\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nx@y.zz\r\n"
		"--XX\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nline1\r\nline2\r\n"
		"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
		"Content-Type: text/plain\r\n\r\nfile body\r\n"
		"--XX--\r\n";
	struct req m = {.method = "POST", .path = "/send", .content_type = MP, .body = mp};
	w = start(NULL, &lim, &m, c);
	r = feed(w, &m, 7, c);
	CHECK_STR(c->text, "<body:message>line1\r\nline2<file:f:a.txt:text/plain>file body</file:9>");
	CHECK_EQ_U(r->file_count, 1);
	CHECK_STR(r->files[0].field, "f");
	CHECK_STR(r->files[0].filename, "a.txt");
	CHECK_STR(r->files[0].content_type, "text/plain");
	CHECK_EQ_U(r->files[0].size, 9);
	CHECK_EQ_U(r->form, FORM_MULTIPART);
	CHECK_EQ_U(r->fields, 3);
	webmail_request_free(w);
	free(c);
	free(body);
}

/* ---- caps ---- */

static void test_caps(void)
{
	struct webmail_limits lim;
	webmail_limits_default(&lim);
	lim.max_field_copy = 16;
	struct capture *c = malloc(sizeof(*c));
	/* role copies cut at max_field_copy, each cut field counted once */
	struct req q = {.method = "POST", .path = "/x", .content_type = FORM,
			.body = "to=alice%40example.org%2Cbob%40example.net&subject=0123456789abcdefXYZ"
				"&cc=c%40d.ef"};
	struct webmail_request *w = start(NULL, &lim, &q, c);
	const struct webmail_result *r = feed(w, &q, 1, c);
	CHECK_STR(r->to, "alice@example.or");
	CHECK_STR(r->subject, "0123456789abcdef");
	CHECK_STR(r->cc, "c@d.ef");
	CHECK_EQ_U(r->truncated_fields, 2);
	CHECK_EQ_U(strlen(r->to), 16);
	/* what the copies could not hold is still inspected, as text */
	CHECK_STR(c->text, "<to:to>g,bob@example.net<subject:subject>XYZ");
	CHECK_EQ_U(r->text_bytes, strlen("g,bob@example.netXYZ"));
	CHECK_EQ_U(r->body_bytes, 0);
	webmail_request_free(w);

	/* joined values share the cap */
	struct req j = {.method = "POST", .path = "/x", .content_type = FORM,
			.body = "to=a%40b.cd&to=e%40f.gh&to=i%40j.kl"};
	w = start(NULL, &lim, &j, c);
	r = feed(w, &j, 0, c);
	CHECK_STR(r->to, "a@b.cd, e@f.gh, ");
	CHECK_EQ_U(r->truncated_fields, 1);
	webmail_request_free(w);

	/* conditions see max_param_copy bytes of max_kept_fields fields */
	struct webmail_signatures *s =
		load("product = \"K\"; signatures = ( { id = \"k\"; kind = \"send\";"
		     " params = ( { name = \"c\"; equals = \"12345678\"; } ); } );");
	CHECK(s != NULL);
	webmail_limits_default(&lim);
	struct req k = {.method = "POST", .path = "/", .content_type = FORM,
			.body = "a=1&b=2&c=12345678"};
	w = start(s, &lim, &k, c);
	CHECK_STR(feed(w, &k, 0, c)->signature, "k");
	CHECK_EQ_U(w ? webmail_request_end(w)->fields_unseen : 1, 0);
	webmail_request_free(w);
	lim.max_kept_fields = 2;
	w = start(s, &lim, &k, c);
	const struct webmail_result *kr = feed(w, &k, 0, c);
	CHECK_STR(kr->signature, "");                      /* c was never kept */
	CHECK_EQ_U(kr->fields_unseen, 1);                  /* and that is said */
	webmail_request_free(w);
	webmail_limits_default(&lim);
	lim.max_param_copy = 4;
	struct req k2 = {.method = "POST", .path = "/", .content_type = FORM, .body = "c=1234"};
	w = start(s, &lim, &k2, c);
	CHECK_STR(feed(w, &k2, 0, c)->signature, "");      /* "1234" != "12345678" */
	webmail_request_free(w);
	webmail_signatures_free(s);

	/* more files than WEBMAIL_MAX_FILES: all streamed, the rest counted */
	webmail_limits_default(&lim);
	size_t cap = 128 * (WEBMAIL_MAX_FILES + 3) + 16;
	char *mp = malloc(cap);
	size_t n = 0;
	for (int i = 0; i < WEBMAIL_MAX_FILES + 3; i++)
		n += (size_t)snprintf(mp + n, cap - n,
				      "--XX\r\nContent-Disposition: form-data; name=\"f\"; "
				      "filename=\"%02d\"\r\n\r\nx\r\n", i);
	n += (size_t)snprintf(mp + n, cap - n, "--XX--\r\n");
	struct req m = {.method = "POST", .path = "/", .content_type = MP, .body = mp, .body_len = n};
	w = start(NULL, &lim, &m, c);
	r = feed(w, &m, 0, c);
	CHECK_EQ_U(r->file_count, WEBMAIL_MAX_FILES);
	CHECK_EQ_U(r->files_dropped, 3);
	CHECK_EQ_U(c->file_calls, WEBMAIL_MAX_FILES + 3);
	CHECK_EQ_U(c->file_bytes, WEBMAIL_MAX_FILES + 3);
	CHECK_STR(r->files[WEBMAIL_MAX_FILES - 1].filename, "31");
	webmail_request_free(w);
	free(mp);

	/* a gap reaches the form decoder and is reported */
	struct req g = {.method = "POST", .path = "/", .content_type = FORM, .body = "to=a%40b.cd&x=1"};
	w = start(NULL, &lim, &g, c);
	webmail_request_body(w, (const uint8_t *)"to=a%40b.cd&x=", 14);
	webmail_request_gap(w, 100);
	webmail_request_body(w, (const uint8_t *)"&subject=after", 14);
	r = webmail_request_end(w);
	CHECK(r->form_anomalies & FORM_ANOM_GAP);
	CHECK_STR(r->to, "a@b.cd");
	webmail_request_free(w);

	/* a query longer than the 2 KiB path/query copy: parameters past it
	 * still take their roles and their text is still inspected */
	size_t pad = 3000;
	char *lq = malloc(pad + 64);
	memset(lq, 'p', pad);
	memcpy(lq, "pad=", 4);
	snprintf(lq + pad, 64, "&to=late%%40example.org&body=late+text");
	struct req l = {.method = "GET", .path = "/send", .query = lq};
	w = start(NULL, &lim, &l, c);
	r = feed(w, &l, 0, c);
	CHECK_STR(r->to, "late@example.org");
	CHECK(strstr(c->text, "<body:body>late text") != NULL);
	CHECK_EQ_U(r->body_bytes, strlen("late text"));
	webmail_request_free(w);
	free(lq);

	/* a long content type keeps its boundary (a cut copy lost it, and
	 * with it the files) */
	char *ct = malloc(1024);
	memcpy(ct, "multipart/form-data; x=", 23);
	memset(ct + 23, 'y', 700);
	snprintf(ct + 723, 1024 - 723, "; boundary=XX");
	struct req lc = {.method = "POST", .path = "/", .content_type = ct,
			 .body = "--XX\r\nContent-Disposition: form-data; name=\"f\"; "
				 "filename=\"a.txt\"\r\n\r\nx\r\n--XX--\r\n"};
	w = start(NULL, &lim, &lc, c);
	r = feed(w, &lc, 0, c);
	CHECK_EQ_U(r->file_count, 1);
	CHECK_STR(r->files[0].filename, "a.txt");
	webmail_request_free(w);
	free(ct);
	free(c);
}

/* ---- the generic detector ---- */

struct gcase {
	const char *what;
	struct req q;
	enum webmail_kind kind;
	uint32_t score;
};

static void test_generic(void)
{
	struct webmail_limits lim;
	webmail_limits_default(&lim);
	static const char upload_mp[] =
		"--XX\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.jpg\"\r\n"
		"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0 jpeg\r\n--XX--\r\n";
	const struct gcase cases[] = {
		{"send form", {.method = "POST", .path = "/mail/send", .content_type = FORM,
			       .body = "to=alice%40example.org%2C+bob%40example.net&cc=carol%40example.com"
				       "&subject=Hi&body=Hello+both"},
		 WEBMAIL_SEND, 40 + 10 + 15 + 15 + 10 + 5},
		{"send form, plain path", {.method = "POST", .path = "/app", .content_type = FORM,
					   .body = "to=alice%40example.org&subject=Hi&body=Hello"},
		 WEBMAIL_SEND, 40 + 15 + 15 + 5},
		{"draft save", {.method = "POST", .path = "/mail/draft/save", .content_type = FORM,
				.body = "to=alice%40example.org&subject=Hi&body=Hello"},
		 WEBMAIL_DRAFT, 40 + 15 + 15 + 10 + 5},
		{"JSON send", {.method = "POST", .path = "/api/messages", .content_type = "application/json",
			       .body = "{\"message\":{\"to\":[\"a@example.org\",\"b@example.org\"],"
				       "\"subject\":\"x\",\"text\":\"y\"}}"},
		 WEBMAIL_SEND, 40 + 15 + 15 + 10 + 5},
		{"login", {.method = "POST", .path = "/login", .content_type = FORM,
			   .body = "user=alice%40example.org&password=secret&remember=1"},
		 WEBMAIL_NONE, 5},
		{"search", {.method = "GET", .path = "/search", .query = "q=quarterly+report&page=2"},
		 WEBMAIL_NONE, 0},
		{"comment", {.method = "POST", .path = "/blog/42/comments", .content_type = FORM,
			     .body = "name=Bob&email=bob%40example.net&comment=Nice+post%21"},
		 WEBMAIL_NONE, 5},
		{"JSON API", {.method = "POST", .path = "/api/v1/tickets", .content_type = "application/json",
			      .body = "{\"title\":\"Printer jams\",\"content\":\"Tray 2\",\"priority\":3,"
				      "\"tags\":[\"hw\"],\"reporter\":\"alice@example.org\"}"},
		 WEBMAIL_NONE, 15 + 15 + 5},
		{"photo upload", {.method = "POST", .path = "/photos/upload", .content_type = MP,
				  .body = upload_mp},
		 WEBMAIL_NONE, 5 + 5},
		{"webmail upload", {.method = "POST", .path = "/mail/compose/attach", .content_type = MP,
				    .body = upload_mp},
		 WEBMAIL_UPLOAD, 5 + 10 + 5},
		{"recipient only", {.method = "POST", .path = "/share", .content_type = FORM,
				    .body = "to=friend%40example.org"},
		 WEBMAIL_NONE, 40 + 5},
		{"recipient field without address", {.method = "POST", .path = "/mail/send",
						     .content_type = FORM,
						     .body = "to=Bob&subject=x&body=y"},
		 WEBMAIL_NONE, 5 + 15 + 15 + 10 + 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gcase *g = &cases[i];
		struct capture *c = malloc(sizeof(*c));
		struct webmail_request *w = start(NULL, &lim, &g->q, c);
		const struct webmail_result *r = feed(w, &g->q, 3, c);
		if (r->kind != g->kind || r->confidence != g->score) {
			fprintf(stderr, "  case '%s': kind %s score %u, want %s %u\n", g->what,
				webmail_kind_name(r->kind), r->confidence, webmail_kind_name(g->kind),
				g->score);
			for (uint32_t k = 0; k < r->reason_count; k++)
				fprintf(stderr, "    %s\n", r->reasons[k]);
		}
		CHECK_EQ_U(r->kind, g->kind);
		CHECK_EQ_U(r->confidence, g->score);
		CHECK_STR(r->product, g->kind == WEBMAIL_NONE ? "" : "generic");
		CHECK_STR(r->signature, "");
		if (g->kind == WEBMAIL_NONE && strcmp(g->what, "recipient field without address") != 0 &&
		    strcmp(g->what, "recipient only") != 0)
			CHECK(r->confidence < 60);
		webmail_request_free(w);
		free(c);
	}

	/* the reasons say why */
	struct capture *c = malloc(sizeof(*c));
	struct webmail_request *w = start(NULL, &lim, &cases[0].q, c);
	const struct webmail_result *r = feed(w, &cases[0].q, 0, c);
	CHECK_EQ_U(r->reason_count, 6);
	CHECK(has_reason(r, "recipient field 'to' holds 2 address(es)"));
	CHECK(has_reason(r, "cc/bcc field 'cc' holds 1 address(es)"));
	CHECK(has_reason(r, "subject field 'subject'"));
	CHECK(has_reason(r, "body field 'body' with 10 bytes of text"));
	CHECK(has_reason(r, "path or query mentions 'send'"));
	CHECK(has_reason(r, "method POST"));
	CHECK_EQ_U(r->recipients, 3);
	webmail_request_free(w);
	w = start(NULL, &lim, &cases[9].q, c);
	r = feed(w, &cases[9].q, 0, c);
	CHECK(has_reason(r, "1 file(s) uploaded"));
	CHECK(has_reason(r, "path or query mentions 'compose'"));
	webmail_request_free(w);

	/* the threshold is the operator's: 45 is a send at 40 */
	lim.generic_threshold = 40;
	w = start(NULL, &lim, &cases[10].q, c);
	CHECK_EQ_U(feed(w, &cases[10].q, 0, c)->kind, WEBMAIL_SEND);
	webmail_request_free(w);
	/* but never without an address */
	lim.generic_threshold = 10;
	w = start(NULL, &lim, &cases[7].q, c);
	CHECK_EQ_U(feed(w, &cases[7].q, 0, c)->kind, WEBMAIL_NONE);
	webmail_request_free(w);
	free(c);
}

/* ---- whole body vs byte by byte ---- */

static bool same_result(const struct webmail_result *a, const struct webmail_result *b)
{
	bool ok = a->kind == b->kind && strcmp(a->product, b->product) == 0 &&
		  strcmp(a->signature, b->signature) == 0 && a->confidence == b->confidence &&
		  a->reason_count == b->reason_count && strcmp(a->to, b->to) == 0 &&
		  strcmp(a->cc, b->cc) == 0 && strcmp(a->bcc, b->bcc) == 0 &&
		  strcmp(a->from, b->from) == 0 && strcmp(a->subject, b->subject) == 0 &&
		  strcmp(a->compose_id, b->compose_id) == 0 && a->recipients == b->recipients &&
		  a->body_bytes == b->body_bytes && a->text_bytes == b->text_bytes &&
		  a->fields == b->fields && a->file_count == b->file_count &&
		  a->files_dropped == b->files_dropped && a->form == b->form &&
		  a->form_anomalies == b->form_anomalies && a->truncated_fields == b->truncated_fields;
	for (uint32_t i = 0; ok && i < a->reason_count; i++)
		ok = strcmp(a->reasons[i], b->reasons[i]) == 0;
	for (uint32_t i = 0; ok && i < a->file_count; i++)
		ok = memcmp(&a->files[i], &b->files[i], sizeof(a->files[i])) == 0;
	return ok;
}

static void test_chunking(void)
{
	struct webmail_signatures *sigs = load(sig_text);
	struct webmail_limits lim;
	webmail_limits_default(&lim);
	lim.max_field_copy = 20;
	static const char mp[] =
		"--XX\r\nContent-Disposition: form-data; name=\"rcp\"\r\n\r\n"
		"Alice <alice@example.org>, bob@example.net\r\n"
		"--XX\r\nContent-Disposition: form-data; name=\"txt\"\r\n\r\nthe text\r\n"
		"--XX\r\nContent-Disposition: form-data; name=\"att[]\"; filename=\"x.bin\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n\x00\x01\x02--X\r\n"
		"--XX\r\nContent-Disposition: form-data; name=\"act\"\r\n\r\ngo\r\n"
		"--XX--\r\n";
	const struct req reqs[] = {
		{.method = "POST", .path = "/t/send", .query = "cid=9", .content_type = MP,
		 .body = mp, .body_len = sizeof(mp) - 1},
		{.method = "POST", .path = "/mail/send", .content_type = FORM,
		 .body = "to=a%40b.cd%2Ce%40f.gh&subject=%E2%82%AC+price&body=x%2By+%3D+z&cc=%ZZ"},
		{.method = "POST", .path = "/api", .content_type = "application/json",
		 .body = "{\"to\":[\"a@b.cd\"],\"subject\":\"s\",\"body\":{\"text\":\"deep\"},\"n\":1}"},
		{.method = "POST", .path = "/raw", .content_type = "text/plain", .body = "just text"},
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct capture *c1 = malloc(sizeof(*c1)), *c2 = malloc(sizeof(*c2));
		struct webmail_request *w1 = start(sigs, &lim, &reqs[i], c1);
		struct webmail_request *w2 = start(sigs, &lim, &reqs[i], c2);
		const struct webmail_result *r1 = feed(w1, &reqs[i], 0, c1);
		const struct webmail_result *r2 = feed(w2, &reqs[i], 1, c2);
		CHECK(same_result(r1, r2));
		CHECK_EQ_U(c1->len, c2->len);
		CHECK(strcmp(c1->text, c2->text) == 0);
		CHECK(r1->fields > 0);
		if (i == 0) {
			CHECK_STR(r1->signature, "t.send");
			CHECK_STR(r1->to, "Alice <alice@example");
			CHECK_EQ_U(r1->truncated_fields, 1);
			CHECK_STR(r1->compose_id, "9");
			CHECK_EQ_U(r1->files[0].size, 6);
		}
		if (i == 1)
			CHECK(r1->form_anomalies & FORM_ANOM_BAD_PERCENT);
		webmail_request_free(w1);
		webmail_request_free(w2);
		free(c1);
		free(c2);
	}
	webmail_signatures_free(sigs);
}

static void test_misc(void)
{
	CHECK_STR(webmail_kind_name(WEBMAIL_SEND), "send");
	CHECK_STR(webmail_kind_name(WEBMAIL_UPLOAD), "upload");
	CHECK_STR(webmail_role_name(WEBMAIL_ROLE_COMPOSE_ID), "compose_id");
	CHECK_STR(webmail_role_name(WEBMAIL_ROLE_NONE), "none");
	struct webmail_limits l;
	webmail_limits_default(&l);
	CHECK_EQ_U(l.max_field_copy, 4096);
	CHECK_EQ_U(l.max_param_copy, 256);
	CHECK_EQ_U(l.max_kept_fields, 256);
	CHECK_EQ_U(l.generic_threshold, 60);
	/* NULL limits mean the defaults; end twice gives the same result */
	static struct capture c;
	struct req q = {.method = "POST", .path = "/", .content_type = FORM, .body = "to=a%40b.cd"};
	struct webmail_request *w = start(NULL, NULL, &q, &c);
	const struct webmail_result *r = feed(w, &q, 0, &c);
	CHECK(r == webmail_request_end(w));
	CHECK_STR(r->to, "a@b.cd");
	webmail_request_body(w, (const uint8_t *)"&x=1", 4); /* after the end: ignored */
	webmail_request_free(w);
	webmail_request_free(NULL);
	CHECK(webmail_signatures_count(NULL) == 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	RUN(test_generic_names);
	RUN(test_addresses);
	RUN(test_roles);
	RUN(test_streaming);
	RUN(test_caps);
	RUN(test_generic);
	RUN(test_chunking);
	RUN(test_misc);
	return tl_finish();
}
