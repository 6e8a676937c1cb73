/*
 * parallel.c - producing a large regular file on two threads; see
 * parallel.h for what runs here and what is left to the ordinary framing.
 *
 * Each thread is a lane.  A lane takes the next piece (under mu), reads it
 * with up to PAR_LOOK bytes after it (the rest of its last record) and
 * the byte before it (to see whether the previous record ended just
 * there), encodes its records into batches of its own, and waits for its
 * turn: turn counts the pieces appended, in order.  Then it appends its
 * batches through the producer and passes the turn on.  A lane that
 * cannot do its piece lowers stop to it: pieces from stop on are dropped,
 * and the ordinary framing starts where the last appended piece ended
 * (end).
 *
 * Round-robin records are encoded as if the partition counter started at
 * 0, and their batches moved over by the real counter when appended: only
 * then is it known, as it depends on the keyless records before the
 * piece.  Where a piece goes from keyed records to keyless ones or back,
 * every batch filling is closed first, so that moving whole batches keeps
 * the order within each partition; a piece that switches more than
 * MAX_SWITCHES times is left to the ordinary framing.
 *
 * A lane reads with pread(2), PAR_READ bytes at a time, into a buffer of
 * its own, and encodes as it goes; the unfinished record moves to the
 * buffer's start before each read, so the buffer's first few hundred KiB
 * stay in the cache.  A file that ends before it
 * should (it shrank) or a failed read is a piece this path cannot do:
 * read(2) in the ordinary framing then finds the new end or reports the
 * error.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parallel.h"
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

/* The batch a lane is filling for a partition. */
struct fill {
	mq_batch *b;
	size_t count;
	size_t est;             /* upper bound of its bytes, as producer.c */
	int64_t first;          /* its first record, counted in the piece */
};

/* A batch of the piece, ready to append. */
struct ready {
	mq_batch *b;
	int32_t p;              /* partition (before the round-robin move) */
	int rotated;            /* round-robin records: move p */
	int64_t first;
};

struct par;

struct lane {
	struct par *pa;
	struct fill *fill;      /* per partition */
	struct ready *ready;    /* the piece's batches, in the order made */
	size_t nready, rcap;
	mq_batch **free;        /* empty batches for reuse */
	size_t nfree, fcap;
	int mode;               /* of the batches filling: NONE, KEYED or
	                           ROTATED */
	int switches;           /* mode changes in the piece */
	int64_t records;        /* records of the piece */
	int64_t keyless;        /* round-robin records of the piece */
	off_t end;              /* where the piece's last record ends */
	int64_t now;            /* timestamp of the piece's records */
	char *buf;              /* the piece's window */
	size_t made;            /* batches made (new_batch) */
};

struct par {
	const struct par_input *pi;
	int fd;
	off_t from, size;       /* the bytes to do */
	size_t npieces;
	size_t nwhole;          /* pieces of PAR_PIECE bytes, before the
	                           last PAR_END bytes or more */
	int32_t nparts;
	size_t cap;             /* batch bytes */
	int kd;                 /* the key delimiter the scan finds (a
	                           one-byte -K), or -1 */
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* turn or stop moved, or a failure */
	size_t next;            /* the next piece to take */
	size_t turn;            /* pieces appended */
	size_t stop;            /* the first piece not done here */
	off_t end;              /* where the last appended piece ended */
	int64_t recno;
	int32_t rr;
	int rc;                 /* the first failed append, or 0 */
	struct lane lane[2];
};

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

/* Empties the lane's batches, appended or not. */
static void drop(struct lane *ln)
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

/* Cuts the bytes to do into pieces (sets npieces and nwhole). */
static void cut(struct par *pa)
{
	off_t n = pa->size - pa->from;

	pa->nwhole = n > PAR_END ? (size_t)((n - PAR_END) / PAR_PIECE) : 0;
	n -= (off_t)pa->nwhole * PAR_PIECE;
	pa->npieces = pa->nwhole + (size_t)(n / PAR_END_PIECE);
}

