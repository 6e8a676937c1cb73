/*
 * test_interop.c - libmq's codec against an independent reading of
 * Kafka's RecordBatch v2 specification.
 *
 * The independent side is kafka_ref.c, written from the spec alone: it
 * uses none of libmq's codec, varint or CRC code.  On top of that, one
 * batch is spelled out byte by byte below, so the tests do not rest only
 * on that encoder either.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "kafka_ref.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* ------------------------------------------------------------------ */
/* The records every test uses.                                        */

#define T0 1700000000000 /* 0x0000018bcfe56800 */

static const struct kref_rec three[3] = {
	{ .timestamp = T0, .key = "k0", .key_len = 2, .value = "v0",
	  .value_len = 2, .nhdr = 1, .hdr = { { "h", 1, "x", 1 } } },
	{ .timestamp = T0 + 250, .key = "k1", .key_len = 2, .value = NULL,
	  .value_len = -1 },
	{ .timestamp = T0 - 100, .key = NULL, .key_len = -1, .value = "hello",
	  .value_len = 5, .nhdr = 2,
	  .hdr = { { "a", 1, NULL, -1 }, { "", 0, "", 0 } } },
};

/*
 * The same three records at base offset 100, laid out by hand from the
 * spec.  104 bytes; the CRC-32C of bytes 21..103 is 0xc7e4728e.
 */
static const uint8_t literal[104] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, /* baseOffset 100 */
	0x00, 0x00, 0x00, 0x5c,         /* batchLength 92 = 104 - 12 */
	0x00, 0x00, 0x00, 0x00,         /* partitionLeaderEpoch 0 */
	0x02,                           /* magic 2 */
	0xc7, 0xe4, 0x72, 0x8e,         /* crc */
	0x00, 0x00,                     /* attributes: none, CreateTime */
	0x00, 0x00, 0x00, 0x02,         /* lastOffsetDelta 2 */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp T0 */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0xfa, /* maxTimestamp T0+250 */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId -1 */
	0xff, 0xff,                     /* producerEpoch -1 */
	0xff, 0xff, 0xff, 0xff,         /* baseSequence -1 */
	0x00, 0x00, 0x00, 0x03,         /* recordCount 3 */
	/* Record 0. */
	0x1c,                           /* length 14 */
	0x00,                           /* attributes */
	0x00,                           /* timestampDelta 0 */
	0x00,                           /* offsetDelta 0 */
	0x04, 'k', '0',                 /* key: length 2 */
	0x04, 'v', '0',                 /* value: length 2 */
	0x02,                           /* 1 header */
	0x02, 'h',                      /* header key: length 1 */
	0x02, 'x',                      /* header value: length 1 */
	/* Record 1. */
	0x12,                           /* length 9 */
	0x00,                           /* attributes */
	0xf4, 0x03,                     /* timestampDelta 250 (zig-zag 500) */
	0x02,                           /* offsetDelta 1 */
	0x04, 'k', '1',                 /* key: length 2 */
	0x01,                           /* value: null (-1) */
	0x00,                           /* no headers */
	/* Record 2. */
	0x22,                           /* length 17 */
	0x00,                           /* attributes */
	0xc7, 0x01,                     /* timestampDelta -100 (zig-zag 199) */
	0x04,                           /* offsetDelta 2 */
	0x01,                           /* key: null */
	0x0a, 'h', 'e', 'l', 'l', 'o',  /* value: length 5 */
	0x04,                           /* 2 headers */
	0x02, 'a', 0x01,                /* "a": null value */
	0x00, 0x00,                     /* "": empty value */
};

