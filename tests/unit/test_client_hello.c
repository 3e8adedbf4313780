/* TLS ClientHello parser tests.
 *
 * Real captures (tests/pcaps/public/tls_*): every TCP connection's client
 * bytes, rebuilt by the flow table, are fed in the capture's segmentation,
 * byte by byte and as one buffer; the three results must agree, and match
 * the table below, written by tests/tls/ja4_reference.py (an independent
 * Python implementation; tests/tls/ja4_tshark_check.py checks that one
 * against tshark's dissection).  Then synthetic ClientHellos: the JA4 spec's
 * own example, records, GREASE, ECH/ESNI, SNI and ALPN oddities, a bad value
 * in every length field, caps, non-TLS and SSLv2.
 *
 * argv[1]: the source root. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reassembly/decode.h"
#include "reassembly/flow.h"
#include "tls_parser/client_hello.h"
#include "tests/unit/testlib.h"

/* ---- running a parser several ways -------------------------------------- */

struct outcome {
	enum tls_ch_status st;
	struct tls_client_hello ch;
};

static void run_chunked(const uint8_t *b, size_t n, size_t max_bytes, size_t chunk,
			struct outcome *o)
{
	struct tls_ch_parser *p = tls_ch_new(max_bytes);
	CHECK(p != NULL);
	if (!p)
		return;
	size_t off = 0;
	while (off < n) {
		size_t k = n - off < chunk ? n - off : chunk;
		enum tls_ch_status s = tls_ch_feed(p, b + off, k);
		off += k;
		if (s != TLS_CH_NEED_MORE)
			break;
	}
	/* A finished parser ignores further bytes. */
	if (tls_ch_status(p) != TLS_CH_NEED_MORE) {
		static const uint8_t junk[3] = {0x16, 0x03, 0x01};
		CHECK_EQ_U(tls_ch_feed(p, junk, sizeof junk), tls_ch_status(p));
	}
	o->st = tls_ch_status(p);
	o->ch = *tls_ch_result(p);
	tls_ch_free(p);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->st == b->st && a->ch.record_version == b->ch.record_version &&
	       a->ch.legacy_version == b->ch.legacy_version &&
	       a->ch.max_version == b->ch.max_version && strcmp(a->ch.sni, b->ch.sni) == 0 &&
	       strcmp(a->ch.alpn, b->ch.alpn) == 0 && a->ch.cipher_count == b->ch.cipher_count &&
	       a->ch.extension_count == b->ch.extension_count &&
	       strcmp(a->ch.ja4, b->ch.ja4) == 0 && a->ch.anomalies == b->ch.anomalies &&
	       a->ch.length == b->ch.length;
}

/* Whole buffer, byte by byte and odd chunk sizes must give one answer. */
static void run_all(const uint8_t *b, size_t n, size_t max_bytes, struct outcome *o)
{
	static const size_t chunks[] = {1, 2, 3, 7, 64, 1000};
	run_chunked(b, n, max_bytes, n ? n : 1, o);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct outcome c;
		run_chunked(b, n, max_bytes, chunks[i], &c);
		if (!same(o, &c)) {
			fprintf(stderr, "chunk %zu: %s/%s/%s/%x vs whole %s/%s/%s/%x\n", chunks[i],
				tls_ch_status_name(c.st), c.ch.sni, c.ch.ja4, c.ch.anomalies,
				tls_ch_status_name(o->st), o->ch.sni, o->ch.ja4, o->ch.anomalies);
			CHECK(same(o, &c));
		}
	}
	if (max_bytes == 0) {
		struct tls_client_hello ch;
		enum tls_ch_status st = tls_ch_parse(b, n, &ch);
		struct outcome w = {st, ch};
		CHECK(same(o, &w));
	}
}

static void anomaly_list(uint32_t bits, char *out, size_t cap)
{
	out[0] = '\0';
	for (unsigned i = 0; i < TLS_CH_ANOM_COUNT; i++) {
		if (!(bits & (1u << i)))
			continue;
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", l ? "," : "", tls_ch_anomaly_name(1u << i));
	}
}

/* ---- real captures -------------------------------------------------------- */

struct expect {
	const char *file;
	unsigned cport, sport;
	const char *status;
	unsigned length;
	const char *sni, *alpn, *ja4, *anomalies;
};

