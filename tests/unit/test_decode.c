/*
 * test_decode.c - the RecordBatch v2 decoder on damaged input: CRC
 * coverage, header checks, codecs mq cannot decode, hand-built hostile
 * records and gzip streams, concatenated gzip members, and fuzzing.
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
#include "testutil.h"
#include "varint.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* Every bit of 21..end is covered by the CRC; 0..20 are not. */
static void
test_crc_coverage(void **state)
{
	mq_batch_info info;
	mq_batch *b = tu_encode(tu_sample, 3, MQ_COMPRESSION_NONE, MQ_TS_CREATE,
	                        0, &info);
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
	mq_batch *b = tu_encode(tu_sample, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE,
	                        0, &info);
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
	mq_batch *b = tu_encode(tu_sample, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE,
	                        0, &info);
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
	/* One header, its key and value lengths (zig-zag) varied: a null
	 * key, a key or a value past the record, a value below -1. */
	static const struct { uint8_t klen, vlen; int want; } hdrs[] = {
		{ 0x01, 0x00, MQ_ECORRUPT },    /* key -1 */
		{ 0x00, 0x01, 0 },              /* key "", value null */
		{ 0x06, 0x01, MQ_ECORRUPT },    /* key 3 bytes */
		{ 0x00, 0x04, MQ_ECORRUPT },    /* value 2 bytes */
		{ 0x00, 0x03, MQ_ECORRUPT },    /* value -2 */
	};
	for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		const uint8_t h[] = { 0x12, 0, 0, 0, 0x01, 0x02, 'a', 0x02,
		                      hdrs[i].klen, hdrs[i].vlen };
		assert_int_equal(iterate_records(h, sizeof h, 1), hdrs[i].want);
	}

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
	mq_batch *b = tu_encode(tu_sample, NELEM(tu_sample),
	                        MQ_COMPRESSION_GZIP, MQ_TS_CREATE, 0, &info);
	size_t clen = b->enc_len - MQ_BATCH_HEADER;
	uint8_t *z = malloc(clen);
	int nrec;

	assert_non_null(z);
	memcpy(z, b->enc + MQ_BATCH_HEADER, clen);
	size_t len = wrap(z, clen, (int32_t)NELEM(tu_sample), 1);
	assert_int_equal(iterate(hostile, len, &nrec), 0);
	assert_int_equal(nrec, (int)NELEM(tu_sample));
	/* Truncated streams. */
	for (size_t n = 0; n < clen; n += 3) {
		len = wrap(z, n, (int32_t)NELEM(tu_sample), 1);
		assert_int_equal(iterate(hostile, len, &nrec), MQ_ECORRUPT);
	}
	/* Damaged bytes: corrupt or, by luck, still decodable; never more. */
	for (size_t i = 0; i < clen; i++) {
		z[i] ^= 0x55;
		len = wrap(z, clen, (int32_t)NELEM(tu_sample), 1);
		int rc = iterate(hostile, len, &nrec);
		assert_true(rc == 0 || rc == MQ_ECORRUPT);
		z[i] ^= 0x55;
	}
	/* Wrong record count inside a gzip batch. */
	len = wrap(z, clen, (int32_t)NELEM(tu_sample) - 1, 1);
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
	mq_batch *b1 = tu_encode(tu_sample, 3, MQ_COMPRESSION_GZIP,
	                         MQ_TS_CREATE, 0, &info);
	mq_batch *b2, *all = tu_encode(tu_sample, 6, MQ_COMPRESSION_NONE,
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
	mq_put_be64(hostile + 27, (uint64_t)tu_sample[0].timestamp);
	mq_put_be32(hostile + 17, mq_crc32c(0, hostile + 21, len - 21));
	tu_decode_check(hostile, len, tu_sample, 6, 0);
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
	mq_batch *b = tu_encode(tu_sample, NELEM(tu_sample),
	                        MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0, &info);
	size_t rl = b->enc_len - MQ_BATCH_HEADER;
	uint8_t *copy = malloc(rl);
	assert_non_null(copy);
	for (size_t i = 0; i < rl; i++) {
		for (int v = 0; v < 256; v += 17) {
			memcpy(copy, b->enc + MQ_BATCH_HEADER, rl);
			copy[i] = (uint8_t)v;
			int rc = iterate_records(copy, rl, (int32_t)NELEM(tu_sample));
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
		cmocka_unit_test(test_crc_coverage),
		cmocka_unit_test(test_parse_header),
		cmocka_unit_test(test_unsupported_codec),
		cmocka_unit_test(test_hostile_records),
		cmocka_unit_test(test_hostile_gzip),
		cmocka_unit_test(test_gzip_members),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, tu_codec_setup, NULL);
}
