/*
 * codec.c - the batch builder and the RecordBatch v2 encoder.
 *
 * A record is encoded into the batch's record buffer the moment it is
 * added, with its offset delta (its index in the batch) and its timestamp
 * delta against the first record's timestamp.  Encoding the batch then
 * only lays down the 61-byte header in front of the records, compresses
 * them when asked, and computes the CRC-32C.  Both buffers and the gzip
 * stream live as long as the batch, so a producer that reuses one batch
 * allocates nothing per record and nothing per batch once warmed up.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "codec.h"
#include "crc32c.h"
#include "error.h"
#include "internal.h"
#include "varint.h"

/* Bytes a batch's records may take so that batchLength fits an int32. */
#define RECORDS_MAX ((size_t)INT32_MAX - (MQ_BATCH_HEADER - MQ_BATCH_LOG_OVERHEAD))

int mq_batch_new(int compression, mq_batch **out)
{
	*out = NULL;
	if (compression != MQ_COMPRESSION_NONE &&
	    compression != MQ_COMPRESSION_GZIP)
		return mq_fail(MQ_ECODEC,
		               "compression codec %d is not supported for writing",
		               compression);
	mq_batch *b = calloc(1, sizeof *b);
	if (!b)
		return mq_fail(MQ_ENOMEM, "cannot allocate a batch");
	b->compression = compression;
	b->base_timestamp = b->max_timestamp = -1;
	b->packed = -1;
	*out = b;
	return MQ_OK;
}

int mq_batch_set_compression(mq_batch *b, int compression)
{
	if (compression != MQ_COMPRESSION_NONE &&
	    compression != MQ_COMPRESSION_GZIP)
		return mq_fail(MQ_ECODEC,
		               "compression codec %d is not supported for writing",
		               compression);
	b->compression = compression;
	b->out.len = 0;
	b->packed = -1;
	b->enc = NULL;
	b->enc_len = 0;
	return MQ_OK;
}

void mq_batch_free(mq_batch *b)
{
	if (!b)
		return;
	if (b->zs) {
		deflateEnd(b->zs);
		free(b->zs);
	}
	mq_buf_free(&b->records);
	mq_buf_free(&b->out);
	free(b);
}

void mq_batch_reset(mq_batch *b)
{
	b->records.len = 0;
	b->out.len = 0;
	b->enc = NULL;
	b->enc_len = 0;
	b->count = 0;
	b->packed = -1;
	b->base_timestamp = b->max_timestamp = -1;
}

int mq_batch_reserve(mq_batch *b, size_t bytes)
{
	/* An add wants MQ_VARINT_MAX bytes more than the record takes (its
	 * length is written before it is known how long it is). */
	size_t slack = (b->records.len ? 0 : MQ_BATCH_HEADER) + MQ_VARINT_MAX;

	if (bytes > SIZE_MAX - slack)
		return mq_fail(MQ_ENOMEM, "cannot reserve %zu bytes", bytes);
	int rc = mq_buf_make_room(&b->records, slack + bytes);
	/* Only the room asked for: the capacity, a power of two, can be
	 * nearly twice that.  Pages already there cost only the walk. */
	if (rc == MQ_OK)
		mq_populate(b->records.data + b->records.len, slack + bytes);
	return rc;
}

size_t mq_batch_count(const mq_batch *b)
{
	return (size_t)b->count;
}

/* Bytes of encoded records, not counting the header room. */
static size_t records_len(const mq_batch *b)
{
	return b->records.len ? b->records.len - MQ_BATCH_HEADER : 0;
}

size_t mq_batch_bytes(const mq_batch *b)
{
	return MQ_BATCH_HEADER + records_len(b);
}

/*
 * record_ok says whether r can be encoded: lengths -1 or more that fit an
 * int32, and data behind every positive length.
 */
static inline int record_ok(const mq_record *r)
{
	if (r->key_len < -1 || r->key_len > INT32_MAX ||
	    r->value_len < -1 || r->value_len > INT32_MAX ||
	    r->header_count > INT32_MAX)
		return 0;
	if ((r->key_len > 0 && !r->key) || (r->value_len > 0 && !r->value) ||
	    (r->header_count > 0 && !r->headers))
		return 0;
	if (r->header_count == 0) /* the usual record: no loop */
		return 1;
	for (size_t i = 0; i < r->header_count; i++) {
		const mq_header *h = &r->headers[i];
		if (h->key_len > INT32_MAX || h->value_len < -1 ||
		    h->value_len > INT32_MAX || (h->key_len > 0 && !h->key) ||
		    (h->value_len > 0 && !h->value))
			return 0;
	}
	return 1;
}

