/* Inspection: stream matches independent of chunking, nocase, regex, header
 * scope, thresholds, direction, detectors (validation, distinct counting,
 * candidates across chunks), URL hosts, excerpts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/inspect.h"
#include "testlib.h"

static struct ruleset *rs;
static struct inspect_scratch *scr;

static void use_rules(const char *text)
{
	ruleset_free(rs);
	inspect_scratch_free(scr);
	struct rule_errors e;
	rule_errors_init(&e, 16);
	rs = ruleset_load_mem("t.rules", text, strlen(text), &e);
	for (size_t i = 0; i < e.count; i++)
		fprintf(stderr, "rules: %u: %s\n", e.v[i].line, e.v[i].reason);
	rule_errors_free(&e);
	CHECK(rs != NULL);
	scr = rs ? inspect_scratch_new(rs) : NULL;
	CHECK(scr != NULL);
}

struct hosts {
	char v[8][64];
	unsigned n;
};

static void on_host(void *ctx, const char *host)
{
	struct hosts *h = ctx;
	if (h->n < 8)
		snprintf(h->v[h->n++], sizeof(h->v[0]), "%s", host);
}

static struct inspection *start(enum rule_direction dir, const struct inspect_limits *lim,
				struct hosts *h)
{
	static const struct inspect_callbacks cb = {.url_host = on_host};
	struct inspection *in = inspection_new(rs, scr, dir, lim, h ? &cb : NULL, h);
	CHECK(in != NULL);
	return in;
}

/* Body text fed in chunks of the given sizes (0-terminated list, the last
 * size repeats). */
static void feed(struct inspection *in, enum rule_scope sc, uint32_t part, const char *text,
		 size_t len, const size_t *sizes)
{
	inspection_stream_begin(in, sc, part);
	size_t off = 0, k = 0;
	while (off < len) {
		size_t n = sizes[k];
		if (sizes[k + 1])
			k++;
		if (n > len - off)
			n = len - off;
		inspection_stream_data(in, sc, (const uint8_t *)text + off, n);
		off += n;
	}
	inspection_stream_end(in, sc);
}

static const struct rule_hit *find(const struct rule_hit *h, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].rule->id, id) == 0)
			return &h[i];
	return NULL;
}

static bool utf8_ok(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		size_t k = *p < 0x80 ? 0 : *p >= 0xF0 ? 3 : *p >= 0xE0 ? 2 : *p >= 0xC2 ? 1 : 9;
		if (k == 9 || (k == 0 && *p < 0x20))
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((p[j] & 0xC0) != 0x80)
				return false;
		p += k + 1;
	}
	return true;
}

static void test_keyword_every_split(void)
{
	use_rules("rules = ( { id = \"kr\"; scope = \"body\"; keyword = \"대외비\"; } );");
	if (!rs)
		return;
	const char text[] = "본 문서는 대외비 입니다";
	size_t len = strlen(text);
	const char *at = strstr(text, "대외비");
	uint64_t end = (uint64_t)(at - text) + strlen("대외비");
	for (size_t split = 0; split <= len; split++) {
		struct inspection *in = start(RULE_DIR_OUTBOUND, NULL, NULL);
		inspection_stream_begin(in, SCOPE_BODY, 3);
		inspection_stream_data(in, SCOPE_BODY, (const uint8_t *)text, split);
		inspection_stream_data(in, SCOPE_BODY, (const uint8_t *)text + split, len - split);
		inspection_stream_end(in, SCOPE_BODY);
		const struct rule_hit *h;
		size_t n = inspection_hits(in, &h);
		CHECK_EQ_U(n, 1);
		if (n == 1) {
			CHECK_EQ_U(h[0].count, 1);
			CHECK_EQ_U(h[0].offset, end);
			CHECK_EQ_U(h[0].part, 3);
			CHECK_EQ_U(h[0].scope, SCOPE_BODY);
			CHECK_STR(h[0].excerpt, "대외비");
		}
		inspection_free(in);
	}
}

