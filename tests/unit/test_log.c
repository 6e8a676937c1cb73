/*
 * test_log.c - the partition log: append and read back, segment roll,
 * reopening, index and timeindex lookups, a writer that sees what other
 * handles did, a lock not shared with a forked child, many partitions.
 * Recovery from a torn tail and from damage is in test_recovery.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

static const char *small[] = { "segment.bytes=1024", "index.interval.bytes=100",
                               NULL };

static void test_round_trip(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "rt", NULL);
	assert_int_equal(tu_append(t, 0, 0, 3, -1), 0);
	assert_int_equal(tu_append(t, 0, 3, 2, -1), 3);
	tu_assert_seq(t, 0, 5);
	int64_t start, end;
	assert_int_equal(mq_log_offsets(t, 0, &start, &end), 0);
	assert_int_equal(start, 0);
	assert_int_equal(end, 5);
	assert_int_equal(mq_sync(t), 0);
	assert_null(mq_recovery_report(t, 0));
	tu_teardown(dir, env, t);
}

static void test_headers_keys_nulls(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "kv", NULL);
	mq_batch *b;
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_GZIP, &b), 0);
	mq_header h[2] = { { "a", 1, "x", 1 }, { "n", 1, NULL, -1 } };
	mq_record r1 = { .timestamp = 42, .key = "k", .key_len = 1, .value = NULL,
	                 .value_len = -1, .headers = h, .header_count = 2 };
	mq_record r2 = { .timestamp = 43, .key_len = -1, .value = "", .value_len = 0 };
	assert_int_equal(mq_batch_add(b, &r1), 0);
	assert_int_equal(mq_batch_add(b, &r2), 0);
	assert_int_equal(mq_append(t, 0, b, 0, NULL), 0);
	mq_batch_free(b);
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 0);
	assert_int_equal(rec.timestamp, 42);
	assert_int_equal(rec.key_len, 1);
	assert_int_equal(rec.value_len, -1);
	assert_int_equal(rec.header_count, 2);
	assert_int_equal(rec.headers[1].value_len, -1);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.key_len, -1);
	assert_int_equal(rec.value_len, 0);
	assert_int_equal(mq_reader_next(r, &rec), 0);
	mq_reader_close(r);
	tu_teardown(dir, env, t);
}

static void test_roll_and_seek(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "roll", small);
	for (int i = 0; i < 200; i += 4)
		tu_append(t, 0, i, 4, 1000);
	char path[4200];
	tu_seg(path, sizeof path, dir, "roll", 0, 0, ".log");
	assert_true(tu_file_size(path) <= 1024);
	mq_segment_info *segs;
	size_t n;
	assert_int_equal(mq_partition_segments(t, 0, &segs, &n), 0);
	assert_true(n > 5);
	int64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_int_equal(segs[i].base_offset, segs[i - 1].next_offset);
		total += segs[i].records;
	}
	assert_int_equal(total, 200);
	free(segs);
	/* Every offset, at and between index entries, seeks exactly. */
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	for (int64_t o = 0; o < 200; o++) {
		assert_int_equal(mq_reader_seek(r, o), 0);
		assert_int_equal(mq_reader_next(r, &rec), 1);
		assert_int_equal(rec.offset, o);
	}
	/* Past the end: positioned at the end. */
	assert_int_equal(mq_reader_seek(r, 1000), 0);
	assert_int_equal(mq_reader_position(r), 200);
	assert_int_equal(mq_reader_next(r, &rec), 0);
	/* Timestamps are 1000 + i: seek by time lands on the first >= ts. */
	for (int64_t ts = 990; ts < 1210; ts += 7) {
		assert_int_equal(mq_reader_seek_time(r, ts), 0);
		int rc = mq_reader_next(r, &rec);
		if (ts <= 1199) {
			assert_int_equal(rc, 1);
			assert_int_equal(rec.offset, ts < 1000 ? 0 : ts - 1000);
		} else {
			assert_int_equal(rc, 0);
		}
	}
	mq_reader_close(r);
	assert_int_equal(tu_read_all(t, 0, 0, NULL, 0), 200);
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
	tu_teardown(dir, env, t);
}

static void test_time_non_monotonic(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "nm", small);
	int64_t ts[] = { 5000, 1000, 3000, 9000, 2000, 7000, 9500, 100 };
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 10; k++)
			tu_append(t, 0, i * 10 + k, 1, ts[i] - (i * 10 + k));
	/* Record i*10+k has timestamp ts[i]. */
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	int64_t q[] = { 0, 1000, 4000, 5000, 6000, 8000, 9200, 9600 };
	for (int j = 0; j < 8; j++) {
		int64_t want = -1;
		for (int i = 0; i < 80 && want < 0; i++)
			if (ts[i / 10] >= q[j])
				want = i;
		assert_int_equal(mq_reader_seek_time(r, q[j]), 0);
		int rc = mq_reader_next(r, &rec);
		if (want < 0) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, 1);
			assert_int_equal(rec.offset, want);
		}
	}
	mq_reader_close(r);
	tu_teardown(dir, env, t);
}

