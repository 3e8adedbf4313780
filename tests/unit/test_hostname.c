/* Host names: normalisation to lower-case A-labels (ASCII, case, trailing
 * dot, port, IPv6 brackets, Unicode to punycode, invalid names, the output
 * cap, homographs) and the label-boundary domain test. */
#include <stdbool.h>
#include <stdlib.h>

#include "common/hostname.h"
#include "tests/unit/testlib.h"

/* host normalises to want (NULL: is rejected). */
#define NORM(host, want) check_norm(__LINE__, host, want)
static void check_norm(int at, const char *host, const char *want)
{
	char out[300];
	memset(out, 'x', sizeof out);
	int n = host_normalize(host, out, sizeof out);
	bool ok = want ? n >= 0 && (size_t)n == strlen(want) && strcmp(out, want) == 0
		       : n == -1 && out[0] == '\0';
	if (ok) {
		tl_passed++;
	} else {
		tl_failed++;
		fprintf(stderr, "%s:%d: host_normalize(\"%s\") = %d \"%.*s\", want %s\n", __FILE__, at,
			host, n, n >= 0 ? n : 0, out, want ? want : "-1");
	}
}

static void test_ascii(void)
{
	NORM("mail.example.com", "mail.example.com");
	NORM("Mail.Example.COM", "mail.example.com");
	NORM("mail.example.com.", "mail.example.com");
	NORM("MAIL.EXAMPLE.COM.:8443", "mail.example.com");
	NORM("mail.example.com:80", "mail.example.com");
	NORM("mail.example.com:", "mail.example.com"); /* empty port: RFC 3986 */
	NORM("localhost", "localhost");
	NORM("a-b.c0.example", "a-b.c0.example");
	/* "--" in places 3 and 4 is fine in an ASCII (non-IDNA) label. */
	NORM("r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com");
	NORM("mail.example.com..", NULL);
	NORM(".", NULL);
	NORM("", NULL);
	NORM(NULL, NULL);
}

static void test_literals(void)
{
	NORM("192.0.2.1", "192.0.2.1");
	NORM("192.0.2.1:8080", "192.0.2.1");
	NORM("[2001:db8::1]", "2001:db8::1");
	NORM("[2001:DB8::1]:8080", "2001:db8::1");
	NORM("2001:db8::1", "2001:db8::1");
	NORM("::ffff:192.0.2.1", "::ffff:192.0.2.1");
	NORM("[192.0.2.1]", NULL);        /* brackets hold IPv6 only */
	NORM("[2001:db8::1", NULL);       /* unclosed */
	NORM("[2001:db8::1]x", NULL);
	NORM("[2001:db8::1]:80x", NULL);
	NORM("[]", NULL);
	NORM("[mail.example.com]", NULL);
	NORM("2001:db8::zz", NULL);
	NORM("fe80::1%eth0", NULL);
}

static void test_unicode(void)
{
	NORM("bücher.example", "xn--bcher-kva.example");
	NORM("BÜCHER.example.", "xn--bcher-kva.example");
	NORM("bücher.example:443", "xn--bcher-kva.example");
	NORM("mail.例え.jp", "mail.xn--r8jz45g.jp");
	NORM("메일.한국", "xn--h32bq4v.xn--3e0b707e");       /* Korean */
	NORM("メール.日本", "xn--4dkua4c.xn--wgv71a");       /* Japanese */
	NORM("メール。日本", "xn--4dkua4c.xn--wgv71a");      /* ideographic full stop */
	NORM("ＭＡＩＬ.example", "mail.example");            /* full-width ASCII */
	/* Punycode in stays the same (any case). */
	NORM("xn--bcher-kva.example", "xn--bcher-kva.example");
	NORM("XN--BCHER-KVA.Example", "xn--bcher-kva.example");
	NORM("mail.xn--r8jz45g.jp", "mail.xn--r8jz45g.jp");
}

