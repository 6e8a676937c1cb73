/*
 * test_log.c - the partition log: append and read back, segment roll,
 * reopening, index and timeindex lookups, recovery from a torn tail at
 * every byte position, damaged indexes, corruption in a closed segment.
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

/* Recovery from a log cut at every byte position of its last batch. */
static void test_torn_tail_every_byte(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	static const char *o[] = { "index.interval.bytes=50", NULL };
	mq_topic *t = tu_setup(&dir, &env, "torn", o);
	for (int i = 0; i < 10; i++)
		tu_append(t, 0, i * 3, 3, -1);
	char log[4200], save[4300];
	tu_seg(log, sizeof log, dir, "torn", 0, 0, ".log");
	snprintf(save, sizeof save, "%s.orig", log);
	long full = tu_file_size(log);
	mq_topic_close(t);
	tu_copy_file(log, save);
	/* Find where the last batch starts: append one more and compare. */
	assert_int_equal(mq_topic_open(env, "torn", &t), 0);
	tu_append(t, 0, 30, 3, -1);
	mq_topic_close(t);
	long last_start = full, last_end = tu_file_size(log);
	tu_copy_file(log, save);
	for (long cut = last_start; cut < last_end; cut++) {
		tu_copy_file(save, log);
		assert_int_equal(truncate(log, cut), 0);
		assert_int_equal(mq_topic_open(env, "torn", &t), 0);
		/* Readers stop cleanly at the last complete batch. */
		tu_assert_seq(t, 0, 30);
		/* The next writer truncates the tail and carries on. */
		int nums[64];
		assert_int_equal(tu_append(t, 0, 100, 1, -1), 30);
		if (cut > last_start)
			assert_non_null(mq_recovery_report(t, 0));
		else
			assert_null(mq_recovery_report(t, 0));
		assert_int_equal(tu_read_all(t, 0, 0, nums, 64), 31);
		assert_int_equal(nums[30], 100);
		assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
		mq_topic_close(t);
	}
	tu_teardown(dir, env, NULL);
}

static void test_index_rebuilt(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	static const char *o[] = { "index.interval.bytes=10", NULL };
	mq_topic *t = tu_setup(&dir, &env, "ix", o);
	for (int i = 0; i < 40; i++)
		tu_append(t, 0, i, 1, 5000);
	mq_topic_close(t);
	char idx[4200], tidx[4200];
	tu_seg(idx, sizeof idx, dir, "ix", 0, 0, ".index");
	tu_seg(tidx, sizeof tidx, dir, "ix", 0, 0, ".timeindex");
	long isz = tu_file_size(idx), tsz = tu_file_size(tidx);
	assert_true(isz > 0 && isz % 8 == 0);
	assert_true(tsz > 0 && tsz % 12 == 0);
	/* Garbage index: readers do not trust it; seeks stay exact. */
	FILE *f = fopen(idx, "r+b");
	fseek(f, 8, SEEK_SET);
	fwrite("\x00\x00\x00\x01\x7f\xff\xff\xff", 1, 8, f);
	fclose(f);
	assert_int_equal(mq_topic_open(env, "ix", &t), 0);
	assert_true(mq_verify_partition(t, 0, NULL, NULL) > 0);
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	for (int64_t o2 = 0; o2 < 40; o2++) {
		assert_int_equal(mq_reader_seek(r, o2), 0);
		assert_int_equal(mq_reader_next(r, &rec), 1);
		assert_int_equal(rec.offset, o2);
	}
	mq_reader_close(r);
	/* The next writer rebuilds both indexes. */
	tu_append(t, 0, 40, 1, 5000);
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
	mq_topic_close(t);
	/* Missing indexes are rebuilt too. */
	unlink(idx);
	unlink(tidx);
	assert_int_equal(mq_topic_open(env, "ix", &t), 0);
	tu_append(t, 0, 41, 1, 5000);
	assert_true(tu_file_size(idx) >= isz);
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
	assert_int_equal(tu_read_all(t, 0, 0, NULL, 0), 42);
	tu_teardown(dir, env, t);
}

