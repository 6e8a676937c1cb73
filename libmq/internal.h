/*
 * internal.h - structures shared between libmq's modules.  Not installed.
 */
#ifndef MQ_INTERNAL_H
#define MQ_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include "mq.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Where mq keeps what is not Kafka's: DIR/.mq/topics/NAME.conf. */
#define MQ_META_DIR ".mq"
#define MQ_TOPICS_DIR ".mq/topics"

struct mq_env {
	char *path;          /* as given to mq_env_open */
	mq_config defaults;  /* Kafka defaults overridden by DIR/mq.conf */
};

struct mq_part;              /* per-partition writer state, in log.c */

struct mq_topic {
	mq_env *env;
	char *name;
	mq_config cfg;
	int32_t nparts;
	struct mq_part **parts;  /* nparts slots, created on first append */
	uint64_t use_clock;      /* ticks per append, for closing idle parts */
	int32_t held;            /* partitions whose lock is kept (MQ_HOLD) */
	int64_t hold_at;         /* when the first of them was taken */
	int64_t hold_ns;         /* how long they are kept (mq_set_hold_ms) */
};

/* Frees a partition's writer state (log.c).  NULL is allowed. */
void mq_part_free(struct mq_part *part);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t mq_now_ms(void);

/* Nanoseconds of CLOCK_MONOTONIC, for measuring how long something took. */
int64_t mq_mono_ns(void);

/*
 * mq_write_all writes the len bytes at buf to fd (mq_pwrite_all: at
 * position pos), going on after short writes and EINTR, and returns 0; on
 * failure it returns -1 with errno set, some of the bytes perhaps written.
 */
int mq_write_all(int fd, const void *buf, size_t len);
int mq_pwrite_all(int fd, const void *buf, size_t len, uint64_t pos);

/*
 * mq_fsync_dir fsyncs the directory at path so that entries created or
 * renamed in it are durable.  MQ_EIO on failure.
 */
int mq_fsync_dir(const char *path);

/*
 * mq_write_file_atomic writes len bytes to path through a temporary file
 * in the same directory (.mq-tmp-XXXXXX), fsync,
 * rename and an fsync of the directory, so that readers see the old or the
 * new content and never a mix.  MQ_EIO on failure (the temp file is
 * removed).
 */
int mq_write_file_atomic(const char *path, const void *data, size_t len);

/*
 * mq_name_check returns MQ_OK for a valid topic or group name, else
 * MQ_EBADNAME with the reason in mq_errmsg(): "invalid WHAT name 'x': ...".
 */
int mq_name_check(const char *name, const char *what);

/* Config file I/O (config.c), INI parsed with inih. */
int mq_config_load(mq_config *cfg, const char *path);  /* MQ_ECONFIG/MQ_EIO */
/* Renders cfg as INI text into a malloc'ed string; NULL on ENOMEM. */
char *mq_config_format(const mq_config *cfg);

#endif
