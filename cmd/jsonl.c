/*
 * jsonl.c - a small, strict pull parser for one line of JSON Lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonl.h"

/* Deeper nesting than this in a skipped value is refused. */
#define JL_MAX_DEPTH 128

/* jl_init points j at a line and its scratch buffer.  It cannot fail. */
void jl_init(struct jl *j, const char *line, size_t len, char *scratch)
{
	j->start = line;
	j->p = line;
	j->end = line + len;
	j->out = scratch;
	j->err[0] = '\0';
}

/* jl_fail records a message with the byte position and returns -1. */
int jl_fail(struct jl *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(j->err, sizeof j->err, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof j->err)
		snprintf(j->err + n, sizeof j->err - n, " at byte %zu",
		    (size_t)(j->p - j->start) + 1);
	return -1;
}

/* Describes the byte at the cursor for "expected X, found Y" messages. */
static int unexpected(struct jl *j, const char *what)
{
	if (j->p >= j->end)
		return jl_fail(j, "expected %s, found end of line", what);
	unsigned char c = (unsigned char)*j->p;
	if (c >= 0x20 && c < 0x7f)
		return jl_fail(j, "expected %s, found '%c'", what, c);
	return jl_fail(j, "expected %s, found byte 0x%02x", what, c);
}

/* jl_peek skips whitespace and returns the next byte, -1 at the end. */
int jl_peek(struct jl *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
	return j->p < j->end ? (unsigned char)*j->p : -1;
}

