/* Streaming MIME decoder: real-world shaped messages, the anomalies, and the
 * chunking property (whole, byte-by-byte and random chunkings give the same
 * transcript of callbacks with part_data concatenated per part). */
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "smtp_parser/mime.h"
#include "testlib.h"

/* ---- recording ---------------------------------------------------------- */

#define MAX_REC_PARTS 64
#define MAX_REC_HEADERS 256

struct rec_part {
	struct mime_part p; /* strings below are copies */
	char *ct, *cs, *enc, *disp, *fname;
	char *field; /* field_name */
	char *data;
	size_t len;
	uint64_t end_size;
	bool ended;
};

struct rec {
	char *tr; /* transcript */
	size_t tr_len, tr_cap;
	struct rec_part parts[MAX_REC_PARTS];
	unsigned nparts;
	struct {
		uint32_t depth;
		char *name, *value;
	} hdr[MAX_REC_HEADERS];
	unsigned nhdr;
	struct mime_stats st;
	bool order_error;
};

static void tr_add(struct rec *r, const void *d, size_t n)
{
	if (r->tr_len + n + 1 > r->tr_cap) {
		r->tr_cap = (r->tr_len + n + 1) * 2;
		r->tr = realloc(r->tr, r->tr_cap);
	}
	memcpy(r->tr + r->tr_len, d, n);
	r->tr_len += n;
	r->tr[r->tr_len] = 0;
}

static void tr_str(struct rec *r, const char *s)
{
	tr_add(r, s, strlen(s));
	tr_add(r, "|", 1);
}

static void on_header(void *ctx, uint32_t depth, const char *name, const char *value)
{
	struct rec *r = ctx;
	char b[32];
	snprintf(b, sizeof(b), "H%u", depth);
	tr_str(r, b);
	tr_str(r, name);
	tr_str(r, value);
	tr_add(r, "\n", 1);
	if (r->nhdr < MAX_REC_HEADERS) {
		r->hdr[r->nhdr].depth = depth;
		r->hdr[r->nhdr].name = strdup(name);
		r->hdr[r->nhdr].value = strdup(value);
		r->nhdr++;
	}
}

static void on_begin(void *ctx, const struct mime_part *p)
{
	struct rec *r = ctx;
	char b[64];
	snprintf(b, sizeof(b), "B%u/%u/%d%d", p->index, p->depth, p->is_text, p->is_attachment);
	tr_str(r, b);
	tr_str(r, p->content_type);
	tr_str(r, p->charset);
	tr_str(r, p->encoding);
	tr_str(r, p->disposition);
	tr_str(r, p->filename);
	tr_str(r, p->field_name);
	tr_add(r, "\n", 1);
	if (p->index != r->nparts || r->nparts >= MAX_REC_PARTS) {
		r->order_error = true;
		return;
	}
	struct rec_part *rp = &r->parts[r->nparts++];
	rp->p = *p;
	rp->ct = strdup(p->content_type);
	rp->cs = strdup(p->charset);
	rp->enc = strdup(p->encoding);
	rp->disp = strdup(p->disposition);
	rp->fname = strdup(p->filename);
	rp->field = strdup(p->field_name);
}

static void on_data(void *ctx, const struct mime_part *p, const uint8_t *d, size_t n)
{
	struct rec *r = ctx;
	if (!r->nparts || p->index != r->nparts - 1 || n == 0) {
		r->order_error = true;
		return;
	}
	struct rec_part *rp = &r->parts[p->index];
	rp->data = realloc(rp->data, rp->len + n + 1);
	memcpy(rp->data + rp->len, d, n);
	rp->len += n;
	rp->data[rp->len] = 0;
}

static void on_end(void *ctx, const struct mime_part *p, uint64_t size)
{
	struct rec *r = ctx;
	if (!r->nparts || p->index != r->nparts - 1 || r->parts[p->index].ended) {
		r->order_error = true;
		return;
	}
	struct rec_part *rp = &r->parts[p->index];
	rp->ended = true;
	rp->end_size = size;
	char b[64];
	snprintf(b, sizeof(b), "E%u/%llu/%zu:", p->index, (unsigned long long)size, rp->len);
	tr_add(r, b, strlen(b));
	if (rp->len)
		tr_add(r, rp->data, rp->len);
	tr_add(r, "\n", 1);
}

static const struct mime_callbacks rec_cb = {on_header, on_begin, on_data, on_end};

static void rec_free(struct rec *r)
{
	free(r->tr);
	for (unsigned i = 0; i < r->nparts; i++) {
		struct rec_part *rp = &r->parts[i];
		free(rp->ct);
		free(rp->cs);
		free(rp->enc);
		free(rp->disp);
		free(rp->fname);
		free(rp->field);
		free(rp->data);
	}
	for (unsigned i = 0; i < r->nhdr; i++) {
		free(r->hdr[i].name);
		free(r->hdr[i].value);
	}
	memset(r, 0, sizeof(*r));
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* chunk: 0 = whole, 1 = byte by byte, else random chunks of 1..chunk bytes. */
static void parse_lim(struct rec *r, const char *msg, size_t len, unsigned chunk,
		      const struct mime_limits *lim)
{
	memset(r, 0, sizeof(*r));
	struct mime_parser *m = mime_parser_new(lim, &rec_cb, r);
	if (!m) {
		r->order_error = true;
		return;
	}
	size_t off = 0;
	while (off < len) {
		size_t n = chunk == 0 ? len - off : chunk == 1 ? 1 : 1 + rng() % chunk;
		if (n > len - off)
			n = len - off;
		mime_feed(m, (const uint8_t *)msg + off, n);
		off += n;
	}
	mime_close(m);
	r->st = *mime_parser_stats(m);
	for (unsigned i = 0; i < r->nparts; i++)
		if (!r->parts[i].ended)
			r->order_error = true;
	mime_parser_free(m);
}

static void parse(struct rec *r, const char *msg, unsigned chunk)
{
	parse_lim(r, msg, strlen(msg), chunk, NULL);
}

static const char *hdr_value(const struct rec *r, uint32_t depth, const char *name)
{
	for (unsigned i = 0; i < r->nhdr; i++)
		if (r->hdr[i].depth == depth && strcasecmp(r->hdr[i].name, name) == 0)
			return r->hdr[i].value;
	return NULL;
}

/* ---- encoders the tests build messages with ------------------------------ */

static char *b64(const uint8_t *d, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n * 2 + 8), *p = o;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		*p++ = al[v >> 18 & 63];
		*p++ = al[v >> 12 & 63];
		*p++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*p++ = i + 2 < n ? al[v & 63] : '=';
	}
	*p = 0;
	return o;
}