/* len_size is the size of a length varint and the bytes it announces. */
static inline size_t len_size(int64_t len)
{
	if (len <= 0)
		return 1;
	if (len > INT32_MAX)
		return (size_t)INT32_MAX + 1; /* saturate: too large anyway */
	return mq_varint_size((int32_t)len) + (size_t)len;
}

/*
 * body_size returns the encoded size of r after its length varint, with the
 * given deltas, or SIZE_MAX when that exceeds what a batch can hold.
 */
static inline size_t body_size(const mq_record *r, int64_t ts_delta,
                               int32_t off_delta)
{
	size_t n = 1 + mq_varlong_size(ts_delta) + mq_varint_size(off_delta);

	n += len_size(r->key_len) + len_size(r->value_len);
	if (r->header_count == 0) /* the usual record: no loop */
		return n + 1 > RECORDS_MAX - MQ_VARINT_MAX ? SIZE_MAX : n + 1;
	if (r->header_count > RECORDS_MAX || !r->headers)
		return SIZE_MAX;
	n += mq_varint_size((int32_t)r->header_count);
	for (size_t i = 0; i < r->header_count; i++) {
		const mq_header *h = &r->headers[i];
		n += len_size(h->key_len > INT32_MAX ? INT64_MAX :
		              (int64_t)h->key_len);
		n += len_size(h->value_len);
		if (n > RECORDS_MAX)
			return SIZE_MAX;
	}
	return n > RECORDS_MAX - MQ_VARINT_MAX ? SIZE_MAX : n;
}

/* put_bytes writes a length varint and, unless it is -1 or 0, the bytes. */
static inline uint8_t *put_bytes(uint8_t *p, const void *data, ssize_t len)
{
	p = mq_put_varint(p, (int32_t)len);
	if (len > 0) {
		memcpy(p, data, (size_t)len);
		p += len;
	}
	return p;
}

/* Key and value lengths add_plain takes: two of them and the varints
 * cannot come near RECORDS_MAX. */
#define PLAIN_MAX ((ssize_t)1 << 28)

/*
 * add_plain is mq_batch_add for the usual record (a key and a value, no
 * headers), in straight-line code: a batch already started, a timestamp
 * not before its first, lengths under PLAIN_MAX and room in the buffer.
 * Returns 1 if it stored the record, 0 if it needs the general path (which
 * checks everything else).
 */
static inline int add_plain(mq_batch *b, const void *key, ssize_t kl,
                            const void *value, ssize_t vl, int64_t ts)
{
	int32_t n = b->count;

	if (n == 0 || n == INT32_MAX || ts < b->base_timestamp || kl < -1 ||
	    vl < -1 || kl >= PLAIN_MAX || vl >= PLAIN_MAX || (kl > 0 && !key) ||
	    (vl > 0 && !value))
		return 0;
	int64_t delta = ts - b->base_timestamp;
	size_t body = 2 + mq_varlong_size(delta) + mq_varint_size(n) +
	              len_size(kl) + len_size(vl);
	if (b->records.cap - b->records.len < MQ_VARINT_MAX + body)
		return 0;
	uint8_t *p = b->records.data + b->records.len;
	p = mq_put_varint(p, (int32_t)body);
	*p++ = 0; /* attributes */
	p = mq_put_varlong(p, delta);
	p = mq_put_varint(p, n);
	p = mq_put_varint(p, (int32_t)kl);
	if (kl > 0) {
		memcpy(p, key, (size_t)kl);
		p += kl;
	}
	p = mq_put_varint(p, (int32_t)vl);
	if (vl > 0) {
		memcpy(p, value, (size_t)vl);
		p += vl;
	}
	*p++ = 0; /* no headers */
	b->records.len = (size_t)(p - b->records.data);
	if (ts > b->max_timestamp)
		b->max_timestamp = ts;
	b->count = n + 1;
	return 1;
}

