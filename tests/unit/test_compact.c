/*
 * test_compact.c - the log cleaner: compaction rules (latest value per key,
 * offsets and order kept, tombstones, min.compaction.lag.ms, keyless
 * records), several passes with a tiny map, dry runs, and a crash at every
 * step of the swap sequence.  The key map itself is in test_keymap.c.
 */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "compact.h"
#include "mq.h"
#include "testutil.h"

#define DAY 86400000LL
#define NOW 1800000000000LL    /* the clock the tests pretend it is */

/* ------------------------------------------------------------------ */
/* Helpers.                                                            */

/* One record as read back. */
struct rec {
	int64_t offset, ts;
	char key[32], value[32];  /* "" with has_* 0 for null */
	int has_key, has_value;
};

/* append_kv appends one batch of n records key "k<keys[i]>" (negative:
 * no key), value "v<vals[i]>" (negative: null), timestamp ts. */
static void append_kv(mq_topic *t, int comp, const int *keys, const int *vals,
                      int n, int64_t ts)
{
	mq_batch *b;
	assert_int_equal(mq_batch_new(comp, &b), 0);
	for (int i = 0; i < n; i++) {
		char k[32], v[32];
		int kl = snprintf(k, sizeof k, "k%d", keys[i]);
		int vl = snprintf(v, sizeof v, "v%d", vals[i]);
		mq_header h = { "h", 1, "x", 1 };
		mq_record r = { .timestamp = ts, .key = k,
		                .key_len = keys[i] < 0 ? -1 : kl, .value = v,
		                .value_len = vals[i] < 0 ? -1 : vl,
		                .headers = &h, .header_count = 1 };
		assert_int_equal(mq_batch_add(b, &r), 0);
	}
	assert_int_equal(mq_append(t, 0, b, 0, NULL), 0);
	mq_batch_free(b);
}

/* read_all reads partition 0 into recs (at most max); returns the count. */
static int read_all(mq_topic *t, struct rec *recs, int max)
{
	mq_reader *r;
	mq_record rec;
	int n = 0, rc;
	int64_t last = -1;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	while ((rc = mq_reader_next(r, &rec)) == 1) {
		assert_true(rec.offset > last);
		last = rec.offset;
		assert_true(n < max);
		struct rec *o = &recs[n++];
		memset(o, 0, sizeof *o);
		o->offset = rec.offset;
		o->ts = rec.timestamp;
		o->has_key = rec.key_len >= 0;
		o->has_value = rec.value_len >= 0;
		if (o->has_key)
			snprintf(o->key, sizeof o->key, "%.*s", (int)rec.key_len,
			         (const char *)rec.key);
		if (o->has_value)
			snprintf(o->value, sizeof o->value, "%.*s",
			         (int)rec.value_len, (const char *)rec.value);
		assert_int_equal(rec.header_count, 1);
	}
	if (rc < 0)
		fprintf(stderr, "read: %s\n", mq_errmsg());
	assert_int_equal(rc, 0);
	mq_reader_close(r);
	return n;
}

static void report(void *ctx, const char *file, uint64_t pos, const char *p)
{
	(void)ctx;
	fprintf(stderr, "verify: %s at %llu: %s\n", file,
	        (unsigned long long)pos, p);
}

static void verify_clean(mq_topic *t)
{
	assert_int_equal(mq_verify_partition(t, 0, report, NULL), 0);
}

static mq_compact_stats compact(mq_topic *t, int flags, size_t buffer)
{
	mq_compact_opts o = { buffer, flags | MQ_COMPACT_FORCE, NOW };
	mq_compact_stats st;
	int rc = mq_compact(t, 0, &o, &st);
	if (rc < 0)
		fprintf(stderr, "compact: %s\n", mq_errmsg());
	assert_int_equal(rc, 0);
	return st;
}

/* find returns the record with key k in recs, the last one, or NULL. */
static const struct rec *find(const struct rec *recs, int n, const char *k)
{
	const struct rec *f = NULL;
	for (int i = 0; i < n; i++)
		if (recs[i].has_key && strcmp(recs[i].key, k) == 0)
			f = &recs[i];
	return f;
}

