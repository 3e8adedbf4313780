/* Reset injection tests: the frames are decoded with the project's decoder
 * and their checksums recomputed with the reference RFC 1071 helper; as root,
 * injector_reset() sends over a veth pair in a private network namespace and
 * the frames are captured at the peer. */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nfq/inject.h"
#include "reassembly/decode.h"
#include "testlib.h"
#include "wire_util.h"

static const struct inject_end CLIENT4 = {
	.family = AF_INET, .addr = {192, 0, 2, 10}, .port = 40123,
	.mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}, .ifindex = 3,
};
static const struct inject_end SERVER4 = {
	.family = AF_INET, .addr = {198, 51, 100, 25}, .port = 25,
	.mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x19}, .ifindex = 4,
};
static const struct inject_end CLIENT6 = {
	.family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, [14] = 0x12, [15] = 0x34},
	.port = 51000, .mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01}, .ifindex = 3,
};
static const struct inject_end SERVER6 = {
	.family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, 0xff, [15] = 0x25},
	.port = 443, .mac = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02}, .ifindex = 4,
};

static struct decoder *new_dec(void)
{
	struct decoder_config cfg;
	decoder_config_default(&cfg);
	cfg.verify_checksums = true;
	struct decoder *d = decoder_new(&cfg);
	if (!d)
		abort();
	return d;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Reference checks of the IP header checksum and the TCP checksum over the
 * pseudo header: summing a header with its correct checksum folds to 0. */
static bool ref_csums_ok(const uint8_t *frame, size_t len)
{
	const uint8_t *l3 = frame + 14;
	if (rd16(frame + 12) == 0x0800) {
		if (len != 54 || ref_fold(ref_sum(0, l3, 20)) != 0)
			return false;
		uint8_t ph[12] = {0};
		memcpy(ph, l3 + 12, 8);
		ph[9] = 6;
		w16(ph + 10, 20);
		return ref_fold(ref_sum(ref_sum(0, ph, 12), l3 + 20, 20)) == 0;
	}
	if (len != 74)
		return false;
	uint8_t ph[40] = {0};
	memcpy(ph, l3 + 8, 32);
	w16(ph + 34, 20);
	ph[39] = 6;
	return ref_fold(ref_sum(ref_sum(0, ph, 40), l3 + 40, 20)) == 0;
}

/* Decodes frame and checks every field against src/dst/seq/ack. */
static void check_rst(const uint8_t *frame, size_t len, const struct inject_end *src,
		      const struct inject_end *dst, uint32_t seq, uint32_t ack)
{
	bool v4 = src->family == AF_INET;
	CHECK_EQ_U(len, v4 ? 54 : 74);
	CHECK(memcmp(frame, dst->mac, 6) == 0);
	CHECK(memcmp(frame + 6, src->mac, 6) == 0);
	CHECK_EQ_U(rd16(frame + 12), v4 ? 0x0800 : 0x86dd);
	const uint8_t *l3 = frame + 14, *t;
	if (v4) {
		CHECK_EQ_U(l3[0], 0x45);
		CHECK_EQ_U(l3[1], 0);
		CHECK_EQ_U(rd16(l3 + 2), 40);
		CHECK_EQ_U(rd16(l3 + 4), 0);      /* id */
		CHECK_EQ_U(rd16(l3 + 6), 0x4000); /* DF, offset 0 */
		CHECK_EQ_U(l3[8], 64);
		CHECK_EQ_U(l3[9], 6);
		t = l3 + 20;
	} else {
		CHECK_EQ_U(rd16(l3) >> 4, 0x600); /* version 6, class 0 */
		CHECK_EQ_U(rd16(l3 + 2) | (l3[1] & 0x0f) << 16, 0); /* flow label */
		CHECK_EQ_U(rd16(l3 + 4), 20);
		CHECK_EQ_U(l3[6], 6);
		CHECK_EQ_U(l3[7], 64);
		t = l3 + 40;
	}
	CHECK_EQ_U(t[12], 0x50); /* data offset 5, no reserved bits */
	CHECK_EQ_U(rd16(t + 14), 0); /* window */
	CHECK_EQ_U(rd16(t + 18), 0); /* urgent */
	CHECK(ref_csums_ok(frame, len));

	struct decoder *d = new_dec();
	struct packet pk;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, frame, len, len, 1, &pk), DECODE_TCP);
	CHECK_EQ_U(pk.flags & (PKT_IPV4_CSUM_BAD | PKT_TCP_CSUM_BAD | PKT_TCP_OPTIONS_BAD), 0);
	CHECK_EQ_U(decoder_stats(d)->ipv4_csum_bad + decoder_stats(d)->tcp_csum_bad, 0);
	size_t alen = v4 ? 4 : 16;
	CHECK_EQ_U(pk.src.family, v4 ? 4 : 6);
	CHECK(memcmp(pk.src.addr, src->addr, alen) == 0);
	CHECK(memcmp(pk.dst.addr, dst->addr, alen) == 0);
	CHECK_EQ_U(pk.sport, src->port);
	CHECK_EQ_U(pk.dport, dst->port);
	CHECK_EQ_U(pk.seq, seq);
	CHECK_EQ_U(pk.ack, ack);
	CHECK_EQ_U(pk.tcp_flags, TCP_RST | TCP_ACK);
	CHECK_EQ_U(pk.window, 0);
	CHECK_EQ_U(pk.ttl, 64);
	CHECK_EQ_U(pk.payload_len, 0);
	decoder_free(d);
}

