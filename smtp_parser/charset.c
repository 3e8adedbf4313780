/* Charset conversion to UTF-8; the contract is in charset.h.
 *
 * Aliases follow what mail clients do rather than the letter of the
 * registry: EUC-KR is decoded as CP949 (Korean mailers send UHC characters
 * under that label), Shift_JIS as CP932, GB2312/GBK as GB18030, Big5 as
 * Big5-HKSCS and ISO-8859-1 as windows-1252 (WHATWG).  us-ascii is read as
 * UTF-8: plain ASCII is the same, and mislabelled 8-bit text is far more
 * often UTF-8 than anything else today. */
#include "smtp_parser/charset.h"

#include "common/utf8.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

static const struct {
	const char *alias;
	const char *iconv_name;
} charset_aliases[] = {
	{"utf-8", "UTF-8"},
	{"utf8", "UTF-8"},
	{"us-ascii", "UTF-8"},
	{"ascii", "UTF-8"},
	{"ansi_x3.4-1968", "UTF-8"},
	{"unicode-1-1-utf-8", "UTF-8"},
	{"euc-kr", "CP949"},
	{"euckr", "CP949"},
	{"cseuckr", "CP949"},
	{"ks_c_5601-1987", "CP949"},
	{"ks_c_5601-1989", "CP949"},
	{"ks_c_5601", "CP949"},
	{"ksc5601", "CP949"},
	{"ksc_5601", "CP949"},
	{"csksc56011987", "CP949"},
	{"iso-ir-149", "CP949"},
	{"korean", "CP949"},
	{"cp949", "CP949"},
	{"windows-949", "CP949"},
	{"uhc", "CP949"},
	{"shift_jis", "CP932"},
	{"shift-jis", "CP932"},
	{"sjis", "CP932"},
	{"ms_kanji", "CP932"},
	{"csshiftjis", "CP932"},
	{"windows-31j", "CP932"},
	{"cp932", "CP932"},
	{"ms932", "CP932"},
	{"ms-cp932", "CP932"},
	{"iso-2022-jp", "ISO-2022-JP-3"},
	{"csiso2022jp", "ISO-2022-JP-3"},
	{"euc-jp", "EUC-JP-MS"},
	{"cseucpkdfmtjapanese", "EUC-JP-MS"},
	{"gb2312", "GB18030"},
	{"gb_2312-80", "GB18030"},
	{"csgb2312", "GB18030"},
	{"euc-cn", "GB18030"},
	{"gbk", "GB18030"},
	{"cp936", "GB18030"},
	{"ms936", "GB18030"},
	{"windows-936", "GB18030"},
	{"chinese", "GB18030"},
	{"gb18030", "GB18030"},
	{"big5", "BIG5-HKSCS"},
	{"big-5", "BIG5-HKSCS"},
	{"cn-big5", "BIG5-HKSCS"},
	{"csbig5", "BIG5-HKSCS"},
	{"big5-hkscs", "BIG5-HKSCS"},
	{"iso-8859-1", "CP1252"},
	{"iso8859-1", "CP1252"},
	{"iso_8859-1", "CP1252"},
	{"latin1", "CP1252"},
	{"l1", "CP1252"},
	{"cp819", "CP1252"},
	{"tis-620", "CP874"},
	{"iso-8859-11", "CP874"},
	{"windows-874", "CP874"},
};


static bool charset_name_char(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':' || c == '+';
}

