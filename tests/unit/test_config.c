/*
 * test_config.c - topic configuration: Kafka's defaults, parsing and
 * rendering of every key, INI files and DIR/mq.conf.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "internal.h"
#include "mq.h"

static char tmpdir[64];

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mq-test-config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const char *get(const mq_config *cfg, const char *key)
{
	static char buf[64];
	assert_int_equal(mq_config_get(cfg, key, buf, sizeof buf), MQ_OK);
	return buf;
}

/* The defaults are Kafka's topic defaults. */
static void test_defaults(void **state)
{
	mq_config c;
	mq_config_defaults(&c);
	assert_int_equal(c.partitions, 1);
	assert_int_equal(c.segment_bytes, 1073741824);
	assert_int_equal(c.segment_ms, 604800000);
	assert_int_equal(c.retention_ms, 604800000);
	assert_int_equal(c.retention_bytes, -1);
	assert_int_equal(c.cleanup_policy, MQ_CLEANUP_DELETE);
	assert_int_equal(c.delete_retention_ms, 86400000);
	assert_true(c.min_cleanable_dirty_ratio == 0.5);
	assert_int_equal(c.min_compaction_lag_ms, 0);
	assert_int_equal(c.max_message_bytes, 1048588);
	assert_int_equal(c.compression_type, MQ_COMPRESSION_PRODUCER);
	assert_int_equal(c.timestamp_type, MQ_TS_CREATE);
	assert_int_equal(c.index_interval_bytes, 4096);
	assert_true(c.flush_messages == INT64_MAX);
	assert_true(c.flush_ms == INT64_MAX);

	assert_string_equal(get(&c, "cleanup.policy"), "delete");
	assert_string_equal(get(&c, "compression.type"), "producer");
	assert_string_equal(get(&c, "message.timestamp.type"), "CreateTime");
	assert_string_equal(get(&c, "min.cleanable.dirty.ratio"), "0.5");
	assert_string_equal(get(&c, "flush.ms"), "9223372036854775807");
}

/* Every key is listed once, and set then get gives back the same text. */
static void test_round_trip(void **state)
{
	static const struct { const char *key, *value; } cases[] = {
		{ "partitions", "12" },
		{ "segment.bytes", "64" },
		{ "segment.ms", "1" },
		{ "retention.ms", "-1" },
		{ "retention.bytes", "1000000" },
		{ "cleanup.policy", "compact" },
		{ "delete.retention.ms", "0" },
		{ "min.cleanable.dirty.ratio", "0.25" },
		{ "min.compaction.lag.ms", "5000" },
		{ "max.message.bytes", "2147483647" },
		{ "compression.type", "gzip" },
		{ "message.timestamp.type", "LogAppendTime" },
		{ "index.interval.bytes", "0" },
		{ "flush.messages", "1" },
		{ "flush.ms", "0" },
	};
	const char *const *keys = mq_config_keys();
	size_t nkeys = 0;
	while (keys[nkeys])
		nkeys++;
	assert_int_equal(nkeys, sizeof cases / sizeof cases[0]);
	for (size_t i = 0; i < nkeys; i++)
		assert_string_equal(keys[i], cases[i].key);

	mq_config c, d;
	mq_config_defaults(&c);
	for (size_t i = 0; i < nkeys; i++) {
		assert_int_equal(mq_config_set(&c, cases[i].key,
		                               cases[i].value), MQ_OK);
		assert_string_equal(get(&c, cases[i].key), cases[i].value);
	}
	assert_int_equal(c.partitions, 12);
	assert_int_equal(c.retention_ms, -1);
	assert_int_equal(c.compression_type, MQ_COMPRESSION_GZIP);
	assert_int_equal(c.timestamp_type, MQ_TS_LOG_APPEND);

	mq_config_defaults(&d);
	assert_int_equal(mq_config_set(&d, "compression.type",
	                               "uncompressed"), MQ_OK);
	assert_int_equal(d.compression_type, MQ_COMPRESSION_NONE);
	assert_string_equal(get(&d, "compression.type"), "uncompressed");
	assert_int_equal(mq_config_set(&d, "compression.type", "producer"),
	                 MQ_OK);
	assert_int_equal(d.compression_type, MQ_COMPRESSION_PRODUCER);
	assert_int_equal(mq_config_set(&d, "min.cleanable.dirty.ratio", "1"),
	                 MQ_OK);
	assert_string_equal(get(&d, "min.cleanable.dirty.ratio"), "1");
	assert_int_equal(mq_config_set(&d, "min.cleanable.dirty.ratio", "0.1"),
	                 MQ_OK);
	assert_string_equal(get(&d, "min.cleanable.dirty.ratio"), "0.1");

	/* A small buffer truncates but still terminates. */
	char small[4];
	assert_int_equal(mq_config_get(&c, "max.message.bytes", small,
	                               sizeof small), MQ_OK);
	assert_string_equal(small, "214");
}

