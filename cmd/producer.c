/*
 * producer.c - batching records per partition and appending them.
 *
 * A partition's pending records live in one growable buffer, each as a
 * fixed header followed by its bytes:
 *
 *	int64 recno, int64 timestamp, int32 key_len, int32 value_len,
 *	uint32 header_count, key, value,
 *	header_count x (uint32 name_len, int32 value_len, name, value)
 *
 * (lengths -1 for null).  The mq_batch is built from that buffer only when
 * the partition is appended, so a batch that mq_append finds too big can be
 * rebuilt in halves.  Nothing here allocates per record: buffers grow
 * geometrically and are reused.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "producer.h"
#include "tool.h"

/* Buffered bytes over all partitions above which the largest is appended. */
#define PENDING_MAX ((size_t)8 << 20)
/* Buffer capacity over all partitions above which the biggest buffer is
 * appended and freed: together these bound the producer's memory. */
#define RETAINED_MAX ((size_t)16 << 20)
/* Records awaiting their offsets above which everything is synced. */
#define QUEUE_MAX ((size_t)1 << 20)
/* RecordBatch header size, and what a record may add to mq_record_bytes()
 * inside a batch (offset and timestamp deltas) beyond its size alone. */
#define BATCH_OVERHEAD 61
#define RECORD_SLACK 16

struct rec_hdr {
	int64_t recno;
	int64_t timestamp;
	int32_t key_len;
	int32_t value_len;
	uint32_t header_count;
};

struct span {
	int64_t base;          /* first offset; -1: records never appended */
	size_t count;
};

struct pr_part {
	char *buf;
	size_t len, cap;
	size_t count;          /* records in buf */
	size_t est;            /* estimated batch bytes of buf */
	struct span *spans;    /* appended batches not yet printed */
	size_t shead, slen, scap;
	size_t sused;          /* records of spans[shead] printed */
	int reported;          /* its recovery report was printed */
};

/* mono_ms returns the monotonic clock in ms.  It cannot fail. */
int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Grows *buf (capacity *cap) to hold need bytes; 0 or -1. */
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

/* producer_open prepares pr; MQ_ECODEC or MQ_ENOMEM on failure. */
int producer_open(struct producer *pr, mq_topic *t,
                  const struct producer_opts *o)
{
	const mq_config *cfg = mq_topic_config(t);
	int rc;

	memset(pr, 0, sizeof *pr);
	pr->topic = t;
	pr->nparts = mq_topic_partitions(t);
	pr->compression = o->compression;
	pr->sync_mode = o->sync_mode;
	pr->append_flags = o->append_flags;
	pr->offsets = o->offsets;
	pr->batch_cap = o->batch_bytes;
	if (cfg->max_message_bytes > 0 &&
	    pr->batch_cap > (size_t)cfg->max_message_bytes)
		pr->batch_cap = (size_t)cfg->max_message_bytes;
	pr->synced = 1;
	pr->failed_recno = -1;
	if ((rc = mq_batch_new(o->compression, &pr->batch)) < 0)
		return rc;
	if (!(pr->parts = calloc((size_t)pr->nparts, sizeof *pr->parts)))
		return MQ_ENOMEM;
	return 0;
}

/* producer_close frees what pr holds, appending nothing. */
void producer_close(struct producer *pr)
{
	if (pr->parts) {
		for (int32_t i = 0; i < pr->nparts; i++) {
			free(pr->parts[i].buf);
			free(pr->parts[i].spans);
		}
	}
	free(pr->parts);
	mq_batch_free(pr->batch);
	mq_batch_free(pr->plain);
	free(pr->hdrs);
	free(pr->queue);
	memset(pr, 0, sizeof *pr);
}

/* producer_deadline says when pending records are due, or -1. */
int64_t producer_deadline(const struct producer *pr, int64_t linger_ms)
{
	if (!pr->pending_records)
		return -1;
	return pr->pending_since + linger_ms;
}

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
		if (s->base >= 0 && fprintf(pr->offsets, "%" PRId32 "\t%" PRId64
		    "\n", p, s->base + (int64_t)pp->sused) < 0)
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

/* Remembers that count records of partition p start at base (-1: none). */
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

/* Decodes the record at *pos of a partition buffer into r, using pr->hdrs
 * for its headers, and advances *pos. */
