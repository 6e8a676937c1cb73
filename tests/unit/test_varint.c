/*
 * test_varint.c - zig-zag varints and big-endian helpers of varint.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "varint.h"

struct vec {
	int64_t v;
	size_t len;
	uint8_t enc[MQ_VARLONG_MAX];
};

/* Values that fit an int32, with their encodings. */
static const struct vec int_vecs[] = {
	{ 0, 1, { 0x00 } },
	{ -1, 1, { 0x01 } },
	{ 1, 1, { 0x02 } },
	{ -2, 1, { 0x03 } },
	{ 63, 1, { 0x7e } },
	{ -64, 1, { 0x7f } },
	{ 64, 2, { 0x80, 0x01 } },
	{ -65, 2, { 0x81, 0x01 } },
	{ 300, 2, { 0xd8, 0x04 } },
	{ 8191, 2, { 0xfe, 0x7f } },
	{ 8192, 3, { 0x80, 0x80, 0x01 } },
	{ INT32_MAX, 5, { 0xfe, 0xff, 0xff, 0xff, 0x0f } },
	{ INT32_MIN, 5, { 0xff, 0xff, 0xff, 0xff, 0x0f } },
};

/* Values that need a varlong. */
static const struct vec long_vecs[] = {
	{ (int64_t)INT32_MAX + 1, 5, { 0x80, 0x80, 0x80, 0x80, 0x10 } },
	{ (int64_t)INT32_MIN - 1, 5, { 0x81, 0x80, 0x80, 0x80, 0x10 } },
	{ INT64_MAX, 10, { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0x01 } },
	{ INT64_MIN, 10, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0x01 } },
};

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static void
test_varint_vectors(void **state)
{
	uint8_t buf[16];

	for (size_t i = 0; i < NELEM(int_vecs); i++) {
		const struct vec *t = &int_vecs[i];
		int32_t v = (int32_t)t->v, got;

		memset(buf, 0xaa, sizeof buf);
		uint8_t *e = mq_put_varint(buf, v);
		assert_int_equal(e - buf, t->len);
		assert_memory_equal(buf, t->enc, t->len);
		assert_int_equal(buf[t->len], 0xaa);
		assert_int_equal(mq_varint_size(v), t->len);
		assert_ptr_equal(mq_get_varint(buf, buf + t->len, &got),
		    buf + t->len);
		assert_int_equal(got, v);

		/* The same value as a varlong encodes the same way. */
		int64_t lgot;
		assert_ptr_equal(mq_put_varlong(buf, t->v), buf + t->len);
		assert_memory_equal(buf, t->enc, t->len);
		assert_int_equal(mq_varlong_size(t->v), t->len);
		assert_ptr_equal(mq_get_varlong(buf, buf + t->len, &lgot),
		    buf + t->len);
		assert_true(lgot == t->v);
	}
}

static void
test_varlong_vectors(void **state)
{
	uint8_t buf[16];

	for (size_t i = 0; i < NELEM(long_vecs); i++) {
		const struct vec *t = &long_vecs[i];
		int64_t got;

		memset(buf, 0xaa, sizeof buf);
		assert_ptr_equal(mq_put_varlong(buf, t->v), buf + t->len);
		assert_memory_equal(buf, t->enc, t->len);
		assert_int_equal(buf[t->len], 0xaa);
		assert_int_equal(mq_varlong_size(t->v), t->len);
		assert_ptr_equal(mq_get_varlong(buf, buf + t->len, &got),
		    buf + t->len);
		assert_true(got == t->v);
	}
}

/* Encodes v both ways the type allows and decodes it back. */
static void
round_trip64(int64_t v)
{
	uint8_t buf[MQ_VARLONG_MAX + 1];
	int64_t got;
	size_t n = (size_t)(mq_put_varlong(buf, v) - buf);

	assert_true(n >= 1 && n <= MQ_VARLONG_MAX);
	assert_int_equal(n, mq_varlong_size(v));
	assert_ptr_equal(mq_get_varlong(buf, buf + n, &got), buf + n);
	assert_true(got == v);
	/* Extra bytes after the value are not consumed. */
	buf[n] = 0x00;
	assert_ptr_equal(mq_get_varlong(buf, buf + n + 1, &got), buf + n);
	assert_true(got == v);
}

static void
round_trip32(int32_t v)
{
	uint8_t buf[MQ_VARINT_MAX];
	int32_t got;
	size_t n = (size_t)(mq_put_varint(buf, v) - buf);

	assert_true(n >= 1 && n <= MQ_VARINT_MAX);
	assert_int_equal(n, mq_varint_size(v));
	assert_ptr_equal(mq_get_varint(buf, buf + n, &got), buf + n);
	assert_int_equal(got, v);
}

