/*
 * test_fuzz_regress.c - runs every input of the fuzz targets' seed corpora
 * (tests/fuzz/corpus/NAME) and regression corpora (tests/fuzz/regress/NAME,
 * the inputs that once crashed a target) through the targets once, built
 * without libFuzzer, so that `make check` (and `make check SANITIZE=1`)
 * keeps every fixed crash fixed.  MQ_FUZZ_DIR overrides tests/fuzz.
 */
#define MQ_FUZZ_REGRESS 1

/* The targets and the tool sources they drive, as one program; they come
 * before cmocka.h, whose skip() macro would clash with jsonl.c. */
#include "../fuzz/fuzz_common.c"
#include "../fuzz/fuzz_batch.c"
#include "../fuzz/fuzz_index.c"
#include "../fuzz/fuzz_jsonl.c"
#include "../fuzz/fuzz_config.c"
#include "../../cmd/base64.c"
#include "../../cmd/jsonl.c"
#include "../../cmd/jsonout.c"
#include "../../cmd/jsonrec.c"
#include "../../cmd/outbuf.c"
#include "../../cmd/tool.c"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

typedef int (*fuzz_fn)(const uint8_t *, size_t);

/* run_dir feeds every file in DIR to fn; returns how many there were. */
static int run_dir(const char *dir, fuzz_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 300];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		size_t size = (size_t)st.st_size;
		/* An exact-size heap copy, so reads past the end are caught. */
		uint8_t *data = malloc(size ? size : 1);
		FILE *f = fopen(path, "rb");
		assert_non_null(data);
		assert_non_null(f);
		assert_int_equal(fread(data, 1, size, f), size);
		fclose(f);
		print_message("  %s\n", path);
		fn(data, size);
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

static void run_target(const char *name, fuzz_fn fn)
{
	const char *base = getenv("MQ_FUZZ_DIR");
	char dir[PATH_MAX];

	if (!base)
		base = "tests/fuzz";
	snprintf(dir, sizeof dir, "%s/corpus/%s", base, name);
	int seeds = run_dir(dir, fn);
	snprintf(dir, sizeof dir, "%s/regress/%s", base, name);
	int regress = run_dir(dir, fn);
	print_message("%s: %d seeds, %d regression inputs\n", name, seeds,
	              regress);
	assert_true(seeds > 0);
	/* The empty input too. */
	fn((const uint8_t *)"", 0);
}

static void test_batch(void **state)
{
	(void)state;
	run_target("batch", fuzz_batch);
}

static void test_index(void **state)
{
	(void)state;
	run_target("index", fuzz_index);
}

static void test_jsonl(void **state)
{
	(void)state;
	run_target("jsonl", fuzz_jsonl);
}

static void test_config(void **state)
{
	(void)state;
	run_target("config", fuzz_config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_config),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	mq_env_close(fi_env);
	return rc;
}
