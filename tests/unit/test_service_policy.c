/* The mail-service policy: exact vs suffix domains, file order, entries
 * limited to source subnets and to time windows, IPv6 clients, IDN names,
 * invalid hosts, deny actions, the policy outliving its config, and the cost
 * of a lookup in a policy of 500 entries (printed, not asserted). */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "config/config.h"
#include "policy/service_policy.h"
#include "tests/unit/testlib.h"

#define MAX_ENTRIES 600

/* A webmail_config built by hand, the way the loader fills it. */
struct builder {
	struct webmail_config wc;
	struct service_entry e[MAX_ENTRIES];
};

static struct service_entry *add(struct builder *b, const char *name, enum service_list list,
				 const char *domains)
{
	struct service_entry *e = &b->e[b->wc.service_count++];
	memset(e, 0, sizeof *e);
	e->name = strdup(name);
	e->list = list;
	e->line = (unsigned)b->wc.service_count * 10;
	/* domains: space-separated */
	char *copy = strdup(domains), *save = NULL;
	e->domains = calloc(8, sizeof(char *));
	for (char *t = strtok_r(copy, " ", &save); t && e->domain_count < 8; t = strtok_r(NULL, " ", &save))
		e->domains[e->domain_count++] = strdup(t);
	free(copy);
	b->wc.services = b->e;
	return e;
}

static void source(struct service_entry *e, const char *cidr)
{
	char why[128];
	if (netset_add(&e->sources, cidr, why, sizeof why) != 0) {
		fprintf(stderr, "netset_add(%s): %s\n", cidr, why);
		abort();
	}
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->wc.service_count; i++) {
		struct service_entry *e = &b->e[i];
		free(e->name);
		for (size_t j = 0; j < e->domain_count; j++)
			free(e->domains[j]);
		free(e->domains);
		netset_free(&e->sources);
	}
	memset(b, 0, sizeof *b);
}

static struct ip_addr ip(const char *s)
{
	struct ip_addr a = {0};
	if (inet_pton(AF_INET, s, a.addr) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.addr) == 1)
		a.family = 6;
	else
		abort();
	return a;
}

static struct service_policy *build(struct builder *b)
{
	char err[256] = "x";
	struct service_policy *sp = service_policy_new(&b->wc, err, sizeof err);
	CHECK(sp != NULL);
	CHECK_STR(err, "");
	/* The policy keeps its own copy. */
	builder_free(b);
	return sp;
}

/* The verdict, service name and action for host from client at now. */
#define EXPECT(sp, host, client, now, verdict, service, action)                                    \
	expect(__LINE__, sp, host, client, now, verdict, service, action)
static void expect(int at, const struct service_policy *sp, const char *host, const char *client,
		   uint64_t now, enum service_verdict verdict, const char *service,
		   enum webmail_action action)
{
	struct ip_addr c = ip(client);
	struct service_match m;
	memset(&m, 0xA5, sizeof m);
	service_policy_lookup(sp, host, &c, now, &m);
	bool ok = m.verdict == verdict && m.service && strcmp(m.service, service) == 0 &&
		  m.action == action && (verdict == SERVICE_UNLISTED ? m.line == 0 : m.line > 0);
	if (ok) {
		tl_passed++;
	} else {
		tl_failed++;
		fprintf(stderr, "%s:%d: %s from %s: got %s '%s' %s line %u, want %s '%s' %s\n", __FILE__,
			at, host, client, service_verdict_name(m.verdict), m.service ? m.service : "(null)",
			webmail_action_name(m.action), m.line, service_verdict_name(verdict), service,
			webmail_action_name(action));
	}
}

#define T0 UINT64_C(1767225600000000) /* 2026-01-01T00:00:00Z in us */
#define HOUR UINT64_C(3600000000)
#define C4 "198.51.100.7"

