/*
 * active.c - the active segment of a partition, as the writer sees it:
 * the index rule and the scan that checks and accounts batches, catching
 * up with other writers, appending, sealing, and the lock-free rescan
 * mq-repair uses.  Loading with tail recovery and rebuilding the indexes
 * are in active_load.c; checking the indexes a load finds, in
 * active_index.c.
 *
 * Index entries follow Kafka's LogSegment.append: after a batch is written
 * at position P, if more than index.interval.bytes were appended since the
 * last entry (not counting this batch), an .index entry (batch lastOffset,
 * P) is added, and a .timeindex entry (largest timestamp so far, lastOffset
 * of the batch that holds it) if that timestamp grew since the last one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "active.h"
#include "active_int.h"
#include "codec.h"
#include "error.h"
#include "internal.h"
#include "segment.h"
#include "varint.h"

void mq_segstate_close(mq_segstate *s)
{
	if (s->log_fd >= 0)
		close(s->log_fd);
	if (s->idx_fd >= 0)
		close(s->idx_fd);
	if (s->tidx_fd >= 0)
		close(s->tidx_fd);
	s->log_fd = s->idx_fd = s->tidx_fd = -1;
}

/* account applies Kafka's index rule for one accepted batch. */
static int account(mq_segstate *s, const mq_batch_info *in,
                   struct mq_rebuild *rb)
{
	uint64_t len = (uint64_t)in->length + MQ_BATCH_LOG_OVERHEAD;
	if (s->roll_ts < 0 && in->position == 0)
		s->roll_ts = in->max_timestamp;
	if (in->max_timestamp > s->max_ts) {
		s->max_ts = in->max_timestamp;
		s->max_ts_offset = in->last_offset;
	}
	if (rb && s->bytes_since_index > (uint64_t)s->index_interval) {
		int rc = mq_buf_reserve(&rb->idx, MQ_INDEX_ENTRY);
		if (rc < 0)
			return rc;
		mq_index_entry(rb->idx.data + rb->idx.len, s->base, in->last_offset,
		               in->position);
		rb->idx.len += MQ_INDEX_ENTRY;
		if (s->max_ts > s->last_tidx_ts) {
			rc = mq_buf_reserve(&rb->tidx, MQ_TIMEINDEX_ENTRY);
			if (rc < 0)
				return rc;
			mq_timeindex_entry(rb->tidx.data + rb->tidx.len, s->base,
			                   s->max_ts, s->max_ts_offset);
			rb->tidx.len += MQ_TIMEINDEX_ENTRY;
			s->last_tidx_ts = s->max_ts;
		}
		s->bytes_since_index = 0;
	}
	s->bytes_since_index += len;
	s->size = in->position + len;
	s->next_offset = in->last_offset < INT64_MAX ? in->last_offset + 1
	                                            : INT64_MAX;
	return MQ_OK;
}

int mq_segstate_scan(mq_segstate *s, uint64_t start, int64_t expected,
                     struct mq_rebuild *rb, uint64_t *bad_pos,
                     const char **bad_why)
{
	mq_scan sc;
	mq_scan_init(&sc, s->log_fd, start);
	int rc;
	for (;;) {
		const uint8_t *batch;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &batch, &info);
		if (rc == 0) {
			if (sc.eof_at != UINT64_MAX && sc.pos >= sc.eof_at) {
				rc = 0;
			} else {
				*bad_pos = sc.pos;
				*bad_why = "incomplete batch";
				rc = 1;
			}
			break;
		}
		if (rc == MQ_ECORRUPT) {
			*bad_pos = sc.pos;
			*bad_why = "invalid batch header";
			rc = 1;
			break;
		}
		if (rc < 0)
			break;
		size_t len = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
		if (!mq_batch_check_crc(batch, len)) {
			*bad_pos = sc.pos;
			*bad_why = "CRC mismatch";
			rc = 1;
			break;
		}
		/* baseOffset is outside the CRC: check it against its neighbours. */
		if (info.base_offset < expected ||
		    (!s->allow_gaps && expected != INT64_MIN &&
		     info.base_offset != expected) ||
		    info.base_offset < s->base || info.last_offset == INT64_MAX ||
		    info.last_offset - s->base > INT32_MAX) {
			*bad_pos = sc.pos;
			*bad_why = "batch offset out of sequence";
			rc = 1;
			break;
		}
		expected = info.last_offset + 1;
		rc = account(s, &info, rb);
		if (rc < 0)
			break;
		mq_scan_skip(&sc, &info);
	}
	mq_scan_free(&sc);
	return rc;
}

int64_t mq_active_first_batch_ts(int fd)
{
	uint8_t h[MQ_BATCH_HEADER];
	mq_batch_info info;
	if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    mq_batch_parse_header(h, sizeof h, &info) != 1)
		return -1;
	return info.max_timestamp;
}

void mq_segstate_reset(mq_segstate *s)
{
	s->size = 0;
	s->next_offset = s->base;
	s->idx_size = s->tidx_size = 0;
	s->bytes_since_index = 0;
	s->max_ts = s->max_ts_offset = -1;
	s->last_tidx_ts = -1;
	s->roll_ts = -1;
}

/* last_entry reads the final entry of an index file of size bytes. */
static int last_entry(int fd, uint64_t size, size_t entry, uint8_t *out)
{
	if (size == 0)
		return 0;
	if (size % entry)
		return -1;
	if (pread(fd, out, entry, (off_t)(size - entry)) != (ssize_t)entry)
		return -1;
	return 1;
}

