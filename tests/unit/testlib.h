/* Minimal unit-test helpers: each CHECK failure prints file:line and the
 * expression; a test program exits non-zero if any check failed and prints
 * "N passed, N failed" as its last line. */
#ifndef POSTERN_TESTS_TESTLIB_H
#define POSTERN_TESTS_TESTLIB_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned tl_passed, tl_failed;

#define CHECK(expr)                                                                   \
	do {                                                                          \
		if (expr) {                                                           \
			tl_passed++;                                                  \
		} else {                                                              \
			tl_failed++;                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                     \
	} while (0)

#define CHECK_EQ_U(a, b)                                                              \
	do {                                                                          \
		unsigned long long tl_a = (unsigned long long)(a), tl_b = (unsigned long long)(b); \
		if (tl_a == tl_b) {                                                   \
			tl_passed++;                                                  \
		} else {                                                              \
			tl_failed++;                                                  \
			fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", __FILE__, \
				__LINE__, #a, #b, tl_a, tl_b);                        \
		}                                                                     \
	} while (0)

#define CHECK_STR(a, b)                                                               \
	do {                                                                          \
		const char *tl_a = (a), *tl_b = (b);                                  \
		if (tl_a && tl_b && strcmp(tl_a, tl_b) == 0) {                        \
			tl_passed++;                                                  \
		} else {                                                              \
			tl_failed++;                                                  \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",     \
				__FILE__, __LINE__, #a, #b, tl_a ? tl_a : "(null)",   \
				tl_b ? tl_b : "(null)");                              \
		}                                                                     \
	} while (0)

#define RUN(test)                                                                     \
	do {                                                                          \
		unsigned tl_before = tl_failed;                                       \
		test();                                                               \
		fprintf(stderr, "%s %s\n", tl_failed == tl_before ? "ok  " : "FAIL", #test); \
	} while (0)

static inline int tl_finish(void)
{
	printf("%u passed, %u failed\n", tl_passed, tl_failed);
	return tl_failed ? 1 : 0;
}

#endif
