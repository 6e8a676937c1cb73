/*
 * decode.c - RecordBatch v2 decoding: header, CRC, records, gzip.
 *
 * Everything here reads bytes that may come from a damaged or hostile
 * file.  Every length, varint and count is checked against the bytes that
 * are really there before it is used, and any lie is MQ_ECORRUPT; nothing
 * is read outside [buf, buf + len).
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "codec.h"
#include "crc32c.h"
#include "error.h"
#include "varint.h"

/*
 * The most bytes the records of one batch may inflate to.  A gzip stream
 * can expand about a thousandfold, so without a cap a small hostile batch
 * could ask for gigabytes.
 */
#define INFLATE_MAX ((size_t)64 << 20)

/*
 * The smallest record: six one-byte fields after its length (attributes,
 * timestamp delta, offset delta, key length, value length, header count),
 * so seven bytes with the length.
 */
#define RECORD_MIN_BODY 6
#define RECORD_MIN 7

static const char *const codec_names[8] = {
	"none", "gzip", "snappy", "lz4", "zstd", "unknown", "unknown",
	"unknown",
};

int mq_batch_parse_header(const uint8_t *buf, size_t avail,
                          mq_batch_info *info)
{
	if (avail < MQ_BATCH_HEADER)
		return 0;
	memset(info, 0, sizeof *info);
	info->base_offset = (int64_t)mq_be64(buf);
	info->length = (int32_t)mq_be32(buf + 8);
	info->leader_epoch = (int32_t)mq_be32(buf + 12);
	info->magic = (int8_t)buf[16];
	info->crc = mq_be32(buf + 17);
	info->attributes = (int16_t)mq_be16(buf + 21);
	int32_t last_delta = (int32_t)mq_be32(buf + 23);
	info->base_timestamp = (int64_t)mq_be64(buf + 27);
	info->max_timestamp = (int64_t)mq_be64(buf + 35);
	info->producer_id = (int64_t)mq_be64(buf + 43);
	info->producer_epoch = (int16_t)mq_be16(buf + 51);
	info->base_sequence = (int32_t)mq_be32(buf + 53);
	info->count = (int32_t)mq_be32(buf + 57);
	info->compression = info->attributes & MQ_ATTR_COMPRESSION;
	info->timestamp_type = info->attributes & MQ_ATTR_TIMESTAMP_TYPE ?
	    MQ_TS_LOG_APPEND : MQ_TS_CREATE;
	info->transactional = !!(info->attributes & MQ_ATTR_TRANSACTIONAL);
	info->control = !!(info->attributes & MQ_ATTR_CONTROL);
	info->last_offset =
	    (int64_t)((uint64_t)info->base_offset + (uint64_t)last_delta);

	if (info->magic != 2)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld has magic "
		               "%d, not 2 (only RecordBatch v2 is supported)",
		               (long long)info->base_offset, info->magic);
	if (info->length < MQ_BATCH_HEADER - MQ_BATCH_LOG_OVERHEAD)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld has length "
		               "%d, less than a batch header",
		               (long long)info->base_offset, info->length);
	if (last_delta < 0 || info->count < 0)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld has negative "
		               "lastOffsetDelta (%d) or recordCount (%d)",
		               (long long)info->base_offset, last_delta,
		               info->count);
	return 1;
}

int mq_batch_check_crc(const uint8_t *buf, size_t len)
{
	if (len < MQ_BATCH_HEADER)
		return 0;
	uint32_t crc = mq_crc32c(0, buf + MQ_BATCH_CRC_START,
	                         len - MQ_BATCH_CRC_START);
	return crc == mq_be32(buf + 17);
}

/*
 * inflate_records decompresses the gzip (or zlib) stream at in into
 * it->inflated.  Concatenated gzip members are accepted, as Java's
 * GZIPInputStream accepts them.  MQ_ECORRUPT for damaged data or output
 * beyond INFLATE_MAX, MQ_ENOMEM.
 */
