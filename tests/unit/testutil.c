/*
 * testutil.c - helpers shared by the libmq unit tests.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "testutil.h"

char *tu_mkdtemp(void)
{
	char tmpl[] = "/tmp/mq-unit.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

void tu_rmdir(char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

mq_topic *tu_topic(mq_env **env, const char *dir, const char *name,
                   const char *const *overrides)
{
	assert_int_equal(mq_env_open(dir, MQ_CREATE, env), 0);
	mq_config cfg;
	mq_env_defaults(*env, &cfg);
	for (size_t i = 0; overrides && overrides[i]; i++) {
		char key[128];
		const char *eq = strchr(overrides[i], '=');
		assert_non_null(eq);
		snprintf(key, sizeof key, "%.*s", (int)(eq - overrides[i]), overrides[i]);
		assert_int_equal(mq_config_set(&cfg, key, eq + 1), 0);
	}
	assert_int_equal(mq_topic_create(*env, name, &cfg, MQ_IF_NOT_EXISTS), 0);
	mq_topic *t;
	assert_int_equal(mq_topic_open(*env, name, &t), 0);
	return t;
}

mq_topic *tu_setup(char **dir, mq_env **env, const char *name,
                   const char *const *overrides)
{
	*dir = tu_mkdtemp();
	return tu_topic(env, *dir, name, overrides);
}

void tu_teardown(char *dir, mq_env *env, mq_topic *t)
{
	mq_topic_close(t);
	mq_env_close(env);
	tu_rmdir(dir);
}

int tu_try_append(mq_topic *t, int32_t p, int first, int count, int64_t ts,
                  int flags, int64_t *base)
{
	mq_batch *b;
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
	for (int i = first; i < first + count; i++) {
		char v[32];
		int n = snprintf(v, sizeof v, "v%d", i);
		mq_record r = { .timestamp = ts < 0 ? -1 : ts + i, .key_len = -1,
		                .value = v, .value_len = n };
		assert_int_equal(mq_batch_add(b, &r), 0);
	}
	int rc = mq_append(t, p, b, flags, base);
	mq_batch_free(b);
	return rc;
}

int64_t tu_append(mq_topic *t, int32_t p, int first, int count, int64_t ts)
{
	int64_t base;
	int rc = tu_try_append(t, p, first, count, ts, 0, &base);
	if (rc != 0)
		fprintf(stderr, "mq_append: %s\n", mq_errmsg());
	assert_int_equal(rc, 0);
	return base;
}

int tu_read_all(mq_topic *t, int32_t p, int64_t from, int *nums, int max)
{
	mq_reader *r;
	assert_int_equal(mq_reader_open(t, p, &r), 0);
	assert_true(mq_reader_seek(r, from) >= 0);
	mq_record rec;
	int n = 0, rc;
	int64_t last = -1;
	while ((rc = mq_reader_next(r, &rec)) == 1) {
		assert_true(rec.offset > last);
		last = rec.offset;
		if (nums && n < max) {
			char v[32];
			snprintf(v, sizeof v, "%.*s", (int)rec.value_len,
			         (const char *)rec.value);
			nums[n] = atoi(v + 1);
		}
		n++;
	}
	if (rc < 0)
		fprintf(stderr, "mq_reader_next: %s\n", mq_errmsg());
	assert_int_equal(rc, 0);
	mq_reader_close(r);
	return n;
}

void tu_assert_seq(mq_topic *t, int32_t p, int n)
{
	int *nums = calloc((size_t)n + 1, sizeof *nums);
	assert_non_null(nums);
	assert_int_equal(tu_read_all(t, p, 0, nums, n + 1), n);
	for (int i = 0; i < n; i++)
		assert_int_equal(nums[i], i);
	free(nums);
}

void tu_seg(char *buf, size_t len, const char *dir, const char *topic,
            int32_t p, int64_t base, const char *ext)
{
	snprintf(buf, len, "%s/%s-%d/%020lld%s", dir, topic, p, (long long)base, ext);
}

long tu_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (long)st.st_size;
}

void tu_copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	assert_non_null(in);
	assert_non_null(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

uint8_t tu_all_bytes[256];

static const mq_header hdrs1[] = {
	{ "trace", 5, "abc", 3 },
	{ "null", 4, NULL, -1 },
	{ "", 0, "", 0 },
	{ "bin", 3, tu_all_bytes, 256 },
};

const mq_record tu_sample[6] = {
	{ .timestamp = 1700000000000, .key = "k1", .key_len = 2,
	  .value = "hello", .value_len = 5 },
	{ .timestamp = 1700000000005, .key = NULL, .key_len = -1,
	  .value = "no key", .value_len = 6 },
	{ .timestamp = 1699999999000, .key = "tomb", .key_len = 4,
	  .value = NULL, .value_len = -1 },
	{ .timestamp = 1700000000001, .key = "", .key_len = 0,
	  .value = "", .value_len = 0 },
	{ .timestamp = 1700000000002, .key = tu_all_bytes, .key_len = 256,
	  .value = tu_all_bytes, .value_len = 256, .headers = hdrs1,
	  .header_count = sizeof hdrs1 / sizeof hdrs1[0] },
	{ .timestamp = 0, .key = NULL, .key_len = -1, .value = NULL,
	  .value_len = -1 },
};

int tu_codec_setup(void **state)
{
	(void)state;
	for (int i = 0; i < 256; i++)
		tu_all_bytes[i] = (uint8_t)i;
	return 0;
}

mq_batch *tu_encode(const mq_record *recs, size_t n, int compression,
                    int ts_type, int64_t append_time, mq_batch_info *info)
{
	mq_batch *b;

	assert_int_equal(mq_batch_new(compression, &b), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mq_batch_add(b, &recs[i]), 0);
	assert_int_equal(mq_batch_count(b), n);
	assert_int_equal(mq_batch_encode(b, ts_type, append_time), 0);
	assert_int_equal(mq_batch_parse_header(b->enc, b->enc_len, info), 1);
	assert_int_equal((size_t)info->length + 12, b->enc_len);
	assert_int_equal(info->magic, 2);
	assert_int_equal(info->count, (int32_t)n);
	assert_int_equal(info->last_offset, (int64_t)n - 1);
	assert_int_equal(info->compression, compression);
	assert_int_equal(info->timestamp_type, ts_type);
	assert_int_equal(info->producer_id, -1);
	assert_int_equal(info->producer_epoch, -1);
	assert_int_equal(info->base_sequence, -1);
	assert_true(mq_batch_check_crc(b->enc, b->enc_len));
	if (compression == MQ_COMPRESSION_NONE)
		assert_int_equal(mq_batch_bytes(b), b->enc_len);
	return b;
}

/* Compares two byte strings that may be null (len -1). */
static void assert_bytes(const void *got, ssize_t got_len, const void *want,
                         ssize_t want_len)
{
	assert_int_equal(got_len, want_len);
	if (want_len > 0)
		assert_memory_equal(got, want, (size_t)want_len);
	if (want_len == 0)
		assert_non_null(got);
	if (want_len < 0)
		assert_null(got);
}

