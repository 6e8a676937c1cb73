/*
 * testutil.h - shared helpers for libmq unit tests: temporary data
 * directories, small append/read wrappers, sample records with an
 * encode/decode check for the codec tests, and a damaged-partition fixture
 * for the repair tests.
 */
#ifndef MQ_TESTUTIL_H
#define MQ_TESTUTIL_H

#include <stdint.h>
#include <stddef.h>

#include "mq.h"

/* A fresh data directory under /tmp; removed by tu_rmdir. */
char *tu_mkdtemp(void);
void tu_rmdir(char *dir); /* also frees dir */

/*
 * tu_topic creates topic NAME in a new env with the given overrides
 * ("key=value" strings, NULL-terminated) and opens it.
 */
mq_topic *tu_topic(mq_env **env, const char *dir, const char *name,
                   const char *const *overrides);

/*
 * tu_setup makes a fresh data directory (*dir) and creates and opens topic
 * name in a new env there (*env), as tu_topic does; it returns the topic.
 * The caller hands all three back to tu_teardown.
 */
mq_topic *tu_setup(char **dir, mq_env **env, const char *name,
                   const char *const *overrides);

/* tu_teardown closes t (NULL allowed) and env, then removes and frees dir. */
void tu_teardown(char *dir, mq_env *env, mq_topic *t);

/*
 * tu_append appends count records "v<i>" (i from first) with timestamps
 * ts + i (or -1 when ts < 0) to partition p as one batch; returns the base
 * offset.
 */
int64_t tu_append(mq_topic *t, int32_t p, int first, int count, int64_t ts);

/* tu_try_append is tu_append with mq_append's flags, returning what
 * mq_append returns (the base offset in *base, which may be NULL). */
int tu_try_append(mq_topic *t, int32_t p, int first, int count, int64_t ts,
                  int flags, int64_t *base);

/*
 * tu_read_all reads partition p from offset from to the end; returns the
 * number of records, checks offsets are strictly increasing, and stores
 * the values' numbers (parsed from "v<i>") in nums if not NULL.
 */
int tu_read_all(mq_topic *t, int32_t p, int64_t from, int *nums, int max);

/* tu_assert_seq asserts that partition p holds exactly the records
 * "v0" to "v<n-1>", in order. */
void tu_assert_seq(mq_topic *t, int32_t p, int n);

/* Path helpers. */
void tu_seg(char *buf, size_t len, const char *dir, const char *topic,
            int32_t p, int64_t base, const char *ext);
long tu_file_size(const char *path);
void tu_copy_file(const char *from, const char *to);

/* Codec helpers, shared by test_codec.c and test_decode.c. */

/* tu_all_bytes holds the bytes 0 to 255 once tu_codec_setup has run. */
extern uint8_t tu_all_bytes[256];

/* tu_sample: six records with null, empty and binary keys, values and
 * headers (some point into tu_all_bytes); static, nothing to free. */
extern const mq_record tu_sample[6];

/* tu_codec_setup is a cmocka group setup that fills tu_all_bytes. */
int tu_codec_setup(void **state);

/* tu_encode encodes the n records with the given compression and timestamp
 * type, checks the header (parsed into *info) and CRC, and returns the
 * batch; the caller frees it with mq_batch_free. */
mq_batch *tu_encode(const mq_record *recs, size_t n, int compression,
                    int ts_type, int64_t append_time, mq_batch_info *info);

/* tu_decode_check decodes the batch in buf (borrowed) and asserts that it
 * holds exactly recs, at offsets from base_offset. */
void tu_decode_check(const uint8_t *buf, size_t len, const mq_record *recs,
                     size_t n, int64_t base_offset);

/* Repair helpers, shared by test_repair.c and test_repair_index.c. */

/* TU_FX_NREC is how many records tu_fx_open writes: 60 batches of 2. */
#define TU_FX_NREC 120

/* tu_fx_config: about 12 two-record batches per segment, an index entry
 * every ~2 (NULL-terminated overrides; static, nothing to free). */
extern const char *const tu_fx_config[];

/* tu_repair_log: the actions a repair reported, copied. */
struct tu_repair_log {
	int n;
	mq_repair_action a[16];
	char file[16][64], aside[16][64], why[16][160];
};

/* tu_repair repairs partition 0 of t with flags, copying the actions into
 * *l (cleared first); asserts success and returns the number of actions. */
int tu_repair(mq_topic *t, int flags, struct tu_repair_log *l);

/* tu_fx: one test's world: topic r in a fresh directory, and its
 * segments. */
struct tu_fx {
	char *dir;
	mq_env *env;
	mq_topic *t;
	mq_segment_info *s;     /* partition 0's segments, at least 4 */
	size_t ns;
};

/* tu_fx_segments lists partition 0's segments in f->s; tu_fx_close frees
 * them. */
void tu_fx_segments(struct tu_fx *f);

/* tu_fx_open makes topic r (tu_fx_config) in a fresh directory with
 * TU_FX_NREC records in 2-record batches, synced, and lists its segments;
 * tu_fx_close frees it all. */
void tu_fx_open(struct tu_fx *f);

/* tu_fx_close frees the segments, closes the topic and env, and removes
 * and frees the directory. */
void tu_fx_close(struct tu_fx *f);

/* tu_flip xors the byte at pos of the file path with 0x5a, in place. */
void tu_flip(const char *path, uint64_t pos);

/* tu_slurp reads up to 1 MiB of a file into a buffer the caller frees
 * (NULL if the file is missing); *len its size. */
char *tu_slurp(const char *path, size_t *len);

/* tu_expect_file asserts that path holds exactly the len bytes at want. */
void tu_expect_file(const char *path, const void *want, size_t len);

/* tu_expect_records asserts that partition 0 holds exactly records
 * 0..TU_FX_NREC-1 except [lo, hi), plus extra records "v<TU_FX_NREC>"...
 * at the end. */
void tu_expect_records(mq_topic *t, int lo, int hi, int extra);

/* tu_expect_verified asserts that partition 0 verifies clean. */
void tu_expect_verified(mq_topic *t);

#endif
