/* SipHash-2-4: keyed hash for tables whose keys an attacker chooses (flow tuples).
 * The key is drawn once per table from getrandom(), so collisions cannot be precomputed. */
#ifndef POSTERN_COMMON_SIPHASH_H
#define POSTERN_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
	uint64_t k0, k1;
};

uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);

/* Fill key from the kernel's CSPRNG; returns 0, or -1 with errno set. */
int siphash_key_random(struct siphash_key *key);

#endif
