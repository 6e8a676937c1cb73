/*
 * producer_writer.h - the writer of producer.c (its step in the worker
 * thread, worker.h) and the ring of jobs it shares with the caller's
 * thread; private to the producer.
 *
 *	ring[head .. done)   appended by the writer, waiting for the caller
 *	                     to note their offsets and reuse their batches
 *	ring[done .. tail)   waiting for the writer
 *
 * The counters only grow; a slot is ring[i % RING].  The caller fills
 * ring[tail] and moves tail; the writer moves done; both under mu.
 */
#ifndef MQ_PRODUCER_WRITER_H
#define MQ_PRODUCER_WRITER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "producer.h"
#include "worker.h"

/* Jobs in flight between the caller and the writer. */
#define RING 4

/* A batch and the most bytes it ever held (its buffers' size, roughly). */
struct pr_slot {
	mq_batch *b;
	size_t hw;
};

struct job {
	struct pr_slot s;
	int32_t p;
	size_t count;
	int64_t first_recno;
	int64_t base;           /* set by the writer */
	int rc;                 /* set by the writer */
};

struct pr_writer {
	struct worker *wk;      /* runs the jobs; NULL: the caller does */
	struct worker_user user;
	pthread_mutex_t mu;
	pthread_cond_t done_cv; /* done moved */
	struct job ring[RING];
	size_t head, done, tail;
	int stop;               /* the caller wants no more jobs run */
	int failed;             /* a job failed: later ones are dropped */
	int synced;             /* nothing appended since the last mq_sync */
	int reported[];         /* per partition: recovery report printed */
};

/*
 * pr_writer_start has worker wk run the jobs.  With wk NULL (or wk serving
 * enough users already), jobs run in the caller's thread (w->wk stays
 * NULL).  It cannot fail.
 */
void pr_writer_start(struct producer *pr, struct worker *wk);

/* pr_writer_push hands job slot ring[tail] to the writer (or, without a
 * thread, runs it now).  It cannot fail: a job's result is in its rc. */
void pr_writer_push(struct producer *pr);

/*
 * pr_writer_wait waits until the writer has finished at least `until` jobs
 * in all (all of them with SIZE_MAX) and returns how many it finished.
 */
size_t pr_writer_wait(struct producer *pr, size_t until);

#endif