static const char mixed_rules[] =
	"rules = (\n"
	"  { id = \"kw\"; scope = [\"body\", \"attachment.content\"]; keyword = \"secret\"; nocase = true; },\n"
	"  { id = \"jp\"; scope = \"body\"; keyword = \"社外秘\"; },\n"
	"  { id = \"re\"; scope = \"body\"; regex = \"falcon-[0-9]+\"; },\n"
	"  { id = \"rrn\"; scope = \"body\"; detector = \"kr_rrn\"; },\n"
	"  { id = \"card\"; scope = \"body\"; detector = \"card\"; },\n"
	"  { id = \"mail\"; scope = \"body\"; detector = \"email\"; }\n"
	");\n";

static const char mixed_text[] =
	"Dear team, this is SECRET (社外秘). See falcon-42 and falcon-7.\r\n"
	"RRN 900101-1234568, card 4111 1111 1111 1111, again 4111111111111111.\r\n"
	"Mail Alice.Smith@Example.com or bob@example.org. secret secretsecret\r\n"
	"Links: http://WWW.Example.COM/a https://u:p@files.test.org:8443/x http://www.example.com/b\r\n"
	"RRN at the end 850315-2345678";

struct result {
	size_t n;
	struct rule_hit h[8];
	struct hosts hosts;
};

static void run_mixed(const size_t *sizes, struct result *r)
{
	memset(r, 0, sizeof(*r));
	struct inspection *in = start(RULE_DIR_OUTBOUND, NULL, &r->hosts);
	feed(in, SCOPE_BODY, 0, mixed_text, strlen(mixed_text), sizes);
	const struct rule_hit *h;
	r->n = inspection_hits(in, &h);
	for (size_t i = 0; i < r->n && i < 8; i++)
		r->h[i] = h[i];
	inspection_free(in);
}

static void test_chunking_independent(void)
{
	use_rules(mixed_rules);
	if (!rs)
		return;
	struct result whole, bytes, odd;
	static const size_t s_whole[] = {1 << 20, 0}, s_bytes[] = {1, 0}, s_odd[] = {7, 3, 13, 1, 0};
	run_mixed(s_whole, &whole);
	run_mixed(s_bytes, &bytes);
	run_mixed(s_odd, &odd);
	CHECK_EQ_U(whole.n, 6);
	const struct rule_hit *h = whole.h;
	const struct rule_hit *x;
	if ((x = find(h, whole.n, "kw"))) {
		CHECK_EQ_U(x->count, 4); /* SECRET, secret, secret, secret */
		CHECK_STR(x->excerpt, "SECRET");
	}
	if ((x = find(h, whole.n, "jp")))
		CHECK_STR(x->excerpt, "社外秘");
	if ((x = find(h, whole.n, "re"))) {
		CHECK_EQ_U(x->count, 2);
		CHECK_STR(x->excerpt, "falcon-42");
		CHECK_EQ_U(x->offset, (uint64_t)(strstr(mixed_text, "falcon-42") - mixed_text) + 9);
	}
	if ((x = find(h, whole.n, "rrn"))) {
		CHECK_EQ_U(x->count, 2); /* the second one ends the stream */
		CHECK_STR(x->excerpt, "900101-******8");
		CHECK_EQ_U(x->offset, (uint64_t)(strstr(mixed_text, "1234568") - mixed_text) + 7);
	}
	if ((x = find(h, whole.n, "card"))) {
		CHECK_EQ_U(x->count, 1); /* the same number twice */
		CHECK_STR(x->excerpt, "411111*********1");
	}
	if ((x = find(h, whole.n, "mail"))) {
		/* and p@files.test.org in the URL's user info, which looks like one */
		CHECK_EQ_U(x->count, 3);
		CHECK_STR(x->excerpt, "alice.****************m");
	}
	CHECK_EQ_U(whole.hosts.n, 2);
	CHECK_STR(whole.hosts.v[0], "www.example.com");
	CHECK_STR(whole.hosts.v[1], "files.test.org");
	/* hits in rules-file order */
	for (size_t i = 0; i + 1 < whole.n; i++)
		CHECK(whole.h[i].rule < whole.h[i + 1].rule);
	const struct result *other[2] = {&bytes, &odd};
	for (int k = 0; k < 2; k++) {
		CHECK_EQ_U(other[k]->n, whole.n);
		for (size_t i = 0; i < whole.n && i < other[k]->n; i++) {
			CHECK(other[k]->h[i].rule == whole.h[i].rule);
			CHECK_EQ_U(other[k]->h[i].count, whole.h[i].count);
			CHECK_EQ_U(other[k]->h[i].offset, whole.h[i].offset);
			CHECK_STR(other[k]->h[i].excerpt, whole.h[i].excerpt);
		}
		CHECK_EQ_U(other[k]->hosts.n, whole.hosts.n);
		for (unsigned i = 0; i < whole.hosts.n && i < other[k]->hosts.n; i++)
			CHECK_STR(other[k]->hosts.v[i], whole.hosts.v[i]);
	}
}

