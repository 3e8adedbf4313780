/* Streaming MIME decoder; the contract is in mime.h.
 *
 * Shape: the input is cut into lines by one of three modes.
 * - HEADERS: a physical line is buffered (capped), folded lines are joined
 *   into one field, and a field is reported when the next line shows it is
 *   complete.  The blank line ends the entity's header and decides what the
 *   body is: a multipart (push a frame with its boundary, skip the
 *   preamble), a message/rfc822 (push a frame, parse the inner header one
 *   level deeper) or a leaf part.
 * - BODY: the content of a leaf.  Bytes go through the transfer decoder
 *   (base64 / quoted-printable / identity), then the charset converter for
 *   text parts, then part_data.
 * - SKIP: preamble, epilogue: discarded.
 * While any multipart frame is open, BODY and SKIP buffer the start of each
 * line that could still be a boundary ("--" + at most max_boundary + padding)
 * and hold back the line end before it, because the CRLF before a boundary
 * belongs to the boundary.  A line is a boundary when, after "--" and with
 * trailing blanks removed, it equals an open boundary (or that plus "--" to
 * close) exactly; the innermost frame is tried first, so a boundary that is
 * a prefix of another is never mistaken for it.  Every state survives any
 * chunk split, so byte-by-byte feeding gives the same callbacks.
 *
 * Choices worth knowing:
 * - A non-header line inside a header (no colon, not folded) ends the header
 *   and is the first body line, as Postfix and most readers do, so text put
 *   there is still inspected.
 * - An entity whose boundary comes before its blank line is still reported
 *   (as an empty part), so its filename is seen.
 * - Content-Type / -Disposition / -Transfer-Encoding: the first occurrence
 *   counts; a repeated one is flagged MIME_ANOM_BAD_HEADER.
 * - message/rfc822 with a base64 or QP transfer encoding is a leaf (bytes),
 *   not parsed further.
 * - text/html is text like any other text/ *: converted, not stripped.
 */
#include "smtp_parser/mime.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_parser/charset.h"

#define WS_ALLOW 64       /* blanks accepted after a boundary (transport padding) */
#define TYPE_CAP 128
#define ENC_CAP 40
#define DISP_CAP 16
#define NAME_CAP 1024     /* decoded filename bytes kept */
#define MAX_PARAMS 32     /* parameters looked at per Content-Type/-Disposition */

enum mode { M_HEADERS, M_BODY, M_SKIP };
enum line_state { L_CAND, L_PASS }; /* at line start, buffering / mid-line */
enum te_kind { TE_IDENTITY, TE_BASE64, TE_QP };
enum qp_state { Q_NORMAL, Q_EQ, Q_HEX, Q_CR, Q_WS };

struct frame {
	char *boundary; /* max_boundary + 1 bytes, kept for reuse */
	uint32_t blen;
	uint32_t depth; /* of the multipart / message entity itself */
	bool multipart;
};

/* MIME header of the entity being parsed, and of the open leaf. */
struct entity {
	uint32_t depth;
	uint32_t nheaders;
	uint32_t lines; /* header lines seen, blank one included */
	bool seen_ct, seen_cte, seen_cd;
	char type[TYPE_CAP];
	char charset[CHARSET_NAME_MAX];
	char encoding[ENC_CAP];
	char disposition[DISP_CAP];
	char filename[NAME_CAP]; /* Content-Disposition filename= */
	char ct_name[NAME_CAP];  /* Content-Type name= */
	char field_name[NAME_CAP]; /* Content-Disposition name= (form-data) */
	char *boundary;          /* max_boundary + 1 */
	uint32_t blen;
};

struct mime_parser {
	struct mime_limits lim;
	struct mime_callbacks cb;
	void *ctx;
	struct mime_stats st;
	size_t mem;
	bool closed;
	enum mode mode;

	/* line scanning */
	uint8_t *lbuf;
	uint32_t llen, lcap, cand_cap;
	enum line_state ls;
	bool pend_cr;        /* L_PASS: a CR ended the last chunk */
	uint8_t pend_eol;    /* held line end: 0, 1 (LF) or 2 (CRLF) */
	bool discard_line;   /* HEADERS: the rest of this line follows a gap */
	bool trunc_cr;       /* HEADERS: the last byte cut off the line was a CR */
	bool skip_preamble;  /* SKIP is a preamble (much text there is flagged) */
	uint32_t preamble_text; /* non-blank bytes of the current preamble */
	uint32_t replay_len; /* a body line found inside a header, kept in value
	                      * (free until that line is fed again) */

	/* header field being assembled and decode buffers */
	char *field;
	uint32_t flen;
	bool have_field;
	char *value;         /* decoded field value, or the line to replay; while
	                      * parameters are parsed, their bytes before charset
	                      * conversion */
	size_t value_cap;
	char *scratch;       /* unquoted parameter values */
	struct entity ent;

	/* open multipart / message levels */
	struct frame *frames;
	uint32_t nframes, frames_cap, nmultipart;

	/* open leaf */
	struct mime_part part;
	bool part_open, part_skipped;
	uint64_t part_size;
	enum te_kind te;
	uint8_t b64_q[4];
	uint8_t b64_n;
	bool b64_pad;
	enum qp_state qp;
	uint8_t qp_hex;
	uint8_t qp_ws[16];
	uint8_t qp_wsn;
	bool conv_on;
	struct charset_stream conv;
	struct charset_cache cache;
};

static const char *const anomaly_names[MIME_ANOM_COUNT] = {
	"header_too_long", "too_many_headers", "depth_cap", "parts_cap",
	"missing_boundary", "unterminated", "bad_base64", "bad_qp",
	"unknown_charset", "bad_charset_data", "bad_encoded_word", "unknown_encoding",
	"bad_header", "bad_parameter", "preamble_data", "gap",
};

const char *mime_anomaly_name(uint32_t bit)
{
	for (unsigned i = 0; i < MIME_ANOM_COUNT; i++)
		if (bit == 1u << i)
			return anomaly_names[i];
	return NULL;
}

void mime_limits_default(struct mime_limits *l)
{
	l->max_depth = 16;
	l->max_header_line = 16 * 1024;
	l->max_headers = 256;
	l->max_parts = 1024;
	l->max_boundary = 200;
}

static void anomaly(struct mime_parser *m, uint32_t bit)
{
	m->st.anomalies |= bit;
}

static void add_sat32(uint32_t *c, uint64_t n)
{
	*c = (uint64_t)*c + n > UINT32_MAX ? UINT32_MAX : (uint32_t)(*c + n);
}

static bool is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Non-blank preamble bytes that are still a mailer's notice, not hidden text. */
#define PREAMBLE_NOTICE_MAX 256

/* Base64 alphabet value + 1; 0 = not in the alphabet (fast path table). */
static const uint8_t b64_plus1[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8, ['I'] =
	9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] =
	17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] =
	25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] =
	33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] =
	41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] =
	49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] =
	57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64
};

static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* ---- RFC 2047 encoded words ------------------------------------------- */

struct out_buf {
	char *buf;
	size_t cap; /* bytes usable, NUL not included */
	size_t len;
};

