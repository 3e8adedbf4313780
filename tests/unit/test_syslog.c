/* RFC 5424 alerts: exact formatting, the rate limit (on a test clock), the
 * queue cap, TCP reconnection against a listener of our own, target parsing,
 * and end to end against a real rsyslogd (Debian package "rsyslog") started
 * by tests/syslog/rsyslog.sh on free loopback ports and a private unix
 * socket.  Without /usr/sbin/rsyslogd the test fails: it must not pass
 * without a real receiver having parsed what we send.
 *
 *   test_alerts_syslog [SCRIPT]   SCRIPT: tests/syslog/rsyslog.sh, found next
 *                                 to this source file when not given */
#include "alerts/syslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/testlib.h"

extern char **environ;

#define TS UINT64_C(1795428000123456) /* 2026-11-23T10:00:00.123456Z */

static char script[PATH_MAX];

static struct syslog_config base_config(void)
{
	struct syslog_config c;
	syslog_config_default(&c);
	return c;
}

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- formatting ---- */

static void test_format_basic(void)
{
	struct syslog_config c = base_config();
	char buf[1024];
	struct syslog_param p[] = {{"verdict", "block"}, {"client", "192.0.2.1:40000"}};
	size_t n = syslog_format(buf, sizeof buf, &c, "mx1", 1234, 4, "verdict", TS, p, 2,
				 "blocked: eicar");
	CHECK_STR(buf, "<132>1 2026-11-23T10:00:00.123456Z mx1 postern 1234 verdict "
		       "[postern@32473 verdict=\"block\" client=\"192.0.2.1:40000\"] blocked: eicar");
	CHECK_EQ_U(n, strlen(buf));

	/* PRI = facility * 8 + severity, both ends */
	c.facility = 23;
	syslog_format(buf, sizeof buf, &c, "h", 1, 7, "m", TS, NULL, 0, "x");
	CHECK(strncmp(buf, "<191>1 ", 7) == 0);
	c.facility = 0;
	syslog_format(buf, sizeof buf, &c, "h", 1, 0, "m", TS, NULL, 0, "x");
	CHECK(strncmp(buf, "<0>1 ", 5) == 0);
	CHECK_EQ_U(syslog_format(buf, sizeof buf, &c, "h", 1, 8, "m", TS, NULL, 0, "x"), 0);
	CHECK_EQ_U(syslog_format(buf, sizeof buf, &c, "h", 1, -1, "m", TS, NULL, 0, "x"), 0);
	c.facility = 24;
	CHECK_EQ_U(syslog_format(buf, sizeof buf, &c, "h", 1, 0, "m", TS, NULL, 0, "x"), 0);

	/* microseconds are zero-padded; the epoch second is exact */
	c.facility = 16;
	syslog_format(buf, sizeof buf, &c, "h", 1, 6, "m", UINT64_C(1795428000000007), NULL, 0,
		      NULL);
	CHECK_STR(buf, "<134>1 2026-11-23T10:00:00.000007Z h postern 1 m -");
}

static void test_format_nil(void)
{
	struct syslog_config c = base_config();
	c.app_name = NULL;
	char buf[256];
	/* no time, host, app, pid, msgid, params or message */
	syslog_format(buf, sizeof buf, &c, NULL, 0, 3, NULL, 0, NULL, 0, NULL);
	CHECK_STR(buf, "<131>1 - - - - - -");
	c.app_name = "";
	syslog_format(buf, sizeof buf, &c, "", -5, 3, "", 0, NULL, 0, "");
	CHECK_STR(buf, "<131>1 - - - - - -");
	/* a year past 9999 has no RFC 3339 form */
	syslog_format(buf, sizeof buf, &c, "h", 1, 3, "m", UINT64_C(253402300800) * 1000000, NULL,
		      0, "x");
	CHECK_STR(buf, "<131>1 - h - 1 m - x");
	/* only invalid parameters: no SD element at all */
	struct syslog_param bad[] = {{"a b", "1"}, {"", "2"}};
	syslog_format(buf, sizeof buf, &c, "h", 1, 3, "m", 0, bad, 2, "x");
	CHECK_STR(buf, "<131>1 - h - 1 m - x");
}

static void test_format_escaping(void)
{
	struct syslog_config c = base_config();
	char buf[512];
	struct syslog_param p[] = {{"subject", "a\"b\\c]d [e]"}, {"empty", ""}, {"null", NULL}};
	syslog_format(buf, sizeof buf, &c, "h", 1, 4, "m", TS, p, 3, "msg \"]\\ as is");
	CHECK_STR(buf, "<132>1 2026-11-23T10:00:00.123456Z h postern 1 m [postern@32473 "
		       "subject=\"a\\\"b\\\\c\\]d [e\\]\" empty=\"\" null=\"\"] msg \"]\\ as is");
}

