/* The mail-service policy; the contract is in service_policy.h.
 *
 * A linear scan over entries whose domains were normalised once, at build
 * time: a lookup normalises the host once and then compares lengths and tails
 * per domain.  A policy has tens to hundreds of entries and a lookup runs once
 * per HTTP request or ClientHello, not per packet, so a scan is acceptable at
 * this size.  Measured by test_service_policy (500 entries, match in the last
 * or none, -O2): about 1.5 us for an ASCII host, 4 us for a Unicode one (libidn2
 * is most of it).  An index by last label would be the next step if policies
 * grow to thousands of entries, but it must keep file order: the first
 * matching entry decides. */
#include "policy/service_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SP_HOST_MAX 256 /* 253 + NUL, rounded */

struct sp_domain {
	char *name;  /* normalised, without the leading "." */
	size_t len;
	bool suffix; /* the domain and every subdomain */
};

struct sp_entry {
	char *name;
	struct sp_domain *domains;
	size_t domain_count;
	enum service_list list;
	struct netset sources;
	uint64_t from_us, until_us;
	enum webmail_action deny_action;
	unsigned line;
};

struct service_policy {
	struct sp_entry *entries;
	size_t count;
};

const char *service_verdict_name(enum service_verdict v)
{
	static const char *const n[] = {"unlisted", "allowed", "denied"};
	return (unsigned)v < 3 ? n[v] : "?";
}

void service_policy_free(struct service_policy *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->count; i++) {
		struct sp_entry *e = &sp->entries[i];
		free(e->name);
		for (size_t j = 0; j < e->domain_count; j++)
			free(e->domains[j].name);
		free(e->domains);
		netset_free(&e->sources);
	}
	free(sp->entries);
	free(sp);
}

/* The config loader has normalised the domains already; doing it again costs
 * nothing at build time and keeps a hand-built config (tests, other callers)
 * from holding a name that can never match. */
static int copy_entry(struct sp_entry *d, const struct service_entry *s, enum webmail_action block,
		      char *err, size_t errlen)
{
	const char *name = s->name ? s->name : "";
	d->name = strdup(name);
	d->list = s->list;
	d->from_us = s->from_us;
	d->until_us = s->until_us;
	d->deny_action = s->has_action ? s->action : block;
	d->line = s->line;
	if (!d->name)
		goto oom;
	if (s->domain_count) {
		d->domains = calloc(s->domain_count, sizeof *d->domains);
		if (!d->domains)
			goto oom;
	}
	for (size_t j = 0; j < s->domain_count; j++) {
		const char *dom = s->domains[j] ? s->domains[j] : "";
		bool suffix = dom[0] == '.';
		char norm[SP_HOST_MAX];
		if (host_normalize(dom + suffix, norm, sizeof norm) < 0) {
			snprintf(err, errlen, "service '%s' (line %u): '%s' is not a valid domain", name,
				 s->line, dom);
			return -1;
		}
		d->domains[j].name = strdup(norm);
		d->domains[j].len = strlen(norm);
		d->domains[j].suffix = suffix;
		d->domain_count = j + 1;
		if (!d->domains[j].name)
			goto oom;
	}
	if (s->sources.count) {
		d->sources.v = malloc(s->sources.count * sizeof *s->sources.v);
		if (!d->sources.v)
			goto oom;
		memcpy(d->sources.v, s->sources.v, s->sources.count * sizeof *s->sources.v);
		d->sources.count = s->sources.count;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

struct service_policy *service_policy_new(const struct webmail_config *wc, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof dummy;
	}
	struct service_policy *sp = calloc(1, sizeof *sp);
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!wc || wc->service_count == 0)
		return sp;
	sp->entries = calloc(wc->service_count, sizeof *sp->entries);
	if (!sp->entries) {
		snprintf(err, errlen, "out of memory");
		free(sp);
		return NULL;
	}
	for (size_t i = 0; i < wc->service_count; i++) {
		sp->count = i + 1; /* so service_policy_free frees a half-copied entry */
		if (copy_entry(&sp->entries[i], &wc->services[i], wc->block_action, err, errlen) != 0) {
			service_policy_free(sp);
			return NULL;
		}
	}
	return sp;
}

/* host_in_domain with both lengths known: most entries fail on the length or
 * the last bytes without a strlen. */
static bool domain_matches(const struct sp_entry *e, const char *host, size_t hl)
{
	for (size_t j = 0; j < e->domain_count; j++) {
		const struct sp_domain *d = &e->domains[j];
		if (hl < d->len || (!d->suffix && hl != d->len))
			continue;
		if (memcmp(host + hl - d->len, d->name, d->len) != 0)
			continue;
		if (hl == d->len || host[hl - d->len - 1] == '.')
			return true;
	}
	return false;
}

static bool source_matches(const struct sp_entry *e, const struct ip_addr *client)
{
	if (e->sources.count == 0)
		return true;
	if (!client || (client->family != 4 && client->family != 6))
		return false;
	return netset_contains(&e->sources, client->family == 4 ? AF_INET : AF_INET6, client->addr);
}

void service_policy_lookup(const struct service_policy *sp, const char *host,
			   const struct ip_addr *client, uint64_t now_us, struct service_match *out)
{
	memset(out, 0, sizeof *out);
	out->verdict = SERVICE_UNLISTED;
	out->service = "";
	out->action = WEBMAIL_ACTION_ACCEPT;
	char norm[SP_HOST_MAX];
	int hl;
	if (!sp || !host || (hl = host_normalize(host, norm, sizeof norm)) < 0)
		return;
	for (size_t i = 0; i < sp->count; i++) {
		const struct sp_entry *e = &sp->entries[i];
		if (!domain_matches(e, norm, (size_t)hl))
			continue;
		if (e->from_us && now_us < e->from_us)
			continue;
		if (e->until_us && now_us >= e->until_us)
			continue;
		if (!source_matches(e, client))
			continue;
		out->service = e->name;
		out->line = e->line;
		if (e->list == SERVICE_ALLOW) {
			out->verdict = SERVICE_ALLOWED;
		} else {
			out->verdict = SERVICE_DENIED;
			out->action = e->deny_action;
		}
		return;
	}
}
