#include "common/siphash.h"
#include "tests/unit/testlib.h"

/* Reference vectors from the SipHash paper (key 00..0f, message 00..len-1). */
static void test_reference_vectors(void)
{
	struct siphash_key k;
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	memcpy(&k.k0, key, 8);
	memcpy(&k.k1, key + 8, 8);
	CHECK_EQ_U(siphash24(&k, msg, 0), 0x726fdb47dd0e0e31ULL);
	CHECK_EQ_U(siphash24(&k, msg, 15), 0xa129ca6149be45e5ULL);
}

static void test_random_key_differs(void)
{
	struct siphash_key a, b;
	CHECK(siphash_key_random(&a) == 0);
	CHECK(siphash_key_random(&b) == 0);
	CHECK(a.k0 != b.k0 || a.k1 != b.k1);
	CHECK(siphash24(&a, "flow", 4) != siphash24(&b, "flow", 4));
}

int main(void)
{
	RUN(test_reference_vectors);
	RUN(test_random_key_differs);
	return tl_finish();
}
