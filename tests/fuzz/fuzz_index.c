/*
 * fuzz_index.c - the .index and .timeindex readers, and the partition
 * readers (reader, dump, verify, segment listing, writer tail recovery)
 * over a fuzzed segment.
 *
 * An input is a small header and three files:
 *
 *   0     mode        bit 0: also run the partition readers
 *                     bit 1: split the log into two segments
 *                     bit 2: append a record through the writer
 *                     bits 3-4: base offset of the first segment
 *                     (0, 1000, 2^32, INT64_MAX - 2^31)
 *                     bits 5-7: which offset the reader seeks to
 *   1     u16 BE      bits 0-13: length of the .index bytes;
 *                     bits 14-15: bits 0-1 of mode 2
 *   3     u16 BE      bits 0-13: length of the .timeindex bytes;
 *                     bits 14-15: bits 2-3 of mode 2
 *   5     u32 BE      base of the second segment minus the first's
 *   9     u16 BE      where the log is split into the two segments;
 *                     byte 10 also picks the index entry and the
 *                     timestamp the reader seeks to, and what mode 2
 *                     does in detail
 *   11    .index bytes, .timeindex bytes, then the .log bytes
 *
 * Mode 2 runs after everything mode asks for, on the files as it left
 * them:
 *
 *   bit 0 (byte 1 bit 6): repair the partition (mq_repair_partition),
 *          then check what a repair promises: a second repair does
 *          nothing, every segment rescans clean, verify reports nothing
 *          but what repair does not claim to fix (offsets missing or
 *          overlapping between segments, records inside a batch whose
 *          header and CRC are good), and when verify is clean the readers
 *          read to the end and the writer appends
 *   bit 1 (byte 1 bit 7): with bit 0, rescan each segment first
 *          (mq_segment_rescan), leave what a crashed repair leaves (a
 *          temporary file; the set-aside copy of the first segment's
 *          damage, byte 10 bit 6 picking the same bytes or other ones),
 *          and run a dry run that must change nothing and announce as
 *          many actions as the repair does
 *   bit 2 (byte 3 bit 6): move the log start offset (mq_retain) under a
 *          reader that has read 1-4 records (byte 10 bits 0-1) to a point
 *          byte 10 bits 2-3 pick, and check mq_reader_moved and a fresh
 *          reader
 *   bit 3 (byte 3 bit 7): with bit 0, the last segment's .index (or,
 *          byte 10 bit 7, its .timeindex) is a directory
 *
 * Lengths larger than what is left are cut to it.  Before mode 2 the
 * lengths had 16 bits; every checked-in input still means what it meant,
 * since each either has lengths below 2^14 or lengths cut to what is left
 * either way (those then also run some of mode 2).  gen_seeds.c writes
 * inputs in this layout from real segments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "active.h"
#include "fuzz.h"
#include "internal.h"
#include "segment.h"
#include "varint.h"

#define FI_HEADER 11
#define FI_MAX_RECORDS 256   /* records read per reader walk */
#define FI_MAX_BATCHES 256   /* batches dumped per segment */

static const int64_t fi_bases[4] = {
	0, 1000, (int64_t)1 << 32, INT64_MAX - ((int64_t)1 << 31),
};

/* fi_add adds without overflow, saturating at the int64 limits. */
static int64_t fi_add(int64_t a, int64_t d)
{
	int64_t r;
	if (__builtin_add_overflow(a, d, &r))
		return d > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static mq_env *fi_env;
static int fi_verbose = -1;   /* $FUZZ_VERBOSE: trace what is read */
static char fi_part[PATH_MAX];

/* fi_setup creates, once, a data directory with topic "f". */
static void fi_setup(void)
{
	char path[PATH_MAX];
	mq_config cfg;
	mq_topic *t;

	if (fi_env)
		return;
	snprintf(path, sizeof path, "%s/data", fuzz_tmpdir());
	FUZZ_CHECK(mq_env_open(path, MQ_CREATE, &fi_env) == MQ_OK);
	mq_env_defaults(fi_env, &cfg);
	cfg.index_interval_bytes = 64;
	FUZZ_CHECK(mq_topic_create(fi_env, "f", &cfg, 0) == MQ_OK);
	FUZZ_CHECK(mq_topic_open(fi_env, "f", &t) == MQ_OK);
	FUZZ_CHECK(mq_partition_path(t, 0, fi_part, sizeof fi_part) == MQ_OK);
	mq_topic_close(t);
}

/* fi_clear removes the segment files of the partition. */
static void fi_clear(void)
{
	DIR *d = opendir(fi_part);
	struct dirent *de;
	char path[PATH_MAX + 300];

	FUZZ_CHECK(d != NULL);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "mq.lock") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", fi_part, de->d_name);
		/* Mode 2 bit 3 makes directories (empty ones). */
		FUZZ_CHECK(unlink(path) == 0 || errno == ENOENT ||
		           (errno == EISDIR && rmdir(path) == 0));
	}
	closedir(d);
}

