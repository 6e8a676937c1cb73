/*
 * group_commit.c - writing consumer groups' committed offsets: a
 * member's commits (only for partitions whose ownership lock it still
 * holds) and the administrator's (offset resets, deleting a group) under
 * the group's administration lock.
 */
#include <dirent.h>
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
#include "nofollow.h"

int mq_group_write_offset(const char *path, int64_t offset, int durable)
{
	char tmp[PATH_MAX], dir[PATH_MAX], buf[32];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	if (!slash || dlen >= sizeof dir ||
	    snprintf(tmp, sizeof tmp, "%.*s/.offset-XXXXXX", (int)dlen,
	             path) >= (int)sizeof tmp)
		return mq_fail(MQ_EINVAL, "bad offset file path '%s'", path);
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", offset);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot create a temporary file in '%s'",
		               dir);
	if (fchmod(fd, 0644) < 0 || write(fd, buf, (size_t)n) != n ||
	    (durable && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return durable ? mq_fsync_dir(dir) : MQ_OK;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return mq_fail(MQ_EIO, "cannot write '%s'", path);
}

int mq_group_commit_one(mq_group *g, size_t i, int flags)
{
	struct mq_gpart *gp = &g->parts[i];
	char path[PATH_MAX];
	struct stat held, now;
	int rc;
	if (gp->owner_fd < 0 || gp->processed < 0 ||
	    gp->processed == gp->committed)
		return MQ_OK;
	if ((rc = mq_group_part_path(g, i, "owner", path, sizeof path)) < 0)
		return rc;
	if (fstat(gp->owner_fd, &held) < 0 || stat(path, &now) < 0 ||
	    held.st_ino != now.st_ino || held.st_dev != now.st_dev) {
		close(gp->owner_fd);
		gp->owner_fd = -1;
		gp->processed = -1;
		return mq_fail(MQ_EBUSY, "group '%s': lost ownership of %s/%"
		               PRId32 " ('%s' was replaced); not committing",
		               g->group, gp->topic, gp->partition, path);
	}
	if ((rc = mq_group_part_path(g, i, "offset", path, sizeof path)) < 0)
		return rc;
	if ((rc = mq_group_write_offset(path, gp->processed,
	                                !(flags & MQ_GROUP_NOSYNC))) < 0)
		return mq_fail_prefix(rc, "group '%s'", g->group);
	gp->committed = gp->processed;
	return MQ_OK;
}

int mq_group_commit(mq_group *g, int flags)
{
	int rc = MQ_OK;
	for (size_t i = 0; i < g->nparts; i++) {
		int r = mq_group_commit_one(g, i, flags);
		if (r < 0 && rc == MQ_OK)
			rc = r;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Administration.                                                     */

struct mq_group_admin {
	mq_env *env;
	char *group;
	int lock_fd;             /* the members directory, flocked */
	int deleted;
};

int mq_group_admin_open(mq_env *env, const char *group, int create,
                        mq_group_admin **out)
{
	*out = NULL;
	int fd = mq_group_lock_members(env, group, 1, create);
	if (fd < 0)
		return fd;
	size_t live;
	int rc = mq_group_scan(fd, NULL, 1, NULL, &live);
	if (rc < 0) {
		close(fd);
		return mq_fail_prefix(rc, "group '%s'", group);
	}
	if (live > 0) {
		close(fd);
		return mq_fail(MQ_EBUSY, "group '%s' has %zu live %s", group,
		               live, live == 1 ? "member" : "members");
	}
	mq_group_admin *a = calloc(1, sizeof *a);
	if (!a || !(a->group = strdup(group))) {
		free(a);
		close(fd);
		return mq_fail(MQ_ENOMEM, "out of memory");
	}
	a->env = env;
	a->lock_fd = fd;
	*out = a;
	return MQ_OK;
}

int mq_group_admin_set(mq_group_admin *a, const char *topic, int32_t p,
                       int64_t offset)
{
	char path[PATH_MAX];
	int rc;
	if (a->deleted)
		return mq_fail(MQ_EINVAL, "group '%s' was deleted", a->group);
	if ((rc = mq_name_check(topic, "topic")) < 0)
		return rc;
	if (p < 0 || offset < 0)
		return mq_fail(MQ_EINVAL, "group '%s': invalid partition %" PRId32
		               " or offset %" PRId64, a->group, p, offset);
	if ((rc = mq_group_dir(a->env, a->group, topic, path,
	                       sizeof path)) < 0)
		return rc;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return mq_fail(MQ_EIO, "cannot create directory '%s'", path);
	if ((rc = mq_refuse_symlink(path)) < 0)
		return rc;
	size_t len = strlen(path);
	if (snprintf(path + len, sizeof path - len, "/%" PRId32 ".offset", p) >=
	    (int)(sizeof path - len))
		return mq_fail(MQ_EINVAL, "path too long: %s", path);
	return mq_group_write_offset(path, offset, 1);
}

/* Removes everything inside the directory dfd, depth first. */
static int remove_inside(int dfd, const char *what, int depth)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return mq_fail(MQ_EIO, "cannot read '%s'", what);
	}
	int rc = MQ_OK;
	struct dirent *de;
	while (rc == MQ_OK && (de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
			continue;
		if ((errno != EISDIR && errno != EPERM) || depth == 0) {
			rc = mq_fail(MQ_EIO, "cannot remove '%s/%s'", what, name);
			break;
		}
		int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY |
		                 O_CLOEXEC | O_NOFOLLOW);
		if (sub < 0) {
			rc = mq_fail(MQ_EIO, "cannot open '%s/%s'", what, name);
			break;
		}
		rc = remove_inside(sub, what, depth - 1);
		close(sub);
		if (rc == MQ_OK && unlinkat(dfd, name, AT_REMOVEDIR) < 0 &&
		    errno != ENOENT)
			rc = mq_fail(MQ_EIO, "cannot remove '%s/%s'", what, name);
	}
	closedir(d);
	return rc;
}

int mq_group_admin_delete(mq_group_admin *a)
{
	char path[PATH_MAX], parent[PATH_MAX];
	int rc;
	if (a->deleted)
		return MQ_OK;
	if ((rc = mq_group_dir(a->env, a->group, NULL, path,
	                       sizeof path)) < 0)
		return rc;
	int dfd = mq_opendir_nofollow(path);
	if (dfd < 0)
		return dfd;
	/* A joiner waiting for the lock finds the members directory
	 * unlinked (st_nlink 0) and starts over. */
	rc = remove_inside(dfd, path, 2);
	close(dfd);
	if (rc < 0)
		return rc;
	if (rmdir(path) < 0 && errno != ENOENT)
		return mq_fail(MQ_EIO, "cannot remove '%s'", path);
	a->deleted = 1;
	snprintf(parent, sizeof parent, "%s/%s", a->env->path, MQ_GROUPS_DIR);
	return mq_fsync_dir(parent);
}

void mq_group_admin_close(mq_group_admin *a)
{
	if (!a)
		return;
	close(a->lock_fd);
	free(a->group);
	free(a);
}
