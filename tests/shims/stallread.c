/*
 * stallread.c - an LD_PRELOAD shim for the tests: the first pread(2) of
 * more than 64 KiB whose range holds byte STALL_AT of the file sleeps
 * STALL_MS milliseconds first, as a read from a stalled disk or network
 * file system would (smaller reads, such as libmq's of index entries, are
 * left alone).  Each stall appends a line to the file STALL_LOG, if set.
 * Other calls go through at once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>

#include "shimlog.h"

static int stalled;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	const char *at = getenv("STALL_AT"), *ms = getenv("STALL_MS");

	if (at && ms && n > 65536) {
		off_t a = (off_t)strtoll(at, NULL, 10);

		if (off <= a && a < off + (off_t)n &&
		    !__atomic_exchange_n(&stalled, 1, __ATOMIC_SEQ_CST)) {
			long t = strtol(ms, NULL, 10);
			struct timespec ts = { t / 1000, (t % 1000) * 1000000 };

			shim_note("STALL_LOG", "stalled\n");
			nanosleep(&ts, NULL);
		}
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pread");
	return real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}