static int decode(struct producer *pr, const char *buf, size_t *pos,
                  mq_record *r, int64_t *recno)
{
	struct rec_hdr h;
	const char *p = buf + *pos;

	memcpy(&h, p, sizeof h);
	p += sizeof h;
	if (grow((void **)&pr->hdrs, &pr->hdrs_cap, h.header_count + 1,
	    sizeof *pr->hdrs) < 0)
		return MQ_ENOMEM;
	memset(r, 0, sizeof *r);
	*recno = h.recno;
	r->timestamp = h.timestamp;
	r->key = p;
	r->key_len = h.key_len;
	p += h.key_len > 0 ? h.key_len : 0;
	r->value = p;
	r->value_len = h.value_len;
	p += h.value_len > 0 ? h.value_len : 0;
	for (uint32_t i = 0; i < h.header_count; i++) {
		uint32_t nlen;
		int32_t vlen;
		memcpy(&nlen, p, 4);
		memcpy(&vlen, p + 4, 4);
		p += 8;
		pr->hdrs[i].key = p;
		pr->hdrs[i].key_len = nlen;
		p += nlen;
		pr->hdrs[i].value = p;
		pr->hdrs[i].value_len = vlen;
		p += vlen > 0 ? vlen : 0;
	}
	r->headers = pr->hdrs;
	r->header_count = h.header_count;
	*pos = (size_t)(p - buf);
	return 0;
}

/* realtime_ms returns the wall clock in ms since the epoch. */
static int64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fills b with count records from buf, starting at byte 0.  Records
 * without a timestamp of their own get the time the batch is built: one
 * clock read per batch, not per record. */
static int build(struct producer *pr, mq_batch *b, const char *buf,
                 size_t count, int64_t *first_recno)
{
	size_t pos = 0;
	mq_record r;
	int64_t recno, now = -1;
	int rc;

	mq_batch_reset(b);
	for (size_t i = 0; i < count; i++) {
		if ((rc = decode(pr, buf, &pos, &r, &recno)) < 0)
			return rc;
		if (i == 0)
			*first_recno = recno;
		if (r.timestamp == -1) {
			if (now < 0)
				now = realtime_ms();
			r.timestamp = now;
		}
		if ((rc = mq_batch_add(b, &r)) < 0)
			return rc;
	}
	return 0;
}

/* Byte length of the first n records of buf. */
static size_t span_bytes(struct producer *pr, const char *buf, size_t n)
{
	size_t pos = 0;
	mq_record r;
	int64_t recno;

	for (size_t i = 0; i < n; i++)
		decode(pr, buf, &pos, &r, &recno);
	return pos;
}

/* Appends count records at buf to partition p, halving on MQ_ETOOBIG. */
static int append_records(struct producer *pr, int32_t p, const char *buf,
                          size_t count)
{
	int64_t base, recno = -1;
	mq_batch *b = pr->batch;
	int rc;

	if ((rc = build(pr, b, buf, count, &recno)) < 0)
		return rc;
	rc = mq_append(pr->topic, p, b, pr->append_flags, &base);
	if (rc == MQ_ETOOBIG && count == 1 &&
	    pr->compression != MQ_COMPRESSION_NONE) {
		/* The record alone fits uncompressed (it was checked), but
		 * compression made it grow: store it uncompressed. */
		if (!pr->plain &&
		    (rc = mq_batch_new(MQ_COMPRESSION_NONE, &pr->plain)) < 0)
			return rc;
		b = pr->plain;
		if ((rc = build(pr, b, buf, count, &recno)) < 0)
			return rc;
		rc = mq_append(pr->topic, p, b, pr->append_flags, &base);
	}
	if (rc == MQ_ETOOBIG && count > 1) {
		size_t half = count / 2, off = span_bytes(pr, buf, half);
		mq_batch_reset(b);
		if ((rc = append_records(pr, p, buf, half)) < 0)
			return rc;
		return append_records(pr, p, buf + off, count - half);
	}
	if (rc < 0) {
		if (rc == MQ_ETOOBIG)
			pr->failed_recno = recno;
		mq_batch_reset(b);
		return rc;
	}
	pr->synced = 0;
	const char *rep = mq_recovery_report(pr->topic, p);
	if (rep && !pr->parts[p].reported) {
		/* A crashed writer left a torn tail that this append dropped. */
		warnx("warning: recovered %s", rep);
		pr->parts[p].reported = 1;
	}
	if ((rc = push_span(pr, p, base, count)) < 0)
		return rc;
	if (pr->sync_mode == PR_SYNC_BATCH) {
		if ((rc = mq_sync(pr->topic)) < 0)
			return rc;
		pr->synced = 1;
	}
	return 0;
}