static int count_key(const struct rec *recs, int n, const char *k)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		c += recs[i].has_key && strcmp(recs[i].key, k) == 0;
	return c;
}

/* copy_tree copies directory from into the existing directory to. */
static void copy_tree(const char *from, const char *to)
{
	DIR *d = opendir(from);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		char a[4200], b[4200];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(a, sizeof a, "%s/%s", from, de->d_name);
		snprintf(b, sizeof b, "%s/%s", to, de->d_name);
		assert_int_equal(lstat(a, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			assert_int_equal(mkdir(b, 0755), 0);
			copy_tree(a, b);
		} else {
			tu_copy_file(a, b);
		}
	}
	closedir(d);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm_tree removes a directory tree and frees its name. */
static void rm_tree(char *dir)
{
	assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(dir);
}

/* fast_mkdtemp prefers a tmpfs, where the many fsyncs cost nothing. */
static char *fast_mkdtemp(void)
{
	char tmpl[] = "/dev/shm/mq-unit.XXXXXX";
	if (access("/dev/shm", W_OK) == 0 && mkdtemp(tmpl))
		return strdup(tmpl);
	return tu_mkdtemp();
}

static const char *small[] = { "cleanup.policy=compact", "segment.bytes=400",
                               "index.interval.bytes=100", NULL };

/*
 * fill_n writes nbatches batches of 3 records over 10 keys (k0..k9),
 * record i having key k(i%10) and value v<i>, timestamps NOW - 10 days.
 * fill writes 60 batches, offsets 0..179.
 */
static void fill_n(mq_topic *t, int comp, int nbatches)
{
	for (int b = 0; b < nbatches; b++) {
		int keys[3], vals[3];
		for (int j = 0; j < 3; j++) {
			keys[j] = (b * 3 + j) % 10;
			vals[j] = b * 3 + j;
		}
		append_kv(t, comp, keys, vals, 3, NOW - 10 * DAY + b);
	}
}

static void fill(mq_topic *t, int comp)
{
	fill_n(t, comp, 60);
}

/* ------------------------------------------------------------------ */
/* Compaction rules.                                                   */

/* check_latest_n checks that every key has its latest value, the one at
 * offset last - 9 + k for key k, and that offsets are unchanged. */
static void check_latest_n(mq_topic *t, int expect_records, int last)
{
	struct rec recs[256];
	int n = read_all(t, recs, 256);
	if (expect_records >= 0)
		assert_int_equal(n, expect_records);
	for (int k = 0; k < 10; k++) {
		char key[8];
		snprintf(key, sizeof key, "k%d", k);
		const struct rec *r = find(recs, n, key);
		assert_non_null(r);
		/* The latest record of k is last - 9 + k (value v<offset>). */
		assert_int_equal(r->offset, last - 9 + k);
		char v[8];
		snprintf(v, sizeof v, "v%d", last - 9 + k);
		assert_string_equal(r->value, v);
	}
	for (int i = 0; i < n; i++) {
		char v[8];
		snprintf(v, sizeof v, "v%lld", (long long)recs[i].offset);
		assert_string_equal(recs[i].value, v); /* offsets unchanged */
	}
}

static void check_latest(mq_topic *t, int expect_records)
{
	check_latest_n(t, expect_records, 179);
}

static void run_latest(int comp)
{
	char *dir = fast_mkdtemp();
	mq_env *env;
	mq_topic *t = tu_topic(&env, dir, "c", small);
	fill(t, comp);
	int64_t start, end;
	assert_int_equal(mq_log_offsets(t, 0, &start, &end), 0);
	assert_int_equal(end, 180);

	mq_dirty d;
	assert_int_equal(mq_dirty_ratio(t, 0, &d), 0);
	assert_true(d.ratio == 1.0);
	assert_int_equal(d.checkpoint, 0);
	assert_true(d.first_uncleanable > 100);

	mq_compact_stats st = compact(t, 0, 0);
	assert_int_equal(st.compacted, 1);
	assert_int_equal(st.passes, 1);
	assert_int_equal(st.records_before, 180);
	assert_true(st.records_after < 60);
	assert_true(st.bytes_after < st.bytes_before);
	verify_clean(t);
	assert_int_equal(mq_log_offsets(t, 0, &start, &end), 0);
	assert_int_equal(start, 0);
	assert_int_equal(end, 180);
	check_latest(t, (int)st.records_after);

	/* Every key appears once below the first uncleanable offset. */
	struct rec recs[256];
	int n = read_all(t, recs, 256);
	for (int i = 0; i < n; i++)
		if (recs[i].offset < d.first_uncleanable)
			for (int j = i + 1; j < n; j++)
				assert_true(strcmp(recs[i].key, recs[j].key) != 0 ||
				            recs[j].offset >= d.first_uncleanable);

	/* Now clean: the ratio is 0 and a second run changes nothing. */
	assert_int_equal(mq_dirty_ratio(t, 0, &d), 0);
	assert_true(d.ratio == 0.0);
	assert_int_equal(d.checkpoint, d.first_uncleanable);
	mq_compact_opts o = { 0, 0, NOW };
	assert_int_equal(mq_compact(t, 0, &o, &st), 0);
	assert_int_equal(st.compacted, 0);

	/* The codec of rewritten batches is kept. */
	char path[4200];
	tu_seg(path, sizeof path, dir, "c", 0, 0, ".log");
	mq_dump *dump;
	mq_batch_info bi;
	assert_int_equal(mq_dump_open(path, &dump), 0);
	while (mq_dump_next_batch(dump, &bi) == 1) {
		assert_int_equal(bi.compression, comp);
		assert_true(bi.crc_ok);
	}
	mq_dump_close(dump);

	/* Appending goes on after the last offset. */
	int k = 3, v = 999;
	append_kv(t, comp, &k, &v, 1, NOW);
	assert_int_equal(mq_log_offsets(t, 0, &start, &end), 0);
	assert_int_equal(end, 181);
	verify_clean(t);
	mq_topic_close(t);
	mq_env_close(env);
	rm_tree(dir);
}

static void test_latest_per_key(void **state)
{
	(void)state;
	run_latest(MQ_COMPRESSION_NONE);
}

static void test_latest_per_key_gzip(void **state)
{
	(void)state;
	run_latest(MQ_COMPRESSION_GZIP);
}

static void test_tombstones(void **state)
{
	(void)state;
	char *dir = fast_mkdtemp();
	mq_env *env;
	mq_topic *t = tu_topic(&env, dir, "c", small);
	int k[3] = { 1, 2, 3 }, v[3] = { 0, 1, 2 };
	append_kv(t, 0, k, v, 3, NOW - 5 * DAY);              /* 0..2 */
	int tk[2] = { 1, 2 }, tv[2] = { -1, -1 };
	append_kv(t, 0, tk, tv, 1, NOW - 2 * DAY);            /* 3: k1 old */
	append_kv(t, 0, tk + 1, tv + 1, 1, NOW - DAY / 2);    /* 4: k2 new */
	for (int i = 0; i < 12; i++) {                        /* 5..16 */
		int kk = 10 + i, vv = 5 + i;
		append_kv(t, 0, &kk, &vv, 1, NOW - DAY / 2);
	}
	mq_compact_stats st = compact(t, 0, 0);
	assert_int_equal(st.compacted, 1);
	struct rec recs[64];
	int n = read_all(t, recs, 64);
	/* k1: value and old tombstone gone; k2: value gone, tombstone kept
	 * (younger than delete.retention.ms); k3 untouched. */
	assert_int_equal(count_key(recs, n, "k1"), 0);
	assert_int_equal(count_key(recs, n, "k2"), 1);
	const struct rec *r = find(recs, n, "k2");
	assert_int_equal(r->offset, 4);
	assert_false(r->has_value);
	r = find(recs, n, "k3");
	assert_int_equal(r->offset, 2);
	verify_clean(t);

	/* A day later the k2 tombstone goes too. */
	mq_compact_opts o = { 0, MQ_COMPACT_FORCE, NOW + DAY };
	assert_int_equal(mq_compact(t, 0, &o, &st), 0);
	n = read_all(t, recs, 64);
	assert_int_equal(count_key(recs, n, "k2"), 0);
	assert_int_equal(count_key(recs, n, "k3"), 1);
	verify_clean(t);
	mq_topic_close(t);
	mq_env_close(env);
	rm_tree(dir);
}

static void test_lag_and_keyless(void **state)
{
	(void)state;
	static const char *cfg[] = { "cleanup.policy=compact",
	                             "segment.bytes=100",
	                             "min.compaction.lag.ms=3600000", NULL };
	char *dir = fast_mkdtemp();
	mq_env *env;
	mq_topic *t = tu_topic(&env, dir, "c", cfg);
	/* Old records: k0 twice and a keyless one, in their own segments. */
	int k[2] = { 0, -1 }, v[2] = { 0, 1 };
	append_kv(t, 0, k, v, 2, NOW - DAY);                  /* 0, 1 */
	int k0 = 0, v2 = 2;
	append_kv(t, 0, &k0, &v2, 1, NOW - DAY);              /* 2 */
	/* Recent records: k0 again and a keyless one. */
	int k3[2] = { 0, -1 }, v3[2] = { 3, 4 };
	append_kv(t, 0, k3, v3, 2, NOW - 1000);               /* 3, 4 */
	int k5 = 5, v5 = 5;
	append_kv(t, 0, &k5, &v5, 1, NOW);                    /* 5 */
	mq_dirty d;
	assert_int_equal(mq_dirty_ratio(t, 0, &d), 0);

	mq_compact_stats st = compact(t, 0, 0);
	struct rec recs[16];
	int n = read_all(t, recs, 16);
	/* Offsets 0 (superseded by 2) and 1 (keyless) go; 3 and 4 are
	 * within min.compaction.lag.ms and stay, and 2 is not superseded by 3. */
	int64_t want[] = { 2, 3, 4, 5 };
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++)
		assert_int_equal(recs[i].offset, want[i]);
	assert_int_equal(st.records_before - st.records_after, 2);
	verify_clean(t);
	mq_topic_close(t);
	mq_env_close(env);
	rm_tree(dir);
}

