/* Helpers shared by the subcommands. */
#ifndef POSTERN_CLI_UTIL_H
#define POSTERN_CLI_UTIL_H

#include <stdint.h>

/* Print "postern: <message>" to standard error. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict decimal parse: the whole string, within [min, max]; 0 or -1. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The last path component (no allocation). */
const char *cli_basename(const char *path);

#endif