static void test_build_ipv4(void)
{
	uint8_t f[128];
	size_t n = inject_build_rst(f, sizeof(f), &CLIENT4, &SERVER4, 0x11223344, 0xa0b0c0d0);
	check_rst(f, n, &CLIENT4, &SERVER4, 0x11223344, 0xa0b0c0d0);
	n = inject_build_rst(f, sizeof(f), &SERVER4, &CLIENT4, 0xffffffff, 0);
	check_rst(f, n, &SERVER4, &CLIENT4, 0xffffffff, 0);
}

static void test_build_ipv6(void)
{
	uint8_t f[128];
	size_t n = inject_build_rst(f, sizeof(f), &CLIENT6, &SERVER6, 7, 0xdeadbeef);
	check_rst(f, n, &CLIENT6, &SERVER6, 7, 0xdeadbeef);
	n = inject_build_rst(f, sizeof(f), &SERVER6, &CLIENT6, 0xdeadbeef, 8);
	check_rst(f, n, &SERVER6, &CLIENT6, 0xdeadbeef, 8);
}

/* Many addresses, ports and sequence numbers: end-around carries in the
 * checksums show up here if anywhere. */
static void test_build_varied(void)
{
	uint32_t x = 0x9e3779b9;
	unsigned bad = 0;
	for (int i = 0; i < 2000; i++) {
		struct inject_end a = i & 1 ? CLIENT6 : CLIENT4, b = i & 1 ? SERVER6 : SERVER4;
		for (size_t k = 0; k < 16; k++) {
			x = x * 1664525u + 1013904223u;
			a.addr[k] = (uint8_t)(x >> 24);
			b.addr[k] = (uint8_t)(x >> 16);
		}
		if (a.family == AF_INET) { /* IPv4 lives in the first 4 bytes only */
			memset(a.addr + 4, 0, 12);
			memset(b.addr + 4, 0, 12);
		}
		a.port = (uint16_t)(x >> 8);
		b.port = (uint16_t)x;
		uint32_t seq = x * 2654435761u, ack = ~seq ^ (uint32_t)i;
		if (i % 7 == 0)
			memset(a.addr, 0xff, a.family == AF_INET ? 4 : 16);
		uint8_t f[128];
		size_t n = inject_build_rst(f, sizeof(f), &a, &b, seq, ack);
		if (n == 0 || !ref_csums_ok(f, n))
			bad++;
		struct decoder *d = new_dec();
		struct packet pk;
		if (decoder_decode(d, DECODE_LINK_ETHERNET, f, n, n, 1, &pk) != DECODE_TCP ||
		    pk.flags != 0 || pk.seq != seq || pk.ack != ack || pk.sport != a.port ||
		    pk.dport != b.port)
			bad++;
		decoder_free(d);
	}
	CHECK_EQ_U(bad, 0);
}

