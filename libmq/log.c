/*
 * log.c - the partition writer: appending batches under the partition
 * lock, rolling segments, keeping the sparse indexes, recovering a torn
 * tail, and flushing per the topic's flush policy.
 *
 * A writer caches the state of the active segment (size, next offset,
 * index bookkeeping) between appends.  Other processes may append, roll or
 * recover between two of our appends, so every append first re-checks the
 * tail under the lock (see sync_tail) and catches up with what others
 * wrote; the cache is only a shortcut, never trusted blindly.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "compact.h"
#include "error.h"
#include "internal.h"
#include "lock.h"
#include "active.h"
#include "retain.h"
#include "segment.h"

struct mq_part {
	char dir[PATH_MAX];
	const char *topic;
	const mq_config *cfg;
	int32_t id;
	int loaded;
	mq_segstate seg;          /* the active segment, see active.h */
	uint64_t last_use;        /* t->use_clock at the last append */
	int dirty, dir_dirty;     /* data written since the last sync */
	int64_t unflushed;        /* records since the last flush */
	int64_t last_flush_ms;
	char report[512];
	int has_report;
	int64_t wb_base;          /* segment of wb_from, -1: none yet */
	uint64_t wb_from;         /* MQ_WRITEBACK: not yet started from here */
	int lock_fd;              /* the lock file, open between appends */
	unsigned lock_gen;        /* fork_gen when lock_fd was opened */
	int held;                 /* MQ_HOLD: the lock is kept after appending */
	int64_t taken_at;         /* when the lock was taken (mq_mono_ns) */
};

void mq_part_free(struct mq_part *part)
{
	if (!part)
		return;
	mq_segstate_close(&part->seg);
	if (part->lock_fd >= 0)
		close(part->lock_fd);
	free(part);
}

/*
 * A forked child shares the parent's lock file descriptors, and with them
 * their locks: it counts as a new generation and opens its own.
 */
static unsigned fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void forked(void)
{
	fork_gen++;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, forked);
}

/* held_by_us says whether part's lock is kept (MQ_HOLD) by this process,
 * not inherited through fork. */
static int held_by_us(const struct mq_part *part)
{
	return part->held && part->lock_gen == fork_gen;
}

/* drop_lock releases part's lock after an append (or forgets a kept one
 * that a forked child inherited: unlocking it would unlock the parent). */
static void drop_lock(mq_topic *t, struct mq_part *part)
{
	if (part->held) {
		part->held = 0;
		t->held--;
		if (part->lock_gen != fork_gen)
			return;
	}
	mq_release(part->lock_fd);
}

/* mq_set_hold_ms: see mq.h. */
void mq_set_hold_ms(mq_topic *t, int ms)
{
	t->hold_ns = (int64_t)(ms > 0 ? ms : 0) * 1000000;
}

/* mq_release_locks: see mq.h. */
void mq_release_locks(mq_topic *t)
{
	for (int32_t p = 0; t->held > 0 && p < t->nparts; p++)
		if (t->parts[p] && t->parts[p]->held)
			drop_lock(t, t->parts[p]);
}

/* lock_part takes part's writer lock through the descriptor it keeps. */
static int lock_part(mq_topic *t, struct mq_part *part, int flags)
{
	pthread_once(&fork_once, watch_forks);
	if (part->lock_fd >= 0 && part->lock_gen != fork_gen) {
		close(part->lock_fd);
		part->lock_fd = -1;
	}
	if (part->lock_fd < 0)
		part->lock_gen = fork_gen;
	return mq_relock_partition(&part->lock_fd, part->dir, t->name, part->id,
	                           flags);
}

/*
 * burst_fresh says whether the burst of appends is younger than
 * MQ_HOLD_MS: the first of the locks t keeps, or if it keeps none the one
 * part just took, was taken less than that ago.  The locks a handle keeps
 * are released together once it is not, so that none is kept longer
 * because its partition got no more appends.
 */
