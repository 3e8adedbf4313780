/* Cost of one attachment analysis, with and without the ClamAV scan, on
 * 10 MiB of random bytes and 10 MiB of text (best of 5 runs each).
 *   ninja -C BUILD attachments/attachment_bench
 *   BUILD/attachments/attachment_bench [clamav-db-dir] [MiB]
 * The ClamAV figure is the difference between the two engines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attachments/attachment.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double best_of(struct attachment_engine *e, const char *name, const uint8_t *d, size_t n)
{
	double best = 1e9;
	for (int i = 0; i < 5; i++) {
		double t0 = now();
		struct attachment_analysis *a = attachment_begin(e, name, "", NULL, NULL);
		const struct attachment_result *r = attachment_analyse_buffer(a, d, n);
		double t = now() - t0;
		if (r->finding_count || r->av_errors)
			fprintf(stderr, "%s: %u findings, %u AV errors\n", name, r->finding_count,
				r->av_errors);
		attachment_free(a);
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	const char *db = argc > 1 ? argv[1] : "tests/data/clamav";
	size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 10;
	size_t n = mib << 20;
	uint8_t *rnd = malloc(n), *txt = malloc(n);
	if (!rnd || !txt)
		return 1;
	uint64_t x = 88172645463325252u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		rnd[i] = (uint8_t)x;
	}
	static const char words[] = "the quarterly report lists revenue costs and outlook for each region ";
	for (size_t i = 0; i < n; i++)
		txt[i] = (uint8_t)(i % 80 == 79 ? '\n' : words[i % (sizeof(words) - 1)]);
	struct attachment_config c;
	attachment_config_default(&c);
	char err[512];
	struct attachment_engine *plain = attachment_engine_new(&c, err, sizeof(err));
	c.clamav_db_dir = db;
	double t0 = now();
	struct attachment_engine *av = attachment_engine_new(&c, err, sizeof(err));
	if (!plain || !av) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("engine load with %s: %.1f ms, %u signatures\n", db, (now() - t0) * 1e3,
	       attachment_engine_av_signatures(av));
	const char *kinds[2] = {"random", "text"};
	uint8_t *bufs[2] = {rnd, txt};
	for (int k = 0; k < 2; k++) {
		double p = best_of(plain, k ? "notes.txt" : "blob.bin", bufs[k], n);
		double a = best_of(av, k ? "notes.txt" : "blob.bin", bufs[k], n);
		printf("%-6s %zu MiB: without AV %.1f ms, with AV %.1f ms -> ClamAV %.1f ms/MiB\n",
		       kinds[k], mib, p * 1e3, a * 1e3, (a - p) * 1e3 / (double)mib);
	}
	attachment_engine_free(plain);
	attachment_engine_free(av);
	free(rnd);
	free(txt);
	return 0;
}
