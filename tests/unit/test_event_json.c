/* Event building: strings from the wire must always give valid JSON, and
 * times/addresses must be formatted exactly. */
#include <jansson.h>
#include <stdlib.h>

#include "postern/event_json.h"
#include "tests/unit/testlib.h"

/* The JSON text of one value, with jansson's escaping. */
static char *dump(json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(v);
	return s;
}

static void check_text(const char *in, size_t len, const char *want_json)
{
	char *got = dump(event_json_textn(in, len));
	CHECK_STR(got, want_json);
	free(got);
}

static void test_text_valid_utf8_kept(void)
{
	check_text("plain", 5, "\"plain\"");
	check_text("\xed\x95\x9c\xea\xb8\x80", 6, "\"\xed\x95\x9c\xea\xb8\x80\""); /* Korean */
	check_text("\xf0\x9f\x93\xa7", 4, "\"\xf0\x9f\x93\xa7\"");                 /* 4-byte */
	check_text("a\"b\\c\n", 6, "\"a\\\"b\\\\c\\n\"");
	check_text("nul\0x", 5, "\"nul\\u0000x\"");
}

static void test_text_invalid_replaced(void)
{
	/* lone continuation, truncated sequence, overlong '/', surrogate, > U+10FFFF, 0xff */
	check_text("a\x80z", 3, "\"a\xef\xbf\xbdz\"");
	check_text("a\xe2\x82", 3, "\"a\xef\xbf\xbd\xef\xbf\xbd\"");
	check_text("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	check_text("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_text("\xf4\x90\x80\x80", 4,
		   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	check_text("Subject: \x92s", 11, "\"Subject: \xef\xbf\xbds\"");
	/* every byte value alone gives valid JSON */
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		json_t *v = event_json_textn(&c, 1);
		CHECK(v != NULL && json_is_string(v));
		json_decref(v);
	}
}

static void test_text_null(void)
{
	char *got = dump(event_json_text(NULL));
	CHECK_STR(got, "null");
	free(got);
}

static void test_time(void)
{
	char *got = dump(event_json_time(1254722768123456ULL));
	CHECK_STR(got, "\"2009-10-05T06:06:08.123456Z\"");
	free(got);
	got = dump(event_json_time(0));
	CHECK_STR(got, "\"1970-01-01T00:00:00.000000Z\"");
	free(got);
}

static void test_addr(void)
{
	struct ip_addr a = {.family = 4, .addr = {192, 0, 2, 1}};
	char *got = dump(event_json_addr(&a));
	CHECK_STR(got, "\"192.0.2.1\"");
	free(got);
	struct ip_addr b = {.family = 6, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
	got = dump(event_json_addr(&b));
	CHECK_STR(got, "\"2001:db8::1\"");
	free(got);
}

static const char *bit_name(uint32_t bit)
{
	return bit == 1 ? "one" : bit == 4 ? "four" : NULL;
}

static void test_flags(void)
{
	char *got = dump(event_json_flags(1 | 4 | 8, bit_name));
	CHECK_STR(got, "[\"one\",\"four\",\"unknown\"]");
	free(got);
	got = dump(event_json_flags(0, bit_name));
	CHECK_STR(got, "[]");
	free(got);
}

int main(void)
{
	RUN(test_text_valid_utf8_kept);
	RUN(test_text_invalid_replaced);
	RUN(test_text_null);
	RUN(test_time);
	RUN(test_addr);
	RUN(test_flags);
	return tl_finish();
}
