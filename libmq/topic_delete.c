/*
 * topic_delete.c - deleting a topic safely with respect to running writers.
 *
 * Under the admin lock, the topic's config file goes first (so the topic
 * stops existing for new openers), then each partition directory is
 * emptied under its writer lock and removed.  Symbolic links are removed,
 * never followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "lock.h"
#include "nofollow.h"
#include "topic.h"

/*
 * clear_dir unlinks every entry of the directory open as dfd except
 * subdirectories, which it counts in *subdirs.  Symbolic links are
 * removed, never followed.
 */
static int clear_dir(int dfd, const char *path, int *subdirs)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return mq_fail(MQ_EIO, "cannot read directory '%s'", path);
	}
	struct dirent *de;
	struct stat st;
	int rc = MQ_OK;
	*subdirs = 0;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			(*subdirs)++;
			continue;
		}
		if (unlinkat(dfd, n, 0) < 0 && errno != ENOENT && rc == MQ_OK)
			rc = mq_fail(MQ_EIO, "cannot remove '%s/%s'", path, n);
	}
	closedir(d);
	return rc;
}

/*
 * remove_partition removes the partition directory ent of the data
 * directory open as datafd while holding its writer lock.  The lock file
 * goes too, so a writer waiting on it sees st_nlink == 0 once it gets it.
 */
static int remove_partition(mq_env *env, int datafd, const char *ent,
                            int flags)
{
	char dir[PATH_MAX];
	int rc = mq_pathf(dir, "%s/%s", env->path, ent);
	if (rc < 0)
		return rc;
	int lock = mq_lock_dir(dir, flags & MQ_NOWAIT);
	if (lock < 0)
		return lock;
	int dfd = openat(datafd, ent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	                 O_CLOEXEC);
	if (dfd < 0) {
		rc = mq_fail(MQ_EIO, "cannot open directory '%s'", dir);
		goto out;
	}
	/* A writer may create a file between the scan and the rmdir. */
	for (int tries = 0; tries < 5; tries++) {
		int subdirs = 0;
		if ((rc = clear_dir(dfd, dir, &subdirs)) < 0)
			break;
		if (unlinkat(datafd, ent, AT_REMOVEDIR) == 0)
			break;
		if (errno != ENOTEMPTY && errno != EEXIST) {
			rc = mq_fail(MQ_EIO, "cannot remove directory '%s'", dir);
			break;
		}
		if (subdirs || tries == 4) {
			errno = ENOTEMPTY;
			rc = mq_fail(MQ_EIO, "cannot remove directory '%s'%s",
			             dir, subdirs ? " (it holds a subdirectory, "
			             "left alone)" : "");
			break;
		}
	}
	close(dfd);
out:
	mq_unlock(lock);
	return rc;
}

/* A list of directory entries NAME-N of one topic. */
struct ents {
	char **v;
	size_t n;
};

static void ents_free(struct ents *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	free(e->v);
}

/* find_partitions lists DIR's entries named NAME-N, N decimal. */
static int find_partitions(mq_env *env, const char *name, struct ents *e)
{
	size_t len = strlen(name), cap = 0;
	DIR *d = opendir(env->path);
	if (!d)
		return mq_fail(MQ_EIO, "cannot read directory '%s'", env->path);
	struct dirent *de;
	int rc = MQ_OK;
	while (rc == MQ_OK && (de = readdir(d))) {
		const char *s = de->d_name;
		if (strncmp(s, name, len) != 0 || s[len] != '-' ||
		    s[len + 1] == '\0' ||
		    strspn(s + len + 1, "0123456789") != strlen(s + len + 1))
			continue;
		if (e->n == cap) {
			cap = cap ? cap * 2 : 8;
			char **v = realloc(e->v, cap * sizeof *v);
			if (!v) {
				rc = mq_fail(MQ_ENOMEM, "out of memory");
				break;
			}
			e->v = v;
		}
		if (!(e->v[e->n] = strdup(s)))
			rc = mq_fail(MQ_ENOMEM, "out of memory");
		else
			e->n++;
	}
	closedir(d);
	return rc;
}

/*
 * mq_topic_delete removes topic name: the config file first, then each
 * partition directory NAME-N under its writer lock.  MQ_ENOTOPIC if there
 * is nothing to remove; MQ_EBUSY with MQ_NOWAIT when a writer holds a
 * lock (checked for every partition before anything is removed); MQ_EIO.
 */
int mq_topic_delete(mq_env *env, const char *name, int flags)
{
	char path[PATH_MAX], topics[PATH_MAX];
	struct ents e = { 0 };
	struct stat st;
	int rc = mq_name_check(name, "topic");
	if (rc < 0)
		return rc;
	int lock = mq_admin_lock(env, flags);
	if (lock < 0)
		return lock;
	int datafd = open(env->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (datafd < 0) {
		rc = mq_fail(MQ_EIO, "cannot open directory '%s'", env->path);
		goto out;
	}
	if ((rc = mq_conf_path(env, name, path)) < 0 ||
	    (rc = mq_pathf(topics, "%s/%s", env->path, MQ_TOPICS_DIR)) < 0 ||
	    (rc = find_partitions(env, name, &e)) < 0)
		goto out;
	int has_conf = lstat(path, &st) == 0;
	if (!has_conf && e.n == 0) {
		rc = mq_fail(MQ_ENOTOPIC, "no such topic '%s' in %s", name,
		             env->path);
		goto out;
	}
	if (flags & MQ_NOWAIT) {
		for (size_t i = 0; i < e.n; i++) {
			char dir[PATH_MAX];
			if (fstatat(datafd, e.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
			if ((rc = mq_pathf(dir, "%s/%s", env->path, e.v[i])) < 0)
				goto out;
			int l = mq_lock_dir(dir, MQ_NOWAIT);
			if (l < 0) {
				rc = mq_fail_prefix(l, "cannot delete topic '%s'",
				                    name);
				goto out;
			}
			mq_unlock(l);
		}
	}
	if (has_conf) {
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = mq_fail(MQ_EIO, "cannot remove '%s'", path);
			goto out;
		}
		if ((rc = mq_fsync_dir(topics)) < 0)
			goto out;
	}
	for (size_t i = 0; i < e.n; i++) {
		int r;
		if (fstatat(datafd, e.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = remove_partition(env, datafd, e.v[i], flags);
		else if (unlinkat(datafd, e.v[i], 0) < 0 && errno != ENOENT)
			r = mq_fail(MQ_EIO, "cannot remove '%s/%s'", env->path,
			            e.v[i]);
		else
			r = MQ_OK;
		if (r < 0 && rc == MQ_OK)
			rc = r;
	}
	int r = mq_fsync_dir(env->path);
	if (rc == MQ_OK)
		rc = r;
out:
	if (datafd >= 0)
		close(datafd);
	ents_free(&e);
	mq_unlock(lock);
	return rc;
}