static void test_passes_and_dry_run(void **state)
{
	(void)state;
	char *dir = fast_mkdtemp();
	mq_env *env;
	mq_topic *t = tu_topic(&env, dir, "c", small);
	fill(t, 0);
	/* A dry run with a tiny map predicts the real run exactly. */
	mq_compact_stats dry = compact(t, MQ_COMPACT_DRY_RUN, 4 * MQ_KEYMAP_SLOT);
	assert_true(dry.passes > 3);
	struct rec recs[256];
	assert_int_equal(read_all(t, recs, 256), 180); /* nothing changed */
	mq_dirty d;
	assert_int_equal(mq_dirty_ratio(t, 0, &d), 0);
	assert_int_equal(d.checkpoint, 0);

	mq_compact_stats st = compact(t, 0, 4 * MQ_KEYMAP_SLOT);
	assert_int_equal(st.passes, dry.passes);
	assert_int_equal(st.records_after, dry.records_after);
	assert_int_equal(st.bytes_after, dry.bytes_after);
	assert_int_equal(st.segments_rewritten, dry.segments_rewritten);
	verify_clean(t);
	check_latest(t, (int)st.records_after);

	/* The same as one pass with a large map. */
	char *dir2 = fast_mkdtemp();
	mq_env *env2;
	mq_topic *t2 = tu_topic(&env2, dir2, "c", small);
	fill(t2, 0);
	mq_compact_stats one = compact(t2, 0, 0);
	assert_int_equal(one.passes, 1);
	assert_int_equal(one.records_after, st.records_after);
	assert_int_equal(one.bytes_after, st.bytes_after);
	mq_topic_close(t2);
	mq_env_close(env2);
	rm_tree(dir2);

	mq_topic_close(t);
	mq_env_close(env);
	rm_tree(dir);
}

