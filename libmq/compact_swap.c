/*
 * compact_swap.c - putting a rewritten segment in place so that a crash at
 * any instant leaves a partition that reads correctly, and settling what a
 * crashed cleaner left behind.
 *
 * The swap sequence, B being the segment's 20-digit base offset:
 *
 *   without the writer lock
 *     1  write B.log.cleaned, fdatasync
 *     2  write B.index.cleaned and B.timeindex.cleaned, fsync
 *   with the writer lock
 *     3  rename B.log.cleaned to B.log.swap, fsync the directory (commit)
 *     4  unlink B.index and B.timeindex
 *     5  rename B.log.swap to B.log
 *     6  rename B.index.cleaned to B.index
 *     7  rename B.timeindex.cleaned to B.timeindex, fsync the directory
 *
 * At every instant B.log is either the old segment with its old indexes
 * (or none) or the new segment with its new indexes (or none), and the
 * .cleaned and .swap names tell mq_clean_recover which side of the commit
 * a crash happened on.  A missing index is always consistent: readers then
 * scan from the start of the segment.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compact.h"
#include "error.h"
#include "internal.h"
#include "nofollow.h"
#include "segment.h"

void (*mq_compact_hook)(int step);

/* Paths of one segment's files, current and in-flight. */
struct names {
	char log[PATH_MAX], index[PATH_MAX], tidx[PATH_MAX];
	char log_cleaned[PATH_MAX], index_cleaned[PATH_MAX];
	char tidx_cleaned[PATH_MAX], log_swap[PATH_MAX];
};

static int names_of(struct names *n, const char *dir, int64_t base)
{
	if (mq_seg_path(n->log, PATH_MAX, dir, base, ".log") < 0 ||
	    mq_seg_path(n->index, PATH_MAX, dir, base, ".index") < 0 ||
	    mq_seg_path(n->tidx, PATH_MAX, dir, base, ".timeindex") < 0 ||
	    mq_seg_path(n->log_cleaned, PATH_MAX, dir, base, MQ_CLEANED_LOG) < 0 ||
	    mq_seg_path(n->index_cleaned, PATH_MAX, dir, base,
	                MQ_CLEANED_INDEX) < 0 ||
	    mq_seg_path(n->tidx_cleaned, PATH_MAX, dir, base,
	                MQ_CLEANED_TIMEINDEX) < 0 ||
	    mq_seg_path(n->log_swap, PATH_MAX, dir, base, MQ_SWAP_LOG) < 0)
		return MQ_EINVAL;
	return MQ_OK;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* unlink_opt removes path; a missing file is fine. */
static int unlink_opt(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return mq_fail(MQ_EIO, "cannot remove '%s'", path);
	return MQ_OK;
}

static int rename_to(const char *from, const char *to)
{
	if (rename(from, to) < 0)
		return mq_fail(MQ_EIO, "cannot rename '%s' to '%s'", from, to);
	return MQ_OK;
}

void mq_clean_discard(const char *dir, int64_t base)
{
	struct names n;
	if (names_of(&n, dir, base) < 0)
		return;
	unlink(n.index_cleaned);
	unlink(n.tidx_cleaned);
	unlink(n.log_cleaned);
}

int mq_clean_swap(const char *dir, int64_t base, uint64_t ino)
{
	struct names n;
	struct stat st;
	int rc = names_of(&n, dir, base);
	if (rc < 0)
		return rc;
	if (lstat(n.log, &st) < 0 || (uint64_t)st.st_ino != ino) {
		mq_clean_discard(dir, base);
		return 0;
	}
	if ((rc = rename_to(n.log_cleaned, n.log_swap)) < 0) {
		mq_clean_discard(dir, base);
		return rc;
	}
	if ((rc = mq_fsync_dir(dir)) < 0)
		return rc;
	mq_compact_step(3);
	if ((rc = unlink_opt(n.index)) < 0 || (rc = unlink_opt(n.tidx)) < 0)
		return rc;
	mq_compact_step(4);
	if ((rc = rename_to(n.log_swap, n.log)) < 0)
		return rc;
	mq_compact_step(5);
	if ((rc = rename_to(n.index_cleaned, n.index)) < 0)
		return rc;
	mq_compact_step(6);
	if ((rc = rename_to(n.tidx_cleaned, n.tidx)) < 0)
		return rc;
	if ((rc = mq_fsync_dir(dir)) < 0)
		return rc;
	mq_compact_step(7);
	return 1;
}

/* in_flight returns the base offset if NAME is a cleaner file, else -1. */
static int64_t in_flight(const char *name)
{
	static const char *const sfx[] = { MQ_CLEANED_LOG, MQ_CLEANED_INDEX,
	                                   MQ_CLEANED_TIMEINDEX, MQ_SWAP_LOG };
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
		if (strcmp(name + 20, sfx[i]) == 0)
			return v;
	return -1;
}

/* recover_one settles segment base; see the rules in compaction.md. */
static int recover_one(const char *dir, int64_t base)
{
	struct names n;
	int rc = names_of(&n, dir, base);
	if (rc < 0)
		return rc;
	if (exists(n.log_swap)) {
		if (!exists(n.log)) {
			/* Retention removed the segment: drop the new one too. */
			if ((rc = unlink_opt(n.index_cleaned)) < 0 ||
			    (rc = unlink_opt(n.tidx_cleaned)) < 0)
				return rc;
			return unlink_opt(n.log_swap);
		}
		/* Committed: finish steps 4 and 5, then the indexes below. */
		if ((rc = unlink_opt(n.index)) < 0 || (rc = unlink_opt(n.tidx)) < 0 ||
		    (rc = rename_to(n.log_swap, n.log)) < 0)
			return rc;
	} else if (exists(n.log_cleaned)) {
		/* Not committed: the old segment stays. */
		if ((rc = unlink_opt(n.index_cleaned)) < 0 ||
		    (rc = unlink_opt(n.tidx_cleaned)) < 0)
			return rc;
		return unlink_opt(n.log_cleaned);
	}
	/* B.log is the new segment; the .cleaned indexes are its own. */
	if (!exists(n.log)) {
		if ((rc = unlink_opt(n.index_cleaned)) < 0)
			return rc;
		return unlink_opt(n.tidx_cleaned);
	}
	if (exists(n.index_cleaned) && (rc = rename_to(n.index_cleaned,
	                                                 n.index)) < 0)
		return rc;
	if (exists(n.tidx_cleaned) && (rc = rename_to(n.tidx_cleaned,
	                                                n.tidx)) < 0)
		return rc;
	return MQ_OK;
}

int mq_clean_recover(const char *dir)
{
	int fd = mq_opendir_nofollow(dir);
	if (fd < 0)
		return fd;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
		return mq_fail(MQ_EIO, "cannot open partition directory '%s'", dir);
	}
	int64_t *bases = NULL;
	size_t n = 0, cap = 0;
	int rc = MQ_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		int64_t b = in_flight(de->d_name);
		if (b < 0)
			continue;
		int dup = 0;
		for (size_t i = 0; i < n && !dup; i++)
			dup = bases[i] == b;
		if (dup)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			int64_t *nb = realloc(bases, cap * sizeof *nb);
			if (!nb) {
				rc = mq_fail(MQ_ENOMEM, "recovering '%s'", dir);
				break;
			}
			bases = nb;
		}
		bases[n++] = b;
	}
	closedir(d);
	for (size_t i = 0; i < n && rc == MQ_OK; i++)
		rc = recover_one(dir, bases[i]);
	free(bases);
	if (rc == MQ_OK && n > 0)
		rc = mq_fsync_dir(dir);
	return rc;
}
