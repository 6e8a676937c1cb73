/*
 * inspect-groups.h - mq-inspect's consumer group views (inspect-groups.c).
 */
#ifndef MQ_INSPECT_GROUPS_H
#define MQ_INSPECT_GROUPS_H

#include "mq.h"

/*
 * inspect_groups_list prints every group with its topics and its number
 * of live members, as a table or (json) one JSON document.  Returns an
 * exit code.
 */
int inspect_groups_list(mq_env *env, int json);

/*
 * inspect_group_describe prints, for each partition GROUP knows, the
 * committed offset, the log end offset, the lag (end - committed) and the
 * owner, as kafka-consumer-groups --describe does.  Returns an exit code.
 */
int inspect_group_describe(mq_env *env, const char *group, int json);

#endif