static void expect_bad(const char *key, const char *value)
{
	mq_config c, before;
	mq_config_defaults(&c);
	before = c;
	int rc = mq_config_set(&c, key, value);
	if (rc != MQ_ECONFIG)
		fail_msg("%s = '%s' gave %d", key, value, rc);
	assert_memory_equal(&c, &before, sizeof c);
	if (!strstr(mq_errmsg(), key))
		fail_msg("message does not name %s: %s", key, mq_errmsg());
	if (!strstr(mq_errmsg(), "invalid value"))
		fail_msg("unexpected message: %s", mq_errmsg());
}

/* Junk, out-of-range and unknown values are refused, naming the key. */
static void test_invalid(void **state)
{
	expect_bad("partitions", "0");
	expect_bad("partitions", "-1");
	expect_bad("partitions", "");
	expect_bad("partitions", "1x");
	expect_bad("partitions", " 1");
	expect_bad("partitions", "+1");
	expect_bad("partitions", "1.0");
	expect_bad("partitions", "1000001");
	expect_bad("segment.bytes", "63");
	expect_bad("segment.bytes", "2147483648");
	expect_bad("segment.ms", "0");
	expect_bad("retention.ms", "-2");
	expect_bad("retention.ms", "9223372036854775808");
	expect_bad("retention.ms", "abc");
	expect_bad("retention.bytes", "-5");
	expect_bad("delete.retention.ms", "-1");
	expect_bad("min.cleanable.dirty.ratio", "1.5");
	expect_bad("min.cleanable.dirty.ratio", "-0.1");
	expect_bad("min.cleanable.dirty.ratio", "nan");
	expect_bad("min.cleanable.dirty.ratio", "0x1p-1");
	expect_bad("min.cleanable.dirty.ratio", "");
	expect_bad("min.compaction.lag.ms", "-1");
	expect_bad("max.message.bytes", "0");
	expect_bad("max.message.bytes", "2147483648");
	expect_bad("compression.type", "GZIP");
	expect_bad("compression.type", "brotli");
	expect_bad("compression.type", "");
	expect_bad("message.timestamp.type", "createtime");
	expect_bad("index.interval.bytes", "-1");
	expect_bad("flush.messages", "0");
	expect_bad("flush.ms", "-1");
	expect_bad("cleanup.policy", "");
	expect_bad("cleanup.policy", "delete,");
	expect_bad("cleanup.policy", "remove");

	/* Kafka's other codecs are valid Kafka, but mq cannot write them. */
	expect_bad("compression.type", "snappy");
	assert_non_null(strstr(mq_errmsg(), "only producer, uncompressed "
	                       "and gzip"));
	expect_bad("compression.type", "lz4");
	expect_bad("compression.type", "zstd");

	/* Non-printable bytes are shown escaped. */
	expect_bad("retention.ms", "1\n2");
	assert_non_null(strstr(mq_errmsg(), "'1\\x0a2'"));

	mq_config c;
	char buf[32];
	mq_config_defaults(&c);
	assert_int_equal(mq_config_set(&c, "retention.hours", "1"),
	                 MQ_ECONFIG);
	assert_string_equal(mq_errmsg(),
	                    "unknown config key 'retention.hours'");
	assert_int_equal(mq_config_get(&c, "nope", buf, sizeof buf),
	                 MQ_ECONFIG);
	assert_string_equal(mq_errmsg(), "unknown config key 'nope'");

	/* Limits are inclusive. */
	assert_int_equal(mq_config_set(&c, "partitions", "1000000"), MQ_OK);
	assert_int_equal(mq_config_set(&c, "flush.ms",
	                               "9223372036854775807"), MQ_OK);
	assert_true(c.flush_ms == INT64_MAX);
	assert_int_equal(mq_config_set(&c, "min.cleanable.dirty.ratio", "0"),
	                 MQ_OK);
	assert_true(c.min_cleanable_dirty_ratio == 0);
}