static size_t field_hits(enum rule_direction dir, enum rule_scope sc, const char *hname,
			 const char *value, const struct rule_hit **hits, struct inspection **inp)
{
	struct inspection *in = start(dir, NULL, NULL);
	inspection_field(in, sc, hname, (const uint8_t *)value, strlen(value));
	*inp = in;
	return inspection_hits(in, hits);
}

static void test_nocase_regex_header(void)
{
	use_rules("rules = (\n"
		  "  { id = \"ascii\"; scope = \"subject\"; keyword = \"Secret\"; nocase = true; },\n"
		  "  { id = \"exact\"; scope = \"subject\"; keyword = \"Secret\"; },\n"
		  "  { id = \"cyr\"; scope = \"subject\"; keyword = \"Документ\"; nocase = true; },\n"
		  "  { id = \"proj\"; scope = \"header:X-Project\"; regex = \"falcon-[0-9]+\"; nocase = true; },\n"
		  "  { id = \"hangul\"; scope = \"subject\"; regex = \"기밀\\\\s*문서\"; }\n"
		  ");\n");
	if (!rs)
		return;
	const struct rule_hit *h;
	struct inspection *in;
	size_t n = field_hits(RULE_DIR_INBOUND, SCOPE_SUBJECT, NULL, "re: SECRET документ", &h, &in);
	CHECK_EQ_U(n, 2);
	CHECK(find(h, n, "ascii") != NULL);
	CHECK(find(h, n, "exact") == NULL);
	const struct rule_hit *x = find(h, n, "cyr");
	CHECK(x != NULL);
	if (x)
		CHECK_STR(x->excerpt, "документ");
	inspection_free(in);

	n = field_hits(RULE_DIR_INBOUND, SCOPE_HEADER, "x-PROJECT", "FALCON-123, falcon-9", &h, &in);
	CHECK_EQ_U(n, 1);
	if (n == 1) {
		CHECK_EQ_U(h[0].count, 2);
		CHECK_STR(h[0].excerpt, "FALCON-123");
		CHECK_EQ_U(h[0].offset, 10);
		CHECK_EQ_U(h[0].scope, SCOPE_HEADER);
	}
	inspection_free(in);
	n = field_hits(RULE_DIR_INBOUND, SCOPE_HEADER, "X-Other", "falcon-1", &h, &in);
	CHECK_EQ_U(n, 0);
	inspection_free(in);
	n = field_hits(RULE_DIR_INBOUND, SCOPE_SUBJECT, NULL, "falcon-1", &h, &in);
	CHECK_EQ_U(n, 0);
	inspection_free(in);
	n = field_hits(RULE_DIR_INBOUND, SCOPE_SUBJECT, NULL, "[기밀  문서] 보고", &h, &in);
	CHECK_EQ_U(n, 1);
	if (n == 1)
		CHECK_STR(h[0].excerpt, "기밀  문서");
	inspection_free(in);
}

