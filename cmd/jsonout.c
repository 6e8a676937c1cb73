/*
 * jsonout.c - writing records as JSON Lines.
 */
#include <stdlib.h>

#include "base64.h"
#include "jsonout.h"

int jsonout_utf8_valid(const void *data, size_t n)
{
	const unsigned char *p = data, *e = p + n;
	while (p < e) {
		unsigned c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t need;
		unsigned min, cp;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return 0;
		}
		if ((size_t)(e - p) <= need)
			return 0;
		for (size_t i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += need + 1;
	}
	return 1;
}

void jsonout_string(struct outbuf *ob, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data, *e = p + n;
	ob_putc(ob, '"');
	while (p < e) {
		const unsigned char *run = p;
		while (p < e && *p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			ob_write(ob, run, (size_t)(p - run));
		if (p == e)
			break;
		unsigned char c = *p++;
		char esc[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t len = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[1] = 'u', esc[2] = '0', esc[3] = '0';
			esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
			len = 6;
		}
		ob_write(ob, esc, len);
	}
	ob_putc(ob, '"');
}

/* Appends n bytes as a quoted base64 string, through a stack buffer for
 * small inputs and a heap buffer for large ones. */
static void put_b64(struct outbuf *ob, const void *p, size_t n)
{
	char small[512];
	size_t need = BASE64_LEN(n);
	char *buf = need <= sizeof small ? small : malloc(need);
	ob_putc(ob, '"');
	if (buf) {
		ob_write(ob, buf, b64_encode(p, n, buf));
	} else {
		/* Encode 3-byte groups chunk by chunk when memory is short. */
		const unsigned char *q = p;
		for (size_t off = 0; off < n; off += 384) {
			size_t k = n - off < 384 ? n - off : 384;
			ob_write(ob, small, b64_encode(q + off, k, small));
		}
	}
	ob_putc(ob, '"');
	if (buf != small)
		free(buf);
}

/* Appends ,"NAME":VALUE for a key or value field of a record. */
static void put_field(struct outbuf *ob, const char *name, const void *p,
                      ssize_t len)
{
	ob_write(ob, ",\"", 2);
	ob_puts(ob, name);
	if (len < 0) {
		ob_write(ob, "\":null", 6);
	} else if (jsonout_utf8_valid(p, (size_t)len)) {
		ob_write(ob, "\":", 2);
		jsonout_string(ob, p, (size_t)len);
	} else {
		ob_write(ob, "_b64\":", 6);
		put_b64(ob, p, (size_t)len);
	}
}

/* Appends the name of header h as an object key, "b64:"-prefixed base64
 * when it is not valid UTF-8 or itself starts with "b64:" (so that
 * mq-produce --json reads every name back exactly). */
static void put_header_name(struct outbuf *ob, const mq_header *h)
{
	if (jsonout_utf8_valid(h->key, h->key_len) &&
	    !(h->key_len >= 4 && memcmp(h->key, "b64:", 4) == 0)) {
		jsonout_string(ob, h->key, h->key_len);
		return;
	}
	size_t need = 4 + BASE64_LEN(h->key_len);
	char *buf = malloc(need);
	if (!buf) {
		ob_write(ob, "\"b64:\"", 6);
		return;
	}
	memcpy(buf, "b64:", 4);
	size_t n = 4 + b64_encode(h->key, h->key_len, buf + 4);
	jsonout_string(ob, buf, n);
	free(buf);
}

void jsonout_record(struct outbuf *ob, const char *topic, size_t topic_len,
                    int32_t partition, const mq_record *rec)
{
	ob_write(ob, "{\"topic\":", 9);
	jsonout_string(ob, topic, topic_len);
	ob_write(ob, ",\"partition\":", 13);
	ob_put_i64(ob, partition);
	ob_write(ob, ",\"offset\":", 10);
	ob_put_i64(ob, rec->offset);
	ob_write(ob, ",\"timestamp\":", 13);
	ob_put_i64(ob, rec->timestamp);
	put_field(ob, "key", rec->key, rec->key_len);
	put_field(ob, "value", rec->value, rec->value_len);
	ob_write(ob, ",\"headers\":{", 12);
	for (size_t i = 0; i < rec->header_count; i++) {
		const mq_header *h = &rec->headers[i];
		if (i)
			ob_putc(ob, ',');
		put_header_name(ob, h);
		ob_putc(ob, ':');
		if (h->value_len < 0) {
			ob_write(ob, "null", 4);
		} else if (jsonout_utf8_valid(h->value,
		                              (size_t)h->value_len)) {
			jsonout_string(ob, h->value, (size_t)h->value_len);
		} else {
			ob_write(ob, "{\"b64\":", 7);
			put_b64(ob, h->value, (size_t)h->value_len);
			ob_putc(ob, '}');
		}
	}
	ob_write(ob, "}}\n", 3);
}