struct word_ctx {
	struct charset_cache *cache;
	uint8_t *run;       /* decoded bytes of adjacent words in one charset */
	size_t run_len, run_cap;
	char run_cs[CHARSET_NAME_MAX];
	uint32_t anomalies;
	uint64_t repl;
};

static void put_literal(struct word_ctx *w, struct out_buf *o, const char *s, size_t n)
{
	uint64_t before = w->repl;
	o->len += utf8_sanitize((const uint8_t *)s, n, o->buf + o->len, o->cap - o->len, &w->repl);
	if (w->repl != before)
		w->anomalies |= MIME_ANOM_BAD_CHARSET_DATA;
}

static void flush_run(struct word_ctx *w, struct out_buf *o)
{
	if (!w->run_len)
		return;
	uint64_t before = w->repl;
	iconv_t cd = charset_open(w->cache, w->run_cs, strlen(w->run_cs));
	if (cd == CHARSET_NONE)
		o->len += utf8_sanitize(w->run, w->run_len, o->buf + o->len, o->cap - o->len,
					&w->repl);
	else
		o->len += charset_convert(cd, w->run, w->run_len, o->buf + o->len,
					  o->cap - o->len, &w->repl);
	if (w->repl != before)
		w->anomalies |= MIME_ANOM_BAD_CHARSET_DATA;
	w->run_len = 0;
}

struct encoded_word {
	const char *charset, *text;
	size_t cslen, tlen, total;
	size_t open_until; /* on failure: the text ran to here without "?=" */
	char enc;
};

/* "=?charset?B|Q?text?=" at p; text has no blanks (RFC 2047 5). */
static bool parse_word(const char *p, size_t n, struct encoded_word *e)
{
	size_t j = 2;
	e->charset = p + 2;
	e->open_until = 0;
	while (j < n && p[j] != '?') {
		if (j > CHARSET_NAME_MAX + 2)
			return false;
		unsigned char c = (unsigned char)p[j];
		if (!(isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '+' ||
		      c == '*'))
			return false;
		j++;
	}
	e->cslen = j - 2;
	if (j + 2 >= n || e->cslen == 0)
		return false;
	e->enc = (char)toupper((unsigned char)p[j + 1]);
	if ((e->enc != 'B' && e->enc != 'Q') || p[j + 2] != '?')
		return false;
	j += 3;
	e->text = p + j;
	while (j + 1 < n && !(p[j] == '?' && p[j + 1] == '=')) {
		if (is_wsp((uint8_t)p[j]) || p[j] == '\r' || p[j] == '\n') {
			e->open_until = j;
			return false;
		}
		j++;
	}
	if (j + 1 >= n) {
		e->open_until = n;
		return false;
	}
	e->tlen = (size_t)(p + j - e->text);
	e->total = j + 2;
	/* RFC 2231 language suffix: charset*lang */
	const char *star = memchr(e->charset, '*', e->cslen);
	if (star)
		e->cslen = (size_t)(star - e->charset);
	return e->cslen > 0 && e->cslen < CHARSET_NAME_MAX;
}

/* Appends the word's bytes to dst; false if its text is not valid B. */
static bool decode_word_text(const struct encoded_word *e, uint8_t *dst, size_t *dlen,
			     uint32_t *anom)
{
	size_t o = 0;
	dst += *dlen;
	if (e->enc == 'Q') {
		for (size_t i = 0; i < e->tlen; i++) {
			uint8_t c = (uint8_t)e->text[i];
			if (c == '_') {
				dst[o++] = ' ';
			} else if (c == '=' && i + 2 < e->tlen &&
				   hex_value((uint8_t)e->text[i + 1]) >= 0 &&
				   hex_value((uint8_t)e->text[i + 2]) >= 0) {
				dst[o++] = (uint8_t)(hex_value((uint8_t)e->text[i + 1]) * 16 +
						     hex_value((uint8_t)e->text[i + 2]));
				i += 2;
			} else {
				if (c == '=')
					*anom |= MIME_ANOM_BAD_ENCODED_WORD;
				dst[o++] = c;
			}
		}
		*dlen += o;
		return true;
	}
	uint32_t acc = 0;
	unsigned n = 0;
	size_t i = 0;
	for (; i < e->tlen && e->text[i] != '='; i++) {
		int v = b64_value((uint8_t)e->text[i]);
		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		if (++n == 4) {
			dst[o++] = (uint8_t)(acc >> 16);
			dst[o++] = (uint8_t)(acc >> 8);
			dst[o++] = (uint8_t)acc;
			n = 0;
			acc = 0;
		}
	}
	for (; i < e->tlen; i++)
		if (e->text[i] != '=')
			return false;
	if (n == 1)
		return false;
	if (n == 2)
		dst[o++] = (uint8_t)(acc >> 4);
	if (n == 3) {
		dst[o++] = (uint8_t)(acc >> 10);
		dst[o++] = (uint8_t)(acc >> 2);
	}
	*dlen += o;
	return true;
}

static bool all_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_wsp((uint8_t)s[i]) && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* run must hold at least len bytes. */
static size_t decode_words(struct word_ctx *w, const char *in, size_t len, char *out, size_t cap)
{
	if (cap == 0)
		return 0;
	struct out_buf o = {out, cap - 1, 0};
	size_t i = 0, lit = 0;
	size_t no_close_before = 0; /* "=?" starts before this can't find "?=" */
	bool prev_word = false;
	w->run_len = 0;
	while (i < len) {
		struct encoded_word e;
		if (in[i] != '=' || i + 1 >= len || in[i + 1] != '?') {
			if (!is_wsp((uint8_t)in[i]) && in[i] != '\r' && in[i] != '\n')
				prev_word = false;
			i++;
			continue;
		}
		/* Every start inside a text that already ran out without "?=" would
		 * scan the same bytes again: quadratic on hostile input. */
		if (i < no_close_before || !parse_word(in + i, len - i, &e)) {
			if (i >= no_close_before && e.open_until)
				no_close_before = i + e.open_until;
			w->anomalies |= MIME_ANOM_BAD_ENCODED_WORD;
			prev_word = false;
			i += 2;
			continue;
		}
		/* Blanks between two encoded words are dropped (RFC 2047 6.2). */
		if (!(prev_word && all_blank(in + lit, i - lit)) && i > lit) {
			flush_run(w, &o);
			put_literal(w, &o, in + lit, i - lit);
		}
		char cs[CHARSET_NAME_MAX];
		memcpy(cs, e.charset, e.cslen);
		cs[e.cslen] = 0;
		size_t before = w->run_len;
		if (w->run_len && strcasecmp(cs, w->run_cs) != 0) {
			flush_run(w, &o);
			before = 0;
		}
		bool known = charset_open(w->cache, cs, e.cslen) != CHARSET_NONE;
		if (!known)
			w->anomalies |= MIME_ANOM_UNKNOWN_CHARSET;
		if (!known || !decode_word_text(&e, w->run, &w->run_len, &w->anomalies)) {
			if (known)
				w->anomalies |= MIME_ANOM_BAD_ENCODED_WORD;
			w->run_len = before;
			flush_run(w, &o);
			put_literal(w, &o, in + i, e.total);
			prev_word = false;
		} else {
			strcpy(w->run_cs, cs);
			prev_word = true;
		}
		i += e.total;
		lit = i;
	}
	flush_run(w, &o);
	if (len > lit)
		put_literal(w, &o, in + lit, len - lit);
	out[o.len] = 0;
	return o.len;
}

