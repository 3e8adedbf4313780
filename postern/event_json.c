#include "postern/event_json.h"

#include "common/utf8.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *event_json_textn(const char *s, size_t len)
{
	if (!s)
		return json_null();
	const uint8_t *u = (const uint8_t *)s;
	if (utf8_valid(u, len))
		return json_stringn(s, len);
	/* Invalid bytes become U+FFFD: worst case 3 bytes each. */
	char *buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	size_t o = utf8_sanitize(u, len, buf, len * 3 + 1, NULL);
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
