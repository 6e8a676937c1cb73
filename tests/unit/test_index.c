/*
 * test_index.c - damaged .index and .timeindex entries are checked against
 * the log and never trusted: time seeks past a damaged .timeindex entry,
 * offset seeks through an .index entry that points at a batch inside a
 * record, the writer rebuilding a damaged middle entry and writing again
 * the entries a cut index file lost, and a time seek into a closed
 * segment cut short.
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

/* read_file returns the malloc'ed bytes of path and their count. */
static unsigned char *read_file(const char *path, long *len)
{
	*len = tu_file_size(path);
	assert_true(*len >= 0);
	unsigned char *b = malloc((size_t)*len + 1);
	assert_non_null(b);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
	fclose(f);
	return b;
}

static void write_file(const char *path, const unsigned char *b, long len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, (size_t)len, f), (size_t)len);
	fclose(f);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	       p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Record i has timestamp TS0 + 10 * i, in a batch of its own. */
#define TS0 1000000
#define NREC 60

static void fill(mq_topic *t, int from, int to)
{
	for (int i = from; i < to; i++)
		tu_append(t, 0, i, 1, TS0 + 9 * (int64_t)i);
}

/*
 * seek_time_is checks that a time seek to ts in topic t lands on the first
 * record with a timestamp >= ts.
 */
static void seek_time_is(mq_topic *t, int64_t ts)
{
	int64_t want = ts <= TS0 ? 0 : (ts - TS0 + 9) / 10;
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	assert_int_equal(mq_reader_seek_time(r, ts), 0);
	int rc = mq_reader_next(r, &rec);
	if (want >= NREC) {
		assert_int_equal(rc, 0);
	} else {
		if (rc != 1 || rec.offset != want)
			fprintf(stderr, "seek to %lld: rc %d offset %lld, want %lld\n",
			        (long long)ts, rc, (long long)rec.offset,
			        (long long)want);
		assert_int_equal(rc, 1);
		assert_int_equal(rec.offset, want);
		assert_int_equal(rec.timestamp, TS0 + 10 * want);
	}
	mq_reader_close(r);
}

static const char *segs[] = { "segment.bytes=1500", "index.interval.bytes=10",
                              NULL };

static void test_time_seek_damaged_timeindex(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "tm", segs);
	fill(t, 0, NREC);
	mq_segment_info *si;
	size_t nseg;
	assert_int_equal(mq_partition_segments(t, 0, &si, &nseg), 0);
	assert_true(nseg >= 3);
	for (size_t s = 0; s < nseg; s++) {
		char tidx[4200];
		long len;
		tu_seg(tidx, sizeof tidx, dir, "tm", 0, si[s].base_offset,
		       ".timeindex");
		unsigned char *orig = read_file(tidx, &len);
		assert_true(len >= 36 && len % 12 == 0);
		unsigned char *b = malloc((size_t)len);
		assert_non_null(b);
		for (long e = 0; e < len / 12; e++) {
			/* The timestamp lowered or raised, the offset moved on. */
			for (int kind = 0; kind < 4; kind++) {
				memcpy(b, orig, (size_t)len);
				unsigned char *p = b + 12 * e;
				uint32_t ts = get32(p + 4);
				if (kind == 0)
					put32(p + 4, ts - 5);
				else if (kind == 1)
					put32(p + 4, ts + 5);
				else
					put32(p + 8, get32(p + 8) + (uint32_t)kind - 1);
				write_file(tidx, b, len);
				assert_true(mq_verify_partition(t, 0, NULL, NULL) > 0);
				int64_t at = (int64_t)get32(orig + 12 * e + 4);
				for (int64_t d = -12; d <= 12; d += 3)
					seek_time_is(t, at + d);
				seek_time_is(t, TS0 - 1);
				seek_time_is(t, TS0 + 10 * NREC);
			}
		}
		write_file(tidx, orig, len);
		free(b);
		free(orig);
	}
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
	/* No .index at all: the .timeindex entries cannot be checked. */
	for (size_t s = 0; s < nseg; s++) {
		char idx[4200];
		tu_seg(idx, sizeof idx, dir, "tm", 0, si[s].base_offset, ".index");
		unlink(idx);
	}
	for (int64_t ts = TS0 - 5; ts <= TS0 + 10 * NREC; ts += 7)
		seek_time_is(t, ts);
	free(si);
	tu_teardown(dir, env, t);
}

