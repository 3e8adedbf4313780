/* Request body decoders; the contract is in form.h.
 *
 * One field is open at a time; every kind reports through field_begin /
 * field_data / field_end below, which apply max_fields (a field past the cap
 * is opened as "skipped": its bytes go nowhere but its boundaries are still
 * followed, so the fields after it stay in step).
 *
 * - urlencoded: a byte-at-a-time state machine (name, value, skip-to-'&'
 *   after a gap) with at most "%X" pending, so a chunk may end anywhere.
 *   Runs of plain value bytes are handed over straight from the input;
 *   decoded bytes are staged in a small buffer.
 * - multipart: the MIME decoder, fed a synthesized "Content-Type:" header
 *   and then the body; every leaf part is a field.  The MIME parts cap is
 *   lifted so that max_fields alone decides (and counts) what is dropped.
 * - JSON: buffered up to max_json and parsed at close.  Whatever cannot be
 *   flattened (too large, invalid, cut by a gap) becomes one raw field with
 *   every byte received, so content inspection never loses the body.
 * - raw: one field "", opened by the first byte.
 */
#include "http_parser/form.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/utf8.h"
#include "smtp_parser/mime.h"

#define STAGE_CAP 256          /* decoded urlencoded value bytes staged */
#define JSON_FIRST_ALLOC 4096  /* the JSON buffer doubles from here up to max_json */

enum url_state { U_NAME, U_VALUE, U_SKIP };

struct form_decoder {
	enum form_kind kind;
	struct form_limits lim;
	struct form_callbacks cb;
	void *ctx;
	struct form_stats st;
	bool closed;

	/* the open field */
	struct form_field f;
	bool open, skipped;
	uint64_t fsize;
	char *name;            /* max_name + 1: its name (multipart, urlencoded) */

	/* urlencoded */
	enum url_state us;
	uint8_t *uname;        /* max_name raw decoded name bytes */
	uint32_t ulen;
	bool useg;             /* the current '&' segment has a byte */
	bool utrunc;           /* its name went past max_name */
	uint8_t pct_n;         /* 0, or 1 / 2 after "%" / "%X" */
	uint8_t pct_hi;
	uint8_t stage[STAGE_CAP];
	size_t slen;

	/* multipart */
	struct mime_parser *mime;

	/* JSON */
	uint8_t *jbuf;
	size_t jlen, jcap;
	bool jraw;             /* given up on parsing: the body streams as raw */
	char *path;            /* max_name + 1: key path of the leaf */
	size_t plen;
	uint32_t ncomp;        /* key components in path */
};

static const char *const anomaly_names[FORM_ANOM_COUNT] = {
	"name_too_long", "fields_cap", "bad_percent", "json_too_large",
	"json_invalid", "json_depth", "mime", "gap",
};

const char *form_anomaly_name(uint32_t bit)
{
	for (unsigned i = 0; i < FORM_ANOM_COUNT; i++)
		if (bit == 1u << i)
			return anomaly_names[i];
	return NULL;
}

const char *form_kind_name(enum form_kind k)
{
	switch (k) {
	case FORM_URLENCODED:
		return "urlencoded";
	case FORM_MULTIPART:
		return "multipart";
	case FORM_JSON:
		return "json";
	case FORM_RAW:
		break;
	}
	return "raw";
}

static bool token_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

enum form_kind form_kind_of(const char *content_type)
{
	if (!content_type)
		return FORM_RAW;
	const char *s = content_type + strspn(content_type, " \t");
	size_t n = strcspn(s, "; \t");
	if (token_is(s, n, "application/x-www-form-urlencoded"))
		return FORM_URLENCODED;
	if (token_is(s, n, "multipart/form-data"))
		return FORM_MULTIPART;
	if (token_is(s, n, "application/json") || token_is(s, n, "text/json"))
		return FORM_JSON;
	/* application/<something>+json (RFC 6839) */
	if (n > 17 && strncasecmp(s, "application/", 12) == 0 && strncasecmp(s + n - 5, "+json", 5) == 0)
		return FORM_JSON;
	return FORM_RAW;
}

void form_limits_default(struct form_limits *l)
{
	l->max_name = 256;
	l->max_fields = 1024;
	l->max_json = 1u << 20;
	l->max_json_depth = 32;
}

