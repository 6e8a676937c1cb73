/*
 * consume-group.h - mq-consume's consumer-group mode (-g): consuming as a
 * member of a group with commits (consume-group.c), running a command per
 * record or batch (consume-exec.c), and offset administration
 * (consume-admin.c).
 */
#ifndef MQ_CONSUME_GROUP_H
#define MQ_CONSUME_GROUP_H

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "mq.h"
#include "outbuf.h"
#include "recfmt.h"

enum { RESET_EARLIEST, RESET_LATEST, RESET_NONE };
enum { GSYNC_BATCH, GSYNC_EXIT, GSYNC_NONE };
enum { RO_NONE, RO_EARLIEST, RO_LATEST, RO_OFFSET, RO_SHIFT, RO_DATETIME };

/* The group options of the command line, and what they act on. */
struct group_opts {
	const char *group;          /* -g */
	int reset;                  /* --reset */
	int64_t commit_ms;          /* --commit-interval, in ms */
	int sync;                   /* --sync */
	const char *exec;           /* --exec CMD, or NULL */
	int64_t exec_batch;         /* --exec-batch */
	int64_t retries;            /* --retries */
	const char *dead_letter;    /* --dead-letter TOPIC */
	int reset_offsets;          /* --reset-offsets: RO_* */
	int64_t ro_arg;             /* its N or timestamp */
	int execute;                /* --execute */
	const char *delete_group;   /* --delete-group GROUP */
	int used;                   /* some group option was given */
	/* Filled in by mq-consume from its own options. */
	int follow;
	int64_t count;
	int json;
	const struct recfmt *fmt;
};

/* The long options of group mode, for mq-consume's option table. */
enum {
	GOPT_RESET = 0x200, GOPT_COMMIT_INTERVAL, GOPT_SYNC, GOPT_EXEC,
	GOPT_EXEC_BATCH, GOPT_RETRIES, GOPT_DEAD_LETTER, GOPT_RESET_OFFSETS,
	GOPT_EXECUTE, GOPT_DELETE_GROUP,
};
#define GROUP_LONGOPTS \
	{ "group", required_argument, NULL, 'g' }, \
	{ "reset", required_argument, NULL, GOPT_RESET }, \
	{ "commit-interval", required_argument, NULL, GOPT_COMMIT_INTERVAL }, \
	{ "sync", required_argument, NULL, GOPT_SYNC }, \
	{ "exec", required_argument, NULL, GOPT_EXEC }, \
	{ "exec-batch", required_argument, NULL, GOPT_EXEC_BATCH }, \
	{ "retries", required_argument, NULL, GOPT_RETRIES }, \
	{ "dead-letter", required_argument, NULL, GOPT_DEAD_LETTER }, \
	{ "reset-offsets", required_argument, NULL, GOPT_RESET_OFFSETS }, \
	{ "execute", no_argument, NULL, GOPT_EXECUTE }, \
	{ "delete-group", required_argument, NULL, GOPT_DELETE_GROUP }

/* group_opts_init sets the defaults. */
void group_opts_init(struct group_opts *g);

/*
 * group_option handles option c (from getopt_long, with optarg) if it is
 * a group option and returns 1, else returns 0.  --reset-offsets SPEC
 * takes the word after it too when SPEC needs a value ("to-offset N").
 * A bad value is a usage error (exit 2).
 */
int group_option(struct group_opts *g, int c, const char *arg, int argc,
                 char **argv);

/*
 * group_check rejects combinations that make no sense (exit 2); has_p
 * and has_o say whether -p or -o were given.
 */
void group_check(const struct group_opts *g, int has_p, int has_o);

/*
 * group_admin runs --reset-offsets or --delete-group with the remaining
 * arguments and returns the exit status.
 */
int group_admin(mq_env *env, const struct group_opts *g, int nargs,
                char **args);

/*
 * group_consume consumes the n topics as a member of g->group until the
 * end of the log (or for ever with -f), the count, a signal or a closed
 * standard output, committing as it goes and on the way out.  Returns
 * the exit status.
 */
int group_consume(mq_env *env, char **topics, size_t n,
                  const struct group_opts *g);

/* ------------------------------------------------------------------ */
/* Shared between consume-group.c and consume-exec.c.                   */

/* One partition of the subscription. */
struct gsrc {
	mq_topic *t;
	const char *topic;
	size_t topic_len;
	int32_t partition;
	mq_reader *reader;       /* open while owned */
	int64_t stop;            /* without -f: log end at take-over */
	int64_t emitted;         /* offset after the last record written */
	int done;                /* without -f: reached stop */
};

/* The state of a group consumer. */
struct gstate {
	mq_env *env;
	const struct group_opts *o;
	mq_group *g;
	struct gsrc *src;
	size_t nsrc;
	struct outbuf ob;        /* standard output, or the command's stdin */
	mq_topic *dl;            /* --dead-letter topic */
	mq_batch *dlb;
	mq_header *hdrs;         /* scratch for dead-letter headers */
	size_t hdrs_cap;
	int status;              /* exit status so far */
	int fatal;               /* stop now */
};

extern volatile sig_atomic_t group_stop;

/*
 * group_emit appends rec of s to ob in the output format.
 */
void group_emit(struct gstate *st, struct outbuf *ob, const struct gsrc *s,
                const mq_record *rec);

/*
 * exec_open prepares --exec (and opens the dead-letter topic); dies on
 * failure.  exec_close releases it.
 */
void exec_open(struct gstate *st);
void exec_close(struct gstate *st);

/*
 * exec_batch reads up to max records of partition i (max >= 1) and runs
 * the command on them, retrying and dead-lettering per the options.
 * Returns the number of records processed (their offsets are marked
 * processed in the group), 0 if there was none to read, or -1 when the
 * consumer must stop (st->status says why).
 */
int64_t exec_batch(struct gstate *st, size_t i, int64_t max);

#endif
