/*
 * lane.c - a lane of mq-produce's parallel path: reading a piece of the
 * file and encoding its records into batches of its own; see parallel.c
 * for how the lanes take pieces and append them in turn.
 *
 * A lane reads with pread(2), PAR_READ bytes at a time, into a buffer of
 * its own, and encodes as it goes; the unfinished record moves to the
 * buffer's start before each read, so the buffer's first few hundred KiB
 * stay in the cache.  A file that ends before it should (it shrank) or a
 * failed read is a piece this path cannot do: read(2) in the ordinary
 * framing then finds the new end or reports the error.
 *
 * Round-robin records are encoded as if the partition counter started at
 * 0; parallel.c moves their batches over by the real counter when it
 * appends them.  Where a piece goes from keyed records to keyless ones or
 * back, every batch filling is closed first, so that moving whole batches
 * keeps the order within each partition; a piece that switches more than
 * MAX_SWITCHES times is left to the ordinary framing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lane.h"
#include "scan.h"
#include "tool.h"

/* A lane's buffer: a piece, the look-ahead and the byte before.  As it
 * slides, a lane uses its first BUF_HOT bytes (a read, the rest of the
 * record before it and a tail read), and more only for a record that
 * long: only those are populated up front. */
#define BUF_BYTES ((size_t)(PAR_PIECE + PAR_LOOK + 1))
#define BUF_HOT (PAR_READ + 4 * PAR_TAIL)

enum { NONE, KEYED, ROTATED };

/* What a record of key and value alone adds to a batch at most, besides
 * their bytes: its length, attributes, timestamp delta (0: a batch holds
 * records of one piece, which share a timestamp), offset delta, the two
 * lengths and the header count. */
#define KV_BOUND (5 + 1 + 1 + 5 + 5 + 5 + 1)

/* Records found by one scan. */
#define SCAN_HITS 256

/* Switches between keyed and keyless records in a piece, at most (each
 * cuts every batch filling). */
#define MAX_SWITCHES 64

/* Moves partition p's filling batch to the ready list; 0 or -1. */
static int close_fill(struct lane *ln, int32_t p)
{
	struct fill *f = &ln->fill[p];

	if (ln->nready == ln->rcap) {
		size_t n = ln->rcap ? ln->rcap * 2 : 16;
		struct ready *r = realloc(ln->ready, n * sizeof *r);
		if (!r)
			return -1;
		ln->ready = r;
		ln->rcap = n;
	}
	ln->ready[ln->nready++] = (struct ready){ f->b, p,
	    ln->mode == ROTATED, f->first };
	f->b = NULL;
	f->count = 0;
	return 0;
}

/* Keeps an empty batch for reuse (frees it if there is no room). */
static void put_free(struct lane *ln, mq_batch *b)
{
	if (ln->nfree == ln->fcap) {
		size_t n = ln->fcap ? ln->fcap * 2 : 16;
		mq_batch **f = realloc(ln->free, n * sizeof *f);
		if (!f) {
			mq_batch_free(b);
			return;
		}
		ln->free = f;
		ln->fcap = n;
	}
	mq_batch_reset(b);
	ln->free[ln->nfree++] = b;
}

/* lane_drop: see lane.h. */
void lane_drop(struct lane *ln)
{
	for (size_t i = 0; i < ln->nready; i++)
		put_free(ln, ln->ready[i].b);
	ln->nready = 0;
	for (int32_t p = 0; p < ln->pa->nparts; p++) {
		if (ln->fill[p].b)
			put_free(ln, ln->fill[p].b);
		ln->fill[p].b = NULL;
		ln->fill[p].count = 0;
	}
}

/* Closes every batch filling and has the next ones filled in mode; -1
 * past MAX_SWITCHES (or out of memory). */
static int switch_mode(struct lane *ln, int mode)
{
	if (ln->mode != NONE && ++ln->switches > MAX_SWITCHES)
		return -1;
	for (int32_t p = 0; p < ln->pa->nparts; p++)
		if (ln->fill[p].count && close_fill(ln, p) < 0)
			return -1;
	ln->mode = mode;
	return 0;
}

