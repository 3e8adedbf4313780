/* RBL lookups against a real unbound serving the zones of
 * tests/dns/unbound.conf.in on a free loopback port; the test starts and
 * stops it.  Without /usr/sbin/unbound (Debian package "unbound") the test
 * fails: it must not pass without having asked a DNS server.
 *
 *   test_rbl_resolver            the tests
 *   test_rbl_resolver --bench N [BATCH]  lookups/s, uncached and cached,
 *                                        BATCH checks in flight at a time */
#include "rbl/rbl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/testlib.h"

#define UNBOUND "/usr/sbin/unbound"
#define SEC UINT64_C(1000000)

static char tmpdir[64];
static char servers[64];
static pid_t unbound_pid;

/* tests/dns, found from this file's path: meson compiles it by a path
 * relative to the build root, which is two levels above this binary. */
static void dns_dir(char *out, size_t n)
{
	const char *env = getenv("POSTERN_TEST_DNS_DIR");
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	int flen = slash ? (int)(slash - file) : 0;
	if (env) {
		snprintf(out, n, "%s", env);
	} else if (file[0] == '/') {
		snprintf(out, n, "%.*s/../dns", flen, file);
	} else {
		char exe[PATH_MAX];
		ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
		exe[l > 0 ? l : 0] = '\0';
		for (int up = 0; up < 3; up++) { /* binary, tests/unit -> build root */
			char *s = strrchr(exe, '/');
			if (s)
				*s = '\0';
		}
		if (snprintf(out, n, "%s/%.*s/../dns", exe, flen, file) >= (int)n)
			out[0] = '\0'; /* too long: the template is then not found */
	}
}

/* A port free for both UDP and TCP on 127.0.0.1. */
static int free_port(void)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t al = sizeof a;
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof a) != 0 ||
		    getsockname(u, (struct sockaddr *)&a, &al) != 0) {
			if (u >= 0)
				close(u);
			continue;
		}
		int t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok = t >= 0 && bind(t, (struct sockaddr *)&a, sizeof a) == 0;
		if (t >= 0)
			close(t);
		close(u);
		if (ok)
			return ntohs(a.sin_port);
	}
	return -1;
}

static bool write_config(const char *tmpl, const char *out, int port)
{
	FILE *in = fopen(tmpl, "r"), *o = fopen(out, "w");
	if (!in || !o) {
		if (in)
			fclose(in);
		if (o)
			fclose(o);
		return false;
	}
	char line[512];
	while (fgets(line, sizeof line, in)) {
		for (char *p = line; *p; p++) {
			if (strncmp(p, "@DIR@", 5) == 0) {
				fputs(tmpdir, o);
				p += 4;
			} else if (strncmp(p, "@PORT@", 6) == 0) {
				fprintf(o, "%d", port);
				p += 5;
			} else {
				fputc(*p, o);
			}
		}
	}
	fclose(in);
	return fclose(o) == 0;
}

