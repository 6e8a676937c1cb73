/*
 * worker.c - the background I/O thread of mq-produce; see worker.h.
 *
 * kicks counts worker_kick() calls.  The thread notes it before a round
 * of steps and sleeps after a round without work only if it has not
 * moved, so a kick that comes while a step runs is never lost.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "worker.h"

struct worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* kicks moved, or running changed */
	struct worker_user *users[WORKER_USERS];
	struct worker_user *running;
	unsigned long kicks;
	int stop;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;

	pthread_mutex_lock(&wk->mu);
	while (!wk->stop) {
		unsigned long seen = wk->kicks;
		int did = 0;

		for (int i = 0; i < WORKER_USERS && !wk->stop; i++) {
			struct worker_user *u = wk->users[i];

			if (!u)
				continue;
			wk->running = u;
			pthread_mutex_unlock(&wk->mu);
			did |= u->step(u->arg);
			pthread_mutex_lock(&wk->mu);
			wk->running = NULL;
			pthread_cond_broadcast(&wk->cv);
		}
		if (!did && seen == wk->kicks && !wk->stop)
			pthread_cond_wait(&wk->cv, &wk->mu);
	}
	pthread_mutex_unlock(&wk->mu);
	return NULL;
}

struct worker *worker_start(void)
{
	struct worker *wk = calloc(1, sizeof *wk);
	sigset_t all, old;
	int rc;

	if (!wk)
		return NULL;
	pthread_mutex_init(&wk->mu, NULL);
	pthread_cond_init(&wk->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&wk->thread, NULL, worker_main, wk);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&wk->cv);
		pthread_mutex_destroy(&wk->mu);
		free(wk);
		return NULL;
	}
	return wk;
}

int worker_add(struct worker *wk, struct worker_user *u)
{
	int rc = -1;

	pthread_mutex_lock(&wk->mu);
	for (int i = 0; i < WORKER_USERS; i++) {
		if (!wk->users[i]) {
			wk->users[i] = u;
			wk->kicks++;
			pthread_cond_broadcast(&wk->cv);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&wk->mu);
	return rc;
}

void worker_remove(struct worker *wk, struct worker_user *u)
{
	pthread_mutex_lock(&wk->mu);
	for (int i = 0; i < WORKER_USERS; i++)
		if (wk->users[i] == u)
			wk->users[i] = NULL;
	while (wk->running == u)
		pthread_cond_wait(&wk->cv, &wk->mu);
	pthread_mutex_unlock(&wk->mu);
}

void worker_kick(struct worker *wk)
{
	pthread_mutex_lock(&wk->mu);
	wk->kicks++;
	pthread_cond_broadcast(&wk->cv);
	pthread_mutex_unlock(&wk->mu);
}

void worker_stop(struct worker *wk)
{
	if (!wk)
		return;
	pthread_mutex_lock(&wk->mu);
	wk->stop = 1;
	pthread_cond_broadcast(&wk->cv);
	pthread_mutex_unlock(&wk->mu);
	pthread_join(wk->thread, NULL);
	pthread_cond_destroy(&wk->cv);
	pthread_mutex_destroy(&wk->mu);
	free(wk);
}
