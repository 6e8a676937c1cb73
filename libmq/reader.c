/*
 * reader.c - lock-free readers of a partition: records in offset order
 * across segment boundaries, seeks by offset and by timestamp, and the
 * partition's log start and end offsets.
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
#include "retain.h"
#include "segment.h"

struct mq_reader {
	mq_topic *t;
	int32_t p;
	char dir[PATH_MAX];
	int64_t seg_base;     /* segment being read, -1 if none */
	int64_t last_seen;    /* last offset of the previous batch read in this
	                         segment; INT64_MIN when unknown (after a seek) */
	int fd;
	mq_scan sc;
	mq_batch_info cur;    /* batch being iterated */
	mq_rec_iter it;
	int in_batch;
	int crc_retry;
	int64_t next;         /* offset of the next record to return */
	int64_t log_start;    /* the log start offset as last read */
	int64_t ls_file;      /* mq.log-start's value, -1 if absent */
	struct stat ls_st;    /* mq.log-start as last read (st_ino 0: none) */
	uint64_t ls_buf;      /* sc.buf_start when the log start was read */
	int gaps;             /* 1: offsets may skip (compacted); 0: not seen */
	int moved;            /* a jump not yet reported by mq_reader_moved */
	int64_t moved_from, moved_to;
};

static int open_segment(mq_reader *r, int64_t base, uint64_t pos)
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

static void close_segment(mq_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->seg_base = -1;
	r->in_batch = 0;
	mq_scan_free(&r->sc);
	mq_scan_init(&r->sc, -1, 0);
}

/*
 * fail_at records a failure of this reader with its context: topic,
 * partition, offset, segment file and position.  what names the problem
 * found here; NULL means the cause is the message a lower layer recorded.
 */
static int fail_at(mq_reader *r, int rc, const char *what)
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
	close_segment(r);
	mq_rec_iter_free(&r->it);
	free(r);
}

int64_t mq_reader_position(const mq_reader *r)
{
	return r->next;
}

/*
 * refresh_log_start updates r->log_start from mq.log-start, which it reads
 * again only when the file was replaced since the last look (one stat(2)),
 * and from first_base, the first segment's base offset (-1: unknown).  The
 * log start offset never moves back.
 */
static int refresh_log_start(mq_reader *r, int64_t first_base)
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

/*
 * checked_start returns pos if a complete batch with a good CRC and
 * base offset <= target starts there in fd, else 0: index entries only
 * ever make a scan start later, never wrong.
 */
static uint64_t checked_start(int fd, uint64_t pos, int64_t target)
{
	if (pos == 0)
		return 0;
	mq_scan sc;
	mq_scan_init(&sc, fd, pos);
	const uint8_t *b;
	mq_batch_info info;
	int ok = mq_scan_next(&sc, &b, &info) == 1 &&
	         mq_batch_check_crc(b, (size_t)info.length + MQ_BATCH_LOG_OVERHEAD) &&
	         info.base_offset <= target;
	mq_scan_free(&sc);
	return ok ? pos : 0;
}

/*
 * gaps_ok says whether offsets may skip between batches (see
 * mq_gaps_allowed), remembering a yes.
 */
static int gaps_ok(mq_reader *r)
{
	if (!r->gaps)
		r->gaps = mq_gaps_allowed(&r->t->cfg, r->dir);
	return r->gaps;
}

/*
 * start_at returns the position of the last of the sane .index entries
 * e[0..n) at or below target whose batch (in fd, size bytes) holds the
 * entry's offset, is complete, has a good CRC and a baseOffset <= target,
 * trying a few entries back before giving up with 0.  *prev receives the
 * offset before that batch as far as it is vouched for: base - 1 at
 * position 0; with contig (offsets contiguous) an entry counts only when
 * it names its batch's lastOffset, as the writer's rule makes it, which
 * with lastOffsetDelta (under the CRC) vouches for the baseOffset
 * (outside it); without, INT64_MIN (unknown).
 */
static uint64_t start_at(int fd, int64_t base, const mq_idx *e, size_t n,
                         int64_t target, uint64_t size, int contig,
                         int64_t *prev)
{
	ssize_t i = mq_index_floor(e, n, target);
	*prev = base - 1;
	for (int tries = 0; i >= 0 && tries < 8; i--, tries++) {
		mq_batch_info info;
		if (!mq_index_entry_ok(fd, base, &e[i], size, &info) ||
		    (contig && info.last_offset != e[i].offset) ||
		    !checked_start(fd, e[i].position, target))
			continue;
		*prev = contig ? info.base_offset - 1 : INT64_MIN;
		return e[i].position;
	}
	return 0;
}