int mq_segstate_catch_up(mq_segstate *s, const char *dir, uint64_t disk_size,
                         char *why, size_t whylen)
{
	why[0] = '\0';
	if (disk_size < s->size)
		return 1;
	uint64_t bad;
	const char *bad_why;
	int rc = mq_segstate_scan(s, s->size, s->next_offset, NULL, &bad,
	                          &bad_why);
	if (rc != 0)
		return rc < 0 ? rc : 1;
	struct stat si, st;
	if (fstat(s->idx_fd, &si) < 0 || fstat(s->tidx_fd, &st) < 0)
		return 1;
	uint8_t e[MQ_TIMEINDEX_ENTRY];
	int has = last_entry(s->idx_fd, (uint64_t)si.st_size, MQ_INDEX_ENTRY, e);
	if (has < 0)
		return 1;
	if (has) {
		uint64_t pos = mq_be32(e + 4);
		if (pos >= s->size)
			return 1;
		s->bytes_since_index = s->size - pos;
	} else {
		s->bytes_since_index = s->size;
	}
	has = last_entry(s->tidx_fd, (uint64_t)st.st_size, MQ_TIMEINDEX_ENTRY, e);
	if (has < 0)
		return 1;
	s->last_tidx_ts = has ? (int64_t)mq_be64(e) : -1;
	s->idx_size = (uint64_t)si.st_size;
	s->tidx_size = (uint64_t)st.st_size;
	if (s->roll_ts < 0 && s->size > 0)
		s->roll_ts = mq_active_first_batch_ts(s->log_fd);
	return 0;
}

int mq_segstate_append(mq_segstate *s, const uint8_t *batch, size_t len)
{
	mq_batch_info info;
	int rc = mq_batch_parse_header(batch, len, &info);
	if (rc != 1)
		return mq_fail(MQ_EINVAL, "not a batch");
	info.position = s->size;
	if (mq_pwrite_all(s->log_fd, batch, len, s->size) < 0) {
		int e = errno;
		if (ftruncate(s->log_fd, (off_t)s->size) < 0) {
			/* The next writer's recovery drops the partial batch. */
		}
		errno = e;
		return mq_fail(MQ_EIO, "cannot append to segment %020" PRId64, s->base);
	}
	struct mq_rebuild rb = { { 0 }, { 0 } };
	rc = account(s, &info, &rb);
	if (rc == MQ_OK && rb.idx.len &&
	    mq_pwrite_all(s->idx_fd, rb.idx.data, rb.idx.len,
	                         s->idx_size) == 0)
		s->idx_size += rb.idx.len;
	else if (rb.idx.len && ftruncate(s->idx_fd, (off_t)s->idx_size) < 0) {
		/* A partial entry makes the index fail its size check: rebuilt. */
	}
	if (rc == MQ_OK && rb.tidx.len &&
	    mq_pwrite_all(s->tidx_fd, rb.tidx.data, rb.tidx.len,
	                         s->tidx_size) == 0)
		s->tidx_size += rb.tidx.len;
	else if (rb.tidx.len && ftruncate(s->tidx_fd, (off_t)s->tidx_size) < 0) {
		/* Same as above. */
	}
	mq_buf_free(&rb.idx);
	mq_buf_free(&rb.tidx);
	return MQ_OK;
}

int mq_segstate_seal(mq_segstate *s)
{
	if (s->max_ts < 0 || s->max_ts <= s->last_tidx_ts)
		return MQ_OK;
	uint8_t e[MQ_TIMEINDEX_ENTRY];
	mq_timeindex_entry(e, s->base, s->max_ts, s->max_ts_offset);
	if (mq_pwrite_all(s->tidx_fd, e, sizeof e, s->tidx_size) < 0)
		return mq_fail(MQ_EIO, "cannot write timeindex of segment %020" PRId64,
		               s->base);
	s->tidx_size += sizeof e;
	s->last_tidx_ts = s->max_ts;
	return MQ_OK;
}

int mq_segment_rescan(int log_fd, int64_t base, int32_t interval,
                      int allow_gaps, int seal, mq_rescan *out)
{
	mq_segstate s;
	memset(&s, 0, sizeof s);
	memset(out, 0, sizeof *out);
	s.log_fd = log_fd;
	s.idx_fd = s.tidx_fd = -1;
	s.base = base;
	s.index_interval = interval;
	s.allow_gaps = allow_gaps;
	mq_segstate_reset(&s);
	struct mq_rebuild rb = { { 0 }, { 0 } };
	uint64_t bad = 0;
	const char *why = NULL;
	struct stat st;
	int rc = mq_segstate_scan(&s, 0, base, &rb, &bad, &why);
	if (rc == 1 && fstat(log_fd, &st) < 0)
		rc = mq_fail(MQ_EIO, "cannot stat segment %020" PRId64, base);
	if (rc == 1) {
		out->bad_why = why;
		out->incomplete = strcmp(why, "incomplete batch") == 0;
		out->follows = mq_valid_batch_follows(log_fd, bad, (uint64_t)st.st_size);
		rc = MQ_OK;
	}
	if (rc == MQ_OK && seal && s.max_ts >= 0 && s.max_ts > s.last_tidx_ts &&
	    (rc = mq_buf_reserve(&rb.tidx, MQ_TIMEINDEX_ENTRY)) == MQ_OK) {
		mq_timeindex_entry(rb.tidx.data + rb.tidx.len, base, s.max_ts,
		                   s.max_ts_offset);
		rb.tidx.len += MQ_TIMEINDEX_ENTRY;
	}
	if (rc < 0) {
		mq_buf_free(&rb.idx);
		mq_buf_free(&rb.tidx);
		return rc;
	}
	out->end = s.size;
	out->next_offset = s.next_offset;
	out->idx = rb.idx;
	out->tidx = rb.tidx;
	return MQ_OK;
}