static void test_format_truncation(void)
{
	struct syslog_config c = base_config();
	char host[301], app[61], msgid[41], buf[2048], want[2048];
	memset(host, 'h', 300);
	host[300] = '\0';
	memset(app, 'a', 60);
	app[60] = '\0';
	memset(msgid, 'm', 40);
	msgid[40] = '\0';
	c.app_name = app;
	syslog_format(buf, sizeof buf, &c, host, 2147483647, 4, msgid, TS, NULL, 0, "x");
	snprintf(want, sizeof want, "<132>1 2026-11-23T10:00:00.123456Z %.255s %.48s 2147483647 %.32s - x",
		 host, app, msgid);
	CHECK_STR(buf, want);

	/* header fields are PRINTUSASCII: space, control and 8-bit bytes become '_' */
	c.app_name = "my app\t\xc3\xa9";
	syslog_format(buf, sizeof buf, &c, "mx 1", 1, 4, "ver\x7f" "dict", TS, NULL, 0, NULL);
	CHECK_STR(buf, "<132>1 2026-11-23T10:00:00.123456Z mx_1 my_app___ 1 ver_dict -");

	/* cap: the NUL counts; one byte short is 0 */
	c.app_name = "postern";
	size_t n = syslog_format(buf, sizeof buf, &c, "h", 1, 4, "m", TS, NULL, 0, "hello");
	CHECK(n > 0);
	char small[128];
	CHECK_EQ_U(syslog_format(small, n + 1, &c, "h", 1, 4, "m", TS, NULL, 0, "hello"), n);
	CHECK_STR(small, buf);
	CHECK_EQ_U(syslog_format(small, n, &c, "h", 1, 4, "m", TS, NULL, 0, "hello"), 0);
	CHECK_EQ_U(syslog_format(small, 0, &c, "h", 1, 4, "m", TS, NULL, 0, "hello"), 0);
}

static void test_format_param_names(void)
{
	struct syslog_config c = base_config();
	char buf[1024];
	char name32[33], name33[34];
	memset(name32, 'n', 32);
	name32[32] = '\0';
	memset(name33, 'n', 33);
	name33[33] = '\0';
	struct syslog_param p[] = {
		{"ok", "1"},  {"", "x"},     {NULL, "x"},      {"a=b", "x"}, {"a b", "x"},
		{"a]", "x"},  {"a\"", "x"},  {"\xc3\xa9", "x"}, {name33, "x"}, {name32, "2"},
		{"rule.id-1_x", "3"},
	};
	syslog_format(buf, sizeof buf, &c, "h", 1, 4, "m", 0, p, sizeof p / sizeof p[0], NULL);
	char want[256];
	snprintf(want, sizeof want, "<132>1 - h postern 1 m [postern@32473 ok=\"1\" %s=\"2\" rule.id-1_x=\"3\"]",
		 name32);
	CHECK_STR(buf, want);
}

static void test_format_utf8(void)
{
	struct syslog_config c = base_config();
	char buf[512];
	/* well-formed UTF-8 passes as is, without a BOM */
	struct syslog_param p[] = {{"subject", "Gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93 \xf0\x9f\x93\xa7"}};
	syslog_format(buf, sizeof buf, &c, "h", 1, 4, "m", 0, p, 1, "R\xc3\xa9sum\xc3\xa9 \xe2\x82\xac");
	CHECK_STR(buf, "<132>1 - h postern 1 m [postern@32473 subject=\"Gr\xc3\xbc\xc3\x9f" "e \xe2\x9c\x93 "
		       "\xf0\x9f\x93\xa7\"] R\xc3\xa9sum\xc3\xa9 \xe2\x82\xac");
	/* ill-formed bytes become U+FFFD: a stray byte, an overlong, a
	 * surrogate, a truncated sequence, past U+10FFFF */
	syslog_format(buf, sizeof buf, &c, "h", 1, 4, "m", 0, NULL, 0,
		      "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82" "e\xf4\x90\x80\x80");
#define R "\xef\xbf\xbd"
	CHECK_STR(buf, "<132>1 - h postern 1 m - a" R "b" R R "c" R R R "d" R R "e" R R R R);
	struct syslog_param q[] = {{"v", "\xc3"}};
	syslog_format(buf, sizeof buf, &c, "h", 1, 4, "m", 0, q, 1, NULL);
	CHECK_STR(buf, "<132>1 - h postern 1 m [postern@32473 v=\"" R "\"]");
#undef R
}

