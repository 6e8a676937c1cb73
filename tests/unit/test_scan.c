/*
 * test_scan.c - scan_records (cmd/scan.c): every implementation the CPU
 * can run finds the same records and keys as a byte-by-byte reference,
 * on random buffers of every length around the 64-byte blocks, with
 * delimiters of every value, and stops after max records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cmd/scan.c"

typedef size_t (*scan_fn)(const char *, size_t, int, int, struct scan_hit *,
                          size_t);

/* The reference: one byte at a time. */
static size_t scan_ref(const char *p, size_t n, int delim, int kdelim,
                       struct scan_hit *hits, size_t max)
{
	size_t found = 0;
	uint32_t key = SCAN_NONE;

	for (size_t i = 0; i < n && found < max; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == delim) {
			hits[found].end = (uint32_t)i;
			hits[found].key = key;
			found++;
			key = SCAN_NONE;
		} else if (c == kdelim && key == SCAN_NONE) {
			key = (uint32_t)i;
		}
	}
	return found;
}

static uint64_t rng = 88172645463325252ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Checks fn against the reference on n bytes at p. */
static void compare(scan_fn fn, const char *p, size_t n, int delim,
                    int kdelim, size_t max)
{
	struct scan_hit want[600], got[600];
	size_t nw = scan_ref(p, n, delim, kdelim, want, max);
	size_t ng = fn(p, n, delim, kdelim, got, max);

	assert_int_equal(ng, nw);
	for (size_t i = 0; i < nw; i++) {
		assert_int_equal(got[i].end, want[i].end);
		assert_int_equal(got[i].key, want[i].key);
	}
}

/* Random buffers, dense in delimiters or sparse, through fn. */
static void check_fn(scan_fn fn)
{
	enum { MAXN = 520 };
	/* The bytes end where the allocation does, so that ASan sees any
	 * read past them. */
	for (size_t n = 0; n <= MAXN; n++) {
		for (int round = 0; round < 6; round++) {
			char *p = malloc(n ? n : 1);
			int delim = round == 0 ? '\n' : (int)(next() & 0xff);
			int kdelim = round == 1 ? -1 : round == 2 ? delim :
			    round == 3 ? (int)(next() & 0xff) : ':';
			unsigned spread = 1 + (next() % 64);

			assert_non_null(p);
			for (size_t i = 0; i < n; i++) {
				uint32_t r = next();
				p[i] = r % spread == 0 ? (char)delim :
				    r % spread == 1 && kdelim >= 0 ?
				    (char)kdelim : (char)(r >> 8);
			}
			compare(fn, p, n, delim, kdelim, 600);
			compare(fn, p, n, delim, kdelim, 1);
			compare(fn, p, n, delim, kdelim, 1 + next() % 7);
			free(p);
		}
	}
}

static void test_memchr(void **state)
{
	(void)state;
	check_fn(scan_memchr);
}

static void test_simd(void **state)
{
	(void)state;
#ifdef SCAN_X86
	if (!__builtin_cpu_supports("avx2"))
		skip();
	check_fn(scan_avx2);
#else
	skip();
#endif
}

/* The dispatcher, on records as mq-produce sees them. */
static void test_lines(void **state)
{
	const char text[] = "key0:v0\nkey1:v:1\nnokey\n:empty-key\nk:\n\ntail";
	struct scan_hit h[8];
	size_t n;

	(void)state;
	n = scan_records(text, sizeof text - 1, '\n', ':', h, 8);
	assert_int_equal(n, 6);
	assert_int_equal(h[0].end, 7);
	assert_int_equal(h[0].key, 4);
	assert_int_equal(h[1].end, 16);
	assert_int_equal(h[1].key, 12);
	assert_int_equal(h[2].end, 22);
	assert_int_equal(h[2].key, SCAN_NONE);
	assert_int_equal(h[3].end, 33);
	assert_int_equal(h[3].key, 23);
	assert_int_equal(h[4].end, 36);
	assert_int_equal(h[4].key, 35);
	assert_int_equal(h[5].end, 37);
	assert_int_equal(h[5].key, SCAN_NONE);
	/* A record whose key delimiter is in one 64-byte block and its end
	 * in a later one. */
	char big[200];
	memset(big, 'x', sizeof big);
	big[10] = ':';
	big[150] = '\n';
	big[170] = ':';
	n = scan_records(big, sizeof big, '\n', ':', h, 8);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].end, 150);
	assert_int_equal(h[0].key, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memchr),
		cmocka_unit_test(test_simd),
		cmocka_unit_test(test_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
