/*
 * compact.c - the log cleaner: which part of a partition is cleanable,
 * its dirty ratio, and the passes that compact it.
 *
 * A pass fills the key map from the dirty part of the log, starting at
 * the cleaner checkpoint, until the map is full or the cleanable log ends
 * at offset E.  It then rewrites, oldest first, every cleanable segment
 * below E, dropping the records the map shows superseded (and keyless
 * records and expired tombstones below E), and moves the checkpoint to E.
 * Oldest first matters: a tombstone is only ever dropped after the older
 * values of its key are gone from disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "compact.h"
#include "error.h"
#include "internal.h"
#include "lock.h"
#include "nofollow.h"
#include "segment.h"

#define DEFAULT_BUFFER ((size_t)128 << 20)

struct seg {
	int64_t base;
	uint64_t ino;
	uint64_t size;       /* .log bytes now (simulated in a dry run) */
};

/* The partition as a compaction sees it. */
struct plan {
	char dir[PATH_MAX];
	struct seg *segs;
	size_t n;
	size_t k;            /* segments [0, k) are cleanable */
	mq_dirty d;
};

/* Sums over one segment's batch headers. */
struct sums {
	int64_t records;     /* outside control batches */
	int64_t max_ts;      /* -1 if none */
	uint64_t below;      /* bytes of batches ending below split */
};

/* scan_sums reads every batch header of segment base. */
static int scan_sums(const char *dir, int64_t base, int64_t split,
                     struct sums *s)
{
	char path[PATH_MAX];
	memset(s, 0, sizeof *s);
	s->max_ts = -1;
	int rc = mq_seg_path(path, sizeof path, dir, base, ".log");
	if (rc < 0)
		return rc;
	int fd = mq_open_nofollow(path, O_RDONLY, 0);
	if (fd < 0)
		return fd == MQ_EIO && errno == ENOENT ? MQ_OK : fd;
	mq_scan sc;
	mq_scan_init(&sc, fd, 0);
	for (;;) {
		const uint8_t *b;
		mq_batch_info info;
		rc = mq_scan_next(&sc, &b, &info);
		if (rc <= 0)
			break;
		if (!info.control) {
			s->records += info.count;
			if (info.max_timestamp > s->max_ts)
				s->max_ts = info.max_timestamp;
		}
		if (info.last_offset < split)
			s->below += (uint64_t)info.length + MQ_BATCH_LOG_OVERHEAD;
		mq_scan_skip(&sc, &info);
	}
	mq_scan_free(&sc);
	close(fd);
	if (rc == MQ_ECORRUPT)
		return mq_fail_prefix(rc, "'%s'", path);
	return rc < 0 ? rc : MQ_OK;
}

/* read_checkpoint returns the stored cleaner checkpoint, or -1. */
static int64_t read_checkpoint(const char *dir)
{
	char path[PATH_MAX], buf[32];
	if (snprintf(path, sizeof path, "%s/%s", dir, MQ_CHECKPOINT_FILE) >=
	    (int)sizeof path)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v < 0)
		return -1;
	return v;
}

int mq_gaps_allowed(const mq_config *cfg, const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	static const char *const markers[] = {
		MQ_CHECKPOINT_FILE, "leader-epoch-checkpoint", "partition.metadata",
	};
	if (cfg->cleanup_policy & MQ_CLEANUP_COMPACT)
		return 1;
	for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
		if (snprintf(path, sizeof path, "%s/%s", dir, markers[i]) <
		    (int)sizeof path && lstat(path, &st) == 0)
			return 1;
	return 0;
}