/* An RFC 5424 grammar check written apart from the formatter: header
 * tokens of PRINTUSASCII within their lengths, SD-PARAM names and escapes,
 * well-formed UTF-8 (decoded by code point, not by table) in values and MSG. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool token(const char **p, const char *end, size_t max)
{
	size_t n = 0;
	while (*p < end && **p != ' ') {
		unsigned char ch = (unsigned char)**p;
		if (ch < 33 || ch > 126)
			return false;
		(*p)++;
		n++;
	}
	return n >= 1 && n <= max && *p < end && *(*p)++ == ' ';
}

static bool valid_5424(const char *m, size_t n)
{
	const char *p = m, *end = m + n;
	if (n < 4 || *p++ != '<')
		return false;
	int pri = 0, digits = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 3) {
		pri = pri * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || pri > 191 || end - p < 3 || memcmp(p, ">1 ", 3) != 0)
		return false;
	p += 3;
	if (!token(&p, end, 32) || !token(&p, end, 255) || !token(&p, end, 48) ||
	    !token(&p, end, 128) || !token(&p, end, 32))
		return false;
	if (p < end && *p == '-') {
		p++;
	} else {
		const char *id = "[postern@32473";
		if ((size_t)(end - p) < strlen(id) || memcmp(p, id, strlen(id)) != 0)
			return false;
		p += strlen(id);
		while (p < end && *p == ' ') {
			p++;
			const char *name = p;
			while (p < end && *p != '=') {
				unsigned char ch = (unsigned char)*p++;
				if (ch < 33 || ch > 126 || ch == ' ' || ch == ']' || ch == '"')
					return false;
			}
			if (p == name || p - name > 32 || end - p < 2 || p[0] != '=' || p[1] != '"')
				return false;
			p += 2;
			const char *v = p;
			while (p < end && *p != '"') {
				if (*p == ']')
					return false;
				if (*p == '\\') {
					if (p + 1 >= end || !strchr("\"\\]", p[1]))
						return false;
					p++;
				}
				p++;
			}
			if (p >= end || !utf8_ok((const unsigned char *)v, (size_t)(p - v)))
				return false;
			p++;
		}
		if (p >= end || *p++ != ']')
			return false;
	}
	if (p == end)
		return true;
	return *p == ' ' && p + 1 < end && utf8_ok((const unsigned char *)p + 1, (size_t)(end - p - 1));
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Random text drawn mostly from the bytes that need care. */
static void rnd_text(char *out, size_t max)
{
	static const char pool[] = "\"\\]=[ -a\x01\x7f\xff\xc3\xa9\xe2\x82\xac\xed\xa0\x80\xf4\x90\xc0";
	size_t n = rnd() % max;
	for (size_t i = 0; i < n; i++)
		out[i] = pool[rnd() % (sizeof pool - 1)];
	out[n] = '\0';
}

static void test_format_random(void)
{
	struct syslog_config c = base_config();
	char host[300], app[64], msgid[48], msg[200], names[4][40], values[4][80];
	char buf[4096];
	unsigned bad = 0, formatted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		rnd_text(host, sizeof host);
		rnd_text(app, sizeof app);
		rnd_text(msgid, sizeof msgid);
		rnd_text(msg, sizeof msg);
		struct syslog_param p[4];
		for (int i = 0; i < 4; i++) {
			if (rnd() % 2) /* half the names from a clean alphabet */
				snprintf(names[i], sizeof names[i], "n%u", rnd() % 1000);
			else
				rnd_text(names[i], sizeof names[i]);
			rnd_text(values[i], sizeof values[i]);
			p[i] = (struct syslog_param){names[i], values[i]};
		}
		c.app_name = app;
		c.facility = (int)(rnd() % 24);
		size_t n = syslog_format(buf, sizeof buf, &c, host, (int)(rnd() % 100000), (int)(rnd() % 8),
					 msgid, (uint64_t)rnd() * 1000000 + rnd() % 1000000, p, 4, msg);
		formatted += n > 0;
		if (n == 0 || n != strlen(buf) || !valid_5424(buf, n)) {
			if (bad++ < 3)
				fprintf(stderr, "  not RFC 5424 (%zu): %s\n", n, buf);
		}
	}
	CHECK_EQ_U(bad, 0);
	CHECK_EQ_U(formatted, 20000);
	/* the checker does reject what it should */
	CHECK(valid_5424("<13>1 - h a p m - x", 19));
	CHECK(!valid_5424("<13>1 - h a p m [postern@32473 a=\"]\"] x", 38));
	CHECK(!valid_5424("<13>1 - h a p m - \xed\xa0\x80", 21));
	CHECK(!valid_5424("<13>1 - h a p  m - x", 20));
}

/* ---- sender against sockets of our own ---- */

/* The sender counts a message once its write returned, which may be just
 * after the receiver saw it. */
static void wait_sent(struct syslog_sender *s, uint64_t sent, struct syslog_stats *st)
{
	for (int i = 0; i < 300; i++) {
		syslog_stats(s, st);
		if (st->sent >= sent)
			return;
		usleep(10000);
	}
}