static void fi_write(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

/* fi_indexes loads both index files and checks the search contracts. */
static void fi_indexes(int64_t base, uint64_t log_size)
{
	char path[PATH_MAX];
	mq_idx *e;
	mq_tidx *te;
	size_t n, nt, s;

	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, base, ".index") == 0);
	FUZZ_CHECK(mq_index_load(path, base, &e, &n) == MQ_OK);
	s = mq_index_sane(e, n, log_size);
	FUZZ_CHECK(s <= n);
	for (size_t i = 0; i < s; i++) {
		FUZZ_CHECK(e[i].position < log_size);
		FUZZ_CHECK(i == 0 || (e[i].offset > e[i - 1].offset &&
		                      e[i].position > e[i - 1].position));
	}
	for (size_t i = 0; i < s + 2; i++) {
		int64_t targets[3] = { INT64_MIN, INT64_MAX, base };
		if (i < s) {
			targets[0] = fi_add(e[i].offset, -1);
			targets[1] = e[i].offset;
			targets[2] = fi_add(e[i].offset, 1);
		}
		for (int k = 0; k < 3; k++) {
			ssize_t f = mq_index_floor(e, s, targets[k]);
			FUZZ_CHECK(f >= -1 && f < (ssize_t)s);
			if (f >= 0)
				FUZZ_CHECK(e[f].offset <= targets[k]);
			if (f + 1 < (ssize_t)s)
				FUZZ_CHECK(e[f + 1].offset > targets[k]);
			uint64_t pos = mq_segment_start_position(fi_part, base,
			                                         targets[k],
			                                         log_size);
			FUZZ_CHECK(pos == 0 || pos < log_size);
		}
	}
	free(e);

	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, base,
	                       ".timeindex") == 0);
	FUZZ_CHECK(mq_timeindex_load(path, base, &te, &nt) == MQ_OK);
	s = mq_timeindex_sane(te, nt);
	FUZZ_CHECK(s <= nt);
	for (size_t i = 1; i < s; i++)
		FUZZ_CHECK(te[i].timestamp >= te[i - 1].timestamp &&
		           te[i].offset >= te[i - 1].offset);
	for (size_t i = 0; i < s + 2; i++) {
		int64_t ts[3] = { INT64_MIN, INT64_MAX, 0 };
		if (i < s) {
			ts[0] = fi_add(te[i].timestamp, -1);
			ts[1] = te[i].timestamp;
			ts[2] = fi_add(te[i].timestamp, 1);
		}
		for (int k = 0; k < 3; k++) {
			ssize_t f = mq_timeindex_below(te, s, ts[k]);
			FUZZ_CHECK(f >= -1 && f < (ssize_t)s);
			if (f >= 0)
				FUZZ_CHECK(te[f].timestamp < ts[k]);
			if (f + 1 < (ssize_t)s)
				FUZZ_CHECK(te[f + 1].timestamp >= ts[k]);
		}
	}
	free(te);
}

static void fi_report(void *ctx, const char *file, uint64_t position,
                      const char *problem)
{
	(void)position;
	FUZZ_CHECK(file != NULL && problem != NULL && problem[0] != '\0');
	++*(int *)ctx;
}

static void fi_check_record(const mq_record *rec)
{
	FUZZ_CHECK(rec->key_len >= -1 && rec->value_len >= -1);
	fuzz_touch(rec->key, rec->key_len);
	fuzz_touch(rec->value, rec->value_len);
	for (size_t i = 0; i < rec->header_count; i++) {
		fuzz_touch(rec->headers[i].key, (ssize_t)rec->headers[i].key_len);
		fuzz_touch(rec->headers[i].value, rec->headers[i].value_len);
	}
}

/*
 * fi_walk reads up to FI_MAX_RECORDS records from the reader's position:
 * offsets must increase and start at or after the position.  (They may
 * pass the log end mq_log_offsets gave: a flipped bit in a baseOffset,
 * which the CRC does not cover, moves a batch anywhere.)  Returns the
 * last result of mq_reader_next.
 */