size_t mime_decode_header_words(const char *in, size_t len, char *out, size_t cap,
				uint32_t *anomalies)
{
	struct charset_cache cache;
	charset_cache_init(&cache);
	struct word_ctx w = {.cache = &cache, .run_cap = len + 1};
	w.run = malloc(len + 1);
	size_t n = 0;
	if (w.run) {
		n = decode_words(&w, in, len, out, cap);
	} else if (cap) {
		struct out_buf o = {out, cap - 1, 0};
		put_literal(&w, &o, in, len);
		out[o.len] = 0;
		n = o.len;
	}
	free(w.run);
	charset_cache_fini(&cache);
	if (anomalies)
		*anomalies |= w.anomalies;
	return n;
}

/* run: max_header_line + 1 bytes that are neither in nor out. */
static size_t parser_decode_words(struct mime_parser *m, const char *in, size_t len, char *out,
				  size_t cap, char *run)
{
	struct word_ctx w = {.cache = &m->cache, .run = (uint8_t *)run,
			     .run_cap = m->lim.max_header_line + 1};
	size_t n = decode_words(&w, in, len, out, cap);
	anomaly(m, w.anomalies);
	return n;
}

/* ---- Content-Type / Content-Disposition parameters ---------------------- */

struct param {
	const char *attr;
	size_t alen;
	int section; /* -1: not an RFC 2231 continuation */
	bool ext;    /* value is charset'lang'%XX */
	const char *val;
	size_t vlen;
};

static size_t skip_cfws(const char *s, size_t i, size_t n)
{
	while (i < n) {
		if (is_wsp((uint8_t)s[i]) || s[i] == '\r' || s[i] == '\n') {
			i++;
		} else if (s[i] == '(') {
			int nest = 0;
			for (; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(')
					nest++;
				else if (s[i] == ')' && --nest == 0)
					break;
			}
			if (i < n)
				i++;
		} else {
			break;
		}
	}
	return i;
}

/* Splits "main; a=b; c*=..." into the lower-case main value and params.
 * Values are unquoted into the parser's scratch buffer. */
static size_t parse_params(struct mime_parser *m, const char *s, size_t n, char *main_val,
			   size_t main_cap, struct param *pr)
{
	size_t i = skip_cfws(s, 0, n), np = 0, sp = 0, mv = 0;
	bool bad_main = false;
	for (; i < n && s[i] != ';'; i++) {
		if (s[i] == '(' || is_wsp((uint8_t)s[i])) {
			i = skip_cfws(s, i, n) - 1;
			continue;
		}
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			bad_main = true;
		else if (mv + 1 < main_cap)
			main_val[mv++] = (char)tolower((unsigned char)s[i]);
	}
	main_val[mv] = 0;
	if (bad_main) { /* only tokens are reported; raw bytes there are hostile */
		anomaly(m, MIME_ANOM_BAD_PARAMETER);
		main_val[0] = 0;
	}
	while (i < n) {
		i = skip_cfws(s, i + 1, n); /* past ';' */
		if (i >= n)
			break;
		if (s[i] == ';')
			continue;
		size_t a = i;
		while (i < n && s[i] != '=' && s[i] != ';' && !is_wsp((uint8_t)s[i]) && s[i] != '(')
			i++;
		struct param p = {.attr = s + a, .alen = i - a, .section = -1};
		i = skip_cfws(s, i, n);
		if (i >= n || s[i] != '=' || p.alen == 0) {
			anomaly(m, MIME_ANOM_BAD_PARAMETER);
			while (i < n && s[i] != ';')
				i++;
			continue;
		}
		i = skip_cfws(s, i + 1, n);
		char *v = m->scratch + sp;
		size_t vl = 0;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				v[vl++] = s[i];
			}
			if (i >= n)
				anomaly(m, MIME_ANOM_BAD_PARAMETER);
			else
				i++;
			i = skip_cfws(s, i, n);
			if (i < n && s[i] != ';') {
				anomaly(m, MIME_ANOM_BAD_PARAMETER);
				while (i < n && s[i] != ';')
					i++;
			}
		} else {
			/* Unquoted: up to ';' (mailers put blanks in unquoted filenames). */
			size_t b = i;
			while (i < n && s[i] != ';')
				i++;
			size_t e = i;
			while (e > b && (is_wsp((uint8_t)s[e - 1]) || s[e - 1] == '\r' || s[e - 1] == '\n'))
				e--;
			/* a trailing " (comment)" */
			if (e > b && s[e - 1] == ')') {
				for (size_t k = e - 1; k > b; k--) {
					if (s[k] == '(' && is_wsp((uint8_t)s[k - 1])) {
						e = k;
						while (e > b && is_wsp((uint8_t)s[e - 1]))
							e--;
						break;
					}
				}
			}
			memcpy(v, s + b, e - b);
			vl = e - b;
		}
		sp += vl;
		p.val = v;
		p.vlen = vl;
		/* RFC 2231: name*, name*N, name*N* */
		const char *star = memchr(p.attr, '*', p.alen);
		if (star) {
			size_t base = (size_t)(star - p.attr), k = base + 1;
			bool ok = true;
			if (k < p.alen && isdigit((unsigned char)p.attr[k])) {
				int sec = 0;
				while (k < p.alen && isdigit((unsigned char)p.attr[k])) {
					if (sec <= 999) /* stop growing: a long digit run must not overflow */
						sec = sec * 10 + (p.attr[k] - '0');
					if (sec > 999)
						ok = false;
					k++;
				}
				p.section = sec;
			}
			if (p.section < 0)
				p.ext = true; /* name*= */
			else if (k < p.alen && p.attr[k] == '*') {
				p.ext = true; /* name*N*= */
				k++;
			}
			if (k != p.alen || !ok || base == 0) {
				anomaly(m, MIME_ANOM_BAD_PARAMETER);
				continue;
			}
			p.alen = base;
		}
		if (np == MAX_PARAMS) {
			anomaly(m, MIME_ANOM_BAD_PARAMETER);
			continue;
		}
		pr[np++] = p;
	}
	return np;
}

static bool attr_is(const struct param *p, const char *want)
{
	return strlen(want) == p->alen && strncasecmp(p->attr, want, p->alen) == 0;
}

/* Percent-decodes an RFC 2231 value into raw + *rl; returns false on bad %. */
static bool pct_decode(const char *v, size_t n, uint8_t *raw, size_t *rl)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '%') {
			if (i + 2 < n && hex_value((uint8_t)v[i + 1]) >= 0 &&
			    hex_value((uint8_t)v[i + 2]) >= 0) {
				raw[(*rl)++] = (uint8_t)(hex_value((uint8_t)v[i + 1]) * 16 +
							 hex_value((uint8_t)v[i + 2]));
				i += 2;
				continue;
			}
			ok = false;
		}
		raw[(*rl)++] = (uint8_t)v[i];
	}
	return ok;
}

