/* Request body decoders: webmail-shaped urlencoded, multipart and JSON
 * bodies, the caps and anomalies, and the chunking property (whole,
 * byte-by-byte and random chunkings give the same log of fields with their
 * values concatenated). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "http_parser/form.h"
#include "testlib.h"

/* ---- recording ---------------------------------------------------------- */

#define MAX_REC_FIELDS 64

struct rec_field {
	struct form_field f; /* strings below are copies */
	char *name, *fname, *ct;
	char *val;
	size_t len;
	uint64_t end_size;
	bool ended;
};

struct rec {
	char *log; /* one line per field: index, flags, name, filename, type, value */
	size_t log_len, log_cap;
	struct rec_field fields[MAX_REC_FIELDS];
	unsigned n;
	struct form_stats st;
	bool order_error;
};

static void log_add(struct rec *r, const void *d, size_t n)
{
	if (r->log_len + n + 1 > r->log_cap) {
		r->log_cap = (r->log_len + n + 1) * 2;
		r->log = realloc(r->log, r->log_cap);
	}
	memcpy(r->log + r->log_len, d, n);
	r->log_len += n;
	r->log[r->log_len] = 0;
}

static void log_str(struct rec *r, const char *s)
{
	log_add(r, s, strlen(s));
	log_add(r, "|", 1);
}

static void on_begin(void *ctx, const struct form_field *f)
{
	struct rec *r = ctx;
	if (f->index != r->n || r->n >= MAX_REC_FIELDS || (r->n && !r->fields[r->n - 1].ended)) {
		r->order_error = true;
		return;
	}
	struct rec_field *rf = &r->fields[r->n++];
	rf->f = *f;
	rf->name = strdup(f->name);
	rf->fname = strdup(f->filename);
	rf->ct = strdup(f->content_type);
}

static void on_data(void *ctx, const struct form_field *f, const uint8_t *d, size_t n)
{
	struct rec *r = ctx;
	if (!r->n || f->index != r->n - 1 || n == 0 || r->fields[f->index].ended) {
		r->order_error = true;
		return;
	}
	struct rec_field *rf = &r->fields[f->index];
	rf->val = realloc(rf->val, rf->len + n + 1);
	memcpy(rf->val + rf->len, d, n);
	rf->len += n;
	rf->val[rf->len] = 0;
}

static void on_end(void *ctx, const struct form_field *f, uint64_t size)
{
	struct rec *r = ctx;
	if (!r->n || f->index != r->n - 1 || r->fields[f->index].ended) {
		r->order_error = true;
		return;
	}
	struct rec_field *rf = &r->fields[f->index];
	rf->ended = true;
	rf->end_size = size;
	if (!rf->val)
		rf->val = strdup("");
	char b[64];
	snprintf(b, sizeof(b), "%u/%d%d/%llu/%zu|", f->index, f->is_file, f->is_text,
		 (unsigned long long)size, rf->len);
	log_add(r, b, strlen(b));
	log_str(r, rf->name);
	log_str(r, rf->fname);
	log_str(r, rf->ct);
	log_add(r, rf->val, rf->len);
	log_add(r, "\n", 1);
}

static const struct form_callbacks rec_cb = {on_begin, on_data, on_end};

static void rec_free(struct rec *r)
{
	free(r->log);
	for (unsigned i = 0; i < r->n; i++) {
		free(r->fields[i].name);
		free(r->fields[i].fname);
		free(r->fields[i].ct);
		free(r->fields[i].val);
	}
	memset(r, 0, sizeof(*r));
}

static uint32_t rng_state = 4242;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* chunk: 0 = whole, 1 = byte by byte, else random chunks of 1..chunk bytes.
 * gap_at: a 10-byte gap before that offset (SIZE_MAX: none). */
static void parse_full(struct rec *r, const char *ct, const char *body, size_t len, unsigned chunk,
		       const struct form_limits *lim, size_t gap_at)
{
	memset(r, 0, sizeof(*r));
	struct form_decoder *d = form_decoder_new(ct, lim, &rec_cb, r);
	if (!d) {
		r->order_error = true;
		return;
	}
	size_t off = 0;
	while (off < len || off == gap_at) {
		if (off == gap_at) {
			form_gap(d, 10);
			gap_at = SIZE_MAX;
			continue;
		}
		size_t n = chunk == 0 ? len - off : chunk == 1 ? 1 : 1 + rng() % chunk;
		if (n > len - off)
			n = len - off;
		if (gap_at > off && gap_at < off + n)
			n = gap_at - off;
		form_feed(d, (const uint8_t *)body + off, n);
		off += n;
	}
	form_close(d);
	r->st = *form_decoder_stats(d);
	for (unsigned i = 0; i < r->n; i++) {
		if (!r->fields[i].ended || r->fields[i].end_size != r->fields[i].len)
			r->order_error = true;
	}
	if (r->st.fields != r->n)
		r->order_error = true;
	form_decoder_free(d);
}

static void parse(struct rec *r, const char *ct, const char *body, const struct form_limits *lim)
{
	parse_full(r, ct, body, strlen(body), 0, lim, SIZE_MAX);
}

