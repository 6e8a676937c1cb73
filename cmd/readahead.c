/*
 * readahead.c - reading a large regular file ahead, in the worker thread.
 *
 * The ring has NBUF slots.  The counters only grow; slot i % NBUF holds
 * piece i.  The worker fills pieces [filled, ...) while it may: the caller
 * holds the last two pieces it took, so a slot is free once the caller has
 * taken two more after it.  The worker stops after the end of the file or
 * a failed read, which it records as the last piece.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "readahead.h"
#include "tool.h"

#define NBUF 4
#define SLOT (READAHEAD_ROOM + READAHEAD_PIECE)

struct readahead {
	struct worker *wk;
	struct worker_user user;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* filled moved */
	int fd;
	char *mem;              /* NBUF slots of SLOT bytes */
	ssize_t len[NBUF];      /* bytes of the piece, 0 end, -1 failed */
	int err[NBUF];          /* errno of a failed read */
	size_t filled, taken;
	int last;               /* the last piece is filled */
	int done;               /* the caller saw the last piece */
};

/* Slots the caller has given back: all but the last two it took. */
static size_t released(const struct readahead *ra)
{
	return ra->taken >= 2 ? ra->taken - 2 : 0;
}

/* The worker's step: reads the next piece if a slot is free. */
static int read_step(void *arg)
{
	struct readahead *ra = arg;

	pthread_mutex_lock(&ra->mu);
	int full = ra->last || ra->filled >= released(ra) + NBUF;
	size_t i = ra->filled % NBUF;
	pthread_mutex_unlock(&ra->mu);
	if (full)
		return 0;

	/* The slot is ours until filled moves past it. */
	char *p = ra->mem + i * SLOT + READAHEAD_ROOM;
	ssize_t n;
	do
		n = read(ra->fd, p, READAHEAD_PIECE);
	while (n < 0 && errno == EINTR);
	ra->len[i] = n < 0 ? -1 : n;
	ra->err[i] = n < 0 ? errno : 0;

	pthread_mutex_lock(&ra->mu);
	ra->last = n <= 0;
	ra->filled++;
	pthread_cond_signal(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
	return 1;
}

struct readahead *readahead_start(int fd, struct worker *wk)
{
	struct readahead *ra;

	if (!wk || !(ra = calloc(1, sizeof *ra)))
		return NULL;
	ra->fd = fd;
	ra->wk = wk;
	if (!(ra->mem = map_buffer(NBUF * SLOT, NBUF * SLOT))) {
		free(ra);
		return NULL;
	}
	pthread_mutex_init(&ra->mu, NULL);
	pthread_cond_init(&ra->cv, NULL);
	ra->user = (struct worker_user){ read_step, ra };
	if (worker_add(wk, &ra->user) < 0) {
		readahead_stop(ra);
		return NULL;
	}
	return ra;
}

ssize_t readahead_next(struct readahead *ra, char **data)
{
	ssize_t n;

	if (ra->done)
		return 0;
	pthread_mutex_lock(&ra->mu);
	while (ra->filled == ra->taken)
		pthread_cond_wait(&ra->cv, &ra->mu);
	size_t i = ra->taken++ % NBUF;
	pthread_mutex_unlock(&ra->mu);
	/* A slot came free. */
	worker_kick(ra->wk);
	n = ra->len[i];
	*data = ra->mem + i * SLOT + READAHEAD_ROOM;
	if (n <= 0) {
		ra->done = 1;
		if (n < 0)
			errno = ra->err[i];
	}
	return n;
}

void readahead_stop(struct readahead *ra)
{
	if (!ra)
		return;
	worker_remove(ra->wk, &ra->user);
	pthread_cond_destroy(&ra->cv);
	pthread_mutex_destroy(&ra->mu);
	unmap_buffer(ra->mem, NBUF * SLOT);
	free(ra);
}
