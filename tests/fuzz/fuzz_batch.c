/*
 * fuzz_batch.c - the RecordBatch v2 decoder over arbitrary bytes.
 *
 * Each input is run three ways:
 *
 *  1. as found: a sequence of batches walked as a segment scan walks them
 *     (header, CRC, records), including batches whose CRC fails, since
 *     mq-inspect's dump decodes those too;
 *  2. with batchLength, magic and CRC fixed up so the input gets past the
 *     header and CRC checks and the record decoder sees fuzzed records;
 *  3. when bit 1 of the low byte of partitionLeaderEpoch (which no
 *     decoder reads) is set, with the records of (2) gzip-compressed, so
 *     the gzip path decodes fuzzed plaintext.
 *
 * Every batch that decodes whole is re-encoded with the batch builder
 * (gzip when bit 2 of that byte is set) and decoded again; both decodings
 * must give the same keys, values and headers.
 */
#include <string.h>

#include <zlib.h>

#include "codec.h"
#include "crc32c.h"
#include "fuzz.h"
#include "varint.h"

/* The codec batches are re-encoded with (chosen per input). */
static int fb_rt_codec;

/* Checks the contract of one decoded record and reads all its bytes. */
static void fb_check_record(const mq_rec_iter *it, const mq_record *rec)
{
	const mq_batch_info *info = &it->info;
	uint64_t span = (uint64_t)info->last_offset -
	                (uint64_t)info->base_offset;

	FUZZ_CHECK((uint64_t)rec->offset - (uint64_t)info->base_offset <= span);
	FUZZ_CHECK(rec->key_len >= -1 && rec->value_len >= -1);
	FUZZ_CHECK(rec->key_len < 0 ? rec->key == NULL : rec->key != NULL);
	FUZZ_CHECK(rec->value_len < 0 ? rec->value == NULL :
	           rec->value != NULL);
	fuzz_touch(rec->key, rec->key_len);
	fuzz_touch(rec->value, rec->value_len);
	FUZZ_CHECK(rec->header_count == 0 || rec->headers != NULL);
	for (size_t i = 0; i < rec->header_count; i++) {
		const mq_header *h = &rec->headers[i];
		FUZZ_CHECK(h->value_len >= -1);
		fuzz_touch(h->key, (ssize_t)h->key_len);
		fuzz_touch(h->value, h->value_len);
	}
	if (info->timestamp_type == MQ_TS_LOG_APPEND)
		FUZZ_CHECK(rec->timestamp == info->max_timestamp);
}

static int fb_same(const void *a, ssize_t alen, const void *b, ssize_t blen)
{
	if (alen != blen)
		return 0;
	return alen <= 0 || memcmp(a, b, (size_t)alen) == 0;
}

/*
 * fb_roundtrip re-encodes the records of the batch at buf (already known
 * to decode whole) with the builder and checks that they decode the same.
 */
static void fb_roundtrip(const uint8_t *buf, size_t len,
                         const mq_batch_info *info, int compression)
{
	mq_rec_iter a = { 0 }, b = { 0 };
	mq_record ra, rb;
	mq_batch *batch;
	mq_batch_info binfo;

	FUZZ_CHECK(mq_batch_new(compression, &batch) == MQ_OK);
	FUZZ_CHECK(mq_rec_iter_start(&a, buf, len, info) == MQ_OK);
	while (mq_rec_iter_next(&a, &ra) == 1) {
		ra.timestamp = 0;
		FUZZ_CHECK(mq_batch_add(batch, &ra) == MQ_OK);
	}
	if (mq_batch_count(batch) == 0)
		goto out;
	FUZZ_CHECK(mq_batch_encode(batch, MQ_TS_CREATE, 0) == MQ_OK);
	FUZZ_CHECK(mq_batch_parse_header(batch->enc, batch->enc_len,
	                                 &binfo) == 1);
	FUZZ_CHECK((size_t)binfo.length + MQ_BATCH_LOG_OVERHEAD ==
	           batch->enc_len);
	FUZZ_CHECK(mq_batch_check_crc(batch->enc, batch->enc_len) == 1);
	FUZZ_CHECK(binfo.count == info->count);
	FUZZ_CHECK(mq_rec_iter_start(&a, buf, len, info) == MQ_OK);
	FUZZ_CHECK(mq_rec_iter_start(&b, batch->enc, batch->enc_len,
	                             &binfo) == MQ_OK);
	for (;;) {
		int x = mq_rec_iter_next(&a, &ra);
		int y = mq_rec_iter_next(&b, &rb);
		FUZZ_CHECK(x == y);
		if (x != 1)
			break;
		FUZZ_CHECK(fb_same(ra.key, ra.key_len, rb.key, rb.key_len));
		FUZZ_CHECK(fb_same(ra.value, ra.value_len, rb.value,
		                   rb.value_len));
		FUZZ_CHECK(ra.header_count == rb.header_count);
		for (size_t i = 0; i < ra.header_count; i++) {
			const mq_header *ha = &ra.headers[i], *hb = &rb.headers[i];
			FUZZ_CHECK(fb_same(ha->key, (ssize_t)ha->key_len, hb->key,
			                   (ssize_t)hb->key_len));
			FUZZ_CHECK(fb_same(ha->value, ha->value_len, hb->value,
			                   hb->value_len));
		}
	}
out:
	mq_rec_iter_free(&a);
	mq_rec_iter_free(&b);
	mq_batch_free(batch);
}