static void anomaly(struct form_decoder *d, uint32_t bit)
{
	d->st.anomalies |= bit;
}

/* ---- fields ----------------------------------------------------------- */

static void field_begin(struct form_decoder *d, const char *name, bool is_file,
			const char *filename, const char *content_type, bool is_text)
{
	d->open = true;
	d->fsize = 0;
	if (d->st.fields >= d->lim.max_fields) {
		d->skipped = true;
		if (d->st.fields_skipped < UINT32_MAX)
			d->st.fields_skipped++;
		anomaly(d, FORM_ANOM_FIELDS_CAP);
		return;
	}
	d->skipped = false;
	d->f = (struct form_field){
		.index = d->st.fields++,
		.name = name,
		.is_file = is_file,
		.filename = filename,
		.content_type = content_type,
		.is_text = is_text,
	};
	if (is_file)
		d->st.files++;
	if (d->cb.field_begin)
		d->cb.field_begin(d->ctx, &d->f);
}

static void field_data(struct form_decoder *d, const uint8_t *p, size_t n)
{
	if (!d->open || d->skipped || n == 0)
		return;
	d->fsize += n;
	if (d->cb.field_data)
		d->cb.field_data(d->ctx, &d->f, p, n);
}

static void field_end(struct form_decoder *d)
{
	if (!d->open)
		return;
	d->open = false;
	if (!d->skipped && d->cb.field_end)
		d->cb.field_end(d->ctx, &d->f, d->fsize);
}

/* Length of s[0..n) cut to at most cap bytes without splitting a UTF-8
 * sequence (s is valid UTF-8). */
static size_t utf8_cut(const char *s, size_t n, size_t cap)
{
	if (n <= cap)
		return n;
	n = cap;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* ---- urlencoded ------------------------------------------------------- */

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t form_urldecode(const char *in, size_t len, char *out, size_t cap)
{
	if (cap == 0)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		char c = in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < len && hex_value((uint8_t)in[i + 1]) >= 0 &&
			   hex_value((uint8_t)in[i + 2]) >= 0) {
			c = (char)(hex_value((uint8_t)in[i + 1]) * 16 + hex_value((uint8_t)in[i + 2]));
			i += 2;
		}
		out[o++] = c;
	}
	out[o] = 0;
	return o;
}

static void url_flush(struct form_decoder *d)
{
	if (d->slen) {
		field_data(d, d->stage, d->slen);
		d->slen = 0;
	}
}

static void url_emit(struct form_decoder *d, uint8_t b)
{
	d->useg = true;
	if (d->us == U_NAME) {
		if (d->ulen < d->lim.max_name) {
			d->uname[d->ulen++] = b;
		} else if (!d->utrunc) {
			d->utrunc = true;
			anomaly(d, FORM_ANOM_NAME_TOO_LONG);
		}
		return;
	}
	d->stage[d->slen++] = b;
	if (d->slen == STAGE_CAP)
		url_flush(d);
}

/* A '%' not followed by two hex digits stays as it was sent. */
static void url_bad_percent(struct form_decoder *d)
{
	uint8_t n = d->pct_n;
	d->pct_n = 0;
	anomaly(d, FORM_ANOM_BAD_PERCENT);
	url_emit(d, '%');
	if (n == 2)
		url_emit(d, d->pct_hi);
}

static void url_begin_field(struct form_decoder *d)
{
	size_t n = d->ulen;
	if (d->utrunc) {
		/* a name cut inside a UTF-8 sequence loses that sequence */
		size_t k = n;
		bool incomplete = false;
		while (k > 0 && n - k < 3 && (d->uname[k - 1] & 0xC0) == 0x80)
			k--;
		if (k > 0 && utf8_seq_len(d->uname + k - 1, n - k + 1, &incomplete) == 0 && incomplete)
			n = k - 1;
	}
	size_t w = utf8_sanitize(d->uname, n, d->name, d->lim.max_name, NULL);
	d->name[w] = 0;
	field_begin(d, d->name, false, "", "", true);
}

static void url_reset_segment(struct form_decoder *d)
{
	d->us = U_NAME;
	d->ulen = 0;
	d->useg = false;
	d->utrunc = false;
	d->pct_n = 0;
	d->slen = 0;
}

