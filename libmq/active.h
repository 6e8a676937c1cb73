/*
 * active.h - the writer's view of the active segment: loading it (with
 * tail recovery and index rebuilding), catching up with other writers,
 * appending a batch and sealing it at a roll.  Every function here must be
 * called with the partition lock held.
 */
#ifndef MQ_ACTIVE_H
#define MQ_ACTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

typedef struct mq_segstate {
	int64_t base;              /* base offset, from the file name */
	uint64_t ino;              /* inode of the .log file */
	int log_fd, idx_fd, tidx_fd;
	uint64_t size;             /* end of the last valid batch */
	int64_t next_offset;       /* offset the next record gets */
	uint64_t idx_size, tidx_size;   /* append positions in the indexes */
	uint64_t bytes_since_index;     /* Kafka's bytesSinceLastIndexEntry */
	int64_t max_ts, max_ts_offset;  /* largest maxTimestamp and its batch */
	int64_t last_tidx_ts;      /* timestamp of the last .timeindex entry */
	int64_t roll_ts;           /* maxTimestamp of the first batch, or -1 */
	int32_t index_interval;    /* index.interval.bytes */
	int allow_gaps;            /* offsets may skip (compacted topics) */
} mq_segstate;

/*
 * mq_segstate_load opens segment BASE in DIR (creating the .log when
 * create is set; the index files are always created when missing) and
 * establishes its state.  When the indexes are missing or inconsistent they
 * are rebuilt from the .log.  A torn tail (an incomplete or invalid batch
 * after which no valid batch follows) is truncated and rebuilt around, and
 * a sentence saying what was dropped is written to why (else why[0] = 0).
 * A bad batch that valid batches follow is corruption in the middle of the
 * segment: MQ_ECORRUPT, nothing is truncated.  s->index_interval and
 * s->allow_gaps must be set by the caller.  On failure every descriptor is closed.
 */
int mq_segstate_load(mq_segstate *s, const char *dir, int64_t base,
                     int create, char *why, size_t whylen);

/*
 * mq_segstate_catch_up extends the state over batches other writers added
 * since, when the .log is now disk_size bytes.  Returns 0 when done, 1 when
 * the state cannot be extended (the file shrank, or a bad batch or odd
 * index was found) and the caller must reload with mq_segstate_load, or a
 * negative MQ_E* code.
 */
int mq_segstate_catch_up(mq_segstate *s, const char *dir, uint64_t disk_size,
                         char *why, size_t whylen);

/*
 * mq_segstate_append writes one encoded batch (baseOffset already set to
 * s->next_offset) at the end of the segment and adds index entries per
 * index.interval.bytes.  If the .log write fails the file is cut back so
 * no partial batch stays, and MQ_EIO is returned with errno set.  A failed
 * index write is not an error: the index is cut back and stays sparse.
 */
int mq_segstate_append(mq_segstate *s, const uint8_t *batch, size_t len);

/*
 * mq_segstate_seal appends the final .timeindex entry (the segment's
 * largest timestamp) before a roll, as Kafka does.  Failure is not fatal
 * for the data: it returns MQ_EIO and the caller may go on.
 */
int mq_segstate_seal(mq_segstate *s);

/* mq_segstate_close closes the descriptors (no sync).  Idempotent. */
void mq_segstate_close(mq_segstate *s);

/*
 * mq_valid_batch_follows says whether a complete batch with a good CRC
 * starts anywhere after position bad of the .log open as fd, whose size
 * is size: the writer's rule that tells corruption in the middle of a
 * segment from a torn tail (none follows).  More than 64 MiB after bad,
 * and a file that cannot be read or memory that cannot be had, count as
 * "one follows", so that nothing is ever truncated in doubt.  Needs no
 * lock.
 */
int mq_valid_batch_follows(int fd, uint64_t bad, uint64_t size);

/* What mq_segment_rescan found in one .log (see there). */
typedef struct mq_rescan {
	uint64_t end;              /* where the valid batches end */
	int64_t next_offset;       /* the offset after them (base if none) */
	const char *bad_why;       /* the problem at end; NULL: clean end */
	int incomplete;            /* the bad batch runs past the file's end */
	int follows;               /* a valid batch starts after the bad one */
	mq_buf idx, tidx;          /* the rebuilt indexes; mq_buf_free both */
} mq_rescan;

/*
 * mq_segment_rescan scans the .log open as log_fd (segment base) from
 * position 0 with the checks of the writer's recovery (header, CRC,
 * offset order; gaps allowed only with allow_gaps) and builds in out->idx
 * and out->tidx the .index and .timeindex the writer's rule gives for the
 * valid batches before the first bad one, plus the final .timeindex entry
 * a roll adds when seal is set (for closed segments).  Needs no lock and
 * writes nothing.  Returns MQ_OK, or MQ_EIO / MQ_ENOMEM with nothing to
 * free.
 */
int mq_segment_rescan(int log_fd, int64_t base, int32_t interval,
                      int allow_gaps, int seal, mq_rescan *out);

#endif
