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

/* take flocks fd (the lock file DIR/NAME) exclusively, waiting unless
 * MQ_NOWAIT is in flags; 0, MQ_EBUSY or MQ_EIO with errno kept. */
static int take(int fd, int flags, const char *dir, const char *name,
                const char *holder)
{
	int op = LOCK_EX | ((flags & MQ_NOWAIT) ? LOCK_NB : 0);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		int rc = e == EWOULDBLOCK ?
		    mq_fail(MQ_EBUSY, "'%s/%s' is locked by %s", dir, name,
		            holder) :
		    mq_fail(MQ_EIO, "cannot lock '%s/%s'", dir, name);
		errno = e;
		return rc;
	}
	return MQ_OK;
}

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
	int rc = take(fd, flags, dir, name, holder);
	if (rc < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	return fd;
}

int mq_relock_partition(int *fd, const char *dir, const char *topic,
                        int32_t p, int flags)
{
	if (*fd >= 0) {
		int rc = take(*fd, flags, dir, MQ_LOCK_FILE, "another process");
		if (rc < 0)
			return mq_fail_prefix(rc, "topic '%s' partition %d", topic, p);
		struct stat st;
		if (fstat(*fd, &st) == 0 && st.st_nlink > 0)
			return MQ_OK;
		/* Deleted since, and perhaps created anew: open it again. */
		close(*fd);
		*fd = -1;
	}
	int rc = mq_lock_partition(dir, topic, p, flags);
	if (rc < 0)
		return rc;
	*fd = rc;
	return MQ_OK;
}

void mq_release(int fd)
{
	if (fd >= 0)
		flock(fd, LOCK_UN);
}

void mq_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor drops the flock */
}