static void test_threshold_direction(void)
{
	use_rules("rules = (\n"
		  "  { id = \"three\"; scope = [\"subject\", \"body\"]; keyword = \"aa\"; threshold = 3; },\n"
		  "  { id = \"out\"; scope = \"subject\"; keyword = \"aa\"; direction = \"outbound\"; },\n"
		  "  { id = \"in\"; scope = \"subject\"; keyword = \"aa\"; direction = \"inbound\"; }\n"
		  ");\n");
	if (!rs)
		return;
	static const size_t whole[] = {1000, 0};
	struct inspection *in = start(RULE_DIR_OUTBOUND, NULL, NULL);
	inspection_field(in, SCOPE_SUBJECT, NULL, (const uint8_t *)"aaa", 3); /* one, not overlapping */
	feed(in, SCOPE_BODY, 1, "x aa y", 6, whole);
	const struct rule_hit *h;
	size_t n = inspection_hits(in, &h);
	CHECK_EQ_U(n, 1);
	if (n == 1)
		CHECK_STR(h[0].rule->id, "out");
	inspection_free(in);

	in = start(RULE_DIR_INBOUND, NULL, NULL);
	inspection_field(in, SCOPE_SUBJECT, NULL, (const uint8_t *)"aaaa", 4);
	feed(in, SCOPE_BODY, 1, "x aa y", 6, whole);
	n = inspection_hits(in, &h);
	CHECK_EQ_U(n, 2);
	const struct rule_hit *x = find(h, n, "three");
	CHECK(x != NULL);
	if (x) {
		CHECK_EQ_U(x->count, 3); /* 2 in the subject + 1 in the body */
		CHECK_EQ_U(x->scope, SCOPE_SUBJECT);
		CHECK_EQ_U(x->offset, 2);
	}
	CHECK(find(h, n, "in") != NULL);
	CHECK(find(h, n, "out") == NULL);
	inspection_free(in);
}

