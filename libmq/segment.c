/*
 * segment.c - segment file naming, listing and buffered batch scanning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "nofollow.h"
#include "segment.h"

#define SCAN_CHUNK (1u << 20) /* bytes read per pread when scanning */

int mq_seg_path(char *buf, size_t len, const char *dir, int64_t base,
                const char *ext)
{
	int n = snprintf(buf, len, "%s/%020" PRId64 "%s", dir, base, ext);
	if (n < 0 || (size_t)n >= len)
		return mq_fail(MQ_EINVAL, "path too long in '%s'", dir);
	return MQ_OK;
}

/* parse_log_name returns 1 and the base offset if NAME is "<20 digits>.log". */
static int parse_log_name(const char *name, int64_t *base)
{
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	if (strcmp(name + 20, ".log") != 0)
		return 0;
	*base = v;
	return 1;
}

struct seg_ent {
	int64_t base;
	uint64_t ino;
};

static int cmp_seg(const void *a, const void *b)
{
	const struct seg_ent *x = a, *y = b;
	return (x->base > y->base) - (x->base < y->base);
}

int mq_seg_list(const char *dir, int64_t **bases, uint64_t **inos, size_t *n)
{
	*bases = NULL;
	if (inos)
		*inos = NULL;
	*n = 0;
	/* A partition directory that is a symbolic link is not followed. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		int rc;
		if (fd >= 0) {
			int e = errno;
			close(fd);
			errno = e;
		} else if ((rc = mq_refuse_symlink(dir)) < 0)
			return rc;
		return mq_fail(MQ_EIO, "cannot open partition directory '%s'", dir);
	}
	struct seg_ent *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int64_t base;
		if (!parse_log_name(de->d_name, &base))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			struct seg_ent *nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				free(v);
				closedir(d);
				return mq_fail(MQ_ENOMEM, "listing '%s'", dir);
			}
			v = nv;
		}
		v[cnt].base = base;
		v[cnt].ino = de->d_ino;
		cnt++;
	}
	closedir(d);
	if (cnt == 0) {
		free(v);
		return MQ_OK;
	}
	qsort(v, cnt, sizeof *v, cmp_seg);
	int64_t *b = malloc(cnt * sizeof *b);
	uint64_t *ino = inos ? malloc(cnt * sizeof *ino) : NULL;
	if (!b || (inos && !ino)) {
		free(b);
		free(ino);
		free(v);
		return mq_fail(MQ_ENOMEM, "listing '%s'", dir);
	}
	for (size_t i = 0; i < cnt; i++) {
		b[i] = v[i].base;
		if (ino)
			ino[i] = v[i].ino;
	}
	free(v);
	*bases = b;
	if (inos)
		*inos = ino;
	*n = cnt;
	return MQ_OK;
}

void mq_scan_init(mq_scan *s, int fd, uint64_t pos)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	s->pos = pos;
	s->buf_start = pos;
	s->eof_at = UINT64_MAX;
}

void mq_scan_free(mq_scan *s)
{
	mq_buf_free(&s->buf);
}

void mq_scan_seek(mq_scan *s, uint64_t pos)
{
	s->pos = pos;
}

/*
 * fill makes bytes [s->pos, s->pos + need) available in the buffer if the
 * file has them.  Returns 1 if they are there, 0 if the file is shorter,
 * MQ_EIO or MQ_ENOMEM on failure.
 */
static int fill(mq_scan *s, size_t need)
{
	uint64_t end = s->buf_start + s->buf.len;
	if (s->pos >= s->buf_start && s->pos + need <= end)
		return 1;
	/* Keep what is buffered past pos; drop what is before it. */
	if (s->pos >= s->buf_start && s->pos < end) {
		size_t keep = (size_t)(end - s->pos);
		memmove(s->buf.data, s->buf.data + (s->pos - s->buf_start), keep);
		s->buf.len = keep;
	} else {
		s->buf.len = 0;
	}
	s->buf_start = s->pos;
	if (need > SCAN_CHUNK) {
		/* Do not allocate what a (possibly damaged) header claims
		 * before the file is known to hold it. */
		struct stat st;
		if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size < s->pos + need) {
			s->eof_at = (uint64_t)st.st_size;
			s->buf.len = 0;
			return 0;
		}
	}
	size_t want = need > SCAN_CHUNK ? need : SCAN_CHUNK;
	if (s->buf.len < want) {
		int rc = mq_buf_reserve(&s->buf, want - s->buf.len);
		if (rc < 0)
			return rc;
	}
	while (s->buf.len < need) {
		size_t room = s->buf.cap - s->buf.len;
		ssize_t r = pread(s->fd, s->buf.data + s->buf.len, room,
		                  (off_t)(s->buf_start + s->buf.len));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return mq_fail(MQ_EIO, "cannot read segment at position %" PRIu64,
			               s->buf_start + s->buf.len);
		}
		if (r == 0) {
			/* Forget the partial tail: a recovering writer may replace it. */
			s->eof_at = s->buf_start + s->buf.len;
			s->buf.len = 0;
			return 0;
		}
		s->buf.len += (size_t)r;
	}
	return 1;
}

int mq_scan_next(mq_scan *s, const uint8_t **batch, mq_batch_info *info)
{
	int rc = fill(s, MQ_BATCH_HEADER);
	if (rc <= 0)
		return rc;
	const uint8_t *p = s->buf.data + (s->pos - s->buf_start);
	rc = mq_batch_parse_header(p, MQ_BATCH_HEADER, info);
	if (rc < 0)
		return mq_fail(rc, "invalid batch header at position %" PRIu64, s->pos);
	info->position = s->pos;
	size_t total = (size_t)info->length + MQ_BATCH_LOG_OVERHEAD;
	rc = fill(s, total);
	if (rc <= 0)
		return rc;
	*batch = s->buf.data + (s->pos - s->buf_start);
	return 1;
}

void mq_scan_skip(mq_scan *s, const mq_batch_info *info)
{
	s->pos = info->position + (uint64_t)info->length + MQ_BATCH_LOG_OVERHEAD;
}

void mq_scan_invalidate(mq_scan *s)
{
	s->buf.len = 0;
	s->buf_start = s->pos;
}
