/*
 * varint.h - Kafka's zig-zag variable-length integers (protobuf encoding).
 *
 * The decoders take the current position and the end of the buffer and
 * return the position after the value, or NULL when the buffer ends inside
 * the value or the value is longer than its type allows (5 bytes for a
 * varint, 10 for a varlong).  The encoders write at most MQ_VARINT_MAX /
 * MQ_VARLONG_MAX bytes and return the position after the value.
 */
#ifndef MQ_VARINT_H
#define MQ_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define MQ_VARINT_MAX 5
#define MQ_VARLONG_MAX 10

static inline uint8_t *mq_put_uvarlong(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *mq_put_varlong(uint8_t *p, int64_t v)
{
	return mq_put_uvarlong(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* The one- and two-byte cases, which most lengths and counts of a record
 * take, are written inline. */
static inline uint8_t *mq_put_varint(uint8_t *p, int32_t v)
{
	uint32_t z = ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);

	if (z < 0x80) {
		*p = (uint8_t)z;
		return p + 1;
	}
	if (z < 0x4000) {
		p[0] = (uint8_t)(z | 0x80);
		p[1] = (uint8_t)(z >> 7);
		return p + 2;
	}
	return mq_put_uvarlong(p, z);
}

/* Number of bytes mq_put_varlong / mq_put_varint would write. */
static inline size_t mq_varlong_size(int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

static inline size_t mq_varint_size(int32_t v)
{
	return mq_varlong_size(v);
}

static inline const uint8_t *mq_get_uvarlong(const uint8_t *p,
                                             const uint8_t *end, uint64_t *out,
                                             int maxbytes)
{
	uint64_t v = 0;
	int shift = 0;
	for (int i = 0; i < maxbytes; i++) {
		if (p >= end)
			return NULL;
		uint8_t b = *p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return p;
		}
		shift += 7;
	}
	return NULL;
}

static inline const uint8_t *mq_get_varlong(const uint8_t *p,
                                            const uint8_t *end, int64_t *out)
{
	uint64_t u;
	if (p < end && !(*p & 0x80)) { /* fast path: one byte */
		u = *p++;
	} else if (!(p = mq_get_uvarlong(p, end, &u, MQ_VARLONG_MAX))) {
		return NULL;
	}
	*out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return p;
}

static inline const uint8_t *mq_get_varint(const uint8_t *p,
                                           const uint8_t *end, int32_t *out)
{
	uint64_t u;
	if (p < end && !(*p & 0x80)) {
		u = *p++;
	} else if (!(p = mq_get_uvarlong(p, end, &u, MQ_VARINT_MAX))) {
		return NULL;
	}
	if (u > UINT32_MAX)
		return NULL;
	uint32_t w = (uint32_t)u;
	*out = (int32_t)((w >> 1) ^ -(w & 1));
	return p;
}

/* Big-endian fixed-width helpers. */
static inline void mq_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void mq_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void mq_put_be64(uint8_t *p, uint64_t v)
{
	mq_put_be32(p, (uint32_t)(v >> 32));
	mq_put_be32(p + 4, (uint32_t)v);
}
static inline uint16_t mq_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t mq_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t mq_be64(const uint8_t *p)
{
	return ((uint64_t)mq_be32(p) << 32) | mq_be32(p + 4);
}

#endif
