/* libFuzzer target for webmail request analysis and the signature loader.
 *
 * Input: byte 0 picks the content type and limits, byte 1 the method and
 * path, byte 2 the chunking; then the query string up to the first '\n',
 * then the body.  Byte 0 == 'S' instead: the text up to "\n%%\n" is loaded
 * as a signature file (load_mem) and, when it loads, used for the request
 * that follows.  Otherwise the signatures are a small built-in set, or the
 * files under $POSTERN_WEBMAIL_SIGS (a file or directory; e.g. etc/webmail)
 * when that is set.
 *
 * Invariants: the body fed whole and fed in uneven chunks gives the same
 * result and the same streamed text; streamed text adds up to text_bytes;
 * every cap holds; a failed load reports an error.  Inputs with @include
 * are skipped (they would read files). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webmail/webmail.h"

static const char builtin_sigs[] =
	"product = \"Fuzz\";\n"
	"signatures = (\n"
	" { id = \"f.send\"; kind = \"send\"; method = \"POST\";\n"
	"   params = ( { name = \"_task\"; equals = \"mail\"; }, { name = \"_action\"; equals = \"send\"; },\n"
	"              { name = \"_draft\"; present = false; } );\n"
	"   roles = { to = [\"_to\"]; cc = [\"_cc\"]; bcc = [\"_bcc\"]; from = [\"_from\"];\n"
	"             subject = [\"_subject\"]; body = [\"_message\"];\n"
	"             attachment = [\"_attachments\", \"_attachments[*\"]; compose_id = [\"_id\"]; }; },\n"
	" { id = \"f.json\"; kind = \"send\"; path = \"/send$\"; decode = \"json\";\n"
	"   headers = ( { name = \"content-type\"; matches = \"json\"; } );\n"
	"   roles = { to = [\"to\", \"m.e.a\"]; subject = [\"subject\"]; body = [\"text\", \"m.mp*\"];\n"
	"             none = [\"html\"]; }; },\n"
	" { id = \"f.upload\"; kind = \"upload\"; path = \"^/service/upload$\";\n"
	"   roles = { attachment = [\"\", \"file*\"]; compose_id = [\"cid\"]; }; },\n"
	" { id = \"f.draft\"; kind = \"draft\"; query = \"^/(Ajax|Json)/\";\n"
	"   params = ( { name = \"Action\"; matches = \"^Save\"; } );\n"
	"   roles = { to = [\"To\"]; subject = [\"Subject\"]; body = [\"Text\"]; }; }\n"
	");\n";

static const char *const content_types[] = {
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=XX",
	"application/json",
	"text/plain",
	"application/pdf",
	"multipart/form-data",          /* no boundary */
	"application/vnd.api+json; charset=utf-8",
	"",
};

static const char *const paths[] = {
	"/", "/mail/send", "/service/upload", "/SOGo/so/u/Mail/0/Drafts/d/send",
	"/owa/service.svc", "/src/compose.php", "/photos/upload", "/login",
};

static struct webmail_signatures *builtin, *from_env;

static void fz_fail(void)
{
	abort();
}