/* Where piece k starts and ends: PAR_PIECE bytes, but PAR_END_PIECE in
 * the last PAR_END bytes or more, so that both lanes finish at about the
 * same time.  The last piece runs to the end of the file. */
static void span(const struct par *pa, size_t k, off_t *b0, off_t *b1)
{
	off_t tail = pa->from + (off_t)pa->nwhole * PAR_PIECE;

	if (k < pa->nwhole) {
		*b0 = pa->from + (off_t)k * PAR_PIECE;
		*b1 = *b0 + PAR_PIECE;
	} else {
		*b0 = tail + (off_t)(k - pa->nwhole) * PAR_END_PIECE;
		*b1 = *b0 + PAR_END_PIECE;
	}
	if (k + 1 == pa->npieces)
		*b1 = pa->size;
}

/* Encodes piece k into the lane's ready list; 0 if this path cannot take
 * it. */
static int encode(struct lane *ln, size_t k)
{
	struct par *pa = ln->pa;
	off_t b0, b1, we;
	int ok;

	span(pa, k, &b0, &b1);
	we = pa->size - b1 > PAR_LOOK ? b1 + PAR_LOOK : pa->size;
	ok = frame_piece(ln, k ? b0 - 1 : b0, b1, we, k > 0);
	for (int32_t p = 0; ok && p < pa->nparts; p++)
		if (ln->fill[p].count && close_fill(ln, p) < 0)
			ok = 0;
	/* Compressed here, by both lanes at once, not in the turn. */
	for (size_t i = 0; ok && i < ln->nready; i++)
		if (mq_batch_compress(ln->ready[i].b) < 0)
			ok = 0;
	return ok;
}

/* Appends the lane's ready batches, records numbered after recno and
 * round-robin partitions moved by rr; the turn is the lane's. */
static int append_ready(struct lane *ln, int64_t recno, int32_t rr)
{
	struct par *pa = ln->pa;
	struct producer *pr = pa->pi->pr;

	for (size_t i = 0; i < ln->nready; i++) {
		struct ready *r = &ln->ready[i];
		int32_t p = r->rotated ? (r->p + rr) % pa->nparts : r->p;
		int rc = producer_append(pr, p, r->b, NULL);

		if (rc < 0) {
			if (!pr->failed_rc)
				pr->failed_rc = rc;
			if (rc == MQ_ETOOBIG)
				pr->failed_recno = recno + r->first + 1;
			return rc;
		}
	}
	return 0;
}

/* Takes the next piece, encodes it and appends it in its turn; 0 if no
 * piece was left to take. */
static int lane_step(struct lane *ln)
{
	struct par *pa = ln->pa;
	size_t k;
	int ok, rc;

	pthread_mutex_lock(&pa->mu);
	if (pa->next >= pa->npieces || pa->next >= pa->stop || pa->rc) {
		pthread_mutex_unlock(&pa->mu);
		return 0;
	}
	k = pa->next++;
	/* Under mu: pieces taken later get later timestamps. */
	ln->now = wall_ms();
	pthread_mutex_unlock(&pa->mu);

	ln->mode = NONE;
	ln->switches = 0;
	ln->records = ln->keyless = 0;
	ok = encode(ln, k);

	pthread_mutex_lock(&pa->mu);
	if (!ok && k < pa->stop) {
		pa->stop = k;
		pthread_cond_broadcast(&pa->cv);
	}
	while (ok && pa->turn != k && k < pa->stop && !pa->rc)
		pthread_cond_wait(&pa->cv, &pa->mu);
	if (ok && k < pa->stop && !pa->rc) {
		int64_t recno = pa->recno;
		int32_t rr = pa->rr;

		pthread_mutex_unlock(&pa->mu);
		rc = append_ready(ln, recno, rr);
		pthread_mutex_lock(&pa->mu);
		if (rc < 0) {
			pa->rc = rc;
		} else {
			pa->recno += ln->records;
			pa->rr = (int32_t)((rr + ln->keyless) % pa->nparts);
			pa->end = ln->end;
			pa->turn++;
		}
		pthread_cond_broadcast(&pa->cv);
	}
	pthread_mutex_unlock(&pa->mu);
	drop(ln);
	return 1;
}

