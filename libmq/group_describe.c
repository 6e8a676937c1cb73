/*
 * group_describe.c - what a consumer group knows, for mq-inspect: the
 * partitions it has offsets or owners for, each with its committed
 * offset and its owner, read without changing anything.
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

/* A growing array of mq_group_pinfo. */
struct plist {
	mq_group_pinfo *v;
	size_t n, cap;
};

static int plist_add(struct plist *l, const char *topic, int32_t p)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].partition == p && strcmp(l->v[i].topic, topic) == 0)
			return MQ_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		mq_group_pinfo *nv = realloc(l->v, cap * sizeof *nv);
		if (!nv)
			return mq_fail(MQ_ENOMEM, "out of memory");
		l->v = nv;
		l->cap = cap;
	}
	mq_group_pinfo *pi = &l->v[l->n];
	memset(pi, 0, sizeof *pi);
	if (!(pi->topic = strdup(topic)))
		return mq_fail(MQ_ENOMEM, "out of memory");
	pi->partition = p;
	pi->committed = -1;
	l->n++;
	return MQ_OK;
}

/*
 * Parses "N.offset" or "N.owner" into *p; 0 if name is neither.
 */
static int part_file(const char *name, int32_t *p)
{
	int64_t v = 0;
	const char *s = name;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return 0;
	}
	if (s == name || (s - name > 1 && name[0] == '0'))
		return 0;
	if (strcmp(s, ".offset") != 0 && strcmp(s, ".owner") != 0)
		return 0;
	*p = (int32_t)v;
	return 1;
}

/* Adds the partitions of topic: the topic's, and those with files. */
static int add_topic(mq_env *env, const char *gdir, const char *topic,
                     struct plist *l)
{
	char path[PATH_MAX];
	int rc;
	mq_topic *t;
	if (mq_topic_open(env, topic, &t) == MQ_OK) {
		for (int32_t p = 0; p < mq_topic_partitions(t); p++)
			if ((rc = plist_add(l, topic, p)) < 0) {
				mq_topic_close(t);
				return rc;
			}
		mq_topic_close(t);
	}
	if (snprintf(path, sizeof path, "%s/%s", gdir, topic) >=
	    (int)sizeof path)
		return MQ_OK;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return MQ_OK;
	}
	struct dirent *de;
	rc = MQ_OK;
	while (rc == MQ_OK && (de = readdir(d))) {
		int32_t p;
		if (part_file(de->d_name, &p))
			rc = plist_add(l, topic, p);
	}
	closedir(d);
	return rc;
}

/* Fills in the owner of l->v[i] from its ownership file. */
static void look_owner(const char *gdir, mq_group_pinfo *pi)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s/%" PRId32 ".owner", gdir,
	             pi->topic, pi->partition) >= (int)sizeof path)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		pi->owned = 1;
		mq_group_read_owner(fd, &pi->owner);
	}
	close(fd);
}

static int cmp_pinfo(const void *a, const void *b)
{
	const mq_group_pinfo *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	if (c)
		return c;
	return (x->partition > y->partition) - (x->partition < y->partition);
}

void mq_group_describe_free(mq_group_pinfo *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].topic);
	free(v);
}

int mq_group_describe(mq_env *env, const char *group, mq_group_pinfo **out,
                      size_t *n)
{
	char gdir[PATH_MAX];
	struct plist l = { 0 };
	int rc;
	*out = NULL;
	*n = 0;
	if ((rc = mq_group_dir(env, group, NULL, gdir, sizeof gdir)) < 0)
		return rc;
	DIR *d = opendir(gdir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return mq_fail(MQ_EINVAL, "no such group '%s'", group);
		return mq_fail(MQ_EIO, "cannot read '%s'", gdir);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (!mq_name_valid(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		/* The members directory adds nothing unless a topic is
		 * named "members": member files are not N.offset. */
		if ((rc = add_topic(env, gdir, de->d_name, &l)) < 0)
			break;
	}
	closedir(d);
	if (rc < 0) {
		mq_group_describe_free(l.v, l.n);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof *l.v, cmp_pinfo);
	for (size_t i = 0; i < l.n; i++) {
		mq_group_pinfo *pi = &l.v[i];
		rc = mq_group_committed(env, group, pi->topic, pi->partition,
		                        &pi->committed);
		if (rc < 0) {
			mq_group_describe_free(l.v, l.n);
			return rc;
		}
		look_owner(gdir, pi);
	}
	*out = l.v;
	*n = l.n;
	return MQ_OK;
}
