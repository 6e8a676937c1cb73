/*
 * mq-inspect - look at topics, partitions and segment files without
 * changing anything.
 *
 *   mq-inspect [-d DIR] [--json]                list the topics
 *   mq-inspect [-d DIR] [--json] TOPIC...       partitions, segments, config
 *   mq-inspect --dump PATH...                   batches and records of files
 *   mq-inspect [-d DIR] --verify [TOPIC...]     check CRCs, offsets, indexes
 *   mq-inspect [-d DIR] [--json] --groups       list consumer groups
 *   mq-inspect [-d DIR] [--json] -g GROUP       offsets, lag, owners
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "inspect-groups.h"
#include "table.h"
#include "tool.h"

static const char usage_text[] =
"usage: mq-inspect [-d DIR] [--json] [TOPIC...]\n"
"       mq-inspect --dump PATH...\n"
"       mq-inspect [-d DIR] --verify [TOPIC...]\n"
"       mq-inspect [-d DIR] [--json] --groups | -g GROUP\n"
"\n"
"Show topics, partitions, segments and config; dump segment files; verify\n"
"stored data.  Never changes anything.\n"
"\n"
"  -d, --dir DIR    data directory (default: $MQ_DIR, else\n"
"                   ${XDG_DATA_HOME:-$HOME/.local/share}/mq)\n"
"  -j, --json       print one JSON document instead of tables\n"
"      --dump       print the batches and records of .log files, the\n"
"                   entries of .index and .timeindex files, or every\n"
"                   segment of a partition directory\n"
"      --verify     check every partition of the topics (default: all)\n"
"      --groups     list the consumer groups and their live members\n"
"  -g, --group GROUP  show GROUP's committed offsets, lag and owners\n"
"  -h, --help       print this help and exit\n"
"  -V, --version    print the version and exit\n";

enum { OPT_DUMP = 256, OPT_VERIFY, OPT_GROUPS };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "dump", no_argument, NULL, OPT_DUMP },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "groups", no_argument, NULL, OPT_GROUPS },
	{ "group", required_argument, NULL, 'g' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* ------------------------------------------------------------------ */
/* Gathering.                                                          */

/* What mq-inspect shows about one partition. */
struct part {
	int64_t start, end;          /* log start and end offsets */
	int64_t records, size;
	int64_t first_ts, last_ts;   /* -1 when empty */
	mq_segment_info *segs;
	size_t nsegs;
	double dirty_ratio;          /* compacted topics only, else -1 */
};

/* What mq-inspect shows about one topic: sums over its partitions. */
struct topic {
	const char *name;
	int32_t nparts;
	struct part *parts;
	int64_t start, end, records, size, first_ts, last_ts;
	mq_config cfg;
};

static int status = EXIT_OK;


