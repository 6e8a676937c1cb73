/*
 * test_recovery.c - the partition log after a crash or damage: recovery
 * from a torn tail at every byte position, damaged and missing indexes
 * rebuilt, corruption in a closed segment, verify telling a torn tail from
 * a damaged batch, and the contiguity of base offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

static const char *small[] = { "segment.bytes=1024", "index.interval.bytes=100",
                               NULL };

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_tail_every_byte),
		cmocka_unit_test(test_index_rebuilt),
		cmocka_unit_test(test_verify_torn_or_damaged),
		cmocka_unit_test(test_base_offset_contiguity),
		cmocka_unit_test(test_corrupt_closed_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
