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

#endif
