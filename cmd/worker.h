/*
 * worker.h - mq-produce's one background thread: it reads the input ahead
 * (readahead.c) and appends batches (producer_writer.c).  (A large file
 * encoded on two threads, parallel.c, has a thread of its own while the
 * worker has nothing to do.)
 *
 * Each user registers a step function that does one unit of work (read
 * one piece, append one batch) and returns 1, or returns 0 when it has
 * nothing to do now.  The thread calls the steps
 * in turn and sleeps when none had work, until a user calls
 * worker_kick().  One thread for all of it instead of a thread each: on a
 * machine with two CPUs the tool's own thread then keeps one CPU to
 * itself.
 */
#ifndef MQ_WORKER_H
#define MQ_WORKER_H

/* Users one worker can serve at a time. */
#define WORKER_USERS 2

struct worker;

/* A user: step(arg) does at most one unit of work and says if it did. */
struct worker_user {
	int (*step)(void *arg);
	void *arg;
};

/*
 * worker_start starts the thread, with every signal blocked in it so that
 * signals reach the caller's thread.  Returns NULL if no thread can be
 * started (or no memory): the users then do their work in the caller's
 * thread.
 */
struct worker *worker_start(void);

/*
 * worker_add registers u, which must stay valid until worker_remove(u).
 * Returns 0, or -1 if WORKER_USERS users are registered already.
 */
int worker_add(struct worker *wk, struct worker_user *u);

/* worker_remove unregisters u, first waiting for a step of u under way. */
void worker_remove(struct worker *wk, struct worker_user *u);

/* worker_kick tells the thread that a user may have work now.  Cheap: a
 * lock, a counter and a signal. */
void worker_kick(struct worker *wk);

/* worker_stop ends the thread (after the step under way) and frees wk.
 * NULL is a no-op. */
void worker_stop(struct worker *wk);

#endif
