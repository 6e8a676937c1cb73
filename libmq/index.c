/*
 * index.c - the sparse .index and .timeindex files: loading, sanity
 * checks, binary search and entry encoding.  Both are derived data: a
 * damaged index is never trusted, only made to start scans earlier.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "segment.h"
#include "varint.h"

/* read_all reads the whole file at path into a malloc'ed buffer. */
static int read_all(const char *path, uint8_t **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO put there must not make the open wait. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return MQ_OK;
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return mq_fail(MQ_EIO, "cannot stat '%s'", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return mq_fail(MQ_EIO, "'%s' is not a file", path);
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf) {
		close(fd);
		return mq_fail(MQ_ENOMEM, "reading '%s'", path);
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return mq_fail(MQ_EIO, "cannot read '%s'", path);
		}
		if (r == 0)
			break; /* shrunk while reading: use what is there */
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = got;
	return MQ_OK;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int mq_index_load(const char *path, int64_t base, mq_idx **out, size_t *n)
{
	uint8_t *data;
	size_t len;
	*out = NULL;
	*n = 0;
	int rc = read_all(path, &data, &len);
	if (rc < 0)
		return rc;
	size_t cnt = len / MQ_INDEX_ENTRY;
	/* Kafka preallocates: a zero entry after the first ends the index. */
	for (size_t i = 1; i < cnt; i++)
		if (all_zero(data + i * MQ_INDEX_ENTRY, MQ_INDEX_ENTRY)) {
			cnt = i;
			break;
		}
	mq_idx *e = malloc((cnt ? cnt : 1) * sizeof *e);
	if (!e) {
		free(data);
		return mq_fail(MQ_ENOMEM, "reading '%s'", path);
	}
	for (size_t i = 0; i < cnt; i++) {
		const uint8_t *p = data + i * MQ_INDEX_ENTRY;
		/* An offset past INT64_MAX cannot be: the index ends. */
		if (__builtin_add_overflow(base, (int64_t)mq_be32(p),
		                           &e[i].offset)) {
			cnt = i;
			break;
		}
		e[i].position = mq_be32(p + 4);
	}
	free(data);
	*out = e;
	*n = cnt;
	return MQ_OK;
}

int mq_timeindex_load(const char *path, int64_t base, mq_tidx **out,
                      size_t *n)
{
	uint8_t *data;
	size_t len;
	*out = NULL;
	*n = 0;
	int rc = read_all(path, &data, &len);
	if (rc < 0)
		return rc;
	size_t cnt = len / MQ_TIMEINDEX_ENTRY;
	/*
	 * Unlike an .index, whose first entry (offset base at position 0)
	 * is true of every segment even when it is all zeros, a zero first
	 * entry here would claim "no timestamp above 0 up to the base
	 * offset" and make a seek by time skip the first record of a
	 * preallocated Kafka .timeindex: zeros end the index from the start.
	 */
	for (size_t i = 0; i < cnt; i++)
		if (all_zero(data + i * MQ_TIMEINDEX_ENTRY, MQ_TIMEINDEX_ENTRY)) {
			cnt = i;
			break;
		}
	mq_tidx *e = malloc((cnt ? cnt : 1) * sizeof *e);
	if (!e) {
		free(data);
		return mq_fail(MQ_ENOMEM, "reading '%s'", path);
	}
	for (size_t i = 0; i < cnt; i++) {
		const uint8_t *p = data + i * MQ_TIMEINDEX_ENTRY;
		e[i].timestamp = (int64_t)mq_be64(p);
		if (__builtin_add_overflow(base, (int64_t)mq_be32(p + 8),
		                           &e[i].offset)) {
			cnt = i;
			break;
		}
	}
	free(data);
	*out = e;
	*n = cnt;
	return MQ_OK;
}

size_t mq_index_sane(const mq_idx *e, size_t n, uint64_t log_size)
{
	for (size_t i = 0; i < n; i++) {
		if (e[i].position >= log_size)
			return i;
		if (i > 0 && (e[i].offset <= e[i - 1].offset ||
		              e[i].position <= e[i - 1].position))
			return i;
	}
	return n;
}

size_t mq_timeindex_sane(const mq_tidx *e, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (e[i].timestamp < e[i - 1].timestamp ||
		    e[i].offset < e[i - 1].offset)
			return i;
	return n;
}

ssize_t mq_index_floor(const mq_idx *e, size_t n, int64_t target)
{
	ssize_t lo = 0, hi = (ssize_t)n - 1, best = -1;
	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		if (e[mid].offset <= target) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

ssize_t mq_timeindex_below(const mq_tidx *e, size_t n, int64_t ts)
{
	ssize_t lo = 0, hi = (ssize_t)n - 1, best = -1;
	while (lo <= hi) {
		ssize_t mid = lo + (hi - lo) / 2;
		if (e[mid].timestamp < ts) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

void mq_index_entry(uint8_t out[MQ_INDEX_ENTRY], int64_t base, int64_t offset,
                    uint64_t position)
{
	mq_put_be32(out, (uint32_t)(offset - base));
	mq_put_be32(out + 4, (uint32_t)position);
}

void mq_timeindex_entry(uint8_t out[MQ_TIMEINDEX_ENTRY], int64_t base,
                        int64_t timestamp, int64_t offset)
{
	mq_put_be64(out, (uint64_t)timestamp);
	mq_put_be32(out + 8, (uint32_t)(offset - base));
}

uint64_t mq_segment_start_position(const char *dir, int64_t base,
                                   int64_t target, uint64_t log_size)
{
	char path[PATH_MAX];
	if (mq_seg_path(path, sizeof path, dir, base, ".log") < 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	uint64_t pos = mq_segment_start_fd(dir, base, fd, target, log_size);
	close(fd);
	return pos;
}

/* Headers a check of a .timeindex entry reads at most, walking forward. */
#define TIDX_WALK_LIMIT 1024

int mq_batch_header_at(int fd, uint64_t pos, uint64_t log_size,
                       mq_batch_info *info)
{
	uint8_t h[MQ_BATCH_HEADER];
	size_t got = 0;
	if (pos >= log_size || log_size - pos < MQ_BATCH_HEADER)
		return 0;
	while (got < sizeof h) {
		ssize_t r = pread(fd, h + got, sizeof h - got, (off_t)(pos + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		got += (size_t)r;
	}
	if (mq_batch_parse_header(h, sizeof h, info) != 1)
		return 0;
	if ((uint64_t)info->length + MQ_BATCH_LOG_OVERHEAD > log_size - pos)
		return 0;
	info->position = pos;
	return 1;
}

int mq_index_entry_ok(int fd, int64_t base, const mq_idx *e,
                      uint64_t log_size, mq_batch_info *info)
{
	return mq_batch_header_at(fd, e->position, log_size, info) &&
	       info->base_offset >= base && info->base_offset <= e->offset &&
	       e->offset <= info->last_offset;
}

uint64_t mq_index_start(int fd, int64_t base, const mq_idx *e, size_t n,
                        int64_t target, uint64_t log_size)
{
	ssize_t i = mq_index_floor(e, n, target);
	/* A few entries back at most: a damaged index is not worth more. */
	for (int tries = 0; i >= 0 && tries < 8; i--, tries++) {
		mq_batch_info info;
		if (mq_index_entry_ok(fd, base, &e[i], log_size, &info))
			return e[i].position;
	}
	return 0;
}

int mq_timeindex_entry_ok(int fd, int64_t base, const mq_idx *ie, size_t ni,
                          const mq_tidx *te, uint64_t log_size)
{
	if (te->offset < base)
		return 0;
	uint64_t pos = mq_index_start(fd, base, ie, ni, te->offset, log_size);
	int64_t prev = base - 1;
	for (int steps = 0; steps < TIDX_WALK_LIMIT; steps++) {
		mq_batch_info info;
		if (!mq_batch_header_at(fd, pos, log_size, &info) ||
		    info.base_offset <= prev)
			return 0;
		if (info.last_offset >= te->offset)
			return info.base_offset <= te->offset &&
			       info.max_timestamp == te->timestamp;
		prev = info.last_offset;
		pos += (uint64_t)info.length + MQ_BATCH_LOG_OVERHEAD;
	}
	return 0;
}

uint64_t mq_segment_start_fd(const char *dir, int64_t base, int fd,
                             int64_t target, uint64_t log_size)
{
	char path[PATH_MAX];
	mq_idx *e;
	size_t n;
	if (mq_seg_path(path, sizeof path, dir, base, ".index") < 0 ||
	    mq_index_load(path, base, &e, &n) < 0)
		return 0;
	n = mq_index_sane(e, n, log_size);
	uint64_t pos = mq_index_start(fd, base, e, n, target, log_size);
	free(e);
	return pos;
}
