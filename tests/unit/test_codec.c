/*
 * test_codec.c - the batch builder and the RecordBatch v2 encoder: round
 * trips, compressing ahead, timestamps, codecs it refuses, record sizes,
 * the exact bytes of the straight-line path and of mq_batch_add_kv, and
 * reserved room.  The decoder's checks on damaged input are in
 * test_decode.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "testutil.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

static void
round_trip(int compression, int ts_type)
{
	mq_batch_info info;
	mq_batch *b = tu_encode(tu_sample, NELEM(tu_sample), compression,
	                        ts_type, 1800000000000, &info);

	assert_int_equal(info.base_timestamp, tu_sample[0].timestamp);
	assert_int_equal(info.max_timestamp, ts_type == MQ_TS_CREATE ?
	                 1700000000005 : 1800000000000);
	tu_decode_check(b->enc, b->enc_len, tu_sample, NELEM(tu_sample), 0);

	/* Patching the base offset keeps the CRC valid. */
	mq_batch_set_base_offset(b->enc, 1234567890123);
	assert_true(mq_batch_check_crc(b->enc, b->enc_len));
	tu_decode_check(b->enc, b->enc_len, tu_sample, NELEM(tu_sample),
	                1234567890123);

	/* Encoding twice gives the same bytes (buffers are reused). */
	size_t len = b->enc_len;
	uint8_t *copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, b->enc, len);
	mq_batch_set_base_offset(copy, 0);
	assert_int_equal(mq_batch_encode(b, ts_type, 1800000000000), 0);
	assert_int_equal(b->enc_len, len);
	assert_memory_equal(b->enc, copy, len);
	free(copy);

	/* After a reset the batch starts over. */
	mq_batch_reset(b);
	assert_int_equal(mq_batch_count(b), 0);
	assert_int_equal(mq_batch_bytes(b), MQ_BATCH_HEADER);
	assert_int_equal(mq_batch_encode(b, ts_type, 0), MQ_EINVAL);
	assert_int_equal(mq_batch_add(b, &tu_sample[1]), 0);
	assert_int_equal(mq_batch_encode(b, ts_type, 1800000000000), 0);
	tu_decode_check(b->enc, b->enc_len, &tu_sample[1], 1, 0);
	assert_int_equal(mq_batch_parse_header(b->enc, b->enc_len,
	                                       &info), 1);
	assert_int_equal(info.base_timestamp, tu_sample[1].timestamp);
	mq_batch_free(b);
}

static void
test_round_trip_plain(void **state)
{
	round_trip(MQ_COMPRESSION_NONE, MQ_TS_CREATE);
}

static void
test_round_trip_gzip(void **state)
{
	round_trip(MQ_COMPRESSION_GZIP, MQ_TS_CREATE);
}

/* Copies the encoded batch, base offset zeroed; the caller frees it. */
static uint8_t *
encoded_copy(const mq_batch *b)
{
	uint8_t *copy = malloc(b->enc_len);

	assert_non_null(copy);
	memcpy(copy, b->enc, b->enc_len);
	mq_batch_set_base_offset(copy, 0);
	return copy;
}

static void
test_compress_ahead(void **state)
{
	mq_batch_info info;
	mq_batch *b = tu_encode(tu_sample, 3, MQ_COMPRESSION_GZIP, MQ_TS_CREATE,
	                        0, &info);
	uint8_t *want = encoded_copy(b);
	size_t len = b->enc_len;

	/* Compressed ahead, the batch encodes to the same bytes. */
	mq_batch_reset(b);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(mq_batch_add(b, &tu_sample[i]), 0);
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_compress(b), 0); /* nothing new: no-op */
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_int_equal(b->enc_len, len);
	assert_memory_equal(b->enc, want, len);

	/* A record added afterwards is compressed with the others. */
	assert_int_equal(mq_batch_add(b, &tu_sample[3]), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	tu_decode_check(b->enc, b->enc_len, tu_sample, 4, 0);

	/* Uncompressed after all: the records, not the compressed bytes. */
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_set_compression(b, MQ_COMPRESSION_NONE), 0);
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_int_equal(b->enc_len, mq_batch_bytes(b));
	tu_decode_check(b->enc, b->enc_len, tu_sample, 4, 0);

	/* An empty batch has nothing to compress; a reset drops the
	 * compressed bytes. */
	assert_int_equal(mq_batch_set_compression(b, MQ_COMPRESSION_GZIP), 0);
	assert_int_equal(mq_batch_compress(b), 0);
	mq_batch_reset(b);
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_add(b, &tu_sample[1]), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	tu_decode_check(b->enc, b->enc_len, &tu_sample[1], 1, 0);
	free(want);
	mq_batch_free(b);
}

