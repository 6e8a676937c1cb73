/*
 * producer.c - batching records per partition and appending them.
 *
 * Each partition fills one mq_batch at a time.  A batch that is full (or
 * flushed) becomes a job in a small ring shared with the writer
 * (producer_writer.c), which runs in the worker thread.  Jobs are appended
 * in ring order, so the offsets come back in the order the records were
 * added.  The caller's thread owns parts, the free list and the offsets
 * queue; the writer owns the topic handle.  Nothing here allocates per
 * record: batches are reused through the free list.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "producer.h"
#include "producer_writer.h"
#include "tool.h"

/* Bytes filling over all partitions above which the fullest is handed
 * to the writer. */
#define PENDING_MAX ((size_t)8 << 20)
/* High-water bytes of all live batches above which a batch coming back
 * from the writer is freed instead of kept for reuse. */
#define RETAINED_MAX ((size_t)16 << 20)
/* Empty batches kept for reuse. */
#define FREE_MAX (RING + 2)
/* Records awaiting their offsets above which everything is synced. */
#define QUEUE_MAX ((size_t)1 << 20)
#define BATCH_OVERHEAD PR_BATCH_OVERHEAD
#define RECORD_SLACK PR_RECORD_SLACK

struct span {
	int64_t base;           /* first offset; -1: records not stored */
	size_t count;
};

struct pr_part {
	struct pr_slot s;       /* the batch filling, s.b NULL if none */
	size_t count;           /* records in it */
	size_t est;             /* upper bound of its uncompressed bytes */
	int64_t first_recno;
	struct span *spans;     /* appended batches not yet printed */
	size_t shead, slen, scap;
	size_t sused;           /* records of spans[shead] printed */
};

/* mono_ms returns the monotonic clock in ms.  It cannot fail. */
int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wall_ms returns the wall clock in ms.  It cannot fail. */
int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* producer_tick reads the wall clock into pr->now.  It cannot fail. */
void producer_tick(struct producer *pr)
{
	pr->now = wall_ms();
}

/* Grows *buf (capacity *cap) to hold need elements; 0 or -1. */
static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(p = realloc(*buf, n * elem)))
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Offsets.                                                          */

/* Writes the offsets of queued records whose batches are appended; they
 * are durable by the time this is called. */
static int print_offsets(struct producer *pr)
{
	size_t printed = 0;

	if (!pr->offsets)
		return 0;
	while (pr->qlen) {
		int32_t p = pr->queue[pr->qhead];
		struct pr_part *pp = &pr->parts[p];
		if (!pp->slen)
			break;
		struct span *s = &pp->spans[pp->shead];
		if (s->base >= 0 && fprintf(pr->offsets, "%" PRId32 "\t%"
		    PRId64 "\n", p, s->base + (int64_t)pp->sused) < 0)
			goto fail;
		if (++pp->sused == s->count) {
			pp->sused = 0;
			pp->shead++;
			if (--pp->slen == 0)
				pp->shead = 0;
		}
		pr->qhead = (pr->qhead + 1) % pr->qcap;
		pr->qlen--;
		printed++;
	}
	/* Whoever reads the offsets may be waiting for them. */
	if (printed && fflush(pr->offsets) != 0)
		goto fail;
	if (!ferror(pr->offsets))
		return 0;
fail:
	pr->out_errno = errno ? errno : EIO;
	return MQ_EIO;
}

/* Remembers that count records of partition p start at base. */
static int push_span(struct producer *pr, int32_t p, int64_t base,
                     size_t count)
{
	struct pr_part *pp = &pr->parts[p];

	if (!pr->offsets)
		return 0;
	if (pp->shead + pp->slen == pp->scap && pp->shead > 0) {
		memmove(pp->spans, pp->spans + pp->shead,
		    pp->slen * sizeof *pp->spans);
		pp->shead = 0;
	}
	if (grow((void **)&pp->spans, &pp->scap, pp->shead + pp->slen + 1,
	    sizeof *pp->spans) < 0)
		return MQ_ENOMEM;
	pp->spans[pp->shead + pp->slen++] = (struct span){ base, count };
	return 0;
}

