/*
 * base64.h - RFC 4648 base64 (standard alphabet, padded), for the JSON
 * Lines framing of binary keys, values and headers.
 */
#ifndef MQ_BASE64_H
#define MQ_BASE64_H

#include <stddef.h>

/* Bytes needed to encode n bytes, not counting a terminating NUL. */
#define BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/* b64_encode writes BASE64_LEN(n) characters to out (no NUL) and returns
 * that length. */
size_t b64_encode(const void *in, size_t n, char *out);

/*
 * b64_decode decodes n characters at in into out (room for n / 4 * 3
 * bytes) and returns the decoded length, or (size_t)-1 if the input is not
 * valid padded base64.
 */
size_t b64_decode(const char *in, size_t n, void *out);

#endif