static void test_exact_and_suffix(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_RESET};
	add(&b, "gmail", SERVICE_DENY, "mail.google.com");
	add(&b, "yahoo", SERVICE_DENY, ".mail.yahoo.com");
	struct service_policy *sp = build(&b);
	EXPECT(sp, "mail.google.com", C4, T0, SERVICE_DENIED, "gmail", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "x.mail.google.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "google.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.yahoo.com", C4, T0, SERVICE_DENIED, "yahoo", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "compose.mail.yahoo.com", C4, T0, SERVICE_DENIED, "yahoo", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "evilmail.yahoo.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.yahoo.com.evil.net", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	/* Whatever form the host arrives in. */
	EXPECT(sp, "MAIL.Google.COM.", C4, T0, SERVICE_DENIED, "gmail", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "mail.google.com:443", C4, T0, SERVICE_DENIED, "gmail", WEBMAIL_ACTION_RESET);
	service_policy_free(sp);
}

static void test_order(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_RESET};
	add(&b, "corp", SERVICE_ALLOW, "mail.corp.example");
	add(&b, "all-corp", SERVICE_DENY, ".corp.example");
	add(&b, "later-allow", SERVICE_ALLOW, "mail.corp.example .corp.example");
	struct service_policy *sp = build(&b);
	EXPECT(sp, "mail.corp.example", C4, T0, SERVICE_ALLOWED, "corp", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "other.corp.example", C4, T0, SERVICE_DENIED, "all-corp", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "corp.example", C4, T0, SERVICE_DENIED, "all-corp", WEBMAIL_ACTION_RESET);
	service_policy_free(sp);
}

static void test_sources(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_RESET};
	struct service_entry *e = add(&b, "sales-naver", SERVICE_ALLOW, ".mail.naver.com");
	source(e, "10.1.0.0/16");
	source(e, "2001:db8:1::/48");
	add(&b, "naver", SERVICE_DENY, ".naver.com");
	e = add(&b, "lab-only", SERVICE_ALLOW, "webmail.lab.example");
	source(e, "10.9.0.0/24");
	struct service_policy *sp = build(&b);
	/* The department is allowed; everyone else falls through to the deny. */
	EXPECT(sp, "mail.naver.com", "10.1.2.3", T0, SERVICE_ALLOWED, "sales-naver", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.naver.com", "10.2.2.3", T0, SERVICE_DENIED, "naver", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "mail.naver.com", "::ffff:10.1.2.3", T0, SERVICE_ALLOWED, "sales-naver",
	       WEBMAIL_ACTION_ACCEPT);
	/* IPv6 clients. */
	EXPECT(sp, "mail.naver.com", "2001:db8:1:5::9", T0, SERVICE_ALLOWED, "sales-naver",
	       WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.naver.com", "2001:db8:2::9", T0, SERVICE_DENIED, "naver", WEBMAIL_ACTION_RESET);
	/* ... or to unlisted when nothing later matches. */
	EXPECT(sp, "webmail.lab.example", "10.9.0.200", T0, SERVICE_ALLOWED, "lab-only", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "webmail.lab.example", "10.9.1.1", T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);

	/* No client: only entries for every client can match. */
	struct service_match m;
	service_policy_lookup(sp, "mail.naver.com", NULL, T0, &m);
	CHECK_EQ_U(m.verdict, SERVICE_DENIED);
	CHECK_STR(m.service, "naver");
	service_policy_free(sp);
}

static void test_time_windows(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_RESET};
	struct service_entry *e = add(&b, "project", SERVICE_ALLOW, "mail.partner.example");
	e->from_us = T0;
	e->until_us = T0 + 24 * HOUR;
	e = add(&b, "after", SERVICE_DENY, "mail.partner.example");
	e->from_us = T0 + 48 * HOUR; /* no until: for ever after */
	e = add(&b, "until-only", SERVICE_ALLOW, "old.partner.example");
	e->until_us = T0;
	struct service_policy *sp = build(&b);
	EXPECT(sp, "mail.partner.example", C4, T0 - 1, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.partner.example", C4, T0, SERVICE_ALLOWED, "project", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.partner.example", C4, T0 + 24 * HOUR - 1, SERVICE_ALLOWED, "project",
	       WEBMAIL_ACTION_ACCEPT);
	/* until is exclusive */
	EXPECT(sp, "mail.partner.example", C4, T0 + 24 * HOUR, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.partner.example", C4, T0 + 48 * HOUR, SERVICE_DENIED, "after", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "mail.partner.example", C4, UINT64_MAX, SERVICE_DENIED, "after", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "old.partner.example", C4, 0, SERVICE_ALLOWED, "until-only", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "old.partner.example", C4, T0 - 1, SERVICE_ALLOWED, "until-only", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "old.partner.example", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	service_policy_free(sp);
}

