/*
 * nofollow.h - refusing symbolic links inside the data directory.
 *
 * The data directory itself may be a symbolic link (users do that), but
 * nothing inside it is followed: a symbolic link placed there could make a
 * tool read, write or delete files elsewhere.  Meeting one is an error
 * naming the link, "'PATH' is a symbolic link; refusing to follow it"
 * (MQ_EINVAL).  See format-spec/layout.md, "Symbolic links".
 */
#ifndef MQ_NOFOLLOW_H
#define MQ_NOFOLLOW_H

#include <sys/types.h>

/*
 * mq_refuse_symlink returns MQ_EINVAL with the message above when path is
 * a symbolic link, else MQ_OK (also when it is missing or cannot be
 * examined: the caller's own open then reports that).
 */
int mq_refuse_symlink(const char *path);

/*
 * mq_refuse_symlinks checks BASE/REL component by component (BASE/a,
 * BASE/a/b, ... for REL "a/b/..."), stopping at the first one that is
 * missing; BASE itself is not checked.  MQ_EINVAL naming the first
 * component that is a symbolic link, or if the path does not fit.
 */
int mq_refuse_symlinks(const char *base, const char *rel);

/*
 * mq_open_nofollow opens path with flags | O_NOFOLLOW | O_CLOEXEC (mode
 * is used with O_CREAT) and returns the descriptor.  A symbolic link is
 * MQ_EINVAL with the message above; any other failure is MQ_EIO "cannot
 * open 'PATH'" with errno kept (ENOENT for a missing file).
 */
int mq_open_nofollow(const char *path, int flags, mode_t mode);

/*
 * mq_opendir_nofollow opens the directory path for reading with
 * O_DIRECTORY | O_NOFOLLOW; failures as for mq_open_nofollow.
 */
int mq_opendir_nofollow(const char *path);

/*
 * mq_openat_nofollow is mq_open_nofollow for the entry name of the
 * directory open as dfd, whose path dir is used in messages.
 */
int mq_openat_nofollow(int dfd, const char *dir, const char *name, int flags,
                       mode_t mode);

#endif
