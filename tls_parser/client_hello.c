/* TLS ClientHello parser.
 *
 * Two layers: the record layer (5-byte headers, checked byte by byte so that
 * any segmentation decides at the same stream offset) collects the handshake
 * message; once it is whole, parse_body() walks it with bounded cursors.  The
 * message is copied only when it is not whole inside one feed call's record
 * payload; the common single-segment case is parsed in place.
 *
 * SSLv2-style hellos (first byte with the high bit set, message type 1) are
 * reported as TLS_CH_NOT_TLS with TLS_CH_ANOM_SSLV2: there is no TLS record
 * framing to fingerprint, and a policy that wants to refuse them sees the bit.
 *
 * A handshake message of another type than client_hello is TLS_CH_MALFORMED
 * without an anomaly bit (TLS framing, but not what a client must send
 * first).  A record that breaks before the ClientHello ended (another content
 * type, bad version, zero or oversize length) is TLS_CH_MALFORMED with
 * TLS_CH_ANOM_BAD_LENGTH: the message overruns the records carrying it. */
#include "tls_parser/client_hello.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define TLS_DEFAULT_MAX_BYTES (64u * 1024u)
#define TLS_RECORD_MAX (16384u + 2048u) /* TLSCiphertext bound: plaintext may not be bigger */
#define TLS_BUF_MIN 1024u
#define SCRATCH_STACK 128u

#define EXT_SERVER_NAME 0x0000
#define EXT_SIG_ALGS 0x000d
#define EXT_ALPN 0x0010
#define EXT_SUPPORTED_VERSIONS 0x002b
#define EXT_ECH 0xfe0d
#define EXT_ESNI 0xffce

struct tls_ch_parser {
	struct tls_client_hello ch;
	enum tls_ch_status st;
	size_t max_bytes;
	size_t consumed;     /* stream bytes looked at */
	uint8_t hdr[5];      /* record header being read */
	uint8_t hdr_have;
	unsigned records;
	size_t rec_left;     /* payload bytes of the current record not yet read */
	uint8_t hs[4];       /* handshake header: type, 24-bit length */
	uint8_t hs_have;
	size_t body_len;     /* declared body length, once hs_have == 4 */
	uint8_t *body;       /* copied body bytes (only when not parsed in place) */
	size_t body_have, body_alloc;
};

const char *tls_ch_status_name(enum tls_ch_status s)
{
	switch (s) {
	case TLS_CH_NEED_MORE: return "need_more";
	case TLS_CH_DONE: return "done";
	case TLS_CH_NOT_TLS: return "not_tls";
	case TLS_CH_MALFORMED: return "malformed";
	case TLS_CH_TOO_LARGE: return "too_large";
	}
	return "unknown";
}

