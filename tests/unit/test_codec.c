/*
 * test_codec.c - the batch builder, the RecordBatch v2 encoder and the
 * decoder: round trips, CRC coverage, sizes, and hostile input.
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
#include "crc32c.h"
#include "varint.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Compares two byte strings that may be null (len -1). */
static void
assert_bytes(const void *got, ssize_t got_len, const void *want,
             ssize_t want_len)
{
	assert_int_equal(got_len, want_len);
	if (want_len > 0)
		assert_memory_equal(got, want, (size_t)want_len);
	if (want_len == 0)
		assert_non_null(got);
	if (want_len < 0)
		assert_null(got);
}

static void
assert_record(const mq_record *got, const mq_record *want)
{
	assert_bytes(got->key, got->key_len, want->key, want->key_len);
	assert_bytes(got->value, got->value_len, want->value, want->value_len);
	assert_int_equal(got->header_count, want->header_count);
	for (size_t i = 0; i < want->header_count; i++) {
		const mq_header *g = &got->headers[i], *w = &want->headers[i];
		assert_bytes(g->key, (ssize_t)g->key_len, w->key,
		             (ssize_t)w->key_len);
		assert_bytes(g->value, g->value_len, w->value, w->value_len);
	}
}

/*
 * Encodes the n records with the given compression and timestamp type,
 * checks the header and CRC, and returns the batch (caller frees).
 */
static mq_batch *
encode(const mq_record *recs, size_t n, int compression, int ts_type,
       int64_t append_time, mq_batch_info *info)
{
	mq_batch *b;

	assert_int_equal(mq_batch_new(compression, &b), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mq_batch_add(b, &recs[i]), 0);
	assert_int_equal(mq_batch_count(b), n);
	assert_int_equal(mq_batch_encode(b, ts_type, append_time), 0);
	assert_int_equal(mq_batch_parse_header(b->enc, b->enc_len, info), 1);
	assert_int_equal((size_t)info->length + 12, b->enc_len);
	assert_int_equal(info->magic, 2);
	assert_int_equal(info->count, (int32_t)n);
	assert_int_equal(info->last_offset, (int64_t)n - 1);
	assert_int_equal(info->compression, compression);
	assert_int_equal(info->timestamp_type, ts_type);
	assert_int_equal(info->producer_id, -1);
	assert_int_equal(info->producer_epoch, -1);
	assert_int_equal(info->base_sequence, -1);
	assert_true(mq_batch_check_crc(b->enc, b->enc_len));
	if (compression == MQ_COMPRESSION_NONE)
		assert_int_equal(mq_batch_bytes(b), b->enc_len);
	return b;
}

/* Decodes buf and compares every record with recs. */
static void
decode_check(const uint8_t *buf, size_t len, const mq_record *recs,
             size_t n, int64_t base_offset)
{
	mq_batch_info info;
	mq_rec_iter it;
	mq_record rec;

	memset(&it, 0, sizeof it);
	assert_int_equal(mq_batch_parse_header(buf, len, &info), 1);
	assert_int_equal(mq_rec_iter_start(&it, buf, len, &info), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(mq_rec_iter_next(&it, &rec), 1);
		assert_int_equal(rec.offset, base_offset + (int64_t)i);
		assert_record(&rec, &recs[i]);
		if (info.timestamp_type == MQ_TS_CREATE) {
			assert_int_equal(rec.timestamp, recs[i].timestamp);
			assert_int_equal(rec.timestamp_type, MQ_TS_CREATE);
		} else {
			assert_int_equal(rec.timestamp, info.max_timestamp);
			assert_int_equal(rec.timestamp_type, MQ_TS_LOG_APPEND);
		}
	}
	assert_int_equal(mq_rec_iter_next(&it, &rec), 0);
	assert_int_equal(mq_rec_iter_next(&it, &rec), 0);
	mq_rec_iter_free(&it);
}

static uint8_t all_bytes[256];