/* jl_expect consumes byte c, or fails with "expected 'c'". */
int jl_expect(struct jl *j, int c)
{
	char what[4] = { '\'', (char)c, '\'', '\0' };

	if (jl_peek(j) != c)
		return unexpected(j, what);
	j->p++;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the four hex digits after "\u"; -1 if they are not there. */
static long hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static char *put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Decodes the escape after a backslash at j->p into *o; advances both. */
static int escape(struct jl *j, char **o)
{
	long cp, lo;

	if (j->p >= j->end)
		return jl_fail(j, "unterminated string");
	switch (*j->p) {
	case '"': *(*o)++ = '"'; break;
	case '\\': *(*o)++ = '\\'; break;
	case '/': *(*o)++ = '/'; break;
	case 'b': *(*o)++ = '\b'; break;
	case 'f': *(*o)++ = '\f'; break;
	case 'n': *(*o)++ = '\n'; break;
	case 'r': *(*o)++ = '\r'; break;
	case 't': *(*o)++ = '\t'; break;
	case 'u':
		if ((cp = hex4(j->p + 1, j->end)) < 0)
			return jl_fail(j, "invalid \\u escape");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return jl_fail(j, "lone low surrogate \\u%04lx", cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			const char *q = j->p + 5;
			if (j->end - q < 2 || q[0] != '\\' || q[1] != 'u' ||
			    (lo = hex4(q + 2, j->end)) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return jl_fail(j, "lone high surrogate \\u%04lx",
				    cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			j->p += 6;
		}
		*o = put_utf8(*o, (unsigned long)cp);
		j->p += 4;
		break;
	default:
		return jl_fail(j, "invalid escape '\\%c'", *j->p);
	}
	j->p++;
	return 0;
}

/* jl_string decodes a string into the scratch buffer, or fails. */
int jl_string(struct jl *j, const char **s, size_t *n)
{
	char *o = j->out;

	if (jl_peek(j) != '"')
		return unexpected(j, "a string");
	j->p++;
	for (;;) {
		/* Copy the run up to the next quote, backslash or control. */
		const char *q = j->p;
		while (q < j->end && *q != '"' && *q != '\\' &&
		    (unsigned char)*q >= 0x20)
			q++;
		memcpy(o, j->p, q - j->p);
		o += q - j->p;
		j->p = q;
		if (q >= j->end)
			return jl_fail(j, "unterminated string");
		if (*q == '"')
			break;
		if (*q != '\\')
			return jl_fail(j, "unescaped control character 0x%02x "
			    "in string", (unsigned char)*q);
		j->p++;
		if (escape(j, &o) < 0)
			return -1;
	}
	j->p++;
	*s = j->out;
	*n = (size_t)(o - j->out);
	j->out = o;
	return 0;
}

/* Scans the syntax of a number; *integer says if it had no fraction or
 * exponent.  Leaves j->p after it. */
static int number(struct jl *j, int *integer)
{
	const char *p = j->p, *e = j->end;

	*integer = 1;
	if (p < e && *p == '-')
		p++;
	if (p < e && *p == '0')
		p++;
	else if (p < e && *p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return unexpected(j, "a value");
	if (p < e && *p == '.') {
		*integer = 0;
		if (++p >= e || *p < '0' || *p > '9') {
			j->p = p;
			return jl_fail(j, "invalid number");
		}
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		*integer = 0;
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9') {
			j->p = p;
			return jl_fail(j, "invalid number");
		}
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return 0;
}

/* jl_int64 reads an int64 integer, or fails on anything else. */
int jl_int64(struct jl *j, int64_t *v)
{
	const char *p;
	int integer, c = jl_peek(j);
	uint64_t u = 0, lim;

	if (c != '-' && (c < '0' || c > '9'))
		return unexpected(j, "an integer");
	p = j->p;
	if (number(j, &integer) < 0)
		return -1;
	if (!integer) {
		j->p = p;
		return jl_fail(j, "expected an integer, found a fraction");
	}
	int neg = *p == '-';
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (const char *q = p + neg; q < j->p; q++) {
		unsigned d = (unsigned)(*q - '0');
		if (u > (lim - d) / 10) {
			j->p = p;
			return jl_fail(j, "integer out of range");
		}
		u = u * 10 + d;
	}
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* Consumes the literal word w if it is next. */
static int literal(struct jl *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return 0;
	j->p += n;
	return 1;
}

/* jl_null consumes null and returns 1, or returns 0; it never fails. */
int jl_null(struct jl *j)
{
	if (jl_peek(j) != 'n')
		return 0;
	return literal(j, "null");
}

static int skip(struct jl *j, int depth)
{
	const char *s;
	size_t n;
	int c = jl_peek(j), integer;

	if (depth > JL_MAX_DEPTH)
		return jl_fail(j, "nesting too deep");
	switch (c) {
	case '"':
		/* Decode in place of the scratch end, then give it back. */
		{
			char *mark = j->out;
			int rc = jl_string(j, &s, &n);
			j->out = mark;
			return rc;
		}
	case '{':
		j->p++;
		if (jl_peek(j) == '}') {
			j->p++;
			return 0;
		}
		for (;;) {
			char *mark = j->out;
			if (jl_string(j, &s, &n) < 0)
				return -1;
			j->out = mark;
			if (jl_expect(j, ':') < 0 || skip(j, depth + 1) < 0)
				return -1;
			c = jl_peek(j);
			if (c == '}') {
				j->p++;
				return 0;
			}
			if (c != ',')
				return unexpected(j, "',' or '}'");
			j->p++;
		}
	case '[':
		j->p++;
		if (jl_peek(j) == ']') {
			j->p++;
			return 0;
		}
		for (;;) {
			if (skip(j, depth + 1) < 0)
				return -1;
			c = jl_peek(j);
			if (c == ']') {
				j->p++;
				return 0;
			}
			if (c != ',')
				return unexpected(j, "',' or ']'");
			j->p++;
		}
	case 't':
		if (literal(j, "true"))
			return 0;
		break;
	case 'f':
		if (literal(j, "false"))
			return 0;
		break;
	case 'n':
		if (literal(j, "null"))
			return 0;
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(j, &integer);
		break;
	}
	return unexpected(j, "a value");
}

/* jl_skip consumes one value of any type, or fails on bad syntax. */
int jl_skip(struct jl *j)
{
	return skip(j, 0);
}

/* jl_end fails unless only whitespace is left. */
int jl_end(struct jl *j)
{
	if (jl_peek(j) != -1)
		return unexpected(j, "end of line");
	return 0;
}
