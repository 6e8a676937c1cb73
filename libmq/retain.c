/*
 * retain.c - retention: deleting a partition's oldest segments by
 * retention.ms, retention.bytes and the log start offset, under the
 * partition lock, as Kafka's log retention does.
 *
 * The order of a deletion is what keeps lock-free readers safe: the new
 * log start offset is persisted first (mq.log-start, replaced atomically),
 * then the segment files are unlinked, then the directory is fsynced.  A
 * reader that lists the segments and then reads the log start offset
 * therefore never sees a hole below the log start; a reader that still
 * holds a deleted segment open reads it to its end (or to the next chunk)
 * and then moves on to the log start (see reader.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "lock.h"
#include "nofollow.h"
#include "retain.h"
#include "segment.h"

#define TS_UNKNOWN INT64_MIN

struct seg {
	int64_t base, next;
	uint64_t log_bytes, bytes;
	int64_t max_ts;          /* TS_UNKNOWN until looked at */
	int64_t mtime_ms;        /* of the .log, for segments without records */
	int reasons;
};

/* What the consumer groups allow: nothing at or past hold may go. */
struct hold {
	int64_t offset;          /* INT64_MAX: no group holds anything */
	char group[256];
	int64_t committed;
};

struct plan {
	mq_topic *t;
	int32_t p;
	const char *dir;
	int dfd;                 /* dir, opened without following a link */
	const mq_retain_opts *o;
	mq_retain_fn report;
	void *ctx;
	struct seg *segs;
	size_t n;
	int64_t raw_start;       /* mq.log-start's value, -1 if absent */
	struct hold hold;        /* what the consumer groups need */
	ssize_t kept;            /* the segment a group kept, -1: none */
	mq_retain_result res;
};

static uint64_t file_size(const char *dir, int64_t base, const char *ext,
                          int64_t *mtime_ms)
{
	char path[PATH_MAX];
	struct stat st;
	if (mq_seg_path(path, sizeof path, dir, base, ext) < 0 ||
	    lstat(path, &st) < 0)
		return 0;
	if (mtime_ms)
		*mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
		            st.st_mtim.tv_nsec / 1000000;
	return (uint64_t)st.st_size;
}

/* stat_segment fills the sizes of s from the files. */
static void stat_segment(const char *dir, struct seg *s)
{
	s->mtime_ms = 0;
	s->log_bytes = file_size(dir, s->base, ".log", &s->mtime_ms);
	s->bytes = s->log_bytes + file_size(dir, s->base, ".index", NULL) +
	           file_size(dir, s->base, ".timeindex", NULL);
}

/* load lists the partition's segments with their sizes and, for the last
 * one, its end offset and newest timestamp. */
