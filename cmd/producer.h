/*
 * producer.h - batching records per partition and appending them, for
 * mq-produce.
 *
 * Records handed to producer_add are encoded straight into the RecordBatch
 * of their partition (one copy of their bytes).  A full batch is handed to
 * the worker thread, which appends it (and fsyncs it under --sync=batch)
 * while the caller goes on reading and encoding: input parsing and the
 * write(2)s overlap.  Batches are also handed over when the caller flushes
 * (end of input, linger time up) or when the records pending over all
 * partitions grow past a memory bound.  A batch that compression made too
 * big for max.message.bytes is stored uncompressed (it always fits that
 * way: batches are cut by their uncompressed size).  With an offsets stream
 * the producer prints "PARTITION\tOFFSET" per record, in the order the
 * records were added, once they are durable under the sync mode.
 *
 * Only the caller's thread calls these functions; the writer (a step of
 * the worker thread, worker.h) is private to producer.c.  The topic handle
 * belongs to the writer between producer_open and producer_close except
 * while producer_flush, producer_finish or producer_stop hold it idle, so
 * the caller touches it only after one of those returned.
 */
#ifndef MQ_PRODUCER_H
#define MQ_PRODUCER_H

#include <stdint.h>
#include <stdio.h>

#include "mq.h"

enum { PR_SYNC_EXIT, PR_SYNC_BATCH, PR_SYNC_NONE };

struct pr_part;
struct pr_writer;
struct pr_slot;

struct producer {
	mq_topic *topic;
	int32_t nparts;
	int compression;        /* MQ_COMPRESSION_NONE or _GZIP */
	int sync_mode;          /* PR_SYNC_* */
	int append_flags;       /* 0 or MQ_NOWAIT */
	size_t batch_cap;       /* min(batch bytes, max.message.bytes) */
	FILE *offsets;          /* NULL, or where offsets are printed */
	int64_t now;            /* timestamp for records without one */

	struct pr_part *parts;
	struct pr_writer *w;
	struct pr_slot *free;   /* empty batches ready for reuse */
	size_t nfree;
	size_t retained;        /* high-water bytes of all live batches */
	size_t pending_bytes;   /* batch bytes filling over all partitions */
	size_t pending_records;
	int64_t pending_since;  /* monotonic ms of the oldest pending record */

	int32_t *queue;         /* partitions of records not yet printed */
	size_t qhead, qlen, qcap;

	int64_t submitted_at;   /* monotonic ms of the last batch handed over */
	int failed_rc;          /* the first failure (append or sync), or 0 */
	int64_t failed_recno;   /* first record of a batch that did not fit */
	int out_errno;          /* errno of a failed write to offsets */
	char errmsg[1024];      /* why the writer failed, or "" */
};

struct producer_opts {
	int compression;
	int sync_mode;
	int append_flags;
	size_t batch_bytes;
	FILE *offsets;
	struct worker *worker;  /* appends the batches; NULL: the caller */
};

/*
 * producer_open prepares pr to append to topic t, its batches appended by
 * o->worker (if that is NULL or busy with enough users, by the caller's
 * thread instead).  Fails with MQ_ECODEC if the compression cannot be
 * written, or MQ_ENOMEM.
 */
int producer_open(struct producer *pr, mq_topic *t,
                  const struct producer_opts *o);

/*
 * producer_add encodes record r into partition p's batch; rbytes is at
 * least its mq_record_bytes() (an upper bound will do), already checked
 * against max.message.bytes; recno numbers it for messages.  A timestamp of
 * -1 is replaced by pr->now in *r itself (r is the caller's scratch, so no
 * copy of it is made per record).  It may hand
 * batches to the writer and collect finished ones on the way, so it fails
 * as producer_flush does; on failure the record may or may not be queued.
 */
int producer_add(struct producer *pr, int32_t p, mq_record *r,
                 size_t rbytes, int64_t recno);

/* producer_tick sets pr->now to the wall clock: the timestamp records
 * without one get.  Called once per input read, not per record. */
void producer_tick(struct producer *pr);

/*
 * producer_flush hands every pending batch to the writer, waits until all
 * are appended (and synced under PR_SYNC_BATCH), and prints the offsets
 * that are durable.  Returns 0, or the MQ_E* code of the failed append or
 * sync (pr->errmsg tells why; for MQ_ETOOBIG pr->failed_recno names the
 * first record of the batch), or MQ_EIO with pr->out_errno set if writing
 * offsets failed.  After a failure nothing more is appended.
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

/*
 * producer_stop waits for the batch the writer is appending, drops the
 * batches not yet started and takes the writer off the worker, so that the
 * caller may use the topic (for a last mq_sync before exiting on an error).
 * Idempotent; cannot fail.
 */
void producer_stop(struct producer *pr);

/*
 * producer_salvage is the way out after a failure: it stops the writer,
 * makes what was appended durable per the sync mode and prints the offsets
 * of exactly those records, in input order, so that a script knows what
 * was stored.  Under PR_SYNC_EXIT it prints nothing when a sync failed or
 * an I/O error happened (a second fsync could report success for pages the
 * kernel lost).  Errors are ignored.  The caller may use the topic
 * afterwards.
 */
void producer_salvage(struct producer *pr);

/*
 * producer_append appends batch b to partition p of the topic as the
 * writer appends its batches: a batch that compression made too big is
 * stored uncompressed, a recovered torn tail is reported once, and under
 * PR_SYNC_BATCH the batch is synced.  It stores the first offset in *base
 * (may be NULL) and resets b.  For parallel.c, which appends batches of
 * its own; only while the writer is idle (after producer_flush), from one
 * thread at a time.  Returns 0 or the MQ_E* code, with pr->errmsg saying
 * why; b is left as it was then.
 */
int producer_append(struct producer *pr, int32_t p, mq_batch *b,
                    int64_t *base);

/* RecordBatch header size, and what a record may add to mq_record_bytes()
 * inside a batch (offset and timestamp deltas) beyond its size alone. */
#define PR_BATCH_OVERHEAD 61
#define PR_RECORD_SLACK 16

/* producer_close stops the writer and frees everything pr holds; it
 * appends nothing more. */
void producer_close(struct producer *pr);

/* mono_ms returns CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);

/* wall_ms returns CLOCK_REALTIME in milliseconds: record timestamps. */
int64_t wall_ms(void);

#endif
