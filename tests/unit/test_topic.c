/*
 * test_topic.c - creating, altering, deleting, opening and listing topics,
 * and the topic naming rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "internal.h"
#include "lock.h"
#include "mq.h"

static char tmpdir[64];
static mq_env *env;

static int setup(void **state)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mq-test-topic.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return mq_env_open(tmpdir, 0, &env) == MQ_OK ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	mq_env_close(env);
	env = NULL;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* exists tells whether tmpdir/REL exists (without following links). */
static int exists(const char *fmt, ...)
{
	char rel[512], path[600];
	struct stat st;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
	return lstat(path, &st) == 0;
}

/* entries counts the entries of tmpdir besides . and .. and .mq. */
static int entries(void)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | grep -v '^\\.mq$' | "
	         "wc -l) -eq 0", tmpdir);
	return system(cmd) == 0 ? 0 : 1;
}

static mq_config with_partitions(int32_t n)
{
	mq_config c;
	mq_env_defaults(env, &c);
	c.partitions = n;
	return c;
}

/* create makes the partition directories, first segments and config. */
static void test_create(void **state)
{
	mq_config c = with_partitions(3);
	c.retention_ms = 1234;
	assert_int_equal(mq_topic_create(env, "orders", &c, 0), MQ_OK);
	for (int p = 0; p < 3; p++) {
		assert_true(exists("orders-%d", p));
		assert_true(exists("orders-%d/mq.lock", p));
		assert_true(exists("orders-%d/00000000000000000000.log", p));
		assert_true(exists("orders-%d/00000000000000000000.index", p));
		assert_true(exists("orders-%d/00000000000000000000.timeindex",
		                   p));
	}
	assert_false(exists("orders-3"));
	assert_true(exists(".mq/topics/orders.conf"));
	char cmd[160];
	snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s/.mq/topics')\" = "
	         "orders.conf", tmpdir);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(mq_topic_create(env, "orders", &c, 0), MQ_EEXIST);
	assert_non_null(strstr(mq_errmsg(), "'orders'"));
	assert_int_equal(mq_topic_create(env, "orders", &c, MQ_IF_NOT_EXISTS),
	                 MQ_OK);

	mq_topic *t;
	assert_int_equal(mq_topic_open(env, "orders", &t), MQ_OK);
	assert_string_equal(mq_topic_name(t), "orders");
	assert_int_equal(mq_topic_partitions(t), 3);
	assert_int_equal(mq_topic_config(t)->retention_ms, 1234);
	assert_memory_equal(mq_topic_config(t), &c, sizeof c);
	char buf[256], want[256];
	assert_int_equal(mq_partition_path(t, 2, buf, sizeof buf), MQ_OK);
	snprintf(want, sizeof want, "%s/orders-2", tmpdir);
	assert_string_equal(buf, want);
	assert_int_equal(mq_partition_path(t, 3, buf, sizeof buf), MQ_ERANGE);
	assert_int_equal(mq_partition_path(t, -1, buf, sizeof buf),
	                 MQ_ERANGE);
	assert_int_equal(mq_partition_path(t, 0, buf, 5), MQ_EINVAL);
	mq_topic_close(t);
	mq_topic_close(NULL);

	/* NULL config: the env defaults, one partition. */
	assert_int_equal(mq_topic_create(env, "plain", NULL, 0), MQ_OK);
	assert_int_equal(mq_topic_open(env, "plain", &t), MQ_OK);
	assert_int_equal(mq_topic_partitions(t), 1);
	mq_topic_close(t);

	/* Invalid configs create nothing. */
	c = with_partitions(0);
	assert_int_equal(mq_topic_create(env, "zero", &c, 0), MQ_ECONFIG);
	assert_non_null(strstr(mq_errmsg(), "partitions"));
	c = with_partitions(1);
	c.compression_type = MQ_COMPRESSION_ZSTD;
	assert_int_equal(mq_topic_create(env, "zstd", &c, 0), MQ_ECONFIG);
	assert_false(exists("zero-0"));
	assert_false(exists("zstd-0"));

	assert_int_equal(mq_topic_open(env, "nope", &t), MQ_ENOTOPIC);
	assert_null(t);
	snprintf(want, sizeof want, "no such topic 'nope' in %s", tmpdir);
	assert_string_equal(mq_errmsg(), want);
}

