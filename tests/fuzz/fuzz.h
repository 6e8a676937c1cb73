/*
 * fuzz.h - what the fuzz targets share.
 *
 * Each target (fuzz_batch.c, fuzz_index.c, fuzz_jsonl.c, fuzz_config.c)
 * defines one function fuzz_NAME(data, size) that runs one input through a
 * reader of bytes and aborts on any broken contract, plus, unless
 * MQ_FUZZ_REGRESS is defined, libFuzzer's entry point calling it.  The
 * regression runner (tests/unit/test_fuzz_regress.c) includes every target
 * with MQ_FUZZ_REGRESS defined and feeds each one its seed and regression
 * corpora, so what the fuzzers found stays fixed under plain `make check`.
 */
#ifndef MQ_FUZZ_H
#define MQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int fuzz_batch(const uint8_t *data, size_t size);
int fuzz_index(const uint8_t *data, size_t size);
int fuzz_jsonl(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);

/*
 * FUZZ_CHECK aborts with a message when a contract does not hold, so that
 * libFuzzer (and the regression runner) report the input as a crash.
 */
#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
		        __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/*
 * fuzz_touch reads every byte of [p, p + n) so that AddressSanitizer sees
 * a pointer that a decoder handed out past its buffer.
 */
void fuzz_touch(const void *p, ssize_t n);

/*
 * fuzz_tmpdir returns a private scratch directory (on /dev/shm when it
 * exists, for speed), created on first use and removed at exit.
 */
const char *fuzz_tmpdir(void);

#ifdef MQ_FUZZ_REGRESS
#define FUZZ_ENTRY(name)
#else
#define FUZZ_ENTRY(name) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) \
	{ \
		return name(data, size); \
	}
#endif

#endif