static void test_reopen_and_two_handles(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "re", small);
	tu_append(t, 0, 0, 10, -1);
	mq_topic_close(t);
	mq_topic *a, *b;
	assert_int_equal(mq_topic_open(env, "re", &a), 0);
	assert_int_equal(mq_topic_open(env, "re", &b), 0);
	for (int i = 10; i < 110; i += 2) {
		assert_int_equal(tu_append(i % 4 ? a : b, 0, i, 2, -1), i);
	}
	tu_assert_seq(a, 0, 110);
	assert_int_equal(mq_verify_partition(a, 0, NULL, NULL), 0);
	mq_topic_close(a);
	tu_teardown(dir, env, b);
}

/* size_of returns the size of segment BASE of partition 0 of topic NAME,
 * or -1 if it is not there. */
static long size_of(const char *dir, const char *name, int64_t base)
{
	char path[4096];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s-0/%020lld.log", dir, name,
	         (long long)base);
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/*
 * A writer keeps its lock file open and skips listing the directory while
 * its active segment is as it left it; it still sees what others did in
 * between: a roll with no append after it, a topic deleted and created
 * anew.
 */
static void test_writer_sees_others(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "ws", NULL), *o;
	assert_int_equal(mq_topic_open(env, "ws", &o), 0);
	assert_int_equal(tu_append(t, 0, 0, 3, -1), 0);
	long first = size_of(dir, "ws", 0);
	int rolled = 0;
	assert_int_equal(mq_roll(o, 0, 0, &rolled), 0);
	assert_int_equal(rolled, 1);
	assert_int_equal(size_of(dir, "ws", 3), 0);
	assert_int_equal(tu_append(t, 0, 3, 2, -1), 3);
	assert_int_equal(size_of(dir, "ws", 0), first);
	assert_true(size_of(dir, "ws", 3) > 0);
	tu_assert_seq(o, 0, 5);
	assert_int_equal(mq_verify_partition(o, 0, NULL, NULL), 0);
	mq_topic_close(o);

	/* Deleted: the next append says so.  Created anew: it starts the
	 * new log at offset 0. */
	assert_int_equal(mq_topic_delete(env, "ws", 0), 0);
	mq_batch *b;
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
	mq_record r = { .timestamp = -1, .key_len = -1, .value = "x",
	                .value_len = 1 };
	assert_int_equal(mq_batch_add(b, &r), 0);
	assert_int_equal(mq_append(t, 0, b, 0, NULL), MQ_ENOTOPIC);
	mq_batch_free(b);
	assert_int_equal(mq_topic_create(env, "ws", NULL, 0), 0);
	assert_int_equal(tu_append(t, 0, 0, 2, -1), 0);
	assert_int_equal(mq_topic_open(env, "ws", &o), 0);
	tu_assert_seq(o, 0, 2);
	mq_topic_close(o);
	tu_teardown(dir, env, t);
}

/* lock_fd_of finds the descriptor this process has open on PATH, or -1. */
static int lock_fd_of(const char *path)
{
	char link[64], target[4096];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			return fd;
	}
	return -1;
}

/*
 * The lock file descriptor a handle keeps is not shared with a forked
 * child: while the parent holds the lock through it (as in the middle of
 * an append), the child's append finds the lock busy.
 */
static void test_fork_own_lock(void **state)
{
	(void)state;
	char *dir, path[4096], real[4096];
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "fk", NULL);
	assert_int_equal(tu_append(t, 0, 0, 1, -1), 0);
	snprintf(path, sizeof path, "%s/fk-0/mq.lock", dir);
	assert_non_null(realpath(path, real));
	int fd = lock_fd_of(real);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		mq_batch *b;
		mq_record r = { .timestamp = -1, .key_len = -1, .value = "c",
		                .value_len = 1 };
		if (mq_batch_new(MQ_COMPRESSION_NONE, &b) < 0 ||
		    mq_batch_add(b, &r) < 0)
			_exit(2);
		_exit(mq_append(t, 0, b, MQ_NOWAIT, NULL) == MQ_EBUSY ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(flock(fd, LOCK_UN), 0);
	assert_int_equal(tu_append(t, 0, 1, 1, -1), 1);
	tu_teardown(dir, env, t);
}

/* More partitions than a writer keeps open: idle ones are closed. */
static void test_many_partitions(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	static const char *o[] = { "partitions=300", NULL };
	mq_topic *t = tu_setup(&dir, &env, "many", o);
	for (int round = 0; round < 2; round++)
		for (int32_t p = 0; p < 300; p++)
			assert_int_equal(tu_append(t, p, round, 1, -1), round);
	assert_int_equal(mq_sync(t), 0);
	for (int32_t p = 0; p < 300; p += 37)
		assert_int_equal(tu_read_all(t, p, 0, NULL, 0), 2);
	tu_teardown(dir, env, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_headers_keys_nulls),
		cmocka_unit_test(test_roll_and_seek),
		cmocka_unit_test(test_time_non_monotonic),
		cmocka_unit_test(test_reopen_and_two_handles),
		cmocka_unit_test(test_writer_sees_others),
		cmocka_unit_test(test_fork_own_lock),
		cmocka_unit_test(test_many_partitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
