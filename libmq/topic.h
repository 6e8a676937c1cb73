/*
 * topic.h - what topic.c shares with topic_delete.c.
 */
#ifndef MQ_TOPIC_H
#define MQ_TOPIC_H

#include "internal.h"

/* mq_pathf formats a path into buf[PATH_MAX]; MQ_EINVAL if it does not
 * fit. */
__attribute__((format(printf, 2, 3)))
int mq_pathf(char *buf, const char *fmt, ...);

/*
 * mq_admin_lock creates DIR/.mq/topics if needed and returns a descriptor
 * holding the exclusive admin lock (release with mq_unlock), or a negative
 * MQ_E* code (MQ_EBUSY with MQ_NOWAIT in flags).
 */
int mq_admin_lock(mq_env *env, int flags);

/* mq_conf_path writes DIR/.mq/topics/NAME.conf into buf[PATH_MAX];
 * MQ_EINVAL if it does not fit. */
int mq_conf_path(mq_env *env, const char *name, char *buf);

#endif
