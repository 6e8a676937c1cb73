/*
 * test_retain.c - retention: the persisted log start offset, readers that
 * never go below it, seeks below it, deleting segments by time, size and
 * log start, rolling the active segment, the order of a deletion (log
 * start first, files after), and consumer groups' committed offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

/* Every batch of three records fills a segment: bases 0, 3, 6, ... */
static const char *one_batch[] = { "segment.bytes=100", NULL };

#define OLD_TS 1000000000000LL /* 2001: far past any retention.ms */

static mq_topic *make(mq_env **env, const char *dir, const char *name,
                      const char *extra, int batches, int64_t ts)
{
	const char *ov[] = { one_batch[0], extra, NULL };
	mq_topic *t = tu_topic(env, dir, name, ov);
	for (int i = 0; i < batches; i++)
		assert_int_equal(tu_append(t, 0, i * 3, 3, ts), i * 3);
	return t;
}

static int exists(const char *dir, const char *topic, int64_t base,
                  const char *ext)
{
	char path[4200];
	tu_seg(path, sizeof path, dir, topic, 0, base, ext);
	return access(path, F_OK) == 0;
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Collected report events. */
struct events {
	int n;
	mq_retain_segment ev[16];
	char group[16][64];
};

static void collect(void *ctx, const mq_retain_segment *s)
{
	struct events *e = ctx;
	assert_true(e->n < 16);
	e->ev[e->n] = *s;
	snprintf(e->group[e->n], sizeof e->group[0], "%s",
	         s->group ? s->group : "");
	e->n++;
}

static mq_retain_opts opts(void)
{
	mq_retain_opts o = { .now_ms = -1, .delete_before = -1 };
	return o;
}

static void assert_offsets(mq_topic *t, int64_t start, int64_t end)
{
	int64_t s, e;
	assert_int_equal(mq_log_offsets(t, 0, &s, &e), 0);
	assert_int_equal(s, start);
	assert_int_equal(e, end);
}

static void test_delete_before(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	mq_env *env;
	mq_topic *t = make(&env, dir, "d", NULL, 4, -1);
	assert_offsets(t, 0, 12);

	struct events ev = { 0 };
	mq_retain_result res;
	mq_retain_opts o = opts();
	o.delete_before = 4;
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.log_start_before, 0);
	assert_int_equal(res.log_start, 4);
	assert_int_equal(res.log_end, 12);
	assert_int_equal(res.segments_deleted, 1);
	assert_int_equal(res.rolled, 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.ev[0].action, MQ_RETAIN_DELETED);
	assert_int_equal(ev.ev[0].reasons, MQ_RETAIN_LOG_START);
	assert_int_equal(ev.ev[0].base_offset, 0);
	assert_int_equal(ev.ev[0].next_offset, 3);
	assert_int_equal(res.bytes_freed, ev.ev[0].bytes);
	assert_false(exists(dir, "d", 0, ".log"));
	assert_false(exists(dir, "d", 0, ".index"));
	assert_false(exists(dir, "d", 0, ".timeindex"));
	assert_true(exists(dir, "d", 3, ".log"));

	/* Persisted, and seen by a new handle. */
	char path[4200], buf[64];
	snprintf(path, sizeof path, "%s/d-0/mq.log-start", dir);
	read_file(path, buf, sizeof buf);
	assert_string_equal(buf, "4\n");
	mq_topic *t2;
	assert_int_equal(mq_topic_open(env, "d", &t2), 0);
	assert_offsets(t2, 4, 12);

	/* Readers start at the log start, though segment 3 holds offset 3. */
	int nums[16];
	assert_int_equal(tu_read_all(t2, 0, 0, nums, 16), 8);
	assert_int_equal(nums[0], 4);
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t2, 0, &r), 0);
	assert_int_equal(mq_reader_position(r), 4);
	assert_int_equal(mq_reader_seek(r, 2), 1);
	assert_int_equal(mq_reader_position(r), 4);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 4);
	assert_int_equal(mq_reader_seek(r, 3), 1);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 4);
	assert_int_equal(mq_reader_seek(r, 5), 0);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 5);
	assert_int_equal(mq_reader_seek_time(r, 0), 0);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 4);
	assert_int_equal(mq_reader_moved(r, NULL, NULL), 0);

	/* Never backwards; beyond the end is an error and changes nothing. */
	o.delete_before = 2;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.log_start, 4);
	assert_int_equal(res.segments_deleted, 0);
	o.delete_before = 13;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), MQ_ERANGE);
	assert_offsets(t, 4, 12);

	/* Up to the log end: the active segment is rolled and goes too. */
	o.delete_before = 12;
	memset(&ev, 0, sizeof ev);
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.rolled, 1);
	assert_int_equal(res.segments_deleted, 3);
	assert_int_equal(res.log_start, 12);
	assert_int_equal(ev.n, 4);
	assert_int_equal(ev.ev[0].action, MQ_RETAIN_ROLLED);
	assert_int_equal(ev.ev[0].base_offset, 9);
	assert_int_equal(ev.ev[3].base_offset, 9);
	assert_int_equal(ev.ev[3].action, MQ_RETAIN_DELETED);
	assert_false(exists(dir, "d", 9, ".log"));
	assert_true(exists(dir, "d", 12, ".log"));
	assert_offsets(t2, 12, 12);
	assert_int_equal(tu_read_all(t2, 0, 0, NULL, 0), 0);
	/* Appends through the other handle go on at offset 12. */
	assert_int_equal(tu_append(t2, 0, 12, 2, -1), 12);
	assert_int_equal(tu_read_all(t, 0, 0, nums, 16), 2);
	assert_int_equal(nums[0], 12);
	mq_reader_close(r);
	mq_topic_close(t2);
	tu_teardown(dir, env, t);
}

