/*
 * consume-group.c - mq-consume -g: consuming as a member of a consumer
 * group.  Every TICK_MS the member writes out its output buffer, marks
 * what was written as processed, and rebalances (releasing partitions
 * assigned elsewhere after committing them, taking over its own); it
 * commits every --commit-interval and when it stops.  In between it
 * reads its partitions round-robin exactly as plain mq-consume does.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consume-group.h"
#include "jsonout.h"
#include "isotime.h"
#include "tool.h"

#define TICK_MS 200
#define BURST 256
#define OUTBUF_SIZE (1 << 20)
#define WATCH_MASK (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)

volatile sig_atomic_t group_stop;

static void on_signal(int sig)
{
	(void)sig;
	group_stop = 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void group_opts_init(struct group_opts *g)
{
	memset(g, 0, sizeof *g);
	g->reset = RESET_EARLIEST;
	g->commit_ms = 1000;
	g->sync = GSYNC_BATCH;
	g->exec_batch = 1;
	g->retries = 3;
	g->count = -1;
}

/* Parses the SPEC of --reset-offsets, taking its value from argv. */
static void parse_reset_offsets(struct group_opts *g, const char *spec,
                                int argc, char **argv)
{
	static const struct { const char *name; int kind; int arg; } k[] = {
		{ "to-earliest", RO_EARLIEST, 0 },
		{ "to-latest", RO_LATEST, 0 },
		{ "to-offset", RO_OFFSET, 1 },
		{ "shift-by", RO_SHIFT, 1 },
		{ "to-datetime", RO_DATETIME, 1 },
	};
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		if (strcmp(spec, k[i].name) != 0)
			continue;
		g->reset_offsets = k[i].kind;
		if (!k[i].arg)
			return;
		if (optind >= argc)
			usage_error("--reset-offsets %s needs a value", spec);
		const char *v = argv[optind++];
		if (k[i].kind == RO_DATETIME) {
			if (isotime_parse(v, &g->ro_arg) < 0)
				usage_error("invalid timestamp '%s'", v);
		} else if (parse_i64(v, &g->ro_arg) < 0 ||
		           (k[i].kind == RO_OFFSET && g->ro_arg < 0)) {
			usage_error("invalid offset '%s'", v);
		}
		return;
	}
	usage_error("invalid --reset-offsets '%s' (expected to-earliest, "
	            "to-latest, to-offset N, shift-by N or to-datetime TIME)",
	            spec);
}

static int64_t nonneg(const char *what, const char *s, int64_t min)
{
	int64_t v;
	if (parse_i64(s, &v) < 0 || v < min)
		usage_error("invalid %s '%s'", what, s);
	return v;
}

int group_option(struct group_opts *g, int c, const char *arg, int argc,
                 char **argv)
{
	switch (c) {
	case 'g':
		if (!mq_name_valid(arg))
			usage_error("invalid group name '%s' (use 1 to 249 of "
			            "[A-Za-z0-9._-], not '.' or '..')", arg);
		g->group = arg;
		break;
	case GOPT_RESET:
		if (strcmp(arg, "earliest") == 0)
			g->reset = RESET_EARLIEST;
		else if (strcmp(arg, "latest") == 0)
			g->reset = RESET_LATEST;
		else if (strcmp(arg, "none") == 0)
			g->reset = RESET_NONE;
		else
			usage_error("invalid --reset '%s' (expected earliest, "
			            "latest or none)", arg);
		break;
	case GOPT_COMMIT_INTERVAL:
		g->commit_ms = nonneg("commit interval", arg, 0);
		break;
	case GOPT_SYNC:
		if (strcmp(arg, "batch") == 0)
			g->sync = GSYNC_BATCH;
		else if (strcmp(arg, "exit") == 0)
			g->sync = GSYNC_EXIT;
		else if (strcmp(arg, "none") == 0)
			g->sync = GSYNC_NONE;
		else
			usage_error("invalid sync mode '%s' (expected batch, "
			            "exit or none)", arg);
		break;
	case GOPT_EXEC:
		g->exec = arg;
		break;
	case GOPT_EXEC_BATCH:
		g->exec_batch = nonneg("batch size", arg, 1);
		break;
	case GOPT_RETRIES:
		g->retries = nonneg("retry count", arg, 0);
		break;
	case GOPT_DEAD_LETTER:
		if (!mq_name_valid(arg))
			usage_error("invalid topic name '%s'", arg);
		g->dead_letter = arg;
		break;
	case GOPT_RESET_OFFSETS:
		parse_reset_offsets(g, arg, argc, argv);
		break;
	case GOPT_EXECUTE:
		g->execute = 1;
		break;
	case GOPT_DELETE_GROUP:
		if (!mq_name_valid(arg))
			usage_error("invalid group name '%s' (use 1 to 249 of "
			            "[A-Za-z0-9._-], not '.' or '..')", arg);
		g->delete_group = arg;
		break;
	default:
		return 0;
	}
	if (c != 'g')
		g->used = 1;
	return 1;
}