/* UTF-8 -> charset with iconv; returns malloc'd bytes, *n their count. */
static char *to_charset(const char *cs, const char *utf8, size_t *n)
{
	iconv_t cd = iconv_open(cs, "UTF-8");
	size_t il = strlen(utf8), ol = il * 4 + 16;
	char *out = malloc(ol), *op = out, *ip = (char *)(uintptr_t)utf8;
	if (cd == (iconv_t)-1 || iconv(cd, &ip, &il, &op, &ol) == (size_t)-1)
		fprintf(stderr, "iconv to %s failed\n", cs);
	if (cd != (iconv_t)-1) {
		iconv(cd, NULL, NULL, &op, &ol);
		iconv_close(cd);
	}
	*n = (size_t)(op - out);
	out[*n] = 0;
	return out;
}

static char *cat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *o = malloc(la + lb + lc + 1);
	memcpy(o, a, la);
	memcpy(o + la, b, lb);
	memcpy(o + la + lb, c, lc + 1);
	return o;
}

/* ---- messages ----------------------------------------------------------- */

static const char msg_mixed[] =
	"From: Alice <alice@example.com>\r\n"
	"To: bob@example.com\r\n"
	"Subject: Quarterly\r\n"
	" report\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed;\r\n"
	"\tboundary=\"----=_Part_0_12345\"\r\n"
	"\r\n"
	"This is a multi-part message in MIME format.\r\n"
	"------=_Part_0_12345\r\n"
	"Content-Type: text/plain; charset=\"utf-8\"\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"The numbers are confi=\r\n"
	"dential: caf=C3=A9 =E2=82=AC100\r\n"
	"second line\r\n"
	"------=_Part_0_12345\r\n"
	"Content-Type: application/pdf; name=\"report.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
	"\r\n"
	"JVBERi0xLjQK\r\n"
	"JeLjz9MK\r\n"
	"------=_Part_0_12345--\r\n"
	"epilogue text\r\n";