static void test_detectors(void)
{
	use_rules("rules = (\n"
		  "  { id = \"rrn\"; scope = [\"body\", \"attachment.content\"]; detector = \"kr_rrn\"; threshold = 2; },\n"
		  "  { id = \"card\"; scope = \"attachment.content\"; detector = \"card\"; },\n"
		  "  { id = \"mail\"; scope = \"attachment.content\"; detector = \"email\"; threshold = 3; }\n"
		  ");\n");
	if (!rs)
		return;
	static const size_t whole[] = {4096, 0};
	const struct rule_hit *h;
	/* invalid checksum, bad date, longer digit run, valid twice: one distinct */
	const char *t1 = "900101-1234567 901301-1234565 19001011234568 9001011234568 "
			 "900101-1234568";
	struct inspection *in = start(RULE_DIR_OUTBOUND, NULL, NULL);
	feed(in, SCOPE_BODY, 0, t1, strlen(t1), whole);
	size_t n = inspection_hits(in, &h);
	CHECK_EQ_U(n, 0);
	CHECK(inspection_stats(in)->candidates_rejected >= 2);
	inspection_free(in);

	/* two distinct across body and attachment, the second split between chunks */
	in = start(RULE_DIR_OUTBOUND, NULL, NULL);
	feed(in, SCOPE_BODY, 0, t1, strlen(t1), whole);
	const char *t2 = "id: 850315-2345678\n";
	for (size_t split = 4; split < 18; split++) {
		struct inspection *in2 = start(RULE_DIR_OUTBOUND, NULL, NULL);
		feed(in2, SCOPE_BODY, 0, t1, strlen(t1), whole);
		inspection_stream_begin(in2, SCOPE_ATTACH_CONTENT, 2);
		inspection_stream_data(in2, SCOPE_ATTACH_CONTENT, (const uint8_t *)t2, split);
		inspection_stream_data(in2, SCOPE_ATTACH_CONTENT, (const uint8_t *)t2 + split,
				       strlen(t2) - split);
		n = inspection_hits(in2, &h); /* closes the stream */
		CHECK_EQ_U(n, 1);
		if (n == 1) {
			CHECK_EQ_U(h[0].count, 2);
			CHECK_EQ_U(h[0].scope, SCOPE_BODY);
		}
		inspection_free(in2);
	}
	inspection_free(in);

	/* cards: separators, Luhn failures, a candidate spanning many small chunks */
	const char *t3 = "a 5555-5555-5555-4444 b 4111111111111112 c 378282246310005 d";
	static const size_t tiny[] = {2, 0};
	in = start(RULE_DIR_INBOUND, NULL, NULL);
	feed(in, SCOPE_ATTACH_CONTENT, 0, t3, strlen(t3), tiny);
	n = inspection_hits(in, &h);
	const struct rule_hit *x = find(h, n, "card");
	CHECK(x != NULL);
	if (x) {
		CHECK_EQ_U(x->count, 2);
		CHECK_STR(x->excerpt, "555555*********4");
		CHECK_EQ_U(x->offset, 21);
	}
	inspection_free(in);

	/* e-mail: distinct after lower-casing; max_distinct caps the set, still counts */
	const char *t4 = "A@Example.com a@example.com b@example.com c@example.com.";
	in = start(RULE_DIR_INBOUND, NULL, NULL);
	feed(in, SCOPE_ATTACH_CONTENT, 0, t4, strlen(t4), whole);
	n = inspection_hits(in, &h);
	x = find(h, n, "mail");
	CHECK(x != NULL);
	if (x)
		CHECK_EQ_U(x->count, 3);
	inspection_free(in);
	struct inspect_limits lim;
	inspect_limits_default(&lim);
	CHECK_EQ_U(lim.max_distinct, 4096);
	lim.max_distinct = 1;
	in = start(RULE_DIR_INBOUND, &lim, NULL);
	feed(in, SCOPE_ATTACH_CONTENT, 0, t4, strlen(t4), whole);
	n = inspection_hits(in, &h);
	x = find(h, n, "mail");
	CHECK(x != NULL);
	if (x)
		CHECK_EQ_U(x->count, 3); /* a, then b and c past the cap */
	CHECK_EQ_U(inspection_stats(in)->distinct_dropped, 2);
	inspection_free(in);
}

/* Many matched rules and many distinct values: the rule-state map and a
 * rule's value set both grow past their first sizes without losing entries. */
