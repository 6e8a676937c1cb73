/*
 * framing.c - reading an input and cutting it into records, for mq-produce.
 *
 * Input is read in large chunks into one buffer and cut into records in
 * place (memchr/memmem for delimiters, a 4-byte length for
 * --length-prefixed, a line for --json); each record goes to the caller's
 * callback.  A large regular file is read ahead by the worker thread
 * (readahead.c) and framed in its pieces, the unfinished record at the end
 * of one piece copied in front of the next.  A record that grows past what
 * max.message.bytes allows is not buffered: the rest of it is read and
 * dropped while its length is counted, so memory stays bounded whatever
 * the input.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framing.h"
#include "readahead.h"
#include "tool.h"

#define CHUNK ((size_t)1 << 20)

/* The input: unconsumed bytes are buf[start, end).  buf is own, the
 * buffer this file allocates, or (reading ahead) a piece of ra's. */
static char *buf, *own;
static size_t own_cap, start, end;
static struct readahead *ra;
/* The framing of the input being read. */
static struct framing *f;

/* Formats a message about the current record for f->bad. */
__attribute__((format(printf, 2, 3)))
static void bad(const struct input *in, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	f->bad(in, msg);
}

/* frame_free frees the input buffer. */
void frame_free(void)
{
	free(own);
	buf = own = NULL;
	own_cap = start = end = 0;
}

/* Moves the unconsumed bytes into own, at its start, and grows own so
 * that room bytes fit after them. */
static void own_room(size_t room)
{
	size_t tail = end - start, n;

	if (buf == own && start > 0) {
		memmove(own, own + start, tail);
		end = tail;
		start = 0;
	}
	if (own_cap >= tail + room) {
		if (buf != own)
			memcpy(own, buf + start, tail);
	} else {
		char *p;
		n = own_cap ? own_cap * 2 : CHUNK;
		while (n < tail + room)
			n *= 2;
		if (buf == own) {
			if (!(p = realloc(own, n)))
				die(EXIT_ERROR, "out of memory");
		} else {
			if (!(p = malloc(n)))
				die(EXIT_ERROR, "out of memory");
			memcpy(p, buf + start, tail);
			free(own);
		}
		own = p;
		own_cap = n;
	}
	buf = own;
	start = 0;
	end = tail;
}

/* Grows own so that CHUNK / 2 bytes fit after end, compacting first. */
static void make_room(void)
{
	if (buf == own && own_cap - end >= CHUNK / 2)
		return;
	own_room(CHUNK / 2);
}

/* Reports a failed read of in and ends it. */
static void read_failed(struct input *in)
{
	if (in->fd == 0)
		errorx("cannot read standard input: %s", strerror(errno));
	else
		errorx("cannot read '%s': %s", in->name, strerror(errno));
	in->failed = 1;
}

/*
 * Takes the next piece read ahead.  The unconsumed bytes go in front of
 * it, in the room the piece has there; if they do not fit (a long
 * record), everything is gathered in own.
 */
static size_t fill_ahead(struct input *in)
{
	char *p;
	ssize_t n = readahead_next(ra, &p);
	size_t tail = end - start;

	if (n <= 0) {
		if (n < 0)
			read_failed(in);
		in->eof = 1;
		return 0;
	}
	if (tail <= READAHEAD_ROOM) {
		/* buf is the previous piece (still valid) or own; it is NULL
		 * before the first piece, when there is no tail. */
		if (tail)
			memcpy(p - tail, buf + start, tail);
		buf = p - tail;
		start = 0;
		end = tail + (size_t)n;
	} else {
		own_room((size_t)n);
		memcpy(own + end, p, (size_t)n);
		end += (size_t)n;
	}
	if (f->fresh)
		f->fresh();
	return (size_t)n;
}

/* Reads more input into buf.  Returns the bytes read, 0 at the end of the
 * input or after a read error (reported; the input counts as ended). */
