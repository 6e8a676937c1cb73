/*
 * group.h - consumer groups: the member handle and the paths and helpers
 * that group.c, group_member.c, group_commit.c and group_describe.c share.
 * The protocol is specified in format-spec/groups.md.
 */
#ifndef MQ_GROUP_H
#define MQ_GROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

#define MQ_GROUPS_DIR ".mq/groups"
#define MQ_MEMBERS_DIR "members"
#define MQ_MEMBER_ID_MAX 48

/* One partition of the subscription, in assignment order. */
struct mq_gpart {
	char *topic;             /* points into mq_group.topics */
	int32_t partition;
	int owner_fd;            /* the flocked P.owner, or -1 */
	int64_t committed;       /* last known committed offset, -1 none */
	int64_t processed;       /* next offset to commit, -1 none yet */
};

struct mq_group {
	mq_env *env;
	char *group;
	char *dir;               /* DIR/.mq/groups/GROUP */
	char id[MQ_MEMBER_ID_MAX];
	int member_fd;           /* flocked members/ID */
	int mdir_fd;             /* the members directory */
	char **topics;           /* sorted, NULL-terminated */
	struct mq_gpart *parts;  /* sorted by (topic, partition) */
	size_t nparts;
	size_t live;             /* live members at the last rebalance */
	size_t index;            /* this member's index among them */
	char **members;          /* sorted live ids of the last scan */
	size_t nmembers, members_cap;
};

/*
 * mq_group_dir writes DIR/.mq/groups/GROUP (and, when sub is not NULL,
 * "/" and sub) to buf after checking the group name.  MQ_EBADNAME for an
 * invalid name, MQ_EINVAL if the path does not fit.
 */
int mq_group_dir(mq_env *env, const char *group, const char *sub, char *buf,
                 size_t len);

/*
 * mq_group_mkdirs creates DIR/.mq/groups/GROUP/members (and the
 * directories above it) where missing.  MQ_EIO on failure.
 */
int mq_group_mkdirs(mq_env *env, const char *group);

/*
 * mq_group_lock_members opens GROUP/members and flocks the directory
 * itself, shared (joining) or exclusive (administration), waiting for
 * it.  This is the group's administration lock.  Returns the descriptor,
 * or MQ_EIO; with create the directories are made first.  A directory
 * removed while waiting (a deleted group) is retried, or MQ_ENOTOPIC
 * ("no such group") when create is 0.
 */
int mq_group_lock_members(mq_env *env, const char *group, int exclusive,
                          int create);

/*
 * mq_group_scan lists the member files of the members directory dfd
 * (names without a dot) and counts the live ones: a file whose flock
 * cannot be taken shared without waiting belongs to a live member.  With
 * reap, dead members' files (and leftover .join- files) are removed.
 * The live ids, sorted, go to *ids (malloc'ed strings in a malloc'ed
 * array of *n) when ids is not NULL.  skip (may be NULL) names this
 * process's own member, which is counted live without being tested.
 * MQ_EIO or MQ_ENOMEM on failure.
 */
int mq_group_scan(int dfd, const char *skip, int reap, char ***ids,
                  size_t *n);

/* mq_group_free_ids frees n ids from mq_group_scan.  NULL allowed. */
void mq_group_free_ids(char **ids, size_t n);

/*
 * mq_group_free closes every lock (releasing the partitions without a
 * commit), removes the registration and frees g.  NULL is allowed.
 */
void mq_group_free(mq_group *g);

/*
 * mq_group_write_offset replaces PATH's content with "OFFSET\n" through a
 * temporary file in the same directory and rename(2); with durable the
 * temporary file and then the directory are fsynced.  MQ_EIO on failure
 * (the temporary file is removed).
 */
int mq_group_write_offset(const char *path, int64_t offset, int durable);

/*
 * mq_group_read_owner reads the display content of an ownership file
 * (key=value lines: pid, host, since, member) into *o.  Unknown or
 * missing keys leave the fields at their zero values.
 */
void mq_group_read_owner(int fd, mq_group_owner *o);

/*
 * mq_group_part_path writes GROUP/TOPIC/P.SUFFIX of partition i to buf;
 * MQ_EINVAL if it does not fit.
 */
int mq_group_part_path(const mq_group *g, size_t i, const char *suffix,
                       char *buf, size_t len);

/* mq_group_clear empties an ownership file (display only; cannot fail). */
void mq_group_clear(int fd);

/*
 * mq_group_commit_one commits partition i's processed offset if this
 * member owns it and the offset changed (see mq_group_commit).
 */
int mq_group_commit_one(mq_group *g, size_t i, int flags);

/*
 * mq_group_release_all releases every owned partition, committing each
 * first; fn is called as for mq_group_rebalance.  Returns the first
 * failure, after releasing all of them.
 */
int mq_group_release_all(mq_group *g, int flags, mq_group_fn fn, void *ctx);

#endif
