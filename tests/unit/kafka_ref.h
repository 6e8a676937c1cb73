/*
 * kafka_ref.h - an independent Kafka RecordBatch v2 (magic 2) encoder and
 * decoder, written from the Kafka specification alone and sharing no code
 * with libmq, for test_interop.c to check libmq's codec against.  Every
 * error is a cmocka assertion that fails the running test; nothing here is
 * thread-safe (the encoder and decoder work in static buffers).
 */
#ifndef MQ_KAFKA_REF_H
#define MQ_KAFKA_REF_H

#include <stdint.h>
#include <stddef.h>

/* kref_hdr: one record header; the bytes are borrowed, never copied. */
struct kref_hdr {
	const char *key;
	int64_t key_len;
	const char *value;
	int64_t value_len;   /* -1: null */
};

/* kref_rec: one record; the bytes are borrowed, never copied. */
struct kref_rec {
	int64_t offset;      /* filled by the decoder */
	int64_t timestamp;
	const char *key;
	int64_t key_len;     /* -1: null */
	const char *value;
	int64_t value_len;   /* -1: null */
	int nhdr;
	struct kref_hdr hdr[4];
};

/* kref_batch: the batch header fields, as the decoder read them. */
struct kref_batch {
	int64_t base_offset;
	int32_t epoch;
	int16_t attributes;
	int32_t last_delta;
	int64_t base_ts, max_ts;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_seq;
	int32_t count;
};

/* kref_crc32c returns the CRC-32C (Castagnoli) of the n bytes at p,
 * computed bit by bit; it cannot fail. */
uint32_t kref_crc32c(const uint8_t *p, size_t n);

/* kref_be returns the n bytes at p (1 to 8, not bounds-checked) read as a
 * big-endian unsigned integer; it cannot fail. */
uint64_t kref_be(const uint8_t *p, int n);

/*
 * kref_encode lays out recs[0..n-1] (n >= 1) as one batch at base_offset
 * with the given attributes (compression none or 1, gzip) and maxTimestamp
 * max_ts, no producer, into the caller's buffer out (cap bytes), and
 * returns its size; it fails the test if the batch does not fit.
 */
size_t kref_encode(uint8_t *out, size_t cap, const struct kref_rec *recs,
                   int n, int64_t base_offset, int16_t attributes,
                   int64_t max_ts);

/*
 * kref_decode decodes the batch of exactly len bytes at buf into *b and
 * recs (at most max), checking the CRC and every length, and returns the
 * record count, failing the test on anything malformed; the records' bytes
 * are borrowed from buf, or for gzip from a static buffer that the next
 * call overwrites.
 */
int kref_decode(const uint8_t *buf, size_t len, struct kref_batch *b,
                struct kref_rec *recs, int max);

#endif
