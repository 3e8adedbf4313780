/* DLP validators: RRN date/gender/checksum, card Luhn/issuer/length, e-mail
 * syntax, masking.  RRN check digits below were computed with the weights
 * 2,3,4,5,6,7,8,9,2,3,4,5 and (11 - sum % 11) % 10. */
#include <string.h>

#include "policy/dlp.h"
#include "testlib.h"

static bool rrn(const char *s)
{
	return dlp_kr_rrn_valid(s, strlen(s), NULL);
}

static void test_rrn_valid(void)
{
	char d[13];
	CHECK(dlp_kr_rrn_valid("900101-1234568", 14, d));
	CHECK(memcmp(d, "9001011234568", 13) == 0);
	CHECK(rrn("9001011234568"));
	CHECK(rrn("850315-2345678"));
	CHECK(rrn("991231-7654324"));  /* foreigner, 1900s */
	CHECK(rrn("000101-4123453"));  /* 2000s */
	CHECK(rrn("000229-3123454"));  /* 2000 was a leap year */
	CHECK(rrn("960229-1123456"));
	CHECK(rrn("900101-5234569"));  /* foreigner */
}

static void test_rrn_invalid(void)
{
	CHECK(!rrn("900101-1234567")); /* wrong check digit */
	CHECK(!rrn("900101-1234569"));
	CHECK(!rrn("970229-1123453")); /* checksum fine, 1997 not a leap year */
	CHECK(!rrn("020229-3123459")); /* 2002 not a leap year */
	CHECK(!rrn("901301-1234565")); /* month 13 */
	CHECK(!rrn("900132-1234565")); /* day 32 */
	CHECK(!rrn("900101-9234560")); /* gender digit 9 (1800s) not accepted */
	CHECK(!rrn("900101 1234568")); /* only a hyphen separates */
	CHECK(!rrn("900101--234568"));
	CHECK(!rrn("90010112345681"));
	CHECK(!rrn("900101123456"));
	CHECK(!rrn(""));
}

static bool card(const char *s)
{
	return dlp_card_valid(s, strlen(s), NULL);
}

static void test_card(void)
{
	char d[20];
	CHECK(dlp_card_valid("4111111111111111", 16, d));
	CHECK_STR(d, "4111111111111111");
	CHECK(dlp_card_valid("4111-1111-1111-1111", 19, d));
	CHECK_STR(d, "4111111111111111");
	CHECK(card("5555555555554444"));       /* Mastercard */
	CHECK(card("2223003122003222"));       /* Mastercard 2-series */
	CHECK(card("378282246310005"));        /* Amex */
	CHECK(card("3782 822463 10005"));
	CHECK(card("6011111111111117"));       /* Discover */
	CHECK(card("3530111333300000"));       /* JCB */
	CHECK(card("30569309025904"));         /* Diners 14 digits */
	CHECK(card("6200000000000005"));       /* UnionPay */
	CHECK(card("4222222222222"));          /* Visa 13 digits */
	CHECK(card("4111111111111111110"));    /* Visa 19 digits */

	CHECK(!card("4111111111111112"));      /* Luhn */
	CHECK(!card("5555555555554443"));
	CHECK(!card("378282246310006"));
	CHECK(!card("1234567812345670"));      /* Luhn ok, no issuer starts with 1 */
	CHECK(!card("4111111111111111111"));   /* 19 digits, Luhn fails */
	CHECK(!card("41111111111114"));        /* Luhn ok, but Visa is never 14 digits */
	CHECK(!card("4111  1111 1111 1111"));  /* double separator */
	CHECK(!card("-4111111111111111"));
	CHECK(!card("4111111111111111-"));
	CHECK(!card("4111x111111111111"));
	CHECK(!card("411111111111"));          /* 12 digits */
	CHECK(!card("41111111111111111111"));  /* 20 digits */

	CHECK(dlp_luhn("79927398713", 11));
	CHECK(!dlp_luhn("79927398710", 11));
	CHECK(!dlp_luhn("", 0));
	CHECK(!dlp_luhn("7992a398713", 11));
}

static bool email(const char *s)
{
	char out[64];
	return dlp_email_valid(s, strlen(s), out, sizeof(out));
}

static void test_email(void)
{
	char out[64];
	CHECK(dlp_email_valid("Alice.Smith@Example.CO.KR", 25, out, sizeof(out)));
	CHECK_STR(out, "alice.smith@example.co.kr");
	CHECK(email("a+tag@mail-1.example.com"));
	CHECK(email("x_y%z@a.io"));
	CHECK(!email("a@b"));
	CHECK(!email("a@b.c"));               /* TLD of one letter */
	CHECK(!email("a@b.c0m"));             /* TLD with a digit */
	CHECK(!email("@example.com"));
	CHECK(!email(".a@example.com"));
	CHECK(!email("a.@example.com"));
	CHECK(!email("a..b@example.com"));
	CHECK(!email("a@-example.com"));
	CHECK(!email("a@example-.com"));
	CHECK(!email("a@example..com"));
	CHECK(!email("a b@example.com"));
	CHECK(!email("a@b@example.com"));
	CHECK(!dlp_email_valid("alice@example.com", 17, out, 10)); /* does not fit */
	CHECK(dlp_email_valid("alice@example.com", 17, NULL, 0));
}

static void test_mask(void)
{
	char out[64];
	dlp_mask("9001011234568", 13, out, sizeof(out));
	CHECK_STR(out, "900101-******8");
	dlp_mask("4111111111111111", 16, out, sizeof(out));
	CHECK_STR(out, "411111*********1");
	dlp_mask("12345", 5, out, sizeof(out));
	CHECK_STR(out, "*****");
	dlp_mask("4111111111111111", 16, out, 8);
	CHECK_STR(out, "411111*");
	CHECK(strstr(out, "4111111111111111") == NULL);
}

int main(void)
{
	RUN(test_rrn_valid);
	RUN(test_rrn_invalid);
	RUN(test_card);
	RUN(test_email);
	RUN(test_mask);
	return tl_finish();
}