static size_t fill(struct input *in)
{
	ssize_t n;

	if (in->eof)
		return 0;
	if (ra)
		return fill_ahead(in);
	make_room();
	if (in->lingers && f->idle)
		f->idle(in);
	do
		n = read(in->fd, buf + end, own_cap - end);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		if (n < 0)
			read_failed(in);
		in->eof = 1;
		return 0;
	}
	end += (size_t)n;
	if (f->fresh)
		f->fresh();
	return (size_t)n;
}

/*
 * The key delimiter of a record too long to hold, looked for as its bytes
 * go by: pos is the record offset where it starts (-1: not seen yet), and
 * every offset before done has been looked at.  Whatever happens to be
 * buffered past the record is not looked at: it is the next record's.
 */
struct keyscan {
	int64_t pos;
	uint64_t done;
};

/* Whether ks still looks for the key delimiter. */
static int key_wanted(const struct keyscan *ks)
{
	return ks->pos < 0 && f->kdelim && f->mode != FRAME_JSON;
}

/* Looks at the n bytes at p, which are surely the record's, from record
 * offset at on. */
static void key_step(struct keyscan *ks, const char *p, uint64_t at, size_t n)
{
	const char *k;
	size_t from;

	if (!key_wanted(ks) || at + n <= ks->done)
		return;
	from = ks->done > at ? (size_t)(ks->done - at) : 0;
	if ((k = frame_find(p + from, n - from, f->kdelim, f->kdelim_len))) {
		ks->pos = (int64_t)(at + (uint64_t)(k - p));
		return;
	}
	/* A delimiter may start in its last kdelim_len - 1 bytes. */
	if (n - from >= f->kdelim_len)
		ks->done = at + n - (f->kdelim_len - 1);
}

/* Of the record's bytes up to record offset upto, how many at the end are
 * still to look at for the key delimiter (and must be kept). */
static uint64_t key_hold(const struct keyscan *ks, uint64_t upto)
{
	return key_wanted(ks) && upto > ks->done ? upto - ks->done : 0;
}

/* Drops the rest of an over-long delimited record, counting its bytes,
 * and reports it. */
static void skip_delimited(struct input *in)
{
	struct keyscan ks = { -1, 0 };
	uint64_t len = 0;       /* record bytes before buf + start */

	for (;;) {
		size_t avail = end - start, keep;
		const char *hit = frame_find(buf + start, avail, f->delim,
		    f->delim_len);

		if (hit) {
			size_t n = (size_t)(hit - (buf + start));
			key_step(&ks, buf + start, len, n);
			len += n;
			start += n + f->delim_len;
			break;
		}
		if (in->eof) {
			key_step(&ks, buf + start, len, avail);
			len += avail;
			start = end;
			break;
		}
		/* The last delim_len - 1 bytes may start the delimiter. */
		keep = avail < f->delim_len - 1 ? avail : f->delim_len - 1;
		key_step(&ks, buf + start, len, avail - keep);
		if (key_hold(&ks, len + avail) > keep)
			keep = (size_t)key_hold(&ks, len + avail);
		len += avail - keep;
		start = end - keep;
		fill(in);
	}
	f->too_long(in, ks.pos, len);
}

/* Frames records ending with the delimiter (JSON Lines: a newline); the
 * last record of the input needs none. */
static void frame_delimited(struct input *in)
{
	size_t scan = 0;

	for (;;) {
		size_t avail = end - start;
		const char *p = buf + start, *hit = NULL;

		if (avail > scan)
			hit = frame_find(p + scan, avail - scan, f->delim,
			    f->delim_len);
		if (hit) {
			f->recno++;
			start += (size_t)(hit - p) + f->delim_len;
			scan = 0;
			f->record(in, p, hit - p);
			continue;
		}
		if (in->eof) {
			if (avail) {
				f->recno++;
				start = end;
				f->record(in, p, (ssize_t)avail);
			}
			return;
		}
		scan = avail >= f->delim_len ? avail - (f->delim_len - 1) : 0;
		if (avail > f->raw_limit) {
			f->recno++;
			skip_delimited(in);
			scan = 0;
			continue;
		}
		fill(in);
	}
}

