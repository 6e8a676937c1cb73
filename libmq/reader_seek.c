/*
 * reader_seek.c - where a reader starts: seeking by offset (through the
 * sparse .index, checked against the log), by timestamp (through the
 * .timeindex), and the partition's log start and end offsets, the end
 * found by a header scan of the last segment from its last good .index
 * entry.  reader.c has the rules a reader follows.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "compact.h"
#include "error.h"
#include "internal.h"
#include "reader.h"
#include "retain.h"
#include "segment.h"

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
	int rc = mq_reader_open_segment(r, base, 0);
	if (rc < 0)
		return rc;
	struct stat st;
	if (fstat(r->fd, &st) < 0)
		return mq_fail(MQ_EIO, "cannot stat segment %020" PRId64, base);
	uint64_t pos = index_start(r->dir, base, r->fd, target,
	                           (uint64_t)st.st_size, !mq_reader_gaps_ok(r),
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
		/* A batch whose last offset would pass INT64_MAX ends it. */
		if (info.last_offset < info.base_offset)
			break;
		int64_t delta = (int64_t)((uint64_t)info.last_offset -
		                          (uint64_t)info.base_offset);
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
	mq_reader_close_segment(r);
	*moved = 0;
	r->next = offset;
	if (n == 0)
		goto out;
	/* The list first: a log start read after it covers what it lacks. */
	rc = mq_reader_refresh_log_start(r, bases[0]);
	if (rc < 0)
		goto out;
	if (offset < r->log_start) {
		*moved = 1;
		r->next = r->log_start;
	}
	int64_t end;
	rc = tail_end(r->dir, bases[n - 1], !mq_reader_gaps_ok(r), &end);
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
			*pos = start_at(r->fd, base, ie, ni, *from, size,
			                !mq_reader_gaps_ok(r), prev);
		}
	}
	free(ie);
	free(te);
}

/*
 * find_time looks for the first record with timestamp >= ts in segment
 * base.  Returns 1 and positions the reader there, 0 if the segment has
 * none, or an error.  In a closed segment, bytes after the last complete
 * batch are corruption (MQ_ECORRUPT), not "nothing more".
 */
static int find_time(mq_reader *r, int64_t base, int64_t ts, int closed)
{
	int rc = mq_reader_open_segment(r, base, 0);
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
			return mq_reader_fail_at(r, MQ_ECORRUPT, "incomplete batch at "
			                         "the end of a closed segment");
		if (rc != 1)
			return rc == MQ_ECORRUPT ? mq_reader_fail_at(r, rc, NULL) : rc;
		size_t len = (size_t)r->cur.length + MQ_BATCH_LOG_OVERHEAD;
		if (!mq_batch_check_crc(b, len))
			return mq_reader_fail_at(r, MQ_ECORRUPT, "CRC mismatch");
		if (!mq_reader_offsets_in_sequence(r))
			return mq_reader_fail_at(r, MQ_ECORRUPT,
			                         "batch offset out of sequence");
		if (r->cur.max_timestamp >= ts && r->cur.last_offset >= from &&
		    !r->cur.control) {
			rc = mq_rec_iter_start(&r->it, b, len, &r->cur);
			if (rc < 0)
				return mq_reader_fail_at(r, rc, NULL);
			mq_record rec;
			while ((rc = mq_rec_iter_next(&r->it, &rec)) == 1)
				if (rec.offset >= from && rec.timestamp >= ts) {
					/* The scanner stays at this batch, and
					 * last_seen at its predecessor's. */
					r->next = rec.offset;
					return 1;
				}
			if (rc < 0)
				return mq_reader_fail_at(r, rc, NULL);
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
	mq_reader_close_segment(r);
	if (n > 0 && (rc = mq_reader_refresh_log_start(r, bases[0])) < 0) {
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