static int udp_listener(int family, char *target, size_t n)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	}
	int fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (family == AF_INET6)
		snprintf(target, n, "[::1]:%d", ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	else
		snprintf(target, n, "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return fd;
}

/* One datagram within timeout_ms, NUL-terminated; its length or -1. */
static ssize_t recv_dgram(int fd, char *buf, size_t n, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	ssize_t r = recv(fd, buf, n - 1, 0);
	buf[r > 0 ? r : 0] = '\0';
	return r;
}

static void test_udp_sender(void)
{
	char target[64], buf[SYSLOG_MSG_MAX + 64], err[256];
	int fd = udp_listener(AF_INET, target, sizeof target);
	CHECK(fd >= 0);
	struct syslog_config c = base_config();
	c.transport = SYSLOG_UDP;
	c.target = target;
	c.hostname = "sensor-1";
	c.app_name = "postern-test";
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		close(fd);
		return;
	}
	struct syslog_param p[] = {{"verdict", "pass"}, {"bad name", "x"}, {"flow", "1"}};
	CHECK(syslog_alert(s, 6, "verdict", TS, p, 3, "hello"));
	ssize_t n = recv_dgram(fd, buf, sizeof buf, 3000);
	char want[256];
	snprintf(want, sizeof want, "<134>1 2026-11-23T10:00:00.123456Z sensor-1 postern-test %d verdict "
		 "[postern@32473 verdict=\"pass\" flow=\"1\"] hello", (int)getpid());
	CHECK(n > 0);
	CHECK_STR(buf, want);

	/* a message past SYSLOG_MSG_MAX is cut at a character boundary */
	size_t big = 3 * SYSLOG_MSG_MAX;
	char *msg = malloc(big + 1);
	for (size_t i = 0; i < big; i += 2)
		memcpy(msg + i, "\xc3\xa9", 2); /* é: a cut must not split it */
	msg[big] = '\0';
	CHECK(syslog_alert(s, 6, "big", TS, NULL, 0, msg));
	n = recv_dgram(fd, buf, sizeof buf, 3000);
	CHECK(n > SYSLOG_MSG_MAX - 2 && n <= SYSLOG_MSG_MAX);
	const char *body = strstr(buf, " big - ");
	CHECK(body && (strlen(body + 7) % 2) == 0 && memcmp(buf + n - 2, "\xc3\xa9", 2) == 0);
	/* a huge parameter value is cut the same way, the message then left out */
	struct syslog_param huge[] = {{"subject", msg}, {"after", "x"}};
	CHECK(syslog_alert(s, 6, "big", TS, huge, 2, "dropped"));
	n = recv_dgram(fd, buf, sizeof buf, 3000);
	CHECK(n > SYSLOG_MSG_MAX - 4 && n <= SYSLOG_MSG_MAX);
	CHECK(n > 2 && memcmp(buf + n - 4, "\xc3\xa9\"]", 4) == 0 && !strstr(buf, "after="));
	free(msg);

	/* out-of-range severity is refused and counted */
	CHECK(!syslog_alert(s, 8, "x", TS, NULL, 0, NULL));
	struct syslog_stats st;
	wait_sent(s, 3, &st);
	CHECK_EQ_U(st.queued, 3);
	CHECK_EQ_U(st.sent, 3);
	CHECK_EQ_U(st.invalid_params, 1);
	CHECK_EQ_U(st.truncated, 2);
	CHECK_EQ_U(st.dropped_invalid, 1);
	CHECK_EQ_U(st.send_errors, 0);
	syslog_sender_free(s, 1000);
	close(fd);
}

static void test_udp_ipv6(void)
{
	char target[64], buf[512], err[256];
	int fd = udp_listener(AF_INET6, target, sizeof target);
	if (fd < 0) {
		fprintf(stderr, "  (no IPv6 loopback here: skipped the IPv6 check)\n");
		return;
	}
	struct syslog_config c = base_config();
	c.transport = SYSLOG_UDP;
	c.target = target;
	c.hostname = "h";
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (s) {
		CHECK(syslog_alert(s, 3, "v6", TS, NULL, 0, "over ::1"));
		CHECK(recv_dgram(fd, buf, sizeof buf, 3000) > 0);
		CHECK(strstr(buf, " v6 - over ::1") != NULL);
		syslog_sender_free(s, 1000);
	}
	close(fd);
}

/* Cut to SYSLOG_MSG_MAX, a message is still well-formed: long random
 * values and messages through a sender, each datagram checked. */