/* tests/tls/ja4_reference.py --c-table tests/pcaps/public/tls_* */
static const struct expect expected[] = {
	{"tls_ch_missing_fragment.pcap", 33063, 443, "need_more", 1496, "", "", "", ""},
	{"tls_ch_mtu300.pcap", 38576, 443, "done", 508, "www.google.com", "h2,http/1.1", "t12d8008h2_9cedc1f1428b_046e095b7c4a", ""},
	{"tls_ch_split_segments.pcap", 49927, 443, "done", 1720, "clients2.google.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_02713d6af862", "ech"},
	{"tls_ech_cloudflare.pcapng", 47460, 443, "done", 575, "performance.radar.cloudflare.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_02713d6af862", "ech"},
	{"tls_esni_no_sni.pcap", 49886, 443, "done", 707, "", "h2,http/1.1", "t13i1813h2_29a2cd9e9f10_0d6ff543c596", "no_sni,esni"},
	{"tls_esni_no_sni.pcap", 49887, 443, "done", 707, "", "h2,http/1.1", "t13i1813h2_29a2cd9e9f10_0d6ff543c596", "no_sni,esni"},
	{"tls_esni_no_sni.pcap", 49897, 443, "done", 707, "", "h2,http/1.1", "t13i1813h2_29a2cd9e9f10_0d6ff543c596", "no_sni,esni"},
	{"tls_huge_ch_11k.pcapng", 40640, 443, "done", 11414, "", "h2,http/1.1", "t13i1811h2_f71e3e15ae0d_5c3a8cf9b2bc", "no_sni"},
	{"tls_imaps_2sessions.pcap", 50506, 993, "done", 218, "mail.ntop.org", "", "t12d330700_81acdcf97981_3304d8368043", ""},
	{"tls_imaps_2sessions.pcap", 51529, 993, "done", 508, "imap.asia.secureserver.net", "", "t13d261200_2802a3db6c62_845d286b0d67", ""},
	{"tls_mail_yandex_com.pcap", 3627, 443, "done", 508, "mail.yandex.com", "spdy/3,spdy/3.1,http/1.1", "t12d1511s3_23c751c1cee3_f2efb249ca37", ""},
	{"tls_multi_sni_sites.pcapng", 46160, 443, "done", 372, "edge-mqtt.facebook.com", "h2,h2-fb", "t00d0309h2_55b375c5d22e_2d3f7b9fe3d5", ""},
	{"tls_multi_sni_sites.pcapng", 41878, 443, "done", 508, "vcs-va.tiktokv.com", "h2,http/1.1", "t13d1615h2_46e7e9700bed_45f260be83e2", ""},
	{"tls_multi_sni_sites.pcapng", 50071, 443, "done", 508, "presence.fuze.com", "h2,http/1.1", "t13d1515h2_8daaf6152771_de4a06bb82e3", ""},
	{"tls_multi_sni_sites.pcapng", 50620, 443, "done", 508, "upload.wikimedia.org", "h2,http/1.1", "t13d1815h2_e8a523a41297_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 39890, 80, "not_tls", 0, "", "", "", ""},
	{"tls_multi_sni_sites.pcapng", 46724, 443, "done", 508, "f.vimeocdn.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_multi_sni_sites.pcapng", 48918, 443, "done", 508, "prod-static.disney-plus.net", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 39248, 443, "done", 508, "api.accuweather.com", "http/1.1", "t13d1713h1_5b57614c22b0_eca864cca44a", ""},
	{"tls_multi_sni_sites.pcapng", 35054, 443, "done", 508, "www.badoo.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 53998, 443, "done", 508, "www.gitlab.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 42580, 443, "done", 508, "www.activision.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 46084, 443, "done", 508, "gql.twitch.tv", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 51806, 443, "done", 508, "soundcloud.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 48140, 443, "done", 508, "cdn.cnn.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 40832, 443, "done", 508, "www.ebay.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 42884, 443, "done", 508, "assets.ubuntu.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 51432, 443, "done", 508, "hulu.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 47122, 443, "done", 508, "kerve.last.fm", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 43412, 443, "done", 508, "www.bloomberg.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 57014, 443, "done", 508, "sourcepointcmp.bloomberg.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 48654, 443, "done", 508, "www.linkedin.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 39934, 443, "done", 508, "pastebin.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 57336, 443, "done", 508, "www.playstation.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 46264, 443, "done", 508, "static.playstation.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 43150, 443, "done", 508, "deezer.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 38858, 443, "done", 508, "maps.google.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 48902, 443, "done", 508, "account.xbox.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 39828, 443, "done", 508, "outlook.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 45898, 443, "done", 508, "guzzoni.apple.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 57878, 443, "done", 508, "teams.office.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_multi_sni_sites.pcapng", 33664, 443, "done", 508, "www.primevideo.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 56458, 443, "done", 508, "drive.google.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 33102, 443, "done", 508, "onedrive.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 56836, 443, "done", 508, "onedrive.live.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 45014, 443, "done", 508, "www.iflix.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 50608, 443, "done", 508, "googleplus.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 53978, 443, "done", 508, "pandora.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_3d5424432f57", ""},
	{"tls_multi_sni_sites.pcapng", 33920, 443, "done", 508, "origin-a.akamaihd.net", "", "t13d571100_131602cb7446_24695f2957a7", ""},
	{"tls_multi_sni_sites.pcapng", 49950, 443, "done", 508, "accounts.ea.com", "", "t13d571100_131602cb7446_24695f2957a7", ""},
	{"tls_multi_sni_sites.pcapng", 54690, 443, "done", 655, "cloud.huawei.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 49558, 443, "done", 659, "id7.cloud.huawei.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 39970, 443, "done", 669, "contentcenter-dre.dbankcdn.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 48594, 443, "done", 655, "web.telegram.org", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 48616, 443, "done", 643, "t.me", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 48624, 443, "done", 650, "telegram.me", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 46174, 443, "done", 830, "732231.ms.ok.ru", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 55272, 443, "done", 508, "opportunarch.iqiyi.com", "h2,http/1.1", "t13d3113h2_e8f1e7e78f70_1b3407e2c936", ""},
	{"tls_multi_sni_sites.pcapng", 55468, 443, "done", 559, "stc.iqiyipic.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_02713d6af862", "ech"},
	{"tls_multi_sni_sites.pcapng", 55280, 443, "done", 508, "msg.qy.net", "h2,http/1.1", "t13d3113h2_e8f1e7e78f70_1b3407e2c936", ""},
	{"tls_multi_sni_sites.pcapng", 49217, 443, "done", 508, "meet27083742.adobeconnect.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_multi_sni_sites.pcapng", 50142, 443, "done", 647, "bsky.app", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 55362, 443, "done", 650, "bsky.social", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 33212, 443, "done", 670, "enoki.us-east.host.bsky.network", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 35968, 443, "done", 654, "mastodon.social", "h2,http/1.1", "t13d1715h2_5b57614c22b0_5c2c66f702b0", "ech"},
	{"tls_multi_sni_sites.pcapng", 58624, 443, "done", 1144, "s1.nordcdn.com", "h2,http/1.1", "t13d1715h2_5b57614c22b0_7121afd63204", "ech"},
	{"tls_multi_sni_sites.pcapng", 44102, 443, "done", 1947, "it-mil-v086.prod.surfshark.com", "h2,http/1.1", "t13d1517h2_8daaf6152771_b0da82dd1658", "ech"},
	{"tls_no_sni_hrr.pcap", 63564, 443, "done", 227, "", "", "t13i040900_16476d049b0b_78f1d400d464", "no_sni"},
	{"tls_o365_subset.pcap", 60534, 443, "done", 237, "login.microsoftonline.com", "h2,h2-16,h2-15,h2-14,spdy/3.1,spdy/3,http/1.1", "t12d2010h2_2a284e3b0c56_f05fdf8c38a9", ""},
	{"tls_o365_subset.pcap", 60549, 443, "done", 202, "substrate.office.com", "h2,http/1.1", "t12d1311h2_8b80da21ef18_77989cba1f4a", ""},
	{"tls_o365_subset.pcap", 60556, 443, "done", 237, "login.microsoftonline.com", "h2,h2-16,h2-15,h2-14,spdy/3.1,spdy/3,http/1.1", "t12d2010h2_2a284e3b0c56_f05fdf8c38a9", ""},
	{"tls_o365_subset.pcap", 60560, 443, "done", 237, "login.microsoftonline.com", "h2,h2-16,h2-15,h2-14,spdy/3.1,spdy/3,http/1.1", "t12d2010h2_2a284e3b0c56_f05fdf8c38a9", ""},
	{"tls_pq_kyber_google.pcap", 13783, 443, "done", 1747, "lh3.google.com", "h2,http/1.1", "t13d1516h2_8daaf6152771_02713d6af862", "ech"},
	{"tls_smtps_465_no_sni.pcapng", 37682, 465, "done", 508, "", "", "t12i860600_e18388e7f3a3_4446390ac224", "no_sni"},
	{"tls_yandex_incl_mail.pcapng", 40218, 443, "done", 508, "music.yandex.kz", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 57126, 443, "done", 508, "yastatic.net", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 42102, 443, "done", 508, "yastatic.net", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 40870, 443, "done", 508, "fenek.market.yandex.ru", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 57322, 443, "done", 508, "cloud.yandex.ru", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 58832, 443, "done", 508, "direct.yandex.kz", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 42954, 443, "done", 508, "1.downloader.disk.yandex.kz", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 45224, 443, "done", 508, "mail.yandex.kz", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
	{"tls_yandex_incl_mail.pcapng", 51462, 443, "done", 508, "metrika.yandex.kz", "h2,http/1.1", "t13d1516h2_8daaf6152771_e5627efa2ab1", ""},
};

/* The same streams looked at through a smaller max_bytes
 * (ja4_reference.py --c-table --max-bytes N FILE). */
static const struct {
	size_t max_bytes;
	struct expect e;
} expected_capped[] = {
	{4096, {"tls_huge_ch_11k.pcapng", 40640, 443, "too_large", 11414, "", "h2,http/1.1", "", ""}},
	{4096, {"tls_ch_split_segments.pcap", 49927, 443, "done", 1720, "clients2.google.com",
		"h2,http/1.1", "t13d1516h2_8daaf6152771_02713d6af862", "ech"}},
	{300, {"tls_ch_mtu300.pcap", 38576, 443, "too_large", 508, "www.google.com", "", "", ""}},
};

#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))
#define N_CAPPED (sizeof(expected_capped) / sizeof(expected_capped[0]))
#define STREAM_CAP (1u << 17)

struct cap_flow {
	unsigned cport, sport;
	struct tls_ch_parser *live; /* fed as the flow table delivers */
	uint8_t *buf;
	size_t len;
	bool gap;
	unsigned chunks;
};

struct cap_run {
	const char *file;
	unsigned seen[N_EXPECTED];
	unsigned capped_seen[N_CAPPED];
	unsigned flows_with_data, multi_chunk;
};

static void check_expect(const struct expect *e, const struct outcome *o)
{
	char an[128];
	anomaly_list(o->ch.anomalies, an, sizeof an);
	bool ok = strcmp(tls_ch_status_name(o->st), e->status) == 0 && o->ch.length == e->length &&
		  strcmp(o->ch.sni, e->sni) == 0 && strcmp(o->ch.alpn, e->alpn) == 0 &&
		  strcmp(o->ch.ja4, e->ja4) == 0 && strcmp(an, e->anomalies) == 0;
	if (!ok)
		fprintf(stderr, "%s %u->%u: got %s %u \"%s\" \"%s\" \"%s\" \"%s\"\n", e->file, e->cport,
			e->sport, tls_ch_status_name(o->st), o->ch.length, o->ch.sni, o->ch.alpn,
			o->ch.ja4, an);
	CHECK(ok);
}

/* Created on the first client bytes (or hole): callbacks may set the app. */
static struct cap_flow *get_cf(struct flow *f)
{
	struct cap_flow *cf = flow_get_app(f);
	if (cf)
		return cf;
	cf = calloc(1, sizeof(*cf));
	CHECK(cf != NULL);
	if (!cf)
		return NULL;
	cf->cport = flow_get_info(f)->tuple.client_port;
	cf->sport = flow_get_info(f)->tuple.server_port;
	flow_set_app(f, cf);
	return cf;
}

static void cap_data(void *u, struct flow *f, enum flow_dir d, const uint8_t *data, size_t len)
{
	(void)u;
	if (d != FLOW_DIR_TO_SERVER)
		return;
	struct cap_flow *cf = get_cf(f);
	if (!cf || cf->gap)
		return;
	if (!cf->buf) {
		cf->buf = malloc(STREAM_CAP);
		cf->live = tls_ch_new(0);
		CHECK(cf->buf && cf->live);
		if (!cf->buf || !cf->live)
			return;
	}
	size_t n = len < STREAM_CAP - cf->len ? len : STREAM_CAP - cf->len;
	memcpy(cf->buf + cf->len, data, n);
	cf->len += n;
	cf->chunks++;
	tls_ch_feed(cf->live, data, len);
}

static void cap_gap(void *u, struct flow *f, enum flow_dir d, uint64_t len)
{
	(void)u;
	(void)len;
	if (d != FLOW_DIR_TO_SERVER)
		return;
	struct cap_flow *cf = get_cf(f);
	if (cf)
		cf->gap = true; /* the parser sees only the bytes before a hole */
}

static void cap_eof(void *u, struct flow *f, enum flow_dir d)
{
	(void)u;
	(void)f;
	(void)d;
}

static void cap_end(void *u, struct flow *f, enum flow_end_reason why)
{
	(void)why;
	struct cap_run *run = u;
	struct cap_flow *cf = flow_get_app(f);
	if (!cf)
		return;
	if (cf->len && cf->live) {
		run->flows_with_data++;
		run->multi_chunk += cf->chunks > 1;
		struct outcome live = {tls_ch_status(cf->live), *tls_ch_result(cf->live)}, all;
		run_all(cf->buf, cf->len, 0, &all);
		CHECK(same(&live, &all));
		bool found = false;
		for (size_t i = 0; i < N_EXPECTED; i++) {
			const struct expect *e = &expected[i];
			if (strcmp(e->file, run->file) || e->cport != cf->cport || e->sport != cf->sport)
				continue;
			found = true;
			run->seen[i]++;
			check_expect(e, &all);
		}
		if (!found)
			fprintf(stderr, "%s %u->%u: no expected row\n", run->file, cf->cport, cf->sport);
		CHECK(found);
		for (size_t i = 0; i < N_CAPPED; i++) {
			const struct expect *e = &expected_capped[i].e;
			if (strcmp(e->file, run->file) || e->cport != cf->cport || e->sport != cf->sport)
				continue;
			struct outcome o;
			run_all(cf->buf, cf->len, expected_capped[i].max_bytes, &o);
			check_expect(e, &o);
			run->capped_seen[i]++;
		}
	}
	tls_ch_free(cf->live);
	free(cf->buf);
	free(cf);
	flow_set_app(f, NULL);
}

static void run_capture(const char *root, const char *file, struct cap_run *run)
{
	char path[4096], err[PCAP_ERRBUF_SIZE];
	snprintf(path, sizeof path, "%s/tests/pcaps/public/%s", root, file);
	pcap_t *pc = pcap_open_offline(path, err);
	CHECK(pc != NULL);
	if (!pc) {
		fprintf(stderr, "%s: %s\n", path, err);
		return;
	}
	run->file = file;
	struct decoder_config dcfg;
	decoder_config_default(&dcfg);
	struct decoder *dec = decoder_new(&dcfg);
	struct flow_table_config fcfg;
	flow_table_config_default(&fcfg);
	fcfg.allow_midstream = true;
	static const struct reasm_callbacks cb = {cap_data, cap_gap, cap_eof, cap_end};
	struct flow_table *t = flow_table_new(&fcfg, &cb, run);
	CHECK(dec && t);
	struct pcap_pkthdr *h;
	const u_char *data;
	while (dec && t && pcap_next_ex(pc, &h, &data) == 1) {
		struct packet pkt;
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		if (decoder_decode(dec, pcap_datalink(pc), data, h->caplen, h->len, ts, &pkt) !=
		    DECODE_TCP)
			continue;
		flow_table_process(t, &pkt, NULL);
	}
	if (t)
		flow_table_free(t);
	if (dec)
		decoder_free(dec);
	pcap_close(pc);
}

static void test_captures(const char *root)
{
	static const char *const files[] = {
		"tls_ch_missing_fragment.pcap", "tls_ch_mtu300.pcap",
		"tls_ch_split_segments.pcap", "tls_ech_cloudflare.pcapng",
		"tls_esni_no_sni.pcap", "tls_huge_ch_11k.pcapng",
		"tls_imaps_2sessions.pcap", "tls_mail_yandex_com.pcap",
		"tls_multi_sni_sites.pcapng", "tls_no_sni_hrr.pcap",
		"tls_o365_subset.pcap", "tls_pq_kyber_google.pcap",
		"tls_smtps_465_no_sni.pcapng", "tls_yandex_incl_mail.pcapng",
	};
	struct cap_run run;
	memset(&run, 0, sizeof run);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		run_capture(root, files[i], &run);
	for (size_t i = 0; i < N_EXPECTED; i++) {
		if (run.seen[i] != 1)
			fprintf(stderr, "%s %u->%u seen %u times\n", expected[i].file,
				expected[i].cport, expected[i].sport, run.seen[i]);
		CHECK_EQ_U(run.seen[i], 1);
	}
	for (size_t i = 0; i < N_CAPPED; i++)
		CHECK_EQ_U(run.capped_seen[i], 1);
	CHECK_EQ_U(run.flows_with_data, N_EXPECTED);
	CHECK(run.multi_chunk >= 3); /* split ClientHellos really arrived in pieces */
}

/* ---- synthetic ClientHellos ---------------------------------------------- */

#define BUF_MAX (1u << 18)

struct buf {
	uint8_t *b;
	size_t n;
};

static void put8(struct buf *w, unsigned v)
{
	if (w->n < BUF_MAX)
		w->b[w->n++] = (uint8_t)v;
}

static void put16(struct buf *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v);
}

static void putn(struct buf *w, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put8(w, ((const uint8_t *)p)[i]);
}

/* A 16-bit length placeholder, filled by fix16 once the content is written. */
static size_t mark16(struct buf *w)
{
	put16(w, 0);
	return w->n - 2;
}

static void fix16(struct buf *w, size_t at)
{
	size_t len = w->n - at - 2;
	w->b[at] = (uint8_t)(len >> 8);
	w->b[at + 1] = (uint8_t)len;
}

/* Where each length field of the built body is, for the mutation tests. */
struct marks {
	size_t sid, ciphers, comp, exts, sni_ext, sni_list, sni_name, alpn_list, alpn_name,
		versions, sigalgs, last_ext;
};

struct opts {
	const char *sni;         /* NULL: no server_name extension */
	int sni_names;           /* host_name entries (default 1) */
	const uint8_t *alpn;     /* raw protocol_name_list content; NULL: h2, http/1.1 */
	size_t alpn_len;
	bool no_alpn;
	bool empty_sigalgs;
	uint16_t extra_ext;      /* appended with 4 bytes of data when non-zero */
	size_t padding;          /* bytes of the last extension (padding, 0x0015) */
	size_t extra_ciphers;    /* more cipher values (0x0100 + i) */
};

static const uint16_t spec_ciphers[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
					0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f,
					0x0035};
static const uint16_t spec_sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806,
					0x0601};

static void ext_begin(struct buf *w, unsigned type, size_t *len_at)
{
	put16(w, type);
	*len_at = mark16(w);
}

/* The JA4 spec's example ClientHello (same ciphers, extensions and signature
 * algorithms, in the same order), plus GREASE values the spec says to skip. */
static void build_body(struct buf *w, const struct opts *o, struct marks *m)
{
	size_t l, l2;
	w->n = 0;
	put16(w, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(w, i);
	m->sid = w->n;
	put8(w, 32);
	for (int i = 0; i < 32; i++)
		put8(w, 0xee);
	m->ciphers = mark16(w);
	put16(w, 0x2a2a);
	for (size_t i = 0; i < sizeof(spec_ciphers) / sizeof(spec_ciphers[0]); i++)
		put16(w, spec_ciphers[i]);
	for (size_t i = 0; i < o->extra_ciphers; i++)
		put16(w, 0x0100 + (unsigned)i);
	fix16(w, m->ciphers);
	m->comp = w->n;
	put8(w, 1);
	put8(w, 0);
	m->exts = mark16(w);

	ext_begin(w, 0x0a0a, &l); /* GREASE extension */
	fix16(w, l);
	ext_begin(w, 0x001b, &l);
	putn(w, "\x02\x00\x02", 3);
	fix16(w, l);
	if (o->sni) {
		ext_begin(w, 0x0000, &m->sni_ext);
		m->sni_list = mark16(w);
		int names = o->sni_names ? o->sni_names : 1;
		for (int i = 0; i < names; i++) {
			put8(w, 0);
			m->sni_name = mark16(w);
			putn(w, o->sni, strlen(o->sni));
			fix16(w, m->sni_name);
		}
		fix16(w, m->sni_list);
		fix16(w, m->sni_ext);
	}
	ext_begin(w, 0x0033, &l);
	put16(w, 0);
	fix16(w, l);
	if (!o->no_alpn) {
		ext_begin(w, 0x0010, &l);
		m->alpn_list = mark16(w);
		if (o->alpn) {
			putn(w, o->alpn, o->alpn_len);
			m->alpn_name = m->alpn_list + 2;
		} else {
			m->alpn_name = w->n;
			putn(w, "\x02h2\x08http/1.1", 12);
		}
		fix16(w, m->alpn_list);
		fix16(w, l);
	}
	ext_begin(w, 0x4469, &l);
	putn(w, "\x00\x03\x02h2", 5);
	fix16(w, l);
	ext_begin(w, 0x0017, &l);
	fix16(w, l);
	ext_begin(w, 0x002d, &l);
	putn(w, "\x01\x01", 2);
	fix16(w, l);
	ext_begin(w, 0x000d, &l);
	m->sigalgs = mark16(w);
	if (!o->empty_sigalgs) {
		put16(w, 0x1a1a); /* GREASE, skipped */
		for (size_t i = 0; i < sizeof(spec_sigalgs) / sizeof(spec_sigalgs[0]); i++)
			put16(w, spec_sigalgs[i]);
	}
	fix16(w, m->sigalgs);
	fix16(w, l);
	ext_begin(w, 0x0005, &l);
	putn(w, "\x01\x00\x00\x00\x00", 5);
	fix16(w, l);
	ext_begin(w, 0x0023, &l);
	fix16(w, l);
	ext_begin(w, 0x0012, &l);
	fix16(w, l);
	ext_begin(w, 0x002b, &l);
	m->versions = w->n;
	putn(w, "\x06\x3a\x3a\x03\x04\x03\x03", 7);
	fix16(w, l);
	ext_begin(w, 0xff01, &l);
	put8(w, 0);
	fix16(w, l);
	ext_begin(w, 0x000b, &l);
	putn(w, "\x01\x00", 2);
	fix16(w, l);
	ext_begin(w, 0x000a, &l);
	l2 = mark16(w);
	put16(w, 0x001d);
	put16(w, 0x0017);
	fix16(w, l2);
	fix16(w, l);
	if (o->extra_ext) {
		ext_begin(w, o->extra_ext, &l);
		put16(w, 0x0000);
		put16(w, 0x0000);
		fix16(w, l);
	}
	ext_begin(w, 0x0015, &m->last_ext);
	for (size_t i = 0; i < o->padding; i++)
		put8(w, 0);
	fix16(w, m->last_ext);
	fix16(w, m->exts);
}

/* Handshake header + body cut into records of the given payload sizes (the
 * last record takes the rest). */
static void wrap(const struct buf *body, uint8_t hs_type, const size_t *cuts, size_t ncuts,
		 struct buf *out)
{
	uint8_t *msg = malloc(body->n + 4);
	CHECK(msg != NULL);
	if (!msg)
		return;
	msg[0] = hs_type;
	msg[1] = (uint8_t)(body->n >> 16);
	msg[2] = (uint8_t)(body->n >> 8);
	msg[3] = (uint8_t)body->n;
	memcpy(msg + 4, body->b, body->n);
	size_t total = body->n + 4, off = 0;
	out->n = 0;
	for (size_t i = 0; off < total; i++) {
		size_t k = i < ncuts ? cuts[i] : total - off;
		if (k > total - off)
			k = total - off;
		put8(out, 0x16);
		put16(out, i == 0 ? 0x0301 : 0x0303);
		put16(out, (unsigned)k);
		putn(out, msg + off, k);
		off += k;
	}
	free(msg);
}

static struct buf body_buf, rec_buf;

static void hello(const struct opts *o, struct marks *m, struct outcome *res)
{
	struct marks mk;
	build_body(&body_buf, o, m ? m : &mk);
	wrap(&body_buf, 1, NULL, 0, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, 0, res);
}

static void test_spec_example(void)
{
	struct opts o = {.sni = "Example.COM"};
	struct outcome r;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_STR(r.ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	CHECK_STR(r.ch.sni, "example.com");
	CHECK_STR(r.ch.alpn, "h2,http/1.1");
	CHECK_EQ_U(r.ch.cipher_count, 15);
	CHECK_EQ_U(r.ch.extension_count, 16);
	CHECK_EQ_U(r.ch.record_version, 0x0301);
	CHECK_EQ_U(r.ch.legacy_version, 0x0303);
	CHECK_EQ_U(r.ch.max_version, 0x0304);
	CHECK_EQ_U(r.ch.anomalies, 0);
	CHECK_EQ_U(r.ch.length, body_buf.n);

	/* The spec's second extension hash: no signature algorithms, no '_'. */
	o.empty_sigalgs = true;
	hello(&o, NULL, &r);
	CHECK_STR(r.ch.ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");

	/* No SNI: 'i', one extension fewer, same hashes (SNI is not hashed). */
	struct opts n = {0};
	hello(&n, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_STR(r.ch.ja4, "t13i1515h2_8daaf6152771_e5627efa2ab1");
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_NO_SNI);
	CHECK_STR(r.ch.sni, "");

	/* No ALPN: "00". */
	struct opts a = {.sni = "example.com", .no_alpn = true};
	hello(&a, NULL, &r);
	CHECK_STR(r.ch.ja4, "t13d151500_8daaf6152771_e5627efa2ab1");
	CHECK_STR(r.ch.alpn, "");
}

static void test_fragmented(void)
{
	struct opts o = {.sni = "example.com"};
	struct marks m;
	build_body(&body_buf, &o, &m);
	/* Three records; the handshake header itself is cut after 2 bytes. */
	static const size_t cuts[] = {2, 100};
	wrap(&body_buf, 1, cuts, 2, &rec_buf);
	struct outcome r;
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_FRAGMENTED);
	CHECK_STR(r.ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	CHECK_STR(r.ch.sni, "example.com");

	/* Every proper prefix needs more, and says nothing final. */
	for (size_t n = 0; n < rec_buf.n; n++) {
		struct tls_client_hello ch;
		enum tls_ch_status st = tls_ch_parse(rec_buf.b, n, &ch);
		if (st != TLS_CH_NEED_MORE) {
			fprintf(stderr, "prefix %zu: %s\n", n, tls_ch_status_name(st));
			CHECK_EQ_U(st, TLS_CH_NEED_MORE);
			break;
		}
	}
	/* Bytes after the ClientHello (the next record) change nothing. */
	size_t n = rec_buf.n;
	putn(&rec_buf, "\x14\x03\x03\x00\x01\x01", 6);
	struct outcome r2;
	run_all(rec_buf.b, rec_buf.n, 0, &r2);
	CHECK(same(&r, &r2));
	rec_buf.n = n;
}

static void test_ech_esni_dup(void)
{
	struct outcome r;
	struct opts o = {.sni = "public.example", .extra_ext = 0xfe0d};
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_ECH);
	CHECK_STR(r.ch.sni, "public.example");
	CHECK(strncmp(r.ch.ja4, "t13d1517h2_8daaf6152771_", 24) == 0);
	o.sni = NULL;
	o.extra_ext = 0xffce;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_ESNI | TLS_CH_ANOM_NO_SNI);
	/* The same extension twice (here: key_share 0x0033). */
	o.sni = "example.com";
	o.extra_ext = 0x0033;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_DUPLICATE_EXT);
	CHECK_EQ_U(r.ch.extension_count, 17);
	/* Two server_name extensions: which name? Neither. */
	o.extra_ext = 0;
	struct marks m;
	build_body(&body_buf, &o, &m);
	size_t sni_start = m.sni_ext - 2, sni_end = m.sni_ext + 2 +
		((size_t)body_buf.b[m.sni_ext] << 8 | body_buf.b[m.sni_ext + 1]);
	size_t k = sni_end - sni_start;
	uint8_t copy[64];
	CHECK(k <= sizeof copy);
	memcpy(copy, body_buf.b + sni_start, k);
	putn(&body_buf, copy, k);
	size_t el = body_buf.n - m.exts - 2;
	body_buf.b[m.exts] = (uint8_t)(el >> 8);
	body_buf.b[m.exts + 1] = (uint8_t)el;
	wrap(&body_buf, 1, NULL, 0, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_DUPLICATE_EXT | TLS_CH_ANOM_BAD_SNI);
	CHECK_STR(r.ch.sni, "");
}

static void test_sni_values(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"MAIL.Example.ORG", "mail.example.org"},
		{"a-b_c.d1", "a-b_c.d1"},
		{"192.0.2.1", "192.0.2.1"},
		{"exa mple.com", NULL},
		{"exa\tmple.com", NULL},
		{"a..b", NULL},
		{".a.b", NULL},
		{"a.b.", NULL},
		{"caf\xc3\xa9.fr", NULL},
		{"x\x7f.com", NULL},
		{"", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct opts o = {.sni = cases[i].in};
		struct outcome r;
		hello(&o, NULL, &r);
		CHECK_EQ_U(r.st, TLS_CH_DONE);
		CHECK_STR(r.ch.sni, cases[i].out ? cases[i].out : "");
		CHECK_EQ_U(r.ch.anomalies, cases[i].out ? 0 : TLS_CH_ANOM_BAD_SNI);
		CHECK(r.ch.ja4[3] == 'd'); /* the extension is there, valid or not */
	}
	/* A NUL inside the name. */
	struct opts o = {.sni = "evil.com.good.com"};
	struct marks m;
	struct outcome r;
	build_body(&body_buf, &o, &m);
	body_buf.b[m.sni_name + 2 + 4] = 0;
	wrap(&body_buf, 1, NULL, 0, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_BAD_SNI);
	CHECK_STR(r.ch.sni, "");
	/* Two host names in one list. */
	o.sni_names = 2;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_BAD_SNI);
	CHECK_STR(r.ch.sni, "");
	/* Longest plausible name (253), and one longer than TLS_SNI_MAX. */
	char name[301];
	memset(name, 'a', sizeof name - 1);
	for (size_t i = 50; i < 300; i += 50)
		name[i] = '.';
	name[253] = '\0';
	o.sni_names = 1;
	o.sni = name;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.ch.anomalies, 0);
	CHECK_EQ_U(strlen(r.ch.sni), 253);
	name[253] = 'a';
	name[300] = '\0';
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_BAD_SNI);
	CHECK_STR(r.ch.sni, "");
}

