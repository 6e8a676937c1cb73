/*
 * kafka_ref.c - an independent Kafka RecordBatch v2 encoder and decoder,
 * written from the Kafka specification alone, for test_interop.c to hold
 * libmq's codec against.
 *
 * It uses none of libmq's codec, varint or CRC code: its own big-endian
 * writers and readers, its own zig-zag varints, a bitwise CRC-32C, and
 * zlib directly for gzip.  Malformed input fails the running cmocka test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "kafka_ref.h"

/* ------------------------------------------------------------------ */
/* Primitives.                                                         */

/* Bit by bit: reflected polynomial 0x82F63B78, init and final complement. */
uint32_t
kref_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

struct wbuf {
	uint8_t data[1 << 22];
	size_t len;
};

static void
w_byte(struct wbuf *w, unsigned v)
{
	assert_true(w->len < sizeof w->data);
	w->data[w->len++] = (uint8_t)v;
}

/* Writes the low n bytes of v, most significant first. */
static void
w_be(struct wbuf *w, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		w_byte(w, (unsigned)(v >> (8 * i)) & 0xff);
}

/* Zig-zag then base-128, low groups first. */
static void
w_var(struct wbuf *w, int64_t v)
{
	uint64_t z = v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;

	do {
		unsigned b = z & 0x7f;
		z >>= 7;
		w_byte(w, z ? b | 0x80 : b);
	} while (z);
}

static void
w_raw(struct wbuf *w, const void *p, size_t n)
{
	assert_true(w->len + n <= sizeof w->data);
	if (n)
		memcpy(w->data + w->len, p, n);
	w->len += n;
}

/* A length (or -1) and the bytes. */
static void
w_lbytes(struct wbuf *w, const void *p, int64_t n)
{
	w_var(w, n);
	if (n > 0)
		w_raw(w, p, (size_t)n);
}

uint64_t
kref_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads a zig-zag varint of at most 10 bytes; fails the test on garbage. */
static int64_t
r_var(const uint8_t **pp, const uint8_t *end)
{
	uint64_t z = 0;
	const uint8_t *p = *pp;

	for (int shift = 0;; shift += 7) {
		assert_true(p < end);
		assert_true(shift < 70);
		z |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80))
			break;
	}
	*pp = p;
	return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

/* ------------------------------------------------------------------ */
/* Encoder and decoder.                                                */

/* Gzips n bytes at in into w with zlib's gzip wrapper. */
static void
gzip_into(struct wbuf *w, const uint8_t *in, size_t n)
{
	z_stream zs;

	memset(&zs, 0, sizeof zs);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9,
	                              Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = w->data + w->len;
	zs.avail_out = (uInt)(sizeof w->data - w->len);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	w->len = sizeof w->data - zs.avail_out;
	deflateEnd(&zs);
}

/*
 * Timestamp deltas against the first record's, offset deltas 0..n-1; the
 * records are laid out in static buffers, then copied to out.
 */
size_t
kref_encode(uint8_t *out, size_t cap, const struct kref_rec *recs, int n,
            int64_t base_offset, int16_t attributes, int64_t max_ts)
{
	static struct wbuf w, recbuf;
	struct wbuf *r = &recbuf;

	r->len = 0;
	for (int i = 0; i < n; i++) {
		static struct wbuf body;
		const struct kref_rec *t = &recs[i];
		body.len = 0;
		w_byte(&body, 0);
		w_var(&body, t->timestamp - recs[0].timestamp);
		w_var(&body, i);
		w_lbytes(&body, t->key, t->key_len);
		w_lbytes(&body, t->value, t->value_len);
		w_var(&body, t->nhdr);
		for (int h = 0; h < t->nhdr; h++) {
			w_lbytes(&body, t->hdr[h].key, t->hdr[h].key_len);
			w_lbytes(&body, t->hdr[h].value, t->hdr[h].value_len);
		}
		w_var(r, (int64_t)body.len);
		w_raw(r, body.data, body.len);
	}

	w.len = 0;
	w_be(&w, (uint64_t)base_offset, 8);
	w_be(&w, 0, 4);                  /* batchLength, below */
	w_be(&w, 0, 4);                  /* partitionLeaderEpoch */
	w_byte(&w, 2);                   /* magic */
	w_be(&w, 0, 4);                  /* crc, below */
	w_be(&w, (uint16_t)attributes, 2);
	w_be(&w, (uint64_t)(n - 1), 4);  /* lastOffsetDelta */
	w_be(&w, (uint64_t)recs[0].timestamp, 8);
	w_be(&w, (uint64_t)max_ts, 8);
	w_be(&w, UINT64_MAX, 8);         /* producerId -1 */
	w_be(&w, 0xffff, 2);             /* producerEpoch -1 */
	w_be(&w, 0xffffffff, 4);         /* baseSequence -1 */
	w_be(&w, (uint64_t)n, 4);        /* recordCount */
	assert_int_equal(w.len, 61);
	if ((attributes & 7) == 1)
		gzip_into(&w, r->data, r->len);
	else
		w_raw(&w, r->data, r->len);

	uint32_t blen = (uint32_t)(w.len - 12);
	uint32_t crc = kref_crc32c(w.data + 21, w.len - 21);
	for (int i = 0; i < 4; i++) {
		w.data[8 + i] = (uint8_t)(blen >> (24 - 8 * i));
		w.data[17 + i] = (uint8_t)(crc >> (24 - 8 * i));
	}
	assert_true(w.len <= cap);
	memcpy(out, w.data, w.len);
	return w.len;
}