static void
test_round_trip_log_append(void **state)
{
	round_trip(MQ_COMPRESSION_NONE, MQ_TS_LOG_APPEND);
	round_trip(MQ_COMPRESSION_GZIP, MQ_TS_LOG_APPEND);
}

/* Many records, with the buffers growing and the batch reused. */
static void
test_many_records(void **state)
{
	enum { N = 20000 };
	static mq_record recs[N];
	static char keys[N][16];
	mq_header h = { "h", 1, "v", 1 };

	for (int i = 0; i < N; i++) {
		int n = snprintf(keys[i], sizeof keys[i], "key-%d", i);
		recs[i].timestamp = 1600000000000 + (i % 7) * 1000 - i;
		recs[i].key = keys[i];
		recs[i].key_len = n;
		recs[i].value = tu_all_bytes;
		recs[i].value_len = i % 257 == 256 ? -1 : i % 257;
		recs[i].headers = i % 3 ? &h : NULL;
		recs[i].header_count = i % 3 ? 1 : 0;
	}
	for (int c = 0; c <= 1; c++) {
		mq_batch_info info;
		mq_batch *b = tu_encode(recs, N, c, MQ_TS_CREATE, 0, &info);
		assert_int_equal(info.base_timestamp, recs[0].timestamp);
		tu_decode_check(b->enc, b->enc_len, recs, N, 0);
		if (c == MQ_COMPRESSION_GZIP)
			assert_true(b->enc_len < mq_batch_bytes(b) / 2);
		mq_batch_free(b);
	}
}

/* A timestamp of -1 means now. */
static void
test_timestamp_now(void **state)
{
	mq_record r = { .timestamp = -1, .key_len = -1, .value = "x",
	                .value_len = 1 };
	mq_batch *b;
	mq_batch_info info;

	assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
	assert_int_equal(mq_batch_add(b, &r), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_int_equal(mq_batch_parse_header(b->enc, b->enc_len,
	                                       &info), 1);
	assert_true(info.base_timestamp > 1600000000000);
	assert_int_equal(info.base_timestamp, info.max_timestamp);
	r.timestamp = -2;
	assert_int_equal(mq_batch_add(b, &r), MQ_EINVAL);
	r.timestamp = 5;
	r.key_len = -2;
	assert_int_equal(mq_batch_add(b, &r), MQ_EINVAL);
	assert_int_equal(mq_batch_count(b), 1);
	mq_batch_free(b);
}

static void
test_new_rejects_codecs(void **state)
{
	mq_batch *b = (mq_batch *)1;

	assert_int_equal(mq_batch_new(MQ_COMPRESSION_LZ4, &b), MQ_ECODEC);
	assert_null(b);
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_SNAPPY, &b), MQ_ECODEC);
	assert_int_equal(mq_batch_new(7, &b), MQ_ECODEC);
	mq_batch_free(NULL);
}

/* mq_record_bytes is the size of the batch holding only that record. */
static void
test_record_bytes(void **state)
{
	for (size_t i = 0; i < NELEM(tu_sample); i++) {
		mq_batch *b;
		mq_record r = tu_sample[i];
		assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
		assert_int_equal(mq_batch_add(b, &r), 0);
		assert_int_equal(mq_record_bytes(&r), mq_batch_bytes(b));
		assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
		assert_int_equal(mq_record_bytes(&r), b->enc_len);
		mq_batch_free(b);
	}
	/* The smallest record: 61 + length + 6 one-byte fields. */
	mq_record empty = { .key_len = -1, .value_len = -1 };
	assert_int_equal(mq_record_bytes(&empty), 61 + 7);
	/* A value of 200 bytes needs a two-byte length varint. */
	mq_record v200 = { .key_len = -1, .value = tu_all_bytes,
	                   .value_len = 200 };
	assert_int_equal(mq_record_bytes(&v200), 61 + 2 + 5 + 2 + 200);
}

