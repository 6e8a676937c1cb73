/*
 * recfmt.c - compiling and applying kcat-style record formats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recfmt.h"

enum {
	RF_LIT, RF_TOPIC, RF_PARTITION, RF_OFFSET, RF_KEY, RF_VALUE,
	RF_TIMESTAMP, RF_HEADERS, RF_KEYLEN, RF_VALUELEN, RF_RAWLEN,
};

struct recfmt_op {
	int kind;
	size_t off, len;  /* RF_LIT: the bytes in f->lit */
};

/* Maps the character after '%' to an op kind, or -1. */
static int token_kind(char c)
{
	switch (c) {
	case 't': return RF_TOPIC;
	case 'p': return RF_PARTITION;
	case 'o': return RF_OFFSET;
	case 'k': return RF_KEY;
	case 's': return RF_VALUE;
	case 'T': return RF_TIMESTAMP;
	case 'h': return RF_HEADERS;
	case 'K': return RF_KEYLEN;
	case 'S': return RF_VALUELEN;
	case 'R': return RF_RAWLEN;
	default: return -1;
	}
}

/* Maps the character after '\' to the byte it stands for, or -1. */
static int escape_byte(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case '0': return '\0';
	case '\\': return '\\';
	default: return -1;
	}
}

/* Appends a literal byte, extending the previous literal op if any. */
static void add_lit(struct recfmt *f, size_t *litlen, char c)
{
	struct recfmt_op *last = f->nops ? &f->ops[f->nops - 1] : NULL;
	f->lit[*litlen] = c;
	if (last && last->kind == RF_LIT && last->off + last->len == *litlen) {
		last->len++;
	} else {
		f->ops[f->nops++] = (struct recfmt_op){ RF_LIT, *litlen, 1 };
	}
	(*litlen)++;
}

int recfmt_compile(struct recfmt *f, const char *spec, char *err,
                   size_t errlen)
{
	size_t n = strlen(spec), litlen = 0;
	f->nops = 0;
	f->ops = calloc(n + 1, sizeof *f->ops);
	f->lit = malloc(n + 1);
	if (!f->ops || !f->lit) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		char c = spec[i];
		if (c == '%') {
			if (i + 1 == n) {
				snprintf(err, errlen,
				         "format ends in a lone '%%'");
				goto fail;
			}
			c = spec[++i];
			if (c == '%') {
				add_lit(f, &litlen, '%');
				continue;
			}
			int k = token_kind(c);
			if (k < 0) {
				snprintf(err, errlen,
				         "unknown format token '%%%c'", c);
				goto fail;
			}
			f->ops[f->nops++] = (struct recfmt_op){ k, 0, 0 };
		} else if (c == '\\') {
			if (i + 1 == n) {
				snprintf(err, errlen,
				         "format ends in a lone '\\'");
				goto fail;
			}
			c = spec[++i];
			int b = escape_byte(c);
			if (b < 0) {
				snprintf(err, errlen,
				         "unknown escape '\\%c' in format", c);
				goto fail;
			}
			add_lit(f, &litlen, (char)b);
		} else {
			add_lit(f, &litlen, c);
		}
	}
	return 0;
fail:
	recfmt_free(f);
	return -1;
}

void recfmt_free(struct recfmt *f)
{
	free(f->ops);
	free(f->lit);
	f->ops = NULL;
	f->lit = NULL;
	f->nops = 0;
}

/* Appends the headers as name=value pairs joined by ','; a null value
 * gives the bare name. */
static void emit_headers(struct outbuf *ob, const mq_record *rec)
{
	for (size_t i = 0; i < rec->header_count; i++) {
		const mq_header *h = &rec->headers[i];
		if (i)
			ob_putc(ob, ',');
		ob_write(ob, h->key, h->key_len);
		if (h->value_len >= 0) {
			ob_putc(ob, '=');
			ob_write(ob, h->value, (size_t)h->value_len);
		}
	}
}

void recfmt_emit(const struct recfmt *f, struct outbuf *ob,
                 const char *topic, size_t topic_len, int32_t partition,
                 const mq_record *rec)
{
	for (size_t i = 0; i < f->nops; i++) {
		const struct recfmt_op *op = &f->ops[i];
		switch (op->kind) {
		case RF_LIT:
			ob_write(ob, f->lit + op->off, op->len);
			break;
		case RF_TOPIC:
			ob_write(ob, topic, topic_len);
			break;
		case RF_PARTITION:
			ob_put_i64(ob, partition);
			break;
		case RF_OFFSET:
			ob_put_i64(ob, rec->offset);
			break;
		case RF_KEY:
			if (rec->key_len > 0)
				ob_write(ob, rec->key, (size_t)rec->key_len);
			break;
		case RF_VALUE:
			if (rec->value_len > 0)
				ob_write(ob, rec->value,
				         (size_t)rec->value_len);
			break;
		case RF_TIMESTAMP:
			ob_put_i64(ob, rec->timestamp);
			break;
		case RF_HEADERS:
			emit_headers(ob, rec);
			break;
		case RF_KEYLEN:
			ob_put_i64(ob, rec->key_len < 0 ? -1 : rec->key_len);
			break;
		case RF_VALUELEN:
			ob_put_i64(ob, rec->value_len < 0 ? -1
			                                  : rec->value_len);
			break;
		case RF_RAWLEN:
			ob_put_be32(ob, rec->value_len < 0 ? UINT32_MAX
			                        : (uint32_t)rec->value_len);
			break;
		}
	}
}
