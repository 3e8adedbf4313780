/* Host names as policy compares them; the contract is in hostname.h.
 *
 * A name that is already ASCII is checked here rather than handed to libidn2:
 * IDNA2008 rejects "--" in the third and fourth position of any label, and
 * real ASCII host names have that ("r3---sn-abc.googlevideo.com"); refusing
 * them would make such hosts unmatchable by policy.  Only its "xn--" labels go
 * through libidn2, to reject broken punycode and A-labels that are not the
 * canonical form of their U-label.  A name with non-ASCII bytes is converted
 * with UTS #46 non-transitional mapping (which also folds case, full-width
 * forms and ideographic full stops), then the result is checked like an
 * ASCII name.
 *
 * '_' is rejected: it is not a host name character (RFC 952/1123), a Host
 * header or SNI carrying one is odd, and a policy domain with one is a typo.
 * Homographs are not folded: "gmaіl.com" with a Cyrillic і is its own name
 * (xn--gmal-n9d.com) and never equals "gmail.com". */
#include "common/hostname.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HOST_MAX_NAME 253
#define HOST_MAX_LABEL 63
/* Input longer than this is refused before any work: a Unicode name whose
 * A-label form fits in 253 bytes is at most a few times longer. */
#define HOST_MAX_INPUT 1024

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static bool is_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

/* Lower-case LDH labels of 1 to 63, no leading or trailing hyphen, at most
 * 253 in all. */
static bool valid_ldh_name(const char *s, size_t n)
{
	if (n == 0 || n > HOST_MAX_NAME)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_ldh(s[i]) || ++label > HOST_MAX_LABEL)
			return false;
	}
	return true;
}

/* An ASCII label "xn--..." is valid punycode whose decoding passes IDNA2008
 * and whose canonical A-label is the label itself. */
static bool valid_alabel(const char *label, size_t n)
{
	char buf[HOST_MAX_LABEL + 1];
	if (n > HOST_MAX_LABEL)
		return false;
	memcpy(buf, label, n);
	buf[n] = '\0';
	uint8_t *out = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)buf, &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	bool ok = rc == IDN2_OK && out && strcmp((const char *)out, buf) == 0;
	idn2_free(out);
	return ok;
}

/* The host part of s[0..n): "[v6]" and "[v6]:port" give v6; "name:port" gives
 * name; more than one ':' without brackets is an IPv6 literal as is.  false
 * on a bad port or bracket. */
static bool split_host(const char *s, size_t n, const char **h, size_t *hn, bool *bracketed)
{
	*bracketed = false;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return false;
		size_t rest = n - (size_t)(close + 1 - s);
		const char *after = close + 1;
		if (rest > 0 && (after[0] != ':' || rest - 1 > 5 ||
				 strspn(after + 1, "0123456789") < rest - 1))
			return false;
		*h = s + 1;
		*hn = (size_t)(close - s - 1);
		*bracketed = true;
		return true;
	}
	const char *colon = memchr(s, ':', n);
	if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
		*h = s; /* bare IPv6 literal */
		*hn = n;
		return true;
	}
	if (colon) {
		/* An empty port ("example.com:") is allowed by RFC 3986. */
		size_t plen = n - (size_t)(colon + 1 - s);
		if (plen > 5 || strspn(colon + 1, "0123456789") < plen)
			return false;
		n = (size_t)(colon - s);
	}
	*h = s;
	*hn = n;
	return true;
}

static int emit(const char *s, size_t n, char *out, size_t cap)
{
	if (n + 1 > cap) {
		if (cap)
			out[0] = '\0';
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = lower(s[i]);
	out[n] = '\0';
	return (int)n;
}

int host_normalize(const char *host, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	if (!host)
		return -1;
	size_t n = strnlen(host, HOST_MAX_INPUT + 1);
	if (n == 0 || n > HOST_MAX_INPUT)
		return -1;

	const char *h;
	size_t hn;
	bool bracketed;
	if (!split_host(host, n, &h, &hn, &bracketed) || hn == 0)
		return -1;

	/* Address literals; a bracket holds only IPv6 (RFC 3986). */
	char tmp[HOST_MAX_INPUT + 1];
	memcpy(tmp, h, hn);
	tmp[hn] = '\0';
	unsigned char addr[16];
	if (inet_pton(AF_INET6, tmp, addr) == 1)
		return emit(tmp, hn, out, cap);
	if (bracketed)
		return -1;
	if (inet_pton(AF_INET, tmp, addr) == 1)
		return emit(tmp, hn, out, cap);

	bool had_dot = tmp[hn - 1] == '.';
	if (had_dot)
		tmp[--hn] = '\0'; /* one trailing dot: the root */
	if (hn == 0)
		return -1;

	bool ascii = true;
	for (size_t i = 0; i < hn; i++) {
		ascii = ascii && (unsigned char)tmp[i] < 0x80;
		tmp[i] = lower(tmp[i]);
	}

	if (ascii) {
		if (!valid_ldh_name(tmp, hn))
			return -1;
		for (size_t i = 0; i < hn;) {
			size_t len = strcspn(tmp + i, ".");
			if (len >= 4 && memcmp(tmp + i, "xn--", 4) == 0 && !valid_alabel(tmp + i, len))
				return -1;
			i += len + 1;
		}
		return emit(tmp, hn, out, cap);
	}

	uint8_t *alabels = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)tmp, &alabels, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK || !alabels) {
		idn2_free(alabels);
		return -1;
	}
	/* The mapping may turn an ideographic full stop into the trailing dot. */
	size_t an = strlen((const char *)alabels);
	if (!had_dot && an > 0 && alabels[an - 1] == '.')
		an--;
	int ret = -1;
	if (valid_ldh_name((const char *)alabels, an))
		ret = emit((const char *)alabels, an, out, cap);
	idn2_free(alabels);
	return ret;
}

int host_in_domain(const char *name, const char *domain)
{
	if (!name || !domain || !domain[0])
		return 0;
	size_t n = strlen(name), d = strlen(domain);
	if (n == d)
		return memcmp(name, domain, n) == 0;
	return n > d && name[n - d - 1] == '.' && memcmp(name + n - d, domain, d) == 0;
}
