/*
 * segment.h - segment files of a partition directory: naming, listing,
 * a buffered batch scanner, and the sparse .index / .timeindex files.
 */
#ifndef MQ_SEGMENT_H
#define MQ_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "mq.h"

#define MQ_INDEX_ENTRY 8      /* relative offset u32, position u32 */
#define MQ_TIMEINDEX_ENTRY 12 /* timestamp i64, relative offset u32 */

/*
 * mq_seg_path writes DIR/<20-digit base>EXT (EXT is ".log", ".index" or
 * ".timeindex") to buf.  Returns MQ_EINVAL if it does not fit.
 */
int mq_seg_path(char *buf, size_t len, const char *dir, int64_t base,
                const char *ext);

/*
 * mq_seg_list returns the base offsets of the segments in DIR (the files
 * named by 20 decimal digits followed by ".log"), ascending, as a malloc'ed
 * array the caller frees.  *inos, if not NULL, receives a parallel array of
 * the .log files' inode numbers.  An empty directory gives *n == 0 and NULL
 * arrays.  MQ_EIO if DIR cannot be read, MQ_EINVAL if it is a symbolic
 * link (not followed).
 */
int mq_seg_list(const char *dir, int64_t **bases, uint64_t **inos, size_t *n);

/*
 * A buffered, forward-only reader of batches in one .log file.  It reads
 * the file in large chunks with pread(2) and hands out pointers to whole
 * batches inside its buffer, so scanning costs one system call per chunk,
 * not per batch.
 */
typedef struct mq_scan {
	int fd;
	uint64_t pos;        /* file position of the next batch */
	mq_buf buf;          /* bytes [buf_start, buf_start + buf.len) */
	uint64_t buf_start;
	uint64_t eof_at;     /* file position where the last read hit EOF */
} mq_scan;

/* mq_scan_init starts scanning fd at position pos.  It cannot fail. */
void mq_scan_init(mq_scan *s, int fd, uint64_t pos);

/* mq_scan_free frees the buffer (the descriptor is the caller's). */
void mq_scan_free(mq_scan *s);

/*
 * mq_scan_next makes the batch at s->pos available: on 1, *batch points to
 * its info->length + 12 bytes and *info holds its header (position set);
 * s->pos is NOT advanced (call mq_scan_skip).  Returns 0 if the file ends
 * before the batch does (nothing there yet, or a torn tail), MQ_ECORRUPT if
 * the header is not a v2 batch header, MQ_EIO on read errors.  The CRC is
 * not checked here.
 */
int mq_scan_next(mq_scan *s, const uint8_t **batch, mq_batch_info *info);

/* mq_scan_skip advances past the batch last returned by mq_scan_next. */
void mq_scan_skip(mq_scan *s, const mq_batch_info *info);

/*
 * mq_scan_invalidate drops the buffered bytes so the next mq_scan_next
 * reads the file again (used to re-check a batch that failed its CRC,
 * in case a recovering writer replaced the bytes while they were read).
 */
void mq_scan_invalidate(mq_scan *s);

/* mq_scan_seek moves the scanner to pos, keeping buffered bytes if useful. */
void mq_scan_seek(mq_scan *s, uint64_t pos);

/* One .index entry, made absolute. */
typedef struct mq_idx {
	int64_t offset;
	uint64_t position;
} mq_idx;

/* One .timeindex entry, made absolute. */
typedef struct mq_tidx {
	int64_t timestamp;
	int64_t offset;
} mq_tidx;

/*
 * mq_index_load reads a whole .index (or, with mq_timeindex_load,
 * .timeindex) file at path into a malloc'ed array of absolute entries.  A
 * missing file gives zero entries.  A trailing partial entry is ignored.
 * Kafka preallocates index files with zeros, so trailing all-zero entries
 * after the first are ignored too.  Returns MQ_EIO on read errors.
 */
int mq_index_load(const char *path, int64_t base, mq_idx **out, size_t *n);
int mq_timeindex_load(const char *path, int64_t base, mq_tidx **out,
                      size_t *n);

/*
 * mq_index_sane returns the number of leading entries that are strictly
 * increasing in offset and position and whose position is below log_size.
 * mq_timeindex_sane likewise for entries non-decreasing in timestamp and
 * offset.  Entries past that count must not be trusted.
 */
size_t mq_index_sane(const mq_idx *e, size_t n, uint64_t log_size);
size_t mq_timeindex_sane(const mq_tidx *e, size_t n);

/*
 * mq_index_floor returns the index of the last entry with offset <= target,
 * or -1 if there is none (binary search).  mq_timeindex_below returns the
 * index of the last entry with timestamp < ts, or -1.
 */
ssize_t mq_index_floor(const mq_idx *e, size_t n, int64_t target);
ssize_t mq_timeindex_below(const mq_tidx *e, size_t n, int64_t ts);

/* Encoders of one entry, for the writer. */
void mq_index_entry(uint8_t out[MQ_INDEX_ENTRY], int64_t base, int64_t offset,
                    uint64_t position);
void mq_timeindex_entry(uint8_t out[MQ_TIMEINDEX_ENTRY], int64_t base,
                        int64_t timestamp, int64_t offset);

/*
 * mq_segment_start_position returns the file position from which a scan
 * for offset target may start in segment base of DIR: the position of the
 * last trustworthy index entry at or below target, else 0.  It never fails:
 * an unreadable or damaged index only makes the scan start earlier.  It
 * opens the .log to check the entry (see mq_segment_start_fd).
 */
uint64_t mq_segment_start_position(const char *dir, int64_t base,
                                   int64_t target, uint64_t log_size);

/*
 * Checking index entries against the log (log_size bytes of fd), so that
 * a damaged entry is never used: see format-spec/segments.md.
 *
 * mq_batch_header_at returns 1 and *info (position set) when a v2 batch
 * header starts at pos and the batch it describes ends within log_size,
 * else 0 (also on read errors).  The CRC is not checked.
 *
 * mq_index_entry_ok returns 1 when the batch at e->position has offsets,
 * all at or above base, that include e->offset, else 0.
 *
 * mq_index_start returns the position of the last entry of the sane
 * entries e[0..n) at or below target that mq_index_entry_ok accepts,
 * trying a few entries back before giving up with 0.
 *
 * mq_timeindex_entry_ok returns 1 when the batch that holds te->offset,
 * found from the .index entries ie[0..ni) (sane) and a short walk over
 * batch headers, has maxTimestamp te->timestamp (Kafka records the
 * largest timestamp so far and the batch that holds it), else 0.
 *
 * mq_segment_start_fd is mq_segment_start_position with the .log already
 * open as fd.
 */
int mq_batch_header_at(int fd, uint64_t pos, uint64_t log_size,
                       mq_batch_info *info);
int mq_index_entry_ok(int fd, int64_t base, const mq_idx *e,
                      uint64_t log_size, mq_batch_info *info);
uint64_t mq_index_start(int fd, int64_t base, const mq_idx *e, size_t n,
                        int64_t target, uint64_t log_size);
int mq_timeindex_entry_ok(int fd, int64_t base, const mq_idx *ie, size_t ni,
                          const mq_tidx *te, uint64_t log_size);
uint64_t mq_segment_start_fd(const char *dir, int64_t base, int fd,
                             int64_t target, uint64_t log_size);

#endif
