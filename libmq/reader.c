/*
 * reader.c - lock-free readers of a partition: opening and closing one,
 * records in offset order across segment boundaries, and keeping up with
 * the log start offset.  Seeks by offset and by timestamp, and the
 * partition's log start and end offsets, are in reader_seek.c.
 *
 * A reader trusts a batch only when it is complete and its CRC matches.
 * A batch that ends past the end of the file is "not yet written" (a
 * writer is appending it, or a crashed writer left it for the next writer
 * to truncate).  Bytes that cannot be a batch in a segment that a newer
 * segment follows are corruption, never skipped.
 *
 * Retention may delete segments and move the log start offset at any
 * time.  A reader never returns a record below the log start offset: it
 * re-reads it when it seeks, when it moves to another segment or waits at
 * the end of the log, and whenever it reads a new chunk of a segment; a
 * reader that finds its position below it continues at the log start and
 * remembers the jump for mq_reader_moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "compact.h"
#include "error.h"
#include "internal.h"
#include "reader.h"
#include "retain.h"
#include "segment.h"

int mq_reader_open_segment(mq_reader *r, int64_t base, uint64_t pos)
{
	char path[PATH_MAX];
	int rc = mq_seg_path(path, sizeof path, r->dir, base, ".log");
	if (rc < 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	r->seg_base = base;
	r->last_seen = pos == 0 ? base - 1 : INT64_MIN;
	r->in_batch = 0;
	r->crc_retry = 0;
	mq_scan_free(&r->sc);
	mq_scan_init(&r->sc, fd, pos);
	return MQ_OK;
}

void mq_reader_close_segment(mq_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->seg_base = -1;
	r->in_batch = 0;
	mq_scan_free(&r->sc);
	mq_scan_init(&r->sc, -1, 0);
}

int mq_reader_fail_at(mq_reader *r, int rc, const char *what)
{
	char cause[512];
	snprintf(cause, sizeof cause, "%s", what ? what : mq_errmsg());
	return mq_fail(rc, "topic '%s' partition %d, offset %" PRId64
	               " (%020" PRId64 ".log position %" PRIu64 "): %s",
	               r->t->name, r->p, r->next, r->seg_base, r->sc.pos, cause);
}

int mq_reader_open(mq_topic *t, int32_t p, mq_reader **out)
{
	*out = NULL;
	if (p < 0 || p >= t->nparts)
		return mq_fail(MQ_ERANGE, "topic '%s' has no partition %d (it has %d)",
		               t->name, p, t->nparts);
	mq_reader *r = calloc(1, sizeof *r);
	if (!r)
		return mq_fail(MQ_ENOMEM, "topic '%s' partition %d", t->name, p);
	r->t = t;
	r->p = p;
	r->fd = -1;
	r->seg_base = -1;
	r->ls_file = -1;
	mq_scan_init(&r->sc, -1, 0);
	int rc = mq_partition_path(t, p, r->dir, sizeof r->dir);
	if (rc == MQ_OK)
		rc = mq_reader_seek(r, 0);
	if (rc < 0) {
		mq_reader_close(r);
		return rc;
	}
	*out = r;
	return MQ_OK;
}

void mq_reader_close(mq_reader *r)
{
	if (!r)
		return;
	mq_reader_close_segment(r);
	mq_rec_iter_free(&r->it);
	free(r);
}

int64_t mq_reader_position(const mq_reader *r)
{
	return r->next;
}

int mq_reader_refresh_log_start(mq_reader *r, int64_t first_base)
{
	char path[PATH_MAX];
	struct stat st;
	if (snprintf(path, sizeof path, "%s/%s", r->dir, MQ_LOG_START_FILE) >=
	    (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", r->dir);
	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return mq_fail(MQ_EIO, "cannot stat '%s'", path);
	} else if (st.st_ino != r->ls_st.st_ino || st.st_dev != r->ls_st.st_dev ||
	           st.st_size != r->ls_st.st_size ||
	           st.st_mtim.tv_sec != r->ls_st.st_mtim.tv_sec ||
	           st.st_mtim.tv_nsec != r->ls_st.st_mtim.tv_nsec ||
	           st.st_ctim.tv_sec != r->ls_st.st_ctim.tv_sec ||
	           st.st_ctim.tv_nsec != r->ls_st.st_ctim.tv_nsec) {
		int64_t v;
		int rc = mq_log_start_load(r->dir, &v);
		if (rc < 0)
			return rc;
		r->ls_file = v;
		r->ls_st = st;
		if (v > r->log_start)
			r->log_start = v;
	}
	if (first_base > r->log_start)
		r->log_start = first_base;
	r->ls_buf = r->sc.buf_start;
	return MQ_OK;
}

/* note_move records a jump from offset from to r->next. */
static void note_move(mq_reader *r, int64_t from)
{
	if (r->next <= from)
		return;
	if (!r->moved)
		r->moved_from = from;
	r->moved_to = r->next;
	r->moved = 1;
}

int mq_reader_moved(mq_reader *r, int64_t *from, int64_t *to)
{
	if (!r->moved)
		return 0;
	if (from)
		*from = r->moved_from;
	if (to)
		*to = r->moved_to;
	r->moved = 0;
	return 1;
}

int mq_reader_gaps_ok(mq_reader *r)
{
	if (!r->gaps)
		r->gaps = mq_gaps_allowed(&r->t->cfg, r->dir);
	return r->gaps;
}

