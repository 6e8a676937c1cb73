/*
 * test_crc32c.c - CRC-32C: published vectors, hardware against software,
 * incremental use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

/* A small deterministic generator (xorshift64*) for test data. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint8_t
rng_byte(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint8_t)((rng_state * 0x2545f4914f6cdd1dull) >> 56);
}

static void
fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rng_byte();
}

/* The check value of the CRC catalogue, through both paths. */
static void
test_check_value(void **state)
{
	assert_int_equal(mq_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(mq_crc32c_sw(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(mq_crc32c(0, "", 0), 0);
	assert_int_equal(mq_crc32c(0, NULL, 0), 0);
	assert_int_equal(mq_crc32c(0x12345678u, "", 0), 0x12345678u);
}

/* RFC 3720 (iSCSI) appendix B.4. */
static void
test_rfc3720(void **state)
{
	uint8_t buf[32];
	uint32_t (*fn[2])(uint32_t, const void *, size_t) = {
		mq_crc32c, mq_crc32c_sw
	};

	for (int f = 0; f < 2; f++) {
		memset(buf, 0x00, sizeof buf);
		assert_int_equal(fn[f](0, buf, sizeof buf), 0x8a9136aau);
		memset(buf, 0xff, sizeof buf);
		assert_int_equal(fn[f](0, buf, sizeof buf), 0x62a8ab43u);
		for (int i = 0; i < 32; i++)
			buf[i] = (uint8_t)i;
		assert_int_equal(fn[f](0, buf, sizeof buf), 0x46dd794eu);
		for (int i = 0; i < 32; i++)
			buf[i] = (uint8_t)(31 - i);
		assert_int_equal(fn[f](0, buf, sizeof buf), 0x113fdb5cu);
	}
}

/*
 * The dispatching function agrees with the portable one at every length
 * up to 1100 and at every start offset modulo 8.  Also a few lengths past
 * the three-way blocks of the hardware path.
 */
static void
test_hw_matches_sw(void **state)
{
	size_t cap = 3 * 2048 * 3 + 64;
	uint8_t *buf = malloc(cap);
	static const size_t big[] = {
		767, 768, 769, 775, 776, 1535, 1536, 6143, 6144, 6145,
		6144 + 768, 6144 + 768 + 7, 12288, 12288 + 768 * 2 + 5,
		3 * 2048 * 3,
	};

	assert_non_null(buf);
	fill_random(buf, cap);
	if (!mq_crc32c_hw())
		print_message("note: no SSE4.2, only the portable path runs\n");
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 1100; len++)
			assert_int_equal(mq_crc32c(0, buf + off, len),
			    mq_crc32c_sw(0, buf + off, len));
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
		for (size_t off = 0; off < 8; off++)
			assert_int_equal(mq_crc32c(0, buf + off, big[i]),
			    mq_crc32c_sw(0, buf + off, big[i]));
	free(buf);
}

/* Splitting the input anywhere gives the one-shot CRC, on both paths. */
static void
test_incremental(void **state)
{
	uint8_t buf[2000];

	fill_random(buf, sizeof buf);
	uint32_t whole = mq_crc32c(0, buf, sizeof buf);
	assert_int_equal(whole, mq_crc32c_sw(0, buf, sizeof buf));
	for (size_t cut = 0; cut <= sizeof buf; cut += 7) {
		uint32_t c = mq_crc32c(0, buf, cut);
		assert_int_equal(mq_crc32c(c, buf + cut, sizeof buf - cut),
		    whole);
		c = mq_crc32c_sw(0, buf, cut);
		assert_int_equal(mq_crc32c_sw(c, buf + cut, sizeof buf - cut),
		    whole);
	}

	/* Many small pieces of uneven sizes, mixing the two paths. */
	uint32_t c = 0;
	size_t pos = 0;
	for (size_t step = 1; pos < sizeof buf; step = step % 13 + 1) {
		size_t n = step < sizeof buf - pos ? step : sizeof buf - pos;
		c = (step & 1) ? mq_crc32c(c, buf + pos, n) :
		    mq_crc32c_sw(c, buf + pos, n);
		pos += n;
	}
	assert_int_equal(c, whole);
}

/* A single flipped bit anywhere changes the CRC. */
static void
test_detects_bit_flip(void **state)
{
	uint8_t buf[512];

	fill_random(buf, sizeof buf);
	uint32_t good = mq_crc32c(0, buf, sizeof buf);
	for (size_t i = 0; i < sizeof buf * 8; i += 13) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(mq_crc32c(0, buf, sizeof buf), good);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(mq_crc32c(0, buf, sizeof buf), good);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_rfc3720),
		cmocka_unit_test(test_hw_matches_sw),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_detects_bit_flip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
