/*
 * test_keymap.c - the log cleaner's key map (slots, a known key's latest
 * offset, full at its cap, clear) and the key hash it stores (no
 * collisions over 200000 keys, length counts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "compact.h"

static void test_keymap(void **state)
{
	(void)state;
	mq_keymap m;
	mq_keyhash h[5];
	for (int i = 0; i < 5; i++) {
		char k[8];
		int n = snprintf(k, sizeof k, "key%d", i);
		mq_key_hash(k, (size_t)n, &h[i]);
	}
	/* Four slots: three keys fit, the fourth makes the map full. */
	assert_int_equal(mq_keymap_init(&m, 4 * MQ_KEYMAP_SLOT), 0);
	assert_int_equal(mq_keymap_put(&m, &h[0], 10), 1);
	assert_int_equal(mq_keymap_put(&m, &h[1], 11), 1);
	assert_int_equal(mq_keymap_put(&m, &h[2], 12), 1);
	assert_int_equal(mq_keymap_put(&m, &h[3], 13), 0);
	assert_int_equal(mq_keymap_put(&m, &h[0], 20), 1); /* known key */
	assert_int_equal(mq_keymap_put(&m, &h[0], 15), 1); /* older: ignored */
	assert_int_equal(mq_keymap_get(&m, &h[0]), 20);
	assert_int_equal(mq_keymap_get(&m, &h[1]), 11);
	assert_int_equal(mq_keymap_get(&m, &h[3]), -1);
	assert_int_equal(mq_keymap_get(&m, &h[4]), -1);
	mq_keymap_clear(&m);
	assert_int_equal(mq_keymap_get(&m, &h[0]), -1);
	assert_int_equal(mq_keymap_put(&m, &h[3], 13), 1);
	mq_keymap_free(&m);

	/* A larger map grows up to its cap and then reports full. */
	assert_int_equal(mq_keymap_init(&m, 1 << 20), 0);
	int stored = 0;
	for (int i = 0; i < 100000; i++) {
		char k[16];
		mq_keyhash x;
		int n = snprintf(k, sizeof k, "key-%d", i);
		mq_key_hash(k, (size_t)n, &x);
		int rc = mq_keymap_put(&m, &x, i);
		assert_true(rc >= 0);
		if (rc == 0)
			break;
		stored++;
	}
	assert_true(m.nslots * MQ_KEYMAP_SLOT <= (1 << 20));
	assert_true(stored > 20000 && stored < 43691);
	for (int i = 0; i < stored; i++) {
		char k[16];
		mq_keyhash x;
		int n = snprintf(k, sizeof k, "key-%d", i);
		mq_key_hash(k, (size_t)n, &x);
		assert_int_equal(mq_keymap_get(&m, &x), i);
	}
	mq_keymap_free(&m);
}

static int cmp_hash(const void *a, const void *b)
{
	const mq_keyhash *x = a, *y = b;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	return (x->b > y->b) - (x->b < y->b);
}

static void test_hash(void **state)
{
	(void)state;
	enum { N = 200000 };
	mq_keyhash *h = malloc(N * sizeof *h);
	assert_non_null(h);
	for (int i = 0; i < N; i++) {
		char k[32];
		int n = snprintf(k, sizeof k, "user-%08d", i);
		mq_key_hash(k, (size_t)n, &h[i]);
	}
	qsort(h, N, sizeof *h, cmp_hash);
	int same_a = 0;
	for (int i = 1; i < N; i++) {
		assert_true(cmp_hash(&h[i - 1], &h[i]) != 0);
		same_a += h[i - 1].a == h[i].a;
	}
	assert_int_equal(same_a, 0);
	/* Length matters: "" and "\0" differ. */
	mq_keyhash e, z;
	mq_key_hash("", 0, &e);
	mq_key_hash("\0", 1, &z);
	assert_true(cmp_hash(&e, &z) != 0);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keymap),
		cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
