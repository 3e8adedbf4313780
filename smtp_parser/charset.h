/* Charset conversion to UTF-8 for the MIME decoder: alias normalisation
 * (the names mailers really send mapped to the superset iconv knows), a small
 * cache of iconv descriptors, whole-buffer conversion for header words and a
 * streaming converter for bodies.  Invalid input becomes U+FFFD and is
 * counted; nothing here fails on bad data. */
#ifndef POSTERN_SMTP_PARSER_CHARSET_H
#define POSTERN_SMTP_PARSER_CHARSET_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHARSET_NAME_MAX 48
#define CHARSET_CACHE_SLOTS 8
#define CHARSET_NONE ((iconv_t)-1)
/* UTF-8 is validated here, not by iconv: glibc's UTF-8 decoder lets lead
 * bytes F5-F7 (code points past U+10FFFF) through. */
#define CHARSET_UTF8 ((iconv_t)-2)

/* Writes the iconv name for a declared charset into buf (NUL-terminated);
 * false when the name is empty, too long or has characters no charset name
 * has (those are never handed to iconv_open). */
bool charset_normalize(const char *declared, size_t len, char *buf, size_t cap);

struct charset_slot {
	char name[CHARSET_NAME_MAX]; /* normalised; "" = free slot */
	iconv_t cd;                  /* CHARSET_NONE: iconv does not know it */
	uint32_t last_use;
};

/* Descriptors are opened once per charset and reused (reset before each
 * use); the least recently used is closed when all slots are taken. */
struct charset_cache {
	struct charset_slot slot[CHARSET_CACHE_SLOTS];
	uint32_t tick;
};

void charset_cache_init(struct charset_cache *c);
void charset_cache_fini(struct charset_cache *c);
/* A descriptor converting the declared charset to UTF-8, in its initial
 * shift state; CHARSET_UTF8 for UTF-8 itself, CHARSET_NONE if the charset is
 * unknown.  Valid until the next
 * charset_open on the same cache. */
iconv_t charset_open(struct charset_cache *c, const char *declared, size_t len);

/* Converts a complete buffer; writes at most cap bytes (no NUL) and returns
 * the count.  *repl is increased by the invalid sequences replaced. */
size_t charset_convert(iconv_t cd, const uint8_t *in, size_t len, char *out, size_t cap,
		       uint64_t *repl);

/* Streaming conversion: an incomplete sequence at the end of one feed is
 * kept for the next, so any chunking gives the same output. */
typedef void (*charset_emit_fn)(void *ctx, const uint8_t *data, size_t len);

#define CHARSET_CARRY_MAX 64

struct charset_stream {
	iconv_t cd;
	uint8_t carry[CHARSET_CARRY_MAX];
	size_t carry_len;
	uint64_t replacements;
};

void charset_stream_start(struct charset_stream *s, iconv_t cd);
void charset_stream_feed(struct charset_stream *s, const uint8_t *in, size_t len,
			 charset_emit_fn emit, void *ctx);
/* Flushes a trailing incomplete sequence (as U+FFFD) and the shift state. */
void charset_stream_finish(struct charset_stream *s, charset_emit_fn emit, void *ctx);
/* Drops the carry and resets the shift state (after a gap). */
void charset_stream_reset(struct charset_stream *s);

/* utf8_sanitize (common/utf8.h) repairs invalid UTF-8 outside streams. */
#include "common/utf8.h"

#endif