static const mq_header hdrs1[] = {
	{ "trace", 5, "abc", 3 },
	{ "null", 4, NULL, -1 },
	{ "", 0, "", 0 },
	{ "bin", 3, all_bytes, 256 },
};

static const mq_record sample[] = {
	{ .timestamp = 1700000000000, .key = "k1", .key_len = 2,
	  .value = "hello", .value_len = 5 },
	{ .timestamp = 1700000000005, .key = NULL, .key_len = -1,
	  .value = "no key", .value_len = 6 },
	{ .timestamp = 1699999999000, .key = "tomb", .key_len = 4,
	  .value = NULL, .value_len = -1 },
	{ .timestamp = 1700000000001, .key = "", .key_len = 0,
	  .value = "", .value_len = 0 },
	{ .timestamp = 1700000000002, .key = all_bytes, .key_len = 256,
	  .value = all_bytes, .value_len = 256, .headers = hdrs1,
	  .header_count = NELEM(hdrs1) },
	{ .timestamp = 0, .key = NULL, .key_len = -1, .value = NULL,
	  .value_len = -1 },
};

static int
setup(void **state)
{
	for (int i = 0; i < 256; i++)
		all_bytes[i] = (uint8_t)i;
	return 0;
}

static void
round_trip(int compression, int ts_type)
{
	mq_batch_info info;
	mq_batch *b = encode(sample, NELEM(sample), compression, ts_type,
	                     1800000000000, &info);

	assert_int_equal(info.base_timestamp, sample[0].timestamp);
	assert_int_equal(info.max_timestamp, ts_type == MQ_TS_CREATE ?
	                 1700000000005 : 1800000000000);
	decode_check(b->enc, b->enc_len, sample, NELEM(sample), 0);

	/* Patching the base offset keeps the CRC valid. */
	mq_batch_set_base_offset(b->enc, 1234567890123);
	assert_true(mq_batch_check_crc(b->enc, b->enc_len));
	decode_check(b->enc, b->enc_len, sample, NELEM(sample),
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
	assert_int_equal(mq_batch_add(b, &sample[1]), 0);
	assert_int_equal(mq_batch_encode(b, ts_type, 1800000000000), 0);
	decode_check(b->enc, b->enc_len, &sample[1], 1, 0);
	assert_int_equal(mq_batch_parse_header(b->enc, b->enc_len,
	                                       &info), 1);
	assert_int_equal(info.base_timestamp, sample[1].timestamp);
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
	mq_batch *b = encode(sample, 3, MQ_COMPRESSION_GZIP, MQ_TS_CREATE, 0,
	                     &info);
	uint8_t *want = encoded_copy(b);
	size_t len = b->enc_len;

	/* Compressed ahead, the batch encodes to the same bytes. */
	mq_batch_reset(b);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(mq_batch_add(b, &sample[i]), 0);
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_compress(b), 0); /* nothing new: no-op */
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_int_equal(b->enc_len, len);
	assert_memory_equal(b->enc, want, len);

	/* A record added afterwards is compressed with the others. */
	assert_int_equal(mq_batch_add(b, &sample[3]), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	decode_check(b->enc, b->enc_len, sample, 4, 0);

	/* Uncompressed after all: the records, not the compressed bytes. */
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_set_compression(b, MQ_COMPRESSION_NONE), 0);
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_int_equal(b->enc_len, mq_batch_bytes(b));
	decode_check(b->enc, b->enc_len, sample, 4, 0);

	/* An empty batch has nothing to compress; a reset drops the
	 * compressed bytes. */
	assert_int_equal(mq_batch_set_compression(b, MQ_COMPRESSION_GZIP), 0);
	assert_int_equal(mq_batch_compress(b), 0);
	mq_batch_reset(b);
	assert_int_equal(mq_batch_compress(b), 0);
	assert_int_equal(mq_batch_add(b, &sample[1]), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	decode_check(b->enc, b->enc_len, &sample[1], 1, 0);
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
		recs[i].value = all_bytes;
		recs[i].value_len = i % 257 == 256 ? -1 : i % 257;
		recs[i].headers = i % 3 ? &h : NULL;
		recs[i].header_count = i % 3 ? 1 : 0;
	}
	for (int c = 0; c <= 1; c++) {
		mq_batch_info info;
		mq_batch *b = encode(recs, N, c, MQ_TS_CREATE, 0, &info);
		assert_int_equal(info.base_timestamp, recs[0].timestamp);
		decode_check(b->enc, b->enc_len, recs, N, 0);
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
	for (size_t i = 0; i < NELEM(sample); i++) {
		mq_batch *b;
		mq_record r = sample[i];
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
	mq_record v200 = { .key_len = -1, .value = all_bytes,
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
	mq_batch *b = encode(recs, 4, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
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
	decode_check(b->enc, b->enc_len, recs, 4, 0);
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
	mq_batch *b = encode(recs, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
	                     &info);

	assert_int_equal(info.max_timestamp, 5300);
	assert_int_equal(b->enc_len, MQ_BATCH_HEADER + 10 + sizeof want);
	assert_memory_equal(b->enc + MQ_BATCH_HEADER + 10, want, sizeof want);
	decode_check(b->enc, b->enc_len, recs, 2, 0);
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

/* Every bit of 21..end is covered by the CRC; 0..20 are not. */
static void
test_crc_coverage(void **state)
{
	mq_batch_info info;
	mq_batch *b = encode(sample, 3, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
	                     &info);
	uint8_t *d = b->enc;
	size_t len = b->enc_len;

	for (size_t i = MQ_BATCH_CRC_START; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			d[i] ^= (uint8_t)(1u << bit);
			assert_false(mq_batch_check_crc(d, len));
			d[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(mq_batch_check_crc(d, len));
	/* baseOffset, batchLength, leader epoch, magic are outside. */
	for (size_t i = 0; i < 17; i++) {
		d[i] ^= 0x5a;
		assert_true(mq_batch_check_crc(d, len));
		d[i] ^= 0x5a;
	}
	/* A flip in the stored CRC itself makes it mismatch. */
	for (size_t i = 17; i < 21; i++) {
		d[i] ^= 0x01;
		assert_false(mq_batch_check_crc(d, len));
		d[i] ^= 0x01;
	}
	assert_int_equal(info.crc, mq_crc32c(0, d + 21, len - 21));
	assert_false(mq_batch_check_crc(d, 20));
	mq_batch_free(b);
}

static void
test_parse_header(void **state)
{
	mq_batch_info info;
	mq_batch *b = encode(sample, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
	                     &info);
	uint8_t h[MQ_BATCH_HEADER];

	memcpy(h, b->enc, sizeof h);
	for (size_t n = 0; n < MQ_BATCH_HEADER; n++)
		assert_int_equal(mq_batch_parse_header(h, n, &info), 0);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info), 1);
	h[16] = 1;
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info),
	                 MQ_ECORRUPT);
	h[16] = 2;
	mq_put_be32(h + 8, 48);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info),
	                 MQ_ECORRUPT);
	mq_put_be32(h + 8, 49);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info), 1);
	mq_put_be32(h + 8, 0xffffffff);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info),
	                 MQ_ECORRUPT);
	mq_put_be32(h + 8, 49);
	mq_put_be32(h + 23, 0xffffffff);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info),
	                 MQ_ECORRUPT);
	mq_put_be32(h + 23, 1);
	mq_put_be32(h + 57, 0x80000000);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info),
	                 MQ_ECORRUPT);
	mq_put_be32(h + 57, 2);
	/* Attribute bits. */
	mq_put_be16(h + 21, 0x3b);
	assert_int_equal(mq_batch_parse_header(h, sizeof h, &info), 1);
	assert_int_equal(info.compression, 3);
	assert_int_equal(info.timestamp_type, MQ_TS_LOG_APPEND);
	assert_int_equal(info.transactional, 1);
	assert_int_equal(info.control, 1);
	assert_int_equal(info.attributes, 0x3b);
	mq_batch_free(b);
}

