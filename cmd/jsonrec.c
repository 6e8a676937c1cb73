/*
 * jsonrec.c - one JSON Lines object as a record.
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "jsonl.h"
#include "jsonrec.h"
#include "tool.h"

static int is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* Reads a string, or with b64 a base64 string decoded, into *s, *n. */
static int bytes(struct jl *j, int b64, const char **s, size_t *n)
{
	const char *t;
	size_t tn, m;

	if (jl_string(j, &t, &tn) < 0)
		return -1;
	if (!b64) {
		*s = t;
		*n = tn;
		return 0;
	}
	/* The scratch buffer holds twice the line: room for this too. */
	if ((m = b64_decode(t, tn, j->out)) == (size_t)-1)
		return jl_fail(j, "invalid base64");
	*s = j->out;
	*n = m;
	j->out += m;
	return 0;
}

/* Makes room for n headers. */
static void hdrs_room(struct jsonrec *jr, size_t n)
{
	size_t c = jr->hdrs_cap ? jr->hdrs_cap : 8;
	mq_header *h;

	if (n <= jr->hdrs_cap)
		return;
	while (c < n)
		c *= 2;
	if (!(h = realloc(jr->hdrs, c * sizeof *h)))
		die(EXIT_ERROR, "out of memory");
	jr->hdrs = h;
	jr->hdrs_cap = c;
}

/* Parses the "headers" object: NAME: string, null or {"b64": string}. */
static int headers(struct jsonrec *jr, struct jl *j, size_t *nh)
{
	const char *name, *v, *b;
	size_t nlen, vlen, blen;

	if (jl_expect(j, '{') < 0)
		return -1;
	if (jl_peek(j) == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (jl_string(j, &name, &nlen) < 0 || jl_expect(j, ':') < 0)
			return -1;
		if (nlen >= 4 && memcmp(name, "b64:", 4) == 0) {
			/* A binary name, as mq-consume --json writes it. */
			size_t m = b64_decode(name + 4, nlen - 4, j->out);
			if (m == (size_t)-1)
				return jl_fail(j, "invalid base64 in a header name");
			name = j->out;
			nlen = m;
			j->out += m;
		}
		hdrs_room(jr, *nh + 1);
		mq_header *h = &jr->hdrs[(*nh)++];
		h->key = name;
		h->key_len = nlen;
		h->value = NULL;
		h->value_len = -1;
		if (jl_null(j)) {
			/* A null header value. */
		} else if (jl_peek(j) == '{') {
			j->p++;
			if (jl_string(j, &b, &blen) < 0)
				return -1;
			if (!is(b, blen, "b64"))
				return jl_fail(j, "expected \"b64\" in a binary "
				    "header value");
			if (jl_expect(j, ':') < 0 || bytes(j, 1, &v, &vlen) < 0 ||
			    jl_expect(j, '}') < 0)
				return -1;
			h->value = v;
			h->value_len = (ssize_t)vlen;
		} else {
			if (jl_string(j, &v, &vlen) < 0)
				return -1;
			h->value = v;
			h->value_len = (ssize_t)vlen;
		}
		if (jl_peek(j) == '}') {
			j->p++;
			return 0;
		}
		if (jl_expect(j, ',') < 0)
			return -1;
	}
}

/* Parses one member's value into r or jr; name is the member's name. */
static int member(struct jsonrec *jr, struct jl *j, const char *name,
                  size_t n, mq_record *r, int *have_value, size_t *nh)
{
	const char *s = NULL; /* set by bytes(); -O3 cannot tell */
	size_t len = 0;
	int64_t v;

	if (is(name, n, "key") || is(name, n, "key_b64")) {
		if (jr->has_key++)
			return jl_fail(j, "more than one of \"key\" and "
			    "\"key_b64\"");
		if (jl_null(j))
			return 0;
		if (bytes(j, n == 7, &s, &len) < 0)
			return -1;
		r->key = s;
		r->key_len = (ssize_t)len;
	} else if (is(name, n, "value") || is(name, n, "value_b64")) {
		if ((*have_value)++)
			return jl_fail(j, "more than one of \"value\" and "
			    "\"value_b64\"");
		if (jl_null(j))
			return 0;
		if (bytes(j, n == 9, &s, &len) < 0)
			return -1;
		r->value = s;
		r->value_len = (ssize_t)len;
	} else if (is(name, n, "headers")) {
		if (!jl_null(j))
			return headers(jr, j, nh);
	} else if (is(name, n, "partition")) {
		jr->has_partition = 0;
		if (jl_null(j))
			return 0;
		if (jl_int64(j, &jr->partition) < 0)
			return -1;
		jr->has_partition = 1;
	} else if (is(name, n, "timestamp")) {
		r->timestamp = -1;
		if (jl_null(j))
			return 0;
		if (jl_int64(j, &v) < 0)
			return -1;
		if (v < -1)
			return jl_fail(j, "negative timestamp");
		r->timestamp = v;
	} else {
		return jl_skip(j);
	}
	return 0;
}

/* jsonrec_parse decodes one line into a record, or fails with jr->err. */
int jsonrec_parse(struct jsonrec *jr, const char *line, size_t len,
                  size_t extra, mq_record *r)
{
	int have_value = 0;
	size_t nh = 0, n;
	const char *name;
	struct jl j;

	memset(r, 0, sizeof *r);
	r->timestamp = -1;
	r->key_len = -1;
	r->value_len = -1;
	jr->has_key = jr->has_partition = 0;
	jr->partition = -1;
	if (jr->scratch_cap < 2 * len + 16) {
		free(jr->scratch);
		jr->scratch_cap = 2 * len + 16;
		if (!(jr->scratch = malloc(jr->scratch_cap)))
			die(EXIT_ERROR, "out of memory");
	}
	jl_init(&j, line, len, jr->scratch);
	if (jl_expect(&j, '{') < 0)
		goto bad;
	if (jl_peek(&j) == '}') {
		j.p++;
	} else for (;;) {
		if (jl_string(&j, &name, &n) < 0 || jl_expect(&j, ':') < 0 ||
		    member(jr, &j, name, n, r, &have_value, &nh) < 0)
			goto bad;
		if (jl_peek(&j) == '}') {
			j.p++;
			break;
		}
		if (jl_expect(&j, ',') < 0)
			goto bad;
	}
	if (jl_end(&j) < 0)
		goto bad;
	hdrs_room(jr, nh + extra);
	r->headers = jr->hdrs;
	r->header_count = nh;
	return 0;
bad:
	memcpy(jr->err, j.err, sizeof jr->err);
	return -1;
}

/* jsonrec_free frees the buffers of jr; it may be parsed into again. */
void jsonrec_free(struct jsonrec *jr)
{
	free(jr->scratch);
	free(jr->hdrs);
	memset(jr, 0, sizeof *jr);
}