static void test_invalid(void)
{
	NORM("mail example.com", NULL);
	NORM("mail\texample.com", NULL);
	NORM("mail..example.com", NULL);
	NORM(".example.com", NULL);
	NORM("-mail.example.com", NULL);
	NORM("mail-.example.com", NULL);
	NORM("mail_box.example.com", NULL); /* '_' is rejected (hostname.c) */
	NORM("mail/x.example.com", NULL);
	NORM("mail.example.com:http", NULL);
	NORM("mail.example.com:123456", NULL);
	NORM("a:b:c", NULL);
	NORM("xn--zz.example", NULL);       /* bad punycode */
	NORM("xn--.example", NULL);
	NORM("xn--a.example", NULL);        /* decodes to a non-IDNA label */
	NORM("bücher .example", NULL);
	NORM("b\xc3\x28.example", NULL);    /* broken UTF-8 */

	char label[80], name[300];
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(name, sizeof name, "%s.example", label);
	NORM(name, NULL); /* 64-byte label */
	label[63] = '\0';
	snprintf(name, sizeof name, "%s.example", label);
	NORM(name, name); /* 63 is fine */

	/* 253 bytes is the longest name: 63+1+63+1+63+1+61. */
	char long_name[300];
	snprintf(long_name, sizeof long_name, "%s.%s.%s.", label, label, label);
	size_t used = strlen(long_name);
	memset(long_name + used, 'b', 61);
	long_name[used + 61] = '\0';
	CHECK_EQ_U(strlen(long_name), 253);
	NORM(long_name, long_name);
	long_name[used + 61] = 'b';
	long_name[used + 62] = '\0';
	NORM(long_name, NULL);

	/* Very long input is refused outright. */
	char *huge = malloc(5000);
	memset(huge, 'a', 4999);
	huge[4999] = '\0';
	NORM(huge, NULL);
	free(huge);
}

static void test_cap(void)
{
	char out[17];
	memset(out, 'x', sizeof out);
	CHECK_EQ_U(host_normalize("mail.example.com", out, 17), 16);
	CHECK_STR(out, "mail.example.com");
	memset(out, 'x', sizeof out);
	CHECK(host_normalize("mail.example.com", out, 16) == -1);
	CHECK_STR(out, "");
	CHECK(host_normalize("mail.example.com", out, 0) == -1);
	memset(out, 'x', sizeof out);
	CHECK(host_normalize("bücher.example", out, sizeof out) == -1); /* 21 bytes as A-labels */
	CHECK_STR(out, "");
}

static void test_homographs(void)
{
	char out[256];
	/* Cyrillic і (U+0456) and Greek ο (U+03BF) look like i and o. */
	CHECK(host_normalize("gma\xd1\x96l.com", out, sizeof out) > 0);
	CHECK(strcmp(out, "gmail.com") != 0);
	CHECK(strncmp(out, "xn--", 4) == 0);
	CHECK(!host_in_domain(out, "gmail.com"));
	CHECK(host_normalize("g\xce\xbf\xce\xbfgle.com", out, sizeof out) > 0);
	CHECK(strcmp(out, "google.com") != 0);
	/* Full-width letters are the same letters (UTS #46 maps them). */
	CHECK(host_normalize("\xef\xbd\x87mail.com", out, sizeof out) > 0);
	CHECK_STR(out, "gmail.com");
}

static void test_in_domain(void)
{
	CHECK(host_in_domain("gmail.com", "gmail.com"));
	CHECK(host_in_domain("a.gmail.com", "gmail.com"));
	CHECK(host_in_domain("x.y.gmail.com", "gmail.com"));
	CHECK(!host_in_domain("evilgmail.com", "gmail.com"));
	CHECK(!host_in_domain("gmail.com.evil.net", "gmail.com"));
	CHECK(!host_in_domain("gmail.co", "gmail.com"));
	CHECK(!host_in_domain("com", "gmail.com"));
	CHECK(!host_in_domain(".gmail.com", "a.gmail.com"));
	CHECK(host_in_domain("mail.xn--r8jz45g.jp", "xn--r8jz45g.jp"));
	CHECK(!host_in_domain("gmail.com", ""));
	CHECK(!host_in_domain("", "gmail.com"));
}

int main(void)
{
	RUN(test_ascii);
	RUN(test_literals);
	RUN(test_unicode);
	RUN(test_invalid);
	RUN(test_cap);
	RUN(test_homographs);
	RUN(test_in_domain);
	return tl_finish();
}
