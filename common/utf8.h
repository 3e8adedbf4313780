/* UTF-8 validation and repair, shared by the charset converter, the JSON
 * event writer and the rules loader.  Strict: no overlong forms, no
 * surrogates, nothing past U+10FFFF. */
#ifndef POSTERN_COMMON_UTF8_H
#define POSTERN_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid sequence at p[0..n); 0 when invalid, or when a
 * valid start is cut by n (then *incomplete is set; incomplete may be NULL). */
size_t utf8_seq_len(const uint8_t *p, size_t n, bool *incomplete);

/* Every byte of s[0..n) belongs to a valid sequence. */
bool utf8_valid(const uint8_t *s, size_t n);

/* Copy in to out with each invalid byte replaced by U+FFFD (counted in
 * *repl, which may be NULL).  Stops before a sequence that does not fit in
 * cap; returns the bytes written (no NUL).  cap >= 3 * len never stops. */
size_t utf8_sanitize(const uint8_t *in, size_t len, char *out, size_t cap, uint64_t *repl);

#endif
