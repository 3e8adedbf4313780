/* TLS ClientHello parser: the first flight of a client's TLS connection, fed
 * as it arrives (any TCP segmentation; the handshake message may also span
 * several TLS records).  Reports SNI, ALPN, versions and a JA4 fingerprint.
 *
 * Bounded: at most max_bytes of the client stream are looked at; a
 * ClientHello larger than that is reported as TLS_CH_TOO_LARGE with what was
 * parsed.  Byte-by-byte feeding gives the same result as whole-buffer. */
#ifndef POSTERN_TLS_PARSER_CLIENT_HELLO_H
#define POSTERN_TLS_PARSER_CLIENT_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_ch_status {
	TLS_CH_NEED_MORE = 0,  /* feed more bytes */
	TLS_CH_DONE,           /* a complete ClientHello was parsed */
	TLS_CH_NOT_TLS,        /* the stream does not start with a TLS handshake record */
	TLS_CH_MALFORMED,      /* TLS framing, but the ClientHello is broken (see anomalies) */
	TLS_CH_TOO_LARGE,      /* past max_bytes before the ClientHello ended */
};
const char *tls_ch_status_name(enum tls_ch_status s); /* "need_more", "done", ... */

enum tls_ch_anomaly {
	TLS_CH_ANOM_NO_SNI = 1u << 0,         /* no server_name extension */
	TLS_CH_ANOM_ECH = 1u << 1,            /* encrypted_client_hello (0xfe0d): the real SNI is hidden */
	TLS_CH_ANOM_ESNI = 1u << 2,           /* draft encrypted SNI (0xffce) */
	TLS_CH_ANOM_BAD_SNI = 1u << 3,        /* server_name malformed, not a host name, or several names */
	TLS_CH_ANOM_FRAGMENTED = 1u << 4,     /* the ClientHello spans several TLS records */
	TLS_CH_ANOM_BAD_LENGTH = 1u << 5,     /* a length field overruns its container */
	TLS_CH_ANOM_DUPLICATE_EXT = 1u << 6,
	TLS_CH_ANOM_SSLV2 = 1u << 7,          /* SSLv2-style hello: not parsed */
	TLS_CH_ANOM_ALPN_TRUNCATED = 1u << 8, /* protocols past TLS_ALPN_MAX left out of alpn */
};
#define TLS_CH_ANOM_COUNT 9
const char *tls_ch_anomaly_name(uint32_t bit);

#define TLS_SNI_MAX 255
#define TLS_ALPN_MAX 256
struct tls_client_hello {
	uint16_t record_version;   /* of the first record */
	uint16_t legacy_version;   /* client_version field */
	uint16_t max_version;      /* highest of supported_versions (GREASE left out), else legacy_version */
	char sni[TLS_SNI_MAX + 1]; /* lower case host name; "" if none */
	char alpn[TLS_ALPN_MAX + 1]; /* protocols in order, comma separated ("h2,http/1.1") */
	uint16_t cipher_count;     /* GREASE left out */
	uint16_t extension_count;  /* GREASE left out */
	char ja4[40];              /* e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1" */
	uint32_t anomalies;        /* enum tls_ch_anomaly bits */
	uint32_t length;           /* handshake message bytes */
};

struct tls_ch_parser;
/* max_bytes 0 = default (64 KiB).  NULL with errno on failure. */
struct tls_ch_parser *tls_ch_new(size_t max_bytes);
/* Client-to-server bytes.  Once the status is not NEED_MORE it stays. */
enum tls_ch_status tls_ch_feed(struct tls_ch_parser *p, const uint8_t *data, size_t len);
enum tls_ch_status tls_ch_status(const struct tls_ch_parser *p);
/* The parsed fields: complete when DONE, partial otherwise. */
const struct tls_client_hello *tls_ch_result(const struct tls_ch_parser *p);
void tls_ch_free(struct tls_ch_parser *p);

/* Parse a whole buffer in one call (tests, fuzzing). */
enum tls_ch_status tls_ch_parse(const uint8_t *data, size_t len, struct tls_client_hello *out);

/* Do these first client bytes start a TLS handshake record?  1, 0, or -1 (too few). */
int tls_detect(const uint8_t *data, size_t len);

#endif
