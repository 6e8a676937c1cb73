/*
 * inspect-dump.c - mq-inspect --dump: segment files as text, one line per
 * batch and per record, in the spirit of kafka-dump-log --print-data-log;
 * and the formatting helpers mq-inspect shares.  Nothing here writes to
 * the data directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect.h"
#include "tool.h"

/* inspect_fmt_time formats ms as ISO 8601 UTC, or "-" when negative. */
char *inspect_fmt_time(int64_t ms, char *buf, size_t len)
{
	if (ms < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "%" PRId64, ms);
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}

/* inspect_put_escaped writes bytes with non-printables as \xNN. */
void inspect_put_escaped(FILE *fp, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\')
			fprintf(fp, "\\x%02x", s[i]);
		else
			putc(s[i], fp);
	}
}

/* inspect_put_json_string writes s quoted and escaped for JSON. */
void inspect_put_json_string(FILE *fp, const char *s)
{
	putc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			putc(*p, fp);
	}
	putc('"', fp);
}

static const char *codec_name(int c)
{
	switch (c) {
	case MQ_COMPRESSION_NONE: return "none";
	case MQ_COMPRESSION_GZIP: return "gzip";
	case MQ_COMPRESSION_SNAPPY: return "snappy";
	case MQ_COMPRESSION_LZ4: return "lz4";
	case MQ_COMPRESSION_ZSTD: return "zstd";
	default: return "unknown";
	}
}

static void put_bytes(const char *name, const void *p, ssize_t n)
{
	printf(" %s: ", name);
	if (n < 0)
		fputs("null", stdout);
	else
		inspect_put_escaped(stdout, p, (size_t)n);
}

static void put_batch(const mq_batch_info *b)
{
	printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %" PRId32
	       " position: %" PRIu64 " size: %" PRId64 " magic: %d"
	       " compression: %s timestampType: %s baseTimestamp: %" PRId64
	       " maxTimestamp: %" PRId64 " producerId: %" PRId64
	       " producerEpoch: %d baseSequence: %" PRId32
	       " leaderEpoch: %" PRId32 " isTransactional: %s isControl: %s"
	       " crc: 0x%08" PRIx32 " crcValid: %s\n",
	       b->base_offset, b->last_offset, b->count, b->position,
	       (int64_t)b->length + 12, b->magic, codec_name(b->compression),
	       b->timestamp_type == MQ_TS_LOG_APPEND ? "LogAppendTime" :
	       "CreateTime", b->base_timestamp, b->max_timestamp,
	       b->producer_id, b->producer_epoch, b->base_sequence,
	       b->leader_epoch, b->transactional ? "true" : "false",
	       b->control ? "true" : "false", b->crc,
	       b->crc_ok ? "true" : "false");
}

static void put_record(const mq_record *r)
{
	printf("| offset: %" PRId64 " timestamp: %" PRId64
	       " keySize: %zd valueSize: %zd", r->offset, r->timestamp,
	       r->key_len, r->value_len);
	put_bytes("key", r->key, r->key_len);
	put_bytes("value", r->value, r->value_len);
	fputs(" headers: [", stdout);
	for (size_t i = 0; i < r->header_count; i++) {
		const mq_header *h = &r->headers[i];
		if (i)
			putc(',', stdout);
		inspect_put_escaped(stdout, h->key, h->key_len);
		putc('=', stdout);
		if (h->value_len < 0)
			fputs("null", stdout);
		else
			inspect_put_escaped(stdout, h->value,
			                    (size_t)h->value_len);
	}
	fputs("]\n", stdout);
}

static int worse(int a, int b)
{
	if (a == EXIT_CORRUPT || b == EXIT_CORRUPT)
		return EXIT_CORRUPT;
	return a > b ? a : b;
}