static bool tcp_answers(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void show_log(void)
{
	char path[128], buf[4096];
	snprintf(path, sizeof path, "%s/unbound.log", tmpdir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "--- unbound log ---\n%s\n", buf);
}

static bool start_unbound(void)
{
	char dir[PATH_MAX], tmpl[PATH_MAX + 32], conf[128], logp[128];
	if (access(UNBOUND, X_OK) != 0) {
		fprintf(stderr, "FAIL: %s not found: install the Debian package \"unbound\"\n", UNBOUND);
		return false;
	}
	dns_dir(dir, sizeof dir);
	snprintf(tmpl, sizeof tmpl, "%s/unbound.conf.in", dir);
	snprintf(tmpdir, sizeof tmpdir, "/tmp/postern-rbl-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return false;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		int port = free_port();
		snprintf(conf, sizeof conf, "%s/unbound.conf", tmpdir);
		snprintf(logp, sizeof logp, "%s/unbound.log", tmpdir);
		if (port < 0 || !write_config(tmpl, conf, port)) {
			fprintf(stderr, "FAIL: no free port or cannot write %s from %s\n", conf, tmpl);
			return false;
		}
		/* fork rather than posix_spawn for PR_SET_PDEATHSIG: unbound must
		 * not outlive a test killed by a sanitizer or the meson timeout. */
		pid_t parent = getpid();
		unbound_pid = fork();
		if (unbound_pid < 0) {
			fprintf(stderr, "FAIL: fork: %s\n", strerror(errno));
			return false;
		}
		if (unbound_pid == 0) {
			int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent || fd < 0 ||
			    dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(127);
			char *argv[] = {UNBOUND, "-d", "-c", conf, NULL};
			execv(UNBOUND, argv);
			_exit(127);
		}
		for (int i = 0; i < 200; i++) { /* up to 10 s */
			int status;
			if (waitpid(unbound_pid, &status, WNOHANG) == unbound_pid) {
				unbound_pid = 0;
				break; /* exited: port taken meanwhile? try another */
			}
			if (tcp_answers(port)) {
				snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
				return true;
			}
			usleep(50000);
		}
		if (unbound_pid) {
			kill(unbound_pid, SIGTERM);
			waitpid(unbound_pid, NULL, 0);
			unbound_pid = 0;
		}
	}
	fprintf(stderr, "FAIL: unbound did not start\n");
	show_log();
	return false;
}

static void stop_unbound(void)
{
	char path[128];
	if (unbound_pid > 0) {
		kill(unbound_pid, SIGTERM);
		waitpid(unbound_pid, NULL, 0);
		unbound_pid = 0;
	}
	if (!tmpdir[0])
		return;
	const char *files[] = {"unbound.conf", "unbound.log", "unbound.pid"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

/* ---- helpers ---- */

static struct rbl_list L_BL = {"bl.test", RBL_KIND_IP, 2};
static struct rbl_list L_BL2 = {"bl2.test", RBL_KIND_IP, 1};
static struct rbl_list L_DBL = {"dbl.test", RBL_KIND_DOMAIN, 3};

static struct rbl_resolver *resolver(struct rbl_list *lists, size_t n, int threshold,
				     struct rbl_config *tweak)
{
	struct rbl_config c;
	char err[256] = "";
	if (tweak)
		c = *tweak;
	else
		rbl_config_default(&c);
	c.lists = lists;
	c.list_count = n;
	c.threshold = threshold;
	if (!c.servers)
		c.servers = servers;
	struct rbl_resolver *r = rbl_resolver_new(&c, err, sizeof err);
	if (!r)
		fprintf(stderr, "resolver: %s\n", err);
	return r;
}

static void ip4(struct rbl_check *c, const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) == 1)
		rbl_check_ip(c, AF_INET, (const uint8_t *)&a);
}

static void ip6(struct rbl_check *c, const char *s)
{
	struct in6_addr a;
	if (inet_pton(AF_INET6, s, &a) == 1)
		rbl_check_ip(c, AF_INET6, a.s6_addr);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* One check of one IPv4 address, waited for. */
static void check_one(struct rbl_resolver *r, const char *ip, struct rbl_result *res)
{
	struct rbl_check *c = rbl_check_new(r);
	ip4(c, ip);
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(c));
	rbl_check_result(c, res);
	rbl_check_free(c);
}

/* ---- tests ---- */

static void test_listed_ipv4(void)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_resolver *r = resolver(lists, 1, 2, NULL);
	CHECK(r != NULL);
	if (!r)
		return;
	struct rbl_check *c = rbl_check_new(r);
	ip4(c, "127.0.0.2");
	CHECK(!rbl_check_done(c)); /* asked, not answered: nothing blocked */
	CHECK_EQ_U(rbl_resolver_stats(r)->queries, 1);
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(c));
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK(res.listed);
	CHECK_EQ_U(res.score, 2);
	CHECK_EQ_U(res.hit_count, 1);
	CHECK_EQ_U(res.timeouts, 0);
	CHECK_STR(res.hits[0].zone, "bl.test");
	CHECK_STR(res.hits[0].query, "2.0.0.127");
	CHECK_STR(res.hits[0].answer, "127.0.0.2");
	CHECK_EQ_U(res.hits[0].weight, 2);
	const struct rbl_stats *st = rbl_resolver_stats(r);
	CHECK_EQ_U(st->listed, 1);
	CHECK_EQ_U(st->answers, 1);
	CHECK_EQ_U(st->errors, 0);
	rbl_check_free(c);
	rbl_resolver_free(r);
}

