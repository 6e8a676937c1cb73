/*
 * failmmap.c - an LD_PRELOAD shim for the tests: mmap(2) of exactly
 * FAIL_MMAP_LEN bytes fails with ENOMEM, on the FAIL_MMAP_NTH-th such call
 * (counted from 1, over all threads) or, with FAIL_MMAP_NTH=0, on every
 * one.  Each failure appends a line to the file FAIL_MMAP_LOG, if set, so
 * that a test can tell the failure happened.  Other calls go through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "shimlog.h"

static int calls;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	const char *want = getenv("FAIL_MMAP_LEN");

	if (want && len == strtoull(want, NULL, 10)) {
		const char *nth = getenv("FAIL_MMAP_NTH");
		long k = nth ? strtol(nth, NULL, 10) : 0;
		int n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);

		if (k == 0 || n == k) {
			shim_note("FAIL_MMAP_LOG", "mmap failed\n");
			errno = ENOMEM;
			return MAP_FAILED;
		}
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "mmap");
	return real(addr, len, prot, flags, fd, off);
}
