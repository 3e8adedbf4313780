/* Helpers for tests that build packets byte by byte: big-endian stores and a
 * plain RFC 1071 checksum to check the decoder's optimised one against. */
#ifndef POSTERN_TESTS_WIRE_UTIL_H
#define POSTERN_TESTS_WIRE_UTIL_H

#include <stddef.h>
#include <stdint.h>

static inline void w16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void w32(uint8_t *p, uint32_t v)
{
	w16(p, v >> 16);
	w16(p + 2, v & 0xffff);
}

/* Sum of big-endian 16-bit words (odd tail padded with zero). */
static inline uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static inline uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#endif