static void test_alpn_values(void)
{
	static const struct {
		const char *raw;
		size_t len;
		const char *list, *ja4;
	} cases[] = {
		/* the spec's non-alphanumeric examples */
		{"\x01\xab", 2, "\\xab", "ab"},
		{"\x02\xab\xcd", 3, "\\xab\\xcd", "ad"},
		{"\x02\x30\xab", 3, "0\\xab", "3b"},
		{"\x04\x30\x31\xab\xcd", 5, "01\\xab\\xcd", "3d"},
		{"\x04\x30\xab\xcd\x31", 5, "0\\xab\\xcd1", "01"},
		{"\x01h", 2, "h", "hh"},
		{"\x08http/1.1", 9, "http/1.1", "h1"},
		{"\x03\x00\x01,\x02\\x", 7, "\\x00\\x01\\x2c,\\x5cx", "0c"},
		{"\x00\x02h2", 4, ",h2", "00"},
		{"", 0, "", "00"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct opts o = {.sni = "example.com",
				 .alpn = (const uint8_t *)cases[i].raw,
				 .alpn_len = cases[i].len};
		struct outcome r;
		hello(&o, NULL, &r);
		CHECK_EQ_U(r.st, TLS_CH_DONE);
		CHECK_STR(r.ch.alpn, cases[i].list);
		char ja4_alpn[3] = {r.ch.ja4[8], r.ch.ja4[9], 0};
		CHECK_STR(ja4_alpn, cases[i].ja4);
	}
	/* 60 protocols of 9 bytes: the list keeps whole protocols under the cap. */
	uint8_t raw[600 + 1]; /* + the last snprintf NUL */
	size_t n = 0;
	for (int i = 0; i < 60; i++) {
		raw[n++] = 9;
		memcpy(raw + n, "proto-", 6);
		snprintf((char *)raw + n + 6, 4, "%03d", i);
		n += 9;
	}
	struct opts o = {.sni = "example.com", .alpn = raw, .alpn_len = n};
	struct outcome r;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK(strlen(r.ch.alpn) <= TLS_ALPN_MAX);
	CHECK_EQ_U(strlen(r.ch.alpn), 25 * 10 - 1);
	CHECK(strncmp(r.ch.alpn + strlen(r.ch.alpn) - 9, "proto-024", 9) == 0);
	CHECK(strncmp(r.ch.ja4 + 8, "p0", 2) == 0); /* "proto-000" */
	CHECK(r.ch.anomalies & TLS_CH_ANOM_ALPN_TRUNCATED); /* the 35 left out are said */
	CHECK_STR(tls_ch_anomaly_name(TLS_CH_ANOM_ALPN_TRUNCATED), "alpn_truncated");
}

static void test_counts_cap(void)
{
	struct opts o = {.sni = "example.com", .extra_ciphers = 120};
	struct outcome r;
	hello(&o, NULL, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.cipher_count, 135);
	CHECK(strncmp(r.ch.ja4, "t13d9916h2_", 11) == 0);
}

/* A value in each length field of the message that does not fit its
 * container: MALFORMED with BAD_LENGTH, whatever the segmentation. */
static void expect_bad(const struct buf *body, uint32_t extra, const char *what)
{
	struct outcome r;
	wrap(body, 1, NULL, 0, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	if (r.st != TLS_CH_MALFORMED || r.ch.anomalies != (TLS_CH_ANOM_BAD_LENGTH | extra))
		fprintf(stderr, "%s: %s %x\n", what, tls_ch_status_name(r.st), r.ch.anomalies);
	CHECK_EQ_U(r.st, TLS_CH_MALFORMED);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_BAD_LENGTH | extra);
	CHECK_STR(r.ch.ja4, "");
}

static void bump16(struct buf *b, size_t at, int d)
{
	unsigned v = (unsigned)(b->b[at] << 8 | b->b[at + 1]) + (unsigned)d;
	b->b[at] = (uint8_t)(v >> 8);
	b->b[at + 1] = (uint8_t)v;
}

static void test_bad_lengths(void)
{
	struct opts o = {.sni = "example.com"};
	struct marks m;
	build_body(&body_buf, &o, &m);
	body_buf.b[m.sid] = 33;
	expect_bad(&body_buf, 0, "session id > 32");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.ciphers, 1);
	expect_bad(&body_buf, 0, "odd cipher list");

	build_body(&body_buf, &o, &m);
	body_buf.b[m.ciphers] = 0xff;
	expect_bad(&body_buf, 0, "cipher list past the message");

	build_body(&body_buf, &o, &m);
	body_buf.b[m.comp] = 0;
	expect_bad(&body_buf, 0, "no compression method");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.exts, 1);
	expect_bad(&body_buf, 0, "extension block +1");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.exts, -1);
	expect_bad(&body_buf, 0, "extension block -1");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.last_ext, 1);
	expect_bad(&body_buf, 0, "extension past its block");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.sni_list, 1);
	expect_bad(&body_buf, TLS_CH_ANOM_BAD_SNI, "server_name list");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.sni_name, 1);
	expect_bad(&body_buf, TLS_CH_ANOM_BAD_SNI, "host name");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.alpn_list, 1);
	expect_bad(&body_buf, 0, "ALPN list");

	build_body(&body_buf, &o, &m);
	body_buf.b[m.alpn_name] = 50;
	expect_bad(&body_buf, 0, "ALPN name");

	build_body(&body_buf, &o, &m);
	body_buf.b[m.versions] = 5;
	expect_bad(&body_buf, 0, "supported_versions odd");

	build_body(&body_buf, &o, &m);
	bump16(&body_buf, m.sigalgs, 1);
	expect_bad(&body_buf, 0, "signature_algorithms");

	/* An empty server_name extension: no room for the list length. */
	struct opts e = {.sni = "example.com"};
	build_body(&body_buf, &e, &m);
	{
		size_t ext_len = (size_t)body_buf.b[m.sni_ext] << 8 | body_buf.b[m.sni_ext + 1];
		/* turn the server_name content into a padding extension's and
		 * insert an empty server_name before it */
		memmove(body_buf.b + m.sni_ext + 2 + 4, body_buf.b + m.sni_ext + 2,
			body_buf.n - m.sni_ext - 2);
		body_buf.n += 4;
		body_buf.b[m.sni_ext] = 0;
		body_buf.b[m.sni_ext + 1] = 0;
		body_buf.b[m.sni_ext + 2] = 0x00;
		body_buf.b[m.sni_ext + 3] = 0x15;
		body_buf.b[m.sni_ext + 4] = (uint8_t)(ext_len >> 8);
		body_buf.b[m.sni_ext + 5] = (uint8_t)ext_len;
		bump16(&body_buf, m.exts, 4);
	}
	expect_bad(&body_buf, TLS_CH_ANOM_BAD_SNI | TLS_CH_ANOM_DUPLICATE_EXT,
		   "empty server_name");

	/* Handshake length shorter than the body: the extension block overruns. */
	build_body(&body_buf, &o, &m);
	body_buf.n -= 3;
	expect_bad(&body_buf, 0, "message shorter than its content");
}