static void test_reader_moved(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	mq_env *env;
	mq_topic *t = make(&env, dir, "m", NULL, 5, -1);
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 0);

	mq_retain_opts o = opts();
	o.delete_before = 7;
	mq_retain_result res;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 2); /* 0 and 3; 6 holds 7 */
	assert_int_equal(res.log_start, 7);

	/* What the reader had already read of segment 0 may still come; then
	 * it continues at the log start and says so once. */
	int64_t last = 0, from = -1, to = -1;
	int moved = 0, rc;
	while ((rc = mq_reader_next(r, &rec)) == 1) {
		assert_true(rec.offset > last);
		assert_true(rec.offset < 3 || rec.offset >= 7);
		if (mq_reader_moved(r, &from, &to)) {
			moved++;
			assert_int_equal(rec.offset, 7);
		}
		last = rec.offset;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(last, 14);
	assert_int_equal(moved, 1);
	assert_int_equal(from, 3);
	assert_int_equal(to, 7);
	assert_int_equal(mq_reader_moved(r, &from, &to), 0);

	/* A reader in the middle of a segment whose log start moves past it:
	 * it notices when it moves to the next segment. */
	assert_int_equal(mq_reader_seek(r, 8), 0);
	assert_int_equal(mq_reader_next(r, &rec), 1);
	assert_int_equal(rec.offset, 8);
	o.delete_before = 13;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 2); /* 6 and 9 */
	last = 8;
	while ((rc = mq_reader_next(r, &rec)) == 1) {
		assert_true(rec.offset > last);
		last = rec.offset;
		if (rec.offset > 8)
			assert_true(rec.offset >= 13);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(mq_reader_moved(r, &from, &to), 1);
	assert_int_equal(to, 13);
	mq_reader_close(r);
	tu_teardown(dir, env, t);
}