int mq_batch_add(mq_batch *b, const mq_record *r)
{
	if (!r->header_count && add_plain(b, r->key, r->key_len, r->value,
	                                  r->value_len, r->timestamp))
		return MQ_OK;
	if (b->count == INT32_MAX)
		return mq_fail(MQ_EINVAL, "batch already holds %d records",
		               INT32_MAX);
	int64_t ts = r->timestamp;
	if (ts == -1)
		ts = mq_now_ms();
	else if (ts < 0)
		return mq_fail(MQ_EINVAL, "invalid timestamp %lld",
		               (long long)ts);
	int64_t base = b->count ? b->base_timestamp : ts;
	int64_t delta = ts - base; /* both >= 0: cannot overflow */
	if (!record_ok(r))
		return mq_fail(MQ_EINVAL, "record %d: invalid key, value or "
		               "header length", b->count);
	size_t body = body_size(r, delta, b->count);
	if (body == SIZE_MAX)
		return mq_fail(MQ_ETOOBIG, "record %d is too large for a "
		               "RecordBatch", b->count);
	size_t need = MQ_VARINT_MAX + body;
	if (b->records.len == 0)
		need += MQ_BATCH_HEADER;
	if (b->records.cap - b->records.len < need) {
		int rc = mq_buf_reserve(&b->records, need);
		if (rc < 0)
			return rc;
	}
	if (b->records.len == 0)
		b->records.len = MQ_BATCH_HEADER; /* room for the header */

	uint8_t *p = b->records.data + b->records.len;
	p = mq_put_varint(p, (int32_t)body);
	*p++ = 0; /* attributes */
	p = mq_put_varlong(p, delta);
	p = mq_put_varint(p, b->count);
	p = put_bytes(p, r->key, r->key_len);
	p = put_bytes(p, r->value, r->value_len);
	p = mq_put_varint(p, (int32_t)r->header_count);
	for (size_t i = 0; i < r->header_count; i++) {
		const mq_header *h = &r->headers[i];
		p = put_bytes(p, h->key, (ssize_t)h->key_len);
		p = put_bytes(p, h->value, h->value_len);
	}
	b->records.len = (size_t)(p - b->records.data);

	if (b->count == 0)
		b->base_timestamp = b->max_timestamp = ts;
	else if (ts > b->max_timestamp)
		b->max_timestamp = ts;
	b->count++;
	return MQ_OK;
}

int mq_batch_add_kv(mq_batch *b, const void *key, ssize_t key_len,
                    const void *value, ssize_t value_len, int64_t timestamp)
{
	if (add_plain(b, key, key_len, value, value_len, timestamp))
		return MQ_OK;
	mq_record r = { .timestamp = timestamp, .key = key, .key_len = key_len,
	                .value = value, .value_len = value_len };
	return mq_batch_add(b, &r);
}

size_t mq_record_bytes(const mq_record *r)
{
	size_t body = body_size(r, 0, 0);
	if (body == SIZE_MAX)
		return SIZE_MAX;
	return MQ_BATCH_HEADER + mq_varint_size((int32_t)body) + body;
}

/*
 * gzip_records compresses b->records into b->out after the header as one
 * gzip stream.  MQ_ENOMEM, or MQ_ECODEC if zlib fails.
 */