/* Compares a record decoded by libmq with the expected one. */
static void
assert_mq_record(const mq_record *r, const struct kref_rec *t,
                 int64_t offset, int64_t ts)
{
	assert_int_equal(r->offset, offset);
	assert_int_equal(r->timestamp, ts);
	assert_int_equal(r->key_len, t->key_len);
	if (t->key_len >= 0)
		assert_memory_equal(r->key, t->key, (size_t)t->key_len);
	else
		assert_null(r->key);
	assert_int_equal(r->value_len, t->value_len);
	if (t->value_len >= 0)
		assert_memory_equal(r->value, t->value, (size_t)t->value_len);
	else
		assert_null(r->value);
	assert_int_equal(r->header_count, t->nhdr);
	for (int h = 0; h < t->nhdr; h++) {
		const mq_header *g = &r->headers[h];
		assert_int_equal(g->key_len, t->hdr[h].key_len);
		assert_memory_equal(g->key, t->hdr[h].key,
		                    (size_t)t->hdr[h].key_len);
		assert_int_equal(g->value_len, t->hdr[h].value_len);
		if (t->hdr[h].value_len >= 0)
			assert_memory_equal(g->value, t->hdr[h].value,
			                    (size_t)t->hdr[h].value_len);
		else
			assert_null(g->value);
	}
}

/* Compares a record decoded independently with the expected one. */
static void
assert_t_record(const struct kref_rec *r, const struct kref_rec *t,
                int64_t offset, int64_t ts)
{
	assert_int_equal(r->offset, offset);
	assert_int_equal(r->timestamp, ts);
	assert_int_equal(r->key_len, t->key_len);
	if (t->key_len > 0)
		assert_memory_equal(r->key, t->key, (size_t)t->key_len);
	assert_int_equal(r->key == NULL, t->key_len < 0);
	assert_int_equal(r->value_len, t->value_len);
	if (t->value_len > 0)
		assert_memory_equal(r->value, t->value, (size_t)t->value_len);
	assert_int_equal(r->value == NULL, t->value_len < 0);
	assert_int_equal(r->nhdr, t->nhdr);
	for (int h = 0; h < t->nhdr; h++) {
		assert_int_equal(r->hdr[h].key_len, t->hdr[h].key_len);
		assert_memory_equal(r->hdr[h].key, t->hdr[h].key,
		                    (size_t)t->hdr[h].key_len);
		assert_int_equal(r->hdr[h].value_len, t->hdr[h].value_len);
		if (t->hdr[h].value_len > 0)
			assert_memory_equal(r->hdr[h].value, t->hdr[h].value,
			                    (size_t)t->hdr[h].value_len);
	}
}

/* Decodes buf with libmq and compares with recs (timestamps as given). */
static void
mq_decode_check(const uint8_t *buf, size_t len, const struct kref_rec *recs,
                int n, int64_t base_offset, int log_append, int64_t max_ts)
{
	mq_batch_info info;
	mq_rec_iter it;
	mq_record r;

	memset(&it, 0, sizeof it);
	assert_int_equal(mq_batch_parse_header(buf, len, &info), 1);
	assert_int_equal((size_t)info.length + 12, len);
	assert_true(mq_batch_check_crc(buf, len));
	assert_int_equal(info.base_offset, base_offset);
	assert_int_equal(info.last_offset, base_offset + n - 1);
	assert_int_equal(info.count, n);
	assert_int_equal(info.base_timestamp, recs[0].timestamp);
	assert_int_equal(info.max_timestamp, max_ts);
	assert_int_equal(info.timestamp_type,
	                 log_append ? MQ_TS_LOG_APPEND : MQ_TS_CREATE);
	assert_int_equal(info.producer_id, -1);
	assert_int_equal(info.producer_epoch, -1);
	assert_int_equal(info.base_sequence, -1);
	assert_int_equal(mq_rec_iter_start(&it, buf, len, &info), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(mq_rec_iter_next(&it, &r), 1);
		assert_mq_record(&r, &recs[i], base_offset + i,
		                 log_append ? max_ts : recs[i].timestamp);
		assert_int_equal(r.timestamp_type,
		                 log_append ? MQ_TS_LOG_APPEND : MQ_TS_CREATE);
	}
	assert_int_equal(mq_rec_iter_next(&it, &r), 0);
	mq_rec_iter_free(&it);
}