/* Queues partition p for the offsets output. */
static int enqueue(struct producer *pr, int32_t p)
{
	if (pr->qlen == pr->qcap) {
		size_t old = pr->qcap;
		if (grow((void **)&pr->queue, &pr->qcap, old + 1,
		    sizeof *pr->queue) < 0)
			return MQ_ENOMEM;
		/* Unwrap: move the wrapped part after the old end. */
		if (pr->qhead + pr->qlen > old) {
			size_t tail = pr->qhead + pr->qlen - old;
			memcpy(pr->queue + old, pr->queue, tail *
			    sizeof *pr->queue);
		}
	}
	pr->queue[(pr->qhead + pr->qlen) % pr->qcap] = p;
	pr->qlen++;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Batches.                                                          */

/* Gives a batch back: kept for reuse while memory allows, else freed. */
static void put_slot(struct producer *pr, struct pr_slot s)
{
	if (pr->nfree < FREE_MAX && pr->retained <= RETAINED_MAX) {
		pr->free[pr->nfree++] = s;
		return;
	}
	pr->retained -= s.hw;
	mq_batch_free(s.b);
}

/* Collects the jobs the writer finished: notes their offsets and reuses
 * their batches.  Returns the first failure among them. */
static int reap(struct producer *pr, size_t done)
{
	struct pr_writer *w = pr->w;
	int rc = 0;

	for (; w->head < done; w->head++) {
		struct job *j = &w->ring[w->head % RING];
		int r = push_span(pr, j->p, j->rc < 0 ? -1 : j->base, j->count);
		if (j->rc < 0 && !pr->failed_rc) {
			pr->failed_rc = j->rc;
			if (j->rc == MQ_ETOOBIG)
				pr->failed_recno = j->first_recno;
		}
		if (!rc)
			rc = j->rc < 0 ? j->rc : r;
		mq_batch_reset(j->s.b);
		put_slot(pr, j->s);
		j->s.b = NULL;
	}
	return rc;
}

/* producer_salvage stops the writer, syncs what was appended (unless
 * PR_SYNC_NONE) and prints its offsets; errors are ignored. */
void producer_salvage(struct producer *pr)
{
	struct pr_writer *w = pr->w;

	if (!w)
		return;
	producer_stop(pr);
	reap(pr, w->done);
	/* Records still filling a batch were not stored either. */
	for (int32_t p = 0; p < pr->nparts; p++)
		if (pr->parts[p].count)
			push_span(pr, p, -1, pr->parts[p].count);
	/* Under PR_SYNC_BATCH every appended batch was synced by the
	 * writer; under PR_SYNC_EXIT one sync is due now, unless an I/O
	 * error makes its answer untrustworthy. */
	if (pr->sync_mode == PR_SYNC_EXIT && !w->synced) {
		if (pr->failed_rc == MQ_EIO || mq_sync(pr->topic) < 0)
			return;
		w->synced = 1;
	}
	if (!pr->out_errno)
		print_offsets(pr);
}

/* Hands partition p's batch to the writer, first making room in the
 * ring.  Returns a failure of a finished job, if any. */
static int submit_part(struct producer *pr, int32_t p)
{
	struct pr_writer *w = pr->w;
	struct pr_part *pp = &pr->parts[p];
	int rc = 0;

	if (!pp->count)
		return 0;
	if (w->tail - w->head == RING &&
	    (rc = reap(pr, pr_writer_wait(pr, w->head + 1))) < 0)
		return rc;
	size_t bytes = mq_batch_bytes(pp->s.b);
	if (bytes > pp->s.hw) {
		pr->retained += bytes - pp->s.hw;
		pp->s.hw = bytes;
	}
	w->ring[w->tail % RING] = (struct job){
		.s = pp->s, .p = p, .count = pp->count,
		.first_recno = pp->first_recno, .base = -1,
	};
	pr->pending_bytes -= pp->est - BATCH_OVERHEAD;
	pr->pending_records -= pp->count;
	pp->s = (struct pr_slot){ NULL, 0 };
	pp->count = 0;
	pp->est = BATCH_OVERHEAD;
	pr->submitted_at = mono_ms();
	pr_writer_push(pr);
	return 0;
}

/* Collects whatever the writer finished, without waiting, and prints
 * offsets that need no sync. */
static int poll_writer(struct producer *pr)
{
	struct pr_writer *w = pr->w;
	size_t done;
	int rc;

	if (w->wk) {
		pthread_mutex_lock(&w->mu);
		done = w->done;
		pthread_mutex_unlock(&w->mu);
	} else {
		done = w->done;
	}
	if ((rc = reap(pr, done)) < 0)
		return rc;
	if (pr->sync_mode != PR_SYNC_EXIT)
		return print_offsets(pr);
	return 0;
}

/* producer_open prepares pr; MQ_ECODEC or MQ_ENOMEM on failure. */
int producer_open(struct producer *pr, mq_topic *t,
                  const struct producer_opts *o)
{
	const mq_config *cfg = mq_topic_config(t);
	mq_batch *probe;
	int rc;

	memset(pr, 0, sizeof *pr);
	pr->topic = t;
	pr->nparts = mq_topic_partitions(t);
	pr->compression = o->compression;
	pr->sync_mode = o->sync_mode;
	pr->append_flags = o->append_flags;
	if (o->sync_mode == PR_SYNC_EXIT)
		pr->append_flags |= MQ_WRITEBACK;
	pr->offsets = o->offsets;
	pr->batch_cap = o->batch_bytes;
	if (cfg->max_message_bytes > 0 &&
	    pr->batch_cap > (size_t)cfg->max_message_bytes)
		pr->batch_cap = (size_t)cfg->max_message_bytes;
	pr->failed_recno = -1;
	producer_tick(pr);
	/* Refuse a compression that cannot be written now, not later. */
	if ((rc = mq_batch_new(o->compression, &probe)) < 0)
		return rc;
	pr->free = calloc(FREE_MAX, sizeof *pr->free);
	pr->parts = calloc((size_t)pr->nparts, sizeof *pr->parts);
	pr->w = calloc(1, sizeof *pr->w +
	    (size_t)pr->nparts * sizeof pr->w->reported[0]);
	if (!pr->free || !pr->parts || !pr->w) {
		mq_batch_free(probe);
		return MQ_ENOMEM;
	}
	pr->free[pr->nfree++] = (struct pr_slot){ probe, 0 };
	for (int32_t i = 0; i < pr->nparts; i++)
		pr->parts[i].est = BATCH_OVERHEAD;
	pr->w->synced = 1;
	pr_writer_start(pr, o->worker);
	return 0;
}

/* producer_close stops the writer and frees what pr holds. */
void producer_close(struct producer *pr)
{
	struct pr_writer *w = pr->w;

	if (w) {
		producer_stop(pr);
		reap(pr, w->done);
		if (w->user.step) { /* pr_writer_start ran */
			pthread_cond_destroy(&w->done_cv);
			pthread_mutex_destroy(&w->mu);
		}
	}
	if (pr->parts) {
		for (int32_t i = 0; i < pr->nparts; i++) {
			mq_batch_free(pr->parts[i].s.b);
			free(pr->parts[i].spans);
		}
	}
	for (size_t i = 0; i < pr->nfree; i++)
		mq_batch_free(pr->free[i].b);
	free(pr->free);
	free(pr->parts);
	free(w);
	free(pr->queue);
	memset(pr, 0, sizeof *pr);
}

/* producer_deadline says when pending records are due, or -1. */
int64_t producer_deadline(const struct producer *pr, int64_t linger_ms)
{
	if (!pr->pending_records) {
		/* Batches handed over but not collected have offsets to
		 * print once the input goes quiet. */
		if (pr->offsets && pr->sync_mode != PR_SYNC_EXIT &&
		    pr->w->head != pr->w->tail)
			return pr->submitted_at + linger_ms;
		return -1;
	}
	return pr->pending_since + linger_ms;
}

/* Hands every pending batch over, waits for all, prints what is durable
 * without a sync. */
static int flush_all(struct producer *pr)
{
	int rc;

	for (int32_t p = 0; p < pr->nparts; p++)
		if ((rc = submit_part(pr, p)) < 0)
			return rc;
	if ((rc = reap(pr, pr_writer_wait(pr, SIZE_MAX))) < 0)
		return rc;
	return 0;
}

/* producer_flush appends every pending batch and prints the offsets that
 * are durable; it stops at the first failure and returns its code. */
int producer_flush(struct producer *pr)
{
	int rc;

	if ((rc = flush_all(pr)) < 0)
		return rc;
	if (pr->sync_mode != PR_SYNC_EXIT)
		return print_offsets(pr);
	return 0;
}

/* Appends everything, syncs and prints: the way to empty the queue. */
static int drain(struct producer *pr, int sync)
{
	int rc;

	if ((rc = flush_all(pr)) < 0)
		return rc;
	/* The writer is idle: the topic is ours until the next submit. */
	if (sync && !pr->w->synced) {
		if ((rc = mq_sync(pr->topic)) < 0) {
			snprintf(pr->errmsg, sizeof pr->errmsg, "%s",
			    *mq_errmsg() ? mq_errmsg() : mq_strerror(rc));
			if (!pr->failed_rc)
				pr->failed_rc = rc;
			return rc;
		}
		pr->w->synced = 1;
	}
	return print_offsets(pr);
}

/* producer_finish appends, syncs and prints everything, or fails as
 * producer_flush does. */
int producer_finish(struct producer *pr)
{
	int rc;

	if ((rc = drain(pr, pr->sync_mode != PR_SYNC_NONE)) < 0)
		return rc;
	if (pr->offsets && fflush(pr->offsets) != 0) {
		pr->out_errno = errno;
		return MQ_EIO;
	}
	return 0;
}

/* Hands over the fullest partition's batch. */
static int submit_fullest(struct producer *pr)
{
	int32_t big = 0;

	for (int32_t i = 1; i < pr->nparts; i++)
		if (pr->parts[i].est > pr->parts[big].est)
			big = i;
	return submit_part(pr, big);
}

/* producer_add encodes a record into its partition's batch, handing
 * batches to the writer as they fill up or as memory runs short; fails as
 * producer_flush does. */
int producer_add(struct producer *pr, int32_t p, mq_record *r,
                 size_t rbytes, int64_t recno)
{
	struct pr_part *pp = &pr->parts[p];
	size_t add = rbytes - BATCH_OVERHEAD + RECORD_SLACK;
	int rc;

	if (pp->count && pp->est + add > pr->batch_cap) {
		if ((rc = submit_part(pr, p)) < 0 ||
		    (rc = poll_writer(pr)) < 0)
			return rc;
	}
	if (!pp->s.b) {
		if (pr->nfree)
			pp->s = pr->free[--pr->nfree];
		else if ((rc = mq_batch_new(pr->compression, &pp->s.b)) < 0)
			return rc;
		pp->first_recno = recno;
	}
	if (r->timestamp == -1)
		r->timestamp = pr->now;
	if ((rc = mq_batch_add(pp->s.b, r)) < 0)
		return rc;
	pp->est += add;
	pp->count++;
	if (!pr->pending_records)
		pr->pending_since = mono_ms();
	pr->pending_records++;
	pr->pending_bytes += add;
	if (pr->offsets && (rc = enqueue(pr, p)) < 0)
		return rc;

	/* Bound memory: hand over the fullest batches. */
	while (pr->pending_bytes > PENDING_MAX)
		if ((rc = submit_fullest(pr)) < 0)
			return rc;
	if (pr->qlen >= QUEUE_MAX)
		return drain(pr, pr->sync_mode != PR_SYNC_NONE);
	return 0;
}
