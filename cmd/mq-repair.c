/*
 * mq-repair - repair damaged partitions: cut each segment at its first bad
 * batch and set the rest aside beside it, cut torn tails, and rebuild
 * missing or damaged indexes.
 *
 *   mq-repair [-n] [--dry-run] [-d DIR] [-p PARTITION]... TOPIC...
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

enum { OPT_DRY_RUN = 256 };

static const char usage_text[] =
"usage: mq-repair [-n] [--dry-run] [-d DIR] [-p PARTITION]... TOPIC...\n"
"\n"
"Repair every partition of each TOPIC: a segment is cut at its first bad\n"
"batch and the bytes from there on are moved to SEGMENT.log.damaged-POS\n"
"beside it; a torn tail is cut; missing or damaged indexes are rebuilt.\n"
"\n"
"  -d, --dir DIR          data directory (default: $MQ_DIR, else\n"
"                         ${XDG_DATA_HOME:-$HOME/.local/share}/mq)\n"
"  -p, --partition N      repair only partition N; repeatable\n"
"      --dry-run          show what would be done; change nothing\n"
"  -n, --no-wait          exit 3 if a partition lock is held\n"
"  -h, --help             print this help and exit\n"
"  -V, --version          print the version and exit\n";

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "partition", required_argument, NULL, 'p' },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "no-wait", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int status = EXIT_OK;
static int dry_run;


__attribute__((noreturn)) static void usage(void)
{
	fputs(usage_text, stdout);
	exit(EXIT_OK);
}

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* report is mq_repair_partition's callback: one line per action. */
static void report(void *ctx, const mq_repair_action *a)
{
	const char *part = ctx;
	switch (a->kind) {
	case MQ_REPAIR_DAMAGE:
	case MQ_REPAIR_TORN:
		printf("%s: %s: %s at byte %" PRIu64 " (offset %" PRId64 ", %s): "
		       "%s %" PRId64 " %s, %" PRId64 " %s; ", part, a->file,
		       a->kind == MQ_REPAIR_TORN ? "torn tail" : "damage",
		       a->position, a->offset, a->why,
		       dry_run ? "would keep" : "kept",
		       a->batches, plural(a->batches, "batch", "batches"),
		       a->records, plural(a->records, "record", "records"));
		if (a->kind == MQ_REPAIR_TORN)
			printf("%s %" PRIu64 " %s\n", dry_run ? "would cut" : "cut",
			       a->bytes, plural((int64_t)a->bytes, "byte", "bytes"));
		else
			printf("%s %" PRIu64 " %s to %s\n",
			       dry_run ? "would move" : "moved", a->bytes,
			       plural((int64_t)a->bytes, "byte", "bytes"), a->aside);
		break;
	case MQ_REPAIR_INDEX:
		printf("%s: %s %s (%s", part, dry_run ? "would rebuild" : "rebuilt",
		       a->file, a->why);
		if (a->aside)
			printf("; %s it to %s", dry_run ? "would move" : "moved",
			       a->aside);
		printf(")\n");
		break;
	}
}

/* repair_one repairs partition p of t and reports it. */
static void repair_one(mq_topic *t, int32_t p, int flags)
{
	char part[300];
	snprintf(part, sizeof part, "%s-%d", mq_topic_name(t), p);
	int rc = mq_repair_partition(t, p, flags, report, part);
	if (rc < 0) {
		errorx("%s", mq_errmsg()[0] ? mq_errmsg() : mq_strerror(rc));
		int code = exit_code_for(rc);
		status = exit_worse(status, code == EXIT_USAGE ? EXIT_ERROR
		                                              : code);
		return;
	}
	if (rc == 0)
		printf("%s: clean\n", part);
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int32_t *parts = NULL;
	size_t nparts = 0;
	int nowait = 0, c;

	tool_init("mq-repair");
	while ((c = getopt_long(argc, argv, "d:p:nhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'p': {
			int64_t v;
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    parse_i64(optarg, &v) < 0 || v > INT32_MAX)
				usage_error("invalid partition '%s'", optarg);
			parts = realloc(parts, (nparts + 1) * sizeof *parts);
			if (!parts)
				die(EXIT_ERROR, "out of memory");
			parts[nparts++] = (int32_t)v;
			break;
		}
		case OPT_DRY_RUN:
			dry_run = 1;
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
	if (optind == argc)
		usage_error("no topic given");
	for (int i = optind; i < argc; i++)
		if (!mq_name_valid(argv[i]))
			usage_error("invalid topic name '%s'", argv[i]);

	mq_env *env = open_env(data_dir(dir), 0);

	/* Every topic and partition named must exist before anything moves. */
	size_t ntopics = (size_t)(argc - optind);
	mq_topic **topics = calloc(ntopics, sizeof *topics);
	if (!topics)
		die(EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < ntopics; i++) {
		const char *name = argv[optind + (int)i];
		int rc = mq_topic_open(env, name, &topics[i]);
		if (rc == MQ_ENOTOPIC)
			die(EXIT_ERROR, "topic '%s' does not exist", name);
		if (rc < 0)
			die_mq(rc, "cannot open topic '%s'", name);
		int32_t np = mq_topic_partitions(topics[i]);
		for (size_t k = 0; k < nparts; k++)
			if (parts[k] >= np)
				die(EXIT_ERROR, "topic '%s' has no partition %d (it has %d)",
				    name, parts[k], np);
	}

	int flags = (nowait ? MQ_NOWAIT : 0) | (dry_run ? MQ_REPAIR_DRY_RUN : 0);
	for (size_t i = 0; i < ntopics; i++) {
		int32_t np = mq_topic_partitions(topics[i]);
		for (int32_t p = 0; p < np; p++) {
			int chosen = nparts == 0;
			for (size_t k = 0; k < nparts; k++)
				chosen |= parts[k] == p;
			if (chosen)
				repair_one(topics[i], p, flags);
		}
		mq_topic_close(topics[i]);
	}
	if (fflush(stdout) != 0)
		die(EXIT_ERROR, "cannot write output");
	free(topics);
	free(parts);
	mq_env_close(env);
	return status;
}