/*
 * A new batch for the lane.  The first of each partition (one with -p)
 * gets room for what a piece gives a partition: the piece spread over
 * the partitions, a quarter more for the spread's unevenness, at most the
 * batch size.  Grown in steps instead, the buffer would be copied each
 * time into memory first touched by the copy, at a page fault a page
 * (13 us each on some virtual machines).  Batches beyond those (a piece
 * that goes from records with a key to records without one and back
 * closes every batch filling) grow as they fill: they are kept for reuse
 * until the file is done, and a room each would add up to far too much.
 * NULL if out of memory.
 */
static mq_batch *new_batch(struct lane *ln)
{
	const struct par *pa = ln->pa;
	size_t shares = (size_t)(pa->pi->partition >= 0 ? 1 : pa->nparts);
	size_t room = (size_t)PAR_PIECE / shares;
	mq_batch *b;

	room += room / 4;
	if (room > pa->cap)
		room = pa->cap;
	if (mq_batch_new(pa->pi->pr->compression, &b) < 0)
		return NULL;
	if (ln->made++ < shares && mq_batch_reserve(b, room) < 0) {
		mq_batch_free(b);
		return NULL;
	}
	return b;
}

/* Encodes the record of len bytes at s, whose key delimiter is at k if
 * the scan looked for it (pa->kd); 0 if this path cannot take it. */
static int add_record(struct lane *ln, const char *s, size_t len,
                      const char *k)
{
	struct par *pa = ln->pa;
	const struct par_input *pi = pa->pi;
	mq_record r;
	int32_t p;

	if (pa->kd >= 0)
		rawrec_split_at(pi->rf, s, (ssize_t)len, k, &r);
	else
		rawrec_split(pi->rf, s, (ssize_t)len, &r);
	if (pi->partition >= 0) {
		p = pi->partition;
	} else if (r.key_len >= 0) {
		if (ln->mode != KEYED && switch_mode(ln, KEYED) < 0)
			return 0;
		p = mq_partition_for_key(r.key, (size_t)r.key_len, pa->nparts);
	} else {
		if (ln->mode != ROTATED && switch_mode(ln, ROTATED) < 0)
			return 0;
		p = (int32_t)(ln->keyless++ % pa->nparts);
	}
	size_t add;
	if (r.header_count) {
		size_t rb = record_size(&r);
		if ((int64_t)rb > pi->max_bytes)
			return 0;
		add = rb - PR_BATCH_OVERHEAD + PR_RECORD_SLACK;
	} else {
		/* Key, value and KV_BOUND: no varints to work out. */
		add = (size_t)(r.key_len > 0 ? r.key_len : 0) +
		    (size_t)(r.value_len > 0 ? r.value_len : 0) + KV_BOUND;
		if ((int64_t)(add + PR_BATCH_OVERHEAD) > pi->max_bytes &&
		    (int64_t)record_size(&r) > pi->max_bytes)
			return 0;
	}
	struct fill *f = &ln->fill[p];
	if (f->count && f->est + add > pa->cap && close_fill(ln, p) < 0)
		return 0;
	if (!f->b) {
		if (ln->nfree)
			f->b = ln->free[--ln->nfree];
		else if (!(f->b = new_batch(ln)))
			return 0;
		f->first = ln->records;
		f->est = PR_BATCH_OVERHEAD;
	}
	if ((r.header_count ? (r.timestamp = ln->now, mq_batch_add(f->b, &r)) :
	     mq_batch_add_kv(f->b, r.key, r.key_len, r.value, r.value_len,
	                     ln->now)) < 0)
		return 0;
	f->est += add;
	f->count++;
	ln->records++;
	return 1;
}

/*
 * Reads the next bytes of the window into the lane's buffer, which holds
 * window bytes [base, base + *have) (the window starts at file offset
 * ws and is total bytes long); lim is where the piece ends.  Reads
 * PAR_READ bytes at a time, but past the piece's end PAR_TAIL, then as
 * much again as read there so far (up to PAR_READ): only the rest of its
 * last record is needed.  -1 if the file ended early (it
 * shrank) or a read failed: read(2) will see to it.
 */
