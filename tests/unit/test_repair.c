/*
 * test_repair.c - mq_repair_partition on damaged .log files: damage in a
 * closed segment, in the active segment, in the first and in the last
 * batch, a changed baseOffset, a torn tail, dry runs, idempotence, a
 * repair interrupted after it set bytes aside, a held lock, a compacted
 * topic, and appending after a repair.  Index repairs are in
 * test_repair_index.c.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

/*
 * log_batch stores the path of segment seg's .log (of topic r in dir) in
 * path and returns the position of its batch k.
 */
static uint64_t log_batch(char *path, size_t len, const char *dir,
                          const mq_segment_info *seg, int k)
{
	mq_dump *d;
	mq_batch_info info;
	tu_seg(path, len, dir, "r", 0, seg->base_offset, ".log");
	assert_int_equal(mq_dump_open(path, &d), 0);
	for (int i = 0; i <= k; i++)
		assert_int_equal(mq_dump_next_batch(d, &info), 1);
	mq_dump_close(d);
	return info.position;
}

/* snapshot lists every file under the partition with its checksum. */
static char *snapshot(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "cd '%s/r-0' && find . -printf '%%y %%s %%p\\n' "
	         "| sort && find . -type f -exec sha256sum {} + | sort", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *buf = calloc(1, 1 << 16);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 16) - 1, p);
	assert_true(n < (1 << 16) - 1);
	assert_int_equal(pclose(p), 0);
	return buf;
}

/*
 * repair_keeps_files repairs f's partition with flags into *l, checks that
 * it reported want actions and that no file of the partition changed.
 */