static void test_alert_random(void)
{
	char target[64], err[256];
	int fd = udp_listener(AF_INET, target, sizeof target);
	struct syslog_config c = base_config();
	c.transport = SYSLOG_UDP;
	c.target = target;
	c.rate_per_sec = 0;
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	enum { ITER = 300, BIG = 12000 };
	char *v1 = malloc(BIG), *v2 = malloc(BIG), *msg = malloc(BIG), *buf = malloc(BIG);
	unsigned bad = 0, received = 0, cut = 0;
	for (int iter = 0; iter < ITER; iter++) {
		rnd_text(v1, (rnd() % 2) ? BIG : 100);
		rnd_text(v2, (rnd() % 2) ? BIG : 100);
		rnd_text(msg, BIG);
		struct syslog_param p[] = {{"a", v1}, {"b", v2}};
		if (!syslog_alert(s, 5, "r", TS, p, 2, msg))
			continue;
		ssize_t n = recv_dgram(fd, buf, BIG, 3000);
		if (n <= 0)
			continue;
		received++;
		cut += n > SYSLOG_MSG_MAX - 8;
		if (n > SYSLOG_MSG_MAX || !valid_5424(buf, (size_t)n))
			bad++;
	}
	CHECK_EQ_U(received, ITER);
	CHECK_EQ_U(bad, 0);
	struct syslog_stats st;
	syslog_stats(s, &st);
	CHECK(st.truncated > ITER / 2 && cut > ITER / 2);
	free(v1);
	free(v2);
	free(msg);
	free(buf);
	syslog_sender_free(s, 1000);
	close(fd);
}

static uint64_t fake_ns;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_ns;
}

static void test_rate_limit(void)
{
	char target[64], err[256];
	int fd = udp_listener(AF_INET, target, sizeof target);
	struct syslog_config c = base_config();
	c.transport = SYSLOG_UDP;
	c.target = target;
	c.rate_per_sec = 2;
	c.burst = 3;
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	fake_ns = 1000000000;
	syslog_sender_set_clock(s, fake_clock, NULL);
	unsigned ok = 0;
	for (int i = 0; i < 5; i++) /* the burst, then nothing */
		ok += syslog_alert(s, 4, "r", TS, NULL, 0, "x");
	CHECK_EQ_U(ok, 3);
	fake_ns += 250000000; /* 0.25 s at 2/s: half a token */
	CHECK(!syslog_alert(s, 4, "r", TS, NULL, 0, "x"));
	fake_ns += 250000000; /* now a whole one */
	CHECK(syslog_alert(s, 4, "r", TS, NULL, 0, "x"));
	CHECK(!syslog_alert(s, 4, "r", TS, NULL, 0, "x"));
	fake_ns += UINT64_C(3600) * 1000000000; /* an hour refills the burst, no more */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += syslog_alert(s, 4, "r", TS, NULL, 0, "x");
	CHECK_EQ_U(ok, 3);
	struct syslog_stats st;
	syslog_stats(s, &st);
	CHECK_EQ_U(st.queued, 7);
	CHECK_EQ_U(st.dropped_rate, 2 + 1 + 1 + 7);
	syslog_sender_free(s, 2000);

	/* rate 0: no limit */
	c.rate_per_sec = 0;
	c.burst = 0;
	c.queue = 1000;
	s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (s) {
		syslog_sender_pause(s, true);
		ok = 0;
		for (int i = 0; i < 1000; i++)
			ok += syslog_alert(s, 4, "r", TS, NULL, 0, "x");
		CHECK_EQ_U(ok, 1000);
		syslog_stats(s, &st);
		CHECK_EQ_U(st.dropped_rate, 0);
		syslog_sender_free(s, 2000);
	}
	close(fd);
}

static void test_queue_full(void)
{
	char target[64], buf[512], err[256];
	int fd = udp_listener(AF_INET, target, sizeof target);
	struct syslog_config c = base_config();
	c.transport = SYSLOG_UDP;
	c.target = target;
	c.queue = 4;
	c.rate_per_sec = 0;
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	syslog_sender_pause(s, true);
	unsigned ok = 0;
	for (int i = 0; i < 7; i++) {
		char m[16];
		snprintf(m, sizeof m, "n%d", i);
		ok += syslog_alert(s, 4, "q", TS, NULL, 0, m);
	}
	CHECK_EQ_U(ok, 4);
	CHECK(recv_dgram(fd, buf, sizeof buf, 200) < 0); /* paused: nothing sent */
	struct syslog_stats st;
	syslog_stats(s, &st);
	CHECK_EQ_U(st.dropped_queue_full, 3);
	CHECK_EQ_U(st.queued, 4);
	syslog_sender_pause(s, false);
	for (int i = 0; i < 4; i++) { /* the first four, in order */
		char want[16];
		snprintf(want, sizeof want, " q - n%d", i);
		CHECK(recv_dgram(fd, buf, sizeof buf, 3000) > 0 && strstr(buf, want));
	}
	syslog_sender_free(s, 2000);
	close(fd);
}