const char *tls_ch_anomaly_name(uint32_t bit)
{
	static const char *const names[TLS_CH_ANOM_COUNT] = {
		"no_sni", "ech", "esni", "bad_sni", "fragmented", "bad_length",
		"duplicate_ext", "sslv2", "alpn_truncated",
	};
	for (unsigned i = 0; i < TLS_CH_ANOM_COUNT; i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

/* RFC 8701: 0x0a0a, 0x1a1a ... 0xfafa. */
static bool is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* ---- bounded cursor --------------------------------------------------- */

/* decl: where the container ends by its length field; avail: where the bytes
 * we hold end (before decl when the stream was cut at max_bytes). */
struct cur {
	const uint8_t *p;
	size_t pos, decl, avail;
};

enum rd { RD_OK = 0, RD_TRUNC, RD_BAD };

static size_t cur_left(const struct cur *c)
{
	return c->decl - c->pos;
}

static enum rd cur_take(struct cur *c, size_t n, const uint8_t **out)
{
	if (n > c->decl - c->pos)
		return RD_BAD;
	if (c->avail < c->pos || n > c->avail - c->pos)
		return RD_TRUNC;
	*out = c->p ? c->p + c->pos : NULL; /* no bytes held: only n == 0 gets here */
	c->pos += n;
	return RD_OK;
}

static enum rd cur_u8(struct cur *c, unsigned *v)
{
	const uint8_t *b;
	enum rd r = cur_take(c, 1, &b);
	if (r == RD_OK)
		*v = b[0];
	return r;
}

static enum rd cur_u16(struct cur *c, unsigned *v)
{
	const uint8_t *b;
	enum rd r = cur_take(c, 2, &b);
	if (r == RD_OK)
		*v = rd16(b);
	return r;
}

/* A nested container of n declared bytes. */
static enum rd cur_sub(struct cur *c, size_t n, struct cur *s)
{
	if (n > c->decl - c->pos)
		return RD_BAD;
	s->p = c->p;
	s->pos = c->pos;
	s->decl = c->pos + n;
	s->avail = c->avail < s->decl ? c->avail : s->decl;
	c->pos += n;
	return RD_OK;
}

static bool cur_whole(const struct cur *c)
{
	return c->avail >= c->decl;
}

/* ---- small u16 arrays: stack first, heap for long lists ----------------- */

struct u16v {
	uint16_t *v;
	size_t n, cap;
	uint16_t stack[SCRATCH_STACK];
};

static bool u16v_init(struct u16v *a, size_t cap)
{
	a->n = 0;
	a->cap = cap;
	a->v = a->stack;
	if (cap > SCRATCH_STACK) {
		a->v = malloc(cap * sizeof(uint16_t));
		if (!a->v) {
			a->cap = 0;
			return false;
		}
	}
	return true;
}

static void u16v_free(struct u16v *a)
{
	if (a->v != a->stack)
		free(a->v);
}

static void u16v_push(struct u16v *a, uint16_t x)
{
	if (a->n < a->cap)
		a->v[a->n++] = x;
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/* ---- JA4 --------------------------------------------------------------- */

/* Hex list "0a0b,1301" hashed in chunks; the sig list follows after '_'.
 * ctx is reused across calls (Init resets it). */
static bool sha_list(EVP_MD_CTX *ctx, const uint16_t *a, size_t n, const uint16_t *b, size_t nb,
		     char out[13])
{
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		return false;
	char buf[512];
	size_t used = 0;
	bool ok = true;
	for (size_t i = 0; i < n + nb && ok; i++) {
		uint16_t v = i < n ? a[i] : b[i - n];
		char sep = i == 0 ? 0 : (i == n ? '_' : ',');
		if (sep)
			buf[used++] = sep;
		snprintf(buf + used, 5, "%04x", v);
		used += 4;
		if (used > sizeof(buf) - 8) {
			ok = EVP_DigestUpdate(ctx, buf, used);
			used = 0;
		}
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (ok && used)
		ok = EVP_DigestUpdate(ctx, buf, used);
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 6;
	if (!ok)
		return false;
	for (unsigned i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return true;
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	}
	return "00";
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ---- ClientHello body ---------------------------------------------------- */

struct walk {
	struct tls_client_hello *ch;
	struct cur ciphers;       /* the cipher list, when whole */
	bool have_ciphers;
	struct cur sigalgs;       /* the first signature_algorithms list */
	bool have_sigalgs;
	struct u16v exts;         /* extension types in order, GREASE included */
	unsigned sni_exts, sni_names;
	bool sni_bad;
	const uint8_t *sni;
	size_t sni_len;
	bool have_alpn_first;
	size_t alpn_first_len;
	uint8_t alpn_a, alpn_z;   /* first and last byte of the first protocol */
	size_t alpn_len;
	unsigned alpn_parts;
	bool alpn_full;
	bool have_max;
	uint16_t max_version;
};

static bool sni_plausible(const uint8_t *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

static enum rd ext_sni(struct walk *w, struct cur *x)
{
	unsigned ll, t, n;
	const uint8_t *v;
	enum rd r;
	w->sni_exts++;
	if ((r = cur_u16(x, &ll)) != RD_OK)
		return r;
	if (ll != cur_left(x))
		return RD_BAD;
	while (cur_left(x) > 0) {
		if ((r = cur_u8(x, &t)) != RD_OK || (r = cur_u16(x, &n)) != RD_OK ||
		    (r = cur_take(x, n, &v)) != RD_OK)
			return r;
		if (t == 0) {
			if (w->sni_names++ == 0) {
				w->sni = v;
				w->sni_len = n;
			}
		}
	}
	return RD_OK;
}

/* Protocol names are printable ASCII but arrive as bytes: anything else,
 * and the separator and escape characters, are written \xHH so the list
 * stays unambiguous and printable. */
static bool alpn_plain(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != ',' && c != '\\';
}

static size_t alpn_escaped_len(const uint8_t *v, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += alpn_plain(v[i]) ? 1 : 4;
	return len;
}

static void alpn_append(struct walk *w, const uint8_t *v, size_t n)
{
	char *out = w->ch->alpn;
	size_t add = alpn_escaped_len(v, n) + (w->alpn_parts ? 1 : 0);
	if (w->alpn_full || w->alpn_len + add > TLS_ALPN_MAX) {
		w->alpn_full = true; /* whole protocols only: never half an escape */
		w->ch->anomalies |= TLS_CH_ANOM_ALPN_TRUNCATED;
		return;
	}
	size_t o = w->alpn_len;
	if (w->alpn_parts)
		out[o++] = ',';
	for (size_t i = 0; i < n; i++) {
		if (alpn_plain(v[i]))
			out[o++] = (char)v[i];
		else {
			snprintf(out + o, 5, "\\x%02x", v[i]);
			o += 4;
		}
	}
	out[o] = '\0';
	w->alpn_len = o;
	w->alpn_parts++;
}

static enum rd ext_alpn(struct walk *w, struct cur *x)
{
	unsigned ll, n;
	const uint8_t *v;
	enum rd r;
	if ((r = cur_u16(x, &ll)) != RD_OK)
		return r;
	if (ll != cur_left(x))
		return RD_BAD;
	while (cur_left(x) > 0) {
		if ((r = cur_u8(x, &n)) != RD_OK || (r = cur_take(x, n, &v)) != RD_OK)
			return r;
		if (!w->have_alpn_first) {
			w->have_alpn_first = true;
			w->alpn_first_len = n;
			w->alpn_a = n ? v[0] : 0;
			w->alpn_z = n ? v[n - 1] : 0;
		}
		alpn_append(w, v, n);
	}
	return RD_OK;
}

static enum rd ext_versions(struct walk *w, struct cur *x)
{
	unsigned ll, v;
	enum rd r;
	if ((r = cur_u8(x, &ll)) != RD_OK)
		return r;
	if (ll != cur_left(x) || (ll & 1))
		return RD_BAD;
	while (cur_left(x) > 0) {
		if ((r = cur_u16(x, &v)) != RD_OK)
			return r;
		if (!is_grease((uint16_t)v) && (!w->have_max || v > w->max_version)) {
			w->have_max = true;
			w->max_version = (uint16_t)v;
		}
	}
	return RD_OK;
}

static enum rd ext_sigalgs(struct walk *w, struct cur *x)
{
	unsigned ll;
	enum rd r;
	if ((r = cur_u16(x, &ll)) != RD_OK)
		return r;
	if (ll != cur_left(x) || (ll & 1))
		return RD_BAD;
	if (!w->have_sigalgs) {
		w->have_sigalgs = true;
		cur_sub(x, ll, &w->sigalgs);
	}
	return RD_OK;
}

/* Walks the extension block; RD_BAD when its framing breaks. */
static enum rd walk_exts(struct walk *w, struct cur *er)
{
	while (cur_left(er) > 0) {
		unsigned et, ln;
		struct cur x;
		enum rd r;
		if ((r = cur_u16(er, &et)) != RD_OK || (r = cur_u16(er, &ln)) != RD_OK ||
		    (r = cur_sub(er, ln, &x)) != RD_OK)
			return r;
		if (!cur_whole(&x))
			return RD_TRUNC; /* only whole extensions count */
		u16v_push(&w->exts, (uint16_t)et);
		switch (et) {
		case EXT_SERVER_NAME: r = ext_sni(w, &x); break;
		case EXT_ALPN: r = ext_alpn(w, &x); break;
		case EXT_SUPPORTED_VERSIONS: r = ext_versions(w, &x); break;
		case EXT_SIG_ALGS: r = ext_sigalgs(w, &x); break;
		case EXT_ECH: w->ch->anomalies |= TLS_CH_ANOM_ECH; break;
		case EXT_ESNI: w->ch->anomalies |= TLS_CH_ANOM_ESNI; break;
		default: break;
		}
		/* The extension is whole, so only its inner lengths can be wrong. */
		if (r != RD_OK) {
			w->ch->anomalies |= TLS_CH_ANOM_BAD_LENGTH;
			if (et == EXT_SERVER_NAME)
				w->sni_bad = true;
		}
	}
	return RD_OK;
}

/* Walks the fixed fields; RD_TRUNC when the bytes held end first. */
static enum rd walk_hello(struct walk *w, struct cur *r)
{
	unsigned v, sid, cl, comp, el;
	const uint8_t *b;
	struct cur cr, er;
	enum rd rc;
	if ((rc = cur_u16(r, &v)) != RD_OK)
		return rc;
	w->ch->legacy_version = (uint16_t)v;
	w->ch->max_version = (uint16_t)v;
	if ((rc = cur_take(r, 32, &b)) != RD_OK || (rc = cur_u8(r, &sid)) != RD_OK)
		return rc;
	if (sid > 32)
		return RD_BAD;
	if ((rc = cur_take(r, sid, &b)) != RD_OK || (rc = cur_u16(r, &cl)) != RD_OK)
		return rc;
	if (cl == 0 || (cl & 1))
		return RD_BAD;
	if ((rc = cur_sub(r, cl, &cr)) != RD_OK)
		return rc;
	if (!cur_whole(&cr))
		return RD_TRUNC;
	w->ciphers = cr;
	w->have_ciphers = true;
	if ((rc = cur_u8(r, &comp)) != RD_OK)
		return rc;
	if (comp == 0)
		return RD_BAD;
	if ((rc = cur_take(r, comp, &b)) != RD_OK)
		return rc;
	if (cur_left(r) == 0)
		return RD_OK; /* no extensions: allowed before TLS 1.3 */
	if ((rc = cur_u16(r, &el)) != RD_OK)
		return rc;
	if (el != cur_left(r))
		return RD_BAD;
	if ((rc = cur_sub(r, el, &er)) != RD_OK)
		return rc;
	if (!u16v_init(&w->exts, el / 4))
		return RD_TRUNC; /* no memory for the list: report what we have */
	return walk_exts(w, &er);
}

/* FoxIO JA4 for TLS over TCP (see docs/tls.md). */
static void compute_ja4(struct walk *w)
{
	struct tls_client_hello *ch = w->ch;
	struct u16v c, e, sa;
	size_t nc = cur_left(&w->ciphers) / 2;
	size_t ns = w->have_sigalgs ? cur_left(&w->sigalgs) / 2 : 0;
	if (!u16v_init(&c, nc))
		return;
	if (!u16v_init(&e, w->exts.n)) {
		u16v_free(&c);
		return;
	}
	if (!u16v_init(&sa, ns)) {
		u16v_free(&c);
		u16v_free(&e);
		return;
	}
	for (size_t i = 0; i < nc; i++) {
		uint16_t v = rd16(w->ciphers.p + w->ciphers.pos + 2 * i);
		if (!is_grease(v))
			u16v_push(&c, v);
	}
	for (size_t i = 0; i < ns; i++) {
		uint16_t v = rd16(w->sigalgs.p + w->sigalgs.pos + 2 * i);
		if (!is_grease(v))
			u16v_push(&sa, v);
	}
	for (size_t i = 0; i < w->exts.n; i++) {
		uint16_t v = w->exts.v[i];
		if (!is_grease(v) && v != EXT_SERVER_NAME && v != EXT_ALPN)
			u16v_push(&e, v);
	}
	qsort(c.v, c.n, sizeof(uint16_t), cmp_u16);
	qsort(e.v, e.n, sizeof(uint16_t), cmp_u16);

	char alpn[3] = "00";
	if (w->have_alpn_first && w->alpn_first_len) {
		if (is_alnum(w->alpn_a) && is_alnum(w->alpn_z)) {
			alpn[0] = (char)w->alpn_a;
			alpn[1] = (char)w->alpn_z;
		} else {
			static const char hex[] = "0123456789abcdef";
			alpn[0] = hex[w->alpn_a >> 4];
			alpn[1] = hex[w->alpn_z & 0xf];
		}
	}
	char hc[13] = "000000000000", he[13] = "000000000000";
	/* One digest context for both hashes: one allocation per ClientHello. */
	bool hashing = c.n || e.n;
	EVP_MD_CTX *md = hashing ? EVP_MD_CTX_new() : NULL;
	bool ok = md || !hashing;
	if (ok && c.n)
		ok = sha_list(md, c.v, c.n, NULL, 0, hc);
	if (ok && e.n)
		ok = sha_list(md, e.v, e.n, sa.v, sa.n, he);
	EVP_MD_CTX_free(md);
	/* The counts are parse_body's: GREASE left out, SNI and ALPN counted. */
	if (ok)
		snprintf(ch->ja4, sizeof(ch->ja4), "t%s%c%02u%02u%s_%s_%s",
			 ja4_version(ch->max_version), w->sni_exts ? 'd' : 'i',
			 ch->cipher_count > 99 ? 99u : (unsigned)ch->cipher_count,
			 ch->extension_count > 99 ? 99u : (unsigned)ch->extension_count, alpn, hc, he);
	u16v_free(&c);
	u16v_free(&e);
	u16v_free(&sa);
}

/* Fills p->ch from a body of which have of body_len bytes are held. */
static void parse_body(struct tls_ch_parser *p, const uint8_t *body, size_t have)
{
	struct tls_client_hello *ch = &p->ch;
	struct walk w;
	memset(&w, 0, sizeof w);
	w.ch = ch;
	struct cur r = {body, 0, p->body_len, have < p->body_len ? have : p->body_len};
	bool complete = have >= p->body_len;
	enum rd rc = walk_hello(&w, &r);
	if (rc == RD_BAD)
		ch->anomalies |= TLS_CH_ANOM_BAD_LENGTH;
	else if (rc == RD_TRUNC)
		complete = false;

	if (w.have_ciphers) {
		size_t n = 0;
		for (size_t i = 0; i + 2 <= cur_left(&w.ciphers); i += 2)
			n += !is_grease(rd16(w.ciphers.p + w.ciphers.pos + i));
		ch->cipher_count = (uint16_t)n;
	}
	size_t ne = 0;
	for (size_t i = 0; i < w.exts.n; i++)
		ne += !is_grease(w.exts.v[i]);
	ch->extension_count = (uint16_t)ne;
	if (w.exts.n > 1) {
		/* Duplicates: sort a copy, w.exts stays in the order sent. */
		struct u16v s;
		if (u16v_init(&s, w.exts.n)) {
			memcpy(s.v, w.exts.v, w.exts.n * sizeof(uint16_t));
			s.n = w.exts.n;
			qsort(s.v, s.n, sizeof(uint16_t), cmp_u16);
			for (size_t i = 1; i < s.n; i++)
				if (s.v[i] == s.v[i - 1])
					ch->anomalies |= TLS_CH_ANOM_DUPLICATE_EXT;
			u16v_free(&s);
		}
	}
	if (w.have_max)
		ch->max_version = w.max_version;

	ch->sni[0] = '\0';
	if (w.sni_exts) {
		if (w.sni_bad || w.sni_exts > 1 || w.sni_names != 1 ||
		    !sni_plausible(w.sni, w.sni_len)) {
			ch->anomalies |= TLS_CH_ANOM_BAD_SNI;
		} else {
			for (size_t i = 0; i < w.sni_len; i++) {
				char c = (char)w.sni[i];
				ch->sni[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
			}
			ch->sni[w.sni_len] = '\0';
		}
	} else if (complete && rc == RD_OK) {
		/* only when every extension was seen */
		ch->anomalies |= TLS_CH_ANOM_NO_SNI;
	}
	if (complete && !(ch->anomalies & TLS_CH_ANOM_BAD_LENGTH) && w.have_ciphers)
		compute_ja4(&w);
	u16v_free(&w.exts);
}

/* ---- record layer ---------------------------------------------------------- */

static void finish_partial(struct tls_ch_parser *p)
{
	if (p->hs_have == 4)
		parse_body(p, p->body, p->body_have);
}

static enum tls_ch_status fail_record(struct tls_ch_parser *p)
{
	p->ch.anomalies |= TLS_CH_ANOM_BAD_LENGTH;
	p->st = TLS_CH_MALFORMED;
	finish_partial(p);
	return p->st;
}

static void finish_whole(struct tls_ch_parser *p, const uint8_t *body)
{
	parse_body(p, body, p->body_len);
	p->st = (p->ch.anomalies & TLS_CH_ANOM_BAD_LENGTH) ? TLS_CH_MALFORMED : TLS_CH_DONE;
}

/* One more header byte is in hdr[]: decide what can be decided. */
static void header_byte(struct tls_ch_parser *p)
{
	const uint8_t *h = p->hdr;
	unsigned n = p->hdr_have;
	if (p->records == 0 && h[0] != 0x16) {
		if (!(h[0] & 0x80)) {
			p->st = TLS_CH_NOT_TLS;
		} else if (n == 4) {
			/* SSLv2 record: 2-byte length, msg_type 1, version 0x0002 or 0x03xx */
			if (h[2] == 1 && (h[3] == 0 || h[3] == 3))
				p->ch.anomalies |= TLS_CH_ANOM_SSLV2;
			p->st = TLS_CH_NOT_TLS;
		}
		return;
	}
	bool broken = (n >= 2 && h[1] != 3) || (n >= 3 && h[2] > 4);
	if (p->records == 0 && broken) {
		p->st = TLS_CH_NOT_TLS;
		return;
	}
	if (p->records > 0 && (h[0] != 0x16 || broken)) {
		fail_record(p);
		return;
	}
	if (n < 5)
		return;
	size_t rl = (size_t)rd16(h + 3);
	if (rl == 0 || rl > TLS_RECORD_MAX) {
		fail_record(p);
		return;
	}
	if (p->records == 0)
		p->ch.record_version = rd16(h + 1);
	p->records++;
	if (p->records > 1)
		p->ch.anomalies |= TLS_CH_ANOM_FRAGMENTED;
	p->rec_left = rl;
	p->hdr_have = 0;
}

static bool body_reserve(struct tls_ch_parser *p, size_t want)
{
	if (want <= p->body_alloc)
		return true;
	/* Doubling, but never past the declared body or the stream cap: a
	 * length field alone does not buy memory, bytes that arrived do. */
	size_t a = p->body_alloc ? p->body_alloc * 2 : TLS_BUF_MIN;
	if (a > p->body_len)
		a = p->body_len;
	if (a > p->max_bytes)
		a = p->max_bytes;
	if (a < want)
		a = want;
	uint8_t *nb = realloc(p->body, a);
	if (!nb)
		return false;
	p->body = nb;
	p->body_alloc = a;
	return true;
}

/* Record payload bytes; returns how many were used. */
static size_t payload(struct tls_ch_parser *p, const uint8_t *d, size_t n)
{
	size_t used = 0;
	while (used < n && p->hs_have < 4) {
		p->hs[p->hs_have++] = d[used++];
		if (p->hs_have == 1 && p->hs[0] != 1) {
			p->st = TLS_CH_MALFORMED; /* not a client_hello */
			return used;
		}
		if (p->hs_have == 4) {
			p->body_len = (size_t)p->hs[1] << 16 | (size_t)p->hs[2] << 8 | p->hs[3];
			p->ch.length = (uint32_t)p->body_len;
		}
	}
	if (p->hs_have < 4)
		return used;
	size_t want = p->body_len - p->body_have;
	if (p->body_have == 0 && n - used >= want) {
		finish_whole(p, d + used); /* the whole body is here: parse in place */
		return used + want;
	}
	size_t take = n - used < want ? n - used : want;
	if (take == 0)
		return used;
	if (!body_reserve(p, p->body_have + take)) {
		/* No memory to hold the message: as if it had passed the cap. */
		p->st = TLS_CH_TOO_LARGE;
		finish_partial(p);
		return used;
	}
	memcpy(p->body + p->body_have, d + used, take);
	p->body_have += take;
	used += take;
	if (p->body_have == p->body_len)
		finish_whole(p, p->body);
	return used;
}

struct tls_ch_parser *tls_ch_new(size_t max_bytes)
{
	struct tls_ch_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->max_bytes = max_bytes ? max_bytes : TLS_DEFAULT_MAX_BYTES;
	return p;
}

enum tls_ch_status tls_ch_feed(struct tls_ch_parser *p, const uint8_t *data, size_t len)
{
	while (p->st == TLS_CH_NEED_MORE && len > 0 && p->consumed < p->max_bytes) {
		size_t room = p->max_bytes - p->consumed;
		if (p->rec_left == 0) {
			p->hdr[p->hdr_have++] = *data++;
			len--;
			p->consumed++;
			header_byte(p);
			continue;
		}
		size_t n = len < p->rec_left ? len : p->rec_left;
		if (n > room)
			n = room;
		size_t used = payload(p, data, n);
		p->rec_left -= used;
		p->consumed += used;
		data += used;
		len -= used;
	}
	if (p->st == TLS_CH_NEED_MORE && p->consumed >= p->max_bytes) {
		p->st = TLS_CH_TOO_LARGE;
		finish_partial(p);
		if (p->ch.anomalies & TLS_CH_ANOM_BAD_LENGTH)
			p->st = TLS_CH_MALFORMED;
	}
	return p->st;
}

enum tls_ch_status tls_ch_status(const struct tls_ch_parser *p)
{
	return p->st;
}

const struct tls_client_hello *tls_ch_result(const struct tls_ch_parser *p)
{
	return &p->ch;
}

void tls_ch_free(struct tls_ch_parser *p)
{
	if (!p)
		return;
	free(p->body);
	free(p);
}

enum tls_ch_status tls_ch_parse(const uint8_t *data, size_t len, struct tls_client_hello *out)
{
	struct tls_ch_parser p;
	memset(&p, 0, sizeof p);
	p.max_bytes = TLS_DEFAULT_MAX_BYTES;
	enum tls_ch_status st = tls_ch_feed(&p, data, len);
	*out = p.ch;
	free(p.body);
	return st;
}

int tls_detect(const uint8_t *data, size_t len)
{
	if (len < 1)
		return -1;
	if (data[0] != 0x16)
		return 0;
	if (len < 2)
		return -1;
	if (data[1] != 3)
		return 0;
	if (len < 3)
		return -1;
	if (data[2] > 4)
		return 0;
	if (len < 5)
		return -1;
	size_t rl = rd16(data + 3);
	if (rl == 0 || rl > TLS_RECORD_MAX)
		return 0;
	if (len < 6)
		return -1;
	return data[5] == 1;
}
