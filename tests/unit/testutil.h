/*
 * testutil.h - shared helpers for libmq unit tests: temporary data
 * directories and small append/read wrappers.
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

#endif