static void test_record_layer(void)
{
	struct opts o = {.sni = "example.com"};
	struct marks m;
	struct outcome r;
	build_body(&body_buf, &o, &m);
	static const size_t cuts[] = {150};

	/* Second record of another content type before the message ended:
	 * partial results are kept. */
	wrap(&body_buf, 1, cuts, 1, &rec_buf);
	rec_buf.b[5 + 150] = 0x17;
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_MALFORMED);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_BAD_LENGTH);
	CHECK_EQ_U(r.ch.legacy_version, 0x0303);
	CHECK_EQ_U(r.ch.cipher_count, 15);
	CHECK_STR(r.ch.ja4, "");

	/* Second record with a bad version. */
	wrap(&body_buf, 1, cuts, 1, &rec_buf);
	rec_buf.b[5 + 150 + 2] = 9;
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_MALFORMED);
	CHECK(r.ch.anomalies & TLS_CH_ANOM_BAD_LENGTH);

	/* Zero-length and oversize records. */
	static const uint8_t zero[] = {0x16, 0x03, 0x01, 0x00, 0x00, 0x01};
	run_all(zero, sizeof zero, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_MALFORMED);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_BAD_LENGTH);
	static const uint8_t huge[] = {0x16, 0x03, 0x01, 0x48, 0x01, 0x01};
	run_all(huge, sizeof huge, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_MALFORMED);
	static const uint8_t maxrec[] = {0x16, 0x03, 0x01, 0x48, 0x00, 0x01};
	run_all(maxrec, sizeof maxrec, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_NEED_MORE);

	/* A handshake message that is not a ClientHello. */
	wrap(&body_buf, 2, NULL, 0, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_MALFORMED);
	CHECK_EQ_U(r.ch.anomalies, 0);

	/* The message ends in the middle of a record's payload: the rest of the
	 * record is not looked at. */
	wrap(&body_buf, 1, NULL, 0, &rec_buf);
	size_t rl = (size_t)rec_buf.b[3] << 8 | rec_buf.b[4];
	rec_buf.b[3] = (uint8_t)((rl + 3) >> 8);
	rec_buf.b[4] = (uint8_t)(rl + 3);
	putn(&rec_buf, "\x0b\x00\x00", 3);
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_STR(r.ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
}