static const struct rec_field *field(const struct rec *r, const char *name)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return &r->fields[i];
	return NULL;
}

static const char *value(const struct rec *r, const char *name)
{
	const struct rec_field *f = field(r, name);
	return f ? f->val : NULL;
}

/* ---- kinds -------------------------------------------------------------- */

static void test_kind_of(void)
{
	CHECK_EQ_U(form_kind_of("application/x-www-form-urlencoded"), FORM_URLENCODED);
	CHECK_EQ_U(form_kind_of(" Application/X-WWW-Form-Urlencoded; charset=UTF-8"), FORM_URLENCODED);
	CHECK_EQ_U(form_kind_of("multipart/form-data; boundary=----x"), FORM_MULTIPART);
	CHECK_EQ_U(form_kind_of("MULTIPART/FORM-DATA;boundary=x"), FORM_MULTIPART);
	CHECK_EQ_U(form_kind_of("application/json"), FORM_JSON);
	CHECK_EQ_U(form_kind_of("application/json; charset=utf-8"), FORM_JSON);
	CHECK_EQ_U(form_kind_of("text/json"), FORM_JSON);
	CHECK_EQ_U(form_kind_of("application/vnd.api+json"), FORM_JSON);
	CHECK_EQ_U(form_kind_of("application/jsonp"), FORM_RAW);
	CHECK_EQ_U(form_kind_of("application/+json"), FORM_RAW);
	CHECK_EQ_U(form_kind_of("multipart/mixed; boundary=x"), FORM_RAW);
	CHECK_EQ_U(form_kind_of("text/plain"), FORM_RAW);
	CHECK_EQ_U(form_kind_of(""), FORM_RAW);
	CHECK_EQ_U(form_kind_of(NULL), FORM_RAW);
	CHECK_STR(form_kind_name(FORM_URLENCODED), "urlencoded");
	CHECK_STR(form_kind_name(FORM_MULTIPART), "multipart");
	CHECK_STR(form_kind_name(FORM_JSON), "json");
	CHECK_STR(form_kind_name(FORM_RAW), "raw");
	CHECK_STR(form_anomaly_name(FORM_ANOM_BAD_PERCENT), "bad_percent");
	CHECK_STR(form_anomaly_name(FORM_ANOM_GAP), "gap");
	CHECK(form_anomaly_name(1u << FORM_ANOM_COUNT) == NULL);
	CHECK(form_anomaly_name(3) == NULL);
	struct form_limits l;
	form_limits_default(&l);
	CHECK_EQ_U(l.max_name, 256);
	CHECK_EQ_U(l.max_fields, 1024);
	CHECK_EQ_U(l.max_json, 1u << 20);
	CHECK_EQ_U(l.max_json_depth, 32);
}

/* ---- urlencoded --------------------------------------------------------- */

static const char url_ct[] = "application/x-www-form-urlencoded; charset=UTF-8";

/* Roundcube's compose form (shape of the real request). */
static const char roundcube[] =
	"_token=Qm9zRk5vY2Vy&_task=mail&_action=send&_id=1730ab6c&_attachments=&_from=1"
	"&_to=a%40b.c%2C+d%40e.f&_cc=&_bcc=&_replyto=&_followupto=&_subject=Q3+numbers+%26+plan"
	"&_draft_saveid=&_draft=&_is_html=0&_framed=1&_priority=0&_store_target=Sent"
	"&_message=Hi+team%2C%0D%0Ale+r%C3%A9sultat+est+%3D+42%25.%0D%0A--+%0D%0ABob";

static void test_url_roundcube(void)
{
	struct rec r;
	parse(&r, url_ct, roundcube, NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 19);
	CHECK_STR(value(&r, "_task"), "mail");
	CHECK_STR(value(&r, "_action"), "send");
	CHECK_STR(value(&r, "_to"), "a@b.c, d@e.f");
	CHECK_STR(value(&r, "_cc"), "");
	CHECK_STR(value(&r, "_subject"), "Q3 numbers & plan");
	CHECK_STR(value(&r, "_message"), "Hi team,\r\nle r\xc3\xa9sultat est = 42%.\r\n-- \r\nBob");
	CHECK_STR(r.fields[0].name, "_token");
	CHECK_EQ_U(r.fields[5].f.index, 5);
	CHECK_STR(r.fields[5].name, "_from");
	CHECK(r.fields[0].f.is_text && !r.fields[0].f.is_file);
	CHECK_STR(r.fields[0].ct, "");
	CHECK_STR(r.fields[0].fname, "");
	CHECK_EQ_U(r.st.anomalies, 0);
	CHECK_EQ_U(r.st.fields, 19);
	CHECK_EQ_U(r.st.files, 0);
	CHECK_EQ_U(r.st.bytes, strlen(roundcube));
	rec_free(&r);
}