static void test_bad_targets(void)
{
	struct syslog_config c = base_config();
	char err[256];
	const char *bad[] = {"::1:514", "[::1", "[::1]x", "127.0.0.1:", ":514", NULL};
	c.transport = SYSLOG_UDP;
	for (int i = 0; i < 6; i++) {
		c.target = bad[i];
		err[0] = '\0';
		struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
		CHECK(s == NULL);
		CHECK(strstr(err, "expected host:port") != NULL);
		syslog_sender_free(s, 0);
	}
	c.target = "127.0.0.1:notaport";
	CHECK(syslog_sender_new(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, "syslog target '127.0.0.1:notaport': ") == err);
	c.target = "127.0.0.1"; /* port 514 by default */
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	syslog_sender_free(s, 0);
	c.transport = SYSLOG_LOCAL;
	char path[200];
	memset(path, 'p', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	c.target = path;
	CHECK(syslog_sender_new(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, "path longer than") != NULL);
	c.target = "/dev/log";
	c.facility = 24;
	CHECK(syslog_sender_new(&c, err, sizeof err) == NULL);
	CHECK_STR(err, "syslog: facility 24 is not 0-23");
	c.facility = 16;
	c.queue = 0;
	CHECK(syslog_sender_new(&c, err, sizeof err) == NULL);
	c.queue = 10;
	c.burst = 0;
	CHECK(syslog_sender_new(&c, err, sizeof err) == NULL);
	CHECK_STR(err, "syslog: burst 0 would drop every alert");
}

/* LOCAL to a socket nobody listens on: each alert is a counted send error. */
static void test_local_missing(void)
{
	struct syslog_config c = base_config();
	char err[256];
	c.target = "/nonexistent/postern-test.sock";
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(syslog_alert(s, 4, "m", TS, NULL, 0, "x"));
	CHECK(syslog_alert(s, 4, "m", TS, NULL, 0, "y"));
	struct syslog_stats st = {0};
	for (int i = 0; i < 300 && st.send_errors < 2; i++) {
		usleep(10000);
		syslog_stats(s, &st);
	}
	CHECK_EQ_U(st.send_errors, 2);
	CHECK_EQ_U(st.sent, 0);
	syslog_sender_free(s, 1000);
}

/* ---- TCP against a listener of our own ---- */


static int tcp_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (*port)
		a.sin_port = htons((uint16_t)*port);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* Reads from fd until buf holds `frames` octet-counted frames or timeout;
 * returns the number of whole frames, each checked to be "LEN SP MSG". */
static int read_frames(int fd, char *buf, size_t n, int frames, int timeout_ms)
{
	size_t have = 0;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int count = 0;
		size_t at = 0;
		while (at < have) {
			char *sp = memchr(buf + at, ' ', have - at);
			if (!sp)
				break;
			size_t len = strtoul(buf + at, NULL, 10);
			if (len == 0 || (size_t)(sp - (buf + at)) > 5)
				return -1;
			if ((size_t)(sp + 1 - buf) + len > have)
				break;
			at = (size_t)(sp + 1 - buf) + len;
			count++;
		}
		if (count >= frames || now_ms() >= end || have >= n - 1)
			return count;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			return count;
		ssize_t r = recv(fd, buf + have, n - 1 - have, 0);
		if (r <= 0)
			return count;
		have += (size_t)r;
		buf[have] = '\0';
	}
}

static int accept_within(int lfd, int timeout_ms)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	return accept(lfd, NULL, NULL);
}

static void test_tcp_reconnect(void)
{
	int port = 0;
	int lfd = tcp_listener(&port);
	CHECK(lfd >= 0);
	char target[64], err[256], buf[4096];
	snprintf(target, sizeof target, "127.0.0.1:%d", port);
	struct syslog_config c = base_config();
	c.transport = SYSLOG_TCP;
	c.target = target;
	c.hostname = "h";
	c.rate_per_sec = 0;
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(syslog_alert(s, 4, "one", TS, NULL, 0, "first"));
	CHECK(syslog_alert(s, 4, "two", TS, NULL, 0, "second"));
	int cfd = accept_within(lfd, 3000);
	CHECK(cfd >= 0);
	CHECK_EQ_U(read_frames(cfd, buf, sizeof buf, 2, 3000), 2);
	char want[128];
	int body = snprintf(want, sizeof want, "<132>1 2026-11-23T10:00:00.123456Z h postern %d one - first",
			    (int)getpid());
	char framed[160];
	snprintf(framed, sizeof framed, "%d %s", body, want);
	CHECK(strncmp(buf, framed, strlen(framed)) == 0);

	/* the receiver goes away and comes back: the sender notices the close,
	 * reconnects and delivers the next alert */
	close(cfd);
	usleep(50000);
	CHECK(syslog_alert(s, 4, "three", TS, NULL, 0, "after reconnect"));
	cfd = accept_within(lfd, 3000);
	CHECK(cfd >= 0);
	CHECK_EQ_U(read_frames(cfd, buf, sizeof buf, 1, 3000), 1);
	CHECK(strstr(buf, " three - after reconnect") != NULL);
	struct syslog_stats st;
	wait_sent(s, 3, &st);
	CHECK_EQ_U(st.reconnects, 1);
	CHECK_EQ_U(st.sent, 3);

	/* the receiver down for good: alerts wait in the queue while the
	 * sender backs off; the drain then gives up after its timeout */
	close(cfd);
	close(lfd);
	usleep(50000);
	for (int i = 0; i < 5; i++)
		CHECK(syslog_alert(s, 4, "lost", TS, NULL, 0, "x"));
	usleep(300000);
	syslog_stats(s, &st);
	CHECK_EQ_U(st.sent, 3);
	uint64_t t0 = now_ms();
	syslog_sender_free(s, 300);
	uint64_t took = now_ms() - t0;
	CHECK(took >= 250 && took < 1500);
}