void group_check(const struct group_opts *g, int has_p, int has_o)
{
	if (g->delete_group) {
		if (g->reset_offsets || g->group)
			usage_error("--delete-group takes the group as its "
			            "argument and no other group option");
		return;
	}
	if (g->used && !g->group)
		usage_error("group options need -g GROUP");
	if (!g->group)
		return;
	if (has_p || has_o)
		usage_error("-p and -o cannot be used with -g (the group's "
		            "committed offsets decide; see --reset-offsets)");
	if (g->execute && !g->reset_offsets)
		usage_error("--execute applies only to --reset-offsets");
	if (g->reset_offsets && g->exec)
		usage_error("--reset-offsets and --exec exclude each other");
	if (!g->exec && (g->dead_letter || g->exec_batch != 1))
		usage_error("--dead-letter and --exec-batch need --exec");
}

void group_emit(struct gstate *st, struct outbuf *ob, const struct gsrc *s,
                const mq_record *rec)
{
	if (st->o->json)
		jsonout_record(ob, s->topic, s->topic_len, s->partition, rec);
	else
		recfmt_emit(st->o->fmt, ob, s->topic, s->topic_len,
		            s->partition, rec);
}

/* ------------------------------------------------------------------ */

/* Ownership changed: open or close the reader of partition i. */
static void on_change(void *ctx, size_t i, int owned)
{
	struct gstate *st = ctx;
	struct gsrc *s = &st->src[i];
	if (!owned) {
		mq_reader_close(s->reader);
		s->reader = NULL;
		s->emitted = -1;
		return;
	}
	int64_t start, end, committed = mq_group_offset(st->g, i);
	int rc;
	s->done = 0;
	s->emitted = -1;
	if (committed < 0 && st->o->reset == RESET_NONE) {
		errorx("group '%s' has no committed offset for %s/%d "
		       "(--reset none)", st->o->group, s->topic, s->partition);
		st->status = EXIT_ERROR;
		st->fatal = 1;
		return;
	}
	if ((rc = mq_reader_open(s->t, s->partition, &s->reader)) < 0 ||
	    (rc = mq_log_offsets(s->t, s->partition, &start, &end)) < 0) {
		errorx("cannot read %s/%d: %s", s->topic, s->partition,
		       mq_errmsg());
		st->status = exit_code_for(rc);
		st->fatal = 1;
		return;
	}
	s->stop = end;
	if (committed >= 0) {
		rc = mq_reader_seek(s->reader, committed);
		if (rc == 1)
			warnx("warning: committed offset %lld of %s/%d is no "
			      "longer available; starting at log start %lld",
			      (long long)committed, s->topic, s->partition,
			      (long long)mq_reader_position(s->reader));
	} else if (st->o->reset == RESET_LATEST) {
		rc = mq_reader_seek(s->reader, end);
	} else {
		rc = 0;
	}
	if (rc < 0) {
		errorx("cannot seek in %s/%d: %s", s->topic, s->partition,
		       mq_errmsg());
		st->status = exit_code_for(rc);
		st->fatal = 1;
		return;
	}
	/* Commit where we start, so --reset applies once. */
	mq_group_processed(st->g, i, mq_reader_position(s->reader));
	if (!st->o->follow && mq_reader_position(s->reader) >= s->stop)
		s->done = 1;
}

/*
 * Writes out the output buffer and marks what it held as processed.
 * Returns -1 if standard output failed (nothing more is marked).
 */
static int sync_point(struct gstate *st)
{
	if (!st->o->exec && ob_flush(&st->ob) < 0)
		return -1;
	for (size_t i = 0; i < st->nsrc; i++)
		if (st->src[i].reader && st->src[i].emitted >= 0)
			mq_group_processed(st->g, i, st->src[i].emitted);
	return 0;
}

