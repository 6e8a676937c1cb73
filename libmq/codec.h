/*
 * codec.h - RecordBatch v2 (magic 2) encoding and decoding.
 *
 * Batch header layout (61 bytes, big-endian), after Kafka's spec:
 *
 *   0  baseOffset            int64
 *   8  batchLength           int32   bytes after this field
 *  12  partitionLeaderEpoch  int32
 *  16  magic                 int8    2
 *  17  crc                   uint32  CRC-32C of bytes 21..end
 *  21  attributes            int16
 *  23  lastOffsetDelta       int32
 *  27  baseTimestamp         int64
 *  35  maxTimestamp          int64
 *  43  producerId            int64
 *  51  producerEpoch         int16
 *  53  baseSequence          int32
 *  57  recordCount           int32
 *  61  records (compressed as a whole when attributes & 7 != 0)
 *
 * baseOffset and partitionLeaderEpoch are outside the CRC, so a batch can be
 * encoded and checksummed before its offset is known and the offset patched
 * in under the partition lock.
 */
#ifndef MQ_CODEC_H
#define MQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"

#define MQ_BATCH_HEADER 61       /* bytes of header before the records */
#define MQ_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define MQ_BATCH_CRC_START 21    /* CRC covers from here to the end */

#define MQ_ATTR_COMPRESSION 0x07
#define MQ_ATTR_TIMESTAMP_TYPE 0x08
#define MQ_ATTR_TRANSACTIONAL 0x10
#define MQ_ATTR_CONTROL 0x20
#define MQ_ATTR_DELETE_HORIZON 0x40

/* A growable byte buffer, reused to avoid allocation on hot paths. */
typedef struct mq_buf {
	uint8_t *data;
	size_t len, cap;
} mq_buf;

/* Buffers this large get their new pages populated when they grow. */
#define MQ_POPULATE_MIN ((size_t)64 << 10)

/*
 * mq_populate faults in the whole pages of len bytes at p with one
 * madvise(MADV_POPULATE_WRITE) instead of a page fault per page, which is
 * what makes a fresh buffer's first fill slow.  Advisory: failure (an old
 * kernel) is ignored.
 */
void mq_populate(void *p, size_t len);

/*
 * mq_buf_reserve makes room for len + extra bytes, doubling the capacity
 * as often as it takes; from MQ_POPULATE_MIN on, every page it adds is
 * populated, as a buffer that grows is about to be filled.
 * mq_buf_make_room makes the same room but populates nothing, for a
 * caller that populates only what it will use.  MQ_ENOMEM on failure.
 */
int mq_buf_reserve(mq_buf *b, size_t extra);
int mq_buf_make_room(mq_buf *b, size_t extra);
void mq_buf_free(mq_buf *b);

/*
 * The batch builder behind the public mq_batch: record bytes are encoded as
 * they are added (offset deltas 0, 1, ...; timestamp deltas against the
 * first record's timestamp), so encoding the batch later only writes the
 * header, compresses if asked, and computes the CRC.
 */
struct mq_batch {
	int compression;     /* MQ_COMPRESSION_NONE or _GZIP */
	mq_buf records;      /* MQ_BATCH_HEADER bytes of room for the header,
	                        then the encoded records, uncompressed (empty
	                        while the batch is empty) */
	mq_buf out;          /* the gzip-compressed batch */
	uint8_t *enc;        /* the encoded batch: in records or in out */
	size_t enc_len;
	int32_t count;
	int64_t base_timestamp, max_timestamp;
	void *zs;            /* z_stream kept for gzip, NULL until first use */
	int32_t packed;      /* out holds the first `packed` records gzipped
	                        (mq_batch_compress), or -1 */
};

/*
 * mq_batch_encode builds the complete batch, b->enc_len bytes at b->enc
 * (uncompressed: in place in b->records; gzip: in b->out): header with
 * baseOffset 0, partitionLeaderEpoch 0, producerId -1, producerEpoch -1,
 * baseSequence -1; the records compressed per b->compression; the CRC.  With
 * ts_type MQ_TS_LOG_APPEND the timestamp-type bit is set and maxTimestamp is
 * append_time (Kafka's broker does the same).  Returns MQ_ENOMEM, or
 * MQ_ECODEC if the compressor fails.  The batch's records are unchanged.
 */
int mq_batch_encode(mq_batch *b, int ts_type, int64_t append_time);

/* mq_batch_set_base_offset patches baseOffset into an encoded batch. */
static inline void mq_batch_set_base_offset(uint8_t *batch, int64_t off)
{
	for (int i = 7; i >= 0; i--) {
		batch[i] = (uint8_t)off;
		off = (int64_t)((uint64_t)off >> 8);
	}
}

/*
 * mq_batch_parse_header decodes the 61-byte header at buf (avail bytes
 * available) into *info (position left 0 for the caller to set), without
 * checking the CRC.  Returns 1 when the header is complete and sane,
 * 0 when avail < MQ_BATCH_HEADER (incomplete), MQ_ECORRUPT when the fields
 * cannot describe a v2 batch (magic != 2, batchLength < 49, lastOffsetDelta
 * < 0 or recordCount < 0).  The whole batch is
 * MQ_BATCH_LOG_OVERHEAD + info->length bytes.
 */
int mq_batch_parse_header(const uint8_t *buf, size_t avail,
                          mq_batch_info *info);

/*
 * mq_batch_check_crc returns 1 if the CRC stored in the complete batch at
 * buf (len bytes, len == 12 + batchLength) matches its contents, else 0.
 */
int mq_batch_check_crc(const uint8_t *buf, size_t len);

/*
 * A record iterator over one complete batch.  It decompresses into its own
 * reusable buffer and keeps a reusable header array, so iterating does not
 * allocate per record once the buffers have grown.
 */
typedef struct mq_rec_iter {
	const uint8_t *p, *end;   /* remaining record bytes */
	mq_batch_info info;
	int32_t remaining;        /* records still to return */
	mq_buf inflated;          /* decompressed records */
	mq_header *hdrs;
	size_t hdr_cap;
} mq_rec_iter;

/*
 * mq_rec_iter_start prepares it to return the records of the complete batch
 * at buf (len bytes, header already parsed into *info, CRC already checked
 * by the caller if it cares).  Decompresses when needed.  Returns MQ_ECODEC
 * for a codec other than none or gzip (message names codec and baseOffset),
 * MQ_ECORRUPT if the compressed data is damaged, MQ_ENOMEM.
 */
int mq_rec_iter_start(mq_rec_iter *it, const uint8_t *buf, size_t len,
                      const mq_batch_info *info);

/*
 * mq_rec_iter_next decodes the next record into *rec (pointers into the
 * batch or the iterator's buffers) and returns 1, 0 when the batch has
 * no more records, or MQ_ECORRUPT if a record's lengths or varints run past
 * the batch or the record count lies.  Offsets are baseOffset + offsetDelta;
 * timestamps baseTimestamp + delta, or maxTimestamp for LogAppendTime.
 */
int mq_rec_iter_next(mq_rec_iter *it, mq_record *rec);

/* mq_rec_iter_free frees the iterator's buffers. */
void mq_rec_iter_free(mq_rec_iter *it);

#endif