static void test_corrupt_closed_segment(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "bad", small);
	for (int i = 0; i < 100; i++)
		tu_append(t, 0, i, 1, -1);
	char log[4200];
	tu_seg(log, sizeof log, dir, "bad", 0, 0, ".log");
	/* Flip a byte inside the third batch's records. */
	long pos = 0;
	FILE *f = fopen(log, "r+b");
	unsigned char h[12];
	for (int i = 0; i < 2; i++) {
		fseek(f, pos, SEEK_SET);
		assert_int_equal(fread(h, 1, 12, f), 12);
		pos += 12 + ((long)h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11]);
	}
	fseek(f, pos + 65, SEEK_SET);
	int c = fgetc(f);
	fseek(f, pos + 65, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(mq_reader_next(r, &rec), MQ_ECORRUPT);
	assert_non_null(strstr(mq_errmsg(), "offset 2"));
	assert_non_null(strstr(mq_errmsg(), "partition 0"));
	/* It stays an error: never skipped. */
	assert_int_equal(mq_reader_next(r, &rec), MQ_ECORRUPT);
	mq_reader_close(r);
	assert_true(mq_verify_partition(t, 0, NULL, NULL) >= 1);
	tu_teardown(dir, env, t);
}

/* batch_at returns the position of batch k (from 0) of the .log at path. */
static long batch_at(const char *path, int k)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char h[12];
	long pos = 0;
	for (int i = 0; i < k; i++) {
		fseek(f, pos, SEEK_SET);
		assert_int_equal(fread(h, 1, 12, f), 12);
		pos += 12 + ((long)h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11]);
	}
	fclose(f);
	return pos;
}

/* put_at overwrites len bytes at pos of the file at path. */
static void put_at(const char *path, long pos, const void *b, size_t len)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, pos, SEEK_SET);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
}

struct problems {
	int n;
	uint64_t pos[8];
};

static void note_problem(void *ctx, const char *file, uint64_t pos,
                         const char *msg)
{
	struct problems *p = ctx;
	(void)file;
	(void)msg;
	if (p->n < 8)
		p->pos[p->n] = pos;
	p->n++;
}

/*
 * The writer's rule in verify: a batch in the active segment whose length
 * runs past the end of the file is a torn tail only when no valid batch
 * follows it; otherwise verify reports it at its position.
 */
static void test_verify_torn_or_damaged(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "torn", small);
	for (int i = 0; i < 10; i++)
		tu_append(t, 0, i, 1, -1);
	assert_int_equal(mq_sync(t), 0);
	char log[4200];
	tu_seg(log, sizeof log, dir, "torn", 0, 0, ".log");
	static const unsigned char huge[4] = { 0x00, 0x10, 0x00, 0x00 };
	long mid = batch_at(log, 4), last = batch_at(log, 9);
	unsigned char keep[4];
	FILE *f = fopen(log, "rb");
	fseek(f, mid + 8, SEEK_SET);
	assert_int_equal(fread(keep, 1, 4, f), 4);
	fclose(f);

	/* Damaged length of a middle batch: corruption, named. */
	put_at(log, mid + 8, huge, 4);
	struct problems pr = { 0, { 0 } };
	/* (Index entries past it then point where no batch starts.) */
	assert_true(mq_verify_partition(t, 0, note_problem, &pr) >= 1);
	assert_int_equal(pr.pos[0], (uint64_t)mid);
	/* Readers see a batch not yet written: records 0..3, no error. */
	assert_int_equal(tu_read_all(t, 0, 0, NULL, 0), 4);
	put_at(log, mid + 8, keep, 4);
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);

	/* The same on the last batch: a torn tail, not a problem. */
	put_at(log, last + 8, huge, 4);
	pr.n = 0;
	assert_int_equal(mq_verify_partition(t, 0, note_problem, &pr), 0);
	assert_int_equal(tu_read_all(t, 0, 0, NULL, 0), 9);
	tu_teardown(dir, env, t);
}

