/*
 * mq-produce - append records read from files or standard input to a topic.
 *
 * framing.c reads the input and cuts it into records; here each record is
 * split into key and value (rawrec.h; or parsed as JSON), checked, given
 * its partition and handed to the producer (producer.c), which batches per
 * partition and appends in the worker thread (worker.c), which also reads
 * large files ahead.  A large regular file goes to parallel.c first, which
 * encodes it on two threads (the tool's and one of its own) as far as it
 * can.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "jsonrec.h"
#include "parallel.h"
#include "producer.h"
#include "rawrec.h"
#include "tool.h"
#include "worker.h"

enum {
	OPT_LENGTH = 256, OPT_JSON, OPT_BATCH_BYTES, OPT_LINGER,
	OPT_COMPRESSION, OPT_CREATE, OPT_PARTITIONS, OPT_SYNC,
	OPT_PRINT_OFFSETS, OPT_SKIP_INVALID,
};

static const char usage_text[] =
"usage: mq-produce [options] TOPIC [FILE...]\n"
"Append records read from FILEs (- is standard input) or standard input.\n"
"\n"
"Framing (default: one record per line):\n"
"  -D, --delimiter STR      records end with STR (escapes \\n \\t \\0 \\\\ \\xHH)\n"
"  -0, --null               records end with a NUL byte\n"
"      --length-prefixed    each record is a 4-byte big-endian length, then data\n"
"      --json               JSON Lines: {\"key\":..,\"value\":..,\"headers\":{..},...}\n"
"Records:\n"
"  -K, --key-delimiter STR  split each record into key and value at STR\n"
"  -k, --key KEY            use KEY as the key of every record\n"
"  -H, --header NAME=VALUE  add a header to every record (repeatable)\n"
"  -Z, --empty-is-null      an empty value is a null value (a tombstone)\n"
"  -p, --partition N        append to partition N (default: by key, else spread)\n"
"Appending:\n"
"      --batch-bytes N      largest batch to build (default 1048576)\n"
"      --linger-ms MS       wait at most MS for more input (default 5)\n"
"      --compression TYPE   gzip or none (default: the topic's compression.type)\n"
"      --sync MODE          exit (default), batch or none\n"
"      --print-offsets      print PARTITION<tab>OFFSET per durable record\n"
"      --skip-invalid       report invalid records and go on\n"
"      --create             create the topic if it does not exist\n"
"      --partitions N       partition count for --create\n"
"  -n, --no-wait            fail (exit 3) if a partition lock is held\n"
"  -d, --dir DIR            data directory\n"
"  -h, --help               show this help\n"
"  -V, --version            show the version\n";

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "delimiter", required_argument, NULL, 'D' },
	{ "null", no_argument, NULL, '0' },
	{ "length-prefixed", no_argument, NULL, OPT_LENGTH },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "key-delimiter", required_argument, NULL, 'K' },
	{ "key", required_argument, NULL, 'k' },
	{ "header", required_argument, NULL, 'H' },
	{ "empty-is-null", no_argument, NULL, 'Z' },
	{ "partition", required_argument, NULL, 'p' },
	{ "batch-bytes", required_argument, NULL, OPT_BATCH_BYTES },
	{ "linger-ms", required_argument, NULL, OPT_LINGER },
	{ "compression", required_argument, NULL, OPT_COMPRESSION },
	{ "sync", required_argument, NULL, OPT_SYNC },
	{ "print-offsets", no_argument, NULL, OPT_PRINT_OFFSETS },
	{ "skip-invalid", no_argument, NULL, OPT_SKIP_INVALID },
	{ "create", no_argument, NULL, OPT_CREATE },
	{ "partitions", required_argument, NULL, OPT_PARTITIONS },
	{ "no-wait", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* Options. */
static struct worker *worker;
static struct framing fr = { .mode = FRAME_DELIM, .delim = "\n",
                             .delim_len = 1 };
static char *delim_buf;         /* fr.delim when given with -D */
static struct rawfmt rf;        /* -K, -k, -Z, -H */
static int32_t opt_partition = -1;
static int64_t linger_ms = 5;
static int skip_invalid;