static void test_url_bad_percent_and_plus(void)
{
	struct rec r;
	parse(&r, url_ct, "a=%zz%4&b%2=x%&c=%41%4g&d=%%41&q=a+b%2Bc&+sp+=1&e%3Dx=%3d", NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 7);
	CHECK_STR(value(&r, "a"), "%zz%4");
	CHECK_STR(value(&r, "b%2"), "x%");
	CHECK_STR(value(&r, "c"), "A%4g");
	CHECK_STR(value(&r, "d"), "%A");
	CHECK_STR(value(&r, "q"), "a b+c");
	CHECK_STR(value(&r, " sp "), "1");
	CHECK_STR(value(&r, "e=x"), "="); /* an encoded '=' does not split */
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_BAD_PERCENT);
	rec_free(&r);

	/* good escapes only: no anomaly */
	parse(&r, url_ct, "x=%e6%9d%b1%E4%BA%AC", NULL);
	CHECK_STR(value(&r, "x"), "\xe6\x9d\xb1\xe4\xba\xac");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	char out[64];
	CHECK_EQ_U(form_urldecode("a%20b+c", 7, out, sizeof(out)), 5);
	CHECK_STR(out, "a b c");
	CHECK_EQ_U(form_urldecode("%zz%4%41%", 9, out, sizeof(out)), 7);
	CHECK_STR(out, "%zz%4A%");
	CHECK_EQ_U(form_urldecode("abcdef", 6, out, 4), 3);
	CHECK_STR(out, "abc");
	CHECK_EQ_U(form_urldecode("%41%42", 6, out, 2), 1);
	CHECK_STR(out, "A");
	CHECK_EQ_U(form_urldecode("x", 1, out, 0), 0);
	/* the length is honoured: the escape is not read past it */
	CHECK_EQ_U(form_urldecode("%41", 2, out, sizeof(out)), 2);
	CHECK_STR(out, "%4");
}

static void test_url_empty_segments(void)
{
	struct rec r;
	parse(&r, url_ct, "&a&&b=&=v&c&", NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 4);
	CHECK_STR(r.fields[0].name, "a");
	CHECK_STR(r.fields[0].val, "");
	CHECK_STR(r.fields[1].name, "b");
	CHECK_STR(r.fields[1].val, "");
	CHECK_STR(r.fields[2].name, "");
	CHECK_STR(r.fields[2].val, "v");
	CHECK_STR(r.fields[3].name, "c");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	parse(&r, url_ct, "", NULL);
	CHECK_EQ_U(r.n, 0);
	rec_free(&r);

	/* a value keeps its '=' signs */
	parse(&r, url_ct, "sig=YWJj==&x=1=2", NULL);
	CHECK_STR(value(&r, "sig"), "YWJj==");
	CHECK_STR(value(&r, "x"), "1=2");
	rec_free(&r);
}

static void test_url_long_names(void)
{
	struct form_limits l;
	form_limits_default(&l);
	l.max_name = 7;
	struct rec r;
	/* "ééé" is 6 bytes, a 4th é would be cut in two: dropped whole */
	parse(&r, url_ct,
	      "abcdefghijkl=1&\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9=2&%C3%A9%C3%A9%C3%A9%C3%A9x=3&abcdefg=4"
	      "&%FF%FE=5",
	      &l);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 5);
	CHECK_STR(r.fields[0].name, "abcdefg");
	CHECK_STR(r.fields[0].val, "1");
	CHECK_STR(r.fields[1].name, "\xc3\xa9\xc3\xa9\xc3\xa9");
	CHECK_STR(r.fields[1].val, "2");
	CHECK_STR(r.fields[2].name, "\xc3\xa9\xc3\xa9\xc3\xa9");
	CHECK_STR(r.fields[3].name, "abcdefg");
	/* names are valid UTF-8: bytes that are not become U+FFFD (as far as
	 * max_name allows) */
	CHECK_STR(r.fields[4].name, "\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_NAME_TOO_LONG);
	rec_free(&r);

	/* exactly max_name: no anomaly */
	parse(&r, url_ct, "abcdefg=4", &l);
	CHECK_STR(r.fields[0].name, "abcdefg");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
}

static void test_url_fields_cap(void)
{
	struct form_limits l;
	form_limits_default(&l);
	l.max_fields = 3;
	struct rec r;
	parse(&r, url_ct, "a=1&b=2&c=3&d=4&e=5&f&g=%zz&h=8&i=9&j=10", &l);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 3);
	CHECK_STR(r.fields[2].name, "c");
	CHECK_STR(r.fields[2].val, "3");
	CHECK_EQ_U(r.st.fields, 3);
	CHECK_EQ_U(r.st.fields_skipped, 7);
	/* skipped fields are still decoded (their anomalies count) */
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_FIELDS_CAP | FORM_ANOM_BAD_PERCENT);
	rec_free(&r);

	/* default cap with many fields */
	char *big = malloc(1100 * 8 + 1);
	size_t o = 0;
	for (int i = 0; i < 1100; i++)
		o += (size_t)sprintf(big + o, "%sf%d=v", i ? "&" : "", i);
	memset(&r, 0, sizeof(r));
	struct form_decoder *d = form_decoder_new(url_ct, NULL, NULL, NULL);
	CHECK(d != NULL);
	form_feed(d, (const uint8_t *)big, o);
	form_close(d);
	CHECK_EQ_U(form_decoder_stats(d)->fields, 1024);
	CHECK_EQ_U(form_decoder_stats(d)->fields_skipped, 1100 - 1024);
	CHECK_EQ_U(form_decoder_kind(d), FORM_URLENCODED);
	form_decoder_free(d);
	free(big);
}

