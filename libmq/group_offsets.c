/*
 * group_offsets.c - reading consumer groups' committed offsets: the
 * groups under DIR/.mq/groups and the files GROUP/TOPIC/P.offset, each a
 * decimal offset (the next record the group will consume) and a newline.
 * Writing them is the consumer-groups change's business; retention only
 * reads them.
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
#include "nofollow.h"

#define GROUPS_DIR ".mq/groups"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int mq_group_list(mq_env *env, char ***names)
{
	char path[PATH_MAX];
	*names = NULL;
	if (snprintf(path, sizeof path, "%s/%s", env->path, GROUPS_DIR) >=
	    (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", env->path);
	/* No symbolic link inside the data directory is followed. */
	int rc = mq_refuse_symlinks(env->path, GROUPS_DIR);
	if (rc < 0)
		return rc;
	char **v = malloc(sizeof *v);
	size_t n = 0, cap = 1;
	if (!v)
		return mq_fail(MQ_ENOMEM, "out of memory");
	DIR *d = opendir(path);
	if (!d) {
		if (errno != ENOENT && errno != ENOTDIR) {
			free(v);
			return mq_fail(MQ_EIO, "cannot read directory '%s'", path);
		}
		v[0] = NULL;
		*names = v;
		return MQ_OK;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		struct stat st;
		if (!mq_name_valid(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			goto next;
		if (n + 1 >= cap) {
			char **nv = realloc(v, cap * 2 * sizeof *v);
			if (!nv) {
				rc = mq_fail(MQ_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap *= 2;
		}
		if (!(v[n] = strdup(de->d_name))) {
			rc = mq_fail(MQ_ENOMEM, "out of memory");
			break;
		}
		n++;
next:
		errno = 0;
	}
	if (rc == MQ_OK && errno != 0)
		rc = mq_fail(MQ_EIO, "cannot read directory '%s'", path);
	closedir(d);
	if (rc < 0) {
		free_names(v, n);
		return rc;
	}
	qsort(v, n, sizeof *v, cmp_str);
	v[n] = NULL;
	*names = v;
	return MQ_OK;
}

int mq_group_committed(mq_env *env, const char *group, const char *topic,
                       int32_t p, int64_t *offset)
{
	char path[PATH_MAX], buf[32];
	int rc;
	*offset = -1;
	if ((rc = mq_name_check(group, "group")) < 0 ||
	    (rc = mq_name_check(topic, "topic")) < 0)
		return rc;
	if (p < 0)
		return mq_fail(MQ_EINVAL, "invalid partition %d", p);
	if (snprintf(path, sizeof path, "%s/%s/%s/%s/%d.offset", env->path,
	             GROUPS_DIR, group, topic, p) >= (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", env->path);
	if ((rc = mq_refuse_symlinks(env->path, path + strlen(env->path) +
	                             1)) < 0)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return MQ_OK;
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
	}
	ssize_t n;
	do
		n = read(fd, buf, sizeof buf - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return mq_fail(MQ_EIO, "cannot read '%s'", path);
	}
	int64_t v = 0;
	ssize_t i = 0;
	for (; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (v > (INT64_MAX - (buf[i] - '0')) / 10)
			break;
		v = v * 10 + (buf[i] - '0');
	}
	if (i == 0 || i + 1 != n || buf[i] != '\n')
		return mq_fail(MQ_ECORRUPT, "group '%s': '%s' does not hold an "
		               "offset", group, path);
	*offset = v;
	return MQ_OK;
}