/* An existing empty partition directory is adopted; one with data is not. */
static void test_create_existing_dirs(void **state)
{
	char path[256];
	snprintf(path, sizeof path, "%s/empty-0", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mq_topic_create(env, "empty", NULL, 0), MQ_OK);
	assert_true(exists("empty-0/00000000000000000000.log"));

	snprintf(path, sizeof path, "%s/full-0", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/full-0/00000000000000000042.log",
	         tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("data", f);
	fclose(f);
	assert_int_equal(mq_topic_create(env, "full", NULL, 0), MQ_EEXIST);
	assert_false(exists(".mq/topics/full.conf"));
}

/* alter replaces the config and grows partitions, never shrinks them. */
static void test_alter(void **state)
{
	mq_config c = with_partitions(2);
	mq_topic *t;
	assert_int_equal(mq_topic_create(env, "grow", &c, 0), MQ_OK);
	c.partitions = 4;
	c.cleanup_policy = MQ_CLEANUP_COMPACT;
	assert_int_equal(mq_topic_alter(env, "grow", &c), MQ_OK);
	assert_true(exists("grow-3/00000000000000000000.log"));
	assert_true(exists("grow-3/mq.lock"));
	assert_int_equal(mq_topic_open(env, "grow", &t), MQ_OK);
	assert_int_equal(mq_topic_partitions(t), 4);
	assert_int_equal(mq_topic_config(t)->cleanup_policy,
	                 MQ_CLEANUP_COMPACT);
	mq_topic_close(t);

	c.partitions = 3;
	assert_int_equal(mq_topic_alter(env, "grow", &c), MQ_EINVAL);
	assert_string_equal(mq_errmsg(),
	                    "cannot reduce partitions of 'grow' from 4 to 3");
	assert_true(exists("grow-3"));

	c.partitions = 4;
	assert_int_equal(mq_topic_alter(env, "absent", &c), MQ_ENOTOPIC);
	assert_false(exists("absent-0"));
	assert_false(exists(".mq/topics/absent.conf"));
	assert_int_equal(mq_topic_alter(env, "grow", NULL), MQ_EINVAL);
}

/* delete removes the config and every partition directory. */
static void test_delete(void **state)
{
	mq_config c = with_partitions(3);
	assert_int_equal(mq_topic_create(env, "gone", &c, 0), MQ_OK);
	assert_int_equal(mq_topic_create(env, "gone-1", NULL, 0), MQ_OK);
	assert_int_equal(mq_topic_create(env, "gon", NULL, 0), MQ_OK);
	/* A stray partition beyond the count goes too. */
	char path[256];
	snprintf(path, sizeof path, "%s/gone-7", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mq_topic_delete(env, "gone", 0), MQ_OK);
	for (int p = 0; p < 3; p++)
		assert_false(exists("gone-%d", p));
	assert_false(exists("gone-7"));
	assert_false(exists(".mq/topics/gone.conf"));
	/* Topics whose names share the prefix are untouched. */
	assert_true(exists("gone-1-0/mq.lock"));
	assert_true(exists("gon-0/mq.lock"));

	mq_topic *t;
	assert_int_equal(mq_topic_open(env, "gone", &t), MQ_ENOTOPIC);
	assert_int_equal(mq_topic_delete(env, "gone", 0), MQ_ENOTOPIC);
	assert_int_equal(mq_topic_delete(env, "gone-1", 0), MQ_OK);
	assert_int_equal(mq_topic_delete(env, "gon", 0), MQ_OK);
	assert_int_equal(entries(), 0);

	/* Deleted topics can be created again. */
	assert_int_equal(mq_topic_create(env, "gone", &c, 0), MQ_OK);
	assert_int_equal(mq_topic_delete(env, "gone", MQ_NOWAIT), MQ_OK);
	assert_int_equal(entries(), 0);
}

/* A held partition lock with MQ_NOWAIT is MQ_EBUSY and nothing is lost. */
static void test_delete_busy(void **state)
{
	char dir[256];
	mq_config c = with_partitions(2);
	assert_int_equal(mq_topic_create(env, "busy", &c, 0), MQ_OK);
	snprintf(dir, sizeof dir, "%s/busy-1", tmpdir);
	int lock = mq_lock_dir(dir, 0);
	assert_true(lock >= 0);
	/* flock locks belong to the open file, so a second open conflicts. */
	assert_int_equal(mq_topic_delete(env, "busy", MQ_NOWAIT), MQ_EBUSY);
	assert_non_null(strstr(mq_errmsg(), "busy-1"));
	assert_true(exists(".mq/topics/busy.conf"));
	assert_true(exists("busy-0/00000000000000000000.log"));
	assert_true(exists("busy-1/00000000000000000000.log"));

	/* A deleter that waits removes the lock file under the holder. */
	struct stat st;
	mq_unlock(lock);
	lock = mq_lock_dir(dir, 0);
	assert_true(lock >= 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The inherited descriptor shares the parent's lock. */
		close(lock);
		alarm(60);
		_exit(mq_topic_delete(env, "busy", 0) == MQ_OK ? 0 : 1);
	}
	/* Wait until the child has removed the config (it then blocks);
	 * at most 20 s, for a loaded machine under ASan. */
	for (int i = 0; i < 2000 && exists(".mq/topics/busy.conf"); i++)
		usleep(10000);
	assert_false(exists(".mq/topics/busy.conf"));
	assert_int_equal(fstat(lock, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	mq_unlock(lock);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(entries(), 0);
}

/* delete unlinks a symlink in a partition but never what it points to. */
static void test_delete_symlink(void **state)
{
	char outside[128], target[160], link[256], cmd[200];
	snprintf(outside, sizeof outside, "/tmp/mq-test-outside.XXXXXX");
	assert_non_null(mkdtemp(outside));
	snprintf(target, sizeof target, "%s/precious", outside);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fputs("keep me", f);
	fclose(f);

	assert_int_equal(mq_topic_create(env, "links", NULL, 0), MQ_OK);
	snprintf(link, sizeof link, "%s/links-0/evil.log", tmpdir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof link, "%s/links-0/evildir", tmpdir);
	assert_int_equal(symlink(outside, link), 0);
	/* A partition directory that is itself a link to the outside. */
	snprintf(link, sizeof link, "%s/links-1", tmpdir);
	assert_int_equal(symlink(outside, link), 0);

	assert_int_equal(mq_topic_delete(env, "links", 0), MQ_OK);
	assert_false(exists("links-0"));
	assert_false(exists("links-1"));
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 7);
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", outside);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(entries(), 0);

	/* A subdirectory is left alone and reported. */
	assert_int_equal(mq_topic_create(env, "sub", NULL, 0), MQ_OK);
	snprintf(link, sizeof link, "%s/sub-0/nested", tmpdir);
	assert_int_equal(mkdir(link, 0755), 0);
	errno = 0;
	assert_int_equal(mq_topic_delete(env, "sub", 0), MQ_EIO);
	assert_int_equal(errno, ENOTEMPTY);
	assert_non_null(strstr(mq_errmsg(), "sub-0"));
	assert_true(exists("sub-0/nested"));
	assert_false(exists("sub-0/mq.lock"));

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", outside);
	assert_int_equal(system(cmd), 0);
}

static void expect_badname(const char *name, const char *reason)
{
	mq_config c = with_partitions(1);
	mq_topic *t;
	assert_false(mq_name_valid(name));
	assert_int_equal(mq_topic_create(env, name, &c, 0), MQ_EBADNAME);
	if (reason && !strstr(mq_errmsg(), reason))
		fail_msg("'%s': %s", name, mq_errmsg());
	assert_int_equal(mq_topic_alter(env, name, &c), MQ_EBADNAME);
	assert_int_equal(mq_topic_delete(env, name, 0), MQ_EBADNAME);
	assert_int_equal(mq_topic_open(env, name, &t), MQ_EBADNAME);
	assert_null(t);
}

/* Kafka's naming rule, checked before any file is touched. */
static void test_names(void **state)
{
	char name[300];
	memset(name, 'a', sizeof name);
	name[249] = '\0';
	assert_true(mq_name_valid(name));
	assert_int_equal(mq_topic_create(env, name, NULL, 0), MQ_OK);
	assert_int_equal(mq_topic_delete(env, name, 0), MQ_OK);
	name[249] = 'a';
	name[250] = '\0';
	expect_badname(name, "250 characters, at most 249");

	assert_true(mq_name_valid("a"));
	assert_true(mq_name_valid("-leading-dash"));
	assert_true(mq_name_valid("..."));
	assert_true(mq_name_valid("_.-AZaz09"));
	assert_true(mq_name_valid("__consumer_offsets"));
	assert_false(mq_name_valid(NULL));
	assert_int_equal(mq_topic_create(env, "-x", NULL, 0), MQ_OK);
	assert_true(exists("-x-0/mq.lock"));
	assert_int_equal(mq_topic_delete(env, "-x", 0), MQ_OK);
	assert_int_equal(entries(), 0);

	expect_badname("", "invalid topic name '': the name is empty");
	expect_badname(".", "'.' and '..' are not allowed");
	expect_badname("..", "'.' and '..' are not allowed");
	expect_badname("a/b", "invalid topic name 'a/b': character '/' is "
	               "not allowed");
	expect_badname("../x", "character '/'");
	expect_badname("a b", "'a b': a space is not allowed");
	expect_badname("\n", "invalid topic name '\\x0a': character \\x0a");
	expect_badname("caf\xc3\xa9", "'caf\\xc3\\xa9': character \\xc3");
	expect_badname("a\\b", "'a\\x5cb': character \\x5c");
	expect_badname("x*", "character '*'");

	/* Nothing was created for any of them (.mq only from valid ones). */
	assert_int_equal(entries(), 0);
	assert_false(exists("../x"));
	assert_false(exists("../x-0"));
	assert_false(exists("a"));
}

/* The list holds conf topics and bare Kafka partition directories. */
static void test_list(void **state)
{
	char **names, path[256];
	assert_int_equal(mq_topic_list(env, &names), MQ_OK);
	assert_non_null(names);
	assert_null(names[0]);
	mq_free_list(names);
	mq_free_list(NULL);

	mq_config c = with_partitions(2);
	assert_int_equal(mq_topic_create(env, "zeta", &c, 0), MQ_OK);
	assert_int_equal(mq_topic_create(env, "alpha", NULL, 0), MQ_OK);
	assert_int_equal(mq_topic_create(env, "alpha-2", NULL, 0), MQ_OK);
	static const char *const dirs[] = {
		"legacy-0", "legacy-1", "legacy-2", "other-1",
		"not.a.partition", "bad-01", "bad-x", "a b-0", "-0",
		"legacy-0.abc-delete",
	};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof path, "%s/file-0", tmpdir);
	close(open(path, O_CREAT | O_WRONLY, 0644));

	assert_int_equal(mq_topic_list(env, &names), MQ_OK);
	static const char *const want[] = {
		"alpha", "alpha-2", "legacy", "other", "zeta", NULL,
	};
	for (size_t i = 0; ; i++) {
		if (!want[i] || !names[i]) {
			assert_null(want[i]);
			assert_null(names[i]);
			break;
		}
		assert_string_equal(names[i], want[i]);
	}
	mq_free_list(names);

	/* A bare Kafka topic opens with the env defaults. */
	mq_topic *t;
	assert_int_equal(mq_topic_open(env, "legacy", &t), MQ_OK);
	assert_int_equal(mq_topic_partitions(t), 3);
	assert_int_equal(mq_topic_config(t)->retention_ms, 604800000);
	mq_topic_close(t);
	/* No NAME-0: not openable. */
	assert_int_equal(mq_topic_open(env, "other", &t), MQ_ENOTOPIC);

	/* alter adopts a bare topic, and may grow it. */
	c = with_partitions(4);
	assert_int_equal(mq_topic_alter(env, "legacy", &c), MQ_OK);
	assert_true(exists(".mq/topics/legacy.conf"));
	assert_true(exists("legacy-3/00000000000000000000.log"));
	assert_false(exists("legacy-0/00000000000000000000.log"));
	assert_int_equal(mq_topic_delete(env, "legacy", 0), MQ_OK);
	assert_false(exists("legacy-0"));
	assert_true(exists("legacy-0.abc-delete"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create),
		T(test_create_existing_dirs),
		T(test_alter),
		T(test_delete),
		T(test_delete_busy),
		T(test_delete_symlink),
		T(test_names),
		T(test_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
