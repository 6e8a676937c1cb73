/*
 * mq-consume - write the records of one or more topics to standard output,
 * like cat (stop at the end of the log) or tail -f (-f, wait for more).
 *
 * Each partition gets a reader; the readers are served round-robin, up to
 * BURST records each per turn, so partitions interleave while every
 * partition stays in offset order.  Output goes through one large buffer
 * drained with write(2).  Following uses inotify on the partition
 * directories and sleeps in ppoll(2) with SIGINT and SIGTERM unblocked, so
 * it never polls the files and still wakes for a signal at once.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consume-group.h"
#include "consume-topics.h"
#include "isotime.h"
#include "jsonout.h"
#include "outbuf.h"
#include "recfmt.h"
#include "tool.h"

#define OUTBUF_SIZE (1 << 20)
#define BURST 256
#define WATCH_MASK (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)

enum { OUT_FORMAT, OUT_JSON };
enum { FROM_BEGINNING, FROM_END, FROM_OFFSET, FROM_TAIL, FROM_TIME };

/* One partition being read. */
struct source {
	mq_topic *t;
	const char *topic;
	size_t topic_len;
	int32_t partition;
	mq_reader *reader;
	int64_t stop;     /* without -f: the log end offset seen at start */
	int done;
};

/* What the command line asked for. */
struct opts {
	const char *dir;
	int32_t *parts;
	size_t nparts;
	int from;
	int64_t from_arg;
	int64_t count;    /* -1: no limit */
	int follow;
	int out;
	struct recfmt fmt;
};

static volatile sig_atomic_t interrupted;

/* The open topics (one per name) and sources, kept here so that they
 * stay reachable when an error exits early. */
static mq_topic **open_topics;
static struct source *open_srcs;
static size_t open_nsrc;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

__attribute__((noreturn)) static void usage(void)
{
	printf(
"Usage: %s [OPTION]... TOPIC[,TOPIC...]...\n"
"       %s -g GROUP [OPTION]... TOPIC...\n"
"       %s -g GROUP --reset-offsets SPEC [--execute] TOPIC[:PARTITIONS]...\n"
"       %s --delete-group GROUP\n"
"Write the records of TOPICs to standard output, each partition in offset\n"
"order, and stop at the end of the log.\n"
"\n"
"  -d, --dir DIR         data directory (default: $MQ_DIR, else\n"
"                        ${XDG_DATA_HOME:-~/.local/share}/mq)\n"
"  -p, --partition N     read only partition N (repeatable)\n"
"  -o, --offset WHERE    start at beginning (default), end, N (an offset),\n"
"                        -N (N records before the end) or @TIME (ms since\n"
"                        the epoch, or ISO 8601 such as 2026-11-23T10:15:30Z)\n"
"  -c, --count N         stop after N records\n"
"  -f, --follow          at the end, wait for new records (like tail -f)\n"
"  -F, --format FMT      write each record as FMT: %%t topic, %%p partition,\n"
"                        %%o offset, %%k key, %%s value, %%T timestamp,\n"
"                        %%h headers, %%K key length, %%S value length,\n"
"                        %%R value length as 4 big-endian bytes,\n"
"                        %%%% percent; escapes \\n \\t \\r \\0 \\\\\n"
"  -0, --null            end each value with a NUL byte, not a newline\n"
"      --json            write one JSON object per line for each record\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Consumer groups:\n"
"  -g, --group GROUP     consume as a member of GROUP: start at its\n"
"                        committed offsets, share the partitions with the\n"
"                        other members, commit what was written out\n"
"      --reset WHERE     without a committed offset start at earliest\n"
"                        (default), latest, or fail (none)\n"
"      --commit-interval MS  commit at least this often (default 1000)\n"
"      --sync MODE       fsync commits: batch (each, default), exit (only\n"
"                        the last) or none\n"
"      --exec CMD        run sh -c CMD per record, the record on its stdin\n"
"                        and MQ_TOPIC, MQ_PARTITION, MQ_OFFSET, MQ_KEY set;\n"
"                        commit only after it exits 0\n"
"      --exec-batch N    up to N records of a partition per run (default 1)\n"
"      --retries N       retries of a failing CMD (default 3), 100 ms apart\n"
"                        and doubling; then stop with status 1\n"
"      --dead-letter TOPIC  instead of stopping, append the records to TOPIC\n"
"                        and go on\n"
"      --reset-offsets SPEC  to-earliest, to-latest, to-offset N, shift-by N\n"
"                        or to-datetime TIME: print the planned offsets\n"
"      --execute         and write them (no member may be running)\n"
"      --delete-group GROUP  remove a group (no member may be running)\n"
"\n"
"A TOPIC may be a shell pattern, such as 'logs.*', matched against the\n"
"existing topics.\n", progname, progname, progname, progname);
	exit(EXIT_OK);
}

