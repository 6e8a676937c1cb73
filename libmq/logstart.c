/*
 * logstart.c - the persisted log start offset of a partition
 * (TOPIC-N/mq.log-start) and the end of a segment as retention sees it:
 * its largest timestamp and the offset after its last batch.
 *
 * Kafka keeps log start offsets in a checkpoint file per log directory;
 * mq keeps one small file per partition instead, replaced atomically under
 * the partition lock, so that a partition directory stays self-contained.
 * A partition's log start offset is the larger of that file's value and
 * the base offset of its first segment.
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
#include "error.h"
#include "internal.h"
#include "nofollow.h"
#include "retain.h"
#include "segment.h"

int mq_log_start_load(const char *dir, int64_t *offset)
{
	char path[PATH_MAX], buf[32];
	*offset = -1;
	if (snprintf(path, sizeof path, "%s/%s", dir, MQ_LOG_START_FILE) >=
	    (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", dir);
	int fd = mq_open_nofollow(path, O_RDONLY, 0);
	if (fd < 0)
		return fd == MQ_EIO && errno == ENOENT ? MQ_OK : fd;
	ssize_t n;
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return mq_fail(MQ_EIO, "cannot read '%s'", path);
	}
	buf[n] = '\0';
	int64_t v = 0;
	ssize_t i = 0;
	for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (v > (INT64_MAX - (buf[i] - '0')) / 10)
			break;
		v = v * 10 + (buf[i] - '0');
	}
	if (i == 0 || i + 1 != n || buf[i] != '\n')
		return mq_fail(MQ_ECORRUPT, "'%s' does not hold a log start offset",
		               path);
	*offset = v;
	return MQ_OK;
}

int mq_log_start_store(const char *dir, int64_t offset)
{
	char path[PATH_MAX], buf[32];
	if (snprintf(path, sizeof path, "%s/%s", dir, MQ_LOG_START_FILE) >=
	    (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", dir);
	int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", offset);
	return mq_write_file_atomic(path, buf, (size_t)n);
}

int mq_log_start_effective(const char *dir, int64_t first_base, int64_t *out)
{
	int64_t v;
	int rc = mq_log_start_load(dir, &v);
	if (rc < 0)
		return rc;
	*out = v > first_base ? v : first_base;
	if (*out < 0)
		*out = 0;
	return MQ_OK;
}

/*
 * trusted_start returns the position from which a scan of the segment
 * must start for its largest timestamp: the last sane .index entry when
 * the whole .timeindex is sane and not empty (its last entry then covers
 * every batch up to that position), else 0.
 */
static uint64_t trusted_start(const char *dir, int64_t base, int fd,
                              uint64_t size, int64_t *tidx_ts)
{
	char path[PATH_MAX];
	mq_tidx *te = NULL;
	size_t nt = 0;
	*tidx_ts = -1;
	if (mq_seg_path(path, sizeof path, dir, base, ".timeindex") < 0 ||
	    mq_timeindex_load(path, base, &te, &nt) < 0)
		return 0;
	int ok = nt > 0 && mq_timeindex_sane(te, nt) == nt;
	if (ok)
		*tidx_ts = te[nt - 1].timestamp;
	free(te);
	if (!ok)
		return 0;
	uint64_t pos = mq_segment_start_position(dir, base, INT64_MAX, size);
	if (pos == 0)
		return 0;
	/* The entry must point at a whole batch with a good CRC. */
	mq_scan sc;
	mq_scan_init(&sc, fd, pos);
	const uint8_t *b;
	mq_batch_info info;
	ok = mq_scan_next(&sc, &b, &info) == 1 &&
	     mq_batch_check_crc(b, (size_t)info.length + MQ_BATCH_LOG_OVERHEAD) &&
	     info.base_offset >= base;
	mq_scan_free(&sc);
	return ok ? pos : 0;
}

int mq_segment_scan_tail(const char *dir, int64_t base, int64_t *max_ts,
                         int64_t *next)
{
	char path[PATH_MAX];
	*max_ts = -1;
	*next = base;
	int rc = mq_seg_path(path, sizeof path, dir, base, ".log");
	if (rc < 0)
		return rc;
	int fd = mq_open_nofollow(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = mq_fail(MQ_EIO, "cannot stat '%s'", path);
		close(fd);
		return rc;
	}
	int64_t tidx_ts;
	uint64_t pos = trusted_start(dir, base, fd, (uint64_t)st.st_size,
	                             &tidx_ts);
	if (pos > 0)
		*max_ts = tidx_ts;
	mq_scan sc;
	mq_scan_init(&sc, fd, pos);
	for (;;) {
		const uint8_t *b;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &b, &info);
		if (rc != 1)
			break;
		if (!mq_batch_check_crc(b, (size_t)info.length +
		                        MQ_BATCH_LOG_OVERHEAD))
			break;
		if (info.max_timestamp > *max_ts)
			*max_ts = info.max_timestamp;
		*next = info.last_offset + 1;
		mq_scan_skip(&sc, &info);
	}
	mq_scan_free(&sc);
	close(fd);
	if (rc == MQ_EIO)
		return mq_fail_prefix(rc, "'%s'", path);
	return rc == MQ_ENOMEM ? rc : MQ_OK;
}