/* cleanup.policy takes delete, compact, or both in either order. */
static void test_cleanup_policy(void **state)
{
	mq_config c;
	mq_config_defaults(&c);
	assert_int_equal(mq_config_set(&c, "cleanup.policy", "compact"), 0);
	assert_int_equal(c.cleanup_policy, MQ_CLEANUP_COMPACT);
	assert_int_equal(mq_config_set(&c, "cleanup.policy", "delete"), 0);
	assert_int_equal(c.cleanup_policy, MQ_CLEANUP_DELETE);
	assert_int_equal(mq_config_set(&c, "cleanup.policy",
	                               "compact,delete"), 0);
	assert_int_equal(c.cleanup_policy,
	                 MQ_CLEANUP_COMPACT | MQ_CLEANUP_DELETE);
	assert_string_equal(get(&c, "cleanup.policy"), "compact,delete");
	mq_config_defaults(&c);
	assert_int_equal(mq_config_set(&c, "cleanup.policy",
	                               "delete, compact"), 0);
	assert_int_equal(c.cleanup_policy,
	                 MQ_CLEANUP_COMPACT | MQ_CLEANUP_DELETE);
	assert_string_equal(get(&c, "cleanup.policy"), "compact,delete");
}

/* INI files: top-level keys, a [topic] section, comments. */
static void test_load(void **state)
{
	char path[128];
	mq_config c;
	snprintf(path, sizeof path, "%s/a.conf", tmpdir);
	write_text(path,
	           "# a comment\n"
	           "; another\n"
	           "retention.ms = 1000\n"
	           "\n"
	           "segment.bytes=4096   # trailing comment\n"
	           "[topic]\n"
	           "cleanup.policy = compact\n"
	           "partitions = 3 ; inline\n");
	mq_config_defaults(&c);
	assert_int_equal(mq_config_load(&c, path), MQ_OK);
	assert_int_equal(c.retention_ms, 1000);
	assert_int_equal(c.segment_bytes, 4096);
	assert_int_equal(c.cleanup_policy, MQ_CLEANUP_COMPACT);
	assert_int_equal(c.partitions, 3);
	assert_int_equal(c.max_message_bytes, 1048588);

	/* A bad value names the file, the line and the key; cfg is kept. */
	mq_config before;
	write_text(path, "partitions = 2\n# x\nretention.ms = soon\n");
	mq_config_defaults(&c);
	before = c;
	assert_int_equal(mq_config_load(&c, path), MQ_ECONFIG);
	assert_memory_equal(&c, &before, sizeof c);
	char want[256];
	snprintf(want, sizeof want, "%s:3: invalid value 'soon' for "
	         "retention.ms", path);
	if (strncmp(mq_errmsg(), want, strlen(want)) != 0)
		fail_msg("got: %s", mq_errmsg());

	write_text(path, "\n\nsegment.size = 5\n");
	assert_int_equal(mq_config_load(&c, path), MQ_ECONFIG);
	snprintf(want, sizeof want, "%s:3: unknown config key 'segment.size'",
	         path);
	assert_string_equal(mq_errmsg(), want);

	write_text(path, "[broker]\nretention.ms = 5\n");
	assert_int_equal(mq_config_load(&c, path), MQ_ECONFIG);
	snprintf(want, sizeof want, "%s:2: key 'retention.ms' in unknown "
	         "section [broker]", path);
	assert_string_equal(mq_errmsg(), want);

	write_text(path, "retention.ms = 5\njust words\n");
	assert_int_equal(mq_config_load(&c, path), MQ_ECONFIG);
	snprintf(want, sizeof want, "%s:2: syntax error", path);
	assert_non_null(strstr(mq_errmsg(), want));

	/* The first error wins, whichever kind it is. */
	write_text(path, "bogus = 1\njust words\n");
	assert_int_equal(mq_config_load(&c, path), MQ_ECONFIG);
	snprintf(want, sizeof want, "%s:1: unknown config key 'bogus'", path);
	assert_string_equal(mq_errmsg(), want);

	/* An over-long line is an error, not a silently cut value. */
	char longline[400];
	memset(longline, '1', sizeof longline);
	memcpy(longline, "retention.ms = ", 15);
	longline[sizeof longline - 2] = '\n';
	longline[sizeof longline - 1] = '\0';
	write_text(path, longline);
	assert_int_equal(mq_config_load(&c, path), MQ_ECONFIG);
	snprintf(want, sizeof want, "%s:1: line too long", path);
	assert_string_equal(mq_errmsg(), want);

	snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
	errno = 0;
	assert_int_equal(mq_config_load(&c, path), MQ_EIO);
	assert_int_equal(errno, ENOENT);
}