static int write_checkpoint(const char *dir, int64_t off)
{
	char path[PATH_MAX], buf[32];
	if (snprintf(path, sizeof path, "%s/%s", dir, MQ_CHECKPOINT_FILE) >=
	    (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", dir);
	int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", off);
	return mq_write_file_atomic(path, buf, (size_t)n);
}

/*
 * make_plan lists the segments of partition P and works out the
 * cleanable log, the checkpoint and the clean and dirty bytes.
 */
static int make_plan(mq_topic *t, int32_t p, int64_t now, struct plan *pl)
{
	memset(pl, 0, sizeof *pl);
	int rc = mq_partition_path(t, p, pl->dir, sizeof pl->dir);
	if (rc < 0)
		return rc;
	int64_t *bases;
	uint64_t *inos;
	size_t n;
	if ((rc = mq_seg_list(pl->dir, &bases, &inos, &n)) < 0)
		return rc;
	pl->segs = calloc(n ? n : 1, sizeof *pl->segs);
	if (!pl->segs) {
		free(bases);
		free(inos);
		return mq_fail(MQ_ENOMEM, "planning compaction of '%s'", pl->dir);
	}
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat st;
		pl->segs[i].base = bases[i];
		pl->segs[i].ino = inos[i];
		if (mq_seg_path(path, sizeof path, pl->dir, bases[i], ".log") == 0 &&
		    lstat(path, &st) == 0)
			pl->segs[i].size = (uint64_t)st.st_size;
	}
	free(bases);
	free(inos);
	pl->n = n;
	mq_dirty *d = &pl->d;
	if (n == 0)
		return MQ_OK;

	struct seg *s = pl->segs;
	d->log_start = s[0].base;
	d->checkpoint = read_checkpoint(pl->dir);
	if (d->checkpoint < d->log_start)
		d->checkpoint = d->log_start;
	pl->k = n - 1;
	int64_t lag = t->cfg.min_compaction_lag_ms;
	for (size_t i = 0; lag > 0 && i < pl->k; i++) {
		if (s[i + 1].base <= d->checkpoint)
			continue; /* clean already, hence old enough before */
		struct sums sm;
		if ((rc = scan_sums(pl->dir, s[i].base, 0, &sm)) < 0)
			return rc;
		if (sm.max_ts > now - lag)
			pl->k = i;
	}
	d->first_uncleanable = s[pl->k].base;
	if (d->checkpoint > d->first_uncleanable)
		d->checkpoint = d->first_uncleanable;
	for (size_t i = 0; i < pl->k; i++) {
		if (s[i].base >= d->checkpoint) {
			d->dirty_bytes += s[i].size;
		} else if (s[i + 1].base <= d->checkpoint) {
			d->clean_bytes += s[i].size;
		} else {
			struct sums sm;
			if ((rc = scan_sums(pl->dir, s[i].base, d->checkpoint, &sm)) < 0)
				return rc;
			if (sm.below > s[i].size)
				sm.below = s[i].size;
			d->clean_bytes += sm.below;
			d->dirty_bytes += s[i].size - sm.below;
		}
	}
	if (d->clean_bytes + d->dirty_bytes > 0)
		d->ratio = (double)d->dirty_bytes /
		           (double)(d->clean_bytes + d->dirty_bytes);
	return MQ_OK;
}

int mq_dirty_ratio(mq_topic *t, int32_t p, mq_dirty *out)
{
	struct plan pl;
	memset(out, 0, sizeof *out);
	int rc = make_plan(t, p, mq_now_ms(), &pl);
	if (rc == MQ_OK)
		*out = pl.d;
	free(pl.segs);
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	return MQ_OK;
}

/*
 * build_map fills m with the keys of the cleanable records at or above
 * from, in offset order, until the map is full.  *end receives the offset
 * of the first record left out, or first_uncleanable.
 */
static int build_map(const struct plan *pl, mq_keymap *m, int64_t from,
                     int64_t *end)
{
	int64_t stop = pl->d.first_uncleanable;
	*end = stop;
	size_t i = 0;
	while (i + 1 < pl->k && pl->segs[i + 1].base <= from)
		i++;
	mq_rec_iter it;
	memset(&it, 0, sizeof it);
	int rc = MQ_OK;
	for (; i < pl->k && rc == MQ_OK && *end == stop; i++) {
		char path[PATH_MAX];
		if ((rc = mq_seg_path(path, sizeof path, pl->dir, pl->segs[i].base,
		                      ".log")) < 0)
			break;
		int fd = mq_open_nofollow(path, O_RDONLY, 0);
		if (fd < 0) {
			if (fd != MQ_EIO || errno != ENOENT)
				rc = fd;
			continue;
		}
		mq_scan sc;
		mq_scan_init(&sc, fd, 0);
		if (from > pl->segs[i].base) {
			struct stat st;
			if (fstat(fd, &st) == 0)
				mq_scan_seek(&sc, mq_segment_start_position(pl->dir,
				             pl->segs[i].base, from, (uint64_t)st.st_size));
		}
		for (;;) {
			const uint8_t *b;
			mq_batch_info info;
			rc = mq_scan_next(&sc, &b, &info);
			if (rc <= 0)
				break;
			size_t len = (size_t)info.length + MQ_BATCH_LOG_OVERHEAD;
			if (!mq_batch_check_crc(b, len)) {
				rc = mq_fail(MQ_ECORRUPT, "CRC mismatch in batch at "
				             "offset %" PRId64, info.base_offset);
				break;
			}
			if (info.last_offset < from || info.control ||
			    (info.compression != MQ_COMPRESSION_NONE &&
			     info.compression != MQ_COMPRESSION_GZIP)) {
				mq_scan_skip(&sc, &info);
				continue;
			}
			if ((rc = mq_rec_iter_start(&it, b, len, &info)) < 0)
				break;
			mq_record rec;
			while ((rc = mq_rec_iter_next(&it, &rec)) == 1) {
				if (rec.offset < from || rec.key_len < 0)
					continue;
				mq_keyhash h;
				mq_key_hash(rec.key, (size_t)rec.key_len, &h);
				if ((rc = mq_keymap_put(m, &h, rec.offset)) <= 0) {
					if (rc == 0)
						*end = rec.offset;
					break;
				}
			}
			if (rc < 0 || *end != stop)
				break;
			mq_scan_skip(&sc, &info);
		}
		mq_scan_free(&sc);
		close(fd);
		if (rc < 0)
			rc = mq_fail_prefix(rc, "'%s'", path);
	}
	mq_rec_iter_free(&it);
	return rc < 0 ? rc : MQ_OK;
}

/* lock_cleaner takes the partition's cleaner lock (a flock). */
static int lock_cleaner(const char *dir, int flags)
{
	return mq_lock_file(dir, MQ_CLEANER_LOCK_FILE, flags, "another mq-compact");
}

/* recover settles what a crashed cleaner left, under the writer lock. */
static int recover(const char *dir, int flags)
{
	int lock = mq_lock_dir(dir, flags & MQ_NOWAIT);
	if (lock < 0)
		return lock;
	int rc = mq_clean_recover(dir);
	mq_unlock(lock);
	return rc;
}

/* One compaction of one partition. */
struct run {
	mq_topic *t;
	struct plan pl;
	int flags;
	int64_t now;
	mq_keymap map;
	uint8_t *gone;       /* dry run with several passes */
	mq_compact_stats st;
};

/* clean_pass rewrites the segments below end per the filled map. */
static int clean_pass(struct run *r, int64_t end)
{
	struct plan *pl = &r->pl;
	int dry = (r->flags & MQ_COMPACT_DRY_RUN) != 0;
	int64_t fu = pl->d.first_uncleanable;
	struct mq_clean_rule rule = { &r->map, end,
	                              r->now - r->t->cfg.delete_retention_ms,
	                              NULL, 0, 0, 0 };
	if (dry && end < fu && !r->gone) {
		size_t bytes = (size_t)((fu - pl->d.log_start + 7) / 8);
		r->gone = calloc(bytes ? bytes : 1, 1);
		if (!r->gone)
			return mq_fail(MQ_ENOMEM, "dry run of '%s'", pl->dir);
	}
	if (r->gone) {
		rule.gone = r->gone;
		rule.gone_base = pl->d.log_start;
		rule.gone_len = fu - pl->d.log_start;
		rule.record_gone = 1;
	}
	for (size_t i = 0; i < pl->k && pl->segs[i].base < end; i++) {
		struct seg *s = &pl->segs[i];
		struct mq_clean_seg res;
		int rc = mq_clean_segment(pl->dir, s->base,
		                          r->t->cfg.index_interval_bytes, &rule, dry,
		                          &res);
		if (rc < 0)
			return rc;
		if (res.ino == 0)
			continue; /* gone meanwhile */
		if (!res.changed) {
			if (dry)
				s->size = res.bytes_out;
			continue;
		}
		r->st.records_after -= res.records_in - res.records_out;
		if (dry) {
			s->size = res.bytes_out;
			r->st.segments_rewritten++;
			continue;
		}
		int lock = mq_lock_dir(pl->dir, 0);
		if (lock < 0) {
			mq_clean_discard(pl->dir, s->base);
			return lock;
		}
		rc = mq_clean_swap(pl->dir, s->base, res.ino);
		mq_unlock(lock);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			s->size = res.bytes_out;
			r->st.segments_rewritten++;
		}
	}
	return MQ_OK;
}