static void test_tables_grow(void)
{
	enum { NRULES = 150, NCARDS = 60 };
	size_t cap = 64 + NRULES * 80;
	char *rt = malloc(cap);
	char *text = malloc(NRULES * 16 + NCARDS * 2 * 20 + 1);
	CHECK(rt && text);
	if (!rt || !text) {
		free(rt);
		free(text);
		return;
	}
	size_t o = (size_t)snprintf(rt, cap, "rules = ( { id = \"card\"; scope = \"body\"; "
					     "detector = \"card\"; }");
	for (unsigned i = 0; i < NRULES; i++)
		o += (size_t)snprintf(rt + o, cap - o,
				      ", { id = \"k%u\"; scope = \"body\"; keyword = \"kw%03u;\"; }",
				      i, i);
	snprintf(rt + o, cap - o, " );");
	use_rules(rt);
	free(rt);
	if (!rs) {
		free(text);
		return;
	}
	size_t t = 0;
	for (unsigned i = 0; i < NRULES; i++) /* each keyword twice */
		t += (size_t)sprintf(text + t, "kw%03u; kw%03u; ", i, i);
	for (unsigned rep = 0; rep < 2; rep++) /* each card twice */
		for (unsigned i = 0; i < NCARDS; i++) {
			char d[17];
			snprintf(d, sizeof(d), "4%014u", 1000003u * (i + 1));
			/* Luhn check digit over the 15 digits */
			unsigned sum = 0;
			for (unsigned k = 0; k < 15; k++) {
				unsigned v = (unsigned)(d[14 - k] - '0');
				if (k % 2 == 0)
					v = v * 2 > 9 ? v * 2 - 9 : v * 2;
				sum += v;
			}
			d[15] = (char)('0' + (10 - sum % 10) % 10);
			d[16] = '\0';
			t += (size_t)sprintf(text + t, "%s ", d);
		}
	static const size_t sizes[] = {7, 0};
	struct inspection *in = start(RULE_DIR_INBOUND, NULL, NULL);
	feed(in, SCOPE_BODY, 0, text, t, sizes);
	const struct rule_hit *h;
	size_t n = inspection_hits(in, &h);
	CHECK_EQ_U(n, NRULES + 1);
	if (n == NRULES + 1) {
		CHECK_STR(h[0].rule->id, "card");
		CHECK_EQ_U(h[0].count, NCARDS);
		for (unsigned i = 0; i < NRULES; i++) {
			char id[8];
			snprintf(id, sizeof(id), "k%u", i);
			CHECK_STR(h[i + 1].rule->id, id);
			CHECK_EQ_U(h[i + 1].count, 2);
		}
	}
	CHECK_EQ_U(inspection_stats(in)->candidates_rejected, 0);
	CHECK_EQ_U(inspection_stats(in)->distinct_dropped, 0);
	inspection_free(in);
	free(text);
}

static void test_urls(void)
{
	use_rules("rules = ();");
	if (!rs)
		return;
	struct hosts hs = {0};
	struct inspect_limits lim;
	inspect_limits_default(&lim);
	lim.max_url_hosts = 2;
	struct inspection *in = start(RULE_DIR_INBOUND, &lim, &hs);
	const char *t = "<a href=\"HTTPS://Bad.Example.NET./x?y\">x</a> http://bad.example.net "
			"(http://other.org) http://third.com https://fourth.com ftp://nope.com "
			"http://:80/ http://";
	static const size_t s3[] = {3, 0};
	feed(in, SCOPE_BODY, 0, t, strlen(t), s3);
	CHECK_EQ_U(hs.n, 2);
	CHECK_STR(hs.v[0], "bad.example.net");
	CHECK_STR(hs.v[1], "other.org");
	CHECK_EQ_U(inspection_stats(in)->url_hosts_dropped, 2);
	inspection_free(in);
}

