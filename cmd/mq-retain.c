/*
 * mq-retain - apply retention: delete old segments by retention.ms and
 * retention.bytes, and move log start offsets forward.
 *
 *   mq-retain [-nqj] [-d DIR] [--dry-run] [--respect-groups] [-g GROUP]...
 *             [--delete-before TOPIC:PARTITION:OFFSET]... [TOPIC...]
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

enum { OPT_DRY_RUN = 256, OPT_RESPECT, OPT_DELETE_BEFORE };

static const char usage_text[] =
"usage: mq-retain [-nqj] [-d DIR] [--dry-run] [--respect-groups] [-g GROUP]...\n"
"                 [--delete-before TOPIC:PARTITION:OFFSET]... [TOPIC...]\n"
"\n"
"Delete the oldest segments of each partition per the topic's retention.ms\n"
"and retention.bytes (topics whose cleanup.policy includes delete; all\n"
"topics when none is named), and move log start offsets forward.\n"
"\n"
"  -d, --dir DIR          data directory (default: $MQ_DIR, else\n"
"                         ${XDG_DATA_HOME:-$HOME/.local/share}/mq)\n"
"      --delete-before TOPIC:PARTITION:OFFSET\n"
"                         move the partition's log start offset up to OFFSET\n"
"                         and delete the segments wholly below it; alone,\n"
"                         it touches only those partitions; repeatable\n"
"      --respect-groups   keep segments holding records a consumer group\n"
"                         has not committed yet\n"
"  -g, --group GROUP      only GROUP counts for --respect-groups (implies\n"
"                         it); repeatable\n"
"      --dry-run          show what would be done; change nothing\n"
"  -j, --json             print one JSON document instead of lines\n"
"  -q, --quiet            print nothing but errors\n"
"  -n, --no-wait          exit 3 if a partition lock is held\n"
"  -h, --help             print this help and exit\n"
"  -V, --version          print the version and exit\n";

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "delete-before", required_argument, NULL, OPT_DELETE_BEFORE },
	{ "respect-groups", no_argument, NULL, OPT_RESPECT },
	{ "group", required_argument, NULL, 'g' },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "no-wait", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* One --delete-before. */
struct cut {
	char topic[256];
	int32_t partition;
	int64_t offset;
};

/* One partition's outcome, kept for --json. */
struct outcome {
	const char *topic;
	int32_t partition;
	mq_retain_result res;
	mq_retain_segment *deleted;
	size_t ndeleted;
	mq_retain_segment kept;
	char kept_group[256];
	int has_kept;
};

static struct {
	int json, quiet, dry_run;
	struct outcome *out;
	size_t nout, capout;
} g;

static int status = EXIT_OK;


__attribute__((noreturn)) static void usage(void)
{
	fputs(usage_text, stdout);
	exit(EXIT_OK);
}

static void parse_cut(const char *arg, struct cut *c)
{
	const char *a = strchr(arg, ':');
	const char *b = a ? strchr(a + 1, ':') : NULL;
	int64_t p, off;
	char num[32];
	if (!a || !b || (size_t)(a - arg) >= sizeof c->topic ||
	    (size_t)(b - a - 1) >= sizeof num)
		usage_error("invalid --delete-before '%s': expected "
		            "TOPIC:PARTITION:OFFSET", arg);
	memcpy(c->topic, arg, (size_t)(a - arg));
	c->topic[a - arg] = '\0';
	memcpy(num, a + 1, (size_t)(b - a - 1));
	num[b - a - 1] = '\0';
	if (!mq_name_valid(c->topic))
		usage_error("invalid topic name '%s' in --delete-before '%s'",
		            c->topic, arg);
	if (num[0] < '0' || num[0] > '9' || parse_i64(num, &p) < 0 ||
	    p > INT32_MAX)
		usage_error("invalid partition '%s' in --delete-before '%s'",
		            num, arg);
	if (b[1] < '0' || b[1] > '9' || parse_i64(b + 1, &off) < 0)
		usage_error("invalid offset '%s' in --delete-before '%s'",
		            b + 1, arg);
	c->partition = (int32_t)p;
	c->offset = off;
}