/* Converts raw bytes in a declared charset into out (NUL-terminated). */
static void raw_to_utf8(struct mime_parser *m, const char *cs, size_t cslen, const uint8_t *raw,
			size_t rl, char *out, size_t cap)
{
	iconv_t cd = cslen ? charset_open(&m->cache, cs, cslen) : CHARSET_NONE;
	uint64_t repl = 0;
	size_t n;
	if (cslen && cd == CHARSET_NONE)
		anomaly(m, MIME_ANOM_UNKNOWN_CHARSET);
	if (cd == CHARSET_NONE)
		n = utf8_sanitize(raw, rl, out, cap - 1, &repl);
	else
		n = charset_convert(cd, raw, rl, out, cap - 1, &repl);
	if (repl)
		anomaly(m, MIME_ANOM_BAD_CHARSET_DATA);
	out[n] = 0;
}

/* The value of parameter want, RFC 2231 forms first; words decoded when
 * decode_words (filenames).  Returns false if absent. */
static bool param_value(struct mime_parser *m, const struct param *pr, size_t np,
			const char *want, bool words, char *out, size_t cap)
{
	/* The field's value is decoded into m->value only after its parameters. */
	uint8_t *raw = (uint8_t *)m->value;
	const struct param *plain = NULL, *ext = NULL;
	bool sections = false;
	for (size_t i = 0; i < np; i++) {
		if (!attr_is(&pr[i], want))
			continue;
		if (pr[i].section >= 0)
			sections = true;
		else if (pr[i].ext && !ext)
			ext = &pr[i];
		else if (!pr[i].ext && !plain)
			plain = &pr[i];
		else
			anomaly(m, MIME_ANOM_BAD_PARAMETER); /* repeated: the first counts */
	}
	if (sections || ext) {
		size_t rl = 0;
		const char *cs = "";
		size_t cslen = 0;
		bool ok = true;
		for (int sec = 0; sec <= 999; sec++) {
			const struct param *p = NULL;
			if (!sections) {
				if (sec > 0)
					break;
				p = ext;
			} else {
				for (size_t i = 0; i < np && !p; i++)
					if (attr_is(&pr[i], want) && pr[i].section == sec)
						p = &pr[i];
			}
			if (!p)
				break;
			const char *v = p->val;
			size_t vl = p->vlen;
			if (p->ext && sec == 0) {
				const char *q1 = memchr(v, '\'', vl);
				const char *q2 = q1 ? memchr(q1 + 1, '\'', vl - (size_t)(q1 + 1 - v)) : NULL;
				if (q2) {
					cs = v;
					cslen = (size_t)(q1 - v);
					vl -= (size_t)(q2 + 1 - v);
					v = q2 + 1;
				} else {
					ok = false;
				}
			}
			if (p->ext) {
				ok &= pct_decode(v, vl, raw, &rl);
			} else {
				memcpy(raw + rl, v, vl);
				rl += vl;
			}
		}
		if (!ok)
			anomaly(m, MIME_ANOM_BAD_PARAMETER);
		raw_to_utf8(m, cs, cslen, raw, rl, out, cap);
		return true;
	}
	if (!plain)
		return false;
	if (words) {
		parser_decode_words(m, plain->val, plain->vlen, out, cap, m->value);
	} else {
		size_t n = plain->vlen < cap - 1 ? plain->vlen : cap - 1;
		memcpy(out, plain->val, n);
		out[n] = 0;
	}
	return true;
}

/* Lower-case copy; bytes outside printable ASCII become '?', which no
 * charset name has, so such a charset is unknown rather than reported raw. */
static void lower_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c < 32 || c > 126 ? '?' : (char)tolower(c);
	}
	dst[i] = 0;
}

static void parse_content_type(struct mime_parser *m, const char *v, size_t n)
{
	struct param pr[MAX_PARAMS];
	struct entity *e = &m->ent;
	char main_val[TYPE_CAP];
	size_t np = parse_params(m, v, n, main_val, sizeof(main_val), pr);
	const char *slash = strchr(main_val, '/');
	if (!slash || slash == main_val || !slash[1]) {
		/* RFC 2045 5.2: an unusable Content-Type means text/plain. */
		anomaly(m, MIME_ANOM_BAD_PARAMETER);
		e->type[0] = 0;
	} else {
		strcpy(e->type, main_val);
	}
	char tmp[CHARSET_NAME_MAX * 2];
	if (param_value(m, pr, np, "charset", false, tmp, sizeof(tmp)))
		lower_copy(e->charset, sizeof(e->charset), tmp);
	/* boundary: raw bytes, compared byte for byte with the delimiter lines */
	e->blen = 0;
	for (size_t i = 0; i < np; i++) {
		if (!attr_is(&pr[i], "boundary") || pr[i].section >= 0 || pr[i].ext)
			continue;
		if (e->blen) {
			anomaly(m, MIME_ANOM_BAD_PARAMETER);
			break;
		}
		if (pr[i].vlen > m->lim.max_boundary) {
			anomaly(m, MIME_ANOM_BAD_PARAMETER);
			break;
		}
		memcpy(e->boundary, pr[i].val, pr[i].vlen);
		e->blen = (uint32_t)pr[i].vlen;
		e->boundary[e->blen] = 0;
		if (!e->blen)
			break;
	}
	param_value(m, pr, np, "name", true, e->ct_name, sizeof(e->ct_name));
}

static void parse_content_disposition(struct mime_parser *m, const char *v, size_t n)
{
	struct param pr[MAX_PARAMS];
	struct entity *e = &m->ent;
	char main_val[TYPE_CAP];
	size_t np = parse_params(m, v, n, main_val, sizeof(main_val), pr);
	if (strcmp(main_val, "inline") == 0)
		strcpy(e->disposition, "inline");
	else if (main_val[0])
		strcpy(e->disposition, "attachment"); /* RFC 2183: unknown = attachment */
	param_value(m, pr, np, "filename", true, e->filename, sizeof(e->filename));
	param_value(m, pr, np, "name", true, e->field_name, sizeof(e->field_name));
}

static void parse_cte(struct mime_parser *m, const char *v, size_t n)
{
	struct param pr[MAX_PARAMS];
	char main_val[ENC_CAP];
	parse_params(m, v, n, main_val, sizeof(main_val), pr);
	strcpy(m->ent.encoding, main_val);
}

/* ---- header fields ----------------------------------------------------- */

static void field_append(struct mime_parser *m, const uint8_t *d, size_t n)
{
	size_t room = m->lim.max_header_line - m->flen;
	if (n > room) {
		anomaly(m, MIME_ANOM_HEADER_TOO_LONG);
		add_sat32(&m->st.header_bytes_truncated, n - room);
		n = room;
	}
	memcpy(m->field + m->flen, d, n);
	m->flen += (uint32_t)n;
}