/* Decreasing timestamps give negative deltas; max is the largest. */
static void
test_negative_deltas(void **state)
{
	mq_record recs[4] = {
		{ .timestamp = 5000, .key_len = -1, .value_len = -1 },
		{ .timestamp = 1000, .key_len = -1, .value_len = -1 },
		{ .timestamp = 9000, .key_len = -1, .value_len = -1 },
		{ .timestamp = 0, .key_len = -1, .value_len = -1 },
	};
	mq_batch_info info;
	mq_batch *b = tu_encode(recs, 4, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
	                        &info);

	assert_int_equal(info.base_timestamp, 5000);
	assert_int_equal(info.max_timestamp, 9000);
	/* The second record's delta is -4000: zig-zag 7999 = 0xbf 0x3e. */
	const uint8_t *p = b->enc + MQ_BATCH_HEADER;
	assert_int_equal(p[0], 0x0c); /* length 6 */
	p += 7;
	assert_int_equal(p[0], 0x0e); /* length 7 */
	assert_int_equal(p[1], 0);    /* attributes */
	assert_int_equal(p[2], 0xbf);
	assert_int_equal(p[3], 0x3e);
	assert_int_equal(p[4], 0x02); /* offset delta 1 */
	tu_decode_check(b->enc, b->enc_len, recs, 4, 0);
	mq_batch_free(b);
}

/* A record after the first takes the straight-line path; its bytes are
 * exactly what the general path would write. */
static void
test_plain_bytes(void **state)
{
	mq_record recs[2] = {
		{ .timestamp = 5000, .key = "k", .key_len = 1,
		  .value = "vv", .value_len = 2 },
		{ .timestamp = 5300, .key = "k", .key_len = 1,
		  .value = "vv", .value_len = 2 },
	};
	static const uint8_t want[] = {
		0x14,           /* length 10 */
		0x00,           /* attributes */
		0xd8, 0x04,     /* timestamp delta 300 */
		0x02,           /* offset delta 1 */
		0x02, 'k',      /* key */
		0x04, 'v', 'v', /* value */
		0x00,           /* no headers */
	};
	mq_batch_info info;
	mq_batch *b = tu_encode(recs, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
	                        &info);

	assert_int_equal(info.max_timestamp, 5300);
	assert_int_equal(b->enc_len, MQ_BATCH_HEADER + 10 + sizeof want);
	assert_memory_equal(b->enc + MQ_BATCH_HEADER + 10, want, sizeof want);
	tu_decode_check(b->enc, b->enc_len, recs, 2, 0);
	mq_batch_free(b);
}

/*
 * mq_batch_add_kv encodes exactly what mq_batch_add does: short and long
 * keys and values (one-, two- and three-byte lengths), null and empty
 * ones, the batch's first record and records at other timestamps (which
 * take the general path).
 */
static void
test_add_kv(void **state)
{
	static char big[20000];
	struct { const char *k; ssize_t kl; const char *v; ssize_t vl;
	         int64_t ts; } kv[] = {
		{ "first", 5, "v", 1, 7000 },
		{ "k", 1, "vv", 2, 7000 },
		{ NULL, -1, "no key", 6, 7000 },
		{ "no value", 8, NULL, -1, 7000 },
		{ "", 0, "", 0, 7000 },
		{ big, 63, big, 64, 7000 },
		{ big, 8191, big, 8192, 7000 },
		{ big, 100, big, 20000, 7000 },
		{ "later", 5, "ts", 2, 7500 },
		{ "k", 1, "back at the first", 17, 7000 },
	};
	size_t n = sizeof kv / sizeof kv[0];
	mq_batch *a, *b;

	memset(big, 'b', sizeof big);
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &a), 0);
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
	for (size_t i = 0; i < n; i++) {
		mq_record r = { .timestamp = kv[i].ts, .key = kv[i].k,
		                .key_len = kv[i].kl, .value = kv[i].v,
		                .value_len = kv[i].vl };
		assert_int_equal(mq_batch_add(a, &r), 0);
		assert_int_equal(mq_batch_add_kv(b, kv[i].k, kv[i].kl, kv[i].v,
		                                 kv[i].vl, kv[i].ts), 0);
	}
	assert_int_equal(mq_batch_count(b), n);
	assert_int_equal(mq_batch_bytes(a), mq_batch_bytes(b));
	assert_int_equal(mq_batch_encode(a, MQ_TS_CREATE, 0), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_int_equal(a->enc_len, b->enc_len);
	assert_memory_equal(a->enc, b->enc, a->enc_len);
	mq_batch_free(a);
	mq_batch_free(b);
}

