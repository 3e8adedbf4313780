/* libFuzzer target for the streaming MIME decoder.
 *
 * Input: byte 0 = flags (bit 0: tiny limits, bit 1: a gap), bytes 1-3 =
 * chunk pattern (chunk k is 1 + pattern[k % 3] % 64 bytes; gap offset from
 * byte 1), the rest is the message.  The message is parsed twice, whole and
 * in chunks, with the gap (if any) at the same offset: both runs must give
 * the same callback digest (part_data hashed as one stream per part) and the
 * same stats.  Also checked: begin/data/end order, part size = sum of data,
 * header values and filenames are valid UTF-8, mime_decode_header_words
 * stays in its buffer and returns valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "smtp_parser/mime.h"

#define TEXT_KEEP 65536

struct fz {
	uint64_t h;
	uint32_t next_index;
	bool open;
	uint64_t data;
	struct mime_parser *m;
	uint8_t text[TEXT_KEEP]; /* start of the open text part */
	size_t text_len;
};

/* Strict: no overlongs, surrogates or code points past U+10FFFF. */
static bool valid_utf8_n(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t len = 1;
		uint8_t lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			lo = c == 0xE0 ? 0xA0 : 0x80;
			hi = c == 0xED ? 0x9F : 0xBF;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			lo = c == 0xF0 ? 0x90 : 0x80;
			hi = c == 0xF4 ? 0x8F : 0xBF;
		} else {
			return false;
		}
		if (i + len > n || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

static bool valid_utf8(const char *s)
{
	return valid_utf8_n((const uint8_t *)s, strlen(s));
}

static void on_header(void *ctx, uint32_t depth, const char *name, const char *value)
{
	struct fz *f = ctx;
	if (f->open || !valid_utf8(value))
		fz_fail();
	fz_mix(&f->h, "H", 1);
	fz_mix(&f->h, &depth, sizeof(depth));
	fz_mix_str(&f->h, name);
	fz_mix_str(&f->h, value);
}

static void on_begin(void *ctx, const struct mime_part *p)
{
	struct fz *f = ctx;
	if (f->open || p->index != f->next_index)
		fz_fail();
	if (!valid_utf8(p->filename) || (p->filename[0] && !p->is_attachment) ||
	    (!p->is_text && !p->is_attachment))
		fz_fail();
	f->open = true;
	f->data = 0;
	f->text_len = 0;
	fz_mix(&f->h, "B", 1);
	fz_mix(&f->h, &p->index, sizeof(p->index));
	fz_mix(&f->h, &p->depth, sizeof(p->depth));
	fz_mix_str(&f->h, p->content_type);
	fz_mix_str(&f->h, p->charset);
	fz_mix_str(&f->h, p->encoding);
	fz_mix_str(&f->h, p->disposition);
	fz_mix_str(&f->h, p->filename);
	fz_mix(&f->h, &p->is_text, 1);
	fz_mix(&f->h, &p->is_attachment, 1);
}

static void on_data(void *ctx, const struct mime_part *p, const uint8_t *d, size_t n)
{
	struct fz *f = ctx;
	if (!f->open || p->index != f->next_index || n == 0)
		fz_fail();
	f->data += n;
	fz_mix(&f->h, d, n);
	if (p->is_text && f->data <= TEXT_KEEP) {
		memcpy(f->text + f->text_len, d, n);
		f->text_len += n;
	}
}

static void on_end(void *ctx, const struct mime_part *p, uint64_t size)
{
	struct fz *f = ctx;
	if (!f->open || p->index != f->next_index || size != f->data)
		fz_fail();
	/* converted text is valid UTF-8 (unless kept raw for an unknown charset
	 * or cut at TEXT_KEEP) */
	if (p->is_text && f->data <= TEXT_KEEP &&
	    !(mime_parser_stats(f->m)->anomalies & MIME_ANOM_UNKNOWN_CHARSET) &&
	    !valid_utf8_n(f->text, f->text_len))
		fz_fail();
	f->open = false;
	f->next_index++;
	fz_mix(&f->h, "E", 1);
	fz_mix(&f->h, &size, sizeof(size));
}

static const struct mime_callbacks cb = {on_header, on_begin, on_data, on_end};

static void run(const struct mime_limits *lim, const uint8_t *d, size_t n, const uint8_t *pat,
		size_t gap_at, struct fz *f, struct mime_stats *st)
{
	memset(f, 0, sizeof(*f));
	f->h = 0xcbf29ce484222325ULL;
	struct mime_parser *m = mime_parser_new(lim, &cb, f);
	if (!m)
		return;
	f->m = m;
	size_t off = 0;
	unsigned k = 0;
	while (off < n) {
		size_t c = pat ? 1 + pat[k++ % 3] % 64 : n - off;
		if (off < gap_at && off + c > gap_at)
			c = gap_at - off;
		if (c > n - off)
			c = n - off;
		mime_feed(m, d + off, c);
		off += c;
		if (off == gap_at)
			mime_gap(m, 10);
	}
	size_t mem = mime_parser_memory(m);
	if (mem < 1024 || mem > (size_t)16 << 20)
		fz_fail();
	mime_close(m);
	if (f->open || mime_parser_stats(m)->parts != f->next_index)
		fz_fail();
	*st = *mime_parser_stats(m);
	mime_parser_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *pat = data + 1;
	const uint8_t *msg = data + 4;
	size_t n = size - 4;
	struct mime_limits lim;
	mime_limits_default(&lim);
	if (flags & 1) {
		lim.max_depth = 3;
		lim.max_header_line = 40;
		lim.max_headers = 4;
		lim.max_parts = 3;
		lim.max_boundary = 8;
	}
	size_t gap_at = (flags & 2) && n ? (pat[0] * 7u) % n : SIZE_MAX;

	static struct fz whole, chunked;
	struct mime_stats st_whole, st_chunked;
	memset(&st_whole, 0, sizeof(st_whole));
	memset(&st_chunked, 0, sizeof(st_chunked));
	run(&lim, msg, n, NULL, gap_at, &whole, &st_whole);
	run(&lim, msg, n, pat, gap_at, &chunked, &st_chunked);
	if (whole.h != chunked.h || memcmp(&st_whole, &st_chunked, sizeof(st_whole)) != 0)
		fz_fail();

	char out[64];
	uint32_t an = 0;
	size_t cap = flags & 4 ? 8 : sizeof(out);
	size_t len = mime_decode_header_words((const char *)msg, n, out, cap, &an);
	if (len >= cap || out[len] != 0 || strlen(out) > len || !valid_utf8(out))
		fz_fail();
	return 0;
}
