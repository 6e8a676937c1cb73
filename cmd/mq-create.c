/*
 * mq-create - create, alter and delete topics.
 *
 *   mq-create [-v] [-d DIR] [-p N] [-c KEY=VALUE]... [--if-not-exists] TOPIC
 *   mq-create --alter [-v] [-d DIR] [-p N] [-c KEY=VALUE]... [--if-exists] TOPIC
 *   mq-create --delete [-nv] [-d DIR] [--if-exists] TOPIC
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

enum { MODE_CREATE, MODE_ALTER, MODE_DELETE };

enum {
	OPT_ALTER = 256,
	OPT_DELETE,
	OPT_IF_EXISTS,
	OPT_IF_NOT_EXISTS,
};

static const char usage_text[] =
"usage: mq-create [-v] [-d DIR] [-p N] [-c KEY=VALUE]... [--if-not-exists] TOPIC\n"
"       mq-create --alter [-v] [-d DIR] [-p N] [-c KEY=VALUE]... [--if-exists] TOPIC\n"
"       mq-create --delete [-nv] [-d DIR] [--if-exists] TOPIC\n"
"\n"
"Create a topic, change its configuration or partition count, or delete it.\n"
"\n"
"  -d, --dir DIR          data directory (default: $MQ_DIR, else\n"
"                         ${XDG_DATA_HOME:-$HOME/.local/share}/mq)\n"
"  -p, --partitions N     number of partitions (--alter: may only grow)\n"
"  -c, --config KEY=VALUE set a topic config key (Kafka's names); repeatable\n"
"      --if-not-exists    succeed quietly if the topic already exists\n"
"      --alter            change an existing topic instead of creating one\n"
"      --delete           delete the topic and all its records\n"
"      --if-exists        with --alter or --delete: succeed if it is missing\n"
"  -n, --no-wait          with --delete: exit 3 if a partition lock is held\n"
"  -v, --verbose          say what was done\n"
"  -h, --help             print this help and exit\n"
"  -V, --version          print the version and exit\n";

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "partitions", required_argument, NULL, 'p' },
	{ "config", required_argument, NULL, 'c' },
	{ "if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS },
	{ "if-exists", no_argument, NULL, OPT_IF_EXISTS },
	{ "alter", no_argument, NULL, OPT_ALTER },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "no-wait", no_argument, NULL, 'n' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* The command line, once parsed. */
struct args {
	const char *dir;
	const char *topic;
	int mode;
	const char *partitions;  /* -p argument, or NULL */
	char **configs;          /* -c arguments, in order */
	size_t nconfigs;
	int if_exists, if_not_exists, nowait, verbose;
};

static void set_mode(struct args *a, int mode)
{
	if (a->mode != MODE_CREATE && a->mode != mode)
		usage_error("--alter and --delete cannot be combined");
	a->mode = mode;
}

static void parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof *a);
	a->mode = MODE_CREATE;
	a->configs = calloc((size_t)argc, sizeof *a->configs);
	if (!a->configs)
		die(EXIT_ERROR, "out of memory");
	while ((c = getopt_long(argc, argv, "d:p:c:nvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 'p':
			a->partitions = optarg;
			break;
		case 'c':
			if (!strchr(optarg, '='))
				usage_error("invalid config '%s' (expected KEY=VALUE)",
				            optarg);
			a->configs[a->nconfigs++] = optarg;
			break;
		case OPT_IF_NOT_EXISTS:
			a->if_not_exists = 1;
			break;
		case OPT_IF_EXISTS:
			a->if_exists = 1;
			break;
		case OPT_ALTER:
			set_mode(a, MODE_ALTER);
			break;
		case OPT_DELETE:
			set_mode(a, MODE_DELETE);
			break;
		case 'n':
			a->nowait = 1;
			break;
		case 'v':
			a->verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		case 'V':
			print_version();
		default:
			bad_option();
		}
	}
	if (optind == argc)
		usage_error("missing topic name");
	if (argc - optind > 1)
		usage_error("too many arguments (one topic at a time)");
	a->topic = argv[optind];

	if (a->if_not_exists && a->mode != MODE_CREATE)
		usage_error("--if-not-exists applies only to creating a topic");
	if (a->if_exists && a->mode == MODE_CREATE)
		usage_error("--if-exists applies only to --alter and --delete");
	if (a->nowait && a->mode != MODE_DELETE)
		usage_error("--no-wait applies only to --delete");
	if (a->mode == MODE_DELETE && (a->partitions || a->nconfigs))
		usage_error("--delete takes no -p or -c");
	if (a->mode == MODE_ALTER && !a->partitions && !a->nconfigs)
		usage_error("--alter needs -p or -c");
}

/* config_error reports a rejected config key or value as a usage error. */
static __attribute__((noreturn)) void config_error(int rc)
{
	const char *msg = mq_errmsg();
	die(EXIT_USAGE, "%s", msg && *msg ? msg : mq_strerror(rc));
}

/*
 * apply_configs applies every -c KEY=VALUE to cfg in order, then -p.  An unknown key
 * or an invalid value is a bad argument: the message names the key (from
 * mq_errmsg()) and the tool exits with EXIT_USAGE.
 */