static int burst_fresh(const mq_topic *t, const struct mq_part *part)
{
	int64_t since = t->held ? t->hold_at : part->taken_at;
	return mq_mono_ns() - since < t->hold_ns;
}

/*
 * take_lock takes part's lock for an append, unless this process has kept
 * it (MQ_HOLD) and so knows the partition is as it left it.  Returns 1 if
 * it took the lock (the tail must be checked), 0 if it was kept, or an
 * error.  A kept lock is used whatever its age (it was held all along):
 * the kept locks are released at the end of the first append after
 * MQ_HOLD_MS, so that writers waiting for them have the time until the
 * next appends to take them.  Nobody waits for a partition lock
 * while holding another: with locks kept, a busy one makes it release
 * them all first, so that two writers cannot each wait for the other's.
 */
static int take_lock(mq_topic *t, struct mq_part *part, int flags)
{
	if (part->held && held_by_us(part) && part->loaded)
		return 0;
	if (part->held)
		drop_lock(t, part);
	int rc = lock_part(t, part, t->held ? flags | MQ_NOWAIT : flags);
	if (rc == MQ_EBUSY && !(flags & MQ_NOWAIT)) {
		mq_release_locks(t);
		rc = lock_part(t, part, flags);
	}
	if (rc < 0)
		return rc;
	part->taken_at = mq_mono_ns();
	return 1;
}

static int get_part(mq_topic *t, int32_t p, struct mq_part **out)
{
	if (p < 0 || p >= t->nparts)
		return mq_fail(MQ_ERANGE, "topic '%s' has no partition %d (it has %d)",
		               t->name, p, t->nparts);
	if (!t->parts[p]) {
		struct mq_part *part = calloc(1, sizeof *part);
		if (!part)
			return mq_fail(MQ_ENOMEM, "topic '%s' partition %d", t->name, p);
		int rc = mq_partition_path(t, p, part->dir, sizeof part->dir);
		if (rc < 0) {
			free(part);
			return rc;
		}
		part->topic = t->name;
		part->cfg = &t->cfg;
		part->id = p;
		part->seg.log_fd = part->seg.idx_fd = part->seg.tidx_fd = -1;
		part->last_flush_ms = mq_now_ms();
		part->wb_base = -1;
		part->lock_fd = -1;
		t->parts[p] = part;
	}
	*out = t->parts[p];
	return MQ_OK;
}

/* flush_part makes everything written through part durable. */
static int flush_part(struct mq_part *part)
{
	if (part->dirty && part->seg.log_fd >= 0) {
		if (fdatasync(part->seg.log_fd) < 0)
			return mq_fail(MQ_EIO, "cannot fsync segment in '%s'", part->dir);
		part->dirty = 0;
	}
	if (part->dir_dirty) {
		int rc = mq_fsync_dir(part->dir);
		if (rc < 0)
			return rc;
		part->dir_dirty = 0;
	}
	part->unflushed = 0;
	part->last_flush_ms = mq_now_ms();
	return MQ_OK;
}

/*
 * Writers of many partitions would run out of descriptors if every
 * partition kept its active segment open: at most MAX_OPEN_PARTS stay
 * open, and the least recently used one is synced (if written) and closed
 * to make room.  Closing costs only a reload on its next append.
 */
#define MAX_OPEN_PARTS 256

/* max_open_parts leaves most of the descriptor limit to the caller. */
static int max_open_parts(void)
{
	struct rlimit rl;
	int n = MAX_OPEN_PARTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 8 < (rlim_t)n)
		n = (int)(rl.rlim_cur / 8);
	return n < 1 ? 1 : n;
}

