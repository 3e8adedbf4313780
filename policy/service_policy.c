#include "policy/service_policy.h"

#include <stdlib.h>
#include <string.h>

/* Stub: replaced by the implementation. */
struct service_policy {
	int unused;
};


const char *service_verdict_name(enum service_verdict v)
{
	static const char *const n[] = {"unlisted", "allowed", "denied"};
	return (unsigned)v < 3 ? n[v] : "?";
}

struct service_policy *service_policy_new(const struct webmail_config *wc, char *err, size_t errlen)
{
	(void)wc;
	(void)err;
	(void)errlen;
	return calloc(1, sizeof(struct service_policy));
}

void service_policy_free(struct service_policy *sp)
{
	free(sp);
}

void service_policy_lookup(const struct service_policy *sp, const char *host,
			   const struct ip_addr *client, uint64_t now_us, struct service_match *out)
{
	(void)sp;
	(void)host;
	(void)client;
	(void)now_us;
	memset(out, 0, sizeof *out);
	out->service = "";
}