static void test_too_large(void)
{
	/* 1000 more ciphers and a 65000-byte padding over several records:
	 * past the default cap of 64 KiB. */
	struct opts o = {.sni = "big.example", .padding = 65000, .extra_ciphers = 1000};
	struct marks m;
	struct outcome r;
	build_body(&body_buf, &o, &m);
	static const size_t cuts[] = {16384, 16384, 16384, 16384, 16384};
	wrap(&body_buf, 1, cuts, 5, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_TOO_LARGE);
	CHECK_STR(r.ch.sni, "big.example"); /* what was parsed before the cap */
	CHECK_STR(r.ch.alpn, "h2,http/1.1");
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_FRAGMENTED);
	CHECK_EQ_U(r.ch.length, body_buf.n);
	CHECK_STR(r.ch.ja4, "");

	/* The same with a cap above its size: parsed. */
	run_all(rec_buf.b, rec_buf.n, 200000, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_FRAGMENTED);
	CHECK(strncmp(r.ch.ja4, "t13d9916h2_", 11) == 0);
	CHECK_EQ_U(r.ch.cipher_count, 1015);

	/* Small caps: the decision falls at exactly max_bytes. */
	struct opts s = {.sni = "example.com"};
	build_body(&body_buf, &s, &m);
	wrap(&body_buf, 1, NULL, 0, &rec_buf);
	run_all(rec_buf.b, rec_buf.n, rec_buf.n, &r);
	CHECK_EQ_U(r.st, TLS_CH_DONE);
	run_all(rec_buf.b, rec_buf.n, rec_buf.n - 1, &r);
	CHECK_EQ_U(r.st, TLS_CH_TOO_LARGE);
	run_all(rec_buf.b, rec_buf.n, 3, &r);
	CHECK_EQ_U(r.st, TLS_CH_TOO_LARGE);
	/* A cap inside the SNI: no name, no NO_SNI either (not known). */
	run_all(rec_buf.b, rec_buf.n, 5 + 4 + m.sni_name + 4, &r);
	CHECK_EQ_U(r.st, TLS_CH_TOO_LARGE);
	CHECK_STR(r.ch.sni, "");
	CHECK_EQ_U(r.ch.anomalies, 0);
	CHECK_EQ_U(r.ch.cipher_count, 15);
}