/* Parses the argument of -o into o->from and o->from_arg. */
static void parse_offset(struct opts *o, const char *s)
{
	int64_t v;
	if (strcmp(s, "beginning") == 0) {
		o->from = FROM_BEGINNING;
	} else if (strcmp(s, "end") == 0) {
		o->from = FROM_END;
	} else if (s[0] == '@') {
		if (isotime_parse(s + 1, &v) < 0)
			usage_error("invalid timestamp '%s'", s + 1);
		o->from = FROM_TIME;
		o->from_arg = v;
	} else if (parse_i64(s, &v) == 0 && v != INT64_MIN) {
		o->from = s[0] == '-' ? FROM_TAIL : FROM_OFFSET;
		o->from_arg = v < 0 ? -v : v;
	} else {
		usage_error("invalid offset '%s'", s);
	}
}

/* Adds partition s to the -p list, ignoring repeats. */
static void add_partition(struct opts *o, const char *s)
{
	int64_t v;
	if (parse_i64(s, &v) < 0 || v < 0 || v > INT32_MAX)
		usage_error("invalid partition '%s'", s);
	for (size_t i = 0; i < o->nparts; i++)
		if (o->parts[i] == v)
			return;
	int32_t *np = realloc(o->parts, (o->nparts + 1) * sizeof *np);
	if (!np)
		die(EXIT_ERROR, "out of memory");
	o->parts = np;
	o->parts[o->nparts++] = (int32_t)v;
}

/* A growing list of strings. */
/* Positions s per -o and records where it stops without -f. */
static void position(struct source *s, mq_topic *t, const struct opts *o)
{
	int64_t start, end;
	int rc = mq_log_offsets(t, s->partition, &start, &end);
	if (rc < 0)
		die_mq(rc, "cannot read offsets of %s/%d", s->topic,
		       s->partition);
	s->stop = end;
	switch (o->from) {
	case FROM_BEGINNING:
		rc = 0;
		break;
	case FROM_END:
		rc = mq_reader_seek(s->reader, end);
		break;
	case FROM_OFFSET:
		rc = mq_reader_seek(s->reader, o->from_arg);
		if (rc == 1)
			warnx("warning: offset %lld of %s/%d is no longer "
			      "available; starting at log start %lld",
			      (long long)o->from_arg, s->topic, s->partition,
			      (long long)mq_reader_position(s->reader));
		break;
	case FROM_TAIL:
		rc = mq_reader_seek(s->reader, end - o->from_arg < start
		                               ? start : end - o->from_arg);
		break;
	case FROM_TIME:
		rc = mq_reader_seek_time(s->reader, o->from_arg);
		break;
	}
	if (rc < 0)
		die_mq(rc, "cannot seek in %s/%d", s->topic, s->partition);
}

/*
 * Opens every topic in names into open_topics and a reader for each
 * selected partition into open_srcs and open_nsrc.
 */
static void open_sources(mq_env *env, const struct strlist *names,
                         const struct opts *o)
{
	mq_topic **tv = calloc(names->n, sizeof *tv);
	size_t total = 0;
	if (!tv)
		die(EXIT_ERROR, "out of memory");
	open_topics = tv;
	for (size_t i = 0; i < names->n; i++) {
		int rc = mq_topic_open(env, names->v[i], &tv[i]);
		if (rc == MQ_ENOTOPIC)
			die(EXIT_ERROR, "topic '%s' does not exist",
			    names->v[i]);
		if (rc < 0)
			die_mq(rc, "cannot open topic '%s'", names->v[i]);
		int32_t np = mq_topic_partitions(tv[i]);
		for (size_t k = 0; k < o->nparts; k++)
			if (o->parts[k] >= np)
				die(EXIT_ERROR, "topic '%s' has no partition "
				    "%d (it has %d)", names->v[i],
				    o->parts[k], np);
		total += o->nparts ? o->nparts : (size_t)np;
	}
	struct source *src = calloc(total ? total : 1, sizeof *src);
	if (!src)
		die(EXIT_ERROR, "out of memory");
	open_srcs = src;
	size_t n = 0;
	for (size_t i = 0; i < names->n; i++) {
		int32_t np = o->nparts ? (int32_t)o->nparts
		                       : mq_topic_partitions(tv[i]);
		for (int32_t k = 0; k < np; k++) {
			struct source *s = &src[n++];
			s->t = tv[i];
			s->topic = names->v[i];
			s->topic_len = strlen(s->topic);
			s->partition = o->nparts ? o->parts[k] : k;
			int rc = mq_reader_open(tv[i], s->partition,
			                        &s->reader);
			if (rc < 0)
				die_mq(rc, "cannot read %s/%d", s->topic,
				       s->partition);
			position(s, tv[i], o);
		}
	}
	open_nsrc = n;
}