static int inflate_records(mq_rec_iter *it, const uint8_t *in, size_t len)
{
	long long base = (long long)it->info.base_offset;
	z_stream zs;
	int rc = MQ_OK, zrc;

	memset(&zs, 0, sizeof zs);
	if (len > UINT32_MAX)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld: compressed "
		               "records too large", base);
	zrc = inflateInit2(&zs, 15 + 32);
	if (zrc != Z_OK)
		return mq_fail(zrc == Z_MEM_ERROR ? MQ_ENOMEM : MQ_ECODEC,
		               "batch at offset %lld: cannot start gzip "
		               "decompression (zlib error %d)", base, zrc);
	it->inflated.len = 0;
	size_t guess = len * 4 < 65536 ? 65536 : len * 4;
	if (guess > INFLATE_MAX)
		guess = INFLATE_MAX;
	if ((rc = mq_buf_reserve(&it->inflated, guess)) < 0)
		goto out;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	for (;;) {
		mq_buf *o = &it->inflated;
		if (o->len == o->cap) {
			if (o->len >= INFLATE_MAX + 1) {
				rc = mq_fail(MQ_ECORRUPT, "batch at offset %lld: "
				             "records inflate to more than %zu "
				             "bytes", base, INFLATE_MAX);
				goto out;
			}
			size_t more = o->cap;
			if (more > INFLATE_MAX + 1 - o->len)
				more = INFLATE_MAX + 1 - o->len;
			if ((rc = mq_buf_reserve(o, more)) < 0)
				goto out;
		}
		size_t room = o->cap - o->len;
		if (room > INFLATE_MAX + 1 - o->len)
			room = INFLATE_MAX + 1 - o->len;
		zs.next_out = o->data + o->len;
		zs.avail_out = (uInt)room;
		zrc = inflate(&zs, Z_NO_FLUSH);
		o->len += room - zs.avail_out;
		if (o->len > INFLATE_MAX) {
			rc = mq_fail(MQ_ECORRUPT, "batch at offset %lld: "
			             "records inflate to more than %zu bytes",
			             base, INFLATE_MAX);
			goto out;
		}
		if (zrc == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			if (inflateReset(&zs) != Z_OK) {
				rc = mq_fail(MQ_ECORRUPT, "batch at offset %lld: "
				             "damaged gzip data", base);
				goto out;
			}
			continue;
		}
		if (zrc == Z_MEM_ERROR) {
			rc = mq_fail(MQ_ENOMEM, "batch at offset %lld: out of "
			             "memory while decompressing", base);
			goto out;
		}
		if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
			continue;
		if (zrc != Z_OK || zs.avail_in == 0) {
			rc = mq_fail(MQ_ECORRUPT, "batch at offset %lld: %s gzip "
			             "data%s%s", base,
			             zrc == Z_OK || zrc == Z_BUF_ERROR ?
			             "truncated" : "damaged",
			             zs.msg ? ": " : "", zs.msg ? zs.msg : "");
			goto out;
		}
	}
out:
	inflateEnd(&zs);
	return rc;
}

int mq_rec_iter_start(mq_rec_iter *it, const uint8_t *buf, size_t len,
                      const mq_batch_info *info)
{
	long long base = (long long)info->base_offset;

	it->info = *info;
	it->remaining = 0;
	it->p = it->end = NULL;
	if (len < MQ_BATCH_HEADER || info->length < 0 ||
	    (size_t)info->length + MQ_BATCH_LOG_OVERHEAD != len)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld: length %d "
		               "does not match the %zu bytes given", base,
		               info->length, len);
	if (info->count < 0)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld: negative "
		               "record count", base);
	const uint8_t *rec = buf + MQ_BATCH_HEADER;
	size_t rlen = len - MQ_BATCH_HEADER;
	switch (info->compression) {
	case MQ_COMPRESSION_NONE:
		it->p = rec;
		it->end = rec + rlen;
		break;
	case MQ_COMPRESSION_GZIP: {
		int rc = inflate_records(it, rec, rlen);
		if (rc < 0)
			return rc;
		it->p = it->inflated.data;
		it->end = it->inflated.data + it->inflated.len;
		break;
	}
	default:
		return mq_fail(MQ_ECODEC, "batch at offset %lld uses "
		               "compression codec %d (%s), which mq cannot "
		               "decode", base, info->compression,
		               codec_names[info->compression & 7]);
	}
	/* A count the bytes cannot hold is a lie: fail before looping. */
	if ((size_t)info->count > (size_t)(it->end - it->p) / RECORD_MIN)
		return mq_fail(MQ_ECORRUPT, "batch at offset %lld: record "
		               "count %d exceeds what its %zu bytes can hold",
		               base, info->count, (size_t)(it->end - it->p));
	it->remaining = info->count;
	return MQ_OK;
}

/* corrupt records a record-level failure and returns MQ_ECORRUPT. */
static int corrupt(const mq_rec_iter *it, const char *why)
{
	return mq_fail(MQ_ECORRUPT, "batch at offset %lld: record %d of %d: %s",
	               (long long)it->info.base_offset,
	               it->info.count - it->remaining + 1, it->info.count, why);
}

