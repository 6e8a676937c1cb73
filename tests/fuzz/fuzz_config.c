/*
 * fuzz_config.c - the config parser: INI files read with inih
 * (mq_config_load) and single values (mq_config_set) from arbitrary bytes.
 *
 * The input is used twice: whole, as a config file; and split at its
 * first '=' into a key and a value for mq_config_set.  A failed load or
 * set must leave the config unchanged; a successful one must render
 * (mq_config_get, mq_config_format) to text that reads back to the same
 * config.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"

/* fc_same compares two configs key by key, in their rendered form. */
static void fc_same(const mq_config *a, const mq_config *b)
{
	char x[128], y[128];
	for (const char *const *k = mq_config_keys(); *k; k++) {
		FUZZ_CHECK(mq_config_get(a, *k, x, sizeof x) == MQ_OK);
		FUZZ_CHECK(mq_config_get(b, *k, y, sizeof y) == MQ_OK);
		if (strcmp(x, y) != 0) {
			fprintf(stderr, "%s: '%s' != '%s'\n", *k, x, y);
			abort();
		}
	}
}

static void fc_write(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

/* fc_file loads the input as a config file. */
static void fc_file(const uint8_t *data, size_t size)
{
	char path[300];
	mq_config cfg, before, again;

	snprintf(path, sizeof path, "%s/fuzz.conf", fuzz_tmpdir());
	fc_write(path, data, size);
	mq_config_defaults(&cfg);
	cfg.partitions = 7;
	before = cfg;
	int rc = mq_config_load(&cfg, path);
	if (rc != MQ_OK) {
		FUZZ_CHECK(rc == MQ_ECONFIG);
		FUZZ_CHECK(strncmp(mq_errmsg(), path, strlen(path)) == 0);
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
		return;
	}
	char *text = mq_config_format(&cfg);
	FUZZ_CHECK(text != NULL);
	fc_write(path, text, strlen(text));
	free(text);
	mq_config_defaults(&again);
	rc = mq_config_load(&again, path);
	if (rc != MQ_OK) {
		fprintf(stderr, "rendered config does not load: %s\n",
		        mq_errmsg());
		abort();
	}
	fc_same(&cfg, &again);
}

/* fc_set splits the input into key and value for mq_config_set. */
static void fc_set(const uint8_t *data, size_t size)
{
	char *key = malloc(size + 1), *value;
	char got[128], got2[128];
	mq_config cfg, before;

	FUZZ_CHECK(key != NULL);
	memcpy(key, data, size);
	key[size] = '\0';
	value = memchr(key, '=', size);
	if (value)
		*value++ = '\0';
	mq_config_defaults(&cfg);
	before = cfg;
	int rc = mq_config_set(&cfg, key, value);
	if (rc != MQ_OK) {
		FUZZ_CHECK(rc == MQ_ECONFIG);
		FUZZ_CHECK(mq_errmsg()[0] != '\0');
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
		free(key);
		return;
	}
	FUZZ_CHECK(value != NULL);
	FUZZ_CHECK(mq_config_get(&cfg, key, got, sizeof got) == MQ_OK);
	before = cfg;
	mq_config_defaults(&cfg);
	FUZZ_CHECK(mq_config_set(&cfg, key, got) == MQ_OK);
	FUZZ_CHECK(mq_config_get(&cfg, key, got2, sizeof got2) == MQ_OK);
	FUZZ_CHECK(strcmp(got, got2) == 0);
	fc_same(&cfg, &before);
	free(key);
}

int fuzz_config(const uint8_t *data, size_t size)
{
	fc_file(data, size);
	fc_set(data, size);
	return 0;
}

FUZZ_ENTRY(fuzz_config)
