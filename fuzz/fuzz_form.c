/* libFuzzer target for the request body decoders.
 *
 * Input: byte 0 = bits 0-1 the kind (raw, urlencoded, multipart, JSON),
 * bit 2 tiny limits, bit 3 a gap, bits 4-5 the multipart boundary (one of
 * four); bytes 1-2 = chunk pattern (chunk k is 1 + pattern[k % 2] % 64
 * bytes; the gap offset is taken from byte 1); the rest is the body.  The
 * body is decoded twice, whole and in chunks, with the gap (if any) at the
 * same offset: both runs must give the same field log (name, flags,
 * filename, type, value hashed as one stream per field) and the same stats.
 * Also checked: begin/data/end order, size = sum of data, names within
 * max_name and valid UTF-8, files never text, and that the raw fallbacks
 * (raw kind, JSON too large or invalid) deliver every byte of the body.
 * form_urldecode stays in its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "fuzz/fuzz_util.h"
#include "http_parser/form.h"

struct fz {
	uint64_t h;
	uint32_t next_index;
	bool open;
	uint64_t data;
	uint64_t total;     /* data bytes over all fields */
	uint32_t max_name;
};

static void on_begin(void *ctx, const struct form_field *fl)
{
	struct fz *f = ctx;
	if (f->open || fl->index != f->next_index)
		fz_fail();
	if (!fl->name || !fl->filename || !fl->content_type)
		fz_fail();
	if (strlen(fl->name) > f->max_name || !utf8_valid((const uint8_t *)fl->name, strlen(fl->name)) ||
	    !utf8_valid((const uint8_t *)fl->filename, strlen(fl->filename)))
		fz_fail();
	if (fl->is_file && fl->is_text)
		fz_fail();
	if (!fl->is_file && fl->filename[0])
		fz_fail();
	f->open = true;
	f->data = 0;
	fz_mix(&f->h, "B", 1);
	fz_mix(&f->h, &fl->index, sizeof(fl->index));
	fz_mix_str(&f->h, fl->name);
	fz_mix_str(&f->h, fl->filename);
	fz_mix_str(&f->h, fl->content_type);
	fz_mix(&f->h, &fl->is_file, 1);
	fz_mix(&f->h, &fl->is_text, 1);
}

static void on_data(void *ctx, const struct form_field *fl, const uint8_t *d, size_t n)
{
	struct fz *f = ctx;
	if (!f->open || fl->index != f->next_index || n == 0)
		fz_fail();
	f->data += n;
	f->total += n;
	fz_mix(&f->h, d, n);
}

static void on_end(void *ctx, const struct form_field *fl, uint64_t size)
{
	struct fz *f = ctx;
	if (!f->open || fl->index != f->next_index || size != f->data)
		fz_fail();
	f->open = false;
	f->next_index++;
	fz_mix(&f->h, "E", 1);
	fz_mix(&f->h, &size, sizeof(size));
}

static const struct form_callbacks cb = {on_begin, on_data, on_end};

static void run(const char *ct, const struct form_limits *lim, const uint8_t *d, size_t n,
		const uint8_t *pat, size_t gap_at, struct fz *f, struct form_stats *st)
{
	memset(f, 0, sizeof(*f));
	f->h = 0xcbf29ce484222325ULL;
	f->max_name = lim->max_name;
	struct form_decoder *fd = form_decoder_new(ct, lim, &cb, f);
	if (!fd)
		return;
	size_t off = 0;
	unsigned k = 0;
	if (gap_at == 0)
		form_gap(fd, 10);
	while (off < n) {
		size_t c = pat ? 1 + pat[k++ % 2] % 64 : n - off;
		if (off < gap_at && off + c > gap_at)
			c = gap_at - off;
		if (c > n - off)
			c = n - off;
		form_feed(fd, d + off, c);
		off += c;
		if (off == gap_at)
			form_gap(fd, 10);
	}
	form_close(fd);
	*st = *form_decoder_stats(fd);
	if (f->open || st->fields != f->next_index || st->bytes != n)
		fz_fail();
	form_decoder_free(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const boundaries[4] = {
		"b", "----WebKitFormBoundaryQ7xZ3kLm", "---------------------------9051914041544843365972754266",
		"\"quoted = boundary\"",
	};
	if (size < 3)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *pat = data + 1;
	const uint8_t *body = data + 3;
	size_t n = size - 3;
	enum form_kind kind = (enum form_kind)(flags & 3);
	char ct[128];
	switch (kind) {
	case FORM_URLENCODED:
		strcpy(ct, "application/x-www-form-urlencoded; charset=UTF-8");
		break;
	case FORM_MULTIPART:
		strcpy(ct, "multipart/form-data; boundary=");
		strcat(ct, boundaries[(flags >> 4) & 3]);
		break;
	case FORM_JSON:
		strcpy(ct, "application/json");
		break;
	case FORM_RAW:
		strcpy(ct, "text/plain");
		break;
	}
	struct form_limits lim;
	form_limits_default(&lim);
	if (flags & 4) {
		lim.max_name = 5;
		lim.max_fields = 4;
		lim.max_json = 64;
		lim.max_json_depth = 2;
	}
	size_t gap_at = (flags & 8) && n ? (pat[0] * 7u) % n : SIZE_MAX;

	static struct fz whole, chunked;
	struct form_stats st_whole, st_chunked;
	memset(&st_whole, 0, sizeof(st_whole));
	memset(&st_chunked, 0, sizeof(st_chunked));
	run(ct, &lim, body, n, NULL, gap_at, &whole, &st_whole);
	run(ct, &lim, body, n, pat, gap_at, &chunked, &st_chunked);
	if (whole.h != chunked.h || whole.total != chunked.total ||
	    st_whole.anomalies != st_chunked.anomalies || st_whole.fields != st_chunked.fields ||
	    st_whole.fields_skipped != st_chunked.fields_skipped || st_whole.files != st_chunked.files ||
	    st_whole.mime_anomalies != st_chunked.mime_anomalies || st_whole.bytes != st_chunked.bytes)
		fz_fail();
	if (form_kind_of(ct) != kind)
		fz_fail();

	/* Raw fallbacks lose nothing (a gap's bytes aside). */
	bool raw_whole = kind == FORM_RAW ||
			 (kind == FORM_JSON &&
			  (st_whole.anomalies & (FORM_ANOM_JSON_TOO_LARGE | FORM_ANOM_JSON_INVALID)));
	if (raw_whole && gap_at == SIZE_MAX && st_whole.fields == 1 && whole.total != n)
		fz_fail();
	if (kind == FORM_RAW && n && gap_at == SIZE_MAX && st_whole.fields != 1)
		fz_fail();
	/* urlencoded and JSON values never grow past the body (numbers aside) */
	if (kind == FORM_URLENCODED && whole.total > n)
		fz_fail();

	char out[64];
	size_t cap = flags & 0x40 ? 8 : sizeof(out);
	size_t len = form_urldecode((const char *)body, n, out, cap);
	if (len >= cap || out[len] != 0 || len > n)
		fz_fail();
	return 0;
}
