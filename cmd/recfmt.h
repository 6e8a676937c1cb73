/*
 * recfmt.h - kcat-style output formats for records ("%p:%o %k=%s\n").
 *
 * Tokens: %t topic, %p partition, %o offset, %k key, %s value, %T
 * timestamp (ms), %h headers (name=value joined by ','), %K key length,
 * %S value length (-1 when null), %R value length as 4 big-endian bytes,
 * %% a percent sign.  Escapes: \n \t \r \0 \\.
 */
#ifndef MQ_RECFMT_H
#define MQ_RECFMT_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"
#include "outbuf.h"

struct recfmt_op;

struct recfmt {
	struct recfmt_op *ops;
	size_t nops;
	char *lit;       /* literal bytes, referred to by the ops */
};

/*
 * recfmt_compile parses spec into f.  Returns 0, or -1 with a sentence
 * naming the bad token or escape in err (for example "unknown format
 * token '%x'").  f needs recfmt_free() only after success.
 */
int recfmt_compile(struct recfmt *f, const char *spec, char *err,
                   size_t errlen);

/* recfmt_free releases what recfmt_compile allocated. */
void recfmt_free(struct recfmt *f);

/*
 * recfmt_emit appends rec, read from partition of topic (topic_len bytes),
 * to ob as f describes.  Write failures are recorded in ob.
 */
void recfmt_emit(const struct recfmt *f, struct outbuf *ob,
                 const char *topic, size_t topic_len, int32_t partition,
                 const mq_record *rec);

#endif
