/*
 * test_hold.c - partition locks kept across appends (MQ_HOLD): what keeps
 * and what releases them, that others see the appends made under them,
 * that a burst's locks go together after MQ_HOLD_MS, that a waiting
 * writer gets its turn, that two writers keeping locks do not wait for
 * each other, and that a forked child does not share them.  Where a test
 * needs a lock still kept after an append, it keeps them for a minute
 * (mq_set_hold_ms): on a busy machine an append can take 10 ms.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

static const char *two[] = { "partitions=2", NULL };

/* Long enough for any append: kept locks are released only as asked. */
#define LONG_HOLD_MS 60000

/* locked says whether partition p's writer lock is held by someone: a
 * descriptor of its own cannot take it. */
static int locked(const char *dir, const char *topic, int32_t p)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s-%d/mq.lock", dir, topic, p);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	int busy = flock(fd, LOCK_EX | LOCK_NB) < 0;
	if (busy)
		assert_int_equal(errno, EWOULDBLOCK);
	close(fd);
	return busy;
}

/* wait_child waits for pid and asserts it exited with status 0. */
static void wait_child(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A forked writer's work with its own handle c: it calls ready(fd) once
 * the parent may go on, and returns its exit status. */
typedef int child_fn(mq_topic *c, int fd);

static int ready(int fd)
{
	char byte = 0;
	return write(fd, &byte, 1) == 1 ? 0 : -1;
}

/* start_writer forks a process that opens topic name in env and runs fn;
 * it returns the process id once fn is ready.  A child that waits for
 * ever dies of SIGALRM, which fails the test. */
static pid_t start_writer(mq_env *env, const char *name, child_fn *fn)
{
	int go[2];
	char byte;
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		mq_topic *c;
		alarm(20);
		close(go[0]);
		_exit(mq_topic_open(env, name, &c) < 0 ? 2 : fn(c, go[1]));
	}
	close(go[1]);
	assert_int_equal(read(go[0], &byte, 1), 1);
	close(go[0]);
	return pid;
}

/* Kept after an append, released by mq_release_locks and by an append
 * without MQ_HOLD; what another handle appended in between is seen. */
static void test_keep_and_release(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "kr", two), *o;
	mq_set_hold_ms(t, LONG_HOLD_MS);
	int64_t base;
	assert_int_equal(mq_topic_open(env, "kr", &o), 0);
	assert_int_equal(tu_try_append(t, 0, 0, 1, -1, MQ_HOLD, &base), 0);
	assert_true(locked(dir, "kr", 0));
	assert_false(locked(dir, "kr", 1));
	assert_int_equal(tu_try_append(o, 0, 9, 1, -1, MQ_NOWAIT, NULL),
	                 MQ_EBUSY);
	assert_int_equal(tu_try_append(t, 0, 1, 1, -1, MQ_HOLD, &base), 0);
	assert_int_equal(base, 1);

	mq_release_locks(t);
	assert_false(locked(dir, "kr", 0));
	assert_int_equal(tu_try_append(o, 0, 2, 1, -1, MQ_NOWAIT, &base), 0);
	assert_int_equal(base, 2);
	/* Taken again, the tail is checked again: after o's record. */
	assert_int_equal(tu_try_append(t, 0, 3, 1, -1, MQ_HOLD, &base), 0);
	assert_int_equal(base, 3);
	assert_int_equal(tu_try_append(t, 0, 4, 1, -1, 0, &base), 0);
	assert_int_equal(base, 4);
	assert_false(locked(dir, "kr", 0));
	tu_assert_seq(o, 0, 5);
	assert_int_equal(mq_verify_partition(o, 0, NULL, NULL), 0);
	mq_topic_close(o);
	tu_teardown(dir, env, t);
}

/* A failed append (before the lock is taken or after), mq_roll,
 * mq_retain, mq_repair_partition and mq_topic_close release every kept
 * lock: those on the same handle do not wait for its own. */