static void test_not_tls(void)
{
	struct outcome r;
	static const char *const texts[] = {"EHLO mail.example.com\r\n", "GET / HTTP/1.1\r\n",
					    "\x16\x02\x01\x00\x10", "\x16\x03\x05\x00\x10",
					    "\x15\x03\x03\x00\x02\x02\x28"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		run_all((const uint8_t *)texts[i], strlen(texts[i]), 0, &r);
		CHECK_EQ_U(r.st, TLS_CH_NOT_TLS);
		CHECK_EQ_U(r.ch.anomalies, 0);
	}
	/* One byte is enough to know. */
	struct tls_client_hello ch;
	CHECK_EQ_U(tls_ch_parse((const uint8_t *)"E", 1, &ch), TLS_CH_NOT_TLS);
	CHECK_EQ_U(tls_ch_parse((const uint8_t *)"", 0, &ch), TLS_CH_NEED_MORE);

	/* SSLv2-compatible hello (old clients): NOT_TLS with the SSLV2 bit. */
	static const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00,
				     0x00, 0x10, 0x01, 0x00, 0x80};
	run_all(v2, sizeof v2, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_NOT_TLS);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_SSLV2);
	CHECK_EQ_U(tls_ch_parse(v2, 3, &ch), TLS_CH_NEED_MORE);
	static const uint8_t v2s[] = {0x80, 0x2e, 0x01, 0x00, 0x02};
	run_all(v2s, sizeof v2s, 0, &r);
	CHECK_EQ_U(r.ch.anomalies, TLS_CH_ANOM_SSLV2);
	static const uint8_t hi[] = {0x80, 0x2e, 0x04, 0x03, 0x01};
	run_all(hi, sizeof hi, 0, &r);
	CHECK_EQ_U(r.st, TLS_CH_NOT_TLS);
	CHECK_EQ_U(r.ch.anomalies, 0);
	CHECK_EQ_U(tls_detect(v2, sizeof v2), 0);
}

