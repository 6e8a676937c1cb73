/*
 * repair_check.c - checking an .index or .timeindex entry by entry against
 * the valid batches of its .log, for mq_repair_partition.
 */
#include <stdio.h>

#include "repair.h"
#include "segment.h"
#include "varint.h"

/* batch_at returns the batch starting at position pos, or NULL. */
static const struct mq_bref *batch_at(const struct mq_bref *b, size_t nb,
                                   uint64_t pos)
{
	size_t lo = 0, hi = nb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].position < pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nb && b[lo].position == pos ? &b[lo] : NULL;
}

/* holding returns the batch that holds offset, or NULL (a gap, or past
 * the last batch). */
static const struct mq_bref *holding(const struct mq_bref *b, size_t nb,
                                     int64_t offset)
{
	size_t lo = 0, hi = nb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].last_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nb && b[lo].base_offset <= offset ? &b[lo] : NULL;
}

/* max_up_to returns the largest timestamp of batches ending <= offset. */
static int64_t max_up_to(const struct mq_bref *b, size_t nb, int64_t offset)
{
	size_t lo = 0, hi = nb;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[mid].last_offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? b[lo - 1].max_so_far : -1;
}

void mq_index_check(const uint8_t *d, size_t len, size_t entry,
                          int64_t base, const struct mq_bref *b, size_t nb,
                          char *why, size_t whylen)
{
	why[0] = '\0';
	if (len % entry) {
		snprintf(why, whylen, "size %zu is not a multiple of %zu", len, entry);
		return;
	}
	int64_t prev_off = INT64_MIN, prev_ts = INT64_MIN;
	uint64_t prev_pos = 0;
	for (size_t i = 0; i < len / entry; i++) {
		const uint8_t *e = d + i * entry;
		int64_t off;
		if (entry == MQ_INDEX_ENTRY) {
			uint64_t pos = mq_be32(e + 4);
			const struct mq_bref *at;
			if (__builtin_add_overflow(base, (int64_t)mq_be32(e), &off) ||
			    (i > 0 && (off <= prev_off || pos <= prev_pos)))
				snprintf(why, whylen, "entry %zu is out of order", i);
			else if (!(at = batch_at(b, nb, pos)))
				snprintf(why, whylen, "entry %zu points where no batch "
				         "starts", i);
			else if (off < at->base_offset || off > at->last_offset)
				snprintf(why, whylen, "entry %zu names an offset its batch "
				         "does not hold", i);
			prev_pos = pos;
		} else {
			const struct mq_bref *at;
			int64_t ts = (int64_t)mq_be64(e);
			if (__builtin_add_overflow(base, (int64_t)mq_be32(e + 8), &off) ||
			    (i > 0 && (off < prev_off || ts < prev_ts)))
				snprintf(why, whylen, "entry %zu is out of order", i);
			else if (nb == 0 || off > b[nb - 1].last_offset)
				snprintf(why, whylen, "entry %zu names an offset past the "
				         "log", i);
			else if (ts < max_up_to(b, nb, off))
				snprintf(why, whylen, "entry %zu has a timestamp below its "
				         "records'", i);
			else if (!(at = holding(b, nb, off)))
				snprintf(why, whylen, "entry %zu names an offset no batch "
				         "holds", i);
			else if (at->max_ts != ts)
				snprintf(why, whylen, "entry %zu has a timestamp that is "
				         "not the maxTimestamp of the batch holding its "
				         "offset", i);
			prev_ts = ts;
		}
		if (why[0])
			return;
		prev_off = off;
	}
}
