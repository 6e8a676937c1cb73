/*
 * scan.c - finding where records and their keys end; see scan.h.
 */
#include <string.h>

#include "scan.h"

/* Building with -DMQ_SCAN_NO_SIMD leaves only the memchr(3) code. */
#if (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__)) && !defined(MQ_SCAN_NO_SIMD)
#define SCAN_X86 1
#include <immintrin.h>
#endif

/* The portable way: memchr(3) for each record's end, then for its key
 * delimiter. */
static size_t scan_memchr(const char *p, size_t n, int delim, int kdelim,
                          struct scan_hit *hits, size_t max)
{
	size_t s = 0, found = 0;

	while (found < max && s < n) {
		const char *d = memchr(p + s, delim, n - s), *k;
		if (!d)
			break;
		size_t e = (size_t)(d - p);
		k = kdelim >= 0 ? memchr(p + s, kdelim, e - s) : NULL;
		hits[found].end = (uint32_t)e;
		hits[found].key = k ? (uint32_t)(k - p) : SCAN_NONE;
		found++;
		s = e + 1;
	}
	return found;
}

#ifdef SCAN_X86
/* One bit per byte of the 64 in lo and hi: set where it equals the byte
 * in c. */
__attribute__((target("avx2")))
static inline uint64_t mask64(__m256i lo, __m256i hi, __m256i c)
{
	uint32_t l = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c));
	uint32_t h = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c));

	return (uint64_t)h << 32 | l;
}

/*
 * scan_records with AVX2: a mask of the delimiters and one of the key
 * delimiters for each 64 bytes, whose set bits are walked in order.  key
 * is the first key delimiter of the record under way, SCAN_NONE until
 * one shows; a record's end stores it and starts the next record.
 */
__attribute__((target("avx2")))
static size_t scan_avx2(const char *p, size_t n, int delim, int kdelim,
                        struct scan_hit *hits, size_t max)
{
	const __m256i d = _mm256_set1_epi8((char)delim);
	const __m256i k = _mm256_set1_epi8((char)kdelim);
	uint32_t key = SCAN_NONE;
	size_t found = 0;

	for (size_t blk = 0; blk < n; blk += 64) {
		const char *q = p + blk;
		char tail[64];
		uint64_t valid = ~(uint64_t)0;

		if (n - blk < 64) {
			/* Not a byte past the end is read: the last bytes
			 * are copied out, and their mask cut to them. */
			memset(tail, 0, sizeof tail);
			memcpy(tail, q, n - blk);
			q = tail;
			valid = ((uint64_t)1 << (n - blk)) - 1;
		}
		__m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)q);
		__m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)
		                                (q + 32));
		uint64_t dm = mask64(lo, hi, d) & valid;
		uint64_t km = kdelim >= 0 ? mask64(lo, hi, k) & valid : 0;

		while (dm) {
			unsigned e = (unsigned)__builtin_ctzll(dm);
			uint64_t before = km & (((uint64_t)1 << e) - 1);

			if (key == SCAN_NONE && before)
				key = (uint32_t)(blk + (unsigned)__builtin_ctzll(before));
			hits[found].end = (uint32_t)(blk + e);
			hits[found].key = key;
			key = SCAN_NONE;
			if (++found == max)
				return found;
			/* What is left of both masks is after this end. */
			uint64_t after = e == 63 ? 0 : ~(uint64_t)0 << (e + 1);
			dm &= after;
			km &= after;
		}
		if (key == SCAN_NONE && km)
			key = (uint32_t)(blk + (unsigned)__builtin_ctzll(km));
	}
	return found;
}
#endif

/* scan_records: see scan.h. */
size_t scan_records(const char *p, size_t n, int delim, int kdelim,
                    struct scan_hit *hits, size_t max)
{
#ifdef SCAN_X86
	if (__builtin_cpu_supports("avx2"))
		return scan_avx2(p, n, delim, kdelim, hits, max);
#endif
	return scan_memchr(p, n, delim, kdelim, hits, max);
}
