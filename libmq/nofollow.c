/*
 * nofollow.c - refusing symbolic links inside the data directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "nofollow.h"

/* is_link tells whether path is a symbolic link; errno is kept. */
static int is_link(const char *path)
{
	struct stat st;
	int e = errno;
	int r = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
	errno = e;
	return r;
}

/* refuse records the error for the symbolic link path. */
static int refuse(const char *path)
{
	errno = ELOOP;
	return mq_fail(MQ_EINVAL, "'%s' is a symbolic link; refusing to "
	               "follow it", path);
}

int mq_refuse_symlink(const char *path)
{
	return is_link(path) ? refuse(path) : MQ_OK;
}

int mq_refuse_symlinks(const char *base, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;
	int n = snprintf(path, sizeof path, "%s/%s", base, rel);
	if (n < 0 || n >= (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s/%s", base, rel);
	size_t start = strlen(base) + 1;
	for (size_t i = start; ; i++) {
		char c = path[i];
		if (c != '/' && c != '\0')
			continue;
		if (i > start && path[i - 1] != '/') {
			path[i] = '\0';
			int r = lstat(path, &st);
			if (r == 0 && S_ISLNK(st.st_mode))
				return refuse(path);
			path[i] = c;
			if (r < 0)
				return MQ_OK;
		}
		if (c == '\0')
			return MQ_OK;
	}
}

int mq_open_nofollow(const char *path, int flags, mode_t mode)
{
	int fd;
	do
		fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0)
		return fd;
	if ((errno == ELOOP || errno == ENOTDIR) && is_link(path))
		return refuse(path);
	return mq_fail(MQ_EIO, "cannot open '%s'", path);
}

int mq_opendir_nofollow(const char *path)
{
	return mq_open_nofollow(path, O_RDONLY | O_DIRECTORY, 0);
}

int mq_openat_nofollow(int dfd, const char *dir, const char *name, int flags,
                       mode_t mode)
{
	struct stat st;
	int fd;
	do
		fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0)
		return fd;
	int e = errno;
	if ((e == ELOOP || e == ENOTDIR) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return mq_fail(MQ_EINVAL, "'%s/%s' is a symbolic link; "
		               "refusing to follow it", dir, name);
	}
	errno = e;
	return mq_fail(MQ_EIO, "cannot open '%s/%s'", dir, name);
}
