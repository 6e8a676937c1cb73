/*
 * retain.h - what retention shares with the readers and the writer: the
 * persisted log start offset of a partition, the largest timestamp of a
 * segment, and rolling the active segment while the lock is already held.
 */
#ifndef MQ_RETAIN_H
#define MQ_RETAIN_H

#include <stdint.h>

#include "mq.h"

/* DIR/mq.log-start: the log start offset, decimal and a newline. */
#define MQ_LOG_START_FILE "mq.log-start"

/*
 * mq_log_start_load reads DIR/mq.log-start into *offset, or sets it to -1
 * when the file does not exist.  MQ_ECORRUPT (naming the file) if it does
 * not hold a decimal offset and a newline, MQ_EIO if it cannot be read,
 * MQ_EINVAL if it is a symbolic link (not followed).
 */
int mq_log_start_load(const char *dir, int64_t *offset);

/*
 * mq_log_start_store replaces DIR/mq.log-start with offset, atomically and
 * durably (write to a temporary file, fsync, rename, fsync the directory).
 * The caller holds the partition lock.  MQ_EIO on failure; the old file
 * is left as it was then.
 */
int mq_log_start_store(const char *dir, int64_t offset);

/*
 * mq_log_start_effective computes a partition's log start offset from the
 * base offset of its first segment (first_base, -1 if it has none) and
 * DIR/mq.log-start: the larger of the two.  Fails like mq_log_start_load.
 */
int mq_log_start_effective(const char *dir, int64_t first_base, int64_t *out);

/*
 * mq_segment_scan_tail reads the end of segment BASE in DIR: *max_ts gets
 * the segment's largest record timestamp (-1 if it holds no batch) and
 * *next the offset after its last batch (BASE if it holds none).  The
 * .timeindex is trusted for the part of the segment the .index covers
 * (every entry sane, as Kafka and mq write them: an index entry always
 * comes with a timeindex entry if the largest timestamp grew); the batches
 * after the last index entry are scanned.  Without a usable timeindex the
 * whole segment is scanned.  A batch that fails its CRC ends the scan (it
 * is a tail being written or torn).  MQ_EIO if the .log cannot be read.
 */
int mq_segment_scan_tail(const char *dir, int64_t base, int64_t *max_ts,
                         int64_t *next);

/*
 * mq_roll_locked rolls partition P's active segment (log.c) when it holds
 * at least one byte: the segment is sealed (its final .timeindex entry)
 * and a new, empty segment is created at the log end offset.  The caller
 * must already hold the partition lock.  *rolled says whether it rolled.
 * On failure nothing is rolled, the error names topic and partition.
 */
int mq_roll_locked(mq_topic *t, int32_t p, int *rolled);

#endif
