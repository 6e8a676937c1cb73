/*
 * test_repair.c - mq_repair_partition: damage in a closed segment, in the
 * active segment, in the first and in the last batch, a torn tail,
 * damaged, missing and misplaced indexes, dry runs, idempotence, a repair
 * interrupted after it set bytes aside, and appending after a repair.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mq.h"
#include "testutil.h"

/* About 12 two-record batches per segment, an index entry every ~2. */
static const char *small[] = { "segment.bytes=1024", "index.interval.bytes=100",
                               NULL };

#define NREC 120   /* records in the fixture: 60 batches of 2 */

/* The actions a repair reported, copied. */
struct log {
	int n;
	mq_repair_action a[16];
	char file[16][64], aside[16][64], why[16][160];
};

static void collect(void *ctx, const mq_repair_action *a)
{
	struct log *l = ctx;
	assert_true(l->n < 16);
	int i = l->n++;
	l->a[i] = *a;
	snprintf(l->file[i], sizeof l->file[i], "%s", a->file);
	snprintf(l->why[i], sizeof l->why[i], "%s", a->why);
	snprintf(l->aside[i], sizeof l->aside[i], "%s", a->aside ? a->aside : "");
}

static int repair(mq_topic *t, int flags, struct log *l)
{
	memset(l, 0, sizeof *l);
	int rc = mq_repair_partition(t, 0, flags, collect, l);
	if (rc < 0)
		fprintf(stderr, "mq_repair_partition: %s\n", mq_errmsg());
	assert_true(rc >= 0);
	assert_int_equal(rc, l->n);
	return rc;
}

/* One test's world: topic r in a fresh directory, and its segments. */
struct fx {
	char *dir;
	mq_env *env;
	mq_topic *t;
	mq_segment_info *s;     /* partition 0's segments, at least 4 */
	size_t ns;
};

/* list_segments lists partition 0's segments in f->s; fx_close frees them. */
static void list_segments(struct fx *f)
{
	assert_int_equal(mq_partition_segments(f->t, 0, &f->s, &f->ns), 0);
	assert_true(f->ns >= 4);
}

/*
 * fixture makes topic r in a fresh directory with NREC records in
 * 2-record batches, synced, and lists its segments; fx_close frees it all.
 */
static void fixture(struct fx *f)
{
	f->t = tu_setup(&f->dir, &f->env, "r", small);
	for (int i = 0; i < NREC; i += 2)
		assert_int_equal(tu_append(f->t, 0, i, 2, 1000), i);
	assert_int_equal(mq_sync(f->t), 0);
	list_segments(f);
}

/* fx_close frees the segments, closes the topic and env, removes the dir. */
static void fx_close(struct fx *f)
{
	free(f->s);
	tu_teardown(f->dir, f->env, f->t);
}

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

static void flip(const char *path, uint64_t pos)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, (off_t)pos), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)pos), 1);
	close(fd);
}

/* slurp reads a whole file (NULL if missing); *len its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* expect_file checks that path holds exactly the len bytes at want. */
static void expect_file(const char *path, const void *want, size_t len)
{
	size_t n;
	char *got = slurp(path, &n);
	assert_non_null(got);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(got);
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
static void repair_keeps_files(struct fx *f, int flags, int want,
                               struct log *l)
{
	char *before = snapshot(f->dir);
	assert_int_equal(repair(f->t, flags, l), want);
	char *after = snapshot(f->dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

/* expect_records checks that partition 0 holds exactly records
 * 0..NREC-1 except [lo, hi), plus extra records "v<NREC>"... at the end. */
static void expect_records(mq_topic *t, int lo, int hi, int extra)
{
	int nums[NREC + 16];
	int n = tu_read_all(t, 0, 0, nums, NREC + 16);
	int k = 0;
	for (int i = 0; i < NREC; i++)
		if (i < lo || i >= hi) {
			assert_true(k < n);
			assert_int_equal(nums[k], i);
			k++;
		}
	for (int i = 0; i < extra; i++)
		assert_int_equal(nums[k++], NREC + i);
	assert_int_equal(n, k);
}

static void expect_verified(mq_topic *t)
{
	int rc = mq_verify_partition(t, 0, NULL, NULL);
	assert_int_equal(rc, 0);
}

static void test_clean_partition(void **state)
{
	(void)state;
	struct fx fx;
	fixture(&fx);
	char *before = snapshot(fx.dir);
	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 0);
	assert_int_equal(repair(fx.t, MQ_REPAIR_DRY_RUN, &l), 0);
	char *after = snapshot(fx.dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	fx_close(&fx);
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
	struct fx fx;
	fixture(&fx);
	if (si < 0)
		si = (int)fx.ns - 1;
	if (k < 0)
		k = (int)fx.s[si].batches - 1;
	int last = si == (int)fx.ns - 1;
	char path[4200], aside[4300];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[si], k);
	flip(path, pos + 40);
	size_t olen;
	char *orig = slurp(path, &olen);
	assert_non_null(orig);

	/* Readers stop at the damage; mq-inspect --verify names it. */
	assert_true(mq_verify_partition(fx.t, 0, NULL, NULL) > 0);

	struct log l;
	repair_keeps_files(&fx, MQ_REPAIR_DRY_RUN, 3, &l);
	struct log dry = l;

	assert_int_equal(repair(fx.t, 0, &l), 3);
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
	expect_file(path, orig, pos);
	snprintf(aside, sizeof aside, "%s.damaged-%llu", path,
	         (unsigned long long)pos);
	expect_file(aside, orig + pos, olen - pos);
	free(orig);

	expect_verified(fx.t);
	expect_records(fx.t, (int)lost_lo, (int)lost_hi, 0);
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
	int64_t next = last ? lost_lo : NREC;
	assert_int_equal(tu_append(fx.t, 0, NREC, 2, 1000), next);
	expect_records(fx.t, (int)lost_lo, (int)lost_hi, 2);
	expect_verified(fx.t);
	fx_close(&fx);
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
	struct fx fx;
	fixture(&fx);
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[1], 2);
	flip(path, pos + 7);
	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].kind, MQ_REPAIR_DAMAGE);
	assert_int_equal(l.a[0].position, pos);
	assert_string_equal(l.why[0], "batch offset out of sequence");
	expect_verified(fx.t);
	expect_records(fx.t, (int)fx.s[1].base_offset + 4,
	               (int)fx.s[1].next_offset, 0);
	fx_close(&fx);
}

