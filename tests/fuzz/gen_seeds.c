/*
 * gen_seeds.c - writes the seed corpora of the fuzz targets into
 * DIR/batch, DIR/index, DIR/jsonl and DIR/config (DIR is usually
 * tests/fuzz/corpus).  Run by `sh mk/fuzz.sh seeds`; the output is
 * checked in, so this only needs rerunning when the seeds should change.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "crc32c.h"
#include "internal.h"
#include "segment.h"
#include "varint.h"

static const char *out_dir;

static void die(const char *what)
{
	fprintf(stderr, "gen_seeds: %s: %s\n", what, mq_errmsg());
	exit(1);
}

static void put(const char *sub, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", out_dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", out_dir, sub, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

/* Encodes the records into buf; returns the batch length. */
static size_t batch(uint8_t *buf, const mq_record *recs, size_t n,
                    int compression, int ts_type, int64_t base, int epoch)
{
	mq_batch *b;
	if (mq_batch_new(compression, &b) < 0)
		die("batch");
	for (size_t i = 0; i < n; i++)
		if (mq_batch_add(b, &recs[i]) < 0)
			die("add");
	if (mq_batch_encode(b, ts_type, 1700000009999) < 0)
		die("encode");
	memcpy(buf, b->enc, b->enc_len);
	size_t len = b->enc_len;
	mq_batch_free(b);
	mq_batch_set_base_offset(buf, base);
	mq_put_be32(buf + 12, (uint32_t)epoch);
	return len;
}

static void batch_seeds(void)
{
	static uint8_t buf[1 << 16];
	mq_header hdrs[3] = {
		{ "trace", 5, "abc", 3 },
		{ "null", 4, NULL, -1 },
		{ "", 0, "", 0 },
	};
	mq_record recs[4] = {
		{ .timestamp = 1700000000000, .key = "k1", .key_len = 2,
		  .value = "hello", .value_len = 5 },
		{ .timestamp = 1700000000005, .key = NULL, .key_len = -1,
		  .value = "world", .value_len = 5, .headers = hdrs,
		  .header_count = 3 },
		{ .timestamp = 1700000000001, .key = "tomb", .key_len = 4,
		  .value = NULL, .value_len = -1 },
		{ .timestamp = 1700000000002, .key = "", .key_len = 0,
		  .value = "\0\xff\x80", .value_len = 3 },
	};
	size_t n;

	n = batch(buf, recs, 1, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0, 0);
	put("batch", "one", buf, n);
	n = batch(buf, recs, 4, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 41, 1);
	put("batch", "four-headers-nulls", buf, n);
	n = batch(buf, recs, 4, MQ_COMPRESSION_GZIP, MQ_TS_CREATE, 7, 2);
	put("batch", "gzip", buf, n);
	n = batch(buf, recs, 4, MQ_COMPRESSION_NONE, MQ_TS_LOG_APPEND, 9, 6);
	put("batch", "log-append-time", buf, n);
	n = batch(buf, recs + 1, 1, MQ_COMPRESSION_NONE, MQ_TS_CREATE,
	          INT64_MAX - 1, 4);
	put("batch", "offset-near-max", buf, n);
	/* Two batches back to back, as in a segment. */
	n = batch(buf, recs, 2, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0, 0);
	n += batch(buf + n, recs + 2, 2, MQ_COMPRESSION_GZIP, MQ_TS_CREATE,
	           2, 0);
	put("batch", "two-batches", buf, n);
	/* A control batch (transaction marker). */
	n = batch(buf, recs, 1, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 0, 0);
	mq_put_be16(buf + 21, MQ_ATTR_CONTROL | MQ_ATTR_TRANSACTIONAL);
	mq_put_be32(buf + 17, mq_crc32c(0, buf + MQ_BATCH_CRC_START,
	                                n - MQ_BATCH_CRC_START));
	put("batch", "control", buf, n);
	/* Many small records. */
	mq_record many[64];
	for (int i = 0; i < 64; i++)
		many[i] = (mq_record){ .timestamp = 1700000000000 + i,
		                       .key_len = -1, .value = "v",
		                       .value_len = 1 };
	n = batch(buf, many, 64, MQ_COMPRESSION_NONE, MQ_TS_CREATE, 100, 0);
	put("batch", "many", buf, n);
}

/*
 * index_seed packs a partition's first segment (and, with two set, its
 * second) into fuzz_index's input layout; bits 8-11 of mode are its
 * mode 2.
 */