static void test_offset_seek_entry_into_a_record(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	static const char *o[] = { "index.interval.bytes=10", NULL };
	mq_topic *t = tu_setup(&dir, &env, "emb", o);
	fill(t, 0, 30);
	/* Record 30's value is a copy of the first batch, a valid one. */
	char log[4200], idx[4200];
	tu_seg(log, sizeof log, dir, "emb", 0, 0, ".log");
	tu_seg(idx, sizeof idx, dir, "emb", 0, 0, ".index");
	long len;
	unsigned char *l = read_file(log, &len);
	size_t blen = 12 + get32(l + 8);
	unsigned char *first = malloc(blen);
	assert_non_null(first);
	memcpy(first, l, blen);
	free(l);
	mq_batch *b;
	assert_int_equal(mq_batch_new(MQ_COMPRESSION_NONE, &b), 0);
	mq_record rec = { .timestamp = TS0 + 300, .key_len = -1, .value = first,
	                  .value_len = (ssize_t)blen };
	assert_int_equal(mq_batch_add(b, &rec), 0);
	int64_t base;
	assert_int_equal(mq_append(t, 0, b, 0, &base), 0);
	assert_int_equal(base, 30);
	mq_batch_free(b);
	fill(t, 31, 40);
	/* Point the entry of record 30's batch at the copy inside it. */
	l = read_file(log, &len);
	unsigned char *copy = memmem(l + 1, (size_t)len - 1, first, blen);
	assert_non_null(copy);
	uint32_t at = (uint32_t)(copy - l);
	long ilen;
	unsigned char *ix = read_file(idx, &ilen);
	long e = -1;
	for (long i = 0; i < ilen / 8; i++)
		if (get32(ix + 8 * i + 4) < at)
			e = i;
	assert_true(e >= 0 && e + 1 < ilen / 8);
	assert_int_equal(get32(ix + 8 * e), 30);
	unsigned char *ix0 = malloc((size_t)ilen);
	assert_non_null(ix0);
	memcpy(ix0, ix, (size_t)ilen);
	put32(ix + 8 * e + 4, at);
	write_file(idx, ix, ilen);
	assert_true(mq_verify_partition(t, 0, NULL, NULL) > 0);
	/* Readers do not start there. */
	mq_reader *r;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	for (int64_t off = 0; off < 40; off++) {
		assert_int_equal(mq_reader_seek(r, off), 0);
		assert_int_equal(mq_reader_next(r, &rec), 1);
		assert_int_equal(rec.offset, off);
		if (off == 30)
			assert_memory_equal(rec.value, first, blen);
	}
	mq_reader_close(r);
	int64_t start, end;
	assert_int_equal(mq_log_offsets(t, 0, &start, &end), 0);
	assert_int_equal(end, 40);
	/* The next writer puts the entry right. */
	mq_topic_close(t);
	assert_int_equal(mq_topic_open(env, "emb", &t), 0);
	fill(t, 40, 41);
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
	unsigned char *fixed = read_file(idx, &len);
	assert_true(len >= ilen);
	assert_memory_equal(fixed, ix0, (size_t)ilen);
	free(fixed);
	free(ix0);
	free(ix);
	free(l);
	free(first);
	tu_teardown(dir, env, t);
}

/* An index file of the writer tests' active segment, as last read. */
struct ixfile {
	char path[4200];
	unsigned char *b;
	long len;
};

/*
 * The writer tests' world: topic w (closed between appends) in a fresh
 * directory, the number of records written, and its two index files.
 */
struct writer {
	char *dir;
	mq_env *env;
	int next;
	struct ixfile idx, tidx;
};

/* refresh re-reads both index files after an append changed them. */
static void refresh(struct writer *w)
{
	free(w->idx.b);
	free(w->tidx.b);
	w->idx.b = read_file(w->idx.path, &w->idx.len);
	w->tidx.b = read_file(w->tidx.path, &w->tidx.len);
}

/*
 * writer_open makes topic w in a fresh directory with overrides o, fills
 * it with n records, closes it and reads its index files; writer_close
 * frees it all.
 */
static void writer_open(struct writer *w, const char *const *o, int n)
{
	mq_topic *t = tu_setup(&w->dir, &w->env, "w", o);
	w->next = n;
	fill(t, 0, n);
	mq_topic_close(t);
	tu_seg(w->idx.path, sizeof w->idx.path, w->dir, "w", 0, 0, ".index");
	tu_seg(w->tidx.path, sizeof w->tidx.path, w->dir, "w", 0, 0,
	       ".timeindex");
	w->idx.b = w->tidx.b = NULL;
	refresh(w);
}

/* writer_close frees the index files' bytes and removes the directory. */
static void writer_close(struct writer *w)
{
	free(w->idx.b);
	free(w->tidx.b);
	tu_teardown(w->dir, w->env, NULL);
}

/*
 * damage_and_append damages index file f of w's active segment with
 * change (on a copy of its bytes, orig), lets a new writer append one
 * record, and checks that the file then starts with orig again and
 * verifies clean; then it re-reads both index files.
 */