/* State. */
static mq_topic *topic;
static struct producer pr;
static int32_t nparts;
static int64_t max_bytes;       /* max.message.bytes of the topic */
static int32_t next_rr;         /* round-robin partition for null keys */
static int status = EXIT_OK;

/* Buffers for decoding a JSON line. */
static struct jsonrec jrec;

/* Dies for a failed producer call: an append, a sync or a write.  What
 * was appended before the failure is made durable and its offsets are
 * printed first. */
__attribute__((noreturn))
static void fatal(int rc)
{
	const char *msg;
	char copy[1024];

	producer_stop(&pr);
	msg = *pr.errmsg ? pr.errmsg : mq_errmsg();
	snprintf(copy, sizeof copy, "%s", *msg ? msg : mq_strerror(rc));
	producer_salvage(&pr);
	if (pr.out_errno)
		die(EXIT_ERROR, "cannot write to standard output: %s",
		    strerror(pr.out_errno));
	if (rc == MQ_ETOOBIG && pr.failed_recno > 0)
		die(EXIT_ERROR, "record %" PRId64 ": compressed batch exceeds "
		    "max.message.bytes (%" PRId64 ") of topic '%s'",
		    pr.failed_recno, max_bytes, mq_topic_name(topic));
	die(exit_code_for(rc), "%s", copy);
}

/*
 * bad_record reports an invalid record.  Without --skip-invalid every
 * record before it is appended and synced, and the program exits 1.
 */
__attribute__((format(printf, 2, 3)))
static void bad_record(const struct input *in, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (in->label)
		errorx("%s: record %" PRId64 ": %s", in->label, fr.recno,
		    msg);
	else
		errorx("record %" PRId64 ": %s", fr.recno, msg);
	if (skip_invalid)
		return;
	if ((rc = producer_finish(&pr)) < 0)
		fatal(rc);
	exit(EXIT_ERROR);
}

/* The framing's report of an invalid record. */
static void bad_message(const struct input *in, const char *msg)
{
	bad_record(in, "%s", msg);
}

/* The framing read more input: records get the time it was read. */
static void tick(void)
{
	producer_tick(&pr);
}

static const char *plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

/* Appends pending records if the input stays quiet past the linger. */
static void linger(struct input *in)
{
	for (;;) {
		int64_t dl = producer_deadline(&pr, linger_ms), now;
		struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
		int n, rc;

		if (dl < 0)
			return;
		now = mono_ms();
		if (now < dl) {
			n = poll(&pfd, 1, (int)(dl - now));
			if (n > 0)
				return;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return;
			}
		}
		if ((rc = producer_flush(&pr)) < 0)
			fatal(rc);
		return;
	}
}

/* Checks record r (its key and headers set), picks its partition (part
 * -1: by key or round-robin) and hands it to the producer. */
static void submit(const struct input *in, mq_record *r, int64_t part)
{
	size_t rb = record_size(r);
	int rc;

	if ((int64_t)rb > max_bytes)
		return bad_record(in, "%zu bytes exceeds max.message.bytes "
		    "(%" PRId64 ") of topic '%s'", rb, max_bytes,
		    mq_topic_name(topic));
	if (opt_partition >= 0)
		part = opt_partition;
	if (part >= nparts)
		return bad_record(in, "partition %" PRId64 " out of range "
		    "(topic '%s' has %" PRId32 " partition%s)", part,
		    mq_topic_name(topic), nparts, plural(nparts));
	if (part < 0) {
		if (r->key_len >= 0) {
			part = mq_partition_for_key(r->key, (size_t)r->key_len,
			    nparts);
		} else {
			part = next_rr;
			next_rr = (next_rr + 1) % nparts;
		}
	}
	if ((rc = producer_add(&pr, (int32_t)part, r, rb, fr.recno)) < 0)
		fatal(rc);
}