/* Codecs mq cannot decode fail with MQ_ECODEC and a clear message. */
static void
test_unsupported_codec(void **state)
{
	static const char *names[] = { "snappy", "lz4", "zstd", "unknown",
	                               "unknown", "unknown" };
	mq_batch_info info;
	mq_batch *b = encode(sample, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0,
	                     &info);
	mq_rec_iter it;
	char want[200];

	memset(&it, 0, sizeof it);
	mq_batch_set_base_offset(b->enc, 1234);
	for (int c = 2; c <= 7; c++) {
		mq_put_be16(b->enc + 21, (uint16_t)c);
		assert_int_equal(mq_batch_parse_header(b->enc, b->enc_len,
		                                       &info), 1);
		assert_int_equal(mq_rec_iter_start(&it, b->enc,
		                                   b->enc_len, &info),
		                 MQ_ECODEC);
		snprintf(want, sizeof want, "batch at offset 1234 uses "
		         "compression codec %d (%s), which mq cannot decode",
		         c, names[c - 2]);
		assert_string_equal(mq_errmsg(), want);
	}
	mq_rec_iter_free(&it);
	mq_batch_free(b);
}

/*
 * Hand-built batches for the hostile tests: a header around the given
 * record bytes, with recordCount count and a correct CRC.
 */