static void test_excerpts(void)
{
	use_rules("rules = (\n"
		  "  { id = \"long\"; scope = \"body\"; regex = \"start.*end\"; },\n"
		  "  { id = \"ctl\"; scope = \"subject\"; regex = \"a.b\"; }\n"
		  ");\n");
	if (!rs)
		return;
	char text[600] = "start ";
	for (int i = 0; i < 60; i++)
		strcat(text, "가나");
	strcat(text, " end");
	for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
		size_t sizes[2] = {chunk, 0};
		struct inspection *in = start(RULE_DIR_INBOUND, NULL, NULL);
		feed(in, SCOPE_BODY, 0, text, strlen(text), sizes);
		const struct rule_hit *h;
		size_t n = inspection_hits(in, &h);
		CHECK_EQ_U(n, 1);
		if (n == 1) {
			CHECK(strlen(h[0].excerpt) <= INSPECT_EXCERPT_MAX - 1);
			CHECK(strlen(h[0].excerpt) > 80);
			CHECK(utf8_ok(h[0].excerpt));
			size_t l = strlen(h[0].excerpt);
			CHECK(l >= 3 && strcmp(h[0].excerpt + l - 3, "end") == 0);
			CHECK_EQ_U(h[0].offset, strlen(text));
		}
		inspection_free(in);
	}
	/* a match that starts beyond Hyperscan's 64 KiB start-of-match horizon
	 * still counts, with the excerpt cut to the window */
	size_t big_len = 70000;
	char *big = malloc(big_len + 1);
	CHECK(big != NULL);
	if (big) {
		memset(big, 'x', big_len);
		memcpy(big, "start", 5);
		memcpy(big + big_len - 3, "end", 3);
		big[big_len] = '\0';
		size_t sizes[2] = {1000, 0};
		struct inspection *bin = start(RULE_DIR_INBOUND, NULL, NULL);
		feed(bin, SCOPE_BODY, 0, big, big_len, sizes);
		const struct rule_hit *bh;
		size_t bn = inspection_hits(bin, &bh);
		CHECK_EQ_U(bn, 1);
		if (bn == 1) {
			CHECK_EQ_U(bh[0].count, 1);
			CHECK_EQ_U(bh[0].offset, big_len);
			CHECK_EQ_U(strlen(bh[0].excerpt), INSPECT_EXCERPT_MAX - 1);
			CHECK(strcmp(bh[0].excerpt + INSPECT_EXCERPT_MAX - 4, "end") == 0);
		}
		inspection_free(bin);
		free(big);
	}
	const struct rule_hit *h;
	struct inspection *in;
	size_t n = field_hits(RULE_DIR_INBOUND, SCOPE_SUBJECT, NULL, "xa\x01" "b", &h, &in);
	CHECK_EQ_U(n, 1);
	if (n == 1)
		CHECK_STR(h[0].excerpt, "a?b");
	inspection_free(in);
	n = field_hits(RULE_DIR_INBOUND, SCOPE_SUBJECT, NULL, "a\xff" "b", &h, &in);
	CHECK_EQ_U(n, 1);
	if (n == 1)
		CHECK_STR(h[0].excerpt, "a?b");
	inspection_free(in);
	n = field_hits(RULE_DIR_INBOUND, SCOPE_SUBJECT, NULL, "a\nb", &h, &in);
	if (n == 1)
		CHECK_STR(h[0].excerpt, "a b");
	inspection_free(in);
}

static void test_scratch_update(void)
{
	use_rules("rules = ( { id = \"a\"; scope = \"subject\"; keyword = \"x\"; } );");
	if (!rs)
		return;
	struct rule_errors e;
	rule_errors_init(&e, 4);
	static const char more[] =
		"rules = ( { id = \"b\"; scope = [\"body\", \"subject\", \"header:h\"]; regex = \"[a-z]+[0-9]{3,}q\"; } );";
	struct ruleset *rs2 = ruleset_load_mem("t2", more, strlen(more), &e);
	CHECK(rs2 != NULL);
	CHECK_EQ_U(inspect_scratch_update(scr, rs2), 0);
	struct inspection *in = inspection_new(rs2, scr, RULE_DIR_INBOUND, NULL, NULL, NULL);
	inspection_field(in, SCOPE_HEADER, "H", (const uint8_t *)"abc1234q", 8);
	const struct rule_hit *h;
	CHECK_EQ_U(inspection_hits(in, &h), 1);
	CHECK_EQ_U(inspection_stats(in)->scan_errors, 0);
	CHECK(inspection_stats(in)->bytes_scanned == 8);
	inspection_free(in);
	ruleset_free(rs2);
	rule_errors_free(&e);
}

int main(void)
{
	RUN(test_keyword_every_split);
	RUN(test_chunking_independent);
	RUN(test_nocase_regex_header);
	RUN(test_threshold_direction);
	RUN(test_detectors);
	RUN(test_tables_grow);
	RUN(test_urls);
	RUN(test_excerpts);
	RUN(test_scratch_update);
	ruleset_free(rs);
	inspect_scratch_free(scr);
	return tl_finish();
}