/* dump_log prints every batch and record of one .log file. */
static int dump_log(const char *path)
{
	mq_dump *d;
	mq_batch_info b;
	mq_record rec;
	int status = EXIT_OK, rc;

	printf("Dumping %s\n", path);
	rc = mq_dump_open(path, &d);
	if (rc < 0) {
		errorx("cannot dump '%s': %s", path, mq_errmsg());
		return exit_code_for(rc);
	}
	while ((rc = mq_dump_next_batch(d, &b)) == 1) {
		put_batch(&b);
		if (!b.crc_ok) {
			errorx("%s:%" PRIu64 ": CRC mismatch in batch at offset "
			       "%" PRId64 " (stored 0x%08" PRIx32 "); its records "
			       "are skipped", path, b.position, b.base_offset,
			       b.crc);
			status = EXIT_CORRUPT;
			continue;
		}
		while ((rc = mq_dump_next_record(d, &rec)) == 1)
			put_record(&rec);
		if (rc < 0) {
			errorx("%s:%" PRIu64 ": cannot decode the records of the "
			       "batch at offset %" PRId64 ": %s", path,
			       b.position, b.base_offset, mq_errmsg());
			status = worse(status, exit_code_for(rc));
		}
	}
	if (rc < 0) {
		errorx("%s: %s", path, mq_errmsg());
		status = worse(status, rc == MQ_ECORRUPT ? EXIT_CORRUPT :
		               exit_code_for(rc));
	}
	mq_dump_close(d);
	return status;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* base_of returns the base offset in a segment file's name, else 0. */
static int64_t base_of(const char *path)
{
	const char *name = strrchr(path, '/');
	name = name ? name + 1 : path;
	char *end;
	errno = 0;
	long long v = strtoll(name, &end, 10);
	if (errno || end == name || *end != '.' || v < 0)
		return 0;
	return v;
}

/* read_all reads a whole file into a malloc'ed buffer; -1 on failure. */
static int read_all(const char *path, unsigned char **out, size_t *n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st.st_size, len = 0;
	unsigned char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (len < cap) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	*out = buf;
	*n = len;
	return 0;
}

/*
 * dump_index prints the entries of a .index (8-byte entries: relative
 * offset, position) or .timeindex (12 bytes: timestamp, relative offset)
 * file.  An all-zero entry after the first ends the list: it is the
 * preallocated, unused part of the file.
 */
static int dump_index(const char *path, int timeindex)
{
	unsigned char *buf;
	size_t n, esz = timeindex ? 12 : 8;
	int64_t base = base_of(path);

	printf("Dumping %s\n", path);
	if (read_all(path, &buf, &n) < 0) {
		errorx("cannot read '%s': %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	size_t i;
	for (i = 0; i + esz <= n; i += esz) {
		const unsigned char *e = buf + i;
		if (timeindex) {
			int64_t ts = (int64_t)((uint64_t)be32(e) << 32 |
			                       be32(e + 4));
			uint32_t rel = be32(e + 8);
			if (i > 0 && ts == 0 && rel == 0)
				break;
			printf("timestamp: %" PRId64 " offset: %" PRId64 "\n",
			       ts, base + rel);
		} else {
			uint32_t rel = be32(e), pos = be32(e + 4);
			if (i > 0 && rel == 0 && pos == 0)
				break;
			printf("offset: %" PRId64 " position: %" PRIu32 "\n",
			       base + rel, pos);
		}
	}
	free(buf);
	if (i + esz > n && i < n) {
		errorx("%s:%zu: %zu trailing bytes are not a whole entry", path,
		       i, n - i);
		return EXIT_CORRUPT;
	}
	return EXIT_OK;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	int64_t bx = base_of(x), by = base_of(y);
	if (bx != by)
		return bx < by ? -1 : 1;
	return strcmp(x, y);
}

/* dump_dir dumps every .log file in a partition directory. */
static int dump_dir(const char *path)
{
	DIR *dir = opendir(path);
	if (!dir) {
		errorx("cannot open '%s': %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!has_suffix(de->d_name, ".log") || de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **tmp = realloc(names, cap * sizeof *names);
			if (!tmp)
				die(EXIT_ERROR, "out of memory");
			names = tmp;
		}
		size_t plen = strlen(path);
		while (plen > 1 && path[plen - 1] == '/')
			plen--;
		if (asprintf(&names[n], "%.*s/%s", (int)plen, path,
		             de->d_name) < 0)
			die(EXIT_ERROR, "out of memory");
		n++;
	}
	closedir(dir);
	if (n == 0) {
		errorx("no segment files (*.log) in '%s'", path);
		return EXIT_ERROR;
	}
	qsort(names, n, sizeof *names, cmp_names);
	int status = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		status = worse(status, dump_log(names[i]));
		free(names[i]);
	}
	free(names);
	return status;
}

/*
 * inspect_dump_path dumps a file or partition directory and returns the
 * exit status it earned; messages go to stderr.
 */
int inspect_dump_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		errorx("cannot open '%s': %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	if (S_ISDIR(st.st_mode))
		return dump_dir(path);
	if (has_suffix(path, ".index"))
		return dump_index(path, 0);
	if (has_suffix(path, ".timeindex"))
		return dump_index(path, 1);
	return dump_log(path);
}