/* ---- end to end with rsyslogd ---- */

static void find_script(const char *arg)
{
	if (arg) {
		snprintf(script, sizeof script, "%s", arg);
		return;
	}
	/* __FILE__ is ".../tests/unit/test_syslog.c", relative to the build
	 * root (two levels above this binary) unless absolute. */
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	int flen = slash ? (int)(slash - file) : 0;
	if (file[0] == '/') {
		snprintf(script, sizeof script, "%.*s/../syslog/rsyslog.sh", flen, file);
		return;
	}
	char exe[PATH_MAX];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[l > 0 ? l : 0] = '\0';
	for (int up = 0; up < 3; up++) {
		char *s = strrchr(exe, '/');
		if (s)
			*s = '\0';
	}
	if (snprintf(script, sizeof script, "%s/%.*s/../syslog/rsyslog.sh", exe, flen, file) >=
	    (int)sizeof script)
		script[0] = '\0';
}

static int run_script(char *const argv[])
{
	pid_t pid;
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
		return -1;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A port free for both UDP and TCP on 127.0.0.1. */
static int free_port(void)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		char t[64];
		int u = udp_listener(AF_INET, t, sizeof t);
		if (u < 0)
			continue;
		int port = atoi(strrchr(t, ':') + 1);
		int probe = port;
		int l = tcp_listener(&probe);
		close(u);
		if (l >= 0) {
			close(l);
			return port;
		}
	}
	return -1;
}

/* Lines of path once it has at least `lines` of them (or timeout). */
static char *wait_lines(const char *path, size_t lines, int timeout_ms, size_t *got)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		FILE *f = fopen(path, "r");
		char *data = NULL;
		size_t len = 0, count = 0;
		if (f) {
			fseek(f, 0, SEEK_END);
			long sz = ftell(f);
			rewind(f);
			data = malloc((size_t)(sz > 0 ? sz : 0) + 1);
			len = fread(data, 1, (size_t)(sz > 0 ? sz : 0), f);
			data[len] = '\0';
			fclose(f);
			for (size_t i = 0; i < len; i++)
				count += data[i] == '\n';
		}
		if (count >= lines || now_ms() >= end) {
			*got = count;
			return data;
		}
		free(data);
		usleep(20000);
	}
}

static struct syslog_sender *sender_to(enum syslog_transport t, const char *target)
{
	struct syslog_config c = base_config();
	char err[256];
	c.transport = t;
	c.target = target;
	c.hostname = "sensor-1";
	c.app_name = "postern";
	c.facility = 16;
	c.rate_per_sec = 0;
	c.queue = 20000;
	struct syslog_sender *s = syslog_sender_new(&c, err, sizeof err);
	if (!s)
		fprintf(stderr, "syslog_sender_new(%s): %s\n", target, err);
	return s;
}

static void send_sample(struct syslog_sender *s, const char *msgid, const char *via)
{
	struct syslog_param p[] = {
		{"verdict", "block"}, {"client", "192.0.2.1:40000"},
		{"subject", "Gr\xc3\xbc\xc3\x9f" "e \"quoted\" [x] back\\slash"}, {"bad name", "skipped"},
	};
	char msg[64];
	snprintf(msg, sizeof msg, "blocked via %s \xe2\x9c\x93", via);
	CHECK(syslog_alert(s, 4, msgid, TS, p, 4, msg));
}