/*
 * get_bytes reads a length varint (-1 for null) and that many bytes, all
 * before end, into *data and *len.  NULL on a bad varint, a length below
 * -1 or bytes running past end.
 */
static inline const uint8_t *get_bytes(const uint8_t *p, const uint8_t *end,
                                       const void **data, ssize_t *len)
{
	int32_t n;

	if (!(p = mq_get_varint(p, end, &n)))
		return NULL;
	if (n < 0) {
		if (n != -1)
			return NULL;
		*data = NULL;
		*len = -1;
		return p;
	}
	if ((size_t)n > (size_t)(end - p))
		return NULL;
	*data = p;
	*len = n;
	return p + n;
}

static int grow_headers(mq_rec_iter *it, size_t n)
{
	size_t cap = it->hdr_cap ? it->hdr_cap : 8;
	while (cap < n)
		cap *= 2;
	mq_header *h = realloc(it->hdrs, cap * sizeof *h);
	if (!h)
		return mq_fail(MQ_ENOMEM, "cannot allocate %zu record headers",
		               cap);
	it->hdrs = h;
	it->hdr_cap = cap;
	return MQ_OK;
}

int mq_rec_iter_next(mq_rec_iter *it, mq_record *rec)
{
	const uint8_t *p = it->p, *end = it->end, *rend;
	int32_t len, off_delta, nh;
	int64_t ts_delta;

	if (it->remaining <= 0) {
		if (p != end)
			return mq_fail(MQ_ECORRUPT, "batch at offset %lld: "
			               "%zu bytes left after its %d records "
			               "(record count too low)",
			               (long long)it->info.base_offset,
			               (size_t)(end - p), it->info.count);
		return 0;
	}
	if (p == end)
		return corrupt(it, "no bytes left (record count too high)");
	if (!(p = mq_get_varint(p, end, &len)))
		return corrupt(it, "bad record length");
	if (len < RECORD_MIN_BODY || (size_t)len > (size_t)(end - p))
		return corrupt(it, "record length out of range");
	rend = p + len;
	p++; /* attributes: unused in v2 records */
	if (!(p = mq_get_varlong(p, rend, &ts_delta)) ||
	    !(p = mq_get_varint(p, rend, &off_delta)))
		return corrupt(it, "bad timestamp or offset delta");
	if (off_delta < 0 || (uint64_t)off_delta >
	    (uint64_t)it->info.last_offset - (uint64_t)it->info.base_offset)
		return corrupt(it, "offset delta outside the batch");
	if (!(p = get_bytes(p, rend, &rec->key, &rec->key_len)))
		return corrupt(it, "bad key length");
	if (!(p = get_bytes(p, rend, &rec->value, &rec->value_len)))
		return corrupt(it, "bad value length");
	if (!(p = mq_get_varint(p, rend, &nh)) || nh < 0 ||
	    (size_t)nh > (size_t)(rend - p) / 2)
		return corrupt(it, "bad header count");
	if ((size_t)nh > it->hdr_cap && grow_headers(it, (size_t)nh) < 0)
		return MQ_ENOMEM;
	for (int32_t i = 0; i < nh; i++) {
		mq_header *h = &it->hdrs[i];
		const void *k;
		ssize_t klen;
		if (!(p = get_bytes(p, rend, &k, &klen)) || klen < 0)
			return corrupt(it, "bad header key length");
		h->key = k;
		h->key_len = (size_t)klen;
		if (!(p = get_bytes(p, rend, &h->value, &h->value_len)))
			return corrupt(it, "bad header value length");
	}
	if (p != rend)
		return corrupt(it, "record length does not match its fields");

	rec->headers = nh ? it->hdrs : NULL;
	rec->header_count = (size_t)nh;
	rec->offset = (int64_t)((uint64_t)it->info.base_offset +
	                        (uint64_t)off_delta);
	if (it->info.timestamp_type == MQ_TS_LOG_APPEND) {
		rec->timestamp = it->info.max_timestamp;
		rec->timestamp_type = MQ_TS_LOG_APPEND;
	} else {
		rec->timestamp = (int64_t)((uint64_t)it->info.base_timestamp +
		                           (uint64_t)ts_delta);
		rec->timestamp_type = MQ_TS_CREATE;
	}
	it->p = rend;
	it->remaining--;
	return 1;
}

void mq_rec_iter_free(mq_rec_iter *it)
{
	mq_buf_free(&it->inflated);
	free(it->hdrs);
	it->hdrs = NULL;
	it->hdr_cap = 0;
	it->p = it->end = NULL;
	it->remaining = 0;
}