static int run_passes(struct run *r)
{
	struct plan *pl = &r->pl;
	int64_t fu = pl->d.first_uncleanable;
	int64_t from = pl->d.checkpoint;
	int rc;
	/* The checkpoint file marks the partition as compacted (gaps in its
	 * offsets are legitimate from now on, whatever cleanup.policy later
	 * says): it must exist before the first rewritten segment does.  Its
	 * value stays what it is taken to be when there is none. */
	if (!(r->flags & MQ_COMPACT_DRY_RUN) && read_checkpoint(pl->dir) < 0 &&
	    (rc = write_checkpoint(pl->dir, from)) < 0)
		return rc;
	do {
		int64_t end;
		mq_keymap_clear(&r->map);
		rc = build_map(pl, &r->map, from, &end);
		if (rc < 0)
			return rc;
		if (end <= from && from < fu)
			return mq_fail(MQ_ENOMEM, "the key map cannot hold a single "
			               "key");
		if ((rc = clean_pass(r, end)) < 0)
			return rc;
		r->st.passes++;
		if (!(r->flags & MQ_COMPACT_DRY_RUN)) {
			mq_compact_step(8);
			if ((rc = write_checkpoint(pl->dir, end)) < 0)
				return rc;
		}
		from = end;
	} while (from < fu);
	return MQ_OK;
}

