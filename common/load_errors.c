#include "common/load_errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rule_errors_init(struct rule_errors *e, size_t cap)
{
	memset(e, 0, sizeof(*e));
	e->cap = cap;
}

void rule_errors_add(struct rule_errors *e, const char *file, unsigned line, const char *fmt, ...)
{
	if (!e)
		return;
	if (e->count >= e->cap) {
		e->dropped++;
		return;
	}
	if (!e->v) {
		e->v = calloc(e->cap, sizeof(*e->v));
		if (!e->v) {
			e->dropped++;
			return;
		}
	}
	struct rule_error *r = &e->v[e->count++];
	snprintf(r->file, sizeof(r->file), "%s", file ? file : "");
	r->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

void rule_errors_free(struct rule_errors *e)
{
	free(e->v);
	e->v = NULL;
	e->count = e->dropped = 0;
}