/* libconfig 1.5's scanner leaks the string it is building when a syntax
 * error interrupts it: not ours (see fuzz_rules.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

struct capture {
	uint64_t text, file, files_begun, files_ended, body;
	uint64_t hash;
	int open_file;
};

static void mix(struct capture *c, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c->hash = (c->hash ^ d[i]) * 1099511628211ull;
}

static void on_text(void *ctx, enum webmail_role role, const char *field, const uint8_t *d,
		    size_t n)
{
	struct capture *c = ctx;
	if (!n || (unsigned)role >= WEBMAIL_ROLE_COUNT || !field || c->open_file)
		fz_fail();
	c->text += n;
	if (role == WEBMAIL_ROLE_BODY)
		c->body += n;
	mix(c, d, n);
}

static void on_file_begin(void *ctx, const char *field, const char *filename, const char *ct)
{
	struct capture *c = ctx;
	if (!field || !filename || !ct || c->open_file)
		fz_fail();
	c->open_file = 1;
	c->files_begun++;
}

static void on_file_data(void *ctx, const uint8_t *d, size_t n)
{
	struct capture *c = ctx;
	if (!c->open_file)
		fz_fail();
	c->file += n;
	mix(c, d, n);
}

static void on_file_end(void *ctx, uint64_t size)
{
	struct capture *c = ctx;
	(void)size;
	if (!c->open_file)
		fz_fail();
	c->open_file = 0;
	c->files_ended++;
}

static const struct webmail_sink sink = {on_text, on_file_begin, on_file_data, on_file_end};

static void check_result(const struct webmail_result *r, const struct webmail_limits *lim,
			 const struct capture *c)
{
	if ((unsigned)r->kind > WEBMAIL_UPLOAD || r->confidence > 100 ||
	    r->reason_count > WEBMAIL_MAX_REASONS || r->file_count > WEBMAIL_MAX_FILES)
		fz_fail();
	if (!r->product || !r->signature || !r->to || !r->cc || !r->bcc || !r->from ||
	    !r->subject || !r->compose_id)
		fz_fail();
	const char *v[] = {r->to, r->cc, r->bcc, r->from, r->subject, r->compose_id};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strlen(v[i]) > lim->max_field_copy)
			fz_fail();
	for (uint32_t i = 0; i < r->reason_count; i++)
		if (!r->reasons[i] || !r->reasons[i][0])
			fz_fail();
	if (r->kind != WEBMAIL_NONE && !r->product[0])
		fz_fail();
	if (c->text != r->text_bytes || c->body != r->body_bytes || r->body_bytes > r->text_bytes)
		fz_fail();
	if (c->files_begun != c->files_ended || c->files_begun != r->file_count + r->files_dropped)
		fz_fail();
}

static bool same(const struct webmail_result *a, const struct webmail_result *b)
{
	if (a->kind != b->kind || strcmp(a->product, b->product) || strcmp(a->signature, b->signature) ||
	    a->confidence != b->confidence || a->reason_count != b->reason_count ||
	    strcmp(a->to, b->to) || strcmp(a->cc, b->cc) || strcmp(a->bcc, b->bcc) ||
	    strcmp(a->from, b->from) || strcmp(a->subject, b->subject) ||
	    strcmp(a->compose_id, b->compose_id) || a->recipients != b->recipients ||
	    a->body_bytes != b->body_bytes || a->text_bytes != b->text_bytes ||
	    a->fields != b->fields || a->file_count != b->file_count ||
	    a->files_dropped != b->files_dropped || a->form != b->form ||
	    a->form_anomalies != b->form_anomalies || a->truncated_fields != b->truncated_fields)
		return false;
	for (uint32_t i = 0; i < a->reason_count; i++)
		if (strcmp(a->reasons[i], b->reasons[i]))
			return false;
	for (uint32_t i = 0; i < a->file_count; i++)
		if (memcmp(&a->files[i], &b->files[i], sizeof(a->files[i])))
			return false;
	return true;
}

static void run(const struct webmail_signatures *sigs, const uint8_t *data, size_t size)
{
	if (size < 3)
		return;
	uint8_t sel = data[0], psel = data[1], csel = data[2];
	data += 3;
	size -= 3;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t qlen = nl ? (size_t)(nl - data) : 0;
	char query[512];
	if (qlen >= sizeof(query))
		qlen = sizeof(query) - 1;
	memcpy(query, data, qlen);
	query[qlen] = '\0';
	const uint8_t *body = nl ? nl + 1 : data;
	size_t blen = size - (size_t)(body - data);

	struct webmail_limits lim;
	webmail_limits_default(&lim);
	if (sel & 0x08) {
		lim.max_field_copy = 24;
		lim.max_param_copy = 8;
		lim.max_kept_fields = 4;
		lim.form.max_fields = 16;
		lim.form.max_json = 256;
		lim.form.max_name = 16;
	}
	lim.generic_threshold = (sel & 0x10) ? 20 : 60;
	const char *ct = content_types[sel & 7];
	struct http_header hdr[2] = {
		{"content-type", ct},
		{"content-disposition", "attachment; filename=\"a b.pdf\""},
	};
	struct http_request r = {
		.method = (psel & 0x80) ? "GET" : "POST",
		.url = paths[psel & 7],
		.host = "mail.example.com",
		.path = paths[psel & 7],
		.query = query,
		.content_type = ct,
		.content_length = (int64_t)blen,
		.content_encoding = "",
		.headers = hdr,
		.header_count = (psel & 0x40) ? 2 : 1,
		.version_major = 1,
		.version_minor = 1,
	};
	struct capture c1 = {0}, c2 = {0};
	struct webmail_request *w1 = webmail_request_begin(sigs, &lim, &r, &sink, &c1);
	struct webmail_request *w2 = webmail_request_begin(sigs, &lim, &r, &sink, &c2);
	if (!w1 || !w2)
		fz_fail();
	webmail_request_body(w1, body, blen);
	size_t off = 0, k = (size_t)(csel % 13) + 1;
	while (off < blen) {
		size_t n = k < blen - off ? k : blen - off;
		webmail_request_body(w2, body + off, n);
		off += n;
		k = k * 5 % 29 + 1;
	}
	const struct webmail_result *a = webmail_request_end(w1);
	const struct webmail_result *b = webmail_request_end(w2);
	check_result(a, &lim, &c1);
	check_result(b, &lim, &c2);
	if (!same(a, b) || c1.hash != c2.hash || c1.text != c2.text || c1.file != c2.file)
		fz_fail();
	webmail_request_free(w1);
	webmail_request_free(w2);
}

static struct webmail_signatures *load_builtin(void)
{
	struct rule_errors e;
	rule_errors_init(&e, 8);
	struct webmail_signatures *s =
		webmail_signatures_load_mem("builtin", builtin_sigs, sizeof(builtin_sigs) - 1, &e);
	rule_errors_free(&e);
	if (!s)
		fz_fail();
	const char *env = getenv("POSTERN_WEBMAIL_SIGS");
	if (env && env[0]) {
		rule_errors_init(&e, 32);
		from_env = webmail_signatures_load(&env, 1, &e);
		for (size_t i = 0; i < e.count; i++)
			fprintf(stderr, "%s:%u: %s\n", e.v[i].file, e.v[i].line, e.v[i].reason);
		rule_errors_free(&e);
		if (!from_env)
			fz_fail();
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!builtin)
		builtin = load_builtin();
	if (size > 65536)
		return 0;
	if (size && data[0] == 'S') {
		const uint8_t *sep = memmem(data, size, "\n%%\n", 4);
		size_t tlen = sep ? (size_t)(sep - data) - 1 : size - 1;
		if (memmem(data + 1, tlen, "@include", 8))
			return 0;
		struct rule_errors e;
		rule_errors_init(&e, 16);
		struct webmail_signatures *s =
			webmail_signatures_load_mem("fuzz", (const char *)data + 1, tlen, &e);
		if (!s && e.count + e.dropped == 0)
			fz_fail();
		if (s && e.count)
			fz_fail();
		rule_errors_free(&e);
		if (s && sep)
			run(s, sep + 4, size - (size_t)(sep + 4 - data));
		webmail_signatures_free(s);
		return 0;
	}
	run(from_env ? from_env : builtin, data, size);
	if (size && (data[0] & 0x20))
		run(NULL, data, size);
	return 0;
}