static void test_multipart_mixed(void)
{
	struct rec r;
	parse(&r, msg_mixed, 0);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.nparts, 2);
	CHECK_STR(hdr_value(&r, 0, "subject"), "Quarterly report");
	CHECK_STR(hdr_value(&r, 0, "FROM"), "Alice <alice@example.com>");
	CHECK_STR(r.parts[0].ct, "text/plain");
	CHECK_STR(r.parts[0].cs, "utf-8");
	CHECK_STR(r.parts[0].enc, "quoted-printable");
	CHECK_EQ_U(r.parts[0].p.depth, 1);
	CHECK(r.parts[0].p.is_text && !r.parts[0].p.is_attachment);
	/* soft break rejoins the word; the CRLF before the boundary is not content */
	CHECK_STR(r.parts[0].data, "The numbers are confidential: caf\xC3\xA9 \xE2\x82\xAC" "100\r\nsecond line");
	CHECK_EQ_U(r.parts[0].end_size, r.parts[0].len);
	CHECK_STR(r.parts[1].ct, "application/pdf");
	CHECK_STR(r.parts[1].fname, "report.pdf");
	CHECK_STR(r.parts[1].disp, "attachment");
	CHECK(!r.parts[1].p.is_text && r.parts[1].p.is_attachment);
	CHECK_EQ_U(r.parts[1].len, 15);
	CHECK(r.parts[1].len == 15 && memcmp(r.parts[1].data, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", 15) == 0);
	/* The usual one-line preamble notice is not an anomaly. */
	CHECK_EQ_U(r.st.anomalies, 0);
	/* depth-0 headers come before the first part_begin */
	CHECK(strstr(r.tr, "H0|Subject|") < strstr(r.tr, "B0/"));
	rec_free(&r);
}

static const char msg_nested[] =
	"Subject: nested\r\n"
	"Content-Type: multipart/mixed; boundary=outer\r\n"
	"\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"\r\n"
	"plain body\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: 8bit\r\n"
	"\r\n"
	"<p>caf\xE9 \x80</p>\r\n"
	"--inner--\r\n"
	"--outer\r\n"
	"Content-Type: image/png\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"iVBORw0KGgo=\r\n"
	"--outer--\r\n";

/* Text hidden in the preamble (no reader shows it) is flagged once it is more
 * than a mailer's notice; base64 split in odd places decodes through the fast
 * path and the careful path alike. */
static void test_long_preamble_and_base64_paths(void)
{
	char msg[4096];
	int n = snprintf(msg, sizeof msg,
			 "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	for (int i = 0; i < 8; i++)
		n += snprintf(msg + n, sizeof msg - (size_t)n,
			      "hidden hidden hidden hidden hidden hidden hidden hidden\r\n");
	snprintf(msg + n, sizeof msg - (size_t)n,
		 "--b\r\nContent-Transfer-Encoding: base64\r\n"
		 "Content-Type: application/octet-stream\r\n\r\n"
		 "aGVs bG8g\r\nd29y\tbGQh\r\nISE=\r\n--b--\r\n");
	struct rec r;
	parse(&r, msg, 0);
	CHECK(r.st.anomalies & MIME_ANOM_PREAMBLE_DATA);
	CHECK_EQ_U(r.nparts, 1);
	CHECK_EQ_U(r.parts[0].len, 14);
	CHECK(r.parts[0].len == 14 && memcmp(r.parts[0].data, "hello world!!!", 14) == 0);
	CHECK(!(r.st.anomalies & MIME_ANOM_BAD_BASE64));
	rec_free(&r);
}

static void test_nested_alternative(void)
{
	struct rec r;
	parse(&r, msg_nested, 0);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.nparts, 3);
	CHECK_EQ_U(r.parts[0].p.depth, 2);
	CHECK_STR(r.parts[0].data, "plain body");
	CHECK_STR(r.parts[1].ct, "text/html");
	CHECK(r.parts[1].p.is_text && !r.parts[1].p.is_attachment);
	/* ISO-8859-1 read as windows-1252: 0x80 is the euro sign */
	CHECK_STR(r.parts[1].data, "<p>caf\xC3\xA9 \xE2\x82\xAC</p>");
	CHECK_EQ_U(r.parts[2].p.depth, 1);
	CHECK(r.parts[2].p.is_attachment && !r.parts[2].p.is_text);
	CHECK(r.parts[2].len == 8 && memcmp(r.parts[2].data, "\x89PNG\r\n\x1a\n", 8) == 0);
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
}

static const char msg_forward[] =
	"Subject: Fwd: hello\r\n"
	"Content-Type: multipart/mixed; boundary=\"fw\"\r\n"
	"\r\n"
	"--fw\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"see below\r\n"
	"--fw\r\n"
	"Content-Type: message/rfc822\r\n"
	"Content-Disposition: inline\r\n"
	"\r\n"
	"From: carol@example.com\r\n"
	"Subject: =?UTF-8?Q?original_m=C3=A9ssage?=\r\n"
	"Content-Type: multipart/mixed; boundary=\"in\"\r\n"
	"\r\n"
	"--in\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"inner text\r\n"
	"--in\r\n"
	"Content-Type: application/octet-stream; name=x.bin\r\n"
	"\r\n"
	"\x00\x01\x02\r\n"
	"--in--\r\n"
	"--fw--\r\n";

static void test_forward_rfc822(void)
{
	struct rec r;
	parse_lim(&r, msg_forward, sizeof(msg_forward) - 1, 0, NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.nparts, 3);
	CHECK_STR(r.parts[0].data, "see below");
	CHECK_STR(hdr_value(&r, 2, "subject"), "original m\xC3\xA9ssage");
	CHECK_STR(hdr_value(&r, 2, "from"), "carol@example.com");
	CHECK(hdr_value(&r, 1, "subject") == NULL);
	CHECK_EQ_U(r.parts[1].p.depth, 3);
	CHECK_STR(r.parts[1].data, "inner text");
	CHECK_STR(r.parts[2].fname, "x.bin");
	CHECK(r.parts[2].len == 3 && memcmp(r.parts[2].data, "\x00\x01\x02", 3) == 0);
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
}

static void test_euckr_base64(void)
{
	size_t n;
	char *euc = to_charset("EUC-KR", "대외비 문서입니다\r\n", &n);
	char *enc = b64((const uint8_t *)euc, n);
	char *msg = cat("Subject: =?ks_c_5601-1987?B?tOu/3LrxIA==?=\r\n"
			"Content-Type: text/plain; charset=\"euc-kr\"\r\n"
			"Content-Transfer-Encoding: base64\r\n\r\n",
			enc, "\r\n");
	struct rec r;
	parse(&r, msg, 0);
	CHECK_EQ_U(r.nparts, 1);
	CHECK_STR(r.parts[0].data, "대외비 문서입니다\r\n");
	/* "대외비 " in CP949, base64, in an encoded word (trailing blank inside) */
	CHECK_STR(hdr_value(&r, 0, "subject"), "대외비 ");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	/* CP949-only syllable (not in KS X 1001) under the euc-kr label */
	char *cp = to_charset("CP949", "똠방각하", &n);
	char *msg2 = cat("Content-Type: text/plain; charset=euc-kr\r\n\r\n", cp, "");
	parse(&r, msg2, 1);
	CHECK_STR(r.parts[0].data, "똠방각하");
	CHECK_EQ_U(r.st.charset_replacements, 0);
	rec_free(&r);
	free(euc);
	free(enc);
	free(msg);
	free(cp);
	free(msg2);
}

static void test_iso2022jp(void)
{
	size_t n;
	char *jis = to_charset("ISO-2022-JP", "日本語の件名", &n);
	char *w = b64((const uint8_t *)jis, n);
	char *subj = cat("Subject: =?ISO-2022-JP?B?", w, "?=\r\n");
	char *body = to_charset("ISO-2022-JP", "本文です。\r\nよろしく\r\n", &n);
	char *hdr = cat(subj, "Content-Type: text/plain; charset=ISO-2022-JP\r\n", "\r\n");
	char *msg = cat(hdr, body, "");
	struct rec r;
	for (unsigned chunk = 0; chunk < 3; chunk++) {
		parse(&r, msg, chunk ? chunk : 0);
		CHECK_STR(hdr_value(&r, 0, "subject"), "日本語の件名");
		CHECK_STR(r.parts[0].data, "本文です。\r\nよろしく\r\n");
		CHECK_EQ_U(r.st.anomalies, 0);
		rec_free(&r);
	}
	free(jis);
	free(w);
	free(subj);
	free(body);
	free(hdr);
	free(msg);
}

static void test_shift_jis(void)
{
	size_t n;
	char *sj = to_charset("SHIFT_JIS", "機密情報：売上表", &n);
	char *msg = cat("Content-Type: text/plain; charset=x-sjis\r\n"
			"Content-Transfer-Encoding: 8bit\r\n\r\n",
			sj, "");
	struct rec r;
	parse(&r, msg, 1);
	CHECK_STR(r.parts[0].data, "機密情報：売上表");
	CHECK_STR(r.parts[0].cs, "x-sjis");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	free(sj);
	free(msg);
}

static void test_rfc2231_filenames(void)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-Disposition: attachment;\r\n"
		" filename*=UTF-8''%ED%95%9C%EA%B8%80%20%EB%AC%B8%EC%84%9C.hwp\r\n\r\n"
		"x\r\n"
		"--b\r\n"
		"Content-Type: application/pdf\r\n"
		"Content-Disposition: attachment; filename*0*=euc-kr'ko'%B4%EB%BF%DC;\r\n"
		" filename*1*=%BA%F1; filename*2=\".pdf\"; filename=\"fallback.pdf\"\r\n\r\n"
		"y\r\n"
		"--b\r\n"
		"Content-Type: text/plain; name=\"=?UTF-8?B?7ZWc6riALnR4dA==?=\"\r\n\r\n"
		"z\r\n"
		"--b\r\n"
		"Content-Type: text/plain; charset=utf-8 (comment here)\r\n"
		"Content-Disposition: attachment (why); filename=my report (final).txt\r\n\r\n"
		"w\r\n"
		"--b--\r\n";
	struct rec r;
	parse(&r, msg, 0);
	CHECK_EQ_U(r.nparts, 4);
	CHECK_STR(r.parts[0].fname, "한글 문서.hwp");
	CHECK_STR(r.parts[1].fname, "대외비.pdf");
	/* encoded word in a quoted name=, text part with a name is both */
	CHECK_STR(r.parts[2].fname, "한글.txt");
	CHECK(r.parts[2].p.is_text && r.parts[2].p.is_attachment);
	CHECK_STR(r.parts[3].cs, "utf-8");
	CHECK_STR(r.parts[3].disp, "attachment");
	CHECK_STR(r.parts[3].fname, "my report (final).txt");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
}

