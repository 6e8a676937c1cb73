/*
 * fuzz_jsonl.c - the JSON Lines reader of mq-produce --json (cmd/jsonl.c,
 * cmd/jsonrec.c, cmd/base64.c) over arbitrary bytes.
 *
 * The input is split into lines at '\n'.  Every line is checked for syntax
 * with jl_skip and parsed as a record with jsonrec_parse.  A record that
 * parses is then taken through both directions of the JSON framing: into
 * a RecordBatch and back out of the decoder, and out through
 * mq-consume's JSON writer (cmd/jsonout.c) and back in through the
 * parser; each trip must give back the same key, value and headers.
 */
#include <string.h>

#include "codec.h"
#include "fuzz.h"
#include "../../cmd/jsonl.h"
#include "../../cmd/jsonout.h"
#include "../../cmd/jsonrec.h"
#include "../../cmd/outbuf.h"

static int fj_same(const void *a, ssize_t alen, const void *b, ssize_t blen)
{
	if (alen != blen)
		return 0;
	return alen <= 0 || memcmp(a, b, (size_t)alen) == 0;
}

/* fj_same_record compares key, value and headers of two records. */
static void fj_same_record(const mq_record *a, const mq_record *b)
{
	FUZZ_CHECK(fj_same(a->key, a->key_len, b->key, b->key_len));
	FUZZ_CHECK(fj_same(a->value, a->value_len, b->value, b->value_len));
	FUZZ_CHECK(a->header_count == b->header_count);
	for (size_t i = 0; i < a->header_count; i++) {
		const mq_header *x = &a->headers[i], *y = &b->headers[i];
		FUZZ_CHECK(fj_same(x->key, (ssize_t)x->key_len, y->key,
		                   (ssize_t)y->key_len));
		FUZZ_CHECK(fj_same(x->value, x->value_len, y->value,
		                   y->value_len));
	}
}

/* fj_batch encodes rec alone in a batch and decodes it again. */
static void fj_batch(const mq_record *rec, int compression)
{
	mq_batch *b;
	mq_batch_info info;
	mq_rec_iter it = { 0 };
	mq_record got;

	FUZZ_CHECK(mq_batch_new(compression, &b) == MQ_OK);
	FUZZ_CHECK(mq_batch_add(b, rec) == MQ_OK);
	FUZZ_CHECK(mq_batch_encode(b, MQ_TS_CREATE, 0) == MQ_OK);
	FUZZ_CHECK(mq_batch_bytes(b) == mq_record_bytes(rec));
	FUZZ_CHECK(mq_batch_parse_header(b->enc, b->enc_len, &info) == 1);
	FUZZ_CHECK(mq_batch_check_crc(b->enc, b->enc_len) == 1);
	FUZZ_CHECK(mq_rec_iter_start(&it, b->enc, b->enc_len, &info) == 0);
	FUZZ_CHECK(mq_rec_iter_next(&it, &got) == 1);
	fj_same_record(rec, &got);
	if (rec->timestamp >= 0)
		FUZZ_CHECK(got.timestamp == rec->timestamp);
	FUZZ_CHECK(mq_rec_iter_next(&it, &got) == 0);
	mq_rec_iter_free(&it);
	mq_batch_free(b);
}

/* fj_names_utf8 says whether every header name is valid UTF-8 (the JSON
 * writer spells the others "b64:...", which the reader keeps as is). */
static int fj_names_utf8(const mq_record *rec)
{
	for (size_t i = 0; i < rec->header_count; i++)
		if (!jsonout_utf8_valid(rec->headers[i].key,
		                        rec->headers[i].key_len))
			return 0;
	return 1;
}