static void
test_round_trips(void **state)
{
	uint64_t x = 0x243f6a8885a308d3ull;

	for (int s = 0; s < 64; s++) {
		int64_t p = (int64_t)((uint64_t)1 << s);

		for (int64_t d = -1; d <= 1; d++) {
			round_trip64((int64_t)((uint64_t)p + (uint64_t)d));
			round_trip64((int64_t)(0 - (uint64_t)p + (uint64_t)d));
			if (s < 32) {
				round_trip32((int32_t)(uint32_t)((uint64_t)p +
				    (uint64_t)d));
				round_trip32((int32_t)(uint32_t)(0 -
				    (uint64_t)p + (uint64_t)d));
			}
		}
	}
	for (int i = 0; i < 100000; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		uint64_t r = x * 0x2545f4914f6cdd1dull;
		/* Vary the magnitude so every encoded length is reached. */
		int shift = (int)(r & 63);
		round_trip64((int64_t)r >> shift);
		round_trip32((int32_t)(uint32_t)(r >> 32) >> (shift & 31));
	}
	for (int32_t v = -70000; v <= 70000; v++)
		round_trip32(v);
	round_trip32(INT32_MAX);
	round_trip32(INT32_MIN);
	round_trip64(INT64_MAX);
	round_trip64(INT64_MIN);
}

/* Every proper prefix of an encoding is "buffer ends inside the value". */
static void
test_truncated(void **state)
{
	uint8_t buf[MQ_VARLONG_MAX];
	int32_t v32 = 12345;
	int64_t v64 = 12345;

	assert_null(mq_get_varint(buf, buf, &v32));
	assert_null(mq_get_varlong(buf, buf, &v64));
	for (size_t i = 0; i < NELEM(int_vecs); i++) {
		const struct vec *t = &int_vecs[i];

		for (size_t n = 0; n < t->len; n++) {
			assert_null(mq_get_varint(t->enc, t->enc + n, &v32));
			assert_null(mq_get_varlong(t->enc, t->enc + n, &v64));
		}
	}
	for (size_t i = 0; i < NELEM(long_vecs); i++) {
		const struct vec *t = &long_vecs[i];

		for (size_t n = 0; n < t->len; n++)
			assert_null(mq_get_varlong(t->enc, t->enc + n, &v64));
	}
	/* Failed decodes leave the output alone. */
	assert_int_equal(v32, 12345);
	assert_true(v64 == 12345);
}

/* Longer than the type allows, or too big for an int32. */
static void
test_overlong(void **state)
{
	static const uint8_t six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t big5[] = { 0xff, 0xff, 0xff, 0xff, 0x1f };
	/* Non-minimal but within 5 bytes: accepted, as Kafka's reader does. */
	static const uint8_t padded[] = { 0x82, 0x80, 0x80, 0x80, 0x00 };
	int32_t v32;
	int64_t v64;

	assert_null(mq_get_varint(six, six + sizeof six, &v32));
	assert_null(mq_get_varlong(eleven, eleven + sizeof eleven, &v64));
	assert_null(mq_get_varint(big5, big5 + sizeof big5, &v32));
	/* Six bytes is fine for a varlong, ten bytes too. */
	assert_ptr_equal(mq_get_varlong(six, six + sizeof six, &v64),
	    six + sizeof six);
	assert_true(v64 == 0);
	assert_ptr_equal(mq_get_varlong(eleven + 1, eleven + sizeof eleven,
	    &v64), eleven + sizeof eleven);
	assert_true(v64 == 0);
	assert_ptr_equal(mq_get_varlong(big5, big5 + sizeof big5, &v64),
	    big5 + sizeof big5);
	assert_true(v64 == INT64_MIN >> 31);
	assert_ptr_equal(mq_get_varint(padded, padded + sizeof padded, &v32),
	    padded + sizeof padded);
	assert_int_equal(v32, 1);
}

static void
test_big_endian(void **state)
{
	uint8_t buf[8];

	mq_put_be16(buf, 0x1234);
	assert_memory_equal(buf, "\x12\x34", 2);
	assert_int_equal(mq_be16(buf), 0x1234);
	mq_put_be16(buf, 0xfffe);
	assert_int_equal(mq_be16(buf), 0xfffe);

	mq_put_be32(buf, 0xdeadbeefu);
	assert_memory_equal(buf, "\xde\xad\xbe\xef", 4);
	assert_int_equal(mq_be32(buf), 0xdeadbeefu);
	mq_put_be32(buf, 0x80000001u);
	assert_int_equal(mq_be32(buf), 0x80000001u);

	mq_put_be64(buf, 0x0102030405060708ull);
	assert_memory_equal(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(mq_be64(buf) == 0x0102030405060708ull);
	mq_put_be64(buf, 0xfedcba9876543210ull);
	assert_memory_equal(buf, "\xfe\xdc\xba\x98\x76\x54\x32\x10", 8);
	assert_true(mq_be64(buf) == 0xfedcba9876543210ull);
	/* -1 as an int64, the "no producer id" of a RecordBatch. */
	mq_put_be64(buf, (uint64_t)-1);
	assert_memory_equal(buf, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_true((int64_t)mq_be64(buf) == -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_vectors),
		cmocka_unit_test(test_varlong_vectors),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_big_endian),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
