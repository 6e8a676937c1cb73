/*
 * lock.c - the partition writer lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "lock.h"

int mq_lock_dir(const char *dir, int flags)
{
	return mq_lock_file(dir, MQ_LOCK_FILE, flags, "another process");
}

int mq_lock_file(const char *dir, const char *name, int flags,
                 const char *holder)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return mq_fail(MQ_EINVAL, "path too long: %s", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return mq_fail(MQ_EIO, "cannot open '%s'", path);
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