static void test_url_gap(void)
{
	static const char body[] = "a=1&b=22222&c=3&d=44";
	struct rec r;
	/* gap inside b's value: b ends with what came before, c follows */
	parse_full(&r, url_ct, body, strlen(body), 0, NULL, 8);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 4);
	CHECK_STR(value(&r, "a"), "1");
	CHECK_STR(value(&r, "b"), "22");
	CHECK_STR(value(&r, "c"), "3");
	CHECK_STR(value(&r, "d"), "44");
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_GAP);
	rec_free(&r);
	/* gap inside a name: that field is lost */
	parse_full(&r, url_ct, body, strlen(body), 1, NULL, 13);
	CHECK_EQ_U(r.n, 3);
	CHECK_STR(r.fields[2].name, "d");
	rec_free(&r);
}

/* ---- multipart ---------------------------------------------------------- */

static const char mp_ct[] = "multipart/form-data; boundary=----WebKitFormBoundaryQ7xZ3kLm";

#define MPB "------WebKitFormBoundaryQ7xZ3kLm"
static const char mp_body[] =
	MPB "\r\n"
	"Content-Disposition: form-data; name=\"_token\"\r\n\r\n"
	"Qm9zRk5vY2Vy\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"_to\"\r\n\r\n"
	"a@b.c, d@e.f\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"_subject\"\r\n\r\n"
	"Gr\xc3\xbc\xc3\x9f" "e aus \xe6\x9d\xb1\xe4\xba\xac\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"pr\xc3\xa9nom\"\r\n\r\n"
	"\xc3\x89lodie\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"_message\"\r\n\r\n"
	"line one\r\n\r\n-- not a boundary\r\nline three\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"_attachments[]\"; filename=\"notes.txt\"\r\n"
	"Content-Type: text/plain\r\n\r\n"
	"secret plan\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"_attachments[]\"; filename=\"image.png\"\r\n"
	"Content-Type: image/png\r\n\r\n"
	"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\r\n--\xff\xfe\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"report\";"
	" filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf\r\n"
	"Content-Type: application/pdf\r\n\r\n"
	"%PDF-1.4\r\n" MPB "\r\n"
	"Content-Disposition: form-data; name=\"attach3\"; filename=\"\"\r\n"
	"Content-Type: application/octet-stream\r\n\r\n"
	"\r\n" MPB "--\r\n";

static void test_multipart(void)
{
	struct rec r;
	parse_full(&r, mp_ct, mp_body, sizeof(mp_body) - 1, 0, NULL, SIZE_MAX);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 9);
	CHECK_STR(value(&r, "_token"), "Qm9zRk5vY2Vy");
	CHECK_STR(value(&r, "_to"), "a@b.c, d@e.f");
	CHECK_STR(value(&r, "_subject"), "Gr\xc3\xbc\xc3\x9f" "e aus \xe6\x9d\xb1\xe4\xba\xac");
	CHECK_STR(value(&r, "pr\xc3\xa9nom"), "\xc3\x89lodie");
	CHECK_STR(value(&r, "_message"), "line one\r\n\r\n-- not a boundary\r\nline three");
	const struct rec_field *f = field(&r, "_to");
	CHECK(f && f->f.is_text && !f->f.is_file);
	CHECK(f && strcmp(f->ct, "text/plain") == 0 && strcmp(f->fname, "") == 0);
	/* files */
	f = &r.fields[5];
	CHECK_STR(f->name, "_attachments[]");
	CHECK_STR(f->fname, "notes.txt");
	CHECK_STR(f->ct, "text/plain");
	CHECK(f->f.is_file && !f->f.is_text);
	CHECK_STR(f->val, "secret plan");
	f = &r.fields[6];
	CHECK_STR(f->fname, "image.png");
	CHECK_STR(f->ct, "image/png");
	CHECK(f->f.is_file && !f->f.is_text);
	static const char png[] = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\r\n--\xff\xfe";
	CHECK_EQ_U(f->len, sizeof(png) - 1);
	CHECK(f->len == sizeof(png) - 1 && memcmp(f->val, png, f->len) == 0);
	f = &r.fields[7];
	CHECK_STR(f->name, "report");
	CHECK_STR(f->fname, "\xe6\x8a\xa5\xe5\x91\x8a.pdf");
	CHECK(f->f.is_file);
	CHECK_STR(f->val, "%PDF-1.4");
	/* a file input with no file chosen */
	f = &r.fields[8];
	CHECK_STR(f->name, "attach3");
	CHECK_STR(f->fname, "");
	CHECK(f->f.is_file && !f->f.is_text);
	CHECK_EQ_U(f->len, 0);
	CHECK_EQ_U(r.st.files, 4);
	CHECK_EQ_U(r.st.anomalies, 0);
	CHECK_EQ_U(r.st.mime_anomalies, 0);
	rec_free(&r);

	/* caps: names cut on a character boundary, fields past the cap dropped */
	struct form_limits l;
	form_limits_default(&l);
	l.max_name = 3;
	l.max_fields = 4;
	parse_full(&r, mp_ct, mp_body, sizeof(mp_body) - 1, 0, &l, SIZE_MAX);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 4);
	CHECK_STR(r.fields[0].name, "_to");
	CHECK_STR(r.fields[0].val, "Qm9zRk5vY2Vy");
	CHECK_STR(r.fields[3].name, "pr");
	CHECK_EQ_U(r.st.fields_skipped, 5);
	CHECK_EQ_U(r.st.files, 0);
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_NAME_TOO_LONG | FORM_ANOM_FIELDS_CAP);
	rec_free(&r);
}

