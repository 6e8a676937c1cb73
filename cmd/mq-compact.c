/*
 * mq-compact - keep the latest record of every key in compacted topics.
 *
 *   mq-compact [-fnq] [-d DIR] [--dry-run] [--json] [--buffer-mb N] [TOPIC...]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char usage_text[] =
"usage: mq-compact [-fnq] [-d DIR] [--dry-run] [--json] [--buffer-mb N] [TOPIC...]\n"
"\n"
"Compact the partitions of topics whose cleanup.policy includes compact:\n"
"keep the latest record of each key, drop records without a key and\n"
"tombstones older than delete.retention.ms.  Offsets never change.  Runs\n"
"where the dirty ratio reaches min.cleanable.dirty.ratio.  Without TOPIC,\n"
"every compacted topic.\n"
"\n"
"  -d, --dir DIR        data directory (default: $MQ_DIR, else\n"
"                       ${XDG_DATA_HOME:-$HOME/.local/share}/mq)\n"
"  -f, --force          compact whatever the dirty ratio\n"
"      --dry-run        report what would be done and change nothing\n"
"  -j, --json           one JSON object per partition\n"
"  -b, --buffer-mb N    memory for the key map in MiB (default 128)\n"
"  -n, --no-wait        exit 3 if a partition lock is held\n"
"  -q, --quiet          print nothing but errors\n"
"  -h, --help           print this help and exit\n"
"  -V, --version        print the version and exit\n";

enum { OPT_DRY_RUN = 256 };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "force", no_argument, NULL, 'f' },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "json", no_argument, NULL, 'j' },
	{ "buffer-mb", required_argument, NULL, 'b' },
	{ "no-wait", no_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static struct {
	const char *dir;
	int json, quiet;
	mq_compact_opts opts;
} args;

static int status = EXIT_OK;


static void report(const char *topic, int32_t p, const mq_config *cfg,
                   const mq_compact_stats *st)
{
	int dry = (args.opts.flags & MQ_COMPACT_DRY_RUN) != 0;
	if (args.json) {
		printf("{\"topic\":\"%s\",\"partition\":%d,\"compacted\":%s,"
		       "\"dry_run\":%s,\"dirty_ratio\":%.4f,\"clean_bytes\":%"
		       PRIu64 ",\"dirty_bytes\":%" PRIu64 ",\"passes\":%d,"
		       "\"segments_rewritten\":%" PRId64 ",\"records_before\":%"
		       PRId64 ",\"records_after\":%" PRId64 ",\"bytes_before\":%"
		       PRIu64 ",\"bytes_after\":%" PRIu64 "}\n",
		       topic, p, st->compacted ? "true" : "false",
		       dry ? "true" : "false", st->dirty.ratio,
		       st->dirty.clean_bytes, st->dirty.dirty_bytes, st->passes,
		       st->segments_rewritten, st->records_before,
		       st->records_after, st->bytes_before, st->bytes_after);
		return;
	}
	if (args.quiet)
		return;
	if (!st->compacted) {
		printf("%s-%d: skipped: dirty ratio %.2f is below %.2f\n", topic,
		       p, st->dirty.ratio, cfg->min_cleanable_dirty_ratio);
		return;
	}
	printf("%s-%d: %s %" PRId64 " -> %" PRId64 " records, %" PRIu64
	       " -> %" PRIu64 " bytes (dirty ratio %.2f, %d pass%s)\n", topic, p,
	       dry ? "would compact" : "compacted", st->records_before,
	       st->records_after, st->bytes_before, st->bytes_after,
	       st->dirty.ratio, st->passes, st->passes == 1 ? "" : "es");
}

/* compact_topic compacts every partition of NAME; named: asked for. */
static void compact_topic(mq_env *env, const char *name, int named)
{
	mq_topic *t;
	int rc = mq_topic_open(env, name, &t);
	if (rc < 0) {
		if (rc == MQ_ENOTOPIC)
			errorx("topic '%s' does not exist", name);
		else
			errorx("cannot open topic '%s': %s", name, mq_errmsg());
		status = exit_worse(status, exit_code_for(rc));
		return;
	}
	const mq_config *cfg = mq_topic_config(t);
	if (!(cfg->cleanup_policy & MQ_CLEANUP_COMPACT)) {
		if (named) {
			errorx("topic '%s' is not compacted (cleanup.policy lacks "
			       "compact)", name);
			status = exit_worse(status, EXIT_ERROR);
		}
		mq_topic_close(t);
		return;
	}
	for (int32_t p = 0; p < mq_topic_partitions(t); p++) {
		mq_compact_stats st;
		rc = mq_compact(t, p, &args.opts, &st);
		if (rc < 0) {
			errorx("cannot compact '%s' partition %d: %s", name, p,
			       mq_errmsg());
			status = exit_worse(status, exit_code_for(rc));
			continue;
		}
		report(name, p, cfg, &st);
	}
	mq_topic_close(t);
}

int main(int argc, char **argv)
{
	int c;
	tool_init("mq-compact");
	while ((c = getopt_long(argc, argv, "d:fjb:nqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			args.dir = optarg;
			break;
		case 'f':
			args.opts.flags |= MQ_COMPACT_FORCE;
			break;
		case OPT_DRY_RUN:
			args.opts.flags |= MQ_COMPACT_DRY_RUN;
			break;
		case 'j':
			args.json = 1;
			break;
		case 'b': {
			char *end;
			errno = 0;
			double mb = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(mb) ||
			    mb <= 0 || mb > 1048576)
				usage_error("invalid --buffer-mb '%s' (a number of MiB "
				            "above 0)", optarg);
			args.opts.buffer_bytes = (size_t)(mb * 1048576.0);
			break;
		}
		case 'n':
			args.opts.flags |= MQ_NOWAIT;
			break;
		case 'q':
			args.quiet = 1;
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
	for (int i = optind; i < argc; i++)
		if (!mq_name_valid(argv[i]))
			usage_error("invalid topic name '%s'", argv[i]);

	mq_env *env = open_env(data_dir(args.dir), 0);
	if (optind < argc) {
		for (int i = optind; i < argc; i++)
			compact_topic(env, argv[i], 1);
	} else {
		char **names;
		int rc = mq_topic_list(env, &names);
		if (rc < 0)
			die_mq(rc, "cannot list topics");
		for (size_t i = 0; names[i]; i++)
			compact_topic(env, names[i], 0);
		mq_free_list(names);
	}
	mq_env_close(env);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		errorx("cannot write to standard output: %s", strerror(errno));
		status = exit_worse(status, EXIT_ERROR);
	}
	return status;
}
