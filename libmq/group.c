/*
 * group.c - consumer group ownership: the assignment every member
 * computes from the live members and the subscription, releasing
 * partitions (commit first, then drop the lock) and taking them over
 * (an exclusive flock on GROUP/TOPIC/P.owner, without waiting).
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

#include "error.h"
#include "group.h"

const char *mq_group_member(const mq_group *g)
{
	return g->id;
}

size_t mq_group_size(const mq_group *g)
{
	return g->nparts;
}

void mq_group_part(const mq_group *g, size_t i, const char **topic,
                   int32_t *partition)
{
	*topic = g->parts[i].topic;
	*partition = g->parts[i].partition;
}

int mq_group_owns(const mq_group *g, size_t i)
{
	return g->parts[i].owner_fd >= 0;
}

int mq_group_assigned(const mq_group *g, size_t i)
{
	return g->live > 0 && i % g->live == g->index;
}

int64_t mq_group_offset(const mq_group *g, size_t i)
{
	return g->parts[i].committed;
}

size_t mq_group_live(const mq_group *g)
{
	return g->live;
}

int mq_group_part_path(const mq_group *g, size_t i, const char *suffix,
                       char *buf, size_t len)
{
	const struct mq_gpart *gp = &g->parts[i];
	int n = snprintf(buf, len, "%s/%s/%" PRId32 ".%s", g->dir, gp->topic,
	                 gp->partition, suffix);
	if (n < 0 || (size_t)n >= len)
		return mq_fail(MQ_EINVAL, "path too long: %s", g->dir);
	return MQ_OK;
}

void mq_group_clear(int fd)
{
	int r = ftruncate(fd, 0);
	(void)r;
}

/* Writes the owner's display content into the locked ownership file. */
static void write_owner(const mq_group *g, int fd)
{
	char host[256] = "", buf[1024];
	gethostname(host, sizeof host - 1);
	int n = snprintf(buf, sizeof buf, "pid=%ld\nhost=%s\nsince=%" PRId64
	                 "\nmember=%s\n", (long)getpid(), host, mq_now_ms(),
	                 g->id);
	if (n <= 0 || (size_t)n >= sizeof buf)
		return;
	/* Display only: a failure here does not affect ownership. */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) != n)
		mq_group_clear(fd);
}

void mq_group_read_owner(int fd, mq_group_owner *o)
{
	char buf[1024];
	memset(o, 0, sizeof *o);
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "pid") == 0)
			o->pid = strtoll(eq, NULL, 10);
		else if (strcmp(line, "since") == 0)
			o->since = strtoll(eq, NULL, 10);
		else if (strcmp(line, "host") == 0)
			snprintf(o->host, sizeof o->host, "%s", eq);
		else if (strcmp(line, "member") == 0)
			snprintf(o->member, sizeof o->member, "%s", eq);
	}
}

/*
 * Tries to take partition i: 1 if it is now owned (its committed offset
 * read), 0 if another member still holds it, or a negative MQ_E* code.
 */
static int take(mq_group *g, size_t i)
{
	struct mq_gpart *gp = &g->parts[i];
	char path[PATH_MAX];
	int rc;
	if ((rc = mq_group_part_path(g, i, "owner", path, sizeof path)) < 0)
		return rc;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK || e == EINTR)
			return 0;
		errno = e;
		return mq_fail(MQ_EIO, "cannot lock '%s'", path);
	}
	int64_t off;
	if ((rc = mq_group_committed(g->env, g->group, gp->topic,
	                             gp->partition, &off)) < 0) {
		close(fd);
		return rc;
	}
	write_owner(g, fd);
	gp->owner_fd = fd;
	gp->committed = off;
	gp->processed = -1;
	return 1;
}

/*
 * Releases partition i: commits its processed offset, then closes the
 * lock whatever the commit's outcome, which is returned.
 */
static int release(mq_group *g, size_t i, int flags)
{
	struct mq_gpart *gp = &g->parts[i];
	int rc = mq_group_commit_one(g, i, flags);
	if (gp->owner_fd >= 0) {
		/* Leave no stale owner behind for display. */
		mq_group_clear(gp->owner_fd);
		close(gp->owner_fd);
	}
	gp->owner_fd = -1;
	gp->processed = -1;
	return rc;
}

int mq_group_release_all(mq_group *g, int flags, mq_group_fn fn, void *ctx)
{
	int rc = MQ_OK;
	for (size_t i = 0; i < g->nparts; i++) {
		if (g->parts[i].owner_fd < 0)
			continue;
		int r = release(g, i, flags);
		if (r < 0 && rc == MQ_OK)
			rc = r;
		if (fn)
			fn(ctx, i, 0);
	}
	return rc;
}

int mq_group_rebalance(mq_group *g, int flags, mq_group_fn fn, void *ctx)
{
	char **ids;
	size_t n;
	int rc = mq_group_scan(g->mdir_fd, g->id, 1, &ids, &n);
	if (rc < 0)
		return mq_fail_prefix(rc, "group '%s'", g->group);
	size_t me = 0;
	while (me < n && strcmp(ids[me], g->id) != 0)
		me++;
	mq_group_free_ids(g->members, g->nmembers);
	g->members = ids;
	g->nmembers = n;
	if (me == n) {
		/* Our registration is gone: treat ourselves as the only
		 * member we know of, so the group is still served. */
		me = 0;
		n = n + 1;
	}
	g->live = n;
	g->index = me;
	for (size_t i = 0; i < g->nparts; i++) {
		if (g->parts[i].owner_fd < 0 || i % n == me)
			continue;
		int r = release(g, i, flags);
		if (fn)
			fn(ctx, i, 0);
		if (r < 0 && rc == MQ_OK)
			rc = r;
	}
	for (size_t i = me; i < g->nparts; i += n) {
		if (g->parts[i].owner_fd >= 0)
			continue;
		int r = take(g, i);
		if (r == 1 && fn)
			fn(ctx, i, 1);
		if (r < 0 && rc == MQ_OK)
			rc = r;
	}
	return rc;
}

int mq_group_processed(mq_group *g, size_t i, int64_t next)
{
	if (i >= g->nparts || g->parts[i].owner_fd < 0)
		return mq_fail(MQ_EINVAL, "group '%s': partition %zu is not "
		               "owned by this member", g->group, i);
	g->parts[i].processed = next;
	return MQ_OK;
}

int mq_group_leave(mq_group *g, int flags)
{
	if (!g)
		return MQ_OK;
	int rc = mq_group_commit(g, flags);
	int r = mq_group_release_all(g, flags, NULL, NULL);
	if (rc == MQ_OK)
		rc = r;
	mq_group_free(g);
	return rc;
}