static void test_multipart_anomalies(void)
{
	struct rec r;
	/* no closing delimiter: the field still ends, the MIME anomaly shows */
	static const char cut[] = MPB "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello";
	parse(&r, mp_ct, cut, NULL);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 1);
	CHECK_STR(value(&r, "a"), "hello");
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_MIME);
	CHECK(r.st.mime_anomalies & (1u << 5)); /* MIME_ANOM_UNTERMINATED */
	rec_free(&r);

	/* no boundary= at all: the body is one field, nothing lost */
	parse(&r, "multipart/form-data", "--x\r\nabc\r\n--x--\r\n", NULL);
	CHECK_EQ_U(r.n, 1);
	CHECK_STR(r.fields[0].name, "");
	CHECK_STR(r.fields[0].val, "--x\r\nabc\r\n--x--\r\n");
	CHECK(r.st.anomalies & FORM_ANOM_MIME);
	rec_free(&r);

	/* a CRLF in the request's Content-Type cannot end the synthesized header */
	parse(&r, "multipart/form-data; boundary=b\r\n\r\n",
	      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--b--\r\n", NULL);
	CHECK_EQ_U(r.n, 1);
	CHECK_STR(value(&r, "a"), "1");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	/* gap inside a file */
	static const char g[] = MPB "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n0123456789\r\n"
		MPB "\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nafter\r\n" MPB "--\r\n";
	parse_full(&r, mp_ct, g, strlen(g), 0, NULL, 80);
	CHECK(!r.order_error);
	CHECK_STR(value(&r, "b"), "after");
	CHECK(r.st.anomalies & FORM_ANOM_GAP);
	CHECK(r.st.anomalies & FORM_ANOM_MIME);
	rec_free(&r);
}

/* ---- JSON --------------------------------------------------------------- */

static const char json_ct[] = "application/json; charset=utf-8";

/* OWA (Exchange) service.svc?action=CreateItem */
static const char owa[] =
	"{\"__type\":\"CreateItemJsonRequest:#Exchange\",\"Header\":{\"__type\":"
	"\"JsonRequestHeaders:#Exchange\",\"RequestServerVersion\":\"Exchange2013\"},"
	"\"Body\":{\"__type\":\"CreateItemRequest:#Exchange\",\"Items\":[{\"__type\":"
	"\"Message:#Exchange\",\"Subject\":\"Q3 numbers\",\"Body\":{\"__type\":"
	"\"BodyContentType:#Exchange\",\"BodyType\":\"HTML\",\"Value\":\"<div>Hello \\u00e9</div>\"},"
	"\"ToRecipients\":[{\"__type\":\"EmailAddress:#Exchange\",\"EmailAddress\":"
	"\"alice@example.com\",\"Name\":\"Alice\"},{\"EmailAddress\":\"bob@example.org\"}],"
	"\"Importance\":\"Normal\",\"IsDeliveryReceiptRequested\":false}],"
	"\"MessageDisposition\":\"SendAndSaveCopy\",\"SavedItemFolderId\":{\"__type\":"
	"\"TargetFolderId:#Exchange\",\"BaseFolderId\":{\"__type\":\"DistinguishedFolderId:#Exchange\","
	"\"Id\":\"sentitems\"}}}}";

/* Zimbra SOAP-in-JSON SendMsgRequest */
static const char zimbra[] =
	"{\"Header\":{\"context\":{\"_jsns\":\"urn:zimbra\",\"session\":{\"_content\":1234,\"id\":1234},"
	"\"account\":{\"_content\":\"user@example.com\",\"by\":\"name\"}}},"
	"\"Body\":{\"SendMsgRequest\":{\"_jsns\":\"urn:zimbraMail\",\"m\":{\"e\":["
	"{\"t\":\"t\",\"a\":\"carol@example.net\",\"p\":\"Carol\"},{\"t\":\"f\",\"a\":\"user@example.com\"}],"
	"\"su\":{\"_content\":\"Contract draft\"},\"mp\":[{\"ct\":\"multipart/alternative\",\"mp\":["
	"{\"ct\":\"text/plain\",\"content\":{\"_content\":\"Please find the draft.\"}}]}]}}}}";