/* Builds the records with libmq's encoder; the caller frees the batch. */
static mq_batch *
mq_encode(const struct kref_rec *recs, int n, int compression, int ts_type,
          int64_t append_time)
{
	mq_batch *b;
	mq_header hs[4];

	assert_int_equal(mq_batch_new(compression, &b), 0);
	for (int i = 0; i < n; i++) {
		const struct kref_rec *t = &recs[i];
		for (int h = 0; h < t->nhdr; h++) {
			hs[h].key = t->hdr[h].key;
			hs[h].key_len = (size_t)t->hdr[h].key_len;
			hs[h].value = t->hdr[h].value;
			hs[h].value_len = (ssize_t)t->hdr[h].value_len;
		}
		mq_record r = {
			.timestamp = t->timestamp,
			.key = t->key, .key_len = (ssize_t)t->key_len,
			.value = t->value, .value_len = (ssize_t)t->value_len,
			.headers = hs, .header_count = (size_t)t->nhdr,
		};
		assert_int_equal(mq_batch_add(b, &r), 0);
	}
	assert_int_equal(mq_batch_encode(b, ts_type, append_time), 0);
	return b;
}

/* Decodes buf independently and compares with recs. */
static void
ind_decode_check(const uint8_t *buf, size_t len, const struct kref_rec *recs,
                 int n, int64_t base_offset, int16_t attributes,
                 int64_t max_ts)
{
	static struct kref_rec got[2000];
	struct kref_batch b;

	assert_int_equal(kref_decode(buf, len, &b, got, (int)NELEM(got)), n);
	assert_int_equal(b.base_offset, base_offset);
	assert_int_equal(b.epoch, 0);
	assert_int_equal(b.attributes, attributes);
	assert_int_equal(b.last_delta, n - 1);
	assert_int_equal(b.base_ts, recs[0].timestamp);
	assert_int_equal(b.max_ts, max_ts);
	assert_int_equal(b.producer_id, -1);
	assert_int_equal(b.producer_epoch, -1);
	assert_int_equal(b.base_seq, -1);
	for (int i = 0; i < n; i++)
		assert_t_record(&got[i], &recs[i], base_offset + i,
		                attributes & 8 ? max_ts : recs[i].timestamp);
}

/* ------------------------------------------------------------------ */
/* Tests.                                                              */

/* The literal batch is what the spec says, and libmq reads it. */
static void
test_literal_batch(void **state)
{
	static uint8_t buf[4096];

	/* The literal agrees with the independent CRC and encoder. */
	assert_int_equal(kref_crc32c((const uint8_t *)"123456789", 9),
	                 0xe3069283u);
	assert_int_equal(kref_be(literal + 17, 4),
	                 kref_crc32c(literal + 21, sizeof literal - 21));
	size_t n = kref_encode(buf, sizeof buf, three, 3, 100, 0, T0 + 250);
	assert_int_equal(n, sizeof literal);
	assert_memory_equal(buf, literal, sizeof literal);
	ind_decode_check(literal, sizeof literal, three, 3, 100, 0, T0 + 250);

	/* libmq decodes it with exactly the expected fields. */
	mq_decode_check(literal, sizeof literal, three, 3, 100, 0, T0 + 250);
	mq_batch_info info;
	assert_int_equal(mq_batch_parse_header(literal, sizeof literal, &info),
	                 1);
	assert_int_equal(info.length, 92);
	assert_int_equal(info.leader_epoch, 0);
	assert_int_equal(info.magic, 2);
	assert_int_equal(info.crc, 0xc7e4728eu);
	assert_int_equal(info.attributes, 0);
	assert_int_equal(info.compression, MQ_COMPRESSION_NONE);
	assert_int_equal(info.transactional, 0);
	assert_int_equal(info.control, 0);

	/* A leader epoch set by a broker is outside the CRC and ignored. */
	memcpy(buf, literal, sizeof literal);
	buf[15] = 7;
	assert_true(mq_batch_check_crc(buf, sizeof literal));
	assert_int_equal(mq_batch_parse_header(buf, sizeof literal, &info), 1);
	assert_int_equal(info.leader_epoch, 7);
	mq_decode_check(buf, sizeof literal, three, 3, 100, 0, T0 + 250);
}

/* libmq's encoder lays out the same bytes, and they decode independently. */
static void
test_libmq_encoder(void **state)
{
	mq_batch *b = mq_encode(three, 3, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0);

	mq_batch_set_base_offset(b->enc, 100);
	assert_int_equal(b->enc_len, sizeof literal);
	assert_memory_equal(b->enc, literal, sizeof literal);
	ind_decode_check(b->enc, b->enc_len, three, 3, 100, 0, T0 + 250);
	assert_int_equal(mq_record_bytes(&(mq_record){ .key = "k1",
	    .key_len = 2, .value_len = -1 }), 61 + 1 + 8);
	mq_batch_free(b);
}