/* Frames records as a 4-byte big-endian length and that many bytes; the
 * length 0xffffffff (-1) is a null record. */
static void frame_length(struct input *in)
{
	for (;;) {
		size_t avail;
		uint32_t n;

		while (end - start < 4 && fill(in))
			;
		if ((avail = end - start) == 0)
			return;
		f->recno++;
		if (avail < 4) {
			start = end;
			return bad(in, "truncated length prefix: %zu of "
			    "4 bytes", avail);
		}
		const unsigned char *q = (const unsigned char *)buf + start;
		n = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
		    (uint32_t)q[2] << 8 | q[3];
		start += 4;
		if (n == UINT32_MAX) {
			f->record(in, NULL, -1);
			continue;
		}
		if (n > INT32_MAX) {
			/* The framing is lost: nothing after this can be
			 * trusted, so the input ends here either way. */
			start = end;
			in->failed = 1;
			return bad(in, "invalid length prefix 0x%08" PRIx32,
			    n);
		}
		if (n > (uint64_t)f->raw_limit) {
			struct keyscan ks = { -1, 0 };
			uint64_t left = n;
			for (;;) {
				size_t take = end - start < left ?
				    end - start : (size_t)left;
				uint64_t at = n - left;
				key_step(&ks, buf + start, at, take);
				/* Bytes that may start a key delimiter stay,
				 * unless the record ends here. */
				if (take < left)
					take -= (size_t)key_hold(&ks, at + take);
				start += take;
				left -= take;
				if (!left || !fill(in))
					break;
			}
			f->too_long(in, ks.pos, n);
			continue;
		}
		while (end - start < n && fill(in))
			;
		if ((avail = end - start) < n) {
			start = end;
			return bad(in, "truncated record: %zu of %" PRIu32
			    " bytes", avail, n);
		}
		start += n;
		f->record(in, buf + start - n, (ssize_t)n);
	}
}

/* frame_input reads in to its end, handing each record to f->record. */
void frame_input(struct framing *fr, struct input *in)
{
	struct stat st;

	f = fr;
	in->lingers = fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode);
	in->eof = 0;
	in->failed = 0;
	buf = own;
	start = end = 0;
	/* A large file is read by the worker thread while this one frames
	 * (what is left of it: parallel.c may have done the rest). */
	if (!in->lingers &&
	    st.st_size - lseek(in->fd, 0, SEEK_CUR) >= READAHEAD_MIN)
		ra = readahead_start(in->fd, f->worker);
	if (f->mode == FRAME_LENGTH)
		frame_length(in);
	else
		frame_delimited(in);
	readahead_stop(ra);
	ra = NULL;
	buf = own;
	start = end = 0;
}

/* frame_unescape parses a delimiter argument with C escapes into a new
 * buffer; a bad escape or an empty result is a usage error. */
char *frame_unescape(const char *arg, size_t *len, const char *opt)
{
	char *out = malloc(strlen(arg) + 1), *o = out;
	const char *s = arg;

	if (!out)
		die(EXIT_ERROR, "out of memory");
	while (*s) {
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		switch (*++s) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case '0': *o++ = '\0'; break;
		case '\\': *o++ = '\\'; break;
		case 'x':
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2])) {
				free(out);
				usage_error("invalid \\x escape in %s '%s'",
				    opt, arg);
			}
			*o++ = (char)strtol((char[]){ s[1], s[2], 0 }, NULL,
			    16);
			s += 2;
			break;
		default:
			free(out);
			usage_error("invalid escape in %s '%s'", opt, arg);
		}
		s++;
	}
	*len = (size_t)(o - out);
	if (!*len) {
		free(out);
		usage_error("empty %s", opt);
	}
	return out;
}

