/* libFuzzer target for the TLS ClientHello parser.
 *
 * Input: byte 0 picks the cap (0-127: default 64 KiB, else a small cap of
 * (b - 127) * 97 bytes so TOO_LARGE is reached), byte 1 seeds the chunking;
 * the rest is the client's stream.  The stream is parsed whole, byte by byte
 * and in random chunks: the three results must be identical.  Also checked:
 * strings terminated inside their arrays, SNI lower-case host characters,
 * JA4 shape, status and anomalies consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_parser/client_hello.h"

static void fz_fail(void)
{
	abort();
}

struct res {
	enum tls_ch_status st;
	struct tls_client_hello ch;
};

static void run(const uint8_t *d, size_t n, size_t max, uint32_t seed, int how, struct res *r)
{
	struct tls_ch_parser *p = tls_ch_new(max);
	if (!p)
		fz_fail();
	size_t off = 0;
	while (off < n) {
		size_t k = n - off;
		if (how == 1)
			k = 1;
		else if (how == 2) {
			seed = seed * 1103515245u + 12345u;
			size_t c = (seed >> 16) % 64 + 1;
			if (c < k)
				k = c;
		}
		enum tls_ch_status st = tls_ch_feed(p, d + off, k);
		if (st != tls_ch_status(p))
			fz_fail();
		off += k;
	}
	if (n == 0)
		tls_ch_feed(p, d, 0);
	r->st = tls_ch_status(p);
	r->ch = *tls_ch_result(p);
	tls_ch_free(p);
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void check_one(const struct res *r)
{
	const struct tls_client_hello *ch = &r->ch;
	if (!terminated(ch->sni, sizeof ch->sni) || !terminated(ch->alpn, sizeof ch->alpn) ||
	    !terminated(ch->ja4, sizeof ch->ja4))
		fz_fail();
	if (strlen(ch->alpn) > TLS_ALPN_MAX)
		fz_fail();
	for (const char *s = ch->sni; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '.' || *s == '_'))
			fz_fail();
	for (const char *s = ch->alpn; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			fz_fail();
	size_t jl = strlen(ch->ja4);
	if (jl != 0 && (jl != 36 || ch->ja4[0] != 't' || ch->ja4[10] != '_' || ch->ja4[23] != '_'))
		fz_fail();
	if (r->st == TLS_CH_DONE && (ch->anomalies & TLS_CH_ANOM_BAD_LENGTH))
		fz_fail();
	if (jl && r->st != TLS_CH_DONE)
		fz_fail();
	if (ch->sni[0] && (ch->anomalies & (TLS_CH_ANOM_BAD_SNI | TLS_CH_ANOM_NO_SNI)))
		fz_fail();
	if ((ch->anomalies & TLS_CH_ANOM_SSLV2) && r->st != TLS_CH_NOT_TLS)
		fz_fail();
	if (ch->anomalies >> TLS_CH_ANOM_COUNT)
		fz_fail();
}

static bool same(const struct res *a, const struct res *b)
{
	return a->st == b->st && a->ch.record_version == b->ch.record_version &&
	       a->ch.legacy_version == b->ch.legacy_version &&
	       a->ch.max_version == b->ch.max_version && strcmp(a->ch.sni, b->ch.sni) == 0 &&
	       strcmp(a->ch.alpn, b->ch.alpn) == 0 && a->ch.cipher_count == b->ch.cipher_count &&
	       a->ch.extension_count == b->ch.extension_count &&
	       strcmp(a->ch.ja4, b->ch.ja4) == 0 && a->ch.anomalies == b->ch.anomalies &&
	       a->ch.length == b->ch.length;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t max = data[0] < 128 ? 0 : (size_t)(data[0] - 127) * 97;
	uint32_t seed = data[1];
	const uint8_t *d = data + 2;
	size_t n = size - 2;

	struct res whole, bytes, chunks;
	run(d, n, max, seed, 0, &whole);
	run(d, n, max, seed, 1, &bytes);
	run(d, n, max, seed, 2, &chunks);
	check_one(&whole);
	if (!same(&whole, &bytes) || !same(&whole, &chunks))
		fz_fail();
	if (max == 0) {
		struct tls_client_hello ch;
		struct res one = {tls_ch_parse(d, n, &ch), ch};
		if (!same(&whole, &one))
			fz_fail();
	}
	/* A stream tls_detect() accepts is TLS framing to the parser too. */
	if (tls_detect(d, n) == 1 && whole.st == TLS_CH_NOT_TLS)
		fz_fail();
	if (max && whole.st == TLS_CH_NEED_MORE && n >= max)
		fz_fail();
	return 0;
}