static void finish_field(struct mime_parser *m)
{
	if (!m->have_field)
		return;
	m->have_field = false;
	struct entity *e = &m->ent;
	char *f = m->field;
	char *colon = memchr(f, ':', m->flen);
	if (!colon) /* truncation can't cut it: the colon was checked in the first line */
		return;
	size_t nl = (size_t)(colon - f);
	while (nl && is_wsp((uint8_t)f[nl - 1]))
		nl--;
	f[nl] = 0;
	const char *v = colon + 1;
	size_t vl = m->flen - (size_t)(v - f);
	while (vl && is_wsp((uint8_t)*v)) {
		v++;
		vl--;
	}
	while (vl && (is_wsp((uint8_t)v[vl - 1]) || v[vl - 1] == '\r'))
		vl--;

	bool *seen = NULL;
	void (*parse)(struct mime_parser *, const char *, size_t) = NULL;
	if (strcasecmp(f, "content-type") == 0) {
		seen = &e->seen_ct;
		parse = parse_content_type;
	} else if (strcasecmp(f, "content-disposition") == 0) {
		seen = &e->seen_cd;
		parse = parse_content_disposition;
	} else if (strcasecmp(f, "content-transfer-encoding") == 0) {
		seen = &e->seen_cte;
		parse = parse_cte;
	}
	if (seen) {
		if (*seen)
			anomaly(m, MIME_ANOM_BAD_HEADER);
		else
			parse(m, v, vl);
		*seen = true;
	}
	if (e->nheaders < m->lim.max_headers) {
		e->nheaders++;
		/* the parameters parsed above are done with scratch */
		parser_decode_words(m, v, vl, m->value, m->value_cap, m->scratch);
		if (m->cb.header)
			m->cb.header(m->ctx, e->depth, f, m->value);
	} else {
		m->st.headers_skipped++;
		anomaly(m, MIME_ANOM_TOO_MANY_HEADERS);
	}
}

/* ---- frames and entities ------------------------------------------------ */

static void reset_lines(struct mime_parser *m)
{
	m->ls = L_CAND;
	m->llen = 0;
	m->pend_cr = false;
	m->pend_eol = 0;
	m->discard_line = false;
	m->trunc_cr = false;
}

static void start_entity(struct mime_parser *m, uint32_t depth)
{
	struct entity *e = &m->ent;
	char *b = e->boundary;
	memset(e, 0, sizeof(*e));
	e->boundary = b;
	e->depth = depth;
	m->have_field = false;
	m->mode = M_HEADERS;
	reset_lines(m);
}

static void enter_skip(struct mime_parser *m, bool preamble)
{
	m->mode = M_SKIP;
	m->skip_preamble = preamble;
	m->preamble_text = 0;
	reset_lines(m);
}

static bool push_frame(struct mime_parser *m, bool multipart)
{
	if (m->nframes == m->frames_cap) {
		uint32_t cap = m->frames_cap ? m->frames_cap * 2 : 4;
		if (cap > m->lim.max_depth)
			cap = m->lim.max_depth;
		if (cap <= m->nframes)
			return false;
		struct frame *f = realloc(m->frames, cap * sizeof(*f));
		if (!f)
			return false;
		memset(f + m->frames_cap, 0, (cap - m->frames_cap) * sizeof(*f));
		m->mem += (cap - m->frames_cap) * sizeof(*f);
		m->frames = f;
		m->frames_cap = cap;
	}
	struct frame *f = &m->frames[m->nframes];
	if (multipart) {
		if (!f->boundary) {
			f->boundary = malloc(m->lim.max_boundary + 1);
			if (!f->boundary)
				return false;
			m->mem += m->lim.max_boundary + 1;
		}
		memcpy(f->boundary, m->ent.boundary, m->ent.blen);
		f->blen = m->ent.blen;
		m->nmultipart++;
	}
	f->multipart = multipart;
	f->depth = m->ent.depth;
	m->nframes++;
	return true;
}

static void pop_frame(struct mime_parser *m, bool unterminated)
{
	struct frame *f = &m->frames[--m->nframes];
	if (f->multipart) {
		m->nmultipart--;
		if (unterminated)
			anomaly(m, MIME_ANOM_UNTERMINATED);
	}
}

/* ---- leaf content ------------------------------------------------------- */

static void deliver(void *ctx, const uint8_t *d, size_t n)
{
	struct mime_parser *m = ctx;
	if (!n)
		return;
	m->part_size += n;
	if (m->cb.part_data)
		m->cb.part_data(m->ctx, &m->part, d, n);
}

static void conv_input(struct mime_parser *m, const uint8_t *d, size_t n)
{
	if (m->conv_on)
		charset_stream_feed(&m->conv, d, n, deliver, m);
	else
		deliver(m, d, n);
}

static void base64_input(struct mime_parser *m, const uint8_t *d, size_t n)
{
	uint8_t out[3072];
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		/* Fast path: whole quanta of four alphabet characters, which is
		 * all of a base64 line but its line break.  Anything else (line
		 * ends, padding, bad characters, a quantum split across chunks)
		 * takes the careful byte-by-byte path below. */
		if (m->b64_n == 0 && !m->b64_pad) {
			while (i + 4 <= n && o <= sizeof(out) - 3) {
				unsigned a = b64_plus1[d[i]], b = b64_plus1[d[i + 1]];
				unsigned c2 = b64_plus1[d[i + 2]], e = b64_plus1[d[i + 3]];
				if (!a || !b || !c2 || !e)
					break;
				uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c2 - 1) << 6 | (e - 1);
				out[o++] = (uint8_t)(v >> 16);
				out[o++] = (uint8_t)(v >> 8);
				out[o++] = (uint8_t)v;
				i += 4;
			}
			if (o > sizeof(out) - 3) {
				conv_input(m, out, o);
				o = 0;
			}
			if (i >= n)
				break;
		}
		uint8_t c = d[i];
		int v = b64_value(c);
		if (v >= 0) {
			if (m->b64_pad) { /* data after padding: a second encoding glued on */
				anomaly(m, MIME_ANOM_BAD_BASE64);
				m->b64_pad = false;
			}
			m->b64_q[m->b64_n++] = (uint8_t)v;
			if (m->b64_n == 4) {
				out[o++] = (uint8_t)(m->b64_q[0] << 2 | m->b64_q[1] >> 4);
				out[o++] = (uint8_t)(m->b64_q[1] << 4 | m->b64_q[2] >> 2);
				out[o++] = (uint8_t)(m->b64_q[2] << 6 | m->b64_q[3]);
				m->b64_n = 0;
			}
		} else if (c == '=') {
			if (m->b64_n == 2) {
				out[o++] = (uint8_t)(m->b64_q[0] << 2 | m->b64_q[1] >> 4);
				m->b64_n = 0;
				m->b64_pad = true;
			} else if (m->b64_n == 3) {
				out[o++] = (uint8_t)(m->b64_q[0] << 2 | m->b64_q[1] >> 4);
				out[o++] = (uint8_t)(m->b64_q[1] << 4 | m->b64_q[2] >> 2);
				m->b64_n = 0;
				m->b64_pad = true;
			} else if (!(m->b64_n == 0 && m->b64_pad)) {
				m->st.base64_bad_chars++;
				anomaly(m, MIME_ANOM_BAD_BASE64);
			}
		} else if (!(c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
			m->st.base64_bad_chars++;
			anomaly(m, MIME_ANOM_BAD_BASE64);
		}
		if (o > sizeof(out) - 3) {
			conv_input(m, out, o);
			o = 0;
		}
	}
	conv_input(m, out, o);
}