/* An incomplete last batch of the active segment is a torn tail: cut. */
static void test_torn_tail(void **state)
{
	(void)state;
	struct fx fx;
	fixture(&fx);
	mq_segment_info *a = &fx.s[fx.ns - 1];
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, a,
	                         (int)a->batches - 1);
	long size = tu_file_size(path);
	assert_int_equal(truncate(path, size - 5), 0);
	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].kind, MQ_REPAIR_TORN);
	assert_int_equal(l.a[0].position, pos);
	assert_int_equal(l.a[0].bytes, (uint64_t)(size - 5) - pos);
	assert_string_equal(l.why[0], "incomplete batch");
	assert_string_equal(l.aside[0], "");
	assert_int_equal(tu_file_size(path), (long)pos);
	assert_int_equal(repair(fx.t, 0, &l), 0);
	expect_verified(fx.t);
	expect_records(fx.t, NREC - 2, NREC, 0);
	assert_int_equal(tu_append(fx.t, 0, NREC, 2, 1000), NREC - 2);
	fx_close(&fx);
}

/* An incomplete batch in a closed segment is damage, not a torn tail. */
static void test_incomplete_closed_segment(void **state)
{
	(void)state;
	struct fx fx;
	fixture(&fx);
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[0],
	                         (int)fx.s[0].batches - 1);
	assert_int_equal(truncate(path, tu_file_size(path) - 3), 0);
	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].kind, MQ_REPAIR_DAMAGE);
	assert_int_equal(l.a[0].position, pos);
	assert_string_equal(l.why[0], "incomplete batch");
	expect_verified(fx.t);
	fx_close(&fx);
}

