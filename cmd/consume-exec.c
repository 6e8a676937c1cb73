/*
 * consume-exec.c - mq-consume -g --exec: run a command for each record or
 * batch of records of one partition, with the records on its standard
 * input and their coordinates in its environment.  A batch counts as
 * processed only when the command exits 0; a failing one is retried with
 * a doubling delay, then either stops the consumer or goes to the
 * dead-letter topic.  On a retry the reader seeks back to the batch's
 * first offset and reads the same records again, so nothing is copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consume-group.h"
#include "tool.h"

#define PIPE_BUF_SIZE (64 * 1024)
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 30000

void exec_open(struct gstate *st)
{
	if (ob_init(&st->ob, -1, PIPE_BUF_SIZE) < 0)
		die(EXIT_ERROR, "out of memory");
	if (!st->o->dead_letter)
		return;
	int rc = mq_topic_open(st->env, st->o->dead_letter, &st->dl);
	if (rc == MQ_ENOTOPIC)
		die(EXIT_ERROR, "dead-letter topic '%s' does not exist",
		    st->o->dead_letter);
	if (rc < 0)
		die_mq(rc, "cannot open topic '%s'", st->o->dead_letter);
	if ((rc = mq_batch_new(MQ_COMPRESSION_NONE, &st->dlb)) < 0)
		die_mq(rc, "cannot start a batch");
}

void exec_close(struct gstate *st)
{
	ob_free(&st->ob);
	mq_batch_free(st->dlb);
	mq_topic_close(st->dl);
	free(st->hdrs);
}

/* Sleeps ms milliseconds unless a signal asks us to stop first. */
static void backoff(int64_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (!group_stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Describes a wait status as "exit status N" or "killed by signal N". */
static void status_text(int ws, char *buf, size_t len)
{
	if (WIFEXITED(ws))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(ws));
	else if (WIFSIGNALED(ws))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(ws));
	else
		snprintf(buf, len, "wait status %d", ws);
}

/* In the child: the environment, stdin, signals, then /bin/sh -c. */
__attribute__((noreturn))
static void child(const struct gstate *st, const struct gsrc *s, int rfd,
                  const mq_record *first, int64_t count)
{
	char num[32];
	sigset_t none;
	setenv("MQ_GROUP", st->o->group, 1);
	setenv("MQ_TOPIC", s->topic, 1);
	snprintf(num, sizeof num, "%" PRId32, s->partition);
	setenv("MQ_PARTITION", num, 1);
	snprintf(num, sizeof num, "%" PRId64, first->offset);
	setenv("MQ_OFFSET", num, 1);
	snprintf(num, sizeof num, "%" PRId64, count);
	setenv("MQ_COUNT", num, 1);
	if (first->key_len < 0) {
		unsetenv("MQ_KEY");
	} else {
		char *k = strndup(first->key, (size_t)first->key_len);
		if (k)
			setenv("MQ_KEY", k, 1);
	}
	if (rfd != STDIN_FILENO) {
		dup2(rfd, STDIN_FILENO);
		close(rfd);
	}
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl("/bin/sh", "sh", "-c", st->o->exec, (char *)NULL);
	fprintf(stderr, "%s: cannot run /bin/sh: %s\n", progname,
	        strerror(errno));
	_exit(127);
}

/*
 * Reads the next record of s into *rec: 1, or 0 when there is none
 * within the batch's bounds; a read error stops the consumer (-1).
 */
static int next_record(struct gstate *st, struct gsrc *s, mq_record *rec)
{
	int rc = mq_reader_next(s->reader, rec);
	if (rc < 0) {
		errorx("%s", mq_errmsg());
		st->status = rc == MQ_ECORRUPT ? EXIT_CORRUPT : EXIT_ERROR;
		st->fatal = 1;
		return -1;
	}
	if (rc == 0 || (!st->o->follow && rec->offset >= s->stop)) {
		s->done = !st->o->follow;
		return 0;
	}
	return 1;
}

/*
 * Runs the command once on the batch starting with *first: forks, then
 * streams first and up to want - 1 more records into its stdin.  Stores
 * the records sent in *sent and the last offset in *last.  Returns the
 * wait status, or -1 when the consumer must stop.
 */
static int run_once(struct gstate *st, struct gsrc *s, mq_record *first,
                    int64_t want, int64_t *sent, int64_t *last)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		die(EXIT_ERROR, "cannot create a pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die(EXIT_ERROR, "cannot fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[1]);
		child(st, s, fds[0], first, want);
	}
	close(fds[0]);
	st->ob.fd = fds[1];
	st->ob.failed = st->ob.broken = 0;
	st->ob.len = 0;
	group_emit(st, &st->ob, s, first);
	*sent = 1;
	*last = first->offset;
	int stop = 0;
	while (*sent < want) {
		mq_record rec;
		int rc = next_record(st, s, &rec);
		if (rc < 0)
			stop = 1;
		if (rc <= 0)
			break;
		group_emit(st, &st->ob, s, &rec);
		++*sent;
		*last = rec.offset;
	}
	ob_flush(&st->ob);
	close(fds[1]);
	st->ob.fd = -1;
	int ws;
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			die(EXIT_ERROR, "cannot wait for the command: %s",
			    strerror(errno));
	return stop ? -1 : ws;
}