/*
 * fb_decode decodes every record of the complete batch at buf and checks
 * the iterator's contract; with roundtrip set a batch that decodes whole
 * is also re-encoded.  Returns the iterator's last result.
 */
static int fb_decode(mq_rec_iter *it, const uint8_t *buf, size_t len,
                     const mq_batch_info *info, int roundtrip)
{
	mq_record rec;
	int rc, n = 0;

	rc = mq_rec_iter_start(it, buf, len, info);
	if (rc < 0) {
		FUZZ_CHECK(rc == MQ_ECORRUPT || rc == MQ_ECODEC ||
		           rc == MQ_ENOMEM);
		FUZZ_CHECK(mq_errmsg()[0] != '\0');
		return rc;
	}
	while ((rc = mq_rec_iter_next(it, &rec)) == 1) {
		n++;
		FUZZ_CHECK(n <= info->count);
		fb_check_record(it, &rec);
	}
	if (rc < 0) {
		FUZZ_CHECK(rc == MQ_ECORRUPT || rc == MQ_ENOMEM);
		FUZZ_CHECK(mq_errmsg()[0] != '\0');
		return rc;
	}
	FUZZ_CHECK(rc == 0 && n == info->count);
	/* The end is sticky. */
	FUZZ_CHECK(mq_rec_iter_next(it, &rec) == 0);
	if (roundtrip)
		fb_roundtrip(buf, len, info, fb_rt_codec);
	return rc;
}

/* fb_scan walks data as a segment of batches, as the readers do. */
static void fb_scan(mq_rec_iter *it, const uint8_t *data, size_t size)
{
	size_t pos = 0;
	mq_batch_info info;

	while (pos < size) {
		int rc = mq_batch_parse_header(data + pos, size - pos, &info);
		if (rc <= 0) {
			FUZZ_CHECK(rc == 0 || rc == MQ_ECORRUPT);
			FUZZ_CHECK(rc == 0 ? size - pos < MQ_BATCH_HEADER : 1);
			return;
		}
		FUZZ_CHECK(info.magic == 2 && info.count >= 0);
		FUZZ_CHECK(info.length >= MQ_BATCH_HEADER -
		           MQ_BATCH_LOG_OVERHEAD);
		size_t whole = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
		if (whole > size - pos)
			return; /* incomplete: "not yet written" */
		int crc_ok = mq_batch_check_crc(data + pos, whole);
		FUZZ_CHECK(crc_ok == 0 || crc_ok == 1);
		fb_decode(it, data + pos, whole, &info, crc_ok);
		pos += whole;
	}
}

/*
 * fb_fixed copies data with batchLength, magic and CRC made right and
 * decodes it; with gzip set, the records are first gzip-compressed and
 * the compression bits set to gzip.
 */
static void fb_fixed(mq_rec_iter *it, const uint8_t *data, size_t size,
                     int gzip)
{
	size_t cap = size, len;
	uint8_t *buf;
	mq_batch_info info;

	if (size < MQ_BATCH_HEADER || size > INT32_MAX)
		return;
	if (gzip)
		cap = MQ_BATCH_HEADER + compressBound(size) + 32;
	buf = malloc(cap);
	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, MQ_BATCH_HEADER);
	if (gzip) {
		z_stream zs;
		memset(&zs, 0, sizeof zs);
		FUZZ_CHECK(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8,
		                        Z_DEFAULT_STRATEGY) == Z_OK);
		zs.next_in = (Bytef *)(data + MQ_BATCH_HEADER);
		zs.avail_in = (uInt)(size - MQ_BATCH_HEADER);
		zs.next_out = buf + MQ_BATCH_HEADER;
		zs.avail_out = (uInt)(cap - MQ_BATCH_HEADER);
		FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
		len = MQ_BATCH_HEADER + zs.total_out;
		deflateEnd(&zs);
		uint16_t attr = (uint16_t)((mq_be16(buf + 21) & ~7u) | 1u);
		mq_put_be16(buf + 21, attr);
	} else {
		memcpy(buf, data, size);
		len = size;
	}
	mq_put_be32(buf + 8, (uint32_t)(len - MQ_BATCH_LOG_OVERHEAD));
	buf[16] = 2;
	mq_put_be32(buf + 17, mq_crc32c(0, buf + MQ_BATCH_CRC_START,
	                                len - MQ_BATCH_CRC_START));
	int rc = mq_batch_parse_header(buf, len, &info);
	FUZZ_CHECK(rc == 1 || rc == MQ_ECORRUPT);
	if (rc == 1) {
		FUZZ_CHECK(mq_batch_check_crc(buf, len) == 1);
		fb_decode(it, buf, len, &info, 1);
	}
	free(buf);
}

int fuzz_batch(const uint8_t *data, size_t size)
{
	mq_rec_iter it;

	memset(&it, 0, sizeof it);
	fb_rt_codec = size > 15 && (data[15] & 4) ? MQ_COMPRESSION_GZIP :
	              MQ_COMPRESSION_NONE;
	fb_scan(&it, data, size);
	if (size >= MQ_BATCH_HEADER) {
		fb_fixed(&it, data, size, 0);
		if (data[15] & 2)
			fb_fixed(&it, data, size, 1);
	}
	mq_rec_iter_free(&it);
	return 0;
}

FUZZ_ENTRY(fuzz_batch)
