/*
 * outbuf.c - buffered output through write(2).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "outbuf.h"

int ob_init(struct outbuf *ob, int fd, size_t cap)
{
	memset(ob, 0, sizeof *ob);
	ob->fd = fd;
	ob->cap = cap;
	ob->buf = malloc(cap);
	return ob->buf ? 0 : -1;
}

void ob_free(struct outbuf *ob)
{
	free(ob->buf);
	ob->buf = NULL;
	ob->len = ob->cap = 0;
}

/*
 * Once *ob->stop is set the writer gives up on a descriptor that stays
 * unwritable this long, and writes in small pieces that cannot block.
 */
#define STOP_GRACE_MS 1000
#define STOP_CHUNK 4096

/* Records a failed write in ob and returns -1. */
static int failed(struct outbuf *ob, int err, int quiet)
{
	ob->failed = 1;
	ob->err = err;
	ob->broken = quiet || err == EPIPE;
	return -1;
}

/* Writes all of p, or records the failure in ob and returns -1. */
static int write_all(struct outbuf *ob, const char *p, size_t n)
{
	while (n > 0) {
		size_t chunk = n;
		if (ob->stop && *ob->stop) {
			/* Stopping: flush what the reader still takes, but
			 * never block for good on a stalled pipe. */
			struct pollfd pfd = { .fd = ob->fd, .events = POLLOUT };
			if (poll(&pfd, 1, STOP_GRACE_MS) <= 0)
				return failed(ob, EINTR, 1);
			if (chunk > STOP_CHUNK)
				chunk = STOP_CHUNK;
		}
		ssize_t w = write(ob->fd, p, chunk);
		if (w >= 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { .fd = ob->fd, .events = POLLOUT };
			if (poll(&pfd, 1, -1) >= 0 || errno == EINTR)
				continue;
		}
		return failed(ob, errno, 0);
	}
	return 0;
}

int ob_flush(struct outbuf *ob)
{
	if (ob->failed) {
		ob->len = 0;
		return -1;
	}
	size_t n = ob->len;
	ob->len = 0;
	return write_all(ob, ob->buf, n);
}

void ob_write_slow(struct outbuf *ob, const void *p, size_t n)
{
	if (ob->failed)
		return;
	if (ob_flush(ob) < 0)
		return;
	if (n >= ob->cap) {
		write_all(ob, p, n);
		return;
	}
	memcpy(ob->buf, p, n);
	ob->len = n;
}

void ob_put_i64(struct outbuf *ob, int64_t v)
{
	char tmp[24];
	char *e = tmp + sizeof tmp, *s = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--s = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--s = '-';
	ob_write(ob, s, (size_t)(e - s));
}

void ob_put_be32(struct outbuf *ob, uint32_t v)
{
	char b[4] = { (char)(v >> 24), (char)(v >> 16), (char)(v >> 8),
	              (char)v };
	ob_write(ob, b, 4);
}