static void test_not_listed(void)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_resolver *r = resolver(lists, 1, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	struct rbl_result res;
	check_one(r, "127.0.0.3", &res);
	CHECK(!res.listed);
	CHECK_EQ_U(res.hit_count, 0);
	CHECK_EQ_U(res.timeouts, 0);
	CHECK_EQ_U(rbl_resolver_stats(r)->not_listed, 1);
	CHECK_EQ_U(rbl_resolver_stats(r)->answers, 1);
	rbl_resolver_free(r);
}

static void test_ipv6(void)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_resolver *r = resolver(lists, 1, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	struct rbl_check *c = rbl_check_new(r);
	ip6(c, "2001:db8::1");
	ip6(c, "2001:db8::2");
	ip6(c, "::ffff:127.0.0.2"); /* mapped: looked up as 127.0.0.2 */
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(c));
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK_EQ_U(res.hit_count, 2);
	CHECK_STR(res.hits[0].query,
		  "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2");
	CHECK_STR(res.hits[0].answer, "127.0.0.3");
	CHECK_STR(res.hits[1].query, "2.0.0.127");
	CHECK_EQ_U(rbl_resolver_stats(r)->not_listed, 1);
	CHECK_EQ_U(res.score, 2); /* one list scores once */
	rbl_check_free(c);

	/* a bad family is rejected, not looked up */
	c = rbl_check_new(r);
	uint8_t junk[16] = {0};
	uint64_t q = rbl_resolver_stats(r)->queries;
	rbl_check_ip(c, 12345, junk);
	CHECK(rbl_check_done(c));
	CHECK_EQ_U(rbl_resolver_stats(r)->queries, q);
	CHECK_EQ_U(rbl_resolver_stats(r)->names_rejected, 1);
	rbl_check_free(c);
	rbl_resolver_free(r);
}

static void test_domains(void)
{
	struct rbl_list lists[] = {L_DBL};
	struct rbl_resolver *r = resolver(lists, 1, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	struct rbl_check *c = rbl_check_new(r);
	rbl_check_domain(c, "WWW.Bad.Example.");
	rbl_check_domain(c, "mail.bad.example"); /* same registered domain */
	rbl_check_domain(c, "x.y.evil.co.uk");
	rbl_check_domain(c, "shop.example.com.au");
	rbl_check_domain(c, "a.b.example.de");
	rbl_check_domain(c, "good.example");
	CHECK_EQ_U(rbl_resolver_stats(r)->queries, 5);
	/* rejected: IP literals, one label, empty label, bad characters */
	rbl_check_domain(c, "192.0.2.1");
	rbl_check_domain(c, "[2001:db8::1]");
	rbl_check_domain(c, "2001:db8::1");
	rbl_check_domain(c, "localhost");
	rbl_check_domain(c, "a..example");
	rbl_check_domain(c, "bad example.com");
	rbl_check_domain(c, "");
	CHECK_EQ_U(rbl_resolver_stats(r)->names_rejected, 7);
	CHECK_EQ_U(rbl_resolver_stats(r)->queries, 5);
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(c));
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK_EQ_U(res.hit_count, 4);
	CHECK_STR(res.hits[0].query, "bad.example");
	CHECK_STR(res.hits[0].zone, "dbl.test");
	CHECK_STR(res.hits[0].answer, "127.0.1.2");
	CHECK_STR(res.hits[1].query, "evil.co.uk");
	CHECK_STR(res.hits[2].query, "example.com.au");
	CHECK_STR(res.hits[3].query, "example.de");
	CHECK_EQ_U(res.score, 3);
	CHECK(res.listed);
	rbl_check_free(c);
	rbl_resolver_free(r);
}

/* Names near the DNS limits, and random bytes, through the normaliser (no
 * domain list: nothing is asked, ASan sees every byte touched). */