static void apply_configs(const struct args *a, mq_config *cfg)
{
	for (size_t i = 0; i < a->nconfigs; i++) {
		char *kv = a->configs[i];
		char *eq = strchr(kv, '=');
		*eq = '\0';
		int rc = mq_config_set(cfg, kv, eq + 1);
		*eq = '=';
		if (rc < 0)
			config_error(rc);
	}
	if (a->partitions) {
		int rc = mq_config_set(cfg, "partitions", a->partitions);
		if (rc < 0)
			config_error(rc);
	}
}

static int do_create(const struct args *a)
{
	mq_env *env = open_env(a->dir, MQ_CREATE);
	mq_config cfg;
	mq_env_defaults(env, &cfg);
	apply_configs(a, &cfg);

	int rc = mq_topic_create(env, a->topic, &cfg, 0);
	if (rc == MQ_EEXIST) {
		if (!a->if_not_exists)
			die(EXIT_ERROR, "topic '%s' already exists", a->topic);
		if (a->verbose)
			printf("topic '%s' already exists\n", a->topic);
	} else if (rc < 0) {
		die_mq(rc, "cannot create topic '%s'", a->topic);
	} else if (a->verbose) {
		printf("created topic '%s' with %ld partition%s\n", a->topic,
		       (long)cfg.partitions, cfg.partitions == 1 ? "" : "s");
	}
	mq_env_close(env);
	return EXIT_OK;
}

/*
 * open_existing opens the data directory without creating it.  A missing
 * directory holds no topics: with --if-exists it gives NULL (nothing to
 * do), otherwise the tool dies as for a missing topic.
 */
static mq_env *open_existing(const struct args *a)
{
	mq_env *env;
	int rc = mq_env_open(a->dir, 0, &env);
	if (rc == MQ_EIO && errno == ENOENT) {
		if (a->if_exists)
			return NULL;
		die(EXIT_ERROR, "topic '%s' does not exist (no data directory "
		    "'%s')", a->topic, a->dir);
	}
	if (rc < 0)
		die_mq(rc, "cannot open data directory '%s'", a->dir);
	return env;
}

static int do_alter(const struct args *a)
{
	mq_env *env = open_existing(a);
	mq_topic *t;
	if (!env)
		return EXIT_OK;
	int rc = mq_topic_open(env, a->topic, &t);
	if (rc == MQ_ENOTOPIC) {
		if (a->if_exists)
			goto out;
		die(EXIT_ERROR, "topic '%s' does not exist", a->topic);
	}
	if (rc < 0)
		die_mq(rc, "cannot open topic '%s'", a->topic);
	mq_config cfg = *mq_topic_config(t);
	int32_t old = mq_topic_partitions(t);
	mq_topic_close(t);
	cfg.partitions = old;
	apply_configs(a, &cfg);
	if (cfg.partitions < old)
		die(EXIT_ERROR, "cannot shrink topic '%s' from %ld to %ld "
		    "partitions (partitions can only be added)", a->topic,
		    (long)old, (long)cfg.partitions);

	rc = mq_topic_alter(env, a->topic, &cfg);
	if (rc < 0)
		die_mq(rc, "cannot alter topic '%s'", a->topic);
	if (cfg.partitions > old)
		warnx("warning: keyed records of '%s' may now map to "
		      "different partitions", a->topic);
	if (a->verbose) {
		if (cfg.partitions > old)
			printf("altered topic '%s': %ld partitions (was %ld)\n",
			       a->topic, (long)cfg.partitions, (long)old);
		else
			printf("altered topic '%s'\n", a->topic);
	}
out:
	mq_env_close(env);
	return EXIT_OK;
}

static int do_delete(const struct args *a)
{
	mq_env *env = open_existing(a);
	if (!env)
		return EXIT_OK;
	int rc = mq_topic_delete(env, a->topic, a->nowait ? MQ_NOWAIT : 0);
	if (rc == MQ_ENOTOPIC) {
		if (!a->if_exists)
			die(EXIT_ERROR, "topic '%s' does not exist", a->topic);
	} else if (rc == MQ_EBUSY) {
		/* libmq's message names the topic and the locked file. */
		die(EXIT_BUSY, "%s", mq_errmsg());
	} else if (rc < 0) {
		die_mq(rc, "cannot delete topic '%s'", a->topic);
	} else if (a->verbose) {
		printf("deleted topic '%s'\n", a->topic);
	}
	mq_env_close(env);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct args a;

	tool_init("mq-create");
	parse_args(argc, argv, &a);

	/* Reject bad names and bad configs before any file is touched. */
	if (!mq_name_valid(a.topic))
		die(EXIT_USAGE, "invalid topic name '%s' (use 1 to 249 of "
		    "[A-Za-z0-9._-], not '.' or '..')", a.topic);
	if (a.nconfigs || a.partitions) {
		mq_config scratch;
		mq_config_defaults(&scratch);
		apply_configs(&a, &scratch);
	}
	a.dir = data_dir(a.dir);

	int rc;
	switch (a.mode) {
	case MODE_ALTER:
		rc = do_alter(&a);
		break;
	case MODE_DELETE:
		rc = do_delete(&a);
		break;
	default:
		rc = do_create(&a);
		break;
	}
	free(a.configs);
	return rc;
}
