/*
 * testutil.h - shared helpers for libmq unit tests: temporary data
 * directories, small append/read wrappers, and sample records with an
 * encode/decode check for the codec tests.
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

#endif
