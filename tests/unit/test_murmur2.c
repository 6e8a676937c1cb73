/*
 * test_murmur2.c - Kafka's murmur2 hash and default key partitioner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mq.h"

/* The vectors of Kafka's UtilsTest.testMurmur2. */
static void
test_kafka_vectors(void **state)
{
	static const struct {
		const char *key;
		int32_t hash;
	} v[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
		{ "abc", 479470107 },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		assert_int_equal(mq_murmur2(v[i].key, strlen(v[i].key)),
		    v[i].hash);
}

/*
 * The empty key and bytes with the high bit set (which Java holds as
 * negative bytes).  The expected values come from Kafka's formula run in
 * Java.
 */
static void
test_edge_inputs(void **state)
{
	static const uint8_t hi[] = { 0xff, 0x80, 0xc3, 0x01, 0xfe, 0x9a, 0x7f };

	assert_int_equal(mq_murmur2("", 0), 275646681);
	assert_int_equal(mq_murmur2(NULL, 0), 275646681);
	assert_int_equal(mq_murmur2(hi, sizeof hi), 46025481);
	assert_int_equal(mq_partition_for_key(hi, sizeof hi, 7), 5);
}

/*
 * Partitions of "key0".."key9", from Kafka's formula
 * toPositive(murmur2(key)) % partitions run in Java.
 */
static void
test_partition_for_key(void **state)
{
	static const int32_t hash[10] = {
		452605474, 28543940, 1674751211, -1745673403, -1069414199,
		20834383, -934465952, -855701021, 1491593227, 1470267419,
	};
	static const int32_t p3[10] = { 1, 2, 2, 1, 0, 1, 0, 0, 1, 2 };
	static const int32_t p12[10] = { 10, 8, 11, 1, 9, 7, 0, 3, 7, 11 };
	char key[8];

	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof key, "key%d", i);
		assert_int_equal(mq_murmur2(key, 4), hash[i]);
		assert_int_equal(mq_partition_for_key(key, 4, 3), p3[i]);
		assert_int_equal(mq_partition_for_key(key, 4, 12), p12[i]);
		/* Powers of two take a mask: the same toPositive % n. */
		for (int s = 0; s <= 30; s++)
			assert_int_equal(mq_partition_for_key(key, 4, 1 << s),
			                 (hash[i] & 0x7fffffff) % (1 << s));
	}
	assert_int_equal(mq_partition_for_key("user-42", 7, 100), 60);
	/* toPositive(-790332482) = 1357151166, and 1357151166 % 10 = 6. */
	assert_int_equal(mq_partition_for_key("foobar", 6, 10), 6);
}

/* Every key lands in [0, partitions), and one partition takes them all. */
static void
test_partition_range(void **state)
{
	char key[32];

	for (int i = 0; i < 5000; i++) {
		int n = snprintf(key, sizeof key, "k-%d-%x", i, i * 2654435761u);
		int32_t parts = 1 + i % 37;
		int32_t p = mq_partition_for_key(key, (size_t)n, parts);

		assert_true(p >= 0 && p < parts);
		assert_int_equal(mq_partition_for_key(key, (size_t)n, 1), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_vectors),
		cmocka_unit_test(test_edge_inputs),
		cmocka_unit_test(test_partition_for_key),
		cmocka_unit_test(test_partition_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