static uint8_t hostile[4096];

static size_t
wrap(const uint8_t *recs, size_t n, int32_t count, int16_t attr)
{
	memset(hostile, 0, MQ_BATCH_HEADER);
	memcpy(hostile + MQ_BATCH_HEADER, recs, n);
	size_t len = MQ_BATCH_HEADER + n;
	mq_put_be32(hostile + 8, (uint32_t)(len - 12));
	hostile[16] = 2;
	mq_put_be16(hostile + 21, (uint16_t)attr);
	mq_put_be32(hostile + 23, count > 0 ? (uint32_t)count - 1 : 0);
	mq_put_be32(hostile + 57, (uint32_t)count);
	mq_put_be32(hostile + 17, mq_crc32c(0, hostile + 21, len - 21));
	return len;
}

/* Iterates the batch; returns the first non-1 result. */
static int
iterate(const uint8_t *buf, size_t len, int *nrec)
{
	mq_batch_info info;
	mq_rec_iter it;
	mq_record rec;
	int rc;

	memset(&it, 0, sizeof it);
	*nrec = 0;
	rc = mq_batch_parse_header(buf, len, &info);
	if (rc != 1)
		return rc == 0 ? MQ_ECORRUPT : rc;
	rc = mq_rec_iter_start(&it, buf, len, &info);
	while (rc >= 0 && (rc = mq_rec_iter_next(&it, &rec)) == 1)
		(*nrec)++;
	mq_rec_iter_free(&it);
	return rc;
}

static int
iterate_records(const uint8_t *recs, size_t n, int32_t count)
{
	int nrec;
	size_t len = wrap(recs, n, count, 0);
	return iterate(hostile, len, &nrec);
}