static const char *reasons(int bits, char *buf, size_t len)
{
	buf[0] = '\0';
	if (bits & MQ_RETAIN_TIME)
		snprintf(buf + strlen(buf), len - strlen(buf), "retention.ms");
	if (bits & MQ_RETAIN_SIZE)
		snprintf(buf + strlen(buf), len - strlen(buf), "%sretention.bytes",
		         buf[0] ? ", " : "");
	if (bits & MQ_RETAIN_LOG_START)
		snprintf(buf + strlen(buf), len - strlen(buf),
		         "%sbelow the log start offset", buf[0] ? ", " : "");
	return buf;
}

static const char *span(const mq_retain_segment *s, char *buf, size_t len)
{
	if (s->next_offset > s->base_offset)
		snprintf(buf, len, "offsets %" PRId64 "-%" PRId64, s->base_offset,
		         s->next_offset - 1);
	else
		snprintf(buf, len, "no records");
	return buf;
}

/* report is mq_retain's callback: a line, or a note for --json. */
static void report(void *ctx, const mq_retain_segment *s)
{
	struct outcome *o = ctx;
	char sp[64], why[96];
	int dry = g.dry_run;
	if (s->action == MQ_RETAIN_DELETED && g.json) {
		mq_retain_segment *v = realloc(o->deleted, (o->ndeleted + 1) *
		                               sizeof *v);
		if (!v)
			die(EXIT_ERROR, "out of memory");
		v[o->ndeleted++] = *s;
		o->deleted = v;
	}
	if (s->action == MQ_RETAIN_KEPT) {
		o->kept = *s;
		o->has_kept = 1;
		snprintf(o->kept_group, sizeof o->kept_group, "%s",
		         s->group ? s->group : "");
	}
	if (g.json || g.quiet)
		return;
	switch (s->action) {
	case MQ_RETAIN_ROLLED:
		printf("%s/%d: %s the active segment %" PRId64 " (%s)\n",
		       o->topic, o->partition, dry ? "would roll" : "rolled",
		       s->base_offset,
		       span(s, sp, sizeof sp));
		break;
	case MQ_RETAIN_DELETED:
		printf("%s/%d: %s segment %" PRId64 " (%s, %" PRIu64
		       " bytes): %s\n", o->topic, o->partition,
		       dry ? "would delete" : "deleted",
		       s->base_offset, span(s, sp, sizeof sp), s->bytes,
		       reasons(s->reasons, why, sizeof why));
		break;
	case MQ_RETAIN_KEPT:
		if (s->committed >= 0)
			printf("%s/%d: %s segment %" PRId64 " (%s): group '%s' "
			       "has committed offset %" PRId64 "\n", o->topic,
			       o->partition, dry ? "would keep" : "kept",
			       s->base_offset,
			       span(s, sp, sizeof sp), s->group, s->committed);
		else
			printf("%s/%d: %s segment %" PRId64 " (%s): group '%s' "
			       "has committed nothing here\n", o->topic,
			       o->partition, dry ? "would keep" : "kept",
			       s->base_offset,
			       span(s, sp, sizeof sp), s->group);
		break;
	}
}

static struct outcome *new_outcome(const char *topic, int32_t p)
{
	if (g.nout == g.capout) {
		g.capout = g.capout ? 2 * g.capout : 16;
		g.out = realloc(g.out, g.capout * sizeof *g.out);
		if (!g.out)
			die(EXIT_ERROR, "out of memory");
	}
	struct outcome *o = &g.out[g.nout];
	memset(o, 0, sizeof *o);
	o->topic = topic;
	o->partition = p;
	return o;
}

