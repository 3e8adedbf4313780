/* tcp_rr: request/response latency over one TCP connection.
 *
 *   tcp_rr server [--smtp] ADDR PORT
 *   tcp_rr client [--smtp] [-n ROUNDS] [-w WARMUP] ADDR PORT
 *
 * Plain mode: the client sends 1 byte, the server echoes it back.  With
 * --smtp the exchange looks like an SMTP session (the server greets with
 * "220 rr ESMTP", answers "EHLO rr" and every "NOOP" with a 250 line), so an
 * inline SMTP inspector keeps inspecting every packet instead of giving the
 * connection up as "not SMTP".  The client times each round trip with
 * CLOCK_MONOTONIC and prints the percentiles in microseconds.  The server
 * serves one connection at a time, forever.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS_MAX 10000000L

static void usage(FILE *f)
{
	fprintf(f, "usage: tcp_rr server [--smtp] ADDR PORT\n"
		   "       tcp_rr client [--smtp] [-n ROUNDS] [-w WARMUP] ADDR PORT\n"
		   "  --smtp     SMTP-looking exchange (220 greeting, EHLO, NOOP/250)\n"
		   "  -n ROUNDS  timed round trips (default 20000, at most %ld)\n"
		   "  -w WARMUP  untimed round trips first (default 200)\n",
		ROUNDS_MAX);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (up to LF) into buf, NUL-terminated; 0 at EOF, -1 on error
 * or a line longer than the buffer.  Byte by byte: lines here are a few
 * bytes and one arrives per round trip, so there is nothing to batch. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r == 0)
			return n ? -1 : 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
		if (c == '\n') {
			buf[n] = '\0';
			return 1;
		}
	}
}

static int read_byte(int fd, char *c)
{
	for (;;) {
		ssize_t r = read(fd, c, 1);
		if (r == 1)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static struct addrinfo *resolve(const char *host, const char *port, bool passive)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "tcp_rr: %s port %s: %s\n", host, port, gai_strerror(rc));
		return NULL;
	}
	return ai;
}

static void serve_conn(int fd, bool smtp)
{
	if (!smtp) {
		char c;
		while (read_byte(fd, &c) == 1)
			if (write_all(fd, &c, 1) < 0)
				break;
		return;
	}
	static const char greeting[] = "220 rr ESMTP\r\n";
	if (write_all(fd, greeting, sizeof greeting - 1) < 0)
		return;
	char line[512];
	while (read_line(fd, line, sizeof line) == 1) {
		bool quit = strncmp(line, "QUIT", 4) == 0;
		const char *reply = quit ? "221 bye\r\n"
				  : strncmp(line, "EHLO", 4) == 0 ? "250 rr\r\n" : "250 ok\r\n";
		if (write_all(fd, reply, strlen(reply)) < 0 || quit)
			return;
	}
}

static int run_server(const char *host, const char *port, bool smtp)
{
	struct addrinfo *ai = resolve(host, port, true);
	if (!ai)
		return 1;
	int ls = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	int one = 1;
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(ls, ai->ai_addr, ai->ai_addrlen) < 0 || listen(ls, 16) < 0) {
		fprintf(stderr, "tcp_rr: listen %s port %s: %s\n", host, port, strerror(errno));
		freeaddrinfo(ai);
		return 1;
	}
	freeaddrinfo(ai);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "tcp_rr: accept: %s\n", strerror(errno));
			return 1;
		}
		set_nodelay(fd);
		serve_conn(fd, smtp);
		close(fd);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One request, one reply; -1 when the connection broke or replied wrongly. */
static int round_trip(int fd, bool smtp)
{
	if (smtp) {
		static const char noop[] = "NOOP\r\n";
		char line[128];
		if (write_all(fd, noop, sizeof noop - 1) < 0 || read_line(fd, line, sizeof line) != 1)
			return -1;
		return strncmp(line, "250", 3) == 0 ? 0 : -1;
	}
	char c = 'x', r;
	if (write_all(fd, &c, 1) < 0 || read_byte(fd, &r) != 1)
		return -1;
	return r == c ? 0 : -1;
}

/* Nearest-rank percentile of a sorted array. */
static double pct_us(const uint64_t *v, long n, double p)
{
	long rank = (long)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

static int run_client(const char *host, const char *port, bool smtp, long rounds, long warmup)
{
	uint64_t *rtt = malloc((size_t)rounds * sizeof *rtt);
	struct addrinfo *ai = resolve(host, port, false);
	if (!rtt || !ai) {
		free(rtt);
		if (ai)
			freeaddrinfo(ai);
		return 1;
	}
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "tcp_rr: connect %s port %s: %s\n", host, port, strerror(errno));
		freeaddrinfo(ai);
		free(rtt);
		return 1;
	}
	freeaddrinfo(ai);
	set_nodelay(fd);
	char line[128];
	if (smtp) {
		static const char ehlo[] = "EHLO rr\r\n";
		if (read_line(fd, line, sizeof line) != 1 || strncmp(line, "220", 3) != 0 ||
		    write_all(fd, ehlo, sizeof ehlo - 1) < 0 || read_line(fd, line, sizeof line) != 1 ||
		    strncmp(line, "250", 3) != 0) {
			fprintf(stderr, "tcp_rr: no SMTP greeting/EHLO reply\n");
			free(rtt);
			return 1;
		}
	}
	for (long i = 0; i < warmup; i++)
		if (round_trip(fd, smtp) < 0)
			goto broken;
	uint64_t t_begin = now_ns();
	for (long i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();
		if (round_trip(fd, smtp) < 0)
			goto broken;
		rtt[i] = now_ns() - t0;
	}
	uint64_t t_total = now_ns() - t_begin;
	if (smtp) {
		static const char quit[] = "QUIT\r\n";
		if (write_all(fd, quit, sizeof quit - 1) == 0)
			(void)read_line(fd, line, sizeof line);
	}
	close(fd);
	double sum = 0;
	for (long i = 0; i < rounds; i++)
		sum += (double)rtt[i];
	qsort(rtt, (size_t)rounds, sizeof *rtt, cmp_u64);
	printf("rounds=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f "
	       "rounds_per_s=%.0f\n",
	       rounds, pct_us(rtt, rounds, 50), pct_us(rtt, rounds, 90), pct_us(rtt, rounds, 99),
	       (double)rtt[rounds - 1] / 1000.0, sum / (double)rounds / 1000.0,
	       (double)rounds * 1e9 / (double)t_total);
	free(rtt);
	return 0;
broken:
	fprintf(stderr, "tcp_rr: connection broke or wrong reply\n");
	close(fd);
	free(rtt);
	return 1;
}

static long parse_count(const char *s, long min, long max, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "tcp_rr: %s '%s': want %ld to %ld\n", what, s, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	bool server = strcmp(argv[1], "server") == 0;
	if (!server && strcmp(argv[1], "client") != 0) {
		usage(stderr);
		return 2;
	}
	bool smtp = false;
	long rounds = 20000, warmup = 200;
	int i = 2;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--smtp") == 0)
			smtp = true;
		else if (!server && strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			rounds = parse_count(argv[++i], 1, ROUNDS_MAX, "-n");
		else if (!server && strcmp(argv[i], "-w") == 0 && i + 1 < argc)
			warmup = parse_count(argv[++i], 0, ROUNDS_MAX, "-w");
		else {
			usage(stderr);
			return 2;
		}
	}
	if (argc - i != 2) {
		usage(stderr);
		return 2;
	}
	return server ? run_server(argv[i], argv[i + 1], smtp)
		      : run_client(argv[i], argv[i + 1], smtp, rounds, warmup);
}