static void test_released_by(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	static const char *small[] = { "partitions=2", "max.message.bytes=100",
	                               NULL };
	mq_topic *t = tu_setup(&dir, &env, "rb", small);
	mq_set_hold_ms(t, LONG_HOLD_MS);
	assert_int_equal(tu_try_append(t, 0, 0, 1, -1, MQ_HOLD, NULL), 0);
	assert_int_equal(tu_try_append(t, 1, 0, 50, -1, MQ_HOLD, NULL),
	                 MQ_ETOOBIG);
	assert_false(locked(dir, "rb", 0));

	/* Partition 1's log ends near the largest offset: an append fails
	 * with its lock taken, and releases the one kept on partition 0. */
	char path[4096];
	tu_seg(path, sizeof path, dir, "rb", 1, INT64_MAX - 1, ".log");
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tu_try_append(t, 0, 1, 1, -1, MQ_HOLD, NULL), 0);
	assert_true(locked(dir, "rb", 0));
	assert_int_equal(tu_try_append(t, 1, 0, 2, -1, MQ_HOLD, NULL),
	                 MQ_ERANGE);
	assert_false(locked(dir, "rb", 0) || locked(dir, "rb", 1));
	assert_int_equal(unlink(path), 0);

	assert_int_equal(tu_try_append(t, 0, 2, 1, -1, MQ_HOLD, NULL), 0);
	assert_int_equal(tu_try_append(t, 1, 0, 1, -1, MQ_HOLD, NULL), 0);
	assert_true(locked(dir, "rb", 0) && locked(dir, "rb", 1));
	alarm(10); /* a wait for its own lock would never end */
	int rolled = 0;
	assert_int_equal(mq_roll(t, 1, 0, &rolled), 0);
	alarm(0);
	assert_int_equal(rolled, 1);
	assert_false(locked(dir, "rb", 0) || locked(dir, "rb", 1));

	mq_retain_opts ro = { .now_ms = -1, .delete_before = -1 };
	mq_retain_result res;
	assert_int_equal(tu_try_append(t, 0, 3, 1, -1, MQ_HOLD, NULL), 0);
	alarm(10);
	assert_int_equal(mq_retain(t, 0, &ro, NULL, NULL, &res), 0);
	alarm(0);
	assert_false(locked(dir, "rb", 0));
	assert_int_equal(tu_try_append(t, 0, 4, 1, -1, MQ_HOLD, NULL), 0);
	alarm(10);
	assert_int_equal(mq_repair_partition(t, 0, 0, NULL, NULL), 0);
	alarm(0);
	assert_false(locked(dir, "rb", 0));

	/* Closing releases them even while a forked child, which shares
	 * the descriptors, lives on. */
	int go[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(tu_try_append(t, 0, 5, 1, -1, MQ_HOLD, NULL), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char byte;
		close(go[1]);
		_exit(read(go[0], &byte, 1) == 0 ? 0 : 1);
	}
	close(go[0]);
	mq_topic_close(t);
	assert_false(locked(dir, "rb", 0));
	close(go[1]);
	wait_child(pid);
	assert_int_equal(mq_topic_open(env, "rb", &t), 0);
	tu_assert_seq(t, 0, 6);
	tu_teardown(dir, env, t);
}

/* The locks of a burst are released together, after MQ_HOLD_MS: one
 * whose partition gets no more appends is not kept any longer. */
static void test_burst_ends_together(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "be", two);
	assert_int_equal(tu_try_append(t, 0, 0, 1, -1, MQ_HOLD, NULL), 0);
	for (int i = 0; i < 3 * MQ_HOLD_MS; i++) {
		assert_int_equal(tu_try_append(t, 1, i, 1, -1, MQ_HOLD, NULL), 0);
		usleep(1000);
	}
	assert_false(locked(dir, "be", 0));
	mq_release_locks(t);
	assert_false(locked(dir, "be", 1));
	tu_teardown(dir, env, t);
}

/* The waiter: ready, then it waits for the lock of partition 0. */
static int wait_for_lock(mq_topic *c, int fd)
{
	if (ready(fd) < 0)
		return 2;
	return tu_try_append(c, 0, 1000, 1, -1, 0, NULL) == 0 ? 0 : 1;
}

/*
 * A lock kept MQ_HOLD_MS is released at the end of the next append: a
 * writer waiting for it gets it between two appends of a burst, not
 * after the burst; and it gets it after the one append that comes after
 * a pause longer than that.
 */