static int gzip_records(mq_batch *b)
{
	z_stream *zs = b->zs;
	int zrc;

	if (!zs) {
		zs = calloc(1, sizeof *zs);
		if (!zs)
			return mq_fail(MQ_ENOMEM, "cannot allocate a gzip stream");
		zrc = deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
		                   15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (zrc != Z_OK) {
			free(zs);
			return mq_fail(zrc == Z_MEM_ERROR ? MQ_ENOMEM : MQ_ECODEC,
			               "cannot start gzip compression (zlib "
			               "error %d)", zrc);
		}
		b->zs = zs;
	} else if ((zrc = deflateReset(zs)) != Z_OK) {
		return mq_fail(MQ_ECODEC, "cannot restart gzip compression "
		               "(zlib error %d)", zrc);
	}

	/* zlib counts in uInt; feed and drain in pieces of at most 1 GiB. */
	size_t bound = deflateBound(zs, (uLong)records_len(b));
	int rc = mq_buf_reserve(&b->out, bound);
	if (rc < 0)
		return rc;
	const uint8_t *in = b->records.data + MQ_BATCH_HEADER;
	size_t in_left = records_len(b);
	do {
		size_t out_room = b->out.cap - b->out.len;
		if (out_room == 0) {
			if ((rc = mq_buf_reserve(&b->out, 65536)) < 0)
				return rc;
			out_room = b->out.cap - b->out.len;
		}
		size_t ichunk = in_left < (1u << 30) ? in_left : (1u << 30);
		size_t ochunk = out_room < (1u << 30) ? out_room : (1u << 30);
		zs->next_in = (Bytef *)in;
		zs->avail_in = (uInt)ichunk;
		zs->next_out = b->out.data + b->out.len;
		zs->avail_out = (uInt)ochunk;
		zrc = deflate(zs, ichunk == in_left ? Z_FINISH : Z_NO_FLUSH);
		in += ichunk - zs->avail_in;
		in_left -= ichunk - zs->avail_in;
		b->out.len += ochunk - zs->avail_out;
		if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
			return mq_fail(MQ_ECODEC, "gzip compression failed "
			               "(zlib error %d)", zrc);
	} while (zrc != Z_STREAM_END);
	return MQ_OK;
}

int mq_batch_compress(mq_batch *b)
{
	int rc;

	if (b->compression == MQ_COMPRESSION_NONE || b->count == 0 ||
	    b->packed == b->count)
		return MQ_OK;
	b->packed = -1;
	b->out.len = 0;
	if ((rc = mq_buf_reserve(&b->out, MQ_BATCH_HEADER)) < 0)
		return rc;
	b->out.len = MQ_BATCH_HEADER;
	if ((rc = gzip_records(b)) < 0)
		return rc;
	b->packed = b->count;
	return MQ_OK;
}

int mq_batch_encode(mq_batch *b, int ts_type, int64_t append_time)
{
	if (b->count == 0)
		return mq_fail(MQ_EINVAL, "cannot encode an empty batch");
	if (records_len(b) > RECORDS_MAX)
		return mq_fail(MQ_ETOOBIG, "batch of %zu bytes is too large "
		               "for a RecordBatch", mq_batch_bytes(b));

	int rc;
	if (b->compression == MQ_COMPRESSION_GZIP) {
		if ((rc = mq_batch_compress(b)) < 0)
			return rc;
		if (b->out.len - MQ_BATCH_HEADER > RECORDS_MAX)
			return mq_fail(MQ_ETOOBIG, "compressed batch is too "
			               "large for a RecordBatch");
		b->enc = b->out.data;
		b->enc_len = b->out.len;
	} else {
		/* Uncompressed: the header goes into the room kept for it. */
		b->enc = b->records.data;
		b->enc_len = b->records.len;
	}

	uint8_t *h = b->enc;
	int16_t attr = (int16_t)(b->compression & MQ_ATTR_COMPRESSION);
	int64_t max_ts = b->max_timestamp;
	if (ts_type == MQ_TS_LOG_APPEND) {
		attr |= MQ_ATTR_TIMESTAMP_TYPE;
		max_ts = append_time;
	}
	mq_put_be64(h + 0, 0);
	mq_put_be32(h + 8, (uint32_t)(b->enc_len - MQ_BATCH_LOG_OVERHEAD));
	mq_put_be32(h + 12, 0);
	h[16] = 2;
	mq_put_be16(h + 21, (uint16_t)attr);
	mq_put_be32(h + 23, (uint32_t)(b->count - 1));
	mq_put_be64(h + 27, (uint64_t)b->base_timestamp);
	mq_put_be64(h + 35, (uint64_t)max_ts);
	mq_put_be64(h + 43, (uint64_t)-1);
	mq_put_be16(h + 51, (uint16_t)-1);
	mq_put_be32(h + 53, (uint32_t)-1);
	mq_put_be32(h + 57, (uint32_t)b->count);
	mq_put_be32(h + 17, mq_crc32c(0, h + MQ_BATCH_CRC_START,
	                              b->enc_len - MQ_BATCH_CRC_START));
	return MQ_OK;
}
