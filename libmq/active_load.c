/*
 * active_load.c - loading the active segment for the writer: opening its
 * files, telling a torn tail (cut off) from corruption in the middle of
 * the segment (refused), and keeping, completing or rebuilding its .index
 * and .timeindex.
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

/* Bytes after a bad batch searched for a valid one before declaring a
 * torn tail; more than this after a bad batch is never a torn tail. */
#define TAIL_SEARCH_LIMIT (64u << 20)

int mq_valid_batch_follows(int fd, uint64_t bad, uint64_t size)
{
	if (size - bad > TAIL_SEARCH_LIMIT)
		return 1;
	size_t n = (size_t)(size - bad);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return 1; /* when in doubt, do not truncate */
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(bad + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int found = got < n; /* unreadable: do not truncate */
	for (size_t q = 1; !found && q + MQ_BATCH_HEADER <= got; q++) {
		if (buf[q + 16] != 2)
			continue;
		mq_batch_info info;
		if (mq_batch_parse_header(buf + q, got - q, &info) != 1)
			continue;
		size_t len = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
		if (len <= got - q && mq_batch_check_crc(buf + q, len))
			found = 1;
	}
	free(buf);
	return found;
}

static int open_rw(const char *dir, int64_t base, const char *ext, int create,
                   int *fd)
{
	char path[PATH_MAX];
	int rc = mq_seg_path(path, sizeof path, dir, base, ext);
	if (rc < 0)
		return rc;
	*fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
	           0644);
	if (*fd < 0)
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	struct stat st;
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return mq_fail(MQ_EIO, "'%s' is not a regular file", path);
	}
	return MQ_OK;
}

/* write_index replaces an index file with data, atomically, and reopens. */
static int write_index(const char *dir, int64_t base, const char *ext,
                       const mq_buf *data, int *fd, uint64_t *size)
{
	char path[PATH_MAX];
	int rc = mq_seg_path(path, sizeof path, dir, base, ext);
	if (rc < 0)
		return rc;
	rc = mq_write_file_atomic(path, data->data ? (void *)data->data : "",
	                          data->len);
	if (rc < 0)
		return rc;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	rc = open_rw(dir, base, ext, 0, fd);
	if (rc < 0)
		return rc;
	*size = data->len;
	return MQ_OK;
}

/*
 * append_entries writes the entries in b after the first *size bytes of
 * the index file fd, cutting off whatever the file holds past them first
 * (readers meanwhile see fewer entries, never wrong ones).  A failure
 * leaves the index short, which the next load repairs.
 */
static void append_entries(int fd, const mq_buf *b, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	if ((uint64_t)st.st_size > *size && ftruncate(fd, (off_t)*size) < 0)
		return;
	if (b->len && mq_pwrite_all(fd, b->data, b->len, *size) == 0)
		*size += b->len;
}

int mq_segstate_load(mq_segstate *s, const char *dir, int64_t base,
                     int create, char *why, size_t whylen)
{
	int32_t interval = s->index_interval;
	int allow_gaps = s->allow_gaps;
	memset(s, 0, sizeof *s);
	s->index_interval = interval;
	s->allow_gaps = allow_gaps;
	s->log_fd = s->idx_fd = s->tidx_fd = -1;
	s->base = base;
	why[0] = '\0';
	struct mq_rebuild rb = { { 0 }, { 0 } };
	struct stat st;
	int rc = open_rw(dir, base, ".log", create, &s->log_fd);
	if (rc == MQ_OK)
		rc = open_rw(dir, base, ".index", 1, &s->idx_fd);
	if (rc == MQ_OK)
		rc = open_rw(dir, base, ".timeindex", 1, &s->tidx_fd);
	if (rc == MQ_OK && fstat(s->log_fd, &st) < 0)
		rc = mq_fail(MQ_EIO, "cannot stat segment %020" PRId64 " in '%s'",
		             base, dir);
	if (rc < 0)
		goto fail;
	s->ino = st.st_ino;
	uint64_t disk = (uint64_t)st.st_size;

	mq_segstate_reset(s);
	uint64_t start = 0;
	int64_t expect = INT64_MIN;
	int rebuild = !mq_segstate_trusted_start(s, dir, disk, &start, &expect);
	if (rebuild)
		mq_segstate_reset(s);
	for (int pass = 0;; pass++) {
		uint64_t bad = 0;
		const char *bad_why = NULL;
		rc = mq_segstate_scan(s, start, start ? expect : base, &rb, &bad,
		                      &bad_why);
		if (rc < 0)
			goto fail;
		if (rc == 1 && start > 0 && bad == start) {
			/* The indexed batch itself is bad: distrust the index. */
			rc = 2;
		}
		if (rc == 0)
			break;
		if (pass > 3)
			goto corrupt_tail;
		if (rc == 2) {
			rebuild = 1;
			start = 0;
			mq_segstate_reset(s);
			rb.idx.len = rb.tidx.len = 0;
			continue;
		}
		/* rc == 1: a bad batch at 'bad'.  Torn tail or corruption? */
		if (mq_valid_batch_follows(s->log_fd, bad, disk)) {
			rc = mq_fail(MQ_ECORRUPT,
			             "%s at position %" PRIu64 " of segment %020" PRId64
			             ".log in '%s', followed by valid batches; refusing "
			             "to truncate (see mq-inspect --verify; mq-repair "
			             "sets the damage aside)",
			             bad_why, bad, base, dir);
			goto fail;
		}
		if (ftruncate(s->log_fd, (off_t)bad) < 0) {
			rc = mq_fail(MQ_EIO, "cannot truncate torn tail in '%s'", dir);
			goto fail;
		}
		snprintf(why, whylen,
		         "dropped %" PRIu64 " bytes (%s) after the last valid batch "
		         "at position %" PRIu64 " of %020" PRId64 ".log",
		         disk - bad, bad_why, bad, base);
		disk = bad;
		rebuild = 1;
		start = 0;
		mq_segstate_reset(s);
		rb.idx.len = rb.tidx.len = 0;
	}
	if (!rebuild && s->roll_ts < 0 && s->size > 0)
		s->roll_ts = mq_active_first_batch_ts(s->log_fd);
	if (!rebuild) {
		/* Entries a crashed writer did not get to write, or that
		 * were lost: add them after the entries kept. */
		append_entries(s->idx_fd, &rb.idx, &s->idx_size);
		append_entries(s->tidx_fd, &rb.tidx, &s->tidx_size);
	} else {
		rc = write_index(dir, base, ".index", &rb.idx, &s->idx_fd, &s->idx_size);
		if (rc == MQ_OK)
			rc = write_index(dir, base, ".timeindex", &rb.tidx, &s->tidx_fd,
			                 &s->tidx_size);
		if (rc < 0)
			goto fail;
	}
	mq_buf_free(&rb.idx);
	mq_buf_free(&rb.tidx);
	return MQ_OK;
corrupt_tail:
	rc = mq_fail(MQ_ECORRUPT, "segment %020" PRId64 ".log in '%s' cannot be "
	             "recovered", base, dir);
fail:
	mq_buf_free(&rb.idx);
	mq_buf_free(&rb.tidx);
	mq_segstate_close(s);
	return rc;
}