/* RainLoop / SnappyMail SendMessage */
static const char snappy[] =
	"{\"Action\":\"SendMessage\",\"IdentityID\":\"\",\"MessageFolder\":\"INBOX\",\"SaveFolder\":\"Sent\","
	"\"To\":\"\\\"Dave\\\" <dave@example.com>\",\"Cc\":\"\",\"Subject\":\"Hi \\u00e9t\\u00e9\","
	"\"Html\":\"<p>Hello</p>\",\"Attachments\":[{\"Id\":\"abc\",\"Name\":\"x.pdf\",\"Size\":1234.5}],"
	"\"MarkAsImportant\":0,\"ReadReceiptRequest\":true,\"DsnRequest\":null,\"Ratio\":0.1,\"Big\":1e3}";

static unsigned count_named(const struct rec *r, const char *name)
{
	unsigned c = 0;
	for (unsigned i = 0; i < r->n; i++)
		c += strcmp(r->fields[i].name, name) == 0;
	return c;
}

static void test_json_webmail(void)
{
	struct rec r;
	parse(&r, json_ct, owa, NULL);
	CHECK(!r.order_error);
	CHECK_STR(r.fields[0].name, "__type");
	CHECK_STR(value(&r, "Header.RequestServerVersion"), "Exchange2013");
	CHECK_STR(value(&r, "Body.Items.Subject"), "Q3 numbers");
	CHECK_STR(value(&r, "Body.Items.Body.Value"), "<div>Hello \xc3\xa9</div>");
	CHECK_EQ_U(count_named(&r, "Body.Items.ToRecipients.EmailAddress"), 2);
	CHECK_STR(value(&r, "Body.Items.ToRecipients.EmailAddress"), "alice@example.com");
	CHECK_STR(value(&r, "Body.Items.IsDeliveryReceiptRequested"), "false");
	CHECK_STR(value(&r, "Body.SavedItemFolderId.BaseFolderId.Id"), "sentitems");
	CHECK(r.fields[0].f.is_text && !r.fields[0].f.is_file);
	CHECK_EQ_U(r.n, 19);
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	parse(&r, json_ct, zimbra, NULL);
	CHECK(!r.order_error);
	CHECK_STR(value(&r, "Header.context.session._content"), "1234");
	CHECK_STR(value(&r, "Header.context.account._content"), "user@example.com");
	CHECK_STR(value(&r, "Body.SendMsgRequest.m.e.a"), "carol@example.net");
	CHECK_EQ_U(count_named(&r, "Body.SendMsgRequest.m.e.a"), 2);
	CHECK_STR(value(&r, "Body.SendMsgRequest.m.su._content"), "Contract draft");
	CHECK_STR(value(&r, "Body.SendMsgRequest.m.mp.mp.content._content"), "Please find the draft.");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	parse(&r, "application/vnd.snappymail+json", snappy, NULL);
	CHECK(!r.order_error);
	CHECK_STR(value(&r, "Action"), "SendMessage");
	CHECK_STR(value(&r, "To"), "\"Dave\" <dave@example.com>");
	CHECK_STR(value(&r, "Subject"), "Hi \xc3\xa9t\xc3\xa9");
	CHECK_STR(value(&r, "Attachments.Name"), "x.pdf");
	CHECK_STR(value(&r, "Attachments.Size"), "1234.5");
	CHECK_STR(value(&r, "MarkAsImportant"), "0");
	CHECK_STR(value(&r, "ReadReceiptRequest"), "true");
	CHECK_STR(value(&r, "Ratio"), "0.1");
	CHECK_STR(value(&r, "Big"), "1000");
	CHECK(field(&r, "DsnRequest") == NULL); /* null is no value */
	CHECK_STR(value(&r, "IdentityID"), "");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	/* top-level scalars and arrays; an empty body has no field */
	parse(&r, json_ct, "[\"a\",[\"b\"],{\"k\":[1,2]}]", NULL);
	CHECK_EQ_U(r.n, 4);
	CHECK_STR(r.fields[1].name, "");
	CHECK_STR(r.fields[1].val, "b");
	CHECK_STR(r.fields[3].name, "k");
	CHECK_STR(r.fields[3].val, "2");
	rec_free(&r);
	parse(&r, json_ct, "", NULL);
	CHECK_EQ_U(r.n, 0);
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	parse(&r, json_ct, "{\"\":{\"a\":\"x\"}}", NULL);
	CHECK_STR(r.fields[0].name, ".a");
	rec_free(&r);
}

static void test_json_invalid(void)
{
	static const char *const bad[] = {
		"{\"to\":\"a@b\",",                   /* cut */
		"{\"a\":1} trailing",                  /* garbage after */
		"{\"body\":\"evil\",\"body\":\"ok\"}",  /* duplicate key hides a value */
		"{\"a\":\"x\\u0000y\"}",                /* NUL */
		"{\"a\":123456789012345678901234567890}", /* integer overflow */
		"\xef\xbb\xbf{}",                      /* BOM */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r;
		parse(&r, json_ct, bad[i], NULL);
		CHECK(!r.order_error);
		CHECK_EQ_U(r.n, 1);
		CHECK_STR(r.fields[0].name, "");
		CHECK_STR(r.fields[0].val, bad[i]);
		CHECK(r.fields[0].f.is_text);
		CHECK_EQ_U(r.st.anomalies, FORM_ANOM_JSON_INVALID);
		rec_free(&r);
	}
}