/* multipart/form-data: the field name is Content-Disposition name=, decoded
 * like filename (raw UTF-8 as browsers send it, RFC 2231, RFC 2047). */
static void test_form_data_field_names(void)
{
	static const char msg[] =
		"Content-Type: multipart/form-data; boundary=----WebKitFormBoundaryx7\r\n\r\n"
		"------WebKitFormBoundaryx7\r\n"
		"Content-Disposition: form-data; name=\"_subject\"\r\n\r\n"
		"Hello\r\n"
		"------WebKitFormBoundaryx7\r\n"
		"Content-Disposition: form-data; name=\"pr\xc3\xa9nom\"\r\n\r\n"
		"\xc3\x89lodie\r\n"
		"------WebKitFormBoundaryx7\r\n"
		"Content-Disposition: form-data; name*=UTF-8''%ED%95%9C; filename=\"a.bin\"\r\n"
		"Content-Type: application/octet-stream\r\n\r\n"
		"\x00\x01\r\n"
		"------WebKitFormBoundaryx7\r\n"
		"Content-Disposition: form-data; filename=\"b.txt\"; name=\"=?UTF-8?B?7ZWc?=\"\r\n\r\n"
		"b\r\n"
		"------WebKitFormBoundaryx7\r\n"
		"Content-Disposition: attachment; filename=\"c.txt\"\r\n\r\n"
		"c\r\n"
		"------WebKitFormBoundaryx7--\r\n";
	struct rec r;
	parse_lim(&r, msg, sizeof(msg) - 1, 0, NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.nparts, 5);
	CHECK_STR(r.parts[0].field, "_subject");
	CHECK_STR(r.parts[0].fname, "");
	CHECK_STR(r.parts[0].data, "Hello");
	CHECK_STR(r.parts[1].field, "pr\xc3\xa9nom");
	CHECK_STR(r.parts[1].data, "\xc3\x89lodie");
	CHECK_STR(r.parts[2].field, "\xed\x95\x9c");
	CHECK_STR(r.parts[2].fname, "a.bin");
	CHECK_EQ_U(r.parts[2].len, 2);
	CHECK_STR(r.parts[3].field, "\xed\x95\x9c");
	CHECK_STR(r.parts[3].fname, "b.txt");
	CHECK_STR(r.parts[4].field, "");
	CHECK_STR(r.parts[4].fname, "c.txt");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
}

