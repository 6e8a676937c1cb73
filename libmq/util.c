/*
 * util.c - small helpers: growable buffers, clocks, durable file writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "error.h"
#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

void mq_populate(void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)p + len) & ~(page - 1);

	if (to > from)
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
}

/* grow is mq_buf_reserve; with populate, the pages it adds from
 * MQ_POPULATE_MIN on are populated as well. */
static int grow(mq_buf *b, size_t extra, int populate)
{
	if (b->cap - b->len >= extra)
		return MQ_OK;
	size_t need = b->len + extra;
	if (need < b->len)
		return mq_fail(MQ_ENOMEM, "buffer size overflow");
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return mq_fail(MQ_ENOMEM, "cannot allocate %zu bytes", cap);
	if (populate && cap >= MQ_POPULATE_MIN)
		mq_populate(p + b->cap, cap - b->cap);
	b->data = p;
	b->cap = cap;
	return MQ_OK;
}

int mq_buf_reserve(mq_buf *b, size_t extra)
{
	return grow(b, extra, 1);
}

int mq_buf_make_room(mq_buf *b, size_t extra)
{
	return grow(b, extra, 0);
}

void mq_buf_free(mq_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int64_t mq_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mq_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* write_loop is mq_write_all (pos -1: at the file offset) and
 * mq_pwrite_all (at pos). */
static int write_loop(int fd, const void *buf, size_t len, int64_t pos)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pos < 0 ? write(fd, p, len) :
		                      pwrite(fd, p, len, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		if (pos >= 0)
			pos += n;
	}
	return 0;
}

int mq_write_all(int fd, const void *buf, size_t len)
{
	return write_loop(fd, buf, len, -1);
}

int mq_pwrite_all(int fd, const void *buf, size_t len, uint64_t pos)
{
	return write_loop(fd, buf, len, (int64_t)pos);
}

int mq_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot open directory '%s'", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		int e = errno;
		close(fd);
		errno = e;
		return mq_fail(MQ_EIO, "cannot fsync directory '%s'", path);
	}
	close(fd);
	return MQ_OK;
}

int mq_write_file_atomic(const char *path, const void *data, size_t len)
{
	/* A short temporary name: PATH.tmp could exceed NAME_MAX. */
	char tmp[PATH_MAX], dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	if (snprintf(tmp, sizeof tmp, "%s/.mq-tmp-XXXXXX", dir) >= (int)sizeof tmp)
		return mq_fail(MQ_EINVAL, "path too long: %s", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot create a temporary file in '%s'", dir);
	if (fchmod(fd, 0644) < 0)
		goto fail;
	if (mq_write_all(fd, data, len) < 0)
		goto fail;
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return mq_fsync_dir(dir);
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return mq_fail(MQ_EIO, "cannot write '%s'", path);
}
