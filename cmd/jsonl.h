/*
 * jsonl.h - a small, strict pull parser for one line of JSON Lines.
 *
 * The caller walks the value it expects (an object, its members) with the
 * calls below; each one skips leading whitespace, consumes what it names
 * and returns 0, or returns -1 with a sentence in j->err ("expected ':' at
 * byte 12").  Strings are decoded (every escape, \uXXXX with surrogate
 * pairs, to UTF-8) into the caller's scratch buffer; raw bytes that are not
 * valid UTF-8 are passed through unchanged.  Nothing is allocated.
 */
#ifndef MQ_JSONL_H
#define MQ_JSONL_H

#include <stddef.h>
#include <stdint.h>

struct jl {
	const char *start;   /* the line, for byte positions in messages */
	const char *p;       /* next unread byte */
	const char *end;     /* one past the last byte of the line */
	char *out;           /* next free byte of the scratch buffer */
	char err[128];       /* why the last call failed */
};

/*
 * jl_init starts parsing the len bytes at line.  Decoded strings go to
 * scratch, which must have room for len bytes: no decoded string is longer
 * than its encoding, so a line never needs more.
 */
void jl_init(struct jl *j, const char *line, size_t len, char *scratch);

/* jl_peek skips whitespace and returns the next byte, or -1 at the end. */
int jl_peek(struct jl *j);

/* jl_expect consumes the byte c after optional whitespace, or fails. */
int jl_expect(struct jl *j, int c);

/*
 * jl_string decodes a string into the scratch buffer and points *s, *n at
 * the decoded bytes.  Fails on a bad escape, a lone surrogate, an
 * unescaped control character or a missing closing quote.
 */
int jl_string(struct jl *j, const char **s, size_t *n);

/*
 * jl_int64 reads a number that must be an integer in int64 range (no
 * fraction, no exponent) into *v, or fails naming what it found.
 */
int jl_int64(struct jl *j, int64_t *v);

/* jl_null consumes the literal null and returns 1, or returns 0 and
 * consumes nothing if the next value is something else. */
int jl_null(struct jl *j);

/* jl_skip consumes any one value, checking its syntax. */
int jl_skip(struct jl *j);

/* jl_end fails unless only whitespace is left on the line. */
int jl_end(struct jl *j);

/* jl_fail formats a message, with the current byte position appended,
 * into j->err and returns -1. */
int jl_fail(struct jl *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