static void base64_finish(struct mime_parser *m)
{
	uint8_t out[2];
	size_t o = 0;
	if (m->b64_n) /* missing padding, or a lone character */
		anomaly(m, MIME_ANOM_BAD_BASE64);
	if (m->b64_n >= 2)
		out[o++] = (uint8_t)(m->b64_q[0] << 2 | m->b64_q[1] >> 4);
	if (m->b64_n == 3)
		out[o++] = (uint8_t)(m->b64_q[1] << 4 | m->b64_q[2] >> 2);
	m->b64_n = 0;
	conv_input(m, out, o);
}

static void qp_input(struct mime_parser *m, const uint8_t *d, size_t n)
{
	uint8_t out[4096];
	size_t o = 0;
	size_t i = 0;
	while (i < n) {
		if (o > sizeof(out) - 20) {
			conv_input(m, out, o);
			o = 0;
		}
		uint8_t c = d[i];
		switch (m->qp) {
		case Q_NORMAL:
			if (c == '=')
				m->qp = Q_EQ;
			else
				out[o++] = c;
			i++;
			continue;
		case Q_EQ:
			if (hex_value(c) >= 0) {
				m->qp_hex = c;
				m->qp = Q_HEX;
			} else if (c == '\n') {
				m->qp = Q_NORMAL; /* soft line break */
			} else if (c == '\r') {
				m->qp = Q_CR;
			} else if (is_wsp(c)) {
				m->qp_ws[0] = c;
				m->qp_wsn = 1;
				m->qp = Q_WS;
			} else {
				anomaly(m, MIME_ANOM_BAD_QP);
				out[o++] = '=';
				m->qp = Q_NORMAL;
				continue; /* c again, as plain text */
			}
			i++;
			continue;
		case Q_HEX:
			m->qp = Q_NORMAL;
			if (hex_value(c) >= 0) {
				out[o++] = (uint8_t)(hex_value(m->qp_hex) * 16 + hex_value(c));
				i++;
			} else {
				anomaly(m, MIME_ANOM_BAD_QP);
				out[o++] = '=';
				out[o++] = m->qp_hex;
			}
			continue;
		case Q_CR:
			m->qp = Q_NORMAL;
			if (c == '\n')
				i++;
			else
				anomaly(m, MIME_ANOM_BAD_QP); /* "=" CR without LF: still a soft break */
			continue;
		case Q_WS:
			/* "=" then blanks then the line end: a soft break with padding */
			if (c == '\r' || c == '\n') {
				m->qp = c == '\r' ? Q_CR : Q_NORMAL;
				i++;
			} else if (is_wsp(c) && m->qp_wsn < sizeof(m->qp_ws)) {
				m->qp_ws[m->qp_wsn++] = c;
				i++;
			} else {
				anomaly(m, MIME_ANOM_BAD_QP);
				out[o++] = '=';
				memcpy(out + o, m->qp_ws, m->qp_wsn);
				o += m->qp_wsn;
				m->qp = Q_NORMAL;
			}
			continue;
		}
	}
	conv_input(m, out, o);
}

static void qp_finish(struct mime_parser *m)
{
	/* "=" (+ blanks) at the very end: a soft break whose line end went to the
	 * boundary.  "=X" is broken. */
	if (m->qp == Q_HEX) {
		uint8_t out[2] = {'=', m->qp_hex};
		anomaly(m, MIME_ANOM_BAD_QP);
		conv_input(m, out, 2);
	}
	m->qp = Q_NORMAL;
}

static void leaf_input(struct mime_parser *m, const uint8_t *d, size_t n)
{
	if (m->part_skipped || !n)
		return;
	switch (m->te) {
	case TE_BASE64:
		base64_input(m, d, n);
		break;
	case TE_QP:
		qp_input(m, d, n);
		break;
	case TE_IDENTITY:
		conv_input(m, d, n);
		break;
	}
}

static void begin_leaf(struct mime_parser *m, bool is_text)
{
	struct entity *e = &m->ent;
	struct mime_part *p = &m->part;
	m->mode = M_BODY;
	reset_lines(m);
	m->part_size = 0;
	m->part_open = true;
	if (m->st.parts >= m->lim.max_parts) {
		m->part_skipped = true;
		m->st.parts_skipped++;
		anomaly(m, MIME_ANOM_PARTS_CAP);
		return;
	}
	m->part_skipped = false;
	memset(p, 0, sizeof(*p));
	p->index = m->st.parts++;
	p->depth = e->depth;
	p->content_type = e->type[0] ? e->type : "text/plain";
	p->charset = e->charset;
	p->encoding = e->encoding[0] ? e->encoding : "7bit";
	p->disposition = e->disposition;
	p->filename = e->filename[0] ? e->filename : e->ct_name;
	p->field_name = e->field_name;
	p->is_text = is_text;
	p->is_attachment = p->filename[0] || strcmp(p->disposition, "attachment") == 0 || !is_text;

	m->te = TE_IDENTITY;
	m->b64_n = 0;
	m->b64_pad = false;
	m->qp = Q_NORMAL;
	if (strcmp(p->encoding, "base64") == 0)
		m->te = TE_BASE64;
	else if (strcmp(p->encoding, "quoted-printable") == 0)
		m->te = TE_QP;
	else if (strcmp(p->encoding, "7bit") && strcmp(p->encoding, "8bit") &&
		 strcmp(p->encoding, "binary"))
		anomaly(m, MIME_ANOM_UNKNOWN_ENCODING);

	m->conv_on = false;
	if (is_text) {
		const char *cs = e->charset[0] ? e->charset : "us-ascii";
		iconv_t cd = charset_open(&m->cache, cs, strlen(cs));
		if (cd == CHARSET_NONE) {
			anomaly(m, MIME_ANOM_UNKNOWN_CHARSET);
		} else {
			charset_stream_start(&m->conv, cd);
			m->conv.replacements = 0;
			m->conv_on = true;
		}
	}
	if (m->cb.part_begin)
		m->cb.part_begin(m->ctx, p);
}

static void end_leaf(struct mime_parser *m)
{
	if (!m->part_open)
		return;
	m->part_open = false;
	if (m->part_skipped)
		return;
	if (m->te == TE_BASE64)
		base64_finish(m);
	else if (m->te == TE_QP)
		qp_finish(m);
	if (m->conv_on) {
		charset_stream_finish(&m->conv, deliver, m);
		m->st.charset_replacements += m->conv.replacements;
		if (m->conv.replacements)
			anomaly(m, MIME_ANOM_BAD_CHARSET_DATA);
		m->conv_on = false;
	}
	if (m->cb.part_end)
		m->cb.part_end(m->ctx, &m->part, m->part_size);
}