/* Compares a decoded record's key, value and headers with want's. */
static void assert_record(const mq_record *got, const mq_record *want)
{
	assert_bytes(got->key, got->key_len, want->key, want->key_len);
	assert_bytes(got->value, got->value_len, want->value, want->value_len);
	assert_int_equal(got->header_count, want->header_count);
	for (size_t i = 0; i < want->header_count; i++) {
		const mq_header *g = &got->headers[i], *w = &want->headers[i];
		assert_bytes(g->key, (ssize_t)g->key_len, w->key,
		             (ssize_t)w->key_len);
		assert_bytes(g->value, g->value_len, w->value, w->value_len);
	}
}

void tu_decode_check(const uint8_t *buf, size_t len, const mq_record *recs,
                     size_t n, int64_t base_offset)
{
	mq_batch_info info;
	mq_rec_iter it;
	mq_record rec;

	memset(&it, 0, sizeof it);
	assert_int_equal(mq_batch_parse_header(buf, len, &info), 1);
	assert_int_equal(mq_rec_iter_start(&it, buf, len, &info), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(mq_rec_iter_next(&it, &rec), 1);
		assert_int_equal(rec.offset, base_offset + (int64_t)i);
		assert_record(&rec, &recs[i]);
		if (info.timestamp_type == MQ_TS_CREATE) {
			assert_int_equal(rec.timestamp, recs[i].timestamp);
			assert_int_equal(rec.timestamp_type, MQ_TS_CREATE);
		} else {
			assert_int_equal(rec.timestamp, info.max_timestamp);
			assert_int_equal(rec.timestamp_type, MQ_TS_LOG_APPEND);
		}
	}
	assert_int_equal(mq_rec_iter_next(&it, &rec), 0);
	assert_int_equal(mq_rec_iter_next(&it, &rec), 0);
	mq_rec_iter_free(&it);
}