/* index_start is start_at with the .index of segment base in dir. */
static uint64_t index_start(const char *dir, int64_t base, int fd,
                            int64_t target, uint64_t size, int contig,
                            int64_t *prev)
{
	char path[PATH_MAX];
	mq_idx *e = NULL;
	size_t n = 0;
	*prev = base - 1;
	if (mq_seg_path(path, sizeof path, dir, base, ".index") < 0 ||
	    mq_index_load(path, base, &e, &n) < 0)
		return 0;
	n = mq_index_sane(e, n, size);
	uint64_t pos = start_at(fd, base, e, n, target, size, contig, prev);
	free(e);
	return pos;
}

static int position_in(mq_reader *r, int64_t base, int64_t target)
{
	int rc = open_segment(r, base, 0);
	if (rc < 0)
		return rc;
	struct stat st;
	if (fstat(r->fd, &st) < 0)
		return mq_fail(MQ_EIO, "cannot stat segment %020" PRId64, base);
	uint64_t pos = index_start(r->dir, base, r->fd, target,
	                           (uint64_t)st.st_size, !gaps_ok(r),
	                           &r->last_seen);
	mq_scan_seek(&r->sc, pos);
	return MQ_OK;
}

/*
 * tail_end returns the log end offset of segment base (header scan).  A
 * batch whose baseOffset does not follow its predecessor's (contig: is
 * not the next offset; else: is not above it) is damaged and counted at
 * the offsets after its predecessor, so that readers go on up to it and
 * report the damage instead of stopping short of it.
 */
static int tail_end(const char *dir, int64_t base, int contig, int64_t *end)
{
	char path[PATH_MAX];
	int rc = mq_seg_path(path, sizeof path, dir, base, ".log");
	if (rc < 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return mq_fail(MQ_EIO, "cannot stat '%s'", path);
	}
	int64_t prev;
	uint64_t pos = index_start(dir, base, fd, INT64_MAX, (uint64_t)st.st_size,
	                           contig, &prev);
	mq_scan sc;
	mq_scan_init(&sc, fd, pos);
	*end = base;
	for (;;) {
		const uint8_t *b;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &b, &info);
		if (rc != 1)
			break;
		int64_t delta = info.last_offset - info.base_offset;
		if (prev != INT64_MIN &&
		    (info.base_offset <= prev ||
		     (contig && info.base_offset != prev + 1))) {
			if (prev > INT64_MAX - 2 - delta)
				break;
			prev += 1 + delta;
		} else {
			prev = info.last_offset;
		}
		if (prev == INT64_MAX)
			break;
		*end = prev + 1;
		mq_scan_skip(&sc, &info);
	}
	mq_scan_free(&sc);
	close(fd);
	return rc < 0 && rc != MQ_ECORRUPT ? rc : MQ_OK;
}

int mq_log_offsets(mq_topic *t, int32_t p, int64_t *start, int64_t *end)
{
	char dir[PATH_MAX];
	int rc = mq_partition_path(t, p, dir, sizeof dir);
	if (rc < 0)
		return rc;
	/* Retention may roll and delete the last segment as we look: retry. */
	for (int tries = 0;; tries++) {
		int64_t *bases;
		size_t n;
		rc = mq_seg_list(dir, &bases, NULL, &n);
		if (rc < 0)
			return rc;
		*start = *end = 0;
		if (n > 0) {
			rc = mq_log_start_effective(dir, bases[0], start);
			if (rc == MQ_OK)
				rc = tail_end(dir, bases[n - 1],
				              !mq_gaps_allowed(&t->cfg, dir), end);
		}
		free(bases);
		if (rc != MQ_EIO || errno != ENOENT || tries >= 100)
			break;
	}
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	return MQ_OK;
}

/*
 * seek_once is one attempt of mq_reader_seek.  It fails with MQ_EIO and
 * errno ENOENT when retention deleted the segment it chose meanwhile.
 */