static void test_detect(void)
{
	static const struct {
		const char *b;
		size_t n;
		int want;
	} cases[] = {
		{"", 0, -1},
		{"\x16", 1, -1},
		{"\x16\x03", 2, -1},
		{"\x16\x03\x01\x02", 4, -1},
		{"\x16\x03\x01\x02\x00", 5, -1},
		{"\x16\x03\x01\x02\x00\x01", 6, 1},
		{"\x16\x03\x00\x00\x30\x01", 6, 1},
		{"\x16\x03\x04\x48\x00\x01", 6, 1},
		{"\x16\x03\x01\x02\x00\x02", 6, 0},
		{"\x16\x03\x05\x02\x00\x01", 6, 0},
		{"\x16\x02", 2, 0},
		{"\x16\x03\x01\x00\x00\x01", 6, 0},
		{"\x16\x03\x01\x48\x01\x01", 6, 0},
		{"\x17\x03\x03", 3, 0},
		{"E", 1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = tls_detect((const uint8_t *)cases[i].b, cases[i].n);
		if (got != cases[i].want)
			fprintf(stderr, "tls_detect case %zu: %d\n", i, got);
		CHECK(got == cases[i].want);
	}
}

static void test_names(void)
{
	CHECK_STR(tls_ch_status_name(TLS_CH_NEED_MORE), "need_more");
	CHECK_STR(tls_ch_status_name(TLS_CH_DONE), "done");
	CHECK_STR(tls_ch_status_name(TLS_CH_NOT_TLS), "not_tls");
	CHECK_STR(tls_ch_status_name(TLS_CH_MALFORMED), "malformed");
	CHECK_STR(tls_ch_status_name(TLS_CH_TOO_LARGE), "too_large");
	CHECK_STR(tls_ch_anomaly_name(TLS_CH_ANOM_NO_SNI), "no_sni");
	CHECK_STR(tls_ch_anomaly_name(TLS_CH_ANOM_DUPLICATE_EXT), "duplicate_ext");
	CHECK_STR(tls_ch_anomaly_name(TLS_CH_ANOM_SSLV2), "sslv2");
	for (unsigned i = 0; i < TLS_CH_ANOM_COUNT; i++)
		CHECK(tls_ch_anomaly_name(1u << i) != NULL);
	CHECK(tls_ch_anomaly_name(1u << TLS_CH_ANOM_COUNT) == NULL);
	CHECK(tls_ch_anomaly_name(3) == NULL);
	CHECK(tls_ch_anomaly_name(0) == NULL);
}

static const char *root = ".";

static void test_real_captures(void)
{
	test_captures(root);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		root = argv[1];
	body_buf.b = malloc(BUF_MAX);
	rec_buf.b = malloc(BUF_MAX);
	if (!body_buf.b || !rec_buf.b)
		return 2;
	RUN(test_names);
	RUN(test_detect);
	RUN(test_spec_example);
	RUN(test_fragmented);
	RUN(test_ech_esni_dup);
	RUN(test_sni_values);
	RUN(test_alpn_values);
	RUN(test_counts_cap);
	RUN(test_bad_lengths);
	RUN(test_record_layer);
	RUN(test_too_large);
	RUN(test_not_tls);
	RUN(test_real_captures);
	free(body_buf.b);
	free(rec_buf.b);
	return tl_finish();
}
