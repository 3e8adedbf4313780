#include "webmail/webmail.h"

#include <stdlib.h>

/* Stub: replaced by the implementation. */
struct webmail_signatures {
	size_t n;
};

const char *webmail_kind_name(enum webmail_kind k)
{
	static const char *const n[] = {"none", "send", "draft", "upload"};
	return (unsigned)k < 4 ? n[k] : "?";
}

const char *webmail_role_name(enum webmail_role r)
{
	(void)r;
	return "none";
}

struct webmail_signatures *webmail_signatures_load(const char *const *paths, size_t n,
						   struct rule_errors *errs)
{
	(void)paths;
	(void)n;
	(void)errs;
	return calloc(1, sizeof(struct webmail_signatures));
}

struct webmail_signatures *webmail_signatures_load_mem(const char *name, const char *text,
						       size_t len, struct rule_errors *errs)
{
	(void)name;
	(void)text;
	(void)len;
	(void)errs;
	return calloc(1, sizeof(struct webmail_signatures));
}

void webmail_signatures_free(struct webmail_signatures *s)
{
	free(s);
}

size_t webmail_signatures_count(const struct webmail_signatures *s)
{
	return s ? s->n : 0;
}

size_t webmail_signatures_products(const struct webmail_signatures *s)
{
	return s ? s->n : 0;
}
