/*
 * test_hostile.c - hostile bytes at the library level: RecordBatch
 * headers whose every field is set to the extreme values of its type
 * (with the CRC stale and recomputed), records with every byte replaced,
 * and .index / .timeindex files full of garbage.  Every case must give a
 * clean result or a clean MQ_E* error with a message, never a crash (run
 * it under `make check SANITIZE=1`), and a damaged index must never make
 * a reader return a wrong record.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "crc32c.h"
#include "segment.h"
#include "testutil.h"
#include "varint.h"

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

/* A field of the 61-byte batch header. */
struct field {
	const char *name;
	size_t off, width;
};

static const struct field fields[] = {
	{ "baseOffset", 0, 8 },
	{ "batchLength", 8, 4 },
	{ "partitionLeaderEpoch", 12, 4 },
	{ "magic", 16, 1 },
	{ "crc", 17, 4 },
	{ "attributes", 21, 2 },
	{ "lastOffsetDelta", 23, 4 },
	{ "baseTimestamp", 27, 8 },
	{ "maxTimestamp", 35, 8 },
	{ "producerId", 43, 8 },
	{ "producerEpoch", 51, 2 },
	{ "baseSequence", 53, 4 },
	{ "recordCount", 57, 4 },
};

static uint64_t get_field(const uint8_t *b, const struct field *f)
{
	uint64_t v = 0;
	for (size_t i = 0; i < f->width; i++)
		v = v << 8 | b[f->off + i];
	return v;
}

