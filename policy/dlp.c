/* DLP validators; the contract is in dlp.h.
 *
 * Korean RRN: the weighted mod-11 check digit is required.  RRNs issued since
 * October 2020 end in random digits and fail the check; requiring it keeps
 * false positives on arbitrary 13-digit numbers low, at the cost of missing
 * those newer numbers (docs/rules.md says so). */
#include "policy/dlp.h"

#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool dlp_kr_rrn_valid(const char *s, size_t len, char digits13[13])
{
	char d[13];
	size_t n = 0;
	if (len != 13 && len != 14)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (len == 14 && i == 6) {
			if (s[i] != '-')
				return false;
			continue;
		}
		if (!is_digit(s[i]))
			return false;
		d[n++] = s[i];
	}
	unsigned g = (unsigned)(d[6] - '0');
	if (g < 1 || g > 8)
		return false;
	/* 1,2 / 5,6: born 1900-1999; 3,4 / 7,8: born 2000-2099 (5-8 foreigners). */
	unsigned century = (g == 1 || g == 2 || g == 5 || g == 6) ? 1900 : 2000;
	unsigned year = century + (unsigned)(d[0] - '0') * 10 + (unsigned)(d[1] - '0');
	unsigned month = (unsigned)(d[2] - '0') * 10 + (unsigned)(d[3] - '0');
	unsigned day = (unsigned)(d[4] - '0') * 10 + (unsigned)(d[5] - '0');
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (month < 1 || month > 12 || day < 1)
		return false;
	unsigned maxday = mdays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
	if (day > maxday)
		return false;
	static const unsigned w[12] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
	unsigned sum = 0;
	for (size_t i = 0; i < 12; i++)
		sum += (unsigned)(d[i] - '0') * w[i];
	if ((11 - sum % 11) % 10 != (unsigned)(d[12] - '0'))
		return false;
	if (digits13)
		memcpy(digits13, d, 13);
	return true;
}

bool dlp_luhn(const char *digits, size_t n)
{
	if (n == 0)
		return false;
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++) {
		char c = digits[n - 1 - i];
		if (!is_digit(c))
			return false;
		unsigned v = (unsigned)(c - '0');
		if (i & 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

static unsigned prefix_num(const char *d, size_t k)
{
	unsigned v = 0;
	for (size_t i = 0; i < k; i++)
		v = v * 10 + (unsigned)(d[i] - '0');
	return v;
}

/* Issuer ranges (first digits and lengths) of the networks dlp.h names. */
static bool card_issuer_known(const char *d, size_t n)
{
	unsigned p1 = prefix_num(d, 1), p2 = prefix_num(d, 2), p3 = prefix_num(d, 3);
	unsigned p4 = prefix_num(d, 4), p6 = prefix_num(d, 6);
	if (p1 == 4) /* Visa */
		return n == 13 || n == 16 || n == 19;
	if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) /* Mastercard */
		return n == 16;
	if (p2 == 34 || p2 == 37) /* Amex */
		return n == 15;
	if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 ||
	    (p6 >= 622126 && p6 <= 622925)) /* Discover */
		return n >= 16 && n <= 19;
	if (p2 == 62) /* UnionPay */
		return n >= 16 && n <= 19;
	if (p4 >= 3528 && p4 <= 3589) /* JCB */
		return n >= 16 && n <= 19;
	if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) /* Diners */
		return n >= 14 && n <= 19;
	return false;
}

bool dlp_card_valid(const char *s, size_t len, char *digits)
{
	char d[20];
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (is_digit(s[i])) {
			if (n == 19)
				return false;
			d[n++] = s[i];
		} else if (s[i] == ' ' || s[i] == '-') {
			/* only between digits, one at a time */
			if (i == 0 || i + 1 == len || !is_digit(s[i - 1]) || !is_digit(s[i + 1]))
				return false;
		} else {
			return false;
		}
	}
	if (n < 13 || !card_issuer_known(d, n) || !dlp_luhn(d, n))
		return false;
	if (digits) {
		memcpy(digits, d, n);
		digits[n] = '\0';
	}
	return true;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_local_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
	       c == '-';
}

bool dlp_email_valid(const char *s, size_t len, char *out, size_t cap)
{
	const char *at = memchr(s, '@', len);
	if (!at)
		return false;
	size_t llen = (size_t)(at - s), dlen = len - llen - 1;
	const char *dom = at + 1;
	if (llen < 1 || llen > 64 || dlen < 4 || dlen > 253)
		return false;
	if (s[0] == '.' || s[llen - 1] == '.')
		return false;
	for (size_t i = 0; i < llen; i++)
		if (!is_local_char(s[i]) || (s[i] == '.' && i && s[i - 1] == '.'))
			return false;
	size_t labels = 0, lab = 0, last_start = 0;
	for (size_t i = 0; i <= dlen; i++) {
		if (i == dlen || dom[i] == '.') {
			if (lab == 0 || lab > 63 || dom[i - 1] == '-' || dom[i - lab] == '-')
				return false;
			labels++;
			last_start = i - lab;
			lab = 0;
			continue;
		}
		if (!is_alpha(dom[i]) && !is_digit(dom[i]) && dom[i] != '-')
			return false;
		lab++;
	}
	if (labels < 2 || dlen - last_start < 2)
		return false;
	for (size_t i = last_start; i < dlen; i++)
		if (!is_alpha(dom[i]))
			return false;
	if (!out || cap < len + 1)
		return out == NULL;
	for (size_t i = 0; i < len; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[len] = '\0';
	return true;
}

void dlp_mask(const char *digits, size_t n, char *out, size_t cap)
{
	if (cap == 0)
		return;
	size_t o = 0;
	bool rrn = n == 13;
	for (size_t i = 0; i < 13 && rrn; i++)
		rrn = is_digit(digits[i]);
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		/* short values are masked whole: 6 + 1 kept would give them away */
		bool keep = n >= 10 && (i < 6 || i + 1 == n);
		if (rrn && i == 6) {
			out[o++] = '-';
			if (o + 1 >= cap)
				break;
		}
		out[o++] = keep ? digits[i] : '*';
	}
	out[o] = '\0';
}
