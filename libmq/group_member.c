/*
 * group_member.c - consumer group membership: the group's directories,
 * the administration lock (a flock on the members directory itself),
 * registering a member (an exclusively flocked file members/ID) and
 * counting the live ones.  See format-spec/groups.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "group.h"
#include "nofollow.h"

int mq_group_dir(mq_env *env, const char *group, const char *sub, char *buf,
                 size_t len)
{
	int rc = mq_name_check(group, "group");
	if (rc < 0)
		return rc;
	int n = sub ? snprintf(buf, len, "%s/%s/%s/%s", env->path,
	                       MQ_GROUPS_DIR, group, sub)
	            : snprintf(buf, len, "%s/%s/%s", env->path,
	                       MQ_GROUPS_DIR, group);
	if (n < 0 || (size_t)n >= len)
		return mq_fail(MQ_EINVAL, "path too long: %s", env->path);
	/* No symbolic link inside the data directory is followed. */
	return mq_refuse_symlinks(env->path, buf + strlen(env->path) + 1);
}

/*
 * Creates path if missing; MQ_EIO unless it exists afterwards, MQ_EINVAL
 * if it is a symbolic link.
 */
static int mkdir_one(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return mq_fail(MQ_EIO, "cannot create directory '%s'", path);
	return mq_refuse_symlink(path);
}

int mq_group_mkdirs(mq_env *env, const char *group)
{
	char path[PATH_MAX];
	int rc;
	static const char *const parts[] = { MQ_META_DIR, MQ_GROUPS_DIR };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", env->path, parts[i]);
		if ((rc = mkdir_one(path)) < 0)
			return rc;
	}
	if ((rc = mq_group_dir(env, group, NULL, path, sizeof path)) < 0 ||
	    (rc = mkdir_one(path)) < 0 ||
	    (rc = mq_group_dir(env, group, MQ_MEMBERS_DIR, path,
	                       sizeof path)) < 0)
		return rc;
	return mkdir_one(path);
}

int mq_group_lock_members(mq_env *env, const char *group, int exclusive,
                          int create)
{
	char path[PATH_MAX];
	int rc;
	if ((rc = mq_group_dir(env, group, MQ_MEMBERS_DIR, path,
	                       sizeof path)) < 0)
		return rc;
	for (int tries = 0; tries < 100; tries++) {
		if (create && (rc = mq_group_mkdirs(env, group)) < 0)
			return rc;
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		              O_CLOEXEC);
		if (fd < 0) {
			if ((rc = mq_refuse_symlink(path)) < 0)
				return rc;
			if (!create && errno == ENOENT)
				return mq_fail(MQ_EINVAL, "no such group '%s'",
				               group);
			return mq_fail(MQ_EIO, "cannot open '%s'", path);
		}
		while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return mq_fail(MQ_EIO, "cannot lock '%s'", path);
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return mq_fail(MQ_EIO, "cannot stat '%s'", path);
		}
		if (st.st_nlink > 0)
			return fd;
		/* The group was deleted while we waited. */
		close(fd);
		if (!create)
			return mq_fail(MQ_EINVAL, "no such group '%s'", group);
	}
	return mq_fail(MQ_EIO, "group '%s' keeps disappearing", group);
}

void mq_group_free_ids(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Tests the member file name in dfd: 1 if a live member holds it, 0 if
 * it is dead or gone (removed when reap is set).
 */
static int member_live(int dfd, const char *name, int reap)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	                O_NONBLOCK);
	if (fd < 0)
		return 0;
	int live = 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		live = errno == EWOULDBLOCK || errno == EINTR;
	else if (reap)
		unlinkat(dfd, name, 0);
	close(fd);
	return live;
}