/* Sets up inotify watches on every source's partition directory and
 * returns the inotify descriptor. */
static int watch_sources(const struct source *src, size_t nsrc)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		die(EXIT_ERROR, "cannot start inotify: %s", strerror(errno));
	for (size_t i = 0; i < nsrc; i++) {
		char path[PATH_MAX];
		int rc = mq_partition_path(src[i].t, src[i].partition, path,
		                           sizeof path);
		if (rc < 0)
			die_mq(rc, "cannot watch %s/%d", src[i].topic,
			       src[i].partition);
		if (inotify_add_watch(fd, path, WATCH_MASK) < 0)
			die(EXIT_ERROR, "cannot watch '%s': %s", path,
			    strerror(errno));
	}
	return fd;
}

/*
 * Sleeps until a watched directory changes, SIGINT or SIGTERM arrives, or
 * (when stdout is a pipe) the reader of stdout goes away; then empties the
 * inotify queue.  Returns 1 if stdout's reader is gone, else 0.
 */
static int wait_for_change(int ifd, int pipe_out)
{
	sigset_t block, old;
	struct pollfd pfd[2] = {
		{ .fd = ifd, .events = POLLIN },
		{ .fd = STDOUT_FILENO, .events = 0 },
	};
	int gone = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!interrupted) {
		int n = ppoll(pfd, pipe_out ? 2 : 1, NULL, &old);
		if (n < 0 && errno != EINTR)
			die(EXIT_ERROR, "cannot wait for new records: %s",
			    strerror(errno));
		if (n > 0 && pipe_out && (pfd[1].revents & (POLLERR | POLLHUP)))
			gone = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(ifd, buf, sizeof buf) > 0)
		;
	return gone;
}

/* Reports a failed read after flushing what was already written, and
 * exits: 4 for corruption, 1 otherwise. */
__attribute__((noreturn))
static void read_failed(struct outbuf *ob, const struct source *s, int err)
{
	ob_flush(ob);
	const char *msg = mq_errmsg();
	if (msg && *msg)
		errorx("%s", msg);
	else
		errorx("cannot read %s/%d: %s", s->topic, s->partition,
		       mq_strerror(err));
	exit(err == MQ_ECORRUPT ? EXIT_CORRUPT : EXIT_ERROR);
}

static inline void emit(struct outbuf *ob, const struct opts *o,
                        const struct source *s, const mq_record *rec)
{
	if (o->out == OUT_JSON)
		jsonout_record(ob, s->topic, s->topic_len, s->partition, rec);
	else
		recfmt_emit(&o->fmt, ob, s->topic, s->topic_len, s->partition,
		            rec);
}

/* The main loop: round-robin over the sources until the end of the log
 * (or forever with -f), the count, a signal or a closed stdout. */