/* Splits a raw record (len -1: null) per -K/-k/-Z and submits it. */
static void raw_record(const struct input *in, const char *p, ssize_t len)
{
	mq_record r;

	rawrec_split(&rf, p, len, &r);
	submit(in, &r, -1);
}

/*
 * too_long reports a record known to be too big from its length alone:
 * len raw bytes, with the key delimiter at kpos (-1: not seen in the part
 * of the record that was looked at).  The size reported is what mq_record_bytes()
 * would say, computed from the lengths: the 61-byte batch header, the
 * record's length varint, attributes, two zero deltas, key and value with
 * their length varints, the header count and the headers.
 */
static void too_long(const struct input *in, int64_t kpos, uint64_t len)
{
	int64_t klen = -1, vlen = (int64_t)len;
	uint64_t body = 3;

	if (fr.mode == FRAME_JSON)
		return bad_record(in, "JSON line of %" PRIu64 " bytes is too "
		    "long for max.message.bytes (%" PRId64 ") of topic '%s'",
		    len, max_bytes, mq_topic_name(topic));
	if (kpos >= 0) {
		klen = kpos;
		vlen = (int64_t)len - klen - (int64_t)rf.kdelim_len;
	} else if (rf.fixed_key) {
		klen = (int64_t)rf.fixed_key_len;
	}
	body += zz_size(klen) + (klen > 0 ? (uint64_t)klen : 0);
	body += zz_size(vlen) + (uint64_t)vlen;
	body += zz_size((int64_t)rf.nhdrs);
	for (size_t i = 0; i < rf.nhdrs; i++)
		body += zz_size((int64_t)rf.hdrs[i].key_len) +
		    rf.hdrs[i].key_len +
		    zz_size(rf.hdrs[i].value_len) +
		    (uint64_t)rf.hdrs[i].value_len;
	bad_record(in, "%" PRIu64 " bytes exceeds max.message.bytes (%" PRId64
	    ") of topic '%s'", 61 + zz_size((int64_t)body) + body, max_bytes,
	    mq_topic_name(topic));
}

static void json_record(const struct input *in, const char *line, size_t len);

/* Hands one framed record to the JSON or the raw path. */
static void record(const struct input *in, const char *p, ssize_t len)
{
	if (fr.mode == FRAME_JSON)
		json_record(in, p, (size_t)len);
	else
		raw_record(in, p, len);
}

/* Parses one JSON Lines object into a record and submits it. */
static void json_record(const struct input *in, const char *line, size_t len)
{
	mq_record r;

	if (jsonrec_parse(&jrec, line, len, rf.nhdrs, &r) < 0)
		return bad_record(in, "invalid JSON: %s", jrec.err);
	if (jrec.has_partition && jrec.partition < 0 && opt_partition < 0)
		return bad_record(in, "partition %" PRId64 " out of range "
		    "(topic '%s' has %" PRId32 " partition%s)", jrec.partition,
		    mq_topic_name(topic), nparts, plural(nparts));
	if (!jrec.has_key && rf.fixed_key) {
		r.key = rf.fixed_key;
		r.key_len = (ssize_t)rf.fixed_key_len;
	}
	if (rf.empty_is_null && r.value_len == 0)
		r.value_len = -1;
	/* jsonrec_parse left room for the -H headers after the record's. */
	if (rf.nhdrs) {
		memcpy((mq_header *)r.headers + r.header_count, rf.hdrs,
		    rf.nhdrs * sizeof *rf.hdrs);
		r.header_count += rf.nhdrs;
	}
	submit(in, &r, jrec.has_partition ? jrec.partition : -1);
}

/* Produces one input: as much as it can on two threads (parallel.h),
 * the rest record by record. */
static void produce_input(struct input *in)
{
	if (fr.mode == FRAME_DELIM && fr.delim_len == 1) {
		struct par_input pi = {
			.pr = &pr, .rf = &rf, .delim = fr.delim[0],
			.partition = opt_partition, .max_bytes = max_bytes,
			.recno = &fr.recno, .next_rr = &next_rr,
		};
		int rc = par_produce(&pi, in->fd);
		if (rc < 0)
			fatal(rc);
	}
	frame_input(&fr, in);
}

