/*
 * rawrec.h - turning the bytes of a framed record into an mq_record, for
 * mq-produce: the key split of -K, the fixed key of -k, -Z and the -H
 * headers; and the record's size in a batch of its own.  Shared by the
 * one-record-at-a-time path (mq-produce.c) and the parallel one
 * (parallel.c, lane.c), so that both cut records the same way.
 */
#ifndef MQ_RAWREC_H
#define MQ_RAWREC_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "framing.h"
#include "mq.h"

/* How raw bytes become a record. */
struct rawfmt {
	const char *kdelim;     /* -K, or NULL */
	size_t kdelim_len;
	const char *fixed_key;  /* -k, or NULL */
	size_t fixed_key_len;
	int empty_is_null;      /* -Z */
	mq_header *hdrs;        /* -H */
	size_t nhdrs;
};

/*
 * rawrec_split_at fills *r from the len bytes at p (len -1: a null
 * record) whose key delimiter (-K) starts at k, NULL if it has none: key
 * and value, headers, timestamp -1 (the producer's clock).  r points into
 * p afterwards.  It cannot fail.
 */
static inline void rawrec_split_at(const struct rawfmt *rf, const char *p,
                                   ssize_t len, const char *k,
                                   mq_record *r)
{
	*r = (mq_record){ .timestamp = -1, .key_len = -1, .value = p,
	                  .value_len = len };
	if (k) {
		r->key = p;
		r->key_len = k - p;
		r->value = k + rf->kdelim_len;
		r->value_len = len - r->key_len - (ssize_t)rf->kdelim_len;
	} else if (rf->fixed_key) {
		r->key = rf->fixed_key;
		r->key_len = (ssize_t)rf->fixed_key_len;
	}
	if (rf->empty_is_null && r->value_len == 0)
		r->value_len = -1;
	r->headers = rf->hdrs;
	r->header_count = rf->nhdrs;
}

/* rawrec_split is rawrec_split_at with the key delimiter looked for. */
static inline void rawrec_split(const struct rawfmt *rf, const char *p,
                                ssize_t len, mq_record *r)
{
	const char *k = rf->kdelim && len > 0 ?
	    frame_find(p, (size_t)len, rf->kdelim, rf->kdelim_len) : NULL;

	rawrec_split_at(rf, p, len, k, r);
}

/* Bytes of v as a zig-zag varint, as a record stores its lengths. */
static inline uint64_t zz_size(int64_t v)
{
	uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63), n = 1;

	while (z >= 0x80) {
		z >>= 7;
		n++;
	}
	return n;
}

/*
 * record_size is mq_record_bytes(r), worked out inline for the usual
 * record without headers: the batch header, the record's length varint,
 * attributes, two zero deltas, key and value with their length varints,
 * and the header count.
 */
static inline size_t record_size(const mq_record *r)
{
	uint64_t body;

	if (r->header_count)
		return mq_record_bytes(r);
	body = 3 + zz_size(r->key_len) + zz_size(r->value_len) + 1;
	body += (r->key_len > 0 ? (uint64_t)r->key_len : 0) +
	    (r->value_len > 0 ? (uint64_t)r->value_len : 0);
	return (size_t)(61 + zz_size((int64_t)body) + body);
}

#endif
