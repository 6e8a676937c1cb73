/*
 * reader.h - the state of a lock-free partition reader and the helpers
 * shared by reader.c (reading records) and reader_seek.c (seeking).  Not
 * installed; the public calls are in mq.h.
 */
#ifndef MQ_READER_H
#define MQ_READER_H

#include <stdint.h>
#include <sys/stat.h>

#include "codec.h"
#include "internal.h"
#include "segment.h"

struct mq_reader {
	mq_topic *t;
	int32_t p;
	char dir[PATH_MAX];
	int64_t seg_base;     /* segment being read, -1 if none */
	int64_t last_seen;    /* last offset of the previous batch read in this
	                         segment; INT64_MIN when unknown (after a seek) */
	int fd;
	mq_scan sc;
	mq_batch_info cur;    /* batch being iterated */
	mq_rec_iter it;
	int in_batch;
	int crc_retry;
	int64_t next;         /* offset of the next record to return */
	int64_t log_start;    /* the log start offset as last read */
	int64_t ls_file;      /* mq.log-start's value, -1 if absent */
	struct stat ls_st;    /* mq.log-start as last read (st_ino 0: none) */
	uint64_t ls_buf;      /* sc.buf_start when the log start was read */
	int gaps;             /* 1: offsets may skip (compacted); 0: not seen */
	int moved;            /* a jump not yet reported by mq_reader_moved */
	int64_t moved_from, moved_to;
};

/*
 * mq_reader_open_segment makes segment base the reader's current one, its
 * scanner at position pos (last_seen is base - 1 at position 0, else
 * unknown), and closes the one it had; on failure it returns MQ_EINVAL (a
 * path too long) or MQ_EIO (errno kept: ENOENT when retention removed the
 * segment) and the reader keeps its old segment.
 */
int mq_reader_open_segment(mq_reader *r, int64_t base, uint64_t pos);

/*
 * mq_reader_close_segment closes the reader's current segment, if any, and
 * leaves it with none.  It cannot fail.
 */
void mq_reader_close_segment(mq_reader *r);

/*
 * mq_reader_fail_at records a failure of this reader with its context:
 * topic, partition, offset, segment file and position, and returns rc.
 * what names the problem found here; NULL means the cause is the message
 * a lower layer recorded.
 */
int mq_reader_fail_at(mq_reader *r, int rc, const char *what);

/*
 * mq_reader_refresh_log_start updates r->log_start from mq.log-start,
 * which it reads again only when the file was replaced since the last look
 * (one stat(2)), and from first_base, the first segment's base offset (-1:
 * unknown); it returns MQ_OK, or on failure MQ_EINVAL, MQ_EIO or what
 * mq_log_start_load returns, with r->log_start unchanged.  The log start
 * offset never moves back.
 */
int mq_reader_refresh_log_start(mq_reader *r, int64_t first_base);

/*
 * mq_reader_gaps_ok says whether offsets may skip between batches (see
 * mq_gaps_allowed), remembering a yes.  It cannot fail.
 */
int mq_reader_gaps_ok(mq_reader *r);

/*
 * mq_reader_offsets_in_sequence checks the batch just scanned against its
 * segment and its predecessor, and returns 1 when its offsets fit, 0 when
 * they do not (corruption); it cannot fail.  baseOffset lies outside the
 * CRC, so this is what catches a damaged one.  Offsets must rise; in a
 * partition that is not compacted (see mq_gaps_allowed) they must also be
 * contiguous.
 */
int mq_reader_offsets_in_sequence(mq_reader *r);

#endif
