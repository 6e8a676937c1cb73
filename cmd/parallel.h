/*
 * parallel.h - producing a large regular file on two threads, for
 * mq-produce.
 *
 * The file is cut into pieces of PAR_PIECE bytes (PAR_END_PIECE at its
 * end); a record belongs to the piece that holds its first byte.  The
 * caller's thread and a thread started for the file (mq-produce's worker
 * sleeps meanwhile) each take the next piece, read it, cut it into
 * records and encode them into batches of their own, and append those
 * batches once every earlier piece is appended: within a partition the
 * records keep the order of the file, as on the one-record-at-a-time
 * path.  Each thread reads only its piece and writes only its batches, so
 * the bytes stay in one CPU's cache from read(2) to write(2).  The
 * appends come back to back, so they keep each partition's lock from one
 * to the next (MQ_HOLD, but not with --sync=batch), for MQ_HOLD_MS at a
 * time; a third thread, the watch, releases them when the appends stop
 * (a read that stalls).  The pieces
 * are small for the same reason, which makes the batches smaller than
 * --batch-bytes: about the piece's size divided by the partitions its
 * records go to.  A thread that cannot have its memory takes no piece,
 * and the other does them all; with no second thread, or neither
 * thread's memory, the ordinary framing does the whole file.
 *
 * Only the common case runs here: records ending in a one-byte delimiter,
 * no --print-offsets, at most PAR_PARTS partitions (or all records to
 * one, -p), batches of at least PAR_MIN_BATCH bytes, and few switches in
 * a piece between records with a key and records without one (spread
 * round-robin).  Anything else stops this path at the start of the piece
 * where it shows: a piece with too many switches, a record too big for
 * the topic or longer than PAR_LOOK, the last record of the file without
 * a delimiter (the file may have grown since), a file that ends early (it
 * shrank) or cannot be read.  The ordinary framing goes on from there, so
 * the records, their numbers in messages and the errors are the same as
 * without this path.
 */
#ifndef MQ_PARALLEL_H
#define MQ_PARALLEL_H

#include <stdint.h>
#include <sys/types.h>

#include "producer.h"
#include "rawrec.h"

/* Bytes per piece, and how far past its end a piece's last record may
 * run.  Less than PAR_MIN times PAR_PIECE bytes are not worth the
 * threads. */
#define PAR_PIECE ((off_t)1 << 20)
#define PAR_LOOK ((off_t)1 << 20)
#define PAR_MIN 4
/* The last PAR_END bytes or more are cut into pieces of PAR_END_PIECE, so
 * that the lane that takes the last piece does not finish long after the
 * other. */
#define PAR_END ((off_t)2 << 20)
#define PAR_END_PIECE ((off_t)256 << 10)
/* Bytes per read(2), small enough to stay in the cache until encoded,
 * and per read(2) past the end of a piece (the rest of its last record). */
#define PAR_READ ((size_t)256 << 10)
#define PAR_TAIL ((size_t)4 << 10)
/* Partitions above which batches of a piece would be too small. */
#define PAR_PARTS 8
/* Smaller --batch-bytes would make too many batches per piece, each held
 * (with its compressor) until the piece's turn. */
#define PAR_MIN_BATCH ((size_t)64 << 10)

struct par_input {
	struct producer *pr;    /* batches are appended through it */
	const struct rawfmt *rf;
	char delim;             /* the record delimiter */
	int32_t partition;      /* -p, or -1: by key or round-robin */
	int64_t max_bytes;      /* max.message.bytes of the topic */
	int64_t *recno;         /* records so far, advanced */
	int32_t *next_rr;       /* round-robin partition, advanced */
};

/*
 * par_produce appends the records of file fd from its offset on, as far
 * as the parallel path goes, and leaves the offset after the last record
 * it appended (where the ordinary framing must go on).  First it flushes
 * the producer.  It does nothing and returns 0 when fd is not a regular
 * file with at least PAR_MIN times PAR_PIECE bytes past its offset, when
 * no thread can be started (after the flush), with offsets to print, with
 * more than PAR_PARTS partitions and no -p, or with batches under
 * PAR_MIN_BATCH bytes.  Returns 0, or the
 * MQ_E* code of a failed append or flush with pr->errmsg (and
 * pr->failed_recno for MQ_ETOOBIG) set as producer_flush sets them.
 */
int par_produce(const struct par_input *pi, int fd);

#endif