static void test_domain_limits(void)
{
	struct rbl_list lists[] = {L_DBL};
	struct rbl_resolver *r = resolver(lists, 1, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	const struct rbl_stats *st = rbl_resolver_stats(r);
	char host[400];
	struct rbl_check *c = rbl_check_new(r);
	/* 63-character label: fine; 64: rejected */
	memset(host, 'a', 63);
	snprintf(host + 63, sizeof host - 63, ".example");
	rbl_check_domain(c, host);
	CHECK_EQ_U(st->queries, 1);
	memset(host, 'a', 64);
	snprintf(host + 64, sizeof host - 64, ".example");
	rbl_check_domain(c, host);
	CHECK_EQ_U(st->names_rejected, 1);
	/* longer than a DNS name */
	memset(host, 'c', sizeof host - 1);
	host[sizeof host - 1] = '\0';
	host[100] = '.';
	rbl_check_domain(c, host);
	CHECK_EQ_U(st->names_rejected, 2);
	rbl_check_free(c);
	rbl_wait(r, 5000);
	rbl_resolver_free(r);

	/* a registered domain that leaves no room for the zone: 127 + 1 + 127 */
	char zone[128];
	memset(zone, 'z', 127);
	zone[127] = '\0';
	zone[60] = '.';
	struct rbl_list longzone[] = {{zone, RBL_KIND_DOMAIN, 1}};
	r = resolver(longzone, 1, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	st = rbl_resolver_stats(r);
	memset(host, 'd', 127);
	host[63] = '.';
	host[127] = '\0';
	c = rbl_check_new(r);
	rbl_check_domain(c, host);
	CHECK(rbl_check_done(c));
	CHECK_EQ_U(st->queries, 0);
	CHECK_EQ_U(st->names_rejected, 1);
	host[125] = '\0'; /* 125 + 1 + 127 = 253: fits */
	rbl_check_domain(c, host);
	CHECK_EQ_U(st->queries, 1);
	rbl_check_free(c);
	rbl_wait(r, 5000);

	struct rbl_list none[] = {L_BL};
	struct rbl_resolver *r2 = resolver(none, 1, 1, NULL);
	if (!r2) {
		CHECK(r2 != NULL);
		rbl_resolver_free(r);
		return;
	}
	uint32_t seed = 12345, busy = 0;
	static const char alphabet[] = "aZ0-._:[]\x80 .-.";
	for (int i = 0; i < 20000; i++) {
		struct rbl_check *g = rbl_check_new(r2);
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 16) % 300;
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			host[k] = (seed >> 24) & 1 ? alphabet[(seed >> 16) % (sizeof alphabet - 1)]
						   : (char)(seed >> 16);
			if (!host[k])
				host[k] = 'x';
		}
		host[len] = '\0';
		rbl_check_domain(g, host);
		busy += !rbl_check_done(g); /* no domain list: nothing in flight */
		rbl_check_free(g);
	}
	CHECK_EQ_U(busy, 0);
	CHECK_EQ_U(rbl_resolver_stats(r2)->queries, 0);
	rbl_resolver_free(r2);
	rbl_resolver_free(r);
}

static void test_weights(void)
{
	struct rbl_list lists[] = {L_BL, L_BL2, L_DBL};
	struct rbl_resolver *r = resolver(lists, 3, 5, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	struct rbl_check *c = rbl_check_new(r);
	ip4(c, "127.0.0.2");
	rbl_wait(r, 5000);
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK_EQ_U(res.score, 3);
	CHECK(!res.listed);
	CHECK_EQ_U(res.hit_count, 2);
	CHECK_STR(res.hits[1].answer, "127.0.0.10");
	rbl_check_domain(c, "bad.example");
	rbl_check_domain(c, "evil.co.uk");
	CHECK(!rbl_check_done(c));
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(c));
	rbl_check_result(c, &res);
	CHECK_EQ_U(res.score, 6); /* dbl.test counts once for two names */
	CHECK(res.listed);
	CHECK_EQ_U(res.hit_count, 4);
	rbl_check_free(c);
	rbl_resolver_free(r);
}