static void test_rsyslog(void)
{
	const char *rsyslogd = getenv("RSYSLOGD") ? getenv("RSYSLOGD") : "/usr/sbin/rsyslogd";
	if (access(rsyslogd, X_OK) != 0) {
		fprintf(stderr, "%s not found: install the Debian package \"rsyslog\"\n", rsyslogd);
		CHECK(!"rsyslogd present");
		return;
	}
	if (!script[0] || access(script, R_OK) != 0) {
		fprintf(stderr, "rsyslog.sh not found at '%s' (pass its path as argv[1])\n", script);
		CHECK(!"tests/syslog/rsyslog.sh found");
		return;
	}
	char dir[] = "/tmp/postern-syslog-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	int udp = free_port(), tcp = free_port();
	while (tcp == udp)
		tcp = free_port();
	char udp_s[16], tcp_s[16], sock[64], received[96];
	snprintf(udp_s, sizeof udp_s, "%d", udp);
	snprintf(tcp_s, sizeof tcp_s, "%d", tcp);
	snprintf(sock, sizeof sock, "%s/log", dir);
	snprintf(received, sizeof received, "%s/received.log", dir);
	char *start[] = {"sh", script, "start", dir, udp_s, tcp_s, sock, NULL};
	char *stop[] = {"sh", script, "stop", dir, NULL};
	char rm[128];
	snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
	int rc = run_script(start);
	CHECK_EQ_U(rc, 0);
	if (rc != 0) {
		run_script(stop);
		CHECK_EQ_U(system(rm), 0);
		return;
	}
	char target[64];
	snprintf(target, sizeof target, "127.0.0.1:%d", udp);
	struct syslog_sender *su = sender_to(SYSLOG_UDP, target);
	snprintf(target, sizeof target, "127.0.0.1:%d", tcp);
	struct syslog_sender *st = sender_to(SYSLOG_TCP, target);
	struct syslog_sender *sl = sender_to(SYSLOG_LOCAL, sock);
	CHECK(su && st && sl);
	if (su && st && sl) {
		send_sample(su, "udp", "UDP");
		send_sample(st, "tcp", "TCP");
		send_sample(sl, "local", "unix socket");
		size_t got;
		char *data = wait_lines(received, 3, 5000, &got);
		CHECK_EQ_U(got, 3);
		/* what rsyslog parsed, field by field: PRI, time, host, app,
		 * procid, msgid, structured data, message */
		const char *via[3][2] = {{"udp", "UDP"}, {"tcp", "TCP"}, {"local", "unix socket"}};
		for (int i = 0; i < 3; i++) {
			char want[512];
			snprintf(want, sizeof want,
				 "132|2026-11-23T10:00:00.123456Z|sensor-1|postern|%d|%s|"
				 "[postern@32473 verdict=\"block\" client=\"192.0.2.1:40000\" "
				 "subject=\"Gr\xc3\xbc\xc3\x9f" "e \\\"quoted\\\" [x\\] back\\\\slash\"]|"
				 "blocked via %s \xe2\x9c\x93\n",
				 (int)getpid(), via[i][0], via[i][1]);
			bool found = data && strstr(data, want);
			if (!found)
				fprintf(stderr, "missing line: %sreceived:\n%s\n", want, data ? data : "");
			CHECK(found);
		}
		free(data);

		/* 10000 alerts over TCP, all delivered, in order */
		enum { N = 10000 };
		uint64_t t0 = now_ms();
		unsigned ok = 0;
		for (int i = 0; i < N; i++) {
			char m[32];
			snprintf(m, sizeof m, "bulk %05d", i);
			struct syslog_param p[] = {{"n", m + 5}};
			ok += syslog_alert(st, 6, "bulk", TS, p, 1, m);
		}
		CHECK_EQ_U(ok, N);
		data = wait_lines(received, 3 + N, 20000, &got);
		uint64_t took = now_ms() - t0;
		CHECK_EQ_U(got, 3 + N);
		const char *at = data;
		int in_order = 0;
		for (int i = 0; i < N && at; i++) {
			char m[32];
			snprintf(m, sizeof m, "|bulk %05d\n", i);
			at = strstr(at, m);
			in_order += at != NULL;
		}
		CHECK_EQ_U(in_order, N);
		free(data);
		fprintf(stderr, "  %d alerts to rsyslogd over TCP in %llu ms (%.0f/s)\n", N,
			(unsigned long long)took, took ? N * 1000.0 / (double)took : 0.0);
		struct syslog_stats s1;
		wait_sent(st, N + 1, &s1);
		CHECK_EQ_U(s1.sent, N + 1);
		CHECK_EQ_U(s1.send_errors, 0);
		CHECK_EQ_U(s1.invalid_params, 1);
	}
	syslog_sender_free(su, 2000);
	syslog_sender_free(st, 2000);
	syslog_sender_free(sl, 2000);
	CHECK_EQ_U(run_script(stop), 0);
	CHECK_EQ_U(system(rm), 0);
}

int main(int argc, char **argv)
{
	find_script(argc > 1 ? argv[1] : NULL);
	RUN(test_format_basic);
	RUN(test_format_nil);
	RUN(test_format_escaping);
	RUN(test_format_truncation);
	RUN(test_format_param_names);
	RUN(test_format_utf8);
	RUN(test_format_random);
	RUN(test_udp_sender);
	RUN(test_udp_ipv6);
	RUN(test_alert_random);
	RUN(test_rate_limit);
	RUN(test_queue_full);
	RUN(test_bad_targets);
	RUN(test_local_missing);
	RUN(test_tcp_reconnect);
	RUN(test_rsyslog);
	return tl_finish();
}