static void test_waiter_gets_turn(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "wt", NULL);
	assert_int_equal(tu_try_append(t, 0, 0, 1, -1, MQ_HOLD, NULL), 0);
	pid_t pid = start_writer(env, "wt", wait_for_lock);
	usleep(50000); /* the child is waiting for the lock by now */
	int n = 1, status = 0;
	while (n < 2000 && waitpid(pid, &status, WNOHANG) == 0) {
		assert_int_equal(tu_try_append(t, 0, n++, 1, -1, MQ_HOLD, NULL), 0);
		usleep(1000);
	}
	assert_true(n < 2000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Kept again; one append after a pause lets the next waiter in. */
	mq_set_hold_ms(t, LONG_HOLD_MS);
	assert_int_equal(tu_try_append(t, 0, n++, 1, -1, MQ_HOLD, NULL), 0);
	assert_true(locked(dir, "wt", 0));
	mq_set_hold_ms(t, MQ_HOLD_MS);
	pid = start_writer(env, "wt", wait_for_lock);
	usleep(50000);
	assert_int_equal(tu_try_append(t, 0, n++, 1, -1, MQ_HOLD, NULL), 0);
	pid_t got = 0;
	status = -1;
	for (int i = 0; i < 200 && (got = waitpid(pid, &status, WNOHANG)) == 0;
	     i++)
		usleep(10000);
	if (got != pid)
		kill(pid, SIGKILL);
	assert_int_equal(got, pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	mq_release_locks(t);
	tu_teardown(dir, env, t);
}

/* The other writer: keeps partition 1's lock, then wants partition 0's. */
static int cross_locks(mq_topic *c, int fd)
{
	mq_set_hold_ms(c, LONG_HOLD_MS);
	if (tu_try_append(c, 1, 0, 1, -1, MQ_HOLD, NULL) < 0 || ready(fd) < 0 ||
	    tu_try_append(c, 0, 1, 1, -1, MQ_HOLD, NULL) < 0)
		return 1;
	mq_topic_close(c);
	return 0;
}

/*
 * Two writers each keeping the lock of one partition and wanting the
 * other's: the one that finds its lock busy releases what it keeps, so
 * both get through.
 */
static void test_no_deadlock(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "dl", two);
	mq_set_hold_ms(t, LONG_HOLD_MS);
	alarm(20);
	assert_int_equal(tu_try_append(t, 0, 0, 1, -1, MQ_HOLD, NULL), 0);
	pid_t pid = start_writer(env, "dl", cross_locks);
	assert_int_equal(tu_try_append(t, 1, 1, 1, -1, MQ_HOLD, NULL), 0);
	mq_release_locks(t);
	wait_child(pid);
	alarm(0);
	tu_assert_seq(t, 0, 2);
	tu_assert_seq(t, 1, 2);
	tu_teardown(dir, env, t);
}

/* A forked child does not append under its parent's kept lock, nor does
 * its mq_release_locks release it. */
static void test_fork_not_shared(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "fs", NULL);
	mq_set_hold_ms(t, LONG_HOLD_MS);
	assert_int_equal(tu_try_append(t, 0, 0, 1, -1, MQ_HOLD, NULL), 0);
	for (int child = 0; child < 2; child++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0 && child == 0) {
			mq_release_locks(t);
			_exit(0);
		}
		if (pid == 0)
			_exit(tu_try_append(t, 0, 9, 1, -1, MQ_NOWAIT | MQ_HOLD,
			                    NULL) == MQ_EBUSY ? 0 : 1);
		wait_child(pid);
		assert_true(locked(dir, "fs", 0));
	}
	assert_int_equal(tu_try_append(t, 0, 1, 1, -1, 0, NULL), 0);
	assert_false(locked(dir, "fs", 0));
	tu_assert_seq(t, 0, 2);
	tu_teardown(dir, env, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_and_release),
		cmocka_unit_test(test_released_by),
		cmocka_unit_test(test_burst_ends_together),
		cmocka_unit_test(test_waiter_gets_turn),
		cmocka_unit_test(test_no_deadlock),
		cmocka_unit_test(test_fork_not_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