/* The checks above can fail: a corrupted frame is caught by both. */
static void test_corruption_detected(void)
{
	uint8_t f[128];
	size_t n = inject_build_rst(f, sizeof(f), &CLIENT4, &SERVER4, 1, 2);
	f[14 + 20 + 4] ^= 0x01; /* a seq bit */
	CHECK(!ref_csums_ok(f, n));
	struct decoder *d = new_dec();
	struct packet pk;
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, n, n, 1, &pk), DECODE_TCP);
	CHECK(pk.flags & PKT_TCP_CSUM_BAD);
	n = inject_build_rst(f, sizeof(f), &CLIENT6, &SERVER6, 1, 2);
	f[14 + 8] ^= 0x80; /* a source address bit: only the pseudo header covers it */
	CHECK(!ref_csums_ok(f, n));
	CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, n, n, 1, &pk), DECODE_TCP);
	CHECK(pk.flags & PKT_TCP_CSUM_BAD);
	decoder_free(d);
}

static void test_build_refused(void)
{
	uint8_t f[128];
	memset(f, 0xee, sizeof(f));
	CHECK_EQ_U(inject_build_rst(f, 53, &CLIENT4, &SERVER4, 1, 2), 0);
	CHECK_EQ_U(inject_build_rst(f, 73, &CLIENT6, &SERVER6, 1, 2), 0);
	CHECK_EQ_U(f[0], 0xee); /* nothing written */
	CHECK_EQ_U(inject_build_rst(f, 54, &CLIENT4, &SERVER4, 1, 2), 54);
	CHECK_EQ_U(inject_build_rst(f, 74, &CLIENT6, &SERVER6, 1, 2), 74);
	CHECK_EQ_U(inject_build_rst(f, sizeof(f), &CLIENT4, &SERVER6, 1, 2), 0);
	CHECK_EQ_U(inject_build_rst(f, sizeof(f), &CLIENT6, &SERVER4, 1, 2), 0);
	struct inject_end u1 = CLIENT4, u2 = SERVER4;
	u1.family = u2.family = AF_UNIX;
	CHECK_EQ_U(inject_build_rst(f, sizeof(f), &u1, &u2, 1, 2), 0);
	CHECK_EQ_U(inject_build_rst(NULL, sizeof(f), &CLIENT4, &SERVER4, 1, 2), 0);
	CHECK_EQ_U(inject_build_rst(f, sizeof(f), NULL, &SERVER4, 1, 2), 0);
}

/* Without CAP_NET_RAW the error names the capability.  As root the check
 * runs in a child that drops to nobody first. */