static void repair_keeps_files(struct tu_fx *f, int flags, int want,
                               struct tu_repair_log *l)
{
	char *before = snapshot(f->dir);
	assert_int_equal(tu_repair(f->t, flags, l), want);
	char *after = snapshot(f->dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void test_clean_partition(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	char *before = snapshot(fx.dir);
	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 0);
	assert_int_equal(tu_repair(fx.t, MQ_REPAIR_DRY_RUN, &l), 0);
	char *after = snapshot(fx.dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	tu_fx_close(&fx);
}

/*
 * damage_case flips a CRC-covered byte of batch k of segment si and
 * repairs: the batches before it stay, the rest of the segment is set
 * aside byte for byte, its indexes are rebuilt, verification is clean,
 * readers skip the lost offsets, a second repair does nothing, and the
 * writer appends at the right offset.
 */
static void damage_case(int si, int k)
{
	struct tu_fx fx;
	tu_fx_open(&fx);
	if (si < 0)
		si = (int)fx.ns - 1;
	if (k < 0)
		k = (int)fx.s[si].batches - 1;
	int last = si == (int)fx.ns - 1;
	char path[4200], aside[4300];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[si], k);
	tu_flip(path, pos + 40);
	size_t olen;
	char *orig = tu_slurp(path, &olen);
	assert_non_null(orig);

	/* Readers stop at the damage; mq-inspect --verify names it. */
	assert_true(mq_verify_partition(fx.t, 0, NULL, NULL) > 0);

	struct tu_repair_log l;
	repair_keeps_files(&fx, MQ_REPAIR_DRY_RUN, 3, &l);
	struct tu_repair_log dry = l;

	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	int64_t lost_lo = fx.s[si].base_offset + 2 * k;
	int64_t lost_hi = fx.s[si].next_offset;
	assert_int_equal(l.a[0].kind, MQ_REPAIR_DAMAGE);
	assert_int_equal(l.a[0].base_offset, fx.s[si].base_offset);
	assert_int_equal(l.a[0].position, pos);
	assert_int_equal(l.a[0].offset, lost_lo);
	assert_int_equal(l.a[0].batches, k);
	assert_int_equal(l.a[0].records, 2 * k);
	assert_int_equal(l.a[0].bytes, olen - pos);
	assert_string_equal(l.why[0], "CRC mismatch");
	char want[64];
	snprintf(want, sizeof want, "%020lld.log.damaged-%llu",
	         (long long)fx.s[si].base_offset, (unsigned long long)pos);
	assert_string_equal(l.aside[0], want);
	assert_int_equal(l.a[1].kind, MQ_REPAIR_INDEX);
	assert_string_equal(l.why[1], "the log was cut");
	assert_int_equal(l.a[2].kind, MQ_REPAIR_INDEX);
	/* The dry run said the same. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(dry.a[i].kind, l.a[i].kind);
		assert_string_equal(dry.file[i], l.file[i]);
		assert_string_equal(dry.aside[i], l.aside[i]);
		assert_int_equal(dry.a[i].bytes, l.a[i].bytes);
	}

	/* The segment is cut at the damage; the rest is beside it. */
	assert_int_equal(tu_file_size(path), (long)pos);
	tu_expect_file(path, orig, pos);
	snprintf(aside, sizeof aside, "%s.damaged-%llu", path,
	         (unsigned long long)pos);
	tu_expect_file(aside, orig + pos, olen - pos);
	free(orig);

	tu_expect_verified(fx.t);
	tu_expect_records(fx.t, (int)lost_lo, (int)lost_hi, 0);
	if (!last && lost_lo < lost_hi) {
		/* The set-aside file is what tells that gap from damage. */
		char away[4400];
		snprintf(away, sizeof away, "%s.away", aside);
		assert_int_equal(rename(aside, away), 0);
		assert_int_equal(mq_verify_partition(fx.t, 0, NULL, NULL), 1);
		assert_int_equal(rename(away, aside), 0);
	}

	/* Again: nothing to do, nothing changes. */
	repair_keeps_files(&fx, 0, 0, &l);

	/* The writer carries on after the kept records of the last segment. */
	mq_topic_close(fx.t);
	assert_int_equal(mq_topic_open(fx.env, "r", &fx.t), 0);
	int64_t next = last ? lost_lo : TU_FX_NREC;
	assert_int_equal(tu_append(fx.t, 0, TU_FX_NREC, 2, 1000), next);
	tu_expect_records(fx.t, (int)lost_lo, (int)lost_hi, 2);
	tu_expect_verified(fx.t);
	tu_fx_close(&fx);
}

static void test_damage_closed_segment(void **state)
{
	(void)state;
	damage_case(1, 3);
}

static void test_damage_active_segment(void **state)
{
	(void)state;
	damage_case(-1, 1);
}

static void test_damage_first_batch(void **state)
{
	(void)state;
	damage_case(0, 0);
}

static void test_damage_last_batch_closed(void **state)
{
	(void)state;
	damage_case(2, -1);
}

static void test_damage_last_batch_active(void **state)
{
	(void)state;
	damage_case(-1, -1);
}

static void test_damage_whole_active_segment(void **state)
{
	(void)state;
	damage_case(-1, 0);
}

/* A changed baseOffset (outside the CRC) is damage too. */
static void test_damage_base_offset(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[1], 2);
	tu_flip(path, pos + 7);
	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].kind, MQ_REPAIR_DAMAGE);
	assert_int_equal(l.a[0].position, pos);
	assert_string_equal(l.why[0], "batch offset out of sequence");
	tu_expect_verified(fx.t);
	tu_expect_records(fx.t, (int)fx.s[1].base_offset + 4,
	                  (int)fx.s[1].next_offset, 0);
	tu_fx_close(&fx);
}

/* An incomplete last batch of the active segment is a torn tail: cut. */
static void test_torn_tail(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	mq_segment_info *a = &fx.s[fx.ns - 1];
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, a,
	                         (int)a->batches - 1);
	long size = tu_file_size(path);
	assert_int_equal(truncate(path, size - 5), 0);
	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].kind, MQ_REPAIR_TORN);
	assert_int_equal(l.a[0].position, pos);
	assert_int_equal(l.a[0].bytes, (uint64_t)(size - 5) - pos);
	assert_string_equal(l.why[0], "incomplete batch");
	assert_string_equal(l.aside[0], "");
	assert_int_equal(tu_file_size(path), (long)pos);
	assert_int_equal(tu_repair(fx.t, 0, &l), 0);
	tu_expect_verified(fx.t);
	tu_expect_records(fx.t, TU_FX_NREC - 2, TU_FX_NREC, 0);
	assert_int_equal(tu_append(fx.t, 0, TU_FX_NREC, 2, 1000), TU_FX_NREC - 2);
	tu_fx_close(&fx);
}

/* An incomplete batch in a closed segment is damage, not a torn tail. */
static void test_incomplete_closed_segment(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[0],
	                         (int)fx.s[0].batches - 1);
	assert_int_equal(truncate(path, tu_file_size(path) - 3), 0);
	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].kind, MQ_REPAIR_DAMAGE);
	assert_int_equal(l.a[0].position, pos);
	assert_string_equal(l.why[0], "incomplete batch");
	tu_expect_verified(fx.t);
	tu_fx_close(&fx);
}

