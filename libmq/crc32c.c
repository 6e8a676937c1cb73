/*
 * crc32c.c - CRC-32C (Castagnoli), the checksum of RecordBatch v2.
 *
 * Two implementations compute the same function.  The portable one is
 * slicing-by-8 over tables built once at first use.  On x86 CPUs with
 * SSE4.2 the crc32 instruction does the work instead, eight bytes at a
 * time in three independent streams whose partial CRCs are then merged
 * with "shift by N zero bytes" tables, so that the instruction's latency
 * is hidden.  The choice between the two is made once, at run time.
 *
 * Internally the functions work on the raw register (the CRC before its
 * final inversion); mq_crc32c() and mq_crc32c_sw() do the inversions.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "crc32c.h"

/* Building with -DMQ_CRC32C_NO_HW leaves only the portable code. */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(MQ_CRC32C_NO_HW)
#define MQ_CRC32C_X86 1
#include <nmmintrin.h>
#endif

/* The reflected Castagnoli polynomial. */
#define POLY 0x82f63b78u

/* Bytes per stream in the three-way hardware loop: long and short blocks. */
#define LONG_BLOCK 2048
#define SHORT_BLOCK 256

static uint32_t sw_table[8][256];
#ifdef MQ_CRC32C_X86
static uint32_t long_shift[4][256];
static uint32_t short_shift[4][256];
#endif
static int use_hw;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

#ifdef MQ_CRC32C_X86
/* Advances a raw CRC register over n zero bytes, one byte at a time. */
static uint32_t
zeros_slow(uint32_t crc, size_t n)
{
	while (n--)
		crc = sw_table[0][crc & 0xff] ^ (crc >> 8);
	return crc;
}

/*
 * Fills tab so that crc_shift(tab, c) equals zeros_slow(c, n).  Appending
 * zeros is linear over GF(2), so the image of each register byte can be
 * tabulated separately and the four results xored.
 */
static void
shift_table_init(uint32_t tab[4][256], size_t n)
{
	uint32_t basis[32];

	for (int i = 0; i < 32; i++)
		basis[i] = zeros_slow((uint32_t)1 << i, n);
	for (int k = 0; k < 4; k++) {
		for (int b = 0; b < 256; b++) {
			uint32_t v = 0;
			for (int j = 0; j < 8; j++)
				if (b & (1 << j))
					v ^= basis[8 * k + j];
			tab[k][b] = v;
		}
	}
}

static inline uint32_t
crc_shift(uint32_t tab[4][256], uint32_t crc)
{
	return tab[0][crc & 0xff] ^ tab[1][(crc >> 8) & 0xff] ^
	       tab[2][(crc >> 16) & 0xff] ^ tab[3][crc >> 24];
}
#endif

/* Builds the tables and picks the implementation; runs once. */
static void
crc32c_init(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;
		for (int j = 0; j < 8; j++)
			c = (c >> 1) ^ (POLY & -(c & 1));
		sw_table[0][b] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int b = 0; b < 256; b++) {
			uint32_t c = sw_table[k - 1][b];
			sw_table[k][b] = (c >> 8) ^ sw_table[0][c & 0xff];
		}
#ifdef MQ_CRC32C_X86
	shift_table_init(long_shift, LONG_BLOCK);
	shift_table_init(short_shift, SHORT_BLOCK);
	__builtin_cpu_init();
	use_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

/* Reads eight bytes as a little-endian integer, at any alignment. */
static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* Slicing-by-8 over the raw register. */
static uint32_t
crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = sw_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t w = load_le64(p);
		uint32_t lo = crc ^ (uint32_t)w;
		uint32_t hi = (uint32_t)(w >> 32);

		crc = sw_table[7][lo & 0xff] ^
		      sw_table[6][(lo >> 8) & 0xff] ^
		      sw_table[5][(lo >> 16) & 0xff] ^
		      sw_table[4][lo >> 24] ^
		      sw_table[3][hi & 0xff] ^
		      sw_table[2][(hi >> 8) & 0xff] ^
		      sw_table[1][(hi >> 16) & 0xff] ^
		      sw_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = sw_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#ifdef MQ_CRC32C_X86
__attribute__((target("sse4.2")))
static inline uint32_t
hw_u64(uint32_t crc, const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
#ifdef __x86_64__
	return (uint32_t)_mm_crc32_u64(crc, w);
#else
	crc = _mm_crc32_u32(crc, (uint32_t)w);
	return _mm_crc32_u32(crc, (uint32_t)(w >> 32));
#endif
}

/*
 * Runs three streams of block bytes each (at p, p + block, p + 2 * block)
 * while there are 3 * block bytes left, merging the streams with tab.
 */
__attribute__((target("sse4.2")))
static inline uint32_t
hw_3way(uint32_t crc, const uint8_t **pp, size_t *lenp, size_t block,
    uint32_t tab[4][256])
{
	const uint8_t *p = *pp;
	size_t len = *lenp;

	while (len >= 3 * block) {
		uint32_t c1 = 0, c2 = 0;
		const uint8_t *end = p + block;

		do {
			crc = hw_u64(crc, p);
			c1 = hw_u64(c1, p + block);
			c2 = hw_u64(c2, p + 2 * block);
			p += 8;
		} while (p < end);
		crc = crc_shift(tab, crc) ^ c1;
		crc = crc_shift(tab, crc) ^ c2;
		p += 2 * block;
		len -= 3 * block;
	}
	*pp = p;
	*lenp = len;
	return crc;
}

/* The crc32 instruction over the raw register. */
__attribute__((target("sse4.2")))
static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = _mm_crc32_u8(crc, *p++);
		len--;
	}
	crc = hw_3way(crc, &p, &len, LONG_BLOCK, long_shift);
	crc = hw_3way(crc, &p, &len, SHORT_BLOCK, short_shift);
	while (len >= 8) {
		crc = hw_u64(crc, p);
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

/*
 * mq_crc32c_sw extends crc over len bytes at buf with the portable
 * table-driven code and returns the new CRC.  It cannot fail.
 */
uint32_t
mq_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&init_once, crc32c_init);
	return ~crc_sw(~crc, buf, len);
}

/*
 * mq_crc32c extends crc over len bytes at buf, with the crc32 instruction
 * when the CPU has it, and returns the new CRC.  It cannot fail.
 */
uint32_t
mq_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&init_once, crc32c_init);
#ifdef MQ_CRC32C_X86
	if (use_hw)
		return ~crc_hw(~crc, buf, len);
#endif
	return ~crc_sw(~crc, buf, len);
}

/* mq_crc32c_hw returns 1 if mq_crc32c uses the hardware path, else 0. */
int
mq_crc32c_hw(void)
{
	pthread_once(&init_once, crc32c_init);
	return use_hw;
}