/* mq_config_format writes a file mq_config_load reads back identically. */
static void test_format_round_trip(void **state)
{
	char path[128];
	mq_config c, d;
	mq_config_defaults(&c);
	assert_int_equal(mq_config_set(&c, "partitions", "7"), 0);
	assert_int_equal(mq_config_set(&c, "cleanup.policy", "compact,delete"),
	                 0);
	assert_int_equal(mq_config_set(&c, "min.cleanable.dirty.ratio",
	                               "0.123456789"), 0);
	assert_int_equal(mq_config_set(&c, "compression.type", "gzip"), 0);
	assert_int_equal(mq_config_set(&c, "retention.bytes", "12345"), 0);
	char *text = mq_config_format(&c);
	assert_non_null(text);
	assert_int_equal(text[0], '#');
	assert_non_null(strstr(text, "\npartitions = 7\nsegment.bytes = "
	                       "1073741824\n"));
	assert_non_null(strstr(text, "\nflush.ms = 9223372036854775807\n"));
	snprintf(path, sizeof path, "%s/fmt.conf", tmpdir);
	write_text(path, text);
	free(text);
	mq_config_defaults(&d);
	assert_int_equal(mq_config_load(&d, path), MQ_OK);
	assert_memory_equal(&c, &d, sizeof c);
}

/* DIR/mq.conf supplies the defaults for new topics. */
static void test_env_defaults(void **state)
{
	char dir[128], path[160];
	mq_env *env;
	mq_config c;
	snprintf(dir, sizeof dir, "%s/data/sub", tmpdir);
	errno = 0;
	assert_int_equal(mq_env_open(dir, 0, &env), MQ_EIO);
	assert_int_equal(errno, ENOENT);
	assert_null(env);
	assert_non_null(strstr(mq_errmsg(), "does not exist"));

	assert_int_equal(mq_env_open(dir, MQ_CREATE, &env), MQ_OK);
	assert_string_equal(mq_env_path(env), dir);
	mq_env_defaults(env, &c);
	assert_int_equal(c.retention_ms, 604800000);
	mq_env_close(env);

	snprintf(path, sizeof path, "%s/mq.conf", dir);
	write_text(path, "retention.ms = 60000\npartitions = 4\n");
	assert_int_equal(mq_env_open(dir, 0, &env), MQ_OK);
	mq_env_defaults(env, &c);
	assert_int_equal(c.retention_ms, 60000);
	assert_int_equal(c.partitions, 4);
	assert_int_equal(c.segment_bytes, 1073741824);
	mq_env_close(env);

	write_text(path, "retention.ms = never\n");
	assert_int_equal(mq_env_open(dir, 0, &env), MQ_ECONFIG);
	assert_null(env);
	assert_non_null(strstr(mq_errmsg(), "mq.conf:1: invalid value"));

	/* A file where the directory should be. */
	assert_int_equal(mq_env_open(path, 0, &env), MQ_EIO);
	assert_int_equal(mq_env_open(path, MQ_CREATE, &env), MQ_EIO);
	mq_env_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_cleanup_policy),
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_round_trip, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_env_defaults, setup,
		                                teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