static void test_idn(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_RESET};
	/* Unicode in the config (a hand-built one: the loader would have
	 * normalised it already) ... */
	add(&b, "korean", SERVICE_DENY, ".메일.한국");
	add(&b, "japanese", SERVICE_DENY, "xn--4dkua4c.xn--wgv71a");
	add(&b, "gmail", SERVICE_DENY, ".gmail.com");
	struct service_policy *sp = build(&b);
	/* ... punycode on the wire, and the other way round. */
	EXPECT(sp, "xn--h32bq4v.xn--3e0b707e", C4, T0, SERVICE_DENIED, "korean", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "www.XN--H32BQ4V.xn--3e0b707e", C4, T0, SERVICE_DENIED, "korean", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "메일.한국", C4, T0, SERVICE_DENIED, "korean", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "メール.日本", C4, T0, SERVICE_DENIED, "japanese", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "メール。日本.", C4, T0, SERVICE_DENIED, "japanese", WEBMAIL_ACTION_RESET);
	/* A homograph is another name. */
	EXPECT(sp, "gma\xd1\x96l.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	service_policy_free(sp);
}

static void test_invalid_host(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_RESET};
	add(&b, "example", SERVICE_DENY, ".example.com");
	struct service_policy *sp = build(&b);
	EXPECT(sp, "mail example.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail..example.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "xn--zz.example.com", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "[example.com]", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	struct ip_addr c = ip(C4);
	struct service_match m;
	service_policy_lookup(sp, NULL, &c, T0, &m);
	CHECK_EQ_U(m.verdict, SERVICE_UNLISTED);
	CHECK_STR(m.service, "");
	service_policy_free(sp);

	/* An invalid domain in a hand-built config is refused, naming it. */
	add(&b, "bad", SERVICE_DENY, "ok.example mail..example");
	char err[256];
	CHECK(service_policy_new(&b.wc, err, sizeof err) == NULL);
	CHECK(strstr(err, "mail..example") != NULL);
	CHECK(strstr(err, "bad") != NULL);
	builder_free(&b);
}