static void test_not_compacted(void **state)
{
	(void)state;
	char *dir = fast_mkdtemp();
	mq_env *env;
	mq_topic *t = tu_topic(&env, dir, "d", NULL);
	mq_compact_opts o = { 0, MQ_COMPACT_FORCE, NOW };
	assert_int_equal(mq_compact(t, 0, &o, NULL), MQ_EINVAL);
	mq_topic_close(t);
	mq_env_close(env);
	rm_tree(dir);
}

/* ------------------------------------------------------------------ */
/* Crash safety.                                                       */

static int hook_calls, hook_stop_at;

static void count_hook(int step)
{
	(void)step;
	hook_calls++;
}

static void exit_hook(int step)
{
	(void)step;
	if (++hook_calls == hook_stop_at)
		_exit(0);
}

/* leftovers counts .cleaned and .swap files in the partition. */
static int leftovers(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/c-0", dir);
	DIR *d = opendir(path);
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".cleaned") || strstr(de->d_name, ".swap");
	closedir(d);
	return n;
}

static void test_crash_at_every_step(void **state)
{
	(void)state;
	char *tmpl = fast_mkdtemp();
	mq_env *env;
	mq_topic *t = tu_topic(&env, tmpl, "c", small);
	fill_n(t, 0, 20); /* offsets 0..59 */
	mq_topic_close(t);
	mq_env_close(env);

	/* How many steps a whole compaction takes. */
	char *dir = fast_mkdtemp();
	copy_tree(tmpl, dir);
	assert_int_equal(mq_env_open(dir, 0, &env), 0);
	assert_int_equal(mq_topic_open(env, "c", &t), 0);
	hook_calls = 0;
	mq_compact_hook = count_hook;
	mq_compact_stats full = compact(t, 0, 8 * MQ_KEYMAP_SLOT);
	mq_compact_hook = NULL;
	int total = hook_calls;
	fprintf(stderr, "crash test: %d steps\n", total);
	assert_true(total > 16);
	assert_true(full.passes > 1);
	mq_topic_close(t);
	mq_env_close(env);
	rm_tree(dir);

	for (int stop = 1; stop <= total; stop++) {
		dir = fast_mkdtemp();
		copy_tree(tmpl, dir);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (mq_env_open(dir, 0, &env) < 0 ||
			    mq_topic_open(env, "c", &t) < 0)
				_exit(2);
			hook_calls = 0;
			hook_stop_at = stop;
			mq_compact_hook = exit_hook;
			mq_compact_opts o = { 8 * MQ_KEYMAP_SLOT, MQ_COMPACT_FORCE,
			                      NOW };
			mq_compact(t, 0, &o, NULL);
			_exit(3); /* the hook should have stopped us */
		}
		int ws;
		assert_int_equal(waitpid(pid, &ws, 0), pid);
		assert_true(WIFEXITED(ws));
		assert_int_equal(WEXITSTATUS(ws), 0);

		/* The interrupted log reads correctly and verifies clean. */
		assert_int_equal(mq_env_open(dir, 0, &env), 0);
		assert_int_equal(mq_topic_open(env, "c", &t), 0);
		verify_clean(t);
		check_latest_n(t, -1, 59);

		/* The next run settles the leftovers and finishes the job. */
		mq_compact_stats st = compact(t, 0, 8 * MQ_KEYMAP_SLOT);
		(void)st;
		assert_int_equal(leftovers(dir), 0);
		verify_clean(t);
		check_latest_n(t, (int)full.records_after, 59);
		mq_topic_close(t);
		mq_env_close(env);
		rm_tree(dir);
	}
	rm_tree(tmpl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_per_key),
		cmocka_unit_test(test_latest_per_key_gzip),
		cmocka_unit_test(test_tombstones),
		cmocka_unit_test(test_lag_and_keyless),
		cmocka_unit_test(test_passes_and_dry_run),
		cmocka_unit_test(test_not_compacted),
		cmocka_unit_test(test_crash_at_every_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