/*
 * jump moves a reader whose position fell below the log start offset to
 * it and records the move for mq_reader_moved.  Returns 1 if the reader
 * moved forward, 0 if it could not (it is at the log end), or an error.
 */
static int jump(mq_reader *r)
{
	int64_t from = r->next;
	int rc = mq_reader_seek(r, from);
	if (rc < 0)
		return rc;
	note_move(r, from);
	if (r->next > from)
		return 1;
	/* A log start past the log end: believe the end until it changes. */
	r->log_start = r->next;
	return 0;
}

int mq_reader_offsets_in_sequence(mq_reader *r)
{
	int64_t bo = r->cur.base_offset;
	if (bo < r->seg_base || r->cur.last_offset - r->seg_base > INT32_MAX)
		return 0;
	if (r->last_seen == INT64_MIN)
		return 1;
	if (bo <= r->last_seen)
		return 0;
	return bo == r->last_seen + 1 || mq_reader_gaps_ok(r);
}

/*
 * next_segment moves to the segment after the current one if there is
 * one and the current one has nothing more.  Returns 1 if it moved, 0 if
 * the current segment is the last, or an error.
 */
static int next_segment(mq_reader *r)
{
	int64_t *bases;
	size_t n;
	int rc = mq_seg_list(r->dir, &bases, NULL, &n);
	if (rc < 0)
		return rc;
	rc = mq_reader_refresh_log_start(r, n > 0 ? bases[0] : -1);
	if (rc == MQ_OK && r->log_start > r->next) {
		/* Retention removed what this reader was about to read. */
		free(bases);
		return jump(r);
	}
	if (rc < 0) {
		free(bases);
		return rc;
	}
	int64_t nb = -1;
	for (size_t i = 0; i < n; i++)
		if (bases[i] > r->seg_base) {
			nb = bases[i];
			break;
		}
	free(bases);
	if (nb < 0)
		return 0;
	/* A newer segment exists, so this one is closed: look once more. */
	const uint8_t *b;
	rc = mq_scan_next(&r->sc, &b, &r->cur);
	if (rc != 0)
		return rc == 1 ? 2 : rc;
	struct stat st;
	if (r->fd >= 0 && fstat(r->fd, &st) == 0 && (uint64_t)st.st_size > r->sc.pos)
		return mq_reader_fail_at(r, MQ_ECORRUPT, "incomplete batch at the "
		                         "end of a closed segment");
	rc = mq_reader_open_segment(r, nb, 0);
	if (rc == MQ_EIO && errno == ENOENT)
		return 1; /* removed by retention meanwhile: list again */
	return rc < 0 ? rc : 1;
}

int mq_reader_next(mq_reader *r, mq_record *rec)
{
	int rc;
	for (;;) {
		if (r->in_batch) {
			rc = mq_rec_iter_next(&r->it, rec);
			if (rc == 1) {
				if (rec->offset < r->next)
					continue;
				r->next = rec->offset + 1;
				return 1;
			}
			r->in_batch = 0;
			if (rc < 0)
				return mq_reader_fail_at(r, rc, NULL);
			mq_scan_skip(&r->sc, &r->cur);
			if (r->cur.last_offset + 1 > r->next)
				r->next = r->cur.last_offset + 1;
			continue;
		}
		if (r->fd < 0) {
			int64_t from = r->next;
			rc = mq_reader_seek(r, from);
			if (rc < 0)
				return rc;
			if (rc == 1)
				note_move(r, from);
			if (r->fd < 0)
				return 0; /* no segment at all */
		}
		const uint8_t *b;
		rc = mq_scan_next(&r->sc, &b, &r->cur);
		if (rc == 1 && r->sc.buf_start != r->ls_buf) {
			/* A new chunk: has the log start moved past us? */
			rc = mq_reader_refresh_log_start(r, -1);
			if (rc < 0)
				return mq_reader_fail_at(r, rc, "log start offset");
			if (r->log_start > r->next) {
				rc = jump(r);
				if (rc < 0)
					return rc;
				continue;
			}
			rc = 1;
		}
		if (rc == 1) {
			size_t len = (size_t)r->cur.length + MQ_BATCH_LOG_OVERHEAD;
			if (!mq_batch_check_crc(b, len)) {
				if (!r->crc_retry) {
					/* Re-read once: the bytes may have been replaced. */
					r->crc_retry = 1;
					mq_scan_invalidate(&r->sc);
					continue;
				}
				return mq_reader_fail_at(r, MQ_ECORRUPT, "CRC mismatch");
			}
			r->crc_retry = 0;
			if (!mq_reader_offsets_in_sequence(r))
				return mq_reader_fail_at(r, MQ_ECORRUPT,
				                         "batch offset out of sequence");
			r->last_seen = r->cur.last_offset;
			if (r->cur.last_offset < r->next || r->cur.control) {
				mq_scan_skip(&r->sc, &r->cur);
				continue;
			}
			rc = mq_rec_iter_start(&r->it, b, len, &r->cur);
			if (rc < 0)
				return mq_reader_fail_at(r, rc, NULL);
			r->in_batch = 1;
			continue;
		}
		if (rc == MQ_ECORRUPT)
			return mq_reader_fail_at(r, rc, NULL);
		if (rc < 0)
			return mq_reader_fail_at(r, rc, NULL);
		rc = next_segment(r);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return rc == MQ_ECORRUPT ? rc
			                         : mq_fail_prefix(rc, "topic '%s' partition %d",
			                                          r->t->name, r->p);
	}
}
