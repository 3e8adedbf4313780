/* Helpers shared by the fuzz targets that compare two runs by a digest of
 * their callbacks: an FNV-1a hash fed field by field. */
#ifndef POSTERN_FUZZ_UTIL_H
#define POSTERN_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void fz_fail(void)
{
	abort();
}

static inline void fz_mix(uint64_t *h, const void *d, size_t n)
{
	const uint8_t *p = d;
	for (size_t i = 0; i < n; i++)
		*h = (*h ^ p[i]) * 0x100000001b3ULL;
}

/* The NUL goes in too, so "ab" + "c" and "a" + "bc" differ. */
static inline void fz_mix_str(uint64_t *h, const char *s)
{
	if (!s)
		fz_fail();
	fz_mix(h, s, strlen(s) + 1);
}

#endif
