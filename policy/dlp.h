/* DLP validators: confirm the candidates Hyperscan finds.  Pure functions
 * over bytes; no allocation. */
#ifndef POSTERN_POLICY_DLP_H
#define POSTERN_POLICY_DLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Korean resident registration number "YYMMDD-GNNNNNC" (hyphen optional):
 * valid date, gender/century digit 1-8, and the weighted mod-11 check digit.
 * On success writes the 13 digits to digits13 (may be NULL). */
bool dlp_kr_rrn_valid(const char *s, size_t len, char digits13[13]);

/* Payment card number: 13-19 digits, spaces or hyphens allowed between
 * groups, Luhn checksum, and a known issuer prefix (Visa, Mastercard, Amex,
 * Discover, JCB, UnionPay, Diners).  On success writes the digits (NUL-ended)
 * to digits (>= 20 bytes, may be NULL). */
bool dlp_card_valid(const char *s, size_t len, char *digits);
bool dlp_luhn(const char *digits, size_t n);

/* E-mail address: local@domain with a dotted domain and a 2+ letter TLD.
 * Writes the lower-cased address (NUL-ended, at most cap-1 bytes) to out. */
bool dlp_email_valid(const char *s, size_t len, char *out, size_t cap);

/* Mask a detected value for excerpts and logs: keeps the first 6 and last
 * 1 characters of digits ("900101-1******") -- never the whole number. */
void dlp_mask(const char *digits, size_t n, char *out, size_t cap);

#endif