/* '&' or the end of the body. */
static void url_end_segment(struct form_decoder *d)
{
	if (d->pct_n)
		url_bad_percent(d);
	if (d->us == U_VALUE) {
		url_flush(d);
		field_end(d);
	} else if (d->useg) {
		/* "name" alone: a field with an empty value ("&&" is nothing) */
		url_begin_field(d);
		field_end(d);
	}
	url_reset_segment(d);
}

static void url_byte(struct form_decoder *d, uint8_t c)
{
	if (d->pct_n) {
		int h = hex_value(c);
		if (h >= 0 && d->pct_n == 1) {
			d->pct_hi = c;
			d->pct_n = 2;
			return;
		}
		if (h >= 0) {
			d->pct_n = 0;
			url_emit(d, (uint8_t)(hex_value(d->pct_hi) * 16 + h));
			return;
		}
		url_bad_percent(d); /* then c is an ordinary byte */
	}
	switch (c) {
	case '%':
		d->pct_n = 1;
		d->useg = true;
		return;
	case '+':
		url_emit(d, ' ');
		return;
	case '&':
		url_end_segment(d);
		return;
	case '=':
		if (d->us == U_NAME) {
			d->useg = true;
			url_begin_field(d);
			d->us = U_VALUE;
			return;
		}
		break;
	}
	url_emit(d, c);
}

static void url_feed(struct form_decoder *d, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (d->us == U_SKIP) {
			const uint8_t *amp = memchr(p + i, '&', n - i);
			if (!amp)
				return;
			i = (size_t)(amp - p) + 1;
			url_reset_segment(d);
			continue;
		}
		if (d->us == U_VALUE && d->pct_n == 0) {
			size_t j = i;
			while (j < n && p[j] != '%' && p[j] != '+' && p[j] != '&')
				j++;
			if (j > i) {
				url_flush(d);
				field_data(d, p + i, j - i);
				i = j;
				continue;
			}
		}
		url_byte(d, p[i++]);
	}
	url_flush(d);
}

static void url_gap(struct form_decoder *d)
{
	if (d->us == U_SKIP)
		return;
	if (d->us == U_VALUE) {
		/* what was decoded before the gap is delivered; "%X" pending is lost */
		url_flush(d);
		field_end(d);
	}
	url_reset_segment(d);
	d->us = U_SKIP;
}

/* ---- multipart -------------------------------------------------------- */

static void mp_begin(void *ctx, const struct mime_part *p)
{
	struct form_decoder *d = ctx;
	size_t len = strlen(p->field_name);
	size_t n = utf8_cut(p->field_name, len, d->lim.max_name);
	if (n < len)
		anomaly(d, FORM_ANOM_NAME_TOO_LONG);
	memcpy(d->name, p->field_name, n);
	d->name[n] = 0;
	/* A file input with no file chosen sends filename="" with
	 * application/octet-stream: the MIME decoder cannot tell filename="" from
	 * no filename, so a part that is not text counts as a file too. */
	bool is_file = p->filename[0] || !p->is_text;
	field_begin(d, d->name, is_file, p->filename, p->content_type, p->is_text && !is_file);
}

static void mp_data(void *ctx, const struct mime_part *p, const uint8_t *data, size_t len)
{
	(void)p;
	field_data(ctx, data, len);
}

static void mp_end(void *ctx, const struct mime_part *p, uint64_t size)
{
	(void)p;
	(void)size;
	field_end(ctx);
}

static void mp_sync(struct form_decoder *d)
{
	d->st.mime_anomalies = mime_parser_stats(d->mime)->anomalies;
	if (d->st.mime_anomalies)
		anomaly(d, FORM_ANOM_MIME);
}