/* Bytes a record of "k" and vl value bytes adds to a batch, while the
 * batch holds under 64 records (its offset delta takes one byte). */
static size_t
kv_size(ssize_t vl)
{
	static char v[4000];
	mq_record r = { .key = "k", .key_len = 1, .value = v, .value_len = vl };

	return mq_record_bytes(&r) - MQ_BATCH_HEADER;
}

/*
 * fill_to adds records to b until its size is exactly limit (values of up
 * to 4000 bytes, then one that fits the rest), checking after each add
 * that the buffer did not move.
 */
static void
fill_to(mq_batch *b, size_t limit)
{
	static char v[4000];
	const uint8_t *data = b->records.data;

	while (mq_batch_bytes(b) < limit) {
		size_t room = limit - mq_batch_bytes(b);
		ssize_t vl = room > sizeof v ? (ssize_t)sizeof v : (ssize_t)room;

		/* The longest value that fits and leaves room for another
		 * record, or none. */
		while (vl > 0 && (kv_size(vl) > room ||
		       (kv_size(vl) < room && room - kv_size(vl) < kv_size(0))))
			vl--;
		assert_true(mq_batch_count(b) < 64);
		assert_int_equal(mq_batch_add_kv(b, "k", 1, v, vl, 1), 0);
		assert_ptr_equal(b->records.data, data);
	}
	assert_int_equal(mq_batch_bytes(b), limit);
}

/* Records within the reserved room are added without moving the buffer,
 * which mq_batch_reset keeps; a reservation that cannot be met fails and
 * changes nothing. */
static void
test_reserve(void **state)
{
	/* 8131: the room and the header are 8192 bytes, a power of two,
	 * which is what the buffer grows by. */
	static const size_t rooms[] = { 100, 8131, 30000 };
	mq_batch *b;

	for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
		assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
		assert_int_equal(mq_batch_reserve(b, rooms[i]), MQ_OK);
		const uint8_t *data = b->records.data;
		size_t cap = b->records.cap;
		for (int round = 0; round < 2; round++) {
			fill_to(b, MQ_BATCH_HEADER + rooms[i]);
			mq_batch_reset(b);
			assert_ptr_equal(b->records.data, data);
			assert_int_equal(b->records.cap, cap);
		}
		/* Room for more on a batch that holds records already. */
		assert_int_equal(mq_batch_add_kv(b, "k", 1, "v", 1, 1), 0);
		size_t before = mq_batch_bytes(b);
		assert_int_equal(mq_batch_reserve(b, 2 * cap), MQ_OK);
		fill_to(b, before + 2 * cap);

		/* Too much: MQ_ENOMEM, and the records stay. */
		size_t n = mq_batch_count(b), bytes = mq_batch_bytes(b);
		data = b->records.data;
		assert_int_equal(mq_batch_reserve(b, SIZE_MAX), MQ_ENOMEM);
		assert_int_equal(mq_batch_reserve(b, SIZE_MAX - 70), MQ_ENOMEM);
		assert_int_equal(mq_batch_count(b), n);
		assert_int_equal(mq_batch_bytes(b), bytes);
		assert_ptr_equal(b->records.data, data);
		mq_batch_free(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_plain),
		cmocka_unit_test(test_round_trip_gzip),
		cmocka_unit_test(test_compress_ahead),
		cmocka_unit_test(test_round_trip_log_append),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_timestamp_now),
		cmocka_unit_test(test_new_rejects_codecs),
		cmocka_unit_test(test_record_bytes),
		cmocka_unit_test(test_negative_deltas),
		cmocka_unit_test(test_plain_bytes),
		cmocka_unit_test(test_add_kv),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, tu_codec_setup, NULL);
}
