/*
 * readahead.h - reading a large regular file ahead, for mq-produce.
 *
 * The worker thread (worker.h) read(2)s the file sequentially, from its
 * current offset, into a small ring of buffers while the caller frames the
 * piece before: the kernel's copy into user memory overlaps the caller's
 * work instead of adding to it.  Each piece has READAHEAD_ROOM writable
 * bytes in front of it, so the caller can put the unfinished end of the
 * previous piece there and see the two as one.
 */
#ifndef MQ_READAHEAD_H
#define MQ_READAHEAD_H

#include <sys/types.h>

#include "worker.h"

/* Bytes of a piece: one read(2). */
#define READAHEAD_PIECE ((size_t)1 << 20)
/* Writable bytes in front of every piece. */
#define READAHEAD_ROOM ((size_t)64 << 10)
/* Files smaller than this are read directly: a thread would not pay. */
#define READAHEAD_MIN ((off_t)8 << 20)

struct readahead;

/*
 * readahead_start has worker wk read fd ahead.  Returns NULL if that cannot
 * be done (wk NULL, no memory, wk serving enough users); the caller then
 * reads fd itself, nothing having been read.
 */
struct readahead *readahead_start(int fd, struct worker *wk);

/*
 * readahead_next waits for the next piece and points *data at it.  Returns
 * its length, 0 at the end of the file, or -1 with errno set if the read
 * failed (the end, too: later calls return 0).  A piece stays valid until
 * the second readahead_next call after the one that returned it, so the
 * end of one piece can be copied in front of the next.
 */
ssize_t readahead_next(struct readahead *ra, char **data);

/* readahead_stop stops reading ahead (a read under way finishes first)
 * and frees everything.  NULL is a no-op. */
void readahead_stop(struct readahead *ra);

#endif