static void add_header(const char *arg)
{
	const char *eq = strchr(arg, '=');
	mq_header *h;

	if (!eq || eq == arg)
		usage_error("invalid header '%s' (expected NAME=VALUE)", arg);
	h = realloc(rf.hdrs, (rf.nhdrs + 1) * sizeof *h);
	if (!h)
		die(EXIT_ERROR, "out of memory");
	rf.hdrs = h;
	h += rf.nhdrs++;
	h->key = arg;
	h->key_len = (size_t)(eq - arg);
	h->value = eq + 1;
	h->value_len = (ssize_t)strlen(eq + 1);
}

/* Parses a whole number in [lo, hi] for option opt, or a usage error. */
static int64_t number_arg(const char *s, const char *opt, int64_t lo,
                          int64_t hi)
{
	int64_t v;

	if (parse_i64(s, &v) < 0 || v < lo || v > hi)
		usage_error("invalid %s '%s'", opt, s);
	return v;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *comp = NULL;
	int c, create = 0, nframings = 0, rc, sync_mode = PR_SYNC_EXIT;
	int print = 0, nowait = 0;
	int64_t batch_bytes = 1048576, partitions = 0;
	struct producer_opts po;
	static mq_env *env; /* static: still reachable when die() exits */

	tool_init("mq-produce");
	while ((c = getopt_long(argc, argv, "d:D:0K:k:H:Zp:nhV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'D':
			free(delim_buf);
			fr.delim = delim_buf = frame_unescape(optarg,
			    &fr.delim_len,
			    "delimiter");
			nframings++;
			break;
		case '0':
			fr.delim = "";
			fr.delim_len = 1;
			nframings++;
			break;
		case OPT_LENGTH: fr.mode = FRAME_LENGTH; nframings++; break;
		case OPT_JSON: fr.mode = FRAME_JSON; nframings++; break;
		case 'K':
			free((char *)rf.kdelim);
			rf.kdelim = frame_unescape(optarg, &rf.kdelim_len,
			    "key delimiter");
			break;
		case 'k':
			rf.fixed_key = optarg;
			rf.fixed_key_len = strlen(optarg);
			break;
		case 'H': add_header(optarg); break;
		case 'Z': rf.empty_is_null = 1; break;
		case 'p':
			opt_partition = (int32_t)number_arg(optarg, "partition",
			    0, INT32_MAX);
			break;
		case OPT_BATCH_BYTES:
			batch_bytes = number_arg(optarg, "batch size", 1,
			    INT32_MAX);
			break;
		case OPT_LINGER:
			linger_ms = number_arg(optarg, "linger", 0, INT32_MAX);
			break;
		case OPT_COMPRESSION:
			if (strcmp(optarg, "gzip") && strcmp(optarg, "none"))
				usage_error("invalid compression '%s' (expected "
				    "gzip or none)", optarg);
			comp = optarg;
			break;
		case OPT_SYNC:
			if (!strcmp(optarg, "exit"))
				sync_mode = PR_SYNC_EXIT;
			else if (!strcmp(optarg, "batch"))
				sync_mode = PR_SYNC_BATCH;
			else if (!strcmp(optarg, "none"))
				sync_mode = PR_SYNC_NONE;
			else
				usage_error("invalid sync mode '%s' (expected "
				    "exit, batch or none)", optarg);
			break;
		case OPT_PRINT_OFFSETS: print = 1; break;
		case OPT_SKIP_INVALID: skip_invalid = 1; break;
		case OPT_CREATE: create = 1; break;
		case OPT_PARTITIONS:
			partitions = number_arg(optarg, "partition count", 1,
			    INT32_MAX);
			break;
		case 'n': nowait = 1; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'V': print_version();
		default:
			bad_option();
		}
	}
	if (nframings > 1)
		usage_error("only one of -D, -0, --length-prefixed and --json "
		    "may be given");
	if (fr.mode == FRAME_JSON && rf.kdelim)
		usage_error("--key-delimiter cannot be used with --json");
	if (partitions && !create)
		usage_error("--partitions needs --create");
	if (optind >= argc)
		usage_error("missing topic");
	const char *name = argv[optind++];

	env = open_env(data_dir(dir), create ? MQ_CREATE : 0);
	rc = mq_topic_open(env, name, &topic);
	if (rc == MQ_ENOTOPIC && create) {
		mq_config cfg;
		mq_env_defaults(env, &cfg);
		if (partitions)
			cfg.partitions = (int32_t)partitions;
		rc = mq_topic_create(env, name, &cfg, MQ_IF_NOT_EXISTS);
		if (rc == MQ_OK)
			rc = mq_topic_open(env, name, &topic);
	}
	if (rc < 0)
		die(exit_code_for(rc), "%s", *mq_errmsg() ? mq_errmsg() :
		    mq_strerror(rc));
	nparts = mq_topic_partitions(topic);
	if (opt_partition >= nparts)
		die(EXIT_ERROR, "partition %" PRId32 " out of range (topic "
		    "'%s' has %" PRId32 " partition%s)", opt_partition, name,
		    nparts, plural(nparts));
	max_bytes = mq_topic_config(topic)->max_message_bytes;
	if (fr.mode == FRAME_JSON) {
		fr.raw_limit = (size_t)max_bytes * 6 + 65536;
		fr.delim = "\n";
		fr.delim_len = 1;
	} else {
		fr.raw_limit = (size_t)max_bytes + rf.kdelim_len;
		fr.kdelim = rf.kdelim;
		fr.kdelim_len = rf.kdelim_len;
	}
	fr.record = record;
	fr.too_long = too_long;
	fr.bad = bad_message;
	fr.idle = linger;
	fr.fresh = tick;

	memset(&po, 0, sizeof po);
	if (comp)
		po.compression = strcmp(comp, "gzip") ? MQ_COMPRESSION_NONE :
		    MQ_COMPRESSION_GZIP;
	else switch (mq_topic_config(topic)->compression_type) {
	case MQ_COMPRESSION_PRODUCER:
	case MQ_COMPRESSION_NONE:
		po.compression = MQ_COMPRESSION_NONE;
		break;
	case MQ_COMPRESSION_GZIP:
		po.compression = MQ_COMPRESSION_GZIP;
		break;
	default:
		die(EXIT_ERROR, "topic '%s' has a compression.type mq cannot "
		    "write; use --compression", name);
	}
	po.sync_mode = sync_mode;
	po.append_flags = nowait ? MQ_NOWAIT : 0;
	po.batch_bytes = (size_t)batch_bytes;
	po.offsets = print ? stdout : NULL;
	/* Without a thread, everything runs in this one. */
	fr.worker = po.worker = worker = worker_start();
	if ((rc = producer_open(&pr, topic, &po)) < 0)
		die_mq(rc, "cannot produce to topic '%s'", name);

	uint32_t seed;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
		seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	next_rr = (int32_t)(seed % (uint32_t)nparts);

	if (optind == argc) {
		struct input in = { .fd = 0, .name = "standard input" };
		produce_input(&in);
		if (in.failed)
			status = EXIT_ERROR;
	}
	for (int i = optind; i < argc; i++) {
		struct input in = { .name = argv[i], .label = argv[i] };
		if (!strcmp(argv[i], "-")) {
			in.fd = 0;
			in.label = "(standard input)";
		} else if ((in.fd = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0) {
			errorx("cannot open '%s': %s", argv[i],
			    strerror(errno));
			status = EXIT_ERROR;
			continue;
		}
		produce_input(&in);
		if (in.failed)
			status = EXIT_ERROR;
		if (in.fd > 0)
			close(in.fd);
	}
	if ((rc = producer_finish(&pr)) < 0)
		fatal(rc);
	producer_close(&pr);
	worker_stop(worker);
	jsonrec_free(&jrec);
	frame_free();
	mq_topic_close(topic);
	mq_env_close(env);
	return status;
}