static void consume(struct source *src, size_t nsrc, const struct opts *o,
                    int ifd, struct outbuf *ob)
{
	struct stat st;
	int pipe_out = fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
	int64_t total = 0;
	mq_record rec;

	if (o->count == 0)
		return;
	for (;;) {
		int progress = 0, active = 0;
		for (size_t i = 0; i < nsrc; i++) {
			struct source *s = &src[i];
			if (s->done)
				continue;
			for (int k = 0; k < BURST; k++) {
				int rc = mq_reader_next(s->reader, &rec);
				if (rc < 0)
					read_failed(ob, s, rc);
				int64_t from, to;
				if (mq_reader_moved(s->reader, &from, &to))
					warnx("warning: offsets %lld-%lld of %s/%d are "
					      "no longer available; continuing at log "
					      "start %lld", (long long)from,
					      (long long)to - 1, s->topic,
					      s->partition, (long long)to);
				if (rc == 0 || (!o->follow &&
				                rec.offset >= s->stop)) {
					s->done = !o->follow;
					break;
				}
				emit(ob, o, s, &rec);
				progress = 1;
				if (++total == o->count || interrupted ||
				    ob->failed)
					return;
			}
			active |= !s->done;
		}
		if (!active || interrupted)
			return;
		if (progress)
			continue;
		if (ob_flush(ob) < 0)
			return;
		if (wait_for_change(ifd, pipe_out)) {
			ob->failed = ob->broken = 1;
			return;
		}
		if (interrupted)
			return;
	}
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256 };
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "partition", required_argument, NULL, 'p' },
		{ "offset", required_argument, NULL, 'o' },
		{ "count", required_argument, NULL, 'c' },
		{ "follow", no_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "null", no_argument, NULL, '0' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		GROUP_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .from = FROM_BEGINNING, .count = -1 };
	const char *format = NULL;
	int nformats = 0, c, has_o = 0;
	char err[128];
	struct group_opts go;

	tool_init("mq-consume");
	group_opts_init(&go);
	while ((c = getopt_long(argc, argv, "d:p:o:c:fF:0g:hV", longopts,
	                        NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'p':
			add_partition(&o, optarg);
			break;
		case 'o':
			parse_offset(&o, optarg);
			has_o = 1;
			break;
		case 'c':
			if (parse_i64(optarg, &o.count) < 0 || o.count < 0)
				usage_error("invalid count '%s'", optarg);
			break;
		case 'f':
			o.follow = 1;
			break;
		case 'F':
			format = optarg;
			nformats++;
			break;
		case '0':
			format = "%s\\0";
			nformats++;
			break;
		case OPT_JSON:
			o.out = OUT_JSON;
			nformats++;
			break;
		case 'h':
			usage();
		case 'V':
			print_version();
		default:
			if (group_option(&go, c, optarg, argc, argv))
				break;
			bad_option();
		}
	}
	if (nformats > 1)
		usage_error("-F, -0 and --json exclude each other");
	group_check(&go, o.nparts > 0, has_o);
	if (go.delete_group || go.reset_offsets) {
		mq_env *aenv = open_env(data_dir(o.dir), 0);
		int as = group_admin(aenv, &go, argc - optind, argv + optind);
		mq_env_close(aenv);
		return as;
	}
	if (optind == argc)
		usage_error("no topic given");
	if (o.out != OUT_JSON &&
	    recfmt_compile(&o.fmt, format ? format : "%s\\n", err,
	                   sizeof err) < 0)
		usage_error("%s", err);

	struct strlist specs = { 0 }, names = { 0 };
	consume_split_topics(argv + optind, argc - optind, &specs);

	const char *dir = data_dir(o.dir);
	mq_env *env = open_env(dir, 0);
	consume_resolve_topics(env, &specs, &names);
	if (go.group) {
		go.follow = o.follow;
		go.count = o.count;
		go.json = o.out == OUT_JSON;
		go.fmt = &o.fmt;
		int gs = group_consume(env, names.v, names.n, &go);
		strlist_free(&names);
		strlist_free(&specs);
		if (o.out != OUT_JSON)
			recfmt_free(&o.fmt);
		mq_env_close(env);
		return gs;
	}

	/* Stop cleanly on SIGINT and SIGTERM; see EPIPE instead of dying. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int ifd = -1;
	/* Watch before the first read so no append after it goes unseen. */
	open_sources(env, &names, &o);
	struct source *src = open_srcs;
	size_t nsrc = open_nsrc;
	if (o.follow)
		ifd = watch_sources(src, nsrc);

	struct outbuf ob;
	if (ob_init(&ob, STDOUT_FILENO, OUTBUF_SIZE) < 0)
		die(EXIT_ERROR, "out of memory");
	ob.stop = &interrupted;
	consume(src, nsrc, &o, ifd, &ob);
	ob_flush(&ob);
	int status = EXIT_OK;
	if (ob.failed && !ob.broken) {
		errorx("cannot write to standard output: %s",
		       strerror(ob.err));
		status = EXIT_ERROR;
	}

	ob_free(&ob);
	if (ifd >= 0)
		close(ifd);
	for (size_t i = 0; i < nsrc; i++)
		mq_reader_close(src[i].reader);
	free(src);
	for (size_t i = 0; i < names.n; i++)
		mq_topic_close(open_topics[i]);
	free(open_topics);
	strlist_free(&names);
	strlist_free(&specs);
	free(o.parts);
	if (o.out != OUT_JSON)
		recfmt_free(&o.fmt);
	mq_env_close(env);
	return status;
}