/* fj_json writes rec as mq-consume --json would and parses it back. */
static void fj_json(const mq_record *rec, int64_t partition)
{
	struct outbuf ob;
	struct jsonrec jr2 = { 0 };
	mq_record back;
	size_t cap = 256 + 8 * (size_t)(rec->key_len > 0 ? rec->key_len : 0) +
	             8 * (size_t)(rec->value_len > 0 ? rec->value_len : 0);

	for (size_t i = 0; i < rec->header_count; i++)
		cap += 32 + 8 * rec->headers[i].key_len +
		       8 * (size_t)(rec->headers[i].value_len > 0 ?
		                    rec->headers[i].value_len : 0);
	FUZZ_CHECK(ob_init(&ob, -1, cap) == 0);
	mq_record out = *rec;
	out.offset = 42;
	jsonout_record(&ob, "t", 1, (int32_t)partition, &out);
	FUZZ_CHECK(!ob.failed && ob.len > 0 && ob.buf[ob.len - 1] == '\n');
	FUZZ_CHECK(memchr(ob.buf, '\n', ob.len) == ob.buf + ob.len - 1);
	if (jsonrec_parse(&jr2, ob.buf, ob.len - 1, 0, &back) != 0) {
		fprintf(stderr, "cannot parse back %.*s: %s\n",
		        (int)ob.len, ob.buf, jr2.err);
		abort();
	}
	if (fj_names_utf8(rec))
		fj_same_record(rec, &back);
	FUZZ_CHECK(back.timestamp == rec->timestamp);
	FUZZ_CHECK(jr2.has_partition && jr2.partition == partition);
	jsonrec_free(&jr2);
	ob_free(&ob);
}

/* fj_line runs one line through the syntax checker and the parser. */
static void fj_line(struct jsonrec *jr, const char *line, size_t len,
                    char *scratch, int compression)
{
	struct jl j;
	mq_record rec;

	jl_init(&j, line, len, scratch);
	if (jl_skip(&j) == 0)
		jl_end(&j);
	FUZZ_CHECK(strlen(j.err) < sizeof j.err);

	memset(&rec, 0x5a, sizeof rec);
	if (jsonrec_parse(jr, line, len, 2, &rec) != 0) {
		FUZZ_CHECK(jr->err[0] != '\0');
		FUZZ_CHECK(memchr(jr->err, '\0', sizeof jr->err) != NULL);
		return;
	}
	FUZZ_CHECK(rec.key_len >= -1 && rec.value_len >= -1);
	FUZZ_CHECK(rec.timestamp >= -1);
	FUZZ_CHECK((rec.key_len >= 0) <= jr->has_key);
	fuzz_touch(rec.key, rec.key_len);
	fuzz_touch(rec.value, rec.value_len);
	FUZZ_CHECK(rec.headers != NULL);
	for (size_t i = 0; i < rec.header_count; i++) {
		fuzz_touch(rec.headers[i].key, (ssize_t)rec.headers[i].key_len);
		fuzz_touch(rec.headers[i].value, rec.headers[i].value_len);
		FUZZ_CHECK(rec.headers[i].value_len >= -1);
	}
	/* Room for two more headers, as promised. */
	memset((mq_header *)rec.headers + rec.header_count, 0,
	       2 * sizeof *rec.headers);
	fj_batch(&rec, compression);
	fj_json(&rec, jr->has_partition && jr->partition >= 0 &&
	        jr->partition <= INT32_MAX ? jr->partition : 0);
}

int fuzz_jsonl(const uint8_t *data, size_t size)
{
	struct jsonrec jr = { 0 };
	char *scratch = malloc(size + 1);
	const char *p = (const char *)data, *end = p + size;

	FUZZ_CHECK(scratch != NULL);
	/* The whole input once as one line (its record gzip-compressed
	 * when the size is odd), then line by line. */
	fj_line(&jr, p, size, scratch, size & 1 ? MQ_COMPRESSION_GZIP :
	        MQ_COMPRESSION_NONE);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		fj_line(&jr, p, n, scratch, MQ_COMPRESSION_NONE);
		p += n + (nl != NULL);
	}
	jsonrec_free(&jr);
	free(scratch);
	return 0;
}

FUZZ_ENTRY(fuzz_jsonl)