/* retain_one applies retention to one partition and reports it. */
static void retain_one(mq_topic *t, int32_t p, mq_retain_opts *ro)
{
	struct outcome *o = new_outcome(mq_topic_name(t), p);
	int rc = mq_retain(t, p, ro, report, o, &o->res);
	if (rc < 0) {
		errorx("%s", mq_errmsg()[0] ? mq_errmsg() : mq_strerror(rc));
		int code = exit_code_for(rc);
		status = exit_worse(status, code == EXIT_USAGE ? EXIT_ERROR
		                                              : code);
		free(o->deleted);
		return;
	}
	g.nout++;
	if (g.json || g.quiet || o->res.log_start == o->res.log_start_before)
		return;
	printf("%s/%d: log start offset %s from %" PRId64 " to %" PRId64 "\n",
	       o->topic, p, g.dry_run ? "would move" : "moved",
	       o->res.log_start_before, o->res.log_start);
}

static void print_json(void)
{
	int64_t segs = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < g.nout; i++) {
		segs += g.out[i].res.segments_deleted;
		bytes += g.out[i].res.bytes_freed;
	}
	printf("{\"dry_run\":%s,\"segments_deleted\":%" PRId64
	       ",\"bytes_freed\":%" PRIu64 ",\"partitions\":[",
	       g.dry_run ? "true" : "false", segs, bytes);
	for (size_t i = 0; i < g.nout; i++) {
		const struct outcome *o = &g.out[i];
		char why[96];
		/* Topic and group names are [A-Za-z0-9._-]: no escaping. */
		printf("%s{\"topic\":\"%s\",\"partition\":%d"
		       ",\"log_start_offset_before\":%" PRId64
		       ",\"log_start_offset\":%" PRId64
		       ",\"log_end_offset\":%" PRId64 ",\"rolled\":%s"
		       ",\"segments_deleted\":%" PRId64 ",\"bytes_freed\":%" PRIu64
		       ",\"deleted\":[", i ? "," : "", o->topic, o->partition,
		       o->res.log_start_before, o->res.log_start, o->res.log_end,
		       o->res.rolled ? "true" : "false", o->res.segments_deleted,
		       o->res.bytes_freed);
		for (size_t k = 0; k < o->ndeleted; k++) {
			const mq_retain_segment *s = &o->deleted[k];
			printf("%s{\"base_offset\":%" PRId64 ",\"next_offset\":%"
			       PRId64 ",\"bytes\":%" PRIu64 ",\"reason\":\"%s\"}",
			       k ? "," : "", s->base_offset, s->next_offset,
			       s->bytes, reasons(s->reasons, why, sizeof why));
		}
		printf("],\"kept\":");
		if (o->has_kept)
			printf("{\"base_offset\":%" PRId64 ",\"group\":\"%s\","
			       "\"committed\":%" PRId64 "}", o->kept.base_offset,
			       o->kept_group, o->kept.committed);
		else
			printf("null");
		printf("}");
	}
	printf("]}\n");
}

/* find_cut returns the largest --delete-before offset for topic/p, or -1. */
static int64_t find_cut(const struct cut *cuts, size_t ncuts,
                        const char *topic, int32_t p, int *any)
{
	int64_t off = -1;
	*any = 0;
	for (size_t i = 0; i < ncuts; i++)
		if (strcmp(cuts[i].topic, topic) == 0 && cuts[i].partition == p) {
			*any = 1;
			if (cuts[i].offset > off)
				off = cuts[i].offset;
		}
	return off;
}