static int make_room(mq_topic *t, struct mq_part *keep)
{
	struct mq_part *lru = NULL;
	int open = 0;
	for (int32_t i = 0; i < t->nparts; i++) {
		struct mq_part *q = t->parts[i];
		if (!q || ((!q->loaded || q->seg.log_fd < 0) && q->lock_fd < 0))
			continue;
		open++;
		if (q != keep && (!lru || q->last_use < lru->last_use))
			lru = q;
	}
	if (open < max_open_parts() || !lru)
		return MQ_OK;
	int rc = flush_part(lru);
	if (rc < 0)
		return rc;
	mq_segstate_close(&lru->seg);
	lru->loaded = 0;
	if (lru->held)
		drop_lock(t, lru); /* a forked child may share the descriptor */
	if (lru->lock_fd >= 0) {
		close(lru->lock_fd);
		lru->lock_fd = -1;
	}
	return MQ_OK;
}

/*
 * switch_segment closes the cached segment (syncing it first if we wrote
 * to it, so mq_sync keeps its promise) and loads segment base.
 */
static int switch_segment(struct mq_part *part, int64_t base, uint64_t ino,
                          int create)
{
	if (part->seg.log_fd >= 0 && part->dirty) {
		if (fdatasync(part->seg.log_fd) < 0)
			return mq_fail(MQ_EIO, "cannot fsync segment in '%s'", part->dir);
		part->dirty = 0;
	}
	mq_segstate_close(&part->seg);
	part->loaded = 0;
	part->seg.index_interval = part->cfg->index_interval_bytes;
	part->seg.allow_gaps = mq_gaps_allowed(part->cfg, part->dir);
	char why[256] = "";
	int rc = mq_segstate_load(&part->seg, part->dir, base, create, why,
	                          sizeof why);
	if (rc < 0)
		return rc;
	(void)ino;
	if (why[0]) {
		snprintf(part->report, sizeof part->report,
		         "topic '%s' partition %d: %s", part->topic, part->id, why);
		part->has_report = 1;
		part->dirty = 1;
	}
	if (create)
		part->dir_dirty = 1;
	part->loaded = 1;
	return MQ_OK;
}

/*
 * untouched says whether the active segment is as this writer left it, so
 * that the listing of sync_tail can be skipped: still there, of the same
 * size, and no segment after it.  Another writer that rolled made the
 * next segment at its next offset; one that appended changed its size;
 * retention, compaction and mq-repair unlink, replace or truncate it.
 * 0 when unsure.
 */