/* The commit flags for the sync mode; final is the commit at exit. */
static int commit_flags(const struct gstate *st, int final)
{
	if (st->o->sync == GSYNC_NONE ||
	    (st->o->sync == GSYNC_EXIT && !final))
		return MQ_GROUP_NOSYNC;
	return 0;
}

static int group_failed(struct gstate *st, int rc, const char *what)
{
	errorx("%s: %s", what, mq_errmsg());
	st->status = exit_code_for(rc);
	st->fatal = 1;
	return -1;
}

/* Without -f: every partition assigned to us is ours and at its end. */
static int all_done(const struct gstate *st)
{
	for (size_t i = 0; i < st->nsrc; i++)
		if (mq_group_assigned(st->g, i) &&
		    (!mq_group_owns(st->g, i) || !st->src[i].done))
			return 0;
	return 1;
}

/*
 * Sleeps until a watched directory changes (ifd >= 0), a signal, stdout's
 * reader goes away, or timeout_ms.  Returns 1 if stdout's reader is gone.
 */
static int wait_a_while(int ifd, int pipe_out, int64_t timeout_ms)
{
	sigset_t block, old;
	struct pollfd pfd[2];
	nfds_t n = 0;
	int gone = 0;
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (ifd >= 0)
		pfd[n++] = (struct pollfd){ .fd = ifd, .events = POLLIN };
	if (pipe_out)
		pfd[n++] = (struct pollfd){ .fd = STDOUT_FILENO, .events = 0 };
	struct timespec ts = { timeout_ms / 1000,
	                       (long)(timeout_ms % 1000) * 1000000 };
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!group_stop) {
		int r = ppoll(pfd, n, &ts, &old);
		if (r > 0 && pipe_out &&
		    (pfd[n - 1].revents & (POLLERR | POLLHUP)))
			gone = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (ifd >= 0) {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(ifd, buf, sizeof buf) > 0)
			;
	}
	return gone;
}

/* Watches every subscribed partition's directory; -1 without -f. */
static int watch_all(const struct gstate *st)
{
	if (!st->o->follow)
		return -1;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		die(EXIT_ERROR, "cannot start inotify: %s", strerror(errno));
	for (size_t i = 0; i < st->nsrc; i++) {
		char path[PATH_MAX];
		const struct gsrc *s = &st->src[i];
		int rc = mq_partition_path(s->t, s->partition, path,
		                           sizeof path);
		if (rc < 0)
			die_mq(rc, "cannot watch %s/%d", s->topic, s->partition);
		if (inotify_add_watch(fd, path, WATCH_MASK) < 0)
			die(EXIT_ERROR, "cannot watch '%s': %s", path,
			    strerror(errno));
	}
	return fd;
}

/* Reads up to BURST records of s into the output; returns how many, or
 * -1 when the consumer must stop. */
static int64_t read_burst(struct gstate *st, struct gsrc *s, int64_t max)
{
	mq_record rec;
	int64_t n = 0;
	while (n < max) {
		int rc = mq_reader_next(s->reader, &rec);
		if (rc < 0) {
			sync_point(st);
			errorx("%s", mq_errmsg());
			st->status = rc == MQ_ECORRUPT ? EXIT_CORRUPT : EXIT_ERROR;
			st->fatal = 1;
			return -1;
		}
		int64_t from, to;
		if (mq_reader_moved(s->reader, &from, &to))
			warnx("warning: offsets %lld-%lld of %s/%d are no "
			      "longer available; continuing at log start %lld",
			      (long long)from, (long long)to - 1, s->topic,
			      s->partition, (long long)to);
		if (rc == 0 || (!st->o->follow && rec.offset >= s->stop)) {
			s->done = !st->o->follow;
			break;
		}
		group_emit(st, &st->ob, s, &rec);
		s->emitted = rec.offset + 1;
		n++;
		if (st->ob.failed)
			return -1;
	}
	return n;
}

