/*
 * jsonrec.h - one JSON Lines object as a record, the input form of
 * mq-produce --json and the output form of mq-consume --json:
 *
 *	{"key": string|null, "key_b64": string|null,
 *	 "value": string|null, "value_b64": string|null,
 *	 "headers": {NAME: string|null|{"b64": string}, ...},
 *	 "partition": integer|null, "timestamp": integer|null}
 *
 * Every member is optional; a missing key or value is null; other members
 * are checked for syntax and ignored.
 */
#ifndef MQ_JSONREC_H
#define MQ_JSONREC_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"

struct jsonrec {
	int has_key;            /* "key" or "key_b64" was given */
	int has_partition;      /* "partition" was given, not null */
	int64_t partition;
	char err[128];          /* why the last line was rejected */

	char *scratch;          /* decoded strings of the last line */
	size_t scratch_cap;
	mq_header *hdrs;        /* its headers, plus room for extra ones */
	size_t hdrs_cap;
};

/*
 * jsonrec_parse decodes the len bytes at line into *r (timestamp -1 when
 * absent) and the has_key/has_partition fields.  r->headers has room for
 * extra more headers after r->header_count, for the caller to add.  The
 * pointers in *r stay valid until the next call.  Returns 0, or -1 with a
 * sentence in jr->err; dies if memory runs out.
 */
int jsonrec_parse(struct jsonrec *jr, const char *line, size_t len,
                  size_t extra, mq_record *r);

/* jsonrec_free frees the buffers of jr. */
void jsonrec_free(struct jsonrec *jr);

#endif