/* Seeks s back to offset and reads the record there into *rec. */
static int reread(struct gstate *st, struct gsrc *s, int64_t offset,
                  mq_record *rec)
{
	int rc = mq_reader_seek(s->reader, offset);
	if (rc < 0) {
		errorx("cannot seek in %s/%d: %s", s->topic, s->partition,
		       mq_errmsg());
		st->status = EXIT_ERROR;
		st->fatal = 1;
		return -1;
	}
	s->done = 0;
	return next_record(st, s, rec);
}

/* Appends one record to the dead-letter topic with the origin headers. */
static int dead_letter_one(struct gstate *st, const struct gsrc *s,
                           const mq_record *rec, const char *why)
{
	char part[16], off[24];
	size_t need = rec->header_count + 4;
	if (need > st->hdrs_cap) {
		mq_header *nh = realloc(st->hdrs, need * sizeof *nh);
		if (!nh)
			die(EXIT_ERROR, "out of memory");
		st->hdrs = nh;
		st->hdrs_cap = need;
	}
	memcpy(st->hdrs, rec->headers, rec->header_count * sizeof *st->hdrs);
	snprintf(part, sizeof part, "%" PRId32, s->partition);
	snprintf(off, sizeof off, "%" PRId64, rec->offset);
	const char *names[4] = { "mq.origin.topic", "mq.origin.partition",
	                         "mq.origin.offset", "mq.error" };
	const char *vals[4] = { s->topic, part, off, why };
	for (int k = 0; k < 4; k++) {
		mq_header *h = &st->hdrs[rec->header_count + (size_t)k];
		h->key = names[k];
		h->key_len = strlen(names[k]);
		h->value = vals[k];
		h->value_len = (ssize_t)strlen(vals[k]);
	}
	mq_record out = *rec;
	out.headers = st->hdrs;
	out.header_count = need;
	int32_t np = mq_topic_partitions(st->dl);
	int32_t p = rec->key_len >= 0
	    ? mq_partition_for_key(rec->key, (size_t)rec->key_len, np)
	    : s->partition % np;
	int rc = mq_batch_add(st->dlb, &out);
	if (rc == MQ_OK)
		rc = mq_append(st->dl, p, st->dlb, 0, NULL);
	if (rc < 0) {
		mq_batch_reset(st->dlb);
		errorx("cannot append to dead-letter topic '%s': %s",
		       st->o->dead_letter, mq_errmsg());
		st->status = exit_code_for(rc);
		st->fatal = 1;
		return -1;
	}
	return 0;
}

/* Sends the n records from offset first to the dead-letter topic. */
static int dead_letter(struct gstate *st, struct gsrc *s, int64_t first,
                       int64_t n, const char *why)
{
	mq_record rec;
	for (int64_t k = 0; k < n; k++) {
		int rc = k == 0 ? reread(st, s, first, &rec)
		                : next_record(st, s, &rec);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		if (dead_letter_one(st, s, &rec, why) < 0)
			return -1;
	}
	if (st->o->sync != GSYNC_NONE && mq_sync(st->dl) < 0) {
		errorx("cannot sync dead-letter topic '%s': %s",
		       st->o->dead_letter, mq_errmsg());
		st->status = EXIT_ERROR;
		st->fatal = 1;
		return -1;
	}
	return 0;
}

int64_t exec_batch(struct gstate *st, size_t i, int64_t max)
{
	struct gsrc *s = &st->src[i];
	mq_record rec;
	int64_t sent = 0, last = -1, want = max;
	int rc = next_record(st, s, &rec);
	if (rc <= 0)
		return rc;
	int64_t first = rec.offset;
	char why[64] = "";
	for (int64_t attempt = 0;; attempt++) {
		int ws = run_once(st, s, &rec, want, &sent, &last);
		if (ws < 0)
			return -1;
		if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
			goto processed;
		status_text(ws, why, sizeof why);
		if (group_stop) {
			/* Interrupted: the batch stays unprocessed. */
			return -1;
		}
		/* Retry exactly the records sent this time. */
		want = sent;
		if (attempt >= st->o->retries)
			break;
		int64_t ms = BACKOFF_FIRST_MS;
		for (int64_t k = 0; k < attempt && ms < BACKOFF_MAX_MS; k++)
			ms *= 2;
		backoff(ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS);
		if (group_stop)
			return -1;
		if ((rc = reread(st, s, first, &rec)) <= 0)
			return -1;
	}
	if (!st->dl) {
		errorx("command failed on %s/%d offset %" PRId64 "%s: %s; "
		       "stopping", s->topic, s->partition, first,
		       sent > 1 ? " (batch)" : "", why);
		st->status = EXIT_ERROR;
		st->fatal = 1;
		return -1;
	}
	warnx("command failed on %s/%d offset %" PRId64 "%s: %s; moved to "
	      "'%s'", s->topic, s->partition, first,
	      sent > 1 ? " (batch)" : "", why, st->o->dead_letter);
	if (dead_letter(st, s, first, sent, why) < 0)
		return -1;
processed:
	s->emitted = last + 1;
	mq_group_processed(st->g, i, last + 1);
	return sent;
}