int mq_group_scan(int dfd, const char *skip, int reap, char ***ids,
                  size_t *n)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot open the members directory");
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
		return mq_fail(MQ_EIO, "cannot read the members directory");
	}
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = MQ_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (strncmp(name, ".join-", 6) == 0) {
			if (reap)
				member_live(dfd, name, 1);
			continue;
		}
		if (strchr(name, '.') || de->d_type == DT_DIR)
			continue;
		if (!(skip && strcmp(name, skip) == 0) &&
		    !member_live(dfd, name, reap))
			continue;
		if (ids) {
			if (cnt == cap) {
				cap = cap ? cap * 2 : 8;
				char **nv = realloc(v, cap * sizeof *nv);
				if (!nv) {
					rc = mq_fail(MQ_ENOMEM, "out of memory");
					break;
				}
				v = nv;
			}
			if (!(v[cnt] = strdup(name))) {
				rc = mq_fail(MQ_ENOMEM, "out of memory");
				break;
			}
		}
		cnt++;
	}
	closedir(d);
	if (rc < 0) {
		mq_group_free_ids(v, cnt);
		return rc;
	}
	if (ids) {
		if (cnt)
			qsort(v, cnt, sizeof *v, cmp_str);
		*ids = v;
	}
	*n = cnt;
	return MQ_OK;
}

int mq_group_members(mq_env *env, const char *group, size_t *live)
{
	char path[PATH_MAX];
	int rc;
	*live = 0;
	if ((rc = mq_group_dir(env, group, MQ_MEMBERS_DIR, path,
	                       sizeof path)) < 0)
		return rc;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		if ((rc = mq_refuse_symlink(path)) < 0)
			return rc;
		if (errno == ENOENT)
			return MQ_OK;
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	}
	rc = mq_group_scan(dfd, NULL, 0, NULL, live);
	close(dfd);
	return rc < 0 ? mq_fail_prefix(rc, "group '%s'", group) : MQ_OK;
}

/* ------------------------------------------------------------------ */
/* Joining.                                                            */

static void free_topics(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * Copies the n topic names, sorted and without repeats, into g->topics
 * and builds g->parts from their partition counts.
 */
static int subscribe(mq_group *g, const char *const *topics, size_t n)
{
	int rc;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return mq_fail(MQ_ENOMEM, "out of memory");
	g->topics = v;
	for (size_t i = 0; i < n; i++) {
		if ((rc = mq_name_check(topics[i], "topic")) < 0)
			return rc;
		if (!(v[i] = strdup(topics[i])))
			return mq_fail(MQ_ENOMEM, "out of memory");
	}
	qsort(v, n, sizeof *v, cmp_str);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		char *s = v[i];
		v[i] = NULL;
		if (m && strcmp(v[m - 1], s) == 0)
			free(s);
		else
			v[m++] = s;
	}
	int32_t *counts = calloc(m ? m : 1, sizeof *counts);
	if (!counts)
		return mq_fail(MQ_ENOMEM, "out of memory");
	size_t total = 0;
	for (size_t i = 0; i < m; i++) {
		mq_topic *t;
		if ((rc = mq_topic_open(g->env, v[i], &t)) < 0) {
			free(counts);
			return rc;
		}
		counts[i] = mq_topic_partitions(t);
		total += (size_t)counts[i];
		mq_topic_close(t);
	}
	g->parts = calloc(total ? total : 1, sizeof *g->parts);
	if (!g->parts) {
		free(counts);
		return mq_fail(MQ_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < m; i++)
		for (int32_t p = 0; p < counts[i]; p++) {
			struct mq_gpart *gp = &g->parts[g->nparts++];
			gp->topic = v[i];
			gp->partition = p;
			gp->owner_fd = -1;
			gp->committed = gp->processed = -1;
		}
	free(counts);
	return MQ_OK;
}

/* Creates GROUP/TOPIC for every subscribed topic. */
static int make_topic_dirs(mq_group *g)
{
	char path[PATH_MAX];
	int rc;
	for (size_t i = 0; g->topics[i]; i++) {
		if ((rc = mq_group_dir(g->env, g->group, g->topics[i], path,
		                       sizeof path)) < 0 ||
		    (rc = mkdir_one(path)) < 0)
			return rc;
	}
	return MQ_OK;
}

/*
 * Writes the member file: a temporary .join- file, locked and filled
 * before it is renamed to its id, so that no scanner ever sees it
 * unlocked.
 */
static int register_member(mq_group *g)
{
	char tmp[PATH_MAX], path[PATH_MAX], host[256] = "";
	uint32_t rnd = 0;
	int rc;
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
		rnd = (uint32_t)getpid() * 2654435761u ^ (uint32_t)mq_now_ms();
	int64_t now = mq_now_ms();
	snprintf(g->id, sizeof g->id, "%013" PRId64 "-%ld-%08" PRIx32, now,
	         (long)getpid(), rnd);
	if ((rc = mq_group_dir(g->env, g->group, MQ_MEMBERS_DIR "/.join-XXXXXX",
	                       tmp, sizeof tmp)) < 0 ||
	    (rc = mq_group_dir(g->env, g->group, MQ_MEMBERS_DIR, path,
	                       sizeof path)) < 0)
		return rc;
	size_t plen = strlen(path);
	if (plen + 1 + strlen(g->id) >= sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", path);
	snprintf(path + plen, sizeof path - plen, "/%s", g->id);
	/* A scanner reaps a .join- file it can lock: one may take ours
	 * between its creation and our flock.  Once we hold the lock the
	 * file is safe; if it was reaped before, make another. */
	size_t tlen = strlen(tmp);
	int fd = -1;
	for (int tries = 0; fd < 0; tries++) {
		struct stat st;
		memcpy(tmp + tlen - 6, "XXXXXX", 6);
		if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
			return mq_fail(MQ_EIO, "cannot create '%s'", tmp);
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0)
			goto fail;
		if (st.st_nlink == 0 && tries < 100) {
			close(fd);
			fd = -1;
		}
	}
	if (fchmod(fd, 0644) < 0)
		goto fail;
	gethostname(host, sizeof host - 1);
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "pid=%ld\nhost=%s\nsince=%" PRId64
	                 "\nmember=%s\n", (long)getpid(), host, now, g->id);
	if (n > 0 && (size_t)n < sizeof buf &&
	    write(fd, buf, (size_t)n) != n)
		goto fail;
	if (rename(tmp, path) < 0)
		goto fail;
	g->member_fd = fd;
	return MQ_OK;
fail:;
	int e = errno;
	unlink(tmp);
	close(fd);
	errno = e;
	return mq_fail(MQ_EIO, "cannot register in group '%s' ('%s')",
	               g->group, path);
}