static void end_headers(struct mime_parser *m)
{
	struct entity *e = &m->ent;
	const char *type = e->type[0] ? e->type : "text/plain";
	bool deeper_ok = e->depth < m->lim.max_depth && m->nframes < m->lim.max_depth;
	if (strncmp(type, "multipart/", 10) == 0) {
		if (!e->blen) {
			anomaly(m, MIME_ANOM_MISSING_BOUNDARY);
			begin_leaf(m, true);
		} else if (!deeper_ok) {
			anomaly(m, MIME_ANOM_DEPTH_CAP);
			begin_leaf(m, false);
		} else if (!push_frame(m, true)) {
			begin_leaf(m, false);
		} else {
			enter_skip(m, true);
		}
		return;
	}
	bool identity = !e->encoding[0] || strcmp(e->encoding, "7bit") == 0 ||
			strcmp(e->encoding, "8bit") == 0 || strcmp(e->encoding, "binary") == 0;
	if ((strcmp(type, "message/rfc822") == 0 || strcmp(type, "message/global") == 0) &&
	    identity) {
		if (!deeper_ok) {
			anomaly(m, MIME_ANOM_DEPTH_CAP);
			begin_leaf(m, false);
		} else if (!push_frame(m, false)) {
			begin_leaf(m, false);
		} else {
			start_entity(m, e->depth + 1);
		}
		return;
	}
	begin_leaf(m, strncmp(type, "text/", 5) == 0);
}

/* ---- boundaries ------------------------------------------------------- */

static bool match_boundary(const struct mime_parser *m, const uint8_t *l, size_t n,
			   uint32_t *idx, bool *close)
{
	if (n < 3 || l[0] != '-' || l[1] != '-')
		return false;
	while (n > 2 && is_wsp(l[n - 1]))
		n--;
	const uint8_t *r = l + 2;
	size_t rl = n - 2;
	for (uint32_t k = m->nframes; k-- > 0;) {
		const struct frame *f = &m->frames[k];
		if (!f->multipart)
			continue;
		if (rl == f->blen && memcmp(r, f->boundary, rl) == 0) {
			*idx = k;
			*close = false;
			return true;
		}
		if (rl == f->blen + 2 && memcmp(r, f->boundary, f->blen) == 0 && r[rl - 2] == '-' &&
		    r[rl - 1] == '-') {
			*idx = k;
			*close = true;
			return true;
		}
	}
	return false;
}

static void on_boundary(struct mime_parser *m, uint32_t idx, bool close)
{
	if (m->mode == M_HEADERS) {
		finish_field(m);
		end_headers(m);
	}
	if (m->mode == M_BODY)
		end_leaf(m);
	while (m->nframes > idx + 1)
		pop_frame(m, true);
	if (close) {
		pop_frame(m, false);
		enter_skip(m, false);
	} else {
		start_entity(m, m->frames[idx].depth + 1);
	}
}

/* ---- line scanning ----------------------------------------------------- */

static const uint8_t crlf[2] = {'\r', '\n'};

/* Content of the current BODY or SKIP region. */
static void content(struct mime_parser *m, const uint8_t *d, size_t n)
{
	if (!n)
		return;
	if (m->mode == M_BODY) {
		leaf_input(m, d, n);
	} else if (m->skip_preamble && !(m->st.anomalies & MIME_ANOM_PREAMBLE_DATA)) {
		/* Mailers put a one-line notice ("This is a multi-part message in
		 * MIME format.") here; only more text than such a notice, which
		 * readers never show and the parts do not contain, is flagged. */
		for (size_t i = 0; i < n; i++)
			if (!is_wsp(d[i]) && d[i] != '\r' && d[i] != '\n')
				m->preamble_text++;
		if (m->preamble_text > PREAMBLE_NOTICE_MAX)
			anomaly(m, MIME_ANOM_PREAMBLE_DATA);
	}
}

static void flush_eol(struct mime_parser *m)
{
	if (m->pend_eol)
		content(m, m->pend_eol == 2 ? crlf : crlf + 1, m->pend_eol);
	m->pend_eol = 0;
}

static size_t step_body(struct mime_parser *m, const uint8_t *d, size_t n)
{
	if (!m->nmultipart) { /* nothing can end this region but the message end */
		content(m, d, n);
		return n;
	}
	size_t i = 0;
	while (i < n) {
		if (m->ls == L_CAND) {
			uint8_t c = d[i];
			if (c == '\n') {
				i++;
				size_t ll = m->llen;
				bool cr = ll && m->lbuf[ll - 1] == '\r';
				if (cr)
					ll--;
				uint32_t idx;
				bool close;
				if (match_boundary(m, m->lbuf, ll, &idx, &close)) {
					m->pend_eol = 0; /* the line end before a boundary is the boundary's */
					m->llen = 0;
					on_boundary(m, idx, close);
					return i;
				}
				flush_eol(m);
				content(m, m->lbuf, ll);
				m->pend_eol = cr ? 2 : 1;
				m->llen = 0;
				continue;
			}
			if ((m->llen < 2 && c != '-') || m->llen >= m->cand_cap) {
				flush_eol(m);
				content(m, m->lbuf, m->llen);
				m->llen = 0;
				m->ls = L_PASS;
				continue;
			}
			m->lbuf[m->llen++] = c;
			i++;
			continue;
		}
		if (m->pend_cr) {
			m->pend_cr = false;
			if (d[i] == '\n') {
				i++;
				m->pend_eol = 2;
				m->ls = L_CAND;
				continue;
			}
			content(m, crlf, 1);
		}
		const uint8_t *lf = memchr(d + i, '\n', n - i);
		size_t end = lf ? (size_t)(lf - d) : n;
		size_t seg = end - i;
		bool cr = seg && d[end - 1] == '\r';
		content(m, d + i, cr ? seg - 1 : seg);
		if (lf) {
			m->pend_eol = cr ? 2 : 1;
			m->ls = L_CAND;
			i = end + 1;
		} else {
			m->pend_cr = cr;
			i = n;
		}
	}
	return n;
}

static void process_header_line(struct mime_parser *m, bool had_lf)
{
	uint8_t *l = m->lbuf;
	size_t n = m->llen;
	bool cr = n && l[n - 1] == '\r';
	if (cr)
		n--;
	m->ent.lines++;
	uint32_t idx;
	bool close;
	/* Same length rule as in bodies: a long line cut to fit is no boundary. */
	if (m->nmultipart && m->llen <= m->cand_cap && match_boundary(m, l, n, &idx, &close)) {
		on_boundary(m, idx, close);
		return;
	}
	if (n == 0) {
		finish_field(m);
		end_headers(m);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (l[i] == 0) {
			anomaly(m, MIME_ANOM_BAD_HEADER);
			l[i] = ' ';
		}
	}
	if (is_wsp(l[0])) {
		if (m->have_field)
			field_append(m, l, n);
		else
			anomaly(m, MIME_ANOM_BAD_HEADER);
		return;
	}
	finish_field(m);
	const uint8_t *colon = memchr(l, ':', n);
	bool name_ok = colon && colon > l;
	for (const uint8_t *p = l; name_ok && p < colon; p++)
		if (*p < 33 || *p > 126)
			name_ok = p > l && is_wsp(*p) && all_blank((const char *)p, (size_t)(colon - p));
	if (name_ok) {
		m->have_field = true;
		m->flen = 0;
		field_append(m, l, n);
		return;
	}
	anomaly(m, MIME_ANOM_BAD_HEADER);
	if (m->ent.lines == 1 && m->ent.depth == 0 && n >= 5 && memcmp(l, "From ", 5) == 0)
		return; /* mbox separator */
	/* Not a header: the header ended without its blank line and this is
	 * the first line of the body. */
	uint8_t *replay = (uint8_t *)m->value;
	memcpy(replay, l, n);
	m->replay_len = (uint32_t)n;
	if (had_lf) {
		if (cr)
			replay[m->replay_len++] = '\r';
		replay[m->replay_len++] = '\n';
	}
	end_headers(m);
}

