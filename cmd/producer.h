/*
 * producer.h - batching records per partition and appending them, for
 * mq-produce.
 *
 * Records handed to producer_add are copied into a per-partition buffer and
 * appended as one RecordBatch per partition when the batch is full, when
 * the caller flushes (end of input, linger time up) or when the buffers of
 * all partitions together grow past a memory bound.  A batch that turns out
 * too big for max.message.bytes is split and appended in parts.  With an
 * offsets stream the producer prints "PARTITION\tOFFSET" per record, in the
 * order the records were added, once they are durable under the sync mode.
 */
#ifndef MQ_PRODUCER_H
#define MQ_PRODUCER_H

#include <stdint.h>
#include <stdio.h>

#include "mq.h"

enum { PR_SYNC_EXIT, PR_SYNC_BATCH, PR_SYNC_NONE };

struct pr_part;

struct producer {
	mq_topic *topic;
	int32_t nparts;
	int compression;        /* MQ_COMPRESSION_NONE or _GZIP */
	int sync_mode;          /* PR_SYNC_* */
	int append_flags;       /* 0 or MQ_NOWAIT */
	size_t batch_cap;       /* min(batch bytes, max.message.bytes) */
	FILE *offsets;          /* NULL, or where offsets are printed */

	struct pr_part *parts;
	mq_batch *batch;        /* built from a partition's buffer */
	mq_batch *plain;        /* uncompressed, for a lone record that
				 * grows past the limit when compressed */
	mq_header *hdrs;        /* scratch for rebuilding records */
	size_t hdrs_cap;
	size_t pending_bytes;   /* bytes buffered over all partitions */
	size_t pending_records;
	size_t retained;        /* capacity of all partition buffers */
	int64_t pending_since;  /* monotonic ms of the oldest pending record */
	int synced;             /* nothing appended since the last mq_sync */

	int32_t *queue;         /* partitions of records not yet printed */
	size_t qhead, qlen, qcap;

	int64_t failed_recno;   /* the record a failed append could not take */
	int out_errno;          /* errno of a failed write to offsets */
};

struct producer_opts {
	int compression;
	int sync_mode;
	int append_flags;
	size_t batch_bytes;
	FILE *offsets;
};

/*
 * producer_open prepares pr to append to topic t.  Fails with MQ_ECODEC if
 * the compression cannot be written, or MQ_ENOMEM.
 */
int producer_open(struct producer *pr, mq_topic *t,
                  const struct producer_opts *o);

/*
 * producer_add queues record r (whose mq_record_bytes() is rbytes, already
 * checked against max.message.bytes) for partition p; recno numbers it for
 * messages.  It may append batches on the way, so it fails as
 * producer_flush does; on failure the record may or may not be queued.
 */
int producer_add(struct producer *pr, int32_t p, const mq_record *r,
                 size_t rbytes, int64_t recno);

/*
 * producer_flush appends every pending batch, syncs under PR_SYNC_BATCH,
 * and prints the offsets that are durable.  Returns 0, or the MQ_E* code of
 * the failed append or sync (mq_errmsg() tells why; for MQ_ETOOBIG
 * pr->failed_recno names the record), or MQ_EIO with pr->out_errno set if
 * writing offsets failed.
 */
int producer_flush(struct producer *pr);

/*
 * producer_deadline returns the monotonic time in ms by which pending
 * records must be appended given a linger of linger_ms, or -1 if nothing is
 * pending.
 */
int64_t producer_deadline(const struct producer *pr, int64_t linger_ms);

/*
 * producer_finish flushes, syncs (unless PR_SYNC_NONE), prints the
 * remaining offsets and flushes the offsets stream.  Fails as
 * producer_flush does.
 */
int producer_finish(struct producer *pr);

/* producer_close frees everything pr holds; it appends nothing. */
void producer_close(struct producer *pr);

/* mono_ms returns CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);

#endif
