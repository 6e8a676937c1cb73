/*
 * producer_writer.c - the writer of the producer, a step of the worker
 * thread (worker.h): appends the jobs of the ring in order and stops at
 * the first failure (later jobs are dropped, their records reported as not
 * stored).  The writer owns the topic handle while it runs; see
 * producer.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "producer_writer.h"
#include "tool.h"

/* producer_append appends b to partition p as the writer does; on
 * failure it leaves the message in pr->errmsg. */
int producer_append(struct producer *pr, int32_t p, mq_batch *b,
                    int64_t *base)
{
	struct pr_writer *w = pr->w;
	int rc;

	rc = mq_append(pr->topic, p, b, pr->append_flags, base);
	if (rc == MQ_ETOOBIG && pr->compression != MQ_COMPRESSION_NONE) {
		/* Compression made it grow past the limit; uncompressed it
		 * fits, as batches are cut by their uncompressed size. */
		mq_batch_set_compression(b, MQ_COMPRESSION_NONE);
		rc = mq_append(pr->topic, p, b, pr->append_flags, base);
		mq_batch_set_compression(b, pr->compression);
	}
	if (rc == MQ_OK) {
		const char *rep = mq_recovery_report(pr->topic, p);
		if (rep && !w->reported[p]) {
			/* A crashed writer left a torn tail that this
			 * append dropped. */
			warnx("warning: recovered %s", rep);
			w->reported[p] = 1;
		}
		w->synced = 0;
		if (pr->sync_mode == PR_SYNC_BATCH &&
		    (rc = mq_sync(pr->topic)) == MQ_OK)
			w->synced = 1;
	}
	if (rc < 0)
		snprintf(pr->errmsg, sizeof pr->errmsg, "%s",
		    *mq_errmsg() ? mq_errmsg() : mq_strerror(rc));
	return rc;
}

/* Appends job j. */
static void run_job(struct producer *pr, struct job *j)
{
	j->rc = producer_append(pr, j->p, j->s.b, &j->base);
}

/* The worker's step: runs the next job, if there is one. */
static int write_step(void *arg)
{
	struct producer *pr = arg;
	struct pr_writer *w = pr->w;

	pthread_mutex_lock(&w->mu);
	if (w->done == w->tail || w->stop) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	struct job *j = &w->ring[w->done % RING];
	int failed = w->failed;
	pthread_mutex_unlock(&w->mu);
	if (failed)
		j->rc = MQ_EINVAL; /* dropped after a failure */
	else
		run_job(pr, j);
	pthread_mutex_lock(&w->mu);
	if (j->rc < 0)
		w->failed = 1;
	w->done++;
	pthread_cond_signal(&w->done_cv);
	pthread_mutex_unlock(&w->mu);
	return 1;
}

/* pr_writer_start hands jobs to wk, or leaves them to run inline. */
void pr_writer_start(struct producer *pr, struct worker *wk)
{
	struct pr_writer *w = pr->w;

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->done_cv, NULL);
	w->user = (struct worker_user){ write_step, pr };
	if (wk && worker_add(wk, &w->user) == 0)
		w->wk = wk;
}

/* producer_stop has the worker stop after its current job. */
void producer_stop(struct producer *pr)
{
	struct pr_writer *w = pr->w;

	if (!w || !w->wk)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_mutex_unlock(&w->mu);
	worker_remove(w->wk, &w->user);
	w->wk = NULL;
	/* Jobs the worker did not start are dropped: reap() returns their
	 * batches and notes their records as not stored. */
	for (size_t i = w->done; i < w->tail; i++)
		w->ring[i % RING].rc = MQ_EINVAL;
	w->done = w->tail;
	w->failed = 1;
}

/* pr_writer_push hands job slot tail to the worker, or runs it. */
void pr_writer_push(struct producer *pr)
{
	struct pr_writer *w = pr->w;

	if (!w->wk) {
		struct job *j = &w->ring[w->tail % RING];
		w->tail++;
		if (w->failed)
			j->rc = MQ_EINVAL;
		else
			run_job(pr, j);
		if (j->rc < 0)
			w->failed = 1;
		w->done++;
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->tail++;
	pthread_mutex_unlock(&w->mu);
	worker_kick(w->wk);
}

/* pr_writer_wait waits for the writer to finish `until` jobs in all. */
size_t pr_writer_wait(struct producer *pr, size_t until)
{
	struct pr_writer *w = pr->w;
	size_t done;

	if (!w->wk)
		return w->done;
	pthread_mutex_lock(&w->mu);
	if (until == SIZE_MAX)
		until = w->tail;
	while (w->done < until)
		pthread_cond_wait(&w->done_cv, &w->mu);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}