static void test_json_too_large(void)
{
	struct form_limits l;
	form_limits_default(&l);
	l.max_json = 64;
	char body[400];
	size_t o = (size_t)sprintf(body, "{\"to\":[");
	for (int i = 0; i < 20; i++)
		o += (size_t)sprintf(body + o, "%s\"u%02d@example.com\"", i ? "," : "", i);
	o += (size_t)sprintf(body + o, "]}");
	for (unsigned chunk = 0; chunk < 12; chunk++) {
		struct rec r;
		parse_full(&r, json_ct, body, o, chunk, &l, SIZE_MAX);
		CHECK(!r.order_error);
		CHECK_EQ_U(r.n, 1);
		CHECK_STR(r.fields[0].name, "");
		CHECK_EQ_U(r.fields[0].len, o);
		CHECK(r.fields[0].val && memcmp(r.fields[0].val, body, o) == 0);
		CHECK_EQ_U(r.st.anomalies, FORM_ANOM_JSON_TOO_LARGE);
		rec_free(&r);
	}
	/* exactly max_json is parsed */
	l.max_json = o;
	struct rec r;
	parse_full(&r, json_ct, body, o, 1, &l, SIZE_MAX);
	CHECK_EQ_U(r.n, 20);
	CHECK_STR(r.fields[19].name, "to");
	CHECK_STR(r.fields[19].val, "u19@example.com");
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);

	/* a body past the first 4 KiB buffer: it grows (twice) and all parses */
	static char big[5 * 3010 + 2];
	o = 0;
	big[o++] = '[';
	for (int i = 0; i < 5; i++) {
		if (i)
			big[o++] = ',';
		big[o++] = '"';
		memset(big + o, 'a' + i, 3000);
		o += 3000;
		big[o++] = '"';
	}
	big[o++] = ']';
	for (unsigned chunk = 0; chunk < 4; chunk++) {
		parse_full(&r, json_ct, big, o, chunk * 997, NULL, SIZE_MAX);
		CHECK(!r.order_error);
		CHECK_EQ_U(r.n, 5);
		CHECK_EQ_U(r.fields[4].len, 3000);
		CHECK(r.fields[4].val && r.fields[4].val[0] == 'e' && r.fields[4].val[2999] == 'e');
		CHECK_EQ_U(r.st.anomalies, 0);
		rec_free(&r);
	}

	/* a gap turns the body raw: bytes before and after it */
	parse_full(&r, json_ct, "{\"a\":\"b\"}", 9, 1, NULL, 4);
	CHECK_EQ_U(r.n, 1);
	CHECK_STR(r.fields[0].val, "{\"a\":\"b\"}");
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_GAP);
	rec_free(&r);
}

static void test_json_depth_and_names(void)
{
	struct form_limits l;
	form_limits_default(&l);
	l.max_json_depth = 3;
	struct rec r;
	parse(&r, json_ct,
	      "{\"y\":\"top\",\"a\":{\"b\":{\"c\":{\"d\":\"deep\"},\"e\":[[\"arr\"]],\"f\":\"ok2\"},"
	      "\"x\":\"ok\"}}",
	      &l);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 3);
	CHECK_STR(value(&r, "y"), "top");
	CHECK_STR(value(&r, "a.b.f"), "ok2");
	CHECK_STR(value(&r, "a.x"), "ok");
	CHECK(field(&r, "a.b.c.d") == NULL);
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_JSON_DEPTH);
	rec_free(&r);

	/* very deep (past jansson's own limit): raw */
	char deep[5000];
	memset(deep, '[', 2500);
	memset(deep + 2500, ']', 2500);
	parse_full(&r, json_ct, deep, sizeof(deep), 0, NULL, SIZE_MAX);
	CHECK_EQ_U(r.n, 1);
	CHECK_EQ_U(r.fields[0].len, sizeof(deep));
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_JSON_INVALID);
	rec_free(&r);

	l.max_json_depth = 32;
	l.max_name = 8;
	parse(&r, json_ct, "{\"message\":{\"to\":\"x\",\"\\u00e9\\u00e9\":\"y\"},\"abcdefghij\":{\"k\":1}}", &l);
	CHECK_EQ_U(r.n, 3);
	CHECK_STR(r.fields[0].name, "message.");
	CHECK_STR(r.fields[1].name, "message.");
	CHECK_STR(r.fields[2].name, "abcdefgh");
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_NAME_TOO_LONG);
	rec_free(&r);

	l.max_name = 256;
	l.max_fields = 2;
	parse(&r, json_ct, zimbra, &l);
	CHECK_EQ_U(r.n, 2);
	CHECK_EQ_U(r.st.fields_skipped, 13);
	CHECK(r.st.anomalies & FORM_ANOM_FIELDS_CAP);
	rec_free(&r);
}

/* ---- raw ---------------------------------------------------------------- */