static void test_new_without_cap(void)
{
	if (geteuid() != 0) {
		char err[160] = "";
		struct injector *inj = injector_new(err, sizeof(err));
		if (inj) {
			fprintf(stderr, "  (CAP_NET_RAW held without root: refusal not tested)\n");
			injector_free(inj);
			return;
		}
		CHECK(strstr(err, "CAP_NET_RAW") != NULL);
		return;
	}
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		char err[160] = "";
		struct injector *inj = injector_new(err, sizeof(err));
		_exit(inj == NULL && strstr(err, "needs CAP_NET_RAW") ? 0 : 1);
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- live part: runs in a child inside its own network namespace ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to wait_ms for the expected frames at rx; other traffic (IPv6
 * neighbour discovery on the fresh links, ...) is skipped.  Returns how many
 * of the expected frames arrived byte for byte, marking them in got[]. */
static size_t capture_expected(int rx, const uint8_t (*want)[128], const size_t *want_len,
			       size_t nwant, bool *got, int wait_ms)
{
	size_t found = 0;
	int64_t deadline = now_ms() + wait_ms;
	for (int64_t left = wait_ms; found < nwant && left > 0; left = deadline - now_ms()) {
		struct pollfd pfd = {.fd = rx, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		uint8_t buf[2048];
		ssize_t n;
		while ((n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			for (size_t i = 0; i < nwant; i++) {
				if (!got[i] && (size_t)n == want_len[i] &&
				    memcmp(buf, want[i], want_len[i]) == 0) {
					got[i] = true;
					found++;
				}
			}
		}
	}
	return found;
}

static void drain(int rx)
{
	uint8_t buf[2048];
	while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static int live_child(void)
{
	if (unshare(CLONE_NEWNET) != 0) {
		fprintf(stderr, "  unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 1;
	}
	if (system("ip link add name inj_a type veth peer name inj_b && "
		   "ip link set dev inj_a up && ip link set dev inj_b up") != 0) {
		fprintf(stderr, "  veth pair setup failed\n");
		return 1;
	}
	unsigned ia = if_nametoindex("inj_a"), ib = if_nametoindex("inj_b");
	CHECK(ia != 0 && ib != 0);
	int rx = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	CHECK(rx >= 0);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)ib};
	CHECK(bind(rx, (struct sockaddr *)&sll, sizeof(sll)) == 0);

	char err[160] = "";
	struct injector *inj = injector_new(err, sizeof(err));
	CHECK(inj != NULL);
	if (!inj || rx < 0) {
		fprintf(stderr, "  %s\n", err);
		return 1;
	}

	/* Both ends "face" inj_a: every frame sent shows up at inj_b. */
	const struct inject_end *pairs[2][2] = {{&CLIENT4, &SERVER4}, {&CLIENT6, &SERVER6}};
	for (int p = 0; p < 2; p++) {
		struct inject_end c = *pairs[p][0], s = *pairs[p][1];
		c.ifindex = s.ifindex = ia;
		uint32_t to_server = 0x01020304u + (uint32_t)p, to_client = 0xfffffff0u;
		uint8_t want[2][128];
		size_t want_len[2];
		want_len[0] = inject_build_rst(want[0], sizeof(want[0]), &c, &s, to_server, to_client);
		want_len[1] = inject_build_rst(want[1], sizeof(want[1]), &s, &c, to_client, to_server);
		drain(rx);
		CHECK_EQ_U(injector_reset(inj, &c, &s, to_server, to_client), 0);
		bool got[2] = {false, false};
		CHECK_EQ_U(capture_expected(rx, (const uint8_t(*)[128])want, want_len, 2, got, 2000), 2);
		CHECK_EQ_U(injector_stats(inj)->sent, 2u * (unsigned)(p + 1));
	}
	CHECK_EQ_U(injector_stats(inj)->send_errors, 0);
	CHECK_EQ_U(injector_stats(inj)->unknown_mac, 0);

	/* Server MAC unknown: only the RST to the client goes out. */
	struct inject_end c = CLIENT4, s = SERVER4;
	c.ifindex = s.ifindex = ia;
	memset(s.mac, 0, 6);
	uint8_t want[2][128];
	size_t want_len[2];
	want_len[0] = inject_build_rst(want[0], sizeof(want[0]), &s, &c, 50, 60);
	want_len[1] = inject_build_rst(want[1], sizeof(want[1]), &c, &s, 60, 50);
	drain(rx);
	CHECK(injector_reset(inj, &c, &s, 60, 50) == -1);
	bool got[2] = {false, false};
	CHECK_EQ_U(capture_expected(rx, (const uint8_t(*)[128])want, want_len, 2, got, 300), 1);
	CHECK(got[0] && !got[1]);
	CHECK_EQ_U(injector_stats(inj)->unknown_mac, 1);
	CHECK_EQ_U(injector_stats(inj)->sent, 5);

	/* A port that does not exist: both sends fail and are counted. */
	c = CLIENT4;
	s = SERVER4;
	c.ifindex = s.ifindex = 0x7fff0000u;
	CHECK(injector_reset(inj, &c, &s, 1, 2) == -1);
	CHECK_EQ_U(injector_stats(inj)->send_errors, 2);
	CHECK_EQ_U(injector_stats(inj)->sent, 5);

	injector_free(inj);
	close(rx);
	fprintf(stderr, "  live: %u checks passed, %u failed\n", tl_passed, tl_failed);
	return tl_failed ? 1 : 0;
}

static void test_live_veth(void)
{
	if (geteuid() != 0) {
		printf("live part skipped (not root)\n");
		return;
	}
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		tl_passed = tl_failed = 0;
		_exit(live_child());
	}
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The redirect's answer: a data segment with PSH|ACK|FIN carrying the 302,
 * checksums right (our decoder verifies them), for both families. */
static void test_build_redirect(void)
{
	char resp[INJECT_PAYLOAD_MAX];
	size_t rn = inject_http_redirect(resp, sizeof resp, "http://block.example/blocked?x=1");
	CHECK(rn > 0);
	CHECK(strstr(resp, "HTTP/1.1 302 Found\r\n") == resp);
	CHECK(strstr(resp, "\r\nLocation: http://block.example/blocked?x=1\r\n") != NULL);
	CHECK(strstr(resp, "\r\nContent-Length: 0\r\n") != NULL);
	CHECK(rn >= 4 && memcmp(resp + rn - 4, "\r\n\r\n", 4) == 0);
	CHECK_EQ_U(inject_http_redirect(resp, 20, "http://block.example/"), 0); /* does not fit */

	const struct inject_end *pairs[2][2] = {{&SERVER4, &CLIENT4}, {&SERVER6, &CLIENT6}};
	for (int i = 0; i < 2; i++) {
		const struct inject_end *src = pairs[i][0], *dst = pairs[i][1];
		uint8_t f[1600];
		size_t n = inject_build_tcp(f, sizeof f, src, dst, 0xfffffff0u, 4242,
					    INJECT_ACK | INJECT_PSH | INJECT_FIN, (const uint8_t *)resp, rn);
		size_t hdr = 14 + (i == 0 ? 20 : 40) + 20;
		CHECK_EQ_U(n, hdr + rn);
		struct decoder *d = new_dec();
		struct packet pk;
		CHECK_EQ_U(decoder_decode(d, DECODE_LINK_ETHERNET, f, n, n, 1, &pk), DECODE_TCP);
		CHECK_EQ_U(pk.flags & (PKT_IPV4_CSUM_BAD | PKT_TCP_CSUM_BAD), 0);
		CHECK_EQ_U(pk.seq, 0xfffffff0u);
		CHECK_EQ_U(pk.ack, 4242);
		CHECK_EQ_U(pk.tcp_flags, TCP_ACK | TCP_PSH | TCP_FIN);
		CHECK_EQ_U(pk.window, 65535);
		CHECK_EQ_U(pk.payload_len, rn);
		CHECK(memcmp(pk.payload, resp, rn) == 0);
		CHECK_EQ_U(pk.sport, src->port);
		decoder_free(d);
		/* one byte of payload more than the cap is refused */
		static uint8_t big[INJECT_PAYLOAD_MAX + 1];
		CHECK_EQ_U(inject_build_tcp(f, sizeof f, src, dst, 1, 2, INJECT_ACK, big, sizeof big), 0);
	}
}

int main(void)
{
	RUN(test_build_ipv4);
	RUN(test_build_ipv6);
	RUN(test_build_varied);
	RUN(test_corruption_detected);
	RUN(test_build_refused);
	RUN(test_build_redirect);
	RUN(test_new_without_cap);
	RUN(test_live_veth);
	return tl_finish();
}
