/*
 * fuzz_bufcache.c - keeps freed 1 MiB scan buffers for reuse, linked into
 * the libFuzzer build of fuzz_index only (with -Wl,--wrap=mq_buf_reserve
 * and --wrap=mq_buf_free).
 *
 * Every segment scan in libmq allocates a buffer of at least 1 MiB.
 * Under AddressSanitizer each such allocation is an mmap, a shadow
 * memset and a munmap, which makes the partition readers some 20 times
 * slower than without it; reusing the buffers keeps the fuzzer fast.  A
 * cached buffer is poisoned while it waits, so a use after free is still
 * caught.
 *
 * A request for more than BIG_MAX bytes fails with MQ_ENOMEM, as it would
 * on a system without overcommit: a scan sizes its buffer by the
 * batchLength a header claims before it knows the file holds that much,
 * and under ASan a 2 GiB allocation costs seconds.
 */
#include <sanitizer/asan_interface.h>

#include "codec.h"
#include "error.h"

#define CACHE_MIN ((size_t)1 << 20)
#define CACHE_MAX ((size_t)4 << 20)
#define CACHE_SLOTS 16
#define BIG_MAX ((size_t)64 << 20)

int __real_mq_buf_reserve(mq_buf *b, size_t extra);
void __real_mq_buf_free(mq_buf *b);
int __wrap_mq_buf_reserve(mq_buf *b, size_t extra);
void __wrap_mq_buf_free(mq_buf *b);

static uint8_t *cache[CACHE_SLOTS];
static size_t cache_cap[CACHE_SLOTS];
static int ncache;

int __wrap_mq_buf_reserve(mq_buf *b, size_t extra)
{
	if (extra > BIG_MAX || b->len + extra > BIG_MAX)
		return mq_fail(MQ_ENOMEM, "cannot allocate %zu bytes "
		               "(fuzz_bufcache limit)", b->len + extra);
	if (!b->data && b->cap == 0 && ncache > 0 &&
	    extra <= cache_cap[ncache - 1]) {
		ncache--;
		ASAN_UNPOISON_MEMORY_REGION(cache[ncache], cache_cap[ncache]);
		b->data = cache[ncache];
		b->cap = cache_cap[ncache];
		b->len = 0;
	}
	return __real_mq_buf_reserve(b, extra);
}

void __wrap_mq_buf_free(mq_buf *b)
{
	if (b->data && b->cap >= CACHE_MIN && b->cap <= CACHE_MAX &&
	    ncache < CACHE_SLOTS) {
		ASAN_POISON_MEMORY_REGION(b->data, b->cap);
		cache[ncache] = b->data;
		cache_cap[ncache++] = b->cap;
		b->data = NULL;
		b->len = b->cap = 0;
		return;
	}
	__real_mq_buf_free(b);
}
