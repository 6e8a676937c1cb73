/*
 * compact-gen.c - the input of bench/compact.sh: RECORDS records over KEYS
 * distinct keys, appended straight through libmq.
 *
 *   compact-gen DIR TOPIC RECORDS KEYS
 *
 * Keys are "key-NNNNNNN", picked by a fixed pseudo-random sequence (every
 * key is used, most many times); values are 32 bytes.  Batches hold 1000
 * records.  All records carry one old timestamp, then one last record ten
 * days later rolls the segment, so every generated record is cleanable.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "mq.h"

static void die(const char *what)
{
	fprintf(stderr, "compact-gen: %s: %s\n", what, mq_errmsg());
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: compact-gen DIR TOPIC RECORDS KEYS\n");
		return 2;
	}
	int64_t records = strtoll(argv[3], NULL, 10);
	uint64_t keys = strtoull(argv[4], NULL, 10);
	mq_env *env;
	mq_topic *t;
	mq_batch *b;
	if (mq_env_open(argv[1], MQ_CREATE, &env) < 0)
		die("cannot open the data directory");
	if (mq_topic_open(env, argv[2], &t) < 0)
		die("cannot open the topic");
	if (mq_batch_new(MQ_COMPRESSION_NONE, &b) < 0)
		die("cannot allocate a batch");
	const int64_t ts = 1700000000000LL;
	uint64_t x = 88172645463325252ull;
	for (int64_t i = 0; i < records; i++) {
		char k[32], v[40];
		/* Every key once first, then a xorshift sequence. */
		uint64_t key = (uint64_t)i < keys ? (uint64_t)i : 0;
		if ((uint64_t)i >= keys) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			key = x % keys;
		}
		int kl = snprintf(k, sizeof k, "key-%07" PRIu64, key);
		int vl = snprintf(v, sizeof v, "value-%012" PRId64 "-%012" PRIu64,
		                  i, key);
		mq_record r = { .timestamp = ts, .key = k, .key_len = kl,
		                .value = v, .value_len = vl };
		if (mq_batch_add(b, &r) < 0)
			die("cannot add a record");
		if (mq_batch_count(b) == 1000 && mq_append(t, 0, b, 0, NULL) < 0)
			die("cannot append");
	}
	if (mq_append(t, 0, b, 0, NULL) < 0)
		die("cannot append");
	mq_record last = { .timestamp = ts + 10 * 86400000LL, .key = "end",
	                   .key_len = 3, .value = "end", .value_len = 3 };
	if (mq_batch_add(b, &last) < 0 || mq_append(t, 0, b, 0, NULL) < 0 ||
	    mq_sync(t) < 0)
		die("cannot append");
	mq_batch_free(b);
	mq_topic_close(t);
	mq_env_close(env);
	return 0;
}