static int fi_walk(mq_reader *r, int64_t end)
{
	mq_record rec;
	int64_t last = INT64_MIN;
	int rc = 0;

	for (int i = 0; i < FI_MAX_RECORDS; i++) {
		int64_t pos = mq_reader_position(r);
		rc = mq_reader_next(r, &rec);
		if (rc != 1) {
			FUZZ_CHECK(rc == 0 || rc == MQ_ECORRUPT ||
			           rc == MQ_ECODEC || rc == MQ_ENOMEM);
			if (rc < 0)
				FUZZ_CHECK(mq_errmsg()[0] != '\0');
			break;
		}
		fi_check_record(&rec);
		if (fi_verbose)
			fprintf(stderr, "  record %lld (end %lld)\n",
			        (long long)rec.offset, (long long)end);
		FUZZ_CHECK(rec.offset > last);
		FUZZ_CHECK(rec.offset >= pos);
		last = rec.offset;
	}
	return rc;
}

/* fi_dump dumps one segment file batch by batch, record by record. */
static void fi_dump(int64_t base)
{
	char path[PATH_MAX];
	mq_dump *d;
	mq_batch_info info;
	mq_record rec;

	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, base, ".log") == 0);
	FUZZ_CHECK(mq_dump_open(path, &d) == MQ_OK);
	for (int b = 0; b < FI_MAX_BATCHES; b++) {
		int rc = mq_dump_next_batch(d, &info);
		FUZZ_CHECK(rc == 1 || rc == 0 || rc == MQ_ECORRUPT ||
		           rc == MQ_ENOMEM);
		if (rc != 1)
			break;
		for (int i = 0; i < FI_MAX_RECORDS; i++) {
			rc = mq_dump_next_record(d, &rec);
			FUZZ_CHECK(rc == 1 || rc == 0 || rc == MQ_ECORRUPT ||
			           rc == MQ_ECODEC || rc == MQ_ENOMEM);
			if (rc != 1)
				break;
			fi_check_record(&rec);
		}
	}
	mq_dump_close(d);
}

/*
 * fi_append_read_back appends one record with the 5-byte value to t and,
 * if the append succeeds, checks that a reader gets it back at the offset
 * acknowledged (aborting otherwise).  Returns the append's result.
 */
static int fi_append_read_back(mq_topic *t, const char *value)
{
	mq_batch *b;
	mq_reader *r;
	mq_record rec = { .timestamp = 1700000000000, .key_len = -1,
	                  .value = value, .value_len = 5 }, got;
	int64_t off;
	FUZZ_CHECK(mq_batch_new(MQ_COMPRESSION_NONE, &b) == MQ_OK);
	FUZZ_CHECK(mq_batch_add(b, &rec) == MQ_OK);
	int rc = mq_append(t, 0, b, MQ_NOWAIT, &off);
	mq_batch_free(b);
	if (rc != MQ_OK)
		return rc;
	int got_rc = mq_reader_open(t, 0, &r);
	if (got_rc == MQ_OK) {
		if ((got_rc = mq_reader_seek(r, off)) == MQ_OK)
			got_rc = mq_reader_next(r, &got);
		if (got_rc == 1)
			FUZZ_CHECK(got.offset == off && got.value_len == 5 &&
			           memcmp(got.value, value, 5) == 0);
		mq_reader_close(r);
	}
	if (got_rc != 1 && got_rc != MQ_ENOMEM) {
		fprintf(stderr, "acknowledged offset %lld (%s): %d %s\n",
		        (long long)off, value, got_rc, mq_errmsg());
		abort();
	}
	return rc;
}