/* The main loop; see the comment at the top. */
static void run(struct gstate *st, int ifd)
{
	struct stat sb;
	int pipe_out = !st->o->exec && fstat(STDOUT_FILENO, &sb) == 0 &&
	               S_ISFIFO(sb.st_mode);
	int64_t total = 0, next_tick = 0;
	int64_t next_commit = mono_ms() + st->o->commit_ms;
	int rc;

	if (st->o->count == 0)
		return;
	for (;;) {
		int64_t now = mono_ms();
		if (now >= next_tick) {
			if (sync_point(st) < 0)
				return;
			rc = mq_group_rebalance(st->g, commit_flags(st, 0),
			                        on_change, st);
			if (rc < 0) {
				group_failed(st, rc, "cannot rebalance");
				return;
			}
			if (st->fatal)
				return;
			if (now >= next_commit) {
				rc = mq_group_commit(st->g, commit_flags(st, 0));
				if (rc < 0) {
					group_failed(st, rc, "cannot commit");
					return;
				}
				next_commit = now + st->o->commit_ms;
			}
			next_tick = now + TICK_MS;
		}
		int progress = 0;
		for (size_t i = 0; i < st->nsrc; i++) {
			struct gsrc *s = &st->src[i];
			if (!s->reader || s->done)
				continue;
			int64_t max = st->o->exec ? st->o->exec_batch : BURST;
			if (st->o->count > 0 && st->o->count - total < max)
				max = st->o->count - total;
			int64_t n = st->o->exec ? exec_batch(st, i, max)
			                        : read_burst(st, s, max);
			if (n < 0)
				return;
			total += n;
			progress |= n > 0;
			if (total == st->o->count || group_stop)
				return;
		}
		if (group_stop)
			return;
		if (progress)
			continue;
		if (!st->o->follow && all_done(st))
			return;
		if (sync_point(st) < 0)
			return;
		now = mono_ms();
		if (wait_a_while(ifd, pipe_out, next_tick - now)) {
			st->ob.failed = st->ob.broken = 1;
			return;
		}
	}
}

int group_consume(mq_env *env, char **topics, size_t n,
                  const struct group_opts *o)
{
	struct gstate st = { .env = env, .o = o };
	mq_topic **tv = calloc(n ? n : 1, sizeof *tv);
	int rc;
	if (!tv)
		die(EXIT_ERROR, "out of memory");
	for (size_t k = 0; k < n; k++) {
		rc = mq_topic_open(env, topics[k], &tv[k]);
		if (rc == MQ_ENOTOPIC)
			die(EXIT_ERROR, "topic '%s' does not exist", topics[k]);
		if (rc < 0)
			die_mq(rc, "cannot open topic '%s'", topics[k]);
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = mq_group_join(env, o->group, (const char *const *)topics, n,
	                   &st.g);
	if (rc < 0) {
		for (size_t k = 0; k < n; k++)
			mq_topic_close(tv[k]);
		free(tv);
		die_mq(rc, "cannot join group '%s'", o->group);
	}
	st.nsrc = mq_group_size(st.g);
	st.src = calloc(st.nsrc ? st.nsrc : 1, sizeof *st.src);
	if (!st.src)
		die(EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < st.nsrc; i++) {
		struct gsrc *s = &st.src[i];
		mq_group_part(st.g, i, &s->topic, &s->partition);
		s->topic_len = strlen(s->topic);
		s->emitted = -1;
		for (size_t k = 0; k < n; k++)
			if (strcmp(topics[k], s->topic) == 0)
				s->t = tv[k];
	}
	if (o->exec)
		exec_open(&st);
	else if (ob_init(&st.ob, STDOUT_FILENO, OUTBUF_SIZE) < 0)
		die(EXIT_ERROR, "out of memory");
	st.ob.stop = &group_stop;

	int ifd = watch_all(&st);
	run(&st, ifd);

	/* Commit what was written out, then leave the group. */
	sync_point(&st);
	if (!o->exec && st.ob.failed && !st.ob.broken) {
		errorx("cannot write to standard output: %s",
		       strerror(st.ob.err));
		if (st.status == EXIT_OK)
			st.status = EXIT_ERROR;
	}
	rc = mq_group_leave(st.g, commit_flags(&st, 1));
	if (rc < 0) {
		errorx("cannot commit: %s", mq_errmsg());
		if (st.status == EXIT_OK)
			st.status = exit_code_for(rc);
	}
	if (ifd >= 0)
		close(ifd);
	for (size_t i = 0; i < st.nsrc; i++)
		mq_reader_close(st.src[i].reader);
	free(st.src);
	if (o->exec)
		exec_close(&st);
	else
		ob_free(&st.ob);
	for (size_t k = 0; k < n; k++)
		mq_topic_close(tv[k]);
	free(tv);
	return st.status;
}
