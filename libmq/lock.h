/*
 * lock.h - the partition writer lock (flock on DIR/mq.lock).
 */
#ifndef MQ_LOCK_H
#define MQ_LOCK_H

#include <stdint.h>

#define MQ_LOCK_FILE "mq.lock"

/*
 * mq_lock_dir opens (creating if needed) DIR/mq.lock and takes an exclusive
 * flock on it, waiting unless MQ_NOWAIT is in flags.  Returns the locked
 * descriptor (>= 0), MQ_EBUSY if the lock is held and MQ_NOWAIT was given,
 * MQ_EINVAL if DIR or the lock file is a symbolic link (never followed),
 * or MQ_EIO.
 */
int mq_lock_dir(const char *dir, int flags);

/*
 * mq_lock_file is mq_lock_dir for the lock file DIR/NAME; holder names who
 * holds it in the MQ_EBUSY message ("another process", "another
 * mq-compact").
 */
int mq_lock_file(const char *dir, const char *name, int flags,
                 const char *holder);

/*
 * mq_lock_partition is mq_lock_dir for the partition directory DIR of
 * partition P of topic TOPIC, with messages naming them: it returns
 * MQ_ENOTOPIC if the partition was deleted (before or while it waited),
 * or mq_lock_dir's failure.
 */
int mq_lock_partition(const char *dir, const char *topic, int32_t p,
                      int flags);

/*
 * mq_relock_partition is mq_lock_partition through a lock file descriptor
 * kept open between uses: *fd (-1 at first) is opened if needed, or opened
 * again if the partition was deleted since (perhaps created anew).  Returns
 * MQ_OK with *fd locked, or mq_lock_partition's failure (*fd then stays
 * open, unlocked, or is -1).  Release with mq_release; close *fd when done.
 * A descriptor shared with a forked process shares its lock: a child
 * starts again from -1 (log.c's lock_part sees to it).
 */
int mq_relock_partition(int *fd, const char *dir, const char *topic,
                        int32_t p, int flags);

/* mq_release releases the lock of a descriptor locked by
 * mq_relock_partition, keeping it open. */
void mq_release(int fd);

/* mq_unlock releases and closes a descriptor from mq_lock_dir. */
void mq_unlock(int fd);

#endif
