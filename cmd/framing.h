/*
 * framing.h - reading an input and cutting it into records, for mq-produce.
 */
#ifndef MQ_FRAMING_H
#define MQ_FRAMING_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

struct worker;

enum { FRAME_DELIM, FRAME_LENGTH, FRAME_JSON };

/* One input: a file or standard input. */
struct input {
	int fd;
	const char *name;       /* the file, for read errors */
	const char *label;      /* "FILE" prefix of record errors, or NULL */
	int lingers;            /* reads may block: f->idle runs before them */
	int eof;
	int failed;             /* a read failed or the framing was lost
	                           (reported through f->bad or on stderr) */
};

/* How inputs are cut into records, and where the records go. */
struct framing {
	int mode;               /* FRAME_* */
	const char *delim;      /* FRAME_DELIM and FRAME_JSON: record end */
	size_t delim_len;
	const char *kdelim;     /* -K, to size a too-long record, or NULL */
	size_t kdelim_len;
	size_t raw_limit;       /* longer raw records are surely too big */
	int64_t recno;          /* records seen so far over all inputs */
	struct worker *worker;  /* reads large files ahead, or NULL */

	/* A record (p NULL and len -1: a null record of
	 * --length-prefixed); p points into the input buffer. */
	void (*record)(const struct input *in, const char *p, ssize_t len);
	/* A record known to be too big from its length alone: len bytes,
	 * the key delimiter at kpos (-1: not seen). */
	void (*too_long)(const struct input *in, int64_t kpos, uint64_t len);
	/* An invalid record (truncated, bad length prefix). */
	void (*bad)(const struct input *in, const char *msg);
	/* Before a read that may block (NULL: none). */
	void (*idle)(struct input *in);
	/* After each read that returned data (NULL: none). */
	void (*fresh)(void);
};

/*
 * frame_input reads in to its end, handing each record to fr->record and
 * numbering it in fr->recno.  A read error is reported on stderr and ends
 * the input with in->failed set; so does a lost framing, after fr->bad.
 */
void frame_input(struct framing *fr, struct input *in);

/* frame_free frees the input buffer. */
void frame_free(void);

/*
 * frame_unescape returns a new buffer holding arg with the escapes \n \t
 * \r \0 \\ \xHH decoded, its length in *len; opt names the option in the
 * usage error that an invalid escape or an empty result is.
 */
char *frame_unescape(const char *arg, size_t *len, const char *opt);

/* frame_find finds the delimiter d (dl bytes) in len bytes at p. */
static inline const char *frame_find(const char *p, size_t len, const char *d,
                                     size_t dl)
{
	if (dl == 1)
		return memchr(p, (unsigned char)*d, len);
	return memmem(p, len, d, dl);
}

#endif