static void test_time_and_roll(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	mq_env *env;
	/* Old records in 0 and 3, recent ones in 6 (the active segment). */
	mq_topic *t = make(&env, dir, "tm", "retention.ms=60000", 2, OLD_TS);
	int64_t now = OLD_TS + 1000000;
	assert_int_equal(tu_append(t, 0, 6, 3, now - 10000), 6);
	mq_retain_opts o = opts();
	o.policy = 1;
	o.now_ms = now;
	struct events ev = { 0 };
	mq_retain_result res;

	/* A dry run changes nothing. */
	o.dry_run = 1;
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.segments_deleted, 2);
	assert_int_equal(res.log_start, 6);
	assert_true(exists(dir, "tm", 0, ".log"));
	assert_offsets(t, 0, 9);
	assert_int_equal(ev.n, 2);

	o.dry_run = 0;
	memset(&ev, 0, sizeof ev);
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.segments_deleted, 2);
	assert_int_equal(res.rolled, 0);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.ev[0].reasons, MQ_RETAIN_TIME);
	assert_int_equal(ev.ev[0].max_timestamp, OLD_TS + 2);
	assert_int_equal(ev.ev[1].max_timestamp, OLD_TS + 5);
	assert_offsets(t, 6, 9);
	assert_true(exists(dir, "tm", 6, ".log"));

	/* Later, the quiet active segment is past the limit alone: rolled. */
	o.now_ms = now + 60000;
	memset(&ev, 0, sizeof ev);
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.rolled, 1);
	assert_int_equal(res.segments_deleted, 1);
	assert_int_equal(ev.ev[0].action, MQ_RETAIN_ROLLED);
	assert_int_equal(ev.ev[1].action, MQ_RETAIN_DELETED);
	assert_offsets(t, 9, 9);
	assert_true(exists(dir, "tm", 9, ".log"));
	assert_false(exists(dir, "tm", 6, ".log"));
	/* Nothing left to do: an empty active segment is never rolled. */
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.rolled, 0);
	assert_int_equal(res.segments_deleted, 0);
	assert_int_equal(tu_append(t, 0, 9, 1, -1), 9);

	/* mq_roll on its own. */
	int rolled = -1;
	assert_int_equal(mq_roll(t, 0, 0, &rolled), 0);
	assert_int_equal(rolled, 1);
	assert_true(exists(dir, "tm", 10, ".log"));
	assert_int_equal(mq_roll(t, 0, MQ_NOWAIT, &rolled), 0);
	assert_int_equal(rolled, 0);

	/* Without delete in cleanup.policy the policy does nothing. */
	mq_config cfg = *mq_topic_config(t);
	cfg.cleanup_policy = MQ_CLEANUP_COMPACT;
	assert_int_equal(mq_topic_alter(env, "tm", &cfg), 0);
	mq_topic *t2;
	assert_int_equal(mq_topic_open(env, "tm", &t2), 0);
	o.now_ms = -1;
	o.now_ms = INT64_MAX / 2;
	assert_int_equal(mq_retain(t2, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 0);
	mq_topic_close(t2);
	tu_teardown(dir, env, t);
}

static void test_size(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	mq_env *env;
	mq_topic *t = make(&env, dir, "sz", NULL, 4, -1);
	char path[4200];
	long keep = 0;
	for (int64_t b = 6; b <= 9; b += 3) {
		tu_seg(path, sizeof path, dir, "sz", 0, b, ".log");
		keep += tu_file_size(path);
	}
	mq_config cfg = *mq_topic_config(t);
	cfg.retention_bytes = keep;
	assert_int_equal(mq_topic_alter(env, "sz", &cfg), 0);
	mq_topic_close(t);
	assert_int_equal(mq_topic_open(env, "sz", &t), 0);
	mq_retain_opts o = opts();
	o.policy = 1;
	struct events ev = { 0 };
	mq_retain_result res;
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.segments_deleted, 2);
	assert_int_equal(ev.ev[0].reasons, MQ_RETAIN_SIZE);
	assert_offsets(t, 6, 12);
	/* Exactly at the limit: nothing more goes. */
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 0);
	tu_teardown(dir, env, t);
}

/* The log start is persisted before files go: the states a crash can
 * leave behind read correctly and the next run finishes the job. */
static void test_cut_short(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	mq_env *env;
	mq_topic *t = make(&env, dir, "cs", NULL, 3, -1);
	char path[4200];
	snprintf(path, sizeof path, "%s/cs-0/mq.log-start", dir);
	put_file(path, "3\n");               /* persisted; no file gone yet */
	assert_offsets(t, 3, 9);
	int nums[16];
	assert_int_equal(tu_read_all(t, 0, 0, nums, 16), 6);
	assert_int_equal(nums[0], 3);
	tu_seg(path, sizeof path, dir, "cs", 0, 0, ".log");
	assert_int_equal(unlink(path), 0);   /* .log gone, indexes left */
	assert_offsets(t, 3, 9);
	mq_retain_opts o = opts();
	mq_retain_result res;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 0);
	assert_false(exists(dir, "cs", 0, ".index"));
	assert_false(exists(dir, "cs", 0, ".timeindex"));
	/* Or nothing removed at all: the next run removes segment 0. */
	mq_env *env2;
	mq_topic *t2 = make(&env2, dir, "cs2", NULL, 3, -1);
	snprintf(path, sizeof path, "%s/cs2-0/mq.log-start", dir);
	put_file(path, "4\n");
	assert_offsets(t2, 4, 9);
	assert_int_equal(mq_retain(t2, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 1);
	assert_int_equal(res.log_start, 4);
	assert_false(exists(dir, "cs2", 0, ".log"));
	/* A damaged log start file is reported, not guessed at. */
	put_file(path, "x\n");
	int64_t s, e;
	assert_int_equal(mq_log_offsets(t2, 0, &s, &e), MQ_ECORRUPT);
	assert_non_null(strstr(mq_errmsg(), "mq.log-start"));
	mq_topic_close(t2);
	mq_env_close(env2);
	tu_teardown(dir, env, t);
}