bool charset_normalize(const char *declared, size_t len, char *buf, size_t cap)
{
	while (len && (declared[0] == ' ' || declared[0] == '\t' || declared[0] == '"')) {
		declared++;
		len--;
	}
	while (len && (declared[len - 1] == ' ' || declared[len - 1] == '\t' ||
		       declared[len - 1] == '"'))
		len--;
	char low[CHARSET_NAME_MAX];
	if (len == 0 || len >= sizeof(low) || cap < sizeof(low))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)declared[i];
		if (!charset_name_char(c))
			return false;
		low[i] = (char)tolower(c);
	}
	low[len] = 0;
	const char *key = low;
	/* "x-sjis", "x-euc-kr", "x-cp1252"...: the experimental prefix adds nothing. */
	if (len > 2 && low[0] == 'x' && low[1] == '-')
		key = low + 2;
	/* UTF-7 and HZ keep shift state across arbitrarily many input bytes, so
	 * glibc's converters cannot be fed in chunks with a bounded carry: the
	 * result would depend on where the chunks fall.  They are treated as
	 * unknown (passed through, flagged); legitimate mail does not use them. */
	if (strstr(key, "utf-7") || strstr(key, "utf7") || !strncmp(key, "hz", 2))
		return false;
	for (size_t i = 0; i < sizeof(charset_aliases) / sizeof(charset_aliases[0]); i++) {
		if (strcmp(key, charset_aliases[i].alias) == 0) {
			strcpy(buf, charset_aliases[i].iconv_name);
			return true;
		}
	}
	size_t n = strlen(key);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)toupper((unsigned char)key[i]);
	buf[n] = 0;
	return true;
}

void charset_cache_init(struct charset_cache *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < CHARSET_CACHE_SLOTS; i++)
		c->slot[i].cd = CHARSET_NONE;
}

void charset_cache_fini(struct charset_cache *c)
{
	for (size_t i = 0; i < CHARSET_CACHE_SLOTS; i++) {
		if (c->slot[i].cd != CHARSET_NONE)
			iconv_close(c->slot[i].cd);
		c->slot[i].cd = CHARSET_NONE;
		c->slot[i].name[0] = 0;
	}
}

iconv_t charset_open(struct charset_cache *c, const char *declared, size_t len)
{
	char name[CHARSET_NAME_MAX];
	if (!charset_normalize(declared, len, name, sizeof(name)))
		return CHARSET_NONE;
	if (strcmp(name, "UTF-8") == 0)
		return CHARSET_UTF8;
	c->tick++;
	struct charset_slot *victim = &c->slot[0];
	for (size_t i = 0; i < CHARSET_CACHE_SLOTS; i++) {
		struct charset_slot *s = &c->slot[i];
		if (s->name[0] && strcmp(s->name, name) == 0) {
			s->last_use = c->tick;
			if (s->cd != CHARSET_NONE)
				iconv(s->cd, NULL, NULL, NULL, NULL);
			return s->cd;
		}
		if (!s->name[0])
			victim = s;
		else if (victim->name[0] && s->last_use < victim->last_use)
			victim = s;
	}
	if (victim->cd != CHARSET_NONE)
		iconv_close(victim->cd);
	strcpy(victim->name, name);
	victim->cd = iconv_open("UTF-8", name);
	victim->last_use = c->tick;
	return victim->cd;
}

static const char replacement_char[3] = {'\xEF', '\xBF', '\xBD'};

size_t charset_convert(iconv_t cd, const uint8_t *in, size_t len, char *out, size_t cap,
		       uint64_t *repl)
{
	if (cd == CHARSET_UTF8)
		return utf8_sanitize(in, len, out, cap, repl);
	char *ip = (char *)(uintptr_t)in, *op = out;
	size_t il = len, ol = cap;
	while (il) {
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			return cap - ol;
		/* EILSEQ: one bad byte; EINVAL: an incomplete sequence at the end. */
		(*repl)++;
		if (ol >= 3) {
			memcpy(op, replacement_char, 3);
			op += 3;
			ol -= 3;
		}
		if (errno == EINVAL)
			break;
		ip++;
		il--;
	}
	iconv(cd, NULL, NULL, &op, &ol);
	return cap - ol;
}

void charset_stream_start(struct charset_stream *s, iconv_t cd)
{
	s->cd = cd;
	s->carry_len = 0;
	if (cd != CHARSET_NONE && cd != CHARSET_UTF8)
		iconv(cd, NULL, NULL, NULL, NULL);
}

/* stream_run for UTF-8: copies valid sequences, replaces invalid bytes, stops
 * before a sequence that is valid so far but cut by the end of the input. */