int mq_compact(mq_topic *t, int32_t p, const mq_compact_opts *opts,
               mq_compact_stats *out)
{
	mq_compact_opts dflt = { 0, 0, 0 };
	mq_release_locks(t);
	if (!opts)
		opts = &dflt;
	if (!(t->cfg.cleanup_policy & MQ_CLEANUP_COMPACT))
		return mq_fail(MQ_EINVAL, "topic '%s' is not compacted (its "
		               "cleanup.policy lacks compact)", t->name);
	struct run r;
	memset(&r, 0, sizeof r);
	r.t = t;
	r.flags = opts->flags;
	r.now = opts->now > 0 ? opts->now : mq_now_ms();
	int dry = (r.flags & MQ_COMPACT_DRY_RUN) != 0;
	int rc, cleaner = -1;

	char dir[PATH_MAX];
	if ((rc = mq_partition_path(t, p, dir, sizeof dir)) < 0)
		return rc;
	if (!dry) {
		if ((cleaner = lock_cleaner(dir, r.flags)) < 0) {
			rc = cleaner;
			goto out;
		}
		if ((rc = recover(dir, r.flags)) < 0)
			goto out;
	}
	if ((rc = make_plan(t, p, r.now, &r.pl)) < 0)
		goto out;
	r.st.dirty = r.pl.d;
	for (size_t i = 0; i < r.pl.n; i++) {
		struct sums sm;
		if ((rc = scan_sums(r.pl.dir, r.pl.segs[i].base, 0, &sm)) < 0)
			goto out;
		r.st.records_before += sm.records;
		r.st.bytes_before += r.pl.segs[i].size;
	}
	r.st.records_after = r.st.records_before;
	if ((r.flags & MQ_COMPACT_FORCE) ||
	    (r.pl.d.ratio >= t->cfg.min_cleanable_dirty_ratio &&
	     r.pl.d.dirty_bytes > 0)) {
		r.st.compacted = 1;
		size_t cap = opts->buffer_bytes ? opts->buffer_bytes : DEFAULT_BUFFER;
		if ((rc = mq_keymap_init(&r.map, cap)) < 0)
			goto out;
		rc = run_passes(&r);
	}
	for (size_t i = 0; i < r.pl.n; i++)
		r.st.bytes_after += r.pl.segs[i].size;
out:
	if (cleaner >= 0)
		close(cleaner);
	mq_keymap_free(&r.map);
	free(r.gone);
	free(r.pl.segs);
	if (out)
		*out = r.st;
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	return MQ_OK;
}
