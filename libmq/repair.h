/*
 * repair.h - the internals of mq_repair_partition that verification and
 * its own modules share (the interface is in mq.h).
 */
#ifndef MQ_REPAIR_H
#define MQ_REPAIR_H

#include <stddef.h>
#include <stdint.h>

/* The suffix of a file holding bytes set aside from SEGMENT.log. */
#define MQ_DAMAGED_SUFFIX ".damaged-"

/*
 * mq_repair_gap_noted returns 1 if the offsets missing before segment
 * BASE of partition directory DIR are a gap left by mq_repair_partition:
 * the segment before BASE is exactly as long as the position in the name
 * of a regular file SEGMENT.log.damaged-POS beside it, where the repair
 * cut it.  Returns 0 otherwise, and on any error.
 */
int mq_repair_gap_noted(const char *dir, int64_t base);

/* One valid batch of a segment, to check index entries against. */
struct mq_bref {
	uint64_t position;
	int64_t base_offset, last_offset;
	int64_t max_so_far;      /* largest maxTimestamp up to this batch */
	int64_t max_ts;          /* this batch's maxTimestamp */
};

/*
 * mq_index_check says in why (whylen bytes) what is wrong with the len
 * bytes d of an .index (entry 8) or .timeindex (entry 12) of segment base,
 * given its nb valid batches b in order; why[0] is 0 when every entry is
 * consistent with them, by the rules of mq-inspect --verify and the
 * readers (a .timeindex entry is valid only if the batch holding its
 * offset has exactly its timestamp as maxTimestamp).  It cannot fail.
 */
void mq_index_check(const uint8_t *d, size_t len, size_t entry, int64_t base,
                    const struct mq_bref *b, size_t nb, char *why,
                    size_t whylen);

#endif