/*
 * A repair that crashed after it set the bytes aside but before it cut
 * the .log: the next one finds the same bytes there and uses that file;
 * a file of the same name with other bytes is kept and another name is
 * used.  Temporary files a crash left are removed.
 */
static void test_interrupted_repair(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	char path[4200], aside[4300], other[4400], tmp[4300];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[1], 4);
	tu_flip(path, pos + 30);
	size_t olen;
	char *orig = tu_slurp(path, &olen);
	snprintf(aside, sizeof aside, "%s.damaged-%llu", path,
	         (unsigned long long)pos);
	FILE *f = fopen(aside, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(orig + pos, 1, olen - pos, f), olen - pos);
	fclose(f);
	snprintf(tmp, sizeof tmp, "%s/r-0/.mq-repair-1-1", fx.dir);
	f = fopen(tmp, "wb");
	assert_non_null(f);
	fclose(f);
	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	assert_string_equal(l.aside[0], strrchr(aside, '/') + 1);
	assert_int_equal(access(tmp, F_OK), -1);
	snprintf(other, sizeof other, "%s.1", aside);
	assert_int_equal(access(other, F_OK), -1);
	assert_int_equal(tu_file_size(path), (long)pos);

	/* New damage at the same position, other bytes: another name. */
	f = fopen(path, "ab");
	assert_non_null(f);
	for (int i = 0; i < 100; i++)
		fputc(0xab, f);
	fclose(f);
	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	snprintf(other, sizeof other, "%s.damaged-%llu.1",
	         strrchr(path, '/') + 1, (unsigned long long)pos);
	assert_string_equal(l.aside[0], other);
	tu_expect_verified(fx.t);
	free(orig);
	tu_fx_close(&fx);
}

/* A held writer lock is MQ_EBUSY with MQ_NOWAIT; nothing changes. */
static void test_nowait_busy(void **state)
{
	(void)state;
	struct tu_fx fx;
	tu_fx_open(&fx);
	char lock[4200];
	snprintf(lock, sizeof lock, "%s/r-0/mq.lock", fx.dir);
	/* flock conflicts between open file descriptions, even in one
	 * process. */
	int fd = open(lock, O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	char path[4200];
	tu_seg(path, sizeof path, fx.dir, "r", 0, 0, ".index");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mq_repair_partition(fx.t, 0, MQ_NOWAIT, NULL, NULL),
	                 MQ_EBUSY);
	assert_non_null(strstr(mq_errmsg(), "locked"));
	assert_int_equal(access(path, F_OK), -1);
	close(fd);
	assert_int_equal(mq_repair_partition(fx.t, 0, MQ_NOWAIT, NULL, NULL),
	                 1);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(mq_repair_partition(fx.t, 1, 0, NULL, NULL),
	                 MQ_ERANGE);
	tu_fx_close(&fx);
}

/* A compacted topic: gaps are normal, repair still cuts at damage. */
static void test_compacted_topic(void **state)
{
	(void)state;
	struct tu_fx fx = { 0 };
	const char *cfg[] = { "segment.bytes=1024", "index.interval.bytes=100",
	                      "cleanup.policy=compact", NULL };
	fx.t = tu_setup(&fx.dir, &fx.env, "r", cfg);
	for (int i = 0; i < TU_FX_NREC; i += 2)
		assert_int_equal(tu_append(fx.t, 0, i, 2, 1000), i);
	tu_fx_segments(&fx);
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[1], 1);
	tu_flip(path, pos + 50);
	struct tu_repair_log l;
	assert_int_equal(tu_repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].position, pos);
	tu_expect_verified(fx.t);
	tu_expect_records(fx.t, (int)fx.s[1].base_offset + 2,
	                  (int)fx.s[1].next_offset, 0);
	tu_fx_close(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_partition),
		cmocka_unit_test(test_damage_closed_segment),
		cmocka_unit_test(test_damage_active_segment),
		cmocka_unit_test(test_damage_first_batch),
		cmocka_unit_test(test_damage_last_batch_closed),
		cmocka_unit_test(test_damage_last_batch_active),
		cmocka_unit_test(test_damage_whole_active_segment),
		cmocka_unit_test(test_damage_base_offset),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_incomplete_closed_segment),
		cmocka_unit_test(test_interrupted_repair),
		cmocka_unit_test(test_nowait_busy),
		cmocka_unit_test(test_compacted_topic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