static int load(struct plan *pl)
{
	int64_t *bases;
	size_t n;
	int rc = mq_seg_list(pl->dir, &bases, NULL, &n);
	if (rc < 0)
		return rc;
	pl->n = n;
	pl->segs = calloc(n ? n : 1, sizeof *pl->segs);
	if (!pl->segs) {
		free(bases);
		return mq_fail(MQ_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct seg *s = &pl->segs[i];
		s->base = bases[i];
		s->next = i + 1 < n ? bases[i + 1] : bases[i];
		s->max_ts = TS_UNKNOWN;
		stat_segment(pl->dir, s);
	}
	free(bases);
	if (n > 0) {
		struct seg *last = &pl->segs[n - 1];
		rc = mq_segment_scan_tail(pl->dir, last->base, &last->max_ts,
		                          &last->next);
		if (rc < 0)
			return rc;
	}
	rc = mq_log_start_load(pl->dir, &pl->raw_start);
	if (rc < 0)
		return rc;
	pl->res.log_end = n > 0 ? pl->segs[n - 1].next : 0;
	pl->res.log_start_before = pl->raw_start;
	if (n > 0 && pl->segs[0].base > pl->raw_start)
		pl->res.log_start_before = pl->segs[0].base;
	if (pl->res.log_start_before < 0)
		pl->res.log_start_before = 0;
	return MQ_OK;
}

/* newest returns the timestamp retention.ms is measured against: the
 * segment's largest record timestamp, or its file's mtime if it has no
 * records (as Kafka does). */
static int newest(struct plan *pl, struct seg *s, int64_t *ts)
{
	if (s->max_ts == TS_UNKNOWN) {
		int64_t next;
		int rc = mq_segment_scan_tail(pl->dir, s->base, &s->max_ts, &next);
		if (rc < 0)
			return rc;
	}
	*ts = s->max_ts >= 0 ? s->max_ts : s->mtime_ms;
	return MQ_OK;
}

static int is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * group_hold finds the lowest offset a consumer group still needs in the
 * partition: every group (or each of o->groups) that has a directory for
 * the topic counts; its committed offset, or 0 when it has committed none
 * for this partition.
 */
static int group_hold(struct plan *pl, struct hold *h)
{
	mq_env *env = pl->t->env;
	char **all = NULL;
	const char *const *groups = pl->o->groups;
	h->offset = INT64_MAX;
	h->group[0] = '\0';
	h->committed = -1;
	if (!groups) {
		int rc = mq_group_list(env, &all);
		if (rc < 0)
			return rc;
		groups = (const char *const *)all;
	}
	int rc = MQ_OK;
	for (size_t i = 0; groups[i]; i++) {
		char path[PATH_MAX];
		int64_t c;
		rc = mq_group_committed(env, groups[i], pl->t->name, pl->p, &c);
		if (rc < 0)
			break;
		if (c < 0) {
			snprintf(path, sizeof path, "%s/.mq/groups/%s/%s", env->path,
			         groups[i], pl->t->name);
			if (!is_dir(path))
				continue; /* the group does not read this topic */
		}
		int64_t need = c < 0 ? 0 : c;
		if (need < h->offset) {
			h->offset = need;
			h->committed = c;
			snprintf(h->group, sizeof h->group, "%s", groups[i]);
		}
	}
	mq_free_list(all);
	return rc;
}

static void emit(struct plan *pl, const struct seg *s, int action,
                 const struct hold *h)
{
	if (!pl->report)
		return;
	mq_retain_segment ev = {
		.action = action,
		.reasons = s->reasons,
		.base_offset = s->base,
		.next_offset = s->next,
		.max_timestamp = s->max_ts == TS_UNKNOWN ? -1 : s->max_ts,
		.log_bytes = s->log_bytes,
		.bytes = s->bytes,
		.group = h ? h->group : NULL,
		.committed = h ? h->committed : -1,
	};
	pl->report(pl->ctx, &ev);
}

/*
 * decide returns in *k how many segments, oldest first, go; *roll says
 * whether the active segment is among them (and must be rolled first).
 */
static int decide(struct plan *pl, int64_t target, size_t *k, int *roll)
{
	const mq_retain_opts *o = pl->o;
	const mq_config *cfg = &pl->t->cfg;
	int policy = o->policy && (cfg->cleanup_policy & MQ_CLEANUP_DELETE);
	int64_t now = o->now_ms >= 0 ? o->now_ms : mq_now_ms();
	int64_t diff = 0;
	struct hold *h = &pl->hold;
	int rc;

	*k = 0;
	*roll = 0;
	if (policy && cfg->retention_bytes >= 0) {
		for (size_t i = 0; i < pl->n; i++)
			diff += (int64_t)pl->segs[i].log_bytes;
		diff -= cfg->retention_bytes;
	}
	h->offset = INT64_MAX;
	if (policy && o->respect_groups && (rc = group_hold(pl, h)) < 0)
		return rc;
	for (size_t i = 0; i < pl->n; i++) {
		struct seg *s = &pl->segs[i];
		int active = i + 1 == pl->n;
		/* The active segment goes only if it holds records. */
		if (active && (s->log_bytes == 0 || s->next <= s->base))
			break;
		s->reasons = 0;
		if (s->next <= target)
			s->reasons |= MQ_RETAIN_LOG_START;
		if (policy && cfg->retention_ms >= 0) {
			int64_t ts;
			if ((rc = newest(pl, s, &ts)) < 0)
				return rc;
			if (now - ts > cfg->retention_ms)
				s->reasons |= MQ_RETAIN_TIME;
		}
		if (policy && cfg->retention_bytes >= 0 &&
		    diff - (int64_t)s->log_bytes >= 0)
			s->reasons |= MQ_RETAIN_SIZE;
		if (!s->reasons)
			break;
		if (!(s->reasons & MQ_RETAIN_LOG_START) && s->next > h->offset) {
			pl->kept = (ssize_t)i;
			break;
		}
		diff -= (int64_t)s->log_bytes;
		*k = i + 1;
		*roll = active;
	}
	return MQ_OK;
}

/*
 * sweep removes .index and .timeindex files below the first segment that
 * have no .log, left behind by a deletion that was cut short.  Everything
 * is relative to the partition directory's descriptor, so no symbolic
 * link is followed.
 */
static void sweep(int dfd, int64_t first)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *ext = de->d_name + 20;
		if (strspn(de->d_name, "0123456789") != 20 ||
		    (strcmp(ext, ".index") != 0 && strcmp(ext, ".timeindex") != 0))
			continue;
		int64_t base = strtoll(de->d_name, NULL, 10);
		char log[32];
		struct stat st;
		snprintf(log, sizeof log, "%020" PRId64 ".log", base);
		if (base >= first ||
		    fstatat(dfd, log, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

/* unlink_segment removes segment base's files (links, never their
 * targets) from the partition directory open as dfd (path dir). */
static int unlink_segment(int dfd, const char *dir, int64_t base)
{
	static const char *const exts[] = { ".log", ".index", ".timeindex" };
	for (size_t i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "%020" PRId64 "%s", base, exts[i]);
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return mq_fail(MQ_EIO, "cannot remove '%s/%s'", dir, name);
	}
	return MQ_OK;
}

static int retain_locked(struct plan *pl)
{
	const mq_retain_opts *o = pl->o;
	int rc = load(pl);
	if (rc < 0 || pl->n == 0) {
		pl->res.log_start = pl->res.log_start_before;
		return rc;
	}
	int64_t end = pl->res.log_end;
	int64_t target = pl->res.log_start_before;
	if (o->delete_before >= 0) {
		if (o->delete_before > end)
			return mq_fail(MQ_ERANGE, "offset %" PRId64 " is beyond the log "
			               "end offset %" PRId64, o->delete_before, end);
		if (o->delete_before > target)
			target = o->delete_before;
	}
	size_t k;
	int roll;
	if ((rc = decide(pl, target, &k, &roll)) < 0)
		return rc;
	if (roll && !o->dry_run) {
		int rolled;
		if ((rc = mq_roll_locked(pl->t, pl->p, &rolled)) < 0)
			return rc;
		if (!rolled) {
			k--; /* nothing to roll after all: the active segment stays */
			roll = 0;
		} else {
			/* Sealing added a .timeindex entry. */
			stat_segment(pl->dir, &pl->segs[pl->n - 1]);
		}
	}
	pl->res.rolled = roll;
	int64_t first = k < pl->n ? pl->segs[k].base : end;
	int64_t start = target > first ? target : first;
	pl->res.log_start = start;
	if (roll)
		emit(pl, &pl->segs[pl->n - 1], MQ_RETAIN_ROLLED, NULL);
	if (o->dry_run) {
		for (size_t i = 0; i < k; i++) {
			pl->res.segments_deleted++;
			pl->res.bytes_freed += pl->segs[i].bytes;
			emit(pl, &pl->segs[i], MQ_RETAIN_DELETED, NULL);
		}
		goto kept;
	}
	/* The log start offset first, durably; only then the files. */
	if (start > pl->raw_start && (k > 0 || start > pl->res.log_start_before))
		if ((rc = mq_log_start_store(pl->dir, start)) < 0)
			return rc;
	for (size_t i = 0; i < k; i++) {
		if ((rc = unlink_segment(pl->dfd, pl->dir, pl->segs[i].base)) < 0)
			return rc;
		pl->res.segments_deleted++;
		pl->res.bytes_freed += pl->segs[i].bytes;
		emit(pl, &pl->segs[i], MQ_RETAIN_DELETED, NULL);
	}
	sweep(pl->dfd, first);
	if (k > 0 && (rc = mq_fsync_dir(pl->dir)) < 0)
		return rc;
kept:
	if (pl->kept >= 0)
		emit(pl, &pl->segs[pl->kept], MQ_RETAIN_KEPT, &pl->hold);
	return MQ_OK;
}

int mq_retain(mq_topic *t, int32_t p, const mq_retain_opts *o,
              mq_retain_fn report, void *ctx, mq_retain_result *res)
{
	char dir[PATH_MAX];
	int rc = mq_partition_path(t, p, dir, sizeof dir);
	if (rc < 0)
		return rc;
	struct plan pl = { .t = t, .p = p, .dir = dir, .dfd = -1, .o = o,
	                   .report = report, .ctx = ctx, .kept = -1 };
	mq_release_locks(t);
	int lock = mq_lock_partition(dir, t->name, p, o->flags);
	if (lock < 0)
		return lock;
	if ((pl.dfd = rc = mq_opendir_nofollow(dir)) >= 0)
		rc = retain_locked(&pl);
	if (pl.dfd >= 0)
		close(pl.dfd);
	mq_unlock(lock);
	free(pl.segs);
	if (res)
		*res = pl.res;
	if (rc < 0)
		return mq_fail_prefix(rc, "topic '%s' partition %d", t->name, p);
	return MQ_OK;
}
