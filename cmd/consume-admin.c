/*
 * consume-admin.c - mq-consume's group administration, as
 * kafka-consumer-groups does it: --reset-offsets prints the planned
 * committed offsets (TOPIC PARTITION CURRENT NEW) and writes them only
 * with --execute; --delete-group removes a group.  Both writes need the
 * group to have no live member (exit 3 otherwise).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consume-group.h"
#include "tool.h"

/* One planned change. */
struct plan {
	char *topic;
	int32_t partition;
	int64_t current;         /* -1: none */
	int64_t next;
};

struct plans {
	struct plan *v;
	size_t n, cap;
};

static void plan_add(struct plans *pl, const char *topic, int32_t p)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->v[i].partition == p && strcmp(pl->v[i].topic, topic) == 0)
			return;
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 16;
		pl->v = realloc(pl->v, pl->cap * sizeof *pl->v);
		if (!pl->v)
			die(EXIT_ERROR, "out of memory");
	}
	struct plan *x = &pl->v[pl->n++];
	if (!(x->topic = strdup(topic)))
		die(EXIT_ERROR, "out of memory");
	x->partition = p;
	x->current = -1;
	x->next = 0;
}

/*
 * Adds the partitions named by TOPIC[:P[,P...]]; checks names first
 * (exit 2) and that the topic and partitions exist (exit 1).
 */
static void parse_target(mq_env *env, const char *arg, struct plans *pl)
{
	const char *colon = strchr(arg, ':');
	char *topic = strndup(arg, colon ? (size_t)(colon - arg) : strlen(arg));
	mq_topic *t;
	if (!topic)
		die(EXIT_ERROR, "out of memory");
	if (!mq_name_valid(topic))
		usage_error("invalid topic name '%s'", topic);
	int rc = mq_topic_open(env, topic, &t);
	if (rc == MQ_ENOTOPIC)
		die(EXIT_ERROR, "topic '%s' does not exist", topic);
	if (rc < 0)
		die_mq(rc, "cannot open topic '%s'", topic);
	int32_t np = mq_topic_partitions(t);
	mq_topic_close(t);
	if (!colon) {
		for (int32_t p = 0; p < np; p++)
			plan_add(pl, topic, p);
		free(topic);
		return;
	}
	const char *s = colon + 1;
	for (;;) {
		size_t len = strcspn(s, ",");
		char num[24];
		int64_t v;
		if (len == 0 || len >= sizeof num)
			usage_error("invalid partition list in '%s'", arg);
		memcpy(num, s, len);
		num[len] = '\0';
		if (parse_i64(num, &v) < 0 || v < 0 || v > INT32_MAX)
			usage_error("invalid partition '%s' in '%s'", num, arg);
		if (v >= np)
			die(EXIT_ERROR, "topic '%s' has no partition %s (it has "
			    "%d)", topic, num, np);
		plan_add(pl, topic, (int32_t)v);
		if (!s[len])
			break;
		s += len + 1;
	}
	free(topic);
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Computes x->current and x->next per the --reset-offsets spec. */
static void plan_one(mq_env *env, const struct group_opts *g, struct plan *x)
{
	mq_topic *t;
	int64_t start, end;
	int rc = mq_group_committed(env, g->group, x->topic, x->partition,
	                            &x->current);
	if (rc < 0)
		die_mq(rc, "cannot read the committed offset of %s/%d",
		       x->topic, x->partition);
	if ((rc = mq_topic_open(env, x->topic, &t)) < 0 ||
	    (rc = mq_log_offsets(t, x->partition, &start, &end)) < 0)
		die_mq(rc, "cannot read offsets of %s/%d", x->topic,
		       x->partition);
	switch (g->reset_offsets) {
	case RO_EARLIEST:
		x->next = start;
		break;
	case RO_LATEST:
		x->next = end;
		break;
	case RO_OFFSET:
		x->next = clamp(g->ro_arg, start, end);
		break;
	case RO_SHIFT: {
		int64_t base = x->current >= 0 ? x->current : start;
		int64_t v = g->ro_arg > 0 && base > INT64_MAX - g->ro_arg
		            ? INT64_MAX : base + g->ro_arg;
		x->next = clamp(v, start, end);
		break;
	}
	case RO_DATETIME: {
		mq_reader *r;
		if ((rc = mq_reader_open(t, x->partition, &r)) < 0 ||
		    (rc = mq_reader_seek_time(r, g->ro_arg)) < 0)
			die_mq(rc, "cannot search %s/%d by time", x->topic,
			       x->partition);
		/* The first record at or after the time, exactly. */
		mq_record rec;
		rc = mq_reader_next(r, &rec);
		while (rc == 1 && rec.timestamp < g->ro_arg)
			rc = mq_reader_next(r, &rec);
		if (rc < 0)
			die_mq(rc, "cannot read %s/%d", x->topic, x->partition);
		x->next = rc == 1 ? rec.offset : mq_reader_position(r);
		mq_reader_close(r);
		break;
	}
	}
	mq_topic_close(t);
}

static int cmp_plan(const void *a, const void *b)
{
	const struct plan *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);
	return c ? c : (x->partition > y->partition) -
	               (x->partition < y->partition);
}