static void
test_hostile_records(void **state)
{
	/* A good record: length 7, key null, value "a", no headers. */
	static const uint8_t good[] = { 0x0e, 0, 0, 0, 0x01, 0x02, 'a', 0 };
	uint8_t r[64];

	assert_int_equal(iterate_records(good, sizeof good, 1), 0);
	assert_int_equal(iterate_records(good, 0, 0), 0);

	/* Count too high, too low. */
	memcpy(r, good, 8);
	memcpy(r + 8, good, 8);
	assert_int_equal(iterate_records(r, 16, 2), 0);
	assert_int_equal(iterate_records(r, 16, 3), MQ_ECORRUPT);
	assert_int_equal(iterate_records(r, 16, 1), MQ_ECORRUPT);
	assert_int_equal(iterate_records(r, 8, 2), MQ_ECORRUPT);
	assert_int_equal(iterate_records(r, 16, 1000), MQ_ECORRUPT);
	assert_non_null(strstr(mq_errmsg(), "record count 1000 exceeds"));
	assert_int_equal(iterate_records(r, 16, 1), MQ_ECORRUPT);
	assert_non_null(strstr(mq_errmsg(), "record count too low"));
	/* One long record and a count of 2 that the size allows. */
	static const uint8_t longrec[] = { 0x1c, 0, 0, 0, 0x01, 0x10,
	                                   1, 2, 3, 4, 5, 6, 7, 8, 0 };
	assert_int_equal(iterate_records(longrec, sizeof longrec, 1), 0);
	assert_int_equal(iterate_records(longrec, sizeof longrec, 2),
	                 MQ_ECORRUPT);
	assert_non_null(strstr(mq_errmsg(), "record count too high"));
	/* Truncated: every prefix of the record. */
	for (size_t n = 1; n < 8; n++)
		assert_int_equal(iterate_records(good, n, 1), MQ_ECORRUPT);

	/* Record length too big, too small, negative. */
	memcpy(r, good, 8);
	r[0] = 0x10;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	r[0] = 0x0c;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	r[0] = 0x01;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	/* A length that fits the batch but not the fields: extra byte. */
	static const uint8_t extra[] = { 0x10, 0, 0, 0, 0x01, 0x02, 'a', 0, 0 };
	assert_int_equal(iterate_records(extra, sizeof extra, 1), MQ_ECORRUPT);

	/* Value length too big, negative below -1. */
	memcpy(r, good, 8);
	r[5] = 0x04;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	r[5] = 0x03; /* -2 */
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	/* Key length negative below -1, and too big. */
	memcpy(r, good, 8);
	r[4] = 0x05;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	r[4] = 0x7e;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	/* Header count negative, too big. */
	memcpy(r, good, 8);
	r[7] = 0x01;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	r[7] = 0x02;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	/* Header with null key, and key length past the record. */
	static const uint8_t nullkey[] = { 0x12, 0, 0, 0, 0x01, 0x02, 'a',
	                                   0x02, 0x01, 0x00 };
	assert_int_equal(iterate_records(nullkey, sizeof nullkey, 1),
	                 MQ_ECORRUPT);
	static const uint8_t hdrok[] = { 0x12, 0, 0, 0, 0x01, 0x02, 'a',
	                                 0x02, 0x00, 0x01 };
	assert_int_equal(iterate_records(hdrok, sizeof hdrok, 1), 0);
	static const uint8_t hdrlong[] = { 0x12, 0, 0, 0, 0x01, 0x02, 'a',
	                                   0x02, 0x06, 0x01 };
	assert_int_equal(iterate_records(hdrlong, sizeof hdrlong, 1),
	                 MQ_ECORRUPT);
	static const uint8_t hvlong[] = { 0x12, 0, 0, 0, 0x01, 0x02, 'a',
	                                  0x02, 0x00, 0x04 };
	assert_int_equal(iterate_records(hvlong, sizeof hvlong, 1),
	                 MQ_ECORRUPT);
	static const uint8_t hvneg[] = { 0x12, 0, 0, 0, 0x01, 0x02, 'a',
	                                 0x02, 0x00, 0x03 };
	assert_int_equal(iterate_records(hvneg, sizeof hvneg, 1),
	                 MQ_ECORRUPT);

	/* Overlong varints: 6-byte varint length, 11-byte varlong delta. */
	static const uint8_t vlen[] = { 0x8e, 0x80, 0x80, 0x80, 0x80, 0x00,
	                                0, 0, 0, 0x01, 0x02, 'a', 0 };
	assert_int_equal(iterate_records(vlen, sizeof vlen, 1), MQ_ECORRUPT);
	uint8_t vts[32] = { 0x22, 0 };
	for (int i = 0; i < 10; i++)
		vts[2 + i] = 0x80;
	vts[12] = 0x00;
	vts[13] = 0; vts[14] = 0x01; vts[15] = 0x02; vts[16] = 'a';
	vts[17] = 0;
	assert_int_equal(iterate_records(vts, 18, 1), MQ_ECORRUPT);
	/* A 5-byte varint above 32 bits for the key length. */
	static const uint8_t vbig[] = { 0x16, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	                                0x7f, 0x02, 'a', 0 };
	assert_int_equal(iterate_records(vbig, sizeof vbig, 1), MQ_ECORRUPT);
	/* A varint cut by the end of the record. */
	static const uint8_t vcut[] = { 0x0c, 0, 0, 0, 0x01, 0x80, 0x80, 0x01 };
	assert_int_equal(iterate_records(vcut, sizeof vcut, 1), MQ_ECORRUPT);
	/* Offset delta beyond lastOffsetDelta, and negative. */
	memcpy(r, good, 8);
	r[3] = 0x04;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);
	r[3] = 0x01;
	assert_int_equal(iterate_records(r, 8, 1), MQ_ECORRUPT);

	/* A batch length that disagrees with the bytes given. */
	int nrec;
	size_t len = wrap(good, 8, 1, 0);
	mq_batch_info info;
	mq_rec_iter it;
	memset(&it, 0, sizeof it);
	assert_int_equal(mq_batch_parse_header(hostile, len, &info), 1);
	assert_int_equal(mq_rec_iter_start(&it, hostile, len - 1, &info),
	                 MQ_ECORRUPT);
	mq_rec_iter_free(&it);
	assert_int_equal(iterate(hostile, len, &nrec), 0);
	assert_int_equal(nrec, 1);
}

