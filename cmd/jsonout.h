/*
 * jsonout.h - records as JSON Lines, one object per record:
 *
 *   {"topic":"t","partition":0,"offset":7,"timestamp":1795426530000,
 *    "key":"k","value":"v","headers":{"h":"x"}}
 *
 * A key or value that is valid UTF-8 is a JSON string, a null one is null,
 * and any other is written as "key_b64" / "value_b64" holding its base64.
 * A header value is a string, null, or {"b64":"..."}; a header name that
 * is not valid UTF-8 is written as "b64:" followed by its base64.
 */
#ifndef MQ_JSONOUT_H
#define MQ_JSONOUT_H

#include <stddef.h>
#include <stdint.h>

#include "mq.h"
#include "outbuf.h"

/* jsonout_utf8_valid returns 1 if the n bytes at p are well-formed UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF), else 0. */
int jsonout_utf8_valid(const void *p, size_t n);

/* jsonout_string appends the n bytes at p as a quoted JSON string,
 * escaping '"', '\' and control characters.  p must be valid UTF-8. */
void jsonout_string(struct outbuf *ob, const void *p, size_t n);

/* jsonout_record appends rec as one JSON object and a newline. */
void jsonout_record(struct outbuf *ob, const char *topic, size_t topic_len,
                    int32_t partition, const mq_record *rec);

#endif
