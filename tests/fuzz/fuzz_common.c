/*
 * fuzz_common.c - helpers shared by the fuzz targets.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static volatile uint8_t fuzz_sink;

void fuzz_touch(const void *p, ssize_t n)
{
	const volatile uint8_t *b = p;
	uint8_t x = 0;
	if (n <= 0)
		return;
	FUZZ_CHECK(p != NULL);
	for (ssize_t i = 0; i < n; i++)
		x ^= b[i];
	fuzz_sink ^= x;
}

static char fuzz_dir[256];

static int fuzz_rm_one(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void fuzz_cleanup(void)
{
	if (fuzz_dir[0])
		nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
	if (fuzz_dir[0])
		return fuzz_dir;
	struct stat st;
	const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/mq-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz_dir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir;
}