static int listed(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	struct cut *cuts = NULL;
	size_t ncuts = 0;
	const char **groups = NULL;
	size_t ngroups = 0;
	int respect = 0, nowait = 0, c;

	tool_init("mq-retain");
	while ((c = getopt_long(argc, argv, "d:g:jqnhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case OPT_DELETE_BEFORE:
			cuts = realloc(cuts, (ncuts + 1) * sizeof *cuts);
			if (!cuts)
				die(EXIT_ERROR, "out of memory");
			parse_cut(optarg, &cuts[ncuts++]);
			break;
		case OPT_RESPECT:
			respect = 1;
			break;
		case 'g':
			if (!mq_name_valid(optarg))
				usage_error("invalid group name '%s'", optarg);
			groups = realloc(groups, (ngroups + 2) * sizeof *groups);
			if (!groups)
				die(EXIT_ERROR, "out of memory");
			groups[ngroups++] = optarg;
			groups[ngroups] = NULL;
			respect = 1;
			break;
		case OPT_DRY_RUN:
			g.dry_run = 1;
			break;
		case 'j':
			g.json = 1;
			break;
		case 'q':
			g.quiet = 1;
			break;
		case 'n':
			nowait = 1;
			break;
		case 'h':
			usage();
		case 'V':
			print_version();
		default:
			bad_option();
		}
	}
	for (int i = optind; i < argc; i++)
		if (!mq_name_valid(argv[i]))
			usage_error("invalid topic name '%s'", argv[i]);

	mq_env *env = open_env(data_dir(dir), 0);

	/* The topics the policy applies to, then those only cut. */
	char **names = NULL;
	size_t npolicy = 0, nnames = 0;
	if (optind == argc && ncuts == 0) {
		int rc = mq_topic_list(env, &names);
		if (rc < 0)
			die_mq(rc, "cannot list topics");
		while (names[nnames])
			nnames++;
	} else {
		names = calloc((size_t)(argc - optind) + ncuts + 1, sizeof *names);
		if (!names)
			die(EXIT_ERROR, "out of memory");
		for (int i = optind; i < argc; i++)
			if (!listed(names, nnames, argv[i]) &&
			    !(names[nnames++] = strdup(argv[i])))
				die(EXIT_ERROR, "out of memory");
	}
	npolicy = nnames;
	for (size_t i = 0; i < ncuts; i++)
		if (!listed(names, nnames, cuts[i].topic) &&
		    !(names[nnames++] = strdup(cuts[i].topic)))
			die(EXIT_ERROR, "out of memory");

	/* Every named topic and partition must exist before anything moves. */
	mq_topic **topics = calloc(nnames ? nnames : 1, sizeof *topics);
	if (!topics)
		die(EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < nnames; i++) {
		int rc = mq_topic_open(env, names[i], &topics[i]);
		if (rc == MQ_ENOTOPIC)
			die(EXIT_ERROR, "topic '%s' does not exist", names[i]);
		if (rc < 0)
			die_mq(rc, "cannot open topic '%s'", names[i]);
	}
	for (size_t i = 0; i < ncuts; i++) {
		size_t k = 0;
		while (strcmp(names[k], cuts[i].topic) != 0)
			k++;
		int32_t np = mq_topic_partitions(topics[k]);
		if (cuts[i].partition >= np)
			die(EXIT_ERROR, "topic '%s' has no partition %d (it has %d)",
			    cuts[i].topic, cuts[i].partition, np);
	}
	if (groups) {
		char **all;
		int rc = mq_group_list(env, &all);
		if (rc < 0)
			die_mq(rc, "cannot list consumer groups");
		for (size_t i = 0; i < ngroups; i++) {
			size_t k = 0;
			while (all[k] && strcmp(all[k], groups[i]) != 0)
				k++;
			if (!all[k])
				warnx("warning: group '%s' has no committed offsets",
				      groups[i]);
		}
		mq_free_list(all);
	}

	mq_retain_opts ro = {
		.flags = nowait ? MQ_NOWAIT : 0,
		.dry_run = g.dry_run,
		.now_ms = -1,
		.respect_groups = respect,
		.groups = groups,
	};
	for (size_t i = 0; i < nnames; i++) {
		int32_t np = mq_topic_partitions(topics[i]);
		for (int32_t p = 0; p < np; p++) {
			int any;
			ro.delete_before = find_cut(cuts, ncuts, names[i], p, &any);
			ro.policy = i < npolicy;
			if (ro.policy || any)
				retain_one(topics[i], p, &ro);
		}
	}
	if (g.json && !g.quiet)
		print_json();
	if (fflush(stdout) != 0)
		die(EXIT_ERROR, "cannot write output");
	for (size_t i = 0; i < g.nout; i++)
		free(g.out[i].deleted);
	free(g.out);
	for (size_t i = 0; i < nnames; i++) {
		mq_topic_close(topics[i]);
		free(names[i]);
	}
	free(topics);
	free(names);
	free(cuts);
	free(groups);
	mq_env_close(env);
	return status;
}
