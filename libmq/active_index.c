/*
 * active_index.c - whether the .index and .timeindex a writer finds when
 * it loads the active segment can be trusted: each entry held against the
 * .log by Kafka's index rule (see active.c), so that the load scans the
 * .log only from the last trusted .index entry on.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "active.h"
#include "active_int.h"
#include "internal.h"
#include "segment.h"

/*
 * Batch headers read to check the entries of a large .index: every entry
 * of an index up to CHECK_ALL entries, else the last CHECK_TAIL entries,
 * the entries after the last .timeindex entry's and about CHECK_SAMPLE
 * evenly spread ones.  At a microsecond or two per pread(2) this keeps
 * loading a 1 GiB segment (up to 262144 entries) near a millisecond; damage
 * in the entries not read is for readers to ignore and mq-repair to fix.
 */
#define CHECK_ALL 1024
#define CHECK_TAIL 512
#define CHECK_SAMPLE 256

/*
 * check_entries holds the sane entries ie[0..ni) and te[0..nt) against the
 * log, by Kafka's rule (see the top of active.c): every .index entry
 * names a batch header and an offset in that batch; each .timeindex entry
 * belongs to the first .index entry at or above its offset, at most one
 * per .index entry, and the batch holding its offset has its timestamp;
 * the batch of an .index entry without a .timeindex entry is no newer
 * than the last .timeindex entry before it.  The order rules are checked
 * for every entry, the ones that need the log for the entries chosen as
 * CHECK_ALL says, at one pread(2) of a batch header per .index entry and a
 * few more when timestamps go back.  Returns 0 when an entry is wrong.
 * Else returns 1 with how many leading entries to keep: *keep_t drops
 * .timeindex entries past the last .index entry, and when .timeindex
 * entries are missing at the end (a cut file), *keep_i ends the .index at
 * the entry of the last .timeindex entry, so that a scan from there writes
 * the missing entries of both again.
 */
static int check_entries(const mq_segstate *s, const mq_idx *ie, size_t ni,
                         const mq_tidx *te, size_t nt, uint64_t log_size,
                         size_t *keep_i, size_t *keep_t)
{
	size_t m = nt, k = 0, keep = ni;
	while (m > 0 && (ni == 0 || te[m - 1].offset > ie[ni - 1].offset))
		m--;
	/* The .index entry the last .timeindex entry came with. */
	size_t jl = m ? (size_t)(mq_index_floor(ie, ni, te[m - 1].offset - 1) + 1)
	              : 0;
	size_t stride = ni / CHECK_SAMPLE + 1;
	int64_t last_ts = -1;
	size_t last_j = 0; /* entries up to the last .timeindex entry's */
	for (size_t j = 0; j < ni; j++) {
		mq_batch_info h;
		int read = ni <= CHECK_ALL || j + CHECK_TAIL >= ni ||
		           j % stride == 0 || (j >= jl && j - jl <= 8);
		if (read &&
		    !mq_index_entry_ok(s->log_fd, s->base, &ie[j], log_size, &h))
			return 0;
		if (k < m && te[k].offset <= ie[j].offset) {
			/* te[k] was written with ie[j]. */
			if (k + 1 < m && te[k + 1].offset <= ie[j].offset)
				return 0;
			if (!read)
				;
			else if (te[k].offset >= h.base_offset) {
				if (h.max_timestamp != te[k].timestamp)
					return 0;
			} else if (h.max_timestamp > te[k].timestamp ||
			           !mq_timeindex_entry_ok(s->log_fd, s->base, ie, j,
			                                  &te[k], log_size)) {
				return 0;
			}
			last_ts = te[k].timestamp;
			last_j = j + 1;
			k++;
		} else if (read && h.max_timestamp > last_ts) {
			/* A .timeindex entry should have come with ie[j]. */
			if (k < m)
				return 0; /* lost in the middle */
			keep = last_j;   /* lost at the end: write them again */
			break;
		}
	}
	*keep_i = keep;
	*keep_t = m;
	return 1;
}

int mq_segstate_trusted_start(mq_segstate *s, const char *dir,
                              uint64_t log_size, uint64_t *start,
                              int64_t *expect)
{
	char path[PATH_MAX];
	mq_idx *ie = NULL;
	mq_tidx *te = NULL;
	size_t ni = 0, nt = 0;
	struct stat si, st;
	int ok = 0;
	if (fstat(s->idx_fd, &si) < 0 || fstat(s->tidx_fd, &st) < 0)
		return 0;
	if (mq_seg_path(path, sizeof path, dir, s->base, ".index") < 0 ||
	    mq_index_load(path, s->base, &ie, &ni) < 0)
		goto out;
	if (mq_seg_path(path, sizeof path, dir, s->base, ".timeindex") < 0 ||
	    mq_timeindex_load(path, s->base, &te, &nt) < 0)
		goto out;
	if ((uint64_t)si.st_size != ni * MQ_INDEX_ENTRY ||
	    (uint64_t)st.st_size != nt * MQ_TIMEINDEX_ENTRY)
		goto out;
	if (mq_index_sane(ie, ni, log_size) != ni || mq_timeindex_sane(te, nt) != nt)
		goto out;
	if (ni && ie[0].position == 0)
		goto out; /* Kafka's rule never indexes the first batch */
	if (nt && te[0].offset < s->base)
		goto out;
	if (!check_entries(s, ie, ni, te, nt, log_size, &ni, &nt))
		goto out;
	*start = ni ? ie[ni - 1].position : 0;
	*expect = INT64_MIN;
	if (ni && !s->allow_gaps) {
		/* Offsets are contiguous and the entry names the batch's
		 * lastOffset, which (with lastOffsetDelta, under the CRC)
		 * vouches for the baseOffset the scan starts from. */
		mq_batch_info h;
		if (!mq_batch_header_at(s->log_fd, *start, log_size, &h) ||
		    h.last_offset != ie[ni - 1].offset)
			goto out;
		*expect = h.base_offset;
	}
	s->idx_size = ni * MQ_INDEX_ENTRY;
	s->tidx_size = nt * MQ_TIMEINDEX_ENTRY;
	if (nt) {
		s->max_ts = s->last_tidx_ts = te[nt - 1].timestamp;
		s->max_ts_offset = te[nt - 1].offset;
	}
	ok = 1;
out:
	free(ie);
	free(te);
	return ok;
}
