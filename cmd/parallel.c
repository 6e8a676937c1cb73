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
 * The appends keep the partition locks from one to the next (MQ_HOLD); a
 * third thread, the watch, releases them when the appends stop for a
 * while (watch_main).
 *
 * How a lane reads and encodes a piece is in lane.c.  Round-robin records
 * are encoded there as if the partition counter started at 0; their
 * batches are moved over by the real counter when appended: only then is
 * it known, as it depends on the keyless records before the piece.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lane.h"
#include "tool.h"

/* How often the watch looks, and for how many milliseconds of the
 * monotonic clock the appends must have stopped (one at least) for it to
 * release the partition locks they keep. */
#define WATCH_NS ((long)MQ_HOLD_MS * 1000000 / 2)
#define IDLE_MS 2

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
	off_t b0, b1;
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

	span(pa, k, &b0, &b1);
	ok = lane_encode(ln, b0, b1, k > 0);

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

		pa->appending = 1;
		pthread_mutex_unlock(&pa->mu);
		rc = append_ready(ln, recno, rr);
		pthread_mutex_lock(&pa->mu);
		pa->appending = 0;
		pa->appended_at = mono_ms();
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
	lane_drop(ln);
	return 1;
}

/*
 * The watch: the appends keep each partition's lock from one to the next
 * (MQ_HOLD), which is right while they come back to back.  When they
 * stop for IDLE_MS, as when a lane waits for a slow read of its piece,
 * the watch releases the locks, so that others are not kept out of the
 * partitions meanwhile.  It looks every WATCH_NS, under mu and never
 * while a lane appends: between turns the topic handle is free.
 */
static void *watch_main(void *arg)
{
	struct par *pa = arg;
	struct timespec ts;

	pthread_mutex_lock(&pa->mu);
	while (!pa->done) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += WATCH_NS;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pa->wcv, &pa->mu, &ts);
		if (!pa->appending && mono_ms() - pa->appended_at >= IDLE_MS)
			mq_release_locks(pa->pi->pr->topic);
	}
	pthread_mutex_unlock(&pa->mu);
	return NULL;
}

/* Runs a lane in its thread: sets it up, does pieces while there are
 * any, and frees it (unmapping the memory it touched takes a while,
 * better spent while the other lane still works).  A lane that cannot be
 * set up takes no piece; the other does them all (or, neither set up,
 * the ordinary framing). */
static void run_lane(struct lane *ln)
{
	if (lane_init(ln) == 0)
		while (lane_step(ln))
			;
	lane_free(ln);
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
 * Starts a thread running fn(pa) (the second lane's, or the watch's),
 * with every signal blocked in it so that signals reach the caller's
 * thread; 0, or -1 if it cannot.  For the lane, a new thread rather than
 * mq-produce's worker, which sleeps meanwhile: the kernel puts a new
 * thread on an idle CPU, while the worker, woken, often stayed a few
 * milliseconds on the CPU of the thread that woke it.
 */
static int start_thread(struct par *pa, pthread_t *th,
                        void *(*fn)(void *))
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(th, NULL, fn, pa);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

/* Starts the watch (with a clock that does not jump); 0, or -1 if it
 * cannot: the locks are then not kept. */
static int start_watch(struct par *pa, pthread_t *th)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&pa->wcv, &ca) == 0 ? 0 : -1;
	pthread_condattr_destroy(&ca);
	if (rc == 0 && start_thread(pa, th, watch_main) < 0) {
		pthread_cond_destroy(&pa->wcv);
		rc = -1;
	}
	return rc;
}

/* Stops the watch started by start_watch. */
static void stop_watch(struct par *pa, pthread_t th)
{
	pthread_mutex_lock(&pa->mu);
	pa->done = 1;
	pthread_cond_signal(&pa->wcv);
	pthread_mutex_unlock(&pa->mu);
	pthread_join(th, NULL);
	pthread_cond_destroy(&pa->wcv);
}

/* par_produce: see parallel.h. */
int par_produce(const struct par_input *pi, int fd)
{
	struct producer *pr = pi->pr;
	struct par pa;
	struct stat st;
	pthread_t th, watch;
	off_t from;
	int rc, watched = 0;

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

	/* The appends come back to back: each partition's lock is kept
	 * from one to the next (for MQ_HOLD_MS at a time, and not while
	 * they stop: see watch_main), which saves taking it and
	 * re-checking the tail each time. */
	int flags = pr->append_flags;
	pa.appended_at = mono_ms();
	if (pr->sync_mode != PR_SYNC_BATCH && start_watch(&pa, &watch) == 0) {
		watched = 1;
		pr->append_flags |= MQ_HOLD;
	}
	if (start_thread(&pa, &th, lane_main) == 0) {
		/* Our lane is freed while the other may still work. */
		run_lane(&pa.lane[0]);
		/* Its last piece's turn comes after ours. */
		pthread_join(th, NULL);
	}
	if (watched)
		stop_watch(&pa, watch);
	mq_release_locks(pr->topic);
	pr->append_flags = flags;

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