static int read_more(struct lane *ln, off_t ws, size_t base, size_t *have,
                     size_t lim, size_t total)
{
	size_t pos = base + *have, to, step;

	if (pos + PAR_READ < lim) {
		to = pos + PAR_READ;
	} else if (pos < lim) {
		to = lim + PAR_TAIL;
	} else {
		/* A long last record: the steps double, up to PAR_READ. */
		step = pos - lim;
		step = step < PAR_TAIL ? PAR_TAIL :
		    step > PAR_READ ? PAR_READ : step;
		to = pos + step;
	}
	if (to > total)
		to = total;
	while (pos < to) {
		ssize_t n = pread(ln->pa->fd, ln->buf + (pos - base), to - pos,
		    ws + (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		pos += (size_t)n;
	}
	*have = pos - base;
	return 0;
}

/*
 * Encodes the records of the piece whose window is file offsets [ws, we)
 * and which ends at b1, reading the window as it goes.  The buffer slides:
 * before each read the unfinished record moves to its start, so that the
 * same few hundred KiB are used over and over and stay in the cache, from
 * pread(2) through encoding.  lead is 1 when ws is the byte before the
 * piece: its first record starts after the first delimiter from there.  A
 * piece whose last record has no delimiter is not taken: the end of the
 * file may have moved.  Records are found SCAN_HITS at a time, from s on.
 * 0 if this path cannot take the piece.
 */
static int frame_piece(struct lane *ln, off_t ws, off_t b1, off_t we,
                       int lead)
{
	const struct par *pa = ln->pa;
	const size_t total = (size_t)(we - ws), lim = (size_t)(b1 - ws);
	char *buf = ln->buf;
	struct scan_hit hits[SCAN_HITS];
	size_t base = 0, have = 0, s = 0, at = 0, nhits = 0, i = 0;
	int started = !lead, dry = 1;

	while (!started || base + s < lim) {
		if (i == nhits) {
			/* A scan that found fewer than it could saw every
			 * delimiter up to have: no need to look again
			 * before the next read. */
			nhits = have > s && !dry ? scan_records(buf + s,
			    have - s, (unsigned char)pa->pi->delim, pa->kd,
			    hits, SCAN_HITS) : 0;
			dry = nhits < SCAN_HITS;
			at = s;
			i = 0;
		}
		if (!nhits) {
			if (base + have == total)
				/* A record too long to see whole, or the last
				 * of a file without a delimiter: read(2)
				 * decides where it ends, in case the file grew
				 * since fstat. */
				return 0;
			if (s) {
				memmove(buf, buf + s, have - s);
				base += s;
				have -= s;
				s = 0;
			}
			if (read_more(ln, ws, base, &have, lim, total) < 0)
				return 0;
			dry = 0;
			continue;
		}
		size_t e = at + hits[i].end;
		const char *k = hits[i].key == SCAN_NONE ? NULL :
		    buf + at + hits[i].key;
		i++;
		if (started && !add_record(ln, buf + s, e - s, k))
			return 0;
		started = 1;
		s = e + 1;
	}
	ln->end = ws + (off_t)(base + s);
	return 1;
}

/* lane_encode: see lane.h. */
int lane_encode(struct lane *ln, off_t b0, off_t b1, int lead)
{
	struct par *pa = ln->pa;
	off_t we = pa->size - b1 > PAR_LOOK ? b1 + PAR_LOOK : pa->size;
	int ok;

	ln->mode = NONE;
	ln->switches = 0;
	ln->records = ln->keyless = 0;
	ok = frame_piece(ln, lead ? b0 - 1 : b0, b1, we, lead);
	for (int32_t p = 0; ok && p < pa->nparts; p++)
		if (ln->fill[p].count && close_fill(ln, p) < 0)
			ok = 0;
	/* Compressed here, by both lanes at once, not in the turn. */
	for (size_t i = 0; ok && i < ln->nready; i++)
		if (mq_batch_compress(ln->ready[i].b) < 0)
			ok = 0;
	return ok;
}

/* lane_init: see lane.h. */
int lane_init(struct lane *ln)
{
	ln->fill = calloc((size_t)ln->pa->nparts, sizeof *ln->fill);
	ln->buf = map_buffer(BUF_BYTES, BUF_HOT);
	return ln->fill && ln->buf ? 0 : -1;
}

/* lane_free: see lane.h. */
void lane_free(struct lane *ln)
{
	for (size_t j = 0; j < ln->nfree; j++)
		mq_batch_free(ln->free[j]);
	free(ln->free);
	free(ln->ready);
	free(ln->fill);
	unmap_buffer(ln->buf, BUF_BYTES);
}