/* Damaged, truncated and oversized gzip data are corrupt, not crashes. */
static void
test_hostile_gzip(void **state)
{
	mq_batch_info info;
	mq_batch *b = encode(sample, NELEM(sample), MQ_COMPRESSION_GZIP,
	                     MQ_TS_CREATE, 0, &info);
	size_t clen = b->enc_len - MQ_BATCH_HEADER;
	uint8_t *z = malloc(clen);
	int nrec;

	assert_non_null(z);
	memcpy(z, b->enc + MQ_BATCH_HEADER, clen);
	size_t len = wrap(z, clen, (int32_t)NELEM(sample), 1);
	assert_int_equal(iterate(hostile, len, &nrec), 0);
	assert_int_equal(nrec, (int)NELEM(sample));
	/* Truncated streams. */
	for (size_t n = 0; n < clen; n += 3) {
		len = wrap(z, n, (int32_t)NELEM(sample), 1);
		assert_int_equal(iterate(hostile, len, &nrec), MQ_ECORRUPT);
	}
	/* Damaged bytes: corrupt or, by luck, still decodable; never more. */
	for (size_t i = 0; i < clen; i++) {
		z[i] ^= 0x55;
		len = wrap(z, clen, (int32_t)NELEM(sample), 1);
		int rc = iterate(hostile, len, &nrec);
		assert_true(rc == 0 || rc == MQ_ECORRUPT);
		z[i] ^= 0x55;
	}
	/* Wrong record count inside a gzip batch. */
	len = wrap(z, clen, (int32_t)NELEM(sample) - 1, 1);
	assert_int_equal(iterate(hostile, len, &nrec), MQ_ECORRUPT);
	free(z);
	mq_batch_free(b);

	/* A bomb: 100 MiB of zeros compress to about 100 KiB. */
	size_t big = (size_t)100 << 20;
	uint8_t *zeros = calloc(1, big);
	assert_non_null(zeros);
	mq_record r = { .timestamp = 1, .key_len = -1, .value = zeros,
	                .value_len = (ssize_t)big };
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_GZIP, &b), 0);
	assert_int_equal(mq_batch_add(b, &r), 0);
	free(zeros);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	assert_true(b->enc_len < (size_t)1 << 20);
	assert_int_equal(iterate(b->enc, b->enc_len, &nrec), MQ_ECORRUPT);
	assert_non_null(strstr(mq_errmsg(), "inflate to more than"));
	mq_batch_free(b);
}