int mq_group_join(mq_env *env, const char *group, const char *const *topics,
                  size_t n, mq_group **out)
{
	char path[PATH_MAX];
	int rc;
	*out = NULL;
	if ((rc = mq_group_dir(env, group, NULL, path, sizeof path)) < 0)
		return rc;
	mq_group *g = calloc(1, sizeof *g);
	if (!g)
		return mq_fail(MQ_ENOMEM, "out of memory");
	g->env = env;
	g->member_fd = -1;
	g->mdir_fd = -1;
	if (!(g->group = strdup(group)) || !(g->dir = strdup(path))) {
		rc = mq_fail(MQ_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = subscribe(g, topics, n)) < 0)
		goto fail;
	int lfd = mq_group_lock_members(env, group, 0, 1);
	if (lfd < 0) {
		rc = lfd;
		goto fail;
	}
	if ((rc = make_topic_dirs(g)) == MQ_OK &&
	    (rc = register_member(g)) == MQ_OK) {
		g->mdir_fd = lfd;
		flock(lfd, LOCK_UN);
	} else {
		close(lfd);
		goto fail;
	}
	*out = g;
	return MQ_OK;
fail:
	mq_group_free(g);
	return rc;
}

void mq_group_free(mq_group *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nparts; i++)
		if (g->parts[i].owner_fd >= 0)
			close(g->parts[i].owner_fd);
	if (g->member_fd >= 0) {
		if (g->mdir_fd >= 0)
			unlinkat(g->mdir_fd, g->id, 0);
		close(g->member_fd);
	}
	if (g->mdir_fd >= 0)
		close(g->mdir_fd);
	mq_group_free_ids(g->members, g->nmembers);
	free_topics(g->topics);
	free(g->parts);
	free(g->dir);
	free(g->group);
	free(g);
}