static void damage_and_append(struct writer *w, const struct ixfile *f,
                              void (*change)(unsigned char *, long *, long),
                              long arg)
{
	const char *path = f->path;
	const unsigned char *orig = f->b;
	long len = f->len;
	unsigned char *b = malloc((size_t)len);
	assert_non_null(b);
	memcpy(b, orig, (size_t)len);
	long blen = len;
	change(b, &blen, arg);
	write_file(path, b, blen);
	free(b);
	mq_topic *t;
	assert_int_equal(mq_topic_open(w->env, "w", &t), 0);
	if (blen == len)
		assert_true(mq_verify_partition(t, 0, NULL, NULL) > 0);
	fill(t, w->next, w->next + 1);
	w->next++;
	assert_int_equal(mq_verify_partition(t, 0, NULL, NULL), 0);
	long nlen;
	unsigned char *now = read_file(path, &nlen);
	assert_true(nlen >= len);
	assert_memory_equal(now, orig, (size_t)len);
	free(now);
	assert_int_equal(tu_read_all(t, 0, 0, NULL, 0), w->next);
	mq_topic_close(t);
	refresh(w);
}

static void bump_position(unsigned char *b, long *len, long e)
{
	(void)len;
	put32(b + 8 * e + 4, get32(b + 8 * e + 4) + 1);
}

static void bump_ts(unsigned char *b, long *len, long e)
{
	(void)len;
	put32(b + 12 * e + 4, get32(b + 12 * e + 4) + 1);
}

static void bump_tidx_offset(unsigned char *b, long *len, long e)
{
	(void)len;
	put32(b + 12 * e + 8, get32(b + 12 * e + 8) - 1);
}

static void cut(unsigned char *b, long *len, long keep)
{
	(void)b;
	*len = keep;
}

static void test_writer_repairs_active_indexes(void **state)
{
	(void)state;
	static const char *o[] = { "index.interval.bytes=10", NULL };
	struct writer w;
	writer_open(&w, o, 40);
	assert_true(w.idx.len >= 8 * 30 && w.tidx.len >= 12 * 30);

	/* A damaged entry in the middle, one that keeps the order. */
	damage_and_append(&w, &w.idx, bump_position, w.idx.len / 16);
	damage_and_append(&w, &w.tidx, bump_ts, w.tidx.len / 24);
	damage_and_append(&w, &w.tidx, bump_tidx_offset, w.tidx.len / 24);

	/* Cut at every entry boundary: the lost entries come back. */
	long ni = w.idx.len / 8, nt = w.tidx.len / 12;
	for (long k = 0; k < ni; k++)
		damage_and_append(&w, &w.idx, cut, 8 * k);
	for (long k = 0; k < nt; k++)
		damage_and_append(&w, &w.tidx, cut, 12 * k);
	writer_close(&w);
}

/* A large index (only some entries read at load): the tail is repaired. */
static void test_writer_large_index(void **state)
{
	(void)state;
	static const char *o[] = { "index.interval.bytes=0", NULL };
	struct writer w;
	writer_open(&w, o, 1600);
	assert_true(w.idx.len / 8 > 1024);
	damage_and_append(&w, &w.idx, bump_position, w.idx.len / 8 - 5);
	damage_and_append(&w, &w.tidx, bump_ts, w.tidx.len / 12 - 300);
	damage_and_append(&w, &w.tidx, cut, w.tidx.len - 12 * 700);
	damage_and_append(&w, &w.idx, cut, w.idx.len - 8 * 900);
	writer_close(&w);
}

/* A closed segment cut short: a time seek into it is corruption. */
static void test_time_seek_cut_closed_segment(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "cc", segs);
	fill(t, 0, NREC);
	char log[4200];
	tu_seg(log, sizeof log, dir, "cc", 0, 0, ".log");
	long len = tu_file_size(log);
	assert_int_equal(truncate(log, len - 3), 0);
	mq_segment_info *si;
	size_t nseg;
	assert_int_equal(mq_partition_segments(t, 0, &si, &nseg), 0);
	int64_t last = si[1].base_offset - 1; /* in the cut batch */
	free(si);
	mq_reader *r;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	assert_int_equal(mq_reader_seek_time(r, TS0 + 10 * last), MQ_ECORRUPT);
	char want[64];
	snprintf(want, sizeof want, "partition 0, offset %lld ", (long long)last);
	assert_non_null(strstr(mq_errmsg(), "topic 'cc'"));
	assert_non_null(strstr(mq_errmsg(), want));
	mq_reader_close(r);
	tu_teardown(dir, env, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_seek_damaged_timeindex),
		cmocka_unit_test(test_offset_seek_entry_into_a_record),
		cmocka_unit_test(test_writer_repairs_active_indexes),
		cmocka_unit_test(test_writer_large_index),
		cmocka_unit_test(test_time_seek_cut_closed_segment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