static int mp_start(struct form_decoder *d, const char *content_type)
{
	static const struct mime_callbacks cb = {NULL, mp_begin, mp_data, mp_end};
	struct mime_limits ml;
	mime_limits_default(&ml);
	ml.max_parts = UINT32_MAX;
	d->mime = mime_parser_new(&ml, &cb, d);
	if (!d->mime)
		return -1;
	size_t n = strlen(content_type);
	char *hdr = malloc(n + 20);
	if (!hdr)
		return -1;
	memcpy(hdr, "Content-Type: ", 14);
	/* line breaks in the request's header value must not end the synthesized one */
	for (size_t i = 0; i < n; i++)
		hdr[14 + i] = content_type[i] == '\r' || content_type[i] == '\n' ? ' ' : content_type[i];
	memcpy(hdr + 14 + n, "\r\n\r\n", 4);
	mime_feed(d->mime, (const uint8_t *)hdr, n + 18);
	free(hdr);
	mp_sync(d);
	return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* Gives up on parsing: everything buffered opens the raw field. */
static void json_go_raw(struct form_decoder *d)
{
	d->jraw = true;
	field_begin(d, "", false, "", "", true);
	field_data(d, d->jbuf, d->jlen);
	free(d->jbuf);
	d->jbuf = NULL;
	d->jlen = d->jcap = 0;
}

/* Room for need (<= max_json) bytes in the JSON buffer, doubling from
 * JSON_FIRST_ALLOC. */
static int json_reserve(struct form_decoder *d, size_t need)
{
	if (need <= d->jcap)
		return 0;
	size_t cap = d->jcap ? d->jcap : JSON_FIRST_ALLOC;
	while (cap < need)
		cap *= 2;
	if (cap > d->lim.max_json)
		cap = (size_t)d->lim.max_json;
	uint8_t *nb = realloc(d->jbuf, cap);
	if (!nb)
		return -1;
	d->jbuf = nb;
	d->jcap = cap;
	return 0;
}

static void json_feed(struct form_decoder *d, const uint8_t *p, size_t n)
{
	if (d->jraw) {
		field_data(d, p, n);
		return;
	}
	/* no memory to buffer it is as good as too large */
	if (n > d->lim.max_json - d->jlen || json_reserve(d, d->jlen + n) < 0) {
		anomaly(d, FORM_ANOM_JSON_TOO_LARGE);
		json_go_raw(d);
		field_data(d, p, n);
		return;
	}
	memcpy(d->jbuf + d->jlen, p, n);
	d->jlen += n;
}

/* Appends ".key" (or "key" first) to the path, cut at max_name. */
static void path_push(struct form_decoder *d, const char *key)
{
	size_t room = d->lim.max_name - d->plen;
	size_t klen = strlen(key);
	if (d->ncomp++ > 0) {
		if (room == 0) {
			anomaly(d, FORM_ANOM_NAME_TOO_LONG);
			return;
		}
		d->path[d->plen++] = '.';
		room--;
	}
	size_t n = utf8_cut(key, klen, room);
	if (n < klen)
		anomaly(d, FORM_ANOM_NAME_TOO_LONG);
	memcpy(d->path + d->plen, key, n);
	d->plen += n;
	d->path[d->plen] = 0;
}

static void json_leaf(struct form_decoder *d, const char *v, size_t n)
{
	field_begin(d, d->path, false, "", "", true);
	field_data(d, (const uint8_t *)v, n);
	field_end(d);
}

/* Integral values as integers ("1e3" -> "1000"), others as the shortest %g
 * text that reads back as the same double ("0.1", not "0.10000000000000001"). */
static int format_real(double x, char *buf, size_t cap)
{
	if (x > -1e15 && x < 1e15 && x == (double)(long long)x)
		return snprintf(buf, cap, "%.0f", x);
	int n = 0;
	for (int prec = 1; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	return n;
}

static void json_walk(struct form_decoder *d, json_t *v, uint32_t depth)
{
	char num[64];
	int n;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		if (depth >= d->lim.max_json_depth) {
			anomaly(d, FORM_ANOM_JSON_DEPTH);
			return;
		}
		const char *key;
		json_t *child;
		json_object_foreach(v, key, child) {
			size_t keep = d->plen;
			uint32_t keep_comp = d->ncomp;
			path_push(d, key);
			json_walk(d, child, depth + 1);
			d->plen = keep;
			d->ncomp = keep_comp;
			d->path[keep] = 0;
		}
		break;
	}
	case JSON_ARRAY: {
		if (depth >= d->lim.max_json_depth) {
			anomaly(d, FORM_ANOM_JSON_DEPTH);
			return;
		}
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child)
			json_walk(d, child, depth + 1);
		break;
	}
	case JSON_STRING:
		json_leaf(d, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		json_leaf(d, num, (size_t)n);
		break;
	case JSON_REAL:
		n = format_real(json_real_value(v), num, sizeof(num));
		json_leaf(d, num, (size_t)n);
		break;
	case JSON_TRUE:
		json_leaf(d, "true", 4);
		break;
	case JSON_FALSE:
		json_leaf(d, "false", 5);
		break;
	case JSON_NULL:
		break;
	}
}