static void test_cache_and_sharing(void)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_resolver *r = resolver(lists, 1, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	const struct rbl_stats *st = rbl_resolver_stats(r);
	rbl_set_time(r, 1000 * SEC);
	/* two checks ask the same name before any answer: one query */
	struct rbl_check *a = rbl_check_new(r), *b = rbl_check_new(r);
	ip4(a, "127.0.0.2");
	ip4(b, "127.0.0.2");
	CHECK_EQ_U(st->queries, 1);
	CHECK_EQ_U(st->inflight_shared, 1);
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(a) && rbl_check_done(b));
	struct rbl_result ra, rb;
	rbl_check_result(a, &ra);
	rbl_check_result(b, &rb);
	CHECK(ra.listed && rb.listed);
	rbl_check_free(a);
	rbl_check_free(b);

	/* positive and negative answers come from the cache, done at once */
	struct rbl_check *c = rbl_check_new(r);
	ip4(c, "127.0.0.3");
	rbl_wait(r, 5000);
	rbl_check_free(c);
	CHECK_EQ_U(st->queries, 2);
	c = rbl_check_new(r);
	ip4(c, "127.0.0.2");
	ip4(c, "127.0.0.3");
	CHECK(rbl_check_done(c));
	CHECK_EQ_U(st->queries, 2);
	CHECK_EQ_U(st->cache_hits, 2);
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK(res.listed);
	CHECK_EQ_U(res.hit_count, 1);
	CHECK_STR(res.hits[0].answer, "127.0.0.2");
	rbl_check_free(c);
	rbl_resolver_free(r);
}

/* Asks ip at time t; returns whether it took a DNS query. */
static bool asked_at(struct rbl_resolver *r, const char *ip, uint64_t t)
{
	uint64_t q = rbl_resolver_stats(r)->queries;
	struct rbl_result res;
	rbl_set_time(r, t);
	check_one(r, ip, &res);
	return rbl_resolver_stats(r)->queries != q;
}

static void test_ttl(void)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_config cfg;
	rbl_config_default(&cfg);
	cfg.min_ttl = 60;
	struct rbl_resolver *r = resolver(lists, 1, 1, &cfg);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	uint64_t t0 = 1700000000 * SEC;
	/* positive, TTL 300 */
	CHECK(asked_at(r, "127.0.0.2", t0));
	CHECK(!asked_at(r, "127.0.0.2", t0 + 299 * SEC));
	CHECK(asked_at(r, "127.0.0.2", t0 + 301 * SEC));
	/* negative: SOA minimum 120 (the SOA TTL is 300) */
	CHECK(asked_at(r, "127.0.0.3", t0));
	CHECK(!asked_at(r, "127.0.0.3", t0 + 119 * SEC));
	CHECK(asked_at(r, "127.0.0.3", t0 + 121 * SEC));
	/* TTL 30 is raised to min_ttl 60 */
	CHECK(asked_at(r, "192.0.2.99", t0));
	CHECK(!asked_at(r, "192.0.2.99", t0 + 59 * SEC));
	CHECK(asked_at(r, "192.0.2.99", t0 + 61 * SEC));
	rbl_resolver_free(r);

	/* max_ttl lowers the 300 */
	cfg.max_ttl = 100;
	r = resolver(lists, 1, 1, &cfg);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	CHECK(asked_at(r, "127.0.0.2", t0));
	CHECK(!asked_at(r, "127.0.0.2", t0 + 99 * SEC));
	CHECK(asked_at(r, "127.0.0.2", t0 + 101 * SEC));
	rbl_resolver_free(r);
}

static void test_lru(void)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_config cfg;
	rbl_config_default(&cfg);
	cfg.cache_entries = 2;
	struct rbl_resolver *r = resolver(lists, 1, 1, &cfg);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	CHECK(asked_at(r, "127.0.0.2", 0));
	CHECK(asked_at(r, "127.0.0.3", 0));
	CHECK(!asked_at(r, "127.0.0.2", 0)); /* 127.0.0.3 is now the oldest */
	CHECK(asked_at(r, "127.0.0.4", 0)); /* evicts 127.0.0.3 */
	CHECK_EQ_U(rbl_resolver_stats(r)->cache_evictions, 1);
	CHECK(!asked_at(r, "127.0.0.2", 0));
	CHECK(asked_at(r, "127.0.0.3", 0));
	rbl_resolver_free(r);
}