/* Frees what the lane holds, in its own thread: unmapping the memory it
 * touched takes a while, better spent while the other lane still works. */
static void free_lane(struct lane *ln)
{
	for (size_t j = 0; j < ln->nfree; j++)
		mq_batch_free(ln->free[j]);
	free(ln->free);
	free(ln->ready);
	free(ln->fill);
	unmap_buffer(ln->buf, BUF_BYTES);
}

/* Runs a lane: sets it up, does pieces while there are any, and frees
 * it.  A lane that cannot be set up takes no piece; the other does them
 * all (or, neither set up, the ordinary framing). */
static void run_lane(struct lane *ln)
{
	ln->fill = calloc((size_t)ln->pa->nparts, sizeof *ln->fill);
	ln->buf = map_buffer(BUF_BYTES, BUF_HOT);
	if (ln->fill && ln->buf)
		while (lane_step(ln))
			;
	free_lane(ln);
}

/* The second lane's thread: it sets up its own lane, in parallel with
 * the first. */
static void *lane_main(void *arg)
{
	struct par *pa = arg;

	run_lane(&pa->lane[1]);
	return NULL;
}

/*
 * Starts the second lane's thread, with every signal blocked in it so
 * that signals reach the caller's thread; 0, or -1 if it cannot.  A new
 * thread rather than mq-produce's worker, which sleeps meanwhile: the
 * kernel puts a new thread on an idle CPU, while the worker, woken, often
 * stayed a few milliseconds on the CPU of the thread that woke it.
 */
static int start_lane(struct par *pa, pthread_t *th)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(th, NULL, lane_main, pa);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

/* par_produce: see parallel.h. */
int par_produce(const struct par_input *pi, int fd)
{
	struct producer *pr = pi->pr;
	struct par pa;
	struct stat st;
	pthread_t th;
	off_t from;
	int rc;

	if (pr->offsets || pi->partition >= pr->nparts ||
	    (pi->partition < 0 && pr->nparts > PAR_PARTS) ||
	    pr->batch_cap < PAR_MIN_BATCH ||
	    fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (from = lseek(fd, 0, SEEK_CUR)) < 0 ||
	    st.st_size - from < PAR_MIN * PAR_PIECE)
		return 0;
	/* Earlier records go first; then the topic is free for the lanes. */
	if ((rc = producer_flush(pr)) < 0)
		return rc;

	memset(&pa, 0, sizeof pa);
	pa.pi = pi;
	pa.fd = fd;
	pa.from = pa.end = from;
	pa.size = st.st_size;
	cut(&pa);
	pa.nparts = pr->nparts;
	pa.cap = pr->batch_cap;
	pa.stop = SIZE_MAX;
	pa.kd = pi->rf->kdelim && pi->rf->kdelim_len == 1 ?
	    (unsigned char)pi->rf->kdelim[0] : -1;
	pa.recno = *pi->recno;
	pa.rr = *pi->next_rr;
	pa.lane[0].pa = pa.lane[1].pa = &pa;
	pthread_mutex_init(&pa.mu, NULL);
	pthread_cond_init(&pa.cv, NULL);

	if (start_lane(&pa, &th) == 0) {
		/* Our lane is freed while the other may still work. */
		run_lane(&pa.lane[0]);
		/* Its last piece's turn comes after ours. */
		pthread_join(th, NULL);
	}

	pthread_cond_destroy(&pa.cv);
	pthread_mutex_destroy(&pa.mu);
	*pi->recno = pa.recno;
	*pi->next_rr = pa.rr;
	if (lseek(fd, pa.end, SEEK_SET) < 0 && !pa.rc) {
		snprintf(pr->errmsg, sizeof pr->errmsg, "cannot seek in the "
		    "input: %s", strerror(errno));
		return MQ_EIO;
	}
	return pa.rc;
}