static void index_seed(const char *name, const char *dir, int mode,
                       int64_t base0, int64_t base1, int64_t shift)
{
	static uint8_t idx[1 << 14], tidx[1 << 14], log0[1 << 16],
	    log1[1 << 16], in[1 << 17];
	char path[PATH_MAX];
	size_t ni, nt, nl0, nl1 = 0;

	mq_seg_path(path, sizeof path, dir, base0, ".index");
	ni = slurp(path, idx, sizeof idx);
	mq_seg_path(path, sizeof path, dir, base0, ".timeindex");
	nt = slurp(path, tidx, sizeof tidx);
	mq_seg_path(path, sizeof path, dir, base0, ".log");
	nl0 = slurp(path, log0, sizeof log0);
	if (mode & 2) {
		mq_seg_path(path, sizeof path, dir, base1, ".log");
		nl1 = slurp(path, log1, sizeof log1);
	}
	/* baseOffset is outside the CRC: move the batches by shift. */
	for (uint8_t *logs[2] = { log0, log1 }, **l = logs; l < logs + 2; l++) {
		size_t len = *l == log0 ? nl0 : nl1;
		for (size_t pos = 0; pos + MQ_BATCH_HEADER <= len;) {
			uint8_t *b = *l + pos;
			mq_batch_set_base_offset(b, (int64_t)mq_be64(b) + shift);
			pos += MQ_BATCH_LOG_OVERHEAD + mq_be32(b + 8);
		}
	}
	in[0] = (uint8_t)mode;
	mq_put_be16(in + 1, (uint16_t)ni);
	mq_put_be16(in + 3, (uint16_t)nt);
	in[1] |= (uint8_t)((mode >> 8 & 3) << 6);
	in[3] |= (uint8_t)((mode >> 10 & 3) << 6);
	mq_put_be32(in + 5, (uint32_t)(base1 - base0 - 1));
	mq_put_be16(in + 9, (uint16_t)nl0);
	size_t n = 11;
	memcpy(in + n, idx, ni);
	n += ni;
	memcpy(in + n, tidx, nt);
	n += nt;
	memcpy(in + n, log0, nl0);
	n += nl0;
	memcpy(in + n, log1, nl1);
	n += nl1;
	put("index", name, in, n);
}

static void index_seeds(void)
{
	char tmpl[] = "/tmp/mq-seeds-XXXXXX", data[PATH_MAX], part[PATH_MAX];
	mq_env *env;
	mq_topic *t;
	mq_config cfg;
	int64_t *bases;
	size_t nseg;

	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(data, sizeof data, "%s/data", tmpl);
	if (mq_env_open(data, MQ_CREATE, &env) < 0)
		die("env");
	mq_env_defaults(env, &cfg);
	cfg.index_interval_bytes = 100;
	cfg.segment_bytes = 1200;
	if (mq_topic_create(env, "f", &cfg, 0) < 0 ||
	    mq_topic_open(env, "f", &t) < 0)
		die("topic");
	mq_batch *b;
	if (mq_batch_new(MQ_COMPRESSION_NONE, &b) < 0)
		die("batch");
	for (int i = 0; i < 40; i++) {
		char v[32];
		mq_header h = { "h", 1, "x", 1 };
		int n = snprintf(v, sizeof v, "value-%d", i);
		mq_record r = { .timestamp = 1700000000000 + 10 * i,
		                .key = i % 3 ? "key" : NULL,
		                .key_len = i % 3 ? 3 : -1, .value = v,
		                .value_len = n, .headers = &h,
		                .header_count = (size_t)(i % 2) };
		if (mq_batch_add(b, &r) < 0)
			die("add");
		if (i % 3 == 2 && mq_append(t, 0, b, 0, NULL) < 0)
			die("append");
	}
	if (mq_batch_count(b) && mq_append(t, 0, b, 0, NULL) < 0)
		die("append");
	mq_batch_free(b);
	if (mq_partition_path(t, 0, part, sizeof part) < 0 ||
	    mq_seg_list(part, &bases, NULL, &nseg) < 0 || nseg < 2)
		die("segments");

	index_seed("segment", part, 0x01, bases[0], bases[1], 0);
	index_seed("indexes-only", part, 0x00, bases[0], bases[1], 0);
	index_seed("two-segments", part, 0x03 | 0x40, bases[0], bases[1], 0);
	index_seed("append", part, 0x05 | 0x20, bases[0], bases[1], 0);
	index_seed("base-1000", part, 0x09 | 0xa0, bases[0], bases[1], 1000);
	index_seed("base-2p32", part, 0x11, bases[0], bases[1],
	           (int64_t)1 << 32);
	index_seed("base-near-max", part, 0x1d, bases[0], bases[1],
	           INT64_MAX - ((int64_t)1 << 31));
	index_seed("last-segment-append", part, 0x05, bases[nseg - 1],
	           bases[nseg - 1], 0);
	index_seed("repair", part, 0x03 | 0x300, bases[0], bases[1], 0);
	index_seed("repair-index-dir", part, 0x01 | 0x900, bases[0], bases[1],
	           0);
	index_seed("log-start-moved", part, 0x03 | 0x400, bases[0], bases[1],
	           0);
	free(bases);
	mq_topic_close(t);
	mq_env_close(env);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "gen_seeds: could not remove %s\n", tmpl);
}