static void test_encoded_words(void)
{
	char out[256];
	uint32_t an = 0;
	size_t n = mime_decode_header_words("=?utf-8?q?a?= =?UTF-8?Q?b?=", 27, out, sizeof(out), &an);
	CHECK_STR(out, "ab");
	CHECK_EQ_U(n, 2);
	const char *s = "=?utf-8?q?a?= x =?utf-8?b?Yg==?=";
	mime_decode_header_words(s, strlen(s), out, sizeof(out), &an);
	CHECK_STR(out, "a x b");
	CHECK_EQ_U(an, 0);
	/* one UTF-8 character split over two words is joined before conversion */
	s = "=?UTF-8?B?7Z?= =?UTF-8?Q?=95=9C?=";
	mime_decode_header_words(s, strlen(s), out, sizeof(out), &an);
	CHECK_STR(out, "한");
	CHECK_EQ_U(an, 0);
	s = "Re: =?UTF-8?B?!!!?= and =?utf-8?X?abc?= end";
	mime_decode_header_words(s, strlen(s), out, sizeof(out), &an);
	CHECK_STR(out, s);
	CHECK(an & MIME_ANOM_BAD_ENCODED_WORD);
	an = 0;
	s = "=?x-nonexistent-cs?Q?abc?=";
	mime_decode_header_words(s, strlen(s), out, sizeof(out), &an);
	CHECK_STR(out, s);
	CHECK(an & MIME_ANOM_UNKNOWN_CHARSET);
	an = 0;
	s = "=?iso-8859-1?q?caf=E9?= =?windows-1251?B?7+Ds?=";
	mime_decode_header_words(s, strlen(s), out, sizeof(out), &an);
	CHECK_STR(out, "caf\xC3\xA9пам");
	CHECK_EQ_U(an, 0);
	/* invalid raw bytes outside words never leak into the UTF-8 result */
	mime_decode_header_words("a\xFF" "b", 3, out, sizeof(out), &an);
	CHECK_STR(out, "a\xEF\xBF\xBD" "b");
	CHECK(an & MIME_ANOM_BAD_CHARSET_DATA);
	/* lead bytes past U+10FFFF inside a UTF-8 word (glibc's iconv lets them through) */
	an = 0;
	s = "=?utf-8?q?a=F5=BC=90=91b?=";
	mime_decode_header_words(s, strlen(s), out, sizeof(out), &an);
	CHECK_STR(out, "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "b");
	CHECK(an & MIME_ANOM_BAD_CHARSET_DATA);
	/* truncation at cap keeps the result NUL-terminated */
	n = mime_decode_header_words("abcdefgh", 8, out, 4, &an);
	CHECK_EQ_U(n, 3);
	CHECK_STR(out, "abc");
}

static void test_broken_base64(void)
{
	static const char msg[] = "Content-Type: application/octet-stream\r\n"
				  "Content-Transfer-Encoding: BASE64\r\n\r\n"
				  "SGVs!!bG8g\r\nV29y*bGQ=\r\n";
	struct rec r;
	parse(&r, msg, 0);
	CHECK_STR(r.parts[0].enc, "base64");
	CHECK_STR(r.parts[0].data, "Hello World");
	CHECK_EQ_U(r.st.base64_bad_chars, 3);
	CHECK(r.st.anomalies & MIME_ANOM_BAD_BASE64);
	rec_free(&r);
	/* a lone trailing character is bad, a clean body is not */
	parse(&r, "Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8=", 0);
	CHECK_STR(r.parts[0].data, "Hello");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	parse(&r, "Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gV", 0);
	CHECK_STR(r.parts[0].data, "Hello ");
	CHECK(r.st.anomalies & MIME_ANOM_BAD_BASE64);
	rec_free(&r);
}

static void test_bad_qp(void)
{
	static const char msg[] = "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
				  "a=ZZb =4 c=3d=\r\nd =  \r\ne=";
	struct rec r;
	parse(&r, msg, 0);
	CHECK_STR(r.parts[0].data, "a=ZZb =4 c=d e");
	CHECK(r.st.anomalies & MIME_ANOM_BAD_QP);
	rec_free(&r);
}

static void test_unterminated_and_missing_boundary(void)
{
	static const char msg[] = "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
				  "--zz\r\n\r\nfirst\r\n"
				  "--zz\r\nContent-Type: text/plain\r\n\r\nsecond, cut";
	struct rec r;
	parse(&r, msg, 0);
	CHECK_EQ_U(r.nparts, 2);
	CHECK_STR(r.parts[0].data, "first");
	CHECK_STR(r.parts[1].data, "second, cut");
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_UNTERMINATED);
	rec_free(&r);
	/* closing boundary without a final line end is still a close */
	parse(&r, "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nx\r\n--zz--", 0);
	CHECK_EQ_U(r.nparts, 1);
	CHECK_STR(r.parts[0].data, "x");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	static const char nob[] = "Content-Type: multipart/mixed\r\n\r\n--zz\r\n\r\nbody\r\n--zz--\r\n";
	parse(&r, nob, 0);
	CHECK_EQ_U(r.nparts, 1);
	CHECK(r.parts[0].p.is_text);
	CHECK_STR(r.parts[0].ct, "multipart/mixed");
	CHECK_STR(r.parts[0].data, "--zz\r\n\r\nbody\r\n--zz--\r\n");
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_MISSING_BOUNDARY);
	rec_free(&r);
}