/* Concatenated gzip members decode as one stream, as in Java. */
static void
test_gzip_members(void **state)
{
	mq_batch_info info;
	mq_batch *b1 = encode(sample, 3, MQ_COMPRESSION_GZIP, MQ_TS_CREATE, 0,
	                      &info);
	mq_batch *b2, *all = encode(sample, 6, MQ_COMPRESSION_NONE,
	                            MQ_TS_CREATE, 0, &info);
	int nrec;

	/*
	 * The second member holds records 3..5 as "all" encodes them, with
	 * offset and timestamp deltas against the same base as b1's.
	 */
	const uint8_t *p = all->records.data + MQ_BATCH_HEADER;
	for (int i = 0; i < 3; i++) {
		int32_t l = 0;
		p = mq_get_varint(p, p + MQ_VARINT_MAX, &l);
		p += l;
	}
	size_t off3 = (size_t)(p - all->records.data);
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_GZIP, &b2), 0);
	assert_int_equal(mq_buf_reserve(&b2->records, MQ_BATCH_HEADER +
	                                all->records.len - off3), 0);
	memcpy(b2->records.data + MQ_BATCH_HEADER, p, all->records.len - off3);
	b2->records.len = MQ_BATCH_HEADER + all->records.len - off3;
	b2->count = 3;
	assert_int_equal(mq_batch_encode(b2, MQ_TS_CREATE, 0), 0);

	size_t l1 = b1->out.len - MQ_BATCH_HEADER;
	size_t l2 = b2->out.len - MQ_BATCH_HEADER;
	uint8_t *z = malloc(l1 + l2);
	assert_non_null(z);
	memcpy(z, b1->out.data + MQ_BATCH_HEADER, l1);
	memcpy(z + l1, b2->out.data + MQ_BATCH_HEADER, l2);
	size_t len = wrap(z, l1 + l2, 6, 1);
	mq_put_be64(hostile + 27, (uint64_t)sample[0].timestamp);
	mq_put_be32(hostile + 17, mq_crc32c(0, hostile + 21, len - 21));
	decode_check(hostile, len, sample, 6, 0);
	assert_int_equal(iterate(hostile, len, &nrec), 0);
	assert_int_equal(nrec, 6);
	/* Garbage after the first member is corrupt. */
	memset(z + l1, 0x42, l2);
	len = wrap(z, l1 + l2, 3, 1);
	assert_int_equal(iterate(hostile, len, &nrec), MQ_ECORRUPT);
	free(z);
	mq_batch_free(b1);
	mq_batch_free(b2);
	mq_batch_free(all);
}

/* Random garbage after a valid header never crashes the iterator. */
static void
test_fuzz(void **state)
{
	uint64_t s = 0x243f6a8885a308d3ull;
	uint8_t recs[200];
	int nrec;

	for (int round = 0; round < 20000; round++) {
		size_t n = 0;
		for (; n < sizeof recs; n++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			recs[n] = (uint8_t)s;
		}
		n = (size_t)(s >> 40) % sizeof recs;
		int32_t count = (int32_t)((s >> 20) % 8);
		int rc = iterate_records(recs, n, count);
		assert_true(rc == 0 || rc == MQ_ECORRUPT);
		(void)nrec;
	}
	/* Mutations of a real batch. */
	mq_batch_info info;
	mq_batch *b = encode(sample, NELEM(sample), MQ_COMPRESSION_NONE,
	                     MQ_TS_CREATE, 0, &info);
	size_t rl = b->enc_len - MQ_BATCH_HEADER;
	uint8_t *copy = malloc(rl);
	assert_non_null(copy);
	for (size_t i = 0; i < rl; i++) {
		for (int v = 0; v < 256; v += 17) {
			memcpy(copy, b->enc + MQ_BATCH_HEADER, rl);
			copy[i] = (uint8_t)v;
			int rc = iterate_records(copy, rl, (int32_t)NELEM(sample));
			assert_true(rc == 0 || rc == MQ_ECORRUPT);
		}
	}
	free(copy);
	mq_batch_free(b);
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
		cmocka_unit_test(test_crc_coverage),
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_unsupported_codec),
		cmocka_unit_test(test_hostile_records),
		cmocka_unit_test(test_hostile_gzip),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
