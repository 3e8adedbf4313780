/* Header section scanner: folding, any split point, caps, LF-only lines. */
#include <stdlib.h>

#include "smtp_parser/smtp.h"
#include "smtp_parser/smtp_header_scan.h"
#include "tests/unit/testlib.h"

static const char hdr[] =
	"Received: from x\r\n\tby y\r\n"
	"Subject: =?UTF-8?Q?caf=C3=A9?= is\r\n   folded \r\n\there\r\n"
	"FROM :  Alice <a@example.com>\r\n"
	"To: b@example.org,\r\n c@example.org\r\n"
	"Cc:\r\n"
	"Message-ID: <id@host>\r\n"
	"Subject: second subject ignored\r\n"
	"\r\n"
	"To: body line, not a header\r\n";

static void check_fields(const struct smtp_header_scan *h)
{
	CHECK_STR(smtp_header_scan_field(h, SMTP_HF_SUBJECT),
		  "=?UTF-8?Q?caf=C3=A9?= is   folded \there");
	CHECK_STR(smtp_header_scan_field(h, SMTP_HF_FROM), "Alice <a@example.com>");
	CHECK_STR(smtp_header_scan_field(h, SMTP_HF_TO), "b@example.org, c@example.org");
	CHECK_STR(smtp_header_scan_field(h, SMTP_HF_CC), "");
	CHECK_STR(smtp_header_scan_field(h, SMTP_HF_MESSAGE_ID), "<id@host>");
	CHECK(h->found_end);
	CHECK_EQ_U(h->anomalies, 0);
}

static void test_whole(void)
{
	struct smtp_header_scan h;
	smtp_header_scan_init(&h, 256, 4096);
	long used = smtp_header_scan_push(&h, (const uint8_t *)hdr, sizeof(hdr) - 1);
	CHECK(smtp_header_scan_done(&h));
	/* stops right after the empty line */
	CHECK_EQ_U((size_t)used, strstr(hdr, "\r\n\r\n") - hdr + 4);
	check_fields(&h);
	smtp_header_scan_free(&h);
}

/* every split point, and byte by byte */
static void test_splits(void)
{
	size_t n = sizeof(hdr) - 1;
	for (size_t cut = 0; cut <= n; cut++) {
		struct smtp_header_scan h;
		smtp_header_scan_init(&h, 256, 4096);
		smtp_header_scan_push(&h, (const uint8_t *)hdr, cut);
		smtp_header_scan_push(&h, (const uint8_t *)hdr + cut, n - cut);
		check_fields(&h);
		smtp_header_scan_free(&h);
	}
	struct smtp_header_scan h;
	smtp_header_scan_init(&h, 256, 4096);
	for (size_t i = 0; i < n; i++)
		smtp_header_scan_push(&h, (const uint8_t *)hdr + i, 1);
	check_fields(&h);
	/* reset keeps the buffer and forgets the fields */
	smtp_header_scan_reset(&h);
	CHECK(smtp_header_scan_field(&h, SMTP_HF_SUBJECT) == NULL);
	CHECK(!smtp_header_scan_done(&h));
	smtp_header_scan_free(&h);
}

static void test_caps(void)
{
	struct smtp_header_scan h;
	smtp_header_scan_init(&h, 8, 4096);
	const char *in = "Subject: 0123456789abcdef\r\nTo: x\r\n\r\n";
	smtp_header_scan_push(&h, (const uint8_t *)in, strlen(in));
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_SUBJECT), "01234567");
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_TO), "x");
	CHECK(h.anomalies & SMTP_ANOM_FIELD_TRUNCATED);
	CHECK_EQ_U(h.truncated, 1);
	CHECK_EQ_U(smtp_header_scan_memory(&h), 5 * 9);
	smtp_header_scan_free(&h);

	/* header section longer than the scan cap */
	smtp_header_scan_init(&h, 64, 20);
	in = "Subject: abc\r\nFrom: a-very-long-sender@example.com\r\n\r\n";
	long used = smtp_header_scan_push(&h, (const uint8_t *)in, strlen(in));
	CHECK_EQ_U(used, 20);
	CHECK(smtp_header_scan_done(&h));
	CHECK(!h.found_end);
	CHECK(h.anomalies & SMTP_ANOM_HEADER_CAP);
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_SUBJECT), "abc");
	/* the cap fell right after "From: ": an empty, completed value */
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_FROM), "");
	smtp_header_scan_free(&h);
}

static void test_missing_end_and_lf(void)
{
	struct smtp_header_scan h;
	smtp_header_scan_init(&h, 64, 4096);
	const char *in = "subject: lf only\n continued\nto: y\n";
	smtp_header_scan_push(&h, (const uint8_t *)in, strlen(in));
	CHECK(!smtp_header_scan_done(&h));
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_SUBJECT), "lf only continued");
	CHECK(smtp_header_scan_field(&h, SMTP_HF_TO) == NULL); /* not complete yet */
	smtp_header_scan_finish(&h);
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_TO), "y");
	CHECK(!h.found_end);
	smtp_header_scan_free(&h);

	smtp_header_scan_init(&h, 64, 4096);
	in = "no colon here\nCc: z\n\nSubject: body\n";
	smtp_header_scan_push(&h, (const uint8_t *)in, strlen(in));
	CHECK(h.found_end);
	CHECK_STR(smtp_header_scan_field(&h, SMTP_HF_CC), "z");
	CHECK(smtp_header_scan_field(&h, SMTP_HF_SUBJECT) == NULL);
	CHECK(smtp_header_scan_field(&h, SMTP_HF_COUNT) == NULL);
	smtp_header_scan_free(&h);

	/* a name longer than any wanted one never matches */
	smtp_header_scan_init(&h, 64, 4096);
	in = "X-Very-Long-Header-Name-Subject: no\r\nSubjectx: no\r\n\r\n";
	smtp_header_scan_push(&h, (const uint8_t *)in, strlen(in));
	CHECK(smtp_header_scan_field(&h, SMTP_HF_SUBJECT) == NULL);
	smtp_header_scan_free(&h);
}

int main(void)
{
	RUN(test_whole);
	RUN(test_splits);
	RUN(test_caps);
	RUN(test_missing_end_and_lf);
	return tl_finish();
}