static void test_unknown_charset(void)
{
	struct rec r;
	parse(&r, "Content-Type: text/plain; charset=x-klingon-8\r\n\r\n\xF1\xF2 raw", 0);
	CHECK(r.parts[0].len == 6 && memcmp(r.parts[0].data, "\xF1\xF2 raw", 6) == 0);
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_UNKNOWN_CHARSET);
	rec_free(&r);
	/* UTF-7 keeps shift state across any number of bytes: passed through as
	 * unknown, so chunking cannot change the result (found by fuzz_mime) */
	parse(&r, "Content-Type: text/plain; charset=\"utf-7\"\r\n\r\nA+ImIDkQ.", 0);
	CHECK_STR(r.parts[0].data, "A+ImIDkQ.");
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_UNKNOWN_CHARSET);
	rec_free(&r);
	/* invalid UTF-8 in a UTF-8 part: U+FFFD, counted */
	parse(&r, "Content-Type: text/plain; charset=utf-8\r\n\r\nok\xC3(\xFF", 0);
	CHECK_STR(r.parts[0].data, "ok\xEF\xBF\xBD(\xEF\xBF\xBD");
	CHECK_EQ_U(r.st.charset_replacements, 2);
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_BAD_CHARSET_DATA);
	rec_free(&r);
	/* raw bytes in the type or charset are never reported */
	parse(&r, "Content-Type: multi\x97part/mixed; charset=\"ut\xE9" "f-8\"\r\n\r\nx", 0);
	CHECK_STR(r.parts[0].ct, "text/plain");
	CHECK_STR(r.parts[0].cs, "ut?f-8");
	/* the header value itself is reported with U+FFFD for those bytes */
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_BAD_PARAMETER | MIME_ANOM_UNKNOWN_CHARSET |
					   MIME_ANOM_BAD_CHARSET_DATA);
	CHECK_STR(hdr_value(&r, 0, "content-type"),
		  "multi\xEF\xBF\xBDpart/mixed; charset=\"ut\xEF\xBF\xBD" "f-8\"");
	rec_free(&r);
	/* unknown transfer encoding: raw */
	parse(&r, "Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a\r\n", 0);
	CHECK_STR(r.parts[0].data, "begin 644 a\r\n");
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_UNKNOWN_ENCODING);
	rec_free(&r);
}

static char *deep_message(unsigned levels)
{
	size_t cap = 200 + levels * 200, len = 0;
	char *m = malloc(cap);
	for (unsigned i = 0; i < levels; i++)
		len += (size_t)snprintf(m + len, cap - len,
					"Content-Type: multipart/mixed; boundary=\"L%u\"\r\n\r\n--L%u\r\n", i, i);
	len += (size_t)snprintf(m + len, cap - len, "\r\ndeep text\r\n");
	for (unsigned i = levels; i-- > 0;)
		len += (size_t)snprintf(m + len, cap - len, "--L%u--\r\n", i);
	return m;
}

static void test_deep_nesting(void)
{
	struct mime_limits lim;
	mime_limits_default(&lim);
	lim.max_depth = 3;
	char *msg = deep_message(6);
	struct rec r;
	parse_lim(&r, msg, strlen(msg), 0, &lim);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.nparts, 1);
	CHECK_EQ_U(r.parts[0].p.depth, 3);
	CHECK(!r.parts[0].p.is_text);
	CHECK(r.st.anomalies & MIME_ANOM_DEPTH_CAP);
	CHECK(strstr(r.parts[0].data, "deep text") != NULL);
	rec_free(&r);
	/* within the default cap, the same shape is fully parsed */
	parse(&r, msg, 0);
	CHECK_EQ_U(r.nparts, 1);
	CHECK_EQ_U(r.parts[0].p.depth, 6);
	CHECK_STR(r.parts[0].data, "deep text");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	free(msg);
}

static void test_boundary_prefix_trick(void)
{
	/* inner "foo" is a prefix of outer "foo_bar": "--foo_bar" must end the
	 * inner multipart and start the next outer part */
	static const char msg[] = "Content-Type: multipart/mixed; boundary=\"foo_bar\"\r\n\r\n"
				  "--foo_bar\r\n"
				  "Content-Type: multipart/alternative; boundary=foo\r\n\r\n"
				  "--foo\r\n\r\ninner one\r\n"
				  "--foo \t\r\n\r\ninner two\r\n"
				  "--foo_bar\r\n"
				  "Content-Type: application/x-evil; name=evil.exe\r\n\r\n"
				  "MZ\r\n"
				  "--foo_barX\r\n"
				  "--foo_bar--\r\n";
	struct rec r;
	parse(&r, msg, 0);
	CHECK_EQ_U(r.nparts, 3);
	CHECK_STR(r.parts[0].data, "inner one");
	CHECK_EQ_U(r.parts[1].p.depth, 2);
	CHECK_STR(r.parts[1].data, "inner two");
	CHECK_EQ_U(r.parts[2].p.depth, 1);
	CHECK_STR(r.parts[2].fname, "evil.exe");
	/* a line that only starts with the boundary is content */
	CHECK_STR(r.parts[2].data, "MZ\r\n--foo_barX");
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_UNTERMINATED);
	rec_free(&r);
	/* a header line cut at the line cap must not become a boundary by
	 * losing its tail: "--zz" + 400 blanks + "x" */
	char *msg2 = malloc(600);
	size_t n = (size_t)sprintf(msg2, "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n--zz");
	memset(msg2 + n, ' ', 400);
	strcpy(msg2 + n + 400, "x\r\n\r\nbody\r\n--zz--\r\n");
	struct mime_limits lim;
	mime_limits_default(&lim);
	lim.max_header_line = 64; /* under the boundary line cap */
	parse_lim(&r, msg2, strlen(msg2), 0, &lim);
	CHECK_EQ_U(r.nparts, 1);
	CHECK(r.parts[0].len > 260 && strstr(r.parts[0].data, "body") != NULL);
	CHECK(r.st.anomalies & MIME_ANOM_BAD_HEADER);
	rec_free(&r);
	free(msg2);
}