static void json_close(struct form_decoder *d)
{
	if (d->jraw || d->jlen == 0)
		return;
	json_error_t err;
	/* Duplicate keys are rejected: jansson keeps only the last value, and a
	 * first one hidden behind it must still be inspected (as raw). */
	json_t *root = json_loadb((const char *)d->jbuf, d->jlen,
				  JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		anomaly(d, FORM_ANOM_JSON_INVALID);
		json_go_raw(d);
		return;
	}
	d->plen = 0;
	d->ncomp = 0;
	d->path[0] = 0;
	json_walk(d, root, 0);
	json_decref(root);
	free(d->jbuf);
	d->jbuf = NULL;
	d->jlen = d->jcap = 0;
}

/* ---- the decoder ------------------------------------------------------ */

struct form_decoder *form_decoder_new(const char *content_type, const struct form_limits *limits,
				      const struct form_callbacks *cb, void *ctx)
{
	struct form_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (limits)
		d->lim = *limits;
	else
		form_limits_default(&d->lim);
	if (cb)
		d->cb = *cb;
	d->ctx = ctx;
	d->kind = form_kind_of(content_type);
	size_t name_cap = (size_t)d->lim.max_name + 1;
	switch (d->kind) {
	case FORM_URLENCODED:
		d->uname = malloc(name_cap);
		d->name = malloc(name_cap);
		if (!d->uname || !d->name)
			goto fail;
		break;
	case FORM_MULTIPART:
		d->name = malloc(name_cap);
		if (!d->name || mp_start(d, content_type) < 0)
			goto fail;
		break;
	case FORM_JSON:
		d->path = malloc(name_cap);
		if (!d->path)
			goto fail;
		d->path[0] = 0;
		break;
	case FORM_RAW:
		break;
	}
	return d;
fail:
	form_decoder_free(d);
	errno = ENOMEM;
	return NULL;
}

enum form_kind form_decoder_kind(const struct form_decoder *d)
{
	return d->kind;
}

void form_feed(struct form_decoder *d, const uint8_t *data, size_t len)
{
	if (d->closed || len == 0)
		return;
	d->st.bytes += len;
	switch (d->kind) {
	case FORM_URLENCODED:
		url_feed(d, data, len);
		break;
	case FORM_MULTIPART:
		mime_feed(d->mime, data, len);
		mp_sync(d);
		break;
	case FORM_JSON:
		json_feed(d, data, len);
		break;
	case FORM_RAW:
		if (!d->open)
			field_begin(d, "", false, "", "", true);
		field_data(d, data, len);
		break;
	}
}

void form_gap(struct form_decoder *d, uint64_t len)
{
	if (d->closed || len == 0)
		return;
	anomaly(d, FORM_ANOM_GAP);
	switch (d->kind) {
	case FORM_URLENCODED:
		url_gap(d);
		break;
	case FORM_MULTIPART:
		mime_gap(d->mime, len);
		mp_sync(d);
		break;
	case FORM_JSON:
		if (!d->jraw)
			json_go_raw(d);
		break;
	case FORM_RAW:
		break;
	}
}

void form_close(struct form_decoder *d)
{
	if (d->closed)
		return;
	d->closed = true;
	switch (d->kind) {
	case FORM_URLENCODED:
		if (d->us != U_SKIP)
			url_end_segment(d);
		break;
	case FORM_MULTIPART:
		mime_close(d->mime);
		mp_sync(d);
		break;
	case FORM_JSON:
		json_close(d);
		break;
	case FORM_RAW:
		break;
	}
	field_end(d);
}

void form_decoder_free(struct form_decoder *d)
{
	if (!d)
		return;
	if (d->mime)
		mime_parser_free(d->mime);
	free(d->uname);
	free(d->name);
	free(d->jbuf);
	free(d->path);
	free(d);
}

const struct form_stats *form_decoder_stats(const struct form_decoder *d)
{
	return &d->st;
}
