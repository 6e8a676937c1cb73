/*
 * murmur2.c - the key hash of Kafka's default partitioner.
 *
 * This is MurmurHash2 as Kafka's Java client (Utils.murmur2) computes it:
 * 32-bit, seed 0x9747b28c, the input read as little-endian 4-byte words,
 * the 1-3 trailing bytes folded in last.  Java's int arithmetic wraps, so
 * everything here is done in uint32_t and converted at the end.
 */
#include <stddef.h>
#include <stdint.h>

#include "mq.h"

#define SEED 0x9747b28cu
#define M 0x5bd1e995u
#define R 24

/*
 * mq_murmur2 returns Kafka's murmur2 hash of len bytes at data, as the
 * signed 32-bit value the Java client returns.  It cannot fail.
 */
int32_t
mq_murmur2(const void *data, size_t len)
{
	const uint8_t *p = data;
	/* Java takes the length as an int; keys are far below 2 GiB. */
	uint32_t h = SEED ^ (uint32_t)len;
	size_t nblocks = len / 4;

	for (size_t i = 0; i < nblocks; i++, p += 4) {
		uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

		k *= M;
		k ^= k >> R;
		k *= M;
		h *= M;
		h ^= k;
	}
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)p[2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)p[1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= (uint32_t)p[0];
		h *= M;
	}
	h ^= h >> 13;
	h *= M;
	h ^= h >> 15;
	return (int32_t)h;
}

/*
 * mq_partition_for_key returns toPositive(murmur2(key)) % partitions, the
 * partition Kafka's default partitioner picks for key.  partitions must be
 * at least 1; for anything less it returns 0.
 */
int32_t
mq_partition_for_key(const void *key, size_t len, int32_t partitions)
{
	uint32_t h = (uint32_t)mq_murmur2(key, len) & 0x7fffffffu;

	if (partitions < 1)
		return 0;
	/* The same remainder, without a division, for a power of two. */
	if ((partitions & (partitions - 1)) == 0)
		return (int32_t)(h & (uint32_t)(partitions - 1));
	return (int32_t)(h % (uint32_t)partitions);
}