/* gzip both ways: independent gzip into libmq, libmq gzip out. */
static void
test_gzip_both_ways(void **state)
{
	static uint8_t buf[4096];

	size_t n = kref_encode(buf, sizeof buf, three, 3, 5000, 1, T0 + 250);
	ind_decode_check(buf, n, three, 3, 5000, 1, T0 + 250);
	mq_decode_check(buf, n, three, 3, 5000, 0, T0 + 250);

	mq_batch *b = mq_encode(three, 3, MQ_COMPRESSION_GZIP, MQ_TS_CREATE, 0);
	assert_int_equal(b->enc[22], 1);
	mq_batch_set_base_offset(b->enc, 5000);
	ind_decode_check(b->enc, b->enc_len, three, 3, 5000, 1, T0 + 250);
	mq_batch_free(b);
}

/* LogAppendTime: bit 3, maxTimestamp is the append time for every record. */
static void
test_log_append_time(void **state)
{
	static uint8_t buf[4096];
	const int64_t at = T0 + 99999;

	for (int16_t c = 0; c <= 1; c++) {
		size_t n = kref_encode(buf, sizeof buf, three, 3, 7, 8 | c, at);
		mq_decode_check(buf, n, three, 3, 7, 1, at);

		mq_batch *b = mq_encode(three, 3, c, MQ_TS_LOG_APPEND, at);
		mq_batch_set_base_offset(b->enc, 7);
		ind_decode_check(b->enc, b->enc_len, three, 3, 7, 8 | c,
		                 at);
		mq_batch_free(b);
	}
}

/* Many records with multi-byte varints everywhere, both ways. */
static void
test_many_both_ways(void **state)
{
	enum { N = 1500 };
	static struct kref_rec recs[N];
	static char blob[70000];
	static uint8_t buf[1 << 22];

	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (char)(i * 131 + (i >> 9));
	for (int i = 0; i < N; i++) {
		struct kref_rec *t = &recs[i];
		memset(t, 0, sizeof *t);
		t->timestamp = T0 + (int64_t)(i % 11) * 987654321 -
		    (int64_t)(i % 5) * 100000;
		t->key = i % 9 ? blob + i : NULL;
		t->key_len = i % 9 ? i % 300 : -1;
		t->value = i % 13 ? blob + 2 * i : NULL;
		t->value_len = i % 13 ? (i * 37) % 600 : -1;
		if (i == 700) {
			t->value = blob;
			t->value_len = 66000; /* three-byte length */
		}
		t->nhdr = i % 5;
		for (int h = 0; h < t->nhdr; h++) {
			t->hdr[h].key = blob + h;
			t->hdr[h].key_len = 64 + h * 40;
			t->hdr[h].value = h == 2 ? NULL : blob + 3 * h;
			t->hdr[h].value_len = h == 2 ? -1 : 200 * h;
		}
	}
	int64_t max_ts = 0;
	for (int i = 0; i < N; i++)
		if (recs[i].timestamp > max_ts)
			max_ts = recs[i].timestamp;

	for (int16_t c = 0; c <= 1; c++) {
		size_t n = kref_encode(buf, sizeof buf, recs, N, 1LL << 40, c,
		                       max_ts);
		mq_decode_check(buf, n, recs, N, 1LL << 40, 0, max_ts);

		mq_batch *b = mq_encode(recs, N, c, MQ_TS_CREATE, 0);
		mq_batch_set_base_offset(b->enc, 1LL << 40);
		ind_decode_check(b->enc, b->enc_len, recs, N, 1LL << 40, c,
		                 max_ts);
		if (c == 0) {
			assert_int_equal(b->enc_len, n);
			assert_memory_equal(b->enc, buf, n);
		}
		mq_batch_free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_batch),
		cmocka_unit_test(test_libmq_encoder),
		cmocka_unit_test(test_gzip_both_ways),
		cmocka_unit_test(test_log_append_time),
		cmocka_unit_test(test_many_both_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