static int untouched(struct mq_part *part)
{
	char next[PATH_MAX];
	struct stat st;

	if (!part->loaded || fstat(part->seg.log_fd, &st) < 0 ||
	    st.st_nlink == 0 || (uint64_t)st.st_size != part->seg.size ||
	    mq_seg_path(next, sizeof next, part->dir, part->seg.next_offset,
	                ".log") < 0)
		return 0;
	return fstatat(AT_FDCWD, next, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	       errno == ENOENT;
}

/*
 * sync_tail brings the cached state up to date with the partition on disk.
 * Must be called with the partition lock held.
 */
static int sync_tail(struct mq_part *part)
{
	int64_t *bases;
	uint64_t *inos;
	size_t n;
	int rc;

	if (untouched(part))
		return MQ_OK;
	rc = mq_seg_list(part->dir, &bases, &inos, &n);
	if (rc < 0)
		return rc;
	if (n == 0) {
		/* A partition always has an active segment; make the first. */
		int64_t base = part->loaded ? part->seg.next_offset : 0;
		rc = switch_segment(part, base, 0, 1);
		goto out;
	}
	int64_t last = bases[n - 1];
	uint64_t ino = inos[n - 1];
	if (!part->loaded || part->seg.base != last || part->seg.ino != ino) {
		rc = switch_segment(part, last, ino, 0);
		goto out;
	}
	struct stat st;
	if (fstat(part->seg.log_fd, &st) < 0) {
		rc = mq_fail(MQ_EIO, "cannot stat segment in '%s'", part->dir);
		goto out;
	}
	if ((uint64_t)st.st_size != part->seg.size) {
		char why[256] = "";
		rc = mq_segstate_catch_up(&part->seg, part->dir, (uint64_t)st.st_size,
		                          why, sizeof why);
		if (rc == MQ_OK && why[0]) {
			snprintf(part->report, sizeof part->report,
			         "topic '%s' partition %d: %s", part->topic, part->id, why);
			part->has_report = 1;
			part->dirty = 1;
		}
		if (rc == 1) /* catch-up not possible: reload from the index */
			rc = switch_segment(part, last, ino, 0);
	}
out:
	free(bases);
	free(inos);
	return rc;
}

/* roll_due says whether a batch of len bytes and count records, whose
 * largest timestamp is msg_ts, must go to a new segment. */
static int roll_due(const struct mq_part *part, const mq_config *cfg,
                    size_t len, int32_t count, int64_t msg_ts)
{
	const mq_segstate *s = &part->seg;
	if (s->size == 0)
		return 0;
	if (s->size + len > (uint64_t)cfg->segment_bytes)
		return 1;
	if (s->size + len > INT32_MAX)
		return 1;
	if (s->next_offset - s->base + count > INT32_MAX)
		return 1;
	/* Kafka's rule: the incoming batch's timestamp against the first. */
	if (s->roll_ts >= 0 && msg_ts - s->roll_ts > cfg->segment_ms)
		return 1;
	return 0;
}

static int roll(struct mq_part *part)
{
	int rc = mq_segstate_seal(&part->seg);
	if (rc < 0)
		return rc;
	if (part->dirty) {
		/* Closed segments are synced once, here, with their indexes. */
		if (fdatasync(part->seg.log_fd) < 0 || fsync(part->seg.idx_fd) < 0 ||
		    fsync(part->seg.tidx_fd) < 0)
			return mq_fail(MQ_EIO, "cannot fsync segment in '%s'", part->dir);
		part->dirty = 0;
	}
	return switch_segment(part, part->seg.next_offset, 0, 1);
}

/*
 * start_writeback asks the kernel to start writing part's active segment
 * back once 4 MiB are waiting (len bytes were just appended).  Advisory:
 * a failure is ignored, as mq_sync reports any real I/O error.
 */
static void start_writeback(struct mq_part *part, size_t len)
{
	const uint64_t every = (uint64_t)4 << 20;
	uint64_t end = part->seg.size;

	if (part->wb_base != part->seg.base || part->wb_from > end) {
		part->wb_base = part->seg.base;
		part->wb_from = end >= len ? end - len : 0;
	}
	if (end - part->wb_from < every)
		return;
	sync_file_range(part->seg.log_fd, (off_t)part->wb_from,
	                (off_t)(end - part->wb_from), SYNC_FILE_RANGE_WRITE);
	part->wb_from = end;
}

/* unlock_failed releases part's lock (held, so not kept) and every kept
 * one after a failed append, and returns rc. */
static int unlock_failed(mq_topic *t, struct mq_part *part, int rc)
{
	part->loaded = 0; /* reload from disk next time */
	if (!part->held)
		mq_release(part->lock_fd);
	mq_release_locks(t);
	return rc;
}

int mq_append(mq_topic *t, int32_t p, mq_batch *b, int flags,
              int64_t *base_offset)
{
	if (mq_batch_count(b) == 0) {
		if (base_offset)
			*base_offset = -1;
		return MQ_OK;
	}
	struct mq_part *part = NULL;
	int rc = get_part(t, p, &part);
	if (rc < 0)
		goto fail;
	const mq_config *cfg = &t->cfg;
	int64_t now = mq_now_ms();
	rc = mq_batch_encode(b, cfg->timestamp_type, now);
	if (rc < 0) {
		rc = mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
		goto fail;
	}
	size_t len = b->enc_len;
	if (len > (size_t)cfg->max_message_bytes) {
		rc = mq_fail(MQ_ETOOBIG, "batch of %zu bytes exceeds "
		             "max.message.bytes (%d) of topic '%s'", len,
		             cfg->max_message_bytes, t->name);
		goto fail;
	}

	part->last_use = ++t->use_clock;
	if (!part->loaded && (rc = make_room(t, part)) < 0) {
		rc = mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
		goto fail;
	}
	if ((rc = take_lock(t, part, flags)) < 0)
		goto fail;
	if (rc == 1)
		rc = sync_tail(part);
	int64_t msg_ts = cfg->timestamp_type == MQ_TS_LOG_APPEND ? now
	                                                        : b->max_timestamp;
	if (rc == MQ_OK && roll_due(part, cfg, len, b->count, msg_ts))
		rc = roll(part);
	if (rc < 0)
		return unlock_failed(t, part, mq_fail_prefix(rc, "topic '%s' "
		                     "partition %d", t->name, p));
	int64_t first = part->seg.next_offset;
	if (first > INT64_MAX - b->count)
		return unlock_failed(t, part, mq_fail(MQ_ERANGE, "topic '%s' "
		                     "partition %d: offsets exhausted", t->name, p));
	mq_batch_set_base_offset(b->enc, first);
	rc = mq_segstate_append(&part->seg, b->enc, len);
	if (rc < 0)
		return unlock_failed(t, part, mq_fail_prefix(rc, "topic '%s' "
		                     "partition %d", t->name, p));
	part->dirty = 1;
	part->unflushed += b->count;
	if (part->unflushed >= cfg->flush_messages ||
	    (cfg->flush_ms != INT64_MAX &&
	     mq_now_ms() - part->last_flush_ms >= cfg->flush_ms))
		rc = flush_part(part);
	if (rc < 0)
		return unlock_failed(t, part, mq_fail_prefix(rc, "topic '%s' "
		                     "partition %d", t->name, p));
	if ((flags & MQ_HOLD) && burst_fresh(t, part)) {
		if (!part->held) {
			if (!t->held)
				t->hold_at = part->taken_at;
			part->held = 1;
			t->held++;
		}
	} else {
		if (part->held)
			drop_lock(t, part);
		else
			mq_release(part->lock_fd);
		if (t->held && !burst_fresh(t, part))
			mq_release_locks(t);
	}
	if (flags & MQ_WRITEBACK)
		start_writeback(part, len);
	if (base_offset)
		*base_offset = first;
	mq_batch_reset(b);
	return MQ_OK;
fail:
	mq_release_locks(t);
	return rc;
}

int mq_sync(mq_topic *t)
{
	for (int32_t p = 0; p < t->nparts; p++) {
		struct mq_part *part = t->parts[p];
		if (!part)
			continue;
		int rc = flush_part(part);
		if (rc < 0)
			return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	}
	return MQ_OK;
}

const char *mq_recovery_report(const mq_topic *t, int32_t p)
{
	if (p < 0 || p >= t->nparts || !t->parts[p] || !t->parts[p]->has_report)
		return NULL;
	return t->parts[p]->report;
}

/*
 * mq_roll_locked is retention's roll (retain.h): the caller holds the
 * partition lock, so this only catches up with the tail and rolls.
 */
int mq_roll_locked(mq_topic *t, int32_t p, int *rolled)
{
	struct mq_part *part = NULL;
	*rolled = 0;
	int rc = get_part(t, p, &part);
	if (rc < 0)
		return rc;
	part->last_use = ++t->use_clock;
	if (!part->loaded && (rc = make_room(t, part)) < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	rc = sync_tail(part);
	if (rc == MQ_OK && part->seg.size > 0) {
		rc = roll(part);
		if (rc == MQ_OK)
			*rolled = 1;
	}
	if (rc == MQ_OK)
		rc = flush_part(part);
	if (rc < 0) {
		part->loaded = 0;
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	}
	return MQ_OK;
}

int mq_roll(mq_topic *t, int32_t p, int flags, int *rolled)
{
	struct mq_part *part = NULL;
	int dummy;
	if (!rolled)
		rolled = &dummy;
	*rolled = 0;
	int rc = get_part(t, p, &part);
	if (rc < 0)
		return rc;
	mq_release_locks(t);
	int lock = mq_lock_partition(part->dir, t->name, p, flags);
	if (lock < 0)
		return lock;
	rc = mq_roll_locked(t, p, rolled);
	mq_unlock(lock);
	return rc;
}
