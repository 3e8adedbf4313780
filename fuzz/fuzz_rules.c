/* libFuzzer target for rules files: the input is loaded as a rules file; if
 * it compiles, a fixed text and the input itself are inspected as fields and
 * as body/attachment streams (in uneven chunks).  Invariants: a failed load
 * reports at least one error; every hit reached its threshold, has a
 * NUL-terminated excerpt and a scope the rule has.  Inputs with @include are
 * skipped (they would read files). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/inspect.h"

static const char fixed_text[] =
	"Subject: 대외비 社外秘 SECRET falcon-123\r\n"
	"RRN 900101-1234568 card 4111 1111 1111 1111 mail Alice@Example.com\r\n"
	"see http://www.example.com/x and https://u@files.test.org:8080/\r\n";

static void fz_fail(void)
{
	abort();
}

static void on_host(void *ctx, const char *host)
{
	(void)ctx;
	if (!host[0] || strlen(host) > 253)
		fz_fail();
}

static void feed(struct inspection *in, enum rule_scope sc, const uint8_t *d, size_t n)
{
	inspection_stream_begin(in, sc, 1);
	size_t off = 0, k = 1;
	while (off < n) {
		size_t c = k < n - off ? k : n - off;
		inspection_stream_data(in, sc, d + off, c);
		off += c;
		k = k * 3 % 17 + 1;
	}
	inspection_stream_end(in, sc);
}

/* libconfig 1.5's scanner leaks the string it is building when a syntax
 * error interrupts it (strbuf_append, yylex): not ours, and no frame of
 * ours allocates inside libconfig. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192 || memmem(data, size, "@include", 8))
		return 0;
	struct rule_errors errs;
	rule_errors_init(&errs, 32);
	struct ruleset *rs = ruleset_load_mem("fuzz", (const char *)data, size, &errs);
	if (!rs) {
		if (errs.count + errs.dropped == 0)
			fz_fail();
		rule_errors_free(&errs);
		return 0;
	}
	if (errs.count)
		fz_fail();
	rule_errors_free(&errs);
	struct inspect_scratch *scr = inspect_scratch_new(rs);
	if (!scr)
		fz_fail();
	const struct inspect_callbacks cb = {.url_host = on_host};
	struct inspect_limits lim;
	inspect_limits_default(&lim);
	lim.max_distinct = 4;
	lim.max_url_hosts = 4;
	for (int dir = RULE_DIR_INBOUND; dir <= RULE_DIR_OUTBOUND; dir++) {
		struct inspection *in =
			inspection_new(rs, scr, (enum rule_direction)dir, &lim, &cb, NULL);
		if (!in)
			fz_fail();
		const uint8_t *texts[2] = {(const uint8_t *)fixed_text, data};
		size_t lens[2] = {sizeof(fixed_text) - 1, size};
		for (int t = 0; t < 2; t++) {
			for (unsigned sc = 0; sc < SCOPE_COUNT; sc++)
				if (!rule_scope_is_stream((enum rule_scope)sc))
					inspection_field(in, (enum rule_scope)sc,
							 sc == SCOPE_HEADER ? "X-Project" : NULL,
							 texts[t], lens[t]);
			feed(in, SCOPE_BODY, texts[t], lens[t]);
			/* left open: inspection_hits must close it */
			inspection_stream_begin(in, SCOPE_ATTACH_CONTENT, 2);
			inspection_stream_data(in, SCOPE_ATTACH_CONTENT, texts[t], lens[t]);
		}
		const struct rule_hit *h;
		size_t n = inspection_hits(in, &h);
		for (size_t i = 0; i < n; i++) {
			if (h[i].count < h[i].rule->threshold ||
			    !memchr(h[i].excerpt, '\0', sizeof(h[i].excerpt)) ||
			    !(h[i].rule->scopes & (1u << h[i].scope)))
				fz_fail();
			if (i && h[i - 1].rule >= h[i].rule)
				fz_fail();
		}
		if (inspection_stats(in)->scan_errors)
			fz_fail();
		inspection_free(in);
	}
	inspect_scratch_free(scr);
	ruleset_free(rs);
	return 0;
}
