#include "common/utf8.h"

#include <string.h>

static const char replacement_char[3] = {'\xEF', '\xBF', '\xBD'};

size_t utf8_seq_len(const uint8_t *p, size_t n, bool *incomplete)
{
	uint8_t c = p[0];
	if (incomplete)
		*incomplete = false;
	if (c < 0x80)
		return 1;
	size_t len;
	/* The second byte's range rules out overlongs, surrogates and > U+10FFFF. */
	uint8_t lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if (i >= n) {
			if (incomplete)
				*incomplete = true;
			return 0;
		}
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF))
			return 0;
	}
	return len;
}

bool utf8_valid(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq_len(s + i, n - i, NULL);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

size_t utf8_sanitize(const uint8_t *in, size_t len, char *out, size_t cap, uint64_t *repl)
{
	size_t o = 0, i = 0;
	while (i < len) {
		size_t n = utf8_seq_len(in + i, len - i, NULL);
		if (n == 0) {
			if (repl)
				(*repl)++;
			if (cap - o < 3)
				break;
			memcpy(out + o, replacement_char, 3);
			o += 3;
			i++;
			continue;
		}
		if (cap - o < n)
			break;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
	}
	return o;
}