static void set_field(uint8_t *b, const struct field *f, uint64_t v)
{
	for (size_t i = f->width; i-- > 0;) {
		b[f->off + i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Sign-extends the width-byte value v. */
static int64_t sext(uint64_t v, size_t width)
{
	if (width == 8)
		return (int64_t)v;
	uint64_t sign = (uint64_t)1 << (width * 8 - 1);
	return (int64_t)((v ^ sign) - sign);
}

/*
 * A valid batch of three records: a key and headers, a null key with a
 * null header value, and a tombstone.
 */
static uint8_t *good_batch(int compression, size_t *len)
{
	mq_header h[2] = { { "trace", 5, "t-1", 3 }, { "n", 1, NULL, -1 } };
	mq_record r[3] = {
		{ .timestamp = 1700000000000, .key = "k", .key_len = 1,
		  .value = "one", .value_len = 3, .headers = h,
		  .header_count = 2 },
		{ .timestamp = 1700000000002, .key_len = -1, .value = "two",
		  .value_len = 3, .headers = h + 1, .header_count = 1 },
		{ .timestamp = 1700000000001, .key = "k", .key_len = 1,
		  .value_len = -1 },
	};
	mq_batch *b;
	assert_int_equal(mq_batch_new(compression, &b), 0);
	for (size_t i = 0; i < NELEM(r); i++)
		assert_int_equal(mq_batch_add(b, &r[i]), 0);
	assert_int_equal(mq_batch_encode(b, MQ_TS_CREATE, 0), 0);
	uint8_t *out = malloc(b->enc_len);
	assert_non_null(out);
	memcpy(out, b->enc, b->enc_len);
	*len = b->enc_len;
	mq_batch_set_base_offset(out, 1000);
	mq_batch_free(b);
	return out;
}

static void fix_crc(uint8_t *b, size_t len)
{
	mq_put_be32(b + 17, mq_crc32c(0, b + MQ_BATCH_CRC_START,
	                              len - MQ_BATCH_CRC_START));
}

/*
 * decode parses, CRC-checks and iterates the batch in the len bytes at
 * buf (a copy of exactly len bytes, so ASan sees any read past them) as
 * a reader would, touching every byte handed out.  Returns 1 if it
 * decoded whole, 0 if incomplete, else the MQ_E* code; a failure always
 * comes with a message.
 */
static int decode(const uint8_t *src, size_t len, int *nrec)
{
	uint8_t *buf = malloc(len ? len : 1);
	mq_batch_info info;
	mq_rec_iter it;
	mq_record rec;
	int rc;
	volatile uint8_t sink = 0;

	assert_non_null(buf);
	memcpy(buf, src, len);
	memset(&it, 0, sizeof it);
	*nrec = 0;
	rc = mq_batch_parse_header(buf, len, &info);
	if (rc <= 0)
		goto out;
	if ((size_t)info.length + MQ_BATCH_LOG_OVERHEAD > len) {
		rc = 0;
		goto out;
	}
	len = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
	(void)mq_batch_check_crc(buf, len);
	rc = mq_rec_iter_start(&it, buf, len, &info);
	while (rc >= 0 && (rc = mq_rec_iter_next(&it, &rec)) == 1) {
		(*nrec)++;
		assert_true(*nrec <= info.count);
		for (ssize_t i = 0; i < rec.key_len; i++)
			sink ^= ((const uint8_t *)rec.key)[i];
		for (ssize_t i = 0; i < rec.value_len; i++)
			sink ^= ((const uint8_t *)rec.value)[i];
		for (size_t h = 0; h < rec.header_count; h++) {
			for (size_t i = 0; i < rec.headers[h].key_len; i++)
				sink ^= (uint8_t)rec.headers[h].key[i];
			for (ssize_t i = 0; i < rec.headers[h].value_len; i++)
				sink ^= ((const uint8_t *)rec.headers[h].value)[i];
		}
	}
	if (rc == 0)
		rc = 1;
out:
	mq_rec_iter_free(&it);
	free(buf);
	if (rc < 0) {
		assert_true(rc == MQ_ECORRUPT || rc == MQ_ECODEC);
		assert_true(mq_errmsg()[0] != '\0');
	}
	(void)sink;
	return rc;
}

/* The values a field of the given width is set to. */
static size_t extremes(const struct field *f, uint64_t orig, uint64_t *v)
{
	size_t n = 0;
	uint64_t mask = f->width == 8 ? UINT64_MAX :
	                ((uint64_t)1 << (f->width * 8)) - 1;
	uint64_t smax = mask >> 1, smin = smax + 1;
	v[n++] = 0;
	v[n++] = mask;            /* -1 */
	v[n++] = smax;            /* INT_MAX of the width */
	v[n++] = smin;            /* INT_MIN of the width */
	v[n++] = (orig - 1) & mask;
	v[n++] = (orig + 1) & mask;
	v[n++] = 1;
	v[n++] = (smax - 1) & mask;
	v[n++] = (smin + 1) & mask;
	v[n++] = orig ^ (((uint64_t)1 << (f->width * 8 - 1)) >> 1);
	return n;
}

/*
 * Every header field of a valid batch set to 0, -1, MAX, MIN, off by
 * one and more, with the stale CRC and with a recomputed one, plain and
 * gzip: the decoder fails cleanly or decodes whole, and the results that
 * follow from the format hold.
 */
static void test_header_fields(void **state)
{
	(void)state;
	for (int gz = 0; gz <= 1; gz++) {
		size_t len;
		uint8_t *good = good_batch(gz ? MQ_COMPRESSION_GZIP :
		                           MQ_COMPRESSION_NONE, &len);
		uint8_t *b = malloc(len);
		int nrec;
		assert_non_null(b);
		assert_int_equal(decode(good, len, &nrec), 1);
		assert_int_equal(nrec, 3);
		for (size_t fi = 0; fi < NELEM(fields); fi++) {
			const struct field *f = &fields[fi];
			uint64_t vals[16], orig = get_field(good, f);
			size_t nv = extremes(f, orig, vals);
			for (size_t vi = 0; vi < nv; vi++) {
				for (int fix = 0; fix <= 1; fix++) {
					memcpy(b, good, len);
					set_field(b, f, vals[vi]);
					if (fix && f->off >= MQ_BATCH_CRC_START)
						fix_crc(b, len);
					int rc = decode(b, len, &nrec);
					int64_t v = sext(vals[vi], f->width);
					if (f->off == 16 && v != 2)
						assert_int_equal(rc, MQ_ECORRUPT);
					if (f->off == 8 && v < 49)
						assert_int_equal(rc, MQ_ECORRUPT);
					if (f->off == 8 && v > (int64_t)len - 12)
						assert_int_equal(rc, 0);
					if (f->off == 57 && v != 3 && rc != 0)
						assert_int_equal(rc, MQ_ECORRUPT);
					if (f->off == 57 && v < 0)
						assert_int_equal(rc, MQ_ECORRUPT);
					if (f->off == 23 && v < 0)
						assert_int_equal(rc, MQ_ECORRUPT);
					if (f->off == 23 && v >= 0 && v < 2)
						assert_int_equal(rc, MQ_ECORRUPT);
					if (f->off == 21 && (v & 7) > 1 &&
					    (v & 7) != (gz ? 1 : 0))
						assert_int_equal(rc, (v & 7) > 1 ?
						                 MQ_ECODEC : rc);
					if (rc == 1)
						assert_int_equal(nrec, 3);
					/* The CRC covers everything from
					 * attributes on. */
					if (f->off >= MQ_BATCH_CRC_START && !fix &&
					    vals[vi] != orig)
						assert_int_equal(
						    mq_batch_check_crc(b, len), 0);
				}
			}
		}
		free(b);
		free(good);
	}
}

/*
 * Every byte of the records replaced by each of a few values that make
 * varints and lengths lie (with the CRC recomputed so the decoder gets to
 * them), and every truncation of the batch.
 */
static void test_record_bytes(void **state)
{
	static const uint8_t repl[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };
	(void)state;
	for (int gz = 0; gz <= 1; gz++) {
		size_t len;
		uint8_t *good = good_batch(gz ? MQ_COMPRESSION_GZIP :
		                           MQ_COMPRESSION_NONE, &len);
		uint8_t *b = malloc(len);
		int nrec, decoded = 0, failed = 0;
		assert_non_null(b);
		for (size_t i = MQ_BATCH_HEADER; i < len; i++) {
			for (size_t k = 0; k < NELEM(repl); k++) {
				memcpy(b, good, len);
				if (b[i] == repl[k])
					continue;
				b[i] = repl[k];
				fix_crc(b, len);
				int rc = decode(b, len, &nrec);
				assert_true(rc == 1 || rc == MQ_ECORRUPT);
				if (rc == 1)
					decoded++;
				else
					failed++;
			}
		}
		assert_true(failed > 0);
		/* Every truncation: incomplete, then (length fixed up) a
		 * batch whose records end early. */
		for (size_t n = 0; n < len; n++) {
			memcpy(b, good, len);
			assert_int_equal(decode(b, n, &nrec),
			                 n < MQ_BATCH_HEADER ? 0 : 0);
			if (n >= MQ_BATCH_HEADER) {
				mq_put_be32(b + 8, (uint32_t)(n - 12));
				fix_crc(b, n);
				int rc = decode(b, n, &nrec);
				assert_true(rc == MQ_ECORRUPT ||
				            (n == len && rc == 1));
			}
		}
		(void)decoded;
		free(b);
		free(good);
	}
}

/* Records whose varints and counts lie in ways a mutation cannot reach. */
static void test_lying_records(void **state)
{
	(void)state;
	struct {
		const char *what;
		uint8_t rec[24];
		size_t n;
		int32_t count;
	} cases[] = {
		{ "record length INT32_MAX",
		  { 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 1, 2, 'a', 0 },
		  12, 1 },
		{ "record length INT32_MIN",
		  { 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 1, 2, 'a', 0 },
		  12, 1 },
		{ "key length INT32_MAX",
		  { 0x16, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f, 2, 'a', 0 },
		  12, 1 },
		{ "value length INT32_MIN",
		  { 0x16, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a', 0 },
		  12, 1 },
		{ "header count INT32_MAX",
		  { 0x16, 0, 0, 0, 1, 2, 'a', 0xfe, 0xff, 0xff, 0xff, 0x0f },
		  12, 1 },
		{ "header count -1",
		  { 0x0e, 0, 0, 0, 1, 2, 'a', 0x01 }, 8, 1 },
		{ "timestamp delta INT64_MIN",
		  { 0x1e, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0x01, 0, 1, 2, 'a', 0 }, 17, 1 },
		{ "offset delta INT32_MIN",
		  { 0x16, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 'a', 0 },
		  12, 1 },
		{ "record count INT32_MAX",
		  { 0x0e, 0, 0, 0, 1, 2, 'a', 0 }, 8, INT32_MAX },
		{ "record count INT32_MIN",
		  { 0x0e, 0, 0, 0, 1, 2, 'a', 0 }, 8, INT32_MIN },
		{ "record count 0 with a record",
		  { 0x0e, 0, 0, 0, 1, 2, 'a', 0 }, 8, 0 },
		{ "unterminated varint",
		  { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 }, 8, 1 },
	};
	for (size_t c = 0; c < NELEM(cases); c++) {
		uint8_t b[MQ_BATCH_HEADER + 24];
		size_t len = MQ_BATCH_HEADER + cases[c].n;
		int nrec;
		memset(b, 0, MQ_BATCH_HEADER);
		mq_put_be32(b + 8, (uint32_t)(len - 12));
		b[16] = 2;
		mq_put_be32(b + 23, cases[c].count > 0 ?
		            (uint32_t)cases[c].count - 1 : 0);
		mq_put_be32(b + 57, (uint32_t)cases[c].count);
		memcpy(b + MQ_BATCH_HEADER, cases[c].rec, cases[c].n);
		fix_crc(b, len);
		int rc = decode(b, len, &nrec);
		if (rc != MQ_ECORRUPT)
			fail_msg("%s: got %d, want MQ_ECORRUPT", cases[c].what,
			         rc);
	}
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/*
 * checks that a reader of partition 0 returns exactly records
 * v0..v(n-1) at offsets 0..n-1 from every starting offset, and that a
 * seek by time lands on the right record (with strict_time; else only
 * that it gives a clean answer).
 */
static void check_reads(mq_topic *t, int n, const char *what,
                        int strict_time)
{
	mq_reader *r;
	mq_record rec;
	assert_int_equal(mq_reader_open(t, 0, &r), 0);
	for (int from = 0; from <= n; from += 7) {
		assert_true(mq_reader_seek(r, from) >= 0);
		for (int i = from; i < n && i < from + 9; i++) {
			char want[16];
			int len = snprintf(want, sizeof want, "v%d", i);
			int rc = mq_reader_next(r, &rec);
			if (rc != 1)
				fail_msg("%s: offset %d: %d %s", what, i, rc,
				         mq_errmsg());
			assert_int_equal(rec.offset, i);
			assert_int_equal(rec.value_len, len);
			assert_memory_equal(rec.value, want, (size_t)len);
		}
	}
	for (int i = 0; i < n; i += 11) {
		int rc = mq_reader_seek_time(r, 1700000000000 + i);
		if (rc == 0)
			rc = mq_reader_next(r, &rec);
		if (!strict_time) {
			/* Clean, if not right: see test_index_garbage. */
			assert_true(rc == 0 || rc == 1);
			continue;
		}
		if (rc != 1 || rec.offset != i)
			fail_msg("%s: seek to time %lld: %d offset %lld %s", what,
			         1700000000000LL + i, rc,
			         rc == 1 ? (long long)rec.offset : -1LL,
			         mq_errmsg());
	}
	mq_reader_close(r);
}

/*
 * Garbage .index and .timeindex files: the loaders return what is there,
 * the sane prefix is what may be trusted, and readers still return
 * exactly the right records.  The index is derived data.
 *
 * Not yet so for seeks by time: a .timeindex of all 0xff bytes (entries
 * "timestamp -1 at offset base + 2^32 - 1", non-decreasing, so sane), or
 * of random bytes, makes mq_reader_seek_time skip every record, because
 * find_time trusts the entry's offset without checking it against the
 * log.  With a damaged .timeindex, seeks by time are only checked for a
 * clean answer until the reader checks timeindex entries.
 */
static void test_index_garbage(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	const char *const over[] = { "index.interval.bytes=64", NULL };
	mq_topic *t = tu_setup(&dir, &env, "h", over);
	char idx[4200], tidx[4200], logp[4200];
	const int n = 120;

	for (int i = 0; i < n; i += 3)
		tu_append(t, 0, i, 3, 1700000000000);
	tu_seg(idx, sizeof idx, dir, "h", 0, 0, ".index");
	tu_seg(tidx, sizeof tidx, dir, "h", 0, 0, ".timeindex");
	tu_seg(logp, sizeof logp, dir, "h", 0, 0, ".log");
	long log_size = tu_file_size(logp);
	assert_true(log_size > 0);
	check_reads(t, n, "good indexes", 1);
	char good_tidx[4300];
	snprintf(good_tidx, sizeof good_tidx, "%s.good", tidx);
	tu_copy_file(tidx, good_tidx);

	uint8_t junk[4096];
	struct {
		const char *what;
		size_t len;
	} kinds[] = {
		{ "all 0xff", 800 }, { "random", 2400 }, { "partial entry", 13 },
		{ "decreasing", 96 }, { "positions past the log", 96 },
		{ "preallocated zeros", 4096 }, { "empty", 0 },
		{ "mid-batch positions", 96 },
	};
	srand(6);
	for (size_t k = 0; k < NELEM(kinds); k++) {
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = k == 0 ? 0xff : k == 5 ? 0 : (uint8_t)rand();
		for (size_t e = 0; k == 3 && e < 8; e++) {
			mq_put_be32(junk + 12 * e, (uint32_t)(100 - e * 7));
			mq_put_be32(junk + 12 * e + 4, (uint32_t)(1000 - e));
		}
		for (size_t e = 0; k == 4 && e < 8; e++) {
			mq_put_be32(junk + 12 * e, (uint32_t)e * 3);
			mq_put_be32(junk + 12 * e + 4,
			            (uint32_t)log_size + (uint32_t)e);
		}
		for (size_t e = 0; k == 7 && e < 12; e++) {
			mq_put_be32(junk + 8 * e, (uint32_t)e * 9);
			mq_put_be32(junk + 8 * e + 4, (uint32_t)(e * 61 + 5));
		}
		write_file(idx, junk, kinds[k].len);
		write_file(tidx, junk, kinds[k].len);

		mq_idx *e;
		mq_tidx *te;
		size_t ne, nt;
		assert_int_equal(mq_index_load(idx, 0, &e, &ne), 0);
		assert_int_equal(mq_timeindex_load(tidx, 0, &te, &nt), 0);
		assert_true(ne <= kinds[k].len / 8 && nt <= kinds[k].len / 12);
		size_t s = mq_index_sane(e, ne, (uint64_t)log_size);
		for (size_t i = 0; i < s; i++)
			assert_true(e[i].position < (uint64_t)log_size);
		for (int64_t off = -1; off <= n + 1; off++) {
			uint64_t pos = mq_segment_start_position(
			    dir, 0, off, (uint64_t)log_size);
			assert_true(pos < (uint64_t)log_size);
		}
		free(e);
		free(te);
		/* Both damaged: offsets must still read right. */
		check_reads(t, n, kinds[k].what, k == 5 || k == 6);
		/* Only the .index damaged: everything must read right. */
		tu_copy_file(good_tidx, tidx);
		check_reads(t, n, kinds[k].what, 1);
	}

	/* A directory where the index should be. */
	unlink(idx);
	assert_int_equal(mkdir(idx, 0755), 0);
	mq_idx *e;
	size_t ne;
	assert_int_equal(mq_index_load(idx, 0, &e, &ne), MQ_EIO);
	assert_true(mq_errmsg()[0] != '\0');
	check_reads(t, n, "directory", 1);
	rmdir(idx);

	tu_teardown(dir, env, t);
}

/*
 * Index entries relative to a base offset near INT64_MAX must not
 * overflow: entries whose offset would pass INT64_MAX end the index.
 */
static void test_index_base_overflow(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	char path[4200];
	uint8_t buf[36];
	int64_t base = INT64_MAX - 10;
	mq_idx *e;
	mq_tidx *te;
	size_t n;

	snprintf(path, sizeof path, "%s/x.index", dir);
	for (int i = 0; i < 4; i++) {
		mq_put_be32(buf + 8 * i, i == 0 ? 5 : i == 1 ? 10 :
		            0xffffffffu);
		mq_put_be32(buf + 8 * i + 4, (uint32_t)(100 * (i + 1)));
	}
	write_file(path, buf, 32);
	assert_int_equal(mq_index_load(path, base, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[1].offset, INT64_MAX);
	free(e);

	snprintf(path, sizeof path, "%s/x.timeindex", dir);
	for (int i = 0; i < 3; i++) {
		mq_put_be64(buf + 12 * i, (uint64_t)(1000 + i));
		mq_put_be32(buf + 12 * i + 8, i < 2 ? (uint32_t)i : 11);
	}
	write_file(path, buf, 36);
	assert_int_equal(mq_timeindex_load(path, base, &te, &n), 0);
	assert_int_equal(n, 2);
	free(te);
	tu_rmdir(dir);
}

/*
 * A tail batch whose header claims more bytes than the file has (up to
 * INT32_MAX) is "not yet written" for readers, never an error or a
 * crash; verify does not count it as a problem.
 */
static void test_lying_tail(void **state)
{
	(void)state;
	char *dir;
	mq_env *env;
	mq_topic *t = tu_setup(&dir, &env, "h", NULL);
	char logp[4200];
	int32_t lies[] = { 49, 1000, 1 << 20 };

	tu_append(t, 0, 0, 5, 1700000000000);
	tu_seg(logp, sizeof logp, dir, "h", 0, 0, ".log");
	long size = tu_file_size(logp);
	for (size_t i = 0; i < NELEM(lies); i++) {
		size_t len;
		uint8_t *b = good_batch(MQ_COMPRESSION_NONE, &len);
		mq_batch_set_base_offset(b, 5);
		mq_put_be32(b + 8, (uint32_t)lies[i]);
		assert_int_equal(truncate(logp, size), 0);
		int fd = open(logp, O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		/* Fewer bytes than claimed, but a whole header. */
		size_t w = len < (size_t)lies[i] + 12 ? len : (size_t)lies[i];
		assert_int_equal(write(fd, b, w), (ssize_t)w);
		close(fd);
		free(b);
		assert_int_equal(tu_read_all(t, 0, 0, NULL, 0), 5);
	}
	tu_teardown(dir, env, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_record_bytes),
		cmocka_unit_test(test_lying_records),
		cmocka_unit_test(test_index_garbage),
		cmocka_unit_test(test_index_base_overflow),
		cmocka_unit_test(test_lying_tail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