/* Prints the plan as an aligned table. */
static void print_plan(const struct plans *pl)
{
	int wt = 5, wp = 9, wc = 7, wn = 3;
	char buf[24];
	for (size_t i = 0; i < pl->n; i++) {
		const struct plan *x = &pl->v[i];
		int l = (int)strlen(x->topic);
		wt = l > wt ? l : wt;
		l = snprintf(buf, sizeof buf, "%" PRId32, x->partition);
		wp = l > wp ? l : wp;
		l = snprintf(buf, sizeof buf, "%" PRId64, x->current);
		wc = l > wc ? l : wc;
		l = snprintf(buf, sizeof buf, "%" PRId64, x->next);
		wn = l > wn ? l : wn;
	}
	printf("%-*s  %*s  %*s  %*s\n", wt, "TOPIC", wp, "PARTITION", wc,
	       "CURRENT", wn, "NEW");
	for (size_t i = 0; i < pl->n; i++) {
		const struct plan *x = &pl->v[i];
		if (x->current >= 0)
			snprintf(buf, sizeof buf, "%" PRId64, x->current);
		else
			snprintf(buf, sizeof buf, "-");
		printf("%-*s  %*" PRId32 "  %*s  %*" PRId64 "\n", wt, x->topic,
		       wp, x->partition, wc, buf, wn, x->next);
	}
}

static int delete_group(mq_env *env, const char *group)
{
	mq_group_admin *a;
	int rc = mq_group_admin_open(env, group, 0, &a);
	if (rc < 0)
		die_mq(rc, "cannot delete group '%s'", group);
	rc = mq_group_admin_delete(a);
	mq_group_admin_close(a);
	if (rc < 0)
		die_mq(rc, "cannot delete group '%s'", group);
	return EXIT_OK;
}

int group_admin(mq_env *env, const struct group_opts *g, int nargs,
                char **args)
{
	struct plans pl = { 0 };
	mq_group_admin *a = NULL;
	int rc;
	if (g->delete_group) {
		if (nargs > 0)
			usage_error("--delete-group takes no topic");
		return delete_group(env, g->delete_group);
	}
	if (nargs == 0)
		usage_error("--reset-offsets needs TOPIC[:PARTITIONS]");
	for (int i = 0; i < nargs; i++)
		parse_target(env, args[i], &pl);
	/* Hold the group first, so CURRENT cannot change under us. */
	if (g->execute &&
	    (rc = mq_group_admin_open(env, g->group, 1, &a)) < 0)
		die_mq(rc, "cannot reset offsets");
	qsort(pl.v, pl.n, sizeof *pl.v, cmp_plan);
	for (size_t i = 0; i < pl.n; i++)
		plan_one(env, g, &pl.v[i]);
	print_plan(&pl);
	if (fflush(stdout) != 0)
		die(EXIT_ERROR, "cannot write to standard output");
	for (size_t i = 0; a && i < pl.n; i++) {
		rc = mq_group_admin_set(a, pl.v[i].topic, pl.v[i].partition,
		                        pl.v[i].next);
		if (rc < 0)
			die_mq(rc, "cannot reset offsets");
	}
	mq_group_admin_close(a);
	for (size_t i = 0; i < pl.n; i++)
		free(pl.v[i].topic);
	free(pl.v);
	return EXIT_OK;
}