static void test_timeout_fail_open(void)
{
	/* a UDP socket nobody reads: every query times out */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
	      getsockname(s, (struct sockaddr *)&a, &al) == 0);
	char srv[64];
	snprintf(srv, sizeof srv, "127.0.0.1:%u", ntohs(a.sin_port));
	struct rbl_list lists[] = {L_BL};
	struct rbl_config cfg;
	rbl_config_default(&cfg);
	cfg.servers = srv;
	cfg.timeout_ms = 100;
	cfg.tries = 1;
	struct rbl_resolver *r = resolver(lists, 1, 1, &cfg);
	if (!r) {
		CHECK(r != NULL);
		close(s);
		return;
	}
	uint64_t t = mono_us();
	struct rbl_result res;
	check_one(r, "127.0.0.2", &res);
	t = mono_us() - t;
	CHECK(!res.listed);
	CHECK_EQ_U(res.hit_count, 0);
	CHECK_EQ_U(res.timeouts, 1);
	CHECK(t >= 90000 && t < 2 * SEC);
	CHECK_EQ_U(rbl_resolver_stats(r)->timeouts, 1);
	/* not cached: asked again */
	check_one(r, "127.0.0.2", &res);
	CHECK_EQ_U(rbl_resolver_stats(r)->queries, 2);
	CHECK_EQ_U(rbl_resolver_stats(r)->timeouts, 2);
	rbl_resolver_free(r);
	close(s);

	/* nothing listening: the ICMP port unreachable fails open at once */
	int port = free_port();
	snprintf(srv, sizeof srv, "127.0.0.1:%d", port);
	r = port > 0 ? resolver(lists, 1, 1, &cfg) : NULL;
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	t = mono_us();
	check_one(r, "127.0.0.2", &res);
	t = mono_us() - t;
	CHECK(!res.listed);
	CHECK_EQ_U(res.timeouts, 1);
	CHECK_EQ_U(rbl_resolver_stats(r)->errors + rbl_resolver_stats(r)->timeouts, 1);
	CHECK(t < 2 * SEC);
	rbl_resolver_free(r);
}