static void text(const char *sub, const char *name, const char *s)
{
	put(sub, name, s, strlen(s));
}

static void jsonl_seeds(void)
{
	text("jsonl", "value", "{\"value\":\"hello\"}\n");
	text("jsonl", "full",
	     "{\"key\":\"k\",\"value\":\"v\",\"headers\":{\"a\":\"1\","
	     "\"n\":null,\"bin\":{\"b64\":\"AAEC\"}},\"partition\":2,"
	     "\"timestamp\":1700000000000}\n");
	text("jsonl", "b64",
	     "{\"key_b64\":\"AP8=\",\"value_b64\":\"aGVsbG8gd29ybGQ=\"}\n"
	     "{\"key\":null,\"value\":null}\n");
	text("jsonl", "escapes",
	     "{\"value\":\"tab\\t nl\\n q\\\" bs\\\\ \\u00e9 \\ud83d\\ude00 "
	     "\\/ \\b\\f\\r\"}\n");
	text("jsonl", "consume-output",
	     "{\"topic\":\"t\",\"partition\":0,\"offset\":7,\"timestamp\":"
	     "1795426530000,\"key\":\"k\",\"value\":\"v\",\"headers\":"
	     "{\"h\":\"x\"}}\n");
	text("jsonl", "skipped-members",
	     "{\"extra\":[1,-2.5e3,true,false,null,{\"a\":[]}],\"value\":\"x\"}"
	     "\n  {  }  \n{}\n");
	text("jsonl", "bad",
	     "{\"value\":\"x\"\n{\"value\":1}\n{\"key\":\"a\",\"key\":\"b\"}\n"
	     "{\"timestamp\":-5}\n{\"partition\":1.5}\n[1,2]\n\"\\ud800\"\n");
	text("jsonl", "utf8",
	     "{\"value\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
	     "\"key\":\"\xff\xfe\"}\n");
}

static void config_seeds(void)
{
	text("config", "topic-section",
	     "# mq topic configuration\n[topic]\npartitions = 3\n"
	     "retention.ms = -1\ncleanup.policy = compact,delete\n"
	     "min.cleanable.dirty.ratio = 0.25\ncompression.type = gzip\n"
	     "message.timestamp.type = LogAppendTime\n");
	text("config", "top-level",
	     "segment.bytes = 1048576 # one MiB\n; comment\n"
	     "max.message.bytes=100\nindex.interval.bytes = 0\n"
	     "flush.messages = 1\nflush.ms = 9223372036854775807\n");
	text("config", "all-keys",
	     "partitions = 1\nsegment.bytes = 1073741824\n"
	     "segment.ms = 604800000\nretention.ms = 604800000\n"
	     "retention.bytes = -1\ncleanup.policy = delete\n"
	     "delete.retention.ms = 86400000\n"
	     "min.cleanable.dirty.ratio = 0.5\nmin.compaction.lag.ms = 0\n"
	     "max.message.bytes = 1048588\ncompression.type = producer\n"
	     "message.timestamp.type = CreateTime\n"
	     "index.interval.bytes = 4096\n"
	     "flush.messages = 9223372036854775807\n"
	     "flush.ms = 9223372036854775807\n");
	text("config", "bad", "[other]\nfoo = bar\nretention.ms = x\n");
	text("config", "set-int", "retention.ms=-1");
	text("config", "set-ratio", "min.cleanable.dirty.ratio=1e-3");
	text("config", "set-policy", "cleanup.policy= compact , delete");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	batch_seeds();
	index_seeds();
	jsonl_seeds();
	config_seeds();
	return 0;
}