/* Damaged, missing and misplaced indexes of closed and active segments. */
static void test_index_damage_only(void **state)
{
	(void)state;
	struct fx fx;
	fixture(&fx);
	char p0[4200], p1[4200], p2[4200], p3[4200], log1[4200];
	tu_seg(p0, sizeof p0, fx.dir, "r", 0, fx.s[0].base_offset,
	       ".timeindex");
	tu_seg(p1, sizeof p1, fx.dir, "r", 0, fx.s[1].base_offset, ".index");
	tu_seg(p2, sizeof p2, fx.dir, "r", 0, fx.s[2].base_offset, ".index");
	tu_seg(p3, sizeof p3, fx.dir, "r", 0, fx.s[fx.ns - 1].base_offset,
	       ".index");
	tu_seg(log1, sizeof log1, fx.dir, "r", 0, fx.s[1].base_offset, ".log");
	size_t good_len;
	char *good = slurp(p1, &good_len);
	assert_true(good_len >= 16);
	assert_int_equal(unlink(p0), 0);
	flip(p1, 7);                 /* entry 0 points where no batch starts */
	assert_int_equal(unlink(p2), 0);
	assert_int_equal(mkdir(p2, 0755), 0);
	long isize = tu_file_size(p3) + 3;
	FILE *f = fopen(p3, "ab");   /* a partial entry */
	assert_non_null(f);
	fputs("xyz", f);
	fclose(f);
	size_t llen;
	char *logbytes = slurp(log1, &llen);

	struct log l;
	assert_int_equal(repair(fx.t, MQ_REPAIR_DRY_RUN, &l), 4);
	assert_int_equal(repair(fx.t, 0, &l), 4);
	assert_string_equal(l.file[0], strrchr(p0, '/') + 1);
	assert_string_equal(l.why[0], "missing");
	assert_string_equal(l.file[1], strrchr(p1, '/') + 1);
	assert_string_equal(l.why[1], "entry 0 points where no batch starts");
	assert_string_equal(l.file[2], strrchr(p2, '/') + 1);
	assert_string_equal(l.why[2], "not a regular file");
	char want[64];
	snprintf(want, sizeof want, "%020lld.index.damaged",
	         (long long)fx.s[2].base_offset);
	assert_string_equal(l.aside[2], want);
	assert_string_equal(l.file[3], strrchr(p3, '/') + 1);
	char sz[64];
	snprintf(sz, sizeof sz, "size %ld is not a multiple of 8", isize);
	assert_string_equal(l.why[3], sz);
	for (int i = 0; i < 4; i++)
		assert_int_equal(l.a[i].kind, MQ_REPAIR_INDEX);

	/* Rebuilt by the writer's rule: the same bytes it wrote. */
	expect_file(p1, good, good_len);
	free(good);
	expect_file(log1, logbytes, llen);
	free(logbytes);
	struct stat st;
	char moved[4300];
	snprintf(moved, sizeof moved, "%s.damaged", p2);
	assert_int_equal(stat(moved, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(p2, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	expect_verified(fx.t);
	assert_int_equal(repair(fx.t, 0, &l), 0);
	expect_records(fx.t, NREC, NREC, 0);
	assert_int_equal(tu_append(fx.t, 0, NREC, 2, 1000), NREC);
	fx_close(&fx);
}

/*
 * A .timeindex entry of a closed segment whose timestamp is one above the
 * maxTimestamp of the batch holding its offset: not below its records'
 * timestamps, yet readers and verify reject it (Kafka's rule: the entry is
 * that batch's maxTimestamp), so mq-repair rebuilds it too.
 */
static void test_timeindex_not_batch_max(void **state)
{
	(void)state;
	struct fx fx = { 0 };
	fx.t = tu_setup(&fx.dir, &fx.env, "r", small);
	for (int i = 0; i < NREC; i += 2)
		assert_int_equal(tu_append(fx.t, 0, i, 2, 1000 + 10 * i), i);
	assert_int_equal(mq_sync(fx.t), 0);
	list_segments(&fx);
	char p0[4200];
	tu_seg(p0, sizeof p0, fx.dir, "r", 0, fx.s[0].base_offset,
	       ".timeindex");
	size_t good_len;
	char *good = slurp(p0, &good_len);
	assert_true(good_len >= 24);
	assert_true((unsigned char)good[7] < 255);
	int fd = open(p0, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c = (unsigned char)good[7] + 1;
	assert_int_equal(pwrite(fd, &c, 1, 7), 1);
	close(fd);
	assert_int_equal(mq_verify_partition(fx.t, 0, NULL, NULL), 1);

	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 1);
	assert_string_equal(l.file[0], strrchr(p0, '/') + 1);
	assert_string_equal(l.why[0], "entry 0 has a timestamp that is not the "
	                    "maxTimestamp of the batch holding its offset");
	assert_int_equal(l.a[0].kind, MQ_REPAIR_INDEX);
	expect_file(p0, good, good_len);
	free(good);
	expect_verified(fx.t);
	assert_int_equal(repair(fx.t, 0, &l), 0);
	fx_close(&fx);
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
	struct fx fx;
	fixture(&fx);
	char path[4200], aside[4300], other[4400], tmp[4300];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[1], 4);
	flip(path, pos + 30);
	size_t olen;
	char *orig = slurp(path, &olen);
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
	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 3);
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
	assert_int_equal(repair(fx.t, 0, &l), 3);
	snprintf(other, sizeof other, "%s.damaged-%llu.1",
	         strrchr(path, '/') + 1, (unsigned long long)pos);
	assert_string_equal(l.aside[0], other);
	expect_verified(fx.t);
	free(orig);
	fx_close(&fx);
}

/* A held writer lock is MQ_EBUSY with MQ_NOWAIT; nothing changes. */
static void test_nowait_busy(void **state)
{
	(void)state;
	struct fx fx;
	fixture(&fx);
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
	fx_close(&fx);
}

/* A compacted topic: gaps are normal, repair still cuts at damage. */
static void test_compacted_topic(void **state)
{
	(void)state;
	struct fx fx = { 0 };
	const char *cfg[] = { "segment.bytes=1024", "index.interval.bytes=100",
	                      "cleanup.policy=compact", NULL };
	fx.t = tu_setup(&fx.dir, &fx.env, "r", cfg);
	for (int i = 0; i < NREC; i += 2)
		assert_int_equal(tu_append(fx.t, 0, i, 2, 1000), i);
	list_segments(&fx);
	char path[4200];
	uint64_t pos = log_batch(path, sizeof path, fx.dir, &fx.s[1], 1);
	flip(path, pos + 50);
	struct log l;
	assert_int_equal(repair(fx.t, 0, &l), 3);
	assert_int_equal(l.a[0].position, pos);
	expect_verified(fx.t);
	expect_records(fx.t, (int)fx.s[1].base_offset + 2,
	               (int)fx.s[1].next_offset, 0);
	fx_close(&fx);
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
		cmocka_unit_test(test_index_damage_only),
		cmocka_unit_test(test_timeindex_not_batch_max),
		cmocka_unit_test(test_interrupted_repair),
		cmocka_unit_test(test_nowait_busy),
		cmocka_unit_test(test_compacted_topic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