static int seek_once(mq_reader *r, int64_t offset, int *moved)
{
	int64_t *bases;
	size_t n;
	int rc = mq_seg_list(r->dir, &bases, NULL, &n);
	if (rc < 0)
		return rc;
	close_segment(r);
	*moved = 0;
	r->next = offset;
	if (n == 0)
		goto out;
	/* The list first: a log start read after it covers what it lacks. */
	rc = refresh_log_start(r, bases[0]);
	if (rc < 0)
		goto out;
	if (offset < r->log_start) {
		*moved = 1;
		r->next = r->log_start;
	}
	int64_t end;
	rc = tail_end(r->dir, bases[n - 1], !gaps_ok(r), &end);
	if (rc < 0)
		goto out;
	if (r->next > end)
		r->next = end;
	size_t i = n - 1;
	while (i > 0 && bases[i] > r->next)
		i--;
	rc = position_in(r, bases[i], r->next);
out:
	free(bases);
	return rc;
}

int mq_reader_seek(mq_reader *r, int64_t offset)
{
	int moved = 0, rc;
	for (int tries = 0;; tries++) {
		rc = seek_once(r, offset, &moved);
		if (rc == MQ_EIO && errno == ENOENT && tries < 100)
			continue; /* a segment went meanwhile: look again */
		break;
	}
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", r->t->name, r->p);
	return moved;
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

/*
 * time_start finds where a scan for the first record with timestamp >= ts
 * may start in the segment open as r->fd: from the last .timeindex entry
 * older than ts, if that entry and the .index entry used to reach it agree
 * with the log; else (a missing or damaged index) from the segment's
 * start.  Sets *pos, *from, the first offset that can qualify, and *prev
 * as start_at does.
 */
static void time_start(mq_reader *r, int64_t base, int64_t ts, uint64_t *pos,
                       int64_t *from, int64_t *prev)
{
	char path[PATH_MAX];
	mq_tidx *te = NULL;
	mq_idx *ie = NULL;
	size_t nt = 0, ni = 0;
	struct stat st;
	*pos = 0;
	*from = base;
	*prev = base - 1;
	if (fstat(r->fd, &st) < 0 ||
	    mq_seg_path(path, sizeof path, r->dir, base, ".timeindex") < 0 ||
	    mq_timeindex_load(path, base, &te, &nt) < 0)
		return;
	nt = mq_timeindex_sane(te, nt);
	ssize_t j = mq_timeindex_below(te, nt, ts);
	uint64_t size = (uint64_t)st.st_size;
	if (j >= 0 && te[j].offset < INT64_MAX &&
	    mq_seg_path(path, sizeof path, r->dir, base, ".index") == 0 &&
	    mq_index_load(path, base, &ie, &ni) == 0) {
		ni = mq_index_sane(ie, ni, size);
		if (mq_timeindex_entry_ok(r->fd, base, ie, ni, &te[j], size)) {
			/* Every record up to te[j].offset is older than ts. */
			*from = te[j].offset + 1;
			*pos = start_at(r->fd, base, ie, ni, *from, size, !gaps_ok(r),
			                prev);
		}
	}
	free(ie);
	free(te);
}

/*
 * offsets_in_sequence checks the batch just scanned against its segment
 * and its predecessor: baseOffset lies outside the CRC, so this is what
 * catches a damaged one.  Offsets must rise; in a partition that is not
 * compacted (see mq_gaps_allowed) they must also be contiguous.
 */
static int offsets_in_sequence(mq_reader *r)
{
	int64_t bo = r->cur.base_offset;
	if (bo < r->seg_base || r->cur.last_offset - r->seg_base > INT32_MAX)
		return 0;
	if (r->last_seen == INT64_MIN)
		return 1;
	if (bo <= r->last_seen)
		return 0;
	return bo == r->last_seen + 1 || gaps_ok(r);
}

/*
 * find_time looks for the first record with timestamp >= ts in segment
 * base.  Returns 1 and positions the reader there, 0 if the segment has
 * none, or an error.  In a closed segment, bytes after the last complete
 * batch are corruption (MQ_ECORRUPT), not "nothing more".
 */
static int find_time(mq_reader *r, int64_t base, int64_t ts, int closed)
{
	int rc = open_segment(r, base, 0);
	if (rc < 0)
		return rc;
	uint64_t pos;
	int64_t from;
	time_start(r, base, ts, &pos, &from, &r->last_seen);
	mq_scan_seek(&r->sc, pos);
	r->next = from;
	for (;;) {
		const uint8_t *b;
		rc = mq_scan_next(&r->sc, &b, &r->cur);
		if (rc == 0 && closed && r->sc.eof_at != UINT64_MAX &&
		    r->sc.pos < r->sc.eof_at)
			return fail_at(r, MQ_ECORRUPT, "incomplete batch at the end of "
			               "a closed segment");
		if (rc != 1)
			return rc == MQ_ECORRUPT ? fail_at(r, rc, NULL) : rc;
		size_t len = (size_t)r->cur.length + MQ_BATCH_LOG_OVERHEAD;
		if (!mq_batch_check_crc(b, len))
			return fail_at(r, MQ_ECORRUPT, "CRC mismatch");
		if (!offsets_in_sequence(r))
			return fail_at(r, MQ_ECORRUPT, "batch offset out of sequence");
		if (r->cur.max_timestamp >= ts && r->cur.last_offset >= from &&
		    !r->cur.control) {
			rc = mq_rec_iter_start(&r->it, b, len, &r->cur);
			if (rc < 0)
				return fail_at(r, rc, NULL);
			mq_record rec;
			while ((rc = mq_rec_iter_next(&r->it, &rec)) == 1)
				if (rec.offset >= from && rec.timestamp >= ts) {
					/* The scanner stays at this batch, and
					 * last_seen at its predecessor's. */
					r->next = rec.offset;
					return 1;
				}
			if (rc < 0)
				return fail_at(r, rc, NULL);
		}
		r->last_seen = r->cur.last_offset;
		mq_scan_skip(&r->sc, &r->cur);
		/* So that an error names the offset where it was found. */
		if (r->cur.last_offset >= r->next && r->cur.last_offset < INT64_MAX)
			r->next = r->cur.last_offset + 1;
	}
}

int mq_reader_seek_time(mq_reader *r, int64_t ts)
{
	int64_t *bases;
	size_t n;
	int rc = mq_seg_list(r->dir, &bases, NULL, &n);
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", r->t->name, r->p);
	close_segment(r);
	if (n > 0 && (rc = refresh_log_start(r, bases[0])) < 0) {
		free(bases);
		return mq_fail_prefix(rc, "topic '%s' partition %d", r->t->name, r->p);
	}
	for (size_t i = 0; i < n; i++) {
		/* Segments wholly below the log start offset do not count. */
		if (i + 1 < n && bases[i + 1] <= r->log_start)
			continue;
		rc = find_time(r, bases[i], ts, i + 1 < n);
		if (rc == MQ_EIO && errno == ENOENT && i + 1 < n)
			rc = 0; /* deleted by retention meanwhile */
		if (rc != 0)
			break;
	}
	free(bases);
	if (rc == 1) {
		if (r->next < r->log_start) {
			rc = mq_reader_seek(r, r->log_start);
			return rc < 0 ? rc : MQ_OK;
		}
		return MQ_OK;
	}
	if (rc < 0)
		return rc;
	int64_t start, end;
	rc = mq_log_offsets(r->t, r->p, &start, &end);
	if (rc < 0)
		return rc;
	rc = mq_reader_seek(r, end);
	return rc < 0 ? rc : MQ_OK;
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
	rc = refresh_log_start(r, n > 0 ? bases[0] : -1);
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
		return fail_at(r, MQ_ECORRUPT, "incomplete batch at the end of a "
		               "closed segment");
	rc = open_segment(r, nb, 0);
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
				return fail_at(r, rc, NULL);
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
			rc = refresh_log_start(r, -1);
			if (rc < 0)
				return fail_at(r, rc, "log start offset");
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
				return fail_at(r, MQ_ECORRUPT, "CRC mismatch");
			}
			r->crc_retry = 0;
			if (!offsets_in_sequence(r))
				return fail_at(r, MQ_ECORRUPT,
				               "batch offset out of sequence");
			r->last_seen = r->cur.last_offset;
			if (r->cur.last_offset < r->next || r->cur.control) {
				mq_scan_skip(&r->sc, &r->cur);
				continue;
			}
			rc = mq_rec_iter_start(&r->it, b, len, &r->cur);
			if (rc < 0)
				return fail_at(r, rc, NULL);
			r->in_batch = 1;
			continue;
		}
		if (rc == MQ_ECORRUPT)
			return fail_at(r, rc, NULL);
		if (rc < 0)
			return fail_at(r, rc, NULL);
		rc = next_segment(r);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return rc == MQ_ECORRUPT ? rc
			                         : mq_fail_prefix(rc, "topic '%s' partition %d",
			                                          r->t->name, r->p);
	}
}
