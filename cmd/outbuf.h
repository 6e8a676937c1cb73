/*
 * outbuf.h - a large user-space output buffer drained with write(2), for
 * tools that stream records to standard output without a system call or a
 * stdio call per record.
 */
#ifndef MQ_OUTBUF_H
#define MQ_OUTBUF_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct outbuf {
	int fd;
	char *buf;
	size_t len;      /* bytes waiting in buf */
	size_t cap;
	int failed;      /* a write failed; everything after is dropped */
	int broken;      /* quiet failure: EPIPE (the reader went away) or
	                    a stalled write while *stop was set */
	int err;         /* errno of the failed write */
	/* When set and *stop is nonzero, writing gives up quietly (as if
	 * the reader had gone away) once the descriptor stays unwritable
	 * for a second, so a signal can end a write to a stalled pipe. */
	volatile sig_atomic_t *stop;
};

/*
 * ob_init sets up ob to write to fd through a buffer of cap bytes.
 * Returns 0, or -1 if the buffer cannot be allocated.
 */
int ob_init(struct outbuf *ob, int fd, size_t cap);

/* ob_free releases the buffer without flushing it. */
void ob_free(struct outbuf *ob);

/*
 * ob_flush writes everything buffered, retrying short writes and EINTR and
 * waiting out EAGAIN.  Returns 0, or -1 after a failed write; then
 * ob->failed is set, ob->err holds errno, ob->broken is set for EPIPE (and
 * when the descriptor stays unwritable while *ob->stop is set), and
 * every later write is silently dropped.
 */
int ob_flush(struct outbuf *ob);

/*
 * ob_write_slow appends n bytes that do not fit in the free space: it
 * flushes first and writes a chunk larger than the buffer directly.
 * Failures are recorded as for ob_flush.
 */
void ob_write_slow(struct outbuf *ob, const void *p, size_t n);

/* ob_write appends n bytes; failures are recorded as for ob_flush. */
static inline void ob_write(struct outbuf *ob, const void *p, size_t n)
{
	if (n <= ob->cap - ob->len) {
		memcpy(ob->buf + ob->len, p, n);
		ob->len += n;
	} else {
		ob_write_slow(ob, p, n);
	}
}

/* ob_putc appends one byte. */
static inline void ob_putc(struct outbuf *ob, char c)
{
	if (ob->len == ob->cap)
		ob_flush(ob);
	if (ob->len < ob->cap)
		ob->buf[ob->len++] = c;
}

/* ob_puts appends a NUL-terminated string, without the NUL. */
static inline void ob_puts(struct outbuf *ob, const char *s)
{
	ob_write(ob, s, strlen(s));
}

/* ob_put_i64 appends v in decimal. */
void ob_put_i64(struct outbuf *ob, int64_t v);

/* ob_put_be32 appends v as four big-endian bytes. */
void ob_put_be32(struct outbuf *ob, uint32_t v);

#endif