/* Appends partition p's pending records and prints what became durable. */
static int flush_part(struct producer *pr, int32_t p)
{
	struct pr_part *pp = &pr->parts[p];
	int rc;

	if (!pp->count)
		return 0;
	rc = append_records(pr, p, pp->buf, pp->count);
	pr->pending_bytes -= pp->len;
	pr->pending_records -= pp->count;
	pp->len = pp->count = 0;
	pp->est = BATCH_OVERHEAD;
	if (pr->retained > RETAINED_MAX / 2) {
		pr->retained -= pp->cap;
		free(pp->buf);
		pp->buf = NULL;
		pp->cap = 0;
	}
	if (rc < 0)
		return rc;
	if (pr->sync_mode != PR_SYNC_EXIT)
		return print_offsets(pr);
	return 0;
}

/* producer_flush appends every pending batch; it stops at the first
 * failure and returns its code. */
int producer_flush(struct producer *pr)
{
	int rc;

	for (int32_t p = 0; p < pr->nparts; p++)
		if ((rc = flush_part(pr, p)) < 0)
			return rc;
	return 0;
}

/* Appends everything, syncs and prints: the way to empty the queue. */
static int drain(struct producer *pr, int sync)
{
	int rc;

	if ((rc = producer_flush(pr)) < 0)
		return rc;
	if (sync && !pr->synced) {
		if ((rc = mq_sync(pr->topic)) < 0)
			return rc;
		pr->synced = 1;
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

/* producer_add queues a record, appending batches as they fill up or
 * as memory runs short; fails as producer_flush does. */
int producer_add(struct producer *pr, int32_t p, const mq_record *r,
                 size_t rbytes, int64_t recno)
{
	struct pr_part *pp = &pr->parts[p];
	size_t add = rbytes - BATCH_OVERHEAD + RECORD_SLACK, need;
	struct rec_hdr h;
	char *o;
	int rc;

	if (pp->count && pp->est + add > pr->batch_cap &&
	    (rc = flush_part(pr, p)) < 0)
		return rc;
	need = sizeof h + (r->key_len > 0 ? (size_t)r->key_len : 0) +
	    (r->value_len > 0 ? (size_t)r->value_len : 0);
	for (size_t i = 0; i < r->header_count; i++)
		need += 8 + r->headers[i].key_len +
		    (r->headers[i].value_len > 0 ?
		    (size_t)r->headers[i].value_len : 0);
	size_t oldcap = pp->cap;
	if (grow((void **)&pp->buf, &pp->cap, pp->len + need, 1) < 0)
		return MQ_ENOMEM;
	pr->retained += pp->cap - oldcap;

	h.recno = recno;
	h.timestamp = r->timestamp;
	h.key_len = (int32_t)r->key_len;
	h.value_len = (int32_t)r->value_len;
	h.header_count = (uint32_t)r->header_count;
	o = pp->buf + pp->len;
	memcpy(o, &h, sizeof h);
	o += sizeof h;
	if (r->key_len > 0)
		o = mempcpy(o, r->key, r->key_len);
	if (r->value_len > 0)
		o = mempcpy(o, r->value, r->value_len);
	for (size_t i = 0; i < r->header_count; i++) {
		const mq_header *hd = &r->headers[i];
		uint32_t nlen = (uint32_t)hd->key_len;
		int32_t vlen = (int32_t)hd->value_len;
		memcpy(o, &nlen, 4);
		memcpy(o + 4, &vlen, 4);
		o = mempcpy(o + 8, hd->key, nlen);
		if (vlen > 0)
			o = mempcpy(o, hd->value, vlen);
	}
	if (!pp->count)
		pp->est = BATCH_OVERHEAD;
	pp->est += add;
	pp->len += need;
	pp->count++;
	if (!pr->pending_records)
		pr->pending_since = mono_ms();
	pr->pending_records++;
	pr->pending_bytes += need;
	if (pr->offsets && (rc = enqueue(pr, p)) < 0)
		return rc;

	/* Bound memory: append the fullest buffers, then free the biggest
	 * ones.  Each round empties or frees one buffer, so both end. */
	while (pr->pending_bytes > PENDING_MAX) {
		int32_t big = 0;
		for (int32_t i = 1; i < pr->nparts; i++)
			if (pr->parts[i].len > pr->parts[big].len)
				big = i;
		if ((rc = flush_part(pr, big)) < 0)
			return rc;
	}
	while (pr->retained > RETAINED_MAX) {
		int32_t big = 0;
		for (int32_t i = 1; i < pr->nparts; i++)
			if (pr->parts[i].cap > pr->parts[big].cap)
				big = i;
		if ((rc = flush_part(pr, big)) < 0)
			return rc;
		pr->retained -= pr->parts[big].cap;
		free(pr->parts[big].buf);
		pr->parts[big].buf = NULL;
		pr->parts[big].cap = 0;
	}
	if (pr->qlen >= QUEUE_MAX)
		return drain(pr, pr->sync_mode != PR_SYNC_NONE);
	return 0;
}