/*
 * A damaged baseOffset (outside the CRC) in a topic that was never
 * compacted breaks the contiguity of offsets: readers stop there with
 * MQ_ECORRUPT after every record before it, from the start, after a seek
 * by offset and by time; the log end offset still reaches the damaged
 * batch; verify reports it.
 */
static void test_base_offset_contiguity(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "bo", small);
	for (int i = 0; i < 10; i++)
		tu_append(t, 0, i, 1, 1000);
	assert_int_equal(mq_sync(t), 0);
	char log[4200];
	tu_seg(log, sizeof log, dir, "bo", 0, 0, ".log");
	long pos6 = batch_at(log, 6), pos9 = batch_at(log, 9);
	unsigned char b = 7; /* batch 6 claims offset 7 */
	put_at(log, pos6 + 7, &b, 1);

	mq_reader *r;
	mq_record rec;
	char want[64];
	snprintf(want, sizeof want, "position %ld", pos6);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(mq_reader_open(t, 0, &r), 0);
		int first = 0;
		if (k == 1)
			assert_int_equal(mq_reader_seek(r, first = 5), 0);
		else if (k == 2)
			assert_int_equal(mq_reader_seek_time(r, 1000 + (first = 3)), 0);
		int n = first;
		while (mq_reader_next(r, &rec) == 1) {
			assert_int_equal(rec.offset, n);
			n++;
		}
		assert_int_equal(n, 6);
		assert_int_equal(mq_reader_next(r, &rec), MQ_ECORRUPT);
		assert_non_null(strstr(mq_errmsg(), "topic 'bo' partition 0, offset 6"));
		assert_non_null(strstr(mq_errmsg(), want));
		mq_reader_close(r);
	}
	struct problems pr = { 0, { 0 } };
	assert_true(mq_verify_partition(t, 0, note_problem, &pr) >= 1);
	assert_int_equal(pr.pos[0], (uint64_t)pos6);

	/* The last batch claiming an offset below its predecessor's: the
	 * log end offset stays 10, so a reader gets to it and fails. */
	b = 6;
	put_at(log, pos6 + 7, &b, 1);
	b = 3;
	put_at(log, pos9 + 7, &b, 1);
	int64_t start, end;
	assert_int_equal(mq_log_offsets(t, 0, &start, &end), 0);
	assert_int_equal(end, 10);
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	int n = 0;
	while (mq_reader_next(r, &rec) == 1)
		assert_int_equal(rec.offset, n++);
	assert_int_equal(n, 9);
	assert_int_equal(mq_reader_next(r, &rec), MQ_ECORRUPT);
	mq_reader_close(r);
	mq_topic_close(t);
	mq_env_close(env);

	/* The same bytes in a compacted topic: gaps are allowed there, but
	 * offsets must still rise. */
	static const char *compact[] = { "segment.bytes=1024",
	                                 "index.interval.bytes=100",
	                                 "cleanup.policy=compact", NULL };
	char *dir2;
	t = tu_setup(&dir2, &env, "bo", compact);
	for (int i = 0; i < 10; i++)
		tu_append(t, 0, i, 1, 1000);
	assert_int_equal(mq_sync(t), 0);
	tu_seg(log, sizeof log, dir2, "bo", 0, 0, ".log");
	b = 12;
	put_at(log, pos6 + 7, &b, 1); /* 0..5, then 12: a gap, then 7 */
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	n = 0;
	while (mq_reader_next(r, &rec) == 1)
		n++;
	assert_int_equal(n, 7);
	assert_int_equal(mq_reader_next(r, &rec), MQ_ECORRUPT);
	mq_reader_close(r);
	tu_teardown(dir2, env, t);
	tu_rmdir(dir);
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
		cmocka_unit_test(test_torn_tail_every_byte),
		cmocka_unit_test(test_index_rebuilt),
		cmocka_unit_test(test_verify_torn_or_damaged),
		cmocka_unit_test(test_base_offset_contiguity),
		cmocka_unit_test(test_corrupt_closed_segment),
		cmocka_unit_test(test_many_partitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
