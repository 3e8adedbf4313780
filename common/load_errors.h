/* Errors found while loading a data file (rules, webmail signatures): each
 * names the file, line and reason, and all of a file's errors are kept (up to
 * a cap; the rest are counted) so an operator fixes them in one go. */
#ifndef POSTERN_COMMON_LOAD_ERRORS_H
#define POSTERN_COMMON_LOAD_ERRORS_H

#include <stddef.h>

/* Errors found while loading: each names the file, line and reason. */
struct rule_error {
	char file[256];
	unsigned line;           /* 0 when not tied to a line */
	char reason[256];
};
struct rule_errors {
	struct rule_error *v;
	size_t count, cap;       /* reports past cap are counted in dropped */
	size_t dropped;
};
void rule_errors_init(struct rule_errors *e, size_t cap);
void rule_errors_add(struct rule_errors *e, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rule_errors_free(struct rule_errors *e);

#endif