static int64_t min_ts(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static int64_t max_ts(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int gather_part(mq_topic *t, int32_t p, struct part *ps)
{
	int rc;

	memset(ps, 0, sizeof *ps);
	ps->first_ts = ps->last_ts = -1;
	ps->dirty_ratio = -1;
	if ((rc = mq_log_offsets(t, p, &ps->start, &ps->end)) < 0)
		return rc;
	if (mq_topic_config(t)->cleanup_policy & MQ_CLEANUP_COMPACT) {
		mq_dirty d;  /* damage shows in the rest, and in --verify */
		if (mq_dirty_ratio(t, p, &d) == MQ_OK)
			ps->dirty_ratio = d.ratio;
	}
	if ((rc = mq_partition_segments(t, p, &ps->segs, &ps->nsegs)) < 0)
		return rc;
	for (size_t i = 0; i < ps->nsegs; i++) {
		const mq_segment_info *s = &ps->segs[i];
		ps->records += s->records;
		ps->size += (int64_t)(s->log_bytes + s->index_bytes +
		                      s->timeindex_bytes);
		if (s->records > 0 && ps->first_ts < 0)
			ps->first_ts = s->first_timestamp;
		ps->last_ts = max_ts(ps->last_ts, s->max_timestamp);
	}
	return MQ_OK;
}

static void free_topic(struct topic *tp)
{
	for (int32_t p = 0; tp->parts && p < tp->nparts; p++)
		free(tp->parts[p].segs);
	free(tp->parts);
	memset(tp, 0, sizeof *tp);
}

/*
 * gather_topic collects the numbers of every partition of NAME.  On
 * failure it prints why, records the exit status and returns -1.
 */
static int gather_topic(mq_env *env, const char *name, struct topic *tp)
{
	mq_topic *t;
	int rc = mq_topic_open(env, name, &t);

	memset(tp, 0, sizeof *tp);
	if (rc == MQ_ENOTOPIC) {
		errorx("topic '%s' does not exist", name);
		status = exit_worse(status, EXIT_ERROR);
		return -1;
	}
	if (rc < 0) {
		errorx("cannot open topic '%s': %s", name, mq_errmsg());
		status = exit_worse(status, exit_code_for(rc));
		return -1;
	}
	tp->name = name;
	tp->cfg = *mq_topic_config(t);
	tp->nparts = mq_topic_partitions(t);
	tp->first_ts = tp->last_ts = -1;
	tp->parts = calloc((size_t)tp->nparts, sizeof *tp->parts);
	if (!tp->parts && tp->nparts)
		die(EXIT_ERROR, "out of memory");
	for (int32_t p = 0; p < tp->nparts; p++) {
		struct part *ps = &tp->parts[p];
		if ((rc = gather_part(t, p, ps)) < 0) {
			errorx("topic '%s' partition %ld: %s", name, (long)p,
			       mq_errmsg());
			status = exit_worse(status, exit_code_for(rc));
			mq_topic_close(t);
			free_topic(tp);
			return -1;
		}
		tp->start += ps->start;
		tp->end += ps->end;
		tp->records += ps->records;
		tp->size += ps->size;
		tp->first_ts = min_ts(tp->first_ts, ps->first_ts);
		tp->last_ts = max_ts(tp->last_ts, ps->last_ts);
	}
	mq_topic_close(t);
	return 0;
}

/* num formats v into one of a few rotating static buffers. */
static const char *num(int64_t v)
{
	static char bufs[TABLE_MAXCOLS][24];
	static int next;
	char *b = bufs[next++ % TABLE_MAXCOLS];
	snprintf(b, sizeof bufs[0], "%" PRId64, v);
	return b;
}

static const char *ts(int64_t v)
{
	static char bufs[4][32];
	static int next;
	return inspect_fmt_time(v, bufs[next++ % 4], sizeof bufs[0]);
}

/* ------------------------------------------------------------------ */
/* The topic list and the topic detail.                                */

static const char *const list_heads[] = {
	"TOPIC", "PARTITIONS", "SIZE", "RECORDS", "START", "END",
	"FIRST-TIMESTAMP", "LAST-TIMESTAMP",
};

static void list_text(struct topic *tps, size_t n)
{
	struct table tb = { .ncols = 8, .heads = list_heads,
	                    .right = "lrrrrrll" };
	for (size_t i = 0; i < n; i++) {
		struct topic *tp = &tps[i];
		if (!tp->name)
			continue;
		table_add(&tb, tp->name, num(tp->nparts), num(tp->size),
		          num(tp->records), num(tp->start), num(tp->end),
		          ts(tp->first_ts), ts(tp->last_ts), NULL);
	}
	table_print(&tb);
}

static void json_ts(const char *key, int64_t v)
{
	if (v < 0)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%" PRId64, key, v);
}

/* json_summary prints the fields the list and the detail share. */
static void json_summary(const struct topic *tp)
{
	fputs("{\"topic\":", stdout);
	inspect_put_json_string(stdout, tp->name);
	printf(",\"partition_count\":%" PRId32 ",\"size\":%" PRId64
	       ",\"records\":%" PRId64 ",\"start\":%" PRId64 ",\"end\":%"
	       PRId64, tp->nparts, tp->size, tp->records, tp->start, tp->end);
	json_ts("first_timestamp", tp->first_ts);
	json_ts("last_timestamp", tp->last_ts);
}

static void json_segment(const mq_segment_info *s)
{
	printf("{\"base_offset\":%" PRId64 ",\"next_offset\":%" PRId64
	       ",\"records\":%" PRId64 ",\"batches\":%" PRId64
	       ",\"log_bytes\":%" PRIu64 ",\"index_bytes\":%" PRIu64
	       ",\"timeindex_bytes\":%" PRIu64, s->base_offset,
	       s->next_offset, s->records, s->batches, s->log_bytes,
	       s->index_bytes, s->timeindex_bytes);
	json_ts("first_timestamp", s->first_timestamp);
	json_ts("max_timestamp", s->max_timestamp);
	putchar('}');
}

static void json_detail(const struct topic *tp)
{
	json_summary(tp);
	fputs(",\"partitions\":[", stdout);
	for (int32_t p = 0; p < tp->nparts; p++) {
		const struct part *ps = &tp->parts[p];
		printf("%s{\"partition\":%" PRId32 ",\"start\":%" PRId64
		       ",\"end\":%" PRId64 ",\"records\":%" PRId64
		       ",\"size\":%" PRId64, p ? "," : "", p, ps->start,
		       ps->end, ps->records, ps->size);
		json_ts("first_timestamp", ps->first_ts);
		json_ts("last_timestamp", ps->last_ts);
		if (ps->dirty_ratio >= 0)
			printf(",\"dirty_ratio\":%.4f", ps->dirty_ratio);
		fputs(",\"segments\":[", stdout);
		for (size_t i = 0; i < ps->nsegs; i++) {
			if (i)
				putchar(',');
			json_segment(&ps->segs[i]);
		}
		fputs("]}", stdout);
	}
	fputs("],\"config\":{", stdout);
	const char *const *keys = mq_config_keys();
	for (size_t i = 0; keys[i]; i++) {
		char val[256];
		if (mq_config_get(&tp->cfg, keys[i], val, sizeof val) < 0)
			continue;
		if (i)
			putchar(',');
		inspect_put_json_string(stdout, keys[i]);
		putchar(':');
		inspect_put_json_string(stdout, val);
	}
	fputs("}}", stdout);
}

static const char *const part_heads[] = {
	"PARTITION", "START", "END", "RECORDS", "SIZE", "SEGMENTS",
	"FIRST-TIMESTAMP", "LAST-TIMESTAMP", "DIRTY-RATIO",
};

static const char *const seg_heads[] = {
	"PARTITION", "BASE", "NEXT", "RECORDS", "BATCHES", "LOG", "INDEX",
	"TIMEINDEX", "FIRST-TIMESTAMP", "MAX-TIMESTAMP",
};

static void detail_text(const struct topic *tp)
{
	/* Compacted topics show the dirty ratio too (mq-compact(1)). */
	int compacted = tp->cfg.cleanup_policy & MQ_CLEANUP_COMPACT;
	struct table parts = { .ncols = compacted ? 9 : 8, .heads = part_heads,
	                       .right = "rrrrrrllr" };
	struct table segs = { .ncols = 10, .heads = seg_heads,
	                      .right = "rrrrrrrrll" };

	printf("topic: %s\n\n", tp->name);
	for (int32_t p = 0; p < tp->nparts; p++) {
		const struct part *ps = &tp->parts[p];
		char ratio[16];
		if (ps->dirty_ratio < 0)
			snprintf(ratio, sizeof ratio, "-");
		else
			snprintf(ratio, sizeof ratio, "%.2f", ps->dirty_ratio);
		table_add(&parts, num(p), num(ps->start), num(ps->end),
		          num(ps->records), num(ps->size),
		          num((int64_t)ps->nsegs), ts(ps->first_ts),
		          ts(ps->last_ts), compacted ? ratio : NULL, NULL);
		for (size_t i = 0; i < ps->nsegs; i++) {
			const mq_segment_info *s = &ps->segs[i];
			table_add(&segs, num(p), num(s->base_offset),
			          num(s->next_offset), num(s->records),
			          num(s->batches), num((int64_t)s->log_bytes),
			          num((int64_t)s->index_bytes),
			          num((int64_t)s->timeindex_bytes),
			          ts(s->first_timestamp), ts(s->max_timestamp),
			          NULL);
		}
	}
	table_print(&parts);
	putchar('\n');
	table_print(&segs);
	printf("\n# config\n");
	const char *const *keys = mq_config_keys();
	for (size_t i = 0; keys[i]; i++) {
		char val[256];
		if (mq_config_get(&tp->cfg, keys[i], val, sizeof val) == 0)
			printf("%s = %s\n", keys[i], val);
	}
}

/*
 * show_topics prints the list (detail = 0, every topic) or the detail of
 * the named topics, as tables or as JSON.
 */
static void show_topics(mq_env *env, char **names, size_t n, int detail,
                        int json)
{
	struct topic *tps = calloc(n ? n : 1, sizeof *tps);
	if (!tps)
		die(EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < n; i++)
		gather_topic(env, names[i], &tps[i]);

	if (json) {
		int first = 1;
		fputs("{\"topics\":[", stdout);
		for (size_t i = 0; i < n; i++) {
			if (!tps[i].name)
				continue;
			if (!first)
				putchar(',');
			first = 0;
			if (detail) {
				json_detail(&tps[i]);
			} else {
				json_summary(&tps[i]);
				putchar('}');
			}
		}
		fputs("]}\n", stdout);
	} else if (!detail) {
		list_text(tps, n);
	} else {
		int first = 1;
		for (size_t i = 0; i < n; i++) {
			if (!tps[i].name)
				continue;
			if (!first)
				putchar('\n');
			first = 0;
			detail_text(&tps[i]);
		}
	}
	for (size_t i = 0; i < n; i++)
		free_topic(&tps[i]);
	free(tps);
}

/* ------------------------------------------------------------------ */
/* --verify.                                                           */

struct verify {
	int64_t problems;
};

static void report(void *ctx, const char *file, uint64_t position,
                   const char *problem)
{
	struct verify *v = ctx;
	printf("%s:%" PRIu64 ": %s\n", file, position, problem);
	v->problems++;
}

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void verify_topics(mq_env *env, char **names, size_t n)
{
	struct verify v = { 0 };
	int64_t ntopics = 0, nparts = 0, unverified = 0;

	for (size_t i = 0; i < n; i++) {
		mq_topic *t;
		int rc = mq_topic_open(env, names[i], &t);
		if (rc == MQ_ENOTOPIC) {
			errorx("topic '%s' does not exist", names[i]);
			status = exit_worse(status, EXIT_ERROR);
			continue;
		}
		if (rc < 0) {
			errorx("cannot open topic '%s': %s", names[i],
			       mq_errmsg());
			status = exit_worse(status, exit_code_for(rc));
			continue;
		}
		ntopics++;
		for (int32_t p = 0; p < mq_topic_partitions(t); p++) {
			nparts++;
			rc = mq_verify_partition(t, p, report, &v);
			if (rc < 0) {
				errorx("cannot verify topic '%s' partition "
				       "%ld: %s", names[i], (long)p,
				       mq_errmsg());
				status = exit_worse(status, exit_code_for(rc));
				unverified++;
			}
		}
		mq_topic_close(t);
	}
	if (v.problems)
		status = exit_worse(status, EXIT_CORRUPT);
	printf("verified %" PRId64 " %s of %" PRId64 " %s: ", nparts,
	       plural(nparts, "partition", "partitions"), ntopics,
	       plural(ntopics, "topic", "topics"));
	if (v.problems)
		printf("%" PRId64 " %s", v.problems,
		       plural(v.problems, "problem", "problems"));
	else if (!unverified)
		printf("no problems");
	if (unverified)
		printf("%s%" PRId64 " %s not verified", v.problems ? "; " : "",
		       unverified, plural(unverified, "partition",
		       "partitions"));
	printf("\n");
	if (v.problems)
		warnx("hint: mq-repair(1) sets damaged batches aside and "
		      "rebuilds damaged indexes");
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int json = 0, dump = 0, verify = 0, groups = 0, c;
	const char *group = NULL;

	tool_init("mq-inspect");
	while ((c = getopt_long(argc, argv, "d:jg:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case OPT_DUMP:
			dump = 1;
			break;
		case OPT_VERIFY:
			verify = 1;
			break;
		case OPT_GROUPS:
			groups = 1;
			break;
		case 'g':
			if (!mq_name_valid(optarg))
				usage_error("invalid group name '%s' (use 1 to "
				            "249 of [A-Za-z0-9._-], not '.' or "
				            "'..')", optarg);
			group = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			print_version();
		default:
			bad_option();
		}
	}
	if (dump && verify)
		usage_error("--dump and --verify cannot be combined");
	if (json && (dump || verify))
		usage_error("--json applies only to the topic list and detail");

	char **args = argv + optind;
	size_t nargs = (size_t)(argc - optind);
	if (groups || group) {
		if (dump || verify || nargs || (groups && group))
			usage_error("--groups and -g take no topic and no "
			            "other mode");
		mq_env *genv = open_env(data_dir(dir), 0);
		int rc = group ? inspect_group_describe(genv, group, json)
		               : inspect_groups_list(genv, json);
		status = exit_worse(status, rc);
		mq_env_close(genv);
		goto out;
	}
	if (dump) {
		if (nargs == 0)
			usage_error("--dump needs a file or directory");
		if (dir)
			usage_error("--dump takes paths, not -d");
		for (size_t i = 0; i < nargs; i++)
			status = exit_worse(status, inspect_dump_path(args[i]));
		goto out;
	}
	for (size_t i = 0; i < nargs; i++)
		if (!mq_name_valid(args[i]))
			die(EXIT_USAGE, "invalid topic name '%s' (use 1 to 249 "
			    "of [A-Za-z0-9._-], not '.' or '..')", args[i]);

	mq_env *env = open_env(data_dir(dir), 0);
	char **all = NULL;
	if (nargs == 0) {
		int rc = mq_topic_list(env, &all);
		if (rc < 0)
			die_mq(rc, "cannot list topics");
		for (args = all; args[nargs]; nargs++)
			;
	}
	if (verify)
		verify_topics(env, args, nargs);
	else
		show_topics(env, args, nargs, all == NULL, json);
	mq_free_list(all);
	mq_env_close(env);
out:
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_ERROR, "cannot write to standard output");
	return status;
}
