/*
 * consume-topics.h - which topics mq-consume's TOPIC arguments name.
 */
#ifndef MQ_CONSUME_TOPICS_H
#define MQ_CONSUME_TOPICS_H

#include <stddef.h>

#include "mq.h"

/* A growable list of malloc'ed strings. */
struct strlist {
	char **v;
	size_t n, cap;
};

/* strlist_free frees the strings and the list, and empties it. */
void strlist_free(struct strlist *l);

/*
 * consume_split_topics splits the n TOPIC arguments at commas into specs
 * (malloc'ed copies), checking every literal name before anything is
 * opened: an invalid name is a usage error (exit 2).
 */
void consume_split_topics(char **args, int n, struct strlist *specs);

/*
 * consume_resolve_topics expands specs into names, in argument order and
 * each topic once: a literal name as it is, a pattern (with * ? or [)
 * into every existing topic it matches.  A pattern that matches nothing,
 * or a data directory that cannot be listed, exits 1 with a message.
 */
void consume_resolve_topics(mq_env *env, const struct strlist *specs,
                            struct strlist *names);

#endif