static void test_headers_only_and_lf(void)
{
	struct rec r;
	parse(&r, "Subject: only headers\r\nFrom: a@b\r\n", 0);
	CHECK_EQ_U(r.nhdr, 2);
	CHECK_STR(hdr_value(&r, 0, "from"), "a@b");
	CHECK_EQ_U(r.nparts, 1);
	CHECK_EQ_U(r.parts[0].len, 0);
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	parse(&r, "Subject: no newline at all", 0);
	CHECK_STR(hdr_value(&r, 0, "subject"), "no newline at all");
	rec_free(&r);
	parse(&r, "", 0);
	CHECK_EQ_U(r.nparts, 0);
	rec_free(&r);
	static const char lf[] = "Subject: lf\n  folded\nContent-Type: multipart/mixed; boundary=q\n\n"
				 "--q\nContent-Type: text/plain\n\nline1\nline2\n\n--q\n\nB\n--q--\n";
	parse(&r, lf, 0);
	CHECK_STR(hdr_value(&r, 0, "subject"), "lf  folded");
	CHECK_EQ_U(r.nparts, 2);
	CHECK_STR(r.parts[0].data, "line1\nline2\n");
	CHECK_STR(r.parts[1].data, "B");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	/* a body line where the header should continue starts the body */
	parse(&r, "Subject: x\r\nthis is body text\r\nmore\r\n", 0);
	CHECK_EQ_U(r.nparts, 1);
	CHECK_STR(r.parts[0].data, "this is body text\r\nmore\r\n");
	CHECK_EQ_U(r.st.anomalies, MIME_ANOM_BAD_HEADER);
	rec_free(&r);
}

static void test_long_header(void)
{
	size_t n = 20000;
	char *msg = malloc(n + 64);
	strcpy(msg, "Subject: ");
	memset(msg + 9, 'a', n);
	strcpy(msg + 9 + n, "\r\nX-Other: y\r\n\r\nbody");
	struct rec r;
	parse(&r, msg, 0);
	const char *s = hdr_value(&r, 0, "subject");
	CHECK(s && strlen(s) == 16 * 1024 - 9);
	CHECK_STR(hdr_value(&r, 0, "x-other"), "y");
	CHECK_STR(r.parts[0].data, "body");
	CHECK(r.st.anomalies & MIME_ANOM_HEADER_TOO_LONG);
	CHECK_EQ_U(r.st.header_bytes_truncated, n + 9 - 16 * 1024);
	rec_free(&r);
	free(msg);
	/* headers per entity */
	struct mime_limits lim;
	mime_limits_default(&lim);
	lim.max_headers = 2;
	static const char many[] = "A: 1\r\nB: 2\r\nC: 3\r\nContent-Type: text/html\r\n\r\nx";
	parse_lim(&r, many, sizeof(many) - 1, 0, &lim);
	CHECK_EQ_U(r.nhdr, 2);
	CHECK_EQ_U(r.st.headers_skipped, 2);
	CHECK_STR(r.parts[0].ct, "text/html"); /* still interpreted */
	CHECK(r.st.anomalies & MIME_ANOM_TOO_MANY_HEADERS);
	rec_free(&r);
}

static void test_parts_cap_and_gap(void)
{
	static const char msg[] = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
				  "--p\r\n\r\none\r\n--p\r\n\r\ntwo\r\n--p\r\n\r\nthree\r\n"
				  "--p\r\n\r\nfour\r\n--p--\r\n";
	struct mime_limits lim;
	mime_limits_default(&lim);
	lim.max_parts = 2;
	struct rec r;
	parse_lim(&r, msg, sizeof(msg) - 1, 0, &lim);
	CHECK_EQ_U(r.nparts, 2);
	CHECK_STR(r.parts[1].data, "two");
	CHECK_EQ_U(r.st.parts, 2);
	CHECK_EQ_U(r.st.parts_skipped, 2);
	CHECK(r.st.anomalies & MIME_ANOM_PARTS_CAP);
	rec_free(&r);

	/* a gap inside a base64 part: the partial quad is dropped, later parts parse */
	static const char a[] = "Content-Type: multipart/mixed; boundary=g\r\n\r\n"
				"--g\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8g";
	static const char b[] = "V29ybGQ=\r\n--g\r\n\r\nafter\r\n--g--\r\n";
	memset(&r, 0, sizeof(r));
	struct mime_parser *m = mime_parser_new(NULL, &rec_cb, &r);
	mime_feed(m, (const uint8_t *)a, sizeof(a) - 1 - 2); /* "SGVsbG" */
	mime_gap(m, 100);
	mime_feed(m, (const uint8_t *)b, sizeof(b) - 1);
	mime_close(m);
	CHECK(mime_parser_stats(m)->anomalies & MIME_ANOM_GAP);
	CHECK_EQ_U(mime_parser_stats(m)->gap_bytes, 100);
	CHECK(mime_parser_memory(m) > 16 * 1024 && mime_parser_memory(m) < 1024 * 1024);
	mime_parser_free(m);
	CHECK_EQ_U(r.nparts, 2);
	CHECK_STR(r.parts[0].data, "HelWorld"); /* "bG" was half a quad */
	CHECK_STR(r.parts[1].data, "after");
	rec_free(&r);
	CHECK_STR(mime_anomaly_name(MIME_ANOM_GAP), "gap");
	CHECK_STR(mime_anomaly_name(MIME_ANOM_HEADER_TOO_LONG), "header_too_long");
	CHECK(mime_anomaly_name(3) == NULL);
}

/* Base64 and charset state must survive every split point: feed a message
 * cut in two at each offset and compare with the whole. */