static void test_raw(void)
{
	struct rec r;
	static const char body[] = "To: a@b.c\r\nSubject: hi\r\n\r\nbody\x00\xff";
	parse_full(&r, "message/rfc822", body, sizeof(body) - 1, 3, NULL, SIZE_MAX);
	CHECK(!r.order_error);
	CHECK_EQ_U(r.n, 1);
	CHECK_STR(r.fields[0].name, "");
	CHECK(r.fields[0].f.is_text && !r.fields[0].f.is_file);
	CHECK(r.fields[0].len == sizeof(body) - 1 && memcmp(r.fields[0].val, body, sizeof(body) - 1) == 0);
	CHECK_EQ_U(r.st.anomalies, 0);
	rec_free(&r);
	parse(&r, NULL, "", NULL);
	CHECK_EQ_U(r.n, 0);
	rec_free(&r);
	/* a gap is marked, the field goes on */
	parse_full(&r, "text/plain", "abcdef", 6, 0, NULL, 3);
	CHECK_EQ_U(r.n, 1);
	CHECK_STR(r.fields[0].val, "abcdef");
	CHECK_EQ_U(r.st.anomalies, FORM_ANOM_GAP);
	rec_free(&r);
	/* no callbacks at all, feeding after close */
	struct form_decoder *d = form_decoder_new("text/plain", NULL, NULL, NULL);
	CHECK(d != NULL);
	form_feed(d, (const uint8_t *)"x", 1);
	form_close(d);
	form_feed(d, (const uint8_t *)"y", 1);
	form_close(d);
	CHECK_EQ_U(form_decoder_stats(d)->fields, 1);
	CHECK_EQ_U(form_decoder_stats(d)->bytes, 1);
	form_decoder_free(d);
}

/* ---- chunking property -------------------------------------------------- */

static bool same_stats(const struct form_stats *a, const struct form_stats *b)
{
	return a->anomalies == b->anomalies && a->fields == b->fields &&
	       a->fields_skipped == b->fields_skipped && a->files == b->files &&
	       a->mime_anomalies == b->mime_anomalies && a->bytes == b->bytes;
}

static void test_chunking_property(void)
{
	static const char bad_mp[] = MPB "\r\nContent-Disposition: form-data; name=\"a\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
		MPB "\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Disposition: form-data; name*=iso-8859-1''%E9t%E9\r\n\r\n\xe9t\xe9\r\n" MPB;
	struct {
		const char *ct;
		const char *body;
		size_t len;
		bool small;
	} cases[] = {
		{url_ct, roundcube, sizeof(roundcube) - 1, false},
		{url_ct, roundcube, sizeof(roundcube) - 1, true},
		{url_ct, "a=%zz%4&b%2=x%&c=%41%4g&&=&%e9%", 0, true},
		{mp_ct, mp_body, sizeof(mp_body) - 1, false},
		{mp_ct, mp_body, sizeof(mp_body) - 1, true},
		{mp_ct, bad_mp, sizeof(bad_mp) - 1, false},
		{json_ct, owa, sizeof(owa) - 1, false},
		{json_ct, zimbra, sizeof(zimbra) - 1, true},
		{json_ct, snappy, sizeof(snappy) - 1, false},
		{json_ct, snappy, sizeof(snappy) - 1, true}, /* too large at 100 bytes */
		{"text/plain", roundcube, sizeof(roundcube) - 1, false},
	};
	struct form_limits small;
	form_limits_default(&small);
	small.max_name = 5;
	small.max_fields = 7;
	small.max_json = 100;
	small.max_json_depth = 3;
	unsigned mismatches = 0, runs = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);
		const struct form_limits *l = cases[i].small ? &small : NULL;
		for (int gap = 0; gap < 2; gap++) {
			size_t gap_at = gap ? len / 3 : SIZE_MAX;
			struct rec whole;
			parse_full(&whole, cases[i].ct, cases[i].body, len, 0, l, gap_at);
			CHECK(!whole.order_error);
			CHECK(whole.n > 0);
			for (unsigned k = 0; k < 30; k++) {
				struct rec r;
				unsigned chunk = k == 0 ? 1 : 2 + k % 13;
				parse_full(&r, cases[i].ct, cases[i].body, len, chunk, l, gap_at);
				runs++;
				if (r.order_error || r.log_len != whole.log_len ||
				    memcmp(r.log, whole.log, r.log_len) != 0 || !same_stats(&r.st, &whole.st)) {
					mismatches++;
					fprintf(stderr, "case %zu gap %d chunk %u differs:\n--whole--\n%s\n--chunked--\n%s\n",
						i, gap, chunk, whole.log, r.log);
				}
				rec_free(&r);
			}
			rec_free(&whole);
		}
	}
	CHECK_EQ_U(mismatches, 0);
	CHECK_EQ_U(runs, 60 * sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
	RUN(test_kind_of);
	RUN(test_url_roundcube);
	RUN(test_url_bad_percent_and_plus);
	RUN(test_url_empty_segments);
	RUN(test_url_long_names);
	RUN(test_url_fields_cap);
	RUN(test_url_gap);
	RUN(test_multipart);
	RUN(test_multipart_anomalies);
	RUN(test_json_webmail);
	RUN(test_json_invalid);
	RUN(test_json_too_large);
	RUN(test_json_depth_and_names);
	RUN(test_raw);
	RUN(test_chunking_property);
	return tl_finish();
}