/* Repair helpers. */

const char *const tu_fx_config[] = { "segment.bytes=1024",
                                     "index.interval.bytes=100", NULL };

static void collect(void *ctx, const mq_repair_action *a)
{
	struct tu_repair_log *l = ctx;
	assert_true(l->n < 16);
	int i = l->n++;
	l->a[i] = *a;
	snprintf(l->file[i], sizeof l->file[i], "%s", a->file);
	snprintf(l->why[i], sizeof l->why[i], "%s", a->why);
	snprintf(l->aside[i], sizeof l->aside[i], "%s", a->aside ? a->aside : "");
}

int tu_repair(mq_topic *t, int flags, struct tu_repair_log *l)
{
	memset(l, 0, sizeof *l);
	int rc = mq_repair_partition(t, 0, flags, collect, l);
	if (rc < 0)
		fprintf(stderr, "mq_repair_partition: %s\n", mq_errmsg());
	assert_true(rc >= 0);
	assert_int_equal(rc, l->n);
	return rc;
}

void tu_fx_segments(struct tu_fx *f)
{
	assert_int_equal(mq_partition_segments(f->t, 0, &f->s, &f->ns), 0);
	assert_true(f->ns >= 4);
}

void tu_fx_open(struct tu_fx *f)
{
	f->t = tu_setup(&f->dir, &f->env, "r", tu_fx_config);
	for (int i = 0; i < TU_FX_NREC; i += 2)
		assert_int_equal(tu_append(f->t, 0, i, 2, 1000), i);
	assert_int_equal(mq_sync(f->t), 0);
	tu_fx_segments(f);
}

void tu_fx_close(struct tu_fx *f)
{
	free(f->s);
	tu_teardown(f->dir, f->env, f->t);
}

void tu_flip(const char *path, uint64_t pos)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, (off_t)pos), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)pos), 1);
	close(fd);
}

char *tu_slurp(const char *path, size_t *len)
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

void tu_expect_file(const char *path, const void *want, size_t len)
{
	size_t n;
	char *got = tu_slurp(path, &n);
	assert_non_null(got);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(got);
}

void tu_expect_records(mq_topic *t, int lo, int hi, int extra)
{
	int nums[TU_FX_NREC + 16];
	int n = tu_read_all(t, 0, 0, nums, TU_FX_NREC + 16);
	int k = 0;
	for (int i = 0; i < TU_FX_NREC; i++)
		if (i < lo || i >= hi) {
			assert_true(k < n);
			assert_int_equal(nums[k], i);
			k++;
		}
	for (int i = 0; i < extra; i++)
		assert_int_equal(nums[k++], TU_FX_NREC + i);
	assert_int_equal(n, k);
}

void tu_expect_verified(mq_topic *t)
{
	int rc = mq_verify_partition(t, 0, NULL, NULL);
	assert_int_equal(rc, 0);
}