static void test_every_split_point(void)
{
	size_t n;
	char *euc = to_charset("CP949", "가나다라마바사 대외비 똠", &n);
	char *enc = b64((const uint8_t *)euc, n);
	char *msg = cat("Content-Type: text/plain; charset=euc-kr\r\nContent-Transfer-Encoding: base64\r\n\r\n",
			enc, "\r\n");
	size_t len = strlen(msg);
	struct rec whole;
	parse(&whole, msg, 0);
	CHECK_STR(whole.parts[0].data, "가나다라마바사 대외비 똠");
	unsigned mismatches = 0;
	for (size_t cut = 1; cut < len; cut++) {
		struct rec r;
		memset(&r, 0, sizeof(r));
		struct mime_parser *m = mime_parser_new(NULL, &rec_cb, &r);
		mime_feed(m, (const uint8_t *)msg, cut);
		mime_feed(m, (const uint8_t *)msg + cut, len - cut);
		mime_close(m);
		mime_parser_free(m);
		if (r.tr_len != whole.tr_len || memcmp(r.tr, whole.tr, r.tr_len) != 0)
			mismatches++;
		rec_free(&r);
	}
	CHECK_EQ_U(mismatches, 0);
	rec_free(&whole);
	free(euc);
	free(enc);
	free(msg);
}

/* A body line inside a message/rfc822 header is replayed as the inner
 * header's first line, which is no header either: replayed again, as the
 * inner body.  (Chunkings: test_chunking_property.) */
static const char msg_replay_rfc822[] =
	"Content-Type: multipart/mixed; boundary=r\r\n\r\n"
	"--r\r\n"
	"Content-Type: message/rfc822\r\n"
	"Subject: =?iso-8859-1?q?caf=E9?=\r\n"
	"hidden line\r\n"
	"more text\r\n"
	"--r\r\n"
	"Content-Type: text/plain\r\n"
	"after\r\n"
	"--r--\r\n";

static void test_replayed_body_lines(void)
{
	struct rec r;
	parse_lim(&r, msg_replay_rfc822, sizeof(msg_replay_rfc822) - 1, 0, NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.nparts, 2);
	CHECK_STR(hdr_value(&r, 1, "subject"), "caf\xC3\xA9");
	CHECK_EQ_U(r.parts[0].p.depth, 2);
	CHECK_STR(r.parts[0].data, "hidden line\r\nmore text");
	CHECK_STR(r.parts[1].data, "after");
	CHECK(r.st.anomalies & MIME_ANOM_BAD_HEADER);
	rec_free(&r);
}

static void test_chunking_property(void)
{
	size_t n;
	char *sj = to_charset("CP932", "秘密の添付ファイル", &n);
	char *sjmsg = cat("Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n--=_b\r\n"
			  "Content-Type: text/plain; charset=shift_jis\r\n\r\n",
			  sj, "\r\n--=_b\r\nContent-Type: text/plain; charset=utf-8\r\n"
			      "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E5=A4=A7=\r\n=E5=A4=96 x=\r\n--=_b--\r\n");
	char *deep = deep_message(20);
	const char *msgs[] = {
		msg_mixed, msg_nested, msg_forward, sjmsg, deep,
		"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n\r\nfirst\r\n--zz\r\n\r\nsecond, cut\r",
		"Subject: =?utf-8?b?7ZWc?=\r\n =?utf-8?b?6riA?=\r\n\r\nbody\r\r\n\r",
		"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Transfer-Encoding: quoted-printable\n\nx=\n=41=4\n--a--",
		"Content-Type: multipart/mixed; boundary=zz\r\nbody without blank\r\n--zz\r\nX: y\r\n--zz\r\n--zz--",
		msg_replay_rfc822,
	};
	size_t lens[sizeof(msgs) / sizeof(msgs[0])];
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		lens[i] = strlen(msgs[i]);
	lens[2] = sizeof(msg_forward) - 1; /* has NUL bytes */
	unsigned mismatches = 0, runs = 0;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct rec whole;
		parse_lim(&whole, msgs[i], lens[i], 0, NULL);
		CHECK(!whole.order_error);
		CHECK(whole.nparts > 0);
		for (unsigned k = 0; k < 40; k++) {
			struct rec r;
			unsigned chunk = k == 0 ? 1 : 2 + k % 17;
			parse_lim(&r, msgs[i], lens[i], chunk, NULL);
			runs++;
			if (r.order_error || r.tr_len != whole.tr_len || memcmp(r.tr, whole.tr, r.tr_len) != 0 ||
			    memcmp(&r.st, &whole.st, sizeof(r.st)) != 0) {
				mismatches++;
				fprintf(stderr, "message %zu chunk %u differs:\n--whole--\n%s\n--chunked--\n%s\n", i,
					chunk, whole.tr, r.tr);
			}
			rec_free(&r);
		}
		rec_free(&whole);
	}
	CHECK_EQ_U(mismatches, 0);
	CHECK_EQ_U(runs, 40 * sizeof(msgs) / sizeof(msgs[0]));
	free(sj);
	free(sjmsg);
	free(deep);
}

int main(void)
{
	RUN(test_multipart_mixed);
	RUN(test_long_preamble_and_base64_paths);
	RUN(test_nested_alternative);
	RUN(test_forward_rfc822);
	RUN(test_euckr_base64);
	RUN(test_iso2022jp);
	RUN(test_shift_jis);
	RUN(test_rfc2231_filenames);
	RUN(test_form_data_field_names);
	RUN(test_encoded_words);
	RUN(test_broken_base64);
	RUN(test_bad_qp);
	RUN(test_unterminated_and_missing_boundary);
	RUN(test_unknown_charset);
	RUN(test_deep_nesting);
	RUN(test_boundary_prefix_trick);
	RUN(test_headers_only_and_lf);
	RUN(test_long_header);
	RUN(test_parts_cap_and_gap);
	RUN(test_every_split_point);
	RUN(test_replayed_body_lines);
	RUN(test_chunking_property);
	return tl_finish();
}
