/*
 * consume-topics.c - which topics mq-consume's TOPIC[,TOPIC...] arguments
 * name: split at commas, literal names checked, shell-style patterns
 * expanded against the topics of the data directory.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "consume-topics.h"
#include "tool.h"

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

static void strlist_add(struct strlist *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		char **nv = realloc(l->v, l->cap * sizeof *nv);
		if (!nv)
			die(EXIT_ERROR, "out of memory");
		l->v = nv;
	}
	l->v[l->n++] = s;
}

static int strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* Adds a copy of name to names unless it is there already. */
static void add_name(struct strlist *names, const char *name)
{
	if (strlist_has(names, name))
		return;
	char *copy = strdup(name);
	if (!copy)
		die(EXIT_ERROR, "out of memory");
	strlist_add(names, copy);
}

static int is_pattern(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/*
 * Splits the TOPIC arguments at commas into specs, checking every literal
 * name before anything is opened (an invalid name is a usage error).
 */
void consume_split_topics(char **args, int n, struct strlist *specs)
{
	for (int i = 0; i < n; i++) {
		const char *a = args[i];
		for (;;) {
			size_t len = strcspn(a, ",");
			char *spec = strndup(a, len);
			if (!spec)
				die(EXIT_ERROR, "out of memory");
			if (!is_pattern(spec) && !mq_name_valid(spec))
				usage_error("invalid topic name '%s'", spec);
			strlist_add(specs, spec);
			if (!a[len])
				break;
			a += len + 1;
		}
	}
}

/* Expands patterns against the existing topics into names, in argument
 * order, each topic once. */
void consume_resolve_topics(mq_env *env, const struct strlist *specs,
                            struct strlist *names)
{
	char **all = NULL;
	for (size_t i = 0; i < specs->n; i++) {
		const char *spec = specs->v[i];
		if (!is_pattern(spec)) {
			add_name(names, spec);
			continue;
		}
		if (!all) {
			int rc = mq_topic_list(env, &all);
			if (rc < 0)
				die_mq(rc, "cannot list topics");
		}
		int matched = 0;
		for (char **t = all; *t; t++) {
			if (fnmatch(spec, *t, 0) != 0)
				continue;
			matched = 1;
			add_name(names, *t);
		}
		if (!matched)
			die(EXIT_ERROR, "no topic matches '%s'", spec);
	}
	mq_free_list(all);
}
