/*
 * base64.c - RFC 4648 base64.
 */
#include <stdint.h>

#include "base64.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encode(const void *in, size_t n, char *out)
{
	const uint8_t *p = in;
	char *o = out;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	return (size_t)(o - out);
}

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

size_t b64_decode(const char *in, size_t n, void *out)
{
	uint8_t *o = out;
	if (n % 4)
		return (size_t)-1;
	for (size_t i = 0; i < n; i += 4) {
		int a = sextet(in[i]), b = sextet(in[i + 1]);
		int last = i + 4 == n;
		int pad2 = last && in[i + 2] == '=' && in[i + 3] == '=';
		int pad1 = last && !pad2 && in[i + 3] == '=';
		int c = pad2 ? 0 : sextet(in[i + 2]);
		int d = (pad1 || pad2) ? 0 : sextet(in[i + 3]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return (size_t)-1;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		*o++ = (uint8_t)(v >> 16);
		if (!pad2)
			*o++ = (uint8_t)(v >> 8);
		if (!pad1 && !pad2)
			*o++ = (uint8_t)v;
	}
	return (size_t)(o - (uint8_t *)out);
}