static size_t utf8_run(struct charset_stream *s, const uint8_t *in, size_t len,
		       charset_emit_fn emit, void *ctx)
{
	size_t i = 0, start = 0;
	while (i < len) {
		if (in[i] < 0x80) {
			i++;
			continue;
		}
		bool incomplete;
		size_t n = utf8_seq_len(in + i, len - i, &incomplete);
		if (n) {
			i += n;
			continue;
		}
		if (i > start)
			emit(ctx, in + start, i - start);
		if (incomplete)
			return i;
		s->replacements++;
		emit(ctx, (const uint8_t *)replacement_char, 3);
		start = ++i;
	}
	if (i > start)
		emit(ctx, in + start, i - start);
	return len;
}

/* Converts until the input ends or an incomplete sequence remains; returns
 * the bytes consumed.  Invalid bytes become U+FFFD one at a time. */
static size_t stream_run(struct charset_stream *s, const uint8_t *in, size_t len,
			 charset_emit_fn emit, void *ctx)
{
	if (s->cd == CHARSET_UTF8)
		return utf8_run(s, in, len, emit, ctx);
	char obuf[4096];
	char *ip = (char *)(uintptr_t)in;
	size_t il = len;
	while (il) {
		char *op = obuf;
		size_t ol = sizeof(obuf);
		size_t r = iconv(s->cd, &ip, &il, &op, &ol);
		int err = r == (size_t)-1 ? errno : 0;
		if (op > obuf)
			emit(ctx, (const uint8_t *)obuf, (size_t)(op - obuf));
		if (!err || err == EINVAL)
			break;
		if (err == E2BIG)
			continue;
		s->replacements++;
		emit(ctx, (const uint8_t *)replacement_char, 3);
		ip++;
		il--;
	}
	return len - il;
}

static void stream_drop_first(struct charset_stream *s, charset_emit_fn emit, void *ctx)
{
	s->replacements++;
	emit(ctx, (const uint8_t *)replacement_char, 3);
	memmove(s->carry, s->carry + 1, s->carry_len - 1);
	s->carry_len--;
}

void charset_stream_feed(struct charset_stream *s, const uint8_t *in, size_t len,
			 charset_emit_fn emit, void *ctx)
{
	while (len) {
		if (s->carry_len) {
			/* Complete the held sequence with the next bytes. */
			size_t k = CHARSET_CARRY_MAX - s->carry_len;
			if (k > len)
				k = len;
			memcpy(s->carry + s->carry_len, in, k);
			s->carry_len += k;
			in += k;
			len -= k;
			size_t used = stream_run(s, s->carry, s->carry_len, emit, ctx);
			memmove(s->carry, s->carry + used, s->carry_len - used);
			s->carry_len -= used;
			if (s->carry_len == CHARSET_CARRY_MAX) /* no character is that long */
				stream_drop_first(s, emit, ctx);
			continue;
		}
		size_t used = stream_run(s, in, len, emit, ctx);
		in += used;
		len -= used;
		/* Same cap as the carry path: a full carry is never kept, so whole
		 * and chunked feeding drop the same bytes. */
		if (len >= CHARSET_CARRY_MAX) {
			s->replacements++;
			emit(ctx, (const uint8_t *)replacement_char, 3);
			in++;
			len--;
		} else if (len) {
			memcpy(s->carry, in, len);
			s->carry_len = len;
			len = 0;
		}
	}
}

void charset_stream_finish(struct charset_stream *s, charset_emit_fn emit, void *ctx)
{
	if (s->carry_len) {
		s->replacements++;
		emit(ctx, (const uint8_t *)replacement_char, 3);
		s->carry_len = 0;
	}
	if (s->cd == CHARSET_UTF8)
		return;
	char obuf[64];
	char *op = obuf;
	size_t ol = sizeof(obuf);
	iconv(s->cd, NULL, NULL, &op, &ol);
	if (op > obuf)
		emit(ctx, (const uint8_t *)obuf, (size_t)(op - obuf));
}

void charset_stream_reset(struct charset_stream *s)
{
	s->carry_len = 0;
	if (s->cd != CHARSET_NONE && s->cd != CHARSET_UTF8)
		iconv(s->cd, NULL, NULL, NULL, NULL);
}