static size_t step_headers(struct mime_parser *m, const uint8_t *d, size_t n)
{
	const uint8_t *lf = memchr(d, '\n', n);
	size_t seg = lf ? (size_t)(lf - d) : n;
	if (!m->discard_line) {
		size_t room = m->lcap - m->llen, k = seg < room ? seg : room;
		memcpy(m->lbuf + m->llen, d, k);
		m->llen += (uint32_t)k;
		if (k < seg) {
			anomaly(m, MIME_ANOM_HEADER_TOO_LONG);
			add_sat32(&m->st.header_bytes_truncated, seg - k);
			m->trunc_cr = d[seg - 1] == '\r';
		}
	}
	if (!lf)
		return n;
	if (m->trunc_cr && m->st.header_bytes_truncated) /* the line end is not a lost byte */
		m->st.header_bytes_truncated--;
	m->trunc_cr = false;
	if (m->discard_line) {
		m->discard_line = false;
		m->llen = 0;
		return seg + 1;
	}
	process_header_line(m, true);
	if (m->mode == M_HEADERS)
		m->llen = 0;
	return seg + 1;
}

static size_t step(struct mime_parser *m, const uint8_t *d, size_t n)
{
	return m->mode == M_HEADERS ? step_headers(m, d, n) : step_body(m, d, n);
}

static void run(struct mime_parser *m, const uint8_t *d, size_t n)
{
	for (;;) {
		if (m->replay_len) {
			/* The replayed line ends the buffer, so a nested replay can only
			 * be set once it is fully consumed.  The value buffer holding it
			 * is only written by finish_field, and a header step reaches that
			 * after it copied the whole line into lbuf. */
			const uint8_t *replay = (const uint8_t *)m->value;
			size_t rn = m->replay_len, off = 0;
			m->replay_len = 0;
			while (off < rn && !m->replay_len)
				off += step(m, replay + off, rn - off);
			continue;
		}
		if (!n)
			break;
		size_t used = step(m, d, n);
		d += used;
		n -= used;
	}
}

/* ---- public API --------------------------------------------------------- */

struct mime_parser *mime_parser_new(const struct mime_limits *limits,
				    const struct mime_callbacks *cb, void *ctx)
{
	struct mime_parser *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (limits)
		m->lim = *limits;
	else
		mime_limits_default(&m->lim);
	if (m->lim.max_header_line < 16)
		m->lim.max_header_line = 16;
	if (m->lim.max_header_line > (1u << 24))
		m->lim.max_header_line = 1u << 24;
	if (m->lim.max_boundary < 1)
		m->lim.max_boundary = 1;
	if (m->lim.max_boundary > 4096)
		m->lim.max_boundary = 4096;
	if (cb)
		m->cb = *cb;
	m->ctx = ctx;
	uint32_t hl = m->lim.max_header_line;
	m->cand_cap = 2 + m->lim.max_boundary + 2 + WS_ALLOW;
	/* + 1: a header line cut at lcap is longer than any boundary line */
	m->lcap = (hl > m->cand_cap ? hl : m->cand_cap) + 1;
	/* Decoded values grow: 1 byte of Latin-1 or one invalid byte is 2-3 of
	 * UTF-8.  The buffer also holds a line to replay (lbuf + line end). */
	m->value_cap = (size_t)hl * 3 + 4;
	if (m->value_cap < (size_t)m->lcap + 2)
		m->value_cap = (size_t)m->lcap + 2;
	m->lbuf = malloc(m->lcap + 1);
	m->field = malloc(hl + 1);
	m->value = malloc(m->value_cap);
	m->scratch = malloc(hl + 1);
	m->ent.boundary = malloc(m->lim.max_boundary + 1);
	if (!m->lbuf || !m->field || !m->value || !m->scratch ||
	    !m->ent.boundary) {
		mime_parser_free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->mem = sizeof(*m) + (m->lcap + 1) + 2 * ((size_t)hl + 1) + m->value_cap +
		 m->lim.max_boundary + 1;
	charset_cache_init(&m->cache);
	start_entity(m, 0);
	return m;
}

void mime_feed(struct mime_parser *m, const uint8_t *data, size_t len)
{
	if (!m->closed)
		run(m, data, len);
}

void mime_gap(struct mime_parser *m, uint64_t len)
{
	if (m->closed)
		return;
	anomaly(m, MIME_ANOM_GAP);
	m->st.gap_bytes += len;
	if (m->mode == M_HEADERS) {
		m->llen = 0;
		m->discard_line = true;
		return;
	}
	if (m->nmultipart) {
		/* What was held back came before the gap: it is content. */
		if (m->ls == L_CAND) {
			flush_eol(m);
			content(m, m->lbuf, m->llen);
		} else if (m->pend_cr) {
			content(m, crlf, 1);
		}
		m->llen = 0;
		m->pend_cr = false;
		m->ls = L_PASS; /* mid-line until the next line end */
	}
	if (m->mode == M_BODY && !m->part_skipped) {
		m->b64_n = 0;
		m->b64_pad = false;
		m->qp = Q_NORMAL;
		if (m->conv_on)
			charset_stream_reset(&m->conv);
	}
}

void mime_close(struct mime_parser *m)
{
	if (m->closed)
		return;
	if (m->mode == M_HEADERS) {
		if (m->llen && !m->discard_line) {
			process_header_line(m, false);
			m->llen = m->mode == M_HEADERS ? 0 : m->llen;
			run(m, NULL, 0);
		}
		/* An entity that never had a line (empty message, delimiter at the
		 * very end) is not a part. */
		if (m->mode == M_HEADERS && m->ent.lines) {
			finish_field(m);
			end_headers(m);
		}
	}
	if (m->mode != M_HEADERS && m->nmultipart) {
		if (m->ls == L_CAND) {
			size_t ll = m->llen;
			bool cr = ll && m->lbuf[ll - 1] == '\r';
			uint32_t idx;
			bool close;
			if (match_boundary(m, m->lbuf, cr ? ll - 1 : ll, &idx, &close)) {
				m->llen = 0;
				m->pend_eol = 0;
				on_boundary(m, idx, close);
			} else {
				flush_eol(m);
				content(m, m->lbuf, ll);
			}
		} else if (m->pend_cr) {
			content(m, crlf, 1);
		}
		reset_lines(m);
	}
	if (m->mode == M_BODY)
		end_leaf(m);
	while (m->nframes)
		pop_frame(m, true);
	m->closed = true;
}

void mime_parser_free(struct mime_parser *m)
{
	if (!m)
		return;
	charset_cache_fini(&m->cache);
	for (uint32_t i = 0; i < m->frames_cap; i++)
		free(m->frames[i].boundary);
	free(m->frames);
	free(m->lbuf);
	free(m->field);
	free(m->value);
	free(m->scratch);
	free(m->ent.boundary);
	free(m);
}

const struct mime_stats *mime_parser_stats(const struct mime_parser *m)
{
	return &m->st;
}

size_t mime_parser_memory(const struct mime_parser *m)
{
	return m->mem;
}