static void mkdirs(const char *dir, const char *sub)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/%s'", dir, sub);
	assert_int_equal(system(cmd), 0);
}

static void test_groups(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	mq_env *env;
	mq_topic *t = make(&env, dir, "g", "retention.ms=60000", 4, OLD_TS);
	char **names;
	assert_int_equal(mq_group_list(env, &names), 0);
	assert_null(names[0]);
	mq_free_list(names);

	char path[4200];
	mkdirs(dir, ".mq/groups/b/other");
	mkdirs(dir, ".mq/groups/a/g");
	mkdirs(dir, ".mq/groups/bad name");
	snprintf(path, sizeof path, "%s/.mq/groups/a/g/0.offset", dir);
	put_file(path, "5\n");
	snprintf(path, sizeof path, "%s/.mq/groups/stray", dir);
	put_file(path, "");
	assert_int_equal(mq_group_list(env, &names), 0);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");
	assert_null(names[2]);
	mq_free_list(names);

	int64_t off;
	assert_int_equal(mq_group_committed(env, "a", "g", 0, &off), 0);
	assert_int_equal(off, 5);
	assert_int_equal(mq_group_committed(env, "a", "g", 1, &off), 0);
	assert_int_equal(off, -1);
	assert_int_equal(mq_group_committed(env, "nope", "g", 0, &off), 0);
	assert_int_equal(off, -1);
	assert_int_equal(mq_group_committed(env, "a/b", "g", 0, &off),
	                 MQ_EBADNAME);
	assert_int_equal(mq_group_committed(env, "a", "..", 0, &off),
	                 MQ_EBADNAME);
	snprintf(path, sizeof path, "%s/.mq/groups/a/g/7.offset", dir);
	put_file(path, "12");
	assert_int_equal(mq_group_committed(env, "a", "g", 7, &off),
	                 MQ_ECORRUPT);

	/* Group a has consumed 0-4: segment 0 may go, segment 3 may not. */
	mq_retain_opts o = opts();
	o.policy = 1;
	o.respect_groups = 1;
	struct events ev = { 0 };
	mq_retain_result res;
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.segments_deleted, 1);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.ev[0].action, MQ_RETAIN_DELETED);
	assert_int_equal(ev.ev[1].action, MQ_RETAIN_KEPT);
	assert_int_equal(ev.ev[1].base_offset, 3);
	assert_string_equal(ev.group[1], "a");
	assert_int_equal(ev.ev[1].committed, 5);
	assert_offsets(t, 3, 12);

	/* Only group b, which does not read topic g: nothing holds. */
	const char *only_b[] = { "b", NULL };
	o.groups = only_b;
	o.dry_run = 1;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 3);
	assert_int_equal(res.rolled, 1);

	/* A group reading the topic without a commit here holds it all. */
	mkdirs(dir, ".mq/groups/c/g");
	o.groups = NULL;
	o.dry_run = 0;
	memset(&ev, 0, sizeof ev);
	assert_int_equal(mq_retain(t, 0, &o, collect, &ev, &res), 0);
	assert_int_equal(res.segments_deleted, 0);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.group[0], "c");
	assert_int_equal(ev.ev[0].committed, -1);

	/* delete-before is not held back by groups. */
	o.delete_before = 6;
	assert_int_equal(mq_retain(t, 0, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.segments_deleted, 1);
	assert_offsets(t, 6, 12);
	tu_teardown(dir, env, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delete_before),
		cmocka_unit_test(test_reader_moved),
		cmocka_unit_test(test_time_and_roll),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_cut_short),
		cmocka_unit_test(test_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