static void test_actions(void)
{
	struct builder b = {.wc.block_action = WEBMAIL_ACTION_REDIRECT};
	add(&b, "default", SERVICE_DENY, "a.example");
	struct service_entry *e = add(&b, "reset", SERVICE_DENY, "b.example");
	e->has_action = true;
	e->action = WEBMAIL_ACTION_RESET;
	e = add(&b, "redirect", SERVICE_DENY, "c.example");
	e->has_action = true;
	e->action = WEBMAIL_ACTION_REDIRECT;
	add(&b, "allowed", SERVICE_ALLOW, "d.example");
	struct service_policy *sp = build(&b);
	EXPECT(sp, "a.example", C4, T0, SERVICE_DENIED, "default", WEBMAIL_ACTION_REDIRECT);
	EXPECT(sp, "b.example", C4, T0, SERVICE_DENIED, "reset", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "c.example", C4, T0, SERVICE_DENIED, "redirect", WEBMAIL_ACTION_REDIRECT);
	EXPECT(sp, "d.example", C4, T0, SERVICE_ALLOWED, "allowed", WEBMAIL_ACTION_ACCEPT);
	struct service_match m;
	struct ip_addr c = ip(C4);
	service_policy_lookup(sp, "c.example", &c, T0, &m);
	CHECK_EQ_U(m.line, 30);
	service_policy_free(sp);

	/* An empty policy decides nothing. */
	struct webmail_config none = {0};
	char err[64];
	sp = service_policy_new(&none, err, sizeof err);
	CHECK(sp != NULL);
	EXPECT(sp, "a.example", C4, T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	service_policy_free(sp);
	service_policy_free(NULL);
}

static void test_from_config_file(void)
{
	static const char text[] =
		"webmail = {\n"
		"  block_page = \"https://block.example/denied\";\n"
		"  services = (\n"
		"    { name = \"corp\"; domains = [\"webmail.corp.example\"]; list = \"allow\";\n"
		"      sources = [\"10.1.0.0/16\"]; },\n"
		"    { name = \"korean\"; domains = [\".메일.한국\"]; list = \"deny\"; },\n"
		"    { name = \"naver\"; domains = [\".mail.naver.com\"]; list = \"deny\"; action = \"reset\"; },\n"
		"    { name = \"project\"; domains = [\"mail.partner.example\"]; list = \"allow\";\n"
		"      from = \"2026-01-01T00:00:00Z\"; until = \"2026-01-02T00:00:00Z\"; }\n"
		"  );\n"
		"};\n";
	struct postern_config c;
	char err[1024];
	int rc = config_load_mem(&c, "t.conf", "/base", text, strlen(text), err, sizeof err);
	CHECK_EQ_U(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&c);
		return;
	}
	struct service_policy *sp = service_policy_new(&c.webmail, err, sizeof err);
	config_free(&c); /* the policy outlives the config */
	CHECK(sp != NULL);
	EXPECT(sp, "webmail.corp.example", "10.1.9.9", T0, SERVICE_ALLOWED, "corp", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "webmail.corp.example", "10.2.9.9", T0, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	/* block_page given, block_action not: redirect. */
	EXPECT(sp, "xn--h32bq4v.xn--3e0b707e", C4, T0, SERVICE_DENIED, "korean", WEBMAIL_ACTION_REDIRECT);
	EXPECT(sp, "x.mail.naver.com", C4, T0, SERVICE_DENIED, "naver", WEBMAIL_ACTION_RESET);
	EXPECT(sp, "mail.partner.example", C4, T0 + HOUR, SERVICE_ALLOWED, "project", WEBMAIL_ACTION_ACCEPT);
	EXPECT(sp, "mail.partner.example", C4, T0 + 24 * HOUR, SERVICE_UNLISTED, "", WEBMAIL_ACTION_ACCEPT);
	struct service_match m;
	struct ip_addr cl = ip(C4);
	service_policy_lookup(sp, "mail.naver.com", &cl, T0, &m);
	CHECK_EQ_U(m.line, 7);
	service_policy_free(sp);
}

/* 500 entries, the host matched by the last: the worst case of the scan. */
static void test_cost(void)
{
	static struct builder b;
	b.wc.block_action = WEBMAIL_ACTION_RESET;
	char dom[128];
	for (int i = 0; i < 499; i++) {
		snprintf(dom, sizeof dom, ".mail%d.example mail.service%d.example", i, i);
		struct service_entry *e = add(&b, "filler", i % 2 ? SERVICE_ALLOW : SERVICE_DENY, dom);
		if (i % 3 == 0)
			source(e, "10.0.0.0/8");
	}
	add(&b, "last", SERVICE_DENY, ".target.example");
	struct service_policy *sp = build(&b);
	struct ip_addr c = ip(C4);
	struct service_match m;
	const int rounds = 20000;
	const char *hosts[] = {"compose.target.example", "nothing.example", "bücher.example"};
	for (size_t h = 0; h < 3; h++) {
		struct timespec t0, t1;
		unsigned hits = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int r = 0; r < rounds; r++) {
			service_policy_lookup(sp, hosts[h], &c, T0, &m);
			hits += m.verdict == SERVICE_DENIED;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / rounds;
		printf("lookup in 500 entries, %s: %.0f ns\n", hosts[h], ns);
		CHECK_EQ_U(hits, h == 0 ? (unsigned)rounds : 0);
	}
	service_policy_free(sp);
}

int main(void)
{
	RUN(test_exact_and_suffix);
	RUN(test_order);
	RUN(test_sources);
	RUN(test_time_windows);
	RUN(test_idn);
	RUN(test_invalid_host);
	RUN(test_actions);
	RUN(test_from_config_file);
	RUN(test_cost);
	return tl_finish();
}