/*
 * Checks the CRC and every length along the way; a gzip batch's records
 * are inflated into a static buffer, which the record pointers then borrow.
 */
int
kref_decode(const uint8_t *buf, size_t len, struct kref_batch *b,
            struct kref_rec *recs, int max)
{
	static uint8_t inflated[1 << 22];

	assert_true(len >= 61);
	b->base_offset = (int64_t)kref_be(buf, 8);
	assert_int_equal(kref_be(buf + 8, 4), len - 12);
	b->epoch = (int32_t)kref_be(buf + 12, 4);
	assert_int_equal(buf[16], 2);
	assert_int_equal(kref_be(buf + 17, 4),
	                 kref_crc32c(buf + 21, len - 21));
	b->attributes = (int16_t)kref_be(buf + 21, 2);
	b->last_delta = (int32_t)kref_be(buf + 23, 4);
	b->base_ts = (int64_t)kref_be(buf + 27, 8);
	b->max_ts = (int64_t)kref_be(buf + 35, 8);
	b->producer_id = (int64_t)kref_be(buf + 43, 8);
	b->producer_epoch = (int16_t)kref_be(buf + 51, 2);
	b->base_seq = (int32_t)kref_be(buf + 53, 4);
	b->count = (int32_t)kref_be(buf + 57, 4);

	const uint8_t *p = buf + 61, *end = buf + len;
	if ((b->attributes & 7) == 1) {
		z_stream zs;
		memset(&zs, 0, sizeof zs);
		assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
		zs.next_in = (Bytef *)p;
		zs.avail_in = (uInt)(end - p);
		zs.next_out = inflated;
		zs.avail_out = sizeof inflated;
		assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
		assert_int_equal(zs.avail_in, 0);
		p = inflated;
		end = inflated + (sizeof inflated - zs.avail_out);
		inflateEnd(&zs);
	} else {
		assert_int_equal(b->attributes & 7, 0);
	}

	int n = 0;
	while (p < end) {
		assert_true(n < max);
		struct kref_rec *t = &recs[n];
		int64_t rlen = r_var(&p, end);
		assert_true(rlen > 0 && rlen <= end - p);
		const uint8_t *rend = p + rlen;
		assert_int_equal(*p++, 0);
		int64_t ts_delta = r_var(&p, rend);
		int64_t off_delta = r_var(&p, rend);
		t->offset = b->base_offset + off_delta;
		t->timestamp = b->attributes & 8 ? b->max_ts :
		    b->base_ts + ts_delta;
		t->key_len = r_var(&p, rend);
		assert_true(t->key_len >= -1 && t->key_len <= rend - p);
		t->key = t->key_len < 0 ? NULL : (const char *)p;
		p += t->key_len > 0 ? t->key_len : 0;
		t->value_len = r_var(&p, rend);
		assert_true(t->value_len >= -1 && t->value_len <= rend - p);
		t->value = t->value_len < 0 ? NULL : (const char *)p;
		p += t->value_len > 0 ? t->value_len : 0;
		t->nhdr = (int)r_var(&p, rend);
		assert_true(t->nhdr >= 0 && t->nhdr <= 4);
		for (int h = 0; h < t->nhdr; h++) {
			struct kref_hdr *x = &t->hdr[h];
			x->key_len = r_var(&p, rend);
			assert_true(x->key_len >= 0 && x->key_len <= rend - p);
			x->key = (const char *)p;
			p += x->key_len;
			x->value_len = r_var(&p, rend);
			assert_true(x->value_len >= -1 &&
			            x->value_len <= rend - p);
			x->value = x->value_len < 0 ? NULL : (const char *)p;
			p += x->value_len > 0 ? x->value_len : 0;
		}
		assert_ptr_equal(p, rend);
		n++;
	}
	assert_int_equal(n, b->count);
	return n;
}
