/*
 * lock.c - the partition writer lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "lock.h"
#include "nofollow.h"

int mq_lock_dir(const char *dir, int flags)
{
	return mq_lock_file(dir, MQ_LOCK_FILE, flags, "another process");
}

int mq_lock_partition(const char *dir, const char *topic, int32_t p,
                      int flags)
{
	int lock = mq_lock_dir(dir, flags);
	if (lock < 0) {
		if (lock == MQ_EIO && errno == ENOENT)
			return mq_fail(MQ_ENOTOPIC, "topic '%s' partition %d was deleted",
			               topic, p);
		return mq_fail_prefix(lock, "topic '%s' partition %d", topic, p);
	}
	struct stat st;
	if (fstat(lock, &st) == 0 && st.st_nlink == 0) {
		mq_unlock(lock);
		return mq_fail(MQ_ENOTOPIC, "topic '%s' partition %d was deleted",
		               topic, p);
	}
	return lock;
}

int mq_lock_file(const char *dir, const char *name, int flags,
                 const char *holder)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", dir);
	/* Neither dir nor the lock file may be a symbolic link. */
	int dfd = mq_opendir_nofollow(dir);
	if (dfd < 0)
		return dfd;
	int fd = mq_openat_nofollow(dfd, dir, name, O_RDWR | O_CREAT, 0644);
	close(dfd);
	if (fd < 0)
		return fd;
	int op = LOCK_EX | ((flags & MQ_NOWAIT) ? LOCK_NB : 0);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		errno = e;
		if (e == EWOULDBLOCK)
			return mq_fail(MQ_EBUSY, "'%s' is locked by %s", path, holder);
		return mq_fail(MQ_EIO, "cannot lock '%s'", path);
	}
	return fd;
}

void mq_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor drops the flock */
}