/* fi_partition runs the partition readers, and maybe the writer. */
static void fi_partition(int mode, int pick, const int64_t *bases, int nseg,
                         const mq_idx *hint, size_t nhint)
{
	mq_topic *t;
	mq_reader *r;
	int64_t start, end;
	int problems = 0, rc;

	FUZZ_CHECK(mq_topic_open(fi_env, "f", &t) == MQ_OK);
	rc = mq_log_offsets(t, 0, &start, &end);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ECORRUPT || rc == MQ_ENOMEM);
	if (fi_verbose)
		fprintf(stderr, "log offsets %lld..%lld (%d)\n",
		        (long long)start, (long long)end, rc);
	if (rc < 0)
		end = INT64_MAX;
	rc = mq_reader_open(t, 0, &r);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ECORRUPT || rc == MQ_ENOMEM);
	if (rc == MQ_OK) {
		/* Each seek costs a scan buffer of its own, which is slow
		 * under ASan: the input picks one of each kind. */
		fi_walk(r, end);
		int64_t targets[] = { INT64_MIN, 0, bases[0],
		                      fi_add(bases[0], 1), bases[nseg - 1],
		                      fi_add(end, -1), end, INT64_MAX };
		rc = mq_reader_seek(r, targets[(mode >> 5) & 7]);
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == MQ_ECORRUPT ||
		           rc == MQ_ENOMEM);
		if (rc >= 0)
			fi_walk(r, end);
		if (nhint > 0 && mq_reader_seek(r, hint[pick % nhint].offset) >= 0)
			fi_walk(r, end);
		int64_t times[] = { INT64_MIN, -1, 0, 1, 1700000000000,
		                    INT64_MAX };
		rc = mq_reader_seek_time(r, times[pick % 6]);
		FUZZ_CHECK(rc == 0 || rc == MQ_ECORRUPT || rc == MQ_ECODEC ||
		           rc == MQ_ENOMEM);
		if (rc == 0)
			fi_walk(r, end);
		mq_reader_close(r);
	}

	mq_segment_info *segs;
	size_t n;
	rc = mq_partition_segments(t, 0, &segs, &n);
	FUZZ_CHECK(rc == MQ_OK || rc == MQ_ECORRUPT || rc == MQ_ENOMEM);
	if (rc == MQ_OK) {
		FUZZ_CHECK(n == (size_t)nseg);
		free(segs);
	}
	rc = mq_verify_partition(t, 0, fi_report, &problems);
	FUZZ_CHECK(rc == MQ_ENOMEM || (rc >= 0 && rc == problems));
	for (int i = 0; i < nseg; i++)
		fi_dump(bases[i]);

	if (mode & 4) {
		/* The writer recovers the tail; what it acknowledges must
		 * read back. */
		rc = fi_append_read_back(t, "acked");
		FUZZ_CHECK(rc == MQ_OK || rc == MQ_ECORRUPT || rc == MQ_ERANGE ||
		           rc == MQ_EINVAL || rc == MQ_ENOMEM);
	}
	mq_topic_close(t);
}

#include "fuzz_index_repair.h"

static size_t fi_u16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

int fuzz_index(const uint8_t *data, size_t size)
{
	uint8_t head[FI_HEADER] = { 0 };
	char path[PATH_MAX];
	int64_t bases[2];
	int nseg = 1;

	memcpy(head, data, size < FI_HEADER ? size : FI_HEADER);
	data += size < FI_HEADER ? size : FI_HEADER;
	size -= size < FI_HEADER ? size : FI_HEADER;
	int mode = head[0];
	int mode2 = head[1] >> 6 | (head[3] >> 6) << 2;
	size_t ilen = fi_u16(head + 1) & 0x3fff;
	size_t tlen = fi_u16(head + 3) & 0x3fff;
	if (ilen > size)
		ilen = size;
	if (tlen > size - ilen)
		tlen = size - ilen;
	const uint8_t *idx = data, *tidx = data + ilen, *log = tidx + tlen;
	size_t llen = size - ilen - tlen, split = llen;

	if (fi_verbose < 0)
		fi_verbose = getenv("FUZZ_VERBOSE") != NULL;
	fi_setup();
	fi_clear();
	bases[0] = fi_bases[(mode >> 3) & 3];
	if (mode & 2) {
		split = fi_u16(head + 9);
		if (split > llen)
			split = llen;
		bases[1] = fi_add(bases[0], (int64_t)mq_be32(head + 5) + 1);
		nseg = 2;
	}
	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, bases[0],
	                       ".log") == 0);
	fi_write(path, log, split);
	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, bases[0],
	                       ".index") == 0);
	fi_write(path, idx, ilen);
	FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, bases[0],
	                       ".timeindex") == 0);
	fi_write(path, tidx, tlen);
	if (nseg == 2) {
		FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, bases[1],
		                       ".log") == 0);
		fi_write(path, log + split, llen - split);
	}

	fi_indexes(bases[0], split);

	if (mode & 1) {
		mq_idx *e;
		size_t n;
		FUZZ_CHECK(mq_seg_path(path, sizeof path, fi_part, bases[0],
		                       ".index") == 0);
		FUZZ_CHECK(mq_index_load(path, bases[0], &e, &n) == MQ_OK);
		fi_partition(mode, head[10], bases, nseg, e, n);
		free(e);
	}
	if (mode2 & 1)
		fi_repair(mode2, head[10], bases, nseg);
	if (mode2 & 4)
		fi_moved(head[10]);
	return 0;
}

FUZZ_ENTRY(fuzz_index)
