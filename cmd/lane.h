/*
 * lane.h - the lanes of mq-produce's parallel path: what a thread keeps
 * to read pieces of the file and encode their records into batches of its
 * own (lane.c), and what both lanes share to take pieces and append them
 * in turn (parallel.c).  Private to those two files.
 */
#ifndef MQ_LANE_H
#define MQ_LANE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "parallel.h"

/* The batch a lane is filling for a partition. */
struct fill {
	mq_batch *b;
	size_t count;
	size_t est;             /* upper bound of its bytes, as producer.c */
	int64_t first;          /* its first record, counted in the piece */
};

/* A batch of the piece, ready to append. */
struct ready {
	mq_batch *b;
	int32_t p;              /* partition (before the round-robin move) */
	int rotated;            /* round-robin records: move p */
	int64_t first;
};

struct par;

struct lane {
	struct par *pa;
	struct fill *fill;      /* per partition */
	struct ready *ready;    /* the piece's batches, in the order made */
	size_t nready, rcap;
	mq_batch **free;        /* empty batches for reuse */
	size_t nfree, fcap;
	int mode;               /* of the batches filling: NONE, KEYED or
	                           ROTATED */
	int switches;           /* mode changes in the piece */
	int64_t records;        /* records of the piece */
	int64_t keyless;        /* round-robin records of the piece */
	off_t end;              /* where the piece's last record ends */
	int64_t now;            /* timestamp of the piece's records */
	char *buf;              /* the piece's window */
	size_t made;            /* batches made (new_batch) */
};

struct par {
	const struct par_input *pi;
	int fd;
	off_t from, size;       /* the bytes to do */
	size_t npieces;
	size_t nwhole;          /* pieces of PAR_PIECE bytes, before the
	                           last PAR_END bytes or more */
	int32_t nparts;
	size_t cap;             /* batch bytes */
	int kd;                 /* the key delimiter the scan finds (a
	                           one-byte -K), or -1 */
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* turn or stop moved, or a failure */
	size_t next;            /* the next piece to take */
	size_t turn;            /* pieces appended */
	size_t stop;            /* the first piece not done here */
	off_t end;              /* where the last appended piece ended */
	int64_t recno;
	int32_t rr;
	int rc;                 /* the first failed append, or 0 */
	int appending;          /* a lane is in its turn's appends */
	int64_t appended_at;    /* when the last turn ended (mono_ms) */
	int done;               /* the lanes are done: the watch stops */
	pthread_cond_t wcv;     /* wakes the watch early (done) */
	struct lane lane[2];
};

/* lane_init allocates ln's buffer and batch slots (ln->pa set); 0, or -1
 * if it cannot: ln then takes no piece.  lane_free frees what ln holds,
 * set up or not. */
int lane_init(struct lane *ln);
void lane_free(struct lane *ln);

/*
 * lane_encode reads the piece of the file [b0, b1) and encodes its
 * records into ln's ready list, the batches compressed; lead is 1 unless
 * the piece is the first: its first record then starts after the first
 * delimiter from b0 - 1.  0 if this path cannot take the piece.
 */
int lane_encode(struct lane *ln, off_t b0, off_t b1, int lead);

/* lane_drop empties ln's batches, appended or not, keeping them for
 * reuse. */
void lane_drop(struct lane *ln);

#endif
