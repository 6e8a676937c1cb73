/*
 * libmq-bench.c - append and read back records through libmq, timed.
 *
 * usage: libmq-bench DIR RECORDS SIZE none|gzip
 *
 * Creates topic "bench" (one partition) in the data directory DIR, appends
 * RECORDS records of SIZE value bytes each (no key) in batches of about
 * 1 MiB with mq_batch_add()/mq_append(), calls mq_sync(), then reads every
 * record back with mq_reader_next().  It prints one line per phase that the
 * calling script parses:
 *
 *	append records=N bytes=B seconds=S
 *	read records=N bytes=B seconds=S
 *	log bytes=L path=PATH
 *
 * where B counts value bytes and L is the size of the partition's segment
 * files on disk.  Exits 1 with a message on stderr if anything fails.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mq.h"

#define BATCH_BYTES (1024 * 1024)
#define POOL (64 * 1024)

static void
die(const char *what, int err)
{
	fprintf(stderr, "libmq-bench: %s: %s (%s)\n", what, mq_strerror(err),
	    mq_errmsg());
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fills buf with lowercase words of 2 to 9 letters separated by spaces. */
static void
fill_pool(char *buf, size_t len)
{
	unsigned long x = 88172645463325252UL;
	size_t i, w = 0;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (w == 0) {
			buf[i] = ' ';
			w = 2 + x % 8;
		} else {
			buf[i] = 'a' + (char)(x % 26);
			w--;
		}
	}
}

/* Sums the sizes of the .log files in directory PATH. */
static unsigned long long
log_bytes(const char *path)
{
	unsigned long long sum = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t n;

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 4, ".log") != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			sum += (unsigned long long)st.st_size;
	}
	closedir(d);
	return sum;
}

int
main(int argc, char **argv)
{
	mq_config cfg;
	mq_env *env;
	mq_topic *t;
	mq_batch *b;
	mq_reader *rd;
	mq_record rec;
	char *value, part[4096];
	long long i, records, got;
	unsigned long long bytes;
	size_t size;
	int comp, rc;
	double t0, t1;

	if (argc != 5) {
		fprintf(stderr, "usage: libmq-bench DIR RECORDS SIZE none|gzip\n");
		return 2;
	}
	records = atoll(argv[2]);
	size = (size_t)atol(argv[3]);
	if (strcmp(argv[4], "gzip") == 0)
		comp = MQ_COMPRESSION_GZIP;
	else if (strcmp(argv[4], "none") == 0)
		comp = MQ_COMPRESSION_NONE;
	else {
		fprintf(stderr, "libmq-bench: unknown compression '%s'\n",
		    argv[4]);
		return 2;
	}
	if (records <= 0 || size == 0 || size > BATCH_BYTES / 2) {
		fprintf(stderr, "libmq-bench: bad RECORDS or SIZE\n");
		return 2;
	}

	/*
	 * Values are windows into a pool of pseudo-random words, so records
	 * differ and gzip has realistic work to do, without costing time per
	 * record in the timed loop.
	 */
	if ((value = malloc(POOL + size)) == NULL)
		return 1;
	fill_pool(value, POOL + size);

	if ((rc = mq_env_open(argv[1], MQ_CREATE, &env)) != 0)
		die("mq_env_open", rc);
	mq_env_defaults(env, &cfg);
	cfg.partitions = 1;
	if ((rc = mq_topic_create(env, "bench", &cfg, 0)) != 0)
		die("mq_topic_create", rc);
	if ((rc = mq_topic_open(env, "bench", &t)) != 0)
		die("mq_topic_open", rc);
	if ((rc = mq_batch_new(comp, &b)) != 0)
		die("mq_batch_new", rc);

	memset(&rec, 0, sizeof(rec));
	rec.timestamp = -1;
	rec.key_len = -1;
	rec.value_len = (ssize_t)size;

	t0 = now();
	for (i = 0; i < records; i++) {
		rec.value = value + (size_t)(i * 7919) % POOL;
		if ((rc = mq_batch_add(b, &rec)) != 0)
			die("mq_batch_add", rc);
		if (mq_batch_bytes(b) >= BATCH_BYTES - size - 64 &&
		    (rc = mq_append(t, 0, b, 0, NULL)) != 0)
			die("mq_append", rc);
	}
	if ((rc = mq_append(t, 0, b, 0, NULL)) != 0)
		die("mq_append", rc);
	if ((rc = mq_sync(t)) != 0)
		die("mq_sync", rc);
	t1 = now();
	printf("append records=%lld bytes=%llu seconds=%.6f\n", records,
	    (unsigned long long)records * size, t1 - t0);

	if ((rc = mq_reader_open(t, 0, &rd)) != 0)
		die("mq_reader_open", rc);
	got = 0;
	bytes = 0;
	t0 = now();
	while ((rc = mq_reader_next(rd, &rec)) == 1) {
		got++;
		bytes += (unsigned long long)rec.value_len;
	}
	t1 = now();
	if (rc < 0)
		die("mq_reader_next", rc);
	if (got != records) {
		fprintf(stderr, "libmq-bench: read %lld records, wrote %lld\n",
		    got, records);
		return 1;
	}
	printf("read records=%lld bytes=%llu seconds=%.6f\n", got, bytes,
	    t1 - t0);

	if ((rc = mq_partition_path(t, 0, part, sizeof(part))) != 0)
		die("mq_partition_path", rc);
	printf("log bytes=%llu path=%s\n", log_bytes(part), part);

	mq_reader_close(rd);
	mq_batch_free(b);
	mq_topic_close(t);
	mq_env_close(env);
	free(value);
	return 0;
}
