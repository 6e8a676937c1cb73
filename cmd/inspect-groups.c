/*
 * inspect-groups.c - mq-inspect --groups and -g GROUP: consumer groups,
 * their committed offsets, lag and owners.  Reads only; the ownership
 * test is a shared flock tried without waiting and dropped at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect-groups.h"
#include "inspect.h"
#include "table.h"
#include "tool.h"

/* What --groups shows about one group. */
struct ginfo {
	char *topics;            /* comma-separated, malloc'ed */
	size_t ntopics;
	size_t live;
};

/* Collects the topics (from describe) and live members of group. */
static int gather(mq_env *env, const char *group, struct ginfo *gi,
                  char ***topics)
{
	mq_group_pinfo *v;
	size_t n;
	int rc = mq_group_describe(env, group, &v, &n);
	if (rc < 0)
		return rc;
	if ((rc = mq_group_members(env, group, &gi->live)) < 0) {
		mq_group_describe_free(v, n);
		return rc;
	}
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i].topic) + 1;
	gi->topics = calloc(1, len);
	*topics = calloc(n + 1, sizeof **topics);
	if (!gi->topics || !*topics)
		die(EXIT_ERROR, "out of memory");
	gi->ntopics = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i].topic, v[i - 1].topic) == 0)
			continue;
		if (gi->ntopics)
			strcat(gi->topics, ",");
		strcat(gi->topics, v[i].topic);
		(*topics)[gi->ntopics++] = strdup(v[i].topic);
	}
	mq_group_describe_free(v, n);
	return MQ_OK;
}

int inspect_groups_list(mq_env *env, int json)
{
	static const char *const heads[] = { "GROUP", "MEMBERS", "TOPICS" };
	struct table t = { .ncols = 3, .heads = heads, .right = "lrl" };
	char **names;
	int status = EXIT_OK, first = 1;
	int rc = mq_group_list(env, &names);
	if (rc < 0)
		die_mq(rc, "cannot list groups");
	if (json)
		fputs("{\"groups\":[", stdout);
	for (size_t i = 0; names[i]; i++) {
		struct ginfo gi;
		char **topics, live[24];
		if ((rc = gather(env, names[i], &gi, &topics)) < 0) {
			errorx("group '%s': %s", names[i], mq_errmsg());
			status = exit_code_for(rc);
			continue;
		}
		snprintf(live, sizeof live, "%zu", gi.live);
		if (json) {
			printf("%s{\"group\":", first ? "" : ",");
			inspect_put_json_string(stdout, names[i]);
			printf(",\"members\":%zu,\"topics\":[", gi.live);
			for (size_t k = 0; k < gi.ntopics; k++) {
				if (k)
					putchar(',');
				inspect_put_json_string(stdout, topics[k]);
			}
			fputs("]}", stdout);
		} else {
			const char *row[] = { names[i], live,
			                      gi.ntopics ? gi.topics : "-" };
			table_add_row(&t, row);
		}
		first = 0;
		mq_free_list(topics);
		free(gi.topics);
	}
	if (json)
		fputs("]}\n", stdout);
	else
		table_print(&t);
	mq_free_list(names);
	return status;
}

/* The log end offset of topic/p, or -1 if the topic is gone. */
static int64_t log_end(mq_env *env, mq_topic **cache, const char *topic,
                       int32_t p)
{
	int64_t start, end;
	if (*cache && strcmp(mq_topic_name(*cache), topic) != 0) {
		mq_topic_close(*cache);
		*cache = NULL;
	}
	if (!*cache && mq_topic_open(env, topic, cache) < 0)
		return -1;
	if (p >= mq_topic_partitions(*cache) ||
	    mq_log_offsets(*cache, p, &start, &end) < 0)
		return -1;
	return end;
}

static const char *fmt_i64(char *buf, size_t len, int64_t v, int valid)
{
	if (!valid)
		return "-";
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

int inspect_group_describe(mq_env *env, const char *group, int json)
{
	static const char *const heads[] = {
		"TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "PID",
		"HOST", "SINCE",
	};
	struct table t = { .ncols = 8, .heads = heads, .right = "lrrrrrll" };
	mq_group_pinfo *v;
	mq_topic *cache = NULL;
	size_t n, live;
	int rc = mq_group_describe(env, group, &v, &n);
	if (rc < 0)
		die_mq(rc, "cannot describe group '%s'", group);
	if ((rc = mq_group_members(env, group, &live)) < 0)
		die_mq(rc, "cannot count the members of group '%s'", group);
	if (json) {
		fputs("{\"group\":", stdout);
		inspect_put_json_string(stdout, group);
		printf(",\"members\":%zu,\"partitions\":[", live);
	}
	for (size_t i = 0; i < n; i++) {
		const mq_group_pinfo *pi = &v[i];
		int64_t end = log_end(env, &cache, pi->topic, pi->partition);
		int has_c = pi->committed >= 0, has_e = end >= 0;
		char b[5][32];
		if (json) {
			printf("%s{\"topic\":", i ? "," : "");
			inspect_put_json_string(stdout, pi->topic);
			printf(",\"partition\":%" PRId32 ",\"committed\":%s"
			       ",\"log_end\":%s,\"lag\":%s,\"owner\":",
			       pi->partition,
			       has_c ? fmt_i64(b[0], 32, pi->committed, 1) : "null",
			       has_e ? fmt_i64(b[1], 32, end, 1) : "null",
			       has_c && has_e ? fmt_i64(b[2], 32,
			                                end - pi->committed, 1)
			                      : "null");
			if (!pi->owned) {
				fputs("null}", stdout);
				continue;
			}
			printf("{\"pid\":%" PRId64 ",\"host\":", pi->owner.pid);
			inspect_put_json_string(stdout, pi->owner.host);
			printf(",\"since\":%" PRId64 ",\"member\":",
			       pi->owner.since);
			inspect_put_json_string(stdout, pi->owner.member);
			fputs("}}", stdout);
			continue;
		}
		char since[32], part[16], pid[24];
		snprintf(part, sizeof part, "%" PRId32, pi->partition);
		const char *row[] = {
			pi->topic, part,
			fmt_i64(b[0], 32, pi->committed, has_c),
			fmt_i64(b[1], 32, end, has_e),
			fmt_i64(b[2], 32, end - pi->committed, has_c && has_e),
			pi->owned ? fmt_i64(pid, sizeof pid, pi->owner.pid, 1)
			          : "-",
			pi->owned && pi->owner.host[0] ? pi->owner.host : "-",
			pi->owned ? inspect_fmt_time(pi->owner.since, since,
			                             sizeof since) : "-",
		};
		table_add_row(&t, row);
	}
	if (json)
		fputs("]}\n", stdout);
	else
		table_print(&t);
	mq_topic_close(cache);
	mq_group_describe_free(v, n);
	return EXIT_OK;
}
