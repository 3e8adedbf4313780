#include "postern/event_json.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when invalid
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

json_t *event_json_textn(const char *s, size_t len)
{
	if (!s)
		return json_null();
	const unsigned char *u = (const unsigned char *)s;
	bool valid = true;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(u + i, len - i);
		if (!n) {
			valid = false;
			break;
		}
		i += n;
	}
	if (valid)
		return json_stringn(s, len);

	/* Worst case every byte becomes the 3-byte U+FFFD. */
	char *buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(u + i, len - i);
		if (n) {
			memcpy(buf + o, u + i, n);
			o += n;
			i += n;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	json_t *j = json_stringn(buf, o);
	free(buf);
	return j;
}

json_t *event_json_text(const char *s)
{
	return s ? event_json_textn(s, strlen(s)) : json_null();
}

json_t *event_json_time(uint64_t ts_us)
{
	time_t sec = (time_t)(ts_us / 1000000u);
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&sec, &tm))
		return json_null();
	size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof buf - n, ".%06uZ", (unsigned)(ts_us % 1000000u));
	return json_string(buf);
}

json_t *event_json_addr(const struct ip_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	int af = a->family == 6 ? AF_INET6 : AF_INET;
	if (!inet_ntop(af, a->addr, buf, sizeof buf))
		return json_null();
	return json_string(buf);
}

void event_json_addr_text(const struct ip_addr *a, char *buf, size_t cap)
{
	int af = a->family == 6 ? AF_INET6 : AF_INET;
	if (!inet_ntop(af, a->addr, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
}

json_t *event_json_flags(uint32_t mask, const char *(*name_of)(uint32_t bit))
{
	json_t *arr = json_array();
	for (unsigned i = 0; i < 32 && arr; i++) {
		uint32_t bit = 1u << i;
		if (!(mask & bit))
			continue;
		const char *name = name_of(bit);
		json_array_append_new(arr, json_string(name ? name : "unknown"));
	}
	return arr;
}

void event_json_set(json_t *obj, const char *key, json_t *value)
{
	if (value)
		json_object_set_new(obj, key, value);
}