static void test_error_answers(void)
{
	struct rbl_list lists[] = {{"refused.test", RBL_KIND_IP, 5}, {"odd.test", RBL_KIND_IP, 5},
				   {"fail.test", RBL_KIND_IP, 5}};
	struct rbl_resolver *r = resolver(lists, 3, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	const struct rbl_stats *st = rbl_resolver_stats(r);
	struct rbl_result res;
	check_one(r, "192.0.2.1", &res);
	CHECK(!res.listed);
	CHECK_EQ_U(res.score, 0);
	CHECK_EQ_U(res.hit_count, 0);
	CHECK_EQ_U(res.timeouts, 3);
	CHECK_EQ_U(st->errors, 3);
	CHECK_EQ_U(st->listed, 0);
	CHECK_EQ_U(st->queries, 3);
	/* 127.255.255.x and 192.0.2.7 are cached as errors; REFUSED is not */
	check_one(r, "192.0.2.1", &res);
	CHECK_EQ_U(res.timeouts, 3);
	CHECK_EQ_U(st->queries, 4);
	CHECK_EQ_U(st->cache_hits, 2);
	rbl_resolver_free(r);
}

static void test_free_pending(void)
{
	struct rbl_list lists[] = {L_BL, L_BL2, L_DBL};
	struct rbl_resolver *r = resolver(lists, 3, 1, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	const struct rbl_stats *st = rbl_resolver_stats(r);
	struct rbl_check *a = rbl_check_new(r), *b = rbl_check_new(r);
	ip4(a, "127.0.0.2");
	rbl_check_domain(a, "bad.example");
	ip4(b, "127.0.0.2");
	CHECK_EQ_U(st->queries, 3);
	rbl_check_free(a); /* in flight, shared with b */
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(b));
	struct rbl_result res;
	rbl_check_result(b, &res);
	CHECK_EQ_U(res.hit_count, 2);
	rbl_check_free(b);
	/* the freed check's answers were cached */
	struct rbl_check *c = rbl_check_new(r);
	rbl_check_domain(c, "bad.example");
	CHECK(rbl_check_done(c));
	CHECK_EQ_U(st->queries, 3);
	rbl_check_result(c, &res);
	CHECK(res.listed);
	rbl_check_free(c);

	/* resolver freed with queries in flight, check freed after it */
	c = rbl_check_new(r);
	ip4(c, "127.0.0.5");
	CHECK(!rbl_check_done(c));
	rbl_resolver_free(r);
	CHECK(rbl_check_done(c)); /* failed open by the shutdown */
	rbl_check_free(c);
}

static void test_caps(void)
{
	struct rbl_list lists[] = {L_DBL};
	struct rbl_config cfg;
	rbl_config_default(&cfg);
	cfg.max_pending = 2;
	cfg.max_domains = 3;
	struct rbl_resolver *r = resolver(lists, 1, 1, &cfg);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	const struct rbl_stats *st = rbl_resolver_stats(r);
	struct rbl_check *c = rbl_check_new(r);
	rbl_check_domain(c, "bad.example");
	rbl_check_domain(c, "one.example");
	rbl_check_domain(c, "two.example"); /* over max_pending */
	rbl_check_domain(c, "three.example"); /* over max_domains */
	CHECK_EQ_U(st->queries, 2);
	CHECK_EQ_U(st->pending_skipped, 1);
	CHECK_EQ_U(st->per_check_skipped, 1);
	rbl_wait(r, 5000);
	CHECK(rbl_check_done(c));
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK_EQ_U(res.timeouts, 1); /* the skipped lookup failed open */
	CHECK(res.listed);
	rbl_check_free(c);
	/* four addresses per check; a repeated one is not counted */
	c = rbl_check_new(r);
	ip4(c, "192.0.2.1");
	ip4(c, "192.0.2.1");
	ip4(c, "192.0.2.2");
	ip4(c, "192.0.2.3");
	ip4(c, "192.0.2.4");
	CHECK_EQ_U(st->per_check_skipped, 1);
	ip4(c, "192.0.2.5");
	CHECK_EQ_U(st->per_check_skipped, 2);
	rbl_check_free(c);
	rbl_resolver_free(r);

	/* hits beyond RBL_MAX_HITS are counted, and the list scores once */
	struct rbl_list all[] = {{"all.test", RBL_KIND_DOMAIN, 1}};
	cfg.max_pending = 100;
	cfg.max_domains = 40;
	r = resolver(all, 1, 1, &cfg);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	c = rbl_check_new(r);
	for (int i = 0; i < RBL_MAX_HITS + 3; i++) {
		char host[32];
		snprintf(host, sizeof host, "h%d.example", i);
		rbl_check_domain(c, host);
	}
	rbl_wait(r, 5000);
	rbl_check_result(c, &res);
	CHECK_EQ_U(res.hit_count, RBL_MAX_HITS);
	CHECK_EQ_U(res.hits_dropped, 3);
	CHECK_EQ_U(res.score, 1);
	CHECK_STR(res.hits[0].answer, "127.0.0.9");
	rbl_check_free(c);
	rbl_resolver_free(r);
}

/* The event-loop path the pipeline uses, without rbl_wait. */
static void test_event_loop(void)
{
	struct rbl_list lists[] = {L_BL, L_BL2};
	struct rbl_resolver *r = resolver(lists, 2, 3, NULL);
	if (!r) {
		CHECK(r != NULL);
		return;
	}
	struct rbl_check *c = rbl_check_new(r);
	ip4(c, "127.0.0.2");
	struct pollfd fds[8];
	size_t n = rbl_pollfds(r, fds, 8);
	CHECK(n >= 1);
	CHECK(n == 0 || (fds[0].events & POLLIN));
	uint32_t ms = rbl_timeout_ms(r, 60000);
	CHECK(ms > 0 && ms <= 1500);
	uint64_t end = mono_us() + 5 * SEC;
	while (!rbl_check_done(c) && mono_us() < end) {
		n = rbl_pollfds(r, fds, 8);
		poll(fds, n, (int)rbl_timeout_ms(r, 100));
		rbl_process(r, fds, n);
	}
	CHECK(rbl_check_done(c));
	struct rbl_result res;
	rbl_check_result(c, &res);
	CHECK(res.listed);
	CHECK_EQ_U(res.score, 3);
	rbl_check_free(c);
	rbl_resolver_free(r);
}

static void test_config_errors(void)
{
	struct rbl_config c;
	char err[256];
	struct rbl_list bad[] = {{"", RBL_KIND_IP, 1}};
	struct rbl_list ok[] = {L_BL};
	rbl_config_default(&c);
	c.lists = ok;
	c.list_count = 1;
	c.servers = "not an address";
	err[0] = '\0';
	CHECK(rbl_resolver_new(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, "server list") != NULL);
	c.servers = servers;
	c.min_ttl = 100;
	c.max_ttl = 50;
	CHECK(rbl_resolver_new(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, "min_ttl") != NULL);
	c.min_ttl = 100000; /* above the default max_ttl, which the message names */
	c.max_ttl = 0;
	CHECK(rbl_resolver_new(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, "min_ttl 100000 > max_ttl 86400") != NULL);
	rbl_config_default(&c);
	c.servers = servers;
	c.lists = bad;
	c.list_count = 1;
	CHECK(rbl_resolver_new(&c, err, sizeof err) == NULL);
	CHECK(strstr(err, "zone") != NULL);
}

/* Lookups/s: n distinct addresses (NXDOMAIN from unbound) in batches of
 * checks waited for together, then the same n again from the cache. */
static int bench(int n, int batch)
{
	struct rbl_list lists[] = {L_BL};
	struct rbl_config cfg;
	rbl_config_default(&cfg);
	cfg.max_pending = 1000;
	struct rbl_resolver *r = resolver(lists, 1, 1, &cfg);
	if (!r)
		return 1;
	enum { BATCH_MAX = 1000 };
	struct rbl_check *cs[BATCH_MAX];
	if (batch < 1 || batch > BATCH_MAX)
		batch = 100;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t t = mono_us();
		for (int i = 0; i < n; i += batch) {
			int k = n - i < batch ? n - i : batch;
			for (int j = 0; j < k; j++) {
				uint32_t v = htonl(0x0a000000u + (uint32_t)(i + j));
				cs[j] = rbl_check_new(r);
				rbl_check_ip(cs[j], AF_INET, (const uint8_t *)&v);
			}
			rbl_wait(r, 10000);
			for (int j = 0; j < k; j++)
				rbl_check_free(cs[j]);
		}
		t = mono_us() - t;
		printf("%s: %d lookups in %.3f s = %.0f lookups/s\n", pass ? "cached" : "uncached", n,
		       (double)t / 1e6, (double)n * 1e6 / (double)(t ? t : 1));
	}
	const struct rbl_stats *st = rbl_resolver_stats(r);
	printf("queries %" PRIu64 " answers %" PRIu64 " cache_hits %" PRIu64 " timeouts %" PRIu64
	       " errors %" PRIu64 "\n",
	       st->queries, st->answers, st->cache_hits, st->timeouts, st->errors);
	rbl_resolver_free(r);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (!start_unbound()) {
		stop_unbound();
		tl_failed++;
		return tl_finish();
	}
	if (argc >= 3 && strcmp(argv[1], "--bench") == 0) {
		int rc = bench(atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 100);
		stop_unbound();
		return rc;
	}
	RUN(test_listed_ipv4);
	RUN(test_not_listed);
	RUN(test_ipv6);
	RUN(test_domains);
	RUN(test_domain_limits);
	RUN(test_weights);
	RUN(test_cache_and_sharing);
	RUN(test_ttl);
	RUN(test_lru);
	RUN(test_timeout_fail_open);
	RUN(test_error_answers);
	RUN(test_free_pending);
	RUN(test_caps);
	RUN(test_event_loop);
	RUN(test_config_errors);
	stop_unbound();
	return tl_finish();
}
